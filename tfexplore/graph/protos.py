"""``NodeDef``, ``AttrValue`` and ``OpDef`` protos read into plain Python values: an op's
output signature from its ``OpDef`` (TensorFlow's registry, the file's stripped op list or a
library function), dtype names and shapes, readable attribute values, input names
(``op:1``, ``^control``).
"""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from .ops import REF_VARIABLE_OPS

__all__ = [
    "dtype_name",
    "shape_tuple",
    "readable_attr",
    "tensor_summary",
    "split_tensor_name",
    "gc_paused",
    "ShapeT",
]

#: Ops whose ``shape`` attribute is the shape of their (single) output.
_SHAPE_ATTR_OPS = frozenset(
    {"Placeholder", "PlaceholderV2", "PlaceholderWithDefault", *REF_VARIABLE_OPS}
)
_HIDDEN_ATTRS = frozenset({"_output_shapes"})

ShapeT = tuple[int | None, ...] | None


# ---------------------------------------------------------------------------------------------
# Op signatures: how many outputs an op has and of which dtype
# ---------------------------------------------------------------------------------------------
class _ArgSpec(NamedTuple):
    name: str
    type: int
    type_attr: str
    number_attr: str
    type_list_attr: str
    is_ref: bool


class _OpSpec(NamedTuple):
    outputs: tuple[_ArgSpec, ...]
    defaults: dict[str, Any]  # attr name -> AttrValue default
    source: str  # "registry", "stripped_op_list", "function"


def _spec_from_op_def(op_def, source: str) -> _OpSpec:
    outputs = tuple(
        _ArgSpec(a.name, a.type, a.type_attr, a.number_attr, a.type_list_attr, a.is_ref)
        for a in op_def.output_arg
    )
    defaults = {a.name: a.default_value for a in op_def.attr if a.HasField("default_value")}
    return _OpSpec(outputs, defaults, source)


@functools.cache
def _registry_spec(op: str) -> _OpSpec | None:
    from tensorflow.python.framework import op_def_registry

    try:
        op_def = op_def_registry.get(op)
    except Exception:  # a damaged op name can be anything
        return None
    return _spec_from_op_def(op_def, "registry") if op_def is not None else None


@functools.cache
def dtype_name(enum_value: int) -> str:
    """``1`` -> ``'float32'``, ``20`` -> ``'resource'``, ``101`` -> ``'float32_ref'``."""
    from .._tf import dtype_name as tf_dtype_name

    return tf_dtype_name(enum_value)


def shape_tuple(shape_proto) -> ShapeT:
    """A ``TensorShapeProto`` as a tuple (``None`` for unknown dims), ``None`` if rank unknown."""
    if shape_proto.unknown_rank:
        return None
    dims = tuple([d.size for d in shape_proto.dim])
    if dims and min(dims) < 0:
        return tuple(d if d >= 0 else None for d in dims)
    return dims


def _attr(node_attr, defaults: Mapping[str, Any], key: str):
    if key in node_attr:
        return node_attr[key]
    return defaults.get(key)


def _resolve_outputs(spec: _OpSpec, node_attr) -> list[tuple[str, str | None]] | None:
    """``[(output_arg_name, dtype_or_None), ...]`` flat, or ``None`` if the count is unknown."""
    result: list[tuple[str, str | None]] = []
    for arg in spec.outputs:
        if arg.type_list_attr:
            value = _attr(node_attr, spec.defaults, arg.type_list_attr)
            if value is None or value.WhichOneof("value") not in ("list", None):
                return None
            result.extend((arg.name, _dtype_or_none(t, arg.is_ref)) for t in value.list.type)
            continue
        count = 1
        if arg.number_attr:
            value = _attr(node_attr, spec.defaults, arg.number_attr)
            if value is None or value.WhichOneof("value") != "i" or not 0 <= value.i < 100_000:
                return None
            count = value.i
        enum = arg.type
        if not enum and arg.type_attr:
            value = _attr(node_attr, spec.defaults, arg.type_attr)
            enum = value.type if value is not None and value.WhichOneof("value") == "type" else 0
        result.extend([(arg.name, _dtype_or_none(enum, arg.is_ref))] * count)
    return result


def _dtype_or_none(enum: int, is_ref: bool = False) -> str | None:
    if not enum:
        return None
    name = dtype_name(enum)
    return name + "_ref" if is_ref and not name.endswith("_ref") else name


# ---------------------------------------------------------------------------------------------
# Readable attribute values
# ---------------------------------------------------------------------------------------------
def readable_attr(value) -> Any:
    """An ``AttrValue`` as a plain Python value: ``float32``, ``(3, 16)``, ``'SAME'``,
    ``[1, 2, 2, 1]``, a function name, or a short description of a tensor."""
    kind = value.WhichOneof("value")
    if kind == "s":
        return _readable_bytes(value.s)
    if kind in ("i", "f", "b"):
        return getattr(value, kind)
    if kind == "type":
        return dtype_name(value.type)
    if kind == "shape":
        return shape_tuple(value.shape)
    if kind == "tensor":
        return tensor_summary(value.tensor)
    if kind == "func":
        return value.func.name
    if kind == "placeholder":
        return f"${value.placeholder}"
    if kind == "list":
        return _readable_list(value.list)
    return None


def _readable_list(values) -> list[Any]:
    if values.s:
        return [_readable_bytes(s) for s in values.s]
    if values.i:
        return list(values.i)
    if values.f:
        return list(values.f)
    if values.b:
        return list(values.b)
    if values.type:
        return [dtype_name(t) for t in values.type]
    if values.shape:
        return [shape_tuple(s) for s in values.shape]
    if values.tensor:
        return [tensor_summary(t) for t in values.tensor]
    if values.func:
        return [f.name for f in values.func]
    return []


def _readable_bytes(data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return f"<{len(data)} bytes>"
    if len(text) > 200 or not text.isprintable():
        return f"<{len(data)} bytes>"
    return text


def tensor_summary(tensor) -> str:
    """A short description of a ``TensorProto``: ``'float32 (3, 16)'`` or ``'int32 () = 5'``.

    Scalars and tiny tensors stored in the typed fields show their value; ``tensor_content``
    is never decoded here.
    """
    shape = shape_tuple(tensor.tensor_shape)
    text = f"{dtype_name(tensor.dtype)} {shape}"
    if shape == () and not tensor.tensor_content:
        for field_name in (
            "float_val",
            "int_val",
            "int64_val",
            "bool_val",
            "double_val",
            "string_val",
        ):
            values = getattr(tensor, field_name)
            if len(values) == 1:
                value = values[0]
                if isinstance(value, bytes):
                    value = _readable_bytes(value)
                return f"{text} = {value!r}"
    return text


def _attrs_text(node_attr, limit: int = 160) -> str:
    parts = []
    for key in sorted(node_attr):
        if key in _HIDDEN_ATTRS:
            continue
        value = readable_attr(node_attr[key])
        parts.append(f"{key}={value}")
    text = ", ".join(parts)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small objects (it would scan
    them again and again); the objects built have no cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _parse_inputs_carefully(texts) -> tuple[list[tuple[str, int]], list[str]]:
    data: list[tuple[str, int]] = []
    control: list[str] = []
    for text in texts:
        if text.startswith("^"):
            control.append(text[1:])
        else:
            data.append(_input_ref(text))
    return data, control


def _input_ref(text: str) -> tuple[str, int]:
    op, index = split_tensor_name(text)
    return (op, index) if index is not None else (text, 0)


def split_tensor_name(name: str) -> tuple[str, int | None]:
    """``'a/b:1'`` -> ``('a/b', 1)``; ``'a/b'`` -> ``('a/b', None)``."""
    op, sep, index = name.rpartition(":")
    if sep and index.isdigit():
        return op, int(index)
    return name, None
