"""A SavedModel's protos read as rows: its TF2 object graph (breadth-first paths, the checkpoint
key of each variable, which object owns which concrete function), the function each
signature calls, the variables of a TF1 graph's collections; its text format parsed.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

from ..errors import (
    CorruptArtifactError,
)

__all__ = ["WRITERS"]

FINGERPRINT_NAME = "fingerprint.pb"
VARIABLE_VALUE = "/.ATTRIBUTES/VARIABLE_VALUE"
ROOT_PATH = "(root)"
#: What ``SavedModel.writer`` can be, with a description.
WRITERS = {
    "tf1_builder": "TF1 SavedModelBuilder (tf.compat.v1.saved_model, or an Estimator export): "
    "no object graph",
    "tf2": "TF2 tf.saved_model.save of a tf.Module or tf.function",
    "keras3_export": "Keras 3 model.export() (an inference-only ExportArchive)",
    "keras2_saved_model": "tf.keras (Keras 2) model.save() to the SavedModel format",
}


# -- proto helpers ---------------------------------------------------------------------------
def _parse_text(message_cls, data: bytes, path: Path):
    from google.protobuf import text_format

    try:
        return text_format.Parse(data.decode("utf-8"), message_cls())
    except (text_format.ParseError, UnicodeDecodeError) as exc:
        raise CorruptArtifactError(
            f"{str(path)!r} is not a readable text SavedModel: {exc}",
            path=path,
            expected="a SavedModel in protobuf text format",
            hint="re-export the model; check the file was not edited or truncated",
        ) from exc


def _signature_functions(mg) -> dict[str, str | None]:
    """Signature key -> the concrete function it calls: from the object graph's
    ``signatures`` map (TF2), else from the call op that produces its first output."""
    found: dict[str, str | None] = {}
    nodes = mg.object_graph_def.nodes
    if nodes:
        children = {c.local_name: c.node_id for c in nodes[0].children}
        if "signatures" in children and children["signatures"] < len(nodes):
            for child in nodes[children["signatures"]].children:
                node = nodes[child.node_id] if child.node_id < len(nodes) else None
                if node is not None and node.WhichOneof("kind") == "bare_concrete_function":
                    found[child.local_name] = node.bare_concrete_function.concrete_function_name
    calls = {
        n.name: n.attr["f"].func.name
        for n in mg.graph_def.node
        if n.op in ("StatefulPartitionedCall", "PartitionedCall") and "f" in n.attr
    }
    for key, signature in mg.signature_def.items():
        if key in found:
            continue
        outputs = [t.name.split(":")[0] for t in signature.outputs.values()]
        found[key] = next((calls[o] for o in outputs if o in calls), None)
    return found


def _escape_local_name(name: str) -> str:
    """Escape one object path component the way TF2 checkpoint keys do."""
    return name.replace(".", "..").replace("/", ".S")


def _object_rows(object_graph) -> list[dict[str, Any]]:
    """One dict per SavedObjectGraph node, with its breadth-first (shortest) path from the root
    and, for variables, the checkpoint key that holds its value."""
    from .._tf import dtype_name

    nodes = object_graph.nodes
    paths, keys = _breadth_first_paths(nodes)
    rows = []
    for node_id, node in enumerate(nodes):
        kind = node.WhichOneof("kind") or "unknown"
        value = getattr(node, kind) if kind != "unknown" else None
        row = {
            "node_id": node_id,
            "path": paths.get(node_id, ROOT_PATH if node_id == 0 else None),
            "kind": kind,
            "identifier": None,
            "children": tuple(c.local_name for c in node.children),
            "dtype": None,
            "shape": None,
            "trainable": None,
            "functions": None,
            "variable_name": None,
            "checkpoint_key": None,
        }
        if kind == "user_object":
            row["identifier"] = node.registered_name or value.identifier
        elif kind == "variable":
            row.update(
                identifier=value.name,
                variable_name=value.name,
                dtype=dtype_name(value.dtype),
                shape=_shape(value.shape),
                trainable=bool(value.trainable),
                checkpoint_key=(keys[node_id] + VARIABLE_VALUE) if node_id in keys else None,
            )
        elif kind == "function":
            row["functions"] = tuple(value.concrete_functions)
        elif kind == "bare_concrete_function":
            row["functions"] = (value.concrete_function_name,)
        elif kind == "constant":
            row["identifier"] = value.operation
        elif kind == "resource":
            row["identifier"] = node.registered_name or "resource"
        elif kind == "asset":
            row["identifier"] = f"asset_file_def[{value.asset_file_def_index}]"
        rows.append(row)
    return rows


def _breadth_first_paths(nodes) -> tuple[dict[int, str], dict[int, str]]:
    """Node id -> shortest path from the root (readable, and escaped as in checkpoint keys).
    Breadth-first in child order, as TensorFlow names checkpoint keys."""
    paths: dict[int, str] = {}
    keys: dict[int, str] = {}
    if not nodes:
        return paths, keys
    seen = {0}
    queue = deque([(0, "", "")])
    while queue:
        node_id, path, key = queue.popleft()
        for child in nodes[node_id].children:
            target = child.node_id
            if target in seen or not 0 <= target < len(nodes):
                continue
            seen.add(target)
            paths[target] = f"{path}/{child.local_name}" if path else child.local_name
            escaped = _escape_local_name(child.local_name)
            keys[target] = f"{key}/{escaped}" if key else escaped
            queue.append((target, paths[target], keys[target]))
    return paths, keys


def _shape(shape_proto) -> tuple[int | None, ...] | None:
    if shape_proto.unknown_rank:
        return None
    return tuple(d.size if d.size >= 0 else None for d in shape_proto.dim)


def _concrete_function_owners(rows: list[dict[str, Any]]) -> dict[str, str]:
    owners: dict[str, str] = {}
    for row in rows:
        for name in row["functions"] or ():
            owners.setdefault(name, row["path"])
    return owners


def _tf1_variable_facts(mg) -> dict[str, dict[str, Any]]:
    """Checkpoint key -> ``variable_name`` and ``trainable`` from a TF1 graph's
    ``variables`` and ``trainable_variables`` collections (``VariableDef`` protos)."""
    from tensorflow.core.framework import variable_pb2

    def names(collection: str) -> list[str]:
        if collection not in mg.collection_def:
            return []
        found = []
        for data in mg.collection_def[collection].bytes_list.value:
            variable = variable_pb2.VariableDef()
            try:
                variable.ParseFromString(data)
            except Exception:  # a damaged entry: skip it, the checkpoint still lists the key
                continue
            full_name = variable.save_slice_info_def.full_name  # a partitioned variable
            found.append(f"{full_name}:0" if full_name else variable.variable_name)
        return found

    trainable = {n.split(":")[0] for n in names("trainable_variables")}
    facts = {}
    for tensor_name in names("variables") + names("model_variables") + names("local_variables"):
        key = tensor_name.split(":")[0]
        facts.setdefault(key, {"variable_name": tensor_name, "trainable": key in trainable})
    return facts
