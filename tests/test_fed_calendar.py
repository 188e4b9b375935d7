"""The embedded Fed calendar: the crisis archetypes are in it with their kinds, every row has
a source and an announcement time, and the time decides the bar an event acts on."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from engine.cli import cli
from engine.data.panel import PanelRequest, build_panel
from engine.data.sources import FrameSource, embedded_fed_events
from strategies.hayes_pivot import CRISIS_PIVOT_KINDS


def calendar() -> pd.DataFrame:
    return embedded_fed_events().set_index("announced")


@pytest.mark.parametrize(
    ("day", "kind"),
    [
        ("2007-08-17", "discount_rate_cut"),  # not an emergency facility: the target held
        ("2008-01-22", "emergency_cut"),
        ("2008-03-16", "emergency_facility"),
        ("2008-10-08", "emergency_cut"),
        ("2008-10-14", "joint_program"),
        ("2008-11-25", "qe_start"),
        ("2019-07-31", "first_cut"),
        ("2019-10-11", "reserve_purchases"),
        ("2020-03-15", "emergency_cut_qe"),
        ("2020-03-23", "qe_start"),
        ("2023-03-12", "emergency_facility"),
        ("2025-09-17", "cut"),
        ("2025-12-01", "qt_end"),
    ],
)
def test_the_calendar_has_the_archetypes_with_their_kinds(day, kind):
    assert calendar().loc[pd.Timestamp(day), "kind"] == kind


def test_every_row_has_a_source_and_an_announcement_time():
    events = embedded_fed_events()
    assert events["source"].str.len().min() > 5
    assert events["time"].notna().all()
    clock = events["time"].str.fullmatch(r"\d\d:\d\d")
    named = events["time"].isin(["before_open", "intraday", "after_close", "sunday", "effective"])
    assert (clock | named).all()
    for year in (2007, 2008, 2009, 2020, 2023, 2025):
        assert (events["announced"].dt.year == year).any(), year


def test_crisis_pivots_exclude_the_discount_window_and_plumbing():
    """001_14d47c38698f02cb.txt: 「问题在于,贴现窗口假设问题仅是「期限错配」与流动性不足。」 (the
    discount window assumes only illiquidity): a discount-rate cut is no pivot."""
    assert not {"discount_rate_cut", "first_cut", "qt_end", "reserve_purchases"} & set(
        CRISIS_PIVOT_KINDS
    )


def placed(days: pd.DatetimeIndex) -> pd.DataFrame:
    """The embedded events as a panel on `days` places them."""
    source = FrameSource({"BTC-USD": pd.Series(100.0, index=days)}, events=embedded_fed_events())
    panel = build_panel(source, PanelRequest(traded=("BTC-USD",)))
    return panel.events.set_index("announced")


def test_sunday_announcement_acts_on_the_next_session():
    """The BTFP (Sunday 2023-03-12, 18:15 ET) and the 2020-03-15 cut to the floor with QE
    (Sunday 17:00 ET) act on Monday's bar even on a calendar with Sunday bars (BTC's)."""
    bars = placed(pd.date_range("2020-03-01", "2023-03-31", freq="D"))["bar"]
    assert bars[pd.Timestamp("2023-03-12")] == pd.Timestamp("2023-03-13")
    assert bars[pd.Timestamp("2020-03-15")] == pd.Timestamp("2020-03-16")


def test_after_close_announcement_acts_on_the_next_bar_and_before_the_open_the_same():
    bars = placed(pd.bdate_range("2025-03-01", "2025-12-31"))["bar"]
    assert bars[pd.Timestamp("2025-04-02")] == pd.Timestamp("2025-04-03")  # tariffs, 16:00 ET
    assert bars[pd.Timestamp("2025-09-17")] == pd.Timestamp("2025-09-17")  # 14:00 statement
    early = placed(pd.bdate_range("2008-01-01", "2008-12-31"))["bar"]
    assert early[pd.Timestamp("2008-01-22")] == pd.Timestamp("2008-01-22")  # before the open


@pytest.mark.realdata
def test_signals_lists_each_decision_with_the_article_sentence(shared_data):
    """`playbook signals hayes-pivot` prints, under every decision, the rule and the seed
    sentence it encodes; no default entry is on an insurance cut or QT's end."""
    result = CliRunner().invoke(cli, ["signals", "hayes-pivot", "--data-dir", str(shared_data)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    decisions = [k for k, line in enumerate(lines) if line[:4].isdigit() and " -> " in line]
    assert len(decisions) >= 4
    for k in decisions:
        why = next(line for line in lines[k + 1 : k + 4] if line.strip().startswith("why:"))
        assert "001_14d47c38698f02cb.txt" in why
    entries = [lines[k] for k in decisions if "cash" not in lines[k]]
    assert not any(word in line for line in entries for word in ("first_cut", "qt_end"))
