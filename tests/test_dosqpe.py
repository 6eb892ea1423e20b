"""DOS-QPE: aliasing guard, the sign and offset of the energy axis, the trace estimator, the task.

Tolerances: FFT identities (normalisation, peak position of an isolated level under a symmetric
window) hold to round-off, 1e-10. Peak positions are read off a zero-padded grid with a parabolic
refinement; an isolated level with the Hann window is located to better than 1e-2 of the grid
step. The trace estimator is stochastic: its mean is compared with the exact ``chi(t)`` within 4
standard errors (a false alarm probability below 1e-4 per time point, 10 points).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import yaml

from qrspps.dynamics.dosqpe import (
    SpectralRange,
    characteristic_function_estimate,
    choose_grid,
    coefficient_bound_range,
    exact_range,
    lowest_peak_energy,
    spectrum_from_amplitudes,
)
from qrspps.dynamics.states import (
    product_state_circuit,
    random_trace_states,
    resolve_trace_states,
)
from qrspps.dynamics.trotter import TimeGrid, TrotterEvolution
from qrspps.errors import ConfigError
from qrspps.model.ising import IsingModel
from qrspps.model.network import execution_subnetwork, load_named_network
from qrspps.model.scenario import build_model, load_scenario
from qrspps.quantum.backend import SimulatorSettings
from tests.reference import kron_hamiltonian

CONF = Path(__file__).resolve().parents[1] / "conf"
SV = SimulatorSettings(method="statevector", max_parallel_threads=1)
RANGE = SpectralRange(-31.8, 26.1, "exact")


# --------------------------------------------------------------------------- aliasing guard


def test_refuse_names_the_range_and_nyquist_energy():
    # The published setting: 64 steps over T_max = 15 gives pi/dt = 13.4, the range reaches 28.95.
    with pytest.raises(ConfigError, match=r"aliasing=refuse.*pi/dt = 13\.4.*\[-31\.8, 26\.1\]"):
        choose_grid(RANGE, 64, total_time=15.0, aliasing="refuse")


def test_warn_keeps_the_grid_and_flags_it(caplog):
    with caplog.at_level(logging.WARNING, logger="qrspps.dynamics.dosqpe"):
        choice = choose_grid(RANGE, 32, total_time=15.0, aliasing="warn")
    assert choice.aliased and not choice.automatic
    assert choice.grid.dt == pytest.approx(15.0 / 32)
    assert "aliases" in caplog.text and "aliased=1" in caplog.text


def test_auto_with_a_fixed_time_cannot_fix_it_and_flags_it(caplog):
    with caplog.at_level(logging.WARNING, logger="qrspps.dynamics.dosqpe"):
        choice = choose_grid(RANGE, 32, total_time=15.0, aliasing="auto")
    assert choice.aliased and "aliases" in caplog.text


@pytest.mark.parametrize("steps", [8, 64, 256])
def test_automatic_grid_does_not_alias(steps, caplog):
    with caplog.at_level(logging.WARNING):
        choice = choose_grid(RANGE, steps, aliasing="refuse", margin=1.25)
    assert not choice.aliased and choice.automatic
    assert choice.centre == pytest.approx(RANGE.centre)
    # The whole range fits in the band with the margin to spare.
    assert choice.nyquist == pytest.approx(1.25 * RANGE.width / 2)
    assert choice.reach < choice.nyquist
    assert "aliases" not in caplog.text


def test_automatic_schedule_shrinks_dt_past_the_reference_steps():
    # Below N_ref the step sits at the alias limit; past it dt falls like (N_ref/N)^(2/(p+2)),
    # so T_max = N dt grows (resolution improves) while the Trotter bound T_max dt^p falls.
    limit = np.pi / (1.25 * RANGE.width / 2)
    order = 2
    choices = {n: choose_grid(RANGE, n, reference_steps=8, order=order) for n in (4, 8, 64, 256)}
    assert choices[4].grid.dt == pytest.approx(limit, rel=1e-12)
    assert choices[8].grid.dt == pytest.approx(limit, rel=1e-12)
    for n in (64, 256):
        assert choices[n].grid.dt == pytest.approx(limit * (8 / n) ** 0.5, rel=1e-12)
        assert not choices[n].aliased
    span = [choices[n].grid.steps * choices[n].grid.dt for n in (8, 64, 256)]
    bound = [t * choices[n].grid.dt ** order for t, n in zip(span, (8, 64, 256))]
    assert span[0] < span[1] < span[2]
    assert bound[0] > bound[1] > bound[2]
    # null keeps the alias limit at every N.
    assert choose_grid(RANGE, 256, reference_steps=None).grid.dt == pytest.approx(limit)


def test_bad_reference_steps_names_the_field():
    with pytest.raises(ConfigError, match=r"dosqpe\.auto_reference_steps must be >= 1 or null, was 0"):
        choose_grid(RANGE, 32, reference_steps=0)


@pytest.mark.parametrize(
    ("kind", "method", "expected"),
    [
        ("auto", "statevector", "equator"),
        ("auto", "matrix_product_state", "classical_bits"),
        ("haar", "matrix_product_state", "haar"),
        ("classical_bits", "statevector", "classical_bits"),
    ],
)
def test_trace_state_kind_resolution(kind, method, expected):
    assert resolve_trace_states(kind, method) == expected


def test_unknown_trace_state_kind_names_the_field():
    with pytest.raises(ConfigError, match=r"dosqpe\.trace_states must be one of .*was 'gauss'"):
        resolve_trace_states("gauss", "statevector")


def test_uncentred_grid_needs_more_room():
    # Without the shift the band must hold |E| up to 31.8, not the half width 28.95.
    centred = choose_grid(RANGE, 32, total_time=3.4, aliasing="warn")
    uncentred = choose_grid(RANGE, 32, total_time=3.4, aliasing="warn", center=False)
    assert not centred.aliased and uncentred.aliased


def test_paper_settings_alias_on_the_execution_network():
    # The preprint's N = 32 and N = 64 over T_max = 15 on the 30-node network: flagged honestly.
    model = build_model(execution_subnetwork(load_named_network("retail40")), load_scenario("A"))
    exact = exact_range(model)
    assert exact.width > 55.0
    bound = coefficient_bound_range(model)
    assert bound.lower <= exact.lower and exact.upper <= bound.upper
    for steps in (32, 64):
        assert choose_grid(exact, steps, total_time=15.0, aliasing="warn").aliased


@pytest.mark.parametrize(
    "override, message",
    [
        ({"window": "kaiser"}, "dosqpe.window must be one of"),
        ({"order": 3}, "dosqpe.order must be 1 or an even number"),
        ({"aliasing": "ignore"}, "dosqpe.aliasing must be one of"),
        ({"random_states": 1}, "dosqpe.random_states must be >= 2"),
        ({"total_time": -1.0}, "dosqpe.total_time must be > 0 or null"),
        ({"pcat": {"f": 1.2}}, r"dosqpe.pcat.f must be in \(0, 1\), was 1.2"),
    ],
)
def test_bad_settings_name_the_field(override, message):
    from qrspps.dynamics.settings import DosqpeSettings

    with pytest.raises(ConfigError, match=message):
        DosqpeSettings.from_mapping(override)


# --------------------------------------------------------------------------- energy axis


@pytest.mark.parametrize("bit, energy", [(0, 0.7), (1, -0.7)])
@pytest.mark.parametrize("centre", [0.0, 0.45])
def test_single_level_peaks_at_its_energy_not_its_negative(bit, energy, centre):
    # H = 0.7 Z on one qubit: |0> has E = +0.7, |1> has E = -0.7. The amplitude comes from the
    # Trotter circuit on Aer (exact here: one term), so the whole chain's sign is checked.
    model = IsingModel.from_terms(1, z={0: 0.7})
    grid = TimeGrid(64, 0.3)
    amps = np.zeros((1, 2), dtype=complex)
    amps[0, bit] = 1.0
    (run,) = TrotterEvolution(model, grid, order=1, settings=SV).evolve(
        [("basis", product_state_circuit(amps))]
    )
    np.testing.assert_allclose(run.amplitudes, np.exp(-1j * energy * grid.times), atol=1e-10)
    spectrum = spectrum_from_amplitudes(run.amplitudes, grid, centre=centre, zero_pad=8)
    step = spectrum.energies[1] - spectrum.energies[0]
    assert lowest_peak_energy(spectrum) == pytest.approx(energy, abs=1e-2 * step)
    assert spectrum.energies[np.argmax(spectrum.weights)] == pytest.approx(energy, abs=step)
    assert spectrum.weights.sum() == pytest.approx(1.0, abs=1e-10)


def test_two_levels_keep_their_order_and_weights():
    # A(t) = 0.3 exp(+2.5 i t) + 0.7 exp(-1.25 i t): levels at -2.5 (weight 0.3) and 1.25 (0.7).
    grid = TimeGrid(128, 0.2)
    t = grid.times
    amplitude = 0.3 * np.exp(2.5j * t) + 0.7 * np.exp(-1.25j * t)
    spectrum = spectrum_from_amplitudes(amplitude, grid, centre=-0.6, window="hann", zero_pad=4)
    assert lowest_peak_energy(spectrum) == pytest.approx(-2.5, abs=0.01)
    below = spectrum.weights[spectrum.energies < -0.6].sum()
    assert below == pytest.approx(0.3, abs=0.01)
    assert spectrum.weights.sum() == pytest.approx(1.0, abs=1e-10)


def test_aliased_level_folds_back():
    # A level beyond pi/dt appears at E - 2 pi/dt: what the guard prevents.
    grid = TimeGrid(64, 0.5)  # pi/dt = 6.28
    spectrum = spectrum_from_amplitudes(np.exp(-1j * 9.0 * grid.times), grid, zero_pad=4)
    assert lowest_peak_energy(spectrum) == pytest.approx(9.0 - 2 * np.pi / 0.5, abs=0.02)


# --------------------------------------------------------------------------- trace estimator


TIMES = np.linspace(0.0, 3.0, 10)


def _four_qubit_case(x: dict[int, float]):
    """A 4-qubit model with shocks ``x``, its dense eigenpairs and the exact ``chi(t)``."""
    terms = dict(
        z={0: 0.1, 1: 0.15, 2: 0.2, 3: -0.25},
        zz=[(0, 1, -0.8), (1, 2, -0.5), (0, 2, -0.3), (2, 3, -0.7)],
        x=x,
    )
    values, vectors = np.linalg.eigh(kron_hamiltonian(4, **terms))
    chi = np.exp(-1j * np.multiply.outer(TIMES, values)).mean(axis=1)
    return IsingModel.from_terms(4, **terms), values, vectors, chi


def _exact_state_amplitudes(rows: np.ndarray, values, vectors) -> np.ndarray:
    """``A(t)`` of the product state with rows ``rows``, by dense diagonalisation."""
    psi = np.array([1.0 + 0j])
    for row in rows:
        psi = np.kron(row, psi)
    weights = np.abs(vectors.conj().T @ psi) ** 2
    return np.exp(-1j * np.multiply.outer(TIMES, values)) @ weights


@pytest.mark.parametrize("kind", ["classical_bits", "haar", "equator"])
def test_trace_estimator_is_unbiased(kind):
    model, values, vectors, chi = _four_qubit_case({0: -1.5, 1: -0.4})
    states = random_trace_states(model, 400, np.random.default_rng(2024), kind)
    amps = [_exact_state_amplitudes(s.product_amplitudes, values, vectors) for s in states]
    mean, stderr = characteristic_function_estimate(np.array(amps))
    assert np.all(np.abs(mean - chi) <= 4.0 * stderr + 1e-12)
    assert mean[0] == pytest.approx(1.0)


def test_every_equator_state_is_exact_when_every_shocked_node_is_its_own_cluster():
    # Nodes 0 and 3 carry X terms and are not coupled to each other: single-node clusters. An
    # equator state weighs every classical configuration by 2**-n exactly and puts the shocked
    # nodes in Y eigenstates (<X> = <Z> = 0), so each state alone gives chi(t) to round-off.
    model, values, vectors, chi = _four_qubit_case({0: -1.5, 3: -0.4})
    for state in random_trace_states(model, 4, np.random.default_rng(7), "equator"):
        amps = _exact_state_amplitudes(state.product_amplitudes, values, vectors)
        np.testing.assert_allclose(amps, chi, atol=1e-12)
    # A Haar state on the same model is not exact: the check can fail.
    haar = random_trace_states(model, 1, np.random.default_rng(7), "haar")[0]
    amps = _exact_state_amplitudes(haar.product_amplitudes, values, vectors)
    assert np.abs(amps - chi).max() > 1e-2


# --------------------------------------------------------------------------- the task


def _cfg(nodes: int, **dosqpe) -> dict:
    network = yaml.safe_load((CONF / "network" / "retail40.yaml").read_text())
    network["nodes"] = nodes
    policies = yaml.safe_load((CONF / "policies" / "default.yaml").read_text())
    policies["screen"] = ["no_intervention", "trade_diversion"]
    return {
        "network": network,
        "scenario": yaml.safe_load((CONF / "scenario" / "A.yaml").read_text()),
        "policies": policies,
        "dosqpe": {"trotter_steps": 16, "random_states": 3, "order": 2, **dosqpe},
        "ansatz": {"depth": 1},
        "optimizer": {"name": "lbfgsb", "init": "mean_field", "restarts": 1},
        "simulator": {"method": "statevector", "max_parallel_threads": 1},
        "seed": 3,
    }


def test_task_runs_and_reports_against_exact_answers():
    from qrspps.tasks.dosqpe import run

    result = run(_cfg(6, initial_state="vqe"))
    m = result.metrics
    assert m["num_qubits"] == 6 and m["aliased"] == 0.0
    for key in ("trotter_error", "dos_distance", "ground_energy_estimate_error",
                "pcat_max_abs_error", "dos_time_s", "wall_time_s", "dt", "total_time"):
        assert np.isfinite(m[key]), key
    assert m["total_time"] == pytest.approx(16 * m["dt"])
    # The two parts of dos_distance obey the triangle inequality of the Wasserstein metric. The
    # equator trace states carry no sampling error here (single-node clusters), so the rest is the
    # FFT resolution of 16 samples, well above the Trotter part (order 2, ~1e-2 of A(t)).
    whole, sampled, trotter = (
        m["dos_distance"], m["dos_distance_exact_evolution"], m["dos_distance_trotter_part"]
    )
    assert abs(whole - sampled) <= trotter + 1e-12
    assert 0.0 <= trotter < 0.5 * whole
    assert m["nyquist_energy"] > m["spectral_width"] / 2
    assert m["cascade_nodes_changed"] <= 1  # only RM-A carries an X term in scenario A
    assert {"vix", "pcat_curve", "dos_spectrum", "survival_amplitude", "cascade"} <= set(
        result.tables)
    assert {"survival_amplitude", "dos", "pcat", "cascade"} <= set(result.figures)
    vix = [r for r in result.tables["vix"] if r["policy"] == "trade_diversion"]
    assert [r["vix"] for r in vix] == [12.0, 20.0, 30.0, 40.0, 80.0]
    assert [r["temperature"] for r in vix] == pytest.approx([0.6, 1.0, 1.5, 2.0, 4.0])


def test_task_with_the_published_grid_reports_aliasing():
    from qrspps.tasks.dosqpe import run

    # 12 nodes: the spectrum spans 19.2, more than 2 pi / dt = 13.4 of the published grid.
    result = run(_cfg(12, initial_state="mean_field", trotter_steps=32, total_time=15.0,
                      aliasing="warn"))
    assert result.metrics["aliased"] == 1.0
    assert "aliasing_warning" in result.tags
    with pytest.raises(ConfigError, match="pi/dt"):
        run(_cfg(12, initial_state="mean_field", trotter_steps=32, total_time=15.0,
                 aliasing="refuse"))


def test_pcat_falls_back_to_a_certified_bound_without_the_level_list():
    from dataclasses import replace

    from qrspps.dynamics.dos_runs import full_dos, pcat_curve
    from qrspps.dynamics.settings import DosqpeSettings, PcatSettings

    network = load_named_network("retail40").prefix(8)
    model = build_model(network, load_scenario("A"))
    settings = DosqpeSettings(trotter_steps=16, random_states=2)
    dos = full_dos("scenario", model, settings, SV, np.random.default_rng(0))
    temps = np.array([0.5, 1.0, 4.0, 16.0])
    exact = pcat_curve(dos, temps, PcatSettings())
    # What the task sees when the exact solver cannot list the levels (too many distinct ones).
    bounded = pcat_curve(replace(dos, exact_spectrum=None), temps, PcatSettings())
    assert not exact.exact_is_bound and bounded.exact_is_bound
    assert bounded.exact_kind == "upper bound"
    np.testing.assert_allclose(bounded.estimate, exact.estimate, rtol=1e-12)
    assert np.all(bounded.exact >= exact.exact)
    # The certified error covers the true one.
    assert np.all(bounded.abs_error >= exact.abs_error)
    # Without the exact range there is nothing to bound with.
    loose = replace(dos, exact_spectrum=None, choice=replace(dos.choice, spectral_range=replace(
        dos.choice.spectral_range, source="coefficient bound")))
    assert pcat_curve(loose, temps, PcatSettings()) is None
