"""Scenario engine: stress a playbook on many paths of futures that have not happened.

- `load_scenario` / `scenario_names`: the scenario YAML model (configs/scenarios/*.yaml).
- `generate_paths`: seeded regime-switching paths of a scenario, one `SyntheticMarket` each,
  on one calendar with the same events and phases (`iter_paths` yields them chunk by chunk).
- `block_bootstrap`: paths resampled in blocks from real history.
- `engine.scenarios.calibrate`: the historical windows the scenarios' numbers come from.
"""

from engine.scenarios.bootstrap import block_bootstrap
from engine.scenarios.generator import generate_paths, iter_paths, story
from engine.scenarios.model import Scenario, load_scenario, scenario_names

__all__ = [
    "Scenario",
    "block_bootstrap",
    "generate_paths",
    "iter_paths",
    "load_scenario",
    "scenario_names",
    "story",
]
