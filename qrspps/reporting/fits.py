"""Scaling fits: exponential time models, state-vector memory, confidence bands, extrapolation.

Two models are fitted by ordinary least squares:

* time: ``log2(t) = a + r n`` (:func:`fit_exponential`), so ``r`` is the number of doublings per
  added qubit and ``2**r`` the factor per qubit;
* memory: ``bytes = base + k * 2**n`` (:func:`fit_memory`), so ``k`` is the measured bytes per
  amplitude (16 for one double-precision state vector, more with the simulator's working copies) and
  ``base`` the process baseline.

Both come with R^2 (of the fitted variable: ``log2 t`` or bytes), parameter standard errors and a
confidence band for the *mean* prediction from the t distribution with ``N - 2`` degrees of
freedom::

    y_hat(x) +- t_{(1 + level) / 2, N - 2} * s * sqrt(1 / N + (x - x_mean)**2 / S_xx)

where ``s**2 = SSE / (N - 2)``. The band covers the true mean at the stated rate when the residuals
are independent and normal with constant variance; it says nothing about the risk that the model
itself (pure exponential growth) stops holding beyond the fitted range.

.. note::
    Two distinct sizes determine the line exactly and leave no degrees of freedom: the fit is
    returned, but standard errors and bands are NaN, and the report says so.

A value obtained from a fit is an :class:`Extrapolation` and always carries its fit range; it is
never presented as a measurement.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy import stats

#: Confidence level of every band unless a caller asks otherwise.
DEFAULT_LEVEL = 0.95

#: Bytes per state-vector amplitude: complex128 (double) and complex64 (single).
BYTES_PER_AMPLITUDE = {"double": 16, "single": 8}


def statevector_bytes(num_qubits: int, precision: str = "double") -> int:
    """Bytes of one ``num_qubits`` state vector: ``16 * 2**n`` (double) or ``8 * 2**n`` (single).

    This is the exact size of the amplitudes alone; a simulator needs working copies on top.

    Raises:
        ValueError: ``precision`` is not ``"double"`` or ``"single"``, or ``num_qubits < 0``.
    """
    if precision not in BYTES_PER_AMPLITUDE:
        raise ValueError(
            f"precision must be one of {sorted(BYTES_PER_AMPLITUDE)}, was {precision!r}"
        )
    if num_qubits < 0:
        raise ValueError(f"num_qubits must be >= 0, was {num_qubits}")
    return BYTES_PER_AMPLITUDE[precision] * 2 ** int(num_qubits)


@dataclass(frozen=True)
class LinearFit:
    """Least-squares line ``y = intercept + slope * x`` with its uncertainty.

    Attributes:
        intercept, slope: fitted parameters.
        intercept_se, slope_se: their standard errors (NaN without residual degrees of freedom).
        r2: coefficient of determination (NaN when every ``y`` is equal).
        residual_std: ``s = sqrt(SSE / (N - 2))`` (NaN when ``N == 2``).
        n_points: number of points ``N``.
        x_mean, sxx: mean of ``x`` and ``sum (x - x_mean)**2``, needed for the band.
    """

    intercept: float
    slope: float
    intercept_se: float
    slope_se: float
    r2: float
    residual_std: float
    n_points: int
    x_mean: float
    sxx: float

    @property
    def dof(self) -> int:
        """Residual degrees of freedom ``N - 2``."""
        return self.n_points - 2

    def predict(self, x: float | np.ndarray) -> float | np.ndarray:
        """Mean prediction at ``x``."""
        return self.intercept + self.slope * np.asarray(x, dtype=float)

    def half_width(self, x: float | np.ndarray, level: float = DEFAULT_LEVEL) -> np.ndarray:
        """Half width of the confidence band of the mean prediction at ``x`` (NaN if ``N == 2``)."""
        x = np.asarray(x, dtype=float)
        if self.dof < 1:
            return np.full_like(x, np.nan)
        t_crit = stats.t.ppf(0.5 * (1.0 + level), self.dof)
        leverage = 1.0 / self.n_points + (x - self.x_mean) ** 2 / self.sxx
        return t_crit * self.residual_std * np.sqrt(leverage)


def fit_line(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> LinearFit:
    """Ordinary least squares of ``y`` on ``x``.

    Raises:
        ValueError: lengths differ, a value is not finite, or fewer than two distinct ``x``.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-d of equal length, got shapes {x.shape}, {y.shape}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("x and y must be finite; drop missing or failed points before fitting")
    if np.unique(x).size < 2:
        raise ValueError(
            f"a line needs at least two distinct x values, got {np.unique(x).tolist()}"
        )

    n_points = x.size
    x_mean, y_mean = float(x.mean()), float(y.mean())
    sxx = float(np.sum((x - x_mean) ** 2))
    slope = float(np.sum((x - x_mean) * (y - y_mean)) / sxx)
    intercept = y_mean - slope * x_mean

    residuals = y - (intercept + slope * x)
    sse = float(np.sum(residuals**2))
    sst = float(np.sum((y - y_mean) ** 2))
    r2 = 1.0 - sse / sst if sst > 0 else math.nan

    # With N == 2 the line passes through both points: no residual variance can be estimated.
    if n_points > 2:
        residual_std = math.sqrt(sse / (n_points - 2))
        slope_se = residual_std / math.sqrt(sxx)
        intercept_se = residual_std * math.sqrt(1.0 / n_points + x_mean**2 / sxx)
    else:
        residual_std = slope_se = intercept_se = math.nan
    return LinearFit(
        intercept, slope, intercept_se, slope_se, r2, residual_std, n_points, x_mean, sxx
    )


class SizeModel(Protocol):
    """What :func:`extrapolate` needs from a fit over problem size ``n``."""

    n_min: int
    n_max: int

    def predict(self, n: float | np.ndarray) -> np.ndarray: ...

    def band(
        self, n: float | np.ndarray, level: float = DEFAULT_LEVEL
    ) -> tuple[np.ndarray, np.ndarray]: ...


def _size_range(n: np.ndarray) -> tuple[int, int]:
    return round(float(np.min(n))), round(float(np.max(n)))


@dataclass(frozen=True)
class ExponentialFit:
    """``log2(t) = a + r n`` fitted to positive values ``t`` (seconds, usually) over sizes ``n``.

    Attributes:
        line: the fit of ``log2 t`` on ``n``; ``r2`` and standard errors refer to ``log2 t``.
        n_min, n_max: the fitted size range (every prediction carries it).
    """

    line: LinearFit
    n_min: int
    n_max: int

    @property
    def a(self) -> float:
        """Intercept: ``log2`` of the value at ``n = 0``."""
        return self.line.intercept

    @property
    def rate(self) -> float:
        """Doublings per added qubit ``r``."""
        return self.line.slope

    @property
    def rate_se(self) -> float:
        """Standard error of ``r``."""
        return self.line.slope_se

    @property
    def r2(self) -> float:
        """R^2 of the fit of ``log2 t``."""
        return self.line.r2

    @property
    def fit_range(self) -> str:
        """``"n=a..b"``, the label every derived number carries."""
        return f"n={self.n_min}..{self.n_max}"

    def predict(self, n: float | np.ndarray) -> np.ndarray:
        """Mean prediction ``2**(a + r n)``."""
        return np.exp2(self.line.predict(n))

    def band(
        self, n: float | np.ndarray, level: float = DEFAULT_LEVEL
    ) -> tuple[np.ndarray, np.ndarray]:
        """Confidence band of the mean prediction (computed on ``log2 t``, mapped back)."""
        centre = self.line.predict(n)
        half = self.line.half_width(n, level)
        return np.exp2(centre - half), np.exp2(centre + half)


def fit_exponential(
    n: Sequence[float] | np.ndarray, values: Sequence[float] | np.ndarray
) -> ExponentialFit:
    """Fit ``log2(values) = a + r n``; repeated sizes are allowed and add information.

    Raises:
        ValueError: a value is not positive (its logarithm is undefined), or see :func:`fit_line`.
    """
    n = np.asarray(n, dtype=float)
    values = np.asarray(values, dtype=float)
    if np.any(~(values > 0)):
        bad = values[~(values > 0)].tolist()
        raise ValueError(f"an exponential fit needs positive values, got {bad}")
    return ExponentialFit(fit_line(n, np.log2(values)), *_size_range(n))


@dataclass(frozen=True)
class MemoryFit:
    """``bytes = base + k * 2**n`` fitted to measured peak memory over sizes ``n``.

    Attributes:
        line: the fit of bytes on ``2**n``; ``slope`` is ``k`` (bytes per amplitude).
        n_min, n_max: the fitted size range.
    """

    line: LinearFit
    n_min: int
    n_max: int

    @property
    def base_bytes(self) -> float:
        """Size-independent part (interpreter, libraries, caches)."""
        return self.line.intercept

    @property
    def bytes_per_amplitude(self) -> float:
        """Measured bytes per amplitude ``k`` (16 means exactly one double-precision vector)."""
        return self.line.slope

    @property
    def r2(self) -> float:
        """R^2 of the fit of bytes."""
        return self.line.r2

    @property
    def fit_range(self) -> str:
        """``"n=a..b"``."""
        return f"n={self.n_min}..{self.n_max}"

    def predict(self, n: float | np.ndarray) -> np.ndarray:
        """Mean prediction ``base + k 2**n``."""
        return self.line.predict(np.exp2(np.asarray(n, dtype=float)))

    def band(
        self, n: float | np.ndarray, level: float = DEFAULT_LEVEL
    ) -> tuple[np.ndarray, np.ndarray]:
        """Confidence band of the mean prediction, in bytes."""
        x = np.exp2(np.asarray(n, dtype=float))
        centre = self.line.predict(x)
        half = self.line.half_width(x, level)
        return centre - half, centre + half


def fit_memory(
    n: Sequence[float] | np.ndarray, peak_bytes: Sequence[float] | np.ndarray
) -> MemoryFit:
    """Fit ``peak_bytes = base + k * 2**n`` (see :class:`MemoryFit`)."""
    n = np.asarray(n, dtype=float)
    return MemoryFit(fit_line(np.exp2(n), peak_bytes), *_size_range(n))


@dataclass(frozen=True)
class Extrapolation:
    """A value predicted by a fit, with its band and the range it was fitted on.

    Attributes:
        n: size the value is predicted at.
        value: mean prediction.
        lower, upper: confidence band at ``level`` (NaN when the fit has no degrees of freedom).
        level: confidence level of the band.
        n_min, n_max: fitted size range.
    """

    n: float
    value: float
    lower: float
    upper: float
    level: float
    n_min: int
    n_max: int

    @property
    def is_extrapolated(self) -> bool:
        """True when ``n`` lies outside the fitted range."""
        return not (self.n_min <= self.n <= self.n_max)

    @property
    def kind(self) -> str:
        """``"extrapolated"`` outside the fitted range, ``"fitted"`` inside it."""
        return "extrapolated" if self.is_extrapolated else "fitted"

    @property
    def label(self) -> str:
        """E.g. ``"extrapolated (fit n=4..12)"``: how the value must be tagged wherever shown."""
        return f"{self.kind} (fit n={self.n_min}..{self.n_max})"

    @property
    def has_band(self) -> bool:
        """Whether a band could be estimated (the fit had residual degrees of freedom)."""
        return math.isfinite(self.lower) and math.isfinite(self.upper)


def extrapolate(fit: SizeModel, n: float, level: float = DEFAULT_LEVEL) -> Extrapolation:
    """Predict ``fit`` at size ``n`` with its confidence band and fit range."""
    lower, upper = fit.band(n, level)
    return Extrapolation(
        n=float(n),
        value=float(fit.predict(n)),
        lower=float(lower),
        upper=float(upper),
        level=level,
        n_min=fit.n_min,
        n_max=fit.n_max,
    )
