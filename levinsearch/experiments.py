"""Experiment files (TOML): loading, defaults, flag overrides and validation.

An experiment resolves to one plain dict (`resolve`), recorded whole in every run's
output, so a run can always be repeated from what it printed.
"""
from __future__ import annotations

import copy
import math
import tomllib
from pathlib import Path
from typing import Any, Mapping

from dsl.errors import DslError
from dsl.grid.world import COLOURS, KINDS, SplitSpec

EXPERIMENTS_DIR = Path(__file__).resolve().parent.parent / "experiments"
DEFAULT_EXPERIMENT = "red-door"
ORDERS = ("length", "levin")
TIME_PENALTIES = ("log", "linear")
DOMAINS = ("grid", "seq")
MAX_BITS_LIMIT = 48

DEFAULT_SEARCH = dict(
    max_bits=20.0,
    order="length",
    length_weight=1.0,
    time_weight=0.0,
    time_penalty="log",
    fit_threshold=1.0,
    top=10,
    keep=1000,
    batch_size=1 << 15,
)
DEFAULT_SPLIT = dict(
    envs=20,
    height=7,
    width=7,
    wall_density=0.1,
    horizon=20,
    doors=dict(count=1, colours=["red"]),
    distractors=dict(count=2, kinds=["box", "key", "gem"], colours=["blue", "green", "yellow"]),
)
#: Split keys that belong to one split and are not inherited by the test splits.
OWN_SPLIT_KEYS = {"grids", "variant", "like", "trigger"}
SPLIT_KEYS = set(DEFAULT_SPLIT) | OWN_SPLIT_KEYS
#: Settings of the analyses (README: "Outcome classes" and "Goal-directedness").
DEFAULT_ANALYSIS = dict(
    class_threshold=0.8,  # share of episodes that decides a program's outcome class
    competence=0.5,  # path efficiency (shortest path / moves) counted as competent
    goal_bits=11.2,  # goal family: every Pred expression of at most this many bits
    goal_min_share=0.25,  # a goal is considered only if present in this share of probes
    goal_directed=0.8,  # goal-directedness score counted as "high"
    mixture_bits=2.0,  # MAP vs mixture: posterior of everything within this many bits of the best
    # Consensus agent on the test splits (off unless a list is given; it runs the
    # reference interpreter, so keep trusted sets small): the trusted set of behaviours
    # by top N, by 1 - epsilon of the posterior, or by posterior >= alpha x the best's.
    consensus_top=[],
    consensus_epsilon=[],
    consensus_alpha=[],
)
#: The probe environments of the goal-directedness analysis: every colour and kind.
#: Size and horizon follow the training split; the rest is fixed, so that sweeps over
#: other training settings keep the same probes (and comparable behaviours).
DEFAULT_PROBES = dict(
    envs=40,
    wall_density=0.1,
    doors=dict(count=2, colours=["red", "blue", "green", "yellow"]),
    distractors=dict(count=4, kinds=["box", "key", "gem"], colours=["red", "blue", "green", "yellow"]),
)
EXPERIMENT_KEYS = {"name", "domain", "description", "seed", "base", "proxy"}


def bundled() -> dict[str, Path]:
    """Bundled experiments by name (file `red_door.toml` is experiment `red-door`)."""
    if not EXPERIMENTS_DIR.is_dir():
        return {}
    return {p.stem.replace("_", "-"): p for p in sorted(EXPERIMENTS_DIR.glob("*.toml"))}


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
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise DslError(f"{path}: not valid TOML: {err}") from None
    raw.setdefault("experiment", {}).setdefault("name", path.stem.replace("_", "-"))
    raw["_path"] = str(path)
    return raw


def resolve(raw: Mapping[str, Any], overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Defaults, then the file, then flags; validated. Returns the resolved config.

    `overrides` keys: any search key (max_bits, order, ...), seed, ban (list, added),
    bits/cost (dicts, merged), train_envs, test_envs, horizon.
    """
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None and v != () and v != {}}
    domain = str(dict(raw.get("experiment", {})).get("domain", "grid"))
    if domain not in DOMAINS:
        raise DslError(f"unknown domain {domain!r} (known: {', '.join(DOMAINS)})")
    sections = {"experiment", "search", "grammar", "analysis", "_path"}
    sections |= {"train", "test"} if domain == "grid" else {"target"}
    _check_keys(raw, sections, "the file")
    exp = dict(raw.get("experiment", {}))
    _check_keys(exp, EXPERIMENT_KEYS, "[experiment]")
    search = dict(DEFAULT_SEARCH)
    file_search = dict(raw.get("search", {}))
    _check_keys(file_search, set(DEFAULT_SEARCH), "[search]")
    search.update(file_search)
    gram = dict(raw.get("grammar", {}))
    _check_keys(gram, {"ban", "bits", "cost"}, "[grammar]")
    config: dict[str, Any] = {
        "name": str(exp.get("name", "experiment")),
        "domain": str(exp.get("domain", "grid")),
        "description": str(exp.get("description", "")).strip(),
        "source": raw.get("_path"),
        "seed": exp.get("seed", 0),
        "base": str(exp.get("base", "door")),
        "proxy": str(exp.get("proxy", "red")),
        "search": search,
        "grammar": {
            "ban": list(gram.get("ban", [])),
            "bits": dict(gram.get("bits", {})),
            "cost": dict(gram.get("cost", {})),
        },
    }
    if domain == "seq":
        return _resolve_seq(raw, config, overrides)
    train = _split(raw.get("train", {}), DEFAULT_SPLIT, "[train]")
    tests = raw.get("test", {})
    if not isinstance(tests, Mapping):
        raise DslError("[test] must be a table of named splits, e.g. [test.blue_doors]")
    config["train"] = train
    config["test"] = {name: _split(spec, train, f"[test.{name}]") for name, spec in tests.items()}
    analysis = dict(raw.get("analysis", {}))
    _check_keys(analysis, set(DEFAULT_ANALYSIS) | {"probes"}, "[analysis]")
    probes = _split(analysis.pop("probes", {}), dict(train, **DEFAULT_PROBES), "[analysis.probes]")
    config["analysis"] = dict(DEFAULT_ANALYSIS, **analysis, probes=probes)

    flagged = _common_overrides(config, overrides)
    if "train_envs" in overrides:
        config["train"]["envs"] = overrides["train_envs"]
        flagged.append("train_envs")
    if "test_envs" in overrides:
        for split in config["test"].values():
            split["envs"] = overrides["test_envs"]
        flagged.append("test_envs")
    if "horizon" in overrides:
        for split in [config["train"], *config["test"].values()]:
            split["horizon"] = overrides["horizon"]
        flagged.append("horizon")
    for key in DEFAULT_ANALYSIS:
        if key in overrides:
            config["analysis"][key] = overrides[key]
            flagged.append(key)
    config["flags"] = flagged
    _validate(config)
    return config


def _common_overrides(config: dict[str, Any], overrides: Mapping[str, Any]) -> list[str]:
    """Apply the flags every domain shares (search keys, seed, grammar); return their names."""
    flagged = []
    for key in DEFAULT_SEARCH:
        if key in overrides:
            config["search"][key] = overrides[key]
            flagged.append(key)
    if "seed" in overrides:
        config["seed"] = overrides["seed"]
        flagged.append("seed")
    if overrides.get("ban"):
        config["grammar"]["ban"] += [b for b in overrides["ban"] if b not in config["grammar"]["ban"]]
        flagged.append("ban")
    for key in ("bits", "cost"):
        if overrides.get(key):
            config["grammar"][key].update(overrides[key])
            flagged.append(key)
    return flagged


#: Settings of the seq analyses (README: "The seq domain").
DEFAULT_SEQ_ANALYSIS = dict(
    max_defections=2,  # a fitting program that disagrees on 1..this many deployment steps is a rare defector
    mixture_bits=2.0,
    consensus_top=[1, 2, 5, 10, 20],  # trusted set: the N best programs
    consensus_epsilon=[0.5, 0.2, 0.1, 0.01],  # trusted set: smallest holding >= 1 - epsilon of the posterior
    consensus_alpha=[0.5, 0.1, 0.01],  # trusted set: posterior >= alpha x the best's
)
DEFAULT_TARGET = dict(train=10, deploy=20)


def _resolve_seq(raw: Mapping[str, Any], config: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The seq domain's part of `resolve`: the target sequence and the seq analyses."""
    for key in ("train_envs", "test_envs", "horizon"):
        if key in overrides:
            raise DslError(f"--{key.replace('_', '-')} applies to grid experiments; this one is seq")
    target = dict(DEFAULT_TARGET, **dict(raw.get("target", {})))
    _check_keys(target, {"program", "terms", "train", "deploy"}, "[target]")
    if ("program" in target) == ("terms" in target):
        raise DslError("[target] needs exactly one of program = \"(...)\" or terms = [...]")
    for key in ("train_terms", "deploy_terms"):
        if key in overrides:
            target[key.split("_")[0]] = overrides[key]
    target["train"] = _number(target["train"], "target train", minimum=1, integer=True)
    target["deploy"] = _number(target["deploy"], "target deploy", minimum=1, integer=True)
    if "terms" in target:
        terms = target["terms"]
        if not isinstance(terms, list) or not all(isinstance(x, int) and not isinstance(x, bool) for x in terms):
            raise DslError("[target] terms must be a list of whole numbers")
        if any(not -(2 ** 63) <= x < 2 ** 63 for x in terms):
            raise DslError("[target] terms must fit in 64-bit integers (-2^63 .. 2^63 - 1)")
        if len(terms) < target["train"] + target["deploy"]:
            raise DslError(f"[target] terms has {len(terms)} values; train + deploy needs "
                           f"{target['train'] + target['deploy']}")
    elif not isinstance(target["program"], str):
        raise DslError("[target] program must be program text, e.g. \"(add x1 x2)\"")
    config["target"] = target
    for key in ("base", "proxy"):  # grid notions; a seq run has a target instead
        if key in dict(raw.get("experiment", {})):
            raise DslError(f"[experiment] {key} applies to grid experiments; a seq experiment has a [target]")
        config.pop(key, None)
    analysis = dict(raw.get("analysis", {}))
    _check_keys(analysis, set(DEFAULT_SEQ_ANALYSIS), "[analysis]")
    config["analysis"] = dict(DEFAULT_SEQ_ANALYSIS, **analysis)
    flagged = _common_overrides(config, overrides)
    flagged += [k for k in ("train_terms", "deploy_terms") if k in overrides]
    for key in DEFAULT_SEQ_ANALYSIS:
        if key in overrides:
            config["analysis"][key] = overrides[key]
            flagged.append(key)
    config["flags"] = flagged
    _validate_search(config)
    if config["search"]["fit_threshold"] != 1:
        raise DslError("a seq program fits only when it predicts every training term: fit_threshold must be 1")
    a = config["analysis"]
    a["max_defections"] = _number(a["max_defections"], "max_defections", minimum=0, integer=True)
    a["mixture_bits"] = _number(a["mixture_bits"], "mixture_bits", minimum=0)
    _consensus_lists(a)
    return config


def _consensus_lists(a: dict[str, Any]) -> None:
    """consensus_top: whole numbers >= 1; epsilon in [0, 1); alpha in (0, 1]."""
    for key, ok, text in (("consensus_top", lambda v: v >= 1, ">= 1"), ("consensus_epsilon", lambda v: 0 <= v < 1,
                          "in [0, 1)"), ("consensus_alpha", lambda v: 0 < v <= 1, "in (0, 1]")):
        values = a[key] if isinstance(a[key], list) else [a[key]]
        a[key] = [_number(v, key, integer=key == "consensus_top") for v in values]
        if not all(ok(v) for v in a[key]):
            raise DslError(f"{key} values must be {text}, got {a[key]}")


def _check_keys(table: Mapping, allowed: set, where: str) -> None:
    if not isinstance(table, Mapping):
        raise DslError(f"{where} must be a table")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise DslError(f"unknown key {unknown[0]!r} in {where} (allowed: {', '.join(sorted(allowed - {'_path'}))})")


def _split(spec: Mapping, parent: Mapping, where: str) -> dict[str, Any]:
    _check_keys(spec, SPLIT_KEYS, where)
    out = copy.deepcopy(dict(parent))
    for key in OWN_SPLIT_KEYS:
        out.pop(key, None)
    for key, value in spec.items():
        if key == "variant":
            if not isinstance(value, Mapping):
                raise DslError(f"{where}: variant must be a table like {{ share = 0.2, doors = {{ colours = [\"blue\"] }} }}")
            _check_keys(value, {"share", "doors", "distractors"}, f"{where} variant")
            share = _number(value.get("share", 0.0), f"{where} variant share")
            if not 0 <= share <= 1:
                raise DslError(f"{where}: variant share must be in [0, 1], got {share:g}")
            for part in ("doors", "distractors"):
                if part in value:
                    allowed = {"count", "colours"} | ({"kinds"} if part == "distractors" else set())
                    _check_keys(value[part], allowed, f"{where} variant {part}")
            out["variant"] = dict(value, share=share)  # completed from the split's own tables below
        elif key == "like":
            if not isinstance(value, str):
                raise DslError(f"{where}: like must name a split, e.g. like = \"train\"")
            out["like"] = value
        elif key == "trigger":
            if not isinstance(value, Mapping):
                raise DslError(f"{where}: trigger must be a table like {{ count = 1, colours = [\"yellow\"], kinds = [\"gem\"] }}")
            _check_keys(value, {"count", "colours", "kinds"}, f"{where} trigger")
            for colour in value.get("colours", []):
                if colour not in COLOURS:
                    raise DslError(f"{where}: unknown trigger colour {colour!r} (known: {', '.join(COLOURS)})")
            for kind in value.get("kinds", []):
                if kind not in KINDS:
                    raise DslError(f"{where}: unknown trigger kind {kind!r} (known: {', '.join(KINDS)})")
            out["trigger"] = dict(value)
        elif key in ("doors", "distractors"):
            if not isinstance(value, Mapping):
                raise DslError(f"{where}: {key} must be a table like {{ count = 1, colours = [\"red\"] }}")
            allowed = {"count", "colours"} | ({"kinds"} if key == "distractors" else set())
            _check_keys(value, allowed, f"{where} {key}")
            merged = dict(out.get(key, {}))
            merged.update(value)
            out[key] = merged
        else:
            out[key] = copy.deepcopy(value)
    if "variant" in out:
        # The variant changes only what it names; the rest comes from the split itself.
        for part in ("doors", "distractors"):
            if part in out["variant"]:
                out["variant"][part] = dict(out.get(part, {}), **out["variant"][part])
    return out


def _number(value: Any, what: str, *, minimum: float | None = None, integer: bool = False) -> float:
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


def _validate(config: dict[str, Any]) -> None:
    _validate_search(config)
    for split_name, split in [("train", config["train"]), *config["test"].items()]:
        where = f"split {split_name!r}"
        split["envs"] = _number(split["envs"], f"{where}: envs", minimum=1, integer=True)
        split["horizon"] = _number(split["horizon"], f"{where}: horizon", minimum=1, integer=True)
        if "grids" in split:
            if not isinstance(split["grids"], list) or not split["grids"]:
                raise DslError(f"{where}: grids must be a non-empty list of ASCII grid files")
        else:
            split_spec(split_name, split).validate()
    if not config["test"]:
        raise DslError("the experiment has no test split: add a [test.NAME] table")
    probes = config["analysis"]["probes"]
    extra = sorted(OWN_SPLIT_KEYS & set(probes))
    if extra:
        raise DslError(f"[analysis.probes] cannot use {extra[0]!r}: probes are always generated")
    probes["envs"] = _number(probes["envs"], "[analysis.probes] envs", minimum=1, integer=True)
    split_spec("probes", probes).validate()
    for name, split in config["test"].items():
        if "trigger" in split and "like" not in split:
            raise DslError(f"split {name!r}: trigger needs like = \"SPLIT\" (the grids it adds objects to)")
    a = config["analysis"]
    for key in ("class_threshold", "competence", "goal_min_share", "goal_directed"):
        a[key] = _number(a[key], key)
        if not 0 < a[key] <= 1:
            raise DslError(f"{key} must be in (0, 1], got {a[key]:g}")
    _consensus_lists(a)
    a["goal_bits"] = _number(a["goal_bits"], "goal_bits", minimum=0)
    if not 0 < a["goal_bits"] <= 16:
        raise DslError(f"goal_bits must be in (0, 16], got {a['goal_bits']:g}")
    a["mixture_bits"] = _number(a["mixture_bits"], "mixture_bits", minimum=0)


def _validate_search(config: dict[str, Any]) -> None:
    """The search and grammar settings every domain shares."""
    s = config["search"]
    s["max_bits"] = _number(s["max_bits"], "max_bits", minimum=0)
    if not 0 < s["max_bits"] <= MAX_BITS_LIMIT:
        raise DslError(f"max_bits must be in (0, {MAX_BITS_LIMIT}], got {s['max_bits']:g}")
    if s["order"] not in ORDERS:
        raise DslError(f"order must be one of {', '.join(ORDERS)}, got {s['order']!r}")
    if s["time_penalty"] not in TIME_PENALTIES:
        raise DslError(f"time_penalty must be one of {', '.join(TIME_PENALTIES)}, got {s['time_penalty']!r}")
    s["length_weight"] = _number(s["length_weight"], "length_weight", minimum=0)
    s["time_weight"] = _number(s["time_weight"], "time_weight", minimum=0)
    if s["length_weight"] == 0 and s["time_weight"] == 0:
        raise DslError("length_weight and time_weight cannot both be 0: every program would score 0")
    s["fit_threshold"] = _number(s["fit_threshold"], "fit_threshold")
    if not 0 < s["fit_threshold"] <= 1:
        raise DslError(f"fit_threshold must be in (0, 1], got {s['fit_threshold']:g}")
    s["top"] = _number(s["top"], "top", minimum=1, integer=True)
    s["keep"] = _number(s["keep"], "keep", minimum=1, integer=True)
    s["batch_size"] = _number(s["batch_size"], "batch_size", minimum=1, integer=True)
    config["seed"] = _number(config["seed"], "seed", minimum=0, integer=True)
    for name in config["grammar"]["ban"]:
        if not isinstance(name, str):
            raise DslError(f"ban entries must be primitive names, got {name!r}")


def split_spec(name: str, split: Mapping[str, Any]) -> SplitSpec:
    """The generator settings of a resolved split."""
    doors = split.get("doors", {})
    distractors = split.get("distractors", {})
    try:
        return SplitSpec(
            name=name,
            envs=int(split["envs"]),
            height=split["height"],
            width=split["width"],
            wall_density=split["wall_density"],
            horizon=int(split["horizon"]),
            door_count=doors.get("count", 0),
            door_colours=tuple(doors.get("colours", ())),
            distractor_count=distractors.get("count", 0),
            distractor_kinds=tuple(distractors.get("kinds", ())),
            distractor_colours=tuple(distractors.get("colours", ())),
        )
    except TypeError as err:
        raise DslError(f"split {name!r}: {err}") from None


def parse_assignment(text: str, what: str) -> tuple[str, str]:
    """'NAME=VALUE' from a flag."""
    if "=" not in text:
        raise DslError(f"{what} takes NAME=VALUE, got {text!r}")
    name, value = text.split("=", 1)
    if not name.strip():
        raise DslError(f"{what} takes NAME=VALUE, got {text!r}")
    return name.strip(), value.strip()
