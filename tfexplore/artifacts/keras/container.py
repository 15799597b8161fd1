"""What holds a Keras file's bytes: a ``.keras`` zip (its members opened in place, through a
window on the file) or an HDF5 file (with or without a user block); HDF5 and JSON errors
turned into tfexplore errors; claimed dataset sizes checked before h5py allocates them.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..._files import open_regular
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


def _container_of(path: Path) -> str:
    """``zip`` or ``hdf5`` from the first bytes; anything else is not a Keras file."""
    try:
        with open_regular(path, what="Keras") as f:
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
    if head == HDF5_MAGIC or _has_hdf5_userblock(path):
        return "hdf5"
    from ..._files import check_lfs_pointer

    check_lfs_pointer(path, what="Keras file")
    raise UnrecognizedArtifactError(
        f"{str(path)!r} is neither a Keras zip (.keras) nor an HDF5 file (.h5).",
        path=path,
        expected="a file starting with the zip signature PK\\x03\\x04 or the HDF5 signature",
        hint="a SavedModel is a folder: open the folder; a TF checkpoint opens by its prefix",
    )


def _has_hdf5_userblock(path: Path) -> bool:
    """HDF5 files may start after a user block of 512, 1024, 2048... bytes."""
    offset = 512
    size = path.stat().st_size
    with open_regular(path, what="Keras") as f:
        while offset + 8 <= size and offset <= 1 << 20:
            f.seek(offset)
            if f.read(8) == HDF5_MAGIC:
                return True
            offset *= 2
    return False


@contextlib.contextmanager
def _open_member(path: Path, info: zipfile.ZipInfo) -> Iterator[io.RawIOBase]:
    """A seekable file object for one zip member: a window on the archive for a stored
    (uncompressed) member, which Keras writes, so nothing is copied; else the bytes in memory."""
    if info.compress_type == zipfile.ZIP_STORED:
        with open_regular(path, what="Keras zip") as raw:
            raw.seek(info.header_offset)
            header = raw.read(30)
            if len(header) < 30 or header[:4] != ZIP_MAGIC:
                raise zipfile.BadZipFile(f"bad local header for {info.filename}")
            name_length, extra_length = struct.unpack("<HH", header[26:30])
            start = info.header_offset + 30 + name_length + extra_length
            yield _Window(raw, start, info.file_size)
    else:
        with zipfile.ZipFile(path) as archive:
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
def _translated(path: Path, what: str) -> Iterator[None]:
    """Turn h5py's and zipfile's errors about damaged bytes into ``CorruptArtifactError``."""
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
