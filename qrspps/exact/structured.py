"""Structure-aware exact solver for transverse-field Ising models with few, clustered X terms.

``H`` commutes with ``Z_i`` on every classical node (no X term), so it is block diagonal over their
Z configurations; inside a block only small quantum clusters remain
(:mod:`qrspps.exact.clusters`). Each cluster acts as a factor over its classical neighbours, the
classical Z and ZZ terms as unary and pairwise factors, and the classical nodes are summed out by
bucket elimination (:mod:`qrspps.exact.elimination`) in the semiring
(:mod:`qrspps.exact.semirings`) the quantity needs:

==============================  =============================================================
quantity                        semiring (cluster factor given its neighbours' spins)
==============================  =============================================================
``E0``, degeneracy, ``E1``      two lowest distinct levels with counts (cluster's two lowest)
ground stress, configuration    min-count, calibrated (cluster's ground energy, degeneracy)
``ln Z``, ``<H>``, stress       log-sum-exp, calibrated (``ln sum_a exp(-beta eps_a)``)
``chi(t)``, ``A(t)``            complex sum-product (``sum_a w_a exp(-i eps_a t)``)
spectrum histogram              multisets of levels (the cluster's eigenvalues)
==============================  =============================================================

Everything is exact up to floating point; the cost is exponential only in the elimination width
and the cluster sizes, both checked before any numerical work. Conventions (signs of ``H``,
stress ``P_i = <(1 - Z_i)/2>``, ``chi(t) = Tr exp(-iHt) / 2**n``, little-endian bits) are those
of :mod:`qrspps.conventions`; level definitions (``E1`` is the next *distinct* level, degeneracy
within ``level_tol``, ground stress averaged over the ground space) match
:mod:`qrspps.exact.dense`. The dynamics and spectrum functions live in
:mod:`qrspps.exact.spectral` and are re-exported here.

.. note:: A cluster's ground state is never degenerate (its X terms connect every basis state, and
   after flipping the signs of the basis states to make all off-diagonal entries non-positive the
   Perron-Frobenius theorem applies), so ground degeneracy only ever comes from the classical
   nodes; the code does not rely on this.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import softmax

from qrspps.errors import ResourceLimitError
from qrspps.exact.clusters import (
    DEFAULT_MAX_CLUSTER_QUBITS,
    Cluster,
    ClusterSpectrum,
    build_factors,
    cluster_factor_index,
    decompose,
    ground_space_stress,
    prepare_model,
    solve_cluster,
)
from qrspps.exact.dense import LEVEL_TOL
from qrspps.exact.elimination import (
    DEFAULT_MAX_TABLE_ENTRIES,
    backtrack_argmin,
    calibrate,
    eliminate,
    marginal,
)
from qrspps.exact.semirings import (
    LogSumExpSemiring,
    MinCountSemiring,
    TwoLevelSemiring,
    log_sum_exp,
    two_lowest_levels,
)
from qrspps.exact.spectral import (
    DEFAULT_MAX_LEVELS,
    exact_characteristic_function,
    exact_spectrum,
    exact_survival_amplitude,
)
from qrspps.model.ising import IsingModel

__all__ = [
    "DEFAULT_MAX_CLUSTER_QUBITS",
    "DEFAULT_MAX_LEVELS",
    "DEFAULT_MAX_TABLE_ENTRIES",
    "GroundStateResult",
    "ThermalResult",
    "block_ground_energy",
    "exact_characteristic_function",
    "exact_ground_state",
    "exact_spectrum",
    "exact_survival_amplitude",
    "exact_thermal",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GroundStateResult:
    """Exact low end of the spectrum.

    Attributes:
        energy: ground energy ``E0`` (energy units).
        first_excited_energy: lowest eigenvalue more than ``level_tol`` above ``E0`` (the next
            distinct level); ``nan`` when every eigenvalue equals ``E0``.
        gap: ``E1 - E0`` (``nan`` likewise).
        degeneracy: number of eigenvalues within ``level_tol`` of ``E0`` (exact below 2**53).
        stress: ``P_i = <(1 - Z_i)/2>`` averaged uniformly over the ground space, shape ``(n,)``.
        configuration: bits (1 = stressed) of one ground state: classical nodes from one optimal
            configuration; quantum nodes 1 where their stress in that block's cluster ground space
            exceeds 1/2.
        method: name of the method.
        wall_time_s: seconds spent.
        elimination_width: largest number of classical variables in one table.
        num_clusters: number of quantum clusters.
        max_cluster_qubits: size of the largest cluster (0 without X terms).
    """

    energy: float
    first_excited_energy: float
    gap: float
    degeneracy: int
    stress: np.ndarray
    configuration: np.ndarray
    method: str
    wall_time_s: float
    elimination_width: int = 0
    num_clusters: int = 0
    max_cluster_qubits: int = 0


@dataclass(frozen=True)
class ThermalResult:
    """Exact thermal state ``exp(-beta H) / Z``.

    Attributes:
        beta: inverse temperature (inverse energy units, ``k_B = 1``).
        log_partition_function: ``ln Z(beta) = ln Tr exp(-beta H)``.
        free_energy: ``-ln Z / beta``.
        energy: ``<H>_beta``.
        stress: ``P_i = <(1 - Z_i)/2>_beta``, shape ``(n,)``.
        wall_time_s: seconds spent.
    """

    beta: float
    log_partition_function: float
    free_energy: float
    energy: float
    stress: np.ndarray
    wall_time_s: float = 0.0


def _scalar(value: float) -> np.ndarray:
    return np.array(value, dtype=float)


# --------------------------------------------------------------------------- ground state


def exact_ground_state(
    model: IsingModel,
    *,
    level_tol: float = LEVEL_TOL,
    max_table_entries: int = DEFAULT_MAX_TABLE_ENTRIES,
    max_cluster_qubits: int = DEFAULT_MAX_CLUSTER_QUBITS,
) -> GroundStateResult:
    """Exact ground energy, next distinct level, degeneracy and ground-space stress.

    Args:
        model: the Hamiltonian (:mod:`qrspps.conventions` for signs).
        level_tol: eigenvalues closer than this (energy units) are one level.
        max_table_entries: largest elimination table (``2**width`` configurations).
        max_cluster_qubits: largest quantum cluster diagonalised.

    Raises:
        ResourceLimitError: a cluster or the elimination width exceeds its limit, or the ground
            degeneracy overflows float64 (more than ~1000 free nodes).
    """
    start = time.perf_counter()
    prep = prepare_model(
        model, max_table_entries=max_table_entries, max_cluster_qubits=max_cluster_qubits
    )
    unit_e, unit_c = _scalar(0.0), _scalar(1.0)

    # Pass 1: the two lowest distinct levels of the whole spectrum, with multiplicities.
    def two_level_cluster(_: int, s: ClusterSpectrum) -> tuple[np.ndarray, ...]:
        return two_lowest_levels(s.energies, np.ones_like(s.energies), level_tol)

    two = TwoLevelSemiring(level_tol)
    factors = build_factors(
        prep,
        lambda e: (e, np.ones_like(e), np.full_like(e, np.inf), np.zeros_like(e)),
        two_level_cluster,
    )
    # Counts of astronomically degenerate models overflow to inf; that is caught just below.
    with np.errstate(over="ignore", invalid="ignore"):
        root = eliminate(
            prep.plan, factors, two, unit=(unit_e, unit_c, _scalar(np.inf), _scalar(0.0))
        ).root
    e0, degeneracy, e1 = float(root[0]), float(root[1]), float(root[2])
    if not np.isfinite(degeneracy):
        raise ResourceLimitError(
            f"the ground degeneracy of this {model.num_qubits}-qubit model exceeds the float64 "
            "range used to count it (about 2**1024)"
        )
    if not np.isfinite(e1):
        e1 = float("nan")

    # Pass 2: min-count with calibration gives how many ground states have each local value.
    ground = [ground_space_stress(s, level_tol) for s in prep.spectra]
    mc = MinCountSemiring(level_tol)
    factors = build_factors(
        prep,
        lambda e: (e, np.ones_like(e)),
        lambda k, s: (s.energies[:, 0], ground[k][0].astype(float)),
    )
    run = eliminate(prep.plan, factors, mc, unit=(unit_e, unit_c), keep_tables=True)
    beliefs = calibrate(prep.plan, run, mc)

    n = model.num_qubits
    stress = np.zeros(n)
    for v in prep.plan.order:
        e, c = marginal(mc, beliefs[v], prep.plan.bucket_scope[v], (v,))
        w = np.where(e <= e.min() + level_tol, c, 0.0)
        stress[v] = w[1] / w.sum()
    assignment = backtrack_argmin(prep.plan, run)
    configuration = np.zeros(n, dtype=np.int8)
    for v, bit in assignment.items():
        configuration[v] = bit

    for k, spectrum in enumerate(prep.spectra):
        cluster = spectrum.cluster
        _, local_stress = ground[k]
        if cluster.neighbours:
            v = prep.plan.factor_bucket[cluster_factor_index(prep, k)]
            e, c = marginal(mc, beliefs[v], prep.plan.bucket_scope[v], cluster.neighbours)
            w = np.where(e <= e.min() + level_tol, c, 0.0).ravel()
            row = int(np.ravel_multi_index([assignment[u] for u in cluster.neighbours], e.shape))
        else:
            w, row = np.ones(1), 0
        stress[list(cluster.nodes)] = w @ local_stress / w.sum()
        configuration[list(cluster.nodes)] = local_stress[row] > 0.5

    wall = time.perf_counter() - start
    log.info(
        "exact ground state of %d qubits: E0 = %.12g, degeneracy %d, gap %.6g "
        "(width %d, %d clusters, %.3f s)",
        n,
        e0,
        round(degeneracy),
        e1 - e0,
        prep.plan.width,
        len(prep.spectra),
        wall,
    )
    return GroundStateResult(
        energy=e0,
        first_excited_energy=e1,
        gap=e1 - e0,
        degeneracy=round(degeneracy),
        stress=stress,
        configuration=configuration,
        method="structured-elimination",
        wall_time_s=wall,
        elimination_width=prep.plan.width,
        num_clusters=len(prep.spectra),
        max_cluster_qubits=prep.max_cluster,
    )


def block_ground_energy(model: IsingModel, bits: np.ndarray) -> float:
    """Lowest energy inside the classical block fixed by ``bits`` (quantum nodes' bits ignored).

    It is the Z and ZZ energy of the classical nodes plus each cluster's lowest eigenvalue given
    its neighbours' spins: a direct check of a returned ground configuration.
    """
    decomposition = decompose(model)
    bits = np.asarray(bits)
    spins = 1.0 - 2.0 * bits
    energy = 0.0
    for scope, table in decomposition.classical_terms:
        energy += float(table[tuple(int(bits[v]) for v in scope)])
    for c in decomposition.clusters:
        fixed = Cluster(
            c.nodes,
            (),
            c.field + c.coupling @ spins[list(c.neighbours)],
            np.zeros((c.num_qubits, 0)),
            c.internal,
            c.transverse,
        )
        energy += float(solve_cluster(fixed).energies[0, 0])
    return energy


# --------------------------------------------------------------------------- thermal


def exact_thermal(
    model: IsingModel,
    beta: float,
    *,
    max_table_entries: int = DEFAULT_MAX_TABLE_ENTRIES,
    max_cluster_qubits: int = DEFAULT_MAX_CLUSTER_QUBITS,
) -> ThermalResult:
    """Exact ``ln Z(beta)``, free energy, thermal energy and thermal stress.

    Marginals come from one forward and one backward (calibration) pass in the log domain, so the
    stress of every node costs no more than ``ln Z``.

    Args:
        model: the Hamiltonian.
        beta: inverse temperature, ``> 0`` (inverse energy units).
        max_table_entries: largest elimination table (``2**width`` configurations).
        max_cluster_qubits: largest quantum cluster diagonalised.

    Raises:
        ValueError: ``beta`` is not positive and finite.
        ResourceLimitError: a cluster or the elimination width exceeds its limit.
    """
    if not (np.isfinite(beta) and beta > 0.0):
        raise ValueError(f"beta must be a finite number > 0 (inverse energy units), was {beta}")
    start = time.perf_counter()
    prep = prepare_model(
        model, max_table_entries=max_table_entries, max_cluster_qubits=max_cluster_qubits
    )
    semiring = LogSumExpSemiring()
    factors = build_factors(
        prep, lambda e: (-beta * e,), lambda _, s: (log_sum_exp(-beta * s.energies, axis=1),)
    )
    run = eliminate(prep.plan, factors, semiring, unit=(_scalar(0.0),), keep_tables=True)
    beliefs = calibrate(prep.plan, run, semiring)
    log_z = float(run.root[0])

    def probabilities(v: int, keep: tuple[int, ...]) -> np.ndarray:
        (table,) = marginal(semiring, beliefs[v], prep.plan.bucket_scope[v], keep)
        return np.exp(table - log_sum_exp(table))

    n = model.num_qubits
    stress = np.zeros(n)
    energy = 0.0
    for v in prep.plan.order:
        stress[v] = probabilities(v, (v,))[1]
    for (scope, table), v in zip(prep.decomposition.classical_terms, prep.plan.factor_bucket):
        energy += float((probabilities(v, scope) * table).sum())
    for k, spectrum in enumerate(prep.spectra):
        cluster = spectrum.cluster
        local = softmax(-beta * spectrum.energies, axis=1)
        local_energy = (local * spectrum.energies).sum(axis=1)
        local_stress = (1.0 - np.einsum("ra,raj->rj", local, spectrum.z_expectation)) / 2.0
        if cluster.neighbours:
            v = prep.plan.factor_bucket[cluster_factor_index(prep, k)]
            p = probabilities(v, cluster.neighbours).ravel()
        else:
            p = np.ones(1)
        energy += float(p @ local_energy)
        stress[list(cluster.nodes)] = p @ local_stress

    wall = time.perf_counter() - start
    log.info(
        "exact thermal state of %d qubits at beta = %g: ln Z = %.12g (%.3f s)", n, beta, log_z, wall
    )
    return ThermalResult(beta, log_z, -log_z / beta, energy, stress, wall)


def log_partition_function(
    model: IsingModel,
    *,
    max_table_entries: int = DEFAULT_MAX_TABLE_ENTRIES,
    max_cluster_qubits: int = DEFAULT_MAX_CLUSTER_QUBITS,
) -> Callable[[np.ndarray], np.ndarray]:
    """``betas -> ln Z(beta) = ln Tr exp(-beta H)`` for any sign of ``beta``, forward pass only.

    Unlike :func:`exact_thermal` this accepts ``beta <= 0`` (``beta < 0`` weighs the top of the
    spectrum: ``Z_H(beta) = Z_{-H}(-beta)``), which the tail bound of :mod:`qrspps.risk.tailrisk`
    needs. The model is prepared (clusters diagonalised, elimination planned) once, here; every
    call of the returned function is one elimination per ``beta``.

    Raises:
        ResourceLimitError: a cluster or the elimination width exceeds its limit (at once).
        ValueError: from the returned function, for a ``beta`` that is not finite.
    """
    prep = prepare_model(
        model, max_table_entries=max_table_entries, max_cluster_qubits=max_cluster_qubits
    )
    semiring = LogSumExpSemiring()

    def log_z(betas: np.ndarray) -> np.ndarray:
        betas = np.atleast_1d(np.asarray(betas, dtype=float))
        if not np.all(np.isfinite(betas)):
            raise ValueError(f"every beta must be finite (inverse energy units), got {betas}")
        out = np.empty(len(betas))
        for i, beta in enumerate(betas):
            factors = build_factors(
                prep,
                lambda e, b=beta: (-b * e,),
                lambda _, s, b=beta: (log_sum_exp(-b * s.energies, axis=1),),
            )
            out[i] = float(eliminate(prep.plan, factors, semiring, unit=(_scalar(0.0),)).root[0])
        return out

    return log_z
