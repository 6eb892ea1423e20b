"""Turn run records into tidy tables (no MLflow here: records are plain dicts).

A run record is ``{"run_id", "status", "params", "metrics", "tags"}`` (optionally ``"run_name"``,
``"start_time"``, ``"end_time"``), as :mod:`qrspps.tracking.readback` produces. Parameters are the
flattened resolved config with numbers already cast. Key names are looked up tolerantly (a few
spellings each), because the config layout may grow; a record that lacks a key simply has ``None``
there and the sections that need it skip it.

Value kinds (STYLE habit 9): every number a report shows is one of

* ``exact``: an exact classical computation or a closed formula (exact-solver runs, state bytes);
* ``simulated``: from a quantum-circuit simulation, including its measured time and memory;
* ``sampled``: from Monte Carlo sampling;
* ``extrapolated``: from a fit, always with its fit range (see :mod:`qrspps.reporting.fits`).

A run may set the kind of a metric with a tag ``kind__<metric>`` (or ``value_kind__<metric>``),
and of all its non-exact metrics with a tag ``value_kind``.
"""

from __future__ import annotations

import csv
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: Metric names of SPEC 4.1 in the order tables show them (any other metric follows, sorted).
SPEC_METRICS = (
    "num_qubits",
    "num_parameters",
    "exact_energy",
    "vqe_energy",
    "energy_abs_error",
    "energy_rel_error",
    "energy_evaluations",
    "wall_time_s",
    "eval_time_s",
    "peak_rss_bytes",
    "statevector_bytes",
    "mc_nodes_above_threshold",
    "mc_max_abs_delta_p",
    "screening_time_s",
    "reoptimization_time_s",
    "screening_speedup",
    "screening_speedup_first_order",
    "ranking_kendall_tau",
    "dos_distance",
    "trotter_error",
    "aliased",
    "pcat_max_abs_error",
)

#: Tasks whose runs are exact classical computations.
EXACT_TASKS = frozenset({"exact"})
#: Tasks that simulate no circuit (their simulator config is irrelevant).
CLASSICAL_TASKS = frozenset({"montecarlo"})
#: Tasks that time a VQE optimisation (``wall_time_s`` is then a full-VQE time).
VQE_TASKS = frozenset({"vqe", "pipeline"})

# Spellings tried, in order, for each field (tags hold the method the harness resolved, e.g. the
# choice `auto` made, so the tag wins over the configured parameter).
_TASK_KEYS = (("tags", "task"), ("params", "task.name"), ("params", "task"))
# The measured qubit count first: network.nodes is null for a full network (retail40, exec30).
_NODES_KEYS = (("metrics", "num_qubits"), ("params", "network.nodes"), ("params", "nodes"))
_METHOD_TAG = ("tags", "method")
_METHOD_PARAM_KEYS = (("params", "simulator.method"), ("params", "method"))
_PRECISION_KEYS = (("tags", "precision"), ("params", "simulator.precision"))
_DEVICE_KEYS = (("tags", "device"), ("params", "simulator.device"))
_DEPTH_KEYS = (("params", "ansatz.depth"), ("params", "ansatz.reps"))
_TROTTER_KEYS = (("params", "dosqpe.trotter_steps"), ("params", "trotter_steps"))
_SCENARIO_KEYS = (("params", "scenario.name"), ("params", "scenario"))
_NETWORK_KEYS = (("params", "network.name"), ("params", "network"))
_SEED_KEYS = (("params", "seed"),)
_REASON_KEYS = (("tags", "failure_reason"), ("tags", "error"))
_SAMPLED_PREFIXES = ("mc_",)
_EXACT_METRICS = frozenset({"num_qubits", "num_parameters", "statevector_bytes", "aliased"})


def _lookup(record: Mapping[str, Any], keys: Sequence[tuple[str, str]]) -> Any:
    for section, key in keys:
        value = (record.get(section) or {}).get(key)
        if value is not None and value != "":
            return value
    return None


def _as_int(value: Any) -> int | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if math.isfinite(number) and number == int(number) else None


@dataclass(frozen=True)
class SeriesKey:
    """What makes runs comparable on a scaling plot: task family, method, precision, device."""

    family: str
    method: str
    precision: str | None = None
    device: str | None = None
    depth: int | None = None

    @property
    def label(self) -> str:
        """Human-readable legend label, e.g. ``"statevector, double"``."""
        if self.family == "exact":
            text = f"exact solver ({self.method})" if self.method != "exact" else "exact solver"
        else:
            parts = [self.method]
            if self.precision:
                parts.append(self.precision)
            if self.device and self.device.upper() != "CPU":
                parts.append(self.device)
            text = ", ".join(parts)
        return text if self.depth is None else f"{text}, D={self.depth}"

    @property
    def slug(self) -> str:
        """Metric-name-safe id, e.g. ``"statevector_double"`` or ``"exact_structured"``."""
        parts = [self.method] if self.family != "exact" else ["exact", self.method]
        parts += [p for p in (self.precision, self.device) if p and p.upper() != "CPU"]
        if self.depth is not None:
            parts.append(f"d{self.depth}")
        raw = "_".join(dict.fromkeys(parts))
        return "".join(ch if ch.isalnum() or ch in "_-." else "_" for ch in raw).lower()


@dataclass(frozen=True)
class RunView:
    """One run record with its identifying fields pulled out of params and tags."""

    run_id: str
    status: str
    task: str | None
    nodes: int | None
    method: str | None
    precision: str | None
    device: str | None
    depth: int | None
    trotter_steps: int | None
    scenario: str | None
    network: str | None
    seed: int | None
    failure_reason: str | None
    metrics: Mapping[str, float] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        """MLflow status FINISHED and no failure tag."""
        return self.status == "FINISHED" and self.tags.get("status", "").lower() not in {
            "failed",
            "refused",
        }

    @property
    def failed(self) -> bool:
        """FAILED/KILLED in MLflow, or tagged failed/refused by the harness."""
        tag_status = str(self.tags.get("status", "")).lower()
        return self.status in {"FAILED", "KILLED"} or tag_status in {"failed", "refused"}

    @property
    def outcome(self) -> str:
        """``"REFUSED"`` (tagged refused), ``"FAILED"`` (tagged failed), else the MLflow status."""
        tag_status = str(self.tags.get("status", "")).lower()
        if tag_status == "refused":
            return "REFUSED"
        if tag_status == "failed" and self.status not in {"FAILED", "KILLED"}:
            return "FAILED"
        return self.status

    def series(self, with_depth: bool = False) -> SeriesKey:
        """Series this run belongs to on scaling plots."""
        family = "exact" if self.task in EXACT_TASKS else "quantum"
        method = self.method or ("exact" if family == "exact" else "unknown")
        precision = None if family == "exact" else self.precision
        depth = self.depth if with_depth else None
        return SeriesKey(family, str(method), precision, self.device, depth)

    def metric(self, name: str) -> float | None:
        """Finite metric value or None."""
        value = self.metrics.get(name)
        if value is None:
            return None
        value = float(value)
        return value if math.isfinite(value) else None

    def kind(self, metric: str) -> str:
        """Value kind of ``metric`` in this run (see the module docstring)."""
        override = self.tags.get(f"kind__{metric}") or self.tags.get(f"value_kind__{metric}")
        if override:
            return str(override)
        if metric in _EXACT_METRICS or metric.startswith("exact_") or self.task in EXACT_TASKS:
            return "exact"
        if self.tags.get("value_kind") in {"exact", "simulated", "sampled"}:
            return self.tags["value_kind"]
        if metric.startswith(_SAMPLED_PREFIXES) or self.task == "montecarlo":
            return "sampled"
        return "simulated"


def view(record: Mapping[str, Any]) -> RunView:
    """Normalise one run record."""
    task = _lookup(record, _TASK_KEYS)
    method = _method(record, task)
    precision = _lookup(record, _PRECISION_KEYS)
    device = _lookup(record, _DEVICE_KEYS)
    reason = _lookup(record, _REASON_KEYS)
    return RunView(
        run_id=str(record.get("run_id", "")),
        status=str(record.get("status", "UNKNOWN")).upper(),
        task=str(task) if task is not None else None,
        nodes=_as_int(_lookup(record, _NODES_KEYS)),
        method=str(method) if method is not None else None,
        precision=str(precision) if precision is not None else None,
        device=str(device) if device is not None else None,
        depth=_as_int(_lookup(record, _DEPTH_KEYS)),
        trotter_steps=_as_int(_lookup(record, _TROTTER_KEYS)),
        scenario=_str_or_none(_lookup(record, _SCENARIO_KEYS)),
        network=_str_or_none(_lookup(record, _NETWORK_KEYS)),
        seed=_as_int(_lookup(record, _SEED_KEYS)),
        failure_reason=str(reason) if reason is not None else None,
        metrics=dict(record.get("metrics") or {}),
        tags={str(k): str(v) for k, v in (record.get("tags") or {}).items()},
        params=dict(record.get("params") or {}),
    )


def _method(record: Mapping[str, Any], task: Any) -> Any:
    """The resolved method tag, unless it only repeats the task name (the harness's default)."""
    tagged = _lookup(record, (_METHOD_TAG,))
    if task in EXACT_TASKS:
        return tagged if tagged not in (None, task) else "exact"
    if task in CLASSICAL_TASKS:
        return tagged or task
    if tagged is not None and tagged != task:
        return tagged
    return _lookup(record, _METHOD_PARAM_KEYS) or tagged


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def views(records: Iterable[Mapping[str, Any]]) -> list[RunView]:
    """Normalise records, sorted by task, method, precision, size and run id for stable tables."""
    out = [view(r) for r in records]
    out.sort(
        key=lambda v: (
            v.task or "",
            v.method or "",
            v.precision or "",
            v.nodes if v.nodes is not None else -1,
            v.run_id,
        )
    )
    return out


@dataclass
class Table:
    """A named table: column order plus rows (dicts); written as CSV and rendered to HTML/MD."""

    name: str
    columns: list[str]
    rows: list[dict[str, Any]]
    caption: str = ""

    def __bool__(self) -> bool:
        return bool(self.rows)

    def write_csv(self, path: Path) -> Path:
        """Write the table with a header row; missing cells stay empty."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=self.columns, extrasaction="ignore")
            writer.writeheader()
            for row in self.rows:
                writer.writerow({k: _csv_cell(row.get(k)) for k in self.columns})
        return path


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        # repr keeps every digit, so a CSV value round-trips to the logged metric exactly.
        return repr(value)
    return value


_ID_COLUMNS = [
    "run_id",
    "status",
    "task",
    "network",
    "scenario",
    "nodes",
    "method",
    "precision",
    "device",
    "depth",
    "trotter_steps",
    "seed",
]


def _metric_columns(runs: Sequence[RunView]) -> list[str]:
    present = {name for run in runs for name in run.metrics}
    return [m for m in SPEC_METRICS if m in present] + sorted(present - set(SPEC_METRICS))


def _id_row(run: RunView) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "status": run.outcome,
        "task": run.task,
        "network": run.network,
        "scenario": run.scenario,
        "nodes": run.nodes,
        "method": run.method,
        "precision": run.precision,
        "device": run.device,
        "depth": run.depth,
        "trotter_steps": run.trotter_steps,
        "seed": run.seed,
    }


def runs_table(runs: Sequence[RunView]) -> Table:
    """Wide table: one row per run, identifying columns then every metric."""
    metric_columns = _metric_columns(runs)
    rows = []
    for run in runs:
        row = _id_row(run)
        row["failure_reason"] = run.failure_reason
        row.update({m: run.metrics.get(m) for m in metric_columns})
        rows.append(row)
    columns = [*_ID_COLUMNS, "failure_reason", *metric_columns]
    return Table("runs", columns, rows, "Every run, one row each (metrics as logged).")


def metrics_long_table(runs: Sequence[RunView]) -> Table:
    """Tidy table: one row per (run, metric) with the value kind of each number."""
    rows = []
    for run in runs:
        for metric in _metric_columns([run]):
            row = _id_row(run)
            row.update(metric=metric, value=run.metrics[metric], kind=run.kind(metric))
            rows.append(row)
    columns = [*_ID_COLUMNS, "metric", "value", "kind"]
    return Table("metrics_long", columns, rows, "One row per run and metric, with its value kind.")


def failures_table(runs: Sequence[RunView]) -> Table:
    """Failed and refused runs with their reasons."""
    rows = []
    for run in runs:
        if not run.failed:
            continue
        row = _id_row(run)
        row["failure_reason"] = run.failure_reason or "no reason recorded"
        row["summary"] = failure_line(run)
        rows.append(row)
    columns = [*_ID_COLUMNS, "failure_reason", "summary"]
    return Table("failures", columns, rows, "Failed and refused runs (none is dropped silently).")


def failure_line(run: RunView) -> str:
    """E.g. ``"FAILED at n = 31 (vqe, statevector, double): insufficient memory"``."""
    size = run.nodes if run.nodes is not None else "?"
    what = ", ".join(str(p) for p in (run.task, run.method, run.precision) if p)
    reason = run.failure_reason or "no reason recorded"
    return f"{run.outcome} at n = {size} ({what}): {reason}"


def metric_table(
    runs: Sequence[RunView],
    name: str,
    metrics: Sequence[str],
    *,
    by: Sequence[str] = ("nodes",),
    tasks: frozenset[str] | None = None,
    require: Sequence[str] | None = None,
    caption: str = "",
) -> Table:
    """Finished runs that have at least one of ``require`` (default: of ``metrics``).

    Columns: run id, task, series, the id columns ``by``, then each metric ``m`` with a column
    ``m__kind`` beside it, so every number is tagged.
    """
    rows = []
    for run in runs:
        if not run.finished or (tasks is not None and run.task not in tasks):
            continue
        if all(run.metric(m) is None for m in (require or metrics)):
            continue
        row = {"run_id": run.run_id, "task": run.task, "series": run.series().label}
        row.update({col: getattr(run, col) for col in by})
        for metric in metrics:
            row[metric] = run.metric(metric)
            row[f"{metric}__kind"] = run.kind(metric) if run.metric(metric) is not None else None
        rows.append(row)
    rows.sort(key=lambda r: tuple(_sortable(r.get(c)) for c in ("series", *by)))
    columns = ["run_id", "task", "series", *by]
    for metric in metrics:
        columns += [metric, f"{metric}__kind"]
    return Table(name, columns, rows, caption)


def _sortable(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, int | float) else (1, str(value))


@dataclass(frozen=True)
class Point:
    """One (size, value) point of a series, with the run it came from."""

    n: int
    value: float
    run_id: str


def series_points(
    runs: Sequence[RunView],
    metric: str,
    *,
    tasks: frozenset[str] | None = None,
) -> dict[SeriesKey, list[Point]]:
    """Finished runs' ``metric`` by series (with depth in the key when depths differ).

    Runs without a size or without the metric are left out (a size-less run cannot be placed).
    """
    chosen = [
        r
        for r in runs
        if r.finished
        and r.nodes is not None
        and r.metric(metric) is not None
        and (tasks is None or r.task in tasks)
    ]
    with_depth = len({r.depth for r in chosen if r.task not in EXACT_TASKS}) > 1
    out: dict[SeriesKey, list[Point]] = {}
    for run in chosen:
        key = run.series(with_depth and run.task not in EXACT_TASKS)
        out.setdefault(key, []).append(Point(run.nodes, run.metric(metric), run.run_id))
    for points in out.values():
        points.sort(key=lambda p: (p.n, p.run_id))
    return dict(sorted(out.items(), key=lambda kv: kv[0].label))


def failed_sizes(
    runs: Sequence[RunView], *, tasks: frozenset[str] | None = None
) -> list[tuple[RunView, int]]:
    """Failed/refused runs that have a size, for markers on the scaling plots."""
    return [
        (r, r.nodes)
        for r in runs
        if r.failed and r.nodes is not None and (tasks is None or r.task in tasks)
    ]
