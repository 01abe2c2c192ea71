"""The grid domain's data: training, test and probe environments, the objective's
cells, the goal family, and the fit and behaviour functions the search runs.

Everything here is built once per run, before any program runs (`prepare`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dsl.errors import DslError
from dsl.grid import pair, primitives
from dsl.grid.interpreter import GridInterpreter, Trace
from dsl.grid.reference import GridReference
from dsl.grid.world import (EMPTY as EMPTY_CELL, OBJECT, WALL, EnvBatch, GridEnv, generate, load_ascii, mark_cue,
                            object_features, pack, split_seed)
from dsl.syntax import parse, unparse
from dsl.tree import tree
from levinsearch import score
from levinsearch.analyse import search_production_ids
from levinsearch.domains.base import Prepared, make_enumerator
from levinsearch.config import smooth_settings
from levinsearch.domains.grid import analyse, smooth
from levinsearch.domains.grid.config import split_spec
from levinsearch.enumerate import Enumerator
from levinsearch.fit import Judge

#: Flags of a grid program: bit 0 contains search (a construct named in [analysis]
#: search; default plan, greedy), bit 1 uses see, bit 2 searches in execution (on the
#: test and probe grids, at least [analysis] execution_search of its decisions came from
#: a construct that examined hypothetical states). Under the `history` profile a fourth,
#: bit 3: reads the episode's trajectory (`visited`; HISTORY_FLAG).
STRUCTURE_FLAGS = ("search", "see", "executes_search")
HISTORY_FLAG = 3


def history_productions(grammar) -> np.ndarray:
    """Ids of the productions that make a program a history reader (`visited`); empty
    outside the history profile."""
    return np.array([i for i, p in enumerate(grammar.productions) if p.name in primitives.HISTORY_NAMES],
                    dtype=np.int32)


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
    if env.cue:  # the copy keeps its cue; added objects of the cue's colour are cued too
        features = mark_cue(features, env.cue)
    return GridEnv(features, env.start, horizon, name=name, cue=env.cue)


def cell_mask(envs: list[GridEnv], batch: EnvBatch, predicate: str) -> np.ndarray:
    """Where `predicate` (Pred text) holds, bool [E, Hmax, Wmax]; padding is False. The
    text may use `cued` (the objective a grid's cue names), whatever the run's profile."""
    plain = primitives.grammar(profile="cued")
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


@dataclass
class GridPrepared(Prepared):
    """Everything a grid run needs, built and validated before any program runs."""

    interpreter: GridInterpreter
    train_envs: list[GridEnv]
    train: EnvBatch
    test_envs: dict[str, list[GridEnv]]
    tests: dict[str, EnvBatch]
    base_train: np.ndarray
    probe_envs: list[GridEnv]
    probes: EnvBatch
    goals: list[str]  # the goal family, shortest first
    goal_cells: np.ndarray  # bool [G, E, H, W]: probe object cells where each goal holds
    distances: dict[str, np.ndarray]  # per test split, "probes" and "train": int32 [E, H, W] from the start
    base_cells: dict[str, np.ndarray]  # per test split: bool [E, H, W]
    proxy_cells: dict[str, np.ndarray]
    goal_bits: np.ndarray | None = None  # float [G]: description bits of each goal (its prior)
    # [search] smooth > 0 (levinsearch/domains/grid/smooth.py): the K perturbations of the
    # training grids and of each test split (grids, batch), and each perturbed test
    # split's base and proxy cells.
    smooth_train: tuple[list[GridEnv], EnvBatch] | None = None
    smooth_tests: dict[str, tuple[list[GridEnv], EnvBatch]] | None = None
    smooth_cells: dict[str, tuple[np.ndarray, np.ndarray]] | None = None
    # Predict profiles (programs are pairs, dsl.grid.pair): the parts' grammar and the
    # other character's steps on the training grids (none: no character). None otherwise.
    part_grammar: Any = None
    character: pair.Character | None = None

    @property
    def pairs(self) -> bool:
        """Whether programs are (pair P A) of a predict profile."""
        return self.part_grammar is not None

    def new_aggregate(self):
        agg = super().new_aggregate()
        if self.pairs:
            agg.keep_fitting()  # the record's K(policy) and K(policy | world) read every fitting program
        return agg

    def agency_tables(self) -> analyse.AgencyTables:
        """The probe grids' and goal family's part of the agent-or-device analysis (built
        on first use, then kept)."""
        if getattr(self, "_agency", None) is None:
            self._agency = analyse.agency_tables(self.probe_envs, self.goal_cells, self.goal_bits, WALL, OBJECT)
        return self._agency

    def run(self, ops: np.ndarray, sizes: np.ndarray, batch: EnvBatch):
        """Every program on every environment of `batch`: (reached, moves, steps) [n, E]."""
        return self.interpreter.run(ops, sizes, batch)

    def run_traced(self, ops: np.ndarray, sizes: np.ndarray, batch: EnvBatch) -> Trace:
        """`run` with the lookahead counts (dsl.grid.interpreter.Trace)."""
        return self.interpreter.run_traced(ops, sizes, batch)

    def execution_search(self, traces: list[Trace]) -> analyse.ExecutionSearch:
        """Search measured from execution, pooled over the episodes of `traces` (the test
        splits and the probes), with the run's threshold."""
        cat = lambda field: np.concatenate([getattr(t, field) for t in traces], axis=1)  # noqa: E731
        return analyse.execution_search(cat("lookahead"), cat("lookahead_decisions"), cat("decisions"),
                                        self.config["analysis"]["execution_search"])


def prepare(domain, config: dict[str, Any]) -> GridPrepared:
    """Build the grammar, environments and enumerator; raise DslError on bad input."""
    grammar = domain.build_grammar(config)
    seed = config["seed"]
    built = all_splits(config)
    train_envs = built["train"]
    train = pack(train_envs)
    test_envs = {name: built[name] for name in config["test"]}
    tests = {name: pack(envs) for name, envs in test_envs.items()}
    base_train = cell_mask(train_envs, train, config["base"])
    cell_mask(train_envs, train, config["proxy"])  # validates the proxy text early
    enumerator = make_enumerator(grammar, config["search"]["max_bits"])
    probe_envs = generate(split_spec("probes", config["analysis"]["probes"]), seed)
    probes = pack(probe_envs)
    goals = goal_family(config["analysis"]["goal_bits"])
    distances = {name: split_distances(envs, tests[name]) for name, envs in test_envs.items()}
    distances["probes"] = split_distances(probe_envs, probes)
    distances["train"] = split_distances(train_envs, train)
    profile = config["grammar"].get("profile")
    interpreter = pair.PairInterpreter(grammar) if profile in primitives.PAIR_PROFILES else GridInterpreter(grammar)
    prep = GridPrepared(config, grammar, enumerator, domain, None, interpreter, train_envs, train, test_envs,
                        tests, base_train, probe_envs, probes, goals, goal_mask(probe_envs, probes, goals), distances,
                        {name: cell_mask(envs, tests[name], config["base"]) for name, envs in test_envs.items()},
                        {name: cell_mask(envs, tests[name], config["proxy"]) for name, envs in test_envs.items()})
    plain = primitives.grammar()
    prep.goal_bits = np.array([plain.program_bits(parse(g, plain, "Pred")) for g in goals], dtype=np.float64)
    if profile in primitives.PAIR_PROFILES:
        prep.part_grammar, prep.character = other_character(config, grammar, train_envs)
    prep.smooth_train = smooth.perturbed(train_envs, config, "train")
    if prep.smooth_train is not None:
        prep.smooth_tests = {name: smooth.perturbed(envs, config, name) for name, envs in test_envs.items()}
        prep.smooth_cells = {name: (cell_mask(envs, batch, config["base"]), cell_mask(envs, batch, config["proxy"]))
                             for name, (envs, batch) in prep.smooth_tests.items()}
    prep.judge = judge(prep)
    return prep


def part_grammar(config: dict[str, Any], grammar) -> Any:
    """The grammar of a pair's parts: the predict profile's part profile with the run's
    step costs (the parts are run with the pair grammar's tables; their ids agree)."""
    part = primitives.PAIR_PROFILES[config["grammar"]["profile"]]
    costs = {grammar.productions[i].qualified: grammar.step_cost[i] for i in range(len(grammar.productions))
             if not grammar.productions[i].base and not grammar.productions[i].role
             and grammar.productions[i].type != "Pair"}
    return primitives.grammar(profile=part, cost=costs)


def other_character(config: dict[str, Any], grammar, train_envs: list[GridEnv]):
    """(the parts' grammar, the other character on the training grids): its start on each
    grid is a random empty cell other than the learner's (seeded by the run's seed); with
    no [character] rule, a character with no steps (nothing to predict)."""
    part = part_grammar(config, grammar)
    rule = config.get("character", {}).get("rule", "")
    if not rule:
        return part, pair.Character([], None, np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32), [])
    starts = [pair.character_start(env, np.random.default_rng(split_seed(config["seed"], "character", k)))
              for k, env in enumerate(train_envs)]
    return part, pair.character(parse(rule, part, "Action"), part, train_envs, starts)


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
        out[k, : env.height, : env.width] = analyse.start_distances(env.features, env.start)
    return out


def judge(prep: GridPrepared) -> Judge:
    """The grid's fit, behaviour and structure functions for one prepared experiment."""
    s = prep.config["search"]
    max_failures = score.max_errors(len(prep.train), s["fit_threshold"], s.get("noise", 0.0))
    # Structure is read from the policy (a pair's second part, in the parts' grammar).
    read = prep.part_grammar if prep.pairs else prep.grammar
    search_ids = np.array(search_production_ids(read, prep.config["analysis"]["search"]), dtype=np.int32)
    see_ids = np.array([i for i, p in enumerate(read.productions) if p.name == "see"], dtype=np.int32)
    history_ids = history_productions(prep.grammar)
    flags = STRUCTURE_FLAGS + (("history",) if len(history_ids) else ())
    traced_batches = [*prep.tests.values(), prep.probes]
    extra_batches = [prep.train] if like_train(prep.config) else []
    last: dict[str, Any] = {}

    def traced(ops):
        # The test and probe episodes of a batch of fitting programs, run once for both
        # `behaviour` and `structure` (the search calls both on the same ops array).
        if last.get("ops") is not ops:
            sizes = (ops >= 0).sum(axis=1).astype(np.int32)
            last.update(ops=ops, traces=[prep.run_traced(ops, sizes, b) for b in traced_batches])
        return last["traces"]

    def fit(ops, sizes, caps):
        return prep.interpreter.fit(ops, sizes, prep.train, prep.base_train, max_failures, caps)

    if prep.pairs:
        fit = pair_fit(prep, max_failures)

    def behaviour(ops, sizes):
        # Reached cell and moves on every test and probe environment: what the analyses read.
        cols = []
        for t in traced(ops):
            cols += [t.reached, t.moves]
        for batch in extra_batches:
            reached, moves, _ = prep.run(ops, sizes, batch)
            cols += [reached, moves]
        return np.concatenate(cols, axis=1) if cols else np.zeros((len(ops), 0), dtype=np.int32)

    def structure(ops):
        executes = prep.execution_search(traced(ops)).searches
        if prep.pairs:
            ops = prep.interpreter.policy(ops, (ops >= 0).sum(axis=1).astype(np.int32))[0]
        out = (np.isin(ops, search_ids).any(axis=1).astype(np.int64)
               | np.isin(ops, see_ids).any(axis=1).astype(np.int64) << 1
               | executes.astype(np.int64) << 2)
        if len(history_ids):  # bit 3: reads the trajectory (history profile only)
            out |= np.isin(ops, history_ids).any(axis=1).astype(np.int64) << HISTORY_FLAG
        return out

    return Judge(fit, behaviour, structure, flags, trials(prep), smooth.time_steps(prep))


def trials(prep: GridPrepared) -> int:
    """What a program is judged on: the training grids, and under a predict profile the
    other character's steps there (each a prediction)."""
    return len(prep.train) + (len(prep.character.target) if prep.pairs else 0)


def pair_fit(prep: GridPrepared, policy_failures: int):
    """The fit of pair programs: the policy fits the training grids as any grid program
    (at most `policy_failures` of them missed) and the predictor's wrong predictions of
    the character's next cell count as errors too: the pair fits when its errors over
    both are within the run's cut for `trials(prep)` (exact fit: none; under noise every
    wrong prediction costs the exception bits of a wrong episode). Successes are the
    grids reached plus the right predictions; steps are both parts' simulated steps."""
    s = prep.config["search"]
    n = trials(prep)
    joint_failures = score.max_errors(n, s["fit_threshold"], s.get("noise", 0.0))
    char = prep.character

    def fit(ops, sizes, caps):
        pred, pred_sizes, pol, pol_sizes = pair.split_batch(ops, sizes, prep.grammar)
        fits, successes, steps = prep.interpreter.parts.fit(pol, pol_sizes, prep.train, prep.base_train,
                                                            policy_failures, caps)
        right = np.zeros(len(ops), dtype=np.int32)
        more = np.zeros(len(ops), dtype=np.int64)
        idx = np.flatnonzero(fits)  # predictions only for policies that fit
        right[idx], more[idx] = prep.interpreter.predict_parts(pred[idx], pred_sizes[idx], char)
        successes = successes + right
        steps = steps + more
        fits = fits & (n - successes <= joint_failures) & (steps <= caps)
        return fits, successes.astype(np.int32), steps

    return fit


def reference_judge(prep: GridPrepared) -> Judge:
    """`judge(prep)` computed by the reference interpreter, one episode at a time."""
    ref = GridReference(prep.grammar)
    s = prep.config["search"]
    max_failures = score.max_errors(len(prep.train), s["fit_threshold"], s.get("noise", 0.0))
    envs = [*prep.test_envs.values(), prep.probe_envs, *([prep.train_envs] if like_train(prep.config) else [])]
    # The structural flags are the compiled judge's: the search and see flags are read from
    # the opcodes; the execution-search flag's traces are parity-tested in tests/test_heuristics*.
    structure_fn = prep.judge.structure

    if prep.pairs:  # a pair's policy is run; its predictor is judged on the character's steps
        ref = GridReference(prep.part_grammar)
        max_failures_joint = score.max_errors(trials(prep), s["fit_threshold"], s.get("noise", 0.0))

    def programs(ops, sizes):
        if prep.pairs:
            return [tree(pair.split(ops[i, : sizes[i]], prep.grammar)[1], prep.part_grammar) for i in range(len(ops))]
        return [tree(ops[i, : sizes[i]], prep.grammar) for i in range(len(ops))]

    def fit(ops, sizes, caps):
        fits, successes, verdict = [], [], []
        for i, root in enumerate(programs(ops, sizes)):
            hits, total, ok = 0, 0, True
            for k, env in enumerate(prep.train_envs):
                episode = ref.episode(root, env)
                total += episode.steps
                hits += episode.reached is not None and bool(prep.base_train[k][episode.reached])
                if total > caps[i] or (k + 1 - hits) > max_failures:
                    ok = False
                    break
            if prep.pairs:
                right, more = (0, 0)
                if ok:
                    right, more = pair.reference_predict(pair.split(ops[i, : sizes[i]], prep.grammar)[0],
                                                         prep.part_grammar, prep.character)
                hits, total = hits + right, total + more
                ok = ok and trials(prep) - hits <= max_failures_joint and total <= caps[i]
            fits.append(ok)
            successes.append(hits)
            verdict.append(total)
        return np.array(fits, dtype=bool), np.array(successes, dtype=np.int32), np.array(verdict, dtype=np.int64)

    def behaviour(ops, sizes):
        rows = []
        for root in programs(ops, sizes):
            row = []
            for split in envs:
                episodes = [ref.episode(root, env) for env in split]
                row += [-1 if e.reached is None else e.reached[0] * env.width + e.reached[1]
                        for e, env in zip(episodes, split)]
                row += [e.moves for e in episodes]
            rows.append(row)
        return np.array(rows, dtype=np.int32).reshape(len(ops), -1)

    # t(p) under smoothing or another time measure: the compiled judge's (parity of the
    # perturbed episodes' steps is tested in tests/test_smooth.py).
    return Judge(fit, behaviour, structure_fn, prep.judge.flags, trials(prep), prep.judge.time_steps)


def min_fit_steps(prep: GridPrepared) -> int:
    """Fewest simulated steps any fitting program spends on the training grids: it must
    reach a base cell in all but `max_errors` of them, which takes at least the shortest
    path's moves there, and every move is one evaluation of the program, whose root is an
    Action production costing at least the cheapest Action's step cost."""
    s = prep.config["search"]
    if smooth_settings(s)[0] > 0 or smooth_settings(s)[2] != "total":
        return 1  # t(p) is then not the training grids' total steps: no bound but the trivial one
    n = len(prep.train)
    cut = score.max_errors(n, s["fit_threshold"], s.get("noise", 0.0))
    dist, base = prep.distances["train"], prep.base_train
    nearest = np.where(base & (dist >= 0), dist, np.iinfo(np.int32).max).reshape(n, -1).min(axis=1)
    needed = np.sort(nearest)[: n - cut]
    if len(needed) and needed[-1] == np.iinfo(np.int32).max:
        return 1  # some base is unreachable: nothing fits, no bound needed
    cheapest = min(prep.grammar.step_cost[i] for i in prep.grammar.by_type[prep.grammar.start])
    return max(1, int(needed.sum()) * int(cheapest))


def like_train(config: dict[str, Any]) -> bool:
    """Whether a test split copies the training grids (then programs are run there too)."""
    return any(split.get("like") == "train" for split in config["test"].values())
