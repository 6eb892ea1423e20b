"""The one place where qrspps states its conventions.

Every other module refers here instead of restating them; ``tests/test_conventions.py`` pins each
one numerically.

Qubits and nodes
    Node ``i`` of a supply network is qubit ``i``. Basis states are indexed little-endian, as in
    Qiskit: basis index ``b = sum_i bit_i * 2**i``, so qubit 0 is the least significant bit and the
    rightmost character of a Qiskit label. OpenFermion's ``get_sparse_operator`` is big-endian
    (qubit 0 is the most significant bit); :func:`qrspps.model.hamiltonian.to_sparse_pauli_op`
    converts through index lists, never through hand-built label strings.

States and stress
    ``|0>`` is *stable*, ``|1>`` is *stressed*. The stress probability of node ``i`` is
    ``P_i = <(1 - Z_i) / 2>``, i.e. the probability of measuring ``|1>`` on qubit ``i``. A classical
    configuration is given by bits; the Z eigenvalue of bit ``b`` is ``s = 1 - 2 b`` (+1 stable,
    -1 stressed).

Hamiltonian and signs (as published)
    ``H = sum_i h_i Z_i - sum_(s,d) J_sd Z_s Z_d - sum_(k in S) lambda_k X_k`` with tier biases
    ``h_i > 0``, couplings ``J_sd > 0`` and shock strengths ``lambda_k >= 0``. Because ``h_i > 0``
    the *stressed* state of an isolated node is the cheaper one, so the ground state is almost fully
    stressed. We keep the preprint's signs on purpose (it is what the published pipeline computes)
    and say so in the docs rather than "fix" them. Internally a Hamiltonian is held as
    :class:`qrspps.model.ising.IsingModel` with the signs folded into the coefficients:
    ``H = sum_i z_i Z_i + sum_(i<j) c_ij Z_i Z_j + sum_i x_i X_i`` (so ``c_sd = -J_sd`` and
    ``x_k = -lambda_k``).

Units and time
    Energies are in the dimensionless units of ``h`` and ``J``. Time is in inverse energy units
    with ``hbar = 1``; the propagator is ``U(t) = exp(-i H t)``.

Spectra
    The characteristic function is ``chi(t) = Tr exp(-i H t) / 2**n`` (so ``chi(0) = 1``); the
    density of states is normalised to unit mass, ``sum_k rho(E_k) = 1`` over the ``2**n``
    eigenvalues. The survival amplitude of a state is ``A(t) = <psi|exp(-i H t)|psi>``.

Thermal quantities
    ``beta = 1 / T`` in inverse energy units (``k_B = 1``); ``Z(beta) = Tr exp(-beta H)``.

Trotter order
    "Order 1" is Lie-Trotter ``prod_k exp(-i H_k dt)``; "order 2k" is the symmetric Suzuki formula
    of that order, as in Qiskit's ``SuzukiTrotter(order=...)``.
"""

from __future__ import annotations

import numpy as np

#: Z eigenvalue of a stable node (bit 0).
STABLE_SPIN = 1
#: Z eigenvalue of a stressed node (bit 1).
STRESSED_SPIN = -1

#: Default absolute tolerance for comparisons between exact methods.
EXACT_ATOL = 1e-9


def bits_to_spins(bits: np.ndarray) -> np.ndarray:
    """Map bits (0 stable, 1 stressed) to Z eigenvalues (+1 stable, -1 stressed)."""
    return 1 - 2 * np.asarray(bits, dtype=np.int8)


def basis_bits(num_qubits: int) -> np.ndarray:
    """Bits of every basis state in little-endian order.

    Returns:
        Array of shape ``(2**num_qubits, num_qubits)``; row ``b`` holds the bits of basis index
        ``b`` with column ``i`` = bit of qubit ``i`` (little-endian, as in Qiskit).
    """
    index = np.arange(2**num_qubits, dtype=np.int64)
    return ((index[:, None] >> np.arange(num_qubits, dtype=np.int64)[None, :]) & 1).astype(np.int8)


def stress_probability_from_z(expectation_z: np.ndarray | float) -> np.ndarray | float:
    """Stress probability ``P = (1 - <Z>) / 2`` from a Z expectation value."""
    return (1.0 - np.asarray(expectation_z)) / 2.0
