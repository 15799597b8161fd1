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

The jobs live in their own modules: ``params`` (:class:`LayoutParams`), ``boxes`` (the result
and its texts), ``ranks`` (one layered layout), ``chains`` (folding), ``bands`` (wrapping);
this one composes them: scopes bottom-up, edges lifted and routed. The names above stay
importable from here.

Example::

    >>> from tfexplore.scene.hierarchy import Hierarchy
    >>> visible = Hierarchy(graph).visible(expanded={"layer1"})   # doctest: +SKIP
    >>> result = layout(visible)                                  # doctest: +SKIP
    >>> result.box("layer1/").width, len(result.edges)            # doctest: +SKIP
    (412.0, 17)
"""

from __future__ import annotations

from collections import defaultdict

from .bands import _bands
from .boxes import (
    Box,
    EdgePath,
    Layout,
    box_text,
    edge_count_positions,
    fit_label,
    label_of,
)
from .chains import CHAIN_BLOCK, _chain_runs, _fold_chain, _FoldedChain, _side_inputs, _SideInputs
from .hierarchy import VisibleGraph
from .params import LOOP_BACK_OPS, ROOT_ID, LayoutParams, LayoutTooLargeError, Point
from .ranks import _back_edges, _LayeredGraph, _LocalLayout, _order, _place_x, _place_y, _rank

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


# -- one container: layered, chains folded, a tall top level in bands -------------------
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
