"""``tfexplore.explore(path)``: one widget with a tab per way of looking at an artifact.

Tabs (only those that apply): *Overview* (summary and ``explain()``), *Graph* (``GraphView``),
*Variables* (a filterable table), *Tensors* (``TensorPicker``), *Restore and train*
(``RestorePanel`` and ``TrainPanel``). Each tab is built the first time it is opened. Opening
a session runs ops, so the last tab only offers a *Start session* button until clicked.

Example::

    >>> import tfexplore
    >>> view = tfexplore.explore("runs/mnist", feed={"inputs/x": x, "inputs/y": y})  # doctest: +SKIP
    >>> view                                                 # doctest: +SKIP
    >>> view.start_session(); view.train_panel.run(20)      # doctest: +SKIP
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from ..errors import TFExploreError
from ..panels import ExploreModel
from ._common import STYLE, error_html, status_html, with_html_fallback

__all__ = ["explore", "Explorer"]


def explore(path: Any, *, feed: Any = None, **train_options: Any) -> Explorer:
    """One tabbed widget exploring ``path`` (any artifact, or an opened one).

    ``feed`` and ``train_options`` (``train_op=``, ``loss=``, ``record=``) go to the
    ``TrainPanel`` (and ``feed`` to the ``TensorPicker``) once a session is started.
    """
    return Explorer(path, feed=feed, train_options=train_options)


class Explorer(w.VBox):
    """The widget :func:`explore` returns. ``model`` (an
    :class:`~tfexplore.panels.ExploreModel`) decides the tabs; ``session`` is ``None`` until
    :meth:`start_session` (the *Start session* button)."""

    def __init__(
        self, source: Any, *, feed: Any = None, train_options: dict | None = None, **kwargs: Any
    ) -> None:
        self.model = ExploreModel(source)
        self.feed = feed
        self.train_options = dict(train_options or {})
        self.session: Any = None
        self.graph_view = self.tensor_picker = self.restore_panel = self.train_panel = None
        self.filter_box: w.Text | None = None
        self.tab_titles = self.model.tabs
        self._builders: dict[str, Callable[[], list[w.Widget]]] = {
            "Overview": self._overview,
            "Graph": self._graph,
            "Variables": self._variables,
            "Tensors": self._tensors,
            "Restore and train": self._restore_and_train,
        }
        self._pages = [w.VBox() for _ in self.tab_titles]
        self._built: set[str] = set()
        self.tabs = w.Tab(children=self._pages, titles=self.tab_titles)
        title = html.escape(f"{type(self.model.artifact).__name__} · {self.model.artifact.path}")
        super().__init__(children=[w.HTML(STYLE + f"<b>{title}</b>"), self.tabs], **kwargs)
        self.tabs.observe(lambda change: self.open_tab(change["new"]), "selected_index")
        self.open_tab(0)

    # -- tabs ------------------------------------------------------------------------------
    def open_tab(self, which: int | str) -> w.VBox:
        """Select a tab (by index or title), building it on first use; return its page."""
        index = which if isinstance(which, int) else self.tab_titles.index(which)
        title = self.tab_titles[index]
        page = self._pages[index]
        if title not in self._built:
            self._built.add(title)
            page.children = self._guarded(self._builders[title])
        if self.tabs.selected_index != index:
            self.tabs.selected_index = index
        return page

    @property
    def built_tabs(self) -> list[str]:
        """The tabs built so far (opened at least once)."""
        return [t for t in self.tab_titles if t in self._built]

    def _guarded(self, build: Callable[[], list[w.Widget]]) -> list[w.Widget]:
        try:
            return build()
        except TFExploreError as exc:
            return [w.HTML(error_html(exc))]

    def _overview(self) -> list[w.Widget]:
        self.overview = w.HTML(self.model.overview_html())
        return [self.overview]

    def _graph(self) -> list[w.Widget]:
        from .graphview import GraphView

        self.graph_view = GraphView(self.model.artifact)
        return [self.graph_view]

    def _variables(self) -> list[w.Widget]:
        self.filter_box = w.Text(placeholder="filter by name", continuous_update=True)
        table = w.HTML(self.model.variables_html())
        self.filter_box.observe(
            lambda change: setattr(table, "value", self.model.variables_html(change["new"])),
            "value",
        )
        self.variables_table = table
        return [self.filter_box, table]

    def _tensors(self) -> list[w.Widget]:
        from .tensorpicker import TensorPicker

        source = self.session if self.session is not None else self.model.artifact
        self.tensor_picker = TensorPicker(source, feed=self.feed)
        return [self.tensor_picker]

    def _restore_and_train(self) -> list[w.Widget]:
        button = w.Button(description="Start session", button_style="primary", icon="play")
        note = w.HTML(
            status_html(
                f"Opens {self.model.session_source} in TensorFlow (imports the graph, "
                "restores the latest checkpoint): this runs ops."
            )
        )
        self.start_button = button
        self.session_status = w.HTML()
        button.on_click(lambda _: self.start_session())
        return [w.HBox([button, note]), self.session_status]

    # -- session ---------------------------------------------------------------------------
    def start_session(self) -> Any:
        """Open the live session (what *Start session* does) and show the restore and train
        panels; the Tensors tab then evaluates graph tensors in it. Returns the session."""
        if self.session is not None:
            return self.session
        from .. import session as open_session
        from .restorepanel import RestorePanel
        from .trainpanel import TrainPanel

        page = self._pages[self.tab_titles.index("Restore and train")]
        self._built.add("Restore and train")
        try:
            self.session = open_session(self.model.session_source)
        except TFExploreError as exc:
            page.children = [*page.children[:1], w.HTML(error_html(exc))]
            return None
        self.restore_panel = RestorePanel(self.session, self.model.checkpoint_folder)
        self.train_panel = TrainPanel(self.session, self.feed, train_options=self.train_options)
        page.children = [
            w.HTML("<h4>Restore</h4>"),
            self.restore_panel,
            w.HTML("<h4>Train</h4>"),
            self.train_panel,
        ]
        if self.tensor_picker is not None:
            self.tensor_picker.set_source(self.session)
        return self.session

    def _repr_mimebundle_(self, **kwargs: Any):
        bundle = super()._repr_mimebundle_(**kwargs)
        return with_html_fallback(bundle, f"<div class='tfx-explore-static'>{self.model.overview_html()}</div>")
