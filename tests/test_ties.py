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
    # No single tied MAP continuation is named: each distinct one gets a row.
    assert "the tied MAP behaviours err on 66.7% of the steps on average (from 0.0% to 100.0%)" in out
    assert out.count("map tie, 1 behaviour (frozen)") == 3 and "map (frozen)" not in out
    assert "Of the 3 tied behaviours 1 predicts the target on every step; the MAP error over the tie is 66.7%." in out


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


# ------------------------------------------------------------------ hand-built ties: every MAP-based figure
BAN = ["x2", "k", "c0", "sub", "div", "mod", "if", "find", "lt", "eq", "not", "and"]


def seq_tie(**overrides) -> dict:
    """t*t + 1 from 3 terms with a small grammar: 8 programs tie at 12.61 bits in 3
    behaviours ((add one (mul t t)), (mul t x1) and (mul x1 x1) forms), 1 of them right."""
    raw = experiments.load("occam")
    raw["target"] = {"terms": [1, 2, 5, 10, 17, 26], "train": 3, "deploy": 3}
    config = experiments.resolve(raw, dict(max_bits=20.0, ban=BAN, **overrides), domains=domains)
    return pipeline.execute(pipeline.prepare(config))


@pytest.fixture(scope="module")
def seq_hand() -> dict:
    return seq_tie()


def test_seq_hand_built_tie_spread_and_tie_aware_metrics(seq_hand):
    s = seq_hand["summary"]
    tie = s["map_tie"]
    assert (tie["program_count"], tie["behaviours"], tie["right_behaviours"]) == (8, 3, 1)
    assert [(p["continuation"], p["behaviours"], p["error_rate"]) for p in tie["predictions"]] == [
        ([10, 17, 26], 1, 0.0), ([16, 41, 86], 1, 1.0), ([26, 101, 290], 1, 1.0)]
    assert tie["error_rate"] == pytest.approx(2 / 3) and tie["error_range"] == [0.0, 1.0]
    st = s["occam"]["shortest_tie"]
    assert (st["bits"], st["programs"], st["behaviours"], st["agreeing_behaviours"]) == (12.61, 8, 3, 1)
    assert tie["score"] == 12.61
    # Online: the tie holds at step 0 only (the revealed term refutes two behaviours).
    op = s["online"]["prediction"]
    assert op["map_tie"] == [3, 1, 1] and op["map_tie_values"] == [[10, 16, 26], [17], [26]]
    assert op["map_tie_errors"] == dict(certain=0, possible=1, expected=pytest.approx(2 / 3))
    assert op["shortest_tie"] == [3, 1, 1]
    # The sweep metrics read the tie, not its first program.
    seq = domains.get("seq")
    assert seq.metrics["map_error"][2](seq_hand, None) == pytest.approx(2 / 3)
    assert seq.metrics["shortest"][2](seq_hand, None) == pytest.approx(st["posterior"] / 8)


def test_seq_hand_built_tie_report(seq_hand):
    out = text(report.run_report(seq_hand))
    assert "MAP: a tie of 8 programs (3 behaviours) within 0.01 bits at score 12.610" in out
    assert "Of the 3 tied behaviours 1 predicts the target on every step; the MAP error over the tie is 66.7%." in out
    assert ("Shortest fitting programs: a tie of 8 programs (3 behaviours) within 0.01 bits of 12.610 bits" in out
            and "Of their 3 behaviours 1 agrees with the target on every deployment step." in out)
    assert "the MAP program (a tie at 1 of the 3 steps) errs on 0 to 1 steps, 0.67 expected over the tie" in out
    assert "map (online, tie) 10/16/26 17 26" in out and "shortest (online, tie) 10/16/26" in out
    assert "Shortest fitting program (" not in out and "the MAP program continues" not in out


def test_seq_consensus_trusts_a_tie_at_the_cut_whole():
    # Terms 1, 2, 4, ... from 2: (add t one) and (add x1 one) tie exactly; top 1 cuts the tie.
    raw = experiments.load("occam")
    raw["target"] = {"terms": [1, 2, 4, 8, 16, 32], "train": 2, "deploy": 4}
    record = pipeline.execute(pipeline.prepare(experiments.resolve(raw, dict(max_bits=14.0, ban=BAN),
                                                                   domains=domains)))
    assert (record["summary"]["map_tie"]["program_count"], record["summary"]["map_tie"]["behaviours"]) == (4, 2)
    top1 = record["summary"]["consensus"]["top"][0]
    assert (top1["value"], top1["size"]) == (1, 1)
    assert (top1["tie"]["size"], top1["tie"]["predicted"], top1["tie"]["abstention_rate"]) == (2, 1, 0.75)
    assert record["summary"]["consensus"]["ratio"][0]["tie"] is None  # a ratio has no cut
    out = text(report.run_report(record))
    assert "top 1 (a tie at the cut: trusted whole)" in out


def test_grid_consensus_agent_trusts_a_tie_at_the_top_whole():
    # At 10 bits only (plan red) and (plan door) fit, with equal weight: top 1 by the
    # enumeration's order trusts (plan red) alone and ends on the blue door's objective
    # every time; trusting the tie asks instead and never errs.
    record = run("consensus-grid", max_bits=10.0)
    split = record["summary"]["splits"]["blue_doors"]
    top1 = split["consensus"][0]
    assert (top1["rule"], top1["value"], top1["size"], top1["catastrophes"]) == ("top", 1, 1, 50)
    assert (top1["tie"]["size"], top1["tie"]["catastrophes"], top1["tie"]["queries_per_episode"]) == (2, 0, 4.06)
    assert top1["tie"]["members"] == ["(plan red)", "(plan door)"]
    live = split["consensus_online"][0]
    assert (live["catastrophes"], live["tie"]["catastrophes"], live["tie"]["total_queries"]) == (27, 0, 1)
    assert split["consensus"][1]["tie"] is None  # top 2 holds the whole tie already
    out = text(report.run_report(record))
    assert "top 1 (a tie at the cut: trusted whole) 2 0 (0.0%) 4.06" in out


# ------------------------------------------------------------------ the grammar's order decides nothing
def _swapped(module, a: str, b: str):
    """`module.productions` with productions `a` and `b` in each other's place."""
    original = module.productions

    def productions(*args, **kwargs):
        prods = list(original(*args, **kwargs))
        i, j = [k for k, p in enumerate(prods) if p.name in (a, b)]
        prods[i], prods[j] = prods[j], prods[i]
        return prods
    return productions


def _seq_headlines(record: dict) -> dict:
    s = record["summary"]
    tie, st, op = s["map_tie"], s["occam"]["shortest_tie"], s["online"]["prediction"]
    seq = domains.get("seq")
    return dict(
        tie=(tie["score"], tie["program_count"], tie["behaviours"], tie["posterior"], tie["right_behaviours"],
             tie["error_rate"], tie["error_range"],
             sorted((tuple(p["continuation"]), p["behaviours"], p["posterior"]) for p in tie["predictions"])),
        shortest=(st["programs"], st["behaviours"], st["posterior"], st["agreeing_behaviours"]),
        online={k: op[k] for k in ("mixture", "map_tie", "map_tie_values", "map_tie_errors", "shortest_tie",
                                   "shortest_tie_values", "shortest_tie_errors")},
        consensus={rule: [(r["tie"] or r)["size"] for r in rows] + [(r["tie"] or r)["error_rate"] for r in rows]
                   for rule, rows in s["consensus"].items()},
        online_consensus={rule: [(r["tie"] or r)["total_queries"] for r in rows]
                          for rule, rows in s["online"]["consensus"].items()},
        metrics={m: seq.metrics[m][2](record, None) for m in seq.table_metrics if m in seq.metrics},
        mixture=s["prediction"]["mixture"], within=s["occam"]["within_posterior"])


def test_reordering_tied_seq_productions_changes_no_headline(seq_hand, monkeypatch):
    from dsl.seq import primitives
    monkeypatch.setattr(primitives, "productions", _swapped(primitives, "t", "x1"))
    swapped = seq_tie()
    assert swapped["summary"]["map_program"] != seq_hand["summary"]["map_program"]  # the order did change
    assert _seq_headlines(swapped) == _seq_headlines(seq_hand)


def test_reordering_tied_grid_productions_changes_no_headline(monkeypatch):
    def headlines(record):
        s = record["summary"]
        split = s["splits"]["blue_doors"]
        return dict(tie=(s["map_tie"]["program_count"], s["map_tie"]["behaviours"], s["map_tie"]["posterior"],
                         s["map_tie"]["classes"]),
                    classes=split["classes"], outcomes=split["outcome_mass"], search=s["search_mass"],
                    frozen=[{k: v for k, v in (r["tie"] or r).items() if k != "members"} for r in split["consensus"]],
                    online=[(r["tie"] or r)["catastrophes"] for r in split["consensus_online"]])
    before = run("consensus-grid", max_bits=10.0)
    from dsl.grid import primitives
    monkeypatch.setattr(primitives, "productions", _swapped(primitives, "red", "door"))
    after = run("consensus-grid", max_bits=10.0)
    assert after["summary"]["map_program"] == "(plan door)" != before["summary"]["map_program"]
    assert headlines(after) == headlines(before)


# ------------------------------------------------------------------ the tie in every remaining MAP figure
def test_probable_tie_names_every_heaviest_behaviour():
    import numpy as np
    from levinsearch.analyses.prediction import probable_tie
    rows = np.array([[1, 2], [1, 3], [4, 5], [1, 2]])
    target = np.array([1, 2])
    # Within 0.01 bits of the heaviest: 0.4 and 0.3985 (0.4 · 2^-0.0055); 0.2 is not.
    pt = probable_tie([0.4, 0.3985, 0.1, 0.1015], rows, target)
    assert (pt["behaviours"], pt["agreeing_behaviours"], pt["posterior"]) == (2, 1, pytest.approx(0.7985))
    assert pt["continuations"] == [dict(continuation=[1, 2], behaviours=1, posterior=0.4, agrees=True),
                                   dict(continuation=[1, 3], behaviours=1, posterior=0.3985, agrees=False)]
    assert probable_tie([0.5, 0.3, 0.2, 0.0], rows, target) is None  # one heaviest: no tie


def stakes_tie() -> dict:
    """seq_tie with step 1 at stakes 10 and tail samples (the whole posterior)."""
    raw = experiments.load("occam")
    raw["target"] = {"terms": [1, 2, 5, 10, 17, 26], "train": 3, "deploy": 3}
    raw["stakes"] = {"default": 1, "steps": {1: 10}}
    config = experiments.resolve(raw, dict(max_bits=20.0, ban=BAN, tail_samples=300), domains=domains)
    return pipeline.execute(pipeline.prepare(config))


def test_seq_tie_stakes_and_whole_posterior_read_the_whole_tie():
    record = stakes_tie()
    s = record["summary"]
    st = s["stakes"]
    # The 3 tied behaviours continue 10 17 26 (right), 16 41 86 and 26 101 290 (wrong on
    # every step): stakes-weighted losses 0, 12 and 12, their mean 8.
    assert st["map"] == dict(loss=8.0, rate=pytest.approx(2 / 3), errors=2,
                             tie=dict(behaviours=3, loss_range=[0.0, 12.0], errors_range=[0, 3]))
    # Online the tie holds at step 0 only (stakes 1), where 2 of its 3 behaviours err.
    assert st["online_map"]["loss"] == pytest.approx(2 / 3) and st["online_map"]["errors"] == pytest.approx(2 / 3)
    assert st["online_map"]["tie"] == dict(behaviours=3, loss_range=[0.0, 1.0], errors_range=[0, 1])
    w = s["whole_posterior"]
    assert w["map_tie"]["exact"] == pytest.approx(s["map_tie"]["posterior"], rel=1e-12)
    assert w["shortest_tie"]["exact"] == pytest.approx(s["occam"]["shortest_tie"]["posterior"], rel=1e-12)
    assert w["map"]["exact"] == pytest.approx(s["map_tie"]["posterior"] / 8)  # one program's, kept beside
    out = text(report.run_report(record))
    assert "MAP (frozen), a tie of 3 behaviours (mean, range) 8 (0–12) 66.7% 2 (0–3)" in out
    assert "MAP (online), a tie of 3 behaviours (mean, range) 0.6667 (0–1) 5.6% 0.667 (0–1)" in out
    assert "shortest programs: a tie of 8 (3 behaviours), together 84.7%" in out
    assert "MAP: a tie of 8 programs (3 behaviours), together 84.7%" in out
    assert "MAP program (add" not in out and "shortest program (add" not in out


def test_seq_most_probable_continuation_names_a_tie():
    # Terms 1, 2, 4, ... from 2: (add t one) and (add x1 one) are two behaviours of equal weight.
    raw = experiments.load("occam")
    raw["target"] = {"terms": [1, 2, 4, 8, 16, 32], "train": 2, "deploy": 4}
    record = pipeline.execute(pipeline.prepare(experiments.resolve(raw, dict(max_bits=14.0, ban=BAN),
                                                                   domains=domains)))
    p = record["summary"]["prediction"]
    pt = p["most_probable_tie"]
    assert (pt["behaviours"], pt["agreeing_behaviours"], len(pt["continuations"])) == (2, 0, 2)
    assert [e["continuation"] for e in pt["continuations"]] == [[3, 4, 5, 6], [3, 5, 9, 17]]
    out = text(report.run_report(record))
    assert "Most probable continuation: a tie of 2 behaviours within 0.01 bits of the heaviest" in out
    assert "Most probable continuation 3" not in out


def test_tm_machine_tables_show_the_tie_not_its_first_machine():
    tm = domains.get("tm")
    record = pipeline.run_experiment(experiments.resolve(tm.example(), domains=domains))
    out = text(report.run_report(record))
    # 256 machines tie at 16.288 bits in 5 behaviours: no table of one of them, no "1st of".
    assert "MAP: a tie of 256 machines" in out and "1st of" not in out
    assert "256 machines (5 behaviours) within 0.01 bits at score 16.288, together 100.0%" in out
    assert "They continue 0-- (1); --- (1); 1-- (1); 01- (1); … │" in out
    assert "shortest: a tie of 256 machines" in out
    assert "MAP (tm2" not in out


def test_tm_mirror_images_tie_in_one_behaviour():
    # A machine and its mirror image (L and R swapped) cost the same and output the same:
    # under Levin's Kt the champion's 3-bit prefix leaves 2 tied machines in 1 behaviour.
    tm = domains.get("tm")
    raw = dict(tm.example(), target={"machine": "(tm2 1RB 1LB 1LA 1H)", "train": 3, "deploy": 1})
    raw["search"] = dict(max_bits=20, time_weight=1.0)
    record = pipeline.run_experiment(experiments.resolve(raw, domains=domains))
    tie = record["summary"]["map_tie"]
    assert (tie["program_count"], tie["behaviours"]) == (2, 1)
    out = text(report.run_report(record))
    names = " and ".join(p["program"] for p in tie["programs"])
    assert "MAP: a tie of 2 machines" in out and "2 machines (1 behaviour) within 0.01 bits" in out
    assert f"together 37.5%: {names.replace(' and ', ', ')}. │" in out and "They continue - (1). │" in out


def test_grid_smoothed_deployment_reads_the_map_tie():
    # At 10 bits only (plan red) and (plan door) fit, with equal weight: the tie's mean over
    # its 2 behaviours is then the posterior itself, not (plan red)'s rates.
    record = run("red-door", max_bits=10.0, smooth=0.1, smooth_samples=4)
    sm = record["summary"]["splits"]["blue_doors"]["smoothed"]
    assert sm["map_tie"] == sm["posterior"]
    assert sm["map"]["proxy"]["mean"] > sm["map_tie"]["proxy"]["mean"] > 0  # (plan red) alone errs more
    out = text(report.run_report(record))
    assert "blue_doors 0.1 × 4 MAP tie (2 behaviours, mean)" in out and "0.1 × 4 MAP " not in \
        out.replace("MAP tie", "")


def test_seq_online_figure_draws_the_tie_not_its_first_program(seq_hand):
    from levinsearch import figures
    with figures.style():
        fig = dict(figures.figures_of(seq_hand, domains.get("seq")))["online"]
    by_label = {line.get_label(): list(line.get_ydata()) for line in fig.axes[0].lines}
    # Online the tie of 3 holds at step 0, where 2 of them err; frozen, 2 of 3 err on every step.
    assert by_label["map tie (online, expected)"] == pytest.approx([2 / 3, 2 / 3, 2 / 3])
    assert by_label["map tie (frozen, mean)"] == pytest.approx([2 / 3, 4 / 3, 2])
    assert "map (online)" not in by_label and "map (frozen)" not in by_label
