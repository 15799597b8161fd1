"""A minimal SSTable (LevelDB table) writer, for re-writing a checkpoint ``.index`` after
editing its entries, so that a fuzz case gets past the table checks to the entry checks.

One data block (every key stored whole, one restart point per entry), an empty metaindex
block, an index block pointing at the data block, and the 48-byte footer; every block has its
trailer (compression type 0 and the masked CRC32C), exactly as TensorFlow writes them.

Example::

    >>> entries = list(iter_table(data, path))                       # doctest: +SKIP
    >>> write_table(entries)                                         # doctest: +SKIP
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from tfexplore.artifacts.checkpoint.sstable import FOOTER_SIZE, TABLE_MAGIC, masked_crc32c

__all__ = ["write_table", "read_entries"]


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _block(entries: Iterable[tuple[bytes, bytes]]) -> bytes:
    body = bytearray()
    restarts = []
    for key, value in entries:
        restarts.append(len(body))
        body += _varint(0) + _varint(len(key)) + _varint(len(value)) + key + value
    if not restarts:
        restarts = [0]
    for offset in restarts:
        body += struct.pack("<I", offset)
    body += struct.pack("<I", len(restarts))
    return bytes(body)


def _with_trailer(out: bytearray, block: bytes) -> tuple[int, int]:
    offset = len(out)
    out += block + b"\x00" + struct.pack("<I", masked_crc32c(block + b"\x00"))
    return offset, len(block)


def write_table(entries: Iterable[tuple[bytes, bytes]], *, sort: bool = True) -> bytes:
    """The bytes of an SSTable holding ``entries`` (``(key, value)`` pairs)."""
    entries = list(entries)
    if sort:
        entries.sort(key=lambda item: item[0])
    out = bytearray()
    data_handle = _with_trailer(out, _block(entries))
    meta_handle = _with_trailer(out, _block([]))
    last_key = entries[-1][0] if entries else b""
    index = _block([(last_key + b"\xff", _varint(data_handle[0]) + _varint(data_handle[1]))])
    index_handle = _with_trailer(out, index)
    footer = (
        _varint(meta_handle[0])
        + _varint(meta_handle[1])
        + _varint(index_handle[0])
        + _varint(index_handle[1])
    )
    footer = footer.ljust(FOOTER_SIZE - 8, b"\x00") + struct.pack("<Q", TABLE_MAGIC)
    return bytes(out) + footer


def read_entries(data: bytes, path="index") -> list[tuple[bytes, bytes]]:
    """Every ``(key, value)`` of the SSTable ``data`` (checksums verified)."""
    from tfexplore.artifacts.checkpoint.sstable import iter_table

    return list(iter_table(data, path))
