"""The Hydra app: one job per run, ``-m`` for a sweep.

    python experiments/run.py task=vqe network.nodes=8
    python experiments/run.py -m task=exact,vqe network.nodes=6,8,10 hydra/launcher=parallel

Thin on purpose: compose the config (typed by :mod:`qrspps.config`), resolve it to plain data,
hand it to :func:`qrspps.harness.runner.run_job`, which runs the task and records it in MLflow.
The process exits 1 when any job failed, 130 when interrupted.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any

# Run from a checkout without installing: make `qrspps` importable from the project root.
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import hydra  # noqa: E402
from hydra.core.hydra_config import HydraConfig  # noqa: E402
from hydra.types import RunMode  # noqa: E402
from omegaconf import DictConfig, OmegaConf  # noqa: E402

import qrspps.config  # noqa: E402,F401  (registers the structured schema before composition)
from qrspps.harness.callbacks import abort_active_sweep  # noqa: E402
from qrspps.harness.runner import FAILED, KILLED, JobContext, exit_status, run_job  # noqa: E402
from qrspps.tracking.metadata import usable_cores  # noqa: E402


def job_context() -> JobContext:
    """The parts of Hydra's runtime config the runner needs, as plain data."""
    hc = HydraConfig.get()
    multirun = hc.mode == RunMode.MULTIRUN
    choices = {
        k: str(v)
        for k, v in hc.runtime.choices.items()
        if v is not None and (not k.startswith("hydra/") or k == "hydra/launcher")
    }
    target = str(hc.launcher.get("_target_", ""))
    parallel = 1
    if target.endswith("JoblibLauncher"):
        n_jobs = int(hc.launcher.n_jobs)
        # joblib's convention: -1 = all cores, -2 = all but one, ...
        parallel = n_jobs if n_jobs > 0 else max(1, usable_cores() + 1 + n_jobs)
    return JobContext(
        output_dir=Path(hc.runtime.output_dir).resolve(),
        job_name=str(hc.job.name),
        job_num=int(hc.job.num) if multirun else None,
        override_dirname=str(hc.job.override_dirname),
        sweep_dir=Path(str(hc.sweep.dir)).resolve() if multirun else None,
        parallel_jobs=parallel,
        launcher=choices.pop("hydra/launcher", "basic"),
        choices=choices,
    )


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> None:
    """Run one job of the composed config."""
    plain = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    run_job(plain, job_context())


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"received {signal.Signals(signum).name}")


def cli() -> int:
    """Run the app; end open runs KILLED on Ctrl-C/SIGTERM; exit 1 if any job failed."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        main()
    except KeyboardInterrupt:
        abort_active_sweep(KILLED, "interrupted (Ctrl-C or SIGTERM)")
        return 130
    except SystemExit as exc:
        # Hydra exits 1 after reporting an error that escaped a job or the launcher.
        if exc.code not in (0, None):
            abort_active_sweep(FAILED, "sweep aborted by an error (see the log)")
        raise
    return exit_status()


if __name__ == "__main__":
    sys.exit(cli())
