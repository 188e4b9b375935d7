"""Sweep configs: a base run config plus a parameter grid or a seeded random sample of it.

```yaml
base: ../hayes-pivot.yaml          # a run config, relative to this file
grid:
  stress_threshold: [0.4, 0.5, 0.6]
  kre_drawdown_pct: {start: 10, stop: 30, step: 10}   # inclusive stop
sample: {n: 50, seed: 7}           # optional: a random subset of the grid
blocks: 12                         # CSCV blocks (even) for PBO and walk-forward
split: {oos_start: 2022-01-01}     # optional in-sample / out-of-sample columns
walk_forward: {train_blocks: 4}    # optional: pick on k blocks, test on the next
metric: sharpe                     # what "best" means
heatmap: [stress_threshold, kre_drawdown_pct]
```
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, overload

import numpy as np
from pydantic import Field, model_validator

from engine.errors import ConfigError
from engine.io.yaml_models import Frozen, did_you_mean, read_yaml, validate
from engine.runs.config import RunConfig, load_run_config_with_lines
from engine.runs.strategy_loader import get_strategy

MAX_SETS = 1_000_000  # sets a sweep may run; a grid may be larger only when sampled
MAX_GRID = 10**15  # combinations a sample may be drawn from (indices stay exact int64)


class Range(Frozen):
    start: float = Field(allow_inf_nan=False)
    stop: float = Field(allow_inf_nan=False)
    step: float = Field(gt=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _not_empty(self) -> Range:
        count = self.count()
        if count < 1:
            raise ValueError(
                f"range {self.start}..{self.stop} is empty (stop is before start; "
                "write the smaller value as start)"
            )
        if count > MAX_SETS:
            raise ValueError(f"range {self.start}..{self.stop} by {self.step} has {count} values")
        return self

    def count(self) -> int:
        return math.floor((self.stop - self.start) / self.step + 1e-9) + 1

    def values(self) -> list[float]:
        return [round(self.start + i * self.step, 12) for i in range(self.count())]


class Sample(Frozen):
    n: int = Field(gt=0, le=MAX_SETS, description="how many parameter sets to draw")
    seed: int = Field(0, description="seed of the draw")


class Split(Frozen):
    oos_start: dt.date = Field(description="first day of the out-of-sample part")


class WalkForward(Frozen):
    train_blocks: int = Field(ge=1, description="blocks to pick the best on, tested on the next")


class SweepSpec(Frozen):
    base: Path = Field(description="the run config to sweep, relative to the sweep file")
    grid: dict[str, Annotated[list[Any], Field(min_length=1)] | Range] = Field(
        min_length=1, description="param -> values (a non-empty list or a range)"
    )
    sample: Sample | None = None
    blocks: int = Field(12, ge=2, le=32, description="CSCV blocks (even)")
    split: Split | None = None
    walk_forward: WalkForward | None = None
    metric: Literal["sharpe", "sortino", "cagr", "calmar"] = "sharpe"
    chunk_size: int | None = Field(None, gt=0, description="sets per vectorbt call")
    memory_budget_mb: int = Field(1024, ge=64, description="bounds the chunk size")
    heatmap: tuple[str, str] | None = None

    @model_validator(mode="after")
    def _checks(self) -> SweepSpec:
        if self.blocks % 2:
            raise ValueError(f"blocks must be even for CSCV, got {self.blocks}")
        if self.walk_forward and self.walk_forward.train_blocks >= self.blocks:
            raise ValueError("walk_forward.train_blocks must be fewer than blocks")
        if self.heatmap and any(p not in self.grid for p in self.heatmap):
            raise ValueError(f"heatmap params {list(self.heatmap)} must be grid keys")
        total = self.combinations()
        if total > MAX_GRID:
            raise ValueError(f"the grid has {total:.3g} combinations, more than can be sampled")
        if self.sample is None and total > MAX_SETS:
            raise ValueError(
                f"the grid has {total} combinations (at most {MAX_SETS} run): "
                "add `sample: {n: ..., seed: ...}` or narrow it"
            )
        return self

    def combinations(self) -> int:
        """How many parameter sets the full grid holds, without listing them."""
        return math.prod(v.count() if isinstance(v, Range) else len(v) for v in self.grid.values())

    def values(self) -> dict[str, list[Any]]:
        return {k: v.values() if isinstance(v, Range) else list(v) for k, v in self.grid.items()}


def load_sweep(path: Path) -> tuple[SweepSpec, RunConfig, dict]:
    """The sweep spec and its base run config, both validated, errors with file and line."""
    path = Path(path)
    data, lines = read_yaml(path)
    spec = validate(
        SweepSpec, data, lines, path, examples="see configs/sweeps/ for working sweep files"
    )
    base_path = spec.base if spec.base.is_absolute() else (path.parent / spec.base).resolve()
    if not base_path.is_file():
        where = f"{path}:{lines.get(('base',), '?')}"
        raise ConfigError(f"{where}: base config {base_path} not found", "fix the `base:` path")
    base, _ = load_run_config_with_lines(base_path)
    params_model = get_strategy(base.strategy).Params
    for key in spec.grid:
        if key not in params_model.model_fields:
            hint = did_you_mean(key, list(params_model.model_fields))
            raise ConfigError(
                f"{path}:{lines.get(('grid', key), '?')}: grid.{key}: not a parameter of "
                f"{base.strategy}",
                hint or "see `playbook strategies`",
            )
    return spec, base, lines


def expand(spec: SweepSpec, base: RunConfig) -> list[dict[str, Any]]:
    """Every parameter set, in a deterministic order, each validated by the strategy."""
    sets = param_sets(spec, base)
    params_model = get_strategy(base.strategy).Params
    for params in sets:
        check_set(params_model, sets.keys, params)
    return list(sets)


class ParamSets(Sequence[dict[str, Any]]):
    """A sweep's parameter sets in their order (the grid's product order, or the sample's
    sorted grid indices), each set made when it is asked for: a million sets as dicts were
    half a gigabyte before the first chunk ran (issue 22). Set i is the base config's
    params updated with the i-th combination of the grid's values."""

    def __init__(
        self,
        base_params: dict[str, Any],
        values: dict[str, list[Any]],
        picked: np.ndarray | None,
        total: int,
    ) -> None:
        self.base_params = base_params
        self.values = values
        self.keys = list(values)
        self.picked = picked  # sorted grid indices of a sample; None: the whole grid
        self.total = total if picked is None else len(picked)

    def __len__(self) -> int:
        return self.total

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self.total))]
        if not -self.total <= index < self.total:
            raise IndexError(index)
        index %= self.total
        grid_index = index if self.picked is None else int(self.picked[index])
        combo = _combination(self.values, self.keys, grid_index)
        return {**self.base_params, **dict(zip(self.keys, combo, strict=True))}


def param_sets(spec: SweepSpec, base: RunConfig) -> ParamSets:
    """The sweep's parameter sets, not yet validated (`check_set`), none listed."""
    values = spec.values()
    total = spec.combinations()
    picked = None
    if spec.sample is not None and spec.sample.n < total:
        rng = np.random.default_rng(spec.sample.seed)
        picked = np.sort(rng.choice(total, size=spec.sample.n, replace=False))
    return ParamSets(dict(base.params), values, picked, total)


def check_set(params_model: type[Any], keys: list[str], params: dict[str, Any]) -> Any:
    """The set's params validated by the strategy (its Params), or one ConfigError line
    naming the set by its swept values."""
    where = f"sweep set {dict((k, params[k]) for k in keys)}"
    return validate(params_model, params, {}, where, prefix=("params",))


def _combination(values: dict[str, list[Any]], keys: list[str], index: int) -> tuple:
    """The index-th combination in itertools.product order (the last key varies fastest)."""
    picks = []
    for key in reversed(keys):
        index, digit = divmod(index, len(values[key]))
        picks.append(values[key][digit])
    return tuple(reversed(picks))


def param_id(params: dict[str, Any]) -> str:
    text = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]
