"""Vintage macro data (issue 21): decide with the numbers as they were published.

The fixtures (tests/fixtures/vintages/data, made by make_fixtures.py) hold a few years of
made-up vintages around the real UNRATE, M2SL and WALCL. Expected values are recomputed here
with pandas from the CSV rows and the documented publication rule, never by engine code.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.data.alfred import AlfredVintages
from engine.data.cache import DataCache
from engine.data.export import export_cache
from engine.data.fred import FredSeries
from engine.data.panel import PanelRequest, build_panel
from engine.data.sources import DirectorySource, FrameSource
from engine.data.vintages import known_at, normalize_vintages, read_vintage_csv
from engine.errors import DataError

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "vintages"
DATA = FIXTURES / "data"
SERIES = ("UNRATE", "M2SL", "WALCL")
BEFORE_CLOSE = {"UNRATE", "M2SL"}  # published before 16:00 ET: usable at that day's close


def _rows(series_id: str) -> pd.DataFrame:
    frame = pd.read_csv(DATA / "macro" / "vintages" / f"{series_id}.csv", dtype=str)
    frame["date"] = pd.to_datetime(frame["date"])
    frame["realtime_start"] = pd.to_datetime(frame["realtime_start"])
    frame["value"] = frame["value"].astype(float)
    return frame


def _usable_from(series_id: str, published: pd.Series) -> pd.Series:
    """The documented rule: the day's close before 16:00 ET, else the next weekday's close."""
    if series_id in BEFORE_CLOSE:
        return published
    nxt = published + pd.Timedelta(days=1)
    while (nxt.dt.day_of_week >= 5).any():
        nxt = nxt.where(nxt.dt.day_of_week < 5, nxt + pd.Timedelta(days=1))
    return nxt


def _panel(mode: str, source: object | None = None):
    request = PanelRequest(traded=("SPY",), macro=SERIES, cash_series=(), vintages=mode)
    return build_panel(source or DirectorySource(DATA), request)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def as_of_panel():
    return _panel("as_of")


def test_unrate_aug_2023_decided_with_published_3_8(as_of_panel):
    """August 2023 was published at 3.8 on Friday 2023-09-01 (08:30) and reads 3.7 today.

    On the old path (latest: today's value on the release-lag date, 2023-09-08) the bar of
    2023-09-01 still shows July and the week after shows 3.7; as_of shows 3.8 from 09-01.
    """
    unrate = as_of_panel.macro["UNRATE"]
    assert unrate.loc["2023-08-31"] == 3.5  # July, as published
    assert unrate.loc["2023-09-01"] == 3.8
    assert unrate.loc["2023-09-11"] == 3.8
    latest = _panel("latest").macro["UNRATE"]
    assert latest.loc["2023-09-11"] == 3.7  # today's revised value: what no trader saw


def test_first_release_never_revised_and_latest_is_todays_series():
    first = _panel("first_release").macro["UNRATE"]
    rows = _rows("UNRATE")
    firsts = rows.sort_values("realtime_start").groupby("date").head(1).set_index("date")
    assert first.loc["2023-09-15"] == firsts.loc["2023-08-01", "value"] == 3.8
    latest = _panel("latest")
    current = pd.read_csv(DATA / "macro" / "UNRATE.csv", index_col="date", parse_dates=True)
    # release lag of UNRATE: month end + 8 days (engine.data.releases), today's values
    assert latest.macro["UNRATE"].loc["2024-01-10"] == current.loc["2023-12-01", "value"]
    assert any("data.vintages is latest" in note for note in latest.notes)


@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(position=st.integers(min_value=0, max_value=10_000), which=st.sampled_from(SERIES))
def test_as_of_never_uses_a_value_published_after_the_bar(as_of_panel, position, which):
    """Truncation and vintage: the value on a bar is the latest reference date's latest vintage
    among the rows published (and usable) by that bar, recomputed here from the CSV rows."""
    index = as_of_panel.index
    bar = index[index >= pd.Timestamp("2022-02-01")][position % 500]
    rows = _rows(which)
    rows = rows[_usable_from(which, rows["realtime_start"]) <= bar]
    latest_date = rows["date"].max()
    expected = rows[rows["date"] == latest_date].sort_values("realtime_start")["value"].iloc[-1]
    got = as_of_panel.macro[which].loc[bar]
    if pd.isna(got):  # stale by the release-frequency rule: nothing recent enough to use
        return
    assert got == expected
    # the same bar built from only what was published by then gives the same value
    tables = {}
    for sid in SERIES:
        table = read_vintage_csv(DATA / "macro" / "vintages" / f"{sid}.csv", sid)
        tables[sid] = table[_usable_from(sid, table["realtime_start"]).to_numpy() <= bar]
    spy = DirectorySource(DATA).prices("SPY")["price"]
    source = FrameSource({"SPY": spy}, {}, synthetic=False, vintages=tables)
    assert _panel("as_of", source).macro[which].loc[bar] == got


def test_series_without_vintages_fall_back_with_one_note():
    spy = DirectorySource(DATA).prices("SPY")["price"]
    macro = {sid: DirectorySource(DATA).macro(sid) for sid in SERIES}
    panel = _panel("as_of", FrameSource({"SPY": spy}, macro, synthetic=False))  # type: ignore[arg-type]
    notes = [n for n in panel.notes if "no vintages" in n]
    assert len(notes) == 1 and "UNRATE, M2SL, WALCL have no vintages" in notes[0]


def test_definition_break_is_a_note():
    days = pd.bdate_range("2019-01-01", "2021-12-31")
    m1 = pd.Series(4000.0, index=pd.date_range("2019-01-01", "2021-12-01", freq="MS"))
    source = FrameSource({"SPY": pd.Series(1.0, index=days)}, {"M1SL": m1})
    panel = build_panel(source, PanelRequest(traded=("SPY",), macro=("M1SL",), cash_series=()))
    assert any("M1SL has a definition break at 2020-05-01" in n for n in panel.notes)


def test_normalize_collapses_repeats_and_reopens_the_last_period():
    table = pd.DataFrame(
        {
            "date": pd.to_datetime(["2023-08-01"] * 3),
            "realtime_start": pd.to_datetime(["2023-09-01", "2023-10-06", "2024-01-05"]),
            "realtime_end": pd.to_datetime(["2023-09-01", "2023-10-06", "2024-01-05"]),
            "value": [3.8, 3.8, 3.7],
        }
    )
    out = normalize_vintages(table)
    assert out["value"].tolist() == [3.8, 3.7]
    assert out["realtime_end"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-04", "2261-12-31"]


def test_overlapping_vintages_are_refused(tmp_path):
    path = tmp_path / "UNRATE.csv"
    path.write_text(
        "date,realtime_start,realtime_end,value\n"
        "2023-08-01,2023-09-01,2024-01-05,3.8\n"
        "2023-08-01,2024-01-05,9999-12-31,3.7\n"
    )
    with pytest.raises(DataError, match="two vintages in force on 2024-01-05"):
        read_vintage_csv(path, "UNRATE")


# --- ALFRED through the FRED API (recorded answers, no network) ------------------------------

RECORDED = Path(__file__).parent / "fixtures"


class RecordedAlfred:
    """urlopen stand-in: answers each ALFRED call from a recorded JSON file."""

    def __init__(self, ignore_vintage_dates: bool = False) -> None:
        self.ignore_vintage_dates = ignore_vintage_dates
        self.urls: list[str] = []

    def __call__(self, request, timeout=None):
        url = request.full_url
        self.urls.append(url)
        query = parse_qs(urlparse(url).query)
        if url.split("?")[0].endswith("series/vintagedates"):
            name = "alfred_vintagedates_UNRATE.json"
        elif self.ignore_vintage_dates or "vintage_dates" not in query:
            name = "alfred_observations_UNRATE_revised.json"  # what ALFRED does: today's data
        else:
            asked = query["vintage_dates"][0].split(",")
            name = (
                f"alfred_observations_UNRATE_{'_'.join(dict.fromkeys([asked[0], asked[-1]]))}.json"
            )
        return BytesIO((RECORDED / name).read_bytes())


def test_alfred_pages_vintage_dates_in_batches_and_merges_them(monkeypatch):
    monkeypatch.setenv("FRED_API_KEY", "abcdef0123456789")
    fake = RecordedAlfred()
    client = FredSeries(fetch=fake)
    table = AlfredVintages(client, batch=2).fetch("UNRATE")
    asked = [parse_qs(urlparse(u).query).get("vintage_dates") for u in fake.urls[1:]]
    assert asked == [["2023-09-01,2023-10-06"], ["2024-01-05"]]  # 3 vintages, 2 per request
    shown = table.assign(
        **{c: table[c].dt.strftime("%Y-%m-%d") for c in ("date", "realtime_start", "realtime_end")}
    )
    assert shown.values.tolist() == [
        ["2023-07-01", "2023-09-01", "2261-12-31", 3.5],
        ["2023-08-01", "2023-09-01", "2024-01-04", 3.8],
        ["2023-08-01", "2024-01-05", "2261-12-31", 3.7],
        ["2023-09-01", "2023-10-06", "2261-12-31", 3.8],
    ]
    assert all("abcdef" not in url for url in client.requests)


def test_alfred_answer_for_other_vintages_is_refused(monkeypatch):
    """A misspelled `vintage_date` is ignored by the API, which then returns today's data."""
    monkeypatch.setenv("FRED_API_KEY", "abcdef0123456789")
    client = FredSeries(fetch=RecordedAlfred(ignore_vintage_dates=True))
    with pytest.raises(DataError, match="vintage_dates parameter was not applied"):
        AlfredVintages(client, batch=2).fetch("UNRATE")


def test_alfred_needs_a_key(monkeypatch):
    monkeypatch.delenv("FRED_API_KEY", raising=False)
    with pytest.raises(DataError, match="need a FRED API key"):
        AlfredVintages(FredSeries(fetch=RecordedAlfred())).fetch("UNRATE")


def test_vintages_cache_and_export_round_trip(tmp_path):
    cache = DataCache(tmp_path / "cache")
    table = read_vintage_csv(DATA / "macro" / "vintages" / "UNRATE.csv", "UNRATE")
    cache.write_vintages("UNRATE", table, {"units": "Percent"})
    assert cache.read_vintages("UNRATE").equals(table)
    result = export_cache(cache, tmp_path / "out")
    assert result.vintages == ["UNRATE"]
    written = (tmp_path / "out" / "macro" / "vintages" / "UNRATE.csv").read_text()
    assert written == (DATA / "macro" / "vintages" / "UNRATE.csv").read_text()
    assert DirectorySource(tmp_path / "out").vintages("UNRATE").equals(table)


# --- playbook vintages sensitivity -----------------------------------------------------------

CONFIG = FIXTURES / "jobless-rule.yaml"


@pytest.fixture(scope="module")
def sensitivity():
    from engine.research.vintage_sensitivity import run_sensitivity
    from engine.runs.config import load_run_config_with_lines

    config, lines = load_run_config_with_lines(CONFIG)
    return run_sensitivity(config, lines, str(CONFIG))


def test_sensitivity_pnl_recomputed_from_textbook_definitions(sensitivity):
    for mode, run in sensitivity.runs.items():
        r = run.returns
        wealth = (1.0 + r).cumprod()
        years = ((r.index[-1] - r.index[0]).days + 1) / 365.25  # from the first bar's open
        peak = wealth.cummax().clip(lower=1.0)  # the 1 invested is the first peak
        row = sensitivity.pnl.loc[mode]
        assert row["final_wealth"] == pytest.approx(wealth.iloc[-1], rel=1e-12)
        assert row["cagr"] == pytest.approx(wealth.iloc[-1] ** (1 / years) - 1, rel=1e-12)
        assert row["max_drawdown"] == pytest.approx((wealth / peak - 1).min(), rel=1e-12)


def test_sensitivity_lists_the_unrate_decision_that_revisions_moved(sensitivity):
    moved = sensitivity.moved
    # 2023-09-01: August's 3.8 (published that morning) crosses 3.75; today's 3.7 does not
    assert moved.loc["2023-09-01"].tolist() == ["SPY 0.50", "SPY 0.50", "SPY 1.00"]
    as_of = sensitivity.runs["as_of"].schedule.targets["SPY"]
    latest = sensitivity.runs["latest"].schedule.targets["SPY"]
    for day, row in moved.iterrows():  # each listed bar: weights in force really differ
        held = [float(t[t.index <= day].iloc[-1]) for t in (as_of, latest)]
        assert row["as_of"] == f"SPY {held[0]:.2f}" and row["latest"] == f"SPY {held[1]:.2f}"


def test_vintages_sensitivity_command_prints_both_parts():
    from click.testing import CliRunner

    from engine.cli import cli

    result = CliRunner().invoke(cli, ["vintages", "sensitivity", str(CONFIG), "--limit", "3"])
    assert result.exit_code == 0, result.output
    assert "decisions that moved (11 bars" in result.output
    assert "... 8 more (--limit)" in result.output
    assert "as_of - latest: CAGR" in result.output


def test_readme_shows_the_commands_real_output():
    """The README's `playbook vintages sensitivity` block is this command's stdout, byte for
    byte (the fixture data are fixed: the figures a reader sees there are what it prints)."""
    from click.testing import CliRunner

    from engine.cli import cli

    command = "$ playbook vintages sensitivity tests/fixtures/vintages/jobless-rule.yaml\n"
    readme = (REPO / "README.md").read_text()
    start = readme.index(command) + len(command)
    shown = readme[start : readme.index("```", start)]
    result = CliRunner().invoke(cli, ["vintages", "sensitivity", str(CONFIG)])
    assert result.exit_code == 0, result.output
    assert result.stdout == shown


def test_known_at_gives_each_reference_date_as_published_by_the_bar():
    table = read_vintage_csv(DATA / "macro" / "vintages" / "UNRATE.csv", "UNRATE")
    before = known_at(table, "UNRATE", pd.Timestamp("2024-01-04"), "as_of")
    after = known_at(table, "UNRATE", pd.Timestamp("2024-01-05"), "as_of")
    first = known_at(table, "UNRATE", pd.Timestamp("2024-01-05"), "first_release")
    assert before.loc["2023-08-01"] == 3.8 and "2023-12-01" not in before.index
    assert after.loc["2023-08-01"] == 3.7 and after.loc["2023-12-01"] == 3.7
    assert first.loc["2023-08-01"] == 3.8


def _frame_source(cut: pd.Timestamp | None) -> FrameSource:
    """The fixture data in memory; with `cut`, only the vintages published on or before it."""
    directory = DirectorySource(DATA)
    tables = {}
    for sid in SERIES:
        table = directory.vintages(sid)
        assert table is not None
        tables[sid] = table if cut is None else table[table["realtime_start"] <= cut]
    spy = directory.prices("SPY")["price"]
    return FrameSource({"SPY": spy}, {}, synthetic=False, vintages=tables)


@pytest.mark.parametrize(
    "cut", ["2022-02-01", "2022-09-30", "2023-08-31", "2023-09-01", "2024-06-03"]
)
def test_as_of_run_decides_the_same_without_vintages_published_after_the_bar(cut):
    """A run's decisions up to bar D do not change when every vintage published after D is
    removed: nothing published later reached a decision. (Fixed bars: a run changes the
    recursion limit, which hypothesis refuses.)"""
    from engine.runs.backtest import run_backtest
    from engine.runs.config import load_run_config

    config = load_run_config(CONFIG)
    full = run_backtest(config, source=_frame_source(None))
    part = run_backtest(config, source=_frame_source(pd.Timestamp(cut)))
    seen = full.schedule.targets.loc[:cut]
    assert len(seen) and seen.equals(part.schedule.targets.loc[:cut])
