"""Sweeps: one experiment run over a grid of settings, with one row of metrics each.

A setting is `KEY=V1,V2,...` where KEY is a path into the experiment file
(`search.time_weight`, `train.envs`, `train.variant.share`, `grammar.ban`) or a short
name for a common one (`time_weight`, `max_bits`, `seed`, `ban`, `train_envs`, ...).
Values are TOML values (`0.5`, `"red"`, `["plan", "greedy"]`); a bare word is a string.
Several settings make the grid of every combination, first setting outermost.
"""
from __future__ import annotations

import copy
import itertools
import tomllib
from typing import Any, Iterator, Mapping

from dsl.errors import DslError
from levinsearch import experiments, stats
from levinsearch.config import DEFAULT_SEARCH, SMOOTH_SEARCH, shown
from levinsearch.files import MAX_NESTING, finite_float, text_nesting
from levinsearch.record import provenance
from levinsearch.types import Config, RunRecord, SweepRecord

SCHEMA = "levinsearch.sweep/1"
MAX_POINTS = 1_000

#: Metrics every domain has: name -> (column heading, description, reader).
COMMON_METRICS = {
    "fitting": ("fitting", "number of fitting programs", lambda r, split: r["enumeration"]["fitting"]),
    "unenumerated_mass": ("unenumerated mass", "Kraft mass of programs longer than the enumeration reached",
                          lambda r, split: r["enumeration"]["unenumerated_mass"]),
    "tail_share": ("tail share", "estimated share of the whole posterior held by programs beyond the enumeration "
                   "(tail samples)", lambda r, split: whole(r, "tail")),
}


def whole(record: dict[str, Any], *path: str) -> float | None:
    """A whole-posterior estimate of a record's summary (`summary.whole_posterior` at
    `path`), or None when the run took no tail samples."""
    node = record["summary"].get("whole_posterior")
    for key in path:
        if node is None:
            return None
        node = node[key]
    return None if node is None else node["estimate"]


def stakes_figure(record: dict[str, Any], part: str, key: str, split: str | None = None) -> float | None:
    """A stakes figure of a record's summary (`summary.stakes`, levinsearch.analyses.stakes;
    with `split`, that test split's), or None when the experiment has no [stakes] table
    (or, with a split, the record has none of that split)."""
    if "stakes" not in record["config"]:
        return None
    figures = record["summary"]["stakes"]
    if split is not None:
        if split not in figures:
            return None
        figures = figures[split]
    return figures[part][key]


def map_error(record: dict[str, Any]) -> float | None:
    """A prediction domain's MAP error with no tie order deciding it: with a MAP tie, the
    mean error rate over the tied behaviours (`summary.map_tie.error_rate`); without
    one, the MAP's error rate (as in records made before ties were recorded)."""
    tie = record["summary"].get("map_tie") or {}
    return tie["error_rate"] if "error_rate" in tie else record["summary"]["prediction"]["map_error_rate"]


def shortest_share(record: dict[str, Any]) -> float | None:
    """A prediction domain's P(shortest) with no tie order deciding it: the posterior of a
    shortest fitting program, the mean over them when several share the shortest length
    (`summary.occam.shortest_tie`; records without it: the first enumerated one's)."""
    occam = record["summary"]["occam"]
    tie = occam.get("shortest_tie")
    return occam["shortest_posterior"] if not tie else tie["posterior"] / tie["programs"]


#: Metrics that are not shares in [0, 1]: counts and bits (their intervals are not
#: clipped, and they are not shown in percent). Every other metric is a share.
UNBOUNDED = {"fitting", "shared_bits"}


def short_keys(domain) -> dict[str, str]:
    """Short names for the keys users sweep most, and where they live in the file."""
    return {
        **{key: f"search.{key}" for key in DEFAULT_SEARCH},
        **({key: f"search.{key}" for key in SMOOTH_SEARCH} if domain.smoothing else {}),
        **{key: f"analysis.{key}" for key in domain.default_analysis},
        "seed": "experiment.seed",
        "ban": "grammar.ban",
        **domain.short_keys,
    }


def metrics_of(domain) -> dict[str, tuple]:
    """Every metric a sweep of this domain can tabulate or plot."""
    return {**domain.metrics, **COMMON_METRICS}



def _tie_size(record) -> dict[str, Any] | None:
    """How many programs (and behaviours) share a record's MAP, and whether the count may
    be cut short (None: a record from before ties were recorded, or nothing fits)."""
    tie = record["summary"].get("map_tie")
    return None if not tie else dict(program_count=tie["program_count"], behaviours=tie["behaviours"],
                                     truncated=tie["truncated"])


def chosen_metric(domain, metric: str | None, what: str = "--metric") -> str:
    """The metric a sweep plots: `metric`, or the domain's default; DslError (named as
    `what`) when the domain has no such metric."""
    known = metrics_of(domain)
    metric = metric or domain.default_metric
    if metric not in known:
        raise DslError(f"{what}: unknown metric {metric!r} for a {domain.name} experiment (known: {', '.join(known)})")
    return metric


def split_values(text: str) -> list[str]:
    """Split on commas that are not inside brackets or quotes."""
    parts, depth, quote, current = [], 0, None, ""
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        current += ch
    parts.append(current)
    return [p.strip() for p in parts]


def parse_value(text: str) -> Any:
    """A TOML value, or the text itself when it is a bare word."""
    if text_nesting(text) > MAX_NESTING:
        raise DslError(f"--set: value nested more than {MAX_NESTING} levels deep")
    try:
        return tomllib.loads(f"v = {text}", parse_float=finite_float)["v"]
    except (tomllib.TOMLDecodeError, ValueError):
        if text and all(ch.isalnum() or ch in "_-.+" for ch in text):
            return text
        raise DslError(f"--set: cannot read value {shown(text)} (use TOML: 0.5, \"red\", [\"plan\", \"greedy\"])") from None


def parse_setting(text: str, domain) -> tuple[str, list[Any]]:
    """'KEY=V1,V2' -> (path in the file, values); short KEYs are those of `domain`."""
    key, eq, values = text.partition("=")
    key = key.strip()
    if not eq or not key or not values.strip():
        raise DslError(f"--set takes KEY=V1,V2,...; got {text!r}")
    known = short_keys(domain)
    path = known.get(key, key)
    if "." not in path:
        raise DslError(f"--set: unknown key {key!r} (use a path in the file such as search.time_weight, "
                       f"or one of: {', '.join(sorted(known))})")
    return path, [parse_value(v) for v in split_values(values)]


def apply(raw: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of the raw experiment with `path` (dotted) set to `value`."""
    out = copy.deepcopy(raw)
    node = out
    parts = path.split(".")
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise DslError(f"--set {path}: {part!r} is not a table in the experiment")
        node = child
    node[parts[-1]] = value
    return out


def grid(settings: list[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
    """Every combination of the settings' values, first setting outermost."""
    keys = [k for k, _ in settings]
    if len(set(keys)) != len(keys):
        raise DslError("--set: each key may be given once")
    size = 1
    for _, values in settings:
        size *= len(values)
    if size > MAX_POINTS:
        raise DslError(f"--set: {size:,} combinations; a sweep runs at most {MAX_POINTS:,} points")
    return [dict(zip(keys, combo)) for combo in itertools.product(*(v for _, v in settings))]


def point_configs(raw: dict[str, Any], settings: list[tuple[str, list[Any]]],
                  overrides: dict[str, Any], *, domains) -> list[tuple[dict[str, Any], Config]]:
    """(setting, resolved config) for every point, resolved against the registry
    `domains`; all are validated before any runs. A config with several `seeds` stands
    for one run per seed (experiments.seed_configs)."""
    out = []
    for setting in grid(settings):
        changed = raw
        for path, value in setting.items():
            changed = apply(changed, path, value)
        try:
            config = experiments.resolve(changed, overrides, domains=domains)
        except DslError as exc:
            where = ", ".join(f"{k}={shown(v)}" for k, v in setting.items())
            raise DslError(f"at {where}: {exc}") from None
        config["sweep"] = setting
        out.append((setting, config))
    return out


def total_variation(a: dict[str, float], b: dict[str, float]) -> float | None:
    """Total variation distance between two distributions given as {outcome: mass}
    (None when either is empty: no program fitted there)."""
    if sum(a.values()) <= 0 or sum(b.values()) <= 0:
        return None
    # Sorted keys: the same sum in the same order whichever way round the pair is given.
    return min(1.0, 0.5 * sum(abs(a.get(k, 0.0) - b.get(k, 0.0)) for k in sorted(set(a) | set(b))))


def behaviour_distribution(record: dict[str, Any]) -> dict[str, float]:
    return {b["key"]: b["posterior"] for b in record.get("behaviours", [])}


class MissingField(DslError):
    """A sweep metric read a field its record lacks. A renamed or removed field is a bug
    that must not turn into a blank column, so it is an error, never a None."""


class _SplitAbsent(Exception):
    """The record has no such split (another run's split, in a diff): its figures are None."""


class _View(Mapping):
    """A read-only view of a record for one metric's reader: a missing field raises
    MissingField with the metric and the field's whole path. The one field that may be
    missing is the requested split itself (`summary.splits.NAME`, and the same under
    `summary.whole_posterior`) in a record without that split."""

    __slots__ = ("_data", "_path", "_metric", "_split")

    def __init__(self, data: Mapping[str, Any], path: tuple[str, ...], metric: str, split: str | None):
        self._data, self._path, self._metric, self._split = data, path, metric, split

    def _wrap(self, key: str, value: Any) -> Any:
        return _View(value, (*self._path, str(key)), self._metric, self._split) if isinstance(value, Mapping) \
            else value

    def __getitem__(self, key: str) -> Any:
        if key not in self._data:
            if self._split is not None and key == self._split and self._path[-1:] == ("splits",):
                raise _SplitAbsent
            field = ".".join((*self._path, str(key)))
            raise MissingField(f"sweep metric {self._metric!r} reads {field}, which the record does not have "
                               "(a renamed or removed field?)")
        return self._wrap(key, self._data[key])

    def get(self, key: str, default: Any = None) -> Any:
        """An optional field: its value, or `default` where the record has none."""
        return self._wrap(key, self._data[key]) if key in self._data else default

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def metrics(record: RunRecord, split: str | None, domain) -> dict[str, Any]:
    """The row of one point. A metric is None only where its figure is legitimately absent:
    no program fitted (no posterior; shares), no tail samples (`whole`: tail_share and the
    whole_* metrics), a split figure that is None (e.g. the pseudo share of no search
    mass), or a split the record does not have. A field the metric reads and the record
    lacks raises MissingField, which names the metric and the field."""
    out = {}
    empty = _View(record, (), "fitting", None)["enumeration"]["fitting"] == 0
    for name, (_, _, read) in metrics_of(domain).items():
        if empty and name not in ("fitting", "unenumerated_mass", "tail_share"):
            out[name] = None
            continue
        try:
            out[name] = read(_View(record, (), name, split), split)
        except _SplitAbsent:
            out[name] = None
    # A run with a prior ensemble adds the share of encodings each direction holds in.
    out.update({name: value for name, (_, _, value) in ensemble_metrics(record, split).items()})
    return out


def ensemble_on(record: dict[str, Any], split: str | None) -> dict[str, Any] | None:
    """The run's prior ensemble where it was read on `split`: the ensemble reads the
    run's own split (`ensemble.split`), so a sweep on another test split (`--split`)
    has none rather than the other split's figures."""
    ens = record.get("ensemble")
    if not ens or (split is not None and ens.get("split") is not None and ens["split"] != split):
        return None
    return ens


def ensemble_metrics(record: dict[str, Any], split: str | None = None) -> dict[str, tuple[str, str, float | None]]:
    """What a sweep tabulates of a run's prior ensemble (levinsearch.ensemble): per
    directional statement, the share of encodings in which it holds (name
    encodings_<statement>); none without an ensemble, or where the ensemble was read on
    another split than `split` (`ensemble_on`)."""
    ens = ensemble_on(record, split)
    if not ens:
        return {}
    return {f"encodings_{d['name']}": (f"{d['statement']}, share of encodings",
                                       f"share of the {ens['draws']} drawn encodings in which {d['statement']}",
                                       d["share"]) for d in ens["directions"]}


def ensemble_seed(record: RunRecord) -> dict[str, Any]:
    """A sweep point's summary of one seed's prior ensemble: per headline [median, low,
    high], per direction its share of encodings, and the share that keeps the MAP."""
    ens = record["ensemble"]
    return dict(seed=record["config"]["seed"],
                headlines={h["name"]: [h["median"], h["low"], h["high"]] for h in ens["headlines"]},
                directions={d["name"]: d["share"] for d in ens["directions"]},
                map_same_share=ens["map"]["same_share"])


def sweep_record(experiment: str, domain, settings, points: list[tuple[dict, list[dict]]], split: str | None,
                 metric: str, interrupted: bool) -> SweepRecord:
    """The sweep's JSON document: one row per finished point, and the distances between
    the posterior distributions of every pair of points: over behaviours, and over what
    the domain's `sweep_distributions` read (the grid: outcome classes on the split).

    Each point holds the records of its seeds (one, unless the experiment has several
    `seeds`). A row's metrics are the means over its seeds; with several seeds it also
    has `intervals` (at the config's `confidence`, 95% by default: see levinsearch.stats)
    and `per_seed` values, and the distances
    are averaged over the seeds (point i's seed k against point j's seed k)."""
    known = dict(metrics_of(domain))
    for _, records in points:  # a prior ensemble's direction shares, where the runs drew one
        for record in records:
            known.update({name: (heading, text, None) for name, (heading, text, _)
                          in ensemble_metrics(record, split).items()})
    # Metrics that need tail samples: tail_share and the whole_* ones.
    tail_metrics = [name for name in known if name == "tail_share" or name.startswith("whole_")]
    rows = []
    for setting, records in points:
        per_seed = [metrics(record, split, domain) for record in records]
        first = records[0]
        row = dict(setting=setting, metrics=per_seed[0], interrupted=any(r["enumeration"]["interrupted"]
                                                                          for r in records),
                   programs=sum(r["enumeration"]["programs"] for r in records),
                   seconds=round(sum(r["enumeration"]["seconds"] for r in records), 3),
                   map_program=first["summary"]["map_program"],
                   map_tie=_tie_size(first))
        if len(records) > 1:
            spans = {name: stats.interval([m.get(name) for m in per_seed], share=name not in UNBOUNDED,
                                          confidence=confidence_of(records))
                     for name in known}
            row["metrics"] = {name: None if span is None else span["mean"] for name, span in spans.items()}
            row["intervals"] = {name: None if span is None else [span["low"], span["high"]]
                                for name, span in spans.items()}
            row["per_seed"] = {name: [m.get(name) for m in per_seed] for name in known}
            row["seeds"] = [r["config"]["seed"] for r in records]
            row["map_programs"] = [r["summary"]["map_program"] for r in records]
            row["map_ties"] = [_tie_size(r) for r in records]
        if all(ensemble_on(r, split) for r in records):  # kept apart from the seeds' intervals
            row["ensemble"] = [ensemble_seed(r) for r in records]
        rows.append(row)
    n = len(points)

    def mean_distance(i, j, read):
        values = [total_variation(read(a), read(b)) for a, b in zip(points[i][1], points[j][1])]
        values = [v for v in values if v is not None]
        return sum(values) / len(values) if values else None

    distances = dict(behaviour=[[mean_distance(i, j, behaviour_distribution) for j in range(n)] for i in range(n)])
    for name, read in domain.sweep_distributions.items():
        distances[name] = [[mean_distance(i, j, lambda r, read=read: read(r, split)) for j in range(n)]
                           for i in range(n)]
    # With tail samples, the table shows the whole-posterior metrics too.
    sampled = any(row["metrics"].get("tail_share") is not None for row in rows)
    out = dict(schema=SCHEMA, experiment=experiment, domain=domain.name, split=split, metric=metric,
               columns=list(domain.table_metrics) + (["tail_share", *domain.whole_metrics] if sampled else [])
               + [name for name in known if name.startswith("encodings_")],
               tail_metrics=tail_metrics,
               settings=[dict(key=k, values=v) for k, v in settings], points=rows, distances=distances,
               interrupted=interrupted,
               metric_headings={k: h for k, (h, _, _) in known.items()},
               metric_descriptions={k: d for k, (_, d, _) in known.items()})
    seeds = max((len(records) for _, records in points), default=1)
    if seeds > 1:
        out["seeds"] = seeds
        out["confidence"] = confidence_of([r for _, records in points for r in records])
    out["provenance"] = provenance()
    return out


def confidence_of(records: list[dict[str, Any]]) -> float:
    """The confidence level the runs' configs ask for (the default when they name none)."""
    return float(records[0]["config"].get("confidence", stats.DEFAULT_CONFIDENCE)) if records else \
        stats.DEFAULT_CONFIDENCE
