"""Markets that have not happened: scenario models, seeded generated paths, block
bootstrap of history, their calibration, and the embedded default synthetic market.

Imports `engine.data` (sources to bootstrap and calibrate from), `engine.core`, `engine.io`.

- `load_scenario` / `scenario_names`: the scenario YAML model (configs/scenarios/*.yaml).
- `generate_paths`: seeded regime-switching paths of a scenario, one `SyntheticMarket` each,
  on one calendar with the same events and phases (`iter_paths` yields them chunk by chunk).
- `block_bootstrap`: paths resampled in blocks from real history.
- `engine.markets.calibrate`: the historical windows the scenarios' numbers come from.
"""

from engine.markets.bootstrap import block_bootstrap
from engine.markets.generator import generate_paths, iter_paths, story
from engine.markets.model import Scenario, load_scenario, scenario_names

__all__ = [
    "Scenario",
    "block_bootstrap",
    "generate_paths",
    "iter_paths",
    "load_scenario",
    "scenario_names",
    "story",
]
