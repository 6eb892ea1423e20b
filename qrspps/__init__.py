"""qrspps: an experiment-tracked benchmarking harness for the QR-SPPS quantum supply-chain pipeline.

Conventions (qubit order, signs, units, stress) live in :mod:`qrspps.conventions`.
"""

from __future__ import annotations

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
