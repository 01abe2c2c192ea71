"""Occam, treacherous-turn and consensus analyses (docs/concepts.md), for any domain
whose programs predict values: agreement, MAP vs mixture, trusted sets, consensus and
online updates. The grid's consensus agent, which acts in grids, is the grid domain's
(`levinsearch.domains.grid.consensus`); it builds on `trusted_set` and `update_factor`.

Plain functions: arrays in, arrays or dicts out. Sequence functions take predictions
int64 [n, m] (program x step, e.g. from `dsl.seq.kernels.predict_batch` over the
deployment horizon), the target's terms there int64 [m] and, where needed, posterior
weights float [n] summing to 1. Weight comparisons (mixture ties, the 1 - eps mass
threshold, the alpha ratio) treat values within TOL x total weight as equal, so that
rounding never decides a tie.

Ties (docs/concepts.md, "Ties"): where an order by weight or length would decide
between hypotheses that tie within `TIE_MARGIN_BITS`, the functions here say so rather
than take the first listed. `trusted_set(..., whole_ties=True)` trusts a tie straddling
a top-N or mass cut as a whole; `online_sequence` reports, at every step, the whole set
of hypotheses tied for MAP and for shortest and the spread of what they predict.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


TOL = 1e-12
#: Near-tie margin in bits, as for the MAP (levinsearch.record.TIE_MARGIN_BITS, which is
#: this value): weights within a factor 2^-margin of each other tie.
TIE_MARGIN_BITS = 0.01
RULES = ("top", "mass", "ratio")  # top-N, smallest set with >= 1 - eps, weight >= alpha * max


# ------------------------------------------------------------------ agreement (treacherous turn)
def sequence_agreement(predictions: np.ndarray, target: np.ndarray) -> dict:
    """Per program: `share` (steps where prediction == target, over m; 1.0 when m = 0),
    `first` (index of the first disagreeing step, -1 if none) and `disagreements` (count)."""
    wrong = np.asarray(predictions) != np.asarray(target)[None, :]
    m = wrong.shape[1]
    count = wrong.sum(axis=1).astype(np.int64)
    first = np.where(wrong.any(axis=1), np.argmax(wrong, axis=1), -1).astype(np.int64)
    share = 1.0 - count / m if m else np.ones(len(count))
    return {"share": share, "first": first, "disagreements": count}


def rare_defectors(predictions: np.ndarray, target: np.ndarray, max_defections: int) -> np.ndarray:
    """bool [n]: the program disagrees with the target on at least 1 and at most
    `max_defections` steps."""
    count = sequence_agreement(predictions, target)["disagreements"]
    return (count >= 1) & (count <= max_defections)


# ------------------------------------------------------------------ Occam: MAP vs mixture
def target_equivalent(predictions: np.ndarray, target: np.ndarray) -> np.ndarray:
    """bool [n]: the program's prediction equals the target at every step."""
    return (np.asarray(predictions) == np.asarray(target)[None, :]).all(axis=1)


def map_prediction(weights: np.ndarray, predictions: np.ndarray) -> tuple[int, np.ndarray]:
    """(index, predictions) of the program with the largest weight (ties: lowest index)."""
    i = int(np.argmax(weights))
    return i, np.asarray(predictions)[i].copy()


def mixture_prediction(weights: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """int64 [m]: at each step the value with the largest total weight among the programs
    predicting it (totals within TOL x total weight of the largest tie; ties: smallest value)."""
    weights = np.asarray(weights, dtype=np.float64)
    predictions = np.asarray(predictions)
    out = np.zeros(predictions.shape[1], dtype=np.int64)
    slack = TOL * weights.sum()
    for j in range(predictions.shape[1]):
        values, inverse = np.unique(predictions[:, j], return_inverse=True)  # ascending
        totals = np.bincount(inverse.ravel(), weights=weights, minlength=len(values))
        out[j] = values[np.flatnonzero(totals >= totals.max() - slack)[0]]
    return out


# ------------------------------------------------------------------ trusted sets
def trusted_set(weights: np.ndarray, rule: str, value: float, whole_ties: bool = False) -> np.ndarray:
    """Indices (int64, by weight descending, ties: lower index first) of the trusted set.

    rule "top": the first `value` (N >= 1) programs in that order (all if fewer);
    "mass": the shortest prefix of that order whose weight is >= (1 - eps) x total weight
    (eps = value in [0, 1); at least one program); "ratio": every program with
    weight >= alpha x the largest weight (alpha = value in (0, 1]). Thresholds are
    lowered by TOL x total weight (see the module docstring).

    Under "top" and "mass" the cut can fall inside a tie, and then the index order
    decides which of the tied programs are trusted. With `whole_ties` every program whose
    weight ties with the last one trusted (within TIE_MARGIN_BITS) is trusted too
    (`tie_extend`), so no order decides; "ratio" has no such cut.
    """
    weights = np.asarray(weights, dtype=np.float64)
    order = np.argsort(-weights, kind="stable")
    if rule == "top":
        if value < 1:
            raise ValueError(f"top-N needs N >= 1, got {value}")
        members = order[: int(value)].astype(np.int64)
        return tie_extend(weights, members, order) if whole_ties else members
    if rule == "mass":
        if not 0 <= value < 1:
            raise ValueError(f"eps must be in [0, 1), got {value}")
        total = weights.sum()
        held = np.cumsum(weights[order])
        k = int(np.searchsorted(held, (1 - value) * total - TOL * total, side="left")) + 1
        members = order[: min(max(k, 1), len(order))].astype(np.int64)
        return tie_extend(weights, members, order) if whole_ties else members
    if rule == "ratio":
        if not 0 < value <= 1:
            raise ValueError(f"alpha must be in (0, 1], got {value}")
        keep = weights[order] >= value * weights.max() - TOL * weights.sum()
        return order[keep].astype(np.int64)
    raise ValueError(f"unknown rule {rule!r} (known: {', '.join(RULES)})")


def tied_with(weights: np.ndarray, reference: float, margin: float = TIE_MARGIN_BITS) -> np.ndarray:
    """bool [n]: weights that tie with `reference` or exceed it (>= reference x
    2^-margin, lowered by TOL x total weight)."""
    weights = np.asarray(weights, dtype=np.float64)
    return weights >= reference * 2.0 ** -margin - TOL * weights.sum()


def tie_extend(weights: np.ndarray, members: np.ndarray, order: np.ndarray | None = None) -> np.ndarray:
    """`members` (a prefix of `order`, weight descending) with every index after them in
    `order` whose weight ties with the last member's (`tied_with`)."""
    weights = np.asarray(weights, dtype=np.float64)
    if order is None:
        order = np.argsort(-weights, kind="stable")
    if not len(members) or len(members) == len(order):
        return members
    rest = order[len(members):]
    extra = rest[tied_with(weights[rest], float(weights[members[-1]])) & (weights[rest] > 0)]
    return np.concatenate([members, extra]).astype(np.int64)


# ------------------------------------------------------------------ consensus for sequences
def sequence_consensus(weights: np.ndarray, predictions: np.ndarray, target: np.ndarray,
                       rule: str, value: float, whole_ties: bool = False) -> dict:
    """The trusted set (see `trusted_set`) predicts a step only when all its members
    predict the same value there, and abstains otherwise.

    Returns rule, value, `members`, `abstained` (bool [m]), `predicted` (steps not
    abstained), `errors` (predicted steps whose value != target), `error_rate`
    (errors / predicted; None when nothing was predicted), `abstention_rate`
    (abstentions / m; None when m = 0) and `has_equivalent` (a target-equivalent member).
    `whole_ties`: a tie at the set's cut is trusted whole (`trusted_set`).
    """
    predictions, target = np.asarray(predictions), np.asarray(target)
    members = trusted_set(weights, rule, value, whole_ties)
    rows = predictions[members]
    abstained = (rows != rows[0][None, :]).any(axis=0)
    acted = ~abstained
    errors = int((rows[0][acted] != target[acted]).sum())
    predicted, m = int(acted.sum()), len(target)
    return {
        "rule": rule, "value": value, "members": members, "abstained": abstained,
        "predicted": predicted, "errors": errors,
        "error_rate": errors / predicted if predicted else None,
        "abstention_rate": float(abstained.sum() / m) if m else None,
        "has_equivalent": bool(target_equivalent(rows, target).any()),
    }


def consensus_sweep(weights: np.ndarray, predictions: np.ndarray, target: np.ndarray,
                    rule: str, values: Sequence[float]) -> list[dict]:
    """`sequence_consensus` for each value (N, eps or alpha), one table row each, with
    the set's `size` added and the per-step `abstained` mask left out. Where the cut
    splits a tie, `tie` holds the row with the whole tie trusted (None otherwise)."""
    rows = []
    for v in values:
        row = sequence_consensus(weights, predictions, target, rule, v)
        del row["abstained"]
        whole = sequence_consensus(weights, predictions, target, rule, v, whole_ties=True)
        del whole["abstained"], whole["rule"], whole["value"]
        tie = {**whole, "size": len(whole["members"])} if len(whole["members"]) > len(row["members"]) else None
        rows.append({**row, "size": len(row["members"]), "tie": tie})
    return rows


# ------------------------------------------------------------------ online (deployment updates the posterior)
def update_factor(noise: float) -> float:
    """How a hypothesis' weight is multiplied, relative to one that was right, when it
    mispredicts a revealed value: 0 for exact fit, beta = eps / (1 - eps) under noise eps."""
    return 0.0 if noise == 0 else noise / (1.0 - noise)


def halving_bound(target_weight: float, noise: float = 0.0) -> float | None:
    """Most mistakes the online mixture can make when a hypothesis that is always right
    holds `target_weight` of the posterior at the start (None: no such hypothesis).

    Each mistake means the values other than the true one held at least half of the
    current weight, and those are multiplied by beta (0 under exact fit), so the total
    falls by the factor (1 + beta) / 2 at least; the always-right hypothesis keeps its
    weight, so mistakes <= log2(1/w) / log2(2 / (1 + beta)) (log2(1/w) for beta = 0)."""
    if target_weight <= 0:
        return None
    beta = update_factor(noise)
    return float(np.log2(1.0 / target_weight) / np.log2(2.0 / (1.0 + beta)))


def online_sequence(weights: np.ndarray, predictions: np.ndarray, target: np.ndarray, best_weights: np.ndarray,
                    shortest_order: np.ndarray, noise: float = 0.0, shortest_mbits: np.ndarray | None = None) -> dict:
    """Predict each deployment value from the posterior conditioned on everything
    revealed before it (the training data are already in the weights).

    weights float [n]: each hypothesis' posterior at the start of deployment;
    best_weights float [n]: the posterior of its best single program; predictions
    [n, m]; target [m]. After each step a hypothesis that mispredicted is multiplied by
    `update_factor(noise)` (removed under exact fit). At each step, MAP: the prediction
    of the heaviest single program (largest best weight x factor; ties: the first
    hypothesis); shortest: of the first living hypothesis in `shortest_order`; mixture:
    the value with the largest current weight. Returns per-step predictions (None once
    nothing is left), their correctness and the cumulative errors of each.

    The first hypothesis of a tie is the enumeration's choice, so the result also gives,
    for MAP and shortest, the whole tie at each step: the living hypotheses whose best
    weight ties with the heaviest (`tied_with`), and those whose shortest length
    (`shortest_mbits`, millibits; without it, only the first in `shortest_order`) is
    within TIE_MARGIN_BITS of the shortest living one. Per step `{key}_tie` (how many
    tie; 0 once nothing is left), `{key}_tie_values` (the distinct values they predict,
    ascending) and `{key}_tie_wrong` (the share of them that mispredict), and
    `{key}_tie_errors`: the steps where every tied hypothesis errs (`certain`), where
    any does (`possible`), and the sum of the shares (`expected`: the errors of a MAP
    drawn from each step's tie with equal chances)."""
    predictions, target = np.asarray(predictions), np.asarray(target)
    n, m = predictions.shape
    beta = update_factor(noise)
    weights = np.asarray(weights, dtype=np.float64)
    best = np.asarray(best_weights, dtype=np.float64)
    shortest_rank = np.empty(n, dtype=np.int64)
    shortest_rank[np.asarray(shortest_order, dtype=np.int64)] = np.arange(n)
    lengths = None if shortest_mbits is None else np.asarray(shortest_mbits, dtype=np.int64)
    margin_mbits = int(round(TIE_MARGIN_BITS * 1000))
    factor = np.ones(n)
    out: dict[str, list] = {key: [] for key in ("map", "mixture", "shortest")}
    ties: dict[str, dict[str, list]] = {key: {"tie": [], "values": [], "wrong": []} for key in ("map", "shortest")}
    for j in range(m):
        w = weights * factor
        if w.sum() <= 0:  # nothing left predicted every revealed value
            for key in out:
                out[key].append(None)
            for key in ties:
                ties[key]["tie"].append(0)
                ties[key]["values"].append([])
                ties[key]["wrong"].append(None)
            continue
        heavy = best * factor
        out["map"].append(int(predictions[int(np.argmax(heavy)), j]))
        first = int(np.argmin(np.where(w > 0, shortest_rank, n)))
        out["shortest"].append(int(predictions[first, j]))
        out["mixture"].append(int(mixture_prediction(w / w.sum(), predictions[:, j: j + 1])[0]))
        live = w > 0
        tied = {"map": live & tied_with(heavy, float(heavy.max())),
                "shortest": (live & (lengths <= lengths[first] + margin_mbits)) if lengths is not None
                else np.arange(n) == first}
        for key, mask in tied.items():
            values = predictions[mask, j]
            ties[key]["tie"].append(int(mask.sum()))
            ties[key]["values"].append(sorted({int(v) for v in values}))
            ties[key]["wrong"].append(float(np.mean(values != target[j])))
        factor = np.where(predictions[:, j] != target[j], factor * beta, factor)
    result: dict = {"target": [int(t) for t in target]}
    for key, values in out.items():
        correct = [v is not None and v == int(t) for v, t in zip(values, target)]
        result[key] = values
        result[f"{key}_correct"] = correct
        result[f"{key}_errors"] = np.cumsum([not c for c in correct]).astype(int).tolist()
    for key, t in ties.items():
        wrong = [1.0 if x is None else x for x in t["wrong"]]  # nothing left: the step is an error
        result[f"{key}_tie"] = t["tie"]
        result[f"{key}_tie_values"] = t["values"]
        result[f"{key}_tie_wrong"] = t["wrong"]
        result[f"{key}_tie_errors"] = dict(certain=int(sum(x >= 1.0 for x in wrong)),
                                           possible=int(sum(x > 0.0 for x in wrong)), expected=float(sum(wrong)))
    return result


def online_consensus(weights: np.ndarray, predictions: np.ndarray, target: np.ndarray, rule: str, value: float,
                     noise: float = 0.0, whole_ties: bool = False) -> dict:
    """The consensus predictor with the posterior updated on every revealed value.

    At step j the hypotheses are built from observed data only: the living programs
    grouped by their predictions of the values revealed so far and of step j (two
    programs that differ only on later, unseen steps are one hypothesis now). The
    trusted set is recomputed from their current weights; it predicts when every member
    predicts the same value and otherwise abstains (a query: the value is revealed
    anyway). `weights` [n] and `predictions` [n, m] may list programs or any finer
    grouping of them (e.g. behaviours on all deployment steps): only sums of weights
    over the groups above are used. Returns per-step `queried`, `wrong` (a wrong
    prediction made) and trusted-set `sizes`, cumulative `queries`, the totals and
    `query_bound` (see `query_bound`). With `whole_ties` a tie at the set's cut is
    trusted whole (`trusted_set`), and `tie_steps` lists the steps where that made the
    set larger than the cut alone."""
    predictions, target = np.asarray(predictions), np.asarray(target)
    n, m = predictions.shape
    beta = update_factor(noise)
    weights = np.asarray(weights, dtype=np.float64)
    w = weights.copy()
    queried, erred, sizes, tie_steps = [], [], [], []
    for j in range(m):
        live = np.flatnonzero(w > 0)
        if len(live) == 0:
            queried.append(True)
            erred.append(False)
            sizes.append(0)
            continue
        groups, inverse = np.unique(predictions[live, : j + 1], axis=0, return_inverse=True)
        group_weight = np.bincount(inverse.ravel(), weights=w[live], minlength=len(groups))
        members = trusted_set(group_weight / group_weight.sum(), rule, value, whole_ties)
        if whole_ties and len(members) > len(trusted_set(group_weight / group_weight.sum(), rule, value)):
            tie_steps.append(j)
        values = groups[members, j]
        agree = bool((values == values[0]).all())
        queried.append(not agree)
        erred.append(agree and int(values[0]) != int(target[j]))
        sizes.append(int(len(members)))
        w = np.where(predictions[:, j] != target[j], w * beta, w)
    target_weight = float(weights[target_equivalent(predictions, target)].sum())
    return {"rule": rule, "value": value, "queried": queried, "wrong": erred, "sizes": sizes,
            "queries": np.cumsum(queried).astype(int).tolist(), "total_queries": int(np.sum(queried)),
            "errors": int(np.sum(erred)),
            "query_bound": query_bound(rule, value, target_weight, predictions, weights, noise)} | (
        {"tie_steps": tie_steps} if whole_ties else {})


def query_bound(rule: str, value: float, target_weight: float, predictions: np.ndarray, weights: np.ndarray,
                noise: float = 0.0) -> float | None:
    """Most queries the online consensus predictor can make under exact fit (noise 0)
    when an always-right hypothesis holds `target_weight` at the start.

    A query means the trusted set's members disagree on the next value, so every
    program predicting another value than the true one among them is refuted and
    removed: each query removes at least one of the hypotheses given (rows), and at a
    step where every living program predicts the same value there is nothing to query,
    so queries <= min(rows - 1, steps where the living rows disagree). Under the ratio rule every member weighs at least alpha x the
    heaviest, which weighs at least the always-right hypothesis' group, so each query
    removes at least alpha x target_weight of the unnormalised weight, of which
    1 - target_weight can ever be removed: queries <= (1 - w) / (alpha w). None under
    noise (nothing is removed for good) or without an always-right hypothesis."""
    predictions = np.asarray(predictions)
    if noise > 0 or target_weight <= 0:
        return None
    live = predictions[np.asarray(weights) > 0]
    disagreeing = sum(len(np.unique(live[:, j])) > 1 for j in range(live.shape[1]))
    bound = float(min(len(live) - 1, disagreeing))
    if rule == "ratio":
        bound = min(bound, (1.0 - target_weight) / (value * target_weight))
    return bound


# ------------------------------------------------------------------ the trust rule (--trust RULE:V) and its bound in advance
TRUST_RULES = ("top", "ratio")


def parse_trust(text: object) -> tuple[str, float]:
    """(rule, value) of a trust setting "top:N" (N a whole number >= 1) or "ratio:ALPHA"
    (ALPHA in (0, 1]); ValueError with one line otherwise."""
    usage = "trust must be top:N (N a whole number, 1 to 1000) or ratio:ALPHA (0 < ALPHA <= 1)"
    if not isinstance(text, str) or text.count(":") != 1:
        raise ValueError(f"{usage}, got {text!r}")
    rule, _, raw = text.partition(":")
    rule = rule.strip()
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{usage}, got {text!r}") from None
    if rule == "top" and value.is_integer() and 1 <= value <= 1_000:
        return rule, float(int(value))
    if rule == "ratio" and 0 < value <= 1:
        return rule, value
    raise ValueError(f"{usage}, got {text!r}")


def trust_bound(rule: str, value: float, demonstrator_weight: float | None, units: int,
                noise: float = 0.0) -> dict:
    """The online consensus agent's query bound, known before any episode runs.

    `demonstrator_weight`: the share of the starting weight held by the hypotheses that
    act as the demonstrator (never refuted by its answers; None when none is among them);
    `units`: how many hypotheses have weight. Under exact fit each query refutes at least
    one trusted group and the demonstrator never, so queries <= units - 1 for every rule
    (without a survivor nothing bounds them: with no hypothesis left, every step asks).
    Under ratio:alpha every trusted group weighs at least alpha x the heaviest minus TOL x
    the living weight, the heaviest at least the demonstrator's w, so each query removes
    at least alpha w - TOL of the weight, of which 1 - w can ever go: queries <=
    (1 - w) / (alpha w - TOL), reported as `query_bound` = (1 - w) / (alpha w). Returns
    `query_bound` and `max_queries`, the whole number of queries it allows (None: noise, or no demonstrator)."""
    if noise > 0 or demonstrator_weight is None or demonstrator_weight <= 0:
        return {"query_bound": None, "max_queries": None}
    count_bound = max(units - 1, 0)
    if rule != "ratio":
        return {"query_bound": float(count_bound), "max_queries": count_bound}
    w = float(demonstrator_weight)
    ratio = (1.0 - w) / (value * w)
    cap = int(np.floor((1.0 - w) / (value * w - TOL))) if value * w > TOL else count_bound
    return {"query_bound": min(ratio, float(count_bound)), "max_queries": min(cap, count_bound)}
