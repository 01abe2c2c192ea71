"""Predict and act (profiles `predict` and `heuristics-predict`): pair programs, their
split into predictor and policy, the other character, the joint fit against the
reference interpreter, K(policy) and K(policy | world) by hand, and identity across
thread counts and backends (docs/grid.md, "Predict and act")."""
from __future__ import annotations

import numba
import numpy as np
import pytest

from conftest import pad_ops
from dsl.errors import DslError
from dsl.grid import pair, primitives as gp
from dsl.grid.measures import pair_measures
from dsl.grid.reference import GridReference
from dsl.grid.world import EMPTY, GridEnv
from dsl.syntax import parse, unparse
from levinsearch import experiments, pipeline
from levinsearch import domains
from levinsearch.domains.grid.prepare import reference_judge
from levinsearch.enumerate import Enumerator

G = gp.grammar(profile="predict")
DEFS = gp.grammar(profile="defs")
PART = gp.grammar()


def test_profiles_append_pair_after_the_parts():
    for profile, part in gp.PAIR_PROFILES.items():
        g, p = gp.productions(profile), gp.productions(part)
        assert g[: len(p)] == p  # a part's ids are the pair grammar's own
        assert (g[len(p)].name, g[len(p)].type, g[len(p)].args, g[len(p)].op) == ("pair", "Pair", ("Action", "Action"),
                                                                                gp.PAIR)
        assert gp.grammar(profile=profile).start == "Pair"
    # Pair: pair and let (1 bit each); (let D P A) takes the two parts itself; Action has
    # no let (log2 7).
    assert G.bits(G.resolve("Pair.pair")[0]) == G.bits(G.let_id) == 1.0
    assert G.productions[G.let_id].args == ("Pred", "Action'", "Action'") and "Pair'" not in G.types
    assert G.mbits[G.resolve("Action.N")[0]] == PART.mbits[PART.resolve("Action.N")[0]] == 2808


def test_split():
    cases = {
        "(pair (plan red) (plan door))": ("(plan red)", "(plan door)"),
        "(let (or red door) (plan ref) (if (see ref) (plan ref) N))":
            ("(plan (or red door))", "(if (see (or red door)) (plan (or red door)) N)"),
        "(let gem E (greedy (not ref)))": ("E", "(greedy (not gem))"),
    }
    for text, (want_p, want_a) in cases.items():
        p, a = pair.split(parse(text, G), G)
        assert (unparse(p, PART), unparse(a, PART)) == (want_p, want_a)
    ops = [parse(t, G).tolist() for t in cases]
    pred, ps, pol, qs = pair.split_batch(*pad_ops(ops), G)
    assert [unparse(pred[i, : ps[i]], PART) for i in range(3)] == [v[0] for v in cases.values()]
    assert [unparse(pol[i, : qs[i]], PART) for i in range(3)] == [v[1] for v in cases.values()]


def test_measures_by_hand():
    """Two programs, every figure in millibits: K(world) and K(policy) are priced in
    `defs` (Action 3 bits with let, Pred 3.701, Pred' 3.808, Action' 2.808)."""
    plain = pair_measures(parse("(pair (plan red) (plan door))", G), G, DEFS)
    # joint: pair 1000 + plan 2808 + red 3701 + plan 2808 + door 3701
    assert plain == dict(joint=14018, world=6701, policy=6701, policy_given_world=14018 - 6701,
                         shared=6701 - (14018 - 6701))
    shared = pair_measures(parse("(let (and red door) (plan ref) (plan ref))", G), G, DEFS)
    # joint: let 1000 + (and red door) 3 x 3701 + 2 x (plan' 2808 + ref 3808)
    joint = 1000 + 3 * 3701 + 2 * (2808 + 3808)
    # alone, (plan (and red door)) in defs: plan 3000 + 3 x 3701, shorter than its own let
    alone = 3000 + 3 * 3701
    assert shared == dict(joint=joint, world=alone, policy=alone, policy_given_world=joint - alone,
                          shared=alone - (joint - alone))
    assert (joint, shared["shared"]) == (25335, 2871)
    # a part alone written with its own let when that is shorter: D used three times
    text = "(let (and red door) (plan ref) (if (see ref) (plan ref) (greedy ref)))"
    m = pair_measures(parse(text, G), G, DEFS)
    own = DEFS.program_mbits(parse("(let (and red door) (if (see ref) (plan ref) (greedy ref)))", DEFS))
    inlined = DEFS.program_mbits(parse("(if (see (and red door)) (plan (and red door)) (greedy (and red door)))",
                                       DEFS))
    assert own < inlined and m["policy"] == own


def test_split_rejects_a_part():
    with pytest.raises(DslError, match="pair"):
        pair.split(parse("(plan red)", PART), G)


@pytest.fixture(scope="module")
def prep():
    config = experiments.resolve(experiments.load("predict-and-act"), {"max_bits": 17.0, "train_envs": 5},
                                 domains=domains)
    return pipeline.prepare(config)


def test_character_is_its_rule_run_by_the_reference(prep):
    char = prep.character
    assert len(char.target) > 0 and prep.judge.trials == len(prep.train) + len(char.target)
    ref = GridReference(PART)
    rule = parse("(plan red)", PART)
    for k, env in enumerate(prep.train_envs):
        steps = [i for i in range(len(char.target)) if char.grid[i] == k]
        start = char.starts[k]
        assert start != tuple(env.start) and env.features[start] == EMPTY
        episode = ref.episode(rule, GridEnv(env.features, start, env.horizon))
        assert [char.target[i] for i in steps] == [r * env.width + c for r, c in episode.cells]


def _programs(limit_bits: float, every: int) -> list[list[int]]:
    out = []
    for b in Enumerator(G, limit_bits).batches():
        for i in range(0, len(b), every):
            out.append(b.ops[i, : b.sizes[i]].tolist())
    return out


def test_joint_fit_parity_with_the_reference(prep):
    """The compiled split-and-run judge against the reference interpreter, program by
    program: fits, successes (grids reached + right predictions) and, for fitting
    programs, steps; and the predictor's right predictions for every program."""
    programs = _programs(17.0, 7)
    assert any(p[0] == G.let_id for p in programs)
    ops, sizes = pad_ops(programs)
    caps = np.full(len(ops), 1 << 40, dtype=np.int64)
    fits, successes, steps = prep.judge.fit(ops, sizes, caps)
    rfits, rsuccesses, rsteps = reference_judge(prep).fit(ops, sizes, caps)
    assert np.array_equal(fits, rfits)
    assert fits.any() and not fits.all()
    assert np.array_equal(successes[fits], rsuccesses[fits])
    assert np.array_equal(steps[fits], rsteps[fits])
    right, _ = prep.interpreter.predict(ops, sizes, prep.character)
    for i in range(0, len(programs), 5):
        predictor = pair.split(programs[i], G)[0]
        assert right[i] == pair.reference_predict(predictor, PART, prep.character)[0]


def test_predictions_do_not_depend_on_threads(prep):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has fewer than 2 threads")
    ops, sizes = pad_ops(_programs(16.0, 3))
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = prep.interpreter.predict(ops, sizes, prep.character)
        numba.set_num_threads(2)
        two = prep.interpreter.predict(ops, sizes, prep.character)
    finally:
        numba.set_num_threads(before)
    assert all(np.array_equal(a, b) for a, b in zip(one, two))


def test_records_are_identical_across_backends_threads_and_batches():
    from test_grid_defs import runs_across_backends
    local = runs_across_backends("predict-and-act", 3, max_bits=15.0, train_envs=4, test_envs=6)
    h = local.hypotheses[0]
    assert h["program"].startswith("(pair ") and h["prediction_errors"] == 0
    assert local.summary["predict"]["predictions"] > 0


def test_character_needs_a_predict_profile():
    raw = experiments.load("predict-and-act")
    raw["grammar"]["profile"] = "defs"
    with pytest.raises(DslError, match="predict profile"):
        experiments.resolve(raw, domains=domains)
    raw = experiments.load("predict-and-act")
    raw["character"]["rule"] = "(plan"
    with pytest.raises(DslError, match=r"\[character\] rule"):
        experiments.resolve(raw, domains=domains)
