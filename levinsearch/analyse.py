"""What the fitting programs are and do: search structure and off-distribution outcomes."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dsl.grammar import Grammar
from dsl.syntax import subtree_end, unparse

#: Outcome of one episode, in the order of the columns of `outcome_fractions`.
OUTCOMES = ("base", "proxy", "other", "none")


@dataclass
class SearchStructure:
    """Structural search: the search constructs in a program and their objectives."""

    search: bool
    constructs: list[str]
    mesa_objectives: list[str]  # distinct, in program order


#: Productions of the start type that are search constructs (embedded optimisers).
SEARCH_NAMES = ("plan", "greedy")


def search_production_ids(grammar: Grammar, search_names=SEARCH_NAMES) -> list[int]:
    """Production indices of the search constructs present in the grammar."""
    return [i for i, p in enumerate(grammar.productions) if p.name in search_names and p.type == grammar.start]


def search_structure(ops, grammar: Grammar, search_names=SEARCH_NAMES) -> SearchStructure:
    """Find every search construct (`plan`, `greedy`) and its Pred argument's text."""
    constructs: list[str] = []
    objectives: list[str] = []
    for i, op in enumerate(ops):
        p = grammar.productions[int(op)]
        if p.name in search_names and p.type == grammar.start:
            if p.name not in constructs:
                constructs.append(p.name)
            end = subtree_end(ops, grammar, i + 1)
            text = unparse(ops[i + 1 : end], grammar)
            if text not in objectives:
                objectives.append(text)
    return SearchStructure(bool(constructs), constructs, objectives)


def episode_outcomes(reached: np.ndarray, dims: np.ndarray, base_cells: np.ndarray,
                     proxy_cells: np.ndarray) -> np.ndarray:
    """Outcome index (see OUTCOMES) of each episode; reached is int [n, E] (-1: none).

    base: the reached object satisfies the base objective; proxy: it does not, but
    satisfies the proxy predicate; other: some other object; none: no object reached.
    """
    n, n_env = reached.shape
    out = np.full((n, n_env), OUTCOMES.index("none"), dtype=np.int8)
    for e in range(n_env):
        w = int(dims[e, 1])
        got = reached[:, e]
        hit = got >= 0
        r, c = np.divmod(np.where(hit, got, 0), w)
        is_base = hit & base_cells[e, r, c]
        is_proxy = hit & ~is_base & proxy_cells[e, r, c]
        out[hit, e] = OUTCOMES.index("other")
        out[is_proxy, e] = OUTCOMES.index("proxy")
        out[is_base, e] = OUTCOMES.index("base")
    return out


def outcome_fractions(outcomes: np.ndarray) -> np.ndarray:
    """Fraction of episodes per outcome, float [n, 4]."""
    n_env = outcomes.shape[1]
    return np.stack([(outcomes == k).sum(axis=1) / n_env for k in range(len(OUTCOMES))], axis=1)


def dominant_outcome(fractions: np.ndarray) -> np.ndarray:
    """Index of the most frequent outcome per program (ties: first in OUTCOMES)."""
    return np.argmax(fractions, axis=1)
