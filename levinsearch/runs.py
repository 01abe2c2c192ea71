"""Runs saved on disk: `runs/<timestamp>-<name>/`.

    manifest.json    what was run: resolved config, which values came from flags, seed,
                     versions, git commit, status (running / interrupted / complete)
    checkpoint.npz   the summary of every program judged so far and where to go on
    record.json      the run record (the same JSON as `levinsearch run --json`)
    report.txt       the report as it was printed

A run writes its checkpoint every few seconds and when it stops, so Ctrl-C (or a crash)
loses at most the batches since; `levinsearch run --resume DIR` goes on from there.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

from dsl.errors import DslError
from levinsearch.aggregate import Aggregate
from levinsearch.record import dumps, versions

MANIFEST_SCHEMA = "levinsearch.manifest/1"
DEFAULT_ROOT = Path("runs")


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
        return _read_json(self.path / "manifest.json", "manifest")

    def update_manifest(self, **fields) -> None:
        manifest = self.manifest()
        manifest.update(fields)
        _write_json(self.path / "manifest.json", manifest)

    def save_checkpoint(self, agg: Aggregate, position: int) -> None:
        agg.save(self.path / "checkpoint.npz", extra=dict(position=position))

    def load_checkpoint(self) -> tuple[Aggregate, int]:
        path = self.path / "checkpoint.npz"
        if not path.exists():
            return None, 0  # stopped before its first checkpoint: start again
        try:
            agg, extra = Aggregate.load(path)
        except (OSError, ValueError, KeyError) as exc:
            raise DslError(f"{path}: unreadable checkpoint ({exc})") from None
        return agg, int(extra["position"])

    def write_record(self, record: dict[str, Any], report_text: str | None = None) -> None:
        _write_json(self.path / "record.json", record)
        if report_text is not None:
            (self.path / "report.txt").write_text(report_text)

    def write_point(self, k: int, record: dict[str, Any]) -> None:
        """A sweep's k-th point, as the full run record."""
        (self.path / "points").mkdir(exist_ok=True)
        _write_json(self.path / "points" / f"{k:03d}.json", record)

    def record(self) -> dict[str, Any]:
        return _read_json(self.path / "record.json", "record")


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
        created=datetime.now().isoformat(timespec="seconds"),
        status="running",
        argv=sys.argv[1:],
        config=config,
        from_flags=list(config.get("flags", [])),
        seed=config.get("seed"),
        versions=dict(versions(), levinsearch=package_version()),
        git=git_commit(),
        **(extra or {}),
    )
    _write_json(path / "manifest.json", manifest)
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
    matches = sorted(p for p in root.glob(f"*{ref}*") if (p / "manifest.json").is_file()) if root.is_dir() else []
    if len(matches) == 1:
        return RunDir(matches[0])
    if len(matches) > 1:
        raise DslError(f"{ref!r} matches {len(matches)} runs under {root}/: " + ", ".join(p.name for p in matches[:5]))
    raise DslError(f"no saved run {ref!r} (give a run directory, a name under {root}/, or 'latest')")


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
            m = json.loads((path / "manifest.json").read_text())
        except (OSError, ValueError):
            continue
        row = dict(path=str(path), run=path.name, name=m.get("name"), command=m.get("command"),
                   created=m.get("created"), status=m.get("status"), position=m.get("position"),
                   total=m.get("total"))
        rows.append(row)
    return rows


class Checkpointer:
    """Saves the checkpoint after a batch when `every` seconds have passed since the last."""

    def __init__(self, run: RunDir, every: float = 10.0, clock: Callable[[], float] = time.monotonic):
        self.run, self.every, self.clock = run, every, clock
        self.last = clock()

    def __call__(self, agg: Aggregate, position: int) -> None:
        if self.clock() - self.last >= self.every:
            self.save(agg, position)

    def save(self, agg: Aggregate, position: int) -> None:
        self.run.save_checkpoint(agg, position)
        self.run.update_manifest(position=position)
        self.last = self.clock()


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(dumps(data))
    tmp.replace(path)


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise DslError(f"{path.parent}: no {what} (is this a run directory, and did the run finish?)") from None
    except (OSError, ValueError) as exc:
        raise DslError(f"{path}: unreadable {what} ({exc})") from None


def execute(prep, run: RunDir | None, *, progress=None, resume: bool = False, checkpoint_every: float = 10.0,
            **options) -> dict[str, Any]:
    """Run a prepared experiment, saving to `run` (if given) as it goes; with `resume`,
    continue from the run's checkpoint. Ctrl-C stops at the next batch boundary and the
    record covers what was finished. `options` go to `backends.search`."""
    from levinsearch import backends, pipeline
    from levinsearch.fit import StopFlag, stop_on_interrupt

    agg, start = run.load_checkpoint() if (run is not None and resume) else (None, 0)
    checkpoint = Checkpointer(run, checkpoint_every) if run is not None else None
    flag = StopFlag()
    with stop_on_interrupt(flag):
        agg, position = backends.search(prep, agg=agg, start=start, progress=progress, should_stop=flag,
                                        after_batch=checkpoint, **options)
        total = prep.enumerator.total
        if run is not None:
            checkpoint.save(agg, position)
            run.update_manifest(status="complete" if position >= total else "interrupted", total=total)
    record = pipeline.build_record(prep, agg, position=position)
    if run is not None:
        record["run"] = str(run.path)
        run.write_record(record)
    return record
