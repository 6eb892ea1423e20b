"""Tests of the structure-aware exact solver (qrspps.exact.structured).

The reference is brute-force diagonalisation (qrspps.exact.dense, itself pinned to hand-written
Kronecker products in test_exact_dense.py), or values derived by hand in the docstrings. Both
methods are exact, so they must agree to 1e-9 (double-precision round-off on O(1)-O(40) energies
is ~1e-13).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from qrspps.errors import ResourceLimitError
from qrspps.exact.dense import (
    dense_characteristic_function,
    dense_ground_state,
    dense_spectrum,
    dense_survival_amplitude,
    dense_thermal,
    spectrum_histogram,
)
from qrspps.exact.elimination import min_fill_order, plan_elimination
from qrspps.exact.structured import (
    block_ground_energy,
    exact_characteristic_function,
    exact_ground_state,
    exact_spectrum,
    exact_survival_amplitude,
    exact_thermal,
)
from qrspps.model.ising import IsingModel

ATOL = 1e-9
BETAS = (0.1, 1.0, 5.0)
TIMES = np.array([0.0, 0.3, -0.8, 1.7, 4.2])


def _graph(rng: np.random.Generator, n: int, kind: str) -> set[tuple[int, int]]:
    """Edges of a random tree, cycle, tree with extra edges, or forest on ``n`` nodes."""
    edges: set[tuple[int, int]] = set()
    if kind == "cycle" and n >= 3:
        perm = rng.permutation(n)
        edges = {tuple(sorted((int(perm[k]), int(perm[(k + 1) % n])))) for k in range(n)}
        return edges
    for i in range(1, n):
        if kind == "forest" and rng.random() < 0.3:
            continue
        edges.add((int(rng.integers(0, i)), i))
    if kind == "sparse":
        for _ in range(int(rng.integers(1, n + 1))):
            a, b = sorted(int(v) for v in rng.choice(n, size=2, replace=False))
            edges.add((a, b))
    return edges


def _quantum_nodes(
    rng: np.random.Generator, n: int, edges: set[tuple[int, int]], kind: str
) -> list[int]:
    """X placement: none, all, scattered singles, or connected clusters of 2-4 nodes."""
    if kind == "none":
        return []
    if kind == "all":
        return list(range(n))
    if kind == "singles":
        return [int(k) for k in rng.choice(n, size=int(rng.integers(1, n + 1)), replace=False)]
    adjacency: dict[int, set[int]] = {i: set() for i in range(n)}
    for a, b in edges:
        adjacency[a].add(b)
        adjacency[b].add(a)
    chosen: set[int] = set()
    for _ in range(int(rng.integers(1, 3))):
        # Grow a connected cluster from a random seed node along the interaction graph.
        cluster = {int(rng.integers(0, n))}
        target = int(rng.integers(2, 5))
        while len(cluster) < target:
            frontier = sorted(set().union(*(adjacency[c] for c in cluster)) - cluster)
            if not frontier:
                break
            cluster.add(int(rng.choice(frontier)))
        chosen |= cluster
    return sorted(chosen)


def random_case(seed: int) -> IsingModel:
    """A seeded random small model; the seed also picks the graph and X-placement kinds."""
    rng = np.random.default_rng(seed)
    graph_kind = ("tree", "cycle", "sparse", "forest")[seed % 4]
    x_kind = ("none", "singles", "clusters", "all", "clusters")[(seed // 4) % 5]
    # Up to 9 qubits (8 when every node is one cluster) keeps the 60 dense references fast.
    n = int(rng.integers(2, 9 if x_kind == "all" else 10))
    edges = _graph(rng, n, graph_kind)
    # Every seventh model has no Z fields, which leaves symmetric, degenerate spectra.
    z = {} if seed % 7 == 0 else {i: float(rng.normal()) for i in range(n)}
    zz = [(a, b, float(rng.normal())) for a, b in sorted(edges)]
    x = {
        q: float(rng.choice([-1.0, 1.0]) * rng.uniform(0.2, 1.5))
        for q in _quantum_nodes(rng, n, edges, x_kind)
    }
    return IsingModel.from_terms(n, z=z, zz=zz, x=x)


def _assert_same_level(a: float, b: float) -> None:
    if math.isnan(b):
        assert math.isnan(a)
    else:
        assert a == pytest.approx(b, abs=ATOL)


@pytest.mark.parametrize("seed", range(60))
def test_random_models_agree_with_dense(seed: int) -> None:
    model = random_case(seed)
    n = model.num_qubits

    exact = exact_ground_state(model)
    dense = dense_ground_state(model)
    assert exact.energy == pytest.approx(dense.energy, abs=ATOL)
    _assert_same_level(exact.first_excited_energy, dense.first_excited_energy)
    _assert_same_level(exact.gap, dense.gap)
    assert exact.degeneracy == dense.degeneracy
    assert np.allclose(exact.stress, dense.stress, atol=ATOL)
    # The returned configuration must lie in a block that contains a ground state.
    assert block_ground_energy(model, exact.configuration) == pytest.approx(exact.energy, abs=ATOL)

    for beta in BETAS:
        thermal = exact_thermal(model, beta)
        reference = dense_thermal(model, beta)
        assert thermal.log_partition_function == pytest.approx(
            reference.log_partition_function, abs=ATOL
        )
        assert thermal.free_energy == pytest.approx(reference.free_energy, abs=ATOL)
        assert thermal.energy == pytest.approx(reference.energy, abs=ATOL)
        assert np.allclose(thermal.stress, reference.stress, atol=ATOL)

    chi = exact_characteristic_function(model, TIMES)
    assert np.allclose(chi, dense_characteristic_function(model, TIMES), atol=ATOL)

    rng = np.random.default_rng(1000 + seed)
    amps = rng.normal(size=(n, 2)) + 1j * rng.normal(size=(n, 2))
    amps /= np.linalg.norm(amps, axis=1, keepdims=True)
    survival = exact_survival_amplitude(model, amps, TIMES)
    assert np.allclose(survival, dense_survival_amplitude(model, amps, TIMES), atol=ATOL)

    values, counts = exact_spectrum(model)
    ref_values, ref_counts = spectrum_histogram(dense_spectrum(model))
    assert counts.sum() == 2**n
    assert counts.tolist() == ref_counts.tolist()
    assert np.allclose(values, ref_values, atol=ATOL)


def test_random_cases_cover_the_intended_structures() -> None:
    """The 60 seeds include classical, fully quantum and multi-qubit-cluster models."""
    kinds = {"classical": 0, "all_x": 0, "cluster>=2": 0}
    for seed in range(60):
        model = random_case(seed)
        q = model.quantum_nodes
        kinds["classical"] += len(q) == 0
        kinds["all_x"] += len(q) == model.num_qubits
        pairs = {tuple(p) for p in model.zz_pairs.tolist()}
        kinds["cluster>=2"] += any((a, b) in pairs for a in q for b in q if a < b)
    assert min(kinds.values()) >= 5, kinds


# --------------------------------------------------------------------------- degenerate cases


def test_zero_hamiltonian_is_fully_degenerate() -> None:
    result = exact_ground_state(IsingModel.from_terms(3))
    assert result.energy == 0.0
    assert result.degeneracy == 8
    assert math.isnan(result.first_excited_energy) and math.isnan(result.gap)
    assert np.allclose(result.stress, 0.5)


def test_frustrated_triangle() -> None:
    # Z0Z1 + Z1Z2 + Z0Z2: the 6 configurations with one odd spin out have E = -1, the two aligned
    # ones E = 3; by symmetry every node is stressed in half of the ground states.
    model = IsingModel.from_terms(3, zz=[(0, 1, 1.0), (1, 2, 1.0), (0, 2, 1.0)])
    result = exact_ground_state(model)
    assert (result.energy, result.first_excited_energy, result.degeneracy) == (-1.0, 3.0, 6)
    assert np.allclose(result.stress, 0.5, atol=ATOL)


def test_degenerate_classical_part_with_quantum_neighbour() -> None:
    """H = Z1 + Z2 + Z1 Z2 + Z0 Z1 + X0.

    Nodes 1, 2 give -1 for (b1, b2) in {(0,1), (1,0), (1,1)} and 3 for (0,0). Node 0 sees the field
    s1 Z0 + X0 with eigenvalues +-sqrt(2) whatever s1, and in its ground state it is stressed with
    probability (1 + s1/sqrt 2)/2. So E0 = -1 - sqrt 2 (degeneracy 3), E1 = -1 + sqrt 2, and the
    ground-space stress of node 0 is [(1 + r) + 2 (1 - r)] / 6 with r = 1/sqrt 2; nodes 1 and 2
    are stressed in 2 of 3 ground states.
    """
    model = IsingModel.from_terms(3, z={1: 1.0, 2: 1.0}, zz=[(1, 2, 1.0), (0, 1, 1.0)], x={0: 1.0})
    r = 1 / math.sqrt(2)
    result = exact_ground_state(model)
    assert result.energy == pytest.approx(-1 - math.sqrt(2), abs=ATOL)
    assert result.first_excited_energy == pytest.approx(-1 + math.sqrt(2), abs=ATOL)
    assert result.degeneracy == 3
    assert np.allclose(result.stress, [(3 - r) / 6, 2 / 3, 2 / 3], atol=ATOL)
    assert np.allclose(result.stress, dense_ground_state(model).stress, atol=ATOL)

    values, counts = exact_spectrum(model)
    s2 = math.sqrt(2)
    assert np.allclose(values, [-1 - s2, -1 + s2, 3 - s2, 3 + s2], atol=ATOL)
    assert counts.tolist() == [3, 3, 1, 1]


def test_symmetric_quantum_coupling_doubles_every_level() -> None:
    # Z0 Z1 + X0: flipping node 1 maps the block s1 = +1 onto s1 = -1, so every level is doubled.
    model = IsingModel.from_terms(2, zz=[(0, 1, 1.0)], x={0: 1.0})
    result = exact_ground_state(model)
    assert result.energy == pytest.approx(-math.sqrt(2), abs=ATOL)
    assert result.first_excited_energy == pytest.approx(math.sqrt(2), abs=ATOL)
    assert result.degeneracy == 2
    assert np.allclose(result.stress, 0.5, atol=ATOL)


# --------------------------------------------------------------------------- limits


def _three_node_cluster() -> IsingModel:
    return IsingModel.from_terms(
        4, zz=[(0, 1, 0.5), (1, 2, 0.5), (2, 3, 0.5)], x={0: 1.0, 1: 1.0, 2: 1.0}
    )


def test_cluster_too_large_is_refused_with_sizes() -> None:
    with pytest.raises(ResourceLimitError, match=r"cluster of 3 qubits.*max_cluster_qubits = 2"):
        exact_ground_state(_three_node_cluster(), max_cluster_qubits=2)
    with pytest.raises(ResourceLimitError, match=r"3 qubits.*max_cluster_qubits = 2"):
        exact_thermal(_three_node_cluster(), 1.0, max_cluster_qubits=2)


def test_cluster_table_too_large_is_refused() -> None:
    # One quantum node with 5 classical neighbours needs 2**5 rows of 2 eigenvalues.
    model = IsingModel.from_terms(6, zz=[(0, k, 1.0) for k in range(1, 6)], x={0: 1.0})
    with pytest.raises(ResourceLimitError, match=r"5 classical neighbours.*max_table_entries = 32"):
        exact_ground_state(model, max_table_entries=32)


def test_elimination_width_too_large_is_refused() -> None:
    complete = [(a, b, 1.0) for a in range(7) for b in range(a + 1, 7)]
    with pytest.raises(ResourceLimitError, match=r"7 binary variables.*max_table_entries = 16"):
        exact_ground_state(IsingModel.from_terms(7, zz=complete), max_table_entries=16)


def test_too_many_levels_is_refused() -> None:
    with pytest.raises(ResourceLimitError, match=r"distinct levels.*max_levels = 4"):
        exact_spectrum(random_case(1), max_levels=4)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="beta must be"):
        exact_thermal(random_case(1), -1.0)
    with pytest.raises(ValueError, match=r"shape \(3, 2\)"):
        exact_survival_amplitude(IsingModel.from_terms(3), np.ones(3), TIMES)


def test_min_fill_on_a_chain_has_width_two() -> None:
    scopes = [(k, k + 1) for k in range(9)]
    order = min_fill_order(range(10), scopes)
    assert sorted(order) == list(range(10))
    assert plan_elimination(range(10), scopes).width == 2


# --------------------------------------------------------------------------- larger models


def _tree_model(seed: int, n: int, shocked: float) -> IsingModel:
    """Tree-ish random model: a random tree plus a few extra edges, some X nodes."""
    rng = np.random.default_rng(seed)
    edges = {(int(rng.integers(max(0, i - 6), i)), i) for i in range(1, n)}
    for _ in range(n // 8):
        a = int(rng.integers(0, n - 3))
        edges.add((a, a + int(rng.integers(2, 4))))
    zz = [(a, b, -float(rng.uniform(0.3, 0.9))) for a, b in sorted(edges)]
    z = {i: float(rng.choice([0.1, 0.15, 0.2, 0.25])) for i in range(n)}
    q = rng.choice(n, size=max(1, int(shocked * n)), replace=False)
    return IsingModel.from_terms(
        n, z=z, zz=zz, x={int(k): -float(rng.uniform(0.3, 1.5)) for k in q}
    )


def test_forty_node_model_is_self_consistent() -> None:
    model = _tree_model(7, 40, 0.25)
    result = exact_ground_state(model)
    assert np.isfinite(result.energy) and result.gap > 0
    assert block_ground_energy(model, result.configuration) == pytest.approx(
        result.energy, abs=ATOL
    )

    # No block does better: single flips of the optimum and random blocks lie at or above E0.
    rng = np.random.default_rng(11)
    candidates = [result.configuration ^ np.eye(40, dtype=np.int8)[k] for k in range(40)]
    candidates += list(rng.integers(0, 2, size=(200, 40), dtype=np.int8))
    assert min(block_ground_energy(model, c) for c in candidates) >= result.energy - ATOL

    # ln Z(beta) -> -beta E0 + ln d: the excess is ln(1 + sum_excited exp(-beta dE) / d), between
    # 0 and ln(1 + (2**n - d) exp(-beta gap) / d).
    beta = 50.0
    excess = exact_thermal(model, beta).log_partition_function - (
        -beta * result.energy + math.log(result.degeneracy)
    )
    bound = math.log1p(
        (2.0**40 - result.degeneracy) * math.exp(-beta * result.gap) / result.degeneracy
    )
    assert -ATOL <= excess <= bound + ATOL
    assert abs(excess) < 1e-6


def test_disjoint_union_is_additive() -> None:
    """Two independent 20-node halves: E0 and ln Z add, chi multiplies, degeneracies multiply."""
    left, right = _tree_model(3, 20, 0.1), _tree_model(4, 20, 0.1)
    shift = [(a + 20, b + 20, c) for (a, b), c in zip(right.zz_pairs.tolist(), right.zz)]
    union = IsingModel.from_terms(
        40,
        z={**dict(enumerate(left.z)), **{k + 20: v for k, v in enumerate(right.z)}},
        zz=[(a, b, c) for (a, b), c in zip(left.zz_pairs.tolist(), left.zz)] + shift,
        x={**dict(enumerate(left.x)), **{k + 20: v for k, v in enumerate(right.x)}},
    )
    g_l, g_r, g_u = (exact_ground_state(m) for m in (left, right, union))
    assert g_u.energy == pytest.approx(g_l.energy + g_r.energy, abs=ATOL)
    assert g_u.degeneracy == g_l.degeneracy * g_r.degeneracy
    assert np.allclose(g_u.stress, np.concatenate([g_l.stress, g_r.stress]), atol=ATOL)
    t_u = exact_thermal(union, 2.0)
    t_l, t_r = exact_thermal(left, 2.0), exact_thermal(right, 2.0)
    assert t_u.log_partition_function == pytest.approx(
        t_l.log_partition_function + t_r.log_partition_function, abs=ATOL
    )
    chi = exact_characteristic_function(union, TIMES)
    expected = exact_characteristic_function(left, TIMES) * exact_characteristic_function(
        right, TIMES
    )
    assert np.allclose(chi, expected, atol=ATOL)


def test_classical_twenty_nodes_against_full_enumeration() -> None:
    # Without X terms the spectrum is the diagonal: enumerate all 2**20 energies independently.
    model = _tree_model(5, 20, 0.0)
    model = IsingModel.from_terms(
        20,
        z=dict(enumerate(model.z)),
        zz=[(a, b, c) for (a, b), c in zip(model.zz_pairs.tolist(), model.zz)],
    )
    diagonal = model.diagonal()
    result = exact_ground_state(model)
    assert result.energy == pytest.approx(diagonal.min(), abs=ATOL)
    assert result.degeneracy == int(np.sum(diagonal <= diagonal.min() + 1e-8))
    beta = 1.3
    log_z = float(np.log(np.exp(-beta * (diagonal - diagonal.min())).sum()) - beta * diagonal.min())
    assert exact_thermal(model, beta).log_partition_function == pytest.approx(log_z, abs=ATOL)
    values, counts = exact_spectrum(model)
    ref_values, ref_counts = spectrum_histogram(diagonal)
    assert counts.tolist() == ref_counts.tolist()
    assert np.allclose(values, ref_values, atol=ATOL)


# --------------------------------------------------------------------------- retail40 scenarios


def _retail_model(nodes: int, scenario: str, policy: str | None) -> IsingModel:
    from qrspps.model.network import load_named_network
    from qrspps.model.scenario import build_model, load_policies, load_scenario

    network = load_named_network("retail40")
    if nodes < network.num_nodes:
        network = network.prefix(nodes)
    chosen = None if policy is None else load_policies()[policy]
    return build_model(network, load_scenario(scenario), chosen)


POLICIES = (
    "no_intervention",
    "rate_hike",
    "supplier_subsidy",
    "stockpile_release",
    "trade_diversion",
    "combined_optimal",
)


@pytest.mark.parametrize("scenario", ["A", "B"])
@pytest.mark.parametrize("policy", POLICIES)
def test_retail_prefix12_ground_state_against_sparse_diagonalisation(
    scenario: str, policy: str
) -> None:
    # 12 qubits: ARPACK (the sparse path) is far cheaper than a dense 4096 x 4096 eigh; these
    # ground states are non-degenerate, which the Krylov method resolves reliably.
    model = _retail_model(12, scenario, policy)
    exact = exact_ground_state(model)
    reference = dense_ground_state(model, max_dense_qubits=10)
    assert reference.method == "sparse"
    assert exact.degeneracy == reference.degeneracy == 1
    assert exact.energy == pytest.approx(reference.energy, abs=ATOL)
    assert exact.first_excited_energy == pytest.approx(reference.first_excited_energy, abs=ATOL)
    assert np.allclose(exact.stress, reference.stress, atol=ATOL)


def test_retail_prefix10_thermal_and_chi_against_dense() -> None:
    # Supplier subsidy on scenario B gives the largest cluster (RM-A with Sup-A..C, 4 qubits).
    model = _retail_model(10, "B", "supplier_subsidy")
    for beta in (0.5, 3.0):
        exact, reference = exact_thermal(model, beta), dense_thermal(model, beta)
        assert exact.log_partition_function == pytest.approx(
            reference.log_partition_function, abs=ATOL
        )
        assert exact.energy == pytest.approx(reference.energy, abs=ATOL)
        assert np.allclose(exact.stress, reference.stress, atol=ATOL)
    times = np.linspace(0.0, 15.0, 33)
    assert np.allclose(
        exact_characteristic_function(model, times),
        dense_characteristic_function(model, times),
        atol=ATOL,
    )


@pytest.mark.parametrize("scenario", ["A", "B"])
@pytest.mark.parametrize("policy", POLICIES)
def test_retail40_is_self_consistent(scenario: str, policy: str) -> None:
    model = _retail_model(40, scenario, policy)
    result = exact_ground_state(model)
    assert block_ground_energy(model, result.configuration) == pytest.approx(
        result.energy, abs=ATOL
    )
    beta = 50.0
    excess = exact_thermal(model, beta).log_partition_function - (
        -beta * result.energy + math.log(result.degeneracy)
    )
    bound = math.log1p(
        (2.0**40 - result.degeneracy) * math.exp(-beta * result.gap) / result.degeneracy
    )
    assert -ATOL <= excess <= bound + ATOL
