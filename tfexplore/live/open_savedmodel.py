"""Sessions on SavedModel folders: a TF1 builder export imported like a ``.meta``; a TF2
export loaded with ``tf.saved_model.load`` (or, when it cannot be revived, the TF1 way)."""

from __future__ import annotations

import os
from pathlib import Path

from .. import safety
from .._tf import _first_line, tf
from ..errors import (
    SourceLoadError,
    TensorNotFoundError,
    TFExploreError,
    UnsafeArtifactError,
)
from .backend_objects import _ObjectBackend
from .open_graph import _maybe_prefix, _open_meta_graph
from .session import Session


def _is_saved_model(path: Path) -> bool:
    folder = path.parent if path.name in ("saved_model.pb", "saved_model.pbtxt") else path
    return folder.is_dir() and (
        (folder / "saved_model.pb").is_file() or (folder / "saved_model.pbtxt").is_file()
    )


def _open_saved_model(
    path: Path, checkpoint, *, tags, clear_devices, import_scope, trust
) -> Session:
    from ..artifacts.savedmodel import SavedModel

    model = SavedModel(path)
    if not trust:
        _refuse_links_out_of(model)
    if model.writer == "tf1_builder":
        return _open_tf1_saved_model(
            model, checkpoint, tags=tags, clear_devices=clear_devices,
            import_scope=import_scope, trust=trust,
        )  # fmt: skip
    return _open_tf2_saved_model(model, checkpoint, tags=tags, trust=trust)


def _pick_meta_graph(model, tags) -> int:
    """The index of the meta graph tagged ``tags`` (all of them), else ``serve``, else the only
    one; a clear error when the choice is ambiguous or absent."""
    available = model.tags
    if tags is not None:
        wanted = {tags} if isinstance(tags, str) else set(tags)
        for index, have in enumerate(available):
            if wanted <= set(have):
                return index
        raise TensorNotFoundError(
            f"No meta graph tagged {sorted(wanted)} in {str(model.proto_path)!r}.",
            path=model.proto_path,
            expected="one of the tag sets " + ", ".join(str(t) for t in available),
            hint="pass tags= one of those",
        )
    return model._serve_index


def _open_tf1_saved_model(
    model, checkpoint, *, tags, clear_devices, import_scope, trust, restore_scanned=False
):
    index = _pick_meta_graph(model, tags)
    meta_graph = model.proto.meta_graphs[index]
    prefix = _maybe_prefix(checkpoint)
    if prefix is None and model.checkpoint is not None:
        prefix = str(model.variables_prefix)
    collections = meta_graph.collection_def  # read with .get: [] would add an entry
    init_ops = [
        name
        for collection in ("saved_model_main_op", "legacy_init_op")
        if collection in collections
        for name in collections[collection].node_list.value
    ]
    asset_feeds = {
        asset.tensor_info.name: _asset_path(model, asset.filename)
        for asset in _asset_file_defs(meta_graph)
        if asset.tensor_info.name
    }
    if init_ops:
        safety.check(
            meta_graph.graph_def, init_ops, feeds=list(asset_feeds), assets=list(asset_feeds),
            trust=trust, path=model.proto_path,
        )  # fmt: skip
    opened = _open_meta_graph(
        meta_graph, model.proto_path, prefix, clear_devices=clear_devices,
        import_scope=import_scope, trust=trust, restore_scanned=restore_scanned,
    )  # fmt: skip
    opened.source = f"{model.path} (tags {','.join(model.tags[index])})"
    if prefix is not None:
        opened.restore()
    else:
        opened._backend.initialize()
    if init_ops:
        scope = f"{import_scope}/" if import_scope else ""
        feeds = {scope + name: value for name, value in asset_feeds.items()}
        opened._backend.run([scope + name for name in init_ops], feeds, assets=list(feeds))
    return opened


def _refuse_links_out_of(model) -> None:
    """A SavedModel's ``variables/`` and ``assets/`` are read by the load (restore, table
    initializers): a symbolic link among them that leads out of the SavedModel's folder would
    hand the session another file (another model's weights, ``/etc/passwd`` as a vocabulary).
    Refused unless ``trust``."""
    root = model.path.resolve()
    for part in ("variables", "assets", "assets.extra"):
        folder = model.path / part
        if not os.path.lexists(folder):
            continue
        entries = (
            [folder, *folder.rglob("*")]
            if folder.is_dir() and not folder.is_symlink()
            else [folder]
        )
        for entry in entries:
            target = entry.resolve()
            if target != root and root not in target.parents:
                raise UnsafeArtifactError(
                    f"{str(entry)!r} leads out of the SavedModel's folder, to {str(target)!r}.",
                    path=model.path,
                    expected=f"{part}/ and its files inside {str(root)!r}",
                    hint="a SavedModel's weights and assets are its own files; pass trust=True "
                    "only if you made these links yourself",
                )


def _asset_path(model, filename: str) -> str:
    """``assets/FILENAME`` of the SavedModel; a name that leads out of ``assets/`` (``..``, an
    absolute path, a symbolic link, ``assets/`` itself a link) is refused: it would hand the
    init op another file."""
    assets = model.path.resolve() / "assets"
    target = (model.path / "assets" / filename).resolve()
    if not filename or assets not in target.parents:
        raise UnsafeArtifactError(
            f"The SavedModel names an asset file outside its assets folder: {filename!r}.",
            path=model.proto_path,
            expected="asset file names inside assets/",
            hint="inspect it with tfexplore.open (runs nothing); this file is not a normal export",
        )
    return str(target)


def _asset_file_defs(meta_graph) -> list:
    return safety.asset_file_defs(meta_graph)  # one reader of a meta graph's assets


def _open_tf2_saved_model(model, checkpoint, *, tags, trust):
    """``tf.saved_model.load`` runs the file's restore functions and resource initializers, so
    the whole file is scanned first."""
    report = model.safety
    if report.findings and not trust:
        error = UnsafeArtifactError(
            f"{str(model.path)!r} holds ops that are not on the allowlist of pure computation: "
            + ", ".join(sorted({f"{f.op_type} ({f.where})" for f in report.findings})[:6])
            + ". tf.saved_model.load runs the file's restore and initializer functions.",
            path=model.proto_path,
            expected="a SavedModel of standard compute ops",
            hint="tfexplore.scan(path) lists them; pass trust=True if you trust the file",
        )
        error.report = report
        raise error
    tensorflow = tf()
    load_tags = None
    if tags is not None:
        load_tags = [tags] if isinstance(tags, str) else list(tags)
    if model.checkpoint is not None:  # tf.saved_model.load reads variables/ right away
        from ..artifacts.checkpoint.files import check_checkpoint_files

        check_checkpoint_files(model.variables_prefix, contents=True)
    try:
        loaded = tensorflow.saved_model.load(str(model.path), tags=load_tags)
    except Exception as exc:  # noqa: BLE001 - never raw: the TF1 way is tried, then ours
        return _open_tf2_as_tf1(model, checkpoint, tags=tags, trust=trust, load_error=exc)
    keras_model = loaded if hasattr(loaded, "layers") and hasattr(loaded, "compile") else None
    backend = _ObjectBackend(loaded, model=keras_model, optimizer=None, path=model.path)
    opened = Session(backend, source=str(model.path), checkpoint=_maybe_prefix(checkpoint))
    if opened.checkpoint is None and model.checkpoint is not None:
        # tf.saved_model.load has restored variables/variables: report it without reading twice
        report = opened.plan_restore(str(model.variables_prefix))
        report.applied = True
        report.loaded_by = "tf.saved_model.load"
        opened.checkpoint = report.checkpoint
        opened.last_restore = report
        opened._global_step_seen = opened._read_global_step()
    return opened


def _open_tf2_as_tf1(model, checkpoint, *, tags, trust, load_error: Exception) -> Session:
    """When ``tf.saved_model.load`` cannot revive a TF2 SavedModel's objects (a TF 2.4-era
    Keras file: ``'_UserObject' object has no attribute 'add_slot'`` for an optimizer today's
    loader does not know), open it as the TF1 loader
    (``tf.compat.v1.saved_model.loader.load``) would: import its meta graph, restore
    ``variables/`` with the file's own Saver and run its init op, every one of which is checked
    by :mod:`tfexplore.safety` first, as for a TF1 SavedModel. Signatures are evaluated by their
    tensor names (``model.signatures``). The whole file was scanned before the first attempt."""
    reason = f"{type(load_error).__name__}: {_first_line(load_error)}"
    saver_def = model._main.saver_def
    restore_entry = model.safety.entry_points.get("restore", [])
    if not (model._main.HasField("saver_def") and saver_def.restore_op_name):
        raise SourceLoadError(
            f"TensorFlow could not load the SavedModel ({reason}), and its meta graph has no "
            "Saver to restore its variables the TF1 way.",
            path=model.path,
            expected="a SavedModel written by this or an older TensorFlow",
            hint="tfexplore.open(path) shows it without loading it",
        ) from load_error
    try:
        opened = _open_tf1_saved_model(
            model,
            checkpoint,
            tags=tags,
            clear_devices=True,
            import_scope=None,
            trust=trust,
            # the whole-file scan (no finding, or trust) judged this very restore op
            restore_scanned=saver_def.restore_op_name in restore_entry,
        )
    except UnsafeArtifactError:
        raise
    except TFExploreError as exc:
        raise SourceLoadError(
            f"TensorFlow could not load the SavedModel ({reason}), nor import its meta graph "
            f"the TF1 way ({exc.message})",
            path=model.path,
            expected="a SavedModel written by this or an older TensorFlow",
            hint="tfexplore.open(path) shows it without loading it",
        ) from load_error
    if opened.last_restore is not None:  # the file's restore op set the graph's own variables
        opened.last_restore.loaded_by = (
            "the SavedModel's own restore op (its object graph's variables, which this graph "
            "keeps in no collection)"
        )
    opened.notes.append(
        f"tf.saved_model.load failed ({reason}); opened the TF1 way instead (its meta graph "
        "imported, variables restored by its Saver): evaluate signature tensors by name, e.g. "
        "session.eval(signature output tensor, feed={signature input tensor: value}) with the "
        "names from tfexplore.open(path).signatures"
    )
    return opened
