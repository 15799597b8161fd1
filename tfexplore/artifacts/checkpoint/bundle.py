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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from ..._files import prefix_of, prefix_parts, shard_suffix
from ..._fs import as_path
from ...errors import CorruptArtifactError
from .entry_proto import _SHAPE_CACHE_MAX, _decode_entry, _decode_fields, _EntryFields
from .slice_key import MAX_DIMS, SliceSpec, decode_slice_key
from .sstable import _EXPECTED, _HINT, _corrupt, _data_blocks, _iter_block, _varint

if TYPE_CHECKING:
    pass

__all__ = ["BundleEntry", "BundleIndex", "read_bundle_index", "parse_bundle_index"]

MAX_ELEMENTS = 1 << 62  # above this an element count is certainly damage
#: TensorFlow's checkpoint reader hands a string tensor of more dimensions than this to numpy
#: through a fixed-size array and crashes the process (TF 2.21): such reads are refused.
MAX_READ_DIMS = 32
DT_RESOURCE, DT_VARIANT = 20, 21


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
    path = as_path(path)
    return parse_bundle_index(_read_bytes(path), path, verify_checksums=verify_checksums)


def parse_bundle_index(
    data: bytes, path: str | os.PathLike, *, verify_checksums: bool = True
) -> BundleIndex:
    """Parse the bytes ``data`` of the index file ``path`` (named in errors)."""
    from ..._wire import BundleEntryProto, BundleHeaderProto, dtype_name

    path = as_path(path)
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
            header = _parse(BundleHeaderProto, value, path, "bundle header")
            return
        # the common case without protobuf objects; anything unusual (unknown fields,
        # negative or oversized numbers, damage) goes through the real parser, which decides
        fields = decode(value)
        if fields is None:
            fields = _fields_from_proto(_parse(BundleEntryProto, value, path, "bundle entry"))
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
    endianness = BundleHeaderProto.Endianness.Name(header.endianness)
    return BundleIndex(
        path=path,
        num_shards=num_shards,
        endianness=endianness.lower(),
        version=header.version.producer,
        entries=entries,
        slice_entries=pieces,
    )


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


# -- helpers ------------------------------------------------------------------------------
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


@functools.cache
def _storable_dtype(enum_value: int) -> bool:
    """A dtype a checkpoint can hold: a known ``DataType``, not ``DT_INVALID``, not a
    reference type (``_ref``, 100 and up), not a resource handle. (TensorFlow's reader aborts
    the process on an unknown or reference dtype.)"""
    from ..._wire import DATA_TYPES

    return enum_value in DATA_TYPES and 0 < enum_value < 100 and enum_value != DT_RESOURCE


def _decode_name(raw_key: bytes, path) -> str:
    try:
        return raw_key.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _corrupt(path, f"a tensor name is not UTF-8 text: {raw_key[:40]!r}") from exc


def _parse(message_cls, value: bytes, path, what: str):
    from ..._wire import parse_proto

    return parse_proto(message_cls, value, path, f"{what} in a checkpoint index", hint=_HINT)


def _read_bytes(path: Path) -> bytes:
    from ..._files import read_bytes

    return read_bytes(path, what="checkpoint index", expected=_EXPECTED)
