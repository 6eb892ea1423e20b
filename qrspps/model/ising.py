"""Transverse-field Ising Hamiltonians as plain coefficient arrays.

:class:`IsingModel` is the solver-facing representation every stage shares: the exact solvers,
the Aer estimators and the Monte Carlo all read these arrays. The OpenFermion/Qiskit operator forms
are built from it in :mod:`qrspps.model.hamiltonian`. Signs and qubit order follow
:mod:`qrspps.conventions`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from qrspps.conventions import bits_to_spins
from qrspps.errors import ResourceLimitError

#: Largest qubit count for which :meth:`IsingModel.diagonal` materialises all 2**n energies.
MAX_DIAGONAL_QUBITS = 28


@dataclass(frozen=True)
class IsingModel:
    """``H = sum_i z_i Z_i + sum_(i<j) c_ij Z_i Z_j + sum_i x_i X_i`` on ``num_qubits`` qubits.

    Attributes:
        num_qubits: number of qubits (= nodes).
        z: Z coefficients, shape ``(n,)``.
        zz_pairs: int array ``(m, 2)`` of qubit pairs with ``i < j``, each pair at most once.
        zz: ZZ coefficients, shape ``(m,)``, aligned with ``zz_pairs``.
        x: X coefficients, shape ``(n,)``; nonzero entries mark the "quantum" (shocked) nodes.
        labels: node labels, for messages and tables.
    """

    num_qubits: int
    z: np.ndarray
    zz_pairs: np.ndarray
    zz: np.ndarray
    x: np.ndarray
    labels: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        n = self.num_qubits
        if self.z.shape != (n,) or self.x.shape != (n,):
            raise ValueError(
                f"z and x must have shape ({n},), got {self.z.shape} and {self.x.shape}"
            )
        if self.zz_pairs.shape != (len(self.zz), 2):
            raise ValueError(
                f"zz_pairs must have shape ({len(self.zz)}, 2), got {self.zz_pairs.shape}"
            )
        if not self.labels:
            object.__setattr__(self, "labels", tuple(str(i) for i in range(n)))

    @classmethod
    def from_terms(
        cls,
        num_qubits: int,
        z: dict[int, float] | None = None,
        zz: Iterable[tuple[int, int, float]] = (),
        x: dict[int, float] | None = None,
        labels: Iterable[str] = (),
    ) -> IsingModel:
        """Build a model from term dictionaries, merging repeated ZZ pairs in either order."""
        z_arr = np.zeros(num_qubits)
        x_arr = np.zeros(num_qubits)
        for i, c in (z or {}).items():
            z_arr[i] += c
        for i, c in (x or {}).items():
            x_arr[i] += c
        merged: dict[tuple[int, int], float] = {}
        for i, j, c in zz:
            if i == j:
                raise ValueError(f"ZZ term on a single qubit {i} is not allowed (it is a constant)")
            key = (min(i, j), max(i, j))
            merged[key] = merged.get(key, 0.0) + float(c)
        pairs = np.array(sorted(merged), dtype=np.int64).reshape(-1, 2)
        coeffs = np.array([merged[tuple(p)] for p in pairs], dtype=float)
        return cls(num_qubits, z_arr, pairs, coeffs, x_arr, tuple(labels))

    def __add__(self, other: IsingModel) -> IsingModel:
        """Sum of two Hamiltonians on the same qubits (used for scenario + policy)."""
        if other.num_qubits != self.num_qubits:
            raise ValueError(
                f"cannot add models on {self.num_qubits} and {other.num_qubits} qubits"
            )
        zz_terms = [(int(i), int(j), float(c)) for (i, j), c in zip(self.zz_pairs, self.zz)]
        zz_terms += [(int(i), int(j), float(c)) for (i, j), c in zip(other.zz_pairs, other.zz)]
        return IsingModel.from_terms(
            self.num_qubits,
            z=dict(enumerate(self.z + other.z)),
            zz=zz_terms,
            x=dict(enumerate(self.x + other.x)),
            labels=self.labels,
        )

    @property
    def quantum_nodes(self) -> np.ndarray:
        """Indices of nodes carrying an X term (the only ones whose Z is not conserved)."""
        return np.flatnonzero(self.x != 0.0)

    @property
    def is_classical(self) -> bool:
        """True when H is diagonal in the computational basis."""
        return not np.any(self.x != 0.0)

    def coefficient_norm(self) -> float:
        """Sum of absolute Pauli coefficients: ``||H|| <= coefficient_norm()`` (spectral bound)."""
        return float(np.abs(self.z).sum() + np.abs(self.zz).sum() + np.abs(self.x).sum())

    def classical_energy(self, bits: np.ndarray) -> np.ndarray:
        """Diagonal (Z and ZZ) energy of one or many bit configurations.

        Args:
            bits: shape ``(n,)`` or ``(k, n)``; bit 1 = stressed (see :mod:`qrspps.conventions`).

        Returns:
            ``sum_i z_i s_i + sum c_ij s_i s_j`` with ``s = 1 - 2 bits``; the X part is ignored.
        """
        spins = bits_to_spins(bits).astype(float)
        energy = spins @ self.z
        if len(self.zz):
            energy = (
                energy
                + (spins[..., self.zz_pairs[:, 0]] * spins[..., self.zz_pairs[:, 1]]) @ self.zz
            )
        return energy

    def diagonal(self) -> np.ndarray:
        """Diagonal of H (Z and ZZ part) over all ``2**n`` basis states, little-endian.

        Raises:
            ResourceLimitError: above :data:`MAX_DIAGONAL_QUBITS` qubits.
        """
        if self.num_qubits > MAX_DIAGONAL_QUBITS:
            raise ResourceLimitError(
                f"the full diagonal of a {self.num_qubits}-qubit Hamiltonian needs "
                f"{8 * 2**self.num_qubits} bytes; the limit is {MAX_DIAGONAL_QUBITS} qubits"
            )
        index = np.arange(2**self.num_qubits, dtype=np.int64)
        # One spin column at a time keeps the peak at a few arrays of length 2**n.
        spins = [(1 - 2 * ((index >> q) & 1)).astype(np.int8) for q in range(self.num_qubits)]
        energy = np.zeros(index.shape, dtype=float)
        for q in np.flatnonzero(self.z):
            energy += self.z[q] * spins[q]
        for (i, j), c in zip(self.zz_pairs, self.zz):
            energy += c * (spins[i] * spins[j])
        return energy
