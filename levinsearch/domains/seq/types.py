"""The seq record's summary type (levinsearch.types builds the JSON Schema from it)."""
from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from levinsearch.types import Count, Estimate, Share, Summary, WholePosterior


class Occam(TypedDict):
    shortest_program: str
    shortest_bits: float
    shortest_posterior: Share
    shortest_agrees: bool
    target_equivalent_posterior: Share
    target_equivalent_programs: Count
    mixture_bits: float
    within_posterior: Share
    within_programs: Count


class Halving(TypedDict):
    target_weight: float
    bound: float | None
    mixture_errors: int
    holds: bool | None


class Online(TypedDict):
    noise: float
    prediction: dict[str, list[Any]]
    halving: Halving
    consensus: dict[str, list[dict[str, Any]]]


class MixtureStep(TypedDict):
    mixture: int
    correct: bool
    decided: str  # right, wrong or undecided: whether the intervals settle the step
    target_share: Estimate


class WholeMixture(TypedDict):
    steps: list[MixtureStep | None]
    mixture: list[int | None]
    mixture_errors: int
    mixture_errors_range: list[int]
    mixture_error_rate: Share | None


class SeqWhole(WholePosterior):
    search: Estimate | None
    target_equivalent: Estimate | None
    rare_defectors: Estimate | None
    shortest: NotRequired[Estimate | None]
    map: NotRequired[Estimate | None]
    within: NotRequired[Estimate | None]  # None: a tail program could be within the bits
    prediction: WholeMixture


class SeqSummary(Summary):
    search_mass: Share
    occam: NotRequired[Occam]
    prediction: NotRequired[dict[str, Any]]
    rare_defection: NotRequired[dict[str, Any]]
    consensus: NotRequired[dict[str, list[dict[str, Any]]]]
    online: NotRequired[Online]
    whole_posterior: NotRequired[SeqWhole]
