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
# # Checkpoint surgery: make a checkpoint fit your model
#
# You have a checkpoint and a model that should be able to use it, and the restore fails.
# The weights are there; their *names* (or shapes, or layout) are not what your code asks for.
# This happens all the time: a scope renamed, a model rebuilt in Keras, an optimizer changed,
# a TF1 checkpoint for a TF2 model.
#
# The usual fixes are scripts that load every tensor into one graph (memory = checkpoint
# size), `init_from_checkpoint` assignment maps whose errors are cryptic, or converters that
# silently take an optimizer slot for a weight. tfexplore does it as a *plan*: a table with one
# row per tensor that you can read, check and edit, and that is written tensor by tensor only
# when nothing in it is wrong.
#
# Our example is the most common case of all: a checkpoint in Google's BERT layout (TF1 names
# such as `bert/encoder/layer_0/attention/self/query/kernel`, Adam slots `adam_m` and
# `adam_v`, a `global_step`) and a Keras model of the same architecture that names its weights
# its own way (`layer_0_query/kernel`).

# %%
import tfexplore

tfexplore.import_tensorflow()  # before anything else imports it: no start-up log lines

from pathlib import Path

import numpy as np
import tensorflow as tf

from tfexplore import demo

Path("demo_data").mkdir(exist_ok=True)
prefix = demo.make_bert_checkpoint("demo_data/bert", step=1000)
model = demo.make_bert_keras_model()
ckpt = tfexplore.open(prefix)
ckpt.variables[["name", "role", "shape", "slot", "slot_of"]].head(8)

# %% [markdown]
# ## The failed restore
#
# Plain TensorFlow first. `tf.train.Checkpoint(model=model).restore(...)` reads checkpoints
# *by object*: it looks for `model/layer_with_weights-0/...` keys. A TF1 checkpoint has none,
# so nothing matches, and `assert_existing_objects_matched()` says so, without saying what
# *would* match.

# %%
status = tf.train.Checkpoint(model=model).restore(str(prefix))
try:
    status.assert_existing_objects_matched()
except AssertionError as error:
    failure = str(error)
print(failure.splitlines()[0], "...")

# %% tags=["check"]
assert "were not restored" in failure

# %% [markdown]
# ## The plan
#
# `ckpt.rewrite(to=model)` asks TensorFlow which keys the model would be saved under (without
# writing anything), then pairs each checkpoint tensor with a weight of the model: by the
# similarity of their names (after dropping what every name shares, like `bert/`), by shape
# (only tensors of the same shape and dtype can pair) and by order. Each pair gets a
# **confidence**: 1.0 when the names agree, lower when several weights of that shape were
# close calls.
#
# The optimizer slots follow their variable. The Keras model has no optimizer state, so the
# `adam_m`/`adam_v` slots are dropped, and the report says why instead of leaving you to
# wonder where 78 tensors went.

# %%
plan = ckpt.rewrite(to=model)
plan

# %%
plan.table[plan.table["role"] == "variable"][["source", "target", "confidence", "why"]].head(12)

# %% [markdown]
# Look at the lowest confidences first: those are the pairs a person should read.

# %%
plan.table.dropna(subset=["confidence"]).sort_values("confidence")[
    ["source", "target", "confidence", "why"]
].head(6)

# %% tags=["check"]
truth = demo.bert_keras_names()
assert dict(zip(plan.table["source"], plan.table["target"])).items() >= truth.items()
assert plan.ok

# %% [markdown]
# ## Checks, and fixing a row
#
# Nothing is written while the plan has problems, and problems are rows of `plan.report`,
# not exceptions. Suppose the matcher had taken the pooler's kernel for the first query
# kernel. Make that mistake on purpose with `plan.set(...)` and look at what the checks say:
# two sources write one target (a *collision*), and the pooler's kernel is left without a
# value (*not_filled*).

# %%
plan.set("bert/pooler/dense/kernel", target="layer_0_query/kernel")
plan.problems[["check", "source", "target", "message"]]

# %% tags=["check"]
assert {"collision", "not_filled"} <= set(plan.problems["check"])

# %% [markdown]
# Writing now refuses, naming the problems, and leaves no file behind:

# %%
try:
    plan.write("demo_data/converted/model.ckpt")
except tfexplore.RewriteError as error:
    print(str(error).splitlines()[0])
print(Path("demo_data/converted").exists())

# %% [markdown]
# Fix it in the table (or with `plan.set`) and the checks run again on the next look:

# %%
plan.set("bert/pooler/dense/kernel", target="pooler/kernel")
plan.set("bert/encoder/layer_0/attention/self/query/kernel", target="layer_0_query/kernel")
plan.ok, len(plan.problems)

# %% [markdown]
# Shapes are checked after each row's action. A model whose intermediate layer is *wider*
# than the checkpoint's cannot be filled from it: the plan refuses and says by how much.

# %%
wide = tfexplore.open(prefix).rewrite(to=demo.make_bert_keras_model(intermediate=24))
wide.problems[wide.problems["check"] == "shape"][["source", "message"]].head(2)

# %% tags=["check"]
assert "wider" in wide.problems[wide.problems["check"] == "shape"]["message"].iloc[0]

# %% [markdown]
# ## Writing, and restoring with plain TensorFlow
#
# `plan.write(path)` reads each tensor once, transforms it if the row says so, writes it and
# lets it go: memory stays at the largest tensor (twice, at most), whatever the size of the
# checkpoint. The files appear complete or not at all, and the source is never touched. For a
# Keras target it also writes the object graph, so the *ordinary* TF2 restore now works.

# %%
written = plan.write("demo_data/converted/model.ckpt", overwrite=True)
fresh = demo.make_bert_keras_model()
tf.train.Checkpoint(model=fresh).restore(str(written.prefix)).assert_existing_objects_matched()
weights = {w.path: w.numpy() for w in fresh.weights}
max(float(np.abs(weights[path] - ckpt.read(key)).max()) for key, path in truth.items())

# %% tags=["check"]
for key, path in truth.items():
    assert np.array_equal(weights[path], ckpt.read(key))

# %% [markdown]
# ## The same plan, for other tools
#
# When a rewrite is only renames, the plan is also an `assignment_map` for
# `tf.compat.v1.train.init_from_checkpoint` and a `var_list` for a `Saver`. It is always a
# recipe that puts the values into a Keras model, and plain TensorFlow code that performs the
# whole rewrite without tfexplore (for a script, or to see there is no magic).

# %%
list(plan.assignment_map().items())[:3]

# %%
print(plan.keras_recipe()[:500])

# %% [markdown]
# ## Rules, without a model
#
# Without `to=`, a plan is made of rules: prefix renames, scope moves (whole name parts
# only), regular expressions, a dict, a function, and drops in tfexplore's search syntax.
# Slots follow their variable here too. The terminal has it as
# `tfexplore rewrite SRC DST --rename 'bert/=' --drop-optimizer`.

# %%
rules = ckpt.rewrite(prefix={"bert/": ""}, drop_optimizer=True)
rules.table[["source", "action", "target"]].head(6)

# %%
small = rules.write("demo_data/renamed/model.ckpt", overwrite=True)
sorted(tf.train.load_checkpoint(str(small.prefix)).get_variable_to_shape_map())[:4]

# %% tags=["check"]
names = set(tf.train.load_checkpoint(str(small.prefix)).get_variable_to_shape_map())
assert "encoder/layer_0/attention/self/query/kernel" in names
assert not any("adam" in n for n in names) and "global_step" in names
