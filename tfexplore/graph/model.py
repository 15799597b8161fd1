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

Why this module is over 600 lines: it is one class, :class:`Graph`, whose methods all read the
same private parallel lists (names, ops, inputs, protos) and the caches built on them; what
could leave has left (the records it hands out: ``records``; proto reading: ``protos``;
function bodies: ``functions``; variable explanations: ``variables``; the search syntax:
``query``). Cutting the class itself into mixins would spread one set of invariants over
several files.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import TensorNotFoundError, suggest
from .functions import FunctionGraphs, _FunctionBodyReader
from .ops import CALL_OPS, REF_VARIABLE_OPS, VARIABLE_OPS
from .protos import (
    _SHAPE_ATTR_OPS,
    ShapeT,
    _attrs_text,
    _OpSpec,
    _parse_inputs_carefully,
    _registry_spec,
    _resolve_outputs,
    _spec_from_op_def,
    dtype_name,
    gc_paused,
    readable_attr,
    shape_tuple,
    split_tensor_name,
)
from .query import parse_query
from .records import Consumer, Node, Scope, TensorInfo, build_scope_tree
from .variables import explain_variable_tensor

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
    "GraphShortcuts",
    # kept importable from here for the artifacts and the scene that read them with a Graph
    "VARIABLE_OPS",
    "REF_VARIABLE_OPS",
    "dtype_name",
    "shape_tuple",
    "split_tensor_name",
    "gc_paused",
]


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
        explain_variable_tensor(self, info, i)
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
        return build_scope_tree(self._names, self._ops, self._index)

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
        return FunctionGraphs(self._library, self._op_list, build=Graph.from_function)

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
