"""Make quantstats' tearsheet true for a playbook run: rows and figures it gets wrong, redone.

quantstats takes the risk-free rate as one constant, counts a day in T-bills as a market day
and a win, and draws its end-of-year bars on a date axis that crushes the labels. The engine
pays each bar's T-bill rate and knows its own weights. So the page is drawn with rf=0 and
here, from the run's own series:
- Sharpe and Sortino are the engine's (`engine.core.metrics`: excess returns over the cash series),
  the same numbers as stats.json; the rows quantstats computes from a constant rf (or from
  its own idea of exposure) are removed rather than shown wrong;
- time in market is the share of bars ending with risky weight (as stats.json); win/loss
  streaks count only bars in the market: those whose return was earned holding risky weight
  (`held_over`: the weights after the previous close);
- the end-of-year bars and the rolling Sharpe are our own figures (the rolling Sharpe on
  excess returns, blank where the strategy sat in cash and there is no risk to divide by);
  the rolling Sortino is not shown: over a window mostly in cash its downside is a few tiny
  days and the ratio runs to hundreds, true arithmetic that reads as a false signal;
- win days are the share of bars in the market that gained, and the rows about winning and
  losing bars (average win and loss, payoff, profit factor, Kelly, outlier ratios: `BAR_ROWS`)
  are quantstats' own functions over the bars in the market: counting a T-bill day as a win
  gave hayes-pivot an average win of 0.33% and a payoff ratio of 0.16 when its days in BTC
  won 1.97% and paid 0.95 (distribution rows, such as VaR, skew and the best day, and the
  month, quarter and year rows keep every bar: they are what the account did);
- the header says what rf is.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from engine.core import metrics

IN_MARKET = metrics.IN_MARKET  # gross risky weight above which a bar counts as in the market
FLAT = 1e-12  # a rolling std below this is a window spent in cash: no ratio
# quantstats rows computed with a constant rf or its own exposure, which cannot be made true
# by handing it a number: removed from the page (Sharpe and Sortino are replaced instead).
DROPPED_ROWS = (
    "Prob. Sharpe Ratio",
    "Smart Sharpe",
    "Smart Sortino",
    "Sortino/√2",
    "Smart Sortino/√2",
    "Omega",
    "Risk-Adjusted Return",
    "Treynor Ratio",
)
# quantstats rows about winning and losing bars, redone over the bars in the market (a bar in
# T-bills is neither a win nor a loss): (row label, `quantstats.stats` function, a percent?)
BAR_ROWS = (
    ("Avg. Return", "avg_return", True),
    ("Avg. Win", "avg_win", True),
    ("Avg. Loss", "avg_loss", True),
    ("Win/Loss Ratio", "win_loss_ratio", False),
    ("Profit Ratio", "profit_ratio", False),
    ("Kelly Criterion", "kelly_criterion", True),
    ("Risk of Ruin", "risk_of_ruin", True),
    ("Payoff Ratio", "payoff_ratio", False),
    ("Profit Factor", "profit_factor", False),
    ("Common Sense Ratio", "common_sense_ratio", False),
    ("CPC Index", "cpc_index", False),
    ("Tail Ratio", "tail_ratio", False),
    ("Outlier Win Ratio", "outlier_win_ratio", False),
    ("Outlier Loss Ratio", "outlier_loss_ratio", False),
)
_STRATEGY_COLOR = "#348dc1"
_BENCHMARK_COLOR = "#fedd78"  # quantstats' own pair of colours, so the page stays one look


@dataclass(frozen=True)
class PageTruth:
    """The run's own numbers the page is corrected with."""

    strategy: pd.Series
    benchmark: pd.Series | None
    periods_per_year: float
    rf: pd.Series  # risk-free return of each bar
    rf_label: str  # what the header says rf is
    exposure: pd.Series | None  # gross risky weight of each bar (None: not known)

    @classmethod
    def build(
        cls,
        strategy: pd.Series,
        benchmark: pd.Series | None,
        periods_per_year: float,
        *,
        rf: float,
        cash: pd.Series | None,
        exposure: pd.Series | None,
    ) -> PageTruth:
        """From the run's cash series when given, else from a constant annual `rf`."""
        if cash is not None:
            per_bar = cash.astype(float).reindex(strategy.index).fillna(0.0)
            average = float(np.power(1.0 + per_bar.mean(), periods_per_year) - 1.0)
            label = f"RF: each bar's cash (T-bill) return, {average:.1%} a year on average"
        else:
            rate = float(np.power(1.0 + rf, 1.0 / periods_per_year) - 1.0)
            per_bar = pd.Series(rate, index=strategy.index)
            label = f"RF: {rf:.1%}"
        if exposure is not None:
            exposure = exposure.astype(float).reindex(strategy.index).fillna(0.0)
        return cls(strategy, benchmark, periods_per_year, per_bar, label, exposure)

    def columns(self) -> list[tuple[pd.Series, pd.Series | None]]:
        """(returns, exposure) per metrics-table column, in quantstats' order (benchmark first)."""
        strategy = (self.strategy, self.exposure)
        return [strategy] if self.benchmark is None else [(self.benchmark, None), strategy]


def longest_streak(flags: np.ndarray) -> int:
    """The longest run of consecutive True values."""
    best = run = 0
    for flag in flags:
        run = run + 1 if flag else 0
        best = max(best, run)
    return best


def held_over(returns: pd.Series, exposure: pd.Series | None) -> np.ndarray:
    """Which bars' returns were earned holding risky weight: the weights after the previous
    bar's close (`exposure` is each bar's weights after its close, as weights.parquet). The
    day a position is entered earns cash and the trade's cost, the day it is left earns the
    market: counting the bar's own end weight swapped the two. All bars when exposure is
    unknown (a benchmark)."""
    if exposure is None:
        return np.ones(len(returns), bool)
    return np.r_[False, exposure.to_numpy()[:-1] > IN_MARKET]


def win_share(returns: pd.Series, exposure: pd.Series | None) -> float:
    """Share of the bars in the market that gained (a T-bill day is no win)."""
    values = returns.to_numpy(dtype=float)
    traded = values[held_over(returns, exposure) & (values != 0)]
    return float((traded > 0).mean()) if len(traded) else float("nan")


def in_market(returns: pd.Series, exposure: pd.Series | None) -> pd.Series:
    """The returns of the bars in the market (`held_over`)."""
    return returns[held_over(returns, exposure)]


def bar_cells(returns: pd.Series, exposure: pd.Series | None) -> dict[str, str]:
    """`BAR_ROWS` over the bars in the market, printed as quantstats prints its cells
    (rounded to 2 decimals; '-' where there is no figure, such as no losing bar)."""
    from quantstats import stats

    held = in_market(returns, exposure)
    out = {}
    for label, name, percent in BAR_ROWS:
        value = np.nan
        if len(held):
            with np.errstate(all="ignore"):
                value = float(getattr(stats, name)(held, prepare_returns=False))
        value = value * 100 if percent else value
        unit = "%" if percent else ""
        out[label] = "-" if not np.isfinite(value) else f"{round(value, 2)}{unit}"
    return out


def streaks(returns: pd.Series, exposure: pd.Series | None) -> tuple[int, int]:
    """Longest runs of winning and of losing bars in the market (a bar in cash ends a run)."""
    values = returns.to_numpy(dtype=float)
    held = held_over(returns, exposure)
    return longest_streak(held & (values > 0)), longest_streak(held & (values < 0))


def rolling_sharpe(returns: pd.Series, rf: pd.Series, periods_per_year: float) -> pd.Series:
    """Rolling half-year Sharpe of excess returns (window: round(ppy / 2) bars); NaN over a
    window spent in cash, where there is no risk to divide by."""
    window = max(2, round(periods_per_year / 2))
    excess = returns - rf
    std = excess.rolling(window).std(ddof=1)
    return (excess.rolling(window).mean() / std * np.sqrt(periods_per_year)).where(std > FLAT)


def yearly_returns(returns: pd.Series) -> pd.Series:
    """Compounded return of each calendar year the series covers."""
    return (1.0 + returns).groupby(returns.index.year).prod() - 1.0


# --- rows -----------------------------------------------------------------------------


def _row(label: str) -> re.Pattern[str]:
    return re.compile(rf"<tr><td>{re.escape(label)}</td>(?:<td>[^<]*</td>)+</tr>")


def _set_row(page: str, label: str, cells: list[str]) -> str:
    new = f"<tr><td>{label}</td>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"
    return _row(label).sub(lambda _: new, page, count=1)


def _ratio(value: float) -> str:
    """A ratio as the table prints one; '-' where there is none (no risk taken)."""
    return "-" if not np.isfinite(value) else f"{value:.2f}"


def fix_rows(page: str, truth: PageTruth) -> str:
    """The metrics table's rf-dependent rows, time in market and streaks, made true."""
    columns = truth.columns()
    ppy = truth.periods_per_year
    average_rf = float(np.power(1.0 + truth.rf.mean(), ppy) - 1.0)
    page = _set_row(page, "Risk-Free Rate", [f"{average_rf:.1%}"] * len(columns))
    sharpe = [metrics.sharpe(r, ppy, truth.rf) for r, _ in columns]
    sortino = [metrics.sortino(r, ppy, truth.rf) for r, _ in columns]
    page = _set_row(page, "Sharpe", [_ratio(v) for v in sharpe])
    page = _set_row(page, "Sortino", [_ratio(v) for v in sortino])
    if truth.exposure is not None:
        in_market = [
            "100.0%" if e is None else f"{float((e > IN_MARKET).mean()):.1%}" for _, e in columns
        ]
        page = _set_row(page, "Time in Market", in_market)
    wins = [win_share(r, e) for r, e in columns]
    page = _set_row(page, "Win Days", ["-" if np.isnan(w) else f"{w:.2%}" for w in wins])
    runs = [streaks(r, e) for r, e in columns]
    page = _set_row(page, "Max Consecutive Wins", [str(w) for w, _ in runs])
    page = _set_row(page, "Max Consecutive Losses", [str(n) for _, n in runs])
    by_column = [bar_cells(r, e) for r, e in columns]
    for label, _, _ in BAR_ROWS:
        page = _set_row(page, label, [cells[label] for cells in by_column])
    for label in DROPPED_ROWS:
        page = _row(label).sub("", page, count=1)
    note = (
        '<p class="playbook-note">Sharpe and Sortino use excess returns over the run\'s cash '
        "(T-bill) return of each bar, as stats.json does; time in market is the share of bars "
        "ending with risky assets; win days, win and loss streaks and the rows about winning and "
        "losing bars (average win and loss, payoff, profit factor, Kelly, outlier ratios) count "
        "only the bars whose return was earned holding them (the weights after the previous "
        "close).</p>"
    )
    return page.replace(
        "<h3>Key Performance Metrics</h3>", "<h3>Key Performance Metrics</h3>" + note, 1
    )


# --- figures ----------------------------------------------------------------------------


def _svg(fig: Figure) -> str:
    """The figure as inline SVG (no XML prolog), reproducible byte for byte."""
    out = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "playbook"}):
        fig.savefig(out, format="svg", metadata={"Date": None})
    text = out.getvalue()
    return text[text.index("<svg") :]


def _figure(title: str) -> tuple[Figure, matplotlib.axes.Axes]:
    fig = Figure(figsize=(8, 3.5), dpi=100, layout="constrained")
    ax = fig.subplots()
    ax.set_title(title, fontweight="bold")
    ax.grid(True, color="#dddddd", linewidth=0.6)
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def eoy_figure(strategy: pd.Series, benchmark: pd.Series | None) -> str:
    """End-of-year returns as grouped bars, one labelled slot per calendar year."""
    title = "EOY Returns" if benchmark is None else "EOY Returns vs Benchmark"
    fig, ax = _figure(title)
    series = [] if benchmark is None else [(benchmark, _BENCHMARK_COLOR)]
    series.append((strategy, _STRATEGY_COLOR))
    width = 0.8 / len(series)
    years = yearly_returns(strategy).index
    slots = np.arange(len(years))
    for i, (returns, color) in enumerate(series):
        values = yearly_returns(returns).reindex(years).to_numpy() * 100.0
        offset = (i - (len(series) - 1) / 2) * width
        ax.bar(slots + offset, values, width, color=color, label=str(returns.name))
    ax.axhline(0.0, color="black", linewidth=0.6)
    ax.set_xticks(slots, [str(y) for y in years], rotation=45 if len(years) > 12 else 0)
    ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
    ax.legend(loc="upper left", frameon=False)
    return _svg(fig)


def rolling_figure(truth: PageTruth) -> str:
    """Rolling half-year Sharpe on excess returns, strategy over benchmark."""
    fig, ax = _figure("Rolling Sharpe (6 months, excess over cash)")
    pairs = [] if truth.benchmark is None else [(truth.benchmark, _BENCHMARK_COLOR)]
    pairs.append((truth.strategy, _STRATEGY_COLOR))
    for returns, color in pairs:
        line = rolling_sharpe(returns, truth.rf, truth.periods_per_year)
        ax.plot(line.index, line.to_numpy(), color=color, linewidth=1.0, label=str(returns.name))
    ax.axhline(0.0, color="black", linewidth=0.6)
    ax.legend(loc="upper left", frameon=False)
    return _svg(fig)


def _set_div(page: str, div_id: str, content: str) -> str:
    pattern = re.compile(rf'<div id="{div_id}">.*?</div>', re.S)
    return pattern.sub(lambda _: f'<div id="{div_id}">{content}</div>', page, count=1)


def make_true(page: str, truth: PageTruth) -> str:
    """quantstats' finished page with every correction of this module applied."""
    page = re.sub(r'<body onload="save\(\)">', "<body>", page, count=1)  # no save() exists
    page = page.replace("RF: 0.0%", truth.rf_label, 1)
    page = re.sub(
        r"Periods/Year: ([0-9.]+)",
        lambda m: f"Periods/Year: {float(m.group(1)):.2f}".removesuffix(".00"),
        page,
        count=1,
    )
    # the small percent sign quantstats appends is in few fonts (a box in most browsers)
    page = page.replace("<td>CAGR﹪</td>", "<td>CAGR</td>", 1)
    page = fix_rows(page, truth)
    page = _set_div(page, "eoy_returns", eoy_figure(truth.strategy, truth.benchmark))
    page = _set_div(page, "rolling_sharpe", rolling_figure(truth))
    return re.sub(r'<div id="rolling_sortino">.*?</div>', "", page, count=1, flags=re.S)
