"""A user's strategy that slips is named as the culprit, in one line, never as playbook's bug.

Before, every one of these ended in `internal error: KeyError: 'trendup' (fix: rerun with
--debug and report the traceback)`, exit 1: the user was told to report a bug in playbook
for a typo in their own file. Now the engine checks what it takes from a strategy at the
boundary (`SignalFrame.of`, `Context.signal`, `validate_weights`) and the CLI names any
exception raised in a strategy's own code with its file, line and function
(`engine.runs.strategy_failure`): exit 6, nothing written. The classes stay fixed by
fuzzing what `signals()` and `on_event` may return.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.cli import cli
from engine.core.schedule import build_schedule
from engine.core.strategy import Context, Event, Strategy
from engine.errors import ExitCode, PlaybookError, StrategyError
from engine.runs.strategy_failure import strategy_code_failure
from engine.testing import tiny_panel

# a user's strategy file; each case below changes one line of it
STRATEGY = """\
import pandas as pd

from engine.core.strategy import Strategy, StrategyParams


class FlipParams(StrategyParams):
    days: int = 20


def doubled(x):
    return 2 * x


class Flip(Strategy):
    name = "flip"
    thesis = "Hold SPY while it is above its 20-day average, else TLT."
    Params = FlipParams
    triggers = ("up",)

    def universe(self):
        return ("SPY", "TLT")

    def signals(self, panel):
        price = panel.prices["SPY"]
        up = price > price.rolling(self.p.days).mean()
        return pd.DataFrame({"up": up}, index=panel.index)

    def on_event(self, event, ctx):
        pick = "SPY" if ctx.signal("up") else "TLT"
        return {pick: 1.0} if pick in ctx.tradable else {}
"""

SIGNALS_LINE = '        return pd.DataFrame({"up": up}, index=panel.index)'
PICK_LINE = '        pick = "SPY" if ctx.signal("up") else "TLT"'
RETURN_LINE = "        return {pick: 1.0} if pick in ctx.tradable else {}"

# (case, line replaced, its replacement, what the error line must say)
UNIVERSE_LINE = '        return ("SPY", "TLT")'

SLIPS = [
    (
        "universe() without its comma",
        UNIVERSE_LINE,
        '        return ("SPY")',
        "flip: universe() returned 'SPY', not a tuple of symbols",
    ),
    (
        "universe() holding a number",
        UNIVERSE_LINE,
        '        return ("SPY", 1)',
        "flip: universe() holds 1, not a symbol",
    ),
    (
        "triggers without its comma",
        '    triggers = ("up",)',
        '    triggers = "up"',
        "flip: triggers is the string 'up'",
    ),
    (
        "rebalance() misspelt",
        "    def universe(self):",
        '    def rebalance(self):\n        return "montly"\n\n    def universe(self):',
        "rebalance() returned 'montly', not a schedule (fix: did you mean 'monthly'?)",
    ),
    (
        "inputs() not Inputs",
        "    def universe(self):",
        '    def inputs(self):\n        return ("DGS10",)\n\n    def universe(self):',
        "flip: inputs() returned ('DGS10',), not Inputs",
    ),
    (
        "a trigger that is no signal",
        '    triggers = ("up",)',
        '    triggers = ("upp",)',
        "flip: trigger 'upp' is not one of its signals (up)",
    ),
    (
        "ctx.signal of a name it does not return",
        PICK_LINE,
        '        pick = "SPY" if ctx.signal("upp") else "TLT"',
        "on_event read signal 'upp' on 2030-01-01: its signals are up",
    ),
    (
        "signals() returns a Series",
        SIGNALS_LINE,
        "        return up",
        "flip: signals() returned Series, not a DataFrame",
    ),
    (
        "signals() returns None",
        SIGNALS_LINE,
        "        return None",
        "flip: signals() returned NoneType, not a DataFrame",
    ),
    (
        "a trigger of words",
        SIGNALS_LINE,
        '        return pd.DataFrame({"up": up.map({True: "yes", False: "no"})}, '
        "index=panel.index)",
        "flip: trigger 'up' holds str values, not flags",
    ),
    (
        "two signal columns of one name",
        SIGNALS_LINE,
        "        return pd.concat([up.rename('up'), up.rename('up')], axis=1)",
        "flip: signals() returned two columns of one name",
    ),
    (
        "on_event returns a list",
        RETURN_LINE,
        "        return [pick]",
        "flip: on_event returned list on 2030-01-01, not weights",
    ),
    (
        "a weight in words",
        RETURN_LINE,
        '        return {pick: "all of it"}',
        "flip: weight 'all of it' for TLT on 2030-01-01 is not a number",
    ),
    (
        "a weight of None",
        RETURN_LINE,
        "        return {pick: None}",
        "flip: weight None for TLT on 2030-01-01 is not a number",
    ),
    (
        "on_event raises",
        PICK_LINE,
        "        pick = 1 / 0",
        "strategy flip raised ZeroDivisionError: division by zero in on_event "
        "(flip.py, line {line})",
    ),
    (
        "signals() reads a symbol it does not have",
        '        price = panel.prices["SPY"]',
        '        price = panel.prices["SPYY"]',
        "strategy flip raised KeyError: 'SPYY' in signals (flip.py, line {line})",
    ),
    (
        "a helper of the file raises",
        "    return 2 * x",
        "    return 2 * x[0]",
        "strategy flip raised TypeError: 'float' object is not subscriptable in doubled "
        "(flip.py, line {line})",
    ),
]


def write_case(folder: Path, line: str, replacement: str) -> tuple[Path, int]:
    """The strategy file with `line` replaced and its config; the replaced line's number."""
    assert STRATEGY.count(line) == 1, line
    text = STRATEGY.replace(line, replacement)
    if "x[0]" in replacement:  # the helper is called from on_event
        text = text.replace(RETURN_LINE, "        doubled(1.0)\n" + RETURN_LINE)
    (folder / "flip.py").write_text(text)
    config = folder / "flip.yaml"
    config.write_text("name: flip\nstrategy: flip.py:Flip\nbenchmark: SPY\nend: 2031-06-30\n")
    return config, text.splitlines().index(replacement.splitlines()[0]) + 1


def run_cli(args: list[str], folder: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(folder)
    monkeypatch.setenv("PLAYBOOK_RESULTS", str(folder / "results"))
    return CliRunner().invoke(cli, args)


def one_error_line(result) -> str:
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: ") and "(fix: " in lines[0], lines[0]
    assert "internal error" not in result.output
    return lines[0]


def test_the_unchanged_file_runs(tmp_path, monkeypatch):
    config, _ = write_case(tmp_path, RETURN_LINE, RETURN_LINE)
    result = run_cli(["run", str(config), "--no-report"], tmp_path, monkeypatch)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("case", "line", "replacement", "says"), SLIPS, ids=[s[0] for s in SLIPS])
def test_a_strategy_slip_is_one_line_naming_it_and_exit_6(
    case, line, replacement, says, tmp_path, monkeypatch
):
    config, number = write_case(tmp_path, line, replacement)
    result = run_cli(["run", str(config), "--no-report"], tmp_path, monkeypatch)
    assert result.exit_code == ExitCode.STRATEGY, result.output
    assert says.format(line=number) in one_error_line(result)
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").rglob("*.json"))


@pytest.mark.slow
@pytest.mark.parametrize("command", ["sweep", "scenario"])
def test_a_raising_strategy_in_a_sweep_or_scenario_is_named_and_writes_nothing(
    command, tmp_path, monkeypatch
):
    config, _ = write_case(tmp_path, PICK_LINE, "        pick = 1 / 0")
    (tmp_path / "grid.yaml").write_text("base: flip.yaml\ngrid:\n  days: [10, 20]\nblocks: 2\n")
    args = (
        ["sweep", "grid.yaml", "--out", str(tmp_path / "out")]
        if command == "sweep"
        else ["scenario", "run", str(config), "--paths", "2", "--scenario", "soft-landing"]
    )
    result = run_cli(args, tmp_path, monkeypatch)
    assert result.exit_code == ExitCode.STRATEGY, result.output
    assert "strategy flip raised ZeroDivisionError" in one_error_line(result)
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").rglob("*.json"))


@pytest.mark.slow
def test_a_universe_given_as_a_list_sweeps(tmp_path, monkeypatch):
    """A list is a fine universe (runs and scenarios took it); a sweep grouped sets by it
    and crashed on `unhashable type: 'list'`."""
    write_case(tmp_path, UNIVERSE_LINE, '        return ["SPY", "TLT"]')
    (tmp_path / "grid.yaml").write_text("base: flip.yaml\ngrid:\n  days: [10, 20]\nblocks: 2\n")
    result = run_cli(["sweep", "grid.yaml", "--out", str(tmp_path / "out")], tmp_path, monkeypatch)
    assert result.exit_code == 0, result.output


def test_signals_of_words_dates_and_objects_are_explained_and_plotted(tmp_path, monkeypatch):
    """Signal columns a strategy keeps besides its triggers may be words, dates or mixed
    objects (ctx.signal hands them out as they are): `playbook signals` crashed on them
    (internal error: could not convert string to float) and left bool flags off the plot."""
    frame = (
        '        return pd.DataFrame({"up": up, "regime": up.map({True: "risk-on", False: '
        '"risk-off"}), "when": panel.index.to_series(), "mixed": [None, 1, "a"] * '
        "(len(up) // 3) + [None] * (len(up) % 3)}, index=panel.index)"
    )
    config, _ = write_case(tmp_path, SIGNALS_LINE, frame)
    plot = tmp_path / "signals.png"
    result = run_cli(["signals", str(config), "--plot", str(plot)], tmp_path, monkeypatch)
    assert result.exit_code == 0, result.output
    assert "regime=risk-on" in result.output and "mixed=" in result.output
    assert "on: up" in result.output  # the bool trigger counted as a flag
    assert plot.stat().st_size > 10_000


def test_params_that_are_not_strategy_params_are_refused_on_load(tmp_path, monkeypatch):
    config, _ = write_case(tmp_path, "    Params = FlipParams", "    Params = dict")
    result = run_cli(["run", str(config), "--no-report"], tmp_path, monkeypatch)
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "Flip.Params is <class 'dict'>, not a StrategyParams subclass" in one_error_line(result)


def test_a_strategy_loaded_as_a_module_is_named_too(tmp_path, monkeypatch):
    """`strategy: flipmod:Flip` (a module on the path, as a package's would be), not a file."""
    _, number = write_case(tmp_path, PICK_LINE, "        pick = 1 / 0")
    (tmp_path / "flip.py").rename(tmp_path / "flipmod.py")
    config = tmp_path / "mod.yaml"
    config.write_text("name: flip\nstrategy: flipmod:Flip\nbenchmark: SPY\nend: 2031-06-30\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    result = run_cli(["run", str(config), "--no-report"], tmp_path, monkeypatch)
    assert result.exit_code == ExitCode.STRATEGY, result.output
    line = one_error_line(result)
    raised = "strategy flip raised ZeroDivisionError: division by zero in on_event"
    assert f"{raised} (flipmod.py, line {number})" in line


def test_an_exception_in_a_built_in_strategy_stays_an_internal_error():
    """Playbook's own strategies are not user code: their exceptions are bugs to report."""
    from engine.runs.strategy_loader import get_strategy

    built_in = get_strategy("60-40")()
    with pytest.raises(Exception) as raised:
        built_in.on_event(Event(pd.Timestamp("2030-01-01"), "rebalance"), None)  # type: ignore[arg-type]
    exc = raised.value  # its traceback from the built-in's frame on (not this test's,
    exc = exc.with_traceback(exc.__traceback__.tb_next)  # a module defining a Strategy)
    assert "strategies" in exc.__traceback__.tb_frame.f_globals["__name__"]
    assert strategy_code_failure(exc) is None


def test_an_exception_in_playbooks_own_code_stays_an_internal_error():
    from engine.core.schedule import decide_all

    with pytest.raises(ValueError) as raised:
        decide_all([], PANEL, 1.0, None)  # type: ignore[arg-type]
    exc = raised.value.with_traceback(raised.value.__traceback__.tb_next)  # from engine's frame
    assert strategy_code_failure(exc) is None


# --- fuzzing what a strategy hands the engine ------------------------------------------

FUZZ = settings(
    max_examples=int(os.environ.get("PLAYBOOK_FUZZ_EXAMPLES", "150")),
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
PANEL = tiny_panel({"A": [100.0, 101.0, 99.0, 102.0, 103.0, 104.0]})
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.binary(max_size=3),
    st.complex_numbers(max_magnitude=10),
    st.just(pd.NaT),
    st.just(pd.Timestamp("2030-01-01")),
    st.just(object()),
)
REACTIONS = st.one_of(
    SCALARS,
    st.lists(SCALARS, max_size=3),
    st.dictionaries(st.one_of(st.sampled_from(["A", "B", ""]), SCALARS), SCALARS, max_size=3),
    st.dictionaries(st.just("A"), st.lists(SCALARS, max_size=2), max_size=1),
)
COLUMNS = st.lists(SCALARS, min_size=len(PANEL.index), max_size=len(PANEL.index))


class Handed(Strategy):
    """Hands the engine whatever the test gives it: a trigger column and a reaction."""

    name = "handed"
    thesis = "fuzz"
    triggers = ("flag",)

    def __init__(self, column: object, reaction: object) -> None:
        self.column, self.reaction = column, reaction
        super().__init__()

    def universe(self) -> tuple[str, ...]:
        return ("A",)

    def signals(self, panel):
        return pd.DataFrame({"flag": pd.Series(self.column, dtype=object)}, index=panel.index)

    def on_event(self, event: Event, ctx: Context):
        return self.reaction


def walk_or_strategy_error(strategy: Strategy) -> None:
    try:
        build_schedule(strategy, PANEL)
    except StrategyError as exc:
        assert exc.one_line() and "\n" not in exc.one_line()


@FUZZ
@given(reaction=REACTIONS)
def test_whatever_on_event_returns_walks_or_is_a_strategy_error(reaction):
    walk_or_strategy_error(Handed(np.ones(len(PANEL.index)), reaction))


@FUZZ
@given(column=COLUMNS)
def test_whatever_a_trigger_holds_walks_or_is_a_strategy_error(column):
    walk_or_strategy_error(Handed(column, {"A": 1.0}))


@FUZZ
@given(name=st.text(max_size=8))
def test_reading_any_signal_name_gives_its_value_or_a_strategy_error(name):
    class Reads(Handed):
        def on_event(self, event, ctx):
            ctx.signal(name)
            return None

    try:
        build_schedule(Reads([True] * len(PANEL.index), None), PANEL)
    except PlaybookError as exc:
        assert isinstance(exc, StrategyError) and name != "flag"
