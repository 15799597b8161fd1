"""Reading files for inspection: read-only, with OS errors turned into tfexplore errors."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ArtifactNotFoundError, UnreadableFileError

__all__ = ["read_bytes"]


def read_bytes(path: str | os.PathLike, *, what: str, expected: str | None = None) -> bytes:
    """All bytes of ``path`` (a ``what``, e.g. "meta graph"), or a tfexplore error that names it.

    Example::

        >>> read_bytes("model.ckpt.meta", what="meta graph")   # doctest: +SKIP
    """
    path = Path(path)
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise ArtifactNotFoundError(
            f"The {what} file {str(path)!r} does not exist.",
            path=path,
            expected=expected,
            hint="check the path, or open the folder to see what is there",
        ) from exc
    except (PermissionError, IsADirectoryError) as exc:
        reason = "it is a folder" if isinstance(exc, IsADirectoryError) else "permission denied"
        raise UnreadableFileError(
            f"The {what} file {str(path)!r} cannot be read ({reason}).",
            path=path,
            expected=expected or f"a readable {what} file",
            hint="check the file permissions (ls -l), or copy it somewhere readable",
        ) from exc
    except OSError as exc:
        raise UnreadableFileError(
            f"The {what} file {str(path)!r} cannot be read: {exc.strerror or exc}.",
            path=path,
            expected=expected or f"a readable {what} file",
            hint="check the disk and the file system the file is on",
        ) from exc
