"""The cascade Monte Carlo: vectorised against a slow per-sample reference, closed forms, seeds.

The reference below is written independently of :mod:`qrspps.risk.montecarlo` (a plain loop per
sample, per sweep, per edge, drawing only when a transmission is possible). Both are sampled, so
they are compared within 4 combined standard errors per node (for the ~20 comparisons of one
test, a false failure has probability ~1e-3).
"""

from __future__ import annotations

import numpy as np
import pytest

from qrspps.errors import ConfigError
from qrspps.model.network import load_named_network
from qrspps.model.scenario import build_model, load_scenario
from qrspps.risk.montecarlo import (
    compare_stress,
    initial_failure_probabilities,
    network_edges,
    run_montecarlo,
    shock_strengths,
    simulate_cascade,
)
from qrspps.tasks import montecarlo as mc_task
from tests.test_vqe import _task_cfg

SIGMAS = 4.0


def reference_cascade(num_nodes, edges, strengths, *, samples, base, factor, redraw, seed):
    """One sample at a time, exactly as the cascade is described in SPEC 3.3."""
    rng = np.random.default_rng(seed)
    counts = np.zeros(num_nodes)
    for _ in range(samples):
        failed = []
        for i in range(num_nodes):
            p = 1.0 / (1.0 + np.exp(-strengths[i])) if strengths[i] != 0 else base
            failed.append(rng.random() < p)
        fixed = [rng.random() for _ in edges]
        while True:
            changed = False
            for e, (s, d, coupling) in enumerate(edges):
                if failed[int(s)] and not failed[int(d)]:
                    u = rng.random() if redraw else fixed[e]
                    if u < factor * coupling:
                        failed[int(d)] = True
                        changed = True
            if not changed:
                break
        counts += failed
    return counts / samples


def _assert_within_standard_errors(p1, n1, p2, n2) -> None:
    se = np.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2) + 1e-12
    assert np.all(np.abs(p1 - p2) <= SIGMAS * se + 1.0 / min(n1, n2)), np.abs(p1 - p2) / se


@pytest.mark.parametrize("redraw", [True, False])
def test_vectorised_matches_slow_reference(redraw: bool) -> None:
    net = load_named_network("retail40").subnetwork([0, 1, 2, 3, 4, 9, 10, 11, 20, 21, 22])
    model = build_model(net, load_scenario("B"))
    edges = network_edges(net)
    strengths = shock_strengths(model)
    kw = {"base": 0.05, "factor": 0.6, "redraw": redraw}
    slow = reference_cascade(net.num_nodes, edges.tolist(), strengths, samples=8000, seed=1, **kw)
    fast = simulate_cascade(
        net.num_nodes,
        edges,
        strengths,
        samples=40_000,
        seed=2,
        base_failure_probability=0.05,
        propagation_factor=0.6,
        redraw_each_sweep=redraw,
    )
    _assert_within_standard_errors(fast.failure_probability, 40_000, slow, 8000)
    # The cascade does something: downstream nodes fail far more often than the 5% base.
    assert fast.failure_probability[net.index_of("Store-01")] > 0.3

    # The comparison has the power to tell the two randomness modes apart.
    other = simulate_cascade(
        net.num_nodes, edges, strengths, samples=40_000, seed=2, redraw_each_sweep=not redraw
    )
    se = np.sqrt(slow * (1 - slow) / 8000 + 1e-12)
    assert np.max(np.abs(other.failure_probability - slow) / se) > 10 * SIGMAS


def test_two_node_closed_form() -> None:
    """Edge 0 -> 1 only: P_1 = b + (1 - b) sigmoid(lambda) 0.6 J (one sweep can transmit; the next
    changes nothing), in both randomness modes."""
    lam, base, coupling, samples = 1.5, 0.05, 0.8, 200_000
    expected_p0 = 1 / (1 + np.exp(-lam))
    expected_p1 = base + (1 - base) * expected_p0 * 0.6 * coupling
    for redraw in (True, False):
        r = simulate_cascade(
            2,
            [(0, 1, coupling)],
            np.array([lam, 0.0]),
            samples=samples,
            redraw_each_sweep=redraw,
            seed=5,
        )
        se = np.sqrt(
            np.array([expected_p0, expected_p1])
            * (1 - np.array([expected_p0, expected_p1]))
            / samples
        )
        np.testing.assert_array_less(
            np.abs(r.failure_probability - [expected_p0, expected_p1]), SIGMAS * se
        )
        assert r.max_sweeps == 2


def test_edge_order_matters_within_a_sweep() -> None:
    """Chain 0 -> 1 -> 2 with certain transmission (0.6 J = 1) and node 0 always failed: in list
    order everything fails in one sweep plus the final quiet one; in reverse order it takes two
    sweeps plus the quiet one. Either way all nodes fail."""
    strengths = np.array([50.0, 0.0, 0.0])
    forward = simulate_cascade(
        3,
        [(0, 1, 1 / 0.6), (1, 2, 1 / 0.6)],
        strengths,
        samples=100,
        base_failure_probability=0.0,
        seed=0,
    )
    backward = simulate_cascade(
        3,
        [(1, 2, 1 / 0.6), (0, 1, 1 / 0.6)],
        strengths,
        samples=100,
        base_failure_probability=0.0,
        seed=0,
    )
    np.testing.assert_array_equal(forward.failure_probability, [1, 1, 1])
    np.testing.assert_array_equal(backward.failure_probability, [1, 1, 1])
    assert forward.max_sweeps == 2 and backward.max_sweeps == 3


def test_seeded_reproducibility() -> None:
    net = load_named_network("retail40").prefix(12)
    model = build_model(net, load_scenario("A"))
    a = run_montecarlo(net, model, samples=5000, seed=3)
    b = run_montecarlo(net, model, samples=5000, seed=3)
    c = run_montecarlo(net, model, samples=5000, seed=4)
    g = run_montecarlo(net, model, samples=5000, seed=np.random.default_rng(3))
    np.testing.assert_array_equal(a.failure_probability, b.failure_probability)
    np.testing.assert_array_equal(a.failure_probability, g.failure_probability)
    assert not np.array_equal(a.failure_probability, c.failure_probability)
    assert a.seed == 3 and g.seed is None


def test_seeding_probabilities_and_shocks() -> None:
    net = load_named_network("retail40")
    model = build_model(net, load_scenario("B"))
    strengths = shock_strengths(model)
    assert strengths[0] == pytest.approx(1.5) and strengths[25] == pytest.approx(0.4)
    p0 = initial_failure_probabilities(strengths, 0.05)
    assert p0[0] == pytest.approx(1 / (1 + np.exp(-1.5)))
    assert p0[20] == pytest.approx(1 / (1 + np.exp(-0.4)))
    assert p0[5] == 0.05


def test_compare_stress() -> None:
    # Binary fractions, so that the differences are exact.
    cmp = compare_stress(
        np.array([0.875, 0.25, 0.5]), np.array([0.125, 0.5, 0.375]), ["a", "b", "c"], threshold=0.15
    )
    np.testing.assert_array_equal(cmp.delta, [0.75, -0.25, 0.125])
    assert cmp.count == 2
    np.testing.assert_array_equal(cmp.above_threshold, [0, 1])
    assert (cmp.max_abs_delta, cmp.max_node, cmp.max_label) == (0.75, 0, "a")
    assert compare_stress(np.array([0.5]), np.array([0.25]), ["a"], threshold=0.25).count == 0


def test_parameter_validation() -> None:
    with pytest.raises(ConfigError, match=r"montecarlo\.samples must be >= 1, was 0"):
        simulate_cascade(2, [(0, 1, 0.5)], np.zeros(2), samples=0)
    with pytest.raises(ConfigError, match=r"base_failure_probability must be in \[0, 1\], was 1.5"):
        simulate_cascade(2, [(0, 1, 0.5)], np.zeros(2), base_failure_probability=1.5)


def test_montecarlo_task_without_vqe() -> None:
    cfg = _task_cfg(14, "A", task={"options": {"with_vqe": "auto"}})
    result = mc_task.run(cfg)
    m = result.metrics
    assert result.tags["mc_quantum_state"] == "exact_ground_state"  # 14 > 12 qubits: no VQE
    assert m["mc_nodes_above_threshold"] == m["mc_nodes_above_threshold_exact"]
    assert m["mc_samples"] == 2000
    rows = result.tables["montecarlo"]
    assert len(rows) == 14 and rows[0]["dP_vqe"] is None
    assert max(abs(r["dP_exact"]) for r in rows) == pytest.approx(m["mc_max_abs_delta_p_exact"])
    assert "delta_p" in result.figures

    with pytest.raises(ConfigError, match="with_vqe must be one of"):
        mc_task.run(_task_cfg(6, "A", task={"options": {"with_vqe": "maybe"}}))


def test_network_edges_keep_file_order() -> None:
    net = load_named_network("retail40")
    edges = network_edges(net)
    assert edges.shape == (57, 3)
    assert tuple(edges[0]) == (0, 2, 0.8) and tuple(edges[-1]) == (11, 17, 0.2)


def test_montecarlo_task_with_vqe() -> None:
    result = mc_task.run(_task_cfg(6, "A", task={"options": {"with_vqe": "always"}}))
    m = result.metrics
    assert result.tags["mc_quantum_state"] == "vqe"
    assert 0 <= m["energy_abs_error"] <= 1e-6
    rows = result.tables["montecarlo"]
    assert max(abs(r["dP_vqe"]) for r in rows) == pytest.approx(m["mc_max_abs_delta_p"])
    # The VQE state is the ground state here, so both comparisons agree.
    assert m["mc_nodes_above_threshold"] == m["mc_nodes_above_threshold_exact"]
