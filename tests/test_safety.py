"""tfexplore.safety: the closure of a fetch and the ops refused before anything runs.

Graphs are built by real TensorFlow in graph mode (``tf.Graph``) and read as GraphDefs; none of
their ops is run here."""

from __future__ import annotations

import pytest

from tfexplore.errors import UnsafeArtifactError
from tfexplore.safety import gate as safety

tf = pytest.importorskip("tensorflow")
v1 = tf.compat.v1


def _saver_graph(with_write: bool = False, target: str = "/tmp/never-written"):
    """A graph with two variables and a Saver; optionally a WriteFile wired into a group with
    the restore op, which then becomes the SaverDef's restore op (a hostile .meta)."""
    graph = tf.Graph()
    with graph.as_default():
        w = v1.get_variable("W", [2, 2])
        v1.get_variable("b", [2])
        tf.identity(w, name="out")
        saver = v1.train.Saver()
        saver_def = saver.as_saver_def()
        if with_write:
            write = tf.io.write_file(target, "pwned", name="sneaky_write")
            group = tf.group(
                graph.get_operation_by_name(saver_def.restore_op_name),
                write,
                name="restore_everything",
            )
            saver_def.restore_op_name = group.name
    return graph.as_graph_def(), saver_def


def test_closure_follows_data_and_control_inputs_and_stops_at_feeds():
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None], name="x")
        c = tf.constant(2.0, name="c")
        with tf.control_dependencies([tf.no_op(name="side")]):
            y = tf.multiply(x, c, name="y")
        tf.add(y, 1.0, name="unrelated")
        z = tf.square(y, name="z")
    graph_def = graph.as_graph_def()
    assert safety.ops_to_run(graph_def, [z]) == {"z", "y", "x", "c", "side"}
    assert safety.ops_to_run(graph_def, ["z:0"], feeds=["y:0"]) == {"z"}
    assert "unrelated" not in safety.ops_to_run(graph_def, "z")


def test_functions_are_followed_and_their_risky_ops_named():
    graph = tf.Graph()
    with graph.as_default():

        @tf.function
        def leak(value):
            tf.io.write_file("/tmp/leak", tf.strings.as_string(value))
            return value + 1.0

        out = leak(tf.constant(1.0, name="one"))
        tf.identity(out, name="result")
    graph_def = graph.as_graph_def()
    ops = safety.ops_to_run(graph_def, ["result"])
    inner = [name for name in ops if safety.FUNCTION_SEPARATOR in name]
    assert any(name.endswith("::WriteFile") for name in inner)
    with pytest.raises(UnsafeArtifactError) as caught:
        safety.check(graph_def, ["result"])
    message = str(caught.value)
    assert "WriteFile" in message and "in function" in message
    finding = caught.value.report.findings[0]
    assert finding.op_type == "WriteFile" and finding.function is not None


def test_cond_branches_are_followed():
    graph = tf.Graph()
    with graph.as_default():
        flag = v1.placeholder(tf.bool, [], name="flag")
        result = tf.cond(
            flag,
            lambda: tf.py_function(lambda: 1.0, [], tf.float32),
            lambda: tf.constant(0.0),
        )
        tf.identity(result, name="result")
    report = safety.check(graph.as_graph_def(), ["result"], trust=True)
    assert {f.op_type for f in report.findings} == {"EagerPyFunc"}
    assert report.findings[0].category == "runs Python"


def test_saver_restore_is_expected_io_but_a_wired_in_write_is_refused():
    graph_def, saver_def = _saver_graph()
    feeds = [saver_def.filename_tensor_name]
    report = safety.check(graph_def, [saver_def.restore_op_name], feeds=feeds, saver_def=saver_def)
    assert report.ok and {f.op_type for f in report.accepted} == {"RestoreV2"}
    save = safety.check(graph_def, [saver_def.save_tensor_name], feeds=feeds, saver_def=saver_def)
    assert save.ok and {f.op_type for f in save.accepted} == {"SaveV2"}

    hostile_def, hostile_saver = _saver_graph(with_write=True)
    with pytest.raises(UnsafeArtifactError) as caught:
        safety.check(
            hostile_def,
            [hostile_saver.restore_op_name],
            feeds=feeds,
            saver_def=hostile_saver,
            path="hostile.meta",
        )
    assert "WriteFile" in str(caught.value) and "sneaky_write" in str(caught.value)
    assert caught.value.path == "hostile.meta"


def test_checkpoint_io_without_the_saver_filename_is_refused():
    graph_def, saver_def = _saver_graph()
    # Without a SaverDef, checkpoint I/O is as risky as any file access.
    with pytest.raises(UnsafeArtifactError, match="RestoreV2"):
        safety.check(graph_def, [saver_def.restore_op_name])
    # A RestoreV2 whose prefix is a hard-coded constant is not the Saver's own read.
    for node in graph_def.node:
        if node.op == "RestoreV2":
            node.input[0] = "save/RestoreV2/tensor_names"
    with pytest.raises(UnsafeArtifactError, match="RestoreV2"):
        safety.check(
            graph_def,
            [saver_def.restore_op_name],
            feeds=[saver_def.filename_tensor_name],
            saver_def=saver_def,
        )


def test_unknown_ops_and_print_to_file_are_risky():
    from google.protobuf import text_format

    graph_def = text_format.Parse(
        """
        node { name: "a" op: "MyCustomOp" }
        node { name: "msg" op: "Const" attr { key: "dtype" value { type: DT_STRING } }
               attr { key: "value" value { tensor { dtype: DT_STRING tensor_shape {}
                                                    string_val: "hi" } } } }
        node { name: "p_err" op: "PrintV2" input: "msg"
               attr { key: "output_stream" value { s: "stderr" } } }
        node { name: "p_file" op: "PrintV2" input: "msg"
               attr { key: "output_stream" value { s: "file:///tmp/x" } } }
        """,
        tf.compat.v1.GraphDef(),
    )
    report = safety.check(graph_def, ["a", "p_err", "p_file"], trust=True)
    found = {(f.op_type, f.node, f.category) for f in report.findings}
    assert found == {("MyCustomOp", "a", "custom op"), ("PrintV2", "p_file", "writes files")}
    assert set(report.frame["node"]) == {"a", "p_file"}


def test_allow_by_op_type_or_category():
    graph = tf.Graph()
    with graph.as_default():
        dataset = tf.data.TFRecordDataset(["/tmp/records.tfrecord"])
        element = v1.data.make_one_shot_iterator(dataset).get_next()
        tf.identity(element, name="record")
    graph_def = graph.as_graph_def()
    with pytest.raises(UnsafeArtifactError, match="TFRecordDataset"):
        safety.check(graph_def, ["record"])
    assert safety.check(graph_def, ["record"], allow=["dataset reading files"]).ok
    by_type = safety.check(graph_def, ["record"], allow={"TFRecordDatasetV2", "TFRecordDataset"})
    assert by_type.ok and by_type.allowed


def test_risky_op_list_covers_the_known_families():
    for op in [
        "ReadFile",
        "WriteFile",
        "MatchingFiles",
        "WholeFileReaderV2",
        "TextLineReaderV2",
        "TFRecordReaderV2",
        "FixedLengthRecordReaderV2",
        "InitializeTableFromTextFileV2",
        "SaveV2",
        "MergeV2Checkpoints",
        "RestoreSlice",
        "CreateSummaryFileWriter",
        "WriteScalarSummary",
        "ImportEvent",
        "PyFunc",
        "EagerPyFunc",
        "DatasetFromGraph",
        "TextLineDataset",
        "SaveDatasetV2",
        "DebugIdentityV2",
    ]:
        assert op in safety.RISKY_OPS, op
