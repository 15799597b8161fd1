"""The exceptions tfexplore raises.

Every error derives from :class:`TFExploreError`. Each one names the file it is about, says
what was expected and what to try, so that a message read in a notebook is enough to act on::

    >>> import tfexplore
    >>> tfexplore.open("no/such/model.ckpt")          # doctest: +SKIP
    ArtifactNotFoundError: No file or folder at 'no/such/model.ckpt'.
      expected: a checkpoint folder or prefix, a SavedModel folder, a .keras/.h5 file or a
      .pb/.pbtxt GraphDef
      try: check the path; relative paths are resolved from '/home/me/notebooks'

TensorFlow's own errors (``OpError``, ``DecodeError``, ``UnicodeDecodeError``, ...) are
translated where they arise and kept as ``__cause__``.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence

__all__ = [
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
    "NativeCrashError",
    "TooLargeError",
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
    "suggest",
]


def suggest(name: str, candidates: Sequence[str], limit: int = 8) -> list[str]:
    """The names among ``candidates`` a user most likely meant by ``name``: the same but for
    case, close matches (difflib), then names that contain it or end like it."""
    lowered = name.lower()
    same_but_case = [c for c in candidates if c.lower() == lowered]
    close = same_but_case + difflib.get_close_matches(name, candidates, n=5, cutoff=0.6)
    last = lowered.rpartition("/")[2]
    contains = [
        c for c in candidates if lowered in c.lower() or (last and c.lower().endswith(last))
    ]
    contains.sort(key=len)
    result: list[str] = []
    for candidate in close + contains:
        if candidate not in result:
            result.append(candidate)
        if len(result) >= limit:
            break
    return result


class TFExploreError(Exception):
    """Base class of every error tfexplore raises.

    Attributes:
        message: what happened, in one sentence.
        path: the file or folder it is about (``None`` when no file is involved).
        expected: what tfexplore expected to find there.
        hint: what to try next.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | os.PathLike | None = None,
        expected: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.path = os.fspath(path) if path is not None else None
        self.expected = expected
        self.hint = hint
        super().__init__(self._format())

    def _format(self) -> str:
        lines = [self.message]
        if self.path is not None and self.path not in self.message:
            lines.append(f"  file: {self.path}")
        if self.expected:
            lines.append(f"  expected: {self.expected}")
        if self.hint:
            lines.append(f"  try: {self.hint}")
        return "\n".join(lines)

    def __reduce__(self):  # keep the keyword-only fields through pickling (child processes)
        return (
            _rebuild,
            (type(self), self.message, self.path, self.expected, self.hint),
        )


def _rebuild(cls, message, path, expected, hint):
    error = cls.__new__(cls)
    TFExploreError.__init__(error, message, path=path, expected=expected, hint=hint)
    return error


class ArtifactNotFoundError(TFExploreError, FileNotFoundError):
    """The path does not exist, or a folder holds nothing tfexplore can open."""


class UnrecognizedArtifactError(TFExploreError, ValueError):
    """The path exists but is not a TensorFlow artifact of a kind tfexplore knows."""


class CorruptArtifactError(TFExploreError, ValueError):
    """A file has the right name but its bytes are damaged: truncated, bit-flipped, or not the
    format its name promises (a text file named ``.meta``)."""


class GitLfsPointerError(CorruptArtifactError):
    """The file is a Git LFS pointer, a few lines of text naming the real file by its hash
    and size: the repository was cloned without git-lfs. ``size`` is the real file's size in
    bytes (``None`` when the pointer does not say), ``oid`` its ``sha256:...`` id."""

    size: int | None = None
    oid: str | None = None


class IncompleteCheckpointError(TFExploreError, FileNotFoundError):
    """A checkpoint's index names a file that is not there (a missing ``.data`` shard)."""


class UnreadableFileError(TFExploreError, PermissionError):
    """The file exists but cannot be read (permissions, or a folder where a file was expected)."""


class TensorNotFoundError(TFExploreError, KeyError):
    """A tensor, op or variable name that the artifact does not hold.

    ``suggestions`` lists the closest names that do exist.
    """

    def __init__(self, message: str, *, suggestions: list[str] | None = None, **kwargs) -> None:
        self.suggestions = list(suggestions or [])
        if self.suggestions and kwargs.get("hint") is None:
            kwargs["hint"] = (
                "did you mean " + ", ".join(repr(s) for s in self.suggestions[:5]) + "?"
            )
        super().__init__(message, **kwargs)

    def __str__(self) -> str:  # KeyError would quote the message
        return self._format()


class UnsafeArtifactError(TFExploreError):
    """Running what a file asks for would run ops that touch files, the network or Python."""


class RestoreMismatchError(TFExploreError, ValueError):
    """The checkpoint does not fit the session's variables; nothing was restored.

    ``report`` is the :class:`tfexplore.live.RestoreReport` (with ``proposed_mapping``);
    ``session`` is the session, so that
    ``err.session.restore(ckpt, mapping=err.report.proposed_mapping)`` works.
    """

    report = None
    session = None


class MissingFeedError(TFExploreError, ValueError):
    """A fetch depends on placeholders that were not fed. ``placeholders`` names them."""

    placeholders: list[str] = []


class CheckpointExistsError(TFExploreError, FileExistsError):
    """``save`` would replace an existing checkpoint and ``overwrite`` is false."""


class NativeCrashError(TFExploreError, RuntimeError):
    """Running this step crashed TensorFlow's native code in a rehearsal in a separate process
    (see :mod:`tfexplore.live.native`); it was not run in this process, which is unharmed.
    ``risk`` names the known condition, ``signal`` how the rehearsal died."""

    risk: str | None = None
    signal: str | None = None


class TooLargeError(TFExploreError, MemoryError):
    """A value the file declares would take more memory than tfexplore allows one read (a
    single stored value broadcast to a huge shape, a zip member that inflates to gigabytes);
    nothing was allocated for it."""


# -- a live session's errors (tfexplore.live) --------------------------------------------------
class RewriteError(TFExploreError, ValueError):
    """A checkpoint rewrite that cannot be planned, written or exported as it is. ``report``
    (when set) is the plan's report: one row per problem."""

    def __init__(self, message: str, *, report=None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.report = report


class SessionError(TFExploreError):
    """Base of the errors a :class:`tfexplore.live.Session` raises about itself (not about a
    file's bytes): closed, nothing to restore or train, a variable without a value..."""


class SessionClosedError(SessionError, RuntimeError):
    """The session was closed (``session.close()``, or the end of its ``with`` block)."""


class NothingToRestoreError(SessionError, ValueError):
    """The session has no variables a checkpoint could fill (a frozen graph's weights are
    constants)."""


class NothingToTrainError(SessionError, ValueError):
    """The session has nothing to train: a frozen graph (no variables), or TF2 objects without
    a Keras model (a SavedModel keeps traced functions, not the training step)."""


class TrainOpNotFoundError(SessionError, LookupError):
    """The training step is not known: no ``train_op`` collection in the graph (name it with
    ``train(..., train_op=...)``), or a Keras model that is not compiled and no ``loss=``."""


class NotInitializedError(SessionError, RuntimeError):
    """A variable was read before it had a value: restore a checkpoint first."""


class GraphRunError(SessionError, RuntimeError):
    """TensorFlow failed while running the graph (usually a feed of the wrong shape or dtype);
    ``__cause__`` is TensorFlow's error."""


class BatchMismatchError(SessionError, ValueError):
    """A batch (a dataset element, a tuple) does not match the graph's placeholders."""


class NoSnapshotError(SessionError, LookupError):
    """``rollback`` was called before any ``snapshot``."""


class SourceLoadError(SessionError, ValueError):
    """TensorFlow or Keras could not load a source into a session (import a GraphDef, load a
    Keras file or a SavedModel); ``__cause__`` is their error. ``tfexplore.open`` may still
    show the file, since looking runs none of it."""
