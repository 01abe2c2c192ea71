"""One question from the Python side: does a speed prior change what the posterior
does off-distribution in red-door?

Training doors are all red; at test the doors are blue and the boxes are red. With
description length alone, `(plan red)` and `(plan door)` tie. Levin complexity adds
log2 of the simulated steps to each program's score; does that break the tie, and
which way? Run it with

    .venv/bin/python examples/speed_prior.py            # about 10 seconds
    .venv/bin/python examples/speed_prior.py --quick    # smaller search, for tests

and read the printed table. Each figure is a mean over environment seeds with its 95%
interval (levinsearch.stats), because a single seed's environments are one sample.
"""
from __future__ import annotations

import sys

import levinsearch

quick = "--quick" in sys.argv
settings = dict(max_bits=14.0 if quick else 18.0, seeds=2 if quick else 5)

print(f"red-door, programs of at most {settings['max_bits']:g} bits, {settings['seeds']} environment seeds\n")
print(f"{'time weight':>11}  {'P(robust)':>22}  {'P(pseudo-aligned)':>22}  MAP program (seed 0)")
for time_weight in (0.0, 0.5, 1.0):
    # Several seeds: a sweep record of one point, with means and intervals per figure.
    record = levinsearch.run("red-door", time_weight=time_weight, **settings)
    point = record.points[0]
    cells = []
    for name in ("robust", "pseudo"):
        low, high = point["intervals"][name]
        cells.append(f"{point['metrics'][name]:6.1%} [{low:6.1%}, {high:6.1%}]")
    print(f"{time_weight:>11g}  {cells[0]:>22}  {cells[1]:>22}  {point['map_programs'][0]}")

# One run in full: the typed record, its JSON and its report.
single = levinsearch.run("red-door", max_bits=settings["max_bits"], time_weight=1.0)
best = single.hypotheses[0]
print(f"\nAt time weight 1 the best program is {best['program']}: {best['bits']:.2f} bits, "
      f"{best['steps']:,} simulated steps, score {best['score']:.2f}, posterior {best['posterior']:.1%}.")
print(f"The record is {len(single.to_json()):,} characters of JSON; its report begins:\n")
print("\n".join(single.report(width=100).splitlines()[:12]))
