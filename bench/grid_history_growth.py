"""Grid half of "time that grows with history" (docs/findings.md): as the training grids
grow (larger rooms, longer episodes), does a time penalty drive out programs that read
their trajectory with `visited`?

Every program of the grid `history` profile up to --max-bits, with the search and
global-heading constructs banned (plan, greedy, toward, dirto: with them `(plan door)`
reaches every door in 2 productions and nothing else matters), is run on --envs
generated rooms of side s per seed (one red door, no distractors, no interior walls
unless --walls, horizon 2 s^2). A program fits when it reaches the door in every room.
Score = bits + b·log2 t(p), t(p) the simulated steps over the training rooms. Shares of
the posterior over the fitting programs: readers (contain `visited`), bounded memory
(`remember`/`recall` or heading reads: wall-following, heading-relative directions)
and reflexes (the rest). Mean and 95% t-interval over the seeds (clipped to [0, 100%]).

  PYTHONPATH=. python bench/grid_history_growth.py [--sizes 4,6,8] [--seeds 5] [--max-bits 24]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from dsl.grid import primitives as gp
from dsl.grid.interpreter import GridInterpreter
from dsl.grid.world import FEATURES, SplitSpec, generate, pack
from dsl.syntax import unparse
from levinsearch.enumerate import Enumerator
from levinsearch.stats import interval

BANS = ("plan", "greedy", "toward", "dirto")
MEMORY = ("remember", "recall", "wallright", "wallleft", "ahead", "right", "behind", "left")


def classes(grammar, ops, size):
    names = {grammar.productions[int(o)].name for o in ops[:size]}
    if names & set(gp.HISTORY_NAMES):
        return "reader"
    return "bounded" if names & set(MEMORY) else "reflex"


def fitting(side, seed, envs, max_bits, walls):
    g = gp.grammar(profile="history", ban=BANS)
    spec = SplitSpec("train", envs=envs, height=side, width=side, wall_density=walls, horizon=2 * side * side,
                     distractor_count=0)
    rooms = generate(spec, seed)
    batch = pack(rooms)
    door = np.zeros(batch.features.shape, dtype=bool)
    for k, env in enumerate(rooms):
        door[k, : env.height, : env.width] = (env.features >> FEATURES.index("door")) & 1 == 1
    interp = GridInterpreter(g)
    out = []
    for b in Enumerator(g, max_bits).batches(batch_size=50000):
        fits, _, steps = interp.fit(b.ops, b.sizes, batch, door, 0, np.full(len(b), 1 << 62, dtype=np.int64))
        for i in np.flatnonzero(fits):
            out.append((b.mbits / 1000.0, int(steps[i]), classes(g, b.ops[i], b.sizes[i]),
                        unparse(b.ops[i, : b.sizes[i]].tolist(), g)))
    return out


def shares(progs, weight):
    if not progs:
        return None
    score = np.array([bits + weight * np.log2(max(t, 1)) for bits, t, _, _ in progs])
    p = np.exp2(-(score - score.min()))
    p /= p.sum()
    share = {k: float(sum(p[i] for i, x in enumerate(progs) if x[2] == k)) for k in ("reader", "bounded", "reflex")}
    share["map"] = progs[int(np.argmin(score))]
    return share


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="4,6,8")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--envs", type=int, default=6)
    ap.add_argument("--max-bits", type=float, default=24.0)
    ap.add_argument("--weights", default="0,1,2")
    ap.add_argument("--walls", type=float, default=0.0)
    ap.add_argument("--show", type=int, default=0, help="print the N best fitting programs per run")
    a = ap.parse_args()
    weights = [float(x) for x in a.weights.split(",")]
    print("| b | side | fitting | P(reader) | P(bounded) | P(reflex) | MAP (seed 0) |")
    print("|---|---|---|---|---|---|---|")
    rows = {}
    for side in [int(x) for x in a.sizes.split(",")]:
        t0 = time.time()
        runs = [fitting(side, seed, a.envs, a.max_bits, a.walls) for seed in range(a.seeds)]
        if a.show:
            for seed, progs in enumerate(runs):
                for bits, t, kind, text in sorted(progs)[: a.show]:
                    print(f"  side {side} seed {seed}: {bits:.2f} bits, t = {t}, {kind}: {text}")
        for w in weights:
            per = [shares(p, w) for p in runs]
            cells = []
            for k in ("reader", "bounded", "reflex"):
                v = [s[k] for s in per if s is not None]
                iv = interval(v)
                cells.append(f"{100 * iv['mean']:.1f}% [{100 * max(iv['low'], 0):.1f}, {100 * min(iv['high'], 1):.1f}]"
                             if iv else "-")
            n = "/".join(str(len(p)) for p in runs)
            m = per[0]["map"] if per[0] else None
            ms = f"`{m[3]}` ({m[2]}, t = {m[1]})" if m else "-"
            rows[(w, side)] = cells
            print(f"| {w:g} | {side} | {n} | {' | '.join(cells)} | {ms} |", flush=True)
        print(f"  (side {side}: {time.time() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
