"""``tfexplore.open``: one call for every kind of TensorFlow artifact: what the path is
(:mod:`.detect`: names and magic bytes only), then the class that reads that kind."""

from __future__ import annotations

import os

from .base import Artifact
from .detect import KINDS, detect_kind

__all__ = ["open", "detect_kind", "KINDS"]


def open(path: str | os.PathLike, **options) -> Artifact:  # noqa: A001 - mirrors builtins.open
    """Open any TensorFlow artifact and return an object to explore it.

    ``path`` may be a folder of checkpoints, a checkpoint prefix (``model.ckpt-1000``), any one
    file of a checkpoint (``.index``, ``.data-00000-of-00001``, ``.meta``), a SavedModel folder
    (or its ``saved_model.pb``), a Keras ``.keras``, ``.h5`` or ``.weights.h5`` file, or a frozen
    GraphDef ``.pb``/``.pbtxt``. Opening reads only: it runs no op from the file and writes
    nothing.

    Example::

        >>> import tfexplore
        >>> run = tfexplore.open("runs/mnist")                  # doctest: +SKIP
        >>> run.kind, run.checkpoints[["prefix", "step"]]       # doctest: +SKIP
        >>> ckpt = run.latest                                   # doctest: +SKIP
        >>> ckpt.variables.head()                               # doctest: +SKIP
        >>> print(ckpt.explain())                               # doctest: +SKIP

    Raises:
        ArtifactNotFoundError: nothing at ``path``, or a folder without any artifact.
        UnrecognizedArtifactError: something is there but it is not a TensorFlow artifact.
        CorruptArtifactError: the file is of a known kind but damaged.
    """
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
