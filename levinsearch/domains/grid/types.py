"""The grid record's own types: its summary, and the fields its behaviours and kept
programs add (levinsearch.types builds the JSON Schema from them)."""
from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

from levinsearch.analyses.stakes import StakesFigures
from levinsearch.types import Behaviour, Count, Estimate, Hypothesis, Share, Summary, Trust, WholePosterior

#: Outcome class of a program on a split (levinsearch.domains.grid.analyse.CLASSES).
OutcomeClass = Literal["robust", "pseudo", "capability_failure", "mixed"]


class Outcomes(TypedDict):
    """Shares of a split's episodes by outcome (levinsearch.domains.grid.analyse.OUTCOMES)."""

    base: Share
    proxy: Share
    other: Share
    none: Share


class Agency(TypedDict):
    kind: Literal["agent", "device"]
    log2_odds: float
    agent_bits: float
    device_bits: float
    goal: str | None


class ProgramAnalysis(TypedDict):
    """What the grid analysis says of one program (a behaviour's or a kept program's)."""

    test: dict[str, Outcomes]
    outcome_class: dict[str, OutcomeClass]
    changed: dict[str, Share]
    inferred_goal: str | None
    goal_directedness: float
    lookahead_per_decision: float
    lookahead_share: Share
    executes_search: bool
    agency: Agency


class GridBehaviour(Behaviour, ProgramAnalysis):
    search_programs: Count
    see_programs: Count
    prior_mass: Share
    search_posterior: Share
    see_posterior: Share
    posterior_range: list[Share]
    executes_search_programs: Count
    executes_search_posterior: Share


class GridHypothesis(Hypothesis, ProgramAnalysis):
    search: bool
    search_constructs: list[str]
    mesa_objective: list[Any]
    train_success: Share
    history: NotRequired[bool]  # history profile: the program reads its trajectory (visited)
    # predict profiles: the pair's parts (definition written out), its wrong predictions
    # of the character's next cell, and K in bits (dsl.grid.measures)
    predictor: NotRequired[str]
    policy: NotRequired[str]
    prediction_errors: NotRequired[Count]
    k_world: NotRequired[float]
    k_policy: NotRequired[float]
    k_policy_given_world: NotRequired[float]
    shared_bits: NotRequired[float]


class ClassMass(TypedDict):
    mass: Share
    count: Count
    prior_mass: Share


class Classes(TypedDict):
    robust: ClassMass
    pseudo: ClassMass
    capability_failure: ClassMass
    mixed: ClassMass


class Interval(TypedDict):
    """A mean over samples with its confidence interval (levinsearch.stats.interval)."""

    mean: float
    low: float
    high: float
    n: Count


class SmoothedRates(TypedDict):
    """Shares of the perturbed episodes by outcome, and catastrophes (proxy + other), each
    the mean over the perturbation samples with its interval."""

    base: Interval
    proxy: Interval
    other: Interval
    none: Interval
    catastrophe: Interval


class Smoothed(TypedDict):
    """A test split perturbed at rate sigma, K = samples times ([search] smooth)."""

    sigma: Share
    samples: Count
    episodes: Count  # perturbed episodes: samples x the split's grids
    map: SmoothedRates  # the MAP program (the first kept program)
    posterior: SmoothedRates  # the posterior mixture over the enumerated behaviours
    map_tie: NotRequired[SmoothedRates]  # only with a MAP tie: its behaviours weighted equally


class SplitSummary(TypedDict):
    """A test split in the summary: its outcome and class masses (and more, left open)."""

    outcome_mass: Outcomes
    dominant_mass: Outcomes
    dominant_count: dict[str, Count]
    classes: Classes
    trust: NotRequired[Trust]  # with [analysis] trust (--trust): the consensus rule and its bound
    smoothed: NotRequired[Smoothed]  # with [search] smooth > 0: outcomes on the perturbed split


class Mixture(TypedDict):
    bits: float
    posterior: Share
    programs: Count


class SplitWhole(TypedDict):
    classes: dict[str, Estimate | None]  # robust, pseudo, capability_failure, mixed
    outcome: dict[str, Estimate | None]  # base, proxy, other, none (episode shares)


class GridWhole(WholePosterior):
    search: Estimate | None
    executes_search: Estimate | None
    history: NotRequired[Estimate | None]  # history profile: P(history reader) over all programs
    agent: Estimate | None
    splits: dict[str, SplitWhole]


class PredictSummary(TypedDict):
    """Predict profiles: the other character and K over every fitting program (bits,
    posterior-weighted means; docs/grid.md, "Predict and act")."""
    character: str  # its rule ("" none)
    predictions: Count  # its steps on the training grids: the predictions a program is judged on
    fitting: Count
    mean_world_bits: NotRequired[float]  # K(world): the predictor alone
    mean_policy_bits: NotRequired[float]  # K(policy): the policy alone
    mean_policy_given_world_bits: NotRequired[float]  # joint bits - K(world)
    mean_shared_bits: NotRequired[float]  # K(policy) - K(policy | world)
    shared_definition_mass: NotRequired[Share]  # posterior of programs whose definition both parts use


class GridSummary(Summary):
    search_mass: Share
    search_count: Count
    see_mass: Share
    history_mass: NotRequired[Share]  # history profile: posterior of programs with visited
    predict: NotRequired[PredictSummary]  # predict profiles only
    mixture: Mixture
    splits: dict[str, SplitSummary]  # per test split: outcome and class masses, consensus, defection
    goal_confusion: dict[str, dict[str, Any]]
    execution: NotRequired[dict[str, Any]]
    stakes: NotRequired[dict[str, StakesFigures]]  # with a [stakes] table only: per test split
    whole_posterior: NotRequired[GridWhole]
