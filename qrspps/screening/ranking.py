"""Rankings of policies and their agreement (Kendall tau-b).

Policies are ranked by their energy change ``dE = E0(H + P) - E0(H)`` in ascending order: the
policy that lowers the ground energy most comes first. Under the published signs
(:mod:`qrspps.conventions`) a lower energy is *not* the same as "less stress"; the ranking only
orders policies consistently across the three ways of computing ``dE`` (screening estimate,
re-optimised VQE, exact), which is what the agreement metrics compare.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def ranking(values: Mapping[str, float], *, tol: float = 1e-9) -> list[str]:
    """Policy ids by ascending value; values within ``tol`` keep their input order (stable)."""
    items = list(values.items())
    # Quantise to tol so near-equal values tie and keep the input order.
    return [k for k, _ in sorted(items, key=lambda kv: round(kv[1] / tol) if tol > 0 else kv[1])]


def kendall_tau(a: Sequence[float], b: Sequence[float], *, tol: float = 1e-9) -> float:
    """Kendall's tau-b between two score lists over the same items.

    Pairs tied within ``tol`` in either list count as ties (tau-b's correction). Returns ``nan``
    when one list is constant (no ordering to compare).
    """
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"score lists differ in length: {x.shape} vs {y.shape}")
    i, j = np.triu_indices(len(x), k=1)
    dx = x[i] - x[j]
    dy = y[i] - y[j]
    sx = np.where(np.abs(dx) <= tol, 0, np.sign(dx))
    sy = np.where(np.abs(dy) <= tol, 0, np.sign(dy))
    concordance = float(np.sum(sx * sy))
    untied_x = float(np.count_nonzero(sx))
    untied_y = float(np.count_nonzero(sy))
    if untied_x == 0 or untied_y == 0:
        return float("nan")
    return concordance / np.sqrt(untied_x * untied_y)


def return_on_investment(delta_e: float, cost: float) -> float:
    """``ROI = |dE| / cost`` (energy units per cost unit); ``nan`` for a free policy."""
    return abs(delta_e) / cost if cost > 0 else float("nan")
