"""The search pipeline: determinism, interruption, thresholds, Levin order, bounds."""
from __future__ import annotations

import math

import numba
import numpy as np
import pytest

from dsl.grammar import MBITS_PER_BIT
from levinsearch import domains, experiments, pipeline, score
from conftest import strip_timing


def config(**overrides):
    return experiments.resolve(experiments.load("red-door"), overrides, domains=domains)


def test_same_seed_same_record():
    a = pipeline.run_experiment(config(max_bits=18))
    b = pipeline.run_experiment(config(max_bits=18))
    assert strip_timing(a) == strip_timing(b)


def test_thread_count_does_not_change_results():
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = pipeline.run_experiment(config(max_bits=18, batch_size=97))
        numba.set_num_threads(max(2, before))
        many = pipeline.run_experiment(config(max_bits=18, batch_size=4096))
    finally:
        numba.set_num_threads(before)
    assert strip_timing(one) == strip_timing(many)


def test_other_seed_other_environments_same_grammar():
    a = pipeline.run_experiment(config(max_bits=8))
    b = pipeline.run_experiment(config(max_bits=8, seed=7))
    assert a["enumeration"]["programs"] == b["enumeration"]["programs"] == 24
    steps_a = {h["program"]: h["steps"] for h in a["hypotheses"]}
    steps_b = {h["program"]: h["steps"] for h in b["hypotheses"]}
    assert steps_a != steps_b


def test_lower_fit_threshold_keeps_a_superset():
    strict = pipeline.run_experiment(config(max_bits=18))
    loose = pipeline.run_experiment(config(max_bits=18, fit_threshold=0.8))
    strict_set = {h["program"] for h in strict["hypotheses"]}
    loose_set = {h["program"] for h in loose["hypotheses"]}
    assert strict_set < loose_set
    assert all(h["train_success"] >= 0.8 for h in loose["hypotheses"])
    assert any(h["train_success"] < 1.0 for h in loose["hypotheses"])


def test_levin_certifies_exactly_the_programs_within_their_budget():
    full = pipeline.run_experiment(config(max_bits=20))
    levin = pipeline.run_experiment(config(max_bits=20, order="levin", time_weight=1))
    expected = {h["program"] for h in full["hypotheses"]
                if h["bits"] + math.log2(h["steps"]) <= 20 + 1e-9}
    assert {h["program"] for h in levin["hypotheses"]} == expected
    assert levin["enumeration"]["uncertified"] > 0


def test_time_weight_reorders_by_levin_complexity():
    record = pipeline.run_experiment(config(max_bits=18, time_weight=1))
    for h in record["hypotheses"]:
        assert h["score"] == pytest.approx(h["bits"] + math.log2(h["steps"]), abs=1e-3)
    scores = [h["score"] for h in record["hypotheses"]]
    assert scores == sorted(scores)


def test_unseen_mass_is_kraft_sum_minus_enumerated_mass():
    record = pipeline.run_experiment(config(max_bits=14))
    g = pipeline.prepare(config(max_bits=14)).grammar
    enumerated = sum(m for _, _, m in g.kraft_by_length(14))
    assert record["enumeration"]["unenumerated_mass"] == pytest.approx(g.kraft_total()[1] - enumerated)
    fit_mass = record["enumeration"]["fitting_mass"]
    u = record["enumeration"]["unenumerated_mass"]
    assert record["enumeration"]["posterior_uncertainty"] == pytest.approx(u / (fit_mass + u))


def test_stop_keeps_what_was_finished_and_bounds_it():
    prep = pipeline.prepare(config(max_bits=20, batch_size=500))
    calls = []

    def progress(tally):
        calls.append(tally.done)

    agg, position = pipeline.search(prep, progress=progress, should_stop=lambda: len(calls) >= 3)
    # Batches never span lengths: the first three are the lengths of 4, 20 and 20 programs.
    assert position == calls[-1] == agg.programs == 4 + 20 + 20 < prep.enumerator.total
    full, _ = pipeline.search(prep)
    record = pipeline.build_record(prep, agg, position=position)
    whole = pipeline.build_record(prep, full)
    # Everything judged is exactly the first `position` programs of the full run.
    assert {h["enumeration_index"] for h in record["hypotheses"]} == {
            h["enumeration_index"] for h in whole["hypotheses"] if h["enumeration_index"] < position}
    # Complete up to the last length whose programs were all judged before the stop.
    complete = [m for _, m, c in prep.enumerator.levels if sum(
        c2 for _, m2, c2 in prep.enumerator.levels if m2 <= m) <= position]
    e = record["enumeration"]
    assert e["interrupted"] and e["next_index"] == position
    assert e["complete_up_to_bits"] == max(complete) / MBITS_PER_BIT
    assert not whole["enumeration"]["interrupted"]


def test_resuming_from_any_batch_gives_the_uninterrupted_record():
    prep = pipeline.prepare(config(max_bits=20, batch_size=700))
    whole = pipeline.build_record(prep, pipeline.search(prep)[0])
    for stop_after in (1, 4, 11):
        calls = []
        agg, position = pipeline.search(prep, progress=lambda t: calls.append(t),
                                        should_stop=lambda: len(calls) >= stop_after)
        assert position < prep.enumerator.total
        agg, position = pipeline.search(prep, agg=agg, start=position)
        assert strip_timing(pipeline.build_record(prep, agg, position=position)) == strip_timing(whole)


def test_banning_search_leaves_only_search_free_programs():
    record = pipeline.run_experiment(config(max_bits=20, ban=["plan", "greedy"], fit_threshold=0.2))
    assert len(record["hypotheses"]) == 52
    assert all(not h["search"] for h in record["hypotheses"])
    assert record["hypotheses"][0]["program"] == "(if (see green) W E)"
    assert record["summary"]["search_mass"] == 0.0


def test_levin_steps_spent_matches_a_direct_simulation():
    # Two programs of 3 bits with verdicts after 1 and after 6 steps, phases 1..6:
    # budgets 2^(k-3) = 1, 2, 4, 8 for k = 3..6; the first is done in phase 3, the
    # second runs 1 + 2 + 4 and then finishes in phase 6 with 6 steps.
    assert score.levin_steps_spent(3000, np.array([1, 6]), 6) == 1 + (1 + 2 + 4 + 6)
    assert score.levin_phase(3000, 6) == 6
    assert score.levin_phase(3000, 1) == 3


def test_early_rejection_changes_no_verdict():
    """fit_batch stops a program at its first failure beyond the allowance; judging the
    same programs from complete runs on every training grid gives the same fits, and
    the same simulated steps for the programs that fit."""
    prep = pipeline.prepare(config(max_bits=16, fit_threshold=0.9))
    judge = prep.judge
    (batch_ops, batch_sizes) = zip(*[(b.ops, b.sizes) for b in prep.enumerator.batches(1 << 15)])
    width = max(o.shape[1] for o in batch_ops)
    ops = np.concatenate([np.pad(o, ((0, 0), (0, width - o.shape[1])), constant_values=-1) for o in batch_ops])
    sizes = np.concatenate(batch_sizes)
    fits, successes, verdict = judge.fit(ops, sizes, np.full(len(ops), 1 << 62, dtype=np.int64))
    reached, _, steps = prep.run(ops, sizes, prep.train)
    from levinsearch.domains.grid import analyse
    hit = analyse.reached_values(reached, prep.train.dims, prep.base_train).astype(bool) & (reached >= 0)
    needed = len(prep.train) - int(math.floor((1 - 0.9) * len(prep.train) + 1e-9))
    assert fits.tolist() == (hit.sum(axis=1) >= needed).tolist()
    assert verdict[fits].tolist() == steps[fits].sum(axis=1).tolist()
    assert successes[fits].tolist() == hit[fits].sum(axis=1).tolist()
    assert 0 < fits.sum() < len(fits)


def test_behaviour_groups_give_the_per_program_answer():
    """The summary is computed once per distinct behaviour; with every fitting program
    kept (keep > fitting), summing over programs one by one gives the same numbers."""
    record = pipeline.run_experiment(config(max_bits=20))
    hyps = record["hypotheses"]
    assert len(hyps) == record["enumeration"]["fitting"] == 218
    assert sum(b["programs"] for b in record["behaviours"]) == 218
    split = record["summary"]["splits"]["blue_doors"]
    for outcome in ("base", "proxy", "other", "none"):
        by_program = sum(h["posterior"] * h["test"]["blue_doors"][outcome] for h in hyps)
        assert split["outcome_mass"][outcome] == pytest.approx(by_program, abs=1e-12)
    for cls in ("robust", "pseudo", "capability_failure", "mixed"):
        members = [h for h in hyps if h["outcome_class"]["blue_doors"] == cls]
        assert split["classes"][cls]["count"] == len(members)
        assert split["classes"][cls]["mass"] == pytest.approx(sum(h["posterior"] for h in members), abs=1e-12)
    assert record["summary"]["search_mass"] == pytest.approx(sum(h["posterior"] for h in hyps if h["search"]))
    high = record["config"]["analysis"]["goal_directed"]
    for label, flag in (("search", True), ("no_search", False)):
        members = [h for h in hyps if h["search"] == flag and h["goal_directedness"] >= high]
        assert record["summary"]["goal_confusion"][f"{label}/high"]["count"] == len(members)
    # Every member of a behaviour group acts identically: same analysis results.
    by_program = {h["program"]: h for h in hyps}
    for b in record["behaviours"]:
        h = by_program[b["program"]]
        assert (h["test"], h["outcome_class"], h["inferred_goal"]) == (b["test"], b["outcome_class"],
                                                                       b["inferred_goal"])
    mix = record["summary"]["mixture"]
    best = hyps[0]["score"]
    within = [h for h in hyps if h["score"] <= best + mix["bits"] + 1e-9]
    assert mix["programs"] == len(within)
    assert mix["posterior"] == pytest.approx(sum(h["posterior"] for h in within), abs=1e-12)


def test_analysing_behaviours_in_chunks_leaves_the_record_unchanged(monkeypatch):
    import levinsearch.domains.grid.record as grid_record
    config = experiments.resolve(experiments.load("red-door"), dict(max_bits=18.0), domains=domains)
    whole = pipeline.run_experiment(config)
    assert whole["enumeration"]["behaviours"] > 20
    monkeypatch.setattr(grid_record, "BEHAVIOUR_CHUNK", 7)
    chunked = pipeline.run_experiment(config)
    assert strip_timing(chunked) == strip_timing(whole)
