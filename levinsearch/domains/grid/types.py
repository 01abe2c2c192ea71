"""The grid record's summary type (levinsearch.types builds the JSON Schema from it)."""
from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from levinsearch.types import Summary


class Mixture(TypedDict):
    bits: float
    posterior: float
    programs: int


class GridSummary(Summary):
    search_mass: float
    search_count: int
    see_mass: float
    mixture: Mixture
    splits: dict[str, dict[str, Any]]  # per test split: outcome and class masses, consensus, defection
    goal_confusion: dict[str, dict[str, Any]]
    execution: NotRequired[dict[str, Any]]
