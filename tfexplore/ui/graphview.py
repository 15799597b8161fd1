"""The logic behind the graph explorer widget, testable without a browser.

:class:`GraphExplorer` holds one graph's hierarchy, the set of expanded scopes and the current
layout, and answers everything the widget asks: expand or collapse a scope, the details of an
op, search, reveal, trace, collection members, colours and legend, and the function library:
:meth:`GraphExplorer.open_function` shows a function's body (its own hierarchy and layout) and
:meth:`GraphExplorer.back` returns, along a stack (main graph > f > g). The widget
(:class:`tfexplore.widgets.GraphView`) only mirrors its state into synced traits.

Example::

    >>> explorer = GraphExplorer("runs/mnist")                   # doctest: +SKIP
    >>> explorer.expand("layer1")                                # doctest: +SKIP
    >>> explorer.detail("layer1/MatMul")["inputs"]               # doctest: +SKIP
    [{'tensor': 'inputs/x:0', 'dtype': 'float32', 'shape': '(?, 3)'}, ...]
    >>> explorer.search("Adam")[:2]                              # doctest: +SKIP
    ['train/Adam', 'layer1/W/Adam']
    >>> explorer.open_function("__inference___call___62")        # doctest: +SKIP
    >>> explorer.function_stack, explorer.back()                 # doctest: +SKIP
    >>> explorer.overlay(checkpoint.stats().set_index("name")["l2"], scale="log")  # doctest: +SKIP
    >>> GraphExplorer("run1/model.ckpt-10", compare="run2/model.ckpt-10")  # doctest: +SKIP

This module is over 600 lines on purpose: one class whose parts (expansion, the function
library, details, overlays and the compare view) share its state (the graph shown, its
hierarchy and layout); the logic of each part lives below it (``scene/``, ``graph/diff.py``,
``ui/overlays.py``).
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ..errors import TensorNotFoundError, TFExploreError, UnrecognizedArtifactError
from ..graph.ops import VARIABLE_OPS
from ..graph.protos import gc_paused as _gc_paused
from ..scene.hierarchy import Hierarchy, VisibleGraph, _split_tensor, op_role, scope_id
from ..scene.layout import Layout, LayoutParams, layout
from ..scene.overlay import Overlay
from ..scene.palette import Palette

__all__ = ["GraphExplorer", "resolve_graph"]

COLOR_BY = ("op", "device", "role")
#: the margin (px) the widget keeps around what it brings into view (sent in the scene's params)
VIEW_MARGIN = 16
#: the order call attributes are listed in (others follow, by name)
CALL_ATTR_ORDER = {
    a: i for i, a in enumerate(["op", "f", "then_branch", "else_branch", "cond", "body"])
}


def resolve_graph(source: Any, storage_options: dict | None = None) -> tuple[Any, Any, Any]:
    """``(graph, meta_graph, checkpoint)`` for anything that holds a graph.

    ``source`` may be a path or a URL (opened with :func:`tfexplore.open`, which is given
    ``storage_options``), an artifact opened from either, a checkpoint folder (its
    latest checkpoint), a :class:`~tfexplore.artifacts.checkpoint.Checkpoint` (its ``.meta``
    graph, and its values for variables), a :class:`~tfexplore.artifacts.metagraph.MetaGraph`,
    a SavedModel, a :class:`~tfexplore.graph.Graph`, a ``tf.Graph`` or a ``GraphDef`` proto.
    """
    if isinstance(source, (str, os.PathLike)):
        from ..artifacts.open import open as open_artifact

        source = open_artifact(source, storage_options=storage_options)
    kind = getattr(source, "kind", "")
    if kind == "checkpoint_dir":
        if len(source) == 0 and source.meta_graph is not None:  # graphs without tensors
            source = source.meta_graph
        else:
            source = source.latest
        kind = source.kind
    checkpoint = source if kind == "checkpoint" else None
    meta_graph = getattr(source, "meta_graph", None) if kind != "meta_graph" else source
    if checkpoint is not None and meta_graph is None:
        raise UnrecognizedArtifactError(
            f"The checkpoint {str(checkpoint.path)!r} has no graph next to it.",
            path=checkpoint.path,
            expected=f"a {checkpoint.path.name}.meta file (written by tf.compat.v1.train.Saver)",
            hint="TF2 checkpoints hold no graph; open a SavedModel or .meta file instead",
        )
    if meta_graph is not None:
        return meta_graph.graph, meta_graph, checkpoint
    # on the class: the instance's ``nodes`` is a cached table, slow to build on large graphs
    if hasattr(type(source), "nodes"):
        return source, None, None
    if hasattr(type(getattr(source, "graph", None)), "nodes"):
        return source.graph, None, None
    graph_def = source.as_graph_def() if hasattr(source, "as_graph_def") else source
    if hasattr(graph_def, "node") and hasattr(graph_def, "DESCRIPTOR"):
        from ..graph.model import Graph

        return Graph(graph_def), None, None
    raise UnrecognizedArtifactError(
        f"Cannot show a graph of {type(source).__name__}.",
        expected="a path, checkpoint, MetaGraph, SavedModel, tfexplore Graph, tf.Graph or GraphDef",
        hint="pass tfexplore.open(path), or the path itself",
    )


@dataclass
class _GraphState:
    """What the explorer keeps per graph (the main graph, each opened function)."""

    graph: Any
    hierarchy: Hierarchy
    expanded: tuple[str, ...] | None = None  # None: not shown yet
    palettes: dict[str, Palette] = field(default_factory=dict)


class GraphExplorer:
    """One graph, some expanded scopes, and the layout of what is visible.

    The graph shown is the main graph, or the body of a library function opened with
    :meth:`open_function` (``function_stack`` lists the functions opened, outermost first;
    ``graph``, ``hierarchy``, ``expanded``, ``visible`` and ``layout`` are those of the graph
    shown). Each graph keeps its own expanded scopes while another one is shown.

    Args:
        source: what :func:`resolve_graph` accepts (a path or URL, an artifact, a graph).
        expanded: scopes open at the start (default: none; a lone top scope opens by itself).
        params: layout sizes and spacing.
        color_by: ``"op"`` (op type), ``"device"`` or ``"role"``.
        storage_options: for a URL ``source``: credentials and endpoint, given to fsspec.
        compare: a second graph (anything ``source`` may be): show the union of both,
            coloured by :func:`tfexplore.diff_graphs` (added, removed, changed,
            renamed); ``graph_diff`` holds the diff, :meth:`detail` both sides of an op.
    """

    def __init__(
        self,
        source: Any,
        *,
        expanded: Iterable[str] | None = None,
        params: LayoutParams | None = None,
        color_by: str = "op",
        storage_options: dict | None = None,
        compare: Any = None,
    ) -> None:
        self.graph_diff: Any = None
        self._overlay_spec: dict[str, Any] | None = None
        self._overlays: dict[str, Overlay] = {}
        self._diff_overlay = False  # the overlay is the compare view's diff
        self._only_changes = False
        if compare is not None:
            source = self._compare(source, compare, storage_options)
        self.graph, self.meta_graph, self.checkpoint = resolve_graph(source, storage_options)
        self.root_graph = self.graph
        self.params = params or LayoutParams()
        self.hierarchy = self._hierarchy(self.graph)
        self._palettes: dict[str, Palette] = {}
        self.function_stack: list[str] = []
        self._states: dict[str, _GraphState] = {}
        self.color_by = _check_color_by(color_by)
        self.expanded: tuple[str, ...] = ()
        self.visible: VisibleGraph
        self.layout: Layout
        self.set_expanded(self._initial_expanded() if expanded is None else expanded)
        if self.graph_diff is not None:
            self._overlay_diff()

    # -- expansion ---------------------------------------------------------------------
    def set_expanded(self, scopes: Iterable[str]) -> Layout:
        """Open exactly ``scopes`` (names, with or without the trailing ``/``) and lay out.

        On error (unknown scope, too many boxes) the previous state is kept.
        """
        wanted = tuple(sorted({s.rstrip("/") for s in scopes if s.rstrip("/")}))
        with _gc_paused():  # many small objects, no cycles: a collection would only cost
            visible = self.hierarchy.visible(wanted)
            placed = layout(self._filtered(visible), self.params)
        self.expanded, self.visible, self.layout = wanted, visible, placed
        return placed

    @property
    def only_changes(self) -> bool:
        """With an overlay of quiet categories (a compare view's ``same``): lay out only the
        boxes with something else inside, closed up (setting it lays out again)."""
        return self._only_changes

    @only_changes.setter
    def only_changes(self, value: bool) -> None:
        if bool(value) != self._only_changes:
            self._only_changes = bool(value)
            self.set_expanded(self.expanded)

    def _filtered(self, visible: VisibleGraph) -> VisibleGraph:
        """What is laid out: ``visible``, less the quiet boxes when :attr:`only_changes`
        (``self.visible`` stays whole: the overlay's counts are read from it)."""
        overlay = self.current_overlay if self._only_changes else None
        if overlay is None:
            return visible
        styles = overlay.item_styles(visible, only_changes=True)
        quiet = [item_id for item_id, style in styles.items() if style.get("quiet")]
        if len(quiet) == len(visible.items):  # nothing changed: an empty picture says less
            return visible
        return visible.without(quiet)

    def expand(self, scope: str) -> Layout:
        """Open ``scope`` and every scope around it."""
        name = scope.rstrip("/")
        return self.set_expanded({*self.expanded, *self.hierarchy.ancestors(name), name})

    def collapse(self, scope: str) -> Layout:
        """Close ``scope`` (its sub-scopes stay open, hidden, for when it opens again)."""
        name = scope.rstrip("/")
        if not self.hierarchy.is_container(name):
            raise self.hierarchy._not_found(name, what="scope")
        return self.set_expanded(s for s in self.expanded if s != name)

    def toggle(self, scope: str) -> Layout:
        """Expand ``scope`` if it is closed, else collapse it."""
        name = scope.rstrip("/")
        return self.collapse(name) if name in self.visible.expanded else self.expand(name)

    def reveal(self, name: str) -> str:
        """Open the scopes around op ``name`` (or scope ``name/``) so that it shows; return the
        id of its box."""
        if self.hierarchy.is_op(name):
            self.set_expanded({*self.expanded, *self.hierarchy.ancestors(name)})
            return self.visible.item_of(name)
        scope = name.rstrip("/")
        if not self.hierarchy.is_container(scope):
            raise self.hierarchy._not_found(name)
        self.set_expanded({*self.expanded, *self.hierarchy.ancestors(scope)})
        return scope_id(scope)

    def set_viewport(self, width: float, height: float) -> bool:
        """Lay out for a drawing area of ``width`` x ``height`` pixels (what the widget shows):
        a top level taller than the area shows at the smallest zoom the view allows is
        wrapped into bands side by side (:attr:`LayoutParams.aspect`,
        :attr:`LayoutParams.max_height`); folded chains take its shape
        (:attr:`LayoutParams.chain_aspect`). Returns whether the layout changed (a size
        within 15 % of the last one keeps it)."""
        if not (width > 0 and height > 0):
            return False
        aspect = round(width / height, 2)
        room = round((height - 2 * VIEW_MARGIN) / self.params.view_params()["min_scale"])
        old = self.params
        if (
            old.aspect
            and old.max_height
            and max(
                abs(math.log(aspect / old.aspect)), abs(math.log(max(room, 1) / old.max_height))
            )
            < math.log(1.15)
        ):
            return False
        self.params = replace(
            old,
            aspect=aspect,
            max_height=max(room, 1),
            chain_aspect=round(min(max(1 / aspect, 0.3), 1.5), 2),
        )
        self.set_expanded(self.expanded)
        return True

    def _initial_expanded(self) -> list[str]:
        """Open a lone top-level scope (and a lone scope inside it, ...), as TensorBoard does."""
        opened: list[str] = []
        scope = ""
        while True:
            scopes, ops = self.hierarchy.child_scopes(scope), self.hierarchy.child_ops(scope)
            if len(scopes) != 1 or ops:
                return opened
            scope = scopes[0]
            opened.append(scope)

    def _hierarchy(self, graph: Any) -> Hierarchy:
        limit = min(self.params.max_children, self.params.max_visible_nodes)
        return Hierarchy(graph, max_children=limit)

    # -- the function library ----------------------------------------------------------
    @property
    def current_function(self) -> str:
        """The name of the function shown, ``""`` for the main graph."""
        return self.function_stack[-1] if self.function_stack else ""

    def functions(self) -> list[dict[str, Any]]:
        """``[{'name', 'op_count'}]``: every function of the graph's library, by name."""
        if not hasattr(self, "_function_list"):
            library = getattr(self.root_graph, "functions", None) or {}
            self._function_list = [
                {"name": name, "op_count": _function_size(self.root_graph, name)}
                for name in sorted(library)
            ]
        return self._function_list

    def open_function(self, name: str, *, from_main: bool = False) -> Layout:
        """Show the body of library function ``name``, one level below the graph shown (a
        function already on the stack: back to it; ``from_main``: one level below the main
        graph). Raises :class:`~tfexplore.errors.TensorNotFoundError` for a name not in the
        library."""
        library = getattr(self.root_graph, "functions", None) or {}
        if name not in library:
            from ..errors import suggest

            raise TensorNotFoundError(
                f"The graph's library has no function named {name!r}.",
                expected=f"one of its {len(library)} functions (explorer.functions())",
                suggestions=suggest(name, list(library)),
            )
        stack = [] if from_main else self.function_stack
        wanted = stack[: stack.index(name) + 1] if name in stack else [*stack, name]
        return self._show_graph(wanted)

    def back(self, depth: int | None = None) -> Layout:
        """Return to the graph one level up, or to stack depth ``depth`` (0: the main graph,
        1: the first function opened, ...)."""
        keep = len(self.function_stack) - 1 if depth is None else depth
        return self._show_graph(self.function_stack[: max(keep, 0)])

    def _show_graph(self, stack: list[str]) -> Layout:
        current = self._states.setdefault(
            self.current_function, _GraphState(self.graph, self.hierarchy)
        )
        current.expanded, current.palettes = self.expanded, self._palettes
        key = stack[-1] if stack else ""
        if key not in self._states:
            graph = self.root_graph.functions[key]
            self._states[key] = _GraphState(graph, self._hierarchy(graph))
        state = self._states[key]
        self.function_stack = list(stack)
        self.graph, self.hierarchy, self._palettes = state.graph, state.hierarchy, state.palettes
        expanded = self._initial_expanded() if state.expanded is None else state.expanded
        return self.set_expanded(expanded)

    def calls(self, name: str) -> list[dict[str, Any]]:
        """The library functions op ``name`` calls: ``[{'attr', 'name', 'op_count'}]``
        (``attr`` is ``op`` when its type is a function, else the attribute naming it:
        ``f``, ``then_branch``, ``else_branch``, ``cond``, ``body``, ``branches`` ...)."""
        library = getattr(self.root_graph, "functions", None) or {}
        if not library:
            return []
        found: list[tuple[str, str]] = []
        op_type = self.hierarchy.op_types[self.hierarchy.op_index(name)]
        if op_type in library:
            found.append(("op", op_type))
        attrs = self.graph.node_attrs(name) if hasattr(self.graph, "node_attrs") else {}
        for attr, value in attrs.items():
            values = value if isinstance(value, (list, tuple)) else [value]
            found += [(attr, v) for v in values if isinstance(v, str) and v in library]
        found.sort(key=lambda pair: CALL_ATTR_ORDER.get(pair[0], len(CALL_ATTR_ORDER)))
        return [
            {"attr": attr, "name": f, "op_count": _function_size(self.root_graph, f)}
            for attr, f in dict.fromkeys(found)
        ]

    # -- questions ---------------------------------------------------------------------
    def search(self, text: str, limit: int = 50) -> list[str]:
        """Op names matching ``text``, best first (see :meth:`Hierarchy.search`)."""
        return self.hierarchy.search(text, limit=limit)

    @staticmethod
    def search_note(text: str, matches: list[str], limit: int = 50) -> str:
        """What the search box says about ``matches`` of ``text``: ``no match for 'xyz'``,
        ``1 match``, ``12 matches``, ``50+ matches``; ``""`` for an empty search."""
        if not text.strip():
            return ""
        if not matches:
            return f"no match for {text.strip()!r}"
        count = f"{limit}+" if len(matches) >= limit else str(len(matches))
        return f"{count} match" + ("" if count == "1" else "es")

    def trace(
        self, name: str, direction: Literal["inputs", "outputs"] = "inputs"
    ) -> tuple[set[str], list[str], list[int]]:
        """What ``name`` depends on (or what depends on it): the ops, the visible boxes that
        show them (collapsed scopes included) and the indices of the visible edges on the way."""
        ops = self.hierarchy.trace(name, direction)
        return ops, self.visible.items_of(ops), self.visible.edges_within(ops)

    def collection_members(self, collection: str) -> list[str]:
        """The ops of the graph a MetaGraph collection names (tensors and variables included
        by their op); raises :class:`~tfexplore.errors.TensorNotFoundError` for a collection
        the graph does not have."""
        table = self._collections()
        if collection not in table:
            from ..errors import TensorNotFoundError

            raise TensorNotFoundError(
                f"No collection named {collection!r}.",
                expected="one of " + ", ".join(sorted(table))
                if table
                else "a MetaGraph collection",
                suggestions=[c for c in table if collection.lower() in c.lower()],
            )
        return table[collection]

    def collections(self) -> list[dict[str, Any]]:
        """``[{'name', 'count'}]``: every collection that names ops of the graph."""
        return [{"name": k, "count": len(v)} for k, v in sorted(self._collections().items()) if v]

    def _collections(self) -> dict[str, list[str]]:
        if self.function_stack:  # collections name ops of the main graph only
            return {}
        if not hasattr(self, "_collection_ops"):
            members: dict[str, list[str]] = {}
            if self.meta_graph is not None:
                for name, values in self.meta_graph.collections.items():
                    ops = [_split_tensor(str(v).lstrip("^"))[0] for v in values]
                    members[name] = list(dict.fromkeys(o for o in ops if self.hierarchy.is_op(o)))
            self._collection_ops = members
        return self._collection_ops

    # -- details -----------------------------------------------------------------------
    def detail(self, name: str) -> dict[str, Any]:
        """Everything worth showing about an op (or a scope, given as ``name/`` or a name
        that is only a scope), as JSON-ready plain data."""
        h = self.hierarchy
        if name.endswith("/") or (not h.is_op(name) and h.is_container(name)):
            detail = self._scope_detail(name.rstrip("/"))
            detail["overlay"] = self._overlay_detail(name.rstrip("/"), scope=True)
            return detail
        row = self._row(name)
        consumers = h.consumers(name)
        dtypes, shapes = row["output_dtypes"] or [], row["output_shapes"] or []
        outputs = [
            {
                "tensor": f"{name}:{i}",
                "dtype": _text(dtypes[i] if i < len(dtypes) else None),
                "shape": _shape(shapes[i] if i < len(shapes) else None),
                "consumers": consumers.get(i, []),
            }
            for i in range(max(len(dtypes), max(consumers, default=-1) + 1))
        ]
        return {
            "kind": "op",
            "name": name,
            "op": str(row["op"]),
            "device": str(row["device"] or ""),
            "scope": name.rpartition("/")[0],
            "role": op_role(name, str(row["op"])),
            "attrs": self._attrs(name, row),
            "inputs": [self._input(t) for t in row["inputs"] or []],
            "control_inputs": [str(c) for c in row["control_inputs"] or []],
            "outputs": outputs,
            "control_consumers": consumers.get(-1, []),
            "collections": [c for c, ops in self._collections().items() if name in ops],
            "function": _text(row.get("function")),
            "calls": self.calls(name),
            "variable": self._variable_summary(name, str(row["op"])),
            "overlay": self._overlay_detail(name, scope=False),
            "compare": self._compare_detail(name),
        }

    def _row(self, name: str):
        """The ``nodes`` row of op ``name``, built for that one op (the full table summarises
        every attribute of every op, which is slow on large graphs)."""
        row = int(self.hierarchy.source_row[self.hierarchy.op_index(name)])
        frame_of = getattr(self.graph, "node_frame", None)
        if frame_of is None:
            return self.hierarchy.nodes.iloc[row]
        return frame_of(rows=[row]).iloc[0]

    def _scope_detail(self, scope: str) -> dict[str, Any]:
        h = self.hierarchy
        group = h.group(scope)
        types = Counter(h.op_types[i] for i in h._op_range(scope).tolist())
        detail = {
            "kind": "group" if group is not None else "scope",
            "name": scope,
            "op_count": h.op_count(scope),
            "expanded": scope in self.visible.expanded,
            "child_scopes": [] if group is not None else h.child_scopes(scope),
            "op_types": dict(types.most_common(12)),
        }
        if group is not None:
            children = h.children(scope)
            detail["label"] = group.label
            detail["group_kind"] = group.kind
            detail["children"] = len(children)
            detail["first_children"] = [c[len(scope) + 1 :] for c in children[:12]]
        return detail

    def _input(self, tensor: str) -> dict[str, Any]:
        op, output = _split_tensor(str(tensor))
        dtype = shape = None
        if self.hierarchy.is_op(op):
            source = self._row(op)
            dtypes, shapes = source["output_dtypes"] or [], source["output_shapes"] or []
            dtype = dtypes[output] if 0 <= output < len(dtypes) else None
            shape = shapes[output] if 0 <= output < len(shapes) else None
        return {"tensor": str(tensor), "op": op, "dtype": _text(dtype), "shape": _shape(shape)}

    def _attrs(self, name: str, row) -> dict[str, str] | str:
        reader = getattr(self.graph, "node_attrs", None)
        if reader is None:
            return str(row.get("attrs") or "")
        return {str(k): _short(v) for k, v in reader(name).items()}

    def _variable_summary(self, name: str, op_type: str) -> dict[str, Any] | None:
        """Shape, dtype and statistics of a variable's value in the loaded checkpoint."""
        if op_type not in VARIABLE_OPS or self.checkpoint is None or self.function_stack:
            return None
        table = self.checkpoint.variables
        rows = table[table["name"] == name]
        if rows.empty:
            return {"in_checkpoint": False}
        row = rows.iloc[0]
        summary: dict[str, Any] = {
            "in_checkpoint": True,
            "shape": _shape(row["shape"]),
            "dtype": str(row["dtype"]),
        }
        try:
            from ..stats import tensor_stats

            stats = tensor_stats(self.checkpoint.read(name))
        except TFExploreError as exc:  # a missing shard: say so, keep the rest
            summary["error"] = exc.message
            return summary
        summary.update({k: _number(v) for k, v in stats.items()})
        return summary

    # -- overlays and the compare view -------------------------------------------------
    def overlay(
        self,
        series: Any,
        *,
        scale: str = "linear",
        agg: str = "mean",
        title: str | None = None,
        colors: dict[str, Any] | None = None,
        bins: int = 7,
        center: float = 0.0,
        domain: tuple[float, float] | None = None,
        quiet: Iterable[str] = (),
    ) -> Overlay:
        """Colour the ops by ``series`` (a pandas Series keyed by op names or checkpoint
        variable keys): numbers on a ``linear``, ``log`` or ``diverging`` scale, strings as
        categories; a collapsed scope shows the ``agg`` (``mean``, ``max``, ``min``, ``sum``)
        of the ops inside it. See :class:`tfexplore.scene.overlay.Overlay` (and its module
        for how names match ops, the bins and the palettes). Returns the overlay
        (``.unmatched``: the keys that named no op). Example::

            >>> norms = checkpoint.stats().set_index("name")["l2"]         # doctest: +SKIP
            >>> explorer.overlay(norms, scale="log", agg="max", title="norm")   # doctest: +SKIP
        """
        spec = {
            "series": series,
            "scale": scale,
            "agg": agg,
            "title": title,
            "colors": colors,
            "bins": bins,
            "center": center,
            "domain": domain,
            "quiet": tuple(quiet),
        }
        built = Overlay.build(self.hierarchy, **spec)  # checks the options before keeping them
        self._overlay_spec, self._overlays = spec, {self.current_function: built}
        self._diff_overlay = False
        if self._only_changes:  # what is quiet depends on the overlay
            self.set_expanded(self.expanded)
        return built

    def clear_overlay(self) -> None:
        """Back to the colours of ``color_by`` (a compare view: back to its diff colours)."""
        self._overlay_spec, self._overlays = None, {}
        if self.graph_diff is not None:
            self._overlay_diff()  # lays out again itself when only_changes
        elif self._only_changes:
            self.set_expanded(self.expanded)

    def overlay_stats(self, checkpoint: Any, column: str = "norm", **options: Any) -> Overlay:
        """See :func:`tfexplore.ui.overlays.overlay_stats`."""
        from .overlays import overlay_stats

        return overlay_stats(self, checkpoint, column, **options)

    def overlay_diff(self, old: Any, new: Any, **options: Any) -> Overlay:
        """See :func:`tfexplore.ui.overlays.overlay_diff`."""
        from .overlays import overlay_diff

        return overlay_diff(self, old, new, **options)

    def overlay_restore(self, report: Any, **options: Any) -> Overlay:
        """See :func:`tfexplore.ui.overlays.overlay_restore`."""
        from .overlays import overlay_restore

        return overlay_restore(self, report, **options)

    def overlay_scan(self, report: Any, **options: Any) -> Overlay:
        """See :func:`tfexplore.ui.overlays.overlay_scan`."""
        from .overlays import overlay_scan

        return overlay_scan(self, report, **options)

    @property
    def current_overlay(self) -> Overlay | None:
        """The overlay on the graph shown (built for a function's body when first shown)."""
        if self._overlay_spec is None:
            return None
        key = self.current_function
        if key not in self._overlays:
            spec = self._overlay_spec
            if key and self._diff_overlay:  # a function of a compare view: its own diff
                spec = {**spec, "series": self._function_status(key)}
            self._overlays[key] = Overlay.build(self.hierarchy, **spec)
        return self._overlays[key]

    def _function_status(self, name: str) -> Any:
        """The diff status of each op of function ``name`` (its ``b`` name) of a compare view;
        empty (no colours) for a function the diff did not pair."""
        import pandas as pd

        try:
            return self.graph_diff.function_diff(name).status
        except TFExploreError:
            return pd.Series([], dtype=object, name="status")

    def overlay_legend(self) -> dict[str, Any]:
        """The legend of the overlay shown (``{}`` without one); see :meth:`Overlay.legend`."""
        overlay = self.current_overlay
        return {} if overlay is None else overlay.legend(self.visible)

    def _compare(self, a: Any, b: Any, storage_options: dict | None) -> Any:
        """Diff graphs ``a`` and ``b``; the graph to show: their union."""
        from ..graph.diff import diff

        graph_a = resolve_graph(a, storage_options)[0]
        graph_b = resolve_graph(b, storage_options)[0]
        self.graph_diff = diff(graph_a, graph_b)
        return self.graph_diff.union_graph_def()

    def _overlay_diff(self) -> None:
        from ..scene.overlay import STATUS_COLORS

        statuses = ("same", "added", "removed", "changed", "renamed")  # the legend's order
        colors = {s: STATUS_COLORS[s] for s in statuses}
        self.overlay(self.graph_diff.status, title="graph diff", quiet=("same",), colors=colors)
        self._diff_overlay = True  # functions opened get their own diff's colours

    def _compare_detail(self, name: str) -> dict[str, Any] | None:
        """Both sides of op ``name`` of a compare view: ``status``, ``detail``, ``changes``
        and ``rows`` ``[{'key', 'a', 'b', 'changed'}]`` (name, op, device, inputs, then each
        attribute as ``attr:<key>``; ``None`` on a side where the op is absent)."""
        if self.graph_diff is None:
            return None
        diff = self.graph_diff
        if self.function_stack:  # a function's body: the diff of its two bodies, if paired
            try:
                diff = diff.function_diff(self.current_function)
            except TFExploreError:
                return None
        sides = diff.side_by_side(name)
        a, b = sides.get("a"), sides.get("b")
        changes = [str(c) for c in sides.get("changes") or []]
        flat_a, flat_b = _flat_side(a), _flat_side(b)
        keys = list(dict.fromkeys([*flat_a, *flat_b]))
        return {
            "status": str(sides.get("status") or ""),
            "detail": str(sides.get("detail") or ""),
            "changes": changes,
            "rows": [
                {
                    "key": k,
                    "a": flat_a.get(k) if a is not None else None,
                    "b": flat_b.get(k) if b is not None else None,
                    "changed": k in changes
                    or (a is not None and b is not None and flat_a.get(k) != flat_b.get(k)),
                }
                for k in keys
            ],
        }

    def _overlay_detail(self, name: str, scope: bool) -> dict[str, Any] | None:
        overlay = self.current_overlay
        if overlay is None:
            return None
        if scope:
            return {
                "title": overlay.title,
                "value": overlay.describe(self.hierarchy._op_range(name)),
            }
        value = overlay.op_value(name)
        text = "no value" if value is None else overlay.format(value)
        return {"title": overlay.title, "value": text}

    # -- what the widget draws ---------------------------------------------------------
    def palette(self, color_by: str | None = None) -> Palette:
        key = _check_color_by(color_by or self.color_by)
        if key not in self._palettes:
            self._palettes[key] = Palette.build(self.hierarchy, key)
        return self._palettes[key]

    def scene(self) -> dict[str, Any]:
        """The current layout as plain data, each box with its colours (``fill``, ``mix``,
        ``category``): what the widget sends to the browser."""
        with _gc_paused():
            data = self.layout.to_dict()
            overlay = self.current_overlay
            if overlay is None:
                styles = self.palette().item_colors(self.visible)
            else:
                styles = overlay.item_styles(self.visible, only_changes=self.only_changes)
            for box in data["boxes"]:
                box.update(styles.get(box["id"], {}))
            if overlay is not None:
                _place_overlay_texts(data, self.params)
        data["overlay"] = overlay is not None
        data["expanded"] = list(self.expanded)
        data["function"] = self.current_function
        data["params"]["margin"] = VIEW_MARGIN
        return data

    def legend(self) -> list[dict[str, Any]]:
        return self.palette().legend()

    def to_svg(self, **options: Any) -> str:
        """A static SVG picture of the current layout (see :func:`tfexplore.scene.svg.to_svg`)."""
        from ..scene.svg import to_svg

        overlay = self.current_overlay
        styles = (
            self.palette().item_colors(self.visible)
            if overlay is None
            else overlay.item_styles(self.visible)
        )
        return to_svg(self.layout, styles=styles, **options)


def _place_overlay_texts(data: dict[str, Any], params: LayoutParams) -> None:
    """A collapsed scope writes its overlay text (``mean 0.42``, ``4 changed``) where its op
    count goes, cut to its width; edges to a ``quiet`` box are ``quiet`` too."""
    small = params.char_width * params.small_font_size / params.font_size
    quiet = set()
    for box in data["boxes"]:
        if box.get("quiet"):
            quiet.add(box["id"])
        text = box.get("overlay_text")
        if text and box["kind"] != "op" and not box["expanded"]:
            room = max(int((box["width"] - 8) // small), 1)
            if len(text) > room and box.get("overlay_value") is None:
                text = "–"  # "no value", where it does not fit
            box["count_text"] = text if len(text) <= room else text[: max(room - 1, 1)] + "…"
    for edge in data["edges"]:
        edge["quiet"] = edge["src"] in quiet or edge["dst"] in quiet
    shown = [b for b in data["boxes"] if b["id"] not in quiet]
    if quiet and shown:  # what "only changes" leaves: the widget fits this
        left, top = min(b["x"] for b in shown), min(b["y"] for b in shown)
        right = max(b["x"] + b["width"] for b in shown)
        bottom = max(b["y"] + b["height"] for b in shown)
        data["shown_bounds"] = {"x": left, "y": top, "width": right - left, "height": bottom - top}


def _flat_side(side: dict[str, Any] | None) -> dict[str, str | None]:
    """One side of :meth:`GraphDiff.side_by_side` as rows of text (attributes one by one)."""
    if not side:
        return {}
    rows = {k: _side_text(side.get(k)) for k in ("name", "op", "device", "inputs")}
    for key, value in sorted((side.get("attrs") or {}).items()):
        rows[f"attr:{key}"] = _side_text(value)
    return rows


def _side_text(value: Any) -> str | None:
    """One side of a compared op's field, as text (lists joined, long texts cut)."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return _short(", ".join(str(v) for v in value)) if value else "–"
    if isinstance(value, dict):
        return _short(", ".join(f"{k}={v}" for k, v in value.items())) if value else "–"
    return _short(value)


def _function_size(graph: Any, name: str) -> int:
    """Ops in function ``name``'s body (arguments and results included), without building
    its graph when the FunctionDef is at hand."""
    if hasattr(graph, "function_size"):
        return graph.function_size(name)
    return len(graph.functions[name])


def _check_color_by(color_by: str) -> str:
    if color_by not in COLOR_BY:
        raise TFExploreError(
            f"Cannot colour by {color_by!r}.",
            expected="one of " + ", ".join(repr(c) for c in COLOR_BY),
            hint="color_by='op' colours by op type, 'device' by device, 'role' by what ops do",
        )
    return color_by


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _shape(shape: Any) -> str | None:
    """``(None, 3)`` -> ``'(?, 3)'``; unknown rank -> ``None``."""
    if shape is None:
        return None
    dims = ", ".join("?" if d is None or d == -1 else str(d) for d in shape)
    return f"({dims},)" if len(shape) == 1 else f"({dims})"


def _short(value: Any, limit: int = 120) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _number(value: Any) -> Any:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(number):
        return str(number)
    return int(number) if number.is_integer() and abs(number) < 2**53 else number
