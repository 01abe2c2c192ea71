"""The posterior bound at each depth (`enumeration.per_length[].unseen_bound`): the
bound a run stopped after that length would have reported."""
from __future__ import annotations

from conftest import run_json


def test_each_depth_matches_a_run_stopped_there(capsys):
    full = run_json(capsys, "--max-bits", "20", "--no-save")["enumeration"]
    rows = full["per_length"]
    assert all("unseen_bound" in row for row in rows)
    assert rows[-1]["unseen_bound"] == round(full["unseen_bound"]["posterior_uncertainty"], 6)
    bounds = [row["unseen_bound"] for row in rows]
    assert bounds == sorted(bounds, reverse=True) and bounds[0] == 1.0 > bounds[-1]
    for cut in (14, 17):
        shorter = run_json(capsys, "--max-bits", str(cut), "--no-save")["enumeration"]
        at_cut = [row for row in rows if row["bits"] <= cut][-1]
        assert at_cut["unseen_bound"] == round(shorter["unseen_bound"]["posterior_uncertainty"], 6)


def test_time_weight_and_noise_keep_the_last_depth_equal_to_the_run_bound(capsys):
    for extra in (("--time-weight", "1"), ("--noise", "0.05")):
        e = run_json(capsys, "--max-bits", "18", "--no-save", *extra)["enumeration"]
        assert e["per_length"][-1]["unseen_bound"] == round(e["unseen_bound"]["posterior_uncertainty"], 6)


def test_levin_order_reports_no_depth_bound(capsys):
    e = run_json(capsys, "--max-bits", "14", "--order", "levin", "--time-weight", "1", "--no-save")["enumeration"]
    assert e["per_length"] and not any("unseen_bound" in row for row in e["per_length"])


def test_a_summary_missing_a_lengths_mass_gives_no_depth_bounds():
    """A checkpoint written before per-length masses were kept, then resumed: the
    lengths judged before have fitting programs but no mass, so no depth bound is given."""
    from levinsearch import domains, experiments, pipeline

    prep = pipeline.prepare(experiments.resolve(experiments.load("red-door"), {"max_bits": 16.0}, domains=domains))
    agg, position = pipeline.search(prep)
    first_fitting = min(m for m, row in agg.levels.items() if row[1])
    del agg.level_mass[first_fitting]
    rows = pipeline.build_record(prep, agg, position)["enumeration"]["per_length"]
    assert rows and not any("unseen_bound" in row for row in rows)
