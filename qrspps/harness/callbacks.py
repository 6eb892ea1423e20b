"""Hydra callback owning the MLflow parent run of a multirun.

``on_multirun_start`` runs in the launching process before any worker exists. It opens the store
(so a new SQLite database gets its schema from one process, not from racing workers), gets or
creates the experiment, creates the parent run, and writes ``<sweep dir>/.qrspps/parent.json`` for
the jobs (:func:`qrspps.harness.runner.read_parent_info`). The parent id travels only in that
file: exporting ``MLFLOW_RUN_ID`` would make every worker log into the parent itself.

``on_multirun_end`` collects the jobs' status files, logs the summary table, ends any child left
RUNNING by a worker that died, ends the parent (FAILED if any job failed) and sets the process exit
status. Interrupted sweeps never reach it; the entry point calls :func:`abort_active_sweep`.

Hydra turns exceptions raised in callbacks into warnings; the tests run with those warnings as
errors so that a broken callback cannot pass unnoticed.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from qrspps.harness.runner import (
    FAILED,
    FINISHED,
    KILLED,
    SKIPPED,
    JobOutcome,
    ParentInfo,
    note_failures,
    read_job_outcomes,
    write_parent_info,
)
from qrspps.tracking.metadata import environment_tags, flatten_params

log = logging.getLogger(__name__)

#: Columns of the end-of-sweep summary: (header, metric, format).
_SUMMARY_METRICS = (
    ("energy", "vqe_energy", "{:.6g}"),
    ("exact", "exact_energy", "{:.6g}"),
    ("abs err", "energy_abs_error", "{:.2e}"),
    ("wall s", "wall_time_s", "{:.2f}"),
    ("peak MB", "peak_rss_bytes", "{:.0f}"),
)


@dataclass
class _ActiveSweep:
    store: Any
    experiment_id: str
    parent_run_id: str
    sweep_dir: Path


_active: _ActiveSweep | None = None


def _sweep_dir(config: DictConfig) -> Path:
    return Path(str(config.hydra.sweep.dir)).resolve()


class MultirunTracking(Callback):
    """Creates, summarises and ends the parent run of a Hydra multirun (see the module doc)."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        from qrspps.tracking.recorder import RunRecorder
        from qrspps.tracking.store import Store

        global _active
        tracking = OmegaConf.to_container(config.tracking, resolve=True)
        sweep_dir = _sweep_dir(config)
        store = Store(tracking.get("uri"))
        experiment = str(tracking["experiment"])
        experiment_id = store.experiment_id(experiment)

        overrides = list(config.hydra.overrides.task)
        sweeper_params = OmegaConf.to_container(config.hydra.sweeper).get("params") or {}
        launcher = str(config.hydra.launcher.get("_target_", "")).rsplit(".", 1)[-1]
        tags = environment_tags()
        tags.update(
            {
                "role": "sweep",
                "status": "running",
                "sweep_dir": str(sweep_dir),
                "launcher": launcher,
                "sweep.overrides": " ".join(overrides),
            }
        )
        name = tracking.get("run_name") or f"sweep:{' '.join(overrides) or sweep_dir.name}"
        recorder = RunRecorder.start(store, experiment_id, run_name=name[:250], tags=tags)

        base = OmegaConf.to_container(config, resolve=False, enum_to_str=True)
        base.pop("hydra", None)
        params = flatten_params(base)
        params["sweep.overrides"] = " ".join(overrides) or "(none)"
        params["sweep.params"] = str(sweeper_params or "(none)")
        recorder.log_params(params)

        info = ParentInfo(store.uri, experiment, experiment_id, recorder.run_id)
        write_parent_info(sweep_dir, info)
        _active = _ActiveSweep(store, experiment_id, recorder.run_id, sweep_dir)
        log.info(
            "MLflow: experiment %r (id %s) in %s, parent run %s",
            experiment,
            experiment_id,
            store.uri,
            recorder.run_id,
        )

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        global _active
        if _active is None:
            log.warning("multirun ended without a parent run (on_multirun_start failed?)")
            return
        sweep, _active = _active, None
        finish_sweep(sweep)


def finish_sweep(sweep: _ActiveSweep) -> list[JobOutcome]:
    """Summary table, stray children, parent status and exit status of a completed sweep."""
    from qrspps.tracking.recorder import RunRecorder, end_open_children

    outcomes = read_job_outcomes(sweep.sweep_dir)
    strays = end_open_children(
        sweep.store,
        sweep.experiment_id,
        sweep.parent_run_id,
        FAILED,
        "job ended without reporting (worker process died?)",
    )
    counts = {s: sum(o.status == s for o in outcomes) for s in (FINISHED, FAILED, KILLED, SKIPPED)}
    counts[FAILED] += strays
    failed = counts[FAILED] + counts[KILLED]

    for line in summary_lines(outcomes):
        log.info("%s", line)
    if strays:
        log.error("%d job run(s) were still RUNNING at the end and are marked FAILED", strays)
    if counts[SKIPPED]:
        log.info(
            "skipped %d job(s) already FINISHED with the same config hash (tracking.resume=true)",
            counts[SKIPPED],
        )
    log.info(
        "sweep done: %d finished, %d failed, %d killed, %d skipped; parent run %s",
        counts[FINISHED],
        counts[FAILED],
        counts[KILLED],
        counts[SKIPPED],
        sweep.parent_run_id,
    )

    parent = RunRecorder(sweep.store, sweep.parent_run_id)
    parent.log_metrics(
        {f"jobs_{s.lower()}": n for s, n in counts.items()} | {"jobs_total": len(outcomes) + strays}
    )
    parent.log_dict([_row(o) for o in outcomes], "summary.json")
    parent.log_text("\n".join(summary_lines(outcomes)) + "\n", "summary.txt")
    parent.end(FAILED if failed else FINISHED)
    note_failures(failed)
    return outcomes


def abort_active_sweep(status: str = KILLED, reason: str = "interrupted") -> None:
    """End the open parent run and its RUNNING children with ``status`` (Ctrl-C, crash)."""
    from qrspps.tracking.store import short_retries

    global _active
    if _active is None:
        return
    sweep, _active = _active, None
    try:
        with short_retries():
            _end_sweep(sweep, status, reason)
    except Exception:
        # Already on the way out (interrupt or crash): say what is left open, do not mask why.
        log.exception("could not mark parent run %s %s", sweep.parent_run_id, status)


def _end_sweep(sweep: _ActiveSweep, status: str, reason: str) -> None:
    """End the RUNNING children, then the parent, with ``status``."""
    from qrspps.tracking.recorder import RunRecorder, end_open_children

    count = end_open_children(sweep.store, sweep.experiment_id, sweep.parent_run_id, status, reason)
    parent = RunRecorder(sweep.store, sweep.parent_run_id)
    parent.set_tags({"failure_reason": reason})
    parent.end(status)
    log.warning(
        "%s: parent run %s and %d open job run(s) marked %s",
        reason,
        sweep.parent_run_id,
        count,
        status,
    )


def _row(outcome: JobOutcome) -> dict[str, Any]:
    row = {
        "job": outcome.job_num,
        "overrides": outcome.overrides,
        "task": outcome.task,
        "status": outcome.status,
        "run_id": outcome.run_id,
        "failure_reason": outcome.failure_reason,
    }
    row.update({metric: outcome.metrics.get(metric) for _, metric, _ in _SUMMARY_METRICS})
    return row


def _cell(value: Any, fmt: str, scale: float = 1.0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return fmt.format(value / scale)


def summary_lines(outcomes: list[JobOutcome]) -> list[str]:
    """The end-of-sweep table: job, status, key metrics, failure reason."""
    header = ["job", "status", "task", *(h for h, _, _ in _SUMMARY_METRICS), "overrides / reason"]
    rows = [header]
    for o in outcomes:
        cells = [str(o.job_num), o.status, o.task]
        for _, metric, fmt in _SUMMARY_METRICS:
            scale = 2.0**20 if metric == "peak_rss_bytes" else 1.0
            cells.append(_cell(o.metrics.get(metric), fmt, scale))
        detail = o.overrides
        if o.failure_reason:
            detail = f"{detail}  [{o.failure_reason[:120]}]"
        cells.append(detail)
        rows.append(cells)
    widths = [max(len(r[k]) for r in rows) for k in range(len(header) - 1)]
    return ["  ".join(c.ljust(w) for c, w in zip(r[:-1], widths)) + "  " + r[-1] for r in rows]
