"""Smoothed complexity on grids: the time term from perturbed training grids, and the
deployment outcomes on perturbed test grids (docs/concepts.md, "Smoothed complexity";
the perturbation model is `dsl.grid.world.perturb`, documented in docs/grid.md).

With [search] smooth = sigma > 0, every training grid is perturbed K = smooth_samples
times, and t(p) reads each program's expected simulated steps per training grid, the
mean over its K perturbations; [search] time_measure then takes their total (the
default, as unsmoothed runs do), mean or worst (max). Fit is still judged on the
unperturbed training grids: only the time term is smoothed.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from dsl.grid.world import EnvBatch, GridEnv, pack, perturbed_split
from levinsearch.config import smooth_settings
from levinsearch.domains.grid import analyse
from levinsearch.stats import DEFAULT_CONFIDENCE, interval


def perturbed(envs: list[GridEnv], config: dict[str, Any], name: str) -> tuple[list[GridEnv], EnvBatch] | None:
    """The K perturbations of a split's grids (sample-major) and their packed batch, or
    None when smoothing is off."""
    sigma, samples, _ = smooth_settings(config["search"])
    if sigma == 0:
        return None
    out = perturbed_split(envs, sigma, samples, config["seed"], name)
    return out, pack(out)


def time_steps(prep) -> Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None:
    """The Judge's `time_steps` for a prepared grid run: None (t(p) is the verdict steps,
    today's total on the training grids) unless smoothing or another time measure is on."""
    sigma, samples, measure = smooth_settings(prep.config["search"])
    if sigma == 0 and measure == "total":
        return None
    n_env = len(prep.train)

    def steps(ops: np.ndarray, sizes: np.ndarray, verdict: np.ndarray, caps: np.ndarray) -> np.ndarray:
        cap = caps.astype(np.float64)[:, None]
        if sigma > 0:
            _, _, raw = prep.run(ops, sizes, prep.smooth_train[1])
            # A perturbed episode that runs past the program's Levin budget counts the budget.
            episodes = np.minimum(raw.reshape(len(ops), samples, n_env).astype(np.float64), cap[:, :, None])
            per_grid = episodes.mean(axis=1)
        else:
            per_grid = prep.run(ops, sizes, prep.train)[2].astype(np.float64)
        t = {"total": per_grid.sum, "mean": per_grid.mean, "worst": per_grid.max}[measure](axis=1)
        return np.minimum(np.rint(t), cap[:, 0]).astype(np.int64)

    return steps


def episode_outcomes(prep, name: str, ops: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Outcome index (analyse.OUTCOMES) of every program on every perturbed episode of test
    split `name`: int8 [n, K, E]."""
    envs, batch = prep.smooth_tests[name]
    reached, _, _ = prep.run(ops, sizes, batch)
    base, proxy = prep.smooth_cells[name]
    out = analyse.episode_outcomes(reached, batch.dims, base, proxy)
    samples = smooth_settings(prep.config["search"])[1]
    return out.reshape(len(ops), samples, len(envs) // samples)


def rates(outcomes: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per perturbation sample, the weighted share of episodes per outcome and the
    catastrophe share (an object reached where the base objective does not hold: proxy
    or other): float [K, len(OUTCOMES) + 1]. `outcomes` int8 [n, K, E], weights [n]."""
    shares = np.stack([(outcomes == j).mean(axis=2) for j in range(len(analyse.OUTCOMES))], axis=2)  # [n, K, 4]
    mixed = np.einsum("n,nkj->kj", weights, shares)
    catastrophe = mixed[:, analyse.OUTCOMES.index("proxy")] + mixed[:, analyse.OUTCOMES.index("other")]
    # Shares: weights that add up to 1 can round to 1 + 2^-52; at most 1.
    return np.minimum(np.concatenate([mixed, catastrophe[:, None]], axis=1), 1.0)


def summary_of(per_sample: np.ndarray, confidence: float) -> dict[str, Any]:
    """{outcome: interval over the K samples} for OUTCOMES and `catastrophe`."""
    names = (*analyse.OUTCOMES, "catastrophe")
    return {k: interval(per_sample[:, j].tolist(), share=True, confidence=confidence) for j, k in enumerate(names)}


def deployment(prep, agg, behaviours: list[dict[str, Any]], chunk: int = 4096,
               map_behaviours: int = 1) -> dict[str, dict[str, Any]] | None:
    """Per test split, the MAP program's and the posterior's outcome and catastrophe
    rates on the perturbed test grids, each the mean over the K perturbation samples with
    its interval (levinsearch.stats), or None when smoothing is off. With a MAP tie of
    `map_behaviours` behaviours (a prefix of the canonical order), `map_tie` too: the
    same rates with each tied behaviour weighted equally (`map` is the first program's)."""
    sigma, samples, _ = smooth_settings(prep.config["search"])
    if sigma == 0 or not len(agg.top):
        return None
    confidence = prep.config.get("confidence", DEFAULT_CONFIDENCE)
    reps, order = agg.representatives, agg.canonical_order()
    post = np.array([b["posterior"] for b in behaviours], dtype=np.float64)
    out = {}
    for name in prep.tests:
        top_ops, top_sizes = agg.top.ops[:1], agg.top.sizes[:1]
        mixed = np.zeros((samples, len(analyse.OUTCOMES) + 1))
        for lo in range(0, len(order), chunk):
            part = order[lo: lo + chunk]
            mixed += rates(episode_outcomes(prep, name, reps.ops[part], reps.sizes[part]), post[lo: lo + chunk])
        out[name] = dict(sigma=sigma, samples=samples, episodes=len(prep.smooth_tests[name][0]),
                         map=summary_of(rates(episode_outcomes(prep, name, top_ops, top_sizes), np.ones(1)),
                                        confidence),
                         posterior=summary_of(mixed, confidence))
        if map_behaviours > 1:
            tied = order[:map_behaviours]
            out[name]["map_tie"] = summary_of(
                rates(episode_outcomes(prep, name, reps.ops[tied], reps.sizes[tied]),
                      np.full(len(tied), 1.0 / len(tied))), confidence)
    return out
