"""What a task hands back to the tracking layer.

Tasks know nothing of MLflow or Hydra: they take the resolved config as plain data and return a
:class:`TaskResult`; :mod:`qrspps.tracking` turns it into metrics, tags and artifacts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class TaskResult:
    """Results of one job.

    Attributes:
        metrics: scalar results by the metric names of SPEC 4.1 (plus task-specific ones).
        series: metric histories logged with steps, e.g. ``{"vqe_energy_trace": [...]}``.
        tags: short strings (method chosen, termination reason, value kinds ...).
        tables: row lists logged as CSV and JSON artifacts, e.g. per-node stress.
        figures: matplotlib figures logged as PNG artifacts (the tracking layer closes them).
        texts: text artifacts by file name (e.g. a markdown summary).
    """

    metrics: dict[str, float] = field(default_factory=dict)
    series: dict[str, list[float]] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)

    def merge(self, other: TaskResult, prefix: str = "") -> TaskResult:
        """Fold ``other`` into this result (used by the pipeline task); returns ``self``."""
        self.metrics.update({prefix + k: v for k, v in other.metrics.items()})
        self.series.update({prefix + k: v for k, v in other.series.items()})
        self.tags.update({prefix + k: v for k, v in other.tags.items()})
        self.tables.update({prefix + k: v for k, v in other.tables.items()})
        self.figures.update({prefix + k: v for k, v in other.figures.items()})
        self.texts.update({prefix + k: v for k, v in other.texts.items()})
        return self
