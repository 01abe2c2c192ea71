"""The Turing-machine domain's productions, in grammar order (also the enumeration tie order).

Machines are n-state, 2-symbol Turing machines in the Busy Beaver formalism (Rado): a
two-way infinite tape, blank (all 0) at the start, the head on one cell, state A (the
first state). A machine is its transition table: 2n transitions, one per (state, symbol
read), in the order (A,0), (A,1), (B,0), (B,1), ... Each transition either writes a
symbol w, moves the head one cell Left or Right and goes to one of the n states (4n
choices), or writes w and halts without moving (2 choices): 4n + 2 choices.

Types and productions (names are unique within a type; dsl.syntax parses them as-is):

- `Machine` (the start type): `tm1`, `tm2`, ..., `tm<max_states>`; `tm<n>` takes 2n
  arguments of type `T<n>`, the transitions (A,0), (A,1), (B,0), ... in that order.
  Text: ``(tm2 1RB 1LB 1LA 1H)`` is the 2-state champion.
- `T<n>`: the 4n + 2 transitions of an n-state machine, in the order of their names'
  sort order (ASCII: H < L < R): for w = 0, 1: `wH` (write w, halt), then `wLA`, `wLB`,
  ... (write w, move left, go to that state), then `wRA`, `wRB`, ... So for n = 2:
  0H 0LA 0LB 0RA 0RB 1H 1LA 1LB 1RA 1RB. Transition number t (0-based, in this order)
  is: w = t // (2n + 1), r = t % (2n + 1); r = 0 halts; otherwise move = (r - 1) // n
  (0 = L, 1 = R) and next state = (r - 1) % n (0 = A).

Description bits (the prior). The Machine productions carry a prefix code for n: by
default Elias gamma, tm<n> = 2 floor(log2 n) + 1 bits (tm1 1, tm2 and tm3 3, tm4 .. tm7
5 bits). These defaults are ordinary bit overrides and apply while the caller neither
gives bits for nor bans any Machine production (as `dsl.seq.primitives` does for Nat);
once it does, Machine is treated like every other type (given bits are kept, the other
Machine productions share what is left uniformly). Every T<n> production gets the
Grammar's uniform share, log2(4n + 2) bits, so all (4n+2)^(2n) machines of size n are
equally likely: a machine of n states costs gamma(n) + 2n log2(4n + 2) bits.

Bits are integer millibits rounded up (dsl.grammar), so each transition costs
ceil(1000 log2(4n + 2)) / 1000 bits (n=1: 2.585, 2: 3.322, 3: 3.808, 4: 4.170): the
uniform code over transitions has Kraft mass (4n+2) 2^-that slightly below 1 (0.99955
to 0.99997 for n <= 4: the price of exact integer lengths); machines of one size stay
exactly equally likely. The Kraft sum of the whole grammar is
sum_n 2^-gamma(n) * ((4n+2) 2^-bits(T<n>))^(2n), below 1 (see docs/tm.md).

`states` selects which n exist: grammar(states=[3]) has exactly the 3-state machines
(the other `tm<n>` are banned). `states` is not a caller's ban: the remaining Machine
productions keep their default (Elias gamma) bits, so a machine's description length
does not depend on which other sizes are in the grammar.

Cost model (specified in `dsl.tm.reference`): each transition executed costs its
production's step cost (default 1, halting included); the Machine production costs its
step cost once (default 0). So by default simulated steps = machine steps, with the
halting transition counted (the 2-state champion takes 6).
"""
from __future__ import annotations

from typing import Iterable, Mapping, Sequence

from dsl.errors import DslError
from dsl.grammar import Grammar, Production

# Semantic opcode kinds (Production.op), repeated in dsl/tm/kernels.py.
K_MACHINE, K_MOVE, K_HALT = 0, 1, 2
# Moves (the `move` part of a K_MOVE operand).
LEFT, RIGHT = 0, 1

#: Default max_states of `grammar()`.
MAX_STATES = 4

STATE_NAMES = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def state_name(s: int) -> str:
    """Name of state s (0 = A)."""
    if not 0 <= s < len(STATE_NAMES):
        raise DslError(f"state {s} has no name (at most {len(STATE_NAMES)} states)")
    return STATE_NAMES[s]


def encode(write: int, move: int, state: int) -> int:
    """Operand of a K_MOVE production: write + 2 * move + 4 * state."""
    return write + 2 * move + 4 * state


def decode(operand: int) -> tuple[int, int, int]:
    """(write, move, state) of a K_MOVE operand."""
    return operand & 1, (operand >> 1) & 1, operand >> 2


def transitions(n: int) -> list[tuple[str, int, int]]:
    """(name, op kind, operand) of the 4n + 2 transitions of an n-state machine, in order.

    Halting transitions have operand w; moving ones encode(w, move, state)."""
    out = []
    for w in (0, 1):
        out.append((f"{w}H", K_HALT, w))
        for move, letter in ((LEFT, "L"), (RIGHT, "R")):
            for s in range(n):
                out.append((f"{w}{letter}{state_name(s)}", K_MOVE, encode(w, move, s)))
    return out


def transition_digit(n: int, write: int, move: int | None, state: int | None) -> int:
    """Place of a transition among the 4n + 2 (move None: halting)."""
    if move is None:
        return write * (2 * n + 1)
    return write * (2 * n + 1) + 1 + move * n + state


def elias_gamma_bits(n: int) -> int:
    """Length of Elias gamma's code for n >= 1: 2 floor(log2 n) + 1."""
    return 2 * (n.bit_length() - 1) + 1


def productions(max_states: int = MAX_STATES) -> list[Production]:
    """Every production for machines of 1 .. max_states states, in grammar order:
    tm1 .. tm<max>, then T1's transitions, T2's, ..."""
    if max_states < 1:
        raise DslError(f"max_states must be at least 1, got {max_states}")
    state_name(max_states - 1)  # raises past Z
    prods = [Production(f"tm{n}", "Machine", (f"T{n}",) * (2 * n), K_MACHINE, n, 0)
             for n in range(1, max_states + 1)]
    for n in range(1, max_states + 1):
        prods += [Production(name, f"T{n}", (), kind, operand, 1) for name, kind, operand in transitions(n)]
    return prods


def default_machine_bits(max_states: int) -> dict[str, float]:
    """Elias gamma bits of every Machine production."""
    return {f"Machine.tm{n}": float(elias_gamma_bits(n)) for n in range(1, max_states + 1)}


def grammar(max_states: int = MAX_STATES, *, bits: Mapping[str, float] | None = None,
            ban: Sequence[str] = (), cost: Mapping[str, int] | None = None,
            states: Iterable[int] | None = None) -> Grammar:
    """The TM grammar (start type Machine) with overrides, bans and a state selection.

    `states`: the state counts that exist (default 1 .. max_states); max_states is
    raised to the largest of them. Transition step costs must stay >= 1 (the step cap
    then bounds the machine's moves, hence its tape)."""
    selected = sorted(set(states)) if states is not None else list(range(1, max_states + 1))
    if not selected:
        raise DslError("states selects no state count")
    if selected[0] < 1:
        raise DslError(f"state counts must be >= 1, got {selected[0]}")
    max_states = max(max_states, selected[-1])
    prods = productions(max_states)
    ban = tuple(ban or ())
    bits = dict(bits or {})
    plain = Grammar(prods, "Machine")  # only to resolve names (unknown ones raise here too)
    touched = {i for name in list(bits) + list(ban) for i in plain.resolve(name)}
    unselected = [f"Machine.tm{n}" for n in range(1, max_states + 1) if n not in selected]
    if not any(prods[i].type == "Machine" for i in touched):
        defaults = {k: v for k, v in default_machine_bits(max_states).items() if k not in unselected}
        bits = {**defaults, **bits}
    g = Grammar(prods, "Machine", bits=bits, ban=ban + tuple(unselected), cost=cost)
    check_costs(g)
    return g


def check_costs(g: Grammar) -> None:
    """Transitions must cost at least one step (so a step cap bounds every run)."""
    for i, p in enumerate(g.productions):
        if p.op != K_MACHINE and g.step_cost[i] < 1:
            raise DslError(f"cost of {p.qualified} must be >= 1 (got {g.step_cost[i]}): "
                           "a free transition could run forever under any step cap")


def n_states(g: Grammar) -> int:
    """Largest state count the grammar has productions for."""
    return max(p.operand for p in g.productions if p.op == K_MACHINE)


def machine_production(g: Grammar, n: int) -> int:
    """Production id of tm<n>."""
    return g.resolve(f"Machine.tm{n}")[0]


def transition_productions(g: Grammar, n: int) -> list[int]:
    """Production ids of T<n>'s transitions, in order (digit t -> id)."""
    return [i for i, p in enumerate(g.productions) if p.type == f"T{n}"]
