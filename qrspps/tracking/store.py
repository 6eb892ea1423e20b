"""Where runs are stored: tracking URI resolution, the client, experiments, retries.

Default store: SQLite ``<project root>/mlruns/mlflow.db`` through an absolute
``sqlite:////abs/path`` URI, with artifacts under ``<project root>/mlruns/artifacts``; both are
found from the project root whatever the working directory (MLflow's own default, ``mlflow.db`` in
the current directory, would scatter runs). ``tracking.uri`` in the config, else
``MLFLOW_TRACKING_URI``, points elsewhere, e.g. a team ``mlflow server``.

SQLite takes one writer at a time: every store call goes through :func:`retry`, which waits and
retries on "database is locked", and the first contact with a database (schema creation) happens
under an inter-process file lock.

SQLite connections opened by this process run in write-ahead-log mode with ``synchronous=NORMAL``
(:func:`_sqlite_pragmas`): a commit appends to the log instead of rewriting and syncing the
database and its rollback journal, and readers (the MLflow UI, the report) no longer block the
writer. A job's handful of requests then cost about a third less. WAL needs a local file system
(SQLite's own documentation: not over NFS), which is where the default store lives; a shared
cluster store is an ``mlflow server`` anyway (docs/cluster.md). ``QRSPPS_SQLITE_WAL=0`` keeps
SQLite's defaults.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import re
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from sqlalchemy import event
from sqlalchemy.engine import Engine

from qrspps.tracking.metadata import project_root

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Environment variable MLflow reads; honoured when the config leaves ``tracking.uri`` null.
URI_ENV = "MLFLOW_TRACKING_URI"
#: Overrides where experiments created here put their artifacts (any MLflow artifact URI).
ARTIFACT_ROOT_ENV = "QRSPPS_ARTIFACT_ROOT"

#: Messages of transient errors worth retrying (SQLite writer lock, busy server).
_TRANSIENT = re.compile(
    r"database is locked|database table is locked|disk I/O error|"
    r"Max retries exceeded|Connection (refused|reset)|503|502",
    re.I,
)

#: Set to 0 to keep SQLite's default journal and sync settings (module docstring).
WAL_ENV = "QRSPPS_SQLITE_WAL"


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Write-ahead log and ``synchronous=NORMAL`` on every SQLite connection (module docstring)."""
    import sqlite3

    if not isinstance(dbapi_connection, sqlite3.Connection) or os.environ.get(WAL_ENV) == "0":
        return
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    except sqlite3.DatabaseError as exc:  # e.g. a file system without shared memory
        log.debug("SQLite WAL mode not available (%s); keeping the defaults", exc)
    finally:
        cursor.close()


#: Total seconds :func:`retry` keeps trying before it gives up.
RETRY_BUDGET_S = 120.0
#: Budget while cleaning up after an interrupt: a user who pressed Ctrl-C should not wait minutes.
_budget = ContextVar("retry_budget_s", default=RETRY_BUDGET_S)


@contextlib.contextmanager
def short_retries(seconds: float = 10.0) -> Iterator[None]:
    """Within the block, :func:`retry` gives up after ``seconds`` (interrupt clean-up)."""
    token = _budget.set(seconds)
    try:
        yield
    finally:
        _budget.reset(token)


def default_uri() -> str:
    """``sqlite:////<project root>/mlruns/mlflow.db`` (absolute: four slashes)."""
    return "sqlite:///" + str(project_root() / "mlruns" / "mlflow.db")


def resolve_uri(configured: str | None = None) -> str:
    """Tracking URI: ``configured`` (``tracking.uri``), else ``MLFLOW_TRACKING_URI``, else default.

    A relative SQLite path or a bare directory is made absolute against the current directory, so
    that workers started elsewhere write to the same database.
    """
    uri = configured or os.environ.get(URI_ENV) or default_uri()
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        uri = "sqlite:///" + str(Path(uri[len("sqlite:///") :]).resolve())
    return uri


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:////...`` URI, ``None`` for any other store."""
    if uri.startswith("sqlite:///"):
        return Path(uri[len("sqlite:///") :])
    return None


def artifact_root(uri: str) -> str | None:
    """Artifact root for new experiments: ``<db dir>/artifacts`` beside a SQLite database.

    ``None`` for servers: an ``mlflow server --serve-artifacts`` decides, and the client uploads
    through it. ``QRSPPS_ARTIFACT_ROOT`` overrides both.
    """
    if os.environ.get(ARTIFACT_ROOT_ENV):
        return os.environ[ARTIFACT_ROOT_ENV]
    db = sqlite_path(uri)
    if db is None:
        return None
    return (db.parent / "artifacts").resolve().as_uri()


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is a lock or connection error that a retry can outlast."""
    return bool(_TRANSIENT.search(f"{type(exc).__name__}: {exc}"))


def retry(fn: Callable[..., T], *args: Any, what: str = "store call", **kwargs: Any) -> T:
    """Call ``fn`` and retry transient store errors with jittered exponential backoff.

    Raises:
        The last error once the budget (:data:`RETRY_BUDGET_S`, or :func:`short_retries`) is
        spent, or any non-transient error at once.
    """
    deadline = time.monotonic() + _budget.get()
    delay = 0.05
    attempt = 0
    while True:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            attempt += 1
            if not is_transient(exc) or time.monotonic() + delay > deadline:
                raise
            log.debug("%s: transient error (%s), retry %d in %.2f s", what, exc, attempt, delay)
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 2.0)


@contextlib.contextmanager
def _store_lock(uri: str) -> Iterator[None]:
    """Inter-process lock beside a SQLite database (no-op for other stores or without fcntl)."""
    db = sqlite_path(uri)
    if db is None:
        yield
        return
    try:
        import fcntl
    except ImportError:  # Windows: rely on retries alone
        yield
        return
    db.parent.mkdir(parents=True, exist_ok=True)
    with open(db.with_name(db.name + ".lock"), "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Store:
    """An MLflow client bound to one tracking URI, with retries on every call.

    Args:
        uri: tracking URI; resolved with :func:`resolve_uri` when ``None``.
    """

    def __init__(self, uri: str | None = None) -> None:
        self.uri = resolve_uri(uri)
        self._experiment_ids: dict[str, str] = {}
        # Constructing the client opens the store, which creates the schema of a new SQLite
        # database; parallel first contacts race on it ("duplicate column name"), so it is
        # serialised across processes.
        with _store_lock(self.uri):
            self.client = retry(MlflowClient, tracking_uri=self.uri, what="open store")
            retry(self.client.search_experiments, max_results=1, what="open store")

    @classmethod
    def shared(cls, uri: str | None = None) -> Store:
        """One :class:`Store` per tracking URI and process, reused by every job the process runs
        (a reused joblib worker, an in-process sweep): opening a store costs a client, a query
        and a file lock, a few milliseconds per job that a one-second job should not pay."""
        key = (os.getpid(), resolve_uri(uri))
        store = _SHARED.get(key)
        if store is None:
            store = _SHARED[key] = cls(uri)
        return store

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """``client.<method>(*args, **kwargs)`` with retries on transient errors."""
        return retry(getattr(self.client, method), *args, what=method, **kwargs)

    def experiment_id(self, name: str) -> str:
        """Id of experiment ``name``, created (with an explicit artifact location) when missing.

        Ids are remembered for the life of this object: an experiment is never renumbered, and
        one deleted meanwhile makes the next write fail with MLflow's own message.
        """
        if name in self._experiment_ids:
            return self._experiment_ids[name]
        experiment_id = self._experiment_id(name)
        self._experiment_ids[name] = experiment_id
        return experiment_id

    def _experiment_id(self, name: str) -> str:
        found = self.call("get_experiment_by_name", name)
        if found is not None:
            if found.lifecycle_stage == "deleted":
                raise MlflowException(
                    f"experiment {name!r} is deleted in {self.uri}; restore it "
                    f"(mlflow experiments restore --experiment-id {found.experiment_id}) "
                    "or choose another tracking.experiment"
                )
            return found.experiment_id
        root = artifact_root(self.uri)
        location = f"{root}/{_slug(name)}" if root else None
        with _store_lock(self.uri):
            try:
                return self.call("create_experiment", name, artifact_location=location)
            except MlflowException as exc:
                # Another process created it between our lookup and our create.
                if "already exists" not in str(exc).lower() and "unique" not in str(exc).lower():
                    raise
        return self.call("get_experiment_by_name", name).experiment_id


#: Stores opened by :meth:`Store.shared`, by (process id, tracking URI).
_SHARED: dict[tuple[int, str], Store] = {}


def _slug(name: str) -> str:
    """File-system-safe directory name for an experiment's artifacts."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "experiment"
