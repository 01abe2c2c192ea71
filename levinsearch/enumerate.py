"""Every program up to a description length, in exact order of length.

Order. Programs come in non-decreasing description length. Ties (equal length) are
broken, recursively, by: the root production in grammar order; then the first
argument's length (shorter first), then the first argument's own rank among programs
of its type and length; then the second argument's length and rank; and so on.
This is the order of `program_key` below, which the reference enumerator sorts by.

The compiled enumerator *unranks*: program number k of a given type and length is
computed directly from exact count tables (`dsl.grammar.Grammar.enumeration_tables`),
so any range of the index space can be produced independently, in batches, without
holding earlier programs in memory. Within a range, work is cut into fixed chunks
(`UNRANK_CHUNK` programs, shared among the threads): the first program of a chunk is
unranked, and each later one is derived from its predecessor by re-expanding only the
part that changes (see `_fill`). The output depends on neither the chunk size nor the
thread count.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from dsl.grammar import Grammar, bits_to_mbits
from dsl.jit import jit
from levinsearch.config import DEFAULT_BATCH_SIZE
from numba import prange

#: Programs per work unit of `unrank_batch`: the first of each is unranked from the
#: count tables, the others follow from their predecessor (see `_fill`).
UNRANK_CHUNK = 1024


def production_blocks(tables: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """For each (type, length index), the productions that have programs of that type
    and length, in grammar order, with how many each has and the index of the length
    left for their arguments: `block_n[t, k]` of them, `block_prod[t, k, m]`,
    `block_size[t, k, m]`, `block_rest[t, k, m]` (m < block_n[t, k])."""
    lengths, length_index = tables["lengths"], tables["length_index"]
    type_prods, n_type_prods = tables["type_prods"], tables["n_type_prods"]
    ntypes, n = tables["counts"].shape
    width = max(int(type_prods.shape[1]), 1)
    block_n = np.zeros((ntypes, n), dtype=np.int32)
    block_prod = np.full((ntypes, n, width), -1, dtype=np.int32)
    block_size = np.zeros((ntypes, n, width), dtype=np.int64)
    block_rest = np.full((ntypes, n, width), -1, dtype=np.int32)
    for t in range(ntypes):
        for q in range(int(n_type_prods[t])):
            p = int(type_prods[t, q])
            rest = lengths - tables["prod_mbits"][p]
            ok = rest >= 0
            rk = np.full(n, -1, dtype=np.int64)
            rk[ok] = length_index[rest[ok]]
            size = np.where(rk >= 0, tables["suffix"][p, 0, np.maximum(rk, 0)], 0)
            for k in np.flatnonzero(size > 0):
                m = block_n[t, k]
                block_prod[t, k, m] = p
                block_size[t, k, m] = size[k]
                block_rest[t, k, m] = rk[k]
                block_n[t, k] = m + 1
    return dict(block_n=block_n, block_prod=block_prod, block_size=block_size, block_rest=block_rest)


@jit
def _fill(ops, sizes, lo, hi, type_id, length_k, first, counts, lengths, length_index, achievable,
          n_achievable, block_n, block_prod, block_size, block_rest, prod_arity, prod_args, suffix):
    """Write programs number first+lo .. first+hi-1 of (type, length index) into rows
    lo .. hi-1 of `ops` (padded with -1) and `sizes`.

    Unranking a node of rank r: the production whose block of ranks holds r, then in
    that block each argument but the last gets its length (shorter first) and its rank,
    the last argument's rank the least significant part.

    The first program is unranked; each next one follows from its predecessor. The
    *spine* of a program is the chain root, its last argument, that one's last
    argument, ...: the nodes whose subtrees end where the program ends. The next
    program of the same type and length keeps everything in front of the deepest spine
    node that is not the last of its (type, length), gives that node its next rank and
    unranks its subtree again; every spine node above it goes up one rank within the
    same production and arguments (its last argument went up one). So a spine node
    gains one rank per program until it is re-expanded, and is kept as values that do
    not change from program to program: the program number at which it holds the last
    rank of its (type, length) (`spine_last`), and its rank within its production's
    block less the program number (`spine_res`).
    """
    max_nodes = ops.shape[1]
    depth = max_nodes + 1
    stack_type = np.empty(depth, dtype=np.int32)
    stack_len = np.empty(depth, dtype=np.int32)
    stack_idx = np.empty(depth, dtype=np.int64)
    stack_spine = np.empty(depth, dtype=np.int32)
    spine_pos = np.empty(depth, dtype=np.int32)  # where its subtree starts in the program
    spine_type = np.empty(depth, dtype=np.int32)
    spine_len = np.empty(depth, dtype=np.int32)
    spine_m = np.empty(depth, dtype=np.int32)  # its production's place among the blocks
    spine_res = np.empty(depth, dtype=np.int64)
    spine_last = np.empty(depth, dtype=np.int64)
    cur = np.empty(depth, dtype=np.int32)
    # the spine node to (re-)expand; first the root, scanning from the first block
    d = 0
    spine_pos[0] = 0
    spine_type[0] = type_id
    spine_len[0] = length_k
    spine_m[0] = 0
    spine_res[0] = first
    spine_last[0] = counts[type_id, length_k] - 1 - first
    for i in range(lo, hi):
        # expand spine node d; its scan of production blocks starts at block spine_m[d]
        stack_type[0] = spine_type[d]
        stack_len[0] = spine_len[d]
        stack_idx[0] = spine_res[d] + i
        stack_spine[0] = 1
        sp = 1
        size = spine_pos[d]
        spine_n = d
        while sp > 0:
            sp -= 1
            t = stack_type[sp]
            lk = stack_len[sp]
            idx = stack_idx[sp]
            on_spine = stack_spine[sp]
            m_from = 0
            if on_spine:
                if spine_n == d:
                    m_from = spine_m[d]
                else:
                    spine_pos[spine_n] = size
                    spine_type[spine_n] = t
                    spine_len[spine_n] = lk
                    spine_last[spine_n] = i + counts[t, lk] - 1 - idx
            chosen = -1
            rest_k = -1
            for m in range(m_from, block_n[t, lk]):
                block = block_size[t, lk, m]
                if idx < block:
                    chosen = block_prod[t, lk, m]
                    rest_k = block_rest[t, lk, m]
                    if on_spine:
                        spine_m[spine_n] = m
                        spine_res[spine_n] = idx - i
                        spine_n += 1
                    break
                idx -= block
            cur[size] = chosen
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
                    for n in range(n_achievable[a]):
                        ka = achievable[a, n]
                        la = lengths[ka]
                        if la > rest:
                            break
                        rk = length_index[rest - la]
                        if rk < 0:
                            continue
                        tail = suffix[chosen, j + 1, rk]
                        block = counts[a, ka] * tail
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
                stack_spine[slot] = on_spine if j == arity - 1 else 0
            sp += arity
        row = ops[i]
        for j in range(size):
            row[j] = cur[j]
        for j in range(size, max_nodes):
            row[j] = -1
        sizes[i] = size
        # the next program re-expands the deepest spine node not yet at its last rank
        d = spine_n - 1
        while d > 0 and spine_last[d] <= i:
            d -= 1


@jit(parallel=True)
def unrank_batch(type_id, length_k, first, count, max_nodes, chunk, counts, lengths, length_index,
                 achievable, n_achievable, block_n, block_prod, block_size, block_rest, prod_arity,
                 prod_args, suffix):
    """Programs number first .. first+count-1 of (type, length index): ops int32
    [count, max_nodes] padded with -1, sizes int32 [count].

    The work is cut into runs of `chunk` programs, fixed by the arguments alone (not
    by the thread count), each filled by `_fill`; the runs go to the threads.
    """
    ops = np.empty((count, max_nodes), dtype=np.int32)
    sizes = np.empty(count, dtype=np.int32)
    n_chunks = (count + chunk - 1) // chunk
    for c in prange(n_chunks):
        lo = c * chunk
        _fill(ops, sizes, lo, min(lo + chunk, count), type_id, length_k, first, counts, lengths, length_index,
              achievable, n_achievable, block_n, block_prod, block_size, block_rest, prod_arity, prod_args,
              suffix)
    return ops, sizes


@jit
def unrank_serial(type_id, length_k, first, count, max_nodes, chunk, counts, lengths, length_index,
                  achievable, n_achievable, block_n, block_prod, block_size, block_rest, prod_arity,
                  prod_args, suffix):
    """`unrank_batch` on the calling thread alone (same arguments, same result); for
    small ranges, where starting the threads would cost more than the work."""
    ops = np.empty((count, max_nodes), dtype=np.int32)
    sizes = np.empty(count, dtype=np.int32)
    n_chunks = (count + chunk - 1) // chunk
    for c in range(n_chunks):
        lo = c * chunk
        _fill(ops, sizes, lo, min(lo + chunk, count), type_id, length_k, first, counts, lengths, length_index,
              achievable, n_achievable, block_n, block_prod, block_size, block_rest, prod_arity, prod_args,
              suffix)
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
        self.blocks = production_blocks(t)

    @property
    def total(self) -> int:
        """Number of programs the enumeration yields."""
        return sum(c for _, _, c in self.levels)

    def unrank(self, length_k: int, first: int, count: int,
               chunk: int = UNRANK_CHUNK) -> tuple[np.ndarray, np.ndarray]:
        """Programs number first .. first+count-1 of length index `length_k`: (ops, sizes).

        `chunk` (programs per work unit) changes only the speed, never the result."""
        t, b = self.tables, self.blocks
        kernel = unrank_serial if count <= chunk else unrank_batch
        return kernel(
            np.int32(self.type_id), np.int32(length_k), np.int64(first), np.int64(count),
            np.int32(max(self.max_nodes, 1)), np.int64(max(chunk, 1)), t["counts"], t["lengths"],
            t["length_index"], t["achievable"], t["n_achievable"], b["block_n"], b["block_prod"],
            b["block_size"], b["block_rest"], t["prod_arity"], t["prod_args"], t["suffix"],
        )

    def batch(self, start: int, size: int, stop: int | None = None) -> Batch | None:
        """The programs of global rank start .. start+size-1, cut short at the end of
        their length or at `stop` (None when start is at or past the end)."""
        stop = self.total if stop is None else min(stop, self.total)
        offset = 0
        for k, mbits, count in self.levels:
            if start < offset + count:
                if start >= stop:
                    return None
                first = start - offset
                n = min(size, count - first, stop - start)
                ops, sizes = self.unrank(k, first, n)
                return Batch(ops, sizes, mbits, start)
            offset += count
        return None

    def batches(self, batch_size: int = DEFAULT_BATCH_SIZE, start: int = 0, stop: int | None = None) -> Iterator[Batch]:
        """Consecutive batches in enumeration order: the programs of global rank
        start .. stop-1 (stop None: to the end).

        A batch never mixes lengths. Within a length, batches begin at `start` (or at the
        length's first program) and then every `batch_size` programs; the last one is cut
        short at the end of the length or at `stop`. So when `start` is a batch boundary
        of the enumeration from 0, so is every later boundary, whatever `stop` is.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        stop = self.total if stop is None else min(stop, self.total)
        offset = 0
        for k, mbits, count in self.levels:
            if offset >= stop:
                break
            if offset + count <= start:
                offset += count
                continue
            first = max(0, start - offset)
            end = min(count, stop - offset)
            while first < end:
                n = min(batch_size, end - first)
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
        (sub_len, sub_key), j = program_key(ops, grammar, j)
        parts += [sub_len, sub_key]
    mbits = grammar.mbits[p] + sum(parts[1::2])
    return (mbits, tuple(parts)), j


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

