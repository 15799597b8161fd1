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
# # Meta graphs and tensor names
#
# The `.meta` file that `tf.compat.v1.train.Saver` writes next to each checkpoint is a
# `MetaGraphDef`: the whole graph, so that a checkpoint can be restored without the Python code
# that built it. This notebook opens one with tfexplore and with TensorFlow, then looks at three
# things that puzzle people: tensor names (`op:0`), why `get_tensor_by_name("W:0")` gives a
# *handle* in graphs written by TF 2.x, and devices saved in a graph.

# %%
import tfexplore

tfexplore.import_tensorflow()  # before anything else imports it: no start-up log lines

from pathlib import Path

import numpy as np
import tensorflow as tf

from tfexplore.demo import make_training_run

tf.get_logger().setLevel("ERROR")  # no deprecation warnings from tf.compat.v1 in the outputs
v1 = tf.compat.v1

folder = Path("demo_data/run")
if not (folder / "checkpoint").exists():
    make_training_run(folder)
meta = tfexplore.open(folder / "model.ckpt-30.meta")
meta

# %% [markdown]
# ## What a MetaGraphDef holds
#
# - `graph_def`: the ops (*nodes*), each with its type, inputs, attributes and device;
# - `collection_def`: named lists that let code find ops again (`train_op`, `variables`, ...);
# - `saver_def`: which ops save and restore the variables;
# - `meta_info_def`: the TensorFlow version and the signatures of the ops used;
# - `signature_def` (SavedModels only): named inputs and outputs.
#
# The nodes, as a table:

# %%
graph = meta.graph
graph.nodes[["name", "op", "inputs", "attrs", "output_dtypes", "output_shapes"]].head(12)

# %% [markdown]
# One op, with its attributes read out of the proto:

# %%
graph.node("layer1/MatMul")

# %%
meta.collections_table

# %%
meta.saver_def

# %% [markdown]
# The raw proto says the same: TensorFlow parses the file into a `MetaGraphDef` whose fields
# are the ones above.

# %%
from tensorflow.core.protobuf import meta_graph_pb2

proto = meta_graph_pb2.MetaGraphDef()
proto.ParseFromString(Path(meta.path).read_bytes())
print(len(proto.graph_def.node), "nodes;", "collections:", sorted(proto.collection_def))
print(
    "restore op:",
    proto.saver_def.restore_op_name,
    "| written by TF",
    proto.meta_info_def.tensorflow_version,
)

# %% tags=["check"]
assert len(proto.graph_def.node) == len(graph)
assert sorted(proto.collection_def) == sorted(meta.collections)
assert proto.saver_def.restore_op_name == meta.saver_def["restore_op"] == "save/restore_all"
assert meta.train_op.name == "train/Adam"  # what `get_collection("train_op")` will give back

# %% [markdown]
# ## Tensor names: `op_name:output_index`
#
# An op is named `layer1/MatMul`; its outputs are the tensors `layer1/MatMul:0`, `:1`, ...
# `get_tensor_by_name` needs the `:index`, `get_operation_by_name` must not have it. tfexplore
# says which one you meant:

# %%
try:
    graph.tensor("layer1/MatMul")
except tfexplore.TensorNotFoundError as error:
    print(error)

# %% [markdown]
# ## `W:0` is a handle, not a value (in graphs written by TF 2.x)
#
# TF 2.x builds *resource* variables even in `tf.compat.v1` graphs: the op `layer1/W` is a
# `VarHandleOp`, and its output `layer1/W:0` (dtype `resource`) is a handle that points at the
# variable's memory. The value comes out of a `ReadVariableOp` that takes the handle:

# %%
handle_info = graph.tensor("layer1/W:0")
handle_info

# %% [markdown]
# Let us see it with a real session: import the meta graph, restore the checkpoint, and fetch
# both tensors.

# %%
g = tf.Graph()
with g.as_default():  # TF1 calls build ops: inside the graph, not eagerly
    saver = v1.train.import_meta_graph(str(meta.path))
    sess = v1.Session(graph=g)
    saver.restore(sess, str(folder / "model.ckpt-30"))

fetched_handle = sess.run(g.get_tensor_by_name("layer1/W:0"))
fetched_value = sess.run(g.get_tensor_by_name(handle_info.value_tensors[0]))
print(
    "layer1/W:0                      ->",
    type(fetched_handle).__name__,
    fetched_handle.dtype,
    fetched_handle.shape,
)
print(handle_info.value_tensors[0], "->", fetched_value.dtype, fetched_value.shape)

# %% tags=["check"]
# The handle is not the weights: bytes describing where the variable lives, not a (3, 16) float
# array.
assert fetched_handle.dtype != np.float32 and fetched_handle.shape != (3, 16)
assert fetched_value.shape == (3, 16) and fetched_value.dtype == np.float32
assert np.array_equal(fetched_value, meta.checkpoint.read("layer1/W"))
sess.close()

# %% [markdown]
# ### Contrast: a reference-variable graph (TF 1.x style)
#
# Graphs written by TF 1.x hold `VariableV2` ops of dtype `float32_ref`: there `W:0` *is* the
# variable, fetching it gives its value, and `W/read:0` is an `Identity` the graph's consumers
# read. TF 2.x can still build one if resource variables are switched off; we switch them back
# on right after, so that the rest of the kernel is not affected.

# %%
ref_folder = Path("demo_data/ref")
g = tf.Graph()
with g.as_default():
    v1.disable_resource_variables()
    try:
        W = v1.get_variable("W", [2, 3], initializer=v1.constant_initializer(1.5))
    finally:
        v1.enable_resource_variables()
    total = tf.reduce_sum(W, name="total")
    saver = v1.train.Saver()
    with v1.Session(graph=g) as sess:
        sess.run(v1.global_variables_initializer())
        ref_value = sess.run(g.get_tensor_by_name("W:0"))  # the value itself
        saver.save(sess, str(ref_folder / "model.ckpt"))
print(W.op.type, W.dtype, "-> fetching W:0 gives", ref_value.dtype, ref_value.shape)

ref_meta = tfexplore.open(ref_folder / "model.ckpt.meta")
ref_meta.tensor("W:0")

# %% tags=["check"]
ref_tensor = ref_meta.tensor("W:0")
assert ref_tensor.is_reference and not ref_tensor.is_resource_handle
assert ref_tensor.dtype == "float32_ref" and ref_meta.node("W").op == "VariableV2"
assert (ref_value == 1.5).all()  # fetching a ref variable gives its value
assert handle_info.is_resource_handle and handle_info.dtype == "resource"

# %% [markdown]
# ## Devices and `clear_devices`
#
# Every op in a graph may carry a device string: `with tf.device("/device:GPU:0")` writes it into
# the NodeDef, and `Saver` saves it in the `.meta` file. Open that file on a machine without a
# GPU and the classic `import_meta_graph(..., clear_devices=False)` fails. Here is a graph pinned
# to a GPU (it ran on this CPU thanks to `allow_soft_placement`, but the device strings stay in
# the file):

# %%
gpu_folder = Path("demo_data/gpu")
g = tf.Graph()
with g.as_default():
    with tf.device("/device:GPU:0"):
        W = v1.get_variable("W", [2, 3], initializer=v1.constant_initializer(2.0))
        total = tf.reduce_sum(W, name="total")
    saver = v1.train.Saver()
    config = v1.ConfigProto(allow_soft_placement=True)
    with v1.Session(graph=g, config=config) as sess:
        sess.run(v1.global_variables_initializer())
        saver.save(
            sess, str(gpu_folder / "model.ckpt"), global_step=1
        )  # clear_devices defaults to False

gpu_meta = tfexplore.open(gpu_folder / "model.ckpt-1.meta")
gpu_meta.graph.nodes["device"].replace("", "(none)").value_counts()

# %% [markdown]
# `GraphView` can colour the ops by device:

# %%
tfexplore.GraphView(gpu_meta, color_by="device", height=320)

# %% [markdown]
# The classic way, without clearing devices, on this CPU-only machine:

# %%
g = tf.Graph()
tf_error = None
with g.as_default(), v1.Session(graph=g) as sess:
    saver = v1.train.import_meta_graph(str(gpu_meta.path), clear_devices=False)
    try:
        saver.restore(sess, str(gpu_folder / "model.ckpt-1"))
        print(sess.run("total:0"))
    except tf.errors.OpError as error:
        tf_error = error
        lines = str(error).splitlines()
        print(type(error).__name__ + ":", lines[0])
        print("...")
        print(next(line for line in lines if "Cannot assign a device" in line)[:220], "...")

# %% [markdown]
# Notice that TensorFlow's first line blames "a mismatch between the current graph and the
# graph from the checkpoint": the real cause is further down. `tfexplore.session` clears the
# devices by default (as `import_meta_graph(..., clear_devices=True)` does) and says which it
# cleared:

# %%
gpu_session = tfexplore.session(gpu_folder / "model.ckpt-1.meta")
gpu_session

# %% tags=["check"]
assert isinstance(tf_error, tf.errors.InvalidArgumentError)  # the raw restore failed
assert "/device:GPU:0" in set(gpu_meta.graph.nodes["device"])
assert "/device:GPU:0" in gpu_session.devices_cleared
assert gpu_session.eval("total:0") == 12.0  # 2 x 3 weights of 2.0, restored and summed on CPU
gpu_session.close()

# %% [markdown]
# ## Summary
#
# - A `.meta` file is a `MetaGraphDef`: nodes, collections, the `SaverDef`, meta info.
# - Tensors are `op:index`; ops have no `:`.
# - With resource variables (TF 2.x), `W:0` is a handle: read the value through a
#   `ReadVariableOp` (`graph.tensor("W:0").value_tensors`), or ask `session.eval("W")`.
# - Device strings travel with the graph; clear them to run a GPU graph on a CPU.
