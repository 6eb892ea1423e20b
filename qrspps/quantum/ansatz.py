"""Parametrised ansatz circuits, looked up by name.

The preprint's ansatz is :func:`brickwork_ry`; other ansatz choices register themselves in
:data:`ANSATZ_REGISTRY` with :func:`register_ansatz` and are built with :func:`build_ansatz`.
Qubit ``i`` is node ``i`` (:mod:`qrspps.conventions`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector

from qrspps.errors import ConfigError

log = logging.getLogger(__name__)

#: Depth of the published ansatz (number of entangling layers).
DEFAULT_DEPTH = 3


@dataclass(frozen=True)
class Ansatz:
    """A parametrised circuit and what the optimisers need to know about it.

    Attributes:
        name: registry name.
        circuit: the circuit; its parameters are ``parameters`` in this order.
        parameters: parameter vector; an array ``theta`` of the same length binds it.
        depth: number of entangling layers ``D``.
        rotation_layers: number of RY layers (``D + 1`` for the brickwork ansatz).
        shift_rule: parameter-shift half-angle; ``pi / 2`` for gates ``exp(-i theta P / 2)``.
        bond_dimension_bound: largest bond dimension of the circuit's exact MPS over all
            parameters, if known (``2**D`` for the brickwork ansatz); None when unknown.
    """

    name: str
    circuit: QuantumCircuit
    parameters: ParameterVector
    depth: int
    rotation_layers: int
    shift_rule: float = np.pi / 2
    bond_dimension_bound: int | None = None

    @property
    def num_qubits(self) -> int:
        return self.circuit.num_qubits

    @property
    def num_parameters(self) -> int:
        return len(self.parameters)

    def layer_slice(self, layer: int) -> slice:
        """Indices of the parameters of rotation layer ``layer`` (``n`` per layer)."""
        n = self.num_qubits
        return slice(layer * n, (layer + 1) * n)

    def cnot_count(self) -> int:
        """Number of CNOTs in the circuit."""
        return int(self.circuit.count_ops().get("cx", 0))


def brickwork_ry(num_qubits: int, depth: int = DEFAULT_DEPTH) -> Ansatz:
    """The preprint's hardware-efficient ansatz.

    For ``d = 0..D`` an ``RY(theta[d * n + q])`` on every qubit ``q``; after every layer but the
    last, ``CNOT(q, q + 1)`` on even ``q``, then on odd ``q`` (a brickwork of nearest neighbours).
    ``n (D + 1)`` parameters and ``D (n - 1)`` CNOTs. Each cut ``(q, q + 1)`` is crossed by one CNOT
    per layer, so the matrix-product state of the output has bond dimension at most ``2**D`` and
    Aer's ``matrix_product_state`` method simulates it exactly. All amplitudes are real.

    Args:
        num_qubits: ``n >= 1``.
        depth: ``D >= 0``.

    Raises:
        ConfigError: for ``n < 1`` or ``D < 0``.
    """
    if num_qubits < 1:
        raise ConfigError(f"ansatz num_qubits must be >= 1, was {num_qubits}")
    if depth < 0:
        raise ConfigError(f"ansatz.depth must be >= 0, was {depth}")

    theta = ParameterVector("theta", num_qubits * (depth + 1))
    circuit = QuantumCircuit(num_qubits, name=f"brickwork_ry_d{depth}")
    for layer in range(depth + 1):
        for q in range(num_qubits):
            circuit.ry(theta[layer * num_qubits + q], q)
        if layer == depth:
            break
        for start in (0, 1):
            for q in range(start, num_qubits - 1, 2):
                circuit.cx(q, q + 1)
    return Ansatz(
        "brickwork_ry",
        circuit,
        theta,
        depth,
        depth + 1,
        bond_dimension_bound=min(2**depth, 2 ** (num_qubits // 2)),
    )


AnsatzBuilder = Callable[[int, int], Ansatz]

#: Ansatz builders by config name (``ansatz.name``); each takes ``(num_qubits, depth)``.
ANSATZ_REGISTRY: dict[str, AnsatzBuilder] = {"brickwork_ry": brickwork_ry}


def register_ansatz(name: str, builder: AnsatzBuilder) -> None:
    """Make ``builder`` available as ``ansatz.name = name``; refuses to overwrite a name."""
    if name in ANSATZ_REGISTRY:
        raise ConfigError(f"an ansatz named {name!r} is already registered")
    ANSATZ_REGISTRY[name] = builder


def build_ansatz(name: str, num_qubits: int, depth: int = DEFAULT_DEPTH) -> Ansatz:
    """Build the registered ansatz ``name``.

    Raises:
        ConfigError: if ``name`` is not registered (the message lists the known names).
    """
    try:
        builder = ANSATZ_REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"ansatz.name must be one of {sorted(ANSATZ_REGISTRY)}, was {name!r}"
        ) from None
    ansatz = builder(num_qubits, depth)
    log.debug(
        "ansatz %s: %d qubits, depth %d, %d parameters, %d CNOTs",
        name,
        num_qubits,
        depth,
        ansatz.num_parameters,
        ansatz.cnot_count(),
    )
    return ansatz


def product_state_parameters(ansatz: Ansatz, angles: np.ndarray) -> np.ndarray:
    """Parameters that make the brickwork ansatz prepare ``prod_q RY(angles[q]) |0>``.

    Every layer but the last gets angle 0: RY(0) leaves ``|0...0>`` unchanged and the CNOTs act
    trivially on it, so only the last rotation layer acts. Used for mean-field warm starts.
    """
    angles = np.asarray(angles, dtype=float)
    if angles.shape != (ansatz.num_qubits,):
        raise ValueError(f"angles must have shape ({ansatz.num_qubits},), got {angles.shape}")
    theta = np.zeros(ansatz.num_parameters)
    theta[ansatz.layer_slice(ansatz.rotation_layers - 1)] = angles
    return theta
