"""Scaling report: fits, tidy tables, figures and the HTML/Markdown report built from run records.

Nothing in this package imports MLflow: :mod:`qrspps.tracking.readback` fetches runs from the
tracking store as plain dicts and logs the finished report back; this package turns records into
files. Modules, in pipeline order:

* :mod:`~qrspps.reporting.collect`: records -> normalised runs and tidy tables, value kinds;
* :mod:`~qrspps.reporting.fits`: least-squares scaling fits, bands, extrapolation, memory model;
* :mod:`~qrspps.reporting.scaling`: which series are fitted and extrapolated;
* :mod:`~qrspps.reporting.claims`: the preprint's claims beside this study's values;
* :mod:`~qrspps.reporting.figures`: matplotlib figures;
* :mod:`~qrspps.reporting.environment`: versions, CPU, memory, git commit;
* :mod:`~qrspps.reporting.document`, :mod:`~qrspps.reporting.render`: the report files.
"""

from __future__ import annotations

from qrspps.reporting.fits import (
    ExponentialFit,
    Extrapolation,
    MemoryFit,
    extrapolate,
    fit_exponential,
    fit_memory,
    statevector_bytes,
)
from qrspps.reporting.render import ReportResult, build_report

__all__ = [
    "ExponentialFit",
    "Extrapolation",
    "MemoryFit",
    "ReportResult",
    "build_report",
    "extrapolate",
    "fit_exponential",
    "fit_memory",
    "statevector_bytes",
]
