"""The model of one TensorFlow graph: nodes, edges, tensors and the name-scope tree.

A :class:`Graph` is built from a ``GraphDef`` proto (or from one ``FunctionDef`` body of a
function library) by reading the proto only: nothing is imported into TensorFlow and no op
runs. Building is one pass over the ``NodeDef`` messages into plain Python lists; DataFrames,
output dtypes, consumers and readable attributes are computed on first use and cached.

Example::

    >>> from tfexplore.graph import Graph
    >>> graph = Graph(graph_def)                           # doctest: +SKIP
    >>> len(graph), graph.op_types().most_common(3)         # doctest: +SKIP
    >>> graph.tensor("layer1/MatMul:0")                     # doctest: +SKIP
    TensorInfo(name='layer1/MatMul:0', op='layer1/MatMul', op_type='MatMul', ...)
    >>> graph.scope("layer1").op_count                      # doctest: +SKIP
    >>> graph.find("adam").head()                           # doctest: +SKIP

Tensor names are ``op_name:output_index`` (``layer1/W/read:0``); an input written without an
index (``layer1/W``) means output 0.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from ..errors import TensorNotFoundError, suggest
from .ops import CALL_OPS, REF_VARIABLE_OPS, VARIABLE_OPS
from .query import parse_query

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Graph",
    "Node",
    "TensorInfo",
    "Consumer",
    "Scope",
    "NODE_COLUMNS",
    "STRUCTURE_COLUMNS",
    "VARIABLE_OPS",
    "REF_VARIABLE_OPS",
]

#: Ops whose ``shape`` attribute is the shape of their (single) output.
_SHAPE_ATTR_OPS = frozenset(
    {"Placeholder", "PlaceholderV2", "PlaceholderWithDefault", *REF_VARIABLE_OPS}
)
_HIDDEN_ATTRS = frozenset({"_output_shapes"})

ShapeT = tuple[int | None, ...] | None


# ---------------------------------------------------------------------------------------------
# Public records
# ---------------------------------------------------------------------------------------------
class Consumer(NamedTuple):
    """One use of a tensor: the consuming op and which of its data inputs it is."""

    op: str
    input_index: int


@dataclass
class TensorInfo:
    """One tensor of a graph, the output ``output_index`` of the op ``op``.

    ``dtype`` is a numpy-style name (``float32``, ``resource``, ``float32_ref``) or ``None``
    when the op is unknown to this TensorFlow and to the file; ``shape`` is a tuple with
    ``None`` for unknown dimensions, or ``None`` when not recorded.

    Variables get extra explanation: a ``resource`` tensor made by ``VarHandleOp`` is a
    *handle* (``is_resource_handle``), its value is read by ``ReadVariableOp`` ops listed in
    ``value_tensors``; a ``*_ref`` tensor of ``VariableV2`` *is* the variable
    (``is_reference``). ``note`` says it in prose.
    """

    name: str
    op: str
    op_type: str
    output_index: int
    dtype: str | None
    shape: ShapeT
    consumers: list[Consumer] = field(default_factory=list)
    is_resource_handle: bool = False
    is_reference: bool = False
    variable: str | None = None
    value_tensors: list[str] = field(default_factory=list)
    note: str = ""

    def __str__(self) -> str:
        rows = [
            ("dtype", self.dtype or "unknown"),
            ("shape", "unknown" if self.shape is None else _shape_text(self.shape)),
            ("consumers", _list_text([c.op for c in self.consumers])),
        ]
        if self.value_tensors:
            rows.append(("value from", _list_text(self.value_tensors)))
        if self.note:
            rows.append(("note", self.note))
        head = f"Tensor {self.name!r}: output {self.output_index} of {self.op_type} {self.op!r}"
        return "\n".join([head] + [f"  {k:<10} {v}" for k, v in rows])

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython shows the readable text
        printer.text(str(self))


@dataclass
class Node:
    """One op (``NodeDef``) of a graph, with readable attributes.

    ``inputs`` are tensor names (``x:0``), ``control_inputs`` op names; ``consumers`` are the
    ops that use any output of this one (data or control); ``collections`` the MetaGraph
    collections it belongs to; ``function`` the library function it calls (``f`` attribute of
    ``PartitionedCall``, or the op itself when its type is a library function) and
    ``functions`` every function-valued attribute (``then_branch``, ``body`` ...).
    """

    name: str
    op: str
    device: str
    scope: str
    attrs: dict[str, Any]
    inputs: list[str]
    control_inputs: list[str]
    outputs: list[TensorInfo]
    consumers: list[str]
    collections: list[str] = field(default_factory=list)
    function: str | None = None
    functions: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        rows = [
            ("device", self.device or "(none)"),
            ("inputs", _list_text(self.inputs)),
            ("control", _list_text(self.control_inputs)),
            (
                "outputs",
                _list_text(
                    [f"{t.name} {t.dtype or '?'} {_shape_text(t.shape)}" for t in self.outputs]
                ),
            ),
            ("consumers", _list_text(self.consumers)),
        ]
        if self.collections:
            rows.append(("collections", ", ".join(self.collections)))
        if self.function:
            rows.append(("calls", self.function))
        attrs = ", ".join(f"{k}={v}" for k, v in self.attrs.items() if not k.startswith("_"))
        if attrs:
            rows.append(("attrs", attrs if len(attrs) < 200 else attrs[:197] + "..."))
        head = f"Op {self.name!r} ({self.op})"
        return "\n".join([head] + [f"  {k:<11} {v}" for k, v in rows])

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython shows the readable text
        printer.text(str(self))


def _shape_text(shape) -> str:
    if shape is None:
        return "?"
    return (
        "("
        + ", ".join("?" if d is None else str(d) for d in shape)
        + ("," if len(shape) == 1 else "")
        + ")"
    )


def _list_text(items: Sequence[str], limit: int = 6) -> str:
    items = list(items)
    if not items:
        return "(none)"
    text = ", ".join(items[:limit])
    return text + (f" ... ({len(items)} in all)" if len(items) > limit else "")


class GraphShortcuts:
    """``tensor``, ``node``, ``find`` and ``functions`` for an artifact that holds one graph
    as ``self.graph`` (a meta graph, a frozen GraphDef): the same as asking its graph."""

    graph: Graph

    def tensor(self, name: str) -> TensorInfo:
        """Shortcut for ``self.graph.tensor(name)``."""
        return self.graph.tensor(name)

    def node(self, name: str) -> Node:
        """Shortcut for ``self.graph.node(name)``."""
        return self.graph.node(name)

    def find(self, pattern: str | re.Pattern, **options: Any) -> pd.DataFrame:
        """Shortcut for ``self.graph.find(pattern)``."""
        return self.graph.find(pattern, **options)

    @property
    def functions(self):
        """The function library: ``{name: Graph}``, each built on first access (frozen graphs
        usually have none)."""
        return self.graph.functions


class Scope:
    """A name scope: ``layer1`` holds every op named ``layer1/...``.

    ``ops`` are the ops directly inside (full names), ``children`` the sub-scopes by their
    short name, ``op_count`` and ``op_types`` count every op below, descendants included.
    ``node`` is set when an op has the scope's own name (``layer1`` next to ``layer1/W``);
    ``parent`` is the enclosing scope (``None`` for the root).

    Example::

        >>> graph.scope("layer1").op_count                    # doctest: +SKIP
        12
        >>> graph.scopes.children["layer1"].op_types          # doctest: +SKIP
        Counter({'Const': 4, 'Identity': 2, ...})
    """

    __slots__ = (
        "name",
        "parent",
        "children",
        "ops",
        "op_count",
        "node",
        "_direct_types",
        "_op_types",
    )

    def __init__(self, name: str, parent: Scope | None = None) -> None:
        self.name = name
        self.parent = parent
        self.children: dict[str, Scope] = {}
        self.ops: list[str] = []
        self.op_count = 0
        self.node: str | None = None
        self._direct_types: tuple[Sequence[str], list[int]] = ((), [])  # (all op types, members)
        self._op_types: Counter | None = None

    @property
    def op_types(self) -> Counter:
        """How many ops of each type this scope holds, descendants included."""
        if self._op_types is None:
            counts = self.direct_op_types
            for child in self.children.values():
                counts.update(child.op_types)
            self._op_types = counts
        return self._op_types

    @property
    def direct_op_types(self) -> Counter:
        """Op types of the ops directly in this scope (not in sub-scopes)."""
        types, members = self._direct_types
        return Counter([types[i] for i in members])

    @property
    def short_name(self) -> str:
        """The last component of the name (``'dense'`` for ``'layer1/dense'``)."""
        return self.name.rpartition("/")[2]

    @property
    def depth(self) -> int:
        """0 for the root, 1 for ``layer1``, 2 for ``layer1/dense``."""
        return self.name.count("/") + 1 if self.name else 0

    def walk(self) -> Iterator[Scope]:
        """This scope and every scope below it, parents before children."""
        stack = [self]
        while stack:
            scope = stack.pop()
            yield scope
            stack.extend(reversed(list(scope.children.values())))

    def __repr__(self) -> str:
        name = self.name or "(root)"
        return (
            f"Scope({name!r}, op_count={self.op_count}, direct_ops={len(self.ops)}, "
            f"children={len(self.children)})"
        )


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


# ---------------------------------------------------------------------------------------------
# The graph
# ---------------------------------------------------------------------------------------------
class Graph:
    """The model of one ``GraphDef``, or of one ``FunctionDef`` body (:meth:`from_function`).

    Args:
        graph_def: a ``tensorflow.core.framework.graph_pb2.GraphDef``.
        library: the ``FunctionDefLibrary`` its call ops refer to (default: ``graph_def.library``).
        op_list: a MetaGraph's ``stripped_op_list``: signatures of ops this TensorFlow may not
            know (custom ops).
        collections: ``{collection: [member names]}`` (or a zero-argument callable giving it)
            so that :meth:`node` can say which collections an op is in.
        name: a label (the function name for function bodies).

    Example::

        >>> graph = Graph(meta_graph_def.graph_def)               # doctest: +SKIP
        >>> graph.nodes[["name", "op", "output_dtypes"]].head()   # doctest: +SKIP
        >>> graph.node("train/Adam").control_inputs              # doctest: +SKIP
        >>> graph.op_counts(depth=1)                              # doctest: +SKIP
    """

    def __init__(
        self,
        graph_def,
        *,
        library=None,
        op_list=None,
        collections: Mapping[str, Sequence[str]]
        | Callable[[], Mapping[str, Sequence[str]]]
        | None = None,
        name: str = "",
    ) -> None:
        self.name = name
        self.is_function = False
        self._graph_def = graph_def
        self._library_proto = library if library is not None else graph_def.library
        self._op_list = op_list
        self._collections_source = collections
        self.signature: dict[str, Any] = {}
        self._fixed_outputs: dict[int, list[tuple[str | None, ShapeT]]] = {}
        self._read_node_defs(graph_def.node)

    # -- construction ------------------------------------------------------------------------
    def _read_node_defs(self, node_defs) -> None:
        """The one pass over the NodeDefs: names, ops, data and control inputs (devices and
        attributes are read from the protos when first asked for)."""
        names: list[str] = []
        ops: list[str] = []
        inputs: list[Sequence[tuple[str, int]]] = []
        controls: list[Sequence[str]] = []
        add_name, add_op = names.append, ops.append
        add_inputs, add_controls = inputs.append, controls.append
        with gc_paused():
            for node_def in node_defs:
                add_name(node_def.name)
                add_op(node_def.op)
                texts = node_def.input
                if not texts:
                    add_inputs(())
                    add_controls(())
                    continue
                data: list[tuple[str, int]] = []
                control: list[str] = []
                try:
                    for text in texts:
                        if text[0] == "^":
                            control.append(text[1:])
                        elif ":" in text:
                            op, _, index = text.rpartition(":")
                            data.append((op, int(index)))
                        else:
                            data.append((text, 0))
                except (ValueError, IndexError):  # a damaged name: parse it carefully
                    data, control = _parse_inputs_carefully(texts)
                add_inputs(data)
                add_controls(control or ())
            self._set_lists(names, ops, None, inputs, controls, node_defs)

    def _set_lists(self, names, ops, devices, inputs, controls, protos) -> None:
        self._names = names
        self._ops = ops
        if devices is not None:  # else read from the protos on first use
            self.__dict__["_devices"] = devices
        self._inputs = inputs
        self._controls = controls
        self._protos = protos
        self._index = {name: i for i, name in enumerate(names)}
        self.duplicate_names = len(self._index) != len(names)

    @functools.cached_property
    def _devices(self) -> list[str]:
        return [node_def.device for node_def in self._protos]

    @classmethod
    def from_function(cls, function_def, *, library=None, op_list=None) -> Graph:
        """The body of a library function as a graph.

        Arguments become ``_Arg`` nodes named like the argument, results ``_Retval`` nodes
        named like the output argument; inputs written ``node:out_arg:i`` become flat output
        indices (``node:2``) using the op's signature.

        Example::

            >>> body = Graph.from_function(graph_def.library.function[0])   # doctest: +SKIP
            >>> body.signature["inputs"]                                     # doctest: +SKIP
        """
        graph = cls.__new__(cls)
        graph.name = function_def.signature.name
        graph.is_function = True
        graph._graph_def = None
        graph._library_proto = library
        graph._op_list = op_list
        graph._collections_source = None
        graph._fixed_outputs = {}
        _FunctionBodyReader(graph, function_def).read()
        return graph

    # -- op signatures -----------------------------------------------------------------------
    @functools.cached_property
    def _library(self) -> dict[str, Any]:
        if self._library_proto is None:
            return {}
        if isinstance(self._library_proto, Mapping):
            return dict(self._library_proto)
        return {f.signature.name: f for f in self._library_proto.function}

    @functools.cached_property
    def _stripped_specs(self) -> dict[str, _OpSpec]:
        if self._op_list is None:
            return {}
        return {op.name: _spec_from_op_def(op, "stripped_op_list") for op in self._op_list.op}

    def _op_spec(self, op: str) -> _OpSpec | None:
        cache = self.__dict__.setdefault("_spec_cache", {})
        if op in cache:
            return cache[op]
        function = self._library.get(op)
        if function is not None:
            spec = _spec_from_op_def(function.signature, "function")
        else:
            spec = _registry_spec(op) or self._stripped_specs.get(op)
        cache[op] = spec
        return spec

    # -- outputs -----------------------------------------------------------------------------
    def _outputs(self, i: int) -> list[tuple[str | None, ShapeT]] | None:
        """``[(dtype, shape), ...]`` of node ``i``; ``None`` when its op is unknown."""
        cache = self.__dict__.setdefault("_outputs_cache", {})
        if i in cache:
            return cache[i]
        if i in self._fixed_outputs:
            result = self._fixed_outputs[i]
        else:
            result = self._compute_outputs(i)
        cache[i] = result
        return result

    def _compute_outputs(self, i: int) -> list[tuple[str | None, ShapeT]] | None:
        proto = self._protos[i]
        node_attr = proto.attr
        spec = self._op_spec(self._ops[i])
        dtypes = _resolve_outputs(spec, node_attr) if spec is not None else None
        shapes = self._recorded_shapes(i, node_attr)
        if dtypes is None:
            count = len(shapes) if shapes is not None else self._inferred_output_count(i)
            dtypes = [(str(k), None) for k in range(count)]
        if shapes is None or len(shapes) != len(dtypes):
            shapes = [None] * len(dtypes)
        return [(dtype, shape) for (_, dtype), shape in zip(dtypes, shapes)]

    def _recorded_shapes(self, i: int, node_attr) -> list[ShapeT] | None:
        if "_output_shapes" in node_attr:
            return [shape_tuple(s) for s in node_attr["_output_shapes"].list.shape]
        op = self._ops[i]
        if op == "Const" and "value" in node_attr:
            return [shape_tuple(node_attr["value"].tensor.tensor_shape)]
        if op in _SHAPE_ATTR_OPS and "shape" in node_attr:
            return [shape_tuple(node_attr["shape"].shape)]
        if op == "VarHandleOp":
            return [()]
        return None

    def _inferred_output_count(self, i: int) -> int:
        """For an op nobody knows: one more than the highest output index any input uses."""
        uses = self._consumers_by_output.get(self._names[i], {})
        return max(uses, default=-1) + 1

    def output_arg_names(self, name: str) -> list[str]:
        """The output argument name of each output of op ``name`` (``['y', 'batch_mean', ...]``)."""
        i = self._node_index(name)
        if i in self._fixed_outputs:
            return ["output"] * len(self._fixed_outputs[i])
        spec = self._op_spec(self._ops[i])
        resolved = _resolve_outputs(spec, self._protos[i].attr) if spec else None
        return [arg for arg, _ in resolved] if resolved is not None else []

    # -- consumers and edges -------------------------------------------------------------
    @functools.cached_property
    def _consumers_by_output(self) -> dict[str, dict[int, list[Consumer]]]:
        result: dict[str, dict[int, list[Consumer]]] = {}
        with gc_paused():
            for dst, data in zip(self._names, self._inputs):
                for position, (src, index) in enumerate(data):
                    result.setdefault(src, {}).setdefault(index, []).append(Consumer(dst, position))
        return result

    @functools.cached_property
    def _control_consumers(self) -> dict[str, list[str]]:
        result: dict[str, list[str]] = {}
        for dst, control in zip(self._names, self._controls):
            for src in control:
                result.setdefault(src, []).append(dst)
        return result

    @functools.cached_property
    def edges(self) -> pd.DataFrame:
        """Every edge: ``src``, ``src_output``, ``dst``, ``dst_input``, ``tensor``, ``control``.

        Control edges have ``src_output`` and ``dst_input`` -1 and ``tensor`` ``'^src'``.
        """
        import pandas as pd

        with gc_paused():
            return pd.DataFrame(self._edge_columns())

    def _edge_columns(self) -> dict[str, list[Any]]:
        src: list[str] = []
        src_output: list[int] = []
        dst: list[str] = []
        dst_input: list[int] = []
        tensor: list[str] = []
        control: list[bool] = []
        for name, data, controls in zip(self._names, self._inputs, self._controls):
            for position, (op, index) in enumerate(data):
                src.append(op)
                src_output.append(index)
                dst.append(name)
                dst_input.append(position)
                tensor.append(f"{op}:{index}")
                control.append(False)
            for op in controls:
                src.append(op)
                src_output.append(-1)
                dst.append(name)
                dst_input.append(-1)
                tensor.append("^" + op)
                control.append(True)
        return {
            "src": src,
            "src_output": src_output,
            "dst": dst,
            "dst_input": dst_input,
            "tensor": tensor,
            "control": control,
        }

    # -- nodes ---------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    @property
    def names(self) -> list[str]:
        """Every op name, in file order."""
        return list(self._names)

    def op_types(self) -> Counter:
        """How many ops of each type: ``Counter({'Const': 120, 'Identity': 40, ...})``."""
        return Counter(self._ops)

    @functools.cached_property
    def nodes(self) -> pd.DataFrame:
        """One row per op: ``name``, ``op``, ``device``, ``scope``, ``inputs`` (tensor names),
        ``control_inputs`` (op names), ``attrs`` (short text), ``output_dtypes``,
        ``output_shapes``, ``num_outputs`` (``None`` for ops unknown to this TensorFlow and to
        the file), ``function`` (the library function a call op calls).

        Every column is built: for graphs of 100,000+ ops prefer
        ``node_frame(STRUCTURE_COLUMNS)``, which skips attributes and output signatures.
        """
        return self.node_frame()

    def structure(
        self,
    ) -> tuple[list[str], list[str], list[list[tuple[str, int]]], list[list[str]]]:
        """``(names, op types, data inputs as (op, output index) pairs, control input names)``,
        one entry per op in graph order: the lists the graph holds, not copies (do not
        modify them). What the layout layer builds its hierarchy from.

        Example::

            >>> names, ops, inputs, controls = graph.structure()     # doctest: +SKIP
        """
        return self._names, self._ops, self._inputs, self._controls

    def function_size(self, name: str) -> int:
        """Ops in library function ``name`` (its arguments and results included), counted
        from the FunctionDef without building its graph."""
        function_def = self._library.get(name)
        if function_def is None:
            raise TensorNotFoundError(
                f"No function named {name!r} in the library ({len(self._library)} functions).",
                suggestions=suggest(name, list(self._library)),
            )
        signature = function_def.signature
        return len(function_def.node_def) + len(signature.input_arg) + len(signature.output_arg)

    def node_frame(
        self, columns: Sequence[str] | None = None, rows: Sequence[int] | None = None
    ) -> pd.DataFrame:
        """A DataFrame of the columns of :attr:`nodes` you ask for (all by default), for the
        ops at positions ``rows`` (all by default). Structural columns
        (:data:`STRUCTURE_COLUMNS`) cost about a microsecond per op.

        Example::

            >>> graph.node_frame(["name", "op", "inputs"])          # doctest: +SKIP
        """
        import pandas as pd

        wanted = list(columns) if columns is not None else list(NODE_COLUMNS)
        unknown = [c for c in wanted if c not in NODE_COLUMNS]
        if unknown:
            raise ValueError(f"Unknown node column(s) {unknown}; choose from {NODE_COLUMNS}.")
        indices = range(len(self._names)) if rows is None else list(rows)
        data: dict[str, list[Any]] = {}
        if {"output_dtypes", "output_shapes", "num_outputs"} & set(wanted):
            with gc_paused():
                outputs = [self._outputs(i) for i in indices]
            data["output_dtypes"] = [[d for d, _ in o] if o is not None else None for o in outputs]
            data["output_shapes"] = [[s for _, s in o] if o is not None else None for o in outputs]
            data["num_outputs"] = [len(o) if o is not None else None for o in outputs]
        names, protos = self._names, self._protos
        builders: dict[str, Callable[[], list[Any]]] = {
            "name": lambda: [names[i] for i in indices],
            "op": lambda: [self._ops[i] for i in indices],
            "device": lambda: [self._devices[i] for i in indices],
            "scope": lambda: [names[i].rpartition("/")[0] for i in indices],
            "inputs": lambda: [[f"{op}:{k}" for op, k in self._inputs[i]] for i in indices],
            "control_inputs": lambda: [list(self._controls[i]) for i in indices],
            "attrs": lambda: [
                _attrs_text(protos[i].attr) if protos[i] is not None else "" for i in indices
            ],
            "function": lambda: [self._called_function(i) for i in indices],
        }
        with gc_paused():
            frame = {c: data[c] if c in data else builders[c]() for c in wanted}
            return pd.DataFrame(frame, columns=wanted)

    def _called_function(self, i: int) -> str | None:
        op = self._ops[i]
        if op in self._library:
            return op
        proto = self._protos[i]
        if op in CALL_OPS and proto is not None and "f" in proto.attr:
            return proto.attr["f"].func.name
        return None

    def _function_attrs(self, i: int) -> dict[str, str]:
        proto = self._protos[i]
        if proto is None:
            return {}
        result = {}
        for key, value in proto.attr.items():
            if value.WhichOneof("value") == "func":
                result[key] = value.func.name
        return result

    def node_op(self, name: str) -> str:
        """The op type of op ``name`` (``'MatMul'``)."""
        return self._ops[self._node_index(name)]

    def node_attrs(self, name: str) -> dict[str, Any]:
        """The attributes of op ``name`` as readable values (``{'T': 'float32', ...}``)."""
        proto = self._protos[self._node_index(name)]
        return (
            {k: readable_attr(v) for k, v in sorted(proto.attr.items())}
            if proto is not None
            else {}
        )

    def _node_index(self, name: str) -> int:
        i = self._index.get(name)
        if i is None:
            op, index = split_tensor_name(name)
            if index is not None and op in self._index:
                return self._index[op]
            raise self._not_found(name, "op")
        return i

    def node(self, name: str) -> Node:
        """The op ``name`` (a tensor name ``name:0`` is accepted too).

        Example::

            >>> node = graph.node("layer1/MatMul")       # doctest: +SKIP
            >>> node.inputs, node.outputs[0].dtype       # doctest: +SKIP
            (['inputs/x:0', 'layer1/W/read:0'], 'float32')

        Raises:
            TensorNotFoundError: no such op; ``suggestions`` lists close names.
        """
        i = self._node_index(name)
        node_name = self._names[i]
        attrs = self.node_attrs(node_name)
        outputs = self._outputs(i) or []
        consumers = [
            c.op for uses in self._consumers_by_output.get(node_name, {}).values() for c in uses
        ]
        consumers += self._control_consumers.get(node_name, [])
        return Node(
            name=node_name,
            op=self._ops[i],
            device=self._devices[i],
            scope=node_name.rpartition("/")[0],
            attrs=attrs,
            inputs=[f"{op}:{index}" for op, index in self._inputs[i]],
            control_inputs=list(self._controls[i]),
            outputs=[self._tensor_info(i, k) for k in range(len(outputs))],
            consumers=list(dict.fromkeys(consumers)),
            collections=list(self._membership.get(node_name, [])),
            function=self._called_function(i),
            functions=self._function_attrs(i),
        )

    @functools.cached_property
    def _membership(self) -> dict[str, list[str]]:
        source = self._collections_source
        if source is None:
            return {}
        collections = source() if callable(source) else source
        result: dict[str, list[str]] = {}
        for collection, members in collections.items():
            for member in members:
                if not isinstance(member, str):
                    continue
                op = split_tensor_name(member)[0]
                if op in self._index:
                    names = result.setdefault(op, [])
                    if collection not in names:
                        names.append(collection)
        return result

    # -- tensors -----------------------------------------------------------------------------
    def tensor(self, name: str) -> TensorInfo:
        """The tensor ``name`` (``op:index``), with its dtype, shape and consumers.

        Example::

            >>> t = graph.tensor("layer1/W:0")     # doctest: +SKIP
            >>> t.is_resource_handle, t.value_tensors
            (True, ['layer1/W/Read/ReadVariableOp:0'])

        Raises:
            TensorNotFoundError: ``name`` is an op name (the message lists its output tensors),
                its output index does not exist, or nothing is called that (``suggestions``).
        """
        op, index = split_tensor_name(name)
        i = self._index.get(op)
        if i is None:
            raise self._not_found(name, "tensor")
        outputs = self._outputs(i)
        count = len(outputs) if outputs is not None else 0
        if index is None:
            raise self._op_not_tensor(name, i)
        if index >= count:
            raise self._bad_index(name, i, index)
        return self._tensor_info(i, index)

    def _op_not_tensor(self, name: str, i: int) -> TensorNotFoundError:
        listed = self._output_list(i)
        if listed:
            message = f"{name!r} is an op, not a tensor; its outputs: {listed}."
            hint = (
                f"ask for a tensor by its output index, e.g. graph.tensor('{name}:0'), "
                f"or use graph.node({name!r})"
            )
        else:
            message = (
                f"{name!r} is an op, not a tensor, and it has no outputs "
                f"(a {self._ops[i]} op is run for its effect)."
            )
            hint = f"use graph.node({name!r}) to see its inputs"
        return TensorNotFoundError(
            message,
            suggestions=self._output_names(i),
            expected="a tensor name 'op:index'",
            hint=hint,
        )

    def _bad_index(self, name: str, i: int, index: int) -> TensorNotFoundError:
        outputs = self._outputs(i)
        count = len(outputs) if outputs is not None else 0
        op_name, op_type = self._names[i], self._ops[i]
        if count:
            what = f"{count} output{'s' if count != 1 else ''}: " + ", ".join(self._output_names(i))
        else:
            what = "no outputs"
        if self._is_unknown_op(i):
            what += f" (as far as its consumers tell: {op_type} is unknown to this TensorFlow)"
        return TensorNotFoundError(
            f"{name!r} — op {op_name!r} ({op_type}) has {what}.",
            suggestions=self._output_names(i),
            expected=f"an output index below {count}" if count else "an op with outputs",
        )

    def _is_unknown_op(self, i: int) -> bool:
        return i not in self._fixed_outputs and self._op_spec(self._ops[i]) is None

    def _output_names(self, i: int) -> list[str]:
        outputs = self._outputs(i) or []
        return [f"{self._names[i]}:{k}" for k in range(len(outputs))]

    def _output_list(self, i: int) -> str:
        outputs = self._outputs(i) or []
        return ", ".join(
            f"'{self._names[i]}:{k}' ({dtype or 'dtype unknown'})"
            for k, (dtype, _) in enumerate(outputs)
        )

    def _not_found(self, name: str, what: str) -> TensorNotFoundError:
        op = split_tensor_name(name)[0]
        suggestions = suggest(op, self._names)
        if what == "tensor":
            suggestions = [self._tensor_suggestion(s) for s in suggestions]
        label = self.name or "the graph"
        article = "an" if what[0] in "aeiou" else "a"
        return TensorNotFoundError(
            f"No {what} named {name!r} in {label} ({len(self._names)} ops).",
            suggestions=suggestions,
            expected=f"{article} {what} name such as {self._example_name(what)!r}",
            hint=None if suggestions else "use graph.find('part of the name') to search",
        )

    def _tensor_suggestion(self, op_name: str) -> str:
        i = self._index[op_name]
        outputs = self._outputs(i)
        return f"{op_name}:0" if outputs else op_name

    def _example_name(self, what: str) -> str:
        if not self._names:
            return "op:0" if what == "tensor" else "op"
        return self._names[-1] + (":0" if what == "tensor" else "")

    def _tensor_info(self, i: int, index: int) -> TensorInfo:
        outputs = self._outputs(i) or []
        dtype, shape = outputs[index] if index < len(outputs) else (None, None)
        op_name, op_type = self._names[i], self._ops[i]
        info = TensorInfo(
            name=f"{op_name}:{index}",
            op=op_name,
            op_type=op_type,
            output_index=index,
            dtype=dtype,
            shape=shape,
            consumers=list(self._consumers_by_output.get(op_name, {}).get(index, [])),
        )
        _explain_variable_tensor(self, info, i)
        if not info.note and self._is_unknown_op(i):
            info.note = (
                f"The op type {op_type!r} is unknown to this TensorFlow and the file carries no "
                "signature for it (a custom op): its dtype is unknown."
            )
        return info

    def tensors(self, pattern: str | re.Pattern | None = None) -> pd.DataFrame:
        """Every tensor (or those whose name matches ``pattern``, as in :meth:`find`):
        ``name``, ``op``, ``op_type``, ``output_index``, ``dtype``, ``shape``, ``consumers``
        (how many data inputs use it)."""
        import pandas as pd

        indices = self._matching(pattern) if pattern is not None else range(len(self._names))
        rows = []
        for i in indices:
            name = self._names[i]
            uses = self._consumers_by_output.get(name, {})
            for index, (dtype, shape) in enumerate(self._outputs(i) or []):
                rows.append(
                    {
                        "name": f"{name}:{index}",
                        "op": name,
                        "op_type": self._ops[i],
                        "output_index": index,
                        "dtype": dtype,
                        "shape": shape,
                        "consumers": len(uses.get(index, [])),
                    }
                )
        columns = ["name", "op", "op_type", "output_index", "dtype", "shape", "consumers"]
        return pd.DataFrame(rows, columns=columns)

    # -- search --------------------------------------------------------------------------------
    def find(
        self, pattern: str | re.Pattern, *, op: str | None = None, limit: int | None = None
    ) -> pd.DataFrame:
        """Ops whose name matches ``pattern``, most relevant first, as rows of :attr:`nodes`.

        ``pattern`` is a query in tfexplore's one search syntax (:mod:`tfexplore.graph.query`):
        words that must all appear (``"layer1 adam"``), globs (``"layer*/W"``), op types
        (``"op:MatMul"``), a regular expression after ``re:``, or a compiled pattern; case
        never matters. ``op`` keeps only ops of that type (case-insensitive), as ``op:`` does.

        Example::

            >>> graph.find("W")[["name", "op"]].head(3)        # doctest: +SKIP
            >>> graph.find("re:^layer[12]/W$")                  # doctest: +SKIP
            >>> graph.find("*", op="VarHandleOp")               # doctest: +SKIP
            >>> graph.find("op:VarHandleOp layer1")             # doctest: +SKIP
        """
        indices = self._matching(pattern, op=op)
        if limit is not None:
            indices = indices[:limit]
        return self.node_frame(rows=indices)

    def _matching(self, pattern: str | re.Pattern, *, op: str | None = None) -> list[int]:
        query = parse_query(pattern)
        op_lower = op.lower() if op else None
        found = [
            i
            for i, name in enumerate(self._names)
            if (op_lower is None or self._ops[i].lower() == op_lower)
            and query.matches(name, self._ops[i])
        ]
        found.sort(key=lambda i: (*query.rank(self._names[i]), i))
        return found

    # -- scopes -----------------------------------------------------------------------------
    @functools.cached_property
    def scopes(self) -> Scope:
        """The root of the name-scope tree (``name == ''``)."""
        return _build_scope_tree(self._names, self._ops, self._index)

    @functools.cached_property
    def _scope_index(self) -> dict[str, Scope]:
        return {scope.name: scope for scope in self.scopes.walk()}

    def scope(self, name: str = "") -> Scope:
        """The scope ``name`` (``'layer1'``, ``'layer1/dense'``; ``''`` is the root).

        Raises:
            TensorNotFoundError: no such scope; ``suggestions`` lists close scope names.
        """
        key = name.strip("/")
        scope = self._scope_index.get(key)
        if scope is None:
            names = [n for n in self._scope_index if n]
            suggestions = suggest(key, names)
            hint = None
            if key in self._index:
                hint = f"{key!r} is an op, not a name scope: use graph.node({key!r})"
            raise TensorNotFoundError(
                f"No name scope {name!r} in {self.name or 'the graph'}.",
                suggestions=suggestions,
                expected="a name scope such as " + repr(names[0] if names else "layer1"),
                hint=hint if hint or not suggestions else None,
            )
        return scope

    def op_counts(self, depth: int = 1) -> pd.DataFrame:
        """How many ops each scope at ``depth`` holds (descendants included): ``scope``,
        ``op_count``, ``top_op_types``. Ops in shallower scopes are counted in a row for their
        own scope (the root is ``''``). Rows are sorted by ``op_count``, largest first; the
        counts add up to ``len(graph)``.

        Example::

            >>> graph.op_counts(depth=1)          # doctest: +SKIP
                scope  op_count           top_op_types
            0   train       160  Const 40, Identity 22, ...
        """
        import pandas as pd

        rows = []
        for scope in self.scopes.walk():
            if scope.depth == depth:
                rows.append(_count_row(scope.name, scope.op_count, scope.op_types))
            elif scope.depth < depth and scope.ops:
                rows.append(_count_row(scope.name, len(scope.ops), scope.direct_op_types))
        frame = pd.DataFrame(rows, columns=["scope", "op_count", "top_op_types"])
        return frame.sort_values(["op_count", "scope"], ascending=[False, True], ignore_index=True)

    # -- functions ---------------------------------------------------------------------------
    @functools.cached_property
    def functions(self) -> Mapping[str, Graph]:
        """The library's functions by name, each a :class:`Graph` built on first access."""
        return _FunctionGraphs(self._library, self._op_list)

    # -- summary -----------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """Key facts: nodes, op types, most common ops, top-level scopes, functions, variables."""
        types = self.op_types()
        facts: dict[str, Any] = {
            "name": self.name or None,
            "nodes": len(self),
            "op_types": len(types),
            "most_common_ops": ", ".join(f"{op} {n}" for op, n in types.most_common(5)),
            "top_level_scopes": len(self.scopes.children),
            "functions": len(self._library),
            "variable_ops": sum(types[op] for op in VARIABLE_OPS),
            "devices": sorted({d for d in self._devices if d}),
        }
        if self._graph_def is not None and self._graph_def.HasField("versions"):
            facts["producer"] = self._graph_def.versions.producer
        if self.is_function:
            facts["inputs"] = [arg for arg, _ in self.signature.get("inputs", [])]
            facts["outputs"] = [arg for arg, _ in self.signature.get("outputs", [])]
        return {k: v for k, v in facts.items() if v is not None}

    def __repr__(self) -> str:
        kind = "function" if self.is_function else "graph"
        label = f" {self.name!r}" if self.name else ""
        return (
            f"<tfexplore Graph ({kind}{label}): {len(self)} ops, "
            f"{len(set(self._ops))} op types, {len(self._library)} functions>"
        )


#: Every column of :attr:`Graph.nodes`.
NODE_COLUMNS = (
    "name",
    "op",
    "device",
    "scope",
    "inputs",
    "control_inputs",
    "attrs",
    "output_dtypes",
    "output_shapes",
    "num_outputs",
    "function",
)
#: The columns that say how ops connect (cheap to build, enough to lay a graph out).
STRUCTURE_COLUMNS = ("name", "op", "device", "scope", "inputs", "control_inputs")


def _count_row(scope: str, count: int, types: Counter) -> dict[str, Any]:
    top = ", ".join(f"{op} {n}" for op, n in types.most_common(4))
    if len(types) > 4:
        top += ", ..."
    return {"scope": scope, "op_count": count, "top_op_types": top}


def _build_scope_tree(names: Sequence[str], ops: Sequence[str], index: Mapping[str, int]) -> Scope:
    """Group ops by scope in one pass, then make the scopes and add up their counts."""
    groups: dict[str, list[int]] = {}
    with gc_paused():
        for i, name in enumerate(names):
            path = name.rpartition("/")[0]
            members = groups.get(path)
            if members is None:
                groups[path] = [i]
            else:
                members.append(i)
    root = Scope("")
    by_path: dict[str, Scope] = {"": root}  # parents are inserted before their children
    with gc_paused():
        for path, members in groups.items():
            scope = by_path.get(path) or _make_scope(path, by_path)
            scope.ops = [names[i] for i in members]
            scope._direct_types = (ops, members)
            scope.op_count = len(members)
    for scope in reversed(list(by_path.values())):  # children before parents
        if scope.parent is not None:
            scope.parent.op_count += scope.op_count
    for path in by_path.keys() & index.keys():
        by_path[path].node = path
    return root


def _make_scope(path: str, by_path: dict[str, Scope]) -> Scope:
    """Create the scope ``path`` and any missing ancestor."""
    missing = []
    while path not in by_path:
        missing.append(path)
        path = path.rpartition("/")[0]
    parent = by_path[path]
    for path in reversed(missing):
        scope = Scope(path, parent)
        parent.children[path.rpartition("/")[2]] = scope
        by_path[path] = parent = scope
    return parent


# ---------------------------------------------------------------------------------------------
# Variables: handles, references and their values
# ---------------------------------------------------------------------------------------------
def _explain_variable_tensor(graph: Graph, info: TensorInfo, i: int) -> None:
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


def _explain_handle(graph: Graph, info: TensorInfo, i: int) -> None:
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


def _explain_reference(graph: Graph, info: TensorInfo, i: int) -> None:
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


# ---------------------------------------------------------------------------------------------
# Function bodies
# ---------------------------------------------------------------------------------------------
class _FunctionBodyReader:
    """Turns a ``FunctionDef`` into the lists a :class:`Graph` holds."""

    def __init__(self, graph: Graph, function_def) -> None:
        self.graph = graph
        self.function_def = function_def
        self.names: list[str] = []
        self.ops: list[str] = []
        self.devices: list[str] = []
        self.inputs: list[list[tuple[str, int]]] = []
        self.controls: list[list[str]] = []
        self.protos: list[Any] = []
        self.offsets: dict[str, dict[str, int]] = {}

    def read(self) -> None:
        signature = self.function_def.signature
        graph = self.graph
        # Lists must exist before output offsets are asked for (they use graph._op_spec only).
        inputs_sig = []
        for position, arg in enumerate(signature.input_arg):
            dtype = self._arg_dtype(arg)
            shape = self._arg_shape(position)
            inputs_sig.append((arg.name, dtype))
            self._add(arg.name, "_Arg", [], [], None, [(dtype, shape)])
        for node_def in self.function_def.node_def:
            self._add(node_def.name, node_def.op, [], [], node_def, None)
        graph._set_lists(
            self.names, self.ops, self.devices, self.inputs, self.controls, self.protos
        )
        body_start = len(signature.input_arg)
        for offset, node_def in enumerate(self.function_def.node_def):
            data, control = self._resolve_inputs(node_def.input)
            self.inputs[body_start + offset] = data
            self.controls[body_start + offset] = control
        outputs_sig = []
        taken = set(self.names)
        for arg in signature.output_arg:
            ret_name = arg.name if arg.name not in taken else f"{arg.name}_retval"
            taken.add(ret_name)
            source = self.function_def.ret.get(arg.name, "")
            data, _ = self._resolve_inputs([source] if source else [])
            dtype = self._arg_dtype(arg)
            outputs_sig.append((arg.name, dtype))
            self._add(ret_name, "_Retval", data, [], None, [])
        graph._set_lists(
            self.names, self.ops, self.devices, self.inputs, self.controls, self.protos
        )
        graph.signature = {
            "inputs": inputs_sig,
            "outputs": outputs_sig,
            "control_outputs": list(self.function_def.control_ret.values()),
        }

    def _add(self, name, op, data, control, proto, fixed) -> None:
        if fixed is not None:
            self.graph._fixed_outputs[len(self.names)] = fixed
        self.names.append(name)
        self.ops.append(op)
        self.devices.append(proto.device if proto is not None else "")
        self.inputs.append(list(data))
        self.controls.append(list(control))
        self.protos.append(proto)

    def _arg_dtype(self, arg) -> str | None:
        if arg.type:
            return _dtype_or_none(arg.type, arg.is_ref)
        value = self.function_def.attr.get(arg.type_attr) if arg.type_attr else None
        if value is not None and value.WhichOneof("value") == "type":
            return dtype_name(value.type)
        return None

    def _arg_shape(self, position: int) -> ShapeT:
        arg_attr = self.function_def.arg_attr.get(position)
        if arg_attr is None or "_output_shapes" not in arg_attr.attr:
            return None
        shapes = arg_attr.attr["_output_shapes"].list.shape
        return shape_tuple(shapes[0]) if len(shapes) == 1 else None

    def _resolve_inputs(self, texts) -> tuple[list[tuple[str, int]], list[str]]:
        data: list[tuple[str, int]] = []
        control: list[str] = []
        for text in texts:
            if text.startswith("^"):
                control.append(text[1:])
                continue
            parts = text.split(":")
            if len(parts) == 1:
                data.append((text, 0))
            elif len(parts) == 2 and parts[1].isdigit():
                data.append((parts[0], int(parts[1])))
            elif len(parts) == 2:  # 'node:out_arg' without an index
                data.append((parts[0], self._offsets(parts[0]).get(parts[1], 0)))
            else:
                node, out_arg, index = parts[0], parts[1], parts[-1]
                base = self._offsets(node).get(out_arg, 0)
                data.append((node, base + (int(index) if index.isdigit() else 0)))
        return data, control

    def _offsets(self, node: str) -> dict[str, int]:
        if node not in self.offsets:
            offsets: dict[str, int] = {}
            i = self.graph._index.get(node)
            if i is not None and self.protos[i] is not None:
                spec = self.graph._op_spec(self.ops[i])
                resolved = _resolve_outputs(spec, self.protos[i].attr) if spec else None
                for position, (arg, _) in enumerate(resolved or []):
                    offsets.setdefault(arg, position)
            self.offsets[node] = offsets
        return self.offsets[node]


class _FunctionGraphs(Mapping):
    """``{function name: Graph}``, each body built on first access."""

    def __init__(self, library: Mapping[str, Any], op_list) -> None:
        self._library = library
        self._op_list = op_list
        self._built: dict[str, Graph] = {}

    def __getitem__(self, name: str) -> Graph:
        if name not in self._built:
            if name not in self._library:
                raise TensorNotFoundError(
                    f"No function named {name!r} in the library ({len(self._library)} functions).",
                    suggestions=suggest(name, list(self._library)),
                    expected="a function name from graph.functions.keys()",
                )
            self._built[name] = Graph.from_function(
                self._library[name], library=self._library, op_list=self._op_list
            )
        return self._built[name]

    def __contains__(self, name: object) -> bool:
        return name in self._library

    def __iter__(self) -> Iterator[str]:
        return iter(self._library)

    def __len__(self) -> int:
        return len(self._library)

    def __repr__(self) -> str:
        names = list(self._library)
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        return f"<{len(names)} functions: {shown}>"
