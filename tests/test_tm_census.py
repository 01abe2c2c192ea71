"""Busy Beaver and CTM censuses: machine numbering = the Enumerator's order, S(n) and
Sigma(n) for n <= 3, exact agreement with the reference interpreter run on every machine
(n <= 2), the symmetry-reduced computation = brute force (n <= 3), exact merges, and the
published CTM distributions D(1), D(2), D(3) (OEIS A141474)."""
from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

from dsl.errors import DslError
from dsl.syntax import parse, unparse
from dsl.tm import census as tc
from dsl.tm import primitives as tp
from dsl.tm.census import Census, census, census_orbits, census_trivial, ctm_table, full_census
from dsl.tm.interpreter import TMInterpreter
from dsl.tm.reference import TMReference
from levinsearch.enumerate import Enumerator

G = tp.grammar()
S = {1: 1, 2: 6, 3: 21}
SIGMA = {1: 1, 2: 4, 3: 6}

# OEIS A141474, first 105 terms: D(1), D(2), D(3) flattened (see docs/tm.md)
A141474 = [int(x) for x in (
    "0,1,0,1,0,0,0,1,1,0,1,1,0,0,1,0,1,1,1,0,0,1,1,0,0,0,0,0,1,0,1,0,1,1,1,1,0,0,0,0,0,0,1,0,0,1,0,0,0,"
    "1,1,0,1,0,0,1,1,0,1,1,1,1,0,1,1,1,1,1,0,1,0,0,0,1,1,0,1,1,0,0,0,1,1,1,0,0,1,0,1,1,1,0,0,1,1,0,0,1,"
    "0,1,0,1,0,0,0").split(",")]


@pytest.fixture(scope="module")
def brute():
    """Brute-force censuses (every machine run, no pruning) at cap S(n)."""
    return {n: census(n, 0, None, S[n], prune=False) for n in (1, 2, 3)}


def reduced(n, cap, **kw):
    return census_trivial(n, cap).merge(census_orbits(n, 0, None, cap, **kw))


# ------------------------------------------------------------------ numbering
def test_machine_index_is_the_enumerators_order():
    en = Enumerator(G, 40)
    for (k, _, count), n in zip(en.levels, (1, 2, 3, 4)):
        assert count == tc.total(n)
        if n <= 2:
            ops, sizes = en.unrank(k, 0, count)
            indices = range(count)
        else:
            indices = [0, 1, count - 1] + random.Random(n).sample(range(count), 300)
            ops = np.stack([en.unrank(k, i, 1)[0][0] for i in indices])
        assert (ops[:, 1 + 2 * n:] == -1).all()
        for row, i in zip(ops[:, : 1 + 2 * n], indices):
            assert row.tolist() == tc.machine_ops(G, n, i).tolist()
            assert tc.index_of_ops(G, row) == (n, i)
            assert unparse(row, G) == tc.machine_text(n, i)
    assert tc.machine_text(2, 0) == "(tm2 0H 0H 0H 0H)" and tc.machine_text(2, 9999) == "(tm2 1RB 1RB 1RB 1RB)"
    champ = parse("(tm2 1RB 1LB 1LA 1H)", G)
    assert tc.index_of_ops(G, champ) == (2, 9 * 1000 + 7 * 100 + 6 * 10 + 5)
    with pytest.raises(DslError):
        tc.digits_of(2, 10_000)


# ------------------------------------------------------------------ Busy Beaver
@pytest.mark.parametrize("n", [1, 2, 3])
def test_busy_beaver_values(n, brute):
    c = census(n, 0, None, S[n])
    assert (c.max_steps, c.max_ones) == (S[n], SIGMA[n])
    assert c == brute[n] and c.complete and c.machines == (4 * n + 2) ** (2 * n)
    ref = TMReference(G)
    for text in c.champions("steps"):
        assert ref.run(parse(text, G), S[n]).steps == S[n]
    for text in c.champions("ones"):
        run = ref.run(parse(text, G), S[n])
        assert run.halted and run.ones == SIGMA[n]
    if n <= 2:  # a larger cap finds nothing new: S(n) is the most steps of any halting machine
        big = census(n, 0, None, 2 * S[n] + 10)
        assert (big.max_steps, big.max_ones, big.halted, big.outputs) == (S[n], SIGMA[n], c.halted, c.outputs)
    else:
        assert c.steps_hist[21] == 8 and c.halted == 2_147_184


def test_three_state_counts(brute):
    c = brute[3]
    assert c.machines == 7_529_536 and c.halted == 2_147_184 and c.capped == 5_382_352
    assert c.steps_hist[1] == 2 * 14**5  # (A,0) halts: step 1
    assert c.ones_hist == {0: 784_444, 1: 1_040_484, 2: 285_184, 3: 32_696, 4: 3944, 5: 412, 6: 20}
    # the 8 machines of 21 steps: Lin and Rado's, and its variants and mirror images
    assert c.champions("steps") == [
        "(tm3 1LB 0H 1RB 0LC 1RC 1RA)", "(tm3 1LB 1H 1RB 0LC 1RC 1RA)", "(tm3 1LC 0H 1RB 1RA 1RC 0LB)",
        "(tm3 1LC 1H 1RB 1RA 1RC 0LB)", "(tm3 1RB 0H 1LB 0RC 1LC 1LA)", "(tm3 1RB 1H 1LB 0RC 1LC 1LA)",
        "(tm3 1RC 0H 1LB 1LA 1LC 0RB)", "(tm3 1RC 1H 1LB 1LA 1LC 0RB)"]
    # 20 machines have 6 ones; the first kept is the mirror image of the classic one
    assert c.champions("ones")[0] == "(tm3 1LB 1H 0LC 1LB 1RC 1RA)" and len(c.ones_champions) == tc.CHAMPIONS
    _, i = tc.index_of_ops(G, parse("(tm3 1RB 1H 0RC 1RB 1LC 1LA)", G))
    one = census(3, i, i + 1, 21)
    assert (one.max_ones, one.ones_champions, one.max_steps) == (6, [i], 14) and i > c.ones_champions[-1]
    assert "(tm3 1RB 1H 1LB 0RC 1LC 1LA)" in c.champions("steps")


def test_two_state_champions_by_hand():
    c = census(2, 0, None, 6)
    # Sigma(2) = 4: exactly the classic champion and its mirror image (traced in
    # test_tm_dsl.test_two_state_champion_by_hand): A0 1RB, A1 1LB, B0 1LA, B1 1H.
    assert c.champions("ones") == ["(tm2 1LB 1RB 1RA 1H)", "(tm2 1RB 1LB 1LA 1H)"]
    assert c.ones_hist[4] == 2
    # S(2) = 6, reached by 20 machines. The first by index, traced:
    # A0 0LB: 0 at 0, head -1 (B); B0 1RA: 1 at -1, head 0 (A); A0 0LB: head -1 (B);
    # B1 1LB: 1 at -1, head -2 (B); B0 1RA: 1 at -2, head -1 (A); A1 0H: 0 at -1, halt.
    # Visited -2 .. 0: "100", one 1.
    assert c.steps_hist == {1: 2000, 2: 800, 3: 160, 4: 56, 5: 8, 6: 20}
    assert c.champions("steps") == [
        "(tm2 0LB 0H 1RA 1LB)", "(tm2 0LB 1H 1RA 1LB)", "(tm2 0RB 0H 1LA 1RB)", "(tm2 0RB 1H 1LA 1RB)",
        "(tm2 1LB 0H 0RB 1RA)", "(tm2 1LB 0H 1RB 1RA)", "(tm2 1LB 0RB 1RA 0H)", "(tm2 1LB 0RB 1RA 1H)",
        "(tm2 1LB 1H 0RB 1RA)", "(tm2 1LB 1H 1RB 1RA)"]
    run = TMReference(G).run(parse("(tm2 0LB 0H 1RA 1LB)", G), 6)
    assert (run.halted, run.steps, run.output, run.ones) == (True, 6, "100", 1)


def reference_census(n, cap):
    """A Census built by running the reference interpreter on every n-state machine."""
    ref = TMReference(G)
    c = Census(n, cap, parts=[("machines", 0, tc.total(n))])
    outputs, steps_hist, ones_hist = Counter(), Counter(), Counter()
    for i in range(tc.total(n)):
        run = ref.run(tc.machine_ops(G, n, i), cap)
        c.machines += 1
        if run.halted:
            c.halted += 1
            outputs[run.output] += 1
            steps_hist[run.steps] += 1
            ones_hist[run.ones] += 1
            c.record("steps", run.steps, [i])
            c.record("ones", run.ones, [i])
    c.outputs, c.steps_hist, c.ones_hist = dict(outputs), dict(steps_hist), dict(ones_hist)
    return c


@pytest.mark.parametrize("n, cap", [(1, 1), (1, 5), (2, 6), (2, 22), (2, 4)])
def test_census_equals_reference_on_every_machine(n, cap):
    want = reference_census(n, cap)
    got = census(n, 0, None, cap)
    assert got == want
    assert got.to_dict(False) == want.to_dict(False)
    if (n, cap) == (2, 6):
        assert (got.halted, got.capped) == (3044, 6956)
        assert got.outputs == {"0": 1000, "1": 1000, "00": 264, "01": 254, "10": 254, "11": 244,
                               "001": 2, "010": 2, "011": 4, "100": 2, "101": 2, "110": 4, "111": 4,
                               "1001": 2, "1011": 2, "1101": 2, "1111": 2}
    if (n, cap) == (2, 4):  # a cap below S(2) cuts the long runs off
        assert got.max_steps == 4 and got.halted < 3044


# ------------------------------------------------------------------ reduction and merging
@pytest.mark.parametrize("n", [1, 2, 3])
def test_reduced_census_equals_brute_force(n, brute):
    cap = S[n]
    pruned = census(n, 0, None, cap)  # skips machines that are seen never to halt
    red = reduced(n, cap)
    assert pruned == brute[n] and red == brute[n]
    assert red.to_dict(False) == brute[n].to_dict(False) and red.complete
    assert reduced(n, cap, prune=False) == brute[n]
    # other caps (machines cut off), and small batches
    for other in (3, 13, 40) if n == 3 else (2, 9):
        assert reduced(n, other, batch=77_777) == census(n, 0, None, other, prune=False)


def test_orbits_on_a_four_state_sample():
    """The orbit of a canonical 4-state machine behaves as the reduction says: run every
    member of the orbits of 3000 canonical machines with the simulator."""
    n, cap, a = 4, 107, 1_000_000_000
    part = census_orbits(n, a, a + 3000, cap)
    canon = np.array([tc.canonical_to_index(n, c) for c in range(a, a + 3000)])
    members = tc.orbit_indices(n, canon).ravel()
    assert len(set(members.tolist())) == 6 * 3000
    g = tp.grammar(states=[4])
    ops = np.stack([tc.machine_ops(g, n, int(i)) for i in members])
    runs = TMInterpreter(g).run(ops, np.full(len(ops), 9, dtype=np.int32), cap)
    h = runs.halted
    assert part.machines == len(members) and part.halted == int(h.sum()) > 0
    assert part.outputs == dict(Counter(runs.output(i) for i in np.flatnonzero(h)))
    assert part.steps_hist == dict(Counter(runs.steps[h].tolist()))
    assert part.ones_hist == dict(Counter(runs.ones[h].tolist()))
    assert part.max_steps == runs.steps[h].max() and part.max_ones == runs.ones[h].max()
    assert part.steps_champions == sorted(members[h & (runs.steps == part.max_steps)].tolist())[:tc.CHAMPIONS]
    assert part.ones_champions == sorted(members[h & (runs.ones == part.max_ones)].tolist())[:tc.CHAMPIONS]
    # the trivial part's claims on a sample of its machines
    block = 18**7
    rng = np.random.default_rng(1)
    sample = [d0 * block + int(r) for d0 in range(18) for r in rng.integers(0, block, 20)
              if tc.digits_of(4, d0 * block)[0] in (0, 9, 1, 5, 10, 14)]  # 0H 1H 0LA 0RA 1LA 1RA
    runs = TMInterpreter(g).run(np.stack([tc.machine_ops(g, 4, i) for i in sample]),
                                np.full(len(sample), 9, dtype=np.int32), 500)
    for i, index in enumerate(sample):
        d0 = tc.digits_of(4, index)[0]
        if d0 in (0, 9):
            assert (runs.halted[i], runs.steps[i], runs.output(i)) == (True, 1, str(d0 // 9))
        else:
            assert not runs.halted[i]


def test_split_merge_is_exact_and_order_free(brute):
    n, cap = 3, 21
    whole = brute[n]
    cuts = sorted(random.Random(5).sample(range(1, tc.total(n)), 7))
    bounds = [0] + cuts + [tc.total(n)]
    parts = [census(n, a, b, cap) for a, b in zip(bounds, bounds[1:])]
    random.Random(6).shuffle(parts)
    merged = parts[0]
    for p in parts[1:]:
        merged = merged.merge(p)
    assert merged == whole and merged.complete and merged.parts == [("machines", 0, tc.total(n))]
    # the same through JSON, and for the reduced computation
    again = Census.from_json(parts[0].to_json())
    for p in parts[1:]:
        again = Census.from_json(again.merge(Census.from_json(p.to_json())).to_json())
    assert again == whole
    ct = tc.canonical_total(n)
    pieces = [census_orbits(n, a, b, cap) for a, b in ((0, 1000), (1000, ct // 2 + 5), (ct // 2 + 5, ct))]
    merged = pieces[2].merge(census_trivial(n, cap)).merge(pieces[0]).merge(pieces[1])
    assert merged == whole and merged.complete
    # misuse
    with pytest.raises(DslError):
        parts[0].merge(parts[0])  # the same machines twice
    with pytest.raises(DslError):
        census_trivial(n, cap).merge(census_trivial(n, cap))
    with pytest.raises(DslError):
        parts[0].merge(pieces[0])  # brute-force ranges with orbits
    with pytest.raises(DslError):
        parts[0].merge(census(n, 0, 10, 22))  # another cap
    assert not pieces[0].complete and not parts[0].complete


def test_full_census_checkpoint_and_resume(tmp_path, brute):
    path = str(tmp_path / "c.json")
    seen = []
    first = full_census(3, 21, batch=300_000, checkpoint=path, progress=lambda c, s: seen.append(c.machines))
    assert first == brute[3] and len(seen) == 4 and seen[-1] == tc.total(3)
    # a checkpoint of a partial run resumes where it stopped
    partial = census_trivial(3, 21).merge(census_orbits(3, 0, 500_000, 21))
    with open(path, "w") as f:
        f.write(partial.to_json())
    assert full_census(3, 21, batch=300_000, checkpoint=path) == brute[3]
    assert full_census(2, 6, reduced=False, batch=999) == census(2, 0, None, 6)
    with pytest.raises(DslError):
        full_census(3, 20, checkpoint=path)


# ------------------------------------------------------------------ CTM
def test_ctm_matches_oeis_a141474(brute):
    tables = {n: ctm_table(brute[n], complete=True) for n in (1, 2, 3)}
    flat = [int(ch) for n in (1, 2, 3) for s, _, _, _ in tables[n] for ch in s]
    assert flat[: len(A141474)] == A141474
    # D(2) is wholly covered (22 strings, 68 terms with D(1)); D(3) to the 37th term
    assert len(tables[2]) == 22 and sum(len(s) for s, _, _, _ in tables[1] + tables[2]) == 68
    assert [s for s, _, _, _ in tables[3][:8]] == ["0", "1", "00", "01", "10", "11", "000", "111"]
    # the raw distribution (blank tape of 0s only) is not symmetric and does not match
    raw = [int(ch) for n in (1, 2, 3) for s, _, _, _ in ctm_table(brute[n]) for ch in s]
    assert raw[:13] == A141474[:13] and raw[13] != A141474[13]


def test_ctm_values():
    c = census(2, 0, None, 6)
    table = ctm_table(c, complete=True)
    assert table[:6] == [("0", 2000, 2000 / 6088, pytest.approx(1.6060, abs=1e-4)),
                         ("1", 2000, 2000 / 6088, pytest.approx(1.6060, abs=1e-4)),
                         ("00", 508, 508 / 6088, pytest.approx(3.5831, abs=1e-4)),
                         ("01", 508, 508 / 6088, pytest.approx(3.5831, abs=1e-4)),
                         ("10", 508, 508 / 6088, pytest.approx(3.5831, abs=1e-4)),
                         ("11", 508, 508 / 6088, pytest.approx(3.5831, abs=1e-4))]
    assert sum(k for _, k, _, _ in table) == 2 * c.halted == 6088
    assert sum(d for _, _, d, _ in table) == pytest.approx(1.0)
    raw = ctm_table(c)
    assert [r[:2] for r in raw[:6]] == [("0", 1000), ("1", 1000), ("00", 264), ("01", 254), ("10", 254),
                                        ("11", 244)]
    assert raw[0][2] == 1000 / 3044


# ------------------------------------------------------------------ the stored n = 4 census
def test_stored_four_state_census():
    """dsl/tm/data/census_n4_cap107.json: the full n = 4 census (python -m dsl.tm.census
    4 107; brute force gave the identical record, docs/tm.md). Checked for consistency
    and against fresh runs of its champions; it is not recomputed here (2 minutes)."""
    from pathlib import Path

    path = Path(tc.__file__).parent / "data" / "census_n4_cap107.json"
    c = Census.from_json(path.read_text())
    assert c.complete and c.machines == 18**8 and (c.n, c.step_cap) == (4, 107)
    assert (c.max_steps, c.max_ones) == (107, 13)  # S(4), Sigma(4)
    assert sum(c.outputs.values()) == sum(c.steps_hist.values()) == sum(c.ones_hist.values()) == c.halted
    assert c.halted == 2_985_384_480 and len(c.outputs) == 1302
    assert c.steps_hist[1] == 2 * 18**7 and c.steps_hist[107] == 24 and c.ones_hist[13] == 24
    ref = TMReference(G)
    for text in c.champions("steps"):
        assert ref.run(parse(text, G), 107).steps == 107 and ref.run(parse(text, G), 106).halted is False
    for text in c.champions("ones"):
        run = ref.run(parse(text, G), 107)
        assert run.halted and run.ones == 13
    # Brady's champion is one of the 24, later by index than the 10 kept
    _, i = tc.index_of_ops(G, parse("(tm4 1RB 1LB 1LA 0LC 1H 1LD 1RD 0RA)", G))
    one = census(4, i, i + 1, 107)
    assert (one.max_steps, one.max_ones) == (107, 13) and i > c.steps_champions[-1]
    assert one.outputs == {"10111111111111": 1} and c.outputs["10111111111111"] >= 1
    table = ctm_table(c, complete=True)
    assert len(table) == 1832 and sum(k for _, k, _, _ in table) == 2 * c.halted
    assert [s for s, _, _, _ in table[:14]] == ["0", "1", "00", "01", "10", "11", "000", "111", "001", "011",
                                                "100", "110", "010", "101"]


def test_five_state_champion_and_long_outputs():
    """Marxen and Buntrock's 5-state champion: S(5) = 47 176 870 steps, Sigma(5) = 4098
    ones. Its output (12 289 cells) is too long for an integer key, so this also runs the
    census's fallback through the simulator."""
    g = tp.grammar(max_states=5)
    text = "(tm5 1RB 1LC 1RC 1RB 1RD 0LE 1LA 1LD 1H 0LA)"
    n, i = tc.index_of_ops(g, parse(text, g))
    c = census(5, i, i + 1, 47_176_870)
    assert (c.halted, c.max_steps, c.max_ones, c.champions("ones")) == (1, 47_176_870, 4098, [text])
    (output, count), = c.outputs.items()
    assert count == 1 and len(output) == 12_289 and output.count("1") == 4098
    assert census(5, i, i + 1, 47_176_869).halted == 0
