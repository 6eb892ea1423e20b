"""Cascade dynamics: per-node stress ``P_i(t) = <(1 - Z_i)/2>`` along the Trotter evolution.

Under ``H`` (:mod:`qrspps.conventions`) every ``Z_i`` without an X term commutes with ``H`` *and*
with every factor of the Trotter product, so the stress of an unshocked node is conserved exactly,
in the simulation as in the exact dynamics; only shocked nodes can change. The heat map and table
show what the simulation gives, and :attr:`CascadeTrace.changed_nodes` lists the nodes that moved.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

log = logging.getLogger(__name__)

#: Stress changes below this are read as "did not move" (Aer double precision round-off).
DEFAULT_CHANGE_TOL = 1e-9


@dataclass(frozen=True)
class CascadeTrace:
    """Per-node stress on the time grid.

    Attributes:
        times: ``t_k`` (inverse energy units).
        stress: ``P_i(t_k)``, shape ``(N, n)``.
        labels: node labels.
        shocked: indices of nodes with an X term.
    """

    times: np.ndarray
    stress: np.ndarray
    labels: tuple[str, ...]
    shocked: np.ndarray

    @property
    def swing(self) -> np.ndarray:
        """``max_t P_i - min_t P_i`` per node."""
        return self.stress.max(axis=0) - self.stress.min(axis=0)

    def changed_nodes(self, tol: float = DEFAULT_CHANGE_TOL) -> np.ndarray:
        """Indices of nodes whose stress moved by more than ``tol``."""
        return np.flatnonzero(self.swing > tol)

    def table(self, tol: float = DEFAULT_CHANGE_TOL) -> list[dict[str, float | int | str | bool]]:
        """One row per node: initial, final, min and max stress, whether it is shocked, moved."""
        moved = set(self.changed_nodes(tol).tolist())
        shocked = set(self.shocked.tolist())
        return [
            {
                "node": i,
                "label": label,
                "shocked": i in shocked,
                "stress_initial": float(self.stress[0, i]),
                "stress_final": float(self.stress[-1, i]),
                "stress_min": float(self.stress[:, i].min()),
                "stress_max": float(self.stress[:, i].max()),
                "changed": i in moved,
            }
            for i, label in enumerate(self.labels)
        ]


def cascade_trace(
    times: np.ndarray, stress: np.ndarray, labels: Sequence[str], shocked: np.ndarray
) -> CascadeTrace:
    """Wrap a stress history and log which nodes moved."""
    trace = CascadeTrace(np.asarray(times), np.asarray(stress), tuple(labels), np.asarray(shocked))
    moved = trace.changed_nodes()
    log.info(
        "cascade: %d of %d nodes changed stress (largest swing %.3g); shocked nodes %s",
        len(moved),
        trace.stress.shape[1],
        float(trace.swing.max(initial=0.0)),
        [trace.labels[i] for i in trace.shocked],
    )
    return trace


def cascade_heatmap(trace: CascadeTrace, *, title: str = "") -> Figure:
    """Heat maps of ``P_i(t)`` and of ``P_i(t) - P_i(0)`` (nodes down, time across).

    The second panel has its own symmetric colour scale: the changes under ``H`` are often far
    smaller than the stress itself and would be invisible on a 0..1 scale.
    """
    n = trace.stress.shape[1]
    fig = Figure(figsize=(11.0, max(3.0, 0.16 * n + 1.5)), layout="constrained")
    ax_p, ax_d = fig.subplots(1, 2, sharey=True)
    dt = trace.times[1] - trace.times[0] if len(trace.times) > 1 else 1.0
    extent = (trace.times[0] - dt / 2, trace.times[-1] + dt / 2, n - 0.5, -0.5)
    shocked = set(trace.shocked.tolist())

    image = ax_p.imshow(
        trace.stress.T,
        aspect="auto",
        extent=extent,
        vmin=0.0,
        vmax=1.0,
        cmap="magma",
        interpolation="nearest",
    )
    fig.colorbar(image, ax=ax_p, label="P(stressed)")
    change = trace.stress - trace.stress[0]
    scale = max(float(np.abs(change).max()), 1e-12)
    image = ax_d.imshow(
        change.T,
        aspect="auto",
        extent=extent,
        vmin=-scale,
        vmax=scale,
        cmap="coolwarm",
        interpolation="nearest",
    )
    fig.colorbar(image, ax=ax_d, label="P_i(t) - P_i(0)")

    ax_p.set_yticks(
        np.arange(n),
        [f"{'*' if i in shocked else ''}{lab}" for i, lab in enumerate(trace.labels)],
        fontsize=6,
    )
    ax_p.set_ylabel("node (* = shocked)")
    for ax in (ax_p, ax_d):
        ax.set_xlabel("t (inverse energy units)")
    ax_p.set_title("stress P_i(t) = <(1 - Z_i)/2>", fontsize=9)
    ax_d.set_title("change since t = 0", fontsize=9)
    fig.suptitle(title or "cascade under the Trotter evolution (simulated)", fontsize=10)
    return fig
