"""The checks of a rewrite plan: what each row would write (``out_shape``, ``out_dtype``),
whether it fits the target, and the report of problems, one row each: sources used by
nothing, targets nothing fills, two sources on one target, shapes and dtypes that disagree
after the action (a wider layer refused with the reason), slots left without their variable,
an optimizer that changed, the step and the TF2 object graph."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..artifacts.checkpoint import naming

if TYPE_CHECKING:
    import pandas as pd

    from .plan import RewritePlan

SEVERITIES = ("error", "warning", "info")
COMPUTED = ("out_shape", "out_dtype", "expected_shape", "expected_dtype")
ACTIONS = ("keep", "rename", "drop", "cast", "reshape", "transpose", "split", "merge")


def _filled_by(table) -> dict[str, list[str]]:
    """``{target name: [source keys]}`` of the rows that write something."""
    filled: dict[str, list[str]] = {}
    for source, action, target in zip(table["source"], table["action"], table["target"]):
        if action == "drop" or not isinstance(target, str) or not target:
            continue
        for name in target.split("|") if action == "split" else [target]:
            filled.setdefault(name, []).append(source)
    return filled


def check(plan: RewritePlan) -> pd.DataFrame:
    """The report of ``plan`` (see :attr:`RewritePlan.report`); fills the table's computed
    columns as it goes."""
    import pandas as pd

    table, target = plan.table, plan.target
    findings: list[dict] = []

    def add(severity, check_name, source, target_name, message):
        findings.append(
            {
                "severity": severity,
                "check": check_name,
                "source": source,
                "target": target_name,
                "message": message,
            }
        )

    by_name = target.by_name if target is not None else {}
    filled = _filled_by(table)
    status = {}
    dropped: dict[tuple[str, str], list[str]] = {}
    index = list(table.index)
    records = dict(zip(index, table.to_dict("records")))
    computed = {c: dict.fromkeys(index) for c in COMPUTED}
    action_of = dict(zip(table["source"], table["action"]))
    row_of = dict(zip(table["source"], index))
    for i, row in records.items():
        source, action = row["source"], row["action"]
        name, role = row["target"], row["role"]
        if action not in ACTIONS:
            add("error", "action", source, name, f"unknown action {action!r}")
            status[i] = "action"
            continue
        if action == "drop":
            if role != "object_graph":
                why = row["why"]
                dropped.setdefault((role, "" if _blank(why) else why), []).append(source)
            status[i] = "ok"
            continue
        if not isinstance(name, str) or not name:
            add(
                "error",
                "unused",
                source,
                None,
                "used by nothing: give it a target (plan.set(source, target=...)) or drop it",
            )
            status[i] = "unused"
            continue
        out = _output(plan, i, row)
        if isinstance(out, str):
            add("error", action, source, name, out)
            status[i] = action
            continue
        for target_name, (shape, dtype) in out.items():
            computed["out_shape"][i], computed["out_dtype"][i] = shape, dtype
            if target is None:
                continue
            v = by_name.get(target_name)
            if v is None:
                add(
                    "error",
                    "unknown_target",
                    source,
                    target_name,
                    f"the target has no tensor {target_name!r}"
                    + _close_hint_text(target_name, by_name),
                )
                status[i] = "unknown_target"
                continue
            computed["expected_shape"][i], computed["expected_dtype"][i] = v.shape, v.dtype
            if action == "merge":
                continue  # checked on the merged whole below
            problem = _fit(shape, dtype, v, action)
            if problem:
                add(
                    "error",
                    "shape" if "shape" in problem else "dtype",
                    source,
                    target_name,
                    problem,
                )
                status[i] = "shape" if "shape" in problem else "dtype"
        confidence = row["confidence"]
        if confidence is not None and not _isnan(confidence) and confidence < 0.5:
            add(
                "warning",
                "low_confidence",
                source,
                name,
                f"proposed with confidence {confidence:.2f}: check it",
            )
    # several sources on one target
    for name, sources in filled.items():
        if len(sources) == 1 and action_of[sources[0]] != "merge":
            continue
        actions = {action_of[s] for s in sources}
        rows = [row_of[s] for s in sources]
        if len(sources) > 1 and actions != {"merge"}:
            add(
                "error",
                "collision",
                "|".join(sources),
                name,
                f"{len(sources)} sources write {name!r}: keep one or merge them (action='merge')",
            )
            for i in rows:
                status[i] = "collision"
        elif actions == {"merge"}:
            problem, merged = _merge_problem(plan, name, [records[i] for i in rows])
            for i in rows:
                computed["out_shape"][i] = merged
            if problem:
                add("error", "merge", "|".join(sources), name, problem)
                for i in rows:
                    status[i] = "merge"
    # slots whose variable is gone
    actions_of = dict(zip(table["source"], table["action"]))
    for i in table.index[(table["role"] == "slot") & (table["action"] != "drop")]:
        variable = table.at[i, "slot_of"]
        if actions_of.get(variable) == "drop":
            add(
                "error",
                "slot",
                table.at[i, "source"],
                table.at[i, "target"],
                f"a slot of {variable}, which is dropped: drop it too",
            )
            status[i] = "slot"
    # targets nothing fills
    if target is not None:
        for v in target.variables:
            if v.name in filled:
                continue
            if v.name in plan.initialized:
                add(
                    "warning" if v.role == "variable" else "info",
                    "init",
                    None,
                    v.name,
                    f"not in the checkpoint: starts from its initial value ({v.role})",
                )
            elif v.role == "save_counter":
                continue
            else:
                keep = (
                    f", or plan.init_missing({v.name!r}) to keep its initial value"
                    if v.initial is not None
                    else " (the target states no initial value for it)"
                )
                add(
                    "error",
                    "not_filled",
                    None,
                    v.name,
                    f"nothing fills this {v.role} {list(v.shape)} {v.dtype}: map a source to "
                    f"it{keep}",
                )
    for (role, why), sources in dropped.items():
        severity = "warning" if role == "variable" and why.startswith("dropped:") else "info"
        words = why[len("dropped: ") :] if why.startswith("dropped: ") else why or "dropped"
        what = f"{len(sources)} {role}{'s' if len(sources) > 1 else ''} dropped"
        add(
            severity,
            "dropped",
            sources[0] if len(sources) == 1 else f"{len(sources)} tensors",
            None,
            f"{what}: {words}",
        )
    slot_rows = table[table["role"] == "slot"]
    state_kept = table[(table["role"] == "optimizer_state") & (table["action"] != "drop")]
    if len(slot_rows) and (slot_rows["action"] == "drop").all() and len(state_kept):
        names = ", ".join(state_kept["source"].head(3))
        add(
            "warning",
            "optimizer_state",
            names,
            None,
            f"every optimizer slot is dropped but {len(state_kept)} optimizer tensors are kept "
            f"({names}): drop them too (drop_optimizer=True, --drop-optimizer) unless meant",
        )
    for note in plan.notes:
        add("warning", "optimizer", None, None, note)
    for note in target.notes if target is not None else ():
        add("info", "target", None, None, note)
    if target is None and plan.checkpoint.style == "object_based":
        _object_keys_kept(table, add)
    steps = table[(table["role"] == "step")]
    for i in steps.index:
        if table.at[i, "action"] != "drop":
            add(
                "info",
                "step",
                table.at[i, "source"],
                table.at[i, "target"],
                "the training step is kept",
            )
    if (table["role"] == "object_graph").any():
        style = target.style if target is not None else plan.checkpoint.style
        message = (
            "TF2 object graph: written for the target model"
            if target is not None and target.object_graph
            else "TF2 object graph: rewritten with the new keys"
            if style == "object_based"
            else "TF2 object graph: not written (the result is name-based)"
        )
        add("info", "object_graph", naming.OBJECT_GRAPH_KEY, None, message)
    for column, values in computed.items():
        table[column] = pd.Series([values[i] for i in index], index=table.index, dtype=object)
    table["status"] = [status.get(i, "ok") for i in index]
    order = {s: n for n, s in enumerate(SEVERITIES)}
    frame = pd.DataFrame(findings, columns=["severity", "check", "source", "target", "message"])
    if not frame.empty:
        frame = frame.sort_values("severity", key=lambda s: s.map(order), kind="stable")
    return frame.reset_index(drop=True)


def _object_keys_kept(table, add) -> None:
    """An object-based checkpoint names each value ``<object path>/.ATTRIBUTES/<attribute>``
    and its object graph points at that key: a rename must keep the attribute part, or
    ``tf.train.Checkpoint`` cannot restore it."""
    marker = "/.ATTRIBUTES/"
    for source, action, name in zip(table["source"], table["action"], table["target"]):
        if action == "drop" or marker not in source or not isinstance(name, str):
            continue
        for part in name.split("|"):
            tail = source[source.index(marker) :]
            if not part.endswith(tail):
                add(
                    "error",
                    "object_key",
                    source,
                    part,
                    f"an object-based key ends in {tail!r} (what the object graph points "
                    f"at); {part!r} does not, so tf.train.Checkpoint could not restore it: "
                    "rename the object path before /.ATTRIBUTES/ (prefix={'model/old/': "
                    "'model/new/'})",
                )


def _param(table, i, column, row=None):
    """An action's parameter, ``None`` when the cell is empty (``row``: the row as a dict,
    when the caller has it)."""
    value = row[column] if row is not None else table.at[i, column]
    if isinstance(value, (tuple, list, np.ndarray)):
        return tuple(value)
    return None if _blank(value) else value


def _blank(value) -> bool:
    """An empty cell: ``None``, NaN or ``""`` (pandas turns ``None`` into NaN in places)."""
    return value is None or value == "" or _isnan(value)


def _isnan(value) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _output(plan: RewritePlan, i, row=None) -> dict[str, tuple[tuple, str]] | str:
    """What row ``i`` writes: ``{target name: (shape, dtype)}``, or why it cannot (``row``:
    the row as a dict, when the caller has it)."""
    table = plan.table
    if row is None:
        row = table.loc[i].to_dict()
    shape, dtype = tuple(row["source_shape"]), row["source_dtype"]
    action, name = row["action"], row["target"]
    expected = plan.target.by_name.get(name) if plan.target is not None else None
    if action in ("keep", "rename", "merge"):
        return {name: (shape, dtype)}
    if action == "cast":
        to = _param(table, i, "to_dtype", row) or (expected.dtype if expected else None)
        if not to:
            return "cast needs to_dtype (or a target that has a dtype)"
        if dtype == "string" or to == "string":
            return f"cannot cast {dtype} to {to}"
        return {name: (shape, str(to))}
    if action == "reshape":
        to = _param(table, i, "to_shape", row)
        to = to if to is not None else (expected.shape if expected else None)
        if to is None:
            return "reshape needs to_shape (or a target that has a shape)"
        to = tuple(int(d) for d in to)
        if math.prod(to) != math.prod(shape):
            return (
                f"reshape cannot make {list(shape)} ({math.prod(shape)} values) into "
                f"{list(to)} ({math.prod(to)} values)"
            )
        return {name: (to, dtype)}
    if action == "transpose":
        perm = _param(table, i, "perm", row)
        perm = tuple(range(len(shape)))[::-1] if not perm else tuple(int(p) for p in perm)
        if sorted(perm) != list(range(len(shape))):
            return (
                f"perm {list(perm)} is not a permutation of the {len(shape)} axes of {list(shape)}"
            )
        return {name: (tuple(shape[p] for p in perm), dtype)}
    if action == "split":
        names = name.split("|")
        axis = 0 if _blank(row["axis"]) else int(row["axis"])
        if not -len(shape) <= axis < len(shape):
            return f"axis {axis} is out of range for {list(shape)}"
        axis %= len(shape)
        sizes = _split_sizes(plan, names, shape, axis)
        if isinstance(sizes, str):
            return sizes
        out = {}
        for part, size in zip(names, sizes):
            piece = list(shape)
            piece[axis] = size
            out[part] = (tuple(piece), dtype)
        return out
    return f"unknown action {action!r}"


def _split_sizes(plan, names, shape, axis) -> list[int] | str:
    by_name = plan.target.by_name if plan.target is not None else {}
    if all(n in by_name for n in names):
        sizes = [by_name[n].shape[axis] if len(by_name[n].shape) > axis else -1 for n in names]
        if sum(sizes) == shape[axis] and all(s > 0 for s in sizes):
            return sizes
    if shape[axis] % len(names):
        return f"{shape[axis]} does not split into {len(names)} equal parts along axis {axis}"
    return [shape[axis] // len(names)] * len(names)


def _merge_problem(
    plan: RewritePlan, name: str, rows: list[dict]
) -> tuple[str | None, tuple | None]:
    """Why the parts ``rows`` (dicts, in order) cannot be joined into ``name``, and the joined
    shape (``None`` when they cannot be joined)."""
    axes = {0 if _blank(r["axis"]) else int(r["axis"]) for r in rows}
    if len(axes) > 1:
        return f"the parts of {name!r} name different axes: {sorted(axes)}", None
    axis = axes.pop()
    shapes = [tuple(r["source_shape"]) for r in rows]
    dtypes = {r["source_dtype"] for r in rows}
    if len(dtypes) > 1:
        return f"the parts of {name!r} have different dtypes: {sorted(dtypes)}", None
    rank = len(shapes[0])
    if any(len(s) != rank for s in shapes) or not -rank <= axis < rank:
        listed = [list(s) for s in shapes]
        return f"the parts of {name!r} cannot be joined along axis {axis}: {listed}", None
    axis %= rank
    for s in shapes:
        if any(d != shapes[0][k] for k, d in enumerate(s) if k != axis):
            listed = [list(s) for s in shapes]
            return f"the parts of {name!r} differ off axis {axis}: {listed}", None
    merged = list(shapes[0])
    merged[axis] = sum(s[axis] for s in shapes)
    if plan.target is not None and name in plan.target.by_name:
        return _fit(tuple(merged), dtypes.pop(), plan.target.by_name[name], "merge"), tuple(merged)
    return None, tuple(merged)


def _fit(shape, dtype, v, action) -> str | None:
    """Why ``shape``/``dtype`` cannot fill target ``v``, in words; ``None`` when it can."""
    expected = tuple(v.shape)
    if len(expected) == len(shape) and all(e in (-1, s) for e, s in zip(expected, shape)):
        if dtype != v.dtype:
            return (
                f"dtype {dtype} but {v.name!r} is {v.dtype}: set action='cast' "
                f"(to_dtype={v.dtype!r}) if that is meant"
            )
        return None
    words = f"shape {list(shape)} but {v.name!r} is {list(expected)}"
    if len(expected) == len(shape):
        grown = [k for k, (e, s) in enumerate(zip(expected, shape)) if e > s]
        if grown and all(e >= s for e, s in zip(expected, shape)):
            k = grown[0]
            return (
                f"{words}: the target is wider (axis {k}: {expected[k]} > {shape[k]}); a "
                f"checkpoint cannot fill the {expected[k] - shape[k]} values it does not have. "
                "Refused: keep the old width, or leave this tensor to its initial value "
                "(drop the source and plan.init_missing(...))"
            )
        if sorted(expected) == sorted(shape) and len(shape) == 2:
            return f"{words}: the axes are swapped; set action='transpose' if the layout differs"
    if math.prod(expected) == math.prod(shape):
        return f"{words}: the same number of values; set action='reshape' if that is meant"
    return words


def _cell(value):
    if isinstance(value, list):
        return tuple(value)
    return value


def _close_hint(name: str, names) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(names), n=3)
    return "close names: " + ", ".join(close) if close else "see plan.table['source']"


def _close_hint_text(name: str, names) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(names), n=2)
    return f" (close: {', '.join(close)})" if close else ""
