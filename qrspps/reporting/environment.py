"""Where the numbers came from: the runs' recorded environment and the machine building the report.

The runs' own tags (package versions, git commit, host) are what matter for their numbers; the
report machine's description is added because a reader extrapolating times needs to know the CPU
and memory of the machine that was timed, which is usually the same one.
"""

from __future__ import annotations

import logging
import os
import platform
import subprocess
from collections import Counter
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from qrspps.reporting.collect import RunView, Table
from qrspps.reporting.units import format_bytes

log = logging.getLogger(__name__)

#: Distributions whose versions shape the measured numbers.
PACKAGES = (
    "qrspps",
    "numpy",
    "scipy",
    "qiskit",
    "qiskit-aer",
    "qiskit-aer-gpu",
    "openfermion",
    "hydra-core",
    "mlflow",
    "matplotlib",
    "psutil",
)

# Tags describing a run's environment rather than its result.
_ENV_TAG_HINTS = ("version", "git", "host", "cpu", "python", "platform", "threads", "device")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _memory_bytes() -> int | None:
    try:
        import psutil

        return int(psutil.virtual_memory().total)
    except ImportError:
        pass
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _physical_cores() -> int | None:
    try:
        import psutil

        return psutil.cpu_count(logical=False)
    except ImportError:
        return None


def git_commit(root: Path | None = None) -> str:
    """Commit of the working tree (read-only ``git rev-parse``), ``"unknown"`` outside a repo."""
    root = root or Path(__file__).resolve().parents[2]
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return result.stdout.strip() or "unknown"


def machine_memory_bytes() -> int | None:
    """Total memory of this machine in bytes (None when it cannot be read)."""
    return _memory_bytes()


def machine_table() -> Table:
    """The machine building the report: CPU, cores, memory, OS, Python, packages, git commit."""
    memory = _memory_bytes()
    rows = [
        {"item": "CPU model", "value": _cpu_model()},
        {"item": "logical cores", "value": str(os.cpu_count())},
        {"item": "physical cores", "value": str(_physical_cores() or "unknown")},
        {"item": "memory", "value": format_bytes(memory) if memory else "unknown"},
        {"item": "OS", "value": platform.platform()},
        {"item": "Python", "value": platform.python_version()},
        {"item": "git commit (report code)", "value": git_commit()},
    ]
    for package in PACKAGES:
        try:
            rows.append({"item": package, "value": metadata.version(package)})
        except metadata.PackageNotFoundError:
            continue
    return Table(
        "environment_report_machine", ["item", "value"], rows, "Machine building the report."
    )


def runs_environment_table(runs: Sequence[RunView]) -> Table:
    """Distinct values of the runs' environment tags, with how many runs carry each."""
    counts: dict[str, Counter[str]] = {}
    for run in runs:
        for key, value in run.tags.items():
            if key.startswith("mlflow.") or not any(h in key.lower() for h in _ENV_TAG_HINTS):
                continue
            counts.setdefault(key, Counter())[value] += 1
    rows = [
        {"tag": key, "value": value, "runs": count}
        for key in sorted(counts)
        for value, count in counts[key].most_common()
    ]
    caption = "Environment recorded by the runs themselves (tags), with the number of runs each."
    return Table("environment_runs", ["tag", "value", "runs"], rows, caption)
