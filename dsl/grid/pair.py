"""Predict and act: programs `(pair P A)` of the predict profiles, split into their two
Action programs and run with the ordinary interpreters (no new opcode).

P is a predictor of another character: run from each cell of the character's
trajectory with horizon 1, the cell it moves to is the prediction of the character's
next cell. A is the learner's policy, run on the grids as any grid program. A shared
definition `(let D P A)` is written out first (`dsl.grammar.inline_definition`),
so both parts are programs of the part profile (`default` or `heuristics`), with the
same production ids.

The character is a rule (a program of the part profile) run by the reference
interpreter from its own start; it is not drawn on the grid: the learner neither sees
it nor is blocked by it, and it neither sees nor is blocked by the learner.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dsl.errors import DslError
from dsl.grammar import Grammar, inline_definition
from dsl.grid.interpreter import GridInterpreter, Trace
from dsl.grid.reference import GridReference
from dsl.grid.world import EMPTY, EnvBatch, GridEnv, pack
from dsl.syntax import subtree_end


def parts(ops, grammar: Grammar):
    """(definition or None, predictor, policy) of a pair program, as written (the parts
    of a `let` in the body's primed ids)."""
    ops = [int(x) for x in ops if x >= 0]
    if not ops or grammar.productions[ops[0]].type != "Pair":
        raise DslError("a predict-profile program must be (pair P A) or (let D P A)")
    definition, at = None, 1
    if ops[0] == grammar.let_id:
        at = subtree_end(ops, grammar, 1)
        definition = ops[1:at]
    middle = subtree_end(ops, grammar, at)
    return definition, ops[at:middle], ops[middle:]


def written_out(definition, part, grammar: Grammar) -> np.ndarray:
    """A part with the definition written out, in the part profile's ids (int32)."""
    if definition is None:
        return np.array(part, dtype=np.int32)
    return inline_definition([grammar.let_id, *definition, *part], grammar)[0:]


def split(ops, grammar: Grammar) -> tuple[np.ndarray, np.ndarray]:
    """(predictor, policy): the two Action programs of one pair program, definition
    written out, in the part profile's production ids (int32)."""
    definition, predictor, policy = parts(ops, grammar)
    return written_out(definition, predictor, grammar), written_out(definition, policy, grammar)


def split_batch(ops: np.ndarray, sizes: np.ndarray, grammar: Grammar):
    """`split` over a batch of programs (ops [n, w] padded with -1): predictor ops and
    sizes, policy ops and sizes, each padded to width w."""
    n, w = ops.shape
    pred = np.full((n, max(w, 1)), -1, dtype=np.int32)
    pol = np.full((n, max(w, 1)), -1, dtype=np.int32)
    pred_sizes = np.zeros(n, dtype=np.int32)
    pol_sizes = np.zeros(n, dtype=np.int32)
    for i in range(n):
        p, a = split(ops[i, : sizes[i]], grammar)
        pred[i, : len(p)], pol[i, : len(a)] = p, a
        pred_sizes[i], pol_sizes[i] = len(p), len(a)
    return pred, pred_sizes, pol, pol_sizes


@dataclass
class Character:
    """Another character's moves on a list of grids, flattened: one prediction
    environment per step it took (its cell before the step, horizon 1) and the cell it
    was on after that step (row * width + column)."""

    envs: list[GridEnv]  # the prediction environments
    batch: EnvBatch | None  # pack(envs); None when there are none
    target: np.ndarray  # int32 [T]
    grid: np.ndarray  # int32 [T]: which grid each step belongs to
    starts: list[tuple[int, int]]  # the character's start on each grid


def character_start(env: GridEnv, rng: np.random.Generator) -> tuple[int, int]:
    """A random empty cell of env other than the learner's start."""
    free = [(r, c) for r in range(env.height) for c in range(env.width)
            if env.features[r, c] == EMPTY and (r, c) != tuple(env.start)]
    if not free:
        raise DslError(f"grid {env.name}: no empty cell for the other character")
    return free[int(rng.integers(len(free)))]


def character(rule, part_grammar: Grammar, envs: list[GridEnv], starts: list[tuple[int, int]]) -> Character:
    """The character driven by `rule` (ops of `part_grammar`'s Action) from `starts` on
    `envs`, run once by the reference interpreter to each grid's horizon or until it
    enters an object."""
    ref = GridReference(part_grammar)
    steps, target, grid = [], [], []
    for k, (env, start) in enumerate(zip(envs, starts)):
        episode = ref.episode(rule, GridEnv(env.features, start, env.horizon, name=env.name))
        before = [tuple(start)] + episode.cells[:-1]
        for t, (cell, after) in enumerate(zip(before, episode.cells)):
            steps.append(GridEnv(env.features, cell, 1, name=f"{env.name}:character:{t}"))
            target.append(after[0] * env.width + after[1])
            grid.append(k)
    return Character(steps, pack(steps) if steps else None, np.array(target, dtype=np.int32),
                     np.array(grid, dtype=np.int32), [tuple(s) for s in starts])


class PairInterpreter:
    """A `GridInterpreter` for pair programs: `run`, `run_traced`, `paths` and `fit` run
    the policy part (what the grid's analyses read); `predict` runs the predictor part
    on a character's steps."""

    def __init__(self, grammar: Grammar, use_cache: bool = True):
        self.grammar = grammar
        self.parts = GridInterpreter(grammar, use_cache)  # a part's ids are the pair grammar's own

    def policy(self, ops: np.ndarray, sizes: np.ndarray):
        _, _, pol, pol_sizes = split_batch(ops, sizes, self.grammar)
        return pol, pol_sizes

    def run(self, ops, sizes, batch: EnvBatch):
        return self.parts.run(*self.policy(ops, sizes), batch)

    def run_traced(self, ops, sizes, batch: EnvBatch) -> Trace:
        return self.parts.run_traced(*self.policy(ops, sizes), batch)

    def paths(self, ops, sizes, batch: EnvBatch) -> np.ndarray:
        return self.parts.paths(*self.policy(ops, sizes), batch)

    def fit(self, ops, sizes, batch, base_cells, max_failures, step_caps):
        return self.parts.fit(*self.policy(ops, sizes), batch, base_cells, max_failures, step_caps)

    def predict(self, ops: np.ndarray, sizes: np.ndarray, char: Character) -> tuple[np.ndarray, np.ndarray]:
        """Per program: right predictions of the character's next cell (int32 [n]) and
        the predictor's simulated steps over them (int64 [n])."""
        n = len(ops)
        if char.batch is None or n == 0:
            return np.zeros(n, dtype=np.int32), np.zeros(n, dtype=np.int64)
        pred, pred_sizes, _, _ = split_batch(ops, sizes, self.grammar)
        return self.predict_parts(pred, pred_sizes, char)

    def predict_parts(self, pred: np.ndarray, pred_sizes: np.ndarray, char: Character):
        """`predict` for predictor programs already split out (part ids)."""
        n = len(pred)
        if char.batch is None or n == 0:
            return np.zeros(n, dtype=np.int32), np.zeros(n, dtype=np.int64)
        _, _, steps = self.parts.run(pred, pred_sizes, char.batch)
        cells = self.parts.paths(pred, pred_sizes, char.batch)[:, :, 0]
        right = (cells == char.target[None, :]).sum(axis=1).astype(np.int32)
        return right, steps.sum(axis=1).astype(np.int64)


def reference_predict(pred_ops, part_grammar: Grammar, char: Character) -> tuple[int, int]:
    """`PairInterpreter.predict_parts` for one predictor by the reference interpreter:
    (right predictions, simulated steps)."""
    ref = GridReference(part_grammar)
    right = steps = 0
    for env, target in zip(char.envs, char.target):
        episode = ref.episode([int(x) for x in pred_ops], env)
        r, c = episode.cells[0]
        right += int(r * env.width + c == target)
        steps += episode.steps
    return right, steps
