"""Trotterised real-time evolution on Aer: survival amplitudes and per-node stress.

One Trotter step ``S(dt)`` is Qiskit's ``PauliEvolutionGate(H, dt)`` synthesised with
``LieTrotter`` (order 1) or ``SuzukiTrotter(order)`` (even orders), as defined in
:mod:`qrspps.conventions`, and transpiled for the simulator once. On the grid ``t_k = k dt``,
``k = 0 .. N-1`` (``dt = T_max / N``), the survival amplitude of a state ``|psi0> = V|0>`` is

    ``A(t_k) = <psi0| S(dt)^k |psi0> = <0| V^dag S^k V |0>``.

All ``N`` values come from ONE Aer run per state: after the ``k``-th step the circuit applies
``V^dag``, saves the amplitude of ``|0...0>`` (``save_amplitudes``), and re-applies ``V``
(``V V^dag = I``), then the next copy of the compiled step. Nothing of size ``2**n`` leaves the
simulator, so the same code runs the state vector for small ``n`` and the matrix-product state for
large ``n`` (the trace-estimator states of :mod:`qrspps.dynamics.states` stay product-like, so
MPS costs little even at 30-40 qubits).

Global phase: Aer applies a circuit's ``global_phase`` once, at the start. The transpiled step is
``exp(i phi) G`` with ``G`` the gates Aer applies, so composing ``k`` copies would keep only one
``phi``. We strip ``phi`` from every piece and multiply ``A(t_k)`` by ``exp(i k phi)`` ourselves.

Memory pre-flight: a state-vector run is refused with :class:`~qrspps.errors.ResourceLimitError`
(:func:`qrspps.quantum.backend.check_statevector_memory`) before anything is allocated.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from qiskit import QuantumCircuit, transpile
from qiskit.circuit.library import PauliEvolutionGate
from qiskit.quantum_info import Pauli
from qiskit.synthesis import LieTrotter, ProductFormula, SuzukiTrotter
from qiskit_aer import AerSimulator

from qrspps.conventions import stress_probability_from_z
from qrspps.errors import ConfigError
from qrspps.model.hamiltonian import to_sparse_pauli_op
from qrspps.model.ising import IsingModel
from qrspps.quantum.backend import (
    SimulatorSettings,
    check_device,
    check_statevector_memory,
    resolve_method,
)

log = logging.getLogger(__name__)

#: Aer's MPS option ``chop_threshold`` defaults to 1e-8 (smaller values are set to zero); lowered so
#: that MPS and state-vector amplitudes agree to ~1e-12 (tested at 1e-10).
MPS_CHOP_THRESHOLD = 1e-14

#: Gates the circuits are transpiled to; all are native to Aer's statevector and MPS methods.
#: (Transpiling against ``AerSimulator`` itself rebuilds its target on every call: ~1 s each.)
BASIS_GATES = ("u", "p", "rz", "ry", "rx", "rzz", "x", "sx", "cx")

#: ``simulator.method=auto`` takes the state vector up to this many qubits for Trotter circuits.
#: Never above this, whatever ``simulator.auto_mps_threshold`` says: a Trotter run applies ``N``
#: steps of ~``3 n`` gates, and the states evolved here stay close to product states, where the MPS
#: is far cheaper (measured on retail40-A, 64 steps: 3.7 s for 16 qubits on the state vector,
#: 0.4 s for 20 qubits on the MPS).
DYNAMICS_AUTO_MPS_THRESHOLD = 12


def product_formula(order: int, reps: int = 1) -> ProductFormula:
    """Qiskit product formula of Trotter ``order`` (1 = Lie-Trotter, even = Suzuki).

    Raises:
        ConfigError: for an order that is neither 1 nor a positive even number, or ``reps < 1``.
    """
    if reps < 1:
        raise ConfigError(f"Trotter repetitions per step must be >= 1, was {reps}")
    if order == 1:
        return LieTrotter(reps=reps)
    if order >= 2 and order % 2 == 0:
        return SuzukiTrotter(order=order, reps=reps)
    raise ConfigError(f"dosqpe.order must be 1 or an even number (2, 4, ...), was {order}")


@dataclass(frozen=True)
class TimeGrid:
    """Sampling grid ``t_k = k dt``, ``k = 0 .. steps - 1`` (time in inverse energy units)."""

    steps: int
    dt: float

    def __post_init__(self) -> None:
        if self.steps < 2:
            raise ConfigError(f"dosqpe.trotter_steps must be >= 2, was {self.steps}")
        if not self.dt > 0.0:
            raise ConfigError(f"the time step dt must be > 0, was {self.dt}")

    @property
    def total_time(self) -> float:
        """``T_max = N dt`` (the last sample is at ``T_max - dt``)."""
        return self.steps * self.dt

    @property
    def times(self) -> np.ndarray:
        return self.dt * np.arange(self.steps)


@dataclass(frozen=True)
class TrotterStep:
    """One compiled Trotter step ``S(dt) = exp(i global_phase) * circuit``."""

    circuit: QuantumCircuit
    global_phase: float
    dt: float
    order: int
    reps: int

    @property
    def two_qubit_gates(self) -> int:
        return sum(1 for inst in self.circuit.data if inst.operation.num_qubits == 2)


@dataclass(frozen=True)
class TrotterRun:
    """Result of evolving one state.

    Attributes:
        name: the state's name.
        times: ``t_k`` (inverse energy units).
        amplitudes: ``A(t_k) = <psi0|S(dt)^k|psi0>``, complex, shape ``(N,)``.
        stress: ``P_i(t_k) = <(1 - Z_i)/2>`` after ``k`` steps, shape ``(N, n)``, or None.
        method: Aer method used.
        wall_time_s: seconds per state: circuit assembly and the Aer call, divided by the number
            of states evolved together.
        max_bond_dimension: largest MPS bond at the end (MPS runs only).
    """

    name: str
    times: np.ndarray
    amplitudes: np.ndarray
    stress: np.ndarray | None
    method: str
    wall_time_s: float
    max_bond_dimension: int | None = None


def dynamics_method(settings: SimulatorSettings, num_qubits: int) -> str:
    """Aer method for a Trotter run: ``auto`` uses :data:`DYNAMICS_AUTO_MPS_THRESHOLD`."""
    if settings.method == "auto":
        settings = replace(
            settings,
            auto_mps_threshold=min(settings.auto_mps_threshold, DYNAMICS_AUTO_MPS_THRESHOLD),
        )
    return resolve_method(settings, num_qubits)


class TrotterEvolution:
    """A model, a grid and a compiled Trotter step, ready to evolve any number of states.

    Args:
        model: the Hamiltonian (no identity term; a constant shift only multiplies ``A(t)`` by a
            phase, which :mod:`qrspps.dynamics.dosqpe` applies classically).
        grid: sampling grid; each sample is one Trotter step ``dt`` after the previous one.
        order: Trotter order (:mod:`qrspps.conventions`).
        reps_per_step: product-formula repetitions inside one ``dt`` (1 = one formula per sample).
        settings: the ``simulator`` config group.

    Raises:
        ConfigError: bad order or device.
        ResourceLimitError: a state-vector run that does not fit in memory.
    """

    def __init__(
        self,
        model: IsingModel,
        grid: TimeGrid,
        *,
        order: int = 2,
        reps_per_step: int = 1,
        settings: SimulatorSettings | None = None,
    ) -> None:
        self.model = model
        self.grid = grid
        self.settings = settings or SimulatorSettings()
        check_device(self.settings.device)
        n = model.num_qubits
        self.method = dynamics_method(self.settings, n)

        device = self.settings.device
        if self.method == "matrix_product_state" and device != "CPU":
            # Aer simulates matrix-product states on the CPU only.
            log.info("matrix_product_state runs on the CPU; simulator.device=%s ignored", device)
            device = "CPU"
        options: dict[str, object] = {
            "method": self.method,
            "device": device,
            "max_parallel_threads": self.settings.max_parallel_threads,
        }
        if self.method == "statevector":
            check_statevector_memory(
                n, self.settings.precision, memory_limit_bytes=self.settings.memory_limit_bytes
            )
            options["precision"] = self.settings.precision
            # One state vector at a time: the circuits of different states run one after another.
            options["max_parallel_experiments"] = 1
        else:
            options["chop_threshold"] = MPS_CHOP_THRESHOLD
            options["max_parallel_experiments"] = 0
        self.simulator = AerSimulator(**options)
        self.step = self._compile_step(order, reps_per_step)

    def _compile_step(self, order: int, reps: int) -> TrotterStep:
        formula = product_formula(order, reps)
        n = self.model.num_qubits
        gate = PauliEvolutionGate(
            to_sparse_pauli_op(self.model), time=self.grid.dt, synthesis=formula
        )
        circuit = QuantumCircuit(n, name=f"trotter_o{order}")
        circuit.append(gate, range(n))
        compiled = transpile(circuit, basis_gates=list(BASIS_GATES), optimization_level=1)
        phase = float(compiled.global_phase)
        compiled.global_phase = 0.0
        step = TrotterStep(compiled, phase, self.grid.dt, order, reps)
        log.info(
            "Trotter step: order %d, %d rep(s), dt = %.6g, %d gates (%d two-qubit), depth %d, "
            "preserve_order=%s, method %s",
            order,
            reps,
            self.grid.dt,
            compiled.size(),
            step.two_qubit_gates,
            compiled.depth(),
            formula.preserve_order,
            self.method,
        )
        return step

    def _circuit(self, prep: QuantumCircuit, track_stress: bool) -> QuantumCircuit:
        n = self.model.num_qubits
        if {inst.operation.name for inst in prep.data} <= set(BASIS_GATES):
            v = prep.copy()
        else:
            v = transpile(prep, basis_gates=list(BASIS_GATES), optimization_level=0)
        v.global_phase = 0.0
        v_dag = v.inverse()
        circuit = QuantumCircuit(n)
        circuit.compose(v, inplace=True)
        z_ops = [Pauli("Z")] * n
        for k in range(self.grid.steps):
            if track_stress:
                for q in range(n):
                    circuit.save_expectation_value(z_ops[q], [q], label=f"z{k}_{q}")
            circuit.compose(v_dag, inplace=True)
            circuit.save_amplitudes([0], label=f"a{k}")
            if k == self.grid.steps - 1:
                break
            circuit.compose(v, inplace=True)
            circuit.compose(self.step.circuit, inplace=True)
        if self.method == "matrix_product_state":
            # Undo the last V^dag so the saved MPS is the evolved state (for its bond dimension).
            circuit.compose(v, inplace=True)
            circuit.save_matrix_product_state(label="mps")
        circuit.global_phase = 0.0
        return circuit

    def evolve(
        self, preparations: Sequence[tuple[str, QuantumCircuit]], *, track_stress: bool = False
    ) -> list[TrotterRun]:
        """Survival amplitudes (and optionally per-node stress) of each prepared state.

        Args:
            preparations: ``(name, V)`` pairs; ``V`` prepares the state from ``|0...0>``.
            track_stress: also save ``<Z_i>`` after every step (``n N`` extra saves).

        Returns:
            One :class:`TrotterRun` per preparation, in order.
        """
        n, steps = self.model.num_qubits, self.grid.steps
        started = time.perf_counter()
        circuits = [self._circuit(prep, track_stress) for _, prep in preparations]
        result = self.simulator.run(circuits, shots=1).result()
        if not result.success:
            raise RuntimeError(f"Aer failed on the Trotter circuits: {result.status}")
        elapsed = (time.perf_counter() - started) / max(1, len(circuits))

        phases = np.exp(1j * self.step.global_phase * np.arange(steps))
        runs = []
        for i, (name, _) in enumerate(preparations):
            data = result.data(i)
            amplitudes = phases * np.array([complex(data[f"a{k}"][0]) for k in range(steps)])
            stress = None
            if track_stress:
                z = np.array(
                    [[float(np.real(data[f"z{k}_{q}"])) for q in range(n)] for k in range(steps)]
                )
                stress = np.asarray(stress_probability_from_z(z))
            bond = None
            if "mps" in data:
                bond = max((len(lam) for lam in data["mps"][1]), default=1)
            runs.append(
                TrotterRun(name, self.grid.times, amplitudes, stress, self.method, elapsed, bond)
            )
        log.info(
            "Trotter evolution: %d state(s), %d steps, %d qubits, %s, %.3g s per state",
            len(runs),
            steps,
            n,
            self.method,
            elapsed,
        )
        return runs
