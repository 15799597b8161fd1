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
# # Anatomy of a checkpoint
#
# A TF1 checkpoint is not one file. `Saver.save(sess, "model.ckpt", global_step=30)` writes a
# *prefix*, `model.ckpt-30`, and three files that share it, and it rewrites a fourth file, the
# folder's `checkpoint` state file:
#
# | file | holds |
# | --- | --- |
# | `checkpoint` | text: which prefix is the latest, and which are kept |
# | `model.ckpt-30.index` | table of contents: name, dtype, shape, byte position of each tensor |
# | `model.ckpt-30.data-00000-of-00001` | the tensors' bytes, one after the other |
# | `model.ckpt-30.meta` | the graph that was trained (a `MetaGraphDef`) |
#
# This notebook takes each file in turn, shows it with tfexplore and checks it against
# TensorFlow's own readers (`tf.train.get_checkpoint_state`, `tf.train.list_variables`,
# `tf.train.load_checkpoint`). Then it shows what `max_to_keep` leaves behind.

# %%
import tfexplore

tfexplore.import_tensorflow()  # before anything else imports it: no start-up log lines

from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf

from tfexplore.demo import make_training_run

folder = Path("demo_data/run")
if not (folder / "checkpoint").exists():
    make_training_run(folder)  # the tour's run: checkpoints at steps 10, 20 and 30
files = pd.DataFrame(
    [(p.name, p.stat().st_size) for p in sorted(folder.iterdir())], columns=["file", "bytes"]
)
files

# %% [markdown]
# Notice the sizes: the `.data` file, which holds every number of the model, is under a
# kilobyte; the `.meta` file, which holds the graph, is some forty times larger. For a small
# model the graph outweighs the weights; for a large one it is the other way round.
#
# ## The `checkpoint` state file
#
# A few lines of text (a `CheckpointState` proto in text format). `Saver` rewrites it on every
# save; `tf.train.latest_checkpoint(folder)` reads it to find the checkpoint to restore.

# %%
print((folder / "checkpoint").read_text())

# %%
state = tf.train.get_checkpoint_state(folder)
print("latest:", state.model_checkpoint_path)
print("kept:  ", list(state.all_model_checkpoint_paths))

# %%
run = tfexplore.open(folder)
run.checkpoints[["prefix", "step", "size", "has_meta", "listed", "is_latest"]]

# %% tags=["check"]
# tfexplore's `listed` and `is_latest` columns say what the state file says.
latest = run.latest
assert Path(state.model_checkpoint_path).name == Path(latest.prefix).name == "model.ckpt-30"
assert [Path(p).name for p in state.all_model_checkpoint_paths] == [
    Path(p).name for p in run.checkpoints.query("listed")["prefix"]
]
assert run.checkpoints["is_latest"].tolist() == [False, False, True]

# %% [markdown]
# ## The `.index` file: the table of contents
#
# The index is a small sorted table (an SSTable) with one entry per tensor: its name, dtype,
# shape, which data shard holds it, and the `offset` and size of its bytes there. tfexplore reads
# it in pure Python, without TensorFlow, so listing a checkpoint never reads the weights.

# %%
variables = latest.variables
variables[["name", "role", "dtype", "shape", "nbytes", "shard", "offset", "slot_of"]]

# %% [markdown]
# TensorFlow's own listing, `tf.train.list_variables`, reads the same index:

# %%
tf_listing = tf.train.list_variables(str(latest.prefix))
tf_listing

# %% tags=["check"]
# Same names, same shapes: the index is the table of contents, whoever reads it.
assert [name for name, _ in tf_listing] == sorted(variables["name"])
assert {name: tuple(shape) for name, shape in tf_listing} == dict(
    zip(variables["name"], variables["shape"])
)

# %% [markdown]
# ## The `.data` file: just the bytes
#
# Each tensor's bytes sit in the data shard at the offset the index gives, one tensor after
# the other. So the data file is exactly as large as the sum of the tensors' sizes, and a
# tensor can be read with nothing but `numpy.frombuffer`:

# %%
data_file = latest.data_files[0]
print(data_file.name, data_file.stat().st_size, "bytes; sum of nbytes:", variables["nbytes"].sum())

row = variables.set_index("name").loc["layer1/W"]
raw = data_file.read_bytes()[row["offset"] : row["offset"] + row["nbytes"]]
by_hand = np.frombuffer(raw, dtype=row["dtype"]).reshape(row["shape"])
by_hand[:2]

# %% tags=["check"]
# The .data file holds the tensors and nothing else ...
assert data_file.stat().st_size == variables["nbytes"].sum()
# ... and the bytes at the index's offset are the value both readers return.
reader = tf.train.load_checkpoint(str(latest.prefix))
assert np.array_equal(by_hand, reader.get_tensor("layer1/W"))
assert np.array_equal(latest.read("layer1/W"), reader.get_tensor("layer1/W"))
assert int(latest.read("global_step")) == reader.get_tensor("global_step") == 30

# %% [markdown]
# A large model, or one placed on several devices, is written in several shards
# (`.data-00000-of-00004` ... `.data-00003-of-00004`); the index's `shard` column says which
# holds each tensor. A checkpoint whose data shard was lost can still be listed (the index is
# enough) but not read: tfexplore says so in `notes`.
#
# ## The `.meta` file: the graph
#
# The `.meta` file is the graph that was trained, with its collections and the `SaverDef`.
# The checkpoint itself does not need it: restoring into a graph you build again in Python
# reads only `.index` and `.data`. `import_meta_graph` needs it (see notebook 02).

# %%
meta = latest.meta_graph
meta.summary()

# %% tags=["check"]
saver_def = meta.saver_def
assert saver_def["restore_op"] == "save/restore_all" and saver_def["version"] == "V2"
assert set(meta.variables["name"]) == set(variables["name"])  # graph and checkpoint agree
assert latest.meta_path.stat().st_size > 10 * data_file.stat().st_size

# %% [markdown]
# `explain()` puts all of this in prose for the checkpoint in front of you:

# %%
latest.explain()

# %% [markdown]
# ## What `max_to_keep` leaves behind
#
# `Saver(max_to_keep=2)` keeps the two newest checkpoints: on each save it deletes the files of
# the oldest one it remembers and rewrites the state file. Here a counter is saved five times:

# %%
v1 = tf.compat.v1
keep_folder = Path("demo_data/keep")
for old in keep_folder.glob("*"):
    old.unlink()  # start empty, so that this cell can run twice

graph = tf.Graph()
with graph.as_default():
    counter = v1.get_variable("counter", [], tf.int64, initializer=v1.zeros_initializer())
    increment = counter.assign_add(1)
    saver = v1.train.Saver(max_to_keep=2)
    with v1.Session(graph=graph) as sess:
        sess.run(v1.global_variables_initializer())
        for _ in range(5):
            step = sess.run(increment)
            saver.save(sess, str(keep_folder / "model.ckpt"), global_step=step)

sorted(p.name for p in keep_folder.iterdir())

# %%
print((keep_folder / "checkpoint").read_text())
kept = tfexplore.open(keep_folder)
kept.checkpoints[["prefix", "step", "listed", "is_latest"]]

# %% tags=["check"]
# Only steps 4 and 5 remain, and the state file lists exactly those.
assert sorted(kept.checkpoints["step"]) == [4, 5]
assert not any(keep_folder.glob("model.ckpt-[123].*"))
state = tf.train.get_checkpoint_state(keep_folder)
assert [Path(p).name for p in state.all_model_checkpoint_paths] == ["model.ckpt-4", "model.ckpt-5"]

# %% [markdown]
# ### A new `Saver` forgets the old checkpoints
#
# A `Saver` only deletes checkpoints it wrote itself (it remembers them in memory). Restart a
# script, build a new `Saver(max_to_keep=2)` and save twice more: the state file now lists
# steps 6 and 7, and steps 4 and 5 stay on disk for ever, listed nowhere. Folders of long
# experiments fill up like this. tfexplore shows such *orphans* (`listed` is false) and says so in
# `notes`:

# %%
graph = tf.Graph()
with graph.as_default():
    counter = v1.get_variable("counter", [], tf.int64)
    increment = counter.assign_add(1)
    saver = v1.train.Saver(max_to_keep=2)  # a new Saver: it knows nothing of steps 4 and 5
    with v1.Session(graph=graph) as sess:
        saver.restore(sess, tf.train.latest_checkpoint(keep_folder))
        for _ in range(2):
            step = sess.run(increment)
            saver.save(sess, str(keep_folder / "model.ckpt"), global_step=step)

kept = tfexplore.open(keep_folder)
print("\n".join(kept.notes))
kept.checkpoints[["prefix", "step", "listed", "is_latest"]]

# %% tags=["check"]
table = kept.checkpoints
assert sorted(table["step"]) == [4, 5, 6, 7]
assert sorted(table.query("listed")["step"]) == [6, 7]  # what the state file knows
assert sorted(table.query("not listed")["step"]) == [4, 5]  # orphans, still on disk
assert any("model.ckpt-4" in note and "not listed" in note for note in kept.notes)

# %% [markdown]
# To let a new `Saver` take over the old ones, call
# `saver.recover_last_checkpoints(state.all_model_checkpoint_paths)` before saving; TF2's
# `tf.train.CheckpointManager` does this by itself (notebook 04).
#
# ## Summary
#
# - The prefix names a checkpoint; `.index` lists its tensors, `.data-*` holds their bytes,
#   `.meta` holds the graph; the `checkpoint` file names the latest prefix.
# - `tf.train.list_variables` and `tf.train.load_checkpoint` read the same files tfexplore reads.
# - `max_to_keep` deletes only what the same `Saver` wrote.
