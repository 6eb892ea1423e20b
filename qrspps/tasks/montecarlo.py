"""Task ``montecarlo``: the published cascade Monte Carlo baseline and dP against quantum stress.

What it computes for the configured network and scenario (SPEC 3.3):

* ``P_MC`` per node from :func:`qrspps.risk.montecarlo.run_montecarlo` with the ``montecarlo``
  group (samples, base failure probability, propagation factor) and the run's ``seed``
  (value kind: *sampled*).
* ``dP = P_quantum - P_MC`` against the exact ground-state stress from
  :func:`qrspps.exact.structured.exact_ground_state` (whenever the exact solver accepts the size;
  otherwise tag ``exact_reference`` says so and the exact metrics are absent), and against
  the VQE state's stress when a VQE run is cheap: ``task.options.with_vqe`` = ``auto`` (default:
  only up to :data:`AUTO_VQE_MAX_QUBITS` qubits, where a state-vector VQE takes seconds), ``always``
  or ``never``. The VQE uses the ``ansatz``, ``optimizer`` and ``simulator`` groups; for the VQE
  run with all its metrics use ``task=vqe``, which reports the same dP figures.

Metrics: ``mc_nodes_above_threshold_exact`` and ``mc_max_abs_delta_p_exact`` for the exact
ground state; ``mc_nodes_above_threshold`` and ``mc_max_abs_delta_p`` for the VQE state when it
ran, else for the exact ground state (tag ``mc_quantum_state`` says which). Setting
``montecarlo.redraw_each_sweep: false`` (not in the published baseline) switches to one random
draw per edge (:mod:`qrspps.risk.montecarlo`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from qrspps.errors import ConfigError, ResourceLimitError
from qrspps.exact.fallback import ground_state_with_fallback
from qrspps.harness.problem import Problem, build_problem
from qrspps.harness.result import TaskResult
from qrspps.risk.montecarlo import (
    DEFAULT_BASE_FAILURE_PROBABILITY,
    DEFAULT_PROPAGATION_FACTOR,
    DEFAULT_SAMPLES,
    DEFAULT_THRESHOLD,
    CascadeComparison,
    MonteCarloResult,
    compare_stress,
    run_montecarlo,
)

log = logging.getLogger(__name__)

#: ``with_vqe=auto`` runs the VQE only up to this many qubits.
AUTO_VQE_MAX_QUBITS = 12
WITH_VQE_CHOICES = ("auto", "always", "never")


def montecarlo_from_config(problem: Problem, cfg: Mapping[str, Any]) -> MonteCarloResult:
    """Run the cascade Monte Carlo with the ``montecarlo`` group and ``seed`` of ``cfg``."""
    mc = cfg.get("montecarlo") or {}
    return run_montecarlo(
        problem.network,
        problem.model,
        samples=int(mc.get("samples", DEFAULT_SAMPLES)),
        base_failure_probability=float(
            mc.get("base_failure_probability", DEFAULT_BASE_FAILURE_PROBABILITY)
        ),
        propagation_factor=float(mc.get("propagation_factor", DEFAULT_PROPAGATION_FACTOR)),
        redraw_each_sweep=bool(mc.get("redraw_each_sweep", True)),
        seed=int(cfg.get("seed", 0)),
    )


def threshold_from_config(cfg: Mapping[str, Any]) -> float:
    return float((cfg.get("montecarlo") or {}).get("threshold", DEFAULT_THRESHOLD))


def montecarlo_table(
    problem: Problem,
    mc: MonteCarloResult,
    vqe_cmp: CascadeComparison | None,
    exact_cmp: CascadeComparison | None,
) -> list[dict[str, Any]]:
    """Rows ``node, label, tier, P_mc, P_mc_stderr, dP_vqe, dP_exact`` (None where not computed)."""
    rows = []
    for node in problem.network.nodes:
        i = node.id
        rows.append(
            {
                "node": i,
                "label": node.label,
                "tier": node.tier,
                "P_mc": float(mc.failure_probability[i]),
                "P_mc_stderr": float(mc.standard_error[i]),
                "dP_vqe": None if vqe_cmp is None else float(vqe_cmp.delta[i]),
                "dP_exact": None if exact_cmp is None else float(exact_cmp.delta[i]),
            }
        )
    return rows


def delta_p_figure(
    problem: Problem,
    threshold: float,
    comparisons: Mapping[str, CascadeComparison],
) -> Figure:
    """Bar chart of ``dP = P_quantum - P_MC`` per node and quantum state, with the threshold."""
    network = problem.network
    fig = Figure(figsize=(max(6.0, 0.22 * network.num_nodes + 2.0), 4.0), layout="constrained")
    ax = fig.add_subplot()
    x = np.arange(network.num_nodes)
    width = 0.8 / max(1, len(comparisons))
    for k, (name, cmp) in enumerate(comparisons.items()):
        ax.bar(
            x + (k - (len(comparisons) - 1) / 2) * width,
            cmp.delta,
            width,
            label=f"{name}: {cmp.count} nodes |dP| > {threshold:g}, max {cmp.max_abs_delta:.3f} "
            f"({cmp.max_label})",
        )
    for sign in (1, -1):
        ax.axhline(sign * threshold, color="grey", lw=0.8, ls="--")
    ax.axhline(0.0, color="black", lw=0.6)
    ax.set_xticks(x, network.labels, rotation=90, fontsize=7)
    ax.set_ylim(-1.05, 1.05)
    ax.set_ylabel("dP = P_quantum - P_MC")
    ax.set_title(
        f"{network.name}, scenario {problem.scenario.name}: quantum stress minus "
        "cascade Monte Carlo (sampled)",
        fontsize=9,
    )
    fig.legend(loc="outside lower center", ncols=2, fontsize=7)
    return fig


def randomness_tag(cfg: Mapping[str, Any]) -> str:
    redraw = bool((cfg.get("montecarlo") or {}).get("redraw_each_sweep", True))
    return "fresh draw per edge per sweep (published)" if redraw else "one draw per edge"


def comparison_metrics(cmp: CascadeComparison, suffix: str = "") -> dict[str, float]:
    return {
        f"mc_nodes_above_threshold{suffix}": cmp.count,
        f"mc_max_abs_delta_p{suffix}": cmp.max_abs_delta,
    }


def run(cfg: Mapping[str, Any]) -> TaskResult:
    """Cascade Monte Carlo and dP of the configured problem.

    Args:
        cfg: resolved run config; reads ``network``, ``scenario``, ``policies``, ``montecarlo``,
            ``seed``, ``task.options.with_vqe`` and, for the VQE, ``ansatz``, ``optimizer`` and
            ``simulator``.

    Raises:
        ConfigError: for an unknown ``with_vqe`` value or invalid Monte Carlo parameters.
    """
    start = time.perf_counter()
    problem = build_problem(cfg)
    model = problem.model
    labels = problem.network.labels
    threshold = threshold_from_config(cfg)
    options = (cfg.get("task") or {}).get("options") or {}
    with_vqe = str(options.get("with_vqe", "auto"))
    if with_vqe not in WITH_VQE_CHOICES:
        raise ConfigError(
            f"task.options.with_vqe must be one of {WITH_VQE_CHOICES}, was {with_vqe!r}"
        )

    mc = montecarlo_from_config(problem, cfg)
    metrics: dict[str, float] = {
        "num_qubits": model.num_qubits,
        "mc_samples": mc.samples,
        "mc_max_sweeps": mc.max_sweeps,
        "mc_mean_sweeps": mc.mean_sweeps,
        "mc_wall_time_s": mc.wall_time_s,
        "mc_mean_failure_probability": float(np.mean(mc.failure_probability)),
        "mc_max_standard_error": float(np.max(mc.standard_error)),
    }
    tags = {
        "mc_randomness": randomness_tag(cfg),
        "value_kind": "mc_*: sampled (P_MC with standard errors); dP_exact: exact minus sampled; "
        "dP_vqe: simulated minus sampled",
    }
    comparisons: dict[str, CascadeComparison] = {}

    exact_energy = None
    exact_cmp = None
    try:
        ground = ground_state_with_fallback(model)
    except ResourceLimitError as exc:
        # P_MC is still worth recording; the exact side is reported as missing, not faked.
        log.warning("montecarlo task: no exact ground state (%s)", exc)
        tags["exact_reference"] = "unavailable (structured solver refused the size)"
    else:
        exact_energy = ground.energy
        exact_cmp = compare_stress(
            ground.stress, mc.failure_probability, labels, threshold=threshold
        )
        metrics["exact_energy"] = ground.energy
        metrics.update(comparison_metrics(exact_cmp, "_exact"))
        tags["mc_max_delta_node_exact"] = exact_cmp.max_label

    vqe_cmp = None
    if with_vqe == "always" or (with_vqe == "auto" and model.num_qubits <= AUTO_VQE_MAX_QUBITS):
        from qrspps.tasks.vqe import vqe_from_config

        vqe_result = vqe_from_config(problem, cfg, exact_energy=exact_energy)
        vqe_cmp = compare_stress(
            vqe_result.stress, mc.failure_probability, labels, threshold=threshold
        )
        comparisons["VQE state"] = vqe_cmp
        metrics["vqe_energy"] = vqe_result.energy
        if vqe_result.abs_error is not None:
            metrics["energy_abs_error"] = float(vqe_result.abs_error)
            metrics["energy_rel_error"] = float(vqe_result.rel_error)
        tags["method"] = vqe_result.method
    else:
        log.info(
            "montecarlo task: no VQE run (with_vqe=%s, %d qubits); dP uses the exact ground state",
            with_vqe,
            model.num_qubits,
        )
    if exact_cmp is not None:
        comparisons["exact ground state"] = exact_cmp

    primary = vqe_cmp or exact_cmp
    tags["mc_quantum_state"] = (
        "vqe" if vqe_cmp is not None else "exact_ground_state" if exact_cmp is not None else "none"
    )
    if primary is not None:
        metrics.update(comparison_metrics(primary))
        tags["mc_max_delta_node"] = primary.max_label
        log.info(
            "montecarlo: %d nodes |dP| > %g, max |dP| %.3f at %s (%s)",
            primary.count,
            threshold,
            primary.max_abs_delta,
            primary.max_label,
            tags["mc_quantum_state"],
        )
    metrics["wall_time_s"] = time.perf_counter() - start

    figures = {"delta_p": delta_p_figure(problem, threshold, comparisons)} if comparisons else {}
    return TaskResult(
        metrics=metrics,
        tags=tags,
        tables={"montecarlo": montecarlo_table(problem, mc, vqe_cmp, exact_cmp)},
        figures=figures,
        texts={"summary.md": _summary(problem, mc, comparisons, threshold)},
    )


def _summary(
    problem: Problem,
    mc: MonteCarloResult,
    comparisons: Mapping[str, CascadeComparison],
    threshold: float,
) -> str:
    lines = [
        f"# Cascade Monte Carlo: {problem.network.name}, scenario {problem.scenario.name}",
        "",
        f"- samples: {mc.samples} (sampled; largest standard error "
        f"{float(np.max(mc.standard_error)):.4f})",
        f"- sweeps per sample: mean {mc.mean_sweeps:.2f}, max {mc.max_sweeps}",
    ]
    for name, cmp in comparisons.items():
        lines.append(
            f"- {name}: {cmp.count} nodes with |dP| > {threshold:g}; max |dP| = "
            f"{cmp.max_abs_delta:.4f} at {cmp.max_label}"
        )
    return "\n".join(lines) + "\n"
