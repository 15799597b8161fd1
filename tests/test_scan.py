"""Safety scans: every op of a file that touches files, the network or Python is listed, with
what would run it, for ``.meta``, ``.pb``, ``.pbtxt``, ``saved_model.pb(txt)`` and Keras files.

Hostile artifacts are made here by real TensorFlow (none of their ops is run); clean ones (the
demo run, the corpus) must scan clean, or flag exactly the expected things."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures.common import CORPUS, corpus_cases, fingerprint

import tfexplore
from tfexplore.cli import EXIT_RISKY, main
from tfexplore.safety import gate as safety

tf = pytest.importorskip("tensorflow")
v1 = tf.compat.v1
REPO = Path(__file__).resolve().parents[1]


# -- hostile artifacts ------------------------------------------------------------------------
def _tf2_hostile_saved_model(folder: Path, target: Path) -> Path:
    """``tf.saved_model.save`` of a module whose signatures read, write, list files, write
    summaries, call Python, and whose table reads a vocabulary file when loaded."""
    vocabulary = folder.parent / "vocab.txt"
    vocabulary.write_text("a\nb\n")

    class Hostile(tf.Module):
        def __init__(self):
            super().__init__()
            self.table = tf.lookup.StaticHashTable(
                tf.lookup.TextFileInitializer(
                    str(vocabulary),
                    tf.string,
                    tf.lookup.TextFileIndex.WHOLE_LINE,
                    tf.int64,
                    tf.lookup.TextFileIndex.LINE_NUMBER,
                ),
                -1,
            )

        @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
        def leak(self, text):
            tf.io.write_file(str(target), text)
            return {"read": tf.io.read_file("/etc/hostname")}

        @tf.function(input_signature=[])
        def listing(self):
            return {"files": tf.io.matching_files("/etc/*")}

        @tf.function(input_signature=[tf.TensorSpec([], tf.float32)])
        def summaries(self, value):
            writer = tf.raw_ops.SummaryWriter(shared_name="hostile", container="")
            tf.raw_ops.CreateSummaryFileWriter(
                writer=writer,
                logdir=str(folder.parent / "logs"),
                max_queue=1,
                flush_millis=10,
                filename_suffix=".x",
            )
            return {"value": value * 2.0}

        @tf.function(input_signature=[tf.TensorSpec([], tf.float32)])
        def python(self, value):
            a = tf.numpy_function(lambda v: v + 1, [value], tf.float32)
            b = tf.py_function(lambda v: v * 2, [value], tf.float32)
            return {"a": a, "b": b}

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def lookup(self, words):
            return {"ids": self.table.lookup(words)}

    module = Hostile()
    signatures = {
        name: getattr(module, name) for name in ("leak", "listing", "summaries", "python", "lookup")
    }
    tf.saved_model.save(module, str(folder), signatures=signatures)
    return folder


def _tf1_hostile_graph(target: Path):
    """A TF1 graph: a Saver whose restore op also writes a file, a train op that reads one,
    and unreachable ops that list files, read whole files and print to a file."""
    graph = tf.Graph()
    with graph.as_default():
        w = v1.get_variable("W", [2])
        loss = tf.reduce_sum(w * w, name="loss")
        step = v1.train.GradientDescentOptimizer(0.1).minimize(loss)
        secret = tf.io.read_file("/etc/hostname", name="steal")
        train_op = tf.group(step, secret, name="train_and_read")
        v1.add_to_collection("train_op", train_op)
        tf.io.matching_files("/etc/*", name="listing")
        reader = v1.WholeFileReader(name="whole_file")
        queue = v1.FIFOQueue(1, tf.string, name="queue")
        reader.read(queue, name="whole_file_read")
        tf.print("hello", output_stream=f"file://{target}.print", name="print_to_file")
        saver = v1.train.Saver()
        saver_def = saver.as_saver_def()
        write = tf.io.write_file(str(target), "pwned", name="sneaky_write")
        restore = graph.get_operation_by_name(saver_def.restore_op_name)
        saver_def.restore_op_name = tf.group(restore, write, name="restore_and_write").name
    return graph, saver_def


def _dataset_graph_def():
    """A dataset whose graph reads lines of a file and maps ``ReadFile`` over names."""
    dataset = tf.data.TextLineDataset(["/etc/hostname"]).map(tf.io.read_file)
    return dataset._as_serialized_graph().numpy()


def _add_dataset_from_graph(graph: tf.Graph, serialized: bytes, name: str) -> None:
    with graph.as_default():
        constant = tf.constant(serialized, name=f"{name}/graph_def")
        tf.raw_ops.DatasetFromGraph(graph_def=constant, name=name)


def _nest(serialized: bytes) -> bytes:
    """A GraphDef whose only dataset is ``DatasetFromGraph`` of ``serialized`` (two levels)."""
    graph = tf.Graph()
    _add_dataset_from_graph(graph, serialized, "inner_dataset")
    return graph.as_graph_def().SerializeToString()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """Paths of every hostile artifact, and the file they would write."""
    folder = tmp_path_factory.mktemp("hostile")
    target = folder / "pwned.txt"
    paths = {"target": target}
    paths["saved_model"] = _tf2_hostile_saved_model(folder / "saved_model", target)

    graph, saver_def = _tf1_hostile_graph(target)
    serialized = _dataset_graph_def()
    _add_dataset_from_graph(graph, serialized, "dataset")
    _add_dataset_from_graph(graph, _nest(serialized), "nested_dataset")
    with graph.as_default():
        v1.train.export_meta_graph(str(folder / "hostile.meta"), saver_def=saver_def)
    paths["meta"] = folder / "hostile.meta"

    graph_def = graph.as_graph_def()
    custom = graph_def.node.add()
    custom.name, custom.op = "evil", "MyEvilOp"
    tf.io.write_graph(graph_def, str(folder), "hostile.pb", as_text=False)
    tf.io.write_graph(graph_def, str(folder), "hostile.pbtxt", as_text=True)
    paths["pb"], paths["pbtxt"] = folder / "hostile.pb", folder / "hostile.pbtxt"

    text_model = folder / "saved_model_text"
    shutil.copytree(paths["saved_model"], text_model)
    from google.protobuf import text_format

    from tfexplore._tf import protos

    proto = protos().saved_model_pb2.SavedModel()
    proto.ParseFromString((text_model / "saved_model.pb").read_bytes())
    extra = proto.meta_graphs[0].graph_def.node.add()
    extra.name, extra.op = "evil", "MyEvilOp"
    (text_model / "saved_model.pb").unlink()
    (text_model / "saved_model.pbtxt").write_text(text_format.MessageToString(proto))
    paths["saved_model_text"] = text_model
    assert not target.exists()
    return paths


def _found(report) -> dict[tuple[str, str | None], set]:
    """``{(op_type, category): {pulled_in_by entries}}`` of the risky findings."""
    result: dict = {}
    for finding in report.findings:
        result.setdefault((finding.op_type, finding.category), set()).update(finding.pulled_in_by)
    return result


# -- findings ---------------------------------------------------------------------------------
def test_tf2_saved_model_signatures_pull_in_each_risky_op(hostile):
    before = fingerprint(hostile["saved_model"])
    model = tfexplore.open(hostile["saved_model"])
    found = _found(model.safety)
    assert found[("WriteFile", "writes files")] == {"signature:leak"}
    assert found[("ReadFile", "reads files")] == {"signature:leak"}
    assert found[("MatchingFiles", "reads files")] == {"signature:listing"}
    assert found[("CreateSummaryFileWriter", "writes summaries")] == {"signature:summaries"}
    assert found[("SummaryWriter", "writes summaries")] == {"signature:summaries"}
    assert found[("PyFunc", "runs Python")] == {"signature:python"}
    assert found[("EagerPyFunc", "runs Python")] == {"signature:python"}
    table = found[("InitializeTableFromTextFileV2", "reads files")]
    assert {"signature:__saved_model_init_op", "init:saved_model_main_op"} <= table
    assert not any("restore" in pulled for pulled in found.values())
    frame = model.safety.frame
    write = frame[frame["op_type"] == "WriteFile"].iloc[0]
    assert write["function"] and write["signatures"] == ["leak"] and not write["restore"]
    # the Saver's own checkpoint I/O (in the traced save/restore functions) is expected
    assert {f.op_type for f in model.safety.expected} == {
        "SaveV2",
        "MergeV2Checkpoints",
        "RestoreV2",
    }
    explanation = str(model.explain())
    assert "WriteFile" in explanation and "risky" not in explanation.split("##")[0]
    assert not hostile["target"].exists() and fingerprint(hostile["saved_model"]) == before


def test_tf1_meta_restore_and_train_ops_are_named(hostile):
    meta = tfexplore.open(hostile["meta"])
    report = meta.safety
    found = _found(report)
    assert found[("WriteFile", "writes files")] == {"restore"}
    assert found[("ReadFile", "reads files")] >= {"train"}
    assert found[("MatchingFiles", "reads files")] == set()
    assert found[("WholeFileReaderV2", "reads files")] == set()
    assert found[("PrintV2", "writes files")] == set()
    assert ("RestoreV2", "checkpoint I/O") not in found  # the Saver's own restore is expected
    assert "restore" in {p for f in report.expected for p in f.pulled_in_by}
    frame = report.frame
    row = frame[(frame["op_type"] == "WriteFile")].iloc[0]
    assert row["node"] == "sneaky_write" and row["restore"] and not row["train"]
    assert "WriteFile" in str(meta.explain()) and "sneaky_write" in str(meta.explain())


def test_dataset_graphs_are_parsed_and_scanned_recursively(hostile):
    report = tfexplore.open(hostile["meta"]).safety
    nested = [f for f in report.findings if f.nested_in]
    by_place = {(f.op_type, f.nested_in.count(">")) for f in nested}
    assert ("TextLineDatasetV2", 0) in by_place or ("TextLineDataset", 0) in by_place
    assert ("ReadFile", 0) in by_place  # the map function of the dataset graph
    assert ("DatasetFromGraph", 0) in by_place  # the inner DatasetFromGraph of the nesting
    # the nested copy is the same graph: scanned once, where it was first met (issue 11.8)
    assert report.scanned["repeated nested graphs"] == 1
    read_in_map = next(f for f in nested if f.op_type == "ReadFile")
    assert read_in_map.function is not None and "dataset" in read_in_map.nested_in
    outer = {f.node for f in report.findings if f.op_type == "DatasetFromGraph" and not f.nested_in}
    assert outer == {"dataset", "nested_dataset"}


@pytest.mark.parametrize("kind", ["pb", "pbtxt"])
def test_frozen_graphs_flag_the_same_ops_and_custom_ops(hostile, kind):
    artifact = tfexplore.open(hostile[kind])
    assert artifact.kind == "graph_def"
    found = _found(artifact.safety)
    for op, category in [
        ("WriteFile", "writes files"),
        ("ReadFile", "reads files"),
        ("MatchingFiles", "reads files"),
        ("WholeFileReaderV2", "reads files"),
        ("PrintV2", "writes files"),
        ("MyEvilOp", "custom op"),
        ("DatasetFromGraph", "unchecked embedded graphs or programs"),
    ]:
        assert (op, category) in found, op
    assert all(not pulled for pulled in found.values())  # a GraphDef has no entry points
    assert "MyEvilOp" in str(artifact.explain())


def test_text_saved_model_is_scanned_like_the_binary_one(hostile):
    text = tfexplore.open(hostile["saved_model_text"]).safety
    binary = tfexplore.open(hostile["saved_model"]).safety
    assert set(_found(text)) == set(_found(binary)) | {("MyEvilOp", "custom op")}


def test_keras_lambda_and_custom_objects_are_listed_without_running_them(tmp_path):
    import keras

    marker = tmp_path / "custom_code_ran.txt"

    @keras.saving.register_keras_serializable(package="hostile")
    class Doubler(keras.layers.Layer):
        def call(self, inputs):
            marker.write_text("ran")
            return inputs * 2.0

    inputs = keras.Input(shape=(3,), name="x")
    hidden = keras.layers.Lambda(lambda t: t * 2.0, name="double")(inputs)
    hidden = Doubler(name="doubler")(hidden)
    outputs = keras.layers.Dense(1, name="out")(hidden)
    keras.Model(inputs, outputs).save(tmp_path / "hostile.keras")
    marker.unlink()  # building the model ran it once

    artifact = tfexplore.open(tmp_path / "hostile.keras")
    report = artifact.safety
    assert {(f.op_type, f.node, f.category, f.pulled_in_by) for f in report.findings} == {
        ("Lambda", "double", "runs Python", ("load",)),
        ("custom object", "hostile>Doubler", "runs Python", ("load",)),
    }
    assert list(report.frame["verdict"]) == ["risky", "risky"]
    artifact.weights, artifact.stats(), str(artifact.explain())
    assert not marker.exists()  # inspecting never ran the file's code
    assert main(["scan", str(tmp_path / "hostile.keras")]) == EXIT_RISKY
    with pytest.raises(tfexplore.UnsafeArtifactError, match="Lambda"):
        tfexplore.session(tmp_path / "hostile.keras")
    assert not marker.exists()
    with tfexplore.session(tmp_path / "hostile.keras", trust=True) as trusted:
        assert set(trusted.variables["name"]) == {"out/kernel", "out/bias"}
    assert marker.exists()  # trusted loading does run it: the check above was meaningful


# -- clean artifacts --------------------------------------------------------------------------
def test_demo_run_is_clean_and_the_saver_io_expected(demo_run):
    run = tfexplore.open(demo_run)
    report = run.safety
    assert report.ok and report.findings == []
    assert {(f.op_type, f.pulled_in_by) for f in report.expected} == {
        ("RestoreV2", ("restore",)),
        ("SaveV2", ("save",)),
    }
    assert "train" in report.entry_points
    assert "None: every op" in str(run.latest.meta_graph.explain())


CORPUS_FLAGS = {  # what the corpus gives: only the PPO graph's in-memory cache is not flagged
    "ppo_ckpt10000_nostate": set(),
}


def _corpus_rows():
    manifest = CORPUS / "MANIFEST.tsv"
    return list(csv.DictReader(manifest.open(), delimiter="\t")) if manifest.exists() else []


@pytest.mark.corpus
@pytest.mark.parametrize("row", corpus_cases(_corpus_rows(), ids=lambda r: r["name"]))
def test_corpus_scans_clean(row, corpus):
    before = fingerprint(corpus / row["name"])
    artifact = tfexplore.open(corpus / row["open_path"])
    report = artifact.safety
    assert report.findings == [], report
    expected = {f.op_type for f in report.expected}
    if row["name"] in ("nxt_v1ckpt", "trafficsigns_v1ckpt"):  # V1 Savers
        assert expected == {"RestoreSlice", "SaveSlices"}
    elif artifact.kind in ("graph_def", "keras") or row["name"] in (
        "tf1_nometa_regression",
        "tf2_objckpt_vqvae",
    ):
        assert expected == set()  # no graph, or no Saver
    elif artifact.kind == "saved_model":  # SavedModel builders use sharded Savers
        assert expected == {"SaveV2", "MergeV2Checkpoints", "RestoreV2"}
    else:
        assert expected == {"SaveV2", "RestoreV2"}
    assert all(set(f.pulled_in_by) <= {"restore", "save"} for f in report.expected)
    assert fingerprint(corpus / row["name"]) == before


# -- the command ------------------------------------------------------------------------------
def test_scan_command_exit_codes_and_output(hostile, demo_run, capsys):
    assert main(["scan", str(hostile["meta"])]) == EXIT_RISKY
    out = capsys.readouterr().out
    assert "WriteFile" in out and "sneaky_write" in out and "restore" in out
    assert "not on the allowlist" in out.splitlines()[0]
    assert main(["scan", str(demo_run)]) == 0
    out = capsys.readouterr().out
    assert "every op is on the allowlist" in out and "RestoreV2" not in out
    assert main(["scan", "--all", str(demo_run)]) == 0
    assert "RestoreV2" in capsys.readouterr().out
    assert main(["scan", str(hostile["target"].parent / "missing.pb")]) == 1


def test_scan_command_in_a_fresh_process(hostile):
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-m", "tfexplore", "scan", str(hostile["pb"])],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == EXIT_RISKY, result.stderr[-2000:]
    assert "MyEvilOp" in result.stdout and "custom op" in result.stdout


def test_check_still_refuses_what_scan_lists(hostile):
    meta = tfexplore.open(hostile["meta"])
    with pytest.raises(tfexplore.UnsafeArtifactError, match="WriteFile"):
        safety.check(
            meta.proto.graph_def,
            [meta.saver_def["restore_op"]],
            feeds=[meta.saver_def["filename_tensor"]],
            saver_def=meta.proto.saver_def,
        )
