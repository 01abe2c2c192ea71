"""The seq domain end to end: target terms, fitting, defection steps, Occam, consensus,
and the commands (run, sweep, show, enumerate, dsl) as a user meets them."""
from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import invoke, run_json
from dsl.seq import primitives as sp
from dsl.syntax import parse
from levinsearch import consensus, domains, experiments, pipeline
from levinsearch.domains.seq import run as seq_run


def seq_config(tmp_path, program="(mul t t)", train=4, deploy=8, max_bits=24, extra=""):
    path = tmp_path / "s.toml"
    path.write_text(f"""
[experiment]
name = "s"
domain = "seq"
[target]
program = "{program}"
train = {train}
deploy = {deploy}
[search]
max_bits = {max_bits}
{extra}
""")
    return experiments.resolve(experiments.load(str(path)), domains=domains)


def test_target_program_generates_its_own_terms(tmp_path):
    terms, text = seq_run.target_terms(dict(program="(if (lt t (const (bit0 one))) t (add x1 x2))",
                                                 train=5, deploy=5))
    assert terms.tolist() == [0, 1, 1, 2, 3, 5, 8, 13, 21, 34] and text.startswith("(if")
    terms, text = seq_run.target_terms(dict(terms=[3, 1, 4, 1, 5, 9], train=2, deploy=3))
    assert terms.tolist() == [3, 1, 4, 1, 5] and text is None


def test_a_known_defector_is_reported_with_its_defection_step(tmp_path):
    prep = pipeline.prepare(seq_config(tmp_path))
    g = prep.grammar
    programs = ["(mul t t)", "(if (eq t (const (bit0 (bit1 one)))) c0 (mul t t))", "(add t t)"]
    ops = [parse(p, g) for p in programs]
    width = max(len(o) for o in ops)
    padded = np.full((3, width), -1, dtype=np.int32)
    for i, o in enumerate(ops):
        padded[i, : len(o)] = o
    sizes = np.array([len(o) for o in ops], dtype=np.int32)
    fits, _, _ = prep.judge.fit(padded, sizes, np.full(3, 1 << 62, dtype=np.int64))
    assert fits.tolist() == [True, True, False]  # 2t != t*t at t = 3
    preds = prep.predictions(padded, sizes)[:, prep.n_train:]
    deploy = prep.terms[prep.n_train:]
    assert deploy.tolist() == [16, 25, 36, 49, 64, 81, 100, 121]
    agree = consensus.sequence_agreement(preds, deploy)
    # The defector answers 0 at t = 6, deployment step 2, and agrees everywhere else.
    assert agree["first"].tolist()[:2] == [-1, 2] and agree["disagreements"].tolist()[:2] == [0, 1]
    assert consensus.rare_defectors(preds[:2], deploy, 2).tolist() == [False, True]


def test_run_record_occam_prediction_and_consensus(tmp_path, capsys):
    config = seq_config(tmp_path, program="(add (mul t t) (const one))", train=3, deploy=6, max_bits=22,
                        extra="[analysis]\nconsensus_top = [1, 2]\nconsensus_epsilon = []\nconsensus_alpha = []")
    record = pipeline.run_experiment(config)
    assert record["domain"] == "seq" and record["target"]["train"] == [1, 2, 5]
    assert record["target"]["deploy"] == [10, 17, 26, 37, 50, 65]
    e, s = record["enumeration"], record["summary"]
    assert e["fitting"] == len(record["hypotheses"]) == sum(b["programs"] for b in record["behaviours"])
    # Every fitting program predicts the training terms; its behaviour is its deployment predictions.
    for h in record["hypotheses"]:
        assert h["agreement"] == pytest.approx(sum(p == t for p, t in zip(h["predictions"], record["target"]["deploy"])) / 6)
    o = s["occam"]
    assert o["shortest_program"] == min(record["hypotheses"], key=lambda h: (h["bits"], h["enumeration_index"]))["program"]
    equivalent = [h for h in record["hypotheses"] if h["disagreements"] == 0]
    assert o["target_equivalent_posterior"] == pytest.approx(sum(h["posterior"] for h in equivalent))
    assert s["prediction"]["map"] == record["hypotheses"][0]["predictions"]
    for h in record["hypotheses"]:
        assert h["search"] == ("(find" in h["program"])
        assert (0 < len(h["mesa_objective"]) <= h["program"].count("(find")) if h["search"] else not h["mesa_objective"]
    from levinsearch import analyse
    found = analyse.search_structure(parse("(add (find t (lt t (mul k k))) (find x1 (eq k x2)))", sp.grammar()),
                                     sp.grammar(), ("find",), objective_arg=1)
    assert (found.search, found.constructs, found.mesa_objectives) == (True, ["find"], ["(lt t (mul k k))",
                                                                                      "(eq k x2)"])
    # Consensus over behaviours: top 1 follows the heaviest behaviour; a set with the target never errs.
    for row in s["consensus"]["top"]:
        if row["has_equivalent"]:
            assert row["errors"] == 0
    # The same run through the command line, and its report.
    path = tmp_path / "s.toml"
    printed = run_json(capsys, str(path), "--no-save")
    assert printed["summary"]["occam"] == s["occam"]
    code, out, _ = invoke(capsys, "run", str(path), "--no-save")
    assert code == 0 and "Occam, MAP vs mixture, rare defectors" in out and "consensus" in out


def test_seq_show_enumerate_and_dsl(tmp_path, capsys):
    seq_config(tmp_path)
    code, out, _ = invoke(capsys, "show", "(mul t x1)", "--experiment", str(tmp_path / "s.toml"), "--json")
    rec = json.loads(out)
    assert code == 0 and rec["fits"] is False
    assert [r["prediction"] for r in rec["rows"][:4]] == [0, 0, 2, 12] and rec["rows"][0]["steps"] == 3
    code, out, _ = invoke(capsys, "enumerate", "seq", "--max-bits", "8", "--json")
    assert [p["program"] for p in json.loads(out)["programs"]] == [
        "t", "x1", "x2", "k", "c0", "(const one)", "(const (bit0 one))", "(const (bit1 one))"]
    code, out, _ = invoke(capsys, "dsl", "seq", "--json")
    names = [p["name"] for p in json.loads(out)["productions"]]
    assert names == [p.name for p in sp.productions()]


def test_seq_sweep_and_grid_only_flags(tmp_path, capsys):
    seq_config(tmp_path)
    path = str(tmp_path / "s.toml")
    code, out, err = invoke(capsys, "sweep", path, "--set", "target.train=3,5", "--no-save", "--json")
    assert code == 0, err
    w = json.loads(out)
    assert w["domain"] == "seq" and w["metric"] == "defectors" and w["split"] is None
    assert [p["setting"]["target.train"] for p in w["points"]] == [3, 5]
    assert w["points"][1]["metrics"]["equivalent"] >= w["points"][0]["metrics"]["equivalent"]
    for args in (("run", path, "--horizon", "5", "--no-save"), ("sweep", path, "--set", "max_bits=8",
                                                                 "--split", "x", "--no-save")):
        code, out, err = invoke(capsys, *args)
        assert code == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1


def test_occam_shortest_is_over_every_fitting_program_not_only_the_kept(tmp_path):
    """With a time penalty the best-scoring program need not be the shortest (here `add`
    is made slow), and with keep = 1 only the best is kept; the shortest fitting program
    is still found exactly."""
    extra = 'time_weight = 1.0\ntime_penalty = "linear"\n{keep}\n[grammar]\ncost = {{ add = 100 }}'
    every = pipeline.run_experiment(seq_config(tmp_path, program="(add x1 t)", train=3, deploy=6, max_bits=20,
                                               extra=extra.format(keep="")))
    assert len(every["hypotheses"]) == every["enumeration"]["fitting"] == 91
    want = min(every["hypotheses"], key=lambda h: (h["bits"], h["enumeration_index"]))
    record = pipeline.run_experiment(seq_config(tmp_path, program="(add x1 t)", train=3, deploy=6, max_bits=20,
                                                extra=extra.format(keep="keep = 1")))
    assert [h["program"] for h in record["hypotheses"]] == ["(sub t (sub x2 x1))"]  # the best score
    o = record["summary"]["occam"]
    assert (o["shortest_program"], o["shortest_bits"]) == (want["program"], want["bits"]) == ("(add t x1)", 11.103)
    assert o["shortest_agrees"] and o["shortest_posterior"] == pytest.approx(want["posterior"])
