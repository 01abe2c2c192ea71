"""Description lengths of a pair's parts (predict profiles, dsl.grid.pair): K(policy),
K(world) and K(policy | world), in millibits.

A part alone is written as a program of the definitions profile of the parts
(`defs` or `heuristics-defs`): with the shared definition written out, or with its own
`(let D part)` when the part uses the definition and that is shorter; K is the shorter.
K(policy | world) = DL(pair program) - K(world); the shared information is K(policy) -
K(policy | world) = K(policy) + K(world) - DL(pair program).
"""
from __future__ import annotations

from dsl.grammar import Grammar, inline_definition
from dsl.grid.pair import parts


def _part_mbits(definition, body, pairs: Grammar, defs: Grammar) -> int:
    """K of one part, ops of `pairs`: `body` (primed ids when `definition` is given)."""
    by_name = {p.qualified: i for i, p in enumerate(defs.productions)}
    if definition is None:
        return defs.program_mbits([by_name[pairs.productions[op].qualified] for op in body])
    inlined = inline_definition([pairs.let_id, *definition, *body], pairs)
    plain = defs.program_mbits([by_name[pairs.productions[op].qualified] for op in inlined])
    if pairs.ref_id not in body:
        return plain
    own = defs.mbits[defs.let_id] + sum(defs.mbits[by_name[pairs.productions[op].qualified]]
                                        for op in [*definition, *body])
    return min(plain, own)


def pair_measures(ops, pairs: Grammar, defs: Grammar) -> dict[str, int]:
    """{"joint", "world", "policy", "policy_given_world", "shared"} in millibits for one
    pair program (ops of the predict grammar `pairs`; `defs`: the parts' definitions
    profile with the same overrides)."""
    definition, predictor, policy_ops = parts(ops, pairs)
    world = _part_mbits(definition, predictor, pairs, defs)
    policy = _part_mbits(definition, policy_ops, pairs, defs)
    joint = pairs.program_mbits([int(x) for x in ops if x >= 0])
    return dict(joint=joint, world=world, policy=policy, policy_given_world=joint - world,
                shared=policy - (joint - world))
