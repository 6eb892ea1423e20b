"""Energies and local expectation values of ansatz states.

Two estimators share one interface (``energies(thetas) -> (k,)``, one Aer call per batch):

* :class:`StructuredEstimator` (ours). The Z/ZZ part of ``H`` is diagonal in the computational
  basis, so from a state vector ``E = sum_b |psi_b|^2 D_b + sum_k x_k <X_k>`` with the diagonal
  ``D`` cached per model and each ``<X_k> = 2 Re sum_{b: bit k = 0} conj(psi_b) psi_{b + 2^k}``
  (vectorised numpy over amplitude pairs). From a matrix-product state the same energy is the
  linear combination of ``<Z_i>``, ``<Z_i Z_j>`` (only the coupled pairs) and ``<X_k>``, all
  contracted exactly in one left-to-right sweep (:func:`mps_local_expectations`), batched over
  states of equal bond dimensions.
* :class:`GenericEstimator` (the preprint's path): ``qiskit_aer.primitives.EstimatorV2`` with
  ``default_precision=0`` on the ``SparsePauliOp`` of ``H``; Aer evaluates every Pauli term on the
  state. Kept for comparison and benchmarks.

Signs, qubit order and ``P_i = <(1 - Z_i) / 2>`` follow :mod:`qrspps.conventions`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from qiskit import transpile
from qiskit_aer import AerSimulator
from qiskit_aer.primitives import EstimatorV2

from qrspps.conventions import stress_probability_from_z
from qrspps.errors import ResourceLimitError
from qrspps.model.hamiltonian import to_sparse_pauli_op
from qrspps.model.ising import MAX_DIAGONAL_QUBITS, IsingModel
from qrspps.quantum.ansatz import Ansatz
from qrspps.quantum.backend import (
    AerBackend,
    MpsState,
    SimulatorSettings,
    check_device,
    check_statevector_memory,
    resolve_method,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LocalExpectations:
    """Local expectation values of one state.

    Attributes:
        z: ``<Z_i>`` for every qubit, shape ``(n,)``.
        zz_pairs: the pairs ``(i, j)`` of ``zz``, shape ``(m, 2)``.
        zz: ``<Z_i Z_j>`` for those pairs, shape ``(m,)``.
        x: ``<X_k>`` for every qubit, shape ``(n,)``.
    """

    z: np.ndarray
    zz_pairs: np.ndarray
    zz: np.ndarray
    x: np.ndarray

    @property
    def stress(self) -> np.ndarray:
        """Per-node stress probability ``P_i = (1 - <Z_i>) / 2``."""
        return np.asarray(stress_probability_from_z(self.z))

    def energy(self, model: IsingModel) -> float:
        """``<H>`` of ``model``; its ZZ pairs must be among :attr:`zz_pairs`."""
        return float(_energy_table([self], self.zz_pairs, [model])[0, 0])


# ------------------------------------------------------------------------------ state vectors


def _float_view(psi: np.ndarray) -> np.ndarray:
    """Interleaved (re, im) real view of a complex state; no copy."""
    return np.ascontiguousarray(psi).view(np.float32 if psi.dtype == np.complex64 else np.float64)


def statevector_x_expectation(psi: np.ndarray, qubit: int) -> float:
    """``<X_q>`` of a little-endian state vector: ``2 Re sum conj(psi_b) psi_{b xor 2^q}``.

    Pairs amplitudes whose indices differ in bit ``q`` through a reshape; the real view makes
    ``Re(conj(a) b) = a_re b_re + a_im b_im`` a single real dot product.
    """
    view = _float_view(psi).reshape(-1, 2, 2 ** (qubit + 1))
    return 2.0 * float(np.einsum("ij,ij->", view[:, 0, :], view[:, 1, :], dtype=np.float64))


def statevector_energy(
    psi: np.ndarray,
    model: IsingModel,
    diagonal: np.ndarray,
    *,
    buffer: np.ndarray | None = None,
) -> float:
    """``<psi|H|psi>`` from the diagonal of the Z/ZZ part and the X terms.

    Args:
        psi: normalised little-endian state vector (complex128 or complex64).
        model: the Hamiltonian.
        diagonal: ``model.diagonal()`` (float64, length ``2**n``).
        buffer: optional float64 scratch array of length ``2**n`` for ``|psi|^2``. Reusing one
            matters at 20+ qubits: a fresh array of that size is a fresh memory mapping whose
            page faults cost more than the arithmetic (~1 s against 0.07 s at 24 qubits).
    """
    if buffer is None:
        buffer = np.empty(len(psi))
    probabilities = np.abs(psi, out=buffer)
    np.multiply(probabilities, probabilities, out=probabilities)
    energy = float(np.dot(probabilities, diagonal))
    for k in np.flatnonzero(model.x):
        energy += float(model.x[k]) * statevector_x_expectation(psi, int(k))
    return energy


def statevector_local_expectations(
    psi: np.ndarray, zz_pairs: np.ndarray | None = None
) -> LocalExpectations:
    """``<Z_i>``, ``<Z_i Z_j>`` on ``zz_pairs`` and ``<X_i>`` of a little-endian state vector.

    Costs ``O(n 2^n)``: for final states and diagnostics, not for the optimiser's inner loop.
    """
    n = int(np.log2(len(psi)))
    pairs = np.zeros((0, 2), dtype=np.int64) if zz_pairs is None else np.asarray(zz_pairs)
    probabilities = (np.abs(psi) ** 2).astype(np.float64)
    tensor = probabilities.reshape([2] * n)  # axis a is qubit n - 1 - a (little-endian)

    def axis(q: int) -> int:
        return n - 1 - q

    z = np.empty(n)
    for q in range(n):
        marginal = tensor.sum(axis=tuple(a for a in range(n) if a != axis(q)))
        z[q] = marginal[0] - marginal[1]
    zz = np.empty(len(pairs))
    for p, (i, j) in enumerate(pairs):
        keep = sorted((axis(int(i)), axis(int(j))))
        marginal = tensor.sum(axis=tuple(a for a in range(n) if a not in keep))
        zz[p] = marginal[0, 0] + marginal[1, 1] - marginal[0, 1] - marginal[1, 0]
    x = np.array([statevector_x_expectation(psi, q) for q in range(n)])
    return LocalExpectations(z, pairs, zz, x)


# ------------------------------------------------------------------------------ MPS


def mps_local_expectations(
    states: Sequence[MpsState], zz_pairs: np.ndarray
) -> list[LocalExpectations]:
    """Exact ``<Z_i>``, ``<X_i>`` (all qubits) and ``<Z_i Z_j>`` (on ``zz_pairs``) of MPS.

    States with identical bond dimensions are contracted together as one stacked batch. A sweep
    from the right builds the right environments; a sweep from the left carries the left
    environment and, stacked, one environment with ``Z_i`` inserted for every pair ``(i, j)``
    still open; each expectation value closes a left environment against a right one. No canonical
    form is assumed: results are divided by ``<psi|psi>``. Cost ``O(k n^2 chi^3)`` for ``k``
    states, ``chi <= 2**depth``.
    """
    pairs = np.asarray(zz_pairs, dtype=np.int64).reshape(-1, 2)
    groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for index, state in enumerate(states):
        groups[state.bond_dimensions].append(index)

    results: list[LocalExpectations | None] = [None] * len(states)
    for members in groups.values():
        z, zz, x = _sweep(_stack_site_tensors([states[m] for m in members]), pairs)
        for row, m in enumerate(members):
            results[m] = LocalExpectations(z[row], pairs, zz[row], x[row])
    return results  # type: ignore[return-value]


def _stack_site_tensors(states: Sequence[MpsState]) -> list[np.ndarray]:
    """Site tensors ``M_i = G_i diag(l_i)`` of equally shaped states, shape ``(k, 2, chi, chi')``.

    The brickwork RY ansatz is real; Aer still returns complex tensors. When every imaginary part
    is zero the contraction runs in real arithmetic, which halves its cost.
    """
    n = states[0].num_qubits
    tensors = []
    for i in range(n):
        site = np.array([s.gammas[i] for s in states])
        if i < n - 1:
            site = site * np.array([s.lambdas[i] for s in states])[:, None, None, :]
        tensors.append(site)
    if all(not np.any(t.imag) for t in tensors):
        tensors = [np.ascontiguousarray(t.real) for t in tensors]
    return tensors


def _transfer_stack(envs: np.ndarray, bra: np.ndarray, ket: np.ndarray) -> np.ndarray:
    """``bra @ envs[:, o] @ ket`` for every open environment ``o``.

    Shapes: ``envs (k, o, a, a)``, ``bra (k, b, a)``, ``ket (k, a, b)``; returns ``(k, o, b, b)``.
    """
    return bra[:, None] @ envs @ ket[:, None]


def _sweep(tensors: list[np.ndarray], pairs: np.ndarray) -> tuple[np.ndarray, ...]:
    """Batched expectation sweep over site tensors of shape ``(k, 2, chi_l, chi_r)``."""
    n = len(tensors)
    k = tensors[0].shape[0]

    def dagger(a: np.ndarray) -> np.ndarray:
        return np.conj(np.swapaxes(a, -1, -2))

    # right[i][c, a, b] (a bra, b ket): environment of sites i..n-1.
    right: list[np.ndarray] = [np.ones((k, 1, 1))] * (n + 1)
    for i in reversed(range(n)):
        m = tensors[i]
        right[i] = np.conj(m[:, 0]) @ right[i + 1] @ np.swapaxes(m[:, 0], -1, -2) + np.conj(
            m[:, 1]
        ) @ right[i + 1] @ np.swapaxes(m[:, 1], -1, -2)
    norm = np.real(right[0][:, 0, 0])

    closes_at: dict[int, list[tuple[int, int]]] = defaultdict(list)
    last_partner: dict[int, int] = {}
    for p, (i, j) in enumerate(pairs):
        a, b = (int(i), int(j)) if i < j else (int(j), int(i))
        closes_at[b].append((p, a))
        last_partner[a] = max(last_partner.get(a, -1), b)

    z = np.empty((k, n))
    x = np.empty((k, n))
    zz = np.empty((k, len(pairs)))
    left = np.ones((k, 1, 1))
    open_starts: list[int] = []
    open_envs = np.ones((k, 0, 1, 1))  # stacked (k, o, chi, chi), Z inserted at open_starts
    for i in range(n):
        m0, m1 = tensors[i][:, 0], tensors[i][:, 1]
        r = right[i + 1]
        d0, d1 = dagger(m0), dagger(m1)
        keep0, keep1 = d0 @ left @ m0, d1 @ left @ m1
        z_env = keep0 - keep1
        z[:, i] = np.real(np.einsum("kab,kab->k", z_env, r))
        x[:, i] = np.real(np.einsum("kab,kab->k", d0 @ left @ m1 + d1 @ left @ m0, r))

        if open_starts:
            o0, o1 = _transfer_stack(open_envs, d0, m0), _transfer_stack(open_envs, d1, m1)
            if closes_at.get(i):
                closed = np.real(np.einsum("koab,kab->ko", o0 - o1, r))
                slot = {a: q for q, a in enumerate(open_starts)}
                for p, a in closes_at[i]:
                    zz[:, p] = closed[:, slot[a]]
            still_open = [q for q, a in enumerate(open_starts) if last_partner[a] > i]
            open_envs = (o0 + o1)[:, still_open]
            open_starts = [open_starts[q] for q in still_open]
        else:
            open_envs = np.ones((k, 0, *keep0.shape[1:]), dtype=keep0.dtype)
        if last_partner.get(i, -1) > i:
            open_envs = np.concatenate([open_envs, z_env[:, None]], axis=1)
            open_starts.append(i)
        left = keep0 + keep1

    return z / norm[:, None], zz / norm[:, None], x / norm[:, None]


# ------------------------------------------------------------------------------ estimators


class StructuredEstimator:
    """Energies of ansatz states from Aer states, using the Ising structure of ``H``.

    Args:
        model: the Hamiltonian.
        backend: an :class:`AerBackend` for the ansatz (its method decides the path).

    Attributes:
        evaluations: number of energies computed (one per parameter set).
    """

    def __init__(self, model: IsingModel, backend: AerBackend) -> None:
        if model.num_qubits != backend.num_qubits:
            raise ValueError(f"model has {model.num_qubits} qubits, ansatz {backend.num_qubits}")
        if backend.method == "statevector" and model.num_qubits > MAX_DIAGONAL_QUBITS:
            raise ResourceLimitError(
                f"the structured state-vector path caches the 2**{model.num_qubits}-entry "
                f"diagonal of H, allowed up to {MAX_DIAGONAL_QUBITS} qubits; use simulator=mps"
            )
        self.model = model
        self.backend = backend
        self.evaluations = 0
        self._buffer: np.ndarray | None = None
        self._diagonals: dict[int, tuple[IsingModel, np.ndarray]] = {}

    @property
    def method(self) -> str:
        return self.backend.method

    def diagonal(self, model: IsingModel | None = None) -> np.ndarray:
        """Cached diagonal of the Z/ZZ part of ``model`` (default: this estimator's model)."""
        model = model or self.model
        cached = self._diagonals.get(id(model))
        if cached is None or cached[0] is not model:
            log.debug("caching the %d-qubit Hamiltonian diagonal", model.num_qubits)
            cached = (model, model.diagonal())
            self._diagonals[id(model)] = cached
        return cached[1]

    def energies(self, thetas: np.ndarray) -> np.ndarray:
        """``<H>`` for each row of ``thetas`` (shape ``(k, P)``), one Aer call per chunk."""
        return self.expectation_values(thetas, [self.model])[:, 0]

    def energy(self, theta: np.ndarray) -> float:
        """``<H>`` for one parameter set."""
        return float(self.energies(np.asarray(theta)[None, :])[0])

    def expectation_values(self, thetas: np.ndarray, models: Sequence[IsingModel]) -> np.ndarray:
        """``<H_m>`` of every model on the state of every row of ``thetas``, shape ``(k, m)``.

        All models are evaluated on the same simulated states, so screening several Hamiltonians
        costs one simulation per parameter set.
        """
        thetas = np.atleast_2d(np.asarray(thetas, dtype=float))
        out = np.empty((len(thetas), len(models)))
        if self.method == "statevector":
            diagonals = [self.diagonal(m) for m in models]
            if self._buffer is None:
                self._buffer = np.empty(2**self.model.num_qubits)
            for row, psi in enumerate(self.backend.run(thetas)):
                out[row] = [
                    statevector_energy(psi, m, d, buffer=self._buffer)
                    for m, d in zip(models, diagonals)
                ]
        else:
            pairs = _union_pairs(models)
            states = list(self.backend.run(thetas))
            out[:] = _energy_table(mps_local_expectations(states, pairs), pairs, models)
        self.evaluations += len(thetas) * len(models)
        return out

    def local_expectations(
        self, theta: np.ndarray, zz_pairs: np.ndarray | None = None
    ) -> LocalExpectations:
        """``<Z_i>``, ``<X_i>`` and ``<Z_i Z_j>`` (default: the model's pairs) of one state."""
        pairs = self.model.zz_pairs if zz_pairs is None else np.asarray(zz_pairs)
        state = self.backend.state(theta)
        if isinstance(state, MpsState):
            return mps_local_expectations([state], pairs)[0]
        return statevector_local_expectations(state, pairs)

    def stress(self, theta: np.ndarray) -> np.ndarray:
        """Per-node stress ``P_i = <(1 - Z_i) / 2>`` of the ansatz state at ``theta``."""
        return self.local_expectations(theta, np.zeros((0, 2), dtype=np.int64)).stress


def _energy_table(
    local: Sequence[LocalExpectations], pairs: np.ndarray, models: Sequence[IsingModel]
) -> np.ndarray:
    """``<H_m>`` of every model on every state from their local expectations, shape ``(k, m)``.

    ``<H> = z . <Z> + zz . <ZZ> + x . <X>``, vectorised over states: each model's ZZ pairs are
    located in ``pairs`` once, not once per state (screening evaluates seven models on hundreds of
    states, where a per-state lookup cost more than the MPS contraction).
    """
    z = np.array([e.z for e in local])
    x = np.array([e.x for e in local])
    zz = np.array([e.zz for e in local]).reshape(len(local), len(pairs))
    index = {(int(i), int(j)): q for q, (i, j) in enumerate(pairs)}
    table = np.empty((len(local), len(models)))
    for col, m in enumerate(models):
        columns = np.array([index[(int(i), int(j))] for i, j in m.zz_pairs], dtype=np.int64)
        table[:, col] = z @ m.z + zz[:, columns] @ m.zz + x @ m.x
    return table


def _union_pairs(models: Iterable[IsingModel]) -> np.ndarray:
    pairs = sorted({(int(i), int(j)) for m in models for i, j in m.zz_pairs})
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


class GenericEstimator:
    """The preprint's path: Aer ``EstimatorV2`` (exact, ``default_precision=0``) on the full
    ``SparsePauliOp``.

    Args:
        model: the Hamiltonian (converted through OpenFermion, :mod:`qrspps.model.hamiltonian`).
        ansatz: the parametrised circuit (transpiled here once for Aer).
        settings: simulator settings; ``auto`` is resolved with the same rule as the backend.
    """

    def __init__(
        self, model: IsingModel, ansatz: Ansatz, settings: SimulatorSettings | None = None
    ) -> None:
        settings = settings or SimulatorSettings()
        check_device(settings.device)
        self.method = resolve_method(settings, model.num_qubits, ansatz.bond_dimension_bound)
        backend_options: dict[str, object] = {
            "method": self.method,
            "device": settings.device,
            "max_parallel_threads": settings.max_parallel_threads,
        }
        if self.method == "statevector":
            backend_options["precision"] = settings.precision
            check_statevector_memory(
                model.num_qubits, settings.precision, memory_limit_bytes=settings.memory_limit_bytes
            )
        self.operator = to_sparse_pauli_op(model)
        self.circuit = transpile(
            ansatz.circuit, AerSimulator(method=self.method), optimization_level=0
        )
        self.estimator = EstimatorV2(
            options={"default_precision": 0.0, "backend_options": backend_options}
        )
        self.evaluations = 0

    def energies(self, thetas: np.ndarray) -> np.ndarray:
        """``<H>`` for each row of ``thetas``, one EstimatorV2 call."""
        thetas = np.atleast_2d(np.asarray(thetas, dtype=float))
        result = self.estimator.run([(self.circuit, self.operator, thetas)]).result()
        self.evaluations += len(thetas)
        return np.asarray(result[0].data.evs, dtype=float).reshape(len(thetas))

    def energy(self, theta: np.ndarray) -> float:
        """``<H>`` for one parameter set."""
        return float(self.energies(np.asarray(theta)[None, :])[0])
