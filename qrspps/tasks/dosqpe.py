"""Task ``dosqpe``: DOS-QPE spectra, Boltzmann tail risk and the VIX reading, against exact answers.

For the scenario Hamiltonian and each selected policy (SPEC 3.5), :func:`qrspps.dynamics.dos_runs.
full_dos` gives the exact spectrum (*exact*), the time grid from the aliasing guard, the trace
estimator of the DOS from ``random_states`` Trotter runs on Aer (*simulated*, *sampled*), each
state's Trotter error against its exact survival amplitude, and the DOS distance; then ``P_cat(T)``
exact and estimated on the temperature grid and at the VIX levels. For the scenario Hamiltonian
only: the local DOS of ``initial_state`` (``vqe``, ``mean_field`` or ``random``), its ``E0``
estimate, and the per-node stress along the evolution (cascade heat map).

Metrics (besides SPEC 4.1's ``num_qubits``, ``trotter_error``, ``dos_distance``, ``aliased``,
``pcat_max_abs_error``, ``wall_time_s``):

- ``trotter_error``: ``max_k |A_trotter(t_k) - A_exact(t_k)|`` over every evolved state with an
  exact reference (``_local`` and ``_random`` separately);
- ``dos_distance`` / ``ldos_distance``: Wasserstein-1 (energy units) between the estimated
  (clipped, restricted to the spectral range) and the exact DOS / local DOS; per policy
  ``dos_distance__<policy>``. Its two parts for the scenario Hamiltonian:
  ``dos_distance_exact_evolution`` (the same estimator fed the exact amplitudes of the same random
  states: sampling and resolution, which more Trotter steps cannot remove) and
  ``dos_distance_trotter_part`` (Trotter estimate against that exact-evolution estimate). With
  the Haar or classical-bit trace states the first is a sampling floor: on the 16-node prefix,
  scenario A, 16 Haar states gave 0.68, 0.52, 0.51, 0.52 at ``N = 8, 32, 128, 256``. The default
  ``equator`` states on a state vector carry no sampling error for single-node clusters
  (:mod:`qrspps.dynamics.states`), so what remains is the resolution ``2 pi / T_max`` and the
  Trotter error, and both fall with ``N`` on the automatic grid (12-node prefix: 0.23, 0.10, 0.049,
  0.035);
- ``ground_energy_estimate_error``: ``|lowest strong LDOS peak - E0|``;
- ``aliased``: 1 if any Hamiltonian's grid aliases (per policy ``aliased__<policy>``), judged
  against the guard's spectral range: exact by default; with ``range_source=bound`` (or when the
  exact solver refuses) it means "may alias" (tag ``spectral_range_source``);
- ``pcat_max_abs_error``: largest ``|P_cat estimate - P_cat exact|`` over the temperature grid, the
  VIX temperatures and the Hamiltonians; ``pcat_max_rel_error`` the same relative to the exact
  value where that is ``>= PCAT_REL_FLOOR``. A Hamiltonian whose exact spectrum has too many
  distinct levels to list gets a rigorous upper bound ``U`` on ``P_cat`` from partition functions
  instead (:func:`qrspps.risk.tailrisk.catastrophe_probability_bound`); its error term is then the
  certified ``max(estimate, |U - estimate|)``, and the tag ``pcat_bounded`` names it;
- ``dt``, ``total_time``, ``nyquist_energy`` (``pi/dt``), ``spectral_width``, ``energy_resolution``
  of the scenario grid; ``dos_time_s`` (Trotter runs and FFTs), ``exact_time_s``, ``vqe_time_s``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from qrspps.dynamics.cascade import CascadeTrace, cascade_heatmap, cascade_trace
from qrspps.dynamics.dos_runs import (
    FullDos,
    LocalDos,
    full_dos,
    local_dos,
    pcat_curve,
    prepare_initial_state,
    same_model,
)
from qrspps.dynamics.dosqpe import (
    bin_spectrum,
    characteristic_function_estimate,
    lowest_peak_energy,
    spectrum_distance,
)
from qrspps.dynamics.plots import amplitude_figure, spectrum_figure, tail_risk_figure
from qrspps.dynamics.settings import DosqpeSettings
from qrspps.errors import ResourceLimitError
from qrspps.exact.spectral import exact_characteristic_function
from qrspps.harness.problem import Problem, build_problem
from qrspps.harness.result import TaskResult
from qrspps.quantum.backend import SimulatorSettings
from qrspps.risk.tailrisk import TailRiskCurve, vix_rows, vix_to_temperature

log = logging.getLogger(__name__)

#: ``pcat_max_rel_error`` looks only at temperatures where the exact ``P_cat`` reaches this: below
#: it both values are "practically zero" and their ratio says nothing about the estimate.
PCAT_REL_FLOOR = 1e-6


@dataclass
class _Outcome:
    """Everything the task computed, before it becomes metrics, tables and figures."""

    problem: Problem
    settings: DosqpeSettings
    all_dos: dict[str, FullDos]
    local: LocalDos
    cascade: CascadeTrace
    curves: dict[str, TailRiskCurve | None]
    vix_curves: dict[str, TailRiskCurve | None]
    chi: np.ndarray
    chi_stderr: np.ndarray
    chi_exact: np.ndarray | None
    exact_e0: float | None

    @property
    def scenario(self) -> FullDos:
        return self.all_dos["scenario"]

    @property
    def distinct(self) -> list[FullDos]:
        """Each DOS run once (policies equal to the scenario share its run)."""
        return list({id(d): d for d in self.all_dos.values()}.values())


def run(cfg: Mapping[str, Any]) -> TaskResult:
    """DOS-QPE, tail risk and cascade of the configured problem (module docstring).

    Args:
        cfg: resolved run config; reads ``network``, ``scenario``, ``policies``, ``dosqpe``,
            ``ansatz``, ``optimizer``, ``simulator`` and ``seed``.

    Raises:
        ConfigError: invalid settings, or an aliasing grid with ``dosqpe.aliasing=refuse``.
        ResourceLimitError: a state-vector run that does not fit in memory.
    """
    started = time.perf_counter()
    problem = build_problem(cfg)
    model = problem.model
    settings = DosqpeSettings.from_mapping(cfg.get("dosqpe"))
    simulator = SimulatorSettings.from_mapping(cfg.get("simulator"))
    seed = int(cfg.get("seed", 0))
    # Independent streams: 0 scenario states, 1 local state, 2 + k policy k's states.
    streams = np.random.SeedSequence(seed).spawn(2 + len(problem.policies))
    log.info("dosqpe task: %d qubits, seed %d, %s", model.num_qubits, seed, settings)

    scenario = full_dos("scenario", model, settings, simulator, np.random.default_rng(streams[0]))
    all_dos = {"scenario": scenario}
    for k, pid in enumerate(problem.policies):
        pmodel = problem.policy_model(pid)
        all_dos[pid] = (
            scenario
            if same_model(pmodel, model)
            else full_dos(pid, pmodel, settings, simulator, np.random.default_rng(streams[2 + k]))
        )

    exact_e0 = None if scenario.exact_spectrum is None else float(scenario.exact_spectrum[0][0])
    state, state_tags, vqe_energy, vqe_time = prepare_initial_state(
        model, cfg, settings, np.random.default_rng(streams[1]), exact_e0
    )
    local_started = time.perf_counter()
    local = local_dos(model, state, scenario.choice, settings, simulator)
    local_time = time.perf_counter() - local_started
    cascade = cascade_trace(
        local.run.times, local.run.stress, problem.network.labels, model.quantum_nodes
    )

    pcat = settings.pcat
    temps = np.array(sorted(pcat.temperatures))
    vix_temps = vix_to_temperature(np.array(pcat.vix_levels), pcat.vix_ref)
    chi, chi_stderr = characteristic_function_estimate(scenario.amplitudes)
    try:
        chi_exact = exact_characteristic_function(model, scenario.choice.grid.times)
    except ResourceLimitError as exc:
        log.warning("no exact characteristic function (%s)", exc)
        chi_exact = None
    outcome = _Outcome(
        problem,
        settings,
        all_dos,
        local,
        cascade,
        {name: pcat_curve(d, temps, pcat) for name, d in all_dos.items()},
        {name: pcat_curve(d, vix_temps, pcat) for name, d in all_dos.items()},
        chi,
        chi_stderr,
        chi_exact,
        exact_e0,
    )

    metrics = _metrics(outcome)
    metrics.update(
        dos_time_s=sum(d.trotter_time_s for d in outcome.distinct) + local_time,
        exact_time_s=sum(d.exact_time_s for d in outcome.distinct),
        vqe_time_s=vqe_time,
        wall_time_s=time.perf_counter() - started,
    )
    if vqe_energy is not None:
        metrics["vqe_energy"] = vqe_energy
    log.info(
        "dosqpe task: trotter_error %.3g, dos_distance %.4g, E0 error %.4g, aliased %d, "
        "pcat_max_abs_error %.3g, %.1f s",
        metrics["trotter_error"],
        metrics["dos_distance"],
        metrics["ground_energy_estimate_error"],
        metrics["aliased"],
        metrics["pcat_max_abs_error"],
        metrics["wall_time_s"],
    )
    return TaskResult(
        metrics=metrics,
        series={"survival_amplitude_abs": np.abs(local.run.amplitudes).tolist()},
        tags={**state_tags, **_tags(outcome)},
        tables=_tables(outcome),
        figures=_figures(outcome, metrics["ground_energy_estimate"]),
    )


# --------------------------------------------------------------------------- reporting


def _nanmax(values: list[float]) -> float:
    finite = [v for v in values if np.isfinite(v)]
    return float(max(finite)) if finite else float("nan")


def _pcat_errors(out: _Outcome) -> tuple[dict[str, float], dict[str, float]]:
    """Per Hamiltonian: max absolute error, max relative error (where exact >= the floor)."""
    absolute: dict[str, float] = {}
    relative: dict[str, float] = {}
    for name, curve in out.curves.items():
        if curve is None:
            continue
        if curve.exact_is_bound:
            # abs_error is then a certified bound on the error; no relative error is known.
            absolute[name] = _nanmax(
                [float(np.max(curve.abs_error)), float(np.max(out.vix_curves[name].abs_error))]
            )
            continue
        pairs = [
            (curve.exact, curve.estimate),
            (out.vix_curves[name].exact, out.vix_curves[name].estimate),
        ]
        absolute[name] = _nanmax([float(np.max(np.abs(e - x))) for x, e in pairs])
        rel = [np.abs(e - x)[x >= PCAT_REL_FLOOR] / x[x >= PCAT_REL_FLOOR] for x, e in pairs]
        relative[name] = _nanmax([float(r.max()) for r in rel if len(r)])
    return absolute, relative


def _metrics(out: _Outcome) -> dict[str, float]:
    scen, local = out.scenario, out.local
    choice = scen.choice
    srange = choice.spectral_range
    # With random states only, the lowest strong peak of the full DOS is all there is.
    e0_source = local.estimate if out.settings.initial_state != "random" else scen.estimate
    e0_estimate = lowest_peak_energy(e0_source)
    pcat_abs, pcat_rel = _pcat_errors(out)
    ldos_distance = float("nan")
    if local.exact_spectrum is not None:
        ldos_distance = spectrum_distance(
            *local.estimate.nonnegative(srange.lower, srange.upper), *local.exact_spectrum
        )

    metrics: dict[str, float] = {
        "num_qubits": out.problem.model.num_qubits,
        "trotter_steps": choice.grid.steps,
        "dt": choice.grid.dt,
        "total_time": choice.grid.total_time,
        "nyquist_energy": choice.nyquist,
        "spectral_width": srange.width,
        "energy_resolution": scen.estimate.resolution,
        "aliased": float(any(d.choice.aliased for d in out.distinct)),
        "trotter_error": _nanmax([local.trotter_error] + [d.trotter_error for d in out.distinct]),
        "trotter_error_local": local.trotter_error,
        "trotter_error_random": _nanmax([d.trotter_error for d in out.distinct]),
        "dos_distance": scen.dos_distance,
        "dos_distance_exact_evolution": scen.dos_distance_exact_evolution,
        "dos_distance_trotter_part": scen.dos_distance_trotter_part,
        "ldos_distance": ldos_distance,
        "ground_energy_estimate": e0_estimate,
        "ground_energy_estimate_error": (
            float("nan") if out.exact_e0 is None else abs(e0_estimate - out.exact_e0)
        ),
        "pcat_max_abs_error": _nanmax(list(pcat_abs.values())),
        "pcat_max_rel_error": _nanmax(list(pcat_rel.values())),
        "chi_max_abs_error": (
            float("nan") if out.chi_exact is None else float(np.abs(out.chi - out.chi_exact).max())
        ),
        "chi_max_stderr": float(out.chi_stderr.max()),
        "random_states": out.settings.random_states,
        "cascade_nodes_changed": len(out.cascade.changed_nodes()),
        "cascade_max_swing": float(out.cascade.swing.max()),
    }
    if out.exact_e0 is not None:
        metrics["exact_energy"] = out.exact_e0
    if local.run.max_bond_dimension is not None:
        metrics["mps_max_bond_dimension"] = local.run.max_bond_dimension
    for name, d in out.all_dos.items():
        if name == "scenario":
            continue
        metrics[f"dos_distance__{name}"] = d.dos_distance
        metrics[f"aliased__{name}"] = float(d.choice.aliased)
        if name in pcat_abs:
            metrics[f"pcat_max_abs_error__{name}"] = pcat_abs[name]
    return metrics


_TRACE_STATE_WORDS = {
    "classical_bits": "uniform bits on unshocked nodes, Haar qubits on shocked nodes",
    "haar": "a Haar qubit on every node",
    "equator": "equator qubits: random phases on unshocked nodes, Y eigenstates on shocked ones",
}


def _tags(out: _Outcome) -> dict[str, str]:
    choice = out.scenario.choice
    s = out.settings
    tags = {
        "method": out.local.run.method,
        "trotter_order": str(s.order),
        "window": s.window,
        "aliasing": s.aliasing,
        "grid": "automatic" if choice.automatic else "configured",
        "spectral_range_source": choice.spectral_range.source,
        "dos_estimator": (
            f"trace estimator: mean of A(t) over {s.random_states} random product states "
            f"({_TRACE_STATE_WORDS[out.scenario.trace_states]}); standard errors over the "
            "states; P_cat standard errors by jackknife"
        ),
        "trace_states": out.scenario.trace_states,
        "pcat_bounded": ",".join(
            sorted(n for n, c in out.curves.items() if c is not None and c.exact_is_bound)
        )
        or "none",
        "auto_reference_steps": str(s.auto_reference_steps),
        "value_kind": (
            "A(t), DOS, LDOS, E0 estimate, stress(t): simulated (Aer Trotter circuits); DOS, chi, "
            "P_cat estimate: also sampled (random states); exact_*, P_cat exact, references of "
            "trotter_error and *_distance: exact"
        ),
    }
    aliased = [name for name, d in out.all_dos.items() if d.choice.aliased]
    if aliased:
        tags["aliasing_warning"] = (
            f"grid aliases for {', '.join(aliased)}: scenario pi/dt = {choice.nyquist:.4g}, "
            f"spectrum reaches {choice.reach:.4g} from the centre"
        )
    if out.local.exact_amplitudes is None:
        tags["local_reference"] = "unavailable"
    return tags


def _tables(out: _Outcome) -> dict[str, list[dict[str, Any]]]:
    """Result tables (value kinds as in the ``value_kind`` tag)."""
    vix_ref = out.settings.pcat.vix_ref
    vix_table: list[dict[str, Any]] = []
    curve_table: list[dict[str, Any]] = []
    for name, curve in out.vix_curves.items():
        if curve is not None:
            vix_table += vix_rows(name, curve, vix_ref)
            curve_table += vix_rows(name, out.curves[name], vix_ref)

    spectrum_rows: list[dict[str, Any]] = []
    grid_rows: list[dict[str, Any]] = []
    for name, d in out.all_dos.items():
        est = d.estimate
        binned = None if d.exact_spectrum is None else bin_spectrum(*d.exact_spectrum, est.energies)
        spectrum_rows += [
            {
                "hamiltonian": name,
                "energy": float(est.energies[i]),
                "weight_estimate": float(est.weights[i]),
                "weight_stderr": float(est.stderr[i]),
                "weight_exact_binned": None if binned is None else float(binned[i]),
            }
            for i in range(len(est.energies))
        ]
        c = d.choice
        grid_rows.append(
            {
                "hamiltonian": name,
                "steps": c.grid.steps,
                "dt": c.grid.dt,
                "total_time": c.grid.total_time,
                "nyquist_energy": c.nyquist,
                "centre": c.centre,
                "range_lower": c.spectral_range.lower,
                "range_upper": c.spectral_range.upper,
                "range_source": c.spectral_range.source,
                "automatic": c.automatic,
                "aliased": c.aliased,
                "trotter_error": d.trotter_error,
                "dos_distance": d.dos_distance,
            }
        )

    run, exact = out.local.run, out.local.exact_amplitudes
    amplitude_rows = [
        {
            "t": float(t),
            "local_re": float(run.amplitudes[k].real),
            "local_im": float(run.amplitudes[k].imag),
            "local_exact_re": None if exact is None else float(exact[k].real),
            "local_exact_im": None if exact is None else float(exact[k].imag),
            "chi_estimate_re": float(out.chi[k].real),
            "chi_estimate_im": float(out.chi[k].imag),
            "chi_stderr": float(out.chi_stderr[k]),
            "chi_exact_re": None if out.chi_exact is None else float(out.chi_exact[k].real),
            "chi_exact_im": None if out.chi_exact is None else float(out.chi_exact[k].imag),
        }
        for k, t in enumerate(run.times)
    ]
    ldos = out.local.estimate
    return {
        "vix": vix_table,
        "pcat_curve": curve_table,
        "dos_spectrum": spectrum_rows,
        "ldos_spectrum": [
            {"energy": float(e), "weight": float(w)} for e, w in zip(ldos.energies, ldos.weights)
        ],
        "dos_grid": grid_rows,
        "survival_amplitude": amplitude_rows,
        "cascade": out.cascade.table(),
    }


def _figures(out: _Outcome, e0_estimate: float) -> dict[str, Any]:
    scen, local = out.scenario, out.local
    srange = scen.choice.spectral_range
    binned = (
        None
        if scen.exact_spectrum is None
        else bin_spectrum(*scen.exact_spectrum, scen.estimate.energies)
    )
    figures: dict[str, Any] = {
        "survival_amplitude": amplitude_figure(
            local.run.times,
            local.run.amplitudes,
            local.exact_amplitudes,
            out.chi,
            out.chi_stderr,
            out.chi_exact,
            local_name=local.state.name,
        ),
        "dos": spectrum_figure(
            scen.estimate,
            binned,
            local.estimate,
            exact_e0=out.exact_e0,
            e0_estimate=e0_estimate,
            spectral_range=(srange.lower, srange.upper),
            local_name=local.state.name,
        ),
        "cascade": cascade_heatmap(out.cascade),
    }
    # The scenario curve duplicates no_intervention whenever that policy is selected.
    shown = {n: c for n, c in out.curves.items() if c is not None and n != "scenario"}
    if not shown and out.curves.get("scenario") is not None:
        shown = {"scenario": out.curves["scenario"]}
    if shown:
        figures["pcat"] = tail_risk_figure(
            shown, vix_ref=out.settings.pcat.vix_ref, f=out.settings.pcat.f
        )
    return figures
