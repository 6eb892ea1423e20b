"""DOS-QPE: density of states from survival amplitudes, with an aliasing guard.

Energy axis. With ``U(t) = exp(-iHt)`` (:mod:`qrspps.conventions`) a state's survival amplitude is
``A(t) = sum_j p_j exp(-i E_j t)`` (``p_j`` = overlaps squared), so its spectrum is recovered by the
transform with the *opposite* sign, ``rho(E) = (1/2 pi) int A(t) exp(+i E t) dt``. We sample
``t_k = k dt`` (``k < N``), shift ``H`` by a centre ``c`` (``A -> exp(i c t) A``, exact because the
identity commutes with ``H``), extend to negative times by ``A(-t) = conj(A(t))`` and apply a
window ``w(|t|)`` that falls to 0 at ``T_max = N dt``:

    ``weight(E_m) = (2 / M) Re sum_k g_k exp(+i (E_m - c) t_k)``,
    ``g_k = w(t_k) exp(i c t_k) A(t_k)``

with ``g_0`` halved (the ``t = 0`` sample is shared by both halves) and ``M = zero_pad * N`` points
(zero padding interpolates the curve; it adds no resolution). ``E_m - c = 2 pi m / (M dt)`` covers
``[-pi/dt, pi/dt)``; the weights sum to ``A(0) = 1`` exactly, and a single level ``E`` gives a
peak centred at ``+E`` (tested). The resolution is about ``2 pi / T_max`` (the main-lobe half width
of the Hann window over ``[-T_max, T_max]``).

Aliasing. A level at ``E`` with ``|E - c| >= pi/dt`` lands at ``E - 2 pi/dt`` or ``E + 2 pi/dt``.
:func:`choose_grid` takes the spectral range (exact, or the coefficient bound
``|E| <= sum |coefficients|``), centres ``H`` on it and, when ``total_time`` is automatic, picks the
largest alias-free step with a margin, ``dt = pi / (margin * half_width)``, i.e. the best resolution
for the ``N`` samples. A user-fixed ``total_time`` is checked: ``warn`` (and ``auto``, which cannot
move a fixed time) logs a warning and flags the run, ``refuse`` raises
:class:`~qrspps.errors.ConfigError` naming the range and ``pi/dt``.

Automatic schedule over ``N``. Fixing ``dt`` at the alias limit ``dt_a = pi / (margin *
half_width)`` for every ``N`` buys resolution (``T_max = N dt_a``) but lets the Trotter error of
``A(t)`` grow with ``N``: its maximum over the grid scales like ``T_max dt^p`` for order ``p``. The
automatic choice therefore shrinks the step past a reference ``N_ref`` (``auto_reference_steps``):

    ``dt = dt_a * min(1, N_ref / N) ** (2 / (p + 2))``

so that ``T_max`` grows like ``N ** (p / (p + 2))`` and the resolution ``2 pi / T_max`` and the
Trotter error bound ``T_max dt^p`` both fall like ``N ** (-p / (p + 2))`` (``N^-1/2`` at the default
order 2): more samples improve both, and no choice of ``N`` aliases. Below ``N_ref`` the step stays
at the alias limit (resolution first). ``auto_reference_steps: null`` keeps ``dt = dt_a`` for
every ``N`` (best resolution, growing Trotter error). A user-fixed ``total_time`` overrides both.

Full DOS (trace estimator). ``chi(t) = Tr U(t) / 2**n`` is estimated by the mean of the survival
amplitudes of ``R`` random product states (:func:`qrspps.dynamics.states.random_trace_states`,
unbiased because their ensemble average is ``I / 2**n``). The DOS estimate is the mean of the
per-state spectra; its standard error is their sample standard deviation over ``sqrt(R)``. How
much sampling error there is depends on the ensemble: classical bits sample ``R`` energies of a
wide classical distribution (Wasserstein-1 of order ``sigma / sqrt(R)``, ``sigma`` the DOS width);
the equator states, the default on a state vector, weigh every classical configuration equally
and are exact for single-node clusters, leaving the FFT resolution and the Trotter error.

Local DOS: the same transform of one state's amplitude (the VQE state); its lowest strong peak
estimates ``E0``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.stats import wasserstein_distance

from qrspps.dynamics.trotter import TimeGrid
from qrspps.errors import ConfigError
from qrspps.model.ising import IsingModel

log = logging.getLogger(__name__)

ALIASING_POLICIES = ("auto", "warn", "refuse")
#: Default ``N_ref`` of the automatic time-step schedule (the smallest ``N`` of the Trotter sweep).
DEFAULT_AUTO_REFERENCE_STEPS = 8
#: Default ratio of the alias-free band ``2 pi / dt`` to the spectral width.
DEFAULT_MARGIN = 1.25
#: Default zero-padding factor of the FFT.
DEFAULT_ZERO_PAD = 4
#: A local maximum counts as a peak when it reaches this fraction of the highest one.
DEFAULT_PEAK_HEIGHT = 0.2

#: Windows ``w(u)`` on ``u = |t| / T_max`` in ``[0, 1]``, each 1 at ``u = 0``.
WINDOWS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "hann": lambda u: 0.5 * (1.0 + np.cos(np.pi * u)),
    "hamming": lambda u: 0.54 + 0.46 * np.cos(np.pi * u),
    "blackman": lambda u: 0.42 + 0.5 * np.cos(np.pi * u) + 0.08 * np.cos(2.0 * np.pi * u),
    "rectangular": lambda u: np.ones_like(u),
}


def window_weights(name: str, grid: TimeGrid) -> np.ndarray:
    """Window values at ``t_k`` (``u = t_k / T_max``).

    Raises:
        ConfigError: for an unknown window name.
    """
    try:
        window = WINDOWS[name]
    except KeyError:
        raise ConfigError(f"dosqpe.window must be one of {sorted(WINDOWS)}, was {name!r}") from None
    return window(grid.times / grid.total_time)


# --------------------------------------------------------------------------- range and grid


@dataclass(frozen=True)
class SpectralRange:
    """An interval ``[lower, upper]`` (energy units) known to contain every eigenvalue of ``H``."""

    lower: float
    upper: float
    source: str

    def __post_init__(self) -> None:
        if not self.upper >= self.lower:
            raise ValueError(
                f"spectral range needs lower <= upper, got [{self.lower}, {self.upper}]"
            )

    @property
    def centre(self) -> float:
        return 0.5 * (self.lower + self.upper)

    @property
    def width(self) -> float:
        return self.upper - self.lower


def coefficient_bound_range(model: IsingModel) -> SpectralRange:
    """``|E| <= sum of |Pauli coefficients|`` (no constant term in ``H``)."""
    bound = model.coefficient_norm()
    return SpectralRange(-bound, bound, "coefficient bound")


def negated(model: IsingModel) -> IsingModel:
    """``-H`` (its ground energy is ``-E_max`` of ``H``)."""
    return IsingModel(
        model.num_qubits, -model.z, model.zz_pairs.copy(), -model.zz, -model.x, model.labels
    )


def exact_range(model: IsingModel) -> SpectralRange:
    """``[E0, E_max]`` from the structured exact solver (ground states of ``H`` and ``-H``)."""
    from qrspps.exact.structured import exact_ground_state

    lower = exact_ground_state(model).energy
    upper = -exact_ground_state(negated(model)).energy
    return SpectralRange(lower, upper, "exact")


@dataclass(frozen=True)
class GridChoice:
    """The sampling grid and how it relates to the spectrum.

    Attributes:
        grid: ``dt`` and ``N``.
        centre: energy ``c`` subtracted from ``H`` before the transform.
        spectral_range: the range the guard used.
        automatic: True when ``dt`` was chosen here (``total_time`` null).
        aliased: True when some energy of the range lies ``>= pi/dt`` from the centre.
        margin: the margin of the automatic choice.
    """

    grid: TimeGrid
    centre: float
    spectral_range: SpectralRange
    automatic: bool
    aliased: bool
    margin: float

    @property
    def nyquist(self) -> float:
        """``pi / dt``: the largest ``|E - c|`` the grid represents (energy units)."""
        return np.pi / self.grid.dt

    @property
    def reach(self) -> float:
        """Largest ``|E - c|`` over the spectral range."""
        r = self.spectral_range
        return max(abs(r.upper - self.centre), abs(r.lower - self.centre))


def choose_grid(
    spectral_range: SpectralRange,
    steps: int,
    *,
    total_time: float | None = None,
    aliasing: str = "auto",
    margin: float = DEFAULT_MARGIN,
    center: bool = True,
    reference_steps: int | None = None,
    order: int = 2,
) -> GridChoice:
    """Pick (or check) the time step so that the spectrum fits in ``2 pi / dt``.

    Args:
        spectral_range: where the eigenvalues are.
        steps: number of samples ``N``.
        total_time: ``T_max``; None chooses ``dt`` automatically (module docstring): the alias
            limit ``pi / (margin * half_width)``, shrunk by ``(reference_steps / N) ** (2 /
            (order + 2))`` when ``N > reference_steps``.
        aliasing: ``auto``, ``warn`` or ``refuse`` (module docstring).
        margin: ``> 1``; the alias-free band is ``margin`` times the spectral width.
        center: shift ``H`` by the centre of the range (False keeps ``c = 0``, as published).
        reference_steps: ``N_ref`` of the automatic schedule; None keeps the alias limit.
        order: the product formula's order ``p`` (1 for Lie-Trotter), for the schedule.

    Raises:
        ConfigError: bad arguments, or ``refuse`` with an aliasing grid.
    """
    if aliasing not in ALIASING_POLICIES:
        raise ConfigError(f"dosqpe.aliasing must be one of {ALIASING_POLICIES}, was {aliasing!r}")
    if not margin > 1.0:
        raise ConfigError(f"dosqpe.margin must be > 1, was {margin}")
    if reference_steps is not None and reference_steps < 1:
        raise ConfigError(
            f"dosqpe.auto_reference_steps must be >= 1 or null, was {reference_steps}"
        )
    centre = spectral_range.centre if center else 0.0
    reach = max(abs(spectral_range.upper - centre), abs(spectral_range.lower - centre))

    automatic = total_time is None
    if automatic:
        # A zero-width range (one level) has no aliasing constraint; any dt works.
        dt = np.pi / (margin * reach) if reach > 0.0 else 1.0
        if reference_steps is not None and steps > reference_steps:
            dt *= (reference_steps / steps) ** (2.0 / (order + 2.0))
    else:
        if not total_time > 0.0:
            raise ConfigError(f"dosqpe.total_time must be > 0 or null, was {total_time}")
        dt = total_time / steps
    grid = TimeGrid(int(steps), float(dt))
    aliased = reach >= np.pi / dt
    choice = GridChoice(grid, centre, spectral_range, automatic, bool(aliased), margin)

    if aliased:
        safe_dt = np.pi / reach
        message = (
            f"DOS-QPE grid aliases: dt = {dt:.6g} (total_time {grid.total_time:.6g} / "
            f"trotter_steps {steps}) represents energies within pi/dt = {np.pi / dt:.6g} of the "
            f"centre {centre:.6g}, but the spectrum spans [{spectral_range.lower:.6g}, "
            f"{spectral_range.upper:.6g}] ({spectral_range.source}, width "
            f"{spectral_range.width:.6g}), reaching {reach:.6g} from the centre. The largest safe "
            f"dt is {safe_dt:.6g} (total_time < {steps * safe_dt:.6g} at {steps} steps); set "
            "dosqpe.total_time: null for the automatic choice"
        )
        if aliasing == "refuse":
            raise ConfigError(f"dosqpe.aliasing=refuse: {message}")
        log.warning(
            "%s; continuing (dosqpe.aliasing=%s), the run is flagged aliased=1", message, aliasing
        )
    log.info(
        "DOS-QPE grid: N = %d, dt = %.6g, T_max = %.6g, pi/dt = %.6g, centre %.6g, range "
        "[%.6g, %.6g] (%s), %s, aliased=%d",
        steps,
        dt,
        grid.total_time,
        np.pi / dt,
        centre,
        spectral_range.lower,
        spectral_range.upper,
        spectral_range.source,
        "automatic" if automatic else "configured",
        int(aliased),
    )
    return choice


# --------------------------------------------------------------------------- spectra


@dataclass(frozen=True)
class SpectrumEstimate:
    """A spectrum estimated from survival amplitudes.

    Attributes:
        energies: ascending energy grid (energy units).
        weights: weight per grid point, summing to 1; window side lobes can make some negative.
        stderr: standard error of each weight over the random states (None for one state).
        samples: number of states averaged.
        resolution: ``2 pi / T_max`` (energy units).
    """

    energies: np.ndarray
    weights: np.ndarray
    stderr: np.ndarray | None
    samples: int
    resolution: float

    def nonnegative(
        self, lower: float | None = None, upper: float | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Energies and weights as a probability distribution.

        Negative side-lobe values are set to 0 and, when ``lower``/``upper`` are given, weight
        outside that known spectral range (window leakage) is dropped; the rest is renormalised.
        """
        keep = np.ones(len(self.energies), dtype=bool)
        if lower is not None:
            keep &= self.energies >= lower
        if upper is not None:
            keep &= self.energies <= upper
        weights = np.clip(self.weights[keep], 0.0, None)
        total = weights.sum()
        if not total > 0.0:
            raise ValueError("the estimated spectrum has no positive weight in the given range")
        return self.energies[keep], weights / total


def spectrum_from_amplitudes(
    amplitudes: np.ndarray,
    grid: TimeGrid,
    *,
    centre: float = 0.0,
    window: str = "hann",
    zero_pad: int = DEFAULT_ZERO_PAD,
) -> SpectrumEstimate:
    """Windowed FFT of survival amplitudes to an energy axis (module docstring).

    Args:
        amplitudes: ``A(t_k)`` of ``H`` (not shifted), shape ``(N,)`` or ``(R, N)`` for ``R``
            states; the estimate is their mean.
        grid: the sampling grid.
        centre: shift ``c`` (energy units), normally :attr:`GridChoice.centre`.
        window: a key of :data:`WINDOWS`.
        zero_pad: FFT length ``M = zero_pad * N``.
    """
    amps = np.atleast_2d(np.asarray(amplitudes, dtype=complex))
    if amps.shape[1] != grid.steps:
        raise ValueError(f"expected {grid.steps} samples per state, got {amps.shape[1]}")
    if zero_pad < 1:
        raise ConfigError(f"dosqpe.zero_pad must be >= 1, was {zero_pad}")
    times = grid.times
    g = amps * (window_weights(window, grid) * np.exp(1j * centre * times))[None, :]
    g[:, 0] *= 0.5
    m = zero_pad * grid.steps
    per_state = 2.0 * np.real(np.fft.ifft(g, n=m, axis=1))
    omega = 2.0 * np.pi * np.fft.fftfreq(m, d=grid.dt)
    order = np.argsort(omega)

    weights = per_state.mean(axis=0)[order]
    stderr = None
    if len(amps) > 1:
        stderr = (per_state.std(axis=0, ddof=1) / np.sqrt(len(amps)))[order]
    return SpectrumEstimate(
        centre + omega[order], weights, stderr, len(amps), 2.0 * np.pi / grid.total_time
    )


def characteristic_function_estimate(amplitudes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Trace estimator ``chi(t) ~ mean_r A_r(t)`` and its standard error (modulus, per time).

    Args:
        amplitudes: ``(R, N)`` survival amplitudes of the random states, ``R >= 2``.
    """
    amps = np.asarray(amplitudes, dtype=complex)
    if amps.ndim != 2 or len(amps) < 2:
        raise ValueError(f"need amplitudes of shape (R >= 2, N), got {amps.shape}")
    stderr = np.sqrt((amps.real.var(axis=0, ddof=1) + amps.imag.var(axis=0, ddof=1)) / len(amps))
    return amps.mean(axis=0), stderr


def lowest_peak_energy(
    estimate: SpectrumEstimate, *, rel_height: float = DEFAULT_PEAK_HEIGHT
) -> float:
    """Energy of the lowest local maximum reaching ``rel_height`` of the highest one.

    The position is refined by a parabola through the maximum and its two neighbours (a symmetric
    window puts an isolated level exactly at the top of a symmetric peak).
    """
    w, e = estimate.weights, estimate.energies
    top = w.max()
    inner = np.arange(1, len(w) - 1)
    is_peak = (
        (w[inner] > w[inner - 1]) & (w[inner] >= w[inner + 1]) & (w[inner] >= rel_height * top)
    )
    peaks = inner[is_peak]
    if not len(peaks):
        return float(e[int(np.argmax(w))])
    i = int(peaks[0])
    denom = w[i - 1] - 2.0 * w[i] + w[i + 1]
    shift = 0.5 * (w[i - 1] - w[i + 1]) / denom if denom != 0.0 else 0.0
    return float(e[i] + shift * (e[i + 1] - e[i]))


def spectrum_distance(
    energies_a: np.ndarray, weights_a: np.ndarray, energies_b: np.ndarray, weights_b: np.ndarray
) -> float:
    """Wasserstein-1 distance (energy units) between two non-negative spectra (each normalised)."""
    return float(wasserstein_distance(energies_a, energies_b, weights_a, weights_b))


def bin_spectrum(
    energies: np.ndarray, weights: np.ndarray, grid_energies: np.ndarray
) -> np.ndarray:
    """Weights of a discrete spectrum summed into the cells of an ascending uniform grid.

    Cell ``m`` is ``[E_m - dE/2, E_m + dE/2)``; levels outside every cell are dropped. Used to put
    the exact spectrum beside an estimate on the same axis.
    """
    step = grid_energies[1] - grid_energies[0]
    edges = np.append(grid_energies - step / 2.0, grid_energies[-1] + step / 2.0)
    binned, _ = np.histogram(energies, bins=edges, weights=weights)
    return binned
