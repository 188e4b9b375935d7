"""Issue 22: a sweep's plan holds its grid, not its parameter sets: a chunk's sets are made
when it runs (a million sets as dicts were ~0.4 GB before the first chunk ran). The sets,
their chunks, the folder's record, its default name and the fingerprint are the same."""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from engine.errors import ConfigError
from engine.sweep.runner import make_plan
from engine.sweep.spec import load_sweep, param_id

REPO = Path(__file__).resolve().parents[1]
SPEC = """\
base: {base}
grid:
  stock_weight: [0.2, 0.35, 0.5, 0.65, 0.8]
  rebalance: [monthly, quarterly, yearly]
{sample}blocks: 4
chunk_size: 4
"""
WEIGHTS = [0.2, 0.35, 0.5, 0.65, 0.8]
REBALANCE = ["monthly", "quarterly", "yearly"]


def _spec(tmp_path: Path, sample: str = "", weights: str = "") -> Path:
    path = tmp_path / "weights.yaml"
    text = SPEC.format(base=REPO / "configs" / "60-40.yaml", sample=sample)
    path.write_text(text.replace(str(WEIGHTS).replace("'", ""), weights or str(WEIGHTS)))
    return path


def _textbook_sets(base_params: dict, sample: tuple[int, int] | None) -> list[dict]:
    """Every set as the grid's product (last key fastest), or a sorted seeded draw of it."""
    combos = list(itertools.product(WEIGHTS, REBALANCE))
    if sample is not None:
        n, seed = sample
        combos = [combos[i] for i in sorted(np.random.default_rng(seed).choice(15, n, False))]
    return [{**base_params, "stock_weight": w, "rebalance": r} for w, r in combos]


@pytest.mark.parametrize("sample", [None, (7, 3)])
def test_plan_holds_the_grid_not_its_sets_and_makes_the_same_sets(
    tmp_path: Path, sample: tuple[int, int] | None
) -> None:
    text = "" if sample is None else f"sample: {{n: {sample[0]}, seed: {sample[1]}}}\n"
    spec, base, _ = load_sweep(_spec(tmp_path, text))
    plan = make_plan(spec, base)
    assert not isinstance(plan.sets, list)  # made per chunk, never all at once
    expected = _textbook_sets(dict(base.params), sample)
    assert list(plan.sets) == expected and len(plan.sets) == len(expected)
    assert [list(c) for c in plan.chunks] == [
        expected[i : i + 4] for i in range(0, len(expected), 4)
    ]
    assert [plan.chunk_len(i) for i in range(len(plan.chunks))] == [
        len(expected[i : i + 4]) for i in range(0, len(expected), 4)
    ]
    ids = [param_id(s) for s in expected]
    assert plan.identity()["set_ids"] == ids
    identity_text = json.dumps(plan.identity(), sort_keys=True)
    assert plan.identity_sha256() == hashlib.sha256(identity_text.encode()).hexdigest()
    assert plan.record()["set_ids_sha256"] == hashlib.sha256(json.dumps(ids).encode()).hexdigest()
    assert "set_ids" not in plan.record()


def test_a_bad_set_is_still_refused_before_anything_runs(tmp_path: Path) -> None:
    spec, base, _ = load_sweep(_spec(tmp_path, weights="[0.2, 1.5]"))
    with pytest.raises(ConfigError, match=r"sweep set \{'stock_weight': 1.5, 'rebalance'"):
        make_plan(spec, base)
