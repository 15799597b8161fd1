"""A static SVG picture of a :class:`~tfexplore.layout.Layout`.

Used where no live kernel draws the widget (a saved notebook, nbconvert, GitHub) and handy in
tests and reports. It draws exactly what the widget's front end draws, without interaction.

Example::

    >>> from tfexplore.layout_svg import to_svg
    >>> svg = to_svg(layout(visible), styles=palette.item_colors(visible))   # doctest: +SKIP
    >>> open("graph.svg", "w").write(svg)                                     # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from .layout import Box, EdgePath, Layout

__all__ = ["to_svg", "edge_path_data", "fit_label"]

FONT = "font-family='system-ui, -apple-system, Segoe UI, sans-serif'"
FRAME_FILL = "#f7f7f9"
FRAME_STROKE = "#b8bcc6"
EDGE_COLOR = "#8a8f99"
HIGHLIGHT = "#e8590c"
GROUP_DASH = " stroke-dasharray='5 3'"  # groups (series, chunks) are not real scopes


def fit_label(text: str, width: float, char_width: float) -> str:
    """Cut ``text`` to fit ``width`` pixels, keeping its end (the distinctive part of a name).

    >>> fit_label("gradients/layer1/MatMul_grad", 80, 7)
    '…MatMul_grad'
    """
    room = max(int(width // char_width), 1)
    return text if len(text) <= room else "…" + text[-(room - 1) :] if room > 1 else "…"


def edge_path_data(points: Sequence[Sequence[float]]) -> str:
    """SVG path data through ``points``: straight ends, smooth bends (quadratic curves through
    the midpoints of the polyline)."""
    (x0, y0), *rest = points
    parts = [f"M{x0:.1f},{y0:.1f}"]
    for (x1, y1), (x2, y2) in zip(rest, rest[1:]):
        parts.append(f"Q{x1:.1f},{y1:.1f} {(x1 + x2) / 2:.1f},{(y1 + y2) / 2:.1f}")
    xn, yn = rest[-1]
    parts.append(f"L{xn:.1f},{yn:.1f}")
    return " ".join(parts)


def to_svg(
    layout: Layout,
    *,
    styles: Mapping[str, Mapping[str, Any]] | None = None,
    highlight: Iterable[str] = (),
    highlight_edges: Iterable[int] = (),
    selected: str | None = None,
    max_width: float | None = 960,
) -> str:
    """The whole layout as one ``<svg>`` string (frames, edges, boxes, labels).

    ``styles`` maps item ids to ``{"fill": colour, "mix": [[colour, fraction], ...]}`` (see
    :meth:`tfexplore._palette.Palette.item_colors`); ``highlight`` ids get an orange outline,
    ``highlight_edges`` (indices) are drawn orange, ``selected`` gets a thick outline.
    """
    styles = styles or {}
    lit, lit_edges = set(highlight), set(highlight_edges)
    char_width = layout.params.char_width
    frames = [b for b in layout.boxes if b.expanded]
    leaves = [b for b in layout.boxes if not b.expanded]
    body = [_frame(b, char_width, b.id in lit) for b in sorted(frames, key=lambda b: b.depth)]
    body += [_edge(e, e.index in lit_edges) for e in layout.edges]
    body += [
        _leaf(b, styles.get(b.id, {}), char_width, b.id in lit, b.id == selected) for b in leaves
    ]
    width, height = max(layout.width, 1.0), max(layout.height, 1.0)
    shown = min(width, max_width) if max_width else width
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width:.0f} {height:.0f}' "
        f"width='{shown:.0f}' height='{height * shown / width:.0f}' {FONT} font-size='11'>"
        "<defs><marker id='tfx-arrow' viewBox='0 0 8 8' refX='7' refY='4' markerWidth='7' "
        f"markerHeight='7' orient='auto'><path d='M0,0 L8,4 L0,8 z' fill='{EDGE_COLOR}'/>"
        "</marker></defs>" + "".join(body) + "</svg>"
    )


def _frame(box: Box, char_width: float, lit: bool) -> str:
    stroke = HIGHLIGHT if lit else FRAME_STROKE
    label = escape(fit_label(box.label, box.width - 60, char_width))
    dash = GROUP_DASH if box.kind == "group" else ""
    return (
        f"<g class='tfx-frame'><rect x='{box.x}' y='{box.y}' width='{box.width}' "
        f"height='{box.height}' rx='6' fill='{FRAME_FILL}' stroke='{stroke}'{dash}/>"
        f"<text x='{box.x + 8}' y='{box.y + 14}' font-weight='600'>{label}</text>"
        f"<text x='{box.x + box.width - 8}' y='{box.y + 14}' text-anchor='end' fill='#666'>"
        f"{box.op_count} ops</text></g>"
    )


def _edge(edge: EdgePath, lit: bool) -> str:
    width = 1.0 + min(edge.count, 64) ** 0.5 * 0.5
    dash = " stroke-dasharray='4 3'" if edge.control else ""
    color = HIGHLIGHT if lit else EDGE_COLOR
    path = (
        f"<path d='{edge_path_data(edge.points)}' fill='none' stroke='{color}' "
        f"stroke-width='{width:.1f}'{dash} marker-end='url(#tfx-arrow)'/>"
    )
    if edge.count > 1:
        (x1, y1), (x2, y2) = edge.points[-2], edge.points[-1]
        path += (
            f"<text x='{(x1 + x2) / 2 + 4:.1f}' y='{(y1 + y2) / 2:.1f}' font-size='9' "
            f"fill='#666'>{edge.count}</text>"
        )
    return f"<g class='tfx-edge'>{path}</g>"


def _leaf(box: Box, style: Mapping[str, Any], char_width: float, lit: bool, chosen: bool) -> str:
    fill = style.get("fill", "#e8eef7")
    stroke = HIGHLIGHT if lit or chosen else "#6b7280"
    stroke_width = 3 if chosen else 2 if lit else 1
    radius = box.height / 2 if box.kind == "op" else 4
    cx = box.x + box.width / 2
    dash = GROUP_DASH if box.kind == "group" else ""
    parts = [
        f"<rect x='{box.x}' y='{box.y}' width='{box.width}' height='{box.height}' rx='{radius}' "
        f"fill='{fill}' stroke='{stroke}' stroke-width='{stroke_width}'{dash}/>"
    ]
    label = escape(fit_label(box.label, box.width - 10, char_width))
    if box.kind != "op":
        parts.append(_mix_stripe(box, style.get("mix", [])))
        parts.append(f"<text x='{cx}' y='{box.y + 14}' text-anchor='middle'>{label}</text>")
        parts.append(
            f"<text x='{cx}' y='{box.y + 26}' text-anchor='middle' font-size='9' fill='#555'>"
            f"{box.op_count} ops</text>"
        )
    else:
        parts.append(
            f"<text x='{cx}' y='{box.y + box.height / 2 + 4}' text-anchor='middle'>{label}</text>"
        )
    kind = f"tfx-{box.kind}"
    return f"<g class='{kind}'><title>{escape(box.name)}</title>{''.join(parts)}</g>"


def _mix_stripe(box: Box, mix: Sequence[Sequence[Any]]) -> str:
    x, parts = box.x + 4, []
    room = box.width - 8
    for color, fraction in mix:
        width = room * float(fraction)
        parts.append(
            f"<rect x='{x:.1f}' y='{box.y + box.height - 5}' width='{width:.1f}' height='3' "
            f"fill='{color}' stroke='none' style='filter:brightness(0.8)'/>"
        )
        x += width
    return "".join(parts)
