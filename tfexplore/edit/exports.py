"""A rewrite plan said another way: an ``assignment_map`` for
``tf.compat.v1.train.init_from_checkpoint``, a ``var_list`` for a ``Saver``, a Keras recipe,
and plain TensorFlow code that performs the rewrite without tfexplore."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import RewriteError
from .checks import _isnan, _output, _param

if TYPE_CHECKING:
    from .plan import RewritePlan

_PLAIN = ("keep", "rename")


def _pairs(plan: RewritePlan, *, roles=("variable",), what: str) -> dict[str, str]:
    table = plan.table
    rows = table[(table["action"] != "drop") & table["role"].isin(roles)]
    transformed = rows[~rows["action"].isin(_PLAIN)]
    if not transformed.empty:
        names = ", ".join(
            f"{s} ({a})" for s, a in zip(transformed["source"], transformed["action"])
        )
        raise RewriteError(
            f"{what} can only pair names; {len(transformed)} tensors need a transform: {names}.",
            expected="a plan of keeps and renames",
            hint="write the rewritten checkpoint (plan.write(path)) and restore that, or use "
            "plan.as_code()",
        )
    return dict(zip(rows["source"], rows["target"]))


def assignment_map(plan: RewritePlan) -> dict[str, str]:
    return _pairs(plan, what="An assignment_map for init_from_checkpoint")


def var_list(plan: RewritePlan) -> dict[str, str]:
    return _pairs(
        plan, roles=("variable", "slot", "step", "optimizer_state"), what="A Saver's var_list"
    )


def _expression(plan: RewritePlan, i, reader: str = "reader") -> dict[str, str]:
    """``{target name: Python expression of its value}`` for row ``i``."""
    table = plan.table
    source, action, name = table.at[i, "source"], table.at[i, "action"], table.at[i, "target"]
    value = f"{reader}.get_tensor({source!r})"
    out = _output(plan, i)
    if isinstance(out, str):
        raise RewriteError(f"Row {source!r}: {out}", hint="fix the plan first (plan.report)")
    if action == "cast":
        return {name: f"{value}.astype({out[name][1]!r})"}
    if action == "reshape":
        return {name: f"{value}.reshape({tuple(out[name][0])!r})"}
    if action == "transpose":
        perm = _param(table, i, "perm")
        perm = tuple(int(p) for p in perm) if perm else None
        return {name: f"np.transpose({value}, {perm!r})"}
    if action == "split":
        axis = table.at[i, "axis"]
        axis = 0 if axis is None or _isnan(axis) else int(axis)
        names = list(out)
        sizes = [out[n][0][axis] for n in names]
        bounds = [sum(sizes[: k + 1]) for k in range(len(sizes) - 1)]
        return {n: f"np.split({value}, {bounds!r}, axis={axis})[{k}]" for k, n in enumerate(names)}
    return {name: value}


def _values(plan: RewritePlan, roles: tuple[str, ...] | None = None) -> list[tuple[str, str]]:
    """``(target name, expression)`` for every tensor written (``roles``: only rows of those
    roles)."""
    table = plan.table
    lines: list[tuple[str, str]] = []
    merged: dict[str, list[str]] = {}
    for i in table.index:
        if table.at[i, "action"] == "drop":
            continue
        if roles is not None and table.at[i, "role"] not in roles:
            continue
        if table.at[i, "action"] == "merge":
            merged.setdefault(table.at[i, "target"], []).append(i)
            continue
        lines.extend(_expression(plan, i).items())
    for name, rows in merged.items():
        axis = table.at[rows[0], "axis"]
        axis = 0 if axis is None or _isnan(axis) else int(axis)
        parts = ", ".join(f"reader.get_tensor({table.at[i, 'source']!r})" for i in rows)
        lines.append((name, f"np.concatenate([{parts}], axis={axis})"))
    return lines


def keras_recipe(
    plan: RewritePlan, source: str | None = None, weights_file: str = "converted.weights.h5"
) -> str:
    source = source or str(plan.checkpoint.prefix)
    lines = [
        "import numpy as np",
        "import tensorflow as tf",
        "",
        f"reader = tf.train.load_checkpoint({source!r})",
        "weights = {w.path: w for w in model.weights}  # Keras 3 names weights by path",
        "# another instance of the model (sequential_1, ...) differs in the first part only",
        "by_rest = {w.path.split('/', 1)[-1]: w for w in model.weights}",
        "",
        "",
        "def weight(path):",
        "    return weights[path] if path in weights else by_rest[path.split('/', 1)[-1]]",
        "",
        "",
    ]
    for name, expression in _values(plan, roles=("variable",)):
        lines.append(f"weight({name!r}).assign({expression})")
    table = plan.table
    state = table[(table["action"] != "drop") & (table["role"] != "variable")]
    if len(state):
        lines.append(
            f"# {len(state)} optimizer slots and counters are not model weights: left out "
            "(plan.write() keeps them)"
        )
    lines += [
        "",
        "# for Keras's own loader from now on (model.load_weights takes .weights.h5 files):",
        f"model.save_weights({weights_file!r})",
        f"# later, in any program that builds the same model: model.load_weights({weights_file!r})",
    ]
    return "\n".join(lines) + "\n"


def as_code(plan: RewritePlan, source: str | None, destination: str) -> str:
    source = source or str(plan.checkpoint.prefix)
    keys = {}
    if plan.target is not None:
        keys = {v.name: v.key for v in plan.target.variables}
    lines = [
        "import numpy as np",
        "import tensorflow as tf",
        "",
        f"reader = tf.train.load_checkpoint({source!r})",
        "values = {}",
    ]
    for name, expression in _values(plan):
        lines.append(f"values[{keys.get(name, name)!r}] = {expression}")
    if plan.target is not None and plan.target.style == "object_based":
        lines += [
            "",
            "# an object-based checkpoint is written by TensorFlow from the model itself:",
            "weights = {w.path: w for w in model.weights}",
        ]
        for name, expression in _values(plan):
            lines.append(f"weights[{name!r}].assign({expression})")
        lines += [
            "checkpoint = tf.train.Checkpoint(model=model)",
            "checkpoint.save_counter  # made now, so that restore() finds one in the file",
            f"checkpoint.write({destination!r})",
        ]
    else:
        if plan.target is None and plan.checkpoint.style == "object_based":
            lines += [
                "",
                "# this writes the tensors only: tf.train.load_checkpoint reads them, but",
                "# tf.train.Checkpoint(...).restore needs the object graph, which plan.write()",
                "# writes too (renamed with the keys)",
            ]
        lines += [
            "",
            "# every tensor is in memory at once here; tfexplore's plan.write streams them",
            "tf.raw_ops.SaveV2(",
            f"    prefix={destination!r},",
            "    tensor_names=list(values),",
            "    shape_and_slices=[''] * len(values),",
            "    tensors=[tf.constant(v) for v in values.values()],",
            ")",
        ]
    return "\n".join(lines) + "\n"
