"""Figures of the DOS-QPE task: survival amplitudes, spectra and tail risk, estimate beside exact.

Every curve is labelled with its value kind (exact, simulated, sampled). Figures are plain
``matplotlib.figure.Figure`` objects (no pyplot state); the tracking layer saves them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure

from qrspps.dynamics.dosqpe import SpectrumEstimate
from qrspps.risk.tailrisk import TailRiskCurve, temperature_to_vix, vix_to_temperature


def amplitude_figure(
    times: np.ndarray,
    local: np.ndarray,
    local_exact: np.ndarray | None,
    chi: np.ndarray,
    chi_stderr: np.ndarray,
    chi_exact: np.ndarray | None,
    *,
    local_name: str,
) -> Figure:
    """Re and Im of the local ``A(t)`` and of the trace estimate of ``chi(t)``, beside exact."""
    fig = Figure(figsize=(9.0, 6.0), layout="constrained")
    axes = fig.subplots(2, 2, sharex=True)
    panels = [
        (axes[0], local, None, local_exact, f"A(t) of the {local_name} state"),
        (axes[1], chi, chi_stderr, chi_exact, "chi(t) = Tr U(t) / 2^n"),
    ]
    for row, values, err, exact, title in panels:
        for ax, part, name in ((row[0], np.real, "Re"), (row[1], np.imag, "Im")):
            ax.plot(times, part(values), "o-", ms=2.5, lw=0.8, label="Trotter on Aer (simulated)")
            if err is not None:
                ax.fill_between(
                    times,
                    part(values) - err,
                    part(values) + err,
                    alpha=0.25,
                    label="+-1 standard error (sampled)",
                )
            if exact is not None:
                ax.plot(times, part(exact), "k-", lw=0.8, label="exact")
            ax.set_title(f"{name} {title}", fontsize=9)
            ax.axhline(0.0, color="0.8", lw=0.5)
    for ax in axes[1]:
        ax.set_xlabel("t (inverse energy units)")
    axes[0][0].legend(fontsize=7)
    axes[1][0].legend(fontsize=7)
    return fig


def spectrum_figure(
    dos: SpectrumEstimate,
    dos_exact_binned: np.ndarray | None,
    ldos: SpectrumEstimate | None,
    *,
    exact_e0: float | None,
    e0_estimate: float | None,
    spectral_range: tuple[float, float],
    local_name: str,
) -> Figure:
    """Full DOS estimate (with its standard error) and local DOS, beside the exact spectrum."""
    fig = Figure(figsize=(9.0, 6.5), layout="constrained")
    ax_dos, ax_ldos = fig.subplots(2, 1, sharex=True)
    e = dos.energies
    ax_dos.plot(e, dos.weights, lw=1.0, label=f"DOS-QPE, {dos.samples} random states (sampled)")
    if dos.stderr is not None:
        ax_dos.fill_between(
            e,
            dos.weights - dos.stderr,
            dos.weights + dos.stderr,
            alpha=0.25,
            label="+-1 standard error",
        )
    if dos_exact_binned is not None:
        ax_dos.step(
            e,
            dos_exact_binned,
            where="mid",
            color="k",
            lw=0.7,
            label="exact DOS, binned on the same axis",
        )
    ax_dos.set_ylabel("weight per grid cell")
    ax_dos.set_title(
        f"density of states (resolution 2 pi / T_max = {dos.resolution:.3g})", fontsize=9
    )

    if ldos is not None:
        ax_ldos.plot(
            ldos.energies,
            ldos.weights,
            lw=1.0,
            label=f"local DOS of the {local_name} state (simulated)",
        )
    if exact_e0 is not None:
        ax_ldos.axvline(exact_e0, color="k", lw=0.8, ls="--", label=f"exact E0 = {exact_e0:.6g}")
    if e0_estimate is not None:
        ax_ldos.axvline(
            e0_estimate, color="C3", lw=0.8, ls=":", label=f"E0 estimate = {e0_estimate:.6g}"
        )
    ax_ldos.set_xlabel("E (energy units)")
    ax_ldos.set_ylabel("weight per grid cell")
    for ax in (ax_dos, ax_ldos):
        for edge in spectral_range:
            ax.axvline(edge, color="0.6", lw=0.6)
        ax.legend(fontsize=7)
    return fig


def tail_risk_figure(curves: Mapping[str, TailRiskCurve], *, vix_ref: float, f: float) -> Figure:
    """``P_cat(T)`` per policy, exact (lines; dashed: a rigorous upper bound where the exact
    spectrum was out of reach) and DOS-QPE (markers), with a VIX axis on top."""
    fig = Figure(figsize=(8.0, 5.0), layout="constrained")
    ax = fig.add_subplot()
    floor = 1e-300
    for i, (policy, curve) in enumerate(curves.items()):
        colour = f"C{i % 10}"
        ax.plot(
            curve.temperatures,
            np.maximum(curve.exact, floor),
            "--" if curve.exact_is_bound else "-",
            color=colour,
            lw=1.0,
            label=f"{policy} {curve.exact_kind}",
        )
        if curve.estimate is not None:
            ax.plot(
                curve.temperatures,
                np.maximum(curve.estimate, floor),
                "o",
                color=colour,
                ms=3.5,
                mfc="none",
                label=f"{policy} DOS-QPE (simulated, sampled)",
            )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("T (energy units)")
    ax.set_ylabel(f"P_cat(T), E_cut = E0 + {f:g} (E_max - E0)")
    top = ax.secondary_xaxis(
        "top",
        functions=(
            lambda t: temperature_to_vix(t, vix_ref),
            lambda v: vix_to_temperature(np.abs(v), vix_ref),
        ),
    )
    top.set_xlabel(f"VIX (T = VIX / {vix_ref:g})")
    ax.legend(fontsize=6, ncols=2)
    return fig
