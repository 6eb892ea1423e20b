"""Every config in conf/ composes, carries the right types, and bad input fails up front.

Composition is tested in-process with Hydra's compose API; one test goes through the real app to
check that a bad override stops a run before any job or MLflow run exists.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException, MissingConfigException
from omegaconf import OmegaConf

import qrspps.config
from qrspps.config.schema import OptimizerName, SimulatorMethod, TaskName
from qrspps.harness.problem import build_problem
from qrspps.tasks import TASK_MODULES

CONF = qrspps.config.CONF_DIR

#: Config groups selected in the primary config's defaults list (the ``sweep`` and ``profile``
#: groups are package-global and checked separately).
GROUPS = (
    "network",
    "scenario",
    "policies",
    "task",
    "ansatz",
    "optimizer",
    "simulator",
    "dosqpe",
    "montecarlo",
    "screening",
    "tracking",
)


def _options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


def _compose(overrides: list[str], *, hydra: bool = False, conf_dir: Path = CONF):
    with initialize_config_dir(str(conf_dir), version_base="1.3"):
        return compose("config", overrides=overrides, return_hydra_config=hydra)


def _plain(cfg) -> dict:
    """The run config as tasks get it (the Hydra node, if composed, is left out)."""
    return {
        key: OmegaConf.to_container(cfg[key], resolve=True, enum_to_str=True)
        if OmegaConf.is_config(cfg[key])
        else cfg[key]
        for key in cfg
        if key != "hydra"
    }


@pytest.mark.parametrize(("group", "option"), [(g, o) for g in GROUPS for o in _options(g)])
def test_every_group_option_composes(group: str, option: str) -> None:
    cfg = _plain(_compose([f"{group}={option}"], hydra=True))
    assert set(cfg) >= set(GROUPS)
    assert cfg["task"]["name"] in TASK_MODULES


@pytest.mark.parametrize("option", _options("profile"))
def test_every_profile_composes(option: str) -> None:
    cfg = _compose([f"profile={option}"])
    assert cfg.profile == option


@pytest.mark.parametrize("option", _options("sweep"))
def test_every_sweep_preset_sets_sweeper_params(option: str) -> None:
    cfg = _compose([f"sweep={option}"], hydra=True)
    params = OmegaConf.to_container(cfg.hydra.sweeper.params)
    assert params, f"sweep={option} sets no hydra.sweeper.params"
    for key, values in params.items():
        assert OmegaConf.select(cfg, key) is not None or key == "network.nodes"
        assert "," in str(values)


@pytest.mark.parametrize(
    "option", sorted(p.stem for p in (CONF / "hydra" / "launcher").glob("*.yaml"))
)
def test_every_launcher_preset_composes(option: str) -> None:
    cfg = _compose([f"hydra/launcher={option}"], hydra=True)
    assert cfg.hydra.launcher._target_.startswith("hydra_plugins.")


def test_plugin_launchers_compose() -> None:
    for option in ("basic", "joblib", "submitit_local", "submitit_slurm"):
        cfg = _compose([f"hydra/launcher={option}"], hydra=True)
        assert "_target_" in cfg.hydra.launcher


def test_parallel_launcher_has_two_workers() -> None:
    cfg = _compose(["hydra/launcher=parallel"], hydra=True)
    assert cfg.hydra.launcher.n_jobs == 2
    assert cfg.hydra.launcher._target_.endswith("JoblibLauncher")


def test_defaults_and_types() -> None:
    cfg = _compose([])
    assert cfg.task.name == TaskName.exact
    assert cfg.optimizer.name == OptimizerName.lbfgsb
    assert cfg.simulator.method == SimulatorMethod.auto
    assert cfg.network.nodes is None
    assert cfg.tracking.resume is True
    assert cfg.dosqpe.pcat.vix_levels == [12.0, 20.0, 30.0, 40.0, 80.0]
    assert cfg.dosqpe.total_time is None
    plain = _plain(cfg)
    assert plain["simulator"]["method"] == "auto"  # enums reach tasks as plain strings


def test_paper_profile_is_the_published_setup() -> None:
    cfg = _plain(_compose(["profile=paper"]))
    published = {"name": "cobyla", "maxiter": 2000, "restarts": 5, "rhobeg": 0.5, "init": "random"}
    assert {k: cfg["optimizer"][k] for k in published} == published
    assert cfg["ansatz"]["depth"] == 3
    assert cfg["dosqpe"]["trotter_steps"] == 32
    assert cfg["simulator"]["method"] == "statevector"
    assert cfg["montecarlo"]["samples"] == 50000


def test_cli_overrides_beat_profiles() -> None:
    cfg = _compose(["profile=paper", "optimizer.maxiter=10", "ansatz.depth=1"])
    assert cfg.optimizer.maxiter == 10
    assert cfg.ansatz.depth == 1


@pytest.mark.parametrize(
    ("network", "nodes", "expected"),
    [("retail40", None, 40), ("retail40", 12, 12), ("exec30", None, 30), ("exec30", 8, 8)],
)
def test_network_options_build_problems(network: str, nodes: int | None, expected: int) -> None:
    overrides = [f"network={network}"] + ([f"network.nodes={nodes}"] if nodes else [])
    problem = build_problem(_plain(_compose(overrides)))
    assert problem.network.num_nodes == expected


def test_generated_network_composes() -> None:
    cfg = _plain(_compose(["network=generated", "network.nodes=60", "network.seed=3"]))
    assert cfg["network"] == {
        "name": "generated",
        "nodes": 60,
        "selection": "prefix",
        "seed": 3,
        "tiers": None,
        "node_table": None,
        "edges": None,
    }


def test_generated_network_builds_with_the_default_scenario() -> None:
    problem = build_problem(_plain(_compose(["network=generated", "network.nodes=60"])))
    assert problem.network.num_nodes == 60


def test_every_scenario_and_policy_builds() -> None:
    for scenario in _options("scenario"):
        problem = build_problem(_plain(_compose([f"scenario={scenario}"])))
        assert problem.model.num_qubits == 40
        assert set(problem.policies) == {
            "no_intervention",
            "rate_hike",
            "supplier_subsidy",
            "stockpile_release",
            "trade_diversion",
            "combined_optimal",
        }


# --------------------------------------------------------------------------- bad input


def _error_text(exc: BaseException) -> str:
    """Message of a composition error with its cause (the part Hydra prints under it)."""
    return f"{exc}\n{exc.__cause__ or ''}"


def test_unknown_key_fails_with_hydras_message() -> None:
    with pytest.raises(ConfigCompositionException) as info:
        _compose(["network.nodse=8"])
    assert "Could not override 'network.nodse'" in str(info.value)
    assert "To append to your config use +network.nodse=8" in str(info.value)


def test_wrong_type_fails_with_hydras_message() -> None:
    with pytest.raises(ConfigCompositionException) as info:
        _compose(["network.nodes=abc"])
    text = _error_text(info.value)
    assert "Error merging override network.nodes=abc" in text
    assert "Value 'abc' of type 'str' could not be converted to Integer" in text
    assert "full_key: network.nodes" in text


def test_float_for_int_fails() -> None:
    with pytest.raises(ConfigCompositionException) as info:
        _compose(["optimizer.maxiter=1.5"])
    assert "Value '1.5' of type 'float' could not be converted to Integer" in _error_text(
        info.value
    )


def test_bad_enum_value_lists_the_choices() -> None:
    with pytest.raises(ConfigCompositionException) as info:
        _compose(["simulator.method=statevektor"])
    assert (
        "Invalid value 'statevektor', expected one of [statevector, matrix_product_state, auto]"
        in _error_text(info.value)
    )


def test_unknown_group_option_lists_the_options() -> None:
    with pytest.raises(MissingConfigException) as info:
        _compose(["simulator=fast"])
    text = str(info.value)
    assert "Could not find 'simulator/fast'" in text
    assert "Available options in 'simulator'" in text
    for option in ("auto", "gpu", "mps", "statevector"):
        assert option in text


def test_typo_in_a_config_file_fails(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    shutil.copytree(CONF, conf)
    (conf / "optimizer" / "typo.yaml").write_text("name: cobyla\nmaxiterr: 10\n")
    with pytest.raises(ConfigCompositionException) as info:
        _compose(["optimizer=typo"], conf_dir=conf)
    assert "Key 'maxiterr' not in 'OptimizerConfig'" in _error_text(info.value)


def test_bad_override_stops_the_app_before_any_job(run_app, tracking_uri: str) -> None:
    from tests.conftest import experiment_runs

    result = run_app("network.nodes=abc", "tracking.experiment=cfg-bad-override")
    assert result.returncode == 1
    assert "Value 'abc' of type 'str' could not be converted to Integer" in result.output
    assert experiment_runs(tracking_uri, "cfg-bad-override") == []
