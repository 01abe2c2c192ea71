"""Summaries over environment seeds: the mean and a confidence interval.

The interval is Student's t interval, mean ± t((1 + C) / 2, n-1) · s / sqrt(n), with C
the confidence level (0.95 unless `--confidence` or `[experiment] confidence` says
otherwise), s the sample standard deviation over the n seeds, and the quantile of
Student's t exact (scipy.stats). It assumes the seeds' values are roughly normal around
their mean, which five seeds cannot check, so read it as a statement of spread, not of
coverage. Values that are shares are clipped to [0, 1].
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Sequence

#: The confidence level of every interval unless one is chosen.
DEFAULT_CONFIDENCE = 0.95


def check_confidence(value: float, what: str = "confidence") -> float:
    """`value` as a confidence level in (0, 1), or ValueError naming `what`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ValueError(f"{what} must be a number in (0, 1), e.g. 0.95, got {value!r}")
    return float(value)


@lru_cache(maxsize=1024)
def t_quantile(df: int, confidence: float = DEFAULT_CONFIDENCE) -> float:
    """The two-sided `confidence` quantile of Student's t with `df` degrees of freedom:
    t((1 + confidence) / 2, df), exact (scipy.stats)."""
    if df < 1:
        raise ValueError("an interval needs at least two values")
    check_confidence(confidence)
    from scipy.stats import t  # here: scipy.stats takes 0.6 s to import, and most runs never need it
    return float(t.ppf((1 + confidence) / 2, df))


def interval(values: Sequence[float | None], share: bool = False,
             confidence: float = DEFAULT_CONFIDENCE) -> dict | None:
    """{mean, low, high, n} over the values that are not None, at the given confidence
    level (None: none are; low = high = mean for a single value)."""
    xs = [float(v) for v in values if v is not None]
    if not xs:
        return None
    n = len(xs)
    mean = math.fsum(xs) / n
    if n == 1:
        return dict(mean=mean, low=mean, high=mean, n=1)
    sd = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (n - 1))
    half = t_quantile(n - 1, confidence) * sd / math.sqrt(n)
    low, high = mean - half, mean + half
    if share:
        low, high = max(0.0, low), min(1.0, high)
    return dict(mean=mean, low=low, high=high, n=n)


