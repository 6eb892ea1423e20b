"""Which qubit the brickwork chain visits at each position: the ansatz's qubit order.

The published ansatz entangles neighbours ``(q, q + 1)`` in node order
(:mod:`qrspps.quantum.ansatz`).
That is a choice of *order*, not of physics: relabelling the qubits of ``H`` by a permutation and
running the same circuit is the same ansatz laid along another chain. The choice matters when a
Hamiltonian has shocked clusters of several nodes (some policies add X terms to nodes coupled to
the shocked RM-A), because their ground state is entangled across the cluster:

- ``natural``: chain position ``k`` is node ``k`` (the preprint's layout).
- ``clusters_last``: the nodes outside multi-node shocked clusters in ascending order, then every
  multi-node cluster's nodes, cluster after cluster. The cluster sits in a contiguous block at the
  end of the chain. At a product state loaded into the last rotation layer (a mean-field start)
  the earlier layers act on ``|0...0>``, so random angles on the block's qubits then prepare
  ``(classical product state) (x) (random cluster state)``: the CNOT into the block's first qubit
  has a control in ``|0>`` and the block has no right neighbour. That gives restarts that explore
  the cluster without disturbing the classical nodes (``optimizer.init=cluster_random``).

Measured on the 8-node retail40 prefix, scenario A, depth 3, L-BFGS-B (state vector): in natural
order, every start from the mean-field state or from it with random perturbations stopped at the
mean-field energy, 0.048 (``supplier_subsidy``) and 0.021 (``combined_optimal``) above the exact
ground energy: the mean-field point is a flat local minimum of this ansatz there (no negative
Hessian eigenvalue). With ``clusters_last`` and random cluster angles, 7 of 8 starts reached
``<= 1e-6`` (best 9.5e-10) and 8 of 8 reached ``<= 1e-12``, respectively.

The permuted model keeps its node labels, so tables stay readable; results computed on it (stress
per qubit) are mapped back to node order with :func:`to_node_order`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qrspps.errors import ConfigError
from qrspps.exact.clusters import decompose
from qrspps.model.ising import IsingModel

QUBIT_ORDERS = ("natural", "clusters_last")


def multi_node_clusters(model: IsingModel) -> list[tuple[int, ...]]:
    """Node sets of the shocked clusters with more than one node, ascending."""
    return [c.nodes for c in decompose(model).clusters if len(c.nodes) > 1]


def chain_order(model: IsingModel, name: str = "natural") -> tuple[int, ...]:
    """The node at each chain position for the named order (module docstring).

    Raises:
        ConfigError: for an unknown order name (names ``ansatz.qubit_order``).
    """
    if name not in QUBIT_ORDERS:
        raise ConfigError(f"ansatz.qubit_order must be one of {QUBIT_ORDERS}, was {name!r}")
    n = model.num_qubits
    if name == "natural":
        return tuple(range(n))
    clusters = multi_node_clusters(model)
    in_clusters = {v for nodes in clusters for v in nodes}
    return tuple(v for v in range(n) if v not in in_clusters) + tuple(
        v for nodes in clusters for v in nodes
    )


def permute_model(model: IsingModel, order: Sequence[int]) -> IsingModel:
    """``H`` relabelled so that qubit ``k`` is node ``order[k]`` (labels follow their nodes)."""
    order = np.asarray(order, dtype=np.int64)
    n = model.num_qubits
    if sorted(order.tolist()) != list(range(n)):
        raise ValueError(f"order must be a permutation of 0..{n - 1}, got {order.tolist()}")
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    zz = [
        (int(position[i]), int(position[j]), float(c))
        for (i, j), c in zip(model.zz_pairs, model.zz)
    ]
    return IsingModel.from_terms(
        n,
        z=dict(enumerate(model.z[order].tolist())),
        zz=zz,
        x=dict(enumerate(model.x[order].tolist())),
        labels=[model.labels[i] for i in order],
    )


def to_node_order(values: np.ndarray, order: Sequence[int]) -> np.ndarray:
    """Per-qubit ``values`` of the permuted model back in node order."""
    values = np.asarray(values)
    out = np.empty_like(values)
    out[np.asarray(order, dtype=np.int64)] = values
    return out
