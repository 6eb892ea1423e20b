"""VQE against exact ground energies, honest reporting of the published COBYLA settings, the task.

Reference energies are the lowest eigenvalue of a dense Hamiltonian built from explicit Kronecker
products (:mod:`tests.reference`) for small sizes, and the structure-aware exact solver at 30 and
40 nodes (tested against dense diagonalisation in ``tests/test_exact_structured.py``).

Tolerance: the target 1e-6 on the energy; L-BFGS-B stops on a projected gradient below 1e-6 or a
relative energy change below 1e-12, which leaves errors of order 1e-11.

Note: prefixes of retail40 up to 20 nodes contain no retail store, so scenario B equals scenario A
there; the sub-network tests below keep three stores so that B's extra shocks are present.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from qrspps.exact.structured import exact_ground_state
from qrspps.model.ising import IsingModel
from qrspps.model.network import execution_subnetwork, load_named_network
from qrspps.model.scenario import build_model, load_scenario
from qrspps.quantum.backend import SimulatorSettings
from qrspps.quantum.vqe import OptimizerSettings, mean_field_angles, run_vqe
from tests.reference import kron_hamiltonian

TARGET = 1e-6
CONF = Path(__file__).resolve().parents[1] / "conf"
#: One Aer thread: results and timings must not depend on the machine's load.
SV = SimulatorSettings(method="auto", max_parallel_threads=1)


def _dense_ground_energy(model: IsingModel) -> float:
    h = kron_hamiltonian(
        model.num_qubits,
        {i: float(c) for i, c in enumerate(model.z)},
        [(int(i), int(j), float(c)) for (i, j), c in zip(model.zz_pairs, model.zz)],
        {int(k): float(model.x[k]) for k in np.flatnonzero(model.x)},
    )
    return float(np.linalg.eigvalsh(h)[0])


def _prefix(n: int, scenario: str) -> IsingModel:
    return build_model(load_named_network("retail40").prefix(n), load_scenario(scenario))


def _with_stores(scenario: str) -> IsingModel:
    net = load_named_network("retail40").subnetwork([0, 2, 3, 9, 10, 20, 21, 22])
    return build_model(net, load_scenario(scenario))


@pytest.mark.parametrize(
    ("label", "make", "optimizer", "method"),
    [
        (
            "prefix 6, A",
            lambda: _prefix(6, "A"),
            OptimizerSettings(name="lbfgsb", restarts=1, init="random"),
            "statevector",
        ),
        (
            "prefix 10, B",
            lambda: _prefix(10, "B"),
            OptimizerSettings(name="lbfgsb", restarts=2, init="mean_field", init_noise=0.3),
            "statevector",
        ),
        (
            "8 nodes with stores, B",
            lambda: _with_stores("B"),
            OptimizerSettings(name="lbfgsb", restarts=1, init="random"),
            "statevector",
        ),
        (
            "8 nodes with stores, B, MPS",
            lambda: _with_stores("B"),
            OptimizerSettings(name="lbfgsb", restarts=2, init="mean_field", init_noise=0.3),
            "matrix_product_state",
        ),
    ],
)
def test_vqe_reaches_the_exact_ground_energy(label, make, optimizer, method) -> None:
    model = make()
    exact = _dense_ground_energy(model)
    result = run_vqe(
        model,
        optimizer=optimizer,
        seed=1,
        exact_energy=exact,
        simulator=SimulatorSettings(method=method, max_parallel_threads=1),
    )

    assert result.method == method
    assert result.abs_error == pytest.approx(result.energy - exact, abs=1e-15)
    assert -1e-9 <= result.abs_error <= TARGET, label  # variational: never below E0
    assert all(e >= exact - 1e-9 for e in result.restart_energies)
    assert len(result.restart_energies) == optimizer.restarts
    # Every start must converge: the noisy mean-field starts are not at the optimum already.
    assert max(result.restart_energies) - exact <= TARGET
    np.testing.assert_allclose(result.stress, exact_ground_state(model).stress, atol=1e-4)
    assert result.gradient_evaluations > 0
    assert result.evaluations >= result.gradient_evaluations * 2 * result.num_parameters
    assert result.num_parameters == 4 * model.num_qubits
    assert len(result.energy_trace) == result.iterations


def test_mean_field_energy_is_an_upper_bound_and_exact_for_product_ground_states() -> None:
    model = _with_stores("B")
    _, energy = mean_field_angles(model, np.random.default_rng(0), starts=16)
    exact = _dense_ground_energy(model)
    # The shocked nodes here are not coupled to each other, so the ground state is a product state.
    assert energy == pytest.approx(exact, abs=1e-9)
    # Shocks on Sup-A (1, coupled to the shocked RM-A) and Dist-01 (3, coupled to the shocked
    # Store-01): the ground state is entangled and the product state only an upper bound.
    coupled = model + IsingModel.from_terms(8, x={1: -0.8, 3: -0.7})
    _, coupled_energy = mean_field_angles(coupled, np.random.default_rng(0), starts=16)
    assert coupled_energy > _dense_ground_energy(coupled) + 1e-3


def test_cobyla_reports_honestly() -> None:
    """A short COBYLA run need not reach the target; what it reports must be true."""
    model = _prefix(6, "A")
    exact = _dense_ground_energy(model)
    opt = OptimizerSettings(name="cobyla", maxiter=150, restarts=2, rhobeg=0.5)
    result = run_vqe(model, optimizer=opt, seed=3, exact_energy=exact, simulator=SV)

    assert result.optimizer == "cobyla" and result.gradient_evaluations == 0
    assert result.abs_error == pytest.approx(result.energy - exact, abs=1e-15)
    assert result.abs_error >= -1e-9
    assert result.rel_error == pytest.approx(result.abs_error / abs(exact))
    assert result.energy == pytest.approx(min(result.restart_energies), abs=1e-9)
    assert "MAXFUN" in result.termination_reason or result.termination_reason  # scipy's message
    assert result.function_evaluations <= 2 * 150
    # Every optimiser evaluation is one energy, plus the final re-evaluation of the best point.
    assert result.evaluations == result.function_evaluations + 1


def test_seeded_runs_are_reproducible_and_starts_independent_of_restart_count() -> None:
    model = _prefix(5, "A")
    opt = OptimizerSettings(name="lbfgsb", maxiter=3, restarts=2)
    a = run_vqe(model, optimizer=opt, seed=7, simulator=SV)
    b = run_vqe(model, optimizer=opt, seed=7, simulator=SV)
    c = run_vqe(
        model,
        optimizer=OptimizerSettings(name="lbfgsb", maxiter=3, restarts=3),
        seed=7,
        simulator=SV,
    )
    d = run_vqe(model, optimizer=opt, seed=8, simulator=SV)
    assert a.restart_energies == b.restart_energies
    np.testing.assert_array_equal(a.parameters, b.parameters)
    assert c.restart_energies[:2] == pytest.approx(a.restart_energies, abs=1e-12)
    assert d.restart_energies != a.restart_energies


def test_optimizer_settings_validation() -> None:
    from qrspps.errors import ConfigError

    with pytest.raises(ConfigError, match=r"optimizer.name must be one of .* was 'adam'"):
        OptimizerSettings(name="adam")
    with pytest.raises(ConfigError, match=r"optimizer\.restarts must be >= 1, was 0"):
        OptimizerSettings(restarts=0)
    with pytest.raises(ConfigError, match=r"optimizer.init must be one of .* was 'exact'"):
        OptimizerSettings(init="exact")
    settings = OptimizerSettings.from_mapping(
        {
            "name": "cobyla",
            "maxiter": 2000,
            "restarts": 5,
            "rhobeg": 0.5,
            "tol": 1e-8,
            "init": "random",
        }
    )
    assert (settings.name, settings.effective_maxiter, settings.restarts) == ("cobyla", 2000, 5)
    assert OptimizerSettings.from_mapping({"name": "L-BFGS-B"}).name == "lbfgsb"


def _task_cfg(nodes: int, scenario: str, **overrides) -> dict:
    def load(path: str):
        return yaml.safe_load((CONF / path).read_text())

    network = load("network/retail40.yaml")
    network["nodes"] = nodes
    cfg = {
        "network": network,
        "scenario": load(f"scenario/{scenario}.yaml"),
        "policies": load("policies/default.yaml"),
        "ansatz": {"name": "brickwork_ry", "depth": 3},
        "optimizer": {
            "name": "lbfgsb",
            "maxiter": 500,
            "restarts": 1,
            "tol": 1e-12,
            "init": "random",
        },
        "simulator": {"method": "auto", "max_parallel_threads": 1},
        "montecarlo": {
            "samples": 2000,
            "base_failure_probability": 0.05,
            "propagation_factor": 0.6,
            "threshold": 0.15,
        },
        "seed": 0,
    }
    cfg.update(overrides)
    return cfg


def test_vqe_task_reports_the_spec_metrics() -> None:
    from qrspps.tasks import vqe as vqe_task

    result = vqe_task.run(_task_cfg(6, "A"))
    for name in (
        "num_qubits",
        "num_parameters",
        "exact_energy",
        "vqe_energy",
        "energy_abs_error",
        "energy_rel_error",
        "energy_evaluations",
        "wall_time_s",
        "eval_time_s",
        "statevector_bytes",
        "mc_nodes_above_threshold",
        "mc_max_abs_delta_p",
        "mc_nodes_above_threshold_exact",
        "mc_max_abs_delta_p_exact",
    ):
        assert name in result.metrics, name
    m = result.metrics
    assert m["num_qubits"] == 6 and m["num_parameters"] == 24
    assert m["statevector_bytes"] == 16 * 2**6
    assert 0 <= m["energy_abs_error"] <= TARGET
    assert m["exact_energy"] == pytest.approx(_dense_ground_energy(_prefix(6, "A")), abs=1e-9)
    assert result.tags["method"] == "statevector"
    assert result.tags["termination_reason"]
    assert "simulated" in result.tags["value_kind"] and "sampled" in result.tags["value_kind"]
    assert len(result.series["vqe_energy_trace"]) >= 1
    assert [r["label"] for r in result.tables["stress"]][:2] == ["RM-A", "RM-B"]
    assert {"node", "label", "P_mc", "dP_vqe", "dP_exact"} <= set(result.tables["montecarlo"][0])
    assert set(result.figures) == {"stress", "delta_p"}
    row = result.tables["montecarlo"][1]
    stress_row = result.tables["stress"][1]
    assert row["dP_vqe"] == pytest.approx(stress_row["P_vqe"] - row["P_mc"])


# ------------------------------------------------------------------------------ slow


@pytest.mark.slow
def test_cobyla_with_the_published_settings_reports_honestly() -> None:
    """maxiter 2000, rhobeg 0.5, 5 seeded starts, angles uniform in (-pi, pi). The error is
    reported as it is; only its sign (variational) and bookkeeping are asserted."""
    model = _prefix(6, "A")
    exact = _dense_ground_energy(model)
    opt = OptimizerSettings(name="cobyla", maxiter=2000, restarts=5, rhobeg=0.5)
    result = run_vqe(model, optimizer=opt, seed=0, exact_energy=exact, simulator=SV)
    assert len(result.restart_energies) == 5
    assert result.abs_error >= -1e-9
    assert result.function_evaluations <= 5 * 2000
    print(
        f"COBYLA published settings, 6 qubits: error {result.abs_error:.3e}, "
        f"{result.function_evaluations} evaluations, {result.wall_time_s:.1f} s, "
        f"starts {result.restart_energies}, '{result.termination_reason}'"
    )


@pytest.mark.slow
@pytest.mark.parametrize("case", ["A", "B", "exec30A"])
def test_vqe_targets_at_30_and_40_qubits(case: str) -> None:
    """The targets: |E - E0| <= 1e-6 within 15 minutes with the method `auto` picks (MPS here),
    L-BFGS-B from the mean-field start plus two starts perturbed by up to 0.3 rad per angle."""
    net = load_named_network("retail40")
    network, scenario = (execution_subnetwork(net), "A") if case == "exec30A" else (net, case)
    model = build_model(network, load_scenario(scenario))
    exact = exact_ground_state(model).energy
    start = time.perf_counter()
    result = run_vqe(
        model,
        optimizer=OptimizerSettings(name="lbfgsb", restarts=3, init="mean_field", init_noise=0.3),
        simulator=SimulatorSettings(method="auto"),
        seed=0,
        exact_energy=exact,
    )
    wall = time.perf_counter() - start
    assert result.method == "matrix_product_state"
    assert -1e-9 <= result.abs_error <= TARGET
    assert max(result.restart_energies) - exact <= TARGET
    assert wall < 15 * 60
    print(f"{case}: error {result.abs_error:.2e}, {wall:.0f} s, starts {result.restart_energies}")
