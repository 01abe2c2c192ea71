"""The grid `history` profile (`visited`): ids and exact counts, hand-checked values and
steps (the quadratic charge), parity of the compiled interpreter with the reference over
many random programs and environments, with and without the kernels' caches."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import cell_index, pad_ops, unranked_programs
from dsl.grid import primitives as gp
from dsl.grid.interpreter import GridInterpreter
from dsl.grid.reference import GridReference
from dsl.grid.world import parse_ascii, pack
from dsl.syntax import parse
from levinsearch.enumerate import Enumerator, reference_programs
from test_heuristics_parity import ALL, WEIGHTS, assert_equal, random_program, reference, traced

G = gp.grammar(profile="history")
HEUR = gp.grammar(profile="heuristics")


def run_both(text: str, env, grammar=G):
    """(reached, moves, steps) from the reference and from the kernel (both ways), checked equal."""
    ops = parse(text, grammar).tolist()
    ep = GridReference(grammar).episode(ops, env)
    want = (cell_index(env, ep.reached), ep.moves, ep.steps)
    for use_cache in (True, False):
        o, s = pad_ops([ops])
        got = GridInterpreter(grammar, use_cache).run(o, s, pack([env]))
        assert tuple(int(a[0, 0]) for a in got) == want, (text, use_cache)
    return want


# ------------------------------------------------------------------ grammar
def test_profile_extends_heuristics_with_same_ids():
    assert tuple(G.productions[:-1]) == tuple(HEUR.productions)
    last = G.productions[-1]
    assert (last.name, last.type, last.args, last.op) == ("visited", "Bool", ("Dir",), gp.B_VISITED) == \
        ("visited", "Bool", ("Dir",), 40)
    assert gp.HISTORY_NAMES == ("visited",)
    assert "history" in gp.PROFILES and gp.productions("heuristics") == gp.productions("heuristics")
    # six Bool productions instead of five: every Bool costs log2(6) bits
    bool_ids = G.by_type["Bool"]
    assert len(bool_ids) == 6 and all(G.mbits[i] == 2585 for i in bool_ids)


def test_counts_by_brute_force_and_by_hand():
    for max_bits in (16, 19):
        brute = reference_programs(G, max_bits)
        counts: dict[int, int] = {}
        for mbits, _ in brute:
            counts[mbits] = counts.get(mbits, 0) + 1
        assert dict(G.counts_by_length(max_bits)) == counts
        got = [tuple(b.ops[i, : b.sizes[i]].tolist()) for b in Enumerator(G, max_bits).batches(batch_size=97)
               for i in range(len(b))]
        assert got == [ops for _, ops in brute]
    # by hand: (if (visited D) X Y) with D one of 12 Dir leaves and X, Y one of 6 Action
    # leaves (N E S W wallright wallleft): 432 programs at 3 Action + Bool + Dir bits.
    # Dir and Pred both have 13 productions, so (if (see P) X Y) over the 10 feature
    # leaves has the same length: 360 more, and nothing else.
    a = G.mbits[G.resolve("Action.N")[0]]
    length = 3 * a + G.mbits[G.resolve("visited")[0]] + G.mbits[G.resolve("ahead")[0]]
    at = [ops for mbits, ops in reference_programs(G, length / 1000) if mbits == length]
    visited, see = G.resolve("visited")[0], G.resolve("see")[0]
    assert sum(visited in ops for ops in at) == 432 and sum(see in ops for ops in at) == 360 and len(at) == 792
    assert length == 3 * 3460 + 2585 + 3701  # log2 11, log2 6, log2 13 bits, rounded up
    # the heuristics profile has the 360 and not the 432 (its Bool is log2 5 bits)
    h_length = length - 2585 + HEUR.mbits[HEUR.resolve("see")[0]]
    assert sum(m == h_length for m, _ in reference_programs(HEUR, h_length / 1000)) == 360


# ------------------------------------------------------------------ semantics and costs
def corridor(n: int, horizon: int = 50):
    return parse_ascii("@" + "." * (n - 1) + "D\n\nD = red door\nhorizon = %d\n" % horizon)


@pytest.mark.parametrize("n", [1, 4, 9, 20])
def test_a_reader_that_finds_nothing_pays_quadratic_time(n):
    # at the k-th cell the past holds k entries, none of them the cell ahead: the read
    # scans all k, so the step costs if + visited + E + k + E = 4 + k, and the n moves
    # cost 4n + n(n - 1)/2
    assert run_both("(if (visited E) W E)", corridor(n)) == (n, n, 4 * n + n * (n - 1) // 2)


def test_the_newest_entry_is_read_first():
    # (visited W) finds the cell just left at once: one entry read per step after the first
    n = 6
    assert run_both("(if (visited W) E E)", corridor(n)) == (n, n, 4 * n + (n - 1))


def test_a_stuck_reader_repeats_without_growing_its_trajectory():
    # bumping into the grid's edge adds no entry: every step reads the empty past
    assert run_both("(if (visited W) E W)", corridor(3, horizon=7)) == (-1, 7, 7 * 4)
    # shuttling between two cells, the trajectory grows by one entry per move: at (0,1)
    # the cell ahead, (0,2), is never found (0, 2, 4 entries scanned); at (0,0) the cell
    # ahead is the newest entry (1 scanned): 4 + 5 + 6 + 5 + 8
    env = parse_ascii(".@.D\n\nD = red door\nhorizon = 5\n")
    assert run_both("(if (visited E) E W)", env) == (-1, 5, 4 + 5 + 6 + 5 + 8)


def test_visited_is_false_without_a_direction_and_out_of_the_grid():
    env = parse_ascii("@..\n\nhorizon = 3\n")  # no red anywhere: dirto names no direction
    ops = parse("(if (visited (dirto red)) N E)", G).tolist()
    ep = GridReference(G).episode(ops, env)
    # each step: if 1 + visited 1 + dirto 1 + 3 cells scanned * red 1 + E 1, nothing read
    assert ep.steps == 3 * 7 and ep.path == [(0, 0), (0, 1), (0, 2)]
    assert run_both("(if (visited (dirto red)) N E)", env)[2] == 3 * 7


# ------------------------------------------------------------------ parity
WEIGHTS_H = dict(WEIGHTS, **{"Bool.visited": 4.0, "Action.if": 4.0})


def test_parity_random_programs_with_and_without_caches(monkeypatch):
    monkeypatch.setattr("test_heuristics_parity.WEIGHTS", WEIGHTS_H)
    rng = np.random.default_rng(40)
    programs = [random_program(G, rng, int(rng.integers(1, 7))) for _ in range(600)]
    assert {p for prog in programs for p in prog} == set(range(len(G.productions)))
    readers = [G.resolve("visited")[0] in prog for prog in programs]
    assert sum(readers) > 120
    want = reference(programs, ALL, G)
    for use_cache in (True, False):
        assert_equal(want, traced(programs, ALL, use_cache, G), programs, ALL, f"use_cache={use_cache}", G)
    steps = want[2]
    assert (want[0] >= 0).any() and (want[0] < 0).any()
    plain = reference([p for p, r in zip(programs, readers) if r], ALL, G)
    assert (plain[1] > 3).any()  # readers that travel, so their reads scan long trajectories


def test_parity_unranked_programs_and_cost_overrides():
    programs = [p for p in unranked_programs(G, 31, 400, seed=8) if G.resolve("visited")[0] in p]
    assert len(programs) > 40
    envs = ALL[:10] + ALL[-8:]
    assert_equal(reference(programs, envs, G), traced(programs, envs, True, G), programs, envs, "unranked", G)
    g = gp.grammar(profile="history", cost={"visited": 3, "ahead": 2})
    assert_equal(reference(programs, envs, g), traced(programs, envs, False, g), programs, envs, "cost", g)


def test_fit_charges_what_run_charges():
    programs = [p for p in unranked_programs(G, 30, 300, seed=3) if G.resolve("visited")[0] in p]
    envs = ALL[12:20]
    batch = pack(envs)
    ops, sizes = pad_ops(programs)
    reached, _, steps = GridInterpreter(G).run(ops, sizes, batch)
    any_object = np.zeros(batch.features.shape, dtype=bool)
    for k, env in enumerate(envs):
        any_object[k, : env.height, : env.width] = env.features >> 10 & 1 == 1
    fits, _, verdict = GridInterpreter(G).fit(ops, sizes, batch, any_object, len(envs),
                                              np.full(len(programs), 1 << 62, dtype=np.int64))
    assert fits.all() and np.array_equal(verdict, steps.sum(axis=1))


def test_the_consensus_agent_follows_a_reader_as_the_episode_does():
    from levinsearch.domains.grid.consensus import GridPolicies, _move
    texts = ["(if (visited E) wallleft wallright)", "(if (visited S) S wallleft)", "(if (visited E) E W)"]
    env = parse_ascii("......\n.@....\n......\n....D.\n\nD = red door\nhorizon = 40\n")
    for text in texts:
        ops = parse(text, G).tolist()
        ep = GridReference(G).episode(ops, env)
        policies = GridPolicies([ops], G)
        policies.start_episode()
        (r, c), path = env.start, [env.start]
        for _ in range(env.horizon):
            r2, c2, done = _move(env, r, c, policies.act(0, 0, env, r, c))
            if (r2, c2) != (r, c):
                path.append((r2, c2))
            r, c = r2, c2
            if done:
                break
        assert path == ep.path, text
    assert len(GridReference(G).episode(parse(texts[0], G).tolist(), env).path) > 6  # it travels


# ------------------------------------------------------------------ record
def grid_history_config(profile="history", max_bits=19.0, extra=None):
    from levinsearch import domains, experiments
    raw = experiments.load("grid-history-growth")
    raw["grammar"]["profile"] = profile
    raw["search"].update(max_bits=max_bits, top=100000, **(extra or {}))
    raw["train"].update(height=4, width=4, horizon=32)
    raw["test"]["larger_rooms"].update(envs=4, height=5, width=5, horizon=50)
    return experiments.resolve(raw, domains=domains)


def test_record_reports_history_readers():
    import json
    from levinsearch import pipeline, types
    record = pipeline.run_experiment(grid_history_config())
    hyps, s = record["hypotheses"], record["summary"]
    assert len(hyps) == s["fitting"] > 0  # every fitting program is listed
    assert all(h["history"] == ("(visited" in h["program"]) for h in hyps)
    assert any(h["history"] for h in hyps) and not all(h["history"] for h in hyps)
    readers = sum(h["posterior"] for h in hyps if h["history"])
    assert 0 < s["history_mass"] == pytest.approx(readers) and s["history_mass"] < 1
    tailed = pipeline.run_experiment(grid_history_config(max_bits=17.5, extra={"tail_samples": 400}))
    whole = tailed["summary"]["whole_posterior"]
    assert whole["history"]["exact"] == pytest.approx(tailed["summary"]["history_mass"])
    for r in (record, tailed):  # the published JSON Schema admits the new fields
        types.validate(json.loads(json.dumps(r, default=lambda v: v.tolist())))
    plain = pipeline.run_experiment(grid_history_config(profile="heuristics"))
    assert "history_mass" not in plain["summary"] and all("history" not in h for h in plain["hypotheses"])
