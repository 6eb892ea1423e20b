"""A small document model and its two renderings: self-contained HTML and Markdown.

The report is built once as a :class:`Document` (sections of text, lists, tables and figures) and
written twice, so ``index.html`` and ``report.md`` can never disagree. HTML embeds every figure as
a base64 PNG (one file to mail or attach to a review); Markdown references the PNG files.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass, field

from qrspps.reporting.collect import Table
from qrspps.reporting.units import format_number

#: Rows shown inline per table; the CSV beside the report always has all of them.
MAX_INLINE_ROWS = 200


@dataclass(frozen=True)
class Text:
    """A paragraph of plain text."""

    text: str


@dataclass(frozen=True)
class Bullets:
    """A bullet list of plain-text items."""

    items: Sequence[str]


@dataclass(frozen=True)
class TableBlock:
    """A table, with the CSV file it was written to (relative to the report folder)."""

    table: Table
    csv_path: str | None = None


@dataclass(frozen=True)
class FigureBlock:
    """A PNG figure with its relative file path and caption."""

    path: str
    png: bytes
    caption: str


Block = Text | Bullets | TableBlock | FigureBlock


@dataclass
class Section:
    """A titled section; ``anchor`` is its HTML id."""

    anchor: str
    title: str
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Document:
    """Title, a few header lines, and the sections in order."""

    title: str
    header: list[str]
    sections: list[Section]


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2rem auto;
max-width:1180px;padding:0 1rem;color:#1d1d1f;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;
margin-top:2.2rem}.header{color:#555;font-size:.9rem}nav a{margin-right:.8rem;font-size:.9rem}
table{border-collapse:collapse;font-size:.8rem;margin:.6rem 0;display:block;overflow-x:auto}
th,td{border:1px solid #ddd;padding:.25rem .45rem;text-align:left;vertical-align:top}
th{background:#f4f4f6}td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:1rem 0}figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:.85rem;color:#444}caption{caption-side:top;text-align:left;color:#444;
font-size:.85rem;padding-bottom:.3rem}.kind{border-radius:3px;padding:0 .3rem;white-space:nowrap}
.k-exact{background:#e3f4e6}.k-simulated{background:#e4eefb}.k-sampled{background:#f1e6fa}
.k-extrapolated,.k-fitted{background:#fdebd6}.k-not{background:#eee;color:#666}
li.failed{color:#a1001e}
"""

_KIND_CLASSES = (
    ("exact", "k-exact"),
    ("measured (exact", "k-exact"),
    ("simulated", "k-simulated"),
    ("measured (simulated", "k-simulated"),
    ("sampled", "k-sampled"),
    ("measured (sampled", "k-sampled"),
    ("extrapolated", "k-extrapolated"),
    ("fitted", "k-fitted"),
    ("not measured", "k-not"),
)


def _is_kind_column(name: str) -> bool:
    return name == "kind" or name.endswith("__kind")


def _kind_class(text: str) -> str:
    for prefix, css in _KIND_CLASSES:
        if text.startswith(prefix):
            return css
    return ""


def _html_cell(column: str, value: object) -> str:
    text = html.escape(format_number(value))
    if _is_kind_column(column) and text:
        return f'<td><span class="kind {_kind_class(text)}">{text}</span></td>'
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f'<td class="num">{text}</td>'
    return f"<td>{text}</td>"


def _html_table(block: TableBlock) -> str:
    table = block.table
    rows = table.rows[:MAX_INLINE_ROWS]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = "".join(
        "<tr>" + "".join(_html_cell(c, row.get(c)) for c in table.columns) + "</tr>" for row in rows
    )
    caption = html.escape(table.caption)
    if block.csv_path:
        caption += f' (<a href="{html.escape(block.csv_path)}">{html.escape(block.csv_path)}</a>)'
    more = ""
    if len(table.rows) > len(rows):
        more = f"<p>{len(table.rows) - len(rows)} more rows in the CSV file.</p>"
    return f"<table><caption>{caption}</caption><tr>{head}</tr>{body}</table>{more}"


def _html_block(block: Block) -> str:
    if isinstance(block, Text):
        return f"<p>{html.escape(block.text)}</p>"
    if isinstance(block, Bullets):
        items = "".join(
            f'<li class="failed">{html.escape(i)}</li>'
            if i.startswith(("FAILED", "REFUSED"))
            else f"<li>{html.escape(i)}</li>"
            for i in block.items
        )
        return f"<ul>{items}</ul>"
    if isinstance(block, TableBlock):
        return _html_table(block)
    data = base64.b64encode(block.png).decode("ascii")
    alt = html.escape(block.caption)
    return (
        f'<figure><img alt="{alt}" src="data:image/png;base64,{data}">'
        f"<figcaption>{alt}</figcaption></figure>"
    )


def to_html(doc: Document) -> str:
    """One self-contained HTML page (inline CSS, figures as data URIs, no scripts)."""
    nav = "".join(f'<a href="#{s.anchor}">{html.escape(s.title)}</a>' for s in doc.sections)
    header = "<br>".join(html.escape(line) for line in doc.header)
    sections = "".join(
        f'<section id="{s.anchor}"><h2>{html.escape(s.title)}</h2>'
        + "".join(_html_block(b) for b in s.blocks)
        + "</section>"
        for s in doc.sections
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(doc.title)}</title><style>{_CSS}</style></head><body>"
        f'<h1>{html.escape(doc.title)}</h1><p class="header">{header}</p><nav>{nav}</nav>'
        f"{sections}</body></html>\n"
    )


def _md_cell(column: str, value: object) -> str:
    text = format_number(value).replace("|", "\\|").replace("\n", " ")
    return f"*{text}*" if _is_kind_column(column) and text else text


def _md_block(block: Block) -> str:
    if isinstance(block, Text):
        return block.text
    if isinstance(block, Bullets):
        return "\n".join(f"- {item}" for item in block.items)
    if isinstance(block, TableBlock):
        table = block.table
        lines = []
        if table.caption or block.csv_path:
            suffix = f" ([{block.csv_path}]({block.csv_path}))" if block.csv_path else ""
            lines.append(f"{table.caption}{suffix}\n")
        lines.append("| " + " | ".join(table.columns) + " |")
        lines.append("|" + "---|" * len(table.columns))
        for row in table.rows[:MAX_INLINE_ROWS]:
            lines.append("| " + " | ".join(_md_cell(c, row.get(c)) for c in table.columns) + " |")
        if len(table.rows) > MAX_INLINE_ROWS:
            lines.append(f"\n{len(table.rows) - MAX_INLINE_ROWS} more rows in the CSV file.")
        return "\n".join(lines)
    return f"![{block.caption}]({block.path})\n\n*{block.caption}*"


def to_markdown(doc: Document) -> str:
    """Markdown twin of :func:`to_html`; figures are referenced by their relative paths."""
    parts = [f"# {doc.title}", "\n".join(f"{line}  " for line in doc.header)]
    for section in doc.sections:
        parts.append(f"## {section.title}")
        parts.extend(_md_block(b) for b in section.blocks)
    return "\n\n".join(parts) + "\n"
