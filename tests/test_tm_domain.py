"""The tm domain: experiment files, the judge, exact record values on a hand-checked small
case (the 2-state champion's output 1111 from its first two bits), Levin order, show,
reports, sweeps and bad input."""
from __future__ import annotations

import json
from collections import defaultdict
from fractions import Fraction

import numpy as np
import pytest

from conftest import invoke, run_json
from dsl.errors import DslError
from dsl.syntax import unparse
from dsl.tm.reference import TMReference, trace
from levinsearch import domains, experiments, pipeline, report
from levinsearch.domains.tm.run import END, continuations
from levinsearch.enumerate import Enumerator

TM = domains.get("tm")
CHAMP2 = "(tm2 1RB 1LB 1LA 1H)"


def example(**changes) -> dict:
    raw = TM.example()
    for table, values in changes.items():
        raw = dict(raw, **{table: dict(raw.get(table, {}), **values)})
    return experiments.resolve(raw, domains=domains)


@pytest.fixture(scope="module")
def record():
    return pipeline.run_experiment(example())


def reference_fits(config) -> dict[str, list[tuple[str, int]]]:
    """Every machine of the example's space, run by the reference interpreter:
    continuation -> [(program, steps)] of the machines whose output starts with 11."""
    prep = pipeline.prepare(config)
    ref = TMReference(prep.grammar)
    out = defaultdict(list)
    for batch in Enumerator(prep.grammar, config["search"]["max_bits"]).batches(4096):
        for i in range(len(batch)):
            ops = batch.ops[i, : batch.sizes[i]]
            run = ref.run(ops, 6)
            if run.halted and run.output.startswith("11"):
                rest = run.output[2:5]
                out[rest + "-" * (3 - len(rest))].append((unparse(ops, prep.grammar), run.steps))
    return out


def test_config_resolves_targets_and_the_default_cap():
    c = example()
    assert c["machines"] == {"states": [1, 2], "step_cap": 6,
                             "step_cap_note": "S(2) = 6: every halting machine of at most 2 states halts within it"}
    assert c["target"] == {"machine": CHAMP2, "train": 2, "deploy": 3}
    c = example(machines={"max_states": 3, "step_cap": 5}, target={"deploy": 4})
    assert c["machines"]["step_cap"] == 5 and "below 21" in c["machines"]["step_cap_note"]
    c = experiments.resolve({"experiment": {"domain": "tm"}, "target": {"prefix": "0101", "continuation": "01"},
                             "machines": {"states": [3, 2]}, "grammar": {"cost": {"T3.1RB": 3}}}, domains=domains)
    assert c["machines"]["states"] == [2, 3] and c["target"]["train"] == 4 and c["target"]["deploy"] == 8
    assert c["machines"]["step_cap"] == 21 * 3  # S(3) transitions at up to 3 steps each
    with pytest.raises(DslError, match="above the limit of 1,048,576"):
        experiments.resolve({"experiment": {"domain": "tm"}, "target": {"prefix": "1"},
                             "grammar": {"cost": {"T4.1RB": 10_000}}}, domains=domains)


@pytest.mark.parametrize("target, machines, message", [
    ({"prefix": "01", "machine": CHAMP2, "train": 1}, {}, "exactly one of machine"),
    ({}, {}, "exactly one of machine"),
    ({"prefix": "012"}, {}, "string of 0s and 1s"),
    ({"prefix": 1010}, {}, "in quotes"),
    ({"prefix": "01", "train": 2}, {}, "give train only with machine"),
    ({"machine": CHAMP2}, {}, "needs train = N"),
    ({"machine": CHAMP2, "train": 1, "continuation": "1"}, {}, "give it only with prefix"),
    ({"prefix": "01", "deploy": 0}, {}, "deploy must be >= 1"),
    ({"prefix": "01"}, {"max_states": 5}, "max_states must be <= 4"),
    ({"prefix": "01"}, {"states": []}, "non-empty list"),
    ({"prefix": "01"}, {"states": [1], "max_states": 2}, "not both"),
    ({"prefix": "01"}, {"step_cap": 0}, "step_cap must be >= 1"),
    ({"prefix": "01"}, {"colour": 1}, "unknown key 'colour' in [machines]"),
])
def test_bad_experiments_are_one_clear_error(target, machines, message):
    raw = {"experiment": {"domain": "tm"}, "target": target, "machines": machines}
    with pytest.raises(DslError, match=message.replace("[", r"\[").replace("]", r"\]")):
        experiments.resolve(raw, domains=domains)


@pytest.mark.parametrize("machine, train, message", [
    ("(tm1 1RA 1RA)", 1, "never halts"),
    (CHAMP2, 5, "has only 4 bits"),
    ("(tm2 1RB 1LB 1LA)", 1, "expected T2"),
    ("(tm5 1RB 1LC 1RC 1RB 1RD 0LE 1LA 1LD 1H 0LA)", 1, "tm5"),
])
def test_bad_target_machines_fail_before_any_run(machine, train, message):
    config = experiments.resolve({"experiment": {"domain": "tm"}, "target": {"machine": machine, "train": train}}, domains=domains)
    with pytest.raises(DslError, match=message):
        pipeline.prepare(config)


def test_the_hand_checked_record(record):
    """Machines of at most 2 states whose output starts with 11 (cap S(2) = 6). No 1-state
    machine qualifies (a halting one halts at its first step: one cell). The 2-state ones
    all cost 16.288 bits, so each holds 1/256 of the posterior."""
    e = record["enumeration"]
    assert e["programs"] == e["total"] == 36 + 10_000 and e["fitting"] == 256 and e["behaviours"] == 5
    assert e["unenumerated_mass"] == 0 and e["posterior_uncertainty"] == 0
    t = record["target"]
    assert (t["prefix"], t["continuation"], t["continuation_row"], t["output"], t["steps"], t["in_space"]) == \
        ("11", "11", "11-", "1111", 6, True)
    by = {b["continuation"]: b for b in record["behaviours"]}
    assert {k: b["programs"] for k, b in by.items()} == {"---": 244, "0--": 4, "1--": 4, "01-": 2, "11-": 2}
    assert {k: b["posterior"] for k, b in by.items()} == {k: n / 256 for k, n in
                                                           {"---": 244, "0--": 4, "1--": 4, "01-": 2, "11-": 2}.items()}
    assert [k for k, b in by.items() if b["right"]] == ["11-"]
    assert by["11-"]["program"] == "(tm2 1LB 1RB 1RA 1H)"  # the champion's mirror image comes first
    assert by["11-"]["by_states"] == {"2": {"programs": 2, "posterior": 2 / 256}}
    # The same sets, machine by machine, from the reference interpreter.
    ref = reference_fits(example())
    assert {k: len(v) for k, v in ref.items()} == {k: b["programs"] for k, b in by.items()}
    assert sorted(p for p, _ in ref["11-"]) == ["(tm2 1LB 1RB 1RA 1H)", CHAMP2]
    s = record["summary"]
    assert s["next_symbol"] == {"0": 6 / 256, "1": 6 / 256, "end": 244 / 256}
    assert s["positions"][1] == {"0": 0.0, "1": 4 / 256, "end": 252 / 256}
    assert s["positions"][2] == {"0": 0.0, "1": 0.0, "end": 1.0}
    assert s["by_states"] == {"2": {"programs": 256, "posterior": 1.0}}
    assert s["search"] is None and "not defined" in s["search_note"]
    o = s["occam"]
    assert (o["shortest_program"], o["shortest_bits"], o["shortest_states"], o["shortest_continuation"]) == \
        ("(tm2 0LB 1H 1RA 1LB)", 16.288, 2, "0--")
    assert o["shortest_agrees"] is False and o["shortest_posterior"] == 1 / 256
    assert (o["shortest_ties"], o["shortest_ties_right"]) == (256, 2)
    assert o["shortest_tie_continuations"] == {"---": 244, "0--": 4, "1--": 4, "01-": 2, "11-": 2}
    assert (o["target_equivalent_posterior"], o["target_equivalent_programs"]) == (2 / 256, 2)
    assert (o["within_posterior"], o["within_programs"]) == (1.0, 256)  # every machine costs 16.288 bits
    p = s["prediction"]
    assert (p["map"], p["mixture"], p["most_probable"], p["target"]) == ("0--", "---", "---", "11-")
    assert (p["map_right"], p["mixture_right"], p["map_error_rate"]) == (False, False, pytest.approx(2 / 3))
    r = s["rare_defection"]
    assert (r["reference"], r["max_defections"], r["programs"], r["posterior"]) == ("target", 1, 6, 6 / 256)
    assert r["by_first_disagreement"] == [250 / 256, 4 / 256, 0.0]
    assert r["defectors_by_first_disagreement"] == [2 / 256, 4 / 256, 0.0]  # 01- and 1--
    assert r["agree_posterior"] == 2 / 256
    # Online: bit 0 is 1, which leaves 1-- and 11- (4 + 2 machines, all equally heavy; the
    # MAP is then 1--'s best machine, first in canonical order); bit 1 is 1, which leaves 11-.
    on = s["online"]
    assert on["prediction"]["map"] == [0, 2, 2] and on["prediction"]["map_errors"] == [1, 2, 2]
    assert on["prediction"]["mixture"] == [2, 2, 2] and on["prediction"]["mixture_errors"] == [1, 2, 2]
    assert on["halving"] == {"target_weight": 2 / 256, "bound": 7.0, "mixture_errors": 2, "holds": True}
    h = record["hypotheses"][0]
    assert (h["program"], h["states"], h["steps"], h["output"], h["continuation"], h["right"],
            h["first_disagreement"]) == ("(tm2 0LB 1H 1RA 1LB)", 2, 6, "110", "0--", False, 0)
    assert h["table"] == [["A", "0LB", "1H"], ["B", "1RA", "1LB"]]
    assert [x["consensus"] for x in [s]][0]["top"][0]["error_rate"] == pytest.approx(2 / 3)


def test_time_weight_one_weights_machines_by_one_over_their_steps():
    rec = pipeline.run_experiment(example(search={"time_weight": 1.0}))
    ref = reference_fits(example())
    weights = {k: sum(Fraction(1, steps) for _, steps in v) for k, v in ref.items()}
    total = sum(weights.values())
    by = {b["continuation"]: b["posterior"] for b in rec["behaviours"]}
    assert by == pytest.approx({k: float(w / total) for k, w in weights.items()}, rel=1e-12)
    assert by["---"] > 244 / 256  # the quick stoppers gain
    assert rec["hypotheses"][0]["steps"] == min(s for v in ref.values() for _, s in v) == 2


def test_levin_order_budgets_and_uncertified_machines():
    """At max_bits 17 a 2-state machine gets floor(2^(17 - 16.288)) = 1 step, which no
    output of two cells fits; the 8000 that do not halt at step 1 are uncertified."""
    rec = pipeline.run_experiment(example(search={"order": "levin"}))
    e = rec["enumeration"]
    assert e["fitting"] == 0 and e["uncertified"] == 8000
    assert "No machine halts within the cap" in render(report.run_report(rec))


def test_judge_details():
    prep = pipeline.prepare(example())
    en = prep.enumerator
    k, _, count = en.levels[1]
    assert count == 10_000
    ops, sizes = en.unrank(k, 0, count)  # every 2-state machine
    fits, successes, verdict = prep.judge.fit(ops, sizes, np.full(len(ops), 1 << 62))
    assert int(fits.sum()) == 256 and set(successes[fits].tolist()) == {2} and set(successes[~fits].tolist()) == {0}
    rows = prep.judge.behaviour(ops[fits], sizes[fits])
    assert rows.shape == (256, 3) and set(np.unique(rows).tolist()) == {0, 1, END}
    flags = prep.judge.structure(ops)
    assert set(flags.tolist()) == {1}  # 2 states - 1
    # Levin budget below the cap: no verdict for machines cut off (verdict = cap + 1).
    fits3, _, verdict3 = prep.judge.fit(ops, sizes, np.full(len(ops), 3))
    runs = prep.interpreter.run(ops, sizes, 3)
    assert (verdict3[~runs.halted] == 4).all() and (verdict3[runs.halted] == runs.steps[runs.halted]).all()


def test_continuations_unpack_long_outputs():
    g = TM.grammar()
    from dsl.tm.interpreter import TMInterpreter
    from dsl.syntax import parse
    ops = parse("(tm4 1RB 1LB 1LA 0LC 1H 1LD 1RD 0RA)", g)  # Brady's champion: 10111111111111
    runs = TMInterpreter(g).run(ops[None, :], np.array([len(ops)], dtype=np.int32), 107)
    assert runs.output(0) == "10111111111111"
    rows = continuations(runs, 10, 6)
    assert rows.tolist() == [[1, 1, 1, 1, END, END]]
    assert continuations(runs, 0, 3).tolist() == [[1, 0, 1]]


def render(renderable) -> str:
    import io
    from rich.console import Console
    console = Console(width=400, file=io.StringIO(), record=True)
    console.print(renderable)
    return console.export_text()


def test_report_shows_the_answer_and_no_search_column(record):
    text = render(report.run_report(record))
    flat = " ".join(text.split())
    for piece in ("(tm2 0LB 1H 1RA 1LB)", "posterior by continuation", "11-", "the output ends 95.3%",
                  "256 fitting machines are exactly that short", "2 of them continue rightly",
                  "Embedded search is not defined for Turing machines",
                  # 256 machines share the best score: no single MAP continuation is named.
                  "MAP: a tie of 256 machines", "the tied MAP behaviours err on"):
        assert piece in flat, piece
    assert flat.count("not defined") == 1
    header = next(line for line in text.splitlines() if "machine" in line and "posterior" in line and "bits" in line)
    assert "search" not in header


def test_trace_rows_of_the_champion():
    g = TM.grammar()
    from dsl.syntax import parse
    run, rows = trace(parse(CHAMP2, g), g, 6)
    assert run == TMReference(g).run(parse(CHAMP2, g), 6)
    assert [(r.state, r.read, r.transition, r.tape, r.head_after - r.left) for r in rows] == [
        (0, 0, "1RB", "10", 1), (1, 0, "1LA", "11", 0), (0, 1, "1LB", "011", 0), (1, 0, "1LA", "0111", 0),
        (0, 0, "1RB", "1111", 1), (1, 1, "1H", "1111", 1)]
    run2, rows2 = trace(parse(CHAMP2, g), g, 100, limit=2)
    assert len(rows2) == 2 and not run2.halted and run2.steps == 2


def test_show_alone_and_against_an_experiment(capsys, tmp_path):
    code, out, err = invoke(capsys, "tm", "show", CHAMP2, "--json")
    assert code == 0, err
    r = json.loads(out)
    assert (r["schema"], r["halted"], r["steps"], r["output"], r["ones"], r["step_cap"], r["bits"]) == \
        ("levinsearch.show/1", True, 6, "1111", 4, 6, 16.288)
    assert [x["tape"] for x in r["trace"]] == ["10", "11", "011", "0111", "1111", "1111"]
    assert r["table"] == [["A", "1RB", "1LB"], ["B", "1LA", "1H"]]
    code, out, err = invoke(capsys, "tm", "show", "(tm4 1RB 1LB 1LA 0LC 1H 1LD 1RD 0RA)", "--cap", "50", "--json")
    r = json.loads(out)
    assert (r["halted"], r["steps"], r["step_cap_note"], len(r["trace"])) == (False, 50, "given by --cap", 50)
    path = tmp_path / "ex.toml"
    path.write_text('[experiment]\ndomain = "tm"\n[target]\nmachine = "(tm2 1RB 1LB 1LA 1H)"\ntrain = 2\n'
                    'deploy = 3\n[machines]\nmax_states = 2\n[search]\nmax_bits = 17\n')
    code, out, err = invoke(capsys, "show", "(tm2 1LB 1RB 1RA 0H)", "--experiment", str(path), "--json")
    assert code == 0, err
    r = json.loads(out)
    assert (r["fits"], r["prefix"], r["continuation"], r["target_continuation"], r["right"]) == \
        (True, "11", "01-", "11-", False)
    code, out, err = invoke(capsys, "show", CHAMP2, "--experiment", str(path))
    assert code == 0 and "(right)" in out and "tape trace" in out
    code, out, err = invoke(capsys, "show", CHAMP2, "--experiment", str(path), "--grid", "x.txt")
    assert code == 2 and "drop --grid" in err
    code, out, err = invoke(capsys, "tm", "show", "(tm7 0H)")
    assert code == 2 and err.startswith("error: tm show takes machines of 1 .. 5 states")


def test_run_report_and_sweep_through_the_command_line(capsys, tmp_path):
    root = tmp_path / "runs"
    path = tmp_path / "ex.toml"
    path.write_text('[experiment]\ndomain = "tm"\n[target]\nprefix = "11"\ncontinuation = "11"\ndeploy = 3\n'
                    '[machines]\nmax_states = 2\n[search]\nmax_bits = 17\n')
    rec = run_json(capsys, str(path), "--runs-dir", str(root))
    assert rec["enumeration"]["fitting"] == 256 and rec["summary"]["occam"]["target_equivalent_programs"] == 2
    code, out, _ = invoke(capsys, "report", "latest", "--runs-dir", str(root))
    assert code == 0 and "posterior by continuation" in out
    code, out, err = invoke(capsys, "sweep", str(path), "--set", 'prefix="1","11"', "--no-save", "--json")
    assert code == 0, err
    sw = json.loads(out)
    # prefix 1: 6 one-state machines (output 1) and 1518 two-state ones (D(2): 1000 output 1,
    # 254 10, 244 11, 2 100, 2 101, 4 110, 4 111, and 2 each of 1001, 1011, 1101, 1111)
    assert [p["metrics"]["fitting"] for p in sw["points"]] == [6 + 1518, 256]
    assert sw["points"][1]["metrics"]["right"] == 2 / 256 and sw["points"][1]["metrics"]["ties_right"] == 2 / 256
    assert sw["points"][1]["metrics"]["next_end"] == 244 / 256
    code, out, err = invoke(capsys, "sweep", str(path), "--set", "prefix=1,11", "--no-save")
    assert code == 2 and "in quotes" in err


def test_no_fitting_machines_is_reported_not_an_error():
    rec = pipeline.run_experiment(experiments.resolve(
        {"experiment": {"domain": "tm"}, "target": {"prefix": "0101010"}, "machines": {"max_states": 2},
         "search": {"max_bits": 17}}, domains=domains))
    assert rec["enumeration"]["fitting"] == 0 and rec["behaviours"] == [] and rec["summary"]["map_program"] is None
    assert "no fitting machines" in render(report.run_report(rec))
