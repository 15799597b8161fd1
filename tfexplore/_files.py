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
import re
import stat as stat_module
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._fs import RemotePath, as_path, remote_error
from ._fs import _record as record
from .errors import (
    ArtifactNotFoundError,
    CorruptArtifactError,
    GitLfsPointerError,
    TFExploreError,
    UnreadableFileError,
)

__all__ = [
    "read_bytes",
    "read_range",
    "read_ranges",
    "open_regular",
    "check_regular",
    "MAX_WHOLE_FILE",
    "check_lfs_pointer",
    "is_lfs_pointer",
    "meta_file",
    "prefix_file",
    "prefix_text",
    "prefix_of",
    "prefix_parts",
    "DATA_SHARD",
    "shard_file",
    "shard_suffix",
    "is_checkpoint_suffix",
    "checkpoint_files",
]

#: how every Git LFS pointer file begins (https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md)
LFS_SIGNATURE = b"version https://git-lfs.github.com/spec/"
#: pointer files are small: the spec says under 1024 bytes
LFS_POINTER_MAX = 1024

#: A data shard's suffix (``data-00000-of-00001``). TensorFlow names shards with printf's
#: ``%05d`` (tensor_bundle.cc, ``DataFilename``: ``"%s.data-%05d-of-%05d"``, shard and count
#: int32): at least five digits, more from the 100000th shard on. So ``\d{5,}``: ``\d{5}``
#: would miss such shards, ``\d+`` would take ``data-0-of-1``, which TensorFlow never writes.
_SHARD_SUFFIX = r"data-(?P<shard>\d{5,})-of-(?P<count>\d{5,})"
#: a data shard's whole file name: ``model.ckpt-10.data-00000-of-00001``
DATA_SHARD = re.compile(rf"^(?P<prefix>.*)\.{_SHARD_SUFFIX}$")
#: what a checkpoint file adds to its prefix (a meta graph exported as text may end in .pbtxt)
CHECKPOINT_SUFFIX = re.compile(rf"\.(?:index|meta(?:\.pbtxt|\.txt)?|{_SHARD_SUFFIX})$")
#: the suffixes (after ``PREFIX.``) of the files a Saver writes for one prefix
_SAVER_SUFFIX = re.compile(rf"index|meta|{_SHARD_SUFFIX}")
#: the names of a meta graph file: binary ``.meta`` or ``export_meta_graph(as_text=True)``'s
META_SUFFIXES = (".meta", ".meta.pbtxt", ".meta.txt")

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
    if isinstance(path, RemotePath):
        return os.stat_result(
            (stat_module.S_IFREG | 0o444, 0, 0, 1, 0, 0, _remote_size(path, what, expected))
            + (0,) * 3
        )
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
    regular file. Opening never blocks: a FIFO is opened non-blocking and then refused.
    A :class:`~tfexplore._fs.RemotePath` opens as a seekable reader that fetches blocks on
    demand."""
    if isinstance(path, RemotePath):
        return path.open("rb", size=_remote_size(path, what, expected))
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
    if isinstance(path, RemotePath):
        return _read_remote(path, what, expected, limit)
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
            if size == 0
            else "grew while it was read"
        )
        raise UnreadableFileError(
            f"The {what} file {str(path)!r} {problem}.",
            path=path,
            expected=expected or f"a {what} file that no process is writing",
            hint="wait until the program writing it has finished, then open it again",
        )
    if len(data) <= LFS_POINTER_MAX:
        check_lfs_pointer(path, what=what, head=data)
    return data


def _remote_size(path: RemotePath, what: str, expected: str | None) -> int:
    """The size of the remote file ``path``, or a tfexplore error naming its URL (missing,
    a folder, no permission, unreachable)."""
    try:
        info = path.fs.info(path.fs_path)
    except Exception as exc:  # noqa: BLE001 - any backend's error, translated
        error = remote_error(path, what, exc)
        if expected and isinstance(error, ArtifactNotFoundError):
            error.expected = expected
        raise error from exc
    if info.get("type") != "file":
        raise UnreadableFileError(
            f"The {what} {path.url!r} is a folder, not a file.",
            path=path.url,
            expected=expected or f"a {what} file",
            hint="point at a file inside it, or open the folder itself",
        )
    return int(info.get("size") or 0)


def _read_remote(path: RemotePath, what: str, expected: str | None, limit: int) -> bytes:
    size = _remote_size(path, what, expected)
    if size > limit:
        raise CorruptArtifactError(
            f"The {what} file {path.url!r} has {size} bytes, more than the {limit} bytes "
            f"tfexplore reads whole into memory.",
            path=path.url,
            expected=expected or f"a {what} file of at most {limit} bytes",
            hint="a file this large is damaged or not what its name says",
        )
    data = path.read_range(0, size, what=what)
    if len(data) != size:
        raise UnreadableFileError(
            f"The {what} file {path.url!r} changed while it was read ({len(data)} of {size} "
            "bytes came back).",
            path=path.url,
            expected=expected or f"a {what} file that no program is writing",
            hint="wait until the upload has finished, then open it again",
        )
    if len(data) <= LFS_POINTER_MAX:
        check_lfs_pointer(path, what=what, head=data)
    return data


def read_range(
    path: str | os.PathLike, offset: int, size: int, *, what: str, expected: str | None = None
) -> bytes:
    """``size`` bytes of ``path`` from ``offset`` (fewer at its end: callers check), local or
    remote (one ranged request)."""
    if isinstance(path, RemotePath):
        return path.read_range(offset, size, what=what)
    with open_regular(path, what=what, expected=expected) as handle:
        handle.seek(offset)
        return handle.read(size)


def read_ranges(requests: Sequence[tuple[Any, int, int]], *, what: str = "file") -> list[bytes]:
    """The bytes of many ``(path, offset, size)`` ranges, in order. Ranges of remote files are
    fetched in one round of concurrent requests per file system; local files are read in turn.
    A range past the end of its file comes back short: callers check lengths."""
    results: list[bytes | None] = [None] * len(requests)
    remote: dict[int, list[int]] = {}
    for i, (path, offset, size) in enumerate(requests):
        if isinstance(path, RemotePath) and size > 0:
            remote.setdefault(id(path.fs), []).append(i)
        elif size <= 0:
            results[i] = b""
        else:
            with open_regular(path, what=what) as handle:
                handle.seek(offset)
                results[i] = handle.read(size)
    for indices in remote.values():
        first = requests[indices[0]][0]
        paths = [requests[i][0].fs_path for i in indices]
        starts = [requests[i][1] for i in indices]
        ends = [requests[i][1] + requests[i][2] for i in indices]
        try:
            datas = first.fs.cat_ranges(paths, starts, ends, on_error="return")
        except Exception as exc:  # noqa: BLE001
            raise remote_error(first, what, exc) from exc
        for i, data in zip(indices, datas):
            if isinstance(data, BaseException):
                raise remote_error(requests[i][0], what, data) from data
            record(requests[i][0].url, len(data))
            results[i] = data
    return results  # type: ignore[return-value]


def is_lfs_pointer(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a Git LFS pointer file (see :func:`check_lfs_pointer`)."""
    try:
        check_lfs_pointer(path, what="file")
    except GitLfsPointerError:
        return True
    return False


def check_lfs_pointer(path: str | os.PathLike, *, what: str, head: bytes | None = None) -> None:
    """Raise :class:`GitLfsPointerError` if ``path`` is a Git LFS pointer instead of the
    ``what`` (a repository cloned without git-lfs holds these in place of large files). The one
    place that recognises them: every reader calls it (``read_bytes`` does for whole-file reads;
    data shards and Keras files are checked before they are opened). ``head``: the file's first
    bytes when already read."""
    if head is None and isinstance(path, RemotePath):
        try:
            size = path.stat().st_size
            if size > LFS_POINTER_MAX or not path.is_file():
                return
            head = path.read_range(0, size)
        except (OSError, TFExploreError):
            return
    if head is None:
        try:
            with open_regular(path, what=what) as file:  # never blocks on a FIFO
                if os.fstat(file.fileno()).st_size > LFS_POINTER_MAX:
                    return
                head = file.read(LFS_POINTER_MAX)
        except (OSError, TFExploreError):
            return  # the reader reports it in its own words
    if not head.startswith(LFS_SIGNATURE):
        return
    fields = {}
    for line in head.decode("utf-8", errors="replace").splitlines():
        key, _, value = line.partition(" ")
        fields[key] = value.strip()
    size = int(fields["size"]) if fields.get("size", "").isdigit() else None
    oid = fields.get("oid")

    real = (
        "size unknown"
        if size is None
        else f"{human_bytes(size)}" + (f" = {size:,} bytes" if size >= 1024 else "")
    )
    error = GitLfsPointerError(
        f"{os.fspath(path)!r} is a Git LFS pointer, not the {what} itself: the repository was "
        f"cloned without git-lfs, so the real file ({real}"
        + (f", {oid[:19]}…" if oid else "")
        + ") was never downloaded.",
        path=path,
        expected=f"the {what}" + (f" ({size} bytes)" if size is not None else ""),
        hint="in the repository run `git lfs install` then `git lfs pull` (or "
        "`git lfs pull --include <path>` for this file), or download the file from the "
        "repository's web page",
    )
    error.size, error.oid = size, oid
    raise error


# -- checkpoint file names ------------------------------------------------------------------------
# A checkpoint prefix names its files by adding a suffix: ``model.ckpt-10`` -> ``.index``,
# ``.data-00000-of-00001``, ``.meta``. A Saver given a folder with a trailing slash
# (``saver.save(sess, "run/")``) writes an *empty* prefix: ``run/.index``, ``run/.meta``... A
# ``Path`` cannot end in a slash, so tfexplore holds an empty prefix as its folder (``run``), and
# these functions are the one place that knows it.


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except (OSError, ValueError, TFExploreError):  # a name the OS refuses; an unreachable URL
        return False


def prefix_file(prefix: str | os.PathLike, suffix: str) -> Path:
    """The file ``prefix`` + ``suffix``: ``model.ckpt-10.index``; for the empty prefix of a
    folder (held as the folder), the file inside it: ``run/.index``."""
    path = as_path(prefix)
    if _is_dir(path) or os.fspath(prefix).endswith(("/", os.sep)):
        return path / suffix
    if isinstance(path, RemotePath):
        return path.with_name(path.name + suffix)
    return Path(f"{os.fspath(prefix)}{suffix}")


def meta_file(prefix: str | os.PathLike) -> Path:
    """The meta graph saved with a prefix: ``PREFIX.meta``, else a text export of it
    (``PREFIX.meta.pbtxt``, ``PREFIX.meta.txt``) when only that is present."""
    folder, stem = prefix_parts(prefix)
    binary = folder / f"{stem}.meta"
    if _exists(binary):
        return binary
    for suffix in META_SUFFIXES[1:]:
        text = folder / f"{stem}{suffix}"
        if _exists(text):
            return text
    return binary


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError, TFExploreError):  # a name the OS refuses; an unreachable URL
        return False


def prefix_text(prefix: str | os.PathLike) -> str:
    """A prefix as TensorFlow takes it: ``run/`` (with its slash) for the empty prefix of the
    folder ``run``, else the prefix itself."""
    text = os.fspath(prefix)
    if text.endswith(("/", os.sep)) or not _is_dir(as_path(prefix)):
        return text
    return text + os.sep


def prefix_parts(prefix: str | os.PathLike) -> tuple[Path, str]:
    """``(folder, name)`` of a prefix: ``(runs, "model.ckpt-10")``; ``(run, "")`` for the empty
    prefix of the folder ``run``."""
    path = as_path(prefix)
    if _is_dir(path) or os.fspath(prefix).endswith(("/", os.sep)):
        return path, ""
    return path.parent, path.name


def prefix_of(path: str | os.PathLike) -> Path | None:
    """The prefix a checkpoint file belongs to (``model.ckpt-10.index`` -> ``model.ckpt-10``;
    ``run/.index`` -> ``run``, the empty prefix), or ``None`` for another file name."""
    path = as_path(path)
    match = CHECKPOINT_SUFFIX.search(path.name)
    if match is None:
        return None
    stem = path.name[: match.start()]
    return path.with_name(stem) if stem else path.parent


def shard_suffix(shard: int, num_shards: int) -> str:
    """What data shard ``shard`` of ``num_shards`` adds to its prefix, as TensorFlow writes it:
    ``shard_suffix(0, 2)`` -> ``.data-00000-of-00002``."""
    return f".data-{shard:05d}-of-{num_shards:05d}"


def shard_file(prefix: str | os.PathLike, shard: int, num_shards: int) -> Path:
    """``shard_file("m.ckpt", 0, 2)`` -> ``m.ckpt.data-00000-of-00002``."""
    return prefix_file(prefix, shard_suffix(shard, num_shards))


def is_checkpoint_suffix(suffix: str) -> bool:
    """Whether ``suffix`` (what follows ``PREFIX.``) names a file a Saver writes for a prefix:
    ``index``, ``meta`` or a data shard."""
    return _SAVER_SUFFIX.fullmatch(suffix) is not None


def checkpoint_files(folder: Path, stem: str) -> list[Path]:
    """The files in ``folder`` of the checkpoint named ``stem`` (``stem.index``, its data
    shards, ``stem.meta``), sorted; ``[]`` when ``folder`` is not a folder."""
    if not _is_dir(folder):
        return []
    start = stem + "."
    return sorted(
        p
        for p in folder.iterdir()
        if p.name.startswith(start) and is_checkpoint_suffix(p.name[len(start) :])
    )


def human_bytes(size: float) -> str:
    """``1536`` -> ``'1.5 KB'``."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(size) < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")
