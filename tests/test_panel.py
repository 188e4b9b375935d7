"""The panel is point in time: first bars, calendars, release lags, event placement."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import make_panel

from engine.data.panel import PanelRequest, build_panel
from engine.data.releases import release_lag
from engine.data.sources import DirectorySource, FrameSource
from engine.errors import DataError


def test_union_calendar_keeps_weekends_for_crypto_and_carries_equity_prices():
    days = pd.date_range("2021-01-01", "2021-01-12")
    bdays = pd.bdate_range("2021-01-01", "2021-01-11")
    panel = make_panel(
        {
            "BTC-USD": pd.Series(range(1, 13), index=days, dtype=float),
            "SPY": pd.Series(range(10, 17), index=bdays, dtype=float),
        }
    )
    # ends on the last common bar (SPY's Monday), never valuing BTC against a stale SPY
    assert len(panel.index) == 11 and panel.periods_per_year() == 365
    saturday = pd.Timestamp("2021-01-02")
    assert panel.prices.loc[saturday, "SPY"] == 10.0  # Friday's price, carried
    assert not panel.traded.loc[saturday, "SPY"] and panel.traded.loc[saturday, "BTC-USD"]


def test_business_calendar_has_252_periods_a_year():
    bdays = pd.bdate_range("2021-01-01", "2021-03-01")
    panel = make_panel({"SPY": pd.Series(1.0, index=bdays)})
    assert panel.periods_per_year() == 252


def test_wednesday_walcl_is_visible_from_friday_and_m2_weeks_after_month_end():
    bdays = pd.bdate_range("2021-01-01", "2021-04-30")
    walcl = pd.Series([7.0e6, 7.1e6], index=pd.DatetimeIndex(["2021-01-06", "2021-01-13"]))
    m2 = pd.Series([19000.0, 19200.0], index=pd.DatetimeIndex(["2021-01-01", "2021-02-01"]))
    source = FrameSource({"SPY": pd.Series(1.0, index=bdays)}, {"WALCL": walcl, "M2SL": m2})
    panel = build_panel(source, PanelRequest(traded=("SPY",), macro=("WALCL", "M2SL")))
    seen = panel.macro["WALCL"]
    assert pd.isna(seen.loc["2021-01-07"])  # Thursday: H.4.1 comes out after the close
    assert seen.loc["2021-01-08"] == 7.0e6  # Friday
    assert seen.loc["2021-01-14"] == 7.0e6 and seen.loc["2021-01-15"] == 7.1e6
    m2_seen = panel.macro["M2SL"]
    assert pd.isna(m2_seen.loc["2021-02-26"])  # January M2 is out on Mar 1 (Jan 31 + 28d)
    assert m2_seen.loc["2021-03-01"] == 19000.0


def test_every_release_lag_is_at_least_a_day():
    for series_id in ("WALCL", "WTREGEN", "RRPONTSYD", "M2SL", "DTB3", "BAMLH0A0HYM2", "XYZ"):
        reference = pd.DatetimeIndex(["2021-03-03"])
        assert (release_lag(series_id).release_dates(reference) > reference).all()


def test_sunday_event_acts_on_the_next_bar_of_a_business_calendar():
    bdays = pd.bdate_range("2023-03-06", "2023-03-17")
    events = pd.DataFrame(
        {
            "date": pd.to_datetime(["2023-03-12"]),
            "kind": ["emergency_facility"],
            "description": ["BTFP"],
        }
    )
    source = FrameSource({"KRE": pd.Series(1.0, index=bdays)}, events=events)
    panel = build_panel(source, PanelRequest(traded=("KRE",)))
    assert panel.events.loc[0, "bar"] == pd.Timestamp("2023-03-13")


def test_directory_source_reads_the_layout_and_reports_unknown_symbols(tmp_path):
    (tmp_path / "prices").mkdir()
    (tmp_path / "prices" / "_GSPC.csv").write_text(
        "date,open,high,low,close,adj_close,volume\n2021-01-04,1,1,1,10,,5\n2021-01-05,1,1,1,11,,5\n"
    )
    source = DirectorySource(tmp_path)
    assert source.prices("^GSPC")["price"].tolist() == [10.0, 11.0]  # close when no adj_close
    with pytest.raises(DataError, match=r"unknown symbol 'GSPC'") as caught:
        source.prices("GSPC")
    assert "did you mean '^GSPC'" in caught.value.one_line()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("date,close\n2021-01-05,1\n2021-01-04,2\n", "not in ascending order"),
        ("date,close\n2021-01-04,1\n2021-01-04,2\n", "duplicate date 2021-01-04"),
        ("date,close\n2021-01-04,1\n2021-01-05,-2\n", "non-positive price"),
        ("date,value\n2021-01-04,1\n", "no 'adj_close' or 'close' column"),
        ("day,close\n2021-01-04,1\n", "missing column"),
        ("date,close\nyesterday,1\n", "unreadable date"),
        ("", "not a readable CSV"),
    ],
)
def test_malformed_price_files_fail_with_the_file_and_the_problem(tmp_path, content, message):
    (tmp_path / "prices").mkdir()
    (tmp_path / "prices" / "BAD.csv").write_text(content)
    with pytest.raises(DataError, match=message):
        DirectorySource(tmp_path).prices("BAD")


def test_shared_snapshot_first_bars_are_never_back_filled(shared_data):
    source = DirectorySource(shared_data)
    panel = build_panel(source, PanelRequest(traded=("BTC-USD", "GLD", "TLT"), benchmark="SPY"))
    assert panel.first_bar("BTC-USD") == pd.Timestamp("2014-09-17")
    assert panel.first_bar("GLD") == pd.Timestamp("2004-11-18")
    assert panel.prices.loc[:"2014-09-16", "BTC-USD"].isna().all()
    # the benchmark's earlier days are warm-up bars; crypto's weekends start with BTC
    assert panel.index[0] == pd.Timestamp("1993-01-29")
    weekends = panel.index[panel.index.day_of_week >= 5]
    assert weekends[0] >= pd.Timestamp("2014-09-17")


def test_signal_inputs_add_warm_up_bars_but_never_weekends_to_an_equity_run():
    days = pd.date_range("2021-01-01", "2021-03-31")
    bdays = pd.bdate_range("2021-02-01", "2021-03-31")
    source = FrameSource(
        {"SPY": pd.Series(1.0, index=bdays), "BTC-USD": pd.Series(1.0, index=days)}
    )
    panel = build_panel(source, PanelRequest(traded=("SPY",), inputs=("BTC-USD",)))
    assert panel.index[0] == pd.Timestamp("2021-01-01")  # BTC's history warms signals up
    after = panel.index[panel.index >= pd.Timestamp("2021-02-01")]
    assert (after.day_of_week < 5).all() and panel.periods_per_year(after[0]) == 252
