"""Checkpoint: variables, roles, reading, stats, diff, explain, bad input, the corpus."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from fixtures.checkpoints import assert_agrees_with_tensorflow
from fixtures.common import fingerprint

import tfexplore
from tfexplore.artifacts.checkpoint import Checkpoint
from tfexplore.errors import (
    CorruptArtifactError,
    IncompleteCheckpointError,
    TensorNotFoundError,
    TFExploreError,
)


def tf_read(prefix, name):
    import tensorflow as tf

    return tf.train.load_checkpoint(str(prefix)).get_tensor(name)


@pytest.fixture(scope="module")
def demo(demo_run):
    return Checkpoint(demo_run / "model.ckpt-30")


# -- TF1 name-based ------------------------------------------------------------------------------
def test_demo_variables_agree_with_tensorflow(demo_run):
    for step in (10, 20, 30):
        assert_agrees_with_tensorflow(demo_run / f"model.ckpt-{step}")


def test_demo_roles_and_slots(demo):
    table = demo.variables.set_index("name")
    assert demo.format == "v2" and demo.style == "name_based" and demo.step == 30
    assert table.at["layer1/W", "role"] == "variable"
    assert table.at["layer1/W", "shape"] == (3, 16)
    assert table.at["layer1/W", "nbytes"] == 3 * 16 * 4
    assert table.at["layer1/W/Adam_1", "role"] == "slot"
    assert table.at["layer1/W/Adam_1", "slot"] == "Adam v"
    assert table.at["layer1/W/Adam", "slot"] == "Adam m"
    assert table.at["layer1/W/Adam", "slot_of"] == "layer1/W"
    assert table.at["train/beta1_power", "role"] == "optimizer_state"
    assert table.at["global_step", "role"] == "step"
    slots = demo.slots
    assert len(slots) == 8
    assert set(slots["variable"]) == {"layer1/W", "layer1/b", "layer2/W", "layer2/b"}
    assert list(slots.loc[slots["variable"] == "layer2/b", "slot"]) == ["Adam m", "Adam v"]


def test_read_equals_tensorflow(demo):
    for name in ("layer1/W", "layer2/b/Adam_1", "global_step"):
        np.testing.assert_array_equal(demo.read(name), tf_read(demo.prefix, name))
    assert demo.read("global_step") == 30


def test_unknown_name_suggests(demo):
    with pytest.raises(TensorNotFoundError) as info:
        demo.read("layer1/w")
    assert "layer1/W" in info.value.suggestions
    assert "model.ckpt-30" in str(info.value)


def test_stats_equal_numpy(demo):
    stats = demo.stats(["layer1/W", "layer1/b/Adam_1"]).set_index("name")
    for name in ("layer1/W", "layer1/b/Adam_1"):
        array = tf_read(demo.prefix, name).astype(np.float64)
        assert stats.at[name, "min"] == pytest.approx(array.min())
        assert stats.at[name, "max"] == pytest.approx(array.max())
        assert stats.at[name, "mean"] == pytest.approx(array.mean())
        assert stats.at[name, "std"] == pytest.approx(array.std(), rel=1e-6)
        assert stats.at[name, "l2"] == pytest.approx(np.linalg.norm(array))
    everything = demo.stats()
    assert len(everything) == len(demo.variables)


def test_diff_between_steps(demo_run, demo):
    old = Checkpoint(demo_run / "model.ckpt-10")
    diff = old.diff(demo).set_index("name")
    assert set(diff["status"]) == {"changed"}
    a = tf_read(old.prefix, "layer1/W").astype(np.float64)
    b = tf_read(demo.prefix, "layer1/W").astype(np.float64)
    assert diff.at["layer1/W", "max_abs_change"] == pytest.approx(np.abs(b - a).max())
    expected = np.linalg.norm(b - a) / np.linalg.norm(a)
    assert diff.at["layer1/W", "rel_l2_change"] == pytest.approx(expected)
    same = demo.diff(str(demo.prefix))
    assert set(same["status"]) == {"unchanged"}


def test_diff_added_removed_and_shape(demo, partitioned_checkpoint):
    diff = demo.diff(partitioned_checkpoint).set_index("name")
    assert diff.at["layer1/W", "status"] == "removed"
    assert diff.at["emb", "status"] == "added"
    assert diff.at["global_step", "status"] == "changed"
    assert diff.at["global_step", "max_abs_change"] == 28


def test_explain_and_summary(demo):
    text = demo.explain()
    for phrase in (
        ".index",
        ".data-00000-of-00001",
        ".meta",
        "name-based",
        "optimizer",
        "`checkpoint` file",
    ):
        assert phrase in text
    facts = demo.summary()
    assert facts["variables"] == 4 and facts["slots"] == 8 and facts["step"] == 30
    assert "model.ckpt-30" in repr(demo) and "<table>" in demo._repr_html_()


def test_files_and_meta(demo, corpus):
    files = demo.files
    assert list(files["role"].str.split().str[0]) == ["index", "data", "meta"]
    assert files["exists"].all()
    assert Checkpoint(corpus / "tf1_nometa_regression" / "regression.ckpt").meta_graph is None


def test_meta_graph_is_parsed(demo):
    pytest.importorskip("tfexplore.artifacts.metagraph")
    assert demo.meta_graph is not None


# -- partitions, shards, dtypes -------------------------------------------------------------------
def test_partitioned_variable(partitioned_checkpoint):
    checkpoint = Checkpoint(partitioned_checkpoint)
    table = checkpoint.variables.set_index("name")
    assert table.at["emb", "partitions"] == 3
    assert table.at["emb", "shape"] == (7, 2)
    assert table.at["emb/MyAdam_1", "slot"] == "Adam v"
    assert table.at["emb/MyAdam_1", "optimizer"] == "MyAdam"
    assert table.at["emb/MyAdam_1", "partitions"] == 3
    assert table.at["dense/W/Momentum", "slot"] == "momentum"
    assert table.at["dense/W/Momentum", "slot_of"] == "dense/W"
    value = checkpoint.read("emb")
    assert value.shape == (7, 2)
    np.testing.assert_array_equal(value, tf_read(partitioned_checkpoint, "emb"))
    assert checkpoint.step == 2
    assert "partitioned" in checkpoint.explain()


def test_sharded_checkpoint_dtypes(sharded_checkpoint):
    checkpoint = Checkpoint(sharded_checkpoint)
    table = checkpoint.variables.set_index("name")
    assert dict(table["dtype"]) == {
        "big": "int64",
        "flags": "bool",
        "half": "float16",
        "ints": "int32",
        "weights": "float32",
        "words": "string",
    }
    assert table.at["big", "shard"] != table.at["ints", "shard"]
    assert len(checkpoint.data_files) == 2
    assert list(checkpoint.read("words")) == [b"alpha", b"", b"\x00\xff"]
    np.testing.assert_array_equal(checkpoint.read("big"), [2**40, -3])
    np.testing.assert_array_equal(checkpoint.read("flags"), [True, False, True])
    half = checkpoint.read("half")
    assert half.dtype == np.float16 and half[2] == 65504.0
    stats = checkpoint.stats().set_index("name")
    assert stats.at["words", "mean"] is None or math.isnan(stats.at["words", "mean"])
    assert stats.at["flags", "zeros"] == 1
    assert stats.at["ints", "mean"] == pytest.approx(2.5)


def test_direct_reads_equal_tensorflows_and_are_writable(sharded_checkpoint):
    """Numeric tensors are read from their bytes with the index's CRC32C checked; the values,
    dtypes and shapes are TensorFlow's own, and the arrays are ordinary writable arrays."""
    checkpoint = Checkpoint(sharded_checkpoint)
    for name in ("big", "flags", "half", "ints", "weights"):
        ours, theirs = checkpoint.read(name), tf_read(sharded_checkpoint, name)
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        np.testing.assert_array_equal(ours, theirs)
        ours[...] = 0  # writable, like TensorFlow's


# -- TF2 object-based ---------------------------------------------------------------------------
def test_tf2_checkpoint(tf2_manager_run):
    checkpoint = Checkpoint(tf2_manager_run / "ckpt-3")
    assert checkpoint.style == "object_based"
    assert checkpoint.step == 30
    table = checkpoint.variables.set_index("name")
    key = "net/w/.ATTRIBUTES/VARIABLE_VALUE"
    assert table.at[key, "object_path"] == "net/w"
    assert table.at["save_counter/.ATTRIBUTES/VARIABLE_VALUE", "role"] == "save_counter"
    assert table.at["_CHECKPOINTABLE_OBJECT_GRAPH", "role"] == "object_graph"
    np.testing.assert_array_equal(checkpoint.read("net/w"), np.full((3, 2), 61.0))
    graph = checkpoint.object_graph
    assert graph.loc[graph["id"] == 0, "kind"].item() == "root"
    assert {"net/w", "net/b", "step"} <= set(graph["path"].dropna())


def test_keras3_aliases(keras3_checkpoint):
    checkpoint = Checkpoint(keras3_checkpoint)
    table = checkpoint.variables.set_index("name")
    key = "optimizer/_trainable_variables/0/.ATTRIBUTES/VARIABLE_VALUE"
    assert table.at[key, "role"] == "variable"
    assert table.at[key, "object_path"].startswith("model/")
    assert "optimizer/_trainable_variables/0" in table.at[key, "aliases"]
    np.testing.assert_array_equal(
        checkpoint.read(table.at[key, "object_path"]), tf_read(keras3_checkpoint, key)
    )
    slots = checkpoint.slots
    assert len(slots) == 8
    assert set(slots.loc[slots["variable"] == key, "slot"]) == {"Adam m", "Adam v"}
    iterations = "optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"
    assert table.at[iterations, "role"] == "optimizer_state"
    assert "object-based" in checkpoint.explain()


# -- the corpus -----------------------------------------------------------------------------------
def _corpus_checkpoints(corpus):
    with open(corpus / "MANIFEST.tsv", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [
        row
        for row in rows
        if "checkpoint" in row["kind"].lower() and "savedmodel" not in row["kind"].lower()
    ]


@pytest.mark.corpus
def test_corpus_checkpoints_open(corpus):
    import tensorflow as tf

    rows = _corpus_checkpoints(corpus)
    assert len(rows) >= 7
    for row in rows:
        artifact = tfexplore.open(corpus / row["open_path"])
        checkpoint = artifact.latest if artifact.kind == "checkpoint_dir" else artifact
        table = checkpoint.variables
        # the manifest counts variables, not the object graph tensor
        assert (table["role"] != "object_graph").sum() == int(row["n_vars"]), row["name"]
        names = {name for name, _ in tf.train.list_variables(str(checkpoint.prefix))}
        assert set(table["name"]) == names, row["name"]
        assert checkpoint.summary()["tensors"] == len(table)
        assert checkpoint.explain()


@pytest.mark.corpus
def test_corpus_v1_checkpoint_values(corpus):
    checkpoint = Checkpoint(corpus / "nxt_v1ckpt" / "model.ckpt")
    assert checkpoint.format == "v1"
    assert checkpoint.variables.set_index("name").at["mweight/Adam_1", "slot"] == "Adam v"
    np.testing.assert_array_equal(checkpoint.read("mweight"), tf_read(checkpoint.prefix, "mweight"))
    assert [p.name for p in checkpoint.data_files] == ["model.ckpt"]


@pytest.mark.corpus
def test_corpus_index_without_data(corpus):
    checkpoint = Checkpoint(corpus / "tf1_objdet_meta_nodata" / "model.ckpt")
    assert len(checkpoint.variables) == 345
    assert not checkpoint.files.set_index("role")["exists"].iloc[1]
    with pytest.raises(IncompleteCheckpointError) as info:
        checkpoint.read(checkpoint.variables["name"].iloc[0])
    assert "model.ckpt.data-00000-of-00001" in str(info.value)
    assert checkpoint.notes and "missing" in checkpoint.notes[0]


@pytest.mark.corpus
def test_corpus_tf2_object_graph(corpus):
    checkpoint = Checkpoint(corpus / "tf2_objckpt_vqvae" / "ckpt-1")
    table = checkpoint.variables.set_index("name")
    key = "vq_vae/embeddings/.ATTRIBUTES/VARIABLE_VALUE"
    assert table.at[key, "full_name"] == "vector_quantizer/embeddings"
    assert checkpoint.read("vq_vae/embeddings").shape == (64, 512)
    assert checkpoint.read("vector_quantizer/embeddings").shape == (64, 512)


# -- bad input ----------------------------------------------------------------------------------
def _demo_copy(demo_run, copy_of):
    return copy_of(demo_run)


def test_missing_data_shard(demo_run, copy_of):
    folder = _demo_copy(demo_run, copy_of)
    data = folder / "model.ckpt-30.data-00000-of-00001"
    data.unlink()
    checkpoint = Checkpoint(folder / "model.ckpt-30")
    assert len(checkpoint.variables) == 15
    assert checkpoint.step == 30  # from the name, since the value cannot be read
    with pytest.raises(IncompleteCheckpointError) as info:
        checkpoint.read("layer1/W")
    assert data.name in str(info.value)
    assert not checkpoint.files["exists"].iloc[1]


def test_truncated_data_shard(demo_run, copy_of):
    folder = _demo_copy(demo_run, copy_of)
    data = folder / "model.ckpt-30.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:100])
    checkpoint = Checkpoint(folder / "model.ckpt-30")
    with pytest.raises(CorruptArtifactError) as info:
        checkpoint.read("train/beta2_power")
    assert data.name in str(info.value)


def test_bit_flipped_data_shard(demo_run, copy_of):
    folder = _demo_copy(demo_run, copy_of)
    data = folder / "model.ckpt-30.data-00000-of-00001"
    raw = bytearray(data.read_bytes())
    raw[20] ^= 0x10  # inside layer1/W (offset 8, 192 bytes)
    data.write_bytes(bytes(raw))
    checkpoint = Checkpoint(folder / "model.ckpt-30")
    with pytest.raises(CorruptArtifactError) as info:
        checkpoint.read("layer1/W")
    assert data.name in str(info.value)
    np.testing.assert_array_equal(
        checkpoint.read("layer2/b"), tf_read(demo_run / "model.ckpt-30", "layer2/b")
    )


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty", "text"])
def test_damaged_index(demo_run, copy_of, damage):
    folder = _demo_copy(demo_run, copy_of)
    index = folder / "model.ckpt-30.index"
    raw = bytearray(index.read_bytes())
    if damage == "truncate":
        raw = raw[: len(raw) // 2]
    elif damage == "flip":
        raw[30] ^= 0x04
    elif damage == "empty":
        raw = bytearray()
    else:
        raw = bytearray(b"model_checkpoint_path: 'x'\n" * 3)
    index.write_bytes(bytes(raw))
    with pytest.raises(CorruptArtifactError) as info:
        Checkpoint(folder / "model.ckpt-30").variables  # noqa: B018
    assert index.name in str(info.value)


def test_every_bit_flip_of_an_index_is_caught_or_harmless(corpus, tmp_path):
    original = (corpus / "udacity_chap3_two_ckpts" / "model.ckpt.index").read_bytes()
    for position in range(len(original)):
        raw = bytearray(original)
        raw[position] ^= 0x01
        target = tmp_path / "model.ckpt.index"
        target.write_bytes(bytes(raw))
        try:
            Checkpoint(tmp_path / "model.ckpt").variables  # noqa: B018
        except TFExploreError as exc:
            assert "model.ckpt.index" in str(exc)


def test_missing_prefix_is_reported():
    with pytest.raises(tfexplore.ArtifactNotFoundError):
        Checkpoint("/no/such/model.ckpt-1")


# -- read-only ----------------------------------------------------------------------------------
def test_inspection_writes_nothing(demo_run, sharded_checkpoint):
    before = fingerprint(demo_run), fingerprint(sharded_checkpoint.parent)
    checkpoint = Checkpoint(demo_run / "model.ckpt-20")
    checkpoint.variables  # noqa: B018
    checkpoint.stats()
    checkpoint.diff(demo_run / "model.ckpt-30")
    checkpoint.explain()
    Checkpoint(sharded_checkpoint).stats()
    assert (fingerprint(demo_run), fingerprint(sharded_checkpoint.parent)) == before


@pytest.mark.corpus
def test_corpus_step_variable_differs_from_prefix(corpus):
    checkpoint = Checkpoint(corpus / "ppo_ckpt10000_nostate" / "model.ckpt-10000")
    assert checkpoint.step == int(tf_read(checkpoint.prefix, "global_step")) == 1223680
    assert any("10000" in note for note in checkpoint.notes)
    assert checkpoint.object_graph is None
