"""Task registry: ``task=<name>`` -> the module whose ``run(cfg) -> TaskResult`` does the work.

Modules are imported only when a job asks for them, so a sweep of ``task=exact`` does not import
Qiskit, and a task whose module is not written yet fails its own job with
:class:`TaskUnavailableError` instead of breaking the import of every other task.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping
from typing import Any

from qrspps.errors import ConfigError, QrsppsError
from qrspps.harness.result import TaskResult

#: Task name -> module defining ``run(cfg) -> TaskResult``.
TASK_MODULES: dict[str, str] = {
    name: f"qrspps.tasks.{name}"
    for name in ("exact", "vqe", "montecarlo", "screening", "dosqpe", "pipeline", "scaling")
}

TaskFunction = Callable[[Mapping[str, Any]], TaskResult]


class TaskUnavailableError(QrsppsError, LookupError):
    """The task is registered but its module does not exist (yet) in this installation."""


def is_available(name: str) -> bool:
    """Whether the module of task ``name`` exists (without importing it)."""
    module = TASK_MODULES.get(name)
    return module is not None and importlib.util.find_spec(module) is not None


def get_task(name: str) -> TaskFunction:
    """The ``run`` function of task ``name``, importing its module on first use.

    Raises:
        ConfigError: ``name`` is not a registered task.
        TaskUnavailableError: the task's module is missing from this installation.
    """
    if name not in TASK_MODULES:
        raise ConfigError(
            f"task.name: unknown task {name!r}; expected one of {sorted(TASK_MODULES)}"
        )
    module_name = TASK_MODULES[name]
    if importlib.util.find_spec(module_name) is None:
        raise TaskUnavailableError(
            f"task {name!r} is not available yet ({module_name.replace('.', '/')}.py missing)"
        )
    module = importlib.import_module(module_name)
    run = getattr(module, "run", None)
    if not callable(run):
        raise TaskUnavailableError(f"task {name!r}: {module_name} defines no run(cfg) function")
    return run


__all__ = ["TASK_MODULES", "TaskFunction", "TaskUnavailableError", "get_task", "is_available"]
