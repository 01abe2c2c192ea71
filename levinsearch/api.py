"""The Python API: run an experiment or a sweep, or load a saved run, and get a typed
record back.

    import levinsearch
    record = levinsearch.run("red-door", max_bits=16)
    record.summary["map_program"], record.enumeration["fitting"]
    print(record.report())                  # the terminal report, as text
    record.to_json()                        # the JSON `levinsearch run --json` prints

Records are dicts typed by `levinsearch.types` (RunRecord, SweepRecord) and validated
by the published JSON Schema (levinsearch/schema/run.schema.json).
"""
from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any, Mapping

from levinsearch import types


class Record(dict):
    """A record: the plain JSON-able dict, with `to_json()` and `report()`."""

    def to_json(self) -> str:
        """The record as the JSON text levinsearch writes."""
        from levinsearch.record import dumps
        return dumps(self)

    def report(self, width: int = 140) -> str:
        """The report `levinsearch report` prints for this record, as plain text."""
        from levinsearch.render import console as plain_console
        console = plain_console(width=width, file=io.StringIO(), record=True)
        console.print(self.renderable())
        return console.export_text()

    def renderable(self):
        raise NotImplementedError


class RunRecord(Record):
    """A run record (levinsearch.run/1; fields: levinsearch.types.RunRecord)."""

    @property
    def config(self) -> types.Config:
        return self["config"]

    @property
    def enumeration(self) -> types.Enumeration:
        return self["enumeration"]

    @property
    def hypotheses(self) -> list[types.Hypothesis]:
        return self["hypotheses"]

    @property
    def behaviours(self) -> list[types.Behaviour]:
        return self["behaviours"]

    @property
    def summary(self) -> types.Summary:
        return self["summary"]

    def renderable(self):
        from levinsearch import report
        return report.run_report(self)


class SweepRecord(Record):
    """A sweep record (levinsearch.sweep/1; fields: levinsearch.types.SweepRecord); a run
    over several seeds is a sweep of one point."""

    @property
    def points(self) -> list[types.SweepPoint]:
        return self["points"]

    def renderable(self):
        from levinsearch import report
        return report.sweep_report(self)


def typed(record: Mapping[str, Any]) -> Record:
    """The typed record of a plain one (a run or a sweep, by its schema)."""
    from levinsearch import sweeps as sweep_mod
    plain = json.loads(json.dumps(record, default=lambda v: v.tolist()))
    return SweepRecord(plain) if plain.get("schema") == sweep_mod.SCHEMA else RunRecord(plain)


def _check_call(experiment, progress) -> None:
    """The arguments every API entry point takes, checked as the CLI checks them:
    DslError (the package's error, with the CLI's message) otherwise."""
    from dsl.errors import DslError
    if not isinstance(experiment, (str, os.PathLike)) or not str(experiment).strip():
        raise DslError(f"experiment must be a bundled experiment's name or a path to a .toml file, got "
                       f"{experiment!r:.60}")
    if progress is not None and not callable(progress):
        raise DslError(f"progress must be a function taking a fit.Tally (or None), got {progress!r:.60}")


def run(experiment: str = "red-door", *, progress=None, **overrides) -> Record:
    """Run a bundled experiment (by name) or an experiment file (a path), with settings
    overridden by keyword: any [search] key (max_bits, time_weight, noise, tail_samples,
    ...), seed, seeds, ban (list), bits and cost (dicts), profile, and the domain's own
    flags (grid: train_envs, test_envs, horizon; seq: train_terms, deploy_terms) and
    analysis keys. Nothing is saved. Returns a RunRecord, or with seeds > 1 a SweepRecord
    of one point (the figures over the seeds). Bad arguments raise dsl.errors.DslError
    with the message the command line would print."""
    from levinsearch import domains, experiments, pipeline, sweeps as sweep_mod
    _check_call(experiment, progress)
    config = experiments.resolve(experiments.load(str(experiment)), overrides)
    if config.get("seeds", 1) == 1:
        return RunRecord(typed(pipeline.run_experiment(config, progress)))
    domain = domains.get(config["domain"])
    records = [pipeline.run_experiment(c, progress) for c in experiments.seed_configs(config)]
    return typed(sweep_mod.sweep_record(config["name"], domain, [], [({}, records)],
                                        domain.sweep_split([config], None), domain.default_metric, False))


def sweep(experiment: str, settings: Mapping[str, list], *, metric: str | None = None, split: str | None = None,
          progress=None, **overrides) -> SweepRecord:
    """Run `experiment` at every combination of `settings` ({key: [values]}, keys as for
    `levinsearch sweep --set`: a path in the file or a short name) with `overrides` at
    every point; nothing is saved. Returns the SweepRecord."""
    from dsl.errors import DslError
    from levinsearch import experiments, pipeline, sweeps as sweep_mod
    _check_call(experiment, progress)
    if not isinstance(settings, Mapping) or not settings:
        raise DslError(f"settings must be a table of KEY: [values], e.g. {{'time_weight': [0, 1]}}, got "
                       f"{settings!r:.60}")
    for key, values in settings.items():
        if not isinstance(key, str) or not isinstance(values, (list, tuple)) or not values:
            raise DslError(f"settings: {key!r:.40} needs a non-empty list of values, e.g. [0, 1], got {values!r:.60}")
    raw = experiments.load(str(experiment))
    domain = experiments.domain_of(raw)
    parsed = [sweep_mod.parse_setting(f"{key}=0", domain)[0] for key in settings]
    parsed = list(zip(parsed, (list(v) for v in settings.values())))
    points = sweep_mod.point_configs(raw, parsed, overrides)
    chosen = domain.sweep_split([c for _, c in points], split)
    done = [(setting, [pipeline.run_experiment(c, progress) for c in experiments.seed_configs(config)])
            for setting, config in points]
    return typed(sweep_mod.sweep_record(points[0][1]["name"], domain, parsed, done, chosen,
                                        metric or domain.default_metric, False))


def load_run(path: str | Path) -> Record:
    """The record of a saved run or sweep (a run directory, or its record.json)."""
    from levinsearch import runs
    path = Path(path)
    saved = runs.RunDir(path.parent if path.name == "record.json" else path)
    return typed(saved.record())
