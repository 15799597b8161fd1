"""Overlays: a value per op (or per variable) drawn as the colour of the boxes, with a legend.

An overlay turns a pandas Series keyed by op names or checkpoint variable keys into, for every
visible box, a colour (light and dark twins), a short text and a tooltip. A collapsed scope shows
the aggregate (``mean``, ``max``, ``min`` or ``sum``) of the ops inside it that have a value;
a categorical overlay shows the most common category inside and counts what is not "quiet"
(``"4 changed"``). Plain data, no widget code: :class:`~tfexplore.ui.graphview.GraphExplorer`
applies it, the widget and the static SVG draw it. One module over 600 lines: matching names,
binning, the palettes and the styles of each box are the parts of one idea, tested together.

**Names.** A key is matched to ops by (first that matches): the op name itself; the op name of
a tensor name (``"layer1/W:0"``); the object path of a TF2 checkpoint key
(``"model/dense/kernel/.ATTRIBUTES/VARIABLE_VALUE"`` -> ``"model/dense/kernel"``); then, among
the variable ops of the graph (``VariableV2``, ``VarHandleOp``, see
:data:`tfexplore.graph.ops.VARIABLE_OPS`), the one op whose name ends with the key, or whose
name the key ends with, at a ``/`` boundary (``"dense/kernel"`` for a graph op
``"model/dense/kernel"``); a key matching several is left out. :attr:`Overlay.unmatched` lists
the keys that matched no op.

**Numeric scales** (``bins`` colours, 7 by default): ``linear``, evenly spaced bins from the
smallest to the largest value; ``log``, evenly spaced in log10 between the smallest positive
value and the largest (zero and negative values go to the first bin); ``diverging``, bins
symmetric around ``center`` (0), an odd number so that the middle bin holds the centre. NaN
and missing values draw as "no value"; +-Inf go to the end bins. The domain is the range of the
values given (``domain=(low, high)`` fixes it); with ``agg="sum"`` it also spans the sums of the
visible boxes.

**Palettes** (all listed below; tests check every contrast): sequential and diverging ramps
whose lightness changes monotonically (so they read in grey and for colour-blind eyes), a
YlGnBu hue sequence (sequential) and blue-grey-orange (diverging), in two twins: light colours
under black text (light themes, at least 5.8:1) and deep colours under white text (dark themes,
at least 5.8:1; 4.6:1 under JupyterLab Dark's 87 % white); a value has the same hue in both.
Higher values stand further from the page's background in both themes. Categorical overlays use
:data:`tfexplore.scene.palette.COLORS` (7:1) or the fixed :data:`STATUS_COLORS` (Okabe-Ito
hues: added, removed, changed, renamed, ...).

Example::

    >>> overlay = Overlay.build(hierarchy, checkpoint.stats().set_index("name")["l2"],
    ...                         scale="log", agg="max", title="weight norm")  # doctest: +SKIP
    >>> overlay.item_styles(visible)["layer1/"]                              # doctest: +SKIP
    {'fill': '#8eddca', 'fill_dark': '#03483d', 'overlay_text': 'max 3.2', ...}
    >>> overlay.legend()["bins"][0]                                          # doctest: +SKIP
    {'color': '#f7f7c4', 'color_dark': '#292c02', 'low': 0.01, 'high': 0.031, 'label': ...}
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import TFExploreError
from ..graph.ops import VARIABLE_OPS
from .hierarchy import Hierarchy
from .palette import COLORS, OTHER_COLOR, dark_twin
from .visible import VisibleGraph

__all__ = [
    "Overlay",
    "SCALES",
    "AGGREGATES",
    "SEQUENTIAL",
    "SEQUENTIAL_DARK",
    "DIVERGING",
    "DIVERGING_DARK",
    "STATUS_COLORS",
    "NO_VALUE",
    "NO_VALUE_DARK",
    "contrast_ratio",
    "resolve_keys",
    "bin_values",
]

SCALES = ("linear", "log", "diverging")
AGGREGATES = ("mean", "max", "min", "sum")

#: Sequential ramp, low to high (YlGnBu hues, CIELAB lightness 96 -> 56), under black text.
SEQUENTIAL = ("#f7f7c4", "#c9ebb5", "#8eddca", "#5acbd9", "#51b3e4", "#6c97e8", "#7b7be1")
#: Its dark twin (lightness 15 -> 41), under white text (4.6:1 even at 87 % white).
SEQUENTIAL_DARK = ("#262800", "#18360b", "#014136", "#034a51", "#025270", "#11569f", "#5057b7")
#: Diverging ramp, most negative to most positive: blue, a near-white middle, orange.
DIVERGING = ("#5e8cd6", "#7bb6ed", "#b8dcf8", "#f3f3f3", "#ffce9d", "#f89a4c", "#d37227")
#: Its dark twin: the middle near the dark background, the ends brighter.
DIVERGING_DARK = ("#2761a7", "#034f7a", "#133a51", "#282828", "#503001", "#763c02", "#9b4a02")
#: "no value": an op the series does not name (or a NaN), light and dark
NO_VALUE, NO_VALUE_DARK = "#f3f3f3", "#2c2c2c"
#: Fixed colours of the categories tfexplore's ready-made overlays use: ``(light, dark)``.
STATUS_COLORS: dict[str, tuple[str, str]] = {
    "same": ("#e2e2e2", "#353535"),
    "added": ("#5fdcad", "#025c41"),
    "removed": ("#fd8538", "#773302"),
    "changed": ("#fecf8f", "#795202"),
    "renamed": ("#74caff", "#075677"),
    "restored": ("#5fdcad", "#025c41"),
    "missing": ("#fd8538", "#773302"),
    "wrong shape": ("#fecf8f", "#795202"),
    "wrong dtype": ("#f29cca", "#7c2f5d"),
    "risky": ("#f29cca", "#7c2f5d"),
    "expected": ("#74caff", "#075677"),
}


# -- colour arithmetic -------------------------------------------------------------------
def _luminance(color: str) -> float:
    rgb = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast_ratio(a: str, b: str) -> float:
    """WCAG contrast ratio of two ``#rrggbb`` colours (1 to 21).

    >>> round(contrast_ratio("#000000", "#ffffff"), 1)
    21.0
    """
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _ramp(scale: str, bins: int) -> tuple[list[str], list[str]]:
    """``bins`` light and dark colours of a scale's ramp (picked evenly from the 7 stops)."""
    light, dark = (
        (DIVERGING, DIVERGING_DARK) if scale == "diverging" else (SEQUENTIAL, SEQUENTIAL_DARK)
    )
    if bins == len(light):
        return list(light), list(dark)
    picks = np.round(np.linspace(0, len(light) - 1, bins)).astype(int)
    return [light[i] for i in picks], [dark[i] for i in picks]


# -- names -------------------------------------------------------------------------------
def _tf2_path(key: str) -> str:
    return key.split("/.ATTRIBUTES/", 1)[0] if "/.ATTRIBUTES/" in key else key


def resolve_keys(hierarchy: Hierarchy, keys: Iterable[Any]) -> dict[str, int]:
    """``{key: op index}`` for each key of ``keys`` that names an op (see the module's
    "Names"); keys that match no op, or several variable ops, are left out."""
    found: dict[str, int] = {}
    index = hierarchy._op_index
    pending: list[tuple[str, str]] = []
    for key in keys:
        text = str(key)
        op = index.get(text)
        if op is None:
            name = _tf2_path(text)
            if ":" in name:
                base, _, output = name.rpartition(":")
                name = base if output.isdigit() else name
            op = index.get(name)
            if op is None:
                pending.append((text, name))
                continue
        found[text] = op
    if pending:
        variables = [n for n, t in zip(hierarchy.op_names, hierarchy.op_types) if t in VARIABLE_OPS]
        by_suffix: dict[str, list[str]] = {}
        for name in variables:
            parts = name.split("/")
            for k in range(1, len(parts)):
                by_suffix.setdefault("/".join(parts[k:]), []).append(name)
        exact = set(variables)
        for text, name in pending:
            hits = by_suffix.get(name, [])
            if not hits:
                parts = name.split("/")
                hits = [
                    "/".join(parts[k:])
                    for k in range(1, len(parts))
                    if "/".join(parts[k:]) in exact
                ]
            if len(hits) == 1:
                found[text] = index[hits[0]]
    return found


# -- binning -----------------------------------------------------------------------------
def bin_values(
    values: np.ndarray,
    edges: np.ndarray,
    scale: str = "linear",
) -> np.ndarray:
    """The bin (0 .. len(edges) - 2) of each value, ``-1`` for NaN. ``edges`` are in value
    units (for ``log``: the values' log10 is compared with log10 of the edges; values <= 0 go
    to bin 0). Values beyond the ends go to the end bins."""
    values = np.asarray(values, dtype=np.float64)
    bins = len(edges) - 1
    out = np.full(values.shape, -1, dtype=np.int64)
    known = ~np.isnan(values)
    v = values[known]
    if scale == "log":
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.where(v > 0, np.log10(np.where(v > 0, v, 1)), -np.inf)
        e = np.log10(edges)
    else:
        e = np.asarray(edges, dtype=np.float64)
    low, high = e[0], e[-1]
    if not high > low:  # one value: the middle bin
        out[known] = bins // 2
        return out
    with np.errstate(invalid="ignore", over="ignore"):
        position = np.floor((v - low) / (high - low) * bins)
    position = np.nan_to_num(position, nan=0.0, posinf=bins - 1, neginf=0.0)
    out[known] = np.clip(position, 0, bins - 1).astype(np.int64)
    return out


def _edges(values: np.ndarray, scale: str, bins: int, center: float, domain) -> np.ndarray:
    finite = values[np.isfinite(values)]
    if domain is not None:
        low, high = float(domain[0]), float(domain[1])
    elif scale == "log":
        positive = finite[finite > 0]
        low, high = (float(positive.min()), float(positive.max())) if positive.size else (1.0, 1.0)
    else:
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if scale == "diverging":
        half = max(abs(high - center), abs(low - center))
        low, high = center - half, center + half
    if scale == "log":
        if low <= 0 or high <= 0:
            raise TFExploreError(
                "A log scale needs a positive domain.",
                expected=f"domain=(low, high) with 0 < low <= high. Received: ({low}, {high})",
                hint="use scale='linear', or give a positive domain",
            )
        return np.logspace(math.log10(low), math.log10(high), bins + 1)
    return np.linspace(low, high, bins + 1)


def _number(value: float) -> str:
    """A value as drawn: 3 significant digits (``0.0123``, ``1.2e+06``, ``42``)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if float(value).is_integer() and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.3g}"


# -- the overlay -------------------------------------------------------------------------
@dataclass
class Overlay:
    """One Series laid on one graph's ops: per op, a value (numeric) or a category code.

    Build it with :meth:`build`. ``values`` (numeric) holds a float per op of the hierarchy
    (NaN: no value); ``codes`` (categorical) an int per op (-1: no value).
    """

    hierarchy: Hierarchy
    kind: str  # "numeric" or "categorical"
    title: str
    scale: str
    agg: str
    values: np.ndarray | None = None
    codes: np.ndarray | None = None
    categories: list[str] = field(default_factory=list)
    colors: list[str] = field(default_factory=list)
    colors_dark: list[str] = field(default_factory=list)
    quiet: frozenset[str] = frozenset()
    edges: np.ndarray | None = None
    bins: int = 7
    center: float = 0.0
    domain: tuple[float, float] | None = None
    unmatched: list[str] = field(default_factory=list)
    matched: int = 0

    @classmethod
    def build(
        cls,
        hierarchy: Hierarchy,
        series: Any,
        *,
        scale: str = "linear",
        agg: str = "mean",
        title: str | None = None,
        colors: Mapping[str, Any] | None = None,
        bins: int = 7,
        center: float = 0.0,
        domain: tuple[float, float] | None = None,
        quiet: Iterable[str] = (),
    ) -> Overlay:
        """Lay ``series`` (a pandas Series, or a mapping ``name -> value``) on ``hierarchy``.

        Numbers make a numeric overlay; anything else (strings, booleans, categories) a
        categorical one. ``colors``: for categorical overlays, ``{category: colour}`` or
        ``{category: (light, dark)}`` (default: :data:`STATUS_COLORS` for the categories it
        names, then :data:`~tfexplore.scene.palette.COLORS` by frequency). ``quiet``: the
        categories a collapsed scope does not count (``"same"`` for a graph diff).
        """
        if scale not in SCALES:
            raise TFExploreError(
                f"Unknown overlay scale {scale!r}.",
                expected="one of " + ", ".join(repr(s) for s in SCALES),
                hint="scale='log' for values over orders of magnitude, 'diverging' for signs",
            )
        if agg not in AGGREGATES:
            raise TFExploreError(
                f"Unknown overlay aggregate {agg!r}.",
                expected="one of " + ", ".join(repr(a) for a in AGGREGATES),
                hint="agg chooses what a collapsed scope shows of the ops inside it",
            )
        if int(bins) < 2:
            raise TFExploreError(
                "An overlay needs at least 2 bins.", expected=f"bins >= 2. Received: bins={bins}"
            )
        bins = int(bins) | 1 if scale == "diverging" else int(bins)  # odd: a middle bin
        keys, raw = _items(series)
        positions = _positions(hierarchy, keys)
        found = positions >= 0
        name = title if title is not None else str(getattr(series, "name", None) or "value")
        n = len(hierarchy.op_names)
        numeric = _is_numeric(raw)
        overlay = cls(hierarchy, "numeric" if numeric else "categorical", name, scale, agg)
        overlay.unmatched = [str(k) for k in keys[~found]]
        overlay.matched, overlay.bins = int(found.sum()), bins
        overlay.center, overlay.domain = float(center), domain
        ops = positions[found]
        if numeric:
            values = np.full(n, np.nan)
            values[ops] = raw.to_numpy(dtype=np.float64, na_value=np.nan)[found]
            overlay.values = values
            overlay.edges = _edges(values, scale, bins, overlay.center, domain)
            return overlay
        import pandas as pd

        raw_codes, uniques = pd.factorize(raw.astype(object), use_na_sentinel=True)
        texts = [str(u) for u in uniques]
        merged = {t: i for i, t in enumerate(dict.fromkeys(texts))}  # 1 and "1" are one
        remap = np.array([merged[t] for t in texts] + [-1], dtype=np.int64)
        picked = remap[raw_codes[found]]  # (-1 -> remap[-1] = -1)
        names = list(merged)
        tally = np.bincount(picked[picked >= 0], minlength=len(names))
        counts = {names[i]: int(c) for i, c in enumerate(tally) if c}
        given = dict(colors or {})
        order = [c for c in given if c in counts] + sorted(
            (c for c in counts if c not in given), key=lambda c: (-counts[c], c)
        )
        code_of = {c: i for i, c in enumerate(order)}
        recode = np.array([code_of.get(t, -1) for t in names] + [-1], dtype=np.int64)
        codes = np.full(n, -1, dtype=np.int64)
        codes[ops] = recode[picked]
        overlay.codes, overlay.categories = codes, order
        overlay.quiet = frozenset(str(q) for q in quiet)
        spare = iter(COLORS)
        for category in order:
            light, dark = _category_color(category, given, spare)
            overlay.colors.append(light)
            overlay.colors_dark.append(dark)
        return overlay

    # -- per visible item -------------------------------------------------------------
    def item_styles(self, visible: VisibleGraph, *, only_changes: bool = False) -> dict[str, dict]:
        """For each visible item id: ``fill``, ``fill_dark``, ``overlay_text`` (what a
        collapsed scope writes in place of its op count; ``None`` for an op), ``overlay_title``
        (the tooltip line) and ``overlay_value`` (the number, or the category); categorical
        scopes also ``mix`` (as :meth:`Palette.item_colors`) and ``overlay_counts``
        (``{category: ops}``). ``quiet``: nothing to see inside (only categories of
        :attr:`quiet`, or no value at all) -- set only when ``only_changes``."""
        if self.kind == "numeric":
            return self._numeric_styles(visible)
        return self._categorical_styles(visible, only_changes)

    def _numeric_styles(self, visible: VisibleGraph) -> dict[str, dict]:
        assert self.values is not None and self.edges is not None
        per_item, count = aggregate(self.values, visible.op_item, len(visible.items), self.agg)
        edges = self.edges
        if self.agg == "sum" and self.domain is None:  # the sums drawn fit in the scale
            edges = self.edges_for(per_item)
        codes = bin_values(per_item, edges, self.scale)
        light, dark = _ramp(self.scale, len(edges) - 1)
        styles: dict[str, dict] = {}
        for i, item in enumerate(visible.items):
            if item.expanded:
                continue
            value, code = float(per_item[i]), int(codes[i])
            has = code >= 0
            if item.kind == "op":
                text = None
                title = f"{self.title}: {_number(value)}" if has else f"{self.title}: no value"
            else:
                text = f"{self.agg} {_number(value)}" if has else "no value"
                title = (
                    f"{self.title}: {self.agg} {_number(value)} of {int(count[i])} ops with a value"
                    if has
                    else f"{self.title}: no op inside has a value"
                )
            styles[item.id] = {
                "fill": light[code] if has else NO_VALUE,
                "fill_dark": dark[code] if has else NO_VALUE_DARK,
                "overlay_text": text,
                "overlay_title": title,
                "overlay_value": value
                if has and math.isfinite(value)
                else (_number(value) if has else None),
                "mix": [],
            }
        return styles

    def edges_for(self, per_item: np.ndarray) -> np.ndarray:
        """The bin edges, widened to span ``per_item`` too (``agg="sum"``)."""
        assert self.values is not None
        both = np.concatenate([self.values, per_item])
        return _edges(both, self.scale, self.bins, self.center, None)

    def _categorical_styles(self, visible: VisibleGraph, only_changes: bool) -> dict[str, dict]:
        assert self.codes is not None
        k = max(len(self.categories), 1)
        items = len(visible.items)
        known = self.codes >= 0
        table = np.bincount(
            visible.op_item[known] * k + self.codes[known], minlength=items * k
        ).reshape(items, k)
        loud = np.array([c not in self.quiet for c in self.categories] or [True], dtype=bool)
        styles: dict[str, dict] = {}
        for i, item in enumerate(visible.items):
            counts = table[i]
            total = int(counts.sum())
            changed = int(counts[loud].sum()) if len(self.categories) else 0
            quiet = only_changes and changed == 0
            if item.expanded:  # a frame: its ops are drawn inside it, count them there
                # (its header keeps its op count: the room there is for 8 characters)
                text = self._loud_text(visible.hierarchy, item.name, loud)
                if text:
                    styles[item.id] = {"overlay_title": f"{self.title}: {text}"}
                elif only_changes:
                    styles[item.id] = {"quiet": True}
                continue
            if total == 0:
                styles[item.id] = {
                    "fill": NO_VALUE,
                    "fill_dark": NO_VALUE_DARK,
                    "overlay_text": "no value" if item.kind != "op" else None,
                    "overlay_title": f"{self.title}: no value",
                    "overlay_value": None,
                    "mix": [],
                    "quiet": quiet,
                }
                continue
            ranked = [int(c) for c in np.argsort(-counts, kind="stable") if counts[c]]
            loud_ranked = [c for c in ranked if loud[c]]
            main = (loud_ranked or ranked)[0]
            if item.kind == "op":
                text, title = None, f"{self.title}: {self.categories[main]}"
            else:
                if loud_ranked:
                    text = ", ".join(f"{int(counts[c])} {self.categories[c]}" for c in loud_ranked)
                elif len(ranked) == 1 and self.quiet:
                    text = f"all {self.categories[ranked[0]]}"
                else:
                    text = ", ".join(f"{int(counts[c])} {self.categories[c]}" for c in ranked)
                title = f"{self.title}: " + ", ".join(
                    f"{int(counts[c])} {self.categories[c]}" for c in ranked
                )
            styles[item.id] = {
                "fill": self.colors[main],
                "fill_dark": self.colors_dark[main],
                "overlay_text": text,
                "overlay_title": title,
                "overlay_value": self.categories[main],
                "overlay_counts": {self.categories[c]: int(counts[c]) for c in ranked},
                "mix": [
                    [self.colors[c], round(int(counts[c]) / total, 3), self.colors_dark[c]]
                    for c in ranked[:4]
                ]
                if item.kind != "op"
                else [],
                "quiet": quiet,
            }
        return styles

    def _loud_text(self, hierarchy: Hierarchy, container: str, loud: np.ndarray) -> str:
        """The ops below ``container`` whose category is not quiet, counted
        (``"2 changed, 1 added"``); ``""`` for none (or an overlay without quiet categories)."""
        assert self.codes is not None
        if not self.quiet:
            return ""
        codes = self.codes[hierarchy._op_range(container)]
        counts = np.bincount(codes[codes >= 0], minlength=len(self.categories))
        ranked = [int(c) for c in np.argsort(-counts, kind="stable") if counts[c] and loud[c]]
        return ", ".join(f"{int(counts[c])} {self.categories[c]}" for c in ranked)

    # -- legend -------------------------------------------------------------------------
    def legend(self, visible: VisibleGraph | None = None) -> dict[str, Any]:
        """What the legend shows, as plain data: ``title``, ``kind``, ``scale``, ``agg``,
        ``matched`` / ``unmatched`` (how many keys named ops), ``no_value`` (its colours);
        numeric: ``bins`` ``[{'color', 'color_dark', 'low', 'high', 'label'}]``, ``ticks``
        (the bin edges as drawn), ``min`` and ``max`` (of the values); categorical:
        ``categories`` ``[{'label', 'color', 'color_dark', 'count'}]``."""
        data: dict[str, Any] = {
            "title": self.title,
            "kind": self.kind,
            "scale": self.scale,
            "agg": self.agg,
            "matched": self.matched,
            "unmatched": len(self.unmatched),
            "no_value": {"color": NO_VALUE, "color_dark": NO_VALUE_DARK},
        }
        if self.kind == "categorical":
            assert self.codes is not None
            counts = np.bincount(self.codes[self.codes >= 0], minlength=len(self.categories))
            data["categories"] = [
                {"label": c, "color": light, "color_dark": dark, "count": int(n)}
                for c, light, dark, n in zip(self.categories, self.colors, self.colors_dark, counts)
            ]
            return data
        assert self.values is not None and self.edges is not None
        edges = self.edges
        if self.agg == "sum" and self.domain is None and visible is not None:
            per_item, _ = aggregate(self.values, visible.op_item, len(visible.items), "sum")
            edges = self.edges_for(per_item)
        light, dark = _ramp(self.scale, len(edges) - 1)
        finite = self.values[np.isfinite(self.values)]
        data["bins"] = [
            {
                "color": light[i],
                "color_dark": dark[i],
                "low": float(edges[i]),
                "high": float(edges[i + 1]),
                "label": f"{_number(float(edges[i]))} – {_number(float(edges[i + 1]))}",
            }
            for i in range(len(edges) - 1)
        ]
        data["ticks"] = [_number(float(e)) for e in edges]
        data["min"] = float(finite.min()) if finite.size else None
        data["max"] = float(finite.max()) if finite.size else None
        return data

    def op_value(self, name: str) -> Any:
        """The overlay's value of op ``name`` (a float, a category, or ``None``)."""
        i = self.hierarchy._op_index.get(name)
        if i is None:
            return None
        if self.kind == "numeric":
            assert self.values is not None
            v = float(self.values[i])
            return None if math.isnan(v) else v
        assert self.codes is not None
        code = int(self.codes[i])
        return None if code < 0 else self.categories[code]

    def format(self, value: Any) -> str:
        """A value as the overlay writes it (3 significant digits, or the category)."""
        return _number(float(value)) if self.kind == "numeric" else str(value)

    def describe(self, ops: np.ndarray) -> str:
        """What the ops at hierarchy indices ``ops`` (a scope's) hold, in words:
        ``"max 3.2 of 12 ops with a value"``, ``"4 changed, 20 same"``, ``"no value"``."""
        ops = np.asarray(ops, dtype=np.int64)
        if self.kind == "numeric":
            assert self.values is not None
            value, count = aggregate(self.values[ops], np.zeros(len(ops), np.int64), 1, self.agg)
            if not count[0]:
                return "no value"
            return f"{self.agg} {_number(float(value[0]))} of {int(count[0])} ops with a value"
        assert self.codes is not None
        codes = self.codes[ops]
        counts = np.bincount(codes[codes >= 0], minlength=len(self.categories))
        ranked = [int(c) for c in np.argsort(-counts, kind="stable") if counts[c]]
        return ", ".join(f"{int(counts[c])} {self.categories[c]}" for c in ranked) or "no value"

    def __repr__(self) -> str:
        what = (
            f"{len(self.categories)} categories"
            if self.kind == "categorical"
            else f"{self.scale} scale, {self.agg}"
        )
        return f"<Overlay {self.title!r}: {self.matched} names on ops, {what}>"


def aggregate(
    values: np.ndarray, op_item: np.ndarray, items: int, agg: str
) -> tuple[np.ndarray, np.ndarray]:
    """Per visible item, the ``agg`` of the values of the ops it shows (NaN where none has
    one), and how many ops with a value it shows."""
    known = ~np.isnan(values)
    idx, v = op_item[known], values[known]
    count = np.bincount(idx, minlength=items).astype(np.float64)
    if agg in ("mean", "sum"):
        with np.errstate(invalid="ignore"):
            total = np.bincount(idx, weights=v, minlength=items)
        out = total / np.where(count > 0, count, 1) if agg == "mean" else total
    else:
        out = np.full(items, -np.inf if agg == "max" else np.inf)
        (np.maximum if agg == "max" else np.minimum).at(out, idx, v)
    out = np.where(count > 0, out, np.nan)
    return out, count


def _items(series: Any):
    """``(keys, values)``: the keys as a pandas Index of text, the values as a Series."""
    import pandas as pd

    if isinstance(series, Mapping) and not hasattr(series, "index"):
        series = pd.Series(dict(series), dtype=object)
    if hasattr(series, "columns") or not (hasattr(series, "index") and hasattr(series, "to_numpy")):
        raise TFExploreError(
            f"Cannot overlay a {type(series).__name__}.",
            expected="a pandas Series (or dict) keyed by op or variable name",
            hint="one column of a table: checkpoint.stats().set_index('name')['l2']",
        )
    keys = series.index
    if pd.api.types.infer_dtype(keys, skipna=False) != "string":
        keys = keys.astype(str)
    return pd.Index(keys), series.reset_index(drop=True)


_NAME_INDEXES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _positions(hierarchy: Hierarchy, keys) -> np.ndarray:
    """The op index of each key (-1: none): op names looked up at once (a pandas hash
    lookup), the rest one by one through :func:`resolve_keys`."""
    import pandas as pd

    names = _NAME_INDEXES.get(hierarchy)
    if names is None:
        names = _NAME_INDEXES[hierarchy] = pd.Index(hierarchy.op_names)
    positions = np.asarray(names.get_indexer(keys), dtype=np.int64)
    missing = np.flatnonzero(positions < 0)
    if missing.size:
        found = resolve_keys(hierarchy, [keys[i] for i in missing])
        for i in missing.tolist():
            positions[i] = found.get(keys[i], -1)
    return positions


def _is_numeric(values) -> bool:
    """Numbers (not booleans): a numeric overlay; anything else a categorical one."""
    import pandas as pd

    kind = pd.api.types.infer_dtype(values, skipna=True)
    return kind in ("floating", "integer", "mixed-integer-float", "decimal", "empty")


def _category_color(category: str, given: Mapping[str, Any], spare) -> tuple[str, str]:
    chosen = given.get(category)
    if chosen is None and category in STATUS_COLORS:
        return STATUS_COLORS[category]
    if chosen is None:
        light = next(spare, OTHER_COLOR)
        return light, dark_twin(light)
    if isinstance(chosen, (tuple, list)):
        return str(chosen[0]), str(chosen[1])
    return str(chosen), dark_twin(str(chosen))
