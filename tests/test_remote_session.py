"""tfexplore.session on URLs: exactly the files a session needs staged into a private temporary
folder (sizes checked, removed on close), the same values, training steps and safety checks as
a local session; Session.restore from a URL (byte ranges, nothing staged); save to a URL."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from servers import gcs_server, s3_server  # noqa: F401

from tfexplore.demo import regression_data
from tfexplore.errors import (
    ArtifactNotFoundError,
    CheckpointExistsError,
    CorruptArtifactError,
    UnsafeArtifactError,
)
from tfexplore.live.open import session

pytestmark = pytest.mark.slow  # a local S3 (GCS) server, TensorFlow sessions

tf = pytest.importorskip("tensorflow")
v1 = tf.compat.v1
X, Y = regression_data()
FEED = {"inputs/x": X, "inputs/y": Y}
CKPT_30 = [
    "model.ckpt-30.meta",
    "model.ckpt-30.index",
    "model.ckpt-30.data-00000-of-00001",
]


@pytest.fixture
def staging_dir(tmp_path, monkeypatch) -> Path:
    """Staging folders of this test go here (``tempfile.mkdtemp`` honours ``tempfile.tempdir``),
    so a test can see that none is left behind."""
    folder = tmp_path / "staging"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture(scope="module")
def s3_run(s3_server, demo_run) -> str:  # noqa: F811
    """The demo run (checkpoints 10, 20, 30, each with its .meta) at s3://remote-session/run."""
    url = s3_server.make_bucket("remote-session")
    s3_server.upload(demo_run, f"{url}/run")
    return f"{url}/run"


def _names(staged) -> list[str]:
    return [f.url.rpartition("/")[2] for f in staged.files]


def _values(opened) -> dict[str, np.ndarray]:
    names = list(opened.variables["name"])
    return dict(zip(names, (opened.eval(name) for name in names)))


def _assert_same_values(remote, local) -> None:
    expected = _values(local)
    actual = _values(remote)
    assert actual.keys() == expected.keys()
    for name, value in expected.items():
        np.testing.assert_array_equal(actual[name], value, err_msg=name)


# -- a TF1 run folder ---------------------------------------------------------------------------
def test_folder_url_stages_only_the_latest_checkpoint(s3_server, s3_run, demo_run, staging_dir):  # noqa: F811
    s3_server.counter.reset()
    remote = session(s3_run, storage_options=s3_server.storage_options)
    staged = remote.staged
    assert staged.how == "staged" and staged.url == s3_run
    assert sorted(_names(staged)) == sorted(CKPT_30)
    assert [f.url for f in staged.files] == [f"{s3_run}/{name}" for name in _names(staged)]
    assert staged.bytes == sum((demo_run / name).stat().st_size for name in CKPT_30)
    for file in staged.files:  # the copies are the files, byte for byte
        assert file.path.read_bytes() == (demo_run / file.path.name).read_bytes()
    # nothing of the other checkpoints was fetched, and each staged file once
    assert s3_server.counter.bytes_for("run/model.ckpt-10") == 0
    assert s3_server.counter.bytes_for("run/model.ckpt-20") == 0
    for name in CKPT_30:
        assert s3_server.counter.bytes_for(f"run/{name}") == (demo_run / name).stat().st_size

    # the session speaks of the URLs; the copy is behind them
    assert remote.source == f"{s3_run}/model.ckpt-30.meta"
    assert remote.checkpoint == f"{s3_run}/model.ckpt-30"
    assert remote.last_restore.checkpoint == f"{s3_run}/model.ckpt-30"
    assert remote.last_restore.staged == staged.describe()
    words = f"staged 3 files ({staged.bytes / 1024:.1f} KB) from {s3_run}"
    assert staged.describe() == words
    assert words in repr(remote) and words in repr(remote.last_restore)
    assert words in remote.last_restore._repr_html_()

    # the same values and the same training step as the local session
    local = session(demo_run)
    _assert_same_values(remote, local)
    assert remote.global_step == local.global_step == 30
    remote_loss = remote.train(2, feed=FEED)["loss"].tolist()
    local_loss = local.train(2, feed=FEED)["loss"].tolist()
    assert remote_loss == local_loss
    _assert_same_values(remote, local)
    local.close()

    folder = staged.folder
    assert folder.parent == staging_dir and folder.is_dir()
    remote.close()
    assert not folder.exists() and staged.removed
    assert "(removed)" in repr(remote)
    assert list(staging_dir.iterdir()) == []


@pytest.mark.parametrize(
    "suffix", ["/model.ckpt-20", "/model.ckpt-20.meta", "/model.ckpt-20.index"]
)
def test_prefix_meta_or_index_url_stages_that_checkpoint(s3_server, s3_run, demo_run, suffix):  # noqa: F811
    with session(s3_run + suffix, storage_options=s3_server.storage_options) as remote:
        assert sorted(_names(remote.staged)) == sorted(n.replace("30", "20") for n in CKPT_30)
        assert remote.checkpoint == f"{s3_run}/model.ckpt-20"
        with session(demo_run / "model.ckpt-20.meta") as local:
            _assert_same_values(remote, local)


def test_checkpoint_url_with_a_local_graph(s3_server, s3_run, demo_run):  # noqa: F811
    """``checkpoint=`` a URL: its .index and data shards are staged, not the remote .meta."""
    remote = session(
        demo_run / "model.ckpt-10.meta",
        f"{s3_run}/model.ckpt-30",
        storage_options=s3_server.storage_options,
    )
    with remote, session(demo_run) as local:
        assert sorted(_names(remote.staged)) == sorted(CKPT_30[1:])
        assert remote.checkpoint == f"{s3_run}/model.ckpt-30"
        _assert_same_values(remote, local)


def test_restore_from_url_reads_byte_ranges_and_stages_nothing(s3_server, s3_run, demo_run):  # noqa: F811
    options = s3_server.storage_options
    with session(demo_run / "model.ckpt-10.meta") as opened:
        assert opened.global_step == 10
        report = opened.restore(f"{s3_run}/model.ckpt-30", storage_options=options)
        assert opened.staged is None and report.staged is None
        assert report.checkpoint == opened.checkpoint == f"{s3_run}/model.ckpt-30"
        assert report.fetched.bytes > 0 and "nothing staged" in repr(report)
        with session(demo_run) as local:
            _assert_same_values(opened, local)
        plan = opened.plan_restore(s3_run, storage_options=options)  # a folder: its latest
        assert plan.checkpoint == f"{s3_run}/model.ckpt-30" and plan.ok

    # a staged session's restore(step) reads that step of the remote folder
    with session(s3_run, storage_options=options) as remote:
        report = remote.restore(20)
        assert report.checkpoint == remote.checkpoint == f"{s3_run}/model.ckpt-20"
        assert report.fetched is not None and report.staged is None
        assert remote.global_step == 20
        with session(demo_run / "model.ckpt-20.meta") as local:
            _assert_same_values(remote, local)
        again = remote.restore(f"{s3_run}/model.ckpt-30")  # staged: read from the local copy
        assert again.staged == remote.staged.describe() and again.fetched is None


# -- errors name the URL ------------------------------------------------------------------------
def test_errors_name_the_url_not_the_copy(s3_server, demo_run, tmp_path, staging_dir):  # noqa: F811
    options = s3_server.storage_options
    url = s3_server.make_bucket("remote-session-errors")
    with pytest.raises(ArtifactNotFoundError) as missing:
        session(f"{url}/run/model.ckpt-99", storage_options=options)
    assert f"{url}/run/model.ckpt-99" in str(missing.value)

    damaged = tmp_path / "damaged"
    damaged.mkdir()
    for name in CKPT_30:
        shutil.copy(demo_run / name, damaged / name)
    data = damaged / CKPT_30[2]
    data.write_bytes(data.read_bytes()[:100])  # the index's entries run past its end
    s3_server.upload(damaged, f"{url}/damaged")
    with pytest.raises(CorruptArtifactError) as caught:
        session(f"{url}/damaged", storage_options=options)
    assert f"{url}/damaged/" in str(caught.value)
    assert caught.value.path.startswith(f"{url}/damaged/")
    assert "tfexplore-staged" not in str(caught.value) and str(staging_dir) not in str(caught.value)
    assert list(staging_dir.iterdir()) == []  # the copy went with the error


def _hostile_meta(folder: Path, target: Path) -> Path:
    """A .meta whose SaverDef restore op also writes ``target`` (tests/test_session.py's)."""
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


def test_hostile_remote_meta_is_refused_as_a_local_one(s3_server, tmp_path, staging_dir):  # noqa: F811
    target = tmp_path / "pwned.txt"
    folder = tmp_path / "hostile"
    folder.mkdir()
    meta = _hostile_meta(folder, target)
    url = s3_server.make_bucket("remote-session-hostile") + "/run"
    s3_server.upload(folder, url)

    with pytest.raises(UnsafeArtifactError) as local:
        session(meta)
    with pytest.raises(UnsafeArtifactError) as remote:
        session(url, storage_options=s3_server.storage_options)
    assert not target.exists()  # nothing ran
    assert remote.value.path == f"{url}/model.ckpt.meta"
    assert str(remote.value) == str(local.value).replace(str(meta), f"{url}/model.ckpt.meta")
    assert "WriteFile" in str(remote.value)
    assert list(staging_dir.iterdir()) == []


# -- saving to a URL ----------------------------------------------------------------------------
def test_save_to_url_uploads_index_last_then_the_state_file(s3_server, demo_run):  # noqa: F811
    import tfexplore

    options = s3_server.storage_options
    url = s3_server.make_bucket("remote-session-save") + "/resumed"
    with session(demo_run) as opened:
        opened.train(3, feed=FEED)
        s3_server.counter.reset()
        prefix = opened.save(url, storage_options=options)
        assert prefix == f"{url}/model.ckpt-33"
        puts = [r.path.rpartition("/")[2] for r in s3_server.counter.requests if r.method == "PUT"]
        assert puts == [
            "model.ckpt-33.data-00000-of-00001",
            "model.ckpt-33.meta",
            "model.ckpt-33.index",
            "checkpoint",
        ]
        with pytest.raises(CheckpointExistsError) as exists:
            opened.save(url, storage_options=options)
        assert f"{url}/model.ckpt-33" in str(exists.value)
        opened.train(1, feed=FEED)
        assert opened.save(url, storage_options=options) == f"{url}/model.ckpt-34"
        assert opened.save(url, storage_options=options, overwrite=True) == prefix.replace(
            "33", "34"
        )
        values = _values(opened)

    run = tfexplore.open(url, storage_options=options)
    assert list(run.checkpoints["step"]) == [33, 34]
    assert run.latest.step == 34
    state = s3_server.fs().cat(f"{url}/checkpoint").decode()
    assert 'model_checkpoint_path: "model.ckpt-34"' in state and "model.ckpt-33" in state
    with session(url, storage_options=options) as reopened:  # the saved graph and values
        for name, value in values.items():
            np.testing.assert_array_equal(reopened.eval(name), value)


# -- SavedModels and Keras files ----------------------------------------------------------------
def test_tf1_saved_model_url(s3_server, tf1_saved_model):  # noqa: F811
    url = s3_server.make_bucket("remote-session-sm1") + "/export"
    s3_server.upload(tf1_saved_model, url)
    x = np.ones((2, 3), np.float32)
    with session(url, storage_options=s3_server.storage_options) as remote:
        assert sorted(f.url[len(url) + 1 :] for f in remote.staged.files) == [
            "saved_model.pb",
            "variables/variables.data-00000-of-00001",
            "variables/variables.index",
        ]
        assert remote.source.startswith(url)
        with session(tf1_saved_model) as local:
            _assert_same_values(remote, local)
            np.testing.assert_array_equal(
                remote.eval("y:0", feed={"x:0": x}), local.eval("y:0", feed={"x:0": x})
            )


def test_tf2_saved_model_url(s3_server, tf2_saved_model):  # noqa: F811
    url = s3_server.make_bucket("remote-session-sm2") + "/export"
    s3_server.upload(tf2_saved_model, url)
    present = sorted(p.relative_to(tf2_saved_model).as_posix() for p in tf2_saved_model.rglob("*"))
    with session(url, storage_options=s3_server.storage_options) as remote:
        staged = sorted(f.url[len(url) + 1 :] for f in remote.staged.files)
        assert staged == [
            "saved_model.pb",
            "variables/variables.data-00000-of-00001",
            "variables/variables.index",
        ]
        assert "fingerprint.pb" in present  # there, and not needed
        assert remote.last_restore.checkpoint == f"{url}/variables/variables"
        with session(tf2_saved_model) as local:
            _assert_same_values(remote, local)


def _tf1_saved_model_with_vocabulary(folder: Path) -> Path:
    """A TF1 export whose main op fills a lookup table from its asset ``vocab.txt``
    (tests/test_session_savedmodel.py's), plus files of assets/ and assets.extra/ that no
    loader reads."""
    vocabulary = folder.parent / "vocab.txt"
    vocabulary.write_text("cat\ndog\nbird\n")
    graph = tf.Graph()
    with graph.as_default():
        words = v1.placeholder(tf.string, [None], name="words")
        asset = tf.constant(str(vocabulary), name="vocab_path")
        v1.add_to_collection(v1.GraphKeys.ASSET_FILEPATHS, asset)
        table = tf.lookup.StaticHashTable(
            tf.lookup.TextFileInitializer(
                asset, tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
                tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER,
            ),
            default_value=-1,
        )  # fmt: skip
        v1.get_variable("scale", initializer=np.float32(10.0))
        tf.identity(table.lookup(words), name="ids")
        with v1.Session(graph=graph) as sess:
            sess.run([v1.global_variables_initializer(), v1.tables_initializer()])
            builder = v1.saved_model.Builder(str(folder))
            builder.add_meta_graph_and_variables(
                sess, ["serve"], main_op=v1.tables_initializer(),
                assets_collection=v1.get_collection(v1.GraphKeys.ASSET_FILEPATHS),
            )  # fmt: skip
            builder.save()
    vocabulary.unlink()
    (folder / "assets" / "unused.txt").write_text("not named by the meta graph")
    (folder / "assets.extra").mkdir()
    (folder / "assets.extra" / "notes.txt").write_text("for people, not loaders")
    return folder


def test_saved_model_assets_staged_only_when_named(s3_server, tmp_path):  # noqa: F811
    folder = _tf1_saved_model_with_vocabulary(tmp_path / "text_model")
    url = s3_server.make_bucket("remote-session-assets") + "/text_model"
    s3_server.upload(folder, url)
    words = {"words:0": np.array([b"dog", b"fish", b"cat"])}
    with session(url, storage_options=s3_server.storage_options) as remote:
        assert sorted(f.url[len(url) + 1 :] for f in remote.staged.files) == [
            "assets/vocab.txt",
            "saved_model.pb",
            "variables/variables.data-00000-of-00001",
            "variables/variables.index",
        ]
        assert remote.eval("ids:0", feed=words).tolist() == [1, -1, 0]
        assert remote.eval("scale") == pytest.approx(10.0)


def test_keras_file_url_trains_like_the_local_file(s3_server, keras_models):  # noqa: F811
    import keras

    url = s3_server.make_bucket("remote-session-keras") + "/model.keras"
    s3_server.upload(keras_models.keras, url)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(16, 4)).astype("float32")
    y = rng.integers(0, 2, size=(16,))
    losses = []
    for source, options in ((url, s3_server.storage_options), (keras_models.keras, None)):
        keras.utils.set_random_seed(0)
        with session(source, storage_options=options) as opened:
            if options is not None:
                assert _names(opened.staged) == ["model.keras"]
                assert opened.staged.bytes == keras_models.keras.stat().st_size
                assert opened.source == url
            losses.append(opened.train(1, feed=(x, y))["loss"].tolist())
            losses.append(_values(opened))
    assert losses[0] == losses[2]
    for name, value in losses[3].items():
        np.testing.assert_array_equal(losses[1][name], value)


def test_legacy_h5_and_keras_run_folder_urls(s3_server, keras_models, tmp_path):  # noqa: F811
    """A legacy .h5 is its one file; a ModelCheckpoint folder stages only its latest epoch."""
    bucket = s3_server.make_bucket("remote-session-keras-run")
    s3_server.upload(keras_models.h5, f"{bucket}/model.h5")
    folder = tmp_path / "epochs"
    folder.mkdir()
    for epoch in (1, 2, 3):
        shutil.copy(keras_models.keras, folder / f"model-{epoch:02d}.keras")
    s3_server.upload(folder, f"{bucket}/epochs")
    options = s3_server.storage_options
    with session(f"{bucket}/model.h5", storage_options=options) as remote:
        assert _names(remote.staged) == ["model.h5"] and remote.source == f"{bucket}/model.h5"
        with session(keras_models.h5) as local:
            _assert_same_values(remote, local)
    with session(f"{bucket}/epochs", storage_options=options) as remote:
        assert [f.url for f in remote.staged.files] == [f"{bucket}/epochs/model-03.keras"]
        assert remote.source == f"{bucket}/epochs/model-03.keras"


# -- gs:// (staged too: TensorFlow's own gs:// cannot reach the emulator) -----------------------
def test_gcs_folder_url(gcs_server, demo_run, staging_dir):  # noqa: F811
    url = gcs_server.make_bucket("remote-session-gcs") + "/run"
    gcs_server.upload(demo_run, url)
    with session(url, storage_options=gcs_server.storage_options) as remote:
        assert remote.staged.url == url and sorted(_names(remote.staged)) == sorted(CKPT_30)
        with session(demo_run) as local:
            _assert_same_values(remote, local)
            assert remote.train(1, feed=FEED)["loss"].tolist() == (
                local.train(1, feed=FEED)["loss"].tolist()
            )
        report = remote.restore(10)
        assert report.checkpoint == f"{url}/model.ckpt-10" and report.fetched.bytes > 0
    assert list(staging_dir.iterdir()) == []
