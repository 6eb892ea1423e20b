"""Policy screening at the converged VQE state (the preprint's "ADAPT-VQE counterfactual ranking").

For each policy perturbation ``P`` and the VQE parameters ``theta*`` of the scenario Hamiltonian
``H`` (no re-optimisation):

- first order (Hellmann-Feynman): ``dE_1 = <P>`` at ``theta*``;
- the parameter gradient ``g = d<H + P>/d theta`` at ``theta*`` (energy units per radian); at a
  converged VQE ``d<H>/d theta ~ 0``, so ``|g|`` measures how far the state is from optimal for
  ``H + P``;
- a second-order estimate along the steepest-descent line: with the curvature
  ``c = d^2 <H + P> / ds^2`` along ``u = -g/|g|`` (central finite difference of step ``h``),
  ``dE_2 = <P> - |g|^2 / (2 c)`` (the minimum of the quadratic model on that line; ``nan`` when
  ``c <= 0``, where the quadratic model has no minimum);
- the preprint's commutator score ``<[H, P]>``. For a real state vector (our RY/CNOT ansatz has
  only real amplitudes) and real symmetric ``H`` and ``P`` (Z and X terms), ``[H, P]`` is real and
  antisymmetric, so ``<psi|[H, P]|psi> = 0`` identically. We compute it anyway (through Aer's
  ``EstimatorV2`` on the Hermitian ``-i[H, P]``) and report the number, rather than rank by it.

Everything at ``theta*`` comes from one batched estimator call (``2 P_params + 1`` states shared by
all policies), the curvature probes from a second one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from qiskit import transpile
from qiskit.quantum_info import SparsePauliOp
from qiskit_aer import AerSimulator
from qiskit_aer.primitives import EstimatorV2

from qrspps.model.hamiltonian import to_sparse_pauli_op
from qrspps.model.ising import IsingModel
from qrspps.quantum.estimator import StructuredEstimator
from qrspps.quantum.gradients import parameter_shift_gradients

log = logging.getLogger(__name__)

#: Step (radians) of the finite-difference curvature along the gradient direction. The energy is a
#: trigonometric polynomial of unit frequency per parameter, so the O(h^2) bias is ~h^2 |E''''|/12.
DEFAULT_CURVATURE_STEP = 1e-2


@dataclass(frozen=True)
class PolicyEstimate:
    """Screening estimate of one policy at the VQE state (energies in energy units)."""

    policy_id: str
    first_order_delta_e: float
    second_order_delta_e: float
    gradient_norm: float
    curvature: float
    commutator_score: float


@dataclass(frozen=True)
class ScreeningEstimates:
    """All policies' estimates and what they cost.

    Attributes:
        estimates: one per policy, in the given order.
        base_energy: ``<H>`` at ``theta*``.
        wall_time_s: time of the whole screening (first order, gradients and curvature).
        first_order_time_s: time of the first-order part alone (one state, all policies).
        states_simulated: number of ansatz states simulated in total.
    """

    estimates: tuple[PolicyEstimate, ...]
    base_energy: float
    wall_time_s: float
    first_order_time_s: float
    states_simulated: int


def commutator_scores(
    estimator: StructuredEstimator, theta: np.ndarray, perturbations: Sequence[IsingModel]
) -> np.ndarray:
    """``<psi|[H, P]|psi>`` for each perturbation, as reported by Aer (purely imaginary in general).

    Returns the imaginary part: ``<[H, P]> = i <-i[H, P]>`` and ``-i[H, P]`` is Hermitian, so its
    Aer expectation value is the whole content of the score (zero for real states, see module
    docstring).
    """
    h_op = to_sparse_pauli_op(estimator.model)
    scores = np.zeros(len(perturbations))
    pubs, targets = [], []
    backend = estimator.backend
    circuit = transpile(
        backend.ansatz.circuit, AerSimulator(method=backend.method), optimization_level=0
    )
    for k, p in enumerate(perturbations):
        p_op = to_sparse_pauli_op(p)
        hermitian = (-1j * (h_op @ p_op - p_op @ h_op)).simplify(atol=1e-14)
        if not np.any(np.abs(hermitian.coeffs) > 0):
            continue  # P commutes with H as an operator: the score is 0 for every state.
        # -i[H, P] is Hermitian: its coefficients are real up to round-off.
        pubs.append((circuit, SparsePauliOp(hermitian.paulis, hermitian.coeffs.real), theta))
        targets.append(k)
    if pubs:
        options = {
            "method": backend.method,
            "max_parallel_threads": backend.settings.max_parallel_threads,
        }
        aer_estimator = EstimatorV2(options={"default_precision": 0.0, "backend_options": options})
        result = aer_estimator.run(pubs).result()
        scores[targets] = [float(np.real(r.data.evs)) for r in result]
    return scores


def screen_policies(
    estimator: StructuredEstimator,
    theta: np.ndarray,
    perturbations: Mapping[str, IsingModel],
    *,
    curvature_step: float = DEFAULT_CURVATURE_STEP,
    with_commutator: bool = True,
) -> ScreeningEstimates:
    """Screen every policy at ``theta`` without re-optimising.

    Args:
        estimator: structured estimator of the scenario Hamiltonian ``H`` on the VQE ansatz.
        theta: converged VQE parameters (radians).
        perturbations: policy id -> perturbation ``P`` (not ``H + P``).
        curvature_step: finite-difference step ``h`` (radians) for the curvature along ``-g``.
        with_commutator: also compute the preprint's commutator score (an extra Aer call, not
            counted in the screening time since it plays no part in the ranking).

    Returns:
        :class:`ScreeningEstimates`.
    """
    ids = list(perturbations)
    h = estimator.model
    models = [h] + [h + perturbations[p] for p in ids]
    theta = np.asarray(theta, dtype=float)
    states_before = estimator.backend.circuits_run
    started = time.perf_counter()

    first = estimator.expectation_values(theta[None, :], models)[0]
    first_order_time = time.perf_counter() - started
    base_energy = float(first[0])
    delta_first = first[1:] - base_energy

    energies, gradients = parameter_shift_gradients(estimator, theta, models)
    grads = gradients[1:]
    norms = np.linalg.norm(grads, axis=1)

    # Curvature along each policy's descent direction: E(theta -/+ h u) for every policy, batched.
    directions = -grads / np.where(norms > 0, norms, 1.0)[:, None]
    probes = np.concatenate(
        [theta + curvature_step * directions, theta - curvature_step * directions]
    )
    probe_values = estimator.expectation_values(probes, models[1:])
    k = len(ids)
    plus = probe_values[np.arange(k), np.arange(k)]
    minus = probe_values[k + np.arange(k), np.arange(k)]
    curvature = (plus + minus - 2.0 * energies[1:]) / curvature_step**2
    with np.errstate(divide="ignore", invalid="ignore"):
        second = np.where(curvature > 0, delta_first - norms**2 / (2.0 * curvature), np.nan)
    wall = time.perf_counter() - started
    states = estimator.backend.circuits_run - states_before

    commutators = (
        commutator_scores(estimator, theta, [perturbations[p] for p in ids])
        if with_commutator
        else np.full(k, np.nan)
    )
    log.info(
        "screened %d policies in %.3f s (%d states; first order alone %.4f s)",
        k,
        wall,
        states,
        first_order_time,
    )
    estimates = tuple(
        PolicyEstimate(
            pid,
            float(delta_first[i]),
            float(second[i]),
            float(norms[i]),
            float(curvature[i]),
            float(commutators[i]),
        )
        for i, pid in enumerate(ids)
    )
    return ScreeningEstimates(estimates, base_energy, wall, first_order_time, states)
