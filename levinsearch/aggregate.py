"""What a run keeps of the programs it judged: a streaming, mergeable summary.

Memory does not grow with the number of programs enumerated: a run keeps counts, the
best `keep` fitting programs, and one entry per distinct *behaviour* (the programs'
reached cells and moves on every environment the analyses use), with that behaviour's
count, exact prior mass and best program. Analyses then run once per behaviour.

Results do not depend on how the index space was cut (batches, an interruption and
resume, shards on a cluster): counts are integers, masses are summed exactly as dyadic
rationals (every float 2^-score is one), and the best programs are chosen by the total
order (score, enumeration index). Merging summaries in any order gives the same summary.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable

import numpy as np

from dsl.grammar import MBITS_PER_BIT
from levinsearch import score as scoring
from levinsearch.files import atomic_file

#: Rows of int32 per program, identical iff the programs behave identically.
BehaviourFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Dyadic:
    """An exact non-negative number num * 2^-exp (Python ints: no rounding, any size)."""

    num: int = 0
    exp: int = 0

    def __add__(self, other: "Dyadic") -> "Dyadic":
        if self.exp >= other.exp:
            return Dyadic(self.num + (other.num << (self.exp - other.exp)), self.exp)
        return Dyadic((self.num << (other.exp - self.exp)) + other.num, other.exp)

    def fraction(self) -> Fraction:
        return Fraction(self.num, 1 << self.exp) if self.exp >= 0 else Fraction(self.num << -self.exp)

    def __float__(self) -> float:
        return float(self.fraction())

    def ratio(self, other: "Dyadic") -> float:
        """self / other, correctly rounded (0 when other is 0)."""
        return float(self.fraction() / other.fraction()) if other.num else 0.0

    def encode(self) -> str:
        return f"{self.num:x}:{self.exp}"

    @staticmethod
    def decode(text: str) -> "Dyadic":
        """The number `encode` wrote; ValueError for anything else (a negative numerator,
        an exponent no 2^-score can have)."""
        if not isinstance(text, str) or len(text) > 4096:
            raise ValueError(f"not an exact mass: {str(text)[:40]!r}")
        num, exp = text.split(":")
        value = Dyadic(int(num, 16), int(exp))
        if value.num < 0 or not -(1 << 20) <= value.exp <= 1 << 20:
            raise ValueError(f"not an exact mass: {text[:40]!r}")
        return value


class ScaledMasses:
    """Exact masses per (behaviour, flag kind) as Python ints over one common 2^-shift,
    so that sums are plain integer sums and a share is one correctly rounded integer
    division: `share` and `value` give exactly what Dyadic.ratio and float(Dyadic) give
    (both round the same rational to the nearest float), without building a Dyadic or a
    Fraction per behaviour."""

    def __init__(self, mass: list[list[Dyadic]], total: Dyadic, kinds: int):
        self.shift = max([0, total.exp] + [m.exp for row in mass for m in row])
        shift = self.shift
        self.kinds = kinds
        self.units = [[m.num << (shift - m.exp) for m in row] for row in mass]
        self.total = total.num << (shift - total.exp)

    def with_flag(self, bit: int) -> list[int]:
        """Per behaviour: the mass of its programs with flag `bit`."""
        kinds = [f for f in range(self.kinds) if f >> bit & 1]
        return [sum(row[f] for f in kinds) for row in self.units]

    def of_kinds(self, kinds) -> int:
        """The mass of the programs of every behaviour whose flags are in `kinds`."""
        return sum(row[f] for row in self.units for f in kinds)

    def groups(self) -> list[int]:
        """Per behaviour: the mass of all its programs."""
        return [sum(row) for row in self.units]

    def share(self, units: int) -> float:
        """units / total, correctly rounded (0 when the total is 0): Dyadic.ratio."""
        return units / self.total if self.total else 0.0

    def value(self, units: int) -> float:
        """The mass as a float, correctly rounded: float(Dyadic)."""
        return units / (1 << self.shift)


def dyadic_terms(score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2^-score exactly as m * 2^-k (int64 arrays): m < 2^53, the float's own digits."""
    whole = np.floor(score)
    mant, e = np.frexp(np.exp2(whole - score))  # 2^-frac in (1/2, 1]
    m = np.ldexp(mant, 53).astype(np.int64)
    k = 53 + whole.astype(np.int64) - e.astype(np.int64)
    return m, k


def score_buckets(score: np.ndarray) -> np.ndarray:
    """Millibit bucket of each score (floor(MBITS_PER_BIT * score))."""
    return np.floor(np.asarray(score) * float(MBITS_PER_BIT)).astype(np.int64)


def exact_sums(labels: np.ndarray, m: np.ndarray, k: np.ndarray) -> list[tuple[tuple[int, ...], Dyadic]]:
    """Sum the terms m * 2^-k exactly per distinct row of `labels` (int64 [n, j])."""
    rows, inv = np.unique(np.concatenate([labels, k[:, None]], axis=1), axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    # Split the 53-bit digits in halves so that int64 sums of up to 2^36 terms are exact.
    hi = np.zeros(len(rows), dtype=np.int64)
    lo = np.zeros(len(rows), dtype=np.int64)
    np.add.at(hi, inv, m >> 26)
    np.add.at(lo, inv, m & ((1 << 26) - 1))
    return [(tuple(row[:-1]), Dyadic((h << 26) + l, row[-1]))
            for row, h, l in zip(rows.tolist(), hi.tolist(), lo.tolist())]


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser on uint64 arrays (wrapping arithmetic)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def behaviour_keys(rows: np.ndarray) -> np.ndarray:
    """A 128-bit hash (uint64 [n, 2]) of each row: equal rows, equal keys; a collision
    between different rows has probability about 2^-128 per pair."""
    n, d = rows.shape
    v = rows.astype(np.int64).view(np.uint64)
    pos = np.arange(d, dtype=np.uint64)
    with np.errstate(over="ignore"):
        h1 = _mix(v + _mix(pos + np.uint64(0x9E3779B97F4A7C15))).sum(axis=1, dtype=np.uint64)
        h2 = _mix(v ^ _mix(pos * np.uint64(0xD6E8FEB86659FD93) + np.uint64(1))).sum(axis=1, dtype=np.uint64)
    return np.stack([_mix(h1), _mix(h2 ^ h1)], axis=1) if n else np.zeros((0, 2), dtype=np.uint64)


_PROGRAM_FIELDS = (("sizes", np.int32), ("mbits", np.int64), ("steps", np.int64), ("successes", np.int32),
                   ("rank", np.int64), ("score", np.float64))


class Programs:
    """A table of programs: ops [n, width] and one column per field of _PROGRAM_FIELDS."""

    def __init__(self, width: int, n: int = 0):
        self.ops = np.full((n, width), -1, dtype=np.int32)
        for name, dtype in _PROGRAM_FIELDS:
            setattr(self, name, np.zeros(n, dtype=dtype))

    def __len__(self) -> int:
        return int(self.ops.shape[0])

    @property
    def width(self) -> int:
        return int(self.ops.shape[1])

    def widen(self, width: int) -> None:
        """Pad `ops` with -1 to at least `width` columns (tail samples can be longer than
        any program enumerated)."""
        if width > self.width:
            self.ops = np.concatenate([self.ops, np.full((len(self), width - self.width), -1, dtype=np.int32)],
                                      axis=1)

    def take(self, idx) -> "Programs":
        out = Programs(self.ops.shape[1])
        out.ops = self.ops[idx]
        for name, _ in _PROGRAM_FIELDS:
            setattr(out, name, getattr(self, name)[idx])
        return out

    @staticmethod
    def concat(parts: list["Programs"]) -> "Programs":
        """The rows of every part in order, as wide as the widest."""
        width = max(p.width for p in parts)
        out = Programs(width)
        out.ops = np.concatenate([np.pad(p.ops, ((0, 0), (0, width - p.width)), constant_values=-1) for p in parts])
        for name, _ in _PROGRAM_FIELDS:
            setattr(out, name, np.concatenate([getattr(p, name) for p in parts]))
        return out

    def best_first(self) -> np.ndarray:
        """Indices by (score, enumeration index): the order of the report."""
        return np.lexsort((self.rank, self.score))

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        out = {f"{prefix}ops": self.ops}
        out.update({f"{prefix}{name}": getattr(self, name) for name, _ in _PROGRAM_FIELDS})
        return out

    @staticmethod
    def from_arrays(arrays, prefix: str) -> "Programs":
        out = Programs(arrays[f"{prefix}ops"].shape[1])
        out.ops = np.asarray(arrays[f"{prefix}ops"])
        for name, dtype in _PROGRAM_FIELDS:
            setattr(out, name, np.asarray(arrays[f"{prefix}{name}"], dtype=dtype))
        return out


@dataclass
class ScoreRule:
    """How a program's score follows from its length, simulated steps and (under the
    noise model) its training successes out of `trials`."""

    length_weight: float
    time_weight: float
    time_penalty: str
    noise: float = 0.0
    trials: int = 0

    def __call__(self, mbits, steps, successes=None) -> np.ndarray:
        score = scoring.scores(mbits, steps, self.length_weight, self.time_weight, self.time_penalty)
        if self.noise > 0:
            score = score + scoring.exception_bits(self.trials - np.asarray(successes), self.trials, self.noise)
        return score


class Aggregate:
    """Everything a run keeps about the programs judged so far (see the module docstring).

    Programs carry structural flags (a small bit set, e.g. bit 0: contains search), so
    `kinds` = 2^(number of flags). Per behaviour g: count[g, f] the programs with flags f,
    mass[g][f] their exact prior mass, first_mbits[g] the shortest length showing the
    behaviour, and representatives[g] its best program.

    The same summary holds a run's tail samples (`levinsearch.tail`): there a program's
    "score" is its weight in bits (what its score adds to its description length), so
    masses are sums of sample weights, `programs` counts samples and `attempts` the
    derivations drawn for them; with `squares`, squares[g][f] also sums each mass
    squared (2^-2 score, exactly), which the estimate's intervals need. A run's summary
    keeps its tail's in `tail` (None without one); merging, saving and loading carry it
    along.
    """

    def __init__(self, width: int, keep: int, kinds: int = 2, squares: bool = False):
        self.width = width
        self.keep = keep
        self.kinds = kinds
        self.squares: list[list[Dyadic]] | None = [] if squares else None
        self.programs = 0  # judged
        self.fitting = 0
        self.levels: dict[int, list] = {}  # mbits -> [programs, fitting, seconds]
        self.compile_seconds = 0.0  # spent compiling or loading kernels (not in the levels' seconds)
        self.levin_steps = 0
        self.uncertified = 0
        self.attempts = 0
        self.tail: Aggregate | None = None
        self.total_mass = Dyadic()
        self.top = Programs(width)
        self.top_flags = np.zeros(0, dtype=np.int64)
        self.shortest = Programs(width)  # the fitting program of fewest bits (ties: first enumerated)
        self.keys: dict[tuple[int, int], int] = {}
        self.count = np.zeros((0, kinds), dtype=np.int64)
        self.first_mbits = np.zeros(0, dtype=np.int64)
        self.mass: list[list[Dyadic]] = []
        self.representatives = Programs(width)
        self.score_mass: dict[int, Dyadic] = {}  # millibit score bucket -> exact mass
        self.score_count: dict[int, int] = {}
        self.level_mass: dict[int, Dyadic] = {}  # length (mbits) -> exact mass of its fitting programs
        # Every fitting program with its flags and behaviour key, kept only when a prior
        # ensemble will reweight them (levinsearch.ensemble; `keep_fitting`): memory then
        # grows with the fitting programs. None otherwise.
        self.fits: Programs | None = None
        self.fit_flags = np.zeros(0, dtype=np.int64)
        self.fit_keys = np.zeros((0, 2), dtype=np.uint64)

    # -------------------------------------------------------------- adding programs
    def add_level_work(self, mbits: int, programs: int, fitting: int, seconds: float) -> None:
        row = self.levels.setdefault(int(mbits), [0, 0, 0.0])
        row[0] += programs
        row[1] += fitting
        row[2] += seconds
        self.programs += programs
        self.fitting += fitting

    def keep_fitting(self) -> None:
        """From now on keep every fitting program (for a prior ensemble)."""
        if self.fits is None:
            self.fits = Programs(self.width)

    def _store_fitting(self, found: Programs, flags: np.ndarray, keys: np.ndarray) -> None:
        self.fits = Programs.concat([self.fits, found])
        self.fit_flags = np.concatenate([self.fit_flags, flags])
        self.fit_keys = np.concatenate([self.fit_keys, keys.astype(np.uint64).reshape(-1, 2)])

    def add_fitting(self, found: Programs, flags: np.ndarray, rows: np.ndarray) -> None:
        """Fold in fitting programs with their structural flags (int in [0, kinds)) and
        behaviour rows."""
        if len(found) == 0:
            return
        self.add_keyed(found, flags, behaviour_keys(rows))

    def add_keyed(self, found: Programs, flags: np.ndarray, keys: np.ndarray) -> None:
        """`add_fitting` with the behaviour keys already computed (uint64 [n, 2])."""
        flags = np.asarray(flags, dtype=np.int64)
        n = len(found)
        if n == 0:
            return
        if self.fits is not None:
            self._store_fitting(found, flags, keys)
        if self.keep:  # keep 0 (a tail summary): no best programs or shortest kept
            self._add_top(found, flags)
            self._add_shortest(found)
        uniq, inv = np.unique(keys, axis=0, return_inverse=True)
        inv = inv.reshape(-1)
        gids = np.empty(len(uniq), dtype=np.int64)
        new = []
        for u, (h1, h2) in enumerate(uniq.tolist()):
            gid = self.keys.get((h1, h2))
            if gid is None:
                gid = len(self.keys) + len(new)
                new.append((h1, h2))
            gids[u] = gid
        best = self._best_per_group(found, inv)
        if new:
            first_new = len(self.keys)
            for j, key in enumerate(new):
                self.keys[key] = first_new + j
            self._grow(len(new))
        g = gids[inv]
        np.add.at(self.count, (g, flags), 1)
        np.minimum.at(self.first_mbits, g, found.mbits)
        # Representatives: replace where this batch holds a better program.
        for u, i in enumerate(best):
            gid = gids[u]
            cur = self.representatives
            if cur.sizes[gid] == 0 or (found.score[i], found.rank[i]) < (cur.score[gid], cur.rank[gid]):
                self._set_program(cur, gid, found, i)
        m, k = dyadic_terms(found.score)
        for (gid, s), term in exact_sums(np.stack([g, flags], axis=1), m, k):
            self.mass[gid][s] = self.mass[gid][s] + term
            self.total_mass = self.total_mass + term
        if self.squares is not None:
            m2, k2 = dyadic_terms(2 * found.score)
            for (gid, s), term in exact_sums(np.stack([g, flags], axis=1), m2, k2):
                self.squares[gid][s] = self.squares[gid][s] + term
        # Mass by score, in millibit buckets: what "within k bits of the best" reads.
        for (bucket,), term in exact_sums(score_buckets(found.score)[:, None], m, k):
            row = self.score_mass.setdefault(bucket, Dyadic())
            self.score_mass[bucket] = row + term
        for bucket, n_in in zip(*np.unique(score_buckets(found.score), return_counts=True)):
            self.score_count[int(bucket)] = self.score_count.get(int(bucket), 0) + int(n_in)
        for (mbits,), term in exact_sums(found.mbits.astype(np.int64)[:, None], m, k):
            self.level_mass[mbits] = self.level_mass.get(mbits, Dyadic()) + term

    @property
    def judged(self) -> int:
        """Programs judged, and tail samples judged: the run's position in its work."""
        return self.programs + (self.tail.judged if self.tail is not None else 0)

    def _grow(self, extra: int) -> None:
        self.count = np.concatenate([self.count, np.zeros((extra, self.kinds), dtype=np.int64)])
        self.first_mbits = np.concatenate([self.first_mbits, np.full(extra, np.iinfo(np.int64).max)])
        self.mass += [[Dyadic()] * self.kinds for _ in range(extra)]
        if self.squares is not None:
            self.squares += [[Dyadic()] * self.kinds for _ in range(extra)]
        self.representatives = Programs.concat([self.representatives, Programs(self.width, extra)])

    @staticmethod
    def _best_per_group(found: Programs, inv: np.ndarray) -> np.ndarray:
        order = found.best_first()
        _, first = np.unique(inv[order], return_index=True)
        return order[first]

    @staticmethod
    def _set_program(table: Programs, at: int, source: Programs, i: int) -> None:
        table.widen(source.width)
        table.ops[at, : source.width] = source.ops[i]
        table.ops[at, source.width:] = -1
        for name, _ in _PROGRAM_FIELDS:
            getattr(table, name)[at] = getattr(source, name)[i]

    def _add_shortest(self, found: Programs) -> None:
        both = Programs.concat([self.shortest, found])
        self.shortest = both.take(np.lexsort((both.rank, both.mbits))[:1])

    def _add_top(self, found: Programs, flags: np.ndarray) -> None:
        both = Programs.concat([self.top, found])
        all_flags = np.concatenate([self.top_flags, flags])
        order = both.best_first()[: self.keep]
        self.top, self.top_flags = both.take(order), all_flags[order]

    # -------------------------------------------------------------- merging
    def merge(self, other: "Aggregate") -> None:
        """Fold in another summary (of a disjoint range of the same enumeration)."""
        for mbits, (p, f, s) in other.levels.items():
            self.add_level_work(mbits, p, f, s)
        self.levin_steps += other.levin_steps
        self.uncertified += other.uncertified
        self.compile_seconds += other.compile_seconds
        self.attempts += other.attempts
        if other.tail is not None:
            if self.tail is None:
                self.tail = Aggregate(other.tail.width, other.tail.keep, other.tail.kinds,
                                      other.tail.squares is not None)
            self.tail.merge(other.tail)
        self.total_mass = self.total_mass + other.total_mass
        for bucket, mass in other.score_mass.items():
            self.score_mass[bucket] = self.score_mass.get(bucket, Dyadic()) + mass
        for bucket, n in other.score_count.items():
            self.score_count[bucket] = self.score_count.get(bucket, 0) + n
        for mbits, mass in other.level_mass.items():
            self.level_mass[mbits] = self.level_mass.get(mbits, Dyadic()) + mass
        if self.keep:
            self._add_top(other.top, other.top_flags)
            self._add_shortest(other.shortest)
        if self.fits is not None and other.fits is not None and len(other.fits):
            self._store_fitting(other.fits, other.fit_flags, other.fit_keys)
        new = [key for key in other.keys if key not in self.keys]
        first_new = len(self.keys)
        for j, key in enumerate(new):
            self.keys[key] = first_new + j
        self._grow(len(new))
        if not other.keys:
            return
        theirs = np.fromiter(other.keys.values(), dtype=np.int64, count=len(other.keys))
        ours = np.fromiter((self.keys[key] for key in other.keys), dtype=np.int64, count=len(other.keys))
        self.count[ours] += other.count[theirs]  # each behaviour once: no repeated index
        self.first_mbits[ours] = np.minimum(self.first_mbits[ours], other.first_mbits[theirs])
        for g, og in zip(ours.tolist(), theirs.tolist()):
            for mine, add in ((self.mass[g], other.mass[og]),) + (
                    ((self.squares[g], other.squares[og]),) if self.squares is not None else ()):
                for f, term in enumerate(add):
                    if term.num:
                        mine[f] = mine[f] + term
        rep, orep = self.representatives, other.representatives
        better = (rep.sizes[ours] == 0) | (orep.score[theirs] < rep.score[ours]) | (
            (orep.score[theirs] == rep.score[ours]) & (orep.rank[theirs] < rep.rank[ours]))
        at, source = ours[better], theirs[better]
        rep.widen(orep.width)
        rep.ops[at, : orep.width] = orep.ops[source]
        rep.ops[at, orep.width:] = -1
        for name, _ in _PROGRAM_FIELDS:
            getattr(rep, name)[at] = getattr(orep, name)[source]

    # -------------------------------------------------------------- reading out
    @property
    def behaviours(self) -> int:
        return len(self.keys)

    def key_of(self, g: int) -> tuple[int, int]:
        """The behaviour key (128-bit hash) of group g."""
        if not hasattr(self, "_key_list") or len(self._key_list) != len(self.keys):
            self._key_list = [None] * len(self.keys)
            for key, i in self.keys.items():
                self._key_list[i] = key
        return self._key_list[g]

    def canonical_order(self) -> np.ndarray:
        """Behaviours ordered by their best program (score, index): independent of how
        and in which order the work was done."""
        return self.representatives.best_first()

    def flag_mass(self, g: int, bit: int) -> Dyadic:
        """Exact mass of the programs of behaviour g that have flag `bit`."""
        total = Dyadic()
        for f in range(self.kinds):
            if f >> bit & 1:
                total = total + self.mass[g][f]
        return total

    def flag_count(self, g: int, bit: int) -> int:
        return int(sum(self.count[g, f] for f in range(self.kinds) if f >> bit & 1))

    def group_mass(self, g: int) -> Dyadic:
        total = Dyadic()
        for m in self.mass[g]:
            total = total + m
        return total

    def scaled_masses(self) -> "ScaledMasses":
        """Every behaviour's exact masses as integers over one power of two (cached until
        the summary changes): what a record reads for every behaviour at once."""
        key = (len(self.mass), self.kinds, self.total_mass)
        cached = getattr(self, "_scaled", None)
        if cached is None or cached[0] != key:
            cached = (key, ScaledMasses(self.mass, self.total_mass, self.kinds))
            self._scaled = cached
        return cached[1]

    def mass_within(self, bits: float) -> tuple[Dyadic, int]:
        """Exact mass and count of fitting programs whose score is within `bits` of the
        best (at millibit resolution)."""
        if not self.score_mass:
            return Dyadic(), 0
        limit = min(self.score_mass) + int(round(bits * MBITS_PER_BIT))
        mass, count = Dyadic(), 0
        for bucket in sorted(self.score_mass):
            if bucket <= limit:
                mass = mass + self.score_mass[bucket]
                count += self.score_count[bucket]
        return mass, count

    def behaviours_by_level(self) -> dict[int, int]:
        """Distinct behaviours among fitting programs of at most each length."""
        return {mbits: int(np.count_nonzero(self.first_mbits <= mbits)) for mbits in sorted(self.levels)}

    # -------------------------------------------------------------- checking
    def check(self, productions: int) -> None:
        """Raise ValueError unless the summary is consistent: counts add up to the totals,
        every behaviour's arrays have one row, masses add up to the total mass, and every
        program kept is a row of production ids below `productions` padded with -1.
        (What a checkpoint read back must satisfy before a run resumes from it.)"""
        def need(ok: bool, what: str) -> None:
            if not ok:
                raise ValueError(what)

        need(isinstance(self.programs, int) and isinstance(self.fitting, int) and 0 <= self.fitting <= self.programs,
             f"fitting programs {self.fitting!r} of {self.programs!r} judged")
        rows = list(self.levels.values())
        need(all(isinstance(r, list) and len(r) == 3 and all(isinstance(x, (int, float)) for x in r) and
                 isinstance(r[0], int) and isinstance(r[1], int) and 0 <= r[1] <= r[0] for r in rows),
             "per-length counts")
        need(sum(r[0] for r in rows) == self.programs and sum(r[1] for r in rows) == self.fitting,
             "per-length counts do not add up to the totals")
        g = len(self.keys)
        need(self.kinds >= 1 and self.kinds & (self.kinds - 1) == 0, f"flag kinds {self.kinds!r}")
        need(self.count.shape == (g, self.kinds) and len(self.mass) == g and len(self.first_mbits) == g and
             len(self.representatives) == g and all(len(row) == self.kinds for row in self.mass),
             "one row per behaviour")
        need(bool((self.count >= 0).all()) and int(self.count.sum()) == self.fitting,
             "behaviour counts do not add up to the fitting programs")
        total = Dyadic()
        for row in self.mass:
            for m in row:
                total = total + m
        need(total == self.total_mass or total.fraction() == self.total_mass.fraction(),
             "behaviour masses do not add up to the total mass")
        for name, table in (("representatives", self.representatives), ("best programs", self.top),
                            ("shortest program", self.shortest)):
            ops, sizes = table.ops, table.sizes
            need(ops.ndim == 2 and len(sizes) == len(ops) and bool((sizes >= 0).all()) and
                 bool((sizes <= ops.shape[1]).all()), f"{name}: sizes")
            if len(ops):
                inside = np.arange(ops.shape[1])[None, :] < sizes[:, None]
                need(bool(((ops >= 0) & (ops < productions))[inside].all()) and bool((ops[~inside] == -1).all()),
                     f"{name}: not programs of this grammar")
        need(len(self.top) <= self.keep and len(self.top_flags) == len(self.top), "best programs")
        if self.fits is not None:
            need(len(self.fits) == self.fitting == len(self.fit_flags) == len(self.fit_keys),
                 "kept fitting programs do not match the fitting count")
        if self.squares is not None:
            need(len(self.squares) == g and all(len(row) == self.kinds for row in self.squares), "squared masses")
        if self.tail is not None:
            self.tail.check(productions)

    # -------------------------------------------------------------- saving
    def save(self, path: Path, extra: dict | None = None) -> None:
        """Write to `path` (.npz) atomically (levinsearch.files.atomic_file): a checkpoint is
        either old or new, never half, and on disk when this returns (DslError when the disk
        refuses).
        `extra` (JSON-able) is stored alongside and returned by `load`."""
        meta, arrays = self._contents()
        if self.tail is not None:
            meta["tail"], tail_arrays = self.tail._contents()
            arrays.update({f"tail_{k}": v for k, v in tail_arrays.items()})
        meta["extra"] = extra or {}
        with atomic_file(path, ".tmp.npz") as handle:  # fsync'd: a checkpoint survives a power cut
            np.savez(handle, meta=np.array(json.dumps(meta)), **arrays)

    def _contents(self) -> tuple[dict, dict[str, np.ndarray]]:
        """(JSON-able fields, arrays) of this summary, without its tail."""
        keys = np.array(list(self.keys), dtype=np.uint64).reshape(-1, 2)
        meta = dict(width=self.width, keep=self.keep, kinds=self.kinds, programs=self.programs, fitting=self.fitting,
                    levels={str(k): v for k, v in self.levels.items()}, levin_steps=self.levin_steps,
                    uncertified=self.uncertified, attempts=self.attempts, compile_seconds=self.compile_seconds,
                    total_mass=self.total_mass.encode(),
                    mass=[[m.encode() for m in pair] for pair in self.mass],
                    squares=None if self.squares is None else [[m.encode() for m in row] for row in self.squares],
                    score_mass={str(b): m.encode() for b, m in self.score_mass.items()},
                    score_count={str(b): c for b, c in self.score_count.items()},
                    level_mass={str(b): m.encode() for b, m in self.level_mass.items()})
        arrays = dict(keys=keys, count=self.count, first_mbits=self.first_mbits, top_flags=self.top_flags,
                      **self.top.arrays("top_"), **self.representatives.arrays("rep_"),
                      **self.shortest.arrays("short_"))
        if self.fits is not None:  # only a run with a prior ensemble keeps them
            meta["fits"] = True
            arrays.update(fit_flags=self.fit_flags, fit_keys=self.fit_keys, **self.fits.arrays("fit_"))
        return meta, arrays

    @staticmethod
    def load(path: Path) -> tuple["Aggregate", dict]:
        from levinsearch.files import loads_json
        with np.load(path, allow_pickle=False) as data:
            meta = loads_json(str(data["meta"]), str(path))
            agg = Aggregate._from_contents(meta, data, "")
            if meta.get("tail") is not None:
                agg.tail = Aggregate._from_contents(meta["tail"], data, "tail_")
        return agg, meta["extra"]

    @staticmethod
    def _from_contents(meta: dict, data, prefix: str) -> "Aggregate":
        agg = Aggregate(meta["width"], meta["keep"], meta["kinds"], meta.get("squares") is not None)
        agg.programs, agg.fitting = meta["programs"], meta["fitting"]
        if agg.squares is not None:
            agg.squares = [[Dyadic.decode(m) for m in row] for row in meta["squares"]]
        agg.levels = {int(k): v for k, v in meta["levels"].items()}
        agg.levin_steps, agg.uncertified = meta["levin_steps"], meta["uncertified"]
        agg.attempts = meta.get("attempts", 0)
        agg.compile_seconds = meta.get("compile_seconds", 0.0)  # older checkpoints did not keep it
        agg.total_mass = Dyadic.decode(meta["total_mass"])
        agg.mass = [[Dyadic.decode(m) for m in pair] for pair in meta["mass"]]
        agg.score_mass = {int(b): Dyadic.decode(m) for b, m in meta["score_mass"].items()}
        agg.score_count = {int(b): c for b, c in meta["score_count"].items()}
        # Checkpoints written before per-length masses were kept have none: their
        # per-length bounds are left out of the record (see record.enumeration_section).
        agg.level_mass = {int(b): Dyadic.decode(m) for b, m in meta.get("level_mass", {}).items()}
        agg.keys = {(int(a), int(b)): i for i, (a, b) in enumerate(data[f"{prefix}keys"].tolist())}
        agg.count = np.array(data[f"{prefix}count"], dtype=np.int64).reshape(-1, agg.kinds)
        agg.first_mbits = np.array(data[f"{prefix}first_mbits"], dtype=np.int64)
        agg.top_flags = np.array(data[f"{prefix}top_flags"], dtype=np.int64)
        agg.top = Programs.from_arrays(data, f"{prefix}top_")
        agg.shortest = Programs.from_arrays(data, f"{prefix}short_")
        agg.representatives = Programs.from_arrays(data, f"{prefix}rep_")
        if meta.get("fits"):
            agg.fits = Programs.from_arrays(data, f"{prefix}fit_")
            agg.fit_flags = np.array(data[f"{prefix}fit_flags"], dtype=np.int64)
            agg.fit_keys = np.array(data[f"{prefix}fit_keys"], dtype=np.uint64).reshape(-1, 2)
        return agg
