"""SavedModel folders, read from their protos and their checkpoint: nothing in them runs.

A SavedModel folder holds:

- ``saved_model.pb`` (or ``saved_model.pbtxt``): a ``SavedModel`` proto, one ``MetaGraphDef``
  per tag set (``serve``, ``train``...). Each holds a graph, its function library and the
  *signatures*: named entry points whose inputs and outputs are tensors of that graph.
  SavedModels written by TF2 (``tf.saved_model.save``, Keras ``model.export``) add a
  ``SavedObjectGraph``: the tree of Python objects (modules, layers, variables, functions) that
  ``tf.saved_model.load`` rebuilds;
- ``variables/variables.index`` + ``variables.data-NNNNN-of-MMMMM``: an ordinary checkpoint with
  the weights;
- ``assets/`` (vocabularies and other files the graph reads), ``assets.extra/`` (files for
  serving, never read by TensorFlow) and, since TF 2.11, ``fingerprint.pb``.

Example::

    >>> import tfexplore
    >>> model = tfexplore.open("export/1")                          # doctest: +SKIP
    >>> model.tags, model.writer                                     # doctest: +SKIP
    ([['serve']], 'tf2')
    >>> model.signatures[["signature", "direction", "key", "dtype", "shape"]]  # doctest: +SKIP
    >>> model.variables[["name", "shape", "object_path", "trainable"]]         # doctest: +SKIP
    >>> print(model.explain())                                       # doctest: +SKIP
"""

from __future__ import annotations

import functools
import os
from collections import deque
from pathlib import Path
from typing import Any

from ..errors import (
    ArtifactNotFoundError,
    CorruptArtifactError,
    TensorNotFoundError,
    TFExploreError,
)
from .base import Artifact, Explanation, human_bytes

__all__ = ["SavedModel", "WRITERS"]

PB_NAME = "saved_model.pb"
PBTXT_NAME = "saved_model.pbtxt"
FINGERPRINT_NAME = "fingerprint.pb"
VARIABLES_PREFIX = ("variables", "variables")
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
OBJECT_COLUMNS = [
    "node_id", "path", "kind", "identifier", "children", "dtype", "shape", "trainable",
    "functions",
]  # fmt: skip
SIGNATURE_COLUMNS = [
    "tags", "signature", "method", "direction", "key", "tensor", "dtype", "shape", "function",
    "meta_graph",
]  # fmt: skip
FUNCTION_COLUMNS = ["name", "tags", "n_nodes", "n_inputs", "n_outputs", "object_path", "signature"]


class SavedModel(Artifact):
    """A SavedModel folder: tags, meta graphs, signatures, weights and (TF2) object graph.

    Opening parses ``saved_model.pb`` only when a property first needs it, and never loads the
    model: no op and no function from the file runs.

    Example::

        >>> model = SavedModel("export/1")                           # doctest: +SKIP
        >>> model.signatures                                         # doctest: +SKIP
        >>> model.object_graph.query("kind == 'variable'")           # doctest: +SKIP
        >>> model.read("dense/kernel/.ATTRIBUTES/VARIABLE_VALUE")    # doctest: +SKIP

    Raises:
        ArtifactNotFoundError: the folder does not exist or holds no ``saved_model.pb``.
        CorruptArtifactError: (on first access) ``saved_model.pb`` is damaged or truncated.
    """

    kind = "saved_model"

    def __init__(self, folder: str | os.PathLike) -> None:
        folder = Path(folder)
        if folder.name in (PB_NAME, PBTXT_NAME) and folder.is_file():
            folder = folder.parent
        super().__init__(folder)
        if not (self.path / PB_NAME).is_file() and not (self.path / PBTXT_NAME).is_file():
            raise ArtifactNotFoundError(
                f"{str(self.path)!r} holds no {PB_NAME} (or {PBTXT_NAME}).",
                path=self.path,
                expected=f"a SavedModel folder: {PB_NAME}, variables/, assets/",
                hint="point at the folder that contains saved_model.pb (often a version "
                "number like 1/)",
            )

    # -- the proto -------------------------------------------------------------------------
    @property
    def proto_path(self) -> Path:
        """``saved_model.pb``, or ``saved_model.pbtxt`` when only the text form exists."""
        binary = self.path / PB_NAME
        return binary if binary.is_file() else self.path / PBTXT_NAME

    @functools.cached_property
    def proto(self):
        """The parsed ``SavedModel`` proto (``saved_model_schema_version``, ``meta_graphs``)."""
        from .._files import read_bytes
        from .._tf import parse_proto, protos

        message_cls = protos().saved_model_pb2.SavedModel
        data = read_bytes(self.proto_path, what="SavedModel", expected="saved_model.pb")
        if self.proto_path.name == PBTXT_NAME:
            proto = _parse_text(message_cls, data, self.proto_path)
        else:
            proto = parse_proto(message_cls, data, self.proto_path, "SavedModel (saved_model.pb)")
        if not proto.meta_graphs:
            raise CorruptArtifactError(
                f"{str(self.proto_path)!r} holds no meta graph (it is empty or not a SavedModel).",
                path=self.proto_path,
                expected="a SavedModel proto with at least one MetaGraphDef",
                hint="re-export the model; compare the file's size with the original",
            )
        return proto

    @functools.cached_property
    def graph_error(self) -> TFExploreError | None:
        """Why ``saved_model.pb`` cannot be read (damaged, truncated, a Git LFS pointer...),
        else ``None``. Its ``variables/`` checkpoint is read on its own either way:
        ``variables``, ``read``, ``stats`` and ``summary()`` work; the graph, signatures and
        safety raise this error."""
        try:
            _ = self.proto
        except TFExploreError as exc:
            return exc
        return None

    @property
    def tags(self) -> list[list[str]]:
        """The tag set of each meta graph, in file order (``[['serve']]``)."""
        return [list(mg.meta_info_def.tags) for mg in self.proto.meta_graphs]

    @functools.cached_property
    def meta_graphs(self) -> list:
        """One :class:`~tfexplore.artifacts.metagraph.MetaGraph` per tag set."""
        from .metagraph import MetaGraph

        return [
            MetaGraph(mg, path=self.proto_path, source="saved_model")
            for mg in self.proto.meta_graphs
        ]

    @property
    def meta_graph(self):
        """The meta graph tagged ``serve`` (what serving loads), else the first one."""
        return self.meta_graphs[self._serve_index]

    @property
    def graph(self):
        """The :class:`~tfexplore.graph.Graph` of :attr:`meta_graph`."""
        return self.meta_graph.graph

    @functools.cached_property
    def _serve_index(self) -> int:
        for index, tags in enumerate(self.tags):
            if "serve" in tags:
                return index
        return 0

    @property
    def _main(self):
        """The ``MetaGraphDef`` proto of :attr:`meta_graph`."""
        return self.proto.meta_graphs[self._serve_index]

    @property
    def tensorflow_version(self) -> str | None:
        """The TensorFlow version that wrote the file, if recorded."""
        return self._main.meta_info_def.tensorflow_version or None

    @functools.cached_property
    def writer(self) -> str:
        """Who wrote it: ``tf1_builder``, ``tf2``, ``keras3_export`` or
        ``keras2_saved_model`` (see ``WRITERS``)."""
        nodes = self._main.object_graph_def.nodes
        if not nodes:
            return "tf1_builder"
        identifiers = {
            n.user_object.identifier for n in nodes if n.WhichOneof("kind") == "user_object"
        }
        if any(i.startswith("_tf_keras") for i in identifiers):
            return "keras2_saved_model"
        root_children = {c.local_name for c in nodes[0].children}
        if {"variables", "trainable_variables", "non_trainable_variables"} <= root_children:
            return "keras3_export"
        return "tf2"

    # -- signatures ------------------------------------------------------------------------
    @functools.cached_property
    def signatures(self):
        """Every signature input and output of every meta graph: ``tags``, ``signature``,
        ``method``, ``direction`` (input/output), ``key``, ``tensor`` (graph tensor name),
        ``dtype``, ``shape`` and, for TF2 SavedModels, ``function`` (the concrete function the
        signature calls)."""
        import pandas as pd

        frames = []
        for index, (mg, meta) in enumerate(zip(self.proto.meta_graphs, self.meta_graphs)):
            frame = meta.signatures.copy()
            frame.insert(0, "tags", ",".join(mg.meta_info_def.tags))
            called = _signature_functions(mg)
            frame["function"] = [called.get(s) for s in frame["signature"]]
            frame["meta_graph"] = index
            frames.append(frame)
        if not frames:
            return pd.DataFrame(columns=SIGNATURE_COLUMNS)
        return pd.concat(frames, ignore_index=True)

    # -- weights ---------------------------------------------------------------------------
    @property
    def variables_prefix(self) -> Path:
        """``variables/variables``: the prefix of the weights checkpoint."""
        return self.path.joinpath(*VARIABLES_PREFIX)

    @functools.cached_property
    def checkpoint(self):
        """The weights as a :class:`~tfexplore.artifacts.checkpoint.Checkpoint`
        (``variables/variables``), or ``None`` when the SavedModel has none."""
        if not Path(str(self.variables_prefix) + ".index").is_file():
            return None
        from .checkpoint.prefix import Checkpoint

        return Checkpoint(self.variables_prefix)

    @functools.cached_property
    def variables(self):
        """The checkpoint's variables (``name``, ``shape``, ``dtype``, ``size``, ``nbytes``...)
        with, where the SavedModel says it, ``object_id`` and ``object_path`` (the TF2 object
        graph node holding the variable), ``variable_name`` (its name in the graph) and
        ``trainable``. Empty when the SavedModel has no weights."""
        import pandas as pd

        if self.checkpoint is None:
            return pd.DataFrame(columns=["name", "shape", "dtype", "size", "nbytes"])
        frame = self.checkpoint.variables.copy()
        ties = self._variable_ties() if self.graph_error is None else {}
        for column in ("object_id", "object_path", "variable_name", "trainable"):
            values = [ties.get(name, {}).get(column) for name in frame["name"]]
            if column in frame.columns:  # the checkpoint's own object graph said it first
                values = [old if _known(old) else new for old, new in zip(frame[column], values)]
            frame[column] = pd.Series(values, index=frame.index, dtype=object)
        return frame

    def _variable_ties(self) -> dict[str, dict[str, Any]]:
        """Checkpoint key -> facts from the object graph (TF2) or the collections (TF1)."""
        if self.writer == "tf1_builder":
            return _tf1_variable_facts(self._main)
        return {
            row["checkpoint_key"]: {
                "object_id": row["node_id"],
                "object_path": row["path"],
                "variable_name": row["variable_name"],
                "trainable": row["trainable"],
            }
            for row in self._object_rows
            if row["kind"] == "variable"
        }

    def read(self, name: str):
        """A variable's value as a numpy array, by checkpoint key (``name``) or, for TF2
        SavedModels, by object path (``dense/kernel``).

        Example::

            >>> SavedModel("export/1").read("dense/W")                 # doctest: +SKIP
        """
        return self._require_checkpoint(name).read(self._checkpoint_key(name))

    def stats(self, names: list[str] | None = None, progress: bool | None = None):
        """Statistics of each variable (all, or ``names``), streamed from the checkpoint."""
        checkpoint = self._require_checkpoint(names[0] if names else None)
        keys = [self._checkpoint_key(n) for n in names] if names is not None else None
        return checkpoint.stats(names=keys, progress=progress)

    def _checkpoint_key(self, name: str) -> str:
        if self.checkpoint is not None and name in set(self.checkpoint.variables["name"]):
            return name
        if self.graph_error is not None:  # no object graph to find the path in
            return name
        for row in self._object_rows:
            if row["kind"] == "variable" and name in (row["path"], row["variable_name"]):
                return row["checkpoint_key"]
        return name  # the checkpoint raises TensorNotFoundError with suggestions

    def _require_checkpoint(self, name: str | None):
        if self.checkpoint is None:
            raise TensorNotFoundError(
                f"The SavedModel {str(self.path)!r} has no variables checkpoint"
                + (f", so no {name!r}." if name else "."),
                path=self.path,
                expected="variables/variables.index and variables.data-* files",
                hint="its weights may be folded into the graph as constants: see .graph",
            )
        return self.checkpoint

    # -- the TF2 object graph --------------------------------------------------------------
    @functools.cached_property
    def _object_rows(self) -> list[dict[str, Any]]:
        return _object_rows(self._main.object_graph_def)

    @functools.cached_property
    def object_graph(self):
        """The TF2 ``SavedObjectGraph``: one row per node with ``node_id``, ``path`` (the
        shortest from the root), ``kind`` (``user_object``, ``variable``, ``function``,
        ``bare_concrete_function``, ``constant``, ``resource``, ``asset``...), ``identifier``
        (the object's class, or the variable's name), ``children`` (their local names),
        ``dtype``/``shape``/``trainable`` (variables) and ``functions`` (concrete functions).
        Empty for TF1 builder SavedModels, which have none (see ``notes``)."""
        import pandas as pd

        return pd.DataFrame(
            [{k: row[k] for k in OBJECT_COLUMNS} for row in self._object_rows],
            columns=OBJECT_COLUMNS,
        )

    @functools.cached_property
    def functions(self):
        """The function library of each meta graph: ``name``, ``tags``, ``n_nodes``,
        ``n_inputs``, ``n_outputs``, ``object_path`` (the object graph node that holds it as a
        concrete function) and ``signature`` (the signature that calls it)."""
        import pandas as pd

        held_by = _concrete_function_owners(self._object_rows)
        rows = []
        for mg in self.proto.meta_graphs:
            called = {f: s for s, f in _signature_functions(mg).items() if f}
            for function in mg.graph_def.library.function:
                name = function.signature.name
                rows.append(
                    {
                        "name": name,
                        "tags": ",".join(mg.meta_info_def.tags),
                        "n_nodes": len(function.node_def),
                        "n_inputs": len(function.signature.input_arg),
                        "n_outputs": len(function.signature.output_arg),
                        "object_path": held_by.get(name),
                        "signature": called.get(name),
                    }
                )
        return pd.DataFrame(rows, columns=FUNCTION_COLUMNS)

    @functools.cached_property
    def safety(self):
        """A :class:`tfexplore.safety.ScanReport` over every meta graph: each op (in the graph,
        its functions or nested dataset graphs) that touches files, the network or Python,
        and whether the restore op, a signature or an init op would run it."""
        from ..safety.gate import ScanReport, scan

        reports = [
            scan(mg, path=self.proto_path, meta_graph=",".join(mg.meta_info_def.tags) or None)
            for mg in self.proto.meta_graphs
        ]
        return ScanReport.merge(reports, path=self.proto_path)

    # -- other files -----------------------------------------------------------------------
    @functools.cached_property
    def assets(self):
        """Asset files: those the graph names (``asset_file_def``: ``tensor``, ``filename``)
        and those in ``assets/`` and ``assets.extra/`` (``path``, ``size``, ``exists``)."""
        import pandas as pd

        rows = []
        named = set()
        for mg in self.proto.meta_graphs:
            for asset in mg.asset_file_def:
                named.add(asset.filename)
                rows.append(self._asset_row(asset.filename, asset.tensor_info.name, "assets"))
        for folder in ("assets", "assets.extra"):
            directory = self.path / folder
            if directory.is_dir():
                for file in sorted(p for p in directory.rglob("*") if p.is_file()):
                    relative = file.relative_to(directory).as_posix()
                    if not (folder == "assets" and relative in named):
                        rows.append(self._asset_row(relative, None, folder))
        return pd.DataFrame(
            rows, columns=["filename", "tensor", "folder", "path", "size", "exists"]
        )

    def _asset_row(self, filename: str, tensor: str | None, folder: str) -> dict[str, Any]:
        file = self.path / folder / filename
        exists = file.is_file()
        return {
            "filename": filename,
            "tensor": tensor,
            "folder": folder,
            "path": str(file),
            "size": file.stat().st_size if exists else 0,
            "exists": exists,
        }

    @functools.cached_property
    def fingerprint(self) -> dict[str, Any] | None:
        """The hashes in ``fingerprint.pb`` (TF 2.11+): ``saved_model_checksum``,
        ``graph_def_program_hash``, ``signature_def_hash``, ``saved_object_graph_hash``,
        ``checkpoint_hash``, ``uuid``; ``None`` when the file is absent."""
        file = self.path / FINGERPRINT_NAME
        if not file.is_file():
            return None
        from tensorflow.core.protobuf import fingerprint_pb2

        from .._files import read_bytes
        from .._tf import parse_proto, tf

        tf()
        proto = parse_proto(
            fingerprint_pb2.FingerprintDef,
            read_bytes(file, what="SavedModel fingerprint"),
            file,
            "SavedModel fingerprint (fingerprint.pb)",
        )
        from google.protobuf.json_format import MessageToDict

        return MessageToDict(proto, preserving_proto_field_name=True)

    # -- notes, summary, prose -------------------------------------------------------------
    @functools.cached_property
    def format_notes(self) -> list[str]:
        """What is special about how this SavedModel was written."""
        notes = []
        if self.writer == "tf1_builder":
            notes.append(
                "no object graph: written by the TF1 SavedModelBuilder (or an Estimator). "
                "tf.saved_model.load exposes its signatures but not its variables as objects; "
                "tf.compat.v1.saved_model.load restores it into a Session"
            )
        elif self.writer == "keras3_export":
            notes.append(
                "Keras 3 model.export(): an inference artifact without the Keras config; load "
                "it with tf.saved_model.load or keras.layers.TFSMLayer, not keras.models.load_model"
            )
        elif self.writer == "keras2_saved_model":
            notes.append(
                "tf.keras (Keras 2) SavedModel: Keras 3 cannot load it with load_model; use "
                "tf.saved_model.load or keras.layers.TFSMLayer"
            )
        if self.proto_path.name == PBTXT_NAME:
            notes.append("the SavedModel is stored as text (saved_model.pbtxt)")
        if len(self.proto.meta_graphs) > 1:
            notes.append(f"{len(self.proto.meta_graphs)} meta graphs, one per tag set: {self.tags}")
        return notes

    @property
    def notes(self) -> list[str]:
        """``format_notes`` plus what may be missing (weights, assets)."""
        if self.graph_error is not None:
            notes = [
                f"the graph is not readable ({self.graph_error.message}); the variables/ "
                "checkpoint is read on its own"
                if self.checkpoint is not None
                else f"the graph is not readable ({self.graph_error.message}) and there is no "
                "variables/ checkpoint"
            ]
            if self.checkpoint is not None:
                notes += [f"variables/: {note}" for note in self.checkpoint.notes]
            return notes
        notes = list(self.format_notes)
        if self.checkpoint is None and self._expects_variables:
            notes.append(
                "the graph has variables but variables/variables.index is missing: the weights "
                "are not in this folder"
            )
        if not self.assets.empty and not self.assets["exists"].all():
            missing = list(self.assets.loc[~self.assets["exists"], "filename"])
            notes.append(f"asset files named by the graph are missing: {missing}")
        if self.checkpoint is not None:  # the variables' own notes (missing or LFS data files)
            notes += [f"variables/: {note}" for note in self.checkpoint.notes]
        return notes

    @property
    def _expects_variables(self) -> bool:
        mg = self._main
        if any(row["kind"] == "variable" for row in self._object_rows):
            return True
        return "variables" in mg.collection_def and bool(
            mg.collection_def["variables"].bytes_list.value
        )

    def summary(self) -> dict[str, Any]:
        """Key facts: writer, TF version, tags, signatures, variables, ops, functions."""
        if self.graph_error is not None:
            return self._summary_without_graph()
        mg = self._main
        signature_names = [k for k in mg.signature_def if not k.startswith("__")]
        facts: dict[str, Any] = {
            "kind": self.kind,
            "path": str(self.path),
            "written_by": WRITERS[self.writer],
            "tensorflow_version": self.tensorflow_version or "not recorded",
            "tags": self.tags,
            "signatures": signature_names,
        }
        if self.checkpoint is not None:
            variables = self.checkpoint.variables
            size = human_bytes(int(variables["nbytes"].sum()))
            facts["variables"] = f"{len(variables)} tensors ({size})"
        else:
            facts["variables"] = "none (no variables/ checkpoint)"
        facts["ops"] = len(mg.graph_def.node)
        facts["functions"] = len(mg.graph_def.library.function)
        if self._object_rows:
            facts["objects"] = len(self._object_rows)
        if not self.assets.empty:
            facts["assets"] = len(self.assets)
        return facts

    def _summary_without_graph(self) -> dict[str, Any]:
        facts: dict[str, Any] = {
            "kind": self.kind,
            "path": str(self.path),
            "graph": f"not readable: {self.proto_path.name} ({type(self.graph_error).__name__})",
        }
        if self.checkpoint is not None:
            variables = self.checkpoint.variables
            size = human_bytes(int(variables["nbytes"].fillna(0).sum()))
            facts["variables"] = f"{len(variables)} tensors ({size})"
        else:
            facts["variables"] = "none (no variables/ checkpoint)"
        facts["notes"] = self.notes
        return facts

    def explain(self) -> Explanation:
        """What the folder holds, file by file, and what loading or restoring it needs."""
        if self.graph_error is not None:
            return Explanation(_explain_without_graph(self))
        return Explanation(_explain(self))

    def _file_rows(self) -> list[tuple[Path, str]]:
        rows: list[tuple[Path, str]] = [(self.proto_path, "SavedModel proto (meta graphs)")]
        if (self.path / FINGERPRINT_NAME).is_file():
            rows.append((self.path / FINGERPRINT_NAME, "fingerprint"))
        variables = self.path / "variables"
        if variables.is_dir():
            for file in sorted(variables.iterdir()):
                role = "checkpoint index" if file.suffix == ".index" else "checkpoint data shard"
                rows.append((file, role))
        for folder, role in (("assets", "asset"), ("assets.extra", "extra asset (serving)")):
            if (self.path / folder).is_dir():
                rows += [(p, role) for p in sorted((self.path / folder).rglob("*")) if p.is_file()]
        return rows


def _known(value: Any) -> bool:
    return value is not None and value == value  # NaN is not equal to itself


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


# -- prose -----------------------------------------------------------------------------------
def _explain_without_graph(model: SavedModel) -> str:
    error = model.graph_error
    lines = [
        f"# SavedModel `{model.path.name}` (its graph is not readable)",
        "",
        f"`{model.proto_path.name}` should hold the model's graphs, signatures and (TF2) object "
        f"graph, but it cannot be read: {error.message}",
        "",
    ]
    if model.checkpoint is not None:
        variables = model.checkpoint.variables
        lines += [
            f"`variables/variables.index` and its `.data-*` files are an ordinary TensorFlow "
            f"checkpoint and are read on their own: {len(variables)} tensors "
            "(`.variables`, `.read(name)`, `.stats()`). Their names are checkpoint keys; the "
            "object paths and signatures that the graph would add are unknown.",
        ]
    else:
        lines.append("There is no `variables/` checkpoint either.")
    if error.hint:
        lines += ["", f"To get the graph back: {error.hint}."]
    return "\n".join(lines)


def _explain(model: SavedModel) -> str:
    facts = model.summary()
    mg = model._main
    lines = [
        f"# SavedModel `{model.path.name}`",
        "",
        f"Written by {WRITERS[model.writer]}; TensorFlow {facts['tensorflow_version']}.",
        "",
        "## What each file holds",
        "",
        f"- `{model.proto_path.name}` holds one **MetaGraphDef per tag set** "
        f"(here {len(model.tags)}: {', '.join('{' + ','.join(t) + '}' for t in model.tags)}). "
        f"Each has a graph ({facts['ops']} ops in the `serve` one, plus {facts['functions']} "
        "library functions) and its **signatures**: named entry points, each listing its "
        "inputs and outputs by graph tensor name, dtype and shape.",
    ]
    if model.checkpoint is not None:
        lines.append(
            "- `variables/variables.index` and `variables.data-*` are an **ordinary TF "
            f"checkpoint** with the weights ({facts['variables']}): open "
            "`variables/variables` as a checkpoint and you see the same tensors."
        )
    else:
        lines.append("- There is no `variables/` checkpoint: the graph holds no variables, or "
                     "its weights were folded into constants.")  # fmt: skip
    if model.writer != "tf1_builder":
        lines.append(
            f"- TF2 adds an **object graph** (`SavedObjectGraph`, {len(model.object_graph)} "
            "nodes): the Python objects (modules, layers, variables, tf.functions) that "
            "`tf.saved_model.load` rebuilds. Variable keys in the checkpoint "
            "(`.../.ATTRIBUTES/VARIABLE_VALUE`) are paths through this graph."
        )
    else:
        lines.append(
            "- There is **no object graph** (TF1 builder): variables are found by name through "
            "the graph's `variables` collection and its Saver (`saver_def`)."
        )
    lines.append(
        "- `assets/` holds files the graph reads at load time (vocabularies); `assets.extra/` "
        "files for serving that TensorFlow never reads"
        + (
            f" (here {len(model.assets)} asset files)."
            if not model.assets.empty
            else " (none here)."
        )
    )
    if (model.path / FINGERPRINT_NAME).is_file():
        lines.append("- `fingerprint.pb` holds hashes that identify this export (TF 2.11+).")
    lines += ["", "## Signatures", ""]
    for key, signature in mg.signature_def.items():
        if key == "__saved_model_init_op":
            lines.append(f"- `{key}`: not an entry point; the op that loading runs once "
                         "to initialize tables and resources")  # fmt: skip
            continue
        inputs = ", ".join(f"`{k}`" for k in signature.inputs) or "nothing"
        outputs = ", ".join(f"`{k}`" for k in signature.outputs) or "nothing"
        lines.append(f"- `{key}` ({signature.method_name or 'no method'}): {inputs} -> {outputs}")
    lines += ["", "## What loading it needs", ""]
    if model.writer == "tf1_builder":
        lines.append(
            "- `tf.compat.v1.saved_model.load(session, tags, path)` imports the graph of the "
            "matching tag set and runs its Saver's restore op to fill the variables from "
            "`variables/`; `tf.saved_model.load` wraps it and exposes the signatures."
        )
    else:
        lines.append(
            "- `tf.saved_model.load(path)` rebuilds the object graph and restores the "
            "variables from `variables/`; the signatures are under `.signatures`. No Python "
            "class is needed: functions are stored as graphs."
        )
    lines.append(
        "- Loading runs the graph's restore and initializer ops; tfexplore only parsed the "
        "protos and read the checkpoint index, and ran nothing."
    )
    for note in model.notes:
        lines.append(f"- Note: {note}.")
    from ..safety.gate import explain_lines

    lines += explain_lines(model.safety)
    return "\n".join(lines)
