"""Energies and local expectation values: three independent routes must agree.

* ours (:class:`StructuredEstimator`): Aer state + cached diagonal + X amplitude pairs, or an
  exact MPS contraction;
* the preprint's (:class:`GenericEstimator`): Aer ``EstimatorV2`` on the ``SparsePauliOp``;
* a dense reference ``psi^dag H psi`` with ``H`` from explicit Kronecker products
  (:mod:`tests.reference`), not from the package's operator code.

Also the memory pre-flight, batching and device errors of :mod:`qrspps.quantum.backend`.
"""

from __future__ import annotations

import numpy as np
import pytest

from qrspps.errors import ConfigError, ResourceLimitError
from qrspps.model.ising import IsingModel
from qrspps.model.network import load_named_network
from qrspps.model.scenario import build_model, load_scenario
from qrspps.quantum.ansatz import brickwork_ry
from qrspps.quantum.backend import (
    AerBackend,
    SimulatorSettings,
    available_devices,
    check_statevector_memory,
    resolve_method,
    statevector_bytes,
    statevector_memory_required,
)
from qrspps.quantum.estimator import GenericEstimator, StructuredEstimator
from tests.reference import X, Z, embed, kron_hamiltonian

#: Exact methods in double precision: round-off of ~1e-15 per term times a few hundred terms.
EXACT_ATOL = 1e-10
#: Aer's MPS arithmetic (SVD round-off) versus the state vector, see tests/test_ansatz.py.
MPS_ATOL = 1e-9


def _model_with_several_shocks() -> IsingModel:
    """8 nodes from every tier of retail40 under scenario B (X on RM-A and on the three stores),
    plus extra X terms so that X terms sit on low, middle and high qubits."""
    net = load_named_network("retail40").subnetwork([0, 2, 3, 9, 10, 20, 21, 22])
    model = build_model(net, load_scenario("B"))
    assert np.count_nonzero(model.x) == 4
    return model + IsingModel.from_terms(8, x={2: -0.3, 4: 0.25})


def _dense(model: IsingModel) -> np.ndarray:
    return kron_hamiltonian(
        model.num_qubits,
        {int(i): float(c) for i, c in enumerate(model.z)},
        [(int(i), int(j), float(c)) for (i, j), c in zip(model.zz_pairs, model.zz)],
        {int(k): float(model.x[k]) for k in np.flatnonzero(model.x)},
    )


@pytest.fixture(scope="module")
def setup():
    model = _model_with_several_shocks()
    ansatz = brickwork_ry(model.num_qubits, 3)
    thetas = np.random.default_rng(11).uniform(-np.pi, np.pi, (4, ansatz.num_parameters))
    sv_backend = AerBackend(ansatz, SimulatorSettings(method="statevector", max_parallel_threads=1))
    states = list(sv_backend.run(thetas))
    dense = _dense(model)
    reference = np.array([np.real(np.vdot(psi, dense @ psi)) for psi in states])
    return model, ansatz, thetas, states, reference


def test_structured_statevector_energy_matches_dense(setup) -> None:
    model, ansatz, thetas, _, reference = setup
    est = StructuredEstimator(
        model, AerBackend(ansatz, SimulatorSettings(method="statevector", max_parallel_threads=1))
    )
    np.testing.assert_allclose(est.energies(thetas), reference, atol=EXACT_ATOL, rtol=0)
    assert est.evaluations == len(thetas)
    assert est.diagonal() is est.diagonal()  # cached per model


def test_structured_mps_energy_matches_dense(setup) -> None:
    model, ansatz, thetas, _, reference = setup
    est = StructuredEstimator(
        model,
        AerBackend(
            ansatz, SimulatorSettings(method="matrix_product_state", max_parallel_threads=1)
        ),
    )
    np.testing.assert_allclose(est.energies(thetas), reference, atol=MPS_ATOL, rtol=0)


@pytest.mark.parametrize("method", ["statevector", "matrix_product_state"])
def test_generic_estimatorv2_path_matches_dense(setup, method: str) -> None:
    model, ansatz, thetas, _, reference = setup
    generic = GenericEstimator(
        model, ansatz, SimulatorSettings(method=method, max_parallel_threads=1)
    )
    atol = EXACT_ATOL if method == "statevector" else MPS_ATOL
    np.testing.assert_allclose(generic.energies(thetas), reference, atol=atol, rtol=0)


@pytest.mark.parametrize("method", ["statevector", "matrix_product_state"])
def test_local_expectations_match_dense_operators(setup, method: str) -> None:
    model, ansatz, thetas, states, _ = setup
    n = model.num_qubits
    est = StructuredEstimator(
        model, AerBackend(ansatz, SimulatorSettings(method=method, max_parallel_threads=1))
    )
    pairs = np.array([(0, 1), (0, 7), (2, 5), (3, 4), (1, 6)])
    local = est.local_expectations(thetas[1], pairs)
    psi = states[1]

    def expect(ops: dict[int, np.ndarray]) -> float:
        return float(np.real(np.vdot(psi, embed(ops, n) @ psi)))

    atol = EXACT_ATOL if method == "statevector" else MPS_ATOL
    np.testing.assert_allclose(local.z, [expect({q: Z}) for q in range(n)], atol=atol, rtol=0)
    np.testing.assert_allclose(local.x, [expect({q: X}) for q in range(n)], atol=atol, rtol=0)
    np.testing.assert_allclose(
        local.zz, [expect({int(i): Z, int(j): Z}) for i, j in pairs], atol=atol, rtol=0
    )
    np.testing.assert_allclose(local.stress, (1 - local.z) / 2)


def test_several_models_on_the_same_states(setup) -> None:
    model, ansatz, thetas, states, _ = setup
    other = model + IsingModel.from_terms(8, z={3: 0.4}, zz=[(1, 6, 0.2)], x={5: -0.6})
    for method in ("statevector", "matrix_product_state"):
        est = StructuredEstimator(
            model, AerBackend(ansatz, SimulatorSettings(method=method, max_parallel_threads=1))
        )
        values = est.expectation_values(thetas[:2], [model, other])
        dense = _dense(other)
        expected = [np.real(np.vdot(psi, dense @ psi)) for psi in states[:2]]
        np.testing.assert_allclose(values[:, 1], expected, atol=MPS_ATOL, rtol=0)
        np.testing.assert_allclose(values[:, 0], est.energies(thetas[:2]), atol=MPS_ATOL, rtol=0)


def test_single_precision_energy_within_float32_error(setup) -> None:
    """complex64 amplitudes carry a relative rounding error of ~6e-8 per operation; after the
    ~50 gates and the 2**8-term sums the energy error is of order 1e-6 times the coefficient norm
    ||H||_1 (a bound on |<H>|), so 1e-5 ||H||_1 is a safe but still meaningful tolerance (a wrong
    sign or a missing term would be off by >= 0.1)."""
    model, ansatz, thetas, _, reference = setup
    est = StructuredEstimator(
        model,
        AerBackend(
            ansatz,
            SimulatorSettings(method="statevector", precision="single", max_parallel_threads=1),
        ),
    )
    energies = est.energies(thetas)
    np.testing.assert_allclose(energies, reference, atol=1e-5 * model.coefficient_norm(), rtol=0)
    # Aer hands back complex128 either way; the float32 round-off shows that single was used.
    assert np.max(np.abs(energies - reference)) > 1e-12


def test_chunked_batches_give_the_same_energies(setup, monkeypatch) -> None:
    model, ansatz, thetas, _, reference = setup
    est = StructuredEstimator(
        model, AerBackend(ansatz, SimulatorSettings(method="statevector", max_parallel_threads=1))
    )
    monkeypatch.setattr(est.backend, "batch_size", lambda: 3)  # 4 rows -> 2 Aer calls
    calls = est.backend.calls
    np.testing.assert_allclose(est.energies(thetas), reference, atol=EXACT_ATOL, rtol=0)
    assert est.backend.calls == calls + 2


# ------------------------------------------------------------------------------ pre-flight


def test_statevector_sizes() -> None:
    assert statevector_bytes(40) == 16 * 2**40 == 17_592_186_044_416  # the preprint's 17.6 TB
    assert statevector_bytes(20, "single") == 8 * 2**20
    # Aer's state + returned complex128 copy + |psi|^2 + diagonal.
    assert statevector_memory_required(10) == (16 + 16 + 8 + 8) * 1024
    assert statevector_memory_required(10, "single") == (8 + 16 + 8 + 8) * 1024


def test_preflight_refuses_an_oversized_statevector() -> None:
    needed = statevector_memory_required(40)
    with pytest.raises(
        ResourceLimitError,
        match=rf"40 qubits in double precision needs {needed} bytes .* but only "
        r"8000000000 bytes are free; use simulator=mps",
    ):
        check_statevector_memory(40, available_bytes=8_000_000_000)


def test_preflight_suggests_single_precision_when_it_fits() -> None:
    free = statevector_memory_required(20, "single") + 1
    with pytest.raises(
        ResourceLimitError,
        match=r"use simulator\.precision=single or use "
        r"simulator=mps",
    ):
        check_statevector_memory(20, available_bytes=free)
    assert check_statevector_memory(20, "single", available_bytes=free) < free


def test_backend_refuses_before_allocating_under_a_memory_cap() -> None:
    ansatz = brickwork_ry(16, 1)
    settings = SimulatorSettings(method="statevector", memory_limit_bytes=1_000_000)
    with pytest.raises(
        ResourceLimitError,
        match=r"needs 3145728 bytes .* only 1000000 bytes are "
        r"free \(simulator.memory_limit_bytes\)",
    ):
        AerBackend(ansatz, settings)


def test_auto_rule() -> None:
    auto = SimulatorSettings(method="auto")
    assert resolve_method(auto, 8, 8) == "statevector"
    assert resolve_method(auto, 12, 8) == "statevector"
    assert resolve_method(auto, 13, 8) == "matrix_product_state"
    assert resolve_method(auto, 40, 8) == "matrix_product_state"
    # A deep ansatz (large bond dimension) keeps the state vector while it fits ...
    assert resolve_method(auto, 14, 2**10) == "statevector"
    # ... and a memory cap that refuses the state vector sends even small sizes to the MPS.
    capped = SimulatorSettings(method="auto", memory_limit_bytes=1000)
    assert resolve_method(capped, 8, 8) == "matrix_product_state"
    assert resolve_method(SimulatorSettings(method="mps"), 4) == "matrix_product_state"


def test_settings_validation() -> None:
    with pytest.raises(ConfigError, match=r"simulator\.method must be one of .* was 'dense'"):
        SimulatorSettings(method="dense")
    with pytest.raises(ConfigError, match=r"simulator\.precision must be one of .* was 'half'"):
        SimulatorSettings(precision="half")
    settings = SimulatorSettings.from_mapping(
        {"method": "mps", "device": "cpu", "max_parallel_threads": 2}
    )
    assert (settings.method, settings.device, settings.max_parallel_threads) == (
        "matrix_product_state",
        "CPU",
        2,
    )


@pytest.mark.skipif("GPU" in available_devices(), reason="this Aer build has a GPU device")
def test_gpu_request_without_aer_gpu_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match=r"device='GPU' is not available.*qiskit-aer-gpu"):
        AerBackend(brickwork_ry(4, 1), SimulatorSettings(method="statevector", device="GPU"))
