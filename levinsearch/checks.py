"""Checks of the records the tool reads back (`levinsearch report`, figures, `load_run`),
so that a hand-edited or damaged record gives one line naming the file and the field
instead of a crash, or numbers shown as if they were right (a posterior of -5, a
Kraft sum of inf).

A record must have a schema this version writes, match the published JSON Schema
(types, and the ranges it states: shares in [0, 1], counts and masses at least 0), and
keep the record's own arithmetic (fitting programs no more than those judged, the
summary's counts equal to the enumeration's, behaviour posteriors adding up to at most
1). The number parsing of `files.loads_json` already refuses NaN, infinities and
nesting deeper than the tool writes.
"""
from __future__ import annotations

import functools
import itertools
import json
import math
from typing import Any

from dsl.errors import DslError
from levinsearch.config import shown

RUN_SCHEMA = "levinsearch.run/1"
SWEEP_SCHEMA = "levinsearch.sweep/1"


@functools.lru_cache(maxsize=None)
def _validator(which: str):
    import jsonschema

    from levinsearch import types
    schema = json.loads(types.SCHEMA_PATH.read_text()) if which == RUN_SCHEMA else \
        {"$schema": "https://json-schema.org/draft/2020-12/schema", **types.json_schema(types.SweepRecord)}
    return jsonschema.Draft202012Validator(schema)


def _field(error) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "(the record)"


def _problem(error) -> str:
    """One short line for a JSON Schema error: what is wrong with which value."""
    kind, bound = error.validator, error.validator_value
    value = shown(error.instance)
    if kind == "type":
        want = " or ".join(bound) if isinstance(bound, list) else bound
        return f"{value} is not {'an' if str(want)[0] in 'aeiou' else 'a'} {want}"
    if kind == "minimum":
        return f"{value} is below {bound}"
    if kind == "maximum":
        return f"{value} is above {bound}"
    if kind == "required":
        return error.message.split("'")[1] + " is missing" if "'" in error.message else "a field is missing"
    if kind in ("enum", "const"):
        return f"{value} is not one of {shown(bound, 60)}"
    if kind == "anyOf":
        # A value of the right type but out of range says so (not "not null").
        ranged = [e for e in error.context if e.validator in ("minimum", "maximum")]
        return _problem(ranged[0]) if ranged else f"{value} is not a value this field can take"
    return error.message[:120]


def check_record(record: Any, where: str, domains) -> dict[str, Any]:
    """`record` if it is a run or sweep record this version can show, or a record of one
    of the `domains` (the registry, `levinsearch.domains`) that the domain accepts; else
    DslError naming `where` (the file) and the field."""
    if not isinstance(record, dict):
        raise DslError(f"{where}: not a levinsearch record")
    schema = record.get("schema")
    if schema == RUN_SCHEMA:
        from levinsearch.analyses.prediction import upgrade
        upgrade(record)  # prediction fields saved under the names seq and tm used before they shared one analysis
    if schema not in (RUN_SCHEMA, SWEEP_SCHEMA):
        if not isinstance(record.get("domain"), str) or record["domain"] not in domains.names():
            raise DslError(f"{where}: a record of schema {shown(schema)}; this levinsearch reads {RUN_SCHEMA}, "
                           f"{SWEEP_SCHEMA} and its domains' own")
        domains.get(record["domain"]).check_record(record, where)  # a domain's own kind of record
        return record
    validator = _validator(schema)
    if schema == RUN_SCHEMA and isinstance(record.get("domain"), str):
        if record["domain"] not in domains.builtin_names() and record["domain"] in domains.names():
            # A plug-in domain's record: the published schema names the built-in domains only.
            import jsonschema

            from levinsearch import conformance
            validator = jsonschema.Draft202012Validator(conformance.record_schema(domains.get(record["domain"])))
    errors = list(itertools.islice(validator.iter_errors(record), 20))
    if errors:
        best = min(errors, key=lambda e: len(e.absolute_path))  # the outermost problem first
        raise DslError(f"{where}: field {_field(best)}: {_problem(best)}")
    if schema == RUN_SCHEMA:
        _run_arithmetic(record, where)
    return record


def _run_arithmetic(record: dict[str, Any], where: str) -> None:
    e, s = record["enumeration"], record["summary"]

    def need(ok: bool, field: str, what: str) -> None:
        if not ok:
            raise DslError(f"{where}: field {field}: {what}")

    need(e["fitting"] <= e["programs"] <= e["total"], "enumeration",
         f"{e['fitting']:,} fitting of {e['programs']:,} judged of {e['total']:,} programs")
    need(e["complete_up_to_bits"] <= e["max_bits"] + 1e-9, "enumeration.complete_up_to_bits",
         "beyond max_bits")
    need(s["fitting"] == e["fitting"], "summary.fitting", "differs from enumeration.fitting")
    need(s["behaviours"] == len(record["behaviours"]), "summary.behaviours",
         f"{s['behaviours']:,}, but the record lists {len(record['behaviours']):,}")
    posterior = math.fsum(b["posterior"] for b in record["behaviours"])
    need(posterior <= 1 + 1e-6, "behaviours", f"posteriors add up to {posterior:.6g}, more than 1")
    need([h["rank"] for h in record["hypotheses"]] == list(range(1, len(record["hypotheses"]) + 1)),
         "hypotheses", "ranks are not 1, 2, 3, ...")
    tail = record.get("tail")
    if tail is not None:
        need(tail["judged"] <= tail["samples"] and tail["fitting"] <= tail["judged"], "tail",
             f"{tail['fitting']:,} fitting of {tail['judged']:,} judged of {tail['samples']:,} samples")
