"""Run configuration: structured schemas registered in Hydra's ConfigStore.

Importing this package registers the schemas (idempotent), so any code that composes ``conf/``
(the app, tests, notebooks) must import it first::

    import qrspps.config  # registers "qrspps_schema"

``conf/config.yaml`` lists ``qrspps_schema`` first in its defaults; every group option then merges
onto a typed node and composition fails on a typo or a wrong type.
"""

from __future__ import annotations

from pathlib import Path

from hydra.core.config_store import ConfigStore

from qrspps.config.schema import RunConfig

#: Name of the primary schema in the ConfigStore (referenced by ``conf/config.yaml``).
SCHEMA_NAME = "qrspps_schema"

#: The shipped config directory (``<project root>/conf``).
CONF_DIR = Path(__file__).resolve().parents[2] / "conf"


def register_configs() -> None:
    """Store the schemas in Hydra's ConfigStore (safe to call more than once)."""
    ConfigStore.instance().store(name=SCHEMA_NAME, node=RunConfig)


register_configs()

__all__ = ["CONF_DIR", "SCHEMA_NAME", "RunConfig", "register_configs"]
