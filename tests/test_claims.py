"""`playbook claims`: known answers on hand-made data, the claims file schema, real numbers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import TypeAdapter

from engine.claims import (
    Claim,
    ClaimResult,
    check_claims,
    format_claims,
    load_claims,
    read_price_column,
)
from engine.data.sources import DirectorySource, FrameSource
from engine.errors import ConfigError

SHARED_DATA = Path(
    os.environ.get("PLAYBOOK_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)

_ADAPTER: TypeAdapter[Any] = TypeAdapter(Claim)

BDAYS = pd.bdate_range("2024-01-01", periods=60)


def claim(**fields: Any) -> Any:
    base = {"id": "t", "claim": "test claim", "source": "test", "tolerance": 0.0}
    return _ADAPTER.validate_python({**base, **fields})


def check_one(source: Any, **fields: Any) -> ClaimResult:
    (result,) = check_claims(source, [claim(**fields)])
    return result


def walk(index: pd.DatetimeIndex, seed: int) -> pd.Series:
    rng = np.random.default_rng(seed)
    return pd.Series(100 * np.cumprod(1 + rng.normal(0, 0.02, len(index))), index=index)


# --------------------------------------------------------------------------- known answers


def test_ratio_level_stats_on_shared_dates() -> None:
    idx = pd.bdate_range("2024-01-01", periods=4)
    num = pd.Series([10.0, 20.0, 30.0, 40.0], index=idx)
    den = pd.Series([5.0, 5.0, 10.0], index=idx[[0, 1, 2]])  # no value on the last day
    source = FrameSource({"N": num, "D": den})
    common = {
        "kind": "ratio_level",
        "numerator": "N",
        "denominator": "D",
        "start": "2024-01-01",
        "end": "2024-01-04",
    }
    answers = {"max": 4.0, "min": 2.0, "mean": 3.0, "median": 3.0, "first": 2.0, "last": 3.0}
    for stat, expected in answers.items():
        result = check_one(source, **common, stat=stat, expected=expected)
        assert result.measured == pytest.approx(expected), stat
        assert result.reproduced is True
        assert result.unit == "ratio"
    scaled = check_one(source, **common, stat="max", scale=0.01, expected=0.04)
    assert scaled.measured == pytest.approx(0.04)
    level = check_one(source, **{**common, "denominator": None}, stat="max", expected=40)
    assert level.measured == pytest.approx(40.0)
    assert level.unit == "price"


def test_verdict_uses_tolerance_and_ranges() -> None:
    idx = pd.bdate_range("2024-01-01", periods=2)
    source = FrameSource({"N": pd.Series([0.598, 0.598], index=idx)})
    common = {"kind": "ratio_level", "numerator": "N", "start": "2024-01-01", "end": "2024-01-02"}
    inside = check_one(source, **common, stat="last", expected=[0.6, 0.7], tolerance=0.02)
    assert inside.reproduced is True
    assert inside.expected == "0.6 to 0.7 ± 0.02"
    outside = check_one(source, **common, stat="last", expected=[0.6, 0.7], tolerance=0.001)
    assert outside.reproduced is False
    exact = check_one(source, **common, stat="last", expected=0.598)
    assert exact.reproduced is True


def test_correlation_of_proportional_series_is_one_for_every_method() -> None:
    b = walk(BDAYS, seed=1)
    source = FrameSource({"A": 3.0 * b, "B": b})
    result = check_one(
        source,
        kind="correlation",
        a="A",
        b="B",
        end=BDAYS[-1].date(),
        days=80,
        expected=1.0,
        tolerance=1e-9,
    )
    assert result.measured == pytest.approx(1.0)
    assert result.reproduced is True
    assert "price_levels 1" in result.note and "weekly_returns 1" in result.note


def test_correlation_of_mirrored_returns_is_minus_one() -> None:
    rng = np.random.default_rng(7)
    returns = rng.normal(0, 0.02, len(BDAYS))
    a = pd.Series(100 * np.cumprod(1 + returns), index=BDAYS)
    b = pd.Series(100 * np.cumprod(1 - returns), index=BDAYS)
    result = check_one(
        FrameSource({"A": a, "B": b}),
        kind="correlation",
        a="A",
        b="B",
        end=BDAYS[-1].date(),
        sessions=40,
        methods=["daily_returns"],
        expected=-1.0,
        tolerance=1e-9,
    )
    assert result.measured == pytest.approx(-1.0)
    assert "40 obs" in result.method
    assert result.closest_method is None  # a single measurement: nothing to compare


def test_weekend_moves_compound_into_the_next_session() -> None:
    # BTC trades every day and moves on weekends; the "equity" is BTC's price on weekdays,
    # so its Monday return is BTC's Friday->Monday move. Aligned on the equity's sessions,
    # daily returns must then correlate exactly 1; dropping BTC's weekend moves would not.
    days = pd.date_range("2024-01-01", periods=84, freq="D")
    btc = walk(days, seed=3)
    equity = 0.5 * btc[btc.index.day_of_week < 5]
    source = FrameSource({"BTC": btc, "EQ": equity})
    result = check_one(
        source,
        kind="correlation",
        a="BTC",
        b="EQ",
        end=days[-1].date(),
        days=56,
        methods=["daily_returns"],
        expected=1.0,
        tolerance=1e-9,
    )
    assert result.measured == pytest.approx(1.0)
    assert "40 obs" in result.method  # 8 weeks x 5 sessions: weekends are not observations

    # BTC's own 1-day Monday returns (the weekend dropped) do not reproduce the equity.
    monday_only = btc.pct_change().loc[equity.index].iloc[1:]
    equity_ret = equity.pct_change().iloc[1:]
    assert monday_only.corr(equity_ret) < 0.95


def test_return_and_drawdown_known_answers() -> None:
    idx = pd.date_range("2024-01-01", periods=6, freq="D")
    prices = pd.Series([100.0, 150.0, 120.0, 60.0, 90.0, 80.0], index=idx)
    source = FrameSource({"X": prices})
    ret = check_one(
        source, kind="return", symbol="X", start="2024-01-02", end="2024-01-06", expected=-46.67
    )
    assert ret.measured == pytest.approx(80 / 150 * 100 - 100)
    assert ret.unit == "%"
    # a date without a bar uses the last bar before it
    later = check_one(
        source, kind="return", symbol="X", start="2024-01-01", end="2024-01-09", expected=-20
    )
    assert later.measured == pytest.approx(-20.0)
    common = {"kind": "drawdown", "symbol": "X", "peak_start": "2024-01-01"}
    peak = check_one(source, **common, peak_end="2024-01-03", measure="peak", expected=150)
    trough = check_one(source, **common, peak_end="2024-01-03", measure="trough", expected=60)
    fall = check_one(source, **common, peak_end="2024-01-03", measure="drawdown", expected=-60)
    assert (peak.measured, trough.measured) == (150.0, 60.0)
    assert fall.measured == pytest.approx(-60.0)
    assert all(r.reproduced for r in (peak, trough, fall))
    capped = check_one(
        source,
        **common,
        peak_end="2024-01-03",
        trough_end="2024-01-03",
        measure="trough",
        expected=120,
    )
    assert capped.measured == 120.0


def test_alternatives_report_the_closest_method() -> None:
    idx = pd.bdate_range("2024-01-01", periods=3)
    source = FrameSource({"N": pd.Series([1.0, 5.0, 3.0], index=idx)})
    result = check_one(
        source,
        kind="ratio_level",
        numerator="N",
        start="2024-01-01",
        end="2024-01-03",
        stat="min",
        expected=4.9,
        tolerance=0.2,
        alternatives=[{"label": "the max", "stat": "max"}, {"label": "mean", "stat": "mean"}],
    )
    assert result.measured == 1.0
    assert result.reproduced is False
    assert result.closest_method == "the max: 5"


# --------------------------------------------------------------------------- no data, no crash


def test_window_not_covered_gives_none_not_an_error() -> None:
    late = pd.Series([1.0, 2.0], index=pd.bdate_range("2024-06-03", periods=2))
    early = pd.Series([1.0, 2.0], index=pd.bdate_range("2024-01-01", periods=2))
    source = FrameSource({"LATE": late, "EARLY": early})
    result = check_one(
        source,
        kind="ratio_level",
        numerator="EARLY",
        denominator="LATE",
        start="2024-01-01",
        end="2024-01-02",
        stat="max",
        expected=1,
        alternatives=[{"label": "no such symbol", "denominator": "NOPE"}],
    )
    assert result.measured is None and result.reproduced is None
    assert "LATE starts 2024-06-03" in result.note
    assert "also not computed: no such symbol (no data for NOPE" in result.note
    assert "NOT CHECKABLE" in format_claims([result])


def test_raw_columns_need_a_csv_directory() -> None:
    idx = pd.bdate_range("2024-01-01", periods=2)
    source = FrameSource({"Q": pd.Series([1.0, 2.0], index=idx)})
    result = check_one(
        source,
        kind="ratio_level",
        numerator="Q",
        field="close",
        start="2024-01-01",
        end="2024-01-02",
        stat="max",
        expected=2,
    )
    assert result.reproduced is None
    assert "CSV directory" in result.note


def test_embedded_claims_on_a_partial_source_never_crash() -> None:
    days = pd.date_range("2025-01-01", "2026-03-31", freq="D")
    source = FrameSource({"BTC-USD": walk(days, seed=5)})
    results = check_claims(source, load_claims())
    assert len(results) == len(load_claims())
    by_id = {r.id: r for r in results}
    assert by_id["spx-gold-2000-top"].reproduced is None
    assert by_id["btc-ndx-corr-30d"].reproduced is None
    assert by_id["btc-after-sept-2025-cut"].measured is not None  # uses the total-return price
    assert by_id["btc-peak-2025"].reproduced is None  # intraday high needs the CSV columns
    text = format_claims(results)
    assert text.count("\n[") == len(results) - 1
    assert "not checkable" in text.splitlines()[-1]


def test_directory_source_reads_raw_close(tmp_path: Path) -> None:
    prices = tmp_path / "prices"
    prices.mkdir()
    header = "date,open,high,low,close,adj_close,volume\n"
    (prices / "QQQ.csv").write_text(
        header + "2000-03-27,,,,120,100,\n2000-03-28,,,,110,92,\n", encoding="utf-8"
    )
    (prices / "GOLD.csv").write_text(
        header + "2000-03-27,,,,300,300,\n2000-03-28,,,,300,300,\n", encoding="utf-8"
    )
    assert read_price_column(prices / "QQQ.csv", "close").tolist() == [120.0, 110.0]
    source = DirectorySource(tmp_path)
    common = {
        "kind": "ratio_level",
        "numerator": "QQQ",
        "denominator": "GOLD",
        "start": "2000-03-27",
        "end": "2000-03-28",
        "stat": "max",
        "expected": 0.4,
        "tolerance": 0.001,
    }
    raw = check_one(source, **common, field="close")
    adjusted = check_one(source, **common, field="adj_close")
    total_return = check_one(source, **common)
    assert raw.measured == pytest.approx(0.4) and raw.reproduced is True
    assert adjusted.measured == pytest.approx(1 / 3)
    assert total_return.measured == pytest.approx(1 / 3)  # `price` is adj_close
    missing = check_one(source, **common, field="high")
    assert missing.reproduced is None and "'high'" in missing.note


# --------------------------------------------------------------------------- the claims file


def test_embedded_claims_load_and_are_unique() -> None:
    claims = load_claims()
    ids = [c.id for c in claims]
    assert len(ids) == len(set(ids)) == 12
    assert {c.kind for c in claims} == {"ratio_level", "correlation", "return", "drawdown"}
    assert all(c.source and c.tolerance >= 0 for c in claims)


USER_CLAIM = """\
claims:
  - id: my-spy-level
    claim: SPY above 500
    source: me
    kind: ratio_level
    numerator: SPY
    start: 2024-01-01
    end: 2024-12-31
    stat: max
    expected: 500
    {tolerance_key}: 10
"""


def test_user_claims_file_is_appended(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(USER_CLAIM.format(tolerance_key="tolerance"), encoding="utf-8")
    claims = load_claims(path)
    assert claims[-1].id == "my-spy-level" and claims[-1].tolerance == 10
    assert len(claims) == len(load_claims()) + 1


def test_typo_in_user_file_names_file_line_and_claim(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(USER_CLAIM.format(tolerance_key="tolerence"), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_claims(path)
    err = info.value
    assert str(path) in err.problem
    assert "'my-spy-level'" in err.problem
    assert "tolerence" in err.problem
    assert f"{path}:11:" in err.problem
    assert "did you mean 'tolerance'" in err.fix


@pytest.mark.parametrize(
    ("replace", "needle"),
    [
        (("kind: ratio_level", "kind: ratio"), "kind: must be one of"),
        (("    stat: max\n", ""), "stat: required key is missing"),
        (("expected: 500", "expected: [600, 500]"), "low > high"),
        (
            ("    stat: max\n", "    stat: max\n    alternatives:\n      - {label: x, stt: min}\n"),
            "alternatives[0] (x): stt: unknown key (did you mean 'stat'?)",
        ),
        (("id: my-spy-level", "id: spx-gold-2000-top"), "already used in engine/reference"),
    ],
)
def test_bad_user_claims_are_config_errors(
    tmp_path: Path, replace: tuple[str, str], needle: str
) -> None:
    path = tmp_path / "mine.yaml"
    text = USER_CLAIM.format(tolerance_key="tolerance").replace(*replace)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_claims(path)
    assert str(path) in info.value.problem
    assert needle in info.value.problem


def test_user_file_layout_errors(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("- id: x\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="one top-level key `claims:`"):
        load_claims(path)
    path.write_text("claims: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="YAML syntax error"):
        load_claims(path)
    with pytest.raises(ConfigError, match="not found"):
        load_claims(tmp_path / "absent.yaml")


# --------------------------------------------------------------------------- real snapshot

# measured value, reproduced, closest method, on the shared snapshot (prices to 2026-08-21)
REAL_ANSWERS: dict[str, tuple[float, bool, str | None]] = {
    "spx-gold-2000-top": (5.4316, True, "max over calendar 2000: 5.545"),
    "spx-gold-2011-floor": (0.59849, True, "mean of Aug-Sep 2011: 0.6689"),
    "spx-gold-2026": (1.4347, True, "mean of February 2026: 1.388"),
    "qqq-gold-2000-ceiling": (0.41410, True, "main measurement: 0.4141"),
    "qqq-gold-resistance": (0.22526, False, "2001 rebound high: 0.2549"),
    "btc-nvda-corr-3m": (0.28592, False, "weekly_returns: 0.4829"),
    "btc-ndx-corr-30d": (0.53234, True, "daily_returns: 0.5323"),
    "btc-after-sept-2025-cut": (-20.991, True, "two months (to 2025-11-17): -20.93"),
    "nasdaq-after-sept-2025-cut": (6.2567, True, "main measurement: 6.257"),
    "btc-peak-2025": (126198.07, True, "main measurement: 126,198"),
    "btc-low-after-peak": (57747.77, True, "low by 2026-02-28: 60,074"),
    "btc-drawdown-126k-60k": (-54.240, True, "low by 2026-02-28: -52.4"),
}


@pytest.mark.realdata
def test_claims_on_the_real_snapshot() -> None:
    if not (SHARED_DATA / "prices").is_dir():
        pytest.skip(f"real-data snapshot not found at {SHARED_DATA} (set PLAYBOOK_SHARED_DATA)")
    results = check_claims(DirectorySource(SHARED_DATA), load_claims())
    by_id = {r.id: r for r in results}
    assert set(by_id) == set(REAL_ANSWERS)
    for cid, (value, reproduced, closest) in REAL_ANSWERS.items():
        r = by_id[cid]
        assert r.measured == pytest.approx(value, rel=2e-4), cid
        assert r.reproduced is reproduced, cid
        assert r.closest_method == closest, cid
    # the methods say which data answered
    assert "XAUUSD_LBMA_AM" in by_id["spx-gold-2000-top"].method
    assert "GC=F" in by_id["spx-gold-2026"].method
    assert "QQQ (Invesco QQQ ETF) close" in by_id["qqq-gold-2000-ceiling"].method
    # BTC-NVDA: neither daily returns nor price levels come near 0.96 in this window
    nvda = by_id["btc-nvda-corr-3m"]
    assert "price_levels -0.22" in nvda.note
    assert "65 shared days" in nvda.window
    # the Feb 2026 low (intraday 60,074 on 2026-02-06) is the one the claim quotes
    assert "low 57,748 on 2026-07-01" in by_id["btc-low-after-peak"].note
    text = format_claims(results)
    assert "12 claims: 10 reproduced, 2 not reproduced, 0 not checkable" in text
