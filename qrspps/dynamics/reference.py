"""Exact local spectrum of any state vector, entangled ones included (small n, few shocks).

The structured solver (:mod:`qrspps.exact.spectral`) handles product states. The VQE state is
entangled, so its exact survival amplitude needs another route. ``H`` commutes with ``Z_i`` on every
node without an X term (:mod:`qrspps.conventions`), so it is block diagonal over the configurations
``c`` of those classical nodes; each block acts on the ``m`` shocked nodes only,

    ``H_c = diag(E_cl(c, q)) + sum_k x_k X_k``  (``2**m x 2**m``).

Diagonalising every block (batched ``numpy.linalg.eigh``) gives all eigenpairs, hence the exact
local spectrum ``{(E_a, |<a|psi>|^2)}`` of any state vector and its survival amplitude
``A(t) = sum_a |<a|psi>|^2 exp(-i E_a t)``. Cost ``O(2**n 4**m)`` time and ``O(2**n)`` memory, so it
is meant for ``n`` up to ~22 and few shocked nodes (both limits checked before any work).
"""

from __future__ import annotations

import logging
from functools import reduce

import numpy as np

from qrspps.errors import ResourceLimitError
from qrspps.model.ising import IsingModel

log = logging.getLogger(__name__)

#: Default largest qubit count (a complex state of 22 qubits is 64 MiB).
DEFAULT_MAX_QUBITS = 22
#: Default largest number of shocked nodes (blocks of 2**10 = 1024 rows).
DEFAULT_MAX_BLOCK_QUBITS = 10
#: Levels are dropped in increasing weight while their total weight stays below this; it bounds
#: the error this adds to ``A(t)``.
DROPPED_WEIGHT = 1e-14
#: Matrix entries of one batch of blocks.
_BATCH_ENTRIES = 2**22


def _block_layout(model: IsingModel, vector: np.ndarray) -> np.ndarray:
    """``vector`` (little-endian, length ``2**n``) as ``(2**(n-m), 2**m)``: rows = classical
    configurations, columns = shocked-node configurations with the first shocked node most
    significant."""
    n = model.num_qubits
    quantum = list(model.quantum_nodes)
    classical = [q for q in range(n) if q not in set(quantum)]
    # reshape([2] * n) puts qubit n - 1 on axis 0 (little-endian index).
    axes = [n - 1 - q for q in classical] + [n - 1 - q for q in quantum]
    return vector.reshape([2] * n).transpose(axes).reshape(2 ** len(classical), 2 ** len(quantum))


def exact_local_spectrum(
    model: IsingModel,
    state: np.ndarray,
    *,
    max_qubits: int = DEFAULT_MAX_QUBITS,
    max_block_qubits: int = DEFAULT_MAX_BLOCK_QUBITS,
) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues of ``H`` weighted by the overlaps of ``state``, exactly.

    Args:
        model: the Hamiltonian.
        state: little-endian state vector of length ``2**n`` (normalised here).
        max_qubits: refuse larger ``n``.
        max_block_qubits: refuse more shocked nodes.

    Returns:
        ``(energies, weights)`` sorted by energy; weights sum to 1 up to :data:`DROPPED_WEIGHT`.

    Raises:
        ResourceLimitError: above either limit (the message names both sizes).
    """
    n = model.num_qubits
    quantum = model.quantum_nodes
    m = len(quantum)
    if n > max_qubits or m > max_block_qubits:
        raise ResourceLimitError(
            f"exact local spectrum of {n} qubits with {m} shocked nodes: the limits are "
            f"{max_qubits} qubits and {max_block_qubits} shocked nodes (memory 16 * 2**n bytes, "
            f"time 2**n * 4**m)"
        )
    psi = np.asarray(state, dtype=complex)
    if psi.shape != (2**n,):
        raise ValueError(f"state must have shape ({2**n},), got {psi.shape}")
    psi = _block_layout(model, psi / np.linalg.norm(psi))
    diag = _block_layout(model, model.diagonal())

    pauli_x = np.array([[0.0, 1.0], [1.0, 0.0]])
    identity = np.eye(2)
    x_part = np.zeros((2**m, 2**m))
    for pos, k in enumerate(quantum):
        factors = [pauli_x if p == pos else identity for p in range(m)]
        x_part += model.x[k] * reduce(np.kron, factors, np.ones((1, 1)))

    energies = np.empty(diag.shape)
    weights = np.empty(diag.shape)
    batch = max(1, _BATCH_ENTRIES // 4**m)
    for start in range(0, len(diag), batch):
        d = diag[start : start + batch]
        blocks = x_part[None, :, :] + d[:, :, None] * np.eye(2**m)[None, :, :]
        values, vectors = np.linalg.eigh(blocks)
        overlaps = np.einsum("bja,bj->ba", vectors, psi[start : start + batch])
        energies[start : start + batch] = values
        weights[start : start + batch] = np.abs(overlaps) ** 2

    energies, weights = energies.ravel(), weights.ravel()
    order = np.argsort(weights)
    dropped = np.searchsorted(np.cumsum(weights[order]), DROPPED_WEIGHT)
    keep = order[dropped:]
    keep = keep[np.argsort(energies[keep])]
    log.debug("exact local spectrum: %d of %d levels kept", len(keep), len(energies))
    return energies[keep], weights[keep]


def survival_amplitude_from_spectrum(
    energies: np.ndarray, weights: np.ndarray, times: np.ndarray
) -> np.ndarray:
    """``A(t) = sum_a w_a exp(-i E_a t)`` at each time (:mod:`qrspps.conventions`)."""
    times = np.asarray(times, dtype=float)
    out = np.empty(times.shape, dtype=complex)
    chunk = max(1, _BATCH_ENTRIES // max(1, len(energies)))
    for start in range(0, len(times), chunk):
        t = times[start : start + chunk]
        out[start : start + chunk] = np.exp(-1j * np.multiply.outer(t, energies)) @ weights
    return out
