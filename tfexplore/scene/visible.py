"""What is on screen for some expanded scopes, as plain data: :class:`VisibleItem` (a box),
:class:`VisibleEdge` (bundled tensors between two boxes), :class:`Group` (a synthetic scope of
a crowded one) and :class:`VisibleGraph` (all of them, from :meth:`Hierarchy.visible`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ..errors import TensorNotFoundError

__all__ = ["VisibleItem", "VisibleEdge", "VisibleGraph", "Group", "Entry", "scope_id"]

Entry = tuple[str, Any]  # ("scope", scope index) | ("op", op index) | ("group", group name)


def scope_id(scope: str) -> str:
    """The item id of a scope: its name and a trailing slash (``"layer1"`` -> ``"layer1/"``)."""
    return scope + "/"


@dataclass(frozen=True)
class VisibleItem:
    """One box on screen: an op, a collapsed scope or group (one box standing for all its
    ops) or an expanded scope or group (a frame around its visible children).

    ``container`` is the id of the expanded scope it is drawn in (``"/"`` for the top level).
    """

    id: str
    kind: Literal["op", "scope", "group"]
    name: str
    label: str
    container: str
    depth: int
    expanded: bool = False
    op_count: int = 1
    op_type: str = ""


@dataclass(frozen=True)
class Group:
    """A synthetic box standing for some children of a large scope: a ``series`` of
    like-named siblings or a ``chunk`` of consecutive ones (see the module docstring).

    ``parent`` is the name of the scope or group it is drawn in (``""``: the top level);
    ``entries`` its children (``("scope", i)``, ``("op", i)``, ``("group", name)``); ``ops``
    the hierarchy indices of every op below it, at any depth.
    """

    name: str
    label: str
    kind: Literal["series", "chunk"]
    parent: str
    entries: list[Entry] = field(repr=False)
    ops: np.ndarray = field(repr=False)
    op_type: str = ""

    @property
    def op_count(self) -> int:
        return len(self.ops)


@dataclass(frozen=True)
class VisibleEdge:
    """Tensors (or control dependencies) flowing from one visible item to another.

    ``count`` is the number of distinct tensors it bundles (for a control edge: of distinct
    source ops); ``edges`` is the number of underlying graph edges (a tensor consumed twice in
    the destination counts twice there).
    """

    src: str
    dst: str
    control: bool
    count: int
    edges: int
    index: int


@dataclass
class VisibleGraph:
    """What is on screen for one set of expanded scopes. Built by :meth:`Hierarchy.visible`.

    ``items`` lists every visible box in hierarchy order (a container before its children);
    ``children[container_id]`` lists the ids drawn directly inside a container (``"/"`` is the
    top level); ``edges`` are the bundled edges between visible items.
    """

    hierarchy: Any  # the Hierarchy it was cut from
    expanded: frozenset[str]
    items: list[VisibleItem]
    children: dict[str, list[str]]
    edges: list[VisibleEdge]
    #: for every underlying graph edge, the index of the visible edge carrying it (-1: hidden
    #: inside one collapsed box).
    edge_bundle: np.ndarray = field(repr=False)
    #: for every op (in hierarchy op order), the index into ``items`` of the box showing it.
    op_item: np.ndarray = field(repr=False)

    def without(self, item_ids: Iterable[str]) -> VisibleGraph:
        """The same view less the boxes ``item_ids`` (and the edges to them), to lay out what
        a filter leaves ("only changes"): ``op_item`` says ``-1`` for the ops of a box taken
        away and ``edge_bundle`` for the edges; the edges keep their ``index``."""
        gone = set(item_ids)
        if not gone:
            return self
        kept = [k for k, item in enumerate(self.items) if item.id not in gone]
        new_index = np.full(len(self.items) + 1, -1, dtype=np.int64)  # [-1] stays -1
        new_index[kept] = np.arange(len(kept))
        edges = [e for e in self.edges if e.src not in gone and e.dst not in gone]
        dropped = np.ones(len(self.edges) + 1, dtype=bool)
        dropped[[e.index for e in edges]] = False
        dropped[-1] = False
        bundle = np.where(dropped[self.edge_bundle], -1, self.edge_bundle)
        return VisibleGraph(
            self.hierarchy,
            self.expanded,
            [self.items[k] for k in kept],
            {
                c: [i for i in ids if i not in gone]
                for c, ids in self.children.items()
                if c not in gone
            },
            edges,
            bundle,
            new_index[self.op_item],
        )

    def item(self, item_id: str) -> VisibleItem:
        """The visible item with this id."""
        for item in self.items:
            if item.id == item_id:
                return item
        raise TensorNotFoundError(f"No visible item {item_id!r}.", expected="a visible item id")

    def tensors(self, edge: VisibleEdge | int) -> list[str]:
        """The tensor names (``op:0``; ``^op`` for control inputs) one visible edge bundles."""
        index = edge.index if isinstance(edge, VisibleEdge) else int(edge)
        return self.hierarchy.edge_tensors(np.flatnonzero(self.edge_bundle == index))

    def item_of(self, op_name: str) -> str:
        """The id of the visible box that shows op ``op_name`` (itself, or a collapsed scope)."""
        return self.items[int(self.op_item[self.hierarchy.op_index(op_name)])].id

    def items_of(self, op_names: Iterable[str]) -> list[str]:
        """The ids of the visible boxes showing any of ``op_names``, in item order."""
        ops = self.hierarchy.op_indices(op_names)
        return [self.items[i].id for i in np.unique(self.op_item[ops])]

    def edges_within(self, op_names: Iterable[str]) -> list[int]:
        """Indices of the visible edges carrying a graph edge whose two ends are both in
        ``op_names``: the edges to light up for a trace."""
        inside = np.zeros(len(self.hierarchy.op_names), dtype=bool)
        inside[self.hierarchy.op_indices(op_names)] = True
        h = self.hierarchy
        mask = inside[h.edge_src] & inside[h.edge_dst] & (self.edge_bundle >= 0)
        return sorted(int(i) for i in np.unique(self.edge_bundle[mask]))
