"""bench/semantic_classes.py, whose counts docs/performance.md quotes: its Pred classes
against brute force, and its program counter against the grammar's."""
from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path

from dsl.grid import primitives
from dsl.grid.reference import GridReference
from dsl.tree import tree
from levinsearch.enumerate import Enumerator

spec = importlib.util.spec_from_file_location(
    "semantic_classes", Path(__file__).resolve().parents[1] / "bench" / "semantic_classes.py")
semantic = importlib.util.module_from_spec(spec)
spec.loader.exec_module(semantic)

# wall, empty, a red door, a blue box, a green key
VALUES = [1, 2, 1092, 1288, 1552]


def test_pred_classes_match_brute_force():
    grammar = primitives.grammar()
    ref = GridReference(grammar)
    limit = 4 * 3701 + 1  # Pred terms of up to 4 nodes
    brute: dict[int, Counter] = {}
    for batch in Enumerator(grammar, limit / 1000, type_name="Pred").batches():
        for i in range(len(batch)):
            ops = batch.ops[i, : batch.sizes[i]]
            root = tree(ops, grammar)
            truth = sum(1 << j for j, v in enumerate(VALUES) if ref.pred(root, v))
            brute.setdefault(batch.mbits, Counter())[(truth, ref.pred_cost(root))] += 1
    classes = semantic.pred_classes(grammar, VALUES, limit)
    assert sorted(classes) == sorted(brute)
    for length, (keys, counts) in classes.items():
        assert dict(zip(map(tuple, keys.tolist()), counts.tolist())) == dict(brute[length])


def test_program_count_is_the_grammar_count():
    grammar = primitives.grammar()
    limit = 24_000
    pred = {length: n for length, n in grammar.counts_by_length(24, "Pred")}
    assert semantic.program_count(grammar, pred, limit) == sum(n for _, n in grammar.counts_by_length(24))
