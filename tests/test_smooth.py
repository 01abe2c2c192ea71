"""Smoothed complexity on grids ([search] smooth, smooth_samples, time_measure): the
perturbation model, the smoothed time term, the perturbed test splits, and that sigma = 0
leaves every record as it was."""
from __future__ import annotations

import copy
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest

from dsl.errors import DslError
from dsl.grid import primitives
from dsl.grid.interpreter import GridInterpreter
from dsl.grid.reference import GridReference
from dsl.grid.world import (COLOURS, EMPTY, FEATURES, KINDS, OBJECT, WALL, GridEnv, SplitSpec, describe_cell,
                            generate, load_ascii, pack, perturb, perturb_seed, perturbed_split)
from dsl.syntax import parse
from dsl.tree import tree
from levinsearch import domains, experiments, pipeline

ROOT = Path(__file__).resolve().parent.parent
ONE_WALL = ROOT / "experiments" / "grids" / "smoothed_time" / "one_wall.txt"

SMALL = {
    "experiment": {"name": "smooth-small", "seed": 3, "base": "door", "proxy": "red"},
    "search": {"max_bits": 12, "time_weight": 1.0},
    "grammar": {"cost": {"door": 8}},
    "train": {"envs": 5, "wall_density": 0.15},
    "test": {"blue_doors": {"envs": 6, "doors": {"count": 1, "colours": ["blue"]},
                            "distractors": {"count": 2, "kinds": ["box"], "colours": ["red"]}},
             "one_wall": {"grids": [str(ONE_WALL)]}},
    "analysis": {"goal_bits": 6, "probes": {"envs": 4}},
}


def record_text(raw: dict, **overrides) -> str:
    config = experiments.resolve(copy.deepcopy(raw), overrides, domains=domains)
    record = pipeline.execute(pipeline.prepare(config))
    record = json.loads(json.dumps(record, default=lambda v: v.tolist()))
    for key in ("provenance", "versions"):
        record.pop(key)
    for key in ("seconds", "compile_seconds"):
        record["enumeration"].pop(key, None)
    for row in record["enumeration"].get("per_length", []):
        row.pop("seconds", None)
    return json.dumps(record, indent=1)


def small(**search) -> dict:
    raw = copy.deepcopy(SMALL)
    raw["search"].update(search)
    return raw


def grids(n: int = 12, seed: int = 5) -> list[GridEnv]:
    return generate(SplitSpec("t", envs=n, wall_density=0.2, distractor_count=3), seed)


# ------------------------------------------------------------------ the perturbation model
def test_same_seed_same_perturbations_and_samples_differ():
    envs = grids()
    a, b = perturbed_split(envs, 0.2, 3, 7, "train"), perturbed_split(envs, 0.2, 3, 7, "train")
    assert all(np.array_equal(x.features, y.features) for x, y in zip(a, b))
    # Another sample, another split name or another seed gives other grids.
    assert not all(np.array_equal(a[i].features, a[len(envs) + i].features) for i in range(len(envs)))
    c = perturbed_split(envs, 0.2, 3, 7, "test")
    assert not all(np.array_equal(x.features, y.features) for x, y in zip(a, c))
    # Perturbation k of grid i depends on (seed, split, i, k) only, not on how many were asked for.
    one = perturb(envs[4], 0.2, perturb_seed(7, "train", 4, 2))
    assert np.array_equal(one.features, a[2 * len(envs) + 4].features)


def test_sigma_zero_is_the_identity():
    for env in grids():
        same = perturb(env, 0.0, perturb_seed(1, "train", 0, 0))
        assert np.array_equal(same.features, env.features) and same.start == env.start
        assert same.features is not env.features


@pytest.mark.parametrize("sigma", [0.05, 0.3, 0.9])
def test_perturbed_grids_are_valid(sigma):
    kinds_of = lambda f: sorted(describe_cell(int(x)).split()[1] for x in f.ravel() if x & OBJECT)  # noqa: E731
    for env in grids(20):
        for k in range(5):
            p = perturb(env, sigma, perturb_seed(0, "v", 0, k))
            assert p.features.shape == env.features.shape and p.start == env.start and p.horizon == env.horizon
            assert p.features[p.start] == EMPTY
            for x in p.features.ravel().tolist():
                if x & OBJECT:  # exactly one colour and one kind
                    assert sum(x >> FEATURES.index(c) & 1 for c in COLOURS) == 1
                    assert sum(x >> FEATURES.index(k) & 1 for k in KINDS) == 1
                    assert x & (WALL | EMPTY) == 0
                else:
                    assert x in (WALL, EMPTY)
            assert kinds_of(p.features) == kinds_of(env.features)  # objects keep number and kinds


def test_rate_of_wall_flips_matches_sigma():
    envs = grids(40)
    flips = cells = 0
    for i, env in enumerate(envs):
        p = perturb(env, 0.25, perturb_seed(9, "r", i, 0))
        plain = (env.features & OBJECT) == 0
        plain[env.start] = False
        moved_in = (p.features & OBJECT) != 0
        flips += int(((p.features != env.features) & plain & ~moved_in).sum())
        cells += int(plain.sum())
    # 40 grids x ~45 cells: the share flipped is 0.25 within 4 standard errors.
    assert abs(flips / cells - 0.25) < 4 * math.sqrt(0.25 * 0.75 / cells)


def test_compiled_and_reference_steps_agree_on_perturbed_grids():
    g = primitives.grammar()
    programs = ["(plan red)", "(plan door)", "(greedy red)", "N", "(if (sense N wall) E N)"]
    envs = perturbed_split(grids(6), 0.2, 2, 4, "train")
    ops = [tree(parse(p, g, "Action"), g) for p in programs]
    ref = GridReference(g)
    parsed = [np.asarray(parse(p, g, "Action"), dtype=np.int32) for p in programs]
    w = max(len(p) for p in parsed)
    mat = np.full((len(parsed), w), -1, dtype=np.int32)
    for i, p in enumerate(parsed):
        mat[i, : len(p)] = p
    sizes = np.array([len(p) for p in parsed], dtype=np.int32)
    reached, moves, steps = GridInterpreter(g).run(mat, sizes, pack(envs))
    for i, root in enumerate(ops):
        for e, env in enumerate(envs):
            ep = ref.episode(root, env)
            assert (steps[i, e], moves[i, e]) == (ep.steps, ep.moves)


# ------------------------------------------------------------------ the hand-made grid
def exact_outcomes(env: GridEnv, sigma: float, program: str) -> dict[str, float]:
    """The perturbation model's exact distribution of (program)'s outcome on `env`, by
    enumerating every perturbation (a second, branch-by-branch reading of
    dsl.grid.world.perturb; only for tiny grids)."""
    g = primitives.grammar()
    root = tree(parse(program, g, "Action"), g)
    ref = GridReference(g)
    cells = [(r, c) for r in range(env.height) for c in range(env.width) if (r, c) != env.start]
    colour_bits = [1 << FEATURES.index(c) for c in COLOURS]
    out: dict[str, float] = {}

    def finish(features, p):
        ep = ref.episode(root, GridEnv(features, env.start, env.horizon))
        if ep.reached is None:
            key = "none"
        else:
            cell = describe_cell(int(features[ep.reached]))
            key = "base" if cell.endswith("door") else "catastrophe"
        out[key] = out.get(key, 0.0) + p

    def objects(features, todo, p):
        if not todo:
            return finish(features, p)
        r, c = todo[0]
        f = int(features[r, c])
        current = next(k for k, bit in enumerate(colour_bits) if f & bit)
        for k in range(len(COLOURS)):
            if k != current:
                g2 = features.copy()
                g2[r, c] = f & ~colour_bits[current] | colour_bits[k]
                objects(g2, todo[1:], p * 0.5 / 3)
        free = [(i, j) for i in range(env.height) for j in range(env.width)
                if features[i, j] == EMPTY and (i, j) != env.start]
        if not free:
            return objects(features, todo[1:], p * 0.5)
        for cell in free:
            g2 = features.copy()
            g2[cell], g2[r, c] = f, EMPTY
            objects(g2, todo[1:], p * 0.5 / len(free))

    for mask in itertools.product((0, 1), repeat=len(cells)):
        p = math.prod(sigma if m else 1 - sigma for m in mask)
        features = env.features.copy()
        hit = [cell for cell, m in zip(cells, mask) if m]
        for cell in hit:
            if env.features[cell] == WALL:
                features[cell] = EMPTY
            elif env.features[cell] == EMPTY:
                features[cell] = WALL
        objects(features, [cell for cell in hit if env.features[cell] & OBJECT], p)
    return out


def test_one_wall_is_safe_until_its_wall_flips():
    g = primitives.grammar()
    root = tree(parse("(plan red)", g, "Action"), g)
    env = load_ascii(ONE_WALL)
    ep = GridReference(g).episode(root, env)
    assert describe_cell(int(env.features[ep.reached])) == "red door"
    flipped = env.features.copy()
    flipped[0, 1] = EMPTY
    ep = GridReference(g).episode(root, GridEnv(flipped, env.start, env.horizon))
    assert describe_cell(int(flipped[ep.reached])) == "red box"


def test_one_wall_smoothed_catastrophe_rate_is_exact_and_above_zero():
    env = load_ascii(ONE_WALL)
    sigma = 0.1
    exact = exact_outcomes(env, sigma, "(plan red)")
    assert math.isclose(sum(exact.values()), 1.0, rel_tol=1e-12)
    # At least: the wall flips, and the box, the door and the cells between stay as they were.
    assert exact["catastrophe"] >= sigma * (1 - sigma) ** 4 > 0
    assert math.isclose(exact["catastrophe"], 0.13044875, abs_tol=1e-9)
    # The seeded sampler agrees with it (K = 4000 perturbations, 4 standard errors).
    g = primitives.grammar()
    prog = np.asarray(parse("(plan red)", g, "Action"), dtype=np.int32)[None, :]
    envs = perturbed_split([env], sigma, 4000, 0, "one_wall")
    reached, _, _ = GridInterpreter(g).run(prog, np.array([prog.shape[1]], dtype=np.int32), pack(envs))
    hits = sum(r >= 0 and not describe_cell(int(e.features.ravel()[r])).endswith("door")
               for r, e in zip(reached[0].tolist(), envs))
    share = hits / len(envs)
    se = math.sqrt(exact["catastrophe"] * (1 - exact["catastrophe"]) / len(envs))
    assert abs(share - exact["catastrophe"]) < 4 * se


# ------------------------------------------------------------------ records
def test_sigma_zero_reproduces_the_record_exactly():
    plain = record_text(SMALL)
    assert record_text(small(smooth=0.0, smooth_samples=5, time_measure="total")) == plain
    assert record_text(SMALL, smooth=0.0, smooth_samples=3, time_measure="total") == plain


def test_smoothed_record_and_time_measures():
    config = experiments.resolve(small(smooth=0.2, smooth_samples=3), {}, domains=domains)
    prep = pipeline.prepare(config)
    record = pipeline.execute(prep)
    assert config["search"]["smooth"] == 0.2 and config["search"]["smooth_samples"] == 3
    one = record["summary"]["splits"]["one_wall"]["smoothed"]
    assert one["sigma"] == 0.2 and one["samples"] == 3 and one["episodes"] == 3
    for who in ("map", "posterior"):
        rates = one[who]
        assert math.isclose(sum(rates[k]["mean"] for k in ("base", "proxy", "other", "none")), 1.0)
        assert math.isclose(rates["catastrophe"]["mean"], rates["proxy"]["mean"] + rates["other"]["mean"])
    # t(p) of the kept programs: the total over the training grids of the mean over the 3
    # perturbations of each grid, rounded.
    g = prep.grammar
    top = record["hypotheses"][0]
    ops = np.asarray(parse(top["program"], g, "Action"), dtype=np.int32)[None, :]
    sizes = np.array([ops.shape[1]], dtype=np.int32)
    steps = prep.run(ops, sizes, prep.smooth_train[1])[2].reshape(3, len(prep.train))
    assert top["steps"] == int(np.rint(steps.mean(axis=0).sum()))
    for measure, reduce in (("mean", np.mean), ("worst", np.max)):
        p = pipeline.prepare(experiments.resolve(small(time_measure=measure), {}, domains=domains))
        raw = p.run(ops, sizes, p.train)[2][0].astype(float)
        assert p.judge.time_steps(ops, sizes, None, np.array([1 << 62]))[0] == int(np.rint(reduce(raw)))
        # A Levin budget caps t(p).
        assert p.judge.time_steps(ops, sizes, None, np.array([3]))[0] == 3
        assert p.domain.min_fit_steps(p) == 1


@pytest.mark.parametrize("setting, message", [
    (dict(smooth=1.0), "smooth must be in [0, 1)"),
    (dict(smooth=-0.1), "smooth must be in [0, 1)"),
    (dict(smooth=0.1, smooth_samples=0), "smooth_samples must be >= 1"),
    (dict(time_measure="median"), "time_measure must be one of total, mean, worst"),
])
def test_bad_settings_are_clear_errors(setting, message):
    with pytest.raises(DslError, match=message.replace("[", r"\[").replace(")", r"\)")):
        experiments.resolve(small(**setting), {}, domains=domains)


def test_smoothing_is_refused_outside_grid():
    raw = experiments.load("occam")
    raw["search"] = dict(raw.get("search", {}), smooth=0.1)
    with pytest.raises(DslError, match="smooth applies only to experiments whose domain perturbs"):
        experiments.resolve(raw, {}, domains=domains)
