"""Definitions that cost once (profiles `defs` and `heuristics-defs`): the grammar
transform (dsl.grammar.with_definition), exact counts and order against the reference
enumerator, Kraft mass, description lengths that count a definition once, interpreter
parity with and without caches, and identity across thread counts and backends
(docs/grid.md, "Definitions")."""
from __future__ import annotations

import math
from collections import Counter

import numba
import numpy as np
import pytest

from conftest import pad_ops, run_kernel, unranked_programs
from dsl.errors import DslError
from dsl.grammar import MBITS_PER_BIT, Production, bits_to_mbits, inline_definition, with_definition
from dsl.grid import primitives as gp
from dsl.grid.interpreter import GridInterpreter
from dsl.grid.world import pack
from dsl.syntax import parse, unparse
from levinsearch.enumerate import Enumerator, reference_programs
from test_grid_parity import ENVS, assert_parity, random_program, reference_table

PROFILES = ("defs", "heuristics-defs")
G = gp.grammar(profile="defs")


def mb(n: int) -> int:
    """Millibits of one production of a type with n equally likely productions."""
    return bits_to_mbits(math.log2(n))


# ------------------------------------------------------------------ the grammar
def test_base_profiles_keep_their_productions_and_ids():
    assert (gp.LET, gp.P_REF) == (30, 31)
    for base, defs in (("default", "defs"), ("heuristics", "heuristics-defs")):
        b, d = gp.productions(base), gp.productions(defs)
        assert d[: len(b)] == b
        extra = d[len(b):]
        assert (extra[0].name, extra[0].type, extra[0].args, extra[0].op, extra[0].role) == (
            "let", "Action", ("Pred", "Action'"), gp.LET, "let")
        assert (extra[-1].name, extra[-1].type, extra[-1].args, extra[-1].op, extra[-1].role) == (
            "ref", "Pred'", (), gp.P_REF, "ref")
        copies = extra[1:-1]
        assert all(c.base for c in copies) and {c.type for c in copies} == (
            {"Action'", "Bool'", "Pred'"} | ({"Dir'"} if base == "heuristics" else set()))
        assert [c.base for c in copies] == [p.qualified for p in b if p.type + "'" in {c.type for c in copies}]
        assert all((c.name, c.op, c.operand, c.cost) == (o.name, o.op, o.operand, o.cost)
                   for c in copies for o in b if o.qualified == c.base)


def test_prices():
    """Action gains `let` (8 productions), Action' has the 7 of Action, Pred' the 13 of
    Pred and `ref` (14): every price follows from these counts."""
    g = G
    assert g.mbits[g.resolve("Action.N")[0]] == mb(8) == g.mbits[g.let_id] == 3000
    assert g.mbits[g.resolve("Action'.N")[0]] == mb(7) == 2808
    assert g.mbits[g.resolve("Pred.red")[0]] == mb(13) and g.mbits[g.ref_id] == mb(14)
    assert (g.step_cost[g.let_id], g.step_cost[g.ref_id]) == (0, 0)


def test_names_resolve_to_a_production_and_its_copies():
    g = gp.grammar(profile="defs", bits={"red": 1}, ban=["greedy"], cost={"ref": 2})
    red, red_copy = g.resolve("red")
    assert g.productions[red_copy].base == "Pred.red" and g.mbits[red] == g.mbits[red_copy] == 1000
    assert all(g.mbits[i] < 0 for i in g.resolve("greedy")) and len(g.resolve("greedy")) == 2
    assert g.resolve("Pred'.red") == [red_copy] and g.resolve("Pred.red") == [red, red_copy]
    assert g.step_cost[g.ref_id] == 2
    with pytest.raises(DslError, match="ambiguous primitive 'not'"):
        g.resolve("not")


def test_transform_is_checked():
    prods = [Production("x", "A"), Production("f", "A", ("B",)), Production("y", "B")]
    with pytest.raises(DslError, match="nothing to define"):
        with_definition(prods, "B", "A", let_op=0, ref_op=1)
    with pytest.raises(DslError, match="type 'C' has no productions"):
        with_definition(prods, "A", "C", let_op=0, ref_op=1)
    once = with_definition(prods, "A", "B", let_op=0, ref_op=1)
    with pytest.raises(DslError, match="applies once"):
        with_definition(once, "A", "B", let_op=0, ref_op=1)
    clash = prods + [Production("z", "B'")]
    with pytest.raises(DslError, match="taken"):
        with_definition(clash, "A", "B", let_op=0, ref_op=1)


def test_syntax_round_trips_and_refuses_misplaced_definitions():
    text = "(let (or red door) (if (see ref) (plan ref) N))"
    ops = parse(text, G)
    assert unparse(ops, G) == text
    with pytest.raises(DslError, match="expected Pred"):
        parse("(let ref (plan ref))", G)  # the definition cannot use itself
    with pytest.raises(DslError, match="expected Action'"):
        parse("(let red (let red N))", G)  # one definition, at the root
    with pytest.raises(DslError, match="expected Pred"):
        parse("(plan ref)", G)  # no ref outside a definition's body


# ------------------------------------------------------------------ description length
def test_a_definition_is_counted_once():
    """(let D B) costs let + D + B (B priced in the copy types, ref as one leaf); the same
    body with D written out twice costs D's Pred' bits twice instead of ref's twice."""
    d = "(or red door)"  # 3 Pred nodes
    with_refs = parse(f"(let {d} (if (see ref) (plan ref) N))", G)
    written = parse(f"(let {d} (if (see {d}) (plan {d}) N))", G)
    plain = parse(f"(if (see {d}) (plan {d}) N)", G)
    a, a_body, b, p, p_body = mb(8), mb(7), 2000, mb(13), mb(14)  # Bool and Bool' have 4 each
    assert G.program_mbits(with_refs) == a + 3 * p + a_body + b + p_body + a_body + p_body + a_body == 32143
    assert G.program_mbits(written) == a + 3 * p + a_body + b + 3 * p_body + a_body + 3 * p_body + a_body
    # the saving: the definition's bits (in the body's Pred') minus ref's, per use
    assert G.program_mbits(written) - G.program_mbits(with_refs) == 2 * (3 * p_body - p_body)
    # the program without a definition writes D twice, in the base types
    assert G.program_mbits(plain) == a + b + 3 * p + a + 3 * p + a == 33206
    # D written once instead of twice, for let's bits and a body priced in the copy types
    assert G.program_mbits(plain) - G.program_mbits(with_refs) == 2 * a + 3 * p - 3 * a_body - 2 * p_body == 1063
    assert inline_definition(with_refs, G).tolist() == plain.tolist()
    assert inline_definition(plain, G).tolist() == plain.tolist()


def test_definitions_local_to_branches():
    """Action is recursive, so `let` may also replace a sub-program of the definition-free
    part: each branch's definition is counted once and its refs mean it."""
    g = G
    text = "(if (see red) (let (or red door) (plan ref)) (let gem (if (sense N ref) (greedy ref) N)))"
    ops = parse(text, g)
    inlined = "(if (see red) (plan (or red door)) (if (sense N gem) (greedy gem) N))"
    assert unparse(inline_definition(ops, g), g) == inlined
    a, a_body, b, p, p_body = mb(8), mb(7), 2000, mb(13), mb(14)
    assert g.program_mbits(ops) == (a + b + p) + (a + 3 * p + a_body + p_body) + (
        a + p + a_body + b + 2000 + p_body + a_body + p_body + a_body)


def test_let_programs_are_definitions_times_bodies():
    """The number of (let D B) programs of each length is the convolution of the Pred
    counts and the Action' counts: each definition is paired with each body exactly once."""
    bits = 18.0
    table = G.length_table(bits)
    pred, body = G.type_index("Pred"), G.type_index("Action'")
    want = Counter()
    for i, lp in enumerate(table.lengths):
        for j, lb in enumerate(table.lengths):
            if lp + lb + G.mbits[G.let_id] <= table.max_mbits:
                want[lp + lb + G.mbits[G.let_id]] += table.counts[pred][i] * table.counts[body][j]
    got = Counter()
    for m, ops in reference_programs(G, bits):
        if ops[0] == G.let_id:
            got[m] += 1
    assert got == +want and sum(got.values()) > 1000


# ------------------------------------------------------------------ enumeration and Kraft
@pytest.mark.parametrize("profile,bits", [("defs", 15.0), ("heuristics-defs", 12.0)])
def test_counts_and_order_match_the_reference_enumerator(profile, bits):
    g = gp.grammar(profile=profile)
    listed = [tuple(b.ops[i, : b.sizes[i]].tolist()) for b in Enumerator(g, bits).batches(997) for i in range(len(b))]
    reference = reference_programs(g, bits)
    assert listed == [ops for _, ops in reference]
    assert g.counts_by_length(bits) == sorted(Counter(m for m, _ in reference).items())
    assert any(ops[0] == g.let_id for ops in listed)


@pytest.mark.parametrize("profile", PROFILES)
def test_kraft_mass(profile):
    """The Kraft sum stays at most 1, and its fixed point splits exactly as the grammar
    says: K(Action) = sum of the base productions' terms + 2^-let K(Pred) K(Action')."""
    g = gp.grammar(profile=profile)
    lower, upper = g.kraft_by_type()
    assert upper[g.type_index("Action")] <= 1.0
    k = dict(zip(g.types, upper))
    total = 0.0
    for p in g.by_type["Action"]:
        term = 2.0 ** (-g.mbits[p] / MBITS_PER_BIT)
        for a in g.productions[p].args:
            term *= k[a]
        total += term
    assert total == pytest.approx(k["Action"], rel=1e-12)
    # mass by length: count x 2^-length, the same as summing over the listed programs
    bits = 13.0
    by_length = sum(m for _, _, m in g.kraft_by_length(bits))
    listed = sum(2.0 ** (-m / MBITS_PER_BIT) for m, _ in reference_programs(g, bits))
    assert by_length == pytest.approx(listed, rel=1e-12)


# ------------------------------------------------------------------ interpreter parity
def _programs(g, seed: int, n: int) -> list[list[int]]:
    """Random expansions, random unranking, and n (let D B) programs whose bodies use
    ref often: each Pred' leaf of a random body becomes ref with probability 1/2."""
    rng = np.random.default_rng(seed)
    out = [random_program(g, rng, int(rng.integers(1, 6))) for _ in range(n)]
    out += unranked_programs(g, 30, n // 2, seed=seed)
    leaves = {i for i in g.by_type["Pred'"] if g.productions[i].arity == 0}
    for _ in range(n):
        body = random_program(g, rng, int(rng.integers(1, 5)), "Action'")
        body = [g.ref_id if op in leaves and rng.random() < 0.5 else op for op in body]
        out.append([g.let_id] + random_program(g, rng, int(rng.integers(0, 3)), "Pred") + body)
    return out


@pytest.mark.parametrize("profile", PROFILES)
def test_parity_random_programs(profile):
    g = gp.grammar(profile=profile)
    programs = _programs(g, 41, 180) if profile == "defs" else _programs(g, 42, 300)  # every production used
    programs += [parse(t, g).tolist() for t in (
        "(let (or red door) (if (see ref) (plan ref) N))",
        "(let (not wall) (if (sense N ref) (greedy (and ref door)) (plan (not ref))))",
        "(let (and door (not red)) (plan ref))",
        "(let red (if (sense S ref) S (if (see (or ref key)) (greedy ref) E)))",
        "(if (see red) (let (or red door) (plan ref)) (let (not wall) (if (sense W ref) (greedy ref) N)))",
        "(if (see blue) N (if (sense E wall) (let blue (if (see ref) (plan ref) W)) (let gem (plan (or ref key)))))")]
    if profile == "heuristics-defs":
        programs += [parse(t, g).tolist() for t in (
            "(let (or gem key) (if (sense (dirto ref) empty) (toward ref) wallright))",
            "(let door (remember m1 (if (recall m1) (toward (not ref)) (plan ref))))")]
    used = {p for prog in programs for p in prog}
    assert used == set(range(len(g.productions)))
    assert sum(prog[0] == g.let_id and g.ref_id in prog for prog in programs) >= 50
    reached, _, steps = assert_parity(g, programs, ENVS)
    assert (reached >= 0).any() and (reached < 0).any()
    # with the default costs (let and ref 0) a program takes its inlined twin's steps
    inlined = [inline_definition(p, g).tolist() for p in programs]
    assert np.array_equal(reference_table(g, inlined, ENVS)[2], steps)


@pytest.mark.parametrize("profile", PROFILES)
def test_parity_without_caches_and_with_costs(profile):
    g = gp.grammar(profile=profile, cost={"let": 3, "ref": 2, "Pred.or": 4})
    programs = [p for p in _programs(g, 7, 160) if p[0] == g.let_id] + _programs(g, 8, 40)
    want = reference_table(g, programs, ENVS)
    ops, sizes = pad_ops(programs)
    for cache in (True, False):
        got = GridInterpreter(g, use_cache=cache).run(ops, sizes, pack(ENVS))
        for name, w, k in zip(("reached", "moves", "steps"), want, got):
            assert np.array_equal(w, k), (name, cache)


def test_a_ref_is_charged_its_definition():
    """pcost(ref) = c(ref) + pcost(D): with c(ref) = 2 and D of 3 nodes, each cell
    `plan` tests costs 5 steps, against 3 for D written out."""
    g = gp.grammar(profile="defs", cost={"ref": 2, "let": 1})
    env = [ENVS[-1]]  # D@. / ... : the red door is the agent's west neighbour
    programs = [parse(t, g).tolist() for t in ("(let (or red door) (plan ref))", "(plan (or red door))")]
    # one step: the search tests E, S, then W (the door): 3 cells
    assert reference_table(g, programs, env)[2].tolist() == [[1 + 1 + 3 * 5], [1 + 3 * 3]]
    assert run_kernel(g, programs, env)[2].tolist() == [[17], [10]]


# ------------------------------------------------------------------ identity across threads and backends
def test_kernel_results_do_not_depend_on_threads():
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has fewer than 2 threads")
    g = gp.grammar(profile="heuristics-defs")
    programs = _programs(g, 9, 300)
    ops, sizes = pad_ops(programs)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = GridInterpreter(g).run_traced(ops, sizes, pack(ENVS))
        numba.set_num_threads(2)
        two = GridInterpreter(g).run_traced(ops, sizes, pack(ENVS))
    finally:
        numba.set_num_threads(before)
    for name in ("reached", "moves", "steps", "lookahead", "lookahead_decisions"):
        assert np.array_equal(getattr(one, name), getattr(two, name)), name


def _strip(record):
    """The record without timings and without its config (which names the batch size
    and backend the runs differ in)."""
    from levinsearch.conformance import without_timing
    return {k: v for k, v in without_timing(dict(record)).items() if k != "config"}


def runs_across_backends(name: str, shards: int, **kw):
    """The run of bundled experiment `name` on one thread in batches of 7, locally by
    default, and with the processes backend (2 workers, `shards` shards): the three
    records, checked to be identical but for timings and config; returns the local one."""
    from levinsearch import api
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        small = api.run(name, batch_size=7, save=False, **kw)
    finally:
        numba.set_num_threads(before)
    local = api.run(name, save=False, **kw)
    spread = api.run(name, backend="processes", workers=2, shards=shards, save=False, **kw)
    assert _strip(small) == _strip(local) == _strip(spread)
    return local


def test_records_are_identical_across_backends_threads_and_batches():
    """A red-door run under `defs`: the same record locally on one thread in batches of
    7, locally by default, and with the processes backend (2 workers, 5 shards)."""
    local = runs_across_backends("red-door", 5, profile="defs", max_bits=14.0)
    fitting = local.hypotheses
    assert any(h["program"].startswith("(let ") for h in fitting)


def test_analyses_read_definitions_written_out():
    """A `plan` in a body is a search construct, and its objective is the definition."""
    from levinsearch.analyse import search_production_ids, search_structure
    ids = search_production_ids(G, ["plan", "greedy"])
    assert [G.productions[i].qualified for i in ids] == ["Action.plan", "Action.greedy", "Action'.plan",
                                                        "Action'.greedy"]
    s = search_structure(parse("(let (or red door) (if (see ref) (plan ref) (greedy (not ref))))", G), G,
                         ["plan", "greedy"])
    assert (s.search, s.constructs, s.mesa_objectives) == (True, ["plan", "greedy"],
                                                           ["(or red door)", "(not (or red door))"])
