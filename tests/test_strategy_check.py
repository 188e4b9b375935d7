"""`playbook check`: a user's strategy held to repeatable, sweep = run and no look-ahead on the
config's data, each failure named by its first difference (day, column, both values), exit 7.

The dishonest strategies below are the usual ways a backtest lies: a centered window and a
statistic of the whole series (look-ahead), a list on the class and unseeded noise (a result
that depends on what ran before), and state on the class that `signals()` reads (a sweep's
rows that differ from the runs of their sets). Each must fail the check it belongs to, and an
honest twin of the same rule must pass, on the real snapshot.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from engine.cli import cli
from engine.data.sources import DirectorySource, FrameSource
from engine.data.truncated import TruncatedSource
from engine.research.strategy_checks import cut_days, first_difference
from engine.runs.backtest import prepare
from engine.runs.config import RunConfig

STRATEGIES = '''
from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from engine.core.strategy import Strategy, StrategyParams


class P(StrategyParams):
    sma_bars: int = Field(50, ge=2, le=2000)


class Honest(Strategy):
    """QQQ while it closes above its trailing average, else cash."""

    name = "honest"
    thesis = "QQQ above its average, else cash."
    Params = P
    triggers = ("up",)

    def universe(self):
        return ("QQQ",)

    def up(self, close):
        return close > close.rolling(self.window()).mean()

    def window(self):
        return self.p.sma_bars

    def signals(self, panel):
        close = panel.prices["QQQ"].dropna()
        up = self.up(close).reindex(panel.index).ffill().fillna(False)
        return pd.DataFrame({"up": up.astype(bool)}, index=panel.index)

    def on_event(self, event, ctx):
        if "QQQ" not in ctx.tradable:
            return {}
        return {"QQQ": 1.0} if ctx.signal("up") else {}


class Centered(Honest):
    name = "centered"

    def up(self, close):
        return close > close.rolling(self.p.sma_bars, center=True).mean()


class WholeSeries(Honest):
    name = "whole-series"

    def up(self, close):
        return close / close.max() > 0.5


class ClassList(Honest):
    name = "class-list"
    fills = []  # on the class: every run and every set appends to this one list

    def on_event(self, event, ctx):
        self.fills.append(ctx.time)
        return {} if len(self.fills) > 300 else super().on_event(event, ctx)


class Noise(Honest):
    name = "noise"

    def up(self, close):
        return close * np.random.uniform(0.98, 1.02, len(close)) > close.rolling(50).mean()


class ClassWindow(Honest):
    """reset() records the window on the class and signals() reads the newest: run alone, a
    set reads its own; in a sweep, whichever set was reset last."""

    name = "class-window"
    windows = []

    def reset(self):
        self.windows.append(self.p.sma_bars)

    def window(self):
        return self.windows[-1]


class WritesPrices(Honest):
    """Writes into the panel it is given: a week of QQQ at 1.0, the prices run at 2x."""

    name = "writes-prices"

    def signals(self, panel):
        panel.prices.loc["2020-03-16":"2020-03-20", "QQQ"] = 1.0
        panel.prices["QQQ"] = panel.prices["QQQ"] * 2.0
        panel.macro.fillna(0.0, inplace=True)
        return super().signals(panel)


class Boom(Honest):
    name = "boom"

    def on_event(self, event, ctx):
        if ctx.time.year == 2005:
            raise ValueError("oops")
        return super().on_event(event, ctx)
'''


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "rules.py").write_text(STRATEGIES)
    names = ("Honest", "Centered", "WholeSeries", "ClassList", "Noise", "ClassWindow", "Boom")
    for name in (*names, "WritesPrices"):
        (tmp_path / f"{name}.yaml").write_text(
            f"strategy: rules.py:{name}\nparams: {{sma_bars: 50}}\nbenchmark: QQQ\n"
        )
        (tmp_path / f"{name}-sweep.yaml").write_text(
            f"base: {name}.yaml\ngrid:\n  sma_bars: [20, 50, 100, 150, 200]\nblocks: 4\n"
        )
    return tmp_path


def check(folder: Path, data: Path, *args: str):
    result = CliRunner().invoke(cli, ["check", *args, "--data-dir", str(data)])
    lines = {
        m.group(2): (m.group(1), m.group(3))
        for m in re.finditer(r"^(ok  |FAIL|skip)  ([a-z =-]+): (.*)$", result.stdout, re.M)
    }
    return result, lines


def test_an_honest_rule_passes_every_check_on_real_data(folder, shared_data):
    result, lines = check(folder, shared_data, str(folder / "Honest-sweep.yaml"), "--sets", "3")
    assert result.exit_code == 0, result.output
    assert [lines[c][0] for c in ("repeatable", "sweep = run", "no look-ahead")] == ["ok  "] * 3
    assert "3 sets decided together" in lines["sweep = run"][1]
    # QQQ lists in 1999: its first weeks are among the days cut (where warm-up code peeks)
    assert re.search(r"data cut after \d+ days \(1999-", lines["no look-ahead"][1])


@pytest.mark.parametrize("name", ["Centered", "WholeSeries"])
def test_a_signal_that_reads_the_future_fails_no_lookahead_naming_the_day(
    folder, shared_data, name
):
    """DESIGN.md: a bar's decision may use only what was known at its close; cutting the data
    after day D must change nothing on or before D."""
    result, lines = check(folder, shared_data, str(folder / f"{name}.yaml"))
    assert result.exit_code == 7, result.output
    mark, detail = lines["no look-ahead"]
    assert mark == "FAIL"
    found = re.search(
        r"data cut after (\S+): signal `up` on (\S+): (True|False) with all the data, "
        r"(True|False) with less",
        detail,
    )
    assert found, detail
    cut, day, full, less = found.groups()
    assert day <= cut and full != less
    # the difference is real: the rule on the whole series against the series cut at `cut`
    close = DirectorySource(shared_data).prices("QQQ")["price"]
    strategy = _load(folder, name)
    whole = strategy.up(close).loc[day]
    cut_off = strategy.up(close.loc[:cut]).loc[day]
    assert (str(bool(whole)), str(bool(cut_off))) == (full, less)
    assert lines["repeatable"][0] == "ok  " and lines["sweep = run"][0] == "ok  "
    assert result.stderr.strip().startswith("error: 1 of 3 checks failed: no look-ahead (fix:")


@pytest.mark.parametrize("name", ["ClassList", "Noise"])
def test_a_rule_that_decides_differently_each_run_fails_repeatable(folder, shared_data, name):
    result, lines = check(folder, shared_data, str(folder / f"{name}.yaml"))
    assert result.exit_code == 7, result.output
    mark, detail = lines["repeatable"]
    assert mark == "FAIL"
    assert re.search(r"run again: (signal|decision) `\w+` on \S+: .* the first time, ", detail)
    # any other difference could be chance: not judged, not passed
    assert lines["sweep = run"][0] == lines["no look-ahead"][0] == "skip"
    assert len(result.stderr.strip().splitlines()) == 1


def test_state_on_the_class_read_by_signals_fails_sweep_equals_run(folder, shared_data):
    result, lines = check(folder, shared_data, str(folder / "ClassWindow-sweep.yaml"))
    assert result.exit_code == 7, result.output
    mark, detail = lines["sweep = run"]
    assert mark == "FAIL"
    assert re.search(r"set \d \(sma_bars=\d+\): (decision bars differ|weight of QQQ)", detail)
    assert lines["repeatable"][0] == "ok  "


def test_a_sweep_file_checks_sets_spread_over_its_grid(folder, shared_data):
    result, lines = check(folder, shared_data, str(folder / "Honest-sweep.yaml"), "--sets", "2")
    assert result.exit_code == 0, result.output
    assert "(2 parameter sets)" in result.stdout
    assert "2 sets decided together" in lines["sweep = run"][1]


def test_a_strategy_that_raises_is_named_exit_6_not_a_failed_check(folder, shared_data):
    result, lines = check(folder, shared_data, str(folder / "Boom.yaml"))
    assert result.exit_code == 6, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: strategy boom raised ValueError: oops in on_event (rules.py")
    assert not lines


def test_bad_cut_days_are_one_line_each(folder, shared_data):
    config = str(folder / "Honest.yaml")
    for cut, problem in (
        ("2020-13-01", "is not a date"),
        ("-5", "is not a date"),
        ("1990-01-02", "is not inside"),
        ("2262-01-01", "is not inside"),
    ):
        result, _ = check(folder, shared_data, config, "--cut", cut)
        assert result.exit_code == 2, result.output
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith("error: ") and problem in line and "(fix: " in line


def test_given_cut_days_are_the_days_cut(folder, shared_data):
    result, lines = check(
        folder,
        shared_data,
        str(folder / "Honest.yaml"),
        "--cut",
        "2008-09-15",
        "--cut",
        "2020-03-16",
    )
    assert result.exit_code == 0, result.output
    assert "data cut after 2 days (2008-09-15, 2020-03-16)" in lines["no look-ahead"][1]


def test_default_cut_days_include_each_assets_first_weeks(shared_data):
    """Look-ahead is proven on real data including each asset's early history."""
    config = RunConfig(
        strategy="hard-assets-vs-duration", data={"source": "directory", "path": shared_data}
    )
    _, panel = prepare(config)
    days = cut_days(panel)
    firsts = [panel.prices[s].first_valid_index() for s in panel.tradable_symbols]
    for symbol, first in zip(panel.tradable_symbols, firsts, strict=True):
        assert any(first < d <= first + pd.Timedelta(days=30) for d in days), symbol
    # and days spread over the calendar from the first day something trades
    traded = panel.index[panel.index >= min(firsts)]
    for share in (0.2, 0.45, 0.7, 0.9):
        assert traded[int(share * (len(traded) - 1))] in days


def test_a_macro_history_older_than_the_assets_still_gets_cuts_where_they_trade(shared_data):
    """hayes-pivot's macro series start in the 1970s, BTC trades from 2014: every default cut
    must leave BTC a price, so every cut is a day the strategy decides on."""
    config = RunConfig(strategy="hayes-pivot", data={"source": "directory", "path": shared_data})
    _, panel = prepare(config)
    btc = panel.prices["BTC-USD"].first_valid_index()
    assert panel.index[0] < btc - pd.Timedelta(days=3650)
    days = cut_days(panel)
    assert len(days) >= 6 and min(days) > btc


def test_first_difference_names_the_first_row_and_column():
    index = pd.date_range("2030-01-01", periods=4)
    full = pd.DataFrame({"a": [1.0, np.nan, 3.0, 4.0], "b": ["x", None, "z", "w"]}, index=index)
    assert first_difference(full.copy(), full) is None  # NaN and None equal themselves
    seen = full.copy()
    seen.loc[index[2], "b"] = "q"
    seen.loc[index[3], "a"] = 5.0
    assert first_difference(seen, full) == "`b` on 2030-01-03: 'z' with all the data, 'q' with less"
    assert first_difference(full.iloc[:3], full) == "row 2030-01-04 exists only with all the data"
    assert "columns differ: b only with all the data" in first_difference(full[["a"]], full)
    nullable = full.astype({"a": "Float64"})
    seen = nullable.copy()
    seen.loc[index[1], "a"] = 2.0
    assert (
        first_difference(seen, nullable)
        == "`a` on 2030-01-02: <NA> with all the data, 2.0 with less"
    )


def test_a_truncated_source_keeps_only_what_was_known_by_the_cut():
    index = pd.date_range("2030-01-01", periods=10)
    vintages = pd.DataFrame(
        {
            "date": pd.to_datetime(["2030-01-01", "2030-01-01", "2030-01-08"]),
            "realtime_start": pd.to_datetime(["2030-01-03", "2030-01-09", "2030-01-10"]),
            "realtime_end": pd.to_datetime(["2030-01-08", "2261-12-31", "2261-12-31"]),
            "value": [1.0, 1.5, 2.0],
        }
    )
    source = FrameSource(
        {"QQQ": pd.Series(range(10), index=index, dtype=float)},
        macro={"M2SL": pd.Series([1.0, 2.0], index=index[[0, 7]])},
        vintages={"M2SL": vintages},
    )
    cut = TruncatedSource(source, "2030-01-05")
    assert cut.prices("QQQ").index[-1] == pd.Timestamp("2030-01-05")
    assert list(cut.macro("M2SL")) == [1.0]
    # the reference date after the cut is gone; the panel reads each vintage as of its bar
    assert list(cut.vintages("M2SL")["date"]) == [pd.Timestamp("2030-01-01")] * 2
    assert TruncatedSource(source, "2029-12-31").vintages("M2SL") is None


def _load(folder: Path, name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"rules_{name}", folder / "rules.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)()


def test_the_scaffold_and_the_readme_strategy_pass_every_check(tmp_path, shared_data):
    """What `playbook new strategy` writes, and the README's example, are honest on the real
    snapshot: the next step `new` prints is `playbook check`."""
    from test_own_strategy import CONFIG, SWEEP, readme_strategy

    made = CliRunner().invoke(cli, ["new", "strategy", "gold-trend", "--dir", str(tmp_path)])
    assert made.exit_code == 0, made.output
    assert f"playbook check {tmp_path / 'gold-trend.yaml'}" in made.output
    (tmp_path / "qqq_trend.py").write_text(readme_strategy())
    (tmp_path / "qqq-trend.yaml").write_text(CONFIG)
    (tmp_path / "qqq-sweep.yaml").write_text(SWEEP)
    for target in ("gold-trend-sweep.yaml", "qqq-sweep.yaml"):
        result, lines = check(tmp_path, shared_data, str(tmp_path / target), "--sets", "3")
        assert result.exit_code == 0, result.output
        assert [mark for mark, _ in lines.values()] == ["ok  "] * 3


def test_a_sweep_notes_once_when_a_set_alone_differs_from_its_row(folder, shared_data):
    """Every chunk runs its last set again alone; a difference is one note per sweep (the
    rows depend on the sets before them), an honest rule gives none."""
    for name, noted in (("ClassWindow", True), ("Honest", False)):
        spec = folder / f"{name}-sweep.yaml"
        spec.write_text(spec.read_text() + "chunk_size: 2\n")  # three chunks, three probes
        args = ["sweep", str(spec), "--data-dir", str(shared_data), "--out", str(folder / name)]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        notes = [line for line in result.stderr.splitlines() if "run again alone" in line]
        assert len(notes) == (1 if noted else 0), result.stderr
        if noted:
            assert notes[0].startswith("note: class-window: a set run again alone decides ")
            assert "`playbook check` on this sweep file" in notes[0]
        assert ('id="notes"' in (folder / name / "sweep.html").read_text()) == noted


@pytest.mark.parametrize(
    ("name", "noted"), [("ClassList", True), ("Noise", True), ("Honest", False)]
)
def test_a_scenario_notes_when_a_path_run_again_alone_differs(folder, name, noted):
    """Path 0 (run first) and the median path are run again alone after all the paths: a
    strategy whose paths depend on the paths before them says so, in the output and in
    summary.json; an honest one does not."""
    out = folder / f"scenario-{name}"
    args = ["scenario", "run", str(folder / f"{name}.yaml"), "--paths", "12"]
    result = CliRunner().invoke(cli, [*args, "--results-dir", str(out)])
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stderr.splitlines() if "run again alone" in line]
    assert len(notes) == (1 if noted else 0), result.stderr
    (summary,) = out.glob("scenarios/*/summary.json")
    recorded = json.loads(summary.read_text())["notes"]
    assert [f"note: {n}" for n in recorded] == notes


def test_api_check_holds_a_notebook_strategy_object_to_the_same_checks(folder, shared_data):
    from engine import api

    honest, centered = _load(folder, "Honest"), _load(folder, "Centered")
    verdicts = api.check(honest, data_dir=shared_data, benchmark=None)
    assert [(v.check, v.passed) for v in verdicts] == [
        ("repeatable", True),
        ("sweep = run", True),
        ("no look-ahead", True),
    ]
    found = api.check(centered, data_dir=shared_data, cuts=["2008-09-15"])[-1]
    assert found.passed is False
    assert found.detail.startswith("centered, data cut after 2008-09-15: signal `up` on 2008-")


def test_a_sweeps_note_is_kept_with_its_chunks(folder, shared_data):
    """The note is in summary.json, and a resumed sweep (every chunk already on disk) and a
    merge of shards give it again: nothing the sweep learnt is lost with the terminal."""
    spec = folder / "ClassWindow-sweep.yaml"
    spec.write_text(spec.read_text() + "chunk_size: 2\n")
    out = folder / "swept"
    args = ["sweep", str(spec), "--data-dir", str(shared_data), "--out", str(out)]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    (note,) = [line for line in first.stderr.splitlines() if "run again alone" in line]
    assert json.loads((out / "summary.json").read_text())["notes"] == [note[len("note: ") :]]
    assert 'id="notes"' in (out / "sweep.html").read_text()  # the page says it above the verdict
    again = CliRunner().invoke(cli, args)  # resumed: no chunk computed again
    assert again.exit_code == 0 and note in again.stderr.splitlines()
    shards = [folder / f"shard{k}" for k in (1, 2)]
    for k, shard in enumerate(shards, start=1):
        result = CliRunner().invoke(cli, [*args[:-1], str(shard), "--shard", f"{k}/2"])
        assert result.exit_code == 0, result.output
    merged = folder / "merged"
    result = CliRunner().invoke(cli, ["sweep", "merge", *map(str, shards), "--out", str(merged)])
    assert result.exit_code == 0, result.output
    assert json.loads((merged / "summary.json").read_text())["notes"] == [note[len("note: ") :]]


def test_assert_repeatable_is_the_repeatable_check_for_a_test_suite(folder):
    from engine.testing import assert_repeatable, synthetic_market

    assert_repeatable(_load(folder, "Honest"), synthetic_market())
    with pytest.raises(AssertionError, match=r"noise, run again: signal `up` on .* the first time"):
        assert_repeatable(_load(folder, "Noise"), synthetic_market())


def test_a_strategy_writing_into_its_panel_never_moves_the_prices_the_engine_fills_at(
    folder, shared_data
):
    """The panel a strategy's code gets is a copy-on-write copy (Panel.for_strategy): before,
    `panel.prices.loc[...] = 1.0` in signals() filled the strategy at 1.0 and moved QQQ's
    benchmark Sharpe from 0.44 to 0.19. Its own signals may read what it wrote; the run's
    prices, benchmark and fills are the data's."""
    from engine import api

    real = DirectorySource(shared_data).prices("QQQ")["price"]
    honest = api.run(_load(folder, "Honest"), data_dir=shared_data, benchmark="QQQ")
    writes = api.run(_load(folder, "WritesPrices"), data_dir=shared_data, benchmark="QQQ")
    for result in (honest, writes):
        prices = result.run.panel.prices["QQQ"].dropna()
        pd.testing.assert_series_equal(prices, real.loc[prices.index], check_names=False)
    pd.testing.assert_series_equal(writes.run.benchmark, honest.run.benchmark)
    # the strategy's return on a day it held QQQ from the close before is QQQ's own
    held = writes.weights["QQQ"].shift(1).fillna(0.0) == 1.0
    moved = writes.weights["QQQ"].diff().fillna(0.0) == 0.0
    days = writes.returns.index[held & moved & writes.returns.index.isin(real.index)]
    qqq = real.pct_change().loc[days]
    assert len(days) > 100
    assert np.allclose(writes.returns.loc[days], qqq, rtol=0, atol=1e-12)
    # a sweep of it: the same shared panel for every set, the rows are still the runs
    spec = folder / "WritesPrices-sweep.yaml"
    out = folder / "writes-sweep"
    result = CliRunner().invoke(
        cli, ["sweep", str(spec), "--data-dir", str(shared_data), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "run again alone" not in result.stderr
