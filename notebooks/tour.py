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
# # A tour of tfexplore
#
# Five minutes with a real TensorFlow training run: the checkpoint folder, what each file holds,
# the variables and their optimizer slots, how the weights moved, the graph in the `.meta` file,
# tensors by name, and then a live session: restore, ten more training steps, save.
# Everything before the *live session* section only *reads*: no op from the files is run and
# nothing is written to them.
#
# The first cell trains a small two-layer regression network the TF1 way (`tf.compat.v1`, Adam,
# `global_step`) and saves it with `tf.compat.v1.train.Saver` at steps 10, 20 and 30 into
# `demo_data/run`. It takes a few seconds the first time (most of it is importing TensorFlow).

# %%
from pathlib import Path

import tfexplore
from tfexplore.demo import make_training_run, regression_data

folder = Path("demo_data/run")
if not (folder / "checkpoint").exists():
    make_training_run(folder)
sorted(p.name for p in folder.iterdir())

# %% [markdown]
# ## One call opens it
#
# `tfexplore.open` takes a folder, a prefix, any one file of a checkpoint, a SavedModel, a Keras
# file or a frozen graph. For a folder it lists every checkpoint, from the `checkpoint` state file
# and from the files actually present.

# %%
run = tfexplore.open(folder)
run

# %%
run.checkpoints

# %% [markdown]
# Notice the `listed` and `is_latest` columns: they come from the small text file `checkpoint`,
# which `Saver` rewrites on each save. `explain()` says what each file is for:

# %%
run.explain()

# %% [markdown]
# ## Variables, and which of them are optimizer state
#
# Adam keeps two *slots* per trainable variable: its first moment `m` (saved as `W/Adam`) and
# second moment `v` (`W/Adam_1`). tfexplore ties each slot to its variable, so you can see that a
# checkpoint of a network with four weight tensors holds three times as many tensors, plus Adam's
# `beta1_power`/`beta2_power` and the `global_step`.

# %%
checkpoint = run.latest
variables = checkpoint.variables
variables

# %% tags=["check"]
# What the reader should notice, checked: every slot belongs to a variable that is in the file.
slots = variables[variables["slot_of"].notna()]
assert set(slots["slot_of"]) <= set(variables["name"])
assert {"layer1/W/Adam", "layer1/W/Adam_1"} <= set(slots["name"])
assert len(slots) == 2 * len(variables.query("role == 'variable'"))  # two Adam slots each
assert int(checkpoint.read("global_step")) == 30
print(len(variables), "tensors;", len(slots), "of them Adam slots")

# %% [markdown]
# ## Statistics, streamed
#
# `stats()` reads one tensor at a time (a 2 GB checkpoint never sits in memory whole) and gives
# min, max, mean, std, L2 norm and counts of zeros, NaNs and Infs.

# %%
checkpoint.stats()

# %% [markdown]
# ## How the weights moved
#
# `diff` compares two checkpoints; `history` follows every variable across all checkpoints of the
# folder. Plots are easier to read than tables here.

# %%
diff = checkpoint.diff(run.open(10))
diff[["name", "status", "max_abs_change", "rel_l2_change"]]

# %%
history = run.history(names=["layer1/W", "layer2/W", "layer1/b", "layer2/b"])
ax = history.pivot(index="step", columns="name", values="l2").plot(
    marker="o", title="L2 norm by step"
)
ax.set_ylabel("L2 norm")
# %% tags=["check"]
norms = history.pivot(index="step", columns="name", values="l2")
assert list(norms.index) == [10, 20, 30]
assert (norms.diff().dropna().abs() > 0).all().all()  # training moved every weight
assert set(diff.query("role == 'variable'")["status"]) == {"changed"}

# %% [markdown]
# ## The graph in the `.meta` file
#
# The `.meta` file is a `MetaGraphDef`: every op of the graph with its inputs, attributes and
# device, plus collections such as `train_op` and the `SaverDef`. Here are the ops by top-level
# name scope:

# %%
meta = checkpoint.meta_graph
graph = meta.graph
graph.op_counts(depth=1)

# %%
meta.collections.keys()

# %% [markdown]
# Two hundred ops for a two-layer network: most of them are the gradients and Adam's updates
# (scope `train`) and the save/restore machinery (scope `save`). `GraphView` draws the graph
# collapsed by name scope: click a scope to open it, an op to see its inputs, outputs and
# attributes; search, trace what an op depends on, colour by op type, device or role. Here
# `layer1` starts open and the path from the inputs to the loss is traced. (A notebook saved
# without its kernel keeps a static picture of the graph.)

# %%
view = tfexplore.GraphView(checkpoint, expanded=["layer1"], height=420)
upstream = view.trace("loss/mse", "inputs")  # every op the loss depends on
view

# %% tags=["check"]
# The loss depends on both placeholders and on every weight, not on Adam's slots.
assert {"inputs/x", "inputs/y", "layer1/W", "layer2/W"} <= upstream
assert not any("Adam" in name for name in upstream)
detail = view.select("layer1/MatMul")
assert detail["op"] == "MatMul" and detail["inputs"][0]["tensor"] == "inputs/x:0"
assert view.to_svg().startswith("<svg")

# %% [markdown]
# ## Tensors by name
#
# A tensor is named `op_name:output_index`. In graphs written by TensorFlow 2.x, variables are
# *resource* variables: `layer1/W:0` is a handle to the variable, not its value. Fetching it with
# `get_tensor_by_name` gives you a serialized handle; the value comes from a `ReadVariableOp`.

# %%
handle = graph.tensor("layer1/W:0")
handle

# %%
loss = graph.tensor("loss/mse:0")
loss

# %% tags=["check"]
assert handle.is_resource_handle and handle.value_tensors
assert handle.dtype == "resource"
assert loss.dtype == "float32"

# %% [markdown]
# A misspelled name gets suggestions instead of a bare `KeyError`:

# %%
try:
    graph.tensor("layer1/w:0")
except tfexplore.TensorNotFoundError as error:
    print(error)
    suggested = error.suggestions

# %% tags=["check"]
assert "layer1/W:0" in suggested

# %%
graph.find("adam").head(10)

# %% [markdown]
# ## A live session: restore, with a report
#
# Up to here nothing ran. `tfexplore.session(folder)` does what the classic TF1 code does
# (`import_meta_graph` on the latest `.meta`, then `Saver.restore`), after checking that the
# graph's restore op only does what a restore should. It returns a `Session` whose
# `last_restore` says, variable by variable, what was restored from where.

# %%
session = tfexplore.session(folder)
session

# %%
session.last_restore

# %% tags=["check"]
report = session.last_restore
assert report.ok and report.counts == {"restored": len(variables)}  # every tensor, slots too
assert session.global_step == 30
# The session reads a variable's *value* by its name (not the resource handle):
assert (session.eval("layer1/W") == checkpoint.read("layer1/W")).all()

# %% [markdown]
# ## Ten more training steps, with the live plot
#
# `TrainPanel` trains the session from where the checkpoint left off (same `train_op`, same
# Adam slots, `global_step` counting on) and plots the loss as it goes. In JupyterLab you would
# press *Run* and could press *Stop* between two steps; here `panel.run(10)` runs the same ten
# steps synchronously so that the notebook runs top to bottom.

# %%
x, y = regression_data()
panel = tfexplore.TrainPanel(session, feed={"inputs/x": x, "inputs/y": y}, steps=10)
steps = panel.run(10)
panel

# %%
steps

# %% tags=["check"]
# Training resumed at step 31, not 1: global_step and the optimizer state came from the file.
assert steps["global_step"].tolist() == list(range(31, 41))
assert session.global_step == 40
assert (session.eval("layer1/W") != checkpoint.read("layer1/W")).any()

# %% [markdown]
# ## Save, and check what was written
#
# `session.save(folder)` writes an ordinary TensorFlow checkpoint (`model.ckpt-40` with its
# `.index`, `.data` and `.meta`, and the `checkpoint` state file) into a folder of this notebook:
# `demo_data/resumed`. The files are written under temporary names and renamed into place, so an
# interrupted save never leaves a half-written checkpoint behind. Opening it again is the check.

# %%
prefix = session.save("demo_data/resumed", overwrite=True)  # overwrite: this cell can run twice
resumed = tfexplore.open("demo_data/resumed")
resumed.checkpoints[["prefix", "step", "has_meta", "is_latest"]]

# %% tags=["check"]
assert resumed.latest.step == 40 and resumed.latest.meta_path.exists()
assert (resumed.latest.read("layer1/W") == session.eval("layer1/W")).all()
moved = resumed.latest.diff(checkpoint)  # what ten steps changed
assert set(moved.query("role == 'variable'")["status"]) == {"changed"}
session.close()

# %% [markdown]
# ## Next
#
# - `01-anatomy-of-a-checkpoint`: each file of a checkpoint, checked against TensorFlow's own
#   readers, and what `max_to_keep` leaves behind.
# - `02-meta-graphs-and-tensor-names`: the `.meta` file, `op:0` names, handles versus values,
#   devices.
# - `03-restore-and-resume-training`: the classic restore-and-resume code next to
#   `tfexplore.session`; snapshots and rollback.
# - `04-tf2-checkpoints-savedmodel-keras`: object-based checkpoints, SavedModels, `.keras`/`.h5`.
# - `05-debugging-failed-restores`: the errors people hit, and how to fix them.
# - `tfexplore inspect demo_data/run` prints the summary from a terminal; `tfexplore.explore(path)`
#   puts all of the above in one tabbed widget.
