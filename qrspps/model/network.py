"""Tiered supply networks: nodes, directed weighted edges, tier biases, and their validation.

A network file is YAML with four keys (see ``conf/network/retail40.yaml``)::

    name: retail40
    tiers:      [{id: 0, name: raw materials, bias: 0.10}, ...]
    node_table: [{id: 0, label: RM-A, tier: 0}, ...]
    edges:      ["0-2:0.8", ...]          # "source-target:J", J > 0

Node ``i`` is qubit ``i`` (:mod:`qrspps.conventions`). Edge direction matters only to the Monte
Carlo cascade; the Hamiltonian couples the unordered pair, so an edge and its reverse count as
duplicates.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from qrspps.errors import NetworkValidationError

log = logging.getLogger(__name__)

#: Folder holding the shipped network files.
NETWORK_DIR = Path(__file__).resolve().parents[2] / "conf" / "network"

_EDGE_PATTERN = re.compile(r"^\s*(?P<src>[^-\s:]+)\s*-\s*(?P<dst>[^-\s:]+)\s*:\s*(?P<j>\S+)\s*$")


@dataclass(frozen=True)
class Tier:
    """One tier of the network: id (0 = upstream), name and Z bias ``h`` (energy units)."""

    id: int
    name: str
    bias: float


@dataclass(frozen=True)
class Node:
    """A network node; ``id`` is also its qubit index."""

    id: int
    label: str
    tier: int


@dataclass(frozen=True)
class Edge:
    """Directed supply edge ``source -> target`` with coupling ``J > 0`` (energy units)."""

    source: int
    target: int
    coupling: float


@dataclass(frozen=True)
class SupplyNetwork:
    """A validated tiered supply network.

    Attributes:
        name: network name (used in run names and tables).
        tiers: tiers by ascending id.
        nodes: nodes by ascending id; ids are exactly ``0..n-1``.
        edges: directed edges in file order (the Monte Carlo sweeps them in this order).
        known_labels: every label of the network this one was selected from, so that scenarios
            written for the full network can tell "cut away by the selection" from "typo".
    """

    name: str
    tiers: tuple[Tier, ...]
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    known_labels: frozenset[str] = field(default=frozenset())

    def __post_init__(self) -> None:
        if not self.known_labels:
            object.__setattr__(self, "known_labels", frozenset(n.label for n in self.nodes))

    @property
    def num_nodes(self) -> int:
        return len(self.nodes)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(n.label for n in self.nodes)

    def tier_of(self, tier_id: int) -> Tier:
        for tier in self.tiers:
            if tier.id == tier_id:
                return tier
        raise KeyError(tier_id)

    def biases(self) -> np.ndarray:
        """Per-node Z bias ``h_i`` from the node's tier, shape ``(n,)``."""
        bias = {t.id: t.bias for t in self.tiers}
        return np.array([bias[n.tier] for n in self.nodes], dtype=float)

    def tier_sizes(self) -> dict[int, int]:
        """Number of nodes in each tier (tiers with no node in this network included as 0)."""
        return {t.id: sum(1 for n in self.nodes if n.tier == t.id) for t in self.tiers}

    def index_of(self, label: str) -> int:
        """Node id of ``label``; ``KeyError`` if the label is not in this network."""
        for node in self.nodes:
            if node.label == label:
                return node.id
        raise KeyError(label)

    def subnetwork(self, node_ids: Sequence[int], name: str | None = None) -> SupplyNetwork:
        """Induced sub-network on ``node_ids`` (in that order), relabelled ``0..k-1``.

        Edges keep their file order; edges with an end outside the selection are dropped.
        """
        new_id = {old: new for new, old in enumerate(node_ids)}
        if len(new_id) != len(node_ids):
            raise NetworkValidationError(f"sub-network of {self.name}: node ids repeat: {node_ids}")
        nodes = tuple(
            Node(new_id[old], self.nodes[old].label, self.nodes[old].tier) for old in node_ids
        )
        edges = tuple(
            Edge(new_id[e.source], new_id[e.target], e.coupling)
            for e in self.edges
            if e.source in new_id and e.target in new_id
        )
        return SupplyNetwork(
            name or f"{self.name}[{len(nodes)}]", self.tiers, nodes, edges, self.known_labels
        )

    def prefix(self, num_nodes: int) -> SupplyNetwork:
        """Nodes ``0..num_nodes-1`` and the edges among them (the preprint's 12/16-node checks)."""
        if not 1 <= num_nodes <= self.num_nodes:
            raise NetworkValidationError(
                f"network {self.name!r}: nodes must be between 1 and {self.num_nodes}, "
                f"was {num_nodes}"
            )
        if num_nodes == self.num_nodes:
            return self
        return self.subnetwork(range(num_nodes), name=f"{self.name}[:{num_nodes}]")

    def to_mapping(self) -> dict[str, Any]:
        """Plain-data form, the same schema as a network file (for artifacts)."""
        return {
            "name": self.name,
            "tiers": [{"id": t.id, "name": t.name, "bias": t.bias} for t in self.tiers],
            "node_table": [{"id": n.id, "label": n.label, "tier": n.tier} for n in self.nodes],
            "edges": [f"{e.source}-{e.target}:{e.coupling:g}" for e in self.edges],
        }


def execution_subnetwork(network: SupplyNetwork, num_stores: int = 10) -> SupplyNetwork:
    """The preprint's 30-node "execution" network.

    Tiers 0-2 in full plus the ``num_stores`` nodes of the last tier with the largest summed
    coupling from the tier below (stable sort: ties go to the lower index), relabelled ``0..29``
    with the kept stores in ascending original order.
    """
    last_tier = max(t.id for t in network.tiers)
    upstream = [n.id for n in network.nodes if n.tier < last_tier]
    stores = [n.id for n in network.nodes if n.tier == last_tier]
    if len(stores) < num_stores:
        raise NetworkValidationError(
            f"network {network.name!r}: the execution selection needs {num_stores} nodes in tier "
            f"{last_tier}, found {len(stores)}"
        )
    inflow = {s: 0.0 for s in stores}
    for e in network.edges:
        if e.target in inflow and network.nodes[e.source].tier == last_tier - 1:
            inflow[e.target] += e.coupling
    # sorted() is stable, so equal inflows keep ascending index order.
    ranked = sorted(stores, key=lambda s: -inflow[s])[:num_stores]
    return network.subnetwork(
        upstream + sorted(ranked), name=f"{network.name}-exec{len(upstream) + num_stores}"
    )


# --------------------------------------------------------------------------- loading and validation


def load_network(path: str | Path) -> SupplyNetwork:
    """Load and validate a network file.

    Raises:
        NetworkValidationError: naming the file, the entry and what was expected.
    """
    path = Path(path)
    if not path.is_file():
        raise NetworkValidationError(f"{path}: network file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise NetworkValidationError(f"{path}: not valid YAML: {exc}") from exc
    return network_from_mapping(data, source=str(path))


def load_named_network(name: str) -> SupplyNetwork:
    """Load a shipped network by name (``conf/network/<name>.yaml``)."""
    return load_network(NETWORK_DIR / f"{name}.yaml")


def network_from_mapping(data: Any, *, source: str = "<mapping>") -> SupplyNetwork:
    """Validate plain data (a parsed network file or a Hydra config) into a network.

    Args:
        data: mapping with ``name``, ``tiers``, ``node_table`` and ``edges``.
        source: where the data came from, quoted in every error message.
    """
    if not isinstance(data, Mapping):
        raise NetworkValidationError(
            f"{source}: expected a mapping with keys name, tiers, "
            f"node_table, edges; got {type(data).__name__}"
        )
    for key in ("tiers", "node_table", "edges"):
        if key not in data or data[key] is None:
            raise NetworkValidationError(f"{source}: missing field {key!r}")

    tiers = _parse_tiers(data["tiers"], source)
    nodes = _parse_nodes(data["node_table"], {t.id for t in tiers}, source)
    edges = _parse_edges(data["edges"], len(nodes), source)
    name = str(data.get("name") or Path(source).stem)
    return SupplyNetwork(name, tiers, nodes, edges)


def _require(entry: Any, key: str, where: str) -> Any:
    if not isinstance(entry, Mapping):
        raise NetworkValidationError(f"{where}: expected a mapping, got {entry!r}")
    if key not in entry or entry[key] is None:
        raise NetworkValidationError(f"{where}: missing field {key!r} in {dict(entry)!r}")
    return entry[key]


def _as_int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise NetworkValidationError(f"{where}: expected an integer, got {value!r}")
    return value


def _as_number(value: Any, where: str) -> float:
    if isinstance(value, bool):
        raise NetworkValidationError(f"{where}: expected a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise NetworkValidationError(f"{where}: expected a number, got {value!r}") from None
    if not math.isfinite(number):
        raise NetworkValidationError(f"{where}: expected a finite number, got {value!r}")
    return number


def _parse_tiers(raw: Any, source: str) -> tuple[Tier, ...]:
    if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw:
        raise NetworkValidationError(f"{source}: 'tiers' must be a non-empty list, got {raw!r}")
    tiers: dict[int, Tier] = {}
    for k, entry in enumerate(raw):
        where = f"{source}: tiers[{k}]"
        tier_id = _as_int(_require(entry, "id", where), f"{where}.id")
        if tier_id in tiers:
            raise NetworkValidationError(f"{where}: tier id {tier_id} appears twice")
        bias = _as_number(_require(entry, "bias", where), f"{where}.bias")
        tiers[tier_id] = Tier(tier_id, str(entry.get("name", f"tier {tier_id}")), bias)
    return tuple(tiers[i] for i in sorted(tiers))


def _parse_nodes(raw: Any, tier_ids: set[int], source: str) -> tuple[Node, ...]:
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise NetworkValidationError(f"{source}: 'node_table' must be a list, got {raw!r}")
    if not raw:
        raise NetworkValidationError(f"{source}: empty network: 'node_table' has no nodes")
    by_id: dict[int, Node] = {}
    seen_labels: dict[str, int] = {}
    for k, entry in enumerate(raw):
        where = f"{source}: node_table[{k}]"
        node_id = _as_int(_require(entry, "id", where), f"{where}.id")
        label = str(_require(entry, "label", where))
        tier = _as_int(_require(entry, "tier", where), f"{where}.tier")
        if node_id in by_id:
            raise NetworkValidationError(f"{where}: node id {node_id} appears twice")
        if label in seen_labels:
            raise NetworkValidationError(
                f"{where}: label {label!r} already used by node {seen_labels[label]}"
            )
        if tier not in tier_ids:
            raise NetworkValidationError(
                f"{where}: node {label!r} is in tier {tier}, which has no bias; "
                f"expected one of the tiers {sorted(tier_ids)}"
            )
        by_id[node_id] = Node(node_id, label, tier)
        seen_labels[label] = node_id
    if sorted(by_id) != list(range(len(by_id))):
        raise NetworkValidationError(
            f"{source}: node ids must be exactly 0..{len(by_id) - 1} (they are qubit indices); "
            f"got {sorted(by_id)}"
        )
    return tuple(by_id[i] for i in range(len(by_id)))


def _parse_edges(raw: Any, num_nodes: int, source: str) -> tuple[Edge, ...]:
    if isinstance(raw, str):
        raw = raw.split()
    if not isinstance(raw, Sequence):
        raise NetworkValidationError(f"{source}: 'edges' must be a list of 'source-target:J'")
    edges: list[Edge] = []
    seen: dict[frozenset[int], str] = {}
    for k, entry in enumerate(raw):
        where = f"{source}: edges[{k}] {entry!r}"
        match = _EDGE_PATTERN.match(str(entry))
        if match is None:
            raise NetworkValidationError(f"{where}: expected 'source-target:J', e.g. '0-2:0.8'")
        ends = []
        for part in ("src", "dst"):
            text = match.group(part)
            if not text.isdigit() or int(text) >= num_nodes:
                raise NetworkValidationError(
                    f"{where}: unknown node {text!r}; expected a node id in 0..{num_nodes - 1}"
                )
            ends.append(int(text))
        src, dst = ends
        if src == dst:
            raise NetworkValidationError(f"{where}: self-loop on node {src}")
        try:
            coupling = float(match.group("j"))
        except ValueError:
            raise NetworkValidationError(
                f"{where}: J must be a positive number, got {match.group('j')!r}"
            ) from None
        if not math.isfinite(coupling) or coupling <= 0:
            raise NetworkValidationError(f"{where}: J must be a positive number, got {coupling:g}")
        key = frozenset((src, dst))
        if key in seen:
            raise NetworkValidationError(
                f"{where}: duplicate edge between nodes {src} and {dst} (already given as "
                f"{seen[key]!r}); the Hamiltonian couples unordered pairs"
            )
        seen[key] = str(entry)
        edges.append(Edge(src, dst, coupling))
    return tuple(edges)
