"""The name-scope hierarchy of a graph, and what is visible when some scopes are expanded.

This is the data half of the graph explorer (TensorBoard's ``hierarchy.ts``): it knows nothing
of coordinates or drawing. :class:`Hierarchy` is built once per graph from its ``nodes``
DataFrame (columns ``name``, ``op``, ``device``, ``inputs``, ``control_inputs``);
:meth:`Hierarchy.visible` answers "with these scopes expanded, which boxes are on screen and
which edges join them", bundling the tensors that cross between two boxes into one edge.

Item ids: an op is named by its op name (``layer1/MatMul``), a scope by its name and a trailing
slash (``layer1/``). An op whose name is also a scope (the variable ``layer1/W`` next to
``layer1/W/Assign``) lives inside that scope, as in TensorBoard.

Large flat scopes: a scope with more than ``max_children`` direct children (thousands of ops at
the top level of a frozen graph, or of an old graph without name scopes) shows them in
synthetic *groups*, which open and close like scopes. First, series of like-named ops of one
type (``Add``, ``Add_1``, ..., ``Add_4999``) become one group ``Add_[0-4999]`` (likewise
series of scopes, ``tower_0/`` ... ``tower_7/``), as TensorBoard does; then, if the scope still
has too many children, they are cut into chunks in graph order (``ops 1–200``,
``ops 201–400``, ...; chunks of chunks when even those are too many). A group's name is its
container's name, a slash and its label; labels hold ``[`` or a space, which no op name can,
so a group never shares a name with an op or a scope. Groups depend only on the graph, never
on what is expanded.

Grouping lives in ``groups`` (a mixin of :class:`Hierarchy`), what is visible as plain data
in ``visible``, op roles in ``roles``; their names stay importable from here.

Example::

    >>> hierarchy = Hierarchy(graph)                              # doctest: +SKIP
    >>> view = hierarchy.visible(expanded={"layer1"})             # doctest: +SKIP
    >>> [item.id for item in view.items][:3]                      # doctest: +SKIP
    ['global_step/', 'inputs/', 'layer1/']
    >>> hierarchy.trace("loss/mse", "inputs")                     # doctest: +SKIP
    {'inputs/x', 'layer1/W', ...}
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..errors import TensorNotFoundError, TFExploreError
from ..graph.protos import gc_paused as _gc_paused
from ..graph.query import parse_query
from .groups import MAX_CHILDREN, GroupingMixin
from .roles import ROLES, op_role
from .visible import Entry, Group, VisibleEdge, VisibleGraph, VisibleItem, scope_id

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Hierarchy",
    "VisibleGraph",
    "VisibleItem",
    "VisibleEdge",
    "ROLES",
    "op_role",
    "scope_id",
    "Group",
    "MAX_CHILDREN",
]

ROOT = ""


class Hierarchy(GroupingMixin):
    """The scope tree of a graph, with its edges as arrays, built once from ``graph.nodes``.

    ``graph`` is anything with a ``nodes`` DataFrame (a :class:`tfexplore.graph.Graph`), or the
    DataFrame itself. Scopes are numbered in depth-first order so that the ops below any scope
    form one contiguous run of :attr:`op_names`. A scope with more than ``max_children``
    direct children shows them in groups (see the module docstring).

    Example::

        >>> h = Hierarchy(graph)                                  # doctest: +SKIP
        >>> h.op_count("train"), h.child_scopes("train")[:2]      # doctest: +SKIP
        (212, ['train/Adam', 'train/gradients'])
    """

    def __init__(self, graph: Any, *, max_children: int = MAX_CHILDREN) -> None:
        self.max_children = max(int(max_children), 2)
        self._groups: dict[str, Group] = {}
        self._arranged: dict[int, list[Entry]] = {}  # scope index -> its (grouped) children
        self._entry_group: dict[Entry, str] = {}  # a scope or group -> the group holding it
        self._graph = graph
        with _gc_paused():
            if hasattr(graph, "columns"):
                self._nodes = graph
                names = [str(n) for n in graph["name"].tolist()]
                op_types = [str(t) for t in graph["op"].tolist()]
                inputs = [[_split_tensor(str(t)) for t in ts or ()] for ts in graph["inputs"]]
                controls = graph["control_inputs"].tolist()
            else:
                names, op_types, inputs, controls = _structure(graph)
            self._build_scopes(names)
            self._order_ops(names, op_types)
            self._build_edges(inputs, controls)
            self._op_group = np.full(len(self.op_names), -1, dtype=np.int64)  # innermost group
            self._group_list: list[Group] = []
            self._group_number: dict[str, int] = {}

    @property
    def nodes(self) -> pd.DataFrame:
        """The graph's structural columns (``name``, ``op``, ``device``, ``inputs``,
        ``control_inputs``), built when first asked for."""
        if not hasattr(self, "_nodes"):
            from ..graph.model import STRUCTURE_COLUMNS

            self._nodes = self._graph.node_frame(STRUCTURE_COLUMNS)
        return self._nodes

    # -- construction ------------------------------------------------------------------
    def _build_scopes(self, names: list[str]) -> None:
        prefixes: set[str] = set()
        for name in names:  # every proper prefix; stop at the first one already known
            head = name.rpartition("/")[0]
            while head and head not in prefixes:
                prefixes.add(head)
                head = head.rpartition("/")[0]
        # depth-first order: "/" sorts before every other character, so a scope's
        # descendants follow it contiguously.
        ordered = sorted(prefixes, key=lambda s: s.replace("/", "\x01"))
        self.scope_names: list[str] = [ROOT, *ordered]
        self._scope_index = {s: i for i, s in enumerate(self.scope_names)}
        count = len(self.scope_names)
        parent = [-1] + [0] * (count - 1)  # plain lists: element access is cheaper than numpy's
        depth = [0] * count
        for i, scope in enumerate(ordered, start=1):
            head, sep, _ = scope.rpartition("/")
            parent[i] = self._scope_index[head] if sep else 0
            depth[i] = scope.count("/") + 1
        end = list(range(1, count + 1))
        for i in range(count - 1, 0, -1):
            if end[i] > end[parent[i]]:
                end[parent[i]] = end[i]
        self.scope_parent = np.array(parent, dtype=np.int64)
        self.scope_depth = np.array(depth, dtype=np.int64)
        self.scope_end = np.array(end, dtype=np.int64)  # scopes [i, end[i]) are i and below

    def _order_ops(self, names: list[str], op_types: list[str]) -> None:
        def parent_of(name: str) -> int:
            if name in self._scope_index:
                return self._scope_index[name]
            head, sep, _ = name.rpartition("/")
            return self._scope_index[head] if sep else 0

        if len(self.scope_names) == 1:  # no scopes at all: every op at the top level
            parents = np.zeros(len(names), dtype=np.int64)
        else:
            parents = np.array([parent_of(n) for n in names], dtype=np.int64)
        order = np.argsort(parents, kind="stable")  # stable: graph order within a scope
        self.source_row = order  # hierarchy op i is row source_row[i] of graph.nodes
        self.op_names: list[str] = [names[i] for i in order]
        self.op_types: list[str] = [str(op_types[i]) for i in order]
        self.op_parent = parents[order]
        self._op_index = {n: i for i, n in enumerate(self.op_names)}
        starts = np.searchsorted(self.op_parent, np.arange(len(self.scope_names) + 1))
        self.scope_op_start = starts
        self.scope_op_count = starts[self.scope_end] - starts[: len(self.scope_names)]

    def _build_edges(self, inputs, controls) -> None:
        """``inputs[row]``: ``(op, output)`` pairs; ``controls[row]``: op names."""
        index = self._op_index
        src, dst, out = [], [], []
        add_src, add_dst, add_out = src.append, dst.append, out.append
        for dst_op, row in enumerate(self.source_row.tolist()):
            for op, output in inputs[row] or ():
                source = index.get(op)
                if source is not None:
                    add_src(source), add_dst(dst_op), add_out(output)
            for op in controls[row] or ():
                source = index.get(str(op).lstrip("^"))
                if source is not None:
                    add_src(source), add_dst(dst_op), add_out(-1)
        self.edge_src = np.array(src, dtype=np.int64)
        self.edge_dst = np.array(dst, dtype=np.int64)
        self.edge_output = np.array(out, dtype=np.int64)  # -1: control dependency
        self._adjacency: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    # -- lookups -----------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.op_names)

    def __repr__(self) -> str:
        return (
            f"<Hierarchy {len(self.op_names)} ops in {len(self.scope_names) - 1} scopes, "
            f"{len(self.edge_src)} edges>"
        )

    def op_index(self, name: str) -> int:
        """Position of op ``name`` in :attr:`op_names`; unknown names raise
        :class:`~tfexplore.errors.TensorNotFoundError` with suggestions."""
        try:
            return self._op_index[name]
        except KeyError:
            raise self._not_found(name) from None

    def op_indices(self, names: Iterable[str]) -> np.ndarray:
        """Positions of the known op names among ``names`` (unknown ones are left out)."""
        return np.array([self._op_index[n] for n in names if n in self._op_index], dtype=np.int64)

    def is_op(self, name: str) -> bool:
        return name in self._op_index

    def is_scope(self, name: str) -> bool:
        return name.rstrip("/") in self._scope_index and name.rstrip("/") != ROOT

    def is_group(self, name: str) -> bool:
        """True for the name (or id) of a synthetic group (``Add_[0-4999]``, ``ops 1–200``)."""
        return self.group(name.rstrip("/")) is not None

    def is_container(self, name: str) -> bool:
        """True for a scope or a group: something that opens and closes."""
        return self.is_scope(name) or self.is_group(name)

    def group(self, name: str) -> Group | None:
        """The group named ``name``, or ``None``. Groups are made when first needed: this
        arranges the scope the name lies in."""
        found = self._groups.get(name)
        if found is not None or ("[" not in name and " " not in name):
            return found
        parts = name.split("/")
        for k in range(len(parts) - 1, -1, -1):  # the innermost real scope around it
            prefix = "/".join(parts[:k])
            if prefix in self._scope_index:
                self._entries(prefix)
                break
        return self._groups.get(name)

    def scope_of(self, op_name: str) -> str:
        """The scope an op is drawn in (``""`` for the top level)."""
        return self.scope_names[int(self.op_parent[self.op_index(op_name)])]

    def ancestors(self, name: str) -> list[str]:
        """The scopes enclosing an op or scope, outermost first, without the top level.

        >>> h.ancestors("layer1/W/Assign")                        # doctest: +SKIP
        ['layer1', 'layer1/W']
        """
        if name in self._op_index:
            entry: Entry = ("op", self._op_index[name])
            scope = int(self.op_parent[self._op_index[name]])
        elif self.is_group(name):
            group = self._groups[name.rstrip("/")]
            return [*self.ancestors(group.parent), group.parent] if group.parent else []
        else:
            scope = self._scope(name)
            entry = ("scope", scope)
            scope = int(self.scope_parent[scope])
        chain: list[str] = []
        while scope >= 0:
            self._entries(self.scope_names[scope])  # make the groups of this scope
            group_name = self._group_of(entry)
            while group_name is not None:
                chain.append(group_name)
                group_name = self._group_of(("group", group_name))
            if scope > 0:
                chain.append(self.scope_names[scope])
            entry = ("scope", scope)
            scope = int(self.scope_parent[scope])
        return chain[::-1]

    def op_count(self, scope: str) -> int:
        """Number of ops below a scope or group, at any depth (the whole graph for ``""``)."""
        group = self.group(scope.rstrip("/"))
        if group is not None:
            return group.op_count
        return int(self.scope_op_count[self._scope(scope)])

    def child_scopes(self, scope: str) -> list[str]:
        """The scopes directly inside ``scope``, in name order."""
        i = self._scope(scope)
        children, j = [], i + 1
        while j < self.scope_end[i]:
            children.append(self.scope_names[j])
            j = int(self.scope_end[j])
        return children

    def child_ops(self, scope: str) -> list[str]:
        """The ops directly inside ``scope`` (not in a sub-scope), in graph order."""
        i = self._scope(scope)
        return self.op_names[self.scope_op_start[i] : self.scope_op_start[i + 1]]

    def ops_below(self, scope: str) -> list[str]:
        """Every op below a scope or group, at any depth."""
        return [self.op_names[i] for i in self._op_range(scope).tolist()]

    def _op_range(self, name: str) -> np.ndarray:
        """Hierarchy indices of the ops below a scope or group."""
        group = self.group(name.rstrip("/"))
        if group is not None:
            return group.ops
        i = self._scope(name)
        return np.arange(self.scope_op_start[i], self.scope_op_start[self.scope_end[i]])

    def children(self, container: str) -> list[str]:
        """The item ids drawn directly inside a scope or group when it is open: scopes
        (``name/``), groups (``name/``) and ops, in drawing order."""
        return [self._entry_id(e) for e in self._entries(container.rstrip("/"))]

    def _entry_id(self, entry: Entry) -> str:
        kind, ref = entry
        if kind == "op":
            return self.op_names[ref]
        return scope_id(self.scope_names[ref] if kind == "scope" else ref)

    def edge_tensors(self, edge_indices: np.ndarray) -> list[str]:
        """Distinct tensor names (``op:N``, ``^op`` for control) of some graph edges, sorted."""
        names = set()
        for e in edge_indices:
            op = self.op_names[int(self.edge_src[e])]
            output = int(self.edge_output[e])
            names.add(f"^{op}" if output < 0 else f"{op}:{output}")
        return sorted(names)

    def _scope(self, scope: str) -> int:
        key = scope.rstrip("/")
        try:
            return self._scope_index[key]
        except KeyError:
            raise self._not_found(scope, what="scope") from None

    def _not_found(self, name: str, what: str = "op") -> TensorNotFoundError:
        import difflib

        pool = self.op_names if what == "op" else self.scope_names
        close = difflib.get_close_matches(name, pool, n=5)
        lower = name.lower()
        close += [n for n in pool if lower and lower in n.lower() and n not in close][:5]
        return TensorNotFoundError(
            f"The graph has no {what} named {name!r}.",
            expected=f"one of its {len(pool)} {what} names",
            suggestions=close,
        )

    # -- what is visible ---------------------------------------------------------------
    def visible(self, expanded: Iterable[str] = ()) -> VisibleGraph:
        """The boxes and bundled edges on screen when the scopes in ``expanded`` are open.

        A scope is open only if all its enclosing scopes are open too; the others named in
        ``expanded`` are remembered but do not show. Unknown scope names raise
        :class:`~tfexplore.errors.TensorNotFoundError`.
        """
        open_set = frozenset(s.rstrip("/") for s in expanded)
        for scope in open_set:
            if self.group(scope) is None:
                self._scope(scope)
        representative = self._scope_representatives(open_set)
        items, children, item_of_op = self._visible_items(representative, open_set)
        edges, edge_bundle = self._bundle_edges(items, item_of_op)
        return VisibleGraph(self, open_set, items, children, edges, edge_bundle, item_of_op)

    def _scope_representatives(self, open_set: frozenset[str]) -> np.ndarray:
        """For every scope: -1 if it is open, else the index of the collapsed scope box that
        shows it (itself when visible, an ancestor when hidden)."""
        representative = np.full(len(self.scope_names), -1, dtype=np.int64)
        for i in range(1, len(self.scope_names)):
            parent_rep = representative[self.scope_parent[i]]
            if parent_rep >= 0:
                representative[i] = parent_rep
            elif self.scope_names[i] not in open_set:
                representative[i] = i
        return representative

    def _visible_items(self, representative: np.ndarray, open_set: frozenset[str]):
        items: list[VisibleItem] = []
        children: dict[str, list[str]] = {}
        scope_item = np.full(len(self.scope_names), -1, dtype=np.int64)
        op_item = np.full(len(self.op_names), -1, dtype=np.int64)

        def visit(container: str, container_id: str, depth: int) -> None:
            ids = children.setdefault(container_id, [])
            for kind, ref in self._entries(container):
                if kind == "op":
                    name = self.op_names[ref]
                    op_item[ref] = len(items)
                    items.append(
                        VisibleItem(
                            id=name,
                            kind="op",
                            name=name,
                            label=name.rsplit("/", 1)[-1],
                            container=container_id,
                            depth=depth,
                            op_type=self.op_types[ref],
                        )
                    )
                    ids.append(name)
                    continue
                if kind == "scope":
                    name, label = self.scope_names[ref], self.scope_names[ref].rsplit("/", 1)[-1]
                    is_open, count, op_type = (
                        bool(representative[ref] < 0),
                        self.scope_op_count[ref],
                        "",
                    )
                    scope_item[ref] = len(items)
                else:
                    group = self._groups[ref]
                    name, label, op_type = ref, group.label, group.op_type
                    is_open, count = ref in open_set, group.op_count
                    if not is_open:
                        op_item[group.ops] = len(items)
                items.append(
                    VisibleItem(
                        id=scope_id(name),
                        kind=kind,
                        name=name,
                        label=label,
                        container=container_id,
                        depth=depth,
                        expanded=is_open,
                        op_count=int(count),
                        op_type=op_type,
                    )
                )
                ids.append(scope_id(name))
                if is_open:
                    visit(name, scope_id(name), depth + 1)

        visit(ROOT, "/", 0)
        hidden = op_item < 0  # below a collapsed scope: shown by that scope's box
        op_item[hidden] = scope_item[representative[self.op_parent[hidden]]]
        return items, children, op_item

    def _bundle_edges(self, items: list[VisibleItem], op_item: np.ndarray):
        src_item = op_item[self.edge_src]
        dst_item = op_item[self.edge_dst]
        crossing = src_item != dst_item
        control = self.edge_output < 0
        n = max(len(items), 1)
        key = (src_item * n + dst_item) * 2 + control
        edge_bundle = np.full(len(self.edge_src), -1, dtype=np.int64)
        if not crossing.any():
            return [], edge_bundle
        keys, bundle_of_edge, edge_counts = np.unique(
            key[crossing], return_inverse=True, return_counts=True
        )
        edge_bundle[crossing] = bundle_of_edge
        # distinct tensors per bundle: (bundle, source op, output) triples
        tensor = self.edge_src[crossing] * (int(self.edge_output.max(initial=0)) + 2) + (
            self.edge_output[crossing] + 1
        )
        span = int(tensor.max(initial=0)) + 1
        pairs = np.sort(bundle_of_edge.astype(np.int64) * span + tensor)
        first = np.ones(len(pairs), dtype=bool)  # distinct (bundle, tensor) pairs, sorted
        np.not_equal(pairs[1:], pairs[:-1], out=first[1:])
        tensor_counts = np.bincount(pairs[first] // span, minlength=len(keys))
        edges = []
        for b, k in enumerate(keys.tolist()):
            pair, is_control = divmod(k, 2)
            s, d = divmod(pair, n)
            edges.append(
                VisibleEdge(
                    src=items[s].id,
                    dst=items[d].id,
                    control=bool(is_control),
                    count=int(tensor_counts[b]),
                    edges=int(edge_counts[b]),
                    index=b,
                )
            )
        return edges, edge_bundle

    # -- colour keys -------------------------------------------------------------------
    def categories(self, color_by: str) -> list[str]:
        """The colour key of every op (hierarchy order): its op type, device or role."""
        if color_by == "op":
            return list(self.op_types)
        if color_by == "device":
            devices = self.nodes["device"].tolist()
            return [str(devices[r]) or "(no device)" for r in self.source_row]
        if color_by == "role":
            return [op_role(n, t) for n, t in zip(self.op_names, self.op_types)]
        raise TFExploreError(
            f"Cannot colour by {color_by!r}.",
            expected="color_by one of 'op', 'device', 'role'",
            hint="use color_by='op' (the default), 'device' or 'role'",
        )

    def category_counts(self, codes: np.ndarray, scope: str) -> np.ndarray:
        """How many ops below a scope or group fall in each category, given integer ``codes``
        per op."""
        group = self.group(scope.rstrip("/"))
        if group is not None:
            selected = codes[group.ops]
        else:
            i = self._scope(scope)
            selected = codes[self.scope_op_start[i] : self.scope_op_start[self.scope_end[i]]]
        if getattr(self, "_codes_seen", (None,))[0] is not codes:  # one max per palette
            self._codes_seen = (codes, int(codes.max(initial=0)) + 1)
        return np.bincount(selected, minlength=self._codes_seen[1])

    # -- search and trace --------------------------------------------------------------
    def search(self, text: str, limit: int = 50) -> list[str]:
        """Op names matching ``text``, a query in tfexplore's one search syntax
        (:mod:`tfexplore.graph.query`: words, globs, ``op:TYPE``, ``re:``), best first: the
        exact name, then names whose last part equals the first word, starts with it, then
        any other match (fewer scopes first). A blank ``text`` finds nothing.

        Example::

            >>> hierarchy.search("relu")                      # doctest: +SKIP
            >>> hierarchy.search("op:MatMul encoder")          # doctest: +SKIP
        """
        if not text.strip():
            return []
        query = parse_query(text)
        found = [
            i
            for i, (name, op_type) in enumerate(zip(self.op_names, self.op_types))
            if query.matches(name, op_type)
        ]
        if query.needle is not None:
            names = self.op_names
            found.sort(key=lambda i: (query.rank(names[i])[0], names[i].count("/"), i))
        return [self.op_names[i] for i in found[:limit]]

    def trace(self, name: str, direction: Literal["inputs", "outputs"] = "inputs") -> set[str]:
        """The ops ``name`` depends on (``"inputs"``), or that depend on it (``"outputs"``),
        through data and control edges, ``name`` included."""
        if direction not in ("inputs", "outputs"):
            raise TFExploreError(
                f"Unknown trace direction {direction!r}.",
                expected="'inputs' or 'outputs'",
                hint="trace(name, 'inputs') follows what it reads; 'outputs', what reads it",
            )
        starts, neighbours = self._neighbours(direction)
        start = self.op_index(name)
        seen = np.zeros(len(self.op_names), dtype=bool)
        seen[start] = True
        queue = deque([start])
        while queue:
            op = queue.popleft()
            for other in neighbours[starts[op] : starts[op + 1]]:
                if not seen[other]:
                    seen[other] = True
                    queue.append(int(other))
        return {self.op_names[i] for i in np.flatnonzero(seen)}

    def consumers(self, op_name: str) -> dict[int, list[str]]:
        """For each output index of an op, the ops reading it (``-1``: control dependants)."""
        op = self.op_index(op_name)
        mask = self.edge_src == op
        result: dict[int, list[str]] = {}
        for output, dst in zip(self.edge_output[mask].tolist(), self.edge_dst[mask].tolist()):
            result.setdefault(output, []).append(self.op_names[dst])
        return {k: sorted(set(v)) for k, v in sorted(result.items())}

    def _neighbours(self, direction: str) -> tuple[np.ndarray, np.ndarray]:
        if direction not in self._adjacency:
            key, other = (
                (self.edge_dst, self.edge_src)
                if direction == "inputs"
                else (self.edge_src, self.edge_dst)
            )
            order = np.argsort(key, kind="stable")
            starts = np.searchsorted(key[order], np.arange(len(self.op_names) + 1))
            self._adjacency[direction] = (starts, other[order])
        return self._adjacency[direction]


def _structure(graph: Any) -> tuple[list[str], list[str], list, list]:
    """``(names, op types, inputs as (op, output) pairs, control input names)`` per op.

    A :class:`tfexplore.graph.Graph` holds these lists already: they are read as they are
    (building ``graph.node_frame`` would format every input as text, only for it to be
    parsed again here); anything else gives its ``node_frame(STRUCTURE_COLUMNS)``.
    """
    if hasattr(graph, "structure"):
        return graph.structure()
    from ..graph.model import STRUCTURE_COLUMNS

    frame = graph.node_frame(STRUCTURE_COLUMNS)
    inputs = [[_split_tensor(str(t)) for t in ts or ()] for ts in frame["inputs"]]
    return (
        [str(n) for n in frame["name"].tolist()],
        [str(t) for t in frame["op"].tolist()],
        inputs,
        frame["control_inputs"].tolist(),
    )


def _split_tensor(tensor: str) -> tuple[str, int]:
    """``"a/b:1"`` -> ``("a/b", 1)``; ``"a/b"`` -> ``("a/b", 0)``; ``"^a"`` -> ``("a", -1)``."""
    if tensor.startswith("^"):
        return tensor[1:], -1
    op, sep, output = tensor.rpartition(":")
    if sep and output.isdigit():
        return op, int(output)
    return tensor, 0
