"""Ranking and agreement metrics on constructed cases with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import kendalltau

from qrspps.screening.ranking import kendall_tau, ranking, return_on_investment


def test_identical_and_reversed_rankings():
    scores = [0.3, -1.0, 2.5, 0.0]
    assert kendall_tau(scores, scores) == pytest.approx(1.0)
    assert kendall_tau(scores, [-s for s in scores]) == pytest.approx(-1.0)


def test_one_swap_of_four():
    # 6 pairs, one discordant: tau = (5 - 1) / 6.
    assert kendall_tau([1, 2, 3, 4], [1, 2, 4, 3]) == pytest.approx(4 / 6)


@pytest.mark.parametrize("seed", range(5))
def test_matches_scipy_tau_b_with_ties(seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 4, size=9).astype(float)
    b = rng.integers(0, 4, size=9).astype(float)
    assert kendall_tau(a, b) == pytest.approx(kendalltau(a, b).statistic, abs=1e-12)


def test_constant_list_has_no_tau():
    assert math.isnan(kendall_tau([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))


def test_ranking_is_ascending_and_stable():
    assert ranking({"a": 0.5, "b": -2.0, "c": 0.5, "d": 0.0}) == ["b", "d", "a", "c"]


def test_roi():
    assert return_on_investment(-3.0, 1.5) == pytest.approx(2.0)
    assert math.isnan(return_on_investment(-3.0, 0.0))
