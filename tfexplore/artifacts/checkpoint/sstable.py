"""The SSTable (LevelDB table) under a V2 checkpoint's ``.index``: footer, block handles, blocks
checked against their masked CRC32C, prefix-compressed entries; varints; CRC32C itself; the
error that names a damaged index.
"""

from __future__ import annotations

import functools
import os
import struct
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ...errors import CorruptArtifactError

if TYPE_CHECKING:
    pass

__all__ = ["iter_table", "masked_crc32c", "TABLE_MAGIC", "FOOTER_SIZE"]


TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48
BLOCK_TRAILER_SIZE = 5  # 1 byte compression type + 4 bytes masked crc32c
NO_COMPRESSION, SNAPPY_COMPRESSION = 0, 1


_EXPECTED = "a V2 checkpoint index (an SSTable of BundleEntryProto written by TensorFlow)"
_HINT = "the file may be truncated or damaged; re-copy it and compare its size with the original"


# -- SSTable ------------------------------------------------------------------------------
def iter_table(
    data: bytes, path: str | os.PathLike, *, verify_checksums: bool = True
) -> Iterator[tuple[bytes, bytes]]:
    """Yield ``(key, value)`` of every entry of the SSTable ``data`` (the bytes of ``path``)."""
    for block in _data_blocks(data, path, verify_checksums):
        yield from _iter_block(block, path)


def _data_blocks(data: bytes, path, verify_checksums: bool) -> Iterator[bytes]:
    """The data blocks of the SSTable ``data``, in key order (each checked as it comes)."""
    if len(data) < FOOTER_SIZE:
        raise _corrupt(path, f"it has {len(data)} bytes, fewer than the 48-byte table footer")
    footer = data[-FOOTER_SIZE:]
    (magic,) = struct.unpack("<Q", footer[-8:])
    if magic != TABLE_MAGIC:
        raise _corrupt(path, "its last 8 bytes are not the table magic number")
    position = 0
    _metaindex, position = _block_handle(footer, position, path)
    index_handle, _ = _block_handle(footer, position, path)
    index_block = _read_block(data, index_handle, path, verify_checksums)
    for _separator, handle_bytes in _iter_block(index_block, path):
        handle, _ = _block_handle(handle_bytes, 0, path)
        yield _read_block(data, handle, path, verify_checksums)


def _block_handle(data: bytes, position: int, path) -> tuple[tuple[int, int], int]:
    offset, position = _varint(data, position, path)
    size, position = _varint(data, position, path)
    return (offset, size), position


def _read_block(data: bytes, handle: tuple[int, int], path, verify: bool) -> bytes:
    offset, size = handle
    end = offset + size
    if end + BLOCK_TRAILER_SIZE > len(data) - FOOTER_SIZE:
        raise _corrupt(path, f"a block at offset {offset} ({size} bytes) runs past the end")
    contents = data[offset:end]
    kind = data[end]
    if verify:
        (stored,) = struct.unpack("<I", data[end + 1 : end + 5])
        if masked_crc32c(data[offset : end + 1]) != stored:
            raise _corrupt(path, f"the checksum of the block at offset {offset} does not match")
    if kind == SNAPPY_COMPRESSION:
        raise CorruptArtifactError(
            f"{os.fspath(path)!r} has a snappy-compressed block; tensor bundle indexes are "
            "written uncompressed, so tfexplore does not decompress them.",
            path=path,
            expected="uncompressed table blocks",
            hint="read it with tf.train.load_checkpoint instead",
        )
    if kind != NO_COMPRESSION:
        raise _corrupt(path, f"a block at offset {offset} has unknown compression type {kind}")
    return contents


def _iter_block(block: bytes, path) -> Iterator[tuple[bytes, bytes]]:
    """Entries of one block: shared-prefix compressed keys, then restart points at the end."""
    if len(block) < 4:
        raise _corrupt(path, "a block is shorter than its restart count")
    (num_restarts,) = struct.unpack("<I", block[-4:])
    limit = len(block) - 4 - 4 * num_restarts
    if limit < 0:
        raise _corrupt(path, f"a block claims {num_restarts} restart points")
    key = b""
    position = 0
    while position < limit:
        # three varints, almost always one byte each (and never past ``limit`` then)
        shared = block[position]
        unshared = block[position + 1] if position + 1 < limit else 0x80
        value_length = block[position + 2] if position + 2 < limit else 0x80
        if (shared | unshared | value_length) < 0x80:
            position += 3
        else:
            shared, position = _varint(block, position, path)
            unshared, position = _varint(block, position, path)
            value_length, position = _varint(block, position, path)
        if shared > len(key) or position + unshared + value_length > limit:
            raise _corrupt(path, f"a block entry at offset {position} is malformed")
        key = key[:shared] + block[position : position + unshared]
        position += unshared
        yield key, block[position : position + value_length]
        position += value_length


def _varint(data: bytes, position: int, path) -> tuple[int, int]:
    result = shift = 0
    while True:
        if position >= len(data) or shift > 63:
            raise _corrupt(path, "a variable-length integer is truncated or too long")
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7


# -- CRC32C (Castagnoli), masked as LevelDB stores it ------------------------------------------
@functools.cache
def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


def _crc32c(data: bytes) -> int:
    """CRC32C: ``google-crc32c``'s C code when installed (a dependency), else pure Python
    (about a thousand times slower: 30 ms for a 250 KB index)."""
    if _fast_crc32c is not None:
        if isinstance(data, bytes):
            return _fast_crc32c(data)
        # a writable buffer (a tensor read in place): the C code refuses a writable
        # memoryview but takes a numpy array over the same memory (no copy)
        import numpy as np

        try:
            return _fast_crc32c(np.frombuffer(memoryview(data).cast("B"), dtype=np.uint8))
        except TypeError:  # another google-crc32c: copies of a few MB at a time
            view = memoryview(data).cast("B")
            crc = 0
            for start in range(0, len(view), _CRC_CHUNK):
                crc = _extend_crc32c(crc, bytes(view[start : start + _CRC_CHUNK]))
            return crc
    table = _crc_table()
    crc = 0xFFFFFFFF
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


_CRC_CHUNK = 1 << 23
try:
    from google_crc32c import extend as _extend_crc32c
    from google_crc32c import value as _fast_crc32c
except ImportError:  # pragma: no cover - a dependency; the pure-Python path stays correct
    _fast_crc32c = _extend_crc32c = None


def masked_crc32c(data: bytes) -> int:
    """The CRC32C of ``data``, masked the way LevelDB and TensorFlow store checksums."""
    crc = _crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def _corrupt(path, reason: str) -> CorruptArtifactError:
    return CorruptArtifactError(
        f"{os.fspath(path)!r} is not a readable checkpoint index: {reason}.",
        path=path,
        expected=_EXPECTED,
        hint=_HINT,
    )
