"""Real-world artifacts, round 2 (issue 12): shapes of output that common training code writes
and that people's repositories hold. Every fixture is written by real TensorFlow here; bytes are
edited only where TensorFlow cannot write the case (a Git LFS pointer, a state file from
Windows). Each artifact is walked the way a user would (:func:`walk`): nothing but a
``TFExploreError`` may come out of any step."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import tfexplore
from tfexplore.cli import main
from tfexplore.errors import TFExploreError, UnsafeArtifactError

tf = pytest.importorskip("tensorflow")
v1 = tf.compat.v1


# -- the user's walk ---------------------------------------------------------------------------
def walk(path, *, cli: bool = True, graph: bool = True) -> dict:
    """Every step a user takes on ``path``: open, reprs, summary, explain, files, variables,
    reading a few tensors, stats, checkpoints and history (folders), the graph and its
    explorer, safety, and ``tfexplore inspect/explain/scan``. Returns ``{step: result}``; a
    step that fails has its ``TFExploreError`` as result; any other exception fails the test."""
    from tfexplore.ui.graphview import GraphExplorer

    done: dict = {}

    def step(name, function):
        try:
            done[name] = function()
        except TFExploreError as exc:
            done[name] = exc
        return done[name]

    artifact = step("open", lambda: tfexplore.open(path))
    if isinstance(artifact, TFExploreError):
        if cli:
            for command in ("inspect", "explain", "scan"):
                done[f"cli {command}"] = main([command, os.fspath(path)])
                assert done[f"cli {command}"] == 1
        return done
    for name, function in [
        ("repr", lambda: repr(artifact)),
        ("html", artifact._repr_html_),
        ("summary", artifact.summary),
        ("explain", lambda: str(artifact.explain())),
        ("files", lambda: artifact.files),
    ]:
        step(name, function)
    kind = type(artifact)
    for attribute in ("variables", "checkpoints", "notes", "safety", "signatures"):
        if hasattr(kind, attribute):
            step(attribute, lambda attribute=attribute: getattr(artifact, attribute))
    table = done.get("variables")
    if (
        hasattr(kind, "read")
        and table is not None
        and not isinstance(table, Exception)
        and len(table)
    ):
        for name in list(table["name"])[:4]:
            step(f"read {name}", lambda name=name: artifact.read(name))
        step("stats", artifact.stats)
    if hasattr(kind, "history"):
        step("history", artifact.history)
        step("latest", lambda: artifact.latest)
    if graph:
        step("graph explorer", lambda: GraphExplorer(artifact).layout)
    if cli:
        for command in ("inspect", "explain", "scan"):
            done[f"cli {command}"] = main([command, os.fspath(path)])
            assert done[f"cli {command}"] in (0, 1, 3)
    return done


def ok(done: dict, *steps: str) -> None:
    """Assert these steps worked (their result is not an error)."""
    failed = {s: done[s] for s in steps if isinstance(done.get(s, KeyError(s)), Exception)}
    assert not failed, failed


# -- writers -------------------------------------------------------------------------------------
def tf1_graph():
    """A small TF1 graph: x -> W, b -> pred; loss; Adam; global_step; train_op collection."""
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(0)
        x = v1.placeholder(tf.float32, [None, 3], name="x")
        y = v1.placeholder(tf.float32, [None, 1], name="y")
        w = v1.get_variable("W", [3, 1])
        b = v1.get_variable("b", [1], initializer=v1.zeros_initializer())
        pred = tf.add(tf.matmul(x, w), b, name="pred")
        loss = tf.reduce_mean(tf.square(pred - y), name="loss")
        gs = v1.train.get_or_create_global_step()
        train = v1.train.AdamOptimizer(0.1).minimize(loss, global_step=gs)
        v1.add_to_collection("train_op", train)
    return graph, train


def saver_save(
    prefix: str, *, steps=(None,), relative: bool = False, meta: bool = True
) -> list[str]:
    """Train a few steps and ``Saver.save(sess, prefix, global_step=step)`` for each step."""
    graph, train = tf1_graph()
    written = []
    with graph.as_default():
        saver = v1.train.Saver(save_relative_paths=relative)
        with v1.Session(graph=graph) as sess:
            sess.run(v1.global_variables_initializer())
            feed = {"x:0": np.ones((4, 3), np.float32), "y:0": np.zeros((4, 1), np.float32)}
            for step in steps:
                sess.run(train, feed)
                written.append(saver.save(sess, prefix, global_step=step, write_meta_graph=meta))
    return written


# == 1. the empty checkpoint prefix ================================================================
@pytest.mark.slow
def test_empty_prefix_opens_like_any_checkpoint(tmp_path, capsys):
    """saver.save(sess, "run/") writes run/.index, run/.data-00000-of-00001, run/.meta and a
    state file naming "run/"."""
    from tfexplore.artifacts.metagraph import MetaGraph

    folder = tmp_path / "run"
    folder.mkdir()
    saver_save(str(folder) + "/")
    assert sorted(p.name for p in folder.iterdir()) == [
        ".data-00000-of-00001",
        ".index",
        ".meta",
        "checkpoint",
    ]
    for path in (folder, folder / ".index", folder / ".data-00000-of-00001"):
        done = walk(path)
        ok(done, "summary", "explain", "graph explorer")
        assert done["cli inspect"] == 0 and done["cli scan"] == 0
    run = tfexplore.open(folder)
    assert run.kind == "checkpoint_dir" and len(run) == 1
    assert run.notes == []  # the state file's "run/" is this folder, not "outside" it
    latest = run.latest
    assert latest.index_path == folder / ".index"
    assert latest.data_files == [folder / ".data-00000-of-00001"]
    assert latest.summary()["prefix"] == str(folder) + os.sep
    assert latest.step == 1
    np.testing.assert_array_equal(latest.read("W"), tfexplore.open(folder / ".index").read("W"))
    assert "empty" in latest.explain()
    meta = MetaGraph.from_file(folder / ".meta")
    assert meta.checkpoint is not None and meta.checkpoint.index_path == folder / ".index"
    assert "That checkpoint is here" in meta.explain()
    assert len(run.history(["W"])) == 1
    capsys.readouterr()
    assert main(["inspect", str(folder)]) == 0
    assert f"Latest checkpoint: {folder}{os.sep}\n" in capsys.readouterr().out
    # a session restores from it, by folder, .meta or .index
    for source in (folder, folder / ".meta", folder / ".index"):
        with tfexplore.session(source) as s:
            np.testing.assert_allclose(s.eval("W"), latest.read("W"))


@pytest.mark.slow
def test_empty_prefix_neighbours(tmp_path):
    """Its neighbours: a step number after the slash ("run/-3"), a relative state file, a
    folder moved from where the state file says, and a TF2 tf.train.Checkpoint written to "ck/"."""
    # "run/" with global_step: files named -1.index, -2.index ... in run/
    steps = tmp_path / "steps"
    steps.mkdir()
    saver_save(str(steps) + "/", steps=(1, 2, 3))
    run = tfexplore.open(steps)
    assert list(run.checkpoints["step"]) == [1, 2, 3]
    assert run.latest.prefix == steps / "-3"
    walk(steps, cli=False)

    # relative paths in the state file
    relative = tmp_path / "relative"
    relative.mkdir()
    saver_save(str(relative) + "/", relative=True)
    assert len(tfexplore.open(relative)) == 1
    assert tfexplore.open(relative).latest.step == 1

    # moved: the state file names the old folder (with its slash)
    moved = tmp_path / "moved"
    shutil.copytree(relative, moved)
    (moved / "checkpoint").write_text(
        'model_checkpoint_path: "/old/machine/run/"\n'
        'all_model_checkpoint_paths: "/old/machine/run/"\n'
    )
    run = tfexplore.open(moved)
    assert run.checkpoints["relocated"].tolist() == [True]
    assert run.latest.index_path == moved / ".index"
    assert not any("missing" in note for note in run.notes)

    # TF2 object-based checkpoint written to "ck/"
    ck = tmp_path / "ck"
    ck.mkdir()
    root = tf.train.Checkpoint(v=tf.Variable([1.0, 2.0]))
    written = root.write(str(ck) + "/")
    assert written.endswith("/")
    checkpoint = tfexplore.open(ck / ".index")
    assert checkpoint.style == "object_based"
    np.testing.assert_array_equal(checkpoint.read("v"), [1.0, 2.0])
    done = walk(ck, graph=False)
    ok(done, "summary", "explain", "latest")


# == 2. a graph without data =======================================================================
def _drop_tensors(folder: Path, keep_index: bool = False) -> None:
    for path in folder.iterdir():
        if ".data-" in path.name or (path.name.endswith(".index") and not keep_index):
            path.unlink()


@pytest.mark.slow
def test_graphs_without_tensors_open_and_show(tmp_path, capsys):
    """A state file and .meta files, no .index/.data (too big to commit, or lost)."""
    from tfexplore.errors import ArtifactNotFoundError
    from tfexplore.ui.graphview import GraphExplorer

    folder = tmp_path / "run"
    folder.mkdir()
    saver_save(str(folder / "model.ckpt"), steps=(1, 2))
    _drop_tensors(folder)
    done = walk(folder)
    ok(done, "summary", "explain", "files", "checkpoints", "notes", "graph explorer")
    assert done["cli inspect"] == 0 and done["cli explain"] == 0
    run = done["open"]
    assert len(run) == 0
    assert list(run.graphs["step"]) == [1, 2] and not run.graphs["has_checkpoint"].any()
    assert run.meta_graph.path == folder / "model.ckpt-2.meta"
    assert run.summary()["graphs_without_tensors"] == ["model.ckpt-1.meta", "model.ckpt-2.meta"]
    notes = " ".join(run.notes)
    assert "no tensors" in notes and "graph (.meta) is here" in notes
    assert "newest one present" not in notes  # none is present: no misleading hint
    assert "Graphs without tensors" in run.explain()
    assert {"model.ckpt-1.meta", "model.ckpt-2.meta"} <= {Path(p).name for p in run.files["path"]}
    with pytest.raises(ArtifactNotFoundError, match="graph") as caught:
        _ = run.latest
    assert "model.ckpt-2.meta" in caught.value.hint
    explorer = GraphExplorer(folder)
    assert "loss" in explorer.graph and explorer.meta_graph.path == folder / "model.ckpt-2.meta"
    capsys.readouterr()
    main(["inspect", str(folder)])
    out = capsys.readouterr().out
    assert "Graphs (no tensors)" in out and "Ops by top scope" in out
    # a session says where to start from, and starts from initialized variables
    with pytest.raises(ArtifactNotFoundError) as caught:
        tfexplore.session(folder)
    assert "model.ckpt-2.meta" in caught.value.hint
    with tfexplore.session(caught.value.hint.split("'")[1]) as s:
        assert s.checkpoint is None and s.eval("W").shape == (3, 1)


@pytest.mark.slow
def test_graph_view_widget_of_a_graph_only_folder(tmp_path):
    pytest.importorskip("anywidget")
    folder = tmp_path / "run"
    folder.mkdir()
    saver_save(str(folder / "model.ckpt"), steps=(1,))
    _drop_tensors(folder)
    (folder / "checkpoint").unlink()  # no state file either: .meta files alone
    view = tfexplore.GraphView(folder)
    assert view.explorer.meta_graph.path == folder / "model.ckpt-1.meta"
    assert "no tensors" in " ".join(tfexplore.open(folder).notes)


@pytest.mark.slow
def test_index_without_data_is_named_at_folder_level(tmp_path):
    """The neighbour: .index and .meta present, .data absent (corpus tf1_objdet_meta_nodata)."""
    from tfexplore.errors import IncompleteCheckpointError

    folder = tmp_path / "run"
    folder.mkdir()
    saver_save(str(folder / "model.ckpt"), steps=(1,))
    _drop_tensors(folder, keep_index=True)
    done = walk(folder)
    ok(done, "summary", "explain", "graph explorer", "latest")
    run = done["open"]
    assert list(run.checkpoints["has_data"]) == [False]
    assert any("data file(s) of 'model.ckpt-1' are missing" in note for note in run.notes)
    assert isinstance(done["history"], IncompleteCheckpointError)
    with pytest.raises(IncompleteCheckpointError, match="data file"):
        run.latest.stats()
    assert len(run.latest.variables) > 0


@pytest.mark.corpus
def test_corpus_objdet_index_without_data(corpus):
    done = walk(corpus / "tf1_objdet_meta_nodata", cli=False)
    ok(done, "summary", "explain", "graph explorer", "latest")
    assert any("data file(s)" in note for note in done["notes"])
    assert len(done["latest"].variables) > 0


# == 4. restore with a data file absent (or damaged) ===============================================
@pytest.mark.slow
def test_restore_names_the_missing_data_file_before_running(tmp_path):
    from tfexplore.errors import IncompleteCheckpointError

    folder = tmp_path / "run"
    folder.mkdir()
    saver_save(str(folder / "model.ckpt"), steps=(1, 2))
    data = folder / "model.ckpt-2.data-00000-of-00001"
    data.unlink()
    with pytest.raises(IncompleteCheckpointError) as caught:
        tfexplore.session(folder)
    assert str(data) in caught.value.message and caught.value.path == str(data)
    assert caught.value.__cause__ is None  # found from the index: no TensorFlow op ran
    # an open session keeps its values when asked to restore the broken one
    with tfexplore.session(folder / "model.ckpt-1.meta") as s:
        before = s.eval("W")
        with pytest.raises(IncompleteCheckpointError, match="model.ckpt-2.data"):
            s.restore(str(folder / "model.ckpt-2"))
        np.testing.assert_array_equal(s.eval("W"), before)
        assert s.checkpoint == str(folder / "model.ckpt-1")


@pytest.mark.slow
def test_restore_of_damaged_data_keeps_tensorflows_cause(tmp_path):
    from tfexplore.errors import CorruptArtifactError

    folder = tmp_path / "run"
    folder.mkdir()
    saver_save(str(folder / "model.ckpt"), steps=(1,))
    data = folder / "model.ckpt-1.data-00000-of-00001"
    original = data.read_bytes()
    # truncated: named from the index and the file's size, before anything runs
    data.write_bytes(original[:10])
    with pytest.raises(CorruptArtifactError, match="needs bytes") as caught:
        tfexplore.session(folder)
    assert caught.value.__cause__ is None and "truncated" in caught.value.hint
    # same size, bytes flipped: only TensorFlow's restore op finds it; its cause line is kept
    data.write_bytes(bytes(b ^ 0xFF for b in original))
    with pytest.raises(TFExploreError) as caught:
        tfexplore.session(folder)
    message = caught.value.message
    assert "Node:" not in message and "restoring" in message
    cause = str(caught.value.__cause__)
    cause_line = next(
        line
        for line in cause.splitlines()
        if line.strip() and not line.startswith(("Graph execution", "Detected at", "Node:"))
    )
    assert cause_line.strip() in message
    assert "stats()" in caught.value.hint


def test_first_line_skips_tensorflows_preamble():
    from tfexplore._tf import _first_line

    class Fake(Exception):
        message = (
            "Graph execution error:\n\nDetected at node 'save/RestoreV2' defined at (most recent "
            "call last):\nNode: 'save/RestoreV2'\n/x/model.ckpt-1.data-00000-of-00001; No such "
            "file or directory\n\t [[{{node save/RestoreV2}}]]\n\nOriginal stack trace for "
            "'save/RestoreV2':\n  File x"
        )

    assert _first_line(Fake()) == "/x/model.ckpt-1.data-00000-of-00001; No such file or directory"


@pytest.mark.slow
def test_tf2_sharded_checkpoint_with_one_shard_missing(tmp_path):
    """The neighbour on the TF2 side: a checkpoint in two shards, one of them gone."""
    from tfexplore.errors import IncompleteCheckpointError

    root = tf.train.Checkpoint(a=tf.Variable(tf.zeros([1000])), b=tf.Variable(tf.ones([1000])))
    options = tf.train.CheckpointOptions(
        experimental_sharding_callback=tf.train.experimental.MaxShardSizePolicy(max_shard_size=4500)
    )
    prefix = root.write(str(tmp_path / "ck"), options=options)
    shards = sorted(tmp_path.glob("ck.data-*"))
    assert len(shards) == 2
    shards[1].unlink()
    checkpoint = tfexplore.open(prefix)
    assert len(checkpoint.variables) >= 2
    target = {"a": tf.Variable(tf.fill([1000], 5.0)), "b": tf.Variable(tf.fill([1000], 5.0))}
    with pytest.raises(IncompleteCheckpointError) as caught:
        tfexplore.session(tf.train.Checkpoint(**target), prefix)
    assert str(shards[1]) in caught.value.message and str(shards[0]) not in caught.value.message
    assert float(target["a"].numpy()[0]) == 5.0  # nothing was assigned


# == 6. Git LFS pointers in place of the files =====================================================
def lfs_pointer(path: Path) -> int:
    """Replace ``path`` by the pointer `git lfs` leaves when the repository is cloned without
    it (the format of https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md); return the
    real size."""
    import hashlib

    data = path.read_bytes()
    path.write_text(
        "version https://git-lfs.github.com/spec/v1\n"
        f"oid sha256:{hashlib.sha256(data).hexdigest()}\nsize {len(data)}\n"
    )
    return len(data)


def _keras_model():
    keras = pytest.importorskip("keras")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="dense")])
    model.compile(optimizer="adam", loss="mse")
    return model


def _lfs_cases(tmp_path: Path) -> list[tuple[str, Path, Path]]:
    """(label, path to open, file turned into a pointer), one per kind of file people track
    with git-lfs."""
    cases = []
    for member in ("data", "index", "meta"):
        folder = tmp_path / f"ckpt_{member}"
        folder.mkdir()
        saver_save(str(folder / "model.ckpt"), steps=(1,))
        suffix = {"data": ".data-00000-of-00001", "index": ".index", "meta": ".meta"}[member]
        cases.append(
            (f"checkpoint {member}", folder / "model.ckpt-1", folder / f"model.ckpt-1{suffix}")
        )
    for member in ("saved_model.pb", "variables/variables.data-00000-of-00001"):
        folder = tmp_path / f"sm_{member.split('/')[0].replace('.', '_')}"
        _tf2_saved_model(folder)
        cases.append((f"saved model {member}", folder, folder / member))
    model = _keras_model()
    for name in ("model.keras", "model.h5", "model.weights.h5"):
        path = tmp_path / name
        if name.endswith(".weights.h5"):
            model.save_weights(str(path))
        else:
            model.save(str(path))
        cases.append((name, path, path))
    graph = tf.Graph()
    with graph.as_default():
        tf.constant([1.0, 2.0], name="c")
    for name, as_text in (("frozen.pb", False), ("graph.pbtxt", True)):
        tf.io.write_graph(graph.as_graph_def(), str(tmp_path), name, as_text=as_text)
        cases.append((name, tmp_path / name, tmp_path / name))
    return cases


@pytest.mark.slow
def test_git_lfs_pointers_are_named_with_size_and_the_fix(tmp_path):
    from tfexplore.errors import GitLfsPointerError

    for label, path, member in _lfs_cases(tmp_path):
        size = lfs_pointer(member)
        done = walk(path, graph=False)
        errors = [v for v in done.values() if isinstance(v, GitLfsPointerError)]
        summary = done.get("summary") if isinstance(done.get("summary"), dict) else {}
        notes = " ".join(str(note) for note in summary.get("notes", []))
        assert errors or "Git LFS pointer" in notes, (label, done)
        for error in errors:
            assert error.path == str(member), label
            assert error.size == size and "git lfs pull" in error.hint, label
            assert "re-export" not in str(error)
        # ... and no step calls it corrupt in other words
        others = [
            v
            for v in done.values()
            if isinstance(v, TFExploreError) and not isinstance(v, GitLfsPointerError)
        ]
        assert not others, (label, others)


@pytest.mark.slow
def test_git_lfs_pointers_in_a_session_and_a_folder(tmp_path):
    from tfexplore.errors import GitLfsPointerError

    folder = tmp_path / "run"
    folder.mkdir()
    saver_save(str(folder / "model.ckpt"), steps=(1, 2))
    data = folder / "model.ckpt-2.data-00000-of-00001"
    size = lfs_pointer(data)
    run = tfexplore.open(folder)
    assert any("Git LFS pointer" in note and data.name in note for note in run.notes)
    assert not any("missing" in note for note in run.notes)
    with pytest.raises(GitLfsPointerError) as caught:
        tfexplore.session(folder)  # named before the restore op runs
    assert caught.value.size == size and caught.value.__cause__ is None
    np.testing.assert_array_equal(run.open(1).read("W").shape, (3, 1))  # the other still reads
    meta = folder / "model.ckpt-1.meta"
    lfs_pointer(meta)
    with pytest.raises(GitLfsPointerError, match="meta graph"):
        tfexplore.session(meta)
    keras_path = tmp_path / "model.keras"
    _keras_model().save(str(keras_path))
    lfs_pointer(keras_path)
    with pytest.raises(GitLfsPointerError, match="Keras file"):
        tfexplore.session(keras_path)


# == 10. text meta graphs ==========================================================================
@pytest.mark.slow
def test_text_meta_graphs_open_show_and_run(tmp_path):
    """export_meta_graph(as_text=True) as .meta, .meta.pbtxt and an arbitrary .pbtxt name, and
    the TF1 builder's saved_model.pbtxt: open, graph, GraphView logic, CLI and session."""
    from tfexplore.ui.graphview import GraphExplorer

    graph, _ = tf1_graph()
    folder = tmp_path / "run"
    folder.mkdir()
    with graph.as_default():
        saver = v1.train.Saver()
        with v1.Session(graph=graph) as sess:
            sess.run(v1.global_variables_initializer())
            saver.save(sess, str(folder / "model.ckpt"), global_step=1, write_meta_graph=False)
            saver.export_meta_graph(str(folder / "model.ckpt-1.meta"), as_text=True)
            saver.export_meta_graph(str(tmp_path / "model.meta.pbtxt"), as_text=True)
            saver.export_meta_graph(str(tmp_path / "exported_graph.pbtxt"), as_text=True)
            builder = v1.saved_model.Builder(str(tmp_path / "sm"))
            signature = v1.saved_model.predict_signature_def(
                {"x": graph.get_tensor_by_name("x:0")}, {"pred": graph.get_tensor_by_name("pred:0")}
            )
            builder.add_meta_graph_and_variables(
                sess, ["serve"], signature_def_map={"serving_default": signature}
            )
            builder.save(as_text=True)
    expected = tfexplore.open(folder).latest.read("W")
    assert (folder / "model.ckpt-1.meta").read_bytes().startswith(b"meta_info_def")
    assert (tmp_path / "sm" / "saved_model.pbtxt").is_file()
    x = np.ones((2, 3), np.float32)
    for path, kind in [
        (folder, "checkpoint_dir"),
        (folder / "model.ckpt-1.meta", "meta_graph"),
        (tmp_path / "model.meta.pbtxt", "meta_graph"),
        (tmp_path / "exported_graph.pbtxt", "meta_graph"),
        (tmp_path / "sm", "saved_model"),
    ]:
        done = walk(path)
        ok(done, "summary", "explain", "graph explorer")
        assert done["open"].kind == kind, path
        assert done["cli inspect"] == 0
        # the builder's graph holds a second Saver (save_1/): issue 12 point 14, not this one
        assert done["cli scan"] == 0 or kind == "saved_model"
        explorer = GraphExplorer(path)
        assert "pred" in explorer.graph and explorer.layout.boxes
        with tfexplore.session(path) as s:
            assert s.eval("pred", feed={"x": x}).shape == (2, 1)
            if kind != "meta_graph" or path.parent == folder:  # restored from the checkpoint
                np.testing.assert_array_equal(s.eval("W"), expected)
    meta = tfexplore.open(folder / "model.ckpt-1.meta")
    assert meta.is_text and meta.checkpoint is not None
    assert "protobuf text format" in " ".join(meta.notes)
    assert tfexplore.open(folder).latest.meta_graph.is_text


@pytest.mark.slow
def test_text_meta_graph_next_to_its_checkpoint_and_a_tf2_saved_model_in_text(tmp_path):
    """Neighbours: PREFIX.meta.pbtxt as the only graph of a checkpoint, and a TF2 SavedModel
    whose saved_model.pb was converted to saved_model.pbtxt (TF2 cannot write text; the loader
    reads it)."""
    from google.protobuf import text_format

    folder = tmp_path / "run"
    folder.mkdir()
    saver_save(str(folder / "model.ckpt"), steps=(1,), meta=False)
    graph, _ = tf1_graph()
    with graph.as_default():
        v1.train.Saver().export_meta_graph(str(folder / "model.ckpt-1.meta.pbtxt"), as_text=True)
    run = tfexplore.open(folder)
    assert bool(run.checkpoints["has_meta"].iloc[0])
    assert run.latest.meta_path.name == "model.ckpt-1.meta.pbtxt"
    assert tfexplore.open(folder / "model.ckpt-1.meta.pbtxt").checkpoint is not None
    with tfexplore.session(folder) as s:
        np.testing.assert_array_equal(s.eval("W"), run.latest.read("W"))

    module = tf.Module()
    module.v = tf.Variable([1.0, 2.0, 3.0])
    module.f = tf.function(lambda x: x * module.v, input_signature=[tf.TensorSpec([3])])
    sm = tmp_path / "sm2"
    tf.saved_model.save(module, str(sm))
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((sm / "saved_model.pb").read_bytes())
    (sm / "saved_model.pbtxt").write_text(text_format.MessageToString(proto))
    (sm / "saved_model.pb").unlink()
    done = walk(sm)
    ok(done, "summary", "explain", "variables", "signatures")
    with tfexplore.session(sm) as s:
        np.testing.assert_array_equal(s.variables["shape"].iloc[0], (3,))


# == 9. Keras ModelCheckpoint folders ==============================================================
def _fit_with_checkpoints(folder: Path, filepath: str, epochs: int = 3, **options) -> list[str]:
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(4, activation="relu", name="hidden"),
            keras.layers.Dense(1, name="out"),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
    y = x[:, :1] * 2.0
    folder.mkdir(parents=True, exist_ok=True)
    callback = keras.callbacks.ModelCheckpoint(str(folder / filepath), **options)
    model.fit(x, y, epochs=epochs, verbose=0, callbacks=[callback])
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.slow
@pytest.mark.parametrize(
    "filepath,weights_only,epochs,expected_epochs,metric",
    [
        ("weights.{epoch:02d}-{loss:.4f}.weights.h5", True, 3, [1, 2, 3], True),
        ("ckpt_{epoch}.keras", False, 11, list(range(1, 12)), False),  # 10 after 9, not 1
        ("model.{epoch:02d}.h5", False, 3, [1, 2, 3], False),
        ("resnet50_e{epoch:03d}_loss{loss:.3f}.keras", False, 3, [1, 2, 3], True),
    ],
)
def test_keras_modelcheckpoint_folder_is_a_run(
    tmp_path, filepath, weights_only, epochs, expected_epochs, metric
):
    folder = tmp_path / "checkpoints"
    names = _fit_with_checkpoints(folder, filepath, epochs, save_weights_only=weights_only)
    assert len(names) == epochs
    done = walk(folder, graph=False)
    ok(done, "summary", "explain", "files", "checkpoints", "notes", "history", "latest", "safety")
    assert done["cli inspect"] == 0 and done["cli explain"] == 0 and done["cli scan"] == 0
    run = done["open"]
    assert run.kind == "keras_run" and len(run) == epochs
    assert list(run.checkpoints["epoch"]) == expected_epochs
    assert run.checkpoints["metric"].notna().all() == metric
    assert run.latest.path.name == run.checkpoints["path"].iloc[-1].rsplit("/", 1)[-1]
    assert bool(run.checkpoints["is_latest"].iloc[-1])
    history = run.history()
    kernels = history[history["name"].str.endswith("hidden/kernel")]
    assert list(kernels["epoch"]) == expected_epochs
    diff = run.diff()
    weights = diff[diff["role"] == "weight"]
    assert (weights["status"] == "changed").all() and weights["max_abs_change"].gt(0).all()
    assert (
        run.open(2)
        .diff(run.open(expected_epochs[-1]))["status"]
        .isin(["changed", "unchanged"])
        .all()
    )
    np.testing.assert_array_equal(
        run.open(expected_epochs[-1]).read("hidden/kernel"), run.latest.read("hidden/kernel")
    )


@pytest.mark.slow
def test_keras_run_neighbours(tmp_path):
    """Two callbacks in one folder (weights and full models), save_best_only with gaps, Keras 2
    style .hdf5 names (Keras 3 writes .h5; the same bytes under the old name), and the explore
    model of such a folder."""
    from tfexplore.ui.explore import ExploreModel

    mixed = tmp_path / "mixed"
    _fit_with_checkpoints(mixed, "w.{epoch:02d}.weights.h5", 2, save_weights_only=True)
    _fit_with_checkpoints(mixed, "full.{epoch:02d}.keras", 2)
    run = tfexplore.open(mixed)
    assert len(run) == 4 and len(run.series) == 2
    assert any("several name templates" in note for note in run.notes)
    walk(mixed, graph=False)

    best = tmp_path / "best"
    _fit_with_checkpoints(best, "best-{epoch:02d}.keras", 4, save_best_only=True, monitor="loss")
    run = tfexplore.open(best)
    assert list(run.checkpoints["epoch"]) == sorted(run.checkpoints["epoch"])

    old = tmp_path / "keras2"
    _fit_with_checkpoints(old, "model.{epoch:02d}.h5", 2)
    for path in sorted(old.iterdir()):
        path.rename(path.with_name(path.name.replace("model.", "weights.").replace(".h5", ".hdf5")))
    run = tfexplore.open(old)
    assert run.kind == "keras_run" and list(run.checkpoints["format"]) == [".hdf5", ".hdf5"]
    ok(walk(old, graph=False), "history", "summary")
    model = ExploreModel(old)
    assert model.run.kind == "keras_run" and len(model.run) == 2
    assert model.artifact.path.name == "weights.02.hdf5" and len(model.variables) > 0


def test_a_folder_with_one_unnumbered_keras_file_is_not_a_run(tmp_path):
    from tfexplore.errors import UnrecognizedArtifactError

    (tmp_path / "best_model.keras").write_bytes(b"PK\x03\x04")
    with pytest.raises(UnrecognizedArtifactError, match="best_model.keras"):
        tfexplore.open(tmp_path)


# == 5. Windows paths in the state file ============================================================
def _state(folder: Path, latest: str, listed: list[str]) -> None:
    """A state file as TensorFlow writes it (a CheckpointState in text format: backslashes
    escaped), naming paths of the machine that trained."""

    def quoted(path: str) -> str:
        return '"' + path.replace("\\", "\\\\") + '"'

    lines = [f"model_checkpoint_path: {quoted(latest)}"]
    lines += [f"all_model_checkpoint_paths: {quoted(path)}" for path in listed]
    (folder / "checkpoint").write_text("\n".join(lines) + "\n")


@pytest.mark.slow
@pytest.mark.parametrize(
    "machine_folder",
    [
        "D:\\runs\\mnist",  # drive and backslashes
        "C:/Users/me/runs/mnist",  # drive and forward slashes
        "\\\\server\\share\\runs",  # UNC share
        "/home/me/runs/mnist",  # POSIX, for comparison
    ],
)
def test_state_file_paths_from_another_machine_are_relocated(tmp_path, machine_folder):
    folder = tmp_path / "run"
    folder.mkdir()
    saver_save(str(folder / "model.ckpt"), steps=(1, 2))
    sep = "/" if "/" in machine_folder else "\\"
    names = [f"{machine_folder}{sep}model.ckpt-{step}" for step in (1, 2)]
    _state(folder, names[-1], names)
    run = tfexplore.open(folder)
    table = run.checkpoints
    assert table["relocated"].all() and not table["missing"].any() and table["listed"].all()
    assert run.latest.prefix == folder / "model.ckpt-2"
    notes = " ".join(run.notes)
    assert (
        "outside this folder" in notes and "the checkpoint beside the state file is used" in notes
    )
    assert "missing" not in notes and "not listed" not in notes  # one story, told once
    with tfexplore.session(folder) as s:
        assert s.checkpoint == str(folder / "model.ckpt-2")


@pytest.mark.slow
def test_windows_state_file_naming_a_checkpoint_not_here(tmp_path):
    """Neighbours: the latest named there was not copied (only an older one is here), a
    relative Windows path, and an empty Windows prefix ("D:\\\\runs\\\\")."""
    folder = tmp_path / "run"
    folder.mkdir()
    saver_save(str(folder / "model.ckpt"), steps=(1,))
    _state(folder, "D:\\runs\\model.ckpt-9", ["D:\\runs\\model.ckpt-1", "D:\\runs\\model.ckpt-9"])
    run = tfexplore.open(folder)
    assert run.latest.prefix == folder / "model.ckpt-1"
    notes = run.notes
    assert any("'D:\\\\runs\\\\model.ckpt-9' but its files are missing" in n for n in notes)
    assert any("newest one present is used as latest" in n for n in notes)
    assert not any("not listed" in n for n in notes)
    walk(folder, graph=False)

    _state(folder, "sub\\model.ckpt-1", ["sub\\model.ckpt-1"])
    sub = folder / "sub"
    sub.mkdir()
    for path in folder.glob("model.ckpt-1*"):
        shutil.copy(path, sub / path.name)
    run = tfexplore.open(folder)
    assert (folder / "sub" / "model.ckpt-1") in [Path(p) for p in run.checkpoints["prefix"]]

    empty = tmp_path / "empty"
    empty.mkdir()
    saver_save(str(empty) + "/")
    _state(empty, "D:\\runs\\", ["D:\\runs\\"])
    run = tfexplore.open(empty)
    assert (
        run.checkpoints["relocated"].tolist() == [True]
        and run.latest.index_path == empty / ".index"
    )


# == 7. a SavedModel whose saved_model.pb is unreadable, its variables sound =======================
def _tf2_saved_model(folder: Path) -> Path:
    module = tf.Module()
    module.dense = tf.Module()
    module.dense.kernel = tf.Variable([[1.0, 2.0], [3.0, 4.0]])
    kernel = module.dense.kernel
    module.f = tf.function(lambda x: tf.matmul(x, kernel), input_signature=[tf.TensorSpec([1, 2])])
    tf.saved_model.save(module, str(folder))
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["truncated", "empty", "lfs_pointer", "garbage_text"])
def test_saved_model_with_unreadable_graph_still_shows_its_variables(tmp_path, damage):
    from tfexplore.errors import CorruptArtifactError

    folder = _tf2_saved_model(tmp_path / "sm")
    proto = folder / "saved_model.pb"
    data = proto.read_bytes()
    if damage == "truncated":
        proto.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        proto.write_bytes(b"")
    elif damage == "lfs_pointer":
        lfs_pointer(proto)
    else:
        proto.write_text("this is not a SavedModel\n" * 20)
    done = walk(folder)
    ok(done, "open", "repr", "html", "summary", "explain", "files", "variables", "notes", "stats")
    assert done["cli inspect"] == 0 and done["cli explain"] == 0
    model = done["open"]
    assert isinstance(model.graph_error, CorruptArtifactError)
    assert model.summary()["graph"].startswith("not readable")
    assert model.summary()["variables"].startswith("2 tensors")
    assert "the graph is not readable" in model.notes[0]
    assert "not readable" in model.explain()
    np.testing.assert_array_equal(model.read("dense/kernel"), [[1.0, 2.0], [3.0, 4.0]])
    assert len(model.stats()) == 1
    # the graph's own facts say why they are missing, the same error every time
    for attribute in ("signatures", "graph", "safety"):
        with pytest.raises(CorruptArtifactError) as caught:
            getattr(model, attribute)
        assert caught.value.path == str(proto)
    with pytest.raises(TFExploreError):
        tfexplore.session(folder)


@pytest.mark.slow
def test_tf1_builder_saved_model_with_damaged_graph(tmp_path):
    graph, _ = tf1_graph()
    with graph.as_default(), v1.Session(graph=graph) as sess:
        sess.run(v1.global_variables_initializer())
        builder = v1.saved_model.Builder(str(tmp_path / "sm"))
        builder.add_meta_graph_and_variables(sess, ["serve"])
        builder.save()
        expected = sess.run(graph.get_tensor_by_name("W/Read/ReadVariableOp:0"))
    proto = tmp_path / "sm" / "saved_model.pb"
    proto.write_bytes(proto.read_bytes()[:100])
    model = tfexplore.open(tmp_path / "sm")
    np.testing.assert_array_equal(model.read("W"), expected)
    assert "W" in set(model.variables["name"]) and model.graph_error is not None


# == 8. a session of a frozen .pb ==================================================================
def _frozen_tf2(folder: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    kernel = tf.Variable([[1.0], [2.0], [3.0]])

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
    def predict(x):
        return tf.nn.relu(tf.matmul(x, kernel), name="out")

    frozen = convert_variables_to_constants_v2(predict.get_concrete_function())
    x = np.array([[1.0, 1.0, 1.0], [-1.0, 0.0, 0.0]], np.float32)
    tf.io.write_graph(frozen.graph.as_graph_def(), str(folder), "frozen.pb", as_text=False)
    tf.io.write_graph(frozen.graph.as_graph_def(), str(folder), "frozen.pbtxt", as_text=True)
    output = frozen.outputs[0].name
    return output, x, np.maximum(x @ np.array([[1.0], [2.0], [3.0]], np.float32), 0)


@pytest.mark.slow
def test_session_of_a_frozen_graph_evaluates_with_feeds(tmp_path):
    output, x, expected = _frozen_tf2(tmp_path)
    for name in ("frozen.pb", "frozen.pbtxt"):
        path = tmp_path / name
        done = walk(path)
        ok(done, "summary", "explain", "graph explorer", "variables")
        with tfexplore.session(path) as s:
            assert s.frozen and "constants" in s.notes[0]
            np.testing.assert_allclose(s.eval(output, feed={"x": x}), expected)
            with pytest.raises(TFExploreError, match="constants") as caught:
                s.restore(str(tmp_path / "model.ckpt"))
            assert "eval" in caught.value.hint
            with pytest.raises(TFExploreError, match="Nothing to train"):
                s.train(1, feed={"x": x})
    with pytest.raises(TFExploreError, match="constants") as caught:
        tfexplore.session(tmp_path / "frozen.pb", checkpoint=str(tmp_path / "model.ckpt"))
    assert ".meta" in caught.value.hint


@pytest.mark.slow
def test_frozen_graph_neighbours(tmp_path):
    """A TF1 graph frozen with graph_util (VariableV2 -> Const), a GraphDef written with its
    variables unfrozen (the note says they cannot be restored here), and a GraphDef whose
    evaluation would read a file (refused before anything runs)."""
    from tfexplore.errors import MissingFeedError, UnsafeArtifactError

    graph, _ = tf1_graph()
    with graph.as_default(), v1.Session(graph=graph) as sess:
        sess.run(v1.global_variables_initializer())
        frozen = v1.graph_util.convert_variables_to_constants(sess, graph.as_graph_def(), ["pred"])
        weights = sess.run(graph.get_tensor_by_name("W/Read/ReadVariableOp:0"))
        tf.io.write_graph(frozen, str(tmp_path), "tf1_frozen.pb", as_text=False)
        tf.io.write_graph(graph.as_graph_def(), str(tmp_path), "unfrozen.pb", as_text=False)
    x = np.ones((2, 3), np.float32)
    with tfexplore.session(tmp_path / "tf1_frozen.pb") as s:
        np.testing.assert_allclose(s.eval("pred", feed={"x": x}), x @ weights, rtol=1e-6)
        with pytest.raises(MissingFeedError, match="x"):
            s.eval("pred")
    with tfexplore.session(tmp_path / "unfrozen.pb") as s:
        assert "variable op(s)" in s.notes[0] and ".meta" in s.notes[0]

    hostile = tf.Graph()
    with hostile.as_default():
        tf.io.read_file(tf.constant("/etc/hostname"), name="leak")
    tf.io.write_graph(hostile.as_graph_def(), str(tmp_path), "hostile.pb", as_text=False)
    with tfexplore.session(tmp_path / "hostile.pb") as s:
        with pytest.raises(UnsafeArtifactError):
            s.eval("leak")


@pytest.mark.corpus
def test_frozen_graphs_of_the_corpus_evaluate(corpus):
    path = corpus / "frozen_cms_trackclassifier" / "CKF_Run3_12_5_0_pre5.pb"
    with tfexplore.session(path) as s:
        feed = {"x": np.zeros((2, 29), np.float32), "y": np.zeros((2, 1), np.float32)}
        out = s.eval("Identity", feed=feed)
        assert out.shape == (2, 1) and np.all((out >= 0) & (out <= 1))
    with tfexplore.session(corpus / "frozen_charrnn_lstm" / "frozen_model.pb") as s:
        probs = s.eval("probs", feed={"input_data": np.zeros((10, 10), np.int32)})
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-4)


# == 3. a TF 2.4-era Keras SavedModel that today's tf.saved_model.load cannot revive ===============
def _tf24_keras_like_saved_model(folder: Path, *, hostile: bool = False) -> Path:
    """A TF2 SavedModel whose object graph holds what TF 2.4-era Keras wrote for a model saved
    with its optimizer: a user object `optimizer` (identifier "optimizer", which today's
    tf.saved_model.load revives as a plain _UserObject) owning a slot variable of the kernel.
    TensorFlow 2.21 writes no such file; its object graph is edited with TensorFlow's protos."""
    from tensorflow.core.protobuf import saved_model_pb2

    class Model(tf.Module):
        def __init__(self):
            self.kernel = tf.Variable([[1.0], [2.0], [3.0]], name="kernel")
            self.optimizer = tf.Module()
            self.optimizer.iterations = tf.Variable(7, dtype=tf.int64, name="iterations")
            self.optimizer.m = tf.Variable(tf.zeros([3, 1]), name="kernel_m")

        @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
        def serve(self, x):
            y = tf.matmul(x, self.kernel)
            if hostile:
                leak = tf.strings.length(tf.io.read_file("/etc/hostname"), unit="BYTE")
                y += tf.cast(leak, tf.float32) * 0.0
            return {"y": y}

    model = Model()
    tf.saved_model.save(model, str(folder), signatures={"serving_default": model.serve})
    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((folder / "saved_model.pb").read_bytes())
    nodes = proto.meta_graphs[0].object_graph_def.nodes
    ids = {}
    for parent in nodes:
        for child in parent.children:
            ids.setdefault(child.local_name, child.node_id)
    optimizer = nodes[ids["optimizer"]]
    optimizer.user_object.identifier = "optimizer"
    slot = optimizer.slot_variables.add()
    slot.original_variable_node_id = ids["kernel"]
    slot.slot_variable_node_id = ids["m"]
    slot.slot_name = "m"
    (folder / "saved_model.pb").write_bytes(proto.SerializeToString())
    return folder


@pytest.mark.slow
def test_tf24_keras_saved_model_falls_back_to_the_tf1_way(tmp_path):
    folder = _tf24_keras_like_saved_model(tmp_path / "sm")
    with pytest.raises(AttributeError, match="add_slot"):  # the condition, as TensorFlow meets it
        tf.saved_model.load(str(folder))
    done = walk(folder)
    ok(done, "summary", "explain", "variables", "signatures", "graph explorer")
    signatures = done["signatures"].query("signature == 'serving_default'")
    x_name = signatures.query("direction == 'input'")["tensor"].iloc[0]
    y_name = signatures.query("direction == 'output'")["tensor"].iloc[0]
    with tfexplore.session(folder) as s:
        assert any("add_slot" in note and "TF1 way" in note for note in s.notes)
        x = np.ones((2, 3), np.float32)
        np.testing.assert_allclose(s.eval(y_name, feed={x_name: x}), [[6.0], [6.0]])
        assert s.last_restore is not None and s.last_restore.loaded_by
        assert "loaded from" in repr(s.last_restore)


@pytest.mark.slow
def test_tf24_fallback_respects_the_safety_checks(tmp_path):
    """The fallback runs the file's restore and init ops: a file whose functions read files is
    refused before either path runs anything, as for any TF2 SavedModel."""
    from tfexplore.errors import UnsafeArtifactError

    folder = _tf24_keras_like_saved_model(tmp_path / "sm", hostile=True)
    with pytest.raises(UnsafeArtifactError, match="ReadFile"):
        tfexplore.session(folder)


@pytest.mark.slow
def test_saved_model_neither_loader_can_open_is_one_tfexplore_error(tmp_path):
    """A neighbour: the serving function the object graph and the signature call is gone from
    the library; tf.saved_model.load fails, the TF1 import fails too; one error names both."""
    from tensorflow.core.protobuf import saved_model_pb2

    folder = _tf24_keras_like_saved_model(tmp_path / "sm")
    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((folder / "saved_model.pb").read_bytes())
    library = proto.meta_graphs[0].graph_def.library
    keep = [f for f in library.function if "serve" not in f.signature.name]
    assert len(keep) < len(library.function)
    del library.function[:]
    library.function.extend(keep)
    (folder / "saved_model.pb").write_bytes(proto.SerializeToString())
    # without trust, a call of a function the file does not hold is an unknown op: refused
    # before either loader runs; trusted, both loaders fail and one error names both
    with pytest.raises(UnsafeArtifactError):
        tfexplore.session(folder)
    with pytest.raises(TFExploreError) as caught:
        tfexplore.session(folder, trust=True)
    assert "could not load the SavedModel" in caught.value.message
    walk(folder)


@pytest.mark.slow
def test_session_of_a_keras_run_folder_opens_its_latest_epoch(tmp_path):
    folder = tmp_path / "checkpoints"
    _fit_with_checkpoints(folder, "ckpt_{epoch}.keras", 3)
    with tfexplore.session(folder) as s:
        assert s.source.endswith("ckpt_3.keras")
        kernel = next(n for n in s.variables["name"] if n.endswith("hidden/kernel"))
        np.testing.assert_allclose(
            s.eval(kernel), tfexplore.open(folder / "ckpt_3.keras").read("hidden/kernel")
        )


@pytest.mark.slow
def test_explore_opens_every_class(tmp_path):
    """tfexplore.explore (the tabbed widget, built without a browser) on one artifact of each
    class: it opens, and its tabs fit what the artifact holds."""
    pytest.importorskip("ipywidgets")
    from tfexplore.widgets import explore

    empty = tmp_path / "empty"
    empty.mkdir()
    saver_save(str(empty) + "/")
    graphs = tmp_path / "graphs"
    graphs.mkdir()
    saver_save(str(graphs / "model.ckpt"), steps=(1, 2))
    _drop_tensors(graphs)
    keras_run = tmp_path / "keras"
    _fit_with_checkpoints(keras_run, "ckpt_{epoch}.keras", 2)
    bad_graph = _tf2_saved_model(tmp_path / "bad_graph")
    (bad_graph / "saved_model.pb").write_bytes(b"xx")
    _frozen_tf2(tmp_path)
    tf24 = _tf24_keras_like_saved_model(tmp_path / "tf24")
    expectations = {
        empty: ("Graph", "Variables"),
        graphs: ("Graph",),
        keras_run: ("Variables",),
        bad_graph: ("Variables",),
        tmp_path / "frozen.pb": ("Graph",),
        tf24: ("Graph", "Variables"),
    }
    for path, tabs in expectations.items():
        widget = explore(path)
        assert set(tabs) <= set(widget.model.tabs), (path, widget.model.tabs)
    assert "Graph" not in explore(bad_graph).model.tabs  # its saved_model.pb is unreadable
    assert explore(graphs).model.artifact.path == graphs / "model.ckpt-2.meta"
    assert explore(keras_run).model.artifact.path.name == "ckpt_2.keras"


@pytest.mark.slow
def test_a_folder_where_every_file_is_a_git_lfs_pointer(tmp_path):
    """A repository whose .gitattributes sends the whole folder to LFS, cloned without it:
    the state file, index, data and graph are all pointers. It still opens and says so."""
    folder = tmp_path / "run"
    folder.mkdir()
    saver_save(str(folder / "model.ckpt"), steps=(1,))
    for path in list(folder.iterdir()):
        lfs_pointer(path)
    done = walk(folder, graph=False)
    ok(done, "summary", "explain", "notes", "checkpoints")
    notes = " ".join(done["notes"])
    assert "state file" in notes and "Git LFS pointer" in notes and "git lfs pull" in notes
    assert "4 file(s) are Git LFS pointers" in notes
