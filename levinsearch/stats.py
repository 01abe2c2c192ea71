"""Summaries over environment seeds: the mean and a 95% confidence interval.

The interval is Student's t interval, mean ± t(0.975, n-1) · s / sqrt(n), with s the
sample standard deviation over the n seeds; it assumes the seeds' values are roughly
normal around their mean, which five seeds cannot check, so read it as a statement of
spread, not of coverage. Values that are shares are clipped to [0, 1].
"""
from __future__ import annotations

import math
from typing import Sequence

#: t(0.975, df) for df = 1 .. 30; beyond, t ~ 1.96 + 2.4 / df (within 0.01).
T_975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
         2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
         2.045, 2.042)


def t_quantile(df: int) -> float:
    """The two-sided 95% quantile of Student's t with `df` degrees of freedom."""
    if df < 1:
        raise ValueError("an interval needs at least two values")
    return T_975[df - 1] if df <= len(T_975) else 1.96 + 2.4 / df


def interval(values: Sequence[float | None], share: bool = False) -> dict | None:
    """{mean, low, high, n} over the values that are not None (None: none are; low =
    high = mean for a single value)."""
    xs = [float(v) for v in values if v is not None]
    if not xs:
        return None
    n = len(xs)
    mean = math.fsum(xs) / n
    if n == 1:
        return dict(mean=mean, low=mean, high=mean, n=1)
    sd = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (n - 1))
    half = t_quantile(n - 1) * sd / math.sqrt(n)
    low, high = mean - half, mean + half
    if share:
        low, high = max(0.0, low), min(1.0, high)
    return dict(mean=mean, low=low, high=high, n=n)
