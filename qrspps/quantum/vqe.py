"""The variational quantum eigensolver: ansatz states from Aer, a scipy optimiser, restarts.

:func:`run_vqe` minimises ``<H>(theta)`` over the ansatz parameters with

* ``cobyla``: derivative-free, the published settings (``maxiter`` 2000, ``rhobeg`` 0.5, 5 starts,
  initial angles uniform in ``(-pi, pi)``);
* ``lbfgsb`` / ``bfgs``: gradient-based, with exact parameter-shift gradients, energy and gradient
  from one batched Aer call per step (:func:`qrspps.quantum.gradients.energy_and_gradient`).

Restarts: ``restarts`` independent starts (the published "5 restarts" = 5 runs). With
``mean_field, starts = SeedSequence(seed).spawn(2)``, start ``r`` draws its initial angles from
``default_rng(starts.spawn(restarts)[r])`` and the mean-field search from
``default_rng(mean_field)``: reproducible, independent streams, and start ``r`` does not depend on
the number of restarts. The best final energy wins.

Initialisations (``init``):

* ``random``: every angle uniform in ``(-pi, pi)`` (the published one).
* ``cluster_random``: start 0 as ``mean_field``; every later start keeps the mean-field angles
  outside the multi-node shocked clusters and draws every layer's angle on the cluster qubits
  uniformly in ``(-pi, pi)``. A model without such clusters has a product ground state with no
  cluster to explore: it gets two starts as ``mean_field`` does (the second catches a warm start
  given in ``initial_parameters`` that sits in a basin that is no longer the best). With
  ``qubit_order="clusters_last"`` this explores the entangled cluster state while the classical
  nodes stay put (:mod:`qrspps.quantum.layout`, with measurements).
* ``mean_field``: a classical mean-field product state. For ``prod_q RY(phi_q)|0>`` the energy is
  ``E(phi) = sum z_i cos phi_i + sum c_ij cos phi_i cos phi_j + sum x_k sin phi_k`` in closed form;
  it is minimised classically (L-BFGS-B from ``mean_field_starts`` random starts) and loaded into
  the last rotation layer with the other layers at 0 (which the brickwork ansatz turns into the
  identity, :func:`qrspps.quantum.ansatz.product_state_parameters`). Start ``r > 0`` adds uniform
  noise of half-width ``init_noise`` (radians) to every angle. This uses nothing from the exact
  solvers. NOTE: when the shocked nodes are not coupled to each other (scenarios A and B) the exact
  ground state is itself a product state, so this start is already (numerically) optimal and the
  VQE only confirms it; with coupled shocked nodes (some policies) it is a warm start.

Measured on retail40 (2-core CPU, depth 3, MPS, one start each): from ``random`` starts L-BFGS-B
reached E0 within 3e-9 once (scenario A, seed 0, 200 iterations, 233 s) and stopped in local
minima 4.5-7.9 energy units above E0 three times (A seed 1, B seed 0, 30-node network seed 0),
where a few nodes sit in the wrong classical configuration; COBYLA with the published settings
ended 9.0 above E0 (best of 5 starts, 10,000 evaluations). From ``mean_field`` starts perturbed by
up to 0.3 rad per angle L-BFGS-B converges to E0 within 1e-10 in 30-40 iterations (~40 s a start).

Signs and ``P_i`` follow :mod:`qrspps.conventions`; energies in the units of ``h`` and ``J``.
"""

from __future__ import annotations

import logging
import resource
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import OptimizeResult, minimize

from qrspps.errors import ConfigError
from qrspps.model.ising import IsingModel
from qrspps.quantum.ansatz import DEFAULT_DEPTH, Ansatz, build_ansatz, product_state_parameters
from qrspps.quantum.backend import AerBackend, SimulatorSettings, statevector_bytes
from qrspps.quantum.estimator import StructuredEstimator
from qrspps.quantum.gradients import energy_and_gradient
from qrspps.quantum.layout import chain_order, multi_node_clusters, permute_model, to_node_order

log = logging.getLogger(__name__)

OPTIMIZERS = ("cobyla", "lbfgsb", "bfgs")
INITIALISATIONS = ("random", "mean_field", "cluster_random")

#: The published COBYLA settings.
COBYLA_MAXITER = 2000
COBYLA_RHOBEG = 0.5
PUBLISHED_RESTARTS = 5


@dataclass(frozen=True)
class OptimizerSettings:
    """The ``optimizer`` config group.

    Attributes:
        name: ``cobyla``, ``lbfgsb`` or ``bfgs``.
        maxiter: iterations per start (COBYLA: function evaluations); default 2000 (COBYLA) or
            1000 (gradient-based).
        restarts: number of independent starts (>= 1).
        rhobeg: COBYLA's initial trust-region radius (radians).
        tol: COBYLA's final trust-region radius; for L-BFGS-B the relative energy-change stop
            ``ftol``; for BFGS the gradient-norm stop. Default 1e-12 for L-BFGS-B, 1e-7 otherwise.
        gtol: gradient stop of L-BFGS-B (largest projected gradient component, energy units
            per radian). Near a minimum the energy error is about ``|g|^2 / (2 curvature)``, so
            1e-6 is far below the 1e-6 energy target, and above the ~1e-9 noise of MPS gradients.
        init: ``random`` or ``mean_field`` (module docstring).
        init_noise: half-width (radians) of the noise added to mean-field starts ``r > 0``.
        mean_field_starts: random starts of the classical mean-field minimisation.
        log_every: iterations between INFO log lines.
        time_budget_s: optional wall-clock budget; no new start begins once it is spent.
    """

    name: str = "lbfgsb"
    maxiter: int | None = None
    restarts: int = PUBLISHED_RESTARTS
    rhobeg: float = COBYLA_RHOBEG
    tol: float | None = None
    gtol: float = 1e-6
    init: str = "random"
    init_noise: float = 0.1
    mean_field_starts: int = 64
    log_every: int = 10
    time_budget_s: float | None = None

    def __post_init__(self) -> None:
        name = self.name.lower().replace("-", "").replace("_", "")
        object.__setattr__(self, "name", name)
        if name not in OPTIMIZERS:
            raise ConfigError(f"optimizer.name must be one of {OPTIMIZERS}, was {self.name!r}")
        if self.init not in INITIALISATIONS:
            raise ConfigError(f"optimizer.init must be one of {INITIALISATIONS}, was {self.init!r}")
        if self.restarts < 1:
            raise ConfigError(f"optimizer.restarts must be >= 1, was {self.restarts}")
        if self.maxiter is not None and self.maxiter < 1:
            raise ConfigError(f"optimizer.maxiter must be >= 1, was {self.maxiter}")
        if self.log_every < 1:
            raise ConfigError(f"optimizer.log_every must be >= 1, was {self.log_every}")

    @property
    def effective_maxiter(self) -> int:
        if self.maxiter is not None:
            return self.maxiter
        return COBYLA_MAXITER if self.name == "cobyla" else 1000

    @property
    def effective_tol(self) -> float:
        if self.tol is not None:
            return self.tol
        return 1e-12 if self.name == "lbfgsb" else 1e-7

    @classmethod
    def from_mapping(cls, cfg: Mapping[str, Any] | None) -> OptimizerSettings:
        """Settings from the plain-dict ``optimizer`` config; missing keys take the defaults."""
        cfg = dict(cfg or {})
        defaults = cls()
        budget = cfg.get("time_budget_s")
        maxiter = cfg.get("maxiter")
        tol = cfg.get("tol")
        return cls(
            name=str(cfg.get("name", defaults.name)),
            maxiter=None if maxiter is None else int(maxiter),
            restarts=int(cfg.get("restarts", defaults.restarts)),
            rhobeg=float(cfg.get("rhobeg", defaults.rhobeg)),
            tol=None if tol is None else float(tol),
            gtol=float(cfg.get("gtol", defaults.gtol)),
            init=str(cfg.get("init", defaults.init)),
            init_noise=float(cfg.get("init_noise", defaults.init_noise)),
            mean_field_starts=int(cfg.get("mean_field_starts", defaults.mean_field_starts)),
            log_every=int(cfg.get("log_every", defaults.log_every)),
            time_budget_s=None if budget is None else float(budget),
        )


@dataclass
class VQEResult:
    """Outcome of :func:`run_vqe`.

    Attributes:
        energy: best ``<H>`` found (energy units).
        parameters: the parameters of that state (radians).
        exact_energy: reference ground energy if one was given, else None.
        abs_error: ``energy - exact_energy`` (>= 0 up to round-off, variational), or None.
        rel_error: ``abs_error / |exact_energy|``, or None.
        evaluations: energies computed, shifted ones of the gradients included (the cost measure).
        function_evaluations: energies the optimiser asked for.
        gradient_evaluations: parameter-shift gradients computed (``2 P`` energies each).
        iterations: optimiser iterations, all starts together.
        termination_reason: scipy's message for the best start.
        wall_time_s: wall-clock time of the whole run (s).
        eval_time_s: time of one energy evaluation at the final parameters (s, best of 3).
        energy_trace: energy after each iteration, the starts one after the other.
        restart_energies: final energy of each start.
        method: Aer method used (``statevector`` or ``matrix_product_state``).
        optimizer: optimiser name.
        init: initialisation used.
        statevector_bytes: bytes of one state vector at this size and precision (what the
            state-vector method holds; for MPS runs what it *would* hold).
        state_bytes: bytes of the state actually simulated (the MPS bound for MPS runs).
        peak_rss_bytes: peak resident memory of this process so far (its lifetime peak).
        stress: per-node ``P_i`` of the final state.
        mean_field_energy: energy of the mean-field start, when ``init='mean_field'``.
        seed: base seed.
        qubit_order: the node at each chain position of the ansatz
            (:mod:`qrspps.quantum.layout`); ``parameters`` refer to the ansatz laid along it.
            ``stress`` is in node order whatever the order.
    """

    energy: float
    parameters: np.ndarray
    exact_energy: float | None
    abs_error: float | None
    rel_error: float | None
    evaluations: int
    function_evaluations: int
    gradient_evaluations: int
    iterations: int
    termination_reason: str
    wall_time_s: float
    eval_time_s: float
    energy_trace: list[float]
    restart_energies: list[float]
    method: str
    optimizer: str
    init: str
    statevector_bytes: int
    state_bytes: int
    peak_rss_bytes: int
    stress: np.ndarray
    num_qubits: int
    num_parameters: int
    mean_field_energy: float | None = None
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    qubit_order: tuple[int, ...] = ()


IterationCallback = Callable[[int, float, np.ndarray], None]


def mean_field_angles(
    model: IsingModel, rng: np.random.Generator, *, starts: int = 64
) -> tuple[np.ndarray, float]:
    """Classical mean-field product state minimising the closed-form product-state energy.

    The ``starts`` minimisations are independent, so their summed energy is separable: one
    L-BFGS-B run over all of them at once minimises each (and costs one scipy call instead of
    ``starts``).

    Args:
        model: the Hamiltonian.
        rng: source of the random starts.
        starts: number of starts, angles uniform in ``(-pi, pi)``.

    Returns:
        ``(phi, E_mf)``: angles of ``prod_q RY(phi_q)|0>`` and its energy, an upper bound on the
        ground energy (it is the energy of a state).
    """
    n = model.num_qubits
    coupling = np.zeros((n, n))  # symmetric c_ij, zero diagonal
    coupling[model.zz_pairs[:, 0], model.zz_pairs[:, 1]] = model.zz
    coupling += coupling.T

    def energies_and_grads(phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c, s = np.cos(phi), np.sin(phi)  # (starts, n)
        field_z = model.z + c @ coupling  # z_q + sum_k c_qk cos phi_k
        energy = c @ model.z + 0.5 * np.einsum("kq,kq->k", c, c @ coupling) + s @ model.x
        return energy, -s * field_z + model.x * c

    def total(flat: np.ndarray) -> tuple[float, np.ndarray]:
        energy, grad = energies_and_grads(flat.reshape(starts, n))
        return float(energy.sum()), grad.ravel()

    start = rng.uniform(-np.pi, np.pi, (starts, n))
    res = minimize(
        total,
        start.ravel(),
        jac=True,
        method="L-BFGS-B",
        options={"ftol": 0.0, "gtol": 1e-12, "maxiter": 20_000},
    )
    phi = res.x.reshape(starts, n)
    energies, _ = energies_and_grads(phi)
    best = int(np.argmin(energies))
    return phi[best], float(energies[best])


def run_vqe(
    model: IsingModel,
    *,
    depth: int = DEFAULT_DEPTH,
    ansatz_name: str = "brickwork_ry",
    optimizer: OptimizerSettings | None = None,
    simulator: SimulatorSettings | None = None,
    seed: int = 0,
    initial_parameters: np.ndarray | None = None,
    exact_energy: float | None = None,
    callback: IterationCallback | None = None,
    qubit_order: str = "natural",
) -> VQEResult:
    """Minimise ``<H>`` over the ansatz on Aer.

    Args:
        model: the Hamiltonian.
        depth: ansatz depth ``D`` (``n (D + 1)`` parameters for the brickwork ansatz).
        ansatz_name: registered ansatz (:data:`qrspps.quantum.ansatz.ANSATZ_REGISTRY`).
        optimizer: optimiser settings (default: L-BFGS-B, random starts).
        simulator: Aer settings (default: ``auto``).
        seed: base seed of every random stream (module docstring, "Restarts").
        initial_parameters: overrides the first start's parameters (radians).
        exact_energy: reference ground energy, only for the reported errors; the optimiser never
            sees it.
        callback: called as ``callback(iteration, energy, theta)`` after every iteration.
        qubit_order: ``natural`` or ``clusters_last``: the chain the ansatz's CNOTs follow
            (:mod:`qrspps.quantum.layout`); ``initial_parameters`` refer to it.

    Returns:
        :class:`VQEResult` with the best start's state.
    """
    optimizer = optimizer or OptimizerSettings()
    simulator = simulator or SimulatorSettings()
    started = time.perf_counter()

    order = chain_order(model, qubit_order)
    node_model = model
    if order != tuple(range(model.num_qubits)):
        log.info("VQE: ansatz chain in %s order %s", qubit_order, list(order))
        model = permute_model(model, order)

    ansatz = build_ansatz(ansatz_name, model.num_qubits, depth)
    backend = AerBackend(ansatz, simulator)
    estimator = StructuredEstimator(model, backend)
    starts = _initial_points(model, ansatz, optimizer, seed, initial_parameters)
    mean_field_energy = starts.mean_field_energy

    run = _Run(estimator, optimizer, callback)
    best: OptimizeResult | None = None
    restart_energies: list[float] = []
    for r, theta0 in enumerate(starts.points):
        if (
            optimizer.time_budget_s is not None
            and r > 0
            and time.perf_counter() - started > optimizer.time_budget_s
        ):
            log.info("VQE: time budget of %.0f s spent after %d starts", optimizer.time_budget_s, r)
            break
        result = run.minimise(theta0, r)
        restart_energies.append(float(result.fun))
        log.info(
            "VQE start %d/%d (%s, init %s): E = %.10f after %d iterations (%s)",
            r + 1,
            len(starts.points),
            optimizer.name,
            optimizer.init,
            result.fun,
            run.start_iterations,
            result.message,
        )
        if best is None or result.fun < best.fun:
            best = result
    assert best is not None

    theta = np.asarray(best.x)
    energy = estimator.energy(theta)  # re-evaluated: COBYLA's last point is not always its best
    evaluations = estimator.evaluations
    eval_time = _time_one_evaluation(estimator, theta)
    stress = to_node_order(estimator.stress(theta), order)
    abs_error = rel_error = None
    if exact_energy is not None:
        abs_error = energy - exact_energy
        rel_error = abs_error / abs(exact_energy) if exact_energy != 0 else float("nan")
    wall = time.perf_counter() - started
    log.info(
        "VQE done: E = %.10f (exact %s, error %s), %d energies, %.1f s, method %s",
        energy,
        exact_energy,
        abs_error,
        estimator.evaluations,
        wall,
        backend.method,
    )

    return VQEResult(
        energy=energy,
        parameters=theta,
        exact_energy=exact_energy,
        abs_error=abs_error,
        rel_error=rel_error,
        evaluations=evaluations,
        function_evaluations=run.function_evaluations,
        gradient_evaluations=run.gradient_evaluations,
        iterations=run.iterations,
        termination_reason=str(best.message),
        wall_time_s=wall,
        eval_time_s=eval_time,
        energy_trace=run.trace,
        restart_energies=restart_energies,
        method=backend.method,
        optimizer=optimizer.name,
        init=optimizer.init if initial_parameters is None else "given",
        statevector_bytes=statevector_bytes(node_model.num_qubits, simulator.precision),
        state_bytes=int(backend.state_bytes),
        peak_rss_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        stress=stress,
        num_qubits=model.num_qubits,
        num_parameters=ansatz.num_parameters,
        mean_field_energy=mean_field_energy,
        seed=seed,
        extra={"aer_calls": backend.calls, "circuits_simulated": backend.circuits_run},
        qubit_order=order,
    )


@dataclass
class _Starts:
    points: list[np.ndarray]
    mean_field_energy: float | None


def _initial_points(
    model: IsingModel,
    ansatz: Ansatz,
    optimizer: OptimizerSettings,
    seed: int,
    initial_parameters: np.ndarray | None,
) -> _Starts:
    """Initial parameters of every start, each from its own child seed."""
    # Two independent branches: one for the classical mean-field search, one whose r-th child
    # seeds start r (so start r is the same whatever the number of restarts).
    mean_field_seq, starts_seq = np.random.SeedSequence(seed).spawn(2)
    rngs = [np.random.default_rng(c) for c in starts_seq.spawn(optimizer.restarts)]
    mean_field_energy = None
    if optimizer.init == "random":
        points = [rng.uniform(-np.pi, np.pi, ansatz.num_parameters) for rng in rngs]
    else:
        phi, mean_field_energy = mean_field_angles(
            model, np.random.default_rng(mean_field_seq), starts=optimizer.mean_field_starts
        )
        log.info("mean-field product state: E_mf = %.10f", mean_field_energy)
        base = product_state_parameters(ansatz, phi)
        points = [base.copy()]
        cluster = np.zeros(len(base), dtype=bool)
        extra = rngs[1:]
        if optimizer.init == "cluster_random":
            cluster = _cluster_parameter_mask(model, ansatz)
            if not cluster.any() and len(extra) > 1:
                log.info("VQE: no multi-node shocked cluster: 2 of %d starts", len(rngs))
                extra = extra[:1]
        for rng in extra:
            if cluster.any():
                point = base.copy()
                point[cluster] = rng.uniform(-np.pi, np.pi, int(cluster.sum()))
            else:
                point = base + rng.uniform(-optimizer.init_noise, optimizer.init_noise, base.shape)
            points.append(point)
    if initial_parameters is not None:
        given = np.asarray(initial_parameters, dtype=float)
        if given.shape != (ansatz.num_parameters,):
            raise ConfigError(
                f"initial_parameters must have shape ({ansatz.num_parameters},), got {given.shape}"
            )
        points[0] = given.copy()
    return _Starts(points, mean_field_energy)


def _cluster_parameter_mask(model: IsingModel, ansatz: Ansatz) -> np.ndarray:
    """Parameters of every rotation layer on the qubits of multi-node shocked clusters."""
    mask = np.zeros(ansatz.num_parameters, dtype=bool)
    qubits = [q for nodes in multi_node_clusters(model) for q in nodes]
    for layer in range(ansatz.rotation_layers):
        mask[ansatz.layer_slice(layer)][qubits] = True
    return mask


class _Run:
    """Objective wrappers, counters and the per-iteration trace shared by all starts."""

    def __init__(
        self,
        estimator: StructuredEstimator,
        optimizer: OptimizerSettings,
        callback: IterationCallback | None,
    ) -> None:
        self.estimator = estimator
        self.optimizer = optimizer
        self.callback = callback
        self.function_evaluations = 0
        self.gradient_evaluations = 0
        self.iterations = 0
        self.trace: list[float] = []
        self.start_iterations = 0

    def _energy(self, theta: np.ndarray) -> float:
        self.function_evaluations += 1
        return self.estimator.energy(theta)

    def _energy_and_gradient(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        self.function_evaluations += 1
        self.gradient_evaluations += 1
        return energy_and_gradient(
            self.estimator, theta, shift=self.estimator.backend.ansatz.shift_rule
        )

    def _on_iteration(self, intermediate_result: OptimizeResult) -> None:
        self.iterations += 1
        self.start_iterations += 1
        energy = float(intermediate_result.fun)
        self.trace.append(energy)
        if self.start_iterations % self.optimizer.log_every == 0:
            log.info(
                "VQE iteration %d: E = %.10f (%d energies so far)",
                self.start_iterations,
                energy,
                self.estimator.evaluations,
            )
        log.debug("VQE iteration %d: E = %.12f", self.start_iterations, energy)
        if self.callback is not None:
            self.callback(self.iterations, energy, np.asarray(intermediate_result.x))

    def minimise(self, theta0: np.ndarray, start: int) -> OptimizeResult:
        """One optimiser run from ``theta0``."""
        self.start_iterations = 0
        opt = self.optimizer
        log.debug("VQE start %d from |theta| = %.3f", start, float(np.linalg.norm(theta0)))
        if opt.name == "cobyla":
            return minimize(
                self._energy,
                theta0,
                method="COBYLA",
                callback=self._on_iteration,
                options={
                    "maxiter": opt.effective_maxiter,
                    "rhobeg": opt.rhobeg,
                    "tol": opt.effective_tol,
                },
            )
        if opt.name == "lbfgsb":
            return minimize(
                self._energy_and_gradient,
                theta0,
                jac=True,
                method="L-BFGS-B",
                callback=self._on_iteration,
                options={
                    "maxiter": opt.effective_maxiter,
                    "ftol": opt.effective_tol,
                    "gtol": opt.gtol,
                },
            )
        return minimize(
            self._energy_and_gradient,
            theta0,
            jac=True,
            method="BFGS",
            callback=self._on_iteration,
            options={"maxiter": opt.effective_maxiter, "gtol": opt.effective_tol},
        )


def _time_one_evaluation(
    estimator: StructuredEstimator, theta: np.ndarray, *, repeats: int = 3, budget_s: float = 2.0
) -> float:
    """Best wall time (s) of one energy evaluation, Aer call included.

    Up to ``repeats`` evaluations, fewer once ``budget_s`` is spent (a 24-qubit state vector takes
    seconds per evaluation).
    """
    times: list[float] = []
    while len(times) < repeats and sum(times) < budget_s:
        t0 = time.perf_counter()
        estimator.energy(theta)
        times.append(time.perf_counter() - t0)
    return min(times)
