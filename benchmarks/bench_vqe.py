"""Benchmarks of one energy evaluation: our structured path vs the preprint's EstimatorV2 path, and
the matrix-product state vs the state vector.

Every benchmark records a quality figure next to its time (``benchmark.extra_info``): the energy
difference to the other path on the same parameters, asserted to be at round-off level. Model:
the retail40 prefix of ``n`` nodes under scenario B; ansatz: brickwork RY, depth 3; parameters
uniform in ``(-pi, pi)`` from a fixed seed; Aer limited to one thread so that the numbers do not
depend on the machine's load. The structured path's Hamiltonian diagonal is cached per model
(built once, time recorded as ``diagonal_build_s``); a VQE amortises it over thousands of
evaluations.

Run: ``pytest benchmarks/bench_vqe.py --benchmark-only`` (``-m "not slow"`` for n <= 20 only).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache

import numpy as np
import pytest

from qrspps.model.ising import IsingModel
from qrspps.model.network import load_named_network
from qrspps.model.scenario import build_model, load_scenario
from qrspps.quantum.ansatz import Ansatz, brickwork_ry
from qrspps.quantum.backend import AerBackend, SimulatorSettings
from qrspps.quantum.estimator import GenericEstimator, StructuredEstimator

THREADS = 1
#: Both statevector paths are exact in double precision; they differ by summation order only.
STATEVECTOR_AGREEMENT = 1e-9
#: MPS vs state vector: SVD round-off of Aer's MPS (see tests/test_ansatz.py).
MPS_AGREEMENT = 1e-8

SLOW = pytest.mark.slow


@dataclass
class Case:
    model: IsingModel
    ansatz: Ansatz
    theta: np.ndarray


@cache
def case(n: int) -> Case:
    model = build_model(load_named_network("retail40").prefix(n), load_scenario("B"))
    ansatz = brickwork_ry(n, 3)
    theta = np.random.default_rng(2026).uniform(-np.pi, np.pi, ansatz.num_parameters)
    return Case(model, ansatz, theta)


@cache
def structured(n: int, method: str = "statevector") -> tuple[StructuredEstimator, float]:
    c = case(n)
    est = StructuredEstimator(
        c.model,
        AerBackend(c.ansatz, SimulatorSettings(method=method, max_parallel_threads=THREADS)),
    )
    start = time.perf_counter()
    if method == "statevector":
        est.diagonal()
    return est, time.perf_counter() - start


@cache
def generic(n: int) -> GenericEstimator:
    c = case(n)
    return GenericEstimator(
        c.model, c.ansatz, SimulatorSettings(method="statevector", max_parallel_threads=THREADS)
    )


@cache
def reference_energy(n: int) -> float:
    """The generic path's energy, computed once per size (the other benchmarks' yardstick)."""
    return generic(n).energy(case(n).theta)


def _rounds(n: int) -> int:
    return 5 if n <= 16 else 3


@pytest.mark.parametrize(
    "n", [12, 16, 20, pytest.param(22, marks=SLOW), pytest.param(24, marks=SLOW)]
)
def test_energy_structured_statevector(benchmark, n: int) -> None:
    est, diagonal_time = structured(n)
    benchmark.group = f"energy evaluation, n={n}"
    energy = benchmark.pedantic(
        est.energy, args=(case(n).theta,), rounds=_rounds(n), warmup_rounds=1, iterations=1
    )
    agreement = abs(energy - reference_energy(n))
    benchmark.extra_info.update(
        {
            "num_qubits": n,
            "path": "structured statevector",
            "energy": energy,
            "abs_diff_vs_estimatorv2": agreement,
            "diagonal_build_s": diagonal_time,
            "threads": THREADS,
        }
    )
    assert agreement < STATEVECTOR_AGREEMENT


@pytest.mark.parametrize(
    "n", [12, 16, 20, pytest.param(22, marks=SLOW), pytest.param(24, marks=SLOW)]
)
def test_energy_estimatorv2_generic(benchmark, n: int) -> None:
    est = generic(n)
    benchmark.group = f"energy evaluation, n={n}"
    energy = benchmark.pedantic(
        est.energy, args=(case(n).theta,), rounds=_rounds(n), warmup_rounds=1, iterations=1
    )
    ours, _ = structured(n)
    agreement = abs(energy - ours.energy(case(n).theta))
    benchmark.extra_info.update(
        {
            "num_qubits": n,
            "path": "EstimatorV2 + SparsePauliOp",
            "energy": energy,
            "abs_diff_vs_structured": agreement,
            "num_terms": len(est.operator),
            "threads": THREADS,
        }
    )
    assert agreement < STATEVECTOR_AGREEMENT


@pytest.mark.parametrize("n", [20, pytest.param(22, marks=SLOW), pytest.param(24, marks=SLOW)])
def test_energy_structured_mps(benchmark, n: int) -> None:
    est, _ = structured(n, "matrix_product_state")
    benchmark.group = f"energy evaluation, n={n}"
    energy = benchmark.pedantic(
        est.energy, args=(case(n).theta,), rounds=5, warmup_rounds=1, iterations=1
    )
    agreement = abs(energy - reference_energy(n))
    benchmark.extra_info.update(
        {
            "num_qubits": n,
            "path": "structured MPS",
            "energy": energy,
            "abs_diff_vs_statevector": agreement,
            "threads": THREADS,
        }
    )
    assert agreement < MPS_AGREEMENT
