"""tfexplore: explore TensorFlow checkpoints, graphs, SavedModels and Keras files in Jupyter.

The API in five lines::

    import tfexplore
    art = tfexplore.open("runs/mnist")       # any artifact: folder, prefix, .meta, .keras, .pb
    art.explain()                            # what it is made of, in prose
    ckpt = art.latest; ckpt.variables        # a pandas DataFrame; ckpt.read("W"), ckpt.stats()
    graph = ckpt.meta_graph.graph; graph.tensor("loss:0")

``import tfexplore`` is quick: TensorFlow is imported by the first ``open``.
"""

from __future__ import annotations

from ._fs import Fetched, RemotePath, count_fetches
from .artifacts.base import Artifact, Explanation
from .artifacts.graphdiff import diff_graphs
from .artifacts.open import KINDS, detect_kind, open
from .artifacts.scan import scan_path as scan
from .errors import (
    ArtifactNotFoundError,
    BatchMismatchError,
    CheckpointExistsError,
    CorruptArtifactError,
    GitLfsPointerError,
    GraphRunError,
    IncompleteCheckpointError,
    MissingFeedError,
    NativeCrashError,
    NoSnapshotError,
    NothingToRestoreError,
    NothingToTrainError,
    NotInitializedError,
    RestoreMismatchError,
    RewriteError,
    SessionClosedError,
    SessionError,
    SourceLoadError,
    TensorNotFoundError,
    TFExploreError,
    TooLargeError,
    TrainOpNotFoundError,
    UnreadableFileError,
    UnrecognizedArtifactError,
    UnsafeArtifactError,
)
from .live.open import session
from .live.session import Session

__version__ = "0.1.0"

__all__ = [
    "open",
    "detect_kind",
    "KINDS",
    "count_fetches",
    "Fetched",
    "RemotePath",
    "Artifact",
    "Explanation",
    "TFExploreError",
    "ArtifactNotFoundError",
    "UnrecognizedArtifactError",
    "CorruptArtifactError",
    "GitLfsPointerError",
    "IncompleteCheckpointError",
    "UnreadableFileError",
    "TensorNotFoundError",
    "UnsafeArtifactError",
    "RestoreMismatchError",
    "MissingFeedError",
    "CheckpointExistsError",
    "TooLargeError",
    "session",
    "Session",
    "scan",
    "rewrite",
    "RewriteError",
    "diff_graphs",
    "GraphView",
    "TensorPicker",
    "RestorePanel",
    "RewritePanel",
    "TrainPanel",
    "explore",
    "import_tensorflow",
    "SessionError",
    "SessionClosedError",
    "NothingToRestoreError",
    "NothingToTrainError",
    "TrainOpNotFoundError",
    "NotInitializedError",
    "GraphRunError",
    "BatchMismatchError",
    "NoSnapshotError",
    "SourceLoadError",
    "NativeCrashError",
]


def rewrite(checkpoint, rules=None, **options):
    """Plan a rewrite of a checkpoint (a prefix, its folder, a URL or a ``Checkpoint``) so
    that it fits other code: renamed, dropped, reshaped, cast, split or merged, or matched to
    ``to=`` a Keras model, ``tf.Module``, TF1 graph or other checkpoint. Returns a
    :class:`tfexplore.edit.plan.RewritePlan`; nothing is written until ``plan.write(path)``.
    The same as ``tfexplore.open(checkpoint).rewrite(rules, **options)``.

    Example::

        >>> plan = tfexplore.rewrite("runs/old", prefix={"layer1/": "encoder/"})  # doctest: +SKIP
        >>> plan.report                                                # doctest: +SKIP
        >>> plan.write("runs/new/model.ckpt")                          # doctest: +SKIP
    """
    from .edit.plan import rewrite as plan_rewrite

    return plan_rewrite(checkpoint, rules, **options)


def import_tensorflow():
    """Import TensorFlow (or return it) without the log lines its native libraries print while
    loading (``oneDNN custom operations are on``, ...), which a notebook shows as a pink block.
    Anything else TensorFlow prints passes through; ``TF_CPP_MIN_LOG_LEVEL``, if you set it,
    is kept. tfexplore imports TensorFlow this way whenever it is the first to need it.

    Example::

        >>> import tfexplore
        >>> tf = tfexplore.import_tensorflow()   # same module as `import tensorflow as tf`
    """
    from ._tf import tf

    return tf()


_WIDGETS = ("GraphView", "TensorPicker", "RestorePanel", "RewritePanel", "TrainPanel", "explore")


def __getattr__(name: str):
    # Views are imported on first use: the core never imports widget code.
    if name in _WIDGETS:
        from . import widgets

        return getattr(widgets, name)
    raise AttributeError(f"module 'tfexplore' has no attribute {name!r}")
