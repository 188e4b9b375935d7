"""A user's own strategy, from anywhere (issue 19): names, module:Class, file.py[:Class],
entry points; built-ins cannot be shadowed; the source is recorded; author guard rails."""

from __future__ import annotations

import hashlib
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import example, given, settings
from hypothesis import strategies as st

from engine.cli.scaffold import new_strategy
from engine.core.schedule import build_schedule, unused_signals_note
from engine.errors import ConfigError
from engine.runs import strategy_loader
from engine.runs.backtest import run_backtest, window_explained
from engine.runs.config import RunConfig, load_run_config
from engine.runs.strategy_loader import absolute_spec, get_strategy, resolve
from engine.testing import tiny_panel
from strategies import REGISTRY
from strategies.baselines import SixtyForty

TREND = """
import pandas as pd
from pydantic import Field

from engine.core.trading_days import above_trading_day_average
from engine.core.strategy import Strategy, StrategyParams


class TrendParams(StrategyParams):
    sma_bars: int = Field(200, ge=2, description="average length, trading sessions")


class Trend(Strategy):
    name = "{name}"
    thesis = "QQQ above its average, else GLD."
    Params = TrendParams
    triggers = {triggers}

    def universe(self):
        return ("QQQ", "GLD")

    def signals(self, panel):
        price = panel.prices["QQQ"]
        up = above_trading_day_average(price, panel.traded["QQQ"], self.p.sma_bars)
        return pd.DataFrame({{"trend_up": up}}, index=panel.index)

    def on_event(self, event, ctx):
        {body}
"""
READS = 'pick = "QQQ" if ctx.signal("trend_up") == 1.0 else "GLD"\n        return {pick: 1.0}'
IGNORES = 'return {"QQQ": 1.0} if event.kind == "start" else None'


def write(folder: Path, name: str = "my-trend", triggers: str = '("trend_up",)', body=READS):
    path = folder / "my_trend.py"
    path.write_text(textwrap.dedent(TREND.format(name=name, triggers=triggers, body=body)))
    return path


def test_a_file_spec_resolves_with_its_content_hash(tmp_path):
    path = write(tmp_path)
    cls, source = resolve(f"{path}:Trend")
    assert cls.name == "my-trend" and source.kind == "file"
    assert source.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert source.spec == f"{path.resolve()}:Trend"
    only, _ = resolve(str(path))  # the file's only Strategy class
    assert only is cls


def test_an_edited_file_is_loaded_again(tmp_path):
    path = write(tmp_path)
    first, _ = resolve(str(path))
    path.write_text(path.read_text().replace('"my-trend"', '"my-trend-2"'))
    second, _ = resolve(str(path))
    assert (first.name, second.name) == ("my-trend", "my-trend-2")


def test_a_config_names_a_file_relative_to_itself(tmp_path, monkeypatch):
    (tmp_path / "lib").mkdir()
    write(tmp_path / "lib")
    config_path = tmp_path / "cfg" / "trend.yaml"
    config_path.parent.mkdir()
    config_path.write_text("strategy: ../lib/my_trend.py:Trend\nbenchmark: QQQ\n")
    monkeypatch.chdir(tmp_path / "cfg")
    config = load_run_config(config_path)
    assert config.strategy == f"{(tmp_path / 'lib' / 'my_trend.py').resolve()}:Trend"
    assert get_strategy(config.strategy).name == "my-trend"


def test_module_spec_imports_from_the_current_folder(tmp_path, monkeypatch):
    write(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    cls, source = resolve("my_trend:Trend")
    assert cls.name == "my-trend" and source.kind == "module"
    sys.modules.pop("my_trend", None)


def test_unknown_names_and_classes_suggest_the_close_one(tmp_path):
    with pytest.raises(ConfigError, match="unknown strategy 'hayes-pivt'") as info:
        resolve("hayes-pivt")
    assert "did you mean 'hayes-pivot'" in info.value.fix
    path = write(tmp_path)
    with pytest.raises(ConfigError, match="no class 'Trnd'") as info:
        resolve(f"{path}:Trnd")
    assert "did you mean 'Trend'" in info.value.fix
    with pytest.raises(ConfigError, match="not found"):
        resolve(str(tmp_path / "nope.py"))


def test_a_file_naming_itself_like_a_builtin_is_an_error(tmp_path):
    path = write(tmp_path, name="60-40")
    with pytest.raises(ConfigError, match="name of a built-in strategy") as info:
        resolve(str(path))
    assert "own `name`" in info.value.fix
    assert REGISTRY["60-40"] is SixtyForty


class _Point:
    def __init__(self, name: str, value: object) -> None:
        self.name, self.value, self._obj = name, "pkg.mod:Cls", value
        self.dist = type("Dist", (), {"name": "pkg"})()

    def load(self) -> object:
        return self._obj


def test_entry_points_register_and_cannot_shadow_builtins(tmp_path, monkeypatch):
    cls, _ = resolve(str(write(tmp_path)))
    builtins = list(strategy_loader.entry_points(group=strategy_loader.ENTRY_POINT_GROUP))
    points = [*builtins, _Point("my-trend", cls)]  # playbook's own (the built-ins) + a package's
    monkeypatch.setattr(strategy_loader, "entry_points", lambda group: points)
    found, source = resolve("my-trend")
    assert found is cls and source.kind == "entry point" and "pkg" in source.origin
    assert strategy_loader.available()["my-trend"][1].kind == "entry point"
    points.append(_Point("60-40", cls))
    with pytest.raises(ConfigError, match="entry point '60-40' of pkg"):
        resolve("60-40")


def test_a_broken_file_is_one_line_with_its_line_number(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("import pandas\n\nraise RuntimeError('boom')\n")
    with pytest.raises(ConfigError, match=r"broken.py:3 failed to load: RuntimeError: boom"):
        resolve(str(path))


def test_run_records_the_resolved_source(tmp_path):
    path = write(tmp_path)
    config = load_run_config(_config(tmp_path, f"strategy: {path.name}"))
    result = run_backtest(config)
    assert result.source is not None and result.source.sha256 is not None
    assert result.config.strategy == f"{path.resolve()}:Trend"


def _config(folder: Path, text: str) -> Path:
    path = folder / "c.yaml"
    path.write_text(text + "\nbenchmark: QQQ\n")
    return path


def test_unused_signals_guard_rail_names_the_signals(tmp_path):
    quiet = get_strategy(str(write(tmp_path, triggers="()", body=IGNORES)))()
    panel = tiny_panel({"QQQ": [100.0 + i for i in range(40)], "GLD": [50.0] * 40})
    note = unused_signals_note(quiet, build_schedule(quiet, panel))
    assert "computes signals (trend_up) but never uses them" in note
    assert "triggers" in note
    reads = get_strategy(str(write(tmp_path, triggers="()")))()  # reads them on events
    assert unused_signals_note(reads, build_schedule(reads, panel)) == ""


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_no_builtin_trips_the_unused_signals_guard_rail(name):
    result = run_backtest(RunConfig(strategy=name))
    assert not any("never uses them" in note for note in result.notes)


def test_the_default_window_start_is_explained_with_start_suggested():
    index = pd.bdate_range("2030-01-01", periods=800)
    young = pd.Series(50.0, index=index[400:])
    panel = tiny_panel({"QQQ": [100.0] * 800, "GLD": young})
    panel = panel.__class__(**{**panel.__dict__, "window_start": index[400]})
    config = RunConfig(strategy="60-40")
    text = window_explained(config, panel)
    assert text.startswith(f"window starts {index[400].date()}, the first bar of GLD")
    years = (index[400] - index[0]).days / 365.25  # textbook: calendar days over 365.25
    assert f"drops {years:.1f} years of QQQ" in text and f"--start {index[0].date()}" in text
    short = tiny_panel({"QQQ": [100.0] * 300, "GLD": pd.Series(50.0, index=index[100:300])})
    short = short.__class__(**{**short.__dict__, "window_start": index[100]})
    assert "--start" not in window_explained(config, short)


def test_absolute_spec_leaves_names_and_modules_alone(tmp_path):
    assert absolute_spec("60-40", tmp_path) == "60-40"
    assert absolute_spec("pkg.mod:Cls", tmp_path) == "pkg.mod:Cls"
    assert absolute_spec("x.py:C", tmp_path) == f"{(tmp_path / 'x.py').resolve()}:C"


def test_new_strategy_refuses_to_overwrite_and_builtin_names(tmp_path):
    written = new_strategy("qqq-trend", tmp_path)
    assert [p.name for p in written] == [
        "qqq_trend.py",
        "qqq-trend.yaml",
        "qqq-trend-sweep.yaml",
        "test_qqq_trend.py",
    ]
    with pytest.raises(ConfigError, match="already exist"):
        new_strategy("qqq-trend", tmp_path)
    with pytest.raises(ConfigError, match="built-in"):
        new_strategy("hayes-pivot", tmp_path / "x")


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("class", "is a Python keyword"),  # `from class import Class` in the test
        ("pandas", "already installed"),  # pandas.py would hide pandas from the test
        ("json", "already installed"),
        ("engine", "already installed"),
        ("strategy", "the class Strategy would hide"),  # class Strategy(Strategy)
        ("panel", "the class Panel would hide"),
        ("none", "the class None would be a Python keyword"),  # class None(Strategy)
    ],
)
def test_new_strategy_refuses_names_whose_files_would_not_work(name, says, tmp_path):
    with pytest.raises(ConfigError, match=says):
        new_strategy(name, tmp_path)
    assert not list(tmp_path.iterdir())


def test_new_strategy_writes_all_its_files_or_none(tmp_path, monkeypatch):
    """A full disk at the third file leaves none of the four, and one line with exit 5."""
    import errno

    from engine.cli import cli, scaffold

    calls = []
    real = scaffold.write_file_atomically

    def fails_third(path, write, **kwargs):
        calls.append(path)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, write, **kwargs)

    monkeypatch.setattr(scaffold, "write_file_atomically", fails_third)
    result = CliRunner().invoke(cli, ["new", "strategy", "qqq-trend", "--dir", str(tmp_path)])
    assert result.exit_code == 5, result.output
    assert result.output.startswith("error: ") and len(result.output.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())


def test_a_run_of_a_strategy_whose_signals_nothing_reads_says_so(tmp_path):
    """The issue: signals without `triggers`, never read, traded only on Fed dates, silently."""
    path = write(tmp_path, triggers="()", body=IGNORES)
    result = run_backtest(load_run_config(_config(tmp_path, f"strategy: {path.name}")))
    assert result.notes[0].startswith("window starts")  # the run's first line
    assert "never uses them" in result.notes[1] and "triggers" in result.notes[1]


def test_builtins_are_playbooks_own_entry_points_and_match_the_registry():
    """The engine finds built-ins through pyproject's entry points, never by importing
    strategies/; `strategies.REGISTRY` (for readers and tests) lists the same classes."""
    available = strategy_loader.available()
    builtins = {n: cls for n, (cls, src) in available.items() if src.kind == "built-in"}
    assert builtins == REGISTRY
    assert strategy_loader.builtin_names() == sorted(REGISTRY)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@example(name="none")
@example(name="true")
@example(name="class")
@example(name="json")
@given(
    name=st.one_of(st.from_regex(r"[a-z][a-z0-9_-]{0,12}", fullmatch=True), st.text(max_size=12))
)
def test_any_new_strategy_name_writes_working_python_or_is_refused(name):
    """Whatever NAME is: a ConfigError, or four files whose Python compiles and whose test
    imports the strategy module by a name that is neither a keyword nor an installed module."""
    import importlib.util
    import keyword
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        try:
            written = new_strategy(name, Path(folder))
        except ConfigError as exc:
            assert exc.one_line() and not list(Path(folder).iterdir())
            return
        module = name.replace("-", "_")
        assert module.isidentifier() and not keyword.iskeyword(module)
        assert importlib.util.find_spec(module) is None
        for path in written:
            if path.suffix == ".py":
                compile(path.read_text(), str(path), "exec")
