"""Fuzzing the two readers of user files: random and mutated YAML configs and CSV files.

The only exceptions allowed out of `load_run_config`, `read_price_csv` and `read_macro_csv`
are `PlaybookError`s with a non-empty one-line message (what the CLI prints after `error:`);
anything else would reach the user as `internal error` and is a bug. Bounded and derandomized,
so CI sees the same examples every time (`PLAYBOOK_FUZZ_EXAMPLES=5000` digs deeper locally).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.config import load_run_config
from engine.data.csvio import read_macro_csv, read_price_csv
from engine.errors import PlaybookError

FUZZ = settings(
    max_examples=int(os.environ.get("PLAYBOOK_FUZZ_EXAMPLES", "200")),
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

GOOD_YAML = """\
name: fuzz
strategy: 60-40
params: {stock: SPY, bond: TLT, stock_weight: 0.6, rebalance: monthly}
universe: null
data:
  source: synthetic
  seed: 20300101
  calendar: union
start: 2031-01-01
end: 2033-12-31
costs:
  fees_bps: 1.0
  slippage_bps: 2.0
  borrow_bps: 50.0
  cash_yield: [DTB3, DFF]
  cash_rate_pct: 0.0
leverage_cap: 1.0
benchmark: SPY
regimes:
  - {name: crunch, start: 2032-01-01, end: 2032-06-30, description: made up}
"""

GOOD_PRICES = """\
date,open,high,low,close,adj_close,volume
2021-01-04,10,11,9,10.5,10.4,1000
2021-01-05,10.5,11,10,10.8,10.7,1200
2021-01-06,10.8,11.2,10.1,11.0,10.9,900
2021-01-07,11.0,11.4,10.9,11.2,11.1,1100
"""

GOOD_MACRO = """\
date,value
2021-01-01,4.1
2021-01-04,.
2021-01-05,4.3
2021-01-06,4.2
"""

YAML_TOKENS = [
    ":", " ", "\n", "  ", "-", "[", "]", "{", "}", ",", "'", '"', "#", "&a", "*a", "!!",
    "!!python/object/apply:os.system", "!!binary", "null", "~", "true", "1e999", "-1",
    "0x1F", "2020-02-30", "2021-01-01", "strategy", "params", "data", "costs", "start",
    "end", "leverage_cap", "regimes", "60-40", "hayes-pivot", "\t", "\x00", "é", "---",
    "...", "?", "|", ">", "%YAML 1.1", "<<: *a",
]  # fmt: skip

CSV_TOKENS = [
    ",", "\n", "\r\n", '"', "date", "close", "adj_close", "value", "open", "2021-01-04",
    "2021-01-04T00:00:00+05:00", "2021-13-40", "1e400", "-1", "0", "nan", "NaN", "inf",
    "-inf", ".", "", " ", "\x00", "\ufeff", "é", "9999-12-31", "0000-01-01", "1970-01-01",
    "10.5", "abc", "\t", ";",
]  # fmt: skip


def mutate(draw: st.DrawFn, text: str, tokens: list[str]) -> str:
    """Delete, duplicate, swap or insert a few slices/tokens of a valid document."""
    for _ in range(draw(st.integers(1, 6))):
        size = len(text)
        op = draw(st.sampled_from(["delete", "insert", "duplicate", "replace_line"]))
        at = draw(st.integers(0, size))
        if op == "delete" and size:
            end = draw(st.integers(at, min(size, at + 20)))
            text = text[:at] + text[end:]
        elif op == "insert":
            text = text[:at] + draw(st.sampled_from(tokens)) + text[at:]
        elif op == "duplicate" and size:
            end = draw(st.integers(at, min(size, at + 40)))
            text = text[:at] + text[at:end] * 2 + text[end:]
        else:
            lines = text.split("\n")
            i = draw(st.integers(0, max(len(lines) - 1, 0)))
            lines[i] = "".join(draw(st.lists(st.sampled_from(tokens), max_size=8)))
            text = "\n".join(lines)
    return text


@st.composite
def mutated_yaml(draw: st.DrawFn) -> bytes:
    return mutate(draw, GOOD_YAML, YAML_TOKENS).encode("utf-8", "surrogatepass")


@st.composite
def mutated_csv(draw: st.DrawFn, good: str) -> bytes:
    return mutate(draw, good, CSV_TOKENS).encode("utf-8", "surrogatepass")


def random_bytes() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
    )


def assert_clean_failure(call, payload: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz{suffix}"
        path.write_bytes(payload)
        try:
            call(path)
        except PlaybookError as exc:
            line = exc.one_line()
            assert line.strip(), f"empty message for {payload!r}"
            assert "\n" not in line, f"multi-line message for {payload!r}: {line!r}"
        # any other exception propagates: a crash the fuzzer found


def test_the_unmutated_documents_are_valid(tmp_path):
    (tmp_path / "c.yaml").write_text(GOOD_YAML)
    (tmp_path / "p.csv").write_text(GOOD_PRICES)
    (tmp_path / "m.csv").write_text(GOOD_MACRO)
    assert load_run_config(tmp_path / "c.yaml").strategy == "60-40"
    assert len(read_price_csv(tmp_path / "p.csv", "X")) == 4
    assert len(read_macro_csv(tmp_path / "m.csv", "DTB3")) == 3


@FUZZ
@given(st.one_of(mutated_yaml(), random_bytes()))
def test_config_loader_fails_only_with_playbook_errors(payload):
    assert_clean_failure(load_run_config, payload, ".yaml")


@FUZZ
@given(st.one_of(mutated_csv(GOOD_PRICES), random_bytes()))
def test_price_reader_fails_only_with_playbook_errors(payload):
    assert_clean_failure(lambda p: read_price_csv(p, "X"), payload, ".csv")


@FUZZ
@given(st.one_of(mutated_csv(GOOD_MACRO), random_bytes()))
def test_macro_reader_fails_only_with_playbook_errors(payload):
    assert_clean_failure(lambda p: read_macro_csv(p, "DTB3"), payload, ".csv")


@FUZZ
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=12), children, max_size=4)
        ),
        max_leaves=12,
    ),
    st.sampled_from(["strategy", "params", "data", "costs", "start", "regimes", "universe"]),
)
def test_config_values_of_any_shape_fail_only_with_playbook_errors(value, key):
    import yaml

    document = yaml.safe_load(GOOD_YAML)
    document[key] = value
    try:
        text = yaml.safe_dump(document, allow_unicode=True)
    except yaml.YAMLError:
        return
    assert_clean_failure(load_run_config, text.encode("utf-8", "surrogatepass"), ".yaml")
