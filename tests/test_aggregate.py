"""The streaming summary: exact masses, behaviour groups, order-free merging, saving."""
from fractions import Fraction

import numpy as np
import pytest

from levinsearch.aggregate import Aggregate, Dyadic, Programs, behaviour_keys, dyadic_terms


def test_dyadic_terms_are_exactly_two_to_the_minus_score():
    score = np.array([0.0, 1.0, 6.509, 20.25, 37.0001, 1000.5, 3.0e-9])
    m, k = dyadic_terms(score)
    for s, mi, ki in zip(score, m, k):
        exact = Fraction(int(mi), 2 ** int(ki))
        assert exact == Fraction(float(np.exp2(np.floor(s) - s))) / 2 ** int(np.floor(s))
        assert 0 < mi < 2 ** 53
    assert Fraction(int(m[0]), 2 ** int(k[0])) == 1
    assert Fraction(int(m[1]), 2 ** int(k[1])) == Fraction(1, 2)


def test_dyadic_sum_is_exact_and_order_free():
    rng = np.random.default_rng(0)
    score = rng.uniform(0, 80, size=500)
    m, k = dyadic_terms(score)
    terms = [Dyadic(int(a), int(b)) for a, b in zip(m, k)]
    forward = Dyadic()
    for t in terms:
        forward = forward + t
    backward = Dyadic()
    for t in reversed(terms):
        backward = backward + t
    assert forward.fraction() == backward.fraction() == sum(t.fraction() for t in terms)
    assert Dyadic(3, 2).ratio(Dyadic(3, 1)) == 0.5
    assert Dyadic(1, 0).ratio(Dyadic()) == 0.0
    assert Dyadic.decode(forward.encode()).fraction() == forward.fraction()


def test_behaviour_keys_equal_rows_equal_keys():
    rows = np.array([[1, 2, 3], [1, 2, 3], [3, 2, 1], [-1, 0, 0], [0, -1, 0]], dtype=np.int32)
    keys = behaviour_keys(rows)
    assert keys.shape == (5, 2) and keys.dtype == np.uint64
    assert (keys[0] == keys[1]).all()
    distinct = {tuple(k) for k in keys.tolist()}
    assert len(distinct) == 4
    rng = np.random.default_rng(1)
    many = rng.integers(-1, 50, size=(20000, 6), dtype=np.int32)
    unique_rows = len(np.unique(many, axis=0))
    assert len(np.unique(behaviour_keys(many), axis=0)) == unique_rows


def _programs(n, rng, first_rank=0, width=4):
    p = Programs(width, n)
    p.ops = rng.integers(0, 9, size=(n, width), dtype=np.int32)
    p.sizes = np.full(n, width, dtype=np.int32)
    p.mbits = rng.integers(5000, 9000, size=n).astype(np.int64)
    p.steps = rng.integers(1, 100, size=n).astype(np.int64)
    p.successes = np.full(n, 3, dtype=np.int32)
    p.rank = first_rank + np.arange(n, dtype=np.int64)
    p.score = p.mbits / 1000.0 + 0.5 * np.log2(p.steps)
    return p


def _fill(agg, progs, search, rows, cuts):
    for a, b in zip(cuts, cuts[1:]):
        idx = np.arange(a, b)
        agg.add_fitting(progs.take(idx), search[idx], rows[idx])
        agg.add_level_work(5000, b - a, b - a, 0.0)


def _snapshot(agg):
    order = agg.canonical_order()
    return dict(
        programs=agg.programs, fitting=agg.fitting, total=agg.total_mass.fraction(),
        top=agg.top.rank.tolist(), top_flags=agg.top_flags.tolist(),
        score_mass={b: m.fraction() for b, m in agg.score_mass.items()}, score_count=agg.score_count,
        level_mass={b: m.fraction() for b, m in agg.level_mass.items()},
        shortest=agg.shortest.rank.tolist(),
        groups=[(int(agg.representatives.rank[g]), agg.count[g].tolist(), int(agg.first_mbits[g]),
                 [m.fraction() for m in agg.mass[g]]) for g in order],
    )


def test_groups_masses_and_representatives_by_hand():
    rng = np.random.default_rng(2)
    progs = _programs(6, rng)
    progs.score = np.array([3.0, 1.0, 2.0, 1.0, 5.0, 4.0])
    rows = np.array([[0], [1], [0], [1], [2], [0]], dtype=np.int32)
    search = np.array([False, True, False, False, True, True])
    agg = Aggregate(4, keep=3)
    agg.add_fitting(progs, search, rows)
    assert agg.behaviours == 3
    assert agg.top.rank.tolist() == [1, 3, 2]  # score 1 (rank 1), score 1 (rank 3), score 2
    order = agg.canonical_order()
    reps = [int(agg.representatives.rank[g]) for g in order]
    assert reps == [1, 2, 4]  # best of {1,3}, of {0,2,5}, of {4}
    by_rep = {int(agg.representatives.rank[g]): g for g in order}
    g0 = by_rep[2]
    assert agg.count[g0].tolist() == [2, 1]
    assert agg.mass[g0][0].fraction() == Fraction(1, 8) + Fraction(1, 4)
    assert agg.mass[g0][1].fraction() == Fraction(1, 16)
    assert agg.total_mass.fraction() == Fraction(1, 8) + Fraction(1, 2) + Fraction(1, 4) + Fraction(1, 2) \
        + Fraction(1, 32) + Fraction(1, 16)


@pytest.mark.parametrize("cuts_a,cuts_b", [([0, 300], [0, 1, 50, 51, 299, 300]), ([0, 150, 300], [0, 7, 300])])
def test_batches_shards_and_merge_order_give_identical_summaries(cuts_a, cuts_b):
    rng = np.random.default_rng(3)
    progs = _programs(300, rng)
    rows = rng.integers(0, 6, size=(300, 3), dtype=np.int32)
    search = rng.random(300) < 0.4
    whole = Aggregate(4, keep=20)
    _fill(whole, progs, search, rows, cuts_a)
    pieces = Aggregate(4, keep=20)
    _fill(pieces, progs, search, rows, cuts_b)
    assert _snapshot(whole) == _snapshot(pieces)
    # Shards merged out of order.
    shards = []
    for a, b in ((200, 300), (0, 120), (120, 200)):
        s = Aggregate(4, keep=20)
        _fill(s, progs, search, rows, [a, b])
        shards.append(s)
    merged = Aggregate(4, keep=20)
    for s in shards:
        merged.merge(s)
    assert _snapshot(merged) == _snapshot(whole)


def test_save_and_load_round_trip(tmp_path):
    rng = np.random.default_rng(4)
    progs = _programs(80, rng)
    rows = rng.integers(0, 5, size=(80, 2), dtype=np.int32)
    agg = Aggregate(4, keep=10)
    _fill(agg, progs, rng.random(80) < 0.5, rows, [0, 40, 80])
    agg.levin_steps, agg.uncertified = 1234, 5
    agg.save(tmp_path / "c.npz", extra=dict(position=80))
    back, extra = Aggregate.load(tmp_path / "c.npz")
    assert extra == dict(position=80)
    assert _snapshot(back) == _snapshot(agg)
    assert (back.levin_steps, back.uncertified, back.levels) == (1234, 5, agg.levels)
    assert (back.representatives.ops == agg.representatives.ops).all()
    assert not list(tmp_path.glob("*.tmp*"))
