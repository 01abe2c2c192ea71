"""One experiment end to end: config -> grammar -> enumerate -> fit -> analyse -> record.

The record is a plain JSON-able dict (schema "levinsearch.run/1"); `report` renders it
and `--json` prints it, so what is shown is exactly what was computed.
"""
from __future__ import annotations

import math
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numba
import numpy as np

from dsl.grammar import MBITS_PER_BIT, Grammar
from dsl.grid import kernels, primitives
from dsl.errors import DslError
from dsl.grid.world import (EMPTY as EMPTY_CELL, OBJECT, WALL, EnvBatch, GridEnv, describe_cell, generate, load_ascii,
                            object_features, pack, split_seed)
from dsl.reference import GridReference, tree
from dsl.syntax import parse, unparse
from levinsearch import analyse, consensus, score
from levinsearch.enumerate import Enumerator
from levinsearch.experiments import split_spec
from levinsearch.aggregate import Aggregate, Dyadic, ScoreRule, dyadic_terms
from levinsearch.fit import Domain, Progress, complete_mbits, judge_range

SCHEMA = "levinsearch.run/1"


def build_grammar(config: dict[str, Any]) -> Grammar:
    g = config["grammar"]
    return primitives.grammar(bits=g["bits"], ban=g["ban"], cost=g["cost"])


def build_split(name: str, split: dict[str, Any], seed: int, source: str | None,
                built: dict[str, list[GridEnv]] | None = None) -> list[GridEnv]:
    """The environments of one split: read from grids; copied from the split it is
    `like` with `trigger` objects added; or generated, a `variant` share of them from
    the variant's object settings. `built`: the splits made so far, by name."""
    if "grids" in split:
        base = Path(source).parent if source else Path.cwd()
        return [load_ascii(base / g, horizon=split["horizon"]) for g in split["grids"]]
    if "like" in split:
        original = (built or {}).get(split["like"])
        if original is None:
            raise DslError(f"split {name!r}: like = {split['like']!r} names no split defined before it")
        trigger = split.get("trigger", {})
        return [add_objects(env, trigger, split_seed(seed, name, i), f"{name}:{i}", split["horizon"])
                for i, env in enumerate(original)]
    variant = split.get("variant")
    if not variant:
        return generate(split_spec(name, split), seed)
    n_variant = int(round(variant["share"] * split["envs"]))
    main = generate(split_spec(name, dict(split, envs=split["envs"] - n_variant)), seed)
    other = dict(split, envs=n_variant, **{k: v for k, v in variant.items() if k in ("doors", "distractors")})
    return main + generate(split_spec(f"{name}.variant", other), seed)


def all_splits(config: dict[str, Any]) -> dict[str, list[GridEnv]]:
    """Every split's environments by name: train first, then the test splits in order."""
    built: dict[str, list[GridEnv]] = {}
    for name, split in [("train", config["train"]), *config["test"].items()]:
        built[name] = build_split(name, split, config["seed"], config.get("source"), built)
    return built


def add_objects(env: GridEnv, trigger: dict[str, Any], seed_seq, name: str, horizon: int) -> GridEnv:
    """A copy of env with `trigger` objects on random empty cells (not the start)."""
    rng = np.random.default_rng(seed_seq)
    features = env.features.copy()
    free = [(r, c) for r in range(env.height) for c in range(env.width)
            if features[r, c] == EMPTY_CELL and (r, c) != tuple(env.start)]
    count = int(trigger.get("count", 1)) if trigger else 0
    if count > len(free):
        raise DslError(f"split {name.split(':')[0]!r}: no room for {count} trigger objects")
    colours, kinds = trigger.get("colours", ["yellow"]), trigger.get("kinds", ["gem"])
    for k in rng.permutation(len(free))[:count]:
        colour = colours[rng.integers(len(colours))]
        kind = kinds[rng.integers(len(kinds))]
        features[free[k]] = object_features(colour, kind)
    return GridEnv(features, env.start, horizon, name=name)


def cell_mask(envs: list[GridEnv], batch: EnvBatch, predicate: str) -> np.ndarray:
    """Where `predicate` (Pred text) holds, bool [E, Hmax, Wmax]; padding is False."""
    plain = primitives.grammar()
    root = tree(parse(predicate, plain, "Pred"), plain)
    ref = GridReference(plain)
    # A predicate reads only a cell's features: evaluate it once per distinct value.
    values, inverse = np.unique(batch.features, return_inverse=True)
    truth = np.array([ref.pred(root, int(v)) for v in values], dtype=bool)
    mask = truth[inverse.reshape(batch.features.shape)]
    inside = np.zeros(batch.features.shape, dtype=bool)
    for k, env in enumerate(envs):
        inside[k, : env.height, : env.width] = True
    return mask & inside


def grid_fit_fn(grammar: Grammar, train: EnvBatch, base_cells: np.ndarray, max_failures: int):
    """The compiled fit kernel bound to the training environments."""
    t = kernels.kernel_tables(grammar)

    def fit(ops, sizes, caps):
        return kernels.fit_batch(ops, sizes, train.features, train.dims, train.starts, train.horizons,
                                 base_cells, np.int32(max_failures), caps, t["op_kind"], t["op_arg"],
                                 t["op_arity"], t["step_cost"])
    return fit


def run_programs(grammar: Grammar, ops: np.ndarray, sizes: np.ndarray, batch: EnvBatch):
    """Every program on every environment: (reached, moves, steps) arrays [n, E]."""
    t = kernels.kernel_tables(grammar)
    if len(ops) == 0:
        empty = np.zeros((0, len(batch)), dtype=np.int32)
        return empty, empty, empty.astype(np.int64)
    return kernels.run_batch(ops, sizes, batch.features, batch.dims, batch.starts, batch.horizons,
                             t["op_kind"], t["op_arg"], t["op_arity"], t["step_cost"])


@dataclass
class Prepared:
    """Everything a run needs, built and validated before any program runs."""

    config: dict[str, Any]
    grammar: Grammar
    enumerator: Enumerator
    train_envs: list[GridEnv]
    train: EnvBatch
    test_envs: dict[str, list[GridEnv]]
    tests: dict[str, EnvBatch]
    base_train: np.ndarray
    probe_envs: list[GridEnv]
    probes: EnvBatch
    goals: list[str]  # the goal family, shortest first
    goal_cells: np.ndarray  # bool [G, E, H, W]: probe object cells where each goal holds
    distances: dict[str, np.ndarray]  # per test split and "probes": int32 [E, H, W] from the start
    base_cells: dict[str, np.ndarray]  # per test split: bool [E, H, W]
    proxy_cells: dict[str, np.ndarray]


def prepare(config: dict[str, Any]):
    """Build the grammar, environments (or target) and enumerator; raise DslError on
    bad input. Returns a Prepared (grid) or seq_pipeline.SeqPrepared (seq)."""
    if config["domain"] == "seq":
        from levinsearch import seq_pipeline
        return seq_pipeline.prepare(config)
    grammar = build_grammar(config)
    seed = config["seed"]
    built = all_splits(config)
    train_envs = built["train"]
    train = pack(train_envs)
    test_envs = {name: built[name] for name in config["test"]}
    tests = {name: pack(envs) for name, envs in test_envs.items()}
    base_train = cell_mask(train_envs, train, config["base"])
    cell_mask(train_envs, train, config["proxy"])  # validates the proxy text early
    max_bits = config["search"]["max_bits"]
    enumerator = Enumerator(grammar, max_bits)
    if enumerator.total == 0:
        raise DslError(f"no program of {max_bits:g} bits or fewer exists in this grammar; raise max_bits")
    probe_envs = generate(split_spec("probes", config["analysis"]["probes"]), seed)
    probes = pack(probe_envs)
    goals = goal_family(config["analysis"]["goal_bits"])
    distances = {name: split_distances(envs, tests[name]) for name, envs in test_envs.items()}
    distances["probes"] = split_distances(probe_envs, probes)
    distances["train"] = split_distances(train_envs, train)
    return Prepared(config, grammar, enumerator, train_envs, train, test_envs, tests, base_train, probe_envs,
                    probes, goals, goal_mask(probe_envs, probes, goals), distances,
                    {name: cell_mask(envs, tests[name], config["base"]) for name, envs in test_envs.items()},
                    {name: cell_mask(envs, tests[name], config["proxy"]) for name, envs in test_envs.items()})


def goal_family(goal_bits: float) -> list[str]:
    """Every Pred expression of at most `goal_bits` bits in the default grammar, in
    enumeration order (the goals the goal-directedness analysis tries)."""
    plain = primitives.grammar()
    enumerator = Enumerator(plain, goal_bits, type_name="Pred")
    return [unparse(b.ops[i, : b.sizes[i]], plain) for b in enumerator.batches() for i in range(len(b))]


def goal_mask(envs: list[GridEnv], batch: EnvBatch, goals: list[str]) -> np.ndarray:
    """bool [G, E, H, W]: the object cells of each environment where each goal holds."""
    objects = (batch.features & OBJECT) != 0
    return np.stack([cell_mask(envs, batch, g) & objects for g in goals]) if goals else \
        np.zeros((0, *batch.features.shape), dtype=bool)


def split_distances(envs: list[GridEnv], batch: EnvBatch) -> np.ndarray:
    """int32 [E, H, W]: shortest moves from each environment's start (-1: unreachable)."""
    out = np.full(batch.features.shape, -1, dtype=np.int32)
    for k, env in enumerate(envs):
        out[k, : env.height, : env.width] = analyse.start_distances(env.features, env.start, WALL, OBJECT)
    return out


def grid_domain(prep: Prepared) -> Domain:
    """The grid's fit, behaviour and search functions for one prepared experiment."""
    s = prep.config["search"]
    max_failures = int(math.floor((1 - s["fit_threshold"]) * len(prep.train) + 1e-9))
    search_ids = np.array(analyse.search_production_ids(prep.grammar), dtype=np.int32)
    see_ids = np.array([i for i, p in enumerate(prep.grammar.productions) if p.name == "see"], dtype=np.int32)

    def behaviour(ops, sizes):
        # Reached cell and moves on every test and probe environment: what the analyses read.
        cols = []
        for batch in [*prep.tests.values(), prep.probes, *([prep.train] if _like_train(prep.config) else [])]:
            reached, moves, _ = run_programs(prep.grammar, ops, sizes, batch)
            cols += [reached, moves]
        return np.concatenate(cols, axis=1) if cols else np.zeros((len(ops), 0), dtype=np.int32)

    def structure(ops):
        return (np.isin(ops, search_ids).any(axis=1).astype(np.int64)
                | np.isin(ops, see_ids).any(axis=1).astype(np.int64) << 1)

    return Domain(grid_fit_fn(prep.grammar, prep.train, prep.base_train, max_failures), behaviour, structure,
                  STRUCTURE_FLAGS)


def _like_train(config: dict[str, Any]) -> bool:
    return any(split.get("like") == "train" for split in config["test"].values())


def score_rule(config: dict[str, Any]) -> ScoreRule:
    s = config["search"]
    return ScoreRule(s["length_weight"], s["time_weight"], s["time_penalty"])


#: Structural flags of a grid program: bit 0 contains search (plan, greedy), bit 1 uses see.
STRUCTURE_FLAGS = ("search", "see")


def new_aggregate(prep) -> Aggregate:
    if prep.config["domain"] == "seq":
        from levinsearch import seq_pipeline
        return seq_pipeline.new_aggregate(prep)
    return Aggregate(max(prep.enumerator.max_nodes, 1), prep.config["search"]["keep"], 1 << len(STRUCTURE_FLAGS))


def search(prep: Prepared, *, agg: Aggregate | None = None, start: int = 0, progress: Progress | None = None,
           should_stop: Callable[[], bool] | None = None, after_batch: Callable[[Aggregate, int], None] | None = None,
           stop: int | None = None) -> tuple[Aggregate, int]:
    """Judge programs start..stop-1 (default: all) on this machine; return the summary
    and the index of the first program not judged."""
    agg = agg if agg is not None else new_aggregate(prep)
    s = prep.config["search"]
    domain = prep.domain if prep.config["domain"] == "seq" else grid_domain(prep)
    position = judge_range(prep.enumerator, domain, score_rule(prep.config), agg, order=s["order"],
                           batch_size=s["batch_size"], start=start, stop=stop, progress=progress,
                           should_stop=should_stop,
                           after_batch=(lambda pos: after_batch(agg, pos)) if after_batch else None)
    return agg, position


def execute(prep: Prepared, progress: Progress | None = None, **options) -> dict[str, Any]:
    """Enumerate, fit and analyse; return the run record (options: see `search`)."""
    agg, position = search(prep, progress=progress, **options)
    return build_record(prep, agg, position=position)


def run_experiment(config: dict[str, Any], progress: Progress | None = None) -> dict[str, Any]:
    """Run a resolved experiment; return its record (the Python API's entry point)."""
    return execute(prepare(config), progress)


def analyse_programs(prep: Prepared, ops: np.ndarray, sizes: np.ndarray, chunk: int = 256) -> dict[str, Any]:
    """Everything the analyses say about each program, from its test and probe episodes:
    per split the share of episodes per outcome [n, 4] and the outcome class [n]; the
    inferred goal (index into prep.goals) and goal-directedness score [n]."""
    a = prep.config["analysis"]
    out: dict[str, Any] = dict(fractions={}, classes={}, changed={})
    reached_by_split = {}
    if _like_train(prep.config):
        # A split copies the training grids: classes there too, to compare against.
        reached, moves, _ = run_programs(prep.grammar, ops, sizes, prep.train)
        reached_by_split["train"] = reached
        out["classes"]["train"] = analyse.outcome_classes(reached, moves, prep.train.dims, prep.distances["train"],
                                                          prep.base_train, a["class_threshold"], a["competence"])
    for name, batch in prep.tests.items():
        reached, moves, _ = run_programs(prep.grammar, ops, sizes, batch)
        reached_by_split[name] = reached
        like = prep.config["test"][name].get("like")
        if like is not None:
            # Same layouts as `like`, plus trigger objects: how often does the program act differently?
            out["changed"][name] = (reached != reached_by_split[like]).mean(axis=1) if reached.shape[1] else \
                np.zeros(len(reached))
        outcomes = analyse.episode_outcomes(reached, batch.dims, prep.base_cells[name], prep.proxy_cells[name])
        out["fractions"][name] = analyse.outcome_fractions(outcomes)
        out["classes"][name] = analyse.outcome_classes(reached, moves, batch.dims, prep.distances[name],
                                                       prep.base_cells[name], a["class_threshold"], a["competence"])
    reached, moves, _ = run_programs(prep.grammar, ops, sizes, prep.probes)
    goal = np.zeros(len(ops), dtype=np.int64)
    goal_score = np.zeros(len(ops))
    for i in range(0, len(ops), chunk):  # bounded memory: [G, chunk, E] at a time
        part = slice(i, i + chunk)
        goal[part], goal_score[part], _ = analyse.goal_directedness(
            reached[part], moves[part], prep.probes.dims, prep.distances["probes"], prep.goal_cells,
            a["goal_min_share"])
    out["goal"], out["goal_score"] = goal, goal_score
    return out


def _outcome_dict(fractions: np.ndarray) -> dict[str, float]:
    return dict(zip(analyse.OUTCOMES, (round(float(x), 6) for x in fractions)))


def _program_analysis(prep: Prepared, analysis: dict[str, Any], i: int) -> dict[str, Any]:
    """The record fields of program i of an `analyse_programs` result."""
    return dict(
        test={name: _outcome_dict(f[i]) for name, f in analysis["fractions"].items()},
        outcome_class={name: analyse.CLASSES[int(c[i])] for name, c in analysis["classes"].items()},
        changed={name: round(float(c[i]), 6) for name, c in analysis["changed"].items()},
        inferred_goal=prep.goals[int(analysis["goal"][i])] if prep.goals else None,
        goal_directedness=round(float(analysis["goal_score"][i]), 6),
    )


def enumeration_section(prep, agg: Aggregate, position: int) -> tuple[dict[str, Any], float | None]:
    """The record's `enumeration` part (any domain), and the bound on unseen mass."""
    grammar, enumerator, s = prep.grammar, prep.enumerator, prep.config["search"]
    kraft_low, kraft_high = grammar.kraft_total()
    complete = complete_mbits(enumerator, agg)
    complete_bits = complete / MBITS_PER_BIT
    enumerated_mass = sum(m for length, _, m in grammar.kraft_by_length(s["max_bits"]) if length <= complete)
    unenumerated = max(0.0, kraft_high - enumerated_mass)
    seen_mass = float(agg.total_mass)
    bound = score.unseen_mass_bound(s["order"], unenumerated, agg.uncertified, complete_bits,
                                    s["length_weight"], s["time_weight"])
    by_level = agg.behaviours_by_level()
    enumeration = dict(
        order=s["order"],
        max_bits=s["max_bits"],
        programs=agg.programs,
        total=enumerator.total,
        fitting=agg.fitting,
        behaviours=agg.behaviours,
        complete_up_to_score=score.complete_up_to_score(s["order"], complete_bits, s["length_weight"],
                                                        s["time_weight"]),
        complete_up_to_bits=complete_bits,
        unenumerated_mass=unenumerated,
        kraft_sum=kraft_high,
        fitting_mass=seen_mass,
        posterior_uncertainty=(bound / (seen_mass + bound) if bound is not None and seen_mass + bound > 0
                               else None),
        seconds=round(sum(row[2] for row in agg.levels.values()), 3),
        interrupted=position < enumerator.total,
        next_index=position,
        per_length=[dict(bits=m / MBITS_PER_BIT, programs=p, fitting=f, behaviours=by_level[m],
                         seconds=round(sec, 3)) for m, (p, f, sec) in sorted(agg.levels.items())],
    )
    if s["order"] == "levin":
        enumeration["levin_steps"] = agg.levin_steps
        enumeration["uncertified"] = agg.uncertified
    return enumeration, bound


def build_record(prep, agg: Aggregate, position: int | None = None) -> dict[str, Any]:
    """The run record from a summary of the judged programs (see README: JSON output);
    `position`: the first program not judged (default: all were)."""
    position = prep.enumerator.total if position is None else position
    if prep.config["domain"] == "seq":
        from levinsearch import seq_pipeline
        return seq_pipeline.build_record(prep, agg, enumeration_section(prep, agg, position)[0])
    config, grammar = prep.config, prep.grammar
    s = config["search"]
    total = agg.total_mass

    top = agg.top
    analysis = analyse_programs(prep, top.ops, top.sizes)
    hypotheses = []
    for i in range(len(top)):
        ops = top.ops[i, : top.sizes[i]]
        structure = analyse.search_structure(ops, grammar)
        entry = dict(
            rank=i + 1,
            program=unparse(ops, grammar),
            bits=round(int(top.mbits[i]) / MBITS_PER_BIT, 3),
            steps=int(top.steps[i]),
            score=round(float(top.score[i]), 6),
            posterior=program_mass(top.score[i]).ratio(total),
            search=structure.search,
            search_constructs=structure.constructs,
            mesa_objective=structure.mesa_objectives,
            train_success=round(int(top.successes[i]) / len(prep.train), 6),
            enumeration_index=int(top.rank[i]),
            **_program_analysis(prep, analysis, i),
        )
        if s["order"] == "levin":
            entry["phase"] = score.levin_phase(int(top.mbits[i]), int(top.steps[i]))
        hypotheses.append(entry)

    enumeration, bound = enumeration_section(prep, agg, position)
    behaviours = _behaviours(prep, agg, bound)
    return dict(
        schema=SCHEMA,
        experiment=config["name"],
        domain=config["domain"],
        description=config["description"],
        config=config,
        grammar=grammar.describe(),
        environments=dict(train=len(prep.train), test={name: len(b) for name, b in prep.tests.items()}),
        enumeration=enumeration,
        hypotheses=hypotheses,
        behaviours=behaviours,
        summary=summarise(prep, hypotheses, behaviours, agg, list(prep.tests), config["analysis"],
                          {name: split.get("like") for name, split in config["test"].items()}),
        goals=dict(family=len(prep.goals), probes=len(prep.probes)),
        versions=versions(),
    )


def versions() -> dict[str, str]:
    return dict(python=platform.python_version(), numpy=np.__version__, numba=numba.__version__)


def program_mass(program_score: float) -> Dyadic:
    """A program's prior mass 2^-score, exactly."""
    m, k = dyadic_terms(np.array([program_score], dtype=np.float64))
    return Dyadic(int(m[0]), int(k[0]))


def _behaviours(prep: Prepared, agg: Aggregate, unseen_bound: float | None) -> list[dict[str, Any]]:
    """One entry per distinct behaviour, best first: its mass (with the range the unseen
    programs allow), count and analyses, computed once on its best program."""
    reps = agg.representatives
    order = agg.canonical_order()
    analysis = analyse_programs(prep, reps.ops[order], reps.sizes[order])
    seen = float(agg.total_mass)
    out = []
    for j, g in enumerate(order):
        ops = reps.ops[g, : reps.sizes[g]]
        mass = agg.group_mass(g)
        h1, h2 = agg.key_of(g)
        entry = dict(
            key=f"{h1:016x}{h2:016x}",
            program=unparse(ops, prep.grammar),
            score=round(float(reps.score[g]), 6),
            programs=int(agg.count[g].sum()),
            search_programs=agg.flag_count(g, 0),
            see_programs=agg.flag_count(g, 1),
            prior_mass=float(mass),
            posterior=mass.ratio(agg.total_mass),
            search_posterior=agg.flag_mass(g, 0).ratio(agg.total_mass),
            see_posterior=agg.flag_mass(g, 1).ratio(agg.total_mass),
            posterior_range=None,
            **_program_analysis(prep, analysis, j),
        )
        if unseen_bound is not None and seen + unseen_bound > 0:
            # Unseen fitting programs could add at most `unseen_bound` to any behaviour.
            entry["posterior_range"] = [float(mass) / (seen + unseen_bound),
                                        (float(mass) + unseen_bound) / (seen + unseen_bound)]
        out.append(entry)
    return out


def _mass_table(weights: np.ndarray, counts: np.ndarray, labels: np.ndarray, names) -> dict[str, dict]:
    return {name: dict(mass=float(weights[labels == j].sum()), count=int(counts[labels == j].sum()))
            for j, name in enumerate(names)}


def _defection(behaviours: list[dict], name: str, like: str | None, post: np.ndarray,
               count: np.ndarray) -> dict[str, Any]:
    """On a split that copies `like` and adds trigger objects: the posterior share of
    episodes that change, and the programs robust on `like` but not here (treacherous)."""
    changed = np.array([b["changed"][name] for b in behaviours])
    robust_before = np.array([like is not None and like in b["outcome_class"]
                              and b["outcome_class"][like] == "robust" for b in behaviours], dtype=bool)
    robust_after = np.array([b["outcome_class"][name] == "robust" for b in behaviours], dtype=bool)
    treacherous = robust_before & ~robust_after
    see = np.array([b["see_posterior"] for b in behaviours])
    return dict(like=like, changed_share=float(post @ changed), changed_mass=float(post[changed > 0].sum()),
                treacherous_mass=float(post[treacherous].sum()), treacherous_count=int(count[treacherous].sum()),
                treacherous_see_mass=float(see[treacherous].sum()), see_mass=float(see.sum()))


def _consensus_rules(analysis: dict[str, Any]) -> list[tuple[str, float]]:
    return [(rule, v) for rule, key in (("top", "consensus_top"), ("mass", "consensus_epsilon"),
                                        ("ratio", "consensus_alpha")) for v in analysis.get(key, [])]


def _grid_consensus(prep: Prepared, agg: Aggregate, behaviours: list[dict], split: str) -> list[dict[str, Any]]:
    """The consensus agent on one test split, for every configured trusted-set rule;
    hypotheses are the distinct behaviours (their best programs), weighted by posterior."""
    reps = agg.representatives
    order = agg.canonical_order()
    programs = [reps.ops[g, : reps.sizes[g]] for g in order]
    weights = np.array([b["posterior"] for b in behaviours])
    rows = []
    for rule, value in _consensus_rules(prep.config["analysis"]):
        result = consensus.grid_consensus(programs, weights, prep.test_envs[split], prep.grammar, rule, value,
                                          list(prep.base_cells[split]))
        rows.append(dict(rule=rule, value=value, size=len(result["members"]),
                         members=[behaviours[int(i)]["program"] for i in result["members"]][:20],
                         catastrophes=int(result["catastrophes"]),
                         catastrophe_share=result["catastrophes"] / max(len(prep.test_envs[split]), 1),
                         queries_per_episode=float(result["queries_per_episode"]),
                         base_reached_share=float(result["base_reached_share"])))
    return rows


def summarise(prep, hypotheses: list[dict], behaviours: list[dict], agg: Aggregate, splits: list[str],
              analysis: dict[str, Any], splits_like: dict[str, str | None] | None = None) -> dict[str, Any]:
    """Posterior-weighted shares over every fitting program (through its behaviour
    group): outcomes, outcome classes, search, goal-directedness, MAP vs mixture."""
    splits_like = splits_like or {}
    post = np.array([b["posterior"] for b in behaviours])
    post_search = np.array([b["search_posterior"] for b in behaviours])
    count = np.array([b["programs"] for b in behaviours], dtype=np.int64)
    count_search = np.array([b["search_programs"] for b in behaviours], dtype=np.int64)
    search_mass = _sum(agg.flag_mass(g, 0) for g in range(agg.behaviours)).ratio(agg.total_mass)
    see_mass = _sum(agg.flag_mass(g, 1) for g in range(agg.behaviours)).ratio(agg.total_mass)
    prior_total = float(agg.total_mass)
    within, within_count = agg.mass_within(analysis["mixture_bits"])
    out: dict[str, Any] = dict(
        fitting=agg.fitting,
        behaviours=len(behaviours),
        map_program=hypotheses[0]["program"] if hypotheses else None,
        map_posterior=hypotheses[0]["posterior"] if hypotheses else None,
        mixture=dict(bits=analysis["mixture_bits"], posterior=within.ratio(agg.total_mass), programs=within_count),
        search_mass=search_mass,
        search_count=int(count_search.sum()),
        see_mass=see_mass,
        splits={},
    )
    high = np.array([b["goal_directedness"] >= analysis["goal_directed"] for b in behaviours], dtype=bool)
    out["goal_confusion"] = {
        f"{s_label}/{g_label}": dict(mass=float(w[sel].sum()), count=int(c[sel].sum()))
        for s_label, w, c in (("search", post_search, count_search), ("no_search", post - post_search,
                                                                      count - count_search))
        for g_label, sel in (("high", high), ("low", ~high))
    }
    for name in splits:
        frac = np.array([[b["test"][name][k] for k in analyse.OUTCOMES] for b in behaviours]).reshape(-1, 4)
        dominant = analyse.dominant_outcome(frac) if len(frac) else np.zeros(0, dtype=int)
        classes = np.array([analyse.CLASSES.index(b["outcome_class"][name]) for b in behaviours], dtype=int)
        split: dict[str, Any] = {
            "outcome_mass": {k: float(post @ frac[:, j]) if len(post) else 0.0
                             for j, k in enumerate(analyse.OUTCOMES)},
            "dominant_mass": {k: float(post[dominant == j].sum()) for j, k in enumerate(analyse.OUTCOMES)},
            "dominant_count": {k: int(count[dominant == j].sum()) for j, k in enumerate(analyse.OUTCOMES)},
            "classes": _mass_table(post, count, classes, analyse.CLASSES),
        }
        for row in split["classes"].values():
            row["prior_mass"] = row["mass"] * prior_total
        if behaviours and _consensus_rules(analysis):
            split["consensus"] = _grid_consensus(prep, agg, behaviours, name)
        like = behaviours[0]["changed"].get(name) is not None if behaviours else False
        if like:
            split["defection"] = _defection(behaviours, name, splits_like[name], post, count)
        for label, weights, n in (("search", post_search, count_search.sum()),
                                  ("no_search", post - post_search, (count - count_search).sum())):
            mass = float(weights.sum()) if len(weights) else 0.0
            split[label] = dict(
                mass=mass,
                count=int(n),
                outcome_share={k: (float(weights @ frac[:, j]) / mass if mass > 0 else None)
                               for j, k in enumerate(analyse.OUTCOMES)},
                class_share={k: (float(weights[classes == j].sum()) / mass if mass > 0 else None)
                             for j, k in enumerate(analyse.CLASSES)},
            )
        out["splits"][name] = split
    return out


def _sum(values) -> Dyadic:
    total = Dyadic()
    for v in values:
        total = total + v
    return total


# ------------------------------------------------------------------ other commands
def grammar_record(grammar: Grammar, domain: str = "grid") -> dict[str, Any]:
    """What `levinsearch dsl` prints: productions with bits and step costs."""
    return dict(
        schema="levinsearch.dsl/1",
        domain=domain,
        start=grammar.start,
        types=list(grammar.types),
        kraft_sum=grammar.kraft_total()[1],
        productions=grammar.describe(),
    )


def enumeration_record(grammar: Grammar, max_bits: float, *, limit: int | None = None,
                       counts: bool = False, domain: str = "grid") -> dict[str, Any]:
    """What `levinsearch enumerate` prints: programs in order, or counts per length."""
    enumerator = Enumerator(grammar, max_bits)
    record: dict[str, Any] = dict(schema="levinsearch.enumerate/1", domain=domain, max_bits=max_bits,
                                  total=enumerator.total)
    if counts:
        rows, n, m = [], 0, 0.0
        for length, count, kraft in grammar.kraft_by_length(max_bits):
            n += count
            m += kraft
            rows.append(dict(bits=length / MBITS_PER_BIT, programs=count, kraft_mass=kraft,
                             cumulative_programs=n, cumulative_mass=m))
        record["counts"] = rows
        return record
    programs = []
    wanted = enumerator.total if limit is None else min(limit, enumerator.total)
    for batch in enumerator.batches(batch_size=min(max(wanted, 1), 1 << 15)):
        for i in range(len(batch)):
            if len(programs) >= wanted:
                break
            programs.append(dict(index=batch.first_index + i, bits=batch.mbits / MBITS_PER_BIT,
                                 program=unparse(batch.ops[i, : batch.sizes[i]], grammar)))
        if len(programs) >= wanted:
            break
    record["programs"] = programs
    return record


def show_record(grammar: Grammar, program: str, env: GridEnv, *, base: str | None = None,
                proxy: str | None = None) -> dict[str, Any]:
    """One program on one environment, run by the compiled interpreter; the path is
    traced by the reference interpreter (the two agree: tests/test_grid_parity.py)."""
    ops = parse(program, grammar)
    batch = pack([env])
    reached, moves, steps = run_programs(grammar, ops[None, :].astype(np.int32),
                                         np.array([len(ops)], dtype=np.int32), batch)
    episode = GridReference(grammar).episode(ops, env)
    cell = int(reached[0, 0])
    record: dict[str, Any] = dict(
        schema="levinsearch.show/1",
        program=unparse(ops, grammar),
        bits=grammar.program_bits(ops),
        environment=env.name,
        horizon=env.horizon,
        steps=int(steps[0, 0]),
        moves=int(moves[0, 0]),
        reached=None,
        path=[list(p) for p in episode.path],
        grid=[_row_text(env, r) for r in range(env.height)],
        objects=[dict(row=r, column=c, object=o) for r, c, o in env.objects()],
    )
    if cell >= 0:
        r, c = divmod(cell, env.width)
        record["reached"] = dict(row=r, column=c, object=describe_cell(env.cell(r, c)))
    if base and proxy:
        outcomes = analyse.episode_outcomes(reached, batch.dims, cell_mask([env], batch, base),
                                            cell_mask([env], batch, proxy))
        record["outcome"] = analyse.OUTCOMES[int(outcomes[0, 0])]
    return record


def _row_text(env: GridEnv, r: int) -> str:
    return "".join("#" if env.features[r, c] & WALL else "." for c in range(env.width))
