"""Benchmarks of levinsearch, measured in one run and printed as one table.

    .venv/bin/python bench/bench.py              # what `make bench` runs (max 28 bits)
    .venv/bin/python bench/bench.py --quick      # smoke run at small sizes (max 20 bits)
    .venv/bin/python bench/bench.py --max-bits 24 --json

Rows (each with its target, where there is one, and whether it was met; nothing here
fails on a missed target, it only reports):

1. compiled interpreter vs reference interpreter on the same programs and the same
   red-door training environments (they must agree on cell reached, moves and steps);
2. interpretive overhead: the interpreter against hand-written Numba functions that
   compute the same policies directly (defined below, as baselines);
3. enumeration alone (`Enumerator(grammar, 30).batches(1 << 16)`);
4. end to end on red-door (`pipeline.prepare` + `pipeline.execute`) at three sizes,
   with a per-length table for the largest;
5. cold start (compiling into an empty Numba cache) and warm start of the CLI;
6. peak resident memory, in this process and in separate CLI runs at two sizes;
7. scaling: the search with 1, 2, 4, ... threads (local backend) and worker processes
   (processes backend) up to the cores present, with speed-up and parallel efficiency
   against one worker of the same backend (records identical);
8. the Dask backend on a local cluster of 2, 4 and 8 worker processes against the
   threads (records identical; `--no-dask` skips it);
9. the whole posterior: the prior sampler alone (samples beyond 20 bits per second,
   against the rate at which the pipeline judges enumerated programs, row 4), and
   red-door at 20 bits with 10^7 tail samples end to end, with the widest 95% interval
   of its outcome classes;
10. stopping: a long red-door run (threads, and worker processes) and a BB(4) census,
   each sent SIGTERM to its whole process group part-way; the stop the tool measures
   (signal to checkpoint, the manifest's `stop_seconds`, goal 2 s) and the time to exit.
11. the record: building the run record (`pipeline.build_record`) from the summary of a
   search with about 72k behaviours (red-door at 28 bits with fit_threshold 0.05, so
   that many programs fit and behave differently), the size of the 10^9-program run.

The figures are written to runs/bench-<YYYYmmdd-HHMMSS>/bench.json and the rendered
table to bench.txt beside it. Timings are wall clock and vary with machine load.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numba  # noqa: E402
import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from dsl.grid.world import FEATURES, OBJECT, WALL, EnvBatch, GridEnv, pack  # noqa: E402
from dsl.grid.interpreter import GridInterpreter  # noqa: E402
from dsl.grid.reference import GridReference  # noqa: E402
from dsl.tree import tree  # noqa: E402
from dsl.syntax import parse, unparse  # noqa: E402
from levinsearch import domains, experiments, pipeline  # noqa: E402
from levinsearch.domains.grid import DOMAIN as GRID  # noqa: E402
from levinsearch.domains.grid.prepare import build_split  # noqa: E402
from levinsearch.enumerate import Enumerator  # noqa: E402

EXPERIMENT = "red-door"
RED = 1 << FEATURES.index("red")
NO_MOVE = -1


# ------------------------------------------------------------------ settings and rows
@dataclass
class Settings:
    """How big each measurement is; `--quick` shrinks all of them."""

    max_bits: float
    quick: bool
    ref_programs: int  # programs sampled for the reference comparison
    ref_max_bits: float  # ... from the programs of at most this many bits
    ref_seconds: float  # time box for the reference interpreter
    min_seconds: float  # shortest timing window for one compiled measurement
    enum_seconds: float  # time box for the enumeration measurement

    @property
    def e2e_bits(self) -> list[float]:
        """The end-to-end sizes: max-8, max-4 and max bits (those above 4)."""
        return [b for b in (self.max_bits - 8, self.max_bits - 4, self.max_bits) if b >= 4]

    @property
    def scaling_bits(self) -> float:
        """The size of the scaling and Dask rows (enough work to show the threads)."""
        return min(self.max_bits, 20.0) if self.quick else self.max_bits + 2

    @property
    def process_scaling_bits(self) -> float:
        """The processes backend's scaling rows: long enough that starting the workers
        (about 2 s each, in parallel) is a small part of the run, as in real use."""
        return self.scaling_bits if self.quick else self.scaling_bits + 2

    @property
    def dask_workers(self) -> tuple[int, ...]:
        return (2,) if self.quick else (2, 4, 8)

    @property
    def memory_bits(self) -> list[float]:
        """The two sizes whose peak memory is compared in separate processes."""
        return self.e2e_bits[-2:]


def settings(args: argparse.Namespace) -> Settings:
    """The sizes for a full run (about 2 minutes on 2 cores) or a quick one."""
    if args.quick:
        return Settings(max_bits=min(args.max_bits, 20.0), quick=True, ref_programs=120, ref_max_bits=16,
                        ref_seconds=3.0, min_seconds=0.2, enum_seconds=1.0)
    return Settings(max_bits=args.max_bits, quick=False, ref_programs=400, ref_max_bits=20,
                    ref_seconds=15.0, min_seconds=1.0, enum_seconds=5.0)


@dataclass
class Row:
    """One line of the table: a measured figure, its target, and whether it was met."""

    section: str
    measure: str
    value: float | None
    unit: str
    shown: str
    target: str = ""
    met: bool | None = None
    detail: str = ""


@dataclass
class Results:
    """Everything measured: the table's rows, the per-length table and raw figures."""

    rows: list[Row] = field(default_factory=list)
    per_length: list[dict[str, Any]] = field(default_factory=list)
    per_length_bits: float | None = None
    data: dict[str, Any] = field(default_factory=dict)  # raw figures for the JSON

    def add(self, *args, **kwargs) -> None:
        self.rows.append(Row(*args, **kwargs))


STARTED = time.perf_counter()


def log(message: str) -> None:
    """Progress notes go to stderr, so `--json` leaves stdout to the JSON."""
    print(f"[bench {time.perf_counter() - STARTED:5.0f} s] {message}", file=sys.stderr, flush=True)


def rate(x: float) -> str:
    """A rate or count with an SI suffix: 1.23e7 -> '12.3 M'."""
    for scale, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if abs(x) >= scale:
            return f"{x / scale:.3g}{suffix}"
    return f"{x:.3g} "


def per_call(fn: Callable[[], Any], min_seconds: float, rounds: int = 5) -> float:
    """Seconds per call of `fn`: the best of `rounds` loops, each loop sized to last
    about min_seconds / rounds. The first call (warm-up) is not timed."""
    fn()
    loops, window = 1, min_seconds / rounds
    while True:
        t0 = time.perf_counter()
        for _ in range(loops):
            fn()
        elapsed = time.perf_counter() - t0
        if elapsed >= window:
            break
        loops = max(loops * 2, int(loops * window / max(elapsed, 1e-9)) + 1)
    best = elapsed / loops
    for _ in range(rounds - 1):
        t0 = time.perf_counter()
        for _ in range(loops):
            fn()
        best = min(best, (time.perf_counter() - t0) / loops)
    return best


class single_thread:
    """Context manager: Numba kernels use one thread inside it."""

    def __enter__(self):
        self.previous = numba.get_num_threads()
        numba.set_num_threads(1)

    def __exit__(self, *exc):
        numba.set_num_threads(self.previous)


# ------------------------------------------------------------------ machine
def machine() -> dict[str, Any]:
    """CPU, thread counts and versions."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return dict(
        cpu=model or platform.processor() or platform.machine(),
        cpu_count=os.cpu_count(),
        affinity=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        numba_threads=numba.get_num_threads(),
        platform=platform.platform(),
        python=platform.python_version(),
        numpy=np.__version__,
        numba=numba.__version__,
        load_average=list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    )


# ------------------------------------------------------------------ shared inputs
def red_door(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The resolved red-door config, with overrides (e.g. max_bits)."""
    return experiments.resolve(experiments.load(EXPERIMENT), overrides or {}, domains=domains)


def training_set():
    """The red-door grammar, training environments and their packed arrays."""
    config = red_door()
    grammar = GRID.build_grammar(config)
    envs = build_split("train", config["train"], config["seed"], config.get("source"))
    return grammar, envs, pack(envs)


def all_programs(grammar, max_bits: float) -> tuple[np.ndarray, np.ndarray]:
    """Every program of at most `max_bits` bits, in enumeration order."""
    enum = Enumerator(grammar, max_bits)
    batches = list(enum.batches(1 << 16))
    return np.concatenate([b.ops for b in batches]), np.concatenate([b.sizes for b in batches])


def run_compiled(grammar, ops, sizes, batch: EnvBatch):
    """The compiled interpreter: (reached, moves, steps), each [programs, envs]."""
    return GridInterpreter(grammar).run(ops, sizes, batch)


# ------------------------------------------------------------------ 1. compiled vs reference
def reference_results(grammar, roots, envs: list[GridEnv], seconds: float):
    """Run programs (in the given order) on every environment with the reference
    interpreter until the time box is used up. Returns (programs done, reached cell
    index or -1, moves, steps, seconds)."""
    ref = GridReference(grammar)
    reached, moves, steps = [], [], []
    t0 = time.perf_counter()
    for root in roots:
        row = [ref.episode(root, env) for env in envs]
        reached.append([-1 if ep.reached is None else ep.reached[0] * env.width + ep.reached[1]
                        for ep, env in zip(row, envs)])
        moves.append([ep.moves for ep in row])
        steps.append([ep.steps for ep in row])
        if time.perf_counter() - t0 > seconds:
            break
    elapsed = time.perf_counter() - t0
    return len(reached), np.array(reached), np.array(moves), np.array(steps), elapsed


def check_agreement(grammar, ops, sizes, envs, got, want, what: str) -> None:
    """Abort the benchmark if two interpreters disagree on any episode."""
    for name, a, b in zip(("reached cell", "moves", "steps"), got, want):
        bad = np.argwhere(np.asarray(a) != np.asarray(b))
        if len(bad):
            i, e = bad[0]
            program = unparse(ops[i, : sizes[i]], grammar)
            sys.exit(f"bench: {what} disagree on {name} for {program} in training environment {e}: "
                     f"{a[i, e]} vs {b[i, e]} ({len(bad)} episodes differ). Aborting.")


def bench_interpreters(s: Settings, res: Results, grammar, envs, batch) -> None:
    """Row 1: program-episodes per second, reference vs compiled, same inputs."""
    log("1/11 compiled vs reference interpreter")
    ops, sizes = all_programs(grammar, s.ref_max_bits)
    pick = np.random.default_rng(0).choice(len(ops), size=min(s.ref_programs, len(ops)), replace=False)
    ops, sizes = ops[pick], sizes[pick]
    roots = [tree(ops[i, : sizes[i]], grammar) for i in range(len(ops))]
    done, *want, ref_seconds = reference_results(grammar, roots, envs, s.ref_seconds)
    ops, sizes = ops[:done], sizes[:done]
    got = run_compiled(grammar, ops, sizes, batch)
    check_agreement(grammar, ops, sizes, envs, got, want, "compiled and reference interpreters")

    episodes = done * len(envs)
    ref_rate = episodes / ref_seconds
    t_all = per_call(lambda: run_compiled(grammar, ops, sizes, batch), s.min_seconds)
    with single_thread():
        t_one = per_call(lambda: run_compiled(grammar, ops, sizes, batch), s.min_seconds)
    one_rate, all_rate = episodes / t_one, episodes / t_all
    sample = f"{done} programs ≤ {s.ref_max_bits:g} bits × {len(envs)} envs; identical results"
    sec = "1 interpreter"
    res.add(sec, "reference interpreter (Python)", ref_rate, "episodes/s", f"{rate(ref_rate)}ep/s",
            detail=sample)
    res.add(sec, "compiled interpreter, 1 thread", one_rate, "episodes/s", f"{rate(one_rate)}ep/s")
    res.add(sec, f"compiled interpreter, {numba.get_num_threads()} threads", all_rate, "episodes/s",
            f"{rate(all_rate)}ep/s")
    res.add(sec, "speed-up, 1 thread / reference", one_rate / ref_rate, "x", f"{one_rate / ref_rate:,.0f}×",
            "≥ 200×", one_rate / ref_rate >= 200)
    res.add(sec, f"speed-up, {numba.get_num_threads()} threads / reference", all_rate / ref_rate, "x",
            f"{all_rate / ref_rate:,.0f}×", "≥ 200×", all_rate / ref_rate >= 200)
    res.data["interpreters"] = dict(programs=done, environments=len(envs), episodes=episodes,
                                    reference_seconds=ref_seconds, compiled_seconds_1_thread=t_one,
                                    compiled_seconds_all_threads=t_all)


# ------------------------------------------------------------------ 2. hand-written baselines
# Each policy computes what one program computes, with its predicate hard-coded, and
# charges the same simulated steps (default cost 1 per node). Signature:
# policy(grid, h, w, r, c, stamp, queue, seen, first) -> (direction or -1, steps).

@numba.njit(cache=True)
def _delta(d):
    """Row and column step of direction d (N E S W)."""
    if d == 0:
        return -1, 0
    if d == 1:
        return 0, 1
    if d == 2:
        return 1, 0
    return 0, -1


@numba.njit(cache=True)
def _wall(grid, h, w, r, c):
    """Whether (r, c) is a wall; outside the grid counts as wall."""
    return r < 0 or r >= h or c < 0 or c >= w or (grid[r, c] & WALL) != 0


@numba.njit(cache=True)
def sense_reflex(grid, h, w, r, c, stamp, queue, seen, first):
    """(if (sense N wall) E N): cost 1 (if) + 3 (sense, N, wall) + 1 (move)."""
    return (1 if _wall(grid, h, w, r - 1, c) else 0), 5


@numba.njit(cache=True)
def greedy_red(grid, h, w, r, c):
    """(greedy red): the open neighbour nearest (squared distance) to a red cell."""
    best_d, best = NO_MOVE, np.int64(1) << 62
    for d in range(4):
        dr, dc = _delta(d)
        if _wall(grid, h, w, r + dr, c + dc):
            continue
        nearest = np.int64(1) << 62
        for rr in range(h):
            for cc in range(w):
                if grid[rr, cc] & RED:
                    dist = (r + dr - rr) ** 2 + (c + dc - cc) ** 2
                    nearest = min(nearest, dist)
        if nearest < best:
            best, best_d = nearest, d
    return best_d


@numba.njit(cache=True)
def see_greedy_reflex(grid, h, w, r, c, stamp, queue, seen, first):
    """(if (see red) (greedy red) N): cost 1 + (1 + cells scanned) + branch."""
    scanned, found = 0, False
    for rr in range(h):
        for cc in range(w):
            scanned += 1
            if grid[rr, cc] & RED:
                found = True
                break
        if found:
            break
    if found:
        return greedy_red(grid, h, w, r, c), 2 + scanned + 1 + h * w
    return 0, 2 + scanned + 1


@numba.njit(cache=True)
def plan_red(grid, h, w, r, c, stamp, queue, seen, first):
    """(plan red): breadth-first search to the nearest red cell, objects terminal;
    cost 1 + one per cell tested."""
    origin = r * w + c
    seen[origin] = stamp
    queue[0] = origin
    head, tail, tested = 0, 1, 0
    while head < tail:
        u = queue[head]
        head += 1
        ur, uc = u // w, u % w
        for d in range(4):
            dr, dc = _delta(d)
            vr, vc = ur + dr, uc + dc
            if vr < 0 or vr >= h or vc < 0 or vc >= w:
                continue
            v = vr * w + vc
            if seen[v] == stamp or grid[vr, vc] & WALL:
                continue
            seen[v] = stamp
            tested += 1
            step = d if u == origin else first[u]
            if grid[vr, vc] & RED:
                return step, 1 + tested
            if not grid[vr, vc] & OBJECT:
                first[v] = step
                queue[tail] = v
                tail += 1
    return NO_MOVE, 1 + tested


@numba.njit(cache=True)
def hand_episodes(policy, features, dims, starts, horizons, reps):
    """Every environment `reps` times under `policy`: reached cell, moves, steps (of
    the last repetition) and a checksum over all of them (so no work is dead)."""
    n_env = features.shape[0]
    cells = features.shape[1] * features.shape[2]
    queue = np.empty(cells, dtype=np.int32)
    seen = np.zeros(cells, dtype=np.int64)
    first = np.empty(cells, dtype=np.int32)
    reached = np.full(n_env, -1, dtype=np.int32)
    moves = np.zeros(n_env, dtype=np.int32)
    steps = np.zeros(n_env, dtype=np.int64)
    stamp, checksum = np.int64(0), np.int64(0)
    for _ in range(reps):
        for e in range(n_env):
            grid, h, w = features[e], dims[e, 0], dims[e, 1]
            r, c, horizon = starts[e, 0], starts[e, 1], horizons[e]
            got, m, total = -1, 0, np.int64(0)
            while m < horizon:
                stamp += 1
                d, cost = policy(grid, h, w, r, c, stamp, queue, seen, first)
                total += cost
                m += 1
                moved = False
                if d != NO_MOVE:
                    dr, dc = _delta(d)
                    if not _wall(grid, h, w, r + dr, c + dc):
                        r, c, moved = r + dr, c + dc, True
                        if grid[r, c] & OBJECT:
                            got = r * w + c
                            break
                if not moved:  # the state repeats: charge the rest at once
                    total += (horizon - m) * cost
                    m = horizon
                    break
            reached[e], moves[e], steps[e] = got, m, total
            checksum += total + got
    return reached, moves, steps, checksum


BASELINES = (  # program, hand-written policy, note
    ("(if (see red) (greedy red) N)", see_greedy_reflex, "reflex, no plan"),
    ("(plan red)", plan_red, "plan"),
    ("(if (sense N wall) E N)", sense_reflex, "extra: no scan at all, so dispatch is all the work"),
)


def bench_overhead(s: Settings, res: Results, grammar, envs, batch) -> None:
    """Row 2: interpreter time / hand-written time, both on one thread, same episodes."""
    log("2/11 interpretive overhead against hand-written functions")
    reps = 50 if s.quick else 200
    args = (batch.features, batch.dims, batch.starts, batch.horizons)
    res.data["overhead"] = []
    for text, policy, note in BASELINES:
        ops1 = parse(text, grammar).astype(np.int32)
        ops = np.tile(ops1, (reps, 1))
        sizes = np.full(reps, len(ops1), dtype=np.int32)
        reached, moves, steps = run_compiled(grammar, ops, sizes, batch)
        hand = hand_episodes(policy, *args, reps)
        want = tuple(np.tile(x, (reps, 1)) for x in hand[:3])
        check_agreement(grammar, ops, sizes, envs, (reached, moves, steps), want,
                        "the interpreter and the hand-written function")
        with single_thread():
            t_interp = per_call(lambda: run_compiled(grammar, ops, sizes, batch), s.min_seconds)
            t_hand = per_call(lambda: hand_episodes(policy, *args, reps), s.min_seconds)
        episodes = reps * len(envs)
        ratio = t_interp / t_hand
        res.add("2 overhead", f"interpreter ÷ hand-written {text}", ratio, "x", f"{ratio:.2f}×", "≤ 3×",
                ratio <= 3, f"{t_interp / episodes * 1e6:.2f} vs {t_hand / episodes * 1e6:.2f} µs/episode, "
                f"1 thread; {note}")
        res.data["overhead"].append(dict(program=text, episodes=episodes, interpreter_seconds=t_interp,
                                         handwritten_seconds=t_hand, mean_moves=float(moves.mean()),
                                         mean_steps=float(steps.mean())))


# ------------------------------------------------------------------ 3. enumeration
def bench_enumeration(s: Settings, res: Results, grammar) -> None:
    """Row 3: programs per second from the enumerator alone, up to 30 bits (time-boxed)."""
    log("3/11 enumeration")
    for _ in Enumerator(grammar, 12).batches(1 << 16):  # load the compiled unranker
        pass
    t0 = time.perf_counter()
    enum = Enumerator(grammar, 30)
    t_tables = time.perf_counter() - t0
    n, t0 = 0, time.perf_counter()
    for batch in enum.batches(1 << 16):
        n += len(batch)
        if time.perf_counter() - t0 > s.enum_seconds:
            break
    elapsed = time.perf_counter() - t0
    per_s = n / elapsed
    res.add("3 enumeration", "Enumerator(grammar, 30).batches(1 << 16)", per_s, "programs/s",
            f"{rate(per_s)}prog/s", "≥ 10 M/s", per_s >= 1e7,
            f"{n:,} of {enum.total:,} programs in {elapsed:.2f} s; tables {t_tables * 1e3:.0f} ms")
    res.data["enumeration"] = dict(programs=n, total=enum.total, seconds=elapsed, table_seconds=t_tables)


# ------------------------------------------------------------------ 4. end to end
def run_pipeline(max_bits: float) -> tuple[dict[str, Any], float, float]:
    """prepare + execute red-door at `max_bits`: (record, prepare seconds, execute seconds)."""
    t0 = time.perf_counter()
    prep = pipeline.prepare(red_door({"max_bits": max_bits}))
    t1 = time.perf_counter()
    record = pipeline.execute(prep)
    return record, t1 - t0, time.perf_counter() - t1


def bench_end_to_end(s: Settings, res: Results) -> None:
    """Row 4: programs per second through the whole pipeline, and the per-length table."""
    log("4/11 end to end: warm-up at 10 bits")
    run_pipeline(10)
    res.data["end_to_end"] = []
    record = None
    for bits in s.e2e_bits:
        log(f"4/11 end to end: {bits:g} bits")
        record, t_prep, t_exec = run_pipeline(bits)
        e = record["enumeration"]
        per_s = e["programs"] / t_exec
        rss = peak_rss_mib(resource.RUSAGE_SELF)
        res.add("4 end to end", f"red-door, max_bits {bits:g}: prepare + execute", per_s, "programs/s",
                f"{rate(per_s)}prog/s", detail=f"{e['programs']:,} programs, {e['fitting']:,} fitting, "
                f"{t_exec:.2f} s (+{t_prep:.2f} s prepare); peak RSS so far {rss:.0f} MiB")
        res.data["end_to_end"].append(dict(max_bits=bits, programs=e["programs"], fitting=e["fitting"],
                                           behaviours=e.get("behaviours"), prepare_seconds=t_prep,
                                           execute_seconds=t_exec, enumeration_seconds=e.get("seconds"),
                                           peak_rss_mib_so_far=rss))
    res.per_length = record["enumeration"].get("per_length", [])
    res.per_length_bits = s.e2e_bits[-1]


# ------------------------------------------------------------------ 9. the whole posterior
def bench_tail(s: Settings, res: Results) -> None:
    """Row 9: the sampler's rate against the pipeline's judging rate, and red-door with
    10^7 tail samples (10^5 with --quick) end to end."""
    from dsl.sampling import Sampler
    from levinsearch.tail import TAIL_BATCH
    log("9/11 tail samples: the sampler alone")
    prep = pipeline.prepare(red_door({"tail_samples": 1}))
    sampler = Sampler(prep.grammar, 0, lo=prep.enumerator.max_mbits, hi=None, node_cap=512)
    sampler.sample(0, 1000)  # load the compiled sampler
    n, t0 = 0, time.perf_counter()
    draws = 0
    while time.perf_counter() - t0 < s.enum_seconds:
        _, _, _, attempts = sampler.sample(n, TAIL_BATCH)  # the batches the run judges
        n += TAIL_BATCH
        draws += int(attempts.sum())
    elapsed = time.perf_counter() - t0
    per_s = n / elapsed
    # The search's judging rate with every thread (row 7), where it was measured.
    searches = [row for row in res.data.get("scaling", []) if row["backend"] == "local"]
    judged = searches[-1]["programs"] / searches[-1]["seconds"] if searches else None
    res.add("9 tail samples", "sampler: red-door programs beyond 20 bits", per_s, "samples/s", f"{rate(per_s)}samples/s",
            "≥ the search's judging rate (row 7)", None if judged is None else per_s >= judged,
            f"{n:,} samples ({draws / n:.1f} draws each) in {elapsed:.2f} s, batches of {TAIL_BATCH:,}"
            + (f"; the search judges {rate(judged)}prog/s" if judged else ""))
    samples = 100_000 if s.quick else 10_000_000
    log(f"9/11 tail samples: red-door with {samples:,}")
    t0 = time.perf_counter()
    prep = pipeline.prepare(red_door({"tail_samples": samples}))
    record = pipeline.execute(prep)
    elapsed = time.perf_counter() - t0
    classes = [e for split in record["summary"]["whole_posterior"]["splits"].values()
               for e in split["classes"].values() if e is not None]
    half = max((e["high"] - e["low"]) / 2 for e in classes)
    share = record["tail"]["share"]
    res.add("9 tail samples", f"red-door, 20 bits + {samples:,} tail samples: prepare + execute", elapsed, "s",
            f"{elapsed:.1f} s", "< 120 s on 2 cores", elapsed < 120,
            f"tail share {100 * share['estimate']:.2f}% [{100 * share['low']:.2f}, {100 * share['high']:.2f}]; "
            f"widest outcome-class interval ±{100 * half:.2f} points (target ≤ ±0.3 at 10^7); "
            f"{record['tail']['fitting']:,} fitting samples, {record['tail']['behaviours']:,} behaviours")
    res.data["tail"] = dict(sampler_per_s=per_s, draws_per_sample=draws / n, judged_per_s=judged, samples=samples,
                            seconds=elapsed, share=share, widest_class_half_width=half,
                            fitting=record["tail"]["fitting"], behaviours=record["tail"]["behaviours"])


# ------------------------------------------------------------------ 11. the record
def bench_record(s: Settings, res: Results) -> None:
    """Row 11: the record of a summary with many behaviours. A low fit threshold lets
    most programs fit, so a search of 1.5 M programs (28 bits) leaves about 72k distinct
    behaviours of real programs, as many as the 10^9-program run's 73,942, without its
    11 minutes. Only the record is timed (the search before it is not)."""
    bits = 22.0 if s.quick else 28.0
    log(f"11/11 record: red-door at {bits:g} bits, fit_threshold 0.05 (the search, untimed)")
    prep = pipeline.prepare(red_door({"max_bits": bits, "fit_threshold": 0.05}))
    agg, position = pipeline.search(prep)
    log(f"11/11 record: building it for {agg.behaviours:,} behaviours")
    t0 = time.perf_counter()
    record = pipeline.build_record(prep, agg, position)
    elapsed = time.perf_counter() - t0
    res.add("11 record", f"build the record of {agg.behaviours:,} behaviours (red-door, {bits:g} bits, "
            "fit_threshold 0.05)", elapsed, "s", f"{elapsed:.1f} s", "< 10 s at ~74k behaviours, 2 cores",
            None if s.quick else elapsed < 10,
            f"{agg.programs:,} programs, {agg.fitting:,} fitting; {len(record['behaviours']):,} behaviours listed "
            f"({len(agg.representatives) / elapsed:,.0f} per second); before this row's release: 49 s at 73,942")
    res.data["record"] = dict(max_bits=bits, behaviours=agg.behaviours, programs=agg.programs, seconds=elapsed)


# ------------------------------------------------------------------ 10. stopping
STOPS = (
    ("red-door at 40 bits, threads", ["run", "red-door", "--max-bits", "40"]),
    ("red-door at 40 bits, 2 worker processes", ["run", "red-door", "--max-bits", "40", "--backend", "processes",
                                                 "--workers", "2"]),
    ("tm busy-beaver --states 4, threads", ["tm", "busy-beaver", "--states", "4"]),
    ("tm busy-beaver --states 4, 2 worker processes", ["tm", "busy-beaver", "--states", "4", "--backend",
                                                        "processes", "--workers", "2"]),
)


def bench_stop(s: Settings, res: Results) -> None:
    """Row 10: SIGTERM to the process group of a long run, `seconds` after it started."""
    import signal
    seconds = 5.0 if s.quick else 20.0
    out = []
    for label, args in STOPS:
        log(f"10/11 stopping: {label}, SIGTERM to the group after {seconds:g} s")
        with tempfile.TemporaryDirectory(prefix="bench-stop-") as runs_dir:
            proc = subprocess.Popen([sys.executable, "-c", "from levinsearch.cli import main; main()", *args,
                                     "--no-progress", "--json", "--runs-dir", runs_dir], cwd=ROOT,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
            time.sleep(seconds)
            sent = time.monotonic()
            os.killpg(proc.pid, signal.SIGTERM)
            _, err = proc.communicate(timeout=600)
            exit_seconds = time.monotonic() - sent
            (run,) = Path(runs_dir).iterdir()
            manifest = json.loads((run / "manifest.json").read_text())
        stop = manifest.get("stop_seconds")
        deferred = manifest.get("record") == "deferred"
        res.add("10 stopping", f"SIGTERM to the group: {label}", stop, "s",
                "—" if stop is None else f"{stop:.2f} s", "≤ 2 s (signal to checkpoint)",
                None if stop is None else stop <= 2.0,
                f"exit status {proc.returncode}, exited {exit_seconds:.2f} s after the signal"
                + ("; record deferred to `report`" if deferred else "; record built")
                + f"; {manifest.get('position') or 0:,} of {manifest.get('total') or 0:,} done")
        out.append(dict(label=label, args=args, stop_seconds=stop, exit_seconds=exit_seconds,
                        returncode=proc.returncode, deferred=deferred, position=manifest.get("position"),
                        total=manifest.get("total")))
    res.data["stop"] = out


# ------------------------------------------------------------------ 7 and 8. scaling
def strip_wall(record: dict[str, Any]) -> dict[str, Any]:
    """A record without its wall-clock fields (what may differ between equivalent runs)."""
    out = json.loads(json.dumps(record, default=lambda v: v.tolist()))
    out["enumeration"].pop("seconds", None)
    for row in out["enumeration"].get("per_length", []):
        row.pop("seconds", None)
    out.pop("run", None)
    return out


def worker_counts(limit: int) -> list[int]:
    """1, 2, 4, ... up to `limit`, and `limit` itself."""
    counts, k = [], 1
    while k < limit:
        counts.append(k)
        k *= 2
    return counts + [limit]


def bench_scaling(s: Settings, res: Results) -> None:
    """Row 7: the search (enumerate, judge, summarise) with 1, 2, 4, ... workers up to
    the cores present, for the threads of the local backend and for the processes
    backend (worker start-up included): speed-up and parallel efficiency against one
    worker of the same backend; every record must be identical."""
    from levinsearch import backends
    res.data["scaling"] = []
    for backend, bits in (("local", s.scaling_bits), ("processes", s.process_scaling_bits)):
        prep = pipeline.prepare(red_door({"max_bits": bits}))
        before = numba.get_num_threads()
        if backend == "local":
            pipeline.search(prep)  # warm: kernels loaded, caches built
        unit = "thread(s)" if backend == "local" else "worker process(es)"
        base_seconds = None
        try:
            for workers in worker_counts(numba.config.NUMBA_NUM_THREADS):
                log(f"7/11 scaling: {workers} {unit} at {bits:g} bits")
                t0 = time.perf_counter()
                agg, position = backends.search(prep, backend=backend, workers=workers)
                seconds = time.perf_counter() - t0
                numba.set_num_threads(before)
                record = strip_wall(pipeline.build_record(prep, agg, position))
                if base_seconds is None:
                    base_seconds, base_record = seconds, record
                elif record != base_record:
                    raise SystemExit(f"bench: the record with {workers} {unit} differs from the one with 1")
                speedup = base_seconds / seconds
                targeted = backend == "processes"
                res.add("7 scaling", f"search at {bits:g} bits, {backend}, {workers} {unit}", speedup, "x",
                        f"{speedup:.2f}×",
                        ("≥ 1.8× at 2" if workers == 2 else "≥ 12× at 16" if workers == 16 else "") if targeted else "",
                        met=((speedup >= 1.8) if workers == 2 else (speedup >= 12) if workers == 16 else None)
                        if targeted else None,
                        detail=f"{seconds:.2f} s, efficiency {speedup / workers:.0%}, "
                               f"{agg.programs / seconds / 1e6:.2f} M programs/s; record identical")
                res.data["scaling"].append(dict(backend=backend, bits=bits, workers=workers, seconds=seconds,
                                                speedup=speedup, efficiency=speedup / workers, programs=agg.programs))
        finally:
            numba.set_num_threads(before)


def bench_dask(s: Settings, res: Results) -> None:
    """Row 8: the Dask backend on a local cluster of 2, 4 and 8 worker processes against
    the threaded backend on this machine, same record."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        log("8/11 dask: not installed, skipped")
        return
    from levinsearch import backends
    bits = s.scaling_bits
    prep = pipeline.prepare(red_door({"max_bits": bits}))
    t0 = time.perf_counter()
    agg, position = backends.search(prep, backend="local")
    local_seconds = time.perf_counter() - t0
    local = strip_wall(pipeline.build_record(prep, agg, position))
    res.data["dask"] = [dict(backend="local", workers=numba.get_num_threads(), seconds=local_seconds)]
    res.add("8 dask", f"threads (local backend) at {bits:g} bits", agg.programs / local_seconds, "programs/s",
            f"{rate(agg.programs / local_seconds)}prog/s", detail=f"{local_seconds:.2f} s")
    for workers in s.dask_workers:
        log(f"8/11 dask: a local cluster of {workers} worker processes")
        t0 = time.perf_counter()
        agg, position = backends.search(prep, backend="dask", workers=workers)
        seconds = time.perf_counter() - t0
        if strip_wall(pipeline.build_record(prep, agg, position)) != local:
            raise SystemExit(f"bench: the Dask record with {workers} workers differs from the threaded one")
        res.add("8 dask", f"Dask local cluster, {workers} processes", agg.programs / seconds, "programs/s",
                f"{rate(agg.programs / seconds)}prog/s",
                detail=f"{seconds:.2f} s with the cluster's start, {local_seconds / seconds:.2f}× the threads; "
                       "record identical")
        res.data["dask"].append(dict(backend="dask", workers=workers, seconds=seconds))


# ------------------------------------------------------------------ 5 and 6. the CLI in subprocesses
def peak_rss_mib(who: int) -> float:
    """Peak resident memory of this process or its children, in MiB."""
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


@dataclass
class ChildRun:
    """What one measured command did."""

    seconds: float
    returncode: int
    stdout: str
    stderr: str
    peak_rss_mib: float


# Runs a command and writes its wall time, exit status and peak RSS to a file. The
# command is measured from this small go-between, not from the benchmark itself: Linux
# carries the high-water RSS of the process that forked a child into the child's
# ru_maxrss, so a child of this (large) process would report at least our own size.
MEASURE = """import json, resource, subprocess, sys, time
t0 = time.perf_counter()
code = subprocess.call(sys.argv[2:])
seconds = time.perf_counter() - t0
kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
json.dump(dict(seconds=seconds, returncode=code, maxrss_kib=kib), open(sys.argv[1], "w"))
"""


def run_child(cmd: list[str], env: dict[str, str]) -> ChildRun:
    """Run a command; return its wall time, output and peak RSS (its
    getrusage(RUSAGE_CHILDREN).ru_maxrss as seen by a small go-between, see MEASURE)."""
    with tempfile.TemporaryDirectory(prefix="bench-child-") as tmp:
        result = Path(tmp) / "result.json"
        proc = subprocess.run([sys.executable, "-c", MEASURE, str(result), *cmd], env=env, cwd=ROOT,
                              capture_output=True, text=True)
        if not result.exists():
            sys.exit(f"bench: could not measure {' '.join(cmd)}:\n{proc.stderr[-2000:]}")
        m = json.loads(result.read_text())
    return ChildRun(m["seconds"], m["returncode"], proc.stdout, proc.stderr, m["maxrss_kib"] / 1024)


def cli_command() -> list[str]:
    """The installed `levinsearch` script beside this Python, else the module."""
    script = Path(sys.executable).with_name("levinsearch")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from levinsearch.cli import main; main()"]


def child_env(cache_dir: str) -> dict[str, str]:
    """Environment for a CLI run: this checkout first on the path, the given Numba cache."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def cli_run(extra: list[str], cache_dir: str, no_save: bool) -> tuple[ChildRun, bool]:
    """`levinsearch run red-door --json [--no-save] EXTRA`: the run, and whether
    --no-save was used. If --no-save is rejected as an unknown option (which happens
    while parsing flags, before any work), the run is repeated without it. Stops the
    benchmark if the command fails."""
    base = cli_command() + ["run", EXPERIMENT, "--json"]
    run = run_child(base + (["--no-save"] if no_save else []) + extra, child_env(cache_dir))
    if no_save and run.returncode != 0 and "no-save" in run.stderr:
        return cli_run(extra, cache_dir, False)
    if run.returncode != 0:
        sys.exit(f"bench: {' '.join(base + extra)} failed (exit {run.returncode}):\n{run.stderr[-2000:]}")
    json.loads(run.stdout)  # it must have printed one JSON document
    return run, no_save


def bench_cli(s: Settings, res: Results) -> None:
    """Rows 5 and 6: cold and warm start of the CLI, and peak RSS at two sizes."""
    with tempfile.TemporaryDirectory(prefix="bench-numba-") as cache:
        log("5/11 cold start (empty Numba cache: compiles every kernel)")
        cold, no_save = cli_run([], cache, True)
        log("5/11 warm start")
        warm = min((cli_run([], cache, no_save)[0] for _ in range(2)), key=lambda r: r.seconds)
        flags = "--json" + (" --no-save" if no_save else "")
        res.add("5 start-up", "cold start: levinsearch run red-door", cold.seconds, "s", f"{cold.seconds:.1f} s",
                detail=f"{flags}; empty NUMBA_CACHE_DIR, so it compiles")
        res.add("5 start-up", "warm start: levinsearch run red-door", warm.seconds, "s", f"{warm.seconds:.2f} s",
                "< 5 s", warm.seconds < 5, "same cache, best of 2")
        memory = {}
        for bits in s.memory_bits:
            log(f"6/11 peak memory of a separate run at {bits:g} bits")
            run, _ = cli_run(["--max-bits", f"{bits:g}"], cache, no_save)
            programs = json.loads(run.stdout)["enumeration"]["programs"]
            memory[bits] = (run, programs)
            res.add("6 memory", f"peak RSS, separate run at max_bits {bits:g}", run.peak_rss_mib, "MiB",
                    f"{run.peak_rss_mib:.0f} MiB", detail=f"{programs:,} programs, {run.seconds:.1f} s wall")
    rss = peak_rss_mib(resource.RUSAGE_SELF)
    res.add("6 memory", "peak RSS of this process (rows 1–4)", rss, "MiB", f"{rss:.0f} MiB",
            detail="RUSAGE_SELF; includes any compiling")
    if len(memory) == 2:
        (lo, (a, na)), (hi, (b, nb)) = sorted(memory.items())
        growth = b.peak_rss_mib / a.peak_rss_mib - 1
        res.add("6 memory", f"peak RSS growth {lo:g} → {hi:g} bits", growth * 100, "%", f"{growth * 100:+.1f}%",
                "≤ +10%", growth <= 0.10, f"while programs grow {nb / na:.1f}×")
    res.data["cli"] = dict(no_save=no_save, cold=_child_dict(cold), warm=_child_dict(warm),
                           memory={f"{k:g}": dict(_child_dict(v[0]), programs=v[1]) for k, v in memory.items()},
                           children_peak_rss_mib=peak_rss_mib(resource.RUSAGE_CHILDREN))


def _child_dict(run: ChildRun) -> dict[str, Any]:
    """The figures of a measured command for the JSON."""
    return dict(seconds=run.seconds, peak_rss_mib=run.peak_rss_mib)


# ------------------------------------------------------------------ output
def main_table(res: Results) -> Table:
    """The one table of figures, targets and verdicts, by section."""
    table = Table(title="levinsearch benchmark", title_justify="left", show_lines=False)
    for name, justify in (("", "left"), ("measure", "left"), ("value", "right"), ("target", "right"),
                          ("met", "center"), ("detail", "left")):
        table.add_column(name, justify=justify, no_wrap=name != "detail")
    previous = None
    # By section number (10 after 9); stable, so rows keep their order within a section.
    for row in sorted(res.rows, key=lambda r: int(r.section.split()[0])):
        if previous is not None and row.section != previous:
            table.add_section()
        met = "—" if row.met is None else ("[green]yes[/green]" if row.met else "[red]NO[/red]")
        table.add_row(row.section if row.section != previous else "", row.measure, row.shown,
                      row.target or "—", met, row.detail)
        previous = row.section
    return table


def per_length_table(res: Results) -> Table:
    """Programs, fitting programs, behaviours and time per description length."""
    table = Table(title=f"per length, red-door at max_bits {res.per_length_bits:g}", title_justify="left",
                  caption="behaviours: distinct behaviours among fitting programs of at most this length; "
                          "programs/s only where seconds ≥ 0.01", caption_justify="left")
    for name in ("bits", "programs", "fitting", "behaviours", "seconds", "programs/s"):
        table.add_column(name, justify="right")

    def show(value, fmt):
        return "—" if value is None else format(value, fmt)

    for entry in res.per_length:
        seconds = entry.get("seconds")
        speed = entry["programs"] / seconds if seconds is not None and seconds >= 0.01 else None
        table.add_row(f"{entry['bits']:.3f}", f"{entry['programs']:,}", f"{entry['fitting']:,}",
                      show(entry.get("behaviours"), ","), show(seconds, ".3f"),
                      "—" if speed is None else rate(speed))
    return table


def render(console: Console, info: dict[str, Any], res: Results) -> None:
    """The machine lines and both tables."""
    console.print(f"machine  {info['cpu']} · {info['cpu_count']} CPUs · Numba threads {info['numba_threads']} · "
                  f"Python {info['python']} · numpy {info['numpy']} · numba {info['numba']}", highlight=False)
    console.print(f"started  {info['started']} · load average {info['load_average']} · "
                  f"{'quick' if info['quick'] else 'full'} run, max_bits {info['max_bits']:g}", highlight=False)
    console.print()
    console.print(main_table(res))
    console.print()
    console.print(per_length_table(res))


def save(info: dict[str, Any], res: Results, text: str) -> Path:
    """Write bench.json and bench.txt under runs/bench-<stamp>/; return that folder."""
    out = Path(os.environ.get("LEVINSEARCH_RUNS_DIR", ROOT / "runs")) / f"bench-{info['stamp']}"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(document(info, res), indent=1, ensure_ascii=False) + "\n")
    (out / "bench.txt").write_text(text)
    return out


def document(info: dict[str, Any], res: Results) -> dict[str, Any]:
    """The JSON document (schema levinsearch.bench/1)."""
    return dict(schema="levinsearch.bench/1", machine=info, rows=[asdict(r) for r in res.rows],
                per_length=dict(max_bits=res.per_length_bits, entries=res.per_length), details=res.data)


# ------------------------------------------------------------------ main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """--max-bits, --quick and --json."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--max-bits", type=float, default=28.0,
                   help="largest end-to-end size; max-8 and max-4 are run too (default 28)")
    p.add_argument("--quick", action="store_true", help="fast smoke run: small sizes, max_bits at most 20")
    p.add_argument("--json", action="store_true", help="print the JSON on stdout (the table goes to stderr)")
    p.add_argument("--no-dask", action="store_true", help="skip the Dask local-cluster rows")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Measure every row, print the tables, save them."""
    args = parse_args(argv)
    s = settings(args)
    now = datetime.now()
    info = dict(machine(), started=now.isoformat(timespec="seconds"), stamp=now.strftime("%Y%m%d-%H%M%S"),
                quick=s.quick, max_bits=s.max_bits)
    started = time.perf_counter()
    res = Results()
    grammar, envs, batch = training_set()
    run_compiled(grammar, *all_programs(grammar, 8), batch)  # load or compile the kernels
    bench_interpreters(s, res, grammar, envs, batch)
    bench_overhead(s, res, grammar, envs, batch)
    bench_enumeration(s, res, grammar)
    bench_end_to_end(s, res)
    bench_cli(s, res)
    bench_scaling(s, res)
    if not args.no_dask:
        bench_dask(s, res)
    bench_tail(s, res)
    bench_stop(s, res)
    bench_record(s, res)
    info["seconds"] = round(time.perf_counter() - started, 1)

    probe = Console(stderr=args.json)
    console = Console(record=True, width=probe.width if probe.is_terminal else 150, stderr=args.json)
    render(console, info, res)
    out = save(info, res, console.export_text())
    console.print(f"\n{info['seconds']:.0f} s in all; written to {out.relative_to(ROOT)}/bench.json and bench.txt",
                  highlight=False)
    if args.json:
        print(json.dumps(document(info, res), indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
