"""Logging set-up for entry points (the package itself only creates loggers).

One format everywhere: time, level, logger, message. Library modules call
``logging.getLogger(__name__)`` and never configure handlers; entry points call
:func:`configure_logging` once.
"""

from __future__ import annotations

import logging
from pathlib import Path

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
DATE_FORMAT = "%H:%M:%S"

# Third-party loggers that drown the useful lines at INFO.
_NOISY = ("qiskit", "stevedore", "urllib3", "alembic", "mlflow.store", "numexpr")


def configure_logging(level: int | str = logging.INFO, log_file: str | Path | None = None) -> None:
    """Send log records to stderr (and ``log_file`` when given) in the project format."""
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if log_file is not None:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file))
    for handler in handlers:
        handler.setFormatter(logging.Formatter(LOG_FORMAT, DATE_FORMAT))
    logging.basicConfig(level=level, handlers=handlers, force=True)
    for name in _NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)
