"""``GraphView``: a point-and-click graph explorer for Jupyter (an anywidget).

The widget holds synced traits only; every answer comes from a
:class:`~tfexplore.explorer.GraphExplorer`. The browser draws the layout it is sent (SVG), and
asks for changes by setting traits (``selected``, ``search_query``, ``color_by``,
``collection``, ``current_function``) or sending small messages (expand/collapse, reveal,
trace, open a function's body, go back).

Example::

    >>> import tfexplore
    >>> view = tfexplore.GraphView("runs/mnist")          # doctest: +SKIP
    >>> view                                              # doctest: +SKIP
    >>> view.expand("layer1"); view.select("layer1/MatMul")   # doctest: +SKIP
    >>> view.detail["inputs"]                             # doctest: +SKIP
    >>> view.trace("loss/mse", "inputs")                  # doctest: +SKIP
    >>> view.functions[:1]                                # doctest: +SKIP
    [{'name': '__inference___call___62', 'op_count': 15}]
    >>> view.open_function("__inference___call___62"); view.back()   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import anywidget
import traitlets

from ..errors import TFExploreError
from ..explorer import COLOR_BY, GraphExplorer
from ..layout import LayoutParams

__all__ = ["GraphView"]

_HERE = Path(__file__).parent


class GraphView(anywidget.AnyWidget):
    """Explore a graph collapsed by name scope: click a scope to open it, a node to see its
    details; search, trace, colour by op type, device or role, highlight a collection; browse
    the function library (a call node opens its function's body, a breadcrumb leads back).

    Args:
        source: a path, an artifact (checkpoint, MetaGraph, SavedModel) or a graph.
        expanded: scopes to open at the start.
        color_by: ``"op"``, ``"device"`` or ``"role"``.
        height: height of the drawing area in pixels.
        params: :class:`~tfexplore.layout.LayoutParams` for sizes and spacing.
    """

    _esm = _HERE / "graphview.js"
    _css = _HERE / "graphview.css"

    scene = traitlets.Dict().tag(sync=True)
    expanded = traitlets.List(traitlets.Unicode()).tag(sync=True)
    selected = traitlets.Unicode("").tag(sync=True)
    detail = traitlets.Dict().tag(sync=True)
    search_query = traitlets.Unicode("").tag(sync=True)
    matches = traitlets.List(traitlets.Unicode()).tag(sync=True)
    highlight = traitlets.List(traitlets.Unicode()).tag(sync=True)
    highlight_edges = traitlets.List(traitlets.Int()).tag(sync=True)
    color_by = traitlets.Enum(COLOR_BY, default_value="op").tag(sync=True)
    legend = traitlets.List(traitlets.Dict()).tag(sync=True)
    collections = traitlets.List(traitlets.Dict()).tag(sync=True)
    collection = traitlets.Unicode("").tag(sync=True)
    #: ``{"id": item id, "seq": n}``: the browser centres on ``id`` whenever ``seq`` changes
    focus = traitlets.Dict().tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    height = traitlets.Int(560).tag(sync=True)
    #: ``[{"name", "op_count"}]``: the graph's function library, by name
    functions = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: the function whose body is shown; ``""`` for the main graph (set it to switch)
    current_function = traitlets.Unicode("").tag(sync=True)
    #: the functions opened, outermost first (the breadcrumb: main graph > f > g)
    function_stack = traitlets.List(traitlets.Unicode()).tag(sync=True)

    def __init__(
        self,
        source: Any,
        *,
        expanded: list[str] | None = None,
        color_by: str = "op",
        height: int = 560,
        params: LayoutParams | None = None,
        **kwargs: Any,
    ) -> None:
        self.explorer = GraphExplorer(source, expanded=expanded, params=params, color_by=color_by)
        super().__init__(color_by=color_by, height=height, **kwargs)
        self.functions = self.explorer.functions()
        self._show()
        self.on_msg(self._on_message)

    # -- Python API --------------------------------------------------------------------
    def expand(self, scope: str) -> None:
        """Open ``scope`` (and the scopes around it)."""
        self._apply(lambda: self.explorer.expand(scope))

    def collapse(self, scope: str) -> None:
        """Close ``scope``."""
        self._apply(lambda: self.explorer.collapse(scope))

    def select(self, name: str) -> dict[str, Any]:
        """Select op (or scope ``name/``) ``name``: sets ``selected`` and ``detail``; returns
        the detail dict (op type, device, attrs, inputs and outputs with dtypes and shapes,
        consumers, collections, the variable's value summary)."""
        self.selected = name
        return self.detail

    def search(self, text: str) -> list[str]:
        """Find ops whose name contains ``text`` (or ``op:TYPE``); reveal and select the best
        match. Returns the matches, best first."""
        self.search_query = text
        return list(self.matches)

    def reveal(self, name: str) -> None:
        """Open the scopes around ``name``, select it and centre the view on it."""
        item_id = self._apply(lambda: self.explorer.reveal(name))
        self.selected = name
        self._focus(item_id)

    def trace(self, name: str, direction: Literal["inputs", "outputs"] = "inputs") -> set[str]:
        """Highlight what ``name`` depends on (``"inputs"``) or what depends on it
        (``"outputs"``), across collapsed scopes. Returns the op names."""
        ops, items, edges = self.explorer.trace(name, direction)
        self._trace = (name, direction)
        self.collection = ""
        self.highlight, self.highlight_edges = items, edges
        return ops

    def clear_highlight(self) -> None:
        """Remove a trace or collection highlight."""
        self._trace = None
        self.collection = ""
        self.highlight, self.highlight_edges = [], []

    def open_function(self, name: str) -> None:
        """Show the body of library function ``name`` (one level below the graph shown)."""
        self._switch(lambda: self.explorer.open_function(name))

    def back(self, depth: int | None = None) -> None:
        """Return to the graph one level up (``depth=0``: the main graph)."""
        self._switch(lambda: self.explorer.back(depth))

    def to_svg(self) -> str:
        """The current picture as SVG text (what a saved notebook shows without a kernel)."""
        return self.explorer.to_svg(
            highlight=self.highlight, highlight_edges=self.highlight_edges, selected=self.selected
        )

    def _repr_mimebundle_(self, **kwargs: Any):
        bundle = super()._repr_mimebundle_(**kwargs)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        if data is not None:
            data["text/html"] = f"<div class='tfexplore-graph-static'>{self.to_svg()}</div>"
        return bundle

    # -- syncing -----------------------------------------------------------------------
    _trace: tuple[str, str] | None = None

    def _apply(self, change: Callable[[], Any]) -> Any:
        """Run an explorer change and show the result; on failure show the error in the
        widget (and raise it)."""
        try:
            result = change()
        except TFExploreError as exc:
            self.error = str(exc)
            raise
        self.error = ""
        self._show()
        return result

    def _show(self) -> None:
        """Send the explorer's current state to the browser."""
        with self.hold_sync():
            self.scene = self.explorer.scene()
            self.expanded = list(self.explorer.expanded)
            self.legend = self.explorer.legend()
            self.collections = self.explorer.collections()
            self.function_stack = list(self.explorer.function_stack)
            self.current_function = self.explorer.current_function
            self._refresh_highlight()

    def _switch(self, change: Callable[[], Any]) -> None:
        """Show another graph (a function body, or back): selection and highlights go."""
        with self.hold_sync():
            self._trace = None
            self.collection = ""
            self.highlight, self.highlight_edges = [], []
            self.matches = []
            self._apply(change)
            self.selected = ""

    def _refresh_highlight(self) -> None:
        if self._trace is not None:
            _, self.highlight, self.highlight_edges = self.explorer.trace(*self._trace)
        elif self.collection:
            members = self.explorer.collection_members(self.collection)
            self.highlight = self.explorer.visible.items_of(members)
            self.highlight_edges = []

    def _focus(self, item_id: str) -> None:
        self.focus = {"id": item_id, "seq": int(self.focus.get("seq", 0)) + 1}

    @traitlets.observe("expanded")
    def _expanded_changed(self, change) -> None:
        if tuple(change["new"]) != self.explorer.expanded:
            try:
                self._apply(lambda: self.explorer.set_expanded(change["new"]))
            except TFExploreError:
                self.expanded = list(self.explorer.expanded)

    @traitlets.observe("current_function")
    def _current_function_changed(self, change) -> None:
        name = change["new"]
        if name == self.explorer.current_function:
            return
        try:  # chosen from the list: straight from the main graph
            if name:
                self._switch(lambda: self.explorer.open_function(name, from_main=True))
            else:
                self._switch(lambda: self.explorer.back(0))
        except TFExploreError:  # shown in the widget
            self.current_function = self.explorer.current_function

    @traitlets.observe("selected")
    def _selected_changed(self, change) -> None:
        name = change["new"]
        try:
            self.detail = self.explorer.detail(name) if name else {}
        except TFExploreError as exc:
            self.error = str(exc)
            self.detail = {}
            raise
        self.error = ""

    @traitlets.observe("search_query")
    def _search_changed(self, change) -> None:
        self.matches = self.explorer.search(change["new"])
        if self.matches:
            self.reveal(self.matches[0])

    @traitlets.observe("color_by")
    def _color_by_changed(self, change) -> None:
        self.explorer.color_by = change["new"]
        self._show()

    @traitlets.observe("collection")
    def _collection_changed(self, change) -> None:
        if change["new"]:
            self._trace = None
            members = self.explorer.collection_members(change["new"])
            self.highlight = self.explorer.visible.items_of(members)
            self.highlight_edges = []
        elif self._trace is None:
            self.highlight, self.highlight_edges = [], []

    def _on_message(self, widget, content, buffers) -> None:
        """Messages from the browser: ``toggle``, ``reveal``, ``trace``, ``clear``,
        ``open_function``, ``back``."""
        action = content.get("action")
        try:
            if action == "toggle":
                self._apply(lambda: self.explorer.toggle(content["id"]))
            elif action == "reveal":
                self.reveal(content["name"])
            elif action == "trace":
                self.trace(content["name"], content.get("direction", "inputs"))
            elif action == "clear":
                self.clear_highlight()
            elif action == "open_function":
                self.open_function(content["name"])
            elif action == "back":
                self.back(content.get("depth"))
        except TFExploreError as exc:  # shown in the widget; nothing to raise to
            self.error = str(exc)
