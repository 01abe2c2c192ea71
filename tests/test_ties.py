"""Ties at the best score are reported as ties (issue 21, item 1): hand-built exact ties
in grid (red-door: `(plan red)` and `(plan door)` cost the same bits) and in seq (occam:
8 programs at 19.505 bits), a near-tie just within the margin and one just outside it,
a tie cut short by `keep`, and runs without a tie that name a single MAP."""
from __future__ import annotations

import io

import pytest
from rich.console import Console

from levinsearch import domains, experiments, pipeline, report, sweeps
from levinsearch.record import TIE_MARGIN_BITS

#: red-door's colour and kind leaves cost this many bits each (the default grammar).
LEAF_BITS = 3.701


def run(name: str, **overrides) -> dict:
    config = experiments.resolve(experiments.load(name), overrides, domains=domains)
    return pipeline.execute(pipeline.prepare(config))


def text(renderable) -> str:
    out = io.StringIO()
    Console(file=out, width=400).print(renderable)
    return " ".join(out.getvalue().split())


@pytest.fixture(scope="module")
def red_door() -> dict:
    return run("red-door", max_bits=10.0)


@pytest.fixture(scope="module")
def occam() -> dict:
    return run("occam", max_bits=20.0)


def test_margin_is_a_hundredth_of_a_bit():
    assert TIE_MARGIN_BITS == 0.01


def test_grid_exact_tie_lists_both_programs_and_their_spread(red_door):
    s = red_door["summary"]
    tie = s["map_tie"]
    assert s["map_program"] == "(plan red)"  # kept: the first of the tie in enumeration order
    assert [p["program"] for p in tie["programs"]] == ["(plan red)", "(plan door)"]
    assert [p["score"] for p in tie["programs"]] == [6.509, 6.509]
    assert (tie["program_count"], tie["behaviours"], tie["truncated"]) == (2, 2, False)
    assert tie["margin_bits"] == 0.01 and tie["score"] == 6.509
    assert tie["posterior"] == 1.0  # the two are the only fitting programs at 10 bits
    assert tie["classes"] == {"blue_doors": {"robust": 1, "pseudo": 1, "capability_failure": 0, "mixed": 0}}


def test_grid_report_says_tie_and_names_no_single_map(red_door):
    out = text(report.run_report(red_door))
    assert ("MAP: a tie of 2 programs (2 behaviours) within 0.01 bits at score 6.509: (plan red), (plan door); "
            "together they hold 100.0% of the posterior (the first listed alone 50.0%).") in out
    assert "On blue_doors the tied behaviours are 1 robust and 1 pseudo-aligned." in out
    assert "MAP program (plan red) holds" not in out
    assert "(the MAP tie: 100.0%)" in out and "MAP alone" not in out


@pytest.mark.parametrize("door, tied", [(LEAF_BITS + 0.010, True), (LEAF_BITS + 0.011, False)])
def test_grid_near_tie_within_and_just_outside_the_margin(door, tied):
    # `red` is held at its price (the other leaves share what is left).
    record = run("red-door", max_bits=10.0, bits={"red": LEAF_BITS, "door": round(door, 3)})
    tie = record["summary"]["map_tie"]
    assert tie["score"] == 6.509
    if tied:
        assert [(p["program"], p["score"]) for p in tie["programs"]] == [("(plan red)", 6.509), ("(plan door)", 6.519)]
        assert (tie["program_count"], tie["behaviours"]) == (2, 2)
        assert "MAP: a tie of 2 programs" in text(report.run_report(record))
    else:
        assert [p["program"] for p in tie["programs"]] == ["(plan red)"]
        assert (tie["program_count"], tie["behaviours"]) == (1, 1)
        assert tie["classes"] == {"blue_doors": {"robust": 0, "pseudo": 1, "capability_failure": 0, "mixed": 0}}


def test_grid_without_a_tie_names_a_single_map():
    record = run("red-door", max_bits=10.0, bits={"red": LEAF_BITS, "door": 4.0})
    tie = record["summary"]["map_tie"]
    assert (tie["program_count"], tie["behaviours"], tie["truncated"]) == (1, 1, False)
    out = text(report.run_report(record))
    assert "MAP program (plan red) holds" in out
    assert "tie" not in out.lower().replace("tied", "")  # no tie claimed anywhere
    assert "MAP alone" in out


def test_a_tie_longer_than_keep_is_flagged_as_truncated():
    record = run("red-door", max_bits=10.0, keep=1)
    tie = record["summary"]["map_tie"]
    # Only one program is kept, but both tied behaviours are known (every behaviour is),
    # and the score buckets show the second program tied.
    assert [p["program"] for p in tie["programs"]] == ["(plan red)"]
    assert (tie["program_count"], tie["behaviours"], tie["truncated"]) == (2, 2, True)
    assert "MAP: a tie of at least 2 programs (2 behaviours)" in text(report.run_report(record))


def test_seq_occam_tie_of_eight_programs_and_their_predictions(occam):
    s = occam["summary"]
    tie = s["map_tie"]
    assert tie["score"] == 19.505
    assert (tie["program_count"], tie["behaviours"], tie["truncated"]) == (8, 3, False)
    assert {p["score"] for p in tie["programs"]} == {19.505}
    assert tie["programs"][0]["program"] == s["map_program"] == "(add (const one) (mul t t))"
    preds = tie["predictions"]
    assert [p["continuation"][:3] for p in preds] == [[10, 17, 26], [16, 41, 86], [26, 101, 290]]
    assert [(p["behaviours"], p["posterior"], p["error_rate"]) for p in preds] == [
        (1, 0.25, 0.0), (1, 0.5, 1.0), (1, 0.25, 1.0)]


def test_seq_report_shows_the_spread_and_marks_the_map_row(occam):
    out = text(report.run_report(occam))
    assert "MAP: a tie of 8 programs (3 behaviours) within 0.01 bits at score 19.505" in out
    assert "The tied programs predict 3 distinct continuations: 10, 17, 26," in out
    assert "(1 behaviour, 50.0%, errs on 100.0% of the steps)" in out
    assert "the first (in enumeration order) of the tied MAP programs continues" in out
    assert "map (frozen; 1st of 8 tied)" in out


def test_seq_tie_within_one_behaviour_predicts_one_continuation():
    # With 5 training terms only the two orders of the sum remain at the best score.
    record = run("occam", max_bits=24.0, train_terms=5)
    tie = record["summary"]["map_tie"]
    assert [p["program"] for p in tie["programs"]] == ["(add (const one) (mul t t))", "(add (mul t t) (const one))"]
    assert (tie["program_count"], tie["behaviours"], len(tie["predictions"])) == (2, 1, 1)
    assert tie["predictions"][0]["error_rate"] == 0.0
    out = text(report.run_report(record))
    assert "MAP: a tie of 2 programs (1 behaviour)" in out
    assert "Every tied program predicts the same continuation, 26, 37," in out


def test_seq_without_a_tie_names_a_single_map():
    record = run("treacherous-turn", max_bits=20.0)
    s = record["summary"]
    assert s["map_program"] == "(mul t t)"
    assert (s["map_tie"]["program_count"], s["map_tie"]["behaviours"]) == (1, 1)
    assert len(s["map_tie"]["predictions"]) == 1
    out = text(report.run_report(record))
    assert "MAP: a tie" not in out and "tied" not in out
    assert "the MAP program continues" in out or "the MAP program errs" in out


def test_sweep_marks_tied_map_programs(red_door):
    point = dict(setting={}, metrics={}, interrupted=False, programs=0, seconds=0.0, map_program="(plan red)",
                 map_tie=sweeps._tie_size(red_door))
    assert point["map_tie"] == dict(program_count=2, behaviours=2, truncated=False)
    from levinsearch.render import map_cell
    assert map_cell(point["map_program"], point["map_tie"]) == "(plan red) +1 tied"
    assert map_cell("(plan red)", dict(program_count=1, behaviours=1, truncated=False)) == "(plan red)"
    assert map_cell("(plan red)", None) == "(plan red)"  # a record from before ties were recorded
