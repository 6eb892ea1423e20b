"""Semirings for variable elimination over binary variables.

A table is a tuple of numpy arrays ("components") of equal shape: one axis per variable (length
2) followed by any extra axes of vector-valued entries. A semiring combines two broadcast-aligned
tables (``multiply``) and eliminates variable axes (``sum_axes``); where its product is a group it
also has ``divide``, which the backward pass of :func:`qrspps.exact.elimination.calibrate` needs.

Energies are in the units of the model (:mod:`qrspps.conventions`); "levels" are energies that
agree within an absolute tolerance ``tol``.
"""

from __future__ import annotations

import numpy as np

from qrspps.errors import ResourceLimitError

Table = tuple[np.ndarray, ...]


def log_sum_exp(a: np.ndarray, axis: int | tuple[int, ...] | None = None) -> np.ndarray:
    """``ln sum exp(a)`` over ``axis``, shifted by the maximum so nothing overflows.

    Entries must be finite. A plain numpy version: ``scipy.special.logsumexp`` costs ~0.5 ms per
    call in its array-API dispatch, which dominated elimination on thousands of tiny tables.
    """
    top = np.max(a, axis=axis, keepdims=True)
    total = np.log(np.sum(np.exp(a - top), axis=axis, keepdims=True)) + top
    return np.squeeze(total, axis=axis) if axis is not None else total.reshape(())


class Semiring:
    """Interface of a commutative semiring acting on tables of components."""

    #: Number of arrays per table.
    num_components: int = 1

    def multiply(self, a: Table, b: Table) -> Table:
        """Semiring product of two broadcast-compatible tables."""
        raise NotImplementedError

    def sum_axes(self, a: Table, axes: tuple[int, ...]) -> Table:
        """Semiring sum over the given variable axes (removed from the result)."""
        raise NotImplementedError

    def divide(self, a: Table, b: Table) -> Table:
        """Inverse of :meth:`multiply`; only semirings whose product is a group define it."""
        raise NotImplementedError(f"{type(self).__name__} has no division; it cannot calibrate")


class LogSumExpSemiring(Semiring):
    """Sum-product on ``ln`` weights: product = ``+``, sum = ``logaddexp``."""

    def multiply(self, a: Table, b: Table) -> Table:
        return (a[0] + b[0],)

    def sum_axes(self, a: Table, axes: tuple[int, ...]) -> Table:
        return (log_sum_exp(a[0], axis=axes),)

    def divide(self, a: Table, b: Table) -> Table:
        return (a[0] - b[0],)


class SumProductSemiring(Semiring):
    """Ordinary (real or complex) sum-product."""

    def multiply(self, a: Table, b: Table) -> Table:
        return (a[0] * b[0],)

    def sum_axes(self, a: Table, axes: tuple[int, ...]) -> Table:
        return (a[0].sum(axis=axes),)


class MinCountSemiring(Semiring):
    """Min-sum that also counts the optima: entries ``(energy, count)``.

    Product: ``(e1 + e2, c1 * c2)``; sum: the smaller energy, with the counts of every entry within
    ``tol`` of it added. Counts are float64 (exact below 2**53).
    """

    num_components = 2

    def __init__(self, tol: float) -> None:
        self.tol = tol

    def multiply(self, a: Table, b: Table) -> Table:
        return (a[0] + b[0], a[1] * b[1])

    def sum_axes(self, a: Table, axes: tuple[int, ...]) -> Table:
        best = a[0].min(axis=axes, keepdims=True)
        count = np.where(a[0] <= best + self.tol, a[1], 0.0).sum(axis=axes)
        return (np.squeeze(best, axis=axes), count)

    def divide(self, a: Table, b: Table) -> Table:
        return (a[0] - b[0], a[1] / b[1])


def two_lowest_levels(values: np.ndarray, counts: np.ndarray, tol: float) -> Table:
    """The two lowest distinct values along the last axis, with their summed counts.

    Args:
        values: candidate energies; ``inf`` marks an absent candidate (its count must be 0).
        counts: multiplicities of the candidates.
        tol: values closer than ``tol`` to the lowest one count as the same level.

    Returns:
        ``(e1, c1, e2, c2)`` with ``e2 = inf, c2 = 0`` where there is no second level.
    """
    e1 = values.min(axis=-1)
    first = values <= e1[..., None] + tol
    c1 = np.where(first, counts, 0.0).sum(axis=-1)
    rest = np.where(first, np.inf, values)
    e2 = rest.min(axis=-1)
    second = ~first & (rest <= e2[..., None] + tol)
    c2 = np.where(second, counts, 0.0).sum(axis=-1)
    return (e1, c1, e2, c2)


class TwoLevelSemiring(Semiring):
    """Keeps the two lowest distinct energies and their multiplicities: ``(e1, c1, e2, c2)``.

    The truncation of a multiset of energies to its two lowest levels commutes with adding two
    independent parts and with taking unions, so this gives the ground energy, its degeneracy and
    the first excited level of the whole model in one pass.
    """

    num_components = 4

    def __init__(self, tol: float) -> None:
        self.tol = tol

    def multiply(self, a: Table, b: Table) -> Table:
        a1, ca1, a2, ca2 = a
        b1, cb1, b2, cb2 = b
        # a2 + b2 lies above both a1 + b2 and a2 + b1, so it is never one of the two lowest.
        values = np.stack(np.broadcast_arrays(a1 + b1, a1 + b2, a2 + b1), axis=-1)
        counts = np.stack(np.broadcast_arrays(ca1 * cb1, ca1 * cb2, ca2 * cb1), axis=-1)
        return two_lowest_levels(values, counts, self.tol)

    def sum_axes(self, a: Table, axes: tuple[int, ...]) -> Table:
        keep = [k for k in range(a[0].ndim) if k not in axes]
        flat = [np.moveaxis(c, list(axes), list(range(-len(axes), 0))) for c in a]
        lead = tuple(a[0].shape[k] for k in keep)
        flat = [c.reshape(*lead, -1) for c in flat]
        values = np.concatenate([flat[0], flat[2]], axis=-1)
        counts = np.concatenate([flat[1], flat[3]], axis=-1)
        return two_lowest_levels(values, counts, self.tol)


def merge_levels(
    values: np.ndarray, counts: np.ndarray, tol: float
) -> tuple[np.ndarray, np.ndarray]:
    """Sort levels and merge those closer than ``tol`` to their lower neighbour.

    Returns:
        ``(values, counts)``: ascending distinct values (each group's lowest) and summed counts.
    """
    order = np.argsort(values, kind="stable")
    values = values[order]
    counts = counts[order]
    if len(values) == 0:
        return values, counts
    starts = np.concatenate(([0], np.flatnonzero(np.diff(values) > tol) + 1))
    return values[starts], np.add.reduceat(counts, starts)


class Levels:
    """Histogram of energy levels: ascending ``values`` and integer ``counts`` (one table entry).

    A plain class rather than a tuple so numpy stores it as one object, not as a sequence.
    """

    __slots__ = ("counts", "values")

    def __init__(self, values: np.ndarray, counts: np.ndarray) -> None:
        self.values = values
        self.counts = counts


class HistogramSemiring(Semiring):
    """Multisets of energies as histograms: object arrays of :class:`Levels`.

    Product: every pair of levels added, counts multiplied; sum: union. Levels within ``tol`` are
    merged after each operation.

    Raises:
        ResourceLimitError: when a histogram would hold more than ``max_levels`` distinct levels.
    """

    #: Candidate sums formed at once before merging (bounds the temporary memory).
    chunk = 2**22

    def __init__(self, tol: float, max_levels: int) -> None:
        self.tol = tol
        self.max_levels = max_levels

    def _checked(self, values: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values, counts = merge_levels(values, counts, self.tol)
        if len(values) > self.max_levels:
            raise ResourceLimitError(
                f"the exact spectrum has at least {len(values)} distinct levels at an intermediate "
                f"step; the limit is max_levels = {self.max_levels}"
            )
        return values, counts

    def _convolve(self, a: Levels, b: Levels) -> Levels:
        va, ca, vb, cb = a.values, a.counts, b.values, b.counts
        rows = max(1, self.chunk // max(1, len(vb)))
        parts_v, parts_c = [], []
        for start in range(0, len(va), rows):
            sums = (va[start : start + rows, None] + vb[None, :]).ravel()
            prods = (ca[start : start + rows, None] * cb[None, :]).ravel()
            v, c = self._checked(sums, prods)
            parts_v.append(v)
            parts_c.append(c)
        return Levels(*self._checked(np.concatenate(parts_v), np.concatenate(parts_c)))

    def multiply(self, a: Table, b: Table) -> Table:
        left, right = np.broadcast_arrays(a[0], b[0])
        out = np.empty(left.shape, dtype=object)
        for index in np.ndindex(left.shape):
            out[index] = self._convolve(left[index], right[index])
        return (out,)

    def sum_axes(self, a: Table, axes: tuple[int, ...]) -> Table:
        table = a[0]
        keep = tuple(table.shape[k] for k in range(table.ndim) if k not in axes)
        moved = np.moveaxis(table, list(axes), list(range(-len(axes), 0))).reshape(*keep, -1)
        out = np.empty(keep, dtype=object)
        for index in np.ndindex(keep):
            entries = moved[index]
            values = np.concatenate([e.values for e in entries])
            counts = np.concatenate([e.counts for e in entries])
            out[index] = Levels(*self._checked(values, counts))
        return (out,)
