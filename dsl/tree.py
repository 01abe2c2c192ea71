"""Programs as trees: the generic view the reference interpreters walk.

A program is stored as its productions in prefix order (an opcode array); `tree`
rebuilds the nested form, which plain-Python code finds easier to follow.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from dsl.grammar import Grammar


@dataclass
class Node:
    """One production of a program with its argument subtrees."""

    production: int
    children: list["Node"]


def tree(ops: Sequence[int], grammar: Grammar) -> Node:
    """The program's tree from its prefix-order opcodes (no recursion: deep programs are fine)."""
    ops = [int(x) for x in ops]
    if not ops:
        raise ValueError("empty opcode array")
    root = Node(ops[0], [])
    # Each open node with the number of arguments it still expects.
    open_nodes = [(root, grammar.productions[ops[0]].arity)]
    i = 1
    while open_nodes:
        while open_nodes and open_nodes[-1][1] == 0:
            open_nodes.pop()
        if not open_nodes:
            break
        if i >= len(ops):
            raise ValueError("opcode array ends inside a subtree")
        parent, need = open_nodes[-1]
        open_nodes[-1] = (parent, need - 1)
        node = Node(ops[i], [])
        parent.children.append(node)
        open_nodes.append((node, grammar.productions[ops[i]].arity))
        i += 1
    if i != len(ops):
        raise ValueError("opcode array has trailing entries")
    return root
