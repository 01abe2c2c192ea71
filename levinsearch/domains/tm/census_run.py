"""Exhaustive censuses of n-state machines as levinsearch runs: work in batches of the
machine-index range (or of the canonical machines of the symmetry-reduced computation,
`dsl.tm.census`), on local threads or Dask shards, merged exactly with `Census.merge`;
saved to a run directory with a checkpoint of the census so far; stopped by Ctrl-C or
SIGTERM at the next batch with what was finished kept; resumed from the checkpoint.

The record (schema levinsearch.tm-census/1) holds the whole census and what
`tm busy-beaver` and `tm ctm` read from it (`census_record`).
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any, Callable

import numba
import numpy as np

from dsl.errors import DslError
from dsl.tm import census as tc
from dsl.tm import primitives as tp
from dsl.tm.interpreter import TMInterpreter
from dsl.tm.kernels import MAX_CAP
from dsl.tm.reference import machine_table
from levinsearch.domains.tm.report import CENSUS_SCHEMA
from levinsearch.files import loads_json, read_text, write_atomic
from levinsearch.record import provenance, versions

CHECKPOINT = "checkpoint.json"
CHECKPOINT_SCHEMA = "levinsearch.tm-census-checkpoint/1"
COMMANDS = ("busy-beaver", "ctm")
#: Work units per batch: start small, double while a batch takes under a quarter of
#: BATCH_SECONDS, halve above it, so a stop request is honoured within about a second.
FIRST_BATCH = 1 << 8  # small: the first batch also compiles, and a stop waits for it
MAX_BATCH = 1 << 24
MIN_BATCH = 1 << 6
BATCH_SECONDS = 0.5
#: Dask: at most this many work units per shard unless --shards is given.
SHARD_UNITS = 1 << 25

Progress = Callable[[tc.Census, int, int, float], None]  # census so far, position, space, seconds


def census_config(command: str, n: int, cap: int | None, reduced: bool) -> dict[str, Any]:
    """The resolved settings of a census (what its manifest and record keep)."""
    if command not in COMMANDS:
        raise DslError(f"unknown census command {command!r}")
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= tc.MAX_N:
        raise DslError(f"--states must be between 1 and {tc.MAX_N}, got {n}")
    known = tc.KNOWN.get(n)
    if cap is None:
        if known is None or n > 4:
            raise DslError(f"--states {n} needs --cap: the default cap is S(n), known and affordable for n <= 4 only "
                           f"({tc.total(n):,} machines)")
        cap, source = known[0], f"S({n}) = {known[0]}, the known Busy Beaver value"
    else:
        if isinstance(cap, bool) or not isinstance(cap, int) or not 1 <= cap <= MAX_CAP:
            raise DslError(f"--cap must be between 1 and {MAX_CAP:,}, got {cap}")
        source = "given by --cap" + (f"; the known S({n}) is {known[0]:,}" if known else "")
    method_note = ("symmetry-reduced (machines whose (A,0) transition halts or stays in A are counted without "
                   "running; the others run once per orbit of state renamings and mirroring; docs/tm.md §6.1), "
                   "with pruning of machines proven never to halt" if reduced else
                   "brute force: every machine run, with pruning of machines proven never to halt")
    return dict(name=f"tm-{command}-{n}", domain="tm",
                description=f"{'Busy Beaver' if command == 'busy-beaver' else 'CTM output distribution D'}"
                            f"({n}) over all {tc.total(n):,} machines, cap {cap:,}",
                command=command, states=n, step_cap=cap, cap_source=source,
                method="reduced" if reduced else "brute", method_note=method_note)


def space_of(config: dict[str, Any]) -> tuple[str, int]:
    """(unit, how many): what the work is cut into."""
    n = config["states"]
    if config["method"] == "reduced":
        return "orbits", tc.canonical_total(n)
    return "machines", tc.total(n)


def initial_census(config: dict[str, Any]) -> tc.Census:
    n, cap = config["states"], config["step_cap"]
    return tc.census_trivial(n, cap) if config["method"] == "reduced" else tc.Census(n, cap)


def position_of(census: tc.Census, config: dict[str, Any]) -> int:
    """The first work unit not covered; DslError unless the census covers a prefix."""
    unit, space = space_of(config)
    covered = [(a, b) for k, a, b in census.parts if k == unit]
    others = {k for k, _, _ in census.parts} - {unit, "trivial"}
    if others or len(covered) > 1 or (covered and covered[0][0] != 0) or (covered and covered[0][1] > space):
        raise DslError("the checkpoint does not cover a prefix of this census's work; it cannot be resumed")
    if config["method"] == "reduced" and ("trivial", 0, 0) not in census.parts:
        raise DslError("the checkpoint lacks the trivial part of the reduced census; it cannot be resumed")
    return covered[0][1] if covered else 0


def compute(config: dict[str, Any], start: int, stop: int) -> tc.Census:
    """The census of work units [start, stop)."""
    n, cap = config["states"], config["step_cap"]
    if config["method"] == "reduced":
        return tc.census_orbits(n, start, stop, cap)
    return tc.census(n, start, stop, cap)


#: Work units a shard computes between two looks at whether the run is stopping.
SHARD_STEP = 1 << 18


def census_shard(config: dict[str, Any], start: int, stop: int, threads: int = 1) -> str:
    """One shard: the census of work units [start, stop), as JSON (runs on a worker). It
    works in steps of SHARD_STEP units and ends early, its census partial (and not
    folded), once the run is stopping (`backends.stopping`)."""
    from levinsearch.backends import stopping
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    census = None
    for a in range(start, stop, SHARD_STEP):
        part = compute(config, a, min(stop, a + SHARD_STEP))
        census = part if census is None else census.merge(part)
        if stopping():
            break
    return (census if census is not None else compute(config, start, start)).to_json()


# ------------------------------------------------------------------ where the work runs
def run_local(config, census, position, *, should_stop=None, progress: Progress | None = None,
              after_batch=None) -> tuple[tc.Census, int]:
    """Work units from `position` on, on this machine's threads (numba); batches sized
    by wall time. Returns the census and the first unit not done."""
    _, space = space_of(config)
    size = FIRST_BATCH
    started = time.perf_counter()
    while position < space:
        stop = min(space, position + size)
        t0 = time.perf_counter()
        census = census.merge(compute(config, position, stop))
        position = stop
        if after_batch:
            after_batch(census, position)
        if progress:
            progress(census, position, space, time.perf_counter() - started)
        took = time.perf_counter() - t0
        if took < BATCH_SECONDS / 4:
            size = min(MAX_BATCH, size * 2)
        elif took > BATCH_SECONDS:
            size = max(MIN_BATCH, size // 2)
        if should_stop and should_stop() and position < space:
            break
    return census, position


def run_sharded(config, census, position, *, backend="dask", workers=None, scheduler=None, shards=None,
                should_stop=None, progress: Progress | None = None, after_batch=None) -> tuple[tc.Census, int]:
    """Work units from `position` on, as shards on worker processes (`processes`) or a
    Dask cluster (`dask`: a local one of `workers` processes unless `scheduler` is
    given), merged in index order so that the census always covers a prefix (what a
    checkpoint needs)."""
    from levinsearch.backends import run_shards, validate

    validate(backend, workers, scheduler, shards)
    _, space = space_of(config)
    if position >= space:
        return census, position
    started = time.perf_counter()
    state = dict(census=census, position=position)  # what the shards folded so far cover

    def fold(result, end: int) -> None:
        state["census"] = state["census"].merge(tc.Census.from_json(result))
        state["position"] = end
        if after_batch:
            after_batch(state["census"], end)

    def report() -> None:
        if progress:
            progress(state["census"], state["position"], space, time.perf_counter() - started)

    position = run_shards(census_shard, (config,), position, space, workers=workers, scheduler=scheduler,
                          shards=shards, fold=fold, progress=report, should_stop=should_stop,
                          min_shards=math.ceil((space - position) / SHARD_UNITS), backend=backend)
    return state["census"], position


# ------------------------------------------------------------------ checkpoints
def save_checkpoint(path: Path, config: dict[str, Any], census: tc.Census, position: int) -> None:
    from levinsearch.runs import config_digest

    data = dict(schema=CHECKPOINT_SCHEMA, config_digest=config_digest(config), position=position,
                census=census.to_dict())
    write_atomic(path, json.dumps(data, indent=1))


def load_checkpoint(path: Path, config: dict[str, Any]) -> tuple[tc.Census | None, int]:
    """The census saved at `path` (None, 0 when there is none yet), checked against the
    run's config."""
    from levinsearch.runs import config_digest

    if not path.exists():
        return None, 0
    data = loads_json(read_text(path, "census checkpoint"), str(path))
    census, position = census_of(data, path, "checkpoint"), data.get("position") if isinstance(data, dict) else None
    if data.get("schema") != CHECKPOINT_SCHEMA or data.get("config_digest") != config_digest(config):
        raise DslError(f"{path}: the checkpoint belongs to another census; it cannot be resumed")
    if (census.n, census.step_cap) != (config["states"], config["step_cap"]) or position != position_of(census, config):
        raise DslError(f"{path}: inconsistent checkpoint (n {census.n}, cap {census.step_cap}, position {position!r}); "
                       "it cannot be resumed")
    return census, position


def census_of(data: Any, path, what: str) -> tc.Census:
    """The census a checkpoint or record read back holds (its `census` entry), checked
    (`Census.check`); DslError naming the file otherwise."""
    try:
        census = tc.Census.from_json(json.dumps(data["census"]))
        census.check()
    except DslError as exc:
        raise DslError(f"{path}: damaged census {what} ({exc})") from None
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise DslError(f"{path}: unreadable census {what} ({type(exc).__name__}: {str(exc)[:120]})") from None
    return census


# ------------------------------------------------------------------ the record
def _machine_rows(n: int, cap: int, indices: list[int]) -> list[dict[str, Any]]:
    """Program text, table, steps, ones and output of census machines (compiled simulator)."""
    if not indices:
        return []
    g = tp.grammar(max_states=n, states=[n])
    ops = np.stack([tc.machine_ops(g, n, i) for i in indices])
    runs = TMInterpreter(g).run(ops, np.full(len(ops), ops.shape[1], dtype=np.int32), cap)
    out = []
    for k, i in enumerate(indices):
        _, table = machine_table(ops[k], g)
        out.append(dict(index=int(i), program=tc.machine_text(n, i),
                        table=[[tp.state_name(s), table[2 * s].name, table[2 * s + 1].name] for s in range(n)],
                        halted=bool(runs.halted[k]), steps=int(runs.steps[k]), ones=int(runs.ones[k]),
                        output=runs.output(k)))
    return out


def _proves(config: dict[str, Any], census: tc.Census, complete: bool) -> tuple[str, str]:
    """What the census shows about S(n) and Sigma(n), and what "did not halt" means."""
    n, cap = config["states"], config["step_cap"]
    known = tc.KNOWN.get(n)
    found = f"S({n}) ≥ {census.max_steps} and Σ({n}) ≥ {census.max_ones}" if census.max_steps >= 0 else \
        "no machine halted"
    if not complete:
        return (f"Partial census: only lower bounds, {found}.", "not yet decided")
    base = (f"Running every machine to a cap proves lower bounds only: {found}, found by the champions above. "
            "Whether some machine halts after more than the cap is not decided by running it. ")
    if known and cap >= known[0]:
        exact = census.max_steps == known[0] and census.max_ones == known[1]
        return (base + f"With cap {cap:,} ≥ the known S({n}) = {known[0]:,} (every halting {n}-state machine halts "
                f"within it, a published proof), the census is exact: S({n}) = {census.max_steps}, "
                f"Σ({n}) = {census.max_ones}" + (" (the known values)." if exact else
                                                  f" — which disagrees with the known values {known}!"),
                f"since the cap is at least S({n}), none of them ever halts")
    if known:
        return (base + f"Cap {cap:,} is below the known S({n}) = {known[0]:,}: machines that halt later are counted "
                "as not halting, so these figures may miss the champions.",
                f"some may halt later than {cap:,} steps")
    return base + f"S({n}) is not known: these are lower bounds.", f"some may halt later than {cap:,} steps"


def continuations_of(census: tc.Census, prefix: str, deploy: int) -> dict[str, Any]:
    """Among the halting machines of the census whose output starts with `prefix`, how
    many continue how (the next `deploy` output symbols, '-' once the output has ended).

    All machines of n states have the same description length, so these shares are the
    posterior over continuations of a tm run restricted to n-state machines with time
    weight 0 and a step cap of at least S(n) (blank 0-tape outputs, not completed)."""
    counts: dict[str, int] = {}
    for s, k in census.outputs.items():
        if s.startswith(prefix):
            rest = s[len(prefix): len(prefix) + deploy]
            key = rest + "-" * (deploy - len(rest))
            counts[key] = counts.get(key, 0) + k
    fitting = sum(counts.values())
    rows = [dict(continuation=c, machines=k, share=k / fitting)
            for c, k in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    positions = []
    for j in range(deploy):
        pos = {name: 0 for name in ("0", "1", "end")}
        for c, k in counts.items():
            pos["end" if c[j] == "-" else c[j]] += k
        positions.append({name: (v / fitting if fitting else None) for name, v in pos.items()})
    return dict(prefix=prefix, deploy=deploy, machines=fitting, continuations=rows,
                next_symbol=positions[0] if positions else None, positions=positions)


def census_record(config: dict[str, Any], census: tc.Census, position: int, *, seconds: float, backend: str,
                  workers: int, resumed: int = 0, top: int | None = None, prefix: str | None = None,
                  deploy: int = 8) -> dict[str, Any]:
    """The record of a census run (schema levinsearch.tm-census/1)."""
    n, cap = config["states"], config["step_cap"]
    unit, space = space_of(config)
    complete = census.complete
    proves, meaning = _proves(config, census, complete)
    busy = dict(
        machines=census.machines, halted=census.halted, did_not_halt=census.capped, did_not_halt_meaning=meaning,
        halted_in_one_step=int(census.steps_hist.get(1, 0)),
        max_steps=census.max_steps, max_steps_machines=int(census.steps_hist.get(census.max_steps, 0)),
        max_ones=census.max_ones, max_ones_machines=int(census.ones_hist.get(census.max_ones, 0)),
        steps_champions=_machine_rows(n, cap, census.steps_champions),
        ones_champions=_machine_rows(n, cap, census.ones_champions),
        known=dict(zip(("S", "Sigma"), tc.KNOWN[n])) if n in tc.KNOWN else None,
        proves=proves,
    )
    raw = census.outputs
    halted = census.halted
    rows = []
    for s, count, d, k in tc.ctm_table(census, complete=True) if halted else []:
        r = raw.get(s, 0)
        rows.append(dict(output=s, count=count, D=d, K=k, raw_count=r, raw_D=r / halted if halted else 0.0,
                         raw_K=-math.log2(r / halted) if r else None))
    ctm = dict(
        halted=halted, distinct=len(raw), distinct_completed=len(rows),
        convention=("D(n)(s) = (machines whose output is s + those whose output is s's complement) / (2 × halting "
                    "machines): the distribution completed by complementation, as in the published CTM tables and "
                    "OEIS A141474 (the same as running every machine on a blank tape of 0s and of 1s); "
                    "K = −log2 D. Order: count descending, then lexicographic. The 'blank' columns are the plain "
                    "blank 0-tape distribution. Output = the visited tape segment."),
        rows=rows,
    )
    return dict(schema=CENSUS_SCHEMA, experiment=config["name"], domain="tm", description=config["description"],
                command=config["command"], config=config, machines_total=tc.total(n), complete=complete, unit=unit,
                covered_units=position, total_units=space, interrupted=not complete, seconds=round(seconds, 3),
                backend=backend, workers=workers, resumed=resumed, top=top, census=census.to_dict(),
                busy_beaver=busy, ctm=ctm,
                prefix=continuations_of(census, prefix, deploy) if prefix is not None else None,
                versions=versions(), provenance=provenance())


# ------------------------------------------------------------------ a whole census run
def execute(config: dict[str, Any], run=None, *, resume: bool = False, backend: str = "local",
            workers: int | None = None, scheduler: str | None = None, shards: int | None = None,
            progress: Progress | None = None, checkpoint_every: float | None = None,
            top: int | None = None, prefix: str | None = None, deploy: int = 8) -> dict[str, Any]:
    """Run (or, with `resume`, continue) a census, saving to `run` (a `runs.RunDir`) as it
    goes; Ctrl-C or SIGTERM stops at the next batch and the record covers what was done."""
    from levinsearch.backends import default_processes, set_threads, validate
    from levinsearch.fit import StopFlag, stop_on_interrupt

    validate(backend, workers, scheduler, shards)
    if checkpoint_every is None:
        from levinsearch.runs import checkpoint_seconds
        checkpoint_every = checkpoint_seconds()
    unit, space = space_of(config)
    census, position = (load_checkpoint(run.path / CHECKPOINT, config) if run is not None and resume else (None, 0))
    if census is None:
        census, position = initial_census(config), 0
    resumed = 0
    seconds_before = 0.0
    if run is not None:
        manifest = run.manifest()
        resumed = int(manifest.get("resumed", 0)) + (1 if resume else 0)
        seconds_before = float(manifest.get("seconds", 0.0)) if resume else 0.0
    last = dict(time=time.monotonic(), position=position)

    def save(c: tc.Census, pos: int) -> None:
        save_checkpoint(run.path / CHECKPOINT, config, c, pos)
        run.update_manifest(position=pos, total=space)
        last.update(time=time.monotonic(), position=pos)

    def after_batch(c: tc.Census, pos: int) -> None:
        # A batch has finished (the kernels are compiled): from now on a signal stops the
        # census at the next boundary. The flag learns this only when it is next asked,
        # after this checkpoint; a signal in between must not be taken for one during
        # compilation and stop the process at once.
        flag.started = True
        if run is not None and time.monotonic() - last["time"] >= checkpoint_every:
            save(c, pos)

    def abort(signal_name: str) -> None:
        if run is not None:
            run.mark("interrupted", f"stopped by {signal_name} before the first batch finished (resume goes on from "
                                    f"{position:,})", total=space)

    flag = StopFlag(abort)
    started = time.perf_counter()
    threads = workers or numba.config.NUMBA_NUM_THREADS
    from levinsearch.runs import keeping_status

    with keeping_status(run, lambda: f"{last['position']:,} of {space:,} {unit}", space, lambda: flag.signal_name):
        with stop_on_interrupt(flag):
            if backend != "local":
                census, position = run_sharded(config, census, position, backend=backend, workers=workers,
                                               scheduler=scheduler, shards=shards, should_stop=flag,
                                               progress=progress, after_batch=after_batch)
                threads = workers or (2 if backend == "dask" else default_processes())
            else:
                before = numba.get_num_threads()
                set_threads(workers)
                try:
                    census, position = run_local(config, census, position, should_stop=flag, progress=progress,
                                                 after_batch=after_batch)
                finally:
                    numba.set_num_threads(before)
            flag()
            seconds = seconds_before + time.perf_counter() - started
            if run is not None:
                save(census, position)
                done = position >= space
                # From the signal to the checkpoint (as a search run's manifest has it).
                waited = round(time.monotonic() - flag.requested_at, 3) if flag.requested_at else None
                run.update_manifest(status="complete" if done else "interrupted", seconds=round(seconds, 3),
                                    resumed=resumed, reason=None if done else
                                    f"stopped by {flag.signal_name or 'the user'} after {position:,} of {space:,} "
                                    f"{unit}", **({"stop_seconds": waited} if not done and waited is not None else {}))
            record = census_record(config, census, position, seconds=seconds, backend=backend, workers=threads,
                                   resumed=resumed, top=top, prefix=prefix, deploy=deploy)
            if run is not None:
                record["run"] = str(run.path)
    return record
