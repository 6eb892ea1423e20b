"""The scaling report end to end: runs in a temporary SQLite store -> report files -> browser.

The store holds (a) a real sweep, ``experiments/run.py -m task=exact network.nodes=4,5,6``, run in a
subprocess, and (b) scaling, VQE, screening, DOS-QPE and Monte Carlo runs logged here with the
harness's param, tag and metric names, standing in for tasks that sweep too slowly for a unit test
(their timings follow a known exponential, so the report's fit can be checked against it). One of
them failed at n = 31 and must appear as such.

Checks: every file exists, the CSV tables equal the runs as MLflow returns them, the fit recovers
the known exponent, the report run carries the fit metrics and files, and headless Chromium renders
index.html with every figure decoded (skipped with a reason when Chromium is not installed).
"""

from __future__ import annotations

import csv
import importlib.util
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from qrspps.tracking.store import Store

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENT = "report-test"
# Known model of the synthetic state-vector timings: log2 t = A + R n, with seeded noise.
A_TRUE, R_TRUE, NOISE = -17.0, 0.9, 0.05
SV_SIZES = list(range(8, 21, 2))
FAILED_REASON = "refused: state vector needs 34.4 GB (16 * 2^31 B) plus working copies, 24 GB free"


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _log_run(
    db: Store,
    experiment_id: str,
    parent_id: str,
    params: dict[str, object],
    metrics: dict[str, float],
    tags: dict[str, str],
    status: str = "FINISHED",
) -> str:
    run = db.call(
        "create_run",
        experiment_id,
        tags={"mlflow.parentRunId": parent_id},
        run_name=str(params["task.name"]),
    )
    all_tags = {"status": status.lower(), "git_commit": "0" * 40, "host": "test", **tags}
    db.call(
        "log_batch",
        run.info.run_id,
        metrics=[Metric(k, float(v), 0, 0) for k, v in metrics.items()],
        params=[Param(k, "null" if v is None else str(v)) for k, v in params.items()],
        tags=[RunTag(k, v) for k, v in all_tags.items()],
    )
    db.call("set_terminated", run.info.run_id, status=status)
    return run.info.run_id


def _params(task: str, n: int, **extra: object) -> dict[str, object]:
    params: dict[str, object] = {
        "task.name": task,
        "network.name": "retail40",
        "network.nodes": n,
        "scenario.name": "A",
        "ansatz.depth": 3,
        "simulator.method": "auto",
        "simulator.device": "CPU",
        "simulator.precision": "double",
        "dosqpe.trotter_steps": 32,
        "seed": 0,
    }
    params.update(extra)
    return params


def _log_stand_in_runs(db: Store, experiment_id: str) -> None:
    """Scaling/VQE/risk runs under their own sweep parent, with the harness's names."""
    parent = db.call(
        "create_run", experiment_id, tags={"role": "sweep"}, run_name="sweep:stand-ins"
    )
    pid = parent.info.run_id
    rng = np.random.default_rng(11)

    for precision, offset, bytes_per_amplitude in (("double", 0.0, 16), ("single", -0.6, 8)):
        for n in SV_SIZES:
            eval_time = 2.0 ** (A_TRUE + offset + R_TRUE * n + rng.normal(0, NOISE))
            metrics = {
                "num_qubits": n,
                "eval_time_s": eval_time,
                "wall_time_s": 400 * eval_time,
                "peak_rss_bytes": 2.5e8
                + 3 * bytes_per_amplitude * 2.0**n * (1 + 0.02 * rng.normal()),
                "statevector_bytes": bytes_per_amplitude * 2**n,
            }
            _log_run(
                db,
                experiment_id,
                pid,
                _params("scaling", n, **{"simulator.precision": precision}),
                metrics,
                {"task": "scaling", "method": "statevector"},
            )
    for n in (8, 12, 16, 20, 30, 40):
        _log_run(
            db,
            experiment_id,
            pid,
            _params("scaling", n, **{"simulator.method": "matrix_product_state"}),
            {"num_qubits": n, "eval_time_s": 2e-3 * n, "peak_rss_bytes": 3e8 + 1e5 * n},
            {"task": "scaling", "method": "matrix_product_state"},
        )
    _log_run(
        db,
        experiment_id,
        pid,
        _params("scaling", 31),
        {},
        {"task": "scaling", "method": "statevector", "failure_reason": FAILED_REASON},
        status="FAILED",
    )

    for n in (4, 6, 8):
        for depth in (1, 2, 3):
            exact = -0.9 * n - 0.3
            error = 10.0 ** (-3 - 2 * depth + 0.3 * n)
            _log_run(
                db,
                experiment_id,
                pid,
                _params("vqe", n, **{"ansatz.depth": depth}),
                {
                    "num_qubits": n,
                    "exact_energy": exact,
                    "vqe_energy": exact + error,
                    "energy_abs_error": error,
                    "energy_rel_error": error / abs(exact),
                    "energy_evaluations": 300 + 50 * n,
                    "eval_time_s": 2.0 ** (A_TRUE + R_TRUE * n),
                    "wall_time_s": (300 + 50 * n) * 2.0 ** (A_TRUE + R_TRUE * n),
                    "peak_rss_bytes": 2.5e8 + 48 * 2.0**n,
                },
                {"task": "vqe", "method": "statevector"},
            )
    for n, speedup, tau in ((6, 35.0, 0.73), (8, 52.0, 0.87)):
        _log_run(
            db,
            experiment_id,
            pid,
            _params("screening", n),
            {
                "screening_time_s": 0.4,
                "reoptimization_time_s": 0.4 * speedup,
                "screening_speedup": speedup,
                "ranking_kendall_tau": tau,
            },
            {"task": "screening", "method": "statevector"},
        )
    for steps in (8, 16, 32, 64, 128):
        _log_run(
            db,
            experiment_id,
            pid,
            _params("dosqpe", 6, **{"dosqpe.trotter_steps": steps}),
            {
                "dos_distance": 0.8 / steps**0.7,
                "trotter_error": 3.0 / steps**2,
                "aliased": 1.0 if steps <= 16 else 0.0,
                "pcat_max_abs_error": 0.2 / steps,
            },
            {"task": "dosqpe", "method": "statevector"},
        )
    _log_run(
        db,
        experiment_id,
        pid,
        _params("montecarlo", 40),
        {"mc_nodes_above_threshold": 3, "mc_max_abs_delta_p": 0.212},
        {"task": "montecarlo", "method": "montecarlo"},
    )
    db.call("set_terminated", pid, status="FINISHED")


def _start_real_sweep(tmp: Path, env: dict[str, str]) -> subprocess.Popen:
    command = [
        sys.executable,
        str(ROOT / "experiments" / "run.py"),
        "-m",
        "task=exact",
        "network.nodes=4,5,6",
        f"tracking.experiment={EXPERIMENT}",
        "isolation=inprocess",
        f"hydra.sweep.dir={tmp / 'multirun'}",
    ]
    log_file = (tmp / "sweep.log").open("w")
    return subprocess.Popen(command, cwd=tmp, env=env, stdout=log_file, stderr=subprocess.STDOUT)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A temporary store with the real exact sweep and the stand-in runs; then the report."""
    tmp = tmp_path_factory.mktemp("store")
    uri = f"sqlite:///{tmp / 'mlflow.db'}"  # absolute path: four slashes
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": uri,
        "QRSPPS_ARTIFACT_ROOT": (tmp / "artifacts").as_uri(),
        "PYTHONPATH": str(ROOT),
    }
    # Schema and experiment first, so the sweep and the stand-in logging below (which overlap, to
    # keep this file fast) never race on creating them; Store retries SQLite lock errors.
    db = Store(uri)
    experiment_id = db.call(
        "create_experiment", EXPERIMENT, artifact_location=(tmp / "artifacts" / "x").as_uri()
    )
    sweep = _start_real_sweep(tmp, env)
    try:
        _log_stand_in_runs(db, experiment_id)
        assert sweep.wait(timeout=240) == 0, (tmp / "sweep.log").read_text()[-3000:]
    finally:
        if sweep.poll() is None:
            sweep.kill()

    # The CLI, in process (same code path as `python experiments/report.py ...`).
    spec = importlib.util.spec_from_file_location("report_cli", ROOT / "experiments" / "report.py")
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    status = cli.main([f"experiment={EXPERIMENT}", f"out={tmp / 'reports'}", f"uri={uri}"])
    assert status == 0
    return {
        "uri": uri,
        "client": MlflowClient(tracking_uri=uri),
        "experiment_id": experiment_id,
        "out": tmp / "reports" / EXPERIMENT,
    }


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _job_runs(store: dict[str, object]) -> list:
    client: MlflowClient = store["client"]
    runs = client.search_runs([store["experiment_id"]], max_results=1000)
    return [r for r in runs if r.data.tags.get("role") not in {"sweep", "report"}]


def test_files_exist(store):
    out: Path = store["out"]
    for name in ("index.html", "report.md"):
        assert (out / name).stat().st_size > 1000
    figures = {p.stem for p in (out / "figures").glob("*.png")}
    assert {
        "eval_time",
        "vqe_time",
        "memory",
        "methods",
        "energy_error",
        "screening",
        "dosqpe",
        "pcat",
    } <= figures
    tables = {p.stem for p in (out / "tables").glob("*.csv")}
    assert {"runs", "metrics_long", "fits", "claims", "failures"} <= tables


def test_csv_tables_match_the_runs(store):
    runs = _job_runs(store)
    table = {row["run_id"]: row for row in _read_csv(store["out"] / "tables" / "runs.csv")}
    assert set(table) == {r.info.run_id for r in runs}

    long_rows = _read_csv(store["out"] / "tables" / "metrics_long.csv")
    logged = {(r.info.run_id, k): v for r in runs for k, v in r.data.metrics.items()}
    assert {(row["run_id"], row["metric"]) for row in long_rows} == set(logged)
    for row in long_rows:
        # Values are written with repr(), so they must round-trip exactly.
        assert float(row["value"]) == logged[(row["run_id"], row["metric"])]
        assert row["kind"] in {"exact", "simulated", "sampled"}

    for run in runs:
        row = table[run.info.run_id]
        assert row["status"] == run.info.status
        assert row["task"] == run.data.tags["task"]
        nodes = run.data.params.get("network.nodes")
        assert row["nodes"] == nodes or row["nodes"] == str(int(run.data.metrics["num_qubits"]))

    exact = [r for r in runs if r.data.tags["task"] == "exact"]
    assert len(exact) == 3, "the real sweep's three exact runs"
    kinds = {(row["run_id"], row["metric"]): row["kind"] for row in long_rows}
    assert kinds[(exact[0].info.run_id, "exact_energy")] == "exact"


def test_fit_recovers_known_exponent(store):
    rows = _read_csv(store["out"] / "tables" / "fits.csv")
    by_series = {(r["quantity"], r["series"]): r for r in rows}
    fit = by_series[("time per energy evaluation", "statevector, double")]
    # Seeded noise of sd NOISE on log2 t over 7 sizes: allow 4 standard errors of the slope.
    assert abs(float(fit["slope"]) - R_TRUE) < 4 * float(fit["slope_se"])
    assert fit["fit_range"] == "n=8..20"
    assert fit["kind"] == "extrapolated (fit n=8..20)"
    assert float(fit["band_lower"]) < float(fit["value_at_40"]) < float(fit["band_upper"])
    # MPS is shown measured, never extrapolated.
    assert not any("matrix_product_state" in series for _, series in by_series)


def test_failed_runs_are_listed(store):
    out: Path = store["out"]
    failures = _read_csv(out / "tables" / "failures.csv")
    assert len(failures) == 1
    assert failures[0]["nodes"] == "31" and failures[0]["failure_reason"] == FAILED_REASON
    line = f"FAILED at n = 31 (scaling, statevector, double): {FAILED_REASON}"
    assert line in (out / "report.md").read_text(encoding="utf-8")
    html_text = (out / "index.html").read_text(encoding="utf-8")
    assert "FAILED at n = 31" in html_text


def test_claims_and_kinds(store):
    claims = {r["quantity"]: r for r in _read_csv(store["out"] / "tables" / "claims.csv")}
    memory = claims["State-vector memory at 40 qubits (double precision)"]
    assert memory["this_study"] == "17.6 TB" and memory["kind"].startswith("exact")
    time_row = claims["Full VQE wall time at 40 qubits"]
    assert time_row["kind"].startswith("extrapolated (fit n=")
    cascade = claims["max |dP| over nodes"]
    assert cascade["this_study"] == "0.212" and cascade["kind"] == "measured (sampled)"
    missing = claims["VQE energy error |E_VQE − E_exact| at 40 qubits"]
    assert missing["kind"] == "not measured in this study"
    assert "measured at n = 4, 6, 8 only" in missing["note"]


def test_report_run_logged_with_metrics_and_files(store):
    client: MlflowClient = store["client"]
    runs = client.search_runs([store["experiment_id"]], filter_string="tags.role = 'report'")
    assert len(runs) == 1
    run = runs[0]
    slug = "statevector_double"
    assert run.data.metrics[f"fit_rate_per_qubit__{slug}"] == pytest.approx(R_TRUE, abs=0.05)
    assert 0.99 < run.data.metrics[f"fit_r2__{slug}"] <= 1.0
    assert run.data.metrics[f"extrapolated_time_s_at_40__{slug}"] > 0
    assert run.data.metrics[f"extrapolated_bytes_at_40__{slug}"] > 16 * 2**40
    label = run.data.tags[f"kind__extrapolated_time_s_at_40__{slug}"]
    assert label == "extrapolated (fit n=8..20)"
    files = {a.path for a in client.list_artifacts(run.info.run_id, "report")}
    assert {"report/index.html", "report/report.md", "report/figures", "report/tables"} <= files


def test_readback_of_one_sweep(store):
    from qrspps.tracking.readback import fetch_runs

    client: MlflowClient = store["client"]
    parents = client.search_runs([store["experiment_id"]], filter_string="tags.role = 'sweep'")
    real = [p for p in parents if p.info.run_name != "sweep:stand-ins"]
    assert len(real) == 1, "the real sweep has one parent run"
    records = fetch_runs(parent_run_id=real[0].info.run_id, uri=store["uri"])
    assert sorted(r["params"]["network.nodes"] for r in records) == [4, 5, 6]
    assert all(isinstance(r["params"]["network.nodes"], int) for r in records)
    assert {r["tags"]["task"] for r in records} == {"exact"}


def test_index_html_renders_in_headless_chromium(store, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("chromium not installed (apt-get install -y chromium) - browser check skipped")
    out: Path = store["out"]
    page = out / "index.html"
    # A copy with a probe script: index.html itself stays script-free.
    probe = tmp_path / "probe.html"
    probe_script = (
        "<script>window.addEventListener('load',()=>{const i=[...document.images];"
        "document.body.setAttribute('data-images',"
        "i.filter(x=>x.complete&&x.naturalWidth>0).length+'/'+i.length);});</script>"
    )
    probe.write_text(
        page.read_text(encoding="utf-8").replace("</body>", probe_script + "</body>"),
        encoding="utf-8",
    )
    common = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        f"--user-data-dir={tmp_path / f'profile-{uuid.uuid4().hex[:8]}'}",
        "--virtual-time-budget=5000",
    ]
    dom = subprocess.run(
        [*common, "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=60
    ).stdout
    n_images = page.read_text(encoding="utf-8").count("<img ")
    assert n_images >= 8
    assert f'data-images="{n_images}/{n_images}"' in dom, "a figure did not decode in Chromium"

    shot = out / "screenshot.png"
    subprocess.run(
        [*common, "--window-size=1280,2400", f"--screenshot={shot}", page.as_uri()],
        capture_output=True,
        timeout=60,
    )
    assert shot.stat().st_size > 10_000


def test_readback_follows_pages(store, monkeypatch):
    from qrspps.tracking import readback

    everything = readback.fetch_runs(EXPERIMENT, uri=store["uri"])
    monkeypatch.setattr(readback, "PAGE_SIZE", 7)
    paged = readback.fetch_runs(EXPERIMENT, uri=store["uri"])
    assert len(everything) == len(_job_runs(store)) > 7
    assert sorted(r["run_id"] for r in paged) == sorted(r["run_id"] for r in everything)


def test_report_tolerates_sparse_records(tmp_path):
    """Missing params, metrics and sizes skip sections with a note instead of crashing."""
    from qrspps.reporting.render import build_report

    records = [
        {"run_id": "a", "status": "FINISHED", "params": {}, "metrics": {}, "tags": {}},
        {"run_id": "b", "status": "FAILED", "params": {}, "metrics": {}, "tags": {}},
        {
            "run_id": "c",
            "status": "FINISHED",
            "params": {"network.nodes": 5},
            "metrics": {"eval_time_s": 0.01},
            "tags": {"task": "scaling", "method": "statevector"},
        },
    ]
    result = build_report(records, tmp_path / "r", experiment="sparse")
    markdown = result.report_md.read_text(encoding="utf-8")
    assert "FAILED at n = ? (): no reason recorded" in markdown
    assert "not fitted: needs 2 distinct sizes, has [5]" in markdown
    assert "accuracy: no finished run has energy_abs_error" in markdown

    empty = build_report([], tmp_path / "e", experiment="empty")
    assert "0 runs" in empty.report_md.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["experiment"], "must be key=value"),
        (["experimnet=x"], "unknown argument 'experimnet'"),
        ([], "experiment=<name> (or parent_run_id=<run id>) is required"),
        (["experiment=x", "target_nodes=forty"], "target_nodes must be an integer >= 1"),
    ],
)
def test_cli_rejects_bad_arguments(argv, message):
    from qrspps.errors import ConfigError

    spec = importlib.util.spec_from_file_location("report_cli", ROOT / "experiments" / "report.py")
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    with pytest.raises(ConfigError) as info:
        cli.parse_args(argv)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("sizes", "expected"),
    [
        ([6, 8, 10], ["only 3 sizes", "fitted up to n = 10"]),
        ([8, 10, 12, 14, 16, 18, 20], []),
        ([14, 16, 18], ["only 3 sizes"]),
    ],
)
def test_claims_say_when_an_extrapolating_fit_is_weak(sizes, expected):
    from qrspps.reporting.claims import _fit_caveats
    from qrspps.reporting.collect import SeriesKey
    from qrspps.reporting.fits import fit_exponential
    from qrspps.reporting.scaling import QUANTITIES, SeriesFit

    n = np.array(sizes, dtype=float)
    fit = fit_exponential(n, 1e-3 * 2.0 ** (0.9 * n))
    item = SeriesFit(QUANTITIES[0], SeriesKey("vqe", "statevector", "double"), [], fit, None)
    note = _fit_caveats(item, "eval_time")
    for phrase in expected:
        assert phrase in note
    if not expected:
        assert note == ""
