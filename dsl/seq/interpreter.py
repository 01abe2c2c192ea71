"""The seq interpreter as one object: the compiled kernels with their tables bound.

Callers go through `SeqInterpreter` rather than calling `dsl.seq.kernels` with the
grammar's four table arrays and the `find` limit. Arguments are passed with one dtype
and layout, so each kernel compiles to one signature (see dsl/grid/interpreter.py).
"""
from __future__ import annotations

import numpy as np

from dsl.grammar import Grammar, kernel_tables
from dsl.seq import kernels
from dsl.seq.primitives import FIND_LIMIT


class SeqInterpreter:
    """Runs batches of seq programs on one integer sequence with the compiled kernels.

    Programs are ops int32 [n, width] padded with -1 and sizes int32 [n]; terms int64.
    """

    def __init__(self, grammar: Grammar, find_limit: int = FIND_LIMIT):
        self.grammar = grammar
        self.find_limit = np.int64(find_limit)
        t = kernel_tables(grammar)
        self._tables = (t["op_kind"], t["op_arg"], t["op_arity"], t["step_cost"])

    def predict(self, ops: np.ndarray, sizes: np.ndarray, terms: np.ndarray,
                n_predict: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Teacher-forced predictions of a(0) .. a(n_predict - 1) (default: every term)
        and their simulated steps, both int64 [n, n_predict]."""
        terms = np.ascontiguousarray(terms, dtype=np.int64)
        n_predict = len(terms) if n_predict is None else n_predict
        if len(ops) == 0:
            empty = np.zeros((0, n_predict), dtype=np.int64)
            return empty, empty.copy()
        return kernels.predict_batch(*_programs(ops, sizes), terms, np.int64(n_predict), *self._tables,
                                     self.find_limit)

    def fit(self, ops: np.ndarray, sizes: np.ndarray, terms: np.ndarray, n_train: int, step_caps: np.ndarray,
            max_errors: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Which programs predict the first n_train terms with at most `max_errors` wrong,
        within their step caps: fits bool [n], first_error int32 [n] (-1: none), errors
        int32 [n] (wrong predictions before the verdict) and verdict steps int64 [n]."""
        return kernels.fit_batch(*_programs(ops, sizes), np.ascontiguousarray(terms, dtype=np.int64),
                                 np.int64(n_train), np.int64(max_errors), np.ascontiguousarray(step_caps, dtype=np.int64),
                                 *self._tables, self.find_limit)


def _programs(ops: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.ascontiguousarray(ops, dtype=np.int32), np.ascontiguousarray(sizes, dtype=np.int32)
