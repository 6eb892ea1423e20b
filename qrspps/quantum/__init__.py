"""Quantum algorithms on Qiskit Aer: ansatz circuits, the Aer layer, estimators, gradients, VQE.

Modules, in pipeline order:

* :mod:`qrspps.quantum.ansatz`: parametrised circuits by name (the preprint's brickwork RY ansatz).
* :mod:`qrspps.quantum.backend`: simulator choice (state vector / MPS / auto), memory pre-flight,
  batched simulation of many parameter sets per Aer call.
* :mod:`qrspps.quantum.estimator`: energies and local expectation values (structure-aware and the
  generic EstimatorV2 path).
* :mod:`qrspps.quantum.gradients`: batched parameter-shift gradients.
* :mod:`qrspps.quantum.vqe`: the VQE loop and its result.

Conventions (qubit order, signs, stress) are those of :mod:`qrspps.conventions`.
"""

from qrspps.quantum.ansatz import ANSATZ_REGISTRY, Ansatz, brickwork_ry, build_ansatz
from qrspps.quantum.backend import AerBackend, MpsState, SimulatorSettings
from qrspps.quantum.estimator import GenericEstimator, LocalExpectations, StructuredEstimator
from qrspps.quantum.gradients import energy_and_gradient, parameter_shift_gradient
from qrspps.quantum.vqe import OptimizerSettings, VQEResult, run_vqe

__all__ = [
    "ANSATZ_REGISTRY",
    "AerBackend",
    "Ansatz",
    "GenericEstimator",
    "LocalExpectations",
    "MpsState",
    "OptimizerSettings",
    "SimulatorSettings",
    "StructuredEstimator",
    "VQEResult",
    "brickwork_ry",
    "build_ansatz",
    "energy_and_gradient",
    "parameter_shift_gradient",
    "run_vqe",
]
