"""Stakes (levinsearch.analyses.stakes): a [stakes] table weights deployment steps (seq)
or test episodes (grid); the record's summary.stakes gives stakes-weighted losses and
the rare defectors by the stakes of where they err. Hand-computed cases, the identity
of records without a table, and the table's errors."""
from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest

from conftest import invoke
from dsl.errors import DslError
from levinsearch import consensus, domains, experiments, pipeline
from levinsearch.analyses import prediction
from levinsearch.analyses import stakes as stakes_mod
from levinsearch.domains.grid.record import grid_stakes

SEQ = """
[experiment]
name = "s"
domain = "seq"
[target]
program = "(mul t t)"
train = 4
deploy = 6
[search]
max_bits = 24
"""


def _seq(tmp_path, extra: str = ""):
    path = tmp_path / "s.toml"
    path.write_text(SEQ + extra)
    return experiments.resolve(experiments.load(str(path)), domains=domains)


# ------------------------------------------------------------------ hand-computed
def test_seq_stakes_hand_computed():
    # Three behaviours with posterior 0.5, 0.3, 0.2; target 1 2 3; the last step at stakes 10.
    weights = np.array([0.5, 0.3, 0.2])
    target = np.array([1, 2, 3])
    rows = np.array([[1, 2, 3], [1, 2, 9], [7, 2, 3]])
    table = dict(default=1.0, steps={"2": 10.0})
    live = consensus.online_sequence(weights, rows, target, weights, np.arange(3))
    mixture = consensus.mixture_prediction(weights, rows)
    out = prediction.stakes_figures(weights, rows, target, rows[0], mixture, dict(prediction=live),
                                    np.array([10.0, 20.0, 15.0]), np.array([1, 2, 3]), 2, table, 0.0)
    assert out["weights"] == [1.0, 1.0, 10.0] and out["total"] == 12.0 and out["high_stakes_units"] == [2]
    assert out["map"] == dict(loss=0.0, rate=0.0, errors=0)
    assert out["mixture"] == dict(loss=0.0, rate=0.0, errors=0)  # 1 (0.8 vs 0.2) and 3 (0.7 vs 0.3)
    # A program drawn from the posterior: 0.3 x 10 + 0.2 x 1.
    assert out["posterior"]["loss"] == pytest.approx(3.2) and out["posterior"]["rate"] == pytest.approx(3.2 / 12)
    assert out["posterior"]["errors"] == pytest.approx(0.5)
    # Online: step 0 wrong with 0.2; the 7-predictor is then gone; step 2 wrong with 0.3/0.8.
    assert out["online_posterior"]["loss"] == pytest.approx(0.2 + 10 * 0.375)
    assert out["online_map"]["loss"] == 0.0 and out["online_mixture"]["loss"] == 0.0
    d = out["defectors"]
    assert d["posterior"] == pytest.approx(0.5)
    assert d["by_stakes"] == [dict(stakes=10.0, posterior=0.3, programs=2), dict(stakes=1.0, posterior=0.2, programs=3)]
    assert d["high_stakes_posterior"] == pytest.approx(0.3) and d["high_stakes_share"] == pytest.approx(0.6)
    assert d["uniform_share"] == pytest.approx(1 / 3)  # one error among 3 steps, one of them high
    assert d["cheapest_high_stakes"] == 20.0 and d["cheapest_elsewhere"] == 15.0


def test_grid_stakes_hand_computed():
    behaviours = [dict(posterior=0.6, score=10.0, programs=4), dict(posterior=0.3, score=12.0, programs=2),
                  dict(posterior=0.1, score=13.0, programs=1)]
    lost = {"calm": [np.array([[False, False, False, False], [False, False, False, True]]),
                     np.array([[True, True, False, False]])]}  # two chunks, as _behaviours fills it
    table = dict(default=1.0, max_defections=1, episodes={"calm": {"3": 5.0}})
    out = grid_stakes(table, behaviours, lost, ["calm"])["calm"]
    assert out["weights"] == [1.0, 1.0, 1.0, 5.0] and out["total"] == 8.0
    assert out["map"] == dict(loss=0.0, rate=0.0, errors=0)
    assert out["posterior"]["loss"] == pytest.approx(0.3 * 5 + 0.1 * 2)
    assert out["posterior"]["rate"] == pytest.approx(1.7 / 8) and out["posterior"]["errors"] == pytest.approx(0.5)
    d = out["defectors"]  # only the second loses 1 episode (the third loses 2 > max_defections)
    assert d["posterior"] == pytest.approx(0.3) and d["by_stakes"] == [dict(stakes=5.0, posterior=0.3, programs=2)]
    assert d["high_stakes_share"] == 1.0 and d["uniform_share"] == pytest.approx(0.25)
    assert d["cheapest_high_stakes"] == 12.0 and d["cheapest_elsewhere"] is None


def test_uniform_hit():
    assert stakes_mod._uniform_hit(16, 1, 1) == pytest.approx(1 / 16)
    assert stakes_mod._uniform_hit(16, 1, 2) == pytest.approx(1 - math.comb(15, 2) / math.comb(16, 2))
    assert stakes_mod._uniform_hit(3, 2, 2) == 1.0 and stakes_mod._uniform_hit(5, 0, 1) == 0.0


# ------------------------------------------------------------------ a run
def test_seq_run_stakes_agree_with_its_behaviours_and_leave_the_rest_unchanged(tmp_path):
    plain = pipeline.execute(pipeline.prepare(_seq(tmp_path)))
    staked = pipeline.execute(pipeline.prepare(_seq(tmp_path, "[stakes]\ndefault = 1\nsteps = { 0 = 50 }\n")))
    assert "stakes" not in plain["config"] and "stakes" not in plain["summary"]
    s = staked["summary"]["stakes"]
    assert staked["config"]["stakes"] == dict(default=1.0, steps={"0": 50.0})
    w = np.array(s["weights"])
    assert list(w) == [50.0] + [1.0] * 5
    deploy = np.array(staked["target"]["deploy"])
    expected = sum(b["posterior"] * float(w[np.array(b["predictions"]) != deploy].sum())
                   for b in staked["behaviours"])
    assert s["posterior"]["loss"] == pytest.approx(expected, rel=1e-9)
    # Without the stakes part the two records are the same, field for field.
    trimmed = copy.deepcopy(staked)
    del trimmed["summary"]["stakes"], trimmed["config"]["stakes"]
    for r in (trimmed, plain):
        for key in ("versions", "run", "provenance"):
            r.pop(key, None)
        r["config"].pop("source", None)
        r["enumeration"].pop("seconds", None)
        r["enumeration"].pop("compile_seconds", None)
        for row in r["enumeration"].get("per_length", []):
            row.pop("seconds", None)
    assert json.dumps(trimmed, default=lambda v: v.tolist()) == json.dumps(plain, default=lambda v: v.tolist())


def test_bundled_experiments_without_stakes_record_none():
    for name in ("treacherous-turn", "grid-treachery"):
        config = experiments.resolve(experiments.load(name), domains=domains)
        assert "stakes" not in config


def test_stakes_round_trip_through_raw_of(tmp_path):
    config = _seq(tmp_path, "[stakes]\nsteps = { 3 = 7 }\n")
    again = experiments.resolve(experiments.raw_of(config, domains=domains), domains=domains)
    assert again["stakes"] == config["stakes"] == dict(default=1.0, steps={"3": 7.0})


# ------------------------------------------------------------------ bad tables
@pytest.mark.parametrize("table, message", [
    ("steps = { 6 = 10 }", "[stakes] steps: step 6 is out of range (0 .. 5)"),
    ("steps = { x = 10 }", "[stakes] steps: 'x' is not a step number"),
    ("steps = { 1 = -1 }", "[stakes] steps 1 must be >= 0, got -1"),
    ("steps = { 1 = \"high\" }", "[stakes] steps 1 must be a number, got 'high'"),
    ("steps = [1, 2]", "[stakes] steps must be a table of step = weight"),
    ("default = 0", "[stakes] gives every deployment step weight 0"),
    ("default = true", "[stakes] default must be a number, got True"),
    ("weight = 3", "unknown key 'weight' in [stakes] (allowed: default, steps)"),
])
def test_bad_seq_tables(tmp_path, table, message):
    with pytest.raises(DslError) as err:
        _seq(tmp_path, "[stakes]\n" + table + "\n")
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("table, message", [
    ("episodes = { moon = { 0 = 5 } }", "[stakes] episodes: no test split 'moon' (splits: a)"),
    ("episodes = { a = { 3 = 5 } }", "[stakes] episodes a: episode 3 is out of range (0 .. 2)"),
    ("max_defections = 0", "[stakes] max_defections must be >= 1, got 0"),
    ("steps = { 0 = 5 }", "unknown key 'steps' in [stakes]"),
])
def test_bad_grid_tables(tmp_path, table, message):
    path = tmp_path / "g.toml"
    path.write_text(f"[test.a]\nenvs = 3\n[stakes]\n{table}\n")
    with pytest.raises(DslError) as err:
        experiments.resolve(experiments.load(str(path)), domains=domains)
    assert message in str(err.value)


def test_bad_table_is_one_line_on_the_command_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.toml").write_text(SEQ + "[stakes]\nsteps = { 9 = 1 }\n")
    code, out, err = invoke(capsys, "run", "s.toml", "--no-save")
    assert code == 2 and "Traceback" not in err
    assert "step 9 is out of range (0 .. 5)" in err and len(err.strip().splitlines()) == 1


def test_tm_stakes_through_the_shared_prediction_analysis(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text('[experiment]\nname = "t"\ndomain = "tm"\n[target]\nmachine = "(tm2 1RB 1LB 1LA 1H)"\n'
                    'train = 2\ndeploy = 3\n[search]\nmax_bits = 20\n[stakes]\nsteps = { 1 = 4 }\n')
    config = experiments.resolve(experiments.load(str(path)), domains=domains)
    assert experiments.resolve(experiments.raw_of(config, domains=domains), domains=domains)["stakes"] == \
        config["stakes"]
    record = pipeline.execute(pipeline.prepare(config))
    s = record["summary"]["stakes"]
    assert s["weights"] == [1.0, 4.0, 1.0] and s["total"] == 6.0 and s["high_stakes_units"] == [1]
    # The MAP is a tie of 256 machines in 5 behaviours (0--, ---, 1--, 01-, 11- against
    # the target 11-): its loss is the mean of theirs, 5, 5, 4, 1 and 0, with the range.
    tie = record["summary"]["map_tie"]
    target = record["summary"]["prediction"]["target"]
    losses = [sum(w for w, c, t in zip(s["weights"], e["continuation"], target) if c != t)
              for e in tie["predictions"] for _ in range(e["behaviours"])]
    assert sorted(losses) == [0.0, 1.0, 4.0, 5.0, 5.0]
    assert s["map"] == dict(loss=3.0, rate=0.5, errors=1.2,
                            tie=dict(behaviours=5, loss_range=[0.0, 5.0], errors_range=[0, 2]))
    # Online, the tie holds at steps 0 (5 behaviours, 3 wrong) and 1 (1-- and 11-, 1 wrong):
    # 3/5 · 1 + 1/2 · 4 expected; steps where every tied one errs: none; where any does: 0, 1.
    assert s["online_map"]["loss"] == pytest.approx(2.6) and s["online_map"]["errors"] == pytest.approx(1.1)
    assert s["online_map"]["tie"] == dict(behaviours=5, loss_range=[0.0, 5.0], errors_range=[0, 2])


def test_sweep_metrics_read_the_stakes_figures_and_are_none_without_a_table():
    import gzip
    from pathlib import Path
    from levinsearch import sweeps
    store = Path(__file__).resolve().parent / "golden" / "records"
    for name, split, metric, read in (
            ("treacherous-turn-stakes", None, "stakes_loss", lambda s: s["posterior"]["rate"]),
            ("treacherous-turn-stakes", None, "stakes_defectors", lambda s: s["defectors"]["high_stakes_posterior"]),
            ("grid-treachery-stakes", "calm", "stakes_loss", lambda s: s["calm"]["posterior"]["rate"])):
        with gzip.open(store / f"{name}.json.gz", "rt") as f:
            record = json.load(f)
        domain = domains.get(record["config"]["domain"])
        assert sweeps.metrics(record, split, domain)[metric] == read(record["summary"]["stakes"])
        del record["config"]["stakes"]
        assert sweeps.metrics(record, split, domain)[metric] is None
