"""Program text: type-directed parsing, unparsing, round trips and error messages."""
from __future__ import annotations

import numpy as np
import pytest

from dsl.errors import DslError
from dsl.grid import primitives as gp
from dsl.syntax import parse, subtree_end, unparse
from levinsearch.enumerate import Enumerator

G = gp.grammar()


def op(qualified: str) -> int:
    return G.resolve(qualified)[0]


HAND_WRITTEN = [
    "N",
    "W",
    "(plan red)",
    "(greedy door)",
    "(plan (and red door))",
    "(plan (or (not wall) (and blue key)))",
    "(if (sense N wall) E (plan red))",
    "(if (see (and green gem)) (greedy (not empty)) S)",
    "(if (not (sense W empty)) (if (and (see red) (sense S box)) N E) W)",
    "(if (and (not (see yellow)) (and (sense E (or red blue)) (see key))) (plan door) (greedy (not (not red))))",
]


@pytest.mark.parametrize("text", HAND_WRITTEN)
def test_round_trip_hand_written(text):
    ops = parse(text, G)
    assert ops.dtype == np.int32
    assert unparse(ops, G) == text
    assert np.array_equal(parse(unparse(ops, G), G), ops)
    assert subtree_end(ops, G, 0) == len(ops)


def test_parse_exact_opcodes_and_type_directed_names():
    # N is Action.N at the top and Dir.N inside sense; 'not' and 'and' resolve by type too.
    ops = parse("(if (sense N wall) N (plan (not red)))", G)
    assert ops.tolist() == [
        op("Action.if"), op("Bool.sense"), op("Dir.N"), op("wall"), op("Action.N"),
        op("plan"), op("Pred.not"), op("red"),
    ]
    assert ops.tolist() == [4, 7, 24, 19, 0, 5, 23, 11]
    assert parse("(if (not (see red)) E W)", G).tolist() == [4, 9, 8, 11, 1, 3]
    assert parse("(if (and (see red) (see blue)) E W)", G).tolist() == [4, 10, 8, 11, 8, 12, 1, 3]


def test_parse_other_types_and_whitespace():
    assert parse("(and red (not door))", G, "Pred").tolist() == [op("Pred.and"), op("red"), op("Pred.not"), op("door")]
    assert parse("S", G, "Dir").tolist() == [op("Dir.S")]
    assert parse("(sense S red)", G, "Bool").tolist() == [op("sense"), op("Dir.S"), op("red")]
    ops = parse("  ( plan\n\t  red )  ", G)
    assert ops.tolist() == [op("plan"), op("red")]
    assert unparse(ops, G) == "(plan red)"
    assert parse("(plan(and red door))", G).tolist() == [op("plan"), op("Pred.and"), op("red"), op("door")]


def test_unparse_subtree_and_subtree_end():
    ops = parse("(if (sense N wall) E (plan red))", G)
    assert unparse(ops, G, 1) == "(sense N wall)"
    assert unparse(ops, G, 5) == "(plan red)"
    assert subtree_end(ops, G, 1) == 4
    assert subtree_end(ops, G, 4) == 5
    assert subtree_end(ops, G, 5) == 7
    with pytest.raises(DslError, match="incomplete program"):
        unparse(ops[:6], G)
    with pytest.raises(DslError, match="incomplete program"):
        subtree_end(ops[:3], G, 0)


def _all_programs(grammar, max_bits):
    out = []
    for batch in Enumerator(grammar, max_bits).batches(batch_size=97):
        for i in range(len(batch)):
            out.append((batch.ops[i, : batch.sizes[i]].copy(), batch.mbits))
    return out


@pytest.mark.parametrize("grammar", [gp.grammar(), gp.grammar(ban=["see"]), gp.grammar(bits={"red": 1})],
                         ids=["plain", "ban-see", "red=1"])
def test_round_trip_every_enumerated_program(grammar):
    programs = _all_programs(grammar, 16)
    assert len(programs) == sum(c for _, c in grammar.counts_by_length(16))
    texts = set()
    for ops, mbits in programs:
        text = unparse(ops, grammar)
        back = parse(text, grammar)
        assert np.array_equal(back, ops), text
        assert grammar.program_mbits(back) == mbits
        texts.add(text)
    assert len(texts) == len(programs)  # distinct programs have distinct texts


@pytest.mark.parametrize(
    "text,message",
    [
        ("(plan N)", "position 6: expected Pred (and, blue, box, door, empty, gem, green, key, not, or, red, wall, yellow), got 'N'"),
        ("(plan red", "position 9: missing ')' to close (plan ...)"),
        ("(plan red))", "position 10: unexpected text after the program"),
        ("N E", "position 2: unexpected text after the program"),
        ("(N)", "position 1: 'N' takes no arguments; write it without parentheses"),
        ("(plan (red))", "position 7: 'red' takes no arguments; write it without parentheses"),
        ("plan", "position 0: 'plan' takes 1 argument(s) (Pred); write (plan ...)"),
        ("(if see E W)", "position 4: 'see' takes 1 argument(s) (Pred); write (see ...)"),
        ("(plan red blue)", "position 10: too many arguments to 'plan'; expected ')'"),
        ("", "position 0: program ends where a Action was expected"),
        ("   ", "position 3: program ends where a Action was expected"),
        ("()", "position 1: expected the name of a Action after '('"),
        ("(", "position 1: expected the name of a Action after '('"),
        (")", "position 0: expected Action, got ')'"),
        ("(if (see red) N)", "position 15: expected Action, got ')'"),
        ("(if (sense red N) E W)", "position 11: expected Dir (E, N, S, W), got 'red'"),
        ("(sense N red)", "position 1: expected Action (E, N, S, W, greedy, if, plan), got 'sense'"),
        ("north", "position 0: expected Action (E, N, S, W, greedy, if, plan), got 'north'"),
    ],
)
def test_error_messages_name_position_and_expected_type(text, message):
    with pytest.raises(DslError) as info:
        parse(text, G)
    assert str(info.value) == message


def test_banned_production_cannot_be_parsed():
    g = gp.grammar(ban=["plan"])
    with pytest.raises(DslError) as info:
        parse("(if (see red) E (plan red))", g)
    assert str(info.value) == "position 17: Action.plan is banned in this grammar"
    # the same text parses in the plain grammar, to the same opcodes it would have had
    assert parse("(if (see red) E (plan red))", G).tolist() == [4, 8, 11, 1, 5, 11]
