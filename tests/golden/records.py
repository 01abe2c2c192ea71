"""Golden run records of every bundled experiment, stored before a refactoring, and the
comparison that proves a later change left them unchanged.

    python tests/golden/records.py            # rewrite the stored records (only when a
                                              # change of results is intended; say why in
                                              # the commit)

A record is compared as JSON text (the CLI's `--json` layout) after `normalise`, which
drops what may differ between equivalent runs: wall-clock seconds (and the seconds spent
compiling kernels), where the run was
saved, where the experiment file lies, library versions and the provenance (version,
commit, time and command).

Fields added to records after the store was written are allowed (`restrict` drops them
before the comparison); every stored field must keep its value, and the fields of a
table keep their order.
"""
from __future__ import annotations

import gzip
import json
import math
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
STORE = HERE / "records"

#: Settings of each stored run; the defaults except where a run would take over a second.
OVERRIDES = {"incentives": dict(max_bits=24.0), "treacherous-turn": dict(max_bits=28.0),
             "treacherous-turn-stakes": dict(max_bits=28.0),
             "heuristics-red-door": dict(max_bits=24.0), "history-growth": dict(max_bits=25.0),
             "predict-and-act": dict(max_bits=18.0)}


def normalise(record: dict) -> dict:
    """The record without the fields that legitimately differ between equivalent runs."""
    record = json.loads(json.dumps(record, default=lambda v: v.tolist()))
    record.pop("run", None)
    record.pop("versions", None)
    record.pop("provenance", None)
    record["config"].pop("source", None)
    e = record["enumeration"]
    e.pop("seconds", None)
    e.pop("compile_seconds", None)  # wall-clock time, like `seconds`
    for row in e.get("per_length", []):
        row.pop("seconds", None)
    return record


def text(record: dict) -> str:
    return json.dumps(normalise(record), indent=1) + "\n"


def run(name: str) -> dict:
    """The record of bundled experiment `name` at its stored settings."""
    from levinsearch import domains, experiments, pipeline
    config = experiments.resolve(experiments.load(name), OVERRIDES.get(name, {}), domains=domains)
    return pipeline.execute(pipeline.prepare(config))


def stored(name: str) -> str:
    with gzip.open(STORE / f"{name}.json.gz", "rt") as f:
        return f.read()


def restrict(new, old):
    """`new` with only the dict keys that `old` has (recursively; lists item by item)."""
    if isinstance(new, dict) and isinstance(old, dict):
        return {k: restrict(new[k], old[k]) if k in old else new[k] for k in new if k in old}
    if isinstance(new, list) and isinstance(old, list) and len(new) == len(old):
        return [restrict(x, y) for x, y in zip(new, old)]
    return new


def first_difference(a, b, path: str = "") -> str | None:
    """Where two JSON values first differ (None: equal)."""
    if type(a) is not type(b):
        return f"{path or '/'}: {type(a).__name__} vs {type(b).__name__}"
    if isinstance(a, dict):
        if list(a) != list(b):
            return f"{path or '/'}: keys {list(a)} vs {list(b)}"
        for k in a:
            d = first_difference(a[k], b[k], f"{path}/{k}")
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: length {len(a)} vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{path}/{i}")
            if d:
                return d
        return None
    return None if a == b else f"{path}: {a!r} vs {b!r}"


def close(a, b, rel: float = 1e-12) -> bool:
    """Equal, except that floats may differ by `rel` (SIMD reductions on another CPU)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or math.isclose(a, b, rel_tol=rel, abs_tol=rel)
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(close(a[k], b[k], rel) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(close(x, y, rel) for x, y in zip(a, b))
    return a == b


def main() -> None:
    from levinsearch import experiments
    STORE.mkdir(exist_ok=True)
    for name in experiments.bundled():
        with gzip.GzipFile(STORE / f"{name}.json.gz", "wb", mtime=0) as f:
            f.write(text(run(name)).encode())
        print("stored", name, file=sys.stderr)


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent.parent))
    main()
