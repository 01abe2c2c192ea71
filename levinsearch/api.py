"""The Python API: run an experiment or a sweep, or load a saved run, and get a typed
record back (docs/python-api.md).

    import levinsearch
    record = levinsearch.run("red-door", max_bits=16)
    record                                  # a one-line summary (a table in a notebook)
    record.summary["map_program"], record.enumeration["fitting"]
    print(record.report())                  # the terminal report, as text
    record.to_json()                        # the JSON `levinsearch run --json` prints
    record.to_pandas()                      # a table (pip install 'levinsearch[table]')

Records are dicts typed by `levinsearch.types` (RunRecord, SweepRecord) and validated
by the published JSON Schema (levinsearch/schema/run.schema.json).
"""
from __future__ import annotations

import contextlib
import html
import inspect
import io
import json
import os
from pathlib import Path
from typing import Any, Callable, Literal, Mapping, Sequence

from dsl.errors import DslError
from levinsearch import types

#: The values of the settings that take one of a few (levinsearch.config.ORDERS and
#: TIME_PENALTIES, levinsearch.backends.BACKENDS; tests/test_api.py checks they agree).
Order = Literal["length", "levin"]
TimePenalty = Literal["log", "linear"]
Backend = Literal["local", "processes", "dask"]
#: Called after each batch of programs with a levinsearch.fit.Tally.
Progress = Callable[[Any], None]

#: Keywords of `run` and `sweep` that say how and where to run, not what: they are not
#: experiment settings, and they do not change the record.
HOW = ("save", "runs_dir", "backend", "workers", "scheduler", "shards", "progress")
#: How many sweep points a summary names before "…".
SUMMARY_POINTS = 4
#: How many sweep points the rich and HTML summaries list.
TABLE_POINTS = 20


class Record(dict):
    """A record: the plain JSON-able dict, with `to_json()`, `report()`, `to_pandas()`
    and short summaries for the terminal and notebooks (`repr`, rich, HTML)."""

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

    def to_pandas(self, table: str | None = None):
        """One table of the record as a pandas DataFrame (levinsearch.tables: a run's
        "behaviours" by default, a sweep's "points"); needs pandas
        (pip install 'levinsearch[table]')."""
        from levinsearch.tables import to_pandas
        return to_pandas(self, table)

    @property
    def provenance(self) -> types.Provenance | None:
        """Version, git commit, creation time and command (None in records saved by
        levinsearch before they had it)."""
        return self.get("provenance")

    def renderable(self):
        raise NotImplementedError

    # ------------------------------------------------------------------ summaries
    def summary_rows(self) -> list[tuple[str, str]]:
        """(label, value) rows of the short summary that repr, rich and HTML show."""
        raise NotImplementedError

    def _title(self) -> str:
        return f"{type(self).__name__} {self.get('experiment', '?')} ({self.get('domain', '?')})"

    def __repr__(self) -> str:
        try:
            rows = self.summary_rows()
        except Exception:  # a summary must never hide the record: fall back to its name
            rows = []
        return f"<{self._title()}" + (": " + " · ".join(f"{k} {v}" for k, v in rows[:5]) if rows else "") + ">"

    def __rich__(self):
        from rich.table import Table
        table = Table(title=self._title(), show_header=False, title_justify="left", box=None, padding=(0, 1))
        table.add_column(style="bold")
        table.add_column(overflow="fold")
        with contextlib.suppress(Exception):  # as in __repr__: the title at least
            for label, value in self.summary_rows() + self._more_rows():
                table.add_row(label, value)
        return table

    def _repr_html_(self) -> str:
        rows = []
        with contextlib.suppress(Exception):  # as in __repr__: the title at least
            rows = self.summary_rows() + self._more_rows()
        body = "".join(f"<tr><th style=\"text-align:left\">{html.escape(label)}</th>"
                       f"<td style=\"text-align:left\">{html.escape(value)}</td></tr>" for label, value in rows)
        return f"<table><caption>{html.escape(self._title())}</caption>{body}</table>"

    def _more_rows(self) -> list[tuple[str, str]]:
        """Rows the rich and HTML summaries add to the short ones."""
        p = self.get("provenance") or {}
        rows = [("created", str(p.get("created")))] if p.get("created") else []
        if p.get("levinsearch"):
            commit = f" ({p['commit'][:12]})" if p.get("commit") else ""
            rows.append(("levinsearch", f"{p['levinsearch']}{commit}"))
        if self.get("run"):
            rows.append(("saved in", str(self["run"])))
        return rows


def _figure(name: str, value: Any) -> str:
    """A metric's value as the summaries show it: shares as percentages."""
    from levinsearch.sweeps import UNBOUNDED
    if value is None:
        return "n/a"
    if name in UNBOUNDED or isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)
    return f"{value:.1%}"


def _tied_text(tie: dict[str, Any] | None) -> str:
    """" +1 tied" after a MAP program that shares its score with others ("" otherwise)."""
    from levinsearch.render import map_cell
    return map_cell("", tie)


def _short(text: Any, width: int = 40) -> str:
    text = str(text)
    return text if len(text) <= width else text[: width - 1] + "…"


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

    def summary_rows(self) -> list[tuple[str, str]]:
        e, s = self["enumeration"], self["summary"]
        rows = [("programs judged", f"{e['programs']:,}" + (" (interrupted)" if e.get("interrupted") else "")),
                ("fitting", f"{e['fitting']:,}")]
        if s.get("map_program") is not None:
            rows.append(("MAP", f"{_short(s['map_program'])}{_tied_text(s.get('map_tie'))} "
                                f"{_figure('', s.get('map_posterior'))}"))
        else:
            rows.append(("MAP", "none (no program fits)"))
        headline = self._headline()
        if headline:
            rows.append(headline)
        return rows

    def _headline(self) -> tuple[str, str] | None:
        """The domain's headline figure (its default sweep metric), e.g. P(search)."""
        from levinsearch import domains, sweeps
        domain = domains.get(self["domain"])
        split = domain.sweep_split([self["config"]], None)
        name = domain.default_metric
        value = sweeps.metrics(self, split, domain)[name]
        return domain.metrics[name][0] + (f" on {split}" if split else ""), _figure(name, value)


class SweepRecord(Record):
    """A sweep record (levinsearch.sweep/1; fields: levinsearch.types.SweepRecord); a run
    over several seeds is a sweep of one point."""

    @property
    def points(self) -> list[types.SweepPoint]:
        return self["points"]

    def renderable(self):
        from levinsearch import report
        return report.sweep_report(self)

    def _metric_label(self) -> str:
        metric = self.get("metric", "")
        heading = (self.get("metric_headings") or {}).get(metric, metric)
        return heading + (f" on {self['split']}" if self.get("split") else "")

    def _point_label(self, point: dict) -> str:
        setting = point.get("setting") or {}
        return ", ".join(f"{k.split('.')[-1]}={v}" for k, v in setting.items()) or \
            (f"mean of {len(point['seeds'])} seeds" if point.get("seeds") else "the run")

    def _point_figure(self, point: dict) -> str:
        metric = self.get("metric", "")
        interval = (point.get("intervals") or {}).get(metric)
        span = f" [{_figure(metric, interval[0])}, {_figure(metric, interval[1])}]" if interval else ""
        return _figure(metric, point["metrics"].get(metric)) + span

    def summary_rows(self) -> list[tuple[str, str]]:
        points = self["points"]
        keys = [s["key"].split(".")[-1] for s in self.get("settings", [])]
        seeds = f", {self['seeds']} seeds each" if self.get("seeds") else ""
        rows = [("points", f"{len(points)}" + (f" over {', '.join(keys)}" if keys else "") + seeds
                 + (" (interrupted)" if self.get("interrupted") else "")),
                ("programs judged", f"{sum(p['programs'] for p in points):,}")]
        shown = [f"{self._point_label(p)} {self._point_figure(p)}" for p in points[:SUMMARY_POINTS]]
        more = f" … {len(points) - SUMMARY_POINTS} more" if len(points) > SUMMARY_POINTS else ""
        rows.append((self._metric_label(), "; ".join(shown) + more))
        return rows

    def _more_rows(self) -> list[tuple[str, str]]:
        rows = [(self._point_label(p), f"{self._point_figure(p)} · MAP {_short(p.get('map_program'))}"
                 + _tied_text(p.get("map_tie")))
                for p in self["points"][:TABLE_POINTS]]
        if len(self["points"]) > TABLE_POINTS:
            rows.append(("…", f"{len(self['points']) - TABLE_POINTS} more points (record.to_pandas())"))
        return rows + super()._more_rows()


def typed(record: Mapping[str, Any]) -> Record:
    """The typed record of a plain one (a run or a sweep, by its schema)."""
    from levinsearch import sweeps as sweep_mod
    plain = json.loads(json.dumps(record, default=lambda v: v.tolist()))
    return SweepRecord(plain) if plain.get("schema") == sweep_mod.SCHEMA else RunRecord(plain)


# ------------------------------------------------------------------ checks and helpers
class UnknownSetting(DslError, TypeError):
    """A keyword that `run` and `sweep` do not take: the package's error (a ValueError,
    with the message the command line would print) and the TypeError Python raises for
    an unexpected keyword argument, so that either `except` catches it."""


def _check_call(experiment, progress, save, backend) -> None:
    """The arguments every API entry point takes, checked as the CLI checks them:
    DslError (the package's error, with the CLI's message) otherwise."""
    from levinsearch import backends
    if not isinstance(experiment, (str, os.PathLike)) or not str(experiment).strip():
        raise DslError(f"experiment must be a bundled experiment's name or a path to a .toml file, got "
                       f"{experiment!r:.60}")
    if progress is not None and not callable(progress):
        raise DslError(f"progress must be a function taking a fit.Tally (or None), got {progress!r:.60}")
    if not isinstance(save, bool):
        raise DslError(f"save must be True or False, got {save!r:.60}")
    if backend not in backends.BACKENDS:
        raise DslError(f"backend must be one of {', '.join(backends.BACKENDS)}, got {backend!r:.60}")


def _call(fn: Callable, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], str]:
    """A call's experiment settings (keyword: value), its how-to-run options (HOW), and
    the call as text for the record's provenance (the arguments given, in order). A
    keyword that is no domain's setting raises UnknownSetting."""
    import difflib

    from levinsearch import domains
    params = inspect.signature(fn).parameters
    extra = values.pop("domain_settings")
    known = {key for name in domains.names() for key in (*domains.get(name).flag_keys,
                                                          *domains.get(name).default_analysis)}
    for name in extra:
        if name not in known:
            close = difflib.get_close_matches(name, [*params, *known], n=1)
            raise UnknownSetting(f"unknown setting {name!r} for levinsearch.{fn.__name__}()" +
                                 (f" (did you mean {close[0]}?)" if close else
                                  f" (see help(levinsearch.{fn.__name__}) and docs/python-api.md)"))
    shown = [repr(values[name]) for name, p in params.items() if p.kind is p.POSITIONAL_OR_KEYWORD]
    for name, p in params.items():
        value = values.get(name)
        # Given: not None where that is the default, else a scalar other than the default.
        if p.kind is p.KEYWORD_ONLY and (value is not None if p.default is None else value != p.default):
            shown.append(f"{name}={getattr(value, '__name__', None) or repr(value)}" if callable(value)
                         else f"{name}={value!r}")
    shown += [f"{name}={value!r}" for name, value in extra.items()]
    settings = {name: values[name] for name, p in params.items()
                if p.kind is p.KEYWORD_ONLY and name not in HOW and name not in ("metric", "split")}
    settings.update(extra)
    how = {name: values[name] for name in HOW}
    return settings, how, f"levinsearch.{fn.__name__}({', '.join(shown)})"


def _runs_root(runs_dir) -> Path:
    """Where saved runs go: as for the command line, LEVINSEARCH_RUNS_DIR or runs/."""
    from levinsearch import runs
    if runs_dir is not None:
        return Path(runs_dir)
    return Path(os.environ.get("LEVINSEARCH_RUNS_DIR") or runs.DEFAULT_ROOT)


def _search(prep, progress, options) -> dict[str, Any]:
    """Judge every program of a prepared run (not saved) and return its record. Not
    runs.execute: that one turns Ctrl-C into a stop (or, while compiling, an exit), which
    would end a notebook's kernel; here Ctrl-C is a KeyboardInterrupt, as in any call."""
    from levinsearch import backends, pipeline
    agg, position = backends.search(prep, progress=progress, **options)
    return pipeline.build_record(prep, agg, position=position)


def _points(domain, parsed, points, split, metric, saved, progress, options) -> SweepRecord:
    """Run every point of a sweep with its seeds (saving each record as it comes, when
    `saved`) and return the sweep record; a multi-seed run is a sweep of one point."""
    from levinsearch import experiments, pipeline, sweeps as sweep_mod
    seed_configs = [experiments.seed_configs(config) for _, config in points]
    # Every point and seed is prepared first: bad settings fail before any run starts.
    prepared = [[pipeline.prepare(c) for c in configs] for configs in seed_configs]
    done: list[tuple[dict, list[dict]]] = []
    with saved.lock() if saved is not None else contextlib.nullcontext():
        try:
            for k, (setting, _), preps in zip(range(1, len(points) + 1), points, prepared):
                records = []
                for prep in preps:
                    records.append(_search(prep, progress, options))
                    if saved is not None:
                        saved.write_point(k, records[-1], prep.config["seed"] if len(preps) > 1 else None)
                done.append((setting, records))
        except (KeyboardInterrupt, DslError) as exc:
            if saved is not None:
                interrupted = isinstance(exc, KeyboardInterrupt)
                saved.mark("interrupted" if interrupted else "failed",
                           f"stopped during point {len(done) + 1} of {len(points)}; points 1..{len(done)} are saved"
                           if interrupted else str(exc), total=len(points), position=len(done))
            raise
        record = typed(sweep_mod.sweep_record(points[0][1]["name"], domain, parsed, done, split, metric, False))
        if saved is not None:
            record["run"] = str(saved.path)
            saved.update_manifest(status="complete", total=len(points), position=len(done), reason=None)
            saved.write_record(record, record.report())
    return record


# ------------------------------------------------------------------ the API
def run(experiment: str | os.PathLike = "red-door", *,
        max_bits: float | None = None, order: Order | None = None, length_weight: float | None = None,
        time_weight: float | None = None, time_penalty: TimePenalty | None = None,
        fit_threshold: float | None = None, noise: float | None = None,
        smooth: float | None = None, smooth_samples: int | None = None, time_measure: str | None = None,
        tail_samples: int | None = None, tail_seed: int | None = None, tail_max_bits: float | None = None,
        profile: str | None = None, ban: Sequence[str] | None = None, bits: Mapping[str, float] | None = None,
        cost: Mapping[str, int] | None = None,
        train_envs: int | None = None, test_envs: int | None = None, horizon: int | None = None,
        trust: str | None = None, seed: int | None = None, seeds: int | None = None, confidence: float | None = None,
        prior_draws: int | None = None, prior_concentration: float | None = None,
        top: int | None = None, keep: int | None = None, batch_size: int | None = None,
        save: bool = False, runs_dir: str | os.PathLike | None = None,
        backend: Backend = "local", workers: int | None = None, scheduler: str | None = None,
        shards: int | None = None, progress: Progress | None = None,
        **domain_settings: Any) -> RunRecord | SweepRecord:
    """Run a bundled experiment (by name) or an experiment file (a path) and return its
    RunRecord, or with `seeds` above 1 a SweepRecord of one point (every figure over the
    seeds). The keywords are the flags of `levinsearch run`; a setting left at None keeps
    the experiment's own value.

    Search: max_bits, order ("length" or "levin"), length_weight, time_weight,
    time_penalty ("log" or "linear"), fit_threshold, noise, top, keep, batch_size; grid
    smoothed complexity: smooth (sigma), smooth_samples (K), time_measure ("total", "mean"
    or "worst"); the whole posterior: tail_samples, tail_seed, tail_max_bits. Grammar: profile, ban (names,
    added to the file's), bits and cost ({name: number}, merged with the file's). Data:
    train_envs, test_envs, horizon (grid), seed, seeds; trust (seq, grid: "top:N" or
    "ratio:ALPHA", the consensus rule with its query bound); confidence: the level of every
    interval (over seeds, and of the whole posterior; default 0.95); prior_draws,
    prior_concentration: a prior ensemble of that many encodings drawn around the grammar
    (docs/concepts.md, "Prior ensembles"). `domain_settings`: a domain's own
    keys without a flag (seq: train_terms, deploy_terms; tm: train_bits, deploy_bits,
    step_cap) and its [analysis] keys (e.g. class_threshold).

    save: write a run directory, as the command line does (default False: nothing is
    written); runs_dir: where (default LEVINSEARCH_RUNS_DIR, else runs/). backend
    ("local", "processes", "dask"), workers, scheduler, shards: where the programs are
    judged, as `--backend` etc. progress: called after each batch with a fit.Tally.

    A keyword that is no setting raises UnknownSetting (both a TypeError and a
    dsl.errors.DslError); a domain's setting given to another domain's experiment, and
    every bad value, raise DslError with the message the command line prints."""
    settings, how, text = _call(run, dict(locals()))
    from levinsearch import domains, experiments, pipeline, record as record_mod, runs
    _check_call(experiment, progress, save, backend)
    options = {k: how[k] for k in ("backend", "workers", "scheduler", "shards")}
    from levinsearch import backends
    backends.validate(**options)
    with record_mod.command(text):
        config = experiments.resolve(experiments.load(str(experiment)), settings, domains=domains)
        if config.get("seeds", 1) > 1:
            domain = domains.get(config["domain"])
            saved = runs.create(config, "run", _runs_root(runs_dir), extra=dict(seeds=config["seeds"])) \
                if save else None
            return _points(domain, [], [({}, config)], domain.sweep_split([config], None), domain.default_metric,
                           saved, progress, options)
        prepared = pipeline.prepare(config)
        if not save:
            return typed(_search(prepared, progress, options))
        saved = runs.create(config, "run", _runs_root(runs_dir))
        with saved.lock():
            # runs.execute: checkpoints, the manifest's status, Ctrl-C as a stop (as `run`).
            record = typed(runs.execute(prepared, saved, progress=progress, **options))
            saved.write_record(record, record.report())
        return record


def sweep(experiment: str | os.PathLike, settings: Mapping[str, Sequence[Any]], *,
          metric: str | None = None, split: str | None = None,
          max_bits: float | None = None, order: Order | None = None, length_weight: float | None = None,
          time_weight: float | None = None, time_penalty: TimePenalty | None = None,
          fit_threshold: float | None = None, noise: float | None = None,
          smooth: float | None = None, smooth_samples: int | None = None, time_measure: str | None = None,
          tail_samples: int | None = None, tail_seed: int | None = None, tail_max_bits: float | None = None,
          profile: str | None = None, ban: Sequence[str] | None = None, bits: Mapping[str, float] | None = None,
          cost: Mapping[str, int] | None = None,
          train_envs: int | None = None, test_envs: int | None = None, horizon: int | None = None,
          trust: str | None = None, seed: int | None = None, seeds: int | None = None, confidence: float | None = None,
          prior_draws: int | None = None, prior_concentration: float | None = None,
          top: int | None = None, keep: int | None = None, batch_size: int | None = None,
          save: bool = False, runs_dir: str | os.PathLike | None = None,
          backend: Backend = "local", workers: int | None = None, scheduler: str | None = None,
          shards: int | None = None, progress: Progress | None = None,
          **domain_settings: Any) -> SweepRecord:
    """Run `experiment` at every combination of `settings` ({key: [values]}, keys as for
    `levinsearch sweep --set`: a path in the file or a short name) and return the
    SweepRecord. metric: the one the sweep plots (default the domain's: search for grid,
    defectors for seq); split: the test split the metrics read (default the first). Every
    other keyword is as for `run` and applies at every point (seeds: each point on that
    many seeds); save is False by default (nothing is written)."""
    overrides, how, text = _call(sweep, dict(locals()))
    from levinsearch import backends, domains, experiments, record as record_mod, runs, sweeps as sweep_mod
    _check_call(experiment, progress, save, backend)
    options = {k: how[k] for k in ("backend", "workers", "scheduler", "shards")}
    backends.validate(**options)
    if not isinstance(settings, Mapping) or not settings:
        raise DslError(f"settings must be a table of KEY: [values], e.g. {{'time_weight': [0, 1]}}, got "
                       f"{settings!r:.60}")
    for key, vals in settings.items():
        if not isinstance(key, str) or not isinstance(vals, (list, tuple)) or not vals:
            raise DslError(f"settings: {key!r:.40} needs a non-empty list of values, e.g. [0, 1], got {vals!r:.60}")
    with record_mod.command(text):
        raw = experiments.load(str(experiment))
        domain = experiments.domain_of(raw, domains)
        metric = sweep_mod.chosen_metric(domain, metric, "metric")
        parsed = [sweep_mod.parse_setting(f"{key}=0", domain)[0] for key in settings]
        parsed = list(zip(parsed, (list(v) for v in settings.values())))
        points = sweep_mod.point_configs(raw, parsed, overrides, domains=domains)
        chosen = domain.sweep_split([c for _, c in points], split)
        saved = runs.create(points[0][1], "sweep", _runs_root(runs_dir),
                            extra=dict(settings=[dict(key=k, values=v) for k, v in parsed])) if save else None
        return _points(domain, parsed, points, chosen, metric, saved, progress, options)


def load_run(path: str | Path) -> Record:
    """The record of a saved run or sweep (a run directory, or its record.json)."""
    from levinsearch import domains, runs
    path = Path(path)
    saved = runs.RunDir(path.parent if path.name == "record.json" else path)
    return typed(saved.record(domains))
