"""Shared fixtures: hand-made panels, the shared real-data snapshot, isolated output dirs."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine import numba_cache_dir

# as `playbook` (engine.cli.app) does, before any engine module imports numba
os.environ.setdefault("NUMBA_CACHE_DIR", numba_cache_dir())

from engine.core.panel import Panel
from engine.data.panel import PanelRequest, build_panel
from engine.data.sources import FrameSource

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("PLAYBOOK_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(autouse=True)
def _isolated_output(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """No test writes into the repo's results/."""
    monkeypatch.setenv("PLAYBOOK_RESULTS", str(tmp_path_factory.mktemp("results")))


@pytest.fixture
def shared_data() -> Path:
    if not (SHARED_DATA / "prices").is_dir():
        pytest.skip(f"real-data snapshot not found at {SHARED_DATA} (set PLAYBOOK_SHARED_DATA)")
    return SHARED_DATA


def make_panel(
    prices: dict[str, list[float] | pd.Series],
    index: pd.DatetimeIndex | None = None,
    cash_rate_pct: float = 0.0,
    macro: dict[str, pd.Series] | None = None,
    calendar: str = "union",
) -> Panel:
    """A panel from hand-written prices (lists share `index`)."""
    series = {}
    for symbol, values in prices.items():
        if isinstance(values, pd.Series):
            series[symbol] = values
        else:
            assert index is not None
            series[symbol] = pd.Series(values, index=index[: len(values)], dtype="float64")
    source = FrameSource(series, macro=macro)
    request = PanelRequest(
        traded=tuple(prices),
        cash_series=tuple(macro or ()),
        cash_rate_pct=cash_rate_pct,
        calendar=calendar,  # type: ignore[arg-type]
    )
    return build_panel(source, request)


@pytest.fixture
def panel_factory() -> Callable[..., Panel]:
    return make_panel


def random_walk(index: pd.DatetimeIndex, seed: int, vol: float = 0.01, start: float = 100.0):
    rng = np.random.default_rng(seed)
    return pd.Series(start * np.cumprod(1 + rng.normal(0, vol, len(index))), index=index)
