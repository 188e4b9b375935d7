"""Issue 18, "one of each": the shared helpers really are shared (one definition each)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from engine.core.regimes import Regime
from engine.core.strategy import StrategyParams
from engine.io.yaml_models import Frozen
from engine.markets.model import Scenario
from engine.research.claims import ReturnClaim


@pytest.mark.parametrize("model", [Regime, StrategyParams, Scenario, ReturnClaim])
def test_config_models_share_one_frozen_base(model):
    assert issubclass(model, Frozen)
    assert model.model_config["frozen"] is True
    assert model.model_config["extra"] == "forbid"


def test_strategy_params_still_reject_nan():
    class Params(StrategyParams):
        level: float = 1.0

    with pytest.raises(ValidationError):
        Params(level=float("nan"))
    with pytest.raises(ValidationError):
        Params(other=1)  # type: ignore[call-arg]


def test_did_you_mean_keeps_each_callers_wording():
    from engine.data.sources import did_you_mean_symbol
    from engine.io.yaml_models import did_you_mean

    assert did_you_mean("fee_bp", ["fees_bps", "slippage_bps"]) == "did you mean 'fees_bps'?"
    assert did_you_mean("zzz", ["a", "b"]) == "valid keys: a, b"
    assert did_you_mean("zzz", []) == ""
    assert did_you_mean("zzz", ["a"], otherwise="use one of a") == "use one of a"
    assert did_you_mean_symbol("SPX", ["QQQ", "SPXL", "SPY"]) == "did you mean 'SPXL' or 'SPY'?"
    assert did_you_mean_symbol("ZZZ", ["QQQ"]) == ""


def test_one_atomic_writer_syncs_when_asked(tmp_path, monkeypatch):
    import os

    from engine.io.atomic import write_file_atomically

    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    write_file_atomically(tmp_path / "a.txt", lambda tmp: tmp.write_text("a"))
    assert synced == []
    write_file_atomically(tmp_path / "b.txt", lambda tmp: tmp.write_text("b"), fsync=True)
    assert len(synced) == 1 and (tmp_path / "b.txt").read_text() == "b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]


def test_write_errors_share_one_errno_table():
    import errno

    from engine.errors import ExitCode
    from engine.io.atomic import output_error

    full = OSError(errno.ENOSPC, os_strerror(errno.ENOSPC), "/r/x")
    error = output_error(full, "cannot write to /r", "--results-dir chooses the folder")
    assert error.exit_code == ExitCode.OUTPUT
    assert error.one_line() == (
        "cannot write to /r: No space left on device (fix: free disk space or choose another"
        " folder; --results-dir chooses the folder)"
    )


def os_strerror(code: int) -> str:
    import os

    return os.strerror(code)


def test_no_writer_words_its_own_os_error():
    """A failed write or read is worded by the one errno table (`engine.errors.from_os_error`,
    `engine.io.atomic.output_error`): a module that formats `exc.strerror` itself gives its
    own fix for a full disk or a denied folder (the export, the sweep's chunks and the compare
    page each did: 'free disk space' for a permission error, or no fix at all). Allowed: the
    table itself, the atomic writer, the YAML reader (the table's fix, its own error class)
    and the data cache (an unreadable entry is corrupt: refetch it)."""
    from pathlib import Path

    import engine

    root = Path(engine.__file__).parent
    wording = sorted(
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "strerror" in path.read_text(encoding="utf-8")
    )
    assert wording == ["data/cache.py", "errors.py", "io/atomic.py", "io/safe_yaml.py"]
