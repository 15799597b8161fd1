"""The name-scope hierarchy of a graph, and what is visible when some scopes are expanded.

This is the data half of the graph explorer (TensorBoard's ``hierarchy.ts``): it knows nothing
of coordinates or drawing. :class:`Hierarchy` is built once per graph from its ``nodes``
DataFrame (columns ``name``, ``op``, ``device``, ``inputs``, ``control_inputs``);
:meth:`Hierarchy.visible` answers "with these scopes expanded, which boxes are on screen and
which edges join them", bundling the tensors that cross between two boxes into one edge.

Item ids: an op is named by its op name (``layer1/MatMul``), a scope by its name and a trailing
slash (``layer1/``). An op whose name is also a scope (the variable ``layer1/W`` next to
``layer1/W/Assign``) lives inside that scope, as in TensorBoard.

Example::

    >>> hierarchy = Hierarchy(graph)                              # doctest: +SKIP
    >>> view = hierarchy.visible(expanded={"layer1"})             # doctest: +SKIP
    >>> [item.id for item in view.items][:3]                      # doctest: +SKIP
    ['global_step/', 'inputs/', 'layer1/']
    >>> hierarchy.trace("loss/mse", "inputs")                     # doctest: +SKIP
    {'inputs/x', 'layer1/W', ...}
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .errors import TensorNotFoundError, TFExploreError

__all__ = [
    "Hierarchy",
    "VisibleGraph",
    "VisibleItem",
    "VisibleEdge",
    "ROLES",
    "op_role",
    "scope_id",
]

ROOT = ""
#: The roles an op may play, in the order they are tested (the first that fits wins).
ROLES = ("placeholder", "control flow", "gradient", "optimizer", "variable", "compute")
CONTROL_FLOW_OPS = frozenset(
    "Switch RefSwitch Merge RefMerge Enter RefEnter Exit RefExit NextIteration "
    "RefNextIteration LoopCond If StatelessIf While StatelessWhile Case StatelessCase "
    "ControlTrigger".split()
)
VARIABLE_OPS = frozenset(
    "VariableV2 Variable VarHandleOp AutoReloadVariable ReadVariableOp AssignVariableOp "
    "Assign AssignAdd AssignSub VarIsInitializedOp IsVariableInitialized".split()
)
PLACEHOLDER_OPS = frozenset(["Placeholder", "PlaceholderWithDefault"])
_OPTIMIZER_WORDS = re.compile(
    r"(^|/)(Adam|Adam_\d+|Adagrad\w*|Adadelta|RMSProp\w*|Momentum\w*|GradientDescent|Ftrl\w*|"
    r"beta[12]_power\w*|SGD|Nadam|Adamax|Lamb)(/|$)"
)
_GRADIENT_WORDS = re.compile(r"(^|/)gradients(_\d+)?(/|$)")


def scope_id(scope: str) -> str:
    """The item id of a scope: its name and a trailing slash (``"layer1"`` -> ``"layer1/"``)."""
    return scope + "/"


def op_role(name: str, op_type: str) -> str:
    """What an op is for, from its type and name: one of :data:`ROLES`.

    >>> op_role("inputs/x", "Placeholder"), op_role("train/gradients/loss/mse_grad/Mul", "Mul")
    ('placeholder', 'gradient')
    >>> op_role("train/Adam/update_layer1/W/ApplyAdam", "ApplyAdam"), op_role("a/W", "VariableV2")
    ('optimizer', 'variable')
    """
    if op_type in PLACEHOLDER_OPS:
        return "placeholder"
    if op_type in CONTROL_FLOW_OPS:
        return "control flow"
    if _GRADIENT_WORDS.search(name):
        return "gradient"
    if op_type.startswith(("Apply", "ResourceApply", "SparseApply")) or _OPTIMIZER_WORDS.search(
        name
    ):
        return "optimizer"
    if op_type in VARIABLE_OPS:
        return "variable"
    return "compute"


@dataclass(frozen=True)
class VisibleItem:
    """One box on screen: an op, a collapsed scope (one box standing for all its ops) or an
    expanded scope (a frame around its visible children).

    ``container`` is the id of the expanded scope it is drawn in (``"/"`` for the top level).
    """

    id: str
    kind: Literal["op", "scope"]
    name: str
    label: str
    container: str
    depth: int
    expanded: bool = False
    op_count: int = 1
    op_type: str = ""


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

    hierarchy: Hierarchy
    expanded: frozenset[str]
    items: list[VisibleItem]
    children: dict[str, list[str]]
    edges: list[VisibleEdge]
    #: for every underlying graph edge, the index of the visible edge carrying it (-1: hidden
    #: inside one collapsed box).
    edge_bundle: np.ndarray = field(repr=False)
    #: for every op (in hierarchy op order), the index into ``items`` of the box showing it.
    op_item: np.ndarray = field(repr=False)

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


class Hierarchy:
    """The scope tree of a graph, with its edges as arrays, built once from ``graph.nodes``.

    ``graph`` is anything with a ``nodes`` DataFrame (a :class:`tfexplore.graph.Graph`), or the
    DataFrame itself. Scopes are numbered in depth-first order so that the ops below any scope
    form one contiguous run of :attr:`op_names`.

    Example::

        >>> h = Hierarchy(graph)                                  # doctest: +SKIP
        >>> h.op_count("train"), h.child_scopes("train")[:2]      # doctest: +SKIP
        (212, ['train/Adam', 'train/gradients'])
    """

    def __init__(self, graph: Any) -> None:
        if hasattr(graph, "columns"):
            nodes = graph
        else:  # the cheap structural columns: the full ``nodes`` table summarises every attr
            from .graph import STRUCTURE_COLUMNS

            nodes = graph.node_frame(STRUCTURE_COLUMNS)
        self.nodes = nodes
        names = [str(n) for n in nodes["name"].tolist()]
        self._build_scopes(names)
        self._order_ops(names, nodes["op"].tolist())
        self._build_edges(nodes)

    # -- construction ------------------------------------------------------------------
    def _build_scopes(self, names: list[str]) -> None:
        prefixes: set[str] = set()
        for name in names:
            parts = name.split("/")
            for end in range(1, len(parts)):
                prefixes.add("/".join(parts[:end]))
        # depth-first order: "/" sorts before every other character, so a scope's
        # descendants follow it contiguously.
        ordered = sorted(prefixes, key=lambda s: s.replace("/", "\x01"))
        self.scope_names: list[str] = [ROOT, *ordered]
        self._scope_index = {s: i for i, s in enumerate(self.scope_names)}
        parent = np.zeros(len(self.scope_names), dtype=np.int64)
        parent[0] = -1
        depth = np.zeros(len(self.scope_names), dtype=np.int64)
        for i, scope in enumerate(ordered, start=1):
            head, sep, _ = scope.rpartition("/")
            parent[i] = self._scope_index[head] if sep else 0
            depth[i] = scope.count("/") + 1
        self.scope_parent = parent
        self.scope_depth = depth
        end = np.arange(1, len(self.scope_names) + 1)
        for i in range(len(self.scope_names) - 1, 0, -1):
            end[parent[i]] = max(end[parent[i]], end[i])
        self.scope_end = end  # scopes [i, end[i]) are i and its descendants

    def _order_ops(self, names: list[str], op_types: list[str]) -> None:
        def parent_of(name: str) -> int:
            if name in self._scope_index:
                return self._scope_index[name]
            head, sep, _ = name.rpartition("/")
            return self._scope_index[head] if sep else 0

        parents = np.array([parent_of(n) for n in names], dtype=np.int64)
        order = np.lexsort((np.arange(len(names)), parents))  # stable: graph order in a scope
        self.source_row = order  # hierarchy op i is row source_row[i] of graph.nodes
        self.op_names: list[str] = [names[i] for i in order]
        self.op_types: list[str] = [str(op_types[i]) for i in order]
        self.op_parent = parents[order]
        self._op_index = {n: i for i, n in enumerate(self.op_names)}
        starts = np.searchsorted(self.op_parent, np.arange(len(self.scope_names) + 1))
        self.scope_op_start = starts
        self.scope_op_count = starts[self.scope_end] - starts[: len(self.scope_names)]

    def _build_edges(self, nodes) -> None:
        index = self._op_index
        rows = self.source_row
        inputs = nodes["inputs"].tolist()
        controls = nodes["control_inputs"].tolist()
        src, dst, out = [], [], []
        for dst_op, row in enumerate(rows):
            for tensor in inputs[row] or ():
                op, output = _split_tensor(str(tensor))
                if op in index:
                    src.append(index[op]), dst.append(dst_op), out.append(output)
            for op in controls[row] or ():
                op = str(op).lstrip("^")
                if op in index:
                    src.append(index[op]), dst.append(dst_op), out.append(-1)
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
        return np.array(
            [self._op_index[n] for n in names if n in self._op_index], dtype=np.int64
        )

    def is_op(self, name: str) -> bool:
        return name in self._op_index

    def is_scope(self, name: str) -> bool:
        return name.rstrip("/") in self._scope_index and name.rstrip("/") != ROOT

    def scope_of(self, op_name: str) -> str:
        """The scope an op is drawn in (``""`` for the top level)."""
        return self.scope_names[int(self.op_parent[self.op_index(op_name)])]

    def ancestors(self, name: str) -> list[str]:
        """The scopes enclosing an op or scope, outermost first, without the top level.

        >>> h.ancestors("layer1/W/Assign")                        # doctest: +SKIP
        ['layer1', 'layer1/W']
        """
        if name in self._op_index:
            scope = int(self.op_parent[self._op_index[name]])
        else:
            scope = int(self.scope_parent[self._scope(name)])
        chain = []
        while scope > 0:
            chain.append(self.scope_names[scope])
            scope = int(self.scope_parent[scope])
        return chain[::-1]

    def op_count(self, scope: str) -> int:
        """Number of ops below a scope, at any depth (the whole graph for ``""``)."""
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
        """Every op below ``scope``, at any depth."""
        i = self._scope(scope)
        start, stop = self.scope_op_start[i], self.scope_op_start[self.scope_end[i]]
        return self.op_names[start:stop]

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
            self._scope(scope)
        representative = self._scope_representatives(open_set)
        items, children, item_of_op = self._visible_items(representative)
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

    def _visible_items(self, representative: np.ndarray):
        items: list[VisibleItem] = []
        children: dict[str, list[str]] = {}
        scope_item = np.full(len(self.scope_names), -1, dtype=np.int64)
        op_item = np.full(len(self.op_names), -1, dtype=np.int64)

        def visit(scope: int, container_id: str, depth: int) -> None:
            ids = children.setdefault(container_id, [])
            for child in self.child_scopes(self.scope_names[scope]):
                c = self._scope_index[child]
                is_open = bool(representative[c] < 0)
                scope_item[c] = len(items)
                items.append(
                    VisibleItem(
                        id=scope_id(child),
                        kind="scope",
                        name=child,
                        label=child.rsplit("/", 1)[-1],
                        container=container_id,
                        depth=depth,
                        expanded=is_open,
                        op_count=int(self.scope_op_count[c]),
                    )
                )
                ids.append(scope_id(child))
                if is_open:
                    visit(c, scope_id(child), depth + 1)
            start, stop = self.scope_op_start[scope], self.scope_op_start[scope + 1]
            for op in range(start, stop):
                name = self.op_names[op]
                op_item[op] = len(items)
                items.append(
                    VisibleItem(
                        id=name,
                        kind="op",
                        name=name,
                        label=name.rsplit("/", 1)[-1],
                        container=container_id,
                        depth=depth,
                        op_type=self.op_types[op],
                    )
                )
                ids.append(name)

        visit(0, "/", 0)
        hidden = op_item < 0
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
        pairs = np.unique(np.stack([bundle_of_edge, tensor]), axis=1)
        tensor_counts = np.bincount(pairs[0], minlength=len(keys))
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
        """How many ops below ``scope`` fall in each category, given integer ``codes`` per op."""
        i = self._scope(scope)
        start, stop = self.scope_op_start[i], self.scope_op_start[self.scope_end[i]]
        return np.bincount(codes[start:stop], minlength=int(codes.max(initial=0)) + 1)

    # -- search and trace --------------------------------------------------------------
    def search(self, text: str, limit: int = 50) -> list[str]:
        """Op names matching ``text`` (case-insensitive substring), best first: the exact name,
        then names whose last part equals it, starts with it, then any other match.

        ``text`` may also be ``op:TYPE`` to find ops of a type (``op:MatMul``).
        """
        text = text.strip()
        if not text:
            return []
        if text.lower().startswith("op:"):
            wanted = text[3:].strip().lower()
            return [n for n, t in zip(self.op_names, self.op_types) if t.lower() == wanted][
                :limit
            ]
        needle = text.lower()
        ranked = []
        for i, name in enumerate(self.op_names):
            lower = name.lower()
            if needle not in lower:
                continue
            last = lower.rsplit("/", 1)[-1]
            rank = (
                0 if lower == needle else 1 if last == needle else 2 if last.startswith(needle) else 3
            )
            ranked.append((rank, name.count("/"), i))
        ranked.sort()
        return [self.op_names[i] for _, _, i in ranked[:limit]]

    def trace(
        self, name: str, direction: Literal["inputs", "outputs"] = "inputs"
    ) -> set[str]:
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


def _split_tensor(tensor: str) -> tuple[str, int]:
    """``"a/b:1"`` -> ``("a/b", 1)``; ``"a/b"`` -> ``("a/b", 0)``; ``"^a"`` -> ``("a", -1)``."""
    if tensor.startswith("^"):
        return tensor[1:], -1
    op, sep, output = tensor.rpartition(":")
    if sep and output.isdigit():
        return op, int(output)
    return tensor, 0
