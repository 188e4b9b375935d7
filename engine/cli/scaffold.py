"""`playbook new strategy NAME`: a strategy file, a config that runs at once, a sweep of it
and a test.

The files are a working thesis (hold QQQ above its 200-session average, else GLD) to edit,
not blanks to fill: the config runs on the embedded synthetic market as written, and the test
holds the strategy to the engine's look-ahead property (`engine.testing`).
"""

from __future__ import annotations

import importlib.util
import keyword
import re
from functools import partial
from pathlib import Path

from engine.errors import ConfigError
from engine.io.atomic import write_file_atomically
from engine.io.names import is_name
from engine.runs.strategy_loader import builtin_names

STRATEGY = '''"""{title}: hold QQQ while it is above its 200-session average, else GLD.

Your own playbook, loaded by `playbook run {config}` (this file is executed: it is your
code). The contract (engine/core/strategy.py):
- `Params`: the knobs, with defaults, bounds and one-line docs (a sweep varies them);
- `universe()`: what it may hold; `signals(panel)`: trailing-only series on the panel's
  calendar; `triggers`: the signals whose flips are events it hears;
- `on_event(event, ctx)`: target weights (or None to keep the current ones). It sees nothing
  after `ctx.time`; the engine trades at the next bar.
"""

from __future__ import annotations

import pandas as pd
from pydantic import Field

from engine.core.panel import Panel
from engine.core.trading_days import above_trading_day_average
from engine.core.strategy import Context, Event, Strategy, StrategyParams, Weights


class {cls}Params(StrategyParams):
    risk_on: str = Field("QQQ", description="held while it is above its average")
    risk_off: str = Field("GLD", description="held otherwise")
    # *_bars windows count the asset's trading sessions; *_days windows count calendar days
    sma_bars: int = Field(200, ge=2, le=2000, description="average length, trading sessions")


class {cls}(Strategy):
    name = "{name}"  # must not be a built-in's name (`playbook strategies`)
    thesis = "Trend: hold QQQ above its 200-session average, gold below it."
    Params = {cls}Params
    p: {cls}Params
    triggers = ("trend_up",)  # without triggers, only start/listing/Fed/rebalance events come

    def universe(self) -> tuple[str, ...]:
        return (self.p.risk_on, self.p.risk_off)

    def signals(self, panel: Panel) -> pd.DataFrame:
        price = panel.prices[self.p.risk_on]
        up = above_trading_day_average(price, panel.traded[self.p.risk_on], self.p.sma_bars)
        return pd.DataFrame({{"trend_up": up}}, index=panel.index)

    def on_event(self, event: Event, ctx: Context) -> Weights | None:
        up = ctx.signal("trend_up")
        pick = self.p.risk_on if up == 1.0 else self.p.risk_off  # unknown (NaN): defensive
        if pick not in ctx.tradable:
            return {{}}  # all cash until it has a price
        return {{pick: 1.0}}
'''

CONFIG = """# Runs at once on the embedded SYNTHETIC market: `playbook run {config}`.
# Real history: add --data-dir ../shared/data (or set data: {{source: directory, path: ...}}).
name: {name}
strategy: {file}:{cls}  # relative to this file
params:
  sma_bars: 200
benchmark: QQQ
"""

SWEEP = """# `playbook sweep {sweep}`: every set on the base config's data (add --data-dir).
base: {name}.yaml
grid:
  sma_bars: [50, 100, 150, 200, 250]
blocks: 4
"""

TEST = '''"""{title}: no look-ahead, repeatable, and the thesis on a hand-checked market."""

from __future__ import annotations

import pandas as pd

from engine.testing import (
    assert_batch_equals_walk,
    assert_no_lookahead,
    assert_repeatable,
    synthetic_market,
    tiny_panel,
    weights_on,
)
from {module} import {cls}


def test_no_lookahead_on_the_synthetic_market():
    assert_no_lookahead({cls}(), synthetic_market())


def test_repeatable():
    assert_repeatable({cls}(), synthetic_market())


def test_batch_equals_walk():
    assert_batch_equals_walk([{cls}(), {cls}({cls}.Params(sma_bars=20))], synthetic_market())


def test_holds_qqq_above_its_average_and_gold_below():
    up, down = [100 + i for i in range(30)], [130 - i for i in range(30)]
    panel = tiny_panel({{"QQQ": up + down, "GLD": [50.0] * 60}})
    strategy = {cls}({cls}.Params(sma_bars=5))
    weights = weights_on(strategy, panel)
    assert weights.loc[panel.index[20], "QQQ"] == 1.0  # rising: above its average
    assert weights.loc[panel.index[50], "GLD"] == 1.0  # falling: below it
    assert (weights.sum(axis=1) <= 1.0 + 1e-12).all()
    assert isinstance(weights.index, pd.DatetimeIndex)
'''


def new_strategy(name: str, folder: Path) -> list[Path]:
    """Write NAME.py, NAME.yaml, NAME-sweep.yaml and test_NAME.py in `folder`; nothing is
    overwritten (all or none are written)."""
    if not is_name(name) or not re.fullmatch(r"[a-z][a-z0-9_-]*", name):
        raise ConfigError(
            f"strategy name {name!r} is not a lowercase name",
            "use letters, digits, '-' or '_', starting with a letter (e.g. qqq-trend)",
        )
    if name in builtin_names():
        raise ConfigError(f"{name!r} is a built-in strategy", "choose another name")
    module = name.replace("-", "_")
    cls = "".join(part.capitalize() for part in re.split(r"[-_]", name)) or "MyStrategy"
    _check_python_names(name, module, cls)
    files = {
        folder / f"{module}.py": STRATEGY,
        folder / f"{name}.yaml": CONFIG,
        folder / f"{name}-sweep.yaml": SWEEP,
        folder / f"test_{module}.py": TEST,
    }
    existing = [str(p) for p in files if p.exists()]
    if existing:
        raise ConfigError(
            f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}",
            "choose another name or --dir (nothing is overwritten)",
        )
    folder.mkdir(parents=True, exist_ok=True)
    fields = {
        "name": name,
        "cls": cls,
        "module": module,
        "file": f"{module}.py",
        "config": str(folder / f"{name}.yaml"),
        "sweep": str(folder / f"{name}-sweep.yaml"),
        "title": name,
    }
    written: list[Path] = []
    try:  # all or none: a failure (a full disk) removes the files already written
        for path, template in files.items():
            write_file_atomically(path, partial(Path.write_text, data=template.format(**fields)))
            written.append(path)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return list(files)


# the names the strategy template imports: a class of the same name would hide one
TEMPLATE_NAMES = frozenset(
    {"Context", "Event", "Strategy", "StrategyParams", "Weights", "Panel", "Field", "pd"}
)


def _check_python_names(name: str, module: str, cls: str) -> None:
    """Refuse a name whose files would not work as Python: a keyword the test cannot import
    (`from class import Class`), a module that would hide an installed one from the test
    (pandas.py, json.py, engine.py) or a class that would hide one the template imports."""
    fix = f"choose another name (e.g. my-{name})"
    if keyword.iskeyword(module):
        raise ConfigError(f"{module!r} is a Python keyword: the test could not import it", fix)
    if keyword.iskeyword(cls):  # none -> class None, true -> class True
        raise ConfigError(f"the class {cls} would be a Python keyword", fix)
    try:
        installed = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        installed = True
    if installed:
        raise ConfigError(
            f"a module named {module!r} is already installed: {module}.py would hide it from "
            "the test and anything run in that folder",
            fix,
        )
    for made in (cls, f"{cls}Params"):
        if made in TEMPLATE_NAMES:
            raise ConfigError(
                f"the class {made} would hide the {made} the strategy file imports", fix
            )
