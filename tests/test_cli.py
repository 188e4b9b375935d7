"""End to end through click's runner: real runs, and bad input failing in one clear line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from engine.cli import cli

RUN_FILES = {
    "config.yaml",
    "fingerprint.json",
    "run.json",
    "stats.json",
    "returns.parquet",
    "weights.parquet",
    "targets.parquet",
    "events.parquet",
    "regimes.csv",
    "tearsheet.html",
    "equity.png",
    "run.html",  # engine.reports.pages.run, and the two files it reads beyond the run's own
    "instrument_returns.parquet",
    "decision_signals.parquet",
}


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def only_folder(results: Path) -> Path:
    folders = [p for p in results.iterdir()]
    assert len(folders) == 1, folders
    return folders[0]


@pytest.mark.slow
def test_run_on_embedded_synthetic_data_writes_a_complete_run_folder(tmp_path):
    result = invoke("run", "60-40", "--results-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    folder = only_folder(tmp_path)
    assert {p.name for p in folder.iterdir()} == RUN_FILES
    assert "SYNTHETIC" in result.stdout and f"run folder: {folder}" in result.stdout
    assert "SYNTHETIC data: 60-40" in (folder / "tearsheet.html").read_text()
    run = json.loads((folder / "run.json").read_text())
    assert run["synthetic"] is True and run["seed"] == 20300101
    stats = json.loads((folder / "stats.json").read_text())
    returns = pd.read_parquet(folder / "returns.parquet")
    assert stats["total_return"] == pytest.approx((1 + returns["strategy"]).prod() - 1, rel=1e-12)
    first_gap = returns.index[1] - returns.index[0]  # the span starts at the first bar's open
    days = (returns.index[-1] - returns.index[0] + first_gap).days  # SPY, TLT: Monday to Friday
    assert stats["periods_per_year"] == pytest.approx(len(returns) / (days / 365.25), rel=1e-12)
    fingerprint = json.loads((folder / "fingerprint.json").read_text())
    assert fingerprint["source"] == "synthetic" and len(fingerprint["content_sha256"]) == 64


def test_rerun_gives_bit_identical_numbers(tmp_path):
    for _ in range(2):
        assert invoke("run", "60-40", "--no-report", "--results-dir", str(tmp_path)).exit_code == 0
    first, second = sorted(tmp_path.iterdir())
    assert first.name != second.name  # never overwrites a run
    for name in ("stats.json", "fingerprint.json"):
        assert (first / name).read_text() == (second / name).read_text()
    pd.testing.assert_frame_equal(
        pd.read_parquet(first / "returns.parquet"), pd.read_parquet(second / "returns.parquet")
    )


@pytest.mark.slow
def test_run_on_real_history_from_the_shared_snapshot(tmp_path, shared_data):
    result = invoke(
        "run", "configs/60-40.yaml", "--data-dir", str(shared_data), "--results-dir", str(tmp_path)
    )
    assert result.exit_code == 0, result.output
    folder = only_folder(tmp_path)
    assert "SYNTHETIC" not in (folder / "tearsheet.html").read_text()
    stats = json.loads((folder / "stats.json").read_text())
    assert stats["start"] == "2002-07-30"  # TLT's first bar: the common history
    assert stats["benchmark"]["symbol"] == "SPY"
    assert -0.40 < stats["max_drawdown"] < -0.25  # 2008: a 60/40 lost about a third
    assert stats["benchmark"]["max_drawdown"] == pytest.approx(-0.552, abs=0.01)  # SPY in 2008


def test_buy_and_hold_on_real_history_equals_last_over_first_price(tmp_path, shared_data):
    result = invoke(
        "run",
        "buy-and-hold-spy",
        "--data-dir",
        str(shared_data),
        "--start",
        "2010-01-04",
        "--end",
        "2019-12-31",
        "--no-report",
        "--results-dir",
        str(tmp_path),
    )
    assert result.exit_code == 0, result.output
    stats = json.loads((only_folder(tmp_path) / "stats.json").read_text())
    spy = pd.read_csv(shared_data / "prices" / "SPY.csv", index_col="date", parse_dates=True)
    window = spy.loc["2010-01-04":"2019-12-31", "adj_close"]
    fee = 1e-4 + 2e-4  # the config's 1 bp fee plus 2 bp slippage on the one entry
    expected = window.iloc[-1] / window.iloc[0] * (1 - fee / (1 + 1e-4)) - 1
    assert stats["total_return"] == pytest.approx(expected, rel=1e-4)


def test_strategies_lists_theses_and_params():
    result = invoke("strategies")
    assert result.exit_code == 0
    assert "60-40: The balanced portfolio" in result.stdout
    assert "stock_weight = 0.6" in result.stdout


def test_help_does_not_import_heavy_modules():
    """`playbook --help` answers at once: not even pandas (0.4 s here) is imported for it
    (a3f9ecc's import of the strategy-failure check made --help 0.08 -> 0.4-0.5 s)."""
    code = (
        "import sys; from engine.cli import cli; "
        "print('vectorbt' in sys.modules, 'quantstats' in sys.modules, 'pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False False"


def bad_csv(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    (data / "prices").mkdir(parents=True)
    (data / "prices" / "SPY.csv").write_text("date,close\n2021-01-04,1\n2021-01-04,2\n")
    return data


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["run", "hayes-pivto"], 2, "neither a config nor a strategy"),
        (["run", "configs/nope.yaml"], 2, "config file configs/nope.yaml not found"),
        (
            ["run", "buy-and-hold-spy", "--start", "2036-01-01", "--end", "2035-01-01"],
            2,
            "start 2036-01-01 is not before end 2035-01-01",
        ),
        (["run", "buy-and-hold-spy", "--start", "2050-01-01"], 3, "no data in the window"),
        (
            ["run", "buy-and-hold-spy", "--start", "yesterday"],
            2,
            "start: Input should be a valid date",
        ),
        (["run", "60-40", "--data-dir", "/nonexistent/data"], 3, "does not exist"),
        (["run", "60-40", "--data-dir", "{bad_csv}"], 3, "duplicate date 2021-01-04"),
        (["run", "60-40", "--data-dir", "{empty}"], 3, "unknown symbol 'SPY'"),
    ],
)
def test_bad_input_fails_in_one_line_with_no_run_folder(tmp_path, args, code, message):
    (tmp_path / "empty" / "prices").mkdir(parents=True)
    folders = {"{bad_csv}": str(bad_csv(tmp_path)), "{empty}": str(tmp_path / "empty")}
    args = [folders.get(a, a) for a in args]
    results = tmp_path / "results"
    result = CliRunner().invoke(cli, [*args, "--no-report", "--results-dir", str(results)])
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "fix:" in lines[0]
    assert message in lines[0]
    assert "Traceback" not in result.output
    assert not results.exists() or not any(results.iterdir())


def test_unknown_symbol_in_a_config(tmp_path):
    config = tmp_path / "bh.yaml"
    config.write_text("strategy: buy-and-hold\nparams:\n  symbol: SPYY\n")
    result = CliRunner().invoke(cli, ["run", str(config), "--results-dir", str(tmp_path / "r")])
    assert result.exit_code == 3
    assert "unknown symbol 'SPYY'" in result.stderr and "did you mean 'SPY'" in result.stderr


def test_unwritable_results_dir_is_an_output_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = CliRunner().invoke(cli, ["run", "60-40", "--no-report", "--results-dir", str(blocker)])
    assert result.exit_code == 5
    assert result.stderr.startswith("error: cannot write to")


def test_interrupted_run_leaves_no_folder(tmp_path, monkeypatch):
    import engine.runs.store as results_module

    def interrupt(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(results_module, "_write_json", interrupt)
    result = CliRunner().invoke(
        cli, ["run", "60-40", "--no-report", "--results-dir", str(tmp_path)]
    )
    assert result.exit_code == 130
    assert list(tmp_path.iterdir()) == []


def test_debug_flag_shows_the_traceback():
    result = CliRunner().invoke(cli, ["--debug", "run", "no-such-thing"])
    assert result.exit_code != 0 and result.exception is not None


def test_yahoo_run_offline_with_an_empty_cache_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYBOOK_CACHE", str(tmp_path / "cache"))
    config = tmp_path / "y.yaml"
    config.write_text("strategy: 60-40\ndata:\n  source: yahoo\n")
    result = CliRunner().invoke(cli, ["run", str(config), "--offline", "--no-report"])
    assert result.exit_code == 3
    assert result.stderr == (
        "error: SPY, TLT, DTB3, DFF are not in the cache (offline) (fix: run `playbook data "
        "fetch SPY TLT DTB3 DFF` where there is a network, or use --data-dir DIR)\n"
    )


def test_yahoo_run_without_a_network_says_so_in_one_line(tmp_path, monkeypatch):
    """No network here: a real yfinance call fails, and the run says how to work offline."""
    monkeypatch.setenv("PLAYBOOK_CACHE", str(tmp_path / "cache"))
    config = tmp_path / "y.yaml"
    config.write_text(
        "strategy: buy-and-hold\nparams: {symbol: SPY}\nbenchmark: null\n"
        "costs: {cash_yield: []}\ndata:\n  source: yahoo\n"
    )
    import engine.data.yahoo as yahoo

    def unreachable(*_args, **_kwargs):
        raise yahoo.NetworkError(
            "cannot reach Yahoo Finance (no route to host)",
            "run with --offline to use the cache, or --data-dir DIR with a local snapshot",
        )

    monkeypatch.setattr(yahoo.YahooPrices, "fetch", unreachable)
    result = CliRunner().invoke(
        cli, ["run", str(config), "--no-report", "--results-dir", str(tmp_path / "r")]
    )
    assert result.exit_code == 4
    line = result.stderr.strip()
    assert "\n" not in line and line.startswith("error: cannot reach Yahoo Finance")
    assert "--offline" in line and "--data-dir" in line
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_a_run_in_a_fresh_process_equals_one_in_process(tmp_path):
    """The same numbers whatever the process imported before (no import tricks change them)."""
    code = (
        "from engine.cli import cli; "
        f"cli(['run', '60-40', '--no-report', '--results-dir', {str(tmp_path / 'a')!r}], "
        "standalone_mode=False)"
    )
    subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    in_process = invoke("run", "60-40", "--no-report", "--results-dir", str(tmp_path / "b"))
    assert in_process.exit_code == 0
    a, b = only_folder(tmp_path / "a"), only_folder(tmp_path / "b")
    assert (a / "stats.json").read_text() == (b / "stats.json").read_text()
    pd.testing.assert_frame_equal(
        pd.read_parquet(a / "returns.parquet"), pd.read_parquet(b / "returns.parquet")
    )


def _interrupted_while_drawing(monkeypatch):
    def interrupt(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_parquet", interrupt)


@pytest.mark.parametrize(
    ("args", "fault", "code", "message"),
    [
        (["--start", "2050-01-01"], None, 3, "error: no data in the window"),
        (["--regime", "boom", "--start", "2030-01-01"], None, 2, "error: give either"),
        ([], _interrupted_while_drawing, 130, "interrupted: nothing half-written was left"),
    ],
    ids=["data-error", "usage-error", "ctrl-c-while-drawing"],
)
def test_a_failed_run_leaves_nothing_written(tmp_path, monkeypatch, args, fault, code, message):
    if fault is not None:
        fault(monkeypatch)
    results = tmp_path / "results"
    result = CliRunner().invoke(cli, ["run", "60-40", *args, "--results-dir", str(results)])
    monkeypatch.undo()
    assert result.exit_code == code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.output
    assert not results.exists() or not list(results.iterdir())  # no folder, no .tmp-*


@pytest.mark.slow
def test_run_draws_its_reports_in_process(tmp_path):
    result = invoke("run", "60-40", "--results-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert {p.name for p in only_folder(tmp_path).iterdir()} == RUN_FILES
