"""Boltzmann catastrophe probability ``P_cat(T)`` and its VIX reading.

For a spectrum given as distinct energies ``E`` (energy units) with non-negative weights ``w(E)``
(multiplicities, or a normalised density of states: only ratios matter),

    ``P_cat(T) = sum_{E >= E_cut} w(E) exp(-(E - E0)/T) / sum_E w(E) exp(-(E - E0)/T)``,
    ``E_cut = E0 + f (E_max - E0)``,

the probability that the Gibbs state at temperature ``T`` (energy units, ``k_B = 1``,
:mod:`qrspps.conventions`) lies in the top ``1 - f`` of the spectral range; ``E0`` and ``E_max``
default to the lowest and highest energy of positive weight, ``f = 0.85`` (SPEC 3.5). The sums are
evaluated as log-sum-exp, so the result is exact up to floating point for any known spectrum and
any ``T > 0``, including ``T`` far below the level spacing (no overflow, no 0/0).

VIX calibration (the preprint gives none; ours is documented and configurable): a linear map
``T = VIX / VIX_ref`` with ``VIX_ref = 20``, the long-run average VIX level, so ``T = 1`` is a
normal market. :data:`DEFAULT_VIX_LEVELS` are the levels reported in tables.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import logsumexp

#: Default fraction of the spectral range above ``E0`` where "catastrophe" starts.
DEFAULT_CUT_FRACTION = 0.85
#: Default VIX level that maps to ``T = 1``.
DEFAULT_VIX_REF = 20.0
#: VIX levels of the report table (calm, average, stressed, crisis, 2008/2020 peaks).
DEFAULT_VIX_LEVELS = (12.0, 20.0, 30.0, 40.0, 80.0)


def catastrophe_threshold(e0: float, e_max: float, f: float = DEFAULT_CUT_FRACTION) -> float:
    """``E_cut = E0 + f (E_max - E0)``.

    Raises:
        ValueError: unless ``0 <= f <= 1`` and ``E_max >= E0``.
    """
    if not 0.0 <= f <= 1.0:
        raise ValueError(f"the cut fraction f must be in [0, 1], was {f}")
    if not e_max >= e0:
        raise ValueError(f"E_max must be >= E0, got E0 = {e0}, E_max = {e_max}")
    return e0 + f * (e_max - e0)


def catastrophe_probability(
    energies: np.ndarray,
    weights: np.ndarray,
    temperatures: Sequence[float] | np.ndarray,
    *,
    f: float = DEFAULT_CUT_FRACTION,
    e0: float | None = None,
    e_max: float | None = None,
) -> np.ndarray:
    """``P_cat(T)`` of a spectrum at each temperature (module docstring).

    Args:
        energies: energies of the levels (any order), energy units.
        weights: non-negative weights of the levels (multiplicities or DOS values).
        temperatures: ``T > 0`` (energy units).
        f: cut fraction in ``[0, 1]``.
        e0: ground energy for ``E_cut``; default the lowest energy of positive weight.
        e_max: top of the range for ``E_cut``; default the highest energy of positive weight.

    Returns:
        ``P_cat`` per temperature, shape ``(len(temperatures),)``.

    Raises:
        ValueError: negative or all-zero weights, mismatched shapes, or ``T <= 0``.
    """
    energies = np.asarray(energies, dtype=float)
    weights = np.asarray(weights, dtype=float)
    temps = np.atleast_1d(np.asarray(temperatures, dtype=float))
    if energies.shape != weights.shape or energies.ndim != 1:
        raise ValueError(
            f"energies and weights must be 1-d of one shape, got {energies.shape} "
            f"and {weights.shape}"
        )
    if np.any(weights < 0.0):
        raise ValueError(f"weights must be >= 0; the smallest was {weights.min()}")
    if np.any(~(temps > 0.0)):
        raise ValueError(f"temperatures must be > 0, got {temps}")
    support = weights > 0.0
    if not support.any():
        raise ValueError("the spectrum has no level of positive weight")

    energies, weights = energies[support], weights[support]
    lowest = energies.min()
    cut = catastrophe_threshold(
        lowest if e0 is None else e0, energies.max() if e_max is None else e_max, f
    )
    tail = energies >= cut
    if not tail.any():
        return np.zeros(len(temps))
    # Exponents relative to the lowest level: <= 0, so nothing overflows; the ratio is unchanged.
    log_terms = np.log(weights)[None, :] - (energies[None, :] - lowest) / temps[:, None]
    return np.exp(logsumexp(log_terms[:, tail], axis=1) - logsumexp(log_terms, axis=1))


def catastrophe_probability_bound(
    log_z: Callable[[np.ndarray], np.ndarray],
    e0: float,
    e_max: float,
    temperatures: Sequence[float] | np.ndarray,
    *,
    f: float = DEFAULT_CUT_FRACTION,
) -> np.ndarray:
    """A rigorous upper bound on ``P_cat(T)`` from partition functions alone (Chernoff).

    For any ``s >= 0``, ``[E >= E_cut] <= exp(s (E - E_cut))``, so

        ``P_cat(T) <= exp(-s E_cut) Z(1/T - s) / Z(1/T)``,

    and ``ln Z`` is convex in ``beta``, so the bound's logarithm is convex in ``s`` and is minimised
    numerically. This needs no level list: it is how ``P_cat`` is bounded when the exact spectrum
    has too many distinct levels to enumerate (:func:`qrspps.exact.spectral.exact_spectrum`). The
    true ``P_cat`` lies in ``[0, bound]``; on the 10-node retail40 prefix (``supplier_subsidy``) the
    bound lay 5 to 27 times above it for ``T`` from 8 down to 0.25.

    Args:
        log_z: ``ln Z(beta)`` for an array of inverse temperatures of any sign, e.g. the
            function :func:`qrspps.exact.structured.log_partition_function` returns for a model.
        e0, e_max: exact lowest and highest energy (they fix ``E_cut``).
        temperatures: ``T > 0``.
        f: cut fraction.

    Returns:
        the bound per temperature, each in ``[0, 1]``.
    """
    temps = np.atleast_1d(np.asarray(temperatures, dtype=float))
    if np.any(~(temps > 0.0)):
        raise ValueError(f"temperatures must be > 0, got {temps}")
    cut = catastrophe_threshold(e0, e_max, f)
    width = max(e_max - e0, 1e-300)
    bounds = np.empty(len(temps))
    for i, temp in enumerate(temps):
        beta = 1.0 / temp
        base = float(log_z(np.array([beta]))[0])

        def log_bound(s: float, beta: float = beta, base: float = base) -> float:
            return float(log_z(np.array([beta - s]))[0]) - s * cut - base

        # Past s = beta + 50 / width the top level dominates Z(beta - s): the bound only grows.
        res = minimize_scalar(
            log_bound, bounds=(0.0, beta + 50.0 / width), method="bounded", options={"xatol": 1e-6}
        )
        bounds[i] = min(1.0, float(np.exp(min(res.fun, log_bound(0.0)))))
    return bounds


def vix_to_temperature(vix: float | np.ndarray, vix_ref: float = DEFAULT_VIX_REF) -> np.ndarray:
    """``T = VIX / VIX_ref`` (energy units).

    Raises:
        ValueError: for ``vix_ref <= 0`` or a negative VIX.
    """
    if not vix_ref > 0.0:
        raise ValueError(f"vix_ref must be > 0, was {vix_ref}")
    vix = np.asarray(vix, dtype=float)
    if np.any(vix < 0.0):
        raise ValueError(f"VIX levels must be >= 0, got {vix}")
    return vix / vix_ref


def temperature_to_vix(
    temperature: float | np.ndarray, vix_ref: float = DEFAULT_VIX_REF
) -> np.ndarray:
    """Inverse of :func:`vix_to_temperature`: ``VIX = T * VIX_ref``."""
    if not vix_ref > 0.0:
        raise ValueError(f"vix_ref must be > 0, was {vix_ref}")
    return np.asarray(temperature, dtype=float) * vix_ref


@dataclass(frozen=True)
class TailRiskCurve:
    """``P_cat`` of one Hamiltonian on a temperature grid, exact and estimated.

    Attributes:
        temperatures: ``T`` grid (energy units).
        exact: ``P_cat`` of the exact spectrum (value kind *exact*).
        estimate: ``P_cat`` of the estimated spectrum (DOS-QPE: *simulated*, *sampled*), or None.
        estimate_stderr: jackknife standard error of ``estimate`` over the random states, or None.
        cut: ``E_cut`` of the exact spectrum, ``E0 + f (E_max - E0)`` (energy units).
        estimate_cut: ``E_cut`` the estimate was evaluated with (nan without an estimate).
        exact_is_bound: True when ``exact`` holds a rigorous upper bound ``U`` (the true value
            lies in ``[0, U]``, :func:`catastrophe_probability_bound`) because the exact spectrum
            was out of reach; :attr:`abs_error` is then a bound on the error too.
    """

    temperatures: np.ndarray
    exact: np.ndarray
    estimate: np.ndarray | None
    estimate_stderr: np.ndarray | None
    cut: float
    estimate_cut: float = float("nan")
    exact_is_bound: bool = False

    @property
    def exact_kind(self) -> str:
        """Value kind of :attr:`exact`: ``exact`` or ``upper bound``."""
        return "upper bound" if self.exact_is_bound else "exact"

    @property
    def abs_error(self) -> np.ndarray:
        """``|estimate - exact|`` per temperature (nan without an estimate).

        With :attr:`exact_is_bound` the true value is somewhere in ``[0, U]``, so the largest
        possible error, ``max(estimate, |U - estimate|)``, is returned: a certified bound.
        """
        if self.estimate is None:
            return np.full(len(self.temperatures), np.nan)
        if self.exact_is_bound:
            return np.maximum(self.estimate, np.abs(self.exact - self.estimate))
        return np.abs(self.estimate - self.exact)

    @property
    def max_abs_error(self) -> float:
        return float(np.max(self.abs_error))


def jackknife_stderr(leave_one_out: np.ndarray) -> np.ndarray:
    """Jackknife standard error from ``R >= 2`` leave-one-out estimates (first axis)."""
    values = np.asarray(leave_one_out, dtype=float)
    r = len(values)
    if r < 2:
        raise ValueError(f"the jackknife needs at least 2 leave-one-out values, got {r}")
    return np.sqrt((r - 1) / r * ((values - values.mean(axis=0)) ** 2).sum(axis=0))


Spectrum = tuple[np.ndarray, np.ndarray]


def tail_risk_curve(
    exact: Spectrum,
    temperatures: Sequence[float] | np.ndarray,
    *,
    estimate: Spectrum | None = None,
    leave_one_out: Sequence[Spectrum] = (),
    f: float = DEFAULT_CUT_FRACTION,
    estimate_range: tuple[float, float] | None = None,
) -> TailRiskCurve:
    """Exact and estimated ``P_cat(T)``.

    Args:
        exact: ``(energies, weights)`` of the exact spectrum; its own ends give ``E0``, ``E_max``.
        temperatures: ``T > 0`` grid.
        estimate: ``(energies, non-negative weights)`` of an estimated spectrum, or None.
        leave_one_out: estimated spectra each leaving one random state out (for the jackknife).
        f: cut fraction.
        estimate_range: ``(E0, E_max)`` defining the estimate's cut. An FFT estimate has no sharp
            ends (window leakage, unseen edge levels), so its cut comes from what the estimating
            pipeline knows about the range; default the exact spectrum's ends, in which case the
            error measures the estimated Boltzmann weights alone.
    """
    energies, weights = (np.asarray(a, dtype=float) for a in exact)
    support = energies[weights > 0.0]
    e0, e_max = float(support.min()), float(support.max())
    temps = np.atleast_1d(np.asarray(temperatures, dtype=float))
    est, stderr, est_cut = _estimated(
        temps, estimate, leave_one_out, f, (e0, e_max) if estimate_range is None else estimate_range
    )
    return TailRiskCurve(
        temps,
        catastrophe_probability(energies, weights, temps, f=f),
        est,
        stderr,
        catastrophe_threshold(e0, e_max, f),
        est_cut,
    )


def bounded_tail_risk_curve(
    upper: np.ndarray,
    e0: float,
    e_max: float,
    temperatures: Sequence[float] | np.ndarray,
    *,
    estimate: Spectrum | None = None,
    leave_one_out: Sequence[Spectrum] = (),
    f: float = DEFAULT_CUT_FRACTION,
    estimate_range: tuple[float, float] | None = None,
) -> TailRiskCurve:
    """:func:`tail_risk_curve` with a rigorous upper bound in place of the exact ``P_cat``.

    Args:
        upper: :func:`catastrophe_probability_bound` at ``temperatures``.
        e0, e_max: exact ends of the spectrum (they fix the exact cut).
        temperatures, estimate, leave_one_out, f, estimate_range: as for :func:`tail_risk_curve`.
    """
    temps = np.atleast_1d(np.asarray(temperatures, dtype=float))
    est, stderr, est_cut = _estimated(
        temps, estimate, leave_one_out, f, (e0, e_max) if estimate_range is None else estimate_range
    )
    return TailRiskCurve(
        temps,
        np.asarray(upper, dtype=float),
        est,
        stderr,
        catastrophe_threshold(e0, e_max, f),
        est_cut,
        exact_is_bound=True,
    )


def _estimated(
    temps: np.ndarray,
    estimate: Spectrum | None,
    leave_one_out: Sequence[Spectrum],
    f: float,
    estimate_range: tuple[float, float],
) -> tuple[np.ndarray | None, np.ndarray | None, float]:
    """``P_cat`` of the estimated spectrum, its jackknife standard error and its cut."""
    est_e0, est_e_max = estimate_range

    def pcat(spectrum: Spectrum) -> np.ndarray:
        return catastrophe_probability(*spectrum, temps, f=f, e0=est_e0, e_max=est_e_max)

    est = None if estimate is None else pcat(estimate)
    stderr = None
    if len(leave_one_out) >= 2:
        stderr = jackknife_stderr(np.array([pcat(s) for s in leave_one_out]))
    cut = float("nan") if estimate is None else catastrophe_threshold(est_e0, est_e_max, f)
    return est, stderr, cut


def vix_rows(
    policy: str, curve: TailRiskCurve, vix_ref: float = DEFAULT_VIX_REF
) -> list[dict[str, float | str]]:
    """Table rows ``(policy, VIX, T, P_cat exact and its kind, estimate, stderr, |error|, cuts)``.

    ``curve`` must have been evaluated at ``T = VIX / vix_ref`` of the wanted VIX levels.
    """
    vix = temperature_to_vix(curve.temperatures, vix_ref)
    rows: list[dict[str, float | str]] = []
    for i, temp in enumerate(curve.temperatures):
        rows.append(
            {
                "policy": policy,
                "vix": float(vix[i]),
                "temperature": float(temp),
                "pcat_exact": float(curve.exact[i]),
                "pcat_exact_kind": curve.exact_kind,
                "pcat_estimate": float("nan")
                if curve.estimate is None
                else float(curve.estimate[i]),
                "pcat_estimate_stderr": (
                    float("nan")
                    if curve.estimate_stderr is None
                    else float(curve.estimate_stderr[i])
                ),
                "abs_error": float(curve.abs_error[i]),
                "e_cut": curve.cut,
                "e_cut_estimate": curve.estimate_cut,
            }
        )
    return rows
