"""What every page shares: one HTML shell, escaping, number formats, plotly embedding.

Pages are self-contained and work offline: plotly.js is embedded once per page (the first
figure), never fetched from a CDN. Every user string (names, event details) is escaped.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence

import plotly.graph_objects as go

# The colours are re-exported for pages that took them from here; new code imports style.
from engine.reports.style import BENCHMARK_COLOR as BENCHMARK_COLOR
from engine.reports.style import CSS_FONT_STACK, PLOT_CONFIG, STRATEGY_COLOR
from engine.reports.style import DRAWDOWN_COLOR as DRAWDOWN_COLOR
from engine.reports.style import PALETTE as PALETTE

CSS = (
    """
body{font-family:"""
    + CSS_FONT_STACK
    + """;margin:24px auto;max-width:1320px;
 color:#222;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 6px;border-bottom:1px solid
 #ddd;padding-bottom:3px}
p.lede{color:#555;margin:2px 0 12px}.muted{color:#777}
nav a{margin-right:14px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 12px;min-width:130px}
.card .k{font-size:12px;color:#666}.card .v{font-size:20px;font-weight:bold}
.card .b{font-size:12px;color:#666}
table{border-collapse:collapse;font-size:13px;margin:6px 0}
th,td{border-bottom:1px solid #e5e5e5;padding:3px 8px;text-align:right;vertical-align:top}
th{background:#f5f5f5}td.l,th.l{text-align:left}
tr.open td{font-style:italic}
.neg{color:#b2304a}.pos{color:#1a7f37}
.note{background:#f7f9fc;border-left:3px solid """
    + STRATEGY_COLOR
    + """;padding:6px 10px;margin:8px 0}
details{margin:8px 0}
"""
)


def esc(text: object) -> str:
    """Escape a user string for HTML text or an attribute."""
    return html.escape(str(text), quote=True)


def pct(value: object, signed: bool = True, digits: int = 1) -> str:
    """A fraction as a percentage; 'n/a' for missing or non-finite values."""
    number = _finite(value)
    if number is None:
        return "n/a"
    return f"{number:{'+' if signed else ''}.{digits}%}"


def num(value: object, digits: int = 2) -> str:
    """A plain number; 'n/a' for missing or non-finite values."""
    number = _finite(value)
    return "n/a" if number is None else f"{number:.{digits}f}"


def _finite(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def signed_class(value: object) -> str:
    number = _finite(value)
    if number is None or number == 0:
        return ""
    return "pos" if number > 0 else "neg"


def table(
    head: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    left: int = 1,
    html_id: str = "",
    row_classes: Sequence[str] = (),
) -> str:
    """An HTML table of already-escaped cells; the first `left` columns align left."""

    def cell(tag: str, i: int, text: str) -> str:
        return f'<{tag} class="l">{text}</{tag}>' if i < left else f"<{tag}>{text}</{tag}>"

    header = "".join(cell("th", i, h) for i, h in enumerate(head))
    body = []
    for n, row in enumerate(rows):
        css = row_classes[n] if n < len(row_classes) and row_classes[n] else ""
        attr = f' class="{css}"' if css else ""
        body.append(f"<tr{attr}>" + "".join(cell("td", i, c) for i, c in enumerate(row)) + "</tr>")
    ident = f' id="{esc(html_id)}"' if html_id else ""
    return f"<table{ident}><thead><tr>{header}</tr></thead><tbody>{''.join(body)}</tbody></table>"


class Figures:
    """Turns plotly figures into divs; the first one embeds plotly.js, the rest reuse it."""

    def __init__(self) -> None:
        self._embedded = False

    def div(self, figure: go.Figure, div_id: str) -> str:
        text = figure.to_html(
            full_html=False,
            include_plotlyjs=not self._embedded,
            div_id=div_id,
            config=PLOT_CONFIG,
        )
        self._embedded = True
        return text


def page(title: str, body: str) -> str:
    """The whole page: one shell, UTF-8 declared first."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head>"
        f"<body>{body}</body></html>\n"
    )


def card(label: str, value: str, below: str = "") -> str:
    """A headline figure box (label, big value, a comparison line under it)."""
    extra = f'<div class="b">{below}</div>' if below else ""
    head = f'<div class="k">{label}</div><div class="v">{value}</div>'
    return f'<div class="card">{head}{extra}</div>'
