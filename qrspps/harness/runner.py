"""Job execution: resume check, isolation, resource measurement, failure capture, tracking.

One call of :func:`run_job` is one Hydra job. It never raises for a failure of the job itself (bad
input, refused allocation, out of memory, timeout, simulator error, missing task module): the run
is logged FAILED with a ``failure_reason`` tag and a ``failure.txt`` traceback and the sweep goes
on; :func:`exit_status` tells the entry point to exit non-zero at the end. Ctrl-C or SIGTERM
ends the run KILLED and propagates.

Isolation and measurement (``isolation`` config key)
    ``subprocess`` (default): the task runs in a fresh Python process
    (``python -m qrspps.harness.runner --child``). Its ``ru_maxrss`` is then exactly this job's
    peak resident memory, whatever the launcher: a reused joblib worker would otherwise report the
    largest job it ever ran, and ``OMP_NUM_THREADS`` would stick to the first job. A timeout kills
    the process (native Aer code cannot be interrupted in-process), and a crash or the kernel's
    out-of-memory killer ends only that job. Cost: one interpreter start and the task's imports
    per job (about a second). A parent-side psutil sampler covers jobs killed before reporting.
    ``peak_rss_bytes`` includes the interpreter and imports (~100-200 MB);
    ``peak_rss_delta_bytes`` is the growth during the task itself.

    ``inprocess``: the task runs in the job's own process (for debuggers and profilers). Memory is
    sampled with psutil every 50 ms: ``peak_rss_bytes`` is then the process's peak during the job,
    which in a reused worker includes memory kept from earlier jobs; use
    ``peak_rss_delta_bytes``. ``timeout_s`` is enforced with SIGALRM in the main thread only and
    cannot interrupt native code.

Job bookkeeping files (multirun): ``<sweep dir>/.qrspps/parent.json`` (written by the Hydra callback
before any job starts: tracking URI, experiment and parent run id) and
``<sweep dir>/.qrspps/jobs/<num>.json`` (each job's status and key metrics, for the summary).
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import math
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil
import yaml

from qrspps.errors import ResourceLimitError
from qrspps.harness.result import TaskResult
from qrspps.tracking.metadata import (
    config_hash,
    environment_tags,
    flatten_params,
    project_root,
    usable_cores,
)

# Named explicitly: this module also runs as __main__ in job subprocesses.
log = logging.getLogger("qrspps.harness.runner")

#: Environment variable naming the parent run of a job (overrides the sweep-dir file).
PARENT_RUN_ENV = "QRSPPS_PARENT_RUN_ID"
#: Bookkeeping folder inside a sweep directory.
STATE_DIR = ".qrspps"
#: Seconds between two memory samples of a running job.
SAMPLE_INTERVAL_S = 0.05
#: Thread-count variables set for each job's process (BLAS and OpenMP pools).
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
#: Marker of a log record relayed from a job subprocess.
_RELAY = "\x1eqrspps-log\x1e"
#: Exit code of a job subprocess whose task raised (reported in its outcome file).
_TASK_FAILED_EXIT = 3
#: Metrics the runner adds to every run.
RUNNER_METRICS = ("job_wall_time_s", "peak_rss_bytes", "peak_rss_delta_bytes")

FINISHED, FAILED, KILLED, SKIPPED = "FINISHED", "FAILED", "KILLED", "SKIPPED"

_failed_jobs = 0


def note_failures(count: int) -> None:
    """Record ``count`` failed jobs for :func:`exit_status` (called by jobs and the callback)."""
    global _failed_jobs
    _failed_jobs += count


def exit_status() -> int:
    """1 when any job of this process (or of the sweep it launched) failed, else 0."""
    return 1 if _failed_jobs else 0


# --------------------------------------------------------------------------- context and outcome


@dataclass(frozen=True)
class JobContext:
    """Where and how a job runs, extracted from Hydra by the entry point (plain data).

    Attributes:
        output_dir: the job's output directory (its log file and result files go there).
        job_name: Hydra job name; the job's log file is ``<output_dir>/<job_name>.log``.
        job_num: index of the job in its sweep; ``None`` for a single run.
        override_dirname: the job's overrides as one string (run names, summary table).
        sweep_dir: the sweep directory of a multirun, else ``None``.
        parallel_jobs: how many jobs run at once on this machine (joblib ``n_jobs``), for the
            per-job thread count.
        launcher: short launcher name (``basic``, ``joblib``, ``submitit_local`` ...).
        choices: config group choices (``{"network": "exec30", ...}``), logged as tags.
    """

    output_dir: Path
    job_name: str = "run"
    job_num: int | None = None
    override_dirname: str = ""
    sweep_dir: Path | None = None
    parallel_jobs: int = 1
    launcher: str = "basic"
    choices: Mapping[str, str] = field(default_factory=dict)

    @property
    def log_file(self) -> Path:
        return self.output_dir / f"{self.job_name}.log"


@dataclass
class JobOutcome:
    """What happened to one job (also the content of its status file)."""

    status: str
    config_hash: str
    task: str
    job_num: int | None = None
    overrides: str = ""
    run_id: str | None = None
    failure_reason: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass
class _Execution:
    """Result of executing a task body (either isolation mode)."""

    ok: bool
    result_dir: Path
    metrics: dict[str, Any] = field(default_factory=dict)
    series: dict[str, list[float]] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    failure_reason: str | None = None
    failure_type: str | None = None
    failure_text: str | None = None
    refused: bool = False
    resources: dict[str, float] = field(default_factory=dict)


# --------------------------------------------------------------------------- sweep files


@dataclass(frozen=True)
class ParentInfo:
    """The multirun's parent run, as the callback wrote it for the jobs."""

    tracking_uri: str
    experiment: str
    experiment_id: str
    parent_run_id: str


def _write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (readers never see half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, default=_json_default))
    tmp.replace(path)


def write_parent_info(sweep_dir: Path, info: ParentInfo) -> Path:
    """Record the parent run for the jobs of ``sweep_dir``."""
    path = Path(sweep_dir) / STATE_DIR / "parent.json"
    _write_json(path, asdict(info))
    return path


def read_parent_info(sweep_dir: Path | None) -> ParentInfo | None:
    """Parent run of the sweep, or ``None`` for a single run (or a sweep without tracking)."""
    if sweep_dir is None:
        return None
    path = Path(sweep_dir) / STATE_DIR / "parent.json"
    if not path.is_file():
        return None
    return ParentInfo(**json.loads(path.read_text()))


def read_job_outcomes(sweep_dir: Path) -> list[JobOutcome]:
    """Status files of every job of ``sweep_dir`` that reported, by job number."""
    folder = Path(sweep_dir) / STATE_DIR / "jobs"
    outcomes = [JobOutcome(**json.loads(p.read_text())) for p in folder.glob("*.json")]
    return sorted(outcomes, key=lambda o: (o.job_num is None, o.job_num or 0))


def _write_outcome(ctx: JobContext, outcome: JobOutcome) -> None:
    if ctx.sweep_dir is not None:
        name = f"{ctx.job_num if ctx.job_num is not None else os.getpid()}.json"
        _write_json(Path(ctx.sweep_dir) / STATE_DIR / "jobs" / name, asdict(outcome))


# --------------------------------------------------------------------------- result files


def _json_default(value: Any) -> Any:
    """JSON encoding of numpy scalars and arrays, complex numbers and paths."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, complex):
        return {"real": value.real, "imag": value.imag}
    return str(value)


def _write_table(rows: list[Mapping[str, Any]], stem: Path) -> None:
    """One table as ``<stem>.csv`` and ``<stem>.json``."""
    import csv

    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    stem.parent.mkdir(parents=True, exist_ok=True)
    with open(stem.with_suffix(".csv"), "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {k: _json_default(v) if hasattr(v, "tolist") else v for k, v in row.items()}
            )
    stem.with_suffix(".json").write_text(json.dumps(rows, indent=1, default=_json_default))


def write_result(result: TaskResult, result_dir: Path) -> dict[str, Any]:
    """Write a task's tables, figures and texts under ``result_dir/artifacts``.

    Returns:
        The scalar part (metrics, series, tags) as plain JSON-ready data.
    """
    artifacts = result_dir / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    for name, rows in result.tables.items():
        _write_table(list(rows), artifacts / "tables" / name)
    for name, figure in result.figures.items():
        path = artifacts / "figures" / (name if name.endswith(".png") else f"{name}.png")
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=120)
        # Tasks may have used pyplot; its figure registry would keep every figure alive.
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close(figure)
    for name, text in result.texts.items():
        path = artifacts / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return {
        "metrics": {k: _plain_number(v) for k, v in result.metrics.items()},
        "series": {k: [_plain_number(v) for v in vs] for k, vs in result.series.items()},
        "tags": {k: str(v) for k, v in result.tags.items()},
    }


def _plain_number(value: Any) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def _describe(exc: BaseException) -> str:
    """One-line failure reason: exception type and first line of its message."""
    text = str(exc).strip().splitlines()
    message = text[0] if text else ""
    if isinstance(exc, MemoryError) and not message:
        message = "out of memory"
    reason = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return reason[:1000]


def execute_task(cfg: Mapping[str, Any], result_dir: Path) -> dict[str, Any]:
    """Run the configured task and write its result; failures are returned, not raised.

    Returns:
        ``{"ok", "metrics", "series", "tags", "wall_time_s", "failure_*"}`` as plain data.
    """
    from qrspps.tasks import get_task

    start = time.perf_counter()
    name = str(cfg["task"]["name"])
    try:
        task = get_task(name)
        baseline = _rss_now()
        start = time.perf_counter()
        result = task(cfg)
        if not isinstance(result, TaskResult):
            raise TypeError(f"task {name!r} returned {type(result).__name__}, not TaskResult")
        scalars = write_result(result, result_dir)
        return {
            "ok": True,
            "wall_time_s": time.perf_counter() - start,
            "baseline_rss_bytes": baseline,
            **scalars,
        }
    except (Exception, MemoryError) as exc:
        # MemoryError is an Exception, but is named so that nobody "fixes" this into a narrower
        # clause: a refused or failed allocation is a data point, not a crash of the sweep.
        log.error("task %s failed: %s", name, _describe(exc))
        return {
            "ok": False,
            "wall_time_s": time.perf_counter() - start,
            "failure_reason": _describe(exc),
            "failure_type": type(exc).__name__,
            "failure_text": traceback.format_exc(),
            "refused": isinstance(exc, ResourceLimitError),
        }


# --------------------------------------------------------------------------- memory


def _rss_now() -> int:
    return psutil.Process().memory_info().rss


def _maxrss_bytes(who: int = resource.RUSAGE_SELF) -> int:
    """Peak resident set size of this process (``ru_maxrss`` is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(who).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


class _MemorySampler(threading.Thread):
    """Samples the RSS of a process and its descendants until stopped; keeps the peak."""

    def __init__(self, pid: int) -> None:
        super().__init__(name=f"rss-sampler-{pid}", daemon=True)
        self._pid = pid
        self._stop_event = threading.Event()
        self.peak = 0

    def run(self) -> None:
        try:
            root = psutil.Process(self._pid)
        except psutil.Error:
            return
        while not self._stop_event.is_set():
            total = 0
            with contextlib.suppress(psutil.Error):
                total = root.memory_info().rss
                for child in root.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        total += child.memory_info().rss
            self.peak = max(self.peak, total)
            self._stop_event.wait(SAMPLE_INTERVAL_S)

    def stop(self) -> int:
        self._stop_event.set()
        self.join(timeout=2.0)
        return self.peak


# --------------------------------------------------------------------------- isolation modes


class JobInterrupted(KeyboardInterrupt):
    """SIGTERM turned into an interrupt, so that the job's run ends KILLED, not RUNNING."""


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`JobInterrupted` (main thread only)."""

    def handler(signum: int, frame: Any) -> None:
        raise JobInterrupted(f"received signal {signal.Signals(signum).name}")

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: signals cannot be handled here
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _child_env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    for var in THREAD_ENV_VARS:
        env[var] = str(threads)
    # The job process must import this checkout's qrspps even when it is not installed.
    root = str(project_root())
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    env.pop("MLFLOW_RUN_ID", None)  # a stale active run must never be picked up by a job
    return env


def _relay(stream: Any, tail: deque[str]) -> None:
    """Re-emit the subprocess's log records through this process's loggers (console, job log)."""
    for raw in stream:
        line = raw.rstrip("\n")
        if line.startswith(_RELAY):
            try:
                level, name, message = json.loads(line[len(_RELAY) :])
            except ValueError:
                level, name, message = logging.WARNING, "qrspps.job", line
            logging.getLogger(name).log(level, "%s", message)
            if level >= logging.WARNING:
                tail.append(message)
        elif line:
            # Output that bypassed logging (library prints, native warnings, tracebacks).
            logging.getLogger("qrspps.job.output").info("%s", line)
            tail.append(line)


def _kill_tree(proc: subprocess.Popen) -> None:
    with contextlib.suppress(psutil.Error):
        for child in psutil.Process(proc.pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                child.kill()
    with contextlib.suppress(OSError):
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def _signal_reason(returncode: int) -> str:
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        name = f"signal {-returncode}"
    hint = " (often the kernel's out-of-memory killer)" if name == "SIGKILL" else ""
    return f"job process killed by {name}{hint}"


def _run_subprocess(
    cfg: Mapping[str, Any], result_dir: Path, threads: int, timeout_s: float | None
) -> _Execution:
    """Run the task in a fresh interpreter; see the module docstring."""
    result_dir.mkdir(parents=True, exist_ok=True)
    spec = result_dir / "job_spec.json"
    _write_json(
        spec,
        {
            "cfg": cfg,
            "result_dir": str(result_dir),
            "log_levels": {
                "": logging.getLogger().getEffectiveLevel(),
                "qrspps": logging.getLogger("qrspps").getEffectiveLevel(),
            },
        },
    )
    outcome_file = result_dir / "outcome.json"
    outcome_file.unlink(missing_ok=True)

    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "qrspps.harness.runner", "--child", str(spec)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env=_child_env(threads),
        cwd=os.getcwd(),
    )
    sampler = _MemorySampler(proc.pid)
    sampler.start()
    tail: deque[str] = deque(maxlen=200)
    reader = threading.Thread(target=_relay, args=(proc.stdout, tail), daemon=True)
    reader.start()
    timed_out = False
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_tree(proc)
    except BaseException:
        _kill_tree(proc)
        raise
    finally:
        sampled_peak = sampler.stop()
        reader.join(timeout=5.0)
    elapsed = time.perf_counter() - start

    report = json.loads(outcome_file.read_text()) if outcome_file.is_file() else None
    resources = {
        "job_wall_time_s": elapsed,
        "peak_rss_bytes": float(max(sampled_peak, (report or {}).get("peak_rss_bytes", 0))),
    }
    if report and report.get("baseline_rss_bytes"):
        resources["peak_rss_delta_bytes"] = max(
            0.0, resources["peak_rss_bytes"] - report["baseline_rss_bytes"]
        )
    execution = _Execution(ok=False, result_dir=result_dir, resources=resources)
    if timed_out:
        execution.failure_reason = f"TimeoutError: job exceeded timeout_s={timeout_s:g} s"
        execution.failure_type = "TimeoutError"
        execution.failure_text = execution.failure_reason + "\n\nlast output:\n" + "\n".join(tail)
    elif report is None:
        if proc.returncode < 0:
            reason = _signal_reason(proc.returncode)
        else:
            reason = f"job process exited with code {proc.returncode} before reporting"
        execution.failure_reason, execution.failure_type = reason, "JobProcessDied"
        execution.failure_text = reason + "\n\nlast output:\n" + "\n".join(tail)
    else:
        _fill(execution, report)
    return execution


def _fill(execution: _Execution, report: Mapping[str, Any]) -> None:
    execution.ok = bool(report["ok"])
    execution.metrics = dict(report.get("metrics", {}))
    execution.series = dict(report.get("series", {}))
    execution.tags = dict(report.get("tags", {}))
    execution.failure_reason = report.get("failure_reason")
    execution.failure_type = report.get("failure_type")
    execution.failure_text = report.get("failure_text")
    execution.refused = bool(report.get("refused", False))
    execution.resources.setdefault("task_wall_time_s", report.get("wall_time_s", math.nan))


@contextlib.contextmanager
def _alarm(timeout_s: float | None) -> Iterator[None]:
    """In-process timeout via SIGALRM (main thread only; cannot interrupt native code)."""
    if not timeout_s:
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise TimeoutError(f"job exceeded timeout_s={timeout_s:g} s")

    try:
        previous = signal.signal(signal.SIGALRM, handler)
    except (ValueError, AttributeError):
        log.warning(
            "timeout_s=%g is not enforced: isolation=inprocess outside the main thread "
            "(use isolation=subprocess)",
            timeout_s,
        )
        yield
        return
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _run_inprocess(
    cfg: Mapping[str, Any], result_dir: Path, threads: int, timeout_s: float | None
) -> _Execution:
    """Run the task in this process; see the module docstring for what the numbers mean."""
    baseline = _rss_now()
    sampler = _MemorySampler(os.getpid())
    sampler.start()
    start = time.perf_counter()
    try:
        with _alarm(timeout_s):
            report = execute_task(cfg, result_dir)
    finally:
        peak = max(sampler.stop(), _rss_now())
    resources = {
        "job_wall_time_s": time.perf_counter() - start,
        "peak_rss_bytes": float(peak),
        "peak_rss_delta_bytes": float(max(0, peak - baseline)),
    }
    execution = _Execution(ok=False, result_dir=result_dir, resources=resources)
    _fill(execution, report)
    return execution


# --------------------------------------------------------------------------- the job


def threads_per_job(cfg: Mapping[str, Any], ctx: JobContext) -> int:
    """Aer/BLAS threads of a job: ``simulator.max_parallel_threads``, or cores // parallel jobs."""
    configured = int((cfg.get("simulator") or {}).get("max_parallel_threads") or 0)
    if configured > 0:
        return configured
    return max(1, usable_cores() // max(1, ctx.parallel_jobs))


def _run_name(cfg: Mapping[str, Any], ctx: JobContext) -> str:
    configured = (cfg.get("tracking") or {}).get("run_name")
    if configured:
        return str(configured)
    task = str(cfg["task"]["name"])
    return f"{task}:{ctx.override_dirname}" if ctx.override_dirname else task


def _quiet_libraries() -> None:
    # Schema migrations and store plumbing log at INFO on every fresh connection.
    for name in ("alembic", "mlflow.store.db.utils", "mlflow.tracking._tracking_service.client"):
        logging.getLogger(name).setLevel(logging.WARNING)


def run_job(cfg: Mapping[str, Any], ctx: JobContext) -> JobOutcome:
    """Run one job and record it in MLflow; see the module docstring.

    Args:
        cfg: the resolved config as plain containers (enums as strings).
        ctx: where the job runs.

    Returns:
        The job's outcome (status FINISHED, FAILED or SKIPPED).

    Raises:
        KeyboardInterrupt: on Ctrl-C or SIGTERM, after the run was ended KILLED.
    """
    from qrspps.tracking.recorder import RunRecorder, find_finished
    from qrspps.tracking.store import Store, short_retries

    _quiet_libraries()
    chash = config_hash(cfg)
    task = str(cfg["task"]["name"])
    tracking = cfg.get("tracking") or {}
    outcome = JobOutcome(
        status=FAILED,
        config_hash=chash,
        task=task,
        job_num=ctx.job_num,
        overrides=ctx.override_dirname,
    )

    parent = read_parent_info(ctx.sweep_dir)
    if parent is not None and parent.experiment == tracking.get("experiment"):
        store = Store.shared(parent.tracking_uri)
        experiment_id, parent_run_id = parent.experiment_id, parent.parent_run_id
    else:
        store = Store.shared(tracking.get("uri"))
        experiment_id = store.experiment_id(str(tracking.get("experiment", "qrspps")))
        parent_run_id = os.environ.get(PARENT_RUN_ENV)

    if tracking.get("resume", True):
        done = find_finished(store, experiment_id, chash)
        if done is not None:
            log.info(
                "skipping job %s: config hash %s already FINISHED in run %s (tracking.resume"
                "=false to run it again)",
                ctx.override_dirname or task,
                chash,
                done,
            )
            outcome.status, outcome.run_id = SKIPPED, done
            _write_outcome(ctx, outcome)
            return outcome

    threads = threads_per_job(cfg, ctx)
    job_cfg = copy.deepcopy(dict(cfg))
    job_cfg.setdefault("simulator", {})["max_parallel_threads"] = threads
    isolation = str(cfg.get("isolation", "subprocess"))
    timeout_s = cfg.get("timeout_s")

    tags = environment_tags()
    tags.update(
        {
            "task": task,
            "status": "running",
            "config_hash": chash,
            "launcher": ctx.launcher,
            "isolation": isolation,
            "threads.aer_max_parallel": str(threads),
            "threads.parallel_jobs": str(ctx.parallel_jobs),
            "threads.omp_num_threads": str(
                threads if isolation == "subprocess" else os.environ.get("OMP_NUM_THREADS", "unset")
            ),
            "job.override_dirname": ctx.override_dirname,
            "job.output_dir": str(ctx.output_dir),
        }
    )
    if ctx.job_num is not None:
        tags["job.num"] = str(ctx.job_num)
    tags.update({f"choice.{k}": str(v) for k, v in ctx.choices.items()})
    recorder = RunRecorder.start(
        store, experiment_id, run_name=_run_name(cfg, ctx), tags=tags, parent_run_id=parent_run_id
    )
    outcome.run_id = recorder.run_id
    try:
        with _terminate_as_interrupt():
            execution = _execute_and_record(recorder, job_cfg, ctx, threads, timeout_s)
    except KeyboardInterrupt as exc:
        log.warning("job interrupted (%s); run %s ends KILLED", exc or "Ctrl-C", recorder.run_id)
        with contextlib.suppress(Exception), short_retries():
            recorder.set_tags({"failure_reason": f"interrupted: {exc or 'KeyboardInterrupt'}"})
            recorder.log_artifact(ctx.log_file, "logs")
            recorder.end(KILLED)
        outcome.status = KILLED
        _write_outcome(ctx, outcome)
        raise

    outcome.status = FINISHED if execution.ok else FAILED
    outcome.failure_reason = execution.failure_reason
    outcome.metrics = {
        k: float(v)
        for k, v in {**execution.metrics, **execution.resources}.items()
        if isinstance(v, int | float)
    }
    if not execution.ok:
        note_failures(1)
    _write_outcome(ctx, outcome)
    return outcome


def _write_config(cfg: Mapping[str, Any], path: Path) -> Path:
    """The resolved job config as YAML at ``path`` (libyaml's emitter when available: MLflow's
    ``log_dict`` goes through the pure-Python one, which cost more than the rest of a small
    job's tracking)."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.dump(dict(cfg), Dumper=dumper, sort_keys=False))
    return path


def _execute_and_record(
    recorder: Any,
    job_cfg: dict[str, Any],
    ctx: JobContext,
    threads: int,
    timeout_s: float | None,
) -> _Execution:
    """Log the config, run the task body in the configured isolation, log the results."""
    task = str(job_cfg["task"]["name"])
    isolation = str(job_cfg.get("isolation", "subprocess"))
    result_dir = ctx.output_dir / "result"
    try:
        recorder.log_params(flatten_params(job_cfg))
        recorder.log_artifact(_write_config(job_cfg, ctx.output_dir / "resolved" / "config.yaml"))
    except Exception as exc:
        log.exception("logging the config of run %s failed", recorder.run_id)
        execution = _Execution(
            ok=False,
            result_dir=result_dir,
            failure_reason=f"tracking error: {_describe(exc)}",
            failure_type="TrackingError",
            failure_text=traceback.format_exc(),
        )
        with contextlib.suppress(Exception):
            recorder.set_tags({"failure_reason": execution.failure_reason})
            recorder.end(FAILED)
        return execution

    log.info(
        "job %s: task %s, run %s, config hash %s, %d thread(s), isolation %s",
        ctx.job_num if ctx.job_num is not None else "-",
        task,
        recorder.run_id,
        config_hash(job_cfg),
        threads,
        isolation,
    )
    # A rerun into the same output directory must not log the artifacts of an earlier attempt.
    shutil.rmtree(result_dir / "artifacts", ignore_errors=True)
    execute = _run_subprocess if isolation == "subprocess" else _run_inprocess
    execution = execute(job_cfg, result_dir, threads, timeout_s)
    try:
        _record(recorder, execution, ctx, task)
    except Exception as exc:
        # The job ran but its results could not all be stored: say so on the run rather than
        # abort the sweep, and count it as failed.
        log.exception("recording the results of run %s failed", recorder.run_id)
        execution.ok, execution.failure_reason = False, f"tracking error: {_describe(exc)}"
        with contextlib.suppress(Exception):
            recorder.set_tags({"failure_reason": execution.failure_reason})
            recorder.end(FAILED)
    return execution


def _record(recorder: Any, execution: _Execution, ctx: JobContext, task: str) -> None:
    """Log a finished or failed execution and end the run."""
    from qrspps.tracking.recorder import status_tag

    metrics = dict(execution.metrics)
    resources = execution.resources
    metrics["job_wall_time_s"] = resources["job_wall_time_s"]
    # The task's own numbers win where it measured them; the runner's fill the gaps.
    metrics.setdefault(
        "wall_time_s", resources.get("task_wall_time_s", resources["job_wall_time_s"])
    )
    if "peak_rss_bytes" in metrics:
        metrics["job_peak_rss_bytes"] = resources["peak_rss_bytes"]
    else:
        metrics["peak_rss_bytes"] = resources["peak_rss_bytes"]
    if "peak_rss_delta_bytes" in resources:
        metrics.setdefault("peak_rss_delta_bytes", resources["peak_rss_delta_bytes"])
    tags = dict(execution.tags)
    tags.setdefault("method", task)
    if not execution.ok:
        tags["failure_reason"] = execution.failure_reason or "unknown"
        tags["failure_type"] = execution.failure_type or "unknown"
        recorder.log_text(execution.failure_text or execution.failure_reason or "", "failure.txt")
        log.error("job failed: %s", execution.failure_reason)
    # Metrics, tags and the final status tag in one request (each SQLite request is a write
    # transaction), before the artifacts, so that a failure to copy files cannot lose them (the
    # caller then overwrites the status). A pre-flight refusal is a measured limit, not a bug:
    # the report shows it as REFUSED.
    status = FINISHED if execution.ok else FAILED
    tags.update(status_tag(status, "refused" if execution.refused else None))
    recorder.log_batch(metrics=metrics, series=execution.series, tags=tags)
    recorder.log_artifacts(execution.result_dir / "artifacts")
    recorder.log_artifact(ctx.log_file, "logs")
    recorder.terminate(status)


# --------------------------------------------------------------------------- subprocess entry


class _RelayFormatter(logging.Formatter):
    """Encodes a record as one line the parent's :func:`_relay` understands."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + self.formatException(record.exc_info)
        return _RELAY + json.dumps([record.levelno, record.name, message])


def _child_main(spec_path: str) -> int:
    """Entry of a job subprocess: run the task, write ``outcome.json``, exit 0 or 3."""
    spec = json.loads(Path(spec_path).read_text())
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_RelayFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    for name, level in spec.get("log_levels", {}).items():
        logging.getLogger(name or None).setLevel(level)
    # Qiskit's transpiler logs every pass at INFO: keep the job log to the pipeline's own lines.
    for name in ("qiskit", "stevedore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.captureWarnings(True)

    result_dir = Path(spec["result_dir"])
    report = execute_task(spec["cfg"], result_dir)
    report["peak_rss_bytes"] = _maxrss_bytes() + _maxrss_bytes(resource.RUSAGE_CHILDREN)
    _write_json(result_dir / "outcome.json", report)
    return 0 if report["ok"] else _TASK_FAILED_EXIT


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        sys.exit(_child_main(sys.argv[2]))
    sys.exit("usage: python -m qrspps.harness.runner --child <job_spec.json> (internal)")
