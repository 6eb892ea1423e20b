"""Exact references that fall back to diagonalisation when the structured solver refuses.

The structure-aware solver (:mod:`qrspps.exact.structured`) refuses a model whose quantum cluster
or elimination width exceeds its limits, with a :class:`~qrspps.errors.ResourceLimitError` that
names the sizes. When the whole problem is small, diagonalisation still gives the exact answer:

- ground state: sparse (ARPACK) or dense diagonalisation up to
  :data:`qrspps.exact.dense.DEFAULT_MAX_SPARSE_QUBITS` qubits;
- thermal state: the full spectrum (``eigh``) up to
  :data:`qrspps.exact.dense.DEFAULT_MAX_DENSE_QUBITS` qubits.

Beyond those sizes the refusal is re-raised with both limits in the message. A fallback is logged
at WARNING and named in the result's ``method`` (``"sparse (structured solver refused: ...)"``),
so a run says which method produced its reference.

NOTE: on the sparse path a degenerate ground level may be under-counted (see
:func:`qrspps.exact.dense.dense_ground_state`); the ground configuration is the most probable basis
state of the first ground vector.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from scipy.special import logsumexp

from qrspps.conventions import stress_probability_from_z
from qrspps.errors import ResourceLimitError
from qrspps.exact.dense import (
    DEFAULT_MAX_DENSE_QUBITS,
    DEFAULT_MAX_SPARSE_QUBITS,
    dense_ground_state,
    dense_hamiltonian,
)
from qrspps.exact.structured import (
    GroundStateResult,
    ThermalResult,
    exact_ground_state,
    exact_thermal,
)
from qrspps.model.ising import IsingModel

log = logging.getLogger(__name__)


def _refused(refusal: ResourceLimitError, model: IsingModel, limit: int, what: str) -> None:
    if model.num_qubits > limit:
        raise ResourceLimitError(
            f"{refusal}; the {what} fallback allows up to {limit} qubits and the model has "
            f"{model.num_qubits}"
        ) from refusal
    log.warning(
        "structured solver refused (%s); falling back to %s of %d qubits",
        refusal,
        what,
        model.num_qubits,
    )


def ground_state_with_fallback(
    model: IsingModel,
    *,
    max_sparse_qubits: int = DEFAULT_MAX_SPARSE_QUBITS,
    **limits: int,
) -> GroundStateResult:
    """:func:`~qrspps.exact.structured.exact_ground_state`, else diagonalisation (module docstring).

    Args:
        model: the Hamiltonian.
        max_sparse_qubits: largest model diagonalised when the structured solver refuses.
        limits: ``max_table_entries`` / ``max_cluster_qubits`` of the structured solver.

    Raises:
        ResourceLimitError: the structured solver refuses and the model is larger than
            ``max_sparse_qubits``.
    """
    try:
        return exact_ground_state(model, **limits)
    except ResourceLimitError as refusal:
        _refused(refusal, model, max_sparse_qubits, "sparse diagonalisation")
        dense = dense_ground_state(model, max_sparse_qubits=max_sparse_qubits)
        index = int(np.argmax(np.abs(dense.ground_vectors[:, 0])))
        bits = (index >> np.arange(model.num_qubits)) & 1  # little-endian, qrspps.conventions
        return GroundStateResult(
            dense.energy,
            dense.first_excited_energy,
            dense.gap,
            dense.degeneracy,
            dense.stress,
            bits.astype(np.int8),
            f"{dense.method} (structured solver refused: {refusal})",
            dense.wall_time_s,
        )


def thermal_with_fallback(
    model: IsingModel,
    beta: float,
    *,
    max_dense_qubits: int = DEFAULT_MAX_DENSE_QUBITS,
    **limits: int,
) -> ThermalResult:
    """:func:`~qrspps.exact.structured.exact_thermal`, else the full spectrum (module docstring).

    Raises:
        ResourceLimitError: the structured solver refuses and the model is larger than
            ``max_dense_qubits``.
    """
    try:
        return exact_thermal(model, beta, **limits)
    except ResourceLimitError as refusal:
        _refused(refusal, model, max_dense_qubits, "full diagonalisation")
        start = time.perf_counter()
        energies, vectors = np.linalg.eigh(dense_hamiltonian(model, max_qubits=max_dense_qubits))
        log_z = float(logsumexp(-beta * energies))
        weights = np.exp(-beta * energies - log_z)
        populations = (np.abs(vectors) ** 2) @ weights  # thermal weight of each basis state
        bits = (np.arange(len(populations))[:, None] >> np.arange(model.num_qubits)) & 1
        z_expectation = populations @ (1.0 - 2.0 * bits)
        return ThermalResult(
            beta,
            log_z,
            -log_z / beta,
            float(weights @ energies),
            np.asarray(stress_probability_from_z(z_expectation)),
            time.perf_counter() - start,
        )
