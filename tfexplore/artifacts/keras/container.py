"""What holds a Keras file's bytes: a ``.keras`` zip (its members opened in place, through a
window on the file) or an HDF5 file (with or without a user block); where the bytes come from
(:func:`byte_source`: the local file, or a URL read in blocks on demand, shared by every reader
of the file); HDF5 and JSON errors turned into tfexplore errors; claimed dataset sizes checked
before h5py allocates them.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import struct
import threading
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..._files import check_regular, open_regular
from ..._fs import RemotePath
from ..._tf import _first_line
from ...errors import (
    CorruptArtifactError,
    TFExploreError,
    UnreadableFileError,
    UnrecognizedArtifactError,
)
from ..base import human_bytes
from .ziplimits import read_member

#: What ``KerasFile.format`` can be, with a description.
FORMATS = {
    "keras_v3": "Keras 3 .keras zip (config.json + model.weights.h5)",
    "weights_h5_v3": "Keras 3 weights-only .weights.h5 (model.save_weights)",
    "h5_model": "legacy Keras full-model HDF5 (model.save('x.h5'))",
    "h5_weights": "legacy Keras weights-only HDF5 (model.save_weights('x.h5'))",
}
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ZIP_MAGIC = b"PK\x03\x04"
_HINT_RECOPY = "the file may be truncated or damaged; re-copy it and compare its size"


# -- where the bytes come from ----------------------------------------------------------------
#: a remote Keras file is fetched in blocks of this size, kept in memory for every reader of it
REMOTE_BLOCK = 64 << 10
#: blocks kept per remote file (the least recently used go first): 16 MB
REMOTE_KEEP = 256
#: a read of at least this many bytes (a weight's data) is fetched as it is, in one request
REMOTE_DIRECT = 4 * REMOTE_BLOCK
#: ... or in requests of this many bytes, when larger (what a read holds twice at a time)
REMOTE_PIECE = 64 << 20


class LocalSource:
    """A local Keras file: each reader is the file itself, opened read-only and checked
    regular."""

    remote = False

    def __init__(self, path: Path) -> None:
        self.path = path

    def open(self) -> io.BufferedIOBase:
        return open_regular(self.path, what="Keras")


class RemoteSource:
    """A Keras file at a URL, read without a copy on disk: readers (zipfile, h5py) share a cache
    of :data:`REMOTE_BLOCK` blocks, so the zip directory and the HDF5 metadata they come back to
    are fetched once; a large read (a weight's data) is fetched in one request of its own size.
    Only what a call reads is fetched."""

    remote = True

    def __init__(self, path: RemotePath) -> None:
        self.path = path
        self.size = check_regular(path, what="Keras", expected=_EXPECTED_FILE).st_size
        self._blocks: OrderedDict[int, bytes] = OrderedDict()
        self._lock = threading.Lock()
        #: the last fetch that failed: zipfile and h5py turn any OSError of their file object
        #: into their own words ("not a zip file"), so :func:`_translated` raises this instead
        self.failure: TFExploreError | None = None

    def open(self) -> io.RawIOBase:
        return _RemoteReader(self)

    def block(self, number: int) -> bytes:
        with self._lock:
            block = self._blocks.get(number)
            if block is not None:
                self._blocks.move_to_end(number)
                return block
        start = number * REMOTE_BLOCK
        block = self.fetch(start, min(REMOTE_BLOCK, self.size - start))
        with self._lock:
            self._blocks[number] = block
            while len(self._blocks) > REMOTE_KEEP:
                self._blocks.popitem(last=False)
        return block

    def fetch(self, offset: int, size: int) -> bytes:
        try:
            data = self.path.read_range(offset, size, what="Keras file")
        except TFExploreError as exc:  # gone, access denied, network; or a range past a new end
            self.failure = self._changed(offset, size) or exc
            raise self.failure from exc
        if len(data) != size:
            self.failure = self._changed(offset, size, len(data))
            raise self.failure
        return data

    def _changed(self, offset: int, size: int, got: int | None = None) -> TFExploreError | None:
        """The error to give when a fetch failed (``got is None``) or came back short: the file
        is gone, or changed size since it was opened (re-uploaded); ``None`` when neither (the
        fetch's own error then says what happened)."""
        try:
            self.path.fs.invalidate_cache(self.path.fs_path)
            now = self.path.stat().st_size
        except TFExploreError as exc:
            return exc
        if got is None and now == self.size:
            return None
        came = "nothing" if got is None else f"{got}"
        return UnreadableFileError(
            f"The Keras file {self.path.url!r} changed while it was read: it had {self.size} "
            f"bytes when opened and has {now} now ({came} of the {size} bytes asked for at "
            f"offset {offset} came back).",
            path=self.path,
            expected=_EXPECTED_FILE + " that no program is writing",
            hint="wait until the upload has finished, then open it again",
        )


class _RemoteReader(io.RawIOBase):
    """One seekable reader of a :class:`RemoteSource` (its own position, the shared blocks)."""

    def __init__(self, source: RemoteSource) -> None:
        super().__init__()
        self._source, self._position = source, 0
        self.name = source.path.url

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._source.size}
        self._position = max(0, base[whence] + offset)
        return self._position

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        wanted = max(0, min(len(view), self._source.size - self._position))
        done = 0
        if wanted >= REMOTE_DIRECT:
            while done < wanted:
                take = min(REMOTE_PIECE, wanted - done)
                view[done : done + take] = self._source.fetch(self._position, take)
                done += take
                self._position += take
            return done
        while done < wanted:
            number, start = divmod(self._position, REMOTE_BLOCK)
            block = self._source.block(number)
            take = min(wanted - done, len(block) - start)
            view[done : done + take] = block[start : start + take]
            done += take
            self._position += take
        return done


def byte_source(path: Path | RemotePath) -> LocalSource | RemoteSource:
    """Where the bytes of the Keras file ``path`` come from (see :class:`RemoteSource`)."""
    return RemoteSource(path) if isinstance(path, RemotePath) else LocalSource(path)


_EXPECTED_FILE = "a .keras, .h5, .hdf5 or .weights.h5 file"


# -- the container ----------------------------------------------------------------------------
def _container_of(path: Path, source: LocalSource | RemoteSource | None = None) -> str:
    """``zip`` or ``hdf5`` from the first bytes; anything else is not a Keras file."""
    source = source or byte_source(path)
    try:
        with source.open() as f:
            head = f.read(8)
    except OSError as exc:
        raise UnreadableFileError(
            f"The Keras file {str(path)!r} cannot be read: {exc.strerror or exc}.",
            path=path,
            expected="a readable .keras or .h5 file",
            hint="check the file permissions (ls -l), or copy it somewhere readable",
        ) from exc
    if head.startswith(ZIP_MAGIC):
        return "zip"
    if head == HDF5_MAGIC or _has_hdf5_userblock(source):
        return "hdf5"
    from ..._files import check_lfs_pointer

    check_lfs_pointer(path, what="Keras file")
    raise UnrecognizedArtifactError(
        f"{str(path)!r} is neither a Keras zip (.keras) nor an HDF5 file (.h5).",
        path=path,
        expected="a file starting with the zip signature PK\\x03\\x04 or the HDF5 signature",
        hint="a SavedModel is a folder: open the folder; a TF checkpoint opens by its prefix",
    )


def _has_hdf5_userblock(source: LocalSource | RemoteSource) -> bool:
    """HDF5 files may start after a user block of 512, 1024, 2048... bytes."""
    offset = 512
    size = source.path.stat().st_size
    with source.open() as f:
        while offset + 8 <= size and offset <= 1 << 20:
            f.seek(offset)
            if f.read(8) == HDF5_MAGIC:
                return True
            offset *= 2
    return False


@contextlib.contextmanager
def _open_member(
    path: Path, info: zipfile.ZipInfo, source: LocalSource | RemoteSource | None = None
) -> Iterator[io.RawIOBase]:
    """A seekable file object for one zip member: a window on the archive for a stored
    (uncompressed) member, which Keras writes, so nothing is copied; else the bytes in memory."""
    source = source or byte_source(path)
    if info.compress_type == zipfile.ZIP_STORED:
        with source.open() as raw:
            raw.seek(info.header_offset)
            header = raw.read(30)
            if len(header) < 30 or header[:4] != ZIP_MAGIC:
                raise zipfile.BadZipFile(f"bad local header for {info.filename}")
            name_length, extra_length = struct.unpack("<HH", header[26:30])
            start = info.header_offset + 30 + name_length + extra_length
            yield _Window(raw, start, info.file_size)
    else:
        with source.open() as raw, zipfile.ZipFile(raw) as archive:
            yield io.BytesIO(read_member(archive, info, path))


class _Window(io.RawIOBase):
    """A read-only, seekable view of ``size`` bytes of ``file`` starting at ``start``."""

    def __init__(self, file, start: int, size: int) -> None:
        super().__init__()
        self._file, self._start, self._size, self._position = file, start, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer) -> int:
        count = max(0, min(len(buffer), self._size - self._position))
        if count == 0:
            return 0
        self._file.seek(self._start + self._position)
        data = self._file.read(count)
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)


@contextlib.contextmanager
def _translated(path: Path, what: str, source: Any = None) -> Iterator[None]:
    """Turn h5py's and zipfile's errors about damaged bytes into ``CorruptArtifactError``; when
    fetching from ``source`` (a :class:`RemoteSource`) failed underneath them, that error."""
    try:
        yield
    except TFExploreError:
        raise
    except (
        OSError,
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        RuntimeError,
        KeyError,
        ValueError,
        MemoryError,
    ) as exc:  # h5py says "unable to open object" with KeyError, bad dataspaces with ValueError
        failure = getattr(source, "failure", None)
        if failure is not None:
            source.failure = None
            raise failure from exc
        raise CorruptArtifactError(
            f"{str(path)!r} is damaged: the {what} cannot be read ({type(exc).__name__}: "
            f"{_first_line(exc)}).",
            path=path,
            expected="an intact .keras zip or Keras HDF5 file",
            hint=_HINT_RECOPY,
        ) from exc


def _check_claimed_size(dataset, name: str, path: Path) -> None:
    """Refuse a dataset whose shape claims more bytes than the file stores for it (an HDF5
    dataset can declare terabytes and store nothing: reading it would allocate them all)."""
    claimed = int(dataset.size) * dataset.dtype.itemsize
    stored = dataset.id.get_storage_size()
    allowed = stored * (1024 if dataset.compression else 1)
    if claimed > allowed and claimed > 64 << 20:
        raise CorruptArtifactError(
            f"Tensor {name!r} of {str(path)!r} claims shape {dataset.shape} "
            f"({human_bytes(claimed)}) but the file stores {human_bytes(stored)} for it; "
            "tfexplore refuses to allocate it.",
            path=path,
            expected="a weight whose stored bytes match its shape and dtype",
            hint="the file is damaged or hostile; re-copy it from a source you trust",
        )


def _unrecorded_version(file_format: str) -> str:
    return "not recorded (Keras 1)" if file_format.startswith("h5_") else "not recorded"


def _parse_json(data: bytes | str, path: Path, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError, TypeError) as exc:  # [[[[..., 5
        raise CorruptArtifactError(
            f"The {what} of {str(path)!r} is not valid JSON.",
            path=path,
            expected=f"{what} as JSON text",
            hint=_HINT_RECOPY,
        ) from exc
    return value if isinstance(value, dict) else {"value": value}


def _attribute(attrs, key: str) -> Any:
    """An HDF5 attribute as plain Python: bytes decoded, arrays of names as lists of str."""
    value = attrs.get(key)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        if value.size == 0:  # Keras 1 writes empty name lists as float64 arrays
            return []
        return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in value]
    return value


def _h5_format(h5, path: Path) -> str:
    attrs = h5.attrs
    if "model_config" in attrs or "model_weights" in h5:
        return "h5_model"
    if "layer_names" in attrs:
        return "h5_weights"
    if "layers" in h5 or "vars" in h5 or "optimizer" in h5:
        return "weights_h5_v3"
    raise UnrecognizedArtifactError(
        f"{str(path)!r} is an HDF5 file but not one Keras wrote (top level: {sorted(h5)[:8]}).",
        path=path,
        expected="an HDF5 file with a model_config or layer_names attribute, or layers/ groups",
        hint="open it with h5py directly to see what it holds",
    )


def _dtype_name(dtype) -> str:
    if dtype.kind in "OSU":
        return "string"
    return dtype.name


def _natural_sorted(group) -> list[str]:
    return sorted(
        group.keys(), key=lambda k: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", k)]
    )
