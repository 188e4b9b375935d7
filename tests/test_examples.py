"""Every shipped config and every README command runs: examples cannot rot."""

from __future__ import annotations

import json
import os
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


PLACEHOLDERS = re.compile(r"\b(FILE|HOST|RUN|DIR|SYMBOLS)\b|<[a-z-]+>")  # e.g. <run-id>


def readme_commands() -> list[str]:
    """Every `playbook ...` line of the README's bash blocks, continuations joined."""
    text = (REPO / "README.md").read_text().replace("\\\n", " ")
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if "&& playbook " in line:
                line = "playbook " + line.split("&& playbook ", 1)[1]
            if line.startswith("playbook ") and not PLACEHOLDERS.search(line):
                commands.append(" ".join(line.split()))
    return commands


@pytest.mark.slow
def test_readme_commands_run_in_order(tmp_path, shared_data, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative --out folders land here, not in the repo
    monkeypatch.setenv("PLAYBOOK_RESULTS", str(tmp_path / "results"))
    commands = readme_commands()
    assert len(commands) >= 15
    for command in commands:
        args = []
        for arg in shlex.split(command)[1:]:
            if arg == "../shared/data":
                arg = str(shared_data)
            elif arg.startswith("configs/") or arg == "docs":
                arg = str(REPO / arg)
            args.append(arg)
        if args[:2] == ["report", "gallery"]:
            args += ["--out", str(tmp_path / "docs")]
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


def readme_python(first_line: str) -> str:
    """The README's python block that starts with `first_line`."""
    text = (REPO / "README.md").read_text()
    (block,) = re.findall(rf"```python\n({re.escape(first_line)}\n.*?)```", text, flags=re.S)
    return block


@pytest.mark.slow
def test_readme_notebook_example_runs(tmp_path, shared_data, monkeypatch):
    """The `engine.api` example, as written, next to the README's qqq_trend.py."""
    (tmp_path / "qqq_trend.py").write_text(readme_python("# qqq_trend.py"))
    monkeypatch.chdir(tmp_path)
    code = readme_python("# notebook").replace('"../shared/data"', repr(str(shared_data)))
    namespace: dict = {}
    exec(compile(code, "README.md (notebook example)", "exec"), namespace)
    trend = namespace["trend"]
    assert trend.stats["start"] >= "2015-01-02" and trend.run.source.kind == "file"
    assert (tmp_path / "notebook-out" / "tearsheet.html").stat().st_size > 10_000
    results = Path(os.environ["PLAYBOOK_RESULTS"])
    (folder,) = results.iterdir()
    assert json.loads((folder / "run.json").read_text())["strategy"] == "qqq-trend"
