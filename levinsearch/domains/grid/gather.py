"""Sums of shared rows, for analyses that split over environments.

Many behaviours take the same path in a given environment, so an analysis whose
measure is a sum over environments (the grid's `analyse.agency`) computes each distinct
(environment, path) once and then adds, for every program, the rows of its paths.
`gather_sum` does that adding in compiled code, over programs in parallel;
`gather_sum_reference` is its plain-NumPy twin (tests check they agree bit for bit).
Both add a program's rows in column order of `ids`, starting from 0.0, so the result
depends neither on the thread count nor on which other programs share the call.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from dsl.jit import jit


@jit(parallel=True)
def _gather_sum(ids, rows, out):
    n, k = ids.shape
    d = rows.shape[1]
    for i in prange(n):
        for j in range(k):
            r = ids[i, j]
            for c in range(d):
                out[i, c] += rows[r, c]


def gather_sum(ids: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """out[i] = rows[ids[i, 0]] + rows[ids[i, 1]] + ... (left to right), float64 [n, d].
    ids int64 [n, k] (every entry a row of `rows`); rows float64 [m, d]."""
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    rows = np.ascontiguousarray(rows, dtype=np.float64)
    if ids.size and (ids.min() < 0 or ids.max() >= len(rows)):
        raise IndexError("gather_sum: a row index out of range")
    out = np.zeros((ids.shape[0], rows.shape[1]))
    if ids.size and rows.shape[1]:
        _gather_sum(ids, rows, out)
    return out


def gather_sum_reference(ids: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """`gather_sum` in plain NumPy (the twin the compiled one is tested against)."""
    out = np.zeros((ids.shape[0], rows.shape[1]))
    for j in range(ids.shape[1]):
        out += rows[ids[:, j]]
    return out
