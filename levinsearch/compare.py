"""Two records side by side (`levinsearch diff`): the settings that differ, every
headline figure of each with its change (and interval where both have one), and the
behaviours whose posterior changed most. Two runs, or two sweeps (a multi-seed run is a
sweep of one point), of the same domain; anything else is refused.

The result is a plain dict (schema levinsearch.diff/1, described in docs/export.md);
levinsearch.report_diff renders it.
"""
from __future__ import annotations

import json
from typing import Any

from dsl.errors import DslError
from levinsearch import sweeps
from levinsearch.tables import RUN_SCHEMA, check, estimates, is_sweep

SCHEMA = "levinsearch.diff/1"
#: Config keys that say how a run was asked for, not what was run.
NOT_SETTINGS = ("flags",)


def _kind(record: dict[str, Any]) -> str:
    return "sweep" if is_sweep(record) else "run"


def _flat_settings(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A config as {dotted key: value}; lists stay lists (compared whole)."""
    out = {}
    for key, value in config.items():
        if isinstance(value, dict) and value:
            out.update(_flat_settings(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _config_keys_of_sweep(key: str) -> tuple[str, ...]:
    """The config keys a swept key (a path in the experiment file) sets."""
    return (key, key.split(".", 1)[1]) if key.startswith("experiment.") else (key,)


def settings_diff(a: dict[str, Any], b: dict[str, Any], configs=(None, None)) -> list[dict[str, Any]]:
    """[{key, a, b}] of every setting that differs: the resolved config's dotted keys
    (a sweep record has none: `configs` gives its manifest's, the first point's) and,
    for sweeps, the experiment, split, metric, seeds and the values of each swept key."""
    out = []
    swept: list[str] = []
    if is_sweep(a):
        for name in ("experiment", "split", "metric", "seeds"):
            out.append((name, a.get(name, 1 if name == "seeds" else None), b.get(name, 1 if name == "seeds" else None)))
        values_a = {s["key"]: s["values"] for s in a.get("settings") or []}
        values_b = {s["key"]: s["values"] for s in b.get("settings") or []}
        swept = sorted(set(values_a) | set(values_b))
        out += [(f"sweep.{key}", values_a.get(key), values_b.get(key)) for key in swept]
    config_a = a.get("config") if isinstance(a.get("config"), dict) else configs[0]
    config_b = b.get("config") if isinstance(b.get("config"), dict) else configs[1]
    if isinstance(config_a, dict) and isinstance(config_b, dict):
        flat_a, flat_b = _flat_settings(config_a), _flat_settings(config_b)
        hidden = {k for key in swept for k in _config_keys_of_sweep(key)} | set(NOT_SETTINGS) | {"sweep"}
        keys = list(dict.fromkeys([*flat_a, *flat_b]))
        out += [(k, flat_a.get(k), flat_b.get(k)) for k in keys
                if not any(k == h or k.startswith(h + ".") for h in hidden)]
    return [dict(key=k, a=va, b=vb) for k, va, vb in out if _canonical(va) != _canonical(vb)]


def _canonical(value: Any) -> str:
    # 1 and 1.0 are the same setting; JSON text compares lists and dicts whole.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return json.dumps(value, sort_keys=True)
    return repr(float(value))


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _headline(name: str, heading: str, kind: str, a: Any, b: Any, a_interval=None, b_interval=None,
              **extra) -> dict[str, Any]:
    """One headline figure of both records: its change b - a (numbers) and whether it
    changed; the intervals are kept only when both records have one."""
    both = a_interval is not None and b_interval is not None
    return dict(**extra, name=name, heading=heading, kind=kind, a=a, b=b,
                delta=b - a if _number(a) and _number(b) else None,
                changed=_canonical(a) != _canonical(b),
                a_interval=list(a_interval) if both else None, b_interval=list(b_interval) if both else None)


def _tie_size(summary: dict[str, Any]) -> int | None:
    """How many programs share the MAP's score (within the tie margin) in a run summary
    or a sweep point; None where the record has no tie set (saved before ties were
    recorded, or nothing fits). The MAP program alone is the first of a tie in
    enumeration order, so a diff shows the tie beside it."""
    tie = summary.get("map_tie")
    return tie.get("program_count") if isinstance(tie, dict) else None


def _metric_kind(name: str) -> str:
    if name in sweeps.UNBOUNDED:
        return "count"
    return "mass" if name == "unenumerated_mass" else "share"


def _run_headlines(a: dict[str, Any], b: dict[str, Any], domains) -> tuple[str | None, list[dict[str, Any]]]:
    domain = domains.get(a["domain"])
    split = domain.sweep_split([a["config"]], None)
    out = [
        _headline("map_program", "MAP program", "text", a["summary"]["map_program"], b["summary"]["map_program"]),
        _headline("map_tie", "programs tied at the MAP's score", "count", _tie_size(a["summary"]),
                  _tie_size(b["summary"])),
        _headline("map_posterior", "MAP posterior", "share", a["summary"]["map_posterior"],
                  b["summary"]["map_posterior"]),
        _headline("programs", "programs judged", "count", a["enumeration"]["programs"], b["enumeration"]["programs"]),
        _headline("behaviours", "behaviours", "count", a["summary"]["behaviours"], b["summary"]["behaviours"]),
    ]
    metrics_a, metrics_b = sweeps.metrics(a, split, domain), sweeps.metrics(b, split, domain)
    for name, (heading, _, _) in sweeps.metrics_of(domain).items():
        # The whole-posterior figures come below, with their intervals.
        if name == "tail_share" or name.startswith("whole_"):
            continue
        out.append(_headline(name, heading, _metric_kind(name), metrics_a.get(name), metrics_b.get(name)))
    whole_a = {e["figure"]: e for e in estimates(_whole_dicts(a))}
    whole_b = {e["figure"]: e for e in estimates(_whole_dicts(b))}
    for figure in dict.fromkeys([*whole_a, *whole_b]):
        ea, eb = whole_a.get(figure) or {}, whole_b.get(figure) or {}
        out.append(_headline(f"whole_posterior.{figure}", f"{figure}, all programs", "share", ea.get("estimate"),
                             eb.get("estimate"), _span(ea), _span(eb)))
    return split, out


def _whole_dicts(record: dict[str, Any]) -> dict[str, Any]:
    """The whole-posterior estimates of a record's summary, without those inside lists
    (one per deployment step: the exported whole_posterior table has them)."""
    def strip(node):
        return {k: strip(v) for k, v in node.items() if not isinstance(v, list)} if isinstance(node, dict) else node
    return strip(record["summary"].get("whole_posterior") or {})


def _span(estimate: dict[str, Any]) -> list[float] | None:
    if estimate.get("low") is None or estimate.get("high") is None:
        return None
    return [estimate["low"], estimate["high"]]


def _setting_key(setting: dict[str, Any]) -> str:
    return json.dumps(setting, sort_keys=True)


def _sweep_headlines(a: dict[str, Any], b: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Headlines of every point both sweeps ran (matched by setting), and the points
    only one of them ran."""
    points_b = {_setting_key(p["setting"]): p for p in b["points"]}
    seen, out, unmatched = set(), [], []
    headings = {**b.get("metric_headings", {}), **a.get("metric_headings", {})}
    for pa in a["points"]:
        key = _setting_key(pa["setting"])
        seen.add(key)
        pb = points_b.get(key)
        if pb is None:
            unmatched.append(dict(point=pa["setting"], only_in="a"))
            continue
        where = dict(point=pa["setting"])
        out.append(_headline("map_program", "MAP program", "text", pa["map_program"], pb["map_program"], **where))
        out.append(_headline("map_tie", "programs tied at the MAP's score", "count", _tie_size(pa), _tie_size(pb),
                             **where))
        out.append(_headline("programs", "programs judged", "count", pa["programs"], pb["programs"], **where))
        spans_a, spans_b = pa.get("intervals") or {}, pb.get("intervals") or {}
        for name in dict.fromkeys([*pa["metrics"], *pb["metrics"]]):
            va, vb = pa["metrics"].get(name), pb["metrics"].get(name)
            if va is None and vb is None and name in set(a.get("tail_metrics", [])) | set(b.get("tail_metrics", [])):
                continue  # neither took tail samples
            out.append(_headline(name, headings.get(name, name), _metric_kind(name), va, vb,
                                 spans_a.get(name), spans_b.get(name), **where))
    unmatched += [dict(point=p["setting"], only_in="b") for p in b["points"] if _setting_key(p["setting"]) not in seen]
    return out, unmatched


def behaviour_changes(a: dict[str, Any], b: dict[str, Any], top: int) -> dict[str, Any]:
    """The behaviours (matched by key) whose posterior differs, largest change first:
    {changed: how many, shown: the first `top`}; a behaviour only one run has counts
    as 0 in the other."""
    in_a = {x["key"]: x for x in a["behaviours"]}
    in_b = {x["key"]: x for x in b["behaviours"]}
    rows = []
    for key in dict.fromkeys([*in_a, *in_b]):
        xa, xb = in_a.get(key), in_b.get(key)
        pa = xa["posterior"] if xa else None
        pb = xb["posterior"] if xb else None
        change = (pb or 0.0) - (pa or 0.0)
        if xa and xb and change == 0:
            continue
        rows.append(dict(key=key, program=(xb or xa)["program"], a=pa, b=pb, change=change,
                         status="both" if xa and xb else "only a" if xa else "only b"))
    rows.sort(key=lambda r: (-abs(r["change"]), r["key"]))
    return dict(changed=len(rows), shown=rows[:top])


def _identity(record: dict[str, Any]) -> dict[str, Any]:
    """Which run a record is: experiment, run directory and its provenance (None where a
    record saved before provenance was recorded has none)."""
    made = record.get("provenance") or {}
    return dict(experiment=record.get("experiment"), run=record.get("run"), created=made.get("created"),
                version=made.get("levinsearch"), commit=made.get("commit"))


def diff(a: dict[str, Any], b: dict[str, Any], top: int = 10, configs=(None, None), *, domains) -> dict[str, Any]:
    """Compare record `a` with record `b` (b - a): settings, headlines and behaviours.
    `configs`: the resolved configs of two sweeps (from their manifests), whose records
    hold none. `domains`: the registry two runs' domain is found in (its headline
    metrics; `levinsearch.domains`). DslError when the two cannot be compared."""
    check(a)
    check(b)
    if _kind(a) != _kind(b):
        raise DslError(f"cannot compare a {_kind(a)} with a {_kind(b)}: diff takes two runs or two sweeps "
                       "(a run with --seeds is a sweep of one point)")
    if a.get("domain") != b.get("domain"):
        raise DslError(f"cannot compare runs of different domains ({a.get('domain')} and {b.get('domain')})")
    if not isinstance(top, int) or isinstance(top, bool) or top < 0:
        raise DslError(f"top must be a whole number at least 0, got {top!r:.40}")
    out = dict(schema=SCHEMA, kind=_kind(a), domain=a["domain"], a=_identity(a), b=_identity(b),
               settings=settings_diff(a, b, configs))
    if a["schema"] == RUN_SCHEMA:
        out["split"], out["headlines"] = _run_headlines(a, b, domains)
        out["unmatched_points"] = []
        out["behaviours"] = behaviour_changes(a, b, top)
    else:
        out["split"] = a.get("split")
        out["headlines"], out["unmatched_points"] = _sweep_headlines(a, b)
        out["behaviours"] = None  # a sweep record keeps no behaviours (its points/ records do)
    out["changed"] = dict(settings=len(out["settings"]), headlines=sum(h["changed"] for h in out["headlines"]),
                          behaviours=out["behaviours"]["changed"] if out["behaviours"] else 0,
                          unmatched_points=len(out["unmatched_points"]))
    return out
