"""The seq DSL's productions, in grammar order (which is also the enumeration tie order).

A program predicts term a(t) of an integer sequence from the index t and the previous
terms. Types: Expr (the start type: an int64 value), Bool (a test) and Nat (a positive
constant, written in binary: `one`, then `bit0`/`bit1` append a bit, innermost first).

Description bits. Expr and Bool productions share their type's probability uniformly
(unless overridden). Nat is fixed by default to one = 1 bit, bit0 = bit1 = 2 bits, so
the constant n costs exactly Elias gamma's 2*floor(log2 n) + 1 bits on top of the
`const` production's own bits. These defaults are ordinary bit overrides: they apply
while the caller neither gives bits for nor bans any Nat production; once it does,
Nat is treated like every other type (bits given are kept, the other Nat productions
share what is left uniformly).

Profiles (`grammar(profile=...)`):
- `default`: the productions above.
- `history`: everything in `default` (same productions, same ids, same order) and, after
  them, four Expr productions that read the whole history of terms so far: `(hist E)`
  (the term E steps back), `(fold E)` (a left fold of E over every earlier term) and the
  fold's two leaves `h` (the term being read) and `acc` (the accumulator). Reading costs
  simulated steps in proportion to what is read (see `dsl.seq.reference`).

Semantics and the cost model are specified in `dsl.seq.reference`.
"""
from __future__ import annotations

from typing import Mapping, Sequence

from dsl.errors import DslError
from dsl.grammar import Grammar, Production

# Semantic opcodes understood by both interpreters (repeated in dsl/seq/kernels.py).
E_T, E_X1, E_X2, E_K, E_C0, E_CONST = 0, 1, 2, 3, 4, 5
E_ADD, E_SUB, E_MUL, E_DIV, E_MOD = 6, 7, 8, 9, 10
E_IF, E_FIND = 11, 12
B_LT, B_EQ, B_NOT, B_AND = 13, 14, 15, 16
N_ONE, N_BIT0, N_BIT1 = 17, 18, 19
# history profile
E_HIST, E_FOLD, E_H, E_ACC = 20, 21, 22, 23

PROFILES = ("default", "history")
#: Productions that read the history beyond x1 and x2 (a program containing one is a
#: history reader: the `history` flag and fields).
HISTORY_NAMES = ("hist", "fold")

#: `find` tests candidates k = 0 .. min(bound, FIND_LIMIT) - 1 (passed to the kernels).
FIND_LIMIT = 64


#: Default Nat bits: Elias gamma (see the module docstring).
NAT_BITS = {"Nat.one": 1.0, "Nat.bit0": 2.0, "Nat.bit1": 2.0}


def productions(profile: str = "default") -> list[Production]:
    """Every production of the seq DSL under `profile`, in grammar order."""
    if profile not in PROFILES:
        raise DslError(f"unknown grammar profile {profile!r} for seq (known: {', '.join(PROFILES)})")
    out = [
        Production("t", "Expr", (), E_T),
        Production("x1", "Expr", (), E_X1),
        Production("x2", "Expr", (), E_X2),
        Production("k", "Expr", (), E_K),
        Production("c0", "Expr", (), E_C0),
        Production("const", "Expr", ("Nat",), E_CONST),
        Production("add", "Expr", ("Expr", "Expr"), E_ADD),
        Production("sub", "Expr", ("Expr", "Expr"), E_SUB),
        Production("mul", "Expr", ("Expr", "Expr"), E_MUL),
        Production("div", "Expr", ("Expr", "Expr"), E_DIV),
        Production("mod", "Expr", ("Expr", "Expr"), E_MOD),
        Production("if", "Expr", ("Bool", "Expr", "Expr"), E_IF),
        Production("find", "Expr", ("Expr", "Bool"), E_FIND),
        Production("lt", "Bool", ("Expr", "Expr"), B_LT),
        Production("eq", "Bool", ("Expr", "Expr"), B_EQ),
        Production("not", "Bool", ("Bool",), B_NOT),
        Production("and", "Bool", ("Bool", "Bool"), B_AND),
        Production("one", "Nat", (), N_ONE),
        Production("bit0", "Nat", ("Nat",), N_BIT0),
        Production("bit1", "Nat", ("Nat",), N_BIT1),
    ]
    if profile == "default":
        return out
    # history: appended after every default production, so default opcode ids keep their
    # meaning; this order is the enumeration tie order among them.
    return out + [
        Production("hist", "Expr", ("Expr",), E_HIST),
        Production("fold", "Expr", ("Expr",), E_FOLD),
        Production("h", "Expr", (), E_H),
        Production("acc", "Expr", (), E_ACC),
    ]


def grammar(*, bits: Mapping[str, float] | None = None, ban: Sequence[str] | None = None,
            cost: Mapping[str, int] | None = None, profile: str | None = None) -> Grammar:
    """The seq grammar (start type Expr) of `profile` (default: "default") with overrides
    and bans applied."""
    prods = productions(profile or "default")
    ban = tuple(ban or ())
    bits = dict(bits or {})
    plain = Grammar(prods, "Expr")  # only to resolve names (unknown ones raise here too)
    touched = {i for name in list(bits) + list(ban) for i in plain.resolve(name)}
    if not any(prods[i].type == "Nat" for i in touched):
        bits = {**NAT_BITS, **bits}
    return Grammar(prods, "Expr", bits=bits, ban=ban, cost=cost)
