"""Exact dynamics and spectrum of clustered transverse-field Ising models by elimination.

Built on the same decomposition as :mod:`qrspps.exact.structured` (classical nodes eliminated,
quantum clusters diagonalised): the characteristic function ``chi(t) = Tr exp(-i H t) / 2**n``,
the survival amplitude ``A(t) = <psi|exp(-i H t)|psi>`` of a product state, and the full spectrum
as a histogram of levels (the exact density of states). Conventions: :mod:`qrspps.conventions`.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from qrspps.errors import ResourceLimitError
from qrspps.exact.clusters import (
    DEFAULT_MAX_CLUSTER_QUBITS,
    ClusterSpectrum,
    PreparedModel,
    build_factors,
    prepare_model,
)
from qrspps.exact.dense import LEVEL_TOL
from qrspps.exact.elimination import DEFAULT_MAX_TABLE_ENTRIES, Factor, eliminate
from qrspps.exact.semirings import HistogramSemiring, Levels, SumProductSemiring, merge_levels
from qrspps.model.ising import IsingModel

log = logging.getLogger(__name__)

#: Default largest number of distinct levels :func:`exact_spectrum` keeps in one histogram.
DEFAULT_MAX_LEVELS = 2**20


def _time_chunk(prep: PreparedModel, max_table_entries: int) -> int:
    """Time points per pass so that no table (times included) exceeds ``max_table_entries``."""
    biggest = 2**prep.plan.width
    for s in prep.spectra:
        biggest = max(biggest, s.energies.size)
    return max(1, max_table_entries // biggest)


def _phase_factors(
    prep: PreparedModel, t: np.ndarray, classical_weights: dict[int, np.ndarray] | None
) -> list[Factor]:
    """Complex factors at times ``t``: phases ``exp(-i E t)`` with the block weights folded in.

    For chi every classical node carries 1/2 and a cluster the mean over its eigenvalues
    (together ``1 / 2**n``); for a survival amplitude a classical node carries ``|amp(s)|^2`` and a
    cluster the overlaps ``|<a|phi_K>|^2``.
    """

    def classical(e: np.ndarray) -> tuple[np.ndarray]:
        return (np.exp(-1j * np.multiply.outer(e, t)),)

    def cluster(_: int, s: ClusterSpectrum) -> tuple[np.ndarray]:
        phases = np.exp(-1j * np.multiply.outer(s.energies, t))
        if classical_weights is None:
            return (phases.mean(axis=1),)
        return (np.einsum("ra,rat->rt", s.overlaps, phases),)

    factors = build_factors(prep, classical, cluster)
    for f_index, (scope, _) in enumerate(prep.decomposition.classical_terms):
        # Each classical node has exactly one unary term; its weight goes there.
        if len(scope) == 1:
            (v,) = scope
            w = np.full(2, 0.5) if classical_weights is None else classical_weights[v]
            factors[f_index] = Factor(scope, (factors[f_index].table[0] * w[:, None],))
    return factors


def _phase_sums(
    prep: PreparedModel,
    times: np.ndarray,
    classical_weights: dict[int, np.ndarray] | None,
    max_table_entries: int,
) -> np.ndarray:
    """Weighted sum over all eigenstates of ``exp(-i E t)`` for flat ``times`` (chi and A)."""
    semiring = SumProductSemiring()
    out = np.empty(times.shape, dtype=complex)
    chunk = _time_chunk(prep, max_table_entries)
    for start in range(0, len(times), chunk):
        t = times[start : start + chunk]
        factors = _phase_factors(prep, t, classical_weights)
        unit = (np.ones(len(t), dtype=complex),)
        out[start : start + chunk] = eliminate(prep.plan, factors, semiring, unit=unit).root[0]
    return out


def exact_characteristic_function(
    model: IsingModel,
    times: np.ndarray,
    *,
    max_table_entries: int = DEFAULT_MAX_TABLE_ENTRIES,
    max_cluster_qubits: int = DEFAULT_MAX_CLUSTER_QUBITS,
) -> np.ndarray:
    """``chi(t) = Tr exp(-i H t) / 2**n`` (:mod:`qrspps.conventions`), exactly.

    Args:
        model: the Hamiltonian.
        times: times (inverse energy units), any shape.
        max_table_entries: largest table, time points included (times are processed in chunks).
        max_cluster_qubits: largest quantum cluster diagonalised.

    Returns:
        Complex array of the shape of ``times``.
    """
    t = np.asarray(times, dtype=float)
    prep = prepare_model(
        model, max_table_entries=max_table_entries, max_cluster_qubits=max_cluster_qubits
    )
    return _phase_sums(prep, t.ravel(), None, max_table_entries).reshape(t.shape)


def exact_survival_amplitude(
    model: IsingModel,
    product_state_amplitudes: np.ndarray,
    times: np.ndarray,
    *,
    max_table_entries: int = DEFAULT_MAX_TABLE_ENTRIES,
    max_cluster_qubits: int = DEFAULT_MAX_CLUSTER_QUBITS,
) -> np.ndarray:
    """``A(t) = <psi|exp(-i H t)|psi>`` for any product state ``psi = (x)_i (a_i|0> + b_i|1>)``.

    ``exp(-iHt)`` is block diagonal over the classical configurations, so cross terms between
    blocks vanish and ``A(t) = sum_blocks prod_(classical i) |amp_i(s_i)|^2 exp(-i t E_cl)
    prod_K <phi_K|exp(-i t H_K(s_N))|phi_K>``, which factorises as elimination needs. Every product
    state is therefore supported, classical nodes in superposition included; entangled states are
    not. The amplitudes are used as given (an unnormalised state gives ``A(0) = <psi|psi>``).

    Args:
        model: the Hamiltonian.
        product_state_amplitudes: complex array ``(n, 2)``, row ``i`` = ``[a_i, b_i]``: amplitudes
            of ``|0>`` (stable) and ``|1>`` (stressed) of node ``i``.
        times: times (inverse energy units), any shape.
        max_table_entries: largest table, time points included.
        max_cluster_qubits: largest quantum cluster diagonalised.

    Returns:
        Complex array of the shape of ``times``.
    """
    amps = np.asarray(product_state_amplitudes, dtype=complex)
    if amps.shape != (model.num_qubits, 2):
        raise ValueError(
            f"product_state_amplitudes must have shape ({model.num_qubits}, 2), was {amps.shape}"
        )
    t = np.asarray(times, dtype=float)
    prep = prepare_model(
        model,
        max_table_entries=max_table_entries,
        max_cluster_qubits=max_cluster_qubits,
        product_state=amps,
    )
    weights = {v: np.abs(amps[v]) ** 2 for v in prep.decomposition.classical}
    return _phase_sums(prep, t.ravel(), weights, max_table_entries).reshape(t.shape)


def exact_spectrum(
    model: IsingModel,
    *,
    level_tol: float = LEVEL_TOL,
    max_levels: int = DEFAULT_MAX_LEVELS,
    max_table_entries: int = DEFAULT_MAX_TABLE_ENTRIES,
    max_cluster_qubits: int = DEFAULT_MAX_CLUSTER_QUBITS,
) -> tuple[np.ndarray, np.ndarray]:
    """All ``2**n`` eigenvalues as a histogram: the exact density of states.

    Args:
        model: the Hamiltonian.
        level_tol: eigenvalues closer than this (energy units) are one level.
        max_levels: most distinct levels any intermediate histogram may hold.
        max_table_entries: largest elimination table.
        max_cluster_qubits: largest quantum cluster diagonalised.

    Returns:
        ``(energies, multiplicities)``: distinct levels ascending and int64 counts summing to
        ``2**n``; the DOS of :mod:`qrspps.conventions` is ``multiplicities / 2**n``.

    Raises:
        ResourceLimitError: too many distinct levels, more than 62 qubits (counts would overflow
            int64), or a cluster or the elimination width exceeds its limit.
    """
    if model.num_qubits > 62:
        raise ResourceLimitError(
            "exact_spectrum counts multiplicities in int64: at most 62 qubits, got "
            f"{model.num_qubits}"
        )
    start = time.perf_counter()
    prep = prepare_model(
        model, max_table_entries=max_table_entries, max_cluster_qubits=max_cluster_qubits
    )
    semiring = HistogramSemiring(level_tol, max_levels)

    def classical(e: np.ndarray) -> tuple[np.ndarray]:
        out = np.empty(e.shape, dtype=object)
        for index in np.ndindex(e.shape):
            out[index] = Levels(np.array([e[index]]), np.ones(1, dtype=np.int64))
        return (out,)

    def cluster(_: int, s: ClusterSpectrum) -> tuple[np.ndarray]:
        out = np.empty(len(s.energies), dtype=object)
        for r, row in enumerate(s.energies):
            out[r] = Levels(*merge_levels(row, np.ones(len(row), dtype=np.int64), level_tol))
        return (out,)

    unit = np.empty((), dtype=object)
    unit[()] = Levels(np.zeros(1), np.ones(1, dtype=np.int64))
    levels = eliminate(
        prep.plan, build_factors(prep, classical, cluster), semiring, unit=(unit,)
    ).root[0]
    levels = levels[()] if isinstance(levels, np.ndarray) else levels
    log.info(
        "exact spectrum of %d qubits: %d distinct levels (%.3f s)",
        model.num_qubits,
        len(levels.values),
        time.perf_counter() - start,
    )
    return levels.values, levels.counts
