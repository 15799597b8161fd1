"""A tensor's bytes in a data shard, checked against its index entry before anything reads them
(:func:`check_entry_bytes`), and string tensors read and checked in pure Python
(:func:`read_string_entry`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import CorruptArtifactError
from .bundle import DT_VARIANT, MAX_READ_DIMS, BundleEntry
from .sstable import _HINT, masked_crc32c

if TYPE_CHECKING:
    import numpy as np

__all__ = ["check_entry_bytes", "read_numeric_entry", "read_string_entry"]


def check_entry_bytes(entry: BundleEntry, shard_file: Path, shard_size: int, path) -> None:
    """Refuse an entry whose bytes cannot be in ``shard_file`` (``shard_size`` bytes long),
    whose shape claims more elements than its byte size holds, or that TensorFlow's reader
    cannot hand over without risk to the process (variant tensors, which decode arbitrary
    TensorFlow objects; more than ``MAX_READ_DIMS`` dimensions), before anything is allocated."""
    if entry.dtype_enum == DT_VARIANT or len(entry.shape) > MAX_READ_DIMS:
        reason = (
            "is a variant tensor (serialized TensorFlow objects, which tfexplore does not decode)"
            if entry.dtype_enum == DT_VARIANT
            else f"has {len(entry.shape)} dimensions (TensorFlow's reader crashes on more than "
            f"{MAX_READ_DIMS})"
        )
        raise CorruptArtifactError(
            f"Tensor {entry.key!r} of {str(shard_file)!r} {reason}; its value is not read.",
            path=path,
            expected=f"a numeric, bool or string tensor of at most {MAX_READ_DIMS} dimensions",
            hint="its name, dtype and shape are in .variables; read it with TensorFlow in a "
            "separate process if you trust the file",
        )
    if entry.offset + entry.size > shard_size:
        raise CorruptArtifactError(
            f"Tensor {entry.key!r} needs bytes {entry.offset}..{entry.offset + entry.size} of "
            f"{str(shard_file)!r}, which has only {shard_size} bytes.",
            path=shard_file,
            expected=f"a data shard of at least {entry.offset + entry.size} bytes",
            hint="the data file is truncated or belongs to another checkpoint; re-copy it",
        )
    itemsize = ITEMSIZE.get(entry.dtype, 0)
    count = entry.num_elements
    if entry.dtype == "string":
        too_big = count > entry.size  # each string needs at least a length byte
    else:
        too_big = itemsize and count * itemsize != entry.size
    if too_big:
        raise CorruptArtifactError(
            f"Tensor {entry.key!r} has shape {entry.shape} ({count} x {entry.dtype}) but "
            f"{entry.size} bytes in {str(shard_file)!r}.",
            path=path,
            expected="an index entry whose shape and byte size agree",
            hint=_HINT,
        )


def read_string_entry(entry: BundleEntry, shard_file: Path, path) -> np.ndarray:
    """The strings of a string entry, read and checked in pure Python (TensorFlow's reader
    never sees them): an object array of ``bytes`` of ``entry.shape``.

    TensorFlow stores a string tensor as ``[varint64 length] * n``, a masked CRC32C of the
    lengths, then the string bytes; its reader allocates each string from its declared length
    before reading it, so a length edited to 2**62 crashes it or takes all memory. Here every
    declared length is checked against the bytes the entry has (``entry.size``, itself checked
    against the file by :func:`check_entry_bytes`) before anything is allocated for it, then
    both checksums. Raises ``CorruptArtifactError`` naming the tensor.
    """
    from ..._files import read_range

    data = read_range(shard_file, entry.offset, entry.size, what="checkpoint data")
    return decode_string_entry(entry, data, shard_file)


def string_length_table(data: bytes, count: int) -> tuple[list[int], int, bytes]:
    """The length table of a string tensor's bytes (``tensor_bundle.cc``: ``count`` varint
    lengths, the masked CRC32C of the lengths as fixed-width integers, then the strings):
    ``(lengths, where the table ends, the lengths as they are checksummed)``, after checking
    that the lengths add up to the bytes that follow and that the table's checksum matches.
    Raises ``ValueError`` saying what is wrong (a table cut short, a varint past 64 bits, a
    length larger than the data: checked before anything is sized from it)."""
    import numpy as np

    lengths: list[int] = []
    position, total, size = 0, 0, len(data)
    for _ in range(count):
        value, shift = 0, 0
        while True:
            if position >= size or shift > 63:
                raise ValueError("has a damaged length table")
            byte = data[position]
            position += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        total += value
        if total > size:
            raise ValueError(
                f"declares a string of {value} bytes where the tensor has {size} bytes in all"
            )
        lengths.append(value)
    body = position + 4
    if body + total != size:
        raise ValueError(
            f"declares {total} bytes of strings, but {size - min(body, size)} follow its "
            "length table"
        )
    if all(n <= 0xFFFFFFFF for n in lengths):
        raw_lengths = np.asarray(lengths, dtype="<u4").tobytes()
    else:
        raw_lengths = b"".join(n.to_bytes(4 if n <= 0xFFFFFFFF else 8, "little") for n in lengths)
    if masked_crc32c(raw_lengths) != int.from_bytes(data[position:body], "little"):
        raise ValueError("fails the checksum of its length table")
    return lengths, position, raw_lengths


def decode_string_entry(entry: BundleEntry, data: bytes, shard_file) -> np.ndarray:
    """:func:`read_string_entry` on bytes already fetched (``data``: the entry's bytes)."""
    import numpy as np

    count = entry.num_elements

    def damaged(problem: str) -> CorruptArtifactError:
        return CorruptArtifactError(
            f"String tensor {entry.key!r} in {str(shard_file)!r} {problem}; it is not read.",
            path=shard_file,
            expected="string lengths that add up to the bytes stored for the tensor, and "
            "checksums that match",
            hint="the data file is damaged or hostile; names and shapes are in .variables",
        )

    if len(data) != entry.size:
        raise damaged(f"is cut short ({len(data)} of {entry.size} bytes)")
    try:
        lengths, position, raw_lengths = string_length_table(data, count)
    except ValueError as exc:
        raise damaged(str(exc)) from None
    body = position + 4
    if masked_crc32c(raw_lengths + data[position:]) != entry.crc32c:
        raise damaged("fails its checksum")
    values = np.empty(count, dtype=object)
    start = body
    for i, length in enumerate(lengths):
        values[i] = data[start : start + length]
        start += length
    return values.reshape(entry.shape)


#: dtypes whose bundle bytes are numpy's raw little-endian layout (bfloat16 is not in numpy)
DIRECT_DTYPES = frozenset(
    "float16 float32 float64 int8 int16 int32 int64 uint8 uint16 uint32 uint64 bool "
    "complex64 complex128".split()
)
#: bytes per element of each fixed-size dtype a checkpoint holds (TensorFlow's names)
ITEMSIZE = {
    "float16": 2,
    "float32": 4,
    "float64": 8,
    "int8": 1,
    "int16": 2,
    "int32": 4,
    "int64": 8,
    "uint8": 1,
    "uint16": 2,
    "uint32": 4,
    "uint64": 8,
    "complex64": 8,
    "complex128": 16,
    "bool": 1,
    "bfloat16": 2,
    "qint8": 1,
    "quint8": 1,
    "qint16": 2,
    "quint16": 2,
    "qint32": 4,
    "float8_e5m2": 1,
    "float8_e4m3fn": 1,
}


def read_numeric_entry(entry: BundleEntry, shard_file: Path, index_path) -> np.ndarray | None:
    """A numeric tensor (one unpartitioned entry of a little-endian bundle), read straight
    from its bytes at the offset the index gives and checked against the CRC32C the index
    records, as TensorFlow's reader checks it (one copy less, and no trip through TensorFlow).
    ``None`` for a dtype numpy does not hold as raw bytes, a slice, or a size that does not
    match the shape."""
    import numpy as np

    from ..._files import open_regular, read_range
    from ..._fs import RemotePath

    if not is_direct(entry):
        return None
    if isinstance(shard_file, RemotePath):  # one ranged request; a writable copy
        data = bytearray(read_range(shard_file, entry.offset, entry.size, what="checkpoint data"))
        return decode_numeric_entry(entry, data, shard_file, index_path)
    array = np.empty(entry.num_elements, dtype=numpy_dtype(entry.dtype))
    buffer = memoryview(array.view(np.uint8)).cast("B")
    with open_regular(shard_file, what="checkpoint data") as data:
        data.seek(entry.offset)
        read = data.readinto(buffer)
    _check_numeric(entry, buffer[:read], shard_file, index_path)
    return array.reshape(entry.shape)


def is_direct(entry: BundleEntry) -> bool:
    """Whether ``entry``'s bytes are numpy's raw layout of its dtype and shape (what
    :func:`decode_numeric_entry` takes)."""
    return (
        not entry.slices
        and numpy_dtype(entry.dtype) is not None
        and entry.size == entry.num_elements * ITEMSIZE[entry.dtype]
    )


def numpy_dtype(name: str):
    """The numpy dtype of TensorFlow dtype ``name`` whose raw bytes are a bundle's (little
    endian), or ``None``: numpy's own dtypes, and ``bfloat16`` from ``ml_dtypes`` (the type
    TensorFlow itself hands out) when it is installed."""
    import numpy as np

    if name in DIRECT_DTYPES:
        return np.dtype(name).newbyteorder("<")
    if name == "bfloat16":
        try:
            import ml_dtypes
        except ImportError:
            return None
        return np.dtype(ml_dtypes.bfloat16)
    return None


def decode_numeric_entry(entry: BundleEntry, data: bytes, shard_file, index_path) -> np.ndarray:
    """The array of a numeric entry (see :func:`is_direct`) from its bytes ``data``, checked
    against its length and CRC32C: a ``CorruptArtifactError`` naming the tensor and file if
    they do not match. Needs numpy only (Dask workers call it). Read-only when ``data`` is
    ``bytes``."""
    import numpy as np

    _check_numeric(entry, data, shard_file, index_path)
    return np.frombuffer(data, dtype=numpy_dtype(entry.dtype)).reshape(entry.shape)


def _check_numeric(entry: BundleEntry, data, shard_file, index_path) -> None:
    read = len(data)
    if read != entry.size or masked_crc32c(data) != entry.crc32c:
        problem = "is cut short" if read != entry.size else "fails its checksum"
        raise CorruptArtifactError(
            f"Tensor {entry.key!r} in {str(shard_file)!r} {problem} (bytes {entry.offset} to "
            f"{entry.offset + entry.size}): the data file is damaged.",
            path=shard_file,
            expected=f"{entry.size} bytes whose CRC32C matches the one in "
            f"{os.fspath(index_path).rpartition('/')[2]}",
            hint="re-copy the checkpoint; the other tensors may still read",
        )
