"""Run reports: a quantstats HTML tearsheet and one equity/drawdown PNG, drawn in-process.

quantstats is handed returns the engine already aligned: never a ticker (that downloads
from Yahoo) and never a benchmark on other dates (quantstats would back-fill it onto the
strategy's dates, booking a Monday move on Saturday). It runs with `match_dates=False`
(its default drops every leading zero-return day, which shortens a run that starts in cash
and changes CAGR and volatility) and with the run's `periods_per_year`, a float: bars per
calendar year of the window (`engine.core.metrics.periods_per_year`), so quantstats' CAGR
(bars / periods years) is the calendar CAGR of stats.json. quantstats rounds it itself where
it needs a whole number of bars (its rolling windows).

quantstats takes the risk-free rate only as one constant, while the engine pays each bar's
T-bill rate: it is called with rf=0 and `engine.reports.tearsheet_fixes` replaces every row and
figure that depends on rf, or that quantstats cannot get right, with our own.
`write_run_reports` writes a run's tearsheet (with the per-regime table) and PNG.
"""

from __future__ import annotations

import html
import inspect
import io
import numbers
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import MatplotlibDeprecationWarning
from matplotlib import style as mpl_style
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from pandas.errors import Pandas4Warning

from engine.core.metrics import drawdown, growth_of_one  # compare.py reads them here too
from engine.reports import tearsheet_fixes as fixes
from engine.reports.pages.links import TEARSHEET, with_run_page_link
from engine.reports.style import (  # PNG_STYLE, font_family: the compare page reads them here
    BENCHMARK_COLOR,
    DRAWDOWN_COLOR,
    FALLBACK_FONT,
    PNG_DPI,
    PNG_STYLE,
    STRATEGY_COLOR,
    font_family,
)

STRATEGY_NAME = "Strategy"
MIN_TEARSHEET_ROWS = 3  # quantstats' Smart Sharpe needs a lag-1 autocorrelation

# Warnings quantstats 0.0.86 triggers with pandas 3.1, matplotlib 3.11, seaborn 0.13 and
# scipy 1.17: harmless, and ignored only inside `write_tearsheet`, each by message,
# category and emitting module. The first four fire on every tearsheet; the last two only
# when a series is all zeros (e.g. a run that sat in cash with rf = 0).
_KNOWN_QUANTSTATS_WARNINGS: tuple[tuple[str, type[Warning], str], ...] = (
    (
        r"The inplace keyword in DataFrame\.rename is deprecated",
        Pandas4Warning,
        r"quantstats\.reports\Z",
    ),
    (
        r"set_ticklabels\(\) should only be used with a fixed number of ticks",
        UserWarning,
        r"quantstats\._plotting\.core\Z",
    ),
    (r"vert: bool was deprecated", MatplotlibDeprecationWarning, r"seaborn\.categorical\Z"),
    (r"The set_bad function will be deprecated", PendingDeprecationWarning, r"seaborn\.matrix\Z"),
    (
        r"No non-zero returns found for win rate calculation",
        UserWarning,
        r"quantstats\.stats\Z",
    ),
    (
        r"invalid value encountered in multiply",
        RuntimeWarning,
        r"scipy\.stats\._distn_infrastructure\Z",
    ),
)

# --- fonts and backend ----------------------------------------------------------------


def _retarget_fontname_defaults(module: ModuleType, family: str) -> None:
    """Point every `fontname="Arial"` default in a quantstats plotting module at `family`.

    quantstats passes `fontname` explicitly to titles and labels, so rcParams alone
    cannot stop it asking for Arial (one findfont warning per text element).
    """
    for func in vars(module).values():
        if not inspect.isfunction(func) or func.__module__ != module.__name__:
            continue
        code = func.__code__
        positional = code.co_varnames[: code.co_argcount]
        defaults = list(func.__defaults__ or ())
        if "fontname" in positional and defaults:
            index = positional.index("fontname") - (len(positional) - len(defaults))
            if index >= 0 and isinstance(defaults[index], str):
                defaults[index] = family
                func.__defaults__ = tuple(defaults)
        if func.__kwdefaults__ and isinstance(func.__kwdefaults__.get("fontname"), str):
            func.__kwdefaults__["fontname"] = family


def _quantstats() -> ModuleType:
    """Import quantstats lazily: it takes ~2 s and rewrites matplotlib's rcParams. (The CLI's
    entry point declines its optional notebook imports; a library user gets it whole.)"""
    import quantstats

    return quantstats


def configure_plotting() -> None:
    """Use Agg and a font that exists, for matplotlib and quantstats; safe to repeat.

    quantstats sets Arial at import (rcParams) and as a default argument, so it is
    imported first and both are overridden afterwards.
    """
    matplotlib.use("Agg")
    _quantstats()
    from quantstats._plotting import core, wrappers

    family = font_family()
    families = list(dict.fromkeys([family, FALLBACK_FONT]))  # per-glyph fallback
    matplotlib.rcParams["font.family"] = families
    matplotlib.rcParams["font.sans-serif"] = families
    for module in (core, wrappers):
        _retarget_fontname_defaults(module, family)


# --- input checks ---------------------------------------------------------------------


def _check_series(series: pd.Series, label: str, min_rows: int) -> None:
    """Reject what quantstats would silently reinterpret (prices, tz, NaN) or choke on."""
    if not isinstance(series, pd.Series):
        raise TypeError(f"{label} must be a pandas Series, got {type(series).__name__}")
    index = series.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is not None:
        raise ValueError(f"{label} needs a tz-naive DatetimeIndex")
    if len(series) < min_rows or not index.is_monotonic_increasing or not index.is_unique:
        raise ValueError(f"{label} needs at least {min_rows} unique, increasing dates")
    values = series.to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(f"{label} has a non-finite return on {index[bad.argmax()].date()}")
    if values.min() >= 0 and values.max() >= 1:
        raise ValueError(
            f"{label} looks like prices (no negative day, a day >= +100%): "
            "quantstats would convert it, pass simple returns"
        )


def _check_pair(returns: pd.Series, benchmark: pd.Series | None, min_rows: int) -> None:
    """Both series valid and on one index, so quantstats never re-samples the benchmark."""
    _check_series(returns, "returns", min_rows)
    if benchmark is None:
        return
    _check_series(benchmark, "benchmark", min_rows)
    if not returns.index.equals(benchmark.index):
        raise ValueError(
            "benchmark must share the returns' index "
            "(quantstats would back-fill it onto the strategy's dates)"
        )


def _check_rates(periods_per_year: float, rf: float) -> None:
    """A positive, finite period count (a float: bars per calendar year of the window) and a
    scalar annual rf (a Series breaks quantstats' header; per-bar rates go in `cash`)."""
    if isinstance(periods_per_year, bool) or not isinstance(periods_per_year, numbers.Real):
        raise TypeError(f"periods_per_year must be a number, got {periods_per_year!r}")
    if not (np.isfinite(periods_per_year) and periods_per_year > 0):
        raise ValueError(f"periods_per_year must be positive and finite, got {periods_per_year}")
    if isinstance(rf, bool) or not isinstance(rf, numbers.Real) or not np.isfinite(rf):
        raise TypeError(f"rf must be a finite annual rate as a float, got {rf!r}")


# --- HTML tearsheet -------------------------------------------------------------------


def escape_html_text(text: str) -> str:
    """Escape markup, and braces too: quantstats fills `{{...}}` slots after the title."""
    return html.escape(text, quote=True).replace("{", "&#123;").replace("}", "&#125;")


@contextmanager
def _quiet_known_warnings() -> Iterator[None]:
    """Ignore only the listed third-party warnings; anything new still surfaces."""
    with warnings.catch_warnings():
        for message, category, module in _KNOWN_QUANTSTATS_WARNINGS:
            warnings.filterwarnings("ignore", message, category, module)
        yield


def _benchmark_label(benchmark: pd.Series, benchmark_name: str | None) -> str:
    """The benchmark's display name: explicit, else the Series name, else 'Benchmark'."""
    if benchmark_name:
        return benchmark_name
    return str(benchmark.name) if benchmark.name is not None else "Benchmark"


def _usable_benchmark(
    strategy: pd.Series, benchmark: pd.Series | None, label: str | None
) -> tuple[pd.Series | None, dict[str, str]]:
    """The benchmark quantstats can take, plus a subtitle note when it had to be dropped.

    quantstats regresses strategy on benchmark (R^2) and scipy raises on a constant
    strategy, e.g. a run that sat in cash the whole time.
    """
    if benchmark is None or label is None:
        return None, {}
    if strategy.nunique() <= 1:
        note = f"{label} not compared (strategy returns are constant)"
        return None, {"Benchmark": escape_html_text(note)}
    return benchmark.astype(float).rename(label), {}


def _finish_html(text: str, title: str, benchmark_label: str | None) -> str:
    """Set <title>, escape what quantstats leaves raw, drop SVG timestamps (reproducible)."""
    safe_title = escape_html_text(title)
    text = re.sub(
        r"<title>.*?</title>",
        lambda _: f"<title>{safe_title}</title>",
        text,
        count=1,
        flags=re.S,
    )
    if benchmark_label is not None:  # quantstats writes it unescaped in the subtitle
        upper = benchmark_label.upper()
        text = text.replace(f"Benchmark: {upper}", f"Benchmark: {escape_html_text(upper)}", 1)
    return re.sub(r"<dc:date>[^<]*</dc:date>", "", text)


class _Tearsheet:
    """One tearsheet: quantstats' page, with the rows and figures it gets wrong made true.

    quantstats takes rf only as one constant; the engine pays each bar's T-bill rate. So
    quantstats is called with rf=0 and `engine.reports.tearsheet_fixes` rewrites what depends on the
    risk-free rate (Sharpe, Sortino, the rolling ratios) from excess returns over `cash`, and
    the rows and charts quantstats cannot get right (time in market, streaks, EOY chart).
    """

    def __init__(
        self,
        returns: pd.Series,
        benchmark: pd.Series | None,
        *,
        title: str,
        periods_per_year: float,
        rf: float = 0.0,
        cash: pd.Series | None = None,
        exposure: pd.Series | None = None,
        benchmark_name: str | None,
    ) -> None:
        _check_pair(returns, benchmark, MIN_TEARSHEET_ROWS)
        _check_rates(periods_per_year, rf)
        configure_plotting()
        self.title = title
        self.strategy = returns.astype(float).rename(STRATEGY_NAME)
        label = None if benchmark is None else _benchmark_label(benchmark, benchmark_name)
        self.bench, self.parameters = _usable_benchmark(self.strategy, benchmark, label)
        self.label = None if self.bench is None else label
        self.periods_per_year = float(periods_per_year)
        self.truth = fixes.PageTruth.build(
            self.strategy, self.bench, self.periods_per_year, rf=float(rf), cash=cash,
            exposure=exposure,
        )  # fmt: skip

    def draw(self, output: str) -> None:
        """quantstats' page, written by quantstats to `output` (rf=0: see the class)."""
        with matplotlib.rc_context({"svg.hashsalt": "playbook"}):
            _quantstats().reports.html(
                self.strategy,
                self.bench,
                rf=0.0,
                title=escape_html_text(self.title),
                output=output,
                compounded=True,
                periods_per_year=self.periods_per_year,
                match_dates=False,
                figfmt="svg",
                strategy_title=STRATEGY_NAME,
                benchmark_title=self.label,
                parameters=self.parameters,
            )

    def page(self, path: Path) -> str:
        """The finished page; quantstats writes its draft to `path`, the only file touched.
        quantstats' known warnings are quiet for both steps: its page and the rows the fixes
        redo with its functions."""
        with _quiet_known_warnings():
            self.draw(str(path))
            text = _finish_html(path.read_text(encoding="utf-8"), self.title, self.label)
            return fixes.make_true(text, self.truth)


def tearsheet_page(
    returns: pd.Series,
    benchmark: pd.Series | None,
    path: Path,
    *,
    title: str,
    periods_per_year: float,
    rf: float = 0.0,
    cash: pd.Series | None = None,
    exposure: pd.Series | None = None,
    benchmark_name: str | None = None,
) -> str:
    """The finished tearsheet HTML; quantstats' draft goes to `path` (nothing else is written).

    The risk-free rate is `cash` (each bar's cash return, as the engine paid it) when given,
    else the constant annual `rf`; `exposure` (gross risky weight per bar) gives time in
    market and which bars count as wins or losses."""
    sheet = _Tearsheet(
        returns,
        benchmark,
        title=title,
        periods_per_year=periods_per_year,
        rf=rf,
        cash=cash,
        exposure=exposure,
        benchmark_name=benchmark_name,
    )
    return sheet.page(Path(path))


def write_tearsheet(
    returns: pd.Series,
    benchmark: pd.Series | None,
    path: Path,
    *,
    title: str,
    periods_per_year: float,
    rf: float = 0.0,
    cash: pd.Series | None = None,
    exposure: pd.Series | None = None,
    benchmark_name: str | None = None,
) -> Path:
    """Write the quantstats HTML tearsheet to `path` (and nowhere else); return `path`.

    `returns`/`benchmark` are simple returns on one tz-naive index; see `tearsheet_page`.
    """
    path = Path(path)
    page = tearsheet_page(
        returns,
        benchmark,
        path,
        title=title,
        periods_per_year=periods_per_year,
        rf=rf,
        cash=cash,
        exposure=exposure,
        benchmark_name=benchmark_name,
    )
    path.write_text(page, "utf-8")
    return path


# --- equity / drawdown PNG ------------------------------------------------------------


def _literal(text: str) -> str:
    """Stop matplotlib reading a pair of `$` in a label as mathtext."""
    return text.replace("$", r"\$")


def _plot_equity(
    ax: Axes,
    returns: pd.Series,
    benchmark: pd.Series | None,
    benchmark_name: str,
    decisions: pd.DatetimeIndex | None = None,
) -> None:
    """Top panel: growth of 1 on a log scale (a 130x run stays readable), strategy drawn over
    the benchmark, each decision in the window marked on the strategy's curve."""
    if benchmark is not None:
        ax.plot(
            benchmark.index,
            growth_of_one(benchmark),
            color=BENCHMARK_COLOR,
            label=_literal(benchmark_name),
        )
    wealth = growth_of_one(returns)
    ax.plot(returns.index, wealth, color=STRATEGY_COLOR, label=STRATEGY_NAME)
    if decisions is not None:
        inside = decisions[(decisions >= returns.index[0]) & (decisions <= returns.index[-1])]
        at = wealth.iloc[np.maximum(returns.index.searchsorted(inside, side="right") - 1, 0)]
        ax.plot(inside, at.to_numpy(), "v", color="black", markersize=5, label="decision")
    ax.axhline(1.0, color="black", linewidth=0.6)
    ax.set_yscale("log")
    ax.set_ylabel("Growth of 1 (log)")
    ax.legend(loc="upper left", frameon=False, reverse=True)


def _plot_drawdown(ax: Axes, returns: pd.Series, benchmark: pd.Series | None) -> None:
    """Bottom panel: strategy drawdown filled, benchmark drawdown as a thin line, in %."""
    if benchmark is not None:
        ax.plot(benchmark.index, drawdown(benchmark) * 100.0, color=BENCHMARK_COLOR, lw=0.7)
    dd = drawdown(returns) * 100.0
    ax.fill_between(dd.index, dd.to_numpy(), 0.0, color=DRAWDOWN_COLOR, alpha=0.35, lw=0)
    ax.plot(dd.index, dd, color=DRAWDOWN_COLOR, linewidth=0.9)
    ax.set_ylabel("Drawdown %")


def equity_drawdown_png(
    returns: pd.Series,
    benchmark: pd.Series | None,
    *,
    title: str,
    benchmark_name: str | None = None,
    decisions: pd.DatetimeIndex | None = None,
) -> bytes:
    """One PNG (equity curve over drawdown), as bytes; byte-identical on rerun."""
    _check_pair(returns, benchmark, min_rows=1)
    configure_plotting()
    label = "" if benchmark is None else _benchmark_label(benchmark, benchmark_name)
    style = {**PNG_STYLE, "font.family": matplotlib.rcParams["font.family"]}
    out = io.BytesIO()
    with mpl_style.context(["default", style]):
        fig = Figure(figsize=(10, 6.5), dpi=PNG_DPI, layout="constrained")
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[2, 1])
        _plot_equity(top, returns, benchmark, label, decisions)
        _plot_drawdown(bottom, returns, benchmark)
        fig.suptitle(_literal(title), fontweight="bold")
        fig.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def write_equity_drawdown_png(
    returns: pd.Series,
    benchmark: pd.Series | None,
    path: Path,
    *,
    title: str,
    benchmark_name: str | None = None,
) -> Path:
    """Write one PNG (equity curve over drawdown) to `path`; byte-identical on rerun."""
    image = equity_drawdown_png(returns, benchmark, title=title, benchmark_name=benchmark_name)
    path = Path(path)
    path.write_bytes(image)
    return path


# --- per-regime section --------------------------------------------------------------


def regime_table_html(table: pd.DataFrame, benchmark_name: str | None) -> str:
    """The per-regime table as escaped HTML; regimes outside the run say so, not 0%."""
    bench = escape_html_text(benchmark_name or "benchmark")
    head = (
        "<tr><th>regime</th><th>window</th><th>coverage</th><th>return</th>"
        f"<th>max drawdown</th><th>volatility</th><th>{bench} return</th></tr>"
    )
    rows = []
    for row in table.to_dict("records"):
        numbers = [
            _percent(row[key], covered=row["coverage"] != "none")
            for key in ("return", "max_drawdown", "volatility", "benchmark_return")
        ]
        cells = [
            f'<td title="{escape_html_text(row["description"])}">'
            f"{escape_html_text(row['regime'])}</td>",
            f"<td>{row['start']} to {row['end']}</td>",
            f"<td>{escape_html_text(row['coverage'])}</td>",
            *[f"<td>{n}</td>" for n in numbers],
        ]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (
        '<div id="regimes" class="playbook-regimes"><h3>Per regime</h3>'
        "<p>Return, max drawdown and volatility inside each named regime (peak close to "
        "trough close); regimes outside the run are marked not covered.</p>"
        f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def with_regime_section(page: str, table: pd.DataFrame, benchmark_name: str | None) -> str:
    """The tearsheet HTML with the per-regime table inside its body, below the header.

    Never before `<head>`: the charset declaration must come first for browsers to see it."""
    section = regime_table_html(table, benchmark_name)
    match = re.search(r"<body[^>]*>", page)
    if match is None:
        raise ValueError("the tearsheet has no <body> to put the regime table in")
    header = page.find("<hr>", match.end())
    position = header + len("<hr>") if header > 0 else match.end()
    return page[:position] + section + page[position:]


def add_regime_section(path: Path, table: pd.DataFrame, benchmark_name: str | None) -> Path:
    """Insert the per-regime table at the top of a written tearsheet's body."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    path.write_text(with_regime_section(text, table, benchmark_name), encoding="utf-8")
    return path


def _percent(value: object, covered: bool) -> str:
    if not covered:
        return "not covered"
    number = float(value)  # type: ignore[arg-type]
    return "n/a" if np.isnan(number) else f"{number:+.1%}"


# --- a run's reports ------------------------------------------------------------------


@dataclass(frozen=True)
class ReportInputs:
    """Everything a run's reports are drawn from (a run in memory or a run folder's files)."""

    returns: pd.Series
    benchmark: pd.Series | None
    cash: pd.Series  # what idle cash earned per bar: the risk-free rate
    exposure: pd.Series  # gross risky weight per bar: time in market
    title: str
    periods_per_year: float  # bars per calendar year of the window, as in stats.json
    benchmark_name: str | None
    regimes: pd.DataFrame | None = None
    decisions: pd.DatetimeIndex | None = None  # decision bars, marked on equity.png


def write_run_reports(folder: Path, inputs: ReportInputs) -> None:
    """A run's tearsheet.html (with the per-regime table) and equity.png, into `folder`."""
    folder = Path(folder)
    page = tearsheet_page(
        inputs.returns,
        inputs.benchmark,
        folder / TEARSHEET,
        title=inputs.title,
        periods_per_year=inputs.periods_per_year,
        cash=inputs.cash,
        exposure=inputs.exposure,
        benchmark_name=inputs.benchmark_name,
    )
    if inputs.regimes is not None and not inputs.regimes.empty:
        page = with_regime_section(page, inputs.regimes, inputs.benchmark_name)
    page = with_run_page_link(page)  # engine.reports.pages: run.html sits beside the tearsheet
    (folder / TEARSHEET).write_text(page, "utf-8")
    png = equity_drawdown_png(
        inputs.returns,
        inputs.benchmark,
        title=inputs.title,
        benchmark_name=inputs.benchmark_name,
        decisions=inputs.decisions,
    )
    (folder / "equity.png").write_bytes(png)
