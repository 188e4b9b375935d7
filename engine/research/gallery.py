"""`playbook report gallery`: did each thesis hold up on real history, in one document.

Runs the three seed playbooks, their baselines and a constant mix at each playbook's average
weights on a data directory, in memory; for hayes-pivot also its scenario paths and its
threshold sweep. Writes `docs/results.md`: per playbook a verdict in words (each sentence
made from the figures by `engine.research.verdicts`), a chart, the headline table, attribution by
leg
and by rule, and per regime the returns and what the strategy held and decided. Output is
deterministic (no timestamps), so a regenerated gallery only changes when the code or the
data did.
"""

from __future__ import annotations

import math
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from engine.core import metrics
from engine.core.regimes import regime_table
from engine.core.signals import MissingInputWarning
from engine.core.simulate import CASH, SHORT_SUFFIX, accrual_index
from engine.core.strategy import rule_key
from engine.io.atomic import write_file_atomically
from engine.reports import attribution
from engine.research import verdicts
from engine.research.verdicts import Figures
from engine.runs.backtest import RunResult, run_backtest
from engine.runs.config import RunConfig, load_run_config

SCENARIO_PATHS = 50  # enough for a median and a share, quick enough for the gallery
MIX = "constant-mix"


@dataclass(frozen=True)
class Entry:
    """A playbook, the baselines it is judged against and the rules its thesis names."""

    config: str
    baselines: tuple[str, ...]  # the first is buy-and-hold of what it trades
    meanings: Mapping[str, str] = field(default_factory=dict)  # rule -> what it does
    thesis_rules: tuple[str, ...] = ()  # the rules the thesis's mechanism names
    scenario: str | None = None  # a scenario its thesis is about
    sweep: str | None = None  # configs/sweeps/<name>.yaml, on the same data


ENTRIES = (
    Entry(
        "hayes-pivot",
        ("buy-and-hold-btc", "buy-and-hold-spy", "60-40"),
        {
            "alarm": "de-lever on the fire alarm",
            "fresh": "de-lever on a fresh alarm",
            "delever": "start de-levered under an alarm",
            "pivot": "buy after the Fed is forced to print",
            "stance": "hold BTC before any alarm",
        },
        ("alarm", "fresh", "delever", "pivot"),
        scenario="ai-credit-crunch",
        sweep="hayes-pivot-thresholds",
    ),
    Entry(
        "liquidity-barometer",
        ("buy-and-hold-btc", "buy-and-hold-spy", "60-40"),
        {  # the rule names of strategies.liquidity_barometer.RULES
            "barometer": "size BTC by liquidity growth and the dollar",
            "sold_first": "cut BTC when it trades as tech in a sell-off",
            "fed_easing": "re-enter after the Fed eases",
            "easing_data": "re-enter once easing shows in the data and the dollar weakens",
        },
        ("sold_first", "fed_easing", "easing_data"),
    ),
    Entry(
        "hard-assets-vs-duration",
        ("buy-and-hold-gld", "buy-and-hold-spy", "60-40"),
        {"rebalance": "reset the fixed weights", "listing": "enter a leg when it lists"},
    ),
)
COLORS = ("#1f4e79", "#d95f02", "#7570b3", "#1b9e77", "#999999", "#e7298a")


def build_gallery(data_dir: Path, out_dir: Path, configs_dir: Path) -> Path:
    """Run everything on `data_dir`; write `out_dir/results.md` and `out_dir/img/*.png`."""
    (out_dir / "img").mkdir(parents=True, exist_ok=True)
    sections = []
    main: RunResult | None = None
    for entry in ENTRIES:
        main = _run(configs_dir / f"{entry.config}.yaml", data_dir)
        window = (main.returns.index[0].date(), main.returns.index[-1].date())
        baselines = [_run(configs_dir / f"{b}.yaml", data_dir, window) for b in entry.baselines]
        mix_weights = average_weights(main.simulation.weights[0])
        mix = _run_mix(main, mix_weights)
        runs = [main, *baselines, mix]
        image = out_dir / "img" / f"{entry.config}.png"
        _plot(runs, image, f"{entry.config} vs baselines, {window[0]} to {window[1]}")
        extras = []
        if entry.scenario:
            extras.append(_scenario_part(configs_dir / f"{entry.config}.yaml", entry.scenario))
        if entry.sweep:
            extras.append(
                _sweep_part(configs_dir / "sweeps" / f"{entry.sweep}.yaml", data_dir, main)
            )
        sections.append(_section(entry, runs, mix_weights, image.relative_to(out_dir), extras))
    assert main is not None
    fingerprint = main.panel.fingerprint()
    path = out_dir / "results.md"
    text = _document(sections, data_dir, str(fingerprint["content_sha256"])[:12])
    write_file_atomically(path, lambda tmp: tmp.write_text(text))  # never half a page
    return path


def _run(path: Path, data_dir: Path, window: tuple | None = None) -> RunResult:
    config = load_run_config(path)
    data = config.data.model_copy(update={"source": "directory", "path": data_dir.resolve()})
    update: dict[str, object] = {"data": data, "name": path.stem}
    if window is not None:
        update.update(start=window[0], end=window[1])
    return _run_config(config.model_copy(update=update))


def _run_config(config: RunConfig) -> RunResult:
    RunConfig.model_validate(config.model_dump())  # the copy must still be a valid config
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingInputWarning)
        return run_backtest(config)


def average_weights(weights: pd.DataFrame) -> dict[str, float]:
    """Each risky symbol's mean end-of-bar weight over the window (a short leg counts as a
    negative weight of its symbol), rounded to 0.1%; CASH is what is left."""
    out: dict[str, float] = {}
    for column in weights.columns:
        if column == CASH:
            continue
        symbol = column.removesuffix(SHORT_SUFFIX)
        out[symbol] = out.get(symbol, 0.0) + float(weights[column].mean())
    return {s: round(w, 3) for s, w in out.items() if round(w, 3) != 0}


def _run_mix(main: RunResult, weights: dict[str, float]) -> RunResult:
    """The constant mix on the playbook's window, costs, cash and benchmark."""
    window = (main.returns.index[0].date(), main.returns.index[-1].date())
    config = main.config.model_copy(
        update={
            "strategy": MIX,
            "params": {"weights": weights, "rebalance": "monthly"},
            "universe": None,
            "name": MIX,
            "start": window[0],
            "end": window[1],
        }
    )
    return _run_config(config)


def _label(result: RunResult) -> str:
    return result.config.name or result.strategy.name


def _figures(result: RunResult) -> Figures:
    s = result.stats
    return Figures(float(s["cagr"]), float(s["sharpe"]), float(s["max_drawdown"]))  # type: ignore[arg-type]


def _mix_label(weights: Mapping[str, float]) -> str:
    return ", ".join(f"{verdicts.pct(w)} {s}" for s, w in weights.items())


# --- attribution -------------------------------------------------------------------------


def legs_of(result: RunResult) -> pd.Series:
    """`attribution.leg_contributions` of a run, from its weights, prices and cash."""
    weights = result.simulation.weights[0]
    index = weights.index
    prices = result.panel.prices.reindex(index)
    cash = accrual_index(result.panel.cash_rate).reindex(index)
    borrow = accrual_index(pd.Series(result.config.costs.borrow_bps / 1e4, index=index))
    asset_returns = attribution.instrument_returns(prices, cash, borrow, list(weights.columns))
    return attribution.leg_contributions(weights, asset_returns, result.returns)


def decisions_of(result: RunResult) -> pd.Series:
    """Each decision's time -> its rule: the key the strategy cites (`decision_rule`,
    `engine.core.strategy.cite_rule`), else the event kind that triggered it (from the event
    log)."""
    log = result.schedule.log[result.schedule.log["decided"]]
    kinds = log.groupby("time")["kind"].last()
    rule_of = getattr(result.strategy, "decision_rule", None)
    labels = {}
    for time, kind in kinds.items():
        why = rule_of(time) if callable(rule_of) else None
        key = rule_key(why)
        labels[time] = str(kind) if key is None else key
    return pd.Series(labels, dtype="object").sort_index()


def exposure_of(result: RunResult) -> pd.Series:
    """Gross exposure at each bar's end: sum of |weight| of everything but CASH."""
    weights = result.simulation.weights[0]
    return metrics.gross_exposure(weights)


def rules_of(result: RunResult, decisions: pd.Series) -> pd.DataFrame:
    """Per rule: fills, bars held, mean exposure held and summed return."""
    fills = result.simulation.fills[0].index
    decided = pd.DatetimeIndex(decisions.index)
    picked = attribution.decision_of_fill(decided, fills)
    labels = [str(decisions.iloc[i]) if i >= 0 else "" for i in picked]
    state = attribution.state_labels(pd.DatetimeIndex(result.returns.index), fills, labels)
    table = attribution.rule_contributions(result.returns, state)
    held = exposure_of(result).shift(1).fillna(0.0)
    table["exposure"] = [float(held[state == label].mean()) for label in table.index]
    table["fills"] = [labels.count(str(label)) for label in table.index]
    return table[table.index != ""]


# --- the extra runs: scenario paths and the sweep ---------------------------------------


def _scenario_part(config_path: Path, scenario: str) -> str:
    from engine.markets import load_scenario
    from engine.runs.paths import run_paths
    from engine.workflows.scenario import make_paths

    config = load_run_config(config_path)
    seed = load_scenario(scenario).seed
    markets, label = make_paths(config, scenario, SCENARIO_PATHS, seed, "regime", None, 20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingInputWarning)
        outcome = run_paths(config, markets, label, seed)
    per_path = outcome.per_path
    phases = [c for c in per_path.columns if c.startswith("exposure.")]
    median = per_path.median(numeric_only=True)
    sentence = verdicts.scenario_sentence(
        scenario,
        outcome.paths,
        float(median["cagr"]),
        float(median.get("benchmark_cagr", np.nan)),
        config.benchmark or "the benchmark",
        float(per_path["beat_benchmark"].mean()) if "beat_benchmark" in per_path else np.nan,
        float(median.get(f"exposure.{scenario}", np.nan)),
        float(median.get("exposure.fed-pivot", np.nan)),
    )
    by_phase = ", ".join(
        f"{c.removeprefix('exposure.')} {verdicts.pct(float(median[c]))}" for c in phases
    )
    return (
        f"- {verdicts.sample_sentence()} {sentence} Median exposure by phase: {by_phase} "
        f"(`playbook scenario run {config_path.stem} --scenario {scenario} --paths "
        f"{SCENARIO_PATHS}`, seed {seed})."
    )


def _sweep_part(spec_path: Path, data_dir: Path, main: RunResult) -> str:
    from engine.sweep.overfit import deflated_sharpe
    from engine.workflows.sweep import sweep_to_folder

    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingInputWarning)
        summary, _ = sweep_to_folder(
            spec_path, data_dir=data_dir, out_dir=Path(folder) / "sweep", on_note=lambda _n: None
        )
    assert summary is not None
    inputs = summary["deflated_sharpe_inputs"]
    benchmark = main.config.benchmark or "the benchmark"
    bench_pp = benchmark_sharpe_per_bar(main)
    same_bars = inputs["bars"] == len(main.returns)
    dsr_bench = (
        deflated_sharpe(
            inputs["per_period_sharpe"],
            inputs["bars"],
            inputs["skewness"],
            inputs["kurtosis"],
            summary["trials"],
            inputs["sharpe_variance_across_trials"],
            threshold=bench_pp,
        )
        if same_bars
        else float("nan")
    )
    lines = [
        "- "
        + verdicts.sweep_sentence(
            summary["trials"],
            float(summary["best"]["sharpe"]),
            dsr_bench,
            float(summary["deflated_sharpe"]),
            benchmark,
            bench_pp * math.sqrt(main.periods_per_year),
            float(summary["pbo"]),
        )
    ]
    walk = summary.get("walk_forward")
    if walk:
        lines.append(
            "- "
            + verdicts.walk_forward_sentence(
                walk["windows"],
                walk["picked_beat_median_share"],
                walk["picked_mean_sharpe"],
                walk["median_mean_sharpe"],
            )
        )
    lines.append(
        f"- The sweep report: `playbook sweep configs/sweeps/{spec_path.name} --data-dir "
        "../shared/data` writes a folder under `results/sweeps/` with `sweep.html` (the table, "
        "heatmap and these overfitting figures) and `summary.json`."
    )
    return "\n".join(lines)


def benchmark_sharpe_per_bar(result: RunResult) -> float:
    """The benchmark's per-bar Sharpe over cash on the run's bars (ddof 1), the threshold a
    benchmark-relative deflated Sharpe tests against."""
    if result.benchmark is None:
        return float("nan")
    excess = (result.benchmark - result.cash_returns).dropna()
    return float(excess.mean() / excess.std(ddof=1))


# --- the document -----------------------------------------------------------------------


def _plot(runs: Sequence[RunResult], path: Path, title: str) -> None:
    from matplotlib.figure import Figure

    from engine.reports.tearsheet import configure_plotting

    configure_plotting()
    fig = Figure(figsize=(10, 6), dpi=100, layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[2, 1])
    for result, color in zip(runs, COLORS, strict=False):
        wealth = metrics.growth_of_one(result.returns)
        width = 1.8 if result is runs[0] else 1.0
        style = "--" if _label(result) == MIX else "-"
        top.plot(
            wealth.index,
            wealth.to_numpy(),
            color=color,
            linewidth=width,
            linestyle=style,
            label=_label(result),
        )
        bottom.plot(
            wealth.index,
            metrics.drawdown(result.returns).to_numpy() * 100,
            color=color,
            linewidth=width * 0.7,
            linestyle=style,
        )
    top.set_yscale("log")
    top.set_ylabel("growth of 1 (log)")
    top.legend(loc="upper left", frameon=False)
    bottom.set_ylabel("drawdown %")
    for ax in (top, bottom):
        ax.grid(True, color="#dddddd", linewidth=0.6)
    fig.suptitle(title, fontweight="bold")
    fig.savefig(path, metadata={"Software": None})


def _section(
    entry: Entry,
    runs: Sequence[RunResult],
    mix_weights: Mapping[str, float],
    image: Path,
    extras: Sequence[str],
) -> str:
    main, hold, mix = runs[0], runs[1], runs[-1]
    held_asset = str(hold.strategy.universe()[0])
    legs = legs_of(main)
    decisions = decisions_of(main)
    rules = rules_of(main, decisions)
    regimes = _regime_rows(entry, main, decisions)
    verdict = [
        verdicts.hold_sentence(held_asset, _figures(main), _figures(hold)),
        verdicts.edge_sentence(_mix_label(mix_weights), _figures(main), _figures(mix)),
        verdicts.legs_sentence({k: float(v) for k, v in legs.items()}),
    ]
    risky = [k for k in legs.index if k not in (CASH, attribution.COSTS)]
    if len(risky) > 1:
        others = {k: float(legs[k]) for k in risky if k != held_asset}
        excess = float(main.returns.sum() - hold.returns.sum())
        verdict.append(verdicts.excess_sentence(held_asset, excess, others))
    verdict.append(
        verdicts.rules_sentence(
            [(str(k), float(r["exposure"]), float(r["sum"])) for k, r in rules.iterrows()]
        )
    )
    if entry.thesis_rules:
        inside = [d for row in regimes for d in row["decisions"]]
        verdict.append(
            verdicts.mechanism_sentence(
                len(regimes),
                sum(row["trough"] <= verdicts.OUT_OF_MARKET for row in regimes),
                sum(r in entry.thesis_rules for _, r in inside),
                len(inside),
            )
        )
    else:
        verdict.append(
            "Its rules are fixed weights rebalanced on a schedule: there is no timing "
            "mechanism to check per regime, only what the legs earned."
        )
    lines = [
        f"## {entry.config}",
        "",
        f"*{main.strategy.thesis}*",
        "",
        "**Verdict.**",
        "",
        *(f"- {s}" for s in verdict),
        *extras,
        "",
        f"![{entry.config} against its baselines]({image.as_posix()})",
        "",
        "| run | CAGR | volatility | Sharpe | max drawdown | time in market |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for result in runs:
        s = result.stats
        label = _label(result)
        if label == MIX:
            label = f"{MIX} ({_mix_label(mix_weights)})"
        lines.append(
            f"| {label} | {_pct(s['cagr'])} | {_pct(s['volatility'])} | "
            f"{_num(s['sharpe'])} | {_pct(s['max_drawdown'])} | {_pct(s['time_in_market'])} |"
        )
    lines += ["", _rules_markdown(rules, entry), "", _regime_markdown(runs[:-1]), ""]
    if entry.thesis_rules and regimes:
        lines += [_mechanism_markdown(regimes), ""]
    return "\n".join(lines)


def _regime_rows(entry: Entry, main: RunResult, decisions: pd.Series) -> list[dict[str, Any]]:
    """Per covered regime: exposure at its start and trough, the decisions inside it."""
    table = regime_table(main.returns, None, main.panel.regimes)
    exposure = exposure_of(main)
    rows = []
    for row in table[table["coverage"] != "none"].itertuples(index=False):
        start, end = pd.Timestamp(row.start), pd.Timestamp(row.end)
        before = exposure[exposure.index <= start]
        at_trough = exposure[exposure.index <= end]
        inside = decisions[(decisions.index > start) & (decisions.index <= end)]
        picked = [(t.date().isoformat(), str(r)) for t, r in inside.items()]
        start_exposure = float(before.iloc[-1]) if len(before) else 0.0
        trough = float(at_trough.iloc[-1])
        rows.append(
            {
                "regime": row.regime,
                "window": f"{row.start} to {row.end}",
                "start": start_exposure,
                "trough": trough,
                "decisions": picked,
                "reading": verdicts.regime_reading(
                    start_exposure, trough, picked, entry.thesis_rules
                ),
            }
        )
    return rows


def _mechanism_markdown(rows: Sequence[Mapping[str, Any]]) -> str:
    lines = [
        "Did the thesis's own mechanism act? Exposure (sum of |weights| outside cash) at the "
        "regime's start and at its trough close, and the decisions taken inside it with the "
        "rule behind each:",
        "",
        "| regime | exposure at start | at trough | reading |",
        "|---|---:|---:|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['regime']} | {_pct(row['start'])} | {_pct(row['trough'])} | {row['reading']} |"
        )
    return "\n".join(lines)


def _rules_markdown(rules: pd.DataFrame, entry: Entry) -> str:
    lines = [
        "Attribution by rule: the run's daily returns summed over the bars on which the "
        "positions set by a decision under each rule (or event kind) were held. By leg (the "
        "verdict above): the sum over bars of the previous bar's weight x the instrument's "
        "return, per instrument; CASH is the T-bill accrual, a short leg's return includes "
        "its borrow, and costs are what no leg explains (fees, slippage).",
        "",
        "| rule | meaning | fills | bars held | mean exposure | summed return | compounded |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for rule, row in rules.iterrows():
        meaning = entry.meanings.get(str(rule), "")
        lines.append(
            f"| {rule} | {meaning} | {int(row['fills'])} | {int(row['bars'])} | "
            f"{_pct(row['exposure'])} | {verdicts.pts(float(row['sum']))} | "
            f"{_pct(row['compounded'])} |"
        )
    return "\n".join(lines)


def _regime_markdown(runs: Sequence[RunResult]) -> str:
    main = runs[0]
    catalog = main.panel.regimes
    tables = [regime_table(r.returns, None, catalog).set_index("regime") for r in runs]
    covered = [name for name in tables[0].index if tables[0].loc[name, "coverage"] != "none"]
    if not covered:
        return "No named regime falls inside this window."
    head = "| regime | window | " + " | ".join(_label(r) for r in runs) + " |"
    lines = [
        "Return inside each regime (peak close to trough close):",
        "",
        head,
        "|---|---|" + "---:|" * len(runs),
    ]
    for name in covered:
        row = tables[0].loc[name]
        cells = [_pct(t.loc[name, "return"]) + _partial(t.loc[name, "coverage"]) for t in tables]
        lines.append(f"| {name} | {row['start']} to {row['end']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _document(sections: Sequence[str], data_dir: Path, digest: str) -> str:
    intro = [
        "# How the playbooks did on real history",
        "",
        "Generated by `playbook report gallery --data-dir ../shared/data` from the offline "
        f"snapshot (`{data_dir.name}`, content hash `{digest}`). Each playbook runs with its "
        "config in `configs/` (costs included: fees, slippage, T-bill yield on idle cash, "
        "borrow on shorts); its baselines run over exactly the same window: buy-and-hold of "
        "what it trades, SPY, 60/40, and `constant-mix`, the same risky assets at the "
        "playbook's average weights (the rest in T-bills) rebalanced monthly with the "
        "playbook's costs, so that a difference from it is timing, not exposure.",
        "",
        "Each verdict sentence is made from the figures on this page by "
        "`engine/research/verdicts.py` "
        f"(an edge needs a Sharpe {verdicts.EDGE_SHARPE:.2f} above the constant mix; 'out of "
        f"the market' is exposure at or below {verdicts.OUT_OF_MARKET:.0%}; a deflated Sharpe "
        f"below {verdicts.DSR_CONFIDENT:.2f} is not distinguishable from luck) and is "
        "regenerated with them. Summed returns are in percentage points of daily return "
        "added up (they add across legs and rules; they do not compound).",
        "",
        "Per-regime cells marked * cover only part of the regime. Past performance of a "
        "backtest is not a forecast; see each strategy's docstring for the rules.",
        "",
    ]
    return "\n".join(intro) + "\n" + "\n".join(sections)


def _pct(value: object) -> str:
    number = float(value)  # type: ignore[arg-type]
    return "n/a" if math.isnan(number) else f"{number:+.1%}".replace("+", "")


def _num(value: object) -> str:
    number = float(value)  # type: ignore[arg-type]
    return "n/a" if np.isnan(number) else f"{number:.2f}"


def _partial(coverage: str) -> str:
    return "*" if coverage == "partial" else ""
