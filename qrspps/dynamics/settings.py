"""Settings of the DOS-QPE stage: the ``dosqpe`` config group (with ``dosqpe.pcat``), validated.

Plain-dict configs (what the harness hands a task) become frozen dataclasses here; every invalid
value raises :class:`~qrspps.errors.ConfigError` naming the field, the value and what is allowed.
Enum members of the structured configs are read as their values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from qrspps.dynamics.dosqpe import (
    ALIASING_POLICIES,
    DEFAULT_AUTO_REFERENCE_STEPS,
    DEFAULT_MARGIN,
    DEFAULT_ZERO_PAD,
    WINDOWS,
)
from qrspps.dynamics.states import TRACE_STATE_KINDS
from qrspps.dynamics.trotter import product_formula
from qrspps.errors import ConfigError
from qrspps.risk.tailrisk import DEFAULT_CUT_FRACTION, DEFAULT_VIX_LEVELS, DEFAULT_VIX_REF

INITIAL_STATES = ("vqe", "mean_field", "random")
RANGE_SOURCES = ("exact", "bound")
#: Default temperature grid of ``P_cat`` (energy units), the ``dosqpe.pcat`` schema default.
DEFAULT_TEMPERATURES = (0.25, 0.5, 1.0, 1.5, 2.0, 4.0)
#: Largest qubit count for the exact local spectrum of an entangled local state.
DEFAULT_MAX_REFERENCE_QUBITS = 20


def plain(value: Any) -> Any:
    """Enum members from structured configs as their values."""
    return value.value if isinstance(value, Enum) else value


@dataclass(frozen=True)
class PcatSettings:
    """``dosqpe.pcat``: cut fraction, temperature grid and the VIX calibration."""

    f: float = DEFAULT_CUT_FRACTION
    temperatures: tuple[float, ...] = DEFAULT_TEMPERATURES
    vix_ref: float = DEFAULT_VIX_REF
    vix_levels: tuple[float, ...] = DEFAULT_VIX_LEVELS

    def __post_init__(self) -> None:
        if not 0.0 < self.f < 1.0:
            raise ConfigError(f"dosqpe.pcat.f must be in (0, 1), was {self.f}")
        if not self.temperatures or min(self.temperatures) <= 0.0:
            raise ConfigError(
                f"dosqpe.pcat.temperatures must be a non-empty list of T > 0, was "
                f"{list(self.temperatures)}"
            )
        if not self.vix_ref > 0.0:
            raise ConfigError(f"dosqpe.pcat.vix_ref must be > 0, was {self.vix_ref}")
        if not self.vix_levels or min(self.vix_levels) <= 0.0:
            raise ConfigError(
                f"dosqpe.pcat.vix_levels must be a non-empty list of VIX > 0, was "
                f"{list(self.vix_levels)}"
            )


@dataclass(frozen=True)
class DosqpeSettings:
    """The ``dosqpe`` config group (keys as in ``conf/dosqpe``; extra keys documented here).

    Attributes:
        trotter_steps: samples ``N`` (one Trotter step each).
        total_time: ``T_max``; None = automatic (alias-free ``dt`` on the schedule of
            :mod:`qrspps.dynamics.dosqpe`).
        auto_reference_steps: ``N_ref`` of the automatic schedule: past it ``dt`` shrinks so that
            resolution and Trotter error both improve with ``N``; None = ``dt`` at the alias
            limit for every ``N``.
        order: Trotter order (1, 2, 4, ...).
        reps_per_step: product-formula repetitions inside one ``dt``.
        initial_state: ``vqe``, ``mean_field`` or ``random``: the state whose local DOS, ``E0``
            estimate and cascade are reported (the full DOS always comes from the random states).
        random_states: states of the trace estimator (>= 2).
        trace_states: ``auto``, ``classical_bits``, ``haar`` or ``equator``: the trace
            estimator's random product states (:mod:`qrspps.dynamics.states`).
        window: FFT window (:data:`qrspps.dynamics.dosqpe.WINDOWS`).
        aliasing: ``auto``, ``warn`` or ``refuse``.
        margin: alias-free band over spectral width for the automatic ``dt``.
        center: shift ``H`` by the centre of its range before the FFT.
        zero_pad: FFT zero-padding factor.
        range_source: ``exact`` (exact solver, falls back to the bound) or ``bound``.
        max_reference_qubits: largest ``n`` for the exact local spectrum of the local state
            (:func:`qrspps.dynamics.reference.exact_local_spectrum`).
        pcat: tail-risk settings.
    """

    trotter_steps: int = 64
    total_time: float | None = None
    auto_reference_steps: int | None = DEFAULT_AUTO_REFERENCE_STEPS
    order: int = 2
    reps_per_step: int = 1
    initial_state: str = "vqe"
    random_states: int = 16
    trace_states: str = "auto"
    window: str = "hann"
    aliasing: str = "auto"
    margin: float = DEFAULT_MARGIN
    center: bool = True
    zero_pad: int = DEFAULT_ZERO_PAD
    range_source: str = "exact"
    max_reference_qubits: int = DEFAULT_MAX_REFERENCE_QUBITS
    pcat: PcatSettings = field(default_factory=PcatSettings)

    def __post_init__(self) -> None:
        if self.initial_state not in INITIAL_STATES:
            raise ConfigError(
                f"dosqpe.initial_state must be one of {INITIAL_STATES}, was {self.initial_state!r}"
            )
        if self.aliasing not in ALIASING_POLICIES:
            raise ConfigError(
                f"dosqpe.aliasing must be one of {ALIASING_POLICIES}, was {self.aliasing!r}"
            )
        if self.range_source not in RANGE_SOURCES:
            raise ConfigError(
                f"dosqpe.range_source must be one of {RANGE_SOURCES}, was {self.range_source!r}"
            )
        if self.trace_states not in TRACE_STATE_KINDS:
            raise ConfigError(
                f"dosqpe.trace_states must be one of {TRACE_STATE_KINDS}, was {self.trace_states!r}"
            )
        if self.random_states < 2:
            raise ConfigError(
                f"dosqpe.random_states must be >= 2 (the standard error needs two), "
                f"was {self.random_states}"
            )
        if self.trotter_steps < 2:
            raise ConfigError(f"dosqpe.trotter_steps must be >= 2, was {self.trotter_steps}")
        if self.total_time is not None and not self.total_time > 0.0:
            raise ConfigError(f"dosqpe.total_time must be > 0 or null, was {self.total_time}")
        if self.auto_reference_steps is not None and self.auto_reference_steps < 1:
            raise ConfigError(
                f"dosqpe.auto_reference_steps must be >= 1 or null, was {self.auto_reference_steps}"
            )
        if self.window not in WINDOWS:
            raise ConfigError(
                f"dosqpe.window must be one of {sorted(WINDOWS)}, was {self.window!r}"
            )
        if not self.margin > 1.0:
            raise ConfigError(f"dosqpe.margin must be > 1, was {self.margin}")
        for key in ("reps_per_step", "zero_pad", "max_reference_qubits"):
            if getattr(self, key) < 1:
                raise ConfigError(f"dosqpe.{key} must be >= 1, was {getattr(self, key)}")
        product_formula(self.order)  # raises ConfigError naming dosqpe.order

    @classmethod
    def from_mapping(cls, cfg: Mapping[str, Any] | None) -> DosqpeSettings:
        """Settings from the plain-dict ``dosqpe`` config; missing keys take the defaults."""
        cfg = {k: plain(v) for k, v in dict(cfg or {}).items()}
        d = cls()
        pcat = {k: plain(v) for k, v in dict(cfg.get("pcat") or {}).items()}
        p = PcatSettings()
        temps = pcat.get("temperatures")
        levels = pcat.get("vix_levels")
        total = cfg.get("total_time")
        reference = cfg.get("auto_reference_steps", d.auto_reference_steps)
        return cls(
            trotter_steps=int(cfg.get("trotter_steps", d.trotter_steps)),
            total_time=None if total is None else float(total),
            auto_reference_steps=None if reference is None else int(reference),
            order=int(cfg.get("order", d.order)),
            reps_per_step=int(cfg.get("reps_per_step", d.reps_per_step)),
            initial_state=str(cfg.get("initial_state", d.initial_state)),
            random_states=int(cfg.get("random_states", d.random_states)),
            trace_states=str(cfg.get("trace_states", d.trace_states)),
            window=str(cfg.get("window", d.window)),
            aliasing=str(cfg.get("aliasing", d.aliasing)),
            margin=float(cfg.get("margin", d.margin)),
            center=bool(cfg.get("center", d.center)),
            zero_pad=int(cfg.get("zero_pad", d.zero_pad)),
            range_source=str(cfg.get("range_source", d.range_source)),
            max_reference_qubits=int(cfg.get("max_reference_qubits", d.max_reference_qubits)),
            pcat=PcatSettings(
                f=float(pcat.get("f", p.f)),
                temperatures=p.temperatures if temps is None else tuple(float(t) for t in temps),
                vix_ref=float(pcat.get("vix_ref", p.vix_ref)),
                vix_levels=p.vix_levels if levels is None else tuple(float(v) for v in levels),
            ),
        )
