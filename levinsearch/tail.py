"""The whole posterior: the programs the enumeration did not reach, estimated by sampling.

An enumeration to B bits judges every program of at most B bits exactly; the programs
beyond it (the *tail*) can still hold most of the posterior. The grammar is a
probabilistic grammar, so drawing productions with probability 2^-bits draws programs
in proportion to their prior mass (`dsl.sampling`). A run with `tail_samples = N`
draws N programs from the prior restricted to the *sampled region*, judges them with
the same kernels, and estimates every posterior figure over all programs.

The region: the programs of more than B bits (length order) or every program (Levin
order, where those of at most B bits that Levin search did not certify are unseen too),
of at most `tail_max_bits` bits when that is set (validation: an exhaustive run to it
gives the truth) and of at most `node_cap` nodes. Its prior mass `mass` is exact (the
grammar's Kraft sums by length and by size). Programs beyond the node cap are
*unresolved*: their mass is bounded (`unresolved_mass`) and enters every interval at its
worst case.

Each sample p gets the weight y(p) = 2^(bits(p) - score(p)) when it fits and the run did
not see it, else 0: what its score adds to its description length (time penalty,
noise likelihood, a length weight above 1). The tail's fitting mass is then
mass * mean(y), and a figure that is a share of the posterior, R = (exact part + tail
part) / (exact total + tail total), is estimated by putting in the sample means. Its
interval at confidence C (`estimate`; C = 0.95 unless the run sets `confidence`) takes
an interval for each of the two sums R depends on (the weights of the samples it counts,
and of the other fitting samples), at 1 - (1 - C) / 2 each (97.5% for C = 0.95), and R
at their worst corners. Fitting samples are rare events with weights in [0, y_max]
(`weight_max`), so each sum gets Fay and Feuer's gamma interval for a weighted sum of
Poisson counts (`weighted_poisson_interval`): exact Garwood for weights 1, never too
narrow in their simulations for any weights, and with no fitting sample still 3.7 y_max
above zero. docs/concepts.md explains the estimate and how it differs from the sound
bound.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from dsl.errors import DslError
from dsl.grammar import MBITS_PER_BIT, bits_to_mbits
from dsl.sampling import Sampler, mass_by_nodes
from dsl.syntax import unparse
from levinsearch import score as scoring
from levinsearch.aggregate import Aggregate, Dyadic, Programs
from levinsearch.fit import COMPILE_CLOCK, FIRST_BATCH, NO_CAP, Tally, levin_budget, next_batch_size

#: Largest tail sample, in nodes: larger derivations are unresolved (their mass is
#: bounded, and counts at its worst case). Raised to the enumeration's largest program
#: when that is larger, so that every enumerated program is inside the cap.
NODE_CAP = 512
#: A region whose prior mass is below this share of the Kraft sum is not sampled
#: (rejection would need more than a million attempts per sample).
MIN_REGION_SHARE = 1e-6
#: Confidence of every interval the estimate gives, unless the run's config sets its own
#: (`confidence`, from --confidence or [experiment] confidence).
CONFIDENCE = 0.95
#: Most tail samples judged at once: a batch is as wide as its largest sample, so
#: smaller batches than the enumeration's keep the padded arrays small.
TAIL_BATCH = 8192
#: Behaviours of the tail listed in the record.
LARGEST = 10
#: How the intervals are made (recorded with the estimate).
METHOD = "gamma (Fay-Feuer)"


@dataclass
class TailPlan:
    """What a run samples: `samples` programs of stream `seed` from the region
    lo_mbits < bits <= hi_mbits (hi None: no bound), at most `node_cap` nodes."""

    samples: int
    seed: int
    lo_mbits: int
    hi_mbits: int | None
    node_cap: int
    mass: float  # exact prior mass of the region
    unresolved_mass: float  # bound on the prior mass of unseen programs outside it (too many nodes)
    kraft_sum: float
    _sampler: Sampler | None = field(default=None, repr=False)

    @property
    def empty(self) -> bool:
        """True when nothing is left to sample: the enumeration reached every program."""
        return self.mass <= 0 and self.unresolved_mass <= 0

    def sampler(self, grammar) -> Sampler:
        if self._sampler is None:
            self._sampler = Sampler(grammar, self.seed, lo=self.lo_mbits, hi=self.hi_mbits, node_cap=self.node_cap)
        return self._sampler


def plan(prep) -> TailPlan | None:
    """The tail plan of a prepared run (None when it takes no tail samples)."""
    s = prep.config["search"]
    samples = int(s.get("tail_samples", 0))
    if samples == 0:
        return None
    grammar, enumerator = prep.grammar, prep.enumerator
    b = enumerator.max_mbits
    lo = b if s["order"] == "length" else -1
    hi = bits_to_mbits(s["tail_max_bits"]) if s.get("tail_max_bits") is not None else None
    node_cap = max(NODE_CAP, enumerator.max_nodes)
    kraft = grammar.kraft_total()[1]
    below = sum(m for length, _, m in grammar.kraft_by_length(b / MBITS_PER_BIT) if length <= lo) if lo >= 0 else 0.0
    if hi is not None:
        # Every program of at most hi millibits: exact counts, all inside the node cap.
        table = grammar.length_table(hi / MBITS_PER_BIT)
        node_cap = max(node_cap, table.max_nodes)
        mass = sum(m for length, _, m in grammar.kraft_by_length(hi / MBITS_PER_BIT) if lo < length <= hi)
        unresolved = 0.0
    else:
        within_cap = float(mass_by_nodes(grammar, node_cap).sum())
        mass = max(0.0, within_cap - below)
        unresolved = max(0.0, kraft - within_cap)
    if mass < 1e-15:
        mass = 0.0
    if 0 < mass < MIN_REGION_SHARE * grammar.kraft_by_type()[0][grammar.type_index(grammar.start)]:
        raise DslError(f"the programs beyond the enumeration have prior mass {mass:.3g}: too little to sample "
                       "(each sample would take over a million draws); drop tail_samples")
    return TailPlan(samples, int(s.get("tail_seed", 0)), lo, hi, node_cap, mass, unresolved, kraft)


def levin_caps(max_mbits: int, mbits: np.ndarray) -> np.ndarray:
    """Levin search's step budget for programs of these lengths in its last phase (as
    the enumeration gave it, `fit.levin_budget`); lengths above max_mbits get -1."""
    lengths, inverse = np.unique(mbits, return_inverse=True)
    caps = np.array([levin_budget(max_mbits, int(m)) if m <= max_mbits else -1 for m in lengths], dtype=np.int64)
    return caps[inverse.reshape(-1)]


def judge_samples(prep, agg: Aggregate, start: int, stop: int, *, batch_size: int,
                  progress: Callable[[int, float], None] | None = None,
                  should_stop: Callable[[], bool] | None = None,
                  after_batch: Callable[[int], None] | None = None) -> int:
    """Judge tail samples start..stop-1 into `agg` (the run's tail summary); return the
    first sample not judged (== stop when finished; less when `should_stop` said so).

    A sample counts as a fitting tail program when it fits and the run did not see it
    (Levin order: longer than the enumeration, or not certified in its budget); its
    Programs row keeps its weight in bits (score - bits) as its score. Batches are sized
    by wall time as in `fit.judge_range`; nothing depends on where they are cut."""
    from levinsearch.record import score_rule
    tail = prep.tail
    judge, grammar = prep.judge, prep.grammar
    rule = score_rule(prep.config, judge.trials)
    levin = prep.config["search"]["order"] == "levin"
    b = prep.enumerator.max_mbits
    sampler = tail.sampler(grammar)
    position = start
    batch_size = min(batch_size, TAIL_BATCH)
    size = min(batch_size, FIRST_BATCH)
    while position < stop:
        n = min(size, stop - position)
        t0, compiled0 = time.perf_counter(), COMPILE_CLOCK.seconds()
        ops, sizes, mbits, attempts = sampler.sample(position, n)
        if (attempts < 0).any():
            raise DslError("a tail sample found no program of the region in 2^24 draws; drop tail_samples")
        fits, successes, verdict = judge.fit(ops, sizes, np.full(n, NO_CAP, dtype=np.int64))
        if levin:
            fits = fits & ((mbits > b) | (verdict > levin_caps(b, mbits)))
        idx = np.flatnonzero(fits)
        if len(idx):
            found = Programs(ops.shape[1], 0)
            found.ops, found.sizes, found.mbits = ops[idx], sizes[idx], mbits[idx].astype(np.int64)
            found.steps = verdict[idx].astype(np.int64)
            if judge.time_steps is not None:
                found.steps = judge.time_steps(found.ops, found.sizes, found.steps,
                                               np.full(len(idx), NO_CAP, dtype=np.int64)).astype(np.int64)
            found.successes = successes[idx].astype(np.int32)
            found.rank = position + idx.astype(np.int64)
            found.score = np.maximum(rule(found.mbits, found.steps, found.successes) - found.mbits / MBITS_PER_BIT,
                                     0.0)
            agg.add_fitting(found, judge.structure(found.ops), judge.behaviour(found.ops, found.sizes))
        compiled = COMPILE_CLOCK.seconds() - compiled0
        agg.compile_seconds += compiled
        seconds = max(0.0, time.perf_counter() - t0 - compiled)
        # Samples and fitting samples by whole bits (the band [b, b + 1) kept as b).
        bands = (mbits // MBITS_PER_BIT) * MBITS_PER_BIT
        lengths, counts = np.unique(bands, return_counts=True)
        fit_lengths = dict(zip(*np.unique(bands[idx], return_counts=True))) if len(idx) else {}
        for length, count in zip(lengths.tolist(), counts.tolist()):
            agg.add_level_work(length, count, int(fit_lengths.get(length, 0)), seconds * count / n)
        agg.attempts += int(attempts.sum())
        position += n
        if after_batch:
            after_batch(position)
        if progress:
            progress(position, seconds)
        size = next_batch_size(size, time.perf_counter() - t0 - compiled, batch_size)
        if should_stop and should_stop() and position < stop:
            break
    return position


def tally(prep, agg: Aggregate, seconds: float) -> Tally:
    """Progress of a run in its tail phase."""
    t = agg.tail
    return Tally(agg.judged, prep.total, 0.0, t.programs, prep.tail.samples, agg.fitting + t.fitting,
                 agg.behaviours, seconds, phase="tail")


# ------------------------------------------------------------------ the estimate
def weight_max(prep) -> float:
    """The largest weight y = 2^(bits - score) a fitting tail program can have: its time
    term is at least the one of `min_fit_steps`, its likelihood at most the best one,
    and (length order, a > 1) its bits more than the enumeration's."""
    s = prep.config["search"]
    trials = prep.judge.trials
    noise = s.get("noise", 0.0)
    best, _ = scoring.likelihood_bounds(trials, noise, scoring.max_errors(trials, s["fit_threshold"], noise))
    t = max(int(prep.domain.min_fit_steps(prep)), 1)
    time_term = math.log2(t) if s["time_penalty"] == "log" else float(t)
    length_part = (s["length_weight"] - 1) * max(prep.tail.lo_mbits, 0) / MBITS_PER_BIT
    return min(1.0, best * 2.0 ** (-s["time_weight"] * time_term - length_part))


def group_sums(agg: Aggregate, table: list[list] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per behaviour of a summary (group index): the sum over its flag kinds of `table`
    (default: its masses; `agg.squares` for the squares), float [G], and the same over
    the kinds with each structural flag bit, float [G, bits] (exact sums, then rounded)."""
    table = agg.mass if table is None else table
    bits = max(agg.kinds.bit_length() - 1, 0)

    def total(row, kinds) -> float:
        out = Dyadic()
        for f in kinds:
            out = out + row[f]
        return float(out)

    whole = np.array([total(row, range(agg.kinds)) for row in table], dtype=np.float64)
    flags = np.array([[total(row, [f for f in range(agg.kinds) if f >> bit & 1]) for bit in range(bits)]
                      for row in table], dtype=np.float64).reshape(len(table), bits)
    return whole, flags


def weighted_poisson_interval(total: float, squares: float, largest: float, alpha: float) -> tuple[float, float]:
    """Two-sided (1 - alpha) interval for the expectation of a sum of weighted rare
    events, `total` the sum of their weights, `squares` the sum of the weights squared
    and `largest` the largest weight an event can have: the gamma interval of Fay and
    Feuer (1997), which adds one event of the largest weight to the upper end (so no
    event seen still gives an upper end of about 3.7 x `largest`). With every weight 1
    it is Garwood's exact Poisson interval."""
    from scipy.stats import gamma  # here: scipy.stats takes 0.6 s to import, and most runs never need it
    if largest <= 0:
        return 0.0, 0.0
    if total > 0 and not squares > 0:
        squares = total * largest  # the weights' squares underflowed: take their largest possible
    low = 0.0 if total <= 0 else float(gamma.ppf(alpha / 2, total * total / squares, scale=squares / total))
    top, top_squares = total + largest, squares + largest * largest
    high = float(gamma.ppf(1 - alpha / 2, top * top / top_squares, scale=top_squares / top))
    return low, high


#: A part of the tail's fitting samples: (sum of their weights, sum of the weights squared).
Part = tuple[float, float]


class Posterior:
    """The whole posterior of a run: the exact part over the enumerated programs (its
    summary `agg`) and the tail estimate (its samples `agg.tail`)."""

    #: The level of the intervals (the run's config `confidence`, else CONFIDENCE).
    confidence: float = CONFIDENCE

    def __init__(self, prep, agg: Aggregate):
        self.plan: TailPlan = prep.tail
        self.confidence = float(prep.config.get("confidence", CONFIDENCE))
        self.grammar = prep.grammar
        self.agg, self.tail = agg, agg.tail
        self.exact_total = float(agg.total_mass)
        self.samples = self.tail.programs if self.tail is not None else 0
        self.weight_max = weight_max(prep)
        self.unresolved = self.plan.unresolved_mass * self.weight_max
        self._sums: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.tail_sum = math.fsum(self.tail_sums()[0]) if self.tail is not None else 0.0
        self.tail_squares = math.fsum(self._table("tail_squares")[0]) if self.tail is not None else 0.0

    def _table(self, which: str) -> tuple[np.ndarray, np.ndarray]:
        if which not in self._sums:
            if which == "exact":
                self._sums[which] = group_sums(self.agg)
            elif self.tail is None:
                self._sums[which] = (np.zeros(0), np.zeros((0, 0)))
            else:
                self._sums[which] = group_sums(self.tail, self.tail.squares if which == "tail_squares" else None)
        return self._sums[which]

    def exact_sums(self) -> tuple[np.ndarray, np.ndarray]:
        """Per enumerated behaviour (group index): its exact prior mass, float [G], and
        the mass of its programs with each structural flag bit, float [G, bits]."""
        return self._table("exact")

    def tail_sums(self) -> tuple[np.ndarray, np.ndarray]:
        """`exact_sums` for the tail's behaviours: sums of the samples' weights."""
        return self._table("tail")

    def known(self) -> np.ndarray:
        """For each tail behaviour, the enumerated behaviour with the same key (its group
        index), or -1 where the enumeration never showed it."""
        if self.tail is None:
            return np.zeros(0, dtype=np.int64)
        return np.array([self.agg.keys.get(self.tail.key_of(g), -1) for g in range(self.tail.behaviours)],
                        dtype=np.int64)

    @property
    def ready(self) -> bool:
        """Whether an estimate can be given: tail samples were judged, or none are needed."""
        return self.plan.empty or self.samples > 0

    def figure(self, exact_values: np.ndarray, tail_values: np.ndarray) -> dict[str, Any] | None:
        """The estimate of a share whose value per behaviour is in [0, 1] (value[g] of
        enumerated behaviour g, weighted by its mass, and likewise for the tail's)."""
        exact_values = np.asarray(exact_values, dtype=np.float64)
        v = np.asarray(tail_values, dtype=np.float64)
        sums, squares = self.tail_sums()[0], self._table("tail_squares")[0]
        # fsum: correctly rounded, so no figure depends on the order of the groups.
        return self.estimate(math.fsum(self.exact_sums()[0] * exact_values),
                             (math.fsum(sums * v), math.fsum(squares * v * v)),
                             (math.fsum(sums * (1 - v)), math.fsum(squares * (1 - v) ** 2)))

    def flag_figure(self, bit: int) -> dict[str, Any] | None:
        """The share held by the programs with structural flag `bit` (a per-program
        flag: counted per sample, not per behaviour)."""
        exact = self.exact_sums()[1]
        sums, squares = self.tail_sums(), self._table("tail_squares")
        part = (math.fsum(sums[1][:, bit]), math.fsum(squares[1][:, bit])) if len(sums[0]) else (0.0, 0.0)
        rest = (math.fsum(sums[0] - sums[1][:, bit]), math.fsum(squares[0] - squares[1][:, bit])) \
            if len(sums[0]) else (0.0, 0.0)
        return self.estimate(math.fsum(exact[:, bit]) if len(exact) else 0.0, part, rest)

    def exact_figure(self, exact_part: float) -> dict[str, Any] | None:
        """A share no tail program can enter (a single enumerated program's, say): its
        numerator is exact, its denominator the whole posterior's."""
        return self.estimate(exact_part, None, (self.tail_sum, self.tail_squares) if self.tail is not None else None)

    def estimate(self, exact_part: float, tail_part: Part | None, tail_rest: Part | None) -> dict[str, Any] | None:
        """A share of the whole posterior: (exact_part + tail part) / (exact total + tail
        total), from the exact prior mass `exact_part` of the enumerated programs it
        counts, and the tail's fitting samples it counts (`tail_part`) and the other ones
        (`tail_rest`), each as (sum of weights, sum of squared weights); None for a part
        that is empty by construction (not estimated). Returns {exact, estimate, low,
        high} (the exact share over the enumerated programs beside the whole-posterior
        estimate and its interval), or None where there is no posterior at all."""
        exact = min(1.0, exact_part / self.exact_total) if self.exact_total > 0 else None
        if not self.ready:
            return None
        if self.plan.empty:
            return dict(exact=exact, estimate=exact, low=exact, high=exact) if exact is not None else None
        n, mass, ymax = self.samples, self.plan.mass, self.weight_max
        parts = [x for x in (tail_part, tail_rest) if x is not None]
        alpha = (1 - self.confidence) / max(len(parts), 1)  # Bonferroni: both parts hold at once

        def bounds(part: Part | None) -> tuple[float, float, float]:
            """The part's mean weight per sample, and its interval."""
            if part is None:
                return 0.0, 0.0, 0.0
            low, high = weighted_poisson_interval(max(part[0], 0.0), max(part[1], 0.0), ymax, alpha)
            return part[0] / n, low / n, min(high / n, ymax)

        m1, l1, h1 = bounds(tail_part)
        m2, l2, h2 = bounds(tail_rest)

        def ratio(num: float, den: float, empty: float | None) -> float | None:
            return min(1.0, max(0.0, num / den)) if den > 0 else empty

        # No fitting program seen at all: the estimate is 0/0, the interval what the
        # samples still allow (up to everything).
        return dict(exact=exact,
                    estimate=ratio(exact_part + mass * m1, self.exact_total + mass * (m1 + m2), None),
                    low=ratio(exact_part + mass * l1, self.exact_total + mass * (l1 + h2) + self.unresolved, 0.0),
                    high=ratio(exact_part + mass * h1 + self.unresolved,
                               self.exact_total + mass * (h1 + l2) + self.unresolved, 1.0 if parts else 0.0))

    def mixture(self, exact_preds: np.ndarray, tail_preds: np.ndarray, deploy: np.ndarray) -> dict[str, Any]:
        """The Bayes mixture over all programs, step by step, for a prediction domain:
        `exact_preds` [G, steps] and `tail_preds` [G', steps] are the enumerated and the
        tail behaviours' predictions (by group index), `deploy` the true values. Per
        step: the value of largest estimated posterior, the estimate of the true value's
        share with its interval, and whether the intervals decide the step (right: the
        true value's share is above every other value's at their worst; wrong: below
        some other value's; else undecided)."""
        steps = []
        for k in range(len(deploy)):
            values = sorted(set(exact_preds[:, k].tolist()) | set(tail_preds[:, k].tolist()))
            shares = {v: self.figure((exact_preds[:, k] == v).astype(np.float64),
                                     (tail_preds[:, k] == v).astype(np.float64)) for v in values}
            shares = {v: s for v, s in shares.items() if s is not None}
            if not shares:
                steps.append(None)
                continue
            mixture = max(shares, key=lambda v: (shares[v]["estimate"], -values.index(v)))
            target = int(deploy[k])
            right = shares.get(target)
            others = [s for v, s in shares.items() if v != target]
            if right is not None and all(right["low"] > s["high"] for s in others):
                decided = "right"
            elif right is None or any(right["high"] < s["low"] for s in others):
                decided = "wrong"
            else:
                decided = "undecided"
            steps.append(dict(mixture=int(mixture), correct=mixture == target, decided=decided,
                              target_share=right or dict(exact=None, estimate=0.0, low=0.0, high=0.0)))
        done = [s for s in steps if s is not None]
        errors = sum(not s["correct"] for s in done)
        return dict(steps=steps, mixture=[s["mixture"] if s else None for s in steps],
                    mixture_errors=errors,
                    mixture_errors_range=[sum(s["decided"] == "wrong" for s in done),
                                          sum(s["decided"] != "right" for s in done)],
                    mixture_error_rate=errors / len(done) if done else None)

    def share(self) -> dict[str, Any] | None:
        """The tail's own share of the whole posterior."""
        return self.estimate(0.0, (self.tail_sum, self.tail_squares) if self.tail is not None else None, None)

    def section(self, largest: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """The record's `tail` part (any domain); `largest`: the domain's table of the
        tail's largest behaviours (default: program, samples and estimated share)."""
        plan, tail = self.plan, self.tail
        per_length = []
        if tail is not None:
            per_length = [dict(bits=m // MBITS_PER_BIT, samples=p, fitting=f)
                          for m, (p, f, _) in sorted(tail.levels.items())]
        if largest is None:
            largest = self.largest()
        return dict(
            samples=plan.samples,
            judged=self.samples,
            seed=plan.seed,
            region=dict(min_bits_exclusive=plan.lo_mbits / MBITS_PER_BIT if plan.lo_mbits >= 0 else None,
                        max_bits=plan.hi_mbits / MBITS_PER_BIT if plan.hi_mbits is not None else None,
                        node_cap=plan.node_cap),
            mass=plan.mass,
            unresolved_mass=plan.unresolved_mass,
            weight_max=self.weight_max,
            attempts=tail.attempts if tail is not None else 0,
            fitting=tail.fitting if tail is not None else 0,
            fitting_weight=self.tail_sum,
            behaviours=tail.behaviours if tail is not None else 0,
            new_behaviours=sum(1 for key in (tail.keys if tail is not None else {}) if key not in self.agg.keys),
            share=self.share(),
            confidence=self.confidence,
            method=METHOD,
            per_length=per_length,
            largest=largest,
        )

    def largest(self, limit: int = LARGEST, describe: Callable[[list[int]], list[dict[str, Any]]] | None = None
                ) -> list[dict[str, Any]]:
        """The tail's behaviours of largest estimated mass (at most `limit`): key,
        program (its best sample), samples, whether the enumeration showed it, and its
        estimated share of the whole posterior; `describe(groups)` adds the domain's
        fields for those tail groups."""
        tail = self.tail
        if tail is None or tail.behaviours == 0:
            return []
        sums, squares = self.tail_sums()[0], self._table("tail_squares")[0]
        # The canonical order breaks ties in the sums, independent of how work was cut.
        rank = np.empty(tail.behaviours, dtype=np.int64)
        rank[tail.canonical_order()] = np.arange(tail.behaviours)
        chosen = np.lexsort((rank, -sums))[:limit].tolist()
        extra = describe(chosen) if describe else [{} for _ in chosen]
        reps = tail.representatives
        out = []
        for g, fields in zip(chosen, extra):
            h1, h2 = tail.key_of(g)
            known = self.agg.keys.get((h1, h2))
            exact = float(self.exact_sums()[0][known]) if known is not None else 0.0
            # A behaviour the enumeration showed is named by its best enumerated program.
            shown = self.agg.representatives if known is not None else reps
            at = known if known is not None else g
            part = (float(sums[g]), float(squares[g]))
            out.append(dict(key=f"{h1:016x}{h2:016x}", program=unparse(shown.ops[at, : shown.sizes[at]], self.grammar),
                            samples=int(tail.count[g].sum()), enumerated=known is not None,
                            posterior=self.estimate(exact, part, (self.tail_sum - part[0], self.tail_squares - part[1])),
                            **fields))
        return out
