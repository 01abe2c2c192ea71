"""`levinsearch show PROGRAM` for the grid: one program on one environment, from an
ASCII grid file or from an experiment's split."""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from dsl.errors import DslError
from dsl.grammar import Grammar
from dsl.grid.interpreter import GridInterpreter
from dsl.grid.reference import GridReference
from dsl.grid.world import WALL, GridEnv, describe_cell, load_ascii, pack
from dsl.syntax import parse, unparse
from levinsearch.domains.grid import analyse
from levinsearch.domains.grid.prepare import all_splits, cell_mask
from levinsearch.record import SHOW_SCHEMA


def show(domain, program: str, config: dict[str, Any] | None, options: Mapping[str, Any]) -> dict[str, Any]:
    """The show record of PROGRAM on `--grid FILE`, or on `--env SPLIT:INDEX` of the
    experiment `config` (resolved with the command's seed, horizon and grammar flags)."""
    grid_file, env_ref = options.get("grid_file"), options.get("env_ref")
    base, proxy = options.get("base"), options.get("proxy")
    if grid_file and (config or env_ref):
        raise DslError("give either --grid FILE or --experiment NAME --env SPLIT:INDEX, not both")
    if grid_file:
        env = load_ascii(grid_file, horizon=options.get("horizon"))
        base, proxy = base or "door", proxy or "red"
        g = domain.grammar(bits=options.get("bits"), ban=options.get("ban", ()), cost=options.get("cost"),
                           profile=options.get("profile"))
    elif config is not None and env_ref:
        split, _, index = env_ref.partition(":")
        splits = {"train": config["train"], **config["test"]}
        if split not in splits:
            raise DslError(f"--env: unknown split {split!r} (this experiment has: {', '.join(splits)})")
        try:
            k = int(index)
        except ValueError:
            raise DslError(f"--env takes SPLIT:INDEX, e.g. train:0; got {env_ref!r}") from None
        envs = all_splits(config)[split]
        if not 0 <= k < len(envs):
            raise DslError(f"--env: split {split!r} has environments 0..{len(envs) - 1}, not {k}")
        env = envs[k]
        base, proxy = base or config["base"], proxy or config["proxy"]
        g = domain.build_grammar(config)
    elif config is not None:
        raise DslError("for a grid experiment give --env SPLIT:INDEX as well")
    else:
        raise DslError("show needs --grid FILE, or --experiment NAME with --env SPLIT:INDEX")
    return show_record(g, program, env, base=base, proxy=proxy)


def show_record(grammar: Grammar, program: str, env: GridEnv, *, base: str | None = None,
                proxy: str | None = None) -> dict[str, Any]:
    """One program on one environment, run by the compiled interpreter; the path is
    traced by the reference interpreter (the two agree: tests/test_grid_parity.py)."""
    ops = parse(program, grammar)
    batch = pack([env])
    trace = GridInterpreter(grammar).run_traced(ops[None, :].astype(np.int32), np.array([len(ops)], dtype=np.int32),
                                                batch)
    reached, moves, steps = trace.reached, trace.moves, trace.steps
    episode = GridReference(grammar).episode(ops, env)
    cell = int(reached[0, 0])
    record: dict[str, Any] = dict(
        schema=SHOW_SCHEMA,
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
        lookahead=int(trace.lookahead[0, 0]),
        lookahead_decisions=int(trace.lookahead_decisions[0, 0]),
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
