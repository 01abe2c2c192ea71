"""The grid's derived encodings (profiles `derived` and `derived-pair`): the grammar,
interpreter parity on random programs and environments, and the prices of the door and
red detectors that follow from the cell code (docs/grid.md, "Derived encodings")."""
from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import pad_ops, unranked_programs
from dsl.grid import primitives as gp
from dsl.grid.interpreter import GridInterpreter
from dsl.grid.world import object_features, pack, WALL, EMPTY
from dsl.grid.reference import GridReference
from dsl.syntax import parse
from dsl.tree import tree
from test_grid_parity import ENVS, assert_parity, random_program, reference_table

PROFILES = ("derived", "derived-pair")


def bits(text: str, profile: str) -> float:
    g = gp.grammar(profile=profile)
    return g.program_bits(parse(text, g, "Pred"))


def test_existing_opcodes_keep_their_ids():
    assert (gp.P_FEATURE, gp.P_AND, gp.P_OR, gp.P_NOT, gp.D_DIRTO) == (8, 9, 10, 11, 20)
    assert (gp.P_BIT, gp.K_CODE) == (21, 22)
    for profile in PROFILES:
        g = gp.grammar(profile=profile)
        ops = {p.op for p in g.productions}
        assert gp.P_FEATURE not in ops  # no named feature leaves: every Pred is built from bits
        assert [p.name for p in g.productions if p.type == "Pred"] == ["bit", "and", "or", "not"]
        assert [p.name for p in g.productions if p.type == "Code"] == list(gp.CODES[profile])


@pytest.mark.parametrize("profile", PROFILES)
def test_code_bits_follow_the_stated_table(profile):
    """A cell's code bit K is set exactly when the cell has one of K's features."""
    g = gp.grammar(profile=profile)
    ref = GridReference(g)
    cells = {"wall": WALL, "empty": EMPTY}
    cells.update({f"{c} {k}": object_features(c, k) for c in ("red", "blue", "green", "yellow")
                  for k in ("door", "box", "key", "gem")})
    for name, features in gp.CODES[profile].items():
        node = tree(parse(f"(bit {name})", g, "Pred"), g)
        for cell, value in cells.items():
            assert ref.pred(node, value) == any(f in cell.split() for f in features), (name, cell)


def test_detector_prices():
    """Pred has 4 productions (2 bits); Code has 8 (3 bits) under `derived`, 7 under
    `derived-pair`. door is one bit test under `derived` (5 bits) and two under
    `derived-pair`; red is r and not g under both."""
    assert bits("(bit door)", "derived") == pytest.approx(5.0)
    assert bits("(and (bit r) (not (bit g)))", "derived") == pytest.approx(14.0)
    k = math.ceil(math.log2(7) * 1000) / 1000  # production bits are whole millibits, rounded up
    assert bits("(and (bit panel) (bit frame))", "derived-pair") == pytest.approx(2 + 2 * (2 + k))
    assert bits("(and (bit r) (not (bit g)))", "derived-pair") == pytest.approx(8 + 2 * k)


@pytest.mark.parametrize("profile", PROFILES)
def test_parity_random_programs(profile):
    g = gp.grammar(profile=profile)
    rng = np.random.default_rng(31 if profile == "derived" else 32)
    programs = [random_program(g, rng, int(rng.integers(1, 6))) for _ in range(300)]
    programs += unranked_programs(g, 30, 150, seed=5)
    used = {p for prog in programs for p in prog}
    assert used == set(range(len(g.productions)))
    reached, _, _ = assert_parity(g, programs, ENVS)
    assert (reached >= 0).any() and (reached < 0).any()


@pytest.mark.parametrize("profile", PROFILES)
def test_parity_without_caches(profile):
    g = gp.grammar(profile=profile, cost={"bit": 2, "Code.r": 3})
    rng = np.random.default_rng(8)
    programs = [random_program(g, rng, int(rng.integers(1, 5))) for _ in range(120)]
    want = reference_table(g, programs, ENVS)
    ops, sizes = pad_ops(programs)
    got = GridInterpreter(g, use_cache=False).run(ops, sizes, pack(ENVS))
    for name, w, k in zip(("reached", "moves", "steps"), want, got):
        assert np.array_equal(w, k), name


# ------------------------------------------------------------------ red-door ratios
def _classes(profile: str, max_bits: float):
    from levinsearch import api
    r = api.run("red-door", profile=profile, max_bits=max_bits)
    by = {}
    for h in r.hypotheses:
        by.setdefault(h["outcome_class"]["blue_doors"], []).append((h["program"], h["bits"]))
    return by, r.summary["splits"]["blue_doors"]["classes"]


def test_red_door_ratio_under_derived_follows_from_the_code():
    """Under `derived` the shortest door detector (bit door) is 9 bits shorter than the
    shortest red one (and (bit r) (not (bit g))). To 16.9 bits the pseudo class is that
    detector in its two argument orders, and the robust class is (plan (bit door)) and
    its variants: 2 and 4 extra `not`s, 4 one-combinator copies that add nothing on
    reachable cells (walls are never tested), and (and door (not X)) in both orders for
    the 5 bits X that no door has. With x = 2^-7.808, robust = x (1 + 2^-4 + 4 * 2^-7 +
    2^-8 + 10 * 2^-9) and pseudo = 2 x 2^-9: the ratio is (512 + 32 + 16 + 2 + 10) / 2 =
    286, that is 2^9 / 2 times 1.1171875."""
    by, classes = _classes("derived", 16.9)
    door = bits("(bit door)", "derived")
    red = bits("(and (bit r) (not (bit g)))", "derived")
    assert red - door == pytest.approx(9.0)
    assert sorted(by["pseudo"]) == sorted([("(plan (and (bit r) (not (bit g))))", 16.808),
                                           ("(plan (and (not (bit g)) (bit r)))", 16.808)])
    robust = sorted(b for _, b in by["robust"])
    assert robust == [7.808, 11.808] + [14.808] * 4 + [15.808] + [16.808] * 10
    assert {p for p, _ in by["robust"] if "(not (bit" in p and "(not (not" not in p} == {
        f"(plan (and {a} {b}))" for x in ("wall", "box", "key", "gem", "g")
        for a, b in [("(bit door)", f"(not (bit {x}))"), (f"(not (bit {x}))", "(bit door)")]}
    ratio = classes["robust"]["prior_mass"] / classes["pseudo"]["prior_mass"]
    assert ratio == pytest.approx(286.0, rel=1e-9)
    assert ratio == pytest.approx(2 ** (red - door) / 2 * (1 + 2 ** -4 + 4 * 2 ** -7 + 2 ** -8 + 10 * 2 ** -9), rel=1e-9)


def test_a_two_part_door_moves_the_ratio_as_the_arithmetic_predicts():
    """Under `derived-pair` a door costs two bit tests (panel and frame), red still r and
    not g: Δ falls from 9 bits to 2, so robust:pseudo falls. To 16.5 bits each class holds
    exactly its shortest detector in both argument orders, so the ratio is exactly 2^2."""
    by, classes = _classes("derived-pair", 16.5)
    door = bits("(and (bit panel) (bit frame))", "derived-pair")
    red = bits("(and (bit r) (not (bit g)))", "derived-pair")
    assert red - door == pytest.approx(2.0)
    assert sorted(p for p, _ in by["robust"]) == ["(plan (and (bit frame) (bit panel)))",
                                                  "(plan (and (bit panel) (bit frame)))"]
    assert sorted(p for p, _ in by["pseudo"]) == ["(plan (and (bit r) (not (bit g))))",
                                                  "(plan (and (not (bit g)) (bit r)))"]
    ratio = classes["robust"]["prior_mass"] / classes["pseudo"]["prior_mass"]
    assert ratio == pytest.approx(2 ** (red - door), rel=1e-9) == pytest.approx(4.0, rel=1e-9)
    assert ratio < 286.0  # the derived encoding's ratio: the direction the prices predict
