"""Cued objectives: a grid's cue (its first object of the cue kind) names the colour of the
door to reach, the `cued` Pred of the cued profiles reads it, and the generator's cue
option adds a cue to a layout drawn exactly as without it."""
from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import cell_index, pad_ops, run_kernel, unranked_programs
from dsl.errors import DslError
from dsl.grid import primitives as gp
from dsl.grid.interpreter import GridInterpreter
from dsl.grid.reference import GridReference
from dsl.grid.world import (CUED, EMPTY, FEATURES, OBJECT, SplitSpec, generate, pack, parse_ascii, to_ascii)
from dsl.syntax import parse
from levinsearch import domains, experiments

CUED_G = gp.grammar(profile="cued")
HCUED_G = gp.grammar(profile="heuristics-cued")
KEY_BIT = 1 << FEATURES.index("key")

# The same layout with a blue and with a red cue: a red door west, a blue door east.
LAYOUT = """\
k....
.....
R.@.B
.....

k = {cue} key
R = red door
B = blue door
horizon = 6
cue = key
"""
# The cue itself has the cue's colour: `(plan cued)` walks into it, `(plan (and door cued))` does not.
NEAR_CUE = """\
.....
.k@.B
.....

k = blue key
B = blue door
horizon = 6
cue = key
"""


def trajectory(grammar, text: str, env):
    """(reached, path) from the reference and the kernel, which must agree."""
    ops = parse(text, grammar)
    episode = GridReference(grammar).episode(ops, env)
    padded, sizes = pad_ops([ops])
    kernel_path = GridInterpreter(grammar).paths(padded, sizes, pack([env]))[0, 0]
    cells = [int(v) for v in kernel_path if v >= 0]
    assert cells == [r * env.width + c for r, c in episode.cells]
    reached, _, steps = run_kernel(grammar, [ops], [env])
    assert reached[0, 0] == cell_index(env, episode.reached) and steps[0, 0] == episode.steps
    return episode.reached, episode.path


@pytest.mark.parametrize("grammar", [CUED_G, HCUED_G])
def test_the_cue_names_the_door(grammar):
    blue = parse_ascii(LAYOUT.format(cue="blue"))
    red = parse_ascii(LAYOUT.format(cue="red"))
    program = "(plan (and door cued))"
    assert trajectory(grammar, program, blue) == ((2, 4), [(2, 2), (2, 3), (2, 4)])
    assert trajectory(grammar, program, red) == ((2, 0), [(2, 2), (2, 1), (2, 0)])
    # a program that ignores the cue goes to the same door on both
    assert trajectory(grammar, "(plan (and door red))", blue)[0] == (2, 0)
    assert trajectory(grammar, "(plan (and door red))", red)[0] == (2, 0)


def test_the_cue_counts_as_cued():
    env = parse_ascii(NEAR_CUE)
    assert trajectory(CUED_G, "(plan cued)", env) == ((1, 1), [(1, 2), (1, 1)])
    assert trajectory(CUED_G, "(plan (and door cued))", env) == ((1, 4), [(1, 2), (1, 3), (1, 4)])
    assert trajectory(HCUED_G, "(toward (and door cued))", env) == ((1, 4), [(1, 2), (1, 3), (1, 4)])


def test_without_a_cue_nothing_is_cued():
    env = parse_ascii(LAYOUT.format(cue="blue").replace("cue = key\n", ""))
    assert env.cue is None and not (env.features & CUED).any()
    reached, path = trajectory(CUED_G, "(plan (and door cued))", env)
    assert reached is None and path == [(2, 2)]


def test_the_cue_reading_program_in_default_grammar_is_a_chain_of_sees():
    # Without `cued` the default grammar reads the cue with (if (see ...) ...): one branch
    # per objective, so its length grows with the number of objectives.
    plain = gp.grammar()
    chain = "(if (see (and key blue)) (plan (and door blue)) (plan (and door red)))"
    for cue, door in (("blue", (2, 4)), ("red", (2, 0))):
        env = parse_ascii(LAYOUT.format(cue=cue))
        assert GridReference(plain).episode(parse(chain, plain), env).reached == door
    assert plain.program_bits(parse(chain, plain)) == pytest.approx(43.733, abs=0.001)
    assert CUED_G.program_bits(parse("(plan (and door cued))", CUED_G)) == pytest.approx(14.232, abs=0.001)


def test_cued_profiles_append_one_pred():
    for base, cued in (("default", "cued"), ("heuristics", "heuristics-cued")):
        b, c = gp.productions(base), gp.productions(cued)
        assert c[: len(b)] == b and len(c) == len(b) + 1
        assert (c[-1].name, c[-1].type, c[-1].op) == ("cued", "Pred", gp.P_FEATURE)
    assert "cued" not in {p.name for p in gp.productions("default")}
    # every Pred costs log2(14/13) bits more than without it (uniform within a type)
    red = next(i for i, p in enumerate(CUED_G.productions) if p.name == "red")
    assert CUED_G.bits(red) - gp.grammar().bits(red) == pytest.approx(math.log2(14 / 13), abs=2e-3)


def test_parity_on_cued_grids():
    spec = SplitSpec("cue-parity", envs=6, height=5, width=6, wall_density=0.15, horizon=12, door_count=2,
                     door_colours=("red", "blue", "green", "yellow"), distractor_count=2,
                     distractor_kinds=("box", "gem"), distractor_colours=("red", "blue", "green"),
                     cue_kind="key", cue_colours=("red", "blue", "green", "yellow"))
    envs = generate(spec, 3)
    for grammar in (CUED_G, HCUED_G):
        programs = unranked_programs(grammar, 22, 150, seed=5)
        programs += [parse(t, grammar) for t in ("(plan (and door cued))", "(greedy cued)",
                                                 "(if (see (and cued box)) (plan cued) N)")]
        want_reached = np.array([[cell_index(e, GridReference(grammar).episode(p, e).reached) for e in envs]
                                 for p in programs])
        want_steps = np.array([[GridReference(grammar).episode(p, e).steps for e in envs] for p in programs])
        reached, _, steps = run_kernel(grammar, programs, envs)
        assert (reached == want_reached).all() and (steps == want_steps).all()
        assert (reached >= 0).any() and (reached < 0).any()


def test_generated_cue_grids():
    spec = SplitSpec("c", envs=40, height=5, width=5, wall_density=0.1, horizon=12, door_count=2,
                     door_colours=("red", "blue", "green", "yellow"), distractor_count=1,
                     distractor_kinds=("box", "gem"), distractor_colours=("blue", "green", "yellow"),
                     cue_kind="key", cue_colours=("red", "blue"))
    envs = generate(spec, 11)
    goals = []
    for env in envs:
        keys = [(r, c, d) for r, c, d in env.objects() if d.endswith("key")]
        assert len(keys) == 1 and env.cue == "key"
        goal = keys[0][2].split()[0]
        doors = [d.split()[0] for _, _, d in env.objects() if d.endswith("door")]
        assert doors.count(goal) == 1  # exactly one door of the objective's colour
        goals.append(goal)
        cued = {(r, c) for r, c, d in env.objects() if d.split()[0] == goal}
        assert {tuple(x) for x in np.argwhere(env.features & CUED)} == cued
        assert parse_ascii(to_ascii(env)).features.tolist() == env.features.tolist()
    assert set(goals) == {"red", "blue"}
    assert [e.features.tolist() for e in generate(spec, 11)] == [e.features.tolist() for e in envs]


def test_one_objective_is_the_old_generation_plus_a_cue():
    old = SplitSpec("train", envs=12, height=5, width=5, wall_density=0.2, horizon=12, door_count=1,
                    door_colours=("red",), distractor_count=1, distractor_kinds=("box", "gem"),
                    distractor_colours=("blue", "green", "yellow"))
    plain = generate(old, 4)
    cued = generate(SplitSpec(**{**old.__dict__, "cue_kind": "key", "cue_colours": ("red",)}), 4)
    for a, b in zip(plain, cued):
        assert a.start == b.start and a.cue is None and not (a.features & CUED).any()
        key = (b.features & OBJECT).astype(bool) & (b.features & KEY_BIT).astype(bool)
        assert key.sum() == 1
        stripped = np.where(key, EMPTY, b.features & np.uint16(0xFFFF ^ CUED))
        assert stripped.tobytes() == a.features.tobytes()


@pytest.mark.parametrize("split, message", [
    ({"cue": {"kind": "door"}}, "cue kind must be one of box, key, gem"),
    ({"cue": {"kind": "key", "objectives": 8}}, "cue objectives = 8 but only 4 colours"),
    ({"cue": {"kind": "key", "objectives": 0}}, "cue objectives"),
    ({"cue": {"kind": "key", "colours": ["red", "pink"]}}, "unknown cue colour 'pink'"),
    ({"cue": {"kind": "key", "colours": ["red", "red"]}}, "cue colours must be distinct"),
    ({"cue": {"kind": "gem"}}, "distractor kinds include the cue kind 'gem'"),
    ({"cue": {"kind": "key", "shape": 1}}, "shape"),
    ({"cue": "key"}, "cue must be a table"),
    ({"cue": {"kind": "key"}, "doors": {"count": 0}}, "doors count must be at least 1"),
    ({"cue": {"kind": "key", "colours": ["red"]}, "doors": {"count": 2, "colours": ["red"]}},
     "the other doors need a colour other than 'red'"),
])
def test_cue_config_errors(split, message):
    raw = {"experiment": {"name": "x", "base": "(and door cued)"}, "grammar": {"profile": "cued"},
           "search": {"max_bits": 10}, "train": dict({"envs": 2, "height": 5, "width": 5, "distractors": {"kinds": ["box", "gem"]}}, **split),
           "test": {"t": {"envs": 2}}}
    with pytest.raises(DslError, match=message.replace("(", r"\(")):
        experiments.resolve(raw, domains=domains)


def test_cue_on_a_test_split_copying_grids_is_an_error():
    raw = {"experiment": {"name": "x"}, "search": {"max_bits": 10}, "train": {"envs": 2, "height": 5, "width": 5},
           "test": {"t": {"like": "train", "cue": {"kind": "key"}}}}
    with pytest.raises(DslError, match="cue applies to generated grids"):
        experiments.resolve(raw, domains=domains)


def test_ascii_cue_errors():
    with pytest.raises(DslError, match="cue must name a kind"):
        parse_ascii("@D\n\nD = red door\ncue = lamp\n")
    with pytest.raises(DslError, match="cue = key but the grid has no key"):
        parse_ascii("@D\n\nD = red door\ncue = key\n")


def test_bundled_experiment_resolves():
    config = experiments.resolve(experiments.load("task-diversity-cued"), domains=domains)
    assert config["train"]["cue"] == {"kind": "key", "colours": ["red", "blue"], "objectives": 2}
    assert config["test"]["cued"]["cue"]["colours"] == ["red", "blue", "green", "yellow"]
