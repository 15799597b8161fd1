"""Proof, by the structure of a graph, that a checkpoint op only touches the file a Saver is fed.

``SaveV2``, ``RestoreV2``, ``MergeV2Checkpoints`` (and the V1 ``Save``, ``SaveSlices``,
``Restore``, ``RestoreSlice``) need ``trust=True`` like any op that touches files, with one
exception: a Saver's own reads and writes, whose file name is made from the tensor tfexplore
feeds with the prefix the user chose. That exception is granted here, by a small grammar that
admits exactly the shapes TensorFlow's Savers build and nothing else::

    filename     := PREFIX | ShardedFilename(shard_prefix, int, int) | ShardedFilespec(PREFIX, int)
    shard_prefix := PREFIX | StringJoin(PREFIX, suffix)           (separator "")
    suffix       := Const("_temp/part" | "_temp_<32 hex>/part" | ".part")
                  | Select(c, suffix, suffix) | SelectV2(c, suffix, suffix)
                  | Merge(suffix, suffix) | Identity(suffix)
    MergeV2Checkpoints(Pack(filename, ...) | filename, PREFIX)   (sources never PREFIX itself)

Reads (``RestoreV2``...) are accepted only for a Saver's restore op, writes (``SaveV2``,
``MergeV2Checkpoints``...) only for its save tensor: a restore that writes would overwrite the
very checkpoint it reads.

``PREFIX`` is a root: in the main graph, output 0 of a string ``Const``/``Placeholder``/
``PlaceholderWithDefault`` node (the caller then requires it to be the SaverDef's
``filename_tensor_name`` and fed); in a function body (a TF2 ``traced_save``/``traced_restore``),
an argument, which every caller must bind to such a root. Each node in the grammar is taken at
its first output only (a ``Merge``'s ``value_index``, an ``IdentityN``'s other outputs are not
file names); anything else on the way (another constant, an ``Identity`` of the prefix chain,
``StringJoin`` with a path) fails the proof. The condition of a ``Select`` is not part of the
file name; it runs, and is checked by the allowlist like any other op.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["CHECKPOINT_IO_OPS", "Body", "filename_roots", "function_references"]

READ_OPS = frozenset({"Restore", "RestoreV2", "RestoreSlice"})
WRITE_OPS = frozenset({"Save", "SaveV2", "SaveSlices", "MergeV2Checkpoints"})
CHECKPOINT_IO_OPS = READ_OPS | WRITE_OPS
#: the temporary-shard suffixes TensorFlow's sharded Savers append to the prefix.
_SUFFIX = re.compile(r"(?:_temp(?:_[0-9a-f]{32})?/part|\.part)\Z")
#: the first output argument of each op the grammar admits (function bodies name outputs).
_FIRST_OUTPUT = {
    "Const": "output", "Placeholder": "output", "PlaceholderWithDefault": "output",
    "StringJoin": "output", "ShardedFilename": "filename", "ShardedFilespec": "filename",
    "Select": "output", "SelectV2": "output", "Merge": "output", "Identity": "output",
    "Pack": "output",
}  # fmt: skip
_ROOT_OPS = frozenset({"Const", "Placeholder", "PlaceholderWithDefault"})
_MAX_DEPTH = 16
_STRING = 7  # types_pb2.DT_STRING
#: call ops through which a main-graph node may run a Saver function.
CALL_OPS = frozenset({"PartitionedCall", "StatefulPartitionedCall"})


class Body:
    """The nodes of the main graph (``arguments=None``) or of one function body."""

    def __init__(self, nodes: Mapping[str, Any], arguments: list[str] | None = None) -> None:
        self.nodes = nodes
        self.arguments = arguments

    @property
    def in_function(self) -> bool:
        return self.arguments is not None

    def source(self, reference: str):
        """The node whose FIRST output ``reference`` names, else ``None`` (a control input,
        another output, an argument, an unknown node)."""
        if reference.startswith("^"):
            return None
        parts = reference.split(":")
        node = self.nodes.get(parts[0])
        if node is None:
            return None
        if self.in_function:
            if len(parts) != 3 or parts[2] != "0" or parts[1] != _FIRST_OUTPUT.get(node.op):
                return None
        elif len(parts) > 2 or (len(parts) == 2 and parts[1] != "0"):
            return None
        return node

    def root(self, reference: str) -> str | None:
        """``reference`` as a root: ``"name:0"`` of a string Const/Placeholder node in the main
        graph, an argument name in a function; else ``None``."""
        if self.in_function:
            return reference if reference in self.arguments else None
        node = self.source(reference)
        if node is None or node.op not in _ROOT_OPS or "dtype" not in node.attr:
            return None  # (reading a missing key of a proto map would add it: check first)
        if node.attr["dtype"].type != _STRING:
            return None
        return f"{node.name}:0"


def _data_inputs(node) -> list[str]:
    return [r for r in node.input if not r.startswith("^")]


def filename_roots(node, body: Body) -> set[str] | None:
    """The roots the file name(s) of checkpoint op ``node`` are made of, by the grammar above;
    ``None`` when the op is not checkpoint I/O or anything else feeds its file name."""
    inputs = _data_inputs(node)
    if node.op not in CHECKPOINT_IO_OPS or not inputs:
        return None
    roots: set[str] = set()
    if node.op == "MergeV2Checkpoints":
        if len(inputs) < 2 or not _prefix(inputs[1], body, roots):
            return None
        if body.root(inputs[0]) is None and _filename(inputs[0], body, roots, 0):
            return roots  # (merging the prefix into itself would delete its own files)
        pack = body.source(inputs[0])
        if pack is None or pack.op != "Pack" or not _data_inputs(pack):
            return None
        ok = all(body.root(r) is None and _filename(r, body, roots, 1) for r in _data_inputs(pack))
        return roots if ok else None
    return roots if _filename(inputs[0], body, roots, 0) else None


def _prefix(reference: str, body: Body, roots: set[str]) -> bool:
    root = body.root(reference)
    if root is None:
        return False
    roots.add(root)
    return True


def _filename(reference: str, body: Body, roots: set[str], depth: int) -> bool:
    if _prefix(reference, body, roots):
        return True
    node = body.source(reference)
    if node is None:
        return False
    inputs = _data_inputs(node)
    if node.op == "ShardedFilename" and len(inputs) == 3:
        return _shard_prefix(inputs[0], body, roots, depth + 1)
    if node.op == "ShardedFilespec" and len(inputs) == 2:
        return _prefix(inputs[0], body, roots)
    return False


def _shard_prefix(reference: str, body: Body, roots: set[str], depth: int) -> bool:
    if _prefix(reference, body, roots):
        return True
    node = body.source(reference)
    if node is None or node.op != "StringJoin":
        return False
    inputs = _data_inputs(node)
    separator = node.attr["separator"].s if "separator" in node.attr else b""
    return (
        len(inputs) == 2
        and separator == b""
        and _prefix(inputs[0], body, roots)
        and _suffix(inputs[1], body, depth + 1)
    )


def _suffix(reference: str, body: Body, depth: int) -> bool:
    if depth > _MAX_DEPTH:
        return False
    node = body.source(reference)
    if node is None:
        return False
    inputs = _data_inputs(node)
    if node.op == "Const":
        if "value" not in node.attr:
            return False
        tensor = node.attr["value"].tensor
        values = list(tensor.string_val)
        scalar = not tensor.tensor_shape.dim
        return (
            tensor.dtype == _STRING and scalar and len(values) == 1
            and _SUFFIX.match(values[0].decode("utf-8", "replace")) is not None
        )  # fmt: skip
    if node.op in ("Select", "SelectV2") and len(inputs) == 3:
        return _suffix(inputs[1], body, depth + 1) and _suffix(inputs[2], body, depth + 1)
    if node.op == "Merge" and inputs:
        return all(_suffix(r, body, depth + 1) for r in inputs)
    if node.op == "Identity" and len(inputs) == 1:
        return _suffix(inputs[0], body, depth + 1)
    return False


def function_references(graph_def, extra: Mapping[str, str] = ()) -> dict[str, list[tuple]]:
    """``{function name: [(kind, holder, node, attr path)]}`` for every place that names a
    library function: ``("graph", None, node, path)``, ``("function", name, node, path)``,
    ``("gradient", name, None, "")`` and ``(kind, label, None, "")`` for each ``extra`` name
    (``{function name: kind}``, e.g. the SavedModel object graph's concrete functions)."""
    from .._attrs import attr_function_names

    names = {f.signature.name for f in graph_def.library.function}
    references: dict[str, list[tuple]] = {}

    def visit(kind, holder, nodes):
        for node in nodes:
            if node.op in names:
                references.setdefault(node.op, []).append((kind, holder, node, "<op>"))
            for name, path in attr_function_names(node):
                if name in names:
                    references.setdefault(name, []).append((kind, holder, node, path))

    visit("graph", None, graph_def.node)
    for function in graph_def.library.function:
        visit("function", function.signature.name, function.node_def)
    for gradient in graph_def.library.gradient:
        if gradient.gradient_func in names:
            references.setdefault(gradient.gradient_func, []).append(
                ("gradient", gradient.function_name, None, "")
            )
    for name, kind in dict(extra).items():
        if name in names:
            references.setdefault(name, []).append((kind, name, None, ""))
    return references


def function_io_roots(io_node, function, references: list[tuple]) -> tuple[set[str], list] | None:
    """For checkpoint op ``io_node`` inside ``function``: the main-graph roots its file name is
    bound to by every caller, and the callers; ``None`` unless every reference to the function
    is a main-graph ``PartitionedCall``/``StatefulPartitionedCall`` whose ``f`` names it and
    whose argument is a root (nothing else in the graph, no other function, no gradient entry,
    no object graph may call it)."""
    arguments = [a.name for a in function.signature.input_arg]
    body = Body({n.name: n for n in function.node_def}, arguments)
    used = filename_roots(io_node, body)
    if not used or not references:
        return None
    roots: set[str] = set()
    callers = []
    for kind, _holder, caller, path in references:
        if kind != "graph" or caller is None or caller.op not in CALL_OPS or path != "f":
            return None
        inputs = _data_inputs(caller)
        for argument in used:
            index = arguments.index(argument)
            if index >= len(inputs):
                return None
            roots.add(inputs[index])
        callers.append(caller)
    return roots, callers


def main_root(reference: str, nodes: Mapping[str, Any]) -> str | None:
    """A main-graph reference as a root (``"name:0"``) when it is one, else ``None``."""
    return Body(nodes).root(reference)


#: ops that fill a lookup table from a text file (a SavedModel's vocabulary asset).
ASSET_READ_OPS = frozenset({"InitializeTableFromTextFile", "InitializeTableFromTextFileV2"})


def reads_asset(node, nodes: Mapping[str, Any], assets: set[str]) -> bool:
    """Whether ``node`` fills a table from exactly one of ``assets`` (main-graph root tensors,
    ``"name:0"``, that tfexplore feeds with a path it checked inside the SavedModel's
    ``assets/``): its ``filename`` input is that tensor itself, nothing derived from it."""
    inputs = _data_inputs(node)
    if node.op not in ASSET_READ_OPS or len(inputs) < 2:
        return False
    return Body(nodes).root(inputs[1]) in assets
