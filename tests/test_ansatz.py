"""The brickwork ansatz: parameter and CNOT counts, gate pattern, and agreement between simulators.

References: the CNOT pattern is written out by hand; amplitudes are checked against Qiskit's own
``Statevector`` (no Aer), and Aer's state vector against Aer's matrix-product state, which must
agree to round-off because the MPS is exact for this ansatz (bond dimension <= 2**depth).
"""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.quantum_info import Statevector

from qrspps.errors import ConfigError
from qrspps.quantum.ansatz import (
    ANSATZ_REGISTRY,
    brickwork_ry,
    build_ansatz,
    product_state_parameters,
    register_ansatz,
)
from qrspps.quantum.backend import AerBackend, MpsState, SimulatorSettings

#: Aer's MPS keeps singular values to ~1e-16 relative, its SVDs are backward stable: amplitudes of a
#: normalised state agree with the state vector to ~1e-11 at 12 qubits, well inside 1e-10.
MPS_ATOL = 1e-10


@pytest.mark.parametrize(("n", "depth"), [(1, 0), (2, 1), (5, 3), (8, 2), (12, 3), (40, 3)])
def test_parameter_and_cnot_counts(n: int, depth: int) -> None:
    ansatz = brickwork_ry(n, depth)
    assert ansatz.num_parameters == n * (depth + 1)
    assert ansatz.cnot_count() == depth * (n - 1)
    assert ansatz.circuit.count_ops().get("ry", 0) == n * (depth + 1)


def test_gate_pattern_is_ry_layer_then_even_then_odd_cnots() -> None:
    n, depth = 5, 2
    ansatz = brickwork_ry(n, depth)
    ops = [
        (inst.operation.name, tuple(ansatz.circuit.find_bit(q).index for q in inst.qubits))
        for inst in ansatz.circuit.data
    ]
    expected: list[tuple[str, tuple[int, ...]]] = []
    for layer in range(depth + 1):
        expected += [("ry", (q,)) for q in range(n)]
        if layer < depth:
            expected += [("cx", (0, 1)), ("cx", (2, 3)), ("cx", (1, 2)), ("cx", (3, 4))]
    assert ops == expected

    # Parameter k of layer d sits on qubit k - d n.
    for inst in ansatz.circuit.data:
        if inst.operation.name == "ry":
            (param,) = inst.operation.params
            qubit = ansatz.circuit.find_bit(inst.qubits[0]).index
            assert param.index % n == qubit


def test_registry_and_errors() -> None:
    assert build_ansatz("brickwork_ry", 4, 1).num_parameters == 8
    with pytest.raises(ConfigError, match=r"ansatz.name must be one of \['brickwork_ry'.*was 'ry'"):
        build_ansatz("ry", 4, 1)
    with pytest.raises(ConfigError, match=r"ansatz\.depth must be >= 0, was -1"):
        brickwork_ry(4, -1)
    with pytest.raises(ConfigError, match="already registered"):
        register_ansatz("brickwork_ry", brickwork_ry)
    assert "brickwork_ry" in ANSATZ_REGISTRY


def test_product_state_parameters_prepare_the_product_state() -> None:
    n = 6
    ansatz = brickwork_ry(n, 3)
    angles = np.random.default_rng(3).uniform(-np.pi, np.pi, n)
    psi = Statevector(ansatz.circuit.assign_parameters(product_state_parameters(ansatz, angles)))
    expected = np.array([1.0])
    for q in range(n):  # qubit 0 is the rightmost Kronecker factor (little-endian)
        expected = np.kron([np.cos(angles[q] / 2), np.sin(angles[q] / 2)], expected)
    np.testing.assert_allclose(psi.data, expected, atol=1e-12)


def test_aer_statevector_matches_qiskit_statevector() -> None:
    ansatz = brickwork_ry(7, 3)
    theta = np.random.default_rng(0).uniform(-np.pi, np.pi, ansatz.num_parameters)
    backend = AerBackend(ansatz, SimulatorSettings(method="statevector", max_parallel_threads=1))
    reference = Statevector(ansatz.circuit.assign_parameters(theta)).data
    np.testing.assert_allclose(backend.state(theta), reference, atol=1e-12)


@pytest.mark.parametrize("n", [10, 12])
def test_statevector_and_mps_agree(n: int) -> None:
    ansatz = brickwork_ry(n, 3)
    thetas = np.random.default_rng(n).uniform(-np.pi, np.pi, (3, ansatz.num_parameters))
    sv = AerBackend(ansatz, SimulatorSettings(method="statevector", max_parallel_threads=1))
    mps = AerBackend(ansatz, SimulatorSettings(method="mps", max_parallel_threads=1))
    assert sv.method == "statevector" and mps.method == "matrix_product_state"

    for psi, state in zip(sv.run(thetas), mps.run(thetas)):
        assert isinstance(state, MpsState)
        assert state.max_bond_dimension <= 2**3
        np.testing.assert_allclose(state.to_statevector(), psi, atol=MPS_ATOL, rtol=0)
