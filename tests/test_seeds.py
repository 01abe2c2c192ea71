"""Seeds and intervals: --seeds N runs an experiment on N environment seeds, and every
summary figure is a mean with a Student-t interval (95%, or --confidence); sweeps show the
same per point."""
from __future__ import annotations

import math
import statistics

import pytest

from conftest import invoke, run_json, strip_timing
from dsl.errors import DslError
from levinsearch import domains, experiments, stats


def test_interval_by_hand():
    span = stats.interval([1.0, 2.0, 3.0, 4.0, 5.0])
    # mean 3, s = sqrt(2.5), t(0.975, 4) = 2.7764451051977934 (2.776 in printed tables)
    half = 2.7764451051977934 * math.sqrt(2.5) / math.sqrt(5)
    assert span == pytest.approx(dict(mean=3.0, low=3.0 - half, high=3.0 + half, n=5), rel=1e-12)
    assert stats.interval([0.9, 1.0, 1.0], share=True)["high"] == 1.0  # clipped
    assert stats.interval([None, 0.5]) == dict(mean=0.5, low=0.5, high=0.5, n=1)
    assert stats.interval([None]) is None
    # Printed tables' values, to their three decimals: the exact quantiles round to them.
    assert round(stats.t_quantile(1), 3) == 12.706 and round(stats.t_quantile(30), 3) == 2.042
    assert round(stats.t_quantile(100), 3) == 1.984
    assert round(stats.t_quantile(4, 0.9), 3) == 2.132 and round(stats.t_quantile(4, 0.99), 3) == 4.604


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_t_quantiles_are_scipys_at_any_level(confidence):
    from scipy.stats import t
    for df in range(1, 41):
        assert stats.t_quantile(df, confidence) == t.ppf((1 + confidence) / 2, df)


def test_a_lower_confidence_gives_a_narrower_interval_and_bad_levels_are_refused():
    values = [0.2, 0.35, 0.3, 0.5]
    wide, narrow = stats.interval(values), stats.interval(values, confidence=0.9)
    assert narrow["mean"] == wide["mean"] and wide["low"] < narrow["low"] < narrow["high"] < wide["high"]
    half = stats.t_quantile(3, 0.9) * statistics.stdev(values) / 2
    assert narrow["high"] - narrow["mean"] == pytest.approx(half, rel=1e-12)
    for bad in (0, 1, 1.5, -0.1, True, "0.9"):
        with pytest.raises(ValueError):
            stats.t_quantile(3, bad)
    with pytest.raises(ValueError):
        stats.t_quantile(0)


def test_confidence_in_the_file_and_by_flag():
    raw = experiments.load("red-door")
    assert "confidence" not in experiments.resolve(raw, domains=domains)  # 0.95: default records unchanged
    assert "confidence" not in experiments.resolve(raw, dict(confidence=0.95), domains=domains)
    config = experiments.resolve(raw, dict(confidence=0.9), domains=domains)
    assert config["confidence"] == 0.9 and "confidence" in config["flags"]
    raw["experiment"]["confidence"] = 0.99
    assert experiments.resolve(raw, domains=domains)["confidence"] == 0.99
    again = experiments.raw_of(experiments.resolve(raw, domains=domains), domains=domains)
    assert experiments.resolve(again, domains=domains)["confidence"] == 0.99
    raw["experiment"]["confidence"] = 1.0
    with pytest.raises(DslError, match=r"confidence must be in \(0, 1\)"):
        experiments.resolve(raw, domains=domains)


@pytest.mark.parametrize("args", [("run", "red-door", "--max-bits", "10", "--no-save"),
                                  ("sweep", "red-door", "--set", "time_weight=0,1", "--max-bits", "10", "--no-save")])
@pytest.mark.parametrize("value", ["1", "0", "-0.5", "1.5", "x"])
def test_a_bad_confidence_is_one_error_line(capsys, args, value):
    code, out, err = invoke(capsys, *args, "--confidence", value)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "confidence" in err


def test_confidence_narrows_the_intervals_over_seeds(capsys):
    args = ("red-door", "--max-bits", "14", "--seeds", "3", "--train-envs", "4", "--no-save")
    wide = run_json(capsys, *args)
    narrow = run_json(capsys, *args, "--confidence", "0.9")
    assert wide["confidence"] == 0.95 and narrow["confidence"] == 0.9
    a, b = wide["points"][0], narrow["points"][0]
    assert a["metrics"] == b["metrics"] and a["per_seed"] == b["per_seed"]
    widths = [(a["intervals"][n][1] - a["intervals"][n][0], b["intervals"][n][1] - b["intervals"][n][0])
              for n in ("fitting", "base")]
    assert all(w_narrow < w_wide for w_wide, w_narrow in widths)
    for name in ("search", "base", "fitting"):
        span = stats.interval(b["per_seed"][name], share=name != "fitting", confidence=0.9)
        assert b["intervals"][name] == [span["low"], span["high"]]
    code, out, _ = invoke(capsys, "run", *args, "--confidence", "0.9")
    assert code == 0 and "90% interval" in out and "95% interval" not in out


def test_confidence_narrows_the_whole_posterior_intervals():
    from levinsearch import domains, pipeline
    raw = domains.get("grid").example()
    runs = {c: pipeline.execute(pipeline.prepare(experiments.resolve(raw, dict(max_bits=12, tail_samples=1000,
                                                                               confidence=c), domains=domains)))
            for c in (0.95, 0.9)}
    wide, narrow = runs[0.95], runs[0.9]
    assert wide["tail"]["confidence"] == 0.95 and narrow["tail"]["confidence"] == 0.9
    assert "confidence" not in wide["config"] and narrow["config"]["confidence"] == 0.9
    a, b = wide["tail"]["share"], narrow["tail"]["share"]
    assert a["estimate"] == b["estimate"] and a["low"] < b["low"] < b["high"] < a["high"]
    # Every whole-posterior figure: the same estimate, inside a narrower interval.
    pairs = [(x, y) for x, y in zip(_estimates(wide["summary"]["whole_posterior"]),
                                    _estimates(narrow["summary"]["whole_posterior"]))]
    assert len(pairs) > 5
    assert all(x["estimate"] == y["estimate"] and x["low"] <= y["low"] and y["high"] <= x["high"] for x, y in pairs)
    assert any(y["high"] - y["low"] < x["high"] - x["low"] for x, y in pairs)


def _estimates(node):
    if isinstance(node, dict) and {"estimate", "low", "high"} <= set(node):
        return [node]
    return [e for value in (node.values() if isinstance(node, dict) else []) for e in _estimates(value)]


def test_seeds_in_the_file_and_by_flag():
    raw = experiments.load("red-door")
    raw["experiment"]["seeds"] = 4
    config = experiments.resolve(raw, domains=domains)
    assert config["seeds"] == 4 and [c["seed"] for c in experiments.seed_configs(config)] == [0, 1, 2, 3]
    assert "seeds" not in experiments.resolve(experiments.load("red-door"), domains=domains)  # single runs keep their records
    assert [c["seed"] for c in experiments.seed_configs(
        experiments.resolve(experiments.load("red-door"), dict(seed=7, seeds=2), domains=domains))] == [7, 8]


def test_run_over_seeds_reports_means_intervals_and_each_seed(capsys):
    record = run_json(capsys, "red-door", "--max-bits", "14", "--seeds", "3", "--train-envs", "4", "--no-save")
    assert record["seeds"] == 3
    point = record["points"][0]
    assert point["seeds"] == [0, 1, 2]
    singles = [run_json(capsys, "red-door", "--max-bits", "14", "--train-envs", "4", "--seed", str(s), "--no-save")
               for s in (0, 1, 2)]
    assert point["per_seed"]["search"] == [single["summary"]["search_mass"] for single in singles]
    assert point["per_seed"]["base"] == [single["summary"]["splits"]["blue_doors"]["outcome_mass"]["base"]
                                         for single in singles]
    for name in ("search", "robust", "base", "proxy"):
        span = stats.interval(point["per_seed"][name], share=True)
        assert point["metrics"][name] == pytest.approx(span["mean"])
        assert point["intervals"][name] == pytest.approx([span["low"], span["high"]])
    assert point["per_seed"]["fitting"] == [s["enumeration"]["fitting"] for s in singles]
    # the seeds differ (4 training grids of another layout each), so the fitting counts do
    assert len(set(point["per_seed"]["fitting"])) > 1
    code, out, _ = invoke(capsys, "run", "red-door", "--max-bits", "14", "--seeds", "3", "--train-envs", "4",
                          "--no-save")
    assert code == 0 and "over 3 environment seeds 0, 1, 2" in out and "95% interval" in out


def test_sweep_over_seeds_has_intervals_per_point(capsys):
    code, out, err = invoke(capsys, "sweep", "red-door", "--set", "time_weight=0,1", "--seeds", "2",
                            "--max-bits", "14", "--no-save", "--json")
    assert code == 0, err
    import json
    record = json.loads(out)
    assert record["seeds"] == 2 and len(record["points"]) == 2
    for p in record["points"]:
        assert p["seeds"] == [0, 1] and set(p["intervals"]) == set(p["metrics"])
        low, high = p["intervals"]["robust"]
        assert low <= p["metrics"]["robust"] <= high


def test_a_saved_multi_seed_run_keeps_each_seed_and_reports_again(capsys, tmp_path):
    record = run_json(capsys, "red-door", "--max-bits", "12", "--seeds", "2", "--runs-dir", str(tmp_path))
    from pathlib import Path
    run = Path(record["run"])
    assert sorted(p.name for p in (run / "points").iterdir()) == ["001-seed0.json", "001-seed1.json"]
    code, out, _ = invoke(capsys, "report", str(run))
    assert code == 0 and "over 2 environment seeds" in out
    code, _, err = invoke(capsys, "run", "--resume", str(run), "--runs-dir", str(tmp_path))
    assert code == 2 and "single-seed" in err
