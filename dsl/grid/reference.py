"""The reference interpreter: plain Python, written for clarity. It is the specification.

Grid semantics, one time step: the program's Action is evaluated in the agent's current
state and yields a direction (or none); the agent moves unless a wall (or the grid's
edge) is in the way; entering an object's cell ends the episode with that object
reached. An episode lasts at most `horizon` steps.

Agent state: the position and, for the `heuristics` profile's constructs, a memory
value m in 0..3 (starts at 0) and a heading h in 0..3 = N E S W (starts at N). At every
step whose evaluation chose a direction (whether the agent then moved or bumped into a
wall), h becomes that direction. m changes only by `(remember M A)`. Programs of the
default profile never read m or h.

Cost model (simulated steps), with c(x) the step cost of production x (default 1):
- every node evaluated costs c(node);
- `(if B X Y)`: c(if) + cost(B) + cost of the branch taken (the other is not evaluated);
- `(sense D P)`: c(sense) + cost(D) + pcost(P), where pcost(P) is the sum of c over P's
  nodes and cost(D) is c(D) for a direction leaf; when D names no direction
  (`(dirto P')` without a target), P is not tested: c(sense) + cost(D), and the value
  is false;
- `(see P)`: c(see) + pcost(P) per cell scanned, row-major, stopping at the first match;
- `(plan P)`: c(plan) + pcost(P) per cell tested by the breadth-first search;
- `(greedy P)`: c(greedy) + pcost(P) per cell of the grid (it scans all of them);
- `not` and `and` (Bool) evaluate all their arguments.
derived profiles: `(bit K)` costs c(bit) + c(K); `(near D K)` costs c(near) + c(D) + c(K)
(both are counted in pcost like any Pred node).

Derived profiles' Pred semantics: a position's code word is its feature bits (a wall's
off the grid) and the frame mark (primitives.MARK_BIT) when the cell south of it is on
the grid and holds a door or key (primitives.FRAMED). `(bit K)` holds when the tested
position's word has any bit of K's mask; `(near D K)` when the word of the position one
step in compass direction D from the tested position does (off the grid: as above). A
Pred thus reads the tested position and, through `near`, its four neighbours; `sense`
tests the neighbour's position, so `(sense N (near N K))` reads two cells north.
heuristics profile:
- `(toward P)`: c(toward) + pcost(P) per cell scanned, exactly the scan of `see`;
- `wallright`, `wallleft`: c(node) + the number of neighbour cells sensed (1 to 4);
- `(remember M A)`: c(remember) + c(M) + cost(A); `(recall M)`: c(recall) + c(M);
- Dir leaves (N E S W, NE SE SW NW, ahead right behind left): c(D);
  `(dirto P)`: c(dirto) + pcost(P) per cell scanned, as `toward`.

history profile (the trajectory: p_0 = the start cell, p_1, ..., p_k = the current cell,
the cells the agent has entered this episode in order; a step that moves nothing (no
direction, or a bump into a wall) adds no entry):
- `(visited D)`: c(visited) + cost(D) + s, where s is the number of trajectory entries
  scanned: the past entries p_(k-1), p_(k-2), ..., p_0 are read newest first, stopping at
  the first that is the neighbouring cell in direction D (s = k - j when p_j is the
  first found; s = k, all of them, when none is). When D names no direction: c(visited)
  + cost(D) and false, nothing scanned. A program that reads its past this way pays up
  to k steps per read, k growing with the episode: up to Θ(T) per decision and Θ(T²)
  per episode of T moves.
defs profiles (a program `(let D B)`: the Pred D defined once, used in B as `ref`):
- `(let D B)`: c(let) + cost(B) per evaluation (D is not evaluated by itself);
- `ref`: a Pred leaf whose value on a cell is D's, and pcost(ref) = c(ref) + pcost(D):
  a use is charged what testing D there charges (the definition is a name, not a
  cache). With the default c(let) = c(ref) = 0, a program and its inlined twin
  (`dsl.grammar.inline_definition`) take the same steps; only their bits differ.

Semantics of the heuristics constructs:
- `(toward P)`: reactive heading, no path search. The target is the first cell in
  row-major order satisfying P (the scan `see` does). No target, or the target is the
  agent's own cell: no direction. Otherwise, with (dr, dc) = target - agent, the primary
  axis is the one with the larger |offset| (ties: vertical) and the primary direction
  points along it toward the target; the secondary direction points along the other
  axis toward the target (none if that offset is 0). A neighbour is blocked when it is
  a wall or holds an object other than the target (entering it would end the episode).
  If the primary neighbour is not blocked, the primary direction; otherwise the
  secondary direction if there is one and its neighbour is not blocked; otherwise no
  move: the primary direction if its neighbour is a wall (a bump, which sets the
  heading), no direction if it holds an object. Reading these two neighbours senses the
  current observation; nothing hypothetical is examined.
- `wallright` (`wallleft`): relative to the heading h, try right, ahead, left, back
  (left, ahead, right, back) and choose the first direction whose neighbour is not a
  wall (objects count as open); all four walls: no direction.
- `(remember M A)`: m := M, then evaluate A (A sees the new m). `(recall M)`: m == M.
- `(visited D)`: true when the neighbouring cell in direction D (compass, diagonal or
  heading-relative, or `(dirto P)`'s) is one of p_0 .. p_(k-1), a cell the agent has
  been on earlier this episode (its current cell is never a neighbour).
- Dir: N E S W; the diagonals NE SE SW NW (the 3x3 local view); `ahead`, `right`,
  `behind`, `left`: the heading turned 0, 1, 2, 3 quarter turns clockwise; `(dirto P)`:
  the primary direction `(toward P)` computes (walls ignored), or no direction when
  `toward` would have no target.

Lookahead (search measured from execution): at each decision (each evaluation of the
program, i.e. each step), the construct whose result is the chosen action (the Action
leaf the evaluation ends in: a move, `plan`, `greedy`, `toward`, a wall-follower)
reports how many hypothetical states it examined without being in them: `plan`, the
cells its breadth-first search tested; `greedy`, the open (non-wall) neighbours whose
distance to the target it compared, when a target exists (0 otherwise); every other
construct 0 (sensing, `see`, `toward` and `dirto` read the current observation). An
episode's lookahead is the sum over its decisions; its lookahead decisions are the
decisions whose action came from a construct that examined at least one state (the
action depends on what was examined); its decisions are its evaluations (= moves).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from dsl.grammar import Grammar
from dsl.grid import primitives as gp
from dsl.grid.world import DELTAS, WALL, OBJECT, GridEnv, breadth_first
from dsl.tree import Node, tree

_FRAMED = gp.code_mask(gp.FRAMED)
#: Offsets of the directions `sense` reads: N E S W (the moves), then NE SE SW NW.
SENSE_DELTAS = DELTAS + ((-1, 1), (1, 1), (1, -1), (-1, -1))


@dataclass
class Episode:
    reached: tuple[int, int] | None  # the object's cell, or None
    moves: int
    steps: int
    path: list[tuple[int, int]]  # cells visited, start included
    lookahead: int = 0  # hypothetical states examined, summed over decisions
    lookahead_decisions: int = 0  # decisions whose action came from a construct that examined some
    decisions: int = 0  # evaluations of the program (= moves)
    cells: list[tuple[int, int]] = field(default_factory=list)  # the agent's cell after each step


@dataclass
class AgentState:
    """The agent's internal state besides its position: memory m and heading h."""

    m: int = 0
    h: int = 0  # 0..3 = N E S W
    trail: list = field(default_factory=list)  # the trajectory p_0 .. p_k (history profile)


class GridReference:
    """Runs grid programs one node at a time, exactly as the spec above says."""

    def __init__(self, grammar: Grammar):
        self.grammar = grammar
        self.definition: Node | None = None  # D of the (let D B) being run; `ref` reads it

    def _op(self, node: Node) -> int:
        return self.grammar.productions[node.production].op

    def _operand(self, node: Node) -> int:
        return self.grammar.productions[node.production].operand

    def _c(self, node: Node) -> int:
        return self.grammar.step_cost[node.production]

    # -- Pred
    @staticmethod
    def word(env: GridEnv, r: int, c: int) -> int:
        """The code word of position (r, c): its features (a wall's off the grid) and the
        frame mark when the cell south of it is on the grid and holds a door or key."""
        word = env.cell(r, c)
        if 0 <= r + 1 < env.height and 0 <= c < env.width and env.cell(r + 1, c) & _FRAMED:
            word |= gp.MARK_BIT
        return word

    def holds(self, node: Node, env: GridEnv, r: int, c: int) -> bool:
        """Whether Pred `node` holds at position (r, c) of `env`."""
        return self.pred(node, self.word(env, r, c), env, (r, c))

    def pred(self, node: Node, cell: int, env: GridEnv | None = None, at: tuple[int, int] | None = None) -> bool:
        """Pred `node` on a position whose code word is `cell`; `env` and `at` (the
        position) are needed only by `near`."""
        op = self._op(node)
        if op == gp.P_FEATURE:
            return bool(cell >> self._operand(node) & 1)
        if op == gp.P_REF:
            return self.pred(self.definition, cell)
        if op == gp.P_BIT:  # code bit K is set when the cell has any of K's features
            return bool(cell & self._operand(node.children[0]))
        if op == gp.P_NEAR:  # code bit K of the neighbour in direction D
            if env is None or at is None:
                raise ValueError("(near D K) needs the environment and the position it is tested at")
            dr, dc = DELTAS[self._operand(node.children[0])]
            return bool(self.word(env, at[0] + dr, at[1] + dc) & self._operand(node.children[1]))
        if op == gp.P_NOT:
            return not self.pred(node.children[0], cell, env, at)
        a = self.pred(node.children[0], cell, env, at)
        b = self.pred(node.children[1], cell, env, at)
        return (a and b) if op == gp.P_AND else (a or b)

    def pred_cost(self, node: Node) -> int:
        if self._op(node) == gp.P_REF:
            return self._c(node) + self.pred_cost(self.definition)
        return self._c(node) + sum(self.pred_cost(ch) for ch in node.children)

    def scan(self, pred: Node, env: GridEnv) -> tuple[tuple[int, int] | None, int]:
        """The first cell in row-major order satisfying `pred` (None if none) and the
        number of cells scanned to find it (all of them if none)."""
        scanned = 0
        for rr in range(env.height):
            for cc in range(env.width):
                scanned += 1
                if self.holds(pred, env, rr, cc):
                    return (rr, cc), scanned
        return None, scanned

    @staticmethod
    def heading_toward(target: tuple[int, int] | None, r: int, c: int) -> tuple[int | None, int | None]:
        """(primary direction, secondary direction or None) from (r, c) toward `target`;
        (None, None) when there is no target or it is the agent's own cell."""
        if target is None or target == (r, c):
            return None, None
        dr, dc = target[0] - r, target[1] - c
        vertical = 0 if dr < 0 else 2
        horizontal = 1 if dc > 0 else 3
        if abs(dr) >= abs(dc):
            return vertical, (horizontal if dc != 0 else None)
        return horizontal, (vertical if dr != 0 else None)

    # -- Dir
    def direction(self, node: Node, env: GridEnv, r: int, c: int, state: AgentState) -> tuple[int | None, int]:
        """(index into SENSE_DELTAS or None, simulated steps) of a Dir subtree."""
        op = self._op(node)
        if op == gp.D_DIR:
            return self._operand(node), self._c(node)
        if op == gp.D_RELATIVE:
            return (state.h + self._operand(node)) % 4, self._c(node)
        pred = node.children[0]  # D_DIRTO
        target, scanned = self.scan(pred, env)
        primary, _ = self.heading_toward(target, r, c)
        return primary, self._c(node) + scanned * self.pred_cost(pred)

    # -- Bool
    def boolean(self, node: Node, env: GridEnv, r: int, c: int, state: AgentState | None = None) -> tuple[bool, int]:
        state = AgentState() if state is None else state
        op = self._op(node)
        if op == gp.B_SENSE:
            dnode, pred = node.children
            d, dcost = self.direction(dnode, env, r, c, state)
            if d is None:
                return False, self._c(node) + dcost
            dr, dc = SENSE_DELTAS[d]
            value = self.holds(pred, env, r + dr, c + dc)
            return value, self._c(node) + dcost + self.pred_cost(pred)
        if op == gp.B_SEE:
            pred = node.children[0]
            target, scanned = self.scan(pred, env)
            return target is not None, self._c(node) + scanned * self.pred_cost(pred)
        if op == gp.B_VISITED:
            d, dcost = self.direction(node.children[0], env, r, c, state)
            if d is None:
                return False, self._c(node) + dcost
            v = (r + SENSE_DELTAS[d][0], c + SENSE_DELTAS[d][1])
            past = state.trail[:-1]  # p_0 .. p_(k-1): the current cell is the last entry
            for scanned, cell in enumerate(reversed(past), 1):
                if cell == v:
                    return True, self._c(node) + dcost + scanned
            return False, self._c(node) + dcost + len(past)
        if op == gp.B_RECALL:
            mem = node.children[0]
            return state.m == self._operand(mem), self._c(node) + self._c(mem)
        if op == gp.B_NOT:
            value, cost = self.boolean(node.children[0], env, r, c, state)
            return not value, self._c(node) + cost
        a, ca = self.boolean(node.children[0], env, r, c, state)
        b, cb = self.boolean(node.children[1], env, r, c, state)
        return a and b, self._c(node) + ca + cb

    # -- Action
    def action(self, node: Node, env: GridEnv, r: int, c: int, state: AgentState | None = None) -> tuple[int | None, int]:
        """(direction index or None, simulated steps) for one evaluation. `state` (memory
        and heading; default: a fresh one) is updated by `remember`."""
        d, cost, _ = self.decide(node, env, r, c, AgentState() if state is None else state)
        return d, cost

    def decide(self, node: Node, env: GridEnv, r: int, c: int, state: AgentState) -> tuple[int | None, int, int]:
        """(direction index or None, simulated steps, hypothetical states examined by the
        construct that chose the action) for one evaluation; `remember` updates `state`."""
        op = self._op(node)
        if op == gp.LET:
            self.definition = node.children[0]
            d, cost, examined = self.decide(node.children[1], env, r, c, state)
            return d, self._c(node) + cost, examined
        if op == gp.A_MOVE:
            return self._operand(node), self._c(node), 0
        if op == gp.A_IF:
            cond, then, other = node.children
            value, cost = self.boolean(cond, env, r, c, state)
            d, branch_cost, examined = self.decide(then if value else other, env, r, c, state)
            return d, self._c(node) + cost + branch_cost, examined
        if op == gp.A_REMEMBER:
            mem, body = node.children
            state.m = self._operand(mem)
            d, cost, examined = self.decide(body, env, r, c, state)
            return d, self._c(node) + self._c(mem) + cost, examined
        if op in (gp.A_WALLRIGHT, gp.A_WALLLEFT):
            turns = (1, 0, 3, 2) if op == gp.A_WALLRIGHT else (3, 0, 1, 2)
            for sensed, turn in enumerate(turns, 1):
                d = (state.h + turn) % 4
                dr, dc = DELTAS[d]
                if not env.cell(r + dr, c + dc) & WALL:
                    return d, self._c(node) + sensed, 0
            return None, self._c(node) + 4, 0
        pred = node.children[0]
        if op == gp.A_TOWARD:
            target, scanned = self.scan(pred, env)
            cost = self._c(node) + scanned * self.pred_cost(pred)
            primary, secondary = self.heading_toward(target, r, c)
            if primary is None:
                return None, cost, 0

            def blocked(d: int) -> bool:
                v = (r + DELTAS[d][0], c + DELTAS[d][1])
                return bool(env.cell(*v) & WALL) or (bool(env.cell(*v) & OBJECT) and v != target)

            for d in (primary, secondary):
                if d is not None and not blocked(d):
                    return d, cost, 0
            wall_ahead = env.cell(r + DELTAS[primary][0], c + DELTAS[primary][1]) & WALL
            return (primary if wall_ahead else None), cost, 0
        if op == gp.A_PLAN:
            d, tested = self.plan(pred, env, r, c)
            return d, self._c(node) + tested * self.pred_cost(pred), tested
        d, compared = self.greedy(pred, env, r, c)
        return d, self._c(node) + env.height * env.width * self.pred_cost(pred), compared

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
            if self.holds(pred, env, *v):
                return step, tested
        return None, tested

    def greedy(self, pred: Node, env: GridEnv, r: int, c: int) -> tuple[int | None, int]:
        """The open neighbour closest (squared straight-line distance) to any cell
        satisfying `pred`; ties go to the first of N E S W; None if no cell does.
        Returns (direction or None, open neighbours compared: 0 without a target)."""
        targets = [
            (rr, cc) for rr in range(env.height) for cc in range(env.width)
            if self.holds(pred, env, rr, cc)
        ]
        if not targets:
            return None, 0
        best, best_d, compared = None, None, 0
        for d, (dr, dc) in enumerate(DELTAS):
            v = (r + dr, c + dc)
            if env.cell(*v) & WALL:
                continue
            compared += 1
            dist = min((v[0] - t[0]) ** 2 + (v[1] - t[1]) ** 2 for t in targets)
            if best is None or dist < best:
                best, best_d = dist, d
        return best_d, compared

    # -- episodes
    def episode(self, program: Node | Sequence[int], env: GridEnv) -> Episode:
        """Run one episode to the horizon or until an object is entered."""
        root = program if isinstance(program, Node) else tree(program, self.grammar)
        r, c = env.start
        path = [(r, c)]
        state = AgentState(trail=path)  # the trajectory `visited` reads is the path so far
        steps = lookahead = lookahead_decisions = 0
        cells: list[tuple[int, int]] = []
        for moves in range(1, env.horizon + 1):
            d, cost, examined = self.decide(root, env, r, c, state)
            steps += cost
            cells.append((r, c))
            lookahead += examined
            lookahead_decisions += examined > 0
            if d is not None:
                state.h = d
                dr, dc = DELTAS[d]
                if not env.cell(r + dr, c + dc) & WALL:
                    r, c = r + dr, c + dc
                    path.append((r, c))
                    cells[-1] = (r, c)
                    if env.cell(r, c) & OBJECT:
                        return Episode((r, c), moves, steps, path, lookahead, lookahead_decisions, moves, cells)
        return Episode(None, env.horizon, steps, path, lookahead, lookahead_decisions, env.horizon, cells)
