"""Speed of the TM simulator and census kernels: python -m dsl.tm.bench (figures in docs/tm.md).

Every figure is the best of `repeat` timed runs after a warm-up run (compilation
excluded). Sample ranges for n = 4 are spread over the whole index space, because speed
varies a lot along it (machines whose (A,0) transition halts take 1 step; long stretches
of machines run to the cap).
"""
from __future__ import annotations

import time

import numba
import numpy as np

from dsl.tm import census as tc
from dsl.tm import primitives as tp
from dsl.tm.interpreter import TMInterpreter


def best(fn, repeat: int = 3) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def spread(space: int, pieces: int, size: int) -> list[tuple[int, int]]:
    starts = np.linspace(0, space - size, pieces).astype(np.int64)
    return [(int(a), int(a) + size) for a in starts]


def main() -> None:
    print(f"threads: {numba.get_num_threads()}")
    # the simulator on random machines (Enumerator order indices, random), cap 107
    g = tp.grammar(states=[4])
    rng = np.random.default_rng(0)
    idx = rng.integers(0, tc.total(4), 200_000)
    ops = np.stack([tc.machine_ops(g, 4, int(i)) for i in idx])
    sizes = np.full(len(ops), ops.shape[1], dtype=np.int32)
    it = TMInterpreter(g)
    s = best(lambda: it.run(ops, sizes, 107))
    print(f"run_batch, n=4 random machines, cap 107: {len(ops) / s / 1e6:.2f} M machines/s")
    s = best(lambda: it.fit(ops, sizes, 107, "1101"))
    print(f"fit_batch, same: {len(ops) / s / 1e6:.2f} M machines/s")

    # census, n = 3, every machine
    for prune in (False, True):
        s = best(lambda: tc.census(3, 0, None, 21, prune=prune))
        print(f"census n=3 cap 21 brute force, prune={prune}: {s:.3f} s, {tc.total(3) / s / 1e6:.1f} M machines/s")
    s = best(lambda: tc.census_trivial(3, 21).merge(tc.census_orbits(3, 0, None, 21)))
    print(f"census n=3 cap 21 reduced: {s:.3f} s, {tc.total(3) / s / 1e6:.1f} M machines/s equivalent")

    # census, n = 4, samples spread over the space
    for prune in (False, True):
        ranges = spread(tc.total(4), 16, 1 << 20)
        s = sum(best(lambda a=a, b=b: tc.census(4, a, b, 107, prune=prune), 1) for a, b in ranges)
        n = sum(b - a for a, b in ranges)
        print(f"census n=4 cap 107 brute force, prune={prune}, 16 ranges of 2^20: "
              f"{n / s / 1e6:.2f} M machines/s -> all 18^8 in {tc.total(4) / (n / s) / 60:.0f} min")
    ranges = spread(tc.canonical_total(4), 16, 1 << 20)
    s = sum(best(lambda a=a, b=b: tc.census_orbits(4, a, b, 107), 1) for a, b in ranges)
    n = sum(b - a for a, b in ranges)
    rate = n / s
    print(f"census n=4 cap 107 reduced, 16 ranges of 2^20 canonical: {rate / 1e6:.2f} M canonical/s = "
          f"{rate * tc.total(4) / tc.canonical_total(4) / 1e6:.1f} M machines/s equivalent -> all in "
          f"{tc.canonical_total(4) / rate:.0f} s")


if __name__ == "__main__":
    main()
