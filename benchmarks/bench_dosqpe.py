"""Timings of DOS-QPE (pytest-benchmark), each next to a quality figure.

Run with ``pytest benchmarks/bench_dosqpe.py --benchmark-only``; with ``--benchmark-disable`` each
benchmark runs once as a test. Aer runs on one thread. Models: prefixes of retail40, scenario A
(:mod:`qrspps.model.scenario`). Quality figures in ``extra_info`` (and asserted loosely, to catch a
broken build, not to grade accuracy):

- one Trotter step: ``|A_trotter(dt) - A_exact(dt)|`` of a trace-estimator state against the
  structured solver;
- a full DOS-QPE run at fixed ``N``: ``trotter_error``, ``dos_distance`` (Wasserstein-1, energy
  units), ``ground_energy_estimate_error`` and ``pcat_max_abs_error`` of the task itself.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402

from qrspps.dynamics.dosqpe import choose_grid, exact_range  # noqa: E402
from qrspps.dynamics.states import random_trace_states  # noqa: E402
from qrspps.dynamics.trotter import TimeGrid, TrotterEvolution  # noqa: E402
from qrspps.exact.spectral import exact_survival_amplitude  # noqa: E402
from qrspps.model.network import load_named_network  # noqa: E402
from qrspps.model.scenario import build_model, load_scenario  # noqa: E402
from qrspps.quantum.backend import SimulatorSettings  # noqa: E402

CONF = Path(__file__).resolve().parents[1] / "conf"
ONE_THREAD = {"max_parallel_threads": 1}


@pytest.mark.parametrize("nodes, method", [(12, "statevector"), (16, "matrix_product_state")])
def test_one_trotter_step(benchmark, nodes: int, method: str) -> None:
    """Circuit assembly and Aer run of one second-order step (grid of two samples)."""
    model = build_model(load_named_network("retail40").prefix(nodes), load_scenario("A"))
    choice = choose_grid(exact_range(model), 2)
    grid = TimeGrid(2, choice.grid.dt)
    evolution = TrotterEvolution(
        model, grid, order=2, settings=SimulatorSettings(method=method, **ONE_THREAD)
    )
    state = random_trace_states(model, 1, np.random.default_rng(0))[0]
    benchmark.group = f"one Trotter step, n={nodes}"
    (run,) = benchmark.pedantic(
        evolution.evolve, args=([(state.name, state.circuit)],), rounds=5, warmup_rounds=1
    )
    exact = exact_survival_amplitude(model, state.product_amplitudes, grid.times)
    error = float(np.abs(run.amplitudes - exact).max())
    benchmark.extra_info.update(
        num_qubits=nodes,
        method=method,
        dt=grid.dt,
        step_gates=evolution.step.circuit.size(),
        step_two_qubit_gates=evolution.step.two_qubit_gates,
        trotter_error_one_step=error,
    )
    assert error < 0.05


def test_full_dosqpe(benchmark) -> None:
    """The ``dosqpe`` task on the 12-node prefix: N = 32, 8 random states, mean-field state."""
    from qrspps.tasks.dosqpe import run

    network = yaml.safe_load((CONF / "network" / "retail40.yaml").read_text())
    network["nodes"] = 12
    policies = yaml.safe_load((CONF / "policies" / "default.yaml").read_text())
    policies["screen"] = ["no_intervention"]
    cfg = {
        "network": network,
        "scenario": yaml.safe_load((CONF / "scenario" / "A.yaml").read_text()),
        "policies": policies,
        "dosqpe": {"trotter_steps": 32, "random_states": 8, "order": 2,
                   "initial_state": "mean_field"},
        "simulator": {"method": "auto", **ONE_THREAD},
        "seed": 0,
    }
    benchmark.group = "full DOS-QPE, n=12, N=32"
    result = benchmark.pedantic(run, args=(cfg,), rounds=3, warmup_rounds=0)
    m = result.metrics
    benchmark.extra_info.update(
        {key: m[key] for key in ("num_qubits", "trotter_steps", "dt", "total_time", "aliased",
                                 "trotter_error", "dos_distance", "ldos_distance",
                                 "ground_energy_estimate_error", "pcat_max_abs_error",
                                 "dos_time_s")}
    )
    assert m["aliased"] == 0.0
    assert m["ground_energy_estimate_error"] < 0.1
