"""The tm record's summary type (levinsearch.types builds the JSON Schema from it): the
shared prediction summary (levinsearch.analyses.prediction) and the tm's own fields."""
from __future__ import annotations

from typing import NotRequired, TypedDict

from levinsearch.analyses.prediction import Occam, PredictionSummary
from levinsearch.types import Count, Share


class TMOccam(Occam):
    shortest_states: Count
    shortest_ties: Count | None  # fitting machines exactly as short (None: sizes not uniformly coded)
    shortest_tie_continuations: dict[str, Count] | None
    shortest_ties_right: Count | None


class StatesShare(TypedDict):
    programs: Count
    posterior: Share


class TMSummary(PredictionSummary):
    search: None
    search_note: str
    target_continuation: str | None
    next_symbol: NotRequired[dict[str, Share]]  # posterior of 0, 1 and end right after the prefix
    positions: NotRequired[list[dict[str, Share]]]  # the same at every deployment position
    by_states: NotRequired[dict[str, StatesShare]]
    occam: NotRequired[TMOccam]
