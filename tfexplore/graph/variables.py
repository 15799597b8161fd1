"""What a variable's tensors are, in prose: a ``resource`` handle of ``VarHandleOp`` and
the ``ReadVariableOp`` tensors that hold its value, or the ``*_ref`` tensor of
``VariableV2`` that *is* the variable and its ``Identity`` snapshots (:attr:`TensorInfo.note`).
"""

from __future__ import annotations

from typing import Any

from .ops import REF_VARIABLE_OPS
from .protos import readable_attr
from .records import TensorInfo

__all__ = ["explain_variable_tensor"]


# ---------------------------------------------------------------------------------------------
# Variables: handles, references and their values
# ---------------------------------------------------------------------------------------------
def explain_variable_tensor(graph: Any, info: TensorInfo, i: int) -> None:
    """Fill ``is_resource_handle`` / ``is_reference`` / ``value_tensors`` / ``note``."""
    op_type = info.op_type
    dtype = info.dtype or ""
    if dtype == "resource":
        _explain_handle(graph, info, i)
    elif op_type in REF_VARIABLE_OPS or dtype.endswith("_ref"):
        _explain_reference(graph, info, i)
    elif op_type == "ReadVariableOp" and graph._inputs[i]:
        handle_op, handle_index = graph._inputs[i][0]
        info.variable = handle_op
        info.note = (
            f"{info.name!r} is the value of resource variable {handle_op!r}, read from its "
            f"handle '{handle_op}:{handle_index}' by a ReadVariableOp."
        )
    elif op_type == "Identity" and graph._inputs[i]:
        source, _ = graph._inputs[i][0]
        j = graph._index.get(source)
        if j is not None and graph._ops[j] in REF_VARIABLE_OPS:
            info.variable = source
            info.note = (
                f"{info.name!r} is an Identity of variable {source!r} ('{source}:0'): the "
                "snapshot of its value that the rest of the graph reads."
            )


def _explain_handle(graph: Any, info: TensorInfo, i: int) -> None:
    info.is_resource_handle = True
    reads = [c.op for c in info.consumers if graph.node_op(c.op) == "ReadVariableOp"]
    info.value_tensors = [f"{op}:0" for op in reads]
    if info.op_type == "VarHandleOp":
        info.variable = info.op
        attrs = graph._protos[i].attr
        value_dtype = readable_attr(attrs["dtype"]) if "dtype" in attrs else "unknown dtype"
        value_shape = readable_attr(attrs["shape"]) if "shape" in attrs else "unknown shape"
        note = (
            f"{info.name!r} is the handle of the resource variable {info.op!r} "
            f"({value_dtype}, shape {value_shape}), not its value. "
        )
    elif info.op_type == "_Arg":
        note = (
            f"{info.name!r} is a function argument holding a resource handle (usually a "
            "variable captured by the function), not a value. "
        )
    else:
        note = f"{info.name!r} is a resource handle (made by a {info.op_type} op), not a value. "
    if reads:
        more = f" (and {len(reads) - 1} more)" if len(reads) > 1 else ""
        note += f"Its value is read by ReadVariableOp: {info.value_tensors[0]!r}{more}."
    else:
        note += "No ReadVariableOp in this graph reads it."
    info.note = note


def _explain_reference(graph: Any, info: TensorInfo, i: int) -> None:
    info.is_reference = True
    if info.op_type not in REF_VARIABLE_OPS:
        info.note = f"{info.name!r} is a reference ({info.dtype}) passed on by a {info.op_type} op."
        return
    info.variable = info.op
    snapshots = [c.op for c in info.consumers if graph.node_op(c.op) == "Identity"]
    info.value_tensors = [info.name] + [f"{op}:0" for op in snapshots]
    note = (
        f"{info.name!r} is the variable {info.op!r} itself (a reference, {info.dtype}): "
        "reading it gives its current value."
    )
    if snapshots:
        note += f" {snapshots[0] + ':0'!r} is an Identity of it that the graph's consumers read."
    info.note = note
