"""Scaling fits on synthetic data with a known answer; scipy's linregress as the reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from qrspps.reporting.fits import (
    extrapolate,
    fit_exponential,
    fit_line,
    fit_memory,
    statevector_bytes,
)

# Known model of the synthetic timings: log2 t = A + R n.
A_TRUE, R_TRUE = -20.0, 0.93
SIZES = np.arange(4, 21, 2)  # 4, 6, ..., 20: nine sizes


def test_noiseless_data_recover_exponent_exactly():
    times = np.exp2(A_TRUE + R_TRUE * SIZES)
    fit = fit_exponential(SIZES, times)

    # Exact arithmetic on exact data: only floating-point rounding separates fit and truth.
    assert fit.rate == pytest.approx(R_TRUE, abs=1e-10)
    assert fit.a == pytest.approx(A_TRUE, abs=1e-9)
    assert fit.r2 == pytest.approx(1.0, abs=1e-12)
    assert fit.rate_se == pytest.approx(0.0, abs=1e-9)
    assert (fit.n_min, fit.n_max) == (4, 20)


def test_fit_matches_scipy_linregress():
    rng = np.random.default_rng(7)
    x = rng.uniform(0, 30, size=25)
    y = 1.5 - 0.4 * x + rng.normal(0, 0.8, size=x.size)
    fit = fit_line(x, y)
    ref = stats.linregress(x, y)

    np.testing.assert_allclose(
        [fit.slope, fit.intercept, fit.r2, fit.slope_se, fit.intercept_se],
        [ref.slope, ref.intercept, ref.rvalue**2, ref.stderr, ref.intercept_stderr],
        rtol=1e-10,
    )


def test_band_covers_truth_at_stated_rate():
    """Coverage of the 95% mean-prediction band at an extrapolated size, over seeded trials.

    Each trial draws fresh normal noise on log2 t; the band should contain the true log2 t at
    n = 40 in 95% of trials. Tolerance: 3 binomial standard errors of the observed fraction.
    """
    rng = np.random.default_rng(2024)
    trials, level, sigma, target = 2000, 0.95, 0.25, 40
    truth = 2.0 ** (A_TRUE + R_TRUE * target)
    covered = 0
    rates = []
    rate_ses = []
    for _ in range(trials):
        times = np.exp2(A_TRUE + R_TRUE * SIZES + rng.normal(0, sigma, SIZES.size))
        fit = fit_exponential(SIZES, times)
        ext = extrapolate(fit, target, level)
        covered += ext.lower <= truth <= ext.upper
        rates.append(fit.rate)
        rate_ses.append(fit.rate_se)

    tolerance = 3 * math.sqrt(level * (1 - level) / trials)
    assert abs(covered / trials - level) < tolerance

    # The reported standard error of r matches the spread of r across trials (within 10%: the
    # standard deviation of 2000 draws is itself uncertain by ~1.6%, and se varies per trial).
    assert np.mean(rates) == pytest.approx(R_TRUE, abs=3 * np.std(rates) / math.sqrt(trials))
    assert np.std(rates) == pytest.approx(np.sqrt(np.mean(np.square(rate_ses))), rel=0.1)


def test_band_narrowest_at_mean_and_widens_outside():
    rng = np.random.default_rng(3)
    times = np.exp2(A_TRUE + R_TRUE * SIZES + rng.normal(0, 0.2, SIZES.size))
    fit = fit_exponential(SIZES, times)
    widths = {n: np.log2(fit.band(n)[1] / fit.band(n)[0]) for n in (12, 20, 30, 40)}
    assert widths[12] < widths[20] < widths[30] < widths[40]


def test_extrapolation_is_labelled_with_fit_range():
    times = np.exp2(A_TRUE + R_TRUE * SIZES) * (1 + 0.01 * np.sin(SIZES))
    ext = extrapolate(fit_exponential(SIZES, times), 40)

    assert ext.is_extrapolated
    assert ext.label == "extrapolated (fit n=4..20)"
    assert ext.lower < ext.value < ext.upper
    assert ext.value == pytest.approx(2.0 ** (A_TRUE + R_TRUE * 40), rel=0.2)

    inside = extrapolate(fit_exponential(SIZES, times), 10)
    assert not inside.is_extrapolated
    assert inside.label == "fitted (fit n=4..20)"


def test_two_points_give_exact_line_and_no_band():
    ext = extrapolate(fit_exponential([10, 12], [1.0, 4.0]), 40)
    assert ext.value == pytest.approx(2.0**30)
    assert not ext.has_band
    assert math.isnan(ext.lower) and math.isnan(ext.upper)


@pytest.mark.parametrize(
    ("n", "t", "message"),
    [
        ([4, 4, 4], [1.0, 2.0, 3.0], "at least two distinct x"),
        ([4, 5], [1.0, 0.0], "positive values"),
        ([4, 5], [1.0, -2.0], "positive values"),
        ([4, 5, 6], [1.0, 2.0], "equal length"),
    ],
)
def test_bad_input_is_refused_with_a_message(n, t, message):
    with pytest.raises(ValueError, match=message):
        fit_exponential(n, t)


def test_memory_model_bytes():
    assert statevector_bytes(40) == 16 * 2**40
    assert statevector_bytes(40, "single") == 8 * 2**40
    # The preprint's 17.6 TB at 40 qubits is this formula in decimal terabytes.
    assert statevector_bytes(40) / 1e12 == pytest.approx(17.59, abs=0.01)
    with pytest.raises(ValueError, match="precision must be one of"):
        statevector_bytes(10, "half")


def test_memory_fit_recovers_bytes_per_amplitude():
    base, per_amplitude = 2.4e8, 48.0  # a process baseline plus three double-precision copies
    sizes = np.arange(10, 27, 2)
    peak = base + per_amplitude * np.exp2(sizes)
    fit = fit_memory(sizes, peak)

    assert fit.bytes_per_amplitude == pytest.approx(per_amplitude, rel=1e-9)
    assert fit.base_bytes == pytest.approx(base, rel=1e-6)
    ext = extrapolate(fit, 40)
    assert ext.value == pytest.approx(base + per_amplitude * 2.0**40, rel=1e-9)
    assert ext.label == "extrapolated (fit n=10..26)"
