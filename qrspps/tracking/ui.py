"""``python -m qrspps.tracking.ui``: the MLflow UI over this project's local store (``make ui``).

    python -m qrspps.tracking.ui --host 127.0.0.1 --port 5000

Serves ``<project root>/mlruns/mlflow.db`` (or the SQLite database that ``--uri`` /
``MLFLOW_TRACKING_URI`` names) whatever the current directory, with artifacts read from where each
experiment put them. When the tracking URI is a server, there is nothing to start: open it.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys

from qrspps.tracking.store import Store, artifact_root, resolve_uri, sqlite_path

log = logging.getLogger("qrspps.tracking.ui")


def build_command(uri: str, host: str, port: int, workers: int) -> list[str]:
    """The ``mlflow ui`` command line for the SQLite store ``uri``."""
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "ui",
        "--backend-store-uri",
        uri,
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    root = artifact_root(uri)
    if root:
        # Experiments created by the harness carry absolute artifact locations; this only matters
        # for experiments created from the UI itself.
        command += ["--default-artifact-root", root]
    return command


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, make sure the store exists, and run the UI until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m qrspps.tracking.ui",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5000, help="port (default 5000)")
    parser.add_argument(
        "--uri",
        default=None,
        help="tracking URI (default: MLFLOW_TRACKING_URI, else mlruns/mlflow.db)",
    )
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(message)s")

    uri = resolve_uri(args.uri)
    if sqlite_path(uri) is None:
        log.error(
            "tracking URI %s is not a local SQLite store: open it in a browser instead "
            "(or unset MLFLOW_TRACKING_URI to browse the local mlruns/ store)",
            uri,
        )
        return 2
    # Create the database (schema, lock file) the way the harness does, before the UI touches it.
    Store(uri)
    command = build_command(uri, args.host, args.port, args.workers)
    log.info("MLflow UI on http://%s:%d over %s (Ctrl-C to stop)", args.host, args.port, uri)
    # The server runs in its own process group (mlflow ui -> uvicorn, job runner) and this wrapper
    # ends the whole group on Ctrl-C or SIGTERM, so that no server process outlives it.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    server = subprocess.Popen(command, start_new_session=True)
    try:
        return server.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        _stop_group(server)


def _stop_group(server: subprocess.Popen) -> None:
    """SIGTERM the server's process group, SIGKILL it if it has not ended within 15 s."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            return
        try:
            server.wait(timeout=15)
            return
        except subprocess.TimeoutExpired:
            continue


if __name__ == "__main__":
    sys.exit(main())
