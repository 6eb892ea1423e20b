"""Task ``vqe``: the variational ground state on Aer against the exact one, and dP vs Monte Carlo.

For the configured network and scenario: the exact ground state
(:func:`qrspps.exact.structured.exact_ground_state`, value kind *exact*), one VQE run
(:func:`qrspps.quantum.vqe.run_vqe` with the ``ansatz``, ``optimizer`` and ``simulator`` groups,
*simulated*), the per-node stress of both, and the published cascade Monte Carlo
(:mod:`qrspps.risk.montecarlo`, *sampled*) with ``dP`` for the VQE state and for the exact ground
state.

``optimizer.init`` accepts ``random`` (the published uniform angles) and ``mean_field`` (a classical
product-state warm start; see :mod:`qrspps.quantum.vqe`). The exact energy is used only to report
errors, never by the optimiser.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from qrspps.errors import ResourceLimitError
from qrspps.exact.fallback import ground_state_with_fallback
from qrspps.exact.structured import GroundStateResult
from qrspps.harness.problem import Problem, build_problem
from qrspps.harness.result import TaskResult
from qrspps.quantum.ansatz import DEFAULT_DEPTH
from qrspps.quantum.backend import SimulatorSettings
from qrspps.quantum.vqe import OptimizerSettings, VQEResult, run_vqe
from qrspps.risk.montecarlo import compare_stress
from qrspps.tasks.montecarlo import (
    comparison_metrics,
    delta_p_figure,
    montecarlo_from_config,
    montecarlo_table,
    randomness_tag,
    threshold_from_config,
)

log = logging.getLogger(__name__)


def vqe_from_config(
    problem: Problem, cfg: Mapping[str, Any], *, exact_energy: float | None = None
) -> VQEResult:
    """Run the VQE of ``problem`` with the ``ansatz``, ``optimizer``, ``simulator`` and ``seed``."""
    ansatz = cfg.get("ansatz") or {}
    return run_vqe(
        problem.model,
        depth=int(ansatz.get("depth", DEFAULT_DEPTH)),
        ansatz_name=str(ansatz.get("name", "brickwork_ry")),
        optimizer=OptimizerSettings.from_mapping(cfg.get("optimizer")),
        simulator=SimulatorSettings.from_mapping(cfg.get("simulator")),
        seed=int(cfg.get("seed", 0)),
        exact_energy=exact_energy,
        qubit_order=str(ansatz.get("qubit_order", "natural")),
    )


def stress_figure(problem: Problem, vqe: VQEResult, exact: GroundStateResult | None) -> Figure:
    """Per-node stress of the VQE state beside the exact ground state's."""
    network = problem.network
    fig = Figure(figsize=(max(6.0, 0.22 * network.num_nodes + 2.0), 4.0), layout="constrained")
    ax = fig.add_subplot()
    x = np.arange(network.num_nodes)
    if exact is None:
        ax.bar(x, vqe.stress, 0.8, label=f"VQE (simulated), E = {vqe.energy:.8g}")
    else:
        ax.bar(x - 0.2, vqe.stress, 0.4, label=f"VQE (simulated), E = {vqe.energy:.8g}")
        ax.bar(x + 0.2, exact.stress, 0.4, label=f"exact ground state, E0 = {exact.energy:.8g}")
    ax.set_xticks(x, network.labels, rotation=90, fontsize=7)
    ax.set_ylim(0.0, 1.05)
    ax.set_ylabel("P(stressed) = <(1 - Z_i)/2>")
    ax.set_title(
        f"{network.name}, scenario {problem.scenario.name}: VQE ({vqe.method}, "
        f"{vqe.optimizer}, init {vqe.init}) vs exact",
        fontsize=9,
    )
    fig.legend(loc="outside lower center", ncols=2, fontsize=7)
    return fig


def run(cfg: Mapping[str, Any]) -> TaskResult:
    """VQE of the configured problem, its errors against the exact answer, and dP vs Monte Carlo.

    Args:
        cfg: resolved run config; reads ``network``, ``scenario``, ``policies``, ``ansatz``,
            ``optimizer``, ``simulator``, ``montecarlo`` and ``seed``.

    Raises:
        ResourceLimitError: the state vector does not fit (the message names the option that does).
        ConfigError: for invalid optimiser or simulator settings.
    """
    start = time.perf_counter()
    problem = build_problem(cfg)
    model = problem.model
    labels = problem.network.labels

    exact: GroundStateResult | None
    try:
        exact = ground_state_with_fallback(model)
    except ResourceLimitError as exc:
        # The VQE still runs; its errors are then unknown and reported as such.
        log.warning("no exact reference: %s", exc)
        exact = None

    vqe = vqe_from_config(problem, cfg, exact_energy=None if exact is None else exact.energy)

    threshold = threshold_from_config(cfg)
    mc = montecarlo_from_config(problem, cfg)
    vqe_cmp = compare_stress(vqe.stress, mc.failure_probability, labels, threshold=threshold)
    exact_cmp = (
        None
        if exact is None
        else compare_stress(exact.stress, mc.failure_probability, labels, threshold=threshold)
    )

    metrics: dict[str, float] = {
        "num_qubits": vqe.num_qubits,
        "num_parameters": vqe.num_parameters,
        "vqe_energy": vqe.energy,
        "energy_evaluations": vqe.evaluations,
        "function_evaluations": vqe.function_evaluations,
        "gradient_evaluations": vqe.gradient_evaluations,
        "iterations": vqe.iterations,
        "restarts_run": len(vqe.restart_energies),
        "vqe_wall_time_s": vqe.wall_time_s,
        "eval_time_s": vqe.eval_time_s,
        "statevector_bytes": vqe.statevector_bytes,
        "state_bytes": vqe.state_bytes,
        "vqe_mean_stress": float(np.mean(vqe.stress)),
        "mc_samples": mc.samples,
        "mc_wall_time_s": mc.wall_time_s,
    }
    if exact is not None:
        metrics.update(
            {
                "exact_energy": exact.energy,
                "energy_abs_error": float(vqe.abs_error),
                "energy_rel_error": float(vqe.rel_error),
                "stress_max_abs_error": float(np.max(np.abs(vqe.stress - exact.stress))),
                "exact_solver_time_s": exact.wall_time_s,
            }
        )
        metrics.update(comparison_metrics(exact_cmp, "_exact"))
    if vqe.mean_field_energy is not None:
        metrics["mean_field_energy"] = vqe.mean_field_energy
    metrics.update(comparison_metrics(vqe_cmp))
    metrics["wall_time_s"] = time.perf_counter() - start

    tags = {
        "method": vqe.method,
        "optimizer": vqe.optimizer,
        "init": vqe.init,
        "termination_reason": vqe.termination_reason[:250],
        "mc_max_delta_node": vqe_cmp.max_label,
        "mc_randomness": randomness_tag(cfg),
        "value_kind": (
            "vqe_energy, stress: simulated (Aer, exact expectation values); exact_energy: exact; "
            "mc_*: sampled; statevector_bytes: computed 16|8 * 2**n (for MPS runs what a state "
            "vector would need, not allocated)"
        ),
    }
    if exact is None:
        tags["exact_reference"] = "unavailable (structured solver refused the size)"

    stress_rows = []
    for node in problem.network.nodes:
        stress_rows.append(
            {
                "node": node.id,
                "label": node.label,
                "tier": node.tier,
                "P_vqe": float(vqe.stress[node.id]),
                "P_exact": None if exact is None else float(exact.stress[node.id]),
            }
        )
    comparisons = {"VQE state": vqe_cmp}
    if exact_cmp is not None:
        comparisons["exact ground state"] = exact_cmp

    log.info(
        "vqe task: E = %.10f, exact %s, |dP| > %g on %d nodes (max %.3f at %s), %.1f s",
        vqe.energy,
        None if exact is None else f"{exact.energy:.10f}",
        threshold,
        vqe_cmp.count,
        vqe_cmp.max_abs_delta,
        vqe_cmp.max_label,
        metrics["wall_time_s"],
    )
    return TaskResult(
        metrics=metrics,
        series={"vqe_energy_trace": list(vqe.energy_trace)},
        tags=tags,
        tables={
            "stress": stress_rows,
            "montecarlo": montecarlo_table(problem, mc, vqe_cmp, exact_cmp),
            "restarts": [{"start": r, "energy": e} for r, e in enumerate(vqe.restart_energies)],
        },
        figures={
            "stress": stress_figure(problem, vqe, exact),
            "delta_p": delta_p_figure(problem, threshold, comparisons),
        },
        texts={"summary.md": _summary(problem, vqe, exact)},
    )


def _summary(problem: Problem, vqe: VQEResult, exact: GroundStateResult | None) -> str:
    lines = [
        f"# VQE: {problem.network.name}, scenario {problem.scenario.name}",
        "",
        f"- qubits {vqe.num_qubits}, parameters {vqe.num_parameters}, method {vqe.method}, "
        f"optimizer {vqe.optimizer} (init {vqe.init}, {len(vqe.restart_energies)} starts)",
        f"- VQE energy {vqe.energy:.12g} (simulated)",
    ]
    if exact is not None:
        lines.append(
            f"- exact ground energy {exact.energy:.12g} (exact); error "
            f"{vqe.abs_error:.3e} (relative {vqe.rel_error:.3e})"
        )
    lines += [
        f"- {vqe.evaluations} energy evaluations, {vqe.iterations} iterations, "
        f"{vqe.wall_time_s:.1f} s; one evaluation {vqe.eval_time_s * 1e3:.2f} ms",
        f"- termination: {vqe.termination_reason}",
    ]
    return "\n".join(lines) + "\n"
