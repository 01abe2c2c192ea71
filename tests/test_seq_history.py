"""The seq `history` profile (hist, fold, h, acc): bits and exact counts, hand-checked
values and steps, parity of the compiled interpreter with the reference over many
random programs (predict and fit, with step caps), and the history flag in records."""
from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import pad_ops, unranked_programs
from dsl.errors import DslError
from dsl.seq import primitives as sp
from dsl.seq.reference import SeqReference
from dsl.syntax import parse, unparse
from levinsearch import domains, experiments, pipeline, types
from levinsearch.enumerate import Enumerator, reference_programs
from test_seq_dsl import SEQS, assert_parity, kernel_fit, kernel_predict, random_program

H = sp.grammar(profile="history")
D = sp.grammar()
EXPR_H = 4088  # log2(17) = 4.0875 bits, rounded up to millibits


def ops_of(text: str) -> list[int]:
    return parse(text, H).tolist()


def check(text, terms, values, steps, n=None, grammar=H):
    """Reference and kernel both give exactly `values` and `steps`."""
    ops = parse(text, grammar).tolist()
    n = len(values) if n is None else n
    assert SeqReference(grammar).run(ops, terms, n) == (list(values), list(steps)), text
    preds, got = kernel_predict(grammar, [ops], terms, n)
    assert preds[0].tolist() == list(values) and got[0].tolist() == list(steps), text


# ------------------------------------------------------------------ grammar
def test_profile_extends_default_with_same_ids():
    assert tuple(H.productions[:20]) == tuple(D.productions)
    assert [p.name for p in H.productions[20:]] == ["hist", "fold", "h", "acc"]
    assert all(p.type == "Expr" for p in H.productions[20:])
    assert all(H.mbits[i] == EXPR_H for i in H.by_type["Expr"])
    assert (H.mbits[H.resolve("one")[0]], H.mbits[H.resolve("bit0")[0]]) == (1000, 2000)
    assert sp.productions() == sp.productions("default") and len(D.productions) == 20
    with pytest.raises(DslError, match="unknown grammar profile 'nope' for seq"):
        sp.grammar(profile="nope")


# Expr lengths up to 13 bits (e = 4.088 bits per Expr production): 7 leaves at e; const n
# at e + 2 floor(log2 n) + 1 (1, 2, 4, 8 constants); hist and fold over a leaf at 2e (2*7)
# and over a constant at 2e + 1, 2e + 3 (2*1, 2*2); at 3e the 5 binary operators over two
# leaves (5*49) and hist/fold over hist/fold over a leaf (2*2*7). find and if need more.
HAND_COUNTS_13 = {EXPR_H: 7, EXPR_H + 1000: 1, EXPR_H + 3000: 2, EXPR_H + 5000: 4, EXPR_H + 7000: 8,
                  2 * EXPR_H: 14, 2 * EXPR_H + 1000: 2, 2 * EXPR_H + 3000: 4, 3 * EXPR_H: 245 + 28}


def test_counts_by_hand_and_brute_force():
    assert dict(H.counts_by_length(13)) == HAND_COUNTS_13
    for max_bits in (13, 17.5):
        brute = reference_programs(H, max_bits)
        counts: dict[int, int] = {}
        for mbits, _ in brute:
            counts[mbits] = counts.get(mbits, 0) + 1
        assert dict(H.counts_by_length(max_bits)) == counts
        got = [tuple(b.ops[i, : b.sizes[i]].tolist()) for b in Enumerator(H, max_bits).batches(batch_size=101)
               for i in range(len(b))]
        assert got == [ops for _, ops in brute]
    assert len(reference_programs(H, 13)) == sum(HAND_COUNTS_13.values()) == 315


# ------------------------------------------------------------------ hand-written programs
def test_fold_sums_the_history_in_quadratic_time():
    # t + (a(0) + ... + a(t-1)) generates 2^t - 1; per prediction add, t, fold (3 steps)
    # and 3 per term read (add, acc, h)
    terms = [2**t - 1 for t in range(8)]
    check("(add t (fold (add acc h)))", terms, terms, [3 + 3 * t for t in range(8)])
    # the same terms from x1 alone, in constant time per prediction
    check("(add x1 (add x1 (div t t)))", terms, terms, [7] * 8)
    # a fold that ignores h re-reads the history to count it: t, at 1 + 4t steps
    check("(fold (add acc (const one)))", [5] * 6, list(range(6)), [1 + 4 * t for t in range(6)])
    # outside a fold h and acc are 0
    check("(add h acc)", [4, 5, 6], [0, 0, 0], [3] * 3)


def test_fold_order_and_nesting():
    # acc = 2 acc + h, read oldest first: the binary number a(0) a(1) ... a(t-1)
    check("(fold (add (add acc acc) h))", [1, 0, 1, 1], [0, 1, 2, 5, 11], [1 + 5 * t for t in range(5)])
    # the inner fold's h and acc hide the outer's; the outer's are back after it
    # (fold h) is the last term read (x1, at 1 + t steps); outer: sum over the history of
    # x1 + h, with the inner fold costing 1 + t per outer term read.
    terms = [3, 1, 4, 1, 5]
    sums = [sum(terms[t - 1] + terms[j] for j in range(t)) if t else 0 for t in range(6)]
    steps = [1 + t * (5 + t) for t in range(6)]  # fold; per term add, add, acc, h, inner fold 1 + t
    check("(fold (add (add acc (fold h)) h))", terms, sums, steps)
    # cubic time: three folds deep
    check("(fold (fold (fold h)))", [7, 8, 9], [0, 7, 8, 9], [1 + t + t * t + t**3 for t in range(4)])


def test_hist_reads_back_at_the_price_of_the_walk():
    terms = [10, 11, 12, 13, 14]
    # (hist 3): a(t-3) once t >= 3, else 0; hist 1 + const 3 = 3 nodes... 4 steps, plus 3 read
    check("(hist (const (bit1 one)))", terms, [0, 0, 0, 10, 11, 12], [4, 4, 4, 7, 7, 7])
    # (hist t) walks back to a(0): t + 2 steps
    check("(hist t)", terms, [0, 10, 10, 10, 10, 10], [2, 3, 4, 5, 6, 7])
    # d < 1 or d > t reads nothing: 0 at the cost of the node and its argument
    check("(hist c0)", terms, [0] * 6, [2] * 6)
    check("(hist (sub c0 t))", terms, [0] * 6, [4] * 6)
    check("(hist (add t t))", terms, [0] * 6, [4] * 6)
    # the walk is priced at c(h), the cost of reading one term: 0 makes hist a random access
    g = sp.grammar(profile="history", cost={"h": 0})
    check("(hist t)", terms, [0, 10, 10, 10, 10, 10], [2] * 6, grammar=g)
    g = sp.grammar(profile="history", cost={"h": 3, "fold": 2})
    check("(hist t)", terms, [0, 10, 10, 10, 10, 10], [2 + 3 * t for t in range(6)], grammar=g)
    check("(fold h)", terms, [0, 10, 11, 12, 13, 14], [2 + 3 * t for t in range(6)], grammar=g)


def test_target_program_may_use_the_history_profile():
    from levinsearch.domains.seq.run import target_terms
    terms, text = target_terms(dict(program="(add t (fold (add acc h)))", train=4, deploy=4))
    assert terms.tolist() == [0, 1, 3, 7, 15, 31, 63, 127] and text == "(add t (fold (add acc h)))"


# ------------------------------------------------------------------ parity
WEIGHTS = {"Expr.hist": 3.0, "Expr.fold": 2.5, "Expr.h": 3.0, "Expr.acc": 3.0}


def history_programs(n: int, seed: int, max_depth: int = 5) -> list[list[int]]:
    import test_seq_dsl
    saved = dict(test_seq_dsl.WEIGHTS)
    test_seq_dsl.WEIGHTS.update(WEIGHTS)
    try:
        rng = np.random.default_rng(seed)
        return [random_program(H, rng, int(rng.integers(1, max_depth + 1))) for _ in range(n)]
    finally:
        test_seq_dsl.WEIGHTS.clear()
        test_seq_dsl.WEIGHTS.update(saved)


def test_parity_random_expansion():
    programs = history_programs(400, 2027)
    used = {p for prog in programs for p in prog}
    assert used == set(range(len(H.productions)))
    fold = H.resolve("fold")[0]
    assert sum(prog.count(fold) >= 2 for prog in programs) > 10  # two folds, often nested
    assert_parity(H, programs, SEQS[:3] + SEQS[6:9])


def test_parity_random_unranking_and_every_small_program():
    assert_parity(H, unranked_programs(H, 32, 300, seed=3), SEQS[::2])
    assert_parity(H, [list(ops) for _, ops in reference_programs(H, 13)], SEQS[:4])


def test_parity_with_cost_overrides():
    g = sp.grammar(profile="history", cost={"h": 2, "fold": 0, "hist": 4, "acc": 3})
    assert_parity(g, history_programs(120, 8, 4), SEQS[1:4])


def test_fit_batch_matches_reference_with_caps():
    programs = history_programs(300, 11, 4) + [ops_of("(add t (fold (add acc h)))"), ops_of("(fold (fold h))"),
                                               ops_of("(add (fold (add acc h)) t)"), ops_of("(add x1 (add x1 (div t t)))")]
    terms = np.array([2**t - 1 for t in range(12)], dtype=np.int64)
    n_train = 10
    runs = [SeqReference(H).run(p, terms, n_train) for p in programs]
    ok = [all(v == terms[t] for t, v in enumerate(vals)) for vals, _ in runs]
    totals = np.array([sum(s) for _, s in runs], dtype=np.int64)
    fits, first, verdict = kernel_fit(H, programs, terms, n_train)
    assert fits.tolist() == ok and sum(ok) >= 3
    for i in np.flatnonzero(fits):
        assert verdict[i] == totals[i]
    # caps: one step short of fitting rejects, exactly enough fits; a fold stops between
    # the terms it reads, just past the cap
    fitting = np.flatnonzero(fits)
    caps = np.full(len(programs), 1 << 62, dtype=np.int64)
    caps[fitting] = totals[fitting] - 1
    f_short, _, v_short = kernel_fit(H, programs, terms, n_train, caps)
    assert not f_short[fitting].any() and (v_short[fitting] > caps[fitting]).all()
    caps[fitting] = totals[fitting]
    assert kernel_fit(H, programs, terms, n_train, caps)[0][fitting].all()
    deep = ops_of("(fold (fold (fold (fold (fold (fold h))))))")
    f, e, v = kernel_fit(H, [deep], np.zeros(40, dtype=np.int64), 40, np.array([5000], dtype=np.int64))
    assert not f[0] and e[0] == -1 and 5000 < v[0] < 5100


# ------------------------------------------------------------------ records
def history_config(tmp_path, profile="history", train=5, max_bits=18.5, extra=""):
    path = tmp_path / "h.toml"
    path.write_text(f"""
[experiment]
name = "h"
domain = "seq"
[target]
program = "(add t (fold (add acc h)))"
train = {train}
deploy = 3
[grammar]
profile = "{profile}"
[search]
max_bits = {max_bits}
{extra}
""")
    return experiments.resolve(experiments.load(str(path)), domains=domains)


def test_record_reports_history_readers(tmp_path):
    record = pipeline.run_experiment(history_config(tmp_path, train=3, max_bits=25))
    s = record["summary"]
    hyps = {h["program"]: h for h in record["hypotheses"]}
    assert hyps["(add t (fold (add acc h)))"]["history"] is True
    assert all(h["history"] == any(w in h["program"] for w in ("(fold", "(hist")) for h in record["hypotheses"])
    total = sum(b["history_posterior"] for b in record["behaviours"])
    assert 0 < s["history_mass"] == pytest.approx(min(1.0, total)) and s["history_mass"] < 1
    assert all(b["history_programs"] <= b["programs"] for b in record["behaviours"])
    # with tail samples the whole posterior gives P(history reader) over all programs too
    tailed = pipeline.run_experiment(history_config(tmp_path, train=3, max_bits=18.5, extra="tail_samples = 3000"))
    whole = tailed["summary"]["whole_posterior"]
    assert whole["history"]["exact"] == pytest.approx(tailed["summary"]["history_mass"])
    assert 0 <= whole["history"]["low"] <= whole["history"]["estimate"] <= whole["history"]["high"] <= 1
    for r in (record, tailed):  # the published JSON Schema admits the new fields
        types.validate(json.loads(json.dumps(r, default=lambda v: v.tolist())))
    # the default profile records no history fields, and cannot parse the new productions
    plain = pipeline.run_experiment(history_config(tmp_path, profile="default", max_bits=20))
    assert "history_mass" not in plain["summary"]
    assert all("history" not in h for h in plain["hypotheses"])
    assert all("history_posterior" not in b for b in plain["behaviours"])
    with pytest.raises(DslError):
        parse("(fold h)", D)
    assert unparse(parse("(fold h)", H), H) == "(fold h)"
