"""Scores, posterior, total mass, completeness statements and Levin-search accounting."""
from __future__ import annotations

import math

import numpy as np
import pytest

from levinsearch.score import (
    complete_up_to_score, levin_phase, levin_steps_spent, scores,
    unseen_mass_bound,
)

MBITS = np.array([1000, 2500, 4000, 2808], dtype=np.int64)
STEPS = np.array([8, 0, 1024, 1], dtype=np.int64)


def test_scores_log_penalty():
    # bits + log2 max(t, 1): 1 + 3, 2.5 + 0 (t=0 counts as 1), 4 + 10, 2.808 + 0
    assert scores(MBITS, STEPS, 1.0, 1.0, "log").tolist() == [4.0, 2.5, 14.0, 2.808]
    # a = 2, b = 0.5
    assert scores(MBITS, STEPS, 2.0, 0.5, "log").tolist() == [3.5, 5.0, 13.0, 5.616]
    # b = 0: length only
    assert scores(MBITS, STEPS, 1.0, 0.0, "log").tolist() == [1.0, 2.5, 4.0, 2.808]


def test_scores_linear_penalty():
    assert scores(MBITS, STEPS, 1.0, 1.0, "linear").tolist() == [9.0, 3.5, 1028.0, 3.808]
    assert scores(MBITS, STEPS, 3.0, 0.25, "linear").tolist() == [5.0, 7.75, 268.0, 8.674]



def test_complete_up_to_score():
    assert complete_up_to_score("length", 20, 2.0, 0.5) == 40.0
    assert complete_up_to_score("length", 20, 1.0, 7.0) == 20.0
    assert complete_up_to_score("levin", 20, 2.0, 0.5) == 10.0
    assert complete_up_to_score("levin", 20, 0.5, 3.0) == 10.0
    assert complete_up_to_score("levin", 24, 1.0, 1.0) == 24.0


def test_unseen_mass_bound():
    assert unseen_mass_bound("length", 0.125, 7, 20, 1.0, 0.0) == 0.125
    assert unseen_mass_bound("length", 0.125, 7, 20, 0.5, 1.0) is None
    assert unseen_mass_bound("levin", 0.125, 3, 10, 1.0, 1.0) == 0.125 + 3 / 1024
    assert unseen_mass_bound("levin", 0.125, 3, 10, 1.0, 0.5) is None
    assert unseen_mass_bound("levin", 0.125, 3, 10, 0.9, 2.0) is None


@pytest.mark.parametrize(
    "mbits,steps,phase",
    [
        (3000, 0, 3), (3000, 1, 3), (3000, 2, 4), (3000, 4, 5), (3000, 5, 6), (3000, 8, 6), (3000, 9, 7),
        # 2.808 bits: budgets floor(2^0.192) = 1, floor(2^1.192) = 2, floor(2^2.192) = 4, 9, 18
        (2808, 1, 3), (2808, 2, 4), (2808, 3, 5), (2808, 4, 5), (2808, 5, 6), (2808, 9, 6), (2808, 10, 7),
        (0, 1, 0), (0, 2, 1), (1, 1, 1), (999, 1, 1),
    ],
)
def test_levin_phase(mbits, steps, phase):
    assert levin_phase(mbits, steps) == phase


def test_levin_steps_spent_hand_computed():
    # 3 bits, verdicts at 1, 3, 10 steps; phases 3..6 have budgets 1, 2, 4, 8.
    # phase 3: 1+1+1 = 3; phase 4 (s > 1): 2+2 = 4; phase 5 (s > 2): 3+4 = 7;
    # phase 6 (s > 4): 8. Total 22 (the 10-step program is still uncertified).
    assert levin_steps_spent(3000, np.array([1, 3, 10]), 6) == 22
    # One more phase certifies it: budget 16 -> +10.
    assert levin_steps_spent(3000, np.array([1, 3, 10]), 7) == 32
    # 2.808 bits, verdicts 1, 2, 5; budgets 1, 2, 4, 9 in phases 3..6:
    # 3 + (2+2) + 4 + 5 = 16.
    assert levin_steps_spent(2808, np.array([1, 2, 5]), 6) == 16
    # phases before the program's own length do not run it
    assert levin_steps_spent(3000, np.array([5]), 2) == 0
    assert levin_steps_spent(3000, np.zeros(0), 10) == 0
    # verdict of 0 steps counts like 0 (nothing spent) but is never re-run
    assert levin_steps_spent(1000, np.array([0, 0]), 5) == 0


def test_levin_steps_spent_agrees_with_phase_single_programs():
    # For one program: the sum over phases up to its certification phase of min(s, budget).
    for mbits in (1000, 2808, 3701, 6509):
        for s in (1, 2, 3, 7, 50, 333):
            phase = levin_phase(mbits, s)
            budgets = [math.floor(2.0 ** ((k * 1000 - mbits) / 1000))
                       for k in range(math.ceil(mbits / 1000), phase + 1)]
            want = sum(min(s, b) for b in budgets)
            assert budgets[-1] >= s and all(b < s for b in budgets[:-1])
            assert levin_steps_spent(mbits, np.array([s]), phase) == want
            assert levin_steps_spent(mbits, np.array([s]), phase + 3) == want  # no cost after the verdict
