"""Long chains folded: runs of more than ``LayoutParams.chain_fold_min`` single-in,
single-out ops found (:func:`_chain_runs`), their side inputs (constants, variable reads) that
feed one chain op only attached beside it (:func:`_side_inputs`), and the run laid out as
side-by-side columns near ``LayoutParams.chain_aspect`` (:func:`_fold_chain`).
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from dataclasses import dataclass

from .params import LayoutParams, Point

# internal to scene.layout (which imports what it uses): nothing public here
__all__: list[str] = []

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
