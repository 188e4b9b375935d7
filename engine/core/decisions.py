"""Many parameter sets' decisions as flat arrays (parameters as columns, vectorbt style).

A sweep decides for thousands of sets on one panel; a DataFrame per set costs more than the
decisions themselves. `Decisions` holds every set's decision rows in one block: set s owns
rows `offsets[s]:offsets[s + 1]`, each a decision bar (position on the panel calendar) and a
weight per symbol. `engine.core.simulate` consumes it directly; `targets(s)` gives the frame
`engine.core.schedule.build_schedule` would have returned for that set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Decisions:
    """Decision rows of many sets over one symbol list, in time order within each set."""

    symbols: tuple[str, ...]
    bar: np.ndarray  # int64, rows: the bar (panel position) each decision was taken at
    weights: np.ndarray  # float64, rows x symbols: the target weights decided there
    offsets: np.ndarray  # int64, sets + 1: set s owns rows offsets[s]:offsets[s + 1]

    def __post_init__(self) -> None:
        if self.weights.shape != (len(self.bar), len(self.symbols)):
            raise ValueError("weights must be rows x symbols")
        if len(self.offsets) == 0 or self.offsets[0] != 0 or self.offsets[-1] != len(self.bar):
            raise ValueError("offsets must run from 0 to the number of rows")

    @property
    def sets(self) -> int:
        return len(self.offsets) - 1

    def rows(self, s: int) -> slice:
        return slice(int(self.offsets[s]), int(self.offsets[s + 1]))

    def targets(self, s: int, index: pd.DatetimeIndex) -> pd.DataFrame:
        """Set s's decisions as `Schedule.targets` (decision date x symbol)."""
        rows = self.rows(s)
        return pd.DataFrame(
            self.weights[rows],
            index=pd.DatetimeIndex(index[self.bar[rows]], name="date"),
            columns=list(self.symbols),
        )

    @classmethod
    def concat(cls, parts: Sequence[Decisions]) -> Decisions:
        """The sets of `parts`, in order (all on one symbol list)."""
        if not parts:
            raise ValueError("nothing to concatenate")
        symbols = parts[0].symbols
        if any(part.symbols != symbols for part in parts):
            raise ValueError("decisions on different symbol lists")
        starts = np.cumsum([0, *(len(part.bar) for part in parts[:-1])])
        offsets = [parts[0].offsets[:1]]
        offsets += [part.offsets[1:] + start for part, start in zip(parts, starts, strict=True)]
        return cls(
            symbols=symbols,
            bar=np.concatenate([part.bar for part in parts]),
            weights=np.vstack([part.weights for part in parts]),
            offsets=np.concatenate(offsets).astype(np.int64),
        )

    @classmethod
    def from_targets(
        cls,
        targets: Sequence[pd.DataFrame],
        index: pd.DatetimeIndex,
        symbols: Sequence[str] | None = None,
    ) -> Decisions:
        """Stack per-set target frames (decision date x symbol) on `index`'s positions.

        `symbols` defaults to the union of the frames' columns in order of appearance; a set
        without a column holds 0 of it.
        """
        if symbols is None:
            symbols = list(dict.fromkeys(c for frame in targets for c in frame.columns))
        symbols = tuple(symbols)
        bars, blocks, offsets = [], [], [0]
        for frame in targets:
            at = index.get_indexer(pd.DatetimeIndex(frame.index))
            if (at < 0).any():
                raise ValueError("a decision date is not on the panel calendar")
            same = tuple(frame.columns) == symbols
            block = frame if same else frame.reindex(columns=list(symbols), fill_value=0.0)
            bars.append(at.astype(np.int64))
            blocks.append(block.to_numpy(dtype=np.float64))
            offsets.append(offsets[-1] + len(at))
        width = len(symbols)
        return cls(
            symbols=symbols,
            bar=np.concatenate(bars) if bars else np.zeros(0, np.int64),
            weights=np.vstack(blocks) if blocks else np.zeros((0, width)),
            offsets=np.asarray(offsets, dtype=np.int64),
        )
