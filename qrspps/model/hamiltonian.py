"""Operator forms of an :class:`~qrspps.model.ising.IsingModel`: OpenFermion first, then Qiskit.

The published pipeline builds its Hamiltonian as an OpenFermion ``QubitOperator``; we do the same
and convert to Qiskit's ``SparsePauliOp`` through explicit ``(paulis, qubit indices, coeff)`` lists,
which keeps qubit ``i`` as qubit ``i`` whatever each library's string or matrix order is
(OpenFermion sparse matrices are big-endian, Qiskit is little-endian; see
:mod:`qrspps.conventions`).
"""

from __future__ import annotations

import numpy as np
from openfermion import QubitOperator
from qiskit.quantum_info import SparsePauliOp

from qrspps.model.ising import IsingModel


def to_qubit_operator(model: IsingModel) -> QubitOperator:
    """OpenFermion ``QubitOperator`` of ``model``; zero coefficients are left out."""
    op = QubitOperator()
    for i in np.flatnonzero(model.z):
        op += QubitOperator(((int(i), "Z"),), float(model.z[i]))
    for (i, j), c in zip(model.zz_pairs, model.zz):
        if c != 0.0:
            op += QubitOperator(((int(i), "Z"), (int(j), "Z")), float(c))
    for k in np.flatnonzero(model.x):
        op += QubitOperator(((int(k), "X"),), float(model.x[k]))
    return op


def qubit_operator_to_sparse_pauli_op(op: QubitOperator, num_qubits: int) -> SparsePauliOp:
    """Convert an OpenFermion operator to Qiskit without changing which qubit each Pauli acts on.

    Raises:
        ValueError: if a term acts on a qubit ``>= num_qubits`` or has a complex coefficient.
    """
    sparse_terms = []
    for term, coeff in sorted(op.terms.items()):
        if abs(np.imag(coeff)) > 0:
            raise ValueError(f"term {term} has a complex coefficient {coeff}; H must be Hermitian")
        if any(q >= num_qubits for q, _ in term):
            raise ValueError(f"term {term} acts outside the {num_qubits} qubits")
        paulis = "".join(p for _, p in term)
        indices = [q for q, _ in term]
        sparse_terms.append((paulis, indices, float(np.real(coeff))))
    if not sparse_terms:
        return SparsePauliOp.from_sparse_list([("", [], 0.0)], num_qubits=num_qubits)
    return SparsePauliOp.from_sparse_list(sparse_terms, num_qubits=num_qubits)


def to_sparse_pauli_op(model: IsingModel) -> SparsePauliOp:
    """Qiskit ``SparsePauliOp`` of ``model``, built through OpenFermion."""
    return qubit_operator_to_sparse_pauli_op(to_qubit_operator(model), model.num_qubits)


def term_count(model: IsingModel) -> int:
    """Number of nonzero Pauli terms (e.g. 98 for retail40 scenario A)."""
    return int(np.count_nonzero(model.z) + np.count_nonzero(model.zz) + np.count_nonzero(model.x))
