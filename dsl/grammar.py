"""Typed probabilistic grammars: productions, description bits, exact counts, Kraft mass.

A program is a tree of productions written in prefix order as an array of production
ids (opcodes). Its description length is the sum of its productions' bits: the length
of the prefix-free code that names, at each node, which production of the expected
type comes next, with production probability 2^-bits. Bits are kept as integers in
millibits (1/1000 bit, rounded up, so the Kraft inequality still holds) so that
lengths add exactly, ties are exact and programs can be enumerated in exact order.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from dsl.errors import DslError

MBITS_PER_BIT = 1000
#: Largest bit cost a production may be given (a longer one could never appear in an
#: enumeration, which stops at 48 bits) and largest step cost of one production (so
#: that simulated steps stay far inside int64).
MAX_PRODUCTION_BITS = 64
MAX_STEP_COST = 1_000_000
#: Largest count of programs of one length that fits the enumerator's int64 indices.
MAX_COUNT = 2**62


def bits_to_mbits(bits: float) -> int:
    """Round a bit cost up to whole millibits (rounding up keeps the Kraft sum <= 1)."""
    return int(math.ceil(bits * MBITS_PER_BIT - 1e-6))


@dataclass(frozen=True)
class Production:
    """One grammar production: `name` of result type `type` taking arguments `args`.

    `op` and `operand` tell the domain's interpreter what the production does;
    `cost` is its default simulated-step cost. `base` and `role` are set only by
    `with_definition`: a copy's `base` is the qualified name of the production it copies,
    and `role` is "let" or "ref" for the two productions a definition adds.
    """

    name: str
    type: str
    args: tuple[str, ...] = ()
    op: int = 0
    operand: int = 0
    cost: int = 1
    base: str = ""
    role: str = ""

    @property
    def qualified(self) -> str:
        return f"{self.type}.{self.name}"

    @property
    def arity(self) -> int:
        return len(self.args)


@dataclass
class LengthTable:
    """Exact program counts per type and length, up to `max_mbits`.

    `lengths` are the candidate lengths (every sum of production bits up to the bound);
    `counts[t][i]` is the number of programs of type index t with length `lengths[i]`;
    `suffix[(p, j)][i]` the number of argument tuples (args j.. of production p) whose
    lengths add to `lengths[i]`; `max_nodes` the largest program size within the bound.
    """

    max_mbits: int
    lengths: list[int]
    counts: list[list[int]]
    suffix: dict[tuple[int, int], list[int]]
    max_nodes: int


class Grammar:
    """A typed grammar with bit overrides, bans and step-cost overrides applied.

    Production ids are fixed by the domain's production list, so a program's opcodes
    mean the same thing under every ban and override; a banned production simply gets
    no probability (its bits are -1) and the rest of its type are renormalised.
    """

    def __init__(
        self,
        productions: Sequence[Production],
        start: str,
        *,
        bits: Mapping[str, float] | None = None,
        ban: Sequence[str] = (),
        cost: Mapping[str, int] | None = None,
    ):
        self.productions: tuple[Production, ...] = tuple(productions)
        types: list[str] = []
        for p in self.productions:
            if p.type not in types:
                types.append(p.type)
        self.types: tuple[str, ...] = tuple(types)
        if start not in self.types:
            raise DslError(f"start type {start!r} has no productions")
        self.start = start
        qualified = {p.qualified: i for i, p in enumerate(self.productions)}
        #: Per production, the production it copies (itself unless made by with_definition).
        self.origin: tuple[int, ...] = tuple(qualified[p.base] if p.base else i
                                             for i, p in enumerate(self.productions))
        roles = {p.role: i for i, p in enumerate(self.productions) if p.role}
        #: The definition's `let` and `ref` production ids (-1 without a definition).
        self.let_id: int = roles.get("let", -1)
        self.ref_id: int = roles.get("ref", -1)
        self.banned: frozenset[int] = frozenset(i for n in ban for i in self.resolve(n))
        self.bit_overrides: dict[str, float] = {}
        for name, value in (bits or {}).items():
            value = _number(value, f"bits for {name}")
            if not 0 <= value <= MAX_PRODUCTION_BITS:
                raise DslError(f"bits for {name} must be in [0, {MAX_PRODUCTION_BITS}], got {value:g}")
            for i in self.resolve(name):
                if i in self.banned:
                    raise DslError(f"{self.productions[i].qualified} is both banned and given bits")
                self.bit_overrides[self.productions[i].qualified] = value
        self.cost_overrides: dict[str, int] = {}
        for name, value in (cost or {}).items():
            value = _number(value, f"cost for {name}")
            if value < 0 or value != int(value) or value > MAX_STEP_COST:
                raise DslError(f"cost for {name} must be a whole number in [0, {MAX_STEP_COST:,}], got {value:g}")
            for i in self.resolve(name):
                self.cost_overrides[self.productions[i].qualified] = int(value)
        self.step_cost: tuple[int, ...] = tuple(
            self.cost_overrides.get(p.qualified, p.cost) for p in self.productions
        )
        self.mbits: tuple[int, ...] = self._assign_mbits()
        self.by_type: dict[str, tuple[int, ...]] = {
            t: tuple(i for i, p in enumerate(self.productions) if p.type == t and self.mbits[i] >= 0)
            for t in self.types
        }
        self._tables: dict[int, LengthTable] = {}

    # ----------------------------------------------------------------- names
    def resolve(self, name: str) -> list[int]:
        """Production ids named by `name`: `Type.name`, or a bare name that is unique."""
        if "." in name:
            found = [i for i, p in enumerate(self.productions) if p.qualified == name]
        else:
            found = [i for i, p in enumerate(self.productions) if p.name == name]
        if not found:
            known = ", ".join(sorted({p.name for p in self.productions}))
            raise DslError(f"unknown primitive {name!r} (known: {known})")
        # A production and its copies in a definition's body (with_definition) are one
        # primitive: its name, or its qualified name, names all of them; a copy's own
        # qualified name (e.g. Pred'.red) names that copy alone.
        if "." in name and self.productions[found[0]].base:
            return found
        found = sorted({self.origin[i] for i in found})
        if len(found) > 1:
            options = " or ".join(self.productions[i].qualified for i in found)
            raise DslError(f"ambiguous primitive {name!r}: write {options}")
        return [i for i, o in enumerate(self.origin) if o == found[0]]

    def _assign_mbits(self) -> tuple[int, ...]:
        mbits = [-1] * len(self.productions)
        for t in self.types:
            ids = [i for i, p in enumerate(self.productions) if p.type == t and i not in self.banned]
            fixed = [i for i in ids if self.productions[i].qualified in self.bit_overrides]
            rest = [i for i in ids if i not in fixed]
            fixed_mass = sum(2.0 ** -self.bit_overrides[self.productions[i].qualified] for i in fixed)
            if fixed_mass > 1 + 1e-9:
                raise DslError(
                    f"bits given for {t} productions have Kraft sum {fixed_mass:.4g} > 1; "
                    "raise some of them"
                )
            for i in fixed:
                mbits[i] = bits_to_mbits(self.bit_overrides[self.productions[i].qualified])
            if rest:
                left = 1.0 - fixed_mass
                if left <= 1e-9:
                    names = ", ".join(self.productions[i].qualified for i in rest)
                    raise DslError(f"bits given for {t} productions leave no probability for {names}")
                share = -math.log2(left / len(rest))
                for i in rest:
                    mbits[i] = bits_to_mbits(share)
        return tuple(mbits)

    # ----------------------------------------------------------------- basics
    def bits(self, production: int) -> float:
        """Description bits of one production (-1 when banned)."""
        m = self.mbits[production]
        return m / MBITS_PER_BIT if m >= 0 else -1.0

    def program_mbits(self, ops: Sequence[int]) -> int:
        """Description length of a program in millibits."""
        total = 0
        for op in ops:
            m = self.mbits[int(op)]
            if m < 0:
                raise DslError(f"program uses banned primitive {self.productions[int(op)].qualified}")
            total += m
        return total

    def program_bits(self, ops: Sequence[int]) -> float:
        """Description length of a program in bits."""
        return self.program_mbits(ops) / MBITS_PER_BIT

    def type_index(self, name: str) -> int:
        return self.types.index(name)

    # ----------------------------------------------------------------- counting
    def length_table(self, max_bits: float) -> LengthTable:
        """Exact counts of programs per type and length (dynamic programming over types)."""
        max_mbits = bits_to_mbits(max_bits)
        if max_mbits not in self._tables:
            self._tables[max_mbits] = self._count(max_mbits)
        return self._tables[max_mbits]

    def _count(self, max_mbits: int) -> LengthTable:
        active = [i for i in range(len(self.productions)) if self.mbits[i] >= 0]
        steps = sorted({self.mbits[i] for i in active if self.mbits[i] > 0})
        reach = np.zeros(max_mbits + 1, dtype=bool)
        reach[0] = True
        for level in range(max_mbits + 1):
            if reach[level]:
                for b in steps:
                    if level + b <= max_mbits:
                        reach[level + b] = True
        lengths = [int(x) for x in np.flatnonzero(reach)]
        index = {length: k for k, length in enumerate(lengths)}
        n = len(lengths)
        tix = {t: k for k, t in enumerate(self.types)}
        counts = [[0] * n for _ in self.types]
        nodes = [[0] * n for _ in self.types]  # largest program size per (type, length)
        suffix = {(p, j): [0] * n for p in active for j in range(self.productions[p].arity + 1)}
        suffix_nodes = {key: [0] * n for key in suffix}
        achievable: list[list[int]] = [[] for _ in self.types]  # length indices with count > 0
        for p in active:
            suffix[(p, self.productions[p].arity)][0] = 1

        for k, level in enumerate(lengths):
            for _ in range(len(self.types) + 2):
                changed = False
                for t, tname in enumerate(self.types):
                    total, biggest = 0, 0
                    for p in self.by_type[tname]:
                        rest = level - self.mbits[p]
                        if rest < 0 or rest not in index:
                            continue
                        c = suffix[(p, 0)][index[rest]]
                        if c:
                            total += c
                            biggest = max(biggest, 1 + suffix_nodes[(p, 0)][index[rest]])
                    if total != counts[t][k]:
                        changed = True
                        counts[t][k] = total
                        nodes[t][k] = biggest
                        if k not in achievable[t]:
                            achievable[t].append(k)
                for p in active:
                    args = self.productions[p].args
                    for j in range(len(args) - 1, -1, -1):
                        a = tix[args[j]]
                        total, biggest = 0, 0
                        for ka in achievable[a]:
                            la = lengths[ka]
                            if la > level:
                                break
                            rk = index.get(level - la)
                            if rk is None:
                                continue
                            c = suffix[(p, j + 1)][rk]
                            if c:
                                total += counts[a][ka] * c
                                biggest = max(biggest, nodes[a][ka] + suffix_nodes[(p, j + 1)][rk])
                        suffix[(p, j)][k] = total
                        suffix_nodes[(p, j)][k] = biggest
                if not changed:
                    break
            else:
                raise DslError(
                    f"the grammar has infinitely many programs of {level / MBITS_PER_BIT:g} bits "
                    "(a cycle of zero-bit productions); give those productions some bits"
                )
            # Suffix tables feed int64 products in the enumerator, so they must fit too.
            if any(values[k] > MAX_COUNT for values in suffix.values()):
                raise DslError(
                    f"more than 2^62 programs (argument combinations) of {level / MBITS_PER_BIT:g} bits: "
                    "lower max_bits"
                )
            for t in range(len(self.types)):
                if counts[t][k] > MAX_COUNT:
                    raise DslError(
                        f"more than 2^62 programs of {level / MBITS_PER_BIT:g} bits: "
                        "lower max_bits"
                    )
        start = tix[self.start]
        max_nodes = max([nodes[start][k] for k in range(n)] + [1])
        return LengthTable(max_mbits, lengths, counts, suffix, max_nodes)

    def counts_by_length(self, max_bits: float, type_name: str | None = None) -> list[tuple[int, int]]:
        """(length in millibits, exact number of programs) for every length with programs."""
        table = self.length_table(max_bits)
        t = self.type_index(type_name or self.start)
        return [(length, c) for length, c in zip(table.lengths, table.counts[t]) if c]

    def kraft_by_length(self, max_bits: float) -> list[tuple[int, int, float]]:
        """(length in millibits, count, Kraft mass = count * 2^-length) per length."""
        return [
            (length, c, c * 2.0 ** (-length / MBITS_PER_BIT))
            for length, c in self.counts_by_length(max_bits)
        ]

    def kraft_total(self, iterations: int = 20000) -> tuple[float, float]:
        """Bounds (lower, upper) on the Kraft sum of all finite programs of the start type."""
        lower, upper = self.kraft_by_type(iterations)
        start = self.type_index(self.start)
        return lower[start], upper[start]

    def kraft_by_type(self, iterations: int = 20000) -> tuple[list[float], list[float]]:
        """Bounds (lower, upper) on the Kraft sum of the finite programs of each type (in
        the order of `types`).

        The sums are the least fixed point of K_T = sum_p 2^-bits(p) prod K_args(p).
        Iterating from 0 gives increasing lower bounds; from 1, decreasing values that
        stay at or above it, so `upper` is a sound bound (never below the true sum).
        """
        tix = {t: i for i, t in enumerate(self.types)}

        def iterate(value: float) -> list[float]:
            k = [value] * len(self.types)
            for _ in range(iterations):
                new = []
                for t in self.types:
                    s = 0.0
                    for p in self.by_type[t]:
                        term = 2.0 ** (-self.mbits[p] / MBITS_PER_BIT)
                        for a in self.productions[p].args:
                            term *= k[tix[a]]
                        s += term
                    new.append(min(s, 1.0))
                if max(abs(x - y) for x, y in zip(new, k)) < 1e-15:
                    return new
                k = new
            return k

        return iterate(0.0), iterate(1.0)

    # ----------------------------------------------------------------- kernel tables
    def production_tables(self) -> dict[str, np.ndarray]:
        """Per production its millibits (int64 [P], -1 banned), arity (int32 [P]) and
        argument types (int32 [P, max arity], -1 padded), and the start type: what the
        compiled enumerator and the prior sampler both read."""
        tix = {t: k for k, t in enumerate(self.types)}
        max_arity = max((p.arity for p in self.productions), default=0)
        prod_args = np.full((len(self.productions), max(max_arity, 1)), -1, dtype=np.int32)
        for i, p in enumerate(self.productions):
            for j, a in enumerate(p.args):
                prod_args[i, j] = tix[a]
        return dict(prod_mbits=np.array(self.mbits, dtype=np.int64),
                    prod_arity=np.array([p.arity for p in self.productions], dtype=np.int32),
                    prod_args=prod_args, start=np.int32(tix[self.start]))

    def enumeration_tables(self, max_bits: float) -> dict[str, np.ndarray]:
        """Arrays the compiled enumerator needs (all int64/int32, no Python objects)."""
        table = self.length_table(max_bits)
        n, ntypes, nprod = len(table.lengths), len(self.types), len(self.productions)
        width = max(len(v) for v in self.by_type.values()) or 1
        type_prods = np.full((ntypes, width), -1, dtype=np.int32)
        n_type_prods = np.zeros(ntypes, dtype=np.int32)
        for t, name in enumerate(self.types):
            ids = self.by_type[name]
            type_prods[t, : len(ids)] = ids
            n_type_prods[t] = len(ids)
        productions = self.production_tables()
        max_arity = productions["prod_args"].shape[1]
        counts = np.array(table.counts, dtype=np.int64).reshape(ntypes, n)
        achievable = np.full((ntypes, n), -1, dtype=np.int32)
        n_achievable = np.zeros(ntypes, dtype=np.int32)
        for t in range(ntypes):
            ks = [k for k in range(n) if table.counts[t][k]]
            achievable[t, : len(ks)] = ks
            n_achievable[t] = len(ks)
        suffix = np.zeros((nprod, max_arity + 1, n), dtype=np.int64)
        for (p, j), values in table.suffix.items():
            suffix[p, j, :] = values
        length_index = np.full(table.max_mbits + 1, -1, dtype=np.int32)
        length_index[np.array(table.lengths)] = np.arange(n, dtype=np.int32)
        return dict(
            lengths=np.array(table.lengths, dtype=np.int64),
            length_index=length_index,
            counts=counts,
            achievable=achievable,
            n_achievable=n_achievable,
            type_prods=type_prods,
            n_type_prods=n_type_prods,
            suffix=suffix,
            max_nodes=np.int32(table.max_nodes),
            **productions,
        )

    def describe(self) -> list[dict]:
        """One record per production: the grammar as users see it."""
        return [
            dict(
                name=p.name,
                qualified=p.qualified,
                type=p.type,
                args=list(p.args),
                bits=self.bits(i),
                mbits=self.mbits[i],
                cost=self.step_cost[i],
                banned=i in self.banned,
            )
            for i, p in enumerate(self.productions)
        ]


def _number(value, what: str) -> float:
    if isinstance(value, bool):
        raise DslError(f"{what} must be a number, got {value!r}")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise DslError(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(x):
        raise DslError(f"{what} must be finite, got {value!r}")
    return x


#: Suffix of the copy of a type inside a definition's body (Pred -> Pred').
BODY_SUFFIX = "'"


def with_definition(productions: Sequence[Production], start: str, defined: str, *, let_op: int, ref_op: int,
                    let_cost: int = 0, ref_cost: int = 0) -> list[Production]:
    """`productions` (ids and order unchanged) plus one optional definition per program:
    a program of type `start` may be `(let D B)`, where D is an expression of type
    `defined` (the definition, built from the original productions, so it holds no
    definition or `ref` itself) and B a body in which the leaf `ref` stands for D.

    The grammar stays context-free: the body is typed in copies T' of every type T from
    which `defined` can be reached (start' and defined' included; other types are shared),
    with the same productions (same names, ops, operands and costs, `base` set to the
    original's qualified name) and one more leaf in defined': `ref`. `let` (start, args
    (defined, start')) is appended to the start type, the copies after it, `ref` last, so
    a program's description length counts D once and every use costs the bits of `ref`.
    Only the start type has `let`, so a program has at most one definition, at its root.
    `let_op` / `ref_op` tell the domain's interpreter what `let` and `ref` are; their
    default step costs are `let_cost` and `ref_cost` (see the domain's interpreter for
    what a use charges)."""
    productions = list(productions)
    types = {p.type for p in productions}
    for t in (start, defined):
        if t not in types:
            raise DslError(f"type {t!r} has no productions")
    if any(p.role or p.base for p in productions):
        raise DslError("the grammar already has a definition (with_definition applies once)")
    # Types from which `defined` is reachable: they must be copied (their bodies can hold ref).
    reach = {defined}
    grew = True
    while grew:
        grew = False
        for p in productions:
            if p.type not in reach and any(a in reach for a in p.args):
                reach.add(p.type)
                grew = True
    if start not in reach:
        raise DslError(f"no {start} program can contain a {defined}: nothing to define")

    def copy(t: str) -> str:
        return t + BODY_SUFFIX if t in reach else t

    taken = {p.type for p in productions}
    clash = sorted(copy(t) for t in reach if copy(t) in taken)
    if clash:
        raise DslError(f"type name {clash[0]!r} is taken; it would name a definition's body type")
    out = productions + [Production("let", start, (defined, copy(start)), let_op, 0, let_cost, role="let")]
    out += [Production(p.name, copy(p.type), tuple(copy(a) for a in p.args), p.op, p.operand, p.cost, base=p.qualified)
            for p in productions if p.type in reach]
    out.append(Production("ref", copy(defined), (), ref_op, 0, ref_cost, role="ref"))
    return out


def inline_definition(ops: Sequence[int], grammar: Grammar) -> np.ndarray:
    """The definition-free program equivalent to `ops`: every `(let D B)` replaced by B
    with each `ref` replaced by D and each copied production by its original (int32
    opcodes). Programs without a definition come back unchanged. (The description length
    differs: D is counted once per use, and the body is priced in the original types.)"""
    ops = [int(x) for x in ops]
    if grammar.let_id < 0 or grammar.let_id not in ops:
        return np.array(ops, dtype=np.int32)
    out: list[int] = []
    definition: list[int] = []
    i = 0
    while i < len(ops):
        if ops[i] == grammar.let_id:  # bodies hold no let: every ref belongs to the last let
            end, need = i + 1, 1
            while need:
                if end >= len(ops):
                    raise DslError("program ends inside a definition")
                need += grammar.productions[ops[end]].arity - 1
                end += 1
            definition, i = ops[i + 1:end], end
            continue
        out.extend(definition if ops[i] == grammar.ref_id else (grammar.origin[ops[i]],))
        i += 1
    return np.array(out, dtype=np.int32)


def kernel_tables(grammar: Grammar) -> dict[str, np.ndarray]:
    """The per-production arrays a domain's compiled interpreter takes: opcode kind,
    operand, arity (int32 [P]) and step cost (int64 [P])."""
    return dict(
        op_kind=np.array([p.op for p in grammar.productions], dtype=np.int32),
        op_arg=np.array([p.operand for p in grammar.productions], dtype=np.int32),
        op_arity=np.array([p.arity for p in grammar.productions], dtype=np.int32),
        step_cost=np.array(grammar.step_cost, dtype=np.int64),
    )
