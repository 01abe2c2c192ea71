"""The grid record's summary type (levinsearch.types builds the JSON Schema from it)."""
from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from levinsearch.types import Count, Estimate, Share, Summary, WholePosterior


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
    agent: Estimate | None
    splits: dict[str, SplitWhole]


class GridSummary(Summary):
    search_mass: Share
    search_count: Count
    see_mass: Share
    mixture: Mixture
    splits: dict[str, dict[str, Any]]  # per test split: outcome and class masses, consensus, defection
    goal_confusion: dict[str, dict[str, Any]]
    execution: NotRequired[dict[str, Any]]
    whole_posterior: NotRequired[GridWhole]
