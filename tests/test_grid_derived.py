"""The grid's derived encodings (profiles `derived`, `derived-pair` and
`derived-two-cell`): the grammar, interpreter parity on random programs and environments,
the neighbour reads of `(near D K)` and the frame mark, and the prices of the door and red
detectors that follow from the cell code (docs/grid.md, "Derived encodings")."""
from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import pad_ops, unranked_programs
from dsl.grid import kernels, world
from dsl.grid import primitives as gp
from dsl.grid.interpreter import GridInterpreter
from dsl.grid.world import FEATURES, object_features, pack, parse_ascii, WALL, EMPTY
from dsl.grid.reference import GridReference
from dsl.syntax import parse
from dsl.tree import tree
from test_grid_parity import ENVS, assert_parity, random_program, reference_table

PROFILES = ("derived", "derived-pair", "derived-two-cell")


def bits(text: str, profile: str) -> float:
    g = gp.grammar(profile=profile)
    return g.program_bits(parse(text, g, "Pred"))


def test_existing_opcodes_keep_their_ids():
    assert (gp.P_FEATURE, gp.P_AND, gp.P_OR, gp.P_NOT, gp.D_DIRTO) == (8, 9, 10, 11, 20)
    assert (gp.P_BIT, gp.K_CODE, gp.P_NEAR) == (21, 22, 23)
    for profile in PROFILES:
        g = gp.grammar(profile=profile)
        ops = {p.op for p in g.productions}
        assert gp.P_FEATURE not in ops  # no named feature leaves: every Pred is built from bits
        near = ["near"] if profile == "derived-two-cell" else []
        assert [p.name for p in g.productions if p.type == "Pred"] == ["bit", *near, "and", "or", "not"]
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
        if name == "frame" and profile == "derived-two-cell":
            continue  # the frame mark: test_frame_mark_and_near_read_the_stated_cells
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


def test_two_cell_detector_prices():
    """Under `derived-two-cell` Pred has 5 productions, Code 7 and Dir 4 (2 bits). A door
    is `panel` on its cell and `frame` on the cell north of it: three Pred nodes, a Dir and
    two Code leaves; red is four Pred nodes and two Code leaves, so it costs one Pred
    production minus one Dir (0.322 bits) more than the door."""
    p = math.ceil(math.log2(5) * 1000) / 1000
    k = math.ceil(math.log2(7) * 1000) / 1000
    door = bits("(and (bit panel) (near N frame))", "derived-two-cell")
    red = bits("(and (bit r) (not (bit g)))", "derived-two-cell")
    assert door == pytest.approx(3 * p + 2 + 2 * k) == pytest.approx(14.582)
    assert red == pytest.approx(4 * p + 2 * k) == pytest.approx(14.904)
    assert door > bits("(bit door)", "derived") and door > bits("(and (bit panel) (bit frame))", "derived-pair")


def test_a_door_is_told_from_a_box_only_through_a_neighbour():
    """Every code bit of a cell's own word other than the frame mark is the same on a
    door and on a box of the same colour, so no Pred without `near` or `frame` (which
    reads the cell south) separates them."""
    g = gp.grammar(profile="derived-two-cell")
    ref = GridReference(g)
    for name in gp.CODES["derived-two-cell"]:
        if name == "frame":
            continue
        node = tree(parse(f"(bit {name})", g, "Pred"), g)
        for colour in ("red", "blue", "green", "yellow"):
            assert ref.pred(node, object_features(colour, "door")) == ref.pred(node, object_features(colour, "box"))


# A red door on the top row (its frame is off the grid), a blue key beside it, a green
# box, and a blue door inside the grid (its frame on the cell north of it).
EDGE = parse_ascii("D.K#\n.B..\n.@d.\n\nD = red door\nK = blue key\nB = green box\nd = blue door\nhorizon = 6\n")


def test_frame_mark_and_near_read_the_stated_cells():
    g = gp.grammar(profile="derived-two-cell")
    ref = GridReference(g)
    mark = gp.MARK_BIT
    assert ref.word(EDGE, -1, 0) == WALL | mark and ref.word(EDGE, -1, 2) == WALL | mark  # frames off the grid
    assert ref.word(EDGE, -1, 1) == WALL and ref.word(EDGE, -2, 0) == WALL and ref.word(EDGE, 3, 2) == WALL
    assert ref.word(EDGE, 1, 2) == EMPTY | mark and ref.word(EDGE, 0, 1) == EMPTY  # a box is not framed

    def cells(text):
        node = tree(parse(text, g, "Pred"), g)
        return {(r, c) for r in range(-1, 4) for c in range(-1, 5) if ref.holds(node, EDGE, r, c)}

    assert cells("(and (bit panel) (near N frame))") == {(0, 0), (2, 2)}  # the doors
    assert cells("(near N frame)") == {(0, 0), (0, 2), (2, 2)}  # doors and the key
    assert cells("(bit frame)") == {(-1, 0), (-1, 2), (1, 2)}  # the cells north of them
    # a wall south: below the last row, off the sides, or the wall at (0, 3)
    assert cells("(near S wall)") == ({(r, c) for r in (2, 3) for c in range(-1, 5)}
                                      | {(r, c) for r in range(-1, 4) for c in (-1, 4)} | {(-1, 3)})
    with pytest.raises(ValueError, match="near"):
        ref.pred(tree(parse("(near N frame)", g, "Pred"), g), EMPTY)


def test_packed_words_are_the_reference_words():
    """The kernel's per-position value: the reference's code word of the position and of
    its N E S W neighbours (narrowed to what a Code leaf tests), for the grid and the ring around it."""
    assert (kernels.P_NEAR, kernels.MARK_BIT) == (gp.P_NEAR, gp.MARK_BIT)
    assert kernels.FRAMED_MASK == gp.code_mask(gp.FRAMED) and kernels.OBJECT_BIT_MASK == 1 << len(FEATURES)
    # the mark lies above every bit the world's cells use, and the own field holds it
    assert all(gp.MARK_BIT > 1 << v for k, v in vars(world).items() if k.endswith("_BIT") and isinstance(v, int))
    assert gp.MARK_BIT < 1 << kernels.OWN_BITS
    # a neighbour field keeps every bit a Code leaf can test
    masks = [p.operand for p in gp.grammar(profile="derived-two-cell").productions if p.type == "Code"]
    assert all((m & ~gp.MARK_BIT) <= kernels.NEAR_LOW for m in masks)
    envs = [EDGE] + ENVS
    batch = pack(envs)
    words = kernels._words(batch.features, batch.dims)
    deltas = ((-1, 0), (0, 1), (1, 0), (0, -1))
    for e, env in enumerate(envs):
        for r in range(-1, env.height + 1):
            for c in range(-1, env.width + 1):
                v = int(words[e, r + 1, c + 1])
                assert v & ((1 << kernels.OWN_BITS) - 1) == GridReference.word(env, r, c), (env.name, r, c)
                for f, (dr, dc) in enumerate(deltas):
                    got = v >> (kernels.OWN_BITS + kernels.NEAR_BITS * f) & ((1 << kernels.NEAR_BITS) - 1)
                    want = GridReference.word(env, r + dr, c + dc)
                    want = (want & kernels.NEAR_LOW) | (kernels.NEAR_MARK if want & gp.MARK_BIT else 0)
                    assert got == want, (env.name, r, c, f)


@pytest.mark.parametrize("use_cache", [True, False])
def test_near_parity_at_the_edges(use_cache):
    """Every (near D K) sensed in every direction, searched for and scanned, on the
    parity grids and EDGE (agents on the edge: sense reads the ring, near two cells out)."""
    g = gp.grammar(profile="derived-two-cell")
    codes = list(gp.CODES["derived-two-cell"])
    texts = [f"(if (sense {a} (near {b} {k})) N E)" for a in "NESW" for b in "NESW" for k in codes]
    texts += [f"({c} (near {b} {k}))" for c in ("plan", "greedy") for b in "NESW" for k in codes]
    texts += [f"(if (see (and (bit {k}) (near {b} frame))) S W)" for b in "NESW" for k in codes]
    texts += ["(plan (and (bit panel) (near N frame)))", "(if (sense N (bit frame)) (plan (bit frame)) W)"]
    programs = [parse(t, g).tolist() for t in texts]
    envs = [EDGE] + ENVS
    want = reference_table(g, programs, envs)
    ops, sizes = pad_ops(programs)
    got = GridInterpreter(g, use_cache=use_cache).run(ops, sizes, pack(envs))
    for name, w, k in zip(("reached", "moves", "steps"), want, got):
        assert np.array_equal(w, k), name
    assert len({tuple(row) for row in want[0]}) > 50  # the programs behave differently


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


def test_a_two_cell_door_moves_the_ratio_as_the_arithmetic_predicts():
    """Under `derived-two-cell` the door detector reads two cells: (and (bit panel) (near
    N frame)), 14.582 bits against 5 under `derived`, while red costs 14.904: Δ falls from
    9 bits to 0.322, so robust:pseudo falls from 286 towards 1. To 18 bits each class
    holds exactly its shortest detector in both argument orders (plan costs 2.808 bits),
    so the ratio is exactly 2^0.322."""
    by, classes = _classes("derived-two-cell", 18.0)
    door = bits("(and (bit panel) (near N frame))", "derived-two-cell")
    red = bits("(and (bit r) (not (bit g)))", "derived-two-cell")
    assert red - door == pytest.approx(0.322)
    assert sorted(by["robust"]) == [("(plan (and (bit panel) (near N frame)))", 17.39),
                                    ("(plan (and (near N frame) (bit panel)))", 17.39)]
    assert sorted(by["pseudo"]) == [("(plan (and (bit r) (not (bit g))))", 17.712),
                                    ("(plan (and (not (bit g)) (bit r)))", 17.712)]
    ratio = classes["robust"]["prior_mass"] / classes["pseudo"]["prior_mass"]
    assert ratio == pytest.approx(2 ** (red - door), rel=1e-9) == pytest.approx(2 ** 0.322, rel=1e-9)
    assert 1 < ratio < 4.0 < 286.0  # below derived-pair's and derived's: the door got dearer


def test_red_door_grids_under_the_two_cell_code():
    """The frame is a mark on a cell, not an object: red-door's grids are generated as in
    every profile, red doors are still the only doors in training, and the two-cell door
    detector holds exactly on the door cells (the base objective) of every grid."""
    from levinsearch import domains, experiments, pipeline
    prep = pipeline.prepare(experiments.resolve(experiments.load("red-door"), {"profile": "derived-two-cell"},
                                                domains=domains))
    g = prep.grammar
    ref = GridReference(g)
    door = tree(parse("(and (bit panel) (near N frame))", g, "Pred"), g)
    for envs, base in [(prep.train_envs, prep.base_train), *((prep.test_envs[s], prep.base_cells[s])
                                                               for s in prep.test_envs)]:
        for k, env in enumerate(envs):
            got = {(r, c) for r in range(env.height) for c in range(env.width) if ref.holds(door, env, r, c)}
            assert got == {tuple(x) for x in np.argwhere(base[k])}, env.name
    kinds = {describe for env in prep.train_envs for _, _, describe in env.objects() if describe.endswith("door")}
    assert kinds == {"red door"}
    assert any(r == 0 for env in prep.train_envs for r, _, d in env.objects() if d == "red door")  # frame off-grid


def test_a_spare_feature_bit_does_not_leak_into_the_code():
    """Bit 11 of a cell's features is free for an environment-set feature; setting it on
    every object changes no derived-two-cell program's result (the mark is bit 12)."""
    g = gp.grammar(profile="derived-two-cell")
    texts = [f"(if (sense {a} (near {b} {k})) N E)" for a in "NS" for b in "NESW" for k in gp.CODES["derived-two-cell"]]
    texts += ["(plan (and (bit panel) (near N frame)))", "(plan (bit frame))", "(greedy (near E frame))"]
    ops, sizes = pad_ops([parse(t, g).tolist() for t in texts])
    envs = [EDGE] + ENVS
    plain = pack(envs)
    spare = pack(envs)
    spare.features[(spare.features & world.OBJECT) != 0] |= np.uint16(1 << 11)
    for use_cache in (True, False):
        run = GridInterpreter(g, use_cache=use_cache).run
        for a, b in zip(run(ops, sizes, plain), run(ops, sizes, spare)):
            assert np.array_equal(a, b)
