"""Programs drawn from a grammar's prior, exactly in proportion to 2^-bits.

The grammar is a probabilistic grammar: a derivation that, node by node in prefix
order, draws production p of the type that comes next with probability 2^-bits(p)
produces program p with probability 2^-bits(p), its prior mass. Two things keep that
procedure from being used as it is: within a type the probabilities may add up to less
than 1 (bits are rounded up to whole millibits, and a user may give every production
of a type its bits), and a derivation may never end (in a grammar whose productions
have many arguments, like seq's). Neither is a program.

So the sampler draws from the same distribution *conditioned on the derivation
finishing*: with K_T the Kraft sum of the finite programs of type T (the least fixed
point of K_T = sum_p 2^-bits(p) prod K_args(p), `Grammar.kraft_by_type`), production
p of type T is drawn with probability 2^-bits(p) prod K_args(p) / K_T. These add up to
1 per type, every derivation ends, and along a finished tree the K's cancel, so
program p is drawn with probability exactly 2^-bits(p) / K_start: the prior,
renormalised over the finite programs.

`sample_batch` draws samples restricted to a region: a sample is the first derivation
of its own random stream with at most `node_cap` nodes and a length in (lo, hi]
millibits; every other derivation is an *attempt* thrown away. So samples are
independent draws from the prior restricted to the region (renormalised).

Random numbers are counter-based: sample j of seed s has its own splitmix64 stream
(a Weyl sequence of states, state + k * GOLDEN, each mixed into a uniform), started from
a hash of s and j, so sample j is the same whichever batch, thread, process or machine
draws it. `reference_sample` is the plain-Python twin (the
specification); tests compare the two.

`mass_by_nodes` gives the exact prior mass of the programs of each size, so the mass
of the programs a node cap leaves out is known.
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from dsl.grammar import MBITS_PER_BIT, Grammar
from dsl.jit import jit

#: splitmix64's increment, and the constant that separates a seed's hash from a sample's.
GOLDEN = 0x9E3779B97F4A7C15
SEED_SALT = 0xD1B54A32D192ED03
MASK64 = (1 << 64) - 1
#: Samples per work unit of `sample_batch` (fixed: results do not depend on threads),
#: and at most per call of it (`Sampler.sample` cuts larger requests).
SAMPLE_CHUNK = 256
SAMPLE_CALL = 1 << 16
#: Outcome of one derivation.
FINISHED, DIED, TOO_MANY_NODES, TOO_LONG = 0, 1, 2, 3


def production_probabilities(grammar: Grammar) -> list[float]:
    """Each production's probability in a derivation conditioned on finishing:
    2^-bits(p) prod K_args(p) / K_type(p), with K the Kraft sums of finite programs per
    type (0 for a banned production, or for one that can never finish)."""
    kraft = dict(zip(grammar.types, grammar.kraft_by_type()[0]))
    out = []
    for p, production in enumerate(grammar.productions):
        m = grammar.mbits[p]
        if m < 0 or kraft[production.type] <= 0:
            out.append(0.0)
            continue
        q = 2.0 ** (-m / MBITS_PER_BIT)
        for a in production.args:
            q *= kraft[a]
        out.append(q / kraft[production.type])
    return out


def sampling_tables(grammar: Grammar) -> dict[str, np.ndarray]:
    """The arrays `sample_batch` needs: per type an alias table over its productions
    (`alias_tables`), per production its millibits, arity and argument types, and the
    start type."""
    ntypes = len(grammar.types)
    width = max([len(v) for v in grammar.by_type.values()] + [1])
    n_type_prods = np.zeros(ntypes, dtype=np.int32)
    alias_keep = np.zeros((ntypes, width), dtype=np.float64)
    alias_self = np.full((ntypes, width), -1, dtype=np.int32)
    alias_other = np.full((ntypes, width), -1, dtype=np.int32)
    q = production_probabilities(grammar)
    for t, name in enumerate(grammar.types):
        ids = list(grammar.by_type[name])
        finite = any(q[p] > 0 for p in ids)  # else the type ends every derivation (ids -1)
        for k, (keep, own, other) in enumerate(alias_table(ids, [q[p] for p in ids])):
            alias_keep[t, k], alias_self[t, k], alias_other[t, k] = keep, own if finite else -1, other if finite else -1
        n_type_prods[t] = len(ids)
    return dict(n_type_prods=n_type_prods, alias_keep=alias_keep, alias_self=alias_self, alias_other=alias_other,
                **grammar.production_tables())


def alias_table(ids: list[int], probabilities: list[float]) -> list[tuple[float, int, int]]:
    """Walker's alias table for drawing ids[k] with probability probabilities[k] (they add
    up to 1, or are all 0 for a type with no finite programs): one row per id, (keep,
    itself, alias). A draw u in [0, 1) picks row k = floor(u n) and keeps its own id
    when the rest u n - k is below `keep`, else takes the alias. Built in a fixed order
    (grammar order, small and large rows as stacks), so every machine builds the same."""
    n = len(ids)
    total = math.fsum(probabilities)
    if n == 0 or total <= 0:
        return [(1.0, p, p) for p in ids]
    scaled = [x * n / total for x in probabilities]
    rows = [(1.0, p, p) for p in ids]
    small = [k for k in range(n) if scaled[k] < 1.0]
    large = [k for k in range(n) if scaled[k] >= 1.0]
    while small and large:
        s, g = small.pop(), large.pop()
        rows[s] = (scaled[s], ids[s], ids[g])
        scaled[g] = (scaled[g] + scaled[s]) - 1.0
        (small if scaled[g] < 1.0 else large).append(g)
    for k in small + large:  # what rounding leaves: keep their own id
        rows[k] = (1.0, ids[k], ids[k])
    return rows


# ------------------------------------------------------------------ compiled sampler
@jit
def _mix(z):
    """splitmix64's output function (uint64, wrapping)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@jit
def _stream_start(seed, j):
    """The first state of sample j's stream: a hash of the seed and j, each mixed on its
    own. (Starting points drawn from one splitmix64 stream, mix(c + j * GOLDEN), gave
    red-door fit rates that varied between seeds 0-31 more than independent samples can:
    chi-square 63 on 31 df; these give 24.)"""
    return _mix(_mix(seed ^ np.uint64(SEED_SALT)) ^ _mix(j + np.uint64(GOLDEN)))


@jit
def _uniform(state):
    """A uniform double in [0, 1) from a stream state: the top 53 bits of splitmix64's
    output for it."""
    return np.float64(_mix(state) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@jit
def _draw_root(state, root_keep, root_self, root_other):
    """The root production of a sample, from the root table: (production, state after)."""
    state = state + np.uint64(GOLDEN)
    n = root_keep.shape[0]
    x = _uniform(state) * n
    k = min(int(x), n - 1)
    return (root_self[k] if x - k < root_keep[k] else root_other[k]), state


@jit
def _derive(state, root, lo, hi, node_cap, n_type_prods, alias_keep, alias_self, alias_other, prod_mbits, prod_arity,
            prod_args, out, stack):
    """One derivation of a program rooted in production `root` (its arguments drawn from
    stream state `state`): its opcodes into out[:size]. Returns (outcome, size, mbits,
    state after it)."""
    stack[0] = -1  # the root: given, not drawn
    sp = 1
    size = 0
    mbits = 0
    while sp > 0:
        sp -= 1
        t = stack[sp]
        if t < 0:
            chosen = root
        else:
            state = state + np.uint64(GOLDEN)
            n = n_type_prods[t]
            x = _uniform(state) * n
            k = min(int(x), n - 1)
            chosen = alias_self[t, k] if x - k < alias_keep[t, k] else alias_other[t, k]
        if chosen < 0:
            return 1, size, mbits, state
        if size >= node_cap:
            return 2, size, mbits, state
        out[size] = chosen
        size += 1
        mbits += prod_mbits[chosen]
        if mbits > hi:
            return 3, size, mbits, state
        arity = prod_arity[chosen]
        for a in range(arity - 1, -1, -1):  # pushed last first, so the first argument pops first
            stack[sp] = prod_args[chosen, a]
            sp += 1
    return 0, size, mbits, state


@jit(parallel=True)
def sample_batch(seed, first, count, lo, hi, node_cap, max_attempts, n_type_prods, alias_keep, alias_self,
                 alias_other, root_keep, root_self, root_other, redraw_root, prod_mbits, prod_arity, prod_args):
    """Samples first .. first+count-1 of stream `seed`: for each, a root production
    drawn from the root table, then the first derivation of its arguments in the stream
    that finishes with at most `node_cap` nodes and lo < millibits <= hi (with
    `redraw_root`, a new root for every derivation).

    Returns ops int32 [count, widest] padded with -1, sizes int32 [count], mbits int64
    [count] and attempts int64 [count] (derivations drawn for each sample; -1 where
    `max_attempts` were drawn without success). Each chunk of samples derives into its
    own stretch of one flat buffer, each sample after the one before (a rejected
    derivation is overwritten by the next), so only what the samples hold is written;
    the padded array is filled from it once the widest sample is known."""
    n_chunks = (count + SAMPLE_CHUNK - 1) // SAMPLE_CHUNK
    stretch = SAMPLE_CHUNK * node_cap
    flat = np.empty(n_chunks * stretch, dtype=np.int32)  # untouched beyond what is written
    offsets = np.zeros(count, dtype=np.int64)
    sizes = np.zeros(count, dtype=np.int32)
    mbits = np.zeros(count, dtype=np.int64)
    attempts = np.zeros(count, dtype=np.int64)
    max_arity = prod_args.shape[1]
    for c in prange(n_chunks):
        stack = np.empty(node_cap * max_arity + 1, dtype=np.int32)
        at = c * stretch
        for i in range(c * SAMPLE_CHUNK, min((c + 1) * SAMPLE_CHUNK, count)):
            state = _stream_start(seed, np.uint64(first + i))
            attempts[i] = -1
            out = flat[at: at + node_cap]
            root, state = _draw_root(state, root_keep, root_self, root_other)
            for a in range(max_attempts):
                if redraw_root and a > 0:
                    root, state = _draw_root(state, root_keep, root_self, root_other)
                outcome, size, m, state = _derive(state, root, lo, hi, node_cap, n_type_prods, alias_keep,
                                                  alias_self, alias_other, prod_mbits, prod_arity, prod_args, out,
                                                  stack)
                if outcome == 0 and m > lo:
                    sizes[i] = size
                    mbits[i] = m
                    attempts[i] = a + 1
                    break
            offsets[i] = at
            at += sizes[i]
    widest = 1
    for i in range(count):
        widest = max(widest, sizes[i])
    ops = np.empty((count, widest), dtype=np.int32)
    for c in prange(n_chunks):
        for i in range(c * SAMPLE_CHUNK, min((c + 1) * SAMPLE_CHUNK, count)):
            for k in range(sizes[i]):
                ops[i, k] = flat[offsets[i] + k]
            for k in range(sizes[i], widest):
                ops[i, k] = -1
    return ops, sizes, mbits, attempts


def root_table(grammar: Grammar, lo: int, hi: int | None, node_cap: int) -> tuple[list[tuple[float, int, int]], bool]:
    """The alias table a sample's root production is drawn from, once per sample: each
    production of the start type with the prior mass of the region's programs rooted in
    it (`root_masses`), so that no root is drawn whose programs all lie outside the
    region (a leaf, when the region is 20 bits and up). With the root so drawn and kept,
    and its arguments drawn from the conditioned probabilities until the program lands in
    the region, each program of the region has its prior mass exactly (renormalised).
    Where the count tables cannot give the masses, the root gets its conditioned
    probability and is drawn again with every derivation (the second value: True)."""
    roots = list(grammar.by_type[grammar.start])
    masses = root_masses(grammar, lo, hi, node_cap)
    if masses is None or math.fsum(masses) <= 0:
        q = production_probabilities(grammar)
        return alias_table(roots, [q[p] for p in roots]), True
    return alias_table(roots, masses), False


class Sampler:
    """Draws samples of `grammar`'s prior restricted to lo < millibits <= hi and at most
    `node_cap` nodes (hi None: no upper bound), stream `seed`."""

    def __init__(self, grammar: Grammar, seed: int, *, lo: int, hi: int | None, node_cap: int,
                 max_attempts: int = 1 << 24):
        self.grammar = grammar
        self.tables = sampling_tables(grammar)
        rows, self.redraw_root = root_table(grammar, int(lo), hi, int(node_cap))
        self.tables.update(root_keep=np.array([r[0] for r in rows], dtype=np.float64),
                           root_self=np.array([r[1] for r in rows], dtype=np.int32),
                           root_other=np.array([r[2] for r in rows], dtype=np.int32))
        self.seed, self.lo, self.hi, self.node_cap = int(seed), int(lo), hi, int(node_cap)
        self.max_attempts = int(max_attempts)

    def sample(self, first: int, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Samples first .. first+count-1: (ops, sizes, mbits, attempts); see `sample_batch`."""
        t = self.tables
        hi = np.iinfo(np.int64).max if self.hi is None else self.hi
        parts = []
        for a in range(first, first + count, SAMPLE_CALL):
            n = min(SAMPLE_CALL, first + count - a)
            parts.append(sample_batch(np.uint64(self.seed), np.int64(a), np.int64(n), np.int64(self.lo),
                                      np.int64(hi), np.int64(self.node_cap), np.int64(self.max_attempts),
                                      t["n_type_prods"], t["alias_keep"], t["alias_self"], t["alias_other"],
                                      t["root_keep"], t["root_self"], t["root_other"], bool(self.redraw_root),
                                      t["prod_mbits"], t["prod_arity"], t["prod_args"]))
        if len(parts) == 1:
            return parts[0]
        width = max(p[0].shape[1] for p in parts)
        ops = np.concatenate([np.pad(p[0], ((0, 0), (0, width - p[0].shape[1])), constant_values=-1) for p in parts])
        return ops, *(np.concatenate([p[k] for p in parts]) for k in (1, 2, 3))


# ------------------------------------------------------------------ reference twin
def _mix_py(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def reference_sample(grammar: Grammar, seed: int, j: int, *, lo: int, hi: int | None, node_cap: int,
                     max_attempts: int = 1 << 24) -> tuple[tuple[int, ...], int, int]:
    """Sample j of stream `seed` in plain Python: (opcodes, millibits, attempts); the
    specification of `sample_batch` (attempts -1 and no opcodes when none succeeded).

    Each draw takes the stream's next state and picks a production with an alias table
    (`alias_table`) from u in [0, 1). The sample's root comes from `root_table` (once, or
    with every derivation where that table says so); a derivation then keeps a list of
    the types still to be derived, the next one last, and picks each from its type's
    conditioned probabilities (a type with no finite programs, which no finishing
    derivation reaches, ends the derivation)."""
    state = _mix_py(_mix_py(seed ^ SEED_SALT) ^ _mix_py((j + GOLDEN) & MASK64))
    q = production_probabilities(grammar)
    tables = {t: alias_table(list(grammar.by_type[t]), [q[p] for p in grammar.by_type[t]]) for t in grammar.types}
    roots, redraw_root = root_table(grammar, lo, hi, node_cap)

    def draw(rows) -> int:
        nonlocal state
        state = (state + GOLDEN) & MASK64
        x = (_mix_py(state) >> 11) / 2.0 ** 53 * len(rows)
        k = min(int(x), len(rows) - 1)
        keep, own, other = rows[k]
        return own if x - k < keep else other

    root = draw(roots)
    for attempt in range(1, max_attempts + 1):
        if redraw_root and attempt > 1:
            root = draw(roots)
        pending: list[str | None] = [None]  # the root: given, not drawn
        ops: list[int] = []
        mbits, outcome = 0, FINISHED
        while pending:
            t = pending.pop()
            chosen = root if t is None else draw(tables[t])
            if chosen < 0 or q[chosen] == 0:
                outcome = DIED
                break
            if len(ops) >= node_cap:
                outcome = TOO_MANY_NODES
                break
            ops.append(chosen)
            mbits += grammar.mbits[chosen]
            if hi is not None and mbits > hi:
                outcome = TOO_LONG
                break
            pending += reversed(grammar.productions[chosen].args)
        if outcome == FINISHED and mbits > lo:
            return tuple(ops), mbits, attempt
    return (), 0, -1


def mass_by_nodes(grammar: Grammar, max_nodes: int) -> np.ndarray:
    """Exact prior mass of the start type's programs of each size: float64 [max_nodes + 1],
    entry n the sum of 2^-bits over programs of n nodes."""
    return _sizes(grammar, max_nodes)[0]


def root_masses(grammar: Grammar, lo: int, hi: int | None, node_cap: int) -> list[float] | None:
    """For each production of the start type (in grammar order): the prior mass of the
    programs rooted in it with lo < millibits <= hi (hi None: no bound) and at most
    `node_cap` nodes, from the exact count tables; None where the tables cannot tell
    (the node cap is below the size of some program of at most the length bound used)."""
    roots = grammar.by_type[grammar.start]
    bound = hi if hi is not None else lo
    if bound < 0:  # no length bound at all: the mass within the node cap
        return list(_sizes(grammar, node_cap)[1])
    table = grammar.length_table(bound / MBITS_PER_BIT)
    if table.max_nodes > node_cap:
        return None
    index = {length: k for k, length in enumerate(table.lengths)}

    def within(p: int, low: int, high: int) -> float:
        """Mass of the programs rooted in p with low < millibits <= high."""
        b = grammar.mbits[p]
        return math.fsum(c * 2.0 ** (-(b + length) / MBITS_PER_BIT)
                         for length, c in zip(table.lengths, table.suffix[(p, 0)])
                         if c and low < b + length <= high and length in index)

    if hi is not None:
        return [within(p, lo, hi) for p in roots]
    capped = _sizes(grammar, node_cap)[1]
    return [max(0.0, m - within(p, -1, lo)) for p, m in zip(roots, capped)]


def _sizes(grammar: Grammar, max_nodes: int) -> tuple[np.ndarray, list[float]]:
    """Exact prior mass by program size, float64 [max_nodes + 1], and for each production
    of the start type the mass of the programs of at most max_nodes nodes rooted in it.

    Dynamic programming over sizes: a production's argument tuples of n nodes in all
    are counted, weighted, from the arguments' own tables (as `Grammar.length_table`
    does over lengths)."""
    tix = {t: k for k, t in enumerate(grammar.types)}
    mass = np.zeros((len(grammar.types), max_nodes + 1))
    active = [p for p in range(len(grammar.productions)) if grammar.mbits[p] >= 0]
    # suffix[(p, j)][n]: weighted count of argument tuples j.. of production p with n nodes.
    suffix = {}
    for p in active:
        arity = grammar.productions[p].arity
        for j in range(arity + 1):
            suffix[(p, j)] = np.zeros(max_nodes + 1)
        suffix[(p, arity)][0] = 1.0
    weight = [0.0 if m < 0 else 2.0 ** (-m / MBITS_PER_BIT) for m in grammar.mbits]
    for n in range(1, max_nodes + 1):
        rest = n - 1  # nodes left for the arguments of a production at the root
        for p in active:
            args = grammar.productions[p].args
            for j in range(len(args) - 1, -1, -1):
                if rest >= 1:
                    a = tix[args[j]]
                    # argument j takes k = 1..rest nodes, the arguments after it rest - k
                    suffix[(p, j)][rest] = float(np.dot(mass[a, 1: rest + 1], suffix[(p, j + 1)][rest - 1::-1]))
        for p in active:
            mass[tix[grammar.productions[p].type], n] += weight[p] * suffix[(p, 0)][rest]
    roots = [weight[p] * math.fsum(suffix[(p, 0)][: max_nodes]) if grammar.mbits[p] >= 0 else 0.0
             for p in grammar.by_type[grammar.start]]
    return mass[tix[grammar.start]], roots
