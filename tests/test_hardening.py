"""Hardening: bad input, faults and safety, tried systematically.

A catalog of bad inputs (config, data, command line, run folders) and faults (read-only or
full disk, network down mid-download, Ctrl-C), each run through the CLI and checked for the
README's promise: the documented exit code, exactly one stderr line `error: <problem> (fix:
<fix>)` (or `interrupted: ...`), no traceback, and nothing half-written. Then the panel's data
checks (gaps, jumps, stale prices, macro units), and safety: safe YAML only, no eval/exec,
names that cannot escape their folder, user strings escaped in HTML.
"""

from __future__ import annotations

import errno
import inspect
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from engine.cli import cli
from engine.data.panel import PanelRequest, build_panel
from engine.data.sources import FrameSource, symbol_filename
from engine.data.validation import ValidationConfig
from engine.errors import ConfigError, DataError, ExitCode

REPO = Path(__file__).resolve().parents[1]

# --- a small, valid data directory; each case breaks one thing -------------------------

BDAYS = pd.bdate_range("2021-01-04", "2021-06-30")
DAYS = pd.date_range("2021-01-01", "2021-06-30")
WEDNESDAYS = pd.date_range("2021-01-06", "2021-06-30", freq="W-WED")
MONTHS = pd.date_range("2021-01-01", "2021-06-01", freq="MS")
PRICES = {"SPY": (BDAYS, 1), "TLT": (BDAYS, 2), "BTC-USD": (DAYS, 3), "NVDA": (BDAYS, 4)}
PRICES |= {"QQQ": (BDAYS, 5)}
MACRO = {
    "DTB3": (BDAYS, 0.05),
    "DFF": (BDAYS, 0.08),
    "WALCL": (WEDNESDAYS, 7.5e6),  # millions of USD
    "WTREGEN": (WEDNESDAYS, 8.0e5),  # millions of USD
    "RRPONTSYD": (BDAYS, 500.0),  # billions of USD
    "M2SL": (MONTHS, 19_500.0),  # billions of USD
    "DTWEXBGS": (BDAYS, 115.0),
}
HEADER = "date,open,high,low,close,adj_close,volume"


def closes(days: pd.DatetimeIndex, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 100.0 * np.cumprod(1.0 + rng.normal(0.0, 0.01, len(days)))


def price_lines(symbol: str) -> list[str]:
    days, seed = PRICES[symbol]
    rows = [f"{d.date()},{c:.6f},{c:.6f},{c:.6f},{c:.6f},{c:.6f},1000" for d, c in
            zip(days, closes(days, seed), strict=True)]  # fmt: skip
    return [HEADER, *rows]


def macro_lines(series_id: str, scale: float = 1.0) -> list[str]:
    days, level = MACRO[series_id]
    return ["date,value", *(f"{d.date()},{level * scale:.6f}" for d in days)]


def text(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


def write_data(root: Path, prices: dict | None = None, macro: dict | None = None) -> Path:
    """The good data set, with `prices`/`macro` entries replacing files (str or bytes)."""
    (root / "prices").mkdir(parents=True, exist_ok=True)
    (root / "macro").mkdir(parents=True, exist_ok=True)
    files = {f"prices/{symbol_filename(s)}.csv": text(price_lines(s)) for s in PRICES}
    files |= {f"macro/{m}.csv": text(macro_lines(m)) for m in MACRO}
    files |= {f"prices/{symbol_filename(s)}.csv": v for s, v in (prices or {}).items()}
    files |= {f"macro/{m}.csv": v for m, v in (macro or {}).items()}
    for name, content in files.items():
        path = root / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def spy_with(edit: Callable[[list[str]], list[str]]) -> Callable[[Path], None]:
    """A data directory whose SPY.csv is the good one after `edit` (a list of lines)."""
    return lambda tmp: write_data(tmp / "data", prices={"SPY": text(edit(price_lines("SPY")))})


def set_close(lines: list[str], row: int, value: str) -> list[str]:
    """Row `row` (1-based, after the header) with close and adj_close set to `value`."""
    out = list(lines)
    date, *rest = out[row].split(",")
    out[row] = ",".join([date, rest[0], rest[1], rest[2], value, value, rest[5]])
    return out


def flat_rows(lines: list[str], first: int, count: int, value: str) -> list[str]:
    for row in range(first, first + count):
        lines = set_close(lines, row, value)
    return lines


def blank_rows(lines: list[str], first: int, count: int) -> list[str]:
    out = list(lines)
    for row in range(first, first + count):
        out[row] = out[row].split(",")[0] + ",,,,,,"
    return out


def config_file(body: str, data: bool = False) -> Callable[[Path], None]:
    """A config at {tmp}/config.yaml (with a good data directory when `data`)."""

    def make(tmp: Path) -> None:
        if data:
            write_data(tmp / "data")
        body_here = body.replace("{data}", str(tmp / "data")).replace("{tmp}", str(tmp))
        (tmp / "config.yaml").write_text(body_here)

    return make


def raw_config(payload: bytes) -> Callable[[Path], None]:
    return lambda tmp: (tmp / "config.yaml").write_bytes(payload)


GOOD = "strategy: 60-40\nparams:\n  stock_weight: 0.6\ncosts:\n  fees_bps: 1\n"
ON_DATA = "strategy: buy-and-hold\nparams: {symbol: SPY}\ndata: {source: directory, path: {data}}\n"
STRICT = ON_DATA.replace("path: {data}}", "path: {data}, validation: {on_issue: error}}")


def run_args(*args: str) -> tuple[str, ...]:
    return ("run", *args, "--no-report", "--results-dir", "{results}")


# --- faults, injected with monkeypatch ---------------------------------------------------


def raise_on(target: str, exc: BaseException, when: Callable[..., bool] = lambda *a, **k: True):
    """Patch `target` (module.attr) to raise `exc` when `when(*args)` holds, else run as is."""

    def patch(monkeypatch: pytest.MonkeyPatch) -> None:
        module_name, attr = target.rsplit(".", 1)
        module = _resolve(module_name)
        original = getattr(module, attr)

        def faulty(*args, **kwargs):
            if when(*args, **kwargs):
                raise exc
            return original(*args, **kwargs)

        monkeypatch.setattr(module, attr, faulty)

    return patch


def _resolve(dotted: str):
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = __import__(".".join(parts[:cut]), fromlist=["_"])
        except ImportError:
            continue
        for part in parts[cut:]:
            obj = getattr(obj, part)
        return obj
    raise ImportError(dotted)


ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
EACCES = PermissionError(errno.EACCES, os.strerror(errno.EACCES))


def read_only_results(tmp: Path) -> None:
    write_data(tmp / "data")
    (tmp / "results").mkdir()
    (tmp / "results").chmod(0o500)  # root ignores it: see the mkdir patch below


def under_results(path, *args, **kwargs) -> bool:
    return "results" in Path(path).parts


def is_config(path, *args, **kwargs) -> bool:
    return Path(path).name == "config.yaml"


def is_tmp_folder(src, *args, **kwargs) -> bool:
    return Path(src).name.startswith(".tmp-")


def fake_yahoo_and_dead_fred(monkeypatch: pytest.MonkeyPatch) -> None:
    """Yahoo answers (SPY is cached), then the connection drops while reading from FRED."""
    import urllib.request

    import yfinance

    def download(tickers, **kwargs):
        fields = ["Open", "High", "Low", "Close", "Adj Close", "Volume"]
        columns = pd.MultiIndex.from_product([tickers, fields], names=["Ticker", "Price"])
        values = np.repeat(closes(BDAYS, 1)[:, None], len(columns), axis=1)
        return pd.DataFrame(values, index=pd.DatetimeIndex(BDAYS, name="Date"), columns=columns)

    class Dropped:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self):
            raise ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")

    monkeypatch.setattr(yfinance, "download", download)
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: Dropped())
    monkeypatch.setattr("time.sleep", lambda seconds: None)


def truncated_cache(tmp: Path) -> None:
    from engine.data.cache import DataCache

    cache = DataCache(tmp / "cache")
    frame = pd.DataFrame({"close": closes(BDAYS, 1), "adj_close": closes(BDAYS, 1)}, index=BDAYS)
    entry = cache.write("yahoo", "SPY", frame)
    payload = entry.path.read_bytes()
    entry.path.write_bytes(payload[: len(payload) // 2])
    (tmp / "config.yaml").write_text(
        "strategy: buy-and-hold\nparams: {symbol: SPY}\n"
        f"data: {{source: yahoo, cache: {tmp / 'cache'}, offline: true}}\n"
        "costs: {cash_yield: []}\n"
    )


# --- run folders for compare -------------------------------------------------------------


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real run folder (buy-and-hold SPY on the small data set), copied into cases."""
    tmp = tmp_path_factory.mktemp("finished")
    data = write_data(tmp / "data")
    results = tmp / "results"
    out = CliRunner().invoke(cli, ["run", "buy-and-hold-spy", "--data-dir", str(data),
                                   "--no-report", "--results-dir", str(results)])  # fmt: skip
    assert out.exit_code == 0, out.output
    (folder,) = results.iterdir()
    return folder


def with_run(edit: Callable[[Path], None] | None = None) -> Callable[[Path], None]:
    """Marks a case that needs a finished run in {results}; `edit` damages it."""

    def setup(tmp: Path) -> None:  # the run folder is copied in by the test itself
        if edit is not None:
            edit(tmp)

    setup.needs_run = True  # type: ignore[attr-defined]
    return setup


def cut_returns(tmp: Path) -> None:
    (folder,) = (tmp / "results").iterdir()
    path = folder / "returns.parquet"
    path.write_bytes(path.read_bytes()[:200])


# --- the catalog -------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    args: tuple[str, ...]
    code: int
    message: str  # must appear in the one stderr line
    setup: Callable[[Path], None] | None = None
    fault: Callable[[pytest.MonkeyPatch], None] | None = None
    fix: bool = True  # the line carries `(fix: ...)`
    needs: str | None = None  # a reason to skip when a prerequisite is missing


def validation_reaches_the_panel() -> bool:
    """engine.runs.backtest.load_panel passes `data.validation` on to the panel builder."""
    import engine.runs.backtest

    return "validation" in inspect.getsource(engine.runs.backtest.load_panel)


CONFIG = "{tmp}/config.yaml"
DATA = "{tmp}/data"
USAGE, DATA_ERR, OUTPUT = int(ExitCode.USAGE), int(ExitCode.DATA), int(ExitCode.OUTPUT)
NETWORK, INTERRUPTED = int(ExitCode.NETWORK), int(ExitCode.INTERRUPTED)
ON_SPY = run_args("buy-and-hold-spy", "--data-dir", DATA)


def bad_config(name: str, message: str, body: str) -> Case:
    """A config file mistake: exit 2, the file, line and key named."""
    return Case(name, run_args(CONFIG), USAGE, message, config_file(body))


def bad_spy(name: str, message: str, edit: Callable[[list[str]], list[str]]) -> Case:
    """SPY.csv broken by `edit`, run as buy-and-hold SPY on the data directory: exit 3."""
    return Case(name, ON_SPY, DATA_ERR, message, spy_with(edit))


def bad_file(name: str, message: str, target: str = "buy-and-hold-spy", **files) -> Case:
    """Data files replaced (prices={...}, macro={...}): exit 3."""
    args = run_args(target, "--data-dir", DATA)
    return Case(name, args, DATA_ERR, message, lambda tmp: write_data(tmp / "data", **files))


def strict(name: str, message: str, edit: Callable[[list[str]], list[str]]) -> Case:
    """SPY.csv with a data-check issue and `data.validation.on_issue: error`: exit 3."""

    def setup(tmp: Path) -> None:
        spy_with(edit)(tmp)
        config_file(STRICT)(tmp)

    return Case(name, run_args(CONFIG), DATA_ERR, message, setup, needs="validation")


def fault(name: str, code: int, message: str, patch, setup=None, fix: bool = True) -> Case:
    """A good run (or compare) with a fault injected."""
    setup = setup or (lambda tmp: write_data(tmp / "data"))
    return Case(name, ON_SPY, code, message, setup, fault=patch, fix=fix)


WITH_REPORT = ("run", "buy-and-hold-spy", "--data-dir", DATA, "--results-dir", "{results}")


def report_fault(name: str, code: int, message: str, patch, fix: bool = True) -> Case:
    """A good run with its tearsheet (drawn after the simulation), a fault injected."""
    return Case(name, WITH_REPORT, code, message, lambda tmp: write_data(tmp / "data"),
                fault=patch, fix=fix)  # fmt: skip


def tearsheet_path_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    """tearsheet.html is a folder: the run cannot write it (EISDIR)."""
    from engine.workflows import run as workflow

    write_reports = workflow.write_reports

    def taken(result, folder):
        (folder / "tearsheet.html").mkdir()
        return write_reports(result, folder)

    monkeypatch.setattr(workflow, "write_reports", taken)


def compare(name: str, code: int, message: str, *refs: str, **kwargs) -> Case:
    args = ("compare", *refs, "--results-dir", "{results}")
    return Case(name, args, code, message, kwargs.pop("setup", with_run()), **kwargs)


def usage(name: str, message: str, *args: str, setup=None) -> Case:
    return Case(name, args, USAGE, message, setup)


def mixed_zones(lines: list[str]) -> list[str]:
    rest = [line[:10] + "T00:00:00+00:00" + line[10:] for line in lines[2:]]
    return [lines[0], "2021-01-01T23:00:00-05:00" + lines[1][10:], *rest]


def dated(row: int, date: str) -> Callable[[list[str]], list[str]]:
    return lambda lines: [*lines[:row], date + lines[row][10:], *lines[row + 1 :]]


def results_file(tmp: Path) -> None:
    write_data(tmp / "data")
    (tmp / "results").write_text("not a folder")


def hidden(path, *args, **kwargs) -> bool:
    return Path(path).name.startswith(".")


NOT_A_NUMBER = "Input should be a valid number"
AT_LEAST_0 = "Input should be greater than or equal to 0"
ABOVE_0 = "Input should be greater than 0"
YAML_BOMB = "strategy: 60-40\nparams: " + "[" * 3000 + "]" * 3000 + "\n"
CASH_IN_BPS = text(macro_lines("DTB3", 10_000))
WALCL_IN_BILLIONS = text(macro_lines("WALCL", 1e-3))
YAHOO = (
    "strategy: buy-and-hold\nparams: {symbol: SPY}\n"
    "data: {source: yahoo, cache: {tmp}/cache}\ncosts: {cash_yield: [DTB3]}\n"
)

CATALOG = [
    # config files: YAML
    bad_config("yaml-unclosed-bracket", "config.yaml:2: YAML syntax error", "strategy: [60-40\n"),
    bad_config("yaml-bad-indentation", "YAML syntax error",
               "strategy: 60-40\ncosts:\n    fees_bps: 1\n  slippage_bps: 2\n"),
    bad_config("yaml-tab-indentation", "YAML syntax error",
               "strategy: 60-40\ncosts:\n\tfees_bps: 1\n"),
    bad_config("yaml-python-object-tag", "YAML syntax error",
               "strategy: !!python/object/apply:os.system ['touch /tmp/pwned']\n"),
    bad_config("yaml-duplicate-key", "config.yaml:6: duplicate key 'costs'",
               GOOD + "costs:\n  fees_bps: 3\n"),
    bad_config("yaml-empty-file", "the file is empty", ""),
    Case("yaml-binary-file", run_args(CONFIG), USAGE, "not a text file",
         raw_config(bytes(range(256)) * 4)),
    Case("yaml-unreadable-file", run_args(CONFIG), USAGE,
         "cannot read it (Permission denied) (fix: fix the permissions (chmod) or choose",
         config_file(GOOD), raise_on("pathlib.Path.read_text", EACCES, is_config)),
    bad_config("yaml-not-a-mapping", "expected a mapping of keys, got list", "- 60-40\n"),
    bad_config("yaml-nested-too-deeply", "nested too deeply", YAML_BOMB),
    bad_config("yaml-impossible-date", "config.yaml:2: not a valid date",
               "strategy: 60-40\nstart: 2021-02-30\n"),
    bad_config("yaml-recursive-alias", "config.yaml:2: alias *p refers to a value that contains it",
               "strategy: 60-40\nparams: &p {stock: SPY, again: *p}\n"),
    # config files: keys, types, values
    bad_config("unknown-top-level-key",
               "levrage_cap: unknown key (fix: did you mean 'leverage_cap'?)",
               GOOD + "levrage_cap: 2\n"),
    bad_config("unknown-nested-key", "costs.fee_bps: unknown key (fix: did you mean 'fees_bps'?)",
               GOOD.replace("fees_bps", "fee_bps")),
    bad_config("unknown-param", "params.stock_wieght: unknown key",
               GOOD.replace("stock_weight", "stock_wieght")),
    bad_config("unknown-validation-key",
               "data.validation.max_gap: unknown key (fix: did you mean 'max_gap_bars'?)",
               GOOD + "data:\n  validation:\n    max_gap: 3\n"),
    bad_config("wrong-type-fees", f"costs.fees_bps: {NOT_A_NUMBER}",
               GOOD.replace("fees_bps: 1", "fees_bps: cheap")),
    bad_config("wrong-type-leverage", f"leverage_cap: {NOT_A_NUMBER}",
               GOOD + "leverage_cap: [1, 2]\n"),
    bad_config("wrong-type-param", f"params.stock_weight: {NOT_A_NUMBER}",
               GOOD.replace("0.6", "most")),
    bad_config("wrong-calendar", "data.calendar: Input should be 'union'",
               GOOD + "data: {calendar: weekly}\n"),
    bad_config("wrong-on-issue", "data.validation.on_issue: Input should be 'warn'",
               GOOD + "data: {validation: {on_issue: panic}}\n"),
    bad_config("negative-fees", f"costs.fees_bps: {AT_LEAST_0}",
               GOOD.replace("fees_bps: 1", "fees_bps: -1")),
    bad_config("negative-slippage", f"costs.slippage_bps: {AT_LEAST_0}",
               GOOD + "  slippage_bps: -0.5\n"),
    bad_config("negative-borrow", f"costs.borrow_bps: {AT_LEAST_0}",
               GOOD + "  borrow_bps: -50\n"),
    bad_config("negative-leverage", f"leverage_cap: {ABOVE_0}", GOOD + "leverage_cap: -1\n"),
    bad_config("zero-leverage", f"leverage_cap: {ABOVE_0}", GOOD + "leverage_cap: 0\n"),
    bad_config("negative-jump-limit", f"data.validation.max_jump: {ABOVE_0}",
               GOOD + "data: {validation: {max_jump: -0.5}}\n"),
    bad_config("negative-seed", f"data.seed: {AT_LEAST_0}", GOOD + "data: {seed: -1}\n"),
    bad_config("start-after-end-in-config", "start 2021-06-01 is not before end 2021-01-01",
               GOOD + "start: 2021-06-01\nend: 2021-01-01\n"),
    bad_config("unknown-strategy-in-config", "strategy '60-4O' (fix: did you mean '60-40'?)",
               GOOD.replace("60-40", "60-4O")),
    bad_config("name-with-control-characters", "name: the name contains control characters",
               GOOD + 'name: "evil\\x1b[2Jname"\n'),
    bad_config("nul-in-data-path", "data.path: a path cannot contain a NUL",
               GOOD + 'data: {source: directory, path: "a\\0b"}\n'),
    bad_config("directory-source-without-path", "source 'directory' needs a path",
               GOOD + "data: {source: directory}\n"),
    bad_config("universe-lacks-traded-symbol", "universe lacks TLT", GOOD + "universe: [SPY]\n"),
    # command line
    usage("start-after-end-on-command-line", "start 2036-01-01 is not before end 2035-01-01",
          *run_args("buy-and-hold-spy", "--start", "2036-01-01", "--end", "2035-01-01")),
    usage("unparsable-start", "start: Input should be a valid date",
          *run_args("buy-and-hold-spy", "--start", "yesterday")),
    usage("unknown-strategy-on-command-line", "neither a config nor a strategy",
          *run_args("hayes-pivto")),
    usage("config-file-not-found", "config file configs/nope.yaml not found",
          *run_args("configs/nope.yaml")),
    usage("unknown-option", "No such option '--fast'", *run_args("60-40", "--fast")),
    usage("missing-argument", "Missing argument 'TARGET'", "run"),
    usage("unknown-command", "No such command 'backtest'", "backtest", "60-40"),
    usage("regime-and-start", "give either --regime or --start/--end, not both",
          *run_args("60-40", "--regime", "gfc", "--start", "2020-01-01")),
    usage("unknown-regime", "unknown regime 'gcf' (fix: did you mean 'gfc'?)",
          *run_args("60-40", "--data-dir", DATA, "--regime", "gcf"),
          setup=lambda tmp: write_data(tmp / "data")),
    usage("bad-shard", "need 1 <= K <= N",
          "sweep", "configs/sweeps/60-40-weights.yaml", "--shard", "3/2"),
    usage("compare-latest-zero", "Invalid value for '--latest': 0 is not in the range 1<=x",
          "compare", "--latest", "0", "--results-dir", "{results}"),
    # data directories and files
    Case("data-dir-missing", run_args("60-40", "--data-dir", "{tmp}/nowhere"), DATA_ERR,
         "does not exist"),
    Case("data-dir-without-prices", run_args("60-40", "--data-dir", "{tmp}"), DATA_ERR,
         "has no prices/ folder"),
    Case("unknown-symbol", run_args(CONFIG), DATA_ERR, "unknown symbol 'SPYY'",
         config_file(ON_DATA.replace("SPY}", "SPYY}"), data=True)),
    Case("unknown-benchmark", run_args(CONFIG), DATA_ERR, "unknown symbol 'SPX'",
         config_file(ON_DATA + "benchmark: SPX\n", data=True)),
    bad_spy("csv-missing-price-columns", "no 'adj_close' or 'close' column for SPY",
            lambda lines: [",".join(line.split(",")[:4]) for line in lines]),
    bad_spy("csv-missing-date-column", "missing column(s) date",
            lambda lines: [",".join(line.split(",")[1:]) for line in lines]),
    bad_spy("csv-duplicate-date", "duplicate date 2021-01-07",
            lambda lines: [*lines[:5], lines[4], *lines[5:]]),
    bad_spy("csv-unsorted-dates", "dates are not in ascending order",
            lambda lines: [lines[0], lines[2], lines[1], *lines[3:]]),
    bad_spy("csv-zero-price", "non-positive price for SPY on 2021-01-11",
            lambda lines: set_close(lines, 6, "0")),
    bad_spy("csv-negative-price", "non-positive price for SPY",
            lambda lines: set_close(lines, 9, "-37.63")),
    bad_spy("csv-infinite-price", "infinite price for SPY on 2021-01-05",
            lambda lines: set_close(lines, 2, "inf")),
    bad_spy("csv-all-prices-missing", "no price rows for SPY",
            lambda lines: blank_rows(lines, 1, len(lines) - 1)),
    bad_spy("csv-mixed-time-zones", "dates mix time zones or formats", mixed_zones),
    bad_spy("csv-unreadable-date", "unreadable date '2021-13-45'", dated(3, "2021-13-45")),
    bad_spy("csv-date-out-of-range", "date '0001-01-01' is outside", dated(1, "0001-01-01")),
    bad_file("csv-empty-file", "not a readable CSV", prices={"SPY": ""}),
    bad_file("csv-header-only", "no price rows for SPY", prices={"SPY": HEADER + "\n"}),
    bad_file("csv-binary-file", "not a readable CSV", prices={"SPY": bytes(range(256))}),
    bad_file("macro-empty-file", "DTB3.csv: not a readable CSV", macro={"DTB3": ""}),
    bad_file("macro-missing-value-column", "missing column(s) value",
             macro={"DFF": "date,DFF\n2021-01-04,0.1\n"}),
    bad_file("macro-infinite-value", "infinite value for DTB3",
             macro={"DTB3": "date,value\n2021-01-04,-inf\n2021-01-05,0.1\n"}),
    bad_file("macro-rate-in-basis-points",
             "macro series DTB3 looks like the wrong units: its median is 500, expected percent",
             macro={"DTB3": CASH_IN_BPS}),
    bad_file("macro-walcl-in-billions",
             "WALCL looks like the wrong units: its median is 7,500, expected millions of USD",
             "liquidity-barometer", macro={"WALCL": WALCL_IN_BILLIONS}),
    Case("window-after-the-data", (*ON_SPY, "--start", "2030-01-01"), DATA_ERR,
         "no data in the window from 2030-01-01", lambda tmp: write_data(tmp / "data")),
    Case("window-before-the-data", (*ON_SPY, "--start", "1999-01-01", "--end", "2000-01-01"),
         DATA_ERR, "no overlapping data for SPY up to 2000-01-01",
         lambda tmp: write_data(tmp / "data")),
    strict("nan-run-in-traded-asset",
           "SPY has a gap of more than 5 weekdays with no bar; the longest, 15 weekdays",
           lambda lines: blank_rows(lines, 30, 15)),
    strict("jump-beyond-limit", "SPY has 2 moves beyond |log return| 0.5",
           lambda lines: set_close(lines, 40, "900")),
    strict("stale-prices", "SPY has a run of more than 10 bars at an unchanged price",
           lambda lines: flat_rows(lines, 50, 20, "101.5")),
    Case("cache-parquet-cut-short", run_args(CONFIG), DATA_ERR, "is corrupt", truncated_cache),
    # results: permissions, full disk, Ctrl-C; the network
    fault("results-dir-is-a-file", OUTPUT, "cannot write to", None, setup=results_file),
    fault("results-dir-read-only", OUTPUT, "Permission denied",
          raise_on("pathlib.Path.mkdir", EACCES, under_results), setup=read_only_results),
    fault("rename-into-place-denied", OUTPUT, "Permission denied",
          raise_on("os.replace", EACCES, is_tmp_folder)),
    fault("disk-full-writing-parquet", OUTPUT, "No space left on device",
          raise_on("pandas.DataFrame.to_parquet", ENOSPC)),
    fault("disk-full-writing-json", OUTPUT, "No space left on device",
          raise_on("pathlib.Path.write_text", ENOSPC, under_results)),
    fault("ctrl-c-mid-run", INTERRUPTED, "interrupted",
          raise_on("engine.runs.backtest.simulate", KeyboardInterrupt()), fix=False),
    fault("ctrl-c-mid-write", INTERRUPTED, "interrupted",
          raise_on("pandas.DataFrame.to_parquet", KeyboardInterrupt()), fix=False),
    report_fault("report-cannot-write-tearsheet", OUTPUT, "Is a directory", tearsheet_path_taken),
    report_fault("ctrl-c-while-the-report-is-drawn", INTERRUPTED, "interrupted",
                 raise_on("pandas.DataFrame.to_parquet", KeyboardInterrupt()), fix=False),
    Case("network-drops-mid-download", run_args(CONFIG), NETWORK, "cannot reach FRED",
         config_file(YAHOO), fault=fake_yahoo_and_dead_fred),
    # run folders: compare
    compare("compare-parquet-cut-short", DATA_ERR, "returns.parquet is unreadable or corrupt",
            "{run}", "{run}", setup=with_run(cut_returns)),
    compare("compare-run-id-with-dotdot", DATA_ERR, "no run '../", "../{run}"),
    compare("compare-parent-folder", DATA_ERR, "is not a run folder", "{tmp}/.."),
    compare("compare-unknown-run", DATA_ERR, "no run '20991231-000000-nope'",
            "20991231-000000-nope"),
    compare("compare-page-disk-full", OUTPUT, "No space left on device", "{run}",
            fault=raise_on("pathlib.Path.write_text", ENOSPC, hidden)),
    compare("compare-page-denied", OUTPUT,
            "Permission denied (fix: fix the permissions (chmod) or choose another path)",
            "{run}", fault=raise_on("pathlib.Path.write_text", EACCES, hidden)),
]  # fmt: skip


# hostile files (issue 15): names that are paths, numbers that are not, absurd jumps
NOT_A_NAME = "is not a valid name (fix: use at most 100 ASCII letters"
ON_SYMBOL = "strategy: buy-and-hold\nparams: {{symbol: {symbol}}}\ndata: {{source: directory, path: {{data}}}}\n"  # noqa: E501


def outside_and(body: str) -> Callable[[Path], None]:
    """A good data directory, a valid SPY CSV *outside* it ({tmp}/outside.csv), a config."""

    def make(tmp: Path) -> None:
        (tmp / "outside.csv").write_text(text(price_lines("SPY")))
        (tmp / "outside_macro.csv").write_text(text(macro_lines("DTB3")))
        config_file(body, data=True)(tmp)

    return make


def on_symbol(name: str, symbol: str, message: str = NOT_A_NAME) -> Case:
    return Case(name, run_args(CONFIG), USAGE, message,
                outside_and(ON_SYMBOL.format(symbol=symbol)))  # fmt: skip


def linked_out(tmp: Path) -> None:
    """prices/SPY.csv is a symbolic link to a file outside the data directory."""
    write_data(tmp / "data")
    (tmp / "outside.csv").write_text(text(price_lines("SPY")))
    (tmp / "data" / "prices" / "SPY.csv").unlink()
    (tmp / "data" / "prices" / "SPY.csv").symlink_to(tmp / "outside.csv")


def cells(value: str, rows: range = range(3, 4)) -> Callable[[list[str]], list[str]]:
    """SPY rows with close and adj_close written as `value` (raw CSV text)."""

    def edit(lines: list[str]) -> list[str]:
        for row in rows:
            lines = set_close(lines, row, value)
        return lines

    return edit


HOSTILE = [
    on_symbol("symbol-is-an-absolute-path", "{tmp}/outside"),
    on_symbol("symbol-climbs-out-with-dotdot", "../../outside"),
    on_symbol("symbol-with-a-nul", '"SP\\0Y"'),
    on_symbol("symbol-very-long", "S" * 300),
    on_symbol("symbol-unicode", "ÜBER"),
    on_symbol("symbol-backslash", '"..\\\\outside"'),
    Case("benchmark-is-an-absolute-path", run_args(CONFIG), USAGE, NOT_A_NAME,
         outside_and(ON_DATA + "benchmark: {tmp}/outside\n")),
    Case("fred-id-climbs-out", run_args(CONFIG), USAGE, "FRED id '../../outside_macro' is not",
         outside_and(ON_DATA + "costs: {cash_yield: [../../outside_macro]}\n")),
    Case("scenario-name-climbs-out", run_args(CONFIG), USAGE, "scenario name '../../../etc/passwd'",
         config_file(GOOD + "data: {scenario: ../../../etc/passwd}\n")),
    usage("config-name-climbs-out", "config file ../configs/60-40 not found",
          *run_args("../configs/60-40")),
    Case("symlink-out-of-the-data-dir", ON_SPY, USAGE, "symbol 'SPY.csv' leads outside",
         linked_out),
    bad_spy("csv-comma-decimal", "SPY.csv:4: adj_close '101,5' is not a number",
            cells('"101,5"')),
    bad_spy("csv-thousands-separator", "SPY.csv:4: adj_close '1.234,5' is not a number",
            cells('"1.234,5"')),
    bad_spy("csv-text-in-a-number", "SPY.csv:4: adj_close '101.5x' is not a number",
            cells("101.5x")),
    bad_spy("csv-currency-sign", "adj_close '$101.5' is not a number", cells("$101.5")),
    bad_spy("csv-comma-decimals-unquoted", "SPY.csv:2: more fields than the header has",
            cells("101,5", range(1, len(BDAYS) + 1))),
    bad_file("macro-comma-decimal", "DTB3.csv:3: value '0,05' is not a number",
             macro={"DTB3": "date,value\n2021-01-04,0.05\n2021-01-05,\"0,05\"\n"}),
    bad_spy("absurd-jump-even-when-issues-only-warn",
            "SPY moves 1000x in one bar on 2021-02-26, beyond |log return| 4.605",
            lambda lines: set_close(lines, 40, f"{float(lines[39].split(',')[5]) * 1000:.6f}")),
]  # fmt: skip
CATALOG += HOSTILE


def snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under `folder` with its size and bytes (to prove nothing changed)."""
    if not folder.exists() or folder.is_file():
        return {}
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.read_bytes())
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("case", CATALOG, ids=[c.name for c in CATALOG])
def test_bad_input_fails_in_one_line_with_nothing_half_written(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, finished_run: Path
):
    if case.needs == "validation" and not validation_reaches_the_panel():
        pytest.skip(
            "engine.runs.backtest.load_panel does not pass data.validation to PanelRequest yet"
        )
    monkeypatch.chdir(REPO)  # configs/ by name, as a user in the project folder
    results = tmp_path / "results"
    run_id = ""
    if getattr(case.setup, "needs_run", False):
        shutil.copytree(finished_run, results / finished_run.name)
        run_id = finished_run.name
    if case.setup is not None:
        case.setup(tmp_path)
    before = snapshot(results)
    cache_before = snapshot(tmp_path / "cache")
    places = {"{tmp}": str(tmp_path), "{results}": str(results), "{run}": run_id}
    args = [re.sub(r"\{\w+\}", lambda m: places[m.group()], a) for a in case.args]
    if case.fault is not None:
        case.fault(monkeypatch)
    try:
        result = CliRunner().invoke(cli, args)
    finally:
        monkeypatch.undo()
        if results.is_dir():
            results.chmod(0o700)

    assert result.exit_code == case.code, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    start = "interrupted" if case.code == ExitCode.INTERRUPTED else "error: "
    assert line.startswith(start), line
    assert case.message in line, line
    if case.fix:
        assert re.search(r" \(fix: .+\)$", line), line
    assert "Traceback" not in result.stdout + result.stderr
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    # nothing half-written: no new run folder, no .tmp-* leftovers, nothing changed
    assert snapshot(results) == before
    if results.is_dir():
        assert not [p.name for p in results.iterdir() if p.name.startswith(".")]
    cache = tmp_path / "cache"
    if cache.is_dir():
        leftovers = [p for p in cache.rglob("*") if p.name.endswith(".tmp")]
        assert not leftovers, leftovers
        if case.name == "cache-parquet-cut-short":
            assert snapshot(cache) == cache_before  # read, blamed, left alone
        else:  # whatever was cached before the failure is whole and verifies
            from engine.data.cache import DataCache

            assert all(entry.problem is None for entry in DataCache(cache).entries())


def test_the_catalog_is_large_and_covers_every_exit_code():
    assert len(CATALOG) >= 40
    assert len({c.name for c in CATALOG}) == len(CATALOG)
    assert {c.code for c in CATALOG} == {2, 3, 4, 5, 130}


def test_a_run_on_the_good_data_succeeds(tmp_path, monkeypatch):
    """The catalog's base data is valid: each case fails for its one defect only."""
    monkeypatch.chdir(REPO)
    data = write_data(tmp_path / "data")
    for target in ("buy-and-hold-spy", "liquidity-barometer"):
        args = ["run", target, "--data-dir", str(data), "--no-report"]
        out = CliRunner().invoke(cli, [*args, "--results-dir", str(tmp_path / "r")])
        assert out.exit_code == 0, out.output
        assert "data check" not in out.stderr


def test_unknown_scenario_is_a_config_error():
    try:
        from engine.markets import load_scenario
    except ImportError:
        pytest.skip("engine.markets.load_scenario is not importable yet")
    with pytest.raises(ConfigError) as caught:
        load_scenario("ai-credit-crunhc")
    assert caught.value.exit_code == ExitCode.USAGE
    line = f"error: {caught.value.one_line()}"
    assert "\n" not in line and "unknown scenario 'ai-credit-crunhc'" in line and "fix:" in line


def test_network_failure_at_once_is_a_network_error(tmp_path):
    from engine.data.yahoo import YahooPrices
    from engine.errors import NetworkError

    def offline(*args, **kwargs):
        raise ConnectionError("Failed to connect to query1.finance.yahoo.com port 443")

    with pytest.raises(NetworkError) as caught:
        YahooPrices(offline, sleep=lambda s: None).fetch(["SPY"], "2021-01-01", "2021-02-01")
    assert caught.value.exit_code == ExitCode.NETWORK
    assert "cannot reach Yahoo Finance" in caught.value.one_line()


def test_cache_write_on_a_full_disk_leaves_the_old_entry(tmp_path, monkeypatch):
    from engine.data.cache import DataCache
    from engine.errors import OutputError

    cache = DataCache(tmp_path)
    frame = pd.DataFrame({"close": closes(BDAYS, 1)}, index=BDAYS)
    cache.write("yahoo", "SPY", frame)
    before = snapshot(tmp_path)
    raise_on("os.fsync", ENOSPC)(monkeypatch)  # the cache syncs each file before its rename
    with pytest.raises(OutputError) as caught:
        cache.write("yahoo", "SPY", frame * 2)
    monkeypatch.undo()
    assert caught.value.exit_code == ExitCode.OUTPUT and "No space left" in caught.value.problem
    assert snapshot(tmp_path) == before
    pd.testing.assert_frame_equal(cache.read("yahoo", "SPY"), cache.read("yahoo", "SPY"))


# --- data validation: gaps, jumps, stale prices, macro units -----------------------------


def frame_panel(
    prices: dict[str, pd.Series],
    rules: ValidationConfig | None = None,
    *,
    traded: tuple[str, ...] | None = None,
    inputs: tuple[str, ...] = (),
    end: pd.Timestamp | None = None,
):
    request = PanelRequest(
        traded=traded or tuple(prices),
        inputs=inputs,
        end=end,
        cash_series=(),
        validation=rules or ValidationConfig(),
    )
    return build_panel(FrameSource(prices), request)


def walk(days: pd.DatetimeIndex, seed: int = 0) -> pd.Series:
    return pd.Series(closes(days, seed), index=days)


def checks(panel) -> list[str]:
    return [n for n in panel.notes if n.startswith("data check:")]


def test_clean_data_has_no_data_check_notes():
    days = pd.date_range("2021-01-01", "2021-12-31")
    panel = frame_panel({"SPY": walk(pd.bdate_range("2021-01-01", "2021-12-31")),
                         "BTC-USD": walk(days, 1)})  # fmt: skip
    assert checks(panel) == []


def test_a_gap_in_a_traded_asset_is_reported_with_its_length_and_date():
    spy = walk(BDAYS)
    holed = spy.drop(spy.index[20:28])  # 8 weekdays missing after 2021-02-01
    panel = frame_panel({"SPY": holed})
    (note,) = checks(panel)
    assert "SPY has a gap of more than 5 weekdays" in note and "8 weekdays" in note
    assert f"after {spy.index[19].date()}" in note
    assert checks(frame_panel({"SPY": spy.drop(spy.index[20:25])})) == []  # 5: allowed


def test_gaps_count_expected_bars_weekdays_for_equities_every_day_for_crypto():
    btc = walk(DAYS, 2)
    spy = walk(BDAYS)
    btc_holed = btc.drop(btc.index[40:47])  # 7 calendar days: over 5 for a 7-day asset
    spy_weekend = spy.drop(spy.index[40:43])  # 3 weekdays (+ a weekend): fine
    panel = frame_panel({"BTC-USD": btc_holed, "SPY": spy_weekend})
    (note,) = checks(panel)
    assert note.startswith("data check: BTC-USD has a gap") and "7 days" in note


def test_gaps_of_signal_inputs_are_not_reported():
    spy = walk(BDAYS)
    qqq = walk(BDAYS, 3).drop(BDAYS[30:60])
    panel = frame_panel({"SPY": spy, "QQQ": qqq}, traded=("SPY",), inputs=("QQQ",))
    assert checks(panel) == []


def test_jumps_use_per_asset_limits():
    spy = walk(BDAYS)
    spy.iloc[50:] *= 1.8  # log 0.59 > 0.5
    btc = walk(DAYS, 4)
    btc.iloc[90:] *= 1.8  # < 0.8 for crypto
    notes = checks(frame_panel({"SPY": spy, "BTC-USD": btc}))
    assert len(notes) == 1 and "SPY has a move beyond |log return| 0.5" in notes[0]
    assert re.search(rf"largest \+8\d% on {BDAYS[50].date()}", notes[0]), notes[0]
    btc.iloc[120:] /= 3.0  # log -1.1
    notes = checks(frame_panel({"BTC-USD": btc}))
    assert len(notes) == 1 and "BTC-USD has a move beyond |log return| 0.8" in notes[0]
    assert re.search(rf"largest -6\d% on {DAYS[120].date()}", notes[0]), notes[0]
    relaxed = ValidationConfig(jump_overrides={"SPY": 1.0})
    assert checks(frame_panel({"SPY": spy}, relaxed)) == []


def test_a_1000x_jump_is_a_data_error_under_warn_not_a_note():
    spy = walk(BDAYS)
    spy.iloc[60:] *= 1000.0  # a price in other units from bar 60 on
    expected_ratio = float(np.exp(np.log(spy.iloc[60]) - np.log(spy.iloc[59])))
    message = rf"SPY moves {expected_ratio:.4g}x in one bar on {BDAYS[60].date()}, beyond "
    with pytest.raises(DataError, match=message + r"\|log return\| 4.605"):
        frame_panel({"SPY": spy}, ValidationConfig(on_issue="warn"))
    assert ValidationConfig().max_jump_absurd == pytest.approx(np.log(100.0), rel=1e-15)
    raised = ValidationConfig(max_jump_absurd=float(np.log(10_000.0)))  # configurable
    notes = checks(frame_panel({"SPY": spy}, raised))
    assert len(notes) == 1 and "SPY has a move beyond |log return| 0.5" in notes[0]


def test_stale_prices_are_reported_after_k_unchanged_bars():
    spy = walk(BDAYS)
    spy.iloc[60:71] = spy.iloc[60]  # 11 bars at one price
    (note,) = checks(frame_panel({"SPY": spy}))
    assert "SPY has a run of more than 10 bars at an unchanged price" in note
    assert f"11 bars, from {BDAYS[60].date()}" in note
    spy.iloc[70] *= 1.01  # now 10 bars: allowed
    assert checks(frame_panel({"SPY": spy})) == []


def test_on_issue_error_turns_the_first_issue_into_a_data_error():
    spy = walk(BDAYS)
    spy.iloc[60:80] = spy.iloc[60]
    spy.iloc[100:] *= 3.0
    with pytest.raises(DataError) as caught:
        frame_panel({"SPY": spy}, ValidationConfig(on_issue="error"))
    line = caught.value.one_line()
    assert line.startswith("SPY has a move beyond") and "(+1 more)" in line
    assert "data.validation" in caught.value.fix
    assert caught.value.exit_code == ExitCode.DATA


def test_checks_only_look_inside_the_run_window():
    spy = walk(BDAYS)
    spy.iloc[100:] *= 3.0  # after the requested end: not part of this run
    assert checks(frame_panel({"SPY": spy}, end=BDAYS[90])) == []


@pytest.mark.parametrize(
    ("series_id", "value", "units"),
    [
        ("WALCL", 7_500.0, "millions of USD"),  # billions given
        ("WTREGEN", 750.0, "millions of USD"),  # billions given (a common mirror)
        ("RRPONTSYD", 2.0e6, "billions of USD"),  # millions given
        ("M2SL", 2.1e7, "billions of USD"),  # millions given
        ("BAMLH0A0HYM2", 450.0, "percent"),  # basis points given
    ],
)
def test_a_macro_series_in_the_wrong_units_is_a_data_error(series_id, value, units):
    source = FrameSource({"SPY": walk(BDAYS)}, macro={series_id: pd.Series(value, index=BDAYS)})
    with pytest.raises(DataError) as caught:
        build_panel(source, PanelRequest(traded=("SPY",), macro=(series_id,), cash_series=()))
    line = caught.value.one_line()
    assert f"macro series {series_id} looks like the wrong units" in line
    assert f"its median is {value:,.6g}, expected {units}" in line
    assert f"(fix: give {series_id} in {units}" in line


def test_a_cash_rate_in_decimals_passes_but_in_basis_points_fails():
    spy = {"SPY": walk(BDAYS)}
    for value, ok in ((0.045, True), (4.5, True), (450.0, False)):
        source = FrameSource(spy, macro={"DTB3": pd.Series(value, index=BDAYS)})
        request = PanelRequest(traded=("SPY",), cash_series=("DTB3",))
        if ok:
            build_panel(source, request)
        else:
            with pytest.raises(DataError, match="DTB3 looks like the wrong units"):
                build_panel(source, request)


def test_macro_units_table_accepts_fred_units_and_names_the_series():
    good = {
        "WALCL": 7.5e6, "WTREGEN": 7.5e5, "RRPONTSYD": 500.0, "M2SL": 21_000.0,
        "DTB3": 4.5, "DFF": 4.6, "BAMLH0A0HYM2": 3.2, "XYZ": -1e9,
    }  # fmt: skip
    macro = {k: pd.Series(v, index=WEDNESDAYS) for k, v in good.items()}
    source = FrameSource({"SPY": walk(BDAYS)}, macro=macro)
    panel = build_panel(source, PanelRequest(traded=("SPY",), macro=tuple(macro)))
    assert list(panel.macro.columns) == list(macro)


def test_the_shared_real_data_passes_the_default_checks(shared_data):
    """Real history (2008, 2020-03, the 2018 VIX spike aside) raises no data-check notes."""
    from engine.runs.backtest import prepare
    from engine.runs.config import load_run_config

    for name in ("60-40", "hayes-pivot", "liquidity-barometer", "hard-assets-vs-duration"):
        config = load_run_config(REPO / "configs" / f"{name}.yaml")
        data = config.data.model_copy(update={"source": "directory", "path": shared_data})
        strict = data.model_copy(update={"validation": ValidationConfig(on_issue="error")})
        for variant in (data, strict):
            _, panel = prepare(config.model_copy(update={"data": variant}))
            assert checks(panel) == [], name


# --- safety ------------------------------------------------------------------------------

UNSAFE = re.compile(r"yaml\.load\(|yaml\.unsafe_load|\beval\(|\bexec\(|pickle\.loads?\(")


def test_no_unsafe_loading_or_evaluation_in_the_code():
    found = []
    for folder in ("engine", "strategies"):
        for path in sorted((REPO / folder).rglob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if UNSAFE.search(line) and "SafeLoader" not in line:
                    found.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not found, "unsafe loading/evaluation:\n" + "\n".join(found)


YAML_READ = re.compile(r"yaml\.(safe_load|load|full_load|unsafe_load|compose|parse)\b|Loader\(")


def test_every_yaml_file_is_read_by_the_one_bounded_reader():
    """Only engine/io/safe_yaml.py parses YAML: no reader that skips its limits can creep in."""
    found = []
    for folder in ("engine", "strategies", "tools"):
        for path in sorted((REPO / folder).rglob("*.py")):
            if path == REPO / "engine" / "io" / "safe_yaml.py":
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if YAML_READ.search(line):
                    found.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not found, "YAML read outside engine/io/safe_yaml.py:\n" + "\n".join(found)


def test_yaml_tags_cannot_run_code(tmp_path):
    marker = tmp_path / "pwned"
    config = tmp_path / "evil.yaml"
    config.write_text(f"strategy: !!python/object/apply:os.system ['touch {marker}']\n")
    result = CliRunner().invoke(cli, ["run", str(config), "--results-dir", str(tmp_path / "r")])
    assert result.exit_code == ExitCode.USAGE and not marker.exists()


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd", "..", "a/b\\c", "evil\x00\n\x1b[31m", "<script>", "ÜBER 60/40", "", "-.-"],
)
def test_run_ids_never_escape_the_results_folder(name):
    import datetime as dt
    from types import SimpleNamespace

    from engine.runs.config import RunConfig
    from engine.runs.store import RUN_ID, run_id

    fake = SimpleNamespace(strategy=SimpleNamespace(name=name), config=RunConfig(strategy="60-40"))
    folder = run_id(fake, dt.datetime(2030, 1, 2, 3, 4, 5))  # type: ignore[arg-type]
    assert RUN_ID.match(folder), folder
    assert "/" not in folder and "\\" not in folder and ".." not in folder
    assert all(32 <= ord(c) < 127 for c in folder)
    assert Path("/results", folder).parent == Path("/results")


@pytest.mark.slow
def test_a_hostile_config_name_is_escaped_in_the_tearsheet(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    config = tmp_path / "xss.yaml"
    config.write_text('name: "<script>alert(1)</script>"\nstrategy: 60-40\n')
    result = CliRunner().invoke(cli, ["run", str(config), "--results-dir", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "r").iterdir()
    assert "/" not in folder.name and ".." not in folder.name
    assert all(32 <= ord(c) < 127 for c in folder.name)
    page = (folder / "tearsheet.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_hostile_config_name_is_escaped_in_the_compare_page(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    config = tmp_path / "xss.yaml"
    config.write_text('name: "<img src=x onerror=alert(1)>"\nstrategy: 60-40\n')
    results = tmp_path / "r"
    ran = CliRunner().invoke(
        cli, ["run", str(config), "--no-report", "--results-dir", str(results)]
    )
    assert ran.exit_code == 0, ran.output
    (folder,) = results.iterdir()
    page = tmp_path / "compare.html"
    args = ["compare", folder.name, "--results-dir", str(results), "--out", str(page)]
    assert CliRunner().invoke(cli, args).exit_code == 0
    text = page.read_text(encoding="utf-8")
    assert "<img src=x" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text


def test_help_and_version_work_without_tracebacks():
    for args in (["--help"], ["run", "--help"], ["--version"]):
        result = subprocess.run(
            [sys.executable, "-m", "engine.cli", *args], capture_output=True, text=True, cwd=REPO
        )
        assert result.returncode == 0 and "Traceback" not in result.stderr


# --- hostile files: YAML bombs, names that are paths, numbers that are not ---------------
# (issue 15) Every case runs the CLI in a child process with its address space capped and a
# timeout, so a regression fails here instead of eating the machine's memory.

MEMORY_CAP = 1536 * 2**20  # RLIMIT_AS of the child: numba and vectorbt start well below it
BOMB_TIMEOUT = 120


def laughs(key: str = "params", levels: int = 9) -> str:
    """The billion laughs under `key`: each anchor a list of 10 aliases of the one before."""
    lines = [f"{key}:", "  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        lines.append(f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def merge_bomb(levels: int = 20) -> str:
    """Merge keys and aliases doubling a mapping at each level, under params."""
    lines = ["params:", "  m0: &m0 {x: lol, y: lol}"]
    for i in range(1, levels):
        lines.append(f"  m{i}: &m{i} {{<<: *m{i - 1}, l: *m{i - 1}, r: *m{i - 1}}}")
    return "\n".join(lines) + "\n"


def long_text_bomb() -> str:
    """One 100 kB string referenced 200 times: few values, 20 MB of text once expanded."""
    return f"s: &s {'x' * 100_000}\nparams: {{stock: [" + ", ".join(["*s"] * 200) + "]}\n"


def run_bounded(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """`python -m engine.cli ARGS` with memory capped (RLIMIT_AS) and a timeout."""
    import resource

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args], cwd=cwd, env=env, capture_output=True,
        text=True, timeout=BOMB_TIMEOUT, preexec_fn=cap,
    )  # fmt: skip


def sweep_on(tmp: Path, body: str) -> Path:
    (tmp / "base.yaml").write_text(GOOD)
    (tmp / "sweep.yaml").write_text("base: base.yaml\n" + body)
    return tmp / "sweep.yaml"


def claims_file(tmp: Path, body: str) -> Path:
    (tmp / "claims.yaml").write_text(body)
    return tmp / "claims.yaml"


def bomb_config(body: str) -> Callable[[Path], list[str]]:
    def make(tmp: Path) -> list[str]:
        (tmp / "config.yaml").write_text("strategy: 60-40\n" + body)
        return ["run", str(tmp / "config.yaml"), "--no-report", "--results-dir", str(tmp / "r")]

    return make


def bomb_sweep(tmp: Path) -> list[str]:
    return ["sweep", str(sweep_on(tmp, laughs(key="grid"))), "--out", str(tmp / "out")]


def bomb_claims(tmp: Path) -> list[str]:
    write_data(tmp / "data")
    bomb = laughs("    note").replace("\n  ", "\n      ")
    body = "claims:\n  - id: mine\n    kind: return\n" + bomb
    return ["claims", "--data-dir", str(tmp / "data"), "--claims-file", str(claims_file(tmp, body))]


def bomb_scenario(tmp: Path) -> list[str]:
    (tmp / "bomb-scenario.yaml").write_text(laughs(key="phases"))
    return bomb_config(f"data: {{scenario: {tmp / 'bomb-scenario.yaml'}}}\n")(tmp)


def bomb_run_folder(tmp: Path, finished: Path) -> list[str]:
    results = tmp / "results"
    folder = Path(shutil.copytree(finished, results / finished.name))
    (folder / "config.yaml").write_text("strategy: 60-40\n" + laughs())
    return ["compare", folder.name, "--results-dir", str(results), "--out", str(tmp / "c.html")]


EXPANDS = "expands to more than 100,000 values"
MANY_ALIASES = "x: &x 1\nparams: {y: [" + ", ".join(["*x"] * 1001) + "]}\n"
BOMBS = {
    "config-billion-laughs": (bomb_config(laughs()), USAGE, f"config.yaml:7: {EXPANDS}"),
    "config-merge-key-bomb": (bomb_config(merge_bomb()), USAGE, EXPANDS),
    "config-long-text-bomb": (bomb_config(long_text_bomb()), USAGE, "characters of text"),
    "config-recursive-alias": (bomb_config("params: &p {stock: SPY, again: *p}\n"), USAGE,
                               "config.yaml:2: alias *p refers to a value that contains it"),
    "config-deep-nesting": (bomb_config("params: " + "[" * 3000 + "]" * 3000 + "\n"), USAGE,
                            "config.yaml:2: nested too deeply (more than 50 levels)"),
    "config-too-many-aliases": (bomb_config(MANY_ALIASES), USAGE, "more than 1,000 alias uses"),
    "config-over-a-megabyte": (bomb_config("# " + "x" * 1_000_001 + "\n"), USAGE,
                               "more than the 1,000,000 a YAML file may have"),
    "sweep-billion-laughs": (bomb_sweep, USAGE, "sweep.yaml:7: expands to more than 100,000"),
    "claims-billion-laughs": (bomb_claims, USAGE, "claims.yaml:9: expands to more than 100,000"),
    "scenario-billion-laughs": (bomb_scenario, USAGE, "bomb-scenario.yaml:6: expands to more"),
    "compare-config-billion-laughs": (bomb_run_folder, DATA_ERR, "config.yaml:7: expands to more"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(BOMBS))
def test_yaml_bombs_are_refused_before_they_expand(name, tmp_path, finished_run):
    make, code, message = BOMBS[name]
    args = make(tmp_path, finished_run) if make is bomb_run_folder else make(tmp_path)
    result = run_bounded(args, REPO)
    lines = result.stderr.splitlines()
    assert result.returncode == code, result.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr[-2000:]
    assert message in lines[0] and re.search(r" \(fix: .+\)$", lines[0]), lines[0]


def test_the_yaml_limits_allow_every_shipped_file():
    from engine.io.safe_yaml import read_yaml_file

    shipped = [*REPO.glob("configs/**/*.yaml"), REPO / "engine/reference/claims.yaml"]
    assert len(shipped) > 10
    for path in shipped:
        read_yaml_file(path)


def test_anchors_and_merge_keys_within_the_limits_still_work(tmp_path):
    from engine.runs.config import load_run_config

    path = tmp_path / "anchors.yaml"
    path.write_text(
        "base: &base {stock: SPY, bond: TLT}\nstrategy: 60-40\n"
        "params: {<<: *base, stock_weight: 0.7}\ncosts: &c {fees_bps: 2}\n"
    )
    with pytest.raises(ConfigError, match="base: unknown key"):  # the anchor's own key
        load_run_config(path)
    path.write_text("strategy: 60-40\nparams: &p {<<: {stock: SPY}, stock_weight: 0.7}\n")
    assert load_run_config(path).params == {"stock": "SPY", "stock_weight": 0.7}


def test_a_cache_sidecar_naming_a_path_is_not_exported_outside_the_export(tmp_path):
    import json

    from engine.data.cache import DataCache
    from engine.data.export import export_cache

    cache = DataCache(tmp_path / "cache")
    frame = pd.DataFrame({"close": closes(BDAYS, 1), "adj_close": closes(BDAYS, 1)}, index=BDAYS)
    cache.write("yahoo", "SPY", frame)
    cache.write("yahoo", "QQQ", frame)
    sidecar = cache.sidecar_for("yahoo", "QQQ")  # a hand-edited sidecar: symbol is a path
    meta = json.loads(sidecar.read_text())
    sidecar.write_text(json.dumps({**meta, "symbol": "../../../escaped"}))
    result = export_cache(cache, tmp_path / "out")
    assert result.prices == ["SPY"] and "not a valid name" in result.skipped[0]
    assert not list(tmp_path.rglob("escaped*"))
    with pytest.raises(ConfigError, match=re.escape("cache key '../x' is not a valid name")):
        cache.path_for("yahoo", "../x")
