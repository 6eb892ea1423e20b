"""Tests of the brute-force reference diagonalisation (qrspps.exact.dense).

References are built independently: explicit 2x2 Kronecker products written out in the test, and
``scipy.linalg.expm`` for the propagator. Exact methods agree to 1e-9 (double-precision
diagonalisation of matrices with O(1) entries is accurate to ~1e-13).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import expm

from qrspps.errors import ResourceLimitError
from qrspps.exact.dense import (
    dense_characteristic_function,
    dense_ground_state,
    dense_hamiltonian,
    dense_log_partition_function,
    dense_partition_function,
    dense_spectrum,
    dense_survival_amplitude,
    dense_thermal,
    product_state_vector,
    sparse_hamiltonian,
    spectrum_histogram,
)
from qrspps.model.ising import IsingModel

ATOL = 1e-9
I2 = np.eye(2)
X = np.array([[0.0, 1.0], [1.0, 0.0]])
Z = np.diag([1.0, -1.0])


def _three_qubit_model() -> IsingModel:
    return IsingModel.from_terms(3, z={0: 0.3, 1: -0.7, 2: 1.1}, zz=[(0, 2, 0.5)], x={0: -1.5})


def _three_qubit_by_hand(*, reverse: bool = False) -> np.ndarray:
    """The same model written out; qubit 0 is the rightmost factor (leftmost if ``reverse``)."""

    def k3(q2: np.ndarray, q1: np.ndarray, q0: np.ndarray) -> np.ndarray:
        return np.kron(np.kron(q0, q1), q2) if reverse else np.kron(np.kron(q2, q1), q0)

    return (
        0.3 * k3(I2, I2, Z)
        - 0.7 * k3(I2, Z, I2)
        + 1.1 * k3(Z, I2, I2)
        + 0.5 * k3(Z, I2, Z)
        - 1.5 * k3(I2, I2, X)
    )


def _random_model(seed: int, n: int) -> IsingModel:
    rng = np.random.default_rng(seed)
    zz = [(i, int(rng.integers(0, i)), float(rng.normal())) for i in range(1, n)]
    x = {int(k): float(rng.normal()) for k in rng.choice(n, size=n // 2, replace=False)}
    return IsingModel.from_terms(n, z=dict(enumerate(rng.normal(size=n))), zz=zz, x=x)


def test_dense_builder_matches_hand_written_kronecker_products() -> None:
    h = dense_hamiltonian(_three_qubit_model())
    assert np.allclose(h, _three_qubit_by_hand(), atol=0.0)
    # The big-endian reading must differ, or the test could not detect an order mistake.
    assert not np.allclose(h, _three_qubit_by_hand(reverse=True))


def test_basis_is_little_endian() -> None:
    # Z on qubit 0 alone: basis index 1 (bit 0 set) is the stressed state, eigenvalue -1.
    h = dense_hamiltonian(IsingModel.from_terms(2, z={0: 1.0}))
    assert np.allclose(np.diag(h), [1.0, -1.0, 1.0, -1.0])
    ground = dense_ground_state(IsingModel.from_terms(2, z={0: 1.0, 1: -1.0}))
    assert ground.degeneracy == 1
    assert np.allclose(ground.stress, [1.0, 0.0], atol=ATOL)


def test_sparse_builder_matches_dense_builder() -> None:
    model = _random_model(3, 7)
    assert np.allclose(sparse_hamiltonian(model).toarray(), dense_hamiltonian(model), atol=1e-14)


def test_sparse_ground_state_matches_dense_path() -> None:
    model = _random_model(5, 9)
    dense = dense_ground_state(model)
    sparse = dense_ground_state(model, max_dense_qubits=4)
    assert (dense.method, sparse.method) == ("dense", "sparse")
    assert sparse.energy == pytest.approx(dense.energy, abs=ATOL)
    assert sparse.first_excited_energy == pytest.approx(dense.first_excited_energy, abs=ATOL)
    assert sparse.degeneracy == dense.degeneracy == 1
    assert np.allclose(sparse.stress, dense.stress, atol=ATOL)


def test_ground_state_levels_and_degenerate_stress() -> None:
    # H = Z1 + Z2 + Z1 Z2 on 3 qubits (qubit 0 free): the levels are -1 (3 configurations of
    # qubits 1-2, times 2 for qubit 0) and 3 (times 2). Qubits 1 and 2 are stressed in 2 of the 3
    # ground configurations; qubit 0 in half of them.
    model = IsingModel.from_terms(3, z={1: 1.0, 2: 1.0}, zz=[(1, 2, 1.0)])
    ground = dense_ground_state(model)
    assert ground.energy == pytest.approx(-1.0, abs=ATOL)
    assert ground.first_excited_energy == pytest.approx(3.0, abs=ATOL)
    assert ground.gap == pytest.approx(4.0, abs=ATOL)
    assert ground.degeneracy == 6
    assert ground.ground_vectors.shape == (8, 6)
    assert np.allclose(ground.stress, [0.5, 2 / 3, 2 / 3], atol=ATOL)


def test_no_excited_level_gives_nan() -> None:
    ground = dense_ground_state(IsingModel.from_terms(2))
    assert ground.degeneracy == 4
    assert np.isnan(ground.first_excited_energy) and np.isnan(ground.gap)


def test_thermal_quantities_against_expm() -> None:
    model = _three_qubit_model()
    h = _three_qubit_by_hand()
    beta = 0.7
    rho = expm(-beta * h)
    z_part = np.trace(rho)
    thermal = dense_thermal(model, beta)
    assert thermal.log_partition_function == pytest.approx(np.log(z_part), abs=ATOL)
    assert dense_log_partition_function(model, beta) == pytest.approx(np.log(z_part), abs=ATOL)
    assert dense_partition_function(model, beta) == pytest.approx(z_part, rel=1e-12)
    assert thermal.free_energy == pytest.approx(-np.log(z_part) / beta, abs=ATOL)
    assert thermal.energy == pytest.approx(np.trace(rho @ h) / z_part, abs=ATOL)
    # <(1 - Z_i)/2> with Z_i built by hand, qubit 0 rightmost.
    z_ops = [np.kron(np.kron(I2, I2), Z), np.kron(np.kron(I2, Z), I2), np.kron(np.kron(Z, I2), I2)]
    expected = [(1 - np.trace(rho @ op) / z_part) / 2 for op in z_ops]
    assert np.allclose(thermal.stress, expected, atol=ATOL)


def test_thermal_rejects_non_positive_beta() -> None:
    with pytest.raises(ValueError, match="beta must be > 0"):
        dense_thermal(_three_qubit_model(), 0.0)


def test_characteristic_function_and_survival_against_expm() -> None:
    model = _three_qubit_model()
    h = _three_qubit_by_hand()
    times = np.array([0.0, 0.4, -1.3, 2.5])
    chi = dense_characteristic_function(model, times)
    expected = [np.trace(expm(-1j * t * h)) / 8 for t in times]
    assert np.allclose(chi, expected, atol=ATOL)
    assert chi[0] == pytest.approx(1.0)

    amps = np.array([[0.6, 0.8j], [1.0, 0.0], [np.sqrt(0.5), -np.sqrt(0.5)]])
    psi = np.kron(np.kron(amps[2], amps[1]), amps[0])
    assert np.allclose(product_state_vector(amps), psi)
    survival = dense_survival_amplitude(model, amps, times)
    expected = [psi.conj() @ expm(-1j * t * h) @ psi for t in times]
    assert np.allclose(survival, expected, atol=ATOL)


def test_spectrum_and_histogram() -> None:
    model = IsingModel.from_terms(3, z={1: 1.0, 2: 1.0}, zz=[(1, 2, 1.0)])
    assert np.allclose(dense_spectrum(model), [-1, -1, -1, -1, -1, -1, 3, 3], atol=ATOL)
    values, counts = spectrum_histogram(dense_spectrum(model))
    assert np.allclose(values, [-1.0, 3.0], atol=ATOL)
    assert counts.tolist() == [6, 2]


def test_size_limits_name_qubits_bytes_and_limit() -> None:
    with pytest.raises(ResourceLimitError, match=r"13 qubits.*536870912 bytes.*limit is 12 qubits"):
        dense_hamiltonian(IsingModel.from_terms(13))
    with pytest.raises(ResourceLimitError, match=r"sparse Hamiltonian of 23 qubits.*limit is 22"):
        sparse_hamiltonian(IsingModel.from_terms(23))
    with pytest.raises(ResourceLimitError, match=r"5 qubits requested.*limit is 4 qubits"):
        dense_ground_state(IsingModel.from_terms(5), max_dense_qubits=3, max_sparse_qubits=4)
