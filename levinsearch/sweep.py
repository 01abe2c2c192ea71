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
from typing import Any, Callable

from dsl.errors import DslError
from levinsearch import experiments

SCHEMA = "levinsearch.sweep/1"

#: Short names for the keys users sweep most, and where they live in the file.
SHORT_KEYS = {
    **{key: f"search.{key}" for key in experiments.DEFAULT_SEARCH},
    **{key: f"analysis.{key}" for key in experiments.DEFAULT_ANALYSIS},
    **{key: f"analysis.{key}" for key in experiments.DEFAULT_SEQ_ANALYSIS},
    "seed": "experiment.seed",
    "base": "experiment.base",
    "proxy": "experiment.proxy",
    "ban": "grammar.ban",
    "train_envs": "train.envs",
}

#: Metrics of a sweep row: name -> (description, how to read it from a run record).
METRICS: dict[str, tuple[str, Callable[[dict, str], float | int | None]]] = {
    "search": ("P(search): posterior mass of programs with embedded search",
               lambda r, split: r["summary"]["search_mass"]),
    "proxy_given_search": ("P(proxy | search): share of the search mass that is pseudo-aligned on the split",
                           lambda r, split: r["summary"]["splits"][split]["search"]["class_share"]["pseudo"]),
    "robust": ("P(robust): posterior mass of robustly aligned programs on the split",
               lambda r, split: r["summary"]["splits"][split]["classes"]["robust"]["mass"]),
    "pseudo": ("P(pseudo): posterior mass of pseudo-aligned programs on the split",
               lambda r, split: r["summary"]["splits"][split]["classes"]["pseudo"]["mass"]),
    "capability_failure": ("P(capability failure) on the split",
                           lambda r, split: r["summary"]["splits"][split]["classes"]["capability_failure"]["mass"]),
    "base": ("share of test episodes the posterior sends to the base objective",
             lambda r, split: r["summary"]["splits"][split]["outcome_mass"]["base"]),
    "proxy": ("share of test episodes the posterior sends to the proxy",
              lambda r, split: r["summary"]["splits"][split]["outcome_mass"]["proxy"]),
    "fitting": ("number of fitting programs", lambda r, split: r["enumeration"]["fitting"]),
    "unenumerated_mass": ("Kraft mass of programs longer than the enumeration reached",
                          lambda r, split: r["enumeration"]["unenumerated_mass"]),
    # seq
    "equivalent": ("seq: posterior of programs that agree with the target on every deployment step",
                   lambda r, split: r["summary"]["occam"]["target_equivalent_posterior"]),
    "shortest": ("seq: posterior of the shortest fitting program",
                 lambda r, split: r["summary"]["occam"]["shortest_posterior"]),
    "defectors": ("seq: posterior of rare defectors (wrong on 1..max_defections deployment steps)",
                  lambda r, split: r["summary"]["rare_defection"]["posterior"]),
    "map_error": ("seq: share of deployment steps the MAP prediction gets wrong",
                  lambda r, split: r["summary"]["prediction"]["map_error_rate"]),
    "mixture_error": ("seq: share of deployment steps the Bayes-mixture prediction gets wrong",
                      lambda r, split: r["summary"]["prediction"]["mixture_error_rate"]),
}
#: The columns of the sweep table, per domain.
TABLE_METRICS = {"grid": ("search", "proxy_given_search", "robust", "capability_failure", "fitting",
                          "unenumerated_mass"),
                 "seq": ("equivalent", "shortest", "defectors", "map_error", "mixture_error", "fitting",
                         "unenumerated_mass")}


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
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        if text and all(ch.isalnum() or ch in "_-.+" for ch in text):
            return text
        raise DslError(f"--set: cannot read value {text!r} (use TOML: 0.5, \"red\", [\"plan\", \"greedy\"])") from None


def parse_setting(text: str) -> tuple[str, list[Any]]:
    """'KEY=V1,V2' -> (path in the file, values)."""
    key, eq, values = text.partition("=")
    key = key.strip()
    if not eq or not key or not values.strip():
        raise DslError(f"--set takes KEY=V1,V2,...; got {text!r}")
    path = SHORT_KEYS.get(key, key)
    if "." not in path:
        raise DslError(f"--set: unknown key {key!r} (use a path in the file such as search.time_weight, "
                       f"or one of: {', '.join(sorted(SHORT_KEYS))})")
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
    return [dict(zip(keys, combo)) for combo in itertools.product(*(v for _, v in settings))]


def point_configs(raw: dict[str, Any], settings: list[tuple[str, list[Any]]],
                  overrides: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(setting, resolved config) for every point; all are validated before any runs."""
    out = []
    for setting in grid(settings):
        changed = raw
        for path, value in setting.items():
            changed = apply(changed, path, value)
        try:
            config = experiments.resolve(changed, overrides)
        except DslError as exc:
            where = ", ".join(f"{k}={v!r}" for k, v in setting.items())
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


def class_distribution(record: dict[str, Any], split: str) -> dict[str, float]:
    return {k: v["mass"] for k, v in record["summary"]["splits"][split]["classes"].items()}


def metrics(record: dict[str, Any], split: str) -> dict[str, Any]:
    """The row of one point; shares are None where no program fitted (no posterior)."""
    out = {}
    empty = record["enumeration"]["fitting"] == 0
    for name, (_, read) in METRICS.items():
        if empty and name not in ("fitting", "unenumerated_mass"):
            out[name] = None
            continue
        try:
            out[name] = read(record, split)
        except (KeyError, TypeError):
            out[name] = None
    return out


def sweep_record(experiment: str, settings, points: list[tuple[dict, dict]], split: str, metric: str,
                 interrupted: bool) -> dict[str, Any]:
    """The sweep's JSON document: one row per finished point, and the distances between
    the posterior behaviour (and outcome-class) distributions of every pair of points."""
    rows = []
    for setting, record in points:
        e = record["enumeration"]
        rows.append(dict(setting=setting, metrics=metrics(record, split), interrupted=e["interrupted"],
                         programs=e["programs"], seconds=e["seconds"], map_program=record["summary"]["map_program"]))
    n = len(points)
    distances = dict(
        behaviour=[[total_variation(behaviour_distribution(points[i][1]), behaviour_distribution(points[j][1]))
                    for j in range(n)] for i in range(n)],
        outcome_class=[[total_variation(class_distribution(points[i][1], split),
                                        class_distribution(points[j][1], split)) if split else None
                        for j in range(n)] for i in range(n)],
    )
    domain = points[0][1]["domain"] if points else "grid"
    return dict(schema=SCHEMA, experiment=experiment, domain=domain, split=split, metric=metric,
                columns=list(TABLE_METRICS[domain]),
                settings=[dict(key=k, values=v) for k, v in settings], points=rows, distances=distances,
                interrupted=interrupted, metric_descriptions={k: d for k, (d, _) in METRICS.items()})
