"""Run reports: a quantstats HTML tearsheet and one equity/drawdown PNG.

quantstats is handed returns the engine already aligned: never a ticker (that downloads
from Yahoo) and never a benchmark on other dates (quantstats would back-fill it onto the
strategy's dates, booking a Monday move on Saturday). It runs with `match_dates=False`
(its default drops every leading zero-return day, which shortens a run that starts in cash
and changes CAGR and volatility) and with the run's `periods_per_year` (365 on a 7-day
crypto calendar, 252 for equities), which quantstats uses for CAGR, volatility, Sharpe,
Sortino, the de-annualized rf and its rolling windows.

`write_run_reports` writes a run's tearsheet (with the per-regime table) and PNG. `serve` is
the report process `engine.workflow.ReportProcess` starts at the beginning of `playbook run`:
it imports quantstats and matplotlib while the parent loads data and simulates, and draws the
pages when handed the returns, splitting the tearsheet's figures with a forked helper on a
second core. Every path draws each figure with the same quantstats call and arguments, so the
page is byte-identical whichever process drew what.
"""

from __future__ import annotations

import functools
import gc
import html
import inspect
import io
import numbers
import os
import re
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import MatplotlibDeprecationWarning, font_manager
from matplotlib import style as mpl_style
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from pandas.errors import Pandas4Warning

PREFERRED_FONT = "Liberation Sans"  # metric-compatible with Arial (Debian: fonts-liberation)
FALLBACK_FONT = "DejaVu Sans"  # bundled with matplotlib, so it always exists
_FONT_FILE_PREFIX = {PREFERRED_FONT: "LiberationSans-"}

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

# One fixed look for the PNGs (here and the compare page's), whatever seaborn/quantstats did
# to the global rcParams.
PNG_STYLE = {
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.4,
}
_STRATEGY_COLOR = "#348dc1"
_BENCHMARK_COLOR = "#808080"
_DRAWDOWN_COLOR = "#af4b64"


# --- fonts and backend ----------------------------------------------------------------


def choose_font_family(available: Collection[str]) -> str:
    """Prefer Liberation Sans: it has Arial's metrics, so quantstats' layout holds."""
    return PREFERRED_FONT if PREFERRED_FONT in available else FALLBACK_FONT


def _installed_families() -> set[str]:
    """Families matplotlib knows, read from its font list (findfont would log warnings)."""
    return {entry.name for entry in font_manager.fontManager.ttflist}


def _register_system_font(family: str) -> None:
    """Add a font installed after matplotlib cached its font list (apt after pip)."""
    prefix = _FONT_FILE_PREFIX.get(family)
    if prefix is None:
        return
    for path in sorted(font_manager.findSystemFonts(fontext="ttf")):
        if Path(path).name.startswith(prefix):
            font_manager.fontManager.addfont(path)


@cache
def font_family() -> str:
    """The family all report text uses; resolved once per process."""
    if PREFERRED_FONT not in _installed_families():
        _register_system_font(PREFERRED_FONT)
    return choose_font_family(_installed_families())


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
    """Import quantstats lazily: it takes ~2 s and rewrites matplotlib's rcParams. Its
    notebook display (IPython) and seaborn's notebook widgets (ipywidgets) are declined:
    optional to both, unused here, ~0.7 s (`engine.optional_imports`)."""
    from engine.optional_imports import declined

    with declined("IPython", "ipywidgets"):
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


def _check_rates(periods_per_year: int, rf: float) -> None:
    """quantstats needs a period count and a scalar annual rf (a Series breaks its header)."""
    if isinstance(periods_per_year, bool) or not isinstance(periods_per_year, numbers.Integral):
        raise TypeError(f"periods_per_year must be an int, got {periods_per_year!r}")
    if periods_per_year <= 0:
        raise ValueError(f"periods_per_year must be positive, got {periods_per_year}")
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


@contextmanager
def _no_redraw_after_save() -> Iterator[None]:
    """Skip the Agg render `pyplot.savefig` does after saving, for a window nobody has.

    quantstats saves each figure through `pyplot.savefig`, which then calls
    `canvas.draw_idle()` to refresh an interactive window; on Agg that is a complete raster
    render of a figure that is closed on the next line (about a sixth of the tearsheet's
    time). The SVG is written before it, so the page is the same byte for byte.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    own = "draw_idle" in vars(FigureCanvasAgg)
    original = FigureCanvasAgg.draw_idle
    FigureCanvasAgg.draw_idle = lambda self, *args, **kwargs: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        if own:
            FigureCanvasAgg.draw_idle = original  # type: ignore[method-assign]
        else:
            del FigureCanvasAgg.draw_idle


class _Tearsheet:
    """One tearsheet's quantstats call, drawn whole or with a helper drawing some figures."""

    def __init__(
        self,
        returns: pd.Series,
        benchmark: pd.Series | None,
        *,
        title: str,
        periods_per_year: int,
        rf: float,
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
        self.rf = float(rf)
        self.periods_per_year = int(periods_per_year)

    def draw(self, output: str) -> None:
        """quantstats' page, written by quantstats to `output`."""
        with (
            _quiet_known_warnings(),
            matplotlib.rc_context({"svg.hashsalt": "playbook"}),
            _no_redraw_after_save(),
        ):
            _quantstats().reports.html(
                self.strategy,
                self.bench,
                rf=self.rf,
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

    def page(self, path: Path, helper: _FigureHelper | None = None) -> str:
        """The finished page; quantstats writes its draft to `path`, the only file touched.

        With a helper, the figures in `HELPER_FIGURES` are left as slots here and filled with
        the helper's drawings of them; if the helper fails, they are drawn here after all.
        """
        if helper is not None:
            with _route_figures(lambda name: name not in HELPER_FIGURES) as calls:
                self.draw(str(path))
            text = helper.fill(path.read_text(encoding="utf-8"), calls)
            if text is not None:
                return _finish_html(text, self.title, self.label)
        self.draw(str(path))
        return _finish_html(path.read_text(encoding="utf-8"), self.title, self.label)

    def helper_figures(self) -> tuple[list[str], dict[int, bytes]]:
        """The helper's half: the `HELPER_FIGURES` of the same call, and its call sequence."""
        drawn: dict[int, bytes] = {}
        with (
            _route_figures(lambda name: name in HELPER_FIGURES, drawn) as calls,
            _without_metrics_table(),
        ):
            self.draw(os.devnull)
        return calls, drawn


def tearsheet_page(
    returns: pd.Series,
    benchmark: pd.Series | None,
    path: Path,
    *,
    title: str,
    periods_per_year: int,
    rf: float,
    benchmark_name: str | None = None,
) -> str:
    """The finished tearsheet HTML; quantstats' draft goes to `path` (nothing else is written)."""
    sheet = _Tearsheet(
        returns,
        benchmark,
        title=title,
        periods_per_year=periods_per_year,
        rf=rf,
        benchmark_name=benchmark_name,
    )
    return sheet.page(Path(path))


def write_tearsheet(
    returns: pd.Series,
    benchmark: pd.Series | None,
    path: Path,
    *,
    title: str,
    periods_per_year: int,
    rf: float,
    benchmark_name: str | None = None,
) -> Path:
    """Write the quantstats HTML tearsheet to `path` (and nowhere else); return `path`.

    `returns`/`benchmark` are simple returns on one tz-naive index; `rf` is annual.
    """
    path = Path(path)
    page = tearsheet_page(
        returns,
        benchmark,
        path,
        title=title,
        periods_per_year=periods_per_year,
        rf=rf,
        benchmark_name=benchmark_name,
    )
    path.write_text(page, "utf-8")
    return path


# --- equity / drawdown PNG ------------------------------------------------------------


def _literal(text: str) -> str:
    """Stop matplotlib reading a pair of `$` in a label as mathtext."""
    return text.replace("$", r"\$")


def growth_of_one(returns: pd.Series) -> pd.Series:
    """Compounded wealth, 1 on the day before the first return."""
    return (1.0 + returns.astype(float)).cumprod()


def drawdown(returns: pd.Series) -> pd.Series:
    """Fraction below the running peak of growth-of-1, the starting 1 counting as a peak."""
    wealth = growth_of_one(returns)
    return wealth / np.maximum(wealth.cummax(), 1.0) - 1.0


def _plot_equity(
    ax: Axes, returns: pd.Series, benchmark: pd.Series | None, benchmark_name: str
) -> None:
    """Top panel: growth of 1, strategy drawn over the benchmark."""
    if benchmark is not None:
        ax.plot(
            benchmark.index,
            growth_of_one(benchmark),
            color=_BENCHMARK_COLOR,
            label=_literal(benchmark_name),
        )
    ax.plot(returns.index, growth_of_one(returns), color=_STRATEGY_COLOR, label=STRATEGY_NAME)
    ax.axhline(1.0, color="black", linewidth=0.6)
    ax.set_ylabel("Growth of 1")
    ax.legend(loc="upper left", frameon=False, reverse=True)


def _plot_drawdown(ax: Axes, returns: pd.Series, benchmark: pd.Series | None) -> None:
    """Bottom panel: strategy drawdown filled, benchmark drawdown as a thin line, in %."""
    if benchmark is not None:
        ax.plot(benchmark.index, drawdown(benchmark) * 100.0, color=_BENCHMARK_COLOR, lw=0.7)
    dd = drawdown(returns) * 100.0
    ax.fill_between(dd.index, dd.to_numpy(), 0.0, color=_DRAWDOWN_COLOR, alpha=0.35, lw=0)
    ax.plot(dd.index, dd, color=_DRAWDOWN_COLOR, linewidth=0.9)
    ax.set_ylabel("Drawdown %")


def equity_drawdown_png(
    returns: pd.Series,
    benchmark: pd.Series | None,
    *,
    title: str,
    benchmark_name: str | None = None,
) -> bytes:
    """One PNG (equity curve over drawdown), as bytes; byte-identical on rerun."""
    _check_pair(returns, benchmark, min_rows=1)
    configure_plotting()
    label = "" if benchmark is None else _benchmark_label(benchmark, benchmark_name)
    style = {**PNG_STYLE, "font.family": matplotlib.rcParams["font.family"]}
    out = io.BytesIO()
    with mpl_style.context(["default", style]):
        fig = Figure(figsize=(10, 6.5), dpi=100, layout="constrained")
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[2, 1])
        _plot_equity(top, returns, benchmark, label)
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
    """The tearsheet HTML with the per-regime table at the top of its body."""
    section = regime_table_html(table, benchmark_name)
    marker = "<body>"
    at = page.find(marker)
    if at < 0:
        return section + page
    insert = page.find("</h4>", at)
    position = insert + len("</h4>") if insert > 0 else at + len(marker)
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


# --- a run's reports, with a second process ------------------------------------------

# The quantstats.plots functions `reports.html` calls, each drawing one figure of the page
# into the BytesIO its `savefig` names.
_PAGE_FIGURES = (
    "returns",
    "log_returns",
    "yearly_returns",
    "histogram",
    "daily_returns",
    "rolling_beta",
    "rolling_volatility",
    "rolling_sharpe",
    "rolling_sortino",
    "drawdowns_periods",
    "drawdown",
    "monthly_heatmap",
    "distribution",
)
# The figures a helper draws: about half the drawing, measured per figure on the 60-40 run,
# since the main process also computes quantstats' metrics table.
HELPER_FIGURES = frozenset(
    {"histogram", "monthly_heatmap", "rolling_beta", "distribution", "drawdowns_periods"}
)
HELPER_TIMEOUT_S = 600.0
_SLOT = "<!--playbook-figure-"


def _figure_slot(index: int) -> str:
    return f"{_SLOT}{index}-->"


@contextmanager
def _route_figures(
    draw_here: Callable[[str], bool], drawn: dict[int, bytes] | None = None
) -> Iterator[list[str]]:
    """Within: the page's figure calls draw only where `draw_here(name)`, else leave a slot.

    Yields the names of the page's figure calls in call order; each figure drawn is kept in
    `drawn` by its call index, as the SVG bytes quantstats embeds.
    """
    plots = _quantstats().plots
    calls: list[str] = []
    originals = {
        name: getattr(plots, name) for name in _PAGE_FIGURES if callable(getattr(plots, name, None))
    }

    def routed(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def call(*args: Any, **kwargs: Any) -> Any:
            savefig = kwargs.get("savefig")
            target = savefig.get("fname") if isinstance(savefig, dict) else None
            if not isinstance(target, io.BytesIO):  # not one of the page's figures
                return func(*args, **kwargs)
            index = len(calls)
            calls.append(name)
            if not draw_here(name):
                target.write(_figure_slot(index).encode())
                return None
            result = func(*args, **kwargs)
            if drawn is not None:
                drawn[index] = target.getvalue()
            return result

        return call

    for name, func in originals.items():
        setattr(plots, name, routed(name, func))
    try:
        yield calls
    finally:
        for name, func in originals.items():
            setattr(plots, name, func)


@contextmanager
def _without_metrics_table() -> Iterator[None]:
    """The helper's quantstats call skips the metrics table: the main process computes it."""
    reports = _quantstats().reports
    original = reports.metrics
    reports.metrics = lambda *args, **kwargs: pd.DataFrame({"": ["", "", ""]})
    try:
        yield
    finally:
        reports.metrics = original


def _can_fork() -> bool:
    """Forking is worth it and safe: POSIX, a second core, no other thread holding a lock."""
    if not hasattr(os, "fork") or threading.active_count() != 1:
        return False
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (cores or 1) >= 2


class _FigureHelper:
    """A forked copy of this process, drawing the `HELPER_FIGURES` and the PNG meanwhile.

    It writes no file: its drawings come back through a pipe. It dies with this process
    (PR_SET_PDEATHSIG on Linux) and is killed and reaped by `close`, so it never outlives
    the run; if it fails, `fill` says so and the main process draws everything itself.
    """

    def __init__(self, pid: int, fd: int) -> None:
        self.pid: int | None = pid
        self.fd: int | None = fd
        self._reply: dict[str, Any] | None = None
        self._read = False

    @classmethod
    def fork(
        cls, work: Callable[[], tuple[list[str], dict[int, bytes], bytes]]
    ) -> _FigureHelper | None:
        """Run `work` in a forked child; None where forking is unavailable or unsafe."""
        if not _can_fork():
            return None
        parent = os.getpid()
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the helper: never returns
            os.close(read)
            _helper_main(parent, write, work)
        os.close(write)
        return cls(pid, read)

    def reply(self) -> dict[str, Any] | None:
        """The helper's drawings (waits for them), or None if it failed or timed out."""
        if not self._read:
            self._read = True
            from engine.workflow import read_until_eof, reissue_warnings, unpack

            assert self.fd is not None
            data = read_until_eof(self.fd, HELPER_TIMEOUT_S)
            self.close()
            try:
                meta, blobs = unpack(data) if data else ({}, {})
            except ValueError:
                meta, blobs = {}, {}
            if "calls" in meta:
                reissue_warnings(meta["warnings"])
                figures = {int(i): blobs[f"figure-{i}"] for i in meta["figures"]}
                self._reply = {"calls": meta["calls"], "figures": figures, "png": blobs.get("png")}
        return self._reply

    def fill(self, draft: str, calls: list[str]) -> str | None:
        """`draft` with the helper's figures in their slots, or None if they do not fit.

        They fit when the helper made the same figure calls, drew exactly the slots left
        here, and neither side holds the `{{...}}` markers quantstats substitutes after
        embedding a figure (so embedding later gives the same page).
        """
        reply = self.reply()
        if reply is None or reply["calls"] != calls or "{{" in draft:
            return None
        figures: dict[int, bytes] = reply["figures"]
        if set(figures) != {i for i, name in enumerate(calls) if name in HELPER_FIGURES}:
            return None
        for index, svg in sorted(figures.items()):
            figure = svg.decode()
            slot = _figure_slot(index)
            if "{{" in figure or "}}" in figure or _SLOT in figure or draft.count(slot) != 1:
                return None
            draft = draft.replace(slot, figure.replace("white-space:pre;", ""))  # as quantstats
        return draft

    def png(self) -> bytes | None:
        reply = self.reply()
        image = None if reply is None else reply.get("png")
        return image if isinstance(image, bytes) else None

    def close(self) -> None:
        """Kill the helper if it still runs, reap it, close the pipe."""
        if self.pid is not None:
            pid, self.pid = self.pid, None
            try:
                if os.waitpid(pid, os.WNOHANG) == (0, 0):
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        if self.fd is not None:
            fd, self.fd = self.fd, None
            os.close(fd)


def _helper_main(
    parent: int, fd: int, work: Callable[[], tuple[list[str], dict[int, bytes], bytes]]
) -> None:
    """The forked helper: do `work`, send the result, exit without running any cleanup."""
    code = 1
    try:
        from engine.workflow import die_with_parent, pack, warning_record

        die_with_parent(parent)
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)  # the parent's reply pipe stays the parent's
        with warnings.catch_warnings(record=True) as caught:
            calls, figures, png = work()
        blobs = {f"figure-{i}": svg for i, svg in figures.items()} | {"png": png}
        meta = {
            "calls": calls,
            "figures": list(figures),
            "warnings": [warning_record(w) for w in caught],
        }
        data = pack(meta, blobs)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        code = 0
    finally:
        os._exit(code)


def write_run_reports(
    folder: Path,
    returns: pd.Series,
    benchmark: pd.Series | None,
    *,
    title: str,
    periods_per_year: int,
    rf: float,
    benchmark_name: str | None,
    regimes: pd.DataFrame | None = None,
    workers: int = 1,
) -> None:
    """A run's tearsheet.html (with the per-regime table) and equity.png, into `folder`.

    With `workers=2` a forked helper (where forking is safe) draws `HELPER_FIGURES` and the
    PNG while this process computes the metrics and draws the other figures: the same bytes
    on two cores in about 60% of the time.
    """
    folder = Path(folder)
    sheet = _Tearsheet(
        returns,
        benchmark,
        title=title,
        periods_per_year=periods_per_year,
        rf=rf,
        benchmark_name=benchmark_name,
    )

    def png() -> bytes:
        return equity_drawdown_png(returns, benchmark, title=title, benchmark_name=benchmark_name)

    def helper_work() -> tuple[list[str], dict[int, bytes], bytes]:
        calls, figures = sheet.helper_figures()
        return calls, figures, png()

    helper = _FigureHelper.fork(helper_work) if workers > 1 else None
    try:
        page = sheet.page(folder / "tearsheet.html", helper)
        if regimes is not None and not regimes.empty:
            page = with_regime_section(page, regimes, benchmark_name)
        (folder / "tearsheet.html").write_text(page, "utf-8")
        image = None if helper is None else helper.png()
        (folder / "equity.png").write_bytes(image if image is not None else png())
    finally:
        if helper is not None:
            helper.close()


def serve() -> None:
    """Main of the report process `engine.workflow.ReportProcess` starts; never returns.

    Imports quantstats and matplotlib at once, then waits on stdin for one job (the keyword
    arguments of `write_run_reports`, `engine.workflow.encode_job`), writes the pages into
    the job's folder and answers on stdout with one message (`engine.workflow.pack`): ok or
    the error, and the warnings raised. It prints nothing and exits without cleanup
    (nothing of its own is left open).
    """
    from engine.workflow import decode_job, describe_error, pack, read_until_eof, warning_record

    configure_plotting()
    import matplotlib.backends.backend_svg  # noqa: F401  (first used by the first figure)
    import pyarrow.parquet  # noqa: F401  (the job's series come as parquet)

    gc.freeze()  # the imports are here to stay: later collections (and the fork) skip them
    data = read_until_eof(sys.stdin.fileno(), None)
    if not data:  # the parent gave up before the pages (it failed, or was interrupted)
        os._exit(0)
    with warnings.catch_warnings(record=True) as caught:
        try:
            write_run_reports(**decode_job(data), workers=2)
            reply: dict[str, Any] = {"ok": True}
        except BaseException as exc:
            reply = {"ok": False, "error": describe_error(exc)}
    reply["warnings"] = [warning_record(w) for w in caught]
    out = sys.stdout.buffer
    out.write(pack(reply))
    out.flush()
    os._exit(0)
