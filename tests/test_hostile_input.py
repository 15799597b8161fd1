"""Hostile input (issue 11, points 5-13): files crafted to exhaust memory, hang, inject script
or lose a checkpoint. Each attack is built the way an attacker would (a real artifact written by
TensorFlow, then edited), run in a child process with a memory cap and a timeout
(``tests/hostile.py``), and must end in a ``TFExploreError`` in bounded time and memory with
nothing outside the artifact changed."""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
from fuzz.sstable import read_entries, write_table
from hostile import attack, fingerprint, refused

import tfexplore
from tfexplore._bundle import masked_crc32c, read_bundle_index


# -- 5. string length bomb in a TF2 checkpoint ------------------------------------------------
def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _string_payload(lengths: list[int], strings: bytes) -> tuple[bytes, int]:
    """A string tensor's bytes as TensorFlow writes them (varint lengths, masked CRC32C of the
    lengths, the strings) and the entry's checksum."""
    raw = b"".join(n.to_bytes(4 if n <= 0xFFFFFFFF else 8, "little") for n in lengths)
    checksum = struct.pack("<I", masked_crc32c(raw))
    data = b"".join(_varint(n) for n in lengths) + checksum + strings
    return data, masked_crc32c(raw + checksum + strings)


@pytest.fixture(scope="module")
def tf2_checkpoint(tmp_path_factory):
    import tensorflow as tf

    folder = tmp_path_factory.mktemp("tf2")
    checkpoint = tf.train.Checkpoint(v=tf.Variable([[1.0, 2.0]]), s=tf.Variable(["ab", "cde"]))
    return Path(checkpoint.write(str(folder / "ckpt")))


def _length_bomb(source: Path, folder: Path, declared: int, *, fix_index: bool) -> Path:
    """A copy of the TF2 checkpoint ``source`` in ``folder`` whose object-graph string declares
    ``declared`` bytes. With ``fix_index`` the index entry's size and CRC32C (and the table's
    block checksums) are rewritten to match the edited bytes, so that only a check of the
    length against the bytes present can catch it."""
    from tfexplore._tf import protos

    for file in source.parent.glob(source.name + ".*"):
        shutil.copy(file, folder / file.name)
    prefix = folder / source.name
    index = read_bundle_index(f"{prefix}.index")
    entry = index.entries["_CHECKPOINTABLE_OBJECT_GRAPH"]
    shard = index.shard_file(entry.shard)
    data = bytearray(shard.read_bytes())
    old = bytes(data[entry.offset : entry.offset + entry.size])
    position = next(i for i, byte in enumerate(old) if not byte & 0x80) + 1  # one length
    payload, crc = _string_payload([declared], old[position + 4 :])
    data[entry.offset : entry.offset + entry.size] = payload
    shard.write_bytes(bytes(data))
    if fix_index:
        rows = []
        shift = len(payload) - entry.size
        for key, value in read_entries(Path(f"{prefix}.index").read_bytes()):
            if key:
                proto = protos().tensor_bundle_pb2.BundleEntryProto.FromString(value)
                if key == b"_CHECKPOINTABLE_OBJECT_GRAPH":
                    proto.size, proto.crc32c = len(payload), crc
                elif proto.offset > entry.offset:
                    proto.offset += shift
                value = proto.SerializeToString()
            rows.append((key, value))
        Path(f"{prefix}.index").write_bytes(write_table(rows))
    return prefix


_READ_OBJECT_GRAPH = """
checkpoint = tfexplore.open(path)
checkpoint.variables
checkpoint.object_graph
if checkpoint.notes:
    raise RuntimeError("not refused: " + " | ".join(checkpoint.notes))
return "read"
"""

_READ_STRING_KEY = """
return repr(tfexplore.open(path).read("_CHECKPOINTABLE_OBJECT_GRAPH"))[:80]
"""

_SESSION_RESTORE = """
import tensorflow as tf
class Holder(tf.Module):
    pass
holder = tfexplore.session(tf.train.Checkpoint(v=tf.Variable([[0.0, 0.0]]), s=tf.Variable(["", ""])))
holder.restore(path)
return "restored"
"""


@pytest.mark.slow
@pytest.mark.parametrize("declared", [6 << 30, 1 << 62])
@pytest.mark.parametrize("fix_index", [True, False], ids=["index-fixed", "crc-left-wrong"])
def test_string_length_bomb_in_object_graph_is_refused(tf2_checkpoint, tmp_path, declared,
                                                       fix_index):
    prefix = _length_bomb(tf2_checkpoint, tmp_path, declared, fix_index=fix_index)
    before = fingerprint(tmp_path)
    outcome = attack(_READ_STRING_KEY, prefix)
    assert not refused(outcome), refused(outcome)
    if fix_index:  # only the length check can have caught it
        assert "declares a string of" in outcome["message"], outcome
    # the notes of .object_graph say why it is missing; nothing is allocated from the length
    noted = attack(_READ_OBJECT_GRAPH, prefix)
    assert noted["outcome"] == "error" and "not refused" in noted["message"], noted
    assert noted["rss_growth_mb"] < 600
    session = attack(_SESSION_RESTORE, prefix)
    assert not refused(session, seconds=120), refused(session)
    assert fingerprint(tmp_path) == before


def test_string_tensors_read_in_python_match_tensorflow(tf2_checkpoint):
    import tensorflow as tf

    checkpoint = tfexplore.open(tf2_checkpoint)
    reader = tf.train.load_checkpoint(str(tf2_checkpoint))
    for key in ("s/.ATTRIBUTES/VARIABLE_VALUE", "_CHECKPOINTABLE_OBJECT_GRAPH"):
        ours = checkpoint.read(key)
        theirs = reader.get_tensor(key)
        assert ours.dtype == object
        assert np.array_equal(ours, np.asarray(theirs, dtype=object))


# -- 6. constant broadcast bomb in a frozen .pb ----------------------------------------------
def _broadcast_pb(folder: Path, shape: list[int], value: float = 3.0) -> Path:
    """A frozen GraphDef whose Const ``c`` holds one value broadcast to ``shape``, written by
    TensorFlow (``tf.constant(value, shape=...)`` stores the value once); huge shapes are
    edited into the proto's dims."""
    import tensorflow as tf

    with tf.Graph().as_default() as graph:
        c = tf.constant(value, shape=[2, 2], name="c")
        tf.identity(c, name="out")
    graph_def = graph.as_graph_def()
    tensor = next(n for n in graph_def.node if n.name == "c").attr["value"].tensor
    assert len(tensor.float_val) == 1 and not tensor.tensor_content
    del tensor.tensor_shape.dim[:]
    for size in shape:
        tensor.tensor_shape.dim.add(size=size)
    path = folder / "bomb.pb"
    path.write_bytes(graph_def.SerializeToString())
    return path


_LOOK_AT_CONST = """
from tfexplore.explorer import GraphExplorer
artifact = tfexplore.open(path)
frame = artifact.variables
stats = artifact.stats(progress=False)
row = stats.set_index("name").loc["c"]
assert row["mean"] == 3.0 and row["std"] == 0.0 and row["min"] == row["max"] == 3.0, row
str(artifact.explain()); repr(artifact); artifact._repr_html_()
GraphExplorer(artifact)
artifact.read("c")
"""


@pytest.mark.slow
@pytest.mark.parametrize("shape", [[40000, 40000], [2**31, 2**31], [2**62]])
def test_const_broadcast_bomb_is_refused(tmp_path, shape):
    path = _broadcast_pb(tmp_path, shape)
    assert path.stat().st_size < 200
    before = fingerprint(tmp_path)
    outcome = attack(_LOOK_AT_CONST, path)
    assert not refused(outcome), refused(outcome)
    assert outcome["error"] == "TooLargeError", outcome
    assert "one value, 3.0, broadcast to shape" in outcome["message"]
    assert fingerprint(tmp_path) == before


def test_small_broadcast_const_still_reads(tmp_path):
    artifact = tfexplore.open(_broadcast_pb(tmp_path, [3, 4], value=2.5))
    np.testing.assert_array_equal(artifact.read("c"), np.full((3, 4), 2.5, np.float32))
    row = artifact.stats().set_index("name").loc["c"]
    assert (row["mean"], row["l2"], row["zeros"]) == (2.5, pytest.approx(2.5 * 12**0.5), 0)
