"""Where the programs are judged: on this machine (threads) or on a Dask cluster.

Both cut the same index space and fold into the same `Aggregate`, whose merge is exact
and order-free, so every backend, thread count and shard size gives the same record.
Dask is optional (`pip install 'levinsearch[dask]'`) and imported only when asked for.
"""
from __future__ import annotations

import logging
import re
import time
import warnings
from typing import Any, Callable

import numba

from dsl.errors import DslError
from levinsearch import pipeline
from levinsearch.aggregate import Aggregate
from levinsearch.domains.base import Prepared
from levinsearch.fit import Progress, Tally, level_of

BACKENDS = ("local", "dask")
MAX_DASK_WORKERS = 256  # worker processes of a local cluster
MAX_SHARDS = 100_000


def set_threads(workers: int | None) -> None:
    """Use `workers` threads in the compiled kernels (default: every core)."""
    limit = numba.config.NUMBA_NUM_THREADS
    if workers is None:
        numba.set_num_threads(limit)
        return
    if not 1 <= workers <= limit:
        raise DslError(f"--workers must be between 1 and {limit} on this machine, got {workers}")
    numba.set_num_threads(workers)


def validate(backend: str, workers: int | None, scheduler: str | None, shards: int | None) -> None:
    """Reject impossible settings before any work starts."""
    if backend == "local":
        if workers is not None and not 1 <= workers <= numba.config.NUMBA_NUM_THREADS:
            raise DslError(f"--workers must be between 1 and {numba.config.NUMBA_NUM_THREADS} on this machine, "
                           f"got {workers}")
        if scheduler or shards:
            raise DslError("--scheduler and --shards need --backend dask")
        return
    if workers is not None and not 1 <= workers <= MAX_DASK_WORKERS:
        raise DslError(f"--workers must be between 1 and {MAX_DASK_WORKERS} for a local cluster, got {workers}")
    if shards is not None and not 1 <= shards <= MAX_SHARDS:
        raise DslError(f"--shards must be between 1 and {MAX_SHARDS:,}, got {shards}")
    if scheduler is not None and not re.fullmatch(r"(tcp|tls|inproc|ucx|ws|wss)://[^\s/]+(:\d{1,5})?/?", scheduler):
        raise DslError(f"--scheduler takes an address like tcp://HOST:8786, got {scheduler!r}")
    if scheduler and workers:
        raise DslError("--workers starts a local cluster; with --scheduler the cluster's own workers are used")
    _import_dask()


def search(prep: Prepared, *, backend: str = "local", workers: int | None = None,
           scheduler: str | None = None, shards: int | None = None, agg: Aggregate | None = None,
           start: int = 0, progress: Progress | None = None, should_stop: Callable[[], bool] | None = None,
           after_batch: Callable[[Aggregate, int], None] | None = None) -> tuple[Aggregate, int]:
    """Judge programs from `start` on; return the summary and the first index not judged."""
    if backend == "local":
        set_threads(workers)
        return pipeline.search(prep, agg=agg, start=start, progress=progress, should_stop=should_stop,
                               after_batch=after_batch)
    if backend == "dask":
        return _search_dask(prep, workers=workers, scheduler=scheduler, shards=shards, agg=agg, start=start,
                            progress=progress, should_stop=should_stop, after_batch=after_batch)
    raise DslError(f"unknown backend {backend!r} (known: {', '.join(BACKENDS)})")


def shard_ranges(start: int, total: int, shards: int) -> list[tuple[int, int]]:
    """Cut [start, total) into at most `shards` contiguous, nearly equal ranges."""
    n = total - start
    if n <= 0:
        return []
    shards = max(1, min(shards, n))
    bounds = [start + (n * k) // shards for k in range(shards + 1)]
    return [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]


def judge_shard(config: dict[str, Any], start: int, stop: int, threads: int = 1) -> Aggregate:
    """Judge programs start..stop-1 of the experiment `config` (runs on a Dask worker)."""
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    agg, _ = pipeline.search(pipeline.prepare(config), start=start, stop=stop)
    return agg


def _import_dask():
    try:
        import distributed
    except ImportError:
        raise DslError("the dask backend needs Dask: pip install 'levinsearch[dask]' "
                       "(or pip install dask distributed)") from None
    return distributed


def run_shards(task: Callable, args: tuple, start: int, total: int, *, workers: int | None,
               scheduler: str | None, shards: int | None, fold: Callable[[Any, int], None],
               progress: Callable[[], None] | None = None, should_stop: Callable[[], bool] | None = None,
               min_shards: int = 0) -> int:
    """Run task(*args, a, b) for contiguous ranges [a, b) of start..total on a Dask
    cluster (a local one of `workers` processes, default 2, unless `scheduler` is
    given). Results are folded in index order, fold(result, b), so that what is folded
    always covers a prefix (what a checkpoint needs); `progress()` after each result; a
    true `should_stop()` cancels the rest. Returns the first index not folded."""
    distributed = _import_dask()
    if should_stop is not None:
        should_stop()  # this process compiles nothing: a signal from now on stops at the next shard
    if scheduler:
        try:
            client = distributed.Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            raise DslError(f"cannot reach the Dask scheduler at {scheduler!r}: {type(exc).__name__}: {exc}") from None
        cluster = None
    else:
        # Worker processes are spawned, never forked: Numba's OpenMP layer is not fork-safe.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "port 8787 in use": we serve no dashboard
            cluster = distributed.LocalCluster(n_workers=workers or 2, threads_per_worker=1, processes=True,
                                               dashboard_address=None, silence_logs=logging.ERROR)
        client = distributed.Client(cluster)
    try:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})) or (workers or 2))
        ranges = shard_ranges(start, total, shards or max(4 * n_workers, min_shards))
        futures = [client.submit(task, *args, a, b, pure=False) for a, b in ranges]
        index = {f.key: k for k, f in enumerate(futures)}
        results: dict[int, Any] = {}
        position = start
        next_shard = 0
        for future in distributed.as_completed(futures):
            try:
                results[index[future.key]] = future.result()
            except DslError:
                raise
            except Exception as exc:  # a worker's failure, re-raised here by Dask
                raise DslError(f"a Dask worker failed: {type(exc).__name__}: {exc}") from None
            while next_shard in results:
                position = ranges[next_shard][1]
                fold(results.pop(next_shard), position)
                next_shard += 1
            if progress:
                progress()
            if should_stop and should_stop():
                for f in futures:
                    f.cancel()
                break
        return position
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _search_dask(prep, *, workers, scheduler, shards, agg, start, progress, should_stop, after_batch):
    agg = agg if agg is not None else prep.new_aggregate()
    total = prep.enumerator.total
    started = time.perf_counter()

    def fold(shard: Aggregate, end: int) -> None:
        agg.merge(shard)
        if after_batch:
            after_batch(agg, end)

    def report() -> None:
        if progress:
            level_bits, level_done, level_total = level_of(prep.enumerator, agg)
            progress(Tally(agg.programs, total, level_bits, level_done, level_total, agg.fitting,
                           agg.behaviours, time.perf_counter() - started))

    position = run_shards(judge_shard, (prep.config,), start, total, workers=workers, scheduler=scheduler,
                          shards=shards, fold=fold, progress=report, should_stop=should_stop)
    return agg, position
