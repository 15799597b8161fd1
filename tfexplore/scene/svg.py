"""A static SVG picture of a :class:`~tfexplore.scene.layout.Layout`.

Used where no live kernel draws the widget (a saved notebook, nbconvert, GitHub) and handy in
tests and reports. It draws what the widget's front end draws, without interaction: the same
label texts (:func:`tfexplore.scene.layout.box_text`) and edge counts in the same places
(:func:`tfexplore.scene.layout.edge_count_positions`). The picture brings its own white ground and
the light palette with dark text, so it stays readable in a dark page.

Example::

    >>> from tfexplore.scene.svg import to_svg
    >>> svg = to_svg(layout(visible), styles=palette.item_colors(visible))   # doctest: +SKIP
    >>> open("graph.svg", "w").write(svg)                                     # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from .boxes import Box, EdgePath, Layout, box_text, edge_count_positions, fit_label, text_places
from .params import LayoutParams

__all__ = ["to_svg", "edge_path_data", "fit_label"]

FONT = "font-family='system-ui, -apple-system, Segoe UI, sans-serif'"
#: every text is ``TEXT`` on the ground, a frame or a light palette fill: at least 4.5:1
BACKGROUND = "#ffffff"
TEXT = "#1f2328"
FRAME_FILL = "#f6f7f9"
FRAME_STROKE = "#8c929c"
EDGE_COLOR = "#7a808a"
OP_STROKE = "#5f6670"
HIGHLIGHT = "#d9480f"
GROUP_DASH = " stroke-dasharray='5 3'"  # groups (series, chunks) are not real scopes


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
    :meth:`tfexplore.scene.palette.Palette.item_colors`); ``highlight`` ids get an orange outline,
    ``highlight_edges`` (indices) are drawn orange, ``selected`` gets a thick outline.
    """
    styles = styles or {}
    lit, lit_edges = set(highlight), set(highlight_edges)
    params = layout.params
    counts = edge_count_positions(layout)
    frames = [b for b in layout.boxes if b.expanded]
    leaves = [b for b in layout.boxes if not b.expanded]
    body = [_frame(b, params, b.id in lit) for b in sorted(frames, key=lambda b: b.depth)]
    body += [
        _edge(e, e.index in lit_edges, counts.get(k), params.small_font_size)
        for k, e in enumerate(layout.edges)
    ]
    body += [_leaf(b, styles.get(b.id, {}), params, b.id in lit, b.id == selected) for b in leaves]
    width, height = max(layout.width, 1.0), max(layout.height, 1.0)
    shown = min(width, max_width) if max_width else width
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width:.0f} {height:.0f}' "
        f"width='{shown:.0f}' height='{height * shown / width:.0f}' {FONT} "
        f"font-size='{params.font_size:g}' fill='{TEXT}'>"
        "<defs><marker id='tfx-arrow' viewBox='0 0 8 8' refX='7' refY='4' markerWidth='7' "
        f"markerHeight='7' orient='auto'><path d='M0,0 L8,4 L0,8 z' fill='{EDGE_COLOR}'/>"
        "</marker></defs>"
        f"<rect class='tfx-ground' width='100%' height='100%' fill='{BACKGROUND}'/>"
        + "".join(body)
        + "</svg>"
    )


def _frame(box: Box, params: LayoutParams, lit: bool) -> str:
    stroke = HIGHLIGHT if lit else FRAME_STROKE
    label = escape(box_text(box, params))
    dash = GROUP_DASH if box.kind == "group" else ""
    places = text_places(box)
    (x, y), (count_x, count_y) = places["text_at"], places["count_text_at"]
    return (
        f"<g class='tfx-frame'><rect x='{box.x}' y='{box.y}' width='{box.width}' "
        f"height='{box.height}' rx='6' fill='{FRAME_FILL}' stroke='{stroke}'{dash}/>"
        f"<text x='{x}' y='{y}' font-weight='600'>{label}</text>"
        f"<text x='{count_x}' y='{count_y}' text-anchor='{places['count_anchor']}' "
        f"font-size='{params.small_font_size:g}'>{places['count_text']}</text></g>"
    )


def _edge(edge: EdgePath, lit: bool, count_at, font_size: float) -> str:
    width = 1.0 + min(edge.count, 64) ** 0.5 * 0.5
    dash = " stroke-dasharray='4 3'" if edge.control else ""
    color = HIGHLIGHT if lit else EDGE_COLOR
    path = (
        f"<path d='{edge_path_data(edge.points)}' fill='none' stroke='{color}' "
        f"stroke-width='{width:.1f}'{dash} marker-end='url(#tfx-arrow)'/>"
    )
    if count_at is not None:  # on a halo of the ground colour: readable across the edge
        x, y = count_at
        path += (
            f"<text class='tfx-edge-count' x='{x:.1f}' y='{y:.1f}' font-size='{font_size:g}' "
            f"stroke='{BACKGROUND}' stroke-width='3' paint-order='stroke'>{edge.count}</text>"
        )
    return f"<g class='tfx-edge'>{path}</g>"


def _leaf(box: Box, style: Mapping[str, Any], params: LayoutParams, lit: bool, chosen: bool) -> str:
    fill = style.get("fill", "#e8eef7")
    stroke = HIGHLIGHT if lit or chosen else OP_STROKE
    stroke_width = 3 if chosen else 2 if lit else 1
    radius = box.height / 2 if box.kind == "op" else 3
    dash = GROUP_DASH if box.kind == "group" else ""
    parts = []
    if box.kind != "op":  # a scope or group is drawn as a stack: a second box behind it
        x, y, w, h = box.x + 3, box.y + 3, box.width, box.height
        parts.append(
            f"<path d='M{x:.2f},{y:.2f} h{w:.2f} v{h:.2f} h{-w:.2f} z' fill='{fill}' "
            f"stroke='{stroke}'{dash}/>"
        )
    parts.append(
        f"<rect x='{box.x}' y='{box.y}' width='{box.width}' height='{box.height}' rx='{radius}' "
        f"fill='{fill}' stroke='{stroke}' stroke-width='{stroke_width}'{dash}/>"
    )
    label = escape(box_text(box, params))
    places = text_places(box)
    if box.kind != "op":
        parts.append(_mix_stripe(box, style.get("mix", [])))
    x, y = places["text_at"]
    parts.append(f"<text x='{x}' y='{y}' text-anchor='{places['text_anchor']}'>{label}</text>")
    if places["count_text"] is not None:
        count_x, count_y = places["count_text_at"]
        parts.append(
            f"<text x='{count_x}' y='{count_y}' text-anchor='{places['count_anchor']}' "
            f"font-size='{params.small_font_size:g}'>{places['count_text']}</text>"
        )
    kind = f"tfx-{box.kind}"
    return f"<g class='{kind}'><title>{escape(box.name)}</title>{''.join(parts)}</g>"


def _mix_stripe(box: Box, mix: Sequence[Sequence[Any]]) -> str:
    x, parts = box.x + 4, []
    room = box.width - 8
    for color, fraction, *_ in mix:
        width = room * float(fraction)
        parts.append(
            f"<rect x='{x:.1f}' y='{box.y + box.height - 5}' width='{width:.1f}' height='3' "
            f"fill='{color}' stroke='none' style='filter:brightness(0.8)'/>"
        )
        x += width
    return "".join(parts)
