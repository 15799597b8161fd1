"""``RestorePanel``: pick a checkpoint, read how it fits the session, restore with one click.

The match report is :meth:`Session.plan_restore`'s (nothing changes until *Restore* is
clicked): one coloured row per variable, the counts, the proposed mapping and the equivalent
TensorFlow code. Options: restore what fits (``partial``) and apply the proposed mapping.

Example::

    >>> from tfexplore.widgets import RestorePanel
    >>> panel = RestorePanel(session, "runs/old")        # doctest: +SKIP
    >>> panel.report.ok                                   # doctest: +SKIP
    False
    >>> panel.use_proposed.value = True; panel.restore()  # doctest: +SKIP
"""

from __future__ import annotations

import os
from typing import Any

import ipywidgets as w
import traitlets

from ..errors import TFExploreError
from ..ui.restore import checkpoint_choices, report_html
from ._common import STYLE, error_html, status_html, with_html_fallback

__all__ = ["RestorePanel"]


class RestorePanel(w.VBox):
    """Restore a session's variables from a checkpoint chosen in a folder.

    Args:
        session: the :class:`~tfexplore.Session` to restore into.
        folder: a folder of checkpoints (``CheckpointDir`` or path) or one checkpoint prefix.

    Observable traits: ``checkpoint`` (the chosen prefix), ``report`` (the last
    :class:`~tfexplore.live.RestoreReport`, planned or applied), ``error``.
    """

    checkpoint = traitlets.Unicode("")
    report = traitlets.Any(None, allow_none=True)
    error = traitlets.Unicode("")

    def __init__(self, session: Any, folder: Any, **kwargs: Any) -> None:
        self.session = session
        self.folder = folder
        self._plain: Any = None
        self.choice = w.Dropdown(description="Checkpoint", layout=w.Layout(width="460px"))
        self.refresh_button = w.Button(description="Refresh list", icon="refresh")
        auto = w.Layout(width="auto")
        self.partial = w.Checkbox(
            description="restore what fits (partial)", indent=False, layout=auto
        )
        self.use_proposed = w.Checkbox(
            description="apply the proposed mapping", indent=False, layout=w.Layout(width="auto")
        )
        self.restore_button = w.Button(
            description="Restore", button_style="primary", icon="download"
        )
        self.status = w.HTML()
        self.error_box = w.HTML()
        self.report_box = w.HTML()
        super().__init__(
            children=[
                w.HTML(STYLE),
                w.HBox([self.choice, self.refresh_button]),
                w.HBox([self.partial, self.use_proposed, self.restore_button]),
                self.status,
                self.error_box,
                self.report_box,
            ],
            **kwargs,
        )
        self.choice.observe(lambda change: self._choose(change["new"]), "value")
        self.use_proposed.observe(lambda change: self.plan(), "value")
        self.refresh_button.on_click(lambda _: self.refresh())
        self.restore_button.on_click(lambda _: self._guarded(self.restore))
        self.refresh()

    # -- Python API ----------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the folder's checkpoint list again (e.g. after a save)."""
        folder = self.folder
        if hasattr(folder, "path") and getattr(folder, "kind", "") == "checkpoint_dir":
            folder = folder.path  # a fresh listing, not the cached one
        try:
            choices = checkpoint_choices(folder)
        except TFExploreError as exc:
            self._show_error(exc)
            return
        previous = self.choice.value
        self.choice.options = choices
        values = [prefix for _, prefix in choices]
        if previous in values:
            self.choice.value = previous
        elif values:
            self.choice.value = values[0]

    def plan(self) -> Any:
        """Plan a restore from the chosen checkpoint and show the report (changes nothing)."""
        return self._guarded(
            lambda: self._set_report(
                self.session.plan_restore(self.checkpoint, **self._mapping_options())
            )
        )

    def restore(self) -> Any:
        """Restore from the chosen checkpoint with the ticked options; show and return the
        report. A mismatch without ``partial`` restores nothing and shows why."""
        report = self.session.restore(
            self.checkpoint, partial=self.partial.value, **self._mapping_options()
        )
        self._set_report(report)
        step = getattr(self.session, "_global_step_seen", None)
        after = f" (global_step {step})" if step is not None else ""
        self.status.value = status_html(
            f"restored {report.counts.get('restored', 0)} variables from "
            f"{os.path.basename(report.checkpoint)}{after}"
        )
        return report

    def _repr_mimebundle_(self, **kwargs: Any):
        bundle = super()._repr_mimebundle_(**kwargs)
        shown = f"{STYLE}{self.status.value}{self.report_box.value}"
        static = f"<div class='tfx-restore-static'>{shown}</div>"
        return with_html_fallback(bundle, static)

    # -- internals -----------------------------------------------------------------------
    def _choose(self, prefix: str | None) -> None:
        self.checkpoint = prefix or ""
        if prefix:
            self.plan()

    def _mapping_options(self) -> dict[str, Any]:
        """``mapping=`` or ``prefix_rewrite=`` from the plain plan's proposal, when ticked."""
        if not self.use_proposed.value or not self.checkpoint:
            return {}
        base = self._plain_plan()
        if base.proposed_prefix_rewrite:
            return {"prefix_rewrite": base.proposed_prefix_rewrite}
        if base.proposed_mapping:
            return {"mapping": base.proposed_mapping}
        return {}

    def _plain_plan(self) -> Any:
        """The plan without any mapping (where the proposal comes from), cached per
        checkpoint."""
        if self._plain is None or self._plain.checkpoint != self.checkpoint:
            self._plain = self.session.plan_restore(self.checkpoint)
        return self._plain

    def _set_report(self, report: Any) -> Any:
        self.report = report
        self.report_box.value = report_html(report)
        done = self._already_restored()
        # a checkpoint already in the session is not a restore still to be done
        self.restore_button.description = "Restore again" if done else "Restore"
        self.restore_button.button_style = "" if done else "primary"
        return report

    def _already_restored(self) -> bool:
        last = getattr(self.session, "last_restore", None)
        return bool(
            last is not None
            and getattr(last, "applied", False)
            and self.checkpoint
            and os.path.abspath(str(last.checkpoint)) == os.path.abspath(self.checkpoint)
        )

    def _guarded(self, action) -> Any:
        """Run ``action``; our errors are shown in the panel (a mismatch also shows its
        report) instead of being lost in a log."""
        self.error = ""
        self.error_box.value = ""
        try:
            return action()
        except TFExploreError as exc:
            self._show_error(exc)
            report = getattr(exc, "report", None)
            if report is not None:
                self._set_report(report)
            return None

    def _show_error(self, exc: TFExploreError) -> None:
        self.error = str(exc)
        self.error_box.value = error_html(exc)
