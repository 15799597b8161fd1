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
# # Restore and resume training
#
# The classic TF1 workflow, step by step, with the raw TensorFlow calls and `tfexplore.session`
# side by side:
#
# | step | TensorFlow | tfexplore |
# | --- | --- | --- |
# | load the graph | `v1.train.import_meta_graph(meta_path)` | `tfexplore.session(folder)` |
# | restore | `saver.restore(sess, "model.ckpt-30")` | (done; `s.last_restore` is the report) |
# | find the train op | `tf.compat.v1.get_collection("train_op")[0]` | (found) |
# | step counter | `sess.run(tf.compat.v1.train.get_global_step())` | `s.global_step` |
# | train | `sess.run([train_op, loss], feed_dict)` in a loop | `s.train(10, feed=...)` |
# | early stopping | `Saver.save` to disk and restore | `s.snapshot()`, `s.rollback()` (in memory) |
# | save | `saver.save(sess, prefix, global_step=...)` | `s.save(folder)` |

# %%
import tfexplore

tfexplore.import_tensorflow()  # before anything else imports it: no start-up log lines

from pathlib import Path

import numpy as np
import tensorflow as tf

from tfexplore.demo import make_training_run, regression_data

tf.get_logger().setLevel("ERROR")
v1 = tf.compat.v1

folder = Path("demo_data/run")
if not (folder / "checkpoint").exists():
    make_training_run(folder)  # steps 10, 20, 30 of a two-layer network trained with Adam
x, y = regression_data()  # the data it was trained on
feed = {"inputs/x:0": x, "inputs/y:0": y}

# %% [markdown]
# ## The raw TensorFlow way
#
# `import_meta_graph` rebuilds the graph from the `.meta` file and returns a `Saver` for it;
# `restore` runs the graph's restore op, which reads every variable (weights, Adam's slots,
# `global_step`) from the checkpoint. The train op and the loss are found again through the
# collections the training script filled.

# %%
prefix = tf.train.latest_checkpoint(folder)
graph = tf.Graph()
with graph.as_default():
    saver = v1.train.import_meta_graph(prefix + ".meta")
    train_op = v1.get_collection("train_op")[0]
    loss = v1.get_collection("loss")[0]
    global_step = v1.train.get_global_step()
    sess = v1.Session(graph=graph)
    saver.restore(sess, prefix)
print("restored", prefix, "at global_step", sess.run(global_step))

raw_losses = []
for _ in range(10):
    _, value = sess.run([train_op, loss], feed)
    raw_losses.append(value)
print("after 10 steps: global_step", sess.run(global_step), "loss", raw_losses[-1])
sess.close()

# %% [markdown]
# ## The same with `tfexplore.session`
#
# One call imports the latest `.meta` (after checking that its restore op does nothing but
# restore), restores the latest checkpoint and finds `train_op`, the loss and `global_step`.
# The restore report lists every variable:

# %%
s = tfexplore.session(folder)
s.last_restore

# %%
resumed = s.train(10, feed={"inputs/x": x, "inputs/y": y})
resumed

# %% tags=["check"]
# The same graph, the same checkpoint, the same data: the same ten losses as the raw loop.
assert s.last_restore.ok and s.global_step == 40
assert resumed["global_step"].tolist() == list(range(31, 41))
assert np.allclose(resumed["loss"], raw_losses, rtol=1e-5)

# %% [markdown]
# ## Why the optimizer's slots matter
#
# Adam keeps, per weight, running averages of the gradient (`W/Adam`, *m*) and of its square
# (`W/Adam_1`, *v*), and, for its bias correction, `beta1_power`: it starts at β₁ = 0.9 and is
# multiplied by 0.9 after each step, so after *n* steps it is 0.9<sup>n+1</sup>. They are in
# the checkpoint and were restored with the weights, so training continued where it stopped.
# Restoring only the weights (a `Saver(var_list=weights)`) would restart Adam with *m* = *v* = 0
# and `beta1_power` = 0.9: the first steps after resuming would be unusually large.

# %%
checkpoint = tfexplore.open(folder).latest
print(
    "beta1_power in the checkpoint (step 30):",
    checkpoint.read("train/beta1_power"),
    " 0.9**31 =",
    0.9**31,
)
print("beta1_power in the session   (step 40):", s.eval("train/beta1_power"), " 0.9**41 =", 0.9**41)
checkpoint.slots

# %% tags=["check"]
assert np.isclose(checkpoint.read("train/beta1_power"), 0.9**31)
assert np.isclose(s.eval("train/beta1_power"), 0.9**41)  # it went on counting from step 30
assert len(checkpoint.slots) == 8 and set(checkpoint.slots["slot"]) == {"Adam m", "Adam v"}

# %% [markdown]
# ## Snapshot and rollback: early stopping
#
# Training on a small, noisy sample eventually fits its noise: the loss on held-out data stops
# falling and rises. Early stopping keeps the best weights seen so far and goes back to them at
# the end. The classic way saves a checkpoint to disk each time the validation loss improves
# and restores it; `s.snapshot()` copies every variable into memory (optimizer state and
# `global_step` included) and `s.rollback()` puts them back.
#
# Here the live session first goes back to the checkpoint of step 10 (`s.restore(10)`: a
# step number means that checkpoint of the session's folder), then trains on only 32 examples
# with noisy targets, and is validated on 256 others every 10 steps.

# %%
print(s.restore(10))
x_val, y_val = regression_data(seed=1)
y_noisy = y[:32] + np.random.default_rng(0).normal(scale=0.5, size=(32, 1)).astype("float32")
small = {"inputs/x": x[:32], "inputs/y": y_noisy}
validation = {"inputs/x": x_val, "inputs/y": y_val}

best_loss, best_step, curve, training = np.inf, None, [], []
for _ in range(20):
    training.append(s.train(10, feed=small))
    val_loss = float(s.eval("loss/mse", feed=validation))
    curve.append((s.global_step, val_loss))
    if val_loss < best_loss:
        best_loss, best_step = val_loss, s.global_step
        s.snapshot("best")
final_step = s.global_step
print(
    f"best validation loss {best_loss:.4f} at step {best_step}; "
    f"now at step {final_step}, loss {val_loss:.4f}"
)

# %%
import pandas as pd

curve = pd.DataFrame(curve, columns=["global_step", "validation loss"]).set_index("global_step")
train_curve = (
    pd.concat(training).set_index("global_step")["loss"].rename("training loss (32 noisy examples)")
)
ax = pd.concat([train_curve, curve], axis=1).plot(
    logy=True, style=["-", "o-"], title="Early stopping"
)
ax.axvline(best_step, color="grey", linestyle=":")
# %%
s.rollback("best")
print(
    "after rollback: step",
    s.global_step,
    "validation loss",
    float(s.eval("loss/mse", feed=validation)),
)

# %% tags=["check"]
# Training went past its best point, and rolling back restores every variable of the
# snapshot: the best validation loss and its step, exactly.
assert best_step < final_step and best_loss < val_loss
assert s.global_step == best_step
assert float(s.eval("loss/mse", feed=validation)) == best_loss
assert best_loss <= min(loss for _, loss in curve.itertuples())
assert s.snapshots == ["best"]

# %% [markdown]
# ## Save, and restore with plain TensorFlow
#
# `s.save(folder)` writes an ordinary checkpoint named by the current `global_step`. Anything
# that reads TF checkpoints can use it; here the raw `import_meta_graph` + `restore` again.

# %%
saved = s.save("demo_data/early_stopped", overwrite=True)
print(saved)

graph = tf.Graph()
with graph.as_default():
    saver = v1.train.import_meta_graph(saved + ".meta")
    loss = v1.get_collection("loss")[0]
    global_step = v1.train.get_global_step()
with v1.Session(graph=graph) as sess:
    saver.restore(sess, saved)
    reloaded_step, reloaded_loss = sess.run(
        [global_step, loss], {"inputs/x:0": x_val, "inputs/y:0": y_val}
    )
print("plain TensorFlow reads step", reloaded_step, "validation loss", reloaded_loss)

# %% tags=["check"]
assert reloaded_step == best_step and reloaded_loss == best_loss
assert tf.train.latest_checkpoint("demo_data/early_stopped") == saved
s.close()

# %% [markdown]
# ## Summary
#
# - `import_meta_graph` + `restore` + the `train_op` collection is the whole TF1 resume recipe;
#   `tfexplore.session` does it in one call and reports what it restored.
# - Resume with the optimizer's slots and `global_step`, not only the weights.
# - `snapshot`/`rollback` are in memory and cover every variable; `save` writes a normal
#   checkpoint.
