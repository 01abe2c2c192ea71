"""The compiled interpreter agrees with the reference on the `heuristics` profile: random
programs over every new construct, many environments, with and without the kernels'
caches, one and two threads; reached cell, moves, simulated steps and the lookahead
counts (states examined, decisions that used them, decisions)."""
from __future__ import annotations

import numba
import numpy as np
import pytest

from conftest import cell_index, pad_ops, unranked_programs
from dsl.grammar import Grammar
from dsl.grid import primitives as gp
from dsl.grid.interpreter import GridInterpreter
from dsl.grid.reference import GridReference
from dsl.grid.world import FEATURES, GridEnv, SplitSpec, generate, pack, parse_ascii
from dsl.syntax import unparse
from dsl.tree import tree
from test_grid_parity import ENVS

H = gp.grammar(profile="heuristics")
FIELDS = ("reached", "moves", "steps", "lookahead", "lookahead_decisions", "decisions")

#: Expansion weights: the new constructs often, and the old ones still present.
WEIGHTS = {
    "Action.N": 0.4, "Action.E": 0.4, "Action.S": 0.4, "Action.W": 0.4, "Action.if": 3.0,
    "Action.plan": 1.0, "Action.greedy": 1.0, "Action.toward": 2.0, "Action.wallright": 1.0,
    "Action.wallleft": 1.0, "Action.remember": 1.5, "Bool.recall": 1.5, "Bool.sense": 2.0,
    "Dir.dirto": 2.0, "Pred.and": 0.5, "Pred.or": 0.5, "Pred.not": 0.5,
}
_RECURSIVE = ("Action", "Bool")


def random_program(grammar: Grammar, rng: np.random.Generator, max_depth: int, type_name: str | None = None,
                   depth: int = 0) -> list[int]:
    """Random expansion of the grammar; past max_depth only productions without Action or
    Bool arguments (and without their own type)."""
    t = type_name or grammar.start
    choices = list(grammar.by_type[t])
    if depth >= max_depth:
        choices = [p for p in choices if not any(a == t or a in _RECURSIVE for a in grammar.productions[p].args)]
    w = np.array([WEIGHTS.get(grammar.productions[p].qualified, 1.0) for p in choices])
    p = choices[rng.choice(len(choices), p=w / w.sum())]
    out = [p]
    for a in grammar.productions[p].args:
        out += random_program(grammar, rng, max_depth, a, depth + 1)
    return out


def environments() -> list[GridEnv]:
    """The parity grids of the default profile (mixed sizes, walls, objects, corners),
    corridors and mazes where wall-following and memory matter, and red-door grids."""
    envs = list(ENVS)
    envs += generate(SplitSpec("h-rd", envs=4, height=7, width=7, wall_density=0.15, horizon=20), 0)
    envs += generate(SplitSpec("h-dense", envs=2, height=6, width=9, wall_density=0.3, horizon=25, door_count=2,
                               door_colours=("red", "blue")), 1)
    envs.append(parse_ascii("#####\n#@..#\n###.#\n#D..#\n#####\n\nD = red door\nhorizon = 15\n"))
    envs.append(parse_ascii("@\n\nhorizon = 6\n"))
    envs.append(parse_ascii(".....\n.@#.D\n.....\n\nD = red door\n"))
    return envs


ALL = environments()


def traced(programs, envs, use_cache=True, grammar=H):
    ops, sizes = pad_ops(programs)
    t = GridInterpreter(grammar, use_cache).run_traced(ops, sizes, pack(envs))
    return tuple(getattr(t, f) for f in FIELDS)


def reference(programs, envs, grammar=H):
    ref = GridReference(grammar)
    out = np.zeros((len(FIELDS), len(programs), len(envs)), dtype=np.int64)
    for i, prog in enumerate(programs):
        root = tree(prog, grammar)
        for e, env in enumerate(envs):
            ep = ref.episode(root, env)
            out[:, i, e] = (cell_index(env, ep.reached), ep.moves, ep.steps, ep.lookahead, ep.lookahead_decisions,
                            ep.decisions)
    return out


def assert_equal(want, got, programs, envs, what, grammar=H):
    for name, w, g in zip(FIELDS, want, got):
        bad = np.argwhere(np.asarray(w) != np.asarray(g))
        if len(bad):
            i, e = bad[0]
            pytest.fail(f"{what}: {name} differs for {unparse(programs[i], grammar)} on {envs[e].name or e}: "
                        f"{w[i, e]} vs {g[i, e]} ({len(bad)} pairs differ)")


def test_environments_cover_the_cases():
    assert len(ALL) == 26
    assert {(e.height, e.width) for e in ALL} >= {(1, 1), (5, 5), (3, 5), (7, 7), (6, 9), (1, 9)}


def test_parity_random_programs_with_and_without_caches():
    rng = np.random.default_rng(12)
    programs = [random_program(H, rng, int(rng.integers(1, 6))) for _ in range(400)]
    used = {p for prog in programs for p in prog}
    assert used == set(range(len(H.productions)))  # every production, old and new
    want = reference(programs, ALL)
    for use_cache in (True, False):
        got = traced(programs, ALL, use_cache)
        assert_equal(want, got, programs, ALL, f"use_cache={use_cache}")
        assert got[0].dtype == np.int32 and got[2].dtype == np.int64 and got[3].dtype == np.int64
    reached, moves, steps, lookahead, used_la, decisions = want
    # not vacuous: objects reached and not, lookahead used and not, fewer decisions than the horizon
    assert (reached >= 0).any() and (reached < 0).any()
    assert (lookahead > 0).any() and (used_la < decisions).any() and (used_la == 0).any()
    assert np.array_equal(decisions, moves)
    # run() gives the same first three arrays
    ops, sizes = pad_ops(programs)
    plain = GridInterpreter(H).run(ops, sizes, pack(ALL))
    for a, b in zip(plain, got[:3]):
        assert np.array_equal(a, b)


def test_parity_unranked_programs():
    """Programs drawn uniformly from the enumeration (what a run judges), to 30 bits."""
    programs = unranked_programs(H, 30, 160, seed=5)
    assert sum(H.resolve("toward")[0] in p or H.resolve("remember")[0] in p for p in programs) > 20
    want = reference(programs, ALL[:12] + ALL[-6:])
    assert_equal(want, traced(programs, ALL[:12] + ALL[-6:]), programs, ALL[:12] + ALL[-6:], "unranked")


@pytest.mark.parametrize("cost", [{"toward": 3, "wallright": 2, "remember": 0, "m2": 4, "dirto": 5, "ahead": 2,
                                   "NE": 3, "recall": 2, "red": 2}])
def test_parity_with_cost_overrides(cost):
    g = gp.grammar(profile="heuristics", cost=cost)
    rng = np.random.default_rng(3)
    programs = [random_program(g, rng, int(rng.integers(1, 5))) for _ in range(120)]
    envs = ALL[::2]
    want = reference(programs, envs, g)
    for use_cache in (True, False):
        assert_equal(want, traced(programs, envs, use_cache, g), programs, envs, "cost overrides", g)
    plain = reference(programs, envs)
    assert (want[2] != plain[2]).any()  # the overrides change some charge


def test_cached_and_uncached_agree_on_many_programs_and_threads():
    rng = np.random.default_rng(77)
    programs = [random_program(H, rng, int(rng.integers(1, 7))) for _ in range(1500)]
    programs += unranked_programs(H, 32, 500, seed=77)
    assert_equal(traced(programs, ALL, False), traced(programs, ALL, True), programs, ALL, "caches")
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has fewer than 2 threads")
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = traced(programs, ALL)
        numba.set_num_threads(2)
        two = traced(programs, ALL)
    finally:
        numba.set_num_threads(before)
    for a, b in zip(one, two):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def test_fit_matches_run_under_heuristics():
    envs = generate(SplitSpec("fit-h", envs=8, height=7, width=7, wall_density=0.15, horizon=20), 9)
    batch = pack(envs)
    door = np.zeros(batch.features.shape, dtype=bool)
    for k, env in enumerate(envs):
        door[k, : env.height, : env.width] = (env.features >> FEATURES.index("door")) & 1 == 1
    programs = unranked_programs(H, 28, 300, seed=2)
    programs += [list(x) for x in ([H.resolve("toward")[0], H.resolve("door")[0]],)]
    ops, sizes = pad_ops(programs)
    reached, _, steps = GridInterpreter(H).run(ops, sizes, batch)
    fits, successes, verdict = GridInterpreter(H).fit(ops, sizes, batch, door, 0,
                                                      np.full(len(programs), 1 << 62, dtype=np.int64))
    rr, cc = np.divmod(np.maximum(reached, 0), 7)
    hit = (reached >= 0) & door[np.arange(len(envs))[None, :], rr, cc]
    assert np.array_equal(fits, hit.all(axis=1))
    assert np.array_equal(verdict[fits], steps[fits].sum(axis=1))
    assert fits.any() and not fits.all()
