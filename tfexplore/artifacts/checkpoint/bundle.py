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
import itertools
import math
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from ..._files import prefix_of, prefix_parts, shard_suffix
from ...errors import CorruptArtifactError

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "BundleEntry",
    "BundleIndex",
    "SliceSpec",
    "read_bundle_index",
    "parse_bundle_index",
    "check_entry_bytes",
    "read_string_entry",
    "iter_table",
    "decode_slice_key",
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


class BundleEntry(NamedTuple):
    """One tensor described by the index: where its bytes are and what they mean.

    (A named tuple rather than a frozen dataclass: an index holds thousands, and making a
    tuple costs a tenth of making a frozen dataclass.)"""

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
        return math.prod(self.shape)


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
        return prefix_of(self.path) or self.path.with_name(self.path.name[: -len(".index")])

    def shard_file(self, shard: int) -> Path:
        """The data file holding shard ``shard``."""
        parts = self.__dict__.get("_prefix_parts")
        if parts is None:  # found once: an empty prefix's files are inside its folder
            parts = self.__dict__["_prefix_parts"] = prefix_parts(self.prefix)
        folder, stem = parts
        return folder / (stem + shard_suffix(shard, self.num_shards))

    def pieces(self, name: str) -> list[BundleEntry]:
        """The entries whose bytes make up tensor ``name`` (its slices, or itself)."""
        if name in self.slice_entries:
            return [entry for _, entry in self.slice_entries[name]]
        return [self.entries[name]]


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
    from ..._tf import dtype_name, protos

    path = Path(path)
    bundle_pb2 = protos().tensor_bundle_pb2
    header = None
    entries: dict[str, BundleEntry] = {}
    pieces: dict[str, list[tuple[SliceSpec, BundleEntry]]] = {}
    decode = _decode_entry
    checked_shapes, storable_names = _checked_shapes, _storable_names
    new_entry = _new_entry
    max_shard = 0

    def general(raw_key: bytes, value: bytes) -> None:
        """One entry the block loop's fast path did not take (the header, slices, anything
        unusual): decoded by :func:`_decode_entry`, else by protobuf, and checked."""
        nonlocal header, max_shard
        if not raw_key:
            header = _parse(bundle_pb2.BundleHeaderProto, value, path, "bundle header")
            return
        # the common case without protobuf objects; anything unusual (unknown fields,
        # negative or oversized numbers, damage) goes through the real parser, which decides
        fields = decode(value)
        if fields is None:
            fields = _fields_from_proto(
                _parse(bundle_pb2.BundleEntryProto, value, path, "bundle entry")
            )
        if raw_key[0] == 0 and (slice_key := decode_slice_key(raw_key)):
            name = slice_key[0]
            pieces.setdefault(name, []).append(
                (slice_key[1], _make_entry(name, fields, path, dtype_name))
            )
            return
        try:
            name = raw_key.decode("utf-8")
        except UnicodeDecodeError:
            name = _decode_name(raw_key, path)  # raises, naming the key
        dtype_enum, dims, shard, offset, size, crc, slices = fields
        shape = checked_shapes.get(dims)
        dtype = storable_names.get(dtype_enum)
        if shape is None or dtype is None or slices or offset < 0 or size < 0:
            entry = _make_entry(name, fields, path, dtype_name)  # checks (and caches) all
        else:  # a shape and dtype already found sane, no slices: what _make_entry makes
            entry = new_entry(
                BundleEntry, (name, dtype, dtype_enum, shape, shard, offset, size, crc, ())
            )
        entries[name] = entry
        if shard > max_shard and not slices:
            max_shard = shard
        if not slices:
            _learn_head(value, dtype_name)

    fast = _FAST_BLOCKS
    for block in _data_blocks(data, path, verify_checksums):
        if fast:
            shard = _parse_block(block, path, entries, general)
            if shard > max_shard:
                max_shard = shard
        else:
            for raw_key, value in _iter_block(block, path):
                general(raw_key, value)
    if header is None:
        raise _corrupt(path, "it has no bundle header (the entry with the empty key)")
    num_shards = header.num_shards
    if num_shards < 1 or num_shards > 1_000_000:
        raise _corrupt(path, f"its header claims {num_shards} data shards")
    if max_shard >= num_shards or pieces:
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
    from ..._tf import tf

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
    import numpy as np

    from ..._files import open_regular

    count = entry.num_elements
    with open_regular(shard_file, what="checkpoint data") as handle:
        handle.seek(entry.offset)
        data = handle.read(entry.size)

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
    lengths: list[int] = []
    position, total, size = 0, 0, len(data)
    for _ in range(count):
        value, shift = 0, 0
        while True:
            if position >= size or shift > 63:
                raise damaged("has a damaged length table")
            byte = data[position]
            position += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        total += value
        if total > size:  # checked before anything is sized from it
            raise damaged(
                f"declares a string of {value} bytes where the tensor has {size} bytes in all"
            )
        lengths.append(value)
    body = position + 4
    if body + total != size:
        raise damaged(
            f"declares {total} bytes of strings, but {size - min(body, size)} follow its "
            "length table"
        )
    if all(n <= 0xFFFFFFFF for n in lengths):
        raw_lengths = np.asarray(lengths, dtype="<u4").tobytes()
    else:
        raw_lengths = b"".join(n.to_bytes(4 if n <= 0xFFFFFFFF else 8, "little") for n in lengths)
    if masked_crc32c(raw_lengths) != int.from_bytes(data[position:body], "little"):
        raise damaged("fails the checksum of its length table")
    if masked_crc32c(raw_lengths + data[position:]) != entry.crc32c:
        raise damaged("fails its checksum")
    values = np.empty(count, dtype=object)
    start = body
    for i, length in enumerate(lengths):
        values[i] = data[start : start + length]
        start += length
    return values.reshape(entry.shape)


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


#: parse blocks with :func:`_parse_block` (its fast path); ``False`` sends every entry through
#: the general path (the tests compare the two)
_FAST_BLOCKS = True
#: the leading ``08 DTYPE 12 LENGTH SHAPE`` bytes of an entry, as TensorFlow writes them, whose
#: dtype is storable and shape sane -> ``(dtype name, dtype enum, shape)``; only
#: :func:`_learn_head` adds to it, after checking
_FAST_HEADS: dict[bytes, tuple[str, int, tuple[int, ...]]] = {}


def _learn_head(value: bytes, dtype_name) -> None:
    """Remember the head of ``value`` (an entry just decoded and checked the general way) for
    :func:`_parse_block` when it is ``08 DTYPE 12 LENGTH SHAPE`` with a storable dtype and a
    sane shape, one-byte dtype and length, and at least the 5 bytes of a crc32c after it."""
    if len(value) < 4 or value[0] != 0x08 or value[2] != 0x12 or (value[1] | value[3]) & 0x80:
        return
    end = 4 + value[3]
    head = value[:end]
    if end + 5 > len(value) or head in _FAST_HEADS or len(_FAST_HEADS) >= _SHAPE_CACHE_MAX:
        return
    decoded = _decode_fields(head)
    if decoded is None or decoded[2:] != (0, 0, 0, 0, ()):
        return
    dtype_enum, dims = decoded[0], decoded[1]
    if not _storable_dtype(dtype_enum):
        return
    try:
        shape = _check_shape("", dims, "")
    except CorruptArtifactError:
        return
    _FAST_HEADS[head] = (
        _storable_names.get(dtype_enum) or dtype_name(dtype_enum),
        dtype_enum,
        shape,
    )


def _parse_block(block: bytes, path, entries: dict[str, BundleEntry], general) -> int:
    """Add the entries of one data block to ``entries``; return the largest shard among them.

    :func:`_iter_block` and :func:`_decode_entry` for the entries TensorFlow writes: a UTF-8
    name, then ``HEAD [18 shard] [20 offset] [28 size] 35 CRC32C`` where ``HEAD`` (dtype and
    shape) is one of ``_FAST_HEADS`` (checked when learnt) and the crc32c is the last 5 bytes.
    The walk over the block stays in Python (each entry's key depends on the previous one); the
    numbers between head and crc32c of all those entries are decoded at once by
    :func:`_decode_numbers`, which takes only ``18``/``20``/``28`` fields, each at most once,
    with numbers below 2**63 (the shard below 2**31). Every other entry (the header, slices,
    other fields or orders, damage) goes to ``general(key, value)`` in its place, so
    ``entries`` stays in key order and errors come in the same order as entry by entry."""
    if len(block) < 4:
        raise _corrupt(path, "a block is shorter than its restart count")
    (num_restarts,) = struct.unpack("<I", block[-4:])
    limit = len(block) - 4 - 4 * num_restarts
    if limit < 0:
        raise _corrupt(path, f"a block claims {num_restarts} restart points")
    heads = _FAST_HEADS
    names: list[str] = []
    found: list[tuple[str, int, tuple[int, ...]]] = []  # each name's head
    bounds: list[int] = []  # start and end of each value, in turn
    others: list[tuple[int, bytes, int, int]] = []  # (names before it, key, start, end)
    add_name, add_head, add_bound = names.append, found.append, bounds.extend
    failure = None
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
            try:
                shared, position = _varint(block, position, path)
                unshared, position = _varint(block, position, path)
                value_length, position = _varint(block, position, path)
            except CorruptArtifactError as exc:
                failure = exc
                break
        start = position + unshared
        end = start + value_length
        if shared > len(key) or end > limit:
            failure = _corrupt(path, f"a block entry at offset {position} is malformed")
            break
        key = key[:shared] + block[position:start]
        position = end
        stop = end - 5  # where the crc32c field starts
        if stop > start and key and key[0] and block[start] == 0x08 and block[stop] == 0x35:
            cursor = start + 4 + block[start + 3]
            # a learnt head has a one-byte length, so a wrong length finds no head
            head = heads.get(block[start:cursor]) if cursor <= stop else None
            if head is not None:
                try:
                    add_name(key.decode("utf-8"))
                except UnicodeDecodeError:
                    pass  # the general path names the key
                else:
                    add_head(head)
                    add_bound((start, end))
                    continue
        others.append((len(names), key, start, end))
    max_shard = 0
    if names:
        good, shards, offsets, sizes, crcs = _decode_numbers(block, bounds)
        max_shard = max(itertools.compress(shards, good), default=0)
        dtypes, enums, shapes = zip(*found)
        made = list(
            map(
                _new_entry,
                itertools.repeat(BundleEntry),
                zip(
                    names,
                    dtypes,
                    enums,
                    shapes,
                    shards,
                    offsets,
                    sizes,
                    crcs,
                    itertools.repeat(()),
                ),
            )
        )
    else:
        good = made = []
    done = 0
    for before, other_key, start, end in [*others, (len(names), None, 0, 0)]:
        if done < before:
            if all(good[done:before]):
                entries.update(zip(names[done:before], made[done:before]))
            else:
                for at in range(done, before):
                    if good[at]:
                        entries[names[at]] = made[at]
                    else:
                        general(
                            names[at].encode("utf-8"), block[bounds[2 * at] : bounds[2 * at + 1]]
                        )
            done = before
        if other_key is not None:
            general(other_key, block[start:end])
    if failure is not None:
        raise failure
    return max_shard


_FAST_TAGS = (0x18, 0x20, 0x28)  # shard_id, offset, size


def _decode_numbers(block: bytes, bounds: list[int]):
    """For the values at ``bounds`` (start, end, start, end...) of ``block``, each a known head,
    fields ``18``/``20``/``28`` and a crc32c field as its last 5 bytes: ``(good, shards,
    offsets, sizes, crcs)``, lists with one item per value. ``good`` is False where the fields
    between head and crc32c are anything but varint fields 18, 20, 28, each at most once, with
    numbers of at most 9 bytes (below 2**63) and a shard below 2**31 (those values go to the
    general path; their other items mean nothing)."""
    import numpy as np

    data = np.frombuffer(block, dtype=np.uint8)
    ends = np.array(bounds, dtype=np.int64).reshape(-1, 2)
    starts, ends = ends[:, 0], ends[:, 1]
    count = len(starts)
    first = starts + 4 + data[starts + 3]  # the first byte after the head
    stop = ends - 5  # the crc32c tag
    crcs = (
        data[stop + 1].astype(np.int64)
        | (data[stop + 2].astype(np.int64) << 8)
        | (data[stop + 3].astype(np.int64) << 16)
        | (data[stop + 4].astype(np.int64) << 24)
    )
    lengths = stop - first
    total = int(lengths.sum())
    shards = np.zeros(count, dtype=np.int64)
    offsets = np.zeros(count, dtype=np.int64)
    sizes = np.zeros(count, dtype=np.int64)
    good = np.ones(count, dtype=bool)
    if total:
        # every value's middle bytes, one after another
        begin = np.cumsum(lengths) - lengths  # where each value's bytes start in ``middle``
        owner = np.repeat(np.arange(count), lengths)  # the value of each byte
        middle = data[np.arange(total) + (first - begin)[owner]]
        low = middle < 0x80  # a tag or the last byte of a varint
        lows_before = np.concatenate(([0], np.cumsum(low)))
        # the lows of each value alternate: tag, last byte, tag, last byte...
        lows_in_value = lows_before[:-1] - lows_before[begin][owner]
        odd = (lows_in_value & 1).astype(bool)
        is_tag = low & ~odd
        bad = ~low & ~odd  # a continuation byte after a last byte (a long tag, damage)
        bad |= is_tag & (middle != 0x18) & (middle != 0x20) & (middle != 0x28)
        good &= ((lows_before[begin + lengths] - lows_before[begin]) & 1) == 0
        tag_at = np.flatnonzero(is_tag)
        field = np.cumsum(is_tag) - 1  # the field of each byte (-1 before the first tag)
        field_start = tag_at[np.maximum(field, 0)]
        digit = np.arange(total) - field_start - 1  # the byte's place in its varint
        bad |= (digit > 8) | (field < 0)
        bad |= owner[field_start] != owner  # a field running into the next value
        good &= np.bincount(owner[bad], minlength=count) == 0
        if len(tag_at):
            part = (middle & 0x7F).astype(np.uint64)
            part <<= (np.clip(digit, 0, 8) * 7).astype(np.uint64)
            part[is_tag] = 0
            numbers = np.add.reduceat(part, tag_at).astype(np.int64)  # below 2**63
            tags = middle[tag_at]
            values = owner[tag_at]
            for tag, column in zip(_FAST_TAGS, (shards, offsets, sizes)):
                which = tags == tag
                mine = values[which]
                good &= np.bincount(mine, minlength=count) <= 1  # protobuf: the last wins
                column[mine] = numbers[which]
            good &= shards < 0x80000000
    return good.tolist(), shards.tolist(), offsets.tolist(), sizes.tolist(), crcs.tolist()


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
#: ``(dtype enum, dims, shard, offset, size, crc32c, slices)`` of one ``BundleEntryProto``
_EntryFields = tuple[int, tuple[int, ...], int, int, int, int, tuple[SliceSpec, ...]]


def _entry_from_proto(name: str, proto, path, dtype_name) -> BundleEntry:
    """The checked :class:`BundleEntry` of a parsed ``BundleEntryProto``."""
    return _make_entry(name, _fields_from_proto(proto), path, dtype_name)


def _fields_from_proto(proto) -> _EntryFields:
    slices = tuple(
        tuple(
            (extent.start, extent.length if extent.HasField("length") else -1)
            for extent in slice_proto.extent
        )
        for slice_proto in proto.slices
    )
    return (
        int(proto.dtype),
        tuple([dim.size for dim in proto.shape.dim]),
        proto.shard_id,
        proto.offset,
        proto.size,
        proto.crc32c,
        slices,
    )


def _make_entry(name: str, fields: _EntryFields, path, dtype_name) -> BundleEntry:
    """Check the fields of one entry (shape, offsets, dtype, slices) and make its entry."""
    dtype_enum, dims, shard, offset, size, crc, slices = fields
    shape = _checked_shapes.get(dims)
    if shape is None:
        shape = _check_shape(name, dims, path)
    if offset < 0 or size < 0:
        raise _corrupt(path, f"entry {name!r} has a negative offset or size")
    dtype = _storable_names.get(dtype_enum)
    if dtype is None:
        if not _storable_dtype(dtype_enum):
            raise _corrupt(
                path,
                f"entry {name!r} has dtype {dtype_enum} ({dtype_name(dtype_enum)}), "
                "which no checkpoint stores",
            )
        dtype = _storable_names[dtype_enum] = dtype_name(dtype_enum)
    if slices:
        _check_slices(name, slices, shape, path)
    return _new_entry(
        BundleEntry, (name, dtype, dtype_enum, shape, shard, offset, size, crc, slices)
    )


_new_entry = tuple.__new__
#: storable dtype enum -> its name (filled as entries are made)
_storable_names: dict[int, str] = {}
#: shapes already found sane (a checkpoint has few distinct shapes)
_checked_shapes: dict[tuple[int, ...], tuple[int, ...]] = {}


def _check_shape(name: str, dims, path) -> tuple[int, ...]:
    dims = list(dims)
    if len(dims) > MAX_DIMS or (dims and min(dims) < 0):
        raise _corrupt(path, f"entry {name!r} has an impossible shape {dims}")
    count = 1
    for dim in dims:
        count *= dim
        if count > MAX_ELEMENTS:
            raise _corrupt(path, f"entry {name!r} has a shape {dims} too large to exist")
    shape = tuple(dims)
    if len(_checked_shapes) < _SHAPE_CACHE_MAX:
        _checked_shapes[shape] = shape
    return shape


def _check_slices(name: str, slices, shape: tuple[int, ...], path) -> None:
    for spec in slices:
        if spec and len(spec) != len(shape):
            raise _corrupt(
                path,
                f"entry {name!r} has a slice of {len(spec)} dimensions for a shape of {len(shape)}",
            )
        for (start, length), dim in zip(spec, shape):
            if start < 0 or start > dim or (length != -1 and (length < 0 or start + length > dim)):
                raise _corrupt(
                    path, f"entry {name!r} has a slice {spec} outside its shape {list(shape)}"
                )


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


@functools.cache
def _storable_dtype(enum_value: int) -> bool:
    """A dtype a checkpoint can hold: a known ``DataType``, not ``DT_INVALID``, not a
    reference type (``_ref``, 100 and up), not a resource handle. (TensorFlow's reader aborts
    the process on an unknown or reference dtype.)"""
    from ..._tf import protos

    known = set(protos().types_pb2.DataType.values())
    return enum_value in known and 0 < enum_value < 100 and enum_value != DT_RESOURCE


def _decode_name(raw_key: bytes, path) -> str:
    try:
        return raw_key.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _corrupt(path, f"a tensor name is not UTF-8 text: {raw_key[:40]!r}") from exc


def _parse(message_cls, value: bytes, path, what: str):
    from ..._tf import parse_proto

    return parse_proto(message_cls, value, path, f"{what} in a checkpoint index", hint=_HINT)


def _read_bytes(path: Path) -> bytes:
    from ..._files import read_bytes

    return read_bytes(path, what="checkpoint index", expected=_EXPECTED)


def _corrupt(path, reason: str) -> CorruptArtifactError:
    return CorruptArtifactError(
        f"{os.fspath(path)!r} is not a readable checkpoint index: {reason}.",
        path=path,
        expected=_EXPECTED,
        hint=_HINT,
    )
