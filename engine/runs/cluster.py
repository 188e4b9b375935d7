"""Chunks of work on a dask.distributed cluster: a scheduler's, or a LocalCluster of this machine.

A sweep's chunks of parameter sets and a scenario's chunks of paths go out the same way: a
function and plain data per chunk, a few chunks in flight ahead of the results (2 per
worker), each result released on the cluster once it is here and the next chunk sent then,
so neither the cluster nor this process ever holds the whole run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from engine.errors import ConfigError

Key = TypeVar("Key")

MIN_IN_FLIGHT = 4  # chunks sent to a cluster ahead of the results (2 per worker)

EXECUTORS = ("local", "dask")


def check_executor(executor: str, scheduler: str | None) -> None:
    """One line for an executor that is not known, or a scheduler it would not use."""
    if executor not in EXECUTORS:
        raise ConfigError(f"unknown executor {executor!r}", "use local or dask")
    if scheduler and executor != "dask":
        raise ConfigError(
            f"--scheduler {scheduler} is for --executor dask (the executor is {executor})",
            "add --executor dask, or drop --scheduler to run here",
        )


def run_on_cluster(
    scheduler: str | None,
    func: Callable[..., Any],
    work: Iterable[tuple[Key, tuple[Any, ...]]],
) -> Iterator[tuple[Key, Any]]:
    """`func(*args)` for each `(key, args)` of `work` on the cluster, yielded as
    `(key, result)` in the order they finish (not the order of `work`)."""
    try:
        from dask.distributed import as_completed
    except ImportError as exc:
        raise ConfigError(
            "dask.distributed is not installed", "pip install 'dask[distributed]'"
        ) from exc
    with dask_client(scheduler) as client:
        workers = len(client.scheduler_info().get("workers", {}))
        in_flight = max(MIN_IN_FLIGHT, 2 * workers)
        pending = iter(work)
        futures: dict[Any, Key] = {}
        done = as_completed()

        def submit() -> None:
            item = next(pending, None)
            if item is not None:
                future = client.submit(func, *item[1], pure=False)
                futures[future] = item[0]
                done.add(future)

        for _ in range(in_flight):
            submit()
        for future in done:
            # a chunk's result leaves the cluster once it is here, and the next chunk goes
            # out then: the cluster holds a few chunks at any time, never the whole run
            key, result = futures.pop(future), future.result()
            future.release()
            submit()
            yield key, result


@contextlib.contextmanager
def dask_client(scheduler: str | None) -> Iterator[Any]:
    """A client of the scheduler at `scheduler`, or of a LocalCluster on this machine (a
    worker process per core, one thread each) when none is given; closed afterwards."""
    from dask.distributed import Client, LocalCluster

    with contextlib.ExitStack() as stack:
        if not scheduler:
            cluster = stack.enter_context(
                LocalCluster(  # the scheduler's HTTP port free-picked: two runs never clash
                    threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0"
                )
            )
            scheduler = cluster.scheduler_address
        try:
            client = stack.enter_context(Client(scheduler, timeout=10))
        except (OSError, TimeoutError) as exc:
            raise ConfigError(
                f"cannot reach the dask scheduler at {scheduler}",
                "start one (dask scheduler) or check the address",
            ) from exc
        yield client
