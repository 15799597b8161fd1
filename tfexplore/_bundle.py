"""A pure-Python reader of a V2 checkpoint's ``.index`` file.

A V2 checkpoint (``tf.train.Saver`` since TF 0.12, ``tf.train.Checkpoint``) is a prefix
``PREFIX`` with one ``PREFIX.index`` and data shards ``PREFIX.data-00000-of-0000N``. The index
is an SSTable (the LevelDB table format): sorted keys, each mapped to a protocol buffer.

- The key ``""`` holds a ``BundleHeaderProto``: number of shards, endianness, format version.
- Every other key is a tensor name holding a ``BundleEntryProto``: dtype, shape, the shard that
  holds its bytes, the offset and size of those bytes, and their masked CRC32C.
- A partitioned variable ``W`` has a full entry with a list of ``slices`` and, for each slice, an
  extra entry whose key is the name and the slice encoded with TensorFlow's ``OrderedCode``
  (it starts with a ``\\x00`` byte, so it sorts first).

Reading this file needs no TensorFlow op and not the ``.data`` shards, so listing the variables
of a checkpoint works even when its data is missing, and every entry can be checked (shape,
size, shard) before TensorFlow touches the data.

Example::

    >>> index = read_bundle_index("runs/mnist/model.ckpt-1000.index")   # doctest: +SKIP
    >>> index.num_shards, len(index.entries)                            # doctest: +SKIP
    (1, 15)
    >>> index.entries["layer1/W"].shape                                 # doctest: +SKIP
    (3, 16)
"""

from __future__ import annotations

import functools
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .errors import CorruptArtifactError

__all__ = [
    "BundleEntry",
    "BundleIndex",
    "SliceSpec",
    "read_bundle_index",
    "parse_bundle_index",
    "check_entry_bytes",
    "iter_table",
    "decode_slice_key",
    "shard_path",
    "masked_crc32c",
]

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48
BLOCK_TRAILER_SIZE = 5  # 1 byte compression type + 4 bytes masked crc32c
NO_COMPRESSION, SNAPPY_COMPRESSION = 0, 1
MAX_ELEMENTS = 1 << 62  # above this an element count is certainly damage
MAX_DIMS = 254  # TensorShape::MaxDimensions()
#: TensorFlow's checkpoint reader hands a string tensor of more dimensions than this to numpy
#: through a fixed-size array and crashes the process (TF 2.21): such reads are refused.
MAX_READ_DIMS = 32
DT_RESOURCE, DT_VARIANT = 20, 21
_EXPECTED = "a V2 checkpoint index (an SSTable of BundleEntryProto written by TensorFlow)"
_HINT = "the file may be truncated or damaged; re-copy it and compare its size with the original"

#: One slice of a partitioned variable: per dimension ``(start, length)``; ``length == -1``
#: means the whole dimension.
SliceSpec = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class BundleEntry:
    """One tensor described by the index: where its bytes are and what they mean."""

    key: str
    dtype: str
    dtype_enum: int
    shape: tuple[int, ...]
    shard: int
    offset: int
    size: int
    crc32c: int
    slices: tuple[SliceSpec, ...] = ()

    @property
    def num_elements(self) -> int:
        count = 1
        for dim in self.shape:
            count *= dim
        return count


@dataclass
class BundleIndex:
    """The parsed ``.index`` file of a V2 checkpoint.

    ``entries`` maps each full tensor name to its :class:`BundleEntry` (in key order);
    ``slice_entries`` maps the name of a partitioned variable to ``(slice spec, entry)`` pairs,
    one per stored piece.
    """

    path: Path
    num_shards: int
    endianness: str
    version: int
    entries: dict[str, BundleEntry] = field(default_factory=dict)
    slice_entries: dict[str, list[tuple[SliceSpec, BundleEntry]]] = field(default_factory=dict)

    @property
    def prefix(self) -> Path:
        return self.path.with_name(self.path.name[: -len(".index")])

    def shard_file(self, shard: int) -> Path:
        """The data file holding shard ``shard``."""
        return shard_path(self.prefix, shard, self.num_shards)

    def pieces(self, name: str) -> list[BundleEntry]:
        """The entries whose bytes make up tensor ``name`` (its slices, or itself)."""
        if name in self.slice_entries:
            return [entry for _, entry in self.slice_entries[name]]
        return [self.entries[name]]


def shard_path(prefix: str | os.PathLike, shard: int, num_shards: int) -> Path:
    """``shard_path("m.ckpt", 0, 2)`` -> ``m.ckpt.data-00000-of-00002``."""
    return Path(f"{os.fspath(prefix)}.data-{shard:05d}-of-{num_shards:05d}")


# -- public entry point ---------------------------------------------------------------------
def read_bundle_index(path: str | os.PathLike, *, verify_checksums: bool = True) -> BundleIndex:
    """Parse the ``.index`` file at ``path``.

    Raises:
        CorruptArtifactError: the bytes are not an intact tensor bundle index (truncated,
            bit-flipped, or not an index at all); the message names the file.
    """
    path = Path(path)
    return parse_bundle_index(_read_bytes(path), path, verify_checksums=verify_checksums)


def parse_bundle_index(
    data: bytes, path: str | os.PathLike, *, verify_checksums: bool = True
) -> BundleIndex:
    """Parse the bytes ``data`` of the index file ``path`` (named in errors)."""
    from ._tf import dtype_name, protos

    path = Path(path)
    bundle_pb2 = protos().tensor_bundle_pb2
    header = None
    entries: dict[str, BundleEntry] = {}
    pieces: dict[str, list[tuple[SliceSpec, BundleEntry]]] = {}
    for raw_key, value in iter_table(data, path, verify_checksums=verify_checksums):
        if raw_key == b"":
            header = _parse(bundle_pb2.BundleHeaderProto, value, path, "bundle header")
            continue
        proto = _parse(bundle_pb2.BundleEntryProto, value, path, "bundle entry")
        slice_key = decode_slice_key(raw_key)
        name = slice_key[0] if slice_key else _decode_name(raw_key, path)
        entry = _entry_from_proto(name, proto, path, dtype_name)
        if slice_key:
            pieces.setdefault(name, []).append((slice_key[1], entry))
        else:
            entries[name] = entry
    if header is None:
        raise _corrupt(path, "it has no bundle header (the entry with the empty key)")
    num_shards = header.num_shards
    if num_shards < 1 or num_shards > 1_000_000:
        raise _corrupt(path, f"its header claims {num_shards} data shards")
    for entry in [*entries.values(), *(e for group in pieces.values() for _, e in group)]:
        if not entry.slices and entry.shard >= num_shards:
            raise _corrupt(
                path, f"entry {entry.key!r} is in shard {entry.shard} of only {num_shards}"
            )
    endianness = bundle_pb2.BundleHeaderProto.Endianness.Name(header.endianness)
    return BundleIndex(
        path=path,
        num_shards=num_shards,
        endianness=endianness.lower(),
        version=header.version.producer,
        entries=entries,
        slice_entries=pieces,
    )


def check_entry_bytes(entry: BundleEntry, shard_file: Path, shard_size: int, path) -> None:
    """Refuse an entry whose bytes cannot be in ``shard_file`` (``shard_size`` bytes long),
    whose shape claims more elements than its byte size holds, or that TensorFlow's reader
    cannot hand over without risk to the process (variant tensors, which decode arbitrary
    TensorFlow objects; more than ``MAX_READ_DIMS`` dimensions), before anything is allocated."""
    from ._tf import tf

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
    try:
        itemsize = tf().dtypes.as_dtype(entry.dtype_enum).size
    except TypeError:
        itemsize = 0
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


# -- SSTable ------------------------------------------------------------------------------
def iter_table(
    data: bytes, path: str | os.PathLike, *, verify_checksums: bool = True
) -> Iterator[tuple[bytes, bytes]]:
    """Yield ``(key, value)`` of every entry of the SSTable ``data`` (the bytes of ``path``)."""
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
        yield from _iter_block(_read_block(data, handle, path, verify_checksums), path)


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
        # a writable buffer (a tensor read in place): the C code takes bytes, so go through
        # copies of a few MB at a time
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


# -- helpers ------------------------------------------------------------------------------
def _entry_from_proto(name: str, proto, path, dtype_name) -> BundleEntry:
    dims = [dim.size for dim in proto.shape.dim]
    if len(dims) > MAX_DIMS or any(d < 0 for d in dims):
        raise _corrupt(path, f"entry {name!r} has an impossible shape {dims}")
    count = 1
    for dim in dims:
        count *= dim
        if count > MAX_ELEMENTS:
            raise _corrupt(path, f"entry {name!r} has a shape {dims} too large to exist")
    if proto.offset < 0 or proto.size < 0:
        raise _corrupt(path, f"entry {name!r} has a negative offset or size")
    if not _storable_dtype(int(proto.dtype)):
        raise _corrupt(
            path, f"entry {name!r} has dtype {int(proto.dtype)} ({dtype_name(proto.dtype)}), "
            "which no checkpoint stores"
        )
    slices = tuple(
        tuple((extent.start, extent.length if extent.HasField("length") else -1)
              for extent in slice_proto.extent)
        for slice_proto in proto.slices
    )
    for spec in slices:
        if spec and len(spec) != len(dims):
            raise _corrupt(path, f"entry {name!r} has a slice of {len(spec)} dimensions for "
                           f"a shape of {len(dims)}")
        for (start, length), dim in zip(spec, dims):
            if start < 0 or start > dim or (length != -1 and (length < 0 or start + length > dim)):
                raise _corrupt(path, f"entry {name!r} has a slice {spec} outside its shape {dims}")
    return BundleEntry(
        key=name,
        dtype=dtype_name(proto.dtype),
        dtype_enum=int(proto.dtype),
        shape=tuple(dims),
        shard=proto.shard_id,
        offset=proto.offset,
        size=proto.size,
        crc32c=proto.crc32c,
        slices=slices,
    )


@functools.cache
def _storable_dtype(enum_value: int) -> bool:
    """A dtype a checkpoint can hold: a known ``DataType``, not ``DT_INVALID``, not a
    reference type (``_ref``, 100 and up), not a resource handle. (TensorFlow's reader aborts
    the process on an unknown or reference dtype.)"""
    from ._tf import protos

    known = set(protos().types_pb2.DataType.values())
    return enum_value in known and 0 < enum_value < 100 and enum_value != DT_RESOURCE


def _decode_name(raw_key: bytes, path) -> str:
    try:
        return raw_key.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _corrupt(path, f"a tensor name is not UTF-8 text: {raw_key[:40]!r}") from exc


def _parse(message_cls, value: bytes, path, what: str):
    from ._tf import parse_proto

    return parse_proto(message_cls, value, path, f"{what} in a checkpoint index", hint=_HINT)


def _read_bytes(path: Path) -> bytes:
    from ._files import read_bytes

    return read_bytes(path, what="checkpoint index", expected=_EXPECTED)


def _corrupt(path, reason: str) -> CorruptArtifactError:
    return CorruptArtifactError(
        f"{os.fspath(path)!r} is not a readable checkpoint index: {reason}.",
        path=path,
        expected=_EXPECTED,
        hint=_HINT,
    )
