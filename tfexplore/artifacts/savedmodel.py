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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._fs import as_path
from ..errors import (
    ArtifactNotFoundError,
    CorruptArtifactError,
    TensorNotFoundError,
    TFExploreError,
)
from .base import Artifact, Explanation, human_bytes
from .explain import explain_saved_model, explain_saved_model_without_graph
from .objectgraph import (
    FINGERPRINT_NAME,
    WRITERS,
    _concrete_function_owners,
    _object_rows,
    _parse_text,
    _signature_functions,
    _tf1_variable_facts,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SavedModel", "WRITERS"]

PB_NAME = "saved_model.pb"
PBTXT_NAME = "saved_model.pbtxt"
VARIABLES_PREFIX = ("variables", "variables")

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
        folder = as_path(folder)
        if folder.name in (PB_NAME, PBTXT_NAME) and folder.is_file():
            folder = folder.parent
        super().__init__(folder)
        if not self._proto_names:
            raise ArtifactNotFoundError(
                f"{str(self.path)!r} holds no {PB_NAME} (or {PBTXT_NAME}).",
                path=self.path,
                expected=f"a SavedModel folder: {PB_NAME}, variables/, assets/",
                hint="point at the folder that contains saved_model.pb (often a version "
                "number like 1/)",
            )

    # -- the proto -------------------------------------------------------------------------
    @functools.cached_property
    def _proto_names(self) -> list[str]:
        """``[saved_model.pb]``, else ``[saved_model.pbtxt]`` when only the text form is there,
        else ``[]`` (asked once: each question is a request when the folder is a URL)."""
        for name in (PB_NAME, PBTXT_NAME):
            if (self.path / name).is_file():
                return [name]
        return []

    @property
    def proto_path(self) -> Path:
        """``saved_model.pb``, or ``saved_model.pbtxt`` when only the text form exists."""
        return self.path / (PB_NAME if PB_NAME in self._proto_names else PBTXT_NAME)

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
    def signatures(self) -> pd.DataFrame:
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
        prefix = self.variables_prefix
        if not prefix.with_name(prefix.name + ".index").is_file():
            return None
        from .checkpoint.prefix import Checkpoint

        return Checkpoint(self.variables_prefix)

    @functools.cached_property
    def variables(self) -> pd.DataFrame:
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

    def stats(self, names: list[str] | None = None, progress: bool | None = None) -> pd.DataFrame:
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
    def object_graph(self) -> pd.DataFrame:
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
    def functions(self) -> pd.DataFrame:
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
        from ..safety.scan import ScanReport, scan

        reports = [
            scan(mg, path=self.proto_path, meta_graph=",".join(mg.meta_info_def.tags) or None)
            for mg in self.proto.meta_graphs
        ]
        return ScanReport.merge(reports, path=self.proto_path)

    # -- other files -----------------------------------------------------------------------
    @functools.cached_property
    def assets(self) -> pd.DataFrame:
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
            return Explanation(explain_saved_model_without_graph(self))
        return Explanation(explain_saved_model(self))

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
