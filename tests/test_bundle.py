"""The pure-Python reader of V2 checkpoint indexes, against TensorFlow's own reader."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from fuzz.sstable import write_table

from tfexplore.artifacts.checkpoint import bundle as _bundle
from tfexplore.artifacts.checkpoint import entry_proto as _entry_proto
from tfexplore.artifacts.checkpoint import slice_key as _slice_key
from tfexplore.artifacts.checkpoint import sstable as _table
from tfexplore.artifacts.checkpoint.bundle import parse_bundle_index, read_bundle_index
from tfexplore.artifacts.checkpoint.shard import check_entry_bytes
from tfexplore.artifacts.checkpoint.slice_key import decode_slice_key
from tfexplore.artifacts.checkpoint.sstable import masked_crc32c
from tfexplore.errors import CorruptArtifactError


def _agrees(prefix):
    import tensorflow as tf

    index = read_bundle_index(f"{prefix}.index")
    shapes = {name: tuple(shape) for name, shape in tf.train.list_variables(str(prefix))}
    assert {name: entry.shape for name, entry in index.entries.items()} == shapes
    dtypes = tf.train.load_checkpoint(str(prefix)).get_variable_to_dtype_map()
    assert {name: entry.dtype for name, entry in index.entries.items()} == {
        name: dtype.name for name, dtype in dtypes.items()
    }
    return index


def test_demo_index(demo_run):
    prefix = demo_run / "model.ckpt-30"
    index = _agrees(prefix)
    assert index.num_shards == 1 and index.endianness == "little" and index.version == 1
    data_size = index.shard_file(0).stat().st_size
    ends = sorted(entry.offset + entry.size for entry in index.entries.values())
    assert ends[-1] == data_size  # the shard is exactly the tensors' bytes
    entry = index.entries["layer1/W"]
    assert (entry.dtype, entry.shape, entry.size) == ("float32", (3, 16), 192)


def test_sharded_index(sharded_checkpoint):
    index = _agrees(sharded_checkpoint)
    assert index.num_shards == 2
    assert {entry.shard for entry in index.entries.values()} == {0, 1}
    for entry in index.entries.values():
        size = index.shard_file(entry.shard).stat().st_size
        check_entry_bytes(entry, index.shard_file(entry.shard), size, index.path)


def test_partitioned_slices(partitioned_checkpoint):
    index = _agrees(partitioned_checkpoint)
    pieces = index.slice_entries["emb"]
    assert len(pieces) == 3
    starts = sorted(spec[0] for spec, _ in pieces)
    assert sum(length for _, length in starts) == 7
    assert [start for start, _ in starts] == [0, 3, 5]
    assert len(index.entries["emb"].slices) == 3
    assert sum(entry.size for entry in index.pieces("emb")) == 7 * 2 * 4
    assert "emb/MyAdam" in index.slice_entries


def test_corpus_indexes(corpus):
    for index_file in sorted(corpus.rglob("*.index")):
        _agrees(str(index_file)[: -len(".index")])


def test_ordered_code_slice_key():
    # OrderedCode: 0, the name ("a\x00b" escaped), 2 dims, (start, length) signed pairs
    key = (
        b"\x00"
        + b"a\x00\xffb"
        + b"\x00\x01"
        + b"\x01\x02"
        + b"\x80"
        + b"\x83"  # 0, 3
        + b"\xf0\x42\x42\x42"
        + b"\x7f"  # 0x424242, -1
    )
    assert decode_slice_key(key) == ("a\x00b", ((0, 3), (0x424242, -1)))
    assert _slice_key._read_ordered_signed(b"\x38\x00", 0) == (-0x800, 2)
    assert decode_slice_key(b"layer1/W") is None
    assert decode_slice_key(b"\x00broken") is None


def test_crc32c():
    assert _table._crc32c(b"123456789") == 0xE3069283
    # a writable buffer (a tensor read in place) gives the same value as its bytes
    array = np.arange(3_000_000, dtype=np.float32)
    view = memoryview(array).cast("B")
    assert _table._crc32c(view) == _table._crc32c(bytes(view))
    assert _table._crc32c(bytearray(b"123456789")) == 0xE3069283
    assert masked_crc32c(b"") == ((0 >> 15 | 0 << 17) + 0xA282EAD8) & 0xFFFFFFFF


@pytest.mark.parametrize(
    "data",
    [b"", b"short", b"\x00" * 48, b"x" * 100 + struct.pack("<Q", _table.TABLE_MAGIC)],
)
def test_garbage_is_corrupt(data, tmp_path):
    with pytest.raises(CorruptArtifactError) as info:
        parse_bundle_index(data, tmp_path / "bad.index")
    assert "bad.index" in str(info.value)


def test_every_truncation_is_corrupt(demo_run, tmp_path):
    raw = (demo_run / "model.ckpt-10.index").read_bytes()
    for length in range(len(raw)):
        with pytest.raises(CorruptArtifactError):
            parse_bundle_index(raw[:length], tmp_path / "model.ckpt.index")


def test_every_bit_flip_is_caught_or_harmless(demo_run, tmp_path):
    raw = (demo_run / "model.ckpt-10.index").read_bytes()
    reference = parse_bundle_index(raw, tmp_path / "m.index").entries
    for position in range(len(raw)):
        flipped = bytearray(raw)
        flipped[position] ^= 0x20
        try:
            entries = parse_bundle_index(bytes(flipped), tmp_path / "m.index").entries
        except CorruptArtifactError as exc:
            assert "m.index" in str(exc)
        else:  # only the footer's padding is unchecked
            assert entries == reference


def test_snappy_block_is_refused(demo_run, tmp_path):
    raw = bytearray((demo_run / "model.ckpt-10.index").read_bytes())
    footer = raw[-48:]
    (index_offset, index_size), _ = _table._block_handle(
        bytes(footer), _table._block_handle(bytes(footer), 0, "x")[1], "x"
    )
    # rewrite the index block's compression byte and its checksum
    raw[index_offset + index_size] = _table.SNAPPY_COMPRESSION
    crc = masked_crc32c(bytes(raw[index_offset : index_offset + index_size + 1]))
    raw[index_offset + index_size + 1 : index_offset + index_size + 5] = struct.pack("<I", crc)
    with pytest.raises(CorruptArtifactError, match="snappy"):
        parse_bundle_index(bytes(raw), tmp_path / "s.index")


def test_impossible_shapes_are_refused(tmp_path):
    from tfexplore._tf import dtype_name, protos

    proto = protos().tensor_bundle_pb2.BundleEntryProto(dtype=1)
    for size in (2**40, 2**40):
        proto.shape.dim.add(size=size)
    with pytest.raises(CorruptArtifactError, match="too large"):
        _bundle._entry_from_proto("huge", proto, tmp_path / "h.index", dtype_name)
    entry = _bundle.BundleEntry("w", "float32", 1, (1000, 1000), 0, 0, 16, 0)
    with pytest.raises(CorruptArtifactError, match="1000000"):
        check_entry_bytes(entry, tmp_path / "w.data", 10**9, tmp_path / "h.index")
    with pytest.raises(CorruptArtifactError, match="w.data"):
        check_entry_bytes(entry, tmp_path / "w.data", 8, tmp_path / "h.index")


def _random_entry(rng, proto_cls):
    """A BundleEntryProto with any field set or not, numbers of every size and sign, slices,
    named dims and unknown_rank now and then."""

    def number(bits=64):
        choice = rng.random()
        if choice < 0.3:
            return rng.randrange(128)
        if choice < 0.6:
            return rng.randrange(1 << rng.randrange(1, bits - 1))
        if choice < 0.8:
            return 0
        return rng.randrange(-(1 << (bits - 1)), 1 << (bits - 1))

    proto = proto_cls()
    if rng.random() < 0.8:
        proto.dtype = rng.choice([0, 1, 2, 3, 7, 9, 14, 19, 20, 21, 101, 200, number(32)])
    if rng.random() < 0.8:
        for _ in range(rng.randrange(5)):
            dim = proto.shape.dim.add(size=number())
            if rng.random() < 0.05:
                dim.name = "batch"
        if rng.random() < 0.05:
            proto.shape.unknown_rank = True
    if rng.random() < 0.5:
        proto.shard_id = number(32)
    if rng.random() < 0.8:
        proto.offset = number()
    if rng.random() < 0.8:
        proto.size = number()
    if rng.random() < 0.8:
        proto.crc32c = rng.randrange(1 << 32)
    if rng.random() < 0.3:
        for _ in range(rng.randrange(4)):
            piece = proto.slices.add()
            for _ in range(rng.randrange(4)):
                extent = piece.extent.add()
                if rng.random() < 0.7:
                    extent.start = number()
                if rng.random() < 0.6:
                    extent.length = number()
    return proto


def _mutate(rng, value: bytes, others: list[bytes]) -> bytes:
    data = bytearray(value)
    for _ in range(rng.randint(1, 3)):
        choice = rng.random()
        if choice < 0.4 and data:
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif choice < 0.6 and data:
            del data[rng.randrange(len(data)) :]
        elif choice < 0.8:
            at = rng.randrange(len(data) + 1)
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
        else:
            data += rng.choice(others)  # protobuf merges a second message into the first
    return bytes(data)


def test_fast_decoder_agrees_with_protobuf():
    """The hand-written BundleEntryProto decoder gives protobuf's fields for every message it
    takes (dtype, shape, shard, offset, size, crc32c, slices), and hands protobuf everything
    else: it never accepts a message protobuf refuses."""
    import random

    from google.protobuf.message import DecodeError

    from tfexplore._tf import protos

    proto_cls = protos().tensor_bundle_pb2.BundleEntryProto
    rng = random.Random(11)
    values = [_random_entry(rng, proto_cls).SerializeToString() for _ in range(3000)]
    taken = with_slices = 0
    for value in values + [_mutate(rng, rng.choice(values), values) for _ in range(6000)]:
        fields = _entry_proto._decode_entry(value)
        general = _entry_proto._decode_fields(value)  # the path for fields in any order
        proto = proto_cls()
        try:
            proto.ParseFromString(value)
        except DecodeError:
            assert fields is None and general is None, value
            continue
        expected = _bundle._fields_from_proto(proto)
        assert general is None or general == expected, value
        if fields is not None:
            assert fields == expected, value
            taken += 1
            with_slices += bool(fields[6])
    assert taken > 1500 and with_slices > 150, (taken, with_slices)  # slices included


def test_real_indexes_take_the_fast_path_and_agree(
    demo_run, partitioned_checkpoint, sharded_checkpoint, monkeypatch, tmp_path
):
    """Every entry TensorFlow writes is read without protobuf objects, and the index parsed so
    is the index parsed with protobuf alone."""
    for prefix in (demo_run / "model.ckpt-30", partitioned_checkpoint, sharded_checkpoint):
        raw = Path(f"{prefix}.index").read_bytes()
        for key, value in _table.iter_table(raw, prefix):
            if key:
                assert _entry_proto._decode_entry(value) is not None, key
        fast = parse_bundle_index(raw, tmp_path / "m.index")
        with monkeypatch.context() as patch:
            patch.setattr(_bundle, "_decode_entry", lambda value: None)
            patch.setattr(_bundle, "_FAST_BLOCKS", False)
            slow = parse_bundle_index(raw, tmp_path / "m.index")
        assert fast == slow
        assert list(fast.entries) == list(slow.entries)


def _sstable(pairs) -> bytes:
    """An SSTable holding ``pairs`` (sorted keys) with correct block checksums."""
    return write_table(pairs, sort=False)


def _parse_both(raw: bytes, path, monkeypatch):
    """``parse_bundle_index`` with the fused block loop and entry by entry: (index or error
    text) of each."""
    results = []
    for fast in (True, False):
        with monkeypatch.context() as patch:
            patch.setattr(_bundle, "_FAST_BLOCKS", fast)
            try:
                index = parse_bundle_index(raw, path)
                results.append((index, list(index.entries), list(index.slice_entries)))
            except CorruptArtifactError as exc:
                results.append(str(exc))
    return results


def test_fused_block_loop_agrees_with_entry_by_entry(monkeypatch, tmp_path):
    """The block loop's fast path (numbers decoded for all entries at once) gives the index, or
    the error, that decoding entry by entry gives, on tables of TensorFlow-like, random and
    damaged entries (the fast path takes only the known heads, learnt from entries checked the
    general way: each table is parsed twice)."""
    import random

    from tfexplore._tf import protos

    bundle_pb2 = protos().tensor_bundle_pb2
    header = bundle_pb2.BundleHeaderProto(num_shards=3).SerializeToString()
    rng = random.Random(5)

    def tf_like() -> bytes:
        proto = bundle_pb2.BundleEntryProto(dtype=rng.choice([1, 1, 1, 3, 9, 10]))
        for _ in range(rng.randrange(3)):
            proto.shape.dim.add(size=rng.choice([1, 3, 768, 3072, 30522, 2**40]))
        proto.shard_id = rng.choice([0, 0, 0, 1, 2, 5])
        proto.offset = rng.choice([0, rng.randrange(1 << 35), rng.randrange(1 << 62)])
        proto.size = rng.choice([0, 4, rng.randrange(1 << 30)])
        proto.crc32c = rng.randrange(1 << 32)
        return proto.SerializeToString()

    values = [tf_like() for _ in range(400)]
    values += [
        _random_entry(rng, bundle_pb2.BundleEntryProto).SerializeToString() for _ in range(400)
    ]
    fast_taken = agreed = 0
    for case in range(1500):
        count = rng.randrange(1, 8)
        pool = values[:400] if case % 2 else values
        chosen = [rng.choice(pool) for _ in range(count)]
        if case % 3 == 0:
            at = rng.randrange(count)
            chosen[at] = _mutate(rng, chosen[at], values)
        names = sorted(
            {
                f"v{rng.randrange(1000)}/{rng.choice(['w', 'b', 'Adam', 'é'])}".encode()
                for _ in range(count)
            }
        )
        if case % 17 == 0:
            names[0] = b"\xff\xfebad"
        pairs = [(b"", header)] + sorted(zip(names, chosen))
        raw = _sstable(pairs)
        for _ in range(2):
            first, second = _parse_both(raw, tmp_path / "t.index", monkeypatch)
            assert first == second, (case, pairs)
        agreed += not isinstance(first, str)
        fast_taken += sum(
            1
            for _, value in pairs[1:]
            if len(value) > 4 and value[: 4 + value[3]] in _bundle._FAST_HEADS
        )
    assert agreed > 300 and fast_taken > 2000, (agreed, fast_taken)
