"""Which scaling fits the report makes, on which runs, and their extrapolations to the target size.

Only brute-force state-vector methods are fitted and extrapolated: their cost is exponential by
construction. Matrix-product-state VQE and the exact solver are shown as measured at the sizes run,
never extrapolated (SPEC 3.6), so a reader sees which costs grow exponentially and for which method.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from qrspps.reporting.collect import (
    VQE_TASKS,
    Point,
    RunView,
    SeriesKey,
    Table,
    series_points,
)
from qrspps.reporting.fits import (
    DEFAULT_LEVEL,
    ExponentialFit,
    Extrapolation,
    MemoryFit,
    extrapolate,
    fit_exponential,
    fit_memory,
)

log = logging.getLogger(__name__)

#: Task whose runs are preferred for scaling series (see :func:`fit_all`).
SCALING_TASK = "scaling"

#: Aer methods whose memory and time are exponential in the qubit count by construction.
BRUTE_FORCE_METHODS = frozenset({"statevector", "density_matrix", "unitary", "superop"})


@dataclass(frozen=True)
class Quantity:
    """A scaled quantity: which metric, from which tasks, and which model is fitted."""

    key: str
    metric: str
    title: str
    unit: str
    model: str  # "exponential" or "memory"
    tasks: frozenset[str] | None = None


#: Quantities fitted per series, in report order.
QUANTITIES = (
    Quantity("eval_time", "eval_time_s", "time per energy evaluation", "s", "exponential"),
    Quantity("vqe_time", "wall_time_s", "full VQE wall time", "s", "exponential", VQE_TASKS),
    Quantity("memory", "peak_rss_bytes", "peak memory (RSS)", "B", "memory"),
)


def is_brute_force(key: SeriesKey) -> bool:
    """Whether a series is a state-vector-type simulation (fitted and extrapolated)."""
    return key.family != "exact" and key.method.lower() in BRUTE_FORCE_METHODS


@dataclass(frozen=True)
class SeriesFit:
    """Points of one series for one quantity, with its fit and extrapolation when made."""

    quantity: Quantity
    key: SeriesKey
    points: list[Point]
    fit: ExponentialFit | MemoryFit | None
    extrapolation: Extrapolation | None
    note: str = ""

    @property
    def sizes(self) -> list[int]:
        """Distinct sizes measured."""
        return sorted({p.n for p in self.points})


def _fit_series(
    quantity: Quantity, key: SeriesKey, points: list[Point], target: int, level: float
) -> SeriesFit:
    if not is_brute_force(key):
        return SeriesFit(quantity, key, points, None, None, "measured only (not extrapolated)")
    sizes = {p.n for p in points}
    if len(sizes) < 2:
        note = f"not fitted: needs 2 distinct sizes, has {sorted(sizes)}"
        return SeriesFit(quantity, key, points, None, None, note)

    n = [p.n for p in points]
    values = [p.value for p in points]
    try:
        fit = (
            fit_exponential(n, values) if quantity.model == "exponential" else fit_memory(n, values)
        )
    except ValueError as exc:
        log.warning("%s of %s not fitted: %s", quantity.title, key.label, exc)
        return SeriesFit(quantity, key, points, None, None, f"not fitted: {exc}")

    note = "" if len(points) > 2 else "two points: line exact, no band can be estimated"
    return SeriesFit(quantity, key, points, fit, extrapolate(fit, target, level), note)


def _preferred_runs(runs: Sequence[RunView], metric: str) -> Sequence[RunView]:
    """Runs of the dedicated ``scaling`` task when any of them has ``metric``, else all runs.

    VQE and pipeline runs time their energy evaluations too, but at whatever depth and optimiser
    the study chose; a scaling sweep holds those fixed, so its points alone make a clean series.
    """
    scaling = [r for r in runs if r.task == SCALING_TASK and r.metric(metric) is not None]
    return scaling or runs


def fit_all(
    runs: Sequence[RunView], target: int, *, level: float = DEFAULT_LEVEL
) -> list[SeriesFit]:
    """Every quantity of :data:`QUANTITIES` for every series that has it.

    Time per evaluation and memory come from ``scaling`` runs when there are any (else from every
    run that logged them); full-VQE time from ``vqe`` and ``pipeline`` runs. A series is split by
    ansatz depth when its runs used more than one depth.
    """
    out = []
    for quantity in QUANTITIES:
        chosen = runs if quantity.tasks else _preferred_runs(runs, quantity.metric)
        for key, points in series_points(chosen, quantity.metric, tasks=quantity.tasks).items():
            out.append(_fit_series(quantity, key, points, target, level))
    return out


def fits_table(fits: Sequence[SeriesFit], target: int) -> Table:
    """One row per fitted series: parameters, R^2, standard errors and the target prediction."""
    rows = []
    for item in fits:
        fit, ext = item.fit, item.extrapolation
        if fit is None or ext is None:
            continue
        if isinstance(fit, ExponentialFit):
            rate, rate_se, model = fit.rate, fit.rate_se, "log2(t) = a + r n"
            intercept, intercept_se = fit.a, fit.line.intercept_se
        else:
            rate, rate_se, model = fit.bytes_per_amplitude, fit.line.slope_se, "B = base + k 2^n"
            intercept, intercept_se = fit.base_bytes, fit.line.intercept_se
        rows.append(
            {
                "quantity": item.quantity.title,
                "series": item.key.label,
                "model": model,
                "points": len(item.points),
                "fit_range": fit.fit_range,
                "intercept": intercept,
                "intercept_se": intercept_se,
                "slope": rate,
                "slope_se": rate_se,
                "r2": fit.r2,
                f"value_at_{target}": ext.value,
                "band_lower": ext.lower,
                "band_upper": ext.upper,
                "level": ext.level,
                "kind": ext.label,
                "note": item.note,
            }
        )
    columns = [
        "quantity",
        "series",
        "model",
        "points",
        "fit_range",
        "intercept",
        "intercept_se",
        "slope",
        "slope_se",
        "r2",
        f"value_at_{target}",
        "band_lower",
        "band_upper",
        "level",
        "kind",
        "note",
    ]
    caption = (
        "Least-squares fits: slope r = doublings per qubit (time) or k = bytes per amplitude "
        f"(memory); the value at n = {target} and its band are extrapolated, never measured."
    )
    return Table("fits", columns, rows, caption)
