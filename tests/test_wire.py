"""``tfexplore._wire``: TensorFlow's checkpoint protos and dtype names, without TensorFlow,
checked against TensorFlow itself.

- every descriptor equals the one TensorFlow's ``*_pb2`` modules register (field names, numbers,
  types, labels, oneofs, nested messages and enums), once the private package is renamed;
- every ``DataType`` value gets the name ``tf.dtypes.as_dtype(value).name`` gives;
- real checkpoints written by TensorFlow (a TF1 ``Saver`` run, a TF2 ``tf.train.Checkpoint`` of
  a Keras model, its optimizer and a TF1 optimizer's slot variables) parse the same with
  ``_wire``'s messages as with TensorFlow's, entry by entry, and list the same tables;
- in a fresh process, listing, reading, statistics, history and diffs of those folders never
  import TensorFlow.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, text_format

from tfexplore import _wire
from tfexplore.artifacts.checkpoint import Checkpoint, CheckpointDir
from tfexplore.artifacts.checkpoint import bundle as bundle_module
from tfexplore.artifacts.checkpoint.naming import OBJECT_GRAPH_KEY, ObjectGraph
from tfexplore.artifacts.checkpoint.sstable import _data_blocks, _iter_block
from tfexplore.artifacts.checkpoint.state import STATE_FILE, StateFileError, read_state
from tfexplore.errors import CorruptArtifactError

REPO = Path(__file__).resolve().parents[1]


def _tf():
    from tfexplore._tf import tf

    return tf()


def _tf_pb2():
    """TensorFlow's generated modules of the protos ``_wire`` copies, by file name."""
    _tf()
    from tensorflow.core.framework import (
        tensor_shape_pb2,
        tensor_slice_pb2,
        types_pb2,
        versions_pb2,
    )
    from tensorflow.core.protobuf import tensor_bundle_pb2, trackable_object_graph_pb2
    from tensorflow.python.training import checkpoint_state_pb2

    modules = [
        types_pb2,
        tensor_shape_pb2,
        tensor_slice_pb2,
        versions_pb2,
        tensor_bundle_pb2,
        trackable_object_graph_pb2,
        checkpoint_state_pb2,
    ]
    return {module.DESCRIPTOR.name: module for module in modules}


# -- descriptors -----------------------------------------------------------------------------
def _as_tensorflow_names_it(proto: descriptor_pb2.FileDescriptorProto) -> str:
    """``proto`` (one of ``_wire.FILES``) with the private package renamed ``tensorflow``, as
    text."""
    renamed = descriptor_pb2.FileDescriptorProto()
    renamed.CopyFrom(proto)
    renamed.package = "tensorflow"

    def rename(messages) -> None:
        for message in messages:
            for field in message.field:
                if field.HasField("type_name"):
                    field.type_name = field.type_name.replace(f".{_wire.PACKAGE}.", ".tensorflow.")
            rename(message.nested_type)

    rename(renamed.message_type)
    return text_format.MessageToString(renamed)


def _tensorflows(file_name: str) -> str:
    """TensorFlow's registered descriptor of ``file_name``, without its file options
    (``java_package``, ``go_package``, ``cc_enable_arenas``: nothing a parser reads), as text."""
    proto = descriptor_pb2.FileDescriptorProto()
    _tf_pb2()[file_name].DESCRIPTOR.CopyToProto(proto)
    proto.ClearField("options")
    return text_format.MessageToString(proto)


def test_wire_has_a_copy_of_each_tensorflow_file():
    assert sorted(proto.name for proto in _wire.FILES) == sorted(_tf_pb2())


@pytest.mark.parametrize("proto", _wire.FILES, ids=lambda proto: proto.name.rpartition("/")[2])
def test_each_descriptor_is_tensorflows(proto):
    """Field names, numbers, types, labels, type names, oneofs, nested messages, enums (every
    ``DataType`` value), reserved ranges, syntax: all as TensorFlow registers them."""
    assert _as_tensorflow_names_it(proto) == _tensorflows(proto.name)


@pytest.mark.parametrize("proto", _wire.FILES, ids=lambda proto: proto.name.rpartition("/")[2])
def test_the_pool_holds_the_files_as_written(proto):
    built = descriptor_pb2.FileDescriptorProto()
    _wire.POOL.FindFileByName(proto.name).CopyToProto(built)
    assert text_format.MessageToString(built) == text_format.MessageToString(proto)


def test_each_message_class_is_the_one_of_its_tensorflow_name():
    pb2 = {name.rpartition("/")[2]: module for name, module in _tf_pb2().items()}
    expected = {
        "BundleHeaderProto": pb2["tensor_bundle.proto"].BundleHeaderProto,
        "BundleEntryProto": pb2["tensor_bundle.proto"].BundleEntryProto,
        "TensorShapeProto": pb2["tensor_shape.proto"].TensorShapeProto,
        "TensorSliceProto": pb2["tensor_slice.proto"].TensorSliceProto,
        "VersionDef": pb2["versions.proto"].VersionDef,
        "SerializedDType": pb2["types.proto"].SerializedDType,
        "TrackableObjectGraph": pb2["trackable_object_graph.proto"].TrackableObjectGraph,
        "RegisteredSaver": pb2["trackable_object_graph.proto"].RegisteredSaver,
        "CheckpointState": pb2["checkpoint_state.proto"].CheckpointState,
    }
    for name, theirs in expected.items():
        ours = getattr(_wire, name)
        assert ours.DESCRIPTOR.full_name == f"{_wire.PACKAGE}.{name}"
        assert _wire.tf_name(ours.DESCRIPTOR) == theirs.DESCRIPTOR.full_name
        assert ours is not theirs


def test_the_messages_stay_out_of_the_default_pool():
    """TensorFlow registers ``tensorflow.BundleEntryProto`` in the default pool; ours are in a
    pool of their own, under another name, and both kinds live side by side."""
    pb2 = _tf_pb2()["tensorflow/core/protobuf/tensor_bundle.proto"]
    with pytest.raises(KeyError):
        descriptor_pool.Default().FindMessageTypeByName(f"{_wire.PACKAGE}.BundleEntryProto")
    assert descriptor_pool.Default().FindMessageTypeByName("tensorflow.BundleEntryProto") is (
        pb2.BundleEntryProto.DESCRIPTOR
    )
    theirs = pb2.BundleEntryProto(dtype=19, shard_id=2, offset=8, size=6, crc32c=7)
    theirs.shape.dim.add(size=3)
    theirs.slices.add().extent.add(start=1)
    ours = _wire.BundleEntryProto.FromString(theirs.SerializeToString())
    assert ours.SerializeToString() == theirs.SerializeToString()
    assert not ours.slices[0].extent[0].HasField("length")


def test_unknown_fields_parse_and_are_kept():
    """A newer TensorFlow's extra fields (here 15 on the graph, 9 on a node, 6 on a child)
    parse as TensorFlow's own classes parse them."""
    pb2 = _tf_pb2()["tensorflow/core/protobuf/trackable_object_graph.proto"]
    theirs = pb2.TrackableObjectGraph()
    node = theirs.nodes.add()
    node.children.add(node_id=1, local_name="model")
    node.attributes.add(name="VARIABLE_VALUE", full_name="w", checkpoint_key="w/.ATTRIBUTES")
    node.slot_variables.add(original_variable_node_id=1, slot_name="m", slot_variable_node_id=2)
    node.registered_saver.name = "saver"
    node.has_checkpoint_values.value = True
    theirs.nodes.add()
    data = theirs.SerializeToString() + b"\x78\x05" + b"\x0a\x04\x4a\x02\x32\x00"
    ours = _wire.parse_proto(_wire.TrackableObjectGraph, data, "x.index", "object graph")
    again = pb2.TrackableObjectGraph.FromString(data)
    assert ours.SerializeToString() == again.SerializeToString()
    assert json_format.MessageToDict(ours) == json_format.MessageToDict(again)
    assert ObjectGraph(ours).slots() == ObjectGraph(again).slots()


# -- dtypes ----------------------------------------------------------------------------------
def test_dtype_names_are_tensorflows():
    tf = _tf()
    from tensorflow.core.framework import types_pb2

    values = types_pb2.DataType.values()
    assert _wire.DATA_TYPES == set(values)
    for value in [*values, 34, 99, 100, 134, 200, 1000, -1]:
        try:
            expected = tf.dtypes.as_dtype(value).name
        except TypeError:
            expected = f"dtype({value})"
        assert _wire.dtype_name(value) == expected, types_pb2.DataType.Name(value)
    assert set(_wire.DTYPE_NAMES) == set(values) - {types_pb2.DT_INVALID}


# -- parse errors ----------------------------------------------------------------------------
def test_a_damaged_message_names_tensorflows_type(tmp_path):
    for message_cls, expected in [
        (_wire.BundleEntryProto, "tensorflow.BundleEntryProto"),
        (_tf_pb2()["tensorflow/core/protobuf/tensor_bundle.proto"].BundleEntryProto, None),
    ]:
        with pytest.raises(CorruptArtifactError) as caught:
            _wire.parse_proto(message_cls, b"\x0a\xff", tmp_path / "m.index", "bundle entry")
        expected = expected or message_cls.DESCRIPTOR.full_name
        assert caught.value.expected == f"a binary {expected} protocol buffer"
        assert "(its bytes are damaged or truncated)" in caught.value.message


def test_damage_parses_or_fails_as_with_tensorflows_classes():
    """Bytes of real entries, bit-flipped and cut: each parses to the same message with both
    classes, or fails with both."""
    pb2 = _tf_pb2()["tensorflow/core/protobuf/tensor_bundle.proto"]
    entry = pb2.BundleEntryProto(dtype=1, shard_id=1, offset=300, size=24, crc32c=0xDEADBEEF)
    entry.shape.dim.add(size=2)
    entry.shape.dim.add(size=3)
    entry.slices.add().extent.add(start=1, length=2)
    header = pb2.BundleHeaderProto(num_shards=2, endianness=1)
    header.version.producer = 1
    rng = random.Random(0)
    for theirs_cls, message in [(pb2.BundleEntryProto, entry), (pb2.BundleHeaderProto, header)]:
        ours_cls = getattr(_wire, theirs_cls.DESCRIPTOR.name)
        data = message.SerializeToString()
        for _ in range(400):
            damaged = bytearray(data)
            for _ in range(rng.randint(1, 3)):
                damaged[rng.randrange(len(damaged))] = rng.randrange(256)
            damaged = bytes(
                damaged[: rng.randint(0, len(damaged))] if rng.random() < 0.3 else damaged
            )
            outcomes = []
            for message_cls in (theirs_cls, ours_cls):
                try:
                    outcomes.append(message_cls.FromString(damaged).SerializeToString())
                except Exception as exc:  # noqa: BLE001 - whatever it is, both must agree
                    outcomes.append(type(exc).__name__)
            assert outcomes[0] == outcomes[1], damaged


# -- real checkpoints ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tf1_run(tmp_path_factory) -> Path:
    """A TF1 ``Saver`` folder (steps 1 and 2): ``layer/W``, ``layer/b``, Adam slots,
    ``global_step`` and untrained variables of other dtypes (string, float16, bool, float64,
    int32)."""
    tf = _tf()
    v1 = tf.compat.v1
    folder = tmp_path_factory.mktemp("wire") / "tf1"
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(0)
        x = tf.constant(np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3))
        with v1.variable_scope("layer"):
            w = v1.get_variable("W", [3, 2])
            b = v1.get_variable("b", [2], initializer=v1.zeros_initializer())
        for name, value in [
            ("words", tf.constant([b"alpha", b"", b"\x00\xff"])),
            ("half", np.array([0.5, -2.0], np.float16)),
            ("flags", np.array([True, False])),
            ("wide", np.arange(3, dtype=np.float64)),
            ("ints", np.arange(4, dtype=np.int32)),
        ]:
            v1.get_variable(name, initializer=value, trainable=False)
        step = v1.train.get_or_create_global_step()
        loss = tf.reduce_sum((tf.matmul(x, w) + b) ** 2)
        train = v1.train.AdamOptimizer(0.1).minimize(loss, global_step=step)
        saver = v1.train.Saver(max_to_keep=5)
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            for _ in range(2):
                session.run(train)
                saver.save(session, str(folder / "model.ckpt"), global_step=step)
    return folder


@pytest.fixture(scope="module")
def tf1_partitioned(tmp_path_factory) -> Path:
    """A TF1 prefix with ``emb`` in 3 partitions (slice entries in the index), with Momentum."""
    tf = _tf()
    v1 = tf.compat.v1
    folder = tmp_path_factory.mktemp("wire_partitioned")
    graph = tf.Graph()
    with graph.as_default():
        emb = v1.get_variable("emb", [7, 2], partitioner=v1.fixed_size_partitioner(3))
        loss = tf.reduce_sum(tf.concat(list(emb), 0) ** 2)
        train = v1.train.MomentumOptimizer(0.01, 0.9).minimize(loss)
        saver = v1.train.Saver()
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            session.run(train)
            return Path(saver.save(session, str(folder / "model.ckpt")))


@pytest.fixture(scope="module")
def tf2_run(tmp_path_factory) -> Path:
    """A ``tf.train.CheckpointManager`` folder (``ckpt-1``, ``ckpt-2``) of a Keras model and its
    Adam (slots as ``optimizer/_variables/N``), and a ``tf.Module`` trained by a TF1
    ``AdamOptimizer``, whose slots are slot variables of the object graph."""
    tf = _tf()
    import keras

    folder = tmp_path_factory.mktemp("wire") / "tf2"
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(1)])
    optimizer = keras.optimizers.Adam(0.01)
    model.compile(optimizer, "mse")
    head = tf.Module()
    head.w = tf.Variable(np.ones((2, 2), np.float32), name="w")
    head.count = tf.Variable(3, dtype=tf.int64)
    head_optimizer = tf.compat.v1.train.AdamOptimizer(0.1)
    checkpoint = tf.train.Checkpoint(
        model=model, optimizer=optimizer, head=head, head_optimizer=head_optimizer
    )
    manager = tf.train.CheckpointManager(checkpoint, str(folder), max_to_keep=5)
    for _ in range(2):
        model.fit(np.ones((8, 3)), np.ones((8, 1)), verbose=0, epochs=1)
        head_optimizer.minimize(lambda: tf.reduce_sum(head.w**2), var_list=[head.w])
        manager.save()
    return folder


def _prefixes(folder: Path) -> list[Path]:
    return sorted(path.with_suffix("") for path in folder.glob("*.index"))


@pytest.fixture(scope="module")
def all_prefixes(tf1_run, tf1_partitioned, tf2_run) -> list[Path]:
    return [*_prefixes(tf1_run), tf1_partitioned, *_prefixes(tf2_run)]


def test_the_listing_agrees_with_tensorflows_reader(all_prefixes):
    tf = _tf()
    for prefix in all_prefixes:
        reader = tf.train.load_checkpoint(str(prefix))
        table = Checkpoint(prefix).variables
        assert {row.name: tuple(row.shape) for row in table.itertuples()} == {
            name: tuple(shape) for name, shape in reader.get_variable_to_shape_map().items()
        }
        assert {row.name: row.dtype for row in table.itertuples()} == {
            name: dtype.name for name, dtype in reader.get_variable_to_dtype_map().items()
        }


def test_every_index_entry_parses_as_with_tensorflows_classes(all_prefixes):
    """Each key of each ``.index``: the header and every entry (slices included) parsed by
    ``_wire``'s class and by TensorFlow's give the same message and the same checked entry."""
    pb2 = _tf_pb2()["tensorflow/core/protobuf/tensor_bundle.proto"]
    seen_slices = False
    for prefix in all_prefixes:
        path = Path(f"{prefix}.index")
        for block in _data_blocks(path.read_bytes(), path, True):
            for key, value in _iter_block(block, path):
                name = "BundleHeaderProto" if not key else "BundleEntryProto"
                ours = _wire.parse_proto(getattr(_wire, name), value, path, "entry")
                theirs = getattr(pb2, name).FromString(value)
                assert json_format.MessageToDict(ours) == json_format.MessageToDict(theirs)
                assert ours.SerializeToString() == theirs.SerializeToString() == value
                if key:
                    fields = bundle_module._fields_from_proto(ours)
                    assert fields == bundle_module._fields_from_proto(theirs)
                    seen_slices = seen_slices or bool(fields[-1])
    assert seen_slices


def test_the_object_graph_parses_as_with_tensorflows_class(tf2_run):
    tf = _tf()
    pb2 = _tf_pb2()["tensorflow/core/protobuf/trackable_object_graph.proto"]
    for prefix in _prefixes(tf2_run):
        data = tf.train.load_checkpoint(str(prefix)).get_tensor(OBJECT_GRAPH_KEY)
        ours = ObjectGraph.from_bytes(data, prefix)
        theirs = ObjectGraph(pb2.TrackableObjectGraph.FromString(data))
        assert ours.nodes == theirs.nodes
        assert ours.slots() == theirs.slots() and ours.slots()
        assert ours.node_of_key == theirs.node_of_key


def test_the_state_file_parses_as_with_tensorflows_class(tf1_run, tf2_run, tmp_path):
    pb2 = _tf_pb2()["tensorflow/python/training/checkpoint_state.proto"]
    for folder in (tf1_run, tf2_run):
        text = (folder / STATE_FILE).read_text()
        theirs = text_format.Parse(text, pb2.CheckpointState())
        ours = read_state(folder / STATE_FILE)
        assert json_format.MessageToDict(ours) == json_format.MessageToDict(theirs)
        assert len(ours.all_model_checkpoint_paths) == 2
    damaged = tmp_path / STATE_FILE
    damaged.write_text('model_checkpoint_path: "m-1"\nnot_a_field: 2\n')
    with pytest.raises(StateFileError) as caught:
        read_state(damaged)
    with pytest.raises(text_format.ParseError) as tensorflows:
        text_format.Parse(damaged.read_text(), pb2.CheckpointState())
    assert str(caught.value) == str(tensorflows.value)
    assert 'Message type "tensorflow.CheckpointState"' in str(caught.value)


def _tables(folder: Path) -> dict[str, pd.DataFrame]:
    run = CheckpointDir(folder)
    tables = {"checkpoints": run.checkpoints.drop(columns=["modified"])}
    for prefix in _prefixes(folder):
        checkpoint = Checkpoint(prefix)
        tables[f"{prefix.name}.variables"] = checkpoint.variables
        tables[f"{prefix.name}.slots"] = checkpoint.slots
        if checkpoint.object_graph is not None:
            tables[f"{prefix.name}.object_graph"] = checkpoint.object_graph
    return tables


def test_the_tables_are_what_tensorflows_protos_made(
    tf1_run, tf1_partitioned, tf2_run, monkeypatch
):
    """``variables``, ``slots``, ``object_graph`` and the folder's ``checkpoints``, made with
    ``_wire``, then again with TensorFlow's classes and dtype names put in its place (what
    tfexplore used before ``_wire``): the same tables."""
    folders = (tf1_run, tf1_partitioned.parent, tf2_run)
    ours = [_tables(folder) for folder in folders]

    tf = _tf()
    pb2 = _tf_pb2()
    types_pb2 = pb2["tensorflow/core/framework/types.proto"]
    bundle_pb2 = pb2["tensorflow/core/protobuf/tensor_bundle.proto"]

    def tensorflows_dtype_name(value: int) -> str:
        try:
            return tf.dtypes.as_dtype(value).name
        except TypeError:
            return f"dtype({value})"

    parsed = []
    real_parse = _wire.parse_proto

    def parse_proto(message_cls, *args, **kwargs):
        parsed.append(message_cls.DESCRIPTOR.full_name)
        return real_parse(message_cls, *args, **kwargs)

    for name, value in {
        "BundleHeaderProto": bundle_pb2.BundleHeaderProto,
        "BundleEntryProto": bundle_pb2.BundleEntryProto,
        "TrackableObjectGraph": pb2[
            "tensorflow/core/protobuf/trackable_object_graph.proto"
        ].TrackableObjectGraph,
        "CheckpointState": pb2["tensorflow/python/training/checkpoint_state.proto"].CheckpointState,
        "DATA_TYPES": set(types_pb2.DataType.values()),
        "dtype_name": tensorflows_dtype_name,
        "parse_proto": parse_proto,
    }.items():
        monkeypatch.setattr(_wire, name, value)
    monkeypatch.setattr(bundle_module, "_FAST_BLOCKS", False)  # every entry the general way
    bundle_module._storable_dtype.cache_clear()
    try:
        theirs = [_tables(folder) for folder in folders]
    finally:
        bundle_module._storable_dtype.cache_clear()
    assert {"tensorflow.BundleHeaderProto", "tensorflow.TrackableObjectGraph"} <= set(parsed)
    assert not any(name.startswith(_wire.PACKAGE) for name in parsed)
    for our_tables, their_tables in zip(ours, theirs):
        assert list(our_tables) == list(their_tables)
        for name, table in our_tables.items():
            pd.testing.assert_frame_equal(table, their_tables[name], obj=name)
    assert any(len(tables[name]) for tables in ours for name in tables if name.endswith("slots"))


# -- no TensorFlow ---------------------------------------------------------------------------
_WITHOUT_TENSORFLOW = textwrap.dedent(
    """
    import builtins, json, sys, traceback

    first = []
    real_import = builtins.__import__

    def spy(name, globals=None, locals=None, fromlist=(), level=0):
        if name.partition(".")[0] == "tensorflow" and not first:
            first.append("".join(traceback.format_stack()))
        return real_import(name, globals, locals, fromlist, level)

    builtins.__import__ = spy

    import tfexplore
    from tfexplore.artifacts.checkpoint import CheckpointDir

    done = {}
    for folder, tensor in json.loads(sys.argv[1]):
        run = tfexplore.open(folder)
        latest = run.latest
        done[folder] = {
            "variables": len(latest.variables),
            "slots": len(latest.slots),
            "read": latest.read(tensor).tolist(),
            "stats": len(latest.stats(progress=False)),
            "object_graph": None if latest.object_graph is None else len(latest.object_graph),
            "checkpoints": len(CheckpointDir(folder).checkpoints),
            "history": len(run.history(progress=False)),
            "summary": sorted(run.summary()),
            "diff": len(run.open(1).diff(latest, progress=False)),
            "explain": len(str(run.explain())) + len(str(latest.explain())),
        }
    from google.protobuf.internal import api_implementation

    loaded = sorted(m for m in sys.modules if m.partition(".")[0] == "tensorflow")
    chain, protobuf = "".join(first), api_implementation.Type()
    print(json.dumps({"done": done, "tensorflow": loaded, "chain": chain, "protobuf": protobuf}))
    """
)


@pytest.mark.parametrize("protobuf", ["default", "python"])
def test_listing_a_folder_does_not_import_tensorflow(tf1_run, tf2_run, protobuf):
    """Everything a look at a folder of V2 checkpoints does, in a fresh process: TensorFlow is
    never imported (the import chain that reached it is printed otherwise). With protobuf's
    default implementation (upb) and its pure-Python one, which makes classes differently."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    if protobuf == "python":
        env["PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION"] = "python"
    folders = [
        (str(tf1_run), "layer/W"),
        (str(tf2_run), "head/w/.ATTRIBUTES/VARIABLE_VALUE"),
    ]
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT_TENSORFLOW, json.dumps(folders)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["tensorflow"] == [], "TensorFlow was imported by:\n" + report["chain"]
    assert protobuf == "default" or report["protobuf"] == "python"
    tf1, tf2 = (report["done"][folder] for folder, _ in folders)
    assert tf1["slots"] == 4 and tf1["object_graph"] is None
    assert tf2["slots"] >= 10 and tf2["object_graph"] > 0
    for done, (folder, tensor) in zip((tf1, tf2), folders):
        assert done["checkpoints"] == 2 and done["history"] > 0 and done["diff"] > 0
        assert np.array_equal(done["read"], Checkpoint(_prefixes(Path(folder))[-1]).read(tensor))
