"""Cohen's rule for consensus (`--trust ratio:ALPHA`): the trusted set is every hypothesis
within ALPHA of the best's weight, and the online agent's queries are bounded before
deployment by the demonstrator's weight w: at most (1 - w) / (ALPHA w), and at most
hypotheses - 1 (docs/concepts.md, "The trust rule and its query bound")."""
from __future__ import annotations

import io

import numpy as np
import pytest

from conftest import invoke
from levinsearch import consensus, domains, experiments, pipeline, report
from levinsearch.render import console


def _grid_record(seed: int, trust: str) -> dict:
    config = experiments.resolve(experiments.load("consensus-grid"),
                                 dict(seed=seed, trust=trust, max_bits=16, test_envs=20), domains=domains)
    return pipeline.execute(pipeline.prepare(config))


def _text(record: dict) -> str:
    out = console(width=400, record=True, file=io.StringIO())
    out.print(report.run_report(record))
    return out.export_text()


@pytest.mark.parametrize("seed", range(5))
def test_grid_ratio_bound_is_set_in_advance_and_holds(seed):
    record = _grid_record(seed, "ratio:0.5")
    assert record["config"]["analysis"]["trust"] == "ratio:0.5"
    split = record["summary"]["splits"]["blue_doors"]
    trust = split["trust"]
    # Only the trust rule runs, and the demonstrator is the overseer's policy.
    assert [(r["rule"], r["value"]) for r in split["consensus_online"]] == [("ratio", 0.5)]
    assert trust["demonstrator"] == "(plan door)"
    posterior = {b["program"]: b["posterior"] for b in record["behaviours"]}
    w = posterior["(plan door)"] / sum(posterior.values())
    assert trust["demonstrator_weight"] == w
    units = sum(p > 0 for p in posterior.values())
    assert trust["query_bound"] == min(units - 1, (1 - w) / (0.5 * w))
    assert trust["max_queries"] == int(np.floor((1 - w) / (0.5 * w - consensus.TOL)))
    assert trust["demonstrator_refuted"] is False
    assert trust["total_queries"] == split["consensus_online"][0]["total_queries"]
    assert trust["total_queries"] <= trust["max_queries"]
    assert trust["within_bound"] is True
    # The report prints the bound before the episodes' results, and the outcome after them.
    text = _text(record)
    before = text.index("trust on blue_doors: ≥ 0.5 × best; demonstrator (plan door)")
    table = text.index("consensus agent on blue_doors")
    after = text.index("trust on blue_doors: the online agent made")
    assert before < table < after
    assert f"so at most {trust['max_queries']} queries" in text[before:table]


def test_grid_top_rule_records_the_count_bound():
    record = _grid_record(0, "top:2")
    split = record["summary"]["splits"]["blue_doors"]
    trust = split["trust"]
    units = sum(b["posterior"] > 0 for b in record["behaviours"])
    assert (trust["rule"], trust["value"], trust["query_bound"], trust["max_queries"]) == ("top", 2, units - 1,
                                                                                           units - 1)
    assert [(r["rule"], r["value"]) for r in split["consensus"]] == [("top", 2)]
    assert trust["total_queries"] <= trust["max_queries"]


def test_without_trust_nothing_is_added():
    config = experiments.resolve(experiments.load("consensus-grid"), dict(max_bits=12, test_envs=3), domains=domains)
    assert "trust" not in config["analysis"]
    assert config["analysis"]["consensus_top"] == [1, 2, 3, 5]


def test_hand_built_trusted_sets_and_bounds():
    # Demonstrator first at 1/2, two others at 1/4 each.
    weights = np.array([0.5, 0.25, 0.25])
    assert consensus.trusted_set(weights, "ratio", 1.0).tolist() == [0]
    assert consensus.trusted_set(weights, "ratio", 0.5).tolist() == [0, 1, 2]
    assert consensus.trusted_set(np.array([0.5, 0.3, 0.2]), "ratio", 0.5).tolist() == [0, 1]
    # alpha = 1: (1 - 1/2) / (1 x 1/2) = 1 query at most; alpha = 1/2: 2 (and 3 - 1 = 2).
    assert consensus.trust_bound("ratio", 1.0, 0.5, 3) == {"query_bound": 1.0, "max_queries": 1}
    assert consensus.trust_bound("ratio", 0.5, 0.5, 3) == {"query_bound": 2.0, "max_queries": 2}
    # With many hypotheses the ratio binds: w = 1/4, alpha = 1/2 gives (3/4) / (1/8) = 6.
    assert consensus.trust_bound("ratio", 0.5, 0.25, 20) == {"query_bound": 6.0, "max_queries": 6}
    assert consensus.trust_bound("top", 2, 0.25, 20) == {"query_bound": 19.0, "max_queries": 19}
    # No demonstrator, or noise: no bound.
    assert consensus.trust_bound("ratio", 0.5, None, 3) == {"query_bound": None, "max_queries": None}
    assert consensus.trust_bound("ratio", 0.5, 0.5, 3, noise=0.1) == {"query_bound": None, "max_queries": None}


def test_hand_built_online_run_stays_within_the_bound():
    # Target 0, 0, 0; the demonstrator D predicts it (w 1/2); A is wrong at step 0 and
    # B at step 1 (w 1/4 each). Step 0: the groups by step-0 value are {D, B} (3/4) and
    # {A} (1/4 < 1/2 x 3/4): only {D, B} is trusted, it predicts 0, A is removed. Step 1:
    # D (1/2) and B (1/4 = 1/2 x 1/2) are both trusted and disagree: one query, B goes.
    rows = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]])
    weights = np.array([0.5, 0.25, 0.25])
    target = np.array([0, 0, 0])
    run = consensus.online_consensus(weights, rows, target, "ratio", 0.5)
    assert run["queried"] == [False, True, False]
    assert run["sizes"] == [1, 2, 1]
    assert consensus.trust_bound("ratio", 0.5, 0.5, 3)["max_queries"] == 2


def test_seq_consensus_records_the_bound():
    config = experiments.resolve(experiments.load("consensus"), dict(trust="ratio:0.5"), domains=domains)
    record = pipeline.execute(pipeline.prepare(config))
    online = record["summary"]["online"]
    trust = online["trust"]
    w = online["halving"]["target_weight"]
    assert trust["demonstrator"] == "the target"
    assert trust["demonstrator_weight"] == pytest.approx(w, rel=1e-12)
    assert trust["total_queries"] == online["consensus"]["ratio"][0]["total_queries"]
    assert trust["total_queries"] <= trust["max_queries"]
    assert list(record["summary"]["consensus"]) == ["top", "mass", "ratio"]
    assert record["summary"]["consensus"]["top"] == [] and record["summary"]["consensus"]["mass"] == []


@pytest.mark.parametrize("value", ["ratio:1.5", "ratio:0", "ratio:-1", "ratio:x", "ratio", "top:0", "top:1.5",
                                   "mass:0.1", "ratio:nan", ""])
def test_bad_trust_values_give_one_error_line(capsys, value):
    code, out, err = invoke(capsys, "run", "consensus-grid", "--trust", value, "--no-save")
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "trust must be top:N" in lines[0] and "Traceback" not in err


def test_trust_does_not_apply_to_tm(capsys):
    code, _, err = invoke(capsys, "run", "tm-occam", "--trust", "top:2", "--no-save")
    assert code == 2 and err.strip().splitlines() == ["error: --trust does not apply to tm experiments"]

