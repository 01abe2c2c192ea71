"""The compiled enumerator: exact order, completeness, resuming and unranking."""
from __future__ import annotations

import numba
import numpy as np
import pytest

from dsl.grid import primitives as gp
from dsl.syntax import unparse
from levinsearch.enumerate import UNRANK_CHUNK, Enumerator, program_key, reference_programs


def stream(en: Enumerator, batch_size: int = 1 << 15, start: int = 0, stop: int | None = None):
    """[(mbits, ops tuple)] in the compiled enumerator's order, with batch invariants checked."""
    out = []
    expected_first = start
    for batch in en.batches(batch_size, start=start, stop=stop):
        assert 0 < len(batch) <= batch_size
        assert batch.first_index == expected_first
        assert batch.ops.shape == (len(batch), max(en.max_nodes, 1))
        assert batch.ops.dtype == np.int32 and batch.sizes.dtype == np.int32
        for i in range(len(batch)):
            n = int(batch.sizes[i])
            assert (batch.ops[i, n:] == -1).all()
            out.append((batch.mbits, tuple(int(x) for x in batch.ops[i, :n])))
        expected_first += len(batch)
    return out


GRAMMARS = {
    "plain": gp.grammar(),
    "ban-plan": gp.grammar(ban=["plan"]),
    "bits": gp.grammar(bits={"red": 1, "Action.if": 1.5, "see": 3}),
    "ban-and-bits": gp.grammar(ban=["Bool.and", "greedy"], bits={"door": 2}),
    # Dir and Bool left with one production each: zero-bit productions in the middle of programs
    "zero-bit": gp.grammar(ban=["Dir.E", "Dir.S", "Dir.W", "see", "Bool.not", "Bool.and"]),
}


@pytest.mark.parametrize("max_bits", [12, 16, 18])
@pytest.mark.parametrize("name", list(GRAMMARS))
def test_stream_equals_reference(name, max_bits):
    g = GRAMMARS[name]
    en = Enumerator(g, max_bits)
    got = stream(en, batch_size=997)
    want = reference_programs(g, max_bits)
    assert len(got) == len(want) == en.total
    assert got == want
    # every mbits value is the program's own length, and non-decreasing
    assert all(g.program_mbits(ops) == m for m, ops in got)
    mbits = [m for m, _ in got]
    assert mbits == sorted(mbits)
    assert mbits[-1] <= max_bits * 1000
    # no duplicates
    assert len({ops for _, ops in got}) == len(got)
    # counts per length
    per_length: dict[int, int] = {}
    for m, _ in got:
        per_length[m] = per_length.get(m, 0) + 1
    assert sorted(per_length.items()) == g.counts_by_length(max_bits)
    assert [(m, c) for _, m, c in en.levels] == g.counts_by_length(max_bits)


def test_stream_order_is_program_key_order():
    g = gp.grammar()
    got = stream(Enumerator(g, 20))
    assert len(got) == 14004
    keys = [program_key(ops, g)[0] for _, ops in got]
    assert all(a < b for a, b in zip(keys, keys[1:]))  # strictly increasing: a total order
    assert got == reference_programs(g, 20)


def test_first_programs():
    g = gp.grammar()
    got = stream(Enumerator(g, 16))
    texts = [unparse(ops, g) for _, ops in got]
    assert texts[:6] == ["N", "E", "S", "W", "(plan red)", "(plan blue)"]
    assert texts[13] == "(plan empty)"
    assert texts[14] == "(greedy red)"
    assert texts[24] == "(plan (not red))"
    assert texts[43] == "(greedy (not empty))"
    # 13911 mbits: under plan, Pred.and before Pred.or before Pred.not (grammar order),
    # first argument's rank before the second's.
    assert texts[44] == "(plan (and red red))"
    assert texts[45] == "(plan (and red blue))"
    assert texts[54] == "(plan (and blue red))"
    assert texts[144] == "(plan (or red red))"
    assert texts[244] == "(plan (not (not red)))"
    assert texts[254] == "(greedy (and red red))"
    # 14125 mbits: (if (see P) A B): the Bool first, then the first Action, then the second.
    assert texts[464:469] == ["(if (see red) N N)", "(if (see red) N E)", "(if (see red) N S)",
                              "(if (see red) N W)", "(if (see red) E N)"]
    assert texts[480] == "(if (see blue) N N)"
    assert texts[-1] == "(if (see empty) W W)"
    assert len(texts) == 624


def test_levels_and_total():
    en = Enumerator(gp.grammar(), 16)
    assert en.levels == [(2, 2808, 4), (9, 6509, 20), (23, 10210, 20), (46, 13911, 420), (49, 14125, 160)]
    assert en.total == 624
    assert en.max_nodes == 5
    assert en.max_mbits == 16000


@pytest.mark.parametrize("start", [0, 1, 3, 4, 23, 24, 44, 200, 463, 464, 600, 623, 624, 700])
def test_batches_resume_at_global_rank(start):
    g = gp.grammar()
    en = Enumerator(g, 16)
    full = stream(en, batch_size=50)
    assert stream(en, batch_size=50, start=start) == full[start:]
    assert stream(en, batch_size=7, start=start) == full[start:]


def test_batches_resume_across_many_levels():
    g = GRAMMARS["bits"]
    en = Enumerator(g, 18)
    full = stream(en, batch_size=333)
    rng = np.random.default_rng(0)
    for start in rng.integers(0, len(full), 10):
        assert stream(en, batch_size=333, start=int(start)) == full[int(start):]


def test_batches_do_not_mix_lengths():
    en = Enumerator(gp.grammar(), 16)
    batches = list(en.batches(100))
    assert [(b.mbits, len(b), b.first_index) for b in batches] == [
        (2808, 4, 0), (6509, 20, 4), (10210, 20, 24),
        (13911, 100, 44), (13911, 100, 144), (13911, 100, 244), (13911, 100, 344), (13911, 20, 444),
        (14125, 100, 464), (14125, 60, 564),
    ]


@pytest.mark.parametrize("name", ["plain", "ban-and-bits"])
def test_unrank_random_index_equals_reference(name):
    g = GRAMMARS[name]
    max_bits = 20
    en = Enumerator(g, max_bits)
    ref = reference_programs(g, max_bits)
    offsets = np.cumsum([0] + [c for _, _, c in en.levels])
    rng = np.random.default_rng(17)
    for rank in rng.integers(0, len(ref), 60):
        level = int(np.searchsorted(offsets, rank, side="right")) - 1
        k, mbits, count = en.levels[level]
        index = int(rank - offsets[level])
        ops, sizes = en.unrank(k, index, 1)
        assert (mbits, tuple(ops[0, : sizes[0]].tolist())) == ref[int(rank)]
        # a run of several from the same index
        n = min(5, count - index)
        ops, sizes = en.unrank(k, index, n)
        assert [tuple(ops[j, : sizes[j]].tolist()) for j in range(n)] == [p for _, p in ref[int(rank): int(rank) + n]]


def test_other_start_type():
    g = gp.grammar()
    en = Enumerator(g, 12, "Pred")
    got = stream(en)
    assert got == reference_programs(g, 12, "Pred")
    assert [unparse(ops, g) for _, ops in got[:3]] == ["red", "blue", "green"]
    assert [(m, c) for _, m, c in en.levels] == [(3701, 10), (7402, 10), (11103, 210)]


def test_empty_enumeration_below_shortest_program():
    en = Enumerator(gp.grammar(), 2)
    assert en.levels == [] and en.total == 0
    assert list(en.batches()) == []


def spans(en: Enumerator, batch_size: int, start: int = 0, stop: int | None = None):
    """[(first_index, length)] of the batches."""
    return [(b.first_index, len(b)) for b in en.batches(batch_size, start=start, stop=stop)]


# level boundaries of plain/16 are 0, 4, 24, 44, 464, 624
@pytest.mark.parametrize("k", [0, 1, 4, 5, 23, 24, 44, 94, 200, 463, 464, 465, 564, 623, 624])
@pytest.mark.parametrize("batch_size", [50, 7, 1000])
def test_stop_then_resume_is_the_full_enumeration(k, batch_size):
    en = Enumerator(gp.grammar(), 16)
    full = stream(en, batch_size)
    head = stream(en, batch_size, start=0, stop=k)
    assert head == full[:k]
    assert head + stream(en, batch_size, start=k) == full
    # the same batches as without stop, the one holding k cut short there
    whole = spans(en, batch_size)
    cut = [(f, min(n, k - f)) for f, n in whole if f < k]
    assert spans(en, batch_size, stop=k) == cut
    # resuming at a boundary keeps every later boundary
    if k in {f for f, _ in whole}:
        assert spans(en, batch_size, start=k) == [(f, n) for f, n in whole if f >= k]


def test_stop_ranges_tile_the_enumeration():
    en = Enumerator(GRAMMARS["bits"], 18)
    full = stream(en, 333)
    rng = np.random.default_rng(5)
    level_starts = np.cumsum([c for _, _, c in en.levels])[:-1].tolist()
    cuts = sorted({0, len(full), *(int(x) for x in rng.integers(0, len(full), 12)), *level_starts})
    pieces = []
    for a, b in zip(cuts, cuts[1:]):
        piece = stream(en, 333, start=a, stop=b)
        assert piece == full[a:b]
        pieces += piece
    assert pieces == full


def test_stop_edge_cases():
    en = Enumerator(gp.grammar(), 16)
    full = stream(en, 50)
    assert stream(en, 50, stop=None) == full
    assert stream(en, 50, stop=10_000) == full
    assert stream(en, 50, start=100, stop=100) == []
    assert stream(en, 50, start=100, stop=50) == []
    assert stream(en, 50, start=0, stop=0) == []
    assert stream(en, 50, start=623, stop=624) == full[623:]
    assert stream(en, 50, start=700, stop=800) == []
    with pytest.raises(ValueError):
        list(en.batches(0))


def _all_levels(en: Enumerator, chunk: int):
    return [en.unrank(k, 0, count, chunk) for k, _, count in en.levels]


@pytest.mark.parametrize("name", ["plain", "bits", "zero-bit"])
def test_chunking_does_not_change_the_output(name):
    """Each chunk unranks its first program and steps to the rest; with chunk=1 every
    program is unranked on its own. All chunk sizes give the same arrays."""
    en = Enumerator(GRAMMARS[name], 23)
    want = _all_levels(en, 1)
    for chunk in [2, 7, 64, UNRANK_CHUNK, 1 << 40]:
        got = _all_levels(en, chunk)
        for (ops_w, sizes_w), (ops_g, sizes_g) in zip(want, got):
            assert ops_g.dtype == np.int32 and sizes_g.dtype == np.int32
            assert np.array_equal(ops_g, ops_w) and np.array_equal(sizes_g, sizes_w)
    # ranges that begin anywhere in a level, against the whole level
    rng = np.random.default_rng(3)
    for (k, _, count), (ops_w, sizes_w) in zip(en.levels, want):
        for first in {0, count - 1, *(int(x) for x in rng.integers(0, count, 3))}:
            n = min(count - first, 2500)
            ops, sizes = en.unrank(k, first, n)
            assert np.array_equal(ops, ops_w[first:first + n]) and np.array_equal(sizes, sizes_w[first:first + n])


def test_same_output_for_any_thread_count():
    en = Enumerator(GRAMMARS["ban-and-bits"], 26)
    saved = numba.get_num_threads()
    try:
        results = {}
        for threads in sorted({1, min(2, numba.config.NUMBA_NUM_THREADS), numba.config.NUMBA_NUM_THREADS}):
            numba.set_num_threads(threads)
            results[threads] = [(b.first_index, b.mbits, b.ops, b.sizes) for b in en.batches(5000)]
    finally:
        numba.set_num_threads(saved)
    (_, want), *others = results.items()
    assert sum(len(s) for *_, s in want) == en.total
    for _, got in others:
        assert len(got) == len(want)
        for (f1, m1, o1, s1), (f2, m2, o2, s2) in zip(want, got):
            assert (f1, m1) == (f2, m2)
            assert np.array_equal(o1, o2) and np.array_equal(s1, s2)
