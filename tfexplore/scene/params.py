"""The layout's one set of parameters: :class:`LayoutParams`, a frozen, documented dataclass
(sizes, spacing, chain folding, bands, text sizes), and :class:`LayoutTooLargeError`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import TFExploreError
from .hierarchy import MAX_CHILDREN

__all__ = ["LayoutParams", "LayoutTooLargeError", "ROOT_ID", "LOOP_BACK_OPS", "Point"]

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
