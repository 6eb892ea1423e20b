"""Seeded generator of tiered supply networks of any size, shaped like retail40.

The generated network keeps retail40's tier proportions (2 : 7 : 11 : 20 of 40 nodes), its
in-degree pattern per tier (each node draws 1 or 2 suppliers from the tier above with retail40's
empirical frequencies), its share of intra-distributor links, and its coupling distribution
(values drawn from retail40's empirical J values). Suppliers are drawn from a window around the
node's relative position in its tier, so the interaction graph stays banded: its treewidth stays
small however large the network gets, which is what lets the exact solver scale (SPEC 3.1).
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from qrspps.errors import NetworkValidationError
from qrspps.model.network import Edge, Node, SupplyNetwork, Tier, load_named_network

#: Tier names of generated networks (the same four tiers as retail40).
_TIER_NAMES = ("raw materials", "suppliers", "distributors", "retail stores")
_LABEL_PREFIX = ("RM", "Sup", "Dist", "Store")
#: Half-width (nodes) of the window a node draws its suppliers from, around its relative position.
_WINDOW = 2


def _label(tier_id: int, k: int) -> str:
    """Label of the ``k``-th node of a tier, named as in retail40 so scenarios and policies apply.

    Raw materials and suppliers get letters (``RM-A``, ``Sup-G``) while they last, then numbers
    (``Sup-27``); distributors and stores get two-digit numbers (``Dist-01``, ``Store-120``).
    """
    prefix = _LABEL_PREFIX[tier_id]
    if tier_id <= 1 and k < 26:
        return f"{prefix}-{chr(ord('A') + k)}"
    return f"{prefix}-{k + 1:02d}"


def _tier_sizes(num_nodes: int, template: SupplyNetwork) -> list[int]:
    """Split ``num_nodes`` over the tiers in the template's proportions, each tier non-empty."""
    shares = np.array(list(template.tier_sizes().values()), dtype=float)
    shares /= shares.sum()
    sizes = np.maximum(1, np.floor(shares * num_nodes).astype(int))
    # Hand the remainder (or take the excess) to the largest tier, the retail one.
    sizes[-1] += num_nodes - sizes.sum()
    return [int(s) for s in sizes]


def _template_statistics(template: SupplyNetwork) -> tuple[dict[int, Counter], float, np.ndarray]:
    """In-degree histograms per tier, intra-tier-2 link rate, and the J values of the template."""
    in_degree = Counter(
        (e.target)
        for e in template.edges
        if template.nodes[e.source].tier == template.nodes[e.target].tier - 1
    )
    per_tier: dict[int, Counter] = {}
    for node in template.nodes:
        if node.tier > 0:
            per_tier.setdefault(node.tier, Counter())[max(1, in_degree.get(node.id, 0))] += 1
    intra = sum(
        1 for e in template.edges if template.nodes[e.source].tier == template.nodes[e.target].tier
    )
    distributors = max(1, template.tier_sizes().get(2, 1))
    couplings = np.array([e.coupling for e in template.edges])
    return per_tier, intra / distributors, couplings


def generate_network(num_nodes: int, seed: int, *, name: str | None = None) -> SupplyNetwork:
    """Generate a tiered network of ``num_nodes`` nodes, deterministic for ``seed``.

    Args:
        num_nodes: total node count, at least 4 (one per tier).
        seed: seed of the ``numpy.random.Generator`` that draws degrees, suppliers and couplings.
        name: network name; defaults to ``generated-<n>-s<seed>``.
    """
    if isinstance(num_nodes, bool) or not isinstance(num_nodes, int) or num_nodes < 4:
        raise NetworkValidationError(
            f"generated network: nodes must be an integer >= 4 (one per tier), was {num_nodes!r}"
        )
    template = load_named_network("retail40")
    rng = np.random.default_rng(seed)
    sizes = _tier_sizes(num_nodes, template)
    degree_hist, intra_rate, couplings = _template_statistics(template)

    tiers = tuple(Tier(t.id, t.name, t.bias) for t in template.tiers)
    nodes: list[Node] = []
    members: list[list[int]] = []
    for tier_id, size in enumerate(sizes):
        ids = list(range(len(nodes), len(nodes) + size))
        nodes += [Node(i, _label(tier_id, k), tier_id) for k, i in enumerate(ids)]
        members.append(ids)

    edges: list[Edge] = []
    pairs: set[frozenset[int]] = set()

    def add(src: int, dst: int) -> None:
        key = frozenset((src, dst))
        if src != dst and key not in pairs:
            pairs.add(key)
            edges.append(Edge(src, dst, float(rng.choice(couplings))))

    for tier_id in range(1, len(sizes)):
        upstream, here = members[tier_id - 1], members[tier_id]
        degrees, counts = zip(*sorted(degree_hist[tier_id].items()))
        probs = np.array(counts, dtype=float) / sum(counts)
        for k, node in enumerate(here):
            centre = (k + 0.5) * len(upstream) / len(here)
            lo = max(0, int(centre) - _WINDOW)
            hi = min(len(upstream), int(centre) + _WINDOW + 1)
            window = upstream[lo:hi]
            degree = min(int(rng.choice(degrees, p=probs)), len(window))
            for src in rng.choice(window, size=degree, replace=False):
                add(int(src), node)

    # Lateral links between distributors, as retail40 has (Dist-01 -> Dist-10 and so on).
    dist = members[2]
    for _ in range(round(intra_rate * len(dist))):
        if len(dist) < 2:
            break
        a = int(rng.integers(len(dist)))
        b = min(len(dist) - 1, a + int(rng.integers(1, _WINDOW + 2)))
        if a != b:
            add(dist[a], dist[b])

    edges.sort(key=lambda e: (nodes[e.source].tier, e.source, e.target))
    return SupplyNetwork(
        name or f"generated-{num_nodes}-s{seed}", tiers, tuple(nodes), tuple(edges)
    )
