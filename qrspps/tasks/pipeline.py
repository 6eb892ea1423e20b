"""Task ``pipeline``: every stage of the published pipeline on one network, in one run.

Runs the ``vqe`` task (exact reference, VQE, Monte Carlo dP), then ``screening`` and ``dosqpe``,
each with the same config. Metrics keep their SPEC names (the later stage wins where two report the
same quantity, e.g. ``num_qubits``); each stage's own wall time is kept as
``<stage>_wall_time_s``, and its tables, figures and texts are prefixed with ``<stage>/``.

.. note:: Each stage runs its own VQE with the same settings and seed, so the state is the same but
   the optimisation is paid up to three times; the pipeline is for a complete record of one
   configuration, the single-stage tasks are for timing studies.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Mapping
from typing import Any

from qrspps.harness.result import TaskResult

log = logging.getLogger(__name__)

#: Stages in order: (name, module with ``run(cfg) -> TaskResult``).
STAGES = (
    ("vqe", "qrspps.tasks.vqe"),
    ("screening", "qrspps.tasks.screening"),
    ("dosqpe", "qrspps.tasks.dosqpe"),
)


def run(cfg: Mapping[str, Any]) -> TaskResult:
    """Run the stages of :data:`STAGES` in order and fold their results into one."""
    start = time.perf_counter()
    combined = TaskResult()
    for stage, module_name in STAGES:
        log.info("pipeline: stage %s", stage)
        stage_result = importlib.import_module(module_name).run(cfg)
        combined.metrics.update(stage_result.metrics)
        combined.metrics[f"{stage}_wall_time_s"] = stage_result.metrics.get("wall_time_s", 0.0)
        combined.series.update(stage_result.series)
        combined.tags.update({k: v for k, v in stage_result.tags.items() if k != "value_kind"})
        combined.tags[f"value_kind__{stage}"] = stage_result.tags.get("value_kind", "")
        stage_result.metrics.clear()
        stage_result.series.clear()
        stage_result.tags.clear()
        combined.merge(stage_result, prefix=f"{stage}/")
    combined.metrics["wall_time_s"] = time.perf_counter() - start
    return combined
