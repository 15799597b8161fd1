# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Checkpoints on object storage, and a cluster for the heavy passes
#
# Real training runs keep their checkpoints in a bucket: hundreds of gigabytes in many shards,
# more than a notebook can download. A checkpoint is made for this: the `.index` file is small
# and says where every tensor's bytes are (which shard, which offset, how many bytes), so a
# reader that can fetch *byte ranges* needs the index and the ranges it asks for, nothing
# else. tfexplore reads any [fsspec](https://filesystem-spec.readthedocs.io) URL that way:
# `s3://`, `gs://`, `az://`, `https://`...
#
# This notebook runs on its own: it starts a local S3 server (moto's, on 127.0.0.1), uploads a
# training run to it, and explores the run by URL. The last section says how to point the same
# calls at a real bucket and a real Dask cluster.

# %%
import tfexplore

tfexplore.import_tensorflow()  # before anything else imports it: no start-up log lines

import logging
from pathlib import Path

import numpy as np
import s3fs
from moto.server import ThreadedMotoServer

import tfexplore.demo

Path("demo_data").mkdir(exist_ok=True)
local_run = tfexplore.demo.make_training_run("demo_data/remote-run")

logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the server's log of each request
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
host, port = server.get_host_and_port()
storage_options = {
    "key": "demo",  # moto takes any credentials
    "secret": "demo",
    "client_kwargs": {"endpoint_url": f"http://{host}:{port}", "region_name": "us-east-1"},
}
s3 = s3fs.S3FileSystem(**storage_options)
s3.call_s3("create_bucket", Bucket="research")
s3.put(str(local_run), "research/runs/regression", recursive=True)
sorted(path.rpartition("/")[2] for path in s3.ls("research/runs/regression"))

# %% [markdown]
# ## Opening a run by its URL
#
# `tfexplore.open` takes the URL where it takes a path; `storage_options` go to fsspec
# (credentials, endpoint, region). What comes back is the same object as for a local folder.

# %%
run = tfexplore.open("s3://research/runs/regression", storage_options=storage_options)
run.checkpoints[["prefix", "step", "size", "is_latest"]]

# %% [markdown]
# ## What a call costs
#
# `tfexplore.count_fetches()` counts the bytes and requests fetched inside a block. Listing the
# variables of the latest checkpoint fetches the state file (to learn which is the latest) and
# that checkpoint's index: a few kilobytes, whatever the size of the tensors.

# %%
with tfexplore.count_fetches() as listing:
    latest = tfexplore.open("s3://research/runs/regression", storage_options=storage_options).latest
    variables = latest.variables
print(listing)
for url, size in listing.by_file.items():
    print(f"{size:>8,} bytes  {url}")
variables[["name", "role", "shape", "nbytes", "shard", "offset"]]

# %% [markdown]
# Reading one tensor fetches exactly its bytes: one ranged request for `offset` to
# `offset + nbytes` of its data shard.

# %%
with tfexplore.count_fetches() as one_read:
    weights = latest.read("layer1/W")
row = variables.set_index("name").loc["layer1/W"]
print(one_read, "for", row["nbytes"], "bytes of", weights.shape, weights.dtype)

# %% tags=["check"]
assert set(listing.by_file) == {
    "s3://research/runs/regression/checkpoint",
    "s3://research/runs/regression/model.ckpt-30.index",
}
assert one_read.bytes == row["nbytes"] and one_read.requests == 1
assert np.array_equal(weights, tfexplore.open(local_run).latest.read("layer1/W"))

# %% [markdown]
# Everything else works on the URL as it does locally: statistics, a diff between two
# checkpoints, the history of a tensor across the run, and `explain()`.

# %%
run.open(10).diff(run.latest)[["name", "status", "max_abs_change", "rel_l2_change"]].head(6)

# %%
history = run.history(["layer1/W", "layer2/W"])
history.pivot(index="step", columns="name", values="l2")

# %% [markdown]
# ## A bigger checkpoint, in shards
#
# A checkpoint of several shards, as a Saver writes with `sharded=True` on many devices. Its
# tensors are spread over four data files; `variables` still fetches only the index.

# %%
tf = tfexplore.import_tensorflow()
v1 = tf.compat.v1
big_folder = Path("demo_data/sharded")
if not (big_folder / "model.ckpt.index").exists():
    big_folder.mkdir(parents=True, exist_ok=True)
    graph = tf.Graph()
    with graph.as_default():
        rng = np.random.default_rng(0)
        for device in range(4):
            with v1.device(f"/cpu:{device}"):
                for layer in range(3):
                    v1.get_variable(
                        f"block{device}/layer{layer}/kernel",
                        initializer=rng.normal(size=(256, 512)).astype(np.float32),
                    )
        saver = v1.train.Saver(sharded=True)
        config = v1.ConfigProto(device_count={"CPU": 4})
        with v1.Session(graph=graph, config=config) as session:
            session.run(v1.global_variables_initializer())
            saver.save(session, str(big_folder / "model.ckpt"))
s3.put(str(big_folder), "research/runs/sharded", recursive=True)

options = storage_options
with tfexplore.count_fetches() as listing:
    sharded = tfexplore.open(
        "s3://research/runs/sharded/model.ckpt", storage_options=storage_options
    )
    table = sharded.variables
total = sum(s3.size(f"research/runs/sharded/{p.name}") for p in big_folder.iterdir())
print(f"{len(table)} tensors in {len(sharded.data_files)} shards, {total:,} bytes in all;")
print(f"listing them fetched {listing.bytes:,} bytes")

# %% tags=["check"]
assert len(sharded.data_files) == 4
assert listing.bytes < total / 1000

# %% [markdown]
# ## The heavy passes on a cluster
#
# `stats`, `diff` and `history` read every tensor they cover. With `engine=` a Dask client,
# the work is split by tensor and sent to the workers; each worker fetches its own byte ranges
# (the client never holds the tensors) and returns a few numbers. The workers never import
# TensorFlow. Here a `LocalCluster` of two worker processes stands in for a real one.

# %%
from distributed import Client, LocalCluster

cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0")
client = Client(cluster)
on_cluster = sharded.stats(engine=client)
serial = sharded.stats()
on_cluster[["name", "shape", "mean", "std", "l2"]].head()

# %% tags=["check"]
import pandas as pd

pd.testing.assert_frame_equal(on_cluster, serial)
assert not any(client.run(lambda: "tensorflow" in __import__("sys").modules).values())

# %%
client.close()
cluster.close()

# %% [markdown]
# ## Pointing it at a real bucket and a real cluster
#
# The same calls, with real credentials. fsspec reads them from `storage_options` or from the
# environment (`AWS_PROFILE`, `AWS_ACCESS_KEY_ID`, `GOOGLE_APPLICATION_CREDENTIALS`...):
#
# ```python
# run = tfexplore.open("s3://my-bucket/runs/bert", storage_options={"profile": "research"})
# run = tfexplore.open("gs://my-bucket/runs/bert")                 # gcloud credentials
# run = tfexplore.open("s3://public-bucket/run", storage_options={"anon": True})
#
# from distributed import Client
# client = Client("tcp://scheduler.example.org:8786")              # a running scheduler
# run.latest.stats(engine=client)                                   # workers need tfexplore[remote]
# ```
#
# The workers need `pip install 'tfexplore[remote,dask]'` and credentials for the bucket; they
# do not need TensorFlow. From a terminal: `tfexplore variables s3://my-bucket/runs/bert`.

# %%
server.stop()
