"""The parquet cache: where it lives, what the sidecar records, and that damage never passes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.data import cache as cache_module
from engine.data.cache import CorruptCacheError, DataCache, default_cache_root
from engine.data.online import list_cache
from engine.errors import DataError, ExitCode, OutputError


def prices(days: int = 5, start: str = "2024-01-02") -> pd.DataFrame:
    index = pd.bdate_range(start, periods=days, name="date")
    close = 100.0 + np.arange(days, dtype=float)
    return pd.DataFrame(
        {
            "open": close - 0.5,
            "high": close + 1.0,
            "low": close - 1.0,
            "close": close,
            "adj_close": close * 0.97,
            "volume": np.full(days, 1.0e6),
        },
        index=index,
    )


@pytest.fixture
def cache(tmp_path: Path) -> DataCache:
    return DataCache(tmp_path / "cache")


def test_root_is_explicit_path_then_env_then_user_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYBOOK_CACHE", str(tmp_path / "env"))
    assert default_cache_root(tmp_path / "explicit") == tmp_path / "explicit"
    assert DataCache().root == tmp_path / "env"
    monkeypatch.delenv("PLAYBOOK_CACHE")
    root = DataCache().root
    assert root.name == "data" and "playbook" in str(root.parent)


def test_write_then_read_round_trips_with_a_complete_sidecar(cache):
    frame = prices()
    entry = cache.write("yahoo", "^GSPC", frame, {"provider": "test"})
    path = cache.path_for("yahoo", "^GSPC")
    assert path == cache.root / "yahoo" / "_GSPC.parquet" and entry.path == path
    assert cache.path_for("yahoo", "GC=F").name == "GC_F.parquet"
    back = cache.read("yahoo", "^GSPC")
    pd.testing.assert_frame_equal(back, frame, check_freq=False, check_index_type=False)
    assert back.index.name == "date" and back.index.tz is None
    meta = json.loads(cache.sidecar_for("yahoo", "^GSPC").read_text())
    assert meta["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (meta["source"], meta["symbol"], meta["rows"]) == ("yahoo", "^GSPC", 5)
    assert (meta["first"], meta["last"]) == ("2024-01-02", "2024-01-08")
    assert meta["provider"] == "test"
    assert pd.Timestamp(meta["fetched_at"]).tzinfo is not None  # ISO with offset
    assert not list(cache.root.rglob("*.tmp"))


def test_a_miss_is_none(cache):
    assert cache.read("yahoo", "SPY") is None
    assert cache.read_meta("fred", "DTB3") is None
    assert cache.entries() == []


def damage_truncate(path: Path, sidecar: Path) -> None:
    path.write_bytes(path.read_bytes()[:100])


def damage_flip_byte(path: Path, sidecar: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def damage_delete_sidecar(path: Path, sidecar: Path) -> None:
    sidecar.unlink()


def damage_delete_parquet(path: Path, sidecar: Path) -> None:
    path.unlink()


def damage_sidecar_rows(path: Path, sidecar: Path) -> None:
    meta = json.loads(sidecar.read_text())
    meta["rows"] += 1
    sidecar.write_text(json.dumps(meta))


def damage_sidecar_last(path: Path, sidecar: Path) -> None:
    meta = json.loads(sidecar.read_text())
    meta["last"] = "2030-01-01"
    sidecar.write_text(json.dumps(meta))


def damage_sidecar_json(path: Path, sidecar: Path) -> None:
    sidecar.write_text("{not json")


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (damage_truncate, "sha256"),
        (damage_flip_byte, "sha256"),
        (damage_delete_sidecar, "sidecar"),
        (damage_delete_parquet, "missing"),
        (damage_sidecar_rows, "rows"),
        (damage_sidecar_last, "spans"),
        (damage_sidecar_json, "sidecar"),
    ],
)
def test_any_damage_raises_corrupt_cache_error_naming_the_file(cache, damage, reason):
    cache.write("yahoo", "SPY", prices())
    path, sidecar = cache.path_for("yahoo", "SPY"), cache.sidecar_for("yahoo", "SPY")
    damage(path, sidecar)
    with pytest.raises(CorruptCacheError) as caught:
        cache.read("yahoo", "SPY")
    error = caught.value
    assert isinstance(error, DataError) and error.exit_code == ExitCode.DATA
    assert reason in error.reason
    assert str(path.parent) in error.problem and "SPY" in error.problem
    assert "playbook data fetch SPY" in error.fix
    listed = list_cache(cache)
    assert "CORRUPT" in listed and "1 corrupt" in listed


def test_a_sidecar_for_another_symbol_is_corrupt(cache):
    # two symbols that map to one file name never read each other's data
    cache.write("yahoo", "SPY", prices())
    meta_path = cache.sidecar_for("yahoo", "SPY")
    meta = json.loads(meta_path.read_text())
    meta["symbol"] = "QQQ"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(CorruptCacheError, match="holds yahoo:QQQ, not yahoo:SPY"):
        cache.read("yahoo", "SPY")


def test_an_interrupted_write_is_detected_never_mixed(cache, monkeypatch):
    cache.write("yahoo", "SPY", prices(5))
    real_replace = cache_module.os.replace

    def failing_replace(src, dst):
        if str(dst).endswith(".json"):
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(cache_module.os, "replace", failing_replace)
    with pytest.raises(OutputError, match="No space left"):
        cache.write("yahoo", "SPY", prices(8))
    monkeypatch.setattr(cache_module.os, "replace", real_replace)
    # the new parquet landed, its sidecar did not: the pair no longer verifies
    with pytest.raises(CorruptCacheError, match="sha256"):
        cache.read("yahoo", "SPY")
    assert not list(cache.root.rglob("*.tmp"))


def test_entries_and_list_show_what_is_cached(cache):
    cache.write("yahoo", "BTC-USD", prices(3))
    dtb3 = pd.DataFrame({"value": [5.2, 5.3]}, index=pd.bdate_range("2024-01-02", periods=2))
    cache.write("fred", "DTB3", dtb3, {"units": "percent"})
    entries = cache.entries()
    assert [(e.source, e.symbol, e.rows) for e in entries] == [
        ("fred", "DTB3", 2),
        ("yahoo", "BTC-USD", 3),
    ]
    assert entries[0].meta["units"] == "percent" and entries[0].problem is None
    text = list_cache(cache)
    header = text.splitlines()[0].split()
    assert header == ["symbol", "source", "first", "last", "rows", "fetched_at"]
    assert "BTC-USD" in text and "2024-01-02" in text and "2 series" in text


def test_empty_cache_listing_says_how_to_fill_it(cache):
    assert "empty" in list_cache(cache) and "playbook data fetch" in list_cache(cache)
