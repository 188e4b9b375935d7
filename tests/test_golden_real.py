"""Golden figures of every shipped config: on the real snapshot and on the synthetic default.

Each config runs once per session (`playbook run CONFIG --no-report`, in process). Every
figure a user reads in stats.json is checked twice:
1. against the golden file (`tests/golden/real_snapshot.json`, `tests/golden/synthetic.json`):
   a change of any figure is a deliberate re-baseline, never an accident;
2. against this file's own computation from the run folder's returns.parquet,
   weights.parquet and targets.parquet, from textbook definitions (no engine code computes
   them here; the asset prices turnover needs are the run's inputs: the snapshot's CSVs, or
   the synthetic market the run was generated from).

Re-baseline on purpose with `PLAYBOOK_REBASELINE=1 python -m pytest tests/test_golden_real.py`:
the golden files are rewritten and only the keys that moved are printed.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from conftest import REPO, SHARED_DATA

from engine.cli import cli

GOLDEN = Path(__file__).resolve().parent / "golden"
REBASELINE = os.environ.get("PLAYBOOK_REBASELINE") == "1"
CONFIGS = sorted(p.stem for p in (REPO / "configs").glob("*.yaml"))
FIGURES = (
    "cagr",
    "volatility",
    "sharpe",
    "sortino",
    "max_drawdown",
    "calmar",
    "turnover_per_year",
    "time_in_market",
    "final_wealth",
    "decisions",
)
REL = 1e-9  # same code, same data: same bits; by hand agrees to ~1e-13 (other CPUs: margin)


class Runs:
    """Each (data, config) run once per session, on first use."""

    def __init__(self, root: Path) -> None:
        self.root, self.folders = root, {}

    def folder(self, kind: str, name: str) -> Path:
        key = (kind, name)
        if key not in self.folders:
            out = self.root / kind / name
            args = ["run", str(REPO / "configs" / f"{name}.yaml"), "--no-report"]
            if kind == "real":
                args += ["--data-dir", str(SHARED_DATA)]
            result = CliRunner().invoke(cli, [*args, "--results-dir", str(out)])
            assert result.exit_code == 0, result.output
            (folder,) = [p for p in out.iterdir() if p.is_dir()]
            self.folders[key] = folder
        return self.folders[key]


@pytest.fixture(scope="session")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    return Runs(tmp_path_factory.mktemp("golden-runs"))


# --- the figures as the engine wrote them ------------------------------------------------


def engine_figures(folder: Path) -> dict[str, float]:
    stats = json.loads((folder / "stats.json").read_text())
    figures = {k: float(stats[k]) for k in FIGURES if k != "decisions"}
    figures["decisions"] = float(len(pd.read_parquet(folder / "targets.parquet")))
    return figures


# --- the same figures from textbook definitions -------------------------------------------


def csv_prices(symbol: str) -> pd.Series:
    """A snapshot symbol's total-return close (adj_close, close where it is missing)."""
    stem = symbol.replace("^", "_").replace("=", "_")
    frame = pd.read_csv(SHARED_DATA / "prices" / f"{stem}.csv", parse_dates=["date"])
    frame = frame.set_index("date").sort_index()
    return frame["adj_close"].fillna(frame["close"]).dropna()


def synthetic_prices(config: dict) -> Callable[[str], pd.Series]:
    """The prices of the synthetic market the run was generated from (its input data)."""
    from engine.markets.source import SyntheticSource

    source = SyntheticSource(config["data"]["seed"], config["data"]["scenario"])
    return lambda symbol: source.prices(symbol)["price"]


def by_hand(folder: Path, prices_of: Callable[[str], pd.Series]) -> dict[str, float]:
    returns = pd.read_parquet(folder / "returns.parquet")
    weights = pd.read_parquet(folder / "weights.parquet")
    config = yaml.safe_load((folder / "config.yaml").read_text())
    r, cash = returns["strategy"], returns["cash"]
    index = pd.DatetimeIndex(r.index)

    days = (index[-1] - (index[0] - pd.Timedelta(days=1))).days  # from the first bar's open
    years = days / 365.25
    ppy = len(index) / years  # bars per calendar year of this window
    wealth = (1.0 + r).cumprod()
    final = float(wealth.iloc[-1])
    cagr = final ** (365.25 / days) - 1.0
    volatility = r.std(ddof=1) * math.sqrt(ppy)
    excess = r - cash
    sharpe = excess.mean() / excess.std(ddof=1) * math.sqrt(ppy)
    downside = math.sqrt((np.minimum(excess, 0.0) ** 2).mean())
    sortino = excess.mean() / downside * math.sqrt(ppy)
    peak = np.maximum(wealth.cummax(), 1.0)  # the path starts from 1.0 before the first bar
    max_drawdown = float((wealth / peak - 1.0).min())
    calmar = cagr / abs(max_drawdown) if max_drawdown < 0 else math.nan

    # turnover: traded notional of every risky instrument (never CASH) over wealth, per year
    slippage = config["costs"]["slippage_bps"] / 1e4
    borrow = config["costs"]["borrow_bps"] / 1e4
    elapsed = (index - index[0]).days.to_numpy()
    traded = np.zeros(len(index))
    risky = [c for c in weights.columns if c != "CASH"]
    for column in risky:
        symbol = column.removesuffix("~short")
        raw = prices_of(symbol)
        price = raw.reindex(raw.index.union(index)).ffill().reindex(index).to_numpy()
        if column != symbol:  # the short leg is priced with the borrow index
            price = price * (1.0 + borrow) ** (elapsed / 365.0)
        w = weights[column].to_numpy()
        units = np.where(w != 0.0, w * wealth.to_numpy() / price, 0.0)
        change = np.diff(units, prepend=0.0)  # all cash before the window
        fill_price = price * (1.0 + slippage * np.sign(change))
        traded += np.where(change != 0.0, np.abs(change) * fill_price, 0.0)
    turnover = float((traded / wealth.to_numpy()).sum() / years)

    gross = weights[risky].abs().sum(axis=1)
    decisions = len(pd.read_parquet(folder / "targets.parquet"))
    return {
        "cagr": cagr,
        "volatility": volatility,
        "sharpe": sharpe,
        "sortino": sortino,
        "max_drawdown": max_drawdown,
        "calmar": calmar,
        "turnover_per_year": turnover,
        "time_in_market": float((gross > 0.0).mean()),
        "final_wealth": final,
        "decisions": float(decisions),
    }


# --- golden files ----------------------------------------------------------------------------


def golden_check(
    kind: str, name: str, got: dict[str, float], capsys: pytest.CaptureFixture[str]
) -> None:
    """Compare with (or, re-baselining, rewrite) the golden entry; report only moved keys."""
    path = GOLDEN / ("real_snapshot.json" if kind == "real" else "synthetic.json")
    golden = json.loads(path.read_text()) if path.is_file() else {}
    want = golden.get(name, {})
    moved = {
        k: (want.get(k), v) for k, v in got.items() if k not in want or not _close(want[k], v, REL)
    }
    if REBASELINE:
        if moved:
            lines = "\n".join(f"  {name}.{k}: {old} -> {new}" for k, (old, new) in moved.items())
            with capsys.disabled():  # shown without -s
                print(f"\nre-baselined {path.name}:\n{lines}")
        golden[name] = got
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(dict(sorted(golden.items())), indent=2) + "\n")
        return
    assert name in golden, f"{name} has no golden figures in {path.name} (PLAYBOOK_REBASELINE=1)"
    assert not moved, "moved from golden (golden -> now): " + ", ".join(
        f"{k}: {old} -> {new}" for k, (old, new) in moved.items()
    )


def _close(a: float | None, b: float, rel: float) -> bool:
    if a is None:
        return False
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)


def independent_check(folder: Path, engine: dict[str, float], hand: dict[str, float]) -> None:
    """Engine == textbook, figure by figure (the years count from the day before the first bar,
    also when the window opens on a Friday: see test_metrics's regression test)."""
    _agree(engine, hand)


def _agree(engine: dict[str, float], hand: dict[str, float]) -> None:
    wrong = {k: (engine[k], hand[k]) for k in FIGURES if not _close(engine[k], hand[k], REL)}
    assert not wrong, "engine != textbook (engine, by hand): " + ", ".join(
        f"{k}: {e} vs {h}" for k, (e, h) in wrong.items()
    )


# --- the tests ---------------------------------------------------------------------------------


@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.parametrize("name", CONFIGS)
def test_golden_figures_on_the_real_snapshot(
    name: str, runs: Runs, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = runs.folder("real", name)
    got = engine_figures(folder)
    golden_check("real", name, got, capsys)
    independent_check(folder, got, by_hand(folder, csv_prices))


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=[] if n == "60-40" else [pytest.mark.slow]) for n in CONFIGS]
)
def test_golden_figures_on_the_synthetic_default(
    name: str, runs: Runs, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = runs.folder("synthetic", name)
    config = yaml.safe_load((folder / "config.yaml").read_text())
    got = engine_figures(folder)
    golden_check("synthetic", name, got, capsys)
    independent_check(folder, got, by_hand(folder, synthetic_prices(config)))
