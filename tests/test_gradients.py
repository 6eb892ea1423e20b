"""Parameter-shift gradients against central finite differences, on both Aer methods.

Central differences with step h have a truncation error ``h^2 |E'''| / 6``; ``|E'''| <= ||H||_1``
(each derivative of an RY-parametrised energy is again an energy of a rotated state), so
``h = 1e-4`` gives ``< 2e-8 ||H||_1``, and round-off ``1e-15 ||H||_1 / h`` is ~1e-11: a tolerance of
1e-6 absolute separates a correct gradient from a wrong one (errors would be O(0.1)).
"""

from __future__ import annotations

import numpy as np
import pytest

from qrspps.model.ising import IsingModel
from qrspps.model.network import load_named_network
from qrspps.model.scenario import build_model, load_scenario
from qrspps.quantum.ansatz import brickwork_ry
from qrspps.quantum.backend import AerBackend, SimulatorSettings
from qrspps.quantum.estimator import StructuredEstimator
from qrspps.quantum.gradients import (
    energy_and_gradient,
    parameter_shift_gradient,
    parameter_shift_gradients,
    shifted_parameter_sets,
)

STEP = 1e-4
FD_ATOL = 1e-6


def _central_differences(estimator: StructuredEstimator, theta: np.ndarray) -> np.ndarray:
    rows = np.concatenate([theta + STEP * np.eye(len(theta)), theta - STEP * np.eye(len(theta))])
    energies = estimator.energies(rows)
    half = len(theta)
    return (energies[:half] - energies[half:]) / (2 * STEP)


@pytest.fixture(scope="module")
def model() -> IsingModel:
    net = load_named_network("retail40").subnetwork([0, 1, 2, 3, 9, 20])
    return build_model(net, load_scenario("B"))


@pytest.mark.parametrize("method", ["statevector", "matrix_product_state"])
def test_parameter_shift_matches_central_differences(model: IsingModel, method: str) -> None:
    ansatz = brickwork_ry(model.num_qubits, 3)
    est = StructuredEstimator(
        model, AerBackend(ansatz, SimulatorSettings(method=method, max_parallel_threads=1))
    )
    theta = np.random.default_rng(5).uniform(-np.pi, np.pi, ansatz.num_parameters)

    calls = est.backend.calls
    gradient = parameter_shift_gradient(est, theta)
    assert est.backend.calls == calls + 1  # all 2P shifted circuits in one Aer call
    assert np.max(np.abs(gradient)) > 0.1  # a generic point, not a stationary one
    np.testing.assert_allclose(gradient, _central_differences(est, theta), atol=FD_ATOL, rtol=0)


def test_energy_and_gradient_in_one_batch(model: IsingModel) -> None:
    ansatz = brickwork_ry(model.num_qubits, 2)
    est = StructuredEstimator(
        model, AerBackend(ansatz, SimulatorSettings(method="statevector", max_parallel_threads=1))
    )
    theta = np.random.default_rng(6).uniform(-np.pi, np.pi, ansatz.num_parameters)
    energy, gradient = energy_and_gradient(est, theta)
    assert energy == pytest.approx(est.energy(theta), abs=1e-12)
    np.testing.assert_allclose(gradient, parameter_shift_gradient(est, theta), atol=1e-12)


def test_gradients_of_several_models_from_one_batch(model: IsingModel) -> None:
    ansatz = brickwork_ry(model.num_qubits, 2)
    backend = AerBackend(
        ansatz, SimulatorSettings(method="matrix_product_state", max_parallel_threads=1)
    )
    est = StructuredEstimator(model, backend)
    other = model + IsingModel.from_terms(model.num_qubits, z={1: 0.4}, x={2: -0.6})
    theta = np.random.default_rng(7).uniform(-np.pi, np.pi, ansatz.num_parameters)

    energies, gradients = parameter_shift_gradients(est, theta, [model, other])
    assert gradients.shape == (2, ansatz.num_parameters)
    other_est = StructuredEstimator(other, backend)
    np.testing.assert_allclose(energies, [est.energy(theta), other_est.energy(theta)], atol=1e-10)
    np.testing.assert_allclose(gradients[1], parameter_shift_gradient(other_est, theta), atol=1e-10)


def test_shifted_parameter_sets_layout() -> None:
    rows = shifted_parameter_sets(np.array([0.1, 0.2]), shift=0.5)
    np.testing.assert_allclose(rows, [[0.6, 0.2], [0.1, 0.7], [-0.4, 0.2], [0.1, -0.3]])
