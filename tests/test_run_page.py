"""The run page (engine.reports.pages.run): its numbers recomputed here from textbook definitions
on the run folder's files, its escaping, and what it does with an older run folder."""

from __future__ import annotations

import itertools
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.reports.pages import run_data
from engine.reports.pages.run import (
    RUN_PAGE,
    link_from_tearsheet,
    write_run_page,
    write_run_page_for,
)
from engine.runs.config import RunConfig
from engine.workflows.run import run_to_folder


@pytest.fixture(scope="module")
def hard_assets(tmp_path_factory: pytest.TempPathFactory):
    """Synthetic hard-assets-vs-duration: long GLD and BTC, short TLT, cash, monthly decisions."""
    results = tmp_path_factory.mktemp("run-page")
    folder, result = run_to_folder(
        RunConfig(strategy="hard-assets-vs-duration"), None, results_dir=results, report=False
    )
    write_run_page_for(result, folder)
    return folder, result


@pytest.fixture(scope="module")
def hayes(tmp_path_factory: pytest.TempPathFactory):
    """Synthetic hayes-pivot: cash in the crunch, BTC after the pivot (few, named decisions)."""
    results = tmp_path_factory.mktemp("run-page-hayes")
    folder, result = run_to_folder(
        RunConfig(strategy="hayes-pivot"), None, results_dir=results, report=False
    )
    write_run_page_for(result, folder)
    return folder, result


def _text(folder: Path) -> str:
    return (folder / RUN_PAGE).read_text(encoding="utf-8")


def _visible(page: str) -> str:
    """The page's text outside scripts, tags removed."""
    page = re.sub(r"<script.*?</script>", "", page, flags=re.S)
    return re.sub(r"<[^>]+>", "", page)


def test_contributions_are_previous_weight_times_price_return(hard_assets) -> None:
    """Each leg's contribution = sum over bars of w[t-1] * (p[t] / p[t-1] - 1), recomputed
    from the panel's prices (a short leg's price grows with borrow; CASH earns cash)."""
    folder, result = hard_assets
    weights = pd.read_parquet(folder / "weights.parquet")
    index = pd.DatetimeIndex(weights.index)
    cash = pd.read_parquet(folder / "returns.parquet")["cash"].set_axis(index)
    borrow = result.config.costs.borrow_bps / 1e4  # per year, accrued by calendar day / 365
    gap_days = index.to_series().diff().dt.days.to_numpy()
    by_hand = {}
    for name in weights.columns:
        if name == "CASH":
            asset = cash
        else:
            price = result.panel.prices[name.removesuffix("~short")].reindex(index).ffill()
            asset = price / price.shift(1) - 1.0
            if name.endswith("~short"):  # priced as price x borrow index
                asset = (1.0 + asset) * (1.0 + borrow) ** (gap_days / 365.0) - 1.0
        by_hand[name] = float((weights[name].shift(1).to_numpy() * asset.to_numpy())[1:].sum())
    page = run_data.contributions(run_data.read_run_folder(folder))
    assert page is not None
    assert set(by_hand) == {"GLD", "BTC-USD", "TLT", "TLT~short", "CASH"}
    for name, value in by_hand.items():
        assert page.loc[name, "contribution"] == pytest.approx(value, abs=1e-12), name
    assert by_hand["TLT~short"] != 0.0
    total = pd.read_parquet(folder / "returns.parquet")["strategy"].sum()
    assert page["contribution"].sum() == pytest.approx(total, abs=1e-12)


def test_contributions_match_each_bar_without_a_fill(hard_assets) -> None:
    """On a bar with no trade, the legs' contributions add up to the strategy's return."""
    folder, result = hard_assets
    files = run_data.read_run_folder(folder)
    w, asset = files.weights, files.instrument_returns
    assert asset is not None
    per_bar = (w.shift(1) * asset).sum(axis=1)
    fills = pd.DatetimeIndex(result.simulation.fills[0].index)
    quiet = ~w.index.isin(fills)
    quiet[0] = False
    strategy = files.returns["strategy"]
    assert np.allclose(per_bar[quiet], strategy[quiet], atol=1e-12, rtol=0)


def test_decision_returns_compound_the_bars_in_force(hayes) -> None:
    """Each decision's return is prod(1 + r) over the bars after it up to the next one."""
    folder, _ = hayes
    returns = pd.read_parquet(folder / "returns.parquet")
    r = returns["strategy"].set_axis(pd.DatetimeIndex(returns.index))
    events = pd.read_parquet(folder / "events.parquet")
    decided = pd.DatetimeIndex(events.loc[events["decided"], "time"])
    inside = [t for t in decided if r.index[0] <= t <= r.index[-1]]
    table = run_data.decisions(run_data.read_run_folder(folder))
    assert list(table["entry"])[-len(inside) :] == inside
    bounds = [*inside, r.index[-1]]
    got_returns = table["return"].iloc[-len(inside) :]
    for (entry, exit_), got in zip(itertools.pairwise(bounds), got_returns, strict=True):
        span = r[(r.index > entry) & (r.index <= exit_)]
        assert got == pytest.approx(float(np.prod(1.0 + span.to_numpy()) - 1.0), abs=1e-12)
    assert table["open"].iloc[-1] and not table["open"].iloc[:-1].any()


def test_page_shows_the_verdict_figures_from_textbook_definitions(hayes) -> None:
    """CAGR (calendar, from the first bar's open) and max drawdown as the page prints them."""
    folder, _ = hayes
    returns = pd.read_parquet(folder / "returns.parquet")
    r = returns["strategy"]
    index = pd.DatetimeIndex(r.index)
    wealth = (1.0 + r).cumprod()
    days = (index[-1] - (index[0] - pd.Timedelta(days=1))).days
    cagr = float(wealth.iloc[-1]) ** (365.25 / days) - 1.0
    max_dd = float((wealth / np.maximum(wealth.cummax(), 1.0) - 1.0).min())
    text = _visible(_text(folder))
    assert f"CAGR{cagr:+.2%}" in text.replace("\n", "")
    assert f"max drawdown{max_dd:+.1%}" in text.replace("\n", "")
    assert f"Max drawdown {max_dd:+.1%}" in text


def test_page_names_each_decision_and_its_rule(hayes) -> None:
    folder, _ = hayes
    events = pd.read_parquet(folder / "events.parquet")
    text = _visible(_text(folder))
    for row in events[events["decided"]].itertuples():
        if row.time >= pd.Timestamp(pd.read_parquet(folder / "returns.parquet").index[0]):
            assert str(row.time.date()) in text
            assert row.kind in text
    assert "Contribution of each leg" in text and "costs and fills" in text


def test_worst_drawdown_dates_are_textbook(hayes) -> None:
    folder, _ = hayes
    r = pd.read_parquet(folder / "returns.parquet")["strategy"]
    wealth = (1.0 + r).cumprod()
    peak = np.maximum(wealth.cummax(), 1.0)
    trough = (wealth / peak - 1.0).idxmin()
    episode = run_data.worst_drawdown(r.set_axis(pd.DatetimeIndex(r.index)))
    assert episode is not None and episode.trough == trough
    before = wealth.loc[:trough]
    assert before.loc[episode.peak] == pytest.approx(float(peak.loc[trough]))


def test_plotly_is_embedded_once_and_nothing_is_fetched(hayes) -> None:
    page = _text(hayes[0])
    assert page.count("plotly.js v") <= 2  # the library's own banner, once
    assert len(re.findall(r"<script[^>]*\bsrc=", page)) == 0
    assert "cdn.plot.ly" not in page.replace("https://cdn.plot.ly", "")  # no CDN script tag


def test_user_strings_are_escaped(hayes, tmp_path: Path) -> None:
    folder = tmp_path / "run"
    shutil.copytree(hayes[0], folder)
    events = pd.read_parquet(folder / "events.parquet")
    first = events.index[events["decided"]][-1]
    events.loc[first, "detail"] = "<script>alert('x')</script>"
    events.to_parquet(folder / "events.parquet")
    page = (write_run_page(folder)).read_text(encoding="utf-8")
    assert "<script>alert(" not in page
    assert "&lt;script&gt;alert(" in page


def test_older_run_folder_gets_a_page_without_contributions(hayes, tmp_path: Path) -> None:
    folder = tmp_path / "old-run"
    shutil.copytree(hayes[0], folder)
    for name in (run_data.INSTRUMENT_RETURNS, run_data.DECISION_SIGNALS, RUN_PAGE):
        (folder / name).unlink()
    text = _visible(write_run_page(folder).read_text(encoding="utf-8"))
    assert "rerun it to see each leg" in text
    assert "Decisions and what each earned" in text


def test_tearsheet_links_to_the_run_page_once(tmp_path: Path) -> None:
    (tmp_path / "tearsheet.html").write_text("<html><body class='x'><h1>t</h1></body></html>")
    link_from_tearsheet(tmp_path)
    link_from_tearsheet(tmp_path)
    text = (tmp_path / "tearsheet.html").read_text()
    assert text.count('href="run.html"') == 1
    assert text.index('href="run.html"') < text.index("<h1>")


def test_page_is_the_same_on_rewrite(hayes) -> None:
    folder = hayes[0]
    first = _text(folder)
    write_run_page(folder)
    assert _text(folder) == first


@pytest.mark.slow
def test_run_without_run_page_every_run_writes_it(tmp_path: Path) -> None:
    """Issue 20: a run wrote only the tearsheet and a linear equity.png; now every run with
    reports writes run.html beside them, and the tearsheet links to it."""
    folder, _ = run_to_folder(RunConfig(strategy="60-40"), None, results_dir=tmp_path)
    assert (folder / RUN_PAGE).is_file()
    assert 'href="run.html"' in (folder / "tearsheet.html").read_text(encoding="utf-8")
    assert (folder / run_data.INSTRUMENT_RETURNS).is_file()


def test_report_page_command_rewrites_the_page(hayes) -> None:
    from click.testing import CliRunner

    from engine.cli import cli

    folder = hayes[0]
    (folder / RUN_PAGE).unlink()
    result = CliRunner().invoke(cli, ["report", "page", str(folder)])
    assert result.exit_code == 0, result.output
    assert (folder / RUN_PAGE).is_file() and f"wrote {folder / RUN_PAGE}" in result.output


def test_report_page_of_a_folder_that_is_not_a_run_is_one_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from engine.cli import cli

    result = CliRunner().invoke(cli, ["report", "page", str(tmp_path)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "(fix: " in lines[0]


def test_compare_page_links_each_run_page(hayes, tmp_path: Path) -> None:
    from engine.reports.compare import compare_runs, load_run, write_compare_page

    runs = []
    for name in ("a", "b"):
        runs.append(tmp_path / "results" / name)
        shutil.copytree(hayes[0], runs[-1])
    (runs[1] / RUN_PAGE).unlink()
    comparison = compare_runs([load_run(folder) for folder in runs])
    page = write_compare_page(comparison, tmp_path / "pages" / "c.html")
    hrefs = re.findall(r'href="([^"]+)"', page.read_text(encoding="utf-8"))
    assert [h for h in hrefs if h.endswith(RUN_PAGE)] == ["../results/a/run.html"]


def test_decision_hover_shows_the_signal_values_seen(hayes) -> None:
    """Hover text: the rule, and each signal's value on the decision bar (from the run)."""
    from engine.reports.pages.run import decision_hover

    folder, result = hayes
    files = run_data.read_run_folder(folder)
    table = run_data.decisions(files)
    row = table.iloc[-1]
    text = decision_hover(files, row)
    assert row["rule"] in text and "signals at the decision" in text
    seen = result.schedule.signals.select_dtypes("number").loc[row["decided"]].dropna()
    for name, value in list(seen.items())[:5]:
        assert f"{name} = {value:.3f}" in text
