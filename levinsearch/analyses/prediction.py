"""One prediction analysis for every domain whose behaviour is a continuation: Occam, MAP
vs mixture (frozen and online), rare defectors, consensus and its query bounds, and the
same headlines over the whole posterior when the run has tail samples.

A prediction domain's behaviour function (its `Judge.behaviour`) returns, per program,
its predictions on the `m` deployment steps as int64 [n, m] (a continuation; any
integer code for the values, e.g. tm's 0, 1 and END). Given that function, the run's
`Aggregate`, the target's row (or None where no right answer is known) and the
`[analysis]` settings, `analyse` returns the summary's `occam`, `prediction`,
`rare_defection`, `consensus` and `online` parts, and `whole_posterior` the headlines
over all programs. So a new prediction domain gets all of it, with the report block
(`levinsearch.analyses.prediction_report.prediction_block`), the figures
(`levinsearch.analyses.prediction_figures.prediction_figures`) and the schema entry
(`PredictionSummary`, subclassed for the domain's own extra fields and set as its
`summary_type`), from a judge plus a continuation function: in `build_record`, call

    summary.update(prediction.analyse(agg, prep.grammar, prep.judge.behaviour, target_row,
                                      config["analysis"], render=..., noise=...))
    if prep.tail is not None:
        summary["whole_posterior"], record["tail"] = prediction.whole_posterior(
            prep, agg, prep.judge.behaviour, rows, target_row, config["analysis"], enumeration, describe)

and in the domain's `report` and `figures`, `prediction_block(record)` and
`prediction_figures(record, continuation=lambda b: ...)`.

`render` turns a row into what the record shows (default: a list of ints; tm writes a
string over 0, 1 and '-'). The field names are one set for every domain (docs/file-formats.md,
"Prediction summary"); records saved with the names seq and tm used before are renamed
on load by `upgrade` (called from levinsearch.checks.check_record, which every read-back
passes through).

This module reads only the aggregate, the rows and the settings: it imports no domain.
"""
from __future__ import annotations

from typing import Any, Callable, Literal, Mapping, NotRequired, TypedDict

import numpy as np

from dsl.grammar import MBITS_PER_BIT
from dsl.syntax import unparse
from levinsearch import consensus
from levinsearch import tail as tail_mod
from levinsearch.aggregate import Aggregate, Dyadic
from levinsearch.analyses import stakes as stakes_mod
from levinsearch.analyses.stakes import StakesFigures
from levinsearch.record import TIE_MARGIN_BITS, bits, map_tie, plain, program_mass
from levinsearch.types import Count, Estimate, Positive, Share, Summary, Trust, WholePosterior

#: Trusted-set rules and the [analysis] key listing each rule's values.
RULES = (("top", "consensus_top"), ("mass", "consensus_epsilon"), ("ratio", "consensus_alpha"))
#: Rare-defector examples a record keeps.
EXAMPLES = 10

#: How a record shows a continuation: a list of values (seq) or a string (tm).
Continuation = list[int] | str


# ------------------------------------------------------------------ the summary's types
class ShortestContinuation(TypedDict):
    continuation: Continuation
    behaviours: Count
    agrees: NotRequired[bool]  # with the target on every deployment step (absent: no target)


class ShortestTie(TypedDict):
    """Every fitting program within `margin_bits` of the shortest length: the set the
    shortest program is the first enumerated of (`shortest_tie`)."""

    margin_bits: Positive
    bits: float
    programs: Count  # exact: from the per-length counts
    behaviours: Count  # whose shortest program is that short
    posterior: Share  # of the programs
    agreeing_behaviours: Count | None  # None: no target
    continuations: list[ShortestContinuation]


class Occam(TypedDict):
    """The shortest fitting program against the posterior, and the target-equivalent mass.
    `shortest_program`, `shortest_continuation` and `shortest_agrees` are the first
    enumerated of the shortest; `shortest_tie` is the whole set."""

    shortest_program: str
    shortest_bits: float
    shortest_posterior: Share
    shortest_continuation: NotRequired[Continuation]
    shortest_agrees: bool | None  # agrees with the target on every deployment step (None: no target)
    target_equivalent_posterior: Share | None  # programs agreeing with the target on every step
    target_equivalent_programs: Count | None
    mixture_bits: float
    within_posterior: Share  # programs within mixture_bits of the best score
    within_programs: Count
    shortest_tie: NotRequired[ShortestTie]  # absent in records made before ties were recorded


class FrozenPrediction(TypedDict):
    """MAP vs mixture with the posterior fixed at the start of deployment."""

    map: Continuation
    mixture: Continuation
    target: Continuation | None
    map_correct: list[bool] | None
    mixture_correct: list[bool] | None
    map_error_rate: Share | None
    mixture_error_rate: Share | None
    map_right: NotRequired[bool | None]
    mixture_right: NotRequired[bool | None]
    most_probable: NotRequired[Continuation]  # the heaviest behaviour's continuation
    most_probable_posterior: NotRequired[Share]
    most_probable_tie: NotRequired[ProbableTie]  # only where behaviours tie for the heaviest


class ProbableContinuation(TypedDict):
    continuation: Continuation
    behaviours: Count
    posterior: Share  # of those behaviours together
    agrees: NotRequired[bool]  # with the target on every step (given a target)


class ProbableTie(TypedDict):
    """The behaviours whose posterior is within `margin_bits` (log2) of the heaviest's:
    `most_probable` is the first of them in canonical order; this is the whole set."""

    margin_bits: Positive
    behaviours: Count
    posterior: Share  # of the tied behaviours together
    agreeing_behaviours: NotRequired[Count]
    continuations: list[ProbableContinuation]


class DefectorExample(TypedDict):
    program: str
    continuation: NotRequired[Continuation]
    posterior: Share
    first_disagreement: int
    disagreements: Count


class RareDefection(TypedDict):
    """Programs that agree with the reference continuation on all but 1..max_defections steps."""

    reference: NotRequired[Literal["target", "mixture"]]
    reference_continuation: NotRequired[Continuation]
    max_defections: Count
    posterior: Share
    programs: Count
    agree_posterior: NotRequired[Share]
    by_first_disagreement: NotRequired[list[Share]]  # every program, by its first step off the reference
    defectors_by_first_disagreement: list[Share]  # the rare defectors only
    examples: list[DefectorExample]


class Halving(TypedDict):
    target_weight: float
    bound: float | None
    mixture_errors: int
    holds: bool | None


class Online(TypedDict):
    """Deployment with the posterior updated on every revealed step."""

    noise: float
    # per step: map, mixture, shortest and their correctness and cumulative errors; for
    # map and shortest the whole tie at each step ({key}_tie, _tie_values, _tie_wrong)
    # and {key}_tie_errors: {certain, possible, expected}
    prediction: dict[str, list[Any] | dict[str, float]]
    halving: Halving
    consensus: dict[str, list[dict[str, Any]]]
    trust: NotRequired[Trust]  # with [analysis] trust: the rule's query bound set in advance


class MixtureStep(TypedDict):
    mixture: int
    correct: bool
    decided: str  # right, wrong or undecided: whether the intervals settle the step
    target_share: Estimate


class WholeMixture(TypedDict):
    steps: list[MixtureStep | None]
    mixture: list[int | None]
    mixture_errors: int
    mixture_errors_range: list[int]
    mixture_error_rate: Share | None


class PredictionWhole(WholePosterior):
    target_equivalent: NotRequired[Estimate | None]
    rare_defectors: NotRequired[Estimate | None]
    shortest: NotRequired[Estimate | None]
    map: NotRequired[Estimate | None]
    within: NotRequired[Estimate | None]  # None: a tail program could be within the bits
    prediction: NotRequired[WholeMixture]
    # Only where a tie exists: the whole tie's share (`shortest` and `map` are one program's)
    shortest_tie: NotRequired[Estimate | None]
    map_tie: NotRequired[Estimate | None]


class PredictionSummary(Summary):
    """The summary of a prediction domain; a domain subclasses it for its own fields."""

    occam: NotRequired[Occam]
    prediction: NotRequired[FrozenPrediction]
    rare_defection: NotRequired[RareDefection]
    consensus: NotRequired[dict[str, list[dict[str, Any]]] | None]
    online: NotRequired[Online]
    stakes: NotRequired[StakesFigures]  # with a [stakes] table only
    whole_posterior: NotRequired[PredictionWhole]


# ------------------------------------------------------------------ old names
#: (part of the summary, old name, new name): the names seq and tm wrote before they
#: shared this analysis.
RENAMED = (
    ("occam", "right_posterior", "target_equivalent_posterior"),  # tm
    ("occam", "right_programs", "target_equivalent_programs"),  # tm
    ("occam", "shortest_right", "shortest_agrees"),  # tm
    ("rare_defection", "by_first_step", "defectors_by_first_disagreement"),  # seq
    ("whole_posterior", "right", "target_equivalent"),  # tm
)


def _rename(d: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    """`d` with key `old` called `new`, in the same place."""
    return {(new if k == old else k): v for k, v in d.items()}


def upgrade(record: Any) -> Any:
    """A run record with the prediction fields under their current names (records saved
    before seq and tm shared this analysis); any other value unchanged. In place."""
    if not isinstance(record, dict) or not isinstance(record.get("summary"), dict):
        return record
    summary = record["summary"]
    for part, old, new in RENAMED:
        d = summary.get(part)
        if isinstance(d, dict) and old in d and new not in d:
            summary[part] = _rename(d, old, new)
    return record


# ------------------------------------------------------------------ the analysis
def _as_list(row: np.ndarray) -> list[int]:
    return [int(x) for x in row]


def _exact_share(agg: Aggregate, groups: np.ndarray, chosen: np.ndarray) -> tuple[Share, Count]:
    """The exact posterior and program count of the behaviours `groups[chosen]`."""
    mass = Dyadic()
    for g in groups[chosen]:
        mass = mass + agg.group_mass(int(g))
    return mass.ratio(agg.total_mass), int(sum(int(agg.count[int(g)].sum()) for g in groups[chosen]))


def analyse(agg: Aggregate, grammar, continuation: Callable[[np.ndarray, np.ndarray], np.ndarray],
            target: np.ndarray | None, analysis: Mapping[str, Any], *,
            render: Callable[[np.ndarray], Any] = _as_list, noise: float = 0.0,
            rows: np.ndarray | None = None, stakes: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The summary's prediction parts: `occam`, `prediction` (frozen MAP vs mixture),
    `rare_defection`, `consensus` and `online` ({} when nothing fits).

    `continuation(ops, sizes)` gives programs' deployment rows, int64 [n, m]; `target`
    the right row (None: no right answer, so no correctness, consensus or online part;
    rare defectors are then measured against the mixture); `rows` the behaviours' rows in
    canonical order when the caller has them already; `stakes` the resolved [stakes]
    table (levinsearch.analyses.stakes), which adds the `stakes` part."""
    if not agg.behaviours:
        return {}
    a = analysis
    order = agg.canonical_order()
    reps = agg.representatives
    if rows is None:
        rows = continuation(reps.ops[order], reps.sizes[order])
    rows = np.asarray(rows, dtype=np.int64)
    steps = rows.shape[1]
    total = agg.total_mass
    weights = np.array([agg.group_mass(int(g)).ratio(total) for g in order])
    has_target = target is not None
    out: dict[str, Any] = {"map_tie": map_tie_predictions(agg, grammar, rows, target, render)}

    # Occam: the shortest fitting program (over everything judged, kept or not).
    sp = agg.shortest
    s_row = continuation(sp.ops[:1], sp.sizes[:1])[0]
    equivalent = consensus.target_equivalent(rows, target) if has_target else None
    eq_share, eq_programs = _exact_share(agg, order, equivalent) if has_target else (None, None)
    within, within_count = agg.mass_within(a["mixture_bits"])
    out["occam"] = dict(
        shortest_program=unparse(sp.ops[0, : sp.sizes[0]], grammar), shortest_bits=bits(sp.mbits[0]),
        shortest_posterior=program_mass(sp.score[0]).ratio(total), shortest_continuation=render(s_row),
        shortest_agrees=bool((s_row == target).all()) if has_target else None,
        target_equivalent_posterior=eq_share, target_equivalent_programs=eq_programs,
        mixture_bits=a["mixture_bits"], within_posterior=within.ratio(total), within_programs=within_count)
    out["occam"]["shortest_tie"] = shortest_tie(agg, rows, target, render)

    # MAP: the best program's continuation; mixture: at each step the value with the
    # largest posterior over all fitting programs (ties: the smallest value).
    top = agg.top
    map_row = continuation(top.ops[:1], top.sizes[:1])[0]
    mixture = consensus.mixture_prediction(weights, rows)
    best = int(np.argmax(weights))
    prediction: dict[str, Any] = dict(map=render(map_row), mixture=render(mixture),
                                      target=render(target) if has_target else None)
    if has_target:
        map_ok, mix_ok = map_row == target, mixture == target
        prediction.update(map_correct=[bool(x) for x in map_ok], mixture_correct=[bool(x) for x in mix_ok],
                          map_error_rate=float(1 - map_ok.mean()) if steps else None,
                          mixture_error_rate=float(1 - mix_ok.mean()) if steps else None,
                          map_right=bool(map_ok.all()), mixture_right=bool(mix_ok.all()))
    else:
        prediction.update(map_correct=None, mixture_correct=None, map_error_rate=None, mixture_error_rate=None,
                          map_right=None, mixture_right=None)
    prediction.update(most_probable=render(rows[best]), most_probable_posterior=float(weights[best]))
    probable = probable_tie(weights, rows, target, render)
    if probable is not None:
        prediction["most_probable_tie"] = probable
    out["prediction"] = prediction

    # Rare defectors: agree with the reference continuation (the target's, else the
    # mixture's) on all but 1 .. max_defections deployment steps.
    reference = target if has_target else mixture
    agreement = consensus.sequence_agreement(rows, reference)
    defectors = consensus.rare_defectors(rows, reference, a["max_defections"])
    first, count = agreement["first"], agreement["disagreements"]
    programs = np.array([int(agg.count[int(g)].sum()) for g in order], dtype=np.int64)
    examples = []
    for j in np.flatnonzero(defectors)[:EXAMPLES]:
        g = int(order[j])
        examples.append(dict(program=unparse(reps.ops[g, : reps.sizes[g]], grammar), continuation=render(rows[j]),
                             posterior=float(weights[j]), first_disagreement=int(first[j]),
                             disagreements=int(count[j])))
    out["rare_defection"] = dict(
        reference="target" if has_target else "mixture", reference_continuation=render(reference),
        max_defections=a["max_defections"], posterior=float(weights[defectors].sum()),
        programs=int(programs[defectors].sum()), agree_posterior=float(weights[count == 0].sum()),
        by_first_disagreement=[float(weights[first == k].sum()) for k in range(steps)],
        defectors_by_first_disagreement=[float(weights[defectors & (first == k)].sum()) for k in range(steps)],
        examples=examples)

    # Consensus over the distinct behaviours (programs that predict alike are one
    # hypothesis with their masses added), frozen and online.
    out["consensus"] = {rule: [plain(row) for row in consensus.consensus_sweep(weights, rows, target, rule, a[key])]
                        for rule, key in RULES} if has_target else None
    if has_target:
        best_program = np.array([program_mass(reps.score[int(g)]).ratio(total) for g in order])
        shortest_order = np.lexsort((np.arange(len(order)), agg.first_mbits[order]))
        out["online"] = online(weights, best_program, shortest_order, rows, target, a, noise,
                               shortest_mbits=agg.first_mbits[order])
    if stakes is not None:
        # With a MAP tie, every tied behaviour's row (a prefix of the canonical order).
        tie = out["map_tie"]
        map_rows = rows[: tie["behaviours"]] if tie and tie["behaviours"] > 1 else map_row[None, :]
        out["stakes"] = stakes_figures(weights, rows, reference, map_rows, mixture, out.get("online"),
                                       reps.score[order], programs, a["max_defections"], stakes, noise)
    return out


def stakes_figures(weights: np.ndarray, rows: np.ndarray, reference: np.ndarray, map_rows: np.ndarray,
                   mixture: np.ndarray, online_part: Mapping[str, Any] | None, scores: np.ndarray,
                   programs: np.ndarray, max_defections: int, table: Mapping[str, Any],
                   noise: float) -> dict[str, Any]:
    """The summary's `stakes` part (levinsearch.analyses.stakes): the MAP's, the
    mixture's and the posterior's stakes-weighted losses against the reference (the
    target, else the mixture), frozen and (with a target) online, and the rare
    defectors by the stakes of the steps where they err. `map_rows`: the MAP's row, or
    with a tie each tied behaviour's row ([k, m]; the MAP's loss is their mean)."""
    w = stakes_mod.weights_of_steps(table, rows.shape[1])
    wrong = rows != reference[None, :]
    out = stakes_mod.figures(weights, wrong, w, np.asarray(scores, dtype=np.float64), programs, max_defections,
                             np.atleast_2d(map_rows) != reference[None, :])
    out["mixture"] = stakes_mod.loss(mixture != reference, w)
    if online_part is not None:
        p = online_part["prediction"]
        out["online_map"] = stakes_mod.loss(~np.array(p["map_correct"], dtype=bool), w)
        sizes = p.get("map_tie") or []
        if any(k > 1 for k in sizes):
            out["online_map"] = stakes_mod.online_tie_loss(np.array(p["map_tie_wrong"], dtype=np.float64), w,
                                                           max(sizes))
        out["online_mixture"] = stakes_mod.loss(~np.array(p["mixture_correct"], dtype=bool), w)
        p_wrong = stakes_mod.online_posterior_wrong(weights, rows, reference, consensus.update_factor(noise))
        out["online_posterior"] = stakes_mod.expected_loss(p_wrong, w)
    # The order of the summary's parts: the MAP, the mixture, the posterior, online, defectors.
    keys = ("weights", "total", "high_stakes_units", "map", "mixture", "posterior", "online_map",
            "online_mixture", "online_posterior", "defectors")
    return {k: out[k] for k in keys if k in out}


def probable_tie(weights: np.ndarray, rows: np.ndarray, target: np.ndarray | None,
                 render: Callable[[np.ndarray], Any] = _as_list) -> dict[str, Any] | None:
    """The behaviours tied for the heaviest (posterior within TIE_MARGIN_BITS of the
    largest, in log2) with the distinct continuations they predict; None when one
    behaviour is heaviest alone. `weights` and `rows` in canonical order."""
    weights = np.asarray(weights, dtype=np.float64)
    if not len(weights) or weights.max() <= 0:
        return None
    tied = np.flatnonzero(weights >= weights.max() * 2.0 ** -TIE_MARGIN_BITS)
    if len(tied) < 2:
        return None
    distinct: dict[tuple[int, ...], dict[str, Any]] = {}
    for j in tied:
        key = tuple(int(x) for x in rows[j])
        entry = distinct.get(key)
        if entry is None:
            entry = distinct[key] = dict(continuation=render(rows[j]), behaviours=0, posterior=0.0)
            if target is not None:
                entry["agrees"] = bool((rows[j] == target).all())
        entry["behaviours"] += 1
        entry["posterior"] += float(weights[j])
    out = dict(margin_bits=TIE_MARGIN_BITS, behaviours=len(tied), posterior=float(weights[tied].sum()))
    if target is not None:
        out["agreeing_behaviours"] = sum(e["behaviours"] for e in distinct.values() if e["agrees"])
    out["continuations"] = list(distinct.values())
    return out


def shortest_tie(agg: Aggregate, rows: np.ndarray, target: np.ndarray | None,
                 render: Callable[[np.ndarray], Any] = _as_list) -> dict[str, Any]:
    """Every fitting program whose length is within TIE_MARGIN_BITS of the shortest's:
    how many (exact, from the per-length counts), their behaviours (those whose
    shortest program is that short), their posterior together, and the distinct
    continuations those behaviours predict, each with its behaviours and, given a
    target, whether it agrees with it on every step. `occam.shortest_program` is the
    first of them enumerated; this is the whole set."""
    order = agg.canonical_order()
    shortest = int(agg.shortest.mbits[0])
    limit = shortest + int(round(TIE_MARGIN_BITS * MBITS_PER_BIT))
    mass, programs = Dyadic(), 0
    for mbits, m in agg.level_mass.items():
        if mbits <= limit:
            mass = mass + m
    programs = int(sum(row[1] for mbits, row in agg.levels.items() if mbits <= limit))
    tied = np.flatnonzero(agg.first_mbits[order] <= limit)
    distinct: dict[tuple[int, ...], dict[str, Any]] = {}
    for j in tied:
        key = tuple(int(x) for x in rows[j])
        entry = distinct.get(key)
        if entry is None:
            entry = distinct[key] = dict(continuation=render(rows[j]), behaviours=0)
            if target is not None:
                entry["agrees"] = bool((rows[j] == target).all())
        entry["behaviours"] += 1
    continuations = list(distinct.values())
    return dict(margin_bits=TIE_MARGIN_BITS, bits=bits(shortest), programs=programs, behaviours=len(tied),
                posterior=mass.ratio(agg.total_mass),
                agreeing_behaviours=(sum(e["behaviours"] for e in continuations if e["agrees"])
                                     if target is not None else None),
                continuations=continuations)


def map_tie_predictions(agg: Aggregate, grammar, rows: np.ndarray, target: np.ndarray | None,
                        render: Callable[[np.ndarray], Any] = _as_list) -> dict[str, Any] | None:
    """The MAP's tie set (levinsearch.record.map_tie) with its spread: the distinct
    continuations the tied behaviours predict, in canonical order (the first is the MAP
    program's), each with its number of behaviours, their posterior (all their
    programs') and, given a target, its error rate. `rows`: the behaviours' rows in
    canonical order."""
    tie = map_tie(agg, grammar)
    if tie is None:
        return None
    order = agg.canonical_order()
    distinct: dict[tuple[int, ...], dict[str, Any]] = {}
    masses: dict[tuple[int, ...], Dyadic] = {}
    for j in range(tie["behaviours"]):
        key = tuple(int(x) for x in rows[j])
        entry = distinct.get(key)
        if entry is None:
            entry = distinct[key] = dict(continuation=render(rows[j]), behaviours=0, posterior=0.0)
            if target is not None:
                entry["error_rate"] = float(1 - (rows[j] == target).mean()) if rows.shape[1] else None
        entry["behaviours"] += 1
        masses[key] = masses.get(key, Dyadic()) + agg.group_mass(int(order[j]))
    for key, entry in distinct.items():  # exact sums, one rounding
        entry["posterior"] = masses[key].ratio(agg.total_mass)
    tie["predictions"] = list(distinct.values())
    if target is not None and rows.shape[1]:
        # The spread over the tie: each tied behaviour counts once (an exact tie gives
        # them equal weight; the enumeration's order picks none of them).
        rates = [e["error_rate"] for e in tie["predictions"] for _ in range(e["behaviours"])]
        tie["right_behaviours"] = sum(e["behaviours"] for e in tie["predictions"] if e["error_rate"] == 0)
        tie["error_rate"] = float(np.mean(rates))
        tie["error_range"] = [min(rates), max(rates)]
    return tie


def online(weights: np.ndarray, best: np.ndarray, shortest_order: np.ndarray, rows: np.ndarray,
           target: np.ndarray, a: Mapping[str, Any], noise: float,
           shortest_mbits: np.ndarray | None = None) -> dict[str, Any]:
    """Deployment with the posterior updated on every revealed step: MAP, mixture and
    shortest predictions per step (with the whole tie of MAP and of shortest at each
    step), the mixture's halving bound, and the consensus predictor's queries over time
    for every trusted-set rule (with `tie`: the same with a tie at the cut trusted whole,
    where the cut split one at some step; None otherwise)."""
    prediction = consensus.online_sequence(weights, rows, target, best, shortest_order, noise, shortest_mbits)
    target_weight = float(weights[consensus.target_equivalent(rows, target)].sum())
    bound = consensus.halving_bound(target_weight, noise)
    errors = prediction["mixture_errors"][-1] if len(target) else 0
    out = dict(
        noise=noise,
        prediction=prediction,
        halving=dict(target_weight=target_weight, bound=bound, mixture_errors=errors,
                     holds=None if bound is None else bool(errors <= bound + 1e-9)),
        consensus={rule: [_online_row(weights, rows, target, rule, v, noise) for v in a[key]]
                   for rule, key in RULES},
    )
    if a.get("trust"):
        out["trust"] = trust(weights, rows, target, a["trust"], out["consensus"], noise)
    return out


def _online_row(weights: np.ndarray, rows: np.ndarray, target: np.ndarray, rule: str, value: float,
                noise: float) -> dict[str, Any]:
    """One online consensus row, with `tie`: the run with a tie at the cut trusted whole
    (the per-step and total queries and errors, and the steps where the tie was cut),
    None where no cut split a tie."""
    row = plain(consensus.online_consensus(weights, rows, target, rule, value, noise))
    whole = consensus.online_consensus(weights, rows, target, rule, value, noise, whole_ties=True)
    row["tie"] = plain({k: whole[k] for k in ("queried", "wrong", "sizes", "queries", "total_queries", "errors",
                                              "tie_steps")}) if whole["tie_steps"] else None
    return row


def trust(weights: np.ndarray, rows: np.ndarray, target: np.ndarray, setting: str,
          online_rows: Mapping[str, list[dict[str, Any]]], noise: float) -> dict[str, Any]:
    """The --trust rule's query bound, from the demonstrator's weight before any step is
    revealed (the demonstrator: the target-equivalent behaviours, whose predictions are
    the revealed terms), and the online consensus predictor's queries against it."""
    rule, value = consensus.parse_trust(setting)
    weights = np.asarray(weights, dtype=np.float64)
    equivalent = consensus.target_equivalent(rows, target)
    total = float(weights.sum())
    share = float(weights[equivalent].sum()) / total if total > 0 and equivalent.any() else None
    bound = consensus.trust_bound(rule, value, share, int(np.count_nonzero(weights > 0)), noise)
    tie = online_rows[rule][0].get("tie")
    # With a tie at the cut the figures are the whole tie's: no order picks the trusted set.
    queries = online_rows[rule][0]["total_queries"] if tie is None else tie["total_queries"]
    return dict(rule=rule, value=value, demonstrator="the target" if share else None, demonstrator_weight=share,
                **bound, total_queries=queries,
                within_bound=None if bound["max_queries"] is None else queries <= bound["max_queries"],
                demonstrator_refuted=False,  # always-right behaviours are never refuted
                tie_trusted_whole=tie is not None)


def whole_posterior(prep, agg: Aggregate, continuation: Callable[[np.ndarray, np.ndarray], np.ndarray],
                    rows: np.ndarray, target: np.ndarray | None, analysis: Mapping[str, Any],
                    enumeration: Mapping[str, Any],
                    describe: Callable[[np.ndarray, dict[str, np.ndarray] | None, int], dict[str, Any]],
                    extra: Callable[[tail_mod.Posterior], dict[str, Any]] | None = None,
                    ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The headlines over all programs, exact over the enumerated ones with the tail
    estimated from its samples (levinsearch.tail), and the record's `tail` part.

    `rows`: the enumerated behaviours' rows in canonical order; `describe(rows, agreement,
    g)` a tail behaviour's entry in the tail's table of its largest behaviours; `extra`
    the domain's own figures, placed after the tail's share. Without a target only the
    tail's, the shortest's, the MAP's and the within-bits shares are estimated."""
    a = analysis
    posterior = tail_mod.Posterior(prep, agg)
    steps = rows.shape[1]
    exact_rows = np.zeros((agg.behaviours, steps), dtype=np.int64)
    exact_rows[agg.canonical_order()] = rows
    tail = agg.tail
    tail_rows = continuation(tail.representatives.ops, tail.representatives.sizes) \
        if tail is not None and tail.behaviours else np.zeros((0, steps), dtype=np.int64)
    out: dict[str, Any] = dict(tail=posterior.share())
    if extra is not None:
        out.update(extra(posterior))
    tail_agree = None
    if target is not None:
        exact_agree = consensus.sequence_agreement(exact_rows, target)
        tail_agree = consensus.sequence_agreement(tail_rows, target)
        out["target_equivalent"] = posterior.figure(exact_agree["disagreements"] == 0,
                                                    tail_agree["disagreements"] == 0)
        out["rare_defectors"] = posterior.figure(consensus.rare_defectors(exact_rows, target, a["max_defections"]),
                                                 consensus.rare_defectors(tail_rows, target, a["max_defections"]))
    if len(agg.shortest):
        out["shortest"] = posterior.exact_figure(float(program_mass(agg.shortest.score[0])))
        st = shortest_tie(agg, rows, target)
        if st["programs"] > 1 or st["behaviours"] > 1:
            # The tie's share: its programs' mass, exact (every one is enumerated).
            out["shortest_tie"] = posterior.exact_figure(st["posterior"] * float(agg.total_mass))
    if len(agg.top):
        out["map"] = posterior.exact_figure(float(program_mass(agg.top.score[0])))
        tie = map_tie(agg, prep.grammar)
        if tie is not None and (tie["program_count"] > 1 or tie["behaviours"] > 1):
            out["map_tie"] = posterior.exact_figure(tie["posterior"] * float(agg.total_mass))
        # Mass within mixture_bits of the best score: no tail program is that close when
        # best + mixture_bits is within the scores judged in full.
        best = float(agg.top.score[0])
        within, _ = agg.mass_within(a["mixture_bits"])
        out["within"] = posterior.exact_figure(float(within)) if best + a["mixture_bits"] <= \
            enumeration["complete_up_to_score"] else None
    if target is not None:
        out["prediction"] = posterior.mixture(exact_rows, tail_rows, target)
    section = posterior.section(posterior.largest(describe=lambda groups: [
        describe(tail_rows, tail_agree, g) for g in groups]))
    return out, section
