"""Online Bayesian updating in deployment: hand-computed predictions of the MAP, mixture
and shortest programs, the halving bound, and the consensus predictor's queries with
hypotheses built from observed data only."""
from __future__ import annotations

import math

import numpy as np
import pytest

from levinsearch import consensus as cs
from levinsearch.domains.grid import consensus as grid_cs

# Three hypotheses over four steps; the third is always right.
W = np.array([0.5, 0.3, 0.2])
PREDS = np.array([[1, 9, 3, 4],
                  [1, 2, 8, 4],
                  [1, 2, 3, 4]])
TARGET = np.array([1, 2, 3, 4])


def test_online_sequence_by_hand():
    out = cs.online_sequence(W, PREDS, TARGET, best_weights=W, shortest_order=np.array([1, 0, 2]))
    # step 0: all agree; step 1: hypothesis 0 (MAP, 0.5) says 9, mixture 2 (0.3 + 0.2 > 0.5? no, 0.5 = 0.5:
    # a tie, the smaller value wins) -> 2; shortest (order 1, 0, 2) is hypothesis 1 -> 2.
    assert out["map"] == [1, 9, 8, 4]  # after step 1 hypothesis 0 is gone; hypothesis 1 (0.3) is MAP at step 2
    assert out["mixture"] == [1, 2, 8, 4]  # step 2: 8 has 0.3, 3 has 0.2
    assert out["shortest"] == [1, 2, 8, 4]
    assert out["map_errors"] == [0, 1, 2, 2]
    assert out["mixture_errors"] == [0, 0, 1, 1]
    assert out["shortest_errors"] == [0, 0, 1, 1]


def test_online_sequence_with_noise_keeps_refuted_hypotheses_down_weighted():
    out = cs.online_sequence(W, PREDS, TARGET, best_weights=W, shortest_order=np.array([0, 1, 2]), noise=0.1)
    beta = 0.1 / 0.9
    # step 2: weights 0.5*beta, 0.3, 0.2 -> 8 (0.3) beats 3 (0.2 + 0.0556)
    assert 0.3 > 0.2 + 0.5 * beta
    assert out["mixture"] == [1, 2, 8, 4]
    # MAP at step 2 is hypothesis 1 (0.3 > 0.5 beta); at step 3 hypothesis 2 (0.2 > 0.3 beta > 0.5 beta^2)
    assert out["map"] == [1, 9, 8, 4]
    assert out["shortest"] == [1, 9, 3, 4]  # under noise nobody is removed: always the first in order


def test_halving_bound_values():
    assert cs.halving_bound(0.25) == pytest.approx(2.0)
    assert cs.halving_bound(1.0) == 0.0
    assert cs.halving_bound(0.0) is None
    beta = 0.1 / 0.9
    assert cs.halving_bound(0.25, 0.1) == pytest.approx(2.0 / math.log2(2 / (1 + beta)))


@pytest.mark.parametrize("noise", [0.0, 0.05, 0.3])
def test_the_mixture_never_exceeds_the_halving_bound(noise):
    rng = np.random.default_rng(3)
    for _ in range(300):
        n, m = int(rng.integers(2, 12)), int(rng.integers(1, 15))
        target = rng.integers(0, 3, m)
        preds = rng.integers(0, 3, (n, m))
        preds[int(rng.integers(n))] = target  # one hypothesis is always right
        w = rng.dirichlet(np.ones(n) * 0.5)
        out = cs.online_sequence(w, preds, target, w, np.arange(n), noise)
        bound = cs.halving_bound(float(w[cs.target_equivalent(preds, target)].sum()), noise)
        assert out["mixture_errors"][-1] <= bound + 1e-9


def test_online_consensus_by_hand():
    # ratio 0.5: step 0 all agree (one group); step 1 groups {0: 9 (0.5)}, {1, 2: 2 (0.5)} disagree -> query;
    # hypothesis 0 goes; step 2 groups 8 (0.3) and 3 (0.2): 0.2 >= 0.5 x 0.3 -> query; step 3 agrees.
    out = cs.online_consensus(W, PREDS, TARGET, "ratio", 0.5)
    assert out["queried"] == [False, True, True, False]
    assert out["queries"] == [0, 1, 2, 2] and out["errors"] == 0
    assert out["query_bound"] == pytest.approx(min(2, 2, (1 - 0.2) / (0.5 * 0.2)))
    # top 1 never queries. At step 1 the groups predicting 9 (0.5) and 2 (0.3 + 0.2) tie; ties go to the
    # group listed first (predictions in ascending order), which predicts 2: no error. At step 2 it is
    # the group predicting 8 (0.3 against 0.2): one error.
    top = cs.online_consensus(W, PREDS, TARGET, "top", 1)
    assert top["total_queries"] == 0 and top["queried"] == [False] * 4
    assert top["wrong"] == [False, False, True, False]


def test_hypotheses_are_built_from_observed_data_only():
    # Rows 0 and 1 differ only at step 1. At step 0 they are one hypothesis (0.3 + 0.3 = 0.6),
    # heavier than row 2 (0.4), so top 1 predicts their common value 5 and is wrong once.
    w = np.array([0.3, 0.3, 0.4])
    preds = np.array([[5, 1], [5, 2], [6, 2]])
    target = np.array([6, 2])
    out = cs.online_consensus(w, preds, target, "top", 1)
    assert out["wrong"] == [True, False] and out["errors"] == 1
    # Frozen behaviours (one per row) would make row 2 the top hypothesis and never err at step 0.
    assert cs.trusted_set(w, "top", 1).tolist() == [2]


def test_queries_stay_within_their_bound():
    rng = np.random.default_rng(8)
    for rule, value in (("ratio", 0.5), ("ratio", 0.1), ("top", 2), ("mass", 0.1)):
        for _ in range(150):
            n, m = int(rng.integers(2, 10)), int(rng.integers(1, 12))
            target = rng.integers(0, 3, m)
            preds = rng.integers(0, 3, (n, m))
            preds[0] = target
            w = rng.dirichlet(np.ones(n))
            out = cs.online_consensus(w, preds, target, rule, value)
            assert out["total_queries"] <= out["query_bound"] + 1e-9


# ------------------------------------------------------------------ the grid agent
from dsl.grid import primitives as gp  # noqa: E402
from dsl.grid.world import FEATURES, parse_ascii  # noqa: E402
from dsl.syntax import parse  # noqa: E402

CORRIDOR = """\
#######
#R.@.D#
#######

R = red box
D = blue door
"""


def corridor_case():
    g = gp.grammar()
    env = parse_ascii(CORRIDOR, horizon=6)
    base = (env.features & (1 << FEATURES.index("door"))) != 0
    programs = [parse(p, g) for p in ("(plan red)", "(plan door)")]
    return g, env, base, programs


def test_online_grid_agent_by_hand():
    g, env, base, programs = corridor_case()
    w = np.array([0.6, 0.4])
    # ratio 0.5: 0.4 >= 0.3, both trusted, they disagree: one query, (plan red) is refuted; then it agrees.
    out = grid_cs.grid_consensus_online(programs, w, [env, env], g, "ratio", 0.5, [base, base])
    assert out["episode_queries"] == [1, 0] and out["total_queries"] == 1 and out["queries"] == [1, 1]
    assert out["catastrophes"] == 0 and out["base_reached_share"] == 1.0 and out["surviving"] == 1
    assert out["query_bound"] == pytest.approx(min(1.0, (1 - 0.4) / (0.5 * 0.4)))
    # top 1 trusts the heavier (plan red): it never asks and walks into the red box every time.
    top = grid_cs.grid_consensus_online(programs, w, [env, env], g, "top", 1, [base, base])
    assert top["total_queries"] == 0 and top["catastrophes"] == 2
    # Frozen top 2 asks at both steps of every episode: nothing is learned.
    frozen = grid_cs.grid_consensus(programs, w, [env, env], g, "top", 2, [base, base])
    assert [e["queries"] for e in frozen["episodes"]] == [2, 2] and frozen["catastrophes"] == 0
    # Under noise the refuted program keeps weight 0.6 x eps/(1 - eps) < 0.5 x 0.4: asked once, then trusted no more.
    noisy = grid_cs.grid_consensus_online(programs, w, [env, env], g, "ratio", 0.5, [base, base], noise=0.1)
    assert noisy["episode_queries"] == [1, 0] and noisy["query_bound"] is None


def test_grid_policies_keep_each_programs_memory_and_heading():
    g = gp.grammar(profile="heuristics")
    env = parse_ascii(CORRIDOR, horizon=6)
    policies = grid_cs.GridPolicies([parse("(if (recall m1) E (remember m1 W))", g), parse("(if (sense ahead wall) E S)", g)],
                               g)
    policies.start_episode()
    assert policies.act(0, 0, env, 1, 3) == 3  # memory 0: remember m1 and go W
    assert policies.act(0, 0, env, 1, 3) == 1  # memory 1 now: E, on the same cell
    assert policies.act(1, 0, env, 1, 3) == 1  # heading N, a wall ahead: E (heading becomes E)
    assert policies.act(1, 0, env, 1, 3) == 2  # heading E, open ahead: S, on the same cell
    policies.start_episode()
    assert policies.act(0, 0, env, 1, 3) == 3 and policies.act(1, 0, env, 1, 3) == 1  # a new episode starts afresh
