"""The tearsheet a person reads tells the truth about the run (issue 14).

One synthetic hayes-pivot run (in T-bills most of the time, so every T-bill artefact shows):
its page's figures are checked against stats.json and against textbook definitions computed
here with pandas/numpy from the run folder's returns and weights, never by engine code.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from engine.cli import cli

CASH = "CASH"


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    results = tmp_path_factory.mktemp("results")
    result = CliRunner().invoke(cli, ["run", "hayes-pivot", "--results-dir", str(results)])
    assert result.exit_code == 0, result.output
    (folder,) = list(results.iterdir())
    return folder


@pytest.fixture(scope="module")
def page(run) -> str:
    return (run / "tearsheet.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def stats(run) -> dict:
    return json.loads((run / "stats.json").read_text())


@pytest.fixture(scope="module")
def frame(run) -> pd.DataFrame:
    """The run's returns (strategy, cash, benchmark) and gross risky exposure per bar."""
    returns = pd.read_parquet(run / "returns.parquet")
    weights = pd.read_parquet(run / "weights.parquet")
    returns["exposure"] = weights.drop(columns=[CASH]).abs().sum(axis=1)
    return returns


def cells(page: str, name: str) -> tuple[str, ...]:
    """One row of the Key Performance Metrics table: benchmark cell, then strategy cell."""
    match = re.search(rf"<tr><td>{re.escape(name)}</td>((?:<td>[^<]*</td>)+)</tr>", page)
    assert match, f"metric row {name!r} not on the page"
    return tuple(re.findall(r"<td>([^<]*)</td>", match.group(1)))


def number(cell: str) -> float:
    return float(cell.rstrip("%").replace(",", ""))


def shown(cell: str, value: float, percent: bool) -> None:
    """The printed cell equals `value` to the two decimals the page prints."""
    expected = value * 100 if percent else value
    assert abs(number(cell) - expected) <= 0.005 + 1e-9, (cell, expected)


def div(page: str, div_id: str) -> str:
    match = re.search(rf'<div id="{div_id}">(.*?)</div>', page, re.S)
    assert match, div_id
    return match.group(1)


def held_over_the_bar(frame: pd.DataFrame) -> pd.Series:
    """Bars whose return was earned holding risky weight: the weights after the previous
    close (weights.parquet holds each bar's weights after its own close, so an entry bar
    earns cash and the trade's cost, an exit bar the market)."""
    return frame["exposure"].shift(1, fill_value=0.0) > 1e-9


def longest_run(flags: pd.Series) -> int:
    best = run = 0
    for flag in flags:
        run = run + 1 if flag else 0
        best = max(best, run)
    return best


# --- the regression tests, one per bug of issue 14 ---------------------------------------


def test_regime_table_is_not_written_before_head(page):
    """The regime table came before quantstats' <head>: the charset was past the 1024
    bytes browsers look in, and every page showed mojibake ("CAGRï¹ª")."""
    raw = page.encode("utf-8")
    assert raw.lower().find(b'<meta charset="utf-8">') < 1024
    assert page.count("<head>") == 1 and page.count("<body") == 1
    assert page.index("</head>") < page.index("<body") < page.index('id="regimes"')
    assert page.index('id="regimes"') < page.index("</body>")


def test_time_in_market_is_the_engines_not_100_percent(page, stats, frame):
    share = float((frame["exposure"] > 1e-9).mean())  # bars holding any risky weight
    assert share < 0.5  # the run sits in T-bills most of the time
    assert cells(page, "Time in Market")[-1] == f"{share:.1%}"
    assert stats["time_in_market"] == pytest.approx(share, abs=1e-12)


def test_max_consecutive_wins_do_not_count_tbill_days(page, frame):
    held = held_over_the_bar(frame)
    wins = longest_run(held & (frame["strategy"] > 0))
    losses = longest_run(held & (frame["strategy"] < 0))
    tbill_wins = longest_run(frame["strategy"] > 0)  # what quantstats counted
    assert wins < tbill_wins
    assert cells(page, "Max Consecutive Wins")[-1] == str(wins)
    assert cells(page, "Max Consecutive Losses")[-1] == str(losses)
    traded = frame["strategy"][held & (frame["strategy"] != 0)]
    assert cells(page, "Win Days")[-1] == f"{(traded > 0).mean():.2%}"


def test_rolling_sharpe_does_not_spike_while_in_tbills(page, stats, frame):
    """Over a window in T-bills the raw returns barely move: mean/std ran to ~2,000. Over
    excess returns the window has no risk and no ratio; the axis stays at a real scale."""
    ppy = stats["periods_per_year"]
    window = round(ppy / 2)
    excess = frame["strategy"] - frame["cash"]
    std = excess.rolling(window).std(ddof=1)
    rolling = (excess.rolling(window).mean() / std * np.sqrt(ppy)).where(std > 1e-12)
    top = float(rolling.abs().max())
    labels = re.findall(r'<g id="ytick_\d+">.*?<!-- (\S+) -->', div(page, "rolling_sharpe"), re.S)
    ticks = [abs(float(label.replace("−", "-").replace(",", ""))) for label in labels]
    assert ticks and max(ticks) < 50, ticks
    assert top < 50
    assert 'id="rolling_sortino"' not in page  # not made true over cash windows: not shown


def test_eoy_chart_has_one_labelled_slot_per_year_across_the_axes(page, frame):
    """quantstats' EOY bars put the year labels crushed at the left, the bars to the right."""
    svg = div(page, "eoy_returns")
    found = re.findall(r"<!-- (\d{4}) -->\s*<g[^>]*translate\(([0-9.]+) ", svg)
    years = [str(y) for y in sorted(set(frame.index.year))]
    assert [label for label, _ in found] == years
    xs = [float(x) for _, x in found]
    width = float(re.search(r'viewBox="0 0 ([0-9.]+) ', svg).group(1))
    assert xs == sorted(xs) and xs[0] < 0.3 * width and xs[-1] > 0.7 * width


# --- the numbers the page shows -----------------------------------------------------------


def test_cagr_volatility_sharpe_sortino_match_stats_json(page, stats, frame):
    """The page's figures are stats.json's, and both are the textbook definitions."""
    ppy = stats["periods_per_year"]
    columns = [("benchmark", stats["benchmark"]), ("strategy", stats)]
    for column, (name, numbers) in enumerate(columns):
        r = frame[name]
        excess = r - frame["cash"]
        cagr = float(np.prod(1 + r)) ** (ppy / len(r)) - 1  # bars / ppy = calendar years
        vol = float(r.std(ddof=1)) * np.sqrt(ppy)
        sharpe = float(excess.mean() / excess.std(ddof=1)) * np.sqrt(ppy)
        downside = float(np.sqrt(np.mean(np.minimum(excess, 0.0) ** 2)))
        sortino = float(excess.mean()) / downside * np.sqrt(ppy)
        for label, textbook, key, percent in (
            ("CAGR", cagr, "cagr", True),
            ("Volatility (ann.)", vol, "volatility", True),
            ("Sharpe", sharpe, "sharpe", False),
            ("Sortino", sortino, "sortino", False),
        ):
            assert numbers[key] == pytest.approx(textbook, rel=1e-9), (name, key)
            shown(cells(page, label)[column], textbook, percent)


def test_page_says_rf_is_the_runs_cash_series(page, stats, frame):
    ppy = stats["periods_per_year"]
    average = (1 + frame["cash"].mean()) ** ppy - 1
    assert f"RF: each bar's cash (T-bill) return, {average:.1%} a year on average" in page
    assert cells(page, "Risk-Free Rate") == (f"{average:.1%}", f"{average:.1%}")
    for gone in ("Smart Sharpe", "Prob. Sharpe Ratio", "Omega", "Sortino/√2", "Treynor Ratio"):
        assert f"<td>{gone}</td>" not in page  # quantstats' constant-rf rows, not shown wrong
    assert f"Periods/Year: {ppy:.2f}".removesuffix(".00") in page


def test_rows_about_winning_and_losing_bars_count_only_bars_in_the_market(page, frame):
    """quantstats counts a T-bill day as a winning bar: a run in cash three days in four had an
    'average win' of a third of a percent and a payoff ratio far below 1. Over the bars that
    held risky weight (textbook: the mean of the gains, of the losses, their ratio; gross gains
    over gross losses; Kelly p - (1 - p) / b; the mean of the non-zero bars)."""
    held = frame["strategy"][held_over_the_bar(frame)]
    gains, losses = held[held > 0], held[held < 0]
    win_rate = len(gains) / len(held[held != 0])
    payoff = gains.mean() / abs(losses.mean())
    want = {
        "Avg. Return": (held[held != 0].mean(), True),
        "Avg. Win": (gains.mean(), True),
        "Avg. Loss": (losses.mean(), True),
        "Payoff Ratio": (payoff, False),
        "Win/Loss Ratio": (payoff, False),
        "Profit Factor": (held[held >= 0].sum() / abs(losses.sum()), False),
        "Kelly Criterion": (win_rate - (1 - win_rate) / payoff, True),
    }
    for label, (value, percent) in want.items():
        shown(cells(page, label)[-1], value, percent)
    everything = frame["strategy"]
    diluted = everything[everything > 0].mean()  # what quantstats printed: T-bill days in
    assert gains.mean() > 3 * diluted
    assert "rows about winning and losing bars" in page


def test_readme_quotes_this_pages_average_win_and_payoff(page, frame):
    """README: 'with T-bill days counted as wins, hayes-pivot's average win read A and its
    payoff ratio B when its days in BTC won C and paid D': A and B over every bar (what
    quantstats printed), C and D the page's cells now (this run is the README's default)."""
    text = " ".join((Path(__file__).resolve().parents[1] / "README.md").read_text().split())
    match = re.search(
        r"average win read (\S+) and its payoff ratio (\S+) when its days in BTC won (\S+) "
        r"and paid (\S+)\. ",
        text,
    )
    assert match
    every = frame["strategy"]
    diluted_win = every[every > 0].mean()
    diluted_payoff = diluted_win / abs(every[every < 0].mean())
    assert match[1] == f"{diluted_win * 100:.2f}%"
    assert match[2] == f"{diluted_payoff:.2f}"
    assert match[3] == cells(page, "Avg. Win")[-1]
    assert match[4] == cells(page, "Payoff Ratio")[-1]
