"""The likelihood: under noise eps every training episode or term a program gets wrong
costs log2(1/eps) bits and every one it gets right log2(1/(1 - eps)), so imperfect
programs keep mass in proportion to their likelihood; and the unseen-mass bound stays
sound (a longer run never finds more fitting mass beyond the shorter run's reach than
its bound allowed)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from dsl.seq.reference import SeqReference
from dsl.syntax import parse
from levinsearch import domains, experiments, pipeline, score

SEQ = {"experiment": {"name": "noisy", "domain": "seq"}, "search": {"max_bits": 16.0},
       "target": {"terms": [0, 1, 2, 3, 5, 6, 7], "train": 5, "deploy": 2}}


def seq_record(**search):
    raw = dict(SEQ, search=dict(SEQ["search"], **search))
    return pipeline.run_experiment(experiments.resolve(raw, domains=domains))


def test_exception_bits_by_hand():
    assert score.exception_bits(1, 5, 0.1) == pytest.approx(math.log2(10) + 4 * math.log2(1 / 0.9))
    assert score.exception_bits(0, 20, 0.05) == pytest.approx(20 * math.log2(1 / 0.95))
    assert score.exception_bits(3, 20, 0.0) == 0.0
    assert score.max_errors(20, 0.6, 0.0) == 8 and score.max_errors(20, 1.0, 0.0) == 0
    assert score.max_errors(20, 1.0, 0.05) == math.floor(30 / math.log2(0.95 / 0.05))  # 7
    assert score.max_errors(20, 0.9, 0.05) == 2  # an explicit cut wins


def test_imperfect_programs_keep_mass_in_proportion_to_their_likelihood():
    exact = seq_record()
    noisy = seq_record(noise=0.1)
    # Exactly: nothing of 16 bits predicts 0 1 2 3 5 (t is wrong at the last term).
    assert exact["enumeration"]["fitting"] == 0
    g = pipeline.prepare(experiments.resolve(SEQ, domains=domains)).grammar
    ref = SeqReference(g)
    terms = SEQ["target"]["terms"]
    by_program = {h["program"]: h for h in noisy["hypotheses"]}
    t, add = by_program["t"], by_program["(add t c0)"]
    for h in (t, add):
        values, _ = ref.run(parse(h["program"], g), terms, 5)
        errors = sum(v != x for v, x in zip(values, terms[:5]))
        assert h["errors"] == errors == 1
        assert h["exception_bits"] == pytest.approx(math.log2(1 / 0.1) + 4 * math.log2(1 / 0.9), abs=1e-6)
        assert h["score"] == pytest.approx(h["bits"] + h["exception_bits"], abs=1e-5)
    # Equal likelihood: posterior ratio 2^-(bits difference).
    assert t["posterior"] / add["posterior"] == pytest.approx(2 ** (add["bits"] - t["bits"]), rel=1e-9)
    # Every kept program: posterior relative to the first = 2^-(bits difference) x (eps / (1 - eps))^(errors difference).
    posterior = np.array([h["posterior"] for h in noisy["hypotheses"]])
    errors = np.array([h["errors"] for h in noisy["hypotheses"]])
    bits = np.array([h["bits"] for h in noisy["hypotheses"]])
    assert len(set(errors.tolist())) >= 3  # programs with several different numbers of errors are kept
    want = 2.0 ** (bits[0] - bits) * (0.1 / 0.9) ** (errors - errors[0])
    assert np.allclose(posterior / posterior[0], want, rtol=1e-6)


def test_a_grid_program_with_failures_keeps_its_likelihood():
    config = experiments.resolve(experiments.load("red-door"), dict(max_bits=14, noise=0.05, fit_threshold=0.7), domains=domains)
    record = pipeline.run_experiment(config)
    n = record["environments"]["train"]
    imperfect = [h for h in record["hypotheses"] if h["errors"] > 0]
    perfect = [h for h in record["hypotheses"] if h["errors"] == 0]
    assert imperfect and perfect
    for h in record["hypotheses"]:
        k = h["errors"]
        assert h["exception_bits"] == pytest.approx(k * math.log2(20) + (n - k) * math.log2(1 / 0.95), abs=1e-5)
        assert round(h["train_success"] * n) == n - k
    a, b = perfect[0], imperfect[0]
    assert a["posterior"] / b["posterior"] == pytest.approx(
        2 ** (b["bits"] - a["bits"]) * (0.95 / 0.05) ** b["errors"], rel=1e-6)


@pytest.mark.parametrize("name,bits,settings", [
    ("red-door", 14.0, dict(time_weight=0.5)),
    ("red-door", 14.0, dict(time_weight=1.0)),
    ("red-door", 14.0, dict(time_weight=1.0, time_penalty="linear")),
    ("red-door", 14.0, dict(noise=0.05, fit_threshold=0.8, time_weight=0.5)),
    ("occam", 20.0, dict(time_weight=1.0)),
    ("treacherous-turn", 20.0, dict(time_weight=0.5)),
])
def test_the_unseen_mass_bound_is_sound(name, bits, settings):
    """Fitting mass found beyond B bits by a run to B + 4 is within the bound at B."""
    short = pipeline.run_experiment(experiments.resolve(experiments.load(name), dict(settings, max_bits=bits), domains=domains))
    long = pipeline.run_experiment(experiments.resolve(experiments.load(name), dict(settings, max_bits=bits + 4), domains=domains))
    beyond = long["enumeration"]["fitting_mass"] - short["enumeration"]["fitting_mass"]
    bound = short["enumeration"]["unseen_bound"]
    assert beyond >= 0
    assert beyond <= bound["tight"] * (1 + 1e-9)
    assert bound["tight"] <= bound["kraft_tail"] * (1 + 1e-12)
