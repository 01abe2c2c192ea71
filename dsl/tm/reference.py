"""The TM reference interpreter: plain Python, written for clarity. It is the specification.

Machine semantics (Busy Beaver formalism, Rado). The tape is two-way infinite and blank
(every cell 0) at the start; the head is on cell 0; the state is A (the first). A step
reads the symbol s under the head, takes the machine's transition for (state, s) and:
- a moving transition `wDX` writes w, moves the head one cell (D = L: cell - 1,
  R: cell + 1) and goes to state X;
- a halting transition `wH` writes w and halts; the head does not move.

Cost model (simulated steps), with c(x) the step cost of production x:
- the Machine production (`tm<n>`) costs c(tm<n>) once, when the run starts
  (default 0);
- each transition executed costs c(that transition's production) (default 1),
  the halting transition included.
With the defaults, simulated steps = the number of machine steps including the halting
one (Rado's count: the 2-state champion takes 6). Transition costs must be >= 1.

Step cap. Before a transition executes, the run stops, not halted, if its cost would
take the steps past `step_cap`; so a machine halts within the cap iff its total steps
are <= step_cap, and a run that is cut off reports the steps spent so far (<= the cap,
unless c(tm<n>) alone exceeds it: then no transition runs).

Output. The visited segment: every cell the head was ever on (the start cell
included) forms a contiguous segment, since the head moves one cell at a time; the
output is that segment's symbols read left to right when the run stops (halted or cut
off), as a string of '0'/'1'. `ones` counts the 1s on the whole tape at that time
(cells outside the visited segment are blank).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from dsl.errors import DslError
from dsl.grammar import Grammar
from dsl.tm import primitives as tp


@dataclass(frozen=True)
class TMRun:
    halted: bool  # halted within the step cap
    steps: int  # simulated steps spent (see the cost model)
    output: str  # the visited segment, left to right
    ones: int  # 1s on the whole tape at the end


@dataclass(frozen=True)
class Transition:
    write: int
    move: int | None  # tp.LEFT, tp.RIGHT, or None for a halting transition
    state: int | None  # next state (0 = A), None when halting
    production: int  # production id in the grammar

    @property
    def halts(self) -> bool:
        return self.move is None

    @property
    def name(self) -> str:
        if self.halts:
            return f"{self.write}H"
        return f"{self.write}{'LR'[self.move]}{tp.state_name(self.state)}"


def machine_table(ops: Sequence[int], grammar: Grammar) -> tuple[int, list[Transition]]:
    """(n, the 2n transitions in order (A,0), (A,1), (B,0), ...) of a program."""
    ops = [int(o) for o in ops]
    if not ops:
        raise DslError("empty program")
    root = grammar.productions[ops[0]]
    if root.op != tp.K_MACHINE:
        raise DslError(f"a TM program starts with a Machine production, not {root.qualified}")
    n = root.operand
    if len(ops) != 1 + 2 * n:
        raise DslError(f"{root.name} takes {2 * n} transitions; the program has {len(ops) - 1}")
    table = []
    for i in ops[1:]:
        p = grammar.productions[i]
        if p.type != f"T{n}":
            raise DslError(f"{p.qualified} is not a transition of a {n}-state machine")
        if p.op == tp.K_HALT:
            table.append(Transition(p.operand, None, None, i))
        else:
            w, move, state = tp.decode(p.operand)
            table.append(Transition(w, move, state, i))
    return n, table


def pretty(ops: Sequence[int], grammar: Grammar) -> str:
    """The machine as a table: one row per state, columns for reading 0 and 1."""
    n, table = machine_table(ops, grammar)
    lines = ["      0    1"]
    for s in range(n):
        lines.append(f"{tp.state_name(s)}   {table[2 * s].name:>3}  {table[2 * s + 1].name:>3}")
    return "\n".join(lines)


class TMReference:
    """Runs TM programs one step at a time, exactly as the spec above says."""

    def __init__(self, grammar: Grammar):
        tp.check_costs(grammar)
        self.grammar = grammar

    def run(self, ops: Sequence[int], step_cap: int) -> TMRun:
        """Run from the blank tape until the machine halts or the cap stops it."""
        n, table = machine_table(ops, self.grammar)
        cost = self.grammar.step_cost
        tape: dict[int, int] = {}  # cells written so far; the rest are 0
        head, state = 0, 0
        lo = hi = 0  # the visited segment
        steps = cost[int(ops[0])]
        halted = False
        while True:
            t = table[2 * state + tape.get(head, 0)]
            if steps + cost[t.production] > step_cap:
                break
            steps += cost[t.production]
            tape[head] = t.write
            if t.halts:
                halted = True
                break
            head += 1 if t.move == tp.RIGHT else -1
            state = t.state
            lo, hi = min(lo, head), max(hi, head)
        output = "".join(str(tape.get(i, 0)) for i in range(lo, hi + 1))
        return TMRun(halted, steps, output, sum(tape.values()))


@dataclass(frozen=True)
class TraceRow:
    """One executed transition of `trace`: the configuration before it and what it did."""

    step: int  # 1-based: the step-th transition executed
    state: int  # the state it was executed in (0 = A)
    head: int  # the head's cell before it (the start cell is 0)
    read: int  # the symbol read
    transition: str  # its name, e.g. "1RB" or "1H"
    steps: int  # simulated steps spent once it executed
    tape: str  # the visited segment after it, left to right
    left: int  # the cell of tape[0] (the segment's left end)
    head_after: int  # the head's cell after it


def trace(ops: Sequence[int], grammar: Grammar, step_cap: int, limit: int | None = None) -> tuple[TMRun, list[TraceRow]]:
    """Run a machine as `TMReference.run` does and also return one row per executed
    transition. Without `limit` the TMRun is exactly `run`'s; with it, the run stops
    after `limit` transitions (the TMRun then describes the run so far, not halted unless
    it halted by then)."""
    tp.check_costs(grammar)
    n, table = machine_table(ops, grammar)
    cost = grammar.step_cost
    tape: dict[int, int] = {}
    head, state = 0, 0
    lo = hi = 0
    steps = cost[int(ops[0])]
    halted = False
    rows: list[TraceRow] = []
    executed = 0
    while True:
        read = tape.get(head, 0)
        t = table[2 * state + read]
        if steps + cost[t.production] > step_cap:
            break
        steps += cost[t.production]
        executed += 1
        tape[head] = t.write
        before_state, before_head = state, head
        if not t.halts:
            head += 1 if t.move == tp.RIGHT else -1
            state = t.state
            lo, hi = min(lo, head), max(hi, head)
        rows.append(TraceRow(executed, before_state, before_head, read, t.name, steps,
                             "".join(str(tape.get(i, 0)) for i in range(lo, hi + 1)), lo, head))
        if t.halts:
            halted = True
            break
        if limit is not None and len(rows) >= limit:
            break
    output = "".join(str(tape.get(i, 0)) for i in range(lo, hi + 1))
    return TMRun(halted, steps, output, sum(tape.values())), rows
