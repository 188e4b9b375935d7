"""Target-weight schedules -> portfolio value, for one run or thousands of sets at once.

Execution half of the look-ahead wall: a decision taken at bar t's close fills at the close of
the first later bar on which every asset it trades has a real bar (a Friday decision on BTC
and SPY fills Monday; a Saturday BTC-only decision fills Sunday). A newer decision supersedes
an older one still waiting to fill.

vectorbt's open-source simulator has no interest on cash, no borrow fee and no margin, so the
engine models them as instruments with their own price paths:
- CASH accrues the cash rate: price_t = price_{t-1} * (1 + r_{t-1}) ** (days / 365). Idle
  money is a long CASH position; leverage is a short CASH position (borrowing at the bill rate).
- a short leg `SYM~short` is priced `price * borrow_index`, where borrow_index grows at the
  borrow rate the same way: being short it costs exactly the borrow rate on the short notional.
A book whose wealth falls to zero or below at a close is bankrupt: everything is closed at
that close and wealth stays 0 (no account can hold negative equity and keep trading).
Every schedule is one group of instruments with shared cash. The orders themselves are
vectorbt's target-percent orders (`engine.core.simulate_kernel`, its numba layer called only on
fill bars over one shared price table, equal to `Portfolio.from_orders`), so parameter sets
are columns of one call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.core import metrics
from engine.core.decisions import Decisions
from engine.core.panel import Panel, column_values

CASH = metrics.CASH
SHORT_SUFFIX = "~short"


@dataclass(frozen=True)
class Costs:
    fees_bps: float = 0.0  # per side, on traded notional
    slippage_bps: float = 0.0  # price moved against every fill
    borrow_bps: float = 0.0  # per year, on short notional


@dataclass(frozen=True)
class Simulation:
    value: pd.DataFrame  # window x runs: wealth, starting from 1.0 before the first fill
    returns: pd.DataFrame  # window x runs: simple returns per bar
    weights: list[pd.DataFrame]  # per run: window x instruments, end-of-bar weights
    turnover: pd.Series  # per run: sum over risky orders (never CASH) of |notional| / wealth
    fills: list[pd.DataFrame]  # per run: fill bar x universe targets
    bankrupt: dict[str, str] = field(default_factory=dict)  # run -> its bankruptcy note


@dataclass(frozen=True)
class SetResults:
    """Many sets on one window as arrays (a sweep's or a scenario's chunk)."""

    index: pd.DatetimeIndex  # the window
    value: np.ndarray  # sets x bars: wealth, 1.0 before the first fill
    returns: np.ndarray  # sets x bars: simple returns per bar
    gross: np.ndarray  # sets x bars: sum of |weight| of everything but CASH, end of bar
    turnover: np.ndarray  # sets: sum over risky orders (never CASH) of |notional| / wealth
    fills: np.ndarray  # sets: fills in each set's schedule that happened (not after bankruptcy)
    weights: np.ndarray | None  # bars x sets x instruments (2m + 1), when asked for
    symbols: tuple[str, ...]
    fill_bar: np.ndarray  # window positions of every set's fills, set after set
    fill_weights: np.ndarray  # fills x symbols
    fill_offsets: np.ndarray  # sets + 1
    bankrupt_bar: np.ndarray  # sets: window position where wealth hit <= 0, -1 if never
    bankrupt_equity: np.ndarray  # sets: the equity it fell to there (NaN if never)
    bankrupt_leverage: np.ndarray  # sets: gross exposure held into that bar (NaN if never)

    def bankrupt_note(self, s: int) -> str:
        """One line for a run's notes when set s went broke, else ''."""
        bar = int(self.bankrupt_bar[s])
        if bar < 0:
            return ""
        return (
            f"bankrupt on {self.index[bar].date()}: equity fell to "
            f"{self.bankrupt_equity[s]:.4f} of a starting 1.0 "
            f"(leverage {self.bankrupt_leverage[s]:.2f}x gross held into that bar); "
            "every position closed at that close, wealth 0 after, no later order filled"
        )

    def instruments(self, s: int) -> list[int]:
        """Set s's instrument columns: its symbols, the short legs it used, CASH."""
        m = len(self.symbols)
        rows = self.fill_weights[self.fill_offsets[s] : self.fill_offsets[s + 1]]
        shorted = [m + j for j in range(m) if (rows[:, j] < 0).any()]
        return [*range(m), *shorted, 2 * m]

    def instrument_names(self, columns: Sequence[int]) -> list[str]:
        names = [*self.symbols, *(s + SHORT_SUFFIX for s in self.symbols), CASH]
        return [names[c] for c in columns]


def simulate(
    panel: Panel | Sequence[Panel],
    targets: Sequence[pd.DataFrame],
    costs: Costs,
    start: pd.Timestamp | None = None,
    names: Sequence[str] | None = None,
) -> Simulation:
    """Simulate each target schedule (decision bar x symbol weights) from `start` to the end.

    `panel` is one panel shared by every schedule (a parameter sweep) or one panel per
    schedule on the same calendar (scenario paths): either way one kernel call.
    """
    if not isinstance(panel, Panel):
        panel = list(panel)
        if len(panel) != len(targets):
            raise ValueError("one panel per schedule, or one panel for all")
    index = panel.index if isinstance(panel, Panel) else panel[0].index
    decisions = Decisions.from_targets(targets, index)
    names = list(names) if names is not None else [f"run{i}" for i in range(len(targets))]
    result = simulate_sets(panel, decisions, costs, start, keep_weights=True)
    window = result.index
    value = pd.DataFrame(result.value.T, index=window, columns=names)
    returns = pd.DataFrame(result.returns.T, index=window, columns=names)
    weights, fills = [], []
    assert result.weights is not None
    for s, frame in enumerate(targets):
        own = [decisions.symbols.index(c) for c in frame.columns]
        m = len(decisions.symbols)
        columns = [
            *own,
            *(c for c in result.instruments(s) if m <= c < 2 * m and c - m in own),
            2 * m,
        ]
        weights.append(
            pd.DataFrame(
                result.weights[:, s, columns],
                index=window,
                columns=result.instrument_names(columns),
            )
        )
        first = int(result.fill_offsets[s])
        rows = slice(first, first + int(result.fills[s]))  # none after a bankruptcy
        fills.append(
            pd.DataFrame(
                result.fill_weights[rows][:, own],
                index=pd.DatetimeIndex(window[result.fill_bar[rows]], name="date"),
                columns=list(frame.columns),
            )
        )
    turnover = pd.Series(result.turnover, index=names)
    bankrupt = {n: result.bankrupt_note(s) for s, n in enumerate(names)}
    bankrupt = {n: note for n, note in bankrupt.items() if note}
    return Simulation(value, returns, weights, turnover, fills, bankrupt)


def simulate_sets(
    panel: Panel | Sequence[Panel],
    decisions: Decisions,
    costs: Costs,
    start: pd.Timestamp | None = None,
    keep_weights: bool = False,
) -> SetResults:
    """Every set of `decisions` from `start` to the end, in one numba call.

    `panel` is one panel for every set (a sweep) or one per set on one calendar (scenario
    paths). Weights per bar and instrument are kept only when asked for (a run, a scenario's
    exposure per phase); a sweep reads gross exposure and turnover instead.
    """
    from engine.core import simulate_kernel as kernel

    if isinstance(panel, Panel):  # a sweep: one panel for every set
        tables, panel_of = [panel], np.zeros(decisions.sets, np.int64)
    else:
        tables, panel_of = _distinct(list(panel))
        if len(panel_of) != decisions.sets:
            raise ValueError("one panel per set, or one panel for all")
    index = tables[0].index
    start_pos = 0 if start is None else int(index.searchsorted(pd.Timestamp(start)))
    window = index[start_pos:]
    fill_bar, fill_weights, fill_offsets = _fills(tables, decisions, panel_of, start_pos)
    fill_bar = fill_bar - start_pos
    close, valuation, mark = _price_tables(tables, decisions.symbols, costs, start_pos)
    m = len(decisions.symbols)
    trades = np.r_[np.ones(2 * m), 0.0]  # CASH trades free: it is the money itself
    value, returns, gross, turnover, weights, broke, equity, leverage = kernel.simulate_nb(
        close,
        valuation,
        mark,
        trades * costs.fees_bps / 1e4,
        trades * costs.slippage_bps / 1e4,
        panel_of,
        fill_bar,
        fill_weights,
        fill_offsets,
        keep_weights,
        *kernel.order_scratch(),
    )
    return SetResults(
        index=window,
        value=value,
        returns=returns,
        gross=gross,
        turnover=turnover,
        fills=_filled(fill_bar, fill_offsets, broke),
        weights=weights if keep_weights else None,
        symbols=decisions.symbols,
        fill_bar=fill_bar,
        fill_weights=fill_weights,
        fill_offsets=fill_offsets,
        bankrupt_bar=broke,
        bankrupt_equity=equity,
        bankrupt_leverage=leverage,
    )


def _filled(fill_bar: np.ndarray, fill_offsets: np.ndarray, broke: np.ndarray) -> np.ndarray:
    """Fills per set that took place: a bankrupt book's end at its bankruptcy bar."""
    counts = np.diff(fill_offsets)
    for s in np.flatnonzero(broke >= 0):
        bars = fill_bar[fill_offsets[s] : fill_offsets[s + 1]]
        counts[s] = int(np.searchsorted(bars, broke[s], side="right"))
    return counts


def _distinct(panels: list[Panel]) -> tuple[list[Panel], np.ndarray]:
    """Each distinct panel once, and which of them each set reads; one calendar for all."""
    slot: dict[int, int] = {}
    tables: list[Panel] = []
    for p in panels:
        if id(p) not in slot:
            if tables and not p.index.equals(tables[0].index):
                raise ValueError("scenario panels must share one calendar")
            slot[id(p)] = len(tables)
            tables.append(p)
    return tables, np.array([slot[id(p)] for p in panels], np.int64)


def fill_schedule(panel: Panel, targets: pd.DataFrame, start_pos: int = 0) -> pd.DataFrame:
    """Decisions -> the bars they fill on (the next bar on which all their legs trade).

    Decisions before the window collapse into the last one, filled at the window's first
    eligible bar, so a run started mid-history enters the position its strategy held then.
    """
    index = panel.index
    decisions = Decisions.from_targets([targets], index, tuple(targets.columns))
    fill_bar, fill_weights, _ = _fills([panel], decisions, np.zeros(1, np.int64), start_pos)
    return pd.DataFrame(
        fill_weights,
        index=pd.DatetimeIndex(index[fill_bar], name="date"),
        columns=list(targets.columns),
    )


def _fills(
    panels: Sequence[Panel], decisions: Decisions, panel_of: np.ndarray, start_pos: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fill bar on the panel calendar, its weights, offsets per set) of every set."""
    from engine.core import simulate_kernel as kernel

    traded = np.stack([column_values(p.traded, decisions.symbols, bool) for p in panels])
    fill_bar, fill_row, offsets = kernel.fill_rows_nb(
        decisions.bar, decisions.weights, decisions.offsets, traded, panel_of, start_pos
    )
    return fill_bar, np.ascontiguousarray(decisions.weights[fill_row]), offsets


def accrual_index(rate: pd.Series) -> pd.Series:
    """Growth of 1 at an annual rate prevailing over each gap, compounded by calendar days."""
    values = accrual_values(rate.to_numpy(dtype=np.float64), rate.index)
    return pd.Series(values, index=rate.index)


def accrual_values(rate: np.ndarray, index: pd.DatetimeIndex) -> np.ndarray:
    """`accrual_index` on arrays: each bar grows by the previous bar's rate (the first bar's
    rate where there is none) over the calendar days since it."""
    if not len(rate):
        return np.empty(0)
    prior = np.concatenate([rate[:1], rate[:-1]])
    prior = np.where(np.isnan(prior), rate[0], prior)
    growth = np.power(1.0 + prior, gap_days(index) / 365.0)
    return np.cumprod(growth)


def gap_days(index: pd.DatetimeIndex) -> np.ndarray:
    """Whole calendar days from each bar's predecessor (0 for the first bar), as floats."""
    per_day = np.timedelta64(1, "D") // np.timedelta64(1, index.unit)  # ticks of the index
    days = np.zeros(len(index))
    days[1:] = np.diff(index.asi8) // per_day
    return days


def _price_tables(
    panels: Sequence[Panel], symbols: tuple[str, ...], costs: Costs, start_pos: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(close, valuation, mark), each panels x window x (symbols, short legs, CASH).

    close is NaN where an instrument has no price; valuation back-fills it (a zero position
    before an asset's first bar is worth 0, so a placeholder keeps value finite; no order is
    ever placed on it); mark forward-fills valuation (the last price known). The panels share
    one calendar, so the borrow index (one rate for every bar) is grown once for all of them.

    Built per call, not cached: it costs a fraction of a millisecond per panel next to the
    sets it serves, and a cache keyed by panel objects outlived the panels' use
    (`engine.runs.batch` passes what sets on one panel share explicitly)."""
    window = panels[0].index[start_pos:]
    borrow = accrual_values(np.full(len(window), costs.borrow_bps / 1e4), window)
    m = len(symbols)
    close = np.empty((len(panels), len(window), 2 * m + 1))
    for k, panel in enumerate(panels):
        prices = close[k, :, :m]
        prices[:] = column_values(panel.prices, symbols)[start_pos:]
        close[k, :, m : 2 * m] = prices * borrow[:, None]
        close[k, :, 2 * m] = accrual_values(
            panel.cash_rate.to_numpy(dtype=np.float64)[start_pos:], window
        )
    valuation = _fill_forward(_fill_forward(close[:, ::-1])[:, ::-1])  # back-fill
    mark = _fill_forward(valuation)
    return close, valuation, mark


def _fill_forward(values: np.ndarray) -> np.ndarray:
    """`values` (panels x bars x columns) with each NaN replaced by the last non-NaN value
    above it in its column (NaN stays where there is none): pandas' ffill. A copy, or
    `values` itself when it holds no NaN (generated paths price every bar)."""
    if not np.isnan(values).any():
        return values
    bars = values.shape[1]
    seen = np.where(np.isnan(values), 0, np.arange(bars)[None, :, None])
    np.maximum.accumulate(seen, axis=1, out=seen)
    found = np.take_along_axis(values, seen, axis=1)
    return found
