"""The seq domain: grammar bits and counts, hand-checked semantics and steps, and parity
of the compiled interpreter (predict_batch, fit_batch) with the reference."""
from __future__ import annotations

from math import isqrt

import numba
import numpy as np
import pytest

from conftest import pad_ops, unranked_programs
from dsl.errors import DslError
from dsl.grammar import Grammar
from dsl.seq import kernels
from dsl.seq.interpreter import SeqInterpreter
from dsl.seq import primitives as sp
from dsl.seq.reference import INT64_MAX, INT64_MIN, SeqReference, wrap
from dsl.syntax import parse, unparse
from levinsearch.enumerate import Enumerator, reference_programs

G = sp.grammar()
NO_CAP = np.int64(1) << 62
EXPR = 3701  # log2(13) = 3.7004... bits, rounded up to millibits


def ops_of(text: str, grammar: Grammar = G) -> list[int]:
    return parse(text, grammar).tolist()


def nat_text(n: int) -> str:
    """The Nat naming n >= 1: `one`, then one bit0/bit1 per further binary digit."""
    text = "one"
    for digit in bin(n)[3:]:
        text = f"(bit{digit} {text})"
    return text


def const(n: int) -> str:
    return f"(const {nat_text(n)})"


def kernel_predict(grammar: Grammar, programs, terms, n=None, find_limit=sp.FIND_LIMIT):
    terms = np.asarray(terms, dtype=np.int64)
    n = len(terms) if n is None else n
    ops, sizes = pad_ops(programs)
    return SeqInterpreter(grammar, find_limit).predict(ops, sizes, terms, n)


def kernel_fit(grammar: Grammar, programs, terms, n_train, caps=None, find_limit=sp.FIND_LIMIT):
    """fits, first_error and verdict steps with exact fit (no errors allowed)."""
    fits, first, _, verdict = kernel_fit_errors(grammar, programs, terms, n_train, caps, find_limit)
    return fits, first, verdict


def kernel_fit_errors(grammar: Grammar, programs, terms, n_train, caps=None, find_limit=sp.FIND_LIMIT,
                      max_errors=0):
    terms = np.asarray(terms, dtype=np.int64)
    ops, sizes = pad_ops(programs)
    caps = np.full(len(programs), NO_CAP, dtype=np.int64) if caps is None else caps
    return SeqInterpreter(grammar, find_limit).fit(ops, sizes, terms, n_train, caps, max_errors)


# ------------------------------------------------------------------ grammar
def test_default_bits():
    mb = {p.qualified: G.mbits[i] for i, p in enumerate(G.productions)}
    assert all(mb[p.qualified] == EXPR for p in G.productions if p.type == "Expr")
    assert all(mb[p.qualified] == 2000 for p in G.productions if p.type == "Bool")
    assert (mb["Nat.one"], mb["Nat.bit0"], mb["Nat.bit1"]) == (1000, 2000, 2000)
    assert len(G.productions) == 20 and G.start == "Expr"


def test_kernel_opcodes_match_primitives():
    names = [n for n in dir(sp) if n[:2] in ("E_", "B_", "N_") and n[2:].isupper()]
    assert len(names) == 24  # 20 default opcodes and the history profile's 4
    for name in names:
        assert getattr(kernels, name) == getattr(sp, name), name
    assert sorted(p.op for p in G.productions) == list(range(20))
    assert sorted(p.op for p in sp.grammar(profile="history").productions) == list(range(24))


def test_constants_are_elias_gamma():
    ops = ops_of("(const (bit1 (bit0 one)))")
    assert G.program_mbits(ops) == EXPR + 5000  # const's bits + 5 bits
    assert SeqReference(G).predict(ops, [], 0) == (5, 4)
    ref = SeqReference(G)
    for n in list(range(1, 70)) + [1000, 2**40 + 3]:
        ops = ops_of(const(n))
        assert G.program_mbits(ops) == EXPR + 1000 * (2 * (n.bit_length() - 1) + 1)
        value, steps = ref.predict(ops, [], 0)
        assert value == n and steps == 1 + n.bit_length()  # const + one node per binary digit


def test_nat_defaults_are_overridable():
    g = sp.grammar(bits={"one": 3})  # the rest of Nat shares what is left: 7/8 over two
    assert [g.mbits[i] for i in g.resolve("one") + g.resolve("bit0") + g.resolve("bit1")] == [3000, 1193, 1193]
    g = sp.grammar(ban=["bit1"])
    assert g.mbits[g.resolve("one")[0]] == 1000 and g.mbits[g.resolve("bit0")[0]] == 1000
    assert g.mbits[g.resolve("bit1")[0]] == -1
    g = sp.grammar(bits={"add": 1}, cost={"find": 3})  # other types keep the Nat defaults
    assert g.mbits[g.resolve("add")[0]] == 1000 and g.mbits[g.resolve("t")[0]] == 4585  # log2(24)
    assert g.mbits[g.resolve("one")[0]] == 1000 and g.mbits[g.resolve("bit1")[0]] == 2000
    assert g.step_cost[g.resolve("find")[0]] == 3
    with pytest.raises(DslError):
        sp.grammar(bits={"nope": 1})


def test_syntax_round_trip():
    for text in ("(add x1 x2)", "(if (not (lt t k)) c0 (find x2 (and (eq k t) (lt k x1))))",
                 "(mod t (const (bit0 one)))", "(div (sub c0 t) (mul x1 k))"):
        assert unparse(parse(text, G), G) == text


# ------------------------------------------------------------------ counts
# Expr lengths below 17 bits, by hand (e = 3.701 bits per Expr production, const n costs
# e + 2*floor(log2 n) + 1, Bool lt/eq 2 bits):
#   leaves (t x1 x2 k c0): e -> 5;  const: e+1 -> 1, e+3 -> 2, e+5 -> 4, e+7 -> 8, e+9 -> 16,
#   e+11 -> 32, e+13 -> 64;  binary ops (5 of them) over two Exprs: 3e -> 5*25, 3e+1 ->
#   5*(5+5), 3e+2 -> 5*1, 3e+3 -> 5*(2*5*2), 3e+4 -> 5*(2*1*2), 3e+5 -> 5*(2*5*4);
#   (find leaf (lt|eq leaf leaf)): 4e+2 -> 5*2*25. `if` needs 5e+2 > 17 bits.
HAND_COUNTS_17 = {
    EXPR: 5, EXPR + 1000: 1, EXPR + 3000: 2, EXPR + 5000: 4, EXPR + 7000: 8, EXPR + 9000: 16,
    EXPR + 11000: 32, EXPR + 13000: 64,
    3 * EXPR: 125, 3 * EXPR + 1000: 50, 3 * EXPR + 2000: 5, 3 * EXPR + 3000: 100, 3 * EXPR + 4000: 20,
    3 * EXPR + 5000: 200, 4 * EXPR + 2000: 250,
}


def test_counts_by_hand():
    assert dict(G.counts_by_length(17)) == HAND_COUNTS_17
    assert sum(HAND_COUNTS_17.values()) == 882
    small = {EXPR: 5, EXPR + 1000: 1, EXPR + 3000: 2, EXPR + 5000: 4, EXPR + 7000: 8,
             3 * EXPR: 125, 3 * EXPR + 1000: 50}
    assert dict(G.counts_by_length(12.2)) == small
    # Bool and Nat counts
    assert dict(G.counts_by_length(12, "Nat")) == {1000 * (2 * j + 1): 2**j for j in range(6)}
    assert dict(G.counts_by_length(11.5, "Bool")) == {2 * EXPR + 2000: 50, 2 * EXPR + 3000: 20,
                                                     2 * EXPR + 4000: 2 + 50}


def test_counts_match_brute_force_and_enumerator():
    for max_bits in (12.2, 17, 20.6):
        brute = reference_programs(G, max_bits)
        counts: dict[int, int] = {}
        for mbits, _ in brute:
            counts[mbits] = counts.get(mbits, 0) + 1
        assert dict(G.counts_by_length(max_bits)) == counts
        en = Enumerator(G, max_bits)
        got = [tuple(b.ops[i, : b.sizes[i]].tolist()) for b in en.batches(batch_size=97) for i in range(len(b))]
        assert got == [ops for _, ops in brute]
    assert len(reference_programs(G, 17)) == 882


# ------------------------------------------------------------------ hand-written programs
def check(text, terms, values, steps, n=None, grammar=G, find_limit=sp.FIND_LIMIT):
    """Reference and kernel both give exactly `values` and `steps`."""
    ops = ops_of(text, grammar)
    n = len(values) if n is None else n
    ref = SeqReference(grammar, find_limit)
    assert ref.run(ops, terms, n) == (list(values), list(steps)), text
    preds, got_steps = kernel_predict(grammar, [ops], terms, n, find_limit)
    assert preds[0].tolist() == list(values), text
    assert got_steps[0].tolist() == list(steps), text


def test_fibonacci():
    fib = [0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55]
    # teacher-forced: a(1) is predicted from x1 = a(0) = 0, x2 = 0
    check("(add x1 x2)", fib, [0, 0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89], [3] * 12, n=12)
    check("(if (lt t (const (bit0 one))) t (add x1 x2))", fib, fib, [7, 7] + [9] * 9)
    programs = [ops_of("(add x1 x2)"), ops_of("(if (lt t (const (bit0 one))) t (add x1 x2))")]
    fits, first, verdict = kernel_fit(G, programs, fib, 11)
    assert fits.tolist() == [False, True] and first.tolist() == [1, -1]
    assert verdict.tolist() == [6, 2 * 7 + 9 * 9]


def test_squares_and_parity():
    squares = [t * t for t in range(10)]
    check("(mul t t)", squares, squares, [3] * 10)
    check("(mod t (const (bit0 one)))", [0] * 7, [0, 1, 0, 1, 0, 1, 0], [5] * 7)
    check("(add k t)", [0] * 4, [0, 1, 2, 3], [3] * 4)  # k is 0 outside a find
    check("(sub x2 c0)", [7, -8, 9, -10], [0, 0, 7, -8, 9], [3] * 5, n=5)


def test_find_smallest_root_above():
    # the smallest k with k*k > t: k = isqrt(t) + 1, testing k + 1 candidates of 5 steps
    text = f"(find {const(8)} (lt t (mul k k)))"
    ts = range(70)
    values = [isqrt(t) + 1 if isqrt(t) + 1 < 8 else 8 for t in ts]
    steps = [1 + 5 + 5 * (isqrt(t) + 2) if isqrt(t) + 1 < 8 else 1 + 5 + 5 * 8 for t in ts]
    check(text, [0] * 70, values, steps)
    assert values[:10] == [1, 2, 2, 2, 3, 3, 3, 3, 3, 4] and steps[:5] == [16, 21, 21, 21, 26]
    assert values[64] == 8 and steps[64] == 46


def test_find_bounds_and_limit():
    # no candidate holds: the bound clipped to [0, FIND_LIMIT]; a bound <= 0 tests nothing
    check("(find x1 (lt t c0))", [5, -3, 1000, 0, 64, 65], [0, 5, 0, 64, 0, 64, 64],
          [2, 2 + 3 * 5, 2, 2 + 3 * 64, 2, 2 + 3 * 64, 2 + 3 * 64], n=7)
    check("(find x1 (eq k (const (bit1 (bit1 one)))))", [INT64_MAX, INT64_MIN, 7, 8],
          [0, 7, 0, 7, 7], [2, 2 + 8 * 6, 2, 2 + 7 * 6, 2 + 8 * 6], n=5)
    # another limit, passed to both interpreters
    check("(find x1 (lt t c0))", [5, 100, 3], [0, 5, 5, 3], [2, 2 + 15, 2 + 15, 2 + 9], find_limit=5)


def test_nested_finds():
    # outer K: the smallest K for which some j < K has j*j > t (the inner find, bounded by
    # the outer k, returns that j < K or K itself): K = isqrt(t) + 2.
    text = f"(find {const(8)} (lt (find k (lt t (mul k k))) k))"
    ts = range(30)

    def steps(t):
        s = isqrt(t)
        # find + const 8, then per outer candidate K = 0 .. s+2: lt, inner find, its bound k,
        # the second k, and 5 per inner candidate (min(K, s+2) of them)
        return 6 + sum(4 + 5 * min(K, s + 2) for K in range(s + 3))

    check(text, [0] * 30, [isqrt(t) + 2 for t in ts], [steps(t) for t in ts])
    assert [steps(t) for t in range(5)] == [33, 52, 52, 52, 76]
    # The inner k shadows the outer (the inner test sees its own candidate, 0, and holds at
    # once), and the outer is back after the inner find: the outer candidate K is the
    # smallest with K = x1. Steps: find + const 3 = 4, then per K: and 1, eq 1, inner find
    # 1 + t 1 + (3 if t >= 1: one candidate tested), c0 1, eq 1 + k 1 + x1 1 = 8 + 3[t >= 1].
    check("(find (const (bit1 one)) (and (eq (find t (eq k c0)) c0) (eq k x1)))", [2, 0, 1],
          [0, 2, 0, 1], [4 + 8, 4 + 3 * 11, 4 + 11, 4 + 2 * 11], n=4)


def test_division_and_modulo():
    minus = "(sub c0 (const one))"
    check("(div t c0)", [0] * 3, [0, 0, 0], [3] * 3)
    check("(mod t c0)", [0] * 3, [0, 0, 0], [3] * 3)
    # t: 0 (0 by 0), 1 (7 by 0), 2 (-7 by 7), 3 (2 by -7), 4 (-2 by 2), 5 (0 by -2)
    check("(div x1 x2)", [7, -7, 2, -2, 0], [0, 0, -1, -1, -1, 0], [3] * 6, n=6)
    check("(mod x1 x2)", [7, -7, 2, -2, 0], [0, 0, 0, -5, 0, 0], [3] * 6, n=6)
    # -7 mod 3 = 2, -1 mod 3 = 2, 5 mod 3 = 2, -2^63 mod 3 = 1
    check("(mod x1 (const (bit1 one)))", [-7, -1, 5, INT64_MIN], [0, 2, 2, 2, 1], [5] * 5, n=5)
    check("(mod x1 (sub c0 (const (bit1 one))))", [7, -1, 5, 3], [0, -2, -1, -1, 0], [7] * 5, n=5)
    check("(div x1 (sub c0 (const (bit1 one))))", [7, -1, 5, -9], [0, -3, 0, -2, 3], [7] * 5, n=5)
    # INT64_MIN div -1 wraps to INT64_MIN; mod -1 is 0
    check(f"(div x1 {minus})", [INT64_MIN, 5], [0, INT64_MIN, -5], [6] * 3)
    check(f"(mod x1 {minus})", [INT64_MIN, 5], [0, 0, 0], [6] * 3)
    check("(div x1 x2)", [INT64_MIN, INT64_MIN, INT64_MAX], [0, 0, 1, -1], [3] * 4)


def test_div_mod_on_many_operands():
    vals = [0, 1, -1, 2, -2, 3, -3, 7, -7, 100, -100, INT64_MAX, INT64_MIN, INT64_MAX - 1, INT64_MIN + 1,
            2**62, -(2**62), 12345678901, -98765432109]
    pairs = [(a, b) for a in vals for b in vals]
    terms = [x for a, b in pairs for x in (b, a)]  # x1 = a at odd t (t = 2i + 2), x2 = b
    want_div = [0 if b == 0 else wrap(a // b) for a, b in pairs]
    want_mod = [0 if b == 0 else a % b for a, b in pairs]
    assert want_div[pairs.index((INT64_MIN, -1))] == INT64_MIN
    assert want_mod[pairs.index((INT64_MIN, -1))] == 0
    n = len(terms) + 1
    for text, want in (("(div x1 x2)", want_div), ("(mod x1 x2)", want_mod)):
        preds, _ = kernel_predict(G, [ops_of(text)], terms, n)
        ref, _ = SeqReference(G).run(ops_of(text), terms, n)
        assert preds[0, 2::2].tolist() == want == ref[2::2]
        assert preds[0].tolist() == ref


def test_wrap_around():
    check("(add x1 (const one))", [INT64_MAX, INT64_MIN], [1, INT64_MIN, INT64_MIN + 1], [4] * 3)
    check("(sub x1 (const one))", [INT64_MIN], [-1, INT64_MAX], [4] * 2)
    check("(mul x1 x1)", [2**32, 2**31 + 1, 3037000500], [0, 0, 2**62 + 2**32 + 1, wrap(3037000500**2)], [3] * 4)
    check("(mul x1 x2)", [INT64_MIN, -1], [0, 0, INT64_MIN], [3] * 3)
    check("(sub c0 x1)", [INT64_MIN], [0, INT64_MIN], [3] * 2)
    # Nat constants wrap too: 2^63 is INT64_MIN, 2^64 is 0
    two63 = "one"
    for _ in range(63):
        two63 = f"(bit0 {two63})"
    check(f"(const {two63})", [], [INT64_MIN], [65])
    check(f"(const (bit0 {two63}))", [], [0], [66])
    check(f"(const (bit1 {two63}))", [], [1], [66])
    assert wrap(2**63) == INT64_MIN and wrap(-(2**63) - 1) == INT64_MAX


def test_if_evaluates_the_taken_branch_only():
    text = f"(if (lt x1 t) (find {const(3)} (eq k t)) c0)"
    # t=0: 0<0 false -> c0 (if 1 + lt 3 + c0 1); t=1: 0<1 -> find (1 + const 3 + 3 per
    # candidate) tests k=0,1 -> 1; t=2: 0<2 -> k=0,1,2 -> 2; t=3: 9<3 false -> c0
    check(text, [0, 0, 9, 0], [0, 1, 2, 0], [5, 4 + 4 + 2 * 3, 4 + 4 + 3 * 3, 5])


def test_cost_overrides():
    g = sp.grammar(cost={"find": 10, "lt": 0, "one": 3, "Expr.t": 2})
    # find 10, const 8 = const 1 + bit0 x3 + one 3 = 7; per candidate lt 0 + t 2 + mul k k 3
    text = f"(find {const(8)} (lt t (mul k k)))"
    check(text, [0] * 5, [1, 2, 2, 2, 3], [10 + 7 + 5 * (isqrt(t) + 2) for t in range(5)], grammar=g)


def test_length_checks():
    with pytest.raises(ValueError):
        SeqReference(G).run(ops_of("t"), [1, 2], 4)
    with pytest.raises(ValueError):
        kernel_predict(G, [ops_of("t")], [1, 2], 4)
    with pytest.raises(ValueError):
        kernel_fit(G, [ops_of("t")], [1, 2], 3)


# ------------------------------------------------------------------ parity
WEIGHTS = {"Expr.find": 2.0, "Expr.if": 1.5, "Expr.div": 1.5, "Expr.mod": 1.5, "Expr.k": 1.5,
           "Expr.x1": 1.5, "Expr.x2": 1.5}


def random_nat(grammar: Grammar, rng: np.random.Generator) -> list[int]:
    """A Nat of a random number of binary digits: mostly short, sometimes past 64 (wraps)."""
    digits = int(rng.integers(1, 6)) if rng.random() < 0.8 else int(rng.integers(1, 72))
    bits = [grammar.resolve("bit0")[0], grammar.resolve("bit1")[0]]
    return [bits[int(rng.integers(2))] for _ in range(digits - 1)] + grammar.resolve("one")


def random_program(grammar: Grammar, rng: np.random.Generator, max_depth: int, type_name: str = "Expr",
                   depth: int = 0) -> list[int]:
    """Random expansion; past max_depth only productions whose arguments get shallower
    (Expr: leaves and const; Bool: lt and eq)."""
    if type_name == "Nat":
        return random_nat(grammar, rng)
    choices = list(grammar.by_type[type_name])
    if depth >= max_depth:
        choices = [p for p in choices if not any(a in (type_name, "Bool") for a in grammar.productions[p].args)]
    w = np.array([WEIGHTS.get(grammar.productions[p].qualified, 1.0) for p in choices])
    p = choices[rng.choice(len(choices), p=w / w.sum())]
    out = [p]
    for a in grammar.productions[p].args:
        out += random_program(grammar, rng, max_depth, a, depth + 1)
    return out




def sequences() -> list[np.ndarray]:
    rng = np.random.default_rng(31)
    fib = [0, 1]
    while len(fib) < 12:
        fib.append(fib[-1] + fib[-2])
    seqs = [
        np.arange(12), np.zeros(12), np.array(fib), np.arange(12) ** 2, np.arange(12) % 3 - 1,
        rng.integers(-10, 10, 12), rng.integers(-70, 70, 12),
        rng.integers(INT64_MIN, INT64_MAX, 12, endpoint=True, dtype=np.int64),
        np.array([INT64_MAX, INT64_MIN, -1, 1, INT64_MAX, 0, INT64_MIN, INT64_MIN, 2**32, -(2**32), 63, 64]),
        rng.integers(-(2**40), 2**40, 12),
    ]
    return [np.asarray(s, dtype=np.int64) for s in seqs]


SEQS = sequences()


def assert_parity(grammar: Grammar, programs, seqs=SEQS, find_limit=sp.FIND_LIMIT):
    ref = SeqReference(grammar, find_limit)
    values = []
    for s, terms in enumerate(seqs):
        n = len(terms) + 1
        preds, steps = kernel_predict(grammar, programs, terms, n, find_limit)
        for i, prog in enumerate(programs):
            want = ref.run(prog, terms, n)
            if (preds[i].tolist(), steps[i].tolist()) != want:
                pytest.fail(f"{unparse(prog, grammar)} on sequence {s}: reference {want}, "
                            f"kernel {(preds[i].tolist(), steps[i].tolist())}")
        values.append(preds)
    return values


def test_parity_random_expansion():
    rng = np.random.default_rng(2024)
    programs = [random_program(G, rng, int(rng.integers(1, 7))) for _ in range(500)]
    used = {p for prog in programs for p in prog}
    assert used == set(range(len(G.productions)))
    find = G.resolve("find")[0]
    assert sum(find in p for p in programs) > 100 and sum(p.count(find) >= 2 for p in programs) > 40
    values = assert_parity(G, programs)
    flat = np.concatenate([v.ravel() for v in values])
    assert (flat == INT64_MIN).any() and (np.abs(flat) > 2**62).any() and (flat < 0).any()


def test_parity_random_unranking():
    programs = unranked_programs(G, 36, 500, seed=7)
    assert max(len(p) for p in programs) >= 8
    assert_parity(G, programs)


def test_parity_every_small_program():
    programs = [list(ops) for _, ops in reference_programs(G, 17)]
    assert len(programs) == 882
    assert_parity(G, programs, SEQS[:4] + SEQS[7:9])


@pytest.mark.parametrize("cost", [{"find": 3, "lt": 0, "one": 2}, {"Expr.t": 0, "if": 5, "and": 2, "mod": 4}])
def test_parity_with_overrides(cost):
    g = sp.grammar(cost=cost)
    rng = np.random.default_rng(len(cost))
    programs = [random_program(g, rng, int(rng.integers(1, 4))) for _ in range(80)]
    assert_parity(g, programs, SEQS[::2])
    _, steps = kernel_predict(g, programs, SEQS[0])
    _, plain = kernel_predict(G, programs, SEQS[0])
    assert (steps != plain).any()


def test_parity_small_find_limit():
    rng = np.random.default_rng(5)
    programs = [random_program(G, rng, 3) for _ in range(120)]
    assert_parity(G, programs, SEQS[::3], find_limit=3)


# ------------------------------------------------------------------ fit_batch
def reference_fit(values, steps, terms, n_train):
    """(fits, first_error, verdict steps): stop at the first wrong prediction, no cap."""
    total = 0
    for t in range(n_train):
        total += steps[t]
        if values[t] != terms[t]:
            return False, t, total
    return True, -1, total


def fit_programs():
    rng = np.random.default_rng(11)
    programs = [random_program(G, rng, int(rng.integers(1, 4))) for _ in range(250)]
    programs += [list(ops) for _, ops in reference_programs(G, 12.2)]
    programs += [ops_of(t) for t in ("t", "(mul t t)", "(if (lt t (const (bit0 one))) t (add x1 x2))", "c0",
                                     f"(find {const(40)} (lt t (mul k k)))")]
    return programs


@pytest.mark.parametrize("seq", [0, 1, 2, 3])
def test_fit_batch_matches_reference(seq):
    terms = SEQS[seq]
    n_train = 10
    programs = fit_programs()
    ref = SeqReference(G)
    runs = [ref.run(p, terms, n_train) for p in programs]
    want = [reference_fit(v, s, terms, n_train) for v, s in runs]
    fits, first, verdict = kernel_fit(G, programs, terms, n_train)
    assert fits.dtype == np.bool_ and first.dtype == np.int32 and verdict.dtype == np.int64
    assert fits.tolist() == [w[0] for w in want]
    assert first.tolist() == [w[1] for w in want]
    assert verdict.tolist() == [w[2] for w in want]
    assert fits.any() and not fits.all()
    assert len({w[1] for w in want}) > 3  # errors at several indices
    # a fitting program's verdict is its total steps; n_train = 0 fits everything with 0 steps
    for i in np.flatnonzero(fits):
        assert verdict[i] == sum(runs[i][1])
    f0, e0, v0 = kernel_fit(G, programs, terms, 0)
    assert f0.all() and (e0 == -1).all() and (v0 == 0).all()

    # Step caps (Levin budgets): a verdict within the cap is the uncapped one; past the cap
    # the program is rejected with no error index, having run past the cap but no further
    # than the index at which its total first exceeds it.
    rng = np.random.default_rng(seq)
    totals = np.array([sum(s) for _, s in runs], dtype=np.int64)
    caps = np.maximum(1, (totals * rng.uniform(0.1, 1.3, len(programs))).astype(np.int64))
    fitting = np.flatnonzero(fits)
    caps[fitting[::2]] = totals[fitting[::2]] - 1  # one step short of fitting
    caps[fitting[1::2]] = totals[fitting[1::2]]  # exactly enough
    fits_c, first_c, verdict_c = kernel_fit(G, programs, terms, n_train, caps)
    for i in range(len(programs)):
        if want[i][2] <= caps[i]:
            assert (fits_c[i], first_c[i], verdict_c[i]) == want[i]
        else:
            assert not fits_c[i] and first_c[i] == -1
            partial = np.cumsum(runs[i][1])
            first_over = int(np.argmax(partial > caps[i]))
            assert caps[i] < verdict_c[i] <= partial[first_over]
    assert (fits_c[fitting[::2]] == False).all() and fits_c[fitting[1::2]].all()  # noqa: E712


@pytest.mark.parametrize("max_errors", [1, 3])
def test_fit_batch_with_errors_allowed_matches_reference(max_errors):
    terms = SEQS[0]
    n_train = 10
    programs = fit_programs()
    ref = SeqReference(G)
    runs = [ref.run(p, terms, n_train) for p in programs]
    wrong = [[t for t in range(n_train) if v[t] != terms[t]] for v, _ in runs]
    fits, first, errors, verdict = kernel_fit_errors(G, programs, terms, n_train, max_errors=max_errors)
    assert fits.tolist() == [len(w) <= max_errors for w in wrong]
    assert first.tolist() == [w[0] if w else -1 for w in wrong]
    for i in range(len(programs)):
        if fits[i]:
            assert errors[i] == len(wrong[i]) and verdict[i] == sum(runs[i][1])
        else:  # stopped at the error one past the allowance
            assert errors[i] == max_errors + 1
            assert verdict[i] == sum(runs[i][1][: wrong[i][max_errors] + 1])
    assert any(0 < len(w) <= max_errors for w in wrong)  # some program fits only because errors are allowed


def test_cap_stops_inside_a_prediction():
    # 4 nested finds with bound 64 would take ~64^4 * 6 steps for one prediction; the
    # cap stops it between candidates, just past the cap.
    inner = "(lt t k)"
    for _ in range(4):
        inner = f"(eq (find {const(64)} {inner}) c0)"
    prog = ops_of(f"(find {const(64)} {inner})")
    caps = np.array([1000], dtype=np.int64)
    fits, first, verdict = kernel_fit(G, [prog], np.zeros(3, dtype=np.int64), 3, caps)
    assert not fits[0] and first[0] == -1 and 1000 < verdict[0] < 1100


# ------------------------------------------------------------------ threads
def test_results_identical_with_one_and_two_threads():
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has fewer than 2 threads")
    rng = np.random.default_rng(99)
    programs = [list(ops) for _, ops in reference_programs(G, 16.9)]
    programs += [random_program(G, rng, int(rng.integers(1, 5))) for _ in range(700)]
    assert len(programs) > 2 * kernels.CHUNK
    terms = SEQS[7]
    caps = np.full(len(programs), 200, dtype=np.int64)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = kernel_predict(G, programs, terms) + kernel_fit(G, programs, SEQS[1], 10, caps)
        numba.set_num_threads(2)
        two = kernel_predict(G, programs, terms) + kernel_fit(G, programs, SEQS[1], 10, caps)
    finally:
        numba.set_num_threads(before)
    for a, b in zip(one, two):
        assert a.dtype == b.dtype
        assert np.array_equal(a, b)
