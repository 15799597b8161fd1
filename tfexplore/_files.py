"""Reading files for inspection: read-only, regular files only, sizes checked before reading,
with OS errors turned into tfexplore errors.

Every file tfexplore reads is a *regular* file (a symlink is followed, but its target must be
a regular file): a FIFO would block ``open()`` forever, ``/dev/zero`` or ``/dev/urandom`` would
feed bytes without end, a device or socket is never an artifact. Files are opened with
``O_NONBLOCK`` (so that opening a FIFO cannot block) and checked with ``fstat`` on the open
descriptor (so that the file checked is the file read). Libraries that open a path themselves
(TensorFlow's checkpoint reader, h5py, zipfile) get it only after :func:`check_regular`.
"""

from __future__ import annotations

import errno
import io
import os
import stat as stat_module
from pathlib import Path

from .errors import ArtifactNotFoundError, CorruptArtifactError, UnreadableFileError

__all__ = ["read_bytes", "open_regular", "check_regular", "MAX_WHOLE_FILE"]

#: The largest file read whole into memory (2 GiB: the most a protocol buffer can hold).
MAX_WHOLE_FILE = 2 << 30


def _kind_of(mode: int) -> str:
    if stat_module.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat_module.S_ISCHR(mode):
        return "a character device"
    if stat_module.S_ISBLK(mode):
        return "a block device"
    if stat_module.S_ISSOCK(mode):
        return "a socket"
    if stat_module.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


def _not_regular(path: Path, what: str, mode: int, expected: str | None) -> UnreadableFileError:
    return UnreadableFileError(
        f"The {what} file {str(path)!r} is {_kind_of(mode)}, not a regular file; tfexplore "
        "reads only regular files (a symlink must point at one).",
        path=path,
        expected=expected or f"a regular {what} file",
        hint="copy the artifact to a regular file and open the copy",
    )


def _os_error(path: Path, what: str, exc: OSError, expected: str | None) -> Exception:
    if isinstance(exc, FileNotFoundError):
        return ArtifactNotFoundError(
            f"The {what} file {str(path)!r} does not exist.",
            path=path,
            expected=expected,
            hint="check the path, or open the folder to see what is there",
        )
    if isinstance(exc, (PermissionError, IsADirectoryError)):
        reason = "it is a folder" if isinstance(exc, IsADirectoryError) else "permission denied"
        return UnreadableFileError(
            f"The {what} file {str(path)!r} cannot be read ({reason}).",
            path=path,
            expected=expected or f"a readable {what} file",
            hint="check the file permissions (ls -l), or copy it somewhere readable",
        )
    if exc.errno == errno.ELOOP:
        return UnreadableFileError(
            f"The {what} file {str(path)!r} is a loop of symbolic links.",
            path=path,
            expected=expected or f"a regular {what} file",
            hint="point at the file itself (ls -l shows where each link goes)",
        )
    return UnreadableFileError(
        f"The {what} file {str(path)!r} cannot be read: {exc.strerror or exc}.",
        path=path,
        expected=expected or f"a readable {what} file",
        hint="check the disk and the file system the file is on",
    )


def check_regular(
    path: str | os.PathLike, *, what: str, expected: str | None = None
) -> os.stat_result:
    """``os.stat`` of ``path`` (symlinks followed), or a tfexplore error when it is missing,
    unreadable, a symlink loop, or not a regular file (FIFO, device, socket, folder).

    For paths handed to a library that opens them itself; tfexplore's own reads use
    :func:`open_regular`, which checks the open descriptor."""
    path = Path(path)
    try:
        result = os.stat(path)
    except OSError as exc:
        raise _os_error(path, what, exc, expected) from exc
    if not stat_module.S_ISREG(result.st_mode):
        raise _not_regular(path, what, result.st_mode, expected)
    return result


def open_regular(
    path: str | os.PathLike, *, what: str, expected: str | None = None
) -> io.BufferedReader:
    """``path`` opened for binary reading, after checking (on the open descriptor) that it is a
    regular file. Opening never blocks: a FIFO is opened non-blocking and then refused."""
    path = Path(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    flags |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _os_error(path, what, exc, expected) from exc
    try:
        mode = os.fstat(fd).st_mode
        if not stat_module.S_ISREG(mode):
            raise _not_regular(path, what, mode, expected)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(
    path: str | os.PathLike,
    *,
    what: str,
    expected: str | None = None,
    limit: int = MAX_WHOLE_FILE,
) -> bytes:
    """All bytes of ``path`` (a ``what``, e.g. "meta graph"), or a tfexplore error that names it.

    Only a regular file is read (see :func:`open_regular`), and only when its size is at most
    ``limit`` bytes; never more bytes than its size said (a file that grows while read is
    refused, not followed).

    Example::

        >>> read_bytes("model.ckpt.meta", what="meta graph")   # doctest: +SKIP
    """
    path = Path(path)
    with open_regular(path, what=what, expected=expected) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit:
            raise CorruptArtifactError(
                f"The {what} file {str(path)!r} has {size} bytes, more than the {limit} bytes "
                f"tfexplore reads whole into memory.",
                path=path,
                expected=expected or f"a {what} file of at most {limit} bytes",
                hint="a file this large is damaged or not what its name says",
            )
        try:
            data = handle.read(size + 1)
        except OSError as exc:
            raise _os_error(path, what, exc, expected) from exc
    if len(data) > size:
        problem = (
            "reports a size of 0 but has bytes (a /proc or /sys file, not an artifact)"
            if size == 0 else "grew while it was read"
        )
        raise UnreadableFileError(
            f"The {what} file {str(path)!r} {problem}.",
            path=path,
            expected=expected or f"a {what} file that no process is writing",
            hint="wait until the program writing it has finished, then open it again",
        )
    return data
