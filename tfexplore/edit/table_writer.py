"""A LevelDB table (SSTable) written as TensorFlow's ``table::TableBuilder`` writes a checkpoint
index: uncompressed blocks of prefix-compressed keys with restart points, each followed by its
type byte and masked CRC32C; an empty metaindex block; the index block (LevelDB's short
separators between blocks); the 48-byte footer. The reader is
:mod:`tfexplore.artifacts.checkpoint.sstable`.

Example::

    >>> from tfexplore.edit.table_writer import table
    >>> data = table([(b"", b"header"), (b"w", b"entry")])
    >>> len(data), data[-8:].hex()
    (111, '57fb808b247547db')
"""

from __future__ import annotations

import struct

from ..artifacts.checkpoint.sstable import TABLE_MAGIC, masked_crc32c

__all__ = ["table", "varint", "BLOCK_SIZE", "RESTART_INTERVAL"]

#: bytes of keys and entries per data block, and keys between restart points: TensorFlow's
#: ``table::Options`` defaults
BLOCK_SIZE = 262144
RESTART_INTERVAL = 16


def varint(number: int) -> bytes:
    """``number`` (non-negative) as a LevelDB/protobuf varint."""
    out = bytearray()
    while number >= 0x80:
        out.append(number & 0x7F | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


class _Block:
    """LevelDB's block builder: keys sharing a prefix with the one before, restart points."""

    def __init__(self, restart_interval: int) -> None:
        self.buffer, self.restarts, self.interval = bytearray(), [0], restart_interval
        self.count, self.since_restart, self.last_key = 0, 0, b""

    def add(self, key: bytes, value: bytes) -> None:
        shared = 0
        if self.since_restart < self.interval:
            limit = min(len(key), len(self.last_key))
            while shared < limit and key[shared] == self.last_key[shared]:
                shared += 1
        else:
            self.restarts.append(len(self.buffer))
            self.since_restart = 0
        self.buffer += varint(shared) + varint(len(key) - shared) + varint(len(value))
        self.buffer += key[shared:] + value
        self.last_key, self.count, self.since_restart = key, self.count + 1, self.since_restart + 1

    def size(self) -> int:
        return len(self.buffer) + 4 * len(self.restarts) + 4

    def finish(self) -> bytes:
        restarts = struct.pack(f"<{len(self.restarts)}I", *self.restarts)
        return bytes(self.buffer) + restarts + struct.pack("<I", len(self.restarts))


def table(entries: list[tuple[bytes, bytes]]) -> bytes:
    """The table of ``entries`` (sorted by key bytes) as TensorFlow's ``TableBuilder`` lays it
    out: data blocks, an empty metaindex block, the index block (a short key between each block
    and the next -> the block's handle), the 48-byte footer."""
    out = bytearray()

    def put(block: _Block) -> bytes:
        contents = block.finish() + b"\x00"  # no compression
        handle = varint(len(out)) + varint(len(contents) - 1)
        out.extend(contents + struct.pack("<I", masked_crc32c(contents)))
        return handle

    index, block, pending, last = _Block(1), _Block(RESTART_INTERVAL), None, b""
    for key, value in entries:
        if pending is not None:
            index.add(_separator(last, key), pending)
            pending = None
        block.add(key, value)
        if block.size() >= BLOCK_SIZE:
            pending, last, block = put(block), block.last_key, _Block(RESTART_INTERVAL)
    if block.count:
        pending, last = put(block), block.last_key
    if pending is not None:
        index.add(_successor(last), pending)
    handles = put(_Block(RESTART_INTERVAL)) + put(index)
    out += handles.ljust(40, b"\x00") + struct.pack("<Q", TABLE_MAGIC)
    return bytes(out)


def _separator(start: bytes, limit: bytes) -> bytes:
    """LevelDB's ``FindShortestSeparator``: a short key in ``[start, limit)``."""
    common = 0
    while common < min(len(start), len(limit)) and start[common] == limit[common]:
        common += 1
    if common < min(len(start), len(limit)) and start[common] < 0xFF:
        if start[common] + 1 < limit[common]:
            return start[:common] + bytes([start[common] + 1])
    return start


def _successor(key: bytes) -> bytes:
    """LevelDB's ``FindShortSuccessor``: a short key at least ``key``."""
    for i, byte in enumerate(key):
        if byte != 0xFF:
            return key[:i] + bytes([byte + 1])
    return key
