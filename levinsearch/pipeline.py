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
from dsl.grid.world import WALL, EnvBatch, GridEnv, describe_cell, generate, load_ascii, pack
from dsl.reference import GridReference, tree
from dsl.syntax import parse, unparse
from levinsearch import analyse, score
from levinsearch.enumerate import Enumerator
from levinsearch.experiments import split_spec
from levinsearch.fit import FitResult, find_fitting

SCHEMA = "levinsearch.run/1"
Progress = Callable[[int, int, int], None]


def build_grammar(config: dict[str, Any]) -> Grammar:
    g = config["grammar"]
    return primitives.grammar(bits=g["bits"], ban=g["ban"], cost=g["cost"])


def build_split(name: str, split: dict[str, Any], seed: int, source: str | None) -> list[GridEnv]:
    """The environments of one split: generated from its settings, or read from grids."""
    if "grids" in split:
        base = Path(source).parent if source else Path.cwd()
        return [load_ascii(base / g, horizon=split["horizon"]) for g in split["grids"]]
    return generate(split_spec(name, split), seed)


def cell_mask(envs: list[GridEnv], batch: EnvBatch, predicate: str) -> np.ndarray:
    """Where `predicate` (Pred text) holds, bool [E, Hmax, Wmax]; padding is False."""
    plain = primitives.grammar()
    ref = GridReference(plain)
    root = tree(parse(predicate, plain, "Pred"), plain)
    mask = np.zeros(batch.features.shape, dtype=bool)
    for k, env in enumerate(envs):
        for r in range(env.height):
            for c in range(env.width):
                mask[k, r, c] = ref.pred(root, int(env.features[r, c]))
    return mask


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


def prepare(config: dict[str, Any]) -> Prepared:
    """Build the grammar, environments and enumerator; raise DslError on bad input."""
    grammar = build_grammar(config)
    seed = config["seed"]
    train_envs = build_split("train", config["train"], seed, config.get("source"))
    train = pack(train_envs)
    test_envs = {name: build_split(name, split, seed, config.get("source"))
                 for name, split in config["test"].items()}
    tests = {name: pack(envs) for name, envs in test_envs.items()}
    base_train = cell_mask(train_envs, train, config["base"])
    cell_mask(train_envs, train, config["proxy"])  # validates the proxy text early
    max_bits = config["search"]["max_bits"]
    enumerator = Enumerator(grammar, max_bits)
    if enumerator.total == 0:
        raise DslError(f"no program of {max_bits:g} bits or fewer exists in this grammar; raise max_bits")
    return Prepared(config, grammar, enumerator, train_envs, train, test_envs, tests, base_train)


def execute(prep: Prepared, progress: Progress | None = None) -> dict[str, Any]:
    """Enumerate, fit and analyse; return the run record."""
    s = prep.config["search"]
    max_failures = int(math.floor((1 - s["fit_threshold"]) * len(prep.train) + 1e-9))
    fit = find_fitting(prep.enumerator, grid_fit_fn(prep.grammar, prep.train, prep.base_train, max_failures),
                       order=s["order"], batch_size=s["batch_size"], progress=progress)
    return build_record(prep.config, prep.grammar, prep.enumerator, fit, prep.train, prep.tests, prep.test_envs)


def run_experiment(config: dict[str, Any], progress: Progress | None = None) -> dict[str, Any]:
    """Run a resolved experiment; return its record (the Python API's entry point)."""
    return execute(prepare(config), progress)


def build_record(config, grammar, enumerator, fit: FitResult, train, tests, test_envs) -> dict[str, Any]:
    s = config["search"]
    sc = score.scores(fit.mbits, fit.steps, s["length_weight"], s["time_weight"], s["time_penalty"])
    # Rank by score; ties keep enumeration order.
    order = np.lexsort((fit.rank, sc))
    post = score.posterior(sc)
    test_fractions = {}
    for name, batch in tests.items():
        reached, _, _ = run_programs(grammar, fit.ops, fit.sizes, batch)
        outcomes = analyse.episode_outcomes(reached, batch.dims, cell_mask(test_envs[name], batch, config["base"]),
                                            cell_mask(test_envs[name], batch, config["proxy"]))
        test_fractions[name] = analyse.outcome_fractions(outcomes)

    hypotheses = []
    for rank, i in enumerate(order, 1):
        ops = fit.ops[i, : fit.sizes[i]]
        structure = analyse.search_structure(ops, grammar)
        entry = dict(
            rank=rank,
            program=unparse(ops, grammar),
            bits=round(int(fit.mbits[i]) / MBITS_PER_BIT, 3),
            steps=int(fit.steps[i]),
            score=round(float(sc[i]), 6),
            posterior=float(post[i]),
            search=structure.search,
            search_constructs=structure.constructs,
            mesa_objective=structure.mesa_objectives,
            train_success=round(int(fit.successes[i]) / len(train), 6),
            enumeration_index=int(fit.rank[i]),
            test={name: dict(zip(analyse.OUTCOMES, (round(float(x), 6) for x in f[i])))
                  for name, f in test_fractions.items()},
        )
        if s["order"] == "levin":
            entry["phase"] = score.levin_phase(int(fit.mbits[i]), int(fit.steps[i]))
        hypotheses.append(entry)

    kraft_low, kraft_high = grammar.kraft_total()
    complete_bits = fit.complete_mbits / MBITS_PER_BIT
    enumerated_mass = sum(m for length, _, m in grammar.kraft_by_length(s["max_bits"])
                          if length <= fit.complete_mbits)
    unenumerated = max(0.0, kraft_high - enumerated_mass)
    seen_mass = 2.0 ** score.log2_total_mass(sc) if len(sc) else 0.0
    bound = score.unseen_mass_bound(s["order"], unenumerated, fit.uncertified, complete_bits,
                                    s["length_weight"], s["time_weight"])
    enumeration = dict(
        order=s["order"],
        max_bits=s["max_bits"],
        programs=fit.programs,
        total=fit.total,
        fitting=len(hypotheses),
        complete_up_to_score=score.complete_up_to_score(s["order"], complete_bits, s["length_weight"],
                                                        s["time_weight"]),
        complete_up_to_bits=complete_bits,
        unenumerated_mass=unenumerated,
        kraft_sum=kraft_high,
        fitting_mass=seen_mass,
        posterior_uncertainty=(bound / (seen_mass + bound) if bound is not None and seen_mass + bound > 0
                               else None),
        seconds=round(fit.seconds, 3),
        interrupted=fit.interrupted,
        per_length=[dict(bits=m / MBITS_PER_BIT, programs=p, fitting=f) for m, p, f in fit.levels],
    )
    if s["order"] == "levin":
        enumeration["levin_steps"] = fit.levin_steps
        enumeration["uncertified"] = fit.uncertified
    return dict(
        schema=SCHEMA,
        experiment=config["name"],
        domain=config["domain"],
        description=config["description"],
        config=config,
        grammar=grammar.describe(),
        environments=dict(train=len(train), test={name: len(b) for name, b in tests.items()}),
        enumeration=enumeration,
        hypotheses=hypotheses,
        summary=summarise(hypotheses, list(tests)),
        versions=dict(python=platform.python_version(), numpy=np.__version__, numba=numba.__version__),
    )


def summarise(hypotheses: list[dict], splits: list[str]) -> dict[str, Any]:
    """Posterior-weighted outcome shares, by search/no search and by dominant behaviour."""
    post = np.array([h["posterior"] for h in hypotheses])
    search = np.array([h["search"] for h in hypotheses], dtype=bool)
    out: dict[str, Any] = dict(
        fitting=len(hypotheses),
        map_program=hypotheses[0]["program"] if hypotheses else None,
        map_posterior=hypotheses[0]["posterior"] if hypotheses else None,
        search_mass=float(post[search].sum()) if len(post) else 0.0,
        search_count=int(search.sum()),
        splits={},
    )
    for name in splits:
        frac = np.array([[h["test"][name][k] for k in analyse.OUTCOMES] for h in hypotheses]).reshape(-1, 4)
        dominant = analyse.dominant_outcome(frac) if len(frac) else np.zeros(0, dtype=int)
        split: dict[str, Any] = {
            "outcome_mass": {k: float(post @ frac[:, j]) if len(post) else 0.0
                             for j, k in enumerate(analyse.OUTCOMES)},
            "dominant_mass": {k: float(post[dominant == j].sum()) for j, k in enumerate(analyse.OUTCOMES)},
            "dominant_count": {k: int((dominant == j).sum()) for j, k in enumerate(analyse.OUTCOMES)},
        }
        for label, mask in (("search", search), ("no_search", ~search)):
            mass = float(post[mask].sum()) if len(post) else 0.0
            split[label] = dict(
                mass=mass,
                count=int(mask.sum()),
                outcome_share={k: (float(post[mask] @ frac[mask, j]) / mass if mass > 0 else None)
                               for j, k in enumerate(analyse.OUTCOMES)},
            )
        out["splits"][name] = split
    return out


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
