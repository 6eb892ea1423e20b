"""Experiment tracking: the only package that imports MLflow.

* :mod:`qrspps.tracking.metadata` - flattened params, config hash, environment tags (no MLflow).
* :mod:`qrspps.tracking.store` - tracking URI, client with retries, experiments.
* :mod:`qrspps.tracking.recorder` - run lifecycle and batched logging.
* :mod:`qrspps.tracking.ui` - ``python -m qrspps.tracking.ui``: the MLflow UI on the local store.

Import the submodules directly; this package module imports nothing heavy so that code which
only needs :mod:`~qrspps.tracking.metadata` does not pay for importing MLflow.
"""
