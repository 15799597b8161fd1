"""``edit.bundle_writer``: checkpoints written in pure Python, read back by TensorFlow itself
(``tf.train.load_checkpoint``, a TF1 ``Saver``, a TF2 ``tf.train.Checkpoint``) and by our reader;
byte for byte what TensorFlow's ``SaveV2`` writes; kill-safe publishing; memory of one tensor."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import tfexplore
from tfexplore.artifacts.checkpoint.sstable import _data_blocks
from tfexplore.edit import table_writer
from tfexplore.edit.bundle_writer import BundleWriter, publish_checkpoint, write_bundle
from tfexplore.errors import CheckpointExistsError, TFExploreError

tf = pytest.importorskip("tensorflow")
ml_dtypes = pytest.importorskip("ml_dtypes")
REPO = Path(__file__).resolve().parents[1]


def _values() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    return {
        "dense/kernel": rng.normal(size=(3, 4)).astype(np.float32),
        "dense/bias": rng.normal(size=4),  # float64
        "half": np.array([0.5, -1.25, 65504], np.float16),
        "bf16": np.array([[1.5, -2.0], [3.0, 0.0]], ml_dtypes.bfloat16),
        "i8": np.array([-128, 0, 127], np.int8),
        "i16": np.array([-3, 30000], np.int16),
        "i32": np.arange(5, dtype=np.int32),
        "i64": np.array([2**40, -1], np.int64),
        "u8": np.array([0, 255], np.uint8),
        "flags": np.array([True, False, True]),
        "c64": np.array([1 + 2j, -3j], np.complex64),
        "step": np.array(42, np.int64),  # scalar
        "empty": np.zeros((0, 3), np.float32),
        "words": np.array([b"", "héllo".encode(), b"\xff\x00\x01"], dtype=object),
        "word": np.array(b"one", dtype=object),  # scalar string
        "table/keys": np.array([["a", "é"], ["", "z"]]),  # numpy str: UTF-8
        "no_words": np.empty((0, 2), dtype=object),
        "big_endian": np.array([[1, -2]], ">i4"),
        "strided": np.arange(12, dtype=np.float64).reshape(3, 4)[:, ::2],  # not contiguous
    }


def _as_written(value: np.ndarray) -> np.ndarray:
    """What a reader gives back: strings as bytes."""
    if value.dtype.kind == "U":
        return np.vectorize(lambda s: s.encode(), otypes=[object])(value)
    return value


def _assert_same(got, expected: np.ndarray) -> None:
    got = np.asarray(got)
    expected = _as_written(expected)
    assert got.shape == expected.shape
    if expected.dtype.kind in "OS":
        assert got.reshape(-1).tolist() == expected.reshape(-1).tolist()
    else:
        assert got.dtype == expected.dtype.newbyteorder("=")
        np.testing.assert_array_equal(got, expected)


@pytest.fixture
def written(tmp_path) -> tuple[Path, dict[str, np.ndarray]]:
    values = _values()
    prefix = tmp_path / "model.ckpt"
    with BundleWriter(prefix) as writer:
        for key in reversed(list(values)):  # out of order
            writer.add(key, values[key])
    assert writer.bytes_written == Path(f"{prefix}.data-00000-of-00001").stat().st_size
    assert "19 tensors" in repr(writer) and "closed" in repr(writer)
    return prefix, values


def test_tensorflow_reads_every_dtype_and_shape(written):
    prefix, values = written
    reader = tf.train.load_checkpoint(str(prefix))
    assert set(reader.get_variable_to_shape_map()) == set(values)
    for key, value in values.items():
        assert reader.get_variable_to_shape_map()[key] == list(value.shape)
        expected_dtype = tf.string if value.dtype.kind in "OU" else tf.as_dtype(value.dtype)
        assert reader.get_variable_to_dtype_map()[key] == expected_dtype
        _assert_same(reader.get_tensor(key), value)


def test_our_reader_reads_it_back(written):
    prefix, values = written
    checkpoint = tfexplore.open(prefix)
    assert sorted(checkpoint.variables["name"]) == sorted(values)
    for key, value in values.items():
        _assert_same(checkpoint.read(key), value)


def test_byte_for_byte_what_tensorflow_save_v2_writes(tmp_path):
    # 9000 keys: an index over TensorFlow's 256 KiB block, so two data blocks and separators
    rng = np.random.default_rng(1)
    values = {  # names that share short prefixes: the index outgrows one block
        f"{rng.bytes(8).hex()}/w": rng.normal(size=(i % 4, 2)).astype(np.float32)
        for i in range(9000)
    }
    values.update({k: v for k, v in _values().items() if v.dtype.kind != "U"})
    values["\xff/last"] = np.array([7], np.int32)
    names = sorted(values, key=str.encode)
    tensors = [tf.constant(values[k]) for k in names]
    tf.raw_ops.SaveV2(
        prefix=str(tmp_path / "tf"), tensor_names=names, shape_and_slices=[""] * len(names),
        tensors=tensors,
    )  # fmt: skip
    write_bundle(tmp_path / "ours", ((k, values[k]) for k in names))
    for suffix in (".index", ".data-00000-of-00001"):
        ours = Path(f"{tmp_path / 'ours'}{suffix}").read_bytes()
        assert ours == Path(f"{tmp_path / 'tf'}{suffix}").read_bytes(), suffix
    index = Path(f"{tmp_path / 'ours'}.index")
    assert len(list(_data_blocks(index.read_bytes(), index, True))) == 2


@pytest.mark.parametrize("block_size", [table_writer.BLOCK_SIZE, 4096])
def test_two_thousand_keys_in_any_order(tmp_path, monkeypatch, block_size):
    monkeypatch.setattr(table_writer, "BLOCK_SIZE", block_size)
    order = np.random.default_rng(3).permutation(2000)
    prefix = tmp_path / "many"
    with BundleWriter(prefix) as writer:
        for i in order:
            writer.add(f"scope_{i % 7}/var_{i}", np.full((2,), i, np.int32))
    index = Path(f"{prefix}.index")
    blocks = len(list(_data_blocks(index.read_bytes(), index, True)))
    assert blocks == 1 if block_size == 262144 else blocks >= 10  # ~45 KB of entries
    reader = tf.train.load_checkpoint(str(prefix))
    assert len(reader.get_variable_to_shape_map()) == 2000
    for i in range(2000):
        np.testing.assert_array_equal(reader.get_tensor(f"scope_{i % 7}/var_{i}"), [i, i])
    assert len(tfexplore.open(prefix).variables) == 2000


def test_a_tf1_saver_restores_graph_variables(tmp_path):
    values = {
        "dense/kernel": np.arange(6, dtype=np.float32).reshape(2, 3),
        "dense/bias": np.array([0.5, -1.0, 2.0], np.float64),
        "global_step": np.array(17, np.int64),
        "vocab": np.array([b"", "ü".encode(), b"\xfe"], dtype=object),
    }
    prefix = tmp_path / "tf1.ckpt"
    write_bundle(prefix, values.items())
    graph = tf.compat.v1.Graph()
    with graph.as_default():
        variables = {
            key: tf.compat.v1.get_variable(
                key, shape=value.shape, dtype=tf.string if value.dtype == object else value.dtype,
                initializer=tf.compat.v1.zeros_initializer(),
            )
            for key, value in values.items()
        }  # fmt: skip
        saver = tf.compat.v1.train.Saver(variables)
        with tf.compat.v1.Session(graph=graph) as session:
            saver.restore(session, str(prefix))
            for key, value in values.items():
                _assert_same(session.run(variables[key]), value)


def test_a_tf2_checkpoint_restores_from_rewritten_keys(tmp_path):
    module = tf.Module()
    module.w = tf.Variable(np.zeros((2, 2), np.float32))
    module.b = tf.Variable(np.zeros(3, np.float64))
    saved = tf.train.Checkpoint(m=module).save(str(tmp_path / "original"))  # save_counter too
    reader = tf.train.load_checkpoint(saved)
    keys = reader.get_variable_to_shape_map()
    assert "_CHECKPOINTABLE_OBJECT_GRAPH" in keys
    new = {"m/w/.ATTRIBUTES/VARIABLE_VALUE": np.array([[1, 2], [3, 4]], np.float32),
           "m/b/.ATTRIBUTES/VARIABLE_VALUE": np.array([5.0, 6.0, 7.0])}  # fmt: skip
    assert set(new) < set(keys)
    kept = {key: reader.get_tensor(key) for key in keys if key not in new}
    assert isinstance(kept.pop("_CHECKPOINTABLE_OBJECT_GRAPH"), bytes)
    graph = np.array(reader.get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH"), dtype=object)
    tensors = [*new.items(), *kept.items(), ("_CHECKPOINTABLE_OBJECT_GRAPH", graph)]
    write_bundle(tmp_path / "rewritten", tensors)
    fresh = tf.Module()
    fresh.w = tf.Variable(np.zeros((2, 2), np.float32))
    fresh.b = tf.Variable(np.zeros(3, np.float64))
    status = tf.train.Checkpoint(m=fresh).restore(str(tmp_path / "rewritten"))
    status.assert_existing_objects_matched()
    np.testing.assert_array_equal(fresh.w.numpy(), new["m/w/.ATTRIBUTES/VARIABLE_VALUE"])
    np.testing.assert_array_equal(fresh.b.numpy(), new["m/b/.ATTRIBUTES/VARIABLE_VALUE"])


def test_add_bytes_copies_tensors_unchanged(written, tmp_path):
    prefix, values = written
    data = Path(f"{prefix}.data-00000-of-00001").read_bytes()
    copy = tmp_path / "copy"
    with BundleWriter(copy) as writer:
        for key, entry in _entries(prefix):
            writer.add_bytes(key, entry[0], entry[1], data[entry[2] : entry[2] + entry[3]])
    reader = tf.train.load_checkpoint(str(copy))
    for key, value in values.items():
        _assert_same(reader.get_tensor(key), value)
    assert Path(f"{copy}.data-00000-of-00001").stat().st_size == len(data)


def _entries(prefix: Path):
    """``key -> (dtype name, shape, offset, size)`` of each tensor, from the index itself."""
    from tfexplore._wire import BundleEntryProto, dtype_name
    from tfexplore.artifacts.checkpoint.sstable import iter_table

    index = Path(f"{prefix}.index")
    for key, value in iter_table(index.read_bytes(), index):
        if key:
            entry = BundleEntryProto.FromString(value)
            dims = tuple(d.size for d in entry.shape.dim)
            yield key.decode(), (dtype_name(entry.dtype), dims, entry.offset, entry.size)


def test_refusals_name_the_tensor_and_write_nothing(tmp_path, written):
    prefix, _ = written
    with pytest.raises(CheckpointExistsError, match="model.ckpt.index"):
        BundleWriter(prefix)
    with BundleWriter(tmp_path / "x") as writer:
        writer.add("a", np.zeros(2))
        with pytest.raises(TFExploreError, match="'a' was not written.*has a tensor of that name"):
            writer.add("a", np.ones(2))
        with pytest.raises(TFExploreError, match="non-empty str"):
            writer.add("", np.ones(2))
        with pytest.raises(TFExploreError, match="'t' cannot be written.*datetime64"):
            writer.add("t", np.array(["2020-01-01"], "datetime64[D]"))
        with pytest.raises(TFExploreError, match="'o' cannot be written.*int element"):
            writer.add("o", np.array([b"x", 3], dtype=object))
        with pytest.raises(TFExploreError, match="'r' cannot be written.*7 bytes for float32"):
            writer.add_bytes("r", "float32", (2,), b"\0" * 7)
        with pytest.raises(TFExploreError, match="'s' cannot be written.*checksum"):
            writer.add_bytes("s", "string", (1,), b"\x01" + b"\0" * 4 + b"x")
    assert sorted(tf.train.load_checkpoint(str(tmp_path / "x")).get_variable_to_shape_map()) == [
        "a"
    ]
    with pytest.raises(TFExploreError, match="'b' was not written.*the writer is closed"):
        writer.add("b", np.ones(1))


def test_an_error_inside_the_with_block_leaves_no_files(tmp_path):
    with pytest.raises(RuntimeError, match="boom"):
        with BundleWriter(tmp_path / "gone") as writer:
            writer.add("w", np.ones((100, 100), np.float32))
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(TFExploreError):
        write_bundle(tmp_path / "gone", [("w", np.ones(3)), ("w", np.ones(3))])
    assert list(tmp_path.iterdir()) == []


def test_one_big_tensor_takes_no_extra_copy(tmp_path):
    big = np.ones(50 * 1024 * 1024, np.float32)  # 200 MB
    tracemalloc.start()
    try:
        with BundleWriter(tmp_path / "big") as writer:
            writer.add("big", big)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"peak traced while writing {big.nbytes >> 20} MB: {peak / 1e6:.2f} MB")
    assert peak < 0.05 * big.nbytes
    assert writer.bytes_written == big.nbytes
    np.testing.assert_array_equal(tfexplore.open(tmp_path / "big").read("big")[:5], 1)


def test_write_bundle_reports_progress(tmp_path):
    seen = []
    files = write_bundle(
        tmp_path / "p", [("a", np.zeros(4, np.int8)), ("b", np.zeros(2))],
        progress=lambda key, done: seen.append((key, done)),
    )  # fmt: skip
    assert seen == [("a", 4), ("b", 20)]
    assert [f.name for f in files] == ["p.data-00000-of-00001", "p.index"]


# -- publish_checkpoint ----------------------------------------------------------------------
def _publish(prefix: Path, values: dict, **kwargs) -> Path:
    return publish_checkpoint(prefix, lambda p: write_bundle(p, values.items()), **kwargs)


def test_publish_names_the_checkpoint_and_refuses_to_overwrite(tmp_path):
    graph = tf.compat.v1.Graph()
    with graph.as_default():
        tf.compat.v1.get_variable("w", shape=(2,))
        meta = tf.compat.v1.train.export_meta_graph().SerializeToString()
    prefix = _publish(tmp_path / "run-1", {"w": np.ones(2, np.float32)}, meta=meta)
    assert tf.train.latest_checkpoint(str(tmp_path)) == str(prefix)
    assert Path(f"{prefix}.meta").read_bytes() == meta
    with pytest.raises(CheckpointExistsError, match="run-1"):
        _publish(prefix, {"w": np.zeros(2, np.float32)})
    _publish(prefix, {"w": np.full(2, 3, np.float32)}, overwrite=True)
    np.testing.assert_array_equal(tf.train.load_checkpoint(str(prefix)).get_tensor("w"), [3, 3])
    assert not Path(f"{prefix}.meta").exists()  # the new checkpoint has none
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "checkpoint", "run-1.data-00000-of-00001", "run-1.index",
    ]  # fmt: skip
    with pytest.raises(TFExploreError, match="wrote no run-2.index"):
        publish_checkpoint(tmp_path / "run-2", lambda p: None)
    assert tf.train.latest_checkpoint(str(tmp_path)) == str(prefix)


WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import numpy as np
    from tfexplore.edit.bundle_writer import BundleWriter, publish_checkpoint

    def write(prefix):
        with BundleWriter(prefix) as writer:
            for i in range(100000):
                writer.add(f"var_{i}", np.full((256,), i, np.float32))
                if i == 50:
                    print("writing", flush=True)
                time.sleep(0.001)

    publish_checkpoint(Path(sys.argv[1]), write)
    """
)


def test_a_publish_killed_while_writing_keeps_the_earlier_checkpoint(tmp_path):
    earlier = _publish(tmp_path / "run-1", {"w": np.arange(3, dtype=np.float32)})
    state = (tmp_path / "checkpoint").read_bytes()
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path / "run-2")],
        stdout=subprocess.PIPE, text=True, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    try:
        assert child.stdout.readline().strip() == "writing"
        leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(".tfexplore-save-")]
        assert len(leftovers) == 1 and any(leftovers[0].iterdir())
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    assert (tmp_path / "checkpoint").read_bytes() == state
    assert tf.train.latest_checkpoint(str(tmp_path)) == str(earlier)
    reader = tf.train.load_checkpoint(str(earlier))
    np.testing.assert_array_equal(reader.get_tensor("w"), [0, 1, 2])
    assert not list(tmp_path.glob("run-2*"))
    # the next publish clears the dead writer's folder and succeeds
    second = _publish(tmp_path / "run-2", {"w": np.ones(3, np.float32)})
    assert tf.train.latest_checkpoint(str(tmp_path)) == str(second)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tfexplore-save-")]
    np.testing.assert_array_equal(tf.train.load_checkpoint(str(earlier)).get_tensor("w"), [0, 1, 2])


def test_writing_imports_no_tensorflow(tmp_path):
    code = (
        "import sys, numpy as np\n"
        "from tfexplore.edit.bundle_writer import write_bundle\n"
        f"write_bundle({str(tmp_path / 'a')!r}, [('x', np.ones(3)), ('s', np.array(['t']))])\n"
        "assert 'tensorflow' not in sys.modules, 'tensorflow imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
    np.testing.assert_array_equal(tf.train.load_checkpoint(str(tmp_path / "a")).get_tensor("x"), 1)
