"""A session's restore reads a checkpoint through the checked reader inspection uses
(``tfexplore.artifacts.checkpoint.Checkpoint``): a damaged or hostile ``.index`` ends in the same
tfexplore error as ``tfexplore.open(prefix).variables``, naming the file, before TensorFlow's
reader (which aborts the process on an unknown dtype) or a restore op touches it."""

from __future__ import annotations

from pathlib import Path

import pytest
from fuzz.sstable import read_entries, write_table
from hostile import attack

tf = pytest.importorskip("tensorflow")
v1 = tf.compat.v1

# per damaged copy (a folder each): inspection's error, then the session's, as [type, path, message]
_LOOK_THEN_RESTORE = """
import pathlib
import tensorflow as tf
from tfexplore.errors import TFExploreError
v1 = tf.compat.v1
graph = tf.Graph()
with graph.as_default():
    v1.get_variable("W", shape=[2, 3], initializer=v1.zeros_initializer())
    v1.get_variable("b", shape=[3], initializer=v1.zeros_initializer())
live = tfexplore.session(graph)
found = {}
for folder in sorted(pathlib.Path(path).iterdir()):
    prefix = str(folder / "model.ckpt")
    found[folder.name] = []
    for action in (lambda: tfexplore.open(prefix).variables, lambda: live.restore(prefix)):
        try:
            action()
            found[folder.name].append("ok")
        except TFExploreError as exc:
            found[folder.name].append([type(exc).__name__, exc.path, exc.message])
return found
"""


def _save(folder: Path) -> Path:
    folder.mkdir()
    graph = tf.Graph()
    with graph.as_default():
        v1.get_variable("W", shape=[2, 3], initializer=v1.ones_initializer())
        v1.get_variable("b", shape=[3], initializer=v1.ones_initializer())
        with v1.Session() as sess:
            sess.run(v1.global_variables_initializer())
            return Path(v1.train.Saver().save(sess, str(folder / "model.ckpt")))


def _edit_entry(prefix: Path, key: bytes, **fields) -> None:
    from tfexplore._tf import protos

    index = Path(f"{prefix}.index")
    rows = []
    for name, value in read_entries(index.read_bytes()):
        if name == key:
            proto = protos().tensor_bundle_pb2.BundleEntryProto.FromString(value)
            for field, new in fields.items():
                setattr(proto, field, new)
            value = proto.SerializeToString()
        rows.append((name, value))
    index.write_bytes(write_table(rows))


def _truncate(prefix: Path) -> None:
    index = Path(f"{prefix}.index")
    index.write_bytes(index.read_bytes()[: index.stat().st_size // 2])


DAMAGES = {
    "truncated": _truncate,
    "unknown-dtype": lambda prefix: _edit_entry(prefix, b"W", dtype=999),  # TF's reader aborts
    "offset-past-the-end": lambda prefix: _edit_entry(prefix, b"b", offset=1 << 40),
}


def test_a_damaged_index_fails_restore_as_it_fails_inspection(tmp_path):
    for name, damage in DAMAGES.items():
        damage(_save(tmp_path / name))
    outcome = attack(_LOOK_THEN_RESTORE, tmp_path)
    assert outcome["outcome"] == "ok", outcome
    for name, (looked, restored) in outcome["value"].items():
        assert restored[0] == "CorruptArtifactError", (name, restored)
        assert str(tmp_path / name / "model.ckpt") in restored[1], (name, restored)
        if looked != "ok":  # what the index itself says is wrong, in inspection's words
            assert restored == looked, name
    assert outcome["value"]["offset-past-the-end"][0] == "ok"  # .variables reads the index only


def test_the_file_saver_restore_reports_damaged_bytes_as_a_read_does(demo_run, copy_of):
    """A bit flipped in a data shard passes the size checks; the file's own restore op finds
    the CRC32C wrong. Its error is that of reading the checkpoint (``_tf.translate_errors``):
    a ``CorruptArtifactError`` naming the prefix, as ``Checkpoint.read`` gives for the same."""
    import tfexplore
    from tfexplore.errors import CorruptArtifactError

    run = copy_of(demo_run)
    prefix = str(run / "model.ckpt-30")
    data = Path(prefix + ".data-00000-of-00001")
    with tfexplore.session(run) as live:  # restored from the intact files
        assert live._backend.file_saver is not None  # a restore runs the file's own op
        damaged = bytearray(data.read_bytes())
        damaged[len(damaged) // 2] ^= 0xFF
        data.write_bytes(bytes(damaged))
        with pytest.raises(CorruptArtifactError, match="checkpoint") as caught:
            live.restore(prefix)
    assert prefix in caught.value.path
    assert "stats()" in caught.value.hint
