"""The scenario table (issue 20): playbooks x named scenarios on the same paths.

Its figures are recomputed here from each cell's per-path outcomes by textbook definitions
(median, linear percentiles, shares of paths); the page loads offline in headless Chromium
and shows them; the command runs end to end on 3 paths and refuses bad names in one line.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from engine.cli import cli
from engine.markets import load_scenario
from engine.reports.scenario_table import CSV, PAGE, Cell, cell_row, table_frame, terminal_table
from engine.runs.config import find_config, load_run_config
from engine.workflows.scenario_table import run_table, scenario_list, write_table_folder
from tests.page_browser import console_problems, need_chromium, probed

PATHS, SEED = 3, 7


@pytest.fixture(scope="module")
def across(tmp_path_factory: pytest.TempPathFactory):
    """One playbook across two named scenarios: (cells, written folder)."""
    path = find_config("hayes-pivot")  # the config the command resolves the name to
    assert path is not None
    config = load_run_config(path)
    cells = run_table(
        [("hayes-pivot", config)],
        ["soft-landing", "stagflation"],
        PATHS,
        SEED,
    )
    folder = write_table_folder(cells, tmp_path_factory.mktemp("table"), "test")
    return cells, folder


def _pct(value: float) -> str:
    return f"{value:+.1%}"


def test_table_figures_are_the_textbook_statistics_of_the_paths(across) -> None:
    cells, _ = across
    for cell in cells:
        per_path = cell.outcome.per_path
        assert len(per_path) == PATHS and cell.outcome.seed == SEED
        cagr = pd.Series(per_path["cagr"], dtype=float)
        drawdown = pd.Series(per_path["max_drawdown"], dtype=float)
        final = per_path["final_wealth"].astype(float)
        bench_final = per_path["benchmark_final_wealth"].astype(float)
        row = cell_row(cell)
        # median: the middle of the sorted values (3 paths: the second)
        assert row["cagr_median"] == pytest.approx(sorted(cagr)[1])
        assert row["max_drawdown_median"] == pytest.approx(sorted(drawdown)[1])
        # percentile by linear interpolation between order statistics
        ordered = np.sort(cagr.to_numpy())
        h5, h95 = 0.05 * (PATHS - 1), 0.95 * (PATHS - 1)
        lo = ordered[int(h5)] + (h5 - int(h5)) * (ordered[int(h5) + 1] - ordered[int(h5)])
        hi = ordered[int(h95)] + (h95 - int(h95)) * (ordered[int(h95) + 1] - ordered[int(h95)])
        assert row["cagr_p5"] == pytest.approx(lo)
        assert row["cagr_p95"] == pytest.approx(hi)
        assert row["max_drawdown_p5"] == pytest.approx(drawdown.quantile(0.05))
        # shares of paths: losing money is ending below the starting wealth of 1
        assert row["p_loss"] == pytest.approx(sum(w < 1 for w in final) / PATHS)
        beats = sum(a > b for a, b in zip(final, bench_final, strict=True))
        assert row["p_beat_benchmark"] == pytest.approx(beats / PATHS)
        assert row["benchmark_cagr_median"] == pytest.approx(sorted(per_path["benchmark_cagr"])[1])
        # exposure in a phase: the plain average over paths
        for phase in [r.name for r in cell.outcome.regimes]:
            assert row[f"exposure.{phase}"] == pytest.approx(
                per_path[f"exposure.{phase}"].sum() / PATHS
            )


def test_table_figures_on_hand_made_paths_even_count_and_ending_at_exactly_1(across) -> None:
    """Four paths with figures worked out by hand: the median of an even count is the mean
    of the middle two, and a path ending at exactly its starting wealth did not lose."""
    from dataclasses import replace

    per_path = pd.DataFrame(
        {
            "cagr": [0.10, -0.20, 0.30, 0.00],
            "max_drawdown": [-0.10, -0.40, -0.20, -0.30],
            "final_wealth": [1.1, 0.8, 1.3, 1.0],
            "benchmark_final_wealth": [1.0, 0.9, 1.5, 0.9],
            "benchmark_cagr": [0.0, -0.1, 0.5, -0.1],
            "beat_benchmark": [1.0, 0.0, 0.0, 1.0],
            "exposure.boom": [1.0, 0.5, 0.0, 0.5],
        },
        index=pd.Index(range(4), name="path"),
    )
    row = cell_row(Cell("hand", replace(across[0][0].outcome, per_path=per_path)))
    assert row["cagr_median"] == pytest.approx(0.05)  # (0.0 + 0.1) / 2
    assert row["cagr_p5"] == pytest.approx(-0.17)  # -0.2 + 0.15 * (0.0 - -0.2)
    assert row["cagr_p95"] == pytest.approx(0.27)  # 0.1 + 0.85 * (0.3 - 0.1)
    assert row["max_drawdown_median"] == pytest.approx(-0.25)
    assert row["max_drawdown_p5"] == pytest.approx(-0.385)  # -0.4 + 0.15 * 0.1
    assert row["p_loss"] == pytest.approx(0.25)  # only 0.8; 1.0 is not a loss
    assert row["p_beat_benchmark"] == pytest.approx(0.5)
    assert row["benchmark_cagr_median"] == pytest.approx(-0.05)
    assert row["exposure.boom"] == pytest.approx(0.5)


def test_the_folder_has_the_csv_page_text_and_every_cells_numbers(across) -> None:
    cells, folder = across
    frame = pd.read_csv(folder / CSV)
    assert list(frame["scenario"]) == ["soft-landing", "stagflation"]
    assert set(frame["paths"]) == {PATHS} and set(frame["seed"]) == {SEED}
    expected = table_frame(cells)
    for column in ("cagr_median", "cagr_p5", "cagr_p95", "p_loss", "p_beat_benchmark"):
        np.testing.assert_allclose(frame[column], expected[column], rtol=1e-12)
    assert (folder / PAGE).is_file() and (folder / "table.txt").is_file()
    for n, cell in enumerate(cells):
        stored = pd.read_csv(
            folder / "cells" / f"{n:02d}-hayes-pivot--{cell.outcome.scenario}" / "per_path.csv",
            index_col="path",
        )
        np.testing.assert_allclose(stored["cagr"], cell.outcome.per_path["cagr"], rtol=1e-12)
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".tmp")]


def test_terminal_table_has_one_row_per_scenario_and_says_cells_are_comparable(across) -> None:
    cells, _ = across
    text = terminal_table(table_frame(cells))
    assert "hayes-pivot across 2 scenarios" in text
    for cell in cells:
        row = cell_row(cell)
        line = next(x for x in text.splitlines() if x.startswith(cell.outcome.scenario))
        assert _pct(float(row["cagr_median"])) in line  # type: ignore[arg-type]
    assert f"same {PATHS} paths of seed {SEED}" in text


def test_all_means_every_named_scenario_and_a_typo_is_refused_before_any_run() -> None:
    from engine.errors import ConfigError
    from engine.markets import scenario_names

    assert scenario_list(["all"]) == scenario_names()
    assert scenario_list(["stagflation", "all"])[0] == "stagflation"
    with pytest.raises(ConfigError, match="unknown scenario 'stagflaton'") as info:
        scenario_list(["stagflaton"])
    assert "stagflation" in info.value.fix


def test_two_playbooks_with_one_label_are_refused_before_any_run() -> None:
    from engine.errors import ConfigError
    from engine.runs.config import RunConfig

    twins = [("60-40", RunConfig(strategy="60-40")), ("60-40", RunConfig(strategy="60-40"))]
    with pytest.raises(ConfigError, match="both called '60-40'"):
        run_table(twins, ["stagflation"], PATHS, SEED)


# --- the page in headless Chromium ---------------------------------------------------------


def _text(dom: str) -> str:
    return re.sub(r"<[^>]+>", " ", re.sub(r"<script.*?</script>", "", dom, flags=re.S))


@pytest.mark.browser
def test_table_page_loads_offline_and_shows_the_figures(across, tmp_path: Path) -> None:
    need_chromium()
    cells, folder = across
    report, dom, stderr = probed(folder / PAGE, tmp_path)
    assert console_problems(stderr) == []
    assert report["fetched"] == []
    assert report["plots"] == ["cagr-chart"] and report["drawn"] >= 1
    text = " ".join(_text(dom).split())
    assert f"same {PATHS} paths of seed {SEED}" in text
    for cell in cells:
        row = cell_row(cell)
        for key in ("cagr_median", "cagr_p5", "cagr_p95", "max_drawdown_median"):
            assert _pct(float(row[key])) in text, key  # type: ignore[arg-type]
        assert f"{float(row['p_beat_benchmark']):.0%}" in text  # type: ignore[arg-type]
        assert cell.outcome.scenario in text


# --- the command ---------------------------------------------------------------------------


@pytest.mark.slow
def test_scenario_table_command_puts_playbooks_side_by_side_on_the_same_paths(
    across, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "scenario",
            "table",
            "hayes-pivot",
            "60-40",
            "--scenario",
            "stagflation",
            "--paths",
            str(PATHS),
            "--seed",
            str(SEED),
            "--results-dir",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "stagflation: 2 playbooks side by side" in result.stdout
    folder = Path(result.stdout.strip().splitlines()[-1].split(": ", 1)[1])
    frame = pd.read_csv(folder / CSV)
    assert list(frame["playbook"]) == ["hayes-pivot", "60-40"]
    assert list(frame["benchmark"]) == ["BTC-USD", "SPY"]  # each playbook's own config
    # same paths and seed: the hayes-pivot cell is the very cell of the across-scenarios
    # table (another command, another playbook beside it)
    mine = table_frame(across[0]).set_index("scenario").loc["stagflation"]
    for column in ("cagr_median", "cagr_p5", "max_drawdown_p5", "p_beat_benchmark"):
        assert frame.loc[0, column] == pytest.approx(mine[column], rel=1e-12), column
    assert (folder / PAGE).is_file()


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["hayes-pivot", "--scenario", "stagflaton"], "unknown scenario 'stagflaton'"),
        (["no-such-playbook", "--scenario", "stagflation"], "'no-such-playbook' is neither"),
    ],
)
def test_bad_scenario_or_playbook_is_one_line_with_exit_code_2(
    args: list[str], problem: str, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        cli, ["scenario", "table", *args, "--paths", "1", "--results-dir", str(tmp_path)]
    )
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "(fix: " in lines[0]
    assert problem in lines[0]
    assert not (tmp_path / "scenarios").exists()


@pytest.mark.slow
def test_without_seed_a_cell_is_what_scenario_run_prints_for_it(tmp_path: Path) -> None:
    """By default each scenario runs on its own seed, as `playbook scenario run` does: the
    stagflation cell of a two-scenario table is that command's figure (it used to be seed 0
    for every cell, so the two commands disagreed on the same playbook and scenario)."""
    runner = CliRunner()
    table = runner.invoke(
        cli,
        ["scenario", "table", "60-40", "--scenario", "soft-landing", "--scenario",
         "stagflation", "--paths", "3", "--results-dir", str(tmp_path / "t")],
    )  # fmt: skip
    assert table.exit_code == 0, table.output
    folder = Path(table.stdout.strip().splitlines()[-1].split(": ", 1)[1])
    seed = load_scenario("stagflation").seed  # the named scenarios share one seed
    assert folder.name.endswith(f"-3p-s{seed}")
    frame = pd.read_csv(folder / CSV).set_index("scenario")
    run = runner.invoke(
        cli,
        ["scenario", "run", "60-40", "--scenario", "stagflation", "--paths", "3",
         "--results-dir", str(tmp_path / "r")],
    )  # fmt: skip
    assert run.exit_code == 0, run.output
    (report,) = (tmp_path / "r" / "scenarios").iterdir()
    summary = pd.read_json(report / "summary.json", typ="series")
    assert frame.loc["stagflation", "seed"] == summary["seed"] == seed != 0
    assert frame.loc["stagflation", "cagr_median"] == pytest.approx(
        summary["percentiles"]["CAGR"]["p50"], abs=1e-9
    )
    assert f"same 3 paths of seed {seed}" in (folder / PAGE).read_text()


def test_cells_on_their_scenarios_own_differing_seeds_say_so() -> None:
    """A scenario YAML with a seed of its own beside a named scenario: each cell on its own
    scenario's seed, and the note says which (not 'the same paths of seed S')."""
    from engine.reports.scenario_table import _same_paths_note

    frame = pd.DataFrame({"scenario": ["a", "a", "b"], "paths": [3, 3, 3], "seed": [1, 1, 2]})
    assert "its scenario's own seed (a 1, b 2)" in _same_paths_note(frame)
    frame.loc[1, "seed"] = 5  # two seeds within one scenario: no claim of shared paths
    assert "compare them with care" in _same_paths_note(frame)


@pytest.mark.slow
def test_readme_scenario_table_outputs_are_the_commands_output(tmp_path: Path) -> None:
    """The README's two `playbook scenario table ... --paths 20` blocks are what the commands
    print (the exposure-by-phase column cut, as the README says)."""
    import shlex

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = readme[readme.index("$ playbook scenario table") :]
    block = block[: block.index("```")]
    shown: dict[str, list[str]] = {}
    for line in block.splitlines():
        if line.startswith("$ "):
            command = line[2:]
            shown[command] = []
        else:
            shown[command].append(line)
    assert len(shown) == 2
    for n, (command, lines) in enumerate(shown.items()):
        args = shlex.split(command)[1:]  # without `playbook`
        result = CliRunner().invoke(cli, [*args, "--results-dir", str(tmp_path / str(n))])
        assert result.exit_code == 0, result.output
        printed = result.stdout.splitlines()
        cut = next(line.index("exposure by phase") for line in printed if "exposure by" in line)
        table = [line if line.startswith("SYNTHETIC") else line[:cut].rstrip() for line in printed]
        assert table[: len(lines)] == lines, command
