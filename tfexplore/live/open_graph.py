"""Sessions on TF1 graphs: a ``.meta`` file (from a checkpoint folder or prefix) imported and
checked before anything runs, and frozen GraphDefs (``.pb``/``.pbtxt``) opened for ``eval``."""

from __future__ import annotations

from pathlib import Path

from .._tf import _first_line, protos, tf
from ..errors import (
    ArtifactNotFoundError,
    CorruptArtifactError,
    NothingToRestoreError,
    SourceLoadError,
    TFExploreError,
)
from ..safety import gate as safety
from .backend_graph import _GraphBackend
from .restore import _latest_in, _resolve_prefix
from .session import _FROZEN_NOTE, Session

# == opening =================================================================================


def _maybe_prefix(checkpoint) -> str | None:
    return None if checkpoint is None else _resolve_prefix(checkpoint)


def _config():
    return tf().compat.v1.ConfigProto(allow_soft_placement=True)


def _find_meta(path: Path) -> tuple[Path, str | None]:
    """A path -> (the .meta file, the checkpoint prefix that goes with it, if any)."""
    from .._files import META_SUFFIXES, meta_file, prefix_file, prefix_of, prefix_text

    if path.name.endswith(META_SUFFIXES) and path.is_file():
        owner = prefix_of(path)  # model.ckpt-1 of model.ckpt-1.meta(.pbtxt)
        if owner is not None and prefix_file(owner, ".index").exists():
            return path, prefix_text(owner)
        return path, _latest_in(path.parent)
    if path.is_file() and path.suffix in (".pbtxt", ".txt"):
        from ..artifacts.detect import detect_kind

        if detect_kind(path)[0] == "meta_graph":  # a MetaGraphDef in text, any name
            return path, _latest_in(path.parent)
    prefix = _resolve_prefix(path)
    meta = meta_file(prefix)
    if not meta.exists():
        metas = sorted(Path(prefix).parent.glob("*.meta"), key=lambda p: p.stat().st_mtime)
        if not metas:
            raise ArtifactNotFoundError(
                f"The checkpoint {prefix!r} has no .meta file, so there is no graph to import.",
                path=prefix,
                expected=f"{prefix}.meta (written by tf.compat.v1.train.Saver.save)",
                hint="rebuild the graph in Python and pass your session: "
                "tfexplore.session(sess, checkpoint)",
            )
        meta = metas[-1]
    return meta, prefix


def _read_meta_graph(meta: Path):
    """The MetaGraphDef of ``meta``, binary or text (``export_meta_graph(as_text=True)``),
    read as inspection reads it."""
    from ..artifacts.metagraph import read_proto_file

    return read_proto_file(meta, protos().meta_graph_pb2.MetaGraphDef, "meta graph")[0]


def _devices_in(meta_graph) -> list[str]:
    devices = {n.device for n in meta_graph.graph_def.node if n.device}
    for function in meta_graph.graph_def.library.function:
        devices.update(n.device for n in function.node_def if n.device)
    return sorted(devices)


def _check_meta(meta_graph, meta: Path, trust: bool, *, restore_scanned: bool = False) -> None:
    """Refuse a meta graph whose restore op (or initializer) would do more than read the
    checkpoint the user chose, or whose ops this TensorFlow does not know. ``restore_scanned``:
    the whole file's scan has already judged the restore op (a TF2 SavedModel's, whose
    ``RestoreV2`` sits in its ``_traced_restore`` function and is fed through it)."""
    graph_def = meta_graph.graph_def
    _refuse_custom_ops(graph_def, meta, trust)
    if restore_scanned:
        return
    if meta_graph.HasField("saver_def") and meta_graph.saver_def.restore_op_name:
        saver_def = meta_graph.saver_def
        safety.check(
            graph_def,
            [saver_def.restore_op_name],
            feeds=[saver_def.filename_tensor_name],
            saver_def=saver_def,
            trust=trust,
            path=meta,
        )


def _refuse_custom_ops(graph_def, meta: Path, trust: bool) -> None:
    """Refuse a graph whose ops this TensorFlow does not know (unless ``trust``)."""
    library_names = {f.signature.name for f in graph_def.library.function}
    custom = sorted(
        {
            n.op
            for n in graph_def.node
            if n.op not in library_names and not safety._is_registered(n.op)
        }
    )
    if custom and not trust:
        from ..errors import UnsafeArtifactError

        raise UnsafeArtifactError(
            f"The graph uses ops this TensorFlow does not know (custom ops): {', '.join(custom)}.",
            path=meta,
            expected="a graph of standard TensorFlow ops",
            hint="load the op library (tf.load_op_library) and pass trust=True if you trust it",
        )


def _is_graph_def(path: Path) -> bool:
    from ..artifacts.detect import detect_kind

    try:
        return detect_kind(path)[0] == "graph_def"
    except TFExploreError:
        return False


def _open_graph_def(path: Path, checkpoint, *, clear_devices, import_scope, trust) -> Session:
    """A session over a GraphDef (``.pb``/``.pbtxt``, usually frozen): read as inspection reads
    it, checked for custom ops, imported (importing runs nothing); every evaluation is checked
    by :mod:`tfexplore.safety` before it runs, as for any graph. Nothing is restored."""
    from ..artifacts.frozen import FrozenGraph

    if checkpoint is not None:
        raise NothingToRestoreError(
            f"{str(path)!r} is a GraphDef: "
            + _FROZEN_NOTE.split(":")[0]
            + ", so no checkpoint can be restored into it.",
            path=path,
            expected="tfexplore.session(path) without a checkpoint",
            hint="to restore a checkpoint, open its .meta graph (or its folder) instead; "
            "tfexplore.open(path) shows the constants as the graph's weights",
        )
    graph_def = FrozenGraph.from_file(path).proto
    _refuse_custom_ops(graph_def, path, trust)
    devices = sorted({node.device for node in graph_def.node if node.device})
    if clear_devices and devices:
        graph_def = type(graph_def).FromString(graph_def.SerializeToString())
        for node in graph_def.node:
            node.device = ""
    tensorflow = tf()
    graph = tensorflow.Graph()
    with graph.as_default():
        try:
            tensorflow.graph_util.import_graph_def(graph_def, name=import_scope or "")
        except (ValueError, KeyError, TypeError, tensorflow.errors.OpError) as exc:
            # not _tf.translate_errors: an import of bytes already read, not a read
            raise SourceLoadError(
                f"TensorFlow could not import the GraphDef: {_first_line(exc)}",
                path=path,
                expected="a GraphDef written by this or an older TensorFlow",
                hint="open it with tfexplore.open(path) to inspect it without importing",
            ) from exc
    backend = _GraphBackend(
        graph,
        tensorflow.compat.v1.Session(graph=graph, config=_config()),
        owns_session=True,
        trusted=trust,
        import_scope=import_scope,
        path=path,
    )
    opened = Session(backend, source=str(path), devices_cleared=devices if clear_devices else ())
    opened.frozen = True
    variable_ops = [
        n.name for n in graph_def.node if n.op in ("VariableV2", "Variable", "VarHandleOp")
    ]
    opened.notes.append(
        _FROZEN_NOTE
        if not variable_ops
        else (
            f"the GraphDef has {len(variable_ops)} variable op(s) ({', '.join(variable_ops[:3])}"
            + ("..." if len(variable_ops) > 3 else "")
            + ") but no collections or Saver: they "
            "cannot be restored here; open the checkpoint's .meta (or its folder) to restore them"
        )
    )
    return opened


def _open_meta(meta: Path, prefix: str | None, *, clear_devices, import_scope, trust) -> Session:
    return _open_meta_graph(
        _read_meta_graph(meta),
        meta,
        prefix,
        clear_devices=clear_devices,
        import_scope=import_scope,
        trust=trust,
    )


def _open_meta_graph(
    meta_graph,
    meta: Path,
    prefix: str | None,
    *,
    clear_devices,
    import_scope,
    trust,
    restore_scanned: bool = False,
) -> Session:
    """Import ``meta_graph`` (read from ``meta``) into a fresh graph after the safety check."""
    _check_meta(meta_graph, meta, trust, restore_scanned=restore_scanned)
    devices = _devices_in(meta_graph)
    tensorflow = tf()
    graph = tensorflow.Graph()
    with graph.as_default():
        try:
            saver = tensorflow.compat.v1.train.import_meta_graph(
                meta_graph, clear_devices=clear_devices, import_scope=import_scope
            )
        except (
            ValueError,
            KeyError,
            IndexError,
            TypeError,
            AttributeError,
            tensorflow.errors.OpError,
        ) as exc:  # damaged VariableDefs end in any of these
            # not _tf.translate_errors: an import of bytes already read, not a read
            raise CorruptArtifactError(
                "TensorFlow could not import the meta graph: "
                f"{_first_line(exc) or type(exc).__name__}",
                path=meta,
                expected="a MetaGraphDef written by this or an older TensorFlow",
                hint="open it with tfexplore.open(path) to inspect it without importing",
            ) from exc
    session_ = tensorflow.compat.v1.Session(graph=graph, config=_config())
    backend = _GraphBackend(
        graph,
        session_,
        owns_session=True,
        trusted=trust,
        import_scope=import_scope,
        file_saver=saver,
        path=meta,
    )
    return Session(
        backend,
        source=str(meta),
        checkpoint=prefix,
        devices_cleared=devices if clear_devices else (),
    )
