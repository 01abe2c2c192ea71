"""Where the programs are judged: threads, worker processes, or a Dask cluster.

- `local`: one process; the compiled kernels use `workers` threads. The Python work of
  each batch (grouping behaviours, exact masses) stays on one thread.
- `processes`: `workers` spawned processes on this machine, one kernel thread each,
  each judging whole shards of the index space (its Python work too); the parent folds
  the shards' summaries in index order. Near-linear in the cores, after a start-up of
  a second or two per worker (loading the compiled kernels).
- `dask`: the same shards on a Dask cluster (`pip install 'levinsearch[dask]'`).

All cut the same index space and fold into the same `Aggregate`, whose merge is exact
and order-free, so every backend, worker count and shard size gives the same record.
"""
from __future__ import annotations

import importlib.util
import json
import logging
import math
import multiprocessing
import os
import re
import signal
import time
import warnings
from concurrent import futures as cf
from pathlib import Path
from typing import Any, Callable

import numba

from dsl.errors import DslError
from levinsearch import pipeline, tail
from levinsearch.aggregate import Aggregate
from levinsearch.fit import COMPILE_CLOCK, Progress, Tally, level_of
from levinsearch.types import Config

BACKENDS = ("local", "processes", "dask")
MAX_DASK_WORKERS = 256  # worker processes of a local cluster
MAX_PROCESSES = 1024
MAX_SHARDS = 100_000
#: Programs per shard of the processes backend (at least 4 shards per worker): about 10 s
#: of one core on red-door, so the parent's merging (one pass over a shard's behaviours)
#: stays a small part of the work. A stop does not wait for running shards (their work
#: is lost; what was folded is kept).
SHARD_PROGRAMS = 1 << 23
#: Tail samples per shard: each costs its draws and a judgement with no early rejection.
SHARD_SAMPLES = 1 << 20
#: Seconds between looks at the running shards (and at a stop request).
POLL_SECONDS = 0.05


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
            raise DslError("--scheduler and --shards need --backend dask or processes")
        return
    if shards is not None and not 1 <= shards <= MAX_SHARDS:
        raise DslError(f"--shards must be between 1 and {MAX_SHARDS:,}, got {shards}")
    if backend == "processes":
        if workers is not None and not 1 <= workers <= MAX_PROCESSES:
            raise DslError(f"--workers must be between 1 and {MAX_PROCESSES} worker processes, got {workers}")
        if scheduler:
            raise DslError("--scheduler needs --backend dask")
        return
    if workers is not None and not 1 <= workers <= MAX_DASK_WORKERS:
        raise DslError(f"--workers must be between 1 and {MAX_DASK_WORKERS} for a local cluster, got {workers}")
    if scheduler is not None and not re.fullmatch(r"(tcp|tls|inproc|ucx|ws|wss)://[^\s/]+(:\d{1,5})?/?", scheduler):
        raise DslError(f"--scheduler takes an address like tcp://HOST:8786, got {scheduler!r}")
    if scheduler and workers:
        raise DslError("--workers starts a local cluster; with --scheduler the cluster's own workers are used")
    _import_dask()


def search(prep: pipeline.Prepared, *, backend: str = "local", workers: int | None = None,
           scheduler: str | None = None, shards: int | None = None, agg: Aggregate | None = None,
           start: int = 0, progress: Progress | None = None, should_stop: Callable[[], bool] | None = None,
           after_batch: Callable[[Aggregate, int], None] | None = None) -> tuple[Aggregate, int]:
    """Judge programs from `start` on; return the summary and the first index not judged."""
    if backend == "local":
        set_threads(workers)
        return pipeline.search(prep, agg=agg, start=start, progress=progress, should_stop=should_stop,
                               after_batch=after_batch)
    if backend in ("dask", "processes"):
        return _search_sharded(prep, backend=backend, workers=workers, scheduler=scheduler, shards=shards, agg=agg,
                               start=start, progress=progress, should_stop=should_stop, after_batch=after_batch)
    raise DslError(f"unknown backend {backend!r} (known: {', '.join(BACKENDS)})")


def shard_ranges(start: int, total: int, shards: int) -> list[tuple[int, int]]:
    """Cut [start, total) into at most `shards` contiguous, nearly equal ranges."""
    n = total - start
    if n <= 0:
        return []
    shards = max(1, min(shards, n))
    bounds = [start + (n * k) // shards for k in range(shards + 1)]
    return [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]


#: The experiment a worker process prepared last, by its config (a worker judges many
#: shards of one run; preparing builds environments and tables once).
_PREPARED: dict[str, pipeline.Prepared] = {}


def prepared(config: Config) -> pipeline.Prepared:
    """`pipeline.prepare(config)`, kept for the next shard of the same experiment."""
    key = json.dumps(config, sort_keys=True, default=str)
    if key not in _PREPARED:
        _PREPARED.clear()
        _PREPARED[key] = pipeline.prepare(config)
    return _PREPARED[key]


def judge_shard(config: Config, start: int, stop: int, threads: int = 1) -> Aggregate:
    """Judge programs start..stop-1 of the experiment `config` (runs in a worker). In a
    worker process of the processes backend the shard stops at its next batch once the
    parent has asked the workers to stop (its summary is then partial, and not folded)."""
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    agg, _ = pipeline.search(prepared(config), start=start, stop=stop, should_stop=stopping if _STOP else None)
    return agg


#: In a worker process: the event by which the parent asks the running shards to stop.
_STOP = None


def stopping() -> bool:
    """In a worker process of the processes backend: whether the parent has asked the
    running shards to stop (a shard then ends at its next batch; its partial result is
    not folded). Elsewhere always False."""
    return _STOP is not None and _STOP.is_set()


def _worker_start(stop=None) -> None:
    # Ctrl-C, or SIGTERM sent to the whole process group, reaches the workers too: the
    # parent decides what stops, and then sets `stop`; a running shard ends at its next
    # batch, so no worker dies holding unfolded work.
    global _STOP
    _STOP = stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    numba.set_num_threads(1)


def kernels_cached(domain, with_tail: bool = False) -> bool:
    """Whether the compiled kernels of `domain` (the run's domain object, e.g.
    `prep.domain`; and `with_tail`, the sampler's) are in Numba's cache (next to the
    source, or under NUMBA_CACHE_DIR), so the first batch will not pause to compile."""
    for module in domain.kernel_modules + (("dsl.sampling",) if with_tail else ()):
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            continue
        source = Path(spec.origin)
        # Numba caches under NUMBA_CACHE_DIR when it is set, else next to the source.
        place = Path(os.environ["NUMBA_CACHE_DIR"]) if os.environ.get("NUMBA_CACHE_DIR") else \
            source.parent / "__pycache__"
        if not (place.is_dir() and any(place.rglob(f"{source.stem}.*.nbi"))):
            return False
    return True


def default_processes() -> int:
    """Worker processes when --workers is not given: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class _Pool:
    """The processes backend's executor: spawned workers (Numba's threading layers are
    not fork-safe), each ignoring Ctrl-C and using one kernel thread."""

    def __init__(self, workers: int):
        self.workers = workers
        context = multiprocessing.get_context("spawn")
        self.stop = context.Event()
        self.executor = cf.ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_worker_start,
                                               initargs=(self.stop,))

    def submit(self, task, *args):
        return self.executor.submit(task, *args)

    @staticmethod
    def key(future):
        return id(future)

    @staticmethod
    def cancel(fs) -> None:
        """Nothing: `close` stops the running shards and cancels the pending ones."""

    def close(self, finished: bool) -> None:
        if finished:
            self.executor.shutdown(wait=True)
            return
        # Stopped early: the running shards end at their next batch (nobody reads what
        # they return) and the pending ones are cancelled. Workers are not terminated: a
        # worker killed while it writes its result leaves a half message in the result
        # pipe, and the executor's thread then waits for the rest for ever (the process
        # never exits). Nor are they waited for here: the checkpoint of the folded work
        # is written at once, and the process waits for the workers as it exits
        # (concurrent.futures joins its pools then).
        self.stop.set()
        self.executor.shutdown(wait=False, cancel_futures=True)


def _import_dask():
    try:
        import distributed
    except ImportError:
        raise DslError("the dask backend needs Dask: pip install 'levinsearch[dask]' "
                       "(or pip install dask distributed)") from None
    return distributed


class _Dask:
    """The dask backend's executor: a client of `scheduler`, or of a local cluster of
    `workers` processes (default 2)."""

    def __init__(self, workers: int | None, scheduler: str | None):
        self.distributed = distributed = _import_dask()
        self.cluster = None
        if scheduler:
            try:
                self.client = distributed.Client(scheduler, timeout="10s")
            except (OSError, TimeoutError, ValueError, TypeError) as exc:
                raise DslError(f"cannot reach the Dask scheduler at {scheduler!r}: {type(exc).__name__}: {exc}") from None
        else:
            # Worker processes are spawned, never forked: Numba's OpenMP layer is not fork-safe.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # "port 8787 in use": we serve no dashboard
                self.cluster = distributed.LocalCluster(n_workers=workers or 2, threads_per_worker=1, processes=True,
                                                        dashboard_address=None, silence_logs=logging.ERROR)
            self.client = distributed.Client(self.cluster)
        self.workers = max(1, len(self.client.scheduler_info().get("workers", {})) or (workers or 2))

    def submit(self, task, *args):
        return self.client.submit(task, *args, pure=False)

    @staticmethod
    def key(future):
        return future.key

    @staticmethod
    def cancel(fs) -> None:
        for f in fs:
            f.cancel()

    def close(self, finished: bool) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def run_shards(task: Callable, args: tuple, start: int, total: int, *, workers: int | None,
               scheduler: str | None, shards: int | None, fold: Callable[[Any, int], None],
               progress: Callable[[], None] | None = None, should_stop: Callable[[], bool] | None = None,
               min_shards: int = 0, backend: str = "dask") -> int:
    """Run task(*args, a, b) for contiguous ranges [a, b) of start..total on worker
    processes (`processes`: `workers` of them, default one per core) or a Dask cluster
    (`dask`: a local one of `workers` processes, default 2, unless `scheduler` is
    given). Results are folded in index order, fold(result, b), so that what is folded
    always covers a prefix (what a checkpoint needs); `progress()` after each result; a
    true `should_stop()` cancels the rest. Returns the first index not folded."""
    if should_stop is not None:
        should_stop()  # this process compiles nothing: a signal from now on stops at the next shard
    pool = _Pool(workers or default_processes()) if backend == "processes" else _Dask(workers, scheduler)
    finished = False
    try:
        ranges = shard_ranges(start, total, shards or max(4 * pool.workers, min_shards))
        futures = [pool.submit(task, *args, a, b) for a, b in ranges]
        index = {pool.key(f): k for k, f in enumerate(futures)}
        results: dict[int, Any] = {}
        position = start
        next_shard = 0
        pending = list(futures)
        while pending:
            # Polled, not waited on: a shard runs for seconds, and a stop must not wait
            # for the next one to finish.
            done = [f for f in pending if f.done()]
            if not done:
                if should_stop and should_stop():
                    pool.cancel(futures)
                    break
                time.sleep(POLL_SECONDS)
                continue
            finished_now = {id(f) for f in done}
            pending = [f for f in pending if id(f) not in finished_now]
            try:
                for future in done:
                    results[index[pool.key(future)]] = future.result()
            except DslError:
                raise
            except cf.process.BrokenProcessPool:
                if should_stop is not None and should_stop():
                    break  # stopped by a signal that also reached the workers: what was folded is kept
                raise DslError("a worker process died (out of memory?); what was folded is kept") from None
            except Exception as exc:  # a worker's failure, re-raised here
                raise DslError(f"a {backend} worker failed: {type(exc).__name__}: {exc}") from None
            while next_shard in results:
                position = ranges[next_shard][1]
                fold(results.pop(next_shard), position)
                next_shard += 1
            if progress:
                progress()
            if should_stop and should_stop():
                pool.cancel(futures)
                break
        finished = next_shard == len(ranges)
        return position
    finally:
        pool.close(finished)


def _search_sharded(prep, *, backend, workers, scheduler, shards, agg, start, progress, should_stop, after_batch):
    agg = agg if agg is not None else prep.new_aggregate()
    n_enum, total = prep.enumerator.total, prep.total
    if backend == "processes" and not kernels_cached(prep.domain, with_tail=prep.tail is not None):
        # Compile here, once, before the workers start: otherwise each worker compiles the
        # same kernels and writes the same cache files at the same time. The compiling is
        # the run's (enumeration.compile_seconds); the throwaway judging is not.
        compiled = COMPILE_CLOCK.seconds()
        pipeline.search(prep, agg=prep.new_aggregate(), start=start, stop=min(n_enum, start + 4096))
        if total > n_enum:
            pipeline.search(prep, agg=prep.new_aggregate(), start=n_enum, stop=min(total, n_enum + 64))
        agg.compile_seconds += COMPILE_CLOCK.seconds() - compiled
    started = time.perf_counter()

    def fold(shard: Aggregate, end: int) -> None:
        agg.merge(shard)
        if after_batch:
            after_batch(agg, end)

    def report() -> None:
        if not progress:
            return
        if agg.judged >= n_enum and total > n_enum:
            progress(tail.tally(prep, agg, time.perf_counter() - started))
            return
        level_bits, level_done, level_total = level_of(prep.enumerator, agg)
        progress(Tally(agg.judged, total, level_bits, level_done, level_total, agg.fitting,
                       agg.behaviours, time.perf_counter() - started))

    # Shards of about SHARD_PROGRAMS programs or SHARD_SAMPLES tail samples each (at
    # least 4 per worker) keep stops prompt.
    min_shards = 0
    if backend == "processes":
        min_shards = math.ceil(max(0, n_enum - start) / SHARD_PROGRAMS) + \
            math.ceil((total - max(start, n_enum)) / SHARD_SAMPLES)
    position = run_shards(judge_shard, (prep.config,), start, total, workers=workers, scheduler=scheduler,
                          shards=shards, fold=fold, progress=report, should_stop=should_stop, min_shards=min_shards,
                          backend=backend)
    return agg, position
