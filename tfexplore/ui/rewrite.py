"""The rewrite panel's logic (behind :class:`~tfexplore.widgets.RewritePanel`), testable
without ipywidgets: a :class:`~tfexplore.edit.plan.RewritePlan` shown as source and target
side by side, rows coloured by the confidence of a proposed match, problems on their rows,
one row edited at a time, rename rules typed as text, the plan written.

:class:`RewriteModel` holds the plan and answers what the panel shows (:meth:`header_html`,
:meth:`table_html`, :meth:`target_choices`) and does what its buttons do (:meth:`apply`,
:meth:`apply_rules`, :meth:`write`). Every name from a file is escaped in every piece of
HTML (a tensor may be called ``<img src=x onerror=alert(1)>``).

Example::

    >>> model = RewriteModel("bert/model.ckpt-1000", to=keras_model)      # doctest: +SKIP
    >>> model.header()["problems"]                                         # doctest: +SKIP
    0
    >>> model.apply("bert/pooler/dense/kernel", target="pooler/kernel")    # doctest: +SKIP
    >>> model.write("converted/model.ckpt").prefix                         # doctest: +SKIP
"""

from __future__ import annotations

import difflib
import html
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..edit.checks import ACTIONS
from ..edit.plan import split_rule
from ..errors import RewriteError
from ..graph.query import parse_query
from ..scene.palette import dark_twin

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "RewriteModel",
    "TIERS",
    "TIER_COLORS",
    "confidence_tier",
    "parse_rules",
    "parse_ints",
    "restore_hint",
    "REWRITE_STYLE",
]

#: ``tier: (light background, dark-theme background)``; light rows carry dark text, dark rows
#: white text (the palette's twins, each at least 7:1 under its text). ``rule`` and ``drop``
#: rows are neutral: the theme's own colours.
TIER_COLORS = {
    "high": ("#8de5a1", dark_twin("#8de5a1")),  # a proposed match, confidence >= 0.9
    "mid": ("#fffea3", dark_twin("#fffea3")),  # 0.6 <= confidence < 0.9
    "low": ("#ff9f9b", dark_twin("#ff9f9b")),  # confidence < 0.6, or no match at all
}
TIERS = ("high", "mid", "low", "rule", "drop")
_LIGHT_TEXT, _DARK_TEXT = "#1f2328", "#ffffff"


def _style() -> str:
    rows = []
    for tier, (light, dark) in TIER_COLORS.items():
        rows.append(f".tfx-rw-{tier}{{background:{light};color:{_LIGHT_TEXT}}}")
        rows.append(
            f"body[data-jp-theme-light='false'] .tfx-rw-{tier}{{background:{dark};"
            f"color:{_DARK_TEXT}}}"
        )
    return (
        "<style>"
        ".tfx-rewrite-table{border-collapse:collapse;font-size:12px;"
        "color:var(--jp-ui-font-color1,#1f2328)}"
        ".tfx-rewrite-table td,.tfx-rewrite-table th{padding:1px 6px;text-align:left;"
        "white-space:nowrap;border-bottom:1px solid var(--jp-border-color2,#e0e0e0)}"
        ".tfx-rewrite-table th{background:var(--jp-layout-color2,#eeeeee);"
        "color:var(--jp-ui-font-color1,#1f2328)}"
        ".tfx-rewrite-table th.tfx-rw-side{text-align:center}"
        ".tfx-rewrite-table .tfx-rw-gap{border-left:2px solid var(--jp-border-color1,#bbb)}"
        ".tfx-rewrite-table tr.tfx-rw-row{cursor:pointer}"
        ".tfx-rewrite-table td.tfx-rw-msg{white-space:normal;padding-left:14px}"
        ".tfx-rewrite-table td.tfx-rw-msg div{position:sticky;left:14px;max-width:860px}"
        ".tfx-rewrite-table tr.tfx-rw-has-msg td{border-bottom:none}"
        ".tfx-rw-problem td:first-child,.tfx-rw-problem-msg td:first-child"
        "{box-shadow:inset 5px 0 0 #d1242f}"
        ".tfx-rw-selected td{outline:2px solid var(--jp-brand-color1,#1976d2);"
        "outline-offset:-2px}" + "".join(rows) + ".tfx-rw-head .tfx-rw-ready{background:#8de5a1;"
        f"color:{_LIGHT_TEXT};padding:0 5px;border-radius:3px}}"
        f".tfx-rw-head .tfx-rw-blocked{{background:#ff9f9b;color:{_LIGHT_TEXT};padding:0 5px;"
        "border-radius:3px}"
        ".tfx-rw-legend span{padding:0 5px;margin-right:4px;border-radius:3px}"
        ".tfx-rw-legend .tfx-rw-rule,.tfx-rw-legend .tfx-rw-drop{"
        "border:1px solid var(--jp-border-color1,#bbb)}"
        "</style>"
    )


#: the table's CSS: colours per tier for light themes and their twins under JupyterLab's dark
#: themes (``body[data-jp-theme-light='false']``); neutral parts use the ``--jp-*`` variables
REWRITE_STYLE = _style()


# == small parsers =============================================================================
def parse_ints(text: Any, what: str) -> tuple[int, ...] | None:
    """``"1, 0"`` or ``"[2, 6]"`` -> ``(1, 0)``; blank -> ``None``; else a ``RewriteError``."""
    if text is None:
        return None
    if isinstance(text, (tuple, list)):
        return tuple(int(v) for v in text)
    cleaned = str(text).strip().strip("()[]").strip()
    if not cleaned:
        return None
    try:
        return tuple(int(part) for part in re.split(r"[,\s]+", cleaned) if part)
    except ValueError as exc:
        raise RewriteError(
            f"{what} must be whole numbers separated by commas; received {str(text)!r}.",
            hint=f"{what}: 1, 0",
        ) from exc


def parse_rules(text: str) -> dict[str, Any]:
    """Rename rules typed one per line (or separated by ``;``) as ``rewrite`` keywords:
    ``old/=new/`` (a prefix: ``prefix={'old/': 'new/'}``), ``re:PATTERN=REPLACEMENT`` (a
    regex), ``scope:old=new`` (a scope moved). An empty right side removes the prefix.

    Example::

        >>> parse_rules("bert/=\\nre:^cls/(.*)=head/\\\\1")
        {'prefix': {'bert/': ''}, 'regex': {'^cls/(.*)': 'head/\\\\1'}}
    """
    rules: dict[str, Any] = {}
    for raw in re.split(r"[\n;]", text or ""):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        kind = "prefix"
        for word in ("re:", "regex:", "scope:", "prefix:"):
            if line.lower().startswith(word):
                kind = {"re:": "regex", "regex:": "regex"}.get(word, word[:-1])
                line = line[len(word) :].strip()
                break
        old, new = split_rule(line, kind)
        rules.setdefault(kind, {})[old.strip()] = new.strip()
    return rules


def confidence_tier(action: Any, target: Any, confidence: Any, why: Any) -> str:
    """How sure the row is: ``drop`` (dropped), ``low`` (no target at all), ``rule`` (set by
    a rule, a name the target has, or you), else ``high`` / ``mid`` / ``low`` by the
    proposal's confidence (>= 0.9, >= 0.6, below)."""
    if action == "drop":
        return "drop"
    if _blank(target):
        return "low"
    why = "" if _blank(why) else str(why)
    proposed = why.startswith("proposed") or why.startswith("slot follows")
    if not proposed or _blank(confidence):
        return "rule"
    value = float(confidence)
    return "high" if value >= 0.9 else "mid" if value >= 0.6 else "low"


def restore_hint(written: Any, target: Any, source_style: str) -> str:
    """The plain TensorFlow line that restores ``written`` (a tfexplore ``Checkpoint``)."""
    prefix = str(written.prefix)
    style = target.style if target is not None else source_style
    if style == "object_based":
        if target is not None and target.kind == "Checkpoint":
            return f"checkpoint.restore({prefix!r}).assert_existing_objects_matched()"
        holder = "model=model" if target is not None else "...the objects you saved, by name"
        return (
            f"tf.train.Checkpoint({holder}).restore({prefix!r}).assert_existing_objects_matched()"
        )
    if Path(f"{prefix}.meta").exists():
        return (
            f"saver = tf.compat.v1.train.import_meta_graph({prefix + '.meta'!r}); "
            f"saver.restore(sess, {prefix!r})"
        )
    return f"tf.compat.v1.train.Saver().restore(sess, {prefix!r})"


# == the model =================================================================================
class RewriteModel:
    """What the rewrite panel shows and does, for one source checkpoint.

    Args:
        checkpoint: a checkpoint (prefix, folder, tfexplore ``Checkpoint``) or a ready
            :class:`~tfexplore.edit.plan.RewritePlan` (shown as it is).
        to: what the result must fit (a Keras model, ``tf.Module``, TF1 graph or ``.meta``,
            another checkpoint); ``None``: rules only.
        max_rows: rows drawn at most (the rest are counted: "showing 200 of 612").
        rules: the rules of ``Checkpoint.rewrite`` (``prefix=``, ``scope=``, ``regex=``,
            ``rename=``, ``drop=``, ``drop_optimizer=``, a dict or a function).
    """

    def __init__(
        self, checkpoint: Any, to: Any = None, *rules: Any, max_rows: int = 200, **options: Any
    ) -> None:
        from ..edit.plan import RewritePlan, rewrite

        self.max_rows = max_rows
        if isinstance(checkpoint, RewritePlan):
            self.plan = checkpoint
        else:
            self.plan = rewrite(checkpoint, list(rules) or None, to=to, **options)
        self.checkpoint = self.plan.checkpoint
        self.target = self.plan.target
        self._report: pd.DataFrame | None = None
        #: the last checkpoint written (a tfexplore ``Checkpoint``), or ``None``
        self.written: Any = None
        #: the rows edited by hand, in order (``(source, changes)``): planning again from new
        #: rules applies them again, on top of what the rules give
        self.edits: list[tuple[str, dict[str, Any]]] = []
        #: what the last :meth:`apply_rules` did with the hand edits (``kept``, ``gone``)
        self.replayed: dict[str, list[str]] = {"kept": [], "gone": []}

    # -- the plan and its report -------------------------------------------------------------
    def refresh(self) -> pd.DataFrame:
        """Run the checks on the current table (after an edit) and keep the report."""
        self._report = self.plan.report
        return self._report

    @property
    def report(self) -> pd.DataFrame:
        return self._report if self._report is not None else self.refresh()

    def header(self) -> dict[str, Any]:
        """Counts: ``tensors``, ``actions`` (per action), ``problems``, ``warnings``,
        ``ready`` (nothing blocks writing)."""
        report = self.report
        errors = int((report["severity"] == "error").sum())
        return {
            "tensors": len(self.plan.table),
            "actions": self.plan.counts,
            "problems": errors,
            "warnings": int((report["severity"] == "warning").sum()),
            "ready": errors == 0,
        }

    def header_text(self) -> str:
        """``598 tensors: 199 rename, 399 drop · 0 problems, 0 warnings · ready to write``."""
        h = self.header()
        actions = ", ".join(f"{n} {a}" for a, n in h["actions"].items())
        state = "ready to write" if h["ready"] else "fix the problems to write"
        to = f" → {self.target.kind} {self.target.label}" if self.target is not None else ""
        return (
            f"{h['tensors']} tensors{to}: {actions} · {h['problems']} problems, "
            f"{h['warnings']} warnings · {state}"
        )

    def header_html(self) -> str:
        """The header line (counts, verdict), a legend of the colours and the notes that
        belong to no row."""
        h = self.header()
        verdict = (
            "<b class='tfx-rw-ready'>&#10003; ready to write</b>"
            if h["ready"]
            else f"<b class='tfx-rw-blocked'>&#10007; {h['problems']} problems</b>"
        )
        legend = (
            "<span class='tfx-rw-legend' style='font-size:11px'>"
            "<span class='tfx-rw-high'>proposed ≥ 0.9</span>"
            "<span class='tfx-rw-mid'>0.6–0.9</span>"
            "<span class='tfx-rw-low'>&lt; 0.6 or none</span>"
            "<span class='tfx-rw-rule'>rule or yours</span></span>"
        )
        return (
            f"{REWRITE_STYLE}<div class='tfx-rw-head'>{verdict} "
            f"<span class='tfx-rw-counts'>{html.escape(self.header_text())}</span></div>"
            f"<div>{legend}</div>{self._notes_html()}"
        )

    def _notes_html(self) -> str:
        """Report rows tied to no single row (dropped groups, the optimizer, the step, the
        object graph), folded."""
        report = self.report
        loose = report[report["check"].isin(["dropped", "optimizer", "step", "object_graph"])]
        if loose.empty:
            return ""
        items = "".join(
            f"<li>{html.escape(str(r.severity))}: {html.escape(str(r.message))}</li>"
            for r in loose.itertuples()
        )
        return (
            f"<details class='tfx-rw-notes'><summary>{len(loose)} notes</summary>"
            f"<ul style='margin:2px 0;font-size:12px'>{items}</ul></details>"
        )

    # -- rows --------------------------------------------------------------------------------
    def rows(self, query: str = "", problems_only: bool = False) -> pd.DataFrame:
        """The rows the table shows, filtered by ``query`` (tfexplore's search syntax, on the
        source or the target name): first the target tensors nothing fills (``source`` is
        empty), then the source rows with problems, then the rest in the plan's order.
        Columns: ``source``, ``source_shape``, ``source_dtype``, ``action``, ``target``,
        ``target_shape``, ``target_dtype``, ``confidence``, ``tier``, ``severity``
        (``error``, ``warning`` or empty) and ``message``."""
        import pandas as pd

        report = self.report
        messages: dict[str, list[tuple[str, str]]] = {}
        unfilled = []
        for r in report.itertuples():
            if r.severity not in ("error", "warning") or r.check in ("dropped", "optimizer"):
                continue
            if _blank(r.source):
                if not _blank(r.target):
                    unfilled.append((r.target, r.severity, r.message))
                continue
            for source in str(r.source).split("|"):
                messages.setdefault(source, []).append((r.severity, r.message))
        table = self.plan.table
        by_name = self.target.by_name if self.target is not None else {}
        records = []
        for name, severity, message in unfilled:
            v = by_name.get(name)
            records.append(
                {
                    "source": None,
                    "source_shape": None,
                    "source_dtype": None,
                    "action": None,
                    "target": name,
                    "target_shape": tuple(v.shape) if v is not None else None,
                    "target_dtype": v.dtype if v is not None else None,
                    "confidence": None,
                    "tier": "low" if severity == "error" else "rule",
                    "severity": severity,
                    "message": message,
                }
            )
        for r in table.itertuples(index=False):
            found = messages.get(r.source, [])
            severity = (
                "error" if any(s == "error" for s, _ in found) else "warning" if found else ""
            )
            has_expected = not _blank_shape(r.expected_shape)
            records.append(
                {
                    "source": r.source,
                    "source_shape": tuple(r.source_shape),
                    "source_dtype": r.source_dtype,
                    "action": r.action,
                    "target": None if _blank(r.target) else r.target,
                    "target_shape": _shape_or_none(
                        r.expected_shape if has_expected else r.out_shape
                    ),
                    "target_dtype": r.expected_dtype if has_expected else _none(r.out_dtype),
                    "confidence": None if _blank(r.confidence) else float(r.confidence),
                    "tier": confidence_tier(r.action, r.target, r.confidence, r.why),
                    "severity": severity,
                    "message": "; ".join(m for _, m in found),
                }
            )
        frame = pd.DataFrame(records)
        if frame.empty:
            return frame
        query_text = (query or "").strip()
        if query_text:
            parsed = parse_query(query_text)
            keep = [
                any(isinstance(n, str) and parsed.matches_name(n) for n in (s, t))
                for s, t in zip(frame["source"], frame["target"])
            ]
            frame = frame[keep]
        if problems_only:
            frame = frame[frame["severity"] != ""]
        order = frame["source"].isna().map({True: 0, False: 2}) - (frame["severity"] == "error")
        return (
            frame.assign(_order=order).sort_values("_order", kind="stable").drop(columns="_order")
        )

    def table_html(
        self, query: str = "", selected: str | None = None, problems_only: bool = False
    ) -> str:
        """The rows as an HTML table (``max_rows`` at most, then "showing 200 of 612"): the
        source's name, shape and dtype, the action, the target's name, shape and dtype, the
        confidence, and the problem. Each ``<tr>`` carries ``data-source`` (or, for a target
        nothing fills, ``data-target``) for the browser to say which row was clicked."""
        frame = self.rows(query, problems_only)
        if frame.empty:
            searched = f" match {html.escape(repr(query))}" if (query or "").strip() else ""
            return (
                f"{REWRITE_STYLE}<div class='tfx-empty' style='font-size:12px'>"
                f"no rows{searched}</div>"
            )
        shown = frame.head(self.max_rows)
        head = (
            "<tr><th colspan='3' class='tfx-rw-side'>source (checkpoint)</th>"
            "<th class='tfx-rw-gap'>action</th><th>conf.</th>"
            "<th colspan='3' class='tfx-rw-side tfx-rw-gap'>target</th></tr>"
            "<tr><th>name</th><th>shape</th><th>dtype</th><th class='tfx-rw-gap'></th><th></th>"
            "<th class='tfx-rw-gap'>name</th><th>shape</th><th>dtype</th></tr>"
        )
        body = []
        for r in shown.itertuples(index=False):
            classes = ["tfx-rw-row", f"tfx-rw-{r.tier}"]
            if r.severity == "error":
                classes.append("tfx-rw-problem")
            elif r.severity == "warning":
                classes.append("tfx-rw-warning")
            if selected is not None and r.source == selected:
                classes.append("tfx-rw-selected")
            if isinstance(r.source, str):
                data = f"data-source='{html.escape(r.source, quote=True)}'"
            else:
                data = f"data-target='{html.escape(str(r.target), quote=True)}'"
            mark = "&#10007; " if r.severity == "error" else "&#9888; " if r.severity else ""
            cells = [
                _td(r.source if isinstance(r.source, str) else "(nothing fills it)"),
                _td(_shape_text(r.source_shape)),
                _td(r.source_dtype),
                f"<td class='tfx-rw-gap'>{html.escape(_text(r.action) or '')}</td>",
                _td(
                    ""
                    if r.confidence is None or r.confidence != r.confidence
                    else f"{r.confidence:.2f}"
                ),
                f"<td class='tfx-rw-gap'>{html.escape(_text(r.target))}</td>",
                _td(_shape_text(r.target_shape)),
                _td(r.target_dtype),
            ]
            message = _text(r.message)
            if message:
                classes.append("tfx-rw-has-msg")
            body.append(f"<tr class='{' '.join(classes)}' {data}>{''.join(cells)}</tr>")
            if message:  # on a line of its own under the row: never off to the right
                under = ["tfx-rw-msgrow", f"tfx-rw-{r.tier}"]
                under += ["tfx-rw-problem-msg"] if r.severity == "error" else []
                under += ["tfx-rw-selected"] if "tfx-rw-selected" in classes else []
                body.append(
                    f"<tr class='{' '.join(under)}' {data}><td colspan='8' class='tfx-rw-msg'>"
                    f"<div>{mark}{html.escape(message)}</div></td></tr>"
                )
        count = (
            f"showing {len(shown)} of {len(frame)} rows"
            if len(frame) > len(shown)
            else f"{len(frame)} rows"
        )
        return (
            f"{REWRITE_STYLE}<div class='tfx-rw-count' style='font-size:12px'>{count}</div>"
            f"<table class='tfx-rewrite-table'>{head}{''.join(body)}</table>"
        )

    # -- editing -----------------------------------------------------------------------------
    def row(self, source: str) -> dict[str, Any]:
        """The plan's row of ``source`` as a dict (a ``RewriteError`` names close keys when
        there is none)."""
        table = self.plan.table
        found = table[table["source"] == source]
        if found.empty:
            from ..edit.checks import _close_hint

            raise RewriteError(
                f"No source tensor {source!r} in the plan.",
                expected="a key of the source checkpoint",
                hint=_close_hint(source, table["source"]),
            )
        return {k: (None if _blank(v) else v) for k, v in found.iloc[0].to_dict().items()}

    def sources(self) -> list[str]:
        """The source keys, in the plan's order."""
        return list(self.plan.table["source"])

    def target_choices(self, source: str | None = None) -> list[str]:
        """The target names a row may take, best fit first: same shape and not yet filled,
        same shape, same number of values, the rest; by name similarity within each. Without
        a target: the row's current target only (any name may be typed)."""
        if self.target is None:
            current = self.row(source).get("target") if source else None
            return [current] if current else []
        names = [v for v in self.target.variables]
        if not source:
            return sorted(v.name for v in names)
        row = self.row(source)
        shape = tuple(row["source_shape"])
        size = math.prod(shape)
        from ..edit.checks import _filled_by

        filled = _filled_by(self.plan.table)
        base = source.lower()

        def fit(v) -> tuple:
            same = tuple(v.shape) == shape
            taken = v.name in filled and source not in filled[v.name]
            kind = (
                0 if same and not taken else 1 if same else 2 if math.prod(v.shape) == size else 3
            )
            similarity = difflib.SequenceMatcher(None, base, v.name.lower()).ratio()
            return (kind, v.role != row.get("role"), -similarity, v.name)

        return [v.name for v in sorted(names, key=fit)]

    def apply(
        self,
        source: str,
        *,
        target: str | None = None,
        action: str | None = None,
        axis: Any = None,
        perm: Any = None,
        to_shape: Any = None,
        to_dtype: Any = None,
    ) -> dict[str, Any]:
        """What *Apply* does: ``plan.set(source, ...)`` with the fields that matter for the
        action (typed text is parsed: ``perm="1, 0"``, ``to_shape="2, 6"``, ``axis="1"``),
        then the checks run again. Returns the new :meth:`header`."""
        action = action or None
        if action is not None and action not in ACTIONS:
            raise RewriteError(
                f"Unknown action {action!r}.", expected=f"one of {', '.join(ACTIONS)}"
            )
        target = (target or "").strip() or None
        changes: dict[str, Any] = {}
        if action == "drop":
            changes["action"] = "drop"
        else:
            if target is None:
                raise RewriteError(
                    f"Choose a target for {source!r} (or the action drop).",
                    hint="pick a name in the target box; its list starts with the best fits",
                )
            changes["target"] = target
            if action is not None:
                if action == "keep" and target != source:
                    action = "rename"
                changes["action"] = action
            if action in ("split", "merge"):
                text = "" if axis is None else str(axis).strip()
                if text:
                    try:
                        changes["axis"] = int(text)
                    except ValueError as exc:
                        raise RewriteError(
                            f"axis must be a whole number; received {text!r}."
                        ) from exc
            if action == "transpose":
                changes["perm"] = parse_ints(perm, "perm")
            if action == "reshape":
                changes["to_shape"] = parse_ints(to_shape, "to_shape")
            if action == "cast":
                changes["to_dtype"] = (str(to_dtype).strip() or None) if to_dtype else None
        self.row(source)  # a clear error for a name that is not there
        self.plan.set(source, **changes)
        self.edits = [(s, c) for s, c in self.edits if s != source] + [(source, changes)]
        self.refresh()
        return self.header()

    def apply_rules(self, text: str = "", drop: str = "") -> dict[str, Any]:
        """Plan again from rename rules typed as text (:func:`parse_rules`) and a drop query
        (tfexplore's search syntax), for the same target. The rows you edited by hand
        (:meth:`apply`) keep your edit, on top of what the rules give (:attr:`replayed` names
        them: ``kept``, and ``gone`` for an edit the new plan has no row for).
        Returns the new :meth:`header`."""
        from ..edit.plan import rewrite

        keywords = parse_rules(text)
        query = (drop or "").strip()
        if query:
            keywords["drop"] = query
        initialized = set(self.plan.initialized)
        plan = rewrite(self.checkpoint, to=self.target, **keywords)
        plan.initialized |= {n for n in initialized if self.target is not None}
        kept, gone = [], []
        for source, changes in self.edits:
            try:
                plan.set(source, **changes)
            except RewriteError:  # the source is not in the new plan
                gone.append(source)
            else:
                kept.append(source)
        self.plan = plan
        self.edits = [(s, c) for s, c in self.edits if s in kept]
        self.replayed = {"kept": kept, "gone": gone}
        self.refresh()
        return self.header()

    # -- writing -----------------------------------------------------------------------------
    def write(self, path: Any, *, overwrite: bool = False) -> Any:
        """``plan.write(path)`` (a ``RewriteError`` when the checks find errors: nothing is
        written). Returns the written tfexplore ``Checkpoint``."""
        text = str(path or "").strip()
        if not text:
            raise RewriteError(
                "Type where to write the new checkpoint.",
                expected="a checkpoint prefix such as converted/model.ckpt",
            )
        self.written = self.plan.write(text, overwrite=overwrite, progress=False)
        return self.written

    def restore_hint(self) -> str:
        """How plain TensorFlow restores the last checkpoint written."""
        if self.written is None:
            return ""
        return restore_hint(self.written, self.target, getattr(self.checkpoint, "style", ""))

    def written_html(self) -> str:
        """What a successful write shows: the prefix and the line that restores it."""
        if self.written is None:
            return ""
        prefix = html.escape(str(self.written.prefix))
        return (
            "<div class='tfx-rw-written' style='font-size:12px'>"
            f"<b class='tfx-rw-ready' style='background:#8de5a1;color:{_LIGHT_TEXT};"
            "padding:0 5px;border-radius:3px'>&#10003; written</b> "
            f"<code class='tfx-rw-prefix'>{prefix}</code><br/>restore with: "
            f"<code class='tfx-rw-restore'>{html.escape(self.restore_hint())}</code></div>"
        )

    def code(self) -> str:
        """``plan.as_code()`` (plain TensorFlow that performs this rewrite)."""
        return self.plan.as_code()


# == cells =====================================================================================
def _blank(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


def _blank_shape(value: Any) -> bool:
    return not isinstance(value, (tuple, list)) and _blank(value)


def _none(value: Any) -> Any:
    return None if _blank(value) else value


def _shape_or_none(value: Any) -> tuple | None:
    return tuple(value) if isinstance(value, (tuple, list)) else None


def _shape_text(value: Any) -> str:
    return "" if not isinstance(value, (tuple, list)) else "[" + ", ".join(map(str, value)) + "]"


def _text(value: Any) -> str:
    return "" if _blank(value) else str(value)


def _td(value: Any) -> str:
    return f"<td>{html.escape(_text(value))}</td>"
