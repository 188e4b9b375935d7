"""engine.reports.compare: runs measured on their common window with engine.core.metrics,
resolved by id,
diffed by config, and shown on one self-contained page. Real synthetic runs, no mocks."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from engine.core import metrics
from engine.errors import ConfigError, DataError, OutputError
from engine.reports.compare import (
    Comparison,
    RunRecord,
    compare_runs,
    format_comparison,
    list_runs,
    load_run,
    resolve_runs,
    runs_table,
    write_compare_page,
)
from engine.reports.pages.run_data import save_page_inputs
from engine.runs.config import RunConfig
from engine.workflows.run import run_to_folder

SHORT_START, SHORT_END = dt.date(2033, 1, 1), dt.date(2035, 12, 31)
HOSTILE_TITLE = 'SYNTHETIC <script>alert("x")</script> & {{title}}'
TABLE_IDS = ("metrics-table", "yearly-table", "regimes-table", "config-diff")


def _run(results: Path, **config: object) -> Path:
    """A run folder with the run page's inputs (instrument returns) but no reports."""
    folder, result = run_to_folder(
        RunConfig(strategy="60-40", **config), None, results_dir=results, report=False
    )
    save_page_inputs(result, folder)
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Four synthetic 60/40 runs: two weights over the full market, two disjoint windows."""
    results = tmp_path_factory.mktemp("compare-runs")
    return {
        "base": _run(results, params={"stock_weight": 0.6}),
        "heavy": _run(results, params={"stock_weight": 0.8}),
        "short": _run(results, params={"stock_weight": 0.6}, start=SHORT_START, end=SHORT_END),
        "early": _run(results, params={"stock_weight": 0.6}, end=dt.date(2031, 6, 30)),
    }


def _copy(run: Path, results: Path, name: str, **run_json: object) -> Path:
    """A copy of a run folder under a new id, with run.json fields overridden."""
    target = results / name
    shutil.copytree(run, target)
    meta = json.loads((target / "run.json").read_text())
    meta.update({"id": name, **run_json})
    (target / "run.json").write_text(json.dumps(meta))
    return target


def _common_prefix(names: list[str]) -> str:
    """The longest string every name starts with (character-wise, not by path parts)."""
    first, last = min(names), max(names)
    size = next(
        (i for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b), len(first)
    )
    return first[:size]


def _compare(*folders: Path) -> Comparison:
    return compare_runs([load_run(f) for f in folders])


def _outside_scripts(page: str) -> str:
    """The page without its script elements (plotly.js and the figure's data)."""
    return re.sub(r"<script.*?</script>", "", page, flags=re.S)


# --- the common window ---------------------------------------------------------------


def test_common_window_metrics_are_engine_metrics_on_the_slice(runs: dict[str, Path]) -> None:
    base, short = load_run(runs["base"]), load_run(runs["short"])
    comparison = compare_runs([base, short])
    start, end = comparison.window
    assert (start, end) == (short.returns.index[0], short.returns.index[-1])
    assert comparison.windows_differ
    base_label, short_label = comparison.labels

    sliced = base.returns.loc[start:end]
    assert len(sliced) < len(base.returns)
    shown = comparison.metrics[base_label]
    assert shown["CAGR"] == metrics.cagr(sliced["strategy"])
    bars_a_year = metrics.periods_per_year(pd.DatetimeIndex(sliced.index))
    assert shown["Sharpe"] == metrics.sharpe(sliced["strategy"], bars_a_year, sliced["cash"])
    assert shown["max drawdown"] == metrics.max_drawdown(sliced["strategy"])
    assert shown["total return"] == metrics.total_return(sliced["strategy"])
    assert shown["CAGR"] != pytest.approx(base.stats["cagr"])  # really cut, not the full run
    assert shown["turnover per year (full run)"] == base.stats["turnover_per_year"]
    # the short run is whole inside the window: its numbers are its stats.json
    assert comparison.metrics[short_label]["CAGR"] == pytest.approx(short.stats["cagr"], rel=1e-12)

    text = format_comparison(comparison)
    assert f"compared on the common window {start.date()} to {end.date()}" in text
    assert f"cut to it from longer runs: {base_label}" in text
    assert any("measured on its" in note and base_label in note for note in comparison.notes)
    assert any("turnover per year" in note for note in comparison.notes)


def test_compare_window_not_annualized_with_the_full_runs_periods(runs: dict[str, Path]) -> None:
    """Volatility and Sharpe of a cut run scale by the bars per calendar year of the part
    compared (textbook, in the test), not by the full run's stats.json figure."""
    base, short = load_run(runs["base"]), load_run(runs["short"])
    comparison = compare_runs([base, short])
    start, end = comparison.window
    sliced = base.returns.loc[start:end]
    index = pd.DatetimeIndex(sliced.index)
    years = (index[-1] - index[0] + (index[1] - index[0])).days / 365.25
    bars_a_year = len(sliced) / years
    excess = sliced["strategy"] - sliced["cash"]
    shown = comparison.metrics[comparison.labels[0]]
    want_vol = sliced["strategy"].std(ddof=1) * np.sqrt(bars_a_year)
    assert shown["volatility"] == pytest.approx(want_vol, rel=1e-12)
    want_sharpe = excess.mean() / excess.std(ddof=1) * np.sqrt(bars_a_year)
    assert shown["Sharpe"] == pytest.approx(want_sharpe, rel=1e-12)
    assert shown["CAGR"] == pytest.approx(np.prod(1 + sliced["strategy"]) ** (1 / years) - 1)


def test_stats_periods_per_year_int_or_float_is_valid(runs: dict[str, Path], tmp_path) -> None:
    """Run folders written before hold an int (252 or 365), newer ones a float: both load."""
    stats = json.loads((runs["base"] / "stats.json").read_text())
    assert isinstance(stats["periods_per_year"], float)
    for n, good in [(252, True), (365.25, True), (0, False), ("252", False), (True, False)]:
        folder = _copy(runs["base"], tmp_path, f"20260101-000000-60-40-{abs(hash(n)) % 10**8:08d}")
        (folder / "stats.json").write_text(json.dumps({**stats, "periods_per_year": n}))
        if good:
            assert load_run(folder).stats["periods_per_year"] == n
        else:
            with pytest.raises(DataError, match="periods_per_year"):
                load_run(folder)
        shutil.rmtree(folder)


def test_a_run_compared_with_itself_matches_its_stats(runs: dict[str, Path], tmp_path) -> None:
    run_id = runs["base"].name
    folders = resolve_runs([run_id, run_id], runs["base"].parent)
    assert folders == [runs["base"], runs["base"]]
    comparison = _compare(*folders)
    one, two = comparison.labels
    assert one.endswith(" #1") and two.endswith(" #2") and one[:-3] == two[:-3]
    pd.testing.assert_series_equal(
        comparison.metrics[one], comparison.metrics[two], check_names=False
    )
    assert comparison.config_diff.empty
    assert not comparison.windows_differ
    stats = load_run(runs["base"]).stats
    for row, key in [
        ("CAGR", "cagr"),
        ("Sharpe", "sharpe"),
        ("Sortino", "sortino"),
        ("max drawdown", "max_drawdown"),
        ("volatility", "volatility"),
        ("time in market", "time_in_market"),
        ("total return", "total_return"),
    ]:
        assert comparison.metrics.loc[row, one] == pytest.approx(stats[key], rel=1e-12), row
    assert "configs and data are identical" in format_comparison(comparison)
    page = write_compare_page(comparison, tmp_path / "self.html").read_text()
    assert "configs and data are identical" in page


def test_config_diff_shows_only_what_differs(runs: dict[str, Path]) -> None:
    comparison = _compare(runs["base"], runs["heavy"])
    diff = comparison.config_diff
    assert list(diff.index) == ["params.stock_weight"]
    assert list(diff.loc["params.stock_weight"]) == ["0.6", "0.8"]
    assert "params.stock_weight" in format_comparison(comparison)


def test_runs_that_share_no_dates_fail_with_one_message(runs: dict[str, Path]) -> None:
    with pytest.raises(DataError) as caught:
        _compare(runs["short"], runs["early"])
    error = caught.value
    assert "share no dates" in error.problem
    assert runs["short"].name in error.problem and runs["early"].name in error.problem
    assert error.fix and "\n" not in error.one_line()


# --- finding runs --------------------------------------------------------------------


def test_missing_folder_or_unknown_id_is_named(runs: dict[str, Path], tmp_path: Path) -> None:
    results = runs["base"].parent
    with pytest.raises(DataError, match="20991231-000000-nope") as caught:
        resolve_runs(["20991231-000000-nope"], results)
    assert "playbook runs" in caught.value.fix
    missing = tmp_path / "gone" / "20300101-000000-60-40-deadbeef"
    with pytest.raises(DataError, match=re.escape(str(missing))):
        resolve_runs([str(missing)], results)
    with pytest.raises(DataError, match=re.escape(str(missing))):
        load_run(missing)
    with pytest.raises(DataError, match="not a run folder"):
        resolve_runs([str(tmp_path)], results)


def test_ids_prefixes_and_ambiguity(runs: dict[str, Path]) -> None:
    results = runs["base"].parent
    name = runs["heavy"].name
    assert resolve_runs([name[:-1]], results) == [runs["heavy"]]  # a unique prefix
    assert resolve_runs([str(runs["short"])], results) == [runs["short"]]  # a folder path
    prefix = _common_prefix([p.name for p in runs.values()])
    with pytest.raises(ConfigError, match="matches 4 runs") as caught:
        resolve_runs([prefix], results)
    assert all(p.name in caught.value.problem for p in runs.values())
    with pytest.raises(ConfigError, match="no runs"):
        resolve_runs([], results)


def test_latest_picks_the_newest(runs: dict[str, Path], tmp_path: Path) -> None:
    # names sort one way, creation times another: creation wins
    made = {
        "a": _copy(
            runs["base"], tmp_path, "20260101-000003-60-40-0000000a", created="2026-01-01T00:00:01"
        ),
        "b": _copy(
            runs["base"], tmp_path, "20260101-000001-60-40-0000000b", created="2026-01-01T00:00:03"
        ),
        "c": _copy(
            runs["base"], tmp_path, "20260101-000002-60-40-0000000c", created="2026-01-01T00:00:02"
        ),
    }
    assert resolve_runs([], tmp_path, latest=2) == [made["b"], made["c"]]
    assert resolve_runs([made["a"].name], tmp_path, latest=1) == [made["a"], made["b"]]
    assert [r.folder for r in list_runs(tmp_path)] == [made["b"], made["c"], made["a"]]
    with pytest.raises(DataError, match="holds 3"):
        resolve_runs([], tmp_path, latest=4)
    with pytest.raises(ConfigError):
        resolve_runs([], tmp_path, latest=0)


def test_list_runs_ignores_tmp_and_non_run_folders(runs: dict[str, Path], tmp_path: Path) -> None:
    real = _copy(runs["base"], tmp_path, runs["base"].name)
    _copy(runs["heavy"], tmp_path, f".tmp-{runs['heavy'].name}-4242")  # an abandoned write
    (tmp_path / "scratch").mkdir()  # no run.json: not a run
    (tmp_path / "README.md").write_text("not a run\n")
    assert [r.folder for r in list_runs(tmp_path)] == [real]
    assert list_runs(tmp_path / "does-not-exist") == []
    with pytest.raises(DataError):
        resolve_runs([".tmp-"], tmp_path)


def test_a_corrupt_or_missing_file_is_named(runs: dict[str, Path], tmp_path: Path) -> None:
    broken = _copy(runs["base"], tmp_path, "20260101-000000-60-40-0000000d")
    (broken / "stats.json").write_text("{not json")
    with pytest.raises(DataError, match=r"stats\.json"):
        load_run(broken)
    shutil.copy(runs["base"] / "stats.json", broken / "stats.json")
    (broken / "returns.parquet").unlink()
    with pytest.raises(DataError, match=r"returns\.parquet"):
        load_run(broken)
    shutil.copy(runs["base"] / "returns.parquet", broken / "returns.parquet")
    (broken / "weights.parquet").write_bytes(b"PAR1 garbage")
    with pytest.raises(DataError, match=r"weights\.parquet"):
        compare_runs([load_run(broken)])


# --- per regime ----------------------------------------------------------------------


def test_regimes_outside_a_run_are_not_covered_never_zero(runs: dict[str, Path]) -> None:
    base, short = load_run(runs["base"]), load_run(runs["short"])
    comparison = compare_runs([base, short])
    base_label, short_label = comparison.labels
    table = comparison.regimes
    assert list(table.index) == list(base.regimes["regime"])  # the synthetic phases, in order
    assert short.regimes is not None
    boom = short.regimes.set_index("regime").loc["boom"]
    assert boom["coverage"] == "none"
    assert np.isnan(table.loc["boom", f"{short_label} return"])
    assert table.loc["boom", f"{short_label} coverage"] == "none"
    written = base.regimes.set_index("regime").loc["boom", "return"]
    assert table.loc["boom", f"{base_label} return"] == written  # as written, full run


# --- the page ------------------------------------------------------------------------


def test_page_has_tables_charts_and_escapes_titles(runs: dict[str, Path], tmp_path: Path) -> None:
    hostile = _copy(runs["base"], tmp_path / "results", runs["base"].name, title=HOSTILE_TITLE)
    comparison = _compare(hostile, runs["heavy"], runs["short"])
    page = write_compare_page(comparison, tmp_path / "out" / "compare.html")
    text = page.read_text(encoding="utf-8")
    outside = _outside_scripts(text)
    for element in TABLE_IDS:
        assert re.search(rf'<table id="{element}"', outside), element
    assert re.search(r'<div id="compare-chart" class="plotly-graph-div"', text)
    assert text.count("plotly.js v") <= 2  # the library embedded once (its banner)
    assert not re.search(r"<script[^>]*\bsrc=", text)  # no script fetched
    assert "<img" not in outside  # the static PNG charts are gone
    assert "<script>alert(" not in text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; {{title}}" in outside
    assert not re.search(r"(src|href)=\"(https?:)?//", outside)  # nothing to fetch
    assert "compared on the common window 2033-01-03 to 2035-12-31" in text.lower()
    assert outside.count("no tearsheet (run with reports)") == 3
    assert "not covered" in outside
    assert sorted(p.name for p in page.parent.iterdir()) == ["compare.html"]  # no temp left


def test_page_links_tearsheets_relative_to_itself(runs: dict[str, Path], tmp_path: Path) -> None:
    run = _copy(runs["base"], tmp_path / "results", runs["base"].name)
    (run / "tearsheet.html").write_text("<html></html>")
    page = write_compare_page(_compare(run, runs["heavy"]), tmp_path / "pages" / "c.html")
    hrefs = re.findall(r'href="([^"]+)"', _outside_scripts(page.read_text()))
    assert hrefs == [f"../results/{run.name}/tearsheet.html"]
    assert (page.parent / hrefs[0]).resolve() == (run / "tearsheet.html").resolve()


def test_mixing_synthetic_and_real_is_flagged(runs: dict[str, Path], tmp_path: Path) -> None:
    real = _copy(runs["heavy"], tmp_path, runs["heavy"].name, synthetic=False)
    comparison = _compare(runs["base"], real)
    assert any("SYNTHETIC and real data are mixed" in n for n in comparison.notes)
    text = write_compare_page(comparison, tmp_path / "mixed.html").read_text()
    assert re.search(r'id="data-warning" class="warning">SYNTHETIC and real data are mixed', text)


def test_unwritable_page_is_an_output_error(runs: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    with pytest.raises(OutputError):
        write_compare_page(_compare(runs["base"]), tmp_path / "a-file" / "page.html")


def test_runs_table_lists_each_run(runs: dict[str, Path]) -> None:
    records: list[RunRecord] = list_runs(runs["base"].parent)
    assert len(records) == 4
    text = runs_table(records)
    lines = text.splitlines()
    assert lines[0].split() == ["id", "strategy", "dates", "data", "CAGR", "Sharpe", "max", "DD"]
    for record in records:
        line = next(line for line in lines if line.startswith(record.id))
        assert "SYNTHETIC" in line
        assert f"{record.stats['cagr']:+.2%}" in line
        assert f"{record.stats['start']} to {record.stats['end']}" in line


# --- yearly returns, turnover per regime, exposure (recomputed here by definition) -----


def _years(index: pd.DatetimeIndex) -> float:
    """Calendar years of bars, from the first bar's open (one bar spacing before it)."""
    spacing = pd.Series(index).diff().min()
    return (index[-1] - index[0] + spacing).days / 365.25


def _turnover_by_bar(folder: Path) -> pd.Series:
    """Traded notional of the risky instruments over wealth, per bar, in money terms:
    holdings before the fill = last close's holding grown by the instrument's return, after =
    end weight x wealth; fills move by the slippage against the trade (buys pay more)."""
    weights = pd.read_parquet(folder / "weights.parquet")
    moves = pd.read_parquet(folder / "instrument_returns.parquet")
    wealth = (1 + pd.read_parquet(folder / "returns.parquet")["strategy"]).cumprod()
    config = yaml.safe_load((folder / "config.yaml").read_text())
    slippage = config["costs"]["slippage_bps"] / 1e4
    risky = [c for c in weights.columns if c != "CASH"]
    turnover = []
    for t in range(len(weights)):
        traded = 0.0
        for name in risky:
            before = 0.0 if t == 0 else weights[name].iloc[t - 1] * wealth.iloc[t - 1]
            before *= 1 + moves[name].iloc[t]
            change = weights[name].iloc[t] * wealth.iloc[t] - before
            traded += abs(change) * (1 + slippage * np.sign(change))
        turnover.append(traded / wealth.iloc[t])
    return pd.Series(turnover, index=weights.index)


def test_yearly_returns_are_calendar_years_of_the_common_window(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    comparison = _compare(runs["base"], runs["short"])
    start, end = comparison.window
    page = _outside_scripts(write_compare_page(comparison, tmp_path / "y.html").read_text())
    bench = json.loads((runs["base"] / "stats.json").read_text())["benchmark"]["symbol"]
    sources = {
        comparison.labels[0]: (runs["base"], "strategy"),
        comparison.labels[1]: (runs["short"], "strategy"),
        f"benchmark {bench}": (runs["base"], "benchmark"),
    }
    assert list(comparison.yearly.columns) == list(sources)
    for column, (folder, series) in sources.items():
        bars = pd.read_parquet(folder / "returns.parquet")[series].loc[start:end]
        for year in range(start.year, end.year + 1):
            in_year = bars[bars.index.year == year]
            want = np.prod(1 + in_year.to_numpy()) - 1
            assert comparison.yearly.loc[year, column] == pytest.approx(want, rel=1e-12)
            assert f"{want:+.1%}" in page
    # the window runs 2033-01-03 to 2035-12-31: 2033 misses its first two days, 2035 is whole
    assert comparison.partial_years == {2033: "from 01-03"}
    assert "2033 <span class='small'>(partial: from 01-03)</span>" in page
    assert "2035 <span" not in page


def test_regime_turnover_is_stats_turnover_on_the_regime_bars(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    folder = runs["base"]
    per_bar = _turnover_by_bar(folder)
    stats = json.loads((folder / "stats.json").read_text())
    # the definition above is stats.json's: over the whole run it gives the same figure
    whole = per_bar.sum() / _years(pd.DatetimeIndex(per_bar.index))
    assert whole == pytest.approx(stats["turnover_per_year"], rel=1e-9)

    comparison = _compare(folder, runs["short"])
    label = comparison.labels[0]
    page = _outside_scripts(write_compare_page(comparison, tmp_path / "t.html").read_text())
    written = pd.read_csv(folder / "regimes.csv")
    checked = 0
    for row in written.itertuples():
        shown = comparison.regimes.loc[row.regime, f"{label} turnover"]
        if row.coverage == "none":
            assert np.isnan(shown)
            continue
        inside = per_bar[
            (per_bar.index > pd.Timestamp(row.start)) & (per_bar.index <= pd.Timestamp(row.end))
        ]
        want = inside.sum() / _years(pd.DatetimeIndex(inside.index))
        assert shown == pytest.approx(want, rel=1e-9, abs=1e-12), row.regime
        assert comparison.regimes.loc[row.regime, f"{label} max drawdown"] == row.max_drawdown
        assert f"{want:.2f}" in page and f"{row.max_drawdown:+.1%}" in page
        checked += 1
    assert checked >= 2


def test_regime_turnover_without_instrument_returns_is_na_never_zero(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    old = _copy(runs["base"], tmp_path, runs["base"].name)
    (old / "instrument_returns.parquet").unlink()  # a folder written before the run page
    comparison = _compare(old)
    assert comparison.regimes[f"{comparison.labels[0]} turnover"].isna().all()
    assert comparison.regimes[f"{comparison.labels[0]} return"].notna().any()
    assert any("no instrument_returns.parquet" in note for note in comparison.notes)


def test_exposure_is_the_gross_risky_weight_in_the_window(runs: dict[str, Path]) -> None:
    comparison = _compare(runs["base"], runs["short"])
    start, end = comparison.window
    weights = pd.read_parquet(runs["base"] / "weights.parquet").loc[start:end]
    want = weights.drop(columns="CASH").abs().sum(axis=1)
    got = comparison.exposure[comparison.labels[0]]
    pd.testing.assert_series_equal(got, want, check_names=False, rtol=1e-12)


def test_exposure_axis_from_zero_not_autoscaled_into_float_noise(runs: dict[str, Path]) -> None:
    """A fully invested 60/40 holds 100% +- 1e-16: autoscaled, its flat line drew as spikes."""
    from engine.reports.compare_chart import compare_figure

    comparison = _compare(runs["base"])
    invested = comparison.exposure[comparison.labels[0]].iloc[1:]  # the first bar is cash
    assert 0 < invested.max() - invested.min() < 1e-12  # the noise autoscaling blew up
    figure = compare_figure(comparison.returns, comparison.exposure, comparison.benchmarks)
    assert figure.layout.yaxis2.rangemode == "tozero"
