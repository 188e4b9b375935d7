"""Fuzzing the readers of user files and the places where names become paths.

The only exceptions allowed out of `load_run_config`, `read_price_csv` and `read_macro_csv`
are `PlaybookError`s with a non-empty one-line message (what the CLI prints after `error:`);
anything else would reach the user as `internal error` and is a bug. YAML is also generated
with anchors, aliases and merge keys (alias bombs among them), read with this process's
memory capped (RLIMIT_AS) and a time limit, so a reader that expands them fails here instead
of eating the machine; path-like strings (absolute, `..`, NUL, very long, unicode) go into
every name field and every name-to-path join, which must refuse them or stay inside its
folder. Bounded and derandomized, so CI sees the same examples every time
(`PLAYBOOK_FUZZ_EXAMPLES=5000` digs deeper locally).
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from engine.data.csvio import read_macro_csv, read_price_csv
from engine.errors import PlaybookError
from engine.runs.config import load_run_config

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
    "...", "?", "|", ">", "%YAML 1.1", "<<: *a", "&b [*a, *a, *a, *a]", "*b", "<<: [*a, *b]",
    "&a {x: *a}", "{<<: *a, y: 1}",
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


# --- anchors, aliases and merge keys; path-like names ------------------------------------

EXTRA_MEMORY = 1024 * 2**20  # what one example may add to this process's address space
SECONDS = 30  # what one example may take


@contextlib.contextmanager
def bounded() -> Iterator[None]:
    """Cap this process's address space (soft RLIMIT_AS) and time for one example."""
    pages = int(Path("/proc/self/statm").read_text().split()[0])
    size = pages * os.sysconf("SC_PAGE_SIZE")
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = size + EXTRA_MEMORY if hard == resource.RLIM_INFINITY else min(hard, size + EXTRA_MEMORY)

    def timeout(signum, frame):
        raise TimeoutError(f"one example took over {SECONDS} s")

    previous = signal.signal(signal.SIGALRM, timeout)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    signal.alarm(SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        signal.signal(signal.SIGALRM, previous)


NAME_FIELDS = ["params", "universe", "benchmark", "costs", "data", "regimes", "name"]


@st.composite
def aliased_yaml(draw: st.DrawFn) -> bytes:
    """A config whose values are built from anchors: lists or mappings of aliases of the
    anchors just before them (widths up to 12, so many are bombs), merge keys, and a
    recursive alias now and then, placed in a name field."""
    lines = ["strategy: 60-40"]
    count = draw(st.sampled_from([9, 16, 12, 6, 3, 1]))
    for i in range(count):
        width = draw(st.sampled_from([12, 10, 5, 3, 2]))  # the simplest draw is a bomb
        if i:
            refs = [f"*x{draw(st.integers(max(0, i - 2), i - 1))}" for _ in range(width)]
        else:
            refs = ["lol"] * width
        shape = draw(st.sampled_from(["list"] * 5 + ["map"] * 2 + ["merge"] * 2 + ["recursive"]))
        if shape == "recursive" and i < count - 1:
            shape = "list"  # only the last value contains itself: the chain stays a bomb
        if shape == "list" or not i:
            value = "[" + ", ".join(refs) + "]"
        elif shape == "map":
            value = "{" + ", ".join(f"k{j}: {ref}" for j, ref in enumerate(refs)) + "}"
        elif shape == "merge":
            value = f"{{<<: [{', '.join(refs[:3])}], own: {refs[-1]}}}"
        else:
            value = f"{{me: *x{i}}}"
        lines.append(f"x{i}_key: &x{i} {value}")
    field = draw(st.sampled_from(NAME_FIELDS))
    if draw(st.booleans()):  # the anchors under `params` (unknown params) instead of on top
        lines = [lines[0], "params:", *(f"  {line}" for line in lines[1:])]
        field = "universe" if field == "params" else field
    lines.append(f"{field}: *x{count - 1}")
    return ("\n".join(lines) + "\n").encode()


LAUGHS = "strategy: 60-40\nparams:\n  x0: &x0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
LAUGHS += "".join(f"  x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * 10)}]\n" for i in range(1, 9))
MERGES = "strategy: 60-40\nparams:\n  m0: &m0 {a: lol, b: lol}\n"
MERGES += "".join(f"  m{i}: &m{i} {{<<: *m{i - 1}, l: *m{i - 1}}}\n" for i in range(1, 40))


@FUZZ
@given(st.one_of(aliased_yaml(), mutated_yaml()))
@example(LAUGHS.encode())
@example(MERGES.encode())
def test_aliases_anchors_and_merge_keys_fail_only_with_playbook_errors(payload):
    with bounded():
        assert_clean_failure(load_run_config, payload, ".yaml")


PATHLIKE = st.one_of(
    st.sampled_from([
        "/etc/passwd", "../secret", "../../secret", "a/../../secret", "..", ".", "", "~",
        "~/secret", "prices/../../secret", "SPY\x00", "\x00", "a\\..\\secret", "C:\\secret",
        "S" * 5000, "ÜBER", "\u202esecret", "%2e%2e%2fsecret", "SPY/", " SPY", "-rf", ".hidden",
        "^GSPC", "GC=F", "BTC-USD", "DX-Y.NYB", "SPY",
    ]),
    st.text(max_size=40),
    st.text(alphabet="./\\\x00a", max_size=12),
)  # fmt: skip


def assert_inside_or_refused(join, name: str, root: Path) -> None:
    """`join(name)` is a path inside `root`, None, or a one-line PlaybookError."""
    try:
        path = join(name)
    except PlaybookError as exc:
        assert "\n" not in exc.one_line() and exc.one_line().strip()
        return
    if path is not None:
        assert Path(path).resolve().is_relative_to(root.resolve()), (name, path)


@FUZZ
@given(PATHLIKE)
def test_every_name_to_path_join_refuses_names_that_leave_their_folder(name):
    from engine.data.cache import DataCache
    from engine.data.sources import DirectorySource, price_path
    from engine.markets.model import find_scenario
    from engine.runs.config import find_config

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        data = root / "data"
        (data / "prices").mkdir(parents=True)
        (data / "macro").mkdir()
        (root / "secret.csv").write_text(GOOD_PRICES)  # what an escaping name would read
        (data / "prices" / "SPY.csv").write_text(GOOD_PRICES)
        (root / "configs").mkdir()
        source = DirectorySource(data)
        cache = DataCache(root / "cache")
        joins = [
            (lambda n: price_path(data, n), data / "prices"),
            (lambda n: cache.path_for("yahoo", n), root / "cache" / "yahoo"),
            (lambda n: cache.path_for("fred", n), root / "cache" / "fred"),
            (lambda n: find_config(n, [root / "configs"]), root / "configs"),
        ]
        for join, inside in joins:
            assert_inside_or_refused(join, name, inside)
        for read in (source.prices, source.macro):
            try:
                read(name)
            except PlaybookError as exc:
                assert "\n" not in exc.one_line()
            else:  # only a plain name reaches a file, and only one inside the folder
                assert name in ("SPY",) or read == source.macro, name
        if name.endswith((".yaml", ".yml")):
            return  # a scenario given as a file path is read as the user's own file
        try:
            found = find_scenario(name)
        except PlaybookError:
            found = None
        assert found is None or found.resolve().parent.name == "scenarios", (name, found)


@FUZZ
@given(PATHLIKE, st.sampled_from(["params.symbol", "universe", "benchmark", "cash_yield",
                                  "scenario", "proxies", "name"]))  # fmt: skip
def test_path_like_strings_in_name_fields_fail_only_with_playbook_errors(name, field):
    import yaml

    document = {"strategy": "buy-and-hold", "params": {"symbol": "SPY"}}
    if field == "params.symbol":
        document["params"]["symbol"] = name
    elif field == "universe":
        document["universe"] = ["SPY", name]
    elif field == "cash_yield":
        document["costs"] = {"cash_yield": [name]}
    elif field == "scenario":
        document["data"] = {"scenario": name}
    elif field == "proxies":
        document["data"] = {"proxies": {name: "SPY"}}
    else:
        document[field] = name
    text = yaml.safe_dump(document, allow_unicode=True)
    assert_clean_failure(load_run_config, text.encode("utf-8", "surrogatepass"), ".yaml")
