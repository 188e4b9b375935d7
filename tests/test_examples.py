"""Every shipped config and every README command runs: examples cannot rot."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import cli

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted(p.stem for p in (REPO / "configs").glob("*.yaml"))


def run(args: list[str]):
    return CliRunner().invoke(cli, args)


@pytest.mark.parametrize("name", CONFIGS)
def test_every_config_runs_on_the_synthetic_market(name, tmp_path):
    result = run(["run", name, "--no-report", "--results-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (folder,) = tmp_path.iterdir()
    stats = json.loads((folder / "stats.json").read_text())
    assert stats["bars"] > 500 and stats["final_wealth"] > 0
    assert json.loads((folder / "run.json").read_text())["synthetic"] is True


@pytest.mark.slow
@pytest.mark.parametrize("name", CONFIGS)
def test_every_config_runs_on_real_history(name, tmp_path, shared_data):
    result = run(
        ["run", name, "--data-dir", str(shared_data), "--no-report", "--results-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    (folder,) = tmp_path.iterdir()
    stats = json.loads((folder / "stats.json").read_text())
    assert stats["start"] <= "2014-09-17" and stats["final_wealth"] > 0


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    commands = []
    for block in blocks:
        for line in block.splitlines():
            line = line.split("#")[0].strip()
            if line.startswith("playbook "):
                commands.append(line)
            elif "&& playbook " in line:
                commands.append("playbook " + line.split("&& playbook ", 1)[1])
    return commands


@pytest.mark.slow
@pytest.mark.parametrize("command", readme_commands())
def test_readme_commands_run(command, tmp_path, shared_data, monkeypatch):
    monkeypatch.chdir(REPO)
    args = shlex.split(command)[1:]
    args = [str(shared_data) if a == "../shared/data" else a for a in args]
    if args[0] in ("run",):
        args += ["--results-dir", str(tmp_path)]
    result = run(args)
    assert result.exit_code == 0, f"{command}\n{result.output}"


@pytest.mark.slow
def test_gallery_regenerates_results_with_the_numbers_of_the_runs(tmp_path, shared_data):
    result = run(["report", "gallery", "--data-dir", str(shared_data), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "results.md").read_text()
    for name in ("hayes-pivot", "liquidity-barometer", "hard-assets-vs-duration"):
        assert f"## {name}" in text and (tmp_path / "img" / f"{name}.png").stat().st_size > 10_000
    row = next(line for line in text.splitlines() if line.startswith("| tightening-2022"))
    hayes, btc = (float(c.strip(" %*")) for c in row.split("|")[3:5])
    assert hayes > -5 and btc < -50  # the thesis: in T-bills while BTC fell 59%
    committed = (REPO / "docs" / "results.md").read_text()
    assert committed.split("\n", 3)[3] == text.split("\n", 3)[3], "docs/results.md is stale"
