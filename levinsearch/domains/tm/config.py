"""The tm domain's part of an experiment file: the [target] table (the training prefix
and the deployment bits), the [machines] table (which machines, for how many steps) and
the tm [analysis] table. docs/tm.md ("The tm domain") describes every key."""
from __future__ import annotations

from typing import Any, Mapping

from dsl.errors import DslError
from dsl.tm.census import KNOWN
from levinsearch.analyses.stakes import resolve_steps
from levinsearch.config import analysis_overrides, check_keys, common_overrides, consensus_lists, number, \
    validate_search

#: Settings of the tm analyses.
DEFAULT_ANALYSIS = dict(
    max_defections=1,  # a fitting machine wrong on 1..this many deployment bits is a rare defector
    mixture_bits=2.0,
    consensus_top=[1, 2, 5, 10],
    consensus_epsilon=[0.5, 0.2, 0.1, 0.01],
    consensus_alpha=[0.5, 0.1, 0.01],
)
DEFAULT_TARGET = dict(deploy=8)
#: The hypothesis space by default: machines of 1 .. 4 states (the grammar's default).
DEFAULT_MAX_STATES = 4
#: Largest state count of a tm experiment: the default step cap needs a known S(n), and
#: a 5-state machine costs 49.6 bits under the default prior (max_bits is at most 48).
MAX_STATES = 4
#: Bounds checked before any work (a run's tape and outputs grow with the cap).
LIMITS = dict(step_cap=1 << 20, prefix=4096, deploy=1024, train=4096)
#: Longest generating machine of a target (its output is computed with cap S(n)).
MAX_TARGET_STATES = 4
#: Flags only tm experiments take (as overrides through the Python API and sweeps).
FLAG_KEYS = frozenset({"train_bits", "deploy_bits", "step_cap"})


def bit_string(value: Any, what: str, *, allow_empty: bool = True) -> str:
    """A string of 0s and 1s, or a DslError naming `what`."""
    if not isinstance(value, str):
        raise DslError(f"{what} must be a string of 0s and 1s in quotes, e.g. \"0101\" "
                       f"(in a sweep: --set 'target.prefix=\"0101\"'), got {value!r}")
    if set(value) - {"0", "1"}:
        raise DslError(f"{what} must be a string of 0s and 1s, got {value!r}")
    if not value and not allow_empty:
        raise DslError(f"{what} must not be empty")
    return value


def states_of(machines: dict[str, Any]) -> list[int]:
    """The state counts of the hypothesis space ([machines] states, or 1 .. max_states)."""
    if "states" in machines:
        states = machines["states"]
        if not isinstance(states, list) or not states:
            raise DslError("[machines] states must be a non-empty list of state counts, e.g. [2, 3]")
        out = sorted({int(number(s, "[machines] states", minimum=1, maximum=MAX_STATES, integer=True))
                      for s in states})
        return out
    top = number(machines.get("max_states", DEFAULT_MAX_STATES), "[machines] max_states", minimum=1,
                 maximum=MAX_STATES, integer=True)
    return list(range(1, int(top) + 1))


def resolve(raw: Mapping[str, Any], config: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The tm part of `experiments.resolve`."""
    target = dict(DEFAULT_TARGET, **dict(raw.get("target", {})))
    check_keys(target, {"machine", "prefix", "train", "deploy", "continuation"}, "[target]")
    if ("machine" in target) == ("prefix" in target):
        raise DslError("[target] needs exactly one of machine = \"(tm2 ...)\" (a generating machine) or "
                       "prefix = \"0101...\" (the training bits)")
    if "train_bits" in overrides:
        target["train"] = overrides["train_bits"]
    if "deploy_bits" in overrides:
        target["deploy"] = overrides["deploy_bits"]
    target["deploy"] = number(target["deploy"], "[target] deploy", minimum=1, maximum=LIMITS["deploy"],
                              integer=True)
    if "machine" in target:
        if not isinstance(target["machine"], str):
            raise DslError("[target] machine must be machine text, e.g. \"(tm2 1RB 1LB 1LA 1H)\"")
        if "continuation" in target:
            raise DslError("[target] continuation is the generating machine's own output; give it only with prefix")
        if "train" not in target:
            raise DslError("[target] machine needs train = N: how many of its output bits are the training prefix")
        target["train"] = number(target["train"], "[target] train", minimum=0, maximum=LIMITS["train"],
                                 integer=True)
    else:
        if "train" in target:
            raise DslError("[target] train is the prefix's own length; give train only with machine")
        target["prefix"] = bit_string(target["prefix"], "[target] prefix")
        if len(target["prefix"]) > LIMITS["prefix"]:
            raise DslError(f"[target] prefix must be at most {LIMITS['prefix']:,} bits")
        target["train"] = len(target["prefix"])
        if "continuation" in target:
            target["continuation"] = bit_string(target["continuation"], "[target] continuation")
            if len(target["continuation"]) > LIMITS["deploy"] + 1:
                raise DslError(f"[target] continuation must be at most {LIMITS['deploy'] + 1:,} bits")
    config["target"] = target

    machines = dict(raw.get("machines", {}))
    check_keys(machines, {"states", "max_states", "step_cap"}, "[machines]")
    if "states" in machines and "max_states" in machines:
        raise DslError("[machines] takes states = [...] or max_states = N, not both")
    if "step_cap" in overrides:
        machines["step_cap"] = overrides["step_cap"]
    states = states_of(machines)
    resolved = dict(states=states)
    if "step_cap" in machines:
        resolved["step_cap"] = number(machines["step_cap"], "[machines] step_cap", minimum=1,
                                      maximum=LIMITS["step_cap"], integer=True)
    config["machines"] = resolved

    analysis = dict(raw.get("analysis", {}))
    check_keys(analysis, set(DEFAULT_ANALYSIS), "[analysis]")
    config["analysis"] = dict(DEFAULT_ANALYSIS, **analysis)
    flagged = common_overrides(config, overrides)
    flagged += [k for k in ("train_bits", "deploy_bits", "step_cap") if k in overrides]
    flagged += analysis_overrides(config, overrides, DEFAULT_ANALYSIS)
    config["flags"] = flagged
    validate_search(config)
    if config["search"]["noise"] != 0:
        raise DslError("noise does not apply to tm experiments: a machine's output starts with the prefix or does "
                       "not, so there is no likelihood to weigh errors with; drop noise")
    if config["search"]["fit_threshold"] != 1:
        raise DslError("a machine fits only when its output starts with the whole prefix: fit_threshold must be 1")
    a = config["analysis"]
    a["max_defections"] = number(a["max_defections"], "max_defections", minimum=0, maximum=LIMITS["deploy"],
                                 integer=True)
    a["mixture_bits"] = number(a["mixture_bits"], "mixture_bits", minimum=0)
    consensus_lists(a)
    if "stakes" in raw:  # recorded only when given, so that runs without one keep their records
        config["stakes"] = resolve_steps(raw["stakes"], target["deploy"])
    return config


def default_step_cap(states: list[int], grammar) -> tuple[int, str]:
    """The step cap that decides halting for every machine of the hypothesis space: S(N)
    transitions for the largest N, each at its largest step cost, plus the Machine
    production's cost; and a sentence saying so."""
    from dsl.tm import primitives as tp

    top = max(states)
    s = KNOWN[top][0]
    transition_cost = max(grammar.step_cost[i] for n in states for i in tp.transition_productions(grammar, n))
    machine_cost = max(grammar.step_cost[tp.machine_production(grammar, n)] for n in states)
    cap = s * transition_cost + machine_cost
    if transition_cost == 1 and machine_cost == 0:
        return cap, f"S({top}) = {s:,}: every halting machine of at most {top} states halts within it"
    return cap, (f"S({top}) = {s:,} transitions at up to {transition_cost} steps each, plus {machine_cost}: "
                 f"every halting machine of at most {top} states halts within it")
