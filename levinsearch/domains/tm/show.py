"""`show MACHINE`: one machine's table, run, output and tape trace, alone or against a
tm experiment's prefix (`levinsearch show MACHINE --experiment TM-EXPERIMENT`, or
`levinsearch tm show MACHINE [--cap C]`)."""
from __future__ import annotations

import re
from typing import Any, Mapping

from dsl.errors import DslError
from dsl.tm import primitives as tp
from dsl.tm.kernels import MAX_CAP
from levinsearch.domains.tm.config import default_step_cap

#: Largest state count `tm show` parses (the Busy Beaver values are known up to 5).
MAX_SHOW_STATES = 5


def _states_in(text: str) -> int:
    m = re.match(r"\s*\(\s*tm(\d+)\b", text)
    return int(m.group(1)) if m else 1


def show(domain, program: str, config: dict[str, Any] | None, options: Mapping[str, Any]) -> dict[str, Any]:
    """The show record of `program` (see `levinsearch.domains.tm.run.show_record`)."""
    from levinsearch.domains.tm.run import machine_target, show_record

    cap = options.get("cap")
    if config is not None:
        grammar = domain.build_grammar(config)
        step_cap = config["machines"]["step_cap"] if cap is None else cap
        note = config["machines"]["step_cap_note"] if cap is None else "given by --cap"
        t = config["target"]
        if "machine" in t:
            info = machine_target(t["machine"], t["train"])
            experiment = dict(name=config["name"], prefix=info["prefix"], deploy=t["deploy"],
                              continuation=_padded(info["continuation"], t["deploy"]))
        else:
            intended = t.get("continuation")
            experiment = dict(name=config["name"], prefix=t["prefix"], deploy=t["deploy"],
                              continuation=_padded(intended, t["deploy"]) if intended is not None else None)
    else:
        n = _states_in(program)
        if not 1 <= n <= MAX_SHOW_STATES:
            raise DslError(f"tm show takes machines of 1 .. {MAX_SHOW_STATES} states, got tm{n}")
        grammar = tp.grammar(max(n, 4), bits=options.get("bits") or None, ban=options.get("ban") or (),
                             cost=options.get("cost") or None)
        if cap is None:
            step_cap, note = default_step_cap([n], grammar)
        else:
            step_cap, note = cap, "given by --cap"
        experiment = None
    if not 0 <= step_cap <= MAX_CAP:
        raise DslError(f"--cap must be between 0 and {MAX_CAP:,}, got {step_cap}")
    return show_record(grammar, program, step_cap=step_cap, cap_note=note, experiment=experiment)


def _padded(continuation: str | None, deploy: int) -> str | None:
    if continuation is None:
        return None
    return (continuation + "-" * deploy)[:deploy]
