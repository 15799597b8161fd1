"""``stats``, ``diff`` and ``history`` on a Dask cluster (``engine=``): the serial tables exactly,
from workers that read their own byte ranges (local files and ``s3://``) and never import
TensorFlow, with the progress bar fed by finished tasks and a bounded number in flight.

The cluster is a ``LocalCluster`` of two worker processes (one thread each), made once per
module (per pytest-xdist worker) and closed at the end.
"""

from __future__ import annotations

import os
import shutil
import sys

import pandas as pd
import pytest
from servers import s3_server  # noqa: F401

import tfexplore
from tfexplore import CorruptArtifactError, TFExploreError
from tfexplore.artifacts.checkpoint import Checkpoint, CheckpointDir, engine
from tfexplore.artifacts.checkpoint.engine import resolve_engine, tensor_spec

distributed = pytest.importorskip("distributed", reason="needs pip install 'tfexplore[dask]'")
# dashboard_address=None still serves the scheduler's health routes, on 8787 if it is free: the
# cluster of the other pytest-xdist worker takes another port and says so
pytestmark = pytest.mark.filterwarnings("ignore:Port 8787 is already in use:UserWarning")


@pytest.fixture(scope="module")
def client():
    """A two-process local cluster; not the default client (``engine="dask"`` finds it only
    inside ``client.as_current()``)."""
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = distributed.Client(cluster, set_as_default=False)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _no_tensorflow_on_workers(client) -> None:
    loaded = client.run(lambda: "tensorflow" in sys.modules)
    assert len(loaded) == 2 and not any(loaded.values()), loaded


def _tasks_run(client, function, *args, **kwargs):
    """``function(*args, **kwargs)`` and the keys of the tfexplore tasks the cluster ran."""
    with distributed.get_task_stream(client=client) as stream:
        result = function(*args, **kwargs)
    return result, [t["key"] for t in stream.data if str(t["key"]).startswith("tfexplore-")]


# -- the same tables as the serial passes -------------------------------------------------------
@pytest.mark.slow
def test_stats_on_a_cluster_equal_serial_across_shards_and_dtypes(
    client, sharded_checkpoint, monkeypatch
):
    checkpoint = Checkpoint(sharded_checkpoint)
    assert len(checkpoint.data_files) == 2
    keys = checkpoint._select(None)
    specs = [tensor_spec(checkpoint, key) for key in keys]
    assert all(spec is not None for spec in specs)  # strings, bools, float16: all on workers
    assert {spec.kind for spec in specs} == {"numeric", "string"}
    assert {spec.pieces[0].entry.shard for spec in specs} == {0, 1}
    serial = checkpoint.stats()
    cluster, ran = _tasks_run(client, checkpoint.stats, engine=client)
    pd.testing.assert_frame_equal(cluster, serial)
    assert len(ran) == 2  # small tensors share a task: one per shard here
    monkeypatch.setattr(engine, "TASK_BYTES", 0)  # a task per tensor
    cluster, ran = _tasks_run(client, checkpoint.stats, engine=client)
    pd.testing.assert_frame_equal(cluster, serial)
    assert len(ran) == len(keys)
    pd.testing.assert_frame_equal(
        checkpoint.stats(["weights", "words"], engine=client),
        checkpoint.stats(["weights", "words"]),
    )
    _no_tensorflow_on_workers(client)


@pytest.mark.slow
def test_partitioned_variables_are_put_together_on_workers(client, partitioned_checkpoint):
    checkpoint = Checkpoint(partitioned_checkpoint)
    spec = tensor_spec(checkpoint, "emb")
    assert spec.kind == "partitioned" and len(spec.pieces) == 3
    assert (engine.read_tensor(spec) == checkpoint.read("emb")).all()
    pd.testing.assert_frame_equal(checkpoint.stats(engine=client), checkpoint.stats())
    pd.testing.assert_frame_equal(
        checkpoint.diff(checkpoint, engine=client), checkpoint.diff(checkpoint)
    )
    _no_tensorflow_on_workers(client)


@pytest.mark.slow
def test_diff_and_history_on_a_cluster_equal_serial(client, demo_run, tf2_manager_run, monkeypatch):
    monkeypatch.setattr(engine, "TASK_BYTES", 0)  # a task per pair of tensors
    run = CheckpointDir(demo_run)
    old, new = run.open(10), run.latest
    serial = old.diff(new)
    assert "changed" in set(serial["status"])
    cluster, ran = _tasks_run(client, old.diff, new, engine=client)
    pd.testing.assert_frame_equal(cluster, serial)
    assert len(ran) == int(serial["status"].isin(["changed", "unchanged"]).sum())
    pd.testing.assert_frame_equal(run.history(engine=client), run.history())
    names = ["layer1/W", "layer2/b", "global_step"]
    pd.testing.assert_frame_equal(run.history(names, engine=client), run.history(names))

    tf2 = CheckpointDir(tf2_manager_run)
    first, last = list(tf2)
    pd.testing.assert_frame_equal(first.diff(last, engine=client), first.diff(last))
    pd.testing.assert_frame_equal(tf2.history(engine=client), tf2.history())
    pd.testing.assert_frame_equal(last.stats(engine=client), last.stats())
    _no_tensorflow_on_workers(client)


@pytest.mark.slow
def test_engine_dask_uses_the_current_client(client, demo_run):
    checkpoint = CheckpointDir(demo_run).latest
    with client.as_current():
        result, ran = _tasks_run(client, checkpoint.stats, engine="dask")
    pd.testing.assert_frame_equal(result, checkpoint.stats())
    assert len(ran) == 1  # small tensors of one shard: one task


@pytest.fixture(scope="module")
def v1_checkpoint(tmp_path_factory):
    """A legacy V1 checkpoint (one ``model.ckpt`` file): only TensorFlow's reader reads it."""
    import numpy as np
    import tensorflow as tf
    from tensorflow.core.protobuf import saver_pb2

    v1 = tf.compat.v1
    folder = tmp_path_factory.mktemp("v1")
    graph = tf.Graph()
    with graph.as_default():
        v1.get_variable("W", initializer=np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3))
        v1.get_variable("b", initializer=np.array([1, 2, 3], np.int32))
        saver = v1.train.Saver(write_version=saver_pb2.SaverDef.V1)
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            saver.save(session, str(folder / "model.ckpt"))
    return folder / "model.ckpt"


@pytest.mark.slow
def test_what_only_tensorflow_reads_is_computed_here(client, v1_checkpoint, demo_run, monkeypatch):
    checkpoint = Checkpoint(v1_checkpoint)
    assert checkpoint.format == "v1"
    result, ran = _tasks_run(client, checkpoint.stats, engine=client)
    pd.testing.assert_frame_equal(result, checkpoint.stats())
    assert ran == []  # all of it in this process, none on the workers
    assert result["name"].tolist() == ["W", "b"]

    latest = CheckpointDir(demo_run).latest  # one tensor kept here, the others on workers
    monkeypatch.setattr(engine, "TASK_BYTES", 0)
    spec_of = engine.tensor_spec
    monkeypatch.setattr(
        engine, "tensor_spec", lambda c, k, s=None: None if k == "layer1/W" else spec_of(c, k, s)
    )
    result, ran = _tasks_run(client, latest.stats, engine=client)
    pd.testing.assert_frame_equal(result, latest.stats())
    assert len(ran) == len(result) - 1
    _no_tensorflow_on_workers(client)


# -- object storage -------------------------------------------------------------------------------
@pytest.mark.slow
def test_workers_fetch_their_own_ranges_from_s3(
    client,
    s3_server,  # noqa: F811
    demo_run,
    sharded_checkpoint,
    partitioned_checkpoint,
):
    bucket = s3_server.make_bucket(f"dask-{os.getpid()}")
    s3_server.upload(demo_run, f"{bucket}/run")
    s3_server.upload(sharded_checkpoint.parent, f"{bucket}/sharded")
    s3_server.upload(partitioned_checkpoint.parent, f"{bucket}/partitioned")
    options = s3_server.storage_options

    run = tfexplore.open(f"{bucket}/run", storage_options=options)
    local = CheckpointDir(demo_run)
    latest = run.latest
    assert len(latest.variables)  # the index, fetched here
    s3_server.counter.reset()
    with tfexplore.count_fetches() as fetched:
        stats = latest.stats(engine=client)
    pd.testing.assert_frame_equal(stats, local.latest.stats())
    assert fetched.bytes == 0  # this process fetched nothing: the workers did
    data = s3_server.counter.bytes_for("run/model.ckpt-30.data-")
    assert data >= int(latest.variables["nbytes"].sum())

    pd.testing.assert_frame_equal(
        run.open(10).diff(latest, engine=client), local.open(10).diff(local.latest)
    )
    remote_history = run.history(engine=client)
    serial = local.history()
    assert list(remote_history["prefix"]) == [
        p.replace(str(demo_run), f"{bucket}/run") for p in serial["prefix"]
    ]
    pd.testing.assert_frame_equal(
        remote_history.drop(columns="prefix"), serial.drop(columns="prefix")
    )

    for folder, prefix in [
        ("sharded", sharded_checkpoint),
        ("partitioned", partitioned_checkpoint),
    ]:
        remote = tfexplore.open(f"{bucket}/{folder}/{prefix.name}", storage_options=options)
        assert len(remote.variables)
        s3_server.counter.reset()
        pd.testing.assert_frame_equal(remote.stats(engine=client), Checkpoint(prefix).stats())
        heads = [r for r in s3_server.counter.requests if r.method == "HEAD" and ".data-" in r.path]
        assert len(heads) <= len(remote.data_files)  # each shard's size asked for once
    _no_tensorflow_on_workers(client)


@pytest.mark.slow
def test_workers_read_remote_tensors_as_this_process_does(
    s3_server,  # noqa: F811
    demo_run,
    partitioned_checkpoint,
    monkeypatch,
):
    """The workers' reading code, run here: every tensor equals ``read``; the pieces of a
    partitioned variable come in rounds of concurrent requests; a shard cut short is the
    serial error."""
    import numpy as np

    bucket = s3_server.make_bucket(f"dask-read-{os.getpid()}")
    s3_server.upload(demo_run, f"{bucket}/run")
    s3_server.upload(partitioned_checkpoint.parent, f"{bucket}/partitioned")
    options = s3_server.storage_options
    run = tfexplore.open(f"{bucket}/run", storage_options=options).latest
    partitioned = tfexplore.open(
        f"{bucket}/partitioned/{partitioned_checkpoint.name}", storage_options=options
    )
    for remote, local in [
        (run, CheckpointDir(demo_run).latest),
        (partitioned, Checkpoint(partitioned_checkpoint)),
    ]:
        for key in remote._select(None):
            value, expected = engine.read_tensor(tensor_spec(remote, key)), local.read(key)
            assert value.dtype == expected.dtype and np.array_equal(value, expected), key

    monkeypatch.setattr(engine, "_PIECE_BATCH_BYTES", 48)
    spec = tensor_spec(partitioned, "emb")  # pieces of 24, 16, 16 bytes: rounds 24 + 16, 16
    s3_server.counter.reset()
    engine.read_tensor(spec)
    assert len(s3_server.counter.data_requests("partitioned/")) == 3

    spec = tensor_spec(run, "layer1/W")
    entry = spec.pieces[0].entry
    shard = spec.pieces[0].shard_file
    s3_server.fs().pipe(shard.fs_path, shard.read_range(0, entry.offset + entry.size - 10))
    with pytest.raises(CorruptArtifactError, match="is cut short"):
        engine.read_tensor(spec)


# -- workers, order, waves, errors ----------------------------------------------------------------
@pytest.mark.slow
def test_workers_never_import_tensorflow(client, demo_run):
    CheckpointDir(demo_run).history(engine=client)
    assert "tensorflow" in sys.modules  # this process made the checkpoints with it
    _no_tensorflow_on_workers(client)


@pytest.mark.slow
def test_tasks_go_out_by_shard_and_offset_in_bounded_waves(client, sharded_checkpoint, monkeypatch):
    checkpoint = Checkpoint(sharded_checkpoint)
    monkeypatch.setattr(engine, "TASKS_PER_THREAD", 1)  # two in flight on two threads
    monkeypatch.setattr(engine, "TASK_BYTES", 0)  # a task per tensor
    submitted, consumed, waves = [], [], []
    submit_many, results = client.map, engine._results

    def counting_map(run, calls, **kwargs):
        in_flight = len(submitted) - len(consumed) + len(calls)
        assert in_flight <= 2, "more tasks in flight than the limit"
        submitted.extend(specs.order for [(specs,)] in calls)
        waves.append(len(calls))
        return submit_many(run, calls, **kwargs)

    def counting_results(future, value, tasks):
        consumed.extend(tasks)
        return results(future, value, tasks)

    monkeypatch.setattr(client, "map", counting_map)
    monkeypatch.setattr(engine, "_results", counting_results)
    pd.testing.assert_frame_equal(checkpoint.stats(engine=client), checkpoint.stats())
    assert submitted == sorted(submitted) and len(submitted) == len(checkpoint._select(None))
    assert {shard for shard, _ in submitted} == {0, 1}
    assert waves[0] == 2 and len(waves) > 1


@pytest.mark.slow
def test_a_damaged_tensor_raises_the_serial_error(client, demo_run, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(demo_run, folder)
    checkpoint = CheckpointDir(folder).latest
    entry = checkpoint._index.entries["layer1/W"]
    shard = checkpoint.data_files[entry.shard]
    data = bytearray(shard.read_bytes())
    data[entry.offset + 5] ^= 0xFF
    shard.write_bytes(bytes(data))
    with pytest.raises(CorruptArtifactError) as serial:
        checkpoint.stats()
    with pytest.raises(CorruptArtifactError) as cluster:
        checkpoint.stats(engine=client)
    assert str(cluster.value) == str(serial.value)
    assert "layer1/W" in str(cluster.value) and "checksum" in str(cluster.value)


@pytest.mark.slow
def test_progress_bar_is_fed_by_the_cluster(client, demo_run, monkeypatch):
    import tfexplore.stats

    bars = []
    make_bar = tfexplore.stats.progress_bar

    def recording_bar(total_bytes, progress, description):
        bar = make_bar(total_bytes, progress, description)
        bars.append((description, total_bytes, bar))
        return bar

    monkeypatch.setattr(tfexplore.stats, "progress_bar", recording_bar)
    run = CheckpointDir(demo_run)
    checkpoint = run.latest
    checkpoint.stats(progress=True, engine=client)
    checkpoint.stats(engine=client)  # small: no bar, as in serial
    run.open(10).diff(checkpoint, progress=True, engine=client)
    run.history(progress=True, engine=client)
    (_, total, bar), (_, _, none), (_, diff_total, diff_bar), (_, history_total, history_bar) = bars
    assert none is None
    assert total == int(checkpoint.variables.query("role != 'object_graph'")["nbytes"].sum())
    assert bar.n == bar.total == total > 0
    assert diff_bar.n == diff_bar.total == diff_total > 0
    assert history_bar.n == history_bar.total == history_total > 0


def test_engine_dask_without_a_client_says_how_to_start_one(demo_run):
    with pytest.raises(TFExploreError) as caught:
        CheckpointDir(demo_run).latest.stats(engine="dask")
    text = str(caught.value)
    assert "Client()" in text and "Client('tcp://scheduler:8786')" in text


def test_missing_dask_is_a_tfexplore_error_with_the_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(TFExploreError, match="installed without it") as caught:
        resolve_engine("dask")
    assert "pip install 'tfexplore[dask]'" in str(caught.value)
    monkeypatch.setitem(sys.modules, "dask", None)
    with pytest.raises(TFExploreError, match="not installed") as caught:
        resolve_engine("dask")
    assert "pip install 'tfexplore[dask]'" in str(caught.value)


def test_engine_values(demo_run):
    assert resolve_engine(None) is None and resolve_engine("serial") is None
    checkpoint = CheckpointDir(demo_run).latest
    pd.testing.assert_frame_equal(checkpoint.stats(engine="serial"), checkpoint.stats())
    with pytest.raises(ValueError, match="Received: engine='spark'"):
        checkpoint.stats(engine="spark")
