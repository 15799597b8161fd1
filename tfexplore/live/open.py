"""``tfexplore.session(source, checkpoint)``: what a source is (a ``.meta``, a checkpoint
folder or prefix, a frozen GraphDef, a SavedModel, a Keras file, live objects) and the
session opened on it."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from .._fs import is_url
from .._tf import tf
from ..errors import RestoreMismatchError
from .backend_graph import _GraphBackend
from .open_graph import (
    _config,
    _find_meta,
    _is_graph_def,
    _maybe_prefix,
    _open_graph_def,
    _open_meta,
)
from .open_keras import _open_keras_file, _open_objects
from .open_savedmodel import _is_saved_model, _open_saved_model
from .session import Session


# == opening =================================================================================
def session(
    source,
    checkpoint=None,
    *,
    clear_devices: bool = True,
    import_scope: str | None = None,
    trust: bool = False,
    tags: str | Iterable[str] | None = None,
    storage_options: dict | None = None,
) -> Session:
    """Open a live session and restore its variables.

    ``source``:

    - a ``.meta`` file, a checkpoint prefix or a folder of checkpoints (TF1): the meta graph
      is checked by :mod:`tfexplore.safety`, imported into a fresh ``tf.Graph`` (devices
      cleared unless ``clear_devices=False``; names under ``import_scope``) and restored from
      ``checkpoint`` or the checkpoint next to it (the latest in the folder);
    - your ``tf.compat.v1.Session`` or ``tf.Graph``, with ``checkpoint`` to restore into it;
    - a SavedModel folder: one written by the TF1 ``SavedModelBuilder`` is imported like a
      ``.meta`` (its meta graph tagged ``tags``, default ``serve`` or the only one), restored
      from ``variables/variables`` (or ``checkpoint``) and its init op run (table
      initializers, with the asset files fed); a TF2 one (``tf.saved_model.save``, Keras
      ``export``) is loaded with ``tf.saved_model.load`` and its variables are those of the
      restored objects (``checkpoint`` may name a TF2 checkpoint of the same objects). Either
      way the whole file is scanned first and refused if it holds risky ops, unless ``trust``;
    - a Keras model, a ``.keras`` file (loaded with ``safe_mode=True`` unless ``trust``), a
      legacy full-model ``.h5`` (compiled from its ``training_config``, its optimizer state
      copied in so training resumes; ``notes``/``warning`` say how it matched), a
      ``tf.train.Checkpoint`` or a dict of trackable objects, with a TF2 ``checkpoint``.

    ``source`` and ``checkpoint`` may be URLs (``s3://bucket/run``, ``gs://...``, any fsspec
    file system; ``storage_options`` go to fsspec): exactly the files the session opens are
    copied into a private temporary folder (sizes checked) and the session runs on that copy,
    checked exactly as a local file (see :mod:`tfexplore.live.remote`). ``session.staged``
    says what was copied (``"staged 3 files (47.1 KB) from s3://bucket/run"``); the folder is
    removed when the session closes. ``session.source``, ``session.checkpoint``, reports and
    errors name the URLs.

    Example::

        >>> s = tfexplore.session("runs/mnist/model.ckpt-30.meta")    # doctest: +SKIP
        >>> s = tfexplore.session(model, "runs/keras/ckpt-3")         # doctest: +SKIP
        >>> s = tfexplore.session("export/1", tags="serve")            # doctest: +SKIP
        >>> s = tfexplore.session("s3://bucket/runs/mnist",            # doctest: +SKIP
        ...                       storage_options={"profile": "research"})

    Raises:
        UnsafeArtifactError: the file's restore op would touch files, the network or Python.
        RestoreMismatchError: the checkpoint does not fit (``err.report``, ``err.session``).
    """
    if is_url(source) or is_url(checkpoint):
        return _session_from_url(
            source,
            checkpoint,
            storage_options,
            clear_devices=clear_devices,
            import_scope=import_scope,
            trust=trust,
            tags=tags,
        )
    opened = _open_source(
        source,
        checkpoint,
        clear_devices=clear_devices,
        import_scope=import_scope,
        trust=trust,
        tags=tags,
    )
    if isinstance(source, (str, os.PathLike)) and (
        checkpoint is None or isinstance(checkpoint, (str, os.PathLike))
    ):  # how to open it again, in a child process (tfexplore.live.native)
        opened._reopen = {  # absolute: the child runs in a folder of its own
            "source": os.path.abspath(os.fspath(source)),
            "checkpoint": None if checkpoint is None else os.path.abspath(os.fspath(checkpoint)),
            "clear_devices": clear_devices, "import_scope": import_scope, "trust": trust,
            "tags": tags if tags is None or isinstance(tags, str) else list(tags),
        }  # fmt: skip
    if opened.last_restore is not None:  # the source restored itself (a SavedModel)
        return opened
    if opened.checkpoint is not None:
        opened.restore()
    else:
        opened._backend.initialize()  # a session it made itself gets initial values
    return opened


def _session_from_url(source, checkpoint, storage_options, **options) -> Session:
    """:func:`session` on the local copy of what it needs (:func:`remote.stage`), speaking of
    the URLs; the session owns the copy (an error removes it, except a restore mismatch, whose
    ``err.session`` stays usable)."""
    from .remote import adopt, stage

    local_source, local_checkpoint, staged = stage(source, checkpoint, storage_options)
    try:
        with staged.naming_urls():
            opened = session(local_source, local_checkpoint, **options)
    except RestoreMismatchError as exc:
        if exc.session is not None:
            adopt(exc.session, staged)
        else:
            staged.remove()
        raise
    except BaseException:
        staged.remove()
        raise
    adopt(opened, staged)
    return opened


def _open_source(source, checkpoint, *, clear_devices, import_scope, trust, tags=None) -> Session:
    tensorflow = tf()
    v1 = tensorflow.compat.v1
    if isinstance(source, v1.Session):
        backend = _GraphBackend(source.graph, source, owns_session=False, trusted=True)
        return Session(
            backend, source=f"your session ({source!r})", checkpoint=_maybe_prefix(checkpoint)
        )
    if isinstance(source, tensorflow.Graph):
        backend = _GraphBackend(
            source, v1.Session(graph=source, config=_config()), owns_session=True, trusted=True
        )
        return Session(backend, source="your graph", checkpoint=_maybe_prefix(checkpoint))
    if isinstance(source, (str, os.PathLike)):
        path = Path(os.fspath(source)).expanduser()
        if path.is_dir() and not (path / "checkpoint").exists() and not _is_saved_model(path):
            from ..artifacts.detect import keras_files
            from ..artifacts.kerasrun import KerasRun

            if keras_files(path):  # a ModelCheckpoint folder: its latest epoch's file
                path = KerasRun(path).latest.path
        if os.path.lexists(path) and not path.is_dir():  # no FIFO, device or link loop
            from .._files import check_regular

            check_regular(path, what="artifact")
        if path.suffix == ".keras" or path.suffix in (".h5", ".hdf5"):
            return _open_keras_file(path, checkpoint, trust=trust)
        if _is_saved_model(path):
            return _open_saved_model(
                path,
                checkpoint,
                tags=tags,
                clear_devices=clear_devices,
                import_scope=import_scope,
                trust=trust,
            )
        if path.is_file() and _is_graph_def(path):
            return _open_graph_def(
                path,
                checkpoint,
                clear_devices=clear_devices,
                import_scope=import_scope,
                trust=trust,
            )
        meta, default_checkpoint = _find_meta(path)
        return _open_meta(
            meta,
            _maybe_prefix(checkpoint) or default_checkpoint,
            clear_devices=clear_devices,
            import_scope=import_scope,
            trust=trust,
        )
    return _open_objects(source, checkpoint)
