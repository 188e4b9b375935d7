"""When each macro series becomes known: its release lag, the point-in-time rule.

FRED dates an observation by its reference period (a Wednesday level, the 1st of a month).
A strategy may only see it from its release. Lags are conservative: a release after the
16:00 ET equity close counts from the next session. The table is data, not code paths;
a series not listed gets `DEFAULT_LAG` and the run records that it did.

Staleness follows the release frequency: a series with no new release for longer than its
`stale_after_days` (daily 14, weekly 21, monthly 75 days) counts as missing from then on
instead of being carried forward (the panel masks it and writes a run note).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd

Anchor = Literal["date", "month_end"]
Frequency = Literal["daily", "weekly", "monthly"]

# Days without a new release after which a series is stale (treated as missing): two missed
# weeks of a daily series, two missed releases of a weekly one, one missed month of a monthly
# one (a skipped CPI release, as in the 2025 shutdown, still counts as current).
STALE_AFTER_DAYS: dict[Frequency, int] = {"daily": 14, "weekly": 21, "monthly": 75}


@dataclass(frozen=True)
class ReleaseLag:
    """Visible at the close of `anchor(reference date) + days` (+ business days if `bdays`)."""

    days: int
    anchor: Anchor = "date"
    business: bool = False
    note: str = ""
    frequency: Frequency = "monthly"

    @property
    def stale_after_days(self) -> int:
        """Days after its latest release that a value may still be used (then it is missing)."""
        return STALE_AFTER_DAYS[self.frequency]

    def release_dates(self, reference: pd.DatetimeIndex) -> pd.DatetimeIndex:
        base = reference
        if self.anchor == "month_end":
            base = reference + pd.offsets.MonthEnd(0)
        if self.business:
            return pd.DatetimeIndex(base + pd.offsets.BDay(self.days))
        return pd.DatetimeIndex(base + pd.Timedelta(days=self.days))


NEXT_SESSION = ReleaseLag(
    1, business=True, note="daily H.15/ICE value, out the next business day", frequency="daily"
)

RELEASE_LAGS: dict[str, ReleaseLag] = {
    "WALCL": ReleaseLag(
        2, note="Wednesday level, H.4.1 Thursday 16:30 ET: usable Friday", frequency="weekly"
    ),
    "WTREGEN": ReleaseLag(2, note="Wednesday level with the H.4.1 release", frequency="weekly"),
    "RRPONTSYD": ReleaseLag(
        1, business=True, note="published 13:15 ET; conservatively next day", frequency="daily"
    ),
    "M2SL": ReleaseLag(28, anchor="month_end", note="H.6, about four weeks after month end"),
    "WM2NS": ReleaseLag(28, note="H.6 weekly, out with the monthly release", frequency="weekly"),
    "CPIAUCSL": ReleaseLag(15, anchor="month_end", note="CPI, mid next month"),
    "UNRATE": ReleaseLag(8, anchor="month_end", note="employment report, first Friday"),
    "FEDFUNDS": ReleaseLag(1, anchor="month_end", business=True, note="monthly average"),
    "USREC": ReleaseLag(365, anchor="month_end", note="NBER dates recessions about a year late"),
    "STLFSI4": ReleaseLag(6, note="week ending Friday, released Thursday", frequency="weekly"),
    "ANFCI": ReleaseLag(6, note="week ending Friday, released Wednesday", frequency="weekly"),
    "DTWEXBGS": ReleaseLag(7, note="H.10 broad dollar, weekly release", frequency="daily"),
    "DCOILWTICO": ReleaseLag(7, note="EIA spot, weekly release", frequency="daily"),
    "DCOILBRENTEU": ReleaseLag(7, note="EIA spot, weekly release", frequency="daily"),
}
for _daily in (
    "DFF",
    "DTB3",
    "DGS10",
    "DGS2",
    "DGS30",
    "T10Y2Y",
    "T10Y3M",
    "T10YIE",
    "DFII10",
    "BAMLH0A0HYM2",
    "BAMLC0A0CM",
    "SOFR",
):
    RELEASE_LAGS[_daily] = NEXT_SESSION

DEFAULT_LAG = ReleaseLag(
    7, note="series not in the release table: assumed a week late (stale after 75 days)"
)


def release_lag(series_id: str) -> ReleaseLag:
    return RELEASE_LAGS.get(series_id, DEFAULT_LAG)


def as_released(series: pd.Series, lag: ReleaseLag) -> pd.Series:
    """Re-index a reference-dated series by release date (last value wins on collisions)."""
    released = series.copy()
    released.index = lag.release_dates(pd.DatetimeIndex(series.index))
    released = released[~released.index.duplicated(keep="last")]
    return released.sort_index()


# --- vintages: when a value published on a given day may first be used -----------------------
# ALFRED dates each vintage by its publication day (`realtime_start`), not its hour. A release
# before the 16:00 ET equity close is usable from that day's close (the employment report at
# 08:30, CPI at 08:30, H.6 money stock at 13:00); everything else (H.4.1 at 16:30, H.15 after
# the close, the NY Fed's rates the next morning, any series not listed) conservatively from the
# next business day's close, as RELEASE_LAGS treats them.
PUBLISHED_BEFORE_CLOSE: frozenset[str] = frozenset(
    {"UNRATE", "PAYEMS", "CPIAUCSL", "CPIAUCNS", "M2SL", "WM2NS", "M1SL", "WM1NS", "M2NS"}
)


def vintage_visible_from(series_id: str, published: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """First bar close at which vintages published on `published` days may be used."""
    published = pd.DatetimeIndex(published)
    if series_id in PUBLISHED_BEFORE_CLOSE:
        return published
    return pd.DatetimeIndex(published + pd.offsets.BDay(1))
