"""A frozen ``GraphDef`` (``.pb`` binary or ``.pbtxt`` text): a graph whose variables were
folded into ``Const`` nodes, so that its weights live inside the graph itself.

Example::

    >>> import tfexplore
    >>> frozen = tfexplore.open("model/frozen_model.pb")          # doctest: +SKIP
    >>> frozen.variables.sort_values("nbytes").tail()              # doctest: +SKIP
    >>> frozen.read("dense/kernel").shape                          # doctest: +SKIP
    >>> frozen.inputs, frozen.outputs                              # doctest: +SKIP
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from .._tf import protos
from ..errors import CorruptArtifactError, TensorNotFoundError, suggest
from ..graph.model import Graph, GraphShortcuts, dtype_name, shape_tuple, split_tensor_name
from .base import Artifact, Explanation, human_bytes, itemsize
from .protofile import read_proto_file

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FrozenGraph"]

_VARIABLE_COLUMNS = ["name", "dtype", "shape", "size", "nbytes"]
_UNUSED_OK = frozenset({"Const", "NoOp", "Placeholder"})


class FrozenGraph(GraphShortcuts, Artifact):
    """A ``GraphDef`` file. Its ``Const`` nodes are its weights: ``variables`` lists them,
    ``read(name)`` decodes one (no op runs), ``stats()`` streams statistics.

    Args:
        proto: a parsed ``graph_pb2.GraphDef``.
        path: the file it came from.
        is_text: whether the file was protobuf text format.
    """

    kind = "graph_def"

    def __init__(self, proto, *, path: str | os.PathLike, is_text: bool = False) -> None:
        super().__init__(path)
        self.proto = proto
        self.is_text = is_text

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> FrozenGraph:
        """Read a binary ``.pb`` or text ``.pbtxt`` GraphDef (the format is sniffed).

        Raises:
            ArtifactNotFoundError: no such file.
            CorruptArtifactError: damaged, empty, or not a GraphDef.
        """
        proto, is_text = read_proto_file(
            path,
            protos().graph_pb2.GraphDef,
            "GraphDef (.pb/.pbtxt)",
            hint="re-copy the file; a frozen graph is written by tf.io.write_graph",
        )
        if not proto.node:
            raise CorruptArtifactError(
                f"{os.fspath(path)!r} parses as a GraphDef but holds no nodes.",
                path=path,
                expected="a GraphDef with nodes (a frozen graph written by tf.io.write_graph)",
                hint="it may be another protocol buffer renamed .pb: a SavedModel's "
                "saved_model.pb opens with its folder, a .meta file as a MetaGraph",
            )
        return cls(proto, path=path, is_text=is_text)

    # -- graph -----------------------------------------------------------------------------------
    @functools.cached_property
    def graph(self) -> Graph:
        """The :class:`~tfexplore.graph.Graph` model of this GraphDef."""
        return Graph(self.proto, name=self.path.name)

    @functools.cached_property
    def inputs(self) -> list[str]:
        """The graph's inputs: its ``Placeholder`` ops (names)."""
        graph = self.graph
        return [name for name in graph if graph.node_op(name) in ("Placeholder", "PlaceholderV2")]

    @functools.cached_property
    def outputs(self) -> list[str]:
        """The graph's likely outputs: ops that nothing consumes (unused ``Const``, ``NoOp``
        and ``Placeholder`` ops left out)."""
        edges = self.graph.edges
        consumed = set(edges["src"])
        graph = self.graph
        return [n for n in graph if n not in consumed and graph.node_op(n) not in _UNUSED_OK]

    # -- weights ---------------------------------------------------------------------------------
    @functools.cached_property
    def _consts(self) -> dict[str, Any]:
        """``{name: TensorProto}`` of every ``Const`` node."""
        return {
            n.name: n.attr["value"].tensor
            for n in self.proto.node
            if n.op == "Const" and "value" in n.attr
        }

    @functools.cached_property
    def variables(self) -> pd.DataFrame:
        """The weights: one row per ``Const`` node, ``name``, ``dtype``, ``shape``, ``size``
        (elements), ``nbytes`` (decoded size), computed without decoding the values."""
        import pandas as pd

        rows = [_const_row(name, tensor) for name, tensor in self._consts.items()]
        return pd.DataFrame(rows, columns=_VARIABLE_COLUMNS)

    def read(self, name: str) -> np.ndarray:
        """The value of the ``Const`` op ``name`` (``'W'`` or ``'W:0'``) as a numpy array,
        decoded from the proto (no op runs).

        Raises:
            TensorNotFoundError: no ``Const`` of that name (a non-Const op says what it is).
            CorruptArtifactError: the stored tensor cannot be decoded.
        """
        op, _ = split_tensor_name(name)
        tensor = self._consts.get(op)
        if tensor is None:
            raise self._not_a_const(name, op)
        from ..graph.consts import const_value

        return const_value(tensor, name=op, path=self.path)

    def _not_a_const(self, name: str, op: str) -> TensorNotFoundError:
        if op in self.graph:
            return TensorNotFoundError(
                f"{name!r} is a {self.graph.node_op(op)} op, not a Const: only Const ops hold "
                "stored values in a GraphDef.",
                path=self.path,
                expected="the name of a Const op (see .variables)",
                hint="other ops compute their values when the graph runs",
            )
        return TensorNotFoundError(
            f"No Const named {name!r} in {self.path.name}.",
            path=self.path,
            suggestions=suggest(op, list(self._consts)),
            expected="the name of a Const op (see .variables)",
        )

    def stats(
        self, names: Iterable[str] | None = None, progress: bool | None = None
    ) -> pd.DataFrame:
        """Statistics of each weight (or of ``names``), one tensor in memory at a time."""
        from ..stats import stream_stats

        table = self.variables
        if names is not None:
            wanted = [split_tensor_name(n)[0] for n in names]
            for name in wanted:
                if name not in self._consts:
                    raise self._not_a_const(name, name)
            table = table.set_index("name").loc[wanted].reset_index()
        items = [
            (
                {"name": row.name, "dtype": row.dtype, "shape": row.shape},
                functools.partial(self.read, row.name),
                int(row.nbytes or 0),
            )
            for row in table.itertuples(index=False)
        ]
        from ..graph.consts import const_stats

        # a broadcast Const (fewer stored values than elements) is summed from its stored
        # values and their repeat counts, never decoded
        known = {row.name: const_stats(self._consts[row.name]) for row in table.itertuples()}
        decoded = [item for item in items if known[item[0]["name"]] is None]
        total = sum(item[2] for item in decoded)
        frame = stream_stats(
            decoded, total_bytes=total, progress=progress, description=self.path.name
        )
        if len(decoded) == len(items):
            return frame
        import pandas as pd

        rows = {row["name"]: row for row in frame.to_dict("records")}
        ordered = [
            rows[item[0]["name"]]
            if known[item[0]["name"]] is None
            else {**item[0], **known[item[0]["name"]]}
            for item in items
        ]
        return pd.DataFrame(ordered, columns=list(frame.columns))

    @functools.cached_property
    def safety(self):
        """A :class:`tfexplore.safety.ScanReport` of every op (and function, and nested dataset
        graph) that touches files, the network or Python, or is a custom op."""
        from ..safety.scan import scan

        return scan(self.proto, path=self.path)

    # -- summary, explain --------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """Key facts: nodes, op types, weights and their size, inputs, outputs, producer."""
        graph = self.graph
        table = self.variables
        return {
            "kind": self.kind,
            "path": str(self.path),
            "format": "text" if self.is_text else "binary",
            "nodes": len(graph),
            "op_types": len(graph.op_types()),
            "functions": len(graph.functions),
            "weights": len(table),
            "weights_bytes": human_bytes(int(table["nbytes"].fillna(0).sum()))
            if len(table)
            else "0 B",
            "inputs": self.inputs,
            "outputs": self.outputs,
            "producer": self.proto.versions.producer,
        }

    def explain(self) -> Explanation:
        """What a frozen graph is and what this one holds."""
        summary = self.summary()
        graph = self.graph
        lines = [
            f"# `{self.path.name}`: a GraphDef ({summary['format']} protocol buffer)",
            "",
            "A **GraphDef** is a TensorFlow graph: its ops (*nodes*), each with a type, inputs, "
            "attributes and a device. A *frozen* graph is a GraphDef whose variables were "
            "folded into `Const` nodes (`convert_variables_to_constants`): the weights are inside "
            "the graph, so **there is no checkpoint** and nothing else is needed to run it.",
            "",
            "Its inputs are its `Placeholder` ops; its outputs the ops that nothing consumes. "
            "Tensor names are `op_name:output_index`.",
            "",
            "## This file",
            "",
            f"- {len(graph)} ops of {summary['op_types']} types; most common: "
            + ", ".join(f"{op} ({n})" for op, n in graph.op_types().most_common(5)),
            f"- {summary['weights']} Const tensors, {summary['weights_bytes']} in all",
            f"- inputs: {', '.join(self.inputs) or 'none (no Placeholder)'}",
            f"- outputs: {', '.join(self.outputs[:10]) or 'none found'}"
            + (" ..." if len(self.outputs) > 10 else ""),
            f"- written by a TensorFlow whose GraphDef producer version is {summary['producer']}",
        ]
        variable_ops = graph.summary()["variable_ops"]
        if variable_ops:
            lines += [
                "",
                f"**This GraphDef is not frozen**: it has {variable_ops} variable ops "
                "(`VariableV2`/`VarHandleOp`). Their values are not in this file; they live in a "
                "checkpoint saved from the same graph (`.index` + `.data-*`), and its Const nodes "
                "are only constants and initial values.",
            ]
        from ..safety.scan import explain_lines

        lines += explain_lines(self.safety)
        return Explanation("\n".join(lines))


def _const_row(name: str, tensor) -> dict[str, Any]:
    dtype = dtype_name(tensor.dtype)
    shape = shape_tuple(tensor.tensor_shape)
    size = int(np.prod(shape, dtype=np.int64)) if shape is not None and None not in shape else None
    if dtype == "string":
        nbytes = sum(len(s) for s in tensor.string_val)
    elif tensor.tensor_content:
        nbytes = len(tensor.tensor_content)
    else:
        per = itemsize(dtype)
        nbytes = size * per if size is not None and per else None
    return {"name": name, "dtype": dtype, "shape": shape, "size": size, "nbytes": nbytes}
