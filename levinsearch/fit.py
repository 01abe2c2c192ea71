"""Run enumerated programs on the training environments and keep what fits.

Domain-blind: a `Judge` supplies three array functions (fit, behaviour rows, search
flags); this module streams batches from the enumerator through them into an
`Aggregate`. Work is done in index ranges [start, stop), so a run can stop at a batch
boundary and resume, or be cut into shards for a cluster, with identical results.
"""
from __future__ import annotations

import math
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

import numba.core.event
import numpy as np

from dsl.grammar import MBITS_PER_BIT
from levinsearch.aggregate import Aggregate, BehaviourFn, Programs, ScoreRule
from levinsearch.enumerate import Enumerator
from levinsearch.config import DEFAULT_BATCH_SIZE
from levinsearch.score import levin_steps_spent

#: fit(ops, sizes, step_caps) -> (fits bool [n], successes int [n], verdict_steps int64 [n])
FitFn = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]
NO_CAP = np.int64(1) << 62


class CompileClock(numba.core.event.Listener):
    """Seconds this process has spent in Numba's compiler: compiling kernels on first use,
    or loading them from its cache. Numba's "numba:compiler_lock" events cover both; a
    nested or concurrent hold counts once, as wall time."""

    def __init__(self):
        self._lock = threading.Lock()
        self._depth = 0
        self._since = 0.0
        self._total = 0.0

    def on_start(self, event) -> None:
        with self._lock:
            if self._depth == 0:
                self._since = time.perf_counter()
            self._depth += 1

    def on_end(self, event) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth == 0:
                self._total += time.perf_counter() - self._since

    def seconds(self) -> float:
        """The total so far (a hold in progress counts up to now)."""
        with self._lock:
            return self._total + (time.perf_counter() - self._since if self._depth else 0.0)


#: The process's compile clock: judge_range takes its time out of the batches' seconds,
#: so that enumeration seconds and programs/s measure judging alone.
COMPILE_CLOCK = CompileClock()
numba.core.event.register("numba:compiler_lock", COMPILE_CLOCK)


@dataclass
class Judge:
    """The three things the search needs from a domain, as array functions."""

    fit: FitFn
    behaviour: BehaviourFn  # rows identical iff behaviour identical on the analysed environments
    structure: Callable[[np.ndarray], np.ndarray]  # ops [n, w] -> int flags [n] (bit 0: search)
    flags: tuple[str, ...] = ("search",)  # names of the structural flag bits
    trials: int = 0  # training episodes or terms a program is judged on (its successes count them)
    #: The simulated steps t(p) the score reads, for fitting programs (ops, sizes, their
    #: verdict steps, their step caps) -> int64 [n]; None: the verdict steps (the steps on
    #: the training instances). A domain with a smoothed or worst-case time measure sets it.
    time_steps: Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = None


@dataclass
class Tally:
    """Progress of a run, passed to the progress callback after every batch."""

    done: int  # programs judged (all levels)
    total: int
    level_bits: float  # the length being enumerated
    level_done: int
    level_total: int
    fitting: int
    behaviours: int
    seconds: float
    phase: str = "enumeration"  # or "tail": level_done / level_total count tail samples


Progress = Callable[[Tally], None]


class StopFlag:
    """Set by Ctrl-C or SIGTERM (or by a caller); the search stops at the next batch
    boundary. `started` turns true once a batch has finished (the kernels compiled)."""

    def __init__(self, on_abort: Callable[[str], None] | None = None):
        self.requested = False
        self.started = False
        self.signal_name: str | None = None
        self.requested_at: float | None = None  # time.monotonic() of the first signal
        self.on_abort = on_abort  # called (with the signal's name) before the process stops at once

    def __call__(self) -> bool:
        self.started = True
        return self.requested


@contextmanager
def stop_on_interrupt(flag: StopFlag) -> Iterator[StopFlag]:
    """While active, the first Ctrl-C (or SIGTERM) sets `flag`, and the search stops at
    the next batch boundary; at a second signal it interrupts at once (KeyboardInterrupt).
    Before the first batch has finished, while the kernels compile, nothing has been
    judged and the compiler would swallow an exception: the process stops at once
    (`flag.on_abort` first, then exit status 130)."""
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum, frame):
        flag.signal_name = signal.Signals(signum).name
        if not flag.started:
            if flag.on_abort is not None:
                flag.on_abort(flag.signal_name)
            sys.stderr.write("interrupted\n")
            sys.stderr.flush()
            os._exit(130)
        if flag.requested:
            raise KeyboardInterrupt
        flag.requested = True
        flag.requested_at = time.monotonic()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield flag
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def levin_budget(max_mbits: int, mbits: int) -> int:
    """The simulated steps Levin search's last phase (max_mbits) gives a program of
    `mbits`: floor(2^(max_bits - bits))."""
    return math.floor(2.0 ** ((max_mbits - mbits) / MBITS_PER_BIT))


def step_caps(order: str, enumerator: Enumerator, mbits: int, n: int) -> np.ndarray:
    """Per-program budget of simulated steps: Levin's last phase, or none."""
    if order == "levin":
        return np.full(n, levin_budget(enumerator.max_mbits, mbits), dtype=np.int64)
    return np.full(n, NO_CAP, dtype=np.int64)


#: Batches grow from FIRST_BATCH programs up to the batch size while a batch takes less
#: than BATCH_SECONDS / 4, and shrink when one takes more than BATCH_SECONDS, so that a
#: stop request is honoured within about BATCH_SECONDS whatever the programs cost.
FIRST_BATCH = 256
BATCH_SECONDS = 0.5


def judge_range(enumerator: Enumerator, judge: Judge, rule: ScoreRule, agg: Aggregate, *,
                order: str = "length", batch_size: int = DEFAULT_BATCH_SIZE, start: int = 0, stop: int | None = None,
                progress: Progress | None = None, should_stop: Callable[[], bool] | None = None,
                after_batch: Callable[[int], None] | None = None) -> int:
    """Judge programs start..stop-1 into `agg`; return the index of the first one not
    judged (== stop when finished; less when `should_stop` said so at a batch boundary).

    Batches are sized by wall time (at most `batch_size` programs, never crossing a
    length); the summary does not depend on where they are cut."""
    stop = enumerator.total if stop is None else min(stop, enumerator.total)
    max_bits = enumerator.max_mbits / MBITS_PER_BIT
    level_total = {mbits: count for _, mbits, count in enumerator.levels}
    started = time.perf_counter()
    position = start
    size = min(batch_size, FIRST_BATCH)
    while position < stop:
        batch = enumerator.batch(position, size, stop)
        t0, compiled0 = time.perf_counter(), COMPILE_CLOCK.seconds()
        n = len(batch)
        caps = step_caps(order, enumerator, batch.mbits, n)
        fits, successes, verdict = judge.fit(batch.ops, batch.sizes, caps)
        if order == "levin":
            agg.levin_steps += levin_steps_spent(batch.mbits, verdict, int(max_bits))
            agg.uncertified += int(np.count_nonzero(verdict > caps))
        idx = np.flatnonzero(fits)
        if len(idx):
            found = Programs(batch.ops.shape[1], 0)
            found.ops, found.sizes = batch.ops[idx], batch.sizes[idx]
            found.mbits = np.full(len(idx), batch.mbits, dtype=np.int64)
            found.steps = verdict[idx].astype(np.int64)
            if judge.time_steps is not None:
                found.steps = judge.time_steps(found.ops, found.sizes, found.steps, caps[idx]).astype(np.int64)
            found.successes = successes[idx].astype(np.int32)
            found.rank = batch.first_index + idx.astype(np.int64)
            found.score = rule(found.mbits, found.steps, found.successes)
            agg.add_fitting(found, judge.structure(found.ops), judge.behaviour(found.ops, found.sizes))
        compiled = COMPILE_CLOCK.seconds() - compiled0
        took = max(0.0, time.perf_counter() - t0 - compiled)
        agg.compile_seconds += compiled
        agg.add_level_work(batch.mbits, n, len(idx), took)
        position = batch.first_index + n
        if after_batch:
            after_batch(position)
        if progress:
            progress(Tally(agg.programs, enumerator.total, batch.mbits / MBITS_PER_BIT,
                           agg.levels[batch.mbits][0], level_total[batch.mbits], agg.fitting, agg.behaviours,
                           time.perf_counter() - started))
        size = next_batch_size(size, time.perf_counter() - t0 - compiled, batch_size)
        if should_stop and should_stop() and position < stop:
            break
    return position


def next_batch_size(size: int, took: float, largest: int) -> int:
    """The next batch's size: twice this one's while a batch takes under BATCH_SECONDS / 4,
    half while it takes over BATCH_SECONDS (at least 1, at most `largest`)."""
    if took < BATCH_SECONDS / 4:
        return min(largest, size * 2)
    if took > BATCH_SECONDS:
        return max(1, size // 2)
    return size


def complete_mbits(enumerator: Enumerator, agg: Aggregate) -> int:
    """Longest length L such that every program of length <= L has been judged (0: none)."""
    complete = 0
    for _, mbits, count in enumerator.levels:
        if agg.levels.get(mbits, [0])[0] != count:
            return complete
        complete = mbits
    return enumerator.max_mbits  # all judged: no program of at most max_bits is missing


def level_of(enumerator: Enumerator, agg: Aggregate) -> tuple[float, int, int]:
    """The first length not yet fully judged: (bits, programs judged, programs in it)."""
    for _, mbits, count in enumerator.levels:
        done = agg.levels.get(mbits, [0])[0]
        if done != count:
            return mbits / MBITS_PER_BIT, done, count
    _, mbits, count = enumerator.levels[-1]
    return mbits / MBITS_PER_BIT, count, count
