"""The Aer layer: simulator choice, memory pre-flight, and batched state simulation.

Every quantum stage gets its states from :class:`AerBackend`. It transpiles the ansatz once, binds
parameter sets per call through Aer's ``parameter_binds`` (many sets, one Aer call), and hands back
either dense state vectors (method ``statevector``) or matrix-product states (method
``matrix_product_state``), which :mod:`qrspps.quantum.estimator` turns into energies.

Method rule for ``method="auto"`` (see :func:`resolve_method`):

1. ``n <= auto_mps_threshold`` (12 by default): the state vector, if the memory pre-flight passes.
2. Otherwise, if the ansatz's exact MPS has bond dimension ``<= AUTO_MPS_MAX_BOND`` (64; the
   brickwork ansatz has ``2**depth``, 8 at the default depth 3): the matrix-product state, exact
   for it, with a cost linear in ``n``.
3. Otherwise the state vector if it fits, else the MPS.

Why 12: measured on a 2-core CPU with depth 3, one energy plus parameter-shift gradient costs about
the same with both methods at 12 qubits (0.2-0.3 s), while at 14 qubits the state vector takes
about 15x longer than the MPS (3.6 s vs 0.23 s) and at 18 qubits about 70x (7.9 s vs 0.12 s); the
state vector's cost doubles per qubit, the MPS's grows linearly. The choice is logged at INFO.

Accuracy of the MPS, measured against the state vector at 12-20 qubits: amplitudes agree to
~1e-11 for generic parameters and to ~1e-9 for nearly-product states (Aer drops tiny singular
values, whatever ``chop_threshold`` and ``matrix_product_state_truncation_threshold`` say);
energies agree to ~1e-11 in both cases.

Memory pre-flight (:func:`check_statevector_memory`): before any state vector is allocated, the
bytes needed, ``(16 | 8) * 2**n`` for Aer's state in double | single precision plus
``WORKING_BYTES_PER_AMPLITUDE * 2**n`` for the copy returned to Python, ``|psi|^2`` and the cached
diagonal of H, are compared with ``psutil.virtual_memory().available`` and the configured cap; a
request that does not fit is refused with :class:`~qrspps.errors.ResourceLimitError` naming an
option that fits. Batches of parameter sets are split so that the state vectors one Aer call
returns stay under ``BATCH_MEMORY_FRACTION`` of the free memory (and ``MAX_BATCH_BYTES``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import psutil
from qiskit import transpile
from qiskit_aer import AerSimulator

from qrspps.errors import ConfigError, ResourceLimitError
from qrspps.quantum.ansatz import Ansatz

log = logging.getLogger(__name__)

METHODS = ("statevector", "matrix_product_state", "auto")
#: Config spellings accepted for the methods (Hydra's simulator group uses ``mps``).
METHOD_ALIASES = {"sv": "statevector", "mps": "matrix_product_state"}
DEVICES = ("CPU", "GPU")
PRECISIONS = ("double", "single")

#: ``auto`` uses the state vector up to this many qubits and the MPS above (module docstring).
AUTO_MPS_QUBIT_THRESHOLD = 12
#: ``auto`` takes the MPS above the threshold only when the exact bond dimension is at most this.
AUTO_MPS_MAX_BOND = 64

#: Bytes of one amplitude of Aer's state: complex128 in double precision, complex64 in single.
BYTES_PER_AMPLITUDE = {"double": 16, "single": 8}

#: Bytes per basis state that the structured path holds besides Aer's own state: the copy that
#: ``save_statevector`` hands to Python (16: qiskit-aer 0.18 returns complex128 in both
#: precisions), ``|psi|^2`` (8, float64) and the cached diagonal of H (8, float64). In double
#: precision the total is 3 state vectors' worth (48 bytes per basis state).
WORKING_BYTES_PER_AMPLITUDE = 16 + 8 + 8

#: Default share of the free memory the returned states of one Aer call may fill; batches of
#: parameter sets are split so that their state vectors stay under it.
BATCH_MEMORY_FRACTION = 0.25
#: Cap on the returned states of one Aer call, whatever is free (keeps the peak predictable).
MAX_BATCH_BYTES = 2 * 1024**3


@dataclass(frozen=True)
class SimulatorSettings:
    """The ``simulator`` config group.

    Attributes:
        method: ``statevector``, ``matrix_product_state`` (alias ``mps``) or ``auto``.
        device: ``CPU`` or ``GPU`` (GPU needs the ``qiskit-aer-gpu`` build of Aer).
        precision: ``double`` or ``single`` (state vector only; MPS runs in double).
        max_parallel_threads: Aer's thread cap; 0 lets Aer use every core.
        memory_limit_bytes: optional cap below the free memory for the pre-flight.
        auto_mps_threshold: largest qubit count for which ``auto`` takes the state vector.
    """

    method: str = "auto"
    device: str = "CPU"
    precision: str = "double"
    max_parallel_threads: int = 0
    memory_limit_bytes: int | None = None
    auto_mps_threshold: int = AUTO_MPS_QUBIT_THRESHOLD

    def __post_init__(self) -> None:
        method = METHOD_ALIASES.get(self.method, self.method)
        object.__setattr__(self, "method", method)
        if method not in METHODS:
            raise ConfigError(
                f"simulator.method must be one of {METHODS} (or 'mps'), was {self.method!r}"
            )
        device = str(self.device).upper()
        object.__setattr__(self, "device", device)
        if device not in DEVICES:
            raise ConfigError(f"simulator.device must be one of {DEVICES}, was {self.device!r}")
        if self.precision not in PRECISIONS:
            raise ConfigError(
                f"simulator.precision must be one of {PRECISIONS}, was {self.precision!r}"
            )
        if self.max_parallel_threads < 0:
            raise ConfigError(
                f"simulator.max_parallel_threads must be >= 0, was {self.max_parallel_threads}"
            )
        if self.memory_limit_bytes is not None and self.memory_limit_bytes <= 0:
            raise ConfigError(
                f"simulator.memory_limit_bytes must be positive or null, was "
                f"{self.memory_limit_bytes}"
            )

    @classmethod
    def from_mapping(cls, cfg: Mapping[str, Any] | None) -> SimulatorSettings:
        """Settings from the plain-dict ``simulator`` config; missing keys take the defaults."""
        cfg = dict(cfg or {})
        limit = cfg.get("memory_limit_bytes")
        return cls(
            method=str(cfg.get("method", "auto")),
            device=str(cfg.get("device", "CPU")),
            precision=str(cfg.get("precision", "double")),
            max_parallel_threads=int(cfg.get("max_parallel_threads", 0) or 0),
            memory_limit_bytes=None if limit is None else int(limit),
            auto_mps_threshold=int(cfg.get("auto_mps_threshold", AUTO_MPS_QUBIT_THRESHOLD)),
        )


# --------------------------------------------------------------------------------- memory


def statevector_bytes(num_qubits: int, precision: str = "double") -> int:
    """Bytes of one state vector: ``16 * 2**n`` (double) or ``8 * 2**n`` (single)."""
    return BYTES_PER_AMPLITUDE[precision] * 2**num_qubits


def statevector_memory_required(num_qubits: int, precision: str = "double") -> int:
    """Bytes the structured state-vector path needs for one state, working copies included.

    ``(BYTES_PER_AMPLITUDE[precision] + WORKING_BYTES_PER_AMPLITUDE) * 2**n``: Aer's state, the
    copy returned to Python, ``|psi|^2`` and the cached diagonal (48 * 2**n bytes in double,
    40 * 2**n in single precision).
    """
    return (BYTES_PER_AMPLITUDE[precision] + WORKING_BYTES_PER_AMPLITUDE) * 2**num_qubits


def available_memory_bytes(memory_limit_bytes: int | None = None) -> int:
    """Free memory (psutil ``available``), lowered to the configured cap when one is set."""
    free = int(psutil.virtual_memory().available)
    return free if memory_limit_bytes is None else min(free, int(memory_limit_bytes))


def check_statevector_memory(
    num_qubits: int,
    precision: str = "double",
    *,
    memory_limit_bytes: int | None = None,
    available_bytes: int | None = None,
) -> int:
    """Refuse a state-vector simulation that would not fit; return the bytes it needs.

    Args:
        num_qubits: qubits of the state.
        precision: ``double`` or ``single``.
        memory_limit_bytes: configured cap (``simulator.memory_limit_bytes``), or None.
        available_bytes: free memory to compare with; default: measured now with psutil.

    Raises:
        ResourceLimitError: naming the bytes needed, the bytes free and an option that fits.

    .. note:: With ``device=GPU`` this checks host memory (the state returned to Python and our
       working arrays); GPU memory is checked by Aer itself, which fails with "Insufficient memory".
    """
    needed = statevector_memory_required(num_qubits, precision)
    free = (
        available_bytes if available_bytes is not None else int(psutil.virtual_memory().available)
    )
    limit_note = ""
    if memory_limit_bytes is not None and memory_limit_bytes < free:
        free = int(memory_limit_bytes)
        limit_note = " (simulator.memory_limit_bytes)"
    if needed <= free:
        return needed

    options = ["use simulator=mps (method matrix_product_state, exact for the brickwork ansatz)"]
    if precision == "double" and statevector_memory_required(num_qubits, "single") <= free:
        options.insert(0, "use simulator.precision=single")
    raise ResourceLimitError(
        f"state-vector simulation of {num_qubits} qubits in {precision} precision needs "
        f"{needed} bytes (Aer's state {BYTES_PER_AMPLITUDE[precision]} * 2**{num_qubits} + "
        f"{WORKING_BYTES_PER_AMPLITUDE} * 2**{num_qubits} for the returned copy, |psi|^2 and the "
        f"diagonal), but only {free} bytes are free{limit_note}; {' or '.join(options)}"
    )


# --------------------------------------------------------------------------------- method


def available_devices() -> tuple[str, ...]:
    """Devices this Aer build can simulate on (``('CPU',)`` without ``qiskit-aer-gpu``)."""
    return tuple(AerSimulator().available_devices())


def check_device(device: str) -> None:
    """Raise a clear error when ``device`` is not available in the installed Aer build."""
    devices = available_devices()
    if device not in devices:
        raise ConfigError(
            f"simulator.device={device!r} is not available; this Aer build offers {devices}. "
            "GPU simulation needs the qiskit-aer-gpu package installed *instead of* qiskit-aer "
            "(pip uninstall -y qiskit-aer && pip install 'qrspps[gpu]')"
        )


def resolve_method(
    settings: SimulatorSettings, num_qubits: int, exact_bond_dimension: int | None = None
) -> str:
    """The concrete Aer method for ``settings`` at ``num_qubits`` (rule in the module docstring).

    Args:
        settings: simulator settings; only ``method="auto"`` is resolved, others are returned.
        num_qubits: qubits of the circuit.
        exact_bond_dimension: bond dimension of the circuit's exact MPS (``2**depth`` for the
            brickwork ansatz), or None when unknown (treated as small enough).
    """
    if settings.method != "auto":
        return settings.method

    def statevector_fits() -> bool:
        try:
            check_statevector_memory(
                num_qubits, settings.precision, memory_limit_bytes=settings.memory_limit_bytes
            )
        except ResourceLimitError as exc:
            log.info("auto simulator: state vector refused (%s)", exc)
            return False
        return True

    bond_ok = exact_bond_dimension is None or exact_bond_dimension <= AUTO_MPS_MAX_BOND
    if num_qubits <= settings.auto_mps_threshold and statevector_fits():
        log.info(
            "auto simulator: %d qubits <= %d, using statevector",
            num_qubits,
            settings.auto_mps_threshold,
        )
        return "statevector"
    if bond_ok:
        log.info(
            "auto simulator: %d qubits, exact MPS bond dimension %s <= %d: using "
            "matrix_product_state",
            num_qubits,
            exact_bond_dimension,
            AUTO_MPS_MAX_BOND,
        )
        return "matrix_product_state"
    if statevector_fits():
        log.info(
            "auto simulator: MPS bond dimension %d > %d, using statevector",
            exact_bond_dimension,
            AUTO_MPS_MAX_BOND,
        )
        return "statevector"
    log.info(
        "auto simulator: neither fits well; using matrix_product_state (bond dimension %d)",
        exact_bond_dimension,
    )
    return "matrix_product_state"


# --------------------------------------------------------------------------------- states


@dataclass(frozen=True)
class MpsState:
    """A matrix-product state in Aer's Vidal form.

    ``psi[s_0 .. s_{n-1}] = G_0[s_0] diag(l_0) G_1[s_1] ... G_{n-1}[s_{n-1}]`` with site ``i`` =
    qubit ``i``. ``gammas[i]`` is the pair ``(G_i[0], G_i[1])`` of ``(chi_{i-1}, chi_i)`` matrices
    as Aer returns it, and ``lambdas[i]`` the singular values on the bond between sites ``i`` and
    ``i + 1``.
    """

    gammas: tuple[tuple[np.ndarray, np.ndarray], ...]
    lambdas: tuple[np.ndarray, ...]

    @property
    def num_qubits(self) -> int:
        return len(self.gammas)

    @property
    def bond_dimensions(self) -> tuple[int, ...]:
        return tuple(len(l) for l in self.lambdas)

    @property
    def max_bond_dimension(self) -> int:
        return max(self.bond_dimensions, default=1)

    def site_tensors(self) -> list[np.ndarray]:
        """Site tensors ``M_i[s] = G_i[s] diag(l_i)``, ``(2, chi_{i-1}, chi_i)``; psi = prod M_i."""
        tensors = [np.stack(g) for g in self.gammas]
        for i, lam in enumerate(self.lambdas):
            tensors[i] = tensors[i] * lam[None, None, :]
        return tensors

    def to_statevector(self) -> np.ndarray:
        """Dense little-endian state vector (for tests and small ``n`` only)."""
        psi = np.ones((1, 1), dtype=complex)
        for m in self.site_tensors():
            # Rows of psi index (s_0 ... s_i) with s_0 the most significant digit.
            psi = np.einsum("ab,sbc->asc", psi, m).reshape(-1, m.shape[2])
        n = self.num_qubits
        return psi[:, 0].reshape([2] * n).transpose(range(n - 1, -1, -1)).reshape(-1)


class AerBackend:
    """Transpile an ansatz once and simulate batches of parameter sets on Aer.

    Args:
        ansatz: the parametrised circuit.
        settings: simulator settings; ``method="auto"`` is resolved here, once.

    Raises:
        ConfigError: for an unavailable device.
        ResourceLimitError: when a state vector is requested that does not fit in memory.
    """

    def __init__(self, ansatz: Ansatz, settings: SimulatorSettings | None = None) -> None:
        self.ansatz = ansatz
        self.settings = settings or SimulatorSettings()
        check_device(self.settings.device)

        n = ansatz.num_qubits
        self.method = resolve_method(self.settings, n, ansatz.bond_dimension_bound)
        self.num_qubits = n
        self.calls = 0
        self.circuits_run = 0

        options: dict[str, Any] = {
            "method": self.method,
            "device": self.settings.device,
            "max_parallel_threads": self.settings.max_parallel_threads,
        }
        if self.method == "statevector":
            options["precision"] = self.settings.precision
            self.state_bytes = statevector_bytes(n, self.settings.precision)
            check_statevector_memory(
                n, self.settings.precision, memory_limit_bytes=self.settings.memory_limit_bytes
            )
        else:
            if self.settings.precision != "double":
                log.info(
                    "matrix_product_state runs in double precision; precision=%s ignored",
                    self.settings.precision,
                )
            # An MPS of this ansatz is small and its gates are applied serially, so the bound
            # parameter sets of a batch run in parallel instead (one experiment per thread).
            options["max_parallel_experiments"] = 0
            # Two (chi x chi) complex matrices per qubit; chi from the ansatz's bound (or the
            # worst case 2**(n/2) when unknown).
            chi = ansatz.bond_dimension_bound or 2 ** (n // 2)
            self.state_bytes = 16 * n * 2 * chi**2
        self.simulator = AerSimulator(**options)

        circuit = ansatz.circuit.copy()
        if self.method == "statevector":
            circuit.save_statevector(label="state")
        else:
            circuit.save_matrix_product_state(label="state")
        self._transpiled = transpile(circuit, self.simulator, optimization_level=0)
        log.info(
            "Aer backend: %s on %s (%s precision), %d qubits, %d parameters, threads=%s",
            self.method,
            self.settings.device,
            self.settings.precision if self.method == "statevector" else "double",
            n,
            ansatz.num_parameters,
            self.settings.max_parallel_threads or "all",
        )

    def batch_size(self) -> int:
        """Largest number of parameter sets whose returned states fit one Aer call's budget."""
        if self.method != "statevector":
            return 4096
        budget = min(
            MAX_BATCH_BYTES,
            BATCH_MEMORY_FRACTION * available_memory_bytes(self.settings.memory_limit_bytes),
        )
        # Each returned state arrives as complex128, whatever the simulation precision.
        return max(1, int(budget // (16 * 2**self.num_qubits)))

    def run(self, thetas: np.ndarray) -> Iterator[np.ndarray | MpsState]:
        """Simulate the ansatz for each row of ``thetas``; yield the states in row order.

        Args:
            thetas: shape ``(k, P)`` or ``(P,)`` parameter sets (radians).

        Yields:
            complex state vectors (little-endian, :mod:`qrspps.conventions`) or :class:`MpsState`.
            Rows are simulated in chunks of :meth:`batch_size`, one Aer call each, so at most one
            chunk of state vectors is alive at a time.
        """
        thetas = np.atleast_2d(np.asarray(thetas, dtype=float))
        if thetas.shape[1] != self.ansatz.num_parameters:
            raise ValueError(
                f"parameter sets must have {self.ansatz.num_parameters} columns, got "
                f"{thetas.shape[1]}"
            )
        chunk = self.batch_size()
        for start in range(0, len(thetas), chunk):
            block = thetas[start : start + chunk]
            binds = [{p: block[:, i].tolist() for i, p in enumerate(self.ansatz.parameters)}]
            result = self.simulator.run(self._transpiled, parameter_binds=binds).result()
            if not result.success:
                raise RuntimeError(f"Aer failed: {result.status}")
            self.calls += 1
            self.circuits_run += len(block)
            log.debug("Aer call %d: %d circuits (%s)", self.calls, len(block), self.method)
            for i in range(len(block)):
                data = result.data(i)["state"]
                if self.method == "statevector":
                    yield np.asarray(data)
                else:
                    yield _mps_from_aer(data)

    def state(self, theta: np.ndarray) -> np.ndarray | MpsState:
        """The state for one parameter set."""
        return next(iter(self.run(np.asarray(theta)[None, :])))


def _mps_from_aer(data: tuple[list[tuple[np.ndarray, np.ndarray]], list[np.ndarray]]) -> MpsState:
    gammas, lambdas = data
    return MpsState(tuple((g[0], g[1]) for g in gammas), tuple(lambdas))
