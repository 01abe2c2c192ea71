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
        from rich.console import Console
        console = Console(width=width, file=io.StringIO(), record=True)
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


def run(experiment: str = "red-door", *, progress=None, **overrides) -> Record:
    """Run a bundled experiment (by name) or an experiment file (a path), with settings
    overridden by keyword: any [search] key (max_bits, time_weight, noise, ...), seed,
    seeds, ban (list), bits and cost (dicts), profile, and the domain's own flags
    (grid: train_envs, test_envs, horizon; seq: train_terms, deploy_terms) and analysis
    keys. Nothing is saved. Returns a RunRecord, or with seeds > 1 a SweepRecord of one
    point (the figures over the seeds)."""
    from levinsearch import domains, experiments, pipeline, sweeps as sweep_mod
    config = experiments.resolve(experiments.load(experiment), overrides)
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
    from levinsearch import experiments, pipeline, sweeps as sweep_mod
    raw = experiments.load(experiment)
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
