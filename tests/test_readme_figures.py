"""The README's figures are the figures the runs give: prose cannot drift from the runs.

The README quotes real-history and scenario results in sentences. Each sentence is held, at
the precision it prints, to its run: the golden entry where the run is pinned in
`tests/golden/*.json` (those are held to textbook recomputations in `test_golden_real.py`),
else the run itself (config variants on the real snapshot, 200 scenario paths); the
Performance section to the recorded benchmark runs (`benchmarks/results/*.json`). A figure
that moves on purpose changes its sentence in the same commit.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "golden"


def readme() -> str:
    return " ".join((REPO / "README.md").read_text().split())  # sentences span lines


def golden(kind: str) -> dict:
    return json.loads((GOLDEN / f"{kind}.json").read_text())


def percent(value: float) -> str:
    return f"{value * 100:.1f}%"


@pytest.fixture(scope="module")
def crunch_finals() -> dict[str, pd.DataFrame]:
    """Per-path figures of the shipped configs the README quotes, on 200 paths of
    ai-credit-crunch at its own seed (what `playbook scenario run --paths 200` runs)."""
    from engine.markets import generate_paths, load_scenario
    from engine.runs.config import load_run_config
    from engine.runs.paths import run_paths

    scenario = load_scenario("ai-credit-crunch")
    markets = generate_paths(scenario, 200, scenario.seed)
    configs = ("60-40", "buy-and-hold-btc", "hayes-pivot", "hayes-pivot-broad")
    return {
        name: run_paths(
            load_run_config(REPO / "configs" / f"{name}.yaml"),
            markets,
            scenario.name,
            scenario.seed,
        ).per_path
        for name in configs
    }


@pytest.mark.parametrize(
    ("sentence", "config", "keys"),
    [
        # hayes-pivot on 2014-09-17..2026-08-20 (README, "The playbooks")
        (
            r"in cash on the article's date with its alarm on: CAGR (\S+), max drawdown (\S+) ",
            "hayes-pivot",
            ("cagr", "max_drawdown"),
        ),
        # hard-assets-vs-duration with its BTC leg (README, the playbooks table)
        (r"Real data 2004-11-18 to 2026-08: (\S+) a year with BTC", "hard-assets-vs-duration",
         ("cagr",)),
    ],
)  # fmt: skip
def test_real_history_sentences_quote_the_golden_runs(
    sentence: str, config: str, keys: tuple[str, ...]
) -> None:
    match = re.search(sentence, readme())
    assert match, sentence
    figures = golden("real_snapshot")[config]
    for printed, key in zip(match.groups(), keys, strict=True):
        assert printed.rstrip(",") == percent(figures[key]), (config, key)


@pytest.mark.slow
@pytest.mark.realdata
def test_hard_assets_variants_sentence_is_what_the_variants_give(shared_data: Path) -> None:
    """The sentence 'Real data 2004-11-18 to 2026-08: A a year with BTC, B gold-only; with
    levels C and D' is the shipped config run as is, with `btc_leg: false`, `levels: true`
    and both (CAGR, one decimal)."""
    import warnings

    from engine import api
    from engine.runs.config import load_run_config

    config = REPO / "configs" / "hard-assets-vs-duration.yaml"
    match = re.search(
        r"Real data 2004-11-18 to 2026-08: (\S+) a year with BTC, (\S+) gold-only; "
        r"with levels (\S+) and (\S+?)\. ",
        readme(),
    )
    assert match
    params = load_run_config(config).params
    variants = ({}, {"btc_leg": False}, {"levels": True}, {"levels": True, "btc_leg": False})
    for printed, extra in zip(match.groups(), variants, strict=True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the snapshot's data warnings, not the figure
            result = api.run(config, data_dir=shared_data, params={**params, **extra})
        assert printed == percent(result.stats["cagr"]), extra


@pytest.mark.slow
def test_default_path_percentiles_are_what_200_paths_give(crunch_finals) -> None:
    """'Path 0 is a typical path of the scenario (Nth percentile of 60/40's final wealth across
    200 paths, Mth of BTC's, Kth of hayes-pivot's)', in the README and the scenario YAML's
    comment: the share of the 200 paths whose final wealth is below path 0's, rounded half
    up."""
    match = re.search(
        r"\((\d+)th percentile of 60/40's final wealth across 200 paths, (\d+)th of BTC's, "
        r"(\d+)(?:st|nd|rd|th) of hayes-pivot's\)",
        readme(),
    )
    assert match
    yaml_text = " ".join((REPO / "configs/scenarios/ai-credit-crunch.yaml").read_text().split())
    configs = ("60-40", "buy-and-hold-btc", "hayes-pivot")
    for printed, config in zip(match.groups(), configs, strict=True):
        final = crunch_finals[config]["final_wealth"].to_numpy()
        below = float((final < final[0]).mean() * 100)
        assert int(printed) == int(np.floor(below + 0.5)), (config, below)
    for ordinal in match.groups():
        assert f"the {ordinal}" in yaml_text  # "at the 48th percentile for 60-40, the 46th ..."


@pytest.mark.slow
def test_scenario_median_cagrs_sentence_is_what_200_paths_give(crunch_finals) -> None:
    """'Median CAGR: hayes-pivot A, the broad variant B.' (README, as `playbook scenario run
    --paths 200` prints it): the median of the paths' CAGRs, one decimal."""
    match = re.search(r"Median CAGR: hayes-pivot (\S+), the broad variant (\S+)\.", readme())
    assert match
    for printed, config in zip(match.groups(), ("hayes-pivot", "hayes-pivot-broad"), strict=True):
        cagr = crunch_finals[config]["cagr"].to_numpy()
        assert printed == f"{np.median(cagr) * 100:+.1f}%", config


def _recorded(name: str) -> dict[str, dict]:
    """A `python -m benchmarks` result file's rows by case, and its commit under 'git'."""
    data = json.loads((REPO / "benchmarks" / "results" / name).read_text())
    return {"git": data["git"], **{row["case"]: row for row in data["rows"]}}


def _row(rows: dict[str, dict], start: str) -> dict:
    """The row whose case is `start`, else the one row whose case starts with it."""
    if start in rows:
        return rows[start]
    (found,) = [row for case, row in rows.items() if case.startswith(start)]
    return found


BTP = "trend rule: playbook sweep vs backtesting.py Backtest.optimize, "
BTP_CASES = ("2 processes", "same cores: 1 process", "same cores: 1 process, given the window")


def test_performance_section_quotes_the_recorded_benchmark_runs() -> None:
    """README's Performance figures are the recorded runs' (benchmarks/results/latest.json
    and rivals.json), as printed: a re-run that is not copied into the README, or a README
    edit that is not a run, fails here. Timings are never tested; only the quoting is."""
    text = readme()
    section = text[text.index("## Performance") :]
    latest, rivals = _recorded("latest.json"), _recorded("rivals.json")
    assert f"at commit {latest['git']['commit'][:7]}" in section
    assert f"Measurement 7 again at {rivals['git']['commit'][:7]}" in section
    hayes = _row(latest, "10,000 sets end to end")
    trend_2, trend_1, window = (_row(latest, BTP + k) for k in BTP_CASES)
    trades = _row(latest, "trend rule: sets whose backtesting.py trades are playbook's fills")
    in_process = _row(latest, "trend rule (no batch path)")
    vbt = _row(latest, "hayes-pivot, 1,000 sets: playbook sweep vs vectorbt")
    vbt_memory = _row(latest, "hayes-pivot, 1,000 sets: peak RSS")
    warm, cold = (
        _row(latest, f"WHOLE COMMAND: playbook sweep, trend rule, 10,000 sets, {k}")
        for k in ("warm", "cold")
    )
    quoted = [
        f"| {hayes['value']:,.0f} sets/s |",
        f"| {hayes['ratio']:.0f}x |",
        f"| {in_process['value']:,.0f} sets/s |",
        trend_1["note"].split("): ", 1)[1].split(";")[0],  # each same-cores pair's ratio
        f"the same rule ({trades['value']} of {trades['target'].split()[-1]} sampled sets",
        f"{trend_2['reference']:.1f} sets/s (its default pool, 2 processes)",
        f"{trend_1['reference']:.1f} sets/s (a pool of 1 process)",
        f"({trades['reference']} of {trades['target'].split()[-1]} trade alike): "
        f"{window['reference']:.1f} sets/s",
        f"{trend_2['ratio']:.1f}x / **{trend_1['ratio']:.1f}x on the same cores** / "
        f"{window['ratio']:.1f}x",
        f"{vbt['ratio']:.2f}x faster, {vbt_memory['ratio']:.2f}x less memory",
        f"{warm['value']:,.0f} / {cold['value']:,.0f} sets/s",
    ]
    r_trend_2, r_trend_1, r_window = (_row(rivals, BTP + k) for k in BTP_CASES)
    r_two = _row(rivals, BTP + "same cores: 2 processes")
    r_inproc = _row(rivals, "trend rule (no batch path)")
    r_warm = _row(rivals, "WHOLE COMMAND: playbook sweep, trend rule, 10,000 sets, warm")
    r_vbt = _row(rivals, "hayes-pivot, 1,000 sets: playbook sweep vs vectorbt")
    r_btp_trades = _row(rivals, "trend rule: sets whose backtesting.py trades are")
    r_bt_trades = _row(rivals, "trend rule: sets whose bt trades are")
    quoted += [
        f"backtesting.py {r_btp_trades['value']} of {r_btp_trades['target'].split()[-1]}, bt "
        f"{r_bt_trades['value']} of {r_bt_trades['target'].split()[-1]}",
        f"the trend rule **{r_inproc['value']:,.0f} sets/s** in-process",
        f"**{r_warm['value']:,.0f} sets/s as the whole command**",
        f"**{r_trend_2['ratio']:.1f}x / {r_trend_1['ratio']:.1f}x** ({r_window['ratio']:.1f}x "
        "given the window's bars only)",
        f"{r_vbt['ratio']:.2f}x faster than vectorbt",
        f"**{r_trend_1['ratio']:.1f}x** on one process each (pairs "
        + r_trend_1["note"].split("): ", 1)[1].split(";")[0],
        f"**{r_two['ratio']:.1f}x** on two each (pairs "
        + r_two["note"].split("): ", 1)[1].split(";")[0],
        f"{r_two['value']:,.0f} sets/s, backtesting.py's pool {r_two['reference']:.1f}",
    ]
    missing = [figure for figure in quoted if figure not in section]
    assert not missing, missing


@pytest.mark.slow
def test_exposure_by_phase_table_is_what_200_paths_give(crunch_finals) -> None:
    """README's 'Exposure by phase over 200 paths' rows (does the playbook de-lever in the
    crunch and re-enter after the pivot?): each phase's exposure averaged over the paths,
    whole percents."""
    lines = (REPO / "README.md").read_text().splitlines()
    header = next(line for line in lines if line.startswith("| phase | boom |"))
    phases = [cell.strip() for cell in header.strip("|").split("|")][1:]
    for config in ("hayes-pivot", "hayes-pivot-broad"):
        row = next(line for line in lines if line.startswith(f"| {config} |"))
        printed = [cell.strip() for cell in row.strip("|").split("|")][1:]
        per_path = crunch_finals[config]
        want = [f"{per_path[f'exposure.{phase}'].mean():.0%}" for phase in phases]
        assert printed == want, config
