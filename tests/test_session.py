"""tfexplore.session: the seed workflow end to end with real TensorFlow.

Import a meta graph, restore, evaluate, resume training in a fresh process (global_step and
Adam's slots continue), TF2 Keras checkpoints, renamed scopes and shapes, devices from other
machines, a hostile .meta, snapshots, and saves that survive SIGKILL."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from tfexplore.demo import regression_data
from tfexplore.errors import (
    CheckpointExistsError,
    MissingFeedError,
    RestoreMismatchError,
    TensorNotFoundError,
    UnsafeArtifactError,
)
from tfexplore.live.open import session
from tfexplore.live.session import Session

tf = pytest.importorskip("tensorflow")
v1 = tf.compat.v1
REPO = Path(__file__).resolve().parents[1]
X, Y = regression_data()
FEED = {"inputs/x": X, "inputs/y": Y}

KERAS_MODEL = textwrap.dedent(
    """
    import keras
    def make_model():
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(8, activation="relu"),
                                  keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
        return model
    """
)


# -- fixtures ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def linear_run(tmp_path_factory) -> Path:
    """A TF1 linear regression trained with Adam for 30 steps; placeholders data/x, data/y."""
    folder = tmp_path_factory.mktemp("linear") / "run"
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 3], name="data/x")
        y = v1.placeholder(tf.float32, [None, 1], name="data/y")
        w = v1.get_variable("linear/w", [3, 1], initializer=v1.zeros_initializer())
        b = v1.get_variable("linear/b", [1], initializer=v1.zeros_initializer())
        loss = tf.reduce_mean(tf.square(tf.matmul(x, w) + b - y), name="mse")
        step = v1.train.get_or_create_global_step()
        train_op = v1.train.AdamOptimizer(0.05).minimize(loss, global_step=step)
        v1.add_to_collection("train_op", train_op)
        v1.add_to_collection("losses", loss)
        with v1.Session() as sess:
            sess.run(v1.global_variables_initializer())
            for _ in range(30):
                sess.run(train_op, {x: X, y: Y})
            v1.train.Saver().save(sess, str(folder / "model.ckpt"), global_step=step)
    return folder


@pytest.fixture(scope="module")
def keras_checkpoint(tmp_path_factory) -> str:
    """A TF2 tf.train.Checkpoint of a compiled Keras model and its Adam, after 10 steps."""
    namespace: dict = {}
    exec(KERAS_MODEL, namespace)
    model = namespace["make_model"]()
    for _ in range(10):
        model.train_on_batch(X, Y)
    checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer)
    return checkpoint.write(str(tmp_path_factory.mktemp("keras") / "ckpt-10"))


RESUME_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import tensorflow as tf
    from tfexplore.demo import regression_data
    from tfexplore import session
    demo, linear, keras_ckpt, out = sys.argv[1:5]
    x, y = regression_data()
    results = {}

    def initial_loss(meta, loss_name, feed):
        graph = tf.Graph()
        with graph.as_default():
            tf.compat.v1.train.import_meta_graph(meta)
            with tf.compat.v1.Session() as sess:
                sess.run(tf.compat.v1.global_variables_initializer())
                return float(sess.run(loss_name, feed))

    for label, folder, loss, feed in [
        ("mlp", demo, "loss/mse:0", {"inputs/x": x, "inputs/y": y}),
        ("linear", linear, "mse:0", {"data/x": x, "data/y": y}),
    ]:
        s = session(folder)
        slot_names = [n for n in s.variables["name"] if n.endswith(("/Adam", "/Adam_1"))]
        slots = [float(np.abs(s.eval(n)).sum()) for n in slot_names]
        before = s.eval(loss, feed)
        restored_step = s.eval("global_step:0")  # a resource handle: its value comes back
        history = s.train(5, feed)
        results[label] = {
            "global_step_restored": restored_step,
            "slots": slots,
            "loss_restored": before,
            "loss_initial": initial_loss(
                folder + "/model.ckpt-30.meta", loss, {k + ":0": v for k, v in feed.items()}
            ),
            "steps": history["global_step"].tolist(),
            "losses": history["loss"].tolist(),
            "global_step": s.eval("global_step"),
            "saved": s.save(out + "/" + label),
        }
        s.close()

    exec(sys.argv[5])
    model = make_model()
    s = session(model, keras_ckpt)
    slots = [
        float(np.abs(v.numpy()).sum())
        for v in model.optimizer.variables
        if "momentum" in v.path or "velocity" in v.path
    ]
    restored_iterations = int(model.optimizer.iterations.numpy())
    history = s.train(3, (x, y))
    results["keras"] = {
        "iterations_restored": restored_iterations,
        "slots": slots,
        "steps": history["global_step"].tolist(),
        "losses": history["loss"].tolist(),
        "report": s.last_restore.counts,
        "saved": s.save(out + "/keras"),
    }
    print(json.dumps(results))
    """
)


def _run_python(script: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


@pytest.fixture(scope="module")
def resumed(demo_run, linear_run, keras_checkpoint, tmp_path_factory) -> dict:
    """Resume the three runs in one fresh Python process; its results as a dict."""
    work = tmp_path_factory.mktemp("resumed")
    import shutil

    demo = shutil.copytree(demo_run, work / "demo")
    linear = shutil.copytree(linear_run, work / "linear")
    done = _run_python(
        RESUME_SCRIPT, str(demo), str(linear), keras_checkpoint, str(work / "out"), KERAS_MODEL
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def demo_session(demo_run, copy_of):
    with session(copy_of(demo_run)) as opened:
        yield opened


# -- resume in a fresh process --------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("label", ["mlp", "linear"])
def test_tf1_training_resumes_where_it_stopped(resumed, label):
    run = resumed[label]
    assert run["global_step_restored"] == 30
    assert run["steps"] == [31, 32, 33, 34, 35] and run["global_step"] == 35
    assert run["slots"] and all(total > 0 for total in run["slots"])  # Adam's m and v came back
    assert run["loss_restored"] < 0.5 * run["loss_initial"]
    assert run["losses"][0] == pytest.approx(run["loss_restored"], rel=0.05)
    assert Path(run["saved"]).name == "model.ckpt-35"


@pytest.mark.slow
def test_saved_checkpoint_restores_with_plain_tensorflow(resumed):
    prefix = resumed["mlp"]["saved"]
    assert tf.train.latest_checkpoint(str(Path(prefix).parent)) == prefix
    graph = tf.Graph()
    with graph.as_default():
        saver = v1.train.import_meta_graph(prefix + ".meta")
        with v1.Session() as sess:
            saver.restore(sess, prefix)
            assert sess.run(v1.train.get_global_step()) == 35
            loss = sess.run("loss/mse:0", {"inputs/x:0": X, "inputs/y:0": Y})
    assert loss < resumed["mlp"]["loss_initial"]


@pytest.mark.slow
def test_keras_checkpoint_resumes_with_its_optimizer(resumed):
    run = resumed["keras"]
    assert run["iterations_restored"] == 10
    assert run["steps"] == [11, 12, 13]
    assert run["slots"] and all(total > 0 for total in run["slots"])
    assert run["report"] == {"restored": 4 + 2 * 4 + 2}  # weights, their m and v, iterations, lr
    graph_free = tf.train.load_checkpoint(run["saved"])
    assert graph_free.get_tensor("optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE") == 13


# -- eval -----------------------------------------------------------------------------------
def test_eval_names_handles_structures_and_feeds(demo_session: Session):
    s = demo_session
    assert s.eval("global_step") == 30
    assert s.eval("global_step:0") == 30  # the value, not the resource handle
    assert s.eval(["layer1/b", "layer1/b:0"])[0].shape == (16,)
    values = s.eval({"loss": "loss/mse", "step": "global_step"}, feed=FEED)
    assert set(values) == {"loss", "step"} and isinstance(values["loss"], float)
    with pytest.raises(MissingFeedError) as missing:
        s.eval("loss/mse:0")
    assert missing.value.placeholders == ["inputs/x", "inputs/y"]
    assert "inputs/x" in str(missing.value)
    with pytest.raises(TensorNotFoundError) as unknown:
        s.eval("loss/mes")
    assert "loss/mse" in unknown.value.suggestions
    assert "global_step" in repr(s) and "model.ckpt-30" in repr(s)


# -- train ----------------------------------------------------------------------------------
def test_train_feeds_history_stop_and_interrupt(demo_session: Session):
    s = demo_session
    first = s.train(2, feed=lambda step: FEED, record=["layer2/b"])
    assert list(first.columns[:3]) == ["step", "global_step", "loss"] and "layer2/b" in first
    dataset = tf.data.Dataset.from_tensors((X, Y)).repeat(3)
    from_data = s.train(10, feed=dataset)
    assert len(from_data) == 3  # the dataset ended
    stopped = s.train(10, feed=FEED, callback=lambda row: s.stop() if row["step"] == 7 else None)
    assert len(stopped) == 2
    interrupted = s.train(
        10,
        feed=FEED,
        callback=lambda row: os.kill(os.getpid(), signal.SIGINT) if row["step"] == 8 else None,
    )
    assert len(interrupted) == 1  # Ctrl-C stops between steps, without a traceback
    assert s.history["global_step"].tolist() == list(range(31, 39))
    assert s.history["step"].tolist() == list(range(1, 9))


def test_snapshot_and_rollback_restore_exact_values(demo_session: Session):
    s = demo_session
    names = list(s.variables["name"])
    before = dict(zip(names, s.eval(names)))
    s.snapshot("before")
    s.train(3, feed=FEED)
    assert s.eval("global_step") == 33
    s.rollback("before")
    after = dict(zip(names, s.eval(names)))
    for name in names:
        np.testing.assert_array_equal(
            np.asarray(after[name]), np.asarray(before[name]), err_msg=name
        )
    with pytest.raises(TensorNotFoundError):
        s.rollback("befor")


def test_save_refuses_to_overwrite(demo_session: Session, tmp_path):
    prefix = demo_session.save(tmp_path)
    assert Path(prefix).name == "model.ckpt-30"
    with pytest.raises(CheckpointExistsError):
        demo_session.save(tmp_path)
    assert demo_session.save(tmp_path, overwrite=True) == prefix
    assert tf.train.latest_checkpoint(str(tmp_path)) == prefix
    assert not list(tmp_path.glob(".tfexplore-*"))


def test_overwrite_interrupted_after_the_backup_reads_and_recovers(
    demo_session: Session, tmp_path, monkeypatch
):
    """An overwrite that dies after setting the old files aside (simulated: the first rename
    of a new file fails, and the backup is given a dead process's id): the state file names
    the backup, which plain TensorFlow and tfexplore read; the next save puts it back."""
    import tfexplore
    from tfexplore.live import saving as _saving

    prefix = demo_session.save(tmp_path)
    before = tf.train.load_checkpoint(prefix).get_tensor("layer1/W")
    demo_session.train(1, feed=FEED)
    real_replace = os.replace

    def dies_on_new_files(src, dst):
        if (
            ".tfexplore-save-" in str(src)
            and "backup" not in str(src)
            and "state" not in str(src)
            and _saving.MARKER not in str(src)
        ):
            raise KeyboardInterrupt("killed")
        return real_replace(src, dst)

    monkeypatch.setattr(_saving.os, "replace", dies_on_new_files)
    with pytest.raises(KeyboardInterrupt):
        _saving_publish_same_step(demo_session, tmp_path)
    monkeypatch.setattr(_saving.os, "replace", real_replace)
    backup = next(tmp_path.glob(".tfexplore-save-backup-*"))
    dead = backup.with_name(backup.name.replace(str(os.getpid()), "999999999", 1))
    backup.rename(dead)
    state = (tmp_path / "checkpoint").read_text().replace(backup.name, dead.name)
    (tmp_path / "checkpoint").write_text(state)

    latest = tf.train.latest_checkpoint(str(tmp_path))
    assert dead.name in latest
    np.testing.assert_array_equal(tf.train.load_checkpoint(latest).get_tensor("layer1/W"), before)
    assert tfexplore.open(tmp_path).latest.read("layer1/W").tolist() == before.tolist()

    _saving.recover(tmp_path)
    assert tf.train.latest_checkpoint(str(tmp_path)) == prefix
    np.testing.assert_array_equal(tf.train.load_checkpoint(prefix).get_tensor("layer1/W"), before)
    assert not dead.exists() and not list(tmp_path.glob(".tfexplore-save-backup-*"))


def test_a_backup_removal_killed_half_way_keeps_its_marker_for_the_next_save(
    demo_session: Session, tmp_path, monkeypatch
):
    """The backup of an overwrite is removed marker last: killed after its first file went,
    the rest is still claimed by its marker and the next recovery finishes the job (the
    marker went first with shutil.rmtree, and the files stayed for good)."""
    from tfexplore.live import saving as _saving

    prefix = demo_session.save(tmp_path)
    real_unlink = Path.unlink

    def dies_after_one(self, *args, **kwargs):
        real_unlink(self, *args, **kwargs)
        if self.parent.name.startswith(".tfexplore-save-backup-") and self.name != _saving.MARKER:
            raise KeyboardInterrupt("killed")

    monkeypatch.setattr(Path, "unlink", dies_after_one)
    with pytest.raises(KeyboardInterrupt):
        _saving_publish_same_step(demo_session, tmp_path)
    monkeypatch.setattr(Path, "unlink", real_unlink)
    (backup,) = tmp_path.glob(".tfexplore-save-backup-*")
    assert (backup / _saving.MARKER).is_file()  # still claimed
    for leftover in tmp_path.glob(".tfexplore-*"):  # as if this process had been killed
        leftover.rename(leftover.with_name(leftover.name.replace(str(os.getpid()), "999999999")))
    _saving.recover(tmp_path)
    assert not list(tmp_path.glob(".tfexplore-*"))
    assert tf.train.latest_checkpoint(str(tmp_path)) == prefix


def test_a_leftover_whose_pid_came_round_again_is_recovered(tmp_path):
    """Pids are reused (32,768 on this kind of machine): a dead save's leftover named with a
    pid that a newer, live process now has is still cleared, by the start time its marker
    keeps; one whose process really lives is left alone."""
    from tfexplore.live import saving as _saving

    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        for name, started in (("dead", 1), ("live", None)):
            leftover = _saving.temporary_folder(tmp_path)
            (leftover / "model.ckpt.index").write_bytes(b"half written")
            marker = json.loads((leftover / _saving.MARKER).read_text())
            marker["started"] = started if started is not None else marker["started"]
            if name == "live":
                marker["started"] = _saving._process_start(sleeper.pid)
            (leftover / _saving.MARKER).write_text(json.dumps(marker))
            leftover.rename(tmp_path / f"{_saving.TEMP_PREFIX}{sleeper.pid}-{name}")
        assert _saving._process_start(sleeper.pid) not in (None, 1)
        _saving.recover(tmp_path)
        left = sorted(p.name for p in tmp_path.iterdir())
        assert left == [f"{_saving.TEMP_PREFIX}{sleeper.pid}-live"]  # its maker lives
    finally:
        sleeper.kill()
        sleeper.wait()


def _saving_publish_same_step(s: Session, folder: Path) -> None:
    """Write ``s`` over the checkpoint of the step it was saved at (``model.ckpt-30``)."""
    from tfexplore.live import saving as _saving

    temporary = _saving.temporary_folder(folder)
    s._backend.write(str(temporary / "model.ckpt-30"))
    _saving.publish(temporary, folder / "model.ckpt-30")


KILL_SCRIPT = textwrap.dedent(
    """
    import sys
    from tfexplore.demo import regression_data
    from tfexplore import session
    x, y = regression_data()
    s = session(sys.argv[1])
    while True:
        s.train(1, {"inputs/x": x, "inputs/y": y})
        s.save(sys.argv[1])
        print("saved", flush=True)
    """
)


@pytest.mark.slow
def test_save_killed_midway_leaves_a_restorable_latest_checkpoint(demo_run, tmp_path):
    import shutil

    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    rng = random.Random(0)
    folders = [shutil.copytree(demo_run, tmp_path / f"run{i}") for i in range(3)]
    children = [  # started together: TensorFlow's import is the slow part
        subprocess.Popen(
            [sys.executable, "-c", KILL_SCRIPT, str(folder)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        for folder in folders
    ]
    for child, folder in zip(children, folders):
        try:
            assert child.stdout.readline().strip() == b"saved"
            time.sleep(rng.uniform(0.0, 0.1))
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
            child.stdout.close()
        latest = tf.train.latest_checkpoint(str(folder))
        assert latest is not None and int(latest.rsplit("-", 1)[1]) > 30
        reader = tf.train.load_checkpoint(latest)
        for key in reader.get_variable_to_shape_map():
            reader.get_tensor(key)
        assert Path(latest + ".meta").stat().st_size > 0
    with session(folders[0]) as resumed:  # stale temporaries do not disturb the next save
        resumed.save(folders[0], overwrite=True)
    assert not [p for p in folders[0].iterdir() if p.name.startswith(".tfexplore-")]


# -- mismatches -----------------------------------------------------------------------------
def _dense_graph(scope: str, weight: str = "kernel", bias: str = "bias", shape=(3, 4)):
    graph = tf.Graph()
    with graph.as_default(), v1.variable_scope(scope):
        v1.get_variable(weight, shape)
        v1.get_variable(bias, [shape[1]])
    return graph


def _save_graph(graph, prefix: Path) -> str:
    with graph.as_default(), v1.Session() as sess:
        sess.run(v1.global_variables_initializer())
        return v1.train.Saver().save(sess, str(prefix))


def _initialized_session(graph):
    sess = v1.Session(graph=graph)
    with graph.as_default():
        sess.run(v1.global_variables_initializer())
    return sess


def test_renamed_scope_gets_a_prefix_rewrite_that_works(tmp_path):
    checkpoint = _save_graph(_dense_graph("old/dense"), tmp_path / "old.ckpt")
    graph = _dense_graph("new/dense")
    with pytest.raises(RestoreMismatchError) as caught:
        session(_initialized_session(graph), checkpoint)
    report = caught.value.report
    assert set(report.problems["status"]) == {"missing_in_checkpoint"}
    assert set(report.frame.loc[report.frame.status == "only_in_checkpoint", "checkpoint_key"]) == {
        "old/dense/kernel",
        "old/dense/bias",
    }
    assert report.proposed_prefix_rewrite == {"old/": "new/"}
    assert "prefix_rewrite" in str(caught.value)
    s = caught.value.session
    done = s.restore(checkpoint, prefix_rewrite=report.proposed_prefix_rewrite)
    assert done.ok and done.applied
    expected = tf.train.load_checkpoint(checkpoint).get_tensor("old/dense/kernel")
    np.testing.assert_array_equal(s.eval("new/dense/kernel"), expected)


def test_renamed_variables_get_a_mapping_and_code(tmp_path):
    checkpoint = _save_graph(_dense_graph("encoder", "W", "b"), tmp_path / "enc.ckpt")
    graph = _dense_graph("enc_layer", "weights", "bias")
    sess = _initialized_session(graph)
    with pytest.raises(RestoreMismatchError) as caught:
        session(sess, checkpoint)
    report = caught.value.report
    assert report.proposed_mapping == {
        "encoder/W": "enc_layer/weights",
        "encoder/b": "enc_layer/bias",
    }
    s = caught.value.session
    assert s.restore(checkpoint, mapping=report.proposed_mapping).ok
    reader = tf.train.load_checkpoint(checkpoint)
    np.testing.assert_array_equal(s.eval("enc_layer/weights"), reader.get_tensor("encoder/W"))
    code = report.as_code()
    assert "tf.compat.v1.train.Saver(var_list=" in code and "init_from_checkpoint" in code
    with graph.as_default():
        exec(code.split("# or,")[0], {"sess": sess})  # the pasted Saver restores too


def test_shape_mismatch_is_reported_and_partial_restores_the_rest(tmp_path):
    checkpoint = _save_graph(_dense_graph("dense"), tmp_path / "d.ckpt")
    graph = tf.Graph()
    with graph.as_default(), v1.variable_scope("dense"):
        v1.get_variable("kernel", [3, 5])
        v1.get_variable("bias", [4])
    sess = _initialized_session(graph)
    with pytest.raises(RestoreMismatchError) as caught:
        session(sess, checkpoint)
    row = caught.value.report.problems.iloc[0]
    assert (row.status, row.graph_shape, row.checkpoint_shape) == ("shape_mismatch", (3, 5), (3, 4))
    s = caught.value.session
    kernel_before = s.eval("dense/kernel")
    report = s.restore(checkpoint, partial=True)
    assert report.counts == {"restored": 1, "shape_mismatch": 1}
    np.testing.assert_array_equal(s.eval("dense/kernel"), kernel_before)
    expected = tf.train.load_checkpoint(checkpoint).get_tensor("dense/bias")
    np.testing.assert_array_equal(s.eval("dense/bias"), expected)


def test_partial_restore_initializes_what_it_leaves_out(tmp_path):
    """A graph tfexplore imported has no values until a restore: what a partial restore does
    not fill gets its initializer, so every variable can be evaluated afterwards."""
    checkpoint = _save_graph(_dense_graph("dense"), tmp_path / "d.ckpt")
    graph = tf.Graph()
    with graph.as_default(), v1.variable_scope("dense"):
        v1.get_variable("kernel", [3, 4])
        v1.get_variable("bias", [4])
        v1.get_variable("extra", [2], initializer=v1.constant_initializer(7.0))
    sess = v1.Session(graph=graph)  # nothing initialized
    with pytest.raises(RestoreMismatchError) as caught:
        session(sess, checkpoint)
    s = caught.value.session
    report = s.restore(checkpoint, partial=True)
    assert report.counts == {"restored": 2, "missing_in_checkpoint": 1}
    assert report.initialized == ["dense/extra"]
    assert "initialized: dense/extra" in repr(report)
    np.testing.assert_array_equal(s.eval("dense/extra"), [7.0, 7.0])
    expected = tf.train.load_checkpoint(checkpoint).get_tensor("dense/kernel")
    np.testing.assert_array_equal(s.eval("dense/kernel"), expected)


# -- devices and hostile files --------------------------------------------------------------
def test_meta_saved_for_other_devices_opens_on_cpu(tmp_path):
    def build(device: str | None):
        graph = tf.Graph()
        with graph.as_default(), tf.device(device):
            w = v1.get_variable("W", [2, 2])
            tf.identity(w * 2.0, name="doubled")
            saver = v1.train.Saver()
        return graph, saver

    plain, plain_saver = build(None)
    with plain.as_default(), v1.Session() as sess:
        sess.run(v1.global_variables_initializer())
        prefix = plain_saver.save(sess, str(tmp_path / "model.ckpt"), write_meta_graph=False)
        expected = sess.run("doubled:0")
    remote, remote_saver = build("/job:worker/task:0/device:GPU:0")
    with remote.as_default():
        remote_saver.export_meta_graph(str(tmp_path / "model.ckpt.meta"), clear_devices=False)
    with session(tmp_path / "model.ckpt.meta") as s:
        assert "/job:worker/task:0/device:GPU:0" in s.devices_cleared
        assert "/job:worker/task:0/device:GPU:0" in s.last_restore.devices_cleared
        assert "devices cleared" in repr(s.last_restore)
        np.testing.assert_array_equal(s.eval("doubled"), expected)
    assert s.checkpoint == prefix


def _hostile_meta(folder: Path, target: Path) -> Path:
    graph = tf.Graph()
    with graph.as_default():
        v1.get_variable("W", [2])
        saver = v1.train.Saver()
        with v1.Session() as sess:
            sess.run(v1.global_variables_initializer())
            saver.save(sess, str(folder / "model.ckpt"), write_meta_graph=False)
        saver_def = saver.as_saver_def()
        write = tf.io.write_file(str(target), "written by a .meta file")
        restore = graph.get_operation_by_name(saver_def.restore_op_name)
        saver_def.restore_op_name = tf.group(restore, write, name="restore_and_write").name
        v1.train.export_meta_graph(str(folder / "model.ckpt.meta"), saver_def=saver_def)
    return folder / "model.ckpt.meta"


def test_hostile_meta_is_refused_and_writes_nothing(tmp_path):
    target = tmp_path / "pwned.txt"
    meta = _hostile_meta(tmp_path, target)
    with pytest.raises(UnsafeArtifactError) as caught:
        session(meta)
    assert "WriteFile" in str(caught.value) and caught.value.path == str(meta)
    assert not target.exists()
    with session(meta, trust=True) as s:  # trusted: the file's own restore op runs, write included
        assert s.eval("W").shape == (2,)
    assert target.read_text() == "written by a .meta file"


def test_keras_file_with_python_code_needs_trust(tmp_path, keras_checkpoint):
    import keras

    model = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Lambda(lambda t: t * 2.0),
            keras.layers.Dense(1, name="out"),
        ]
    )
    model.save(tmp_path / "lambda.keras")
    with pytest.raises(UnsafeArtifactError, match="Lambda"):
        session(tmp_path / "lambda.keras")
    with session(tmp_path / "lambda.keras", trust=True) as s:
        assert set(s.variables["name"]) == {"out/kernel", "out/bias"}
        assert s.eval("out/kernel").shape == (3, 1)


def _double(t):
    return t * 2.0


def test_a_named_function_lambda_is_refused_before_keras_sees_it(tmp_path):
    import keras

    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Lambda(_double, name="doubler"), keras.layers.Dense(1)]
    )
    model.save(tmp_path / "named.keras")
    with pytest.raises(UnsafeArtifactError, match="'doubler'"):
        session(tmp_path / "named.keras")


def test_import_scope_round_trip(demo_run, tmp_path):
    with session(demo_run, import_scope="imported") as s:
        assert s.eval("global_step") == 30  # names without the scope are found too
        assert s.variables["checkpoint_key"].str.startswith("imported/").sum() == 0
        prefix = s.save(tmp_path)
    with session(prefix) as again:  # the saved .meta keeps the scope, the keys do not
        assert again.last_restore.ok and again.eval("imported/global_step") == 30
    assert tf.train.load_checkpoint(prefix).get_tensor("global_step") == 30


def test_keras_weights_kept_under_the_optimizer_are_proposed(keras_checkpoint):
    import keras

    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)]
    )
    with pytest.raises(RestoreMismatchError) as caught:
        session(tf.train.Checkpoint(model=model), keras_checkpoint)
    report = caught.value.report
    kernel = model.trainable_variables[0].path
    key = "optimizer/_trainable_variables/0/.ATTRIBUTES/VARIABLE_VALUE"
    assert report.proposed_mapping[key] == kernel
    s = caught.value.session
    assert s.restore(keras_checkpoint, mapping=report.proposed_mapping).ok
    expected = tf.train.load_checkpoint(keras_checkpoint).get_tensor(key)
    np.testing.assert_array_equal(s.eval(kernel), expected)
    own_key = s.variables.set_index("name").loc[kernel, "checkpoint_key"]
    np.testing.assert_array_equal(s.eval(own_key), expected)  # its own checkpoint key names it too


def test_a_copied_run_folder_uses_its_own_files(demo_run, tmp_path):
    """The demo's state file names absolute paths in the original folder: a copy must still
    restore from the files beside it, as ``CheckpointDir`` resolves them."""
    import shutil

    copy = tmp_path / "copied-run"
    shutil.copytree(demo_run, copy)
    assert str(demo_run) in (copy / "checkpoint").read_text()
    with session(copy) as live:
        assert Path(live.checkpoint).parent == copy
        assert live.global_step == 30


@pytest.mark.parametrize("increment", [0, 1, 2])
def test_global_step_per_row_is_the_true_value_whatever_the_train_op_adds(increment):
    """Rows count ``global_step`` on locally only while the train op adds exactly 1; a train
    op that adds 0 or 2 is read after every step. Each row equals a fresh read."""
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None], name="x")
        step = v1.train.create_global_step()
        w = v1.get_variable("w", initializer=1.0)
        loss = tf.reduce_mean((w * x - 2.0 * x) ** 2, name="loss")
        update = v1.train.GradientDescentOptimizer(0.01).minimize(loss)
        with tf.control_dependencies([update]):
            train = v1.assign_add(step, increment).op if increment else tf.group(update)
        graph.clear_collection("train_op")  # minimize() put its own op there
        v1.add_to_collection("train_op", train)
        v1.add_to_collection("loss", loss)
    with session(graph) as s:
        start = s.global_step
        seen = []
        for _ in range(3):
            rows = s.train(4, feed={"x": np.arange(4, dtype="float32")})
            seen += list(rows["global_step"])
            assert seen[-1] == s.global_step
        assert seen == [start + increment * (i + 1) for i in range(12)]
        assert s.history["loss"].is_monotonic_decreasing


def test_a_damaged_variable_def_is_a_tfexplore_error(tmp_path):
    """A resource variable whose ``VariableDef.snapshot_name`` names an op without inputs makes
    TensorFlow's importer raise a bare IndexError: a CorruptArtifactError naming the file."""
    from tensorflow.core.framework import variable_pb2
    from tensorflow.core.protobuf import meta_graph_pb2

    from tfexplore.errors import CorruptArtifactError

    graph = tf.Graph()
    with graph.as_default():
        v1.get_variable("W", shape=[2], initializer=v1.zeros_initializer(), use_resource=True)
        tf.constant(1.0, name="lonely")
        with v1.Session() as sess:
            sess.run(v1.global_variables_initializer())
            v1.train.Saver().save(sess, str(tmp_path / "model.ckpt"))
    meta_path = tmp_path / "model.ckpt.meta"
    meta = meta_graph_pb2.MetaGraphDef.FromString(meta_path.read_bytes())
    for key in ("variables", "trainable_variables"):
        values = meta.collection_def[key].bytes_list.value
        variable = variable_pb2.VariableDef.FromString(values[0])
        variable.snapshot_name = "lonely:0"
        values[0] = variable.SerializeToString()
    meta_path.write_bytes(meta.SerializeToString())
    with pytest.raises(CorruptArtifactError, match="could not import the meta graph") as caught:
        session(tmp_path)
    assert caught.value.path == str(meta_path)


def test_the_step_counter_reads_through_the_fast_callable():
    """``_StepCounter`` once passed a bare tensor where ``callable`` takes a list: making the
    fast callable failed with a TypeError that a broad ``except`` turned into the slow
    ``session.run`` path. A list now makes the fast callable; a bare tensor is refused."""
    from tfexplore.live.steps import _StepCounter

    graph = tf.Graph()
    with graph.as_default():
        v1.train.create_global_step()
    with session(graph) as s:
        backend = s._backend
        read = backend.read_tensor("global_step")
        assert backend._fast_callable([read], []) is not None
        with pytest.raises(TypeError, match="must be a list"):
            backend.callable(read, [])
        counter = _StepCounter(backend, "global_step")
        assert counter.read() == 0
        counter.before_step()
        assert counter.finish() == 0
