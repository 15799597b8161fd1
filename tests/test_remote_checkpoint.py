"""Checkpoints on object storage: every inspection call over ``s3://`` (moto's server) and
``gs://`` (the GCS emulator) gives the local result, tensor by tensor, and fetches only what it
needs: the index (and the state file) for ``variables``, that tensor's bytes for ``read``.

The servers run on 127.0.0.1, started by the fixtures in ``servers.py``; the bytes are counted
twice: by tfexplore (:func:`tfexplore.count_fetches`) and by a proxy in front of the server.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from servers import gcs_server, s3_server  # noqa: F401

import tfexplore
import tfexplore.demo
from tfexplore.artifacts.checkpoint.bundle import read_bundle_index

pytestmark = pytest.mark.slow

SERVERS = ["s3_server", "gcs_server"]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    return tfexplore.demo.make_training_run(tmp_path_factory.mktemp("demo") / "run")


def _upload(server, local, bucket, name):
    url = server.make_bucket(bucket)
    server.upload(local, f"{url}/{name}")
    return f"{url}/{name}"


@pytest.fixture(params=SERVERS)
def server(request):
    return request.getfixturevalue(request.param)


def _bucket(server, stem):
    return f"{stem}-{server.protocol}-{os.getpid()}"


def _same_checkpoint(remote, local):
    pd.testing.assert_frame_equal(remote.variables, local.variables)
    pd.testing.assert_frame_equal(remote.slots, local.slots)
    if local.object_graph is None:
        assert remote.object_graph is None
    else:
        pd.testing.assert_frame_equal(remote.object_graph, local.object_graph)
    assert remote.step == local.step
    assert remote.style == local.style
    for name in local.variables["name"]:
        a, b = remote.read(name), local.read(name)
        assert a.dtype == b.dtype and a.shape == b.shape, name
        assert np.array_equal(a, b), name
    pd.testing.assert_frame_equal(remote.stats(), local.stats())
    facts = remote.summary()
    assert facts["prefix"].startswith(("s3://", "gs://"))
    local_facts = local.summary()
    for key in ("format", "style", "step", "variables", "slots", "tensors", "bytes"):
        assert facts[key] == local_facts[key], key


def test_checkpoint_folder_over_url_equals_local(server, demo_run):  # noqa: F811
    url = _upload(server, demo_run, _bucket(server, "demo"), "run")
    run = tfexplore.open(url, storage_options=server.storage_options)
    local = tfexplore.open(demo_run)
    assert run.kind == "checkpoint_dir"
    columns = ["step", "size", "has_meta", "has_data", "is_latest", "listed", "missing"]
    pd.testing.assert_frame_equal(run.checkpoints[columns], local.checkpoints[columns])
    assert list(run.checkpoints["prefix"]) == [f"{url}/model.ckpt-{s}" for s in (10, 20, 30)]
    _same_checkpoint(run.latest, local.latest)
    _same_checkpoint(run.open(10), local.open(10))
    pd.testing.assert_frame_equal(run.open(10).diff(run.latest), local.open(10).diff(local.latest))
    remote_history = run.history().drop(columns="prefix")
    pd.testing.assert_frame_equal(remote_history, local.history().drop(columns="prefix"))
    assert url in str(run.explain())


def test_sharded_and_tf2_checkpoints_over_url(server, sharded_checkpoint, tf2_manager_run):  # noqa: F811
    bucket = _bucket(server, "more")
    url = server.make_bucket(bucket)
    for path in sharded_checkpoint.parent.iterdir():
        server.upload(path, f"{url}/sharded/{path.name}")
    server.upload(tf2_manager_run, f"{url}/tf2")
    options = server.storage_options
    sharded = tfexplore.open(f"{url}/sharded/model.ckpt", storage_options=options)
    assert len(sharded.data_files) == 2
    _same_checkpoint(sharded, tfexplore.open(sharded_checkpoint))
    tf2 = tfexplore.open(f"{url}/tf2", storage_options=options)
    local = tfexplore.open(tf2_manager_run)
    _same_checkpoint(tf2.latest, local.latest)
    assert tf2.latest.step == 30


def test_variables_fetch_the_index_only(server, demo_run):  # noqa: F811
    url = _upload(server, demo_run, _bucket(server, "economy"), "run")
    options = server.storage_options
    index_size = (demo_run / "model.ckpt-20.index").stat().st_size
    server.counter.reset()
    with tfexplore.count_fetches() as fetched:
        table = tfexplore.open(f"{url}/model.ckpt-20", storage_options=options).variables
    assert len(table) == 15
    assert server.counter.bytes_for("model.ckpt-20.index") == index_size
    assert server.counter.bytes_for(".data-") == 0
    assert server.counter.bytes_for(".meta") == 0
    assert fetched.bytes == index_size
    assert set(fetched.by_file) == {f"{url}/model.ckpt-20.index"}

    # the folder's latest: the state file, then that checkpoint's index; no other checkpoint
    state_size = (demo_run / "checkpoint").stat().st_size
    latest_index = (demo_run / "model.ckpt-30.index").stat().st_size
    server.counter.reset()
    with tfexplore.count_fetches() as fetched:
        assert len(tfexplore.open(url, storage_options=options).latest.variables) == 15
    assert fetched.by_file == {
        f"{url}/checkpoint": state_size,
        f"{url}/model.ckpt-30.index": latest_index,
    }
    assert server.counter.bytes_for("/checkpoint") == state_size
    assert server.counter.bytes_for("model.ckpt-30.index") == latest_index
    for other in ("model.ckpt-10", "model.ckpt-20", ".data-", ".meta"):
        assert server.counter.bytes_for(other) == 0, other


def test_read_fetches_that_tensor_only(server, demo_run):  # noqa: F811
    url = _upload(server, demo_run, _bucket(server, "read"), "run")
    checkpoint = tfexplore.open(f"{url}/model.ckpt-30", storage_options=server.storage_options)
    assert len(checkpoint.variables) == 15  # the index, fetched once
    entry = read_bundle_index(demo_run / "model.ckpt-30.index").entries["layer1/W"]
    server.counter.reset()
    with tfexplore.count_fetches() as fetched:
        value = checkpoint.read("layer1/W")
    assert value.shape == entry.shape
    assert fetched.bytes == entry.size
    assert fetched.requests == 1
    assert server.counter.bytes_for(".data-00000-of-00001") == entry.size
    assert server.counter.bytes_for(".index") == 0
    ranges = server.counter.ranges_for(".data-00000-of-00001")
    assert ranges == [f"bytes={entry.offset}-{entry.offset + entry.size - 1}"]


def test_missing_bucket_names_the_url(server):  # noqa: F811
    url = f"{server.protocol}://no-such-bucket-{os.getpid()}/run"
    with pytest.raises(tfexplore.ArtifactNotFoundError) as caught:
        tfexplore.open(url, storage_options=server.storage_options)
    assert url in str(caught.value)


def test_missing_shard_names_the_url(server, demo_run, tmp_path):  # noqa: F811
    partial = tmp_path / "partial"
    partial.mkdir()
    for name in ("model.ckpt-30.index", "model.ckpt-30.meta"):
        shutil.copy(demo_run / name, partial / name)
    url = _upload(server, partial, _bucket(server, "partial"), "run")
    checkpoint = tfexplore.open(f"{url}/model.ckpt-30", storage_options=server.storage_options)
    assert len(checkpoint.variables) == 15  # names, shapes, dtypes: from the index
    assert any("missing" in note for note in checkpoint.notes)
    with pytest.raises(tfexplore.IncompleteCheckpointError) as caught:
        checkpoint.read("layer1/W")
    assert f"{url}/model.ckpt-30.data-00000-of-00001" in str(caught.value)


def test_truncated_remote_shard_is_a_clear_error(s3_server, demo_run, tmp_path):  # noqa: F811
    damaged = tmp_path / "damaged"
    shutil.copytree(demo_run, damaged)
    shard = damaged / "model.ckpt-30.data-00000-of-00001"
    shard.write_bytes(shard.read_bytes()[:100])
    url = _upload(s3_server, damaged, f"damaged-{os.getpid()}", "run")
    checkpoint = tfexplore.open(f"{url}/model.ckpt-30", storage_options=s3_server.storage_options)
    with pytest.raises(tfexplore.CorruptArtifactError) as caught:
        checkpoint.read("layer2/W")
    assert "model.ckpt-30.data-00000-of-00001" in str(caught.value)
    assert "s3://" in str(caught.value)


def test_listing_over_s3_needs_no_tensorflow(s3_server, demo_run):  # noqa: F811
    url = _upload(s3_server, demo_run, f"notf-{os.getpid()}", "run")
    program = f"""
import json, sys
import tfexplore
options = json.loads(sys.argv[1])
run = tfexplore.open({url!r}, storage_options=options)
latest = run.latest
print(len(latest.variables), float(latest.read("layer1/b").sum()), len(run.checkpoints))
loaded = sorted(m for m in sys.modules if m == "tensorflow" or m.startswith("tensorflow."))
print(json.dumps(loaded[:5]))
"""
    done = subprocess.run(
        [sys.executable, "-c", program, json.dumps(s3_server.storage_options)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    counts, loaded = done.stdout.strip().splitlines()[-2:]
    expected = tfexplore.open(demo_run).latest
    assert counts.split()[0] == str(len(expected.variables))
    assert float(counts.split()[1]) == pytest.approx(float(expected.read("layer1/b").sum()))
    assert json.loads(loaded) == [], f"listing imported TensorFlow: {loaded}"


def test_remote_path_behaves_like_a_path(s3_server, demo_run):  # noqa: F811
    url = _upload(s3_server, demo_run, f"paths-{os.getpid()}", "run")
    folder = tfexplore.RemotePath(url, s3_server.storage_options)
    assert folder.is_dir() and not folder.is_file()
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(p.name for p in demo_run.iterdir())
    index = folder / "model.ckpt-10.index"
    assert index.is_file() and index.parent == folder
    assert index.stat().st_size == (demo_run / "model.ckpt-10.index").stat().st_size
    assert index.stat().st_mtime > 0
    assert index.with_name("checkpoint").name == "checkpoint"
    assert sorted(p.name for p in folder.glob("*.meta")) == [
        f"model.ckpt-{s}.meta" for s in (10, 20, 30)
    ]
    with index.open() as handle:
        handle.seek(-8, os.SEEK_END)
        assert handle.read(8) == (demo_run / "model.ckpt-10.index").read_bytes()[-8:]
    import pickle

    again = pickle.loads(pickle.dumps(index))
    assert again == index and again.stat().st_size == index.stat().st_size


def test_a_pass_over_many_tensors_fetches_them_in_concurrent_rounds(
    s3_server,  # noqa: F811
    demo_run,
    monkeypatch,
):
    from tfexplore.artifacts.checkpoint import prefix as prefix_module

    url = _upload(s3_server, demo_run, f"rounds-{os.getpid()}", "run")
    checkpoint = tfexplore.open(f"{url}/model.ckpt-30", storage_options=s3_server.storage_options)
    rounds = []
    fs = checkpoint.prefix.fs
    original = fs.cat_ranges

    def counted(paths, starts, ends, **options):
        rounds.append(sum(end - start for start, end in zip(starts, ends)))
        return original(paths, starts, ends, **options)

    monkeypatch.setattr(fs, "cat_ranges", counted)
    expected = tfexplore.open(demo_run / "model.ckpt-30").stats()
    pd.testing.assert_frame_equal(checkpoint.stats(), expected)
    total = int(checkpoint.variables["nbytes"].sum())
    assert rounds == [total]  # every tensor in one round of concurrent requests

    rounds.clear()
    monkeypatch.setattr(prefix_module, "PREFETCH_BYTES", 200)
    pd.testing.assert_frame_equal(checkpoint.stats(), expected)
    largest = int(checkpoint.variables["nbytes"].max())
    assert sum(rounds) == total and len(rounds) > 1
    assert all(size <= max(200, largest) for size in rounds)
