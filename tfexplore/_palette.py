"""Colours for the graph explorer: one per op type, device or role, stable across expansions.

Categories are ranked by how many ops of the whole graph fall in them, so a colour never
changes when a scope is expanded. The most frequent get their own colour, the rest share grey.
A collapsed scope takes the colour of its most common category and carries the mix (for a
stripe along its bottom edge).

Example::

    >>> palette = Palette.build(hierarchy, "role")                # doctest: +SKIP
    >>> palette.legend[:2]                                        # doctest: +SKIP
    [{'label': 'compute', 'color': '#a1c9f4', 'count': 120}, ...]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .hierarchy import ROLES, Hierarchy, VisibleGraph

__all__ = ["Palette", "COLORS", "OTHER_COLOR"]

#: Light, print-friendly colours (in order of use) and the shared colour of the rest.
COLORS = (
    "#a1c9f4", "#ffb482", "#8de5a1", "#ff9f9b", "#d0bbff", "#debb9b",
    "#fab0e4", "#b9f2f0", "#fffea3", "#c8d7a6", "#9fb5d6",
)  # fmt: skip
OTHER_COLOR = "#d9d9d9"
ROLE_COLORS = {
    "placeholder": "#ffb482",
    "control flow": "#d0bbff",
    "gradient": "#ff9f9b",
    "optimizer": "#fab0e4",
    "variable": "#8de5a1",
    "compute": "#a1c9f4",
}


@dataclass
class Palette:
    """Category codes per op and a colour per category, for one ``color_by`` choice."""

    color_by: str
    labels: list[str]  # category names, most frequent first
    colors: list[str]  # colour per category
    counts: np.ndarray  # ops per category in the whole graph
    codes: np.ndarray  # category code per op, in hierarchy order

    @classmethod
    def build(cls, hierarchy: Hierarchy, color_by: str = "op") -> Palette:
        """Rank the categories of ``color_by`` (``op``, ``device``, ``role``) and colour them."""
        categories = hierarchy.categories(color_by)
        index: dict[str, int] = {}  # a dict, not np.unique: sorting 100k+ strings is slow
        codes = np.fromiter(
            (index.setdefault(c, len(index)) for c in categories), np.int64, len(categories)
        )
        labels = np.array(list(index), dtype=object)
        counts = np.bincount(codes, minlength=len(labels))
        if color_by == "role":
            order = np.array([ROLES.index(label) for label in labels]).argsort(kind="stable")
        else:
            order = np.lexsort((labels.astype(str), -counts))
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        labels = [str(labels[i]) for i in order]
        if color_by == "role":
            colors = [ROLE_COLORS.get(label, OTHER_COLOR) for label in labels]
        else:
            colors = [COLORS[i] if i < len(COLORS) else OTHER_COLOR for i in range(len(labels))]
        return cls(color_by, labels, colors, counts[order], rank[codes].astype(np.int64))

    def item_colors(self, visible: VisibleGraph) -> dict[str, dict[str, Any]]:
        """For each visible item id: ``fill`` colour, ``category`` and (scopes) ``mix``: up to
        four ``[colour, fraction]`` pairs of the categories below it."""
        h = visible.hierarchy
        styles: dict[str, dict[str, Any]] = {}
        for item in visible.items:
            if item.kind == "op":
                code = int(self.codes[h.op_index(item.name)])
                styles[item.id] = {"fill": self.colors[code], "category": self.labels[code]}
                continue
            counts = h.category_counts(self.codes, item.name)
            total = max(int(counts.sum()), 1)
            top = np.argsort(-counts, kind="stable")[:4]
            mix = [[self.colors[c], round(counts[c] / total, 3)] for c in top if counts[c]]
            main = int(top[0]) if len(top) else 0
            styles[item.id] = {"fill": self.colors[main], "category": self.labels[main], "mix": mix}
        return styles

    def legend(self, limit: int = 12) -> list[dict[str, Any]]:
        """``[{'label', 'color', 'count'}]``: the first ``limit - 1`` categories and "other"."""
        rows = [
            {"label": label, "color": color, "count": int(count)}
            for label, color, count in zip(self.labels, self.colors, self.counts)
        ]
        if len(rows) > limit:
            rest = sum(r["count"] for r in rows[limit - 1 :])
            rows = rows[: limit - 1] + [
                {"label": f"{len(self.labels) - limit + 1} others", "color": OTHER_COLOR, "count": rest}
            ]
        return rows
