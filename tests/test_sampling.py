"""The prior sampler (dsl.sampling): the compiled kernel against its plain-Python twin,
program frequencies against 2^-bits, and the exact masses by program size."""
from __future__ import annotations

import math
from collections import Counter
from fractions import Fraction

import numba
import numpy as np
import pytest
from scipy.stats import chi2

from dsl.grammar import MBITS_PER_BIT, bits_to_mbits
from dsl.grid import primitives as gp
from dsl.sampling import Sampler, mass_by_nodes, production_probabilities, reference_sample
from dsl.seq import primitives as sp
from levinsearch.enumerate import reference_programs

GRAMMARS = {
    "grid": gp.grammar(),
    "heuristics": gp.grammar(profile="heuristics"),
    "seq": sp.grammar(),  # supercritical: most derivations never end unconditioned
    # Every Pred production given bits whose Kraft sum is below 1: a derivation can die.
    "deficient": gp.grammar(bits={"red": 3, "door": 3, "Pred.and": 3, "Pred.or": 4, "Pred.not": 4}),
}
REGIONS = [dict(lo=-1, hi=None, node_cap=512), dict(lo=bits_to_mbits(14), hi=None, node_cap=64),
           dict(lo=bits_to_mbits(10), hi=bits_to_mbits(16), node_cap=512)]


@pytest.mark.parametrize("name", GRAMMARS)
@pytest.mark.parametrize("region", REGIONS, ids=["all", "beyond-14-cap-64", "band-10-16"])
def test_the_kernel_draws_what_the_reference_draws(name, region):
    g = GRAMMARS[name]
    ops, sizes, mbits, attempts = Sampler(g, 11, **region).sample(3, 60)
    for i in range(60):
        want, want_mbits, want_attempts = reference_sample(g, 11, 3 + i, **region)
        assert tuple(ops[i, : sizes[i]]) == want and (ops[i, sizes[i]:] == -1).all()
        assert (int(mbits[i]), int(attempts[i])) == (want_mbits, want_attempts)
        assert region["lo"] < mbits[i] and (region["hi"] is None or mbits[i] <= region["hi"])
        assert mbits[i] == g.program_mbits(want)


def test_a_sample_is_the_same_in_every_batch_and_thread_count():
    s = Sampler(gp.grammar(), 5, lo=bits_to_mbits(12), hi=None, node_cap=512)
    whole = s.sample(0, 3000)
    part = s.sample(1000, 700)
    numba.set_num_threads(1)
    try:
        serial = s.sample(0, 3000)
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    width = part[0].shape[1]
    assert (whole[0][1000:1700, :width] == part[0]).all() and (whole[0][1000:1700, width:] == -1).all()
    for a, b in zip(whole, serial):
        assert (a == b).all()
    assert not (Sampler(gp.grammar(), 6, lo=bits_to_mbits(12), hi=None, node_cap=512).sample(0, 3000)[0][:, :5]
                == whole[0][:, :5]).all()


@pytest.mark.parametrize("name,lo_bits,hi_bits", [("grid", None, 10.5), ("seq", None, 12.0), ("deficient", None, 10.0),
                                                   ("grid", 10.5, 14.2), ("seq", 10.0, 14.0)],
                         ids=["grid", "seq", "deficient", "grid-band", "seq-band"])
def test_program_frequencies_match_the_prior(name, lo_bits, hi_bits):
    """Chi-square goodness of fit: every program of the region (longer than `lo_bits`, a
    band like a run's tail, or of any length; at most `hi_bits`) drawn with probability
    2^-bits / (their total), one seed (so the test is deterministic)."""
    g = GRAMMARS[name]
    lo = -1 if lo_bits is None else bits_to_mbits(lo_bits)
    programs = [(m, ops) for m, ops in reference_programs(g, hi_bits) if m > lo]
    prior = {ops: 2.0 ** (-m / MBITS_PER_BIT) for m, ops in programs}
    total = math.fsum(prior.values())
    n = 200_000
    ops, sizes, _, _ = Sampler(g, 2026, lo=lo, hi=bits_to_mbits(hi_bits), node_cap=64).sample(0, n)
    seen = Counter(tuple(ops[i, : sizes[i]]) for i in range(n))
    assert set(seen) <= set(prior)
    expected = np.array([n * p / total for p in prior.values()])
    observed = np.array([seen.get(k, 0) for k in prior])
    # Programs expected fewer than 5 times are pooled into one cell.
    small = expected < 5
    cells_e, cells_o = expected[~small], observed[~small]
    if small.any():
        cells_e, cells_o = np.append(cells_e, expected[small].sum()), np.append(cells_o, observed[small].sum())
    statistic = float(((cells_o - cells_e) ** 2 / cells_e).sum())
    assert len(cells_e) > 20
    assert chi2.sf(statistic, len(cells_e) - 1) > 1e-3, statistic


def test_conditioned_production_probabilities_sum_to_one_per_type():
    for g in GRAMMARS.values():
        q = production_probabilities(g)
        for t in g.types:
            assert math.fsum(q[p] for p in g.by_type[t]) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("name", ["grid", "seq", "deficient"])
def test_mass_by_nodes_is_exact(name):
    """Against brute force: every program of at most 3 nodes has at most 3 x the
    longest production's bits, so the reference enumerator lists them all."""
    g = GRAMMARS[name]
    longest = max(m for m in g.mbits) / MBITS_PER_BIT
    by_nodes: dict[int, Fraction] = {}
    for m, ops in reference_programs(g, 3 * longest):
        if len(ops) <= 3:
            by_nodes[len(ops)] = by_nodes.get(len(ops), Fraction(0)) + Fraction(2.0 ** (-m / MBITS_PER_BIT))
    masses = mass_by_nodes(g, 3)
    assert masses[0] == 0
    for k in (1, 2, 3):
        assert masses[k] == pytest.approx(float(by_nodes.get(k, 0)), rel=1e-12, abs=1e-15)
    # Up to a large size the masses add up to the Kraft sum of all finite programs (the
    # grid's programs of more than 512 nodes hold 4.2e-9 of it).
    assert mass_by_nodes(g, 512).sum() == pytest.approx(g.kraft_total()[0], abs=1e-8)
