"""``tfexplore.open``: one call for every kind of TensorFlow artifact: what the path is
(:mod:`.detect`: names and magic bytes only), then the class that reads that kind."""

from __future__ import annotations

import os

from .._fs import RemotePath, as_path, is_url
from .base import Artifact
from .detect import KINDS, detect_kind

__all__ = ["open", "detect_kind", "KINDS"]


def open(  # noqa: A001 - mirrors builtins.open
    path: str | os.PathLike, *, storage_options: dict | None = None, **options
) -> Artifact:
    """Open any TensorFlow artifact and return an object to explore it.

    ``path`` may be a folder of checkpoints, a checkpoint prefix (``model.ckpt-1000``), any one
    file of a checkpoint (``.index``, ``.data-00000-of-00001``, ``.meta``), a SavedModel folder
    (or its ``saved_model.pb``), a Keras ``.keras``, ``.h5`` or ``.weights.h5`` file, or a frozen
    GraphDef ``.pb``/``.pbtxt``. Opening reads only: it runs no op from the file and writes
    nothing.

    ``path`` may also be a URL of any fsspec file system: ``s3://bucket/run``,
    ``gs://bucket/model.ckpt-1000``, ``az://...``; ``storage_options`` (credentials, endpoint)
    go to fsspec. Only what a call needs is fetched: the ``.index`` for ``variables``, one
    tensor's byte range for ``read``. Needs ``pip install 'tfexplore[remote]'``.

    Example::

        >>> import tfexplore
        >>> run = tfexplore.open("runs/mnist")                  # doctest: +SKIP
        >>> run.kind, run.checkpoints[["prefix", "step"]]       # doctest: +SKIP
        >>> ckpt = run.latest                                   # doctest: +SKIP
        >>> ckpt.variables.head()                               # doctest: +SKIP
        >>> print(ckpt.explain())                               # doctest: +SKIP
        >>> tfexplore.open("s3://bucket/runs/mnist",            # doctest: +SKIP
        ...                storage_options={"profile": "research"})

    Raises:
        ArtifactNotFoundError: nothing at ``path``, or a folder without any artifact.
        UnrecognizedArtifactError: something is there but it is not a TensorFlow artifact.
        CorruptArtifactError: the file is of a known kind but damaged.
    """
    if storage_options is not None or is_url(path):
        path = as_path(path, storage_options)
        if isinstance(path, RemotePath):  # a notebook re-opens a run that has grown since
            path.fs.invalidate_cache(path.fs_path)
    kind, target = detect_kind(path)
    if kind == "checkpoint_dir":
        from .checkpoint.folder import CheckpointDir

        return CheckpointDir(target, **options)
    if kind == "checkpoint":
        from .checkpoint.prefix import Checkpoint

        return Checkpoint(target, **options)
    if kind == "meta_graph":
        from .metagraph import MetaGraph

        return MetaGraph.from_file(target, **options)
    if kind == "saved_model":
        from .savedmodel import SavedModel

        return SavedModel(target, **options)
    if kind == "keras":
        from .keras.file import KerasFile

        return KerasFile(target, **options)
    if kind == "keras_run":
        from .kerasrun import KerasRun

        return KerasRun(target, **options)
    if kind == "graph_def":
        from .frozen import FrozenGraph

        return FrozenGraph.from_file(target, **options)
    raise AssertionError(kind)  # pragma: no cover
