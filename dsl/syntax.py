"""Text form of programs: S-expressions such as ``(if (sense N wall) E (plan red))``.

Parsing is type-directed: the same name may stand for productions of different types
(``N`` is an Action and a Dir) and the expected type decides which is meant. Leaves
are bare names; productions with arguments are always parenthesised.
"""
from __future__ import annotations

import re
from typing import Sequence

import numpy as np

from dsl.errors import DslError
from dsl.grammar import Grammar

_TOKEN = re.compile(r"\s*(?:(\()|(\))|([^\s()]+))")


def _tokens(text: str) -> list[tuple[str, int]]:
    out, pos = [], 0
    while True:
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            if text[pos:].strip():
                raise DslError(f"position {pos}: cannot read {text[pos:pos + 10]!r}")
            return out
        kind = m.group(1) or m.group(2) or m.group(3)
        out.append((kind, m.start(m.lastindex)))
        pos = m.end()


#: Deepest nesting of parentheses a program may have, and the longest program text.
#: Enumerated programs stay far below both; the caps keep hand-written input from
#: exhausting the reference interpreters' recursion.
MAX_DEPTH = 100
MAX_TEXT = 100_000


def parse(text: str, grammar: Grammar, type_name: str | None = None) -> np.ndarray:
    """Parse program text into its opcode array (prefix order, int32).

    Raises DslError naming the character position and the type that was expected.
    Iterative (no recursion), with nesting at most MAX_DEPTH.
    """
    if len(text) > MAX_TEXT:
        raise DslError(f"program text is {len(text):,} characters long; at most {MAX_TEXT:,} are read")
    tokens = _tokens(text)
    ops: list[int] = []
    at = 0

    def production(name: str, expected: str, pos: int, parenthesised: bool) -> int:
        ids = [
            i for i, p in enumerate(grammar.productions) if p.type == expected and p.name == name
        ]
        if not ids:
            known = ", ".join(sorted({p.name for p in grammar.productions if p.type == expected}))
            raise DslError(f"position {pos}: expected {expected} ({known}), got {name!r}")
        i = ids[0]
        p = grammar.productions[i]
        if parenthesised and p.arity == 0:
            raise DslError(f"position {pos}: {name!r} takes no arguments; write it without parentheses")
        if not parenthesised and p.arity > 0:
            raise DslError(
                f"position {pos}: {name!r} takes {p.arity} argument(s) ({' '.join(p.args)}); "
                f"write ({name} ...)"
            )
        if i in grammar.banned:
            raise DslError(f"position {pos}: {p.qualified} is banned in this grammar")
        return i

    # Each open parenthesis: (its production's name, argument types still expected).
    open_nodes: list[tuple[str, list[str]]] = []
    expected: str | None = type_name or grammar.start
    while True:
        if expected is not None:
            if at >= len(tokens):
                raise DslError(f"position {len(text)}: program ends where a {expected} was expected")
            tok, pos = tokens[at]
            if tok == ")":
                raise DslError(f"position {pos}: expected {expected}, got ')'")
            if tok == "(":
                at += 1
                if at >= len(tokens) or tokens[at][0] in "()":
                    where = tokens[at][1] if at < len(tokens) else len(text)
                    raise DslError(f"position {where}: expected the name of a {expected} after '('")
                name, npos = tokens[at]
                i = production(name, expected, npos, True)
                at += 1
                ops.append(i)
                if len(open_nodes) >= MAX_DEPTH:
                    raise DslError(f"position {npos}: programs nest at most {MAX_DEPTH} deep")
                open_nodes.append((name, list(reversed(grammar.productions[i].args))))
            else:
                ops.append(production(tok, expected, pos, False))
                at += 1
        # Close every parenthesis whose arguments are complete; then expect the next argument.
        expected = None
        while open_nodes and not open_nodes[-1][1]:
            name, _ = open_nodes.pop()
            if at >= len(tokens):
                raise DslError(f"position {len(text)}: missing ')' to close ({name} ...)")
            tok, pos = tokens[at]
            if tok != ")":
                raise DslError(f"position {pos}: too many arguments to {name!r}; expected ')'")
            at += 1
        if not open_nodes:
            break
        expected = open_nodes[-1][1].pop()
    if at < len(tokens):
        raise DslError(f"position {tokens[at][1]}: unexpected text after the program")
    return np.array(ops, dtype=np.int32)


def unparse(ops: Sequence[int], grammar: Grammar, start: int = 0) -> str:
    """Text of the program (or of the subtree starting at `start`)."""
    out: list[str] = []
    # Each open production: arguments still to write (a closing parenthesis follows them).
    pending: list[int] = []
    i = start
    while True:
        if i >= len(ops):
            raise DslError("incomplete program: opcode array ends inside a subtree")
        p = grammar.productions[int(ops[i])]
        i += 1
        if p.arity:
            out.append(("(" if not out or out[-1].endswith("(") else " (") + p.name)
            pending.append(p.arity)
            continue
        out.append(("" if not out or out[-1].endswith("(") else " ") + p.name)
        while pending and pending[-1] == 1:
            pending.pop()
            out.append(")")
        if not pending:
            return "".join(out)
        pending[-1] -= 1


def subtree_end(ops: Sequence[int], grammar: Grammar, start: int) -> int:
    """Index just past the subtree rooted at `start`."""
    need, i = 1, start
    while need:
        if i >= len(ops):
            raise DslError("incomplete program: opcode array ends inside a subtree")
        need += grammar.productions[int(ops[i])].arity - 1
        i += 1
    return i
