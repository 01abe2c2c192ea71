"""What makes a large record quick to build gives exactly what the slow way gave: the
compiled row sums and their NumPy twin, distinct rows, the lgamma table, exact masses
on a common scale, and goal-directedness scored once per class of goals."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from levinsearch.aggregate import Dyadic, ScaledMasses
from levinsearch.domains.grid import analyse
from levinsearch.domains.grid.gather import gather_sum, gather_sum_reference


@pytest.mark.parametrize("n, k, m, d", [(0, 3, 4, 5), (7, 0, 4, 5), (1, 1, 1, 1), (300, 40, 97, 37)])
def test_gather_sum_matches_its_twin_bit_for_bit(n, k, m, d):
    rng = np.random.default_rng(n + k + m + d)
    rows = rng.normal(size=(m, d)) * 10.0 ** rng.integers(-8, 8, size=(m, 1))
    ids = rng.integers(0, m, size=(n, k))
    got, want = gather_sum(ids, rows), gather_sum_reference(ids, rows)
    assert got.shape == want.shape == (n, d)
    assert np.array_equal(got, want)


def test_gather_sum_adds_left_to_right():
    rows = np.array([[1e16], [1.0], [-1e16]])
    # (1e16 + 1) + (-1e16) is 0 in doubles; (1e16 - 1e16) + 1 is 1: the order shows.
    assert gather_sum(np.array([[0, 1, 2], [0, 2, 1]]), rows)[:, 0].tolist() == [0.0, 1.0]
    with pytest.raises(IndexError):
        gather_sum(np.array([[3]]), rows)


def test_distinct_rows_is_numpy_unique():
    rng = np.random.default_rng(1)
    for shape in ((0, 4), (1, 3), (200, 6), (500, 1)):
        a = rng.integers(-1, 3, size=shape).astype(np.int32)
        got, inverse = analyse.distinct_rows(a)
        want, want_inverse = np.unique(a, axis=0, return_inverse=True)
        assert np.array_equal(got, want) and np.array_equal(inverse, want_inverse.reshape(-1))
        assert np.array_equal(got[inverse], a)


def test_lgamma_table_is_math_lgamma():
    x = np.array([[0.5, 1.0, 2.5], [17.0, 400.5, 3.0]])
    assert analyse._lgamma(x).tolist() == [[math.lgamma(v) for v in row] for row in x.tolist()]
    y = np.array([0.3, 2.25])  # not halves: computed one by one
    assert analyse._lgamma(y).tolist() == [math.lgamma(0.3), math.lgamma(2.25)]


def test_kt_of_whole_counts_is_the_general_formula_bit_for_bit():
    """_kt_log2 reads whole counts' lgammas straight from the table; the general route
    (lgamma of each argument) gives the same bits, and counts that are not whole take it."""
    rng = np.random.default_rng(3)
    for shape in ((400, 16, 5), (50, 1, 5), (0, 16, 5)):
        counts = rng.integers(0, 60, size=shape).astype(np.float64)
        available = rng.integers(1, 6, size=shape[1])
        lg, k, n = analyse._lgamma, available.astype(np.float64)[None, :], counts.sum(axis=2)
        general = (lg(k / 2) - lg(n + k / 2) + (lg(counts + 0.5) - math.lgamma(0.5)).sum(axis=2)).sum(axis=1) \
            / math.log(2)
        assert np.array_equal(analyse._kt_log2(counts, available), general)
    # One outcome of five seen half a time: Gamma(5/2) / Gamma(3) x Gamma(1) / Gamma(1/2)
    half = analyse._kt_log2(np.array([[[0.5, 0, 0, 0, 0]]]), np.array([5]))
    assert half[0] == pytest.approx(math.log2(math.gamma(2.5) / math.gamma(3.0) / math.gamma(0.5)), abs=1e-12)


def test_scaled_masses_give_what_dyadics_give():
    rng = np.random.default_rng(2)
    mass = [[Dyadic(int(rng.integers(0, 1 << 53)) if rng.random() < 0.7 else 0, int(rng.integers(-3, 140)))
             for _ in range(4)] for _ in range(50)]
    mass.append([Dyadic(1, 1074 + 60), Dyadic(), Dyadic(3, -2), Dyadic()])  # far below a double's range
    total = Dyadic()
    for row in mass:
        for m in row:
            total = total + m
    scaled = ScaledMasses(mass, total, 4)
    group = scaled.groups()
    for g, row in enumerate(mass):
        whole = Dyadic()
        for m in row:
            whole = whole + m
        assert scaled.share(group[g]) == whole.ratio(total)
        assert scaled.value(group[g]) == float(whole)
        flagged = Dyadic()
        for f in (1, 3):
            flagged = flagged + row[f]
        assert scaled.share(scaled.with_flag(0)[g]) == flagged.ratio(total)
    assert scaled.share(scaled.of_kinds([0, 2])) == float(
        sum((row[0].fraction() + row[2].fraction() for row in mass), Fraction(0)) / total.fraction())
    assert ScaledMasses([[Dyadic()]], Dyadic(), 1).share(0) == 0.0


def test_goal_directedness_by_class_is_goal_by_goal():
    rng = np.random.default_rng(3)
    n_goals, n_env, h, w, n = 9, 5, 4, 4, 60
    dist = rng.integers(-1, 6, size=(n_env, h, w)).astype(np.int32)
    base = rng.random((4, n_env, h, w)) < 0.3
    goal_cells = base[rng.integers(0, 4, size=n_goals)]  # repeated goals: classes of equal cells
    goal_cells[5] = False  # a goal present nowhere (not usable)
    dims = np.tile([h, w], (n_env, 1))
    reached = rng.integers(-1, h * w, size=(n, n_env))
    moves = rng.integers(0, 9, size=(n, n_env))
    best, score, scores = analyse.goal_directedness(reached, moves, dims, dist, goal_cells, 0.25)
    # Each goal on its own, as the analysis is defined.
    reachable = goal_cells & (dist >= 0)[None]
    present = reachable.any(axis=(2, 3))
    for g in range(n_goals):
        if present[g].mean() < 0.25 - 1e-12:
            assert (scores[:, g] == 0).all()
            continue
        nearest = np.where(reachable[g], dist, np.iinfo(np.int32).max).min(axis=(1, 2)).astype(np.float64)
        hit = analyse.reached_values(reached, dims, reachable[g]).astype(bool)
        explained = np.where(present[g][None], hit * (np.where(present[g], nearest, 0.0)[None] / np.maximum(moves, 1)),
                             (reached < 0).astype(np.float64))
        assert np.array_equal(scores[:, g], explained.mean(axis=1))
    assert np.array_equal(best, np.argmax(scores, axis=1)) and np.array_equal(score, scores.max(axis=1))
