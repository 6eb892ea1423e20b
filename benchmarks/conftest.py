"""Shared benchmark setup: the machine description saved with every benchmark JSON.

Thread counts are fixed in each benchmark through ``max_parallel_threads`` (Aer) or the peer's own
setting, never by changing the environment here, so that the ordinary tests are unaffected.
"""

from __future__ import annotations

import os
from typing import Any

import psutil


def pytest_benchmark_update_machine_info(config: Any, machine_info: dict[str, Any]) -> None:
    """Add what the comparison of two saved runs needs: usable cores and memory."""
    machine_info["usable_cores"] = len(os.sched_getaffinity(0))
    machine_info["memory_total_bytes"] = psutil.virtual_memory().total
