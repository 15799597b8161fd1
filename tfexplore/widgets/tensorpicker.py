"""``TensorPicker``: search every tensor name of a session or artifact and look at a value.

Typing in the search field lists the matching names with dtype, shape and producer op; picking
one shows its value for the current ``feed``: numbers when small, else a histogram or a heatmap
drawn on the picker's own matplotlib ``Figure``. All the logic lives in
:class:`tfexplore.ui.tensors.TensorIndex` and :mod:`tfexplore.ui.plots`.

Example::

    >>> from tfexplore.widgets import TensorPicker
    >>> picker = TensorPicker(session, feed={"inputs/x": x})    # doctest: +SKIP
    >>> picker                                                  # doctest: +SKIP
    >>> picker.search("relu"); picker.select("layer1/relu:0")  # doctest: +SKIP
    >>> picker.value.shape                                      # doctest: +SKIP
    (256, 16)
    >>> picker.observe(lambda change: print(change["new"]), "selected")  # doctest: +SKIP
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w
import numpy as np
import traitlets

from ..errors import TFExploreError
from ..ui import plots
from ..ui.tensors import TensorIndex
from ._common import STYLE, error_html, png_img, status_html, with_html_fallback

__all__ = ["TensorPicker"]


class TensorPicker(w.VBox):
    """Search tensors by name and show the picked one's value.

    Args:
        source: a :class:`~tfexplore.Session` (every graph tensor can be evaluated),
            an artifact or a path (variables are read from the file; graph tensors are listed).
        feed: ``{placeholder: value}`` or ``callable(step) -> dict`` (called with step 0) used
            to evaluate graph tensors; settable later as ``picker.feed``.
        max_matches: how many matches the list shows.
        bins: histogram bins.

    Observable traits: ``selected`` (the picked name), ``value`` (its numpy value, or
    ``None``), ``feed``, ``error`` (the last error message shown, or ``""``).
    """

    selected = traitlets.Unicode("")
    value = traitlets.Any(None, allow_none=True)
    feed = traitlets.Any(None, allow_none=True)
    error = traitlets.Unicode("")

    def __init__(
        self,
        source: Any,
        *,
        feed: Any = None,
        max_matches: int = 50,
        bins: int = 50,
        **kwargs: Any,
    ) -> None:
        self.max_matches = max_matches
        self.bins = bins
        self.search_box = w.Text(
            placeholder="search tensors: words of the name, op:MatMul",
            continuous_update=True,
            layout=w.Layout(width="100%"),
        )
        self.match_list = w.Select(options=[], rows=8, layout=w.Layout(width="100%"))
        self.count_label = w.HTML()
        self.info = w.HTML()
        self.numbers = w.HTML()
        self.image = w.Image(format="png", layout=w.Layout(display="none"))
        self.error_box = w.HTML()
        self.figure = None
        self.png = b""
        super().__init__(
            children=[
                w.HTML(STYLE),
                self.search_box,
                self.count_label,
                self.match_list,
                self.info,
                self.error_box,
                self.numbers,
                self.image,
            ],
            **kwargs,
        )
        self.index = TensorIndex(source)
        self.feed = feed
        self.search_box.observe(lambda change: self.search(change["new"]), "value")
        self.match_list.observe(self._on_pick, "value")
        self.search("")

    # -- Python API ----------------------------------------------------------------------
    def search(self, text: str) -> list[str]:
        """List the names matching ``text`` (see :meth:`TensorIndex.search`); return them."""
        if self.search_box.value != text:
            self.search_box.value = text  # observed: comes back here
            return [value for _, value in self.match_list.options]
        entries = self.index.search(text, limit=self.max_matches)
        self.match_list.options = [(entry.label(), entry.name) for entry in entries]
        total = len(self.index.search(text, limit=len(self.index))) if text else len(self.index)
        shown = f"{len(entries)} of {total}" if total > len(entries) else f"{total}"
        self.count_label.value = status_html(f"{shown} matching names")
        return [entry.name for entry in entries]

    def select(self, name: str) -> np.ndarray | None:
        """Pick ``name`` and show its value; return the value (``None`` if it cannot be
        evaluated here, the reason is shown)."""
        if self.selected == name:
            self._show()
        else:
            self.selected = name
        return self.value

    def set_source(self, source: Any) -> None:
        """Search another session or artifact (e.g. a session started later)."""
        self.index = TensorIndex(source)
        self.search(self.search_box.value)
        if self.selected in self.index:
            self._show()

    def refresh(self) -> None:
        """Evaluate the picked tensor again (after training changed the variables)."""
        if self.selected:
            self._show()

    def _repr_mimebundle_(self, **kwargs: Any):
        bundle = super()._repr_mimebundle_(**kwargs)
        picture = (
            png_img(self.png, alt=self.selected) if self.image.layout.display != "none" else ""
        )
        static = (
            f"<div class='tfx-picker-static'>{self.info.value}{self.numbers.value}{picture}</div>"
        )
        return with_html_fallback(bundle, static)

    # -- showing -------------------------------------------------------------------------
    def _on_pick(self, change) -> None:
        if change["new"]:
            self.selected = change["new"]

    @traitlets.observe("selected")
    def _selected_changed(self, change) -> None:
        self._show()

    @traitlets.observe("feed")
    def _feed_changed(self, change) -> None:
        if self.selected:
            self._show()

    def _show(self) -> None:
        name = self.selected
        self._clear()
        if not name:
            return
        try:
            entry = self.index.entry(name)
            self.info.value = f"<b>{html.escape(entry.label())}</b>"
            if not self.index.can_evaluate(name):
                self.numbers.value = status_html(
                    "a graph tensor: its value exists only while the graph runs "
                    "(start a session to evaluate it)"
                )
                self.value = None
                return
            array = self.index.value(name, self.feed)
        except TFExploreError as exc:
            self.error = str(exc)
            self.error_box.value = error_html(exc)
            self.value = None
            return
        self._show_value(array)
        self.value = array

    def _clear(self) -> None:
        self.error = ""
        self.error_box.value = ""
        self.info.value = ""
        self.numbers.value = ""
        self.image.layout.display = "none"

    def _show_value(self, array: np.ndarray) -> None:
        kind = plots.choose_view(array)
        summary = html.escape(plots.summary_line(array))
        if kind in ("numbers", "text"):
            text = html.escape(plots.format_numbers(array))
            self.numbers.value = f"<div>{summary}</div><pre class='tfx-numbers'>{text}</pre>"
            return
        self.numbers.value = f"<div>{summary}</div>"
        self._draw(array, kind)

    def _draw(self, array: np.ndarray, kind: str) -> None:
        if self.figure is None:
            self.figure = plots.new_figure(6, 2.8)
        self.figure.clear()
        ax = self.figure.add_subplot()
        if kind == "heatmap":
            image = plots.draw_heatmap(ax, plots.heatmap_data(array), title=self.selected)
            self.figure.colorbar(image, ax=ax)
        else:
            plots.draw_histogram(ax, plots.histogram(array, self.bins), title=self.selected)
        self.png = plots.figure_png(self.figure)
        self.image.value = self.png
        self.image.layout.display = ""
