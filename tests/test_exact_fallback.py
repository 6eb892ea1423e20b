"""Fallback of the exact references to diagonalisation when the structured solver refuses.

The refusal is forced with ``max_cluster_qubits=0`` (every shocked node is a cluster of one, above
the limit); the fallback's answers are compared with the structured solver's on the same model.
Both are exact methods: energies and stresses agree to 1e-9 (ARPACK's tolerance is tighter).
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

from qrspps.errors import ResourceLimitError
from qrspps.exact.fallback import ground_state_with_fallback, thermal_with_fallback
from qrspps.exact.structured import exact_ground_state, exact_thermal
from qrspps.model.network import load_named_network
from qrspps.model.scenario import build_model, load_scenario

ATOL = 1e-9


def _model(nodes: int, scenario: str = "A"):
    return build_model(load_named_network("retail40").prefix(nodes), load_scenario(scenario))


def test_structured_answer_is_used_when_it_is_available():
    model = _model(8)
    assert ground_state_with_fallback(model).method == exact_ground_state(model).method


@pytest.mark.parametrize("nodes", [8, 14])  # 8: dense eigh path; 14: sparse (ARPACK) path
def test_ground_state_falls_back_to_diagonalisation(nodes, caplog):
    model = _model(nodes)
    reference = exact_ground_state(model)
    with caplog.at_level(logging.WARNING, logger="qrspps.exact.fallback"):
        result = ground_state_with_fallback(model, max_cluster_qubits=0)
    assert "structured solver refused" in result.method
    assert "falling back to sparse diagonalisation" in caplog.text
    assert result.energy == pytest.approx(reference.energy, abs=ATOL)
    assert result.gap == pytest.approx(reference.gap, abs=ATOL)
    assert np.allclose(result.stress, reference.stress, atol=ATOL)
    # A product-like ground state: its most probable basis state is the solver's configuration.
    assert np.array_equal(result.configuration, reference.configuration)


@pytest.mark.parametrize("beta", [0.5, 2.0])
def test_thermal_state_falls_back_to_the_full_spectrum(beta):
    model = _model(8, "B")
    reference = exact_thermal(model, beta)
    result = thermal_with_fallback(model, beta, max_cluster_qubits=0)
    assert result.log_partition_function == pytest.approx(
        reference.log_partition_function, abs=ATOL
    )
    assert result.energy == pytest.approx(reference.energy, abs=ATOL)
    assert np.allclose(result.stress, reference.stress, atol=ATOL)


def test_too_large_for_the_fallback_names_both_limits():
    model = _model(14)
    with pytest.raises(
        ResourceLimitError,
        match=r"max_cluster_qubits = 0.*full diagonalisation fallback allows up to 12 qubits and "
        r"the model has 14",
    ):
        thermal_with_fallback(model, 1.0, max_cluster_qubits=0)
