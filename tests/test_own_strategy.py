"""A user's own strategy, outside the repository, from idea to tearsheet (issue 19).

The strategy file is the README's "Write your own playbook" example, written into a temp
folder with a config and a sweep next to it: it runs with `playbook run`, sweeps locally and
on a dask LocalCluster whose worker is another process, runs in `scenario run` and passes
`assert_no_lookahead` on the synthetic market. `playbook new strategy` output runs as written.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import cli
from engine.runs.strategy_loader import resolve
from engine.sweep.runner import inputs_fingerprint, make_plan
from engine.sweep.spec import load_sweep
from engine.testing import assert_no_lookahead, synthetic_market

REPO = Path(__file__).resolve().parents[1]

CONFIG = "name: qqq-trend\nstrategy: qqq_trend.py:QqqTrend\nbenchmark: QQQ\n"
SWEEP = "base: qqq-trend.yaml\ngrid:\n  sma_bars: [50, 100, 200]\nblocks: 4\n"


def readme_strategy() -> str:
    """The README's example strategy file (the python block after its `# qqq_trend.py`)."""
    text = (REPO / "README.md").read_text()
    blocks = re.findall(r"```python\n(# qqq_trend\.py\n.*?)```", text, flags=re.S)
    assert len(blocks) == 1, "the README has one `# qqq_trend.py` example"
    return blocks[0]


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside the repository holding the user's files."""
    folder = tmp_path / "my-playbooks"
    folder.mkdir()
    assert REPO not in folder.parents
    (folder / "qqq_trend.py").write_text(readme_strategy())
    (folder / "qqq-trend.yaml").write_text(CONFIG)
    (folder / "sweep.yaml").write_text(SWEEP)
    return folder


def invoke(args: list[str], cwd: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(cwd)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return result


def test_the_readme_example_is_about_30_lines_and_loads(outside):
    lines = readme_strategy().strip().splitlines()
    assert 20 <= len(lines) <= 40
    cls, source = resolve(str(outside / "qqq_trend.py"))
    assert cls.name == "qqq-trend" and source.kind == "file"


def test_playbook_run_my_strategy_py_is_not_config_not_found(outside, monkeypatch, tmp_path):
    """The issue's first step: `playbook run my_strategy.py` said the config was not found."""
    out = tmp_path / "results"
    result = invoke(
        ["run", "qqq_trend.py", "--no-report", "--results-dir", str(out)], outside, monkeypatch
    )
    assert "qqq-trend" in result.output
    (folder,) = out.iterdir()
    source = json.loads((folder / "run.json").read_text())["strategy_source"]
    assert source["kind"] == "file" and source["origin"] == str(outside / "qqq_trend.py")
    assert len(source["sha256"]) == 64


@pytest.mark.slow
def test_an_outside_strategy_runs_sweeps_locally_and_on_dask_and_in_scenarios(
    outside, monkeypatch, tmp_path
):
    results = tmp_path / "results"
    ran = invoke(["run", "qqq-trend.yaml", "--results-dir", str(results)], outside, monkeypatch)
    assert ran.output.startswith("note: window starts")  # the run's first line
    (folder,) = results.iterdir()
    assert (folder / "tearsheet.html").stat().st_size > 10_000

    local = invoke(["sweep", "sweep.yaml", "--out", str(tmp_path / "local")], outside, monkeypatch)
    assert "3 parameter sets" in local.output

    from dask.distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",
        ) as cluster,
        Client(cluster) as client,
    ):
        worker_pids = set(client.run(lambda: __import__("os").getpid()).values())
        assert worker_pids and all(pid != __import__("os").getpid() for pid in worker_pids)
        args = ["sweep", "sweep.yaml", "--out", str(tmp_path / "dask"), "--executor", "dask"]
        invoke([*args, "--scheduler", cluster.scheduler_address], outside, monkeypatch)
    import pandas as pd

    from engine.sweep.runner import read_chunks

    on_dask = read_chunks(tmp_path / "dask").sort_values("id").reset_index(drop=True)
    here = read_chunks(tmp_path / "local").sort_values("id").reset_index(drop=True)
    pd.testing.assert_frame_equal(on_dask, here)

    scenario = ["scenario", "run", "qqq-trend.yaml", "--paths", "4"]
    invoke([*scenario, "--results-dir", str(tmp_path / "sc")], outside, monkeypatch)
    (scenario_folder,) = (tmp_path / "sc" / "scenarios").iterdir()  # named by the strategy
    assert "qqq-trend-ai-credit-crunch" in scenario_folder.name
    assert ".py" not in scenario_folder.name

    strategy = resolve(str(outside / "qqq_trend.py"))[0]()
    assert_no_lookahead(strategy, synthetic_market())


def test_sweep_fingerprint_changes_when_the_strategy_file_changes(outside):
    """A resumed sweep reused chunks of an edited strategy file: the code was not hashed."""
    spec, base, _ = load_sweep(outside / "sweep.yaml")
    before = inputs_fingerprint(make_plan(spec, base))
    path = outside / "qqq_trend.py"
    path.write_text(path.read_text().replace("== 1.0", "!= 0.0"))
    after = inputs_fingerprint(make_plan(spec, base))
    assert before != after


@pytest.mark.slow
def test_new_strategy_output_runs_unmodified(tmp_path, monkeypatch):
    invoke(["new", "strategy", "gold-trend", "--dir", "mine"], tmp_path, monkeypatch)
    folder = tmp_path / "mine"
    results = tmp_path / "results"
    args = ["run", str(folder / "gold-trend.yaml"), "--no-report", "--results-dir", str(results)]
    invoke(args, tmp_path, monkeypatch)
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    refused = CliRunner().invoke(cli, ["new", "strategy", "gold-trend", "--dir", str(folder)])
    assert refused.exit_code == 2 and "already exist" in refused.output


@pytest.mark.slow
def test_each_sweep_row_is_its_sets_run_when_signals_read_a_derived_attribute(
    outside, monkeypatch, tmp_path
):
    """The README's strategy with its window derived in reset() (`self.window`), read by
    signals() with no param read: the sweep gave every set the first set's signals, one
    Sharpe for all. Each row must be what `playbook run` of its set gives (--rerun-best runs
    every set here), and the rows must differ as the windows do."""
    path = outside / "qqq_trend.py"
    text = path.read_text()
    assert text.count("self.p.sma_bars") == 1
    universe = "    def universe(self):"
    derived = f"    def reset(self):\n        self.window = self.p.sma_bars\n\n{universe}"
    text = text.replace("self.p.sma_bars", "self.window").replace(universe, derived)
    path.write_text(text)
    out = tmp_path / "sweep"
    invoke(["sweep", "sweep.yaml", "--out", str(out), "--rerun-best", "3"], outside, monkeypatch)
    import yaml

    from engine.sweep.runner import read_chunks

    rows = read_chunks(out).set_index("p.sma_bars")
    assert rows["sharpe"].nunique() == 3
    runs = sorted((out / "best").iterdir())
    assert len(runs) == 3
    for run in runs:
        window = yaml.safe_load((run / "config.yaml").read_text())["params"]["sma_bars"]
        stats = json.loads((run / "stats.json").read_text())
        for key in ("sharpe", "cagr", "max_drawdown"):
            assert stats[key] == rows.loc[window, key], (window, key)
