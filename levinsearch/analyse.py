"""What the fitting programs are: their search structure (the search constructs in a
program's text and their objectives). Which productions count as search constructs is
the domain's to say (the grid: `plan` and `greedy`; seq: `find`)."""
from __future__ import annotations

from dataclasses import dataclass

from dsl.grammar import Grammar, inline_definition
from dsl.syntax import subtree_end, unparse


@dataclass
class SearchStructure:
    """Structural search: the search constructs in a program and their objectives."""

    search: bool
    constructs: list[str]
    mesa_objectives: list[str]  # distinct, in program order


def search_production_ids(grammar: Grammar, search_names) -> list[int]:
    """Production indices of the search constructs present in the grammar: productions
    of the start type whose name is in `search_names`, and their copies in a definition's
    body (dsl.grammar.with_definition)."""
    return [i for i, p in enumerate(grammar.productions)
            if p.name in search_names and grammar.productions[grammar.origin[i]].type == grammar.start]


def search_structure(ops, grammar: Grammar, search_names, objective_arg: int = 0) -> SearchStructure:
    """Find every search construct (productions of the start type named in
    `search_names`; grid default `plan`, `greedy`; seq: `find`) and the text of its
    objective, argument number `objective_arg` (grid: the Pred; seq: find's Bool). A
    program with definitions is read with them written out (dsl.grammar.inline_definition),
    so an objective given by a `ref` is the definition's text."""
    ops = inline_definition(ops, grammar)
    constructs: list[str] = []
    objectives: list[str] = []
    for i, op in enumerate(ops):
        p = grammar.productions[int(op)]
        if p.name in search_names and p.type == grammar.start:
            if p.name not in constructs:
                constructs.append(p.name)
            start = i + 1
            for _ in range(objective_arg):
                start = subtree_end(ops, grammar, start)
            end = subtree_end(ops, grammar, start)
            text = unparse(ops[start:end], grammar)
            if text not in objectives:
                objectives.append(text)
    return SearchStructure(bool(constructs), constructs, objectives)
