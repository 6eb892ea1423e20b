"""Build the scaling report from run records: figures, CSV tables, ``index.html`` and ``report.md``.

Output layout under ``out_dir``::

    index.html          self-contained (figures embedded as base64 PNG)
    report.md           the same content, figures referenced as files
    figures/*.png
    tables/*.csv        full-precision values, one CSV per table

Every number is tagged exact / simulated / sampled / extrapolated (with its fit range). A section
whose data are missing is skipped with a note saying what was missing; failed and refused runs are
listed with their reasons and drawn as markers on the scaling plots.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from qrspps.reporting import figures as figs
from qrspps.reporting.claims import claims_table
from qrspps.reporting.collect import (
    EXACT_TASKS,
    VQE_TASKS,
    RunView,
    Table,
    failed_sizes,
    failure_line,
    failures_table,
    metric_table,
    metrics_long_table,
    runs_table,
    views,
)
from qrspps.reporting.document import (
    Bullets,
    Document,
    FigureBlock,
    Section,
    TableBlock,
    Text,
    to_html,
    to_markdown,
)
from qrspps.reporting.environment import (
    machine_memory_bytes,
    machine_table,
    runs_environment_table,
)
from qrspps.reporting.fits import DEFAULT_LEVEL
from qrspps.reporting.scaling import SeriesFit, fit_all, fits_table
from qrspps.reporting.units import format_bytes, format_duration

log = logging.getLogger(__name__)

#: Resolution of the PNG figures (readable on screen, small enough to embed).
FIGURE_DPI = 110

_KIND_LEGEND = [
    "exact: exact classical computation or closed formula (exact solver, 16·2^n bytes);"
    " for an exact-solver run its measured time and memory carry this tag too",
    "simulated: from a quantum-circuit simulation, including its measured time and memory",
    "sampled: from Monte Carlo sampling",
    "extrapolated (fit n=a..b): predicted by a least-squares fit over sizes a..b, outside them;"
    " never a measurement",
]


@dataclass
class ReportResult:
    """What :func:`build_report` wrote, and the fits the tracking layer logs as metrics."""

    out_dir: Path
    index_html: Path
    report_md: Path
    figures: list[Path]
    tables: list[Path]
    fits: list[SeriesFit]
    target_nodes: int
    notes: list[str] = field(default_factory=list)

    @property
    def files(self) -> list[Path]:
        """Every file written."""
        return [self.index_html, self.report_md, *self.figures, *self.tables]


class _Builder:
    """Accumulates figures, tables and notes while the sections are assembled."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.figure_paths: list[Path] = []
        self.table_paths: list[Path] = []
        self.notes: list[str] = []

    def figure(self, name: str, fig: Figure | None, caption: str, skip_note: str) -> list[Any]:
        """Save ``fig`` as ``figures/<name>.png``; record ``skip_note`` when there is none."""
        if fig is None:
            self.notes.append(skip_note)
            return [Text(f"Skipped: {skip_note}.")]
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=FIGURE_DPI)
        png = buffer.getvalue()
        relative = f"figures/{name}.png"
        path = self.out_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png)
        self.figure_paths.append(path)
        return [FigureBlock(relative, png, caption)]

    def table(self, table: Table, skip_note: str | None = None) -> list[Any]:
        """Write ``tables/<name>.csv`` and return its block (a skip note for an empty table)."""
        if not table and skip_note:
            self.notes.append(skip_note)
            return [Text(f"Skipped: {skip_note}.")]
        relative = f"tables/{table.name}.csv"
        self.table_paths.append(table.write_csv(self.out_dir / relative))
        return [TableBlock(table, relative)] if table else []


def _summary(runs: Sequence[RunView], experiment: str, target: int) -> list[Any]:
    outcomes = Counter(r.outcome for r in runs)
    tasks = Counter(r.task or "unknown" for r in runs)
    lines = [
        f"{len(runs)} runs: " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())),
        "tasks: " + ", ".join(f"{k} ({v})" for k, v in sorted(tasks.items())),
        f"extrapolation target: n = {target}; confidence bands at {DEFAULT_LEVEL:.0%}"
        " for the mean prediction (t distribution)",
    ]
    return [
        Text(f"Scaling report of experiment '{experiment}'."),
        Bullets(lines),
        Text("Every number is tagged with its kind:"),
        Bullets(_KIND_LEGEND),
    ]


def _extrapolation_lines(fits: Sequence[SeriesFit], describe: dict[str, Any]) -> list[str]:
    lines = []
    for item in fits:
        ext = item.extrapolation
        if ext is None:
            if item.note.startswith("not fitted"):
                lines.append(f"{item.quantity.title}, {item.key.label}: {item.note}")
            continue
        fmt = describe[item.quantity.unit]
        band = (
            f", {ext.level:.0%} band {fmt(ext.lower)} .. {fmt(ext.upper)}"
            if ext.has_band
            else ", no band (two points)"
        )
        lines.append(
            f"{item.quantity.title}, {item.key.label}: {fmt(ext.value)} at n = {ext.n:g}{band}"
            f" [{ext.label}]"
        )
    return lines


def _scaling_sections(
    b: _Builder,
    runs: Sequence[RunView],
    fits: list[SeriesFit],
    target: int,
    palette: figs.Palette,
) -> list[Section]:
    quantum_failures = failed_sizes([r for r in runs if r.task not in EXACT_TASKS | {"montecarlo"}])
    vqe_failures = failed_sizes(runs, tasks=VQE_TASKS)
    by_quantity: dict[str, list[SeriesFit]] = {}
    for item in fits:
        by_quantity.setdefault(item.quantity.key, []).append(item)

    time = Section("scaling", "Scaling: time")
    time.blocks += b.figure(
        "eval_time",
        figs.time_figure(
            by_quantity.get("eval_time", []),
            quantum_failures,
            target,
            title="Time per energy evaluation",
            ylabel="seconds per evaluation",
            palette=palette,
        ),
        "Time per energy evaluation vs qubits: measured points (simulated), least-squares fit "
        "with its confidence band, dashed extrapolation labelled with its fit range; red crosses "
        "mark failed or refused runs.",
        "time per energy evaluation: no finished run has eval_time_s and a size",
    )
    time.blocks += b.figure(
        "vqe_time",
        figs.time_figure(
            by_quantity.get("vqe_time", []),
            vqe_failures,
            target,
            title="Full VQE wall time",
            ylabel="seconds per VQE run",
            palette=palette,
        ),
        "Full VQE wall time (all restarts) vs qubits, with fit and extrapolation.",
        "full VQE time: no finished vqe/pipeline run has wall_time_s and a size",
    )
    time.blocks += b.table(fits_table(fits, target), "fits: no state-vector series with 2+ sizes")
    describe = {"s": format_duration, "B": format_bytes}
    lines = _extrapolation_lines(fits, describe)
    if lines:
        time.blocks += [
            Text("Predictions at the target size (never measurements):"),
            Bullets(lines),
        ]

    memory = Section("memory", "Scaling: memory")
    memory.blocks += b.figure(
        "memory",
        figs.memory_figure(
            by_quantity.get("memory", []),
            quantum_failures,
            target,
            palette=palette,
            machine_bytes=machine_memory_bytes(),
        ),
        "Peak resident memory per job vs qubits, with the exact state-vector sizes 16·2^n "
        "(double) and 8·2^n (single) bytes and the published 17.6 TB at 40 qubits.",
        "memory: no finished run has peak_rss_bytes and a size",
    )

    methods = Section("methods", "Methods side by side")
    exact_runs = [r for r in runs if r.finished and r.task in EXACT_TASKS]
    methods.blocks += b.figure(
        "methods",
        figs.method_comparison_figure(
            by_quantity.get("eval_time", []), exact_runs, failed_sizes(runs), palette=palette
        ),
        "Measured cost only: brute-force state vector per energy evaluation, MPS per energy "
        "evaluation, exact solver per solve. Nothing on this plot is extrapolated.",
        "methods: neither eval_time_s nor exact-solver wall_time_s was recorded",
    )
    methods.blocks += b.table(
        metric_table(
            runs,
            "exact_solver",
            ["exact_energy", *figs.EXACT_TIME_METRICS, "peak_rss_bytes"],
            by=("nodes", "scenario"),
            tasks=EXACT_TASKS,
            caption="Exact-solver runs.",
        ),
        "exact solver: no finished exact run",
    )
    return [time, memory, methods]


def _quality_sections(b: _Builder, runs: Sequence[RunView], palette: figs.Palette) -> list[Section]:
    accuracy = Section("accuracy", "Accuracy against the exact answer")
    accuracy.blocks += b.figure(
        "energy_error",
        figs.energy_error_figure(runs, palette=palette),
        "|E_VQE − E_exact| vs qubits (per method and depth) and vs depth (per size); errors at or "
        f"below {figs.ERROR_FLOOR:g} are drawn on the floor.",
        "accuracy: no finished run has energy_abs_error",
    )
    accuracy.blocks += b.table(
        metric_table(
            runs,
            "accuracy",
            [
                "exact_energy",
                "vqe_energy",
                "energy_abs_error",
                "energy_rel_error",
                "energy_evaluations",
            ],
            by=("nodes", "depth", "scenario"),
            require=["vqe_energy", "energy_abs_error"],
            caption="VQE energies against the exact ground energy.",
        )
    )

    cascade = Section("cascade", "Cascade risk vs Monte Carlo")
    cascade.blocks += b.table(
        metric_table(
            runs,
            "montecarlo",
            ["mc_nodes_above_threshold", "mc_max_abs_delta_p"],
            by=("nodes", "scenario"),
            caption="Nodes with |dP| > threshold and max |dP| (quantum minus Monte Carlo).",
        ),
        "cascade risk: no finished run has mc_nodes_above_threshold or mc_max_abs_delta_p",
    )

    screening = Section("screening", "Policy screening")
    screening.blocks += b.figure(
        "screening",
        figs.screening_figure(runs, palette=palette),
        "Screening speedup (sequential re-optimisation time / screening time, same run) and "
        "Kendall τ of the screening ranking against the exact ranking.",
        "screening: no finished run has screening_speedup or ranking_kendall_tau",
    )
    screening.blocks += b.table(
        metric_table(
            runs,
            "screening",
            [
                "screening_time_s",
                "reoptimization_time_s",
                "screening_speedup",
                "screening_speedup_first_order",
                "ranking_kendall_tau",
                "ranking_kendall_tau_second_order",
            ],
            by=("nodes", "scenario"),
            caption="Screening against re-optimisation.",
        )
    )

    dos = Section("dosqpe", "DOS-QPE and catastrophe probability")
    dos.blocks += b.figure(
        "dosqpe",
        figs.dos_figure(runs),
        "Distance between the DOS-QPE spectrum and the exact DOS, and the Trotter error of the "
        "survival amplitude, vs Trotter steps; red rings mark aliased configurations.",
        "DOS-QPE: no finished run has dos_distance or trotter_error with dosqpe.trotter_steps",
    )
    dos.blocks += b.figure(
        "pcat",
        figs.pcat_figure(runs),
        "Largest error of P_cat(T) from the DOS-QPE estimate against the exact value.",
        "P_cat: no finished run has pcat_max_abs_error",
    )
    dos.blocks += b.table(
        metric_table(
            runs,
            "dosqpe",
            ["dos_distance", "trotter_error", "aliased", "pcat_max_abs_error"],
            by=("nodes", "trotter_steps"),
            caption="DOS-QPE accuracy per run.",
        )
    )
    return [accuracy, cascade, screening, dos]


def build_report(
    records: Iterable[Mapping[str, Any]],
    out_dir: str | Path,
    *,
    experiment: str,
    target_nodes: int = 40,
    source: str = "",
) -> ReportResult:
    """Write the report of ``records`` (see :mod:`qrspps.reporting.collect`) to ``out_dir``.

    Args:
        records: run records (plain dicts), finished and failed alike.
        out_dir: report folder, created when missing.
        experiment: name shown in the title.
        target_nodes: size the state-vector fits are extrapolated to.
        source: where the records came from (tracking URI), shown in the header.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    runs = views(records)
    b = _Builder(out)
    fits = fit_all(runs, target_nodes)
    log.info("report of %s: %d runs, %d fitted series", experiment, len(runs), len(fits))

    sections = [Section("summary", "Summary", _summary(runs, experiment, target_nodes))]
    claims = Section("claims", "Published claims vs this study")
    claims.blocks += b.table(claims_table(runs, fits))
    sections.append(claims)
    palette = figs.Palette()  # one colour per series across every figure
    sections += _scaling_sections(b, runs, fits, target_nodes, palette)
    sections += _quality_sections(b, runs, palette)

    failed = Section("failures", "Failed and refused runs")
    lines = [failure_line(r) for r in runs if r.failed]
    failed.blocks += [Bullets(lines)] if lines else [Text("No run failed or was refused.")]
    failed.blocks += b.table(failures_table(runs))
    sections.append(failed)

    all_runs = Section("runs", "All runs")
    all_runs.blocks += b.table(runs_table(runs))
    long_table = metrics_long_table(runs)
    b.table(long_table)
    all_runs.blocks.append(
        Text(f"Tidy form (one row per run and metric, with its kind): tables/{long_table.name}.csv")
    )
    sections.append(all_runs)

    env = Section("environment", "Environment")
    env.blocks += b.table(runs_environment_table(runs), "runs recorded no environment tags")
    env.blocks += b.table(machine_table())
    sections.append(env)

    notes = Section("notes", "Skipped sections")
    notes.blocks.append(Bullets(b.notes) if b.notes else Text("Nothing was skipped."))
    sections.insert(1, notes)

    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = [f"experiment: {experiment}", f"generated: {stamp}"]
    if source:
        header.append(f"source: {source}")
    doc = Document(f"QR-SPPS scaling report: {experiment}", header, sections)

    index_html = out / "index.html"
    index_html.write_text(to_html(doc), encoding="utf-8")
    report_md = out / "report.md"
    report_md.write_text(to_markdown(doc), encoding="utf-8")
    log.info("report written to %s", index_html)
    return ReportResult(
        out, index_html, report_md, b.figure_paths, b.table_paths, fits, target_nodes, b.notes
    )
