"""The keys of a partitioned variable's slices in a V2 index: the name and the slice encoded with
TensorFlow's ``OrderedCode`` (:func:`decode_slice_key`); :data:`SliceSpec`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

__all__ = ["SliceSpec", "decode_slice_key", "MAX_DIMS"]


MAX_DIMS = 254  # TensorShape::MaxDimensions()

#: One slice of a partitioned variable: per dimension ``(start, length)``; ``length == -1``
#: means the whole dimension.
SliceSpec = tuple[tuple[int, int], ...]


# -- slice keys (OrderedCode) ---------------------------------------------------------------
def decode_slice_key(key: bytes) -> tuple[str, SliceSpec] | None:
    """Decode the key of one stored slice of a partitioned variable.

    The key is ``OrderedCode``: the number 0, the variable's name, the number of dimensions,
    then ``start`` and ``length`` of each dimension (signed). Returns ``(name, spec)``, or
    ``None`` when ``key`` is an ordinary tensor name (or not a well-formed slice key).
    """
    if not key.startswith(b"\x00"):
        return None
    try:
        position = 1
        name_bytes, position = _read_ordered_string(key, position)
        dims, position = _read_ordered_unsigned(key, position)
        if dims > MAX_DIMS:
            return None
        spec = []
        for _ in range(dims):
            start, position = _read_ordered_signed(key, position)
            length, position = _read_ordered_signed(key, position)
            spec.append((start, length))
        if position != len(key):
            return None
        return name_bytes.decode("utf-8", "backslashreplace"), tuple(spec)
    except (IndexError, ValueError):
        return None


def _read_ordered_string(key: bytes, position: int) -> tuple[bytes, int]:
    out = bytearray()
    while True:
        byte = key[position]
        if byte == 0x00:
            follower = key[position + 1]
            position += 2
            if follower == 0x01:
                return bytes(out), position
            if follower != 0xFF:
                raise ValueError("bad escape")
            out.append(0x00)
        elif byte == 0xFF:
            if key[position + 1] != 0x00:
                raise ValueError("bad escape")
            out.append(0xFF)
            position += 2
        else:
            out.append(byte)
            position += 1


def _read_ordered_unsigned(key: bytes, position: int) -> tuple[int, int]:
    length = key[position]
    if length > 8 or position + 1 + length > len(key):
        raise ValueError("bad number")
    value = int.from_bytes(key[position + 1 : position + 1 + length], "big")
    return value, position + 1 + length


def _read_ordered_signed(key: bytes, position: int) -> tuple[int, int]:
    """The sign bit, then as many copies of it as extra bytes follow, then the value."""
    first = key[position]
    negative = not first & 0x80
    head = int.from_bytes(key[position : position + 2].ljust(2, b"\x00"), "big")
    if negative:
        head ^= 0xFFFF
    length = 0
    while length < 10 and head & (0x8000 >> length):
        length += 1
    if length == 0 or position + length > len(key):
        raise ValueError("bad signed number")
    raw = int.from_bytes(key[position : position + length], "big")
    if negative:
        raw ^= (1 << (8 * length)) - 1
    value = raw & ((1 << (7 * length - 1)) - 1)
    return (~value if negative else value), position + length
