"""Exhaustive Busy Beaver and CTM (coding theorem method) computations over n-state machines.

Machines of n states are numbered 0 .. (4n+2)^(2n) - 1 in the grammar's enumeration
order (the Enumerator's order of the programs of that size): the transitions are the
digits, base R = 4n + 2, of the index, the (A,0) transition the most significant, and
digit t is the t-th production of T<n> (0H, 0LA, ..., 0RA, ..., 1H, 1LA, ...). Every
machine runs from the blank tape for at most `step_cap` steps (halting transition
included: the default cost model).

A `Census` holds exact integer aggregates over a set of machines: how many, how many
halted within the cap, the most steps and most ones among halting machines with the
first CHAMPIONS machines (by index) attaining each, histograms of halting steps and
ones, and the output distribution of halting machines (count per output string).
Censuses of disjoint sets merge exactly, in any order (`Census.merge`), and round-trip
through JSON, so work can be split, checkpointed, resumed or distributed.

Two ways to cover the machines of n states:

- `census(n, start, stop, step_cap)`: every machine with index in [start, stop)
  (brute force over that range; parts of kind "machines").
- the reduced computation (docs/tm.md has the proofs): `census_trivial(n, step_cap)`
  covers the machines whose (A,0) transition halts or moves back to A, without
  running them; `census_orbits(n, start, stop, step_cap)` covers the orbits of the
  canonical machines (those whose (A,0) transition is wR B) with canonical index in
  [start, stop) of 0 .. 2 R^(2n-1) - 1: each canonical machine is run once and stands
  for the 2(n-1) machines obtained by renaming B <-> X and mirroring L <-> R. The
  trivial part and all orbits together are every machine, and give exactly the Census
  of brute force (tests/test_tm_census.py).

Both may skip running machines that cannot reach a halting transition (`prune`): they
never halt, and a non-halting machine adds nothing to a Census but its count.
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np

from dsl.errors import DslError
from dsl.tm import kernels
from dsl.tm import primitives as tp

#: Champion machines kept per record (the first by index).
CHAMPIONS = 10
#: Machines per kernel call.
BATCH = 1 << 22
#: Machines per work unit inside a kernel call (independent of the thread count).
CHUNK = 2048
#: Largest n whose machine indices fit int64 ((4n+2)^(2n) < 2^63 up to n = 6).
MAX_N = 6

KINDS = ("machines", "orbits", "trivial")

#: Known Busy Beaver values (n: (S(n), Sigma(n))) in this formalism (halting transition
#: counted as a step, 2 symbols, blank tape): Rado 1962 (n = 1, 2), Lin and Rado 1965
#: (n = 3), Brady 1983 (n = 4), the bbchallenge proof of 2024 (n = 5). Every halting
#: n-state machine halts within S(n) steps, so a cap of S(n) decides halting for n <= 5.
KNOWN = {1: (1, 1), 2: (6, 4), 3: (21, 6), 4: (107, 13), 5: (47_176_870, 4098)}


def radix(n: int) -> int:
    """Choices per transition: 4n + 2."""
    return 4 * n + 2


def total(n: int) -> int:
    """Number of n-state machines: (4n+2)^(2n)."""
    return radix(n) ** (2 * n)


def canonical_total(n: int) -> int:
    """Number of canonical machines ((A,0) = 0RB or 1RB): 2 R^(2n-1) (0 for n = 1)."""
    return 2 * radix(n) ** (2 * n - 1) if n >= 2 else 0


def _check_n(n: int) -> None:
    if not 1 <= n <= MAX_N:
        raise DslError(f"census needs 1 <= n <= {MAX_N}, got {n}")


# ------------------------------------------------------------------ machine indices
def digits_of(n: int, index: int) -> list[int]:
    """The 2n transition digits of machine `index` ((A,0) first)."""
    if not 0 <= index < total(n):
        raise DslError(f"machine index {index} out of range for n = {n}")
    R, out = radix(n), []
    for _ in range(2 * n):
        index, d = divmod(index, R)
        out.append(d)
    return out[::-1]


def index_of(n: int, digits: Iterable[int]) -> int:
    index = 0
    for d in digits:
        index = index * radix(n) + int(d)
    return index


def machine_names(n: int, index: int) -> list[str]:
    names = [name for name, _, _ in tp.transitions(n)]
    return [names[d] for d in digits_of(n, index)]


def machine_text(n: int, index: int) -> str:
    """Program text of machine `index`, e.g. ``(tm2 1RB 1LB 1LA 1H)``."""
    return f"(tm{n} {' '.join(machine_names(n, index))})"


def machine_ops(grammar, n: int, index: int) -> np.ndarray:
    """Opcode array of machine `index` in a TM grammar that has n-state machines."""
    ids = tp.transition_productions(grammar, n)
    return np.array([tp.machine_production(grammar, n)] + [ids[d] for d in digits_of(n, index)],
                    dtype=np.int32)


def index_of_ops(grammar, ops) -> tuple[int, int]:
    """(n, index) of a TM program's opcode array."""
    root = grammar.productions[int(ops[0])]
    n = root.operand
    ids = {p: t for t, p in enumerate(tp.transition_productions(grammar, n))}
    return n, index_of(n, [ids[int(o)] for o in ops[1:1 + 2 * n]])


def _digit_map(n: int, sigma: list[int], mirror: bool) -> np.ndarray:
    """Digit -> digit under renaming states by sigma and (optionally) swapping L and R."""
    out = np.empty(radix(n), dtype=np.int64)
    for d in range(radix(n)):
        w, r = divmod(d, 2 * n + 1)
        if r == 0:
            out[d] = d
            continue
        move, s = divmod(r - 1, n)
        out[d] = tp.transition_digit(n, w, 1 - move if mirror else move, sigma[s])
    return out


def _orbit_column(n: int, canonical: np.ndarray, X: int, mirror: bool) -> np.ndarray:
    """Indices of the images of canonical machines under renaming B <-> X (X = 1 is
    no renaming) and, when `mirror`, swapping L and R."""
    R, T = radix(n), 2 * n
    digits = np.empty((len(canonical), T), dtype=np.int64)
    x = np.array(canonical, dtype=np.int64)
    for j in range(T - 1, -1, -1):
        digits[:, j] = x % R
        x //= R
    sigma = list(range(n))
    sigma[1], sigma[X] = X, 1
    dmap = _digit_map(n, sigma, mirror)
    out = np.zeros(len(canonical), dtype=np.int64)
    for q in range(T):  # new slot q = (sigma(s), b) holds the image of old slot (s, b)
        out = out * R + dmap[digits[:, 2 * sigma[q // 2] + q % 2]]  # sigma is an involution
    return out


def orbit_indices(n: int, canonical) -> np.ndarray:
    """Indices of the 2(n-1) machines each canonical machine stands for: rows are the
    canonical machines, columns (X, mirror) for X = B .. last state, mirror = no, yes
    (column 0 is the machine itself)."""
    canonical = np.asarray(canonical, dtype=np.int64)
    cols = [_orbit_column(n, canonical, X, mirror) for X in range(1, n) for mirror in (False, True)]
    return np.stack(cols, axis=1) if cols else np.empty((len(canonical), 0), dtype=np.int64)


def orbit_smallest(n: int, canonical, k: int = CHAMPIONS) -> list[int]:
    """The k smallest indices among the orbits of the given canonical machines.

    An orbit member's (A,0) transition (the most significant digit) is w, the move
    and X, the same for every canonical machine of that w: so the members of one
    column (w, X, mirror) are all smaller than those of a column with a larger (A,0)
    digit. Columns are taken in that order until k indices are found."""
    canonical = np.asarray(canonical, dtype=np.int64)
    block = radix(n) ** (2 * n - 1)
    w_of = (canonical // block) // (2 * n + 1)
    columns = sorted((tp.transition_digit(n, w, tp.RIGHT if not mirror else tp.LEFT, X), w, X, mirror)
                     for w in (0, 1) for X in range(1, n) for mirror in (False, True))
    found: list[int] = []
    for _, w, X, mirror in columns:
        group = canonical[w_of == w]
        if not len(group):
            continue
        values = _orbit_column(n, group, X, mirror)
        if len(values) > k:
            values = np.partition(values, k - 1)[:k]
        found += sorted(values.tolist())
        if len(found) >= k:
            break
    return sorted(found)[:k]


def canonical_to_index(n: int, c: int) -> int:
    """Full index of canonical machine number c ((A,0) = wRB, w = c // R^(2n-1))."""
    block = radix(n) ** (2 * n - 1)
    w, rest = divmod(c, block)
    return tp.transition_digit(n, w, tp.RIGHT, 1) * block + rest


# ------------------------------------------------------------------ the record
def _add(into: dict, key, value: int) -> None:
    if value:
        into[key] = into.get(key, 0) + int(value)


def _norm_parts(parts: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Sorted, adjacent ranges joined; raises on overlap (machines counted twice)."""
    out: list[tuple[str, int, int]] = []
    for kind, a, b in sorted((str(k), int(a), int(b)) for k, a, b in parts):
        if kind not in KINDS:
            raise DslError(f"unknown census part {kind!r}")
        if out and out[-1][0] == kind and (a < out[-1][2] or (kind == "trivial")):
            raise DslError(f"census parts overlap: {out[-1]} and {(kind, a, b)}")
        if out and out[-1][0] == kind and a == out[-1][2]:
            out[-1] = (kind, out[-1][1], b)
        elif a < b or kind == "trivial":
            out.append((kind, a, b))
    kinds = {k for k, _, _ in out}
    if "machines" in kinds and kinds - {"machines"}:
        raise DslError("cannot merge a brute-force census (machine ranges) with a reduced one (orbits)")
    return out


def _merge_champions(a: list[int], b: list[int]) -> list[int]:
    return sorted(set(a) | set(b))[:CHAMPIONS]


@dataclass
class Census:
    """Exact aggregates over a set of n-state machines run for at most step_cap steps."""

    n: int
    step_cap: int
    machines: int = 0  # machines covered
    halted: int = 0  # of them, halted within the cap
    max_steps: int = -1  # most steps of a halting machine (-1 when none halted)
    steps_champions: list[int] = field(default_factory=list)  # first CHAMPIONS indices
    max_ones: int = -1  # most ones of a halting machine (-1 when none halted)
    ones_champions: list[int] = field(default_factory=list)
    outputs: dict[str, int] = field(default_factory=dict)  # halting machines per output
    steps_hist: dict[int, int] = field(default_factory=dict)  # halting machines per steps
    ones_hist: dict[int, int] = field(default_factory=dict)  # halting machines per ones
    parts: list[tuple[str, int, int]] = field(default_factory=list)  # what is covered

    @property
    def capped(self) -> int:
        """Machines that did not halt within the cap."""
        return self.machines - self.halted

    @property
    def complete(self) -> bool:
        """Covers every n-state machine."""
        if self.parts == [("machines", 0, total(self.n))]:
            return True
        want = [("trivial", 0, 0)]
        if canonical_total(self.n):
            want = [("orbits", 0, canonical_total(self.n)), ("trivial", 0, 0)]
        return self.parts == want

    def champions(self, what: str = "steps") -> list[str]:
        """Program texts of the kept champions ("steps" or "ones")."""
        ids = self.steps_champions if what == "steps" else self.ones_champions
        return [machine_text(self.n, i) for i in ids]

    def record(self, what: str, value: int, indices: Iterable[int]) -> None:
        """Champion candidates: machines `indices`, all with `value` steps (what =
        "steps") or ones ("ones"); keeps the best value and its first CHAMPIONS."""
        best, kept = (self.max_steps, self.steps_champions) if what == "steps" else (self.max_ones, self.ones_champions)
        indices = [int(i) for i in indices]
        if value > best:
            best, kept = value, sorted(set(indices))[:CHAMPIONS]
        elif value == best:
            kept = _merge_champions(kept, indices)
        if what == "steps":
            self.max_steps, self.steps_champions = best, kept
        else:
            self.max_ones, self.ones_champions = best, kept

    def merge(self, other: "Census") -> "Census":
        """The census of the union of two disjoint sets of machines (a new object)."""
        if (self.n, self.step_cap) != (other.n, other.step_cap):
            raise DslError(f"cannot merge censuses of (n, cap) = {(self.n, self.step_cap)} "
                           f"and {(other.n, other.step_cap)}")
        out = Census(self.n, self.step_cap, parts=_norm_parts(self.parts + other.parts))
        out.machines = self.machines + other.machines
        out.halted = self.halted + other.halted
        for src in (self, other):
            if src.steps_champions:
                out.record("steps", src.max_steps, src.steps_champions)
            if src.ones_champions:
                out.record("ones", src.max_ones, src.ones_champions)
            for name in ("outputs", "steps_hist", "ones_hist"):
                into = getattr(out, name)
                for k, v in getattr(src, name).items():
                    _add(into, k, v)
        return _tidy(out)

    def check(self) -> None:
        """Raise DslError unless the census is one a census could have produced: sizes
        in range, counts that add up (outputs, steps and ones of the halted machines),
        record values within the step cap, outputs of 0s and 1s only, champions among
        the machines of its size. (What a checkpoint or record read back must satisfy.)"""
        def need(ok: bool, what: str) -> None:
            if not ok:
                raise DslError(f"not a census of n = {self.n!r} machines: {what}")

        ints = (self.n, self.step_cap, self.machines, self.halted, self.max_steps, self.max_ones)
        need(all(isinstance(x, int) and not isinstance(x, bool) for x in ints), "counts must be whole numbers")
        need(1 <= self.n <= MAX_N and self.step_cap >= 1, "states or step cap out of range")
        need(0 <= self.halted <= self.machines <= total(self.n),
             f"{self.halted:,} halted of {self.machines:,} of {total(self.n):,} machines")
        for name, hist in (("outputs", self.outputs), ("steps", self.steps_hist), ("ones", self.ones_hist)):
            need(all(isinstance(v, int) and v >= 1 for v in hist.values()), f"{name} counts must be at least 1")
            need(sum(hist.values()) == self.halted, f"{name} counts add up to {sum(hist.values()):,}, "
                 f"not the {self.halted:,} halted machines")
        need(all(isinstance(k, str) and set(k) <= {"0", "1"} for k in self.outputs), "outputs must be 0s and 1s")
        need(all(1 <= k <= self.step_cap for k in self.steps_hist), "steps beyond the step cap")
        need(all(0 <= k <= max(self.step_cap, 1) for k in self.ones_hist), "more ones than steps")
        halted = self.halted > 0
        need(self.max_steps == (max(self.steps_hist) if halted else -1), "max_steps is not the largest steps")
        need(self.max_ones == (max(self.ones_hist) if halted else -1), "max_ones is not the most ones")
        for ids in (self.steps_champions, self.ones_champions):
            need(len(ids) <= CHAMPIONS and all(isinstance(i, int) and 0 <= i < total(self.n) for i in ids),
                 "champions are not machines of this size")
        for kind, a, b in self.parts:
            need(kind in ("machines", "orbits", "trivial") and 0 <= a <= b <= total(self.n), f"part {kind} {a}..{b}")

    def __eq__(self, other) -> bool:
        if not isinstance(other, Census):
            return NotImplemented
        return self.to_dict(with_parts=False) == other.to_dict(with_parts=False)

    def to_dict(self, with_parts: bool = True) -> dict:
        d = dict(
            n=self.n, step_cap=self.step_cap, machines=self.machines, halted=self.halted,
            max_steps=self.max_steps, steps_champions=list(self.steps_champions),
            max_ones=self.max_ones, ones_champions=list(self.ones_champions),
            outputs=dict(sorted(self.outputs.items())),
            steps_hist={str(k): v for k, v in sorted(self.steps_hist.items())},
            ones_hist={str(k): v for k, v in sorted(self.ones_hist.items())},
        )
        if with_parts:
            d["parts"] = [list(p) for p in self.parts]
            d["steps_champion_texts"] = self.champions("steps")
            d["ones_champion_texts"] = self.champions("ones")
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)

    @classmethod
    def from_json(cls, text: str) -> "Census":
        d = json.loads(text)
        return cls(
            n=d["n"], step_cap=d["step_cap"], machines=d["machines"], halted=d["halted"],
            max_steps=d["max_steps"], steps_champions=list(d["steps_champions"]),
            max_ones=d["max_ones"], ones_champions=list(d["ones_champions"]),
            outputs={k: int(v) for k, v in d["outputs"].items()},
            steps_hist={int(k): int(v) for k, v in d["steps_hist"].items()},
            ones_hist={int(k): int(v) for k, v in d["ones_hist"].items()},
            parts=[(k, int(a), int(b)) for k, a, b in d["parts"]],
        )


# ------------------------------------------------------------------ running machines
def _key_string(key: int) -> str:
    length = key.bit_length() - 1
    return "".join("1" if key >> k & 1 else "0" for k in range(length))


def _long_outputs(n: int, indices: np.ndarray, step_cap: int) -> list[str]:
    """Outputs of halting machines too long for an integer key (rare): the simulator."""
    from dsl.tm.interpreter import TMInterpreter

    g = tp.grammar(max_states=n, states=[n])
    ops = np.stack([machine_ops(g, n, int(i)) for i in indices])
    runs = TMInterpreter(g).run(ops, np.full(len(ops), ops.shape[1], dtype=np.int32), step_cap)
    assert runs.halted.all()
    return [runs.output(i) for i in range(len(runs))]


def _batch(n: int, first: int, count: int, step_cap: int, prune: bool):
    """Run machines first .. first+count-1 and aggregate: (halted, outputs {str: count},
    steps hist, ones hist, (max steps, indices), (max ones, indices)); the indices are
    every machine attaining the maximum, ascending (int64 arrays)."""
    key, steps, ones = kernels.census_batch(np.int64(n), np.int64(first), np.int64(count),
                                            np.int64(step_cap), bool(prune), np.int64(CHUNK))
    hmask = key != kernels.NOT_HALTED
    halted = int(hmask.sum())
    outputs: dict[str, int] = {}
    if halted:
        hk = key[hmask]
        short = hk[hk >= 0]
        if len(short):
            if short.max() < (1 << 24):
                counts = np.bincount(short)
                values = np.flatnonzero(counts)
                counts = counts[values]
            else:
                values, counts = np.unique(short, return_counts=True)
            for v, c in zip(values.tolist(), counts.tolist()):
                outputs[_key_string(v)] = c
        long_idx = np.flatnonzero(key == kernels.LONG_OUTPUT)
        if len(long_idx):
            for s in _long_outputs(n, long_idx + first, step_cap):
                _add(outputs, s, 1)
    hsteps, hones = steps[hmask], ones[hmask]
    steps_hist = {k: int(v) for k, v in enumerate(np.bincount(hsteps).tolist()) if v} if halted else {}
    ones_hist = {k: int(v) for k, v in enumerate(np.bincount(hones).tolist()) if v} if halted else {}
    best_steps = best_ones = None
    if halted:
        m = int(hsteps.max())
        best_steps = (m, np.flatnonzero(hmask & (steps == m)) + first)
        m = int(hones.max())
        best_ones = (m, np.flatnonzero(hmask & (ones == m)) + first)
    return halted, outputs, steps_hist, ones_hist, best_steps, best_ones


def _check_cap(step_cap: int) -> None:
    if not 1 <= step_cap <= kernels.MAX_CAP:
        raise DslError(f"step_cap must be in 1 .. {kernels.MAX_CAP}, got {step_cap}")


def census(n: int, start: int = 0, stop: int | None = None, step_cap: int = 100, *,
           prune: bool = True, batch: int = BATCH) -> Census:
    """Brute force over the n-state machines with index in [start, stop)."""
    _check_n(n)
    _check_cap(step_cap)
    stop = total(n) if stop is None else stop
    if not 0 <= start <= stop <= total(n):
        raise DslError(f"range [{start}, {stop}) is not within 0 .. {total(n)}")
    out = Census(n, step_cap, parts=_norm_parts([("machines", start, stop)]))
    out.machines = stop - start
    for a in range(start, stop, batch):
        count = min(batch, stop - a)
        halted, outputs, sh, oh, bs, bo = _batch(n, a, count, step_cap, prune)
        out.halted += halted
        for s, c in outputs.items():
            _add(out.outputs, s, c)
        for k, v in sh.items():
            _add(out.steps_hist, k, v)
        for k, v in oh.items():
            _add(out.ones_hist, k, v)
        if bs:
            out.record("steps", bs[0], bs[1][:CHAMPIONS])
            out.record("ones", bo[0], bo[1][:CHAMPIONS])
    return _tidy(out)


def _tidy(c: Census) -> Census:
    for name in ("outputs", "steps_hist", "ones_hist"):
        setattr(c, name, dict(sorted(getattr(c, name).items())))
    return c


def census_trivial(n: int, step_cap: int) -> Census:
    """The machines whose (A,0) transition halts (they halt after 1 step with output w
    and w ones) or moves and stays in A (they never halt), computed without running."""
    _check_n(n)
    _check_cap(step_cap)
    block = radix(n) ** (2 * n - 1)
    out = Census(n, step_cap, parts=[("trivial", 0, 0)])
    out.machines = 6 * block  # 2 halting (A,0) choices + 4 that move and stay in A
    out.halted = 2 * block
    out.outputs = {"0": block, "1": block}
    out.steps_hist = {1: 2 * block}
    out.ones_hist = {0: block, 1: block}
    for w in (0, 1):
        first = tp.transition_digit(n, w, None, None) * block
        out.record("steps", 1, range(first, first + min(block, CHAMPIONS)))
        out.record("ones", w, range(first, first + min(block, CHAMPIONS)))
    return _tidy(out)


def census_orbits(n: int, start: int = 0, stop: int | None = None, step_cap: int = 100, *,
                  prune: bool = True, batch: int = BATCH) -> Census:
    """The orbits of canonical machines [start, stop) (of canonical_total(n)): each is
    run once and counted for the 2(n-1) machines it stands for (docs/tm.md)."""
    _check_n(n)
    _check_cap(step_cap)
    ctotal = canonical_total(n)
    stop = ctotal if stop is None else stop
    if not 0 <= start <= stop <= ctotal:
        raise DslError(f"range [{start}, {stop}) is not within 0 .. {ctotal}")
    mult = 2 * (n - 1)
    out = Census(n, step_cap, parts=_norm_parts([("orbits", start, stop)]))
    out.machines = mult * (stop - start)
    block = radix(n) ** (2 * n - 1)
    pieces = []  # canonical ranges split at the block boundary (w = 0 | w = 1)
    for w in (0, 1):
        a, b = max(start, w * block), min(stop, (w + 1) * block)
        if a < b:
            pieces.append((a, b))
    for a0, b0 in pieces:
        for a in range(a0, b0, batch):
            count = min(batch, b0 - a)
            first = canonical_to_index(n, a)
            halted, outputs, sh, oh, bs, bo = _batch(n, first, count, step_cap, prune)
            out.halted += mult * halted
            for s, c in outputs.items():  # half the orbit mirrored: reversed outputs
                _add(out.outputs, s, (n - 1) * c)
                _add(out.outputs, s[::-1], (n - 1) * c)
            for k, v in sh.items():
                _add(out.steps_hist, k, mult * v)
            for k, v in oh.items():
                _add(out.ones_hist, k, mult * v)
            if bs:
                # the K smallest indices of a union of disjoint orbits come from the K
                # orbits with the smallest minima; expanding every candidate is exact
                for value, cands, what in ((bs[0], bs[1], "steps"), (bo[0], bo[1], "ones")):
                    best = out.max_steps if what == "steps" else out.max_ones
                    if value >= best:
                        out.record(what, value, orbit_smallest(n, cands))
    return _tidy(out)


def full_census(n: int, step_cap: int, *, reduced: bool = True, prune: bool = True, batch: int = BATCH,
                checkpoint: str | None = None, progress: Callable[[Census, float], None] | None = None) -> Census:
    """Every n-state machine, by the reduced computation (default) or brute force.

    With `checkpoint` (a JSON file path), the census so far is saved after every batch
    and a run resumes from the file (it must be for the same n, cap and method).
    `progress(census_so_far, seconds)` is called after every batch."""
    _check_n(n)
    t0 = time.perf_counter()
    if reduced:
        done = census_trivial(n, step_cap)
        space, unit = canonical_total(n), "orbits"
    else:
        done = Census(n, step_cap)
        space, unit = total(n), "machines"
    if checkpoint and os.path.exists(checkpoint):
        with open(checkpoint) as f:
            saved = Census.from_json(f.read())
        if (saved.n, saved.step_cap) != (n, step_cap) or any(k not in (unit, "trivial") for k, _, _ in saved.parts):
            raise DslError(f"checkpoint {checkpoint} is for another census")
        done = saved
    covered = [(a, b) for k, a, b in done.parts if k == unit]
    if len(covered) > 1 or (covered and covered[0][0] != 0):
        raise DslError("checkpoint does not cover a prefix of the work")
    position = covered[0][1] if covered else 0
    while position < space:
        stop = min(space, position + batch)
        if reduced:
            part = census_orbits(n, position, stop, step_cap, prune=prune, batch=batch)
        else:
            part = census(n, position, stop, step_cap, prune=prune, batch=batch)
        done = done.merge(part)
        position = stop
        if checkpoint:
            tmp = checkpoint + ".tmp"
            with open(tmp, "w") as f:
                f.write(done.to_json())
            os.replace(tmp, checkpoint)
        if progress:
            progress(done, time.perf_counter() - t0)
    return done


# ------------------------------------------------------------------ CTM
def complement(s: str) -> str:
    return s.translate(str.maketrans("01", "10"))


def ctm_table(c: Census, *, complete: bool = False) -> list[tuple[str, int, float, float]]:
    """The output distribution: (string, count, D = count / halted, K = -log2 D), by
    frequency (count) descending, ties in lexicographic order of the strings.

    With `complete`, the distribution is completed by complementation (as in the
    published CTM tables, see docs/tm.md): each string counts its own machines and those
    of its complement, over twice the halting machines (machines run on a blank tape of
    0s and, symmetrically, of 1s)."""
    counts = dict(c.outputs)
    halted = c.halted
    if complete:
        counts = {s: counts.get(s, 0) + counts.get(complement(s), 0)
                  for s in set(counts) | {complement(s) for s in counts}}
        halted = 2 * halted
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [(s, k, k / halted, -math.log2(k / halted)) for s, k in rows]


# ------------------------------------------------------------------ command line
def main(argv: list[str] | None = None) -> None:
    """python -m dsl.tm.census N CAP [--brute] [--checkpoint FILE]: a full census,
    with progress on stderr and the summary on stdout."""
    import argparse
    import sys

    ap = argparse.ArgumentParser(prog="python -m dsl.tm.census", description=main.__doc__)
    ap.add_argument("n", type=int)
    ap.add_argument("cap", type=int)
    ap.add_argument("--brute", action="store_true", help="run every machine (no symmetry reduction)")
    ap.add_argument("--no-prune", action="store_true", help="run every machine to its cap")
    ap.add_argument("--checkpoint", help="JSON file: saved after every batch, resumed from")
    ap.add_argument("--batch", type=int, default=BATCH)
    args = ap.parse_args(argv)

    def progress(c: Census, seconds: float) -> None:
        print(f"{seconds:9.1f} s  machines {c.machines:,}  halted {c.halted:,}  S >= {c.max_steps}  "
              f"Sigma >= {c.max_ones}  outputs {len(c.outputs):,}", file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    c = full_census(args.n, args.cap, reduced=not args.brute, prune=not args.no_prune, batch=args.batch,
                    checkpoint=args.checkpoint, progress=progress)
    seconds = time.perf_counter() - t0
    print(f"n = {c.n}, cap = {c.step_cap}, complete = {c.complete}, {seconds:.1f} s this session")
    print(f"machines {c.machines:,}, halted {c.halted:,}, did not halt within the cap {c.capped:,}")
    print(f"max steps {c.max_steps}: {c.champions('steps')}")
    print(f"max ones {c.max_ones}: {c.champions('ones')}")
    print(f"distinct outputs {len(c.outputs):,}")
    for s, k, d, kk in ctm_table(c, complete=True)[:20]:
        print(f"  {s:>16}  {k:>14,}  D = {d:.6g}  K = {kk:.4f}")


if __name__ == "__main__":
    main()
