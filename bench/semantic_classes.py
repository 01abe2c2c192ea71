"""How much grouping Pred subterms into semantic classes would save (issue 13, part 4).

Two Pred terms are interchangeable in every program when they have the same truth
value on every cell value the run can observe (training, test and probe grids, and the
wall outside them) and the same step cost. This script counts, exactly:

- Pred terms and Pred classes per Pred length;
- whole programs of at most B bits, and *class-programs*: programs whose Pred subterms
  are replaced by classes (what a class-based search would have to run);
- the floor: class-programs if every Pred length had a single class.

    .venv/bin/python bench/semantic_classes.py [EXPERIMENT] [--bits 30 40 48]

The program count is checked against the grammar's own exact count. Figures are quoted
in docs/performance.md ("Semantic classes: measured, not built").
"""
from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np

from dsl.grid import primitives as gp
from dsl.grid.world import WALL
from levinsearch import domains, experiments, pipeline


def observed_values(prep) -> list[int]:
    """Every cell value of the run's grids, and the wall outside them."""
    values = {WALL}
    for batch in (prep.train, *prep.tests.values(), prep.probes):
        for e in range(len(batch.dims)):
            h, w = batch.dims[e]
            values |= set(np.unique(batch.features[e, :h, :w]).tolist())
    return sorted(values)


def pred_classes(grammar, values: list[int], limit: int) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per Pred length (millibits, up to `limit`): the classes, as keys int64 [k, 2]
    (truth bit set over `values`, step cost) and how many Pred terms each has, int64 [k]."""
    full = (1 << len(values)) - 1
    prods = [(grammar.productions[i], grammar.mbits[i], grammar.step_cost[i]) for i in grammar.by_type["Pred"]]
    parts: dict[int, list[tuple[np.ndarray, np.ndarray]]] = defaultdict(list)
    classes: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def settle(length: int) -> None:
        if parts.get(length):
            keys = np.concatenate([k for k, _ in parts[length]])
            counts = np.concatenate([n for _, n in parts[length]])
            uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
            total = np.zeros(len(uniq), dtype=np.int64)
            np.add.at(total, inverse.reshape(-1), counts)
            classes[length] = (uniq, total)

    for p, m, c in prods:
        if p.op == gp.P_FEATURE and m <= limit:
            truth = sum(1 << j for j, v in enumerate(values) if v >> p.operand & 1)
            parts[m].append((np.array([[truth, c]], dtype=np.int64), np.ones(1, dtype=np.int64)))
    for length in range(1, limit + 1):  # ascending: every argument is shorter
        for p, m, c in prods:
            rest = length - m
            if p.op == gp.P_NOT and rest in classes:
                keys, counts = classes[rest]
                parts[length].append((np.stack([full & ~keys[:, 0], keys[:, 1] + c], axis=1), counts))
            elif p.op in (gp.P_AND, gp.P_OR):
                combine = np.bitwise_and if p.op == gp.P_AND else np.bitwise_or
                for l1 in [k for k in classes if k < rest and rest - k in classes]:
                    (a, na), (b, nb) = classes[l1], classes[rest - l1]
                    keys = np.stack([combine.outer(a[:, 0], b[:, 0]).ravel(),
                                     np.add.outer(a[:, 1], b[:, 1]).ravel() + c], axis=1)
                    parts[length].append((keys, np.multiply.outer(na, nb).ravel()))
        settle(length)
    return classes


def program_count(grammar, pred_counts: dict[int, int], limit: int) -> int:
    """Programs of the start type of at most `limit` millibits when Pred has
    `pred_counts[length]` members per length (its own productions are not used)."""
    counts: dict[str, dict[int, int]] = {t: {} for t in grammar.types}
    counts["Pred"] = dict(pred_counts)

    def product(args: tuple[str, ...], budget: int) -> dict[int, int]:
        out = {0: 1}
        for a in args:
            nxt: dict[int, int] = defaultdict(int)
            for l1, n1 in out.items():
                for l2, n2 in counts[a].items():
                    if l1 + l2 <= budget:
                        nxt[l1 + l2] += n1 * n2
            out = nxt
        return out

    while True:  # least fixed point: every pass settles the next program size
        changed = False
        for t in grammar.types:
            if t == "Pred":
                continue
            new: dict[int, int] = defaultdict(int)
            for i in grammar.by_type[t]:
                p = grammar.productions[i]
                for length, n in product(p.args, limit - grammar.mbits[i]).items():
                    new[length + grammar.mbits[i]] += n
            if dict(new) != counts[t]:
                counts[t] = dict(new)
                changed = True
        if not changed:
            return sum(counts[grammar.start].values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("experiment", nargs="?", default="red-door")
    parser.add_argument("--bits", type=float, nargs="+", default=[30.0, 40.0, 48.0])
    args = parser.parse_args()
    prep = pipeline.prepare(experiments.resolve(experiments.load(args.experiment), {"max_bits": 8.0},
                                                domains=domains))
    grammar = prep.grammar
    values = observed_values(prep)
    limit = int(max(args.bits) * 1000)
    classes = pred_classes(grammar, values, limit)
    print(f"{args.experiment}: {len(values)} observable cell values")
    print("Pred length (bits)   terms   classes")
    for length in sorted(classes):
        print(f"{length / 1000:10.3f} {int(classes[length][1].sum()):>16,} {len(classes[length][1]):>9,}")
    for bits in args.bits:
        lim = int(bits * 1000)
        terms = {k: int(v[1].sum()) for k, v in classes.items() if k <= lim}
        programs = program_count(grammar, terms, lim)
        exact = sum(n for _, n in grammar.counts_by_length(bits))
        assert programs == exact, (programs, exact)  # the counter agrees with the grammar's own
        by_class = program_count(grammar, {k: len(v[1]) for k, v in classes.items() if k <= lim}, lim)
        floor = program_count(grammar, {k: 1 for k in classes if k <= lim}, lim)
        print(f"{bits:g} bits: {programs:.3e} programs, {by_class:.3e} class-programs "
              f"({programs / by_class:.2f}x fewer), floor (one class per Pred length) {floor:.3e}")


if __name__ == "__main__":
    main()
