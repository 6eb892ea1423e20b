"""Ground energies of the retail40 prefix networks (the preprint's 12- and 16-node checks).

Scenario A shocks only node 0, so H is block diagonal over the 2**(n-1) configurations of the
other nodes and each block is a 2x2 matrix. The brute force below enumerates those blocks straight
from the network file's edges and biases: it shares no code with the package's Hamiltonian builder
or diagonalisers, which it checks.
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from qrspps.exact.dense import dense_ground_state, dense_spectrum
from qrspps.exact.structured import exact_ground_state
from qrspps.model.network import NETWORK_DIR, load_named_network
from qrspps.model.scenario import build_model, load_scenario

LAMBDA_A = 1.5  # scenario A: RM-A (node 0) fails


def brute_force_ground_energy(num_nodes: int) -> float:
    data = yaml.safe_load((NETWORK_DIR / "retail40.yaml").read_text())
    bias = {t["id"]: t["bias"] for t in data["tiers"]}
    h = np.array([bias[row["tier"]] for row in data["node_table"]][:num_nodes])
    edges = []
    for text in data["edges"]:
        ends, j = text.split(":")
        s, d = (int(v) for v in ends.split("-"))
        if s < num_nodes and d < num_nodes:
            edges.append((s, d, float(j)))

    # Spins of nodes 1..n-1 for every configuration; node 0 handled by the 2x2 block.
    rest = np.arange(2 ** (num_nodes - 1))
    spins = np.ones((len(rest), num_nodes))
    for q in range(1, num_nodes):
        spins[:, q] = 1 - 2 * ((rest >> (q - 1)) & 1)

    def diag(s0: float) -> np.ndarray:
        spins[:, 0] = s0
        energy = spins @ h
        for s, d, j in edges:
            energy -= j * spins[:, s] * spins[:, d]
        return energy

    d_up, d_down = diag(1.0), diag(-1.0)
    # Eigenvalues of [[d_up, -lambda], [-lambda, d_down]].
    lower = (d_up + d_down) / 2 - np.sqrt(((d_up - d_down) / 2) ** 2 + LAMBDA_A**2)
    return float(lower.min())


@pytest.fixture(scope="module")
def scenario_a():
    return load_named_network("retail40"), load_scenario("A")


def test_12_node_prefix_dense_eigvalsh(scenario_a):
    network, scenario = scenario_a
    model = build_model(network.prefix(12), scenario)
    reference = brute_force_ground_energy(12)
    assert dense_spectrum(model)[0] == pytest.approx(reference, abs=1e-10)
    assert exact_ground_state(model).energy == pytest.approx(reference, abs=1e-10)


def test_16_node_prefix_sparse(scenario_a):
    network, scenario = scenario_a
    model = build_model(network.prefix(16), scenario)
    result = dense_ground_state(model)
    reference = brute_force_ground_energy(16)
    assert result.energy == pytest.approx(reference, abs=1e-9)
    structured = exact_ground_state(model)
    assert structured.energy == pytest.approx(reference, abs=1e-9)
    assert structured.gap == pytest.approx(result.gap, abs=1e-9)
    np.testing.assert_allclose(structured.stress, result.stress, atol=1e-9)
    # Stress is a probability per node; nearly every node is stressed under the published signs.
    assert np.all((result.stress >= 0) & (result.stress <= 1))
    assert result.stress[1:].mean() > 0.9
