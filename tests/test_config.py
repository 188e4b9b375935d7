"""Config mistakes are named with the file, the line and the fix."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from engine.errors import ConfigError
from engine.runs.backtest import make_strategy
from engine.runs.config import RunConfig, load_run_config, load_run_config_with_lines

GOOD = """\
strategy: 60-40
params:
  stock_weight: 0.7
costs:
  fees_bps: 2
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return path


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        config, lines = load_run_config_with_lines(path)
        make_strategy(config, lines, str(path))
    return caught.value.one_line()


def test_good_config_loads_with_defaults(tmp_path):
    config = load_run_config(write(tmp_path, GOOD))
    assert config.costs.fees_bps == 2 and config.costs.slippage_bps == 2.0
    assert config.costs.cash_yield == ("DTB3", "DFF")
    assert make_strategy(config).p.stock_weight == 0.7


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            GOOD.replace("fees_bps", "fee_bps"),
            "run.yaml:5: costs.fee_bps: unknown key (fix: did you mean 'fees_bps'?)",
        ),
        (
            GOOD + "levrage_cap: 2\n",
            "run.yaml:6: levrage_cap: unknown key (fix: did you mean 'leverage_cap'?)",
        ),
        (
            GOOD.replace("fees_bps: 2", "fees_bps: cheap"),
            "run.yaml:5: costs.fees_bps: Input should be a valid number",
        ),
        (
            GOOD.replace("fees_bps: 2", "fees_bps: -1"),
            "run.yaml:5: costs.fees_bps: Input should be greater than or equal to 0",
        ),
        (GOOD + "leverage_cap: -1\n", "run.yaml:6: leverage_cap: Input should be greater than 0"),
        (
            GOOD + "start: 2020-01-01\nend: 2019-01-01\n",
            "start 2020-01-01 is not before end 2019-01-01",
        ),
        (
            GOOD.replace("stock_weight: 0.7", "stock_wieght: 0.7"),
            "run.yaml:3: params.stock_wieght: unknown key (fix: did you mean 'stock_weight'?)",
        ),
        (
            GOOD.replace("stock_weight: 0.7", "stock_weight: 1.7"),
            "run.yaml:3: params.stock_weight: Input should be less than or equal to 1",
        ),
        (GOOD.replace("60-40", "60-4O"), "unknown strategy '60-4O' (fix: did you mean '60-40'?)"),
        ("strategy: [60-40\n", "run.yaml:2: YAML syntax error"),
        ("params: {}\n", "run.yaml: strategy: required key is missing"),
        ("", "the file is empty"),
        ("- 60-40\n", "expected a mapping of keys, got list"),
        (GOOD + "costs:\n  fees_bps: 3\n", "run.yaml:6: duplicate key 'costs'"),
        ("strategy: 60-40\ndata:\n  source: directory\n", "source 'directory' needs a path"),
        ("strategy: !!python/object/apply:os.system ['echo hi']\n", "YAML syntax error"),
    ],
)
def test_config_errors_name_file_line_key_and_fix(tmp_path, text, expected):
    assert expected in error_of(write(tmp_path, text))


def test_relative_data_path_resolves_from_the_config_file(tmp_path):
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "run.yaml"
    path.write_text("strategy: 60-40\ndata:\n  source: directory\n  path: ../data\n")
    assert load_run_config(path).data.path == (tmp_path / "data").resolve()


def test_config_hash_is_canonical_and_ignores_key_order():
    a = RunConfig(strategy="60-40", params={"stock_weight": 0.5, "bond": "IEF"})
    b = RunConfig(strategy="60-40", params={"bond": "IEF", "stock_weight": 0.5})
    assert a.config_hash() == b.config_hash()
    assert a.config_hash() != RunConfig(strategy="60-40").config_hash()
    with pytest.raises(Exception, match="frozen"):
        a.start = dt.date(2020, 1, 1)  # type: ignore[misc]


# --- the bounded YAML reader's limits, at the boundary (engine/io/safe_yaml.py) ---------------


def read_error(tmp_path: Path, text: str) -> str | None:
    path = write(tmp_path, text)
    try:
        load_run_config(path)
    except ConfigError as exc:
        return exc.one_line()
    return None


def test_nesting_up_to_the_limit_is_read_one_more_level_is_refused(tmp_path):
    from engine.io.safe_yaml import MAX_DEPTH

    def nested(levels: int) -> str:  # the top mapping is one level, params another
        inner = "[" * (levels - 2) + "1" + "]" * (levels - 2)
        return f"strategy: 60-40\nparams: {{deep: {inner}}}\n"

    assert read_error(tmp_path, nested(MAX_DEPTH)) is None  # read (params checked later)
    assert f"run.yaml:2: nested too deeply (more than {MAX_DEPTH} levels)" in str(
        read_error(tmp_path, nested(MAX_DEPTH + 1))
    )


def test_alias_uses_up_to_the_limit_are_read_one_more_is_refused(tmp_path):
    from engine.io.safe_yaml import MAX_ALIASES

    def aliases(n: int) -> str:
        return "strategy: 60-40\nx: &x 1\nparams: {many: [" + ", ".join(["*x"] * n) + "]}\n"

    assert "x: unknown key" in str(read_error(tmp_path, aliases(MAX_ALIASES)))
    assert f"more than {MAX_ALIASES:,} alias uses" in str(
        read_error(tmp_path, aliases(MAX_ALIASES + 1))
    )


def test_expanded_values_are_counted_through_aliases(tmp_path):
    from engine.io.safe_yaml import MAX_VALUES

    # 1 + 9 = 10 values in `a`; each alias of it counts 10 again, the list itself 1
    uses = (MAX_VALUES - 200) // 10
    body = "a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9]\nb: [" + ", ".join(["*a"] * min(uses, 999)) + "]\n"
    assert "expands to more" not in str(read_error(tmp_path, "strategy: 60-40\n" + body))
    wide = "a: &a [" + ", ".join(["1"] * 200) + "]\nb: [" + ", ".join(["*a"] * 600) + "]\n"
    assert f"expands to more than {MAX_VALUES:,} values" in str(
        read_error(tmp_path, "strategy: 60-40\n" + wide)
    )  # 201 * 600 > 100,000: refused although the file has 800 values


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path):
    from engine.io.safe_yaml import MAX_BYTES

    error = read_error(tmp_path, "strategy: 60-40\n#" + "x" * MAX_BYTES + "\n")
    assert error is not None and f"more than the {MAX_BYTES:,} a YAML file may have" in error
