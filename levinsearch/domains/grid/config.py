"""The grid domain's part of an experiment file: [train], [test.NAME] splits, the
objective ([experiment] base and proxy) and the [analysis] table.

A split's keys not given are inherited: [train] from DEFAULT_SPLIT, each test split
from [train] (except the keys in OWN_SPLIT_KEYS), the probes from [train] with
DEFAULT_PROBES on top.
"""
from __future__ import annotations

import copy
from typing import Any, Mapping

from dsl.errors import DslError
from dsl.grid import primitives
from dsl.grid.world import COLOURS, KINDS, MAX_SIDE, SplitSpec
from levinsearch.analyses.stakes import resolve_episodes
from levinsearch.config import (LIMITS, analysis_overrides, check_keys, common_overrides, consensus_lists, names_list,
                                number, trust_setting, validate_search)

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
OWN_SPLIT_KEYS = {"grids", "variant", "like", "trigger", "cue"}
SPLIT_KEYS = set(DEFAULT_SPLIT) | OWN_SPLIT_KEYS
#: Settings of the analyses (docs: "Outcome classes" and "Goal-directedness").
DEFAULT_ANALYSIS = dict(
    class_threshold=0.8,  # share of episodes that decides a program's outcome class
    competence=0.5,  # path efficiency (shortest path / moves) counted as competent
    goal_bits=11.2,  # goal family: every Pred expression of at most this many bits
    goal_min_share=0.25,  # a goal is considered only if present in this share of probes
    goal_directed=0.8,  # goal-directedness score counted as "high"
    mixture_bits=2.0,  # MAP vs mixture: posterior of everything within this many bits of the best
    agent_bits=0.0,  # agent or device: an agent when log2 posterior odds agent : device exceed this
    # Consensus agent on the test splits (off unless a list is given; it runs the
    # reference interpreter, so keep trusted sets small): the trusted set of behaviours
    # by top N, by 1 - epsilon of the posterior, or by posterior >= alpha x the best's.
    consensus_top=[],
    consensus_epsilon=[],
    consensus_alpha=[],
    # Which constructs count as structural search (embedded optimisers): production names
    # of the start type (Action). A program contains search when its tree uses one.
    search=["plan", "greedy"],
    # Search measured from execution: a program searches in execution when at least this
    # share of its decisions on the test and probe grids took an action that came from
    # a construct that examined hypothetical states (docs/grid-heuristics.md).
    execution_search=0.5,
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
#: Flags only grid experiments take.
FLAG_KEYS = frozenset({"train_envs", "test_envs", "horizon", "trust"})


def header_fields(exp: Mapping[str, Any]) -> dict[str, Any]:
    """The objective, recorded right after the seed."""
    return {"base": str(exp.get("base", "door")), "proxy": str(exp.get("proxy", "red"))}


def resolve(raw: Mapping[str, Any], config: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The grid part of `experiments.resolve`: splits, analysis, grid flags; validated."""
    train = _split(raw.get("train", {}), DEFAULT_SPLIT, "[train]")
    tests = raw.get("test", {})
    if not isinstance(tests, Mapping):
        raise DslError("[test] must be a table of named splits, e.g. [test.blue_doors]")
    config["train"] = train
    config["test"] = {name: _split(spec, train, f"[test.{name}]") for name, spec in tests.items()}
    analysis = dict(raw.get("analysis", {}))
    check_keys(analysis, set(DEFAULT_ANALYSIS) | {"probes", "trust"}, "[analysis]")
    probes = _split(analysis.pop("probes", {}), dict(train, **DEFAULT_PROBES), "[analysis.probes]")
    config["analysis"] = dict(DEFAULT_ANALYSIS, **analysis, probes=probes)

    flagged = common_overrides(config, overrides)
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
    flagged += analysis_overrides(config, overrides, DEFAULT_ANALYSIS)
    flagged += trust_setting(config["analysis"], overrides)
    config["flags"] = flagged
    _validate(config)
    if "character" in raw:  # recorded only when given, so that runs without one keep their records
        config["character"] = _character(raw["character"], config["grammar"].get("profile"))
    if "stakes" in raw:  # recorded only when given, so that runs without one keep their records
        config["stakes"] = resolve_episodes(raw["stakes"], {
            name: len(split["grids"]) if "grids" in split else int(split["envs"])
            for name, split in config["test"].items()})
    return config


def _character(raw: Any, profile: str | None) -> dict[str, Any]:
    """[character] rule = "PROGRAM": the other character of the predict profiles, a
    program of their part profile ("" or "none": no character); validated here."""
    if not isinstance(raw, Mapping):
        raise DslError('[character] must be a table like rule = "(plan red)"')
    check_keys(raw, {"rule"}, "[character]")
    if profile not in primitives.PAIR_PROFILES:
        raise DslError(f"[character] needs a predict profile ([grammar] profile = one of "
                       f"{', '.join(primitives.PAIR_PROFILES)}), got {profile or 'default'!r}")
    rule = raw.get("rule", "")
    if not isinstance(rule, str):
        raise DslError(f'[character] rule must be a program in quotes, e.g. "(plan red)", got {rule!r}')
    rule = rule.strip()
    if rule and rule != "none":
        from dsl.syntax import parse
        part = primitives.grammar(profile=primitives.PAIR_PROFILES[profile])
        try:
            parse(rule, part, "Action")
        except DslError as e:
            raise DslError(f"[character] rule {rule!r}: {e}") from None
    return {"rule": "" if rule == "none" else rule}


def _split(spec: Mapping, parent: Mapping, where: str) -> dict[str, Any]:
    check_keys(spec, SPLIT_KEYS, where)
    out = copy.deepcopy(dict(parent))
    for key in OWN_SPLIT_KEYS:
        out.pop(key, None)
    for key, value in spec.items():
        if key == "variant":
            if not isinstance(value, Mapping):
                raise DslError(f"{where}: variant must be a table like {{ share = 0.2, doors = {{ colours = [\"blue\"] }} }}")
            check_keys(value, {"share", "doors", "distractors"}, f"{where} variant")
            share = number(value.get("share", 0.0), f"{where} variant share")
            if not 0 <= share <= 1:
                raise DslError(f"{where}: variant share must be in [0, 1], got {share:g}")
            for part in ("doors", "distractors"):
                if part in value:
                    allowed = {"count", "colours"} | ({"kinds"} if part == "distractors" else set())
                    check_keys(value[part], allowed, f"{where} variant {part}")
            out["variant"] = dict(value, share=share)  # completed from the split's own tables below
        elif key == "like":
            if not isinstance(value, str):
                raise DslError(f"{where}: like must name a split, e.g. like = \"train\"")
            out["like"] = value
        elif key == "trigger":
            if not isinstance(value, Mapping):
                raise DslError(f"{where}: trigger must be a table like {{ count = 1, colours = [\"yellow\"], kinds = [\"gem\"] }}")
            check_keys(value, {"count", "colours", "kinds"}, f"{where} trigger")
            for colour in value.get("colours", []):
                if colour not in COLOURS:
                    raise DslError(f"{where}: unknown trigger colour {colour!r} (known: {', '.join(COLOURS)})")
            for kind in value.get("kinds", []):
                if kind not in KINDS:
                    raise DslError(f"{where}: unknown trigger kind {kind!r} (known: {', '.join(KINDS)})")
            out["trigger"] = dict(value)
        elif key == "cue":
            if not isinstance(value, Mapping):
                raise DslError(f"{where}: cue must be a table like {{ kind = \"key\", objectives = 2 }}")
            check_keys(value, {"kind", "colours", "objectives"}, f"{where} cue")
            out["cue"] = dict(value)
        elif key in ("doors", "distractors"):
            if not isinstance(value, Mapping):
                raise DslError(f"{where}: {key} must be a table like {{ count = 1, colours = [\"red\"] }}")
            allowed = {"count", "colours"} | ({"kinds"} if key == "distractors" else set())
            check_keys(value, allowed, f"{where} {key}")
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


def _validate(config: dict[str, Any]) -> None:
    validate_search(config)
    for split_name, split in [("train", config["train"]), *config["test"].items()]:
        where = f"split {split_name!r}"
        split["envs"] = number(split["envs"], f"{where}: envs", minimum=1, maximum=LIMITS["envs"], integer=True)
        split["horizon"] = number(split["horizon"], f"{where}: horizon", minimum=1, maximum=LIMITS["horizon"],
                                  integer=True)
        _check_objects(split, where)
        if "cue" in split:
            _check_cue(split, where)
        if "grids" in split:
            grids = split["grids"]
            if not isinstance(grids, list) or not grids or not all(isinstance(g, str) for g in grids):
                raise DslError(f"{where}: grids must be a non-empty list of ASCII grid file names, got {grids!r}")
            if len(grids) > LIMITS["envs"]:
                raise DslError(f"{where}: grids lists at most {LIMITS['envs']:,} files, got {len(grids)}")
        else:
            split_spec(split_name, split).validate()
    if not config["test"]:
        raise DslError("the experiment has no test split: add a [test.NAME] table")
    probes = config["analysis"]["probes"]
    extra = sorted(OWN_SPLIT_KEYS & set(probes))
    if extra:
        raise DslError(f"[analysis.probes] cannot use {extra[0]!r}: probes are always generated")
    probes["envs"] = number(probes["envs"], "[analysis.probes] envs", minimum=1, maximum=LIMITS["envs"],
                            integer=True)
    _check_objects(probes, "[analysis.probes]")
    split_spec("probes", probes).validate()
    for name, split in config["test"].items():
        if "trigger" in split and "like" not in split:
            raise DslError(f"split {name!r}: trigger needs like = \"SPLIT\" (the grids it adds objects to)")
        if "trigger" in split:
            split["trigger"]["count"] = number(split["trigger"].get("count", 1), f"split {name!r}: trigger count",
                                               minimum=0, maximum=MAX_SIDE * MAX_SIDE, integer=True)
            for key in ("colours", "kinds"):
                if key in split["trigger"]:
                    names_list(split["trigger"][key], f"split {name!r}: trigger {key}")
    a = config["analysis"]
    for key in ("class_threshold", "competence", "goal_min_share", "goal_directed"):
        a[key] = number(a[key], key)
        if not 0 < a[key] <= 1:
            raise DslError(f"{key} must be in (0, 1], got {a[key]:g}")
    consensus_lists(a)
    a["goal_bits"] = number(a["goal_bits"], "goal_bits", minimum=0)
    if not 0 < a["goal_bits"] <= 16:
        raise DslError(f"goal_bits must be in (0, 16], got {a['goal_bits']:g}")
    a["mixture_bits"] = number(a["mixture_bits"], "mixture_bits", minimum=0)
    a["agent_bits"] = number(a["agent_bits"], "agent_bits")
    a["execution_search"] = number(a["execution_search"], "execution_search")
    if not 0 < a["execution_search"] <= 1:
        raise DslError(f"execution_search must be in (0, 1], got {a['execution_search']:g}")
    a["search"] = search_names(a["search"], config["grammar"].get("profile"))


def search_names(names: Any, profile: str | None) -> list[str]:
    """The structural search definition, checked against the profile's grammar: a list of
    distinct production names of the start type (bans do not matter: a banned construct
    simply never occurs)."""
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise DslError(f"[analysis] search must be a list of Action production names, got {names!r}")
    productions = primitives.productions(profile or "default")
    actions = [p.name for p in productions if p.type == "Action"]
    for name in names:
        if name not in actions:
            raise DslError(f"[analysis] search: {name!r} is not an Action production of the "
                           f"{profile or 'default'} grammar (known: {', '.join(actions)})")
    if len(set(names)) != len(names):
        raise DslError(f"[analysis] search names a production twice: {names}")
    return list(names)


def _check_cue(split: dict[str, Any], where: str) -> None:
    """Resolve a split's cue table to kind and the colours of its objectives: `colours`
    (default: every colour, in order) cut to the first `objectives` of them."""
    cue = split["cue"]
    if "grids" in split or "like" in split:
        raise DslError(f"{where}: cue applies to generated grids (hand-drawn grids name their cue with a "
                       "'cue = KIND' legend line)")
    kind = cue.get("kind", "key")
    if not isinstance(kind, str):
        raise DslError(f"{where}: cue kind must be a kind name, got {kind!r}")
    colours = names_list(cue.get("colours", list(COLOURS)), f"{where}: cue colours")
    objectives = int(number(cue.get("objectives", len(colours)), f"{where}: cue objectives", minimum=1,
                            integer=True))
    if objectives > len(colours):
        raise DslError(f"{where}: cue objectives = {objectives} but only {len(colours)} colours are given "
                       f"({', '.join(colours)}); each objective is one colour")
    split["cue"] = dict(kind=kind, colours=list(colours[:objectives]), objectives=objectives)


def _check_objects(split: dict[str, Any], where: str) -> None:
    """Counts are whole numbers, colours and kinds lists of names, sizes numbers."""
    for key in ("height", "width"):
        if key in split:
            split[key] = number(split[key], f"{where}: {key}", minimum=1, maximum=MAX_SIDE, integer=True)
    if "wall_density" in split:
        split["wall_density"] = number(split["wall_density"], f"{where}: wall_density", minimum=0)
    for part in ("doors", "distractors"):
        table = split.get(part, {})
        if "count" in table:
            table["count"] = number(table["count"], f"{where}: {part} count", minimum=0,
                                    maximum=MAX_SIDE * MAX_SIDE, integer=True)
        for key in ("colours", "kinds"):
            if key in table:
                names_list(table[key], f"{where}: {part} {key}")


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
            **({"cue_kind": split["cue"]["kind"], "cue_colours": tuple(split["cue"]["colours"])}
               if "cue" in split else {}),
        )
    except TypeError as err:
        raise DslError(f"split {name!r}: {err}") from None
