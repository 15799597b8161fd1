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
from tfexplore.artifacts.checkpoint.bundle import read_bundle_index
from tfexplore.artifacts.checkpoint.sstable import masked_crc32c


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
objects = tf.train.Checkpoint(v=tf.Variable([[0.0, 0.0]]), s=tf.Variable(["", ""]))
holder = tfexplore.session(objects)
holder.restore(path)
return "restored"
"""


@pytest.mark.slow
@pytest.mark.parametrize("declared", [6 << 30, 1 << 62])
@pytest.mark.parametrize("fix_index", [True, False], ids=["index-fixed", "crc-left-wrong"])
def test_string_length_bomb_in_object_graph_is_refused(
    tf2_checkpoint, tmp_path, declared, fix_index
):
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
from tfexplore.ui.graphview import GraphExplorer
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


# -- 7. zip bomb in a .keras -------------------------------------------------------------------
def _zip_bomb(source: Path, folder: Path, inflated: int, *, lie: bool = False) -> Path:
    """A copy of the Keras-written ``source`` whose ``config.json`` is deflated from the real
    config followed by ``inflated`` bytes of spaces (valid JSON whitespace). With ``lie`` the
    zip's headers declare the real config's size instead of the inflated one."""
    import zipfile

    with zipfile.ZipFile(source) as original:
        members = [(info, original.read(info)) for info in original.infolist()]
    return _patch_member(folder / "bomb.keras", "config.json", members, inflated, lie)


def _patch_member(target: Path, name: str, members, inflated: int, lie: bool) -> Path:
    """Write the archive by hand (local headers, data, central directory), since zipfile
    cannot store a deflated stream it did not make."""
    import zlib

    out, central = bytearray(), bytearray()
    for info, data in members:
        if info.filename == name:
            packer = zlib.compressobj(9, zlib.DEFLATED, -15)
            block = b" " * (1 << 22)
            parts, crc = [packer.compress(data)], zlib.crc32(data)
            for _ in range(inflated // len(block)):
                parts.append(packer.compress(block))
                crc = zlib.crc32(block, crc)
            parts.append(packer.flush())
            body, method = b"".join(parts), 8
            size = len(data) if lie else len(data) + inflated // len(block) * len(block)
        else:
            body, method, crc, size = data, 0, zlib.crc32(data), len(data)
        raw_name = info.filename.encode()
        offset = len(out)
        out += (
            struct.pack(
                "<IHHHHHIIIHH",
                0x04034B50,
                20,
                0,
                method,
                0,
                0x21,
                crc,
                len(body),
                size,
                len(raw_name),
                0,
            )
            + raw_name
            + body
        )
        central += (
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                method,
                0,
                0x21,
                crc,
                len(body),
                size,
                len(raw_name),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + raw_name
        )
    out += central + struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(out), 0
    )
    target.write_bytes(bytes(out))
    return target


_LOOK_AT_KERAS = """
from tfexplore.cli import main
assert main(["scan", path]) == 1  # the scan reports the refusal, exit status 1
artifact = tfexplore.open(path)
for step in (artifact.summary, artifact.explain, lambda: artifact.layers,
             lambda: artifact.safety):
    try:
        step()
    except tfexplore.TFExploreError:
        pass
    else:
        raise AssertionError(f"{step} read the bomb")
tfexplore.session(path, trust=True)
"""


@pytest.mark.slow
@pytest.mark.parametrize("lie", [False, True], ids=["declared", "lying-size"])
def test_keras_zip_bomb_is_refused(keras_models, tmp_path, lie):
    bomb = _zip_bomb(keras_models.keras, tmp_path, 2 << 30, lie=lie)
    assert bomb.stat().st_size < 8 << 20
    before = fingerprint(tmp_path)
    outcome = attack(_LOOK_AT_KERAS, bomb, budget_mb=1024)
    assert not refused(outcome, seconds=120, rss_mb=400), refused(outcome)
    assert fingerprint(tmp_path) == before


@pytest.mark.slow
def test_zip_bomb_scan_exits_with_an_error_not_a_crash(keras_models, tmp_path):
    import subprocess
    import sys

    bomb = _zip_bomb(keras_models.keras, tmp_path, 256 << 20)
    done = subprocess.run(
        [sys.executable, "-m", "tfexplore", "scan", str(bomb)],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert done.returncode not in (0, 3) and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert "config.json" in done.stderr + done.stdout


# -- 10. an HDF5 attribute only Keras reads ---------------------------------------------------
def _heap_objects(data: bytes, collection: int):
    """``(index, size, bytes, position)`` of each object of the global heap collection at
    ``collection`` (HDF5 format spec, "Global Heap")."""
    size = struct.unpack("<Q", data[collection + 8 : collection + 16])[0]
    position = collection + 16
    while position < collection + size - 16:
        index, _, _, length = struct.unpack("<HHIQ", data[position : position + 16])
        if index == 0:
            return
        yield index, length, bytes(data[position + 16 : position + 16 + length]), position
        position += 16 + (length + 7) // 8 * 8


def _spinning_attribute(source: Path, target: Path) -> Path:
    """A copy of the Keras-written legacy ``source`` where only the ``keras_version`` attribute
    of the ``model_weights`` group (read by Keras's ``load_weights_from_hdf5_group``, never by
    ``KerasFile``) leads libhdf5 into a loop: its variable-length string's heap ID is pointed
    at a copy of the global heap collection with its first object zeroed, written over the
    bytes of the widest kernel (a weight, which then reads as other numbers)."""
    import h5py

    data = bytearray(source.read_bytes())
    collection = data.index(b"GCOL")
    size = struct.unpack("<Q", data[collection + 8 : collection + 16])[0]
    with h5py.File(source, "r") as h5:
        kernels = []
        h5.visititems(
            lambda name, obj: (
                kernels.append(obj)
                if isinstance(obj, h5py.Dataset) and obj.name.endswith("kernel")
                else None
            )
        )
        widest = max(kernels, key=lambda d: d.id.get_storage_size())
        offset, room = widest.id.get_offset(), widest.id.get_storage_size()
        group = h5["model_weights"]
        header = h5py.h5o.get_info(group.id).addr
        value = group.attrs["keras_version"]
    value = value.encode() if isinstance(value, str) else bytes(value)
    assert room >= size, "the kernel must be big enough to hold the fake heap collection"
    fake = bytearray(data[collection : collection + size])
    fake[16:80] = bytes(64)
    data[offset : offset + size] = fake
    spots = []
    for index, length, obj, _ in _heap_objects(data, collection):
        if obj == value:
            heap_id = struct.pack("<IQI", length, collection, index)
            at = data.find(heap_id)
            while at >= 0:
                spots.append(at)
                at = data.find(heap_id, at + 1)
    at = min(spot for spot in spots if spot > header)  # the one in model_weights' header
    data[at + 4 : at + 12] = struct.pack("<Q", offset)
    target.write_bytes(bytes(data))
    return target


@pytest.fixture(scope="module")
def wide_h5(tmp_path_factory) -> Path:
    import keras

    model = keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(64, name="wide"), keras.layers.Dense(1, name="out")]
    )
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.zeros((4, 64)), np.zeros((4, 1)), verbose=0)
    path = tmp_path_factory.mktemp("wide") / "wide.h5"
    model.save(path)
    return path


_SESSION = """
return repr(tfexplore.session(path))
"""


@pytest.mark.slow
def test_h5_attribute_only_keras_reads_is_rehearsed_not_hung(wide_h5, tmp_path):
    damaged = _spinning_attribute(wide_h5, tmp_path / "wide.h5")
    before = fingerprint(tmp_path)
    env = {"TFEXPLORE_H5_PROBE_TIMEOUT": "5"}
    outcome = attack(_SESSION, damaged, timeout=180, env=env)
    assert not refused(outcome, seconds=60), refused(outcome)
    assert outcome["error"] == "CorruptArtifactError" and "did not finish" in outcome["message"]
    trusted = attack(
        _SESSION.replace("(path)", "(path, trust=True)"), damaged, timeout=180, env=env
    )
    assert not refused(trusted, seconds=60), refused(trusted)
    assert fingerprint(tmp_path) == before


@pytest.mark.slow
def test_the_attribute_damage_hangs_keras_itself(wide_h5, tmp_path):
    """The damage above is real: KerasFile's own reads finish, Keras's load does not."""
    damaged = _spinning_attribute(wide_h5, tmp_path / "wide.h5")
    off = {"TFEXPLORE_H5_PROBE": "0"}
    looked = attack(
        "a = tfexplore.open(path); a.variables; a.layers; return 'ok'",
        damaged,
        timeout=120,
        env=off,
    )
    assert looked["outcome"] == "ok", looked
    loaded = attack("import keras\nkeras.saving.load_model(path)", damaged, timeout=20, env=off)
    assert loaded["outcome"] == "timeout", loaded


# -- 8. DatasetFromGraph fan-out ------------------------------------------------------------
def _fan_out_pb(folder: Path, *, per_level: int = 10, levels: int = 9) -> Path:
    """A frozen GraphDef of ``levels`` nested dataset graphs: in each, ``per_level``
    ``DatasetFromGraph`` ops read one constant holding the next level's serialized graph
    (so the file stays small while a naive walk makes ``per_level ** levels`` scans). The
    innermost graph reads a file (``ReadFile``), so that every level has findings."""
    import tensorflow as tf

    with tf.Graph().as_default() as graph:
        tf.io.read_file("/etc/hostname", name="innermost_read")
    serialized = graph.as_graph_def().SerializeToString()
    for level in range(levels):
        with tf.Graph().as_default() as graph:
            constant = tf.constant(serialized, name=f"level{level}/graph_def")
            for i in range(per_level):
                tf.raw_ops.DatasetFromGraph(graph_def=constant, name=f"level{level}/fan_{i}")
        serialized = graph.as_graph_def().SerializeToString()
    path = folder / "fan_out.pb"
    path.write_bytes(serialized)
    return path


_SCAN_AND_EXPLAIN = """
from tfexplore.cli import main
artifact = tfexplore.open(path)
report = artifact.safety
text = str(artifact.explain())
assert main(["scan", path]) == 3
return {"findings": len(report.findings), "scanned": dict(report.scanned),
        "ops": sorted({f.op_type for f in report.findings}), "explain": len(text)}
"""


@pytest.mark.slow
def test_dataset_from_graph_fan_out_is_scanned_once_per_distinct_graph(tmp_path):
    path = _fan_out_pb(tmp_path)
    assert path.stat().st_size < 8000
    before = fingerprint(tmp_path)
    outcome = attack(_SCAN_AND_EXPLAIN, path, budget_mb=1024, timeout=180)
    assert outcome["outcome"] == "ok", outcome
    assert outcome["seconds"] < 30 and outcome["rss_growth_mb"] < 300, outcome
    value = outcome["value"]
    # every distinct graph once (the main graph, then MAX_NESTING nested levels)
    from tfexplore.safety.scan import MAX_NESTING

    assert value["scanned"]["nested graphs"] == MAX_NESTING, value
    assert "DatasetFromGraph" in value["ops"]
    assert fingerprint(tmp_path) == before


def test_fan_out_still_reports_what_the_innermost_graph_does(tmp_path):
    from tfexplore.safety.scan import MAX_NESTING

    path = _fan_out_pb(tmp_path, per_level=3, levels=MAX_NESTING)
    report = tfexplore.open(path).safety
    inner = [f for f in report.findings if f.op_type == "ReadFile"]
    assert len(inner) == 1 and inner[0].nested_in.count(">") == MAX_NESTING - 1


# -- 11. script injection through names ------------------------------------------------------
PAYLOAD = '<img src=x onerror="alert(1)">'
_TAG = "<img"


def _html_from_markdown(text: str) -> str:
    """``text`` rendered the way Jupyter renders Markdown: raw HTML passed through."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).enable("table").render(text)


def _injection_pb(folder: Path) -> Path:
    """A frozen GraphDef whose node names, op type and a ``|``/backtick-laden name carry HTML."""
    import tensorflow as tf

    with tf.Graph().as_default() as graph:
        c = tf.constant([1.0, 2.0], name="weights")
        tf.identity(c, name="out")
    graph_def = graph.as_graph_def()
    for node in graph_def.node:
        if node.name == "weights":
            node.name = PAYLOAD
        else:
            node.input[0] = PAYLOAD
            node.op = f"<svg onload=alert(2)>`|{PAYLOAD}"  # a custom op type, for scan too
    extra = graph_def.node.add()
    extra.CopyFrom(graph_def.node[0])
    extra.name = f"a`|{PAYLOAD}|`b"
    path = folder / "inject.pb"
    path.write_bytes(graph_def.SerializeToString())
    return path


def _assert_no_tag(where: str, text: str) -> None:
    assert _TAG not in text and "<svg onload" not in text, f"{where}: {text[:3000]}"


def test_names_with_html_never_become_html(tmp_path):
    from tfexplore.ui.explore import ExploreModel
    from tfexplore.ui.graphview import GraphExplorer

    artifact = tfexplore.open(_injection_pb(tmp_path))
    assert PAYLOAD in set(artifact.variables["name"])
    markdown = str(artifact.explain())
    assert "alert(1)" in markdown  # the name is there, as text
    _assert_no_tag("explain() rendered", _html_from_markdown(markdown))
    _assert_no_tag(
        "_repr_markdown_ rendered", _html_from_markdown(artifact.explain()._repr_markdown_())
    )
    _assert_no_tag("_repr_html_", artifact._repr_html_())
    _assert_no_tag("safety _repr_html_", artifact.safety._repr_html_())
    _assert_no_tag("explore() Overview", ExploreModel(artifact).overview_html())
    _assert_no_tag("GraphView SVG", GraphExplorer(artifact).to_svg())


def test_checkpoint_variable_and_keras_layer_names_with_html(tmp_path):
    import keras
    import tensorflow as tf

    from tfexplore.ui.explore import ExploreModel

    checkpoint = tf.train.Checkpoint(**{PAYLOAD: tf.Variable([1.0])})
    prefix = checkpoint.write(str(tmp_path / "ckpt"))
    opened = tfexplore.open(prefix)
    assert any("alert(1)" in name for name in opened.variables["name"])
    for artifact in (opened, tfexplore.open(tmp_path)):
        _assert_no_tag("checkpoint explain", _html_from_markdown(str(artifact.explain())))
        _assert_no_tag("checkpoint Overview", ExploreModel(artifact).overview_html())
    model = keras.Sequential(
        [keras.Input((2,)), keras.layers.Dense(1, name=PAYLOAD.replace("/", ""))]
    )
    model.save(tmp_path / "m.keras")
    keras_file = tfexplore.open(tmp_path / "m.keras")
    assert any("alert(1)" in str(name) for name in keras_file.layers["name"])
    _assert_no_tag("keras explain", _html_from_markdown(str(keras_file.explain())))
    _assert_no_tag("keras Overview", ExploreModel(keras_file).overview_html())


def test_markdown_renderer_passes_no_raw_html():
    from tfexplore.ui.explore import markdown_html

    _assert_no_tag("markdown_html", markdown_html(f"text {PAYLOAD}\n\n| a |\n|---|\n| {PAYLOAD} |"))


# -- 9. special files: FIFOs, devices, symlink loops, for every kind of artifact ----------------
_SPECIALS = {
    "fifo": lambda path: os.mkfifo(path),
    "dev-zero": lambda path: os.symlink("/dev/zero", path),
    "dev-urandom": lambda path: os.symlink("/dev/urandom", path),
    "loop": lambda path: (
        os.symlink(path.name + ".other", path),
        os.symlink(path.name, path.with_name(path.name + ".other")),
    ),
}

_RUN_CASES = """
import json
results = {}
for label, code in json.loads(open(path).read()).items():
    try:
        exec(code, {"tfexplore": tfexplore, "__builtins__": __builtins__})
        results[label] = "ok"
    except tfexplore.TFExploreError as exc:
        results[label] = "refused:" + type(exc).__name__
    except BaseException as exc:
        results[label] = "other:" + type(exc).__name__ + ": " + str(exc)[:200]
return results
"""


def _special_cases(tmp_path, demo_run, tf2_saved_model) -> dict:
    """``{label: code}``: each artifact kind with one of its files replaced by a special one,
    and the code a user would run on it."""
    cases = {}
    for special, make in _SPECIALS.items():
        folder = tmp_path / special
        run = folder / "run"
        shutil.copytree(demo_run, run, symlinks=True)
        for victim, code in [
            ("model.ckpt-30.meta", "tfexplore.open({p!r}).graph.nodes"),
            ("model.ckpt-20.index", "tfexplore.open({p!r}[:-6]).variables"),
            (
                "model.ckpt-10.data-00000-of-00001",
                "c = tfexplore.open({p!r}.split('.data')[0]); "
                "[c.read(n) for n in c.variables.name]",
            ),
            (
                "checkpoint",
                "d = tfexplore.open({p!r}); d.checkpoints; d.latest.variables\n"
                "assert any('not a regular file' in n for n in d.notes)\n"
                "raise tfexplore.TFExploreError('noted, not read')",
            ),
        ]:
            target = run / victim
            target.unlink()
            make(target)
            cases[f"{special}:{victim}"] = code.format(p=str(target))
        cases[f"{special}:session-meta"] = f"tfexplore.session({str(run / 'model.ckpt-30.meta')!r})"
        cases[f"{special}:session-data"] = (
            f"tfexplore.session({str(run / 'model.ckpt-20.meta')!r}).restore("
            f"{str(run / 'model.ckpt-10')!r})"
        )
        for name, code in [  # the file's own bytes never matter: it is replaced
            ("frozen.pb", "tfexplore.open({p!r}).variables"),
            ("frozen.pbtxt", "tfexplore.open({p!r}).variables"),
            ("model.h5", "tfexplore.open({p!r}).layers"),
            ("model.keras", "tfexplore.open({p!r}).layers"),
            ("session.keras", "tfexplore.session({p!r}, trust=True)"),
            ("unknown.bin", "tfexplore.open({p!r})"),
        ]:
            target = folder / name
            make(target)
            cases[f"{special}:{name}"] = code.format(p=str(target))
        saved = folder / "saved_model"
        shutil.copytree(tf2_saved_model, saved)
        (saved / "saved_model.pb").unlink()
        make(saved / "saved_model.pb")
        cases[f"{special}:saved_model.pb"] = f"tfexplore.open({str(saved)!r}).signatures"
    return cases


@pytest.mark.slow
def test_special_files_are_refused_never_opened(tmp_path, demo_run, tf2_saved_model):
    cases = _special_cases(tmp_path, demo_run, tf2_saved_model)
    spec = tmp_path / "cases.json"
    import json

    spec.write_text(json.dumps(cases))
    before = fingerprint(tmp_path)
    outcome = attack(_RUN_CASES, spec, budget_mb=1024, timeout=400)
    assert outcome["outcome"] == "ok", outcome
    results = outcome["value"]
    wrong = {
        label: result for label, result in results.items() if not result.startswith("refused:")
    }
    assert not wrong, wrong
    assert outcome["rss_growth_mb"] < 400
    assert fingerprint(tmp_path) == before


# -- 12. save(overwrite=True) killed half way, with no state file naming the prefix ------------
_KILLED_SAVE = r"""
import os, signal, sys
import numpy as np
from tfexplore.demo import regression_data
from tfexplore import session
folder, point = sys.argv[1], sys.argv[2]
real_replace = os.replace

def replace(src, dst):
    src, dst = str(src), str(dst)
    kill = {
        "before-data": ".tfexplore-save-" in src and ".data-" in dst,
        "before-index": ".tfexplore-save-" in src and dst.endswith(".index"),
        "before-state": dst.endswith(os.sep + "checkpoint"),
    }[point]
    if kill:
        os.kill(os.getpid(), signal.SIGKILL)
    return real_replace(src, dst)

x, y = regression_data()
s = session(os.path.join(folder, "model.ckpt-30"))
s.train(1, {"inputs/x": x + 1.0, "inputs/y": y})  # step 31, other values
os.replace = replace
s.save(folder, overwrite=True)
print("not killed")
"""


def _values(prefix) -> dict:
    import tensorflow as tf

    reader = tf.train.load_checkpoint(str(prefix))  # CRCs checked: a mix of old and new fails
    return {key: reader.get_tensor(key) for key in reader.get_variable_to_shape_map()}


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


@pytest.mark.slow
@pytest.mark.parametrize("state", ["no-state-file", "prefix-not-listed"])
@pytest.mark.parametrize("point", ["before-data", "before-index", "before-state"])
def test_overwrite_killed_half_way_keeps_a_recoverable_backup(demo_run, tmp_path, state, point):
    import subprocess
    import sys

    from tfexplore.live import saving as _saving

    folder = Path(shutil.copytree(demo_run, tmp_path / "run"))
    for file in folder.glob("model.ckpt-30.*"):  # model.ckpt-31 exists: the save overwrites it
        shutil.copy(file, folder / file.name.replace("ckpt-30", "ckpt-31"))
    old = _values(folder / "model.ckpt-31")
    if state == "no-state-file":
        (folder / "checkpoint").unlink()
    else:
        (folder / "checkpoint").write_text(
            'model_checkpoint_path: "model.ckpt-10"\nall_model_checkpoint_paths: "model.ckpt-10"\n'
        )
    done = subprocess.run(
        [sys.executable, "-c", _KILLED_SAVE, str(folder), point],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert done.returncode == -9, done.stderr[-3000:]
    index = folder / "model.ckpt-31.index"
    if index.exists():  # never the old index over new data
        now = _values(folder / "model.ckpt-31")
        assert point == "before-state" or _same(now, old)
    backups = list(folder.glob(".tfexplore-save-backup-*"))
    assert len(backups) == 1 and (backups[0] / _saving.MARKER).is_file()
    assert _same(_values(backups[0] / "model.ckpt-31"), old)  # the intact copy, named by its marker

    _saving.recover(folder)
    recovered = _values(folder / "model.ckpt-31")
    if point == "before-state":  # the new checkpoint was complete: it stays
        assert not _same(recovered, old)
    else:
        assert _same(recovered, old)
    assert not list(folder.glob(".tfexplore-save-*"))
    assert _same(_values(folder / "model.ckpt-10"), _values(demo_run / "model.ckpt-10"))


@pytest.mark.slow
def test_recovery_killed_half_way_finishes_on_the_next_run(demo_run, tmp_path):
    import subprocess
    import sys

    from tfexplore.live import saving as _saving

    folder = Path(shutil.copytree(demo_run, tmp_path / "run"))
    for file in folder.glob("model.ckpt-30.*"):
        shutil.copy(file, folder / file.name.replace("ckpt-30", "ckpt-31"))
    old = _values(folder / "model.ckpt-31")
    (folder / "checkpoint").unlink()
    done = subprocess.run(
        [sys.executable, "-c", _KILLED_SAVE, str(folder), "before-index"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert done.returncode == -9, done.stderr[-3000:]
    recovery = (
        "import os, signal, sys\nfrom tfexplore.live import saving as _saving\nreal = os.replace\n"
        "def replace(src, dst):\n"
        "    if str(dst).endswith('.index'):\n        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    return real(src, dst)\n"
        "os.replace = replace\n_saving.recover(__import__('pathlib').Path(sys.argv[1]))\n"
    )
    killed = subprocess.run(
        [sys.executable, "-c", recovery, str(folder)], capture_output=True, text=True, timeout=120
    )
    assert killed.returncode == -9, killed.stderr[-3000:]
    assert not (folder / "model.ckpt-31.index").exists()  # data back, index not yet: absent
    _saving.recover(folder)
    assert _same(_values(folder / "model.ckpt-31"), old)
    assert not list(folder.glob(".tfexplore-save-*"))


# -- 13. recovery never follows a symlinked or foreign "backup" --------------------------------
@pytest.mark.parametrize("forgery", ["symlink", "copied-marker", "no-marker"])
def test_recovery_acts_only_on_folders_it_made(demo_run, tmp_path, forgery):
    from tfexplore.live import saving as _saving

    folder = Path(shutil.copytree(demo_run, tmp_path / "run"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for file in folder.glob("model.ckpt-20.*"):
        shutil.copy(file, elsewhere / file.name.replace("ckpt-20", "ckpt-30"))
    (elsewhere / "secret.txt").write_text("not yours")
    backup = folder / ".tfexplore-save-backup-999999999-deadbeef"
    if forgery == "symlink":
        backup.symlink_to(elsewhere, target_is_directory=True)
    else:
        shutil.copytree(elsewhere, backup)
        if forgery == "copied-marker":  # a marker written for another folder, copied here
            real = _saving.temporary_folder(tmp_path)
            _saving._mark(real, kind="backup", prefix="model.ckpt-30", status="ready")
            shutil.copy(real / _saving.MARKER, backup / _saving.MARKER)
    state = folder / "checkpoint"
    state.write_text(
        f'model_checkpoint_path: "{backup.name}/model.ckpt-30"\n'
        f'all_model_checkpoint_paths: "{backup.name}/model.ckpt-30"\n'
    )
    before, run_before = fingerprint(elsewhere), fingerprint(folder)
    _saving.recover(folder)
    assert fingerprint(elsewhere) == before
    assert fingerprint(folder) == run_before  # nothing moved, nothing deleted
    assert _same(_values(folder / "model.ckpt-30"), _values(demo_run / "model.ckpt-30"))


def test_recovery_removes_an_empty_folder_of_a_save_killed_after_its_mkdir(tmp_path):
    from tfexplore.live import saving as _saving

    empty = tmp_path / ".tfexplore-save-999999999-0badf00d"
    empty.mkdir()
    half = tmp_path / ".tfexplore-save-backup-999999999-0badf00d"
    half.mkdir()
    (half / f"{_saving.MARKER}.1234abcd").write_text('{"kind": "ba')
    kept = tmp_path / ".tfexplore-save-backup-999999998-0badf00d"
    kept.mkdir()
    (kept / "model.ckpt-3.index").write_bytes(b"unknown: not ours to delete")
    _saving.recover(tmp_path)
    assert not empty.exists() and not half.exists() and kept.exists()


def test_stored_member_that_lies_about_its_size_is_refused(keras_models, tmp_path):
    data = bytearray(keras_models.keras.read_bytes())
    name = b"model.weights.h5"
    at = data.index(b"PK\x01\x02")  # the central directory entries
    while data[at + 46 : at + 46 + len(name)] != name:
        at = data.index(b"PK\x01\x02", at + 4)
    assert struct.unpack("<H", data[at + 10 : at + 12])[0] == 0  # stored, as Keras writes it
    data[at + 24 : at + 28] = struct.pack("<I", 1 << 31)  # declares 2 GB
    lying = tmp_path / "lying.keras"
    lying.write_bytes(bytes(data))
    with pytest.raises(tfexplore.CorruptArtifactError, match="declares 2147483648"):
        tfexplore.open(lying).weights  # noqa: B018
