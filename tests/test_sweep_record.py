"""sweep.json names a sweep's parameter sets by a digest, not a list (18 MB at 1M sets);
folders written with the list still resume, merge and report, or are refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from engine.errors import ConfigError
from engine.sweep.runner import make_plan, read_identity, run_plan
from engine.sweep.spec import load_sweep
from engine.workflows.sweep import merge_to_folder, sweep_to_folder

REPO = Path(__file__).resolve().parents[1]
SPEC = """\
base: {base}
grid:
  stock_weight: [0.2, 0.5, 0.8]
  rebalance: [monthly, quarterly]
blocks: 6
walk_forward: {{train_blocks: 2}}
chunk_size: 2
"""


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "weights.yaml"
    path.write_text(SPEC.format(base=REPO / "configs" / "60-40.yaml"))
    return path


def _as_before_the_digest(folder: Path) -> None:
    """Rewrite sweep.json as sweep folders held it before: every set id listed."""
    record = json.loads((folder / "sweep.json").read_text())
    ids = pd.read_parquet(folder / "sweep.parquet")["id"].tolist()  # in chunk order
    del record["set_ids_sha256"]
    record["set_ids"] = ids
    (folder / "sweep.json").write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")


def test_sweep_json_holds_a_digest_of_the_set_ids_not_the_list(spec_file, tmp_path):
    _, folder = sweep_to_folder(spec_file, out_dir=tmp_path / "sweep")
    record = json.loads((folder / "sweep.json").read_text())
    assert "set_ids" not in record and len(record["set_ids_sha256"]) == 64
    assert record["sets"] == 6


def test_a_folder_listing_its_set_ids_resumes_without_recomputing(spec_file, tmp_path):
    summary, folder = sweep_to_folder(spec_file, out_dir=tmp_path / "sweep")
    before = {p.name: p.read_bytes() for p in (folder / "chunks").iterdir()}
    _as_before_the_digest(folder)
    spec, base, _ = load_sweep(spec_file)
    assert run_plan(make_plan(spec, base), folder) == []  # every chunk reused
    assert {p.name: p.read_bytes() for p in (folder / "chunks").iterdir()} == before
    again, _ = sweep_to_folder(spec_file, out_dir=folder)
    assert again == summary


def test_a_folder_listing_other_set_ids_is_refused(spec_file, tmp_path):
    _, folder = sweep_to_folder(spec_file, out_dir=tmp_path / "sweep")
    _as_before_the_digest(folder)
    record = json.loads((folder / "sweep.json").read_text())
    record["set_ids"][0] = "someotherset"
    (folder / "sweep.json").write_text(json.dumps(record))
    with pytest.raises(ConfigError, match="holds a different sweep"):
        sweep_to_folder(spec_file, out_dir=folder)


def test_shards_listing_their_set_ids_merge_to_the_same_outputs(spec_file, tmp_path):
    whole, _ = sweep_to_folder(spec_file, out_dir=tmp_path / "whole")
    shards = [tmp_path / f"shard{k}" for k in (1, 2)]
    for k, shard in enumerate(shards, start=1):
        sweep_to_folder(spec_file, out_dir=shard, shard=(k, 2))
        record = json.loads((shard / "sweep.json").read_text())
        spec, base, _ = load_sweep(spec_file)
        record["set_ids"] = make_plan(spec, base).identity()["set_ids"]
        del record["set_ids_sha256"]
        (shard / "sweep.json").write_text(json.dumps(record))
    assert merge_to_folder(shards, tmp_path / "merged") == whole
    assert "set_ids" not in read_identity(tmp_path / "merged")
