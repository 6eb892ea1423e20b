"""The problem a job works on, built from the resolved config (plain data, no Hydra types).

Config layout read here (see ``conf/``)::

    network:   {name, nodes, selection: prefix|exec30, tiers, node_table, edges}   # a file's data
           or  {name: generated, nodes, seed}                                        # generated
    scenario:  {name, description, shocks}
    policies:  {screen: [ids], catalogue: {id: {name, cost, terms}}}
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from qrspps.errors import ConfigError
from qrspps.model.generator import generate_network
from qrspps.model.ising import IsingModel
from qrspps.model.network import SupplyNetwork, execution_subnetwork, network_from_mapping
from qrspps.model.scenario import (
    Policy,
    Scenario,
    build_model,
    policies_from_mapping,
    scenario_from_mapping,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Problem:
    """Network, scenario, the scenario Hamiltonian and the policies selected for screening."""

    network: SupplyNetwork
    scenario: Scenario
    model: IsingModel
    policies: dict[str, Policy]

    def policy_model(self, policy_id: str) -> IsingModel:
        """Scenario Hamiltonian plus the perturbation of ``policy_id``."""
        return build_model(self.network, self.scenario, self.policies[policy_id])


def network_from_config(cfg: Mapping[str, Any]) -> SupplyNetwork:
    """Network selected by the ``network`` config group (file data or generated, then sized)."""
    source = f"config network={cfg.get('name')!r}"
    nodes = cfg.get("nodes")
    if cfg.get("name") == "generated":
        if nodes is None:
            raise ConfigError(f"{source}: network.nodes must be set for a generated network")
        return generate_network(int(nodes), int(cfg.get("seed", 0)))

    network = network_from_mapping(cfg, source=source)
    selection = cfg.get("selection", "prefix")
    if selection == "exec30":
        network = execution_subnetwork(network)
    elif selection != "prefix":
        raise ConfigError(
            f"{source}: network.selection must be 'prefix' or 'exec30', was {selection!r}"
        )
    if nodes is not None:
        network = network.prefix(int(nodes))
    return network


def build_problem(cfg: Mapping[str, Any]) -> Problem:
    """The :class:`Problem` of a resolved run config (``network``, ``scenario``, ``policies``)."""
    network = network_from_config(cfg["network"])
    scenario = scenario_from_mapping(
        cfg["scenario"], source=f"config scenario={cfg['scenario'].get('name')!r}"
    )
    policy_cfg = cfg.get("policies") or {}
    catalogue = policies_from_mapping(
        policy_cfg.get("catalogue") or {"no_intervention": {"cost": 0}}, source="config policies"
    )
    screen = list(policy_cfg.get("screen") or catalogue)
    unknown = [p for p in screen if p not in catalogue]
    if unknown:
        raise ConfigError(
            f"config policies.screen: unknown policy id(s) {unknown}; expected ids from "
            f"policies.catalogue: {list(catalogue)}"
        )
    model = build_model(network, scenario)
    log.info(
        "problem: network %s (%d nodes, %d edges), scenario %s",
        network.name,
        network.num_nodes,
        len(network.edges),
        scenario.name,
    )
    return Problem(network, scenario, model, {p: catalogue[p] for p in screen})
