"""Task ``scaling``: measured cost of one configuration, the data points of the scaling report.

For the configured network size, ansatz depth and simulator (method, precision), measures:

- ``eval_time_s``: one energy evaluation through our structured path (best of ``repeats``);
- ``generic_eval_time_s``: the same through the preprint's path (Aer ``EstimatorV2`` on the full
  ``SparsePauliOp``), when ``task.options.compare_generic`` is true;
- ``gradient_time_s``: one batched parameter-shift gradient (``2 P`` states in one Aer call), when
  ``task.options.gradient`` is true (it costs ``2 P`` evaluations);
- ``vqe_time_s`` and the energy error of a full VQE, when ``task.options.full_vqe`` is true;
- ``exact_solver_time_s``: the exact solver on the same Hamiltonian;
- ``statevector_bytes`` (what a state vector of this size and precision holds), ``state_bytes``
  (what the chosen method holds), circuit depth and CNOT count.

All times are measured (value kind *simulated*); nothing here is extrapolated. A size that the
memory pre-flight refuses fails the job with the reason, which the report shows as a refusal.
``task.options``: ``repeats`` (default 3), ``compare_generic`` (default true up to 20 qubits),
``gradient`` (default false), ``full_vqe`` (default false).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from qrspps.exact.fallback import ground_state_with_fallback
from qrspps.harness.problem import build_problem
from qrspps.harness.result import TaskResult
from qrspps.quantum.ansatz import DEFAULT_DEPTH, build_ansatz
from qrspps.quantum.backend import AerBackend, SimulatorSettings, statevector_bytes
from qrspps.quantum.estimator import GenericEstimator, StructuredEstimator
from qrspps.quantum.gradients import parameter_shift_gradient
from qrspps.tasks.vqe import vqe_from_config

log = logging.getLogger(__name__)

#: Largest size at which the generic EstimatorV2 path is timed by default (it is the slow one).
GENERIC_DEFAULT_MAX_QUBITS = 20


def _best_time(fn, repeats: int) -> float:
    """Smallest wall time of ``repeats`` calls (s): the least disturbed by other load."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def run(cfg: Mapping[str, Any]) -> TaskResult:
    """Measure the costs listed in the module docstring for the configured problem."""
    start = time.perf_counter()
    options = dict((cfg.get("task") or {}).get("options") or {})
    repeats = int(options.get("repeats", 3))
    problem = build_problem(cfg)
    model = problem.model
    n = model.num_qubits
    ansatz_cfg = cfg.get("ansatz") or {}
    simulator = SimulatorSettings.from_mapping(cfg.get("simulator"))
    ansatz = build_ansatz(
        str(ansatz_cfg.get("name", "brickwork_ry")), n, int(ansatz_cfg.get("depth", DEFAULT_DEPTH))
    )
    backend = AerBackend(ansatz, simulator)  # runs the memory pre-flight
    estimator = StructuredEstimator(model, backend)
    rng = np.random.default_rng(int(cfg.get("seed", 0)))
    theta = rng.uniform(-np.pi, np.pi, ansatz.num_parameters)

    energy = estimator.energy(theta)  # warm-up: transpilation and the cached diagonal
    eval_time = _best_time(lambda: estimator.energy(theta), repeats)
    metrics: dict[str, float] = {
        "num_qubits": n,
        "num_parameters": ansatz.num_parameters,
        "ansatz_depth": ansatz.depth,
        "circuit_depth": ansatz.circuit.depth(),
        "cnot_count": ansatz.cnot_count(),
        "eval_time_s": eval_time,
        "statevector_bytes": statevector_bytes(n, simulator.precision),
        "state_bytes": int(backend.state_bytes),
    }

    if options.get("gradient", False):
        metrics["gradient_time_s"] = _best_time(
            lambda: parameter_shift_gradient(estimator, theta), 1
        )

    compare = options.get("compare_generic")
    if compare is None:
        compare = n <= GENERIC_DEFAULT_MAX_QUBITS
    if compare:
        generic = GenericEstimator(model, ansatz, simulator)
        generic_energy = generic.energy(theta)
        metrics["generic_eval_time_s"] = _best_time(lambda: generic.energy(theta), repeats)
        metrics["generic_speedup"] = metrics["generic_eval_time_s"] / eval_time
        # The two paths must agree on the number before their times mean anything.
        metrics["generic_energy_abs_diff"] = abs(generic_energy - energy)

    exact = ground_state_with_fallback(model)
    metrics["exact_energy"] = exact.energy
    metrics["exact_solver_time_s"] = exact.wall_time_s

    if options.get("full_vqe", False):
        vqe = vqe_from_config(problem, cfg, exact_energy=exact.energy)
        metrics.update(
            {
                "vqe_time_s": vqe.wall_time_s,
                "vqe_energy": vqe.energy,
                "energy_abs_error": float(vqe.abs_error),
                "energy_evaluations": vqe.evaluations,
            }
        )
    metrics["wall_time_s"] = time.perf_counter() - start
    log.info(
        "scaling: n = %d, %s (%s): %.4g s per energy evaluation",
        n,
        backend.method,
        simulator.precision,
        eval_time,
    )
    return TaskResult(
        metrics=metrics,
        tags={
            "method": backend.method,
            "precision": simulator.precision,
            "value_kind": "simulated (measured times); exact_*: exact",
        },
    )
