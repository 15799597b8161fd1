"""A minimal decoder of the ``BundleEntryProto`` bytes TensorFlow writes (no protobuf objects):
``None`` for anything unusual, which the caller then parses with protobuf itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .slice_key import SliceSpec

if TYPE_CHECKING:
    pass


#: ``(dtype enum, dims, shard, offset, size, crc32c, slices)`` of one ``BundleEntryProto``
_EntryFields = tuple[int, tuple[int, ...], int, int, int, int, tuple[SliceSpec, ...]]


# -- a minimal BundleEntryProto decoder ------------------------------------------------------
# BundleEntryProto: 1 dtype (enum), 2 shape (TensorShapeProto), 3 shard_id (int32),
# 4 offset (int64), 5 size (int64), 6 crc32c (fixed32), 7 slices (repeated TensorSliceProto).
# TensorShapeProto: 2 dim (repeated Dim: 1 size int64, 2 name), 3 unknown_rank.
# TensorSliceProto: 1 extent (repeated Extent: 1 start int64, 2 length int64 in a oneof).
# The decoder takes only what a writer of checkpoints produces: the known fields with their
# wire types, numbers below 2**63 (int32 fields below 2**31), dims without names, the shape at
# most once. It returns ``None`` for anything else, truncation included, and the caller then
# parses with protobuf itself, so every unusual or hostile entry gets protobuf's exact
# semantics (last value wins, negative numbers, merged messages, its errors).
#: decoded ``TensorShapeProto`` bytes -> dims (a checkpoint has few distinct shapes)
_SHAPE_CACHE: dict[bytes, tuple[int, ...]] = {}
_SHAPE_CACHE_MAX = 4096


#: the leading dtype and shape fields of an entry, as TensorFlow writes them -> (dtype, dims)
_HEAD_CACHE: dict[bytes, tuple[int, tuple[int, ...]]] = {}


def _decode_entry(value: bytes) -> _EntryFields | None:
    """``(dtype, dims, shard, offset, size, crc32c, slices)`` of a ``BundleEntryProto``, or
    ``None`` when protobuf itself must decide.

    The fast path: TensorFlow writes the fields in order, and the dtype and shape are
    ``08 DTYPE 12 LENGTH SHAPE`` with a few distinct values per checkpoint, so that head is one
    dict lookup; the rest (shard, offset, size, crc32c) is read here. Anything else goes through
    :func:`_decode_fields`, which reads every field in any order.
    """
    end = len(value)
    try:
        if end < 4 or value[0] != 0x08 or value[2] != 0x12 or (value[1] | value[3]) & 0x80:
            return _decode_fields(value)
        position = 4 + value[3]
        head = _HEAD_CACHE.get(value[:position])
        if head is None:
            prefix = value[:position]
            decoded = _decode_fields(prefix) if position <= end else None
            if decoded is None:
                return _decode_fields(value)
            head = decoded[0], decoded[1]
            if len(_HEAD_CACHE) < _SHAPE_CACHE_MAX:
                _HEAD_CACHE[prefix] = head
        shard = offset = size = crc = 0
        while position < end:
            tag = value[position]
            if tag == 0x35:
                if position + 5 > end:
                    return None
                crc = int.from_bytes(value[position + 1 : position + 5], "little")
                position += 5
                continue
            if tag != 0x20 and tag != 0x28 and tag != 0x18:
                return _decode_fields(value)  # slices, repeated fields, unknown fields...
            byte = value[position + 1]
            position += 2
            number = byte & 0x7F
            shift = 7
            while byte & 0x80:
                if shift > 56:
                    return None  # ten bytes: a negative or oversized number
                byte = value[position]
                position += 1
                number |= (byte & 0x7F) << shift
                shift += 7
            if tag == 0x20:
                offset = number
            elif tag == 0x28:
                size = number
            elif number < 0x80000000:
                shard = number
            else:
                return None  # an int32 out of range: protobuf truncates it
    except IndexError:  # truncated: protobuf raises its own error
        return None
    return head[0], head[1], shard, offset, size, crc, ()


def _decode_fields(value: bytes) -> _EntryFields | None:
    """:func:`_decode_entry` for fields in any order (slices included)."""
    end = len(value)
    position = 0
    dtype = shard = offset = size = crc = 0
    dims: tuple[int, ...] = ()
    slices: list[SliceSpec] | tuple = ()
    seen_shape = False
    try:
        while position < end:
            tag = value[position]
            position += 1
            if tag & 7 == 0:  # a varint: dtype, shard_id, offset or size
                byte = value[position]
                position += 1
                number = byte & 0x7F
                shift = 7
                while byte & 0x80:
                    if shift > 56:
                        return None  # ten bytes: a negative or oversized number
                    byte = value[position]
                    position += 1
                    number |= (byte & 0x7F) << shift
                    shift += 7
                if tag == 0x20:
                    offset = number
                elif tag == 0x28:
                    size = number
                elif tag == 0x08 and number < 0x80000000:
                    dtype = number
                elif tag == 0x18 and number < 0x80000000:
                    shard = number
                else:
                    return None  # an unknown field, or an int32 protobuf would truncate
            elif tag == 0x12 or tag == 0x3A:
                length = value[position]
                position += 1
                if length & 0x80:
                    length, position = _short_varint(value, position - 1)
                    if length is None:
                        return None
                stop = position + length
                if stop > end:
                    return None
                if tag == 0x12:
                    if seen_shape:
                        return None  # protobuf merges repeated messages
                    seen_shape = True
                    raw = value[position:stop]
                    dims = _SHAPE_CACHE.get(raw)
                    if dims is None:
                        dims = _decode_dims(value, position, stop)
                        if dims is None:
                            return None
                        if len(_SHAPE_CACHE) < _SHAPE_CACHE_MAX:
                            _SHAPE_CACHE[raw] = dims
                else:
                    spec = _decode_slice(value, position, stop)
                    if spec is None:
                        return None
                    slices = [*slices, spec]
                position = stop
            elif tag == 0x35 and position + 4 <= end:
                crc = int.from_bytes(value[position : position + 4], "little")
                position += 4
            else:
                return None  # an unknown field or wire type, or truncated
    except IndexError:  # truncated inside a number: protobuf raises its own error
        return None
    return dtype, dims, shard, offset, size, crc, tuple(slices)


def _short_varint(data: bytes, position: int) -> tuple[int | None, int]:
    """A varint of at most nine bytes (below 2**63) at ``position``; ``(None, position)`` for
    a longer one. Raises ``IndexError`` when ``data`` ends inside it."""
    number = shift = 0
    while True:
        if shift > 56:
            return None, position
        byte = data[position]
        position += 1
        number |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return number, position
        shift += 7


def _decode_dims(value: bytes, position: int, stop: int) -> tuple[int, ...] | None:
    """The sizes of the ``Dim`` messages of the ``TensorShapeProto`` at ``position:stop``."""
    dims = []
    while position < stop:
        if value[position] != 0x12:
            return None  # unknown_rank, or anything else
        length = value[position + 1]
        position += 2
        if length & 0x80:
            length, position = _short_varint(value, position - 1)
            if length is None:
                return None
        dim_stop = position + length
        if dim_stop > stop:
            return None
        size = 0
        while position < dim_stop:
            if value[position] != 0x08:
                return None  # a named dim (protobuf checks its UTF-8), or anything else
            size, position = _short_varint(value, position + 1)
            if size is None or position > dim_stop:
                return None
        dims.append(size)
    return tuple(dims) if position == stop else None


def _decode_slice(value: bytes, position: int, stop: int) -> SliceSpec | None:
    """The ``(start, length)`` pairs of a ``TensorSliceProto`` (``length`` -1 when absent)."""
    spec = []
    while position < stop:
        if value[position] != 0x0A:
            return None
        length = value[position + 1]
        position += 2
        if length & 0x80:
            length, position = _short_varint(value, position - 1)
            if length is None:
                return None
        extent_stop = position + length
        if extent_stop > stop:
            return None
        start, size = 0, -1
        while position < extent_stop:
            field_tag = value[position]
            if field_tag != 0x08 and field_tag != 0x10:
                return None
            number, position = _short_varint(value, position + 1)
            if number is None or position > extent_stop:
                return None
            if field_tag == 0x08:
                start = number
            else:
                size = number
        spec.append((start, size))
    if position != stop:
        return None
    return tuple(spec)
