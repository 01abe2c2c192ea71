"""The grid DSL's productions, in grammar order (which is also the enumeration tie order).

Types: Action (what to do this step), Bool (a test of the current state),
Pred (a property of one cell) and Dir (a compass direction).
"""
from __future__ import annotations

from dsl.grammar import Grammar, Production
from dsl.grid.world import COLOURS, DIRECTIONS, FEATURES, KINDS

# Semantic opcodes understood by both interpreters.
A_MOVE, A_IF, A_PLAN, A_GREEDY = 0, 1, 2, 3
B_SENSE, B_SEE, B_NOT, B_AND = 4, 5, 6, 7
P_FEATURE, P_AND, P_OR, P_NOT = 8, 9, 10, 11
D_DIR = 12



def productions() -> list[Production]:
    """Every production of the grid DSL, in grammar order."""
    out = [Production(d, "Action", (), A_MOVE, k) for k, d in enumerate(DIRECTIONS)]
    out += [
        Production("if", "Action", ("Bool", "Action", "Action"), A_IF),
        Production("plan", "Action", ("Pred",), A_PLAN),
        Production("greedy", "Action", ("Pred",), A_GREEDY),
        Production("sense", "Bool", ("Dir", "Pred"), B_SENSE),
        Production("see", "Bool", ("Pred",), B_SEE),
        Production("not", "Bool", ("Bool",), B_NOT),
        Production("and", "Bool", ("Bool", "Bool"), B_AND),
    ]
    for name in COLOURS + KINDS + ("wall", "empty"):
        out.append(Production(name, "Pred", (), P_FEATURE, FEATURES.index(name)))
    out += [
        Production("and", "Pred", ("Pred", "Pred"), P_AND),
        Production("or", "Pred", ("Pred", "Pred"), P_OR),
        Production("not", "Pred", ("Pred",), P_NOT),
    ]
    out += [Production(d, "Dir", (), D_DIR, k) for k, d in enumerate(DIRECTIONS)]
    return out


def grammar(*, bits=None, ban=(), cost=None) -> Grammar:
    """The grid grammar (start type Action) with overrides and bans applied."""
    return Grammar(productions(), "Action", bits=bits, ban=ban, cost=cost)
