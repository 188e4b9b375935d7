"""What a run page shows, computed from a run folder's files only (no data source, no engine).

Two small files make the page complete and are written beside the others when a run is
written (`save_page_inputs`): `instrument_returns.parquet` (each instrument's return per bar,
CASH and short legs included: contributions need them) and `decision_signals.parquet` (the
strategy's signal values on each decision bar: the hover text). A folder without them still
gets a page, without those parts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from engine.core import metrics
from engine.reports import attribution

if TYPE_CHECKING:
    from engine.runs.backtest import RunResult

CASH = metrics.CASH
INSTRUMENT_RETURNS = "instrument_returns.parquet"
DECISION_SIGNALS = "decision_signals.parquet"


@dataclass(frozen=True)
class RunFiles:
    """A run folder's files, read once."""

    folder: Path
    run: dict
    stats: dict
    returns: pd.DataFrame  # strategy, cash, benchmark (if any)
    weights: pd.DataFrame  # end-of-bar weights per instrument, CASH included
    targets: pd.DataFrame  # decision time x symbols
    events: pd.DataFrame  # time, kind, detail, decided, gross
    regimes: pd.DataFrame | None
    instrument_returns: pd.DataFrame | None
    signals: pd.DataFrame | None

    @property
    def benchmark_name(self) -> str | None:
        bench = self.stats.get("benchmark") or {}
        return str(bench["symbol"]) if "benchmark" in self.returns and bench else None


def _optional_parquet(path: Path) -> pd.DataFrame | None:
    return pd.read_parquet(path) if path.is_file() else None


def read_run_folder(folder: Path) -> RunFiles:
    """Read what a run page needs; the date indexes come back as tz-naive DatetimeIndexes."""
    folder = Path(folder)
    regimes_csv = folder / "regimes.csv"

    def dated(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.set_axis(pd.DatetimeIndex(frame.index))

    signals = _optional_parquet(folder / DECISION_SIGNALS)
    instrument = _optional_parquet(folder / INSTRUMENT_RETURNS)
    return RunFiles(
        folder=folder,
        run=json.loads((folder / "run.json").read_text(encoding="utf-8")),
        stats=json.loads((folder / "stats.json").read_text(encoding="utf-8")),
        returns=dated(pd.read_parquet(folder / "returns.parquet")),
        weights=dated(pd.read_parquet(folder / "weights.parquet")),
        targets=dated(pd.read_parquet(folder / "targets.parquet")),
        events=pd.read_parquet(folder / "events.parquet"),
        regimes=pd.read_csv(regimes_csv) if regimes_csv.is_file() else None,
        instrument_returns=None if instrument is None else dated(instrument),
        signals=None if signals is None else dated(signals),
    )


# --- inputs saved at run time ---------------------------------------------------------


def instrument_returns(result: RunResult) -> pd.DataFrame:
    """Each weights column's simple return per bar, as the simulator priced it
    (`attribution.instrument_returns`).

    A symbol moves with its close (carried over days it has no bar); `SYM~short` with its
    close times the borrow index (a short pays the borrow rate); CASH earns the cash rate
    (from the panel's whole cash index, so the first bar carries its own accrual, as the
    run's cash returns do).
    """
    from engine.core.simulate import accrual_index

    weights = result.simulation.weights[0]
    index = weights.index
    prices = result.panel.prices.reindex(index).ffill()
    borrow = accrual_index(pd.Series(result.config.costs.borrow_bps / 1e4, index=index))
    cash = accrual_index(result.panel.cash_rate)
    return attribution.instrument_returns(prices, cash, borrow, list(weights.columns))


def decision_signals(result: RunResult) -> pd.DataFrame:
    """The strategy's signal values on each bar it decided (its hover text)."""
    signals = result.schedule.signals
    decided = pd.DatetimeIndex(result.schedule.log.loc[result.schedule.log["decided"], "time"])
    if not len(signals.columns):
        return pd.DataFrame(index=decided.unique())
    numeric = signals.select_dtypes("number")
    return numeric.reindex(decided.unique())


def save_page_inputs(result: RunResult, folder: Path) -> None:
    """Write the two files the run page needs beyond the run folder's own."""
    instrument_returns(result).to_parquet(Path(folder) / INSTRUMENT_RETURNS)
    decision_signals(result).to_parquet(Path(folder) / DECISION_SIGNALS)


# --- figures the page shows -----------------------------------------------------------


def _compounded(returns: pd.Series) -> float:
    """Return over the bars, compounded: the last growth of 1, less 1."""
    return float(metrics.growth_of_one(returns).iloc[-1] - 1.0)


def drawdown(returns: pd.Series) -> pd.Series:
    """Fraction below the running peak of growth of 1 (the starting 1 counts as a peak):
    `metrics.drawdown`, the one the run's max drawdown comes from."""
    return metrics.drawdown(returns.astype(float))


@dataclass(frozen=True)
class Episode:
    """The worst drawdown: its peak, its trough, and its recovery (None if not recovered)."""

    depth: float
    peak: pd.Timestamp
    trough: pd.Timestamp
    recovered: pd.Timestamp | None


def worst_drawdown(returns: pd.Series) -> Episode | None:
    """Where the max drawdown happened; None if the strategy never fell below a peak."""
    dd = drawdown(returns)
    if dd.min() >= 0:
        return None
    trough = dd.idxmin()
    w = metrics.growth_of_one(returns)
    before = w.loc[:trough]
    running = np.maximum(before.cummax(), 1.0)
    peak_value = float(running.iloc[-1])
    at_peak = before[before >= peak_value]
    peak = at_peak.index[-1] if len(at_peak) else returns.index[0]
    after = w.loc[trough:]
    back = after[after >= peak_value]
    return Episode(float(dd.min()), peak, trough, back.index[0] if len(back) else None)


def holdings_text(targets: pd.Series) -> str:
    """'BTC-USD 100%, GLD 40%' for a target row; 'cash' when nothing is held."""
    held = [f"{symbol} {weight:+.0%}" for symbol, weight in targets.items() if weight != 0]
    return ", ".join(held) or "cash"


def decisions(files: RunFiles) -> pd.DataFrame:
    """One row per decision in force during the run, with what it did until the next one.

    `entry` is the decision bar (the order fills at the next bar's close); `exit` the next
    decision bar or the run's last bar; `return` is the strategy's compounded return over the
    bars after `entry` up to and including `exit`; `benchmark` the same for the benchmark.
    A decision taken before the run's first bar is shown entering on that first bar.
    """
    index = files.returns.index
    log = files.events[files.events["decided"]].copy()
    log["time"] = pd.DatetimeIndex(log["time"])
    log = log.drop_duplicates("time", keep="last")
    before = log[log["time"] < index[0]]
    inside = log[(log["time"] >= index[0]) & (log["time"] <= index[-1])]
    if len(before) and (not len(inside) or inside["time"].iloc[0] > index[0]):
        carried = before.iloc[[-1]].copy()
        inside = pd.concat([carried, inside])
    rows = []
    times = list(inside["time"])
    gross_before = 0.0
    for i, event in enumerate(inside.itertuples(index=False)):
        entry = max(pd.Timestamp(event.time), index[0])
        exit_ = times[i + 1] if i + 1 < len(times) else index[-1]
        span = (index > entry) & (index <= exit_)
        target = files.targets.loc[pd.Timestamp(event.time)]
        if isinstance(target, pd.DataFrame):
            target = target.iloc[-1]
        row = {
            "entry": entry,
            "exit": exit_,
            "days": (exit_ - entry).days,
            "rule": str(event.kind),
            "detail": str(event.detail),
            "holding": holdings_text(target),
            "gross_before": gross_before,
            "gross": float(event.gross),
            "return": _compounded(files.returns["strategy"][span]) if span.any() else 0.0,
            "benchmark": _compounded(files.returns["benchmark"][span])
            if span.any() and "benchmark" in files.returns
            else np.nan,
            "open": i + 1 == len(times),
            "decided": pd.Timestamp(event.time),
        }
        gross_before = float(event.gross)
        rows.append(row)
    table = pd.DataFrame(rows)
    if len(table):  # a rebalance back to the same targets is a decision that changed nothing
        table["changed"] = table["holding"].ne(table["holding"].shift(1))
    return table


def contributions(files: RunFiles) -> pd.DataFrame | None:
    """Per instrument: `attribution.leg_contributions` (sum over bars of the previous bar's
    end weight times its return), its `costs` row shown as `costs and fills` (fees,
    slippage and the fill bar's own trading); None when the folder has no instrument returns.
    """
    asset = _asset_returns(files)
    if asset is None:
        return None
    legs = attribution.leg_contributions(files.weights, asset, files.returns["strategy"])
    return legs.rename({attribution.COSTS: "costs and fills"}).to_frame("contribution")


def cumulative_contributions(files: RunFiles) -> pd.DataFrame | None:
    """The same contributions, summed up to each bar (a line per instrument)."""
    asset = _asset_returns(files)
    if asset is None:
        return None
    return attribution.leg_returns(files.weights, asset).fillna(0.0).cumsum()


def _asset_returns(files: RunFiles) -> pd.DataFrame | None:
    """The folder's instrument returns, one column per weight column (0 where missing)."""
    if files.instrument_returns is None:
        return None
    return files.instrument_returns.reindex(columns=files.weights.columns)
