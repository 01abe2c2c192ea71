"""What every experiment shares: the [search] and [grammar] tables, flag overrides of
them, and the small checks every domain's own settings use.

Experiment files are resolved in `levinsearch.experiments`, which hands the parts that
belong to one domain to that domain (`levinsearch.domains`).
"""
from __future__ import annotations

import math
from typing import Any, Mapping

from dsl.errors import DslError

ORDERS = ("length", "levin")
TIME_PENALTIES = ("log", "linear")
MAX_BITS_LIMIT = 48
#: Programs per batch unless set: a stop or a checkpoint happens between batches.
DEFAULT_BATCH_SIZE = 1 << 15

DEFAULT_SEARCH = dict(
    max_bits=20.0,
    order="length",
    length_weight=1.0,
    time_weight=0.0,
    time_penalty="log",
    fit_threshold=1.0,
    top=10,
    keep=1000,
    batch_size=DEFAULT_BATCH_SIZE,
)
#: Keys of [experiment] that every domain accepts.
EXPERIMENT_KEYS = {"name", "domain", "description", "seed"}
GRAMMAR_KEYS = {"ban", "bits", "cost", "profile"}


def number(value: Any, what: str, *, minimum: float | None = None, integer: bool = False) -> float:
    """`value` as a finite float (or int), or a DslError naming `what`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(value) if not integer else int(value)
        except (TypeError, ValueError):
            raise DslError(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(value):
        raise DslError(f"{what} must be finite, got {value!r}")
    if integer and value != int(value):
        raise DslError(f"{what} must be a whole number, got {value!r}")
    if minimum is not None and value < minimum:
        raise DslError(f"{what} must be >= {minimum:g}, got {value!r}")
    return int(value) if integer else float(value)


def check_keys(table: Mapping, allowed: set, where: str) -> None:
    """Reject a table that is not one, or that has a key not in `allowed`."""
    if not isinstance(table, Mapping):
        raise DslError(f"{where} must be a table")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise DslError(f"unknown key {unknown[0]!r} in {where} (allowed: {', '.join(sorted(allowed - {'_path'}))})")


def common_overrides(config: dict[str, Any], overrides: Mapping[str, Any]) -> list[str]:
    """Apply the flags every domain shares (search keys, seed, grammar); return their names."""
    flagged = []
    for key in DEFAULT_SEARCH:
        if key in overrides:
            config["search"][key] = overrides[key]
            flagged.append(key)
    if "seed" in overrides:
        config["seed"] = overrides["seed"]
        flagged.append("seed")
    if overrides.get("profile"):
        config["grammar"]["profile"] = overrides["profile"]
        flagged.append("profile")
    if overrides.get("ban"):
        config["grammar"]["ban"] += [b for b in overrides["ban"] if b not in config["grammar"]["ban"]]
        flagged.append("ban")
    for key in ("bits", "cost"):
        if overrides.get(key):
            config["grammar"][key].update(overrides[key])
            flagged.append(key)
    return flagged


def analysis_overrides(config: dict[str, Any], overrides: Mapping[str, Any], defaults: Mapping[str, Any]) -> list[str]:
    """Apply flags that set [analysis] keys; return their names."""
    flagged = []
    for key in defaults:
        if key in overrides:
            config["analysis"][key] = overrides[key]
            flagged.append(key)
    return flagged


def validate_search(config: dict[str, Any]) -> None:
    """The search and grammar settings every domain shares."""
    s = config["search"]
    s["max_bits"] = number(s["max_bits"], "max_bits", minimum=0)
    if not 0 < s["max_bits"] <= MAX_BITS_LIMIT:
        raise DslError(f"max_bits must be in (0, {MAX_BITS_LIMIT}], got {s['max_bits']:g}")
    if s["order"] not in ORDERS:
        raise DslError(f"order must be one of {', '.join(ORDERS)}, got {s['order']!r}")
    if s["time_penalty"] not in TIME_PENALTIES:
        raise DslError(f"time_penalty must be one of {', '.join(TIME_PENALTIES)}, got {s['time_penalty']!r}")
    s["length_weight"] = number(s["length_weight"], "length_weight", minimum=0)
    s["time_weight"] = number(s["time_weight"], "time_weight", minimum=0)
    if s["length_weight"] == 0 and s["time_weight"] == 0:
        raise DslError("length_weight and time_weight cannot both be 0: every program would score 0")
    s["fit_threshold"] = number(s["fit_threshold"], "fit_threshold")
    if not 0 < s["fit_threshold"] <= 1:
        raise DslError(f"fit_threshold must be in (0, 1], got {s['fit_threshold']:g}")
    s["top"] = number(s["top"], "top", minimum=1, integer=True)
    s["keep"] = number(s["keep"], "keep", minimum=1, integer=True)
    s["batch_size"] = number(s["batch_size"], "batch_size", minimum=1, integer=True)
    config["seed"] = number(config["seed"], "seed", minimum=0, integer=True)
    for name in config["grammar"]["ban"]:
        if not isinstance(name, str):
            raise DslError(f"ban entries must be primitive names, got {name!r}")


def consensus_lists(a: dict[str, Any]) -> None:
    """consensus_top: whole numbers >= 1; epsilon in [0, 1); alpha in (0, 1]."""
    for key, ok, text in (("consensus_top", lambda v: v >= 1, ">= 1"), ("consensus_epsilon", lambda v: 0 <= v < 1,
                          "in [0, 1)"), ("consensus_alpha", lambda v: 0 < v <= 1, "in (0, 1]")):
        values = a[key] if isinstance(a[key], list) else [a[key]]
        a[key] = [number(v, key, integer=key == "consensus_top") for v in values]
        if not all(ok(v) for v in a[key]):
            raise DslError(f"{key} values must be {text}, got {a[key]}")


def parse_assignment(text: str, what: str) -> tuple[str, str]:
    """'NAME=VALUE' from a flag."""
    if "=" not in text:
        raise DslError(f"{what} takes NAME=VALUE, got {text!r}")
    name, value = text.split("=", 1)
    if not name.strip():
        raise DslError(f"{what} takes NAME=VALUE, got {text!r}")
    return name.strip(), value.strip()
