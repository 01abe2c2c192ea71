"""Every program up to a description length, in exact order of length.

Order. Programs come in non-decreasing description length. Ties (equal length) are
broken, recursively, by: the root production in grammar order; then the first
argument's length (shorter first), then the first argument's own rank among programs
of its type and length; then the second argument's length and rank; and so on.
This is the order of `program_key` below, which the reference enumerator sorts by.

The compiled enumerator *unranks*: program number k of a given type and length is
computed directly from exact count tables (`dsl.grammar.Grammar.enumeration_tables`),
so any range of the index space can be produced independently, in batches, without
holding earlier programs in memory.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from dsl.grammar import MBITS_PER_BIT, Grammar, bits_to_mbits
from dsl.jit import jit
from numba import prange


@jit
def _unrank(type_id, length_k, index, out, tables_counts, lengths, length_index, achievable, n_achievable,
            type_prods, n_type_prods, prod_mbits, prod_arity, prod_args, suffix,
            stack_type, stack_len, stack_idx):
    """Write program number `index` of (type, length index) into `out`; return its size."""
    sp = 0
    stack_type[0] = type_id
    stack_len[0] = length_k
    stack_idx[0] = index
    sp = 1
    size = 0
    while sp > 0:
        sp -= 1
        t = stack_type[sp]
        level = lengths[stack_len[sp]]
        idx = stack_idx[sp]
        chosen = -1
        rest_k = -1
        for q in range(n_type_prods[t]):
            p = type_prods[t, q]
            rest = level - prod_mbits[p]
            if rest < 0:
                continue
            rk = length_index[rest]
            if rk < 0:
                continue
            block = suffix[p, 0, rk]
            if idx < block:
                chosen = p
                rest_k = rk
                break
            idx -= block
        out[size] = chosen
        size += 1
        arity = prod_arity[chosen]
        # Choose each argument's length and rank; push them so the first pops first.
        base = sp + arity - 1
        rest = lengths[rest_k]
        for j in range(arity):
            a = prod_args[chosen, j]
            if j == arity - 1:
                la_k = length_index[rest]
                ia = idx
            else:
                la_k = -1
                ia = 0
                for m in range(n_achievable[a]):
                    ka = achievable[a, m]
                    la = lengths[ka]
                    if la > rest:
                        break
                    rk = length_index[rest - la]
                    if rk < 0:
                        continue
                    tail = suffix[chosen, j + 1, rk]
                    block = tables_counts[a, ka] * tail
                    if idx < block:
                        la_k = ka
                        ia = idx // tail
                        idx = idx - ia * tail
                        break
                    idx -= block
                rest -= lengths[la_k]
            slot = base - j
            stack_type[slot] = a
            stack_len[slot] = la_k
            stack_idx[slot] = ia
        sp += arity
    return size


@jit(parallel=True)
def unrank_batch(type_id, length_k, first, count, max_nodes, tables_counts, lengths, length_index,
                 achievable, n_achievable, type_prods, n_type_prods, prod_mbits, prod_arity, prod_args,
                 suffix):
    """Programs number first .. first+count-1 of (type, length index), padded with -1."""
    ops = np.full((count, max_nodes), -1, dtype=np.int32)
    sizes = np.empty(count, dtype=np.int32)
    for i in prange(count):
        stack_type = np.empty(max_nodes + 1, dtype=np.int32)
        stack_len = np.empty(max_nodes + 1, dtype=np.int32)
        stack_idx = np.empty(max_nodes + 1, dtype=np.int64)
        sizes[i] = _unrank(type_id, length_k, first + i, ops[i], tables_counts, lengths, length_index,
                           achievable, n_achievable, type_prods, n_type_prods, prod_mbits, prod_arity,
                           prod_args, suffix, stack_type, stack_len, stack_idx)
    return ops, sizes


@dataclass
class Batch:
    """A run of consecutive programs of one length."""

    ops: np.ndarray  # int32 [n, max_nodes], padded with -1
    sizes: np.ndarray  # int32 [n]
    mbits: int  # the common description length, in millibits
    first_index: int  # global rank of the first program (0-based, over all lengths)

    def __len__(self) -> int:
        return int(self.sizes.shape[0])


class Enumerator:
    """Streams every program of the grammar's start type with length <= max_bits."""

    def __init__(self, grammar: Grammar, max_bits: float, type_name: str | None = None):
        self.grammar = grammar
        self.max_mbits = bits_to_mbits(max_bits)
        self.tables = grammar.enumeration_tables(max_bits)
        self.type_id = grammar.type_index(type_name or grammar.start)
        t = self.tables
        self.levels = [
            (int(k), int(t["lengths"][k]), int(t["counts"][self.type_id, k]))
            for k in range(len(t["lengths"]))
            if t["counts"][self.type_id, k] > 0
        ]
        self.max_nodes = int(t["max_nodes"])

    @property
    def total(self) -> int:
        """Number of programs the enumeration yields."""
        return sum(c for _, _, c in self.levels)

    def unrank(self, length_k: int, first: int, count: int) -> tuple[np.ndarray, np.ndarray]:
        t = self.tables
        return unrank_batch(
            np.int32(self.type_id), np.int32(length_k), np.int64(first), np.int64(count),
            np.int32(max(self.max_nodes, 1)), t["counts"], t["lengths"], t["length_index"],
            t["achievable"], t["n_achievable"], t["type_prods"], t["n_type_prods"], t["prod_mbits"],
            t["prod_arity"], t["prod_args"], t["suffix"],
        )

    def batches(self, batch_size: int = 1 << 15, start: int = 0) -> Iterator[Batch]:
        """Consecutive batches in enumeration order, beginning at global rank `start`."""
        offset = 0
        for k, mbits, count in self.levels:
            if offset + count <= start:
                offset += count
                continue
            first = max(0, start - offset)
            while first < count:
                n = min(batch_size, count - first)
                ops, sizes = self.unrank(k, first, n)
                yield Batch(ops, sizes, mbits, offset + first)
                first += n
            offset += count


# ------------------------------------------------------------------ reference twin
def program_key(ops, grammar: Grammar, start: int = 0) -> tuple[tuple, int]:
    """Sort key of the documented order (length first), and the subtree's end index."""
    p = int(ops[start])
    parts: list = [p]
    j = start + 1
    for _ in grammar.productions[p].args:
        (sub_len, sub_key), j = _length_and_key(ops, grammar, j)
        parts += [sub_len, sub_key]
    mbits = grammar.mbits[p] + sum(parts[1::2])
    return (mbits, tuple(parts)), j


def _length_and_key(ops, grammar, start):
    key, end = program_key(ops, grammar, start)
    return key, end


def reference_programs(grammar: Grammar, max_bits: float, type_name: str | None = None) -> list[tuple[int, tuple[int, ...]]]:
    """All programs with length <= max_bits as (mbits, ops), sorted by the documented order.

    Plain Python and exhaustive: builds every tree by recursion, then sorts by
    `program_key`. The specification of `Enumerator` (exponential; for tests).
    """
    limit = bits_to_mbits(max_bits)
    memo: dict[tuple[str, int], list[tuple[int, tuple[int, ...]]]] = {}

    def trees(t: str, budget: int) -> list[tuple[int, tuple[int, ...]]]:
        if (t, budget) in memo:
            return memo[(t, budget)]
        out = []
        for p in grammar.by_type[t]:
            b = grammar.mbits[p]
            if b > budget:
                continue
            partial = [(b, (p,))]
            for a in grammar.productions[p].args:
                partial = [
                    (m + m2, ops + ops2)
                    for m, ops in partial
                    for m2, ops2 in trees(a, budget - m)
                ]
            out += partial
        memo[(t, budget)] = out
        return out

    found = trees(type_name or grammar.start, limit)
    return sorted(found, key=lambda item: program_key(item[1], grammar)[0])


def mbits_to_bits(mbits: int) -> float:
    return mbits / MBITS_PER_BIT
