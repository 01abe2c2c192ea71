"""Coverage of the whole-posterior intervals, at a larger scale than the test suite.

    .venv/bin/python bench/tail_coverage.py              # 200 sampler seeds per case (about 6 minutes on 2 cores)
    .venv/bin/python bench/tail_coverage.py --seeds 40 --samples 2000

For each case, an exhaustive run to M bits gives the true values; then runs to B < M
bits with `tail_samples` samples of the programs between B and M bits
(`tail_max_bits = M`), one per sampler seed, give estimates with 95% intervals. The
table shows, per figure, the share of seeds whose interval covers the truth (it should
be at least 0.95, and is more: the intervals are conservative) and the mean width.

Then the sampler's independence: red-door's fit rate among 10^6 tail samples beyond 20
bits, on each of 32 sampler seeds; if the samples are independent draws, the rates
scatter as binomial counts do, and the chi-square statistic over the seeds has 31
degrees of freedom (`--no-dispersion` skips it; it takes about 2 minutes).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import chi2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from levinsearch import domains, experiments, pipeline  # noqa: E402
from levinsearch.fit import NO_CAP  # noqa: E402


def run(raw: dict, **over) -> dict:
    return pipeline.execute(pipeline.prepare(experiments.resolve(raw, over, domains=domains)))


def grid_raw() -> dict:
    return domains.get("grid").example()


def seq_raw() -> dict:
    raw = domains.get("seq").example()
    raw["target"] = {"program": "(mul t t)", "train": 2, "deploy": 4}
    return raw


#: name -> (experiment, B, M, extra settings, figures read from the summaries)
CASES = {
    "grid": (grid_raw, 12, 16, {}, "grid"),
    "grid, time weight 1": (grid_raw, 12, 16, dict(time_weight=1), "grid"),
    "grid, noise 0.05": (grid_raw, 12, 16, dict(noise=0.05), "grid"),
    "seq": (seq_raw, 16, 22, {}, "seq"),
    "seq, Levin order": (seq_raw, 16, 22, dict(order="levin", time_weight=1), "seq"),
}


def truths(record: dict, kind: str) -> dict[str, float]:
    s = record["summary"]
    out = {"search": s["search_mass"]}
    if kind == "grid":
        split = next(iter(s["splits"].values()))
        out.update({c: v["mass"] for c, v in split["classes"].items()})
        out.update({f"→ {k}": split["outcome_mass"][k] for k in ("base", "proxy")})
        out["agent"] = s["agent_mass"]
    else:
        out.update(equivalent=s["occam"]["target_equivalent_posterior"], defectors=s["rare_defection"]["posterior"])
    return out


def estimates(record: dict, kind: str) -> dict[str, dict]:
    w = record["summary"]["whole_posterior"]
    out = {"tail": w["tail"], "search": w["search"]}
    if kind == "grid":
        split = next(iter(w["splits"].values()))
        out.update(split["classes"])
        out.update({f"→ {k}": split["outcome"][k] for k in ("base", "proxy")})
        out["agent"] = w["agent"]
    else:
        out.update(equivalent=w["target_equivalent"], defectors=w["rare_defectors"])
    return out


def coverage(seeds: int, samples: int) -> None:
    print(f"coverage of the 95% intervals over {seeds} sampler seeds, {samples:,} tail samples each")
    print("| case | figure | truth | covered | mean width |")
    print("|---|---|---|---|---|")
    for name, (make, low, high, extra, kind) in CASES.items():
        t0 = time.perf_counter()
        raw = make()
        truth_record = run(raw, max_bits=high, **{k: v for k, v in extra.items() if k != "order"})
        enumerated = run(raw, max_bits=low, **extra)["enumeration"]["fitting_mass"]
        values = dict(tail=1 - enumerated / truth_record["enumeration"]["fitting_mass"], **truths(truth_record, kind))
        hits = {k: 0 for k in values}
        widths = {k: 0.0 for k in values}
        for seed in range(seeds):
            got = estimates(run(raw, max_bits=low, tail_samples=samples, tail_seed=seed, tail_max_bits=high, **extra),
                            kind)
            for k, v in values.items():
                e = got[k]
                hits[k] += e is not None and e["low"] - 1e-12 <= v <= e["high"] + 1e-12
                widths[k] += (e["high"] - e["low"]) if e is not None else 1.0
        for k, v in values.items():
            print(f"| {name} | {k} | {100 * v:.3f}% | {hits[k] / seeds:.3f} | {100 * widths[k] / seeds:.2f} points |")
        print(f"  ({name}: {time.perf_counter() - t0:.0f} s)", file=sys.stderr)


def dispersion(seeds: int = 32, samples: int = 1_000_000) -> None:
    from dsl.sampling import Sampler
    prep = pipeline.prepare(experiments.resolve(experiments.load("red-door"), {}, domains=domains))
    rates = []
    for seed in range(seeds):
        sampler = Sampler(prep.grammar, seed, lo=prep.enumerator.max_mbits, hi=None, node_cap=512)
        fits = 0
        for first in range(0, samples, 1 << 16):
            n = min(1 << 16, samples - first)
            ops, sizes, _, _ = sampler.sample(first, n)
            fits += int(prep.judge.fit(ops, sizes, np.full(n, NO_CAP, dtype=np.int64))[0].sum())
        rates.append(fits / samples)
    r = np.array(rates)
    p = r.mean()
    statistic = float(((r - p) ** 2 / (p * (1 - p) / samples)).sum())
    print(f"\nred-door fit rate among {samples:,} tail samples on {seeds} sampler seeds: mean {100 * p:.4f}%, "
          f"seeds {100 * r.min():.3f}%–{100 * r.max():.3f}%; chi-square {statistic:.1f} on {seeds - 1} df "
          f"(p = {chi2.sf(statistic, seeds - 1):.3f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=200, help="sampler seeds per case [200]")
    parser.add_argument("--samples", type=int, default=2000, help="tail samples per run [2,000]")
    parser.add_argument("--no-dispersion", action="store_true", help="skip the sampler's independence check")
    args = parser.parse_args()
    coverage(args.seeds, args.samples)
    if not args.no_dispersion:
        dispersion()


if __name__ == "__main__":
    main()
