"""Runs saved on disk: `runs/<timestamp>-<name>/`.

    manifest.json    what was run: resolved config (and its digest), which values came
                     from flags, seed, versions, git commit, status (running /
                     interrupted / complete / failed) and, when it did not complete, why
    checkpoint.npz   the summary of every program judged so far and where to go on,
                     with the config digest, domain and program count it belongs to
    record.json      the run record (the same JSON as `levinsearch run --json`)
    report.txt       the report as it was printed
    .lock            held while a process writes the run (two resumes cannot both write)

A run writes its checkpoint every few seconds and when it stops, so Ctrl-C, SIGTERM or
a crash loses at most the batches since; `levinsearch run --resume DIR` goes on from
there, after checking that the checkpoint belongs to the manifest's config. Every file
is written to a temporary name, fsync'd and renamed (`levinsearch.files.atomic_file`),
so each is either old or new, never half, even after a power cut; a write that fails (a
full disk) removes its temporary file and marks the run failed. The lock is filelock's.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import re
import subprocess
import sys
import time
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterator

import filelock
import numpy as np

from dsl.errors import DslError
from levinsearch.aggregate import Aggregate
from levinsearch.files import loads_json, read_text, write_atomic
from levinsearch.record import dumps, json_default, versions

MANIFEST_SCHEMA = "levinsearch.manifest/1"
DEFAULT_ROOT = Path("runs")
STATUSES = ("running", "interrupted", "complete", "failed")


def config_digest(config: dict[str, Any]) -> str:
    """A content hash of a resolved config: a checkpoint belongs to exactly one."""
    text = json.dumps(config, sort_keys=True, default=json_default)
    return hashlib.sha256(text.encode()).hexdigest()


def git_commit() -> dict[str, Any] | None:
    """The commit of the levinsearch source tree, and whether it had local changes."""
    where = Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=5)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                               capture_output=True, text=True, timeout=5)
        return dict(commit=head.stdout.strip(), dirty=bool(dirty.stdout.strip()))
    except (OSError, subprocess.SubprocessError):
        return None


def package_version() -> str:
    try:
        return metadata.version("levinsearch")
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclass
class RunDir:
    """One saved run."""

    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    def manifest(self) -> dict[str, Any]:
        manifest = _read_json(self.path / "manifest.json", "manifest")
        if not isinstance(manifest, dict) or not isinstance(manifest.get("config"), dict):
            raise DslError(f"{self.path / 'manifest.json'}: not a levinsearch manifest")
        return manifest

    def update_manifest(self, **fields) -> None:
        manifest = self.manifest()
        manifest.update(fields)
        _write_json(self.path / "manifest.json", manifest)

    def mark(self, status: str, reason: str | None = None, **fields) -> None:
        """Set the run's status (and why), as far as the disk lets us."""
        try:
            self.update_manifest(status=status, reason=reason, **fields)
        except DslError:
            pass  # the disk refuses even this; the error itself was reported

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the run's lock (RUN/.lock, through filelock: an OS lock the system drops
        when the process dies, on POSIX and Windows alike): a second process, or a second
        writer in this one, is refused at once."""
        lock = filelock.FileLock(self.path / ".lock", timeout=0)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise DslError(f"{self.path} is being written by another levinsearch process; "
                           "wait for it to stop (or stop it) before resuming") from None
        except OSError as exc:
            raise DslError(f"cannot lock {self.path}: {exc.strerror or exc}") from None
        try:
            yield
        finally:
            lock.release()

    def save_checkpoint(self, agg: Aggregate, position: int, identity: dict[str, Any] | None = None) -> None:
        # Written through files.atomic_file: fsync'd, renamed into place, the temporary file
        # removed and a DslError raised when the disk refuses.
        agg.save(self.path / "checkpoint.npz", extra=dict(position=position, **(identity or {})))

    def load_checkpoint(self, identity: dict[str, Any] | None = None,
                        productions: int | None = None) -> tuple[Aggregate | None, int]:
        """The summary and position saved, after checking they belong to `identity`
        (config digest, domain, total programs), are consistent with each other and
        (`productions`: the grammar's size) hold only programs of the run's grammar."""
        path = self.path / "checkpoint.npz"
        if not path.exists():
            return None, 0  # stopped before its first checkpoint: start again
        try:
            agg, extra = Aggregate.load(path)
            if not isinstance(extra, dict):
                raise ValueError("no run identity")
            position = extra["position"]
            agg.check(productions if productions is not None else np.iinfo(np.int32).max)
        except DslError:
            raise
        except (OSError, EOFError, ValueError, KeyError, TypeError, AttributeError, IndexError,
                zipfile.BadZipFile) as exc:
            raise DslError(f"{path}: unreadable or damaged checkpoint ({type(exc).__name__}: {str(exc)[:120]}); "
                           "it cannot be resumed") from None
        for key, want in (identity or {}).items():
            if extra.get(key) != want:
                raise DslError(f"{path}: the checkpoint belongs to another run ({key} {extra.get(key)!r}, the "
                               f"manifest's config gives {want!r}); it cannot be resumed")
        total = (identity or {}).get("total")
        if not isinstance(position, int) or isinstance(position, bool) or position < 0 or \
                (total is not None and position > total) or agg.judged != position:
            raise DslError(f"{path}: inconsistent checkpoint (position {position!r}, {agg.judged:,} programs "
                           f"judged, {total!r} in all); it cannot be resumed")
        return agg, position

    def write_record(self, record: dict[str, Any], report_text: str | None = None) -> None:
        """Save the record (and the rendered report); a write that fails marks the run
        failed and raises its DslError."""
        try:
            _write_json(self.path / "record.json", record)
            if report_text is not None:
                _write_text(self.path / "report.txt", report_text)
        except DslError as exc:
            self.mark("failed", str(exc))
            raise

    def write_point(self, k: int, record: dict[str, Any], seed: int | None = None) -> None:
        """A sweep's k-th point (of one seed, when there are several), as the full run record."""
        (self.path / "points").mkdir(exist_ok=True)
        _write_json(self.path / "points" / (f"{k:03d}.json" if seed is None else f"{k:03d}-seed{seed}.json"), record)

    def record(self, domains) -> dict[str, Any]:
        """The saved record, checked (`levinsearch.checks`; a domain's own kind of record
        by its domain in the registry `domains`): DslError when it is damaged."""
        from levinsearch.checks import check_record
        path = self.path / "record.json"
        return check_record(_read_json(path, "record"), str(path), domains)


def create(config: dict[str, Any], command: str = "run", root: Path = DEFAULT_ROOT,
           extra: dict[str, Any] | None = None) -> RunDir:
    """A new run directory with its manifest (status: running)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", config.get("name", command)).strip("-") or command
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        path = root / f"{stamp}-{slug}"
        n = 2
        while path.exists():
            path = root / f"{stamp}-{slug}-{n}"
            n += 1
        path.mkdir()
    except OSError as exc:
        raise DslError(f"cannot create a run directory under {root}: {exc.strerror or exc}") from None
    manifest = dict(
        schema=MANIFEST_SCHEMA,
        name=config.get("name"),
        command=command,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        status="running",
        argv=sys.argv[1:],
        config=config,
        config_digest=config_digest(config),
        from_flags=list(config.get("flags", [])),
        seed=config.get("seed"),
        versions=dict(versions(), levinsearch=package_version()),
        git=git_commit(),
        **(extra or {}),
    )
    try:
        _write_json(path / "manifest.json", manifest)
    except DslError:
        _remove(path)
        raise
    return RunDir(path)


def open_run(ref: str, root: Path = DEFAULT_ROOT) -> RunDir:
    """A saved run by path, by directory name under `root`, or `latest`."""
    root = Path(root)
    if ref == "latest":
        found = list_runs(root)
        if not found:
            raise DslError(f"no saved runs under {root}/")
        return RunDir(Path(found[-1]["path"]))
    for candidate in (Path(ref), root / ref):
        if (candidate / "manifest.json").is_file():
            return RunDir(candidate)
    # A part of a run's name, taken literally (no glob patterns).
    matches = sorted(p for p in root.iterdir() if ref in p.name and (p / "manifest.json").is_file()) \
        if ref and root.is_dir() else []
    if len(matches) == 1:
        return RunDir(matches[0])
    if len(matches) > 1:
        raise DslError(f"{ref!r} matches {len(matches)} runs under {root}/: " + ", ".join(p.name for p in matches[:5]))
    raise DslError(f"no saved run {ref!r} (give a run directory, a name under {root}/, or 'latest')")


def open_for_resume(ref: str, root: Path, *, command: str, what: str, given: list[str], no_save: bool,
                    wrong_command: str) -> tuple[RunDir, dict[str, Any]]:
    """The saved run `ref` and its config, checked for resuming: no settings given
    (`given` names those that were), saving on, made by `command`, config matching its
    digest. `what` names the thing resumed in the first message ("run", "census");
    `wrong_command` is the message for a run of another command, formatted with
    path= and command=."""
    if given:
        raise DslError(f"--resume continues a {what} with its own settings; drop {', '.join(given)}")
    if no_save:
        raise DslError("--resume writes to the run it continues; drop --no-save")
    saved = open_run(ref, root)
    manifest = saved.manifest()
    if manifest.get("command") != command:
        raise DslError(wrong_command.format(path=saved.path, command=manifest.get("command")))
    config = manifest["config"]
    if manifest.get("config_digest") != config_digest(config):
        raise DslError(f"{saved.path}: the manifest's config does not match its digest (edited, or written "
                       "by an older levinsearch); it cannot be resumed")
    return saved, config


def check_resumed_config(config: dict[str, Any], where: Path, domains) -> None:
    """A saved run's config must resolve to itself: resolving it again (against the
    registry `domains`), as an experiment file with no flags, gives back every setting it
    holds. A config edited by hand (even with its digest recomputed) into one the tool
    would not make is refused here, in one line, before anything runs."""
    from levinsearch import experiments
    try:
        again = experiments.resolve(experiments.raw_of(config, domains=domains), {}, domains=domains)
    except DslError as exc:
        raise DslError(f"{where}: its config is not a valid experiment ({exc}); it cannot be resumed") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DslError(f"{where}: damaged config ({type(exc).__name__}: {str(exc)[:80]}); it cannot be resumed") \
            from None
    mine = {k: v for k, v in config.items() if k not in ("flags", "source", "sweep")}
    theirs = {k: v for k, v in again.items() if k not in ("flags", "source", "sweep")}
    if json.dumps(mine, sort_keys=True, default=str) != json.dumps(theirs, sort_keys=True, default=str):
        changed = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
        raise DslError(f"{where}: its config does not resolve to itself ({', '.join(changed)[:80]} differ: edited?); "
                       "it cannot be resumed")


def list_runs(root: Path = DEFAULT_ROOT) -> list[dict[str, Any]]:
    """Every saved run under `root`, oldest first, with the manifest's headline fields."""
    root = Path(root)
    rows = []
    if not root.is_dir():
        return rows
    for path in sorted(root.iterdir()):
        if not (path / "manifest.json").is_file():
            continue
        try:
            m = _read_json(path / "manifest.json", "manifest")
        except DslError:
            m = None
        if not isinstance(m, dict):
            rows.append(dict(path=str(path), run=path.name, name=None, command=None, created=None, status="corrupt",
                             position=None, total=None, reason="unreadable manifest.json"))
            continue

        def text(key):
            value = m.get(key)
            return value if isinstance(value, str) else None

        def count(key):
            value = m.get(key)
            return value if isinstance(value, int) and not isinstance(value, bool) else None

        status = text("status")
        rows.append(dict(path=str(path), run=path.name, name=text("name"), command=text("command"),
                         created=text("created"), status=status if status in STATUSES else "corrupt",
                         position=count("position"), total=count("total"), reason=text("reason")))
    return rows


class Checkpointer:
    """Saves the checkpoint after a batch when `every` seconds have passed since the last."""

    def __init__(self, run: RunDir, every: float = 10.0, clock: Callable[[], float] = time.monotonic,
                 identity: dict[str, Any] | None = None):
        self.run, self.every, self.clock, self.identity = run, every, clock, identity
        self.last = clock()
        self.position: int | None = None  # of the last checkpoint written

    def __call__(self, agg: Aggregate, position: int) -> None:
        if self.clock() - self.last >= self.every:
            self.save(agg, position)

    def save(self, agg: Aggregate, position: int) -> None:
        self.run.save_checkpoint(agg, position, self.identity)
        self.run.update_manifest(position=position)
        self.position = position
        self.last = self.clock()


def _write_text(path: Path, text: str) -> None:
    write_atomic(path, text)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    write_atomic(path, dumps(data))


def _remove(path: Path) -> None:
    try:
        if path.is_dir():
            for child in path.iterdir():
                child.unlink()
            path.rmdir()
        else:
            path.unlink(missing_ok=True)
    except OSError:
        pass


def _read_json(path: Path, what: str) -> dict[str, Any]:
    if not path.exists():
        raise DslError(f"{path.parent}: no {what} (is this a run directory, and did the run finish?)")
    value = loads_json(read_text(path, what), str(path))
    if not isinstance(value, dict):
        raise DslError(f"{path}: not a levinsearch {what} (a JSON {type(value).__name__}, not an object)")
    return value


@contextmanager
def keeping_status(run: RunDir | None, kept: Callable[[], str], total: int, signal_name: Callable[[], str | None]
                   ) -> Iterator[None]:
    """While active, an interrupt that stops the work at once marks `run` interrupted
    (saying what its checkpoint keeps: `kept()`), and a DslError marks it failed; both
    are raised again. Nothing happens without a run."""
    try:
        yield
    except KeyboardInterrupt:
        if run is not None:
            run.mark("interrupted", f"stopped at once by {signal_name() or 'an interrupt'}; the checkpoint keeps "
                                    f"{kept()}", total=total)
        raise
    except DslError as exc:
        if run is not None:
            run.mark("failed", str(exc))
        raise


def identity(prep) -> dict[str, Any]:
    """What a checkpoint must match to be resumed: the config, domain and program count."""
    return dict(config_digest=config_digest(prep.config), domain=prep.config["domain"], total=prep.total)


#: A run stopped part-way with more behaviours than this does not build its record
#: before it exits (that could take minutes); `levinsearch report RUN` builds it from
#: the checkpoint, or `--resume` finishes the run.
MAX_INTERRUPTED_BEHAVIOURS = 2000


class RecordDeferred(Exception):
    """A stopped run saved its checkpoint but left its record to be built later."""

    def __init__(self, path: Path, behaviours: int):
        super().__init__(f"stopped; the checkpoint keeps what was judged ({behaviours:,} behaviours, too many to "
                         f"analyse before exiting): `levinsearch report {path}` builds the record from it, "
                         f"`levinsearch run --resume {path}` goes on")
        self.path = path


def build_deferred_record(saved: RunDir, domains) -> dict[str, Any]:
    """The record of a run that stopped without building it (`RecordDeferred`): from its
    manifest's config and its checkpoint, saved as record.json. `domains`: the registry
    its config is checked against."""
    from levinsearch import pipeline
    manifest = saved.manifest()
    config = manifest["config"]
    if manifest.get("config_digest") != config_digest(config):
        raise DslError(f"{saved.path}: the manifest's config does not match its digest; no record can be built")
    check_resumed_config(config, saved.path / "manifest.json", domains)
    prep = pipeline.prepare(config)
    agg, position = saved.load_checkpoint(identity(prep), len(prep.grammar.productions))
    if agg is None:
        raise DslError(f"{saved.path}: no checkpoint to build a record from")
    record = pipeline.build_record(prep, agg, position=position)
    record["run"] = str(saved.path)
    saved.write_record(record)
    saved.update_manifest(record="built")
    return record


#: Seconds between checkpoints (LEVINSEARCH_CHECKPOINT_SECONDS overrides it, 0 to a day).
CHECKPOINT_SECONDS = 10.0
MAX_CHECKPOINT_SECONDS = 86_400.0


def checkpoint_seconds() -> float:
    """The checkpoint interval: LEVINSEARCH_CHECKPOINT_SECONDS, else CHECKPOINT_SECONDS."""
    text = os.environ.get("LEVINSEARCH_CHECKPOINT_SECONDS")
    if text is None:
        return CHECKPOINT_SECONDS
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= MAX_CHECKPOINT_SECONDS:  # NaN fails too
        raise DslError(f"LEVINSEARCH_CHECKPOINT_SECONDS must be a number of seconds from 0 to "
                       f"{MAX_CHECKPOINT_SECONDS:,.0f}, got {text[:40]!r}")
    return value


def execute(prep, run: RunDir | None, *, progress=None, resume: bool = False, checkpoint_every: float | None = None,
            **options) -> dict[str, Any]:
    """Run a prepared experiment, saving to `run` (if given) as it goes; with `resume`,
    continue from the run's checkpoint. Ctrl-C or SIGTERM stops at the next batch
    boundary and the record covers what was finished; a second one stops at once and
    the last checkpoint is kept. `options` go to `backends.search`."""
    from levinsearch import backends, pipeline
    from levinsearch.fit import StopFlag, stop_on_interrupt

    if checkpoint_every is None:
        checkpoint_every = checkpoint_seconds()
    ident = identity(prep)
    agg, start = run.load_checkpoint(ident, len(prep.grammar.productions)) if (run is not None and resume) else (None, 0)
    checkpoint = Checkpointer(run, checkpoint_every, identity=ident) if run is not None else None

    def abort(signal_name: str) -> None:
        if run is not None:
            run.mark("interrupted", f"stopped by {signal_name} while the kernels compiled, before any program "
                                    f"was judged (resume goes on from {start:,})", total=prep.total)

    flag = StopFlag(abort)
    total = prep.total
    def kept() -> str:
        last = checkpoint.position if checkpoint.position is not None else start
        return f"programs 0..{last - 1:,} (resume goes on from {last:,})"

    with keeping_status(run, kept, total, lambda: flag.signal_name):
        with stop_on_interrupt(flag):
            agg, position = backends.search(prep, agg=agg, start=start, progress=progress, should_stop=flag,
                                            after_batch=checkpoint, **options)
            if run is not None:
                checkpoint.save(agg, position)
                stopped = position < total
                # How long the stop took, from the signal to the checkpoint holding all
                # folded work: the tool's own measure of "stops at once".
                waited = round(time.monotonic() - flag.requested_at, 3) if flag.requested_at else None
                run.update_manifest(status="interrupted" if stopped else "complete", total=total,
                                    reason=f"stopped by {flag.signal_name or 'the user'} after {position:,} of "
                                           f"{total:,} programs" if stopped else None,
                                    **({"stop_seconds": waited} if stopped and waited is not None else {}))
                if stopped and agg.behaviours > MAX_INTERRUPTED_BEHAVIOURS:
                    # Building the record of many behaviours takes longer than a stop may.
                    run.update_manifest(record="deferred")
                    raise RecordDeferred(run.path, agg.behaviours)
            # A signal from here on is noted; a second one stops at once (the checkpoint is complete).
            record = pipeline.build_record(prep, agg, position=position)
            if run is not None:
                record["run"] = str(run.path)
                run.write_record(record)
    return record
