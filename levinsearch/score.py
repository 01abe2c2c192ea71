"""Scores, prior and posterior mass, and the honest bounds that go with them.

score(p) = a * bits(p) + b * log2 t(p)      (time penalty "log"; Levin's Kt at a = b = 1)
score(p) = a * bits(p) + b * t(p)           (time penalty "linear")
prior mass 2^-score; posterior = prior renormalised over the fitting programs.
t(p) is taken as at least 1, so the time term is never negative.
"""
from __future__ import annotations

import math

import numpy as np

from dsl.grammar import MBITS_PER_BIT


def scores(mbits: np.ndarray, steps: np.ndarray, length_weight: float, time_weight: float,
           time_penalty: str) -> np.ndarray:
    """Score of each program from its length (millibits) and simulated steps."""
    bits = np.asarray(mbits, dtype=np.float64) / MBITS_PER_BIT
    t = np.maximum(np.asarray(steps, dtype=np.float64), 1.0)
    time_term = np.log2(t) if time_penalty == "log" else t
    return length_weight * bits + time_weight * time_term


def complete_up_to_score(order: str, max_bits: float, length_weight: float, time_weight: float) -> float:
    """Every program whose score is at most this was enumerated, run and judged.

    Length order: score <= a*B implies bits <= B (time term >= 0), so all were run.
    Levin order: a program is certified when bits + log2 t <= B; a score of at most
    min(a, b)*B guarantees that (t >= log2 t covers the linear penalty too).
    """
    if order == "length":
        return length_weight * max_bits
    return min(length_weight, time_weight) * max_bits


def unseen_mass_bound(order: str, unenumerated_kraft: float, uncertified: int, max_bits: float,
                      length_weight: float, time_weight: float) -> float | None:
    """Upper bound on the total 2^-score of fitting programs the run did not see.

    Needs a >= 1 (so 2^-score <= 2^-bits); for Levin order also b >= 1 (so each
    uncertified program, with bits + log2 t > B, has 2^-score < 2^-B). None otherwise.
    """
    if length_weight < 1:
        return None
    if order == "length":
        return unenumerated_kraft
    if time_weight < 1:
        return None
    return unenumerated_kraft + uncertified * 2.0 ** -max_bits


def levin_phase(mbits: int, steps: int) -> int:
    """First phase k (k >= bits) whose budget floor(2^(k - bits)) covers `steps`."""
    k = math.ceil(mbits / MBITS_PER_BIT)
    while math.floor(2.0 ** ((k * MBITS_PER_BIT - mbits) / MBITS_PER_BIT)) < max(steps, 1):
        k += 1
    return k


def levin_steps_spent(mbits: int, verdict_steps: np.ndarray, max_bits: int) -> int:
    """Simulated steps Levin search spends on programs of one length, phases 1..max_bits.

    Phase k runs every program with bits <= k for floor(2^(k - bits)) steps, restarting
    it from scratch, unless its verdict (fit, or rejected) came in an earlier phase.
    """
    s = np.asarray(verdict_steps, dtype=np.float64)
    total = 0.0
    previous = -1.0
    for k in range(math.ceil(mbits / MBITS_PER_BIT), int(max_bits) + 1):
        budget = math.floor(2.0 ** ((k * MBITS_PER_BIT - mbits) / MBITS_PER_BIT))
        running = s > previous if previous >= 0 else np.ones(len(s), dtype=bool)
        total += float(np.minimum(s[running], budget).sum())
        previous = budget
    return int(total)
