"""The restore panel's logic (behind :class:`~tfexplore.widgets.RestorePanel`), testable
without ipywidgets: the checkpoints of a folder to choose from (:func:`checkpoint_choices`)
and a ``RestoreReport`` as one line (:func:`report_summary`) or an HTML table
(:func:`report_html`).
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

__all__ = ["checkpoint_choices", "report_html", "report_summary", "STATUS_COLORS", "STATUS_TEXT"]

STATUS_COLORS = {
    "restored": "#d8f0d8",
    "only_in_checkpoint": "#eeeeee",
    "missing_in_checkpoint": "#fbd5d5",
    "shape_mismatch": "#fde2b8",
    "dtype_mismatch": "#fde2b8",
}


def checkpoint_choices(folder: Any) -> list[tuple[str, str]]:
    """``(label, prefix)`` for each checkpoint present in a folder, newest first; labels read
    ``step 30 · 2024-05-01 12:00:01 · latest``.

    ``folder``: a :class:`~tfexplore.artifacts.checkpoint.CheckpointDir`, a folder path, or a
    checkpoint prefix (one choice).
    """
    from ..artifacts.checkpoint import Checkpoint, CheckpointDir

    if isinstance(folder, Checkpoint):
        return [(_checkpoint_label(folder.step, None, True, folder.path.name), str(folder.path))]
    if not isinstance(folder, CheckpointDir):
        path = Path(os.fspath(folder))
        if not path.is_dir():
            checkpoint = Checkpoint(path)
            return [(_checkpoint_label(checkpoint.step, None, True, path.name), str(path))]
        folder = CheckpointDir(path)
    table = folder.checkpoints
    table = table[~table["missing"]]
    choices = []
    for row in table.iloc[::-1].itertuples(index=False):
        step = None if row.step is None or row.step != row.step else int(row.step)
        label = _checkpoint_label(step, row.modified, bool(row.is_latest), Path(row.prefix).name)
        choices.append((label, str(row.prefix)))
    return choices


def _checkpoint_label(step: int | None, modified: Any, latest: bool, name: str) -> str:
    parts = [f"step {step}" if step is not None else name]
    if modified is not None and modified == modified:  # not NaT
        parts.append(f"{modified:%Y-%m-%d %H:%M:%S}")
    if latest:
        parts.append("latest")
    return " · ".join(parts)


# Row colours are pastel backgrounds with their own dark text: readable in light and dark
# themes alike (the page's text colour is never drawn on them).
STATUS_TEXT = "#1f2328"


def report_summary(report: Any) -> str:
    """One line a person reads at a glance: ``'restored 15 of 15 variables from
    model.ckpt-30'`` or what does not fit (plain text)."""
    counts = report.counts
    total = sum(n for s, n in counts.items() if s != "only_in_checkpoint")
    name = Path(report.checkpoint).name
    restored = counts.get("restored", 0)
    if report.ok:
        verb = "restored" if report.applied else "would restore"
        return f"{verb} {restored} of {total} variables from {name}"
    problems = ", ".join(
        f"{n} {s.replace('_', ' ')}"
        for s, n in counts.items()
        if s not in ("restored", "only_in_checkpoint")
    )
    return f"{name} does not fit: {problems}" + (f" ({restored} fit)" if restored else "")


def report_html(report: Any, *, max_rows: int = 200, collapse_when_ok: bool = True) -> str:
    """A :class:`~tfexplore.live.RestoreReport` as HTML: a headline with counts, the rows
    coloured by status (problems first), the proposed mapping and ``as_code()``. When
    everything fits, the rows are folded away behind the one-line headline
    (``collapse_when_ok``): nothing there needs reading."""
    counts = ", ".join(
        f"<span style='background:{STATUS_COLORS.get(s, '#fff')};color:{STATUS_TEXT};"
        f"padding:0 4px;border-radius:3px'>{n} {s}</span>"
        for s, n in report.counts.items()
    )
    verdict = (
        f"<b style='background:#d8f0d8;color:{STATUS_TEXT};padding:0 4px;border-radius:3px'>"
        "&#10003; fits</b>"
        if report.ok
        else f"<b style='background:#fbd5d5;color:{STATUS_TEXT};padding:0 4px;border-radius:3px'>"
        "&#10007; does not fit</b>"
    )
    head = (
        f"<div class='tfx-report-head'>{verdict} {html.escape(report_summary(report))} "
        f"— {counts or 'no variables'}</div>"
    )
    rows = _report_rows(report, max_rows)
    if report.ok and collapse_when_ok:
        summary = f"<summary>the {len(report.frame)} rows</summary>"
        rows = f"<details class='tfx-report-details'>{summary}{rows}</details>"
    return head + rows + _proposal_html(report)


def _report_rows(report: Any, max_rows: int) -> str:
    frame = report.frame
    order = frame["status"].map(
        {s: i for i, s in enumerate(["missing_in_checkpoint", "shape_mismatch", "dtype_mismatch"])}
    )
    frame = frame.assign(_order=order.fillna(9)).sort_values("_order", kind="stable")
    columns = ["status", "graph_name", "checkpoint_key", "graph_shape", "checkpoint_shape"]
    header = "".join(f"<th style='text-align:left'>{c}</th>" for c in columns)
    rows = []
    for record in frame.head(max_rows).to_dict("records"):
        colour = STATUS_COLORS.get(record["status"], "#fff")
        cells = "".join(f"<td>{html.escape(_cell(record[c]))}</td>" for c in columns)
        rows.append(
            f"<tr class='tfx-status-{record['status']}' style='background:{colour};"
            f"color:{STATUS_TEXT}'>{cells}</tr>"
        )
    more = (
        f"<div>… {len(frame) - max_rows} more rows (report.frame)</div>"
        if len(frame) > max_rows
        else ""
    )
    return (
        "<table class='tfx-report' style='border-collapse:collapse;font-size:12px'>"
        f"<tr>{header}</tr>{''.join(rows)}</table>{more}"
    )


def _proposal_html(report: Any) -> str:
    parts = []
    if report.proposed_prefix_rewrite:
        parts.append(
            "<div>Proposed <code>prefix_rewrite</code>: "
            f"<code>{html.escape(repr(report.proposed_prefix_rewrite))}</code></div>"
        )
    if report.proposed_mapping and not report.ok:
        pairs = "".join(
            f"<tr><td>{html.escape(k)}</td><td>→ {html.escape(v)}</td></tr>"
            for k, v in report.proposed_mapping.items()
        )
        parts.append(
            "<details open><summary>Proposed mapping (checkpoint key → variable)</summary>"
            f"<table class='tfx-proposed' style='font-size:12px'>{pairs}</table></details>"
        )
    parts.append(
        "<details><summary>As TensorFlow code</summary>"
        f"<pre class='tfx-code'>{html.escape(report.as_code())}</pre></details>"
    )
    return "".join(parts)


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)
