"""Timings of the exact references (pytest-benchmark), each next to a quality figure.

Run with ``pytest benchmarks/bench_exact.py --benchmark-only``; with ``--benchmark-disable`` every
benchmark runs once as a test. Models are seeded: generated tiered networks
(:func:`qrspps.model.generator.generate_network`) with the published signs
(:mod:`qrspps.conventions`) and transverse shocks ``-lambda X`` on about 3% of the nodes (always
including node 0, as in scenario A). Quality figures, recorded in ``extra_info`` and asserted:

- ground state: ``|E0 - block_ground_energy(configuration)|`` (the returned configuration must
  reach E0) and, where a sparse diagonalisation is affordable, the differences from it;
- thermal state: ``|<H> + d ln Z / d beta|`` with the derivative by a central difference of step
  ``1e-4`` (truncation error ~1e-8 * |d3 ln Z / d beta3|), and ``F <= E0 <= <H>``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import resource  # noqa: E402
import time  # noqa: E402
from functools import cache  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from qrspps.exact.dense import DenseGroundState, dense_ground_state  # noqa: E402
from qrspps.exact.structured import (  # noqa: E402
    block_ground_energy,
    exact_ground_state,
    exact_thermal,
)
from qrspps.model.generator import generate_network  # noqa: E402
from qrspps.model.ising import IsingModel  # noqa: E402
from qrspps.model.scenario import network_model  # noqa: E402

#: Exact methods agree to round-off on energies of O(n): 1e-9 absolute.
ATOL = 1e-9
BETA = 1.0
SHOCKED_FRACTION = 0.03


@cache
def shocked_network_model(num_nodes: int, seed: int = 0) -> IsingModel:
    """Generated network plus ``-lambda X`` on node 0 (1.5) and ~3% random nodes (0.4)."""
    network = generate_network(num_nodes, seed)
    rng = np.random.default_rng(seed)
    count = max(1, round(SHOCKED_FRACTION * num_nodes))
    shocked = {int(k): -0.4 for k in rng.choice(num_nodes, size=count, replace=False)}
    shocked[0] = -1.5
    return network_model(network) + IsingModel.from_terms(num_nodes, x=shocked)


@cache
def sparse_reference(num_nodes: int) -> DenseGroundState:
    """Sparse (ARPACK) diagonalisation, computed once per size for both benchmarks."""
    return dense_ground_state(shocked_network_model(num_nodes), max_dense_qubits=10)


def _thermal_derivative_error(model: IsingModel, energy: float, step: float = 1e-4) -> float:
    up = exact_thermal(model, BETA + step).log_partition_function
    down = exact_thermal(model, BETA - step).log_partition_function
    return abs(energy + (up - down) / (2 * step))


#: Generated network sizes of the full-scale cases (5000 nodes: ~2 s for E0, ~1 s for Z(beta)).
LARGE_SIZES = [40, 100, 1000, 5000]


def _peak_rss_bytes() -> int:
    """Peak resident memory of this process so far (Linux reports KiB): an upper bound on a
    case's own peak, since the benchmark process has run everything before it."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@pytest.mark.parametrize("num_nodes", LARGE_SIZES)
def test_exact_ground_state(benchmark, num_nodes: int) -> None:
    model = shocked_network_model(num_nodes)
    result = benchmark(exact_ground_state, model)
    residual = abs(block_ground_energy(model, result.configuration) - result.energy)
    benchmark.extra_info.update(
        num_qubits=num_nodes,
        exact_energy=result.energy,
        gap=result.gap,
        elimination_width=result.elimination_width,
        num_clusters=result.num_clusters,
        configuration_energy_residual=residual,
        process_peak_rss_bytes=_peak_rss_bytes(),
    )
    assert residual < ATOL


@pytest.mark.parametrize("num_nodes", LARGE_SIZES)
def test_exact_thermal(benchmark, num_nodes: int) -> None:
    model = shocked_network_model(num_nodes)
    result = benchmark(exact_thermal, model, BETA)
    e0 = exact_ground_state(model).energy
    derivative_error = _thermal_derivative_error(model, result.energy)
    benchmark.extra_info.update(
        num_qubits=num_nodes,
        beta=BETA,
        log_partition_function=result.log_partition_function,
        thermal_energy=result.energy,
        energy_derivative_error=derivative_error,
        process_peak_rss_bytes=_peak_rss_bytes(),
    )
    assert result.free_energy <= e0 + ATOL <= result.energy + 2 * ATOL
    # Central-difference truncation error, ~1e-8 per unit of d3 lnZ/dbeta3 (which grows with n).
    assert derivative_error < 1e-6 * num_nodes


SIZES = [12, 16, pytest.param(20, marks=pytest.mark.slow)]


@pytest.mark.parametrize("num_nodes", SIZES)
def test_structured_ground_state_vs_sparse(benchmark, num_nodes: int) -> None:
    model = shocked_network_model(num_nodes)
    result = benchmark(exact_ground_state, model)
    reference = sparse_reference(num_nodes)
    energy_error = abs(result.energy - reference.energy)
    stress_error = float(np.abs(result.stress - reference.stress).max())
    benchmark.extra_info.update(
        num_qubits=num_nodes,
        method="structured",
        energy_abs_error=energy_error,
        stress_max_abs_error=stress_error,
    )
    assert energy_error < ATOL and stress_error < ATOL


@pytest.mark.parametrize("num_nodes", SIZES)
def test_sparse_ground_state_vs_structured(benchmark, num_nodes: int) -> None:
    model = shocked_network_model(num_nodes)
    # One round: at 20 qubits ARPACK takes tens of seconds.
    start = time.perf_counter()
    result = benchmark.pedantic(
        dense_ground_state, args=(model,), kwargs={"max_dense_qubits": 10}, rounds=1
    )
    exact = exact_ground_state(model)
    energy_error = abs(result.energy - exact.energy)
    benchmark.extra_info.update(
        num_qubits=num_nodes,
        method=result.method,
        energy_abs_error=energy_error,
        wall_time_s=time.perf_counter() - start,
    )
    assert result.method == "sparse"
    assert energy_error < ATOL
