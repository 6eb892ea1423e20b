"""Tracking layer: URIs, params, config hash, batching, retries, and a real MLflow server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from qrspps.tracking import metadata
from qrspps.tracking.metadata import (
    MAX_PARAM_LENGTH,
    config_hash,
    environment_tags,
    flatten_params,
    project_root,
)
from qrspps.tracking.recorder import RunRecorder, child_runs, end_open_children, find_finished
from qrspps.tracking.store import Store, artifact_root, resolve_uri, retry

ROOT = Path(__file__).resolve().parents[1]


def _cfg() -> dict:
    """A config shaped like the real one, with a network file's bulky data."""
    return {
        "network": {
            "name": "retail40",
            "nodes": 6,
            "selection": "prefix",
            "seed": 0,
            "tiers": [{"id": t, "name": f"t{t}", "bias": 0.1} for t in range(4)],
            "node_table": [{"id": i, "label": f"N-{i:03d}", "tier": i % 4} for i in range(400)],
            "edges": [f"{i}-{i + 1}:0.5" for i in range(399)],
        },
        "policies": {"screen": ["a", "b"], "catalogue": {"a": {"cost": 1}, "b": {"cost": 2}}},
        "task": {"name": "exact", "betas": [0.5, 1.0], "options": {}},
        "simulator": {"method": "auto", "max_parallel_threads": 0},
        "tracking": {"experiment": "x", "uri": None, "resume": True},
        "timeout_s": None,
        "seed": 0,
    }


# --------------------------------------------------------------------------- URIs


def test_default_store_is_absolute_under_the_project_root(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("QRSPPS_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)  # the working directory must not matter
    uri = resolve_uri()
    assert uri == f"sqlite:///{ROOT / 'mlruns' / 'mlflow.db'}"
    assert uri.startswith("sqlite:////")  # four slashes: an absolute path
    assert artifact_root(uri) == (ROOT / "mlruns" / "artifacts").as_uri()
    assert project_root() == ROOT


def test_environment_and_config_override_the_store(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.example.org:5000")
    assert resolve_uri() == "http://mlflow.example.org:5000"
    assert artifact_root(resolve_uri()) is None  # the server decides
    assert resolve_uri("sqlite:////data/x.db") == "sqlite:////data/x.db"
    monkeypatch.chdir(tmp_path)
    assert resolve_uri("sqlite:///rel/x.db") == f"sqlite:///{tmp_path / 'rel' / 'x.db'}"


def test_experiments_get_an_explicit_artifact_location(tracking_uri) -> None:
    st = Store(tracking_uri)
    experiment_id = st.experiment_id("t-artifacts location")
    assert st.experiment_id("t-artifacts location") == experiment_id  # get, not create twice
    location = st.call("get_experiment", experiment_id).artifact_location
    db_dir = Path(tracking_uri[len("sqlite:///") :]).parent
    assert location == f"{(db_dir / 'artifacts').as_uri()}/t-artifacts-location"


# --------------------------------------------------------------------------- params and hash


def test_params_condense_bulky_data() -> None:
    params = flatten_params(_cfg())
    assert params["network.nodes"] == "6"
    assert params["network.table_nodes"] == "400"
    assert params["network.table_edges"] == "399"
    assert params["network.table_tiers"] == "4"
    assert len(params["network.data_sha256"]) == 16
    assert params["policies.catalogue_ids"] == "a,b"
    assert params["policies.screen"] == '["a", "b"]'
    assert params["task.betas"] == "[0.5, 1.0]"
    assert params["timeout_s"] == "null"
    assert not any(k.startswith(("network.edges", "network.node_table")) for k in params)
    assert max(len(v) for v in params.values()) <= MAX_PARAM_LENGTH


def test_long_values_become_hashes() -> None:
    cfg = _cfg()
    cfg["task"]["options"] = {"blob": "x" * 10_000}
    value = flatten_params(cfg)["task.options.blob"]
    assert value.startswith("sha256:") and value.endswith("(10000 chars)")


def test_config_hash_ignores_where_and_how_a_job_runs() -> None:
    base = config_hash(_cfg())
    moved = _cfg()
    moved["tracking"] = {"experiment": "other", "uri": "http://x", "resume": False}
    moved["timeout_s"] = 60.0
    moved["simulator"]["max_parallel_threads"] = 8
    assert config_hash(moved) == base
    changed = _cfg()
    changed["network"]["nodes"] = 7
    assert config_hash(changed) != base
    changed = _cfg()
    changed["network"]["edges"][0] = "0-1:0.6"
    assert config_hash(changed) != base


def test_environment_tags() -> None:
    tags = environment_tags()
    for key in (
        "version.numpy",
        "version.mlflow",
        "version.qiskit",
        "version.qiskit-aer",
        "version.openfermion",
        "version.python",
        "git_commit",
        "host",
        "threads.usable_cores",
    ):
        assert tags[key], key
    assert metadata.usable_cores() >= 1


# --------------------------------------------------------------------------- store behaviour


def test_retry_outlasts_a_locked_database() -> None:
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise RuntimeError("(sqlite3.OperationalError) database is locked")
        return "ok"

    assert retry(flaky) == "ok"
    assert len(calls) == 3


def test_retry_does_not_hide_real_errors() -> None:
    calls = []

    def broken() -> None:
        calls.append(1)
        raise ValueError("bad param key")

    with pytest.raises(ValueError, match="bad param key"):
        retry(broken)
    assert len(calls) == 1


def test_batches_beyond_mlflow_request_limits(tracking_uri) -> None:
    st = Store(tracking_uri)
    experiment_id = st.experiment_id("t-batches")
    recorder = RunRecorder.start(st, experiment_id, run_name="batches")
    params = {f"p{i:03d}": str(i) for i in range(250)}  # > 100 params per request
    recorder.log_params(params)
    series = {"trace": [float(i) for i in range(2500)]}  # > 1000 values per request
    recorder.log_metrics({"a": 1, "b": True, "not_a_number": "n/a"}, series)
    recorder.set_tags({"long": "y" * 9000})
    recorder.end("FINISHED")

    run = st.call("get_run", recorder.run_id)
    assert run.data.params == params
    assert run.data.metrics["a"] == 1.0 and run.data.metrics["b"] == 1.0
    assert "not_a_number" not in run.data.metrics
    history = st.call("get_metric_history", recorder.run_id, "trace")
    assert len(history) == 2500 and history[-1].step == 2499
    assert len(run.data.tags["long"]) == 8000
    assert run.data.tags["status"] == "finished"


def test_one_batch_mixes_kinds_within_the_request_limits(tracking_uri) -> None:
    # 250 params, 150 tags and 2500 metric values: every request must hold <= 100 params,
    # <= 100 tags and <= 1000 entities in all (MLflow rejects a request over any of them), and
    # the mixed batch needs no more requests than its largest kind.
    st = Store(tracking_uri)
    experiment_id = st.experiment_id("t-mixed-batches")
    recorder = RunRecorder.start(st, experiment_id, run_name="mixed")
    requests = []
    real_call = st.call

    def counting_call(method, *args, **kwargs):
        if method == "log_batch":
            requests.append((len(kwargs["params"]), len(kwargs["tags"]), len(kwargs["metrics"])))
        return real_call(method, *args, **kwargs)

    st.call = counting_call
    params = {f"p{i:03d}": str(i) for i in range(250)}
    tags = {f"t{i:03d}": str(i) for i in range(150)}
    recorder.log_batch(params=params, tags=tags, series={"trace": list(map(float, range(2500)))})
    st.call = real_call
    recorder.end("FINISHED")

    assert all(p <= 100 and t <= 100 and p + t + m <= 1000 for p, t, m in requests)
    assert len(requests) == 3
    run = st.call("get_run", recorder.run_id)
    assert run.data.params == params
    assert all(run.data.tags[k] == v for k, v in tags.items())
    assert len(st.call("get_metric_history", recorder.run_id, "trace")) == 2500


def test_children_queries_and_cleanup(tracking_uri) -> None:
    st = Store(tracking_uri)
    experiment_id = st.experiment_id("t-children")
    parent = RunRecorder.start(st, experiment_id, run_name="parent", tags={"role": "sweep"})
    done = RunRecorder.start(
        st, experiment_id, parent_run_id=parent.run_id, tags={"config_hash": "h1"}
    )
    done.end("FINISHED")
    RunRecorder.start(st, experiment_id, parent_run_id=parent.run_id, tags={"config_hash": "h2"})

    assert find_finished(st, experiment_id, "h1") == done.run_id
    assert find_finished(st, experiment_id, "h2") is None  # running, not finished
    assert len(child_runs(st, experiment_id, parent.run_id)) == 2
    assert end_open_children(st, experiment_id, parent.run_id, "KILLED", "interrupted") == 1
    statuses = sorted(r.info.status for r in child_runs(st, experiment_id, parent.run_id))
    assert statuses == ["FINISHED", "KILLED"]


def test_parallel_first_contact_with_a_new_database(tmp_path) -> None:
    """Two processes opening a fresh SQLite file at once must not race on schema creation."""
    uri = f"sqlite:///{tmp_path / 'fresh.db'}"
    code = (
        "import sys; from qrspps.tracking.store import Store; "
        "s = Store(sys.argv[1]); print(s.experiment_id('race'))"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, uri],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in outputs]
    assert len({out.strip() for out, _ in outputs}) == 1  # one experiment, same id for both


# --------------------------------------------------------------------------- UI entry point


def test_ui_command_serves_the_local_store(monkeypatch) -> None:
    from qrspps.tracking import ui

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    command = ui.build_command(resolve_uri(), "127.0.0.1", 5000, 1)
    assert command[1:4] == ["-m", "mlflow", "ui"]
    assert command[command.index("--backend-store-uri") + 1] == resolve_uri()
    assert command[command.index("--port") + 1] == "5000"


def test_ui_refuses_a_remote_store() -> None:
    from qrspps.tracking import ui

    assert ui.main(["--uri", "http://mlflow.example.org:5000"]) == 2


# --------------------------------------------------------------------------- a real server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def mlflow_server(tmp_path, tracking_uri):
    """``mlflow server`` on 127.0.0.1 over the session's SQLite store, artifacts proxied."""
    port = _free_port()
    command = [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", tracking_uri,
        "--artifacts-destination", str(tmp_path / "server-artifacts"),
        "--serve-artifacts",
        "--host", "127.0.0.1",
        "--port", str(port),
        "--workers", "1",
    ]  # fmt: skip
    log_path = tmp_path / "server.log"
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    pytest.fail(f"mlflow server exited: {log_path.read_text()[-3000:]}")
                try:
                    if requests.get(f"{url}/health", timeout=2).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                time.sleep(0.5)
            else:
                pytest.fail("mlflow server did not come up in 180 s")
            yield url
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


# In the default suite (~15 s): the team-server path is what a cluster sweep depends on.
def test_logging_to_a_real_server_over_http(mlflow_server, run_app) -> None:
    result = run_app(
        "task=exact", "network.nodes=4", "tracking.experiment=t-server", uri=mlflow_server
    )
    assert result.returncode == 0, result.output[-3000:]

    api = f"{mlflow_server}/api/2.0/mlflow"
    experiment = requests.get(
        f"{api}/experiments/get-by-name", params={"experiment_name": "t-server"}, timeout=30
    ).json()
    experiment_id = experiment["experiment"]["experiment_id"]
    runs = requests.post(
        f"{api}/runs/search", json={"experiment_ids": [experiment_id]}, timeout=30
    ).json()["runs"]
    assert len(runs) == 1
    run = runs[0]
    assert run["info"]["status"] == "FINISHED"
    metrics = {m["key"]: m["value"] for m in run["data"]["metrics"]}
    params = {p["key"]: p["value"] for p in run["data"]["params"]}
    tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
    assert metrics["num_qubits"] == 4 and "exact_energy" in metrics
    assert params["network.nodes"] == "4"
    assert tags["task"] == "exact"

    listing = requests.get(
        f"{api}/artifacts/list", params={"run_id": run["info"]["run_id"]}, timeout=30
    ).json()
    names = {f["path"] for f in listing["files"]}
    assert {"config.yaml", "tables", "figures", "logs"} <= names
    # The artifact went through the server's proxy into its destination.
    artifact = requests.get(
        f"{mlflow_server}/get-artifact",
        params={"path": "config.yaml", "run_uuid": run["info"]["run_id"]},
        timeout=30,
    )
    assert artifact.status_code == 200
    assert "exact" in artifact.text


@pytest.mark.parametrize(("setting", "expected"), [(None, "wal"), ("0", "delete")])
def test_sqlite_store_journal_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting, expected
):
    import sqlite3

    if setting is None:
        monkeypatch.delenv("QRSPPS_SQLITE_WAL", raising=False)
    else:
        monkeypatch.setenv("QRSPPS_SQLITE_WAL", setting)
    db = tmp_path / "mlflow.db"
    store = Store("sqlite:///" + str(db))
    store.experiment_id("journal")
    # Read the mode back through a connection of our own, not through MLflow's engine.
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == expected
