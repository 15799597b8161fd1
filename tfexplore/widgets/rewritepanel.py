"""``RewritePanel``: a checkpoint rewrite planned as a table, source and target side by side,
edited row by row, checked as you go, then written (over :mod:`tfexplore.ui.rewrite`).

Rows are coloured by the confidence of a proposed match (green at 0.9 and above, amber from
0.6, red below or when nothing matched; rules and your own edits neutral); a row with a
problem carries the check's message. Click a row (or pick its source), choose a target (the
list starts with the best fits: same shape first) and an action, *Apply*: the checks run
again. *Write* writes the new checkpoint; the panel says how plain TensorFlow restores it.

Example::

    >>> import tfexplore
    >>> panel = tfexplore.RewritePanel("bert/model.ckpt-1000", to=keras_model)   # doctest: +SKIP
    >>> panel.edit("bert/pooler/dense/kernel", target="pooler/kernel")           # doctest: +SKIP
    >>> panel.write("converted/model.ckpt")                                      # doctest: +SKIP
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets as w
import traitlets

from ..edit.checks import ACTIONS
from ..errors import TFExploreError
from ..ui.rewrite import RewriteModel
from ._common import STYLE, error_html, status_html, with_html_fallback

__all__ = ["RewritePanel", "RewriteTable"]

_HERE = Path(__file__).resolve().parent


#: ipywidgets draws an accordion's title in a grey that measures 4.4:1 on the light theme
_PANEL_STYLE = (
    "<style>.tfx-rewrite .lm-AccordionPanel-title,.tfx-rewrite .lm-AccordionPanel-titleLabel,"
    ".tfx-rewrite .jupyter-widget-Collapse-header"
    "{color:var(--jp-ui-font-color0,#111) !important}</style>"
)


class RewriteTable(anywidget.AnyWidget):
    """The plan's rows as HTML built in Python; a click on a row sets ``clicked``
    (``{"source": key}`` or ``{"target": name}``, with a counter ``n``)."""

    _esm = _HERE / "rewritetable.js"

    html = traitlets.Unicode("").tag(sync=True)
    clicked = traitlets.Dict().tag(sync=True)
    height = traitlets.Int(420).tag(sync=True)


class RewritePanel(w.VBox):
    """Plan, check, edit and write a checkpoint rewrite.

    Args:
        checkpoint: a checkpoint prefix or folder (TF1 or TF2), a tfexplore ``Checkpoint``, or
            a :class:`~tfexplore.edit.plan.RewritePlan` (shown as it is).
        to: what the result must fit: a Keras model, ``tf.Module``, TF1 graph or ``.meta``,
            another checkpoint; ``None``: rules only (type them in the panel).
        rules, options: the rules of ``Checkpoint.rewrite`` (``prefix=``, ``scope=``,
            ``regex=``, ``rename=``, ``drop=``, ``drop_optimizer=``).
        max_rows: rows drawn at most (the rest are counted).

    Observable traits: ``source`` (the row being edited), ``error`` (the last error shown),
    ``written`` (the prefix last written).
    """

    source = traitlets.Unicode("")
    error = traitlets.Unicode("")
    written = traitlets.Unicode("")

    def __init__(
        self,
        checkpoint: Any,
        to: Any = None,
        *rules: Any,
        max_rows: int = 200,
        model: RewriteModel | None = None,
        **options: Any,
    ) -> None:
        self.model = model or RewriteModel(checkpoint, to, *rules, max_rows=max_rows, **options)
        self.header = w.HTML()
        self.header.add_class("tfx-rewrite-header")
        # rules: plan again from typed renames and a drop query
        self.rules_box = w.Textarea(
            placeholder="rename rules, one per line: old/=new/   re:^cls/(.*)=head/\\1   "
            "scope:layer1=encoder",
            layout=w.Layout(width="420px", height="52px"),
        )
        self.drop_box = w.Text(
            placeholder="drop: Adam, re:.*adam_[mv]$", layout=w.Layout(width="260px")
        )
        self.rules_box.add_class("tfx-rw-rules")
        self.drop_box.add_class("tfx-rw-drop")
        self.rules_button = w.Button(description="Plan again", icon="refresh")
        self.rules_button.add_class("tfx-rw-plan-again")
        rules_note = w.HTML(
            status_html(
                "rules plan again from the checkpoint (row edits are replaced)"
                + (" for the same target" if self.model.target is not None else "")
            )
        )
        # the table and its filter
        self.filter_box = w.Text(
            placeholder="filter: words, globs, re: (source or target)",
            continuous_update=True,
            layout=w.Layout(width="360px"),
        )
        self.filter_box.add_class("tfx-rw-filter")
        self.problems_only = w.Checkbox(
            description="problems only", indent=False, layout=w.Layout(width="auto")
        )
        self.table = RewriteTable()
        self.table.add_class("tfx-rewrite-rows-widget")
        # the row editor
        self.source_box = w.Combobox(
            placeholder="source row (or click a row)",
            options=self.model.sources(),
            ensure_option=False,
            description="source",
            layout=w.Layout(width="520px"),
        )
        self.source_box.add_class("tfx-rw-source")
        self.target_box = w.Combobox(
            placeholder="target name (best fits first)",
            description="target",
            ensure_option=False,
            layout=w.Layout(width="520px"),
        )
        self.target_box.add_class("tfx-rw-target")
        self.action_box = w.Dropdown(
            options=list(ACTIONS),
            value="rename",
            description="action",
            layout=w.Layout(width="220px"),
        )
        self.action_box.add_class("tfx-rw-action")

        def small() -> w.Layout:  # one Layout each: display is set per box
            return w.Layout(width="180px")

        self.axis_box = w.Text(description="axis", placeholder="0", layout=small())
        self.perm_box = w.Text(description="perm", placeholder="1, 0", layout=small())
        self.shape_box = w.Text(description="to_shape", placeholder="2, 6", layout=small())
        self.dtype_box = w.Text(description="to_dtype", placeholder="float16", layout=small())
        self.apply_button = w.Button(description="Apply", button_style="primary", icon="check")
        self.apply_button.add_class("tfx-rw-apply")
        self.edit_status = w.HTML()
        self.error_box = w.HTML()
        # writing
        self.path_box = w.Text(
            placeholder="where to write: converted/model.ckpt",
            description="write to",
            layout=w.Layout(width="520px"),
        )
        self.path_box.add_class("tfx-rw-path")
        self.overwrite = w.Checkbox(
            description="overwrite", indent=False, layout=w.Layout(width="auto")
        )
        self.write_button = w.Button(description="Write", icon="save")
        self.write_button.add_class("tfx-rw-write")
        self.write_box = w.HTML()
        self.write_box.add_class("tfx-rw-write-result")
        self.code_html = w.HTML()
        self.code_fold = w.Accordion(children=[self.code_html], selected_index=None)
        self.code_fold.set_title(0, "Code: this rewrite in plain TensorFlow (plan.as_code())")
        self.params_row = w.HBox([self.axis_box, self.perm_box, self.shape_box, self.dtype_box])
        super().__init__(
            children=[
                w.HTML(STYLE + _PANEL_STYLE),
                self.header,
                w.HBox(
                    [
                        self.rules_box,
                        w.VBox([self.drop_box, w.HBox([self.rules_button, rules_note])]),
                    ]
                ),
                w.HBox([self.filter_box, self.problems_only]),
                self.table,
                w.HBox([self.source_box, self.action_box]),
                w.HBox([self.target_box, self.apply_button]),
                self.params_row,
                self.edit_status,
                self.error_box,
                w.HBox([self.path_box, self.overwrite, self.write_button]),
                self.write_box,
                self.code_fold,
            ]
        )
        self.add_class("tfx-rewrite")
        self.filter_box.observe(lambda _: self._draw_table(), "value")
        self.problems_only.observe(lambda _: self._draw_table(), "value")
        self.table.observe(self._on_click, "clicked")
        self.source_box.observe(lambda change: self._pick(change["new"]), "value")
        self.target_box.observe(self._on_target, "value")
        self.action_box.observe(lambda _: self._show_params(), "value")
        self.apply_button.on_click(lambda _: self._guarded(self.apply))
        self.rules_button.on_click(
            lambda _: self._guarded(
                lambda: self.set_rules(self.rules_box.value, self.drop_box.value)
            )
        )
        self.write_button.on_click(lambda _: self._guarded(self.write, self.write_box))
        self.code_fold.observe(lambda _: self._draw_code(), "selected_index")
        self._show_params()
        self._redraw()

    # -- Python API ----------------------------------------------------------------------
    @property
    def plan(self) -> Any:
        """The :class:`~tfexplore.edit.plan.RewritePlan` shown (edit it and call
        :meth:`refresh`, or edit through the panel)."""
        return self.model.plan

    def refresh(self) -> None:
        """Check the plan again and redraw (after editing ``panel.plan`` in code)."""
        self.model.refresh()
        self._redraw()

    def select(self, source: str) -> None:
        """Edit the row of ``source``: the editor takes its target, action and parameters."""
        self.source_box.value = source

    def apply(self) -> dict[str, Any]:
        """What *Apply* does: the editor's fields into ``plan.set`` and the checks again.
        Returns the header counts."""
        source = self.source_box.value.strip()
        if not source:
            raise TFExploreError(
                "Pick the source row to change first.",
                hint="click a row of the table, or type its name in the source box",
            )
        header = self.model.apply(
            source,
            target=self.target_box.value,
            action=self.action_box.value,
            axis=self.axis_box.value,
            perm=self.perm_box.value,
            to_shape=self.shape_box.value,
            to_dtype=self.dtype_box.value,
        )
        row = self.model.row(source)
        what = row["action"] if row["action"] == "drop" else f"{row['action']} → {row['target']}"
        self.edit_status.value = status_html(f"applied: {source}: {what}")
        self._redraw()
        return header

    def edit(self, source: str, **fields: Any) -> dict[str, Any]:
        """Select ``source``, set the editor's fields (``target=``, ``action=``, ``axis=``,
        ``perm=``, ``to_shape=``, ``to_dtype=``) and apply, as a person would."""
        self.select(source)
        boxes = {
            "target": self.target_box,
            "action": self.action_box,
            "axis": self.axis_box,
            "perm": self.perm_box,
            "to_shape": self.shape_box,
            "to_dtype": self.dtype_box,
        }
        unknown = set(fields) - set(boxes)
        if unknown:
            raise TypeError(
                f"edit() takes {', '.join(boxes)}; received {', '.join(sorted(unknown))}"
            )
        if "target" in fields:
            boxes["target"].value = fields["target"] or ""
        for name, value in fields.items():
            if name != "target":  # after the target, which may turn a drop into a rename
                boxes[name].value = _as_text(value)
        return self.apply()

    def set_rules(self, rules: str = "", drop: str = "") -> dict[str, Any]:
        """Plan again from typed rename rules (``old/=new/`` per line) and a drop query."""
        self.rules_box.value, self.drop_box.value = rules, drop
        header = self.model.apply_rules(rules, drop)
        self.source_box.options = self.model.sources()
        kept, gone = self.model.replayed["kept"], self.model.replayed["gone"]
        said = "planned again from the rules"
        if kept:
            said += f"; your {len(kept)} row edit{'s' if len(kept) > 1 else ''} kept"
        if gone:
            said += f"; {len(gone)} left out (no such row now): {', '.join(gone[:3])}"
        self._pick(self.source_box.value)
        self._redraw()
        self.edit_status.value = status_html(said)  # after _pick, which says what is picked
        return header

    def write(self, path: str | None = None) -> Any:
        """What *Write* does: ``plan.write`` to the path box (or ``path``); the result or
        the reason nothing was written is shown. Returns the written ``Checkpoint``."""
        if path is not None:
            self.path_box.value = str(path)
        self.write_box.value = ""
        written = self.model.write(self.path_box.value, overwrite=self.overwrite.value)
        self.written = str(written.prefix)
        self.write_box.value = self.model.written_html()
        return written

    def _repr_mimebundle_(self, **kwargs: Any):
        bundle = super()._repr_mimebundle_(**kwargs)
        static = (
            f"<div class='tfx-rewrite-static'>{STYLE}{self.header.value}{self.table.html}</div>"
        )
        return with_html_fallback(bundle, static)

    # -- internals -----------------------------------------------------------------------
    def _redraw(self) -> None:
        self.header.value = self.model.header_html()
        self._draw_table()
        if self.code_fold.selected_index is not None:
            self._draw_code()

    def _draw_table(self) -> None:
        self.table.html = self.model.table_html(
            self.filter_box.value,
            selected=self.source or None,
            problems_only=self.problems_only.value,
        )

    def _draw_code(self) -> None:
        if self.code_fold.selected_index is None:
            return
        try:
            code = self.model.code()
        except TFExploreError as exc:
            self.code_html.value = error_html(exc)
            return
        self.code_html.value = f"<pre class='tfx-code tfx-rw-code'>{html.escape(code)}</pre>"

    def _on_click(self, change: dict) -> None:
        clicked = change["new"] or {}
        if clicked.get("source"):
            self.source_box.value = clicked["source"]
        elif clicked.get("target"):  # a target nothing fills: it goes in the target box
            self.target_box.value = clicked["target"]
            if self.action_box.value in ("keep", "drop"):
                self.action_box.value = "rename"

    def _pick(self, source: str) -> None:
        """Fill the editor from the row of ``source`` (when it is one)."""
        if source not in set(self.model.sources()):
            return
        self.source = source
        row = self.model.row(source)
        self.target_box.options = self.model.target_choices(source)
        self.action_box.value = row["action"] if row["action"] in ACTIONS else "rename"
        self.target_box.value = row["target"] or ""
        self.axis_box.value = "" if row.get("axis") is None else str(int(row["axis"]))
        self.perm_box.value = _join(row.get("perm"))
        self.shape_box.value = _join(row.get("to_shape"))
        self.dtype_box.value = row.get("to_dtype") or ""
        self.edit_status.value = status_html(
            f"editing {source} ({_join(row['source_shape']) or 'scalar'} {row['source_dtype']}); "
            f"{row.get('why') or ''}"
        )
        self._draw_table()

    def _on_target(self, change: dict) -> None:
        """A new target name makes a dropped or kept row a rename."""
        new = (change["new"] or "").strip()
        if new and self.action_box.value in ("drop", "keep") and new != self.source_box.value:
            self.action_box.value = "rename"

    def _show_params(self) -> None:
        action = self.action_box.value
        shown = {
            self.axis_box: action in ("split", "merge"),
            self.perm_box: action == "transpose",
            self.shape_box: action == "reshape",
            self.dtype_box: action == "cast",
        }
        for box, visible in shown.items():
            box.layout.display = None if visible else "none"
        self.target_box.disabled = action == "drop"

    def _guarded(self, action, box: w.HTML | None = None) -> Any:
        """Run ``action``; our errors are shown in the panel (in ``box``, else the error
        box under the editor) instead of lost in a log."""
        box = box or self.error_box
        self.error = ""
        self.error_box.value = ""
        try:
            return action()
        except TFExploreError as exc:
            self.error = str(exc)
            box.value = error_html(exc)
            return None


def _join(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return ", ".join(str(int(v)) for v in value)
    return ""


def _as_text(value: Any) -> str:
    """A field's value as the text a person would type (``(1, 0)`` -> ``"1, 0"``)."""
    if value is None:
        return ""
    if isinstance(value, (tuple, list)):
        return ", ".join(map(str, value))
    return str(value)
