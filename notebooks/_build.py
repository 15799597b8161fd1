"""Write the teaching notebooks (``notebooks/*.ipynb``) from the Python source below.

The notebooks are kept without outputs; this script is their source of truth, so a review reads
plain Python and Markdown. Run it after editing, then run the notebook test::

    .venv/bin/python notebooks/_build.py
    .venv/bin/python -m pytest -q tests/test_notebooks.py

Cells made with ``check(...)`` are tagged ``check``: they assert what the reader should notice.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent


def md(text: str):
    return new_markdown_cell(textwrap.dedent(text).strip())


def code(text: str):
    return new_code_cell(textwrap.dedent(text).strip())


def setup(text: str):
    """The first code cell of a notebook that imports TensorFlow itself: quiet it first."""
    return new_code_cell(QUIET_TF.strip() + "\n" + textwrap.dedent(text).rstrip())


def check(text: str):
    return new_code_cell(textwrap.dedent(text).strip(), metadata={"tags": ["check"]})


# Notebooks that import TensorFlow themselves keep its C++ log lines out of the outputs.
QUIET_TF = """
import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"  # before TensorFlow is imported: no C++ log lines
"""

# ---------------------------------------------------------------------------------------------
# tour.ipynb
# ---------------------------------------------------------------------------------------------

TOUR = [
    md("""
    # A tour of tfexplore

    Five minutes with a real TensorFlow training run: the checkpoint folder, what each file holds,
    the variables and their optimizer slots, how the weights moved, the graph in the `.meta` file,
    tensors by name, and then a live session: restore, ten more training steps, save.
    Everything before the *live session* section only *reads*: no op from the files is run and
    nothing is written to them.

    The first cell trains a small two-layer regression network the TF1 way (`tf.compat.v1`, Adam,
    `global_step`) and saves it with `tf.compat.v1.train.Saver` at steps 10, 20 and 30 into
    `demo_data/run`. It takes a few seconds the first time (most of it is importing TensorFlow).
    """),
    code("""
    from pathlib import Path

    import tfexplore
    from tfexplore.demo import make_training_run, regression_data

    folder = Path("demo_data/run")
    if not (folder / "checkpoint").exists():
        make_training_run(folder)
    sorted(p.name for p in folder.iterdir())
    """),
    md("""
    ## One call opens it

    `tfexplore.open` takes a folder, a prefix, any one file of a checkpoint, a SavedModel, a Keras
    file or a frozen graph. For a folder it lists every checkpoint, from the `checkpoint` state file
    and from the files actually present.
    """),
    code("""
    run = tfexplore.open(folder)
    run
    """),
    code("run.checkpoints"),
    md("""
    Notice the `listed` and `is_latest` columns: they come from the small text file `checkpoint`,
    which `Saver` rewrites on each save. `explain()` says what each file is for:
    """),
    code("run.explain()"),
    md("""
    ## Variables, and which of them are optimizer state

    Adam keeps two *slots* per trainable variable: its first moment `m` (saved as `W/Adam`) and
    second moment `v` (`W/Adam_1`). tfexplore ties each slot to its variable, so you can see that a
    checkpoint of a network with four weight tensors holds three times as many tensors, plus Adam's
    `beta1_power`/`beta2_power` and the `global_step`.
    """),
    code("""
    checkpoint = run.latest
    variables = checkpoint.variables
    variables
    """),
    check("""
    # What the reader should notice, checked: every slot belongs to a variable that is in the file.
    slots = variables[variables["slot_of"].notna()]
    assert set(slots["slot_of"]) <= set(variables["name"])
    assert {"layer1/W/Adam", "layer1/W/Adam_1"} <= set(slots["name"])
    assert len(slots) == 2 * len(variables.query("role == 'variable'"))  # two Adam slots each
    assert int(checkpoint.read("global_step")) == 30
    print(len(variables), "tensors;", len(slots), "of them Adam slots")
    """),
    md("""
    ## Statistics, streamed

    `stats()` reads one tensor at a time (a 2 GB checkpoint never sits in memory whole) and gives
    min, max, mean, std, L2 norm and counts of zeros, NaNs and Infs.
    """),
    code("checkpoint.stats()"),
    md("""
    ## How the weights moved

    `diff` compares two checkpoints; `history` follows every variable across all checkpoints of the
    folder. Plots are easier to read than tables here.
    """),
    code("""
    diff = checkpoint.diff(run.open(10))
    diff[["name", "status", "max_abs_change", "rel_l2_change"]]
    """),
    code("""
    history = run.history(names=["layer1/W", "layer2/W", "layer1/b", "layer2/b"])
    ax = history.pivot(index="step", columns="name", values="l2").plot(marker="o", title="L2 norm by step")
    ax.set_ylabel("L2 norm");
    """),
    check("""
    norms = history.pivot(index="step", columns="name", values="l2")
    assert list(norms.index) == [10, 20, 30]
    assert (norms.diff().dropna().abs() > 0).all().all()  # training moved every weight
    assert set(diff.query("role == 'variable'")["status"]) == {"changed"}
    """),
    md("""
    ## The graph in the `.meta` file

    The `.meta` file is a `MetaGraphDef`: every op of the graph with its inputs, attributes and
    device, plus collections such as `train_op` and the `SaverDef`. Here are the ops by top-level
    name scope:
    """),
    code("""
    meta = checkpoint.meta_graph
    graph = meta.graph
    graph.op_counts(depth=1)
    """),
    code("meta.collections.keys()"),
    md("""
    Two hundred ops for a two-layer network: most of them are the gradients and Adam's updates
    (scope `train`) and the save/restore machinery (scope `save`). `GraphView` draws the graph
    collapsed by name scope: click a scope to open it, an op to see its inputs, outputs and
    attributes; search, trace what an op depends on, colour by op type, device or role. Here
    `layer1` starts open and the path from the inputs to the loss is traced. (A notebook saved
    without its kernel keeps a static picture of the graph.)
    """),
    code("""
    view = tfexplore.GraphView(checkpoint, expanded=["layer1"], height=420)
    upstream = view.trace("loss/mse", "inputs")  # every op the loss depends on
    view
    """),
    check("""
    # The loss depends on both placeholders and on every weight, not on Adam's slots.
    assert {"inputs/x", "inputs/y", "layer1/W", "layer2/W"} <= upstream
    assert not any("Adam" in name for name in upstream)
    detail = view.select("layer1/MatMul")
    assert detail["op"] == "MatMul" and detail["inputs"][0]["tensor"] == "inputs/x:0"
    assert view.to_svg().startswith("<svg")
    """),
    md("""
    ## Tensors by name

    A tensor is named `op_name:output_index`. In graphs written by TensorFlow 2.x, variables are
    *resource* variables: `layer1/W:0` is a handle to the variable, not its value. Fetching it with
    `get_tensor_by_name` gives you a serialized handle; the value comes from a `ReadVariableOp`.
    """),
    code("""
    handle = graph.tensor("layer1/W:0")
    handle
    """),
    code("""
    loss = graph.tensor("loss/mse:0")
    loss
    """),
    check("""
    assert handle.is_resource_handle and handle.value_tensors
    assert handle.dtype == "resource"
    assert loss.dtype == "float32"
    """),
    md("A misspelled name gets suggestions instead of a bare `KeyError`:"),
    code("""
    try:
        graph.tensor("layer1/w:0")
    except tfexplore.TensorNotFoundError as error:
        print(error)
        suggested = error.suggestions
    """),
    check("""
    assert "layer1/W:0" in suggested
    """),
    code('graph.find("adam").head(10)'),
    md("""
    ## A live session: restore, with a report

    Up to here nothing ran. `tfexplore.session(folder)` does what the classic TF1 code does
    (`import_meta_graph` on the latest `.meta`, then `Saver.restore`), after checking that the
    graph's restore op only does what a restore should. It returns a `Session` whose
    `last_restore` says, variable by variable, what was restored from where.
    """),
    code("""
    session = tfexplore.session(folder)
    session
    """),
    code("session.last_restore"),
    check("""
    report = session.last_restore
    assert report.ok and report.counts == {"restored": len(variables)}  # every tensor, slots too
    assert session.global_step == 30
    # The session reads a variable's *value* by its name (not the resource handle):
    assert (session.eval("layer1/W") == checkpoint.read("layer1/W")).all()
    """),
    md("""
    ## Ten more training steps, with the live plot

    `TrainPanel` trains the session from where the checkpoint left off (same `train_op`, same
    Adam slots, `global_step` counting on) and plots the loss as it goes. In JupyterLab you would
    press *Run* and could press *Stop* between two steps; here `panel.run(10)` runs the same ten
    steps synchronously so that the notebook runs top to bottom.
    """),
    code("""
    x, y = regression_data()
    panel = tfexplore.TrainPanel(session, feed={"inputs/x": x, "inputs/y": y}, steps=10)
    steps = panel.run(10)
    panel
    """),
    code("steps"),
    check("""
    # Training resumed at step 31, not 1: global_step and the optimizer state came from the file.
    assert steps["global_step"].tolist() == list(range(31, 41))
    assert session.global_step == 40
    assert (session.eval("layer1/W") != checkpoint.read("layer1/W")).any()
    """),
    md("""
    ## Save, and check what was written

    `session.save(folder)` writes an ordinary TensorFlow checkpoint (`model.ckpt-40` with its
    `.index`, `.data` and `.meta`, and the `checkpoint` state file) into a folder of this notebook:
    `demo_data/resumed`. The files are written under temporary names and renamed into place, so an
    interrupted save never leaves a half-written checkpoint behind. Opening it again is the check.
    """),
    code("""
    prefix = session.save("demo_data/resumed", overwrite=True)  # overwrite: this cell can run twice
    resumed = tfexplore.open("demo_data/resumed")
    resumed.checkpoints[["prefix", "step", "has_meta", "is_latest"]]
    """),
    check("""
    assert resumed.latest.step == 40 and resumed.latest.meta_path.exists()
    assert (resumed.latest.read("layer1/W") == session.eval("layer1/W")).all()
    moved = resumed.latest.diff(checkpoint)  # what ten steps changed
    assert set(moved.query("role == 'variable'")["status"]) == {"changed"}
    session.close()
    """),
    md("""
    ## Next

    - `01-anatomy-of-a-checkpoint`: each file of a checkpoint, checked against TensorFlow's own
      readers, and what `max_to_keep` leaves behind.
    - `02-meta-graphs-and-tensor-names`: the `.meta` file, `op:0` names, handles versus values,
      devices.
    - `03-restore-and-resume-training`: the classic restore-and-resume code next to
      `tfexplore.session`; snapshots and rollback.
    - `04-tf2-checkpoints-savedmodel-keras`: object-based checkpoints, SavedModels, `.keras`/`.h5`.
    - `05-debugging-failed-restores`: the errors people hit, and how to fix them.
    - `tfexplore inspect demo_data/run` prints the summary from a terminal; `tfexplore.explore(path)`
      puts all of the above in one tabbed widget.
    """),
]

# ---------------------------------------------------------------------------------------------
# 01-anatomy-of-a-checkpoint.ipynb
# ---------------------------------------------------------------------------------------------

ANATOMY = [
    md("""
    # Anatomy of a checkpoint

    A TF1 checkpoint is not one file. `Saver.save(sess, "model.ckpt", global_step=30)` writes a
    *prefix*, `model.ckpt-30`, and three files that share it, and it rewrites a fourth file, the
    folder's `checkpoint` state file:

    | file | holds |
    | --- | --- |
    | `checkpoint` | text: which prefix is the latest, and which are kept |
    | `model.ckpt-30.index` | the table of contents: name, dtype, shape and byte position of every tensor |
    | `model.ckpt-30.data-00000-of-00001` | the tensors' bytes, one after the other |
    | `model.ckpt-30.meta` | the graph that was trained (a `MetaGraphDef`) |

    This notebook takes each file in turn, shows it with tfexplore and checks it against
    TensorFlow's own readers (`tf.train.get_checkpoint_state`, `tf.train.list_variables`,
    `tf.train.load_checkpoint`). Then it shows what `max_to_keep` leaves behind.
    """),
    setup("""
    from pathlib import Path

    import numpy as np
    import pandas as pd
    import tensorflow as tf

    import tfexplore
    from tfexplore.demo import make_training_run

    folder = Path("demo_data/run")
    if not (folder / "checkpoint").exists():
        make_training_run(folder)  # the tour's run: checkpoints at steps 10, 20 and 30
    files = pd.DataFrame(
        [(p.name, p.stat().st_size) for p in sorted(folder.iterdir())], columns=["file", "bytes"]
    )
    files
    """),
    md("""
    Notice the sizes: the `.data` file, which holds every number of the model, is under a
    kilobyte; the `.meta` file, which holds the graph, is some forty times larger. For a small
    model the graph outweighs the weights; for a large one it is the other way round.

    ## The `checkpoint` state file

    A few lines of text (a `CheckpointState` proto in text format). `Saver` rewrites it on every
    save; `tf.train.latest_checkpoint(folder)` reads it to find the checkpoint to restore.
    """),
    code("""
    print((folder / "checkpoint").read_text())
    """),
    code("""
    state = tf.train.get_checkpoint_state(folder)
    print("latest:", state.model_checkpoint_path)
    print("kept:  ", list(state.all_model_checkpoint_paths))
    """),
    code("""
    run = tfexplore.open(folder)
    run.checkpoints[["prefix", "step", "size", "has_meta", "listed", "is_latest"]]
    """),
    check("""
    # tfexplore's `listed` and `is_latest` columns say what the state file says.
    latest = run.latest
    assert Path(state.model_checkpoint_path).name == Path(latest.prefix).name == "model.ckpt-30"
    assert [Path(p).name for p in state.all_model_checkpoint_paths] == [
        Path(p).name for p in run.checkpoints.query("listed")["prefix"]
    ]
    assert run.checkpoints["is_latest"].tolist() == [False, False, True]
    """),
    md("""
    ## The `.index` file: the table of contents

    The index is a small sorted table (an SSTable) with one entry per tensor: its name, dtype,
    shape, which data shard holds it, and the `offset` and size of its bytes there. tfexplore reads
    it in pure Python, without TensorFlow, so listing a checkpoint never reads the weights.
    """),
    code("""
    variables = latest.variables
    variables[["name", "role", "dtype", "shape", "nbytes", "shard", "offset", "slot_of"]]
    """),
    md("TensorFlow's own listing, `tf.train.list_variables`, reads the same index:"),
    code("""
    tf_listing = tf.train.list_variables(str(latest.prefix))
    tf_listing
    """),
    check("""
    # Same names, same shapes: the index is the table of contents, whoever reads it.
    assert [name for name, _ in tf_listing] == sorted(variables["name"])
    assert {name: tuple(shape) for name, shape in tf_listing} == dict(
        zip(variables["name"], variables["shape"])
    )
    """),
    md("""
    ## The `.data` file: just the bytes

    Each tensor's bytes sit in the data shard at the offset the index gives, one tensor after
    the other. So the data file is exactly as large as the sum of the tensors' sizes, and a
    tensor can be read with nothing but `numpy.frombuffer`:
    """),
    code("""
    data_file = latest.data_files[0]
    print(data_file.name, data_file.stat().st_size, "bytes; sum of nbytes:", variables["nbytes"].sum())

    row = variables.set_index("name").loc["layer1/W"]
    raw = data_file.read_bytes()[row["offset"] : row["offset"] + row["nbytes"]]
    by_hand = np.frombuffer(raw, dtype=row["dtype"]).reshape(row["shape"])
    by_hand[:2]
    """),
    check("""
    # The .data file holds the tensors and nothing else ...
    assert data_file.stat().st_size == variables["nbytes"].sum()
    # ... and the bytes at the index's offset are the value both readers return.
    reader = tf.train.load_checkpoint(str(latest.prefix))
    assert np.array_equal(by_hand, reader.get_tensor("layer1/W"))
    assert np.array_equal(latest.read("layer1/W"), reader.get_tensor("layer1/W"))
    assert int(latest.read("global_step")) == reader.get_tensor("global_step") == 30
    """),
    md("""
    A large model, or one placed on several devices, is written in several shards
    (`.data-00000-of-00004` ... `.data-00003-of-00004`); the index's `shard` column says which
    holds each tensor. A checkpoint whose data shard was lost can still be listed (the index is
    enough) but not read: tfexplore says so in `notes`.

    ## The `.meta` file: the graph

    The `.meta` file is the graph that was trained, with its collections and the `SaverDef`.
    The checkpoint itself does not need it: restoring into a graph you build again in Python
    reads only `.index` and `.data`. `import_meta_graph` needs it (see notebook 02).
    """),
    code("""
    meta = latest.meta_graph
    meta.summary()
    """),
    check("""
    saver_def = meta.saver_def
    assert saver_def["restore_op"] == "save/restore_all" and saver_def["version"] == "V2"
    assert set(meta.variables["name"]) == set(variables["name"])  # graph and checkpoint agree
    assert latest.meta_path.stat().st_size > 10 * data_file.stat().st_size
    """),
    md("`explain()` puts all of this in prose for the checkpoint in front of you:"),
    code("latest.explain()"),
    md("""
    ## What `max_to_keep` leaves behind

    `Saver(max_to_keep=2)` keeps the two newest checkpoints: on each save it deletes the files of
    the oldest one it remembers and rewrites the state file. Here a counter is saved five times:
    """),
    code("""
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
    """),
    code("""
    print((keep_folder / "checkpoint").read_text())
    kept = tfexplore.open(keep_folder)
    kept.checkpoints[["prefix", "step", "listed", "is_latest"]]
    """),
    check("""
    # Only steps 4 and 5 remain, and the state file lists exactly those.
    assert sorted(kept.checkpoints["step"]) == [4, 5]
    assert not any(keep_folder.glob("model.ckpt-[123].*"))
    state = tf.train.get_checkpoint_state(keep_folder)
    assert [Path(p).name for p in state.all_model_checkpoint_paths] == ["model.ckpt-4", "model.ckpt-5"]
    """),
    md("""
    ### A new `Saver` forgets the old checkpoints

    A `Saver` only deletes checkpoints it wrote itself (it remembers them in memory). Restart a
    script, build a new `Saver(max_to_keep=2)` and save twice more: the state file now lists
    steps 6 and 7, and steps 4 and 5 stay on disk for ever, listed nowhere. Folders of long
    experiments fill up like this. tfexplore shows such *orphans* (`listed` is false) and says so in
    `notes`:
    """),
    code("""
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
    print("\\n".join(kept.notes))
    kept.checkpoints[["prefix", "step", "listed", "is_latest"]]
    """),
    check("""
    table = kept.checkpoints
    assert sorted(table["step"]) == [4, 5, 6, 7]
    assert sorted(table.query("listed")["step"]) == [6, 7]        # what the state file knows
    assert sorted(table.query("not listed")["step"]) == [4, 5]    # orphans, still on disk
    assert any("model.ckpt-4" in note and "not listed" in note for note in kept.notes)
    """),
    md("""
    To let a new `Saver` take over the old ones, call
    `saver.recover_last_checkpoints(state.all_model_checkpoint_paths)` before saving; TF2's
    `tf.train.CheckpointManager` does this by itself (notebook 04).

    ## Summary

    - The prefix names a checkpoint; `.index` lists its tensors, `.data-*` holds their bytes,
      `.meta` holds the graph; the `checkpoint` file names the latest prefix.
    - `tf.train.list_variables` and `tf.train.load_checkpoint` read the same files tfexplore reads.
    - `max_to_keep` deletes only what the same `Saver` wrote.
    """),
]

# ---------------------------------------------------------------------------------------------
# 02-meta-graphs-and-tensor-names.ipynb
# ---------------------------------------------------------------------------------------------

METAGRAPHS = [
    md("""
    # Meta graphs and tensor names

    The `.meta` file that `tf.compat.v1.train.Saver` writes next to each checkpoint is a
    `MetaGraphDef`: the whole graph, so that a checkpoint can be restored without the Python code
    that built it. This notebook opens one with tfexplore and with TensorFlow, then looks at three
    things that puzzle people: tensor names (`op:0`), why `get_tensor_by_name("W:0")` gives a
    *handle* in graphs written by TF 2.x, and devices saved in a graph.
    """),
    setup("""
    from pathlib import Path

    import numpy as np
    import tensorflow as tf

    import tfexplore
    from tfexplore.demo import make_training_run

    tf.get_logger().setLevel("ERROR")  # no deprecation warnings from tf.compat.v1 in the outputs
    v1 = tf.compat.v1

    folder = Path("demo_data/run")
    if not (folder / "checkpoint").exists():
        make_training_run(folder)
    meta = tfexplore.open(folder / "model.ckpt-30.meta")
    meta
    """),
    md("""
    ## What a MetaGraphDef holds

    - `graph_def`: the ops (*nodes*), each with its type, inputs, attributes and device;
    - `collection_def`: named lists that let code find ops again (`train_op`, `variables`, ...);
    - `saver_def`: which ops save and restore the variables;
    - `meta_info_def`: the TensorFlow version and the signatures of the ops used;
    - `signature_def` (SavedModels only): named inputs and outputs.

    The nodes, as a table:
    """),
    code("""
    graph = meta.graph
    graph.nodes[["name", "op", "inputs", "attrs", "output_dtypes", "output_shapes"]].head(12)
    """),
    md("One op, with its attributes read out of the proto:"),
    code('graph.node("layer1/MatMul")'),
    code("meta.collections_table"),
    code("meta.saver_def"),
    md("""
    The raw proto says the same: TensorFlow parses the file into a `MetaGraphDef` whose fields
    are the ones above.
    """),
    code("""
    from tensorflow.core.protobuf import meta_graph_pb2

    proto = meta_graph_pb2.MetaGraphDef()
    proto.ParseFromString(Path(meta.path).read_bytes())
    print(len(proto.graph_def.node), "nodes;", "collections:", sorted(proto.collection_def))
    print("restore op:", proto.saver_def.restore_op_name, "| written by TF", proto.meta_info_def.tensorflow_version)
    """),
    check("""
    assert len(proto.graph_def.node) == len(graph)
    assert sorted(proto.collection_def) == sorted(meta.collections)
    assert proto.saver_def.restore_op_name == meta.saver_def["restore_op"] == "save/restore_all"
    assert meta.train_op.name == "train/Adam"  # what `get_collection("train_op")` will give back
    """),
    md("""
    ## Tensor names: `op_name:output_index`

    An op is named `layer1/MatMul`; its outputs are the tensors `layer1/MatMul:0`, `:1`, ...
    `get_tensor_by_name` needs the `:index`, `get_operation_by_name` must not have it. tfexplore
    says which one you meant:
    """),
    code("""
    try:
        graph.tensor("layer1/MatMul")
    except tfexplore.TensorNotFoundError as error:
        print(error)
    """),
    md("""
    ## `W:0` is a handle, not a value (in graphs written by TF 2.x)

    TF 2.x builds *resource* variables even in `tf.compat.v1` graphs: the op `layer1/W` is a
    `VarHandleOp`, and its output `layer1/W:0` (dtype `resource`) is a handle that points at the
    variable's memory. The value comes out of a `ReadVariableOp` that takes the handle:
    """),
    code("""
    handle_info = graph.tensor("layer1/W:0")
    handle_info
    """),
    md("""
    Let us see it with a real session: import the meta graph, restore the checkpoint, and fetch
    both tensors.
    """),
    code("""
    g = tf.Graph()
    with g.as_default():  # TF1 calls build ops: inside the graph, not eagerly
        saver = v1.train.import_meta_graph(str(meta.path))
        sess = v1.Session(graph=g)
        saver.restore(sess, str(folder / "model.ckpt-30"))

    fetched_handle = sess.run(g.get_tensor_by_name("layer1/W:0"))
    fetched_value = sess.run(g.get_tensor_by_name(handle_info.value_tensors[0]))
    print("layer1/W:0                      ->", type(fetched_handle).__name__, fetched_handle.dtype, fetched_handle.shape)
    print(handle_info.value_tensors[0], "->", fetched_value.dtype, fetched_value.shape)
    """),
    check("""
    # The handle is not the weights: bytes describing where the variable lives, not a (3, 16) float array.
    assert fetched_handle.dtype != np.float32 and fetched_handle.shape != (3, 16)
    assert fetched_value.shape == (3, 16) and fetched_value.dtype == np.float32
    assert np.array_equal(fetched_value, meta.checkpoint.read("layer1/W"))
    sess.close()
    """),
    md("""
    ### Contrast: a reference-variable graph (TF 1.x style)

    Graphs written by TF 1.x hold `VariableV2` ops of dtype `float32_ref`: there `W:0` *is* the
    variable, fetching it gives its value, and `W/read:0` is an `Identity` the graph's consumers
    read. TF 2.x can still build one if resource variables are switched off; we switch them back
    on right after, so that the rest of the kernel is not affected.
    """),
    code("""
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
    """),
    check("""
    ref_tensor = ref_meta.tensor("W:0")
    assert ref_tensor.is_reference and not ref_tensor.is_resource_handle
    assert ref_tensor.dtype == "float32_ref" and ref_meta.node("W").op == "VariableV2"
    assert (ref_value == 1.5).all()  # fetching a ref variable gives its value
    assert handle_info.is_resource_handle and handle_info.dtype == "resource"
    """),
    md("""
    ## Devices and `clear_devices`

    Every op in a graph may carry a device string: `with tf.device("/device:GPU:0")` writes it into
    the NodeDef, and `Saver` saves it in the `.meta` file. Open that file on a machine without a
    GPU and the classic `import_meta_graph(..., clear_devices=False)` fails. Here is a graph pinned
    to a GPU (it ran on this CPU thanks to `allow_soft_placement`, but the device strings stay in
    the file):
    """),
    code("""
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
            saver.save(sess, str(gpu_folder / "model.ckpt"), global_step=1)  # clear_devices defaults to False

    gpu_meta = tfexplore.open(gpu_folder / "model.ckpt-1.meta")
    gpu_meta.graph.nodes["device"].replace("", "(none)").value_counts()
    """),
    md("`GraphView` can colour the ops by device:"),
    code("""
    tfexplore.GraphView(gpu_meta, color_by="device", height=320)
    """),
    md("The classic way, without clearing devices, on this CPU-only machine:"),
    code("""
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
    """),
    md("""
    Notice that TensorFlow's first line blames "a mismatch between the current graph and the
    graph from the checkpoint": the real cause is further down. `tfexplore.session` clears the
    devices by default (as `import_meta_graph(..., clear_devices=True)` does) and says which it
    cleared:
    """),
    code("""
    gpu_session = tfexplore.session(gpu_folder / "model.ckpt-1.meta")
    gpu_session
    """),
    check("""
    assert isinstance(tf_error, tf.errors.InvalidArgumentError)  # the raw restore failed
    assert "/device:GPU:0" in set(gpu_meta.graph.nodes["device"])
    assert "/device:GPU:0" in gpu_session.devices_cleared
    assert gpu_session.eval("total:0") == 12.0  # 2 x 3 weights of 2.0, restored and summed on CPU
    gpu_session.close()
    """),
    md("""
    ## Summary

    - A `.meta` file is a `MetaGraphDef`: nodes, collections, the `SaverDef`, meta info.
    - Tensors are `op:index`; ops have no `:`.
    - With resource variables (TF 2.x), `W:0` is a handle: read the value through a
      `ReadVariableOp` (`graph.tensor("W:0").value_tensors`), or ask `session.eval("W")`.
    - Device strings travel with the graph; clear them to run a GPU graph on a CPU.
    """),
]

# ---------------------------------------------------------------------------------------------
# 03-restore-and-resume-training.ipynb
# ---------------------------------------------------------------------------------------------

RESUME = [
    md("""
    # Restore and resume training

    The classic TF1 workflow, step by step, with the raw TensorFlow calls and `tfexplore.session`
    side by side:

    | step | TensorFlow | tfexplore |
    | --- | --- | --- |
    | load the graph | `saver = tf.compat.v1.train.import_meta_graph("model.ckpt-30.meta")` | `s = tfexplore.session(folder)` |
    | restore | `saver.restore(sess, "model.ckpt-30")` | (done; `s.last_restore` is the report) |
    | find the train op | `tf.compat.v1.get_collection("train_op")[0]` | (found) |
    | step counter | `sess.run(tf.compat.v1.train.get_global_step())` | `s.global_step` |
    | train | `sess.run([train_op, loss], feed_dict)` in a loop | `s.train(10, feed=...)` |
    | early stopping | `Saver.save` to disk and restore | `s.snapshot()`, `s.rollback()` (in memory) |
    | save | `saver.save(sess, prefix, global_step=...)` | `s.save(folder)` |
    """),
    setup("""
    from pathlib import Path

    import numpy as np
    import tensorflow as tf

    import tfexplore
    from tfexplore.demo import make_training_run, regression_data

    tf.get_logger().setLevel("ERROR")
    v1 = tf.compat.v1

    folder = Path("demo_data/run")
    if not (folder / "checkpoint").exists():
        make_training_run(folder)  # steps 10, 20, 30 of a two-layer network trained with Adam
    x, y = regression_data()       # the data it was trained on
    feed = {"inputs/x:0": x, "inputs/y:0": y}
    """),
    md("""
    ## The raw TensorFlow way

    `import_meta_graph` rebuilds the graph from the `.meta` file and returns a `Saver` for it;
    `restore` runs the graph's restore op, which reads every variable (weights, Adam's slots,
    `global_step`) from the checkpoint. The train op and the loss are found again through the
    collections the training script filled.
    """),
    code("""
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
    """),
    md("""
    ## The same with `tfexplore.session`

    One call imports the latest `.meta` (after checking that its restore op does nothing but
    restore), restores the latest checkpoint and finds `train_op`, the loss and `global_step`.
    The restore report lists every variable:
    """),
    code("""
    s = tfexplore.session(folder)
    s.last_restore
    """),
    code("""
    resumed = s.train(10, feed={"inputs/x": x, "inputs/y": y})
    resumed
    """),
    check("""
    # The same graph, the same checkpoint, the same data: the same ten losses as the raw loop.
    assert s.last_restore.ok and s.global_step == 40
    assert resumed["global_step"].tolist() == list(range(31, 41))
    assert np.allclose(resumed["loss"], raw_losses, rtol=1e-5)
    """),
    md("""
    ## Why the optimizer's slots matter

    Adam keeps, per weight, running averages of the gradient (`W/Adam`, *m*) and of its square
    (`W/Adam_1`, *v*), and, for its bias correction, `beta1_power`: it starts at β₁ = 0.9 and is
    multiplied by 0.9 after each step, so after *n* steps it is 0.9<sup>n+1</sup>. They are in
    the checkpoint and were restored with the weights, so training continued where it stopped.
    Restoring only the weights (a `Saver(var_list=weights)`) would restart Adam with *m* = *v* = 0
    and `beta1_power` = 0.9: the first steps after resuming would be unusually large.
    """),
    code("""
    checkpoint = tfexplore.open(folder).latest
    print("beta1_power in the checkpoint (step 30):", checkpoint.read("train/beta1_power"), " 0.9**31 =", 0.9**31)
    print("beta1_power in the session   (step 40):", s.eval("train/beta1_power"), " 0.9**41 =", 0.9**41)
    checkpoint.slots
    """),
    check("""
    assert np.isclose(checkpoint.read("train/beta1_power"), 0.9**31)
    assert np.isclose(s.eval("train/beta1_power"), 0.9**41)  # it went on counting from step 30
    assert len(checkpoint.slots) == 8 and set(checkpoint.slots["slot"]) == {"Adam m", "Adam v"}
    """),
    md("""
    ## Snapshot and rollback: early stopping

    Training on a small, noisy sample eventually fits its noise: the loss on held-out data stops
    falling and rises. Early stopping keeps the best weights seen so far and goes back to them at
    the end. The classic way saves a checkpoint to disk each time the validation loss improves
    and restores it; `s.snapshot()` copies every variable into memory (optimizer state and
    `global_step` included) and `s.rollback()` puts them back.

    Here the live session first goes back to the checkpoint of step 10 (`s.restore(10)`: a
    step number means that checkpoint of the session's folder), then trains on only 32 examples
    with noisy targets, and is validated on 256 others every 10 steps.
    """),
    code("""
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
    print(f"best validation loss {best_loss:.4f} at step {best_step}; now at step {final_step}, loss {val_loss:.4f}")
    """),
    code("""
    import pandas as pd

    curve = pd.DataFrame(curve, columns=["global_step", "validation loss"]).set_index("global_step")
    train_curve = pd.concat(training).set_index("global_step")["loss"].rename("training loss (32 noisy examples)")
    ax = pd.concat([train_curve, curve], axis=1).plot(logy=True, style=["-", "o-"], title="Early stopping")
    ax.axvline(best_step, color="grey", linestyle=":");
    """),
    code("""
    s.rollback("best")
    print("after rollback: step", s.global_step, "validation loss", float(s.eval("loss/mse", feed=validation)))
    """),
    check("""
    # Training went past its best point, and rolling back restores every variable of the
    # snapshot: the best validation loss and its step, exactly.
    assert best_step < final_step and best_loss < val_loss
    assert s.global_step == best_step
    assert float(s.eval("loss/mse", feed=validation)) == best_loss
    assert best_loss <= min(loss for _, loss in curve.itertuples())
    assert s.snapshots == ["best"]
    """),
    md("""
    ## Save, and restore with plain TensorFlow

    `s.save(folder)` writes an ordinary checkpoint named by the current `global_step`. Anything
    that reads TF checkpoints can use it; here the raw `import_meta_graph` + `restore` again.
    """),
    code("""
    saved = s.save("demo_data/early_stopped", overwrite=True)
    print(saved)

    graph = tf.Graph()
    with graph.as_default():
        saver = v1.train.import_meta_graph(saved + ".meta")
        loss = v1.get_collection("loss")[0]
        global_step = v1.train.get_global_step()
    with v1.Session(graph=graph) as sess:
        saver.restore(sess, saved)
        reloaded_step, reloaded_loss = sess.run([global_step, loss], {"inputs/x:0": x_val, "inputs/y:0": y_val})
    print("plain TensorFlow reads step", reloaded_step, "validation loss", reloaded_loss)
    """),
    check("""
    assert reloaded_step == best_step and reloaded_loss == best_loss
    assert tf.train.latest_checkpoint("demo_data/early_stopped") == saved
    s.close()
    """),
    md("""
    ## Summary

    - `import_meta_graph` + `restore` + the `train_op` collection is the whole TF1 resume recipe;
      `tfexplore.session` does it in one call and reports what it restored.
    - Resume with the optimizer's slots and `global_step`, not only the weights.
    - `snapshot`/`rollback` are in memory and cover every variable; `save` writes a normal
      checkpoint.
    """),
]

# ---------------------------------------------------------------------------------------------
# 04-tf2-checkpoints-savedmodel-keras.ipynb
# ---------------------------------------------------------------------------------------------

TF2 = [
    md("""
    # TF2 checkpoints, SavedModels and Keras files

    TensorFlow 2 saves *objects*, not graphs. This notebook makes each TF2 artifact and opens it
    with tfexplore and with TensorFlow:

    1. `tf.train.Checkpoint` and `tf.train.CheckpointManager`: object-based checkpoints and the
       object graph stored in them;
    2. `tf.saved_model.save` of a `tf.Module`, and Keras `model.export`: SavedModels and their
       signatures;
    3. Keras `.keras` zips and legacy `.h5` files.
    """),
    setup("""
    from pathlib import Path

    import absl.logging
    import keras
    import numpy as np
    import tensorflow as tf

    import tfexplore

    tf.get_logger().setLevel("ERROR")
    absl.logging.set_verbosity("error")  # Keras' "HDF5 is legacy" warning goes through absl
    keras.utils.set_random_seed(0)
    data = Path("demo_data/tf2")
    """),
    md("""
    ## Object-based checkpoints

    A `tf.Module` with two variables, trained a few steps with a Keras Adam optimizer. The
    checkpoint holds whatever objects you pass to `tf.train.Checkpoint`, under the names you give
    them (`model=`, `optimizer=`, `step=`); `CheckpointManager` numbers the saves and keeps the
    last `max_to_keep`.
    """),
    code("""
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
        optimizer.apply_gradients(zip(tape.gradient(loss, net.trainable_variables), net.trainable_variables))
        step.assign_add(1)
        manager.save(checkpoint_number=int(step))

    sorted(p.name for p in (data / "ckpts").iterdir())
    """),
    md("""
    Same files as TF1 (`.index`, `.data`, a `checkpoint` state file), no `.meta`, and only the
    last three saves. The tensors are named by their *path in the object graph*:
    `model/W/.ATTRIBUTES/VARIABLE_VALUE` is the variable reached from the root through the
    attribute `model` and then `W`. The variable's own `name="W"` is not used.
    """),
    code("""
    run = tfexplore.open(data / "ckpts")
    latest = run.latest
    latest.variables[["name", "role", "shape", "object_path", "slot_of"]]
    """),
    md("""
    The extra entry `_CHECKPOINTABLE_OBJECT_GRAPH` is the object graph itself (a serialized
    `TrackableObjectGraph`): which object holds which, and which optimizer slot belongs to which
    variable. tfexplore decodes it:
    """),
    code('latest.object_graph[["id", "path", "kind", "aliases", "children"]]'),
    code("""
    tf.train.list_variables(manager.latest_checkpoint)
    """),
    check("""
    assert latest.style == "object_based" and latest.step == 5 and latest.meta_graph is None
    assert sorted(run.checkpoints["step"]) == [3, 4, 5]  # max_to_keep=3
    assert [name for name, _ in tf.train.list_variables(manager.latest_checkpoint)] == sorted(latest.variables["name"])
    # Read by object path; the key TF uses is the path plus /.ATTRIBUTES/VARIABLE_VALUE.
    reader = tf.train.load_checkpoint(manager.latest_checkpoint)
    assert np.array_equal(latest.read("model/W"), reader.get_tensor("model/W/.ATTRIBUTES/VARIABLE_VALUE"))
    assert np.array_equal(latest.read("model/W"), net.W.numpy())
    # Adam's two slots of W are tied to W through the object graph, not through their names.
    slots_of_W = latest.variables.query("slot_of == 'model/W/.ATTRIBUTES/VARIABLE_VALUE'")
    assert len(slots_of_W) == 2
    """),
    md("""
    Restoring matches by path, into objects built again in Python. `restore` is lazy: values are
    assigned as the objects that need them are created, and the returned status tells you what
    was matched.
    """),
    code("""
    fresh = Net()
    status = tf.train.Checkpoint(model=fresh).restore(manager.latest_checkpoint)
    status.assert_existing_objects_matched()  # every object we built found its values
    print("W restored:", np.array_equal(fresh.W.numpy(), net.W.numpy()))
    """),
    check("""
    assert np.array_equal(fresh.W.numpy(), latest.read("model/W"))
    """),
    md("""
    ## SavedModel: graphs plus signatures plus the weights

    `tf.saved_model.save(net, folder)` traces the module's `tf.function`s into graphs and writes a
    folder: `saved_model.pb` (the graphs, the *signatures*, and the object graph that
    `tf.saved_model.load` rebuilds) and `variables/` (an ordinary checkpoint).
    """),
    code("""
    tf.saved_model.save(net, str(data / "module"))
    module = tfexplore.open(data / "module")
    module
    """),
    code("module.signatures"),
    code('module.variables[["name", "object_path", "shape", "trainable"]]'),
    code("""
    loaded = tf.saved_model.load(str(data / "module"))
    serve = loaded.signatures["serving_default"]
    print(serve.structured_input_signature)
    print(serve.structured_outputs)
    """),
    check("""
    assert module.writer == "tf2" and module.tags == [["serve"]]
    inputs = module.signatures.query("signature == 'serving_default' and direction == 'input'")
    assert inputs["key"].tolist() == ["x"] and inputs["shape"].tolist() == [(None, 3)]
    assert set(module.signatures["signature"]) - {"__saved_model_init_op"} == set(loaded.signatures)
    # The signature computes what the module computes, with the weights from variables/.
    assert np.allclose(serve(x=x)["output_0"], net(x))
    assert np.array_equal(module.read("W"), net.W.numpy())
    """),
    md("""
    ## Keras: `.keras`, `.h5` and `model.export`

    A small Keras model, compiled and fitted for two epochs so that the optimizer has state, then
    saved three ways: the native `.keras` zip, the legacy full-model `.h5`, and `model.export`, a
    SavedModel for serving (inference only).
    """),
    code("""
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(8, activation="relu", name="hidden"), keras.layers.Dense(1, name="out")]
    )
    model.compile(optimizer="adam", loss="mse")
    features = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    model.fit(features, features[:, :1] ** 2, epochs=2, verbose=0)

    model.save(data / "model.keras")
    model.save(data / "model.h5")
    model.export(str(data / "export"), verbose=False)

    keras_file = tfexplore.open(data / "model.keras")
    keras_file
    """),
    code("keras_file.layers"),
    code('keras_file.weights[["name", "layer", "shape", "role", "slot", "slot_of"]]'),
    md("""
    A `.keras` file is a zip: `config.json` (the architecture), `metadata.json` and
    `model.weights.h5`, where Keras 3 stores weights by position (`vars/0`, `vars/1`); tfexplore
    names them the way Keras does. The legacy `.h5` holds the same model in one HDF5 file, its
    weights under `model_weights/<layer>/` with their full Keras 3 path (`sequential/hidden/kernel`):
    """),
    code("keras_file.members"),
    code("""
    h5_file = tfexplore.open(data / "model.h5")
    h5_file.explain()
    """),
    check("""
    assert keras_file.format == "keras_v3" and h5_file.format == "h5_model"
    assert {"config.json", "metadata.json", "model.weights.h5"} <= set(keras_file.members["name"])
    kernel = model.get_layer("hidden").kernel.numpy()
    assert np.array_equal(keras_file.read("hidden/kernel"), kernel)
    assert np.array_equal(h5_file.read("sequential/hidden/kernel"), kernel)  # the .h5 keeps the full path
    assert keras_file.optimizer_class == "Adam"
    assert keras_file.layers.query("name == 'hidden'")["params"].item() == 3 * 8 + 8
    """),
    md("""
    `model.export` writes a SavedModel for serving: a `serve` endpoint (and `serving_default`),
    the weights, and no optimizer.
    """),
    code("""
    export = tfexplore.open(data / "export")
    export.signatures.query("direction != 'output' or signature == 'serve'")
    """),
    check("""
    assert export.writer == "keras3_export"
    assert {"serve", "serving_default"} <= set(export.signatures["signature"])
    weights = export.variables.query("role == 'variable'")
    assert set(weights["shape"]) == {(3, 8), (8,), (8, 1), (1,)}  # kernels and biases ...
    assert weights["slot_of"].isna().all()                          # ... and no optimizer state
    """),
    md("""
    ## Summary

    | artifact | written by | tensors named by | graph? |
    | --- | --- | --- | --- |
    | object-based checkpoint | `tf.train.Checkpoint`, `CheckpointManager` | object path + `/.ATTRIBUTES/VARIABLE_VALUE` | no (object graph only) |
    | SavedModel | `tf.saved_model.save`, `model.export` | object path (in `variables/`) | yes, per signature |
    | `.keras` | `model.save("x.keras")` | position (`vars/0`) in HDF5 | no (JSON config) |
    | `.h5` | `model.save("x.h5")` (legacy) | layer/weight name in HDF5 | no (JSON config) |

    `tfexplore.open` reads each without running it; `explain()` says what each file holds.
    """),
]

# ---------------------------------------------------------------------------------------------
# 05-debugging-failed-restores.ipynb
# ---------------------------------------------------------------------------------------------

DEBUGGING = [
    md("""
    # Debugging failed restores

    A restore fails when the graph in front of you is not the graph that was saved: a variable
    scope was renamed, a layer changed size, the model was rebuilt with other names. TensorFlow
    stops at the first problem with a long message; tfexplore compares every variable with the
    checkpoint, says what does not fit, proposes a fix, and writes the TensorFlow code for it.

    The checkpoint: a small network saved under the scope `model`.
    """),
    setup("""
    from pathlib import Path

    import numpy as np
    import tensorflow as tf

    import tfexplore

    tf.get_logger().setLevel("ERROR")
    v1 = tf.compat.v1


    def build(scope="model", hidden=8, outputs=1, names=("dense/kernel", "dense/bias", "out/kernel")):
        \"\"\"A two-layer network in a fresh tf.Graph; the arguments make it differ from the saved one.\"\"\"
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
        \"\"\"The first line of a TensorFlow error and the lines holding a keyword (the rest is traceback).\"\"\"
        lines = str(error).splitlines()
        return "\\n".join([f"{type(error).__name__}: {lines[0]}"] + [line for line in lines[1:] if any(k in line for k in keywords)])


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
    """),
    md("""
    ## 1. A key not found: the scope was renamed

    The code was refactored and the scope is now `net`. `Saver` looks for `net/dense/bias` in a
    checkpoint that holds `model/dense/bias`. TensorFlow's own error first:
    """),
    code("""
    renamed = build(scope="net")
    with renamed.as_default():
        saver = v1.train.Saver()
        try:
            with v1.Session(graph=renamed) as sess:
                saver.restore(sess, prefix)
        except tf.errors.NotFoundError as error:
            tf_message = tf_error_lines(error, "not found in checkpoint")
    print(tf_message)
    """),
    md("""
    It names one key and blames "a Variable name or other graph key that is missing". tfexplore
    checks every variable before restoring anything, and its error carries the full report and
    the session (still usable):
    """),
    code("""
    try:
        tfexplore.session(renamed, prefix)
    except tfexplore.RestoreMismatchError as error:
        print(error)
        report, s = error.report, error.session
    report
    """),
    md("""
    Notice the `only_in_checkpoint` rows: the keys nobody asked for are exactly the missing ones
    under another prefix, so the report proposes `prefix_rewrite={"model/": "net/"}`.
    `plan_restore` shows what a restore would do without changing anything; then `restore` does it.
    """),
    code("""
    print("proposed:", report.proposed_prefix_rewrite)
    plan = s.plan_restore(prefix_rewrite=report.proposed_prefix_rewrite)
    print(plan)
    fixed = s.restore(prefix_rewrite=report.proposed_prefix_rewrite)
    fixed.mapping
    """),
    check("""
    assert "Key net/" in tf_message and "not found in checkpoint" in tf_message  # TF names one key
    assert report.counts == {"missing_in_checkpoint": 3, "only_in_checkpoint": 3}  # tfexplore: all of them
    assert report.proposed_prefix_rewrite == {"model/": "net/"}
    assert plan.ok and not plan.applied and fixed.ok and fixed.applied
    assert np.array_equal(s.eval("net/dense/kernel"), saved.read("model/dense/kernel"))
    s.close()
    """),
    md("""
    ## 2. A shape mismatch: a new output layer

    Fine-tuning the network for two outputs instead of one: `out/kernel` is now `(8, 2)`. The
    classic TF1 recipe initializes every variable, then restores the ones that fit. What does
    plain `Saver.restore` say about the head that does not fit?
    """),
    code("""
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
    """),
    md("""
    Nothing. With TF 2.x's resource variables, `Saver.restore` assigns the `(8, 1)` tensor to the
    `(8, 2)` variable, which silently changes shape: the error, if any, shows up later and far
    from its cause (here the model just outputs one column instead of two). Graphs of TF 1.x
    reference variables at least failed with `Assign requires shapes of both tensors to match`.
    """),
    md("""
    tfexplore compares shapes before restoring anything. Hand it your own initialized session:
    the report shows both shapes, and `partial=True` restores what fits and leaves the rest as
    your initializer set it.
    """),
    code("""
    sess.run(init)  # back to fresh random weights of the declared shapes
    try:
        s = tfexplore.session(sess, prefix)
    except tfexplore.RestoreMismatchError as error:
        print(error)
        s = error.session
    head_before = s.eval("model/out/kernel")
    partial = s.restore(partial=True)
    partial
    """),
    check("""
    assert head_shape == (8, 1) and output_shape == (5, 1)  # plain TF: silently the wrong shape
    assert partial.counts == {"restored": 2, "shape_mismatch": 1}
    mismatch = partial.problems.iloc[0]
    assert mismatch["graph_name"] == "model/out/kernel"
    assert mismatch["graph_shape"] == (8, 2) and mismatch["checkpoint_shape"] == (8, 1)
    assert np.array_equal(s.eval("model/dense/kernel"), saved.read("model/dense/kernel"))  # restored
    assert np.array_equal(s.eval("model/out/kernel"), head_before)                          # left as initialized
    """),
    md("""
    `as_code()` writes the equivalent TensorFlow: a `Saver` over the variables that fit, and the
    same as an `assignment_map` for `init_from_checkpoint`. It runs as is, in your own session:
    """),
    code("""
    code = partial.as_code()
    print(code)
    """),
    code("""
    with two_outputs.as_default():
        sess.run(init)  # start again from fresh random weights
        exec(code.split("# or,")[0], {"sess": sess})  # the Saver part, in plain TensorFlow
        kernel = [v for v in v1.global_variables() if v.op.name == "model/dense/kernel"][0]
        restored_by_code = sess.run(kernel)
    sess.close()
    """),
    check("""
    assert "tf.compat.v1.train.Saver(var_list=" in code and "model/out/kernel" not in code.split("# or,")[0]
    assert np.array_equal(restored_by_code, saved.read("model/dense/kernel"))
    """),
    md("""
    ## 3. A model built differently

    Someone rebuilt the network with other names (`encoder/W`, `encoder/b`, `head/W`, no common
    prefix to rewrite). The report matches the leftover checkpoint keys to the unmatched variables
    by shape and dtype and proposes a `mapping` (a `Saver` `var_list`, `{checkpoint key:
    variable}`). Check it before using it: two variables of the same shape could be swapped.
    """),
    code("""
    rebuilt = build(scope="", names=("encoder/W", "encoder/b", "head/W"))
    try:
        tfexplore.session(rebuilt, prefix)
    except tfexplore.RestoreMismatchError as error:
        report, s = error.report, error.session
    report.proposed_mapping
    """),
    code("""
    mapped = s.restore(mapping=report.proposed_mapping)
    mapped
    """),
    check("""
    assert report.proposed_mapping == {
        "model/dense/kernel": "encoder/W", "model/dense/bias": "encoder/b", "model/out/kernel": "head/W"
    }
    assert mapped.ok and mapped.counts == {"restored": 3}
    assert np.array_equal(s.eval("head/W"), saved.read("model/out/kernel"))
    s.close()
    """),
    md("""
    ## 4. A variable the checkpoint never had

    A new layer (say a learned output scale) has nothing to restore from. With `partial=True`
    the report lists it as `missing_in_checkpoint` and everything else is restored; initialize the
    new variable yourself (here: your own session, initialized before the restore).
    """),
    code("""
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
    """),
    check("""
    assert report.counts == {"restored": 3, "missing_in_checkpoint": 1}
    assert report.problems["graph_name"].tolist() == ["model/out/scale"]
    assert s.eval("model/out/scale") == 1.0  # kept its initial value
    sess.close()
    """),
    md("""
    ## Summary

    | TensorFlow says | what happened | fix |
    | --- | --- | --- |
    | `Key net/... not found in checkpoint` | scope renamed | `restore(prefix_rewrite={"model/": "net/"})` |
    | nothing (resource variables), or `Assign requires shapes ...` (ref variables) | a layer changed size | `restore(partial=True)` after initializing |
    | `Key ... not found` for every variable | rebuilt with other names | `restore(mapping=report.proposed_mapping)` |
    | `Key ... not found` for one new variable | a new layer | `partial=True`, initialize it yourself |

    In every case `plan_restore(...)` shows the outcome without changing a variable, and
    `report.as_code()` gives the same restore in plain TensorFlow.
    """),
]

NOTEBOOKS = {
    "tour.ipynb": TOUR,
    "01-anatomy-of-a-checkpoint.ipynb": ANATOMY,
    "02-meta-graphs-and-tensor-names.ipynb": METAGRAPHS,
    "03-restore-and-resume-training.ipynb": RESUME,
    "04-tf2-checkpoints-savedmodel-keras.ipynb": TF2,
    "05-debugging-failed-restores.ipynb": DEBUGGING,
}


def build(name: str, cells: list) -> nbformat.NotebookNode:
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    notebook.metadata["language_info"] = {"name": "python"}
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"{Path(name).stem[:20]}-{index:02d}"
    nbformat.validate(notebook)
    return notebook


def main() -> None:
    for name, cells in NOTEBOOKS.items():
        nbformat.write(build(name, cells), HERE / name)
        print("wrote", HERE / name)


if __name__ == "__main__":
    main()
