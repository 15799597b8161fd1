"""One layered (Sugiyama-style) layout of a flat graph: back edges broken, ranks by longest
path, order by barycentre sweeps (fewest crossings kept), x by a least-squares pass without
overlap (isotonic regression), y per rank.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from .params import LayoutParams, Point

# internal to scene.layout (which imports what it uses): nothing public here
__all__: list[str] = []


@dataclass
class _LocalLayout:
    positions: dict[str, Point]  # top-left, relative to the container's content origin
    routes: dict[tuple[str, str], tuple[list[Point], bool]]  # bend points, upward?
    width: float
    height: float
    resized: dict[str, tuple[float, float]] = field(default_factory=dict)  # drawn small


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
