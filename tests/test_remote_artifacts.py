"""Every kind of artifact opened by URL, on S3 (moto) and GCS (gcp-storage-emulator), gives what
the same files give on a local disk: meta graphs (binary and text), SavedModels (TF1 builder,
TF2, Keras export), Keras files (``.keras``, ``.h5``, ``.weights.h5``) and ModelCheckpoint
folders, frozen GraphDefs (``.pb``, ``.pbtxt``), ``tfexplore.scan`` of a folder, the graph
view and the command line. Only what a call needs is fetched, and errors name the URL."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from servers import Server, gcs_server, s3_server  # noqa: F401

import tfexplore
from tfexplore._fs import count_fetches
from tfexplore.cli import main, parse_storage_options
from tfexplore.errors import (
    ArtifactNotFoundError,
    CorruptArtifactError,
    TensorNotFoundError,
)

pytestmark = pytest.mark.slow  # servers start in ~2 s each; the artifacts are made by TF/Keras

KERAS_FILES = ["keras/model.keras", "keras/model.h5", "keras/model.weights.h5"]
SAVED_MODELS = ["sm_tf1", "sm_tf2", "keras/export"]
META_GRAPHS = ["run/model.ckpt-30.meta", "text/model.ckpt-30.meta.pbtxt"]
FROZEN = ["graphs/frozen.pb", "graphs/frozen.pbtxt"]


# -- the artifacts, local and uploaded -------------------------------------------------------
def _keras_run(folder: Path) -> None:
    """Two epochs of keras.callbacks.ModelCheckpoint(``ckpt_{epoch}.keras``)."""
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(4, name="hidden"), keras.layers.Dense(1, name="out")]
    )
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
    folder.mkdir(parents=True)
    callback = keras.callbacks.ModelCheckpoint(str(folder / "ckpt_{epoch}.keras"))
    model.fit(x, x[:, :1], epochs=2, verbose=0, callbacks=[callback])


def _risky_meta(path: Path) -> None:
    """A TF1 graph with a ReadFile nobody runs, exported as a ``.meta`` (a scan finding)."""
    import tensorflow as tf

    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        w = v1.get_variable("W", [2])
        tf.identity(w, name="out")
        tf.io.read_file("/etc/hostname", name="input/read_file")
        v1.train.export_meta_graph(str(path), saver_def=v1.train.Saver().as_saver_def())


def _big_keras(path: Path) -> None:
    """A ``.keras`` file of ~4 MB, nearly all of it one kernel (1024 x 1024 float32)."""
    import keras

    model = keras.Sequential(
        [keras.Input((1024,)), keras.layers.Dense(1024, name="wide"), keras.layers.Dense(2)]
    )
    model.save(path)


@pytest.fixture(scope="module")
def tree(tmp_path_factory, demo_run, tf1_saved_model, tf2_saved_model, keras_models, graph_files):
    """One local folder with every kind (the reference), uploaded as is to each server."""
    from google.protobuf import text_format

    from tfexplore._tf import protos

    root = tmp_path_factory.mktemp("remote_tree") / "tree"
    shutil.copytree(demo_run, root / "run")
    meta = protos().meta_graph_pb2.MetaGraphDef()
    meta.ParseFromString((demo_run / "model.ckpt-30.meta").read_bytes())
    (root / "text").mkdir()
    (root / "text" / "model.ckpt-30.meta.pbtxt").write_text(text_format.MessageToString(meta))
    shutil.copytree(tf1_saved_model, root / "sm_tf1")
    shutil.copytree(tf2_saved_model, root / "sm_tf2")
    (root / "keras").mkdir()
    for path in (keras_models.keras, keras_models.h5, keras_models.weights_h5):
        shutil.copy(path, root / "keras" / path.name)
    shutil.copytree(keras_models.export, root / "keras" / "export")
    (root / "graphs").mkdir()
    for name in ("frozen_pb", "frozen_pbtxt"):
        shutil.copy(graph_files[name], root / "graphs" / graph_files[name].name)
    _keras_run(root / "kerasrun")
    (root / "risky").mkdir()
    _risky_meta(root / "risky" / "model.ckpt-5.meta")
    return root


@pytest.fixture(scope="module")
def extras(tmp_path_factory, tree) -> Path:
    """Damaged and large files, uploaded apart from ``tree`` (a scan of ``tree`` stays clean)."""
    root = tmp_path_factory.mktemp("remote_extras") / "extras"
    shutil.copytree(tree / "sm_tf1", root / "no_index")
    (root / "no_index" / "variables" / "variables.index").unlink()
    shutil.copytree(tree / "sm_tf1", root / "no_data")
    (root / "no_data" / "variables" / "variables.data-00000-of-00001").unlink()
    shutil.copytree(tree / "sm_tf1", root / "cut_pb")
    for name in ("model.keras", "model.h5"):
        data = (tree / "keras" / name).read_bytes()
        (root / f"cut_{name}").write_bytes(data[: len(data) // 2])
    data = (tree / "sm_tf1" / "saved_model.pb").read_bytes()
    (root / "cut_pb" / "saved_model.pb").write_bytes(data[: len(data) // 2])
    data = (tree / "run" / "model.ckpt-30.meta").read_bytes()
    (root / "cut.meta").write_bytes(data[: len(data) // 3])
    _big_keras(root / "big.keras")
    return root


@pytest.fixture(scope="module", params=["s3_server", "gcs_server"])
def server(request) -> Server:
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="module")
def bucket(server, tree, extras) -> str:
    """``<protocol>://remote-artifacts``, holding ``tree/`` and ``extras/``."""
    url = server.make_bucket("remote-artifacts")
    server.upload(tree, f"{url}/tree")
    server.upload(extras, f"{url}/extras")
    return url


def remote(server: Server, bucket: str, relative: str):
    return tfexplore.open(f"{bucket}/{relative}", storage_options=server.storage_options)


def as_local(text: str, bucket: str, root: Path, under: str) -> str:
    """``text`` with the URL of ``under`` written as the local folder it was uploaded from."""
    return str(text).replace(f"{bucket}/{under}", str(root))


def without_path(facts: dict) -> dict:
    return {k: v for k, v in facts.items() if k != "path"}


def assert_same_files(local, far, bucket: str, root: Path) -> None:
    mine = far.files.copy()
    mine["path"] = [as_local(p, bucket, root, "tree") for p in mine["path"]]
    pd.testing.assert_frame_equal(mine, local.files)


def assert_same_graph(local_graph, far_graph) -> None:
    pd.testing.assert_frame_equal(
        far_graph.nodes[["name", "op"]].reset_index(drop=True),
        local_graph.nodes[["name", "op"]].reset_index(drop=True),
    )
    pd.testing.assert_frame_equal(far_graph.edges, local_graph.edges)


# -- each kind, compared with the local result -------------------------------------------------
@pytest.mark.parametrize("relative", META_GRAPHS)
def test_meta_graph(server, bucket, tree, relative):
    local = tfexplore.open(tree / relative)
    far = remote(server, bucket, f"tree/{relative}")
    assert far.kind == local.kind == "meta_graph" and far.is_text == local.is_text
    assert str(far.path) == f"{bucket}/tree/{relative}"
    assert_same_graph(local.graph, far.graph)
    pd.testing.assert_frame_equal(far.variables, local.variables)
    pd.testing.assert_frame_equal(far.collections_table, local.collections_table)
    assert far.saver_def == local.saver_def and far.meta_info == local.meta_info
    assert without_path(far.summary()) == without_path(local.summary())
    assert far.notes == local.notes
    assert as_local(far.explain(), bucket, tree, "tree") == local.explain()
    assert_same_files(local, far, bucket, tree)
    if relative.endswith(".meta"):  # its sibling checkpoint, read remotely too
        assert far.variables["in_checkpoint"].all()
        assert str(far.checkpoint.prefix) == f"{bucket}/tree/run/model.ckpt-30"
        assert np.array_equal(far.checkpoint.read("layer1/W"), local.checkpoint.read("layer1/W"))


@pytest.mark.parametrize("relative", SAVED_MODELS)
def test_saved_model(server, bucket, tree, relative):
    local = tfexplore.open(tree / relative)
    far = remote(server, bucket, f"tree/{relative}")
    assert far.kind == "saved_model" and far.graph_error is None
    assert (far.tags, far.writer, far.tensorflow_version) == (
        local.tags,
        local.writer,
        local.tensorflow_version,
    )
    assert_same_graph(local.graph, far.graph)
    for table in ("signatures", "variables", "object_graph", "functions", "assets"):
        pd.testing.assert_frame_equal(getattr(far, table), getattr(local, table), obj=table)
    for name in local.variables["name"]:
        assert np.array_equal(far.read(name), local.read(name)), name
    pd.testing.assert_frame_equal(far.stats(), local.stats())
    assert far.fingerprint == local.fingerprint
    assert far.notes == local.notes
    assert without_path(far.summary()) == without_path(local.summary())
    assert as_local(far.explain(), bucket, tree, "tree") == local.explain()
    assert_same_files(local, far, bucket, tree)
    assert far.safety.frame.shape == local.safety.frame.shape


def test_saved_model_by_its_saved_model_pb(server, bucket):
    far = remote(server, bucket, "tree/sm_tf1/saved_model.pb")
    assert far.kind == "saved_model" and str(far.path) == f"{bucket}/tree/sm_tf1"


@pytest.mark.parametrize("relative", KERAS_FILES)
def test_keras_file(server, bucket, tree, relative):
    local = tfexplore.open(tree / relative)
    far = remote(server, bucket, f"tree/{relative}")
    assert far.kind == "keras" and far.format == local.format
    for table in ("weights", "layers", "members"):
        pd.testing.assert_frame_equal(getattr(far, table), getattr(local, table), obj=table)
    assert far.config == local.config and far.metadata == local.metadata
    assert far.training_config == local.training_config
    assert (far.optimizer is None) == (local.optimizer is None)
    for name in local.weights["name"]:
        assert np.array_equal(far.read(name), local.read(name)), name
    pd.testing.assert_frame_equal(far.stats(), local.stats())
    assert without_path(far.summary()) == without_path(local.summary())
    # what is not the same, said: the HDF5 reads were not rehearsed in a child process
    assert far.notes[:-1] == local.notes and "object storage" in far.notes[-1]
    assert "rehearsal" in far.notes[-1]
    explained = str(far.explain())
    assert explained.startswith(str(local.explain())) and "copy it to a local disk" in explained
    assert_same_files(local, far, bucket, tree)


def test_keras_run(server, bucket, tree):
    local = tfexplore.open(tree / "kerasrun")
    far = remote(server, bucket, "tree/kerasrun")
    assert far.kind == local.kind == "keras_run" and len(far) == len(local) == 2
    columns = ["epoch", "metric", "format", "size", "is_latest"]
    pd.testing.assert_frame_equal(far.checkpoints[columns], local.checkpoints[columns])
    assert [Path(p).name for p in far.checkpoints["path"]] == ["ckpt_1.keras", "ckpt_2.keras"]
    assert str(far.latest.path) == f"{bucket}/tree/kerasrun/ckpt_2.keras"
    pd.testing.assert_frame_equal(
        far.history().drop(columns="path"), local.history().drop(columns="path")
    )
    pd.testing.assert_frame_equal(far.diff(1, 2), local.diff(1, 2))
    assert np.array_equal(far.open(1).read("hidden/kernel"), local.open(1).read("hidden/kernel"))
    assert far.open("ckpt_2.keras").path == far.latest.path
    assert as_local(far.explain(), bucket, tree, "tree") == local.explain()


@pytest.mark.parametrize("relative", FROZEN)
def test_frozen_graph(server, bucket, tree, relative):
    local = tfexplore.open(tree / relative)
    far = remote(server, bucket, f"tree/{relative}")
    assert far.kind == "graph_def" and far.is_text == local.is_text
    assert_same_graph(local.graph, far.graph)
    pd.testing.assert_frame_equal(far.variables, local.variables)
    for name in local.variables["name"]:
        assert np.array_equal(far.read(name), local.read(name)), name
    assert (far.inputs, far.outputs) == (local.inputs, local.outputs)
    assert without_path(far.summary()) == without_path(local.summary())
    assert far.explain() == local.explain()


def test_scan_of_a_folder(server, bucket, tree):
    local = tfexplore.scan(tree)
    server.counter.reset()
    far = tfexplore.scan(f"{bucket}/tree", storage_options=server.storage_options)
    assert [as_local(f, bucket, tree, "tree") for f in far.files] == local.files
    assert far.skipped == local.skipped == []
    assert far.ok == local.ok is False  # the ReadFile of risky/
    frame = far.frame.copy()
    frame["file"] = [as_local(f, bucket, tree, "tree") for f in frame["file"]]
    pd.testing.assert_frame_equal(frame, local.frame)
    assert any(f.endswith("risky/model.ckpt-5.meta") for f in far.frame["file"])
    # graphs only: no checkpoint data shard, no SavedModel variables, are fetched
    assert server.counter.bytes_for(".data-0") == 0
    assert server.counter.bytes_for("variables.index") == 0


def test_scan_of_one_file(server, bucket, tree):
    local = tfexplore.scan(tree / "risky" / "model.ckpt-5.meta")
    far = tfexplore.scan(
        f"{bucket}/tree/risky/model.ckpt-5.meta", storage_options=server.storage_options
    )
    assert (far.ok, len(far.frame)) == (local.ok, len(local.frame))


def test_graph_view(server, bucket, tree):
    from tfexplore.ui.graphview import GraphExplorer

    url = f"{bucket}/tree/run/model.ckpt-30"
    local = GraphExplorer(tree / "run" / "model.ckpt-30")
    far = GraphExplorer(url, storage_options=server.storage_options)
    assert_same_graph(local.graph, far.graph)
    assert far.checkpoint is not None and str(far.checkpoint.prefix) == url
    assert [b.id for b in far.layout.boxes] == [b.id for b in local.layout.boxes]
    artifact = remote(server, bucket, "tree/sm_tf2")  # an artifact opened by URL
    assert_same_graph(GraphExplorer(tree / "sm_tf2").graph, GraphExplorer(artifact).graph)
    pytest.importorskip("anywidget")
    from tfexplore.widgets.graphview import GraphView

    view = GraphView(url, storage_options=server.storage_options)
    assert view.scene == GraphView(tree / "run" / "model.ckpt-30").scene


# -- only what a call needs is fetched ----------------------------------------------------------
def test_saved_model_variables_fetch_the_index_not_the_data(server, bucket, tree):
    server.counter.reset()
    with count_fetches() as fetched:
        model = remote(server, bucket, "tree/sm_tf1")
        variables = model.variables
    assert set(variables["name"]) == {"dense/W", "dense/b"}
    base = f"{bucket}/tree/sm_tf1"
    assert fetched.by_file == {
        f"{base}/saved_model.pb": (tree / "sm_tf1" / "saved_model.pb").stat().st_size,
        f"{base}/variables/variables.index": (tree / "sm_tf1" / "variables" / "variables.index")
        .stat()
        .st_size,
    }
    assert server.counter.bytes_for("sm_tf1/variables/variables.data") == 0
    assert (
        server.counter.bytes_for("sm_tf1/saved_model.pb")
        == fetched.by_file[f"{base}/saved_model.pb"]
    )
    with count_fetches() as fetched:
        model.read("dense/W")
    assert fetched.bytes == 3 * 2 * 4  # the tensor's bytes, nothing else


def test_meta_graph_fetches_no_checkpoint_data(server, bucket):
    server.counter.reset()
    meta = remote(server, bucket, "tree/run/model.ckpt-30.meta")
    assert meta.variables["in_checkpoint"].all()  # the sibling .index was read
    assert server.counter.bytes_for("model.ckpt-30.data-") == 0
    assert server.counter.bytes_for("model.ckpt-30.index") > 0


def test_keras_file_fetches_the_zip_directory_and_the_members_read(server, bucket, extras):
    size = (extras / "big.keras").stat().st_size
    with count_fetches() as listing:
        big = remote(server, bucket, "extras/big.keras")
        weights = big.weights
        assert big.config["class_name"] == "Sequential"
    kernel = weights.set_index("name").loc["wide/kernel"]
    assert kernel["shape"] == (1024, 1024) and size > kernel["nbytes"] == 4 << 20
    assert listing.bytes < size // 10, listing  # the directory, the configs, HDF5 metadata
    with count_fetches() as bias:
        big.read("wide/bias")
    assert bias.bytes < 256 << 10, bias
    with count_fetches() as whole:
        value = big.read("wide/kernel")
    assert value.shape == (1024, 1024)
    assert kernel["nbytes"] <= whole.bytes < kernel["nbytes"] + (512 << 10), whole
    assert whole.requests <= 4, whole  # the data in one request, not block by block


def test_inspection_writes_nothing_to_disk(server, bucket, monkeypatch):
    """No temporary file, no local copy: every Python-level way to write is refused while each
    kind is opened and read by URL (h5py and zipfile read file objects)."""
    import builtins
    import tempfile

    def refuse(*args, **kwargs):
        raise AssertionError(f"inspection wrote to disk: {args}")

    real_open, real_os_open = builtins.open, os.open

    def read_only_open(file, mode="r", *args, **kwargs):
        if any(c in mode for c in "wax+"):
            refuse(file, mode)
        return real_open(file, mode, *args, **kwargs)

    def read_only_os_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            refuse(path, flags)
        return real_os_open(path, flags, *args, **kwargs)

    for name in (
        "mkstemp",
        "mkdtemp",
        "NamedTemporaryFile",
        "TemporaryFile",
        "SpooledTemporaryFile",
    ):
        monkeypatch.setattr(tempfile, name, refuse)
    monkeypatch.setattr(builtins, "open", read_only_open)
    monkeypatch.setattr(os, "open", read_only_os_open)
    for relative in [*KERAS_FILES, *SAVED_MODELS, *META_GRAPHS, *FROZEN, "kerasrun"]:
        artifact = remote(server, bucket, f"tree/{relative}")
        artifact.summary()
        artifact.explain()
        if hasattr(artifact, "stats"):
            artifact.stats()


# -- errors name the URL and what was expected -------------------------------------------------
def test_a_missing_bucket_is_named(server):
    url = f"{server.protocol}://no-such-bucket-here/export/1"
    with pytest.raises(ArtifactNotFoundError) as caught:
        tfexplore.open(url, storage_options=server.storage_options)
    message = str(caught.value)
    assert "bucket 'no-such-bucket-here'" in message and url in message
    assert "does not exist" in message and "expected:" in message


def test_a_missing_file_in_a_bucket_is_named(server, bucket):
    url = f"{bucket}/tree/nothing/model.keras"
    with pytest.raises(ArtifactNotFoundError, match="nothing/model.keras") as caught:
        tfexplore.open(url, storage_options=server.storage_options)
    assert "relative paths" not in str(caught.value)


def test_a_saved_model_without_its_variables_index(server, bucket):
    model = remote(server, bucket, "extras/no_index")
    assert model.variables.empty
    assert any("variables/variables.index is missing" in note for note in model.notes)
    with pytest.raises(TensorNotFoundError) as caught:
        model.read("dense/W")
    assert f"{bucket}/extras/no_index" in str(caught.value)
    assert "variables/variables.index" in caught.value.expected


def test_a_saved_model_without_its_data_shard(server, bucket):
    model = remote(server, bucket, "extras/no_data")
    assert set(model.variables["name"]) == {"dense/W", "dense/b"}  # from the index alone
    with pytest.raises(tfexplore.TFExploreError) as caught:
        model.read("dense/W")
    assert f"{bucket}/extras/no_data/variables/variables" in str(caught.value)


def test_a_file_that_shrinks_while_open_is_named(server, bucket, extras, tmp_path):
    url = f"{bucket}/extras/shrinking.keras"
    server.upload(extras / "big.keras", url)
    keras_file = tfexplore.open(url, storage_options=server.storage_options)
    data = (extras / "big.keras").read_bytes()
    (tmp_path / "half.keras").write_bytes(data[: len(data) // 2])
    server.upload(tmp_path / "half.keras", url)  # replaced by a shorter upload
    with pytest.raises(tfexplore.TFExploreError) as caught:
        _ = keras_file.weights
    assert url in str(caught.value) and "changed while it was read" in str(caught.value)


def test_truncated_files_are_named(server, bucket):
    for relative, what in (
        ("extras/cut_model.keras", "weights"),
        ("extras/cut_model.h5", "weights"),
    ):
        url = f"{bucket}/{relative}"
        with pytest.raises(CorruptArtifactError) as caught:
            getattr(remote(server, bucket, relative), what)
        assert url in str(caught.value) and "damaged" in str(caught.value)
    url = f"{bucket}/extras/cut.meta"
    with pytest.raises(CorruptArtifactError, match="truncated|damaged") as caught:
        remote(server, bucket, "extras/cut.meta")
    assert url in str(caught.value)
    model = remote(server, bucket, "extras/cut_pb")
    assert isinstance(model.graph_error, CorruptArtifactError)
    assert f"{bucket}/extras/cut_pb/saved_model.pb" in str(model.graph_error)
    assert set(model.variables["name"]) == {"dense/W", "dense/b"}  # read on its own


# -- the command line ---------------------------------------------------------------------------
def storage_option_args(options: dict, prefix: str = "") -> list[str]:
    """``--storage-option KEY=VALUE`` arguments for ``options`` (nested dicts as dotted keys)."""
    args = []
    for key, value in options.items():
        if isinstance(value, dict):
            args += storage_option_args(value, f"{prefix}{key}.")
        else:
            text = value if isinstance(value, str) else json.dumps(value)
            args += ["--storage-option", f"{prefix}{key}={text}"]
    return args


def test_parse_storage_options():
    assert parse_storage_options(
        ["anon=true", "client_kwargs.endpoint_url=http://localhost:9000", "n=3", "a.b.c=x y"]
    ) == {
        "anon": True,
        "client_kwargs": {"endpoint_url": "http://localhost:9000"},
        "n": 3,
        "a": {"b": {"c": "x y"}},
    }
    assert parse_storage_options(['project="1234"', "token={}"]) == {
        "project": "1234",
        "token": {},
    }
    for bad in (["anon"], ["=1"], ["a..b=1"], ["a=1", "a.b=2"]):
        with pytest.raises(ValueError, match="--storage-option"):
            parse_storage_options(bad)


def test_a_malformed_storage_option_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["inspect", "s3://bucket/x", "--storage-option", "anon"])
    assert caught.value.code == 2
    assert "expected KEY=VALUE" in capsys.readouterr().err


@pytest.mark.parametrize(
    "command,relative",
    [
        ("inspect", "sm_tf2"),
        ("inspect", "keras/model.keras"),
        ("explain", "graphs/frozen.pbtxt"),
        ("scan", "risky"),
    ],
)
def test_cli_over_a_url(server, bucket, tree, capsys, command, relative):
    local_status = main([command, str(tree / relative)])
    local = capsys.readouterr().out
    args = [command, f"{bucket}/tree/{relative}", *storage_option_args(server.storage_options)]
    status = main(args)
    out = capsys.readouterr().out
    assert status == local_status == (3 if command == "scan" else 0)
    assert as_local(out, bucket, tree, "tree") == local


def test_cli_inspects_a_checkpoint_folder_url(server, bucket, capsys):
    url = f"{bucket}/tree/run"
    assert main(["inspect", url, *storage_option_args(server.storage_options)]) == 0
    out = capsys.readouterr().out
    assert "checkpoint_dir" in out and f"{url}/model.ckpt-10" in out  # the checkpoints table
    assert f"Latest checkpoint: {url}/model.ckpt-30" in out
    assert "layer1/W/Adam_1" in out and "Ops by top scope" in out


def test_cli_errors_name_the_url(server, bucket, capsys):
    url = f"{bucket}/tree/no/such.meta"
    assert main(["inspect", url, *storage_option_args(server.storage_options)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tfexplore: ArtifactNotFoundError: ") and url in err


def test_console_script_takes_the_endpoint_from_the_environment(server, bucket):
    """A URL with no --storage-option: the endpoint and credentials come from the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STORAGE_EMU"))}
    extra: list[str] = []
    if server.protocol == "s3":
        env.update(
            AWS_ENDPOINT_URL=server.endpoint,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION="us-east-1",
        )
    else:
        env["STORAGE_EMULATOR_HOST"] = server.endpoint
        extra = ["--storage-option", "token=anon"]  # no Google login on a test machine
    env["GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"] = "false"  # see tests/servers.py
    result = subprocess.run(
        [sys.executable, "-m", "tfexplore", "inspect", f"{bucket}/tree/{KERAS_FILES[2]}", *extra],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "weights_h5_v3" in result.stdout and "hidden/kernel" in result.stdout
