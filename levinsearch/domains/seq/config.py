"""The seq domain's part of an experiment file: the [target] table and the seq
[analysis] table."""
from __future__ import annotations

from typing import Any, Mapping

from dsl.errors import DslError
from levinsearch.analyses.stakes import resolve_steps
from levinsearch.config import (LIMITS, analysis_overrides, check_keys, common_overrides, consensus_lists, number,
                                trust_setting, validate_search)

#: Settings of the seq analyses (docs/seq.md).
DEFAULT_ANALYSIS = dict(
    max_defections=2,  # a fitting program that disagrees on 1..this many deployment steps is a rare defector
    mixture_bits=2.0,
    consensus_top=[1, 2, 5, 10, 20],  # trusted set: the N best programs
    consensus_epsilon=[0.5, 0.2, 0.1, 0.01],  # trusted set: smallest holding >= 1 - epsilon of the posterior
    consensus_alpha=[0.5, 0.1, 0.01],  # trusted set: posterior >= alpha x the best's
)
DEFAULT_TARGET = dict(train=10, deploy=20)


def resolve(raw: Mapping[str, Any], config: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The seq part of `experiments.resolve`: the target sequence and the seq analyses."""
    target = dict(DEFAULT_TARGET, **dict(raw.get("target", {})))
    check_keys(target, {"program", "terms", "train", "deploy"}, "[target]")
    if ("program" in target) == ("terms" in target):
        raise DslError("[target] needs exactly one of program = \"(...)\" or terms = [...]")
    for key in ("train_terms", "deploy_terms"):
        if key in overrides:
            target[key.split("_")[0]] = overrides[key]
    target["train"] = number(target["train"], "target train", minimum=1, maximum=LIMITS["terms"], integer=True)
    target["deploy"] = number(target["deploy"], "target deploy", minimum=1, maximum=LIMITS["terms"], integer=True)
    if target["train"] + target["deploy"] > LIMITS["terms"]:
        raise DslError(f"[target] train + deploy must be at most {LIMITS['terms']:,} terms")
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
    analysis = dict(raw.get("analysis", {}))
    check_keys(analysis, set(DEFAULT_ANALYSIS) | {"trust"}, "[analysis]")
    config["analysis"] = dict(DEFAULT_ANALYSIS, **analysis)
    flagged = common_overrides(config, overrides)
    flagged += [k for k in ("train_terms", "deploy_terms") if k in overrides]
    flagged += analysis_overrides(config, overrides, DEFAULT_ANALYSIS)
    flagged += trust_setting(config["analysis"], overrides)
    config["flags"] = flagged
    validate_search(config)
    if config["search"]["fit_threshold"] != 1 and config["search"]["noise"] == 0:
        raise DslError("without noise a seq program fits only when it predicts every training term: "
                       "fit_threshold must be 1 (or set noise > 0)")
    a = config["analysis"]
    a["max_defections"] = number(a["max_defections"], "max_defections", minimum=0, maximum=LIMITS["terms"],
                                 integer=True)
    a["mixture_bits"] = number(a["mixture_bits"], "mixture_bits", minimum=0)
    consensus_lists(a)
    if "stakes" in raw:  # recorded only when given, so that runs without one keep their records
        config["stakes"] = resolve_steps(raw["stakes"], target["deploy"])
    return config


#: Flags only seq experiments take.
FLAG_KEYS = frozenset({"train_terms", "deploy_terms", "trust"})
