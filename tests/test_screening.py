"""Policy screening on the 12-node prefix: <P>, gradients, commutator score and re-optimisation."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.quantum_info import Statevector

from qrspps.exact.structured import exact_ground_state
from qrspps.model.hamiltonian import to_sparse_pauli_op
from qrspps.model.network import load_named_network
from qrspps.model.scenario import build_model, load_policies, load_scenario, policy_perturbation
from qrspps.quantum.ansatz import build_ansatz
from qrspps.quantum.backend import AerBackend, SimulatorSettings
from qrspps.quantum.estimator import StructuredEstimator
from qrspps.quantum.vqe import OptimizerSettings, run_vqe
from qrspps.screening.screen import screen_policies

N = 12
DEPTH = 2


@pytest.fixture(scope="module")
def setting():
    network = load_named_network("retail40").prefix(N)
    scenario = load_scenario("A")
    model = build_model(network, scenario)
    policies = load_policies()
    perturbations = {p: policy_perturbation(network, pol) for p, pol in policies.items()}
    vqe = run_vqe(
        model,
        depth=DEPTH,
        seed=3,
        optimizer=OptimizerSettings(name="lbfgsb", restarts=1, init="mean_field"),
        simulator=SimulatorSettings(method="statevector", max_parallel_threads=1),
    )
    ansatz = build_ansatz("brickwork_ry", N, DEPTH)
    estimator = StructuredEstimator(
        model, AerBackend(ansatz, SimulatorSettings(method="statevector", max_parallel_threads=1))
    )
    screened = screen_policies(estimator, vqe.parameters, perturbations)
    return network, scenario, model, policies, perturbations, vqe, ansatz, screened


def test_first_order_matches_statevector_expectation(setting):
    _, _, _, _, perturbations, vqe, ansatz, screened = setting
    # Independent state: Qiskit's reference Statevector, not Aer, and the Pauli-sum expectation.
    psi = Statevector(ansatz.circuit.assign_parameters(vqe.parameters))
    for est in screened.estimates:
        expected = float(
            np.real(psi.expectation_value(to_sparse_pauli_op(perturbations[est.policy_id])))
        )
        assert est.first_order_delta_e == pytest.approx(expected, abs=1e-9)


def test_gradient_norm_matches_finite_differences(setting):
    _, _, model, _, perturbations, vqe, ansatz, screened = setting
    est = next(e for e in screened.estimates if e.policy_id == "trade_diversion")
    op = to_sparse_pauli_op(model + perturbations["trade_diversion"])

    def energy(theta):
        return float(
            np.real(Statevector(ansatz.circuit.assign_parameters(theta)).expectation_value(op))
        )

    step = 1e-5
    grad = np.array(
        [
            (energy(vqe.parameters + step * e) - energy(vqe.parameters - step * e)) / (2 * step)
            for e in np.eye(len(vqe.parameters))
        ]
    )
    # Central differences carry an O(step^2) truncation and ~1e-11/step round-off error.
    assert est.gradient_norm == pytest.approx(np.linalg.norm(grad), abs=1e-5)


def test_commutator_score_vanishes(setting):
    screened = setting[-1]
    assert max(abs(e.commutator_score) for e in screened.estimates) < 1e-10
    # ... although [H, P] itself is a nonzero operator for the policies with X terms.
    _, _, model, _, perturbations, *_ = setting
    h, p = to_sparse_pauli_op(model), to_sparse_pauli_op(perturbations["trade_diversion"])
    assert np.max(np.abs((h @ p - p @ h).simplify().coeffs)) > 0.1


def test_no_intervention_is_zero(setting):
    est = next(e for e in setting[-1].estimates if e.policy_id == "no_intervention")
    assert est.first_order_delta_e == 0.0
    assert est.gradient_norm < 1e-4


@pytest.mark.parametrize("policy_id", ["rate_hike", "stockpile_release", "trade_diversion"])
def test_reoptimised_energy_against_exact(setting, policy_id):
    network, scenario, _, policies, _, vqe, _, _ = setting
    policy_model = build_model(network, scenario, policies[policy_id])
    exact = exact_ground_state(policy_model).energy
    result = run_vqe(
        policy_model,
        depth=DEPTH,
        seed=5,
        initial_parameters=vqe.parameters,
        optimizer=OptimizerSettings(name="lbfgsb", restarts=2, init="mean_field"),
        simulator=SimulatorSettings(method="statevector", max_parallel_threads=1),
        exact_energy=exact,
    )
    # Variational: never below the exact ground energy (round-off aside) ...
    assert result.energy >= exact - 1e-9
    # ... and for these policies the ground state is within the ansatz's reach.
    assert result.abs_error < 1e-6


def test_entangled_policy_reoptimised_to_exact_on_its_own_chain():
    # combined_optimal couples the shocked RM-A to the shocked Sup-A and Sup-B: an entangled
    # 3-node cluster. The task's re-optimisation (clusters_last chain, warm start projected from
    # the baseline state, cluster_random restarts) must reach the exact energy at depth 3.
    from qrspps.screening.reopt import reoptimise

    network = load_named_network("retail40").prefix(N)
    scenario = load_scenario("A")
    simulator = SimulatorSettings(method="statevector", max_parallel_threads=1)
    baseline = run_vqe(
        build_model(network, scenario),
        depth=3,
        seed=3,
        optimizer=OptimizerSettings(name="lbfgsb", restarts=1, init="mean_field"),
        simulator=simulator,
    )
    model = build_model(network, scenario, load_policies()["combined_optimal"])
    exact = exact_ground_state(model).energy
    result = reoptimise(
        model,
        baseline,
        depth=3,
        optimizer=OptimizerSettings(name="lbfgsb", restarts=4, init="cluster_random"),
        simulator=simulator,
        seed=5,
        exact_energy=exact,
    )
    assert result.qubit_order[-3:] == (0, 2, 3)  # RM-A, Sup-A, Sup-B at the end of the chain
    assert result.energy >= exact - 1e-9
    assert result.abs_error < 1e-6
