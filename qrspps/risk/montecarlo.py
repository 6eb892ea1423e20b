"""The published classical baseline: an independent-cascade Monte Carlo, and dP against it.

Cascade model (SPEC 3.3), one sample:

1. Seeding. A shocked node ``k`` (strength ``lambda_k``, the scenario's ``-lambda_k X_k`` term, so
   ``lambda_k = -x_k`` of the :class:`~qrspps.model.ising.IsingModel`) starts failed with
   probability ``sigmoid(lambda_k) = 1 / (1 + exp(-lambda_k))``; every other node with probability
   ``base_failure_probability`` (0.05).
2. Sweeps. Go through the directed edges ``s -> d`` in the network's list order; when ``s`` has
   failed and ``d`` has not, ``d`` fails with probability ``propagation_factor * J_sd`` (0.6 J).
   A node failed earlier in the same sweep already propagates later in that sweep.
3. Repeat sweeps until a sweep changes nothing in this sample.

Randomness: as in the published code, every edge draws a *fresh* uniform number in every sweep
(``redraw_each_sweep=True``), so an edge whose transmission failed can try again in a later sweep,
but only as long as something else in the sample keeps changing. ``redraw_each_sweep=False`` draws
one number per edge and sample up front instead: the textbook independent cascade (each edge
gets one chance), equivalent to bond percolation from the seeds. Both stop after at most ``n + 1``
sweeps, since every sweep but the last fails at least one more node.

``P_MC,i`` is the fraction of samples in which node ``i`` failed; it is *sampled* (standard error
``sqrt(P (1 - P) / samples)``). The comparison with a quantum stress profile uses
``dP_i = P_quantum,i - P_MC,i`` with ``P_quantum,i = <(1 - Z_i)/2>`` (:mod:`qrspps.conventions`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qrspps.errors import ConfigError
from qrspps.model.ising import IsingModel
from qrspps.model.network import SupplyNetwork

log = logging.getLogger(__name__)

#: Published settings.
DEFAULT_SAMPLES = 50_000
DEFAULT_BASE_FAILURE_PROBABILITY = 0.05
DEFAULT_PROPAGATION_FACTOR = 0.6
DEFAULT_THRESHOLD = 0.15


@dataclass(frozen=True)
class MonteCarloResult:
    """Per-node failure probabilities of the cascade simulation.

    Attributes:
        failure_probability: ``P_MC,i``, shape ``(n,)`` (sampled).
        standard_error: ``sqrt(P (1 - P) / samples)`` per node.
        samples: number of samples.
        max_sweeps: most sweeps any sample needed (the last one changes nothing).
        mean_sweeps: mean number of sweeps per sample.
        initial_failure_probability: seeding probability per node.
        wall_time_s: seconds spent.
        seed: the seed, when an integer seed was given.
    """

    failure_probability: np.ndarray
    standard_error: np.ndarray
    samples: int
    max_sweeps: int
    mean_sweeps: float
    initial_failure_probability: np.ndarray
    wall_time_s: float
    seed: int | None = None


@dataclass(frozen=True)
class CascadeComparison:
    """``dP_i = P_quantum,i - P_MC,i`` and the nodes beyond the threshold.

    Attributes:
        delta: ``dP`` per node.
        threshold: ``|dP|`` above which a node "shows a cascade the classical model misses".
        above_threshold: indices of those nodes.
        max_abs_delta: largest ``|dP|``.
        max_node: index of that node.
        max_label: its label.
    """

    delta: np.ndarray
    threshold: float
    above_threshold: np.ndarray
    max_abs_delta: float
    max_node: int
    max_label: str

    @property
    def count(self) -> int:
        """Number of nodes with ``|dP| > threshold``."""
        return len(self.above_threshold)


def shock_strengths(model: IsingModel) -> np.ndarray:
    """``lambda_k = -x_k`` per node (0 where the node is not shocked), energy units."""
    return -np.asarray(model.x, dtype=float)


def sigmoid(value: np.ndarray | float) -> np.ndarray:
    """``1 / (1 + exp(-value))``, evaluated without overflow."""
    value = np.asarray(value, dtype=float)
    return np.exp(-np.logaddexp(0.0, -value))


def initial_failure_probabilities(
    strengths: np.ndarray, base_failure_probability: float = DEFAULT_BASE_FAILURE_PROBABILITY
) -> np.ndarray:
    """``sigmoid(lambda_k)`` on shocked nodes (``lambda_k != 0``), else the base probability."""
    strengths = np.asarray(strengths, dtype=float)
    return np.where(strengths != 0.0, sigmoid(strengths), base_failure_probability)


def _validate(samples: int, base: float, factor: float, edges: np.ndarray) -> None:
    if samples < 1:
        raise ConfigError(f"montecarlo.samples must be >= 1, was {samples}")
    if not 0.0 <= base <= 1.0:
        raise ConfigError(f"montecarlo.base_failure_probability must be in [0, 1], was {base}")
    if factor < 0.0:
        raise ConfigError(f"montecarlo.propagation_factor must be >= 0, was {factor}")
    too_large = edges[factor * edges[:, 2] > 1.0] if len(edges) else edges
    if len(too_large):
        s, d, j = too_large[0]
        log.warning(
            "propagation probability %.3g * %.3g > 1 on edge %d -> %d; it acts as 1",
            factor,
            j,
            int(s),
            int(d),
        )


def network_edges(network: SupplyNetwork) -> np.ndarray:
    """Edges as rows ``(source, target, J)`` in list order, shape ``(m, 3)``."""
    return np.array([(e.source, e.target, e.coupling) for e in network.edges], dtype=float).reshape(
        -1, 3
    )


def simulate_cascade(
    num_nodes: int,
    edges: np.ndarray | Sequence[tuple[int, int, float]],
    strengths: np.ndarray,
    *,
    samples: int = DEFAULT_SAMPLES,
    base_failure_probability: float = DEFAULT_BASE_FAILURE_PROBABILITY,
    propagation_factor: float = DEFAULT_PROPAGATION_FACTOR,
    redraw_each_sweep: bool = True,
    seed: int | np.random.Generator = 0,
) -> MonteCarloResult:
    """Vectorised cascade Monte Carlo (module docstring), all samples at once.

    Args:
        num_nodes: ``n``.
        edges: rows ``(source, target, J)`` in sweep order.
        strengths: shock strength ``lambda_i`` per node (0 = not shocked).
        samples: number of samples.
        base_failure_probability: seeding probability of unshocked nodes.
        propagation_factor: transmission probability per unit coupling.
        redraw_each_sweep: fresh random numbers per edge in every sweep (published) or one draw
            per edge and sample.
        seed: integer seed or a ``numpy.random.Generator``.

    Returns:
        :class:`MonteCarloResult`.
    """
    start = time.perf_counter()
    edges = np.asarray(edges, dtype=float).reshape(-1, 3)
    _validate(samples, base_failure_probability, propagation_factor, edges)
    seed_value = None if isinstance(seed, np.random.Generator) else int(seed)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed_value)
    sources = edges[:, 0].astype(np.int64)
    targets = edges[:, 1].astype(np.int64)
    transmit = np.minimum(propagation_factor * edges[:, 2], 1.0)

    p0 = initial_failure_probabilities(strengths, base_failure_probability)
    failed = rng.random((samples, num_nodes)) < p0[None, :]
    fixed_draws = None if redraw_each_sweep else rng.random((samples, len(edges)))

    # Only samples whose last sweep changed something take part in the next sweep; the others
    # have stopped, exactly as a per-sample loop would stop them.
    active = np.arange(samples)
    sweeps = np.zeros(samples, dtype=np.int64)
    while len(active):
        sweeps[active] += 1
        state = failed[active]
        changed = np.zeros(len(active), dtype=bool)
        for e in range(len(edges)):
            s, d = sources[e], targets[e]
            draws = rng.random(len(active)) if fixed_draws is None else fixed_draws[active, e]
            hit = state[:, s] & ~state[:, d] & (draws < transmit[e])
            state[hit, d] = True
            changed |= hit
        failed[active] = state
        active = active[changed]

    probability = failed.mean(axis=0)
    result = MonteCarloResult(
        failure_probability=probability,
        standard_error=np.sqrt(probability * (1.0 - probability) / samples),
        samples=samples,
        max_sweeps=int(sweeps.max()),
        mean_sweeps=float(sweeps.mean()),
        initial_failure_probability=p0,
        wall_time_s=time.perf_counter() - start,
        seed=seed_value,
    )
    log.info(
        "cascade Monte Carlo: %d samples, %d nodes, %d edges, up to %d sweeps, "
        "mean P_MC = %.4f (%.2f s)",
        samples,
        num_nodes,
        len(edges),
        result.max_sweeps,
        float(probability.mean()),
        result.wall_time_s,
    )
    return result


def run_montecarlo(
    network: SupplyNetwork,
    model: IsingModel,
    *,
    samples: int = DEFAULT_SAMPLES,
    base_failure_probability: float = DEFAULT_BASE_FAILURE_PROBABILITY,
    propagation_factor: float = DEFAULT_PROPAGATION_FACTOR,
    redraw_each_sweep: bool = True,
    seed: int | np.random.Generator = 0,
) -> MonteCarloResult:
    """Cascade Monte Carlo on ``network`` with the shocks of ``model`` (``lambda = -x``)."""
    if model.num_qubits != network.num_nodes:
        raise ValueError(f"model has {model.num_qubits} qubits, network {network.num_nodes} nodes")
    return simulate_cascade(
        network.num_nodes,
        network_edges(network),
        shock_strengths(model),
        samples=samples,
        base_failure_probability=base_failure_probability,
        propagation_factor=propagation_factor,
        redraw_each_sweep=redraw_each_sweep,
        seed=seed,
    )


def compare_stress(
    quantum_stress: np.ndarray,
    mc_probability: np.ndarray,
    labels: Sequence[str],
    *,
    threshold: float = DEFAULT_THRESHOLD,
) -> CascadeComparison:
    """``dP = P_quantum - P_MC``, the nodes with ``|dP| > threshold`` and the largest ``|dP|``."""
    delta = np.asarray(quantum_stress, dtype=float) - np.asarray(mc_probability, dtype=float)
    if delta.shape != (len(labels),):
        raise ValueError(f"stress profiles must have shape ({len(labels)},), got {delta.shape}")
    above = np.flatnonzero(np.abs(delta) > threshold)
    worst = int(np.argmax(np.abs(delta)))
    return CascadeComparison(
        delta, threshold, above, float(abs(delta[worst])), worst, str(labels[worst])
    )
