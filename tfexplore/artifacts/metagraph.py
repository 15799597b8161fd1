"""A ``MetaGraphDef``: the graph a TF1 ``Saver`` writes next to a checkpoint (``.meta``), and
each meta graph of a SavedModel.

Reading one parses the proto and nothing else: no graph is imported, no op runs.

Example::

    >>> import tfexplore
    >>> meta = tfexplore.open("run/model.ckpt-30.meta")        # doctest: +SKIP
    >>> meta.summary()["nodes"], meta.collections.keys()        # doctest: +SKIP
    >>> meta.variables[["name", "op", "shape", "trainable"]]    # doctest: +SKIP
    >>> meta.tensor("layer1/W:0").note                          # doctest: +SKIP
    >>> print(meta.explain())                                   # doctest: +SKIP
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._files import (
    DATA_SHARD,
    META_SUFFIXES,
    checkpoint_files,
    prefix_file,
    prefix_parts,
    prefix_text,
)
from .._tf import protos
from ..errors import CorruptArtifactError
from ..graph.model import (
    REF_VARIABLE_OPS,
    VARIABLE_OPS,
    Graph,
    GraphShortcuts,
    Node,
    split_tensor_name,
)
from .base import Artifact, Explanation, size_and_bytes
from .explain import explain_meta_graph
from .protofile import read_proto_file

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MetaGraph", "VARIABLE_COLLECTIONS", "read_proto_file"]

#: Collections whose members are serialized ``VariableDef`` protos.
VARIABLE_COLLECTIONS = (
    "variables",
    "trainable_variables",
    "local_variables",
    "model_variables",
    "metric_variables",
    "moving_average_variables",
    "concatenated_variables",
    "trainable_resource_variables",
    "global_step",
)
_NAMED_PROTO_COLLECTIONS = {
    "cond_context": ("control_flow_pb2", "CondContextDef", "context_name", "cond_context"),
    "while_context": ("control_flow_pb2", "WhileContextDef", "context_name", "while_context"),
    "queue_runners": ("queue_runner_pb2", "QueueRunnerDef", "queue_name", "queue_runner"),
    "savers": ("saver_pb2", "SaverDef", "restore_op_name", "saver"),
}
_VARIABLE_COLUMNS = [
    "name",
    "op",
    "dtype",
    "shape",
    "size",
    "nbytes",
    "resource",
    "trainable",
    "snapshot",
    "initializer",
    "initial_value",
    "collections",
    "partition_of",
    "partition",
    "checkpoint_key",
    "in_checkpoint",
]


# ---------------------------------------------------------------------------------------------
# MetaGraph
# ---------------------------------------------------------------------------------------------
class MetaGraph(GraphShortcuts, Artifact):
    """One ``MetaGraphDef``: graph, collections, saver, signatures and meta info.

    Args:
        proto: a parsed ``meta_graph_pb2.MetaGraphDef``.
        path: the file it came from (the ``.meta`` file, or a SavedModel's ``saved_model.pb``).
        source: ``"meta_file"`` (default) or ``"saved_model"``.

    Use :meth:`from_file` to read a ``.meta`` file.

    Example::

        >>> meta = MetaGraph.from_file("run/model.ckpt-30.meta")   # doctest: +SKIP
        >>> meta.saver_def["restore_op"]                            # doctest: +SKIP
        'save/restore_all'
        >>> meta.checkpoint                                         # doctest: +SKIP
        <tfexplore Checkpoint (checkpoint) ...>
    """

    kind = "meta_graph"

    def __init__(self, proto, *, path: str | os.PathLike, source: str | None = None) -> None:
        super().__init__(path)
        self.proto = proto
        self.source = source or "meta_file"
        self.is_text = False

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> MetaGraph:
        """Read a binary ``.meta`` file (a text-format MetaGraphDef is accepted too).

        Raises:
            ArtifactNotFoundError: no such file.
            CorruptArtifactError: truncated, damaged, empty, or text that is not a MetaGraphDef.
        """
        proto, is_text = read_proto_file(
            path,
            protos().meta_graph_pb2.MetaGraphDef,
            "MetaGraphDef (.meta)",
            hint="re-copy the .meta file; or re-export it with "
            "tf.compat.v1.train.export_meta_graph",
        )
        if not (proto.graph_def.node or proto.collection_def or proto.HasField("meta_info_def")):
            raise CorruptArtifactError(
                f"{os.fspath(path)!r} parses but holds no graph, no collections and no meta info.",
                path=path,
                expected="a MetaGraphDef written by tf.compat.v1.train.Saver or export_meta_graph",
                hint="the file may be a different kind of protocol buffer renamed to .meta",
            )
        meta = cls(proto, path=path)
        meta.is_text = is_text
        return meta

    # -- graph --------------------------------------------------------------------------------
    @functools.cached_property
    def graph(self) -> Graph:
        """The :class:`~tfexplore.graph.Graph` of this meta graph (with its function library)."""
        return Graph(
            self.proto.graph_def,
            library=self.proto.graph_def.library,
            op_list=self.proto.meta_info_def.stripped_op_list,
            collections=lambda: self.collections,
            name=self.path.name,
        )

    # -- collections ----------------------------------------------------------------------
    @functools.cached_property
    def _collection_rows(self) -> list[dict[str, Any]]:
        rows = []
        for collection in sorted(self.proto.collection_def):
            rows.extend(self._decode_collection(collection, self.proto.collection_def[collection]))
        return rows

    def _decode_collection(self, collection: str, value) -> list[dict[str, Any]]:
        kind = value.WhichOneof("kind")
        if kind == "node_list":
            return [self._name_row(collection, member) for member in value.node_list.value]
        if kind in ("int64_list", "float_list"):
            values = getattr(value, kind).value
            return [_row(collection, v, None, kind.split("_")[0]) for v in values]
        if kind == "any_list":
            return [_row(collection, a.type_url, None, "any") for a in value.any_list.value]
        if kind == "bytes_list":
            return [self._bytes_row(collection, data) for data in value.bytes_list.value]
        return []

    def _name_row(self, collection: str, member: str) -> dict[str, Any]:
        op, index = split_tensor_name(member)
        node = op if op in self.graph else None
        return _row(collection, member, node, "tensor" if index is not None else "op")

    def _bytes_row(self, collection: str, data: bytes) -> dict[str, Any]:
        variable = self._as_variable_def(collection, data)
        if variable is not None:
            op = split_tensor_name(variable.variable_name)[0]
            return _row(
                collection, variable.variable_name, op if op in self.graph else None, "variable"
            )
        if collection in _NAMED_PROTO_COLLECTIONS:
            module_name, class_name, field_name, kind = _NAMED_PROTO_COLLECTIONS[collection]
            message = _try_parse(_proto_class(module_name, class_name), data)
            if message is not None:
                member = getattr(message, field_name)
                op = split_tensor_name(member)[0]
                return _row(collection, member, op if op in self.graph else None, kind)
        return _row(collection, f"<{len(data)} bytes>", None, "bytes")

    def _as_variable_def(self, collection: str, data: bytes):
        from tensorflow.core.framework import variable_pb2

        variable = _try_parse(variable_pb2.VariableDef, data)
        if variable is None or not variable.variable_name:
            return None
        if collection in VARIABLE_COLLECTIONS:
            return variable
        # A custom collection of variables: accept when it names a variable op of the graph.
        op = split_tensor_name(variable.variable_name)[0]
        if (
            op in self.graph
            and self.graph.node_op(op) in VARIABLE_OPS
            and variable.initializer_name
        ):
            return variable
        return None

    @functools.cached_property
    def collections(self) -> dict[str, list[Any]]:
        """``{collection: [members]}``: op or tensor names, variable names (``'layer1/W:0'``)
        for ``VariableDef`` collections, numbers for ``int64_list``/``float_list``, and
        ``'<N bytes>'`` for serialized protos tfexplore does not decode."""
        result: dict[str, list[Any]] = {name: [] for name in sorted(self.proto.collection_def)}
        for row in self._collection_rows:
            result[row["collection"]].append(row["member"])
        return result

    @property
    def collections_table(self) -> pd.DataFrame:
        """One row per collection member: ``collection``, ``member``, ``node`` (the op it
        names, if in the graph), ``kind`` (``op``, ``tensor``, ``variable``, ``int64``,
        ``float``, ``while_context``, ``bytes`` ...)."""
        import pandas as pd

        return pd.DataFrame(self._collection_rows, columns=["collection", "member", "node", "kind"])

    @property
    def train_op(self) -> Node | None:
        """The op of the ``train_op`` collection (``None`` if there is none)."""
        return self._collection_node("train_op")

    @property
    def global_step(self) -> Node | None:
        """The ``global_step`` variable's op: from the ``global_step`` collection, else an op
        named ``global_step``."""
        node = self._collection_node("global_step")
        if node is None and "global_step" in self.graph:
            node = self.graph.node("global_step")
        return node

    def _collection_node(self, collection: str) -> Node | None:
        for row in self._collection_rows:
            if row["collection"] == collection and row["node"] is not None:
                return self.graph.node(row["node"])
        return None

    # -- variables --------------------------------------------------------------------------
    @functools.cached_property
    def _variable_defs(self) -> dict[str, tuple[Any, list[str]]]:
        """``{op name: (VariableDef, [collections])}`` from every variable collection."""
        result: dict[str, tuple[Any, list[str]]] = {}
        for collection in sorted(self.proto.collection_def):
            value = self.proto.collection_def[collection]
            if value.WhichOneof("kind") != "bytes_list":
                continue
            for data in value.bytes_list.value:
                variable = self._as_variable_def(collection, data)
                if variable is None:
                    continue
                op = split_tensor_name(variable.variable_name)[0]
                entry = result.setdefault(op, (variable, []))
                entry[1].append(collection)
        return result

    @functools.cached_property
    def variables(self) -> pd.DataFrame:
        """The variables: ``name`` (op name), ``op`` (its type), ``dtype``, ``shape``,
        ``size``, ``nbytes``, ``resource``, ``trainable``, ``snapshot`` (the tensor that reads
        its value), ``initializer``, ``initial_value``, ``collections``, ``partition_of`` and
        ``partition`` (for slices of a partitioned variable), ``checkpoint_key`` and
        ``in_checkpoint`` (when a sibling checkpoint exists, else ``None``).

        Read from the variable collections; a file without them (some exports strip every
        collection) falls back to the graph's variable ops, as ``notes`` says.
        """
        import pandas as pd

        if self._variable_defs:
            rows = [
                self._variable_row(op, vdef, names)
                for op, (vdef, names) in self._variable_defs.items()
            ]
        else:
            rows = [self._variable_row(name, None, []) for name in self._variable_ops()]
        keys = self._checkpoint_keys()
        for row in rows:
            row["in_checkpoint"] = None if keys is None else row["checkpoint_key"] in keys
        return pd.DataFrame(rows, columns=_VARIABLE_COLUMNS)

    def _variable_ops(self) -> list[str]:
        graph = self.graph
        return [name for name in graph if graph.node_op(name) in VARIABLE_OPS]

    def _variable_row(self, op_name: str, vdef, collections: list[str]) -> dict[str, Any]:
        graph = self.graph
        op_type = graph.node_op(op_name) if op_name in graph else None
        attrs = graph.node_attrs(op_name) if op_name in graph else {}
        dtype = attrs.get("dtype")
        shape = attrs.get("shape")
        size, nbytes = size_and_bytes(dtype, shape)
        slice_info = (
            vdef.save_slice_info_def
            if vdef is not None and vdef.HasField("save_slice_info_def")
            else None
        )
        trainable_names = self._trainable_ops
        return {
            "name": op_name,
            "op": op_type,
            "dtype": dtype,
            "shape": shape,
            "size": size,
            "nbytes": nbytes,
            "resource": bool(vdef.is_resource) if vdef is not None else op_type == "VarHandleOp",
            "trainable": (op_name in trainable_names or bool(vdef.trainable))
            if vdef is not None
            else None,
            "snapshot": (vdef.snapshot_name or None)
            if vdef is not None
            else self._guess_snapshot(op_name),
            "initializer": (vdef.initializer_name or None) if vdef is not None else None,
            "initial_value": (vdef.initial_value_name or None) if vdef is not None else None,
            "collections": collections,
            "partition_of": slice_info.full_name if slice_info is not None else None,
            "partition": _describe_slice(slice_info) if slice_info is not None else None,
            "checkpoint_key": slice_info.full_name if slice_info is not None else op_name,
        }

    @functools.cached_property
    def _trainable_ops(self) -> set[str]:
        return {
            split_tensor_name(m)[0]
            for m in self.collections.get("trainable_variables", [])
            if isinstance(m, str)
        }

    def _guess_snapshot(self, op_name: str) -> str | None:
        graph = self.graph
        if graph.node_op(op_name) in REF_VARIABLE_OPS:
            read = f"{op_name}/read"
            return f"{read}:0" if read in graph else f"{op_name}:0"
        values = graph.tensor(f"{op_name}:0").value_tensors
        return values[0] if values else None

    def _checkpoint_keys(self) -> set[str] | None:
        from ..errors import TFExploreError

        try:
            checkpoint = self.checkpoint
            if checkpoint is None:
                return None
            return set(checkpoint.variables["name"])
        except (TFExploreError, ImportError, KeyError):
            return None

    # -- saver, signatures, meta info ----------------------------------------------------
    @functools.cached_property
    def saver_def(self) -> dict[str, Any]:
        """The ``SaverDef``: which tensors and ops save and restore (empty without one).

        ``restore_op`` is what ``Saver.restore`` runs; ``restore_op_in_graph`` checks it exists.
        """
        if not self.proto.HasField("saver_def"):
            return {}
        saver = self.proto.saver_def
        saver_pb2 = protos().saver_pb2
        try:
            version = saver_pb2.SaverDef.CheckpointFormatVersion.Name(saver.version)
        except ValueError:
            version = f"unknown ({saver.version})"
        restore_op = saver.restore_op_name
        return {
            "filename_tensor": saver.filename_tensor_name,
            "save_tensor": saver.save_tensor_name,
            "restore_op": restore_op,
            "restore_op_in_graph": restore_op in self.graph,
            "version": version,
            "max_to_keep": saver.max_to_keep,
            "keep_checkpoint_every_n_hours": saver.keep_checkpoint_every_n_hours,
            "sharded": saver.sharded,
        }

    @functools.cached_property
    def signatures(self) -> pd.DataFrame:
        """Signatures (SavedModel meta graphs): ``signature``, ``method``, ``direction``
        (``input``/``output``), ``key``, ``tensor``, ``dtype``, ``shape``."""
        import pandas as pd

        from ..graph.model import dtype_name, shape_tuple

        rows = []
        for signature_name in sorted(self.proto.signature_def):
            signature = self.proto.signature_def[signature_name]
            for direction, mapping in (("input", signature.inputs), ("output", signature.outputs)):
                for key in sorted(mapping):
                    info = mapping[key]
                    rows.append(
                        {
                            "signature": signature_name,
                            "method": signature.method_name,
                            "direction": direction,
                            "key": key,
                            "tensor": _signature_tensor(info),
                            "dtype": dtype_name(info.dtype) if info.dtype else None,
                            "shape": shape_tuple(info.tensor_shape)
                            if info.HasField("tensor_shape")
                            else None,
                        }
                    )
        columns = ["signature", "method", "direction", "key", "tensor", "dtype", "shape"]
        return pd.DataFrame(rows, columns=columns)

    @functools.cached_property
    def meta_info(self) -> dict[str, Any]:
        """``tensorflow_version``, ``tensorflow_git_version``, ``tags``, ``stripped_ops`` (the
        op names whose signatures the file carries), ``any_info`` type, and more."""
        info = self.proto.meta_info_def
        git = info.tensorflow_git_version
        if git.startswith(("b'", 'b"')) and len(git) > 3:  # written by str(bytes) in TF 1.x
            git = git[2:-1]
        return {
            "meta_graph_version": info.meta_graph_version,
            "tensorflow_version": info.tensorflow_version or None,
            "tensorflow_git_version": git or None,
            "tags": list(info.tags),
            "stripped_ops": [op.name for op in info.stripped_op_list.op],
            "stripped_default_attrs": info.stripped_default_attrs,
            "any_info": info.any_info.type_url or None,
            "function_aliases": dict(info.function_aliases),
            "graph_producer": self.proto.graph_def.versions.producer,
        }

    @functools.cached_property
    def safety(self):
        """A :class:`tfexplore.safety.ScanReport`: every op of the graph, its functions and
        nested dataset graphs that touches files, the network or Python (or is a custom op),
        and whether the restore op, the train op or a signature would run it."""
        from ..safety.scan import scan

        return scan(self.proto, path=self.path, meta_graph=",".join(self.meta_info["tags"]) or None)

    @functools.cached_property
    def unknown_ops(self) -> list[str]:
        """Op types this TensorFlow does not register (custom ops), described by the file's
        stripped op list or not at all."""
        from tensorflow.python.framework import op_def_registry

        library = {f.signature.name for f in self.proto.graph_def.library.function}
        return sorted(
            op
            for op in self.graph.op_types()
            if op not in library and op_def_registry.get(op) is None
        )

    # -- the checkpoint next to it ----------------------------------------------------------
    @property
    def checkpoint_prefix(self) -> Path | None:
        """``model.ckpt-30`` for ``model.ckpt-30.meta`` (``None`` for a SavedModel's graph)."""
        if self.source != "meta_file" or not self.path.name.endswith(META_SUFFIXES):
            return None
        from .._files import prefix_of

        return prefix_of(self.path)  # run/.meta: the empty prefix, the folder run

    @functools.cached_property
    def checkpoint(self):
        """The checkpoint saved with this graph (``PREFIX.index`` or a V1 file ``PREFIX``),
        as a :class:`tfexplore.artifacts.checkpoint.Checkpoint`; ``None`` when there is none."""
        prefix = self.checkpoint_prefix
        if prefix is None:
            return None
        if not (prefix_file(prefix, ".index").is_file() or prefix.is_file()):
            return None
        from .checkpoint.prefix import Checkpoint

        return Checkpoint(prefix)

    def _file_rows(self) -> list[tuple[Path, str]]:
        rows = [(self.path, "meta graph" if self.source == "meta_file" else self.source)]
        prefix = self.checkpoint_prefix
        if prefix is not None:
            index = prefix_file(prefix, ".index")
            if index.is_file():
                rows.append((index, "checkpoint index (sibling)"))
                for data in checkpoint_files(*prefix_parts(prefix)):
                    if DATA_SHARD.match(data.name):
                        rows.append((data, "checkpoint data (sibling)"))
            elif prefix.is_file():
                rows.append((prefix, "checkpoint V1 file (sibling)"))
        return rows

    # -- notes, summary, explain ---------------------------------------------------------
    @functools.cached_property
    def notes(self) -> list[str]:
        """Things worth knowing about this file, in plain sentences."""
        notes = []
        if not self._variable_defs:
            count = len(self._variable_ops())
            if count:
                notes.append(
                    f"The file has no variable collections; the {count} variables listed are "
                    "the variable ops of the graph (VariableV2, Variable, VarHandleOp)."
                )
        saver = self.saver_def
        if saver and not saver["restore_op_in_graph"]:
            notes.append(f"The SaverDef's restore op {saver['restore_op']!r} is not in the graph.")
        if saver.get("version") == "V1":
            notes.append("The saver writes the legacy V1 format: one checkpoint file, no .index.")
        if not self.meta_info["tensorflow_version"]:
            notes.append("No TensorFlow version is recorded (files written before TF 1.0 lack it).")
        if self.unknown_ops:
            notes.append(
                "Ops unknown to this TensorFlow (custom ops): " + ", ".join(self.unknown_ops) + "."
            )
        if self.is_text:
            notes.append("The file holds a MetaGraphDef in protobuf text format.")
        if self.checkpoint_prefix is not None and self.checkpoint is None:
            stem = prefix_parts(self.checkpoint_prefix)[1]
            notes.append(
                f"No checkpoint named {stem or prefix_text(self.checkpoint_prefix)!r} next to it."
            )
        return notes

    def summary(self) -> dict[str, Any]:
        """Key facts: TF version, nodes, op types, functions, collections, variables, saver."""
        graph = self.graph
        facts: dict[str, Any] = {
            "kind": self.kind,
            "path": str(self.path),
            "tensorflow_version": self.meta_info["tensorflow_version"] or "not recorded",
            "nodes": len(graph),
            "op_types": len(graph.op_types()),
            "functions": len(graph.functions),
            "collections": list(self.collections),
            "variables": len(self.variables),
            "saver": f"{self.saver_def['version']}, restore op {self.saver_def['restore_op']!r}"
            if self.saver_def
            else None,
            "signatures": sorted(self.proto.signature_def) or None,
            "tags": self.meta_info["tags"] or None,
            "has_checkpoint": self.checkpoint_prefix is not None and self.checkpoint is not None,
        }
        return {k: v for k, v in facts.items() if v is not None}

    def explain(self) -> Explanation:
        """What a MetaGraphDef holds, what this one holds, and what a restore needs."""
        return Explanation(explain_meta_graph(self))


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def _row(collection: str, member: Any, node: str | None, kind: str) -> dict[str, Any]:
    return {"collection": collection, "member": member, "node": node, "kind": kind}


def _try_parse(message_cls, data: bytes):
    message = message_cls()
    try:
        message.ParseFromString(data)
    except Exception:  # a damaged member: shown as bytes
        return None
    return message


def _proto_class(module_name: str, class_name: str):
    import importlib

    module = importlib.import_module(f"tensorflow.core.protobuf.{module_name}")
    return getattr(module, class_name)


def _describe_slice(info) -> str:
    offsets = list(info.var_offset)
    shape = list(info.var_shape)
    ranges = ", ".join(f"{o}:{o + s}" for o, s in zip(offsets, shape))
    return f"[{ranges}] of {tuple(info.full_shape)}"


def _signature_tensor(info) -> str:
    kind = info.WhichOneof("encoding")
    if kind == "name":
        return info.name
    if kind == "coo_sparse":
        sparse = info.coo_sparse
        return f"sparse(values={sparse.values_tensor_name}, indices={sparse.indices_tensor_name})"
    if kind == "composite_tensor":
        names = [_signature_tensor(c) for c in info.composite_tensor.components]
        return "composite(" + ", ".join(names) + ")"
    return ""
