"""What a rewritten checkpoint must hold: the *target* of a rewrite plan, read from a Keras
model, a ``tf.Module`` (or any TF2 trackable), a TF1 graph (a ``.meta``) or another
checkpoint.

A :class:`Target` is a list of :class:`TargetVariable` (the name people know it by, the
checkpoint key it is written under, shape, dtype, role and, for an optimizer slot, its
variable) plus what the written checkpoint needs besides tensors: the TF2 object graph of a
model, the ``.meta`` of a TF1 graph. Building a target from a live model asks TensorFlow for the
keys ``tf.train.Checkpoint(model=...)`` would write, without writing or running anything.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._fs import is_url
from ..artifacts.checkpoint import naming
from ..errors import RewriteError

OBJECT_GRAPH_KEY = naming.OBJECT_GRAPH_KEY
#: A TF1 variable whose shape (as its graph declares it) would take more than this is not
#: given its initial value by a rewrite (map a source to it instead).
MAX_INITIAL_BYTES = 2**31
VALUE_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"


@dataclass
class TargetVariable:
    """One tensor the rewritten checkpoint must hold.

    ``name`` is what people call it (a Keras weight's ``path`` such as ``"dense/kernel"``, a TF1
    variable's op name, a checkpoint key); ``key`` is the checkpoint key it is written under
    (for a TF2 model ``"model/layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE"``).
    ``role`` is ``variable``, ``slot``, ``step``, ``optimizer_state`` or ``save_counter``.
    ``initial`` gives the value it starts with when nothing fills it (a live model's current
    value, a TF1 slot's constant initializer), else ``None``."""

    name: str
    key: str
    shape: tuple[int, ...]
    dtype: str
    role: str = "variable"
    slot_of: str | None = None
    slot: str | None = None
    optimizer: str | None = None
    initial: Callable[[], np.ndarray] | None = field(default=None, repr=False)


@dataclass
class Target:
    """What a rewritten checkpoint must hold (see the module docstring).

    ``style`` is ``"object_based"`` (TF2: written with ``object_graph``, the serialized
    ``TrackableObjectGraph``) or ``"name_based"`` (TF1 Saver; ``meta`` is the ``.meta`` bytes
    to write beside it, when the target came from one)."""

    kind: str
    label: str
    style: str
    variables: list[TargetVariable]
    object_graph: bytes | None = None
    meta: bytes | None = None
    #: what the report should say of the target itself (a V1 Saver in its .meta, ...)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.by_name = {v.name: v for v in self.variables}

    def __repr__(self) -> str:
        return f"<Target {self.kind} {self.label!r}: {len(self.variables)} tensors, {self.style}>"


def as_target(to: Any, *, storage_options: dict | None = None) -> Target:
    """The :class:`Target` of ``to``: a Keras model, a ``tf.Module``, a ``tf.train.Checkpoint``
    (its objects), a TF1 graph (a ``.meta`` path, a tfexplore ``MetaGraph``, a ``tf.Graph``
    or a ``MetaGraphDef``), or another checkpoint (a prefix, folder or tfexplore
    ``Checkpoint``)."""
    if isinstance(to, Target):
        return to
    from ..artifacts.checkpoint import Checkpoint, CheckpointDir
    from ..artifacts.metagraph import MetaGraph

    if isinstance(to, CheckpointDir):
        to = to.latest
    if isinstance(to, Checkpoint):
        return from_checkpoint(to)
    if isinstance(to, MetaGraph):
        return from_meta_graph(to)
    if isinstance(to, str) and not to.strip():
        raise RewriteError(
            "to= was given an empty path.",
            expected="a checkpoint (prefix or folder), a .meta graph, a Keras model or a tf.Module",
            hint="ckpt.rewrite(to='run/model.ckpt.meta'), or leave to= out for rules only",
        )
    if isinstance(to, (str, os.PathLike)) or is_url(to):
        from ..artifacts import open as open_artifact

        opened = open_artifact(to, storage_options=storage_options)
        if isinstance(opened, CheckpointDir):
            opened = opened.latest
        if isinstance(opened, (Checkpoint, MetaGraph)):
            return as_target(opened)
        raise RewriteError(
            f"{str(to)!r} is a {_KIND_WORDS.get(opened.kind, opened.kind)} (kind "
            f"{opened.kind!r}), which cannot be the target of a rewrite.",
            path=str(to),
            expected="a checkpoint (prefix or folder), a .meta graph, a Keras model or a tf.Module",
            hint="load the model and pass it (ckpt.rewrite(to=keras.saving.load_model(path))), "
            "or pass its checkpoint",
        )
    type_name = type(to).__name__
    if type_name == "MetaGraphDef":
        return from_meta_graph(MetaGraph(to, path="<MetaGraphDef>"))
    if type_name == "Graph" and hasattr(to, "as_graph_def"):
        return _from_tf_graph(to)
    if hasattr(to, "_serialize_to_tensors") or hasattr(to, "_trackable_children"):
        return from_trackable(to)
    raise RewriteError(
        f"tfexplore cannot make a rewrite target of a {type(to).__module__}.{type_name}.",
        expected="a Keras model, a tf.Module, a tf.train.Checkpoint, a .meta graph (path, "
        "MetaGraph or tf.Graph) or a checkpoint",
        hint="for a Keras model: ckpt.rewrite(to=model); for a TF1 graph: to='run/model.meta'",
    )


#: how an artifact's kind reads in a sentence
_KIND_WORDS = {
    "keras": "Keras file",
    "h5": "Keras HDF5 file",
    "saved_model": "SavedModel",
    "graph_def": "frozen GraphDef",
}


# == TF2 objects ===============================================================================
def from_trackable(obj: Any, *, root_name: str = "model") -> Target:
    """The tensors ``tf.train.Checkpoint(model=obj)`` writes (``obj`` itself when it is a
    ``tf.train.Checkpoint``), asked of TensorFlow's object-graph serializer without writing
    or running anything, and the serialized object graph to write with them."""
    from .._tf import tf

    tf_ = tf()
    checkpoint = (
        obj if isinstance(obj, tf_.train.Checkpoint) else tf_.train.Checkpoint(**{root_name: obj})
    )
    from tensorflow.python.checkpoint import graph_view, save_util

    # restore() makes the counter and asks for it (assert_existing_objects_matched): so the
    # written checkpoint has one, 0 when the source has none
    _ = checkpoint.save_counter

    serialized, _, _, graph_proto = save_util.serialize_graph_view(
        graph_view.ObjectGraphView(checkpoint), call_with_mapped_captures=None
    )
    object_paths = _object_paths(graph_proto)
    optimizer_nodes = _optimizer_nodes(graph_proto, object_paths)
    variables: list[TargetVariable] = []
    key_of: dict[int, str] = {}
    node_of_key: dict[str, int] = {}
    for node_id, node in enumerate(graph_proto.nodes):
        for attribute in node.attributes:
            key_of[node_id] = attribute.checkpoint_key
            node_of_key.setdefault(attribute.checkpoint_key, node_id)
    slot_info = {}
    for node in graph_proto.nodes:
        for slot in node.slot_variables:
            slot_info[slot.slot_variable_node_id] = (
                slot.original_variable_node_id,
                slot.slot_name,
            )
    objects = {id(o): o for o in serialized}
    for trackable, tensors in serialized.items():
        for key in tensors:
            if not key.endswith(VALUE_SUFFIX):
                continue
            node_id = node_of_key.get(key)
            variable = trackable
            shape = tuple(int(d) for d in variable.shape)
            dtype = _dtype_name(variable.dtype)
            name = _display_name(variable, key)
            role, slot_of, slot, optimizer = "variable", None, None, None
            if node_id in slot_info:
                original, slot_name = slot_info[node_id]
                role, slot = "slot", slot_name
                slot_of = key_of.get(original)
            elif node_id is not None and _under(node_id, optimizer_nodes, object_paths):
                role = "optimizer_state"
            if object_paths.get(node_id, "").endswith("save_counter"):
                role = "save_counter"
            variables.append(
                TargetVariable(
                    name=name,
                    key=key,
                    shape=shape,
                    dtype=dtype,
                    role=role,
                    slot_of=slot_of,
                    slot=slot,
                    optimizer=optimizer,
                    initial=_current_value(variable),
                )
            )
    del objects
    names = [v.name for v in variables]
    if len(set(names)) != len(names):  # two weights with one path: fall back to their keys
        for v in variables:
            v.name = v.key[: -len(VALUE_SUFFIX)]
    by_key = {v.key: v.name for v in variables}
    for v in variables:
        if v.slot_of is not None:
            v.slot_of = by_key.get(v.slot_of, v.slot_of)
    kind = "Keras model" if _is_keras(obj) else type(obj).__name__
    label = getattr(obj, "name", None) or type(obj).__name__
    return Target(
        kind=kind,
        label=str(label),
        style="object_based",
        variables=variables,
        object_graph=graph_proto.SerializeToString(),
    )


def _is_keras(obj: Any) -> bool:
    return any(c.__module__.startswith("keras") for c in type(obj).__mro__)


def _display_name(variable: Any, key: str) -> str:
    path = getattr(variable, "path", None)  # Keras 3: "dense/kernel"
    if isinstance(path, str) and path:
        return path
    name = getattr(variable, "name", None)
    if isinstance(name, str) and name:
        return name[:-2] if name.endswith(":0") else name
    return key[: -len(VALUE_SUFFIX)]


def _current_value(variable: Any) -> Callable[[], np.ndarray]:
    return lambda: np.asarray(variable.numpy())


def _dtype_name(dtype: Any) -> str:
    name = getattr(dtype, "name", None) or str(dtype)
    return {"float": "float32", "double": "float64", "half": "float16"}.get(name, name)


def _object_paths(graph_proto) -> dict[int, str]:
    paths = {0: ""}
    queue = [0]
    while queue:
        node_id = queue.pop(0)
        for child in graph_proto.nodes[node_id].children:
            if child.node_id not in paths:
                base = paths[node_id]
                paths[child.node_id] = f"{base}/{child.local_name}" if base else child.local_name
                queue.append(child.node_id)
    return paths


def _optimizer_nodes(graph_proto, paths: dict[int, str]) -> set[int]:
    found = set()
    for node_id, node in enumerate(graph_proto.nodes):
        if node.slot_variables:
            found.add(node_id)
    for node_id, path in paths.items():
        if path.split("/")[-1] in ("optimizer", "_optimizer"):
            found.add(node_id)
    return found


def _under(node_id: int, ancestors: set[int], paths: dict[int, str]) -> bool:
    path = paths.get(node_id)
    if path is None:
        return False
    return any(
        path.startswith(paths[a] + "/") and not _is_trainable_list(path[len(paths[a]) + 1 :])
        for a in ancestors
        if a in paths and paths[a]
    )


def _is_trainable_list(rest: str) -> bool:
    # Keras 3 optimizers track the model's own weights under _trainable_variables/N: those
    # are the model's variables, not optimizer state
    return rest.startswith("_trainable_variables/")


# == TF1 graphs ================================================================================
def from_meta_graph(meta_graph) -> Target:
    """The variables a TF1 ``Saver`` of this graph saves and restores: one per checkpoint key
    (a partitioned variable is one key, its full shape), with slot and step roles from their
    names, and the ``.meta`` bytes to write beside the checkpoint."""
    table = meta_graph.variables
    nodes = {node.name: node for node in meta_graph.proto.graph_def.node}
    saved = _saver_keys(meta_graph, nodes)
    rows: dict[str, dict[str, Any]] = {}
    for row in table.itertuples(index=False):
        key = row.checkpoint_key
        if saved is not None and key not in saved:
            continue  # a variable the graph's Saver does not save (nor restore)
        shape = tuple(int(d) if d is not None and d >= 0 else -1 for d in (row.shape or ()))
        if row.partition_of:
            full = _full_shape(nodes, row.name, meta_graph) or shape
            rows.setdefault(key, {"shape": full, "dtype": row.dtype, "initial": None})
            continue
        rows[key] = {
            "shape": shape,
            "dtype": row.dtype,
            "initial": _static_initial(nodes, row.initial_value, shape),
        }
    info = naming.describe_keys({k: r["shape"] for k, r in rows.items()}, None)
    variables = []
    for key, row in rows.items():
        described = info.get(key)
        variables.append(
            TargetVariable(
                name=key,
                key=key,
                shape=row["shape"],
                dtype=str(row["dtype"]),
                role=described.role if described else "variable",
                slot_of=described.slot_of if described else None,
                slot=described.slot if described else None,
                optimizer=described.optimizer if described else None,
                initial=row["initial"],
            )
        )
    meta, notes = _meta_to_write(meta_graph, partial=saved is not None and len(saved) < len(table))
    if saved is not None and len(saved) < len(table):
        notes.append(
            f"the graph's Saver saves {len(saved)} of its {len(table)} variables: the others "
            "are not targets (they are neither saved nor restored by it)"
        )
    return Target(
        kind="TF1 graph",
        label=str(getattr(meta_graph, "path", "") or "graph"),
        style="name_based",
        variables=variables,
        meta=meta,
        notes=notes,
    )


#: ops that write a checkpoint (their second input names the keys): V2, and V1's two
_SAVE_OPS = frozenset({"SaveV2", "SaveSlices", "Save"})


def _saver_keys(meta_graph, nodes: dict) -> set[str] | None:
    """The checkpoint keys the graph's own Saver writes (the ``tensor_names`` constants of the
    save ops in its scope), or ``None`` when the graph does not say (no SaverDef, a name
    list that is not a plain constant): then every variable is a target."""
    saver_def = meta_graph.proto.saver_def
    if not saver_def.filename_tensor_name:
        return None
    scope = saver_def.filename_tensor_name.rsplit("/", 1)[0] + "/"
    keys: set[str] = set()
    found = False
    for node in nodes.values():
        if node.op not in _SAVE_OPS or not node.name.startswith(scope) or len(node.input) < 2:
            continue
        names = nodes.get(node.input[1].split(":")[0].lstrip("^"))
        if names is None or names.op != "Const" or "value" not in names.attr:
            return None
        values = names.attr["value"].tensor.string_val
        keys.update(v.decode("utf-8", "replace") for v in values)
        found = True
    return keys if found and keys else None


def _meta_to_write(meta_graph, *, partial: bool) -> tuple[bytes, list[str]]:
    """The ``.meta`` bytes to write beside the rewritten checkpoint. A graph whose Saver reads
    the V1 format (``RestoreSlice``) could not read the V2 checkpoint tfexplore writes: its
    SaverDef is left out, so ``import_meta_graph`` makes a new Saver, which reads V2 (of all
    the graph's variables: ``partial``, when the old one saved fewer, is said)."""
    proto = meta_graph.proto
    if proto.HasField("saver_def") and proto.saver_def.version == _SAVER_V1:
        copy = type(proto)()
        copy.CopyFrom(proto)
        copy.ClearField("saver_def")
        note = (
            "the .meta's Saver reads V1 checkpoints; the .meta written has no SaverDef, so "
            "import_meta_graph makes a new Saver that reads the V2 checkpoint written"
        )
        if partial:
            note += (
                " (of every variable: build tf.compat.v1.train.Saver(var_list=...) of the "
                "saved ones to restore this checkpoint)"
            )
        return copy.SerializeToString(), [note]
    return proto.SerializeToString(), []


_SAVER_V1 = 1  # SaverDef.CheckpointFormatVersion.V1


def _from_tf_graph(graph) -> Target:
    from .._tf import tf
    from ..artifacts.metagraph import MetaGraph

    with graph.as_default():
        proto = tf().compat.v1.train.export_meta_graph(graph=graph)
    return from_meta_graph(MetaGraph(proto, path="<tf.Graph>"))


def _full_shape(nodes: dict, name: str, meta_graph) -> tuple[int, ...] | None:
    """The full shape of the partitioned variable whose slice is op ``name`` (its
    ``VariableDef``'s ``save_slice_info_def``, as the meta graph parsed it)."""
    found = meta_graph._variable_defs.get(name)
    vdef = found[0] if found else None
    if vdef is None or not vdef.HasField("save_slice_info_def"):
        return None
    return tuple(int(d) for d in vdef.save_slice_info_def.full_shape)


def _static_initial(nodes: dict, tensor_name: str | None, shape) -> Callable | None:
    """A TF1 variable's initial value when the graph states it as constants alone (``Const``,
    ``Fill`` of constants, through ``Identity``): what a fresh optimizer slot or
    ``beta1_power`` starts with. Read from the protos; nothing runs."""
    if not tensor_name or any(d < 0 for d in shape):
        return None
    if math.prod(shape) * 8 > MAX_INITIAL_BYTES:  # a size the file declares: not trusted
        return None
    name = tensor_name.split(":")[0]
    for _ in range(8):
        node = nodes.get(name)
        if node is None:
            return None
        if node.op == "Identity" and node.input:
            name = node.input[0].split(":")[0]
            continue
        if node.op == "Const":
            return lambda node=node: _broadcast(_const(node), shape)
        if node.op == "Fill" and len(node.input) == 2:
            value_node = nodes.get(node.input[1].split(":")[0])
            if value_node is None or value_node.op != "Const":
                return None
            return lambda v=value_node: _broadcast(_const(v), shape)
        return None
    return None


def _const(node) -> np.ndarray:
    from ..graph.consts import const_value

    return const_value(node.attr["value"].tensor, name=node.name, path="<graph>")


def _broadcast(value: np.ndarray, shape) -> np.ndarray:
    return np.array(np.broadcast_to(value, tuple(shape)))


# == checkpoints ===============================================================================
def from_checkpoint(checkpoint) -> Target:
    """The tensors of another checkpoint: its keys, shapes, roles (slots tied to their
    variables) and, for a TF2 checkpoint, its object graph (written unchanged)."""
    table = checkpoint.variables
    variables = []
    object_graph = None
    for row in table.itertuples(index=False):
        if row.role == "object_graph":
            value = checkpoint.read(row.name)
            object_graph = bytes(np.asarray(value).reshape(-1)[0])
            continue
        variables.append(
            TargetVariable(
                name=row.name,
                key=row.name,
                shape=tuple(int(d) for d in row.shape),
                dtype=str(row.dtype),
                role=row.role,
                slot_of=row.slot_of,
                slot=row.slot,
                optimizer=row.optimizer,
            )
        )
    return Target(
        kind="checkpoint",
        label=str(checkpoint.prefix),
        style=checkpoint.style,
        variables=variables,
        object_graph=object_graph,
    )
