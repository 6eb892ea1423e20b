"""Trotter circuits on Aer against ``scipy.linalg.expm``, and the exact spectral references.

References are independent of the package's operator code: dense Hamiltonians from explicit
Kronecker products (:mod:`tests.reference`), propagators from ``scipy.linalg.expm``, spectra from
``numpy.linalg.eigh``.

Tolerances: exact methods agree to 1e-10 (double precision, a few hundred gates). A Trotter run is
compared with the rigorous first-order commutator bound
``||S1(dt)^k - U(k dt)|| <= k dt^2 / 2 * sum_{a<b} ||[H_a, H_b]||``, which bounds
``|A_trotter - A_exact|`` for a normalised state, and the second-order run with the (looser,
order-independent) nested-commutator bound
``k dt^3 * (1/12 sum_{a,b,c} ||[H_c,[H_b,H_a]]|| + 1/24 sum_{a,b} ||[H_a,[H_a,H_b]]||)``.
"""

from __future__ import annotations

from itertools import product

import numpy as np
import pytest
from qiskit import QuantumCircuit
from scipy.linalg import expm

from qrspps.dynamics.reference import exact_local_spectrum, survival_amplitude_from_spectrum
from qrspps.dynamics.states import product_state_circuit, random_trace_states
from qrspps.dynamics.trotter import TimeGrid, TrotterEvolution, product_formula
from qrspps.errors import ConfigError
from qrspps.model.ising import IsingModel
from qrspps.quantum.backend import SimulatorSettings
from tests.reference import Z, embed, kron_hamiltonian

EXACT_ATOL = 1e-10
SV = SimulatorSettings(method="statevector", max_parallel_threads=1)
MPS = SimulatorSettings(method="matrix_product_state", max_parallel_threads=1)

# Two coupled shocked nodes (0 and 2 through the 0-2 edge) and fields that all differ, so that
# neither a qubit permutation nor a sign flip of the time leaves the dynamics unchanged.
TERMS = dict(
    z={0: 0.1, 1: 0.15, 2: 0.2, 3: 0.25, 4: -0.3},
    zz=[(0, 1, -0.8), (0, 2, -0.5), (1, 3, -0.7), (2, 4, -0.4), (3, 4, -0.6)],
    x={0: -1.5, 2: -0.6},
)
MODEL = IsingModel.from_terms(5, **TERMS)
H = kron_hamiltonian(5, **TERMS)


def _terms_dense() -> list[np.ndarray]:
    """Each Pauli term of ``H`` as a dense matrix (the factors of the product formula)."""
    mats = [c * embed({i: Z}, 5) for i, c in TERMS["z"].items()]
    mats += [c * embed({i: Z, j: Z}, 5) for i, j, c in TERMS["zz"]]
    mats += [kron_hamiltonian(5, {}, [], {k: c}) for k, c in TERMS["x"].items()]
    return mats


def _norm(m: np.ndarray) -> float:
    return float(np.linalg.norm(m, 2))


def _first_order_bound(dt: float, steps: int) -> float:
    terms = _terms_dense()
    total = sum(
        _norm(a @ b - b @ a) for i, a in enumerate(terms) for b in terms[i + 1 :]
    )
    return steps * dt**2 / 2.0 * total


def _second_order_bound(dt: float, steps: int) -> float:
    terms = _terms_dense()

    def comm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a @ b - b @ a

    inner = {(a, b): comm(terms[b], terms[a]) for a, b in product(range(len(terms)), repeat=2)}
    triple = sum(_norm(comm(terms[c], inner[a, b])) for (a, b) in inner for c in range(len(terms))
                 if np.any(inner[a, b]))
    double = sum(_norm(comm(terms[a], inner[b, a])) for (a, b) in inner)
    return steps * dt**3 * (triple / 12.0 + double / 24.0)


def _entangled_state_circuit() -> QuantumCircuit:
    qc = QuantumCircuit(5)
    for q, angle in enumerate([0.3, 2.1, 1.2, 0.7, 2.8]):
        qc.ry(angle, q)
    qc.cx(0, 1)
    qc.cx(2, 3)
    qc.cx(1, 4)
    qc.rz(0.4, 4)
    return qc


def _exact_amplitudes(circuit: QuantumCircuit, times: np.ndarray) -> np.ndarray:
    from qiskit.quantum_info import Statevector

    psi = Statevector(circuit).data
    return np.array([psi.conj() @ expm(-1j * H * t) @ psi for t in times])


@pytest.fixture(scope="module")
def states() -> list[tuple[str, QuantumCircuit]]:
    trace = random_trace_states(MODEL, 2, np.random.default_rng(11))
    return [(s.name, s.circuit) for s in trace] + [("entangled", _entangled_state_circuit())]


@pytest.mark.parametrize("order", [1, 2])
def test_amplitude_within_trotter_bound(order, states):
    grid = TimeGrid(24, 0.12)
    runs = TrotterEvolution(MODEL, grid, order=order, settings=SV).evolve(states)
    bound = (_first_order_bound if order == 1 else _second_order_bound)(grid.dt, grid.steps)
    for (name, circuit), run in zip(states, runs):
        exact = _exact_amplitudes(circuit, grid.times)
        errors = np.abs(run.amplitudes - exact)
        assert run.amplitudes[0] == pytest.approx(1.0, abs=EXACT_ATOL), name
        # Bound at every step k, not only at the end: ||S^k - U^k|| <= k * (one-step bound).
        step_bounds = bound * np.arange(grid.steps) / grid.steps
        assert np.all(errors <= step_bounds + EXACT_ATOL), (name, errors.max(), bound)
        assert errors.max() > 1e-6, "the Trotter error must be visible, else the test is vacuous"


def test_second_order_beats_first_and_converges_quadratically(states):
    times_error = {}
    for order in (1, 2):
        for steps, dt in ((16, 0.2), (32, 0.1)):
            runs = TrotterEvolution(MODEL, TimeGrid(steps, dt), order=order,
                                    settings=SV).evolve(states)
            times = TimeGrid(steps, dt).times
            times_error[order, dt] = max(
                float(np.abs(r.amplitudes - _exact_amplitudes(c, times)).max())
                for (_, c), r in zip(states, runs)
            )
    assert times_error[2, 0.2] < times_error[1, 0.2]
    assert times_error[2, 0.1] < times_error[1, 0.1]
    # Same T = 3.2: halving dt divides the global error by ~2 (order 1) and ~4 (order 2).
    assert times_error[1, 0.2] / times_error[1, 0.1] == pytest.approx(2.0, rel=0.35)
    assert times_error[2, 0.2] / times_error[2, 0.1] == pytest.approx(4.0, rel=0.35)


def test_commuting_hamiltonian_is_evolved_exactly(states):
    # Without X terms every factor commutes: any Trotter order is exact, so this pins the phase
    # bookkeeping (the transpiled step's global phase, k copies of it) to round-off.
    classical_terms = dict(TERMS, x={})
    model = IsingModel.from_terms(5, **classical_terms)
    h = kron_hamiltonian(5, **classical_terms)
    grid = TimeGrid(12, 0.37)
    for order in (1, 2, 4):
        runs = TrotterEvolution(model, grid, order=order, settings=SV).evolve(states)
        for (_, circuit), run in zip(states, runs):
            from qiskit.quantum_info import Statevector

            psi = Statevector(circuit).data
            exact = [psi.conj() @ expm(-1j * h * t) @ psi for t in grid.times]
            np.testing.assert_allclose(run.amplitudes, exact, atol=EXACT_ATOL)


def test_mps_and_statevector_agree(states):
    grid = TimeGrid(10, 0.2)
    sv = TrotterEvolution(MODEL, grid, order=2, settings=SV).evolve(states, track_stress=True)
    mps = TrotterEvolution(MODEL, grid, order=2, settings=MPS).evolve(states, track_stress=True)
    for a, b in zip(sv, mps):
        np.testing.assert_allclose(a.amplitudes, b.amplitudes, atol=EXACT_ATOL)
        np.testing.assert_allclose(a.stress, b.stress, atol=EXACT_ATOL)
        assert b.max_bond_dimension is not None


def test_stress_of_unshocked_nodes_is_conserved():
    amps = np.array([[np.cos(0.4), np.sin(0.4)], [0, 1], [np.cos(1.1), 1j * np.sin(1.1)],
                     [1, 0], [0, 1]], dtype=complex)
    grid = TimeGrid(20, 0.15)
    (run,) = TrotterEvolution(MODEL, grid, order=2, settings=SV).evolve(
        [("product", product_state_circuit(amps))], track_stress=True)
    initial = np.abs(amps[:, 1]) ** 2
    for node in (1, 3, 4):
        np.testing.assert_allclose(run.stress[:, node], initial[node], atol=EXACT_ATOL)
    assert np.ptp(run.stress[:, 0]) > 1e-3 and np.ptp(run.stress[:, 2]) > 1e-3
    # Shocked nodes against exact dynamics, within the Trotter error.
    psi = np.array([1.0 + 0j])
    for row in amps:
        psi = np.kron(row, psi)
    for k, t in enumerate(grid.times):
        phi = expm(-1j * H * t) @ psi
        exact_p0 = float(np.real(phi.conj() @ ((np.eye(32) - embed({0: Z}, 5)) / 2) @ phi))
        assert run.stress[k, 0] == pytest.approx(exact_p0, abs=0.02)


def test_bad_trotter_order_is_refused():
    with pytest.raises(ConfigError, match="order must be 1 or an even number"):
        product_formula(3)


# --------------------------------------------------------------------------- exact references


def test_exact_characteristic_function_matches_dense_diagonalisation():
    spectral = pytest.importorskip("qrspps.exact.spectral")
    times = np.linspace(0.0, 7.0, 29)
    eigenvalues = np.linalg.eigvalsh(H)
    dense_chi = np.exp(-1j * np.multiply.outer(times, eigenvalues)).mean(axis=1)
    np.testing.assert_allclose(
        spectral.exact_characteristic_function(MODEL, times), dense_chi, atol=EXACT_ATOL
    )
    energies, counts = spectral.exact_spectrum(MODEL)
    assert counts.sum() == 32
    np.testing.assert_allclose(np.repeat(energies, counts.astype(int)), eigenvalues,
                               atol=EXACT_ATOL)


def test_exact_survival_amplitude_of_a_product_state_matches_expm():
    spectral = pytest.importorskip("qrspps.exact.spectral")
    state = random_trace_states(MODEL, 1, np.random.default_rng(5))[0]
    times = np.linspace(0.0, 4.0, 9)
    np.testing.assert_allclose(
        spectral.exact_survival_amplitude(MODEL, state.product_amplitudes, times),
        _exact_amplitudes(state.circuit, times),
        atol=EXACT_ATOL,
    )


def test_exact_local_spectrum_matches_eigh():
    from qiskit.quantum_info import Statevector

    psi = Statevector(_entangled_state_circuit()).data
    energies, weights = exact_local_spectrum(MODEL, psi)
    values, vectors = np.linalg.eigh(H)
    dense_weights = np.abs(vectors.conj().T @ psi) ** 2
    keep = dense_weights > 1e-14
    np.testing.assert_allclose(np.sort(energies), np.sort(values[keep]), atol=EXACT_ATOL)
    assert weights.sum() == pytest.approx(1.0, abs=EXACT_ATOL)
    times = np.linspace(0.0, 5.0, 11)
    np.testing.assert_allclose(
        survival_amplitude_from_spectrum(energies, weights, times),
        _exact_amplitudes(_entangled_state_circuit(), times),
        atol=EXACT_ATOL,
    )


def test_statevector_memory_is_checked_before_anything_runs():
    from qrspps.errors import ResourceLimitError

    tight = SimulatorSettings(method="statevector", max_parallel_threads=1,
                              memory_limit_bytes=1024)
    with pytest.raises(ResourceLimitError, match="state-vector simulation of 5 qubits"):
        TrotterEvolution(MODEL, TimeGrid(4, 0.1), settings=tight)
