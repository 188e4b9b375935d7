"""Every vintage of a FRED series from ALFRED (the archive), through the FRED API.

Two traps shape this module:
- ALFRED answers at most 2,000 vintage dates per observations request, so the dates from
  `series/vintagedates` are asked for in batches (`VINTAGE_BATCH`) and the rows merged;
- the parameter is `vintage_dates`: a misspelled one (`vintage_date`) is ignored and the API
  silently returns today's revised data. Every answer is checked: its `realtime_start` and
  `realtime_end` must be the first and last vintage asked for, and every row's
  `realtime_start` one of the vintages asked for; anything else is refused.

The result is the canonical vintage table (engine.data.vintages.normalize_vintages), cached as
`alfred/<ID>` (engine.data.cache) and exported as `macro/vintages/<ID>.csv`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from engine.data.fred import FredSeries
from engine.data.vintages import check_vintages, normalize_vintages
from engine.errors import DataError

ALFRED = "alfred"  # cache source name
VINTAGE_BATCH = 2000  # ALFRED's most vintage dates per observations request
PAGE_LIMIT = 100_000  # the API's most observations per response (then `offset` pages)
DATES_LIMIT = 10_000  # the API's most vintage dates per vintagedates response


class AlfredVintages:
    """Downloads a series' vintages with a `FredSeries` client (its retries and redaction)."""

    def __init__(self, client: FredSeries | None = None, batch: int = VINTAGE_BATCH) -> None:
        if not 1 <= batch <= VINTAGE_BATCH:
            raise ValueError(f"batch must be 1..{VINTAGE_BATCH}")
        self.client = client or FredSeries()
        self.batch = batch

    def vintage_dates(self, series_id: str) -> list[str]:
        """Every day ALFRED has a vintage of `series_id`, ascending (paged by `offset`)."""
        pages = self._paged("series/vintagedates", {}, DATES_LIMIT, series_id, "vintage_dates")
        dates = [str(d) for d in pages]
        if not dates:
            raise DataError(
                f"ALFRED has no vintages of {series_id}",
                f"check https://alfred.stlouisfed.org/series?seid={series_id}",
            )
        return sorted(set(dates))

    def fetch(self, series_id: str) -> pd.DataFrame:
        """The series' vintage table: date, realtime_start, realtime_end, value."""
        series_id = series_id.strip().upper()
        dates = self.vintage_dates(series_id)
        rows: list[dict[str, Any]] = []
        for start in range(0, len(dates), self.batch):
            rows += self._batch(series_id, dates[start : start + self.batch])
        raw = pd.Series([str(r.get("value", ".")).strip() for r in rows], dtype=str)
        values = pd.to_numeric(raw.where(raw != "."), errors="coerce")
        if (values.isna() & (raw != ".")).any():
            shown = raw[values.isna() & (raw != ".")].iloc[0]
            raise DataError(f"ALFRED's {series_id} has an unreadable value {shown!r}", "refetch")
        table = pd.DataFrame(
            {
                "date": pd.to_datetime([r["date"] for r in rows], format="%Y-%m-%d"),
                "realtime_start": pd.to_datetime(
                    [r["realtime_start"] for r in rows], format="%Y-%m-%d"
                ),
                "value": values.to_numpy(dtype="float64"),
            }
        )
        table["realtime_end"] = table["realtime_start"]
        return check_vintages(normalize_vintages(table), series_id, "ALFRED")

    def _batch(self, series_id: str, asked: Sequence[str]) -> list[dict[str, Any]]:
        """The observations in force on each asked vintage date, checked to be what was asked."""
        params = {"vintage_dates": ",".join(asked), "output_type": "1"}
        return self._paged(
            "series/observations",
            params,
            PAGE_LIMIT,
            series_id,
            "observations",
            lambda page: check_answer(page, asked, series_id),
        )

    def _paged(
        self,
        endpoint: str,
        params: dict[str, str],
        limit: int,
        series_id: str,
        key: str,
        check: Callable[[dict[str, Any]], None] | None = None,
    ) -> list[Any]:
        """Every item under `key` of an API answer paged by `offset` (each page `check`ed)."""
        items: list[Any] = []
        while True:
            paging = {"limit": str(limit), "offset": str(len(items))}
            page = self.client.api_json(endpoint, {**params, **paging}, series_id)
            if check is not None:
                check(page)
            found = list(page.get(key) or [])
            items += found
            if not found or len(items) >= int(page.get("count", len(items))):
                return items


def check_answer(page: dict[str, Any], asked: Sequence[str], series_id: str) -> None:
    """Refuse an answer that is not for the vintages asked (e.g. today's revised data)."""
    span = (page.get("realtime_start"), page.get("realtime_end"))
    if span != (asked[0], asked[-1]):
        raise DataError(
            f"ALFRED answered {series_id} for real time {span[0]} to {span[1]}, not the "
            f"vintages asked ({asked[0]} to {asked[-1]}): the vintage_dates parameter was not "
            "applied, so these would be today's revised values",
            "ask with the `vintage_dates` parameter (not `vintage_date`); report this if it was",
        )
    allowed = set(asked)
    for row in page.get("observations") or []:
        if row.get("realtime_start") not in allowed:
            raise DataError(
                f"ALFRED row {row.get('date')} of {series_id} starts {row.get('realtime_start')}, "
                "not on a vintage asked for",
                "refetch; the answer mixes vintages",
            )
