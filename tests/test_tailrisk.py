"""Boltzmann catastrophe probability against hand computations, and the VIX calibration.

The reference values are written out term by term with ``math.exp`` from the definition
``P_cat(T) = sum_{E >= E_cut} w exp(-(E - E0)/T) / sum_E w exp(-(E - E0)/T)``,
``E_cut = E0 + f (E_max - E0)`` (SPEC 3.5), independently of the log-sum-exp implementation.
Both are exact evaluations of the same finite sums: tolerance 1e-12 relative.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from qrspps.risk.tailrisk import (
    TailRiskCurve,
    catastrophe_probability,
    catastrophe_probability_bound,
    catastrophe_threshold,
    jackknife_stderr,
    tail_risk_curve,
    temperature_to_vix,
    vix_rows,
    vix_to_temperature,
)

RTOL = 1e-12

# Levels -2, -1, 1, 6.5 and 8 with multiplicities 1, 3, 2, 1, 1 (8 states, like 3 qubits).
ENERGIES = np.array([-2.0, -1.0, 1.0, 6.5, 8.0])
COUNTS = np.array([1.0, 3.0, 2.0, 1.0, 1.0])


def _by_hand(temp: float) -> float:
    # E0 = -2, E_max = 8, E_cut = -2 + 0.85 * 10 = 6.5: the top two levels (6.5 is included).
    z = (
        1 * math.exp(0.0)
        + 3 * math.exp(-1.0 / temp)
        + 2 * math.exp(-3.0 / temp)
        + 1 * math.exp(-8.5 / temp)
        + 1 * math.exp(-10.0 / temp)
    )
    tail = 1 * math.exp(-8.5 / temp) + 1 * math.exp(-10.0 / temp)
    return tail / z


def test_threshold():
    assert catastrophe_threshold(-2.0, 8.0) == pytest.approx(6.5)
    assert catastrophe_threshold(-2.0, 8.0, 0.5) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="cut fraction"):
        catastrophe_threshold(0.0, 1.0, 1.5)


@pytest.mark.parametrize("temp", [0.3, 1.0, 2.5, 40.0])
def test_pcat_matches_hand_computation(temp):
    (value,) = catastrophe_probability(ENERGIES, COUNTS, [temp])
    assert value == pytest.approx(_by_hand(temp), rel=RTOL)


def test_pcat_limits_and_invariances():
    temps = np.array([1e-3, 1.0, 1e6])
    p = catastrophe_probability(ENERGIES, COUNTS, temps)
    # T -> 0: the ground state alone, no overflow and no 0/0; T -> infinity: the state count.
    assert p[0] == 0.0 or p[0] < 1e-300
    assert p[2] == pytest.approx(2.0 / 8.0, rel=1e-5)
    # Only ratios of weights and differences of energies matter.
    np.testing.assert_allclose(
        catastrophe_probability(ENERGIES + 100.0, COUNTS / 8.0, temps), p, rtol=RTOL, atol=1e-300
    )
    # Order of the levels does not matter; zero-weight levels do not move E0 or E_max.
    shuffled = [4, 0, 3, 1, 2]
    np.testing.assert_allclose(
        catastrophe_probability(ENERGIES[shuffled], COUNTS[shuffled], temps), p, rtol=RTOL
    )
    padded = catastrophe_probability(
        np.append(ENERGIES, [-50.0, 50.0]), np.append(COUNTS, [0.0, 0.0]), temps
    )
    np.testing.assert_allclose(padded, p, rtol=RTOL)


def test_explicit_range_sets_the_cut():
    # With E_max = 5 given, E_cut = -2 + 0.85 * 7 = 3.95: the same two levels; with f = 0.2 the
    # cut is -0.6 and the level at 1 joins the tail.
    temp = 1.7
    (p,) = catastrophe_probability(ENERGIES, COUNTS, [temp], f=0.2)
    z = (
        1
        + 3 * math.exp(-1 / temp)
        + 2 * math.exp(-3 / temp)
        + math.exp(-8.5 / temp)
        + math.exp(-10 / temp)
    )
    tail = 2 * math.exp(-3 / temp) + math.exp(-8.5 / temp) + math.exp(-10 / temp)
    assert p == pytest.approx(tail / z, rel=RTOL)
    (q,) = catastrophe_probability(ENERGIES, COUNTS, [temp], e0=-2.0, e_max=5.0)
    assert q == pytest.approx(_by_hand(temp), rel=RTOL)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match=">= 0"):
        catastrophe_probability(ENERGIES, -COUNTS, [1.0])
    with pytest.raises(ValueError, match="> 0"):
        catastrophe_probability(ENERGIES, COUNTS, [0.0])
    with pytest.raises(ValueError, match="positive weight"):
        catastrophe_probability(ENERGIES, 0 * COUNTS, [1.0])


def test_vix_mapping():
    levels = [12.0, 20.0, 30.0, 40.0, 80.0]
    np.testing.assert_allclose(vix_to_temperature(levels), [0.6, 1.0, 1.5, 2.0, 4.0], rtol=RTOL)
    np.testing.assert_allclose(vix_to_temperature(levels, vix_ref=16.0), np.array(levels) / 16.0)
    np.testing.assert_allclose(temperature_to_vix(vix_to_temperature(levels)), levels)
    with pytest.raises(ValueError, match="vix_ref"):
        vix_to_temperature(20.0, vix_ref=0.0)


def test_curve_and_vix_rows():
    temps = vix_to_temperature([12.0, 20.0, 80.0])
    exact = (ENERGIES, COUNTS)
    estimate = (ENERGIES, COUNTS * np.array([1.0, 1.0, 1.0, 1.0, 1.2]))
    curve = tail_risk_curve(exact, temps, estimate=estimate, leave_one_out=[exact, estimate])
    np.testing.assert_allclose(curve.exact, [_by_hand(t) for t in temps], rtol=RTOL)
    assert curve.cut == pytest.approx(6.5) and curve.estimate_cut == pytest.approx(6.5)
    # A wider range for the estimate moves only its cut: -2 + 0.85 * 13 = 9.05 leaves no level.
    wide = tail_risk_curve(exact, temps, estimate=exact, estimate_range=(-2.0, 11.0))
    np.testing.assert_allclose(wide.exact, curve.exact, rtol=RTOL)
    assert wide.estimate_cut == pytest.approx(9.05)
    np.testing.assert_array_equal(wide.estimate, 0.0)
    assert curve.max_abs_error > 0.0
    rows = vix_rows("demo", curve)
    assert [r["vix"] for r in rows] == pytest.approx([12.0, 20.0, 80.0])
    assert rows[1]["temperature"] == pytest.approx(1.0)
    assert rows[1]["pcat_exact"] == pytest.approx(_by_hand(1.0), rel=RTOL)
    assert rows[1]["abs_error"] == pytest.approx(abs(rows[1]["pcat_estimate"] - _by_hand(1.0)))
    same = tail_risk_curve(exact, temps, estimate=exact)
    assert same.max_abs_error == 0.0


def test_jackknife_of_a_mean_is_the_standard_error():
    # For the sample mean, the jackknife standard error equals std(ddof=1) / sqrt(R) exactly.
    x = np.array([0.3, 1.1, -0.4, 2.0, 0.9])
    loo = np.array([np.delete(x, i).mean() for i in range(len(x))])
    assert jackknife_stderr(loo) == pytest.approx(x.std(ddof=1) / math.sqrt(len(x)), rel=RTOL)


def _log_z_of(energies: np.ndarray, counts: np.ndarray):
    def log_z(betas: np.ndarray) -> np.ndarray:
        return np.array(
            [math.log(sum(c * math.exp(-b * e) for e, c in zip(energies, counts))) for b in betas]
        )

    return log_z


@pytest.mark.parametrize("temp", [0.1, 0.5, 1.0, 3.0, 30.0])
def test_chernoff_bound_lies_above_the_exact_value_and_near_it(temp):
    bound = catastrophe_probability_bound(_log_z_of(ENERGIES, COUNTS), -2.0, 8.0, [temp])[0]
    exact = _by_hand(temp)
    assert exact <= bound <= 1.0
    # Two tail levels out of eight: the exponential bound is loose by a modest factor only.
    assert bound <= 10.0 * exact


def test_chernoff_bound_on_a_model_against_dense_diagonalisation():
    from qrspps.exact.dense import dense_spectrum
    from qrspps.exact.structured import log_partition_function
    from qrspps.model.network import load_named_network
    from qrspps.model.scenario import build_model, load_policies, load_scenario

    network = load_named_network("retail40").prefix(10)
    model = build_model(network, load_scenario("A"), load_policies()["supplier_subsidy"])
    levels = dense_spectrum(model)
    # ln Z at both signs of beta against the dense eigenvalues (1e-10: log-sum-exp round-off).
    betas = np.array([-2.0, -0.3, 0.0, 0.7, 4.0])
    dense_log_z = [
        float(np.log(np.sum(np.exp(-b * (levels - levels.min())))) - b * levels.min())
        for b in betas
    ]
    log_z = log_partition_function(model)
    np.testing.assert_allclose(log_z(betas), dense_log_z, rtol=1e-10)
    temps = np.array([0.25, 1.0, 4.0])
    exact = catastrophe_probability(levels, np.ones_like(levels), temps)
    bound = catastrophe_probability_bound(log_z, levels.min(), levels.max(), temps)
    assert np.all(exact <= bound) and np.all(bound <= 100.0 * exact)


def test_error_against_a_bound_is_the_largest_possible_error():
    curve = TailRiskCurve(
        np.array([1.0, 2.0]),
        np.array([1e-3, 1e-3]),
        np.array([4e-4, 2e-3]),
        None,
        0.0,
        exact_is_bound=True,
    )
    # True value somewhere in [0, 1e-3]: the error can reach max(estimate, U - estimate).
    np.testing.assert_allclose(curve.abs_error, [6e-4, 2e-3])
    assert vix_rows("p", curve)[0]["pcat_exact_kind"] == "upper bound"
