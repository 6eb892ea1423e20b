"""Structured-config schemas of the run configuration (``conf/``).

Every config group under ``conf/`` merges onto one of these dataclasses, so Hydra rejects an
unknown key, a value of the wrong type or an enum value outside its choices while composing, before
any job starts. Enums (not ``Literal``) are used because omegaconf 2.3 validates only those.

Data-heavy fields (network tables, shocks, policy catalogue) are typed loosely (``Any`` / lists):
they are validated by :mod:`qrspps.model` with messages that name the entry, and a schema for them
would only duplicate that.

Tasks never see these classes: the app converts the composed config to plain containers (enums as
their string names) before handing it on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

# omegaconf reads these annotations at runtime (typing.get_type_hints): every type used here must be
# one it validates: int, float, bool, str, Enum, `X | None`, list[...], dict[str, ...], Any.


class TaskName(Enum):
    """Tasks a job can run (``task=<name>``); see :mod:`qrspps.tasks`."""

    exact = "exact"
    vqe = "vqe"
    montecarlo = "montecarlo"
    screening = "screening"
    dosqpe = "dosqpe"
    pipeline = "pipeline"
    scaling = "scaling"


class Selection(Enum):
    """How a sub-network is taken from a network file."""

    prefix = "prefix"
    exec30 = "exec30"


class AnsatzName(Enum):
    """Variational circuits (:mod:`qrspps.quantum.ansatz` registry names).

    ``brickwork_ry`` is the preprint's ansatz: RY layers with brickwork CNOTs between them. An
    ansatz registered in code needs its name added here before a config can select it.
    """

    brickwork_ry = "brickwork_ry"


class OptimizerName(Enum):
    """Classical optimisers of the VQE loop (:mod:`qrspps.quantum.vqe`)."""

    lbfgsb = "lbfgsb"
    cobyla = "cobyla"
    bfgs = "bfgs"


class InitStrategy(Enum):
    """Initial VQE angles: uniform in (-pi, pi) as published, a mean-field warm start, or the
    mean-field start with random angles on the multi-node shocked clusters (qrspps.quantum.vqe)."""

    random = "random"
    mean_field = "mean_field"
    cluster_random = "cluster_random"


class QubitOrder(Enum):
    """Chain the brickwork ansatz follows (qrspps.quantum.layout)."""

    natural = "natural"
    clusters_last = "clusters_last"


class SimulatorMethod(Enum):
    """Aer simulation methods (``auto`` picks what fits the size)."""

    statevector = "statevector"
    matrix_product_state = "matrix_product_state"
    auto = "auto"


class Device(Enum):
    """Where Aer runs (``GPU`` needs qiskit-aer-gpu instead of qiskit-aer)."""

    CPU = "CPU"
    GPU = "GPU"


class Precision(Enum):
    """Floating-point precision of the simulated state."""

    double = "double"
    single = "single"


class InitialState(Enum):
    """DOS-QPE initial state: VQE or mean-field state (local DOS), random states (full DOS)."""

    vqe = "vqe"
    mean_field = "mean_field"
    random = "random"


class TraceStates(Enum):
    """Random product states of the full-DOS trace estimator."""

    auto = "auto"
    classical_bits = "classical_bits"
    haar = "haar"
    equator = "equator"


class Window(Enum):
    """Window applied to the survival amplitude before the FFT."""

    hann = "hann"
    hamming = "hamming"
    blackman = "blackman"
    rectangular = "rectangular"


class RangeSource(Enum):
    """Where DOS-QPE takes the spectral range that sets the alias-free time step."""

    exact = "exact"  # the exact solver (falls back to the coefficient bound)
    bound = "bound"  # the bound sum |coefficients|


class AliasingPolicy(Enum):
    """What DOS-QPE does when the configured time step aliases the spectrum."""

    auto = "auto"  # choose dt so that the spectral range fits
    warn = "warn"  # keep the configured dt, log a warning and tag the run
    refuse = "refuse"  # fail the job with the range and the largest safe dt


class Isolation(Enum):
    """How the runner executes a job body (see :mod:`qrspps.harness.runner`)."""

    subprocess = "subprocess"
    inprocess = "inprocess"


@dataclass
class NetworkConfig:
    """``network`` group: a network file's data (retail40, exec30) or a generated network."""

    name: str = "retail40"
    nodes: int | None = None  # prefix size; null = the whole network
    selection: Selection = Selection.prefix
    seed: int = 0  # generator seed (generated networks only)
    tiers: Any = None
    node_table: Any = None
    edges: Any = None


@dataclass
class ScenarioConfig:
    """``scenario`` group: shocks ``-lambda X_k`` on selected nodes."""

    name: str = "A"
    description: str = ""
    shocks: list[Any] = field(default_factory=list)


@dataclass
class PoliciesConfig:
    """``policies`` group: the catalogue of crisis policies and the ids a run screens."""

    screen: list[str] = field(default_factory=list)
    catalogue: dict[str, Any] = field(default_factory=dict)


@dataclass
class TaskConfig:
    """``task`` group: which task runs, and the knobs specific to it.

    ``options`` holds task-specific settings of tasks whose schema is not fixed here; a task reads
    and validates them itself.
    """

    name: TaskName = TaskName.exact
    description: str = ""
    betas: list[float] = field(default_factory=lambda: [0.25, 0.5, 1.0, 2.0])
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class AnsatzConfig:
    """``ansatz`` group: circuit family and depth D (n (D + 1) parameters)."""

    name: AnsatzName = AnsatzName.brickwork_ry
    depth: int = 3
    qubit_order: QubitOrder = QubitOrder.natural  # clusters_last: multi-node clusters at the end


@dataclass
class OptimizerConfig:
    """``optimizer`` group: VQE optimiser settings (meanings in :mod:`qrspps.quantum.vqe`)."""

    name: OptimizerName = OptimizerName.lbfgsb
    maxiter: int | None = None  # null = the optimiser's default (2000 COBYLA, 1000 otherwise)
    restarts: int = 5
    rhobeg: float = 0.5  # COBYLA initial trust radius (radians)
    tol: float | None = None  # null = the optimiser's default stop (see qrspps.quantum.vqe)
    gtol: float = 1e-6  # L-BFGS-B projected-gradient stop
    init: InitStrategy = InitStrategy.random
    init_noise: float = 0.1  # radians of noise on mean-field starts after the first
    mean_field_starts: int = 64
    log_every: int = 10  # iterations between INFO progress lines
    time_budget_s: float | None = None  # no new restart begins once this is spent


@dataclass
class SimulatorConfig:
    """``simulator`` group: Aer backend options."""

    method: SimulatorMethod = SimulatorMethod.auto
    device: Device = Device.CPU
    precision: Precision = Precision.double
    max_parallel_threads: int = 0  # 0 = let the harness choose cores // parallel jobs
    memory_limit_bytes: int | None = None  # null = free memory at pre-flight time
    auto_mps_threshold: int = 12  # method=auto: matrix product state above this many qubits


@dataclass
class PcatConfig:
    """Boltzmann catastrophe probability and the VIX calibration ``T = VIX / vix_ref``."""

    f: float = 0.85
    temperatures: list[float] = field(default_factory=lambda: [0.25, 0.5, 1.0, 1.5, 2.0, 4.0])
    vix_ref: float = 20.0
    vix_levels: list[float] = field(default_factory=lambda: [12.0, 20.0, 30.0, 40.0, 80.0])


@dataclass
class DosqpeConfig:
    """``dosqpe`` group: Trotterised survival amplitude, FFT spectrum, tail risk.

    Meanings and checks in :mod:`qrspps.dynamics.settings`.
    """

    trotter_steps: int = 32
    total_time: float | None = None  # null = chosen so that the spectrum does not alias
    auto_reference_steps: int | None = 8  # past it the automatic dt shrinks (null: never)
    order: int = 2
    reps_per_step: int = 1
    initial_state: InitialState = InitialState.vqe
    random_states: int = 16
    trace_states: TraceStates = TraceStates.auto
    window: Window = Window.hann
    aliasing: AliasingPolicy = AliasingPolicy.auto
    margin: float = 1.25  # alias-free band / spectral width for the automatic dt
    center: bool = True
    zero_pad: int = 4
    range_source: RangeSource = RangeSource.exact
    max_reference_qubits: int = 20
    pcat: PcatConfig = field(default_factory=PcatConfig)


@dataclass
class MonteCarloConfig:
    """``montecarlo`` group: the published independent-cascade baseline."""

    samples: int = 50_000
    base_failure_probability: float = 0.05
    propagation_factor: float = 0.6
    threshold: float = 0.15
    redraw_each_sweep: bool = True  # published: fresh draws per edge in every sweep


@dataclass
class ScreeningConfig:
    """``screening`` group: policy screening and its re-optimisation check."""

    reoptimize: bool = True  # also re-run VQE per policy (for the speedup and the check)
    curvature_step: float = 1e-2  # radians, second-order estimate
    relief_threshold: float = 0.01  # stress drop counted as "relieved"
    reopt_restarts: int = 4  # first start warm, the others from reopt_init
    reopt_init: InitStrategy = InitStrategy.cluster_random
    reopt_qubit_order: QubitOrder = QubitOrder.clusters_last


@dataclass
class TrackingConfig:
    """``tracking`` group: where and how runs are recorded."""

    experiment: str = "qrspps"
    uri: str | None = None  # null = MLFLOW_TRACKING_URI, else <project root>/mlruns/mlflow.db
    resume: bool = True  # skip jobs already FINISHED with the same config hash
    run_name: str | None = None  # null = built from the task and the job's overrides


@dataclass
class RunConfig:
    """The whole run configuration (primary config ``conf/config.yaml``)."""

    network: NetworkConfig = field(default_factory=NetworkConfig)
    scenario: ScenarioConfig = field(default_factory=ScenarioConfig)
    policies: PoliciesConfig = field(default_factory=PoliciesConfig)
    task: TaskConfig = field(default_factory=TaskConfig)
    ansatz: AnsatzConfig = field(default_factory=AnsatzConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    simulator: SimulatorConfig = field(default_factory=SimulatorConfig)
    dosqpe: DosqpeConfig = field(default_factory=DosqpeConfig)
    montecarlo: MonteCarloConfig = field(default_factory=MonteCarloConfig)
    screening: ScreeningConfig = field(default_factory=ScreeningConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    seed: int = 0
    timeout_s: float | None = None  # wall-clock limit of one job; null = none
    isolation: Isolation = Isolation.subprocess
    profile: str = "default"  # set by the profile option, recorded with the run
