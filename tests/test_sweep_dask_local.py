"""`playbook sweep FILE --executor dask` with no scheduler runs the chunks on a LocalCluster
of this machine; its table, summary and chunk files are the local executor's, bit for bit."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from engine.cli import cli
from engine.sweep.runner import chunk_path, read_identity
from engine.workflows.sweep import sweep_to_folder

REPO = Path(__file__).resolve().parents[1]
# the library comparisons' trend rule (no batch path: each set walks), 50 x 40 = 2,000 sets
SPEC = """\
base: {base}
grid:
  lookback_bars: {{start: 5, stop: 54, step: 1}}
  threshold_pct: {{start: -5.0, stop: 14.5, step: 0.5}}
blocks: 8
split: {{oos_start: 2034-01-01}}
walk_forward: {{train_blocks: 3}}
chunk_size: 250
heatmap: [lookback_bars, threshold_pct]
"""


@pytest.mark.slow
def test_dask_local_cluster_sweep_equals_the_local_one_bit_for_bit(tmp_path: Path) -> None:
    pytest.importorskip("dask.distributed")
    spec_file = tmp_path / "trend.yaml"
    spec_file.write_text(SPEC.format(base=REPO / "benchmarks" / "trend_rule.yaml"))
    local_summary, local = sweep_to_folder(spec_file, out_dir=tmp_path / "local")
    result = CliRunner().invoke(
        cli, ["sweep", str(spec_file), "--executor", "dask", "--out", str(tmp_path / "dask")]
    )
    assert result.exit_code == 0, result.output
    remote = tmp_path / "dask"
    assert read_identity(remote)["sets"] == local_summary["trials"] == 2_000
    for name in ("summary.json", "heatmap.png"):
        assert (remote / name).read_bytes() == (local / name).read_bytes(), name
    pd.testing.assert_frame_equal(
        pd.read_parquet(remote / "sweep.parquet"), pd.read_parquet(local / "sweep.parquet")
    )
    for index in range(8):
        pd.testing.assert_frame_equal(
            pd.read_parquet(chunk_path(remote, index)), pd.read_parquet(chunk_path(local, index))
        )
