"""Grammar: description bits, exact program counts per length, Kraft mass, overrides, errors."""
from __future__ import annotations

import math
from collections import Counter
from fractions import Fraction

import pytest

from dsl.errors import DslError
from dsl.grammar import Grammar, Production, bits_to_mbits
from dsl.grid import primitives as gp


# ------------------------------------------------------------------ independent counting
def brute_counts(grammar: Grammar, type_name: str, max_mbits: int) -> dict[int, int]:
    """{length in mbits: number of programs of `type_name`}, by explicit convolution.

    Independent of Grammar._count: a memoised recursion over (type, budget) that
    combines argument length distributions one argument at a time.
    """
    memo: dict[tuple[str, int], Counter] = {}

    def dist(t: str, budget: int) -> Counter:
        key = (t, budget)
        if key in memo:
            return memo[key]
        memo[key] = Counter()  # guards against infinite recursion on zero-bit cycles
        out: Counter = Counter()
        for i, p in enumerate(grammar.productions):
            if p.type != t or grammar.mbits[i] < 0 or grammar.mbits[i] > budget:
                continue
            partial = Counter({grammar.mbits[i]: 1})
            for a in p.args:
                nxt: Counter = Counter()
                for used, n in partial.items():
                    for la, na in dist(a, budget - used).items():
                        nxt[used + la] += n * na
                partial = nxt
            out.update(partial)
        memo[key] = out
        return out

    return dict(dist(type_name, max_mbits))


def brute_trees(grammar: Grammar, type_name: str, max_mbits: int) -> list[tuple[int, tuple[int, ...]]]:
    """Every program as (mbits, ops), by plain recursion (tiny grammars only)."""
    out = []
    for i, p in enumerate(grammar.productions):
        if p.type != type_name or grammar.mbits[i] < 0 or grammar.mbits[i] > max_mbits:
            continue
        partial = [(grammar.mbits[i], (i,))]
        for a in p.args:
            partial = [
                (m + m2, ops + ops2)
                for m, ops in partial
                for m2, ops2 in brute_trees(grammar, a, max_mbits - m)
            ]
        out += partial
    return out


def catalan(k: int) -> int:
    return math.comb(2 * k, k) // (k + 1)


def binary_tree_grammar() -> Grammar:
    """S -> a | (f S S), one bit each: a tree with k f-nodes has 2k+1 bits, Catalan(k) of them."""
    return Grammar([Production("a", "S"), Production("f", "S", ("S", "S"))], "S", bits={"a": 1, "f": 1})


def unary_binary_grammar() -> Grammar:
    """S -> a (1 bit) | (f S S) (2 bits) | (g S) (2 bits): Kraft sum of productions exactly 1."""
    return Grammar(
        [Production("a", "S"), Production("f", "S", ("S", "S")), Production("g", "S", ("S",))],
        "S",
        bits={"a": 1, "f": 2, "g": 2},
    )


def two_type_grammar() -> Grammar:
    """T -> x (1) | (h T U) (1);  U -> y (1) | z (2) | (k U) (2)."""
    return Grammar(
        [
            Production("x", "T"),
            Production("h", "T", ("T", "U")),
            Production("y", "U"),
            Production("z", "U"),
            Production("k", "U", ("U",)),
        ],
        "T",
        bits={"x": 1, "h": 1, "y": 1, "z": 2, "k": 2},
    )


# ------------------------------------------------------------------ default grid bits
def test_default_grid_mbits_per_type():
    g = gp.grammar()
    assert g.types == ("Action", "Bool", "Pred", "Dir")
    expected = {"Action": 2808, "Bool": 2000, "Pred": 3701, "Dir": 2000}
    for i, p in enumerate(g.productions):
        assert g.mbits[i] == expected[p.type], p.qualified
    # log2 of the number of productions per type, rounded up to millibits.
    assert bits_to_mbits(math.log2(7)) == 2808
    assert bits_to_mbits(math.log2(13)) == 3701
    assert bits_to_mbits(math.log2(4)) == 2000  # exact powers of two are not bumped up
    assert [len(g.by_type[t]) for t in g.types] == [7, 4, 13, 4]
    assert g.bits(0) == 2.808
    assert g.step_cost == (1,) * len(g.productions)


def test_grid_counts_by_length_hand_derived():
    g = gp.grammar()
    # <= 8 bits: the 4 moves (2808); (plan P) and (greedy P) with the 10 leaf Preds (2808+3701).
    assert g.counts_by_length(8) == [(2808, 4), (6509, 20)]
    # <= 12 bits adds (plan (not leaf)) and (greedy (not leaf)): 2808 + 2*3701 = 10210, 2*10.
    assert g.counts_by_length(12) == [(2808, 4), (6509, 20), (10210, 20)]
    # <= 16 bits: plan/greedy over (and|or leaf leaf) 2*2*100 plus (not (not leaf)) 2*10 at
    # 2808 + 3*3701 = 13911; and (if (see leaf) move move) at 2808 + 2000 + 3701 + 2*2808 = 14125,
    # 10 * 4 * 4 = 160 of them. (sense, not and and Bools all cost more.)
    assert g.counts_by_length(16) == [(2808, 4), (6509, 20), (10210, 20), (13911, 420), (14125, 160)]


def test_grid_counts_match_brute_force_every_type():
    g = gp.grammar()
    limit = 22
    for t in g.types:
        got = g.counts_by_length(limit, t)
        want = brute_counts(g, t, bits_to_mbits(limit))
        assert got == sorted(want.items()), t
    # A few exact facts about the other types.
    assert g.counts_by_length(4, "Dir") == [(2000, 4)]
    assert g.counts_by_length(4, "Pred") == [(3701, 10)]
    assert g.counts_by_length(8, "Pred") == [(3701, 10), (7402, 10)]
    assert g.counts_by_length(6, "Bool") == [(5701, 10)]  # (see leaf)


def test_binary_tree_grammar_catalan_counts_and_exact_kraft():
    g = binary_tree_grammar()
    assert g.mbits == (1000, 1000)
    counts = g.counts_by_length(15)
    assert counts == [((2 * k + 1) * 1000, catalan(k)) for k in range(8)]
    assert counts == [(1000, 1), (3000, 1), (5000, 2), (7000, 5), (9000, 14), (11000, 42), (13000, 132), (15000, 429)]
    for (length, count, mass), k in zip(g.kraft_by_length(15), range(8)):
        bits = 2 * k + 1
        assert length == bits * 1000
        assert count == catalan(k)
        assert Fraction(mass) == Fraction(count, 2**bits)


@pytest.mark.parametrize("factory,limit", [(unary_binary_grammar, 14), (two_type_grammar, 13)])
def test_custom_grammar_counts_equal_brute_force_and_exact_kraft(factory, limit):
    g = factory()
    table = g.counts_by_length(limit)
    trees = brute_trees(g, g.start, bits_to_mbits(limit))
    want = Counter(m for m, _ in trees)
    assert len(set(ops for _, ops in trees)) == len(trees)  # distinct programs
    assert table == sorted(want.items())
    for length, count, mass in g.kraft_by_length(limit):
        assert length % 1000 == 0
        assert Fraction(mass) == Fraction(count, 2 ** (length // 1000))
    # the largest program within the bound, in nodes
    assert g.length_table(limit).max_nodes == max(len(ops) for _, ops in trees)


def test_zero_bit_chain_across_types():
    # T0 -> (c0 T1), T1 -> (c1 T2), ... T4 -> (c4 T5): each the only production of its type, so
    # 0 bits; T5 -> x (1 bit) | y (2 bits) | (m T5 T5) (2 bits).
    # Listed start-first so the counting passes must propagate down a chain of 5 types.
    prods = [Production(f"c{i}", f"T{i}", (f"T{i + 1}",)) for i in range(5)]
    prods += [Production("x", "T5"), Production("y", "T5"), Production("m", "T5", ("T5", "T5"))]
    g = Grammar(prods, "T0", bits={"x": 1, "y": 2, "m": 2})
    assert g.mbits == (0, 0, 0, 0, 0, 1000, 2000, 2000)
    got = g.counts_by_length(12)
    assert got == sorted(brute_counts(g, "T0", 12000).items())
    assert got == g.counts_by_length(12, "T5")
    # T5 counts: K(1) = 1 (x), K(2) = 1 (y), K(n) = sum_{i+j=n-2} K(i) K(j)
    k = {1: 1, 2: 1}
    for n in range(3, 13):
        k[n] = sum(k.get(i, 0) * k.get(n - 2 - i, 0) for i in range(1, n - 2))
    assert got == [(n * 1000, k[n]) for n in range(1, 13) if k[n]]
    assert g.length_table(12).max_nodes == 5 + max(len(ops) for _, ops in brute_trees(g, "T5", 12000))


def test_unary_binary_grammar_hand_counts():
    # K(n) = [n==1] + K(n-1 via g: n-2) + sum_{i+j=n-2} K(i)K(j)  (f: 2 bits)
    g = unary_binary_grammar()
    assert g.counts_by_length(9) == [
        (1000, 1), (3000, 1), (4000, 1), (5000, 1), (6000, 3), (7000, 3), (8000, 6), (9000, 11),
    ]


def test_kraft_total_bounds():
    for g in (gp.grammar(), unary_binary_grammar(), two_type_grammar(), binary_tree_grammar(),
              gp.grammar(ban=["plan"]), gp.grammar(bits={"red": 1})):
        lower, upper = g.kraft_total()
        assert 0 < lower <= upper <= 1
        partial = sum(Fraction(m) for _, _, m in g.kraft_by_length(20))
        assert partial <= Fraction(upper)
    # Subcritical grammar whose productions have Kraft sum exactly 1: total 1.
    lower, upper = unary_binary_grammar().kraft_total()
    assert upper == 1.0 and lower > 1 - 1e-12
    # The grid grammar loses mass to rounding up to millibits: strictly below 1. Its
    # Kraft sum solves K_P = 10p + p K_P + 2p K_P^2, K_D = 1, K_B = (K_D K_P + K_P + K_B + K_B^2)/4,
    # K_A = 4a + 2a K_P + a K_B K_A^2 (a = 2^-2.808, p = 2^-3.701): least roots of quadratics.
    a, p = 2 ** -2.808, 2 ** -3.701
    k_pred = ((1 - p) - math.sqrt((1 - p) ** 2 - 80 * p * p)) / (4 * p)
    k_bool = (3 - math.sqrt(9 - 8 * k_pred)) / 2
    c = 4 * a + 2 * a * k_pred
    k_action = (1 - math.sqrt(1 - 4 * a * k_bool * c)) / (2 * a * k_bool)
    lower, upper = gp.grammar().kraft_total()
    assert lower == pytest.approx(k_action, abs=1e-12)
    assert upper == pytest.approx(k_action, abs=1e-12)
    assert upper < 1
    # A type whose only production recurses into itself has no finite programs.
    empty = Grammar([Production("u", "S", ("S",))], "S")
    assert empty.mbits == (0,)
    assert empty.counts_by_length(5) == []
    assert empty.kraft_total()[0] == 0.0


def test_ban_renormalises():
    g = gp.grammar(ban=["plan"])
    plan = g.resolve("plan")[0]
    assert g.mbits[plan] == -1
    assert g.bits(plan) == -1.0
    assert plan not in g.by_type["Action"]
    assert bits_to_mbits(math.log2(6)) == 2585
    for i in g.by_type["Action"]:
        assert g.mbits[i] == 2585
    # other types untouched
    assert {g.mbits[i] for i in g.by_type["Pred"]} == {3701}
    # 4 moves; (greedy leaf) only
    assert g.counts_by_length(8) == [(2585, 4), (6286, 10)]
    with pytest.raises(DslError, match="banned primitive Action.plan"):
        g.program_mbits([plan, g.resolve("red")[0]])
    assert [d["banned"] for d in g.describe()].count(True) == 1


def test_bits_override_reweights_rest_of_type():
    g = gp.grammar(bits={"red": 1})
    red = g.resolve("red")[0]
    assert g.mbits[red] == 1000
    other = bits_to_mbits(-math.log2((1 - 0.5) / 12))
    assert other == 4585
    for i in g.by_type["Pred"]:
        if i != red:
            assert g.mbits[i] == 4585
    # Action untouched
    assert {g.mbits[i] for i in g.by_type["Action"]} == {2808}
    assert g.counts_by_length(8) == [(2808, 4), (3808, 2), (7393, 18)]
    # qualified names work for names shared between types
    g2 = gp.grammar(bits={"Dir.N": 1, "Action.plan": 1})
    assert g2.mbits[g2.resolve("Dir.N")[0]] == 1000
    assert {g2.mbits[i] for i in g2.by_type["Dir"]} == {1000, bits_to_mbits(math.log2(6))}
    assert g2.mbits[g2.resolve("Action.plan")[0]] == 1000
    assert {g2.mbits[i] for i in g2.by_type["Action"]} == {1000, bits_to_mbits(math.log2(12))}


def test_program_mbits_and_describe():
    g = gp.grammar()
    plan, red = g.resolve("plan")[0], g.resolve("red")[0]
    assert g.program_mbits([plan, red]) == 6509
    assert g.program_bits([plan, red]) == 6.509
    d = g.describe()
    assert len(d) == 28
    assert d[plan]["qualified"] == "Action.plan" and d[plan]["args"] == ["Pred"] and d[plan]["mbits"] == 2808


def test_cost_overrides():
    g = gp.grammar(cost={"plan": 3, "red": 2})
    assert g.step_cost[g.resolve("plan")[0]] == 3
    assert g.step_cost[g.resolve("red")[0]] == 2
    assert sum(g.step_cost) == len(g.productions) + 2 + 1
    # costs do not touch bits
    assert g.mbits == gp.grammar().mbits
    with pytest.raises(DslError, match=r"whole number in \[0, 1,000,000\]"):
        gp.grammar(cost={"plan": 1.5})
    with pytest.raises(DslError, match=r"whole number in \[0, 1,000,000\]"):
        gp.grammar(cost={"plan": -1})
    with pytest.raises(DslError, match="must be a number"):
        gp.grammar(cost={"plan": "lots"})


# ------------------------------------------------------------------ errors
def test_unknown_primitive():
    with pytest.raises(DslError, match="unknown primitive 'purple'"):
        gp.grammar(ban=["purple"])
    with pytest.raises(DslError, match="unknown primitive 'Pred.N'"):
        gp.grammar(bits={"Pred.N": 2})


@pytest.mark.parametrize("name,options", [("N", "Action.N or Dir.N"), ("and", "Bool.and or Pred.and"),
                                          ("not", "Bool.not or Pred.not")])
def test_ambiguous_bare_name(name, options):
    with pytest.raises(DslError, match=f"ambiguous primitive '{name}': write {options}"):
        gp.grammar(bits={name: 3})
    with pytest.raises(DslError, match="ambiguous primitive"):
        gp.grammar(ban=[name])


def test_kraft_over_one_rejected():
    with pytest.raises(DslError, match=r"Kraft sum 1\.414 > 1"):
        gp.grammar(bits={"Action.N": 0.5, "Action.E": 0.5})
    with pytest.raises(DslError, match="leave no probability"):
        gp.grammar(bits={"red": 1, "blue": 1})
    with pytest.raises(DslError, match="leave no probability"):
        gp.grammar(bits={"red": 0})


def test_bad_bit_values():
    with pytest.raises(DslError, match=r"must be in \[0, 64\]"):
        gp.grammar(bits={"red": -1})
    with pytest.raises(DslError, match="must be a number"):
        gp.grammar(bits={"red": True})
    with pytest.raises(DslError, match="must be finite"):
        gp.grammar(bits={"red": float("inf")})
    with pytest.raises(DslError, match="must be a number"):
        gp.grammar(bits={"red": "two"})


def test_banned_and_given_bits():
    with pytest.raises(DslError, match="Pred.red is both banned and given bits"):
        gp.grammar(ban=["red"], bits={"red": 2})


def test_bad_start_type():
    with pytest.raises(DslError, match="start type 'T' has no productions"):
        Grammar([Production("a", "S")], "T")


def test_zero_bit_cycle_infinitely_many_programs():
    # u: S -> S with 0 bits; a: 40 bits. The overrides' Kraft sum 1 + 2^-40 is within the
    # grammar's float tolerance, so it is accepted, and (u (u ... a)) all have 40 bits.
    g = Grammar([Production("a", "S"), Production("u", "S", ("S",))], "S", bits={"u": 0, "a": 40})
    assert g.mbits == (40000, 0)
    assert g.counts_by_length(39) == []
    with pytest.raises(DslError, match="infinitely many programs of 40 bits"):
        g.counts_by_length(41)


def test_too_many_programs():
    # 2^63 leaves of 63 bits each in one length: beyond the enumerator's int64 indices.
    g = Grammar([Production(f"l{i}", "S") for i in range(2)] + [Production("f", "S", ("S", "S"))], "S",
                bits={"l0": 1, "l1": 2, "f": 2})
    with pytest.raises(DslError, match=r"more than 2\^62 programs"):
        g.counts_by_length(400)


def test_enumeration_tables_too_large_is_a_dsl_error():
    # Regression: at 73.1 bits every per-length count of the grid grammar is <= 2^62, but the
    # suffix table of Bool.and (argument pairs) exceeds 2^63; converting it to int64 used to
    # raise OverflowError instead of a DslError.
    from levinsearch.enumerate import Enumerator

    g = gp.grammar()
    with pytest.raises(DslError, match="2\\^62"):
        Enumerator(g, 73.1)
    with pytest.raises(DslError, match="2\\^62"):
        g.enumeration_tables(73.1)
    # just below, everything fits
    assert Enumerator(g, 70).total == 1039383272865477324
