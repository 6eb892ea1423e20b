"""Independent references for tests: Hamiltonians from explicit Kronecker products.

Nothing here imports the package's operator code, so a mistake there cannot cancel out.
Qubit 0 is the rightmost Kronecker factor (little-endian, as in qrspps.conventions).
"""

from __future__ import annotations

from functools import reduce

import numpy as np

I2 = np.eye(2)
X = np.array([[0.0, 1.0], [1.0, 0.0]])
Z = np.diag([1.0, -1.0])


def embed(ops: dict[int, np.ndarray], num_qubits: int) -> np.ndarray:
    """Kronecker product with ``ops[q]`` on qubit q and identity elsewhere, qubit 0 rightmost."""
    factors = [ops.get(q, I2) for q in reversed(range(num_qubits))]
    return reduce(np.kron, factors)


def kron_hamiltonian(
    num_qubits: int,
    z: dict[int, float],
    zz: list[tuple[int, int, float]],
    x: dict[int, float],
) -> np.ndarray:
    """Dense ``sum z_i Z_i + sum c Z_i Z_j + sum x_k X_k`` from explicit Kronecker products."""
    h = np.zeros((2**num_qubits, 2**num_qubits))
    for i, c in z.items():
        h += c * embed({i: Z}, num_qubits)
    for i, j, c in zz:
        h += c * embed({i: Z, j: Z}, num_qubits)
    for k, c in x.items():
        h += c * embed({k: X}, num_qubits)
    return h
