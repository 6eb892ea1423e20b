"""Batched parameter-shift gradients.

Every ansatz gate carrying a parameter is ``RY(theta) = exp(-i theta Y / 2)``, so for any observable
``d<H>/d theta_p = (<H>(theta + s e_p) - <H>(theta - s e_p)) / (2 sin s)`` exactly, with the shift
``s = pi / 2`` (:attr:`qrspps.quantum.ansatz.Ansatz.shift_rule`). All ``2 P`` shifted parameter sets
(plus, optionally, the unshifted one) go to the estimator as one batch, i.e. one Aer call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from qrspps.model.ising import IsingModel

#: Parameter-shift half-angle of ``RY`` gates (radians).
RY_SHIFT = np.pi / 2


class BatchEnergyEstimator(Protocol):
    """Anything that evaluates ``<H>`` for a batch of parameter sets in one call."""

    def energies(self, thetas: np.ndarray) -> np.ndarray: ...


def shifted_parameter_sets(theta: np.ndarray, shift: float = RY_SHIFT) -> np.ndarray:
    """Rows ``theta + s e_p`` for ``p = 0..P-1``, then rows ``theta - s e_p``; shape ``(2P, P)``."""
    theta = np.asarray(theta, dtype=float)
    offsets = shift * np.eye(len(theta))
    return np.concatenate([theta + offsets, theta - offsets])


def _combine(shifted: np.ndarray, shift: float) -> np.ndarray:
    half = len(shifted) // 2
    return (shifted[:half] - shifted[half:]) / (2.0 * np.sin(shift))


def parameter_shift_gradient(
    estimator: BatchEnergyEstimator, theta: np.ndarray, *, shift: float = RY_SHIFT
) -> np.ndarray:
    """Exact gradient ``d<H>/d theta`` (energy per radian) from one batch of ``2 P`` energies."""
    return _combine(estimator.energies(shifted_parameter_sets(theta, shift)), shift)


def energy_and_gradient(
    estimator: BatchEnergyEstimator, theta: np.ndarray, *, shift: float = RY_SHIFT
) -> tuple[float, np.ndarray]:
    """``<H>(theta)`` and its gradient from ``2 P + 1`` energies in one batch.

    Gradient optimisers ask for both at the same point; one batch saves an Aer call per step.
    """
    theta = np.asarray(theta, dtype=float)
    energies = estimator.energies(np.vstack([theta[None, :], shifted_parameter_sets(theta, shift)]))
    return float(energies[0]), _combine(energies[1:], shift)


def parameter_shift_gradients(
    estimator, theta: np.ndarray, models: Sequence[IsingModel], *, shift: float = RY_SHIFT
) -> tuple[np.ndarray, np.ndarray]:
    """Energies and gradients of several Hamiltonians at one state, all from one batch.

    Args:
        estimator: a :class:`~qrspps.quantum.estimator.StructuredEstimator` (it evaluates many
            models on the same simulated states).
        theta: the parameter set (radians).
        models: Hamiltonians on the ansatz's qubits (e.g. ``H + P`` per policy).

    Returns:
        ``(energies, gradients)`` of shapes ``(m,)`` and ``(m, P)``.
    """
    theta = np.asarray(theta, dtype=float)
    rows = np.vstack([theta[None, :], shifted_parameter_sets(theta, shift)])
    values = estimator.expectation_values(rows, models)  # (2P + 1, m)
    return values[0], _combine(values[1:], shift).T
