"""DOS-QPE runs of one Hamiltonian, each with its exact references.

:func:`full_dos`: the trace estimator (random product states, :mod:`qrspps.dynamics.states`) on a
grid from the aliasing guard, checked state by state against the exact survival amplitude and, as a
spectrum, against the exact DOS. :func:`local_dos`: the local DOS of one state (VQE, mean-field or
random) with per-node stress along the evolution. :func:`pcat_curve`: ``P_cat(T)`` exact (or a
rigorous upper bound when the spectrum is too large to list) and estimated with one common cut.
Value kinds: ``exact`` for everything from
:mod:`qrspps.exact` and :mod:`qrspps.dynamics.reference`; ``simulated`` (Aer) and ``sampled``
(random states) for the estimates.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from qiskit.quantum_info import Statevector

from qrspps.dynamics.dosqpe import (
    GridChoice,
    SpectralRange,
    SpectrumEstimate,
    choose_grid,
    coefficient_bound_range,
    exact_range,
    spectrum_distance,
    spectrum_from_amplitudes,
)
from qrspps.dynamics.reference import exact_local_spectrum, survival_amplitude_from_spectrum
from qrspps.dynamics.settings import DosqpeSettings, PcatSettings, plain
from qrspps.dynamics.states import (
    InitialState,
    mean_field_amplitudes,
    product_state_circuit,
    random_trace_states,
    resolve_trace_states,
)
from qrspps.dynamics.trotter import TrotterEvolution, TrotterRun
from qrspps.errors import ResourceLimitError
from qrspps.exact.spectral import exact_spectrum, exact_survival_amplitude
from qrspps.exact.structured import log_partition_function
from qrspps.model.ising import IsingModel
from qrspps.quantum.ansatz import DEFAULT_DEPTH, build_ansatz
from qrspps.quantum.backend import SimulatorSettings
from qrspps.risk.tailrisk import (
    TailRiskCurve,
    bounded_tail_risk_curve,
    catastrophe_probability_bound,
    tail_risk_curve,
)

log = logging.getLogger(__name__)


@dataclass
class FullDos:
    """DOS-QPE of one Hamiltonian by the trace estimator, with its exact references."""

    name: str
    choice: GridChoice
    exact_spectrum: tuple[np.ndarray, np.ndarray] | None
    runs: list[TrotterRun]
    exact_amplitudes: np.ndarray | None
    estimate: SpectrumEstimate
    leave_one_out: list[SpectrumEstimate]
    trotter_error: float
    dos_distance: float
    trotter_time_s: float
    exact_time_s: float
    trace_states: str = "classical_bits"
    #: W1 from the exact DOS to the same estimator fed with the *exact* survival amplitudes of
    #: the same states on the same grid: the sampling and resolution part of ``dos_distance``,
    #: which no Trotter step count removes (nan without exact amplitudes).
    dos_distance_exact_evolution: float = float("nan")
    #: W1 between the Trotter estimate and that exact-evolution estimate: the part of
    #: ``dos_distance`` that the product formula causes (nan without exact amplitudes).
    dos_distance_trotter_part: float = float("nan")
    #: The Hamiltonian (for the partition-function tail bound when the spectrum is out of reach).
    model: IsingModel | None = None

    @property
    def amplitudes(self) -> np.ndarray:
        """``A(t_k)`` of every state, shape ``(R, N)``."""
        return np.array([r.amplitudes for r in self.runs])


def _spectrum_or_none(model: IsingModel, name: str) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        energies, counts = exact_spectrum(model)
    except ResourceLimitError as exc:
        log.warning(
            "%s: no exact spectrum (%s); DOS distance and exact P_cat are unavailable", name, exc
        )
        return None
    return energies, counts / counts.sum()


def _spectral_range(
    model: IsingModel, spectrum: tuple[np.ndarray, np.ndarray] | None, source: str
) -> SpectralRange:
    if source == "bound":
        return coefficient_bound_range(model)
    if spectrum is not None:
        return SpectralRange(float(spectrum[0][0]), float(spectrum[0][-1]), "exact")
    try:
        return exact_range(model)
    except ResourceLimitError as exc:
        log.warning("exact spectral range unavailable (%s); using the coefficient bound", exc)
        return coefficient_bound_range(model)


def full_dos(
    name: str,
    model: IsingModel,
    settings: DosqpeSettings,
    simulator: SimulatorSettings,
    rng: np.random.Generator,
) -> FullDos:
    """Trace-estimator DOS-QPE of ``model`` with exact references (module docstring, 1-3)."""
    started = time.perf_counter()
    spectrum = _spectrum_or_none(model, name)
    srange = _spectral_range(model, spectrum, settings.range_source)
    exact_time = time.perf_counter() - started
    choice = choose_grid(
        srange,
        settings.trotter_steps,
        total_time=settings.total_time,
        aliasing=settings.aliasing,
        margin=settings.margin,
        center=settings.center,
        reference_steps=settings.auto_reference_steps,
        order=settings.order,
    )

    started = time.perf_counter()
    evolution = TrotterEvolution(
        model,
        choice.grid,
        order=settings.order,
        reps_per_step=settings.reps_per_step,
        settings=simulator,
    )
    kind = resolve_trace_states(settings.trace_states, evolution.method)
    states = random_trace_states(model, settings.random_states, rng, kind)
    runs = evolution.evolve([(s.name, s.circuit) for s in states])
    amplitudes = np.array([r.amplitudes for r in runs])

    def transform(amps: np.ndarray) -> SpectrumEstimate:
        return spectrum_from_amplitudes(
            amps,
            choice.grid,
            centre=choice.centre,
            window=settings.window,
            zero_pad=settings.zero_pad,
        )

    estimate = transform(amplitudes)
    leave_one_out = [transform(np.delete(amplitudes, r, axis=0)) for r in range(len(amplitudes))]
    trotter_time = time.perf_counter() - started

    started = time.perf_counter()
    exact_amps = None
    trotter_error = float("nan")
    try:
        exact_amps = np.array(
            [
                exact_survival_amplitude(model, s.product_amplitudes, choice.grid.times)
                for s in states
            ]
        )
        trotter_error = float(np.abs(amplitudes - exact_amps).max())
    except ResourceLimitError as exc:
        log.warning("%s: no exact survival amplitudes (%s)", name, exc)
    dos_distance = exact_evolution_distance = trotter_part = float("nan")
    clipped = estimate.nonnegative(srange.lower, srange.upper)
    if spectrum is not None:
        dos_distance = spectrum_distance(*clipped, *spectrum)
    if exact_amps is not None:
        # The same estimator on exact amplitudes separates what more Trotter steps can fix from
        # what only more random states (sampling) or a longer time (resolution) can.
        exact_evolution = transform(exact_amps).nonnegative(srange.lower, srange.upper)
        trotter_part = spectrum_distance(*clipped, *exact_evolution)
        if spectrum is not None:
            exact_evolution_distance = spectrum_distance(*exact_evolution, *spectrum)
    exact_time += time.perf_counter() - started
    log.info(
        "%s: DOS-QPE with %d random states (%s), trotter_error %.3g, dos_distance %.4g "
        "(exact evolution of the same states %.4g, Trotter part %.3g; resolution %.3g)",
        name,
        len(states),
        kind,
        trotter_error,
        dos_distance,
        exact_evolution_distance,
        trotter_part,
        estimate.resolution,
    )
    return FullDos(
        name,
        choice,
        spectrum,
        runs,
        exact_amps,
        estimate,
        leave_one_out,
        trotter_error,
        dos_distance,
        trotter_time,
        exact_time,
        kind,
        exact_evolution_distance,
        trotter_part,
        model,
    )


def pcat_curve(
    dos: FullDos, temperatures: np.ndarray, settings: PcatSettings
) -> TailRiskCurve | None:
    """Exact (or bounded) and estimated ``P_cat`` of one Hamiltonian.

    The exact curve takes ``E0`` and ``E_max`` from the exact spectrum. The estimate is clipped at
    0 and restricted to the spectral range the aliasing guard used (weight outside it is window
    leakage, :meth:`SpectrumEstimate.nonnegative`), and its cut comes from that range too: with
    ``range_source=exact`` both cuts coincide, with ``bound`` the estimate pays for the loose range.

    When the exact spectrum has too many distinct levels to list but the exact range is known,
    the exact curve is replaced by the rigorous upper bound of
    :func:`qrspps.risk.tailrisk.catastrophe_probability_bound` (partition functions only), marked
    ``exact_is_bound``. None when neither is available.
    """
    srange = dos.choice.spectral_range
    estimate = dos.estimate.nonnegative(srange.lower, srange.upper)
    leave_one_out = [s.nonnegative(srange.lower, srange.upper) for s in dos.leave_one_out]
    if dos.exact_spectrum is None:
        if dos.model is None or srange.source != "exact":
            return None
        try:
            upper = catastrophe_probability_bound(
                log_partition_function(dos.model),
                srange.lower,
                srange.upper,
                temperatures,
                f=settings.f,
            )
        except ResourceLimitError as exc:
            log.warning("%s: no P_cat bound either (%s)", dos.name, exc)
            return None
        log.info("%s: exact P_cat replaced by its partition-function upper bound", dos.name)
        return bounded_tail_risk_curve(
            upper,
            srange.lower,
            srange.upper,
            temperatures,
            estimate=estimate,
            leave_one_out=leave_one_out,
            f=settings.f,
            estimate_range=(srange.lower, srange.upper),
        )
    return tail_risk_curve(
        dos.exact_spectrum,
        temperatures,
        estimate=estimate,
        leave_one_out=leave_one_out,
        f=settings.f,
        estimate_range=(srange.lower, srange.upper),
    )


@dataclass
class LocalDos:
    """Local DOS of one state, its stress history, and its exact references.

    Attributes:
        state: the evolved state.
        run: the Trotter run (amplitudes and per-node stress).
        estimate: the local DOS estimate.
        exact_amplitudes: exact ``A(t_k)``, or None.
        exact_spectrum: exact local spectrum ``(energies, weights)``, or None.
    """

    state: InitialState
    run: TrotterRun
    estimate: SpectrumEstimate
    exact_amplitudes: np.ndarray | None
    exact_spectrum: tuple[np.ndarray, np.ndarray] | None

    @property
    def trotter_error(self) -> float:
        """``max_k |A_trotter(t_k) - A_exact(t_k)|`` (nan without a reference)."""
        if self.exact_amplitudes is None:
            return float("nan")
        return float(np.abs(self.run.amplitudes - self.exact_amplitudes).max())


def prepare_initial_state(
    model: IsingModel,
    cfg: Mapping[str, Any],
    settings: DosqpeSettings,
    rng: np.random.Generator,
    exact_e0: float | None,
) -> tuple[InitialState, dict[str, str], float | None, float]:
    """The state whose local DOS and cascade are reported; returns (state, tags, E_vqe, seconds).

    ``vqe`` falls back to ``mean_field`` with a warning and a tag when :mod:`qrspps.quantum.vqe`
    cannot be imported.
    """
    kind = settings.initial_state
    tags: dict[str, str] = {"initial_state": kind}
    if kind == "vqe":
        try:
            from qrspps.quantum.vqe import OptimizerSettings, run_vqe
        except ImportError as exc:
            log.warning(
                "initial_state=vqe but qrspps.quantum.vqe is unavailable (%s); using the "
                "mean-field state",
                exc,
            )
            kind = "mean_field"
            tags.update(
                initial_state="mean_field", initial_state_fallback=f"vqe unavailable: {exc}"
            )
        else:
            started = time.perf_counter()
            ansatz_cfg = cfg.get("ansatz") or {}
            depth = int(ansatz_cfg.get("depth", DEFAULT_DEPTH))
            name = str(plain(ansatz_cfg.get("name", "brickwork_ry")))
            result = run_vqe(
                model,
                depth=depth,
                ansatz_name=name,
                optimizer=OptimizerSettings.from_mapping(cfg.get("optimizer")),
                simulator=SimulatorSettings.from_mapping(cfg.get("simulator")),
                seed=int(cfg.get("seed", 0)),
                exact_energy=exact_e0,
            )
            circuit = build_ansatz(name, model.num_qubits, depth).circuit.assign_parameters(
                result.parameters
            )
            tags["vqe_termination_reason"] = result.termination_reason[:250]
            return (
                InitialState("vqe", circuit),
                tags,
                result.energy,
                time.perf_counter() - started,
            )
    if kind == "mean_field":
        amps = mean_field_amplitudes(model, rng)
        return InitialState("mean_field", product_state_circuit(amps), amps), tags, None, 0.0
    state = random_trace_states(model, 1, rng)[0]
    return InitialState("random", state.circuit, state.product_amplitudes), tags, None, 0.0


def local_dos(
    model: IsingModel,
    state: InitialState,
    choice: GridChoice,
    settings: DosqpeSettings,
    simulator: SimulatorSettings,
) -> LocalDos:
    """Trotter run of ``state`` with stress tracking, its local DOS, and the exact references.

    The exact amplitude of a product state comes from the structured solver at any size; the exact
    local spectrum (and the amplitude of an entangled state) needs ``n <= max_reference_qubits``
    (:func:`qrspps.dynamics.reference.exact_local_spectrum`).
    """
    evolution = TrotterEvolution(
        model,
        choice.grid,
        order=settings.order,
        reps_per_step=settings.reps_per_step,
        settings=simulator,
    )
    (run,) = evolution.evolve([(state.name, state.circuit)], track_stress=True)
    times = choice.grid.times
    exact_amps = None
    exact_ldos = None
    try:
        if state.product_amplitudes is not None:
            exact_amps = exact_survival_amplitude(model, state.product_amplitudes, times)
        if model.num_qubits <= settings.max_reference_qubits:
            exact_ldos = exact_local_spectrum(
                model, Statevector(state.circuit).data, max_qubits=settings.max_reference_qubits
            )
            if exact_amps is None:
                exact_amps = survival_amplitude_from_spectrum(*exact_ldos, times)
        else:
            log.info(
                "local state: no exact local spectrum above %d qubits "
                "(dosqpe.max_reference_qubits)",
                settings.max_reference_qubits,
            )
    except ResourceLimitError as exc:
        log.warning("local state: exact reference incomplete (%s)", exc)
    estimate = spectrum_from_amplitudes(
        run.amplitudes,
        choice.grid,
        centre=choice.centre,
        window=settings.window,
        zero_pad=settings.zero_pad,
    )
    return LocalDos(state, run, estimate, exact_amps, exact_ldos)


def same_model(a: IsingModel, b: IsingModel) -> bool:
    return (
        np.array_equal(a.z, b.z)
        and np.array_equal(a.x, b.x)
        and np.array_equal(a.zz_pairs, b.zz_pairs)
        and np.array_equal(a.zz, b.zz)
    )
