"""Scores, prior and posterior mass, and the honest bounds that go with them.

score(p) = a * bits(p) + b * log2 t(p)      (time penalty "log"; Levin's Kt at a = b = 1)
score(p) = a * bits(p) + b * t(p)           (time penalty "linear")
t(p) is taken as at least 1, so the time term is never negative. Under the noise model
with rate eps > 0 every training episode (grid) or term (seq) a program gets wrong adds
log2(1/eps) bits and every one it gets right log2(1/(1 - eps)) (the exception bits of a
two-part code), so 2^-score = prior x likelihood; eps = 0 is exact fit.
The mass of a program is 2^-score; the posterior is that mass renormalised over the
programs kept (the fitting ones).
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


#: Under noise with fit_threshold 1, programs are kept while their likelihood is at least
#: 2^-LIKELIHOOD_BITS times a perfect program's; the rest are bounded (`discarded_mass`).
LIKELIHOOD_BITS = 30.0


def exception_bits(errors, trials: int, noise: float) -> np.ndarray:
    """-log2 of the likelihood of `errors` wrong out of `trials` under noise rate eps."""
    errors = np.asarray(errors, dtype=np.float64)
    if noise == 0:
        return np.zeros(errors.shape)
    inverse = 1.0 / noise
    # log2(1/eps) as records have always computed it, unless 1/eps overflows (eps below
    # about 5.6e-309): then -log2(eps), which is finite.
    wrong = math.log2(inverse) if math.isfinite(inverse) else -math.log2(noise)
    return errors * wrong + (trials - errors) * math.log2(1.0 / (1.0 - noise))


def max_errors(trials: int, fit_threshold: float, noise: float) -> int:
    """Most wrong training episodes or terms a kept program may have: the hard cut
    floor((1 - fit_threshold) * trials); or, under noise with fit_threshold 1, as many
    as keep its likelihood within LIKELIHOOD_BITS of a perfect program's."""
    if noise > 0 and fit_threshold == 1:
        return min(trials, int(math.floor(LIKELIHOOD_BITS / math.log2((1.0 - noise) / noise))))
    return int(math.floor((1 - fit_threshold) * trials + 1e-9))


def likelihood_bounds(trials: int, noise: float, cut: int) -> tuple[float, float]:
    """(largest likelihood any program can have, largest likelihood of a program with
    more than `cut` errors): (1 - eps)^n and eps^(cut+1) (1 - eps)^(n-cut-1); (1, 0) at eps = 0."""
    if noise == 0:
        return 1.0, 0.0
    best = (1.0 - noise) ** trials
    worst_kept = noise ** (cut + 1) * (1.0 - noise) ** (trials - cut - 1) if cut < trials else 0.0
    return best, worst_kept


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


def tight_unseen_mass_bound(order: str, unenumerated_kraft: float, uncertified: int, max_bits: float,
                            length_weight: float, time_weight: float, time_penalty: str, min_steps: int,
                            best_likelihood: float = 1.0, judged_kraft: float = 0.0,
                            worst_kept_likelihood: float = 0.0) -> float | None:
    """A sharper, still sound, upper bound on the total mass 2^-score of the fitting
    programs the run did not keep. Every program longer than the enumeration reached
    (bits > B) has 2^-(a bits) <= 2^-bits 2^-(a-1)B; every fitting program spends at
    least `min_steps` simulated steps (derived by the domain from its training data and
    cost model), so its time term is at least b log2(min_steps) (b min_steps when
    linear); and its likelihood is at most `best_likelihood`. Under noise, the judged
    programs discarded for too many errors add at most judged_kraft x
    worst_kept_likelihood. Levin order adds the uncertified programs as
    `unseen_mass_bound` does. None where that one is None."""
    if unseen_mass_bound(order, unenumerated_kraft, uncertified, max_bits, length_weight, time_weight) is None:
        return None
    t = max(int(min_steps), 1)
    time_term = math.log2(t) if time_penalty == "log" else float(t)
    tail = unenumerated_kraft * 2.0 ** (-(length_weight - 1) * max_bits - time_weight * time_term) * best_likelihood
    bound = tail + judged_kraft * worst_kept_likelihood
    if order == "levin":
        bound += uncertified * 2.0 ** -max_bits
    return bound


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
