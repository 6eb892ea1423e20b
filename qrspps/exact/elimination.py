"""Bucket (variable) elimination over binary variables in several semirings.

This is the generic machinery behind :mod:`qrspps.exact.structured`; it knows nothing about
Hamiltonians. A *factor* is a scope (a tuple of variable ids) and a table: a tuple of numpy arrays
("components"), each of shape ``(2,) * len(scope) + extra``, axis ``k`` indexed by the value (0 or
1) of ``scope[k]``; ``extra`` trailing axes carry vector-valued entries (e.g. one per time point).

A semiring (:mod:`qrspps.exact.semirings`) supplies ``multiply`` and ``sum_axes``; where
``multiply`` is invertible (``divide``), :func:`calibrate` runs the backward pass that turns the
forward messages into exact marginals ("beliefs") on every bucket scope.

References:
    R. Dechter, "Bucket elimination: a unifying framework for reasoning", Artif. Intell. 113
    (1999) 41-85. F. V. Jensen, S. L. Lauritzen, K. G. Olesen, "Bayesian updating in causal
    probabilistic networks by local computations" (1990), for the division-based backward pass.
"""

from __future__ import annotations

import heapq
import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qrspps.errors import ResourceLimitError
from qrspps.exact.semirings import Semiring, Table

log = logging.getLogger(__name__)

#: Default largest number of variable configurations (``2**width``) of one intermediate table.
DEFAULT_MAX_TABLE_ENTRIES = 2**22

Scope = tuple[int, ...]


@dataclass(frozen=True)
class Factor:
    """A table over the binary variables in ``scope`` (see the module docstring for the layout)."""

    scope: Scope
    table: Table


# --------------------------------------------------------------------------- alignment


def expand(comp: np.ndarray, scope: Scope, target: Scope) -> np.ndarray:
    """View ``comp`` (over ``scope``) with its variable axes placed as in ``target``.

    Variables of ``target`` missing from ``scope`` get length-1 axes, so the result broadcasts
    against any table over ``target``. ``scope`` must be a subset of ``target``.
    """
    extra = comp.shape[len(scope) :]
    position = {v: k for k, v in enumerate(target)}
    perm = sorted(range(len(scope)), key=lambda k: position[scope[k]])
    moved = comp.transpose(*perm, *range(len(scope), comp.ndim))
    present = set(scope)
    shape = [2 if v in present else 1 for v in target]
    return moved.reshape(*shape, *extra)


def marginal(semiring: Semiring, table: Table, scope: Scope, keep: Scope) -> Table:
    """Eliminate every variable of ``scope`` not in ``keep``; axes come back in ``keep`` order."""
    drop = tuple(k for k, v in enumerate(scope) if v not in keep)
    reduced = semiring.sum_axes(table, drop) if drop else table
    remaining = tuple(v for v in scope if v in keep)
    perm = [remaining.index(v) for v in keep]
    n_extra = reduced[0].ndim - len(remaining)
    tail = tuple(range(len(remaining), len(remaining) + n_extra))
    return tuple(c.transpose(*perm, *tail) for c in reduced)


# --------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class EliminationPlan:
    """Symbolic result of bucket elimination: order, buckets and table sizes.

    Attributes:
        order: variables in elimination order.
        factor_bucket: for each input factor, the variable whose bucket holds it (``-1``: the
            factor has an empty scope and multiplies the final result directly).
        bucket_scope: per variable, the scope of its bucket table, the variable itself first and
            the others in elimination order.
        parent: per variable, the bucket its message goes to (``-1``: a constant, i.e. a root).
        width: largest bucket scope size (the induced width plus one).
    """

    order: tuple[int, ...]
    factor_bucket: tuple[int, ...]
    bucket_scope: dict[int, Scope]
    parent: dict[int, int]
    width: int

    @property
    def children(self) -> dict[int, list[int]]:
        """Per variable, the buckets that send their message to it."""
        kids: dict[int, list[int]] = {v: [] for v in self.order}
        for v, p in self.parent.items():
            if p >= 0:
                kids[p].append(v)
        return kids


def min_fill_order(variables: Sequence[int], scopes: Sequence[Scope]) -> list[int]:
    """Greedy min-fill elimination order (ties broken by degree, then by variable id).

    Only the scores of variables within distance two of an eliminated one can change, so they are
    the only ones recomputed; stale heap entries are skipped.
    """
    adj: dict[int, set[int]] = {v: set() for v in variables}
    for scope in scopes:
        for a, b in itertools.combinations(scope, 2):
            adj[a].add(b)
            adj[b].add(a)

    def score(v: int) -> tuple[int, int]:
        nbrs = list(adj[v])
        fill = sum(1 for a, b in itertools.combinations(nbrs, 2) if b not in adj[a])
        return fill, len(nbrs)

    current = {v: score(v) for v in variables}
    heap = [(*s, v) for v, s in current.items()]
    heapq.heapify(heap)
    order: list[int] = []
    eliminated: set[int] = set()
    while heap:
        fill, degree, v = heapq.heappop(heap)
        if v in eliminated or current[v] != (fill, degree):
            continue
        order.append(v)
        eliminated.add(v)
        nbrs = adj.pop(v)
        for a in nbrs:
            adj[a].discard(v)
            adj[a].update(nbrs - {a})
        touched = set(nbrs)
        for a in nbrs:
            touched.update(adj[a])
        for u in touched:
            current[u] = score(u)
            heapq.heappush(heap, (*current[u], u))
    return order


def plan_elimination(
    variables: Sequence[int],
    scopes: Sequence[Scope],
    *,
    max_table_entries: int = DEFAULT_MAX_TABLE_ENTRIES,
    order: Sequence[int] | None = None,
) -> EliminationPlan:
    """Choose an elimination order and lay out the buckets, checking table sizes first.

    Args:
        variables: ids of the binary variables to eliminate.
        scopes: scopes of the input factors.
        max_table_entries: largest ``2**len(bucket scope)`` allowed.
        order: elimination order to use instead of min-fill.

    Raises:
        ResourceLimitError: when a bucket table would hold more than ``max_table_entries``
            configurations; the message names the width and the limit.
    """
    order = list(order) if order is not None else min_fill_order(variables, scopes)
    position = {v: k for k, v in enumerate(order)}

    buckets: dict[int, set[int]] = {v: set() for v in order}
    incoming: dict[int, list[Scope]] = {v: [] for v in order}
    factor_bucket = []
    for scope in scopes:
        if scope:
            first = min(scope, key=position.__getitem__)
            factor_bucket.append(first)
            buckets[first].update(scope)
        else:
            factor_bucket.append(-1)

    bucket_scope: dict[int, Scope] = {}
    parent: dict[int, int] = {}
    width = 0
    for v in order:
        members = set(buckets[v]) | {v}
        for s in incoming[v]:
            members.update(s)
        rest = sorted(members - {v}, key=position.__getitem__)
        bucket_scope[v] = (v, *rest)
        width = max(width, len(members))
        if 2 ** len(members) > max_table_entries:
            raise ResourceLimitError(
                f"variable elimination needs a table over {len(members)} binary variables "
                f"(2**{len(members)} = {2 ** len(members)} entries) when eliminating variable {v}; "
                f"the limit is max_table_entries = {max_table_entries}. Raise the limit or reduce "
                "the treewidth of the classical interaction graph"
            )
        parent[v] = rest[0] if rest else -1
        if rest:
            incoming[rest[0]].append(tuple(rest))

    log.debug("elimination plan: %d variables, width %d", len(order), width)
    return EliminationPlan(tuple(order), tuple(factor_bucket), bucket_scope, parent, width)


# --------------------------------------------------------------------------- execution


@dataclass
class EliminationRun:
    """Numerical state of one forward pass.

    Attributes:
        root: product of all constants: the semiring sum over every configuration.
        psi: per variable, the bucket table (product of its factors and incoming messages).
        messages: per variable, the message it sent (over ``bucket_scope[v][1:]``).
    """

    root: Table
    psi: dict[int, Table]
    messages: dict[int, Table]


def _product(semiring: Semiring, factors: Sequence[Factor], target: Scope) -> Table:
    """Product of ``factors`` as one table over ``target``."""
    result: Table | None = None
    for f in factors:
        aligned = tuple(expand(c, f.scope, target) for c in f.table)
        result = aligned if result is None else semiring.multiply(result, aligned)
    assert result is not None
    # Broadcasting leaves length-1 axes where no factor covered a variable; make them full.
    shape = np.broadcast_shapes(*(c.shape for c in result))
    full = (2,) * len(target) + shape[len(target) :]
    return tuple(np.broadcast_to(c, full).copy() for c in result)


def eliminate(
    plan: EliminationPlan,
    factors: Sequence[Factor],
    semiring: Semiring,
    *,
    unit: Table,
    keep_tables: bool = False,
) -> EliminationRun:
    """Run the forward pass of bucket elimination.

    Args:
        plan: from :func:`plan_elimination` with the scopes of ``factors``, in the same order.
        factors: the input factors.
        semiring: how to combine them.
        unit: the multiplicative identity as scalar-scope components (with any extra axes).
        keep_tables: keep every bucket table and message (for calibration or back-tracking).
    """
    bucket_factors: dict[int, list[Factor]] = {v: [] for v in plan.order}
    root = unit
    for f, v in zip(factors, plan.factor_bucket):
        if v < 0:
            root = semiring.multiply(root, f.table)
        else:
            bucket_factors[v].append(f)

    psi: dict[int, Table] = {}
    messages: dict[int, Table] = {}
    for v in plan.order:
        scope = plan.bucket_scope[v]
        table = _product(semiring, bucket_factors[v], scope)
        message = semiring.sum_axes(table, (0,))
        if keep_tables:
            psi[v] = table
            messages[v] = message
        p = plan.parent[v]
        if p < 0:
            root = semiring.multiply(root, message)
        else:
            bucket_factors[p].append(Factor(scope[1:], message))
    return EliminationRun(root, psi, messages)


def calibrate(plan: EliminationPlan, run: EliminationRun, semiring: Semiring) -> dict[int, Table]:
    """Backward pass: the belief of every bucket (all other variables summed out).

    The belief of bucket ``v`` is, for each configuration of ``plan.bucket_scope[v]``, the semiring
    sum over every other variable *of the same connected component* of the product of all factors.
    Requires ``run`` from ``eliminate(..., keep_tables=True)`` and a semiring with ``divide``.
    """
    beliefs: dict[int, Table] = {}
    outside: dict[int, Table] = {}
    children = plan.children
    for v in reversed(plan.order):
        scope = plan.bucket_scope[v]
        belief = run.psi[v]
        if v in outside:
            aligned = tuple(expand(c, scope[1:], scope) for c in outside[v])
            belief = semiring.multiply(belief, aligned)
        beliefs[v] = belief
        for c in children[v]:
            sep = plan.bucket_scope[c][1:]
            own = tuple(expand(m, sep, scope) for m in run.messages[c])
            outside[c] = marginal(semiring, semiring.divide(belief, own), scope, sep)
    return beliefs


def backtrack_argmin(plan: EliminationPlan, run: EliminationRun) -> dict[int, int]:
    """One minimising assignment from a min-sum forward pass (first component = energies)."""
    value: dict[int, int] = {}
    for v in reversed(plan.order):
        scope = plan.bucket_scope[v]
        energies = run.psi[v][0]
        index = tuple(value[u] for u in scope[1:])
        value[v] = int(np.argmin(energies[(slice(None), *index)]))
    return value
