"""The panel is point in time: first bars, calendars, release lags, event placement."""

from __future__ import annotations

import numpy as np
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
    assert len(panel.index) == 11 and panel.periods_per_year() == pytest.approx(365.25)
    saturday = pd.Timestamp("2021-01-02")
    assert panel.prices.loc[saturday, "SPY"] == 10.0  # Friday's price, carried
    assert not panel.traded.loc[saturday, "SPY"] and panel.traded.loc[saturday, "BTC-USD"]


def test_business_calendar_has_its_bars_per_calendar_year():
    bdays = pd.bdate_range("2021-01-01", "2021-03-01")
    panel = make_panel({"SPY": pd.Series(1.0, index=bdays)})
    days = (bdays[-1] - bdays[0]).days + 1  # from the day before the first bar (its open)
    assert panel.periods_per_year() == pytest.approx(len(bdays) / (days / 365.25))


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
    assert (after.day_of_week < 5).all()
    assert panel.periods_per_year(after[0]) == pytest.approx(len(after) / (59 / 365.25))


def test_wtregen_in_billions_refused_value_by_value():
    """A TGA mirror in billions over 2020-21 (median ~1,200) passed the median check and was
    read as millions; each value is now judged on its own, so it fails in one line."""
    bdays = pd.bdate_range("2020-01-01", "2021-12-31")
    wednesdays = pd.date_range("2020-01-01", "2021-12-31", freq="W-WED")
    billions = pd.Series(np.linspace(1_800.0, 900.0, len(wednesdays)), index=wednesdays)
    source = FrameSource({"SPY": pd.Series(1.0, index=bdays)}, {"WTREGEN": billions})
    request = PanelRequest(traded=("SPY",), macro=("WTREGEN",), cash_series=())
    with pytest.raises(DataError) as caught:
        build_panel(source, request)
    assert caught.value.one_line() == (
        "macro series WTREGEN looks like the wrong units: 1,800 on 2020-01-01 is outside "
        "2,500 to 5,000,000 millions of USD (fix: give every row of WTREGEN in millions of USD, "
        "FRED's units)"
    )
    # the same TGA in FRED's millions, including its pre-2008 lows of ~4,000, is accepted
    millions = pd.Series(np.linspace(4_000.0, 900_000.0, len(wednesdays)), index=wednesdays)
    source = FrameSource({"SPY": pd.Series(1.0, index=bdays)}, {"WTREGEN": millions})
    assert build_panel(source, request).macro["WTREGEN"].max() == 900_000.0


def test_macro_series_that_ends_early_is_missing_after_its_staleness_limit_with_a_note():
    """Issue 14: a weekly series that stops was carried for months without a word."""
    bdays = pd.bdate_range("2021-01-04", "2021-06-30")
    weekly = pd.date_range("2021-01-06", "2021-03-03", freq="W-WED")  # ends early
    tga = pd.Series(800_000.0, index=weekly)
    source = FrameSource({"SPY": pd.Series(1.0, index=bdays)}, {"WTREGEN": tga})
    panel = build_panel(source, PanelRequest(traded=("SPY",), macro=("WTREGEN",)))
    seen = panel.macro["WTREGEN"]
    last_release = pd.Timestamp("2021-03-05")  # Wednesday 2021-03-03 + 2 days
    limit = release_lag("WTREGEN").stale_after_days
    assert limit == 21
    fresh = (panel.index >= "2021-01-08") & (panel.index - last_release <= pd.Timedelta(days=21))
    assert seen[fresh].eq(800_000.0).all() and seen[~fresh].isna().all()
    first_missing = panel.index[panel.index > last_release + pd.Timedelta(days=21)][0]
    notes = [n for n in panel.notes if "WTREGEN" in n]
    assert notes == [
        f"macro series WTREGEN data ends 2021-03-03 (released 2021-03-05); with no release for "
        f"over 21 days (weekly series) it counts as missing from {first_missing.date()} to "
        f"2021-06-30 ({int((~fresh[panel.index >= '2021-01-08']).sum())} bars), not carried"
    ]


def test_staleness_limits_follow_the_release_frequency():
    assert release_lag("DGS10").stale_after_days == 14  # daily
    assert release_lag("WALCL").stale_after_days == 21  # weekly
    assert release_lag("M2SL").stale_after_days == 75  # monthly
    assert release_lag("XYZ").stale_after_days == 75  # unknown: the most lenient


def test_a_gap_in_a_daily_series_is_missing_inside_it_and_current_again_after():
    days = pd.bdate_range("2021-01-04", "2021-04-30")
    observed = days[(days < "2021-02-01") | (days > "2021-03-15")]
    hy = pd.Series(3.5, index=observed)
    source = FrameSource({"SPY": pd.Series(1.0, index=days)}, {"BAMLH0A0HYM2": hy})
    panel = build_panel(source, PanelRequest(traded=("SPY",), macro=("BAMLH0A0HYM2",)))
    seen = panel.macro["BAMLH0A0HYM2"]
    # last value 2021-01-29, released Monday 2021-02-01: usable through 2021-02-15
    assert seen.loc["2021-02-15"] == 3.5 and pd.isna(seen.loc["2021-02-16"])
    assert pd.isna(seen.loc["2021-03-16"]) and seen.loc["2021-03-17"] == 3.5
    assert [n for n in panel.notes if "BAMLH0A0HYM2" in n] == [
        "macro series BAMLH0A0HYM2 had no release for over 14 days (daily series) on 21 bars, "
        "first on 2021-02-16; it counts as missing there, not carried"
    ]


def test_a_symbol_with_no_rows_yet_is_untradable_not_an_error():
    """Files cut before BTC's listing (the real-snapshot look-ahead test) still build a panel,
    the same on every bar as the full files' panel before BTC's first bar."""
    bdays = pd.bdate_range("2021-01-04", "2021-02-26")
    source = FrameSource(
        {"GLD": pd.Series(1.0, index=bdays), "BTC-USD": pd.Series([], dtype="float64")}
    )
    panel = build_panel(source, PanelRequest(traded=("GLD", "BTC-USD"), cash_series=()))
    assert panel.prices["BTC-USD"].isna().all() and not panel.traded["BTC-USD"].any()
    assert panel.first_bar("BTC-USD") is None and panel.index.equals(bdays.rename("date"))
    assert "BTC-USD has no data up to 2021-02-26; it is untradable there" in panel.notes
    with pytest.raises(DataError, match="no price data for BTC-USD"):
        build_panel(source, PanelRequest(traded=("BTC-USD",), cash_series=()))


def test_column_values_takes_columns_by_name_in_the_order_asked():
    """What the simulator, the path panels and the batch path read a panel's prices with:
    the named columns in the order given, as `frame[names].to_numpy()` gives them; a name
    the frame lacks (or a frame with a column twice) is an error naming it, never a column
    picked by a wrong position."""
    from engine.core.panel import column_values

    frame = pd.DataFrame({"SPY": [1.0, 2.0], "TLT": [3.0, np.nan], "GLD": [5.0, 6.0]})
    taken = column_values(frame, ["GLD", "SPY", "TLT"])
    np.testing.assert_array_equal(taken, frame[["GLD", "SPY", "TLT"]].to_numpy())
    assert column_values(frame, []).shape == (2, 0)
    assert column_values(frame, ["SPY"], bool).dtype == np.bool_
    with pytest.raises(KeyError, match=r"\['QQQ'\] not in the panel"):
        column_values(frame, ["SPY", "QQQ"])
    twice = pd.DataFrame([[1.0, 2.0]], columns=["SPY", "SPY"])
    with pytest.raises(KeyError, match="duplicate columns: \\['SPY'\\]"):
        column_values(twice, ["SPY"])
