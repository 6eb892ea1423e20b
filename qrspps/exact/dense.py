"""Reference diagonalisation of an Ising model by brute force, for small qubit counts.

The matrix of ``H = sum_i z_i Z_i + sum_(i<j) c_ij Z_i Z_j + sum_i x_i X_i`` is assembled term by
term from Kronecker products of 2x2 Pauli matrices, independently of
:meth:`qrspps.model.ising.IsingModel.diagonal` and of the structured solver, with qubit 0 as the
*rightmost* Kronecker factor (little-endian, :mod:`qrspps.conventions`). The dense path
(``numpy.linalg.eigh``) gives the full spectrum; the sparse path (``scipy.sparse`` and ARPACK's
``eigsh``) gives the low end of it up to about 22 qubits.

Definitions shared with :mod:`qrspps.exact.structured`:

- the *first excited energy* ``E1`` is the lowest eigenvalue more than ``level_tol`` above the
  ground energy ``E0`` (the next distinct level); ``gap = E1 - E0``. When every eigenvalue equals
  ``E0`` there is no excited level and both are ``nan``.
- the *degeneracy* is the number of eigenvalues within ``level_tol`` of ``E0``.
- ground stress ``P_i = <(1 - Z_i)/2>`` is averaged uniformly over the ground space, i.e. taken in
  the state ``Pi_0 / degeneracy`` with ``Pi_0`` the ground-space projector.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import reduce

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import eigsh
from scipy.special import logsumexp

from qrspps.conventions import stress_probability_from_z
from qrspps.errors import ResourceLimitError
from qrspps.model.ising import IsingModel

log = logging.getLogger(__name__)

#: Eigenvalues closer than this (energy units) are one level, for degeneracies and histograms.
LEVEL_TOL = 1e-8
#: Default largest qubit count for the dense path (a 4096 x 4096 float64 matrix is 128 MiB).
DEFAULT_MAX_DENSE_QUBITS = 12
#: Default largest qubit count for the sparse path.
DEFAULT_MAX_SPARSE_QUBITS = 22

_PAULI = {
    "I": np.eye(2),
    "X": np.array([[0.0, 1.0], [1.0, 0.0]]),
    "Z": np.array([[1.0, 0.0], [0.0, -1.0]]),
}


@dataclass(frozen=True)
class DenseGroundState:
    """Low end of the spectrum from diagonalisation.

    Attributes:
        energy: ground energy ``E0``.
        first_excited_energy: next distinct level ``E1`` (``nan`` if none, see module docstring).
        gap: ``E1 - E0``.
        degeneracy: number of eigenvalues within ``LEVEL_TOL`` of ``E0`` (on the sparse path, as
            many as ARPACK returned; see :func:`dense_ground_state`).
        ground_vectors: orthonormal basis of the ground space, shape ``(2**n, degeneracy)``.
        stress: ground-space-averaged ``P_i = <(1 - Z_i)/2>``, shape ``(n,)``.
        method: ``"dense"`` or ``"sparse"``.
        wall_time_s: seconds spent.
    """

    energy: float
    first_excited_energy: float
    gap: float
    degeneracy: int
    ground_vectors: np.ndarray
    stress: np.ndarray
    method: str
    wall_time_s: float


@dataclass(frozen=True)
class DenseThermal:
    """Thermal state ``exp(-beta H) / Z`` from the full spectrum.

    Attributes:
        beta: inverse temperature (inverse energy units).
        log_partition_function: ``ln Tr exp(-beta H)``.
        free_energy: ``-ln Z / beta``.
        energy: ``<H>_beta``.
        stress: thermal ``P_i = <(1 - Z_i)/2>_beta``, shape ``(n,)``.
    """

    beta: float
    log_partition_function: float
    free_energy: float
    energy: float
    stress: np.ndarray


def _check_size(num_qubits: int, limit: int, bytes_needed: int, what: str) -> None:
    if num_qubits > limit:
        raise ResourceLimitError(
            f"{what} of {num_qubits} qubits requested: it needs about {bytes_needed} bytes; "
            f"the limit is {limit} qubits"
        )


def pauli_string_matrix(ops: dict[int, str], num_qubits: int) -> np.ndarray:
    """Dense matrix of a Pauli string: ``ops[q]`` in ``{"I", "X", "Z"}`` on qubit ``q``.

    Qubit 0 is the rightmost Kronecker factor (little-endian, :mod:`qrspps.conventions`).
    """
    factors = [_PAULI[ops.get(q, "I")] for q in reversed(range(num_qubits))]
    return reduce(np.kron, factors, np.eye(1))


def dense_hamiltonian(
    model: IsingModel, *, max_qubits: int = DEFAULT_MAX_DENSE_QUBITS
) -> np.ndarray:
    """Dense real matrix of ``H``, shape ``(2**n, 2**n)``, basis little-endian.

    Raises:
        ResourceLimitError: above ``max_qubits`` (message: qubits, bytes, limit).
    """
    n = model.num_qubits
    _check_size(n, max_qubits, 8 * 4**n, "a dense Hamiltonian")
    h = np.zeros((2**n, 2**n))
    for i in range(n):
        if model.z[i] != 0.0:
            h += model.z[i] * pauli_string_matrix({i: "Z"}, n)
        if model.x[i] != 0.0:
            h += model.x[i] * pauli_string_matrix({i: "X"}, n)
    for (i, j), c in zip(model.zz_pairs, model.zz):
        h += c * pauli_string_matrix({int(i): "Z", int(j): "Z"}, n)
    return h


def sparse_hamiltonian(
    model: IsingModel, *, max_qubits: int = DEFAULT_MAX_SPARSE_QUBITS
) -> sp.csr_array:
    """Sparse (CSR) matrix of ``H``, basis little-endian.

    The Z and ZZ part is diagonal; its diagonal is the Kronecker product of the 2-vectors
    ``diag(Z) = [1, -1]`` and ``diag(I) = [1, 1]``. Each X term is ``I (x) X (x) I`` built with
    ``scipy.sparse.kron``.

    Raises:
        ResourceLimitError: above ``max_qubits`` (message: qubits, bytes, limit).
    """
    n = model.num_qubits
    num_x = int(np.count_nonzero(model.x))
    _check_size(n, max_qubits, (12 * (1 + num_x) + 8) * 2**n, "a sparse Hamiltonian")
    ones, zdiag = np.ones(2), np.array([1.0, -1.0])

    def diag_of(qubits: set[int]) -> np.ndarray:
        return reduce(np.kron, [zdiag if q in qubits else ones for q in reversed(range(n))])

    diagonal = np.zeros(2**n)
    for i in np.flatnonzero(model.z):
        diagonal += model.z[i] * diag_of({int(i)})
    for (i, j), c in zip(model.zz_pairs, model.zz):
        diagonal += c * diag_of({int(i), int(j)})
    h = sp.diags_array(diagonal, format="csr")
    x = sp.csr_array(_PAULI["X"])
    for k in np.flatnonzero(model.x):
        term = sp.kron(sp.kron(sp.identity(2 ** (n - 1 - k)), x), sp.identity(2**k))
        h = h + model.x[k] * sp.csr_array(term)
    return sp.csr_array(h)


def _z_columns(num_qubits: int) -> np.ndarray:
    """``<b|Z_i|b>`` for every basis state b (little-endian), shape ``(2**n, n)``."""
    index = np.arange(2**num_qubits)
    return 1.0 - 2.0 * ((index[:, None] >> np.arange(num_qubits)[None, :]) & 1)


def spectrum_histogram(
    eigenvalues: np.ndarray, *, level_tol: float = LEVEL_TOL
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct levels (ascending, each group's lowest value) and their multiplicities.

    Sorted eigenvalues closer than ``level_tol`` to their lower neighbour are one level.
    """
    values = np.sort(np.asarray(eigenvalues, dtype=float))
    starts = np.concatenate(([0], np.flatnonzero(np.diff(values) > level_tol) + 1))
    counts = np.diff(np.append(starts, len(values)))
    return values[starts], counts.astype(np.int64)


def dense_spectrum(model: IsingModel, *, max_qubits: int = DEFAULT_MAX_DENSE_QUBITS) -> np.ndarray:
    """All ``2**n`` eigenvalues of ``H``, ascending (``numpy.linalg.eigvalsh``)."""
    return np.linalg.eigvalsh(dense_hamiltonian(model, max_qubits=max_qubits))


def _low_end(
    energies: np.ndarray, vectors: np.ndarray, num_qubits: int, level_tol: float
) -> tuple[float, float, int, np.ndarray, np.ndarray]:
    e0 = float(energies[0])
    ground = energies <= e0 + level_tol
    excited = energies[~ground]
    e1 = float(excited.min()) if excited.size else float("nan")
    basis = vectors[:, ground]
    # The diagonal of the ground projector does not depend on the basis chosen inside the space.
    weights = (np.abs(basis) ** 2).sum(axis=1)
    # ARPACK returns vectors normalised only to ~1e-15, which can push <Z> past -1; renormalise
    # the diagonal and clip the rounding so the result is a probability.
    weights /= weights.sum()
    stress = np.clip(stress_probability_from_z(weights @ _z_columns(num_qubits)), 0.0, 1.0)
    return e0, e1, int(ground.sum()), basis, np.asarray(stress)


def dense_ground_state(
    model: IsingModel,
    *,
    level_tol: float = LEVEL_TOL,
    max_dense_qubits: int = DEFAULT_MAX_DENSE_QUBITS,
    max_sparse_qubits: int = DEFAULT_MAX_SPARSE_QUBITS,
    num_eigenvalues: int = 6,
) -> DenseGroundState:
    """Ground energy, next distinct level, degeneracy, ground space and ground stress.

    Up to ``max_dense_qubits`` the full spectrum is computed (``eigh``); above, up to
    ``max_sparse_qubits``, ARPACK computes the ``num_eigenvalues`` lowest eigenpairs, doubling the
    count until one lies above the ground level.

    .. note:: On the sparse path a degenerate ground level may be under-counted: a Krylov method
       can miss copies of a repeated eigenvalue. Use the dense path (or
       :func:`qrspps.exact.structured.exact_ground_state`) when degeneracy matters.

    Raises:
        ResourceLimitError: above ``max_sparse_qubits`` (message: qubits, bytes, limit).
    """
    start = time.perf_counter()
    n = model.num_qubits
    if n <= max_dense_qubits:
        energies, vectors = np.linalg.eigh(dense_hamiltonian(model, max_qubits=max_dense_qubits))
        method = "dense"
    else:
        h = sparse_hamiltonian(model, max_qubits=max_sparse_qubits)
        k = min(num_eigenvalues, 2**n - 2)
        while True:
            energies, vectors = eigsh(h, k=k, which="SA")
            order = np.argsort(energies)
            energies, vectors = energies[order], vectors[:, order]
            if energies[-1] > energies[0] + level_tol or k >= 2**n - 2:
                break
            k = min(2 * k, 2**n - 2)
        method = "sparse"
    e0, e1, degeneracy, basis, stress = _low_end(energies, vectors, n, level_tol)
    wall = time.perf_counter() - start
    log.info("%s diagonalisation of %d qubits: E0 = %.12g (%.3f s)", method, n, e0, wall)
    return DenseGroundState(e0, e1, e1 - e0, degeneracy, basis, stress, method, wall)


def dense_log_partition_function(
    model: IsingModel, beta: float, *, max_qubits: int = DEFAULT_MAX_DENSE_QUBITS
) -> float:
    """``ln Z(beta) = ln Tr exp(-beta H)`` from the full spectrum."""
    return float(logsumexp(-beta * dense_spectrum(model, max_qubits=max_qubits)))


def dense_partition_function(
    model: IsingModel, beta: float, *, max_qubits: int = DEFAULT_MAX_DENSE_QUBITS
) -> float:
    """``Z(beta) = Tr exp(-beta H)``; overflows to ``inf`` for large ``beta |E0|``.

    Prefer :func:`dense_log_partition_function` for comparisons.
    """
    return float(np.exp(dense_log_partition_function(model, beta, max_qubits=max_qubits)))


def dense_thermal(
    model: IsingModel, beta: float, *, max_qubits: int = DEFAULT_MAX_DENSE_QUBITS
) -> DenseThermal:
    """Thermal ``ln Z``, free energy, ``<H>`` and stress ``P_i`` at inverse temperature ``beta``."""
    if not beta > 0.0:
        raise ValueError(f"beta must be > 0 (inverse energy units), was {beta}")
    energies, vectors = np.linalg.eigh(dense_hamiltonian(model, max_qubits=max_qubits))
    log_w = -beta * energies
    log_z = float(logsumexp(log_w))
    p = np.exp(log_w - log_z)
    diag_rho = (vectors**2) @ p
    stress = np.asarray(stress_probability_from_z(diag_rho @ _z_columns(model.num_qubits)))
    return DenseThermal(beta, log_z, -log_z / beta, float(p @ energies), stress)


def dense_characteristic_function(
    model: IsingModel, times: np.ndarray, *, max_qubits: int = DEFAULT_MAX_DENSE_QUBITS
) -> np.ndarray:
    """``chi(t) = Tr exp(-i H t) / 2**n`` at each time (complex, same shape as ``times``)."""
    t = np.asarray(times, dtype=float)
    energies = dense_spectrum(model, max_qubits=max_qubits)
    return np.exp(-1j * np.multiply.outer(t, energies)).mean(axis=-1)


def product_state_vector(amplitudes: np.ndarray) -> np.ndarray:
    """State vector of ``(x)_i (a_i |0> + b_i |1>)`` from rows ``[a_i, b_i]``, little-endian."""
    return reduce(
        lambda acc, row: np.kron(row, acc), np.asarray(amplitudes, dtype=complex), np.ones(1)
    )


def dense_survival_amplitude(
    model: IsingModel,
    product_state_amplitudes: np.ndarray,
    times: np.ndarray,
    *,
    max_qubits: int = DEFAULT_MAX_DENSE_QUBITS,
) -> np.ndarray:
    """``A(t) = <psi|exp(-i H t)|psi>`` for a product state given per node as ``[a_i, b_i]``."""
    psi = product_state_vector(product_state_amplitudes)
    energies, vectors = np.linalg.eigh(dense_hamiltonian(model, max_qubits=max_qubits))
    weights = np.abs(vectors.T @ psi) ** 2
    t = np.asarray(times, dtype=float)
    return np.exp(-1j * np.multiply.outer(t, energies)) @ weights
