"""Stakes: utilities on deployment steps (seq) or test episodes (grid), and the losses
and defector masses weighted by them.

An experiment file's optional [stakes] table gives every deployment unit a weight (its
stakes): `default` for all, and named exceptions (seq: `steps = { 12 = 100 }`, by
deployment step from 0; grid: `episodes = { trigger = { 0 = 100 } }`, by test split and
episode from 0). Without the table nothing here runs and records are unchanged.

The figures (docs/concepts.md, "Stakes"): a predictor's stakes-weighted loss is the sum
of the stakes of the units it gets wrong, and its rate that sum over the total stakes;
the posterior's is the same averaged over the posterior (a program drawn from it). Rare
defectors (wrong on 1..max_defections units) are grouped by the largest stakes among the
units where each errs; `high_stakes_share` is the share of the defectors' mass that errs
on a highest-stakes unit, against `uniform_share`, what it would be were each defector's
errors placed uniformly at random over the units.

This module reads only arrays and the settings: it imports no domain.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, NotRequired, TypedDict

import numpy as np

from dsl.errors import DslError
from levinsearch.config import check_keys, number
from levinsearch.types import Count, Share

#: The largest weight a stakes table may give (keeps every sum finite and exact enough).
MAX_WEIGHT = 1e12


class StakesTie(TypedDict):
    """The spread of a MAP tie's stakes-weighted loss (each tied behaviour counts once)."""

    behaviours: Count
    loss_range: list[float]  # [lowest, highest]
    errors_range: list[int]


class StakesLoss(TypedDict):
    """A predictor's stakes-weighted loss: the stakes of the units it gets wrong."""

    loss: float
    rate: float  # loss / total stakes
    errors: float  # units wrong, unweighted (the posterior's: the expected number)
    tie: NotRequired[StakesTie]  # the MAP's only, where its score is shared: the figures are the tie's mean


class StakesGroup(TypedDict):
    stakes: float  # the largest stakes among the units where these defectors err
    posterior: Share
    programs: Count


class StakesDefectors(TypedDict):
    max_defections: Count
    posterior: Share  # all rare defectors
    by_stakes: list[StakesGroup]  # largest stakes first
    high_stakes_posterior: Share  # defectors wrong on a unit of the largest stakes
    high_stakes_share: Share | None  # of the defectors' mass (None: no defectors)
    uniform_share: Share | None  # the same were each defector's errors placed at random
    cheapest_high_stakes: float | None  # best score of a defector wrong on a highest-stakes unit
    cheapest_elsewhere: float | None  # best score of a defector wrong only on lower-stakes units


class StakesFigures(TypedDict):
    """The stakes-weighted figures of one deployment (seq) or one test split (grid)."""

    weights: list[float]  # per unit, in order
    total: float
    high_stakes_units: list[int]  # the units of the largest stakes
    map: StakesLoss
    posterior: StakesLoss  # averaged over the posterior; errors: expected count
    mixture: NotRequired[StakesLoss]  # seq: the frozen Bayes mixture
    online_map: NotRequired[StakesLoss]  # seq: posterior updated on every revealed step
    online_mixture: NotRequired[StakesLoss]
    online_posterior: NotRequired[StakesLoss]
    defectors: StakesDefectors


# ------------------------------------------------------------------ the table
def _indexed(table: Any, units: int, what: str, unit: str) -> dict[str, float]:
    """{index: weight} of a table of INDEX = weight, indices 0 .. units - 1, as strings."""
    if not isinstance(table, Mapping):
        raise DslError(f"{what} must be a table of {unit} = weight, e.g. {{ 3 = 100 }}, got {table!r}")
    out: dict[str, float] = {}
    for key, value in table.items():
        text = str(key).strip()
        if not text.lstrip("-").isdigit():
            raise DslError(f"{what}: {key!r} is not a {unit} number (whole numbers from 0)")
        k = int(text)
        if not 0 <= k < units:
            raise DslError(f"{what}: {unit} {k} is out of range (0 .. {units - 1})")
        if str(k) in out:
            raise DslError(f"{what}: {unit} {k} is given twice")
        out[str(k)] = number(value, f"{what} {k}", minimum=0, maximum=MAX_WEIGHT)
    return out


def _default(table: Mapping[str, Any]) -> float:
    return number(table.get("default", 1.0), "[stakes] default", minimum=0, maximum=MAX_WEIGHT)


def resolve_steps(raw: Any, steps: int) -> dict[str, Any]:
    """The seq (and tm) [stakes] table, validated against the `steps` deployment steps:
    {"default": w, "steps": {"K": w, ...}}. DslError on a bad table."""
    check_keys(raw, {"default", "steps"}, "[stakes]")
    table = dict(default=_default(raw), steps=_indexed(raw.get("steps", {}), steps, "[stakes] steps", "step"))
    if sum(weights_of_steps(table, steps)) <= 0:
        raise DslError("[stakes] gives every deployment step weight 0: at least one must be positive")
    return table


def weights_of_steps(table: Mapping[str, Any], steps: int) -> np.ndarray:
    """Per deployment step, its weight, float [steps]."""
    w = np.full(steps, float(table["default"]))
    for k, v in table["steps"].items():
        w[int(k)] = float(v)
    return w


def resolve_episodes(raw: Any, splits: Mapping[str, int]) -> dict[str, Any]:
    """The grid [stakes] table, validated against the test splits ({name: episodes}):
    {"default": w, "max_defections": D, "episodes": {SPLIT: {"E": w}}}."""
    check_keys(raw, {"default", "episodes", "max_defections"}, "[stakes]")
    episodes = raw.get("episodes", {})
    if not isinstance(episodes, Mapping):
        raise DslError(f"[stakes] episodes must be a table of test splits, e.g. {{ calm = {{ 0 = 100 }} }}, "
                       f"got {episodes!r}")
    out: dict[str, dict[str, float]] = {}
    for name, table in episodes.items():
        if name not in splits:
            raise DslError(f"[stakes] episodes: no test split {name!r} (splits: {', '.join(splits)})")
        out[str(name)] = _indexed(table, splits[name], f"[stakes] episodes {name}", "episode")
    d = number(raw.get("max_defections", 2), "[stakes] max_defections", minimum=1, maximum=10_000, integer=True)
    resolved = dict(default=_default(raw), max_defections=d, episodes=out)
    for name, n in splits.items():
        if sum(weights_of_episodes(resolved, name, n)) <= 0:
            raise DslError(f"[stakes] gives every episode of split {name!r} weight 0: at least one must be positive")
    return resolved


def weights_of_episodes(table: Mapping[str, Any], split: str, episodes: int) -> np.ndarray:
    """Per episode of a test split, its weight, float [episodes]."""
    w = np.full(episodes, float(table["default"]))
    for k, v in table["episodes"].get(split, {}).items():
        w[int(k)] = float(v)
    return w


# ------------------------------------------------------------------ the figures
def loss(wrong: np.ndarray, w: np.ndarray) -> dict[str, Any]:
    """One predictor's stakes-weighted loss from its wrong units (bool [m])."""
    wrong = np.asarray(wrong, dtype=bool)
    total = float(w.sum())
    value = float(w[wrong].sum())
    return dict(loss=value, rate=value / total if total > 0 else 0.0, errors=int(wrong.sum()))


def tie_loss(wrong: np.ndarray, w: np.ndarray) -> dict[str, Any]:
    """The MAP's stakes-weighted loss from the wrong units of each of its tied
    behaviours (bool [k, m], or [m] for one): with one, its loss; with a tie, the mean
    over the tied behaviours (the enumeration's order picks none of them) and `tie`,
    the range."""
    wrong = np.asarray(wrong, dtype=bool)
    if wrong.ndim == 1 or len(wrong) == 1:
        return loss(wrong.reshape(-1), w)
    each = [loss(row, w) for row in wrong]
    losses = [e["loss"] for e in each]
    errors = [e["errors"] for e in each]
    total = float(w.sum())
    value = float(np.mean(losses))
    return dict(loss=value, rate=value / total if total > 0 else 0.0, errors=_count(np.mean(errors)),
                tie=dict(behaviours=len(each), loss_range=[min(losses), max(losses)],
                         errors_range=[min(errors), max(errors)]))


def _count(mean: float) -> int | float:
    """A tie's mean count of wrong units: an int where it is whole (as one predictor's)."""
    mean = round(float(mean), 12)
    return int(mean) if mean == int(mean) else mean


def online_tie_loss(share_wrong: np.ndarray, w: np.ndarray, behaviours: int) -> dict[str, Any]:
    """The online MAP's stakes-weighted loss where a tie held at some step: from the
    share of the tied behaviours that err at each unit, the mean over the tie (each
    tied behaviour equally likely; the enumeration's order picks none) and `tie`, the
    range from the units every tied behaviour errs on to those any does. `behaviours`:
    the largest tie."""
    share_wrong = np.asarray(share_wrong, dtype=np.float64)
    total = float(w.sum())
    value = float(share_wrong @ w)
    certain, possible = share_wrong >= 1.0, share_wrong > 0.0
    return dict(loss=value, rate=value / total if total > 0 else 0.0, errors=_count(share_wrong.sum()),
                tie=dict(behaviours=int(behaviours), loss_range=[float(w[certain].sum()), float(w[possible].sum())],
                         errors_range=[int(certain.sum()), int(possible.sum())]))


def posterior_loss(weights: np.ndarray, wrong: np.ndarray, w: np.ndarray) -> dict[str, Any]:
    """The stakes-weighted loss of a program drawn from the posterior (`weights`, summing
    to 1 over the rows of `wrong` [n, m]); `errors` is then the expected count."""
    weights = np.asarray(weights, dtype=np.float64)
    total = float(w.sum())
    per = wrong.astype(np.float64) @ w if wrong.size else np.zeros(len(weights))
    value = float(weights @ per) if len(weights) else 0.0
    errors = float(weights @ wrong.sum(axis=1)) if len(weights) else 0.0
    return dict(loss=value, rate=value / total if total > 0 else 0.0, errors=round(errors, 12))


def _uniform_hit(m: int, h: int, d: int) -> float:
    """Chance that d distinct units drawn uniformly from m include one of h marked units."""
    if d <= 0 or h <= 0:
        return 0.0
    if d > m - h:
        return 1.0
    return 1.0 - math.comb(m - h, d) / math.comb(m, d)


def defectors(weights: np.ndarray, wrong: np.ndarray, w: np.ndarray, scores: np.ndarray, programs: np.ndarray,
              max_defections: int) -> dict[str, Any]:
    """The rare defectors (wrong on 1..max_defections units) by the stakes of where they err.

    weights [n]: posterior shares; wrong bool [n, m]; scores [n]: each row's best score
    (bits); programs [n]: program counts."""
    weights = np.asarray(weights, dtype=np.float64)
    m = wrong.shape[1]
    count = wrong.sum(axis=1)
    chosen = (count >= 1) & (count <= max_defections)
    top = float(w.max()) if m else 0.0
    high = w == top
    # The largest stakes among the units where each row errs (0 where it errs nowhere).
    at = np.where(wrong, w[None, :], -np.inf).max(axis=1) if m else np.zeros(len(weights))
    groups = []
    for value in sorted({float(x) for x in at[chosen]}, reverse=True):
        sel = chosen & (at == value)
        groups.append(dict(stakes=value, posterior=float(weights[sel].sum()), programs=int(programs[sel].sum())))
    mass = float(weights[chosen].sum())
    hits = chosen & (wrong & high[None, :]).any(axis=1)
    hit_mass = float(weights[hits].sum())
    h = int(high.sum())
    uniform = sum(float(weights[j]) * _uniform_hit(m, h, int(count[j])) for j in np.flatnonzero(chosen))
    uniform = min(uniform, mass)  # rounding: never above the mass itself
    elsewhere = chosen & ~hits
    return dict(
        max_defections=int(max_defections), posterior=mass, by_stakes=groups, high_stakes_posterior=hit_mass,
        high_stakes_share=hit_mass / mass if mass > 0 else None,
        uniform_share=uniform / mass if mass > 0 else None,
        cheapest_high_stakes=round(float(scores[hits].min()), 6) if hits.any() else None,
        cheapest_elsewhere=round(float(scores[elsewhere].min()), 6) if elsewhere.any() else None)


def figures(weights: np.ndarray, wrong: np.ndarray, w: np.ndarray, scores: np.ndarray, programs: np.ndarray,
            max_defections: int, map_wrong: np.ndarray) -> dict[str, Any]:
    """The stakes figures every domain shares: the weights, the MAP's and the posterior's
    stakes-weighted losses and the defectors by stakes. `map_wrong`: the MAP's wrong
    units, bool [m], or [k, m] for a tie of k behaviours (the loss is then their mean)."""
    top = float(w.max()) if len(w) else 0.0
    return dict(weights=[float(x) for x in w], total=float(w.sum()),
                high_stakes_units=[int(k) for k in np.flatnonzero(w == top)],
                map=tie_loss(map_wrong, w), posterior=posterior_loss(weights, wrong, w),
                defectors=defectors(weights, wrong, w, scores, programs, max_defections))


def online_posterior_wrong(weights: np.ndarray, rows: np.ndarray, target: np.ndarray, factor_wrong: float
                           ) -> np.ndarray:
    """Per deployment step, the posterior's chance of a wrong prediction given every
    step revealed before it (a misprediction multiplies a row's weight by
    `factor_wrong`; 0 under exact fit). Float [m]; 0 once nothing is left."""
    weights = np.asarray(weights, dtype=np.float64)
    factor = np.ones(len(weights))
    out = np.zeros(rows.shape[1])
    for j in range(rows.shape[1]):
        cur = weights * factor
        total = cur.sum()
        wrong = rows[:, j] != target[j]
        out[j] = float(cur[wrong].sum() / total) if total > 0 else 0.0
        factor = np.where(wrong, factor * factor_wrong, factor)
    return out


def expected_loss(p_wrong: np.ndarray, w: np.ndarray) -> dict[str, Any]:
    """A stakes-weighted loss from per-unit chances of being wrong."""
    total = float(w.sum())
    value = float(np.asarray(p_wrong) @ w)
    return dict(loss=value, rate=value / total if total > 0 else 0.0, errors=round(float(np.sum(p_wrong)), 12))
