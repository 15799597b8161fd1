"""Which target tensor each source row of a rewrite plan fills: the names the target has, then
proposals by name, shape and order (``match.propose``), pairs of the same rank whose shapes
differ (so a wider layer is shown with its reason), steps to steps, and optimizer slots through
their variable; optimizer state the target cannot take is dropped, with the reason."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..artifacts.checkpoint import naming
from . import match as matching
from .checks import _blank

if TYPE_CHECKING:
    import pandas as pd

    from .targets import Target

_OPTIMIZER_ROLES = ("slot", "optimizer_state")


def match_target(table: pd.DataFrame, target: Target, aliases=None) -> list[str]:
    """Point each kept source row at a target tensor: its current name when the target has
    it, else a proposed match (variables by name, shape and order; slots through their
    variable; steps to steps); optimizer state the target cannot take is dropped, said why."""
    notes = []
    by_name = target.by_name
    by_key = {v.key: v for v in target.variables}
    target_slots = [v for v in target.variables if v.role == "slot"]
    target_optimizers = {_optimizer_kind(v) for v in target_slots}
    live = table["action"] != "drop"
    # 1. names the target has
    taken = set()
    for i in table.index[live]:
        name = table.at[i, "target"]
        v = by_name.get(name) or by_key.get(name)
        if v is not None and v.name not in taken:
            table.at[i, "target"] = v.name
            taken.add(v.name)
        else:
            table.at[i, "target"] = None
            table.at[i, "confidence"] = None
    # 2. variables: proposed by name, shape and order
    free_sources = [
        matching.Side(
            table.at[i, "source"], table.at[i, "source_shape"], table.at[i, "source_dtype"]
        )
        for i in table.index[live]
        if _blank(table.at[i, "target"]) and table.at[i, "role"] == "variable"
    ]
    free_targets = [
        matching.Side(v.name, v.shape, v.dtype)
        for v in target.variables
        if v.role == "variable" and v.name not in taken
    ]
    row_of = dict(zip(table["source"], table.index))
    for m in matching.propose(free_sources, free_targets, aliases=aliases):
        i = row_of[m.source]
        table.at[i, "target"] = m.target
        table.at[i, "action"] = "rename" if m.target != m.source else "keep"
        table.at[i, "confidence"] = m.confidence
        table.at[i, "why"] = f"proposed: {m.why}"
        taken.add(m.target)
    # 2b. what is left, by name among tensors of the same rank: a pair whose shapes differ
    # (a wider layer) is shown with the reason rather than as unused + not filled
    left_sources = [
        matching.Side(
            table.at[i, "source"],
            ("rank", len(table.at[i, "source_shape"])),
            table.at[i, "source_dtype"],
        )
        for i in table.index[live]
        if _blank(table.at[i, "target"]) and table.at[i, "role"] == "variable"
    ]
    left_targets = [
        matching.Side(v.name, ("rank", len(v.shape)), v.dtype)
        for v in target.variables
        if v.role == "variable" and v.name not in taken
    ]
    for m in matching.propose(left_sources, left_targets, aliases=aliases):
        if m.confidence < 0.5:
            continue
        i = row_of[m.source]
        table.at[i, "target"], table.at[i, "action"] = m.target, "rename"
        table.at[i, "confidence"] = m.confidence
        table.at[i, "why"] = f"proposed by name; the shapes differ ({m.why})"
        taken.add(m.target)
    # 3. steps to steps
    steps = [v for v in target.variables if v.role == "step" and v.name not in taken]
    for i in table.index[live & (table["role"] == "step")]:
        if _blank(table.at[i, "target"]):
            if steps:
                v = steps.pop(0)
                table.at[i, "target"], table.at[i, "action"] = v.name, "rename"
                table.at[i, "confidence"], table.at[i, "why"] = 1.0, "the step"
                taken.add(v.name)
            else:
                _auto_drop(table, i, "the target has no step variable")
    # 4. slots through their variable
    target_of_variable = dict(zip(table["source"], table["target"]))
    slots_of_target: dict[tuple[str, str], TargetVariableLike] = {}
    for v in target_slots:
        slots_of_target[(v.slot_of, _slot_label(v))] = v
    for i in table.index[live & table["role"].isin(_OPTIMIZER_ROLES)]:
        if not _blank(table.at[i, "target"]):
            continue
        role = table.at[i, "role"]
        if role == "slot":
            new_variable = target_of_variable.get(table.at[i, "slot_of"])
            label = _source_slot_label(table, i)
            v = slots_of_target.get((new_variable, label)) if new_variable else None
            if v is not None and v.name not in taken:
                table.at[i, "target"], table.at[i, "action"] = v.name, "rename"
                table.at[i, "confidence"] = table.at[row_of[table.at[i, "slot_of"]], "confidence"]
                table.at[i, "why"] = f"slot follows {table.at[i, 'slot_of']}"
                taken.add(v.name)
                continue
        if not target_slots:
            _auto_drop(table, i, "the target has no optimizer state")
        elif _source_optimizer(table, i) not in target_optimizers:
            _auto_drop(table, i, "the target's optimizer differs")
    changed = _optimizer_change(table, target_optimizers)
    if changed:
        notes.append(changed)
    return notes


TargetVariableLike = Any


def _auto_drop(table, i, why: str) -> None:
    table.at[i, "action"], table.at[i, "target"] = "drop", None
    table.at[i, "confidence"], table.at[i, "why"] = None, f"dropped: {why}"


def _slot_label(v) -> str:
    return (v.slot or "").split()[-1] if v.slot else ""


def _source_slot_label(table, i) -> str:
    key = table.at[i, "source"]
    variable = table.at[i, "slot_of"] or ""
    info = naming.tf1_slot(key, [variable, key]) if variable else None
    if info is not None:
        return info[2].split()[-1]
    return key.rsplit("/", 1)[-1]


def _optimizer_kind(v) -> str | None:
    if v.slot:
        return v.slot.split()[0].lower() if " " in v.slot else v.slot.lower()
    return None


def _source_optimizer(table, i) -> str | None:
    key = table.at[i, "source"]
    variable = table.at[i, "slot_of"]
    if variable:
        info = naming.tf1_slot(key, [variable, key])
        if info is not None:
            kind = naming._optimizer_kind(info[1])
            return (kind or info[1]).lower()
    for kind in naming.TF1_SLOTS:
        if kind.lower() in key.lower():
            return kind.lower()
    return None


def _optimizer_change(table, target_optimizers: set) -> str | None:
    dropped = table[table["why"].fillna("").str.endswith("the target's optimizer differs")]
    if dropped.empty:
        return None
    sources = {_source_optimizer(table, i) for i in dropped.index} - {None}
    targets = target_optimizers - {None}
    return (
        f"optimizer changed: {', '.join(sorted(sources)) or 'unknown'} -> "
        f"{', '.join(sorted(targets)) or 'unknown'}; {len(dropped)} optimizer tensors of the "
        "checkpoint are dropped and the target's start from their initial values"
    )
