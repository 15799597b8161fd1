"""``tfexplore.explore(path)``: one widget with a tab per way of looking at an artifact.

Tabs (only those that apply): *Overview* (summary and ``explain()``), *Graph* (``GraphView``),
*Variables* (a filterable table), *Tensors* (``TensorPicker``), *Dynamics* (a folder of
checkpoints: update ratios and flags, computed on a click), *Rewrite* (a checkpoint:
``RewritePanel`` fitting it to ``model=``, or the session's model or graph), *Restore and train*
(``RestorePanel`` and ``TrainPanel``). Each tab is built the first time it is opened. Opening
a session runs ops, so the last tab only offers a *Start session* button until clicked.

What can train: a TF1 checkpoint with its ``.meta``, a full Keras model file (``.keras``,
``.h5``), and, with ``model=``, a TF2 checkpoint or ``CheckpointManager`` folder restored into
your model, or a ``.weights.h5`` loaded into it. Otherwise the tab says what to pass.

Example::

    >>> import tfexplore
    >>> feed = {"inputs/x": x, "inputs/y": y}               # doctest: +SKIP
    >>> view = tfexplore.explore("runs/mnist", feed=feed)   # doctest: +SKIP
    >>> view                                                 # doctest: +SKIP
    >>> view.start_session(); view.train_panel.run(20)      # doctest: +SKIP
    >>> tfexplore.explore("runs/tf2", model=make_model(), feed=dataset)   # doctest: +SKIP
    >>> tfexplore.explore("model.keras", feed=(x, y))        # doctest: +SKIP
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from ..errors import TFExploreError
from ..ui.explore import ExploreModel
from ._common import STYLE, error_html, status_html, with_html_fallback

__all__ = ["explore", "Explorer"]


def explore(
    path: Any, *, feed: Any = None, model: Any = None, trust: bool = False, **train_options: Any
) -> Explorer:
    """One tabbed widget exploring ``path`` (any artifact, or an opened one).

    ``feed`` and ``train_options`` (``train_op=``, ``loss=``, ``record=``) go to the
    ``TrainPanel`` (and ``feed`` to the ``TensorPicker``) once a session is started.
    ``model``: what a TF2 checkpoint or Keras weights file is restored into for training (a
    Keras model, ``tf.train.Checkpoint``, dict of trackables, or a TF1 session/graph).
    ``trust``: allow loading a Keras file whose ``Lambda`` layers carry Python code.
    """
    return Explorer(path, feed=feed, model=model, trust=trust, train_options=train_options)


class Explorer(w.VBox):
    """The widget :func:`explore` returns. ``model`` (an
    :class:`~tfexplore.ui.explore.ExploreModel`) decides the tabs; ``session`` is ``None`` until
    :meth:`start_session` (the *Start session* button)."""

    def __init__(
        self,
        source: Any,
        *,
        feed: Any = None,
        model: Any = None,
        trust: bool = False,
        train_options: dict | None = None,
        **kwargs: Any,
    ) -> None:
        self.model = ExploreModel(source, model=model, trust=trust)
        self.feed = feed
        self.train_options = dict(train_options or {})
        self.session: Any = None
        self.graph_view = self.tensor_picker = self.restore_panel = self.train_panel = None
        self.rewrite_panel: Any = None
        self.start_button: w.Button | None = None
        self.dynamics_button: w.Button | None = None
        self.session_status = w.HTML()
        self.filter_box: w.Text | None = None
        self.tab_titles = self.model.tabs
        self._builders: dict[str, Callable[[], list[w.Widget]]] = {
            "Overview": self._overview,
            "Graph": self._graph,
            "Variables": self._variables,
            "Tensors": self._tensors,
            "Dynamics": self._dynamics,
            "Rewrite": self._rewrite,
            "Restore and train": self._restore_and_train,
        }
        self._pages = [w.VBox() for _ in self.tab_titles]
        self._built: set[str] = set()
        self.tabs = w.Tab(children=self._pages, titles=self.tab_titles)
        title = html.escape(f"{type(self.model.artifact).__name__} · {self.model.artifact.path}")
        super().__init__(children=[w.HTML(STYLE + f"<b>{title}</b>"), self.tabs], **kwargs)
        self.add_class("tfx-explore")
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
        self.all_columns = w.Checkbox(
            description="all columns (shard, offset, partitions, ...)", indent=False,
            layout=w.Layout(width="auto"),
        )  # fmt: skip
        table = w.HTML(self.model.variables_html())

        def show(_change=None) -> None:
            table.value = self.model.variables_html(
                self.filter_box.value, all_columns=self.all_columns.value
            )

        self.filter_box.observe(show, "value")
        self.all_columns.observe(show, "value")
        self.variables_table = table
        return [w.HBox([self.filter_box, self.all_columns]), table]

    def _tensors(self) -> list[w.Widget]:
        from .tensorpicker import TensorPicker

        source = self.session if self.session is not None else self.model.artifact
        self.tensor_picker = TensorPicker(source, feed=self.feed)
        return [self.tensor_picker]

    def _dynamics(self) -> list[w.Widget]:
        """A button that computes the folder's training dynamics (reads every checkpoint, so
        only when asked), a progress bar, then the heatmap and the flags."""
        button = w.Button(
            description="Compute training dynamics",
            icon="line-chart",
            layout=w.Layout(width="auto", min_width="max-content", flex="0 0 auto"),
        )
        button.add_class("tfx-compute-dynamics")
        self.dynamics_button = button
        self.dynamics_progress = w.FloatProgress(value=0, min=0, max=1)
        self.dynamics_progress.layout.display = "none"  # shown while reading
        self.dynamics_output = w.HTML()
        note = w.HTML(status_html(self.model.dynamics_note()))
        button.on_click(lambda _: self.compute_dynamics())
        return [w.HBox([button, note]), self.dynamics_progress, self.dynamics_output]

    def compute_dynamics(self) -> Any:
        """What *Compute training dynamics* does: read the checkpoints (a progress bar in
        bytes), then show the heatmap of update ratios and the flags. Returns the
        ``Dynamics``."""
        if self.dynamics_button is None:
            self.open_tab("Dynamics")
        bar = self.dynamics_progress
        bar.layout.display = ""
        self.dynamics_button.disabled = True

        def progress(done: int, total: int) -> None:  # a message per percent, not per tensor
            if done >= total or done - bar.value >= total / 100:
                bar.max = max(total, 1)
                bar.value = done

        try:
            self.model.compute_dynamics(progress=progress)
            self.dynamics_output.value = self.model.dynamics_html()
        except TFExploreError as exc:
            self.dynamics_output.value = error_html(exc)
        finally:
            self.dynamics_button.disabled = False
            bar.layout.display = "none"  # done: the heatmap takes its place
        return self.model.dynamics

    def _rewrite(self) -> list[w.Widget]:
        """The checkpoint (a folder's latest) planned to fit ``model=`` or the session's
        model or graph; without either, rules only."""
        from .rewritepanel import RewritePanel

        target = self.model.rewrite_target(self.session)
        self.rewrite_panel = RewritePanel(self.model._main(), to=target)
        if target is None:
            note = (
                "No target: type rename rules and a drop query. Pass model= to explore (or "
                "start a session) to match the checkpoint to a model."
            )
            return [w.HTML(status_html(note)), self.rewrite_panel]
        return [self.rewrite_panel]

    def _restore_and_train(self) -> list[w.Widget]:
        if not self.model.can_train:  # say what is needed
            self.session_status.value = (
                "<div class='tfx-needs' style='padding:6px;background:#fff8e1;color:#1f2328'>"
                f"{html.escape(self.model.needs or '')}</div>"
            )
            return [self.session_status]
        button = w.Button(description="Start session", button_style="primary", icon="play")
        button.add_class("tfx-start-session")
        note = w.HTML(status_html(self.model.session_note()))
        self.start_button = button
        button.on_click(lambda _: self.start_session())
        return [w.HBox([button, note]), self.session_status]

    # -- session ---------------------------------------------------------------------------
    def start_session(self) -> Any:
        """Open the live session (what *Start session* does) and show the restore and train
        panels; the Tensors tab then evaluates graph tensors in it. Returns the session.

        A checkpoint that does not fit the model as it is restores nothing: the session is
        still opened and the restore panel shows the report and the proposed mapping."""
        if self.session is not None:
            return self.session
        from ..errors import RestoreMismatchError
        from .trainpanel import TrainPanel

        page = self._pages[self.tab_titles.index("Restore and train")]
        self._built.add("Restore and train")
        mismatch = None
        try:
            self.session = self.model.open_session()
        except RestoreMismatchError as exc:
            if getattr(exc, "session", None) is None:
                page.children = [*page.children[:1], w.HTML(error_html(exc))]
                return None
            self.session, mismatch = exc.session, exc
        except TFExploreError as exc:
            page.children = [*page.children[:1], w.HTML(error_html(exc))]
            return None
        self.restore_box = w.VBox()
        folder = self.model.checkpoint_folder
        if folder is not None:
            self._show_restore_panel(folder)
        else:
            self.restore_box.children = [
                w.HTML(
                    status_html(
                        f"Weights loaded from {self.model.artifact.path}. Checkpoints saved "
                        "below can be restored here."
                    )
                )
            ]
        # What a person needs first: one line on what was restored, then the train panel.
        # The restore panel (another checkpoint, the full report) waits behind a fold, open
        # only when the checkpoint did not fit.
        self.restore_fold = w.Accordion(children=[self.restore_box], selected_index=None)
        self.restore_fold.set_title(0, "Restore another checkpoint, or see the full report")
        if mismatch is not None:
            self.session_status.value = error_html(mismatch)
            if self.restore_panel is not None and self.restore_panel.report is None:
                self.restore_panel._set_report(mismatch.report)
            self.restore_fold.selected_index = 0
        else:
            self.session_status.value = self._restored_line()
        self.train_panel = TrainPanel(self.session, self.feed, train_options=self.train_options)
        self.train_panel.save_button.on_click(lambda _: self._after_save())
        page.children = [self.session_status, self.train_panel, self.restore_fold]
        if self.tensor_picker is not None:
            self.tensor_picker.set_source(self.session)
        if self.rewrite_panel is not None and self.rewrite_panel.model.target is None:
            self._built.discard("Rewrite")  # planned again, for the session's model, when opened
        return self.session

    def _restored_line(self) -> str:
        """``✓ restored 15 of 15 variables from model.ckpt-30 · global_step 30`` (or where
        the weights came from), as one line of HTML."""
        from ..ui.restore import STATUS_TEXT, report_summary

        report = getattr(self.session, "last_restore", None)
        step = getattr(self.session, "_global_step_seen", None)
        after = f" · global_step {step}" if step is not None else ""
        if report is None:
            text = f"session started: weights from {self.model.artifact.path}{after}"
        else:
            text = report_summary(report) + after
        return (
            "<div class='tfx-restored-line' style='padding:4px 0'>"
            f"<b style='background:#d8f0d8;color:{STATUS_TEXT};padding:1px 6px;border-radius:3px'>"
            f"&#10003;</b> {html.escape(text)}</div>"
        )

    def _show_restore_panel(self, folder: Any) -> None:
        from .restorepanel import RestorePanel

        self.restore_panel = RestorePanel(self.session, folder)
        self.restore_box.children = [self.restore_panel]

    def _after_save(self) -> None:
        """After a save: the new checkpoint appears in the restore list (a Keras file's
        session gets a restore panel over the folder saved into)."""
        panel = self.train_panel
        if panel is None or panel.error or not panel.folder_box.value.strip():
            return
        if self.restore_panel is None:
            self._show_restore_panel(panel.folder_box.value.strip())
        else:
            self.restore_panel.refresh()

    def _repr_mimebundle_(self, **kwargs: Any):
        bundle = super()._repr_mimebundle_(**kwargs)
        return with_html_fallback(
            bundle, f"<div class='tfx-explore-static'>{self.model.overview_html()}</div>"
        )
