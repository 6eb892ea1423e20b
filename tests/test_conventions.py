"""Each convention of qrspps.conventions pinned numerically."""

from __future__ import annotations

import numpy as np
import pytest
from openfermion import get_sparse_operator
from scipy.linalg import expm

from qrspps.conventions import basis_bits, bits_to_spins, stress_probability_from_z
from qrspps.model.hamiltonian import to_qubit_operator, to_sparse_pauli_op
from qrspps.model.ising import IsingModel
from tests.reference import X, Z, embed, kron_hamiltonian

# A 3-qubit model whose X term sits on qubit 1 and whose fields all differ, so any permutation of
# qubits (in particular the reversal 0 <-> 2) changes the matrix.
TERMS = dict(z={0: 0.1, 1: -0.35, 2: 0.7}, zz=[(0, 1, -0.8), (1, 2, 0.25)], x={0: -1.5})
MODEL = IsingModel.from_terms(3, **TERMS)


def test_sparse_pauli_op_matches_explicit_kronecker_product():
    reference = kron_hamiltonian(3, **TERMS)
    np.testing.assert_allclose(to_sparse_pauli_op(MODEL).to_matrix(), reference, atol=1e-12)


def test_reversed_qubit_order_is_detected():
    # The same terms with qubits reversed must give a different matrix: the test above can fail.
    reversed_terms = dict(
        z={2 - i: c for i, c in TERMS["z"].items()},
        zz=[(2 - i, 2 - j, c) for i, j, c in TERMS["zz"]],
        x={2 - k: c for k, c in TERMS["x"].items()},
    )
    assert not np.allclose(
        to_sparse_pauli_op(MODEL).to_matrix(), kron_hamiltonian(3, **reversed_terms)
    )


def test_openfermion_sparse_matrix_is_big_endian():
    # OpenFermion puts qubit 0 leftmost; reversing the tensor axes turns it into ours.
    of_matrix = get_sparse_operator(to_qubit_operator(MODEL), n_qubits=3).toarray()
    n = 3
    perm = [int(format(b, f"0{n}b")[::-1], 2) for b in range(2**n)]
    np.testing.assert_allclose(
        of_matrix[np.ix_(perm, perm)], kron_hamiltonian(3, **TERMS), atol=1e-12
    )


def test_diagonal_is_little_endian():
    diag = MODEL.diagonal()
    np.testing.assert_allclose(diag, np.diag(kron_hamiltonian(3, TERMS["z"], TERMS["zz"], {})))
    # Basis index 1 = qubit 0 stressed: only z_0 flips sign relative to index 0.
    assert diag[1] - diag[0] == pytest.approx(-2 * 0.1 - 2 * (-0.8))


def test_stress_is_probability_of_one():
    bits = basis_bits(2)
    np.testing.assert_array_equal(bits[1], [1, 0])
    np.testing.assert_array_equal(bits_to_spins([0, 1]), [1, -1])
    # |1> on a qubit: <Z> = -1, stressed with probability 1.
    assert stress_probability_from_z(-1.0) == 1.0
    assert stress_probability_from_z(1.0) == 0.0


def test_propagator_sign():
    # U(t) = exp(-iHt): for H = Z, the |0> amplitude picks up exp(-i t).
    t = 0.37
    u = expm(-1j * t * embed({0: Z}, 1))
    assert u[0, 0] == pytest.approx(np.exp(-1j * t))
    # And X generates transitions with amplitude -i sin t from |0> to |1>.
    assert expm(-1j * t * X)[1, 0] == pytest.approx(-1j * np.sin(t))
