"""The registry of domains: each name maps to the module that defines its `DOMAIN`.

A domain is a package under `levinsearch/domains/` implementing `base.Domain` (config
section, grammar, prepare, fit and behaviour functions, record, report, sweep metrics,
show) on top of its `dsl/<name>/` package. Adding a domain is that package plus one
line here; nothing outside a domain's package branches on a domain's name.

A separately installed package adds a domain through the entry-point group
`levinsearch.domains` (NAME = "package.module:DOMAIN"; docs/architecture.md, "A domain
in its own package"). Plug-ins are found and imported on first use of `names()` or
`get()`, never when the package is imported. One that fails to import, fails the
interface checks or takes a built-in name is left out: `get` of its name raises one line
naming it, and `problems()` lists it, so the built-in domains always work.
Modules are imported on first use, so listing the names costs nothing.
"""
from __future__ import annotations

import importlib
from pathlib import Path

from dsl.errors import DslError

REGISTRY = {
    "grid": "levinsearch.domains.grid",
    "seq": "levinsearch.domains.seq",
    "tm": "levinsearch.domains.tm",
}
#: The domain of an experiment file that names none, and of `show --grid`.
DEFAULT = "grid"
#: The entry-point group through which installed packages add domains.
ENTRY_POINT_GROUP = "levinsearch.domains"

_plugins: dict[str, object] | None = None  # name -> the plug-in's Domain, once loaded
_problems: dict[str, str] = {}  # name -> why the plug-in of that name is left out


def _load_plugins() -> dict[str, object]:
    """Every plug-in domain that loads and passes the interface checks (once per process)."""
    global _plugins
    if _plugins is not None:
        return _plugins
    from importlib.metadata import entry_points
    _plugins = {}
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        where = f"plug-in domain {ep.name!r} ({ep.value})"
        if ep.name in REGISTRY:
            _problems[ep.name] = f"{where} left out: {ep.name!r} is a built-in domain; a plug-in cannot replace it"
            continue
        if ep.name in _plugins or ep.name in _problems:
            _problems[ep.name] = f"{where} left out: two installed packages declare a domain {ep.name!r}"
            _plugins.pop(ep.name, None)
            continue
        try:
            domain = ep.load()
        except Exception as exc:  # a plug-in's own bug must not stop the built-in domains
            text = " ".join(str(exc).split())[:160]
            _problems[ep.name] = f"{where} failed to load: {type(exc).__name__}: {text}"
            continue
        wrong = domain.interface_problems(ep.name) if _is_domain(domain) else [
            f"DOMAIN is an object of type {type(domain).__name__}, not an instance of levinsearch.domains.base.Domain"]
        if wrong:
            _problems[ep.name] = f"{where} left out: {'; '.join(wrong)}"
            continue
        _plugins[ep.name] = domain
    return _plugins


def _is_domain(value) -> bool:
    """Whether `value` is a `base.Domain`, told from its classes: the registry does not
    import `base` (which imports the engine, which imports the registry)."""
    return any(f"{c.__module__}.{c.__qualname__}" == "levinsearch.domains.base.Domain" for c in type(value).__mro__)


def names() -> tuple[str, ...]:
    """Registered domain names: the built-in ones in registry order, then the plug-ins
    that load, by name."""
    return tuple(REGISTRY) + tuple(_load_plugins())


def builtin_names() -> tuple[str, ...]:
    """The domains that ship with levinsearch (what the published schema names)."""
    return tuple(REGISTRY)


def problems() -> list[str]:
    """One line for each installed plug-in domain that is left out, and why."""
    _load_plugins()
    return [_problems[name] for name in sorted(_problems)]


def plugin_experiments() -> dict[str, Path]:
    """Experiment files the plug-in domains ship (`Domain.experiments_dir`), by name
    (file `a_b.toml` is experiment `a-b`)."""
    out = {}
    for domain in _load_plugins().values():
        if domain.experiments_dir is not None:
            out.update({p.stem.replace("_", "-"): p for p in sorted(domain.experiments_dir.glob("*.toml"))})
    return out


def get(name: str):
    """The domain called `name` (a `base.Domain`); DslError if there is none."""
    if name in REGISTRY:
        return importlib.import_module(REGISTRY[name]).DOMAIN
    plugins = _load_plugins()
    if name in plugins:
        return plugins[name]
    if name in _problems:
        raise DslError(_problems[name])
    raise DslError(f"unknown domain {name!r} (known: {', '.join(names())})")


def _offer_plugin_experiments() -> None:
    """Let `experiments.bundled()` list the plug-ins' experiments (read lazily)."""
    from levinsearch import experiments
    if plugin_experiments not in experiments.EXTRA_SOURCES:
        experiments.EXTRA_SOURCES.append(plugin_experiments)


_offer_plugin_experiments()
