"""engine.reports.tearsheet: tearsheet content matches hand-computed numbers, escaping, fonts,
PNG."""

from __future__ import annotations

import html
import inspect
import logging
import re
import struct
import warnings
from html.parser import HTMLParser
from pathlib import Path

import matplotlib
import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from matplotlib import font_manager
from matplotlib.font_manager import FontProperties

from engine.reports import style
from engine.reports import tearsheet as report
from engine.reports.pages.links import with_run_page_link

TITLE = "SYNTHETIC hayes-pivot vs BTC"
BENCH = "BTC-USD"
DAYS = 3 * 365  # 2021-01-01 .. 2023-12-31, a 7-day calendar with no leap day
WARMUP = 14  # leading days in cash at exactly 0: quantstats' match_dates would drop them
HOSTILE_TITLE = 'SYNTHETIC <script>alert("x")</script> & {{metrics}}'
HOSTILE_NAME = "<b>S&P</b>"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _synthetic(days: int = DAYS, seed: int = 7) -> tuple[pd.Series, pd.Series]:
    """Seeded strategy/benchmark daily returns on one 7-day index."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2021-01-01", periods=days, freq="D")
    strategy = pd.Series(rng.normal(0.0012, 0.025, days), index=index)
    strategy.iloc[:WARMUP] = 0.0
    benchmark = pd.Series(rng.normal(0.0008, 0.035, days), index=index, name="ignored")
    return strategy, benchmark


def _metric(text: str, name: str) -> tuple[str, ...]:
    """Cells of one row of the Key Performance Metrics table (benchmark column first)."""
    match = re.search(rf"<tr><td>{re.escape(name)}</td>((?:<td>[^<]*</td>)+)</tr>", text)
    assert match, f"metric row {name!r} not found"
    return tuple(re.findall(r"<td>([^<]*)</td>", match.group(1)))


def _pct(cell: str) -> float:
    """'-12.34%' -> -12.34, as quantstats prints percentages."""
    return float(cell.rstrip("%").replace(",", ""))


def _assert_shown(cell: str, expected_pct: float) -> None:
    """The printed value equals the hand-computed one to the 2 decimals shown."""
    assert abs(_pct(cell) - expected_pct) <= 0.005 + 1e-9, (cell, expected_pct)


class _TextOf(HTMLParser):
    """Collects the text of the first element with a given tag (entities decoded)."""

    def __init__(self, tag: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tag, self.depth, self.done, self.parts = tag, 0, False, []

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag == self.tag and not self.done:
            self.depth += 1
        elif self.depth and tag == "dt":  # the date range inside <h1>
            self.done = True

    def handle_endtag(self, tag: str) -> None:
        if tag == self.tag and self.depth:
            self.depth, self.done = 0, True

    def handle_data(self, data: str) -> None:
        if self.depth and not self.done:
            self.parts.append(data)


def _text_of(page: str, tag: str) -> str:
    parser = _TextOf(tag)
    parser.feed(page)
    return "".join(parser.parts).strip()


@pytest.fixture(scope="module")
def series() -> tuple[pd.Series, pd.Series]:
    return _synthetic()


@pytest.fixture(scope="module")
def tearsheet_365(tmp_path_factory, series) -> Path:
    strategy, benchmark = series
    out = tmp_path_factory.mktemp("ts365") / "tearsheet.html"
    written = report.write_tearsheet(
        strategy,
        benchmark,
        out,
        title=TITLE,
        periods_per_year=365,
        rf=0.02,
        benchmark_name=BENCH,
    )
    assert written == out
    return out


def _write_small(path: Path) -> Path:
    """A 120-day tearsheet with a hostile title and benchmark name."""
    strategy, benchmark = _synthetic(days=120)
    return report.write_tearsheet(
        strategy,
        benchmark,
        path,
        title=HOSTILE_TITLE,
        periods_per_year=365,
        rf=0.02,
        benchmark_name=HOSTILE_NAME,
    )


@pytest.fixture(scope="module")
def small_tearsheet(tmp_path_factory) -> Path:
    return _write_small(tmp_path_factory.mktemp("small") / "small.html")


# --- HTML content -----------------------------------------------------------------------


def test_tearsheet_written_only_to_path(tearsheet_365):
    assert [p.name for p in tearsheet_365.parent.iterdir()] == ["tearsheet.html"]
    assert tearsheet_365.stat().st_size > 10_000


def test_inputs_are_not_mutated(tearsheet_365, series):
    strategy, benchmark = series
    fresh_strategy, fresh_benchmark = _synthetic()
    pd.testing.assert_series_equal(strategy, fresh_strategy)
    pd.testing.assert_series_equal(benchmark, fresh_benchmark)  # name "ignored" kept


def test_tearsheet_has_title_and_benchmark_name(tearsheet_365):
    page = tearsheet_365.read_text(encoding="utf-8")
    assert _text_of(page, "title") == TITLE
    assert _text_of(page, "h1") == f"{TITLE} (Compounded)"
    assert f"<th>Metric</th><th>{BENCH}</th><th>Strategy</th>" in page
    assert f"Benchmark: {BENCH.upper()}" in page
    assert "Periods/Year: 365" in page
    assert "RF: 2.0%" in page


def test_tearsheet_numbers_match_hand_computation(tearsheet_365, series):
    strategy, benchmark = series
    page = tearsheet_365.read_text(encoding="utf-8")
    # the leading zero days were kept: the full date range is reported
    assert "1 Jan, 2021 - 31 Dec, 2023" in page
    for column, r in enumerate((benchmark, strategy)):
        total = float(np.prod(1.0 + r.to_numpy()) - 1.0)
        cagr = (1.0 + total) ** (365 / len(r)) - 1.0  # 1095 days on a 7-day calendar = 3 y
        vol = float(r.std(ddof=1)) * np.sqrt(365)
        _assert_shown(_metric(page, "Cumulative Return")[column], total * 100)
        _assert_shown(_metric(page, "CAGR")[column], cagr * 100)
        _assert_shown(_metric(page, "Volatility (ann.)")[column], vol * 100)


def test_periods_per_year_reaches_quantstats(tmp_path, series, tearsheet_365):
    strategy, benchmark = series
    out = report.write_tearsheet(
        strategy,
        benchmark,
        tmp_path / "t252.html",
        title=TITLE,
        periods_per_year=252,
        rf=0.02,
        benchmark_name=BENCH,
    )
    vol_365 = _metric(tearsheet_365.read_text(encoding="utf-8"), "Volatility (ann.)")[1]
    page_252 = out.read_text(encoding="utf-8")
    vol_252 = _metric(page_252, "Volatility (ann.)")[1]
    assert vol_252 != vol_365
    _assert_shown(vol_252, float(strategy.std(ddof=1)) * np.sqrt(252) * 100)
    assert "Periods/Year: 252" in page_252


def test_title_and_benchmark_name_are_escaped(small_tearsheet):
    page = small_tearsheet.read_text(encoding="utf-8")
    assert "<script>" not in page and "<b>" not in page
    assert _text_of(page, "title") == HOSTILE_TITLE
    assert _text_of(page, "h1") == f"{HOSTILE_TITLE} (Compounded)"
    assert f"<th>{html.escape(HOSTILE_NAME)}</th>" in page
    assert f"Benchmark: {html.escape(HOSTILE_NAME.upper())} &bull;" in page


def test_constant_strategy_is_reported_without_benchmark(tmp_path):
    strategy, benchmark = _synthetic(days=60)
    cash = pd.Series(0.0, index=strategy.index)  # sat in cash, rf = 0: scipy would raise
    page = report.write_tearsheet(
        cash,
        benchmark,
        tmp_path / "t.html",
        title=TITLE,
        periods_per_year=365,
        rf=0.0,
        benchmark_name=BENCH,
    ).read_text(encoding="utf-8")
    assert f"{BENCH} not compared (strategy returns are constant)" in page
    assert _metric(page, "Cumulative Return") == ("0.0%",)


# --- input checks (fail before quantstats runs) -------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda r, b: (r, b.iloc[1:]), ValueError),  # would be back-filled by quantstats
        (lambda r, b: (r, "BTC-USD"), TypeError),  # a ticker would download from Yahoo
        (lambda r, b: (r.where(r.index != r.index[5]), b), ValueError),  # NaN
        (lambda r, b: (r.tz_localize("UTC"), b.tz_localize("UTC")), ValueError),
        (lambda r, b: ((1 + r.abs()).cumprod(), None), ValueError),  # prices, not returns
        (lambda r, b: (r.iloc[:2], b.iloc[:2]), ValueError),  # too short for quantstats
    ],
)
def test_bad_inputs_are_rejected(tmp_path, mutate, error):
    returns, benchmark = mutate(*_synthetic(days=30))
    with pytest.raises(error):
        report.write_tearsheet(
            returns, benchmark, tmp_path / "t.html", title=TITLE, periods_per_year=365, rf=0.0
        )
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("periods_per_year", "rf", "error"),
    [
        ("365", 0.0, TypeError),
        (True, 0.0, TypeError),
        (0, 0.0, ValueError),
        (-252.5, 0.0, ValueError),
        (float("inf"), 0.0, ValueError),
        (365, pd.Series([0.02]), TypeError),
    ],
)
def test_bad_rates_are_rejected(tmp_path, periods_per_year, rf, error):
    strategy, benchmark = _synthetic(days=30)
    with pytest.raises(error):
        report.write_tearsheet(
            strategy,
            benchmark,
            tmp_path / "t.html",
            title=TITLE,
            periods_per_year=periods_per_year,
            rf=rf,
        )


# --- fonts --------------------------------------------------------------------------------


def test_choose_font_family_prefers_liberation_then_dejavu():
    assert style.choose_font_family({"DejaVu Sans", "Liberation Sans"}) == "Liberation Sans"
    assert style.choose_font_family({"DejaVu Sans"}) == "DejaVu Sans"
    assert style.choose_font_family(set()) == "DejaVu Sans"  # bundled with matplotlib


def test_configure_plotting_is_idempotent_and_retargets_quantstats():
    report.configure_plotting()
    report.configure_plotting()
    family = report.font_family()
    assert family in {f.name for f in font_manager.fontManager.ttflist}
    assert matplotlib.get_backend().lower() == "agg"
    assert matplotlib.rcParams["font.family"][0] == family
    from quantstats._plotting import core, wrappers

    for func in (wrappers.returns, wrappers.snapshot, core.plot_timeseries):
        assert inspect.signature(func).parameters["fontname"].default == family


@pytest.fixture
def without_liberation(monkeypatch):
    """Hide Liberation Sans from matplotlib, then restore the real configuration."""
    manager = font_manager.fontManager
    kept = [f for f in manager.ttflist if f.name != style.PREFERRED_FONT]
    monkeypatch.setattr(manager, "ttflist", kept)
    monkeypatch.setattr(font_manager, "findSystemFonts", lambda *args, **kwargs: [])
    manager._findfont_cached.cache_clear()
    report.font_family.cache_clear()
    yield
    monkeypatch.undo()
    manager._findfont_cached.cache_clear()
    report.font_family.cache_clear()
    report.configure_plotting()


def test_falls_back_to_dejavu_without_liberation(without_liberation, caplog):
    caplog.set_level(logging.WARNING, logger="matplotlib.font_manager")
    report.configure_plotting()
    assert report.font_family() == report.FALLBACK_FONT
    from quantstats._plotting import wrappers

    default = inspect.signature(wrappers.returns).parameters["fontname"].default
    assert default == report.FALLBACK_FONT
    font_manager.findfont(FontProperties(family=default, weight="bold"))
    font_manager.findfont(FontProperties(family=matplotlib.rcParams["font.family"]))
    assert "findfont" not in caplog.text


def test_rerun_is_byte_identical_and_emits_no_findfont_or_other_warnings(
    tmp_path, caplog, small_tearsheet
):
    caplog.set_level(logging.WARNING, logger="matplotlib.font_manager")
    font_manager.fontManager._findfont_cached.cache_clear()  # redo every font lookup
    font_manager.findfont(FontProperties(family="Playbook No Such Font"))
    assert "findfont" in caplog.text  # the capture works
    caplog.clear()
    font_manager.fontManager._findfont_cached.cache_clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again = _write_small(tmp_path / "again.html")
        report.write_equity_drawdown_png(*_synthetic(days=120), tmp_path / "p.png", title=TITLE)
    assert not [r for r in caplog.records if "findfont" in r.getMessage()]
    assert [str(w.message) for w in caught] == []
    assert again.read_bytes() == small_tearsheet.read_bytes()  # SVG ids and dates pinned


# --- PNG ----------------------------------------------------------------------------------


def test_png_is_valid_deterministic_and_leaks_no_figures(tmp_path, series):
    strategy, benchmark = series
    import matplotlib.pyplot as plt

    open_before = plt.get_fignums()
    paths = [
        report.write_equity_drawdown_png(
            strategy, benchmark, tmp_path / f"{i}.png", title=TITLE, benchmark_name=BENCH
        )
        for i in range(2)
    ]
    data = paths[0].read_bytes()
    assert data.startswith(PNG_SIGNATURE) and data[12:16] == b"IHDR"
    assert struct.unpack(">II", data[16:24]) == (1000, 650)
    assert data == paths[1].read_bytes()
    assert matplotlib.image.imread(paths[0]).shape == (650, 1000, 4)
    assert plt.get_fignums() == open_before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0.png", "1.png"]


def test_png_without_benchmark_and_dollar_title(tmp_path, series):
    strategy, _ = series
    out = report.write_equity_drawdown_png(
        strategy, None, tmp_path / "p.png", title="SYNTHETIC $BTC in $ terms"
    )
    assert out.read_bytes().startswith(PNG_SIGNATURE)


# --- a run's reports ---------------------------------------------------------------------


def _regimes() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"regime": "first", "description": "the first year", "start": "2021-01-01",
             "end": "2021-12-31", "coverage": "full", "return": 0.1, "max_drawdown": -0.2,
             "volatility": 0.3, "benchmark_return": 0.05},
            {"regime": "later", "description": "never reached", "start": "2030-01-01",
             "end": "2030-12-31", "coverage": "none", "return": np.nan,
             "max_drawdown": np.nan, "volatility": np.nan, "benchmark_return": np.nan},
        ]
    )  # fmt: skip


def test_run_reports_are_the_tearsheet_regime_table_and_png(tmp_path, series):
    """write_run_reports = write_tearsheet + add_regime_section + the run page link
    + write_equity_drawdown_png."""
    strategy, benchmark = series
    cash = pd.Series(0.0001, index=strategy.index)
    exposure = pd.Series(1.0, index=strategy.index)
    folder = tmp_path / "run"
    folder.mkdir()
    inputs = report.ReportInputs(
        returns=strategy, benchmark=benchmark, cash=cash, exposure=exposure, title=TITLE,
        periods_per_year=365.0, benchmark_name=BENCH, regimes=_regimes(),
    )  # fmt: skip
    report.write_run_reports(folder, inputs)
    sheet = report.write_tearsheet(
        strategy, benchmark, tmp_path / "tearsheet.html", title=TITLE, periods_per_year=365,
        cash=cash, exposure=exposure, benchmark_name=BENCH,
    )  # fmt: skip
    report.add_regime_section(sheet, _regimes(), BENCH)
    sheet.write_text(with_run_page_link(sheet.read_text("utf-8")), "utf-8")  # links run.html
    png = report.write_equity_drawdown_png(
        strategy, benchmark, tmp_path / "equity.png", title=TITLE, benchmark_name=BENCH
    )
    written = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert set(written) == {"tearsheet.html", "equity.png"}
    assert written["tearsheet.html"] == sheet.read_bytes()
    assert written["equity.png"] == png.read_bytes()
    assert b'id="regimes"' in written["tearsheet.html"]
