"""Shared fixtures and helpers for the levinsearch test-suite.

Helpers are plain functions (import them with ``from conftest import ...``) and are
also offered as fixtures for tests that prefer injection.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pytest

from dsl.grammar import Grammar
from dsl.grid.interpreter import GridInterpreter
from dsl.grid import primitives as gp
from dsl.grid.world import EnvBatch, GridEnv, pack
from dsl.syntax import parse
from levinsearch.enumerate import Enumerator

_PLAIN = gp.grammar()


@pytest.fixture(autouse=True)
def _runs_in_tmp(tmp_path_factory, monkeypatch):
    """Runs started by tests are saved in a temporary directory, not in ./runs."""
    monkeypatch.setenv("LEVINSEARCH_RUNS_DIR", str(tmp_path_factory.getbasetemp() / "runs"))


def ops_of(text: str, grammar: Grammar | None = None, type_name: str | None = None) -> np.ndarray:
    """Opcode array (int32) of program text, in the default grid grammar unless given one."""
    return parse(text, grammar if grammar is not None else _PLAIN, type_name)


def pack_one(env: GridEnv) -> EnvBatch:
    """A single GridEnv as a one-environment EnvBatch."""
    return pack([env])


def pad_ops(programs: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Programs as an int32 [n, max_nodes] array padded with -1, and int32 sizes [n]."""
    width = max([len(p) for p in programs] + [1])
    ops = np.full((len(programs), width), -1, dtype=np.int32)
    sizes = np.zeros(len(programs), dtype=np.int32)
    for i, p in enumerate(programs):
        ops[i, : len(p)] = np.asarray(p, dtype=np.int32)
        sizes[i] = len(p)
    return ops, sizes


def as_batch(envs) -> EnvBatch:
    """Accept an EnvBatch, one GridEnv, or a list of GridEnvs."""
    if isinstance(envs, EnvBatch):
        return envs
    if isinstance(envs, GridEnv):
        return pack_one(envs)
    return pack(list(envs))


def run_kernel(grammar: Grammar, programs: Sequence[Sequence[int]], envs):
    """The compiled interpreter on the programs x environments: (reached, moves, steps), each [n, E]."""
    ops, sizes = pad_ops(programs)
    batch = as_batch(envs)
    return GridInterpreter(grammar).run(ops, sizes, batch)


def unranked_programs(grammar: Grammar, max_bits: float, n: int, seed: int) -> list[list[int]]:
    """n programs by random unranking: half uniform over the whole index space, half over
    a uniformly chosen length (so short lengths are covered too)."""
    en = Enumerator(grammar, max_bits)
    rng = np.random.default_rng(seed)
    counts = np.array([c for _, _, c in en.levels], dtype=np.int64)
    out = []
    for i in range(n):
        if i % 2 == 0:
            rank = int(rng.integers(int(counts.sum())))
            level = int(np.searchsorted(np.cumsum(counts), rank, side="right"))
            index = rank - int(counts[:level].sum())
        else:
            level = int(rng.integers(len(counts)))
            index = int(rng.integers(int(counts[level])))
        k, mbits, _ = en.levels[level]
        ops, sizes = en.unrank(k, index, 1)
        prog = ops[0, : sizes[0]].tolist()
        assert grammar.program_mbits(prog) == mbits
        out.append(prog)
    return out


def cell_index(env: GridEnv, cell: tuple[int, int] | None) -> int:
    """The kernel's encoding of a reached cell: row * width + column, or -1."""
    return -1 if cell is None else cell[0] * env.width + cell[1]


@pytest.fixture(scope="session")
def grid_grammar() -> Grammar:
    return gp.grammar()


@pytest.fixture(name="ops_of")
def ops_of_fixture():
    return ops_of


@pytest.fixture(name="run_kernel")
def run_kernel_fixture():
    return run_kernel


@pytest.fixture(name="pack_one")
def pack_one_fixture():
    return pack_one


# ------------------------------------------------------------------ the command line
def invoke(capsys, *args):
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    from levinsearch.cli import main
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *args):
    """`levinsearch run ARGS --json`, which must succeed; the parsed record."""
    import json
    code, out, err = invoke(capsys, "run", *args, "--json")
    assert code == 0, err
    return json.loads(out)


def strip_timing(record):
    """A run record without wall-clock times, where it was saved and its provenance (when
    and by which command it was made: the only things allowed to differ between
    equivalent runs), and without the batch size setting."""
    record = dict(record)
    record.pop("provenance", None)
    e = {k: v for k, v in record["enumeration"].items() if k not in ("seconds", "compile_seconds")}
    e["per_length"] = [{k: v for k, v in row.items() if k != "seconds"} for row in e["per_length"]]
    record["enumeration"] = e
    record.pop("run", None)
    record["config"] = dict(record["config"], search={k: v for k, v in record["config"]["search"].items()
                                                      if k != "batch_size"})
    return record
