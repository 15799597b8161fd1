"""Issue 11, points 1-4: crafted artifacts that used to write, read or kill through
``tfexplore.session`` without ``trust=True``, and the allowlist that refuses them.

Each artifact is made the way the issue describes, by real TensorFlow (graph mode, nothing of it
run) with proto edits where TensorFlow would not write it. Each attack is run against
``tfexplore.session(...)`` beside a canary folder: it must raise an ``UnsafeArtifactError``
before the hostile op runs, leave the victim unchanged and write no new file; and
``tfexplore scan`` must flag it (exit 3)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures.common import fingerprint

import tfexplore
from tfexplore import safety
from tfexplore.cli import EXIT_RISKY, main
from tfexplore.errors import UnsafeArtifactError
from tfexplore.safety import allowlist as _op_allowlist

tf = pytest.importorskip("tensorflow")
v1 = tf.compat.v1
REPO = Path(__file__).resolve().parents[1]
ORIGINAL = b"original victim content\n"


@pytest.fixture
def canary(tmp_path):
    """A folder holding a victim file and a secret; ``canary.unchanged()`` asserts that no file
    below ``tmp_path`` changed and none appeared since the artifact was made."""

    class Canary:
        folder = tmp_path / "canary"
        victim = folder / "victim.txt"
        secret = folder / "secret.txt"

        def freeze(self):
            self.before = fingerprint(tmp_path)

        def unchanged(self):
            assert self.victim.read_bytes() == ORIGINAL
            assert fingerprint(tmp_path) == self.before

    result = Canary()
    result.folder.mkdir()
    result.victim.write_bytes(ORIGINAL)
    result.secret.write_text("alpha beta gamma alpha beta\n" * 4)
    return result


def _scan_exit(path) -> int:
    return main(["scan", str(path)])


# -- graphs with a Saver -----------------------------------------------------------------------
def _tf1_run(folder: Path, hostile, *, use_resource=False, edit_meta=None) -> Path:
    """A TF1 graph with two variables, a global step and a Saver, saved as a checkpoint (by TF,
    in a session of this test) and exported as ``model.ckpt.meta``. ``hostile(graph,
    saver_def)`` adds ops and may rewire the SaverDef before the export; ``edit_meta(meta)``
    edits the MetaGraphDef proto afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    graph = tf.Graph()
    with graph.as_default():
        w = v1.get_variable("W", [2, 2], use_resource=use_resource)
        v1.get_variable("b", [2], use_resource=use_resource)
        v1.get_variable(
            "global_step",
            [],
            tf.int64,
            initializer=v1.zeros_initializer(),
            trainable=False,
            use_resource=use_resource,
            collections=[v1.GraphKeys.GLOBAL_VARIABLES, v1.GraphKeys.GLOBAL_STEP],
        )
        tf.identity(w, name="out")
        saver = v1.train.Saver()
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            saver.save(session, str(folder / "model.ckpt"), write_meta_graph=False)
        saver_def = saver.as_saver_def()
        hostile(graph, saver_def)
        meta = v1.train.export_meta_graph(saver_def=saver_def)
    if edit_meta is not None:
        edit_meta(meta)
    path = folder / "model.ckpt.meta"
    path.write_bytes(meta.SerializeToString())
    return path


def _wire_into_restore(graph, saver_def, op) -> None:
    restore = graph.get_operation_by_name(saver_def.restore_op_name)
    group = tf.group(restore, op, name="restore_everything")
    saver_def.restore_op_name = group.name


def _session_refused(path, canary, match=None):
    canary.freeze()
    with pytest.raises(UnsafeArtifactError, match=match):
        tfexplore.session(path)
    canary.unchanged()


# -- point 1: a V1 Save whose file name is not the Saver's ------------------------------------
def _victim_filenames(graph, saver_def, victim: str):
    """``{label: string tensor}``: file names that reach the filename tensor but are not it."""
    filename = graph.get_tensor_by_name(saver_def.filename_tensor_name)
    victim_const = tf.constant(victim, name="victim_path")
    return {
        "selectv2": tf.raw_ops.SelectV2(condition=True, t=victim_const, e=filename),
        "select": tf.raw_ops.Select(condition=tf.constant(True), x=victim_const, y=filename),
        "identity_chain": tf.identity(tf.identity(victim_const)),
        "output_index": tf.raw_ops.IdentityN(input=[filename, victim_const])[1],
        "traversal_suffix": tf.strings.join([filename, tf.constant("/../../canary/victim.txt")]),
        "other_constant": victim_const,
    }


@pytest.mark.parametrize(
    "shape",
    ["selectv2", "select", "identity_chain", "output_index", "traversal_suffix", "other_constant"],
)
def test_point1_save_wired_into_restore_with_a_victim_file_name_is_refused(tmp_path, canary, shape):
    def hostile(graph, saver_def):
        name = _victim_filenames(graph, saver_def, str(canary.victim))[shape]
        w = graph.get_tensor_by_name("W:0")
        save = tf.raw_ops.Save(filename=name, tensor_names=["W"], data=[w], name="sneaky_save")
        _wire_into_restore(graph, saver_def, save)

    meta = _tf1_run(tmp_path / "run", hostile)
    _session_refused(meta, canary, match="Save")
    assert _scan_exit(meta) == EXIT_RISKY
    report = tfexplore.open(meta).safety
    assert any(f.node == "sneaky_save" and "restore" in f.pulled_in_by for f in report.findings)


def test_point1_the_same_save_with_trust_writes_the_victim(tmp_path, canary):
    """The attack is real: trusted, restoring overwrites the victim (so the refusal above is
    what protects it)."""

    def hostile(graph, saver_def):
        name = _victim_filenames(graph, saver_def, str(canary.victim))["selectv2"]
        # a constant, not W: the Save runs beside the restore's assigns, in any order
        value = tf.constant(7.0, name="stolen")
        _wire_into_restore(
            graph, saver_def, tf.raw_ops.Save(filename=name, tensor_names=["W"], data=[value])
        )

    meta = _tf1_run(tmp_path / "run", hostile)
    tfexplore.session(meta, trust=True).close()
    assert canary.victim.read_bytes() != ORIGINAL


def test_point1_real_savers_pass_sharded_or_not(tmp_path):
    """The file-name shapes TensorFlow's own Savers build (V2 sharded with StringJoin/
    ShardedFilename/Select of suffixes, V1 sharded with ShardedFilespec) are accepted."""
    for version, sharded in [
        (v1.train.SaverDef.V2, True),
        (v1.train.SaverDef.V1, True),
        (v1.train.SaverDef.V1, False),
    ]:
        graph = tf.Graph()
        with graph.as_default(), tf.device("/cpu:0"):
            v1.get_variable("W", [2, 2])
            with tf.device("/cpu:1"):
                v1.get_variable("b", [2])
            saver = v1.train.Saver(sharded=sharded, write_version=version)
        saver_def = saver.as_saver_def()
        graph_def = graph.as_graph_def()
        for fetch in (saver_def.restore_op_name, saver_def.save_tensor_name):
            report = safety.check(
                graph_def, [fetch], feeds=[saver_def.filename_tensor_name], saver_def=saver_def
            )
            assert report.ok and report.accepted, (version, sharded, fetch)
        # without the file name fed (it would be the Const default "model"), refused
        with pytest.raises(UnsafeArtifactError):
            safety.check(graph_def, [saver_def.restore_op_name], saver_def=saver_def)


# -- point 2: a TF2 SavedModel whose resource initializer saves to the victim ------------------
class _EvilResource(tf.saved_model.experimental.TrackableResource):
    """A resource whose initializer (run by tf.saved_model.load) writes a V1 checkpoint to a
    captured path."""

    def __init__(self, victim: str):
        super().__init__()
        self.victim = tf.constant(victim)

    def _create_resource(self):
        return tf.raw_ops.VarHandleOp(dtype=tf.float32, shape=[], shared_name="evil_handle")

    def _initialize(self):
        tf.raw_ops.Save(filename=self.victim, tensor_names=["x"], data=[tf.constant(1.0)])
        return tf.raw_ops.AssignVariableOp(resource=self.resource_handle, value=1.0)


def _tf2_initializer_attack(folder: Path, victim: Path) -> Path:
    module = tf.Module()
    module.evil = _EvilResource(str(victim))
    module.w = tf.Variable(1.0)

    @tf.function(input_signature=[])
    def serve():
        return {"out": module.w * 2.0}

    module.serve = serve
    tf.saved_model.save(module, str(folder), signatures={"serving_default": serve})
    # the (never executed) main-graph caller the old check asked for: it binds the
    # initializer's captured argument to saver_filename
    from tfexplore._tf import protos

    proto = protos().saved_model_pb2.SavedModel()
    proto.ParseFromString((folder / "saved_model.pb").read_bytes())
    meta = proto.meta_graphs[0]
    library = meta.graph_def.library
    initializer = next(
        f
        for f in library.function
        if "_initialize" in f.signature.name and any(n.op == "Save" for n in f.node_def)
    )
    caller = meta.graph_def.node.add()
    caller.name, caller.op = "bind_to_saver_filename", "StatefulPartitionedCall"
    caller.input.extend(["saver_filename"] * len(initializer.signature.input_arg))
    caller.attr["f"].func.name = initializer.signature.name
    caller.attr["Tin"].list.type.extend(a.type for a in initializer.signature.input_arg)
    caller.attr["Tout"].list.SetInParent()
    (folder / "saved_model.pb").write_bytes(proto.SerializeToString())
    return folder


def test_point2_tf2_initializer_save_bound_to_saver_filename_is_refused(tmp_path, canary):
    model = _tf2_initializer_attack(tmp_path / "model", canary.victim)
    _session_refused(model, canary, match="Save")
    assert _scan_exit(model) == EXIT_RISKY
    findings = tfexplore.open(model).safety.findings
    assert any(f.op_type == "Save" and "_initialize" in (f.function or "") for f in findings)


@pytest.mark.slow
def test_point2_the_attack_is_real_when_trusted(tmp_path, canary):
    """In a child process: trusted, tf.saved_model.load runs the initializer and overwrites
    the victim."""
    model = _tf2_initializer_attack(tmp_path / "model", canary.victim)
    code = f"import tfexplore; tfexplore.session({str(model)!r}, trust=True)"
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    subprocess.run([sys.executable, "-c", code], env=env, timeout=300, capture_output=True)
    assert canary.victim.read_bytes() != ORIGINAL


def test_real_tf2_saved_model_saver_functions_are_expected(tmp_path):
    """tf.saved_model.save's own traced_save/traced_restore stay the normal case."""
    module = tf.Module()
    module.w = tf.Variable([1.0, 2.0])
    module.table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(["a", "b"], [1, 2]), default_value=-1
    )
    module.lookup = tf.function(
        lambda k: module.table.lookup(k), input_signature=[tf.TensorSpec([None], tf.string)]
    )
    tf.saved_model.save(module, str(tmp_path / "model"))
    report = tfexplore.open(tmp_path / "model").safety
    assert report.ok, report
    assert {f.op_type for f in report.expected} >= {"SaveV2", "RestoreV2", "MergeV2Checkpoints"}
    assert _scan_exit(tmp_path / "model") == 0


# -- point 3: ops that were missing from the risky list -----------------------------------------
def test_point3_skipgram_into_dumptensor_exfiltration_is_refused(tmp_path, canary):
    """Skipgram reads the secret's words, DumpTensor would write them to a new file (neither
    has a Python wrapper in TF 2.21: NodeDefs added to the exported meta graph)."""
    log_dir = canary.folder / "dump"

    def add_exfiltration(meta):
        read = meta.graph_def.node.add()
        read.name, read.op = "read_secret", "Skipgram"
        read.attr["filename"].s = str(canary.secret).encode()
        read.attr["batch_size"].i = 4
        read.attr["window_size"].i = 1
        read.attr["min_count"].i = 0
        read.attr["subsample"].f = 0.0
        dump = meta.graph_def.node.add()
        dump.name, dump.op = "dump", "DumpTensor"
        dump.input.append("read_secret")
        dump.attr["T"].type = tf.string.as_datatype_enum
        dump.attr["log_dir_path"].s = str(log_dir).encode()
        dump.attr["file_name"].s = b"stolen"
        dump.attr["enabled"].b = True
        group = next(n for n in meta.graph_def.node if n.name == "save/restore_all")
        group.input.append("^dump")

    meta = _tf1_run(tmp_path / "run", lambda graph, saver_def: None, edit_meta=add_exfiltration)
    _session_refused(meta, canary, match="DumpTensor")
    assert not log_dir.exists()
    assert _scan_exit(meta) == EXIT_RISKY
    found = {f.op_type: f.pulled_in_by for f in tfexplore.open(meta).safety.findings}
    assert "restore" in found["Skipgram"] and "restore" in found["DumpTensor"]


@pytest.mark.slow
def test_point3_abort_in_restore_is_refused_and_the_process_lives(tmp_path, canary):
    def hostile(graph, saver_def):
        _wire_into_restore(graph, saver_def, tf.raw_ops.Abort(error_msg="killed", name="kill"))

    meta = _tf1_run(tmp_path / "run", hostile)
    code = (
        "import tfexplore, sys\n"
        "try:\n"
        f"    tfexplore.session({str(meta)!r})\n"
        "except tfexplore.UnsafeArtifactError as exc:\n"
        "    print('refused', 'Abort' in str(exc)); sys.exit(0)\n"
        "sys.exit(5)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, timeout=300, capture_output=True, text=True
    )
    assert done.returncode == 0 and "refused True" in done.stdout, done.stderr[-2000:]
    assert _scan_exit(meta) == EXIT_RISKY


@pytest.mark.parametrize(
    "op",
    [
        "Skipgram",
        "DumpTensor",
        "CalibrationStatisticsSaver",
        "GenerateVocabRemapping",
        "FixedUnigramCandidateSampler",
        "EncodeProto",
        "DecodeProtoV2",
        "Abort",
        "_HostSend",
        "_HostRecv",
        "DTensorRestoreV2",
        "Copy",
        "XlaCallModule",
        "FIFOQueueV2",
        "SleepOp",
    ],
)
def test_point3_each_missing_op_needs_trust(op):
    verdict = _op_allowlist.verdict(op)
    assert not verdict.allowed and verdict.family != _op_allowlist.UNKNOWN, verdict
    from google.protobuf import text_format

    graph_def = text_format.Parse(f'node {{ name: "x" op: "{op}" }}', tf.compat.v1.GraphDef())
    with pytest.raises(UnsafeArtifactError, match=op):
        safety.check(graph_def, ["x"])
    assert [f.op_type for f in safety.scan(graph_def).findings] == [op]


# -- point 4: ops that ran but were never checked ------------------------------------------------
def _write_function(victim: Path):
    @tf.function(input_signature=[tf.TensorSpec([], tf.float32)])
    def writes(x):
        tf.io.write_file(str(victim), "pwned")
        return x

    return writes.get_concrete_function().function_def


def _pure_function(name_hint="pure"):
    @tf.function(input_signature=[tf.TensorSpec([], tf.float32)])
    def pure(x):
        return x * 2.0

    return pure.get_concrete_function().function_def


def test_point4_gradient_function_reached_by_symbolic_gradient_is_refused(tmp_path, canary):
    forward, gradient = _pure_function(), _write_function(canary.victim)

    def hostile(graph, saver_def):
        _wire_into_restore(graph, saver_def, tf.constant(1.0, name="grad_x").op)

    def add_gradient(meta):
        library = meta.graph_def.library
        library.function.add().CopyFrom(forward)
        library.function.add().CopyFrom(gradient)
        entry = library.gradient.add()
        entry.function_name = forward.signature.name
        entry.gradient_func = gradient.signature.name
        node = meta.graph_def.node.add()
        node.name, node.op = "symbolic_gradient", "SymbolicGradient"
        node.input.extend(["grad_x", "grad_x"])
        node.attr["f"].func.name = forward.signature.name
        node.attr["Tin"].list.type.extend([tf.float32.as_datatype_enum] * 2)
        node.attr["Tout"].list.type.append(tf.float32.as_datatype_enum)
        group = next(n for n in meta.graph_def.node if n.name == "restore_everything")
        group.input.append("^symbolic_gradient")

    meta = _tf1_run(tmp_path / "run", hostile, edit_meta=add_gradient)
    _session_refused(meta, canary, match="WriteFile")
    assert _scan_exit(meta) == EXIT_RISKY


def test_point4_function_named_inside_a_name_attr_list_is_refused(tmp_path, canary):
    inner = _write_function(canary.victim)
    outer = _pure_function()

    def hostile(graph, saver_def):
        _wire_into_restore(graph, saver_def, tf.constant(1.0, name="call_x").op)

    def add_nested(meta):
        library = meta.graph_def.library
        library.function.add().CopyFrom(inner)
        wrapper = library.function.add()
        wrapper.CopyFrom(outer)
        wrapper.signature.name = "outer_with_func_attr"
        attr = wrapper.signature.attr.add()
        attr.name, attr.type = "inner", "func"
        call = wrapper.node_def.add()
        call.name, call.op = "call_inner", "PartitionedCall"
        call.input.append(wrapper.signature.input_arg[0].name)
        call.attr["f"].placeholder = "inner"
        call.attr["Tin"].list.type.append(tf.float32.as_datatype_enum)
        call.attr["Tout"].list.type.append(tf.float32.as_datatype_enum)
        node = meta.graph_def.node.add()
        node.name, node.op = "call_outer", "PartitionedCall"
        node.input.append("call_x")
        node.attr["f"].func.name = "outer_with_func_attr"
        node.attr["f"].func.attr["inner"].func.name = inner.signature.name
        node.attr["Tin"].list.type.append(tf.float32.as_datatype_enum)
        node.attr["Tout"].list.type.append(tf.float32.as_datatype_enum)
        group = next(n for n in meta.graph_def.node if n.name == "restore_everything")
        group.input.append("^call_outer")

    meta = _tf1_run(tmp_path / "run", hostile, edit_meta=add_nested)
    _session_refused(meta, canary, match="WriteFile")
    assert _scan_exit(meta) == EXIT_RISKY


def _rewire_variable(meta, variable: str, field: str, target: str) -> None:
    """Point ``field`` (snapshot_name, initializer_name) of ``variable``'s VariableDef in
    every variables collection to ``target``."""
    from tensorflow.core.framework import variable_pb2

    for key in ("variables", "global_step", "trainable_variables"):
        if key not in meta.collection_def:
            continue
        values = meta.collection_def[key].bytes_list.value
        for index, raw in enumerate(values):
            variable_def = variable_pb2.VariableDef()
            variable_def.ParseFromString(raw)
            if variable_def.variable_name.split(":")[0] == variable:
                setattr(variable_def, field, target)
                values[index] = variable_def.SerializeToString()


def test_point4_global_step_snapshot_that_writes_is_refused(tmp_path, canary):
    """session(meta) restores (clean), then reads global_step (a resource variable):
    TensorFlow follows VariableDef.snapshot_name, here a ReadVariableOp with a WriteFile
    control input. Refused before it runs."""

    def hostile(graph, saver_def):
        handle = graph.get_tensor_by_name("global_step:0")
        with tf.control_dependencies([tf.io.write_file(str(canary.victim), "pwned")]):
            tf.raw_ops.ReadVariableOp(resource=handle, dtype=tf.int64, name="evil_snapshot")

    meta = _tf1_run(
        tmp_path / "run",
        hostile,
        use_resource=True,
        edit_meta=lambda m: _rewire_variable(m, "global_step", "snapshot_name", "evil_snapshot:0"),
    )
    _session_refused(meta, canary, match="WriteFile")
    assert _scan_exit(meta) == EXIT_RISKY
    assert any(f.op_type == "WriteFile" for f in tfexplore.open(meta).safety.findings)


def test_point4_ref_variable_snapshot_is_never_fetched(tmp_path, canary):
    """A ref variable's snapshot (Identity with a WriteFile control input) is not what
    tfexplore reads: the session opens, reads global_step and W, and nothing is written."""

    def hostile(graph, saver_def):
        step = graph.get_tensor_by_name("global_step:0")
        with tf.control_dependencies([tf.io.write_file(str(canary.victim), "pwned")]):
            tf.identity(step, name="evil_snapshot")

    meta = _tf1_run(
        tmp_path / "run",
        hostile,
        use_resource=False,
        edit_meta=lambda m: _rewire_variable(m, "global_step", "snapshot_name", "evil_snapshot:0"),
    )
    canary.freeze()
    with tfexplore.session(meta) as session:
        assert session.global_step == 0
        assert session.eval("W").shape == (2, 2)
    canary.unchanged()


def test_point4_resource_variable_read_through_a_writing_snapshot_is_refused(tmp_path, canary):
    """A resource variable's snapshot is a ReadVariableOp with a WriteFile control input:
    evaluating the variable (values(), eval) fetches it and is refused."""

    def hostile(graph, saver_def):
        handle = graph.get_tensor_by_name("W:0")
        with tf.control_dependencies([tf.io.write_file(str(canary.victim), "pwned")]):
            tf.raw_ops.ReadVariableOp(resource=handle, dtype=tf.float32, name="evil_read")

    meta = _tf1_run(
        tmp_path / "run",
        hostile,
        use_resource=True,
        edit_meta=lambda m: _rewire_variable(m, "W", "snapshot_name", "evil_read:0"),
    )
    canary.freeze()
    with tfexplore.session(meta) as session:  # the restore and global_step are clean
        with pytest.raises(UnsafeArtifactError, match="WriteFile"):
            session.eval("W")
        with pytest.raises(UnsafeArtifactError, match="WriteFile"):
            session._backend.values(["W"])
    canary.unchanged()


def test_point4_initializer_that_writes_is_refused(tmp_path, canary):
    """No checkpoint: the session runs the variables' initializers; one is rewired
    (VariableDef.initializer_name) to an op with a WriteFile control input."""

    def hostile(graph, saver_def):
        with tf.control_dependencies([tf.io.write_file(str(canary.victim), "pwned")]):
            tf.no_op(name="evil_init")

    meta = _tf1_run(
        tmp_path / "run",
        hostile,
        edit_meta=lambda m: _rewire_variable(m, "b", "initializer_name", "evil_init"),
    )
    for data in meta.parent.glob("model.ckpt.*"):
        if data.suffix != ".meta":
            data.unlink()
    (meta.parent / "checkpoint").unlink()
    _session_refused(meta, canary, match="WriteFile")


def test_demo_run_restores_trains_and_saves_without_trust(demo_run, copy_of, tmp_path):
    from tfexplore.demo import regression_data

    x, y = regression_data(32)
    with tfexplore.session(copy_of(demo_run)) as session:
        assert session.global_step == 30
        history = session.train(3, feed={"inputs/x": x, "inputs/y": y})
        assert len(history) == 3 and session.global_step == 33
        prefix = session.save(tmp_path / "saved")
    assert Path(prefix + ".index").is_file() and prefix.endswith("-33")


# -- the allowlist itself ---------------------------------------------------------------------
def _registry() -> list[str]:
    from tensorflow.core.framework import op_def_pb2
    from tensorflow.python.client import pywrap_tf_session

    ops = op_def_pb2.OpList()
    ops.ParseFromString(pywrap_tf_session.TF_GetBuffer(pywrap_tf_session.TF_GetAllOpList()))
    return [op.name for op in ops.op]


def test_every_registry_op_is_classified_with_a_reason():
    registry = _registry()
    assert len(registry) > 1500
    unclassified = [
        op
        for op in registry
        if op not in _op_allowlist.ALLOWED_OPS and op not in _op_allowlist.NEEDS_TRUST_OPS
    ]
    assert unclassified == [], "run tools/op_allowlist.py and review: " + ", ".join(
        unclassified[:20]
    )
    assert not set(_op_allowlist.ALLOWED_OPS) & set(_op_allowlist.NEEDS_TRUST_OPS)
    for op in registry:
        verdict = _op_allowlist.verdict(op)
        assert verdict.family in _op_allowlist.FAMILY_REASONS and verdict.reason, op
        assert verdict.family != _op_allowlist.UNKNOWN, op


def test_a_new_or_made_up_op_needs_trust():
    for op in ("TotallyNewOp2027", "WriteFileV2", "MyCompany>Op", "", "matmul"):
        verdict = _op_allowlist.verdict(op)
        assert not verdict.allowed and verdict.family == _op_allowlist.UNKNOWN, op


def test_no_allowed_op_is_named_like_file_network_or_python_io():
    """A second look at the allowlist: op names that mention files, readers, writers,
    transfers, checkpoints, TPU, queues... are all in a needs-trust category, except these
    reviewed pure ones."""
    reviewed = {
        "IteratorGetModelProto",
        "SparseCountSparseOutput",
        "RaggedCountSparseOutput",
        "DenseCountSparseOutput",
        "ShardedFilespec",
        "ShardedFilename",
        "TensorListPushBack",
        "TensorListPushBackBatch",
        "BoostedTreesExampleDebugOutputs",
    }
    words = (
        "file",
        "reader",
        "summarywriter",
        "pyfunc",
        "send",
        "recv",
        "collective",
        "rpc",
        "debugidentity",
        "dumptensor",
        "save",
        "restore",
        "tpu",
        "abort",
        "queue",
        "barrier",
        "sleep",
        "socket",
        "proto",
        "vocab",
        "skipgram",
    )
    flagged = {op for op in _op_allowlist.ALLOWED_OPS if any(w in op.lower() for w in words)}
    assert flagged == reviewed


@pytest.mark.slow
def test_keeper_script_reports_no_difference():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, str(REPO / "tools" / "op_allowlist.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "1908 registry ops" in done.stdout or "registry ops" in done.stdout


def test_closure_and_check_stay_linear_on_a_20000_op_graph():
    """A 20,000-op chain with a function call every 100 ops, a Saver restore: the check takes
    well under a few seconds (no quadratic walk)."""
    import time

    from google.protobuf import text_format

    graph_def = tf.compat.v1.GraphDef()
    text_format.Parse(
        'node { name: "n0" op: "Const" attr { key: "dtype" value { type: DT_FLOAT } }'
        ' attr { key: "value" value { tensor { dtype: DT_FLOAT tensor_shape {} '
        "float_val: 1 } } } }",
        graph_def,
    )
    function = graph_def.library.function.add()
    function.signature.name = "f"
    for index in range(1, 20000):
        node = graph_def.node.add()
        node.name, node.op = f"n{index}", "Identity"
        node.input.append(f"n{index - 1}")
        if index % 100 == 0:
            node.input.append(f"^n{index // 2}")
            call = graph_def.node.add()
            call.name, call.op = f"call{index}", "PartitionedCall"
            call.attr["f"].func.name = "f"
            node.input.append(f"^call{index}")
    started = time.perf_counter()
    report = safety.check(graph_def, ["n19999"])
    elapsed = time.perf_counter() - started
    assert report.ok and len(report.ops) == 20000 + 199
    scanned = safety.scan(graph_def)
    assert scanned.ok and time.perf_counter() - started < 10, elapsed
    assert elapsed < 5, elapsed


# -- playing the attacker: neighbours of points 1-4 --------------------------------------------
def test_restore_that_also_saves_over_the_checkpoint_it_reads_is_refused(tmp_path, canary):
    """The Saver's own SaveV2, with the very file name tfexplore feeds, wired into the restore
    op: restoring would overwrite the user's checkpoint. A restore only reads."""

    def hostile(graph, saver_def):
        save = graph.get_tensor_by_name(saver_def.save_tensor_name).op
        _wire_into_restore(graph, saver_def, save)

    meta = _tf1_run(tmp_path / "run", hostile)
    before = fingerprint(tmp_path / "run")
    with pytest.raises(UnsafeArtifactError, match="SaveV2"):
        tfexplore.session(meta)
    assert fingerprint(tmp_path / "run") == before
    assert _scan_exit(meta) == EXIT_RISKY


def test_train_op_with_a_write_is_refused_before_the_first_step(tmp_path, canary):
    from tfexplore.demo import regression_data

    folder = tmp_path / "run"
    folder.mkdir()
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 3], name="x")
        y = v1.placeholder(tf.float32, [None, 1], name="y")
        w = v1.get_variable("W", [3, 1])
        loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - y), name="loss")
        step = v1.train.GradientDescentOptimizer(0.1).minimize(loss)
        with tf.control_dependencies([step, tf.io.write_file(str(canary.victim), "pwned")]):
            train = tf.no_op(name="train")
        graph.clear_collection("train_op")  # minimize() put GradientDescent there
        v1.add_to_collection("train_op", train)
        saver = v1.train.Saver()
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            saver.save(session, str(folder / "model.ckpt"))
    canary.freeze()
    inputs, targets = regression_data(8)
    with tfexplore.session(folder) as session:
        with pytest.raises(UnsafeArtifactError, match="WriteFile"):
            session.train(1, feed={"x": inputs, "y": targets})
    canary.unchanged()
    report = tfexplore.scan(folder)
    assert any(f.op_type == "WriteFile" and "train" in f.pulled_in_by for f in report.findings)


def _tf1_saved_model(folder: Path, asset_name: str, init_saves: bool) -> Path:
    """A TF1 builder export whose asset tensor IS the Saver's filename tensor, and whose
    legacy init op runs the Saver's save (so the asset path would become a write target)."""
    graph = tf.Graph()
    with graph.as_default():
        w = v1.get_variable("W", [2])
        tf.identity(w, name="out")
        saver = v1.train.Saver()
        saver_def = saver.as_saver_def()
        filename = graph.get_tensor_by_name(saver_def.filename_tensor_name)
        v1.add_to_collection(v1.GraphKeys.ASSET_FILEPATHS, filename)
        init = (
            graph.get_tensor_by_name(saver_def.save_tensor_name).op
            if init_saves
            else tf.no_op(name="noop_init")
        )
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            builder = v1.saved_model.Builder(str(folder))
            builder.add_meta_graph_and_variables(
                session, ["serve"], saver=saver, legacy_init_op=init
            )
            builder.save()
    from tfexplore._tf import protos

    proto = protos().saved_model_pb2.SavedModel()
    proto.ParseFromString((folder / "saved_model.pb").read_bytes())
    meta = proto.meta_graphs[0]
    if not meta.asset_file_def:
        asset = meta.asset_file_def.add()
        asset.tensor_info.name = saver_def.filename_tensor_name
    for asset in meta.asset_file_def:
        asset.filename = asset_name
    (folder / "saved_model.pb").write_bytes(proto.SerializeToString())
    return folder


def test_tf1_saved_model_asset_feed_cannot_aim_the_saver(tmp_path, canary):
    """The init op runs with asset tensors fed by tfexplore: an asset tensor that is the
    Saver's filename does not make the Saver's SaveV2 acceptable, and an asset name leading
    out of assets/ is refused."""
    inside = _tf1_saved_model(tmp_path / "inside", "victim.txt", init_saves=True)
    (inside / "assets").mkdir(exist_ok=True)
    canary.freeze()
    with pytest.raises(UnsafeArtifactError, match="SaveV2"):
        tfexplore.session(inside)
    canary.unchanged()
    escaping = _tf1_saved_model(tmp_path / "escaping", "../../canary/victim.txt", init_saves=False)
    canary.freeze()
    with pytest.raises(UnsafeArtifactError, match="outside its assets folder"):
        tfexplore.session(escaping)
    canary.unchanged()


def test_implementation_selector_siblings_are_checked(tmp_path, canary):
    """Grappler may swap a called function for another with the same api_implements: the
    writing sibling is part of the closure."""
    called, sibling = _pure_function(), _write_function(canary.victim)

    def hostile(graph, saver_def):
        _wire_into_restore(graph, saver_def, tf.constant(1.0, name="call_x").op)

    def add_sibling(meta):
        library = meta.graph_def.library
        for function, device in ((called, "CPU"), (sibling, "GPU")):
            copy = library.function.add()
            copy.CopyFrom(function)
            copy.attr["api_implements"].s = b"fast_op"
            copy.attr["api_preferred_device"].s = device.encode()
        node = meta.graph_def.node.add()
        node.name, node.op = "call_fast", "StatefulPartitionedCall"
        node.input.append("call_x")
        node.attr["f"].func.name = called.signature.name
        node.attr["Tin"].list.type.append(tf.float32.as_datatype_enum)
        node.attr["Tout"].list.type.append(tf.float32.as_datatype_enum)
        group = next(n for n in meta.graph_def.node if n.name == "restore_everything")
        group.input.append("^call_fast")

    meta = _tf1_run(tmp_path / "run", hostile, edit_meta=add_sibling)
    _session_refused(meta, canary, match="WriteFile")


def test_a_func_attr_naming_an_op_is_checked_as_that_op():
    from google.protobuf import text_format

    graph_def = text_format.Parse(
        'node { name: "g" op: "SymbolicGradient"'
        ' attr { key: "f" value { func { name: "WriteFile" } } } }',
        tf.compat.v1.GraphDef(),
    )
    with pytest.raises(UnsafeArtifactError, match="WriteFile"):
        safety.check(graph_def, ["g"])
    assert [f.op_type for f in safety.scan(graph_def).findings] == ["WriteFile"]


def test_tf1_saved_model_main_op_with_a_write_is_refused(tmp_path, canary):
    """The builder's main op (run by session() after restoring) with a WriteFile control
    input, next to a table initialized from tensors (allowed)."""
    folder = tmp_path / "export"
    graph = tf.Graph()
    with graph.as_default():
        w = v1.get_variable("W", [2])
        tf.identity(w, name="out")
        table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(["a", "b"], [1, 2]), default_value=-1
        )
        tf.identity(table.lookup(tf.constant(["a"])), name="looked_up")
        with tf.control_dependencies([tf.io.write_file(str(canary.victim), "pwned")]):
            main_op = tf.group(v1.tables_initializer(), name="main_op")
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            builder = v1.saved_model.Builder(str(folder))
            builder.add_meta_graph_and_variables(session, ["serve"], main_op=main_op)
            builder.save()
    _session_refused(folder, canary, match="WriteFile")
    report = tfexplore.scan(folder)
    assert any(
        f.op_type == "WriteFile" and "init:saved_model_main_op" in f.pulled_in_by
        for f in report.findings
    )
    assert not any(f.op_type.startswith("InitializeTable") for f in report.findings)


def test_init_collections_are_entry_points_in_scan(tmp_path):
    graph = tf.Graph()
    with graph.as_default():
        v1.get_variable("W", [2])
        saver = v1.train.Saver()
        for collection in ("table_initializer", "local_init_op", "init_op"):
            write = tf.io.write_file(f"/nonexistent/{collection}", "x", name=f"{collection}_write")
            v1.add_to_collection(collection, write)
        meta = v1.train.export_meta_graph(saver_def=saver.as_saver_def())
    report = safety.scan(meta)
    pulled = {f.node: f.pulled_in_by for f in report.findings}
    for collection in ("table_initializer", "local_init_op", "init_op"):
        assert pulled[f"{collection}_write"] == (f"init:{collection}",)


def test_a_function_name_defined_twice_needs_trust(tmp_path, canary):
    """Two FunctionDefs with one name, the pure one last: whichever TensorFlow keeps, the
    check does not guess (the writing body is listed by scan, calling the name is refused)."""
    evil, pure = _write_function(canary.victim), _pure_function()
    from google.protobuf import text_format

    graph_def = text_format.Parse(
        'node { name: "x" op: "Const" attr { key: "dtype" value { type: DT_FLOAT } }'
        ' attr { key: "value" value { tensor { dtype: DT_FLOAT tensor_shape {} float_val: 1 } } } }'
        ' node { name: "call" op: "PartitionedCall" input: "x" attr { key: "f" value { func {'
        ' name: "twice" } } } }',
        tf.compat.v1.GraphDef(),
    )
    for function in (evil, pure):
        copy = graph_def.library.function.add()
        copy.CopyFrom(function)
        copy.signature.name = "twice"
    with pytest.raises(UnsafeArtifactError, match="defined twice"):
        safety.check(graph_def, ["call"])
    assert any(f.op_type == "WriteFile" for f in safety.scan(graph_def).findings)


def test_what_session_refuses_is_what_scan_lists_for_every_registry_op():
    """For each registry op (and a made-up one), a graph fetching one node of it: check()
    refuses exactly when scan() lists it, with the same category."""
    from tensorflow.core.framework import graph_pb2

    for op in [*_registry(), "MadeUpOp"]:
        graph_def = graph_pb2.GraphDef()
        node = graph_def.node.add()
        node.name, node.op = "x", op
        report = safety.check(graph_def, ["x"], trust=True)
        scanned = safety.scan(graph_def)
        assert [(f.op_type, f.category) for f in report.findings] == [
            (f.op_type, f.category) for f in scanned.findings
        ], op


def test_checking_never_changes_the_graph_it_reads():
    """Reading a missing key of a proto map adds it: the check and the scan must not (nodes
    without the attrs the Saver grammar looks at)."""
    from google.protobuf import text_format

    graph_def = text_format.Parse(
        'node { name: "f" op: "Placeholder" } node { name: "c" op: "Const" }'
        ' node { name: "j" op: "StringJoin" input: "f" input: "c" }'
        ' node { name: "sh" op: "ShardedFilename" input: "j" input: "c" input: "c" }'
        ' node { name: "s" op: "SaveV2" input: "sh" input: "c" input: "c" }'
        ' node { name: "s2" op: "SaveV2" input: "f" input: "c" input: "c" }'
        ' node { name: "cache" op: "CacheDatasetV2" input: "c" input: "c" input: "c" }',
        tf.compat.v1.GraphDef(),
    )
    before = graph_def.SerializeToString(deterministic=True)
    saver_def = v1.train.SaverDef(
        filename_tensor_name="f:0", restore_op_name="s", save_tensor_name="s"
    )
    with pytest.raises(UnsafeArtifactError):
        safety.check(graph_def, ["s", "s2", "cache"], feeds=["f:0"], saver_def=saver_def)
    safety.scan(graph_def)
    assert graph_def.SerializeToString(deterministic=True) == before


def _tf1_vocab_export(folder: Path, vocabulary: Path, *, aim_at: str | None = None) -> Path:
    """A TF1 builder export whose main op fills a table from its vocabulary asset; with
    ``aim_at``, the table reads that path (a Const) instead of the asset tensor."""
    graph = tf.Graph()
    with graph.as_default():
        w = v1.get_variable("W", [2])
        tf.identity(w, name="out")
        asset = tf.constant(str(vocabulary), name="vocab_asset")
        v1.add_to_collection(v1.GraphKeys.ASSET_FILEPATHS, asset)
        # (a computed name: TextFileInitializer would make a constant one an asset, copied in)
        source = (
            asset
            if aim_at is None
            else tf.strings.join(
                [tf.constant(os.path.dirname(aim_at)), tf.constant("/" + os.path.basename(aim_at))]
            )
        )
        table = tf.lookup.StaticHashTable(
            tf.lookup.TextFileInitializer(
                source,
                tf.string,
                tf.lookup.TextFileIndex.WHOLE_LINE,
                tf.int64,
                tf.lookup.TextFileIndex.LINE_NUMBER,
            ),
            default_value=-1,
        )
        tf.identity(table.lookup(tf.constant(["beta", "zeta"])), name="ids")
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            builder = v1.saved_model.Builder(str(folder))
            builder.add_meta_graph_and_variables(
                session,
                ["serve"],
                assets_collection=v1.get_collection(v1.GraphKeys.ASSET_FILEPATHS),
                main_op=v1.tables_initializer(),
            )
            builder.save()
    return folder


def test_tf1_saved_model_vocabulary_asset_table_opens_without_trust(tmp_path, canary):
    vocabulary = tmp_path / "vocab.txt"
    vocabulary.write_text("alpha\nbeta\ngamma\n")
    folder = _tf1_vocab_export(tmp_path / "export", vocabulary)
    vocabulary.unlink()  # the export holds its own copy in assets/
    assert tfexplore.scan(folder).ok
    with tfexplore.session(folder) as session:
        assert list(session.eval("ids")) == [1, -1]


def test_tf1_saved_model_table_reading_another_file_is_refused(tmp_path, canary):
    vocabulary = tmp_path / "vocab.txt"
    vocabulary.write_text("alpha\nbeta\n")
    folder = _tf1_vocab_export(tmp_path / "export", vocabulary, aim_at=str(canary.secret))
    canary.freeze()
    with pytest.raises(UnsafeArtifactError, match="InitializeTableFromTextFileV2"):
        tfexplore.session(folder)
    canary.unchanged()
    assert _scan_exit(folder) == EXIT_RISKY


def test_an_attr_dependent_op_named_by_a_func_attr_needs_trust():
    """``PrintV2`` is pure unless its ``output_stream`` is a file; named by a ``func`` attr its
    attrs are not visible to the check, so it is not taken as pure (attacker round)."""
    from tfexplore.safety import allowlist as _op_allowlist
    from tfexplore.safety import gate as safety

    assert _op_allowlist.verdict("PrintV2").allowed  # to stderr: pure enough
    found = safety.classify_op(safety._op_stand_in("PrintV2"))
    assert found is not None and found[0] == "writes files"
    assert safety.classify_op(safety._op_stand_in("MatMul")) is None
