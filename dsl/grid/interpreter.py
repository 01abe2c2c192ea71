"""The grid interpreter as one object: the compiled kernels with their tables bound.

Callers (the search, the analyses, tests, the benchmark) go through `GridInterpreter`
rather than calling `dsl.grid.kernels` with the grammar's four table arrays. It also
passes every argument with one dtype and memory layout, so each kernel compiles to one
signature: fewer compilations, and Numba's on-disk cache index never holds two
signatures that concurrent processes (Dask workers, test subprocesses) could write in
different orders.
"""
from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from dsl.grammar import Grammar, kernel_tables
from dsl.grid import kernels
from dsl.grid.world import EnvBatch


@dataclass
class Trace:
    """Per program and environment ([n, E]): what `run` returns, and the search measured
    from execution (dsl/grid/reference.py, "Lookahead")."""

    reached: np.ndarray  # int32: reached cell (row * width + column), -1 none
    moves: np.ndarray  # int32
    steps: np.ndarray  # int64: simulated steps
    lookahead: np.ndarray  # int64: hypothetical states examined, summed over the decisions
    lookahead_decisions: np.ndarray  # int32: decisions whose action came from a construct that examined some
    decisions: np.ndarray  # int32: evaluations of the program (equal to moves)


class GridInterpreter:
    """Runs batches of grid programs on batches of environments with the compiled kernels.

    Programs are ops int32 [n, width] padded with -1 and sizes int32 [n]. `use_cache`
    (default on) selects the kernels' per-environment caches, which change wall time
    only (see dsl/grid/kernels.py).
    """

    def __init__(self, grammar: Grammar, use_cache: bool = True):
        self.grammar = grammar
        self.use_cache = use_cache
        t = kernel_tables(grammar)
        self._tables = (t["op_kind"], t["op_arg"], t["op_arity"], t["step_cost"])

    def run(self, ops: np.ndarray, sizes: np.ndarray, batch: EnvBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every program on every environment: reached cell (row * width + column, -1
        none) int32 [n, E], moves int32 [n, E] and simulated steps int64 [n, E]."""
        if len(ops) == 0:
            empty = np.zeros((0, len(batch)), dtype=np.int32)
            return empty, empty, empty.astype(np.int64)
        return kernels.run_batch(*_programs(ops, sizes), *_environments(batch), *self._tables, _threads(),
                                 bool(self.use_cache))

    def run_traced(self, ops: np.ndarray, sizes: np.ndarray, batch: EnvBatch) -> Trace:
        """`run`, plus per episode the hypothetical states examined (lookahead), the
        decisions that used them and the number of decisions."""
        if len(ops) == 0:
            empty = np.zeros((0, len(batch)), dtype=np.int32)
            return Trace(empty, empty, empty.astype(np.int64), empty.astype(np.int64), empty, empty)
        reached, moves, steps, lookahead, used = kernels.trace_batch(
            *_programs(ops, sizes), *_environments(batch), *self._tables, _threads(), bool(self.use_cache))
        return Trace(reached, moves, steps, lookahead, used, moves.copy())

    def paths(self, ops: np.ndarray, sizes: np.ndarray, batch: EnvBatch) -> np.ndarray:
        """Every episode's path: int32 [n, E, max horizon], the agent's cell (row * width +
        column) after each step, -1 once the episode has ended."""
        longest = int(max(batch.horizons.max(initial=1), 1))
        if len(ops) == 0:
            return np.full((0, len(batch), longest), -1, dtype=np.int32)
        return kernels.path_batch(*_programs(ops, sizes), *_environments(batch), *self._tables, _threads(),
                                  bool(self.use_cache))[3]

    def fit(self, ops: np.ndarray, sizes: np.ndarray, batch: EnvBatch, base_cells: np.ndarray, max_failures: int,
            step_caps: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Which programs reach a base cell (bool [E, H, W]) in all but at most
        `max_failures` environments within their step caps: fits bool [n], successes
        int32 [n] and the simulated steps run until the verdict int64 [n]."""
        return kernels.fit_batch(*_programs(ops, sizes), *_environments(batch),
                                 np.ascontiguousarray(base_cells, dtype=np.bool_), np.int64(max_failures),
                                 np.ascontiguousarray(step_caps, dtype=np.int64), *self._tables, _threads(), bool(self.use_cache))


def _threads() -> np.int64:
    """The thread count the kernels cut their work for (chunks per thread; results do not
    depend on it)."""
    return np.int64(numba.get_num_threads())


def _programs(ops: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.ascontiguousarray(ops, dtype=np.int32), np.ascontiguousarray(sizes, dtype=np.int32)


def _environments(batch: EnvBatch) -> tuple[np.ndarray, ...]:
    return (np.ascontiguousarray(batch.features, dtype=np.uint16), np.ascontiguousarray(batch.dims, dtype=np.int32),
            np.ascontiguousarray(batch.starts, dtype=np.int32), np.ascontiguousarray(batch.horizons, dtype=np.int32))
