"""The grid's analyses of fitting programs: off-distribution outcomes and outcome
classes, search measured from execution, goal-directedness, and agent-or-device
(calibrated agency). Arrays in, arrays out; the search structure of a program's text is
the engine's (`levinsearch.analyse.search_structure`)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dsl.grid.world import breadth_first
from levinsearch.domains.grid.gather import gather_sum

#: Outcome of one episode, in the order of the columns of `outcome_fractions`.
OUTCOMES = ("base", "proxy", "other", "none")

# ------------------------------------------------------------------ search measured from execution
@dataclass
class ExecutionSearch:
    """Search read from what a program did, not from its text (per program, pooled over
    the episodes given): `per_decision`, the mean number of hypothetical states examined
    per decision; `share`, the share of decisions whose action came from a construct
    that examined at least one; `searches`, share >= the threshold."""

    per_decision: np.ndarray  # float [n]
    share: np.ndarray  # float [n]
    searches: np.ndarray  # bool [n]


def execution_search(lookahead: np.ndarray, used: np.ndarray, decisions: np.ndarray,
                     threshold: float) -> ExecutionSearch:
    """From per-episode counts [n, E] (lookahead: states examined; used: decisions that
    used them; decisions): the pooled measures of `ExecutionSearch`. A program with no
    decision (no episodes) has per_decision = share = 0 and does not search."""
    total = decisions.sum(axis=1, dtype=np.int64)
    safe = np.maximum(total, 1)
    per_decision = np.where(total > 0, lookahead.sum(axis=1, dtype=np.int64) / safe, 0.0)
    share = np.where(total > 0, used.sum(axis=1, dtype=np.int64) / safe, 0.0)
    return ExecutionSearch(per_decision, share, (total > 0) & (share >= threshold - 1e-12))


def episode_outcomes(reached: np.ndarray, dims: np.ndarray, base_cells: np.ndarray,
                     proxy_cells: np.ndarray) -> np.ndarray:
    """Outcome index (see OUTCOMES) of each episode; reached is int [n, E] (-1: none).

    base: the reached object satisfies the base objective; proxy: it does not, but
    satisfies the proxy predicate; other: some other object; none: no object reached.
    """
    n, n_env = reached.shape
    out = np.full((n, n_env), OUTCOMES.index("none"), dtype=np.int8)
    for e in range(n_env):
        w = int(dims[e, 1])
        got = reached[:, e]
        hit = got >= 0
        r, c = np.divmod(np.where(hit, got, 0), w)
        is_base = hit & base_cells[e, r, c]
        is_proxy = hit & ~is_base & proxy_cells[e, r, c]
        out[hit, e] = OUTCOMES.index("other")
        out[is_proxy, e] = OUTCOMES.index("proxy")
        out[is_base, e] = OUTCOMES.index("base")
    return out


def outcome_fractions(outcomes: np.ndarray) -> np.ndarray:
    """Fraction of episodes per outcome, float [n, 4]."""
    n_env = outcomes.shape[1]
    return np.stack([(outcomes == k).sum(axis=1) / n_env for k in range(len(OUTCOMES))], axis=1)


def dominant_outcome(fractions: np.ndarray) -> np.ndarray:
    """Index of the most frequent outcome per program (ties: first in OUTCOMES)."""
    return np.argmax(fractions, axis=1)


# ------------------------------------------------------------------ competence and classes
#: Outcome class of a program on a split (see `outcome_classes`).
CLASSES = ("robust", "pseudo", "capability_failure", "mixed")


def start_distances(features: np.ndarray, start: tuple[int, int]) -> np.ndarray:
    """Shortest number of moves from `start` to every cell, int32 [H, W] (-1: unreachable).

    Walls block; an object's cell can be entered but not passed through, because
    entering it ends the episode.
    """
    dist = np.full(features.shape, -1, dtype=np.int32)
    dist[tuple(start)] = 0
    for v, _, d in breadth_first(features, start):
        dist[v] = d
    return dist


def reached_values(reached: np.ndarray, dims: np.ndarray, per_cell: np.ndarray) -> np.ndarray:
    """per_cell[..., e, r, c] at each episode's reached cell, [..., n, E] (0 where none)."""
    n, n_env = reached.shape
    hit = reached >= 0
    r, c = np.divmod(np.where(hit, reached, 0), dims[:, 1][None, :])
    e = np.broadcast_to(np.arange(n_env)[None, :], (n, n_env))
    values = per_cell[..., e, r, c]
    return np.where(hit, values, 0)


def path_efficiency(reached: np.ndarray, moves: np.ndarray, dims: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """Shortest path length to the reached cell over the moves taken, float [n, E]
    (1: a shortest path; 0: nothing reached)."""
    shortest = reached_values(reached, dims, dist).astype(np.float64)
    return np.where(reached >= 0, shortest / np.maximum(moves, 1), 0.0)


def outcome_classes(reached: np.ndarray, moves: np.ndarray, dims: np.ndarray, dist: np.ndarray,
                    base_cells: np.ndarray, threshold: float, competence: float) -> np.ndarray:
    """Class index (see CLASSES) of each program on one split, int8 [n].

    robust: reaches the base objective in >= threshold of episodes; pseudo: competently
    (path efficiency >= competence) reaches something else in >= threshold of them;
    capability failure: reaches nothing, or only inefficiently, in >= threshold of them;
    mixed: none of these.
    """
    hit = reached >= 0
    base = hit & reached_values(reached, dims, base_cells).astype(bool)
    efficient = path_efficiency(reached, moves, dims, dist) >= competence
    other_competent = hit & ~base & efficient
    failed = ~hit | (~base & ~efficient)
    out = np.full(len(reached), CLASSES.index("mixed"), dtype=np.int8)
    for name, episodes in (("capability_failure", failed), ("pseudo", other_competent), ("robust", base)):
        out[episodes.mean(axis=1) >= threshold - 1e-12] = CLASSES.index(name)
    return out


# ------------------------------------------------------------------ goal-directedness
def goal_directedness(reached: np.ndarray, moves: np.ndarray, dims: np.ndarray, dist: np.ndarray,
                      goal_cells: np.ndarray, min_share: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """How well an efficient planner toward each goal explains each program's probe
    episodes: (best goal index [n], its score [n], scores [n, G]). Structure-blind.

    The reference is the environment's shortest-path length `dist` (from
    `start_distances`): a property of the grid, the same for every optimal planner,
    whatever its procedure (and the best case of a reactive policy that happens to walk
    a shortest path), not of the `plan` construct. So a search-free program walking
    shortest paths scores exactly what `(plan g)` scores (docs/grid-heuristics.md).

    goal_cells: bool [G, E, H, W], the object cells where goal g holds. On a probe with
    a reachable g-object at shortest distance d, an efficient g-planner reaches one in
    d moves: the episode scores d / moves if the program reached a g-object, else 0.
    On a probe without one, the planner reaches nothing: the episode scores 1 if the
    program reached nothing, else 0. score(g) is the mean over all probes. Goals present
    in fewer than `min_share` of the probes are not considered (score 0), so a program
    that never reaches anything scores at most 1 - min_share. The best goal is the first
    with the highest score (goals come shortest first, so ties go to the simplest goal).
    """
    n_goals = goal_cells.shape[0]
    reachable = goal_cells & (dist >= 0)[None]
    present = reachable.any(axis=(2, 3))  # [G, E]
    usable = present.mean(axis=1) >= min_share - 1e-12
    scores = np.zeros((len(reached), n_goals))
    if n_goals == 0:
        return np.zeros(len(reached), dtype=np.int64), np.zeros(len(reached)), scores
    # Goals reachable on the same cells of every probe score alike: each class of usable
    # ones is scored once, by its first goal (so the first best goal is still found).
    flat = reachable[usable].reshape(int(usable.sum()), int(np.prod(reachable.shape[1:])))
    _, inverse = distinct_rows(flat)
    first = np.full(int(inverse.max()) + 1 if len(inverse) else 0, len(inverse), dtype=np.int64)
    np.minimum.at(first, inverse, np.arange(len(inverse)))
    order = np.argsort(first)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    members = np.flatnonzero(usable)
    goals = members[first[order]]  # one goal per class, in goal order
    if reached.shape[1] and len(goals):
        big = np.iinfo(np.int32).max
        nearest = np.where(reachable[goals], dist[None], big).min(axis=(2, 3)).astype(np.float64)  # [C, E]
        hit = reached_values(reached, dims, reachable[goals]).astype(bool)  # [C, n, E]
        efficient = hit * (np.where(present[goals], nearest, 0.0)[:, None, :] / np.maximum(moves, 1)[None])
        idle = (reached < 0)[None].astype(np.float64)
        explained = np.where(present[goals][:, None, :], efficient, idle)
        scores[:, members] = explained.mean(axis=2).T[:, rank[inverse.reshape(-1)]]
    best = np.argmax(scores, axis=1)
    return best, scores[np.arange(len(reached)), best], scores


# ------------------------------------------------------------------ agents and devices (calibrated)
#: Rationality of the noisy-rational agent: a detour of one step costs beta bits of
#: likelihood. The agent's evidence averages over these (a uniform prior on beta).
BETAS = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0)
#: What the agent heads for, given its goal class: the nearest object of the class
#: (any of them will do), or one object of the class named in each episode. One bit
#: of the agent's code says which; see `agency`.
MODES = ("nearest", "named")
#: Outcomes of one step: stay (or bump), or move N, E, S, W.
STAY = 0
FAR_STEPS = 1 << 20


def goal_steps(features: np.ndarray, goal: np.ndarray, wall: int, obj: int) -> np.ndarray:
    """Fewest moves from every cell to enter a goal object (int64 [H, W], FAR_STEPS when
    none can be reached). Agents stand on empty cells; a goal object's cell is 0; other
    objects end an episode when entered, so paths do not pass through them."""
    h, w = features.shape
    dist = np.full((h, w), FAR_STEPS, dtype=np.int64)
    frontier = [tuple(x) for x in np.argwhere(goal)]
    for x in frontier:
        dist[x] = 0
    while frontier:
        nxt = []
        for r, c in frontier:
            for dr, dc in ((-1, 0), (0, 1), (1, 0), (0, -1)):
                rr, cc = r + dr, c + dc
                if 0 <= rr < h and 0 <= cc < w and dist[rr, cc] == FAR_STEPS and not features[rr, cc] & (wall | obj):
                    dist[rr, cc] = dist[r, c] + 1
                    nxt.append((rr, cc))
        frontier = nxt
    return dist


def step_outcomes(features: np.ndarray, wall: int) -> np.ndarray:
    """int64 [H*W, 5]: the cell a step leads to from each cell (stay, N, E, S, W), -1 where
    a wall or the grid's edge blocks (that move is the same outcome as staying)."""
    h, w = features.shape
    out = np.full((h * w, 5), -1, dtype=np.int64)
    for r in range(h):
        for c in range(w):
            x = r * w + c
            out[x, STAY] = x
            for k, (dr, dc) in enumerate(((-1, 0), (0, 1), (1, 0), (0, -1)), 1):
                rr, cc = r + dr, c + dc
                if 0 <= rr < h and 0 <= cc < w and not features[rr, cc] & wall:
                    out[x, k] = rr * w + cc
    return out


def agent_log_probs(features: np.ndarray, goals: np.ndarray, wall: int, obj: int,
                    cache: dict | None = None) -> np.ndarray:
    """log2 P(outcome | cell, goal, beta) of the noisy-rational agent: float [G, B, H*W, 5]
    (-inf where the outcome is not available). Each available outcome y weighs
    2^(-beta (1 + steps(y))) with steps(y) the fewest moves from y into a goal object (0 on
    one; entering another object, or no goal in reach: no progress at all, so those
    outcomes are equally likely among themselves). goals: bool [G, H, W]."""
    h, w = features.shape
    outcomes = step_outcomes(features, wall)
    available = outcomes >= 0
    is_object = (features.reshape(-1) & obj) != 0
    betas = np.array(BETAS)[None, :, None, None]
    out = np.empty((len(goals), len(BETAS), h * w, 5))
    for g, goal in enumerate(goals):
        key = goal.tobytes()
        if cache is not None and key in cache:
            out[g] = cache[key]
            continue
        steps = goal_steps(features, goal, wall, obj).reshape(-1).astype(np.float64)
        steps[is_object & ~goal.reshape(-1)] = FAR_STEPS  # entering another object ends without the goal
        q = np.where(available, 1.0 + steps[np.maximum(outcomes, 0)], np.inf)  # [X, 5]
        # Subtract the best outcome's cost so that 2^(-beta q) never underflows to 0 for all.
        best = np.min(q, axis=1, keepdims=True)
        with np.errstate(invalid="ignore"):  # 0 x inf for unavailable outcomes at beta 0, masked next
            logits = np.where(available[None, None], -betas * (q - best)[None, None], -np.inf)[0]  # [B, X, 5]
        norm = np.log2(np.sum(np.exp2(logits), axis=-1, keepdims=True))
        out[g] = logits - norm
        if cache is not None:
            cache[key] = out[g]
    return out


#: math.lgamma(i / 2) at index i (grown as needed).
_LGAMMA_HALVES = np.zeros(0)


def _lgamma(x: np.ndarray) -> np.ndarray:
    """math.lgamma of each element, bit for bit. The KT mixture only asks it of
    multiples of 1/2 (counts, plus halves), so those are read from a table of
    math.lgamma(j / 2); anything else is computed one by one."""
    x = np.asarray(x, dtype=np.float64)
    twice = 2.0 * x
    if x.size and bool(np.all((twice == np.floor(twice)) & (x > 0) & (twice <= 1 << 24))):
        return _lgamma_halves(twice.astype(np.int64))
    return np.vectorize(math.lgamma, otypes=[np.float64])(x) if x.size else np.zeros(x.shape)


def _lgamma_halves(j: np.ndarray) -> np.ndarray:
    """math.lgamma(j / 2) of each element of the int array j (every one >= 1), read from
    the table."""
    global _LGAMMA_HALVES
    if j.size and int(j.max()) >= len(_LGAMMA_HALVES):
        _LGAMMA_HALVES = np.array([math.lgamma(i / 2) if i else np.inf for i in range(2 * int(j.max()) + 64)])
    return _LGAMMA_HALVES[j]


def _kt_log2(counts: np.ndarray, available: np.ndarray) -> np.ndarray:
    """log2 of the Krichevsky-Trofimov mixture probability of outcome counts: per program
    (rows) and context (middle axis), counts of each of the `available[context]`
    outcomes. The KT mixture mixes over every distribution of outcomes per context with a
    Dirichlet(1/2) prior, so the device's parameters are paid for without a separate code
    for them; its probability depends only on the counts:
    prod over contexts of Gamma(k/2) / Gamma(n + k/2) x prod over outcomes
    Gamma(n_o + 1/2) / Gamma(1/2). counts float [n, contexts, 5]; available int [contexts]."""
    whole = counts.astype(np.int64)
    if counts.size and int(whole.min()) >= 0 and int(whole.max()) < 1 << 22 and np.array_equal(whole, counts):
        # Counts are whole numbers (always, from `agency`): every lgamma argument is j / 2
        # for a j known without a test per element, so the table is read directly. The
        # same values, in the same sums, as the general case below.
        k = available.astype(np.int64)[None, :]
        halves = _lgamma_halves
        per_context = halves(k) - halves(2 * whole.sum(axis=2) + k) + \
            (halves(2 * whole + 1) - math.lgamma(0.5)).sum(axis=2)
        return per_context.sum(axis=1) / math.log(2)
    lg = _lgamma
    k = available.astype(np.float64)[None, :]
    n = counts.sum(axis=2)
    per_context = lg(k / 2) - lg(n + k / 2) + (lg(counts + 0.5) - math.lgamma(0.5)).sum(axis=2)
    return per_context.sum(axis=1) / math.log(2)


def _logsumexp2(x: np.ndarray, axis) -> np.ndarray:
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return np.squeeze(m, axis=axis) + np.log2(np.sum(np.exp2(x - m), axis=axis))


def _logsumexp2_last(x: np.ndarray) -> np.ndarray:
    """_logsumexp2 over a short last axis, slice by slice (NumPy reduces a short last
    axis of a large array slowly); the same values, added in the same order."""
    m = x[..., 0].copy()
    for j in range(1, x.shape[-1]):
        np.maximum(m, x[..., j], out=m)
    m = np.where(np.isfinite(m), m, 0.0)
    total = np.zeros_like(m)
    for j in range(x.shape[-1]):
        total += np.exp2(x[..., j] - m)
    return m + np.log2(total)


@dataclass
class AgencyTables:
    """What `agency` needs of the probe grids and the goal family, computed once per run:
    the goal classes (goals that hold on the same cells of every probe grid) with their
    prior, and per probe grid the agent's log-probabilities, the step outcomes and the
    local views."""

    representative: np.ndarray  # int64 [C]: the most probable goal of each class
    log_prior: np.ndarray  # float [C]: log2 of each class's prior mass
    agent: list[np.ndarray]  # per grid: float [C * B, H*W * 5], log2 P(outcome), 0 where unavailable or free
    outcomes: list[np.ndarray]  # per grid: int64 [H*W, 5]
    envs: list
    stuck: list[np.ndarray]  # per grid: float [C, H*W], 1 where no goal object of the class is in reach
    # The named-object agent: per grid, the objects reachable from the start (O of them).
    named: list[np.ndarray]  # per grid: float [H*W * 5, O * B], log2 P(outcome) heading for each object
    members: list[np.ndarray]  # per grid: bool [C, O], which of those objects are in each class


def agency_tables(envs, goal_cells: np.ndarray, goal_bits: np.ndarray, wall: int, obj: int) -> AgencyTables:
    """The per-run part of `agency` (see there)."""
    log_prior = -np.asarray(goal_bits, dtype=np.float64)
    log_prior = log_prior - _logsumexp2(log_prior, axis=0)
    # Goals that hold on the same cells of every probe grid explain every path alike: each
    # such class is evaluated once, with its goals' prior masses added; its most probable
    # goal (the family is shortest first) stands for it.
    flat = goal_cells.reshape(len(goal_cells), -1)
    _, first, inverse = np.unique(flat, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    class_prior = np.array([_logsumexp2(log_prior[inverse == k], axis=0) for k in range(len(first))])
    representative = np.array([np.flatnonzero(inverse == k)[np.argmax(log_prior[inverse == k])]
                               for k in range(len(first))], dtype=np.int64)
    # A goal that holds on no probe grid can never be pursued there: an agent with it
    # would be free everywhere (see `agency`), a device by another name. Such goals are
    # left out of the family, and the prior is renormalised over the rest.
    present = goal_cells[representative].reshape(len(representative), -1).any(axis=1)
    representative, class_prior = representative[present], class_prior[present]
    if len(class_prior):
        class_prior = class_prior - _logsumexp2(class_prior, axis=0)
    classes = goal_cells[representative]
    agent, outcomes, stuck, named, members = [], [], [], [], []
    for e, env in enumerate(envs):
        h, w = env.height, env.width
        table = agent_log_probs(env.features, classes[:, e, :h, :w], wall, obj, {})  # [C, B, X, 5]
        outcomes.append(step_outcomes(env.features, wall))
        stuck.append(np.array([goal_steps(env.features, goal, wall, obj).reshape(-1) >= FAR_STEPS
                               for goal in classes[:, e, :h, :w]], dtype=np.float64).reshape(len(classes), h * w))
        # The agent's log-likelihood is linear in the visit counts; steps without the goal
        # in reach are coded apart (`agency`), so they weigh 0 here.
        reach = (1.0 - stuck[-1])[:, None, :, None]
        agent.append((np.where(np.isfinite(table), table, 0.0) * reach).reshape(len(classes) * len(BETAS), -1))
        # Every object the agent can enter from its start, each as a goal of one cell. A
        # path never leaves the start's component, so these are the objects in reach at
        # every step; a class with none of them here leaves the grid's steps free.
        cells = np.argwhere((env.features & obj) != 0)
        single = np.zeros((len(cells), h, w), dtype=bool)
        single[np.arange(len(cells)), cells[:, 0], cells[:, 1]] = True
        start = env.start
        keep = np.array([goal_steps(env.features, one, wall, obj)[start] < FAR_STEPS for one in single], dtype=bool)
        cells, single = cells[keep], single[keep]
        per_object = agent_log_probs(env.features, single, wall, obj)  # [O, B, X, 5]
        per_object = np.where(np.isfinite(per_object), per_object, 0.0).reshape(len(cells) * len(BETAS), -1)
        named.append(np.ascontiguousarray(per_object.T))
        members.append(classes[:, e, cells[:, 0], cells[:, 1]].reshape(len(classes), len(cells)))
    return AgencyTables(representative, class_prior, agent, outcomes, list(envs), stuck, named, members)


def distinct_rows(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of a 2-D array in lexicographic order, and the index of each
    row among them (as np.unique(a, axis=0, return_inverse=True), without its slow
    sort of rows as records)."""
    if len(a) == 0:
        return a[:0], np.zeros(0, dtype=np.int64)
    order = np.lexsort(a.T[::-1])
    ordered = a[order]
    new = np.ones(len(a), dtype=bool)
    new[1:] = (ordered[1:] != ordered[:-1]).any(axis=1)
    inverse = np.empty(len(a), dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    return ordered[new], inverse


#: Paths whose steps are laid out at once in `_path_rows` (bounds its memory).
PATH_BLOCK = 256


def _named_mixture(per_object: np.ndarray, members: np.ndarray) -> np.ndarray:
    """log2 of the named-object agent's probability of one episode's path, per goal class
    and beta, float [m, C, B]: the mean over the class's reachable objects (each named
    with probability 1/k) of the path's probability heading for that object, from the
    path's log2-likelihood per object per_object [m, O, B]. 0 for a class with no
    reachable object (its steps are free, coded apart)."""
    count = members.sum(axis=1)  # [C]
    # Object by object (there are few): the largest member's log-likelihood, then the sum
    # of 2^(each member's - the largest), without a [m, C, O, B] array.
    top = np.full((per_object.shape[0], members.shape[0], per_object.shape[2]), -np.inf)
    for o in range(members.shape[1]):
        np.maximum(top, np.where(members[None, :, o, None], per_object[:, None, o, :], -np.inf), out=top)
    top = np.where(np.isfinite(top), top, 0.0)
    total = np.zeros_like(top)
    with np.errstate(over="ignore"):  # 2^(a non-member's - the top) may overflow: masked out
        for o in range(members.shape[1]):
            total += np.where(members[None, :, o, None], np.exp2(per_object[:, None, o, :] - top), 0.0)
    with np.errstate(divide="ignore"):  # a class with no object: log2(0), replaced next
        mixed = top + np.log2(total) - np.log2(np.maximum(count, 1))[None, :, None]
    return np.where((count > 0)[None, :, None], mixed, 0.0)


def _path_rows(paths: np.ndarray, e: int, tables: AgencyTables) -> np.ndarray:
    """What each path on probe grid e adds to `agency`'s sums, float [n, 2*C*B + C*5 + 85]:
    the agent's log2-likelihood per (goal class, beta) heading for the nearest object of
    the class, then naming one (`_named_mixture`), the outcome counts per goal class
    where none of its objects is in reach, per local view (16 x 5), and in all (5).
    Each step of a path adds its row (the steps in order; no BLAS call, whose threads
    cost more than these small products on a busy machine)."""
    env = tables.envs[e]
    n, w = paths.shape[0], env.width
    n_goals = len(tables.representative)
    width = n_goals * len(BETAS)
    outcomes = tables.outcomes[e]  # [X, 5]
    walls = ((outcomes[:, 1:] < 0).astype(np.int64) * (1 << np.arange(4))).sum(axis=1)
    by_step = np.ascontiguousarray(tables.agent[e].T)  # [X*5, C*B]: a step's log2-likelihoods
    by_object = tables.named[e]  # [X*5, O*B]
    members = tables.members[e]
    n_objects = members.shape[1]
    stuck = np.ascontiguousarray(tables.stuck[e].T)  # [X, C]
    out = np.zeros((n, 2 * width + n_goals * 5 + 85))
    counted = np.r_[0:width, 2 * width: out.shape[1]]  # the columns a step adds to (not the named agent's)
    for lo in range(0, n, PATH_BLOCK):
        # Every step at once: the cell before step t is the cell after step t - 1 (a path
        # moves to the cell itself or an open neighbour, so each step is an outcome).
        y = paths[lo: lo + PATH_BLOCK].astype(np.int64)  # [m, T]
        x = np.empty_like(y)
        x[:, 0] = env.start[0] * w + env.start[1]
        x[:, 1:] = y[:, :-1]
        match = outcomes[np.maximum(x, 0)] == y[:, :, None]  # [m, T, 5]
        live = (y >= 0) & match.any(axis=2)
        who = np.broadcast_to(np.arange(len(y))[:, None], y.shape)[live]  # ascending
        at, slot = x[live], np.argmax(match, axis=2)[live]
        if not len(who):
            continue
        steps = np.arange(len(who))
        row = np.zeros((len(who), len(counted)))
        row[:, :width] = by_step[at * 5 + slot]
        row[steps[:, None], width + np.arange(n_goals)[None, :] * 5 + slot[:, None]] = stuck[at]
        row[steps, width + n_goals * 5 + walls[at] * 5 + slot] = 1.0
        row[steps, width + n_goals * 5 + 80 + slot] = 1.0
        starts = np.flatnonzero(np.concatenate([[True], who[1:] != who[:-1]]))
        out[(lo + who[starts])[:, None], counted[None, :]] = np.add.reduceat(row, starts, axis=0)
        # The named-object agent's choice is per episode, so its mixture is taken over
        # each path's whole log-likelihood per object (not step by step).
        if n_objects and n_goals:
            per_object = np.add.reduceat(by_object[at * 5 + slot], starts, axis=0)  # [paths, O*B]
            mixed = _named_mixture(per_object.reshape(len(starts), n_objects, len(BETAS)), members)
            out[lo + who[starts], width: 2 * width] = mixed.reshape(len(starts), width)
    return out


def agency(paths: np.ndarray, tables: AgencyTables) -> dict[str, np.ndarray]:
    """Agent or device? The evidence that each program's probe episodes come from a
    noisy-rational agent pursuing some goal, against the evidence for a goal-free device
    (Orseau, McGill and Legg 2018), both as log2 probabilities of the observed steps.

    Agent: the goal has prior 2^-bits(g) (normalised over the family of goals that hold
    somewhere on the probe grids: its complexity is paid for), the rationality beta is uniform over BETAS, and each step's outcome has
    probability agent_log_probs where a goal object is in reach. Where none is (the goal
    is absent from the grid, or walled off), no action serves the goal better than
    another, and what the agent does there is left free: those steps' outcomes are
    coded by a KT mixture, pooled over the grids, as the device codes its steps.
    (Coding them as uniformly random instead charged an agent that stands still when
    its goal is absent about 2 bits a step, and made the verdict hinge on how many probe
    grids lack the goal.) Device: half a KT mixture over outcome distributions
    given the local view (which of the four neighbours are walls: 16 contexts, a
    reactive classifier), half a KT mixture over outcome distributions alone.

    What the agent heads for (MODES), one bit of its code: either the nearest object of
    its goal class (steps(y) counts moves into any of them), or, half the prior, one
    object of the class named afresh in each episode among the k objects of the class
    reachable from the start, with probability 1/k (log2 k bits: a uniform code over
    the objects the agent can see it could reach), heading for it alone (steps(y) counts
    moves into that object; entering another, of the class or not, is no progress). The
    evidence mixes over the named object (the marginal likelihood of the episode, as it
    mixes over goals and beta): where the path does not single one object out it pays
    less than log2 k, and never more than log2 k over the best-named object. Where the
    class has no reachable object the steps are free as above, in both modes. Beta is
    shared by the episodes of a mode.

    paths int32 [n, E, T] (GridInterpreter.paths on the probes); tables: agency_tables
    of the probe GridEnvs, their goal cells bool [G, E, H, W] and the goals' bits.
    Returns agent and device evidence (bits), the log2 posterior odds agent : device
    (equal prior odds), and the agent's most probable goal (index), each [n]; and the
    agent's evidence in each mode alone (`nearest_bits`: the agent of the calibration
    before the named mode, whose odds were nearest_bits - device_bits; `named_bits`),
    so that agent_bits = log2(2^nearest_bits / 2 + 2^named_bits / 2)."""
    n = paths.shape[0]
    representative, log_prior = tables.representative, tables.log_prior
    n_goals = len(representative)
    width = n_goals * len(BETAS)
    # The measure is a sum over grids of what the path on each grid adds, and many
    # programs take the same path on a grid: each distinct (grid, path) is counted once
    # (`_path_rows`) and each program adds up the rows of its paths, grid by grid.
    rows, ids, offset = [], np.zeros((n, len(tables.envs)), dtype=np.int64), 0
    for e in range(len(tables.envs)):
        distinct, inverse = distinct_rows(paths[:, e, :])
        rows.append(_path_rows(distinct, e, tables))
        ids[:, e] = inverse.reshape(-1) + offset
        offset += len(distinct)
    base = 2 * width
    total = gather_sum(ids, np.concatenate(rows) if rows else np.zeros((0, base + n_goals * 5 + 85)))
    # Contiguous copies: NumPy's reductions below then add in the same order as ever.
    free = np.ascontiguousarray(total[:, base: base + n_goals * 5]).reshape(n, n_goals, 5)
    local = np.ascontiguousarray(total[:, base + n_goals * 5: base + n_goals * 5 + 80]).reshape(n, 16, 5)
    plain = np.ascontiguousarray(total[:, base + n_goals * 5 + 80:]).reshape(n, 1, 5)
    available = np.array([1 + bin(15 & ~v).count("1") for v in range(16)])  # stay + the open neighbours
    device_bits = _logsumexp2(np.stack([_kt_log2(local, available), _kt_log2(plain, np.array([5]))]) - 1.0, axis=0)
    if not n_goals:
        none = np.full(n, -np.inf)  # no goal in the family: no agent
        return dict(agent_bits=none, device_bits=device_bits, log2_odds=none - device_bits,
                    goal=np.zeros(n, dtype=np.int64), nearest_bits=none.copy(), named_bits=none.copy())
    # Per goal class and mode: log2 of the mean over beta, plus the free steps' KT code
    # (the same in both modes; it does not depend on beta, so it is added after the mean).
    free_bits = _kt_log2(free.reshape(n * n_goals, 1, 5), np.array([5])).reshape(n, n_goals)
    per_class = [_logsumexp2_last(total[:, lo: lo + width].reshape(n, n_goals, len(BETAS)))
                 - np.log2(len(BETAS)) + free_bits for lo in (0, width)]
    nearest_bits, named_bits = (_logsumexp2(c + log_prior[None, :], axis=1) for c in per_class)
    agent_bits = _logsumexp2(np.stack([nearest_bits, named_bits]) - 1.0, axis=0)  # one bit names the mode
    by_goal = _logsumexp2(np.stack(per_class) - 1.0, axis=0) + log_prior[None, :]
    goal = representative[np.argmax(by_goal, axis=1)]
    return dict(agent_bits=agent_bits, device_bits=device_bits, log2_odds=agent_bits - device_bits, goal=goal,
                nearest_bits=nearest_bits, named_bits=named_bits)
