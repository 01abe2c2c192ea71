"""Agent or device (calibrated goal-directedness): hand-computed evidence on a corridor,
and the calibration the docs promise: reflexes that wander or stand still are devices,
plan programs with reachable goals are agents, and (plan (and red blue)) is a device
where its target never exists."""
from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import ops_of, pad_ops
from dsl.grid import primitives as gp
from dsl.grid.interpreter import GridInterpreter
from dsl.grid.world import FEATURES, OBJECT, WALL, pack, parse_ascii
from levinsearch import domains, experiments, pipeline
from levinsearch.domains.grid import analyse
from levinsearch.enumerate import Enumerator

CORRIDOR = "@.D\n\nD = blue door\n"


def test_evidence_on_a_corridor_by_hand():
    env = parse_ascii(CORRIDOR, horizon=5)
    door = (env.features & (1 << FEATURES.index("door"))) != 0
    nothing = np.zeros_like(door)
    goal_cells = np.stack([door, nothing])[:, None]  # [G=2, E=1, H, W]: "door" (1 bit), a goal never present (2 bits)
    ops, sizes = pad_ops([ops_of("(plan door)").tolist()])
    paths = GridInterpreter(gp.grammar()).paths(ops, sizes, pack([env]))
    assert paths[0, 0].tolist() == [1, 2, -1, -1, -1]  # E, E into the door
    out = analyse.agency(paths, analyse.agency_tables([env], goal_cells, np.array([1.0, 2.0]), WALL, OBJECT))

    def agent_door(beta):  # at 0: stay (1 + 2) or E (1 + 1); at 1: stay (1 + 1), W (1 + 2), E (1 + 0)
        return (1 / (1 + 2 ** -beta)) * (1 / (1 + 2 ** -beta + 2 ** -(2 * beta)))

    # The goal that holds nowhere is left out of the family: "door" has all the prior.
    betas = analyse.BETAS
    agent = np.mean([agent_door(b) for b in betas])
    local = 0.5 * (0.5 / 1.5)  # KT given the local view: 1/2 of 2 outcomes, then 1/3 of 3 (new context)
    plain = (0.5 / 2.5) * (1.5 / 3.5)  # KT over the 5 outcomes: E, E
    device = 0.5 * local + 0.5 * plain
    assert out["agent_bits"][0] == pytest.approx(math.log2(agent), abs=1e-9)
    assert out["device_bits"][0] == pytest.approx(math.log2(device), abs=1e-9)
    assert out["log2_odds"][0] == pytest.approx(math.log2(agent / device), abs=1e-9)
    assert out["goal"][0] == 0


@pytest.fixture(scope="module")
def red_door():
    return pipeline.prepare(experiments.resolve(experiments.load("red-door"), domains=domains))


def agency_of(prep, programs):
    ops, sizes = pad_ops([ops_of(p, prep.grammar).tolist() for p in programs])
    paths = prep.interpreter.paths(ops, sizes, prep.probes)
    return analyse.agency(paths, prep.agency_tables())


def test_every_reflex_is_a_device(red_door):
    """All 964 programs of at most 17 bits without plan or greedy (moves, if, sense, see)."""
    g = red_door.grammar
    search = [i for i, p in enumerate(g.productions) if p.name in ("plan", "greedy")]
    batches = list(Enumerator(g, 17).batches(1 << 16))
    width = max(b.ops.shape[1] for b in batches)
    ops = np.concatenate([np.pad(b.ops, ((0, 0), (0, width - b.ops.shape[1])), constant_values=-1) for b in batches])
    sizes = np.concatenate([b.sizes for b in batches])
    reflex = ~np.isin(ops, search).any(axis=1)
    assert reflex.sum() == 964
    paths = red_door.interpreter.paths(ops[reflex], sizes[reflex], red_door.probes)
    out = analyse.agency(paths, red_door.agency_tables())
    assert (out["log2_odds"] < 0).all()


def test_planners_are_agents_and_an_impossible_target_is_a_device(red_door):
    out = agency_of(red_door, ["(plan door)", "(plan red)", "(plan key)", "(plan (or red door))",
                               "(plan (and red blue))", "N", "(if (sense E wall) E W)"])
    odds = out["log2_odds"]
    assert (odds[:4] > 50).all()  # agents by a wide margin
    assert (odds[4:] < -50).all()  # (plan (and red blue)) never finds its target: it stands still
    goals = [red_door.goals[k] for k in out["goal"][:4]]
    assert goals[0] == "door" and goals[1] == "red" and goals[2] == "key"


def test_the_record_and_the_confusion_table_use_it(red_door):
    record = pipeline.execute(red_door)
    for b in record["behaviours"]:
        assert b["agency"]["kind"] == ("agent" if b["agency"]["log2_odds"] > 0 else "device")
    confusion = record["summary"]["agency_confusion"]
    assert sum(c["count"] for c in confusion.values()) == record["enumeration"]["fitting"]
    assert confusion["search/agent"]["mass"] > 0.9


def test_a_planner_whose_goal_is_often_absent_is_still_an_agent():
    """Seed 3's probes: 13 of 40 have no reachable red object. (plan red) stands still
    there; those steps are free for the agent, so the verdict does not depend on them."""
    seed3 = pipeline.prepare(experiments.resolve(experiments.load("red-door"), {"seed": 3}, domains=domains))
    out = agency_of(seed3, ["(plan red)", "(plan door)", "(plan (and red blue))"])
    assert out["log2_odds"][0] > 50 and out["log2_odds"][1] > 50 and out["log2_odds"][2] < -50
    assert [seed3.goals[k] for k in out["goal"][:2]] == ["red", "door"]
