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
# # Debugging failed restores
#
# A restore fails when the graph in front of you is not the graph that was saved: a variable
# scope was renamed, a layer changed size, the model was rebuilt with other names. TensorFlow
# stops at the first problem with a long message; tfexplore compares every variable with the
# checkpoint, says what does not fit, proposes a fix, and writes the TensorFlow code for it.
#
# The checkpoint: a small network saved under the scope `model`.

# %%
import tfexplore

tfexplore.import_tensorflow()  # before anything else imports it: no start-up log lines

from pathlib import Path

import numpy as np
import tensorflow as tf

tf.get_logger().setLevel("ERROR")
v1 = tf.compat.v1


def build(scope="model", hidden=8, outputs=1, names=("dense/kernel", "dense/bias", "out/kernel")):
    """A two-layer network in a fresh tf.Graph; the arguments make it differ from the saved one."""
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(1)
        x = v1.placeholder(tf.float32, [None, 3], name="x")
        with v1.variable_scope(scope):
            kernel = v1.get_variable(names[0], [3, hidden])
            bias = v1.get_variable(names[1], [hidden], initializer=v1.zeros_initializer())
            out = v1.get_variable(names[2], [hidden, outputs])
        tf.matmul(tf.nn.relu(x @ kernel + bias), out, name="y")
    return graph


def tf_error_lines(error, *keywords):
    """The first line of a TensorFlow error and the lines holding a keyword (the rest is
    traceback)."""
    lines = str(error).splitlines()
    return "\n".join(
        [f"{type(error).__name__}: {lines[0]}"]
        + [line for line in lines[1:] if any(k in line for k in keywords)]
    )


prefix = "demo_data/debug/model.ckpt-100"
Path(prefix).parent.mkdir(parents=True, exist_ok=True)  # Saver does not make the folder
original = build()
with original.as_default():
    saver = v1.train.Saver()
    with v1.Session(graph=original) as sess:
        sess.run(v1.global_variables_initializer())
        saver.save(sess, prefix.rsplit("-", 1)[0], global_step=100)
saved = tfexplore.open(prefix)
saved.variables[["name", "shape", "dtype"]]

# %% [markdown]
# ## 1. A key not found: the scope was renamed
#
# The code was refactored and the scope is now `net`. `Saver` looks for `net/dense/bias` in a
# checkpoint that holds `model/dense/bias`. TensorFlow's own error first:

# %%
renamed = build(scope="net")
with renamed.as_default():
    saver = v1.train.Saver()
    try:
        with v1.Session(graph=renamed) as sess:
            saver.restore(sess, prefix)
    except tf.errors.NotFoundError as error:
        tf_message = tf_error_lines(error, "not found in checkpoint")
print(tf_message)

# %% [markdown]
# It names one key and blames "a Variable name or other graph key that is missing". tfexplore
# checks every variable before restoring anything, and its error carries the full report and
# the session (still usable):

# %%
try:
    tfexplore.session(renamed, prefix)
except tfexplore.RestoreMismatchError as error:
    print(error)
    report, s = error.report, error.session
report

# %% [markdown]
# Notice the `only_in_checkpoint` rows: the keys nobody asked for are exactly the missing ones
# under another prefix, so the report proposes `prefix_rewrite={"model/": "net/"}`.
# `plan_restore` shows what a restore would do without changing anything; then `restore` does it.

# %%
print("proposed:", report.proposed_prefix_rewrite)
plan = s.plan_restore(prefix_rewrite=report.proposed_prefix_rewrite)
print(plan)
fixed = s.restore(prefix_rewrite=report.proposed_prefix_rewrite)
fixed.mapping

# %% tags=["check"]
assert "Key net/" in tf_message and "not found in checkpoint" in tf_message  # TF names one key
assert report.counts == {
    "missing_in_checkpoint": 3,
    "only_in_checkpoint": 3,
}  # tfexplore: all of them
assert report.proposed_prefix_rewrite == {"model/": "net/"}
assert plan.ok and not plan.applied and fixed.ok and fixed.applied
assert np.array_equal(s.eval("net/dense/kernel"), saved.read("model/dense/kernel"))
s.close()

# %% [markdown]
# ## 2. A shape mismatch: a new output layer
#
# Fine-tuning the network for two outputs instead of one: `out/kernel` is now `(8, 2)`. The
# classic TF1 recipe initializes every variable, then restores the ones that fit. What does
# plain `Saver.restore` say about the head that does not fit?

# %%
two_outputs = build(outputs=2)
with two_outputs.as_default():
    saver = v1.train.Saver()
    init = v1.global_variables_initializer()
    sess = v1.Session(graph=two_outputs)
    sess.run(init)
    saver.restore(sess, prefix)  # no error!
    head = [v for v in v1.global_variables() if v.op.name == "model/out/kernel"][0]
    head_shape = sess.run(head).shape
    output_shape = sess.run("y:0", {"x:0": np.ones((5, 3))}).shape
print("model/out/kernel declared", tuple(head.shape), "but holds", head_shape, "after the restore")
print("the model's output for 5 examples:", output_shape, "(5, 2) was meant")

# %% [markdown]
# Nothing. With TF 2.x's resource variables, `Saver.restore` assigns the `(8, 1)` tensor to the
# `(8, 2)` variable, which silently changes shape: the error, if any, shows up later and far
# from its cause (here the model just outputs one column instead of two). Graphs of TF 1.x
# reference variables at least failed with `Assign requires shapes of both tensors to match`.

# %% [markdown]
# tfexplore compares shapes before restoring anything. Hand it your own initialized session:
# the report shows both shapes, and `partial=True` restores what fits and leaves the rest as
# your initializer set it.

# %%
sess.run(init)  # back to fresh random weights of the declared shapes
try:
    s = tfexplore.session(sess, prefix)
except tfexplore.RestoreMismatchError as error:
    print(error)
    s = error.session
head_before = s.eval("model/out/kernel")
partial = s.restore(partial=True)
partial

# %% tags=["check"]
assert head_shape == (8, 1) and output_shape == (5, 1)  # plain TF: silently the wrong shape
assert partial.counts == {"restored": 2, "shape_mismatch": 1}
mismatch = partial.problems.iloc[0]
assert mismatch["graph_name"] == "model/out/kernel"
assert mismatch["graph_shape"] == (8, 2) and mismatch["checkpoint_shape"] == (8, 1)
assert np.array_equal(s.eval("model/dense/kernel"), saved.read("model/dense/kernel"))  # restored
assert np.array_equal(s.eval("model/out/kernel"), head_before)  # left as initialized

# %% [markdown]
# `as_code()` writes the equivalent TensorFlow: a `Saver` over the variables that fit, and the
# same as an `assignment_map` for `init_from_checkpoint`. It runs as is, in your own session:

# %%
code = partial.as_code()
print(code)

# %%
with two_outputs.as_default():
    sess.run(init)  # start again from fresh random weights
    exec(code.split("# or,")[0], {"sess": sess})  # the Saver part, in plain TensorFlow
    kernel = [v for v in v1.global_variables() if v.op.name == "model/dense/kernel"][0]
    restored_by_code = sess.run(kernel)
sess.close()

# %% tags=["check"]
assert (
    "tf.compat.v1.train.Saver(var_list=" in code
    and "model/out/kernel" not in code.split("# or,")[0]
)
assert np.array_equal(restored_by_code, saved.read("model/dense/kernel"))

# %% [markdown]
# ## 3. A model built differently
#
# Someone rebuilt the network with other names (`encoder/W`, `encoder/b`, `head/W`, no common
# prefix to rewrite). The report matches the leftover checkpoint keys to the unmatched variables
# by shape and dtype and proposes a `mapping` (a `Saver` `var_list`, `{checkpoint key:
# variable}`). Check it before using it: two variables of the same shape could be swapped.

# %%
rebuilt = build(scope="", names=("encoder/W", "encoder/b", "head/W"))
try:
    tfexplore.session(rebuilt, prefix)
except tfexplore.RestoreMismatchError as error:
    report, s = error.report, error.session
report.proposed_mapping

# %%
mapped = s.restore(mapping=report.proposed_mapping)
mapped

# %% tags=["check"]
assert report.proposed_mapping == {
    "model/dense/kernel": "encoder/W",
    "model/dense/bias": "encoder/b",
    "model/out/kernel": "head/W",
}
assert mapped.ok and mapped.counts == {"restored": 3}
assert np.array_equal(s.eval("head/W"), saved.read("model/out/kernel"))
s.close()

# %% [markdown]
# ## 4. A variable the checkpoint never had
#
# A new layer (say a learned output scale) has nothing to restore from. With `partial=True`
# the report lists it as `missing_in_checkpoint` and everything else is restored; initialize the
# new variable yourself (here: your own session, initialized before the restore).

# %%
graph = build()
with graph.as_default():
    with v1.variable_scope("model"):
        scale = v1.get_variable("out/scale", [1], initializer=v1.ones_initializer())
    sess = v1.Session(graph=graph)
    sess.run(v1.global_variables_initializer())
try:
    s = tfexplore.session(sess, prefix)
except tfexplore.RestoreMismatchError as error:
    s = error.session
report = s.restore(partial=True)
report.problems

# %% tags=["check"]
assert report.counts == {"restored": 3, "missing_in_checkpoint": 1}
assert report.problems["graph_name"].tolist() == ["model/out/scale"]
assert s.eval("model/out/scale") == 1.0  # kept its initial value
sess.close()

# %% [markdown]
# ## Summary
#
# What TensorFlow says, what happened, and the fix:
#
# - `Key net/... not found in checkpoint`: the scope was renamed;
#   `restore(prefix_rewrite={"model/": "net/"})`.
# - nothing (resource variables), or `Assign requires shapes ...` (ref variables): a layer changed
#   size; `restore(partial=True)` after initializing.
# - `Key ... not found` for every variable: the model was rebuilt with other names;
#   `restore(mapping=report.proposed_mapping)`.
# - `Key ... not found` for one new variable: a new layer; `partial=True`, then initialize it
#   yourself.
#
# In every case `plan_restore(...)` shows the outcome without changing a variable, and
# `report.as_code()` gives the same restore in plain TensorFlow.
