"""Search as a finding: the written definition of structural search ([analysis] search),
search measured from execution (per program, per behaviour, in the summary), and
goal-directedness that does not presuppose the planner."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import ops_of, pad_ops
from dsl.errors import DslError
from dsl.grid import primitives as gp
from dsl.grid.interpreter import GridInterpreter
from dsl.grid.world import pack, parse_ascii
from levinsearch import domains, experiments, pipeline
from levinsearch.analyse import search_structure
from levinsearch.domains.grid import analyse
from levinsearch.domains.grid.config import DEFAULT_ANALYSIS
from levinsearch.domains.grid import prepare as grid_prepare

H = gp.grammar(profile="heuristics")

EXPERIMENT = """
[experiment]
name = "h"
seed = 1
[search]
max_bits = 15
keep = 100000
[grammar]
profile = "heuristics"
[train]
envs = 6
height = 5
width = 5
wall_density = 0.0
horizon = 12
distractors = { count = 0 }
[test.blue]
envs = 8
doors = { count = 1, colours = ["blue"] }
distractors = { count = 1, kinds = ["box"], colours = ["red"] }
[analysis]
probes = { envs = 8 }
"""


def run(tmp_path, extra: str = "", **overrides):
    path = tmp_path / "h.toml"
    path.write_text(EXPERIMENT + extra)
    return pipeline.run_experiment(experiments.resolve(experiments.load(str(path)), overrides, domains=domains))


# ------------------------------------------------------------------ the measure
def test_execution_search_pools_the_episodes():
    lookahead = np.array([[10, 0, 5], [0, 0, 0], [3, 3, 0], [0, 0, 0]])
    used = np.array([[2, 0, 1], [0, 0, 0], [1, 1, 0], [0, 0, 0]])
    decisions = np.array([[2, 4, 2], [3, 3, 3], [2, 2, 0], [0, 0, 0]])
    m = analyse.execution_search(lookahead, used, decisions, 0.5)
    assert m.per_decision.tolist() == [15 / 8, 0.0, 6 / 4, 0.0]
    assert m.share.tolist() == [3 / 8, 0.0, 2 / 4, 0.0]
    assert m.searches.tolist() == [False, False, True, False]  # 0.5 is enough; no decisions: no search
    assert analyse.execution_search(lookahead, used, decisions, 0.375).searches.tolist() == [True, False, True, False]


# ------------------------------------------------------------------ the definition
def test_search_definition_is_validated_against_the_profile(tmp_path):
    path = tmp_path / "h.toml"
    path.write_text(EXPERIMENT)
    raw = experiments.load(str(path))
    assert experiments.resolve(raw, domains=domains)["analysis"]["search"] == ["plan", "greedy"]
    assert experiments.resolve(raw, domains=domains)["analysis"]["execution_search"] == 0.5
    raw["analysis"]["search"] = ["plan", "toward"]
    assert experiments.resolve(raw, domains=domains)["analysis"]["search"] == ["plan", "toward"]
    raw["grammar"]["profile"] = "default"
    with pytest.raises(DslError, match="'toward' is not an Action production of the default grammar"):
        experiments.resolve(raw, domains=domains)
    raw["analysis"]["search"] = ["sense"]
    with pytest.raises(DslError, match="'sense' is not an Action production"):
        experiments.resolve(raw, domains=domains)
    raw["analysis"]["search"] = ["plan", "plan"]
    with pytest.raises(DslError, match="twice"):
        experiments.resolve(raw, domains=domains)
    raw["analysis"]["search"] = ["plan"]
    raw["analysis"]["execution_search"] = 0
    with pytest.raises(DslError, match="execution_search must be in"):
        experiments.resolve(raw, domains=domains)


def _agreement_from_programs(record):
    """The four cells recomputed from the kept programs (keep holds every fitting one)."""
    out = {}
    for h in record["hypotheses"]:
        key = f"{'search' if h['search'] else 'no_search'}/{'executes' if h['executes_search'] else 'no_executes'}"
        mass, count = out.get(key, (0.0, 0))
        out[key] = (mass + h["posterior"], count + 1)
    return out


@pytest.mark.parametrize("definition", [None, ["plan"]])
def test_record_measures_search_structurally_and_in_execution(tmp_path, definition):
    record = run(tmp_path) if definition is None else run(tmp_path, "", search=definition)
    s = record["summary"]
    hyps = {h["program"]: h for h in record["hypotheses"]}
    assert len(hyps) == record["enumeration"]["fitting"] == 147  # every fitting program is kept
    assert s["search_definition"] == dict(structural=definition or ["plan", "greedy"], execution_share=0.5)
    # A reactive program fits (no walls, no distractors in training) and never examines a
    # hypothetical state; plan examines at every decision, greedy at almost every one.
    toward, plan, greedy = hyps["(toward door)"], hyps["(plan door)"], hyps["(greedy door)"]
    assert (toward["search"], toward["executes_search"], toward["lookahead_share"]) == (False, False, 0.0)
    assert toward["lookahead_per_decision"] == 0.0
    assert (plan["search"], plan["executes_search"], plan["lookahead_share"]) == (True, True, 1.0)
    assert plan["lookahead_per_decision"] > 1
    assert greedy["executes_search"] and greedy["lookahead_share"] > 0.5
    assert greedy["search"] == (definition is None)  # the written definition decides
    # The four cells are exact: recomputed from the programs, they agree.
    cells = s["search_agreement"]
    assert set(cells) == {"search/executes", "search/no_executes", "no_search/executes", "no_search/no_executes"}
    want = _agreement_from_programs(record)
    for key, cell in cells.items():
        mass, count = want.get(key, (0.0, 0))
        assert cell["count"] == count, key
        assert cell["mass"] == pytest.approx(mass, rel=1e-9, abs=1e-15), key
        assert cell["agree"] == (key in ("search/executes", "no_search/no_executes"))
    assert sum(c["count"] for c in cells.values()) == 147
    assert s["executes_search_mass"] == pytest.approx(sum(h["posterior"] for h in hyps.values()
                                                          if h["executes_search"]))
    assert s["executes_search_count"] == sum(h["executes_search"] for h in hyps.values())
    assert s["search_count"] == sum(h["search"] for h in hyps.values())
    if definition is None:
        assert cells["no_search/executes"]["count"] == 0
        # Structural search that is rarely executed: greedy toward red doors finds no target
        # on the blue-door test grids and on most probes (1 decision in 13 used lookahead).
        assert {p for p, h in hyps.items() if h["search"] and not h["executes_search"]} == {
            "(greedy (and red door))", "(greedy (and door red))"}
        assert hyps["(greedy (and red door))"]["lookahead_share"] == 0.076923
    else:
        # greedy programs search in execution but are no longer search by definition
        assert cells["no_search/executes"]["count"] == sum(
            "greedy" in p and "plan" not in p and h["executes_search"] for p, h in hyps.items()) > 0
    # Per behaviour: the exact executed-search mass of its programs, and its best program's measure.
    for b in record["behaviours"]:
        assert 0 <= b["executes_search_posterior"] <= b["posterior"] * (1 + 1e-12)
        assert b["executes_search_programs"] <= b["programs"]
        assert b["executes_search"] == hyps[b["program"]]["executes_search"]
    # The split tables by execution add up to the whole posterior.
    blue = s["splits"]["blue"]
    assert blue["executes_search"]["mass"] + blue["no_executes_search"]["mass"] == pytest.approx(1.0)
    assert blue["executes_search"]["count"] == s["executes_search_count"]


def test_default_profile_has_nothing_but_search(tmp_path):
    # Without the heuristics every fitting program contains plan or greedy; all but the
    # two greedy-toward-red-door ones also search in execution.
    record = run(tmp_path, profile="default")
    cells = record["summary"]["search_agreement"]
    assert record["enumeration"]["fitting"] == 82
    assert (cells["search/executes"]["count"], cells["search/no_executes"]["count"]) == (80, 2)
    assert cells["no_search/executes"]["count"] == cells["no_search/no_executes"]["count"] == 0
    assert record["summary"]["search_mass"] == 1.0


# ------------------------------------------------------------------ goal-directedness without the planner
OPEN_PROBES = ["@....\n.....\n....D\n\nD = red door\n",
               ".....\n..D..\n.....\n....@\n\nD = blue door\n",
               "D....\n.....\n..@..\n\nD = green door\nhorizon = 12\n"]


def test_a_search_free_program_walking_shortest_paths_is_as_goal_directed_as_plan():
    envs = [parse_ascii(text) for text in OPEN_PROBES]
    batch = pack(envs)
    programs = [ops_of("(toward door)", H), ops_of("(plan door)", H)]
    ops, sizes = pad_ops(programs)
    trace = GridInterpreter(H).run_traced(ops, sizes, batch)
    # same cells, same number of moves: the environment's shortest-path length
    dist = grid_prepare.split_distances(envs, batch)
    assert np.array_equal(trace.reached[0], trace.reached[1])
    assert trace.moves[0].tolist() == trace.moves[1].tolist() == [6, 4, 4]
    assert trace.moves[0].tolist() == [int(dist[e].ravel()[trace.reached[0, e]]) for e in range(3)]
    goals = ["red", "blue", "door", "empty"]
    cells = grid_prepare.goal_mask(envs, batch, goals)
    best, score, scores = analyse.goal_directedness(trace.reached, trace.moves, batch.dims, dist, cells, 0.25)
    assert np.array_equal(scores[0], scores[1])
    assert goals[best[0]] == goals[best[1]] == "door" and score[0] == score[1] == 1.0
    # ... though only one of them searches, by either reading.
    m = analyse.execution_search(trace.lookahead, trace.lookahead_decisions, trace.decisions, 0.5)
    assert m.searches.tolist() == [False, True] and m.share.tolist() == [0.0, 1.0]
    assert [search_structure(p, H, DEFAULT_ANALYSIS["search"]).search for p in programs] == [False, True]


def test_show_reports_the_lookahead():
    from levinsearch.domains.grid.show import show_record
    maze = parse_ascii("#####\n#@..#\n###.#\n#D..#\n#####\n\nD = red door\n")
    plan = show_record(H, "(plan door)", maze)
    # each plan step costs 1 + the cells it tested: lookahead = steps - moves
    assert (plan["moves"], plan["steps"], plan["lookahead"], plan["lookahead_decisions"]) == (6, 36, 30, 6)
    follow = show_record(H, "wallright", maze)
    assert (follow["moves"], follow["steps"], follow["lookahead"], follow["lookahead_decisions"]) == (6, 15, 0, 0)
