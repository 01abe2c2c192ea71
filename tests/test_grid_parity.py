"""The compiled interpreter agrees with the reference on thousands of program x env pairs."""
from __future__ import annotations

import numba
import numpy as np
import pytest

from conftest import cell_index, ops_of, pad_ops, run_kernel, unranked_programs
from dsl.grammar import Grammar
from dsl.grid import kernels
from dsl.grid.interpreter import GridInterpreter
from dsl.grid import primitives as gp
from dsl.grid.world import FEATURES, GridEnv, SplitSpec, generate, pack, parse_ascii
from dsl.grid.reference import GridReference
from dsl.tree import tree

NO_CAP = np.int64(1) << 62
DOOR_BIT = 1 << FEATURES.index("door")

# Productions that never recurse, usable at the depth limit.
_RECURSIVE_TYPES = ("Action", "Bool")

WEIGHTS = {  # bias the expansion towards the interesting constructs
    "Action.N": 0.5, "Action.E": 0.5, "Action.S": 0.5, "Action.W": 0.5,
    "Action.if": 3.0, "Action.plan": 2.0, "Action.greedy": 2.0,
    "Pred.and": 1.0, "Pred.or": 1.0, "Pred.not": 1.0,
}


def random_program(grammar: Grammar, rng: np.random.Generator, max_depth: int, type_name: str | None = None,
                   depth: int = 0) -> list[int]:
    """Random expansion of the grammar; past max_depth only non-recursive productions."""
    t = type_name or grammar.start
    choices = list(grammar.by_type[t])
    if depth >= max_depth:
        choices = [p for p in choices
                   if not any(a == t or a in _RECURSIVE_TYPES for a in grammar.productions[p].args)]
    w = np.array([WEIGHTS.get(grammar.productions[p].qualified, 0.4 if t == "Pred" else 1.0) for p in choices])
    p = choices[rng.choice(len(choices), p=w / w.sum())]
    out = [p]
    for a in grammar.productions[p].args:
        out += random_program(grammar, rng, max_depth, a, depth + 1)
    return out




def environments() -> list[GridEnv]:
    """Mixed sizes (square and not), wall densities, horizons and object mixes."""
    specs = [
        SplitSpec("p-train", envs=4, height=7, width=7, wall_density=0.1, horizon=20),
        SplitSpec("p-wide", envs=3, height=4, width=11, wall_density=0.25, horizon=25, door_count=2,
                  door_colours=("red", "blue"), distractor_count=3, distractor_colours=("red", "green", "yellow")),
        SplitSpec("p-tall", envs=3, height=9, width=3, wall_density=0.2, horizon=15,
                  distractor_kinds=("gem", "key"), distractor_colours=("blue", "red")),
        SplitSpec("p-open", envs=2, height=5, width=6, wall_density=0.0, horizon=12, door_count=0,
                  distractor_count=4, distractor_kinds=("box", "key", "gem"), distractor_colours=("red", "blue")),
        SplitSpec("p-dense", envs=2, height=8, width=8, wall_density=0.35, horizon=30),
        SplitSpec("p-line", envs=1, height=1, width=9, wall_density=0.0, horizon=10, distractor_count=1),
    ]
    envs = []
    for k, spec in enumerate(specs):
        envs += generate(spec, 100 + k)
    # hand-drawn corner cases: agent boxed in, object next to the start
    envs.append(parse_ascii("#.#\n#@#\n###\n\nhorizon = 5\n"))
    envs.append(parse_ascii("D@.\n...\n\nD = red door\nhorizon = 4\n"))
    return envs


ENVS = environments()


def reference_table(grammar: Grammar, programs, envs):
    ref = GridReference(grammar)
    reached = np.empty((len(programs), len(envs)), dtype=np.int64)
    moves = np.empty_like(reached)
    steps = np.empty_like(reached)
    for i, prog in enumerate(programs):
        root = tree(prog, grammar)
        for e, env in enumerate(envs):
            ep = ref.episode(root, env)
            reached[i, e] = cell_index(env, ep.reached)
            moves[i, e] = ep.moves
            steps[i, e] = ep.steps
    return reached, moves, steps


def assert_parity(grammar: Grammar, programs, envs):
    want = reference_table(grammar, programs, envs)
    got = run_kernel(grammar, programs, envs)
    for name, w, g in zip(("reached", "moves", "steps"), want, got):
        bad = np.argwhere(w != g)
        if len(bad):
            i, e = bad[0]
            from dsl.syntax import unparse
            pytest.fail(f"{name} differs for {unparse(programs[i], grammar)} on env {e} "
                        f"({envs[e].name}): reference {w[i, e]}, kernel {g[i, e]} ({len(bad)} pairs differ)")
    return want


def test_environments_are_varied():
    assert len(ENVS) == 17
    sizes = {(e.height, e.width) for e in ENVS}
    assert {(7, 7), (4, 11), (9, 3), (5, 6), (8, 8), (1, 9), (3, 3), (2, 3)} == sizes


def test_parity_random_expansion():
    g = gp.grammar()
    rng = np.random.default_rng(2024)
    programs = [random_program(g, rng, int(rng.integers(1, 6))) for _ in range(400)]
    # the sample reaches every production of the grammar
    used = {p for prog in programs for p in prog}
    assert used == set(range(len(g.productions)))
    reached, moves, steps = assert_parity(g, programs, ENVS)
    # both outcomes occur (so the comparison is not vacuous)
    assert (reached >= 0).any() and (reached < 0).any()
    assert len(programs) * len(ENVS) == 6800


def test_parity_random_unranking():
    g = gp.grammar()
    programs = unranked_programs(g, 28, 200, seed=7)
    assert max(len(p) for p in programs) >= 9
    reached, _, _ = assert_parity(g, programs, ENVS)
    assert (reached >= 0).any() and (reached < 0).any()


@pytest.mark.parametrize("cost", [{"plan": 3, "red": 2},
                                  {"if": 0, "see": 4, "greedy": 2, "Dir.N": 5, "Pred.not": 0, "sense": 3}])
def test_parity_with_cost_overrides(cost):
    g = gp.grammar(cost=cost)
    rng = np.random.default_rng(len(cost))
    programs = [random_program(g, rng, int(rng.integers(1, 5))) for _ in range(80)]
    programs += unranked_programs(g, 24, 40, seed=len(cost))
    _, _, steps = assert_parity(g, programs, ENVS)
    # the override changes costs relative to the default grammar for some pair
    _, _, plain_steps = run_kernel(gp.grammar(), programs, ENVS)
    assert (steps != plain_steps).any()


def test_parity_under_ban_and_bits():
    g = gp.grammar(ban=["greedy"], bits={"red": 1})
    programs = unranked_programs(g, 24, 60, seed=3)
    assert all(g.resolve("greedy")[0] not in p for p in programs)
    assert_parity(g, programs, ENVS[:8])


def test_parity_without_caches():
    """The kernels' uncached path (use_cache=False: Pred trees walked per cell, a search
    per step) matches the reference too; tests/test_kernel_caches.py compares the paths."""
    g = gp.grammar(cost={"plan": 2, "Pred.or": 3})
    rng = np.random.default_rng(77)
    programs = [random_program(g, rng, int(rng.integers(1, 5))) for _ in range(120)]
    programs += unranked_programs(g, 26, 60, seed=77)
    want = reference_table(g, programs, ENVS)
    ops, sizes = pad_ops(programs)
    batch = pack(ENVS)
    got = GridInterpreter(g, use_cache=False).run(ops, sizes, batch)
    for name, w, k in zip(("reached", "moves", "steps"), want, got):
        assert np.array_equal(w, k), name


# ------------------------------------------------------------------ fit_batch
def base_cells(envs, batch) -> np.ndarray:
    mask = np.zeros(batch.features.shape, dtype=bool)
    for k, env in enumerate(envs):
        mask[k, : env.height, : env.width] = (env.features & DOOR_BIT) != 0
    return mask


def reference_fit(per_env_reached, per_env_steps, envs, max_failures):
    """(fits, successes, verdict steps) following the documented rule, no step cap."""
    total = successes = failures = 0
    for e, env in enumerate(envs):
        total += int(per_env_steps[e])
        cell = int(per_env_reached[e])
        hit = cell >= 0 and bool(env.features[cell // env.width, cell % env.width] & DOOR_BIT)
        if hit:
            successes += 1
        else:
            failures += 1
            if failures > max_failures:
                return False, successes, total
    return True, successes, total


def fit_envs() -> list[GridEnv]:
    envs = generate(SplitSpec("fit-a", envs=4, height=6, width=6, wall_density=0.1, horizon=15), 1)
    envs += generate(SplitSpec("fit-b", envs=2, height=4, width=9, wall_density=0.1, horizon=18), 2)
    return envs


def fit_programs(g):
    rng = np.random.default_rng(11)
    programs = [random_program(g, rng, int(rng.integers(1, 4))) for _ in range(150)]
    programs += [ops_of(t).tolist() for t in ("(plan door)", "(greedy door)", "(plan red)", "N",
                                              "(if (see door) (plan door) E)")]
    return programs


@pytest.mark.parametrize("max_failures", [0, 1])
def test_fit_batch_matches_reference(max_failures):
    g = gp.grammar()
    envs = fit_envs()
    batch = pack(envs)
    base = base_cells(envs, batch)
    programs = fit_programs(g)
    ops, sizes = pad_ops(programs)
    interpreter = GridInterpreter(g)
    reached, moves, steps = reference_table(g, programs, envs)

    caps = np.full(len(programs), NO_CAP, dtype=np.int64)
    fits, successes, verdict = interpreter.fit(ops, sizes, batch, base, max_failures, caps)
    want = [reference_fit(reached[i], steps[i], envs, max_failures) for i in range(len(programs))]
    assert fits.tolist() == [w[0] for w in want]
    assert successes.tolist() == [w[1] for w in want]
    assert verdict.tolist() == [w[2] for w in want]
    # (plan door) reaches the door everywhere (generated doors are reachable); N never fits.
    assert fits[-5] and successes[-5] == len(envs) and verdict[-5] == steps[-5].sum()
    assert not fits[-2]
    assert fits.any() and not fits.all()
    if max_failures == 1:
        # some program fits with exactly one failure
        assert any(w[0] and w[1] == len(envs) - 1 for w in want)

    # Step caps (Levin budgets): fits iff it fits uncapped and its total is within the cap;
    # a verdict within the cap is the uncapped verdict; beyond it, the run stopped early.
    rng = np.random.default_rng(5)
    totals = steps.sum(axis=1)
    capped = np.maximum(1, (totals * rng.uniform(0.2, 1.5, len(programs))).astype(np.int64))
    fits_c, succ_c, verdict_c = interpreter.fit(ops, sizes, batch, base, max_failures, capped)
    for i in range(len(programs)):
        assert fits_c[i] == (want[i][0] and want[i][2] <= capped[i])
        if verdict_c[i] <= capped[i]:
            assert (fits_c[i], succ_c[i], verdict_c[i]) == want[i]
        else:
            assert not fits_c[i]
            partial = np.cumsum(steps[i])
            first_over = int(np.argmax(partial > capped[i]))
            assert capped[i] < verdict_c[i] <= partial[first_over]
    assert (fits_c != fits).any()


def test_results_identical_with_one_and_two_threads():
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has fewer than 2 threads")
    g = gp.grammar()
    rng = np.random.default_rng(99)
    programs = [random_program(g, rng, int(rng.integers(1, 5))) for _ in range(400)]
    envs = ENVS
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = run_kernel(g, programs, envs)
        numba.set_num_threads(2)
        two = run_kernel(g, programs, envs)
    finally:
        numba.set_num_threads(before)
    for a, b in zip(one, two):
        assert a.dtype == b.dtype
        assert np.array_equal(a, b)


@pytest.mark.parametrize("profile", ["default", "heuristics"])
def test_paths_match_the_reference_step_by_step(profile):
    """path_batch: the agent's cell after every step, -1 after the episode ended."""
    g = gp.grammar(profile=profile)
    envs = generate(SplitSpec("paths", envs=6, height=7, width=7, wall_density=0.15, horizon=15), 3)
    programs = unranked_programs(g, 26, 200, seed=4) + [ops_of("(plan door)", g).tolist(), ops_of("N", g).tolist()]
    ops, sizes = pad_ops(programs)
    paths = GridInterpreter(g).paths(ops, sizes, pack(envs))
    ref = GridReference(g)
    assert paths.shape == (len(programs), len(envs), 15)
    for i, p in enumerate(programs):
        for e, env in enumerate(envs):
            cells = [r * env.width + c for r, c in ref.episode(p, env).cells]
            assert paths[i, e].tolist() == cells + [-1] * (15 - len(cells))
    # N blocked by a wall: the no-move shortcut's steps are filled in (the agent stays).
    assert (paths[-1, :, -1] >= 0).any() and (paths[-1, :, -1] < 0).any()
