"""Build the scaling report of an experiment from the tracking store.

    python experiments/report.py experiment=<name>[,<name>...] [target_nodes=40] [out=reports]
                                 [parent_run_id=<id>] [uri=<tracking uri>] [log_run=true]

Writes ``<out>/<name>/index.html`` (self-contained), ``report.md``, ``figures/`` and ``tables/``,
then logs the same files as artifacts of a new run named ``report`` in the (first) experiment,
with the fit results as metrics. ``parent_run_id`` restricts the report to one multirun's jobs.
The store is ``uri``, else ``MLFLOW_TRACKING_URI``, else ``<project root>/mlruns/mlflow.db``.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

# Entry point run as a script from anywhere: make the project importable without installing it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qrspps.errors import ConfigError
from qrspps.logs import configure_logging

log = logging.getLogger("qrspps.report")

DEFAULTS = {
    "experiment": "",
    "parent_run_id": "",
    "target_nodes": "40",
    "out": "",
    "uri": "",
    "log_run": "true",
}


def parse_args(argv: list[str]) -> dict[str, str]:
    """``key=value`` arguments over :data:`DEFAULTS`.

    Raises:
        ConfigError: an argument is not ``key=value``, the key is unknown, or a value is invalid.
    """
    args = dict(DEFAULTS)
    for item in argv:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"argument {item!r} must be key=value, e.g. experiment=qrspps")
        if key not in DEFAULTS:
            raise ConfigError(f"unknown argument {key!r}; expected one of {sorted(DEFAULTS)}")
        args[key] = value
    if not args["experiment"] and not args["parent_run_id"]:
        raise ConfigError("experiment=<name> (or parent_run_id=<run id>) is required")
    if not args["target_nodes"].isdigit() or int(args["target_nodes"]) < 1:
        raise ConfigError(f"target_nodes must be an integer >= 1, was {args['target_nodes']!r}")
    if args["log_run"].lower() not in {"true", "false"}:
        raise ConfigError(f"log_run must be true or false, was {args['log_run']!r}")
    return args


def main(argv: list[str]) -> int:
    """Fetch runs, build the report, log it; returns the process exit status."""
    configure_logging()
    try:
        args = parse_args(argv)
    except ConfigError as exc:
        log.error("%s", exc)
        return 2

    # MLflow is imported only now, so that argument errors come back fast.
    from qrspps.reporting.render import build_report
    from qrspps.tracking.metadata import project_root
    from qrspps.tracking.readback import fetch_runs, log_report
    from qrspps.tracking.store import Store

    experiments = [e for e in args["experiment"].split(",") if e]
    parent = args["parent_run_id"] or None
    store = Store(args["uri"] or None)
    try:
        records = fetch_runs(experiments or None, parent_run_id=parent, store=store)
    except ConfigError as exc:
        log.error("%s", exc)
        return 2
    if not records:
        log.error("no job runs found in %s for experiment(s) %s", store.uri, experiments or parent)
        return 1

    name = "+".join(experiments) if experiments else f"sweep-{parent[:8]}"
    if experiments and parent:
        name += f"-sweep-{parent[:8]}"
    out_root = Path(args["out"]) if args["out"] else project_root() / "reports"
    result = build_report(
        records,
        out_root / name,
        experiment=name,
        target_nodes=int(args["target_nodes"]),
        source=store.uri,
    )
    log.info("report: %s (markdown: %s)", result.index_html.resolve(), result.report_md)
    if args["log_run"].lower() == "true":
        experiment = experiments[0] if experiments else None
        if experiment is None:
            experiment_id = store.call("get_run", parent).info.experiment_id
            experiment = store.call("get_experiment", experiment_id).name
        source = {
            "experiments": ",".join(experiments),
            "parent_run_id": parent or "",
            "runs": str(len(records)),
        }
        log_report(result, experiment=experiment, store=store, source=source)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
