"""The compiled interpreter's caches (cell classes, see positions, greedy distance tables,
plan memo) change wall time only: with and without them, every reached cell, move count,
simulated step count and fit verdict is identical, on many random programs and grids,
including grids too varied or too large for a cache (the fallback paths)."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import pad_ops, unranked_programs
from dsl.grid import kernels
from dsl.grid.interpreter import GridInterpreter
from dsl.grid import primitives as gp
from dsl.grid.world import COLOURS, FEATURES, KINDS, OBJECT, GridEnv, SplitSpec, generate, object_features, pack
from test_grid_parity import random_program

G = gp.grammar()


def many_class_envs():
    """Grids with every colour x kind object (16 object values + wall + empty) several
    times over, so cell-class tables fill up; one large grid beyond the greedy table."""
    envs = generate(SplitSpec("many", envs=3, height=9, width=9, wall_density=0.1, horizon=25, door_count=2,
                              door_colours=COLOURS, distractor_count=14, distractor_kinds=("box", "key", "gem"),
                              distractor_colours=COLOURS), 5)
    envs += generate(SplitSpec("large", envs=2, height=40, width=40, wall_density=0.1, horizon=30,
                               door_count=1, door_colours=("red",), distractor_count=6), 6)
    present = {int(f) for e in envs for f in e.features.ravel()}
    assert len({object_features(c, k) for c in COLOURS for k in KINDS} & present) >= 10
    return envs


def too_many_classes():
    """A grid of objects with arbitrary feature sets: more distinct cell values than a
    class bit set holds, so the class caches must step aside for its batch."""
    rng = np.random.default_rng(9)
    feats = np.full((12, 12), 1 << FEATURES.index("empty"), dtype=np.uint16)
    for cell in rng.permutation(np.arange(1, 144))[:100]:
        feats[divmod(int(cell), 12)] = OBJECT | int(rng.integers(1, 1 << 8)) << 2
    assert len(np.unique(feats)) > kernels.MAX_CLASSES
    return [GridEnv(feats, (0, 0), 20, name="many-classes")] + generate(SplitSpec("c", envs=2), 3)


def varied_envs():
    envs = generate(SplitSpec("a", envs=5, height=7, width=7, wall_density=0.15, horizon=20), 1)
    envs += generate(SplitSpec("b", envs=3, height=4, width=11, wall_density=0.05, horizon=15, door_count=2,
                               door_colours=("red", "blue")), 2)
    return envs + many_class_envs()


def programs(seed):
    rng = np.random.default_rng(seed)
    progs = [random_program(G, rng, int(rng.integers(1, 5))) for _ in range(300)]
    progs += unranked_programs(G, 24, 300, seed)
    return progs


@pytest.mark.parametrize("seed,envs", [(0, "varied"), (1, "varied"), (2, "too_many_classes")])
def test_run_batch_identical_with_and_without_caches(seed, envs):
    envs = varied_envs() if envs == "varied" else too_many_classes()
    batch = pack(envs)
    ops, sizes = pad_ops(programs(seed))
    with_cache = GridInterpreter(G).run(ops, sizes, batch)
    without = GridInterpreter(G, use_cache=False).run(ops, sizes, batch)
    for a, b in zip(with_cache, without):
        assert np.array_equal(a, b)
    reached = with_cache[0]
    assert (reached >= 0).any() and (reached < 0).any()


@pytest.mark.parametrize("max_failures", [0, 2])
def test_fit_batch_identical_with_and_without_caches(max_failures):
    envs = varied_envs()
    batch = pack(envs)
    base = np.zeros(batch.features.shape, dtype=bool)
    for k, env in enumerate(envs):
        base[k, : env.height, : env.width] = (env.features & (1 << FEATURES.index("door"))) != 0
    ops, sizes = pad_ops(programs(7))
    rng = np.random.default_rng(3)
    for caps in (np.full(len(sizes), 1 << 62, dtype=np.int64), rng.integers(1, 5000, len(sizes)).astype(np.int64)):
        args = (ops, sizes, batch, base, max_failures, caps)
        for a, b in zip(GridInterpreter(G).fit(*args), GridInterpreter(G, use_cache=False).fit(*args)):
            assert np.array_equal(a, b)
