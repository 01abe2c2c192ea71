"""The grid world: ASCII grids, the seeded generator, packing."""
from __future__ import annotations

from collections import deque

import numpy as np
import pytest

from dsl.errors import DslError
from dsl.grid.world import (
    COLOURS, EMPTY, FEATURES, OBJECT, WALL, GridEnv, SplitSpec, describe_cell, generate,
    load_ascii, object_features, pack, parse_ascii, to_ascii,
)

RED_DOOR = OBJECT | 1 << FEATURES.index("red") | 1 << FEATURES.index("door")
BLUE_BOX = OBJECT | 1 << FEATURES.index("blue") | 1 << FEATURES.index("box")

GRID = """\
; a comment line
#####
#@.D#
#.#B#
#####

; legend
D = red door
B = blue box
horizon = 7
"""


def test_feature_bits():
    assert FEATURES == ("wall", "empty", "red", "blue", "green", "yellow", "door", "box", "key", "gem")
    assert (WALL, EMPTY, OBJECT) == (1, 2, 1024)
    assert RED_DOOR == 1092 and BLUE_BOX == 1160
    assert object_features("red", "door") == 1092
    assert describe_cell(RED_DOOR) == "red door"
    assert describe_cell(WALL) == "wall"
    assert describe_cell(EMPTY) == "empty"


def test_parse_ascii_exact():
    env = parse_ascii(GRID, name="g")
    W, E = WALL, EMPTY
    expected = np.array([
        [W, W, W, W, W],
        [W, E, E, RED_DOOR, W],
        [W, E, W, BLUE_BOX, W],
        [W, W, W, W, W],
    ], dtype=np.uint16)
    assert env.features.dtype == np.uint16
    assert np.array_equal(env.features, expected)
    assert env.start == (1, 1)
    assert env.horizon == 7
    assert env.name == "g"
    assert env.legend == {"D": "red door", "B": "blue box"}
    assert (env.height, env.width) == (4, 5)
    assert env.objects() == [(1, 3, "red door"), (2, 3, "blue box")]
    assert env.cell(-1, 0) == WALL and env.cell(1, 5) == WALL and env.cell(1, 2) == EMPTY


def test_parse_ascii_horizon_default_and_keyword():
    assert parse_ascii("@.D\n\nD = red door\n").horizon == 20
    assert parse_ascii("@.D\n\nD = red door\n", horizon=3).horizon == 3
    assert parse_ascii(GRID, horizon=11).horizon == 11  # the keyword wins over the file
    assert parse_ascii("@.\n").start == (0, 0)


def test_load_ascii(tmp_path):
    path = tmp_path / "g.txt"
    path.write_text(GRID)
    env = load_ascii(path)
    assert env.name == str(path) and env.start == (1, 1) and env.horizon == 7
    with pytest.raises(DslError, match="cannot read grid"):
        load_ascii(tmp_path / "missing.txt")


@pytest.mark.parametrize(
    "text,message",
    [
        ("@..\n..\n", "g:2: row has 2 cells but the first row has 3"),
        ("@.X\n", "g:1:3: unknown cell 'X' (not in the legend)"),
        ("...\n.D.\n\nD = red door\n", "g: the grid has no agent '@'"),
        ("@..\n.@.\n", "g:2:2: a second agent '@'"),
        ("@D\n\nD = purple door\n", "g:3: unknown colour 'purple' (known: red, blue, green, yellow)"),
        ("@D\n\nD = red chair\n", "g:3: unknown kind 'chair' (known: door, box, key, gem)"),
        ("@D\n\nD = red\n", "g:3: legend entry must be 'COLOUR KIND', got 'red'"),
        ("@D\n\nD red door\n", "g:3: legend lines read 'X = COLOUR KIND', got 'D red door'"),
        ("@D\n\nDD = red door\n", "g:3: legend key must be one character other than # . @ ;, got 'DD'"),
        ("@D\n\n# = red door\n", "g:3: legend key must be one character other than # . @ ;, got '#'"),
        ("@.\n\nhorizon = ten\n", "g:3: horizon must be a whole number, got 'ten'"),
        ("@.\n\nhorizon = 0\n", "g: horizon must be between 1 and 1,000, got 0"),
        ("\n; only a comment\n", "g: no grid rows found"),
        ("@" + "." * 64 + "\n", "g: grids are at most 64x64"),
        ("@.\n\n..\n", "g:3: legend lines read 'X = COLOUR KIND', got '..'"),
    ],
)
def test_parse_ascii_errors(text, message):
    with pytest.raises(DslError) as info:
        parse_ascii(text, name="g")
    assert str(info.value) == message


def test_to_ascii_round_trip_hand_drawn():
    env = parse_ascii(GRID)
    text = to_ascii(env)
    assert text == "#####\n#@.D#\n#.#B#\n#####\n\nD = red door\nB = blue box\nhorizon = 7\n"
    back = parse_ascii(text)
    assert np.array_equal(back.features, env.features)
    assert back.start == env.start and back.horizon == env.horizon


def test_to_ascii_round_trip_generated():
    spec = SplitSpec("rt", envs=12, height=6, width=9, wall_density=0.2, distractor_count=4,
                     door_colours=("red", "blue"), distractor_colours=COLOURS, horizon=13)
    for env in generate(spec, 5):
        back = parse_ascii(to_ascii(env))
        assert np.array_equal(back.features, env.features)
        assert back.start == env.start
        assert back.horizon == 13


# ------------------------------------------------------------------ generator
def reachable_objects(env: GridEnv) -> set[tuple[int, int]]:
    """Object cells that can be entered from the start through empty cells."""
    seen = {env.start}
    queue = deque([env.start])
    found = set()
    while queue:
        r, c = queue.popleft()
        for dr, dc in ((-1, 0), (0, 1), (1, 0), (0, -1)):
            v = (r + dr, c + dc)
            if v in seen or env.cell(*v) & WALL:
                continue
            seen.add(v)
            if env.cell(*v) & OBJECT:
                found.add(v)
            else:
                queue.append(v)
    return found


SPECS = [
    SplitSpec("train"),
    SplitSpec("wide", envs=15, height=4, width=13, wall_density=0.3, door_count=2,
              door_colours=("blue", "green"), distractor_count=3, distractor_kinds=("box",),
              distractor_colours=("red",)),
    SplitSpec("tall", envs=10, height=12, width=3, wall_density=0.15, distractor_count=0),
    SplitSpec("tiny", envs=10, height=1, width=3, wall_density=0.0, door_count=1, distractor_count=1),
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_generated_envs_are_well_formed(spec):
    envs = generate(spec, 7)
    assert len(envs) == spec.envs
    for i, env in enumerate(envs):
        assert env.name == f"{spec.name}:{i}"
        assert env.features.shape == (spec.height, spec.width)
        assert env.features.dtype == np.uint16
        assert env.horizon == spec.horizon
        assert env.features[env.start] == EMPTY
        objects = env.objects()
        assert len(objects) == spec.door_count + spec.distractor_count
        doors = [o for o in objects if o[2].endswith(" door")]
        others = [o for o in objects if not o[2].endswith(" door")]
        assert len(doors) == spec.door_count
        for _, _, what in doors:
            assert what.split()[0] in spec.door_colours
        for _, _, what in others:
            colour, kind = what.split()
            assert colour in spec.distractor_colours and kind in spec.distractor_kinds
        # every cell is exactly wall, empty or an object
        for f in env.features.ravel():
            assert f in (WALL, EMPTY) or f & OBJECT
        assert reachable_objects(env) == {(r, c) for r, c, _ in objects}


def test_generator_is_deterministic_and_index_independent():
    spec = SplitSpec("det", envs=6, height=8, width=5, wall_density=0.25)
    a = generate(spec, 42)
    b = generate(spec, 42)
    for x, y in zip(a, b):
        assert np.array_equal(x.features, y.features) and x.start == y.start
    # environment i does not depend on how many environments the split has
    longer = generate(SplitSpec("det", envs=11, height=8, width=5, wall_density=0.25), 42)
    shorter = generate(SplitSpec("det", envs=2, height=8, width=5, wall_density=0.25), 42)
    for x, y in zip(a, longer):
        assert np.array_equal(x.features, y.features) and x.start == y.start
    for x, y in zip(shorter, a):
        assert np.array_equal(x.features, y.features) and x.start == y.start
    # another seed or another split name gives other grids
    other_seed = generate(spec, 43)
    assert any(not np.array_equal(x.features, y.features) or x.start != y.start for x, y in zip(a, other_seed))
    other_name = generate(SplitSpec("det2", envs=6, height=8, width=5, wall_density=0.25), 42)
    assert any(not np.array_equal(x.features, y.features) or x.start != y.start for x, y in zip(a, other_name))
    # environments within a split differ from one another
    assert len({x.features.tobytes() + bytes(x.start) for x in a}) == len(a)


def test_zero_wall_density_has_no_walls():
    for env in generate(SplitSpec("open", envs=5, wall_density=0.0), 1):
        assert not np.any(env.features & WALL)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(height=2, width=2, door_count=2, distractor_count=2),
         "split 'bad': 4 objects and the agent do not fit in a 2x2 grid"),
        (dict(wall_density=1.0), "split 'bad': wall_density must be in [0, 1), got 1.0"),
        (dict(wall_density=-0.1), "split 'bad': wall_density must be in [0, 1), got -0.1"),
        (dict(height=0), "split 'bad': height and width must be between 1 and 64"),
        (dict(width=65), "split 'bad': height and width must be between 1 and 64"),
        (dict(horizon=0), "split 'bad': horizon must be between 1 and 1,000, got 0"),
        (dict(envs=-1), "split 'bad': envs must be a whole number >= 0, got -1"),
        (dict(envs=True), "split 'bad': envs must be a whole number >= 0, got True"),
        (dict(door_colours=("pink",)), "split 'bad': unknown colour 'pink' (known: red, blue, green, yellow)"),
        (dict(distractor_kinds=("hat",)), "split 'bad': unknown kind 'hat' (known: door, box, key, gem)"),
        (dict(door_colours=()), "split 'bad': doors need at least one colour"),
        (dict(distractor_kinds=()), "split 'bad': distractors need at least one kind and one colour"),
    ],
)
def test_impossible_settings_raise(kwargs, message):
    with pytest.raises(DslError) as info:
        generate(SplitSpec("bad", **kwargs), 0)
    assert str(info.value) == message


def test_dense_walls_cannot_place_objects():
    with pytest.raises(DslError) as info:
        generate(SplitSpec("dense", envs=2, wall_density=0.99), 0)
    assert str(info.value) == (
        "split 'dense': no layout with every object reachable in 500 attempts; "
        "lower wall_density or enlarge the grid"
    )


def test_pack_pads_with_wall():
    a = parse_ascii("@.D\n\nD = red door\nhorizon = 5\n")
    b = parse_ascii("#.\n.@\nB.\n\nB = blue box\n")
    batch = pack([a, b])
    assert len(batch) == 2
    assert batch.features.shape == (2, 3, 3) and batch.features.dtype == np.uint16
    assert batch.dims.tolist() == [[1, 3], [3, 2]]
    assert batch.starts.tolist() == [[0, 0], [1, 1]]
    assert batch.horizons.tolist() == [5, 20]
    assert batch.features[0].tolist() == [[EMPTY, EMPTY, RED_DOOR], [WALL] * 3, [WALL] * 3]
    assert batch.features[1].tolist() == [[WALL, EMPTY, WALL], [EMPTY, EMPTY, WALL], [BLUE_BOX, EMPTY, WALL]]
    assert batch.dims.dtype == np.int32 and batch.starts.dtype == np.int32 and batch.horizons.dtype == np.int32
