"""Split an Ising model into classical nodes and quantum clusters, and solve each cluster.

Nodes without an X term ("classical") have a conserved Z, so ``H`` is block diagonal over their
Z configurations. The X-carrying ("quantum") nodes fall into clusters: connected components of the
ZZ graph induced on them. Clusters never couple to each other directly, so inside one classical
block ``H`` is a classical energy plus a sum of commuting cluster Hamiltonians

    ``H_K(s_N) = sum_(i in K) (z_i + sum_(j in N(K)) c_ij s_j) Z_i + sum_(i<j in K) c_ij Z_i Z_j
    + sum_(i in K) x_i X_i``,

where ``s_N`` are the spins (``s = 1 - 2 bit``, :mod:`qrspps.conventions`) of the cluster's
classical neighbours ``N(K)``. This module builds that decomposition and diagonalises every
``H_K(s_N)`` for all ``2**|N(K)|`` neighbour configurations, and :func:`prepare_model` bundles
both with the elimination plan over the classical nodes.

Row layout: row ``r`` of a cluster's tables is the neighbour configuration whose bits, read with
``neighbours[0]`` as the most significant, spell ``r`` (C order, so ``reshape((2,) * |N|)`` gives
one axis per neighbour). Inside a cluster the local basis is little-endian over ``nodes``
(``nodes[0]`` is bit 0), as everywhere in the package.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components

from qrspps.errors import ResourceLimitError
from qrspps.exact.elimination import EliminationPlan, Factor, plan_elimination
from qrspps.model.ising import IsingModel

log = logging.getLogger(__name__)

#: Default largest cluster (qubits) the solver diagonalises densely.
DEFAULT_MAX_CLUSTER_QUBITS = 12

#: Matrix entries diagonalised per numpy batch; bounds the temporary memory (~256 MiB).
_BATCH_ENTRIES = 2**25


@dataclass(frozen=True)
class Cluster:
    """A connected set of quantum nodes and its classical neighbours.

    Attributes:
        nodes: quantum node ids, ascending; ``nodes[j]`` is local bit ``j``.
        neighbours: classical node ids coupled to the cluster by ZZ terms, ascending.
        field: ``z_i`` of the cluster nodes, shape ``(k,)``.
        coupling: ``c_ij`` between cluster node ``i`` and neighbour ``j``, shape ``(k, |N|)``.
        internal: ZZ terms inside the cluster as ``(local_a, local_b, c)``.
        transverse: ``x_i`` of the cluster nodes, shape ``(k,)``.
    """

    nodes: tuple[int, ...]
    neighbours: tuple[int, ...]
    field: np.ndarray
    coupling: np.ndarray
    internal: tuple[tuple[int, int, float], ...]
    transverse: np.ndarray

    @property
    def num_qubits(self) -> int:
        """Number of quantum nodes in the cluster."""
        return len(self.nodes)


@dataclass(frozen=True)
class Decomposition:
    """Classical energy terms and quantum clusters of a model.

    Attributes:
        classical: classical node ids, ascending.
        classical_terms: ``(scope, energy table)`` pairs; unary tables ``[z, -z]`` for every
            classical node (zero when it has no field) and pair tables ``c * s_i s_j``.
        clusters: the quantum clusters.
    """

    classical: tuple[int, ...]
    classical_terms: tuple[tuple[tuple[int, ...], np.ndarray], ...]
    clusters: tuple[Cluster, ...]


def decompose(model: IsingModel) -> Decomposition:
    """Find the classical nodes, classical energy terms and quantum clusters of ``model``.

    ZZ terms with a zero coefficient are ignored: they neither couple nor join clusters.
    """
    n = model.num_qubits
    quantum = model.x != 0.0
    pairs = [(int(i), int(j), float(c)) for (i, j), c in zip(model.zz_pairs, model.zz) if c != 0.0]

    classical = tuple(int(i) for i in np.flatnonzero(~quantum))
    terms: list[tuple[tuple[int, ...], np.ndarray]] = [
        ((i,), np.array([model.z[i], -model.z[i]], dtype=float)) for i in classical
    ]
    for i, j, c in pairs:
        if not quantum[i] and not quantum[j]:
            terms.append(((i, j), np.array([[c, -c], [-c, c]])))

    qq = [(i, j) for i, j, _ in pairs if quantum[i] and quantum[j]]
    rows = [i for i, _ in qq]
    cols = [j for _, j in qq]
    graph = coo_array((np.ones(len(qq)), (rows, cols)), shape=(n, n))
    _, label = connected_components(graph, directed=False)

    clusters = []
    for lab in np.unique(label[quantum]):
        nodes = tuple(int(i) for i in np.flatnonzero(quantum & (label == lab)))
        local = {q: k for k, q in enumerate(nodes)}
        nbrs = sorted(
            {j for i, j, _ in pairs if i in local and not quantum[j]}
            | {i for i, j, _ in pairs if j in local and not quantum[i]}
        )
        slot = {q: k for k, q in enumerate(nbrs)}
        coupling = np.zeros((len(nodes), len(nbrs)))
        internal = []
        for i, j, c in pairs:
            if i in local and j in local:
                internal.append((local[i], local[j], c))
            elif i in local and j in slot:
                coupling[local[i], slot[j]] += c
            elif j in local and i in slot:
                coupling[local[j], slot[i]] += c
        clusters.append(
            Cluster(
                nodes,
                tuple(nbrs),
                model.z[list(nodes)].astype(float),
                coupling,
                tuple(internal),
                model.x[list(nodes)].astype(float),
            )
        )
    return Decomposition(classical, tuple(terms), tuple(clusters))


def neighbour_spins(num_neighbours: int) -> np.ndarray:
    """Spins of every neighbour configuration in row order, shape ``(2**m, m)``."""
    if num_neighbours == 0:
        return np.zeros((1, 0))
    bits = np.indices((2,) * num_neighbours).reshape(num_neighbours, -1).T
    return 1.0 - 2.0 * bits


def local_spins(num_qubits: int) -> np.ndarray:
    """Spins of the cluster's local basis states, little-endian, shape ``(2**k, k)``."""
    index = np.arange(2**num_qubits)
    return 1.0 - 2.0 * ((index[:, None] >> np.arange(num_qubits)[None, :]) & 1)


@dataclass(frozen=True)
class ClusterSpectrum:
    """Eigen-decomposition of ``H_K(s_N)`` for every neighbour configuration.

    Attributes:
        cluster: the cluster.
        energies: eigenvalues, ascending per row, shape ``(2**|N|, 2**k)``.
        z_expectation: ``<a|Z_j|a>`` of eigenvector ``a`` for local node ``j``,
            shape ``(2**|N|, 2**k, k)``.
        overlaps: ``|<a|phi>|^2`` for the product state given to :func:`solve_cluster`, shape
            ``(2**|N|, 2**k)``; ``None`` when no state was given.
    """

    cluster: Cluster
    energies: np.ndarray
    z_expectation: np.ndarray
    overlaps: np.ndarray | None = None


def check_cluster_size(
    cluster: Cluster, *, max_cluster_qubits: int, max_table_entries: int
) -> None:
    """Refuse clusters too large to diagonalise or to tabulate.

    Raises:
        ResourceLimitError: naming the cluster size, its neighbours and the limit exceeded.
    """
    k, m = cluster.num_qubits, len(cluster.neighbours)
    if k > max_cluster_qubits:
        raise ResourceLimitError(
            f"quantum cluster of {k} qubits (nodes {list(cluster.nodes)}) exceeds "
            f"max_cluster_qubits = {max_cluster_qubits}; it would need dense "
            f"{2**k} x {2**k} eigenproblems ({8 * 4**k} bytes each)"
        )
    if 2 ** (m + k) > max_table_entries:
        raise ResourceLimitError(
            f"quantum cluster of {k} qubits with {m} classical neighbours needs a table of "
            f"2**{m + k} = {2 ** (m + k)} eigenvalues; the limit is max_table_entries = "
            f"{max_table_entries}"
        )


def solve_cluster(cluster: Cluster, product_state: np.ndarray | None = None) -> ClusterSpectrum:
    """Diagonalise ``H_K(s_N)`` for every configuration of the cluster's neighbours.

    Args:
        cluster: the cluster.
        product_state: optional amplitudes ``(k, 2)`` (``[amp(bit 0), amp(bit 1)]`` per local
            node) of a product state whose overlaps with the eigenvectors are wanted.
    """
    k, m = cluster.num_qubits, len(cluster.neighbours)
    sigma = local_spins(k)
    fields = cluster.field[None, :] + neighbour_spins(m) @ cluster.coupling.T  # (2**m, k)
    diagonal = fields @ sigma.T  # (2**m, 2**k)
    for a, b, c in cluster.internal:
        diagonal = diagonal + c * sigma[:, a] * sigma[:, b]

    off = np.zeros((2**k, 2**k))
    index = np.arange(2**k)
    for j, xj in enumerate(cluster.transverse):
        off[index ^ (1 << j), index] += xj

    phi = None
    if product_state is not None:
        phi = np.ones(1, dtype=complex)
        # Local node 0 is the rightmost Kronecker factor (little-endian).
        for j in range(k):
            phi = np.kron(product_state[j], phi)

    rows = 2**m
    energies = np.empty((rows, 2**k))
    z_exp = np.empty((rows, 2**k, k))
    overlaps = np.empty((rows, 2**k)) if phi is not None else None
    batch = max(1, _BATCH_ENTRIES // 4**k)
    for start in range(0, rows, batch):
        stop = min(rows, start + batch)
        mats = np.broadcast_to(off, (stop - start, 2**k, 2**k)).copy()
        mats[:, index, index] = diagonal[start:stop]
        vals, vecs = np.linalg.eigh(mats)
        energies[start:stop] = vals
        z_exp[start:stop] = np.einsum("rba,bj->raj", vecs**2, sigma)
        if phi is not None:
            overlaps[start:stop] = np.abs(np.einsum("rba,b->ra", vecs, phi)) ** 2
    log.debug("cluster %s with %d neighbours diagonalised (%d rows)", cluster.nodes, m, rows)
    return ClusterSpectrum(cluster, energies, z_exp, overlaps)


def ground_space_stress(spectrum: ClusterSpectrum, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Per row: lowest energy's degeneracy and the ground-space-averaged stress of each node.

    Returns:
        ``(degeneracy (2**|N|,), stress (2**|N|, k))`` with ``stress = (1 - <Z>) / 2`` averaged
        uniformly over the eigenvectors within ``tol`` of the row's lowest energy.
    """
    e = spectrum.energies
    ground = e <= e[:, :1] + tol
    degeneracy = ground.sum(axis=1)
    mean_z = np.einsum("ra,raj->rj", ground, spectrum.z_expectation) / degeneracy[:, None]
    return degeneracy, (1.0 - mean_z) / 2.0


@dataclass(frozen=True)
class PreparedModel:
    """Decomposition, cluster spectra and elimination plan shared by every quantity."""

    decomposition: Decomposition
    spectra: tuple[ClusterSpectrum, ...]
    plan: EliminationPlan
    num_qubits: int

    @property
    def max_cluster(self) -> int:
        """Qubits of the largest cluster (0 without X terms)."""
        return max((s.cluster.num_qubits for s in self.spectra), default=0)


def prepare_model(
    model: IsingModel,
    *,
    max_table_entries: int,
    max_cluster_qubits: int,
    product_state: np.ndarray | None = None,
) -> PreparedModel:
    """Decompose, check every size, diagonalise the clusters and plan the elimination."""
    decomposition = decompose(model)
    for cluster in decomposition.clusters:
        check_cluster_size(
            cluster, max_cluster_qubits=max_cluster_qubits, max_table_entries=max_table_entries
        )
    scopes = [scope for scope, _ in decomposition.classical_terms]
    scopes += [c.neighbours for c in decomposition.clusters]
    plan = plan_elimination(decomposition.classical, scopes, max_table_entries=max_table_entries)
    spectra = tuple(
        solve_cluster(c, None if product_state is None else product_state[list(c.nodes)])
        for c in decomposition.clusters
    )
    log.debug(
        "%d classical nodes, %d clusters (largest %d qubits), elimination width %d",
        len(decomposition.classical),
        len(spectra),
        max((c.num_qubits for c in decomposition.clusters), default=0),
        plan.width,
    )
    return PreparedModel(decomposition, spectra, plan, model.num_qubits)


def build_factors(
    prep: PreparedModel,
    classical: Callable[[np.ndarray], tuple[np.ndarray, ...]],
    cluster: Callable[[int, ClusterSpectrum], tuple[np.ndarray, ...]],
) -> list[Factor]:
    """Factors in plan order: ``classical(energy table)`` and ``cluster(k, spectrum)`` give tables.

    ``cluster`` returns components with one row per neighbour configuration; they are reshaped to
    one axis per neighbour.
    """
    factors = [
        Factor(scope, classical(table)) for scope, table in prep.decomposition.classical_terms
    ]
    for k, spectrum in enumerate(prep.spectra):
        scope = spectrum.cluster.neighbours
        rows = cluster(k, spectrum)
        factors.append(
            Factor(scope, tuple(c.reshape((2,) * len(scope) + c.shape[1:]) for c in rows))
        )
    return factors


def cluster_factor_index(prep: PreparedModel, k: int) -> int:
    """Position of cluster ``k``'s factor in :func:`build_factors` (and the plan's scopes)."""
    return len(prep.decomposition.classical_terms) + k
