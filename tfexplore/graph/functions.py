"""A graph's function library: one ``FunctionDef`` body read into the lists a
:class:`~tfexplore.graph.Graph` holds (``_FunctionBodyReader``), and the lazy
``{name: Graph}`` mapping of :attr:`Graph.functions` (``FunctionGraphs``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ..errors import TensorNotFoundError, suggest
from .protos import ShapeT, _dtype_or_none, _resolve_outputs, dtype_name, shape_tuple

__all__ = ["FunctionGraphs"]


# ---------------------------------------------------------------------------------------------
# Function bodies
# ---------------------------------------------------------------------------------------------
class _FunctionBodyReader:
    """Turns a ``FunctionDef`` into the lists a :class:`Graph` holds."""

    def __init__(self, graph: Any, function_def) -> None:  # graph: the Graph to fill
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


class FunctionGraphs(Mapping):
    """``{function name: Graph}``, each body built on first access."""

    def __init__(self, library: Mapping[str, Any], op_list, build: Callable[..., Any]) -> None:
        self._library = library
        self._op_list = op_list
        self._build = build  # Graph.from_function (this module stays below the Graph model)
        self._built: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:  # a Graph
        if name not in self._built:
            if name not in self._library:
                raise TensorNotFoundError(
                    f"No function named {name!r} in the library ({len(self._library)} functions).",
                    suggestions=suggest(name, list(self._library)),
                    expected="a function name from graph.functions.keys()",
                )
            self._built[name] = self._build(
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
