"""The whole-posterior estimate (levinsearch.tail): the region's exact masses, the
interval arithmetic, records that do not depend on how the work was cut, coverage of
exhaustive truths in validation mode, and the surfaces that carry it."""
from __future__ import annotations

import json
import math

import numba
import pytest
from scipy.stats import chi2, gamma

from conftest import invoke
from dsl.grammar import MBITS_PER_BIT
from levinsearch import backends, domains, experiments, pipeline, sweeps, types
from levinsearch.aggregate import Aggregate
from levinsearch.tail import Posterior, weighted_poisson_interval


def prepare(raw, **over):
    return pipeline.prepare(experiments.resolve(raw, over, domains=domains))


def run(raw, **over) -> dict:
    return pipeline.execute(prepare(raw, **over))


def grid_raw() -> dict:
    return domains.get("grid").example()


def seq_raw() -> dict:
    """A seq example whose tail holds many fitting programs (x^2 from 0, 1)."""
    raw = domains.get("seq").example()
    raw["target"] = {"program": "(mul t t)", "train": 2, "deploy": 4}
    return raw


def normalised(record: dict) -> str:
    record = json.loads(json.dumps(record))
    record["enumeration"].pop("seconds")
    record["enumeration"].pop("compile_seconds", None)
    for row in record["enumeration"]["per_length"]:
        row.pop("seconds")
    record.pop("versions")
    record.pop("provenance")
    record["config"].pop("flags")
    record["config"]["search"].pop("batch_size")
    return json.dumps(record, sort_keys=True)


# ------------------------------------------------------------------ the region
def test_the_region_mass_is_the_prior_mass_beyond_the_enumeration():
    prep = prepare(grid_raw(), max_bits=12, tail_samples=10)
    g, plan = prep.grammar, prep.tail
    enumerated = math.fsum(m for _, _, m in g.kraft_by_length(12))
    assert plan.lo_mbits == 12_000 and plan.hi_mbits is None and plan.node_cap == 512
    assert plan.mass + plan.unresolved_mass == pytest.approx(g.kraft_total()[1] - enumerated, abs=1e-12)
    assert 0 < plan.unresolved_mass < 1e-8  # the grid's programs of more than 512 nodes
    bounded = prepare(grid_raw(), max_bits=12, tail_samples=10, tail_max_bits=15).tail
    assert bounded.mass == pytest.approx(math.fsum(m for length, _, m in g.kraft_by_length(15) if length > 12_000))
    assert bounded.unresolved_mass == 0
    levin = prepare(grid_raw(), max_bits=12, tail_samples=10, order="levin", time_weight=1).tail
    assert levin.lo_mbits == -1  # every length: Levin search leaves short programs uncertified too


def test_a_fully_enumerated_grammar_needs_no_samples():
    record = run(domains.get("tm").example(), tail_samples=1000)
    tail = record["tail"]
    assert tail["mass"] == 0 and tail["judged"] == 0 and record["enumeration"]["next_index"] == \
        record["enumeration"]["total"]
    whole = record["summary"]["whole_posterior"]
    assert whole["tail"]["estimate"] == 0 and whole["map"]["estimate"] == record["summary"]["map_posterior"]


# ------------------------------------------------------------------ the interval arithmetic
class _Plan:
    def __init__(self, mass, unresolved=0.0):
        self.mass, self.unresolved_mass, self.empty = mass, unresolved, False


def posterior(exact_total, samples, tail_sum, mass, unresolved=0.0, weight_max=1.0, tail_squares=None) -> Posterior:
    p = Posterior.__new__(Posterior)
    p.plan, p.exact_total, p.samples, p.tail_sum = _Plan(mass, unresolved), exact_total, samples, tail_sum
    p.tail_squares = tail_sum if tail_squares is None else tail_squares
    p.weight_max, p.unresolved = weight_max, unresolved * weight_max
    p.tail = object()
    return p


def test_the_interval_is_fay_and_feuers_gamma_interval():
    # Weights 1: Garwood's exact Poisson interval, chi-square quantiles / 2.
    low, high = weighted_poisson_interval(7, 7, 1.0, 0.05)
    assert low == pytest.approx(chi2.ppf(0.025, 14) / 2) and high == pytest.approx(chi2.ppf(0.975, 16) / 2)
    assert weighted_poisson_interval(0, 0, 1.0, 0.05) == (0.0, pytest.approx(-math.log(0.025)))
    # Weights 0.5, 0.25, 0.25 with largest possible 1: the gamma matching mean 1 and
    # variance 0.375, and for the upper end one more event of weight 1.
    low, high = weighted_poisson_interval(1.0, 0.375, 1.0, 0.05)
    assert low == pytest.approx(gamma.ppf(0.025, 1 / 0.375, scale=0.375))
    assert high == pytest.approx(gamma.ppf(0.975, 4 / 1.375, scale=1.375 / 2))


def test_a_share_by_hand():
    """Exact fitting mass 0.03 of which 0.01 counts; tail region of prior mass 0.5 with
    1,000 samples, 20 fitting (weight 1 each), 5 of them counting: (0.01 + 0.5 * 5/1000)
    / (0.03 + 0.5 * 20/1000) = 0.0125 / 0.04."""
    p = posterior(0.03, 1000, 20.0, 0.5)
    e = p.estimate(0.01, (5.0, 5.0), (15.0, 15.0))
    assert e["exact"] == pytest.approx(1 / 3) and e["estimate"] == pytest.approx(0.3125)
    l1, h1 = (x / 1000 for x in weighted_poisson_interval(5, 5, 1.0, 0.025))
    l2, h2 = (x / 1000 for x in weighted_poisson_interval(15, 15, 1.0, 0.025))
    assert e["low"] == pytest.approx((0.01 + 0.5 * l1) / (0.03 + 0.5 * (l1 + h2)))
    assert e["high"] == pytest.approx((0.01 + 0.5 * h1) / (0.03 + 0.5 * (h1 + l2)))
    # The tail's own share: 0.01 / 0.04, no second part (a 95% interval of its own).
    share = p.share()
    lo, hi = (x / 1000 for x in weighted_poisson_interval(20, 20, 1.0, 0.05))
    assert share["estimate"] == pytest.approx(0.25)
    assert share["low"] == pytest.approx(0.5 * lo / (0.03 + 0.5 * lo))
    assert share["high"] == pytest.approx(0.5 * hi / (0.03 + 0.5 * hi))


def test_unresolved_mass_enters_at_its_worst_case():
    e = posterior(0.03, 1000, 20.0, 0.5, unresolved=0.001).estimate(0.01, (5.0, 5.0), (15.0, 15.0))
    e0 = posterior(0.03, 1000, 20.0, 0.5).estimate(0.01, (5.0, 5.0), (15.0, 15.0))
    assert e["estimate"] == e0["estimate"] and e["low"] < e0["low"] and e["high"] > e0["high"]
    _, h1 = (x / 1000 for x in weighted_poisson_interval(5, 5, 1.0, 0.025))
    l2, _ = (x / 1000 for x in weighted_poisson_interval(15, 15, 1.0, 0.025))
    assert e["high"] == pytest.approx((0.01 + 0.5 * h1 + 0.001) / (0.03 + 0.5 * (h1 + l2) + 0.001))


def test_no_fitting_sample_still_bounds_the_tail():
    """0 of 10,000 samples fit: the estimate is the exact one, the upper end what 0 of
    10,000 allows (-ln 0.025 = 3.7 events of the largest weight)."""
    e = posterior(0.02, 10_000, 0.0, 0.1).share()
    top = -math.log(0.025) / 10_000
    assert e["estimate"] == 0 and e["low"] == 0
    assert e["high"] == pytest.approx(0.1 * top / (0.02 + 0.1 * top))
    nothing = posterior(0.0, 10_000, 0.0, 0.1).estimate(0.0, (0.0, 0.0), (0.0, 0.0))
    assert nothing["estimate"] is None and (nothing["low"], nothing["high"]) == (0.0, 1.0)


def test_small_weights_keep_their_relative_lower_end():
    """20 fitting samples of weight 0.01 each (largest possible 1) against 20 of weight 1:
    the lower end of their sum is the same share of it (the gamma's shape is the same,
    20), and the upper end of the light ones keeps room for one unseen sample of
    weight 1, so it is much further above."""
    heavy = weighted_poisson_interval(20.0, 20.0, 1.0, 0.05)
    light = weighted_poisson_interval(0.2, 0.002, 1.0, 0.05)
    assert light[0] / 0.2 == pytest.approx(heavy[0] / 20.0)
    assert light[1] / 0.2 > 10 * heavy[1] / 20.0


# ------------------------------------------------------------------ records: one answer
@pytest.mark.parametrize("make", [grid_raw, seq_raw], ids=["grid", "seq"])
def test_records_do_not_depend_on_threads_batches_or_resuming(make, tmp_path):
    over = dict(max_bits=12 if make is grid_raw else 16, tail_samples=4000)
    prep = prepare(make(), **over)
    reference = normalised(pipeline.execute(prep))
    numba.set_num_threads(1)
    try:
        assert normalised(pipeline.execute(prepare(make(), **over, batch_size=97))) == reference
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    # Stopped half-way through the tail samples, saved, loaded and finished.
    middle = prep.enumerator.total + 1234
    agg, position = pipeline.search(prep, stop=middle)
    assert position == middle and agg.tail.programs == 1234
    path = tmp_path / "checkpoint.npz"
    agg.save(path)
    agg, _ = Aggregate.load(path)
    agg, position = pipeline.search(prep, agg=agg, start=middle)
    assert normalised(pipeline.build_record(prep, agg, position)) == reference


def test_worker_processes_give_the_same_record():
    over = dict(max_bits=12, tail_samples=3000)
    reference = normalised(run(grid_raw(), **over))
    prep = prepare(grid_raw(), **over)
    agg, position = backends.search(prep, backend="processes", workers=2, shards=5)
    assert normalised(pipeline.build_record(prep, agg, position)) == reference


def test_another_tail_seed_gives_other_samples():
    a = run(grid_raw(), max_bits=12, tail_samples=2000)
    b = run(grid_raw(), max_bits=12, tail_samples=2000, tail_seed=1)
    assert a["tail"]["attempts"] != b["tail"]["attempts"]


# ------------------------------------------------------------------ coverage (validation mode)
def covered(e, truth) -> bool:
    return e is not None and e["low"] - 1e-12 <= truth <= e["high"] + 1e-12


@pytest.mark.parametrize("domain,time_weight", [("grid", 0), ("seq", 0), ("grid", 1)],
                         ids=["grid", "seq", "grid-time-weighted"])
def test_intervals_cover_the_exhaustive_truth(domain, time_weight):
    """40 sampler seeds of a run to B with its tail to M: the 95% intervals cover the
    values of an exhaustive run to M at least 90% of the time (with a time weight the
    samples' weights are not 0 or 1; bench/tail_coverage.py runs a larger version)."""
    raw, low, high = (grid_raw(), 12, 16) if domain == "grid" else (seq_raw(), 16, 22)
    truth = run(raw, max_bits=high, time_weight=time_weight)
    enumerated = run(raw, max_bits=low, time_weight=time_weight)["enumeration"]["fitting_mass"]
    values = {"tail": 1 - enumerated / truth["enumeration"]["fitting_mass"], "search": truth["summary"]["search_mass"]}
    if domain == "grid":
        values.update({c: v["mass"] for c, v in truth["summary"]["splits"]["blue_doors"]["classes"].items()})
    else:
        values.update(equivalent=truth["summary"]["occam"]["target_equivalent_posterior"],
                      defectors=truth["summary"]["rare_defection"]["posterior"])
    hits = {name: 0 for name in values}
    seeds = 40
    for seed in range(seeds):
        w = run(raw, max_bits=low, time_weight=time_weight, tail_samples=2000, tail_seed=seed,
                tail_max_bits=high)["summary"]["whole_posterior"]
        estimates = {"tail": w["tail"], "search": w["search"]}
        if domain == "grid":
            estimates.update(w["splits"]["blue_doors"]["classes"])
        else:
            estimates.update(equivalent=w["target_equivalent"], defectors=w["rare_defectors"])
        for name, value in values.items():
            hits[name] += covered(estimates[name], value)
    assert 0 < values["tail"] < 1
    assert all(h >= 0.9 * seeds for h in hits.values()), hits


def test_levin_order_samples_the_uncertified_programs_too():
    """Under Levin search short programs that ran out of budget are unseen as well: the
    estimate over all programs of at most 16 bits covers a length-order run to 16 bits
    with the same score (bits + log2 t)."""
    truth = run(seq_raw(), max_bits=22, time_weight=1)["summary"]["search_mass"]
    hits = 0
    for seed in range(10):
        r = run(seq_raw(), max_bits=16, order="levin", time_weight=1, tail_samples=3000, tail_seed=seed,
                tail_max_bits=22)
        hits += covered(r["summary"]["whole_posterior"]["search"], truth)
        assert r["tail"]["region"]["min_bits_exclusive"] is None
    assert hits >= 9


# ------------------------------------------------------------------ surfaces
def test_the_record_validates_and_the_report_shows_both_columns():
    from levinsearch.api import RunRecord
    for raw, over in ((grid_raw(), dict(max_bits=12)), (seq_raw(), dict(max_bits=16))):
        record = run(raw, tail_samples=2000, **over)
        types.validate(record)
        text = RunRecord(record).report(width=160)
        assert "whole posterior" in text and "all programs (95% interval)" in text
        assert "the tail's largest behaviours" in text


def test_a_run_stopped_before_or_in_its_tail_says_so():
    from levinsearch.api import RunRecord
    prep = prepare(grid_raw(), max_bits=12, tail_samples=5000)
    n = prep.enumerator.total
    agg, position = pipeline.search(prep, stop=n - 1)
    before = pipeline.build_record(prep, agg, position)
    assert before["tail"]["judged"] == 0 and before["summary"]["whole_posterior"]["tail"] is None
    assert "none of 5,000 judged" in RunRecord(before).report(width=200)
    agg, position = pipeline.search(prep, agg=agg, start=position, stop=n + 1000)
    during = pipeline.build_record(prep, agg, position)
    assert during["enumeration"]["interrupted"] and during["tail"]["judged"] == 1000
    assert during["summary"]["whole_posterior"]["tail"]["estimate"] is not None
    assert "after 1,000 of 5,000 tail samples" in RunRecord(during).report(width=200)


def test_sweep_metrics_read_the_estimate():
    record = run(grid_raw(), max_bits=12, tail_samples=1000)
    row = sweeps.metrics(record, "blue_doors", domains.get("grid"))
    assert row["tail_share"] == record["tail"]["share"]["estimate"]
    assert row["whole_search"] == record["summary"]["whole_posterior"]["search"]["estimate"]
    plain = run(grid_raw(), max_bits=12)
    assert sweeps.metrics(plain, "blue_doors", domains.get("grid"))["tail_share"] is None


@pytest.mark.parametrize("args,message", [
    (["--tail-samples", "-1"], "tail_samples must be >= 0"),
    (["--tail-samples", "100000000000"], "tail_samples must be <= 10000000000"),
    (["--tail-samples", "10", "--tail-max-bits", "12"], "tail_max_bits must be in (max_bits, 48]"),
    (["--tail-samples", "10", "--length-weight", "0.5"], "tail_samples needs length_weight >= 1"),
    (["--tail-seed", "-3"], "tail_seed must be >= 0"),
])
def test_bad_tail_settings_are_one_line_errors(capsys, args, message):
    code, _, err = invoke(capsys, "run", "red-door", "--max-bits", "12", "--no-save", *args)
    assert code == 2 and len(err.strip().splitlines()) == 1 and message in err, err
