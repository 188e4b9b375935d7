"""Run a sweep: parameter sets in chunks, each chunk one vectorbt call, reduced at once.

A chunk's result is a small table (one row per set: params, metrics and per-block return
moments), written atomically to `chunks/chunk-NNNNN.parquet`; a restarted sweep skips every
chunk already on disk, so a SIGKILL loses at most the chunk in flight. Shard K of N owns the
chunks whose index is K-1 modulo N. Chunks can run here or on a dask.distributed cluster;
either way this process writes the files.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

import numpy as np
import pandas as pd

from engine.core import metrics
from engine.core.panel import Panel
from engine.core.simulate import Costs
from engine.core.strategy import Strategy, fresh, inputs_of, universe_of
from engine.errors import ConfigError, DataError, from_os_error
from engine.io.atomic import output_error, write_file_atomically
from engine.runs.backtest import costs_of, load_panel, make_source, window_start
from engine.runs.batch import Batch, OwnSignals, SharedPanel, run_batch
from engine.runs.cluster import check_executor, run_on_cluster
from engine.runs.config import RunConfig
from engine.runs.strategy_loader import get_strategy, resolve
from engine.sweep.overfit import MOMENTS, block_moments_of_rows
from engine.sweep.shared_signals import SignalMemo
from engine.sweep.spec import SweepSpec, check_set, param_id, param_sets

METRICS = (
    "total_return",
    "cagr",
    "volatility",
    "sharpe",
    "sortino",
    "max_drawdown",
    "calmar",
    "time_in_market",
    "avg_gross_exposure",
    "turnover_per_year",
    "fills",
)
BYTES_PER_SET_BAR = 8 * 16  # wealth, returns, exposure and the metrics' temporaries, float64


@dataclass(frozen=True)
class Plan:
    """What a sweep will run: its sets split into chunks, and which chunks are this shard's."""

    spec: SweepSpec
    base: RunConfig
    sets: Sequence[dict[str, Any]]  # `ParamSets`: a chunk's sets are made when it runs
    chunk_size: int
    shard: tuple[int, int] | None
    fingerprint: str = ""  # of every input of a chunk: identity, data and playbook version
    panels: PanelShelf = field(default_factory=lambda: PanelShelf(), compare=False, repr=False)
    # each set's param_id (12 bytes a set) and the sets' distinct (universe, inputs): what
    # the fingerprint and the folder's record hash, found in make_plan's one pass
    set_ids: np.ndarray = field(
        default_factory=lambda: np.empty(0, "S12"), compare=False, repr=False
    )
    inputs_keys: tuple[tuple, ...] = ()

    @property
    def chunks(self) -> Sequence[list[dict[str, Any]]]:
        """Chunk i's sets, made when it is asked for (callers index it per chunk)."""
        return _Chunks(self.sets, self.chunk_size)

    def chunk_len(self, index: int) -> int:
        """How many sets chunk `index` holds (without making them)."""
        return min(self.chunk_size, len(self.sets) - index * self.chunk_size)

    def mine(self) -> list[int]:
        count = len(self.chunks)
        if self.shard is None:
            return list(range(count))
        k, n = self.shard
        return [i for i in range(count) if i % n == k - 1]

    def identity(self) -> dict[str, Any]:
        """Everything that must match for chunk files to be reused or merged (the set ids
        as a list: the record and the hashes read them from `set_ids` in pieces)."""
        return {**self._identity(), "set_ids": [i.decode() for i in self.set_ids.tolist()]}

    def _identity(self) -> dict[str, Any]:
        """`identity` with the list of set ids as a stand-in (`hash_with_set_ids`)."""
        return {
            "spec": json.loads(self.spec.model_dump_json()),
            "base": json.loads(self.base.canonical_json()),
            "sets": len(self.sets),
            "set_ids": SET_IDS,
            "chunk_size": self.chunk_size,
        }

    def identity_sha256(self) -> str:
        """sha256 of `json.dumps(identity(), sort_keys=True)` (the default folder's name)."""
        return hash_with_set_ids(self._identity(), self.set_ids, sort_keys=True)

    def record(self) -> dict[str, Any]:
        """`identity` as sweep.json holds it: the set ids by their digest (the list was 18 MB
        at 1M sets; the fingerprint and the default folder name still hash the list)."""
        record = self._identity()
        del record["set_ids"]
        record["set_ids_sha256"] = hash_with_set_ids(SET_IDS, self.set_ids)
        return record


class _Chunks(Sequence[list[dict[str, Any]]]):
    """A plan's sets cut into chunks of `size`, chunk i's sets made when it is asked for."""

    def __init__(self, sets: Sequence[dict[str, Any]], size: int) -> None:
        self.sets, self.size = sets, size

    def __len__(self) -> int:
        return -(-len(self.sets) // self.size)

    @overload
    def __getitem__(self, index: int) -> list[dict[str, Any]]: ...

    @overload
    def __getitem__(self, index: slice) -> list[list[dict[str, Any]]]: ...

    def __getitem__(self, index: int | slice) -> list[dict[str, Any]] | list[list[dict[str, Any]]]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        start = (index % len(self)) * self.size
        return list(self.sets[start : start + self.size])


SET_IDS = "\x00set_ids\x00"  # stands for the list of set ids in a payload to hash
HASH_PIECE = 100_000  # set ids hashed at a time


def hash_with_set_ids(payload: Any, set_ids: np.ndarray, **dumps: Any) -> str:
    """sha256 of `json.dumps(payload, **dumps)` with the list of set ids where `SET_IDS`
    stands: the same digest as of the text with the list in it, the ids' text hashed a
    piece at a time (a million ids' text was 16 MB, their strings 70 MB; issue 22)."""
    text = json.dumps(payload, **dumps)
    mark = json.dumps(SET_IDS)
    if text.count(mark) != 1:
        raise ValueError("the payload must hold the set ids' stand-in once")
    head, tail = text.split(mark)
    digest = hashlib.sha256(head.encode() + b"[")
    for start in range(0, len(set_ids), HASH_PIECE):  # as json.dumps writes a list of str
        piece = set_ids[start : start + HASH_PIECE].tolist()
        digest.update((b", " if start else b"") + b'"' + b'", "'.join(piece) + b'"')
    digest.update(b"]" + tail.encode())
    return digest.hexdigest()


def set_ids_digest(ids: list[str]) -> str:
    """What identifies a sweep's list of parameter sets in sweep.json."""
    return hashlib.sha256(json.dumps(ids).encode()).hexdigest()


def make_plan(spec: SweepSpec, base: RunConfig, shard: tuple[int, int] | None = None) -> Plan:
    """The sweep's plan. One pass over the sets validates each (the first bad one is the
    error), finds the panels they read and their ids; no set is kept."""
    sets = param_sets(spec, base)
    cls = get_strategy(base.strategy)
    set_ids = np.empty(len(sets), "S12")
    keys: dict[tuple, None] = {}
    for i, params in enumerate(sets):
        strategy = cls(check_set(cls.Params, sets.keys, params))
        keys[(universe_of(strategy), _inputs_key(strategy))] = None
        set_ids[i] = param_id(params)
    panels = PanelShelf()
    window = _window(base, sets[0], panels)
    bars = len(window)
    if bars < 2 * spec.blocks:  # CSCV splits the window into blocks of at least 2 bars
        raise DataError(
            f"the sweep's window has {bars} bars, too few for {spec.blocks} CSCV blocks "
            f"(each needs at least 2 bars)",
            "widen the base config's window or set fewer `blocks:`",
        )
    if spec.split is not None:
        _check_split(spec.split.oos_start, window)
    if shard is not None and not 1 <= shard[0] <= shard[1]:
        raise ConfigError(f"shard {shard[0]}/{shard[1]} is out of range", "use K/N with 1<=K<=N")
    size = spec.chunk_size or _auto_chunk_size(spec, bars, len(sets), shard[1] if shard else 1)
    plan = Plan(
        spec, base, sets, size, shard, panels=panels, set_ids=set_ids, inputs_keys=tuple(keys)
    )
    return dataclasses.replace(plan, fingerprint=inputs_fingerprint(plan))


def inputs_fingerprint(plan: Plan) -> str:
    """A hash of what a chunk's numbers depend on: the sweep's identity (spec, base config,
    sets, chunking), the content of every panel its sets read, playbook's version and, for a
    strategy file, its content.
    A chunk is reused, or merged, only under the same fingerprint."""
    from engine import __version__

    base_json = plan.base.canonical_json()
    data = [plan.panels.get(base_json, *key).panel.content_hash() for key in plan.inputs_keys]
    payload = {"identity": plan._identity(), "data": data, "playbook": __version__}
    code = resolve(plan.base.strategy)[1].sha256  # a user's strategy file: its content
    if code is not None:
        payload["strategy_sha256"] = code
    return hash_with_set_ids(payload, plan.set_ids, sort_keys=True, default=str)


def _window(base: RunConfig, params: dict[str, Any], panels: PanelShelf) -> pd.DatetimeIndex:
    """The window of a set's panel (the sets of a sweep share the window)."""
    strategy = get_strategy(base.strategy)(get_strategy(base.strategy).Params(**params))
    shared = panels.get(base.canonical_json(), universe_of(strategy), _inputs_key(strategy))
    return shared.window


SPLIT_MIN_BARS = 3  # a part of fewer bars has no Sharpe or CAGR (_simulate_group's len > 2)


def _check_split(oos_start: Any, window: pd.DatetimeIndex) -> None:
    """Refuse an in-sample / out-of-sample split that leaves a part (almost) empty: a date
    outside the window gave a sweep whose columns for that part were all empty."""
    cut = int(window.searchsorted(pd.Timestamp(oos_start)))
    inside, outside = cut, len(window) - cut
    if min(inside, outside) < SPLIT_MIN_BARS:
        first, last = window[0].date(), window[-1].date()
        raise ConfigError(
            f"split.oos_start {oos_start} leaves {inside} in-sample and {outside} "
            f"out-of-sample bars of the window {first}..{last}",
            f"choose a date inside the window, {SPLIT_MIN_BARS} bars or more from each end",
        )


def _auto_chunk_size(spec: SweepSpec, bars: int, sets: int, shards: int = 1) -> int:
    """As many sets per kernel call as fit the memory budget (memory stays flat), and as
    even a split among `shards` as whole chunks allow: shard K runs chunks K, K+N, ... so
    10,000 sets in 5 chunks of 2,000 left one of 2 shards 6,000 sets (1.67x, not 2x, from a
    second core). The chunks are made a multiple of the shards in number, no larger."""
    per_set = max(bars, 1) * BYTES_PER_SET_BAR
    size = int(max(1, min(2000, spec.memory_budget_mb * 2**20 // per_set)))
    if shards > 1:
        chunks = -(-sets // size)
        size = -(-sets // (shards * -(-chunks // shards)))
    return size


def run_chunk(
    base_json: str,
    spec_json: str,
    param_sets: list[dict[str, Any]],
    panels: PanelShelf | None = None,
) -> pd.DataFrame:
    """One chunk, from plain data (so a dask worker can run it): a row per parameter set.

    `panels` is the plan's shelf when the chunk runs in the planning process; without it the
    chunk builds the panels it needs (see `PanelShelf`)."""
    panels = PanelShelf() if panels is None else panels
    base = RunConfig.model_validate_json(base_json)
    spec = SweepSpec.model_validate_json(spec_json)
    cls = get_strategy(base.strategy)
    strategies = [cls(cls.Params(**params)) for params in param_sets]
    groups: dict[tuple, list[int]] = {}
    for i, strategy in enumerate(strategies):
        groups.setdefault((universe_of(strategy), _inputs_key(strategy)), []).append(i)
    tables = []
    declined: list[str] = []
    alone_differs = False
    for (universe, inputs), members in groups.items():
        shared = panels.get(base_json, universe, inputs)
        group = [strategies[i] for i in members]
        table, differs = _simulate_group(base, spec, shared, group, declined.append)
        alone_differs |= differs
        tables.append(table.set_index(pd.Index(members)))
    metrics_table = pd.concat(tables).sort_index()
    ids = pd.DataFrame(
        {
            "id": [param_id(p) for p in param_sets],
            "params": [json.dumps(p, sort_keys=True, default=str) for p in param_sets],
            **{f"p.{k}": [p[k] for p in param_sets] for k in spec.grid},
        }
    )
    chunk = pd.concat([ids, metrics_table.reset_index(drop=True)], axis=1)
    # notes carried with the table (a dask worker's too) for run_plan to give once per run,
    # and kept in the chunk file's metadata (a resumed sweep and the summary read them)
    chunk.attrs[NOTES_KEY] = [
        f"{cls.name}'s batch path declined: {reason}; walking each set"
        for reason in dict.fromkeys(declined)
    ] + ([ALONE_DIFFERS.format(name=cls.name)] if alone_differs else [])
    return chunk


NOTES_KEY = "playbook_chunk_notes"
ALONE_DIFFERS = (
    "{name}: a set run again alone decides differently than it did in the sweep after other "
    "sets, so the sweep's rows are not the runs of their sets (state kept on the class or in a "
    "module, unseeded randomness, a decide_many that differs from on_event?); `playbook check` "
    "on this sweep file names the first difference"
)


def _simulate_group(
    base: RunConfig,
    spec: SweepSpec,
    shared: SharedPanel,
    strategies: list[Strategy],
    on_decline: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, bool]:
    """Sets of one universe on one panel through the batch pipeline (decisions, one kernel
    call, headline metrics), plus the sweep's own columns: a row each; and whether the last
    set run again alone differs (`_alone_differs`)."""
    costs = costs_of(base)
    batch = run_batch([(strategies, shared)], costs, base.leverage_cap, on_decline=on_decline)
    differs = _alone_differs(batch, shared, strategies[-1], costs, base.leverage_cap)
    sim, table = batch.sim, batch.table
    rows, cash, span = sim.returns, shared.cash, shared.span
    names = pd.RangeIndex(len(strategies))
    columns: dict[str, Any] = {key: table[key] for key in METRICS if key in table}
    # run_stats's exposure, turnover and fills, from the kernel's per-set arrays
    columns["time_in_market"] = (sim.gross > 1e-9).mean(axis=1)
    columns["avg_gross_exposure"] = sim.gross.mean(axis=1)
    columns["turnover_per_year"] = sim.turnover / max(span, 1e-9)
    columns["fills"] = sim.fills
    if spec.split is not None:
        cut = int(sim.index.searchsorted(pd.Timestamp(spec.split.oos_start)))
        for part, bars in (("is", slice(0, cut)), ("oos", slice(cut, len(sim.index)))):
            index = sim.index[bars]
            found = (
                metrics.summary_arrays(
                    rows[:, bars], cash[bars], metrics.years(index), metrics.periods_per_year(index)
                )
                if len(index) > 2
                else None
            )
            for key in ("sharpe", "cagr"):
                columns[f"{key}_{part}"] = (
                    np.full(len(strategies), np.nan) if found is None else found[key]
                )
    moments = block_moments_of_rows(rows, cash, spec.blocks)
    for b in range(spec.blocks):
        for k, name in enumerate(MOMENTS):
            columns[f"m{b:02d}_{name}"] = moments[b, :, k]
    return pd.DataFrame(columns, index=names), differs


def _alone_differs(
    batch: Batch, shared: SharedPanel, last: Strategy, costs: Costs, leverage_cap: float
) -> bool:
    """Whether the group's last set, run again alone (a fresh instance computing its own
    signals, as `playbook run` does), returns other than it did after the group's other sets,
    bit for bit. The pipeline keeps sets apart (shared signals only for equal reads); what it
    cannot see is a strategy's state on its class or module, or unseeded randomness. One set
    per group and chunk: a few ms against the chunk's seconds."""
    alone = run_batch(
        [([fresh(last)], dataclasses.replace(shared, signals=OwnSignals(shared.panel)))],
        costs,
        leverage_cap,
    )
    return not np.array_equal(
        alone.sim.returns[0].view(np.int64), batch.sim.returns[-1].view(np.int64)
    )


MEMO_BUDGET_MB = 128.0


class PanelShelf:
    """The shared panels of one sweep, built on first use and kept as long as this object.

    A plan owns one (`Plan.panels`): planning, fingerprinting and every local chunk read the
    same panels, built once (a real-data panel takes seconds). A chunk run from plain data (a
    dask worker) builds its own shelf per chunk, once for up to thousands of sets, which is
    cheap next to the sets and keeps no state in the worker between chunks. Keyed by what
    the panel is built from (config, universe, inputs), never by object ids; nothing global.
    """

    def __init__(self) -> None:
        self._shared: dict[tuple, SharedPanel] = {}

    def get(self, base_json: str, universe: tuple[str, ...], inputs: tuple) -> SharedPanel:
        key = (base_json, universe, inputs)
        found = self._shared.get(key)
        if found is None:
            panel = _build_panel(base_json, universe, inputs)
            found = self._shared[key] = SharedPanel.of(panel, SignalMemo(panel, MEMO_BUDGET_MB))
        return found

    def with_fresh_signals(self) -> PanelShelf:
        """The same panels with empty signal memos: a sweep run again on this shelf computes
        its signals again (a benchmark's rounds each pay for them, as one sweep does)."""
        shelf = PanelShelf()
        for key, shared in self._shared.items():
            memo = SignalMemo(shared.panel, MEMO_BUDGET_MB)
            shelf._shared[key] = dataclasses.replace(shared, signals=memo)
        return shelf


def _build_panel(base_json: str, universe: tuple[str, ...], inputs: tuple) -> Panel:
    """The panel a group of parameter sets shares (a `PanelShelf` keeps it)."""
    base = RunConfig.model_validate_json(base_json)
    cls = get_strategy(base.strategy)
    probe = _PanelProbe(universe, inputs, cls)
    panel = load_panel(base, probe, make_source(base))  # type: ignore[arg-type]
    return dataclasses.replace(panel, window_start=window_start(base, panel))


@dataclass(frozen=True)
class _PanelProbe:
    """Stands in for a strategy when loading a panel: only its data needs matter."""

    symbols: tuple[str, ...]
    inputs_key: tuple
    cls: type

    name = "sweep"

    def universe(self) -> tuple[str, ...]:
        return self.symbols

    def inputs(self):
        from engine.core.strategy import Inputs

        return Inputs(symbols=self.inputs_key[0], macro=self.inputs_key[1])


def _inputs_key(strategy: Any) -> tuple:
    inputs = inputs_of(strategy)
    return (tuple(inputs.symbols), tuple(inputs.macro))


# --- running, resuming, sharding ----------------------------------------------------


def run_plan(
    plan: Plan,
    out_dir: Path,
    *,
    executor: str = "local",
    scheduler: str | None = None,
    on_chunk: Callable[[int, int, int], None] | None = None,
    on_note: Callable[[str], None] | None = None,
) -> list[int]:
    """Run this shard's missing chunks; returns the chunk indices that were computed now.

    A chunk on disk is reused only if its fingerprint is this plan's: one computed on other
    data or another playbook version, or damaged, is computed again (with a note).
    If this call created the folder and fails before any chunk is written, it removes it.
    """
    created = _claim_folder(plan, out_dir, on_note)
    computed: list[int] = []
    try:
        todo = todo_chunks(plan, out_dir, on_note)
        done_before = len(plan.mine()) - len(todo)
        base_json, spec_json = plan.base.canonical_json(), plan.spec.model_dump_json()
        chunks = plan.chunks
        work = ((i, chunks[i]) for i in todo)  # a chunk's sets made as it is run
        results = _execute(executor, scheduler, base_json, spec_json, work, plan.panels)
        noted: set[str] = set()  # a note is given once per run, not once per chunk

        def note_once(notes: Iterable[str]) -> None:
            for note in notes:
                if on_note is not None and note not in noted:
                    on_note(note)
                noted.add(note)

        for index in sorted(set(plan.mine()) - set(todo)):  # kept chunks: their notes again
            note_once(chunk_notes(chunk_path(out_dir, index)))
        for count, (index, table) in enumerate(results, start=1):
            note_once(table.attrs.get(NOTES_KEY, []))
            _write_atomically(_marked(table, plan.fingerprint), chunk_path(out_dir, index))
            computed.append(index)
            if on_chunk is not None:
                on_chunk(done_before + count, len(plan.mine()), index)
    except BaseException:
        if created and not computed:
            _unclaim_folder(out_dir)
        raise
    return computed


def todo_chunks(
    plan: Plan, out_dir: Path, on_note: Callable[[str], None] | None = None
) -> list[int]:
    """This shard's chunks that are missing, damaged or computed on other inputs."""
    todo: list[int] = []
    stale: list[int] = []
    damaged: list[int] = []
    for index in plan.mine():
        path = chunk_path(out_dir, index)
        if not path.exists():
            todo.append(index)
            continue
        found = chunk_fingerprint(path)
        if found != plan.fingerprint:
            (damaged if found is None else stale).append(index)
            todo.append(index)
    if on_note is not None and stale:
        on_note(
            f"{len(stale)} finished chunks in {out_dir} were computed on other inputs "
            "(the data or playbook changed): computing them again"
        )
    if on_note is not None and damaged:
        on_note(f"{len(damaged)} chunks in {out_dir} are damaged or unmarked: computing them again")
    return todo


FINGERPRINT_KEY = b"playbook_fingerprint"
NOTES_META = b"playbook_notes"  # a chunk file's notes (JSON list), for summaries and resumes


def chunk_notes(path: Path) -> list[str]:
    """The notes a chunk file was written with ([] if none, or unreadable: a damaged chunk
    is recomputed, and says so, elsewhere)."""
    return notes_in(_schema_metadata(path) or {})


def notes_in(metadata: dict[bytes, bytes]) -> list[str]:
    """The notes in a chunk file's parquet metadata ([] if none or not a JSON list)."""
    try:
        notes = json.loads(metadata.get(NOTES_META) or b"[]")
    except ValueError:
        return []
    return [str(note) for note in notes] if isinstance(notes, list) else []


def _schema_metadata(path: Path) -> dict[bytes, bytes] | None:
    """A chunk file's parquet metadata (its fingerprint and notes); None if unreadable."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return dict(pq.read_schema(path).metadata or {})
    except (OSError, pa.ArrowException):
        return None


def chunk_fingerprint(path: Path) -> str | None:
    """The fingerprint a chunk file was written under; None if unreadable or unmarked."""
    value = (_schema_metadata(path) or {}).get(FINGERPRINT_KEY)
    return value.decode() if value else None


def _execute(
    executor: str,
    scheduler: str | None,
    base_json: str,
    spec_json: str,
    work: Iterable[tuple[int, list[dict[str, Any]]]],
    panels: PanelShelf,
) -> Iterator[tuple[int, pd.DataFrame]]:
    if executor == "local":
        for index, sets in work:
            yield index, run_chunk(base_json, spec_json, sets, panels)
        return
    check_executor(executor, scheduler)
    # a few chunks in flight, each table released on the cluster once it is here
    yield from run_on_cluster(
        scheduler, run_chunk, ((index, (base_json, spec_json, sets)) for index, sets in work)
    )


def chunk_path(out_dir: Path, index: int) -> Path:
    return Path(out_dir) / "chunks" / f"chunk-{index:05d}.parquet"


def _claim_folder(plan: Plan, out_dir: Path, on_note: Callable[[str], None] | None = None) -> bool:
    """Record what this folder holds; refuse to mix chunks of a different sweep into it.

    Returns True when this call created the record (a new sweep folder). A damaged record is
    rewritten: the chunks' own fingerprints say which of them can still be used.
    """
    identity = {**plan.record(), "shard": list(plan.shard) if plan.shard else None}
    path = Path(out_dir) / "sweep.json"
    try:
        (Path(out_dir) / "chunks").mkdir(parents=True, exist_ok=True)
        created = not path.exists()
        if not created:
            try:
                existing = read_identity(out_dir)
            except DataError:
                existing = None
                if on_note is not None:
                    on_note(f"{path} was damaged: rewritten (chunks are checked one by one)")
            if existing is not None:
                same = {k: v for k, v in existing.items() if k != "fingerprint"} == identity
                if not same:
                    raise ConfigError(
                        f"{out_dir} holds a different sweep (spec, base config, grid or shard "
                        "changed)",
                        "pass another --out, or delete that folder to start over",
                    )
                if existing.get("fingerprint") == plan.fingerprint:
                    return False
        record = {**identity, "fingerprint": plan.fingerprint}
        _write_text_atomically(path, json.dumps(record, indent=1, sort_keys=True))
        return created
    except OSError as exc:
        raise from_os_error(exc) from exc


def _unclaim_folder(out_dir: Path) -> None:
    """Undo a claim that produced nothing: sweep.json, then the folders if left empty."""
    out_dir = Path(out_dir)
    (out_dir / "sweep.json").unlink(missing_ok=True)
    for folder in (out_dir / "chunks", out_dir):
        try:
            folder.rmdir()
        except OSError:
            return


def read_identity(folder: Path) -> dict[str, Any]:
    """A sweep folder's sweep.json, or one DataError line if it is missing or damaged.
    A record that lists every set id (written before the digest) reads as its digest."""
    path = Path(folder) / "sweep.json"
    if not path.is_file():
        raise DataError(
            f"{folder} is not a sweep folder (no sweep.json)",
            "pass the --out folder of `playbook sweep`",
        )
    try:
        identity = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError):
        identity = None
    keys = ("spec", "base", "sets", "chunk_size")
    valid = isinstance(identity, dict) and all(k in identity for k in keys)
    if valid and isinstance(identity.get("set_ids"), list):  # written before the digest
        identity["set_ids_sha256"] = set_ids_digest(identity.pop("set_ids"))
    valid = valid and isinstance(identity.get("set_ids_sha256"), str)
    if (
        not valid
        or not isinstance(identity["sets"], int)
        or not isinstance(identity["chunk_size"], int)
        or identity["chunk_size"] < 1
    ):
        raise DataError(
            f"{path} is damaged (not the record `playbook sweep` writes)",
            "rerun the sweep into this folder (it rewrites the record) or delete the folder",
        )
    return identity


def merge_chunks(sources: Sequence[Path], out_dir: Path) -> Plan | None:
    """Gather the chunk files of several shard folders of one sweep into `out_dir`.

    Refuses shards of different sweeps, and shards or chunks computed on different inputs
    (data snapshot, playbook version): their numbers cannot share one table.
    """
    identities = [read_identity(folder) for folder in sources]
    first = {k: v for k, v in identities[0].items() if k not in ("shard", "fingerprint")}
    fingerprint = str(identities[0].get("fingerprint") or "")
    for folder, identity in zip(sources, identities, strict=True):
        if {k: v for k, v in identity.items() if k not in ("shard", "fingerprint")} != first:
            raise ConfigError(
                f"{folder} is a shard of a different sweep than {sources[0]}",
                "merge only shards of the same sweep file and data",
            )
        if identity.get("fingerprint") != fingerprint or not fingerprint:
            raise ConfigError(
                f"{folder} was computed on other inputs than {sources[0]} (another data "
                "snapshot or playbook version)",
                "rerun every shard on the same data and playbook, then merge",
            )
    count = -(-first["sets"] // first["chunk_size"])
    (Path(out_dir) / "chunks").mkdir(parents=True, exist_ok=True)
    found = set()
    for folder in sources:
        for index in range(count):
            source = chunk_path(folder, index)
            if source.exists() and index not in found:
                if chunk_fingerprint(source) != fingerprint:
                    raise DataError(
                        f"{source} is damaged or was computed on other inputs than its shard",
                        f"rerun the sweep into {folder} (it recomputes that chunk), then merge",
                    )
                found.add(index)
                target = chunk_path(out_dir, index)
                if Path(source).resolve() != target.resolve():
                    table = _marked(_read_chunk(source), fingerprint)
                    table.attrs[NOTES_KEY] = chunk_notes(source)
                    _write_atomically(table, target)
    missing = sorted(set(range(count)) - found)
    if missing:
        raise DataError(
            f"chunks {missing[:10]} of {count} are missing from the shards",
            "run the missing shards (or rerun them: finished chunks are skipped)",
        )
    record = {**first, "shard": None, "fingerprint": fingerprint}
    _write_text_atomically(
        Path(out_dir) / "sweep.json", json.dumps(record, indent=1, sort_keys=True)
    )
    return None


def read_chunks(out_dir: Path) -> pd.DataFrame:
    identity = read_identity(out_dir)
    count = -(-identity["sets"] // identity["chunk_size"])
    missing = [i for i in range(count) if not chunk_path(out_dir, i).exists()]
    if missing:
        raise DataError(
            f"{out_dir}: chunks {missing[:10]} are not done",
            "run the sweep again (it resumes) or merge the other shards",
        )
    return pd.concat([_read_chunk(chunk_path(out_dir, i)) for i in range(count)], ignore_index=True)


def _read_chunk(path: Path) -> pd.DataFrame:
    return read_chunk_columns(path, None)


def read_chunk_columns(path: Path, columns: list[str] | None) -> pd.DataFrame:
    """A chunk file's table, only `columns` of it when given (read from the file alone:
    a sweep's outputs need a few columns of a million sets, never all of them at once)."""
    return _read_or_damaged(path, lambda: pd.read_parquet(path, columns=columns))


def read_chunk_arrays(path: Path, columns: list[str]) -> list[np.ndarray]:
    """`columns` of a chunk file as float arrays, straight from arrow (the block moments:
    pandas' frame around them cost more than reading them)."""
    import pyarrow.parquet as pq

    table = _read_or_damaged(path, lambda: pq.read_table(path, columns=columns))
    return [table.column(name).to_numpy().astype(float, copy=False) for name in columns]


def _read_or_damaged(path: Path, read: Callable[[], Any]) -> Any:
    """`read()` of a chunk file, or one DataError line if the file is damaged."""
    import pyarrow as pa

    try:
        return read()
    except (OSError, ValueError, pa.ArrowException) as exc:
        if isinstance(exc, PermissionError):
            raise
        raise DataError(
            f"{path} is damaged ({type(exc).__name__})",
            "rerun the sweep into its folder: it recomputes damaged chunks",
        ) from None


def _marked(table: pd.DataFrame, fingerprint: str) -> pd.DataFrame:
    """The chunk table carrying the fingerprint of its inputs (written into the file)."""
    table.attrs[FINGERPRINT_KEY.decode()] = fingerprint
    return table


def _write_atomically(table: pd.DataFrame, path: Path) -> None:
    """Write a chunk, marked with its inputs' fingerprint if it carries one and with its notes,
    whole or not at all."""
    import pyarrow.parquet as pq

    fingerprint = str(table.attrs.get(FINGERPRINT_KEY.decode(), ""))
    notes = json.dumps(list(table.attrs.get(NOTES_KEY, [])))
    try:
        arrow = _arrow(table)
        metadata = {
            **(arrow.schema.metadata or {}),
            FINGERPRINT_KEY: fingerprint.encode(),
            NOTES_META: notes.encode(),
        }
        marked = arrow.replace_schema_metadata(metadata)
        write_file_atomically(path, lambda tmp: pq.write_table(marked, tmp))
    except OSError as exc:
        then = "then run the sweep again: finished chunks are kept"
        raise output_error(exc, f"cannot write {path}", then) from exc


def _arrow(table: pd.DataFrame) -> Any:
    """The table as arrow: numeric columns from their numpy arrays (a third of pandas'
    conversion, which a small chunk pays per column), the rest as pandas converts them."""
    import pyarrow as pa

    columns = {}
    for name in table.columns:
        column = table[name]
        if column.dtype.kind in "biuf" and isinstance(column.dtype, np.dtype):
            columns[name] = pa.array(column.to_numpy())
        else:
            columns[name] = pa.array(column, from_pandas=True)
    return pa.table(columns)


def _write_text_atomically(path: Path, text: str) -> None:
    write_file_atomically(path, lambda tmp: tmp.write_text(text + "\n"))
