"""Run lifecycle on top of :class:`~qrspps.tracking.store.Store`: create, log in batches, end.

Runs are driven through ``MlflowClient`` with explicit run ids, never the fluent
``mlflow.start_run`` API: that one keeps a process-global "active run" (and exports
``MLFLOW_RUN_ID``), which leaks between jobs of a reused joblib worker and between a parent and its
children.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mlflow.entities import Metric, Param, Run, RunStatus, RunTag
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

from qrspps.tracking.store import Store

log = logging.getLogger(__name__)

#: MLflow's per-request limits (mlflow.utils.validation).
_PARAMS_PER_BATCH = 100
_METRICS_PER_BATCH = 1000
_ENTITIES_PER_BATCH = 1000
_TAG_LENGTH = 8000

#: Run statuses a job can end with.
FINISHED, FAILED, KILLED = "FINISHED", "FAILED", "KILLED"


def _now_ms() -> int:
    return int(time.time() * 1000)


def _split(items: list[Any], size: int) -> tuple[list[Any], list[Any]]:
    """The first ``size`` items and the rest."""
    return items[:size], items[size:]


def _as_float(key: str, value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        log.warning("metric %s: value %r is not a number; not logged", key, value)
        return None
    if math.isnan(number):
        log.debug("metric %s is NaN", key)
    return number


class RunRecorder:
    """One MLflow run, identified by ``run_id`` in ``store``."""

    def __init__(self, store: Store, run_id: str) -> None:
        self.store = store
        self.run_id = run_id

    @classmethod
    def start(
        cls,
        store: Store,
        experiment_id: str,
        *,
        run_name: str | None = None,
        tags: Mapping[str, str] | None = None,
        parent_run_id: str | None = None,
    ) -> RunRecorder:
        """Create a RUNNING run; a child of ``parent_run_id`` when given (MLflow nesting tag)."""
        all_tags = dict(tags or {})
        if parent_run_id:
            all_tags[MLFLOW_PARENT_RUN_ID] = parent_run_id
        run = store.call("create_run", experiment_id, tags=_clip_tags(all_tags), run_name=run_name)
        return cls(store, run.info.run_id)

    # ------------------------------------------------------------------ data

    def log_params(self, params: Mapping[str, str]) -> None:
        """Params in batches of MLflow's 100 per request."""
        self.log_batch(params=params)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Tags (values as strings, clipped to MLflow's 8000 characters) in batches of 100."""
        self.log_batch(tags=tags)

    def log_metrics(
        self, metrics: Mapping[str, Any], series: Mapping[str, Sequence[Any]] | None = None
    ) -> None:
        """Scalar metrics (step 0) and series (step = index), batched 1000 values per request."""
        self.log_batch(metrics=metrics, series=series)

    def log_batch(
        self,
        *,
        metrics: Mapping[str, Any] | None = None,
        series: Mapping[str, Sequence[Any]] | None = None,
        params: Mapping[str, str] | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> None:
        """Metrics, series, params and tags in as few requests as MLflow's limits allow.

        One request carries up to 100 params, 100 tags and metric values up to 1000 entities in
        all. Batching matters: on SQLite one request is one write transaction under the single
        writer lock, and through MLflow's SQLAlchemy store it costs ~10 ms whatever its size.
        """
        stamp = _now_ms()
        metric_entities = []
        for key, value in (metrics or {}).items():
            number = _as_float(key, value)
            if number is not None:
                metric_entities.append(Metric(key, number, stamp, 0))
        for key, values in (series or {}).items():
            for step, value in enumerate(values):
                number = _as_float(key, value)
                if number is not None:
                    metric_entities.append(Metric(key, number, stamp, step))
        param_entities = [Param(k, v) for k, v in (params or {}).items()]
        tag_entities = [RunTag(k, v) for k, v in _clip_tags(tags or {}).items()]

        while metric_entities or param_entities or tag_entities:
            param_chunk, param_entities = _split(param_entities, _PARAMS_PER_BATCH)
            tag_chunk, tag_entities = _split(tag_entities, _PARAMS_PER_BATCH)
            room = min(_METRICS_PER_BATCH, _ENTITIES_PER_BATCH - len(param_chunk) - len(tag_chunk))
            metric_chunk, metric_entities = _split(metric_entities, room)
            self.store.call(
                "log_batch", self.run_id, metrics=metric_chunk, params=param_chunk, tags=tag_chunk
            )

    # ------------------------------------------------------------------ artifacts

    def log_dict(self, data: Any, artifact_file: str) -> None:
        """``data`` as JSON or YAML (by the file's extension), through MLflow's serialiser."""
        self.store.call("log_dict", self.run_id, data, artifact_file)

    def log_text(self, text: str, artifact_file: str) -> None:
        self.store.call("log_text", self.run_id, text, artifact_file)

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        if Path(path).is_file():
            self.store.call("log_artifact", self.run_id, str(path), artifact_path)

    def log_artifacts(self, directory: str | Path, artifact_path: str | None = None) -> None:
        directory = Path(directory)
        if directory.is_dir() and any(directory.iterdir()):
            self.store.call("log_artifacts", self.run_id, str(directory), artifact_path)

    # ------------------------------------------------------------------ end

    def end(self, status: str, label: str | None = None) -> None:
        """Terminate the run with ``status`` (FINISHED, FAILED or KILLED), its ``status`` tag set
        by :func:`status_tag`."""
        self.set_tags(status_tag(status, label))
        self.terminate(status)

    def terminate(self, status: str) -> None:
        """Set the run's end status and time only (the ``status`` tag is the caller's: see
        :func:`status_tag`)."""
        self.store.call("set_terminated", self.run_id, status=status)

    def status(self) -> str:
        """Current MLflow status of the run."""
        return self.store.call("get_run", self.run_id).info.status


def status_tag(status: str, label: str | None = None) -> dict[str, str]:
    """The ``status`` tag a run ending with ``status`` gets: ``label``, else the status in lower
    case."""
    return {"status": label or status.lower()}


def _clip_tags(tags: Mapping[str, Any]) -> dict[str, str]:
    clipped = {}
    for key, value in tags.items():
        text = str(value)
        clipped[key] = text if len(text) <= _TAG_LENGTH else text[: _TAG_LENGTH - 3] + "..."
    return clipped


# --------------------------------------------------------------------------- queries


def find_finished(store: Store, experiment_id: str, config_hash: str) -> str | None:
    """Id of a FINISHED run of ``experiment_id`` tagged with ``config_hash``, if any."""
    runs = store.call(
        "search_runs",
        [experiment_id],
        filter_string=f"tags.config_hash = '{config_hash}' and attributes.status = 'FINISHED'",
        max_results=1,
    )
    return runs[0].info.run_id if runs else None


def child_runs(store: Store, experiment_id: str, parent_run_id: str) -> list[Run]:
    """Every run of ``experiment_id`` whose parent is ``parent_run_id`` (all pages)."""
    found: list[Run] = []
    token = None
    while True:
        page = store.call(
            "search_runs",
            [experiment_id],
            filter_string=f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{parent_run_id}'",
            max_results=1000,
            page_token=token,
        )
        found.extend(page)
        token = page.token
        if not token:
            return found


def end_open_children(
    store: Store, experiment_id: str, parent_run_id: str, status: str, reason: str
) -> int:
    """End every still-RUNNING child of ``parent_run_id`` with ``status``; returns how many."""
    count = 0
    for run in child_runs(store, experiment_id, parent_run_id):
        if run.info.status == RunStatus.to_string(RunStatus.RUNNING):
            recorder = RunRecorder(store, run.info.run_id)
            recorder.set_tags({"failure_reason": reason})
            recorder.end(status)
            count += 1
    return count
