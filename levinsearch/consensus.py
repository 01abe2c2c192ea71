"""Occam, treacherous-turn and consensus analyses (docs/concepts.md).

Plain functions: arrays in, arrays or dicts out. Sequence functions take predictions
int64 [n, m] (program x step, e.g. from `dsl.seq.kernels.predict_batch` over the
deployment horizon), the target's terms there int64 [m] and, where needed, posterior
weights float [n] summing to 1. Weight comparisons (mixture ties, the 1 - eps mass
threshold, the alpha ratio) treat values within TOL x total weight as equal, so that
rounding never decides a tie.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from dsl.grammar import Grammar
from dsl.grid.reference import AgentState, GridReference
from dsl.grid.world import DELTAS, OBJECT, WALL, GridEnv, breadth_first
from dsl.tree import tree

TOL = 1e-12
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
def trusted_set(weights: np.ndarray, rule: str, value: float) -> np.ndarray:
    """Indices (int64, by weight descending, ties: lower index first) of the trusted set.

    rule "top": the first `value` (N >= 1) programs in that order (all if fewer);
    "mass": the shortest prefix of that order whose weight is >= (1 - eps) x total weight
    (eps = value in [0, 1); at least one program); "ratio": every program with
    weight >= alpha x the largest weight (alpha = value in (0, 1]). Thresholds are
    lowered by TOL x total weight (see the module docstring).
    """
    weights = np.asarray(weights, dtype=np.float64)
    order = np.argsort(-weights, kind="stable")
    if rule == "top":
        if value < 1:
            raise ValueError(f"top-N needs N >= 1, got {value}")
        return order[: int(value)].astype(np.int64)
    if rule == "mass":
        if not 0 <= value < 1:
            raise ValueError(f"eps must be in [0, 1), got {value}")
        total = weights.sum()
        held = np.cumsum(weights[order])
        k = int(np.searchsorted(held, (1 - value) * total - TOL * total, side="left")) + 1
        return order[: min(max(k, 1), len(order))].astype(np.int64)
    if rule == "ratio":
        if not 0 < value <= 1:
            raise ValueError(f"alpha must be in (0, 1], got {value}")
        keep = weights[order] >= value * weights.max() - TOL * weights.sum()
        return order[keep].astype(np.int64)
    raise ValueError(f"unknown rule {rule!r} (known: {', '.join(RULES)})")


# ------------------------------------------------------------------ consensus for sequences
def sequence_consensus(weights: np.ndarray, predictions: np.ndarray, target: np.ndarray,
                       rule: str, value: float) -> dict:
    """The trusted set (see `trusted_set`) predicts a step only when all its members
    predict the same value there, and abstains otherwise.

    Returns rule, value, `members`, `abstained` (bool [m]), `predicted` (steps not
    abstained), `errors` (predicted steps whose value != target), `error_rate`
    (errors / predicted; None when nothing was predicted), `abstention_rate`
    (abstentions / m; None when m = 0) and `has_equivalent` (a target-equivalent member).
    """
    predictions, target = np.asarray(predictions), np.asarray(target)
    members = trusted_set(weights, rule, value)
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
    the set's `size` added and the per-step `abstained` mask left out."""
    rows = []
    for v in values:
        row = sequence_consensus(weights, predictions, target, rule, v)
        del row["abstained"]
        rows.append({**row, "size": len(row["members"])})
    return rows


# ------------------------------------------------------------------ consensus for the grid
def base_move(env: GridEnv, base: np.ndarray, r: int, c: int) -> int | None:
    """First move of a shortest path from (r, c) to the nearest cell where `base`
    (bool [H, W]) holds, or None if none is reachable. Mirrors `plan`'s search:
    breadth-first, neighbours in N E S W order, walls never entered, object cells
    enterable but not passed through."""
    for v, step, _ in breadth_first(env.features, (r, c)):
        if base[v]:
            return step
    return None


class GridPolicies:
    """Grid programs run along the agent's own trajectory by the reference interpreter,
    each with its own memory and heading (a policy's heading is the direction it chose
    last, as in `GridReference.episode`). Decisions are remembered per (policy,
    environment, cell, memory, heading), so several agents on the same grids share them."""

    def __init__(self, programs: Sequence[Sequence[int]], grammar: Grammar):
        self.ref = GridReference(grammar)
        self.grammar = grammar
        self.programs = programs
        # Trees are built when a policy first acts: a large run has tens of thousands of
        # behaviours, and the agents consult few of them.
        self.roots: list = [None] * len(programs)
        self.memo: dict[tuple, tuple[int | None, int]] = {}
        self.states = [AgentState() for _ in self.roots]

    def start_episode(self) -> None:
        self.states = [AgentState() for _ in self.roots]

    def act(self, k: int, e: int, env: GridEnv, r: int, c: int) -> int | None:
        """Policy k's direction at (r, c) of environment e (index), advancing its state."""
        state = self.states[k]
        key = (k, e, r, c, state.m, state.h)
        if key not in self.memo:
            after = AgentState(state.m, state.h)
            if self.roots[k] is None:
                self.roots[k] = tree([int(x) for x in self.programs[k] if x >= 0], self.grammar)
            d, _, _ = self.ref.decide(self.roots[k], env, r, c, after)
            self.memo[key] = (d, after.m)
        d, state.m = self.memo[key]
        if d is not None:
            state.h = d
        return d


def _move(env: GridEnv, r: int, c: int, d: int | None) -> tuple[int, int, bool]:
    """The agent's cell after direction d (a wall or the edge leaves it in place), and
    whether it entered an object (which ends the episode)."""
    if d is None or env.cell(r + DELTAS[d][0], c + DELTAS[d][1]) & WALL:
        return r, c, False
    r, c = r + DELTAS[d][0], c + DELTAS[d][1]
    return r, c, bool(env.cell(r, c) & OBJECT)


def grid_consensus(programs: Sequence[Sequence[int]], weights: np.ndarray, envs: Sequence[GridEnv],
                   grammar: Grammar, rule: str, value: float,
                   base_predicate_cells: Sequence[np.ndarray], policies: GridPolicies | None = None) -> dict:
    """Run the consensus agent with a frozen posterior on each environment.

    Each time step (at most env.horizon): every trusted policy (see `trusted_set`) is
    evaluated at the agent's cell (`GridPolicies`); if all give the same direction
    (None: stay) the agent takes it, otherwise it asks for `base_move` and counts one
    query. Movement as in `GridReference.episode`: a wall or the grid's edge leaves the
    agent in place; entering an object's cell ends the episode.
    programs: opcode arrays (trailing -1 padding ignored); base_predicate_cells[e]:
    bool [>= H, >= W] where the base objective holds in envs[e]; `policies` (optional)
    shares remembered decisions with other calls on the same programs.

    Returns `members` and `episodes` (per environment: `reached` cell or None, `queries`,
    `query_cells` (cells where it asked), `path`), and overall `catastrophes` (episodes
    ending on an object where the base objective does not hold), `queries_per_episode`
    and `base_reached_share` (0.0 for both with no environments).
    """
    policies = policies or GridPolicies(programs, grammar)
    members = trusted_set(weights, rule, value)
    episodes, catastrophes, base_hits = [], 0, 0
    for e, (env, cells) in enumerate(zip(envs, base_predicate_cells, strict=True)):
        base = np.asarray(cells, dtype=bool)[: env.height, : env.width]
        policies.start_episode()
        r, c = env.start
        path, query_cells, reached = [(r, c)], [], None
        for _ in range(env.horizon):
            moves = {policies.act(int(k), e, env, r, c) for k in members}
            if len(moves) == 1:
                d = moves.pop()
            else:
                query_cells.append((r, c))
                d = base_move(env, base, r, c)
            r, c, entered = _move(env, r, c, d)
            if (r, c) != path[-1]:
                path.append((r, c))
            if entered:
                reached = (r, c)
                break
        if reached is not None:
            base_hits += bool(base[reached])
            catastrophes += not base[reached]
        episodes.append({"reached": reached, "queries": len(query_cells),
                         "query_cells": query_cells, "path": path})
    n_env = len(episodes)
    return {
        "members": members, "episodes": episodes, "catastrophes": catastrophes,
        "queries_per_episode": sum(e["queries"] for e in episodes) / n_env if n_env else 0.0,
        "base_reached_share": base_hits / n_env if n_env else 0.0,
    }


def grid_consensus_online(programs: Sequence[Sequence[int]], weights: np.ndarray, envs: Sequence[GridEnv],
                          grammar: Grammar, rule: str, value: float, base_predicate_cells: Sequence[np.ndarray],
                          noise: float = 0.0, policies: GridPolicies | None = None) -> dict:
    """The consensus agent with the posterior updated on the overseer's answers, over the
    episodes of `envs` in order (what it learns in one episode it keeps for the next).

    `programs` with `weights` are the hypotheses' finest units (e.g. one program per
    behaviour with the behaviour's posterior). At each step every living unit is
    evaluated at the agent's state, each along the agent's trajectory with its own
    memory and heading. Hypotheses are built from observed data only: the units grouped
    by the answers they would have given at every state queried so far and by their
    direction now. The trusted set is computed over these groups from the current
    weights; when all trusted groups give the same direction the agent takes it,
    otherwise it queries the overseer (`base_move`), every unit whose direction differs
    from the answer is refuted (removed under exact fit, its weight multiplied by
    eps / (1 - eps) under noise), and the agent takes the answered move.

    Returns per episode `queries` (and its `reached` cell), the cumulative `queries` over
    the episodes, `total_queries`, `catastrophes`, `base_reached_share`, the surviving
    units, and `query_bound`: under exact fit each query removes at least one unit (the
    trusted groups disagree, so one of them is wrong), so queries <= units - 1; under
    the ratio rule every trusted group weighs at least alpha x the heaviest, which weighs
    at least any unit that is never refuted, so each query removes at least alpha x w*
    of the weight, where w* is the heaviest unit still living at the end, and queries <=
    (1 - W) / (alpha w*) with W the weight living at the end (a bound read after the
    fact). None under noise."""
    beta = update_factor(noise)
    policies = policies or GridPolicies(programs, grammar)
    w = np.asarray(weights, dtype=np.float64).copy()
    start = w.copy()
    history: list[list] = [[] for _ in range(len(w))]  # each unit's answers at the queried states
    per_episode, catastrophes, base_hits = [], 0, 0
    for e, (env, cells) in enumerate(zip(envs, base_predicate_cells, strict=True)):
        base = np.asarray(cells, dtype=bool)[: env.height, : env.width]
        policies.start_episode()
        r, c = env.start
        queries, reached = 0, None
        for _ in range(env.horizon):
            live = np.flatnonzero(w > 0)
            now = {int(k): policies.act(int(k), e, env, r, c) for k in live}
            if len(live):
                keys = [(tuple(history[k]), -1 if now[k] is None else now[k]) for k in live]
                groups = sorted(set(keys))
                index = {key: j for j, key in enumerate(groups)}
                group_weight = np.zeros(len(groups))
                for k, key in zip(live, keys):
                    group_weight[index[key]] += w[k]
                trusted = trusted_set(group_weight / group_weight.sum(), rule, value)
                directions = {groups[j][1] for j in trusted}
            else:
                directions = set()
            if len(directions) == 1:
                d = directions.pop()
                d = None if d == -1 else d
            else:
                queries += 1
                d = base_move(env, base, r, c)
                for k in live:
                    history[k].append(now[k])
                    if now[k] != d:
                        w[k] *= beta
            r, c, entered = _move(env, r, c, d)
            if entered:
                reached = (r, c)
                break
        if reached is not None:
            base_hits += bool(base[reached])
            catastrophes += not base[reached]
        per_episode.append(queries)
    n_env = len(per_episode)
    total = int(sum(per_episode))
    bound = None
    if noise == 0:
        bound = float(max(int(np.count_nonzero(start > 0)) - 1, 0))
        alive = w > 0
        if rule == "ratio" and alive.any():
            bound = min(bound, float((start.sum() - start[alive].sum()) / (value * start[alive].max())))
    return {
        "rule": rule, "value": value, "episode_queries": per_episode,
        "queries": np.cumsum(per_episode).astype(int).tolist(), "total_queries": total,
        "queries_per_episode": total / n_env if n_env else 0.0, "catastrophes": int(catastrophes),
        "base_reached_share": base_hits / n_env if n_env else 0.0,
        "surviving": int(np.count_nonzero(w > 0)) if noise == 0 else None, "query_bound": bound,
    }


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
                    shortest_order: np.ndarray, noise: float = 0.0) -> dict:
    """Predict each deployment value from the posterior conditioned on everything
    revealed before it (the training data are already in the weights).

    weights float [n]: each hypothesis' posterior at the start of deployment;
    best_weights float [n]: the posterior of its best single program; predictions
    [n, m]; target [m]. After each step a hypothesis that mispredicted is multiplied by
    `update_factor(noise)` (removed under exact fit). At each step, MAP: the prediction
    of the heaviest single program (largest best weight x factor; ties: the first
    hypothesis); shortest: of the first living hypothesis in `shortest_order`; mixture:
    the value with the largest current weight. Returns per-step predictions (None once
    nothing is left), their correctness and the cumulative errors of each."""
    predictions, target = np.asarray(predictions), np.asarray(target)
    n, m = predictions.shape
    beta = update_factor(noise)
    weights = np.asarray(weights, dtype=np.float64)
    best = np.asarray(best_weights, dtype=np.float64)
    shortest_rank = np.empty(n, dtype=np.int64)
    shortest_rank[np.asarray(shortest_order, dtype=np.int64)] = np.arange(n)
    factor = np.ones(n)
    out: dict[str, list] = {key: [] for key in ("map", "mixture", "shortest")}
    for j in range(m):
        w = weights * factor
        if w.sum() <= 0:  # nothing left predicted every revealed value
            for key in out:
                out[key].append(None)
            continue
        out["map"].append(int(predictions[int(np.argmax(best * factor)), j]))
        out["shortest"].append(int(predictions[int(np.argmin(np.where(w > 0, shortest_rank, n))), j]))
        out["mixture"].append(int(mixture_prediction(w / w.sum(), predictions[:, j: j + 1])[0]))
        factor = np.where(predictions[:, j] != target[j], factor * beta, factor)
    result: dict = {"target": [int(t) for t in target]}
    for key, values in out.items():
        correct = [v is not None and v == int(t) for v, t in zip(values, target)]
        result[key] = values
        result[f"{key}_correct"] = correct
        result[f"{key}_errors"] = np.cumsum([not c for c in correct]).astype(int).tolist()
    return result


def online_consensus(weights: np.ndarray, predictions: np.ndarray, target: np.ndarray, rule: str, value: float,
                     noise: float = 0.0) -> dict:
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
    `query_bound` (see `query_bound`)."""
    predictions, target = np.asarray(predictions), np.asarray(target)
    n, m = predictions.shape
    beta = update_factor(noise)
    weights = np.asarray(weights, dtype=np.float64)
    w = weights.copy()
    queried, erred, sizes = [], [], []
    for j in range(m):
        live = np.flatnonzero(w > 0)
        if len(live) == 0:
            queried.append(True)
            erred.append(False)
            sizes.append(0)
            continue
        groups, inverse = np.unique(predictions[live, : j + 1], axis=0, return_inverse=True)
        group_weight = np.bincount(inverse.ravel(), weights=w[live], minlength=len(groups))
        members = trusted_set(group_weight / group_weight.sum(), rule, value)
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
            "query_bound": query_bound(rule, value, target_weight, predictions, weights, noise)}


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
