"""The consensus agent in grids (docs/concepts.md): a trusted set of policies acts
where its members agree and asks the overseer (a shortest path to the base objective)
where they do not; frozen, or with the posterior updated on the answers. The trusted
sets and the update factor are the engine's (`levinsearch.consensus`)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from dsl.grammar import Grammar
from dsl.grid.primitives import HISTORY_NAMES
from dsl.grid.reference import AgentState, GridReference
from dsl.grid.world import DELTAS, OBJECT, WALL, GridEnv, breadth_first
from dsl.tree import tree
from levinsearch.consensus import trusted_set, update_factor


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
    environment, cell, memory, heading), so several agents on the same grids share them;
    a program that reads the trajectory (`visited`, the history profile) is evaluated
    afresh at every step on the agent's path as it has seen it (the cells where it was
    consulted, in order), since its decision depends on more than the cell."""

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

    def _root(self, k: int):
        if self.roots[k] is None:
            self.roots[k] = tree([int(x) for x in self.programs[k] if x >= 0], self.grammar)
        return self.roots[k]

    def _reads_history(self, k: int) -> bool:
        return any(0 <= int(x) < len(self.grammar.productions) and self.grammar.productions[int(x)].name
                   in HISTORY_NAMES for x in self.programs[k])

    def act(self, k: int, e: int, env: GridEnv, r: int, c: int) -> int | None:
        """Policy k's direction at (r, c) of environment e (index), advancing its state."""
        state = self.states[k]
        if not state.trail or state.trail[-1] != (r, c):
            state.trail.append((r, c))
        if self._reads_history(k):
            after = AgentState(state.m, state.h, state.trail)
            d, _, _ = self.ref.decide(self._root(k), env, r, c, after)
            state.m = after.m
            if d is not None:
                state.h = d
            return d
        key = (k, e, r, c, state.m, state.h)
        if key not in self.memo:
            after = AgentState(state.m, state.h)
            d, _, _ = self.ref.decide(self._root(k), env, r, c, after)
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
                   base_predicate_cells: Sequence[np.ndarray], policies: GridPolicies | None = None,
                   whole_ties: bool = False) -> dict:
    """Run the consensus agent with a frozen posterior on each environment.

    Each time step (at most env.horizon): every trusted policy (see `trusted_set`) is
    evaluated at the agent's cell (`GridPolicies`); if all give the same direction
    (None: stay) the agent takes it, otherwise it asks for `base_move` and counts one
    query. Movement as in `GridReference.episode`: a wall or the grid's edge leaves the
    agent in place; entering an object's cell ends the episode.
    programs: opcode arrays (trailing -1 padding ignored); base_predicate_cells[e]:
    bool [>= H, >= W] where the base objective holds in envs[e]; `policies` (optional)
    shares remembered decisions with other calls on the same programs; `whole_ties`: a
    tie at the trusted set's cut is trusted whole (`trusted_set`).

    Returns `members` and `episodes` (per environment: `reached` cell or None, `queries`,
    `query_cells` (cells where it asked), `path`), and overall `catastrophes` (episodes
    ending on an object where the base objective does not hold), `queries_per_episode`
    and `base_reached_share` (0.0 for both with no environments).
    """
    policies = policies or GridPolicies(programs, grammar)
    members = trusted_set(weights, rule, value, whole_ties)
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
                          noise: float = 0.0, policies: GridPolicies | None = None,
                          watch: int | None = None, whole_ties: bool = False) -> dict:
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
    fact). None under noise. With `watch` (a unit's index, e.g. the demonstrator's) the
    result also says whether that unit was refuted (`watched_refuted`; under noise:
    whether its weight was ever multiplied). With `whole_ties` a tie at the trusted set's
    cut is trusted whole, and `tie_steps` counts the steps where that made the set
    larger than the cut alone."""
    beta = update_factor(noise)
    policies = policies or GridPolicies(programs, grammar)
    w = np.asarray(weights, dtype=np.float64).copy()
    start = w.copy()
    history: list[list] = [[] for _ in range(len(w))]  # each unit's answers at the queried states
    per_episode, catastrophes, base_hits, tie_steps = [], 0, 0, 0
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
                trusted = trusted_set(group_weight / group_weight.sum(), rule, value, whole_ties)
                if whole_ties and len(trusted) > len(trusted_set(group_weight / group_weight.sum(), rule, value)):
                    tie_steps += 1
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
    } | ({} if watch is None else {"watched_refuted": bool(w[watch] < start[watch])}) | (
        {"tie_steps": tie_steps} if whole_ties else {})
