"""What a run records besides its results: flattened params, the config hash, environment tags.

Pure functions over plain data (no MLflow import), so they are cheap to test and reuse.

Params are the resolved config flattened to dotted keys. The bulky data of a network file
(``tiers``, ``node_table``, ``edges``) and the policy catalogue are condensed into a content hash
and counts: the full data is in the ``config.yaml`` artifact, and a 57-edge list would exceed
MLflow's 6000-character limit on a param value at some size anyway.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import socket
import subprocess
from collections.abc import Iterator, Mapping
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

#: MLflow's limit on a param value (mlflow.utils.validation.MAX_PARAM_VAL_LENGTH).
MAX_PARAM_LENGTH = 6000
#: Values longer than this are logged as a hash and a length: a param is for comparing runs in the
#: UI, the full value is in the config artifact.
CONDENSE_LENGTH = 500

#: Keys left out of the config hash: they change where or how a job runs, not what it computes.
HASH_EXCLUDED_KEYS = (
    "tracking",
    "timeout_s",
    "isolation",
    "simulator.max_parallel_threads",
)

#: Bulky data keys condensed into a hash and a count in the params.
_CONDENSED = {
    "network": ("tiers", "node_table", "edges"),
    "policies": ("catalogue",),
}

#: Distributions whose versions every run records (tag ``version.<name>``).
VERSIONED_DISTRIBUTIONS = (
    "qrspps",
    "qiskit",
    "qiskit-aer",
    "qiskit-aer-gpu",
    "openfermion",
    "numpy",
    "scipy",
    "mlflow",
    "hydra-core",
)


def canonical_json(data: Any) -> str:
    """JSON with sorted keys and no whitespace, the input of every hash here."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


def short_hash(data: Any, length: int = 16) -> str:
    """First ``length`` hex digits of the SHA-256 of ``canonical_json(data)``."""
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()[:length]


def _without(cfg: Mapping[str, Any], dotted: str) -> dict[str, Any]:
    head, _, rest = dotted.partition(".")
    out = dict(cfg)
    if head not in out:
        return out
    if rest:
        if isinstance(out[head], Mapping):
            out[head] = _without(out[head], rest)
    else:
        del out[head]
    return out


def config_hash(cfg: Mapping[str, Any]) -> str:
    """Identity of a job's computation: hash of the resolved config less :data:`HASH_EXCLUDED_KEYS`.

    Two jobs with the same hash compute the same thing, so a finished one need not run again.
    """
    reduced: dict[str, Any] = dict(cfg)
    for key in HASH_EXCLUDED_KEYS:
        reduced = _without(reduced, key)
    return short_hash(reduced)


def _flatten(data: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    if isinstance(data, Mapping) and data:
        for key, value in data.items():
            yield from _flatten(value, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, data


def _as_param(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str) if isinstance(value, list | tuple | dict) else str(value)


def flatten_params(cfg: Mapping[str, Any]) -> dict[str, str]:
    """Resolved config as ``{"optimizer.maxiter": "500", ...}`` with bulky data condensed.

    ``network.tiers/node_table/edges`` become ``network.data_sha256`` plus ``network.table_tiers``,
    ``network.table_nodes`` and ``network.table_edges`` counts; ``policies.catalogue`` becomes
    ``policies.catalogue_sha256`` and ``policies.catalogue_ids``. Any other value longer than
    :data:`CONDENSE_LENGTH` characters is replaced by ``sha256:<hash> (<n> chars)``.
    """
    reduced: dict[str, Any] = dict(cfg)
    extra: dict[str, str] = {}
    for group, keys in _CONDENSED.items():
        section = reduced.get(group)
        if not isinstance(section, Mapping):
            continue
        present = {k: section[k] for k in keys if section.get(k) is not None}
        reduced[group] = {k: v for k, v in section.items() if k not in keys}
        if not present:
            continue
        if group == "network":
            extra["network.data_sha256"] = short_hash(present)
            for key, label in (("tiers", "tiers"), ("node_table", "nodes"), ("edges", "edges")):
                if key in present:
                    extra[f"network.table_{label}"] = str(len(present[key]))
        else:
            catalogue = present["catalogue"]
            extra["policies.catalogue_sha256"] = short_hash(catalogue)
            extra["policies.catalogue_ids"] = ",".join(map(str, catalogue))

    params = {key: _as_param(value) for key, value in _flatten(reduced, "")}
    params.update(extra)
    for key, value in params.items():
        if len(value) > CONDENSE_LENGTH:
            digest = hashlib.sha256(value.encode()).hexdigest()[:16]
            params[key] = f"sha256:{digest} ({len(value)} chars)"
    return params


# --------------------------------------------------------------------------- environment


def project_root() -> Path:
    """The project root: ``QRSPPS_ROOT`` if set, else the checkout this package lives in.

    An installed (non-editable) package has no checkout around it; then the current directory is
    used, and users should set ``QRSPPS_ROOT`` or ``MLFLOW_TRACKING_URI``.
    """
    env = os.environ.get("QRSPPS_ROOT")
    if env:
        return Path(env).expanduser().resolve()
    here = Path(__file__).resolve().parents[2]
    if (here / "conf").is_dir() and (here / "qrspps").is_dir():
        return here
    return Path.cwd().resolve()


@cache
def git_state() -> tuple[str, str]:
    """``(commit, dirty)`` of the project checkout; ``("none", "unknown")`` outside git."""
    root = project_root()
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "none", "unknown"
    return commit or "none", "true" if status.strip() else "false"


@cache
def versions() -> dict[str, str]:
    """Installed version of each of :data:`VERSIONED_DISTRIBUTIONS` (absent ones left out)."""
    found = {}
    for name in VERSIONED_DISTRIBUTIONS:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    found["python"] = platform.python_version()
    return found


def usable_cores() -> int:
    """Cores this process may run on (the cpuset under SLURM or taskset), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def environment_tags() -> dict[str, str]:
    """Tags every run gets: versions, git commit, host, core count."""
    commit, dirty = git_state()
    tags = {f"version.{name}": v for name, v in versions().items()}
    tags.update(
        {
            "git_commit": commit,
            "git_dirty": dirty,
            "mlflow.source.git.commit": commit,
            "host": socket.gethostname(),
            "platform": platform.platform(),
            "threads.usable_cores": str(usable_cores()),
        }
    )
    return tags
