"""Experiment files (TOML): finding, loading, defaults, flag overrides and validation.

An experiment resolves to one plain dict (`resolve`, typed as `levinsearch.types.Config`),
recorded whole in every run's
output, so a run can always be repeated from what it printed. The shared tables
([experiment], [search], [grammar]) are resolved here; the rest by the experiment's
domain. The domains come from the caller (`domains`: the registry,
`levinsearch.domains`, or anything with its `names()`, `get(name)` and `DEFAULT`): this
module sits below the registry and never imports it.
"""
from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Mapping, cast

from dsl.errors import DslError
from levinsearch.files import loads_toml, read_text
from levinsearch.config import (DEFAULT_SEARCH, EXPERIMENT_KEYS, GRAMMAR_KEYS, MAX_SEED, MAX_SEEDS, PRIOR_KEYS,
                                SMOOTH_SEARCH, check_keys, check_overrides, names_list, number, number_table,
                                prior_setting, resolve_confidence)
from levinsearch.types import Config

DEFAULT_EXPERIMENT = "red-door"
#: Where more experiments come from, asked after the bundled ones: the registry adds
#: its plug-in domains' (levinsearch.domains.plugin_experiments) when it is imported,
#: since this module sits below the registry and never imports it.
EXTRA_SOURCES: list[Callable[[], Mapping[str, Path]]] = []
MAX_FILE = 1 << 20  # bytes


def bundled_dir() -> Path:
    """Where the bundled experiment files are: `levinsearch/bundled/` in an installed wheel
    (package data, mapped from `experiments/` by pyproject.toml), else the source tree's
    top-level `experiments/` (a checkout or an editable install)."""
    installed = Path(str(resources.files("levinsearch"))) / "bundled"
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parent.parent / "experiments"


def bundled() -> dict[str, Path]:
    """Bundled experiments by name (file `red_door.toml` is experiment `red-door`), then
    those plug-in domains ship (a bundled experiment's name is not taken from it)."""
    where = bundled_dir()
    out = {p.stem.replace("_", "-"): p for p in sorted(where.glob("*.toml"))} if where.is_dir() else {}
    for source in EXTRA_SOURCES:
        for name, path in source().items():
            out.setdefault(name, path)
    return out


def find(name_or_path: str) -> Path:
    """The TOML file for a bundled experiment name or a path."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise DslError(f"no experiment file {name_or_path}")
        return path
    known = bundled()
    key = name_or_path.replace("_", "-")
    if key not in known:
        raise DslError(
            f"unknown experiment {name_or_path!r} (bundled: {', '.join(known) or 'none'}; "
            "or give a path to a .toml file)"
        )
    return known[key]


def load(name_or_path: str) -> dict[str, Any]:
    """Parse an experiment file into a raw dict (not yet resolved)."""
    path = find(name_or_path)
    raw = loads_toml(read_text(path, "experiment file", MAX_FILE), str(path))
    if not isinstance(raw.get("experiment", {}), Mapping):
        raise DslError(f"{path}: [experiment] must be a table")
    raw.setdefault("experiment", {}).setdefault("name", path.stem.replace("_", "-"))
    raw["_path"] = str(path)
    return raw


#: The header fields of a bundled experiment file (comment lines before the tables).
HEADER_FIELDS = ("Question", "Source", "Expectation", "Outcome", "Run")


def question(name_or_path: str) -> str:
    """The question an experiment file asks: the first sentence of its header's
    `# Question:` paragraph ("" when it has none). Read from the comments, so it is not
    part of the config and no record holds it."""
    text = read_text(find(name_or_path), "experiment file", MAX_FILE)
    paragraph: list[str] = []
    for line in text.splitlines():
        if not line.startswith("#"):
            if paragraph or line.strip().startswith("["):
                break
            continue
        body = line.lstrip("#").strip()
        if paragraph and (not body or any(body.startswith(f + ":") for f in HEADER_FIELDS)):
            break
        if paragraph or body.startswith("Question:"):
            paragraph.append(body.removeprefix("Question:").strip())
    words = " ".join(paragraph).split()
    for k, word in enumerate(words):  # the first sentence: up to the first word that ends one
        if word.endswith(("?", ".", "!")):
            return " ".join(words[: k + 1])
    return " ".join(words)


def domain_of(raw: Mapping[str, Any], domains):
    """The domain an experiment file names ([experiment] domain; default
    `domains.DEFAULT`), looked up in the registry `domains`."""
    exp = raw.get("experiment", {})
    name = exp.get("domain", domains.DEFAULT) if isinstance(exp, Mapping) else domains.DEFAULT
    return domains.get(str(name))


def resolve(raw: Mapping[str, Any], overrides: Mapping[str, Any] | None = None, *, domains,
            domain=None) -> Config:
    """Defaults, then the file, then flags; validated. Returns the resolved config.
    `domains`: the registry the experiment's domain is found in (`levinsearch.domains`);
    `domain`: the experiment's domain object itself (default: the one `domains` has under
    the name the file gives; `levinsearch.check_domain` passes one that may not be
    registered).

    `overrides` keys: any search key (max_bits, order, ...), seed, ban (list, added),
    bits/cost (dicts, merged), and the flags of the experiment's domain (grid:
    train_envs, test_envs, horizon; seq: train_terms, deploy_terms) and its analysis keys.
    """
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None and v != () and v != {}}
    check_overrides(overrides)
    domain = domain_of(raw, domains) if domain is None else domain
    shared = set(DEFAULT_SEARCH) | set(SMOOTH_SEARCH) | {"seed", "seeds", "confidence", "ban", "bits", "cost", "profile",
                                                        *PRIOR_KEYS}
    # The other domains are loaded only to name a flag that is not this one's: a run of
    # one domain does not import the others (nor their DSLs).
    if set(overrides) - shared - set(domain.flag_keys) - set(domain.default_analysis):
        known = shared | _all_domain_flags(domains) | set(domain.flag_keys) | set(domain.default_analysis)
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise DslError(f"unknown setting {unknown[0]!r} (known: {', '.join(sorted(known))})")
        foreign = sorted(k for k in overrides
                         if k in _all_domain_flags(domains) - domain.flag_keys - set(domain.default_analysis))
        raise DslError(f"--{foreign[0].replace('_', '-')} does not apply to {domain.name} experiments")
    check_keys(raw, {"experiment", "search", "grammar", "analysis", "_path"} | set(domain.sections), "the file")
    exp = dict(raw.get("experiment", {}))
    check_keys(exp, EXPERIMENT_KEYS | set(domain.experiment_keys), "[experiment]")
    search = dict(DEFAULT_SEARCH)
    file_search = dict(raw.get("search", {}))
    check_keys(file_search, set(DEFAULT_SEARCH) | set(SMOOTH_SEARCH), "[search]")
    search.update(file_search)
    gram = dict(raw.get("grammar", {}))
    check_keys(gram, GRAMMAR_KEYS, "[grammar]")
    config: dict[str, Any] = {
        "name": str(exp.get("name", "experiment")),
        "domain": domain.name,
        "description": str(exp.get("description", "")).strip(),
        "source": raw.get("_path"),
        "seed": exp.get("seed", 0),
        **domain.header_fields(exp),
        "search": search,
        "grammar": {
            "ban": names_list(gram.get("ban", []), "[grammar] ban"),
            "bits": number_table(gram.get("bits", {}), "[grammar] bits"),
            "cost": number_table(gram.get("cost", {}), "[grammar] cost", integer=True),
            # Recorded only when chosen, so that default runs keep their records.
            **({"profile": gram["profile"]} if "profile" in gram else {}),
        },
    }
    seeds = overrides.get("seeds", exp.get("seeds", 1))
    # The prior ensemble's keys are every domain's: taken out of [analysis] before the
    # domain checks its own keys, and put back (when an ensemble is asked for) after.
    prior: dict[str, Any] = {}
    if isinstance(raw.get("analysis"), Mapping) and any(k in raw["analysis"] for k in PRIOR_KEYS):
        analysis = dict(raw["analysis"])
        prior = {k: analysis.pop(k) for k in PRIOR_KEYS if k in analysis}
        raw = {**raw, "analysis": analysis}
    config = domain.resolve(raw, config, {k: v for k, v in overrides.items() if k not in PRIOR_KEYS})
    chosen = sorted(set(SMOOTH_SEARCH) & set(config["search"]))
    # A smoothing flag at its default leaves no trace: the record is the one without it.
    config["flags"] = [f for f in config["flags"] if f not in SMOOTH_SEARCH or f in config["search"]]
    if chosen and not domain.smoothing:
        raise DslError(f"{chosen[0]} applies only to experiments whose domain perturbs its instances (grid), "
                       f"not to {domain.name}")
    prior_setting(config, prior, overrides)
    config["seeds"] = number(seeds, "seeds", minimum=1, maximum=MAX_SEEDS, integer=True)
    if config["seed"] + config["seeds"] - 1 > MAX_SEED:
        raise DslError(f"seeds {config['seeds']} from seed {config['seed']} would go past the largest seed, "
                       f"{MAX_SEED} (seed + seeds - 1 must be at most that)")
    if config["seeds"] == 1:
        del config["seeds"]  # recorded only when several: single runs keep their records
    elif "seeds" in overrides:
        config["flags"].append("seeds")
    resolve_confidence(config, exp, overrides)
    # Built key by key above (shared header, the domain's tables, seeds, confidence) and
    # validated; from here on it is typed. Still a plain dict: records keep their JSON.
    return cast(Config, config)


def raw_of(config: Config, *, domains) -> dict[str, Any]:
    """The experiment file (as a raw dict) that resolves to a resolved `config`: its
    [experiment] header, the shared tables and the domain's own tables. `resolve(raw_of(c))`
    gives `c` back (apart from `flags` and `source`); that is how a saved run's config is
    checked before it is resumed. `domains`: the registry its domain is found in."""
    domain = domains.get(str(config["domain"]))
    exp = {k: config[k] for k in ("name", "domain", "description", "seed", "seeds", "confidence",
                                  *domain.experiment_keys)
           if k in config}
    raw = {"experiment": exp, "search": config["search"], "grammar": config["grammar"],
           "analysis": config["analysis"], **domain.raw_tables(config)}
    if config.get("source"):
        raw["_path"] = config["source"]
    return copy.deepcopy(raw)


def seed_configs(config: Config) -> list[Config]:
    """The single-seed configs of a resolved config: seeds seed, seed + 1, ... (one when
    `seeds` is not set)."""
    n = config.get("seeds", 1)
    out: list[Config] = []
    for k in range(n):
        single = cast(Config, copy.deepcopy({key: value for key, value in config.items() if key != "seeds"}))
        single["seed"] = config["seed"] + k
        out.append(single)
    return out


def _all_domain_flags(domains) -> set[str]:
    """Every domain's own flags (a flag of another domain is an error, not ignored)."""
    out: set[str] = set()
    for name in domains.names():
        d = domains.get(name)
        out |= set(d.flag_keys) | set(d.default_analysis)
    return out
