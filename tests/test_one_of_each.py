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
