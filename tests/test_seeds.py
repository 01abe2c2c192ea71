"""Seeds and intervals: --seeds N runs an experiment on N environment seeds, and every
summary figure is a mean with a 95% Student-t interval; sweeps show the same per point."""
from __future__ import annotations

import math

import pytest

from conftest import invoke, run_json, strip_timing
from levinsearch import experiments, stats


def test_interval_by_hand():
    span = stats.interval([1.0, 2.0, 3.0, 4.0, 5.0])
    # mean 3, s = sqrt(2.5), t(0.975, 4) = 2.776
    half = 2.776 * math.sqrt(2.5) / math.sqrt(5)
    assert span == pytest.approx(dict(mean=3.0, low=3.0 - half, high=3.0 + half, n=5))
    assert stats.interval([0.9, 1.0, 1.0], share=True)["high"] == 1.0  # clipped
    assert stats.interval([None, 0.5]) == dict(mean=0.5, low=0.5, high=0.5, n=1)
    assert stats.interval([None]) is None
    assert stats.t_quantile(1) == 12.706 and stats.t_quantile(30) == 2.042
    assert stats.t_quantile(100) == pytest.approx(1.984, abs=0.01)


def test_seeds_in_the_file_and_by_flag():
    raw = experiments.load("red-door")
    raw["experiment"]["seeds"] = 4
    config = experiments.resolve(raw)
    assert config["seeds"] == 4 and [c["seed"] for c in experiments.seed_configs(config)] == [0, 1, 2, 3]
    assert "seeds" not in experiments.resolve(experiments.load("red-door"))  # single runs keep their records
    assert [c["seed"] for c in experiments.seed_configs(
        experiments.resolve(experiments.load("red-door"), dict(seed=7, seeds=2)))] == [7, 8]


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
