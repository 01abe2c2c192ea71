"""Every table of a run or sweep record, as flat rows of scalars; the record as pandas
DataFrames (`to_pandas`) and as files (`write_tables`, behind `levinsearch export`).

A row is a dict of scalars (str, int, float, bool or None). Nested tables of a record
become dotted column names (`test.blue_doors.base`); lists become their JSON text
(`[10, 17, 26]`). Which tables a record has depends on what it holds: see
docs/export.md for their names and columns. Reads the record only; knows no domain by
name (a grid run has `splits` because its summary has splits).
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from dsl.errors import DslError
from levinsearch import types
from levinsearch.files import make_directory, write_atomic
from levinsearch.sweeps import SCHEMA as SWEEP_SCHEMA

RUN_SCHEMA = "levinsearch.run/1"
FORMATS = ("csv", "parquet", "json")
EXTRA_HINT = "pip install 'levinsearch[table]'"
ESTIMATE_KEYS = frozenset(types.Estimate.__annotations__)
#: Columns of a table that has no rows (a run where nothing fitted): the fields every
#: domain's rows share, from levinsearch.types.
EMPTY_COLUMNS = {
    "behaviours": list(types.Behaviour.__annotations__),
    "hypotheses": list(types.Hypothesis.__annotations__),
    "per_length": list(types.PerLength.__annotations__),
    "tail_lengths": list(types.TailLength.__annotations__),
    "tail_largest": list(types.TailBehaviour.__annotations__),
}

Row = dict[str, Any]


def is_sweep(record: dict[str, Any]) -> bool:
    """Whether `record` is a sweep record (a multi-seed run is one too)."""
    return record.get("schema") == SWEEP_SCHEMA


def check(record: Any) -> None:
    """DslError unless `record` is a run or sweep record (a census record has no tables)."""
    if not isinstance(record, dict) or record.get("schema") not in (RUN_SCHEMA, SWEEP_SCHEMA):
        schema = record.get("schema") if isinstance(record, dict) else type(record).__name__
        raise DslError(f"not a levinsearch run or sweep record (schema {schema!r:.60})")


def scalar(value: Any) -> Any:
    """A cell: scalars as they are, lists (and anything else) as JSON text."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    return json.dumps(value)


def flatten(value: dict[str, Any], prefix: str = "") -> Row:
    """A nested dict as one flat row: {"a": {"b": 1}, "c": [1, 2]} -> {"a.b": 1, "c": "[1, 2]"}."""
    out: Row = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, dict):
            out.update(flatten(item, name + "."))
        else:
            out[name] = scalar(item)
    return out


def columns(name: str, rows: list[Row]) -> list[str]:
    """A table's columns: every key of its rows, in the order first seen (a table with
    no rows: the columns every domain's rows have, where the types name them)."""
    if not rows:
        return list(EMPTY_COLUMNS.get(name, []))
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row))
    return list(seen)


def estimates(node: Any, path: str = "") -> list[Row]:
    """Every whole-posterior estimate (a dict of exact, estimate, low, high) under
    `node`, named by its dotted path."""
    if isinstance(node, dict):
        if set(node) == ESTIMATE_KEYS:
            return [dict(figure=path, **{k: node[k] for k in ("exact", "estimate", "low", "high")})]
        items = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return []
    out = []
    for key, item in items:
        out += estimates(item, f"{path}.{key}" if path else str(key))
    return out


def _whole(estimate: Any) -> Row:
    """The whole-posterior columns of a row: whole.exact, whole.estimate, whole.low, whole.high."""
    if not isinstance(estimate, dict):
        return {}
    return {f"whole.{k}": estimate.get(k) for k in ("exact", "estimate", "low", "high")}


def _split_tables(summary: dict[str, Any]) -> dict[str, list[Row]]:
    """splits (one row per test split), classes (split x outcome class) and outcomes
    (split x outcome), with the whole-posterior estimate of each when there is one."""
    splits = summary.get("splits")
    if not isinstance(splits, dict) or not splits:
        return {}
    whole_splits = (summary.get("whole_posterior") or {}).get("splits") or {}
    rows, classes, outcomes = [], [], []
    for split, body in splits.items():
        rows.append(dict(split=split, **flatten(body)))
        whole = whole_splits.get(split) or {}
        for name, cls in (body.get("classes") or {}).items():
            classes.append(dict(split=split, **{"class": name}, **flatten(cls),
                                **_whole((whole.get("classes") or {}).get(name))))
        for name, mass in (body.get("outcome_mass") or {}).items():
            outcomes.append(dict(split=split, outcome=name, mass=mass,
                                 dominant_mass=(body.get("dominant_mass") or {}).get(name),
                                 dominant_count=(body.get("dominant_count") or {}).get(name),
                                 **_whole((whole.get("outcome") or {}).get(name))))
    return dict(splits=rows, classes=classes, outcomes=outcomes)


def _run_tables(record: dict[str, Any]) -> dict[str, list[Row]]:
    summary = record.get("summary") or {}
    enumeration = record.get("enumeration") or {}
    out = dict(
        behaviours=[flatten(b) for b in record.get("behaviours", [])],
        hypotheses=[flatten(h) for h in record.get("hypotheses", [])],
        summary=[flatten(summary)],
        config=[flatten(record.get("config") or {})],
        enumeration=[flatten({k: v for k, v in enumeration.items() if k != "per_length"})],
        per_length=[flatten(p) for p in enumeration.get("per_length", [])],
    )
    out.update(_split_tables(summary))
    if summary.get("whole_posterior"):
        out["whole_posterior"] = estimates(summary["whole_posterior"])
    tail = record.get("tail")
    if tail:
        out["tail"] = [flatten({k: v for k, v in tail.items() if k not in ("per_length", "largest")})]
        out["tail_lengths"] = [flatten(p) for p in tail.get("per_length", [])]
        out["tail_largest"] = [flatten(b) for b in tail.get("largest", [])]
    return out


def _tie_count(tie: Any) -> int | None:
    """Programs sharing the MAP's score (a sweep point's `map_tie`), None without one."""
    return tie.get("program_count") if isinstance(tie, dict) else None


def _sweep_tables(record: dict[str, Any]) -> dict[str, list[Row]]:
    points, seeds = [], []
    for k, point in enumerate(record.get("points", []), 1):
        setting = {f"setting.{key}": scalar(value) for key, value in (point.get("setting") or {}).items()}
        metrics = point.get("metrics") or {}
        row = dict(point=k, **setting, map_program=point.get("map_program"), map_tie=_tie_count(point.get("map_tie")),
                   **metrics)
        intervals = point.get("intervals")
        if intervals is not None:
            for name, span in intervals.items():
                row[f"{name}.low"], row[f"{name}.high"] = span if span is not None else (None, None)
        row.update(programs=point.get("programs"), seconds=point.get("seconds"),
                   interrupted=point.get("interrupted"))
        if "seeds" in point:
            row["seeds"] = scalar(point["seeds"])
        points.append(row)
        per_seed = point.get("per_seed")
        if per_seed:
            labels = point.get("seeds") or []
            maps = point.get("map_programs") or []
            ties = point.get("map_ties") or []
            for i in range(max(len(v) for v in per_seed.values())):
                seeds.append(dict(point=k, **setting, seed=labels[i] if i < len(labels) else None,
                                  map_program=maps[i] if i < len(maps) else None,
                                  map_tie=_tie_count(ties[i] if i < len(ties) else None),
                                  **{name: values[i] if i < len(values) else None
                                     for name, values in per_seed.items()}))
    headings = record.get("metric_headings") or {}
    descriptions = record.get("metric_descriptions") or {}
    tabled = set(record.get("columns") or [])
    needs_tail = set(record.get("tail_metrics") or [])
    out = dict(points=points)
    if seeds:
        out["seeds"] = seeds
    out["metrics"] = [dict(metric=name, heading=heading, description=descriptions.get(name),
                           in_table=name in tabled, needs_tail=name in needs_tail)
                      for name, heading in headings.items()]
    distances = []
    for measure, matrix in (record.get("distances") or {}).items():
        for i, line in enumerate(matrix):
            for j in range(i + 1, len(line)):
                distances.append(dict(measure=measure, a=i + 1, b=j + 1, distance=line[j]))
    if distances:
        out["distances"] = distances
    return out


def record_tables(record: dict[str, Any]) -> dict[str, list[Row]]:
    """Every table of a run or sweep record: {name: rows}, each row a flat dict of
    scalars. A run: behaviours, hypotheses, summary, config, enumeration, per_length,
    and where the record has them splits, classes, outcomes, whole_posterior, tail,
    tail_lengths, tail_largest. A sweep (or multi-seed run): points, seeds (per-seed
    values), metrics and distances."""
    check(record)
    return _sweep_tables(record) if is_sweep(record) else _run_tables(record)


def default_table(record: dict[str, Any]) -> str:
    return "points" if is_sweep(record) else "behaviours"


def select(record: dict[str, Any], name: str | None = None) -> tuple[str, list[Row]]:
    """One table of a record by name (default: behaviours of a run, points of a sweep);
    ValueError naming the tables the record has when it has no such table."""
    tables = record_tables(record)
    name = default_table(record) if name is None else name
    if name not in tables:
        kind = "sweep" if is_sweep(record) else "run"
        raise ValueError(f"no table {name!r} in this {kind} record; its tables: {', '.join(tables)}")
    return name, tables[name]


def to_pandas(record: dict[str, Any], table: str | None = None):
    """A table of a record as a pandas DataFrame (default: behaviours of a run, points
    of a sweep). Needs pandas (the `table` extra)."""
    name, rows = select(record, table)
    try:
        import pandas as pd
    except ImportError:
        raise ImportError(f"to_pandas needs pandas: {EXTRA_HINT}") from None
    return pd.DataFrame(rows, columns=columns(name, rows))


# ------------------------------------------------------------------ files
def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back as the same float
    return str(value)


def csv_text(name: str, rows: list[Row]) -> str:
    """A table as CSV: a header of its columns, then one line per row (None: empty;
    booleans: true/false)."""
    cols = columns(name, rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(cols)
    for row in rows:
        writer.writerow([_csv_cell(row.get(c)) for c in cols])
    return buffer.getvalue()


def json_text(name: str, rows: list[Row]) -> str:
    """A table as a JSON list of rows, every row with every column (None where absent)."""
    cols = columns(name, rows)
    return json.dumps([{c: row.get(c) for c in cols} for row in rows], indent=1) + "\n"


def parquet_bytes(name: str, rows: list[Row]) -> bytes:
    """A table as a Parquet file (needs pyarrow). A column whose values have no common
    type (text in some rows, numbers in others) is written as text."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise DslError(f"--format parquet needs pyarrow: {EXTRA_HINT}") from None
    arrays = {}
    for col in columns(name, rows):
        values = [row.get(col) for row in rows]
        try:
            arrays[col] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arrays[col] = pa.array([None if v is None else v if isinstance(v, str) else json.dumps(v)
                                    for v in values], type=pa.string())
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table(arrays), sink)
    return sink.getvalue().to_pybytes()


def write_tables(record: dict[str, Any], directory: Path, fmt: str) -> list[tuple[Path, int]]:
    """Write every table of `record` into `directory` (created if missing), one file
    per table named TABLE.FORMAT; returns (path, rows) of each file written."""
    if fmt not in FORMATS:
        raise DslError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    tables = record_tables(record)
    if fmt == "parquet":
        parquet_bytes("", [])  # pyarrow missing: say so before anything is written
    directory = make_directory(directory)
    written = []
    for name, rows in tables.items():
        path = directory / f"{name}.{fmt}"
        data = dict(csv=csv_text, json=json_text, parquet=parquet_bytes)[fmt](name, rows)
        write_atomic(path, data)
        written.append((path, len(rows)))
    return written
