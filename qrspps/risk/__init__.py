"""Risk measures on top of the quantum and exact stress profiles.

* :mod:`qrspps.risk.montecarlo`: the published classical independent-cascade Monte Carlo baseline
  and the per-node comparison ``dP = P_quantum - P_MC``.
"""

from qrspps.risk.montecarlo import (
    CascadeComparison,
    MonteCarloResult,
    compare_stress,
    run_montecarlo,
    simulate_cascade,
)

__all__ = [
    "CascadeComparison",
    "MonteCarloResult",
    "compare_stress",
    "run_montecarlo",
    "simulate_cascade",
]
