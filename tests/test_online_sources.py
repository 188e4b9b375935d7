"""Yahoo, FRED and the cached online source, on recorded responses: no network, no waiting.

The fakes replay hand-made fixtures in the real shapes (tests/fixtures): yfinance 1.7's
`download(group_by="ticker", auto_adjust=False)` frame with its (Ticker, Price) columns, the
ERROR records it logs instead of raising, its real exception types; FRED's fredgraph.csv text
with "." for missing values, and urllib's real HTTPError/URLError.
"""

from __future__ import annotations

import email.message
import io
import json
import logging
import socket
import urllib.error
import urllib.parse
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import requests
from curl_cffi.requests.exceptions import DNSError
from yfinance.exceptions import YFRateLimitError

from engine.data.cache import DataCache
from engine.data.export import export_cache
from engine.data.fred import FredSeries, FredSeriesNotFound
from engine.data.online import (
    OnlineSource,
    fetch_symbols,
    format_fetch_report,
    list_cache,
    rich_progress,
    split_ids,
)
from engine.data.panel import PanelRequest, build_panel
from engine.data.proxies import ProxySource
from engine.data.sources import DirectorySource, FrameSource
from engine.data.yahoo import YahooPrices
from engine.errors import DataError, ExitCode, NetworkError, OutputError
from engine.runs.backtest import symbols_for_config
from engine.runs.config import RunConfig

FIXTURES = Path(__file__).parent / "fixtures"
LOGS = json.loads((FIXTURES / "yahoo_logs.json").read_text())
FIX_TEXT = "run with --offline to use the cache, or --data-dir DIR with a local snapshot"
TODAY = pd.Timestamp("2024-01-13").date()  # a Saturday: Friday's bars are complete


def recorded(name: str) -> pd.DataFrame:
    """A fixture saved with DataFrame.to_csv, back in yfinance's exact in-memory shape."""
    frame = pd.read_csv(FIXTURES / name, header=[0, 1], index_col=0)
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.index), name="Date")
    frame.columns = frame.columns.set_names(["Ticker", "Price"])
    return frame


class RecordedYahoo:
    """Stands in for `yf.download`: serves a recorded frame the way yfinance 1.7 does.

    Requested tickers are upper-cased, rows cut to [start, end), a ticker without data gets
    all-NaN columns and an ERROR log record (yfinance does not raise). `failures` is a queue
    consumed one per call: an exception to raise, or a list of log lines to emit with an
    empty frame (how rate limits and network errors really surface).
    """

    def __init__(self, frame: pd.DataFrame, failures: list[Any] | None = None) -> None:
        self.frame = frame
        self.failures = list(failures or [])
        self.calls: list[dict[str, Any]] = []

    def __call__(self, tickers: list[str], **kwargs: Any) -> pd.DataFrame:
        self.calls.append({"tickers": list(tickers), **kwargs})
        logger = logging.getLogger("yfinance")
        # yfinance 1.7 trips pandas deprecations in download(); they must not escape
        warnings.warn(
            "The inplace keyword in DataFrame.rename is deprecated", FutureWarning, stacklevel=2
        )
        wanted = [t.upper() for t in tickers]
        if self.failures:
            failure = self.failures.pop(0)
            if isinstance(failure, BaseException):
                raise failure
            for line in failure:
                logger.error(line)
            columns = pd.MultiIndex.from_product(
                [wanted, ["Open", "High", "Low", "Close", "Adj Close", "Volume"]],
                names=["Ticker", "Price"],
            )
            return pd.DataFrame(index=pd.DatetimeIndex([], name="Date"), columns=columns)
        rows = self.frame
        tz = rows.index.tz
        if kwargs.get("start"):
            rows = rows[rows.index >= pd.Timestamp(kwargs["start"]).tz_localize(tz)]
        if kwargs.get("end"):
            rows = rows[rows.index < pd.Timestamp(kwargs["end"]).tz_localize(tz)]
        parts = {}
        for ticker in wanted:
            if ticker in rows.columns.get_level_values(0):
                part = rows[ticker]
            else:
                part = pd.DataFrame(
                    np.nan, index=rows.index, columns=list(rows[rows.columns[0][0]].columns)
                )
            if part.isna().all().all():
                logger.error(f"${ticker}: possibly delisted; no price data found  (1d)")
            parts[ticker] = part
        frame = pd.concat(parts.values(), axis=1, keys=parts.keys(), names=["Ticker", "Price"])
        return frame.dropna(how="all")


class FakeResponse(io.BytesIO):
    def __enter__(self) -> FakeResponse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RecordedFred:
    """Stands in for urlopen: serves fredgraph.csv (honouring cosd) and API JSON fixtures."""

    def __init__(self, files: dict[str, str], failures: list[Any] | None = None) -> None:
        self.files = files
        self.failures = list(failures or [])
        self.urls: list[str] = []

    def __call__(self, request: Any, timeout: float | None = None) -> FakeResponse:
        url = request.full_url if hasattr(request, "full_url") else str(request)
        self.urls.append(url)
        if self.failures:
            failure = self.failures.pop(0)
            if callable(failure):
                failure = failure(url)
            raise failure
        parsed = urllib.parse.urlparse(url)
        query = dict(urllib.parse.parse_qsl(parsed.query))
        key = query.get("id") or query.get("series_id", "")
        if parsed.path.endswith("/series"):
            key = f"api_series_{key}"
        elif parsed.path.endswith("/observations"):
            key = f"api_observations_{key}"
        if key not in self.files:
            raise http_error(url, 404)
        body = (FIXTURES / self.files[key]).read_bytes()
        if "cosd" in query:  # the CSV endpoint's observation start
            lines = body.decode().splitlines()
            kept = [line for line in lines[1:] if line.split(",")[0] >= query["cosd"]]
            body = ("\n".join([lines[0], *kept]) + "\n").encode()
        return FakeResponse(body)


def http_error(url: str, code: int, retry_after: str | None = None) -> urllib.error.HTTPError:
    headers = email.message.Message()
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    reason = {429: "Too Many Requests", 404: "Not Found", 503: "Service Unavailable"}
    return urllib.error.HTTPError(url, code, reason.get(code, "Error"), headers, None)


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def never(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("no download may happen here")


FRED_FILES = {
    "DTB3": "fred_DTB3.csv",
    "WALCL": "fred_WALCL_old_header.csv",
    "WTREGEN": "fred_WTREGEN.csv",
    "api_series_WALCL": "fred_api_series_WALCL.json",
    "api_observations_WALCL": "fred_api_observations_WALCL.json",
}


@pytest.fixture(autouse=True)
def _no_fred_key(monkeypatch):
    monkeypatch.delenv("FRED_API_KEY", raising=False)


@pytest.fixture
def cache(tmp_path: Path) -> DataCache:
    return DataCache(tmp_path / "cache")


def online(
    cache: DataCache,
    yahoo: Callable[..., Any] = never,
    fred: Callable[..., Any] = never,
    *,
    offline: bool = False,
    refresh: bool = False,
    sleeps: Sleeps | None = None,
) -> OnlineSource:
    sleep = sleeps if sleeps is not None else Sleeps()
    return OnlineSource(
        cache,
        offline=offline,
        refresh=refresh,
        yahoo=YahooPrices(download=yahoo, sleep=sleep),
        fred=FredSeries(fetch=fred, sleep=sleep),
        today=lambda: TODAY,
    )


# --- Yahoo ---------------------------------------------------------------------------------


def test_one_batched_download_returns_each_symbol_on_its_own_calendar():
    fake = RecordedYahoo(recorded("yahoo_spy_btc_2024-01-01_12.csv"))
    frames = YahooPrices(download=fake).fetch(["SPY", "BTC-USD"], "2024-01-01", TODAY)
    assert len(fake.calls) == 1
    call = fake.calls[0]
    assert call["tickers"] == ["SPY", "BTC-USD"]
    expected = {"auto_adjust": False, "actions": False, "group_by": "ticker", "threads": False}
    assert {k: call[k] for k in expected} == expected
    assert call["progress"] is False
    assert (call["start"], call["end"]) == ("2024-01-01", "2024-01-13")
    spy, btc = frames["SPY"], frames["BTC-USD"]
    assert list(spy.columns) == ["open", "high", "low", "close", "adj_close", "volume"]
    assert spy.index.name == "date" and spy.index.tz is None
    assert len(spy) == 9 and (spy.index.day_of_week < 5).all()  # no NaN weekend rows
    assert len(btc) == 12 and spy.loc["2024-01-02", "adj_close"] == 454.28613


def test_an_empty_symbol_is_one_clear_error_with_the_alias_hint():
    fake = RecordedYahoo(recorded("yahoo_spy_hype_empty.csv"))
    with pytest.raises(DataError) as caught:
        YahooPrices(download=fake).fetch(["SPY", "HYPE-USD"], "2024-01-01", TODAY)
    assert caught.value.problem.startswith(
        "no data from Yahoo for HYPE-USD: Hyperliquid is HYPE32196-USD on Yahoo"
    )
    assert caught.value.exit_code == ExitCode.DATA


def test_every_empty_symbol_is_named():
    fake = RecordedYahoo(recorded("yahoo_spy_hype_empty.csv"))
    with pytest.raises(DataError) as caught:
        YahooPrices(download=fake).fetch(["HYPE-USD", "NOPE", "SPY"], "2024-01-01", TODAY)
    assert "no data from Yahoo for HYPE-USD, NOPE" in caught.value.problem
    assert "HYPE32196-USD" in caught.value.problem and "SPY" not in caught.value.problem


def test_rate_limit_exception_is_retried_with_backoff_then_succeeds():
    fake = RecordedYahoo(
        recorded("yahoo_spy_btc_2024-01-01_12.csv"), [YFRateLimitError(), YFRateLimitError()]
    )
    sleeps = Sleeps()
    frames = YahooPrices(download=fake, sleep=sleeps).fetch(["SPY", "BTC-USD"], "2024-01-01")
    assert set(frames) == {"SPY", "BTC-USD"} and len(fake.calls) == 3
    assert sleeps == [5.0, 10.0]


def test_rate_limit_logged_for_one_symbol_retries_only_that_symbol():
    fake = RecordedYahoo(recorded("yahoo_spy_btc_2024-01-01_12.csv"))

    def btc_limited_once(tickers: list[str], **kwargs: Any) -> pd.DataFrame:
        frame = fake(tickers, **kwargs)
        if len(fake.calls) == 1:  # as yfinance reports it: NaN columns and a log record
            frame[[c for c in frame.columns if c[0] == "BTC-USD"]] = np.nan
            for line in LOGS["rate_limit_btc"]:
                logging.getLogger("yfinance").error(line)
        return frame

    sleeps = Sleeps()
    frames = YahooPrices(download=btc_limited_once, sleep=sleeps).fetch(
        ["SPY", "BTC-USD"], "2024-01-01"
    )
    assert [c["tickers"] for c in fake.calls] == [["SPY", "BTC-USD"], ["BTC-USD"]]
    assert set(frames) == {"SPY", "BTC-USD"} and sleeps == [5.0]


def test_http_429_surfacing_as_another_exception_is_a_rate_limit():
    response = requests.Response()
    response.status_code = 429
    too_many = requests.exceptions.HTTPError("429 Client Error", response=response)
    fake = RecordedYahoo(recorded("yahoo_spy_btc_2024-01-01_12.csv"), [too_many])
    sleeps = Sleeps()
    assert "SPY" in YahooPrices(download=fake, sleep=sleeps).fetch(["SPY"], "2024-01-01")
    assert sleeps == [5.0]


def test_rate_limit_that_never_ends_gives_up_with_a_clear_network_error():
    fake = RecordedYahoo(recorded("yahoo_spy_btc_2024-01-01_12.csv"), [YFRateLimitError()] * 9)
    sleeps = Sleeps()
    with pytest.raises(NetworkError) as caught:
        YahooPrices(download=fake, sleep=sleeps, retries=3).fetch(["SPY", "BTC-USD"])
    assert len(fake.calls) == 4 and sleeps == [5.0, 10.0, 20.0]
    assert fake.calls[0]["start"] < "1930"  # no start: the whole history, not a month
    error = caught.value
    assert "rate-limiting" in error.problem and "SPY, BTC-USD" in error.problem
    assert "Too Many Requests" in error.problem and "--offline" in error.fix
    assert error.exit_code == ExitCode.NETWORK


def test_no_network_as_yfinance_reports_it_is_a_network_error_at_once(capsys):
    fake = RecordedYahoo(recorded("yahoo_spy_btc_2024-01-01_12.csv"), [LOGS["dns"]])
    sleeps = Sleeps()
    with pytest.raises(NetworkError) as caught:
        YahooPrices(download=fake, sleep=sleeps).fetch(["SPY", "BTC-USD"], "2024-01-01")
    error = caught.value
    assert error.problem == (
        "cannot reach Yahoo Finance (Could not resolve host: query2.finance.yahoo.com)"
    )
    assert error.fix == FIX_TEXT and sleeps == [] and len(fake.calls) == 1
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""  # yfinance's own lines stay quiet


@pytest.mark.parametrize(
    "exc",
    [
        DNSError("Failed to perform, curl: (6) Could not resolve host: query2.finance.yahoo.com"),
        urllib.error.URLError(socket.gaierror(-3, "Temporary failure in name resolution")),
        TimeoutError("timed out"),
    ],
)
def test_connection_exceptions_are_network_errors_with_the_fix(exc):
    fake = RecordedYahoo(recorded("yahoo_spy_btc_2024-01-01_12.csv"), [exc])
    with pytest.raises(NetworkError, match="cannot reach Yahoo Finance") as caught:
        YahooPrices(download=fake, sleep=Sleeps()).fetch(["SPY"])
    assert caught.value.fix == FIX_TEXT
    assert "\n" not in caught.value.one_line()


def test_tz_aware_yahoo_index_becomes_exchange_dates():
    frame = recorded("yahoo_spy_btc_2024-01-01_12.csv")
    frame.index = frame.index.tz_localize("America/New_York")
    frames = YahooPrices(download=RecordedYahoo(frame)).fetch(["SPY"])
    assert frames["SPY"].index[0] == pd.Timestamp("2024-01-02") and frames["SPY"].index.tz is None


# --- FRED ----------------------------------------------------------------------------------


def test_fred_csv_with_dots_units_and_release_lag():
    fake = RecordedFred(FRED_FILES)
    result = FredSeries(fetch=fake).fetch("DTB3")
    assert fake.urls == ["https://fred.stlouisfed.org/graph/fredgraph.csv?id=DTB3"]
    series = result.series
    assert len(series) == 13 and pd.Timestamp("2024-01-15") not in series.index  # "."
    assert series.name == "DTB3" and series.iloc[0] == 5.24 and series.index.tz is None
    assert result.meta["units"] == "percent"
    assert result.meta["release_lag"]["days"] == 1 and result.meta["release_lag"]["business"]


def test_fred_old_date_header_and_empty_cells():
    walcl = FredSeries(fetch=RecordedFred(FRED_FILES)).fetch("WALCL")
    assert walcl.series.index[0] == pd.Timestamp("2023-12-06") and len(walcl.series) == 9
    assert walcl.meta["units"] == "millions of USD" and walcl.meta["release_lag"]["days"] == 2
    tga = FredSeries(fetch=RecordedFred(FRED_FILES)).fetch("WTREGEN")
    assert len(tga.series) == 4 and tga.meta["units"] == "millions of USD"


def test_fred_tga_in_billions_from_a_mirror_is_refused():
    files = {"WTREGEN": "fred_WTREGEN_billions_mirror.csv"}
    with pytest.raises(DataError, match="implausible in millions of USD"):
        FredSeries(fetch=RecordedFred(files)).fetch("WTREGEN")


def test_fred_429_is_retried_then_succeeds_and_gives_up_clearly():
    sleeps = Sleeps()
    fake = RecordedFred(FRED_FILES, [lambda url: http_error(url, 429, retry_after="7")])
    assert len(FredSeries(fetch=fake, sleep=sleeps).fetch("DTB3").series) == 13
    assert sleeps == [7.0] and len(fake.urls) == 2
    always = RecordedFred(FRED_FILES, [lambda url: http_error(url, 429)] * 5)
    with pytest.raises(NetworkError, match="FRED kept rate-limiting us") as caught:
        FredSeries(fetch=always, sleep=Sleeps(), retries=2).fetch("DTB3")
    assert len(always.urls) == 3 and "--offline" in caught.value.fix


@pytest.mark.parametrize(
    "exc",
    [
        urllib.error.URLError(socket.gaierror(-3, "Temporary failure in name resolution")),
        TimeoutError("The read operation timed out"),
        ConnectionResetError(104, "Connection reset by peer"),
    ],
)
def test_fred_unreachable_is_a_network_error(exc):
    with pytest.raises(NetworkError, match="cannot reach FRED") as caught:
        FredSeries(fetch=RecordedFred(FRED_FILES, [exc]), sleep=Sleeps()).fetch("DTB3")
    assert caught.value.fix == FIX_TEXT


def test_fred_unknown_series_and_html_pages():
    with pytest.raises(FredSeriesNotFound, match="FRED has no series 'NOPE'"):
        FredSeries(fetch=RecordedFred(FRED_FILES)).fetch("NOPE")
    with pytest.raises(DataError, match="did not return CSV for DTB3 \\(got HTML\\)"):
        FredSeries(fetch=RecordedFred({"DTB3": "fred_maintenance.html"})).fetch("DTB3")


def test_fred_api_with_a_key_reads_units_from_fred_and_never_shows_the_key(monkeypatch):
    monkeypatch.setenv("FRED_API_KEY", "abcdef0123456789")
    fake = RecordedFred(FRED_FILES)
    fred = FredSeries(fetch=fake)
    result = fred.fetch("WALCL", "2024-01-01")
    assert result.meta["units"] == "Millions of U.S. Dollars"
    assert list(result.series) == [7681467.0, 7631945.0, 7633660.0]  # "." dropped
    assert "observation_start=2024-01-01" in fake.urls[1]
    assert all("abcdef" not in url for url in fred.requests)


# --- the cached online source --------------------------------------------------------------


def fill(cache: DataCache, name: str = "yahoo_spy_btc_2024-01-01_12.csv") -> None:
    source = online(cache, RecordedYahoo(recorded(name)), RecordedFred(FRED_FILES))
    source.prefetch(["SPY", "BTC-USD"], ["DTB3", "WALCL"])


def test_miss_downloads_once_caches_and_a_hit_fetches_nothing(cache):
    fake = RecordedYahoo(recorded("yahoo_spy_btc_2024-01-01_12.csv"))
    source = online(cache, fake, RecordedFred(FRED_FILES))
    source.prefetch(["SPY", "BTC-USD", "SPY"], ["DTB3"])
    spy = source.prices("SPY")
    source.prices("BTC-USD")
    assert len(fake.calls) == 1 and fake.calls[0]["tickers"] == ["SPY", "BTC-USD"]
    assert fake.calls[0]["start"] == "1925-02-06"  # full history: 99 years back
    assert list(spy.columns) == ["price"] and spy["price"].iloc[0] == 454.28613
    assert source.actions == {
        "yahoo:SPY": "fetched",
        "yahoo:BTC-USD": "fetched",
        "fred:DTB3": "fetched",
    }
    meta = cache.read_meta("fred", "DTB3")
    assert meta["units"] == "percent" and meta["release_lag"]["days"] == 1
    assert cache.read_meta("yahoo", "SPY")["rows"] == 9

    again = online(cache)  # `never` raises if anything is downloaded
    pd.testing.assert_frame_equal(again.prices("SPY"), spy)
    assert again.macro("DTB3").iloc[-1] == 5.21
    assert again.actions == {"yahoo:SPY": "cache", "fred:DTB3": "cache"}


def test_source_contract_and_describe(cache):
    fill(cache)
    source = online(cache, offline=True)
    frame = source.prices("BTC-USD")
    assert frame.index.is_monotonic_increasing and frame.index.is_unique
    assert (frame["price"] > 0).all() and frame.index.name == "date"
    assert source.describe() == {
        "source": "yahoo+fred",
        "cache": str(cache.root),
        "offline": "true",
    }
    assert not source.synthetic and len(source.regimes()) > 0
    assert {"date", "kind", "description"} <= set(source.events().columns)
    panel = build_panel(
        source,
        PanelRequest(
            traded=("SPY", "BTC-USD"), macro=("WALCL",), benchmark="SPY", cash_series=("DTB3",)
        ),
    )
    assert panel.periods_per_year() == pytest.approx(365.25)
    assert panel.source["source"] == "yahoo+fred"


def test_incremental_refresh_appends_only_new_rows(cache):
    fill(cache)
    before = cache.read("yahoo", "SPY")
    fake = RecordedYahoo(recorded("yahoo_spy_btc_2024-01-01_19.csv"))
    source = online(cache, fake, refresh=True)
    source.today = lambda: pd.Timestamp("2024-01-20").date()
    source.prefetch(["SPY", "BTC-USD"])
    assert len(fake.calls) == 1
    assert fake.calls[0]["start"] == "2024-01-05"  # cached last (Jan 12) - 7 days of overlap
    after = cache.read("yahoo", "SPY")
    pd.testing.assert_frame_equal(after.loc[before.index], before, check_freq=False)
    assert list(after.index[len(before) :].strftime("%m-%d")) == [
        "01-16",
        "01-17",
        "01-18",
        "01-19",
    ]
    assert source.actions == {"yahoo:SPY": "updated +4", "yahoo:BTC-USD": "updated +7"}
    assert source.notes == []


def test_refresh_that_finds_history_changed_refetches_the_whole_series(cache):
    fill(cache)
    readjusted = recorded("yahoo_spy_btc_2024-01-01_19.csv")
    readjusted[("SPY", "Adj Close")] *= 0.99  # a dividend re-adjusted Yahoo's history
    fake = RecordedYahoo(readjusted)
    source = online(cache, fake, refresh=True)
    source.today = lambda: pd.Timestamp("2024-01-20").date()
    source.prefetch(["SPY", "BTC-USD"])
    assert [c["start"] for c in fake.calls] == ["2024-01-05", "1925-02-13"]
    assert [c["tickers"] for c in fake.calls] == [["SPY", "BTC-USD"], ["SPY"]]
    assert source.actions["yahoo:SPY"] == "refetched"
    assert source.actions["yahoo:BTC-USD"] == "updated +7"
    assert any(
        "SPY: history changed at 2024-01-05" in n and "refetching" in n for n in source.notes
    )
    spy = cache.read("yahoo", "SPY")
    assert len(spy) == 13 and spy["adj_close"].iloc[0] == pytest.approx(454.28613 * 0.99)


def test_refresh_of_fred_is_incremental_and_revisions_refetch(cache):
    fill(cache)
    fake = RecordedFred(FRED_FILES)
    source = online(cache, fred=fake, refresh=True)
    source.prefetch([], ["DTB3"])
    assert fake.urls == ["https://fred.stlouisfed.org/graph/fredgraph.csv?id=DTB3&cosd=2023-12-05"]
    assert source.actions == {"fred:DTB3": "updated +0"}
    revised = RecordedFred({"DTB3": "fred_WALCL_old_header.csv"})  # other numbers, same days
    source = online(cache, fred=revised, refresh=True)
    source.prefetch([], ["DTB3"])
    assert len(revised.urls) == 2 and source.actions["fred:DTB3"] == "refetched"
    assert any("DTB3:" in n and "refetching the whole series" in n for n in source.notes)


@pytest.mark.parametrize("damage", ["truncate", "flip", "sidecar"])
def test_corrupt_cache_is_reported_and_refetched(cache, damage):
    fill(cache)
    path = cache.path_for("yahoo", "SPY")
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:-50])
    elif damage == "flip":
        data = bytearray(path.read_bytes())
        data[40] ^= 0x01
        path.write_bytes(bytes(data))
    else:
        cache.sidecar_for("yahoo", "SPY").unlink()
    fake = RecordedYahoo(recorded("yahoo_spy_btc_2024-01-01_12.csv"))
    source = online(cache, fake)
    source.prefetch(["SPY", "BTC-USD"])
    assert [c["tickers"] for c in fake.calls] == [["SPY"]]  # BTC-USD was a good hit
    assert len(source.notes) == 1 and f"cache file {path}" in source.notes[0]
    assert "is corrupt" in source.notes[0] and "refetching SPY" in source.notes[0]
    assert cache.read("yahoo", "SPY") is not None  # repaired


def test_offline_hit_works_and_nothing_is_fetched(cache):
    fill(cache)
    source = online(cache, offline=True)  # `never` fails any download
    source.prefetch(["SPY", "BTC-USD"], ["DTB3", "WALCL"])
    assert source.prices("SPY")["price"].iloc[-1] == pytest.approx(476.68 * 0.961147)
    assert source.macro("WALCL").iloc[0] == 7740021.0


def test_offline_miss_fails_clearly_without_fetching(cache):
    fill(cache)
    source = online(cache, offline=True)
    with pytest.raises(DataError) as caught:
        source.prices("QQQ")
    assert caught.value.problem == "QQQ is not in the cache (offline)"
    assert caught.value.fix == (
        "run `playbook data fetch QQQ` where there is a network, or use --data-dir DIR"
    )
    with pytest.raises(DataError, match="GLD, DFF are not in the cache") as caught:
        source.prefetch(["SPY", "GLD"], ["DTB3", "DFF"])
    assert "playbook data fetch GLD DFF" in caught.value.fix


def test_offline_corrupt_cache_fails_naming_the_file(cache):
    fill(cache)
    path = cache.path_for("yahoo", "SPY")
    path.write_bytes(b"PAR1 garbage")
    with pytest.raises(DataError) as caught:
        online(cache, offline=True).prices("SPY")
    assert caught.value.problem.startswith(f"cache file {path} is corrupt")
    assert caught.value.fix == "run `playbook data fetch SPY` with a network, or use --data-dir"


def test_unknown_fred_series_is_none_with_a_note(cache):
    source = online(cache, fred=RecordedFred(FRED_FILES))
    assert source.macro("NOPE") is None
    assert "FRED has no series 'NOPE'" in source.notes[0]


def test_a_run_with_no_network_fails_in_one_line_pointing_at_the_cache(cache):
    from engine.runs.backtest import run_backtest

    fake = RecordedYahoo(recorded("yahoo_spy_btc_2024-01-01_12.csv"), [LOGS["dns"]])
    config = RunConfig(strategy="buy-and-hold", params={"symbol": "BTC-USD"}, benchmark="SPY")
    with pytest.raises(NetworkError) as caught:
        run_backtest(config, source=online(cache, fake))
    line = f"error: {caught.value.one_line()}"
    assert line == (
        "error: cannot reach Yahoo Finance (Could not resolve host: query2.finance.yahoo.com) "
        f"(fix: {FIX_TEXT})"
    )


# --- export, proxies, CLI helpers ----------------------------------------------------------


def test_export_round_trips_through_directory_source(cache, tmp_path):
    fill(cache)
    cache.write("yahoo", "^GSPC", cache.read("yahoo", "SPY"))
    out = tmp_path / "snapshot"
    result = export_cache(cache, out)
    assert sorted(result.prices) == ["BTC-USD", "SPY", "^GSPC"]
    assert sorted(result.macro) == ["DTB3", "WALCL"]
    assert (out / "prices" / "_GSPC.csv").is_file()
    header = (out / "prices" / "SPY.csv").read_text().splitlines()[:2]
    assert header[0] == "date,open,high,low,close,adj_close,volume"
    assert header[1].endswith(",123623700")  # whole volumes stay whole
    directory, cached = DirectorySource(out), online(cache, offline=True)
    for symbol in ("SPY", "BTC-USD", "^GSPC"):
        # identical values, dates and dtypes (csvio's normalize() may infer a freq: incidental)
        pd.testing.assert_frame_equal(
            directory.prices(symbol), cached.prices(symbol), check_freq=False
        )
    for series_id in ("DTB3", "WALCL"):
        pd.testing.assert_series_equal(
            directory.macro(series_id), cached.macro(series_id), check_names=False, check_freq=False
        )
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".snapshot")]
    export_cache(cache, out)  # again, into the existing data directory
    assert DirectorySource(out).prices("SPY").equals(cached.prices("SPY"))


@pytest.mark.parametrize(
    ("where", "error", "problem", "fix"),
    [
        (
            "tempfile.mkdtemp",
            PermissionError(13, "Permission denied"),
            "cannot write to",
            "fix the permissions (chmod) or choose another path",
        ),
        (
            "pandas.DataFrame.to_csv",
            OSError(28, "No space left on device"),
            "could not write the export to",
            "free disk space or choose another folder; then run",
        ),
    ],
)
def test_an_export_that_cannot_write_says_why_in_one_line_and_leaves_nothing(
    cache, tmp_path, monkeypatch, where, error, problem, fix
):
    """A denied folder or a full disk: one `error: <problem> (fix: <fix>)` line from the one
    errno table every writer uses (exit 5), no half export and no temporary folder."""
    fill(cache)
    out = tmp_path / "snapshot"

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(where, fail)
    with pytest.raises(OutputError) as caught:
        export_cache(cache, out)
    line = caught.value.one_line()
    assert problem in line and f"{error.strerror} (fix: {fix}" in line
    assert "\n" not in line and caught.value.exit_code == ExitCode.OUTPUT
    assert not out.exists() and list(tmp_path.iterdir()) == [cache.root]


def test_proxy_splices_returns_before_the_first_bar_and_says_so():
    days = pd.bdate_range("2021-01-04", periods=10)
    ndx = pd.Series([100, 101, 99, 102, 104, 103, 105, 107, 106, 108.0], index=days)
    qqq = pd.Series([50, 51, 50.5, 52, 53.0], index=days[5:])
    source = ProxySource(FrameSource({"QQQ": qqq, "^NDX": ndx}, synthetic=False), {"QQQ": "^NDX"})
    spliced = source.prices("QQQ")["price"]
    assert spliced.index.equals(days)
    returns = spliced.pct_change()
    pd.testing.assert_series_equal(
        returns.iloc[1:6], ndx.pct_change().iloc[1:6], check_names=False
    )  # before the first bar (and into it): the proxy's
    pd.testing.assert_series_equal(returns.iloc[6:], qqq.pct_change().iloc[1:], check_names=False)
    assert spliced.loc[days[5]] == 50.0  # continuous at the first real bar
    assert source.describe()["proxies"] == "QQQ<-^NDX before 2021-01-11"
    assert "QQQ before 2021-01-11 is ^NDX's returns" in source.notes[0]
    assert source.prices("^NDX")["price"].equals(ndx.astype(float))  # no proxy: untouched


def test_proxy_without_earlier_history_is_unused_and_noted():
    days = pd.bdate_range("2021-01-04", periods=5)
    source = ProxySource(
        FrameSource({"A": pd.Series(1.0, index=days), "B": pd.Series(2.0, index=days[1:])}),
        {"A": "B"},
    )
    assert len(source.prices("A")) == 5
    assert "none applied" in source.describe()["proxies"] and "unused" in source.notes[0]


def test_fetch_symbols_reports_progress_and_what_it_did(cache):
    steps = []
    report = fetch_symbols(
        cache,
        ["SPY", "BTC-USD"],
        ["DTB3"],
        lambda label, done, total: steps.append((label, done, total)),
        yahoo=YahooPrices(download=RecordedYahoo(recorded("yahoo_spy_btc_2024-01-01_12.csv"))),
        fred=FredSeries(fetch=RecordedFred(FRED_FILES)),
        today=lambda: TODAY,
    )
    assert steps[0] == ("Yahoo: SPY, BTC-USD", 0, 2) and steps[-1] == ("done", 2, 2)
    with rich_progress(io.StringIO()) as bar:
        assert bar is None  # no progress bar when stderr is not a terminal
    assert [e.symbol for e in report.entries] == ["SPY", "BTC-USD", "DTB3"]
    text = format_fetch_report(report)
    assert "fetched" in text and "2024-01-12" in text
    assert "3 series" in list_cache(cache)


def test_split_ids_and_symbols_for_config():
    assert split_ids(["SPY", "DTB3", "fred:XYZ", "yahoo:DFF", "^GSPC"]) == (
        ["SPY", "DFF", "^GSPC"],
        ["DTB3", "XYZ"],
    )
    symbols, macro = symbols_for_config(RunConfig(strategy="60-40"))
    assert symbols == ["SPY", "TLT"] and macro == ["DTB3", "DFF"]
    hayes = symbols_for_config(RunConfig(strategy="hayes-pivot", benchmark="BTC-USD"))
    assert "BTC-USD" in hayes[0] and "KRE" in hayes[0] and "WALCL" in hayes[1]
