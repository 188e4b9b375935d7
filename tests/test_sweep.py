"""Sweeps: equal to one-by-one runs, shard/merge, resume after SIGKILL, dask, gates."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from engine.cli import cli
from engine.errors import ConfigError
from engine.runs.backtest import run_backtest
from engine.runs.config import RunConfig
from engine.sweep.runner import make_plan, run_plan
from engine.sweep.spec import expand, load_sweep
from engine.workflows.sweep import merge_to_folder, sweep_to_folder

REPO = Path(__file__).resolve().parents[1]
SPEC = """\
base: {base}
grid:
  stock_weight: [0.2, 0.5, 0.8]
  rebalance: [monthly, quarterly]
blocks: 6
split: {{oos_start: 2035-01-01}}
walk_forward: {{train_blocks: 2}}
chunk_size: 2
heatmap: [stock_weight, rebalance]
"""
METRICS = [
    "total_return",
    "cagr",
    "volatility",
    "sharpe",
    "sortino",
    "max_drawdown",
    "calmar",
    "time_in_market",
    "avg_gross_exposure",
    "turnover_per_year",
    "fills",
]


@pytest.fixture
def spec_file(tmp_path) -> Path:
    path = tmp_path / "weights.yaml"
    path.write_text(SPEC.format(base=REPO / "configs" / "60-40.yaml"))
    return path


def table(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(folder / "sweep.parquet").sort_values("id").reset_index(drop=True)


def split_textbook(returns: pd.Series, cash: pd.Series) -> dict[str, tuple[float, float]]:
    """Sharpe and CAGR of each side of the split: each side annualized with its own bars per
    calendar year (from its first bar's open), never the whole window's."""
    out = {}
    cut = returns.index >= pd.Timestamp("2035-01-01")
    for part, inside in (("is", ~cut), ("oos", cut)):
        r, excess = returns[inside], (returns - cash)[inside]
        years = (r.index[-1] - r.index[0] + (r.index[1] - r.index[0])).days / 365.25
        sharpe = excess.mean() / excess.std(ddof=1) * np.sqrt(len(r) / years)
        out[part] = (sharpe, np.prod(1 + r.to_numpy()) ** (1 / years) - 1)
    return out


def test_sweep_rows_equal_the_same_sets_run_one_by_one(spec_file, tmp_path):
    summary, folder = sweep_to_folder(spec_file, out_dir=tmp_path / "sweep")
    rows = table(folder)
    assert len(rows) == 6 and summary["trials"] == 6
    _, base, _ = load_sweep(spec_file)
    for row in rows.itertuples(index=False):
        config = base.model_copy(update={"params": json.loads(row.params)})
        stats = run_backtest(RunConfig.model_validate(config.model_dump())).stats
        for key in METRICS:
            assert getattr(row, key) == pytest.approx(stats[key], abs=1e-9, rel=1e-9), key
    assert (folder / "heatmap.png").stat().st_size > 5000
    assert set(summary) >= {"deflated_sharpe", "pbo", "walk_forward", "best"}
    assert rows["sharpe_oos"].notna().all() and rows["sharpe_is"].notna().all()


def test_sweep_split_not_annualized_with_252(spec_file, tmp_path):
    """In- and out-of-sample Sharpe scale by each part's own bars per calendar year."""
    _, folder = sweep_to_folder(spec_file, out_dir=tmp_path / "sweep")
    row = table(folder).iloc[0]
    _, base, _ = load_sweep(spec_file)
    config = base.model_copy(update={"params": json.loads(row["params"])})
    result = run_backtest(RunConfig.model_validate(config.model_dump()))
    for part, (sharpe, cagr) in split_textbook(result.returns, result.cash_returns).items():
        assert row[f"sharpe_{part}"] == pytest.approx(sharpe, rel=1e-9), part
        assert row[f"cagr_{part}"] == pytest.approx(cagr, rel=1e-9), part


def test_sharded_and_merged_equals_unsharded(spec_file, tmp_path):
    _, whole = sweep_to_folder(spec_file, out_dir=tmp_path / "whole")
    shards = []
    for k in (1, 2, 3):
        summary, folder = sweep_to_folder(spec_file, out_dir=tmp_path / f"s{k}", shard=(k, 3))
        assert summary is None  # a shard waits for the merge
        shards.append(folder)
    merged = merge_to_folder(shards, tmp_path / "merged")
    pd.testing.assert_frame_equal(table(tmp_path / "merged"), table(whole))
    assert merged == json.loads((whole / "summary.json").read_text())


def test_shards_of_an_auto_chunked_sweep_split_its_sets_evenly(spec_file, tmp_path):
    """Chunk K goes to shard K mod N: with the budget's chunk size, 6 sets in one chunk left
    the second of 2 shards nothing to do (10,000 in 5 chunks: 6,000 against 4,000). The
    sharded plan's chunks are a multiple of the shards in number; merged, the same table."""
    auto = tmp_path / "auto.yaml"
    auto.write_text(spec_file.read_text().replace("chunk_size: 2\n", ""))
    spec, base, _ = load_sweep(auto)
    assert len(make_plan(spec, base).mine()) == 1
    halves = [make_plan(spec, base, (k, 2)) for k in (1, 2)]
    assert [sum(p.chunk_len(i) for i in p.mine()) for p in halves] == [3, 3]
    _, whole = sweep_to_folder(auto, out_dir=tmp_path / "whole")
    shards = [sweep_to_folder(auto, out_dir=tmp_path / f"s{k}", shard=(k, 2))[1] for k in (1, 2)]
    merged = merge_to_folder(shards, tmp_path / "merged")
    pd.testing.assert_frame_equal(table(tmp_path / "merged"), table(whole))
    assert merged == json.loads((whole / "summary.json").read_text())


def test_merge_refuses_missing_or_foreign_shards(spec_file, tmp_path):
    sweep_to_folder(spec_file, out_dir=tmp_path / "s1", shard=(1, 2))
    with pytest.raises(Exception, match="missing from the shards"):
        merge_to_folder([tmp_path / "s1"], tmp_path / "m")
    other = tmp_path / "other.yaml"
    other.write_text(spec_file.read_text().replace("0.8]", "0.9]"))
    sweep_to_folder(other, out_dir=tmp_path / "o2", shard=(2, 2))
    with pytest.raises(ConfigError, match="different sweep"):
        merge_to_folder([tmp_path / "s1", tmp_path / "o2"], tmp_path / "m2")


def test_a_sweep_killed_with_sigkill_resumes_to_the_same_table(spec_file, tmp_path):
    _, whole = sweep_to_folder(spec_file, out_dir=tmp_path / "whole")
    killed = tmp_path / "killed"
    # a child process that SIGKILLs itself right after its second chunk file lands
    script = f"""
import os, signal
import engine.sweep.runner as runner
written = []
real = runner._write_atomically
def write_then_die(table, path):
    real(table, path)
    written.append(path)
    if len(written) == 2:
        os.kill(os.getpid(), signal.SIGKILL)
runner._write_atomically = write_then_die
from engine.workflows.sweep import sweep_to_folder
sweep_to_folder({str(spec_file)!r}, out_dir={str(killed)!r})
"""
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=300)
    assert child.returncode == -9
    chunks = sorted(p.name for p in (killed / "chunks").iterdir())
    assert chunks == ["chunk-00000.parquet", "chunk-00001.parquet"]  # no half-written file
    assert not (killed / "sweep.parquet").exists()
    _, base, _ = load_sweep(spec_file)
    spec = load_sweep(spec_file)[0]
    resumed = run_plan(make_plan(spec, base), killed)
    assert resumed == [2]  # only the missing chunk is computed
    sweep_to_folder(spec_file, out_dir=killed)
    pd.testing.assert_frame_equal(table(killed), table(whole))


def test_a_folder_of_another_sweep_is_refused(spec_file, tmp_path):
    sweep_to_folder(spec_file, out_dir=tmp_path / "x")
    spec_file.write_text(spec_file.read_text().replace("0.8]", "0.7]"))
    with pytest.raises(ConfigError, match="holds a different sweep"):
        sweep_to_folder(spec_file, out_dir=tmp_path / "x")


def test_run_plan_refuses_an_unknown_executor_in_one_line(spec_file, tmp_path):
    """run_plan, called without the CLI's choices, says so as sweep_to_folder does."""
    spec, base, _ = load_sweep(spec_file)
    with pytest.raises(ConfigError, match=r"unknown executor 'bogus'"):
        run_plan(make_plan(spec, base), tmp_path / "x", executor="bogus")


@pytest.mark.slow
def test_dask_executor_equals_local(spec_file, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    _, local = sweep_to_folder(spec_file, out_dir=tmp_path / "local")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0"
    ) as cluster:
        _, remote = sweep_to_folder(
            spec_file,
            out_dir=tmp_path / "dask",
            executor="dask",
            scheduler=cluster.scheduler_address,
        )
    pd.testing.assert_frame_equal(table(remote), table(local))


def test_grid_keys_and_values_are_validated_with_lines(tmp_path, spec_file):
    bad = tmp_path / "bad.yaml"
    text = spec_file.read_text().replace("stock_weight: [", "stock_wieght: [")
    bad.write_text(text.replace("heatmap: [stock_weight, rebalance]\n", ""))
    with pytest.raises(ConfigError) as caught:
        load_sweep(bad)
    assert "bad.yaml:3: grid.stock_wieght" in caught.value.one_line()
    assert "did you mean 'stock_weight'" in caught.value.one_line()
    out_of_bounds = tmp_path / "oob.yaml"
    out_of_bounds.write_text(spec_file.read_text().replace("0.8]", "1.8]"))
    spec, base, _ = load_sweep(out_of_bounds)
    with pytest.raises(ConfigError, match="stock_weight: Input should be less than or equal to 1"):
        expand(spec, base)


def test_random_sample_is_seeded_and_a_subset(spec_file):
    spec, base, _ = load_sweep(spec_file)
    sampled = type(spec).model_validate({**spec.model_dump(), "sample": {"n": 4, "seed": 3}})
    first, second = expand(sampled, base), expand(sampled, base)
    assert first == second and len(first) == 4
    assert all(s in expand(spec, base) for s in first)


def test_cli_gate_on_deflated_sharpe_exits_7(spec_file, tmp_path):
    runner = CliRunner()
    ok = runner.invoke(
        cli, ["sweep", str(spec_file), "--out", str(tmp_path / "a"), "--fail-below-dsr", "0"]
    )
    assert ok.exit_code == 0, ok.output
    assert "deflated Sharpe ratio" in ok.stdout and "6 parameter sets" in ok.stdout
    gated = runner.invoke(
        cli, ["sweep", str(spec_file), "--out", str(tmp_path / "a"), "--fail-below-dsr", "1.01"]
    )
    assert gated.exit_code == 7
    assert gated.stderr.startswith("error: deflated Sharpe ratio")
    bad = runner.invoke(cli, ["sweep", str(spec_file), "--shard", "3/2"])
    assert bad.exit_code == 2 and "need 1 <= K <= N" in bad.output


def test_shipped_sweep_files_load():
    for path in sorted((REPO / "configs" / "sweeps").glob("*.yaml")):
        spec, base, _ = load_sweep(path)
        assert len(expand(spec, base)) >= 10, path.name


def test_sweep_chunks_equal_with_the_plans_panels_or_freshly_built(spec_file):
    """Issue 18: what sets on one panel share is passed explicitly (the plan's PanelShelf),
    not kept in module caches keyed by id(panel). A chunk run on the plan's shared panels
    (the local executor) equals the same chunk built from plain data (a dask worker), and
    two plans share no panel object."""
    from engine.runs.batch import SharedPanel
    from engine.sweep.runner import run_chunk

    spec, base, _ = load_sweep(spec_file)
    plan = make_plan(spec, base)
    base_json, spec_json = plan.base.canonical_json(), plan.spec.model_dump_json()
    shared = [run_chunk(base_json, spec_json, sets, plan.panels) for sets in plan.chunks]
    fresh = [run_chunk(base_json, spec_json, sets) for sets in plan.chunks]
    for mine, theirs in zip(shared, fresh, strict=True):
        pd.testing.assert_frame_equal(mine, theirs, check_exact=True)
    other = make_plan(spec, base)
    key = next(iter(plan.panels._shared))
    assert isinstance(plan.panels._shared[key], SharedPanel)
    assert other.panels.get(*key).panel is not plan.panels._shared[key].panel
    assert other.fingerprint == plan.fingerprint
    source = "".join(p.read_text() for p in (REPO / "engine").rglob("*.py"))
    assert "id(panel" not in source


DECLINING = """\
from strategies.baselines import SixtyForty
from engine.core.strategy import Decline


class DecliningSixtyForty(SixtyForty):
    name = "declining-60-40"

    @classmethod
    def decide_many(cls, strategies, panel, signals, leverage_cap):
        return Decline("this copy covers nothing")
"""


def test_sweep_notes_a_declined_batch_path_once_per_run(tmp_path):
    """Issue 18: a batch path's decline reached no one; now one note per run, not per chunk
    (the sweep has three chunks), and the sets are walked to the same numbers."""
    (tmp_path / "declining.py").write_text(DECLINING)
    config = (REPO / "configs" / "60-40.yaml").read_text()
    base = tmp_path / "base.yaml"
    base.write_text(config.replace("strategy: 60-40", "strategy: declining.py"))
    spec = tmp_path / "declining.yaml"
    spec.write_text(SPEC.format(base=base))
    notes: list[str] = []
    _, folder = sweep_to_folder(spec, out_dir=tmp_path / "out", on_note=notes.append)
    assert notes == [
        "declining-60-40's batch path declined: this copy covers nothing; walking each set"
    ]
    assert len(list((folder / "chunks").glob("*.parquet"))) == 3
    plain = tmp_path / "plain.yaml"
    plain.write_text(SPEC.format(base=REPO / "configs" / "60-40.yaml"))
    _, plain_folder = sweep_to_folder(plain, out_dir=tmp_path / "plain", on_note=notes.append)
    assert len(notes) == 1  # 60-40 has no batch path: nothing declined, nothing noted
    columns = ["id", *METRICS]
    pd.testing.assert_frame_equal(table(folder)[columns], table(plain_folder)[columns])


CASH_ONLY = """\
from pydantic import Field

from engine.core.strategy import Strategy, StrategyParams


class CashOnlyParams(StrategyParams):
    patience: int = Field(1, ge=1)


class CashOnly(Strategy):
    name = "cash-only"
    thesis = "Waits for a signal that never comes: always in T-bills."
    Params = CashOnlyParams

    def universe(self):
        return ("SPY",)

    def on_event(self, event, ctx):
        return {}
"""


def test_a_sweep_where_no_set_takes_a_position_completes_and_says_so(tmp_path):
    """Every set flat: no Sharpe anywhere (excess returns all zero). The summary crashed
    (internal error: All-NaN slice, from PBO's in-sample pick) after a RuntimeWarning;
    now the sweep completes, says no set has a Sharpe, and leaves DSR, PBO and the
    walk-forward undefined (null), not a made-up best."""
    (tmp_path / "cash_only.py").write_text(CASH_ONLY)
    (tmp_path / "cash.yaml").write_text("name: cash\nstrategy: cash_only.py\nbenchmark: SPY\n")
    (tmp_path / "grid.yaml").write_text(
        "base: cash.yaml\ngrid:\n  patience: [1, 2, 3, 4]\nblocks: 4\n"
        "walk_forward: {train_blocks: 2}\n"
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["sweep", str(tmp_path / "grid.yaml"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Warning" not in result.stderr, result.stderr
    assert "4 parameter sets; none has a sharpe" in result.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["best"]["sharpe"] is None and summary["best"]["max_drawdown"] == 0.0
    assert summary["deflated_sharpe"] is None and summary["pbo"] is None
    assert summary["walk_forward"]["windows"] == 0
    page = (out / "sweep.html").read_text()
    assert "no best set" in page and "nothing to judge: no set has a sharpe" in page


@pytest.mark.parametrize(
    ("oos_start", "parts"),
    [
        ("2099-01-01", "1565 in-sample and 0 out-of-sample"),  # after the window
        ("1990-01-01", "0 in-sample and 1565 out-of-sample"),  # before it
        ("2030-01-02", "1 in-sample and 1564 out-of-sample"),  # one bar in
    ],
)
def test_a_split_outside_the_window_is_one_line_not_empty_columns(oos_start, parts, tmp_path):
    """A typo in split.oos_start (a year off) gave a sweep whose out-of-sample (or
    in-sample) columns were all empty, with nothing said; now it is refused before any set
    runs. The window is 60-40's synthetic 2030-01-01..2035-12-31 (1,565 bars)."""
    spec = tmp_path / "split.yaml"
    spec.write_text(
        f"base: {REPO / 'configs' / '60-40.yaml'}\ngrid:\n  stock_weight: [0.2, 0.5]\n"
        f"blocks: 4\nsplit: {{oos_start: {oos_start}}}\n"
    )
    result = CliRunner().invoke(cli, ["sweep", str(spec), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    line = result.stderr.strip()
    assert "\n" not in line and f"split.oos_start {oos_start} leaves {parts} bars" in line
    assert "2030-01-01..2035-12-31" in line and "(fix: " in line
    assert not (tmp_path / "out").exists()


def test_a_sweep_file_error_points_at_working_sweep_files(tmp_path):
    """The fix of a sweep file's error without a field description pointed at `playbook
    strategies` (a list of strategies); it points at configs/sweeps/ now."""
    spec = tmp_path / "wf.yaml"
    spec.write_text(
        f"base: {REPO / 'configs' / '60-40.yaml'}\ngrid:\n  stock_weight: [0.2, 0.5]\n"
        "blocks: 4\nwalk_forward: {train_blocks: 4}\n"
    )
    with pytest.raises(ConfigError) as raised:
        load_sweep(spec)
    assert "train_blocks must be fewer than blocks" in raised.value.problem
    assert raised.value.fix == "see configs/sweeps/ for working sweep files"
