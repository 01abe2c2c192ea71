"""The Turing-machine domain: grammar, bits and exact counts, hand-checked runs of the
reference interpreter, and parity of the compiled simulator (run_batch, fit_batch) with it."""
from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import pad_ops
from dsl.errors import DslError
from dsl.grammar import kernel_tables
from dsl.syntax import parse, unparse
from dsl.tm import kernels
from dsl.tm import primitives as tp
from dsl.tm.interpreter import TMInterpreter, pack, unpack
from dsl.tm.reference import TMReference, TMRun, machine_table, pretty
from levinsearch.enumerate import Enumerator, reference_programs

G = tp.grammar()  # 1 .. 4 states
G2 = tp.grammar(max_states=2)
CHAMP2 = "(tm2 1RB 1LB 1LA 1H)"
CHAMP3 = "(tm3 1RB 1H 1LB 0RC 1LC 1LA)"  # Lin and Rado's: 21 steps, 5 ones
SIGMA3 = "(tm3 1RB 1H 0RC 1RB 1LC 1LA)"  # 14 steps, 6 ones
CHAMP4 = "(tm4 1RB 1LB 1LA 0LC 1H 1LD 1RD 0RA)"  # Brady's 107-step champion


def ops_of(text, grammar=G):
    return parse(text, grammar).tolist()


def mb(bits: float) -> int:
    return math.ceil(bits * 1000 - 1e-6)


# ------------------------------------------------------------------ grammar
def test_productions_names_and_order():
    names = [p.name for p in G.productions]
    assert names[:4] == ["tm1", "tm2", "tm3", "tm4"]
    assert names[4:10] == ["0H", "0LA", "0RA", "1H", "1LA", "1RA"]
    assert names[10:20] == ["0H", "0LA", "0LB", "0RA", "0RB", "1H", "1LA", "1LB", "1RA", "1RB"]
    for n in range(1, 5):
        t = [p.name for p in G.productions if p.type == f"T{n}"]
        assert len(t) == 4 * n + 2 and t == sorted(t)  # the names' sort order
        assert G.productions[tp.machine_production(G, n)].args == (f"T{n}",) * (2 * n)
    assert len(G.productions) == 4 + 6 + 10 + 14 + 18
    assert G.types == ("Machine", "T1", "T2", "T3", "T4") and G.start == "Machine"
    # digit t <-> (write, move, state) as documented
    for n in range(1, 5):
        for t, p in enumerate(tp.transition_productions(G, n)):
            prod = G.productions[p]
            if prod.op == tp.K_HALT:
                assert t == tp.transition_digit(n, prod.operand, None, None)
            else:
                w, move, s = tp.decode(prod.operand)
                assert t == tp.transition_digit(n, w, move, s)
                assert prod.name == f"{w}{'LR'[move]}{'ABCD'[s]}"


def test_default_bits_are_elias_gamma_plus_uniform():
    bits = {p.qualified: G.mbits[i] for i, p in enumerate(G.productions)}
    assert [bits[f"Machine.tm{n}"] for n in range(1, 5)] == [1000, 3000, 3000, 5000]
    assert [tp.elias_gamma_bits(n) for n in range(1, 9)] == [1, 3, 3, 5, 5, 5, 5, 7]
    per_transition = {1: 2585, 2: 3322, 3: 3808, 4: 4170}  # log2(4n+2) rounded up to millibits
    for n, m in per_transition.items():
        assert m == mb(math.log2(4 * n + 2))
        assert all(G.mbits[i] == m for i in tp.transition_productions(G, n))
    assert G.program_mbits(ops_of(CHAMP2)) == 3000 + 4 * 3322
    assert G.program_mbits(ops_of(CHAMP4)) == 5000 + 8 * 4170
    # costs: tm<n> 0 steps, every transition 1
    assert [G.step_cost[tp.machine_production(G, n)] for n in range(1, 5)] == [0, 0, 0, 0]
    assert all(G.step_cost[i] == 1 for i, p in enumerate(G.productions) if p.type != "Machine")


def test_states_selection_and_overrides():
    g3 = tp.grammar(states=[3])
    assert dict(g3.counts_by_length(40)) == {3000 + 6 * 3808: 14**6}
    assert g3.mbits[tp.machine_production(g3, 3)] == 3000  # keeps its Elias gamma bits
    assert all(g3.mbits[tp.machine_production(g3, n)] == -1 for n in (1, 2, 4))
    g6 = tp.grammar(states=[6])  # max_states grows to the largest selected
    assert tp.n_states(g6) == 6 and g6.mbits[tp.machine_production(g6, 6)] == 5000
    # a caller's bits on Machine: the defaults are off, the rest share uniformly
    g = tp.grammar(bits={"tm1": 2})
    assert [g.mbits[tp.machine_production(g, n)] for n in range(1, 5)] == [2000, 2000, 2000, 2000]  # 3/4 left over three
    g = tp.grammar(ban=["tm1"])
    assert [g.mbits[tp.machine_production(g, n)] for n in range(1, 5)] == [-1, 1585, 1585, 1585]
    # other overrides keep the Machine defaults
    g = tp.grammar(bits={"T2.1RB": 1}, cost={"T2.1H": 5, "tm2": 3})
    assert g.mbits[tp.machine_production(g, 2)] == 3000 and g.mbits[g.resolve("T2.1RB")[0]] == 1000
    assert g.mbits[g.resolve("T2.0H")[0]] == mb(-math.log2(0.5 / 9))
    with pytest.raises(DslError):
        tp.grammar(cost={"T2.1RB": 0})  # a free transition could run forever
    with pytest.raises(DslError):
        tp.grammar(bits={"nope": 1})
    with pytest.raises(DslError):
        tp.grammar(states=[])
    with pytest.raises(DslError):
        tp.grammar(max_states=0)


def test_syntax_round_trip_and_table():
    for text in ("(tm1 1H 0LA)", CHAMP2, CHAMP3, CHAMP4, "(tm4 0H 0H 0H 0H 0H 0H 0H 0H)"):
        ops = parse(text, G)
        assert unparse(ops, G) == text
    assert pretty(ops_of(CHAMP2), G) == "      0    1\nA   1RB  1LB\nB   1LA   1H"
    n, table = machine_table(ops_of(CHAMP3), G)
    assert n == 3 and [t.name for t in table] == CHAMP3[5:-1].split()
    assert table[1].halts and table[0].write == 1 and table[0].state == 1 and table[0].move == tp.RIGHT
    with pytest.raises(DslError):
        parse("(tm2 1RC 1LB 1LA 1H)", G)  # no state C in a 2-state machine
    with pytest.raises(DslError):
        parse("(tm2 1RB 1LB 1LA)", G)
    with pytest.raises(DslError):
        machine_table(ops_of(CHAMP2)[:4], G)


# ------------------------------------------------------------------ counts
def test_counts_enumerator_and_kraft():
    lengths = {1: 1000 + 2 * 2585, 2: 3000 + 4 * 3322, 3: 3000 + 6 * 3808, 4: 5000 + 8 * 4170}
    assert dict(G.counts_by_length(40)) == {lengths[n]: (4 * n + 2) ** (2 * n) for n in range(1, 5)}
    assert [(4 * n + 2) ** (2 * n) for n in range(1, 5)] == [36, 10_000, 7_529_536, 11_019_960_576]
    en = Enumerator(G, 40)
    assert [(mbits, count) for _, mbits, count in en.levels] == [(lengths[n], (4 * n + 2) ** (2 * n))
                                                                 for n in range(1, 5)]
    assert en.total == 36 + 10_000 + 7_529_536 + 11_019_960_576 and en.max_nodes == 9
    # Kraft sum: sum_n 2^-gamma(n) ((4n+2) 2^-bits(T<n>))^(2n), just below 0.78125
    want = sum(2.0 ** -tp.elias_gamma_bits(n) * ((4 * n + 2) * 2.0 ** (-lengths_t / 1000)) ** (2 * n)
               for n, lengths_t in ((1, 2585), (2, 3322), (3, 3808), (4, 4170)))
    lo, hi = G.kraft_total()
    assert lo == pytest.approx(want, abs=1e-12) and hi == pytest.approx(want, abs=1e-12)
    assert 0.7805 < want < 0.78125 == 1 / 2 + 1 / 8 + 1 / 8 + 1 / 32
    assert sum(k for _, _, k in G.kraft_by_length(40)) == pytest.approx(want, abs=1e-12)


def test_reference_enumerator_agrees():
    brute = reference_programs(G2, 17)
    assert len(brute) == 36 + 10_000
    en = Enumerator(G2, 17)
    got = [tuple(b.ops[i, : b.sizes[i]].tolist()) for b in en.batches(batch_size=997) for i in range(len(b))]
    assert got == [ops for _, ops in brute]
    counts: dict[int, int] = {}
    for mbits, _ in brute:
        counts[mbits] = counts.get(mbits, 0) + 1
    assert counts == dict(G2.counts_by_length(17))
    # the first and last 2-state machines in enumeration order
    assert unparse(got[36], G2) == "(tm2 0H 0H 0H 0H)" and unparse(got[-1], G2) == "(tm2 1RB 1RB 1RB 1RB)"
    assert unparse(got[37], G2) == "(tm2 0H 0H 0H 0LA)"


# ------------------------------------------------------------------ reference, by hand
def test_two_state_champion_by_hand():
    # A0 -> 1RB: tape 1[0], B at 1.  B0 -> 1LA: 1 1[0]... traced:
    # step 1 A0: write 1 at 0, R, B   (head 1)
    # step 2 B0: write 1 at 1, L, A   (head 0)
    # step 3 A1: write 1 at 0, L, B   (head -1)
    # step 4 B0: write 1 at -1, L, A  (head -2)
    # step 5 A0: write 1 at -2, R, B  (head -1)
    # step 6 B1: write 1, halt        -> cells -2 .. 1 visited: 1111
    ref = TMReference(G)
    assert ref.run(ops_of(CHAMP2), 6) == TMRun(True, 6, "1111", 4)
    assert ref.run(ops_of(CHAMP2), 100) == TMRun(True, 6, "1111", 4)
    assert ref.run(ops_of(CHAMP2), 5) == TMRun(False, 5, "1111", 4)  # cut off before step 6
    assert ref.run(ops_of(CHAMP2), 3) == TMRun(False, 3, "011", 2)  # head on the blank cell -1
    assert ref.run(ops_of(CHAMP2), 2) == TMRun(False, 2, "11", 2)
    assert ref.run(ops_of(CHAMP2), 0) == TMRun(False, 0, "0", 0)
    assert ref.run(ops_of(CHAMP3), 21) == TMRun(True, 21, "11111", 5)
    assert ref.run(ops_of(CHAMP3), 20) == TMRun(False, 20, "11111", 5)
    assert ref.run(ops_of(SIGMA3), 21) == TMRun(True, 14, "111111", 6)
    assert ref.run(ops_of(CHAMP4), 107) == TMRun(True, 107, "10111111111111", 13)
    assert ref.run(ops_of(CHAMP4), 106) == TMRun(False, 106, "00111111111111", 12)  # 1H writes the 13th


def test_reference_small_cases():
    ref = TMReference(G)
    assert ref.run(ops_of("(tm1 1H 0H)"), 1) == TMRun(True, 1, "1", 1)
    assert ref.run(ops_of("(tm1 0H 0H)"), 5) == TMRun(True, 1, "0", 0)
    # runs away to the left writing 1s: the head's cell is still blank
    assert ref.run(ops_of("(tm1 1LA 1H)"), 4) == TMRun(False, 4, "01111", 4)
    # erases what it wrote: ones counts the final tape, the output is the visited segment
    assert ref.run(ops_of("(tm2 1RB 0H 0LA 0H)"), 10) == TMRun(True, 3, "00", 0)
    # halting writes without moving
    assert ref.run(ops_of("(tm2 1LB 0H 1H 0H)"), 10) == TMRun(True, 2, "11", 2)


def test_cost_overrides():
    g = tp.grammar(cost={"tm2": 4, "T2.1LB": 3, "T2.1H": 2})
    ref = TMReference(g)
    # tm2 4 + 1RB 1 + 1LA 1 + 1LB 3 + 1LA 1 + 1RB 1 + 1H 2 = 13
    assert ref.run(ops_of(CHAMP2, g), 13) == TMRun(True, 13, "1111", 4)
    assert ref.run(ops_of(CHAMP2, g), 12) == TMRun(False, 11, "1111", 4)  # 1H would pass the cap
    assert ref.run(ops_of(CHAMP2, g), 3) == TMRun(False, 0 + 4, "0", 0)  # tm2 alone exceeds it
    runs = TMInterpreter(g).run(*pad_ops([ops_of(CHAMP2, g)] * 3), np.array([13, 12, 3]))
    assert runs.halted.tolist() == [True, False, False] and runs.steps.tolist() == [13, 11, 4]
    assert [runs.output(i) for i in range(3)] == ["1111", "1111", "0"]


# ------------------------------------------------------------------ parity
def kernel_rows(runs, i):
    return bool(runs.halted[i]), int(runs.steps[i]), runs.output(i), int(runs.ones[i])


def assert_parity(grammar, programs, caps):
    ref = TMReference(grammar)
    it = TMInterpreter(grammar)
    ops, sizes = pad_ops(programs)
    for cap in caps:
        caps_arr = np.full(len(programs), cap, dtype=np.int64) if np.ndim(cap) == 0 else cap
        runs = it.run(ops, sizes, caps_arr)
        assert runs.packed.shape == (len(programs), kernels.words_for(int(np.max(caps_arr))))
        for i, prog in enumerate(programs):
            want = ref.run(prog, int(caps_arr[i]))
            got = kernel_rows(runs, i)
            if got != (want.halted, want.steps, want.output, want.ones):
                pytest.fail(f"{unparse(prog, grammar)} cap {caps_arr[i]}: reference {want}, kernel {got}")
            assert runs.out_len[i] == len(want.output)
            assert np.array_equal(runs.packed[i], pack(want.output, runs.packed.shape[1]))
    return runs


def test_parity_every_machine_up_to_two_states():
    programs = [list(ops) for _, ops in reference_programs(G2, 17)]
    assert len(programs) == 10_036
    runs = assert_parity(G2, programs, [0, 1, 2, 3, 5, 6, 20])
    assert int(runs.halted.sum()) == 12 + 3044


def random_machines(grammar, n, count, seed):
    en = Enumerator(grammar, 40)
    k = next(k for k, mbits, c in en.levels if c == (4 * n + 2) ** (2 * n))
    rng = np.random.default_rng(seed)
    out = []
    for index in rng.integers(0, (4 * n + 2) ** (2 * n), count):
        ops, sizes = en.unrank(k, int(index), 1)
        out.append(ops[0, : sizes[0]].tolist())
    return out


def test_parity_random_three_and_four_state_machines():
    programs = random_machines(G, 3, 400, seed=3) + random_machines(G, 4, 400, seed=4)
    programs += [ops_of(CHAMP3), ops_of(SIGMA3), ops_of(CHAMP4)]
    rng = np.random.default_rng(9)
    mixed = rng.integers(0, 130, len(programs)).astype(np.int64)  # a cap per program
    runs = assert_parity(G, programs, [1, 4, 21, 107, 300, mixed])
    assert runs.steps[-1] == (107 if mixed[-1] >= 107 else mixed[-1])
    # the random sample has long runs, cut-off runs and halting ones
    assert 0.1 < runs.halted.mean() < 0.6 and (runs.out_len > 33).any()


def test_parity_with_cost_overrides():
    g = tp.grammar(cost={"tm3": 2, "T3.1RB": 3, "T3.0LA": 2, "T3.1H": 4, "T4.1LB": 5})
    programs = random_machines(g, 3, 150, seed=5) + random_machines(g, 4, 150, seed=6)
    assert_parity(g, programs, [0, 2, 7, 50])


def test_packed_rows_identify_outputs():
    # equal rows iff equal outputs (the end marker separates "0" from "00")
    outputs = ["0", "00", "000", "1", "01", "10", "1" * 31, "1" * 32, "0" * 31 + "1", "0" * 32, "0" * 64]
    rows = [pack(s, 3) for s in outputs]
    for i, a in enumerate(rows):
        assert unpack(a, len(outputs[i])) == outputs[i]
        for j, b in enumerate(rows):
            assert np.array_equal(a, b) == (i == j)
    assert pack("1" * 31, 2).tolist() == [-1, 0] and pack("1" * 32, 2).tolist() == [-1, 1]
    assert pack("0", 1).tolist() == [2] and pack("", 1).tolist() == [1]


def test_fit_batch_matches_reference():
    programs = [list(ops) for _, ops in reference_programs(G2, 17)]
    ops, sizes = pad_ops(programs)
    it = TMInterpreter(G2)
    ref = TMReference(G2)
    want = [ref.run(p, 6) for p in programs]
    for prefix in ("", "1", "11", "1111", "0", "100", "11111"):
        for exact in (False, True):
            fits, steps = it.fit(ops, sizes, 6, prefix, exact)
            expect = [r.halted and (r.output == prefix if exact else r.output.startswith(prefix)) for r in want]
            assert fits.tolist() == expect, (prefix, exact)
            assert steps.tolist() == [r.steps for r in want]
    fits, _ = it.fit(ops, sizes, 6, "1111", True)
    assert [unparse(programs[i], G2) for i in np.flatnonzero(fits)] == ["(tm2 1LB 1RB 1RA 1H)", CHAMP2]
    fits, _ = it.fit(ops, sizes, 5, "1111")  # the champions need 6 steps
    assert not fits.any()
    with pytest.raises(DslError):
        it.fit(ops, sizes, 6, "12")


def test_kernel_tables_and_limits():
    t = kernel_tables(G)
    assert t["op_kind"][:4].tolist() == [tp.K_MACHINE] * 4 and t["op_arg"][:4].tolist() == [1, 2, 3, 4]
    assert (kernels.K_MACHINE, kernels.K_MOVE, kernels.K_HALT) == (tp.K_MACHINE, tp.K_MOVE, tp.K_HALT)
    it = TMInterpreter(G)
    ops, sizes = pad_ops([ops_of(CHAMP2)])
    with pytest.raises(DslError):
        it.run(ops, sizes, kernels.MAX_CAP + 1)
    with pytest.raises(DslError):
        it.run(ops, sizes, -1)
    with pytest.raises(ValueError):  # too few words for the cap, straight into the kernel
        kernels.run_batch(ops, sizes, np.array([64], dtype=np.int64), np.int64(2), t["op_kind"],
                          t["op_arg"], t["op_arity"], t["step_cost"])
    empty = it.run(np.zeros((0, 9), dtype=np.int32), np.zeros(0, dtype=np.int32), 10)
    assert len(empty) == 0
