"""`playbook scenario run --executor dask`: chunks of paths on a dask cluster (a LocalCluster of
this machine without --scheduler) give the local executor's outcome bit for bit; bad executor
options are one line with exit 2."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from engine.cli import cli
from engine.runs.config import RunConfig
from engine.runs.paths import GeneratedPaths, ScenarioOutcome, run_paths
from engine.workflows.scenario import make_paths

RUN = ("scenario", "run", "60-40")
NOWHERE = ("--scheduler", "tcp://127.0.0.1:9")  # a port nothing listens on


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ") and "(fix: " in lines[0], stderr
    return lines[0]


def assert_same_outcome(found: ScenarioOutcome, expected: ScenarioOutcome) -> None:
    pd.testing.assert_frame_equal(found.per_path, expected.per_path, check_exact=True)
    pd.testing.assert_frame_equal(found.wealth, expected.wealth, check_exact=True)
    assert expected.benchmark_wealth is not None and found.benchmark_wealth is not None
    pd.testing.assert_frame_equal(
        found.benchmark_wealth, expected.benchmark_wealth, check_exact=True
    )
    assert found.median_path == expected.median_path
    for name in ("median_returns", "median_benchmark", "median_cash"):
        pd.testing.assert_series_equal(
            getattr(found, name), getattr(expected, name), check_exact=True, obj=name
        )
    assert (found.regimes, found.periods_per_year) == (expected.regimes, expected.periods_per_year)


@pytest.mark.slow
def test_dask_local_cluster_scenario_equals_the_local_one_bit_for_bit() -> None:
    distributed = pytest.importorskip("dask.distributed")
    config = RunConfig(strategy="hayes-pivot", benchmark="BTC-USD")
    paths, label = make_paths(config, "ai-credit-crunch", 6, 11, "regime", None, 20)
    assert isinstance(paths, GeneratedPaths)  # plain data a worker makes its paths from
    local = run_paths(config, paths, label, 11, chunk_paths=2)
    done: list[int] = []
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0"
    ) as cluster:
        remote = run_paths(
            config,
            paths,
            label,
            11,
            chunk_paths=2,
            on_chunk=lambda count, _total: done.append(count),
            executor="dask",
            scheduler=cluster.scheduler_address,
        )
    assert_same_outcome(remote, local)
    assert done == [2, 4, 6]  # progress counts paths as chunks come back, in any order


@pytest.mark.slow
def test_scenario_command_on_a_local_cluster_writes_the_local_table(tmp_path: Path) -> None:
    pytest.importorskip("dask.distributed")
    tables = {}
    for executor in ("local", "dask"):
        out = tmp_path / executor
        result = CliRunner().invoke(
            cli,
            [
                *RUN,
                "--paths",
                "4",
                "--seed",
                "3",
                "--executor",
                executor,
                "--results-dir",
                str(out),
            ],
        )
        assert result.exit_code == 0, result.output
        (folder,) = (out / "scenarios").iterdir()
        tables[executor] = pd.read_parquet(folder / "per_path.parquet")
    pd.testing.assert_frame_equal(tables["dask"], tables["local"], check_exact=True)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (list(NOWHERE), "--executor dask"),
        (["--executor", "dask", "--generator", "bootstrap"], "this machine only"),
    ],
)
def test_scenario_executor_options_that_cannot_work_are_one_line_exit_2(
    tmp_path: Path, args: list[str], words: str
) -> None:
    result = CliRunner().invoke(cli, [*RUN, "--paths", "2", "--results-dir", str(tmp_path), *args])
    assert result.exit_code == 2, result.output
    assert words in one_error_line(result.stderr)
    assert not (tmp_path / "scenarios").exists()


def test_scenario_on_an_unreachable_scheduler_is_one_line_exit_2(tmp_path: Path) -> None:
    pytest.importorskip("dask.distributed")
    result = CliRunner().invoke(
        cli,
        [*RUN, "--paths", "2", "--results-dir", str(tmp_path), "--executor", "dask", *NOWHERE],
    )
    assert result.exit_code == 2, result.output
    assert "cannot reach the dask scheduler" in one_error_line(result.stderr)
    assert not (tmp_path / "scenarios").exists()


def test_a_paths_numbers_do_not_depend_on_its_chunk() -> None:
    """A cluster runs bigger chunks than a local run (CLUSTER_CHUNK_PATHS): that is only
    safe because each path draws from its own stream, so chunking changes no figure."""
    config = RunConfig(strategy="hayes-pivot", benchmark="BTC-USD")
    paths, label = make_paths(config, "ai-credit-crunch", 5, 11, "regime", None, 20)
    whole = run_paths(config, paths, label, 11)  # one chunk of 5
    for size in (1, 2, 3):
        assert_same_outcome(run_paths(config, paths, label, 11, chunk_paths=size), whole)
