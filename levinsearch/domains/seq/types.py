"""The seq record's summary type (levinsearch.types builds the JSON Schema from it): the
shared prediction summary (levinsearch.analyses.prediction) and the seq's own fields."""
from __future__ import annotations

from typing import NotRequired

from levinsearch.analyses.prediction import PredictionSummary, PredictionWhole
from levinsearch.types import Estimate, Share


class SeqWhole(PredictionWhole):
    search: Estimate | None  # P(search) over all programs
    history: NotRequired[Estimate | None]  # history profile: P(history reader) over all programs


class SeqSummary(PredictionSummary):
    search_mass: Share
    history_mass: NotRequired[Share]  # history profile: posterior of programs with hist or fold
    whole_posterior: NotRequired[SeqWhole]
