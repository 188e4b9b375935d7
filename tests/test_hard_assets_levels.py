"""hard-assets-vs-duration's levels (seed 003): each default is the article's number, quoted;
the position scale is recomputed here from the definitions (log-linear between floor and
resistance, mean of the two ratios); `btc_leg: false` holds no BTC at all."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from engine.core.signals import MissingInputWarning
from engine.runs.backtest import run_backtest
from engine.runs.config import load_run_config
from strategies.hard_assets import RULES, SEED, HardAssetsParams, level_signals
from tests.conftest import make_panel
from tests.seeds import seed_text


def quoted(key: str) -> str:
    """The Chinese sentence of a rule (before its English gloss)."""
    return RULES[key].split(" (")[0]


def test_each_level_quotes_a_sentence_of_seed_003():
    text = seed_text(SEED)
    for key in RULES:
        assert quoted(key) in text, key


def test_level_defaults_are_the_articles_numbers():
    p = HardAssetsParams()
    # "SPX/黃金:在5.5(即1單位標普可換5.5盎司黃金)遭遇史詩級阻力"
    assert "5.5" in quoted("spx_top") and p.spx_top == 5.5
    # "QQQ/黃金:觸及歷史天花板0.40"
    assert "0.40" in quoted("qqq_top") and p.qqq_top == 0.40
    # "SPX/黃金一路跌破多重支撐,最終在0.6–0.7區間築成歷史性底部": the floor is the range's top
    assert "0.6–0.7" in quoted("spx_floor") and p.spx_floor == 0.7
    # "QQQ/黃金則跌至0.03附近"
    assert "0.03" in quoted("qqq_floor") and p.qqq_floor == 0.03
    # "SPX/黃金多次試圖重返2.5阻力位,均告失敗"
    assert "2.5" in quoted("spx_resistance") and p.spx_resistance == 2.5
    # "QQQ/黃金由0.03升至0.25,但0.25已成十年關鍵阻力區間"
    assert "0.25" in quoted("qqq_resistance") and p.qqq_resistance == 0.25
    # levels are opt-in: the default bet is unscaled (documented default behaviour)
    assert p.levels is False and p.btc_leg is True


def test_levels_out_of_order_are_refused():
    with pytest.raises(ValueError, match="spx_floor < spx_resistance"):
        HardAssetsParams(spx_floor=3.0)


def test_level_scale_is_the_mean_log_richness_of_both_ratios():
    index = pd.date_range("2030-01-01", periods=5, freq="D")
    gold = np.full(5, 4000.0)
    # SPX/gold: 0.5 (below the floor), 0.7 (floor), 1.39 (the article's today), 2.5, 6.0
    spx = gold * np.array([0.5, 0.7, 1.39, 2.5, 6.0])
    # QQQ/gold: 0.02, 0.03, 0.12 (today), 0.30, 0.45
    qqq = gold * np.array([0.02, 0.03, 0.12, 0.30, 0.45])
    panel = make_panel({"^GSPC": list(spx), "QQQ": list(qqq), "GC=F": list(gold)}, index)
    p = HardAssetsParams(levels=True, floor_scale=0.2)
    got = level_signals(panel, p)

    def rich(ratio, floor, resistance):
        x = (np.log(ratio) - np.log(floor)) / (np.log(resistance) - np.log(floor))
        return np.minimum(np.maximum(x, 0.0), 1.0)

    mean = (rich(spx / gold, 0.7, 2.5) + rich(qqq / gold, 0.03, 0.25)) / 2
    np.testing.assert_allclose(got["level_scale"], 0.2 + 0.8 * mean)
    assert got["level_scale"].iloc[0] == pytest.approx(0.2)  # both at or below the floor
    assert got["level_scale"].iloc[-1] == pytest.approx(1.0)  # both above resistance
    # zones: floor 0, between 1, at/above resistance 2, at/above the top 3
    assert got["spx_gold_zone"].tolist() == [0.0, 1.0, 1.0, 2.0, 3.0]
    assert got["qqq_gold_zone"].tolist() == [0.0, 1.0, 1.0, 2.0, 3.0]


def synthetic_run(**params):
    config = load_run_config("configs/hard-assets-vs-duration.yaml")
    config = config.model_copy(update={"params": {**config.params, **params}, "start": None})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingInputWarning)
        return run_backtest(config)


def test_without_the_btc_leg_the_btc_weight_is_gold():
    result = synthetic_run(btc_leg=False)
    fills = result.simulation.fills[0]
    assert "BTC-USD" not in fills or (fills["BTC-USD"] == 0).all()
    later = fills.iloc[1:]
    traded = later[(later != 0).any(axis=1)]
    assert traded["GLD"].to_numpy() == pytest.approx([0.7] * len(traded))


def test_levels_scale_every_leg_alike():
    result = synthetic_run(levels=True)
    fills = result.simulation.fills[0]
    filled = fills[(fills["GLD"] > 0) & (fills["BTC-USD"] > 0)]
    assert len(filled) > 12
    # gold 0.4, BTC 0.3, short TLT 0.3: one scale for all legs keeps their proportions
    np.testing.assert_allclose(filled["BTC-USD"] / filled["GLD"], 0.3 / 0.4)
    np.testing.assert_allclose(filled["TLT"] / filled["GLD"], -0.3 / 0.4)
    scale = filled["GLD"] / 0.4
    assert scale.max() <= 1.0 + 1e-9 and scale.min() < 0.99  # the levels did scale the bet
