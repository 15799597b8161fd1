"""A top level taller than the widget shows, cut between ranks into bands drawn side by side
(``LayoutParams.aspect``, ``max_height``, ``max_bands``), edges routed between the bands.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .params import LayoutParams, Point
from .ranks import _LayeredGraph, _LocalLayout

# internal to scene.layout (which imports what it uses): nothing public here
__all__: list[str] = []


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
