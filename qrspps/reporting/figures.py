"""Report figures (matplotlib's object API on the Agg canvas: no pyplot state, no display needed).

Every function returns a :class:`matplotlib.figure.Figure`, or ``None`` when the runs hold nothing
to plot (the report then says which section was skipped and why). Legends say what kind each mark
is: measured points are "simulated" or "exact", fitted lines carry their R^2, extrapolations are
dashed and labelled "extrapolated (fit n=a..b)". Failed and refused runs appear as red crosses
along the bottom of the size axis instead of disappearing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

from qrspps.reporting.collect import RunView
from qrspps.reporting.fits import DEFAULT_LEVEL, ExponentialFit, statevector_bytes
from qrspps.reporting.scaling import SeriesFit, is_brute_force
from qrspps.reporting.units import format_bytes, format_duration

#: Published values drawn as reference marks (SPEC 1).
PUBLISHED_SPEEDUP = 287.0
PUBLISHED_TROTTER_STEPS = 32

#: Metrics timing one exact solve, most specific first.
EXACT_TIME_METRICS = ("exact_solver_time_s", "wall_time_s")

#: Energy errors at or below this are drawn on the floor of the log axis (exact zeros included).
ERROR_FLOOR = 1e-16

_FAILED_STYLE = {"marker": "X", "color": "crimson", "s": 70, "zorder": 5, "linewidths": 0.5}


class Palette:
    """Stable colour per series label across every figure of one report."""

    def __init__(self) -> None:
        self._cycle = [f"C{i}" for i in range(10)]
        self._assigned: dict[str, str] = {}

    def __call__(self, label: str) -> str:
        if label not in self._assigned:
            self._assigned[label] = self._cycle[len(self._assigned) % len(self._cycle)]
        return self._assigned[label]


def _figure(ncols: int = 1) -> tuple[Figure, list[Axes]]:
    width = 7.6 if ncols == 1 else 12.0
    # Fixed margins: constrained layout would double the drawing time of every figure.
    fig = Figure(figsize=(width, 4.6))
    fig.subplots_adjust(
        left=0.1 if ncols == 1 else 0.075, right=0.98, top=0.92, bottom=0.12, wspace=0.25
    )
    axes = [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]
    for ax in axes:
        ax.grid(True, which="major", alpha=0.3)
        # Sizes and depths are integers; a log2 x axis set later replaces this locator.
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig, axes


def _mark_failures(ax: Axes, failures: Sequence[tuple[RunView, int]]) -> None:
    """Red crosses at the failed sizes, pinned to the bottom of the axes (x in data units)."""
    if not failures:
        return
    sizes = sorted({n for _, n in failures})
    ax.scatter(
        sizes,
        [0.04] * len(sizes),
        transform=ax.get_xaxis_transform(),
        label="failed / refused run (see list)",
        **_FAILED_STYLE,
    )
    for n in sizes:
        ax.annotate(
            f"n={n}",
            (n, 0.04),
            xycoords=ax.get_xaxis_transform(),
            xytext=(0, 7),
            textcoords="offset points",
            ha="center",
            fontsize=7,
            color="crimson",
        )


def _log_y(ax: Axes) -> None:
    """Log y axis (call after plotting) with compact tick labels.

    Over two or more decades only the decades are labelled; over fewer, every tick is labelled in
    plain ``%.3g`` form, because matplotlib's default ``2×10^-3`` minor labels are wide enough to
    push the axis title off the figure.
    """
    ax.set_yscale("log")
    low, high = ax.get_ylim()
    if low > 0 and math.log10(high / low) >= 2:
        ax.yaxis.set_minor_formatter(NullFormatter())
        return
    compact = FuncFormatter(lambda value, _pos: f"{value:.3g}")
    ax.yaxis.set_major_formatter(compact)
    ax.yaxis.set_minor_formatter(compact)
    ax.tick_params(axis="y", which="minor", labelsize=7)


def _legend(ax: Axes, loc: str = "upper left") -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc=loc, framealpha=0.85)


def _draw_series_fit(
    ax: Axes, item: SeriesFit, target: int, color: str, describe: Callable[[float], str]
) -> str | None:
    """Points, fitted line with band inside the range, dashed extrapolation beyond it.

    Returns the text describing the prediction at ``target`` (drawn by :func:`_prediction_box`),
    or None when nothing was extrapolated.
    """
    kind = "exact" if item.key.family == "exact" else "simulated"
    ax.scatter(
        [p.n for p in item.points],
        [p.value for p in item.points],
        color=color,
        s=22,
        zorder=4,
        label=f"{item.key.label}: measured ({kind})",
    )
    fit, ext = item.fit, item.extrapolation
    if fit is None or ext is None:
        sizes = item.sizes
        medians = [np.median([p.value for p in item.points if p.n == n]) for n in sizes]
        ax.plot(sizes, medians, color=color, lw=0.8, alpha=0.6)
        return None

    inside = np.linspace(fit.n_min, fit.n_max, 100)
    lower, upper = fit.band(inside, ext.level)
    if isinstance(fit, ExponentialFit):
        fit_text = f"fit 2^({fit.rate:.2f} n), R²={fit.r2:.3f}"
    else:
        fit_text = f"fit {fit.bytes_per_amplitude:.3g} B·2^n, R²={fit.r2:.3f}"
    ax.plot(inside, fit.predict(inside), color=color, lw=1.4, label=f"{item.key.label}: {fit_text}")
    if ext.has_band:
        ax.fill_between(inside, lower, upper, color=color, alpha=0.18, lw=0)
    if not ext.is_extrapolated:
        return None

    beyond = np.linspace(fit.n_max, target, 100)
    ax.plot(
        beyond,
        fit.predict(beyond),
        color=color,
        lw=1.4,
        ls="--",
        label=f"{item.key.label}: {ext.label}",
    )
    if ext.has_band:
        lower, upper = fit.band(beyond, ext.level)
        ax.fill_between(beyond, np.clip(lower, 1e-300, None), upper, color=color, alpha=0.08, lw=0)
    ax.scatter([target], [ext.value], facecolor="white", edgecolor=color, s=45, zorder=5)
    band = f" [{describe(ext.lower)} .. {describe(ext.upper)}]" if ext.has_band else " [no band]"
    return f"{item.key.label}: {describe(ext.value)}{band}"


def _prediction_box(ax: Axes, target: int, lines: Sequence[tuple[str, str]]) -> None:
    """Predictions at ``target`` listed in the lower right corner, one coloured line per series.

    A list instead of labels at the points: several series end near the same point at ``target``
    and their labels would overlap.
    """
    if not lines:
        return
    rows = [(f"at n = {target}, extrapolated ({DEFAULT_LEVEL:.0%} band):", "black"), *lines]
    for i, (text, color) in enumerate(reversed(rows)):
        ax.annotate(
            text,
            (0.985, 0.12 + 0.055 * i),
            xycoords="axes fraction",
            ha="right",
            fontsize=7,
            color=color,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 0.5},
        )


def time_figure(
    fits: Sequence[SeriesFit],
    failures: Sequence[tuple[RunView, int]],
    target: int,
    *,
    title: str,
    ylabel: str,
    palette: Palette,
) -> Figure | None:
    """Time vs qubits per method/precision, fit + band, dashed extrapolation to ``target``."""
    if not fits:
        return None
    fig, (ax,) = _figure()
    lines = []
    for item in fits:
        color = palette(item.key.label)
        text = _draw_series_fit(ax, item, target, color, format_duration)
        if text:
            lines.append((text, color))
    _prediction_box(ax, target, lines)
    _mark_failures(ax, failures)
    _log_y(ax)
    ax.set_xlabel("qubits n (= network nodes)")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    _legend(ax)
    return fig


def memory_figure(
    fits: Sequence[SeriesFit],
    failures: Sequence[tuple[RunView, int]],
    target: int,
    *,
    palette: Palette,
    machine_bytes: float | None = None,
) -> Figure | None:
    """Peak RSS vs qubits with the exact state-vector sizes 16·2^n and 8·2^n beside it."""
    if not fits:
        return None
    fig, (ax,) = _figure()
    lines = []
    for item in fits:
        color = palette(item.key.label)
        text = _draw_series_fit(ax, item, target, color, format_bytes)
        if text:
            lines.append((text, color))
    _prediction_box(ax, target, lines)

    low = min(min(item.sizes) for item in fits)
    grid = np.arange(low, target + 1)
    for precision, style in (("double", "-"), ("single", ":")):
        ax.plot(
            grid,
            [statevector_bytes(int(n), precision) for n in grid],
            color="black",
            lw=0.9,
            ls=style,
            label=f"exact: {statevector_bytes(0, precision)}·2^n B ({precision} state vector)",
        )
    published = statevector_bytes(40, "double")
    ax.scatter(
        [40],
        [published],
        marker="*",
        s=120,
        color="goldenrod",
        zorder=6,
        label=f"published: {format_bytes(published)} at 40 qubits",
    )
    if machine_bytes:
        ax.axhline(
            machine_bytes,
            color="grey",
            lw=0.8,
            ls="-.",
            label=f"this machine's RAM ({format_bytes(machine_bytes)})",
        )
    _mark_failures(ax, failures)
    _log_y(ax)
    ax.set_xlabel("qubits n")
    ax.set_ylabel("bytes")
    ax.set_title("Peak memory per job vs state-vector size", fontsize=10)
    _legend(ax)
    return fig


def method_comparison_figure(
    eval_fits: Sequence[SeriesFit],
    exact_runs: Sequence[RunView],
    failures: Sequence[tuple[RunView, int]],
    *,
    palette: Palette,
) -> Figure | None:
    """Measured cost of brute force beside MPS VQE and the exact solver (no extrapolation here)."""
    exact = [(r.nodes, exact_time(r)) for r in exact_runs]
    exact = [(n, t) for n, t in exact if n is not None and t is not None]
    if not eval_fits and not exact:
        return None
    fig, (ax,) = _figure()
    for item in eval_fits:
        color = palette(item.key.label)
        style = "-" if is_brute_force(item.key) else "--"
        sizes = item.sizes
        medians = [np.median([p.value for p in item.points if p.n == n]) for n in sizes]
        ax.plot(
            sizes,
            medians,
            marker="o",
            ms=4,
            color=color,
            ls=style,
            label=f"{item.key.label}: per energy evaluation (simulated)",
        )
    if exact:
        by_method: dict[str, list[tuple[int, float]]] = {}
        for run in exact_runs:
            if run.nodes is not None and exact_time(run) is not None:
                by_method.setdefault(run.series().label, []).append((run.nodes, exact_time(run)))
        for label, pts in sorted(by_method.items()):
            pts.sort()
            ax.plot(
                [p[0] for p in pts],
                [p[1] for p in pts],
                marker="s",
                ms=4,
                color=palette(label),
                ls=":",
                label=f"{label}: per solve (exact)",
            )
    _mark_failures(ax, failures)
    _log_y(ax)
    ax.set_xlabel("qubits n")
    ax.set_ylabel("seconds (measured)")
    ax.set_title("Which cost is exponential: brute force vs MPS vs exact solver", fontsize=10)
    _legend(ax)
    return fig


def exact_time(run: RunView) -> float | None:
    """Solver time of an exact run: ``exact_solver_time_s`` when logged, else its wall time."""
    for metric in EXACT_TIME_METRICS:
        if run.metric(metric) is not None:
            return run.metric(metric)
    return None


def _floored(values: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    arr = np.abs(np.asarray(values, dtype=float))
    at_floor = arr <= ERROR_FLOOR
    return np.where(at_floor, ERROR_FLOOR, arr), at_floor


def energy_error_figure(runs: Sequence[RunView], *, palette: Palette) -> Figure | None:
    """|E_VQE - E_exact| vs size (per method and depth) and vs depth (per size), log scale."""
    rows = [r for r in runs if r.finished and r.metric("energy_abs_error") is not None]
    if not rows:
        return None
    fig, (ax_n, ax_d) = _figure(2)
    floor_labelled = False

    groups: dict[str, list[RunView]] = {}
    for run in rows:
        groups.setdefault(run.series(with_depth=True).label, []).append(run)
    for label, members in sorted(groups.items()):
        members = sorted((r for r in members if r.nodes is not None), key=lambda r: r.nodes)
        if not members:
            continue
        values, at_floor = _floored([r.metric("energy_abs_error") for r in members])
        xs = np.array([r.nodes for r in members])
        ax_n.plot(xs, values, marker="o", ms=4, color=palette(label), label=f"{label} (simulated)")
        if at_floor.any():
            ax_n.scatter(
                xs[at_floor],
                values[at_floor],
                marker="v",
                s=50,
                color="black",
                zorder=5,
                label=None if floor_labelled else f"≤ {ERROR_FLOOR:g} (or 0)",
            )
            floor_labelled = True

    by_size: dict[int, list[RunView]] = {}
    for run in rows:
        if run.depth is not None and run.nodes is not None:
            by_size.setdefault(run.nodes, []).append(run)
    for n, members in sorted(by_size.items()):
        members.sort(key=lambda r: r.depth)
        values, _ = _floored([r.metric("energy_abs_error") for r in members])
        ax_d.plot([r.depth for r in members], values, marker="o", ms=4, label=f"n={n}")

    for ax, xlabel in ((ax_n, "qubits n"), (ax_d, "ansatz depth D")):
        _log_y(ax)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("|E_VQE − E_exact| (energy units)")
        _legend(ax, "best")
    ax_n.set_title("VQE energy error vs size", fontsize=10)
    ax_d.set_title("VQE energy error vs depth" if by_size else "no depth recorded", fontsize=10)
    return fig


def screening_figure(runs: Sequence[RunView], *, palette: Palette) -> Figure | None:
    """Screening speedup (vs sequential re-optimisation) and Kendall tau vs size."""
    rows = [
        r
        for r in runs
        if r.finished
        and r.nodes is not None
        and (
            r.metric("screening_speedup") is not None or r.metric("ranking_kendall_tau") is not None
        )
    ]
    if not rows:
        return None
    fig, (ax_s, ax_t) = _figure(2)
    groups: dict[str, list[RunView]] = {}
    for run in rows:
        groups.setdefault(run.series().label, []).append(run)
    for label, members in sorted(groups.items()):
        members.sort(key=lambda r: r.nodes)
        for ax, metric in ((ax_s, "screening_speedup"), (ax_t, "ranking_kendall_tau")):
            pts = [(r.nodes, r.metric(metric)) for r in members if r.metric(metric) is not None]
            if pts:
                ax.plot(
                    *zip(*pts, strict=True),
                    marker="o",
                    ms=4,
                    color=palette(label),
                    label=f"{label} (simulated)",
                )
    ax_s.axhline(
        PUBLISHED_SPEEDUP,
        color="goldenrod",
        ls="--",
        lw=1,
        label=f"published claim: {PUBLISHED_SPEEDUP:g}x",
    )
    _log_y(ax_s)
    ax_s.set_ylabel("re-optimisation time / screening time")
    ax_s.set_title("Policy screening speedup (measured in the same run)", fontsize=10)
    ax_t.axhline(1.0, color="grey", ls=":", lw=1, label="perfect agreement")
    ax_t.set_ylim(-1.05, 1.05)
    ax_t.set_ylabel("Kendall τ vs exact ranking")
    ax_t.set_title("Screening ranking vs exact ground energies of H + P", fontsize=10)
    for ax in (ax_s, ax_t):
        ax.set_xlabel("qubits n")
        _legend(ax, "best")
    return fig


def _by_size(runs: Sequence[RunView], metric: str) -> dict[int | None, list[RunView]]:
    groups: dict[int | None, list[RunView]] = {}
    for run in runs:
        if run.finished and run.trotter_steps is not None and run.metric(metric) is not None:
            groups.setdefault(run.nodes, []).append(run)
    for members in groups.values():
        members.sort(key=lambda r: r.trotter_steps)
    return groups


def dos_figure(runs: Sequence[RunView]) -> Figure | None:
    """DOS distance and Trotter error vs Trotter steps; aliased runs ringed in red."""
    dist, trot = _by_size(runs, "dos_distance"), _by_size(runs, "trotter_error")
    if not dist and not trot:
        return None
    fig, (ax_d, ax_t) = _figure(2)
    aliased_labelled = False
    for ax, metric, groups in ((ax_d, "dos_distance", dist), (ax_t, "trotter_error", trot)):
        for n, members in sorted(groups.items(), key=lambda kv: kv[0] or -1):
            xs = [r.trotter_steps for r in members]
            ys = [r.metric(metric) for r in members]
            ax.plot(xs, ys, marker="o", ms=4, label=f"n={n} (simulated vs exact)")
            flagged = [
                (x, y)
                for x, y, r in zip(xs, ys, members, strict=True)
                if (r.metric("aliased") or 0) > 0
            ]
            if flagged:
                ax.scatter(
                    *zip(*flagged, strict=True),
                    s=110,
                    facecolor="none",
                    edgecolor="crimson",
                    lw=1.5,
                    zorder=5,
                    label=None if aliased_labelled else "aliased: spectrum wider than 2π/dt",
                )
                aliased_labelled = True
        ax.axvline(
            PUBLISHED_TROTTER_STEPS,
            color="goldenrod",
            ls="--",
            lw=1,
            label=f"published N = {PUBLISHED_TROTTER_STEPS}",
        )
        positive = [r.metric(metric) for g in groups.values() for r in g]
        if positive and min(positive) > 0:
            _log_y(ax)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("Trotter steps N")
        _legend(ax, "best")
    ax_d.set_ylabel("distance to the exact DOS")
    ax_d.set_title("DOS-QPE accuracy", fontsize=10)
    ax_t.set_ylabel("max_t |A_Trotter(t) − A_exact(t)|")
    ax_t.set_title("Trotter error of the survival amplitude", fontsize=10)
    return fig


def pcat_figure(runs: Sequence[RunView]) -> Figure | None:
    """max |P_cat(DOS-QPE) − P_cat(exact)| over the temperature grid vs Trotter steps (or size)."""
    rows = [r for r in runs if r.finished and r.metric("pcat_max_abs_error") is not None]
    if not rows:
        return None
    fig, (ax,) = _figure()
    if any(r.trotter_steps is not None for r in rows):
        for n, members in sorted(
            _by_size(rows, "pcat_max_abs_error").items(), key=lambda kv: kv[0] or -1
        ):
            ax.plot(
                [r.trotter_steps for r in members],
                [r.metric("pcat_max_abs_error") for r in members],
                marker="o",
                ms=4,
                label=f"n={n} (simulated vs exact)",
            )
        ax.set_xscale("log", base=2)
        ax.set_xlabel("Trotter steps N")
    else:
        rows = sorted((r for r in rows if r.nodes is not None), key=lambda r: r.nodes)
        ax.plot(
            [r.nodes for r in rows],
            [r.metric("pcat_max_abs_error") for r in rows],
            marker="o",
            ms=4,
            label="simulated vs exact",
        )
        ax.set_xlabel("qubits n")
    values = [r.metric("pcat_max_abs_error") for r in rows]
    if values and min(values) > 0:
        _log_y(ax)
    ax.set_ylabel("max_T |P_cat estimate − P_cat exact|")
    ax.set_title("Catastrophe probability error", fontsize=10)
    _legend(ax, "best")
    return fig
