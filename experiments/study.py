"""The default study (``make run``): small sweeps of every available task, then the report.

    python experiments/study.py [extra overrides for every sweep, e.g. hydra.launcher.n_jobs=1]

Runs in a few minutes on a 2-core laptop, into the MLflow experiment ``default-study``:

1. ``vqe`` over ``network.nodes=6,8,10`` x ``ansatz.depth=1,2`` (the accuracy/cost grid);
2. ``exact`` and every other available task over ``network.nodes=6,8,10`` (depth-independent);
3. ``scaling`` with the state vector (8-20 qubits) and the matrix-product-state method (8-40);
4. ``exact`` and ``vqe`` on the full 40-node network and the 30-node execution network,
   scenarios A and B (the method ``auto`` picks there is the matrix product state);

each a Hydra multirun of ``experiments/run.py`` with two joblib workers. Tasks whose module is not
in this installation are left out (and said so). Jobs already FINISHED with the same config are
skipped, so a second ``make run`` only rebuilds the report. Then, if ``experiments/report.py``
exists, it builds ``reports/default-study/index.html``, and the last lines say how to open it and
the MLflow UI. Exit status: 1 if any sweep or the report failed.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from qrspps.tasks import TASK_MODULES, is_available  # noqa: E402

log = logging.getLogger("qrspps.study")

EXPERIMENT = "default-study"
NODES = "6,8,10"
#: Sizes of the scaling sweeps (state vector; matrix product state).
SV_NODES = "8,10,12,14,16,18,20"
MPS_NODES = "8,16,24,32,40"
#: Settings shared by every sweep: two local workers, a per-job guard so that one stuck job cannot
#: blow the study's time budget, and VQE restarts / Monte Carlo samples sized for a laptop (the
#: published 5 restarts and 50,000 samples are `profile=paper`).
COMMON = (
    "hydra/launcher=parallel",
    f"tracking.experiment={EXPERIMENT}",
    "timeout_s=300",
    "optimizer.restarts=2",
    "montecarlo.samples=20000",
)
#: Tasks swept over depth as well as size (their cost and accuracy depend on the ansatz).
DEPTH_TASKS = ("vqe",)
#: ``pipeline`` repeats the single-stage tasks in one run (three VQEs per job): too slow here.
EXCLUDED = ("pipeline",)


def sweeps(extra: list[str]) -> list[tuple[str, list[str]]]:
    """``(title, overrides)`` of each multirun the study launches."""
    available = [t for t in TASK_MODULES if is_available(t)]
    missing = [t for t in TASK_MODULES if t not in available]
    if missing:
        log.info("tasks not available in this installation (left out): %s", ", ".join(missing))
    planned = []
    depth_tasks = [t for t in DEPTH_TASKS if t in available]
    if depth_tasks:
        planned.append(
            (
                "accuracy and cost vs size and depth",
                [f"task={','.join(depth_tasks)}", f"network.nodes={NODES}", "ansatz.depth=1,2"],
            )
        )
    size_tasks = [
        t for t in available if t not in DEPTH_TASKS and t not in EXCLUDED and t != "scaling"
    ]
    if size_tasks:
        planned.append(
            (
                "exact references and the other stages vs size",
                [f"task={','.join(size_tasks)}", f"network.nodes={NODES}"],
            )
        )
    if "scaling" in available:
        # The scaling report's data: state-vector cost up to where it starts to hurt on a laptop,
        # matrix-product-state cost up to the full network (measured, never extrapolated).
        planned.append(
            (
                "state-vector scaling",
                ["task=scaling", f"network.nodes={SV_NODES}", "simulator=statevector"],
            )
        )
        planned.append(
            (
                "matrix-product-state scaling",
                ["task=scaling", f"network.nodes={MPS_NODES}", "simulator=mps"],
            )
        )
    full_tasks = [t for t in ("exact", "vqe") if t in available]
    if full_tasks:
        # The published sizes: the full 40-node network and the 30-node execution network.
        planned.append(
            (
                "exact references and VQE at the published sizes",
                [f"task={','.join(full_tasks)}", "network=retail40,exec30", "scenario=A,B"],
            )
        )
    return [(title, ["-m", *overrides, *COMMON, *extra]) for title, overrides in planned]


def run(command: list[str]) -> int:
    """Run a command with this interpreter from the project root; output streams through."""
    log.info("$ %s", " ".join(command))
    return subprocess.call([sys.executable, *command], cwd=ROOT)


def main(extra: list[str]) -> int:
    """Run the sweeps, then the report; returns the exit status."""
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    start = time.monotonic()
    status = 0
    for title, overrides in sweeps(extra):
        log.info("sweep: %s", title)
        code = run([str(ROOT / "experiments" / "run.py"), *overrides])
        if code != 0:
            log.error(
                "sweep %r exited with status %d (failed jobs are in the summary above and "
                "in MLflow with their failure_reason)",
                title,
                code,
            )
            status = 1

    report_script = ROOT / "experiments" / "report.py"
    if report_script.is_file():
        code = run([str(report_script), f"experiment={EXPERIMENT}"])
        if code != 0:
            log.error("the report failed with status %d", code)
            status = 1
        else:
            log.info("report: %s", ROOT / "reports" / EXPERIMENT / "index.html")
    else:
        log.info("no experiments/report.py in this installation: no report built")

    log.info("study done in %.0f s (experiment %r)", time.monotonic() - start, EXPERIMENT)
    log.info("browse the runs: `make ui`, then open http://127.0.0.1:5000")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
