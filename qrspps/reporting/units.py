"""Human-readable numbers for the report (bytes in decimal SI units, durations in s/min/h)."""

from __future__ import annotations

import math
from typing import Any

_BYTE_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB")


def format_bytes(value: float | None) -> str:
    """Decimal SI units, as the preprint's "17.6 TB" (= 16 * 2**40 bytes)."""
    if value is None or not math.isfinite(value):
        return "n/a"
    size = float(value)
    for unit in _BYTE_UNITS:
        if abs(size) < 1000 or unit == _BYTE_UNITS[-1]:
            return f"{size:.3g} {unit}"
        size /= 1000.0
    raise AssertionError("unreachable")


def format_duration(seconds: float | None) -> str:
    """Seconds below a minute, minutes below an hour, hours beyond (with thousands separators)."""
    if seconds is None or not math.isfinite(seconds):
        return "n/a"
    if abs(seconds) < 60:
        return f"{seconds:.3g} s"
    if abs(seconds) < 3600:
        return f"{seconds / 60:.3g} min"
    hours = seconds / 3600
    return f"{hours:,.0f} h" if hours >= 1000 else f"{hours:.3g} h"


def format_number(value: Any) -> str:
    """Short display form of a table cell: 4 significant digits for floats, '' for missing."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value == int(value) and abs(value) < 1e6:
            return str(int(value))
        return f"{value:.4g}"
    return str(value)
