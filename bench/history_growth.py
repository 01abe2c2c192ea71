"""The history-growth measurement behind docs/findings.md ("Time that grows with history").

Runs the bundled experiment history-growth at every training length n and time penalty,
keeps every fitting program (keep = 100,000, checked), and splits the posterior four ways:

- re-readers: contain `hist`, or a `fold` and the term `h` it reads (they re-read past
  terms at every prediction);
- history walkers: contain a `fold` but read no term (a fold of a constant counts t or
  tests t >= 1 by walking the history: the time of a re-reader, the content of a reflex);
- bounded: no `fold` or `hist`, and read x1 or x2;
- reflexes: the rest (functions of t and constants).

It also prints the pair arithmetic: the score gap between the shortest re-reader
(add t (fold (add acc h))) and the shortest bounded program (add x1 (add x1 (div t t))),
predicted and as scored. Usage:

    PYTHONPATH=. python bench/history_growth.py [--quick] [--max-bits=B] [--tail=N] [--recall]

--max-bits=B reruns the b = 1 and b = 2 rows with a deeper enumeration (what the search
at the experiment's 29 bits could have lost); --tail=N instead estimates P(history) over
all programs from N tail samples (levinsearch.tail), for the same rows. --recall runs the
second target, a(t) = t + a(t - 3) (RECALL), instead.

The figures are exact (seq runs have no random seed); --quick stops at n = 8 for a smoke test.
"""
from __future__ import annotations

import math
import sys

import numpy as np

from dsl.syntax import parse
from levinsearch import domains, experiments, pipeline

SETTINGS = [("off", 0.0, "log"), ("b=0.5", 0.5, "log"), ("b=1", 1.0, "log"), ("b=2", 2.0, "log"),
            ("linear", 1.0, "linear")]
READER = "(add t (fold (add acc h)))"
BOUNDED = "(add x1 (add x1 (div t t)))"
#: The second target: a(t) = t + a(t - 3), read back at a fixed distance (constant time
#: per prediction); no bounded-memory program of the enumerated lengths fits it.
RECALL = "(add t (hist (const (bit1 one))))"


def classify(grammar, ops: np.ndarray) -> str:
    names = {grammar.productions[int(o)].name for o in ops}
    if "hist" in names or ("fold" in names and "h" in names):
        return "re-reader"
    if "fold" in names:
        return "walker"
    if names & {"x1", "x2"}:
        return "bounded"
    return "reflex"


def point(n: int, weight: float, penalty: str, max_bits: float | None = None, tail: int = 0,
          target: str | None = None) -> dict:
    raw = experiments.load("history-growth")
    if target is not None:
        raw["target"] = dict(raw["target"], program=target)
    overrides = dict(train_terms=n, time_weight=weight, time_penalty=penalty, keep=100_000, tail_samples=tail)
    if max_bits is not None:
        overrides["max_bits"] = max_bits
    config = experiments.resolve(raw, domains=domains, overrides=overrides)
    prep = pipeline.prepare(config)
    agg, position = pipeline.search(prep)
    record = pipeline.build_record(prep, agg, position)
    top = agg.top
    assert len(top) == agg.fitting, "raise keep: not every fitting program was kept"
    g = prep.grammar
    score = np.asarray(top.score, dtype=np.float64)
    w = np.exp2(-(score - score.min()))
    share: dict[str, float] = {}
    count: dict[str, int] = {}
    for i in range(len(top)):
        c = classify(g, top.ops[i, : top.sizes[i]])
        share[c] = share.get(c, 0.0) + w[i]
        count[c] = count.get(c, 0) + 1
    total = w.sum()
    by_program = {}
    for text in (READER, BOUNDED):
        ops = parse(text, g)
        match = [i for i in range(len(top)) if top.sizes[i] == len(ops) and
                 np.array_equal(top.ops[i, : top.sizes[i]], ops)]
        by_program[text] = float(score[match[0]]) if match else None
    s = record["summary"]
    return dict(n=n, fitting=agg.fitting, history=s["history_mass"], map=s["map_program"],
                share={k: v / total for k, v in share.items()}, count=count, scores=by_program,
                unseen=record["enumeration"]["posterior_uncertainty"],
                whole=s.get("whole_posterior"))


def predicted_gap(n: int, weight: float, penalty: str) -> float:
    """Score(bounded) - score(reader) in bits: positive means the reader is ahead."""
    bits = 4.088  # one Expr production more: 7 nodes against 6
    t_reader = sum(3 + 3 * t for t in range(n))
    t_bounded = 7 * n
    if penalty == "log":
        return bits - weight * (math.log2(t_reader) - math.log2(t_bounded))
    return bits - weight * (t_reader - t_bounded)


def main(quick: bool, max_bits: float | None = None, settings=None, tail: int = 0, target: str | None = None) -> None:
    ns = (4, 8) if quick else (4, 8, 16, 32)
    if target is not None:
        ns = (6, 8) if quick else (6, 8, 16, 32)  # at n = 4 the terms are 0 1 2 3: over 10^5 programs fit
    if tail:
        print("| penalty | n | tail share | P(history): enumerated → all programs [95% interval] |")
        print("|---|---|---|---|")
        for name, weight, penalty in settings or SETTINGS:
            for n in ns:
                w = point(n, weight, penalty, max_bits, tail)["whole"]
                t, h = w["tail"], w["history"]
                print(f"| {name} | {n} | {100 * t['estimate']:.1f}% [{100 * t['low']:.1f}, {100 * t['high']:.1f}] | "
                      f"{100 * h['exact']:.1f}% → {100 * h['estimate']:.1f}% [{100 * h['low']:.1f}, "
                      f"{100 * h['high']:.1f}] |", flush=True)
        return
    print("| penalty | n | fitting | P(history) | re-readers | walkers | bounded | reflexes | MAP "
          "| gap: predicted | gap: scored | unseen share ≤ |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, weight, penalty in settings or SETTINGS:
        for n in ns:
            p = point(n, weight, penalty, max_bits, target=target)
            sr, sb = p["scores"][READER], p["scores"][BOUNDED]
            gap = f"{sb - sr:+.2f}" if sr is not None and sb is not None else "—"
            sh = p["share"]
            print(f"| {name} | {n} | {p['fitting']} | {p['history']:.3f} | {sh.get('re-reader', 0):.3f} | "
                  f"{sh.get('walker', 0):.3f} | {sh.get('bounded', 0):.3f} | {sh.get('reflex', 0):.3f} | "
                  f"`{p['map']}` | {'—' if target else format(predicted_gap(n, weight, penalty), '+.2f')} | {gap} | "
                  f"{p['unseen'] if p['unseen'] is None else format(p['unseen'], '.3g')} |", flush=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    deeper = [float(a.split("=")[1]) for a in args if a.startswith("--max-bits=")]
    tail = [int(a.split("=")[1]) for a in args if a.startswith("--tail=")]
    main("--quick" in args, deeper[0] if deeper else None,
         [s for s in SETTINGS if s[0] in ("b=1", "b=2")] if deeper or tail else None, tail[0] if tail else 0,
         RECALL if "--recall" in args else None)
