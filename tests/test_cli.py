"""The command line as a user meets it: JSON documents, reports, one-line errors."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import invoke, run_json

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def red_door_record():
    from levinsearch import domains, experiments, pipeline
    return pipeline.run_experiment(experiments.resolve(experiments.load("red-door"), domains=domains))


def test_run_json_has_the_documented_fields(capsys):
    record = run_json(capsys, "--max-bits", "14")
    assert record["schema"] == "levinsearch.run/1"
    assert record["experiment"] == "red-door"
    assert record["domain"] == "grid"
    assert record["config"]["search"]["max_bits"] == 14.0
    assert record["config"]["flags"] == ["max_bits"]
    e = record["enumeration"]
    for key in ("order", "max_bits", "programs", "fitting", "complete_up_to_score", "unenumerated_mass", "seconds"):
        assert key in e
    assert e["programs"] == 464  # 4 + 20 + 20 + 420 programs of at most 14 bits
    assert e["complete_up_to_score"] == 14.0
    assert e["fitting"] == len(record["hypotheses"])
    h = record["hypotheses"][0]
    for key in ("rank", "program", "bits", "steps", "score", "posterior", "search", "mesa_objective",
                "train_success", "test"):
        assert key in h
    assert set(h["test"]["blue_doors"]) == {"base", "proxy", "other", "none"}
    assert abs(sum(x["posterior"] for x in record["hypotheses"]) - 1) < 1e-9
    assert "summary" in record and "blue_doors" in record["summary"]["splits"]


def test_json_goes_alone_on_stdout(capsys):
    code, out, err = invoke(capsys, "run", "--max-bits", "8", "--json")
    assert code == 0
    json.loads(out)  # the whole of stdout is one document


def test_red_door_finds_both_door_and_red_seekers(red_door_record):
    by_program = {h["program"]: h for h in red_door_record["hypotheses"]}
    red, door = by_program["(plan red)"], by_program["(plan door)"]
    assert red["bits"] == door["bits"] == 6.509
    assert {red["rank"], door["rank"]} == {1, 2}
    assert red["test"]["blue_doors"] == {"base": 0.0, "proxy": 1.0, "other": 0.0, "none": 0.0}
    assert door["test"]["blue_doors"] == {"base": 1.0, "proxy": 0.0, "other": 0.0, "none": 0.0}
    assert red["mesa_objective"] == ["red"] and door["mesa_objective"] == ["door"]
    assert red["posterior"] == pytest.approx(door["posterior"])
    assert red["train_success"] == door["train_success"] == 1.0


def test_report_renders_the_red_door_answer(capsys):
    code, out, err = invoke(capsys, "run", "--max-bits", "14", "--top", "3")
    assert code == 0
    flat = " ".join(out.split())
    for text in ("levinsearch run", "enumeration", "(plan red)", "(plan door)", "blue_doors",
                 "posterior mass by outcome", "every program with score ≤ 14 was judged"):
        assert text in flat


def test_flags_override_the_file(capsys):
    record = run_json(capsys, "--max-bits", "10", "--time-weight", "1", "--time-penalty", "linear",
                      "--train-envs", "5", "--test-envs", "7", "--horizon", "9", "--seed", "3",
                      "--ban", "greedy", "--bits", "red=2", "--cost", "door=4", "--top", "2")
    c = record["config"]
    assert c["search"]["time_weight"] == 1.0 and c["search"]["time_penalty"] == "linear"
    assert c["train"]["envs"] == 5 and c["test"]["blue_doors"]["envs"] == 7
    assert c["train"]["horizon"] == c["test"]["blue_doors"]["horizon"] == 9
    assert c["seed"] == 3
    assert c["grammar"] == {"ban": ["greedy"], "bits": {"red": 2.0}, "cost": {"door": 4}}
    assert record["environments"] == {"train": 5, "test": {"blue_doors": 7}}
    grammar = {p["qualified"]: p for p in record["grammar"]}
    assert grammar["Action.greedy"]["banned"] and grammar["Pred.red"]["bits"] == 2.0
    assert grammar["Pred.door"]["cost"] == 4


def test_levin_order_records_phases(capsys):
    record = run_json(capsys, "--order", "levin", "--time-weight", "1")
    e = record["enumeration"]
    assert e["order"] == "levin" and e["levin_steps"] > 0
    for h in record["hypotheses"]:
        # certified in phase ceil(bits + log2 steps), which is at most max_bits
        import math
        assert h["phase"] == math.ceil(h["bits"] + math.log2(h["steps"]) - 1e-9)
        assert h["phase"] <= 20


def test_enumerate_lists_and_counts(capsys):
    code, out, _ = invoke(capsys, "enumerate", "grid", "--max-bits", "8", "--json")
    record = json.loads(out)
    assert record["schema"] == "levinsearch.enumerate/1" and record["total"] == 24
    assert [p["program"] for p in record["programs"][:6]] == ["N", "E", "S", "W", "(plan red)", "(plan blue)"]
    code, out, _ = invoke(capsys, "enumerate", "grid", "--max-bits", "14", "--counts", "--json")
    counts = json.loads(out)["counts"]
    assert [(c["bits"], c["programs"]) for c in counts] == [(2.808, 4), (6.509, 20), (10.21, 20), (13.911, 420)]
    assert counts[0]["kraft_mass"] == pytest.approx(4 * 2 ** -2.808)
    code, out, _ = invoke(capsys, "enumerate", "grid", "--max-bits", "8", "--limit", "3")
    assert "(3 of 24)" in " ".join(out.split())


def test_dsl_json_lists_every_production(capsys):
    code, out, _ = invoke(capsys, "dsl", "grid", "--json", "--ban", "plan")
    record = json.loads(out)
    assert record["schema"] == "levinsearch.dsl/1" and record["start"] == "Action"
    names = [p["qualified"] for p in record["productions"]]
    assert len(names) == 28 and "Action.plan" in names and "Pred.and" in names
    moves = [p for p in record["productions"] if p["qualified"] == "Action.N"][0]
    assert moves["bits"] == 2.585  # log2(6) after the ban, rounded up to millibits


def test_show_on_a_hand_drawn_grid(capsys, tmp_path):
    grid = tmp_path / "g.txt"
    grid.write_text("#######\n#@..D.#\n#.b...#\n#######\n\nD = blue door\nb = red box\n")
    code, out, err = invoke(capsys, "show", "(plan red)", "--grid", str(grid), "--json")
    assert code == 0, err
    record = json.loads(out)
    # Step 1 tests (1,2), (2,1), (1,3), (2,2) -> 1 + 4 steps, moves E; step 2 tests (1,3), (2,2) -> 1 + 2.
    assert record["steps"] == 8 and record["moves"] == 2
    assert record["reached"] == {"row": 2, "column": 2, "object": "red box"}
    assert record["path"] == [[1, 1], [1, 2], [2, 2]]
    assert record["outcome"] == "proxy"
    code, out, err = invoke(capsys, "show", "(plan door)", "--grid", str(grid))
    assert code == 0 and "blue door" in out and "trajectory" in out


def test_show_on_an_experiment_environment(capsys):
    code, out, err = invoke(capsys, "show", "(plan door)", "--experiment", "red-door", "--env", "blue_doors:3",
                            "--json")
    assert code == 0, err
    record = json.loads(out)
    assert record["outcome"] == "base" and record["reached"]["object"] == "blue door"


def test_experiments_lists_red_door(capsys):
    code, out, _ = invoke(capsys, "experiments", "--json")
    names = [e["name"] for e in json.loads(out)["experiments"]]
    assert "red-door" in names


def test_every_bundled_experiment_asks_one_question(capsys):
    """`levinsearch experiments` lists each bundled experiment with the question its
    header asks: the first sentence of its `# Question:` paragraph, ending in "?"."""
    code, out, _ = invoke(capsys, "experiments", "--json")
    assert code == 0
    rows = {e["name"]: e for e in json.loads(out)["experiments"]}
    assert len(rows) == 25
    for name, row in rows.items():
        q = row["question"]
        assert q.endswith("?") and q.count("?") == 1 and len(q) > 20, (name, q)
    assert rows["red-door"]["question"] == ("Trained where every door is red, do the simplest fitting programs go "
                                            "to the door or to red?")
    code, out, _ = invoke(capsys, "experiments", "--width", "300")
    assert code == 0 and "question" in out and "Does the simplicity prior place a defector's one error" in out


def test_question_is_the_first_sentence_of_the_question_paragraph(tmp_path):
    from levinsearch import experiments
    path = tmp_path / "x.toml"
    path.write_text("# x: a test\n#\n# Question: does it\n# wrap? More text.\n# Source: none.\n\n"
                    "[experiment]\nname = \"x\"\n")
    assert experiments.question(str(path)) == "does it wrap?"
    path.write_text("[experiment]\nname = \"x\"\n# Question: late comments are not a header?\n")
    assert experiments.question(str(path)) == ""


@pytest.mark.parametrize("args, message", [
    (["run", "no-such-experiment"], "unknown experiment"),
    (["run", "--ban", "teleport"], "unknown primitive 'teleport'"),
    (["run", "--bits", "N=3"], "ambiguous primitive 'N'"),
    (["run", "--bits", "red"], "--bits takes NAME=VALUE"),
    (["run", "--bits", "red=lots"], "value must be a number"),
    (["run", "--time-weight", "-1"], "time_weight must be >= 0"),
    (["run", "--length-weight", "-0.5"], "length_weight must be >= 0"),
    (["run", "--time-weight", "abc"], "'abc' is not a valid float"),
    (["run", "--order", "fastest"], "'fastest' is not one of"),
    (["run", "--max-bits", "500"], "max_bits must be in"),
    (["run", "--max-bits", "2"], "no program of 2 bits or fewer"),
    (["run", "--train-envs", "0"], "envs must be >= 1"),
    (["run", "--fit-threshold", "0"], "fit_threshold must be in (0, 1]"),
    (["run", "--bits", "red=0"], "leave no probability"),
    (["run", "--cost", "plan=-2"], "cost for plan must be a whole number in [0, 1,000,000]"),
    (["show", "(plan N)", "--grid", "missing.txt"], "cannot read grid"),
    (["show", "(plan", "--experiment", "red-door", "--env", "train:0"], "program ends where a Pred was expected"),
    (["show", "(plan N)", "--experiment", "red-door", "--env", "train:0"], "position 6: expected Pred"),
    (["show", "E", "--experiment", "red-door", "--env", "train:99"], "has environments 0..19"),
    (["show", "E", "--experiment", "red-door", "--env", "moon:1"], "unknown split 'moon'"),
    (["show", "E"], "show needs --grid FILE"),
    (["enumerate", "grid", "--max-bits", "-3"], "--max-bits must be in"),
    (["enumerate", "chess", "--max-bits", "3"], "Invalid value for 'DOMAIN': 'chess' is not"),
])
def test_bad_input_gets_one_error_line(capsys, args, message):
    code, out, err = invoke(capsys, *args)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and message in lines[0], lines[0]
    assert "Traceback" not in err


@pytest.mark.parametrize("body, message", [
    ("[search]\nmax_bitz = 3\n[test.a]\n", "unknown key 'max_bitz' in [search]"),
    ("[experiment\n", "not valid TOML"),
    ("[search]\nmax_bits = 10\n", "no test split"),
    ("[train]\nheight = 2\nwidth = 2\ndoors = { count = 3 }\n[test.a]\n", "do not fit in a 2x2 grid"),
    ("[train]\ndoors = { count = 1, colours = [\"purple\"] }\n[test.a]\n", "unknown colour 'purple'"),
    ("[train]\nwall_density = 0.95\nheight = 9\nwidth = 9\n[test.a]\n", "no layout with every object reachable"),
    ("[experiment]\nproxy = \"(and red\"\n[test.a]\n", "program ends where a Pred was expected"),
    ("[search]\norder = \"random\"\n[test.a]\n", "order must be one of"),
])
def test_bad_experiment_files_get_one_error_line(capsys, tmp_path, body, message):
    path = tmp_path / "bad.toml"
    path.write_text(body)
    code, out, err = invoke(capsys, "run", str(path), "--max-bits", "8")
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], err


def test_hand_drawn_grids_in_an_experiment(capsys, tmp_path):
    (tmp_path / "corridor.txt").write_text("@..D\n\nD = red door\n")
    (tmp_path / "exp.toml").write_text(
        '[search]\nmax_bits = 8\n[train]\ngrids = ["corridor.txt"]\nhorizon = 6\n'
        '[test.same]\ngrids = ["corridor.txt"]\n')
    record = run_json(capsys, str(tmp_path / "exp.toml"))
    programs = [h["program"] for h in record["hypotheses"]]
    # E walks the corridor; (plan door), (plan red) and (greedy ...) reach it too.
    assert programs[0] == "E"
    assert {"(plan red)", "(plan door)", "(greedy red)", "(greedy door)"} <= set(programs)
    assert "N" not in programs


def test_console_script_end_to_end():
    exe = Path(sys.executable).parent / "levinsearch"
    done = subprocess.run([str(exe), "run", "--max-bits", "8", "--json"], capture_output=True, text=True,
                          cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["schema"] == "levinsearch.run/1"
    bad = subprocess.run([str(exe), "run", "--seed", "-4"], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert bad.returncode == 2 and bad.stderr.strip().splitlines() == ["error: seed must be >= 0, got -4"]
