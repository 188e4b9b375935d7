"""Issue 22: sweep.html reads the ids and parameter texts of the rows it shows (the best
set, the top sets, each walk-forward pick, the dots of a small sweep), not of every set:
a million sets' texts were ~0.3 GB of the page's 1.2 GB peak. The page is the same file."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pandas as pd
import pytest

from engine.reports.pages import sweep_data as sd
from engine.reports.pages.sweep import SWEEP_PAGE, write_sweep_page
from engine.sweep.runner import read_identity
from engine.sweep.spec import SweepSpec
from engine.workflows.sweep import write_outputs_of

# sweep.html of `make(9_000)` in a folder named "sweep", written at 0ae6149 (every set's
# texts in the page's table): shaded in vs out chart, and a dot (with its text) per set
PAGE_SHA256 = {
    5_000: "9f9955643cf06579ff8e02d303dcd4b14c6c1d4581757270c30947f3da4466f2",
    10_000: "281c508508b4f2223c8c693a07b0125813f75f3abdd3557d93959a94bc427ce1",
}


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic 9,000-set sweep folder with its outputs (5 chunks, the last one short)."""
    from benchmarks.sweep_outputs import make

    folder = tmp_path_factory.mktemp("rows") / "sweep"
    make(9_000, folder)
    write_outputs_of(folder, SweepSpec.model_validate(read_identity(folder)["spec"]))
    return folder


@pytest.mark.parametrize("max_points", sorted(PAGE_SHA256))
def test_sweep_page_reading_texts_by_row_is_the_page_of_every_text(
    made: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, max_points: int
) -> None:
    folder = Path(shutil.copytree(made, tmp_path / "sweep"))
    monkeypatch.setattr(sd, "MAX_POINTS", max_points)
    write_sweep_page(folder)
    digest = hashlib.sha256((folder / SWEEP_PAGE).read_bytes()).hexdigest()
    assert digest == PAGE_SHA256[max_points]


def test_page_table_holds_no_texts_and_rows_read_by_position_are_the_files(made: Path) -> None:
    files = sd.read_sweep_folder(made)
    assert not {"id", "params"} & set(files.table.columns)
    whole = pd.read_parquet(made / "sweep.parquet")
    positions = [8_999, 3, 2_000, 3, 1_999, 0]  # across row groups, one twice
    rows = sd.rows_of(files, positions)
    expected = whole[rows.columns].iloc[list(dict.fromkeys(positions))]
    pd.testing.assert_frame_equal(rows, expected, check_index_type=False)
    best_id = files.summary["best"]["id"]
    best = sd.best_row(files)
    first = int((whole["id"] == best_id).to_numpy().argmax())
    assert best.name == first and best["id"] == best_id
    assert best["params"] == whole["params"].iloc[first]
    windows = sd.walk_forward_windows(files, None)
    assert files.picks is not None and len(windows) == len(files.picks)
    for picked, (_, window) in zip(files.picks, windows.iterrows(), strict=True):
        assert window["picked"] == whole["params"].iloc[picked[0]]
        assert window["picked_id"] == whole["id"].iloc[picked[0]]
