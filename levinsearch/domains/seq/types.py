"""The seq record's summary type (levinsearch.types builds the JSON Schema from it)."""
from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from levinsearch.types import Summary


class Occam(TypedDict):
    shortest_program: str
    shortest_bits: float
    shortest_posterior: float
    shortest_agrees: bool
    target_equivalent_posterior: float
    target_equivalent_programs: int
    mixture_bits: float
    within_posterior: float
    within_programs: int


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


class SeqSummary(Summary):
    search_mass: float
    occam: NotRequired[Occam]
    prediction: NotRequired[dict[str, Any]]
    rare_defection: NotRequired[dict[str, Any]]
    consensus: NotRequired[dict[str, list[dict[str, Any]]]]
    online: NotRequired[Online]
