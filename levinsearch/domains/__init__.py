"""The registry of domains: each name maps to the module that defines its `DOMAIN`.

A domain is a package under `levinsearch/domains/` implementing `base.Domain` (config
section, grammar, prepare, fit and behaviour functions, record, report, sweep metrics,
show) on top of its `dsl/<name>/` package. Adding a domain is that package plus one
line here; nothing outside a domain's package branches on a domain's name.
Modules are imported on first use, so listing the names costs nothing.
"""
from __future__ import annotations

import importlib

from dsl.errors import DslError

REGISTRY = {
    "grid": "levinsearch.domains.grid",
    "seq": "levinsearch.domains.seq",
    "tm": "levinsearch.domains.tm",
}
#: The domain of an experiment file that names none, and of `show --grid`.
DEFAULT = "grid"


def names() -> tuple[str, ...]:
    """Registered domain names, in registry order."""
    return tuple(REGISTRY)


def get(name: str):
    """The domain called `name` (a `base.Domain`); DslError if there is none."""
    if name not in REGISTRY:
        raise DslError(f"unknown domain {name!r} (known: {', '.join(REGISTRY)})")
    return importlib.import_module(REGISTRY[name]).DOMAIN
