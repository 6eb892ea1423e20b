"""Read runs back from the tracking store for the report, and log the finished report as a run.

Runs come back as plain dicts (``run_id``, ``run_name``, ``status``, ``params``, ``metrics``,
``tags``, ``start_time``, ``end_time``, ``experiment_id``) so :mod:`qrspps.reporting` never sees
MLflow. ``search_runs`` returns params as strings; :func:`cast_param` turns them back into numbers,
booleans and ``None`` (lists stay JSON strings). Sweep parents (tag ``role=sweep``) and earlier
report runs (``role=report``) are left out: they hold no job results.

The report run carries, per fitted series, metrics such as
``fit_rate_per_qubit__statevector_double`` and ``extrapolated_time_s_at_40__statevector_double``,
each with a tag ``kind__<metric>`` saying it is extrapolated and from which fit range, and the
report files as artifacts under ``report/``.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mlflow.entities import Run, ViewType
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

from qrspps.errors import ConfigError
from qrspps.reporting.fits import ExponentialFit
from qrspps.reporting.render import ReportResult
from qrspps.tracking.metadata import environment_tags
from qrspps.tracking.recorder import FINISHED, RunRecorder
from qrspps.tracking.store import Store, resolve_uri

log = logging.getLogger(__name__)

#: Page size of ``search_runs`` (MLflow's maximum per request is larger; this keeps pages small).
PAGE_SIZE = 1000

#: Values of the ``role`` tag that mark runs holding no job results.
NON_JOB_ROLES = frozenset({"sweep", "report"})

_INT = re.compile(r"^[+-]?\d+$")
_LITERALS: dict[str, Any] = {
    "null": None,
    "None": None,
    "true": True,
    "True": True,
    "false": False,
    "False": False,
}


def tracking_uri(uri: str | None = None) -> str:
    """``uri``, else ``MLFLOW_TRACKING_URI``, else the project's SQLite store (see ``store``)."""
    return resolve_uri(uri)


def cast_param(value: str) -> Any:
    """A param string as logged back to a Python value: int, float, bool, None, else the string."""
    text = value.strip()
    if text in _LITERALS:
        return _LITERALS[text]
    if _INT.match(text):
        return int(text)
    try:
        number = float(text)
    except ValueError:
        return value
    # "nan"/"inf" are more likely names than numbers in a config; keep them as strings.
    return number if math.isfinite(number) else value


def run_record(run: Run) -> dict[str, Any]:
    """One MLflow run as the plain record :mod:`qrspps.reporting.collect` reads."""
    return {
        "run_id": run.info.run_id,
        "run_name": run.info.run_name,
        "experiment_id": run.info.experiment_id,
        "status": run.info.status,
        "start_time": run.info.start_time,
        "end_time": run.info.end_time,
        "params": {k: cast_param(v) for k, v in run.data.params.items()},
        "metrics": dict(run.data.metrics),
        "tags": dict(run.data.tags),
    }


def _search_all(store: Store, experiment_ids: list[str], filter_string: str) -> list[Run]:
    """Every run matching ``filter_string`` (follows ``page_token`` until the last page)."""
    found: list[Run] = []
    token = None
    while True:
        page = store.call(
            "search_runs",
            experiment_ids,
            filter_string=filter_string,
            run_view_type=ViewType.ACTIVE_ONLY,
            max_results=PAGE_SIZE,
            page_token=token,
        )
        found.extend(page)
        token = page.token
        if not token:
            return found


def _experiment_ids(store: Store, experiments: Iterable[str]) -> list[str]:
    ids = []
    for name in experiments:
        experiment = store.call("get_experiment_by_name", name)
        if experiment is None and name.isdigit():
            experiment = store.call("get_experiment", name)
        if experiment is None:
            known = [e.name for e in store.call("search_experiments", max_results=100)]
            raise ConfigError(
                f"experiment {name!r} not found in {store.uri}; known experiments: {known}"
            )
        ids.append(experiment.experiment_id)
    return ids


def _job_runs(runs: Sequence[Run]) -> list[Run]:
    """Drop sweep parents and report runs (by role tag, or by having children in the set)."""
    parents = {r.data.tags.get(MLFLOW_PARENT_RUN_ID) for r in runs}
    return [
        r
        for r in runs
        if r.data.tags.get("role") not in NON_JOB_ROLES
        and not (r.info.run_id in parents and "task" not in r.data.tags)
    ]


def fetch_runs(
    experiments: str | Sequence[str] | None = None,
    *,
    parent_run_id: str | None = None,
    uri: str | None = None,
    store: Store | None = None,
) -> list[dict[str, Any]]:
    """Job runs of one or more experiments, or the children of one multirun parent.

    Args:
        experiments: experiment name(s) (or ids); with ``parent_run_id`` alone, the parent's own.
        parent_run_id: keep only children of this multirun parent run.
        uri: tracking URI (see :func:`tracking_uri`); ignored when ``store`` is given.
        store: an open store to reuse.

    Raises:
        ConfigError: neither argument given, or an experiment does not exist.
    """
    store = store or Store(uri)
    if isinstance(experiments, str):
        experiments = [experiments]
    if experiments:
        experiment_ids = _experiment_ids(store, experiments)
    elif parent_run_id:
        experiment_ids = [store.call("get_run", parent_run_id).info.experiment_id]
    else:
        raise ConfigError("fetch_runs needs experiments=<name,...> or parent_run_id=<run id>")

    filter_string = f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{parent_run_id}'" if parent_run_id else ""
    runs = _job_runs(_search_all(store, experiment_ids, filter_string))
    log.info("read %d job runs from %s (experiments %s)", len(runs), store.uri, experiment_ids)
    return [run_record(r) for r in runs]


def _metric_safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-/ ]", "_", text)


def report_metrics(result: ReportResult) -> tuple[dict[str, float], dict[str, str]]:
    """Per-series fit metrics of a report and the ``kind__<metric>`` tags labelling them."""
    target = result.target_nodes
    metrics: dict[str, float] = {}
    tags: dict[str, str] = {}
    names = {
        "eval_time": ("fit_rate_per_qubit", "fit_r2", f"extrapolated_time_s_at_{target}"),
        "vqe_time": (
            "fit_rate_per_qubit_vqe",
            "fit_r2_vqe",
            f"extrapolated_vqe_time_s_at_{target}",
        ),
        "memory": ("fit_bytes_per_amplitude", "fit_r2_memory", f"extrapolated_bytes_at_{target}"),
    }
    for item in result.fits:
        if item.fit is None or item.extrapolation is None or item.quantity.key not in names:
            continue
        slope_name, r2_name, value_name = names[item.quantity.key]
        ext = item.extrapolation
        slope = item.fit.rate if isinstance(item.fit, ExponentialFit) else item.fit.line.slope
        suffix = f"__{_metric_safe(item.key.slug)}"
        values = {
            slope_name: slope,
            f"{slope_name}_se": item.fit.line.slope_se,
            r2_name: item.fit.r2,
            value_name: ext.value,
            f"{value_name}_lower": ext.lower,
            f"{value_name}_upper": ext.upper,
        }
        for name, value in values.items():
            if value is not None and math.isfinite(value):
                metrics[name + suffix] = float(value)
        for name in (value_name, f"{value_name}_lower", f"{value_name}_upper"):
            tags[f"kind__{name}{suffix}"] = ext.label
        for name in (slope_name, f"{slope_name}_se", r2_name):
            tags[f"kind__{name}{suffix}"] = f"fit parameter (fit {item.fit.fit_range})"
    return metrics, tags


def log_report(
    result: ReportResult,
    *,
    experiment: str,
    uri: str | None = None,
    store: Store | None = None,
    source: Mapping[str, str] | None = None,
) -> str:
    """Log ``result`` as a new run named ``report`` in ``experiment``; returns its run id.

    The run has tag ``role=report`` (so :func:`fetch_runs` skips it), the fit metrics of
    :func:`report_metrics` with their kind tags, where the report lies on disk, and every report
    file as an artifact under ``report/``.
    """
    store = store or Store(uri)
    experiment_id = store.experiment_id(experiment)
    tags = environment_tags()
    tags.update(
        {
            "role": "report",
            "task": "report",
            "status": "running",
            "report.path": str(result.index_html.resolve()),
            "report.target_nodes": str(result.target_nodes),
        }
    )
    tags.update({f"report.{k}": v for k, v in (source or {}).items()})
    recorder = RunRecorder.start(store, experiment_id, run_name="report", tags=tags)

    metrics, kind_tags = report_metrics(result)
    recorder.log_metrics(metrics)
    recorder.set_tags(kind_tags)
    recorder.log_artifacts(result.out_dir, "report")
    recorder.end(FINISHED)
    log.info(
        "report run %s in experiment %r (%d fit metrics, artifacts under report/)",
        recorder.run_id,
        experiment,
        len(metrics),
    )
    return recorder.run_id
