"""Run enumerated programs on the training environments and keep those that fit.

Domain-blind: the domain supplies `fit_fn(ops, sizes, step_caps)` returning
(fits, successes, verdict_steps) arrays; this module streams batches from the
enumerator through it and keeps only the fitting programs.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from dsl.grammar import MBITS_PER_BIT
from levinsearch.enumerate import Enumerator
from levinsearch.score import levin_steps_spent

FitFn = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]
NO_CAP = np.int64(1) << 62


@dataclass
class FitResult:
    """The fitting programs (in enumeration order) and what it took to find them."""

    ops: np.ndarray  # int32 [n, max_nodes]
    sizes: np.ndarray  # int32 [n]
    mbits: np.ndarray  # int64 [n]
    steps: np.ndarray  # int64 [n]: t(p), simulated steps over the training episodes
    successes: np.ndarray  # int32 [n]: training episodes that reached the base objective
    rank: np.ndarray  # int64 [n]: position in the enumeration
    programs: int = 0  # programs enumerated and judged
    total: int = 0  # programs the enumeration would yield in full
    seconds: float = 0.0
    levin_steps: int = 0  # Levin order: simulated steps spent over all phases
    uncertified: int = 0  # Levin order: programs whose budget ran out
    complete_mbits: int = 0  # every program of at most this length was judged
    interrupted: bool = False
    levels: list = field(default_factory=list)  # per length: (mbits, programs, fitting)


def find_fitting(enumerator: Enumerator, fit_fn: FitFn, *, order: str = "length",
                 batch_size: int = 1 << 15,
                 progress: Callable[[int, int, int], None] | None = None) -> FitResult:
    """Judge every program of `enumerator`; Ctrl-C stops at a batch boundary and keeps
    what was finished (the result says so and how far it is complete)."""
    max_bits = enumerator.max_mbits / MBITS_PER_BIT
    kept: list[tuple[np.ndarray, ...]] = []
    result = FitResult(*(np.zeros(0, dtype=t) for t in (np.int32, np.int32, np.int64, np.int64, np.int32, np.int64)))
    result.total = enumerator.total
    result.ops = np.zeros((0, max(enumerator.max_nodes, 1)), dtype=np.int32)
    started = time.perf_counter()
    done = fitting = 0
    level_counts: dict[int, list[int]] = {}
    try:
        for batch in enumerator.batches(batch_size):
            n = len(batch)
            if order == "levin":
                cap = math.floor(2.0 ** ((enumerator.max_mbits - batch.mbits) / MBITS_PER_BIT))
                caps = np.full(n, cap, dtype=np.int64)
            else:
                caps = np.full(n, NO_CAP, dtype=np.int64)
            fits, successes, verdict = fit_fn(batch.ops, batch.sizes, caps)
            if order == "levin":
                result.levin_steps += levin_steps_spent(batch.mbits, verdict, int(max_bits))
                result.uncertified += int(np.count_nonzero(verdict > caps))
            idx = np.flatnonzero(fits)
            if len(idx):
                kept.append((batch.ops[idx], batch.sizes[idx], np.full(len(idx), batch.mbits, np.int64),
                             verdict[idx], successes[idx], batch.first_index + idx.astype(np.int64)))
            done += n
            fitting += len(idx)
            counts = level_counts.setdefault(batch.mbits, [0, 0])
            counts[0] += n
            counts[1] += len(idx)
            if progress:
                progress(done, result.total, fitting)
    except KeyboardInterrupt:
        result.interrupted = True
    result.seconds = time.perf_counter() - started
    result.programs = done
    if kept:
        for name, values in zip(("ops", "sizes", "mbits", "steps", "successes", "rank"), zip(*kept)):
            setattr(result, name, np.concatenate(values))
    # Complete up to the last length whose programs were all judged.
    complete = 0
    for _, mbits, count in enumerator.levels:
        if level_counts.get(mbits, [0])[0] == count:
            complete = mbits
        else:
            break
    result.complete_mbits = complete if result.interrupted else enumerator.max_mbits
    result.levels = [(m, c[0], c[1]) for m, c in sorted(level_counts.items())]
    return result
