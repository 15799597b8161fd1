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

__all__ = ["Palette", "COLORS", "OTHER_COLOR", "COLORS_DARK", "OTHER_COLOR_DARK"]

#: Light, print-friendly colours (in order of use) and the shared colour of the rest: drawn
#: under black text (light themes, the static picture), each at least 7:1 against it.
COLORS = (
    "#a1c9f4", "#ffb482", "#8de5a1", "#ff9f9b", "#d0bbff", "#debb9b",
    "#fab0e4", "#b9f2f0", "#fffea3", "#c8d7a6", "#9fb5d6",
)  # fmt: skip
OTHER_COLOR = "#d9d9d9"
#: The same hues, deep, for dark themes: drawn under white text, each at least 7:1 against it
#: (and 4.5:1 against the 87 % white of JupyterLab Dark's ``--jp-ui-font-color1``).
COLORS_DARK = (
    "#1d4a75", "#7a3a0a", "#1b5a2c", "#7d2320", "#4a367f", "#5a4127",
    "#752660", "#1a5554", "#5a5610", "#46542a", "#33476a",
)  # fmt: skip
OTHER_COLOR_DARK = "#474747"
ROLE_COLORS = {
    "placeholder": "#ffb482",
    "control flow": "#d0bbff",
    "gradient": "#ff9f9b",
    "optimizer": "#fab0e4",
    "variable": "#8de5a1",
    "compute": "#a1c9f4",
}
#: light colour -> its dark twin (roles, the legend, scope stripes use the same pairs)
DARK_OF = dict(zip(COLORS, COLORS_DARK)) | {OTHER_COLOR: OTHER_COLOR_DARK}


def dark_twin(color: str) -> str:
    """The dark-theme colour of a light palette colour (grey for one not in the palette)."""
    return DARK_OF.get(color, OTHER_COLOR_DARK)


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
        """For each visible item id: ``fill`` colour (light themes), ``fill_dark`` (dark
        themes), ``category`` and (scopes) ``mix``: up to four ``[colour, fraction,
        dark colour]`` of the categories below it."""
        h = visible.hierarchy
        styles: dict[str, dict[str, Any]] = {}
        for item in visible.items:
            if item.kind == "op":
                code = int(self.codes[h.op_index(item.name)])
                color = self.colors[code]
                styles[item.id] = {
                    "fill": color,
                    "fill_dark": dark_twin(color),
                    "category": self.labels[code],
                }
                continue
            counts = h.category_counts(self.codes, item.name)
            total = max(int(counts.sum()), 1)
            top = np.argsort(-counts, kind="stable")[:4]
            mix = [
                [self.colors[c], round(counts[c] / total, 3), dark_twin(self.colors[c])]
                for c in top
                if counts[c]
            ]
            main = int(top[0]) if len(top) else 0
            color = self.colors[main]
            styles[item.id] = {
                "fill": color,
                "fill_dark": dark_twin(color),
                "category": self.labels[main],
                "mix": mix,
            }
        return styles

    def legend(self, limit: int = 12) -> list[dict[str, Any]]:
        """``[{'label', 'color', 'color_dark', 'count'}]``: the first ``limit - 1`` categories
        and "other"."""
        rows = [
            {"label": label, "color": color, "color_dark": dark_twin(color), "count": int(count)}
            for label, color, count in zip(self.labels, self.colors, self.counts)
        ]
        if len(rows) > limit:
            rest = sum(r["count"] for r in rows[limit - 1 :])
            rows = rows[: limit - 1] + [
                {
                    "label": f"{len(self.labels) - limit + 1} others",
                    "color": OTHER_COLOR,
                    "color_dark": OTHER_COLOR_DARK,
                    "count": rest,
                }
            ]
        return rows
