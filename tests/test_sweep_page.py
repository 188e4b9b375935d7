"""The sweep report (engine.reports.pages.sweep): written by every sweep and merge, its figures
recomputed here from the folder's files with textbook definitions."""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.reports.pages import sweep_data as sd
from engine.reports.pages.sweep import SWEEP_PAGE, surface_figure, write_sweep_page
from engine.runs.config import RunConfig
from engine.workflows.run import run_to_folder
from engine.workflows.sweep import merge_to_folder, sweep_to_folder

REPO = Path(__file__).resolve().parents[1]
SPEC = """\
base: {base}
grid:
  stock_weight: [0.2, 0.5, 0.8]
  rebalance: [monthly, quarterly]
blocks: 6
split: {{oos_start: 2034-01-01}}
walk_forward: {{train_blocks: 2}}
chunk_size: 2
heatmap: [stock_weight, rebalance]
"""


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sweep-spec") / "weights.yaml"
    path.write_text(SPEC.format(base=REPO / "configs" / "60-40.yaml"))
    return path


@pytest.fixture(scope="module")
def swept(spec_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    _, folder = sweep_to_folder(spec_file, out_dir=tmp_path_factory.mktemp("sweep") / "out")
    return folder


def _visible(page: str) -> str:
    return re.sub(r"<[^>]+>", "", re.sub(r"<script.*?</script>", "", page, flags=re.S))


def test_sweep_without_report_writes_sweep_html(swept: Path) -> None:
    """Issue 20: a sweep left only an unreadable heatmap.png and summary.json; it now writes
    sweep.html with the verdict, the surface, in vs out of sample and walk-forward windows."""
    text = _visible((swept / SWEEP_PAGE).read_text(encoding="utf-8"))
    summary = json.loads((swept / "summary.json").read_text())
    assert f"Deflated Sharpe {summary['deflated_sharpe']:.3f}" in text
    assert f"PBO {summary['pbo']:.2f}" in text
    assert summary["best"]["id"] in text
    for heading in ("Parameter surface", "In sample vs out of sample", "Walk-forward windows"):
        assert heading in text


def test_benchmark_sharpe_is_textbook_and_the_runs_own(swept: Path, tmp_path: Path) -> None:
    """The colour scale's centre: the benchmark's Sharpe on the window, excess over cash,
    ddof=1, scaled by the window's bars per calendar year; the same as a run's stats.json."""
    frame = pd.read_parquet(swept / sd.BENCHMARK_PARQUET)
    index = pd.DatetimeIndex(frame.index)
    excess = frame["benchmark"] - frame["cash"]
    days = (index[-1] - (index[0] - pd.Timedelta(days=1))).days
    ppy = len(index) / (days / 365.25)
    sharpe = excess.mean() / excess.std(ddof=1) * math.sqrt(ppy)
    figures = json.loads((swept / sd.BENCHMARK_JSON).read_text())
    assert figures["sharpe"] == pytest.approx(sharpe, rel=1e-12)
    folder, _ = run_to_folder(RunConfig(strategy="60-40"), None, results_dir=tmp_path, report=False)
    stats = json.loads((folder / "stats.json").read_text())
    assert figures["sharpe"] == pytest.approx(stats["benchmark"]["sharpe"], rel=1e-12)
    oos = index >= pd.Timestamp("2034-01-01")
    part, part_index = excess[oos], index[oos]
    part_days = (part_index[-1] - (part_index[0] - pd.Timedelta(days=1))).days
    part_ppy = len(part_index) / (part_days / 365.25)
    expected = part.mean() / part.std(ddof=1) * math.sqrt(part_ppy)
    assert figures["sharpe_oos"] == pytest.approx(expected, rel=1e-12)


def test_heatmap_cells_are_group_means_centred_on_the_benchmark(swept: Path) -> None:
    files = sd.read_sweep_folder(swept)
    table = pd.read_parquet(swept / "sweep.parquet")
    means = table.groupby(["p.rebalance", "p.stock_weight"])["sharpe"].mean()
    fig = surface_figure(files, "stock_weight", "rebalance")
    heat, star = fig.data[0], fig.data[1]
    for i, rebalance in enumerate(heat.y):
        for j, weight in enumerate(heat.x):
            assert heat.z[i][j] == pytest.approx(means[(rebalance, float(weight))])
            assert heat.text[i][j] == f"{means[(rebalance, float(weight))]:.2f}"
    bench = json.loads((swept / sd.BENCHMARK_JSON).read_text())
    assert heat.zmid == pytest.approx(bench["sharpe"])
    best = json.loads((swept / "summary.json").read_text())["best"]["params"]
    assert (star.x[0], star.y[0]) == (f"{best['stock_weight']:g}", best["rebalance"])


def test_walk_forward_windows_add_up_to_the_summary(swept: Path) -> None:
    """Per window, unannualized: the means are summary.json's walk_forward figures."""
    files = sd.read_sweep_folder(swept)
    windows = sd.walk_forward_windows(files, None)
    wf = files.summary["walk_forward"]
    assert len(windows) == wf["windows"] == 6 - 2
    assert windows["picked_sharpe"].mean() == pytest.approx(wf["picked_mean_sharpe"])
    assert windows["median_sharpe"].mean() == pytest.approx(wf["median_mean_sharpe"])
    assert windows["beat"].mean() == pytest.approx(wf["picked_beat_median_share"])


def test_best_sets_equity_is_shown_when_the_sweep_kept_them(swept: Path, tmp_path: Path) -> None:
    folder = tmp_path / "sweep"
    shutil.copytree(swept, folder)
    text = _visible(write_sweep_page(folder).read_text(encoding="utf-8"))
    assert "--rerun-best N" in text
    run, _ = run_to_folder(
        RunConfig(strategy="60-40"), None, results_dir=folder / "best", report=False
    )
    page = write_sweep_page(folder).read_text(encoding="utf-8")
    assert 'id="best-equity-chart"' in page and f"best/{run.name}/run.html" in page


def test_sweep_merge_writes_the_same_report(spec_file: Path, swept: Path, tmp_path: Path) -> None:
    shards = []
    for k in (1, 2):
        _, shard = sweep_to_folder(spec_file, out_dir=tmp_path / f"s{k}", shard=(k, 2))
        assert not (shard / SWEEP_PAGE).exists()
        shards.append(shard)
    merged = tmp_path / "merged"
    merge_to_folder(shards, merged)
    strip = re.compile(r"<code>[^<]*</code>")  # the folder's own name differs

    def body(folder: Path) -> str:
        return strip.sub("", (folder / SWEEP_PAGE).read_text(encoding="utf-8"))

    assert body(merged) == body(swept)


def test_page_needs_no_network_and_escapes(swept: Path) -> None:
    page = (swept / SWEEP_PAGE).read_text(encoding="utf-8")
    assert len(re.findall(r"<script[^>]*\bsrc=", page)) == 0
    assert page.count("<script") >= 1 and np.isfinite(len(page))


def test_heatmap_of_a_sampled_range_means_equal_width_bins() -> None:
    """Issue 22: a range sampled at 100k values made a 100k-column heatmap; more than
    MAX_LEVELS values are cut into MAX_LEVELS equal-width bins, each cell the bin's mean."""
    from engine.reports.surface import MAX_LEVELS, mean_grid

    rng = np.random.default_rng(7)
    x = rng.uniform(0.0, 2.0, 5000)
    y = rng.choice(["monthly", "yearly"], 5000)
    v = rng.normal(size=5000)
    table = pd.DataFrame({"p.x": x, "p.y": y, "sharpe": v})
    grid = mean_grid(table, "x", "y", "sharpe")
    assert grid.shape == (2, MAX_LEVELS)
    cell = np.minimum(
        ((x - x.min()) / (x.max() - x.min()) * MAX_LEVELS).astype(int), MAX_LEVELS - 1
    )
    for i, label in enumerate(grid.index):
        for j in range(MAX_LEVELS):
            members = (y == label) & (cell == j)
            assert grid.iloc[i, j] == pytest.approx(v[members].mean(), rel=1e-12)
    few = table.assign(**{"p.x": np.round(x, 1)})  # 21 values: one column each, as before
    assert list(mean_grid(few, "x", "y", "sharpe").columns) == sorted(set(np.round(x, 1)))


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic 12,000-set sweep folder (no simulations) with its outputs and page."""
    from benchmarks.sweep_outputs import make
    from engine.sweep.runner import read_identity
    from engine.sweep.spec import SweepSpec
    from engine.workflows.sweep import write_outputs_of

    folder = tmp_path_factory.mktemp("big") / "sweep"
    make(12_000, folder)
    write_outputs_of(folder, SweepSpec.model_validate(read_identity(folder)["spec"]))
    write_sweep_page(folder)
    return folder


def test_sweep_page_of_many_sets_stays_small(swept: Path, big: Path) -> None:
    """Issue 22: sweep.html drew a dot (with hover text) per set: 0.5 MB more than a
    6-set sweep's page at 10k sets, 5 MB more at 100k. Past MAX_POINTS sets the in vs out
    chart shades sets per cell instead, and the surface of a 100-value parameter is 100
    columns at most, with the best set's star."""
    page = (big / SWEEP_PAGE).read_text(encoding="utf-8")
    small = (swept / SWEEP_PAGE).read_text(encoding="utf-8")  # 6 sets, plotly.js inlined
    assert len(page) - len(small) < 200_000
    files = sd.read_sweep_folder(big)
    counts, _, _ = sd.in_out_density(files.table)
    assert counts.sum() == len(files.table) == 12_000
    star = surface_figure(files, "a", "b").data[1]
    best = sd.best_row(files)
    assert (star.x[0], star.y[0]) == (str(best["p.a"]), f"{best['p.b']:g}")


@pytest.mark.browser
def test_sweep_page_of_many_sets_draws_offline_without_console_errors(
    big: Path, tmp_path: Path
) -> None:
    from tests.page_browser import console_problems, need_chromium, probed

    need_chromium()
    report, _, stderr = probed(big / SWEEP_PAGE, tmp_path)
    assert console_problems(stderr) == []
    assert report["fetched"] == []
    assert report["plots"] == ["surface-0", "surface-1", "surface-2", "in-out-chart"]
    assert report["drawn"] >= 4


def test_heatmap_png_of_a_100k_value_range_is_drawn(tmp_path: Path) -> None:
    """Issue 22: `playbook sweep` of a 100k-set sample of a stock_weight range failed at its
    last step: heatmap.png was a column per value, 11,220,060 pixels wide ("Image size ...
    is too large"). It is now at most 100 equal-width bins wide, at a capped size."""
    from PIL import Image

    from engine.reports.heatmap import write_heatmap

    rng = np.random.default_rng(8)
    n = 90_000
    table = pd.DataFrame(
        {
            "p.stock_weight": np.round(rng.permutation(n) / n, 6),
            "p.rebalance": rng.choice(["monthly", "quarterly", "yearly"], n),
            "sharpe": rng.normal(size=n),
        }
    )
    path = write_heatmap(table, ("stock_weight", "rebalance"), "sharpe", tmp_path / "h.png")
    with Image.open(path) as image:
        width, height = image.size
    assert width <= 1900 and height <= 1250
