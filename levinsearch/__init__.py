"""levinsearch: simplicity-prior program search for inner-alignment experiments.

The Python API (see levinsearch.api and docs/python-api.md): `run`, `sweep` and
`load_run` return typed records (`RunRecord`, `SweepRecord`) with `to_json()`,
`report()` and `to_pandas()`; `__version__` is the installed version; `check_domain`
runs the conformance checks on a domain (levinsearch.conformance). Everything is
loaded on first use, so that importing the package (or its command line) stays light.
"""
__all__ = ["run", "sweep", "load_run", "RunRecord", "SweepRecord", "check_domain", "__version__"]


def __getattr__(name: str):
    if name == "__version__":
        from levinsearch.version import version
        return version()
    if name == "check_domain":
        from levinsearch.conformance import check_domain
        return check_domain
    if name in __all__:
        from levinsearch import api
        return getattr(api, name)
    raise AttributeError(f"module 'levinsearch' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The API (lazy, so not yet in the module's namespace) and the module's own names."""
    return sorted(set(__all__) | {name for name in globals() if not name.startswith("_") or name.startswith("__")})
