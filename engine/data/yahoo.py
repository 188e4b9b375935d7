"""Daily prices from Yahoo Finance through yfinance: one batched download, backoff, clear errors.

`YahooPrices.fetch(symbols, start, end)` makes ONE `yf.download` call for all symbols
(`auto_adjust=False` keeps both Close and the total-return Adj Close, `group_by="ticker"`)
and returns one frame per symbol with columns open, high, low, close, adj_close, volume on a
tz-naive date index.

yfinance 1.x does not raise for per-ticker failures: `download` catches them, logs them on
the "yfinance" logger and returns all-NaN columns for that ticker. So the failures are read
from the log records captured during the call (and from any exception a download function
raises, e.g. `YFRateLimitError`):

- rate limits (`YFRateLimitError`, HTTP 429) are retried with exponential backoff (the sleep is
  injectable), retrying only the symbols that were limited;
- connection failures become `NetworkError` ("cannot reach Yahoo Finance (...)") at once;
- symbols that come back empty become one `DataError` naming every one of them, with hints
  for known aliases (HYPE-USD -> HYPE32196-USD).

yfinance's own log lines and pandas deprecation warnings are kept off the terminal.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import socket
import urllib.error
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from engine.data.cache import normalize_dates
from engine.errors import DataError, NetworkError

NETWORK_FIX = "run with --offline to use the cache, or --data-dir DIR with a local snapshot"
RATE_LIMIT_FIX = "wait a few minutes and try again; or " + NETWORK_FIX

FULL_HISTORY_DAYS = 99 * 365  # Yahoo serves at most 100 years of daily bars per request
PRICE_COLUMNS = ("open", "high", "low", "close", "adj_close", "volume")
YF_COLUMNS = {
    "Open": "open",
    "High": "high",
    "Low": "low",
    "Close": "close",
    "Adj Close": "adj_close",
    "Volume": "volume",
}

# Yahoo names people get wrong (../shared/reference/tickers.md), shown when one comes back empty.
KNOWN_ALIASES: dict[str, str] = {
    "HYPE-USD": "Hyperliquid is HYPE32196-USD on Yahoo (plain HYPE-USD is a different coin)",
    "HYPE": "Hyperliquid is HYPE32196-USD on Yahoo",
    "BTC": "Bitcoin is BTC-USD on Yahoo",
    "BTCUSD": "Bitcoin is BTC-USD on Yahoo",
    "ETH": "Ether is ETH-USD on Yahoo",
    "ZEC": "Zcash is ZEC-USD on Yahoo",
    "SPX": "the S&P 500 index is ^GSPC on Yahoo (SPY is the total-return ETF)",
    "GSPC": "the S&P 500 index is ^GSPC on Yahoo",
    "NDX": "the Nasdaq-100 index is ^NDX on Yahoo (QQQ is the ETF)",
    "VIX": "the VIX is ^VIX on Yahoo",
    "DXY": "the dollar index is DX-Y.NYB on Yahoo",
    "GOLD": "gold is GC=F (futures) or GLD (ETF) on Yahoo",
    "XAUUSD": "gold is GC=F (futures) or GLD (ETF) on Yahoo",
}

_RATE = re.compile(r"YFRateLimitError|Too Many Requests|rate.?limit|\b429\b", re.IGNORECASE)
_NETWORK = re.compile(
    r"Could not resolve|resolve host|Failed to connect|Connection (?:refused|reset|aborted)"
    r"|timed? ?out|Timeout|DNSError|ConnectionError|ConnectTimeout|Network is unreachable"
    r"|No route to host|Name or service not known|getaddrinfo|SSLError|ProxyError"
    r"|curl: \((?:5|6|7|28|35|52|55|56)\)",
    re.IGNORECASE,
)

Download = Callable[..., Any]


@dataclass(frozen=True)
class _Failure:
    kind: str  # "rate", "network" or "empty"
    detail: str


class YahooPrices:
    """Batched, retried, quiet daily downloads from Yahoo (through an injectable download)."""

    name = "yahoo"

    def __init__(
        self,
        download: Download | None = None,
        *,
        sleep: Callable[[float], None] | None = None,
        retries: int = 4,
        backoff: float = 5.0,
        max_backoff: float = 60.0,
        timeout: float = 20.0,
    ) -> None:
        self._download = download
        self._sleep = sleep
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.timeout = timeout
        self.calls: list[dict[str, Any]] = []  # what was asked, for notes and tests

    @property
    def download(self) -> Download:
        if self._download is None:
            import yfinance

            self._download = yfinance.download
        return self._download

    def provider(self) -> str:
        if self._download is not None and getattr(self._download, "__module__", "") not in (
            "yfinance.multi",
            "yfinance",
        ):
            return "yahoo (custom download)"
        try:
            from importlib.metadata import version

            return f"yfinance {version('yfinance')}"
        except Exception:  # pragma: no cover - metadata is always there when installed
            return "yfinance"

    def fetch(
        self,
        symbols: Iterable[str],
        start: dt.date | str | None = None,
        end: dt.date | str | None = None,
        *,
        allow_empty: bool = False,
    ) -> dict[str, pd.DataFrame]:
        """Frames for `symbols` from `start` to before `end` (exclusive), one download call.

        `start` defaults to the whole history Yahoo serves (99 years: without a start
        yfinance would fetch one month). With `allow_empty`, symbols without rows are left
        out of the result (an incremental refresh that found nothing new); otherwise they
        raise one `DataError` naming them all.
        """
        wanted = list(dict.fromkeys(symbols))
        if not wanted:
            return {}
        if start is None:
            start = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=FULL_HISTORY_DAYS)
        end_day = None if end is None else pd.Timestamp(end).normalize()
        frames: dict[str, pd.DataFrame] = {}
        pending = wanted
        empty: dict[str, str] = {}
        for attempt in range(self.retries + 1):
            got, failures = self._attempt(pending, start, end_day)
            frames.update(got)
            network = {s: f for s, f in failures.items() if f.kind == "network"}
            if network and len(network) == len(pending):
                detail = next(iter(network.values())).detail
                raise NetworkError(f"cannot reach Yahoo Finance ({detail})", NETWORK_FIX)
            retry = [s for s, f in failures.items() if f.kind in ("rate", "network")]
            empty.update({s: f.detail for s, f in failures.items() if f.kind == "empty"})
            if not retry:
                break
            if attempt == self.retries:
                detail = failures[retry[0]].detail
                raise NetworkError(
                    f"Yahoo Finance is rate-limiting us: no data for {', '.join(retry)} after "
                    f"{self.retries + 1} attempts ({detail})",
                    RATE_LIMIT_FIX,
                )
            self.sleep(min(self.backoff * 2**attempt, self.max_backoff))
            pending = retry
        if empty and not allow_empty:
            raise empty_error(list(empty), empty)
        return {s: frames[s] for s in wanted if s in frames}

    def sleep(self, seconds: float) -> None:
        if self._sleep is None:
            import time

            time.sleep(seconds)
        else:
            self._sleep(seconds)

    def _attempt(
        self, symbols: list[str], start: dt.date | str | None, end: pd.Timestamp | None
    ) -> tuple[dict[str, pd.DataFrame], dict[str, _Failure]]:
        kwargs: dict[str, Any] = {
            "start": None if start is None else str(pd.Timestamp(start).date()),
            "end": None if end is None else str(end.date()),
            "auto_adjust": False,
            "actions": False,
            "group_by": "ticker",
            "threads": False,
            "progress": False,
            "multi_level_index": True,
            "timeout": self.timeout,
        }
        self.calls.append({"symbols": list(symbols), **kwargs})
        download = self.download  # imports yfinance first: its import adds warning filters
        with _quiet_yfinance() as captured:
            try:
                raw = download(list(symbols), **kwargs)
            except Exception as exc:
                kind = _classify_exception(exc)
                detail = _short(f"{type(exc).__name__}: {exc}")
                return {}, {s: _Failure(kind, detail) for s in symbols}
        frames = split_download(raw, symbols, end)
        failures: dict[str, _Failure] = {}
        for symbol in symbols:
            if symbol in frames:
                continue
            failures[symbol] = _classify_messages(symbol, symbols, captured.messages)
        return frames, failures


def split_download(
    raw: Any, symbols: Sequence[str], end: pd.Timestamp | None = None
) -> dict[str, pd.DataFrame]:
    """yfinance's frame -> {symbol: clean frame} for the symbols that have rows."""
    if not isinstance(raw, pd.DataFrame) or raw.shape[1] == 0 or raw.shape[0] == 0:
        return {}
    out: dict[str, pd.DataFrame] = {}
    columns = raw.columns
    for symbol in symbols:
        sub = None
        if isinstance(columns, pd.MultiIndex) and columns.nlevels == 2:
            fields_level = 1 if set(columns.get_level_values(1)) & set(YF_COLUMNS) else 0
            tickers = set(columns.get_level_values(1 - fields_level))
            key = symbol if symbol in tickers else symbol.upper()
            if key in tickers:
                sub = raw.xs(key, axis=1, level=1 - fields_level)
        elif len(symbols) == 1 and set(columns) & set(YF_COLUMNS):
            sub = raw
        if sub is None:
            continue
        frame = _clean(sub, end)
        if not frame.empty:
            out[symbol] = frame
    return out


def empty_error(symbols: Sequence[str], reasons: dict[str, str] | None = None) -> DataError:
    """One error naming every symbol Yahoo returned nothing for, with alias hints."""
    reasons = reasons or {}
    hints = {s: KNOWN_ALIASES.get(s.upper(), "") for s in symbols}
    if len(symbols) == 1:
        symbol = symbols[0]
        why = hints[symbol] or (f"Yahoo says {reasons[symbol]!r}" if reasons.get(symbol) else "")
        problem = f"no data from Yahoo for {symbol}" + (f": {why}" if why else "")
    else:
        problem = f"no data from Yahoo for {', '.join(symbols)}"
        hinted = [f"{s}: {h}" for s, h in hints.items() if h]
        if hinted:
            problem += " (" + "; ".join(hinted) + ")"
    return DataError(
        problem,
        "check the symbols on finance.yahoo.com (Yahoo names look like ^GSPC, GC=F, BTC-USD)",
    )


def _clean(sub: pd.DataFrame, end: pd.Timestamp | None) -> pd.DataFrame:
    index = normalize_dates(sub.index)
    data = {}
    for yf_name, name in YF_COLUMNS.items():
        if yf_name in sub.columns:
            values = pd.to_numeric(sub[yf_name], errors="coerce").to_numpy(dtype="float64")
        else:
            values = np.full(len(sub), np.nan)
        data[name] = values
    frame = pd.DataFrame(data, index=index, columns=list(PRICE_COLUMNS))
    frame = frame[frame[["adj_close", "close"]].notna().any(axis=1)]
    frame = frame[~frame.index.duplicated(keep="last")].sort_index()
    if end is not None:
        frame = frame[frame.index < end]  # a partial bar of the day in progress
    return frame


class _Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.messages.append(record.getMessage())
        except Exception:  # pragma: no cover - a malformed record must not break a download
            self.messages.append(str(record.msg))


@contextmanager
def _quiet_yfinance() -> Iterator[_Captured]:
    """Capture yfinance's log records and silence library warnings during one download."""
    logger = logging.getLogger("yfinance")
    handler = _Captured()
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield handler
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def _classify_exception(exc: BaseException) -> str:
    text = f"{type(exc).__name__} {exc}"
    status = getattr(getattr(exc, "response", None), "status_code", None)
    code = getattr(exc, "code", None) or getattr(exc, "status", None)
    if type(exc).__name__ == "YFRateLimitError" or 429 in (status, code) or _RATE.search(text):
        return "rate"
    if isinstance(exc, (urllib.error.URLError, socket.timeout, ConnectionError, TimeoutError)):
        return "network"
    if isinstance(exc, OSError) and _NETWORK.search(text):
        return "network"
    module = type(exc).__module__ or ""
    if module.startswith(("curl_cffi", "requests", "urllib3")) and _NETWORK.search(text):
        return "network"
    if module.startswith("yfinance"):
        return "empty"
    raise exc


def _classify_messages(symbol: str, symbols: Sequence[str], messages: list[str]) -> _Failure:
    def mentions(message: str, name: str) -> bool:
        return f"'{name}'" in message or f"${name}" in message or message.startswith(f"{name}:")

    own = [m for m in messages if mentions(m, symbol) or mentions(m, symbol.upper())]
    if not own:
        own = [m for m in messages if not any(mentions(m, s) for s in symbols)]
    for kind, pattern in (("rate", _RATE), ("network", _NETWORK)):
        hit = next((m for m in own if pattern.search(m)), None)
        if hit is not None:
            return _Failure(kind, _short(hit))
    reason = next((m for m in own if m.strip()), "")
    return _Failure("empty", _short(reason))


def _short(message: str) -> str:
    """A one-line reason: the curl explanation if there is one, without Yahoo's boilerplate."""
    curl = re.search(r"curl: \(\d+\) (.+?)(?:\. See |$)", message)
    if curl:
        return curl.group(1).strip().rstrip(".")
    text = " ".join(message.split())
    text = re.sub(r"^\[[^\]]*\]:\s*", "", text)
    text = re.sub(r"^\$?[\w^=.-]+: ", "", text) if text.startswith("$") else text
    return text[:160]
