"""Issue 22: a sweep's outputs read its chunk files a chunk (and a slab of moments) at a time.

The files must be those the whole table in memory gave: summary.json and heatmap.png byte
for byte, sweep.parquet the same table, sweep.html byte for byte, whatever the slab size.
"""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.reports.pages.sweep import write_sweep_page
from engine.sweep import summary as summary_module
from engine.sweep.overfit import (
    overfitting_of_slabs,
    probability_of_overfitting,
    sharpe_from_moments,
)
from engine.sweep.runner import read_identity
from engine.sweep.spec import SweepSpec
from engine.sweep.summary import chunk_files, walk_forward, walk_forward_of, walk_forward_picks
from engine.workflows.sweep import _table_and_moments, write_outputs, write_outputs_of

OUTPUTS = ("summary.json", "heatmap.png", "sweep.html")


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic 9,000-set sweep folder (5 chunks of 2,000, the last one short)."""
    from benchmarks.sweep_outputs import make

    folder = tmp_path_factory.mktemp("flat") / "sweep"
    make(9_000, folder)
    return folder


def _outputs_in_memory(folder: Path) -> Path:
    """The outputs as they were written before issue 22: every chunk in one table, every
    set's moments in one array."""
    spec = SweepSpec.model_validate(read_identity(folder)["spec"])
    table, moments = _table_and_moments(chunk_files(folder), spec.blocks)
    write_outputs(table, spec, folder, moments)
    write_sweep_page(folder)
    return folder


@pytest.mark.parametrize("slab_sets", [100_000, 4_000, 1])
def test_outputs_read_chunk_by_chunk_equal_the_whole_table_in_memory(
    made: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slab_sets: int
) -> None:
    whole = _outputs_in_memory(Path(shutil.copytree(made, tmp_path / "whole" / "sweep")))
    folder = Path(shutil.copytree(made, tmp_path / "flat" / "sweep"))
    monkeypatch.setattr(summary_module, "SLAB_SETS", slab_sets)  # 1 slab, 3 slabs, 5 slabs
    spec = SweepSpec.model_validate(read_identity(folder)["spec"])
    summary = write_outputs_of(folder, spec)
    write_sweep_page(folder)
    for name in OUTPUTS:  # the page names its folder: both are called "sweep"
        assert (folder / name).read_bytes() == (whole / name).read_bytes(), name
    assert summary == json.loads((whole / "summary.json").read_text())
    pd.testing.assert_frame_equal(
        pd.read_parquet(folder / "sweep.parquet"), pd.read_parquet(whole / "sweep.parquet")
    )


def _moments(rng: np.random.Generator, blocks: int, trials: int) -> np.ndarray:
    """Random block moments with ties (repeated trials) and trials of no variance (NaN
    Sharpe), the cases where which trial is 'the best' depends on how ties are broken."""
    n = np.full((blocks, trials), 50.0)
    s1 = rng.normal(0.01, 0.05, (blocks, trials))
    s2 = s1**2 / 50 + rng.uniform(0.01, 0.1, (blocks, trials))
    s1[:, 5:9] = s1[:, 1:2] = 0.2  # ties with trial 1, the best on every block
    s2[:, 5:9] = s2[:, 1:2] = 0.2**2 / 50 + 0.01
    s1[:, 12] = s2[:, 12] = 0.0  # no variance: NaN Sharpe
    rest = rng.normal(0, 1, (2, blocks, trials))
    return np.stack([n, s1, s2, *rest], axis=-1)


def _slabs(moments: np.ndarray, cuts: list[int]):  # type: ignore[no-untyped-def]
    edges = [0, *cuts, moments.shape[1]]
    return lambda: iter([moments[:, a:b] for a, b in itertools.pairwise(edges)])


@pytest.mark.parametrize("cuts", [[], [1], [6], [7, 13, 30], list(range(1, 40))])
def test_pbo_and_walk_forward_of_slabs_equal_those_of_the_whole_matrix(cuts: list[int]) -> None:
    moments = _moments(np.random.default_rng(3), 8, 40)
    slabs = _slabs(moments, cuts)
    assert overfitting_of_slabs(slabs) == probability_of_overfitting(moments)
    assert walk_forward_of(slabs, 3) == walk_forward(moments, 3)
    picks = walk_forward_picks(slabs, 3)  # the page shows the picked set: the first of ties
    for (picked, _, _), test in zip(picks, range(3, 8), strict=True):
        assert picked == np.nanargmax(sharpe_from_moments(moments[test - 3 : test].sum(axis=0)))
