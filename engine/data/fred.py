"""Macro series from FRED: the public CSV endpoint (no key), or the JSON API with FRED_API_KEY.

`FredSeries.fetch(series_id, start=None)` returns the reference-dated series ("." and empty
cells are missing observations and dropped) and the metadata the cache records with it: units
and the release lag the panel will apply (`engine.data.releases`). FRED's CSV carries no units,
so `UNITS` below records them for the series playbook uses; the JSON API reports them itself.

HTTP goes through an injectable `fetch` (urlopen-like: `fetch(request, timeout=...)` returning a
response with `.read()`), so tests replay recorded responses. 429 and 5xx are retried with
exponential backoff; unreachable hosts and timeouts become `NetworkError`; an unknown id is a
`FredSeriesNotFound` (a `DataError`).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from engine.data.cache import normalize_dates
from engine.data.releases import RELEASE_LAGS, release_lag
from engine.errors import DataError, NetworkError

CSV_URL = "https://fred.stlouisfed.org/graph/fredgraph.csv"
API_URL = "https://api.stlouisfed.org/fred"
API_KEY_ENV = "FRED_API_KEY"
NETWORK_FIX = "run with --offline to use the cache, or --data-dir DIR with a local snapshot"
USER_AGENT = "playbook (macro backtester; https://fred.stlouisfed.org public CSV)"

PERCENT = "percent"
# FRED's units for the series playbook reads (its CSV has none). WTREGEN is millions on FRED
# although some mirrors serve billions: `check_units` rejects a TGA that is not 0.05-2 trillion.
UNITS: dict[str, str] = {
    "WALCL": "millions of USD",
    "WTREGEN": "millions of USD",
    "RRPONTSYD": "billions of USD",
    "M2SL": "billions of USD",
    "WM2NS": "billions of USD",
    "DFF": PERCENT,
    "FEDFUNDS": PERCENT,
    "DTB3": PERCENT,
    "DGS10": PERCENT,
    "DGS2": PERCENT,
    "DGS30": PERCENT,
    "T10Y2Y": PERCENT,
    "T10Y3M": PERCENT,
    "T10YIE": PERCENT,
    "DFII10": PERCENT,
    "SOFR": PERCENT,
    "UNRATE": PERCENT,
    "BAMLH0A0HYM2": PERCENT,
    "BAMLC0A0CM": PERCENT,
    "CPIAUCSL": "index 1982-1984=100",
    "DTWEXBGS": "index Jan 2006=100",
    "STLFSI4": "index",
    "ANFCI": "index",
    "USREC": "1 = recession, 0 = expansion",
    "DCOILWTICO": "USD per barrel",
    "DCOILBRENTEU": "USD per barrel",
}

# Plausible magnitude of a recent value in the recorded units: (low, high).
_SANE_LATEST: dict[str, tuple[float, float]] = {
    "WTREGEN": (5.0e4, 2.0e6),  # TGA 0.05-2 trillion USD, in millions
    "WALCL": (1.0e6, 2.0e7),  # Fed balance sheet 1-20 trillion, in millions
    "RRPONTSYD": (0.0, 5.0e3),  # reverse repo 0-5 trillion, in billions
    "M2SL": (1.0e3, 1.0e5),
}

Fetch = Callable[..., Any]


class FredSeriesNotFound(DataError):
    """FRED answered, and has no series by that id."""


@dataclass(frozen=True)
class FredResult:
    series: pd.Series  # reference-dated observations, missing values dropped
    meta: dict[str, Any] = field(default_factory=dict)


class FredSeries:
    """Downloads FRED series over HTTP with retries; metadata for the cache sidecar."""

    name = "fred"

    def __init__(
        self,
        fetch: Fetch | None = None,
        *,
        sleep: Callable[[float], None] | None = None,
        retries: int = 4,
        backoff: float = 2.0,
        max_backoff: float = 60.0,
        timeout: float = 30.0,
        api_key: str | None = None,
    ) -> None:
        self._fetch = fetch or urllib.request.urlopen
        self._sleep = sleep
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.timeout = timeout
        self.api_key = api_key if api_key is not None else os.environ.get(API_KEY_ENV) or None
        self.requests: list[str] = []  # URLs asked for (API key redacted), for tests and notes

    def fetch(self, series_id: str, start: dt.date | str | None = None) -> FredResult:
        """Observations of `series_id` from `start` (inclusive; default: all of them)."""
        series_id = series_id.strip().upper()
        start_day = None if start is None else str(pd.Timestamp(start).date())
        if self.api_key:
            series, units = self._from_api(series_id, start_day)
            units_from = "FRED API"
        else:
            series = self._from_csv(series_id, start_day)
            units = UNITS.get(series_id, "unknown (not in playbook's units table)")
            units_from = "playbook units table (FRED's CSV has none)"
        if series.empty and start_day is None:
            raise DataError(
                f"FRED returned no observations for {series_id}",
                f"check the series on https://fred.stlouisfed.org/series/{series_id}",
            )
        check_units(series_id, series, units)
        lag = release_lag(series_id)
        meta = {
            "units": units,
            "units_from": units_from,
            "release_lag": {
                "days": lag.days,
                "anchor": lag.anchor,
                "business": lag.business,
                "note": lag.note,
                "default": series_id not in RELEASE_LAGS,
            },
            "provider": "FRED API" if self.api_key else "FRED CSV (fredgraph.csv)",
            "url": f"https://fred.stlouisfed.org/series/{series_id}",
        }
        return FredResult(series, meta)

    # --- the two endpoints -----------------------------------------------------------------

    def _from_csv(self, series_id: str, start: str | None) -> pd.Series:
        params = {"id": series_id}
        if start is not None:
            params["cosd"] = start
        body = self._get(f"{CSV_URL}?{urllib.parse.urlencode(params)}", series_id)
        return parse_fred_csv(body, series_id)

    def _from_api(self, series_id: str, start: str | None) -> tuple[pd.Series, str]:
        base = {"series_id": series_id, "api_key": self.api_key or "", "file_type": "json"}
        info = json.loads(self._get(f"{API_URL}/series?{urllib.parse.urlencode(base)}", series_id))
        described = (info.get("seriess") or [{}])[0]
        units = str(described.get("units") or UNITS.get(series_id, "unknown"))
        params = dict(base)
        if start is not None:
            params["observation_start"] = start
        url = f"{API_URL}/series/observations?{urllib.parse.urlencode(params)}"
        raw = self._get(url, series_id)
        return parse_fred_json(raw, series_id), units

    def api_json(self, endpoint: str, params: dict[str, str], series_id: str) -> dict[str, Any]:
        """One FRED/ALFRED API call (`series/vintagedates`, ...) with the key, retried like all.

        Needs FRED_API_KEY: ALFRED's vintages exist only behind the API.
        """
        if not self.api_key:
            raise DataError(
                f"ALFRED vintages of {series_id} need a FRED API key",
                f"set {API_KEY_ENV} (free at https://fred.stlouisfed.org/docs/api/api_key.html)",
            )
        query = {**params, "series_id": series_id, "api_key": self.api_key, "file_type": "json"}
        body = self._get(f"{API_URL}/{endpoint}?{urllib.parse.urlencode(query)}", series_id)
        try:
            payload = json.loads(body)
        except ValueError:
            raise DataError(
                f"FRED API answered {endpoint} for {series_id} with something that is not JSON",
                "try again later",
            ) from None
        if not isinstance(payload, dict) or "error_message" in payload:
            detail = payload.get("error_message") if isinstance(payload, dict) else "no detail"
            raise DataError(
                f"FRED API refused {endpoint} for {series_id}: {_redact(str(detail))}",
                "check the series id and FRED_API_KEY",
            )
        return payload

    def _get(self, url: str, series_id: str) -> bytes:
        shown = _redact(url)
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        for attempt in range(self.retries + 1):
            self.requests.append(shown)
            try:
                with self._fetch(request, timeout=self.timeout) as response:
                    return bytes(response.read())
            except urllib.error.HTTPError as exc:
                retry_after = _retry_after(exc)
                if exc.code == 429 or exc.code >= 500:
                    if attempt == self.retries:
                        what = (
                            "rate-limiting us" if exc.code == 429 else f"failing (HTTP {exc.code})"
                        )
                        raise NetworkError(
                            f"FRED kept {what}: no data for {series_id} after "
                            f"{self.retries + 1} attempts",
                            "wait a few minutes and try again; or " + NETWORK_FIX,
                        ) from None
                    delay = min(self.backoff * 2**attempt, self.max_backoff)
                    self.sleep(max(delay, min(retry_after or 0.0, self.max_backoff)))
                    continue
                if exc.code in (400, 404):
                    raise FredSeriesNotFound(
                        f"FRED has no series {series_id!r} (HTTP {exc.code})",
                        "check the id on https://fred.stlouisfed.org (ids look like WALCL, DTB3)",
                    ) from None
                raise NetworkError(
                    f"FRED refused the request for {series_id} (HTTP {exc.code} {exc.reason})",
                    NETWORK_FIX,
                ) from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                reason = getattr(exc, "reason", exc)
                raise NetworkError(
                    f"cannot reach FRED ({_redact(str(reason)) or type(exc).__name__})",
                    NETWORK_FIX,
                ) from None
            except OSError as exc:  # e.g. a reset connection mid-read
                raise NetworkError(
                    f"cannot reach FRED ({type(exc).__name__}: {_redact(str(exc))})", NETWORK_FIX
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def sleep(self, seconds: float) -> None:
        if self._sleep is None:
            import time

            time.sleep(seconds)
        else:
            self._sleep(seconds)


def parse_fred_csv(body: bytes | str, series_id: str) -> pd.Series:
    """fredgraph.csv text -> series; header `observation_date,ID` (older: `DATE,ID`)."""
    text = body.decode("utf-8-sig", errors="replace") if isinstance(body, bytes) else body
    stripped = text.lstrip()
    if not stripped or stripped.startswith("<"):
        got = "nothing" if not stripped else "HTML"
        raise DataError(
            f"FRED did not return CSV for {series_id} (got {got})",
            f"check the series on https://fred.stlouisfed.org/series/{series_id}",
        )
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"FRED's CSV for {series_id} is unreadable ({exc})", "try again") from exc
    columns = {str(c).strip().lower(): c for c in frame.columns}
    date_col = columns.get("observation_date") or columns.get("date")
    value_col = columns.get(series_id.lower())
    if value_col is None and len(frame.columns) == 2 and date_col is not None:
        value_col = next(c for c in frame.columns if c != date_col)
    if date_col is None or value_col is None:
        raise DataError(
            f"FRED's CSV for {series_id} has columns {', '.join(map(str, frame.columns))}",
            "expected observation_date (or DATE) and the series id",
        )
    return _observations(frame[date_col], frame[value_col], series_id)


def parse_fred_json(body: bytes | str, series_id: str) -> pd.Series:
    """The API's `series/observations` JSON -> series ("." values are missing)."""
    payload = json.loads(body)
    rows = payload.get("observations")
    if rows is None:
        raise DataError(
            f"FRED API answered without observations for {series_id}: "
            f"{payload.get('error_message', 'no detail')}",
            "check the series id and FRED_API_KEY",
        )
    dates = pd.Series([r.get("date", "") for r in rows], dtype=str)
    values = pd.Series([r.get("value", "") for r in rows], dtype=str)
    return _observations(dates, values, series_id)


def check_units(series_id: str, series: pd.Series, units: str) -> None:
    """Refuse a series whose magnitude contradicts its recorded units (TGA millions vs billions)."""
    bounds = _SANE_LATEST.get(series_id)
    if bounds is None or series.empty or series_id not in UNITS or units != UNITS[series_id]:
        return
    latest = float(series.iloc[-1])
    low, high = bounds
    if not low <= latest <= high:
        raise DataError(
            f"FRED's {series_id} ends at {latest:,.0f}, implausible in {units} "
            f"(expected {low:,.0f} to {high:,.0f}): the units may have changed",
            f"check the units on https://fred.stlouisfed.org/series/{series_id} and update "
            "engine/data/fred.py UNITS",
        )


def _observations(dates: pd.Series, values: pd.Series, series_id: str) -> pd.Series:
    raw = values.astype(str).str.strip()
    missing = raw.isin([".", "", "NA", "nan", "NaN"])
    numbers = pd.to_numeric(raw.where(~missing), errors="coerce")
    bad = numbers.isna() & ~missing
    if bad.any():
        raise DataError(
            f"FRED's {series_id} has an unreadable value {raw[bad].iloc[0]!r}", "try again later"
        )
    parsed = pd.to_datetime(dates.astype(str).str.strip(), errors="coerce", format="ISO8601")
    if parsed.isna().any():
        shown = dates[parsed.isna()].iloc[0]
        raise DataError(f"FRED's {series_id} has an unreadable date {shown!r}", "try again later")
    series = pd.Series(numbers.to_numpy(dtype="float64"), index=normalize_dates(parsed))
    series = series[~series.index.duplicated(keep="last")].sort_index().dropna()
    series.name = series_id
    return series


def _retry_after(exc: urllib.error.HTTPError) -> float | None:
    value = exc.headers.get("Retry-After") if exc.headers is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _redact(text: str) -> str:
    key = os.environ.get(API_KEY_ENV)
    if key:
        text = text.replace(key, "***")
    return re.sub(r"(api_key=)[^&\s]+", r"\1***", text)
