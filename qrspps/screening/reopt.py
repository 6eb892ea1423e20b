"""Re-optimisation of one policy Hamiltonian ``H + P``: the check that screening is measured by.

A full VQE of ``H + P`` per policy, warm-started from the baseline VQE of ``H``. The ansatz chain of
the re-optimisation may differ from the baseline's (``qubit_order``, :mod:`qrspps.quantum.layout`):
a policy with X terms on nodes coupled to a shocked node has an entangled multi-node cluster, which
the ``clusters_last`` chain with ``cluster_random`` restarts reaches and the published chain does
not. The baseline parameters then refer to another chain, so the warm start is the baseline state's
product-state projection instead: per node the ``RY`` angle ``2 arcsin sqrt(P_i)`` with the
baseline's stress ``P_i`` (non-negative amplitudes; exact for the product ground states of
scenarios A and B, whose X coefficients are all negative, :mod:`qrspps.conventions`).
"""

from __future__ import annotations

import numpy as np

from qrspps.model.ising import IsingModel
from qrspps.quantum.ansatz import build_ansatz, product_state_parameters
from qrspps.quantum.backend import SimulatorSettings
from qrspps.quantum.layout import chain_order
from qrspps.quantum.vqe import OptimizerSettings, VQEResult, run_vqe


def warm_start(
    baseline: VQEResult, ansatz_name: str, depth: int, order: tuple[int, ...]
) -> np.ndarray:
    """Parameters of the baseline state on the chain ``order`` (module docstring)."""
    if order == baseline.qubit_order:
        return baseline.parameters
    ansatz = build_ansatz(ansatz_name, baseline.num_qubits, depth)
    angles = 2.0 * np.arcsin(np.sqrt(np.clip(baseline.stress, 0.0, 1.0)))
    return product_state_parameters(ansatz, angles[list(order)])


def reoptimise(
    model: IsingModel,
    baseline: VQEResult,
    *,
    depth: int,
    ansatz_name: str = "brickwork_ry",
    optimizer: OptimizerSettings,
    simulator: SimulatorSettings,
    seed: int,
    qubit_order: str = "clusters_last",
    exact_energy: float | None = None,
) -> VQEResult:
    """VQE of the policy Hamiltonian ``model`` (``H + P``), warm-started from ``baseline``.

    Args:
        model: ``H + P``.
        baseline: the VQE result of ``H`` (its parameters, chain and stress).
        depth, ansatz_name: the ansatz (the baseline's).
        optimizer: settings of the re-optimisation (its first start is the warm start).
        simulator: Aer settings.
        seed: base seed of the re-optimisation's random starts.
        qubit_order: chain of the re-optimisation's ansatz.
        exact_energy: exact ground energy of ``model``, for the reported error only.
    """
    order = chain_order(model, qubit_order)
    return run_vqe(
        model,
        depth=depth,
        ansatz_name=ansatz_name,
        optimizer=optimizer,
        simulator=simulator,
        seed=seed,
        initial_parameters=warm_start(baseline, ansatz_name, depth, order),
        exact_energy=exact_energy,
        qubit_order=qubit_order,
    )
