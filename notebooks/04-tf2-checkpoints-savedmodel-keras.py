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
# # TF2 checkpoints, SavedModels and Keras files
#
# TensorFlow 2 saves *objects*, not graphs. This notebook makes each TF2 artifact and opens it
# with tfexplore and with TensorFlow:
#
# 1. `tf.train.Checkpoint` and `tf.train.CheckpointManager`: object-based checkpoints and the
#    object graph stored in them;
# 2. `tf.saved_model.save` of a `tf.Module`, and Keras `model.export`: SavedModels and their
#    signatures;
# 3. Keras `.keras` zips and legacy `.h5` files.

# %%
import tfexplore

tfexplore.import_tensorflow()  # before anything else imports it: no start-up log lines

from pathlib import Path

import absl.logging
import keras
import numpy as np
import tensorflow as tf

tf.get_logger().setLevel("ERROR")
absl.logging.set_verbosity("error")  # Keras' "HDF5 is legacy" warning goes through absl
keras.utils.set_random_seed(0)
data = Path("demo_data/tf2")


# %% [markdown]
# ## Object-based checkpoints
#
# A `tf.Module` with two variables, trained a few steps with a Keras Adam optimizer. The
# checkpoint holds whatever objects you pass to `tf.train.Checkpoint`, under the names you give
# them (`model=`, `optimizer=`, `step=`); `CheckpointManager` numbers the saves and keeps the
# last `max_to_keep`.


# %%
class Net(tf.Module):
    def __init__(self):
        super().__init__()
        self.W = tf.Variable(tf.random.normal([3, 4], seed=1), name="W")
        self.b = tf.Variable(tf.zeros([4]), name="b")

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32)])
    def __call__(self, x):
        return tf.nn.relu(x @ self.W + self.b)


net = Net()
optimizer = keras.optimizers.Adam(0.01)
step = tf.Variable(0, dtype=tf.int64)
checkpoint = tf.train.Checkpoint(model=net, optimizer=optimizer, step=step)
manager = tf.train.CheckpointManager(checkpoint, data / "ckpts", max_to_keep=3)

x = tf.random.normal([32, 3], seed=2)
for _ in range(5):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(net(x) ** 2)
    optimizer.apply_gradients(
        zip(tape.gradient(loss, net.trainable_variables), net.trainable_variables)
    )
    step.assign_add(1)
    manager.save(checkpoint_number=int(step))

sorted(p.name for p in (data / "ckpts").iterdir())

# %% [markdown]
# Same files as TF1 (`.index`, `.data`, a `checkpoint` state file), no `.meta`, and only the
# last three saves. The tensors are named by their *path in the object graph*:
# `model/W/.ATTRIBUTES/VARIABLE_VALUE` is the variable reached from the root through the
# attribute `model` and then `W`. The variable's own `name="W"` is not used.

# %%
run = tfexplore.open(data / "ckpts")
latest = run.latest
latest.variables[["name", "role", "shape", "object_path", "slot_of"]]

# %% [markdown]
# The extra entry `_CHECKPOINTABLE_OBJECT_GRAPH` is the object graph itself (a serialized
# `TrackableObjectGraph`): which object holds which, and which optimizer slot belongs to which
# variable. tfexplore decodes it:

# %%
latest.object_graph[["id", "path", "kind", "aliases", "children"]]

# %%
tf.train.list_variables(manager.latest_checkpoint)

# %% tags=["check"]
assert latest.style == "object_based" and latest.step == 5 and latest.meta_graph is None
assert sorted(run.checkpoints["step"]) == [3, 4, 5]  # max_to_keep=3
assert [name for name, _ in tf.train.list_variables(manager.latest_checkpoint)] == sorted(
    latest.variables["name"]
)
# Read by object path; the key TF uses is the path plus /.ATTRIBUTES/VARIABLE_VALUE.
reader = tf.train.load_checkpoint(manager.latest_checkpoint)
assert np.array_equal(
    latest.read("model/W"), reader.get_tensor("model/W/.ATTRIBUTES/VARIABLE_VALUE")
)
assert np.array_equal(latest.read("model/W"), net.W.numpy())
# Adam's two slots of W are tied to W through the object graph, not through their names.
slots_of_W = latest.variables.query("slot_of == 'model/W/.ATTRIBUTES/VARIABLE_VALUE'")
assert len(slots_of_W) == 2

# %% [markdown]
# Restoring matches by path, into objects built again in Python. `restore` is lazy: values are
# assigned as the objects that need them are created, and the returned status tells you what
# was matched.

# %%
fresh = Net()
status = tf.train.Checkpoint(model=fresh).restore(manager.latest_checkpoint)
status.assert_existing_objects_matched()  # every object we built found its values
print("W restored:", np.array_equal(fresh.W.numpy(), net.W.numpy()))

# %% tags=["check"]
assert np.array_equal(fresh.W.numpy(), latest.read("model/W"))

# %% [markdown]
# ## SavedModel: graphs plus signatures plus the weights
#
# `tf.saved_model.save(net, folder)` traces the module's `tf.function`s into graphs and writes a
# folder: `saved_model.pb` (the graphs, the *signatures*, and the object graph that
# `tf.saved_model.load` rebuilds) and `variables/` (an ordinary checkpoint).

# %%
tf.saved_model.save(net, str(data / "module"))
module = tfexplore.open(data / "module")
module

# %%
module.signatures

# %%
module.variables[["name", "object_path", "shape", "trainable"]]

# %%
loaded = tf.saved_model.load(str(data / "module"))
serve = loaded.signatures["serving_default"]
print(serve.structured_input_signature)
print(serve.structured_outputs)

# %% tags=["check"]
assert module.writer == "tf2" and module.tags == [["serve"]]
inputs = module.signatures.query("signature == 'serving_default' and direction == 'input'")
assert inputs["key"].tolist() == ["x"] and inputs["shape"].tolist() == [(None, 3)]
assert set(module.signatures["signature"]) - {"__saved_model_init_op"} == set(loaded.signatures)
# The signature computes what the module computes, with the weights from variables/.
assert np.allclose(serve(x=x)["output_0"], net(x))
assert np.array_equal(module.read("W"), net.W.numpy())

# %% [markdown]
# ## Keras: `.keras`, `.h5` and `model.export`
#
# A small Keras model, compiled and fitted for two epochs so that the optimizer has state, then
# saved three ways: the native `.keras` zip, the legacy full-model `.h5`, and `model.export`, a
# SavedModel for serving (inference only).

# %%
model = keras.Sequential(
    [
        keras.Input((3,)),
        keras.layers.Dense(8, activation="relu", name="hidden"),
        keras.layers.Dense(1, name="out"),
    ]
)
model.compile(optimizer="adam", loss="mse")
features = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
model.fit(features, features[:, :1] ** 2, epochs=2, verbose=0)

model.save(data / "model.keras")
model.save(data / "model.h5")
model.export(str(data / "export"), verbose=False)

keras_file = tfexplore.open(data / "model.keras")
keras_file

# %%
keras_file.layers

# %%
keras_file.weights[["name", "layer", "shape", "role", "slot", "slot_of"]]

# %% [markdown]
# A `.keras` file is a zip: `config.json` (the architecture), `metadata.json` and
# `model.weights.h5`, where Keras 3 stores weights by position (`vars/0`, `vars/1`); tfexplore
# names them the way Keras does. The legacy `.h5` holds the same model in one HDF5 file, its
# weights under `model_weights/<layer>/` with their full Keras 3 path (`sequential/hidden/kernel`):

# %%
keras_file.members

# %%
h5_file = tfexplore.open(data / "model.h5")
h5_file.explain()

# %% tags=["check"]
assert keras_file.format == "keras_v3" and h5_file.format == "h5_model"
assert {"config.json", "metadata.json", "model.weights.h5"} <= set(keras_file.members["name"])
kernel = model.get_layer("hidden").kernel.numpy()
assert np.array_equal(keras_file.read("hidden/kernel"), kernel)
assert np.array_equal(
    h5_file.read("sequential/hidden/kernel"), kernel
)  # the .h5 keeps the full path
assert keras_file.optimizer_class == "Adam"
assert keras_file.layers.query("name == 'hidden'")["params"].item() == 3 * 8 + 8

# %% [markdown]
# `model.export` writes a SavedModel for serving: a `serve` endpoint (and `serving_default`),
# the weights, and no optimizer.

# %%
export = tfexplore.open(data / "export")
export.signatures.query("direction != 'output' or signature == 'serve'")

# %% tags=["check"]
assert export.writer == "keras3_export"
assert {"serve", "serving_default"} <= set(export.signatures["signature"])
weights = export.variables.query("role == 'variable'")
assert set(weights["shape"]) == {(3, 8), (8,), (8, 1), (1,)}  # kernels and biases ...
assert weights["slot_of"].isna().all()  # ... and no optimizer state

# %% [markdown]
# ## Summary
#
# | artifact | written by | tensors named by | graph? |
# | --- | --- | --- | --- |
# | object-based checkpoint | `tf.train.Checkpoint`(`Manager`) | object path | no (objects only) |
# | SavedModel | `tf.saved_model.save`, `model.export` | object path | yes, per signature |
# | `.keras` | `model.save("x.keras")` | position (`vars/0`) in HDF5 | no (JSON config) |
# | `.h5` | `model.save("x.h5")` (legacy) | layer/weight name in HDF5 | no (JSON config) |
#
# `tfexplore.open` reads each without running it; `explain()` says what each file holds.
