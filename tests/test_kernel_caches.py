"""The compiled interpreter's caches change wall time only, never a result.

`run_batch` and `fit_batch` take a trailing `use_cache` (default True). With it off, every
Pred tree is walked at every cell it tests, `see` and `greedy` scan the grid and `plan`
searches at every step, as in the reference. These tests compare the two ways on many
random programs and environments (every output, simulated steps included, bit for bit),
check the per-environment tables against brute force, and check that the plan memo
(shared by the programs of a chunk) leaves each program's result independent of its
batch-mates, of their order, of the batch size and of the thread count.
tests/test_kernel_cache_parity.py covers grids too varied or too large for a cache.
"""
from __future__ import annotations

import numba
import numpy as np
import pytest

from conftest import cell_index, ops_of, pad_ops, unranked_programs
from dsl.grid import kernels
from dsl.grid.interpreter import GridInterpreter
from dsl.grid import primitives as gp
from dsl.grid.world import FEATURES, SplitSpec, generate, pack, parse_ascii
from dsl.grid.reference import GridReference
from dsl.tree import tree
from dsl.syntax import unparse
from test_grid_parity import ENVS, random_program

G = gp.grammar()
DOOR_BIT = 1 << FEATURES.index("door")
NO_CAP = np.int64(1) << 62
PREDS = ["red", "blue", "green", "yellow", "door", "box", "key", "gem", "wall", "empty",
         "(not empty)", "(or red wall)", "(and red (not door))", "(not (or wall empty))",
         "(and (or red blue) (or door (not box)))", "(and wall (not wall))"]


def red_door_envs():
    """The red-door training and test distributions, plus a wider, denser split."""
    envs = generate(SplitSpec("rd-train", envs=8, height=7, width=7, wall_density=0.15, horizon=20), 0)
    envs += generate(SplitSpec("rd-test", envs=6, height=7, width=7, wall_density=0.15, horizon=20,
                               door_colours=("blue",), distractor_kinds=("box",), distractor_colours=("red",)), 0)
    envs += generate(SplitSpec("rd-wide", envs=4, height=11, width=11, wall_density=0.2, horizon=30,
                               distractor_count=4), 1)
    return envs


ALL_ENVS = ENVS + red_door_envs()


def run(programs, envs, use_cache, grammar=G):
    ops, sizes = pad_ops(programs)
    batch = pack(envs) if isinstance(envs, list) else envs
    return GridInterpreter(grammar, use_cache).run(ops, sizes, batch)


def assert_same(with_cache, without, programs=None, grammar=G):
    for name, a, b in zip(("reached", "moves", "steps"), with_cache, without):
        assert a.dtype == b.dtype and a.shape == b.shape, name
        bad = np.argwhere(a != b)
        if len(bad):
            i, e = bad[0]
            what = f"program {i}" if programs is None else unparse(programs[i], grammar)
            pytest.fail(f"{name} differs with the caches for {what} on env {e}: {a[i, e]} vs {b[i, e]} "
                        f"({len(bad)} pairs differ)")


def has_op(programs, name):
    p = G.resolve(name)[0]
    return sum(p in prog for prog in programs)


# ------------------------------------------------------------------ many random programs
@pytest.mark.parametrize("seed", [0, 1])
def test_run_batch_same_with_and_without_caches(seed):
    rng = np.random.default_rng(100 + seed)
    programs = [random_program(G, rng, int(rng.integers(1, 7))) for _ in range(700)]
    programs += unranked_programs(G, 28, 500, seed=200 + seed)
    for name in ("plan", "greedy", "see", "sense"):
        assert has_op(programs, name) > 50, name
    with_cache = run(programs, ALL_ENVS, True)
    assert_same(with_cache, run(programs, ALL_ENVS, False), programs)
    reached, moves, steps = with_cache
    assert (reached >= 0).any() and (reached < 0).any()
    assert len(programs) * len(ALL_ENVS) == 1200 * 35


def test_every_pred_in_every_searching_construct():
    """(plan P), (greedy P), see and sense over hand-picked Preds, including ones that no
    cell or only walls satisfy: the cached path equals the uncached one and the reference."""
    programs = []
    for p in PREDS:
        programs += [f"(plan {p})", f"(greedy {p})", f"(if (see {p}) (plan {p}) W)",
                     f"(if (sense N {p}) (greedy {p}) (if (not (see {p})) S E))"]
    programs = [ops_of(text).tolist() for text in programs]
    envs = ENVS[:6] + ENVS[-2:] + red_door_envs()[:4]
    with_cache = run(programs, envs, True)
    assert_same(with_cache, run(programs, envs, False), programs)
    ref = GridReference(G)
    for i, prog in enumerate(programs):
        root = tree(prog, G)
        for e, env in enumerate(envs):
            ep = ref.episode(root, env)
            got = (int(with_cache[0][i, e]), int(with_cache[1][i, e]), int(with_cache[2][i, e]))
            assert got == (cell_index(env, ep.reached), ep.moves, ep.steps), (unparse(prog, G), env.name)


@pytest.mark.parametrize("cost", [{"plan": 3, "red": 2, "Pred.not": 0},
                                  {"greedy": 5, "see": 0, "wall": 7, "Pred.and": 3, "Pred.or": 0, "empty": 2}])
def test_cost_overrides(cost):
    """Pred costs are summed once per program with the caches; the charges must not move."""
    g = gp.grammar(cost=cost)
    rng = np.random.default_rng(len(cost))
    programs = [random_program(g, rng, int(rng.integers(1, 6))) for _ in range(300)]
    programs += unranked_programs(g, 26, 200, seed=len(cost))
    assert_same(run(programs, ALL_ENVS, True, g), run(programs, ALL_ENVS, False, g), programs, g)


def test_single_environment_and_corner_grids():
    grids = ["@", "#@#\n", "D@\n\nD = red door\n", "@.\n#D\n\nD = blue gem\n", "@...\n....\n....\n"]
    envs = [parse_ascii(text + ("\n" if not text.endswith("\n") else "")) for text in grids]
    rng = np.random.default_rng(3)
    programs = [random_program(G, rng, int(rng.integers(1, 5))) for _ in range(200)]
    for env in envs:
        assert_same(run(programs, [env], True), run(programs, [env], False), programs)


# ------------------------------------------------------------------ fit_batch
@pytest.mark.parametrize("max_failures", [0, 3])
def test_fit_batch_same_with_and_without_caches(max_failures):
    envs = red_door_envs()
    batch = pack(envs)
    base = np.zeros(batch.features.shape, dtype=bool)
    for k, env in enumerate(envs):
        base[k, : env.height, : env.width] = (env.features & DOOR_BIT) != 0
    programs = unranked_programs(G, 26, 600, seed=11 + max_failures)
    programs += [ops_of(t).tolist() for t in ("(plan door)", "(plan red)", "(greedy door)", "(plan (not empty))")]
    ops, sizes = pad_ops(programs)
    rng = np.random.default_rng(max_failures)
    uncapped = np.full(len(programs), NO_CAP, dtype=np.int64)
    results = []
    for caps in (uncapped, rng.integers(1, 3000, len(programs)).astype(np.int64)):
        args = (ops, sizes, batch, base, max_failures, caps)
        with_cache = GridInterpreter(G).fit(*args)  # the default is the cached path
        without = GridInterpreter(G, use_cache=False).fit(*args)
        for a, b in zip(with_cache, without):
            assert a.dtype == b.dtype and np.array_equal(a, b)
        results.append(with_cache)
    fits, _, _ = results[0]
    assert fits.any() and not fits.all()
    assert (results[1][0] != fits).any()  # the caps bite somewhere


# ------------------------------------------------------------------ the plan memo is shared within a chunk
def test_results_do_not_depend_on_batch_mates_order_or_size():
    """A program's row is the same alone, in a batch, in a shuffled batch, and next to
    copies of itself (which hit the memo entries it filled)."""
    rng = np.random.default_rng(8)
    programs = unranked_programs(G, 24, 300, seed=4)
    programs += [random_program(G, rng, 4) for _ in range(100)]
    envs = red_door_envs()
    full = run(programs, envs, True)
    perm = rng.permutation(len(programs))
    shuffled = run([programs[k] for k in perm], envs, True)
    for a, b in zip(full, shuffled):
        assert np.array_equal(a[perm], b)
    doubled = run(programs + programs, envs, True)
    for a, b in zip(full, doubled):
        assert np.array_equal(np.concatenate([a, a]), b)
    for k in rng.choice(len(programs), 12, replace=False):
        alone = run([programs[k]], envs, True)
        for a, b in zip(full, alone):
            assert np.array_equal(a[k: k + 1], b)


@pytest.mark.parametrize("n", [1, kernels.MIN_CHUNK - 1, kernels.MIN_CHUNK + 1,
                               kernels.MIN_CHUNK * kernels.MAX_CHUNKS + 3])
def test_chunk_boundaries(n):
    rng = np.random.default_rng(n)
    programs = [random_program(G, rng, int(rng.integers(1, 5))) for _ in range(n)]
    envs = ENVS[:5] + red_door_envs()[:3]
    assert_same(run(programs, envs, True), run(programs, envs, False), programs)


def test_empty_batch():
    batch = pack(red_door_envs())
    ops = np.full((0, 3), -1, dtype=np.int32)
    sizes = np.zeros(0, dtype=np.int32)
    for use_cache in (True, False):
        reached, moves, steps = GridInterpreter(G, use_cache).run(ops, sizes, batch)
        assert reached.shape == moves.shape == steps.shape == (0, len(batch))


def test_fit_and_run_identical_with_one_and_two_threads():
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has fewer than 2 threads")
    programs = unranked_programs(G, 26, 400, seed=21)
    envs = red_door_envs()
    batch = pack(envs)
    base = np.zeros(batch.features.shape, dtype=bool)
    for k, env in enumerate(envs):
        base[k, : env.height, : env.width] = (env.features & DOOR_BIT) != 0
    ops, sizes = pad_ops(programs)
    fit_args = (ops, sizes, batch, base, 2, np.full(len(programs), NO_CAP, dtype=np.int64))
    before = numba.get_num_threads()
    out = {}
    try:
        for threads in (1, 2):
            numba.set_num_threads(threads)
            out[threads] = run(programs, envs, True) + GridInterpreter(G).fit(*fit_args)
    finally:
        numba.set_num_threads(before)
    for a, b in zip(out[1], out[2]):
        assert a.dtype == b.dtype and np.array_equal(a, b)


# ------------------------------------------------------------------ the tables against brute force
def test_env_tables_match_brute_force():
    envs = ALL_ENVS
    batch = pack(envs)
    (cached, cls, featmask, first_at, ecls, en, gdist, pcls, pn, memo_off,
     memo_size) = kernels._env_tables(batch.features, batch.dims, True)
    assert cached
    n_cls = int(cls.max()) + 1
    for k, env in enumerate(envs):
        h, w = env.height, env.width
        f = env.features.astype(np.int64)
        c = cls[k, :h, :w]
        # a cell's class determines every feature bit, and equal values share a class
        for b in range(16):
            assert np.array_equal((featmask[b] >> c) & 1, (f >> b) & 1)
        assert len({(int(x), int(y)) for x, y in zip(f.ravel(), c.ravel())}) == len(np.unique(f))
        # first cell of each class, row-major (h * w if absent)
        for q in range(n_cls):
            where = np.flatnonzero(c.ravel() == q)
            assert first_at[k, q] == (where[0] if len(where) else h * w)
        present = sorted({int(x) for x in c.ravel()})
        assert sorted(ecls[k, : en[k]].tolist()) == present
        walls = {int(x) for x, y in zip(c.ravel(), f.ravel()) if y & 1}
        assert sorted(pcls[k, : pn[k]].tolist()) == sorted(set(present) - walls)
        # squared distance to the nearest cell of each class
        rr, cc = np.divmod(np.arange(h * w), w)
        for j in range(en[k]):
            targets = np.flatnonzero(c.ravel() == ecls[k, j])
            d2 = (rr[:, None] - rr[targets][None, :]) ** 2 + (cc[:, None] - cc[targets][None, :]) ** 2
            assert np.array_equal(gdist[k, j, : h * w], d2.min(axis=1))
        # memo slots of different environments do not overlap
        if memo_off[k] >= 0:
            assert memo_off[k] + (1 << int(pn[k])) * h * w <= memo_size
    offsets = sorted((int(memo_off[k]), k) for k in range(len(envs)) if memo_off[k] >= 0)
    for (o1, k1), (o2, _) in zip(offsets, offsets[1:]):
        assert o1 + (1 << int(pn[k1])) * envs[k1].height * envs[k1].width == o2
    assert len(offsets) == len(envs)  # every grid here is small enough to be memoised


def test_env_tables_off_when_asked():
    batch = pack(red_door_envs())
    assert not kernels._env_tables(batch.features, batch.dims, False)[0]
