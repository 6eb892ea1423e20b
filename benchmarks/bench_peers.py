"""Our code against what users already know: peer simulators and the published optimiser settings.

Every benchmark records a quality figure next to its time (``benchmark.extra_info``) and asserts
it. Thread counts are fixed: Aer through ``max_parallel_threads=1``, Qulacs through its own
``QULACS_NUM_THREADS`` (read by Qulacs alone, set before its import, so no test is affected).

One energy evaluation vs ``n`` (group ``peers: energy, n=...``)
    The same model (retail40 prefix of ``n`` nodes, scenario B), ansatz (brickwork RY, depth 3)
    and parameters (uniform in ``(-pi, pi)``, seed 2026) as :mod:`bench_vqe`, evaluated by

    - ``ours``: :class:`~qrspps.quantum.estimator.StructuredEstimator` on the Aer state vector
      (Hamiltonian diagonal cached per model, as in a VQE);
    - ``estimatorv2``: Aer ``EstimatorV2`` on the full ``SparsePauliOp`` (the preprint's path);
    - ``qulacs``: a Qulacs ``ParametricQuantumCircuit`` and ``Observable`` (optional extra,
      ``pip install qulacs``; skipped when it is not installed).

    ``extra_info``: ``ratio_ours_over_peer`` (median time ours / median time peer; < 1 means we
    are faster) and ``abs_diff_vs_ours`` (|E_ours - E_peer|, asserted < 1e-9: all three are exact
    state-vector methods in double precision and differ by summation order only). The peer runs
    after our case of the same ``n`` in file order, so our median is looked up from a module cache.
    ``n = 12, 16`` by default; ``20, 24`` slow. The MPS case at 24 qubits (slow) records its ratio
    to the 24-qubit state vector and asserts agreement < 1e-8 (SVD round-off).

Full VQE to fixed accuracy (group ``peers: full VQE``)
    retail40 prefix of 8 nodes, scenario A, depth 2, one start, seed 0: our default (L-BFGS-B with
    parameter-shift gradients, mean-field start) vs the published settings (COBYLA, maxiter 2000,
    rhobeg 0.5, random start). ``extra_info``: evaluations, wall time, ``abs_error`` against the
    exact ground energy and whether it reached ``1e-6``. On these prefixes the mean-field start is
    already the exact ground state (0 iterations), so a third case runs L-BFGS-B from the same
    random start as COBYLA to compare the optimisers themselves. Only the mean-field case is
    asserted to reach ``1e-6``; the random-start errors are recorded, not asserted (one random start
    may end in a local minimum). The COBYLA case (8-20 s) is marked slow.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pytest

from qrspps.exact.structured import exact_ground_state
from qrspps.model.hamiltonian import to_sparse_pauli_op
from qrspps.model.ising import IsingModel
from qrspps.model.network import load_named_network
from qrspps.model.scenario import build_model, load_scenario
from qrspps.quantum.ansatz import Ansatz, brickwork_ry
from qrspps.quantum.backend import AerBackend, SimulatorSettings
from qrspps.quantum.estimator import GenericEstimator, StructuredEstimator
from qrspps.quantum.vqe import OptimizerSettings, run_vqe

log = logging.getLogger(__name__)

THREADS = 1
#: Exact state-vector methods in double precision differ by summation order only.
STATEVECTOR_AGREEMENT = 1e-9
#: MPS vs state vector: SVD round-off of Aer's MPS (see tests/test_ansatz.py).
MPS_AGREEMENT = 1e-8
#: The VQE accuracy target (energy units), the same as the study's.
VQE_TARGET = 1e-6
SLOW = pytest.mark.slow
SIZES = [12, 16, pytest.param(20, marks=SLOW), pytest.param(24, marks=SLOW)]

#: Median seconds of our structured evaluation per ``(n, method)``, filled by the ``ours`` cases.
_OUR_MEDIAN: dict[tuple[int, str], float] = {}


@dataclass(frozen=True)
class Case:
    """One energy-evaluation problem."""

    model: IsingModel
    ansatz: Ansatz
    theta: np.ndarray


@cache
def case(n: int) -> Case:
    """The :mod:`bench_vqe` problem of ``n`` qubits."""
    model = build_model(load_named_network("retail40").prefix(n), load_scenario("B"))
    ansatz = brickwork_ry(n, 3)
    theta = np.random.default_rng(2026).uniform(-np.pi, np.pi, ansatz.num_parameters)
    return Case(model, ansatz, theta)


@cache
def ours(n: int, method: str = "statevector") -> StructuredEstimator:
    """Our estimator with its diagonal built (a VQE amortises it over thousands of calls)."""
    c = case(n)
    settings = SimulatorSettings(method=method, max_parallel_threads=THREADS)
    est = StructuredEstimator(c.model, AerBackend(c.ansatz, settings))
    if method == "statevector":
        est.diagonal()
    return est


@cache
def our_energy(n: int) -> float:
    """Our state-vector energy: the yardstick of every peer."""
    return ours(n).energy(case(n).theta)


def _median_seconds(benchmark: Any) -> float | None:
    """Median of the timed rounds, or None under ``--benchmark-disable``."""
    stats = getattr(benchmark, "stats", None)
    return None if stats is None else float(stats.stats.median)


def _our_median(n: int, method: str = "statevector") -> float:
    """Our median time, from this session's ``ours`` case or (when it did not run) 5 timed calls."""
    key = (n, method)
    if key not in _OUR_MEDIAN:
        est, theta = ours(n, method), case(n).theta
        est.energy(theta)
        times = []
        for _ in range(5):
            start = time.perf_counter()
            est.energy(theta)
            times.append(time.perf_counter() - start)
        _OUR_MEDIAN[key] = float(np.median(times))
    return _OUR_MEDIAN[key]


def _rounds(n: int) -> int:
    return 5 if n <= 16 else 3


def _record_peer(benchmark: Any, n: int, path: str, energy: float) -> float:
    """Fill ``extra_info`` for a peer path and return its agreement with ours."""
    agreement = abs(energy - our_energy(n))
    median = _median_seconds(benchmark)
    ratio = None if median is None else _our_median(n) / median
    benchmark.extra_info.update(
        num_qubits=n,
        path=path,
        energy=energy,
        abs_diff_vs_ours=agreement,
        ratio_ours_over_peer=ratio,
        threads=THREADS,
    )
    log.info("n=%d %s: ours/peer time ratio %s, |dE| = %.2e", n, path, ratio, agreement)
    return agreement


@pytest.mark.parametrize("n", SIZES)
def test_energy_ours(benchmark, n: int) -> None:
    """Our structured state-vector evaluation (the numerator of every ratio)."""
    est, theta = ours(n), case(n).theta
    benchmark.group = f"peers: energy, n={n}"
    energy = benchmark.pedantic(
        est.energy, args=(theta,), rounds=_rounds(n), warmup_rounds=1, iterations=1
    )
    median = _median_seconds(benchmark)
    if median is not None:
        _OUR_MEDIAN[(n, "statevector")] = median
    reference = GenericEstimator(
        case(n).model,
        case(n).ansatz,
        SimulatorSettings(method="statevector", max_parallel_threads=THREADS),
    )
    agreement = abs(energy - reference.energy(theta))
    benchmark.extra_info.update(
        num_qubits=n,
        path="ours (structured statevector)",
        energy=energy,
        abs_diff_vs_estimatorv2=agreement,
        threads=THREADS,
    )
    assert agreement < STATEVECTOR_AGREEMENT


@pytest.mark.parametrize("n", SIZES)
def test_energy_estimatorv2(benchmark, n: int) -> None:
    """Aer ``EstimatorV2`` on the ``SparsePauliOp`` (transpiled once, outside the timing)."""
    c = case(n)
    est = GenericEstimator(
        c.model, c.ansatz, SimulatorSettings(method="statevector", max_parallel_threads=THREADS)
    )
    benchmark.group = f"peers: energy, n={n}"
    energy = benchmark.pedantic(
        est.energy, args=(c.theta,), rounds=_rounds(n), warmup_rounds=1, iterations=1
    )
    assert _record_peer(benchmark, n, "EstimatorV2 + SparsePauliOp", energy) < (
        STATEVECTOR_AGREEMENT
    )


class QulacsEnergy:
    """``<H>`` of the brickwork ansatz in Qulacs (state, circuit and observable built once).

    Qulacs rotations are ``exp(+i angle P / 2)``, Qiskit's ``exp(-i theta P / 2)``: the angles are
    negated. Both order qubits little-endian (qubit 0 is the least significant bit).
    """

    def __init__(self, c: Case) -> None:
        os.environ.setdefault("QULACS_NUM_THREADS", str(THREADS))
        qulacs = pytest.importorskip("qulacs", reason="optional peer: pip install qulacs")
        n = c.ansatz.num_qubits
        index = {p: i for i, p in enumerate(c.ansatz.parameters)}
        self.slots: list[int] = []
        self.circuit = qulacs.ParametricQuantumCircuit(n)
        for instruction in c.ansatz.circuit.data:
            qubits = [c.ansatz.circuit.find_bit(q).index for q in instruction.qubits]
            if instruction.operation.name == "ry":
                self.circuit.add_parametric_RY_gate(qubits[0], 0.0)
                self.slots.append(index[instruction.operation.params[0]])
            elif instruction.operation.name == "cx":
                self.circuit.add_CNOT_gate(qubits[0], qubits[1])
            else:
                raise NotImplementedError(f"gate {instruction.operation.name!r} not mapped")

        self.constant = 0.0
        self.observable = qulacs.Observable(n)
        for label, coeff in to_sparse_pauli_op(c.model).to_list():
            # Qiskit labels put qubit 0 rightmost.
            terms = " ".join(f"{p} {q}" for q, p in enumerate(reversed(label)) if p != "I")
            if terms:
                self.observable.add_operator(float(np.real(coeff)), terms)
            else:
                self.constant += float(np.real(coeff))
        self.state = qulacs.QuantumState(n)

    def energy(self, theta: np.ndarray) -> float:
        for k, slot in enumerate(self.slots):
            self.circuit.set_parameter(k, -float(theta[slot]))
        self.state.set_zero_state()
        self.circuit.update_quantum_state(self.state)
        return float(np.real(self.observable.get_expectation_value(self.state))) + self.constant


@pytest.mark.parametrize("n", SIZES)
def test_energy_qulacs(benchmark, n: int) -> None:
    """Qulacs (optional): parameters set, circuit applied, observable measured, per call."""
    c = case(n)
    peer = QulacsEnergy(c)
    benchmark.group = f"peers: energy, n={n}"
    energy = benchmark.pedantic(
        peer.energy, args=(c.theta,), rounds=_rounds(n), warmup_rounds=1, iterations=1
    )
    assert _record_peer(benchmark, n, "qulacs", energy) < STATEVECTOR_AGREEMENT


@SLOW
def test_energy_mps_vs_statevector_24(benchmark) -> None:
    """Our MPS path at 24 qubits; the ratio is MPS time / state-vector time (both ours)."""
    n = 24
    est, theta = ours(n, "matrix_product_state"), case(n).theta
    benchmark.group = f"peers: energy, n={n}"
    energy = benchmark.pedantic(est.energy, args=(theta,), rounds=3, warmup_rounds=1, iterations=1)
    agreement = abs(energy - our_energy(n))
    median = _median_seconds(benchmark)
    benchmark.extra_info.update(
        num_qubits=n,
        path="ours (structured MPS)",
        energy=energy,
        abs_diff_vs_statevector=agreement,
        ratio_mps_over_statevector=None if median is None else median / _our_median(n),
        threads=THREADS,
    )
    assert agreement < MPS_AGREEMENT


# --------------------------------------------------------------------------- full VQE

VQE_NODES = 8
VQE_DEPTH = 2
OPTIMIZERS = {
    "ours: lbfgsb, mean_field": OptimizerSettings(name="lbfgsb", restarts=1, init="mean_field"),
    # The same optimiser from the paper's random start: on these prefixes the mean-field product
    # state is already the exact ground state, so this case isolates the optimiser.
    "ours: lbfgsb, random": OptimizerSettings(name="lbfgsb", restarts=1, init="random"),
    "paper: cobyla, random": OptimizerSettings(
        name="cobyla", maxiter=2000, rhobeg=0.5, restarts=1, init="random"
    ),
}


@cache
def vqe_model() -> tuple[IsingModel, float]:
    """The VQE model and its exact ground energy (structured solver)."""
    model = build_model(load_named_network("retail40").prefix(VQE_NODES), load_scenario("A"))
    return model, exact_ground_state(model).energy


@pytest.mark.parametrize(
    "label",
    # COBYLA's 2000 evaluations take 8-20 s on the shared 2-core machine: slow.
    [pytest.param(k, marks=SLOW) if k.startswith("paper") else k for k in OPTIMIZERS],
)
def test_full_vqe(benchmark, label: str) -> None:
    """One start of each optimiser to its own stopping rule; error against the exact answer."""
    model, exact = vqe_model()
    settings = SimulatorSettings(method="statevector", max_parallel_threads=THREADS)
    benchmark.group = f"peers: full VQE, n={VQE_NODES}, depth={VQE_DEPTH}"
    result = benchmark.pedantic(
        run_vqe,
        args=(model,),
        kwargs={
            "depth": VQE_DEPTH,
            "optimizer": OPTIMIZERS[label],
            "simulator": settings,
            "seed": 0,
            "exact_energy": exact,
        },
        rounds=1,
        warmup_rounds=0,
        iterations=1,
    )
    reached = bool(result.abs_error < VQE_TARGET)
    benchmark.extra_info.update(
        num_qubits=VQE_NODES,
        depth=VQE_DEPTH,
        optimizer=label,
        energy=result.energy,
        exact_energy=exact,
        abs_error=result.abs_error,
        reached_target=reached,
        target=VQE_TARGET,
        evaluations=result.evaluations,
        iterations=result.iterations,
        wall_time_s=result.wall_time_s,
        termination_reason=result.termination_reason,
    )
    log.info(
        "VQE %s: error %.2e after %d evaluations in %.2f s",
        label,
        result.abs_error,
        result.evaluations,
        result.wall_time_s,
    )
    # Variational: the energy never goes below E0 (beyond round-off).
    assert result.abs_error > -1e-9
    if label.endswith("mean_field"):
        assert reached
