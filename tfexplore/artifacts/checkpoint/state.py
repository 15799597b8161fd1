"""The ``checkpoint`` state file of a folder: a ``CheckpointState`` text proto naming the latest
prefix (``model_checkpoint_path``) and the ones kept (``all_model_checkpoint_paths``).

The one reader of that file: :class:`~.checkpoint.CheckpointDir` (which turns a damaged file
into a note) and ``live.saving`` (which rewrites it after a save) both read it here. Writing
belongs to ``live.saving`` alone: inspection never writes.
"""

from __future__ import annotations

import os

from ..._files import read_bytes

__all__ = ["STATE_FILE", "MAX_STATE_BYTES", "StateFileError", "read_state", "listed_paths"]

#: the name TensorFlow gives the state file in a folder of checkpoints
STATE_FILE = "checkpoint"
#: the largest state file read (a real one lists a few prefixes; 16 MB is damage)
MAX_STATE_BYTES = 16 << 20


class StateFileError(ValueError):
    """A state file that is not a ``CheckpointState`` text proto (its message says why)."""


def read_state(path: str | os.PathLike):
    """The ``CheckpointState`` in the state file ``path``.

    Raises the errors of :func:`~tfexplore._files.read_bytes` (a missing or irregular file, a
    Git LFS pointer, ...) and :class:`StateFileError` for a file that is not a state file.
    """
    from google.protobuf import text_format

    from ..._wire import CheckpointState, tf_names_in

    raw = read_bytes(  # a regular file (not a FIFO, not a link to /dev/zero)
        path, what="checkpoint state", expected="a CheckpointState", limit=MAX_STATE_BYTES
    )
    state = CheckpointState()
    try:
        text_format.Parse(raw.decode("utf-8", errors="replace"), state)
    except text_format.ParseError as exc:  # named as TensorFlow names it, not as _wire does
        raise StateFileError(tf_names_in(str(exc))) from exc
    return state


def listed_paths(state) -> tuple[str | None, list[str]]:
    """``(latest, listed)`` of a ``CheckpointState``, as written: the latest path (``None``
    when empty) and every listed path, the latest included."""
    listed = list(state.all_model_checkpoint_paths)
    latest = state.model_checkpoint_path or None
    if latest and latest not in listed:
        listed.append(latest)
    return latest, listed
