"""levinsearch: simplicity-prior program search for inner-alignment experiments.

The Python API (see levinsearch.api): `run`, `sweep` and `load_run` return typed
records with `to_json()` and `report()`. Loaded on first use, so that importing the
package (or its command line) stays light.
"""
from __future__ import annotations

__all__ = ["run", "sweep", "load_run"]


def __getattr__(name: str):
    if name in __all__:
        from levinsearch import api
        return getattr(api, name)
    raise AttributeError(f"module 'levinsearch' has no attribute {name!r}")
