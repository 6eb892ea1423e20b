"""Supply-network model: shipped data, sub-networks, the generator and validation messages."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from qrspps.errors import NetworkValidationError, ScenarioError
from qrspps.model.generator import generate_network
from qrspps.model.hamiltonian import term_count, to_sparse_pauli_op
from qrspps.model.network import execution_subnetwork, load_named_network, load_network
from qrspps.model.scenario import (
    POLICY_IDS,
    build_model,
    load_policies,
    load_scenario,
    policy_perturbation,
    scenario_from_mapping,
)


@pytest.fixture(scope="module")
def retail40():
    return load_named_network("retail40")


def test_retail40_shape(retail40):
    assert retail40.num_nodes == 40
    assert len(retail40.edges) == 57
    assert retail40.tier_sizes() == {0: 2, 1: 7, 2: 11, 3: 20}
    assert retail40.labels[0] == "RM-A" and retail40.labels[39] == "Store-20"
    np.testing.assert_allclose(sorted(set(retail40.biases())), [0.10, 0.15, 0.20, 0.25])


@pytest.mark.parametrize(("scenario", "terms", "shocked"), [("A", 98, 1), ("B", 118, 21)])
def test_scenario_term_counts(retail40, scenario, terms, shocked):
    model = build_model(retail40, load_scenario(scenario))
    assert term_count(model) == terms
    assert len(to_sparse_pauli_op(model)) == terms
    assert len(model.quantum_nodes) == shocked
    assert model.x[0] == pytest.approx(-1.5)


def test_policy_terms_on_retail40(retail40):
    policies = load_policies()
    assert tuple(policies) == POLICY_IDS
    combined = policy_perturbation(retail40, policies["combined_optimal"])
    np.testing.assert_allclose(combined.z[20:24], 0.3)
    assert combined.z[24] == 0.0
    np.testing.assert_allclose(combined.x[[2, 3]], -0.4)
    subsidy = policy_perturbation(retail40, policies["supplier_subsidy"])
    assert np.count_nonzero(subsidy.x) == 7


def test_policy_zz_merges_with_the_edge(retail40):
    # Stockpile release adds +0.2 Z(Dist-01) Z(Store-01) on top of the edge 9-20 with J = 0.9.
    model = build_model(retail40, load_scenario("A"), load_policies()["stockpile_release"])
    row = np.flatnonzero((model.zz_pairs[:, 0] == 9) & (model.zz_pairs[:, 1] == 20))
    assert model.zz[row] == pytest.approx(-0.9 + 0.2)


def test_prefix_and_policy_on_cut_away_nodes(retail40):
    sub = retail40.prefix(12)
    assert sub.num_nodes == 12
    assert all(e.source < 12 and e.target < 12 for e in sub.edges)
    # Rate hike acts on stores only, none of which is in the 12-node prefix: P = 0 there.
    perturbation = policy_perturbation(sub, load_policies()["rate_hike"])
    assert term_count(perturbation) == 0


def test_execution_network(retail40):
    exec30 = execution_subnetwork(retail40)
    assert exec30.num_nodes == 30
    # Store inflows from distributors: recompute independently of the selection code.
    inflow = {s: 0.0 for s in range(20, 40)}
    for e in retail40.edges:
        if e.target >= 20 and 9 <= e.source <= 19:
            inflow[e.target] += e.coupling
    ranked = sorted(range(20, 40), key=lambda s: (-round(inflow[s], 9), s))[:10]
    assert exec30.labels[20:] == tuple(retail40.labels[s] for s in sorted(ranked))
    assert exec30.labels[:20] == retail40.labels[:20]


def test_generator_is_deterministic_and_proportional():
    a = generate_network(400, seed=3)
    b = generate_network(400, seed=3)
    c = generate_network(400, seed=4)
    assert a == b
    assert a.edges != c.edges
    sizes = a.tier_sizes()
    assert sum(sizes.values()) == 400
    for tier, expected in {0: 2 / 40, 1: 7 / 40, 2: 11 / 40, 3: 20 / 40}.items():
        assert sizes[tier] / 400 == pytest.approx(expected, abs=0.01)
    retail = load_named_network("retail40")
    # Mean degree and mean coupling close to retail40's.
    assert len(a.edges) / 400 == pytest.approx(len(retail.edges) / 40, rel=0.25)
    mean_j = np.mean([e.coupling for e in a.edges])
    assert mean_j == pytest.approx(np.mean([e.coupling for e in retail.edges]), abs=0.08)


def test_generator_scales_to_thousands():
    big = generate_network(3000, seed=0)
    assert big.num_nodes == 3000
    assert all(0 <= e.source < 3000 and 0 <= e.target < 3000 for e in big.edges)


# --------------------------------------------------------------------------- validation messages

GOOD = """\
name: tiny
tiers:
  - {id: 0, name: raw, bias: 0.1}
  - {id: 1, name: shop, bias: 0.2}
node_table:
  - {id: 0, label: R, tier: 0}
  - {id: 1, label: S1, tier: 1}
  - {id: 2, label: S2, tier: 1}
edges: ["0-1:0.5", "0-2:0.7"]
"""


def write(tmp_path, text):
    path = tmp_path / "net.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_good_file_loads(tmp_path):
    net = load_network(write(tmp_path, GOOD))
    assert net.num_nodes == 3 and len(net.edges) == 2


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            '"0-2:0.7"',
            '"0-5:0.7"',
            r"net.yaml: edges\[1\] '0-5:0.7': unknown node '5'; expected a node id in 0..2",
        ),
        ('"0-2:0.7"', '"2-2:0.7"', r"edges\[1\] '2-2:0.7': self-loop on node 2"),
        ('"0-2:0.7"', '"1-0:0.7"', r"edges\[1\] '1-0:0.7': duplicate edge between nodes 1 and 0"),
        (
            '"0-2:0.7"',
            '"0-2:-0.7"',
            r"edges\[1\] '0-2:-0.7': J must be a positive number, got -0.7",
        ),
        ('"0-2:0.7"', '"0-2:0"', r"J must be a positive number, got 0"),
        ('"0-2:0.7"', '"0-2:abc"', r"edges\[1\] '0-2:abc': J must be a positive number, got 'abc'"),
        (
            "{id: 2, label: S2, tier: 1}",
            "{id: 2, label: S2, tier: 7}",
            r"node_table\[2\]: node 'S2' is in tier 7, which has no bias; expected one of the tiers \[0, 1\]",
        ),
        (
            "{id: 2, label: S2, tier: 1}",
            "{id: 2, tier: 1}",
            r"node_table\[2\]: missing field 'label'",
        ),
        (
            "{id: 1, name: shop, bias: 0.2}",
            "{id: 1, name: shop}",
            r"tiers\[1\]: missing field 'bias'",
        ),
        (
            "{id: 1, name: shop, bias: 0.2}",
            "{id: 1, name: shop, bias: high}",
            r"tiers\[1\].bias: expected a number, got 'high'",
        ),
        (
            "{id: 2, label: S2, tier: 1}",
            "{id: 2, label: S1, tier: 1}",
            r"label 'S1' already used by node 1",
        ),
    ],
)
def test_bad_network_messages(tmp_path, old, new, message):
    assert old in GOOD
    with pytest.raises(NetworkValidationError, match=message):
        load_network(write(tmp_path, GOOD.replace(old, new)))


def test_empty_network_message(tmp_path):
    text = GOOD.split("node_table:")[0] + "node_table: []\nedges: []\n"
    with pytest.raises(
        NetworkValidationError, match=r"net.yaml: empty network: 'node_table' has no nodes"
    ):
        load_network(write(tmp_path, text))


def test_missing_edges_field(tmp_path):
    with pytest.raises(NetworkValidationError, match=r"net.yaml: missing field 'edges'"):
        load_network(write(tmp_path, GOOD.split("edges:")[0]))


def test_missing_file(tmp_path):
    with pytest.raises(NetworkValidationError, match="network file not found"):
        load_network(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("shock", "message"),
    [
        ({"labels": ["RM-Z"], "strength": 1.0}, r"unknown node label 'RM-Z' in network 'retail40'"),
        (
            {"tier": 9, "strength": 1.0},
            r"unknown tier 9 in network 'retail40'; expected one of \[0, 1, 2, 3\]",
        ),
        (
            {"labels": ["RM-A"], "strength": -0.5},
            r"shocks\[0\].strength \(lambda\): must be >= 0, was -0.5",
        ),
        (
            {"labels": ["RM-A"], "strength": "big"},
            r"shocks\[0\].strength \(lambda\): expected a number, got 'big'",
        ),
        ({"labels": ["RM-A"]}, r"shocks\[0\]: missing field 'strength'"),
    ],
)
def test_bad_scenario_messages(retail40, shock, message):
    with pytest.raises(ScenarioError, match=message):
        scenario = scenario_from_mapping({"name": "bad", "shocks": [shock]}, source="bad.yaml")
        build_model(retail40, scenario)


def test_tier_by_name(retail40):
    scenario = scenario_from_mapping(
        {"name": "s", "shocks": [{"tier": "retail stores", "strength": 0.4}]}
    )
    assert len(build_model(retail40, scenario).quantum_nodes) == 20


def test_generated_labels_match_retail40_naming():
    net = generate_network(200, seed=1)
    labels = set(net.labels)
    assert {"RM-A", "RM-B", "Sup-A", "Sup-B", "Dist-01", "Store-01"} <= labels
    assert len(labels) == 200
    # Scenario B (RM-A plus every store) and every policy apply without an unknown-label error.
    model = build_model(net, load_scenario("B"))
    assert model.x[net.index_of("RM-A")] == pytest.approx(-1.5)
    for policy in load_policies().values():
        build_model(net, load_scenario("A"), policy)
