"""``GraphView``: a point-and-click graph explorer for Jupyter (an anywidget).

The widget holds synced traits only; every answer comes from a
:class:`~tfexplore.ui.graphview.GraphExplorer`. The browser draws the layout it is sent (SVG), and
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

Overlays and the compare view::

    >>> norms = checkpoint.stats().set_index("name")["l2"]            # doctest: +SKIP
    >>> view.overlay(norms, scale="log", agg="max", title="norm")     # doctest: +SKIP
    >>> view.overlay_stats(checkpoint, "norm"); view.clear_overlay()   # doctest: +SKIP
    >>> view.overlay_diff(old_checkpoint, new_checkpoint)             # doctest: +SKIP
    >>> diff_view = GraphView("run1/model.ckpt-10", compare="run2/model.ckpt-10")  # doctest: +SKIP
    >>> diff_view.only_changes = True                                 # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import anywidget
import traitlets

from ..errors import TFExploreError
from ..scene.layout import LayoutParams
from ..ui.graphview import COLOR_BY, GraphExplorer

__all__ = ["GraphView"]

_HERE = Path(__file__).parent

#: run by the browser beside the static picture (KEY: the model id), see
#: :meth:`GraphView._ipython_display_`
_STATIC_SCRIPT = """(function () {
  var key = "KEY", stateful = false, i;
  var views = document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]');
  for (i = 0; i < views.length; i++) {
    try { if (JSON.parse(views[i].textContent).model_id === key) stateful = true; } catch (e) {}
  }
  var initial = document.querySelectorAll('[data-tfx-initial="' + key + '"]');
  var live = document.querySelector('[data-tfx-live="' + key + '"]');
  var show = !live && (stateful || initial.length > 0);
  var pictures = document.querySelectorAll('[data-tfx-static="' + key + '"]');
  for (i = 0; i < pictures.length; i++) pictures[i].style.display = show ? "block" : "none";
  if (show) for (i = 0; i < initial.length; i++) initial[i].style.display = "none";
})();"""


class GraphView(anywidget.AnyWidget):
    """Explore a graph collapsed by name scope: click a scope to open it, a node to see its
    details; search, trace, colour by op type, device or role, highlight a collection; browse
    the function library (a call node opens its function's body, a breadcrumb leads back).

    Args:
        source: a path or URL (``s3://bucket/run``), an artifact (checkpoint, MetaGraph,
            SavedModel) or a graph.
        expanded: scopes to open at the start.
        color_by: ``"op"``, ``"device"`` or ``"role"``.
        height: height of the drawing area in pixels.
        params: :class:`~tfexplore.scene.layout.LayoutParams` for sizes and spacing.
        storage_options: for a URL ``source``: credentials and endpoint, given to fsspec.
        compare: a second graph: draw the union of ``source`` and ``compare`` coloured by what
            changed (added, removed, changed, renamed; see :mod:`tfexplore.graph.diff`); a
            collapsed scope counts the changes inside it, ``only_changes`` hides the rest,
            selecting an op shows both sides.
    """

    _esm = _HERE / "graphview.js"
    _css = _HERE / "graphview.css"

    scene = traitlets.Dict().tag(sync=True)
    expanded = traitlets.List(traitlets.Unicode()).tag(sync=True)
    selected = traitlets.Unicode("").tag(sync=True)
    detail = traitlets.Dict().tag(sync=True)
    search_query = traitlets.Unicode("").tag(sync=True)
    matches = traitlets.List(traitlets.Unicode()).tag(sync=True)
    #: what the search box says: ``no match for 'xyz'``, ``3 matches``, ``""``
    search_note = traitlets.Unicode("").tag(sync=True)
    #: ``{"width", "height"}`` of the drawing area in pixels, set by the browser: the layout
    #: takes its shape (see :meth:`tfexplore.ui.graphview.GraphExplorer.set_viewport`)
    viewport = traitlets.Dict().tag(sync=True)
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
    #: the key of this view's static pictures in the page (``data-tfx-static``): the front
    #: end hides them when it draws (see :meth:`_ipython_display_`)
    _static_key = traitlets.Unicode("").tag(sync=True)
    #: the overlay's legend (``{}``: none; see :meth:`tfexplore.scene.overlay.Overlay.legend`)
    overlay_legend = traitlets.Dict().tag(sync=True)
    #: a compare view: hide what did not change (the boxes keep their places)
    only_changes = traitlets.Bool(False).tag(sync=True)
    #: a compare view's one-line summary (``3 changed, 12 added, 0 removed``); ``""`` otherwise
    compare_summary = traitlets.Unicode("").tag(sync=True)

    def __init__(
        self,
        source: Any,
        *,
        expanded: list[str] | None = None,
        color_by: str = "op",
        height: int = 560,
        params: LayoutParams | None = None,
        storage_options: dict | None = None,
        compare: Any = None,
        **kwargs: Any,
    ) -> None:
        self.explorer = GraphExplorer(
            source,
            expanded=expanded,
            params=params,
            color_by=color_by,
            storage_options=storage_options,
            compare=compare,
        )
        super().__init__(color_by=color_by, height=height, **kwargs)
        if self.explorer.graph_diff is not None:
            self.compare_summary = self.explorer.graph_diff.summary()
        self._static_key = self.model_id
        self.functions = self.explorer.functions()
        self._show()
        if expanded:  # the first view shows the scope asked for
            self._focus(expanded[-1].rstrip("/") + "/")
        self.on_msg(self._on_message)

    # -- Python API --------------------------------------------------------------------
    def expand(self, scope: str) -> None:
        """Open ``scope`` (and the scopes around it), and bring it into view."""
        self._apply(lambda: self.explorer.expand(scope))
        self._focus(scope.rstrip("/") + "/")

    def collapse(self, scope: str) -> None:
        """Close ``scope``."""
        self._apply(lambda: self.explorer.collapse(scope))

    def select(self, name: str) -> dict[str, Any]:
        """Select op (or scope ``name/``) ``name``: sets ``selected`` and ``detail``; returns
        the detail dict (op type, device, attrs, inputs and outputs with dtypes and shapes,
        consumers, collections, the variable's value summary). The view moves to its box (or
        to the collapsed scope that holds it)."""
        self.selected = name
        if name.endswith("/"):
            self._focus(name)
        elif self.explorer.hierarchy.is_op(name):
            self._focus(self.explorer.visible.item_of(name))
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
        with self._one_picture():
            self._trace = (name, direction)
            self.collection = ""
            self.highlight, self.highlight_edges = items, edges
        return ops

    def clear_highlight(self) -> None:
        """Remove a trace or collection highlight."""
        with self._one_picture():
            self._trace = None
            self.collection = ""
            self.highlight, self.highlight_edges = [], []

    def open_function(self, name: str) -> None:
        """Show the body of library function ``name`` (one level below the graph shown)."""
        self._switch(lambda: self.explorer.open_function(name))

    def back(self, depth: int | None = None) -> None:
        """Return to the graph one level up (``depth=0``: the main graph)."""
        self._switch(lambda: self.explorer.back(depth))

    # -- overlays ------------------------------------------------------------------------
    def overlay(
        self,
        series: Any,
        *,
        scale: str = "linear",
        agg: str = "mean",
        title: str | None = None,
        colors: dict[str, Any] | None = None,
        **options: Any,
    ):
        """Colour the ops by ``series``, a pandas Series keyed by op names or checkpoint
        variable keys (``"layer1/W"``, ``"layer1/W:0"``, TF2 keys): numbers on a colour scale
        (``scale``: ``"linear"``, ``"log"``, ``"diverging"``), strings as categories
        (``colors``: ``{category: colour}``), with a legend; a collapsed scope shows the
        ``agg`` (``"mean"``, ``"max"``, ``"min"``, ``"sum"``) of the ops inside. More options:
        ``bins``, ``center``, ``domain``, ``quiet`` (see
        :meth:`tfexplore.ui.graphview.GraphExplorer.overlay`). Returns the
        :class:`~tfexplore.scene.overlay.Overlay` (``.unmatched``: keys that named no op)."""
        built = self._apply(
            lambda: self.explorer.overlay(
                series, scale=scale, agg=agg, title=title, colors=colors, **options
            )
        )
        self._refresh_detail()
        return built

    def clear_overlay(self) -> None:
        """Back to the colours of ``color_by`` (a compare view: to its diff colours)."""
        self._apply(self.explorer.clear_overlay)
        self._refresh_detail()

    def overlay_stats(self, checkpoint: Any, column: str = "norm", **options: Any):
        """Colour the variables by ``checkpoint.stats()``: ``column`` ``"norm"``, ``"nan"``,
        ``"inf"``, ``"zeros"`` or any stats column (see
        :func:`tfexplore.ui.overlays.stats_series`)."""
        from ..ui.overlays import overlay_stats

        return overlay_stats(self, checkpoint, column, **options)

    def overlay_diff(self, old: Any, new: Any, **options: Any):
        """Colour the variables by their relative change from checkpoint ``old`` to ``new``."""
        from ..ui.overlays import overlay_diff

        return overlay_diff(self, old, new, **options)

    def overlay_restore(self, report: Any, **options: Any):
        """Colour the variables by a restore report: restored, missing, wrong shape or dtype."""
        from ..ui.overlays import overlay_restore

        return overlay_restore(self, report, **options)

    def overlay_scan(self, report: Any, **options: Any):
        """Colour the risky ops a safety scan (``tfexplore.scan``) found."""
        from ..ui.overlays import overlay_scan

        return overlay_scan(self, report, **options)

    def _refresh_detail(self) -> None:
        if self.selected:
            with contextlib.suppress(TFExploreError):
                self.detail = self.explorer.detail(self.selected)

    @traitlets.observe("only_changes")
    def _only_changes_changed(self, change) -> None:
        self.explorer.only_changes = bool(change["new"])
        self._show()

    def to_svg(self) -> str:
        """The current picture as SVG text (what a saved notebook shows without a kernel)."""
        return self.explorer.to_svg(
            highlight=self.highlight, highlight_edges=self.highlight_edges, selected=self.selected
        )

    # -- what a saved notebook shows ----------------------------------------------------
    def _repr_mimebundle_(self, **kwargs: Any):
        """The widget view, with a static SVG picture as ``text/html`` beside it: what a
        notebook saved without widget state shows (nbconvert picks ``text/html`` when the
        view's model is not in the saved state)."""
        bundle = super()._repr_mimebundle_(**kwargs)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        if data is not None:
            data["text/html"] = (
                f"<div class='tfexplore-graph-static' data-tfx-initial='{self.model_id}'>"
                f"{self.to_svg()}</div>"
            )
        return bundle

    def _ipython_display_(self) -> None:
        """Show the widget, then a second output: a picture of the current layout that
        stays up to date (an IPython display id) and shows only where no live view draws.

        Why two outputs: a notebook saved *with* widget state (nbclient's default,
        JupyterLab's "save widget state") exports through nbconvert as a
        ``<script type="application/vnd.jupyter.widget-view+json">`` in place of the
        widget's output, and the page then needs ``@jupyter-widgets/html-manager`` (and
        anywidget, which runs this widget's ES module from the saved state) from a CDN.
        Offline, or if that fails, the widget's output is an empty box, and its
        ``text/html`` is not in the page at all. The second output is plain HTML that
        nbconvert always writes:

        * exported with widget state: its inline script finds the widget-view script of
          this model and shows the picture; if the live widget does draw (online), the ES
          module hides the picture as it mounts;
        * exported without widget state: the widget's own ``text/html`` (the picture made
          when it was displayed) is in the page; the script hides that one and shows this
          one, which is the layout at the end of the run (after later ``expand()``, ...);
        * in JupyterLab, Notebook 7, VS Code with a kernel: the picture stays hidden (no
          widget-view script in the page; the live widget hides it anyway).

        Where scripts in outputs do not run (an export with ``sanitize_html``, an untrusted
        notebook), this picture stays hidden: a saved-without-state notebook still shows
        the widget's own ``text/html``; a saved-with-state one shows only what the widget
        manager draws. A GraphView shown inside another widget (a ``VBox``) has no picture.
        """
        from IPython.display import display

        bundle = self._repr_mimebundle_()
        if bundle is None:
            return
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
        display(data, metadata=metadata, raw=True)
        display(self._static_bundle(), raw=True, display_id=self._static_display_id)
        self._static_shown = True

    _static_shown = False
    _static_hold = 0

    @property
    def _static_display_id(self) -> str:
        return f"tfexplore-graph-static-{self.model_id}"

    def _static_bundle(self) -> dict[str, str]:
        key = self.model_id
        return {
            "text/html": (
                f"<div class='tfexplore-graph-static tfexplore-graph-current' "
                f"data-tfx-static='{key}' style='display:none'>{self.to_svg()}</div>"
                f"<script>{_STATIC_SCRIPT.replace('KEY', key)}</script>"
            ),
            "text/plain": "",
        }

    def _update_static(self) -> None:
        """Bring the second output's picture up to date (when it has been displayed)."""
        if self._static_shown and not self._static_hold:
            from IPython.display import update_display

            update_display(self._static_bundle(), raw=True, display_id=self._static_display_id)

    @traitlets.observe("highlight", "highlight_edges", "selected")
    def _picture_changed(self, change) -> None:
        self._update_static()

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
        """Send the explorer's current state to the browser (and to the static picture)."""
        with self._one_picture(), self.hold_sync():
            self.scene = self.explorer.scene()
            self.expanded = list(self.explorer.expanded)
            self.legend = self.explorer.legend()
            self.overlay_legend = self.explorer.overlay_legend()
            self.collections = self.explorer.collections()
            self.function_stack = list(self.explorer.function_stack)
            self.current_function = self.explorer.current_function
            self._refresh_highlight()

    @contextlib.contextmanager
    def _one_picture(self):
        """Changes inside update the static picture once, at the end."""
        self._static_hold += 1
        try:
            yield
        finally:
            self._static_hold -= 1
        self._update_static()

    def _switch(self, change: Callable[[], Any]) -> None:
        """Show another graph (a function body, or back): selection and highlights go."""
        with self._one_picture(), self.hold_sync():
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
        self.search_note = self.explorer.search_note(change["new"], self.matches)
        if self.matches:
            self.reveal(self.matches[0])

    @traitlets.observe("viewport")
    def _viewport_changed(self, change) -> None:
        size = change["new"] or {}
        try:
            width, height = float(size.get("width", 0)), float(size.get("height", 0))
        except (TypeError, ValueError):
            return
        if self.explorer.set_viewport(width, height):
            self._show()

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
        ``open_function``, ``back``, ``clear_overlay``."""
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
            elif action == "clear_overlay":
                self.clear_overlay()
        except TFExploreError as exc:  # shown in the widget; nothing to raise to
            self.error = str(exc)
