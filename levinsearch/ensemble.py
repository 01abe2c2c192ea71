"""Prior ensembles: the run's headlines under K alternative encodings drawn around its
grammar (docs/concepts.md, "Prior ensembles").

Draw k gives every type's productions new probabilities from a Dirichlet centred on the
grammar's own, q ~ Dir(c * p / sum p), scaled back by sum p, so each type keeps its
Kraft sum (bits rounded up to whole millibits, as the grammar rounds). The fitting
programs the run already found are then reweighted under the drawn bits. That is exact
over the programs whose drawn length is at most r' * C, where C is the length up to which
the enumeration is complete and r' = min(1, the smallest ratio drawn bits / given bits
over the productions with given bits > 0): any such program has given length at most C
(under Levin order: drawn length + log2 t at most r' * C implies given length + log2 t at
most C), so the run judged it. Each draw's posterior is over exactly that set.

Domain-blind: a domain turns a reweighted summary into a record its sweep metrics read
(`Domain.ensemble_record`) and names the directional statements worth counting
(`Domain.ensemble_directions`).
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from dsl.grammar import MAX_PRODUCTION_BITS, MBITS_PER_BIT, Grammar
from levinsearch.aggregate import Aggregate
from levinsearch.fit import complete_mbits
from levinsearch.record import score_rule
from levinsearch.sweeps import metrics, metrics_of

#: Mixed into each draw's random stream so that it is not the environments' stream.
STREAM = 0x5052494F52  # "PRIOR"
#: The quantiles every headline is reported at over the draws (5%, median, 95%).
QUANTILES = (0.05, 0.5, 0.95)
#: Slack (bits) taken off a Levin-order bound, so that floating-point sums never admit a
#: program the enumeration did not certify.
_LEVIN_SLACK = 1e-9


@dataclass(frozen=True)
class Draw:
    """One drawn encoding: millibits per production (-1 banned, as `Grammar.mbits`) and
    r' = min(1, min drawn / given over the productions with given bits > 0)."""

    mbits: np.ndarray
    ratio: Fraction


def drawn_mbits(probabilities: np.ndarray) -> np.ndarray:
    """Whole millibits of each probability, rounded up (so the Kraft sum does not grow);
    a probability of 0, or one costing more than MAX_PRODUCTION_BITS, gets that cap."""
    p = np.asarray(probabilities, dtype=np.float64)
    with np.errstate(divide="ignore"):
        bits = np.where(p > 0, -np.log2(np.where(p > 0, p, 1.0)), float(MAX_PRODUCTION_BITS))
    bits = np.minimum(np.maximum(bits, 0.0), float(MAX_PRODUCTION_BITS))
    return np.ceil(bits * MBITS_PER_BIT).astype(np.int64)


def kraft(mbits: np.ndarray) -> float:
    """sum 2^-bits of the given millibits."""
    return float(np.exp2(-np.asarray(mbits, dtype=np.float64) / MBITS_PER_BIT).sum())


def draw_table(grammar: Grammar, concentration: float, rng: np.random.Generator) -> np.ndarray:
    """One drawn bit table (see the module docstring). Banned productions stay banned;
    a type with one production keeps its bits."""
    given = np.array(grammar.mbits, dtype=np.int64)
    out = given.copy()
    for t in grammar.types:
        ids = np.array(grammar.by_type[t], dtype=np.int64)
        if len(ids) < 2:
            continue
        p = np.exp2(-given[ids] / MBITS_PER_BIT)
        total = float(p.sum())
        q = rng.dirichlet(concentration * p / total)
        if not np.all(np.isfinite(q)):
            raise ValueError(f"Dirichlet draw for {t} is not finite (concentration {concentration:g} too small?)")
        m = drawn_mbits(q * total)
        # Rounding up keeps the sum at or below the given one; float sums may still land a
        # hair above 1: take one more millibit off the likeliest until they do not.
        while kraft(m) > 1.0:
            m[int(np.argmin(m))] += 1
        out[ids] = m
    return out


def ratio(given: np.ndarray, drawn: np.ndarray) -> Fraction:
    """r' = min(1, min over productions with given millibits > 0 of drawn / given)."""
    r = Fraction(1)
    for g, d in zip(np.asarray(given).tolist(), np.asarray(drawn).tolist()):
        if g > 0:
            r = min(r, Fraction(d, g))
    return r


def draws(grammar: Grammar, count: int, concentration: float, seed: int) -> list[Draw]:
    """The `count` drawn encodings of a run of experiment seed `seed`: draw k comes from
    its own stream (seed, k), so the same seed gives the same draws."""
    given = np.array(grammar.mbits, dtype=np.int64)
    out = []
    for k in range(count):
        rng = np.random.default_rng(np.random.SeedSequence([STREAM, int(seed), k]))
        table = draw_table(grammar, concentration, rng)
        out.append(Draw(table, ratio(given, table)))
    return out


def covered(agg: Aggregate, draw: Draw, order: str, complete: int) -> np.ndarray:
    """Indices (into `agg.fits`, in enumeration order) of the fitting programs inside the
    draw's bound, and their drawn millibits: (indices, mbits). Empty when r' = 0 (no
    bound can be proved)."""
    fits = agg.fits
    by_rank = np.argsort(fits.rank, kind="stable")  # shards may have merged in any order
    ops = fits.ops[by_rank]
    table = np.append(draw.mbits, 0)  # ops pad with -1: the appended 0
    mbits = table[ops].sum(axis=1) if len(ops) else np.zeros(0, dtype=np.int64)
    r = draw.ratio
    if r == 0:
        keep = np.zeros(len(ops), dtype=bool)
    elif order == "levin":
        time = np.log2(np.maximum(fits.steps[by_rank].astype(np.float64), 1.0))
        keep = mbits / MBITS_PER_BIT + time <= float(r) * complete / MBITS_PER_BIT - _LEVIN_SLACK
    else:  # exact: drawn * den <= num * C
        keep = mbits * r.denominator <= r.numerator * complete
    return by_rank[keep], mbits[keep]


def reweigh(prep, agg: Aggregate, draw: Draw, complete: int) -> Aggregate:
    """The summary of the run's fitting programs under a drawn encoding: those inside the
    draw's bound, scored by the run's own rule (length weight, time term, likelihood)
    with their drawn bits."""
    idx, mbits = covered(agg, draw, prep.config["search"]["order"], complete)
    found = agg.fits.take(idx)
    found.mbits = mbits.astype(np.int64)
    found.score = score_rule(prep.config, prep.judge.trials)(found.mbits, found.steps, found.successes)
    out = Aggregate(agg.width, agg.keep, agg.kinds)
    out.add_keyed(found, agg.fit_flags[idx], agg.fit_keys[idx])
    out.programs, out.fitting = agg.programs, len(idx)
    # Per drawn length, the covered fitting programs: what reads the per-length counts
    # (Occam's shortest tie counts its programs there) sees the drawn lengths, not an
    # empty table. Programs judged per drawn length are not defined; the fitting count
    # stands in for them.
    lengths, counts = np.unique(mbits, return_counts=True)
    out.levels = {int(m): [int(c), int(c), 0.0] for m, c in zip(lengths, counts)}
    return out


def _quantiles(values: list[float]) -> list[float | None]:
    if not values:
        return [None] * len(QUANTILES)
    return [round(float(x), 6) for x in np.quantile(np.array(values, dtype=np.float64), QUANTILES)]


def headline_names(domain) -> list[str]:
    """The sweep metrics a prior ensemble reports: every metric of the domain and `fitting`,
    without those over the whole posterior (no tail samples are drawn per encoding) and
    the unenumerated mass (the same under every draw)."""
    return [n for n in metrics_of(domain) if n != "tail_share" and not n.startswith("whole_")
            and n != "unenumerated_mass"]


def summarise(prep, agg: Aggregate, record: dict[str, Any]) -> dict[str, Any]:
    """The record's `ensemble` section: per draw its bound and headline values; per
    headline its value under the given grammar, median and 5-95% range over the draws;
    per directional statement of the domain whether it holds under the given grammar
    and the share of draws in which it holds."""
    config, domain = prep.config, prep.domain
    a = config["analysis"]
    count, concentration = int(a["prior_draws"]), float(a["prior_concentration"])
    split = domain.sweep_split([config], None)
    names = headline_names(domain)
    known = metrics_of(domain)
    given = metrics(record, split, domain)
    complete = complete_mbits(prep.enumerator, agg)
    per_draw, values = [], {n: [] for n in names}
    for draw in draws(prep.grammar, count, concentration, config["seed"]):
        sub = reweigh(prep, agg, draw, complete)
        drawn_record = domain.ensemble_record(prep, record, sub) if sub.fitting else None
        row = metrics(drawn_record, split, domain) if drawn_record else {n: None for n in known}
        entry = dict(ratio=round(float(draw.ratio), 6),
                     bound_bits=round(float(draw.ratio) * complete / MBITS_PER_BIT, 6),
                     fitting=sub.fitting,
                     map_program=drawn_record["summary"]["map_program"] if drawn_record else None)
        drawn_tie = drawn_record["summary"].get("map_tie") if drawn_record else None
        if drawn_tie and len(drawn_tie["programs"]) > 1:
            # The draw's own MAP is a tie: every tied program, not the first enumerated.
            entry["map_tie"] = [p["program"] for p in drawn_tie["programs"]]
        entry["metrics"] = {n: row.get(n) for n in names}
        per_draw.append(entry)
        for n in names:
            values[n].append(row.get(n))
    headlines = []
    for n in names:
        defined = [v for v in values[n] if v is not None]
        low, median, high = _quantiles(defined)
        headlines.append(dict(name=n, heading=known[n][0], given=given.get(n), median=median, low=low, high=high,
                              defined=len(defined)))
    # The given grammar's MAP may be a tie (levinsearch.record.map_tie): a draw keeps the
    # MAP when its own MAP is any program of that tie.
    tie = record["summary"].get("map_tie")
    map_given = [p["program"] for p in tie["programs"]] if tie else \
        ([record["summary"]["map_program"]] if record["summary"]["map_program"] is not None else [])
    # Each draw's MAP set: its tie where it has one (the order of the tied programs picks none).
    maps = [d.get("map_tie") or ([d["map_program"]] if d["map_program"] is not None else []) for d in per_draw]
    counts: dict[str, int] = {}
    for tied in maps:
        for m in tied:
            counts[m] = counts.get(m, 0) + 1
    # A draw keeps the MAP by the share of its MAP set in the given tie (1 or 0 without a tie).
    kept = [sum(m in map_given for m in tied) / len(tied) if tied else 0.0 for tied in maps]
    directions = []
    for name, (statement, holds) in domain.ensemble_directions.items():
        outcomes = [holds(d["metrics"]) for d in per_draw]
        defined = [x for x in outcomes if x is not None]
        directions.append(dict(name=name, statement=statement, given=holds(given),
                               share=round(sum(defined) / len(defined), 6) if defined else None,
                               defined=len(defined)))
    return dict(draws=count, concentration=concentration, seed=int(config["seed"]), split=split,
                quantiles=list(QUANTILES), complete_up_to_bits=complete / MBITS_PER_BIT,
                map=dict(given=map_given, same_share=round(sum(kept) / len(maps), 6)
                         if maps else None, programs=dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))),
                headlines=headlines, directions=directions, per_draw=per_draw)


def greater(a: str, b: str):
    """A directional statement reader: metric a > metric b (None where either is None)."""
    def holds(m: dict[str, Any]) -> bool | None:
        x, y = m.get(a), m.get(b)
        return None if x is None or y is None else bool(x > y)
    return holds


def above(a: str, level: float):
    """A directional statement reader: metric a > level (None where it is None)."""
    def holds(m: dict[str, Any]) -> bool | None:
        x = m.get(a)
        return None if x is None else bool(x > level)
    return holds
