"""Shared test set-up: fixed thread counts, a throw-away tracking store, the app as a subprocess.

Thread pools are pinned to one thread so that timings and results do not depend on the machine's
load, and so that two parallel workers do not oversubscribe a 2-core runner.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
# Tests must never write into the project's own store.
os.environ.pop("MLFLOW_TRACKING_URI", None)
os.environ.pop("MLFLOW_RUN_ID", None)

import subprocess  # noqa: E402
import sys  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "experiments" / "run.py"

#: Hydra turns exceptions raised in callbacks into ``UserWarning("Callback ... raised ...")``: a
#: broken callback would pass silently, so every app process the tests start makes them errors.
CALLBACK_WARNINGS_AS_ERRORS = "error:Callback:UserWarning"


@dataclass
class AppResult:
    """Exit status and combined output of one app invocation."""

    returncode: int
    output: str


@pytest.fixture(scope="session")
def tracking_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite store shared by the session (schema creation costs seconds; do it once).

    Tests isolate themselves by experiment name.
    """
    from qrspps.tracking.store import Store

    db = tmp_path_factory.mktemp("mlruns") / "mlflow.db"
    uri = "sqlite:///" + str(db)
    Store(uri)
    return uri


@pytest.fixture
def run_app(tmp_path: Path, tracking_uri: str):
    """Run ``experiments/run.py`` in a subprocess against the test store.

    Returns a function ``(*overrides, uri=..., timeout=...) -> AppResult``; output directories go
    under the test's ``tmp_path``, the working directory is ``tmp_path`` too.
    """

    def run(
        *overrides: str,
        uri: str | None = None,
        timeout: float = 600,
        env: dict[str, str] | None = None,
    ) -> AppResult:
        multirun = "-m" in overrides or "--multirun" in overrides
        dirs = (
            [f"hydra.sweep.dir={tmp_path / 'multirun'}"]
            if multirun
            else [f"hydra.run.dir={tmp_path / 'run'}"]
        )
        full_env = dict(os.environ)
        full_env.update(
            {
                "MLFLOW_TRACKING_URI": uri or tracking_uri,
                "PYTHONWARNINGS": CALLBACK_WARNINGS_AS_ERRORS,
                "HYDRA_FULL_ERROR": "0",
            }
        )
        full_env.update(env or {})
        proc = subprocess.run(
            [sys.executable, "-W", CALLBACK_WARNINGS_AS_ERRORS, str(APP), *overrides, *dirs],
            cwd=tmp_path,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return AppResult(proc.returncode, proc.stdout + proc.stderr)

    return run


def experiment_runs(uri: str, experiment: str) -> list:
    """Every run of ``experiment`` in the store at ``uri`` (parents and children)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return []
    return client.search_runs([found.experiment_id], max_results=1000)


def artifact_paths(uri: str, run_id: str) -> set[str]:
    """Paths of every artifact file of a run (recursively)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    paths: set[str] = set()

    def walk(path: str | None) -> None:
        for item in client.list_artifacts(run_id, path):
            if item.is_dir:
                walk(item.path)
            else:
                paths.add(item.path)

    walk(None)
    return paths
