"""TMInterpreter: the compiled simulator behind a small interface that owns the tables.

Callers pass programs (int32 opcode rows padded with -1, as the Enumerator yields them),
sizes and step caps; the grammar's kernel tables are passed to the kernels here.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dsl.errors import DslError
from dsl.grammar import Grammar, kernel_tables
from dsl.tm import kernels
from dsl.tm import primitives as tp


@dataclass
class TMRuns:
    """What `TMInterpreter.run` returns, one entry (row) per machine."""

    halted: np.ndarray  # bool [n]: halted within its step cap
    steps: np.ndarray  # int64 [n]: simulated steps spent
    ones: np.ndarray  # int32 [n]: 1s on the tape at the end
    out_len: np.ndarray  # int32 [n]: length of the visited segment
    packed: np.ndarray  # int32 [n, W]: the visited segments (see dsl.tm.kernels)

    def output(self, i: int) -> str:
        """Machine i's output as a '0'/'1' string (unpacked from its row)."""
        return unpack(self.packed[i], int(self.out_len[i]))

    def __len__(self) -> int:
        return int(self.halted.shape[0])


def unpack(row: np.ndarray, length: int) -> str:
    """The output string held by one packed row (bit k of the output is bit k % 32 of
    word k // 32)."""
    words = row.astype(np.int64) & 0xFFFFFFFF
    return "".join(str(int(words[k // 32] >> (k % 32)) & 1) for k in range(length))


def pack(output: str, n_words: int) -> np.ndarray:
    """The packed row of an output string (with its end marker): int32 [n_words]."""
    words = [0] * n_words
    for k, ch in enumerate(output + "1"):
        if ch == "1":
            words[k // 32] |= 1 << (k % 32)
    return np.array([w - (1 << 32) if w >= 1 << 31 else w for w in words], dtype=np.int64).astype(np.int32)


class TMInterpreter:
    """Runs batches of TM programs of one grammar with the compiled kernels."""

    def __init__(self, grammar: Grammar):
        tp.check_costs(grammar)
        self.grammar = grammar
        self.tables = kernel_tables(grammar)

    def _args(self, ops, sizes, caps):
        ops = np.ascontiguousarray(ops, dtype=np.int32)
        sizes = np.ascontiguousarray(sizes, dtype=np.int32)
        n = ops.shape[0]
        caps = np.asarray(caps, dtype=np.int64)
        if caps.ndim == 0:
            caps = np.full(n, int(caps), dtype=np.int64)
        if caps.shape != (n,) or sizes.shape != (n,):
            raise DslError(f"expected {n} sizes and step caps, got {sizes.shape} and {caps.shape}")
        if n and (caps.min() < 0 or caps.max() > kernels.MAX_CAP):
            raise DslError(f"step caps must be in 0 .. {kernels.MAX_CAP}")
        return ops, sizes, np.ascontiguousarray(caps)

    def run(self, ops, sizes, caps) -> TMRuns:
        """Run every machine from the blank tape up to its cap (a scalar cap applies to
        all). The packed rows have W = words_for(largest cap) words."""
        ops, sizes, caps = self._args(ops, sizes, caps)
        n_words = kernels.words_for(caps.max() if len(caps) else 0)
        t = self.tables
        out = kernels.run_batch(ops, sizes, caps, np.int64(n_words), t["op_kind"], t["op_arg"],
                                t["op_arity"], t["step_cost"])
        return TMRuns(*out)

    def fit(self, ops, sizes, caps, prefix: str, exact: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(fits bool [n], steps int64 [n]): which machines halt within their cap with an
        output starting with `prefix` (equal to it when `exact`)."""
        ops, sizes, caps = self._args(ops, sizes, caps)
        if set(prefix) - {"0", "1"}:
            raise DslError(f"prefix must be a string of 0s and 1s, got {prefix!r}")
        bits = np.array([int(c) for c in prefix], dtype=np.int8)
        t = self.tables
        return kernels.fit_batch(ops, sizes, caps, bits, bool(exact), t["op_kind"], t["op_arg"],
                                 t["op_arity"], t["step_cost"])
