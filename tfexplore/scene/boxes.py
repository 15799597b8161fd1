"""What a layout produces and the texts drawn on it: :class:`Box`, :class:`EdgePath`,
:class:`Layout` (and its plain-data form for the widget, :meth:`Layout.to_dict`), and the one
owner of texts for the widget and the static SVG alike: labels cut keeping their end
(:func:`fit_label`, :func:`box_text`), where edge counts are written
(:func:`edge_count_positions`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from .params import LayoutParams, Point

__all__ = [
    "Box",
    "EdgePath",
    "Layout",
    "fit_label",
    "label_of",
    "box_text",
    "edge_count_positions",
    "text_places",
    "FRAME_COUNT_ROOM",
]


@dataclass(frozen=True)
class Box:
    """A placed item: top-left ``x``, ``y``, ``width``, ``height`` in layout pixels.

    Fields from the visible item: ``id`` (op name, or scope name + ``/``), ``kind`` (``op`` or
    ``scope``), ``name``, ``label``, ``container`` (id of the expanded scope it sits in, ``/``
    at the top), ``depth``, ``expanded``, ``op_count``, ``op_type``.
    """

    id: str
    kind: str
    name: str
    label: str
    container: str
    depth: int
    expanded: bool
    op_count: int
    op_type: str
    x: float
    y: float
    width: float
    height: float

    @property
    def center(self) -> Point:
        return (self.x + self.width / 2, self.y + self.height / 2)

    def overlaps(self, other: Box) -> bool:
        """True when the two rectangles share interior area."""
        return (
            self.x < other.x + other.width
            and other.x < self.x + self.width
            and self.y < other.y + other.height
            and other.y < self.y + self.height
        )


@dataclass(frozen=True)
class EdgePath:
    """A bundled edge as a polyline from ``src``'s box to ``dst``'s box.

    ``count`` tensors (control: source ops) travel along it; ``index`` is the index of the
    :class:`~tfexplore.scene.hierarchy.VisibleEdge` it draws.
    """

    src: str
    dst: str
    control: bool
    count: int
    index: int
    points: tuple[Point, ...]


@dataclass
class Layout:
    """Boxes and edge polylines of a visible graph; ``width``/``height`` bound them all."""

    boxes: list[Box]
    edges: list[EdgePath]
    width: float
    height: float
    params: LayoutParams = field(repr=False)

    def box(self, item_id: str) -> Box:
        """The box of a visible item, by id."""
        for box in self.boxes:
            if box.id == item_id:
                return box
        raise KeyError(item_id)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plain data (what the widget sends to the browser): each box with its
        ``text`` (the label as drawn, see :func:`box_text`), each edge with ``count_at`` (where
        its tensor count is written, ``None`` when not written, see
        :func:`edge_count_positions`), and ``params`` (:meth:`LayoutParams.view_params`)."""
        counts = edge_count_positions(self)
        return {
            "width": self.width,
            "height": self.height,
            "boxes": [
                {**vars(b), "text": box_text(b, self.params), **text_places(b)} for b in self.boxes
            ],
            "edges": [
                {
                    **vars(e),
                    "points": [list(p) for p in e.points],
                    "count_at": list(counts[k]) if k in counts else None,
                }
                for k, e in enumerate(self.edges)
            ],
            "params": self.params.view_params(),
        }


# -- texts: one owner for the widget and the static picture ------------------------------
#: the room (px) a frame's header keeps right of its name for the op count
FRAME_COUNT_ROOM = 70.0
OPEN_MARK, CLOSED_MARK, OP_MARK = "▾ ", "▸ ", " (op)"


def fit_label(text: str, width: float, char_width: float) -> str:
    """Cut ``text`` to fit ``width`` pixels, keeping its end (the distinctive part of a name).

    >>> fit_label("gradients/layer1/MatMul_grad", 80, 7)
    '…atMul_grad'
    """
    room = max(int(width // char_width), 1)
    return text if len(text) <= room else "…" + text[-(room - 1) :] if room > 1 else "…"


def _own_scope_op(item_id: str, container: str) -> bool:
    """An op drawn inside the scope of the same name (``layer1/MatMul`` in ``layer1/MatMul/``)."""
    return container == item_id + "/"


def label_of(label: str, kind: str, item_id: str, container: str) -> str:
    """A box's label before cutting: a scope's name ends with ``/``; an op inside the scope of
    its own name says ``(op)``, so the two never read alike."""
    if kind == "scope":
        return label + "/"
    if kind == "op" and _own_scope_op(item_id, container):
        return label + OP_MARK
    return label


def box_text(box: Box, params: LayoutParams) -> str:
    """The label drawn in ``box`` (the widget and :mod:`tfexplore.scene.svg` draw this very
    text): cut to the box's width (keeping the end of the name), with its open/closed mark.

    >>> params = LayoutParams()
    >>> box = Box("a/MatMul", "op", "a/MatMul", "MatMul", "a/MatMul/", 1, False, 1, "MatMul",
    ...           0, 0, 90, 24)
    >>> box_text(box, params)
    'MatMul (op)'
    """
    cw = params.char_width
    full = label_of(box.label, box.kind, box.id, box.container)
    if box.expanded:
        return OPEN_MARK + fit_label(full, box.width - FRAME_COUNT_ROOM, cw)
    if box.kind == "op":
        suffix = OP_MARK if full.endswith(OP_MARK) and _own_scope_op(box.id, box.container) else ""
        name = full[: len(full) - len(suffix)]
        return fit_label(name, box.width - 10 - len(suffix) * cw, cw) + suffix
    return CLOSED_MARK + fit_label(full, box.width - 10 - 2 * cw, cw)


#: where a box's texts sit, in px from its top-left corner: a frame's header (its label left,
#: its op count right, ``TEXT_INSET`` in) and a collapsed scope's label on the first baseline,
#: a collapsed scope's op count on the second; an op's label on its middle line, shifted down
TEXT_INSET, FIRST_BASELINE, SECOND_BASELINE, OP_BASELINE_SHIFT = 8.0, 14.0, 26.0, 4.0


def text_places(box: Box) -> dict[str, Any]:
    """Where the widget and :mod:`tfexplore.scene.svg` write a box's texts: its label
    (``text_at``, ``text_anchor``) and, for a scope or group, its op count (``count_text``,
    ``count_text_at``, ``count_anchor``; ``None`` for an op).

    >>> box = Box("a/", "scope", "a", "a", "/", 1, False, 12, "MatMul", 0, 0, 90, 36)
    >>> text_places(box)["count_text"], text_places(box)["count_text_at"]
    ('12 ops', [45.0, 26.0])
    """
    x, y, width, height = box.x, box.y, box.width, box.height
    if box.kind == "op" and not box.expanded:
        middle = [x + width / 2, y + height / 2 + OP_BASELINE_SHIFT]
        return {
            "text_at": middle,
            "text_anchor": "middle",
            "count_text": None,
            "count_text_at": None,
            "count_anchor": None,
        }
    count = f"{box.op_count} ops"
    if box.expanded:
        return {
            "text_at": [x + TEXT_INSET, y + FIRST_BASELINE],
            "text_anchor": "start",
            "count_text": count,
            "count_text_at": [x + width - TEXT_INSET, y + FIRST_BASELINE],
            "count_anchor": "end",
        }
    return {
        "text_at": [x + width / 2, y + FIRST_BASELINE],
        "text_anchor": "middle",
        "count_text": count,
        "count_text_at": [x + width / 2, y + SECOND_BASELINE],
        "count_anchor": "middle",
    }


def edge_count_positions(result: Layout) -> dict[int, Point]:
    """Where each edge carrying more than one tensor has its count written (by index in
    ``result.edges``): half way along its path, else about a third, two thirds, a fifth or
    four fifths of the way, at the first of these that overlaps neither a box nor a count
    already placed, and is not on a straight stretch other edges share (the gap a wrapped
    layout's edges turn up through: a count there would not say whose it is). An edge with
    no such place has no count written (hovering it still says it)."""
    params = result.params
    shared = _shared_lines(result.edges)
    height = params.small_font_size
    cell = 64.0
    grid: dict[tuple[int, int], list[tuple[float, float, float, float]]] = defaultdict(list)

    def cells(x0, y0, x1, y1):
        for i in range(int(x0 // cell), int(x1 // cell) + 1):
            for j in range(int(y0 // cell), int(y1 // cell) + 1):
                yield i, j

    def add(rect):
        for key in cells(*rect):
            grid[key].append(rect)

    def free(rect):
        x0, y0, x1, y1 = rect
        return not any(
            x0 < b[2] and b[0] < x1 and y0 < b[3] and b[1] < y1
            for key in cells(*rect)
            for b in grid.get(key, ())
        )

    for box in result.boxes:
        if not box.expanded:
            add((box.x, box.y, box.x + box.width, box.y + box.height))
        else:  # a frame's header (its name and op count)
            add((box.x, box.y, box.x + box.width, box.y + params.header_height))
    placed: dict[int, Point] = {}
    for k, edge in enumerate(result.edges):
        if edge.count <= 1 or len(edge.points) < 2:
            continue
        width = len(str(edge.count)) * params.char_width * height / params.font_size + 2
        for fraction in (0.5, 0.35, 0.65, 0.2, 0.8):
            (x, y), segment = _along(edge.points, fraction)
            if _is_shared(segment, k, shared):
                continue
            rect = (x + 3, y - height / 2 - 1, x + 3 + width, y + height / 2 + 1)
            if free(rect):
                add(rect)
                placed[k] = (round(x + 4, 1), round(y + height / 2 - 1, 1))  # text baseline
                break
    return placed


def _along(points, fraction: float) -> tuple[Point, tuple[Point, Point]]:
    """The point ``fraction`` of the way along a polyline, and the segment it lies on."""
    lengths = [math.dist(a, b) for a, b in zip(points, points[1:])]
    goal = sum(lengths) * fraction
    for (a, b), length in zip(zip(points, points[1:]), lengths):
        if goal <= length and length > 0:
            t = goal / length
            return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t), (a, b)
        goal -= length
    return points[-1], (points[-2], points[-1])


def _stretch(a: Point, b: Point) -> tuple[tuple[str, int], float, float] | None:
    """A straight vertical or horizontal stretch: the line it runs on and its extent."""
    if math.dist(a, b) < 1:
        return None
    if abs(a[0] - b[0]) < 0.5:
        return ("x", round(a[0])), min(a[1], b[1]), max(a[1], b[1])
    if abs(a[1] - b[1]) < 0.5:
        return ("y", round(a[1])), min(a[0], b[0]), max(a[0], b[0])
    return None


def _shared_lines(edges) -> dict[tuple[str, int], list[tuple[float, float, int]]]:
    """Per vertical or horizontal line, the stretches edges run on it: (from, to, edge)."""
    lines: dict[tuple[str, int], list[tuple[float, float, int]]] = defaultdict(list)
    for k, edge in enumerate(edges):
        for a, b in zip(edge.points, edge.points[1:]):
            stretch = _stretch(a, b)
            if stretch is not None:
                lines[stretch[0]].append((stretch[1], stretch[2], k))
    return lines


def _is_shared(segment, k: int, lines) -> bool:
    """Whether another edge runs along part of ``segment`` of edge ``k``."""
    stretch = _stretch(*segment)
    if stretch is None:
        return False
    key, low, high = stretch
    return any(j != k and lo < high - 1 and low < hi - 1 for lo, hi, j in lines.get(key, ()))
