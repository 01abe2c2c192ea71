"""Agreement, Occam (MAP vs mixture) and consensus analyses on hand-made inputs.

Sequences: predictions [n, m] against a target [m]. Grids: coordinates are (row, column);
N E S W = up right down left; `plan` searches breadth-first with neighbours in N E S W order.
"""
from __future__ import annotations

import numpy as np
import pytest

from conftest import ops_of
from dsl.grid import primitives as gp
from dsl.grid.world import FEATURES, parse_ascii
from levinsearch import consensus as cs
from levinsearch.domains.grid import consensus as grid_cs

TARGET = np.array([1, 2, 3, 4, 5], dtype=np.int64)
PREDS = np.array([
    [1, 2, 3, 4, 5],  # p0: target-equivalent
    [1, 2, 3, 4, 9],  # p1: defects on the last step only
    [0, 2, 3, 0, 5],  # p2: wrong on steps 0 and 3
    [7, 7, 7, 7, 7],  # p3: wrong everywhere
], dtype=np.int64)


# ------------------------------------------------------------------ agreement
def test_sequence_agreement():
    a = cs.sequence_agreement(PREDS, TARGET)
    assert a["share"].tolist() == pytest.approx([1.0, 0.8, 0.6, 0.0])
    assert a["first"].tolist() == [-1, 4, 0, 0]
    assert a["disagreements"].tolist() == [0, 1, 2, 5]


def test_rare_defectors():
    assert cs.rare_defectors(PREDS, TARGET, 1).tolist() == [False, True, False, False]
    assert cs.rare_defectors(PREDS, TARGET, 2).tolist() == [False, True, True, False]
    assert cs.rare_defectors(PREDS, TARGET, 5).tolist() == [False, True, True, True]


# ------------------------------------------------------------------ Occam
def test_map_wrong_mixture_right():
    w = np.array([0.25, 0.35, 0.2, 0.2])
    index, map_pred = cs.map_prediction(w, PREDS)
    assert index == 1
    assert map_pred.tolist() == [1, 2, 3, 4, 9]
    # step 4: value 5 has 0.25 + 0.2 = 0.45, value 9 has 0.35, value 7 has 0.2
    assert cs.mixture_prediction(w, PREDS).tolist() == [1, 2, 3, 4, 5]
    assert (map_pred == TARGET).tolist() == [True, True, True, True, False]
    assert w[cs.target_equivalent(PREDS, TARGET)].sum() == pytest.approx(0.25)


def test_ties():
    assert cs.map_prediction(np.array([0.4, 0.4, 0.2]), np.array([[1], [2], [3]]))[0] == 0
    assert cs.mixture_prediction(np.array([0.5, 0.5]), np.array([[3], [2]])).tolist() == [2]
    # 0.1 + 0.2 vs 0.3 ties despite rounding: the smaller value wins
    assert cs.mixture_prediction(np.array([0.1, 0.2, 0.3]), np.array([[5], [5], [3]])).tolist() == [3]


# ------------------------------------------------------------------ trusted sets
def test_trusted_sets():
    w = np.array([0.1, 0.4, 0.2, 0.3])  # weight order: 1, 3, 2, 0
    assert cs.trusted_set(w, "top", 2).tolist() == [1, 3]
    assert cs.trusted_set(w, "top", 10).tolist() == [1, 3, 2, 0]
    assert cs.trusted_set(np.array([0.2, 0.4, 0.4]), "top", 1).tolist() == [1]
    assert cs.trusted_set(w, "mass", 0.3).tolist() == [1, 3]  # 0.4 + 0.3 >= 0.7
    assert cs.trusted_set(w, "mass", 0.05).tolist() == [1, 3, 2, 0]
    assert cs.trusted_set(w, "mass", 0.0).tolist() == [1, 3, 2, 0]
    assert cs.trusted_set(w, "mass", 0.9).tolist() == [1]
    assert cs.trusted_set(w, "ratio", 0.5).tolist() == [1, 3, 2]  # weight >= 0.2
    assert cs.trusted_set(w, "ratio", 1.0).tolist() == [1]
    assert cs.trusted_set(np.array([0.3, 0.3, 0.4]), "ratio", 0.75).tolist() == [2, 0, 1]
    for rule, bad in (("top", 0), ("mass", 1.0), ("ratio", 0.0), ("nope", 1)):
        with pytest.raises(ValueError):
            cs.trusted_set(w, rule, bad)


# ------------------------------------------------------------------ consensus for sequences
W = np.array([0.4, 0.3, 0.2, 0.1])  # p0 first, then p1, p2, p3


@pytest.mark.parametrize("n, abstained, predicted, abst_rate", [
    (1, [0, 0, 0, 0, 0], 5, 0.0),
    (2, [0, 0, 0, 0, 1], 4, 0.2),  # p0, p1 disagree on step 4 only
    (3, [1, 0, 0, 1, 1], 2, 0.6),
    (4, [1, 1, 1, 1, 1], 0, 1.0),  # p3 disagrees with everyone everywhere
])
def test_sequence_consensus_top_n(n, abstained, predicted, abst_rate):
    r = cs.sequence_consensus(W, PREDS, TARGET, "top", n)
    assert r["members"].tolist() == list(range(n))
    assert r["abstained"].astype(int).tolist() == abstained
    assert (r["predicted"], r["errors"]) == (predicted, 0)
    assert r["error_rate"] == (0.0 if predicted else None)
    assert r["abstention_rate"] == pytest.approx(abst_rate)
    assert r["has_equivalent"]


def test_sequence_consensus_errs_without_equivalent():
    preds = np.vstack([PREDS, PREDS[1]])  # p4 = p1: two defectors that agree
    w = np.array([0.1, 0.3, 0.05, 0.05, 0.5])
    r = cs.sequence_consensus(w, preds, TARGET, "mass", 0.25)  # 0.5 + 0.3 >= 0.75
    assert r["members"].tolist() == [4, 1]
    assert not r["has_equivalent"]
    assert (r["predicted"], r["errors"], r["error_rate"], r["abstention_rate"]) == (5, 1, 0.2, 0.0)
    r = cs.sequence_consensus(w, preds, TARGET, "ratio", 0.2)  # weight >= 0.1 adds p0
    assert r["members"].tolist() == [4, 1, 0]
    assert r["has_equivalent"] and r["errors"] == 0 and r["abstained"].tolist() == [0, 0, 0, 0, 1]


def test_consensus_never_errs_with_an_equivalent_member():
    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(200):
        n, m = rng.integers(1, 7), rng.integers(1, 9)
        target = rng.integers(0, 3, m)
        preds = rng.integers(0, 3, (n, m))
        preds[rng.integers(n)] = target  # one target-equivalent program somewhere
        w = rng.random(n)
        w /= w.sum()
        for rule, value in (("top", rng.integers(1, n + 1)), ("mass", rng.random() * 0.99),
                            ("ratio", rng.random() * 0.99 + 0.01)):
            r = cs.sequence_consensus(w, preds, target, rule, value)
            disagree = [len({int(preds[i, j]) for i in r["members"]}) > 1 for j in range(m)]
            assert r["abstained"].tolist() == disagree
            if r["has_equivalent"]:
                checked += 1
                assert r["errors"] == 0
                assert r["predicted"] + int(r["abstained"].sum()) == m
    assert checked > 100


def test_consensus_sweep():
    rows = cs.consensus_sweep(W, PREDS, TARGET, "top", [1, 2, 3, 4])
    assert [r["size"] for r in rows] == [1, 2, 3, 4]
    assert [r["abstention_rate"] for r in rows] == pytest.approx([0.0, 0.2, 0.6, 1.0])
    assert [r["error_rate"] for r in rows] == [0.0, 0.0, 0.0, None]
    assert all("abstained" not in r for r in rows)
    rows = cs.consensus_sweep(W, PREDS, TARGET, "mass", [0.5, 0.25, 0.0])
    assert [r["members"].tolist() for r in rows] == [[0, 1], [0, 1, 2], [0, 1, 2, 3]]


# ------------------------------------------------------------------ consensus for the grid
G = gp.grammar()
DOOR, RED = ops_of("(plan door)"), ops_of("(plan red)")
# From (1,2) plan door goes E, S, S into the door at (3,3); plan red goes S, W, S into the
# box at (3,1). At (1,3) both go S; at (2,3) the door planner goes S, the red planner W
# (the door is an object, so its search does not pass through it).
FORK = """\
#####
#.@.#
#...#
#B#D#
#####

B = red box
D = blue door
"""
SEALED = """\
#######
#B.@#D#
#######

B = red box
D = blue door
horizon = 5
"""


def doors(env):
    return (env.features >> FEATURES.index("door")) & 1 != 0


def run(text, programs, weights, rule="top", value=10):
    env = parse_ascii(text)
    return grid_cs.grid_consensus(programs, np.array(weights), [env], G, rule, value, [doors(env)])


def test_grid_single_door_planner():
    r = run(FORK, [DOOR], [1.0])
    ep = r["episodes"][0]
    assert (ep["reached"], ep["queries"], ep["path"]) == ((3, 3), 0, [(1, 2), (1, 3), (2, 3), (3, 3)])
    assert (r["catastrophes"], r["queries_per_episode"], r["base_reached_share"]) == (0, 0.0, 1.0)


def test_grid_door_and_red_query_where_they_disagree():
    r = run(FORK, [DOOR, RED], [0.6, 0.4])
    ep = r["episodes"][0]
    assert r["members"].tolist() == [0, 1]
    # (1,2): door E vs red S -> ask (E); (1,3): both S; (2,3): door S vs red W -> ask (S)
    assert ep["query_cells"] == [(1, 2), (2, 3)]
    assert (ep["reached"], ep["queries"], ep["path"]) == ((3, 3), 2, [(1, 2), (1, 3), (2, 3), (3, 3)])
    assert (r["catastrophes"], r["queries_per_episode"], r["base_reached_share"]) == (0, 2.0, 1.0)


def test_grid_red_planner_is_a_catastrophe():
    r = run(FORK, [RED], [1.0])
    ep = r["episodes"][0]
    assert (ep["reached"], ep["queries"], ep["path"]) == ((3, 1), 0, [(1, 2), (2, 2), (2, 1), (3, 1)])
    assert (r["catastrophes"], r["queries_per_episode"], r["base_reached_share"]) == (1, 0.0, 0.0)
    # the rule picks the set: top-1 by weight trusts only the red planner here
    r = run(FORK, [DOOR, RED], [0.3, 0.7], "top", 1)
    assert r["members"].tolist() == [1] and r["catastrophes"] == 1


def test_grid_unreachable_base_stays_and_asks_every_step():
    r = run(SEALED, [DOOR, RED], [0.5, 0.5])  # door planner: None; red planner: W
    ep = r["episodes"][0]
    assert (ep["reached"], ep["queries"], ep["path"]) == (None, 5, [(1, 3)])
    assert (r["catastrophes"], r["queries_per_episode"], r["base_reached_share"]) == (0, 5.0, 0.0)
    r = run(SEALED, [DOOR], [1.0])  # a lone None is agreement: stay, no query
    assert (r["episodes"][0]["queries"], r["episodes"][0]["path"]) == (0, [(1, 3)])


def test_grid_several_envs_and_padding():
    fork, sealed = parse_ascii(FORK), parse_ascii(SEALED)
    padded = np.concatenate([RED, [-1, -1]])
    r = grid_cs.grid_consensus([DOOR, padded], np.array([0.5, 0.5]), [fork, sealed], G, "ratio", 1.0,
                          [doors(fork), doors(sealed)])
    assert [e["queries"] for e in r["episodes"]] == [2, 5]
    assert (r["catastrophes"], r["queries_per_episode"], r["base_reached_share"]) == (0, 3.5, 0.5)
