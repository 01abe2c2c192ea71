"""The reference interpreter: plain Python, written for clarity. It is the specification.

Grid semantics, one time step: the program's Action is evaluated at the agent's cell and
yields a direction (or none); the agent moves unless a wall (or the grid's edge) is in the
way; entering an object's cell ends the episode with that object reached. An episode
lasts at most `horizon` steps.

Cost model (simulated steps), with c(x) the step cost of production x (default 1):
- every node evaluated costs c(node);
- `(if B X Y)`: c(if) + cost(B) + cost of the branch taken (the other is not evaluated);
- `(sense D P)`: c(sense) + c(D) + pcost(P), where pcost(P) is the sum of c over P's nodes;
- `(see P)`: c(see) + pcost(P) per cell scanned, row-major, stopping at the first match;
- `(plan P)`: c(plan) + pcost(P) per cell tested by the breadth-first search;
- `(greedy P)`: c(greedy) + pcost(P) per cell of the grid (it scans all of them);
- `not` and `and` (Bool) evaluate all their arguments.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from dsl.grammar import Grammar
from dsl.grid import primitives as gp
from dsl.grid.world import DELTAS, WALL, OBJECT, GridEnv, breadth_first
from dsl.tree import Node, tree


@dataclass
class Episode:
    reached: tuple[int, int] | None  # the object's cell, or None
    moves: int
    steps: int
    path: list[tuple[int, int]]  # cells visited, start included


class GridReference:
    """Runs grid programs one node at a time, exactly as the spec above says."""

    def __init__(self, grammar: Grammar):
        self.grammar = grammar

    def _op(self, node: Node) -> int:
        return self.grammar.productions[node.production].op

    def _operand(self, node: Node) -> int:
        return self.grammar.productions[node.production].operand

    def _c(self, node: Node) -> int:
        return self.grammar.step_cost[node.production]

    # -- Pred
    def pred(self, node: Node, cell: int) -> bool:
        op = self._op(node)
        if op == gp.P_FEATURE:
            return bool(cell >> self._operand(node) & 1)
        if op == gp.P_NOT:
            return not self.pred(node.children[0], cell)
        a = self.pred(node.children[0], cell)
        b = self.pred(node.children[1], cell)
        return (a and b) if op == gp.P_AND else (a or b)

    def pred_cost(self, node: Node) -> int:
        return self._c(node) + sum(self.pred_cost(ch) for ch in node.children)

    # -- Bool
    def boolean(self, node: Node, env: GridEnv, r: int, c: int) -> tuple[bool, int]:
        op = self._op(node)
        if op == gp.B_SENSE:
            direction, pred = node.children
            dr, dc = DELTAS[self._operand(direction)]
            value = self.pred(pred, env.cell(r + dr, c + dc))
            return value, self._c(node) + self._c(direction) + self.pred_cost(pred)
        if op == gp.B_SEE:
            pred = node.children[0]
            scanned = 0
            for rr in range(env.height):
                for cc in range(env.width):
                    scanned += 1
                    if self.pred(pred, env.cell(rr, cc)):
                        return True, self._c(node) + scanned * self.pred_cost(pred)
            return False, self._c(node) + scanned * self.pred_cost(pred)
        if op == gp.B_NOT:
            value, cost = self.boolean(node.children[0], env, r, c)
            return not value, self._c(node) + cost
        a, ca = self.boolean(node.children[0], env, r, c)
        b, cb = self.boolean(node.children[1], env, r, c)
        return a and b, self._c(node) + ca + cb

    # -- Action
    def action(self, node: Node, env: GridEnv, r: int, c: int) -> tuple[int | None, int]:
        """(direction index or None, simulated steps) for one evaluation."""
        op = self._op(node)
        if op == gp.A_MOVE:
            return self._operand(node), self._c(node)
        if op == gp.A_IF:
            cond, then, other = node.children
            value, cost = self.boolean(cond, env, r, c)
            d, branch_cost = self.action(then if value else other, env, r, c)
            return d, self._c(node) + cost + branch_cost
        pred = node.children[0]
        if op == gp.A_PLAN:
            d, tested = self.plan(pred, env, r, c)
            return d, self._c(node) + tested * self.pred_cost(pred)
        d = self.greedy(pred, env, r, c)
        return d, self._c(node) + env.height * env.width * self.pred_cost(pred)

    def plan(self, pred: Node, env: GridEnv, r: int, c: int) -> tuple[int | None, int]:
        """First step of a shortest path to the nearest cell satisfying `pred`.

        Breadth-first from the agent, neighbours in N E S W order. Walls are never
        entered or tested; every other newly discovered cell is tested once; object
        cells that do not satisfy `pred` are not expanded (entering one ends the
        episode). Returns (direction or None, cells tested).
        """
        tested = 0
        for v, step, _ in breadth_first(env.features, (r, c)):
            tested += 1
            if self.pred(pred, env.cell(*v)):
                return step, tested
        return None, tested

    def greedy(self, pred: Node, env: GridEnv, r: int, c: int) -> int | None:
        """The open neighbour closest (squared straight-line distance) to any cell
        satisfying `pred`; ties go to the first of N E S W; None if no cell does."""
        targets = [
            (rr, cc) for rr in range(env.height) for cc in range(env.width)
            if self.pred(pred, env.cell(rr, cc))
        ]
        if not targets:
            return None
        best, best_d = None, None
        for d, (dr, dc) in enumerate(DELTAS):
            v = (r + dr, c + dc)
            if env.cell(*v) & WALL:
                continue
            dist = min((v[0] - t[0]) ** 2 + (v[1] - t[1]) ** 2 for t in targets)
            if best is None or dist < best:
                best, best_d = dist, d
        return best_d

    # -- episodes
    def episode(self, program: Node | Sequence[int], env: GridEnv) -> Episode:
        """Run one episode to the horizon or until an object is entered."""
        root = program if isinstance(program, Node) else tree(program, self.grammar)
        r, c = env.start
        path = [(r, c)]
        steps = 0
        for moves in range(1, env.horizon + 1):
            d, cost = self.action(root, env, r, c)
            steps += cost
            if d is not None:
                dr, dc = DELTAS[d]
                if not env.cell(r + dr, c + dc) & WALL:
                    r, c = r + dr, c + dc
                    path.append((r, c))
                    if env.cell(r, c) & OBJECT:
                        return Episode((r, c), moves, steps, path)
        return Episode(None, env.horizon, steps, path)
