"""Hostile use of the CLI, faults, stale or mixed work, lost work (issue 15, part G).

Each case ends in exit 0 or a documented exit code with exactly one
`error: ... (fix: ...)` line, and leaves nothing half-written. The last test fuzzes every
command's flags with hypothesis.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.cli import cli
from engine.errors import ExitCode

REPO = Path(__file__).resolve().parents[1]
DOCUMENTED = {int(code) for code in ExitCode}
SPEC = """\
base: {base}
grid:
  stock_weight: [0.2, 0.5, 0.8]
  rebalance: [monthly, quarterly]
blocks: 4
chunk_size: 2
"""


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env)


def one_error_line(stderr: str) -> str:
    """The single `error: ... (fix: ...)` line, asserting there is nothing else."""
    lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith("note:")]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ") and "(fix: " in lines[0], stderr
    return lines[0]


def assert_documented_failure(result, code: int) -> str:
    assert result.exit_code == code, (result.exit_code, result.output, result.stderr)
    return one_error_line(result.stderr)


@pytest.fixture
def spec_file(tmp_path) -> Path:
    path = tmp_path / "weights.yaml"
    path.write_text(SPEC.format(base=REPO / "configs" / "60-40.yaml"))
    return path


@pytest.fixture
def small_data(tmp_path, shared_data) -> Path:
    """A copy of the two ETFs 60-40 trades (and its cash series), safe to change."""
    root = tmp_path / "data"
    (root / "prices").mkdir(parents=True)
    for symbol in ("SPY", "TLT"):
        shutil.copy(shared_data / "prices" / f"{symbol}.csv", root / "prices")
    shutil.copytree(shared_data / "macro", root / "macro")
    return root


# --- silent wrong answers -------------------------------------------------------------


def test_fail_below_dsr_nan_is_refused_not_passed(spec_file, tmp_path):
    for value in ("nan", "inf", "-inf", "abc"):
        result = invoke(
            "sweep", str(spec_file), "--out", str(tmp_path / "s"), "--fail-below-dsr", value
        )
        assert "--fail-below-dsr" in assert_documented_failure(result, 2)
    assert not (tmp_path / "s").exists()


def test_rerun_best_negative_is_refused_not_all_but_two(spec_file, tmp_path):
    result = invoke("sweep", str(spec_file), "--out", str(tmp_path / "s"), "--rerun-best", "-2")
    assert "--rerun-best" in assert_documented_failure(result, 2)
    assert not (tmp_path / "s").exists()


def test_compare_latest_zero_or_negative_is_a_usage_error(tmp_path):
    for value in ("0", "-3"):
        result = invoke("compare", "--latest", value, "--results-dir", str(tmp_path))
        assert_documented_failure(result, 2)


def test_empty_playbook_results_does_not_write_into_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for value in ("", "   "):
        result = invoke("run", "60-40", "--no-report", env={"PLAYBOOK_RESULTS": value})
        assert "PLAYBOOK_RESULTS" in assert_documented_failure(result, 2)
        result = invoke("runs", env={"PLAYBOOK_RESULTS": value})
        assert_documented_failure(result, 2)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.realdata
def test_regime_before_an_assets_first_bar_is_an_error_naming_it(shared_data, tmp_path):
    result = invoke(
        "run", "buy-and-hold-btc", "--data-dir", str(shared_data), "--regime", "gfc",
        "--no-report", "--results-dir", str(tmp_path),
    )  # fmt: skip
    line = assert_documented_failure(result, 3)
    first = pd.read_csv(shared_data / "prices" / "BTC-USD.csv")["date"].iloc[0]
    assert "BTC-USD" in line and first in line and f"--start {first}" in line
    assert list(tmp_path.iterdir()) == []


def _sweep_child(spec_file: Path, out: Path) -> subprocess.Popen:
    """A sweep in a child that starts with SIGINT ignored, as a shell's `cmd &` does."""
    code = "import sys; from engine.cli import cli; cli(sys.argv[1:], prog_name='playbook')"
    return subprocess.Popen(
        [sys.executable, "-c", code, "sweep", str(spec_file), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        cwd=REPO,
    )


def _finish(child: subprocess.Popen, chunks: Path | None = None) -> str:
    """The child's stderr; a child still running after 2 minutes is killed, not left behind,
    and the failure says what it did meanwhile (its stderr, and whether it went on writing
    chunks: a lost or swallowed SIGINT, or a hang on the way out)."""
    before = len(list(chunks.glob("chunk-*.parquet"))) if chunks is not None else 0
    try:
        _, stderr = child.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        child.kill()
        _, stderr = child.communicate()
        after = len(list(chunks.glob("chunk-*.parquet"))) if chunks is not None else 0
        raise AssertionError(
            f"still running 120 s after SIGINT: {before} chunks then, {after} at the kill; "
            f"stderr: {stderr.decode()[-2000:]!r}"
        ) from None
    return stderr.decode()


def test_ctrl_c_in_a_sweep_started_in_the_background_exits_130(tmp_path):
    spec = tmp_path / "big.yaml"  # long enough to be interrupted mid-way
    spec.write_text(
        f"base: {REPO / 'configs' / '60-40.yaml'}\n"
        "grid:\n  stock_weight: {start: 0.0, stop: 1.0, step: 0.0005}\n"
        "  rebalance: [monthly, quarterly, yearly]\nblocks: 4\nchunk_size: 1\n"
    )
    out = tmp_path / "s"
    child = _sweep_child(spec, out)
    deadline = time.monotonic() + 120
    while not any((out / "chunks").glob("chunk-*.parquet")) and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    stderr = _finish(child, out / "chunks")
    assert child.returncode == 130, stderr
    assert "interrupted" in stderr
    assert not list(out.rglob(".*tmp*"))  # no half-written chunk
    assert not (out / "sweep.parquet").exists()


# --- stale or mixed work --------------------------------------------------------------


def _bump_last_close(data: Path, symbol: str = "SPY") -> None:
    path = data / "prices" / f"{symbol}.csv"
    frame = pd.read_csv(path)
    for column in ("close", "adj_close"):
        frame.loc[frame.index[-40:], column] *= 1.5
    frame.to_csv(path, index=False)


@pytest.mark.realdata
def test_sweep_resumed_after_the_data_changed_recomputes_its_chunks(
    spec_file, small_data, tmp_path
):
    out = tmp_path / "s"
    first = invoke("sweep", str(spec_file), "--data-dir", str(small_data), "--out", str(out))
    assert first.exit_code == 0, first.stderr
    before = pd.read_parquet(out / "sweep.parquet").set_index("id")
    _bump_last_close(small_data)
    again = invoke("sweep", str(spec_file), "--data-dir", str(small_data), "--out", str(out))
    assert again.exit_code == 0, again.stderr
    assert "computed on other inputs" in again.stderr  # the note says why it recomputes
    after = pd.read_parquet(out / "sweep.parquet").set_index("id")
    fresh = invoke(
        "sweep", str(spec_file), "--data-dir", str(small_data), "--out", str(tmp_path / "f")
    )
    assert fresh.exit_code == 0
    expected = pd.read_parquet(tmp_path / "f" / "sweep.parquet").set_index("id")
    pd.testing.assert_frame_equal(after.sort_index(), expected.sort_index())
    assert not after["cagr"].sort_index().equals(before["cagr"].sort_index())


@pytest.mark.realdata
def test_merge_refuses_shards_computed_on_different_data(spec_file, small_data, tmp_path):
    args = ["sweep", str(spec_file), "--data-dir", str(small_data)]
    assert invoke(*args, "--shard", "1/2", "--out", str(tmp_path / "a")).exit_code == 0
    _bump_last_close(small_data)
    assert invoke(*args, "--shard", "2/2", "--out", str(tmp_path / "b")).exit_code == 0
    result = invoke(
        "sweep", "merge", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "m")
    )
    assert "other inputs" in assert_documented_failure(result, 2)
    assert not (tmp_path / "m" / "sweep.parquet").exists()


def test_merge_refuses_shards_of_different_sweep_files(spec_file, tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text(spec_file.read_text().replace("0.8]", "0.9]"))
    assert (
        invoke("sweep", str(spec_file), "--shard", "1/2", "--out", str(tmp_path / "a")).exit_code
        == 0
    )
    assert (
        invoke("sweep", str(other), "--shard", "2/2", "--out", str(tmp_path / "b")).exit_code == 0
    )
    result = invoke(
        "sweep", "merge", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "m")
    )
    assert "different sweep" in assert_documented_failure(result, 2)


def test_chunks_of_another_playbook_version_are_recomputed(spec_file, tmp_path, monkeypatch):
    import engine

    out = tmp_path / "s"
    assert invoke("sweep", str(spec_file), "--out", str(out)).exit_code == 0
    monkeypatch.setattr(engine, "__version__", "999.0")
    again = invoke("sweep", str(spec_file), "--out", str(out))
    assert again.exit_code == 0 and "computed on other inputs" in again.stderr


# --- lost or half-written work --------------------------------------------------------


def test_concurrent_runs_of_one_config_each_get_their_own_folder(tmp_path):
    from engine.io.atomic import write_folder_atomically

    barrier = threading.Barrier(4)
    made: list[Path] = []
    failed: list[BaseException] = []

    def fill(folder: Path) -> None:
        (folder / "run.json").write_text("{}")
        time.sleep(0.2)  # all four are mid-write at once

    def one() -> None:
        barrier.wait()
        try:
            made.append(write_folder_atomically(tmp_path, "20260101-000000-60-40-abcdef12", fill))
        except BaseException as exc:  # collected, asserted below
            failed.append(exc)

    threads = [threading.Thread(target=one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failed == []
    assert len({p.name for p in made}) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in made)


def test_two_runs_in_the_same_second_have_unique_ids_matching_their_folders(tmp_path, monkeypatch):
    import datetime as dt

    import engine.runs.store as results

    fixed = dt.datetime(2030, 1, 2, 3, 4, 5)
    real = results.run_id
    monkeypatch.setattr(results, "run_id", lambda result, now=None: real(result, fixed))
    for _ in range(2):
        assert invoke("run", "60-40", "--no-report", "--results-dir", str(tmp_path)).exit_code == 0
    folders = sorted(tmp_path.iterdir())
    assert len(folders) == 2
    for folder in folders:
        assert json.loads((folder / "run.json").read_text())["id"] == folder.name


def test_dask_sweep_without_its_scheduler_leaves_no_sweep_folder(spec_file, tmp_path):
    pytest.importorskip("dask.distributed")
    out = tmp_path / "s"
    result = invoke(
        "sweep", str(spec_file), "--out", str(out), "--executor", "dask",
        "--scheduler", "tcp://127.0.0.1:9",
    )  # fmt: skip
    assert "scheduler" in assert_documented_failure(result, 2)
    assert not out.exists()


# --- internal errors that were due one line -------------------------------------------


@pytest.mark.parametrize(
    "code",
    [errno.EACCES, errno.ENOSPC, errno.ENAMETOOLONG, errno.EISDIR, errno.ENOTDIR, errno.EROFS],
)
def test_an_os_error_anywhere_is_one_line_and_exit_5(code, spec_file, tmp_path, monkeypatch):
    import engine.workflows.sweep as workflow

    def fail(*_args, **_kwargs):
        raise OSError(code, os.strerror(code), str(tmp_path / "s" / "sweep.parquet"))

    monkeypatch.setattr(workflow, "write_outputs_of", fail)  # what the sweep calls at the end
    result = invoke("sweep", str(spec_file), "--out", str(tmp_path / "s"))
    assert "sweep.parquet" in assert_documented_failure(result, 5)


@pytest.mark.parametrize(
    ("code", "fix"),
    [
        (errno.EACCES, "fix the permissions (chmod) or choose another path"),
        (errno.ENOSPC, "free disk space or choose another folder"),
    ],
)
def test_a_chunk_the_sweep_cannot_write_names_the_cause_and_resumes(
    code, fix, spec_file, tmp_path, monkeypatch
):
    """The sweep's chunk files: the cause's own fix from the one errno table (a denied folder
    was told to free disk space), that a rerun keeps the finished chunks, and no half file."""
    import pyarrow.parquet as pq

    def fail(_table, where, *_args, **_kwargs):
        raise OSError(code, os.strerror(code), str(where))

    monkeypatch.setattr(pq, "write_table", fail)
    out = tmp_path / "s"
    result = invoke("sweep", str(spec_file), "--out", str(out))
    line = assert_documented_failure(result, 5)
    assert "chunk-00000.parquet" in line and os.strerror(code) in line
    assert line.endswith(f"(fix: {fix}; then run the sweep again: finished chunks are kept)")
    assert not list((out / "chunks").glob("*.parquet"))
    assert not [p for p in out.rglob(".*")]


def test_full_disk_while_writing_a_run_leaves_nothing(tmp_path, monkeypatch):
    import engine.runs.store as results

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(results, "_write_json", full)
    result = invoke("run", "60-40", "--no-report", "--results-dir", str(tmp_path))
    assert_documented_failure(result, 5)
    assert list(tmp_path.iterdir()) == []


def test_an_output_path_that_is_a_file_is_one_line(spec_file, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = invoke("sweep", str(spec_file), "--out", str(blocker / "s"))
    assert_documented_failure(result, 5)
    result = invoke("run", "60-40", "--no-report", "--results-dir", str(blocker))
    assert_documented_failure(result, 5)
    result = invoke("signals", "60-40", "--plot", str(blocker / "x.png"))
    assert_documented_failure(result, 5)
    result = invoke("signals", "60-40", "--plot", str(tmp_path))  # a folder, not a file
    assert_documented_failure(result, 5)


def test_names_longer_than_the_file_system_allows_are_one_line(tmp_path):
    long_spec = tmp_path / ("w" * 250 + ".yaml")
    long_spec.write_text(SPEC.format(base=REPO / "configs" / "60-40.yaml"))
    result = invoke("sweep", str(long_spec))  # its default folder is named after the file
    assert result.exit_code == 0, result.stderr
    result = invoke("sweep", str(long_spec), "--out", str(tmp_path / ("o" * 300)))
    assert "longer than the file system allows" in assert_documented_failure(result, 5)
    result = invoke("compare", "x" * 300, "--results-dir", str(tmp_path))
    assert result.exit_code in DOCUMENTED - {0, 1}
    one_error_line(result.stderr)


def _closed_stdout_child(args: list[str], stdout: int | object) -> subprocess.CompletedProcess:
    code = "import sys; from engine.cli import main; sys.argv = ['playbook', *sys.argv[1:]]; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], stdout=stdout, stderr=subprocess.PIPE, cwd=REPO,
        timeout=120,
    )  # fmt: skip


def test_broken_stdout_pipe_is_one_line():
    read, write = os.pipe()
    os.close(read)  # the reader is gone before playbook writes, as with `| head -0`
    try:
        child = _closed_stdout_child(["strategies"], write)
    finally:
        os.close(write)
    assert child.returncode == 5, child.stderr.decode()
    assert "standard output was closed" in one_error_line(child.stderr.decode())


def test_full_stdout_is_one_line():
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    with open("/dev/full", "w") as full:
        child = _closed_stdout_child(["strategies"], full)
    assert child.returncode == 5, child.stderr.decode()
    assert "no space left" in one_error_line(child.stderr.decode())


def test_params_so_large_that_windows_overflow_are_a_config_error(tmp_path):
    config = tmp_path / "lb.yaml"
    config.write_text("strategy: liquidity-barometer\nparams:\n  liquidity_days: 1000000000000\n")
    result = invoke("run", str(config), "--no-report", "--results-dir", str(tmp_path / "r"))
    assert "liquidity_days" in assert_documented_failure(result, 2)


def test_damaged_chunks_on_resume_are_recomputed(spec_file, tmp_path):
    out = tmp_path / "s"
    assert invoke("sweep", str(spec_file), "--out", str(out)).exit_code == 0
    whole = pd.read_parquet(out / "sweep.parquet")
    chunk = out / "chunks" / "chunk-00001.parquet"
    chunk.write_bytes(chunk.read_bytes()[:100])  # truncated
    (out / "chunks" / "chunk-00002.parquet").write_bytes(b"not parquet")
    again = invoke("sweep", str(spec_file), "--out", str(out))
    assert again.exit_code == 0, again.stderr
    assert "damaged" in again.stderr
    pd.testing.assert_frame_equal(pd.read_parquet(out / "sweep.parquet"), whole)


def test_damaged_sweep_json_on_resume_is_rewritten_and_on_merge_is_one_line(spec_file, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert invoke("sweep", str(spec_file), "--shard", "1/2", "--out", str(a)).exit_code == 0
    assert invoke("sweep", str(spec_file), "--shard", "2/2", "--out", str(b)).exit_code == 0
    (b / "sweep.json").write_text('{"spec": ')
    result = invoke("sweep", "merge", str(a), str(b), "--out", str(tmp_path / "m"))
    assert "sweep.json is damaged" in assert_documented_failure(result, 3)
    (b / "sweep.json").write_text("[1, 2]")
    result = invoke("sweep", "merge", str(a), str(b), "--out", str(tmp_path / "m"))
    assert_documented_failure(result, 3)
    again = invoke("sweep", str(spec_file), "--shard", "2/2", "--out", str(b))
    assert again.exit_code == 0, again.stderr
    assert invoke("sweep", "merge", str(a), str(b), "--out", str(tmp_path / "m")).exit_code == 0


def test_damaged_chunk_in_a_shard_is_refused_by_merge(spec_file, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert invoke("sweep", str(spec_file), "--shard", "1/2", "--out", str(a)).exit_code == 0
    assert invoke("sweep", str(spec_file), "--shard", "2/2", "--out", str(b)).exit_code == 0
    (b / "chunks" / "chunk-00001.parquet").write_bytes(b"PAR1 truncated")
    result = invoke("sweep", "merge", str(a), str(b), "--out", str(tmp_path / "m"))
    assert "damaged" in assert_documented_failure(result, 3)


@pytest.mark.parametrize(
    "grid",
    [
        "  stock_weight: []\n",
        "  stock_weight: {start: 0.8, stop: 0.2, step: 0.1}\n",
        "  stock_weight: {start: 0.0, stop: .nan, step: 0.1}\n",
        "  stock_weight: {start: 0.0, stop: 1.0, step: 0.0000001}\n",
        "  stock_weight: {start: 0.0, stop: 1.0, step: 0.001}\n"
        f"  bond: [{', '.join(['TLT'] * 1000)}]\n",  # a million and one sets, unsampled
    ],
    ids=["empty-list", "reversed-range", "nan-range", "huge-range", "huge-grid"],
)
def test_empty_reversed_or_huge_grids_are_one_line(grid, tmp_path):
    spec = tmp_path / "g.yaml"
    spec.write_text(f"base: {REPO / 'configs' / '60-40.yaml'}\ngrid:\n{grid}blocks: 4\n")
    result = invoke("sweep", str(spec), "--out", str(tmp_path / "s"))
    assert_documented_failure(result, 2)
    assert not (tmp_path / "s").exists()


def test_a_huge_grid_sampled_runs_without_listing_it(tmp_path):
    spec = tmp_path / "g.yaml"
    spec.write_text(
        f"base: {REPO / 'configs' / '60-40.yaml'}\n"
        "grid:\n  stock_weight: {start: 0.0, stop: 1.0, step: 0.00001}\n"
        "  rebalance: [monthly, quarterly, yearly]\n"
        f"  bond: [{', '.join(['TLT'] * 10_000)}]\n"  # 3e9 combinations
        "sample: {n: 6, seed: 1}\nblocks: 4\n"
    )
    started = time.monotonic()
    result = invoke("sweep", str(spec), "--out", str(tmp_path / "s"))
    assert result.exit_code == 0, result.stderr
    assert len(pd.read_parquet(tmp_path / "s" / "sweep.parquet")) == 6
    assert time.monotonic() - started < 60


def test_sampled_sets_are_the_same_as_listing_the_grid(spec_file):
    """The sample decodes indices instead of listing the grid: same sets as before."""
    import itertools

    import numpy as np

    from engine.sweep.spec import SweepSpec, expand, load_sweep

    _, base, _ = load_sweep(spec_file)
    spec = SweepSpec.model_validate(
        {
            "base": "x",
            "grid": {"stock_weight": [0.1, 0.2, 0.3, 0.4], "rebalance": ["monthly", "yearly"]},
            "sample": {"n": 5, "seed": 3},
        }
    )
    combos = list(itertools.product([0.1, 0.2, 0.3, 0.4], ["monthly", "yearly"]))
    picked = sorted(np.random.default_rng(3).choice(len(combos), 5, replace=False).tolist())
    expected = [combos[i] for i in picked]
    got = [(s["stock_weight"], s["rebalance"]) for s in expand(spec, base)]
    assert got == expected


# --- every command fuzzed for exit codes ----------------------------------------------

NASTY = st.one_of(
    st.sampled_from(
        [
            "nan",
            "inf",
            "-inf",
            "-1",
            "0",
            "1",
            "-2",
            "1e400",
            "10**12",
            "99999999999999999999",
            "",
            " ",
            "x" * 300,
            "../..",
            "/",
            "/dev/null",
            "1/0",
            "0/0",
            "2/1",
            "a/b",
            "é",
            "--",
            "2030-01-02",
            "1900-01-01",
            "9999-12-31",
            "2030-02-30",
            "gfc",
            "60-40",
        ]
    ),
    st.text(min_size=0, max_size=12),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
COMMANDS = {
    "run": (["run", "60-40", "--no-report"], ["--start", "--end", "--regime", "--results-dir"]),
    "signals": (["signals", "60-40"], ["--start", "--end"]),
    "sweep": (["sweep", "{spec}"], ["--shard", "--fail-below-dsr", "--rerun-best", "--out"]),
    "merge": (["sweep", "merge", "{out}"], ["--out", "--fail-below-dsr"]),
    "scenario": (
        ["scenario", "run", "60-40"],
        ["--paths", "--seed", "--block-days", "--scenario", "--generator"],
    ),
    "compare": (["compare"], ["--latest", "--results-dir", "--out"]),
    "runs": (["runs"], ["--results-dir"]),
    "claims": (["claims"], ["--data-dir", "--claims-file"]),
    "check": (["check", "60-40"], ["--start", "--end", "--cut", "--sets"]),
    "check-sweep": (["check", "{spec}"], ["--sets", "--cut", "--end"]),
    "data": (["data", "list"], ["--cache"]),
    "regimes": (["regimes"], []),
    "plot": (["signals", "60-40", "--plot", "{tmp}/p.png"], ["--start", "--end"]),
    "export": (["data", "export", "{tmp}/exported"], ["--cache"]),
}


@pytest.fixture(scope="module")
def warmed(tmp_path_factory) -> None:
    """Import what commands import once first: one of them raises the recursion limit,
    which hypothesis would report as a change made during an example."""
    out = tmp_path_factory.mktemp("warm")
    CliRunner().invoke(cli, ["scenario", "run", "60-40", "--paths", "1", "--results-dir", str(out)])


@settings(
    max_examples=int(os.environ.get("PLAYBOOK_FUZZ_EXAMPLES", "40")),
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    command=st.sampled_from(sorted(COMMANDS)),
    picks=st.lists(st.tuples(st.integers(0, 10), NASTY), max_size=3),
)
def test_every_command_exits_0_or_a_documented_code_in_one_line(
    command, picks, spec_file, tmp_path, warmed
):
    base, flags = COMMANDS[command]
    args = [a.format(spec=spec_file, out=tmp_path / "nowhere", tmp=tmp_path) for a in base]
    for index, value in picks:
        if flags:
            flag = flags[index % len(flags)]
            if flag in ("--paths",) and value.lstrip("-").isdigit() and abs(int(value)) > 50:
                value = "3"  # a valid but huge path count is slow, not wrong
            if flag in ("--out", "--results-dir", "--cache"):  # never outside tmp_path
                value = str(tmp_path / "o" / (value.replace("/", "_").replace("..", "_") or "x"))
            args += [flag, value]
    result = CliRunner().invoke(cli, args, env={"PLAYBOOK_RESULTS": str(tmp_path / "r")})
    assert result.exit_code in DOCUMENTED, (args, result.exit_code, result.stderr)
    assert result.exit_code != int(ExitCode.INTERNAL), (args, result.stderr)
    if result.exit_code != 0:
        one_error_line(result.stderr)


def test_an_empty_benchmark_is_a_config_error_not_a_key_error(tmp_path):
    config = tmp_path / "eb.yaml"
    config.write_text('strategy: buy-and-hold\nbenchmark: ""\n')
    result = invoke("run", str(config), "--no-report", "--results-dir", str(tmp_path / "r"))
    assert "benchmark" in assert_documented_failure(result, 2)
    assert not (tmp_path / "r").exists()


@pytest.mark.realdata
def test_report_gallery_into_a_file_is_one_line(shared_data, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = invoke("report", "gallery", "--data-dir", str(shared_data), "--out", str(blocker))
    assert_documented_failure(result, 5)


def test_ctrl_c_in_scenario_run_started_in_the_background_exits_130(tmp_path):
    results = tmp_path / "r"
    code = "import sys; from engine.cli import cli; cli(sys.argv[1:], prog_name='playbook')"
    args = ["scenario", "run", "60-40", "--paths", "100000", "--results-dir", str(results)]
    child = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        cwd=REPO,
    )
    time.sleep(8)  # imported and generating paths
    child.send_signal(signal.SIGINT)
    stderr = _finish(child)
    assert child.returncode == 130, stderr
    assert not results.exists() or not [p for p in results.rglob("*") if p.is_file()]


def test_full_disk_while_writing_sweep_outputs_leaves_no_half_file(
    spec_file, tmp_path, monkeypatch
):
    import engine.workflows.sweep as sweep_workflow

    def half_then_full(_table, _params, _metric, path):
        Path(path).write_bytes(b"\x89PNG half")
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(sweep_workflow, "write_heatmap", half_then_full)
    spec = tmp_path / "h.yaml"
    spec.write_text(spec_file.read_text() + "heatmap: [stock_weight, rebalance]\n")
    out = tmp_path / "s"
    result = invoke("sweep", str(spec), "--out", str(out))
    assert "no space left" in assert_documented_failure(result, 5)
    assert not (out / "heatmap.png").exists()
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("end", ["2030-01-02", "2030-01-03"])
def test_a_window_of_one_or_two_bars_is_one_line_for_run_scenario_and_sweep(end, tmp_path):
    config = tmp_path / "short.yaml"
    config.write_text(f"strategy: 60-40\nstart: 2030-01-02\nend: {end}\n")
    spec = tmp_path / "short-sweep.yaml"
    spec.write_text(f"base: {config}\ngrid:\n  stock_weight: [0.2, 0.5]\nblocks: 4\n")
    results = str(tmp_path / "r")
    for args in (
        ["run", str(config), "--results-dir", results],
        ["scenario", "run", str(config), "--paths", "2", "--results-dir", results],
        ["sweep", str(spec), "--out", str(tmp_path / "s")],
    ):
        result = invoke(*args)
        assert result.exit_code in (2, 3), (args, result.stderr)
        one_error_line(result.stderr)
    assert not (tmp_path / "r").exists() and not (tmp_path / "s").exists()


def test_a_window_shorter_than_the_sweeps_blocks_is_one_line(tmp_path):
    config = tmp_path / "short.yaml"
    config.write_text("strategy: 60-40\nstart: 2030-01-01\nend: 2030-01-08\n")
    spec = tmp_path / "short-sweep.yaml"
    spec.write_text(f"base: {config}\ngrid:\n  stock_weight: [0.2, 0.5]\nblocks: 4\n")
    result = invoke("sweep", str(spec), "--out", str(tmp_path / "s"))
    assert "CSCV blocks" in assert_documented_failure(result, 3)


# Silent wrong answers (issue 15): a levered book that goes broke must stop, not trade on.
LEVERED_BTC = """\
strategy: constant-mix
params:
  weights: {BTC-USD: 3.0}
  rebalance: monthly
leverage_cap: 3.0
benchmark: BTC-USD
"""


def test_a_levered_book_that_goes_broke_stops_at_zero_with_one_note(tmp_path):
    """3x BTC on the synthetic market goes broke in 2031: wealth 0 from then on (never
    negative, no trading back up), one note, and the headline figures that follow from
    wealth 0, recomputed here from their textbook definitions."""
    import numpy as np

    config = tmp_path / "levered.yaml"
    config.write_text(LEVERED_BTC)
    result = invoke("run", str(config), "--no-report", "--results-dir", str(tmp_path / "r"))
    assert result.exit_code == 0, result.stderr
    (folder,) = (tmp_path / "r").iterdir()
    notes = json.loads((folder / "run.json").read_text())["notes"]
    broke = [n for n in notes if n.startswith("bankrupt on ")]
    assert len(broke) == 1 and "equity fell to -" in broke[0] and "(leverage " in broke[0]
    day = pd.Timestamp(broke[0].split()[2].rstrip(":"))

    returns = pd.read_parquet(folder / "returns.parquet")["strategy"]
    wealth = (1.0 + returns).cumprod()
    assert (wealth >= 0).all()
    assert returns[day] == -1.0 and (wealth[day:] == 0.0).all()
    assert (returns[returns.index > day] == 0.0).all()
    assert (wealth[: day - pd.Timedelta(days=1)] > 0).all()

    stats = json.loads((folder / "stats.json").read_text())
    years = ((returns.index[-1] - returns.index[0]).days + 1) / 365.25
    final = float(wealth.iloc[-1])
    textbook_cagr = final ** (1 / years) - 1
    textbook_max_dd = float((wealth / np.maximum(wealth.cummax(), 1.0) - 1).min())
    assert final == 0.0 and textbook_cagr == -1.0 and textbook_max_dd == -1.0
    assert stats["final_wealth"] == final
    assert stats["total_return"] == final - 1
    assert stats["cagr"] == textbook_cagr
    assert stats["max_drawdown"] == textbook_max_dd
    assert stats["calmar"] == textbook_cagr / abs(textbook_max_dd)
    assert stats["volatility"] == pytest.approx(
        returns.std(ddof=1) * np.sqrt(stats["periods_per_year"])
    )
    for key in ("cagr", "volatility", "sharpe", "sortino", "max_drawdown", "calmar"):
        assert np.isfinite(stats[key]), key


def test_metrics_of_a_wealth_path_that_ends_at_zero_are_the_textbook_figures():
    """Run path (`summary`) and sweep path (`summary_arrays`, numba) on a book that went
    broke on its third bar: no NaN or inf where wealth 0 defines the figure."""
    import numpy as np

    from engine.core.metrics import summary, summary_arrays

    index = pd.date_range("2030-01-01", periods=6)
    returns = pd.Series([0.02, -0.5, -1.0, 0.0, 0.0, 0.0], index=index)
    wealth = np.cumprod(1.0 + returns.to_numpy())
    years = 6 / 365.25
    want = {
        "total_return": wealth[-1] - 1.0,
        "final_wealth": wealth[-1],
        "cagr": wealth[-1] ** (1 / years) - 1.0,  # 0 ** x - 1 = -1
        "max_drawdown": (wealth / np.maximum.accumulate(np.maximum(wealth, 1.0)) - 1).min(),
        "volatility": returns.std(ddof=1) * np.sqrt(365.25),
        "sharpe": returns.mean() / returns.std(ddof=1) * np.sqrt(365.25),
        "sortino": returns.mean() / np.sqrt((np.minimum(returns, 0) ** 2).mean()) * np.sqrt(365.25),
    }
    want["calmar"] = want["cagr"] / abs(want["max_drawdown"])
    assert want["cagr"] == -1.0 and want["max_drawdown"] == -1.0 and want["calmar"] == -1.0
    run = summary(returns, 365.25)
    sweep = summary_arrays(returns.to_numpy()[None, :], np.zeros(6), years, 365.25)
    for key, value in want.items():
        assert run[key] == pytest.approx(value, rel=1e-12), key
        assert sweep[key][0] == pytest.approx(value, rel=1e-12), key


def test_sweep_scheduler_without_dask_is_refused_not_ignored(spec_file, tmp_path):
    """`--scheduler` names a cluster the local executor would never use: as `scenario run`
    does, the sweep refuses it in one line rather than silently running here."""
    out = tmp_path / "s"
    result = invoke("sweep", str(spec_file), "--out", str(out), "--scheduler", "tcp://x:1")
    assert "--executor dask" in assert_documented_failure(result, 2)
    assert not out.exists()
