"""Job execution: task registry, the exact task, failure capture, resources, sweeps through the app.

Unit tests drive :func:`qrspps.harness.runner.run_job` in-process with stand-in tasks; the sweep
tests run ``experiments/run.py`` in a subprocess on tiny networks (4-7 nodes) against a temporary
SQLite store, with Hydra callback warnings turned into errors.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from qrspps.errors import ConfigError, ResourceLimitError
from qrspps.harness import runner
from qrspps.harness.problem import build_problem
from qrspps.harness.result import TaskResult
from qrspps.harness.runner import JobContext, run_job
from qrspps.tasks import TASK_MODULES, TaskUnavailableError, get_task, is_available
from tests.conftest import (
    APP,
    CALLBACK_WARNINGS_AS_ERRORS,
    artifact_paths,
    experiment_runs,
)
from tests.reference import kron_hamiltonian

ALL_TASKS = tuple(TASK_MODULES)

#: Metrics each task must log in a smoke run (SPEC 4.1 names), beyond the runner's own.
EXPECTED_METRICS = {
    "exact": {"num_qubits", "exact_energy", "exact_gap", "exact_energy__rate_hike"},
    "vqe": {
        "num_qubits",
        "num_parameters",
        "vqe_energy",
        "exact_energy",
        "energy_abs_error",
        "energy_evaluations",
    },
    "montecarlo": {"mc_nodes_above_threshold", "mc_max_abs_delta_p"},
    "screening": {"screening_time_s", "ranking_kendall_tau"},
    "dosqpe": {"trotter_error", "aliased"},
    "pipeline": {"exact_energy"},
    "scaling": {"num_qubits"},
}
RUNNER_METRICS = {"wall_time_s", "peak_rss_bytes", "job_wall_time_s"}
#: Tasks whose result is metrics only (no tables or figures).
TASKS_WITHOUT_FILES = {"scaling"}


def _base_cfg(task: str = "exact", nodes: int = 4, experiment: str = "unit", **extra) -> dict:
    """A resolved run config as the app would hand it over (composed once from conf/)."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    import qrspps.config

    with initialize_config_dir(str(qrspps.config.CONF_DIR), version_base="1.3"):
        cfg = compose(
            "config",
            overrides=[
                f"task={task}",
                f"network.nodes={nodes}",
                f"tracking.experiment={experiment}",
            ],
        )
    plain = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    plain.update(extra)
    return plain


@pytest.fixture(scope="module")
def base_cfg() -> dict:
    return _base_cfg()


def _cfg(base: dict, uri: str, experiment: str, *, task: str = "exact", **extra) -> dict:
    cfg = json.loads(json.dumps(base))
    cfg["task"]["name"] = task
    cfg["tracking"].update({"experiment": experiment, "uri": uri})
    cfg["isolation"] = "inprocess"
    cfg.update(extra)
    return cfg


# --------------------------------------------------------------------------- registry


def test_registry_lists_every_task() -> None:
    assert set(ALL_TASKS) == {
        "exact",
        "vqe",
        "montecarlo",
        "screening",
        "dosqpe",
        "pipeline",
        "scaling",
    }
    assert is_available("exact")
    assert callable(get_task("exact"))


def test_unknown_task_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"task.name: unknown task 'nope'; expected one of"):
        get_task("nope")


def test_missing_task_module_says_not_available(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(TASK_MODULES, "dosqpe", "qrspps.tasks.no_such_module_xyz")
    assert not is_available("dosqpe")
    with pytest.raises(
        TaskUnavailableError,
        match=r"task 'dosqpe' is not available yet "
        r"\(qrspps/tasks/no_such_module_xyz.py missing\)",
    ):
        get_task("dosqpe")


# --------------------------------------------------------------------------- the exact task


def test_exact_task_matches_dense_diagonalisation(base_cfg: dict) -> None:
    cfg = _cfg(base_cfg, "unused", "unused")
    cfg["network"]["nodes"] = 6
    cfg["scenario"] = {
        "name": "B",
        "description": "",
        "shocks": [{"labels": ["RM-A"], "strength": 1.5}, {"labels": ["Sup-A"], "strength": 0.4}],
    }
    result = get_task("exact")(cfg)

    # Reference: dense H from explicit Kronecker products of the model's coefficients.
    model = build_problem(cfg).model
    h = kron_hamiltonian(
        model.num_qubits,
        dict(enumerate(model.z)),
        [(int(i), int(j), float(c)) for (i, j), c in zip(model.zz_pairs, model.zz)],
        {k: float(v) for k, v in enumerate(model.x) if v},
    )
    levels = np.linalg.eigvalsh(h)
    atol = 1e-9  # both are exact methods; only floating-point round-off separates them
    assert result.metrics["exact_energy"] == pytest.approx(levels[0], abs=atol)
    distinct = levels[levels > levels[0] + 1e-9]
    assert result.metrics["exact_gap"] == pytest.approx(distinct[0] - levels[0], abs=atol)
    for beta in cfg["task"]["betas"]:
        ln_z = np.log(np.sum(np.exp(-beta * (levels - levels[0])))) - beta * levels[0]
        assert result.metrics[f"exact_ln_z__beta_{beta:g}"] == pytest.approx(ln_z, abs=1e-8)

    assert result.metrics["num_qubits"] == 6
    for policy in cfg["policies"]["screen"]:
        assert f"exact_energy__{policy}" in result.metrics
    assert len(result.tables["stress"]) == 6
    assert {"ground_stress", "label", "tier"} <= set(result.tables["stress"][0])
    assert "ground_stress" in result.figures
    assert result.tags["value_kind"] == "exact"


# --------------------------------------------------------------------------- run_job in-process


def _stand_in_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replace the registry lookup with stand-in tasks named after what they do."""

    def ok(cfg: dict) -> TaskResult:
        from matplotlib.figure import Figure

        fig = Figure()
        fig.add_subplot().plot([0, 1], [1, 0])
        return TaskResult(
            metrics={"exact_energy": -1.5, "num_qubits": 4},
            series={"energy_trace": [3.0, 2.0, 1.0]},
            tags={"method": "stand-in"},
            tables={"stress": [{"node": 0, "p": np.float64(0.25)}, {"node": 1, "p": 0.5}]},
            figures={"plot": fig},
            texts={"summary.md": "# ok\n"},
        )

    def boom(cfg: dict) -> TaskResult:
        raise ValueError("network.nodes must be between 1 and 40, was 999")

    def memory(cfg: dict) -> TaskResult:
        raise MemoryError()

    def refuse(cfg: dict) -> TaskResult:
        raise ResourceLimitError("statevector of 60 qubits needs 16 EiB, limit 1 GiB")

    def sleep(cfg: dict) -> TaskResult:
        time.sleep(30)
        return TaskResult()

    def interrupt(cfg: dict) -> TaskResult:
        raise KeyboardInterrupt

    tasks = {f.__name__: f for f in (ok, boom, memory, refuse, sleep, interrupt)}
    monkeypatch.setattr("qrspps.tasks.get_task", lambda name: tasks[name])


def _ctx(tmp_path: Path, **kw) -> JobContext:
    return JobContext(output_dir=tmp_path / "job", **kw)


def test_finished_job_records_everything(tmp_path, base_cfg, tracking_uri, monkeypatch) -> None:
    _stand_in_tasks(monkeypatch)
    outcome = run_job(_cfg(base_cfg, tracking_uri, "h-ok", task="ok"), _ctx(tmp_path))
    assert outcome.status == "FINISHED"

    client = MlflowClient(tracking_uri)
    run = client.get_run(outcome.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.metrics["exact_energy"] == -1.5
    assert set(run.data.metrics) >= RUNNER_METRICS
    assert run.data.metrics["peak_rss_bytes"] > 10e6
    history = client.get_metric_history(outcome.run_id, "energy_trace")
    assert [(m.step, m.value) for m in history] == [(0, 3.0), (1, 2.0), (2, 1.0)]
    assert run.data.params["network.nodes"] == "4"
    assert run.data.params["network.table_edges"] == "57"
    assert "network.edges" not in run.data.params
    tags = run.data.tags
    assert tags["status"] == "finished"
    assert tags["method"] == "stand-in"
    assert tags["config_hash"] == outcome.config_hash
    for key in (
        "version.qiskit",
        "version.numpy",
        "version.mlflow",
        "version.openfermion",
        "git_commit",
        "host",
        "threads.aer_max_parallel",
    ):
        assert key in tags
    assert {
        "config.yaml",
        "tables/stress.csv",
        "tables/stress.json",
        "figures/plot.png",
        "summary.md",
    } <= artifact_paths(tracking_uri, outcome.run_id)


@pytest.mark.parametrize(
    ("task", "reason", "status_tag"),
    [
        ("boom", "ValueError: network.nodes must be between 1 and 40, was 999", "failed"),
        ("memory", "MemoryError: out of memory", "failed"),
        ("refuse", "ResourceLimitError: statevector of 60 qubits needs 16 EiB", "refused"),
    ],
)
def test_failed_job_is_recorded_not_raised(
    tmp_path, base_cfg, tracking_uri, monkeypatch, task, reason, status_tag
) -> None:
    _stand_in_tasks(monkeypatch)
    outcome = run_job(_cfg(base_cfg, tracking_uri, f"h-{task}", task=task), _ctx(tmp_path))
    assert outcome.status == "FAILED"
    assert outcome.failure_reason.startswith(reason)
    run = MlflowClient(tracking_uri).get_run(outcome.run_id)
    assert run.info.status == "FAILED"
    assert run.data.tags["failure_reason"].startswith(reason)
    assert run.data.tags["status"] == status_tag
    assert "failure.txt" in artifact_paths(tracking_uri, outcome.run_id)
    assert runner.exit_status() == 1


def test_inprocess_timeout(tmp_path, base_cfg, tracking_uri, monkeypatch) -> None:
    _stand_in_tasks(monkeypatch)
    start = time.monotonic()
    outcome = run_job(
        _cfg(base_cfg, tracking_uri, "h-timeout", task="sleep", timeout_s=0.5), _ctx(tmp_path)
    )
    assert time.monotonic() - start < 20
    assert outcome.status == "FAILED"
    assert outcome.failure_reason == "TimeoutError: job exceeded timeout_s=0.5 s"


def test_interrupt_ends_the_run_killed(tmp_path, base_cfg, tracking_uri, monkeypatch) -> None:
    _stand_in_tasks(monkeypatch)
    cfg = _cfg(base_cfg, tracking_uri, "h-interrupt", task="interrupt")
    with pytest.raises(KeyboardInterrupt):
        run_job(cfg, _ctx(tmp_path))
    (run,) = experiment_runs(tracking_uri, "h-interrupt")
    assert run.info.status == "KILLED"


def test_resume_skips_finished_config(tmp_path, base_cfg, tracking_uri, monkeypatch) -> None:
    _stand_in_tasks(monkeypatch)
    cfg = _cfg(base_cfg, tracking_uri, "h-resume", task="ok")
    first = run_job(cfg, _ctx(tmp_path))
    # Changing only where/how the job runs keeps its identity.
    cfg2 = json.loads(json.dumps(cfg)) | {"timeout_s": 99.0}
    second = run_job(cfg2, _ctx(tmp_path))
    assert (first.status, second.status) == ("FINISHED", "SKIPPED")
    assert second.run_id == first.run_id
    cfg3 = json.loads(json.dumps(cfg))
    cfg3["tracking"]["resume"] = False
    assert run_job(cfg3, _ctx(tmp_path)).status == "FINISHED"
    assert len(experiment_runs(tracking_uri, "h-resume")) == 2


def test_threads_per_job_divides_the_cores(base_cfg) -> None:
    from qrspps.tracking.metadata import usable_cores

    cores = usable_cores()
    ctx = JobContext(output_dir=Path("."), parallel_jobs=2)
    assert runner.threads_per_job(base_cfg, ctx) == max(1, cores // 2)
    explicit = json.loads(json.dumps(base_cfg))
    explicit["simulator"]["max_parallel_threads"] = 3
    assert runner.threads_per_job(explicit, ctx) == 3


# --------------------------------------------------------------------------- subprocess isolation


def test_subprocess_isolation_measures_its_own_peak(tmp_path, base_cfg) -> None:
    execution = runner._run_subprocess(_cfg(base_cfg, "unused", "unused"), tmp_path, 1, None)
    assert execution.ok, execution.failure_text
    assert execution.metrics["num_qubits"] == 4
    # A fresh interpreter with numpy/scipy/matplotlib: tens to hundreds of MB, never the test
    # process's own (larger) footprint.
    assert 20e6 < execution.resources["peak_rss_bytes"] < 2e9
    assert execution.resources["peak_rss_delta_bytes"] >= 0
    assert (tmp_path / "artifacts" / "tables" / "stress.csv").is_file()


def test_subprocess_timeout_kills_the_job(tmp_path, base_cfg) -> None:
    start = time.monotonic()
    execution = runner._run_subprocess(_cfg(base_cfg, "unused", "unused"), tmp_path, 1, 0.05)
    assert time.monotonic() - start < 15
    assert not execution.ok
    assert execution.failure_reason == "TimeoutError: job exceeded timeout_s=0.05 s"


def test_signal_deaths_are_explained() -> None:
    assert runner._signal_reason(-9) == (
        "job process killed by SIGKILL (often the kernel's out-of-memory killer)"
    )
    assert runner._signal_reason(-11) == "job process killed by SIGSEGV"


# --------------------------------------------------------------------------- sweeps through the app


def _children(uri: str, experiment: str) -> tuple[list, list]:
    runs = experiment_runs(uri, experiment)
    parents = [r for r in runs if r.data.tags.get("role") == "sweep"]
    children = [r for r in runs if r.data.tags.get("role") != "sweep"]
    return parents, children


@pytest.fixture(scope="module")
def all_tasks_sweep(tmp_path_factory, tracking_uri) -> tuple[int, str, set[str]]:
    """One joblib sweep of every registered task in smoke mode (subprocess isolation).

    Returns the exit status, the output, and the tasks whose module existed when it started.
    """
    available = {t for t in ALL_TASKS if is_available(t)}
    tmp = tmp_path_factory.mktemp("all-tasks")
    env = dict(
        os.environ, MLFLOW_TRACKING_URI=tracking_uri, PYTHONWARNINGS=CALLBACK_WARNINGS_AS_ERRORS
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-W",
            CALLBACK_WARNINGS_AS_ERRORS,
            str(APP),
            "-m",
            f"task={','.join(ALL_TASKS)}",
            "network.nodes=4",
            "hydra/launcher=parallel",
            "profile=smoke",
            "timeout_s=300",
            "tracking.experiment=h-all-tasks",
            f"hydra.sweep.dir={tmp / 'multirun'}",
        ],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    return proc.returncode, proc.stdout + proc.stderr, available


@pytest.mark.parametrize("task", ALL_TASKS)
def test_every_task_runs_through_the_app(all_tasks_sweep, tracking_uri, task) -> None:
    returncode, output, available = all_tasks_sweep
    parents, children = _children(tracking_uri, "h-all-tasks")
    assert len(parents) == 1, output
    assert len(children) == len(ALL_TASKS), output
    (run,) = [r for r in children if r.data.tags.get("task") == task]
    assert run.data.tags["mlflow.parentRunId"] == parents[0].info.run_id
    assert run.data.params["task.name"] == task
    assert run.data.params["network.nodes"] == "4"
    assert run.data.params["profile"] == "smoke"
    paths = artifact_paths(tracking_uri, run.info.run_id)
    assert {"config.yaml", "logs/run.log"} <= paths

    if task not in available:
        # Flips to the checks below as soon as qrspps/tasks/<task>.py exists.
        assert run.info.status == "FAILED"
        assert run.data.tags["failure_reason"] == (
            f"TaskUnavailableError: task '{task}' is not available yet "
            f"(qrspps/tasks/{task}.py missing)"
        )
        assert "failure.txt" in paths
        assert returncode == 1
        return
    assert run.info.status == "FINISHED", run.data.tags.get("failure_reason")
    assert EXPECTED_METRICS[task] | RUNNER_METRICS <= set(run.data.metrics)
    if task not in TASKS_WITHOUT_FILES:
        assert any(p.startswith(("tables/", "figures/")) for p in paths), paths


def test_sweep_exit_status_and_summary(all_tasks_sweep) -> None:
    returncode, output, available = all_tasks_sweep
    assert returncode == (0 if available == set(ALL_TASKS) else 1), output[-3000:]
    assert "job  status" in output
    assert "sweep done:" in output


@pytest.fixture(scope="module")
def joblib_sweeps(tmp_path_factory, tracking_uri) -> list[tuple[int, str]]:
    """The same 8-job sweep twice with 2 joblib workers: 6 good jobs and 2 impossible ones."""
    results = []
    for attempt in range(2):
        tmp = tmp_path_factory.mktemp(f"joblib-{attempt}")
        env = dict(
            os.environ, MLFLOW_TRACKING_URI=tracking_uri, PYTHONWARNINGS=CALLBACK_WARNINGS_AS_ERRORS
        )
        proc = subprocess.run(
            [
                sys.executable,
                "-W",
                CALLBACK_WARNINGS_AS_ERRORS,
                str(APP),
                "-m",
                "task=exact",
                "network.nodes=4,5,6,999",
                "scenario=A,B",
                "hydra/launcher=parallel",
                "isolation=inprocess",
                "tracking.experiment=h-joblib",
                f"hydra.sweep.dir={tmp / 'multirun'}",
            ],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        results.append((proc.returncode, proc.stdout + proc.stderr))
    return results


def test_joblib_sweep_records_every_job_under_one_parent(joblib_sweeps, tracking_uri) -> None:
    (returncode, output), _ = joblib_sweeps
    assert returncode == 1, output  # two jobs are impossible
    parents, children = _children(tracking_uri, "h-joblib")
    first_parent = min(parents, key=lambda r: r.info.start_time)
    mine = [
        r for r in children if r.data.tags.get("mlflow.parentRunId") == first_parent.info.run_id
    ]
    assert len(mine) == 8, output
    assert not [r for r in children if r.info.status == "RUNNING"]
    finished = [r for r in mine if r.info.status == "FINISHED"]
    failed = [r for r in mine if r.info.status == "FAILED"]
    assert len(finished) == 6
    assert {r.data.params["network.nodes"] for r in failed} == {"999"}
    for run in failed:
        assert run.data.tags["failure_reason"] == (
            "NetworkValidationError: network 'retail40': nodes must be between 1 and 40, was 999"
        )
    assert first_parent.info.status == "FAILED"
    assert first_parent.data.metrics["jobs_finished"] == 6
    assert first_parent.data.metrics["jobs_failed"] == 2
    # Two workers shared the cores: each job got cores // 2 threads.
    assert {r.data.tags["threads.parallel_jobs"] for r in mine} == {"2"}
    assert "sweep done: 6 finished, 2 failed, 0 killed, 0 skipped" in output


def test_rerun_skips_finished_jobs(joblib_sweeps, tracking_uri) -> None:
    _, (returncode, output) = joblib_sweeps
    assert returncode == 1, output  # the impossible jobs are retried and fail again
    assert "skipped 6 job(s) already FINISHED" in output
    assert "sweep done: 0 finished, 2 failed, 0 killed, 6 skipped" in output
    parents, children = _children(tracking_uri, "h-joblib")
    assert len(parents) == 2
    assert len([r for r in children if r.info.status == "FINISHED"]) == 6


def test_basic_launcher_goes_past_a_failure_and_interrupt_kills(tmp_path, tracking_uri) -> None:
    """Basic launcher: job 0 fails, job 1 still starts; Ctrl-C then ends every open run KILLED."""
    env = dict(
        os.environ, MLFLOW_TRACKING_URI=tracking_uri, PYTHONWARNINGS=CALLBACK_WARNINGS_AS_ERRORS
    )
    log_path = tmp_path / "app.log"
    command = [
        sys.executable, "-W", CALLBACK_WARNINGS_AS_ERRORS, str(APP), "-m",
        "task=exact", "network.nodes=999,4,5", "tracking.experiment=h-interrupt-app",
        f"hydra.sweep.dir={tmp_path / 'multirun'}",
    ]  # fmt: skip
    # Output goes to a file: an unread pipe would fill up and block the app.
    with open(log_path, "w") as log:
        proc = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        try:
            # Wait for job 0's FAILED run and job 1's RUNNING one (its task process takes
            # seconds to start, so there is time to interrupt it).
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:
                _, children = _children(tracking_uri, "h-interrupt-app")
                statuses = sorted(r.info.status for r in children)
                if statuses == ["FAILED", "RUNNING"]:
                    break
                if proc.poll() is not None:
                    pytest.fail(f"the sweep ended early:\n{log_path.read_text()[-5000:]}")
                time.sleep(0.2)
            else:
                pytest.fail(f"job 1 never ran after job 0 failed:\n{log_path.read_text()[-5000:]}")
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=300)
            except subprocess.TimeoutExpired:
                pytest.fail(f"the app did not stop after SIGINT:\n{log_path.read_text()[-5000:]}")
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    output = log_path.read_text()
    assert proc.returncode == 130, output[-5000:]
    parents, children = _children(tracking_uri, "h-interrupt-app")
    assert [p.info.status for p in parents] == ["KILLED"]
    by_nodes = {r.data.params["network.nodes"]: r for r in children}
    assert set(by_nodes) == {"999", "4"}  # job 2 never started
    assert by_nodes["999"].info.status == "FAILED"
    assert "nodes must be between 1 and 40, was 999" in by_nodes["999"].data.tags["failure_reason"]
    assert by_nodes["4"].info.status == "KILLED"
