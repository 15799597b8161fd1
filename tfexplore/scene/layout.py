"""Plain coordinates for a visible graph: a layered (Sugiyama-style) compound layout.

Input is a :class:`~tfexplore.scene.hierarchy.VisibleGraph` (what is on screen for some expanded
scopes); output is a :class:`Layout`: a box (x, y, width, height, top-left origin, y growing
down) per visible item and a polyline per bundled edge, which any view can draw (the widget's
SVG, :func:`tfexplore.scene.svg.to_svg`). Data flows top to bottom.

Each expanded scope is laid out on its own, bottom-up: its children are ranked (longest path,
sources pulled down next to their consumers), ordered by barycentre sweeps that keep the order
with the fewest crossings, and placed by a least-squares pass that keeps each box near its
neighbours without overlap. A long chain of ops (each feeding only the next) is first folded
into one block of side-by-side columns (:attr:`LayoutParams.chain_fold_min`), so that a scope
holding a 200-op chain is drawn about as wide as it is tall, not as a thin column thousands
of pixels high. Side inputs of the chain's ops (a ``Const``, a variable's read, feeding only
that op) do not break it: they are drawn small beside their op
(:attr:`LayoutParams.chain_leaf_depth`). Its frame then takes the size of its content, and
the parent lays it out as one big node. An edge between two items in different scopes is
routed through the dummy points of the lifted edge in their lowest common scope. Only what is
visible is laid out, and the result is deterministic.

Example::

    >>> from tfexplore.scene.hierarchy import Hierarchy
    >>> visible = Hierarchy(graph).visible(expanded={"layer1"})   # doctest: +SKIP
    >>> result = layout(visible)                                  # doctest: +SKIP
    >>> result.box("layer1/").width, len(result.edges)            # doctest: +SKIP
    (412.0, 17)
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import TFExploreError
from .hierarchy import MAX_CHILDREN, VisibleGraph

__all__ = [
    "LayoutParams",
    "Box",
    "EdgePath",
    "Layout",
    "layout",
    "LayoutTooLargeError",
    "fit_label",
    "box_text",
    "edge_count_positions",
]

ROOT_ID = "/"
LOOP_BACK_OPS = frozenset({"NextIteration", "RefNextIteration"})
Point = tuple[float, float]


class LayoutTooLargeError(TFExploreError, ValueError):
    """More boxes would be visible than :attr:`LayoutParams.max_visible_nodes` allows."""


@dataclass(frozen=True)
class LayoutParams:
    """Every size and spacing the layout uses, in pixels (one object, passed explicitly).

    Example::

        >>> roomy = LayoutParams(rank_sep=60, node_sep=30)
        >>> roomy.op_height
        24.0
    """

    #: height of an op box
    op_height: float = 24.0
    #: height of a collapsed scope box (it shows its name and op count)
    scope_height: float = 34.0
    #: box widths follow their label: ``char_width * len(label) + label_padding``, clamped
    char_width: float = 7.0
    label_padding: float = 18.0
    min_width: float = 56.0
    max_width: float = 180.0
    #: horizontal gap between two boxes of a rank
    node_sep: float = 18.0
    #: horizontal gap next to the bend point of a long edge
    edge_sep: float = 10.0
    #: vertical gap between ranks
    rank_sep: float = 38.0
    #: inner margin of an expanded scope's frame, and the band at its top for its name
    padding: float = 12.0
    header_height: float = 20.0
    #: barycentre sweeps (each down then up) to reduce crossings
    ordering_sweeps: int = 4
    #: least-squares placement sweeps (each down then up)
    placement_sweeps: int = 4
    #: a chain (ops joined one to the next: each but the first has exactly one input inside
    #: the frame, each but the last exactly one consumer there) longer than this is folded:
    #: its ops stand in columns side by side, read top to bottom then left to right, and
    #: the edge leaving a column's bottom turns up through the gap into the next column's
    #: top. Without folding, a scope holding a 200-op chain is one column ~12,000 px tall.
    #: 0 turns folding off.
    chain_fold_min: int = 12
    #: the height/width a folded chain aims at (its column length follows from it)
    chain_aspect: float = 0.75
    #: vertical gap between two ops of a folded column (tighter than ``rank_sep``: a chain
    #: has one straight edge per gap)
    chain_rank_sep: float = 20.0
    #: horizontal gap between two columns of a folded chain (the turning edges run there)
    chain_column_sep: float = 36.0
    #: side inputs of chain ops do not break the chain: an item that is not open, has no
    #: input inside the frame (a ``Const``, a variable box such as ``b/`` holding
    #: ``b/read``, a ``ReadVariableOp`` of a variable made elsewhere), or whose inputs there are
    #: all such items feeding only it, at most this many levels deep (``w/`` ->
    #: ``ReadVariableOp``), and which feeds only one op in the frame while that op has another
    #: input there, is attached to that op. In a folded chain it is drawn small, just above
    #: and left of the op, with its edge (like the constants TensorBoard extracts); elsewhere
    #: it stays an ordinary node. An item feeding two ops is never attached. 0 turns it off
    #: (side inputs then break chains, as any second input does).
    chain_leaf_depth: int = 2
    #: an op with more attached items than this keeps them all as ordinary nodes
    chain_leaf_max: int = 6
    #: height of an attached op box (an attached collapsed scope keeps ``scope_height``: its
    #: box shows its op count on a second line)
    chain_leaf_height: float = 16.0
    #: widest attached box (its label is shortened to fit)
    chain_leaf_width: float = 80.0
    #: gap between an attached item and the op it feeds, and between attached items; a
    #: folded chain's gap between two ops grows past ``chain_rank_sep`` only where an op's
    #: attached items need the room
    chain_leaf_sep: float = 8.0
    #: the width/height the whole picture aims at (the widget's drawing area, which the
    #: browser reports): a top level much taller than that is cut, between ranks, into bands
    #: drawn side by side (an edge into a later band turns up the gap after its own band and
    #: enters from the top). ``None``: one band, however tall.
    aspect: float | None = None
    #: the height (layout px) the drawing area shows at the smallest zoom the view's moves
    #: leave: with ``aspect`` set, a top level no taller than this stays one band, a taller
    #: one gets the fewest bands that are no taller (else those nearest ``aspect``).
    #: ``None``: the number of bands whose shape is nearest ``aspect``.
    max_height: float | None = None
    #: a wrapped top level has at most this many bands
    max_bands: int = 6
    #: font size (px, at zoom 1) of box labels, and of the smaller texts (op counts, edge
    #: counts); ``char_width`` is the width the layout reserves per character of a label
    font_size: float = 11.0
    small_font_size: float = 10.0
    #: the smallest on-screen text size (px) the view's own moves (first view, fit, bringing a
    #: scope or a match into view) may leave: they zoom out no further than
    #: ``min_text_px / small_font_size`` and pan instead
    min_text_px: float = 10.0
    #: laying out more boxes than this raises :class:`LayoutTooLargeError`
    max_visible_nodes: int = 2000
    #: a scope with more direct children than this shows them in groups: series
    #: (``Add_[0-4999]``), then chunks in graph order (``ops 1–200``); see
    #: :mod:`tfexplore.scene.hierarchy`. Used by :class:`~tfexplore.ui.graphview.GraphExplorer`.
    max_children: int = MAX_CHILDREN

    def item_size(self, label: str, kind: str, expanded: bool = False) -> tuple[float, float]:
        """(width, height) of a leaf box (an op, or a collapsed scope)."""
        width = self.char_width * len(label) + self.label_padding
        if kind != "op":  # a scope or group: room for the open/close marker
            width += 2 * self.char_width
        width = min(max(width, self.min_width), self.max_width)
        return width, self.op_height if kind == "op" else self.scope_height

    def view_params(self) -> dict[str, float]:
        """What the widget's front end needs to draw as the layout planned (sent with every
        scene: one owner for text sizes)."""
        return {
            "font_size": self.font_size,
            "small_font_size": self.small_font_size,
            "min_text_px": self.min_text_px,
            "char_width": self.char_width,
            "min_scale": self.min_text_px / min(self.font_size, self.small_font_size),
        }

    def attached_size(self, size: tuple[float, float], kind: str) -> tuple[float, float]:
        """(width, height) of a box of ``size`` drawn attached to the chain op it feeds."""
        height = self.chain_leaf_height
        if kind != "op":  # a scope or group box shows its op count on a second line
            height = max(height, self.scope_height)
        return min(size[0], self.chain_leaf_width), min(size[1], height)


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
            "boxes": [{**vars(b), "text": box_text(b, self.params)} for b in self.boxes],
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


def layout(visible: VisibleGraph, params: LayoutParams | None = None) -> Layout:
    """Lay out a visible graph: every item gets a box, every bundled edge a polyline.

    Raises:
        LayoutTooLargeError: more than ``params.max_visible_nodes`` items are visible.
    """
    params = params or LayoutParams()
    if len(visible.items) > params.max_visible_nodes:
        raise LayoutTooLargeError(
            f"{len(visible.items)} boxes would be visible; the layout stops at "
            f"{params.max_visible_nodes}.",
            expected=f"at most {params.max_visible_nodes} visible ops and scopes",
            hint="collapse a scope, or pass LayoutParams(max_visible_nodes=...) to allow more",
        )
    items = {item.id: item for item in visible.items}
    chains = _container_chains(visible)
    lifted, edge_lifts = _lift_edges(visible, chains)
    loops = _loop_back_edges(visible, items, edge_lifts)
    sizes: dict[str, tuple[float, float]] = {}
    local: dict[str, _LocalLayout] = {}
    containers = [i.id for i in visible.items if i.expanded][::-1] + [ROOT_ID]
    for container in containers:  # innermost first: a frame's size comes from its content
        children = visible.children.get(container, [])
        closed = {}  # what may be attached to a chain op: the items not open, by kind
        for child in children:
            item = items[child]
            if not item.expanded:
                sizes[child] = params.item_size(
                    label_of(item.label, item.kind, item.id, item.container), item.kind
                )
                closed[child] = item.kind
        aspect = params.aspect if container == ROOT_ID else None
        result = _layered_layout(
            children, sizes, lifted[container], loops[container], params, closed, aspect=aspect
        )
        sizes.update(result.resized)
        local[container] = result
        if container != ROOT_ID:
            shown = label_of(items[container].label, items[container].kind, container, "")
            label_width = params.char_width * len(shown) + params.label_padding
            sizes[container] = (
                max(result.width, label_width) + 2 * params.padding,
                result.height + params.header_height + 2 * params.padding,
            )
    boxes, origins = _place(visible, local, sizes, params)
    edges = _route_edges(visible, boxes, origins, local, edge_lifts)
    width = max((b.x + b.width for b in boxes.values()), default=0.0) + params.padding
    height = max((b.y + b.height for b in boxes.values()), default=0.0) + params.padding
    return Layout([boxes[i.id] for i in visible.items], edges, width, height, params)


# -- compound structure ----------------------------------------------------------------
def _container_chains(visible: VisibleGraph) -> dict[str, list[str]]:
    """For each item, the containers from the top level down to (and including) its own."""
    chains: dict[str, list[str]] = {ROOT_ID: []}
    for item in visible.items:  # containers come before their children
        chains[item.id] = chains[item.container] + [item.container]
    return chains


def _lift_edges(visible: VisibleGraph, chains: dict[str, list[str]]):
    """Each visible edge becomes an edge between two siblings in the lowest scope containing
    both ends. Returns the lifted edges per container and, per visible edge, where it went."""
    lifted: dict[str, dict[tuple[str, str], int]] = defaultdict(dict)
    edge_lifts = []
    for edge in visible.edges:
        src_path = chains[edge.src] + [edge.src]
        dst_path = chains[edge.dst] + [edge.dst]
        k = 0
        while src_path[k] == dst_path[k]:
            k += 1
        container, pair = src_path[k - 1], (src_path[k], dst_path[k])
        lifted[container][pair] = lifted[container].get(pair, 0) + edge.count
        edge_lifts.append((container, pair))
    return lifted, edge_lifts


def _loop_back_edges(visible, items, edge_lifts) -> dict[str, set[tuple[str, str]]]:
    """Lifted edges leaving a ``NextIteration`` op: they close a TF1 while loop, so they are
    the ones drawn going back up."""
    loops: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for edge, (container, pair) in zip(visible.edges, edge_lifts):
        if items[edge.src].op_type in LOOP_BACK_OPS:
            loops[container].add(pair)
    return loops


def _place(visible, local, sizes, params):
    """Absolute boxes from the per-container relative positions, top-down."""
    origins = {ROOT_ID: (params.padding, params.padding)}
    boxes: dict[str, Box] = {}
    for item in visible.items:
        ox, oy = origins[item.container]
        rx, ry = local[item.container].positions[item.id]
        width, height = sizes[item.id]
        box = Box(
            id=item.id,
            kind=item.kind,
            name=item.name,
            label=item.label,
            container=item.container,
            depth=item.depth,
            expanded=item.expanded,
            op_count=item.op_count,
            op_type=item.op_type,
            x=round(ox + rx, 2),
            y=round(oy + ry, 2),
            width=round(width, 2),
            height=round(height, 2),
        )
        boxes[item.id] = box
        if item.expanded:
            origins[item.id] = (
                box.x + params.padding,
                box.y + params.header_height + params.padding,
            )
    return boxes, origins


def _route_edges(visible, boxes, origins, local, edge_lifts) -> list[EdgePath]:
    paths = []
    for edge, (container, pair) in zip(visible.edges, edge_lifts):
        src, dst = boxes[edge.src], boxes[edge.dst]
        bends, upward = local[container].routes[pair]
        ox, oy = origins[container]
        middle = [(round(ox + x, 2), round(oy + y, 2)) for x, y in bends]
        src_x, dst_x = src.x + src.width / 2, dst.x + dst.width / 2
        if upward:  # a back edge (a loop): leave from the top, arrive at the bottom
            start, end = (src_x, src.y), (dst_x, dst.y + dst.height)
        else:
            start, end = (src_x, src.y + src.height), (dst_x, dst.y)
        points = (start, *middle, end)
        paths.append(
            EdgePath(edge.src, edge.dst, edge.control, edge.count, edge.index, tuple(points))
        )
    return paths


# -- one layered layout ----------------------------------------------------------------
@dataclass
class _LocalLayout:
    positions: dict[str, Point]  # top-left, relative to the container's content origin
    routes: dict[tuple[str, str], tuple[list[Point], bool]]  # bend points, upward?
    width: float
    height: float
    resized: dict[str, tuple[float, float]] = field(default_factory=dict)  # drawn small


def _layered_layout(
    ids, sizes, edges, loops, params, closed=None, fold: bool = True, aspect=None
) -> _LocalLayout:
    """Sugiyama layout of one container's children: rank, order, place. Long chains are
    folded first (each becomes one block node, see :func:`_fold_chain`); ``closed`` (id ->
    kind of the children not open) are those that may be attached to a chain op; ``aspect``
    (width/height): a result much taller than that is wrapped into bands (:func:`_bands`)."""
    if not ids:
        return _LocalLayout({}, {}, 0.0, 0.0)
    if fold and params.chain_fold_min > 0 and len(ids) > params.chain_fold_min:
        side = _side_inputs(ids, edges, loops, closed or {}, params)
        chain_edges = edges
        if side.tree:
            chain_edges = {pair: n for pair, n in edges.items() if pair[0] not in side.tree}
        runs = _chain_runs(ids, chain_edges, loops, params.chain_fold_min)
        if runs:
            members = {member for run in runs for member in run}
            side.restrict_to(members)
            return _folded_layout(
                ids, sizes, edges, loops, params, runs, side, closed or {}, aspect
            )
    index = {node: i for i, node in enumerate(ids)}
    pairs = sorted((index[a], index[b]) for a, b in edges)
    preferred = {(index[a], index[b]) for a, b in loops}
    upward = _back_edges(len(ids), pairs, preferred)
    dag = sorted({(b, a) if (a, b) in upward else (a, b) for a, b in pairs})
    rank = _rank(len(ids), dag)
    graph = _LayeredGraph.build(ids, sizes, rank, dag)
    _order(graph, params.ordering_sweeps)
    x = _place_x(graph, params)
    y, height = _place_y(graph, params)
    bands = _bands(graph, x, y, height, params, aspect)
    if bands is not None:
        return bands.local(ids, edges, index, upward)
    positions = {
        node: (round(x[i] - graph.width[i] / 2, 2), round(y[i] - graph.height[i] / 2, 2))
        for i, node in enumerate(ids)
    }
    routes = {}
    for a, b in edges:
        i, j = index[a], index[b]
        is_up = (i, j) in upward
        chain = graph.dummies.get((j, i) if is_up else (i, j), [])
        bends = [(round(x[d], 2), round(y[d], 2)) for d in chain]
        routes[(a, b)] = (bends[::-1] if is_up else bends, is_up)
    width = max(x[i] + graph.width[i] / 2 for i in range(len(ids)))
    return _LocalLayout(positions, routes, width, height)


# -- folded chains ---------------------------------------------------------------------
CHAIN_BLOCK = "\x00chain:"  # block node ids: no item id starts with a NUL


def _chain_runs(ids, edges, loops, min_length: int) -> list[list[str]]:
    """Maximal runs ``v1 -> v2 -> ... -> vL`` (L > ``min_length``) of one container's children
    where each link's source has one consumer and its destination one input (among the
    container's edges). Only ``v1`` has inputs from outside the run, only ``vL`` consumers
    outside it. In graph order; deterministic."""
    out_degree: dict[str, int] = defaultdict(int)
    in_degree: dict[str, int] = defaultdict(int)
    looped = {a for a, b in edges if a == b}
    for a, b in edges:
        if a != b:
            out_degree[a] += 1
            in_degree[b] += 1
    following: dict[str, str] = {}
    linked = set()
    for a, b in edges:
        if (
            a != b
            and out_degree[a] == 1
            and in_degree[b] == 1
            and (a, b) not in loops
            and a not in looped
            and b not in looped
        ):
            following[a] = b
            linked.add(b)
    runs = []
    for start in ids:
        if start in linked or start not in following:
            continue
        run = [start]  # no revisits: every node in it has one predecessor, start has none
        while run[-1] in following:
            run.append(following[run[-1]])
        if (run[-1], run[0]) in edges:  # a loop closing on the run: keep the edge outside
            run.pop()
        if len(run) > min_length:
            runs.append(run)
    return runs


@dataclass
class _SideInputs:
    """Side inputs attached to chain ops: ``roots`` (op -> the attached items feeding it, in
    graph order), ``inputs`` (attached item -> the attached items feeding it, in graph order)
    and ``tree`` (attached item -> the op its tree feeds)."""

    roots: dict[str, list[str]]
    inputs: dict[str, list[str]]
    tree: dict[str, str]

    def restrict_to(self, ops) -> None:
        """Keep only what feeds one of ``ops`` (the ops of folded chains)."""
        self.roots = {op: roots for op, roots in self.roots.items() if op in ops}
        self.tree = {item: op for item, op in self.tree.items() if op in ops}
        self.inputs = {item: inputs for item, inputs in self.inputs.items() if item in self.tree}

    def levels(self, op: str) -> list[list[str]]:
        """The items attached to ``op`` by level: those feeding it, then those feeding them."""
        levels, level = [], self.roots.get(op, [])
        while level:
            levels.append(level)
            level = [source for item in level for source in self.inputs[item]]
        return levels


def _side_inputs(ids, edges, loops, closed, params: LayoutParams) -> _SideInputs:
    """What may be attached to an op of one container (see :attr:`LayoutParams.chain_leaf_depth`):
    trees of closed items, each feeding only the next, at most ``chain_leaf_depth`` deep and
    ``chain_leaf_max`` items per op, hanging off an op that has another input in the
    container. Linear in the container's edges; deterministic."""
    if params.chain_leaf_depth <= 0 or not closed:
        return _SideInputs({}, {}, {})
    consumers: dict[str, list[str]] = defaultdict(list)
    inputs: dict[str, list[str]] = defaultdict(list)
    barred = {node for pair in loops for node in pair}
    for a, b in edges:  # each pair once
        if a == b:
            barred.add(a)
        else:
            consumers[a].append(b)
            inputs[b].append(a)
    height: dict[str, int] = {}  # of the tree ending at the item, for the items that may hang
    size: dict[str, int] = {}
    pending = {node: len(inputs[node]) for node in ids}
    queue = deque(node for node in ids if not pending[node])
    while queue:  # sources first; an item on a cycle is never reached
        node = queue.popleft()
        sources = inputs[node]
        if (
            node in closed
            and node not in barred
            and len(consumers[node]) == 1
            and all(source in height for source in sources)  # each feeding only this one
        ):
            tall = 1 + max((height[source] for source in sources), default=0)
            if tall <= params.chain_leaf_depth:
                height[node] = tall
                size[node] = 1 + sum(size[source] for source in sources)
        for consumer in consumers[node]:
            pending[consumer] -= 1
            if not pending[consumer]:
                queue.append(consumer)
    if not height:
        return _SideInputs({}, {}, {})
    index = {node: i for i, node in enumerate(ids)}
    side = _SideInputs({}, {}, {})
    for node in ids:
        if node in height:
            continue
        hanging = [source for source in inputs[node] if source in height]
        if not hanging or len(hanging) == len(inputs[node]):  # no main input: none is a side one
            continue
        if sum(size[source] for source in hanging) > params.chain_leaf_max:
            continue
        side.roots[node] = sorted(hanging, key=index.__getitem__)
        stack = list(hanging)
        while stack:
            item = stack.pop()
            side.tree[item] = node
            side.inputs[item] = sorted(inputs[item], key=index.__getitem__)
            stack.extend(inputs[item])
    return side


@dataclass
class _FoldedChain:
    width: float
    height: float
    offsets: dict[str, Point]  # top-left of each op, relative to the block's top-left
    routes: dict[tuple[str, str], list[Point]]  # bend points of each link, same origin


def _fold_chain(
    run: list[str], sizes, params: LayoutParams, side: _SideInputs | None = None
) -> _FoldedChain:
    """Newspaper columns: ops top to bottom, columns left to right, as many rows as make
    the block's height/width near ``params.chain_aspect``. Every column flows down (data
    never flows up); the link from a column's last op to the next column's first goes down
    a little, across to the gap between the columns, up it, and into the next top.

    Items attached to an op (``side``, drawn small) stand in the gap above it, right-aligned
    just left of the column's centre line (where the chain's edge comes down), one row per
    level of their tree; a column widens to the left, and the gap above a row grows past
    ``chain_rank_sep``, only as much as they need. Their edges stay in the gaps between levels."""
    sep = params.chain_leaf_sep
    levels = {member: side.levels(member) for member in run} if side and side.roots else {}

    def lead(member: str) -> float:  # the room above the op its attached items need
        rows_ = levels.get(member)
        return sum(max(sizes[i][1] for i in row) + sep for row in rows_) + sep if rows_ else 0.0

    def span(member: str) -> float:  # how far they reach left of the op's centre
        rows_ = levels.get(member)
        if not rows_:
            return 0.0
        return max(sum(sizes[i][0] for i in row) + len(row) * sep for row in rows_)

    length = len(run)
    leads = [lead(member) for member in run]
    spans = [span(member) for member in run]
    tallest = max(sizes[m][1] for m in run)
    widest = max(sizes[m][0] for m in run)
    turn = params.chain_rank_sep / 2  # room above the first row and below the last

    def grid(columns: int):
        """Rows, column widths, their room for attached items, row tops, width, height."""
        rows = math.ceil(length / columns)
        widths = [max(sizes[m][0] for m in run[c * rows : (c + 1) * rows]) for c in range(columns)]
        extra = [  # room left of a column for its attached items
            max(0.0, max(spans[c * rows : (c + 1) * rows]) - widths[c] / 2) for c in range(columns)
        ]
        tops, top = [], 0.0  # of each row's band (``tallest`` high), after the gap above it
        for row in range(rows):
            top += max(turn if row == 0 else params.chain_rank_sep, max(leads[row::rows]))
            tops.append(top)
            top += tallest
        width = sum(widths) + sum(extra) + (columns - 1) * params.chain_column_sep
        return rows, widths, extra, tops, width, top + turn

    pitch = tallest + sum(max(params.chain_rank_sep, room) for room in leads) / length
    column_width = widest + max(0.0, max(spans) - widest / 2) + params.chain_column_sep
    rows = math.ceil(math.sqrt(params.chain_aspect * length * column_width / pitch))
    rows = min(max(rows, 2), length)
    columns = math.ceil(length / rows)
    if levels:  # row gaps differ: the estimate may miss; try column counts around it
        most = math.ceil(length / 2)
        tried = range(max(1, columns * 2 // 3), min(most, columns * 3 // 2 + 1) + 1)

        def misfit(c: int) -> tuple[float, int]:
            *_, width, height = grid(c)
            return abs(math.log(height / width / params.chain_aspect)), c

        even = {math.ceil(length / math.ceil(length / c)) for c in tried}  # no stub column
        columns = min(even, key=misfit)
    rows, widths, extra, tops, _, height = grid(columns)  # even columns: no stub at the end
    lefts = []
    left = 0.0
    for c in range(columns):
        lefts.append(left)
        left += extra[c] + widths[c] + params.chain_column_sep
    offsets: dict[str, Point] = {}
    centres: dict[str, float] = {}
    routes: dict[tuple[str, str], list[Point]] = {}
    for i, member in enumerate(run):
        column, row = divmod(i, rows)
        width, box_height = sizes[member]
        centre = centres[member] = lefts[column] + extra[column] + widths[column] / 2
        top = tops[row] + (tallest - box_height) / 2
        offsets[member] = (centre - width / 2, top)
        bottom, consumers = top - sep, [member]
        for level in levels.get(member, ()):
            right = centre - sep
            for item in level:
                item_width, item_height = sizes[item]
                offsets[item] = (right - item_width, bottom - item_height)
                right -= item_width + sep
            for consumer in consumers:
                sources = side.roots[member] if consumer == member else side.inputs[consumer]
                for source in sources:
                    routes[(source, consumer)] = []  # straight, across the gap below the level
            bottom -= max(sizes[item][1] for item in level) + sep
            consumers = level
    for i, (a, b) in enumerate(zip(run, run[1:])):
        column = (i + 1) // rows
        if i // rows == column:
            routes[(a, b)] = []  # straight down
        else:
            gap = lefts[column] - params.chain_column_sep / 2
            routes[(a, b)] = [(centres[a], height), (gap, height), (gap, 0.0), (centres[b], 0.0)]
    return _FoldedChain(lefts[-1] + extra[-1] + widths[-1], height, offsets, routes)


def _folded_layout(
    ids, sizes, edges, loops, params, runs, side: _SideInputs, closed, aspect=None
) -> _LocalLayout:
    """Each run (with the items attached to its ops) becomes one node the size of its folded
    block; the rest is laid out as usual, then the block's items are put back in it."""
    resized = {item: params.attached_size(sizes[item], closed[item]) for item in side.tree}
    block_of: dict[str, str] = {}
    folded: dict[str, _FoldedChain] = {}
    inner_sizes = dict(sizes)
    inner_sizes.update(resized)
    links = set()
    for k, run in enumerate(runs):
        block = f"{CHAIN_BLOCK}{k}"
        folded[block] = _fold_chain(run, inner_sizes, params, side)
        inner_sizes[block] = (folded[block].width, folded[block].height)
        block_of.update((member, block) for member in run)
        links.update(folded[block].routes)
    block_of.update((item, block_of[op]) for item, op in side.tree.items())
    inner_ids = list(dict.fromkeys(block_of.get(node, node) for node in ids))
    inner_edges: dict[tuple[str, str], int] = {}
    inner_loops = set()
    lifted = {}
    for (a, b), count in edges.items():
        if (a, b) in links:
            continue
        pair = lifted[(a, b)] = (block_of.get(a, a), block_of.get(b, b))
        inner_edges[pair] = inner_edges.get(pair, 0) + count
        if (a, b) in loops:
            inner_loops.add(pair)
    inner = _layered_layout(
        inner_ids, inner_sizes, inner_edges, inner_loops, params, fold=False, aspect=aspect
    )
    positions: dict[str, Point] = {}
    for node in ids:
        block = block_of.get(node)
        if block is None:
            positions[node] = inner.positions[node]
        else:
            (bx, by), (dx, dy) = inner.positions[block], folded[block].offsets[node]
            positions[node] = (round(bx + dx, 2), round(by + dy, 2))
    routes = {}
    for pair in edges:
        if pair in links:
            bx, by = inner.positions[block_of[pair[0]]]
            bends = folded[block_of[pair[0]]].routes[pair]
            routes[pair] = ([(round(bx + x, 2), round(by + y, 2)) for x, y in bends], False)
        else:
            routes[pair] = inner.routes[lifted[pair]]
    return _LocalLayout(positions, routes, inner.width, inner.height, resized)


def _back_edges(
    n: int, pairs: list[tuple[int, int]], preferred=frozenset()
) -> set[tuple[int, int]]:
    """Edges to reverse so that the rest is a DAG: the ``preferred`` ones (loop back edges),
    self loops, and those closing a cycle in a depth-first search from the sources."""
    successors: list[list[int]] = [[] for _ in range(n)]
    for a, b in pairs:
        if (a, b) not in preferred:
            successors[a].append(b)
    state = [0] * n  # 0 unseen, 1 on the stack, 2 done
    back = {(a, b) for a, b in pairs if a == b} | (set(preferred) & set(pairs))
    has_input = {b for a, b in pairs if a != b and (a, b) not in preferred}
    roots = [i for i in range(n) if i not in has_input] + [i for i in range(n) if i in has_input]
    for root in roots:  # sources first: a loop is entered where data enters it
        if state[root]:
            continue
        state[root] = 1
        stack = [(root, iter(successors[root]))]
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
            elif state[nxt] == 1:
                back.add((node, nxt))
            elif state[nxt] == 0:
                state[nxt] = 1
                stack.append((nxt, iter(successors[nxt])))
    return back


def _rank(n: int, dag: list[tuple[int, int]]) -> list[int]:
    """Longest-path ranks from the sources; then each source moves down to just above its
    first consumer (constants and variables sit next to what reads them)."""
    successors: list[list[int]] = [[] for _ in range(n)]
    indegree = [0] * n
    for a, b in dag:
        if a != b:
            successors[a].append(b)
            indegree[b] += 1
    rank = [0] * n
    queue = deque(i for i in range(n) if indegree[i] == 0)
    remaining = indegree[:]
    order = []
    while queue:
        node = queue.popleft()
        order.append(node)
        for nxt in successors[node]:
            rank[nxt] = max(rank[nxt], rank[node] + 1)
            remaining[nxt] -= 1
            if remaining[nxt] == 0:
                queue.append(nxt)
    for node in order:
        if indegree[node] == 0 and successors[node]:
            rank[node] = min(rank[s] for s in successors[node]) - 1
    low = min(rank)
    return [r - low for r in rank]


@dataclass
class _LayeredGraph:
    """Real nodes ``0..n-1`` and dummy (bend) nodes after them, by layer."""

    n_real: int
    layers: list[list[int]]
    predecessors: list[list[int]]
    successors: list[list[int]]
    width: list[float]
    height: list[float]
    layer_of: list[int]
    dummies: dict[tuple[int, int], list[int]]

    @classmethod
    def build(cls, ids, sizes, rank, dag) -> _LayeredGraph:
        n = len(ids)
        width = [sizes[node][0] for node in ids]
        height = [sizes[node][1] for node in ids]
        layer_of = list(rank)
        predecessors: list[list[int]] = [[] for _ in range(n)]
        successors: list[list[int]] = [[] for _ in range(n)]
        dummies: dict[tuple[int, int], list[int]] = {}

        def add_node(layer: int) -> int:
            for column in (width, height):
                column.append(0.0)
            layer_of.append(layer)
            predecessors.append([])
            successors.append([])
            return len(layer_of) - 1

        for a, b in dag:
            chain = [add_node(r) for r in range(rank[a] + 1, rank[b])]
            dummies[(a, b)] = chain
            path = [a, *chain, b]
            for u, v in zip(path, path[1:]):
                successors[u].append(v)
                predecessors[v].append(u)
        layers: list[list[int]] = [[] for _ in range(max(layer_of) + 1)]
        for node, layer in enumerate(layer_of):
            layers[layer].append(node)
        return cls(n, layers, predecessors, successors, width, height, layer_of, dummies)

    @property
    def layer_array(self) -> np.ndarray:
        return np.array(self.layer_of, dtype=np.int64)

    def segments(self) -> tuple[np.ndarray, np.ndarray]:
        """Every edge between consecutive layers, as (source, destination) node arrays."""
        src = [u for u, near in enumerate(self.successors) for _ in near]
        dst = [v for near in self.successors for v in near]
        return np.array(src, dtype=np.int64), np.array(dst, dtype=np.int64)


def _order(graph: _LayeredGraph, sweeps: int) -> None:
    """Barycentre sweeps, down then up; keeps the order with the fewest crossings."""
    src, dst = graph.segments()
    below = [np.flatnonzero(graph.layer_array[src] == r) for r in range(len(graph.layers))]
    layers = [np.array(layer, dtype=np.int64) for layer in graph.layers]
    position = np.zeros(len(graph.layer_of), dtype=np.float64)
    for layer in layers:
        position[layer] = np.arange(len(layer))
    best, best_crossings = [layer.copy() for layer in layers], _crossings(src, dst, below, position)
    for sweep in range(2 * sweeps):
        if best_crossings == 0:
            break
        down = sweep % 2 == 0
        for r in range(1, len(layers)) if down else range(len(layers) - 2, -1, -1):
            segs = below[r - 1] if down else below[r]
            near, here = (src[segs], dst[segs]) if down else (dst[segs], src[segs])
            nodes = layers[r]
            local = position[here].astype(np.int64)
            sums = np.bincount(local, weights=position[near], minlength=len(nodes))
            counts = np.bincount(local, minlength=len(nodes))
            current = position[nodes]
            ordered = nodes[np.argsort(current, kind="stable")]  # nodes by current position
            bary = np.where(counts > 0, sums / np.maximum(counts, 1), np.arange(len(nodes)))
            layers[r] = ordered[np.lexsort((np.arange(len(nodes)), bary))]
            position[layers[r]] = np.arange(len(nodes))
        crossings = _crossings(src, dst, below, position)
        if crossings < best_crossings:
            best_crossings, best = crossings, [layer.copy() for layer in layers]
    graph.layers[:] = [layer.tolist() for layer in best]


def _crossings(src, dst, below, position, limit: int = 3000) -> int:
    """Edge crossings between consecutive layers. Layers joined by more than ``limit``
    segments are not counted (the count only picks the best of a few sweeps)."""
    total = 0
    for segs in below:
        if len(segs) < 2 or len(segs) > limit:
            continue
        a, b = position[src[segs]], position[dst[segs]]
        total += int(((a[:, None] - a[None, :]) * (b[:, None] - b[None, :]) < 0).sum()) // 2
    return total


def _place_x(graph: _LayeredGraph, params: LayoutParams) -> list[float]:
    """Centre x of every node: each layer in turn is placed as close as possible (least
    squares) to the mean of its neighbours in the previous layer, keeping its order and gaps."""
    n = len(graph.layer_of)
    src, dst = graph.segments()
    width = np.array(graph.width)
    is_dummy = np.arange(n) >= graph.n_real
    layers = [np.array(layer, dtype=np.int64) for layer in graph.layers]
    gaps = np.zeros(n)
    for layer in layers:
        if len(layer) > 1:
            both_real = ~(is_dummy[layer[1:]] | is_dummy[layer[:-1]])
            step = (width[layer[1:]] + width[layer[:-1]]) / 2 + np.where(
                both_real, params.node_sep, params.edge_sep
            )
            gaps[layer[1:]] = np.cumsum(step)
    x = gaps.copy()
    passes = [("down", range(1, len(layers))), ("up", range(len(layers) - 2, -1, -1))]
    plan = passes * params.placement_sweeps + [("both", range(len(layers)))]
    slot = np.zeros(n, dtype=np.int64)
    for layer in layers:
        slot[layer] = np.arange(len(layer))
    below = [np.flatnonzero(graph.layer_array[src] == r) for r in range(len(layers))]
    for side, layer_range in plan:
        for r in layer_range:
            layer = layers[r]
            sums, counts = np.zeros(len(layer)), np.zeros(len(layer))
            if side in ("down", "both") and r > 0:
                segs = below[r - 1]
                sums += np.bincount(slot[dst[segs]], weights=x[src[segs]], minlength=len(layer))
                counts += np.bincount(slot[dst[segs]], minlength=len(layer))
            if side in ("up", "both"):
                segs = below[r]
                sums += np.bincount(slot[src[segs]], weights=x[dst[segs]], minlength=len(layer))
                counts += np.bincount(slot[src[segs]], minlength=len(layer))
            has = counts > 0
            target = np.where(has, sums / np.maximum(counts, 1), x[layer])
            weight = np.where(has, np.where(is_dummy[layer], 2.0, 1.0), 0.25)
            x[layer] = _isotonic(target - gaps[layer], weight) + gaps[layer]
    left = float(np.min(x - width / 2))
    return (x - left).tolist()


def _isotonic(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted least-squares fit of a non-decreasing sequence (pool adjacent violators).
    Long sequences get a vectorised approximation: the mean of the lowest non-decreasing
    sequence above ``values`` from the left and the highest one below it from the right."""
    if len(values) > 60:
        from_left = np.maximum.accumulate(values)
        from_right = np.minimum.accumulate(values[::-1])[::-1]
        return (from_left + from_right) / 2
    means: list[float] = []
    totals: list[float] = []
    lengths: list[int] = []
    for value, weight in zip(values.tolist(), weights.tolist()):
        means.append(value)
        totals.append(weight)
        lengths.append(1)
        while len(means) > 1 and means[-2] > means[-1]:
            mean, total, length = means.pop(), totals.pop(), lengths.pop()
            merged = totals[-1] + total
            means[-1] = (means[-1] * totals[-1] + mean * total) / merged
            totals[-1] = merged
            lengths[-1] += length
    return np.repeat(means, lengths)


def _place_y(graph: _LayeredGraph, params: LayoutParams) -> tuple[list[float], float]:
    """Centre y of every node (nodes are centred in their layer's band) and total height."""
    y = [0.0] * len(graph.layer_of)
    top = 0.0
    for layer in graph.layers:
        band = max((graph.height[node] for node in layer), default=0.0)
        for node in layer:
            y[node] = top + band / 2
        top += band + params.rank_sep
    return y, top - params.rank_sep


# -- a tall top level wrapped into side-by-side bands ---------------------------------------
@dataclass
class _Bands:
    """Layers ``starts[b]`` .. ``starts[b + 1] - 1`` form band ``b``; ``shift[b]`` moves its
    nodes (dx, dy) to their place; ``bottom[b]`` is its lowest point (after the move) and
    ``gap[b]`` the x of the gap right of it (where edges into later bands turn up)."""

    graph: _LayeredGraph
    x: list[float]
    y: list[float]
    starts: list[int]
    shift: list[Point]
    bottom: list[float]
    gap: list[float]
    width: float
    height: float
    turn: float

    def band(self, node: int) -> int:
        layer = self.graph.layer_of[node]
        return max(b for b, start in enumerate(self.starts[:-1]) if start <= layer)

    def point(self, node: int) -> Point:
        dx, dy = self.shift[self.band(node)]
        return (round(self.x[node] + dx, 2), round(self.y[node] + dy, 2))

    def route(self, path: list[int]) -> list[Point]:
        """Bend points of an edge through ``path`` (source, dummies, destination; data flows
        along it): its dummies, and a detour wherever it passes into a later band."""
        bends: list[Point] = []
        for k, (u, v) in enumerate(zip(path, path[1:])):
            if k:
                bends.append(self.point(u))
            bu, bv = self.band(u), self.band(v)
            if bu != bv:
                (ux, _), (vx, _) = self.point(u), self.point(v)
                low, gap = self.bottom[bu] + self.turn, self.gap[bu]
                bends += [(ux, low), (gap, low), (gap, self.turn / 2), (vx, self.turn / 2)]
        return bends

    def local(self, ids, edges, index, upward) -> _LocalLayout:
        graph = self.graph
        positions = {}
        for i, node in enumerate(ids):
            cx, cy = self.point(i)
            positions[node] = (
                round(cx - graph.width[i] / 2, 2),
                round(cy - graph.height[i] / 2, 2),
            )
        routes = {}
        for a, b in edges:
            i, j = index[a], index[b]
            is_up = (i, j) in upward
            first, last = (j, i) if is_up else (i, j)
            path = [first, *graph.dummies.get((first, last), []), last]
            bends = self.route(path)
            routes[(a, b)] = (bends[::-1] if is_up else bends, is_up)
        return _LocalLayout(positions, routes, self.width, self.height)


def _bands(
    graph: _LayeredGraph, x, y, height: float, params: LayoutParams, aspect
) -> _Bands | None:
    """Cut a layout much taller than ``aspect`` (width/height) allows into bands of whole
    layers, drawn side by side, as many as bring its shape nearest ``aspect``; ``None`` when
    one band is nearest (or there is a single layer)."""
    n_layers = len(graph.layers)
    if not aspect or n_layers < 2 or height <= 0:
        return None
    left = [x[i] - graph.width[i] / 2 for i in range(len(x))]
    right = [x[i] + graph.width[i] / 2 for i in range(len(x))]
    tops = [min(y[i] - graph.height[i] / 2 for i in layer) for layer in graph.layers]
    bottoms = [max(y[i] + graph.height[i] / 2 for i in layer) for layer in graph.layers]
    sep = 2 * params.chain_column_sep
    turn = params.rank_sep / 2

    def cut(k: int):
        """Layer starts of ``k`` bands of about equal height, and the resulting shape."""
        starts = [0]
        for b in range(1, k):
            goal = height * b / k
            start = next((r for r in range(starts[-1] + 1, n_layers) if tops[r] >= goal), n_layers)
            if start < n_layers:
                starts.append(start)
        starts.append(n_layers)
        spans = []
        for b in range(len(starts) - 1):
            nodes = [i for layer in graph.layers[starts[b] : starts[b + 1]] for i in layer]
            spans.append(
                (
                    min(left[i] for i in nodes),
                    max(right[i] for i in nodes),
                    tops[starts[b]],
                    bottoms[starts[b + 1] - 1],
                )
            )
        width = sum(r - lft for lft, r, _, _ in spans) + sep * (len(spans) - 1)
        tall = max(b - t for _, _, t, b in spans) + 2 * turn
        return starts, spans, width, tall

    def misfit(k: int) -> float:
        _, _, width, tall = cut(k)
        return abs(math.log(width / tall / aspect))

    candidates = range(1, min(params.max_bands, n_layers) + 1)
    if params.max_height:
        if height + 2 * turn <= params.max_height:
            return None
        fitting = [k for k in candidates if cut(k)[3] <= params.max_height]
        best = fitting[0] if fitting else min(candidates, key=lambda k: (misfit(k), k))
    else:
        best = min(candidates, key=lambda k: (misfit(k), k))
    if best == 1:
        return None
    starts, spans, width, tall = cut(best)
    if len(starts) <= 2:
        return None
    shift, bottom, gap = [], [], []
    offset = 0.0
    for lft, r, top, low in spans:
        dx, dy = offset - lft, turn - top
        shift.append((dx, dy))
        bottom.append(low + dy)
        offset += r - lft
        gap.append(offset + sep / 2)
        offset += sep
    return _Bands(graph, list(x), list(y), starts, shift, bottom, gap, width, tall, turn)
