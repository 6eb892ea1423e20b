"""Exception types raised by qrspps.

Every message names the offending input (file, field, value) and what was expected, so a user can
fix it without reading the source.
"""

from __future__ import annotations


class QrsppsError(Exception):
    """Base class of every error qrspps raises on purpose."""


class NetworkValidationError(QrsppsError, ValueError):
    """A supply-network file or object is malformed."""


class ScenarioError(QrsppsError, ValueError):
    """A shock scenario or policy refers to something that does not exist or has a bad value."""


class ResourceLimitError(QrsppsError, MemoryError):
    """A computation was refused because it would exceed a memory or size limit."""


class ConfigError(QrsppsError, ValueError):
    """A run configuration is inconsistent."""
