"""Shock scenarios and crisis policies, written against node labels and tiers.

A scenario adds transverse-field shocks ``-lambda_k X_k`` to the network Hamiltonian; a policy is a
perturbation of Z, ZZ and X terms with a cost (SPEC 3.4). Both select nodes by ``labels`` or by
``tier`` (id or name, optionally only the ``first`` k nodes of that tier), so the same file applies
to any network. Signs follow :mod:`qrspps.conventions`.

Selection on a sub-network: a label that belongs to the network the sub-network was cut from but
was cut away is dropped (logged at DEBUG); a label the network never had is an error, since it is
almost always a typo.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from qrspps.errors import ScenarioError
from qrspps.model.ising import IsingModel
from qrspps.model.network import SupplyNetwork

log = logging.getLogger(__name__)

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"

#: Policy ids of SPEC 3.4, in the published order.
POLICY_IDS = (
    "no_intervention",
    "rate_hike",
    "supplier_subsidy",
    "stockpile_release",
    "trade_diversion",
    "combined_optimal",
)

_OPERATORS = ("Z", "ZZ", "X")


@dataclass(frozen=True)
class Shock:
    """Shock of strength ``lambda >= 0`` (energy units) on selected nodes: ``-lambda X_k``."""

    strength: float
    selector: Mapping[str, Any]


@dataclass(frozen=True)
class Scenario:
    """A named set of shocks."""

    name: str
    description: str
    shocks: tuple[Shock, ...]


@dataclass(frozen=True)
class PolicyTerm:
    """``coeff * op`` on every selected node (Z, X) or on one ``pair`` of nodes (ZZ)."""

    op: str
    coeff: float
    selector: Mapping[str, Any]


@dataclass(frozen=True)
class Policy:
    """A crisis policy: a Hamiltonian perturbation and its cost (arbitrary cost units)."""

    id: str
    name: str
    cost: float
    terms: tuple[PolicyTerm, ...]


# --------------------------------------------------------------------------- parsing


def _number(value: Any, where: str, *, minimum: float | None = None) -> float:
    if isinstance(value, bool):
        raise ScenarioError(f"{where}: expected a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ScenarioError(f"{where}: expected a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ScenarioError(f"{where}: expected a finite number, got {value!r}")
    if minimum is not None and number < minimum:
        raise ScenarioError(f"{where}: must be >= {minimum:g}, was {number:g}")
    return number


def _selector(entry: Mapping[str, Any], where: str, keys: tuple[str, ...]) -> dict[str, Any]:
    chosen = {k: entry[k] for k in keys if entry.get(k) is not None}
    if len(chosen) != 1:
        raise ScenarioError(f"{where}: give exactly one of {', '.join(keys)}; got {dict(entry)!r}")
    if "first" in entry and entry["first"] is not None:
        chosen["first"] = entry["first"]
    return chosen


def scenario_from_mapping(data: Any, *, source: str = "<mapping>") -> Scenario:
    """Parse a scenario (``name``, ``description``, ``shocks: [{strength, labels|tier}]``)."""
    if not isinstance(data, Mapping):
        raise ScenarioError(f"{source}: expected a mapping with 'name' and 'shocks', got {data!r}")
    raw = data.get("shocks")
    if raw is None or isinstance(raw, str | bytes) or not isinstance(raw, Sequence):
        raise ScenarioError(f"{source}: 'shocks' must be a list, got {raw!r}")
    shocks = []
    for k, entry in enumerate(raw):
        where = f"{source}: shocks[{k}]"
        if not isinstance(entry, Mapping):
            raise ScenarioError(f"{where}: expected a mapping, got {entry!r}")
        if entry.get("strength") is None:
            raise ScenarioError(f"{where}: missing field 'strength' (lambda >= 0)")
        strength = _number(entry["strength"], f"{where}.strength (lambda)", minimum=0.0)
        shocks.append(Shock(strength, _selector(entry, where, ("labels", "tier"))))
    return Scenario(
        str(data.get("name", Path(source).stem)), str(data.get("description", "")), tuple(shocks)
    )


def policy_from_mapping(policy_id: str, data: Any, *, source: str = "<mapping>") -> Policy:
    """Parse one policy (``name``, ``cost``, ``terms: [{op, coeff, labels|tier|pair}]``)."""
    where = f"{source}: policy {policy_id!r}"
    if not isinstance(data, Mapping):
        raise ScenarioError(f"{where}: expected a mapping with 'cost' and 'terms', got {data!r}")
    cost = _number(data.get("cost"), f"{where}.cost", minimum=0.0)
    terms = []
    for k, entry in enumerate(data.get("terms") or ()):
        twhere = f"{where}.terms[{k}]"
        if not isinstance(entry, Mapping):
            raise ScenarioError(f"{twhere}: expected a mapping, got {entry!r}")
        op = str(entry.get("op", "")).upper()
        if op not in _OPERATORS:
            raise ScenarioError(
                f"{twhere}: op must be one of {_OPERATORS}, got {entry.get('op')!r}"
            )
        coeff = _number(entry.get("coeff"), f"{twhere}.coeff")
        if op == "ZZ":
            pair = entry.get("pair")
            if not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2:
                raise ScenarioError(
                    f"{twhere}: a ZZ term needs 'pair: [label, label]', got {pair!r}"
                )
            selector: dict[str, Any] = {"pair": list(pair)}
        else:
            selector = _selector(entry, twhere, ("labels", "tier"))
        terms.append(PolicyTerm(op, coeff, selector))
    return Policy(policy_id, str(data.get("name", policy_id)), cost, tuple(terms))


def policies_from_mapping(data: Any, *, source: str = "<mapping>") -> dict[str, Policy]:
    """Parse a mapping ``policy_id -> policy``; order is kept."""
    if not isinstance(data, Mapping) or not data:
        raise ScenarioError(f"{source}: expected a non-empty mapping of policy id to policy")
    return {
        str(pid): policy_from_mapping(str(pid), spec, source=source) for pid, spec in data.items()
    }


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load ``conf/scenario/<name>.yaml`` (or a path to a scenario file)."""
    path = Path(name_or_path)
    if not path.suffix:
        path = CONF_DIR / "scenario" / f"{name_or_path}.yaml"
    if not path.is_file():
        raise ScenarioError(f"{path}: scenario file not found")
    return scenario_from_mapping(yaml.safe_load(path.read_text()), source=str(path))


def load_policies(name_or_path: str | Path = "default") -> dict[str, Policy]:
    """Load ``conf/policies/<name>.yaml`` (its ``catalogue`` key) or a path to such a file."""
    path = Path(name_or_path)
    if not path.suffix:
        path = CONF_DIR / "policies" / f"{name_or_path}.yaml"
    if not path.is_file():
        raise ScenarioError(f"{path}: policy file not found")
    data = yaml.safe_load(path.read_text())
    return policies_from_mapping(
        data.get("catalogue") if isinstance(data, Mapping) else data, source=str(path)
    )


# --------------------------------------------------------------------------- node selection


def _resolve_label(network: SupplyNetwork, label: Any, where: str) -> int | None:
    label = str(label)
    try:
        return network.index_of(label)
    except KeyError:
        if label in network.known_labels:
            log.debug("%s: %s is not in sub-network %s; term dropped", where, label, network.name)
            return None
        raise ScenarioError(
            f"{where}: unknown node label {label!r} in network {network.name!r}; "
            f"expected one of {', '.join(sorted(network.known_labels))}"
        ) from None


def select_nodes(network: SupplyNetwork, selector: Mapping[str, Any], where: str) -> list[int]:
    """Node ids chosen by ``{labels: [...]}`` or ``{tier: id|name, first: k}``."""
    if "labels" in selector:
        labels = selector["labels"]
        if isinstance(labels, str):
            labels = [labels]
        ids = [_resolve_label(network, lab, where) for lab in labels]
        return [i for i in ids if i is not None]

    tier = selector["tier"]
    tier_ids = {t.id for t in network.tiers}
    names = {t.name: t.id for t in network.tiers}
    if isinstance(tier, str) and tier in names:
        tier = names[tier]
    if isinstance(tier, bool) or tier not in tier_ids:
        raise ScenarioError(
            f"{where}: unknown tier {tier!r} in network {network.name!r}; expected one of "
            f"{sorted(tier_ids)} or {sorted(names)}"
        )
    ids = [n.id for n in network.nodes if n.tier == tier]
    first = selector.get("first")
    if first is not None:
        if isinstance(first, bool) or not isinstance(first, int) or first < 1:
            raise ScenarioError(f"{where}: 'first' must be a positive integer, got {first!r}")
        ids = ids[:first]
    return ids


# --------------------------------------------------------------------------- Hamiltonians


def network_model(network: SupplyNetwork) -> IsingModel:
    """Unshocked network Hamiltonian ``sum_i h_i Z_i - sum J_sd Z_s Z_d``."""
    return IsingModel.from_terms(
        network.num_nodes,
        z=dict(enumerate(network.biases())),
        zz=[(e.source, e.target, -e.coupling) for e in network.edges],
        labels=network.labels,
    )


def scenario_perturbation(network: SupplyNetwork, scenario: Scenario) -> IsingModel:
    """The shock terms ``-sum_k lambda_k X_k`` of ``scenario`` on ``network``."""
    x: dict[int, float] = {}
    for k, shock in enumerate(scenario.shocks):
        where = f"scenario {scenario.name!r} shocks[{k}]"
        for node in select_nodes(network, shock.selector, where):
            x[node] = x.get(node, 0.0) - shock.strength
    return IsingModel.from_terms(network.num_nodes, x=x, labels=network.labels)


def policy_perturbation(network: SupplyNetwork, policy: Policy) -> IsingModel:
    """Perturbation P of ``policy`` on ``network`` (terms on cut-away nodes are dropped)."""
    z: dict[int, float] = {}
    x: dict[int, float] = {}
    zz: list[tuple[int, int, float]] = []
    for k, term in enumerate(policy.terms):
        where = f"policy {policy.id!r} terms[{k}]"
        if term.op == "ZZ":
            ends = [_resolve_label(network, lab, where) for lab in term.selector["pair"]]
            if None in ends:
                continue
            if ends[0] == ends[1]:
                raise ScenarioError(
                    f"{where}: ZZ pair names one node twice: {term.selector['pair']}"
                )
            zz.append((ends[0], ends[1], term.coeff))
            continue
        target = z if term.op == "Z" else x
        for node in select_nodes(network, term.selector, where):
            target[node] = target.get(node, 0.0) + term.coeff
    return IsingModel.from_terms(network.num_nodes, z=z, zz=zz, x=x, labels=network.labels)


def build_model(
    network: SupplyNetwork, scenario: Scenario, policy: Policy | None = None
) -> IsingModel:
    """Scenario Hamiltonian ``H`` (SPEC 2.2), plus the policy perturbation ``P`` when given."""
    model = network_model(network) + scenario_perturbation(network, scenario)
    if policy is not None:
        model = model + policy_perturbation(network, policy)
    return model
