"""Checkpoint surgery on real cases: a Google-style TF1 BERT checkpoint converted for a Keras
model, a scope renamed, a layer widened (refused), Momentum moved to Adam, a partitioned
variable merged; each written checkpoint restored by plain TensorFlow."""

from __future__ import annotations

import hashlib
import shutil
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import tfexplore
from tfexplore import demo
from tfexplore.errors import RewriteError

tf = pytest.importorskip("tensorflow")
v1 = tf.compat.v1


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(Path(folder).iterdir())
        if p.is_file()
    }


# == fixtures ==================================================================================
@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    return demo.make_bert_checkpoint(tmp_path_factory.mktemp("bert"))


def _tf1_run(
    folder: Path,
    *,
    optimizer: str = "adam",
    hidden: int = 16,
    steps: int = 3,
    scope: str = "layer1",
    partitions: int = 0,
) -> Path:
    """A small TF1 regression graph trained a few steps and saved with its .meta."""
    folder.mkdir(parents=True, exist_ok=True)
    x_data, y_data = demo.regression_data(n=32)
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(0)
        x = v1.placeholder(tf.float32, [None, 3], name="x")
        y = v1.placeholder(tf.float32, [None, 1], name="y")
        with v1.variable_scope(scope):
            partitioner = v1.fixed_size_partitioner(partitions) if partitions else None
            w1 = v1.get_variable("W", [3, hidden], partitioner=partitioner)
            b1 = v1.get_variable("b", [hidden], initializer=v1.zeros_initializer())
        with v1.variable_scope("layer2"):
            w2 = v1.get_variable("W", [hidden, 1])
            b2 = v1.get_variable("b", [1], initializer=v1.zeros_initializer())
        h = tf.nn.relu(tf.matmul(x, w1) + b1)
        loss = tf.reduce_mean((tf.matmul(h, w2) + b2 - y) ** 2)
        step = v1.train.get_or_create_global_step()
        if optimizer == "adam":
            opt = v1.train.AdamOptimizer(0.01)
        else:
            opt = v1.train.MomentumOptimizer(0.01, 0.9)
        train = opt.minimize(loss, global_step=step)
        saver = v1.train.Saver()
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            for _ in range(steps):
                session.run(train, {x: x_data, y: y_data})
            prefix = saver.save(session, str(folder / "model.ckpt"), global_step=step)
    return Path(prefix)


def _restore_tf1(prefix: Path) -> dict[str, np.ndarray]:
    """Plain TensorFlow: import the written .meta and restore with its Saver."""
    graph = tf.Graph()
    with graph.as_default():
        saver = v1.train.import_meta_graph(f"{prefix}.meta")
        with v1.Session(graph=graph) as session:
            saver.restore(session, str(prefix))
            variables = v1.global_variables()
            return {v.op.name: value for v, value in zip(variables, session.run(variables))}


# == BERT (Google's TF1 names) -> Keras ========================================================
def test_bert_checkpoint_converted_for_a_keras_model_restores_identical_values(bert, tmp_path):
    model = demo.make_bert_keras_model()
    source = tfexplore.open(bert)
    # the failed restore that starts it all: Keras finds none of Google's names
    with pytest.raises(AssertionError):
        tf.train.Checkpoint(model=model).restore(str(bert)).assert_existing_objects_matched()
    before = _digest(bert.parent)
    plan = source.rewrite(to=model)
    truth = demo.bert_keras_names()
    proposed = dict(zip(plan.table["source"], plan.table["target"]))
    assert {key: proposed[key] for key in truth} == truth
    assert plan.ok, plan.problems
    slots = plan.table[plan.table["role"] == "slot"]
    assert len(slots) == 2 * len(truth) and set(slots["action"]) == {"drop"}
    report = plan.report
    assert "78 slots dropped: the target has no optimizer state" in set(report["message"])
    targets = plan.targets.set_index("target")
    assert targets["filled_by"].notna().all() and len(targets) == len(model.weights) + 1
    assert targets.loc["save_counter", "filled_by"] == "init"  # restore() asks for one

    written = plan.write(tmp_path / "converted" / "model.ckpt")
    assert _digest(bert.parent) == before  # the source is never touched
    fresh = demo.make_bert_keras_model()
    status = tf.train.Checkpoint(model=fresh).restore(str(written.prefix))
    status.assert_existing_objects_matched()
    weights = {w.path: w.numpy() for w in fresh.weights}
    for key, path in truth.items():
        np.testing.assert_array_equal(weights[path], source.read(key), err_msg=key)


def test_bert_plan_exports_agree_with_the_written_checkpoint(bert, tmp_path):
    model = demo.make_bert_keras_model()
    plan = tfexplore.open(bert).rewrite(to=model)
    truth = demo.bert_keras_names()
    assert plan.assignment_map() == truth
    assert plan.var_list() == truth
    # the Keras recipe, run as it is, puts the same values into a fresh model
    fresh = demo.make_bert_keras_model()
    weights_file = str(tmp_path / "bert.weights.h5")
    exec(plan.keras_recipe(weights_file=weights_file), {"model": fresh})  # noqa: S102
    loaded = demo.make_bert_keras_model()
    loaded.load_weights(weights_file)  # Keras's own loader takes it from there
    for a, b in zip(loaded.weights, fresh.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    weights = {w.path: w.numpy() for w in fresh.weights}
    reader = tf.train.load_checkpoint(str(bert))
    for key, path in truth.items():
        np.testing.assert_array_equal(weights[path], reader.get_tensor(key))
    # as_code() writes, with plain TensorFlow, a checkpoint the model restores
    code = plan.as_code(destination=str(tmp_path / "plain" / "model.ckpt"))
    other = demo.make_bert_keras_model()
    exec(code, {"model": other})  # noqa: S102
    restored = demo.make_bert_keras_model()
    tf.train.Checkpoint(model=restored).restore(
        str(tmp_path / "plain" / "model.ckpt")
    ).assert_existing_objects_matched()
    for a, b in zip(restored.weights, fresh.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_a_plan_with_problems_writes_nothing_and_says_why(bert, tmp_path):
    model = demo.make_bert_keras_model()
    plan = tfexplore.open(bert).rewrite(to=model)
    plan.set("bert/pooler/dense/kernel", target="layer_0_query/kernel")
    problems = plan.problems
    assert "collision" in set(problems["check"])
    assert "not_filled" in set(problems["check"])  # pooler/kernel is left without a value
    with pytest.raises(RewriteError) as caught:
        plan.write(tmp_path / "out" / "model.ckpt")
    assert "nothing was written" in str(caught.value)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    assert not caught.value.report.empty
    # fixed in the table, the plan is checked again and writes
    plan.set("bert/pooler/dense/kernel", target="pooler/kernel")
    plan.set("bert/encoder/layer_0/attention/self/query/kernel", target="layer_0_query/kernel")
    assert plan.ok
    # editing the DataFrame itself works the same
    rows = plan.table["source"] == "bert/pooler/dense/bias"
    plan.table.loc[rows, "action"] = "drop"
    assert set(plan.problems["check"]) == {"not_filled"}
    assert plan.problems["target"].tolist() == ["pooler/bias"]


# == TF1: a scope renamed ======================================================================
def test_a_scope_renamed_with_its_slots_restores_into_the_renamed_graph(tmp_path):
    old = _tf1_run(tmp_path / "old")
    new_graph = _tf1_run(tmp_path / "new", scope="encoder/dense", steps=0)
    source = tfexplore.open(old)
    plan = source.rewrite(scope={"layer1": "encoder/dense"}, to=f"{new_graph}.meta")
    table = plan.table.set_index("source")
    assert table.loc["layer1/W", "target"] == "encoder/dense/W"
    assert table.loc["layer1/W/Adam_1", "target"] == "encoder/dense/W/Adam_1"  # slot followed
    assert plan.ok, plan.problems
    written = plan.write(tmp_path / "out" / "model.ckpt")
    assert Path(f"{written.prefix}.meta").is_file()
    values = _restore_tf1(written.prefix)
    reader = tf.train.load_checkpoint(str(old))
    assert np.array_equal(values["encoder/dense/W"], reader.get_tensor("layer1/W"))
    assert np.array_equal(values["encoder/dense/W/Adam"], reader.get_tensor("layer1/W/Adam"))
    assert values["global_step"] == reader.get_tensor("global_step") == 3
    # the same rename without a target: a name-based checkpoint with the new names
    plain = source.rewrite(prefix={"layer1/": "encoder/dense/"}).write(tmp_path / "p" / "m.ckpt")
    assert set(tf.train.load_checkpoint(str(plain.prefix)).get_variable_to_shape_map()) == {
        k.replace("layer1/", "encoder/dense/") for k in reader.get_variable_to_shape_map()
    }


def test_drop_and_regex_rules_and_a_function(tmp_path):
    prefix = _tf1_run(tmp_path / "run")
    source = tfexplore.open(prefix)
    plan = source.rewrite(drop="Adam", regex={r"^layer(\d)/": r"block\1/"})
    table = plan.table.set_index("source")
    assert table.loc["layer1/W/Adam", "action"] == "drop"
    assert table.loc["layer2/b", "target"] == "block2/b"
    assert table.loc["beta1_power", "action"] == "keep"
    plan = source.rewrite(
        lambda name: None if "beta" in name else name.upper(), drop_optimizer=True
    )
    table = plan.table.set_index("source")
    assert table.loc["layer1/W", "target"] == "LAYER1/W"
    assert table.loc["layer1/W/Adam", "action"] == "drop"
    assert table.loc["beta2_power", "action"] == "drop"


# == a layer widened: refused ==================================================================
def test_a_wider_layer_is_refused_with_the_reason(tmp_path):
    old = _tf1_run(tmp_path / "old", hidden=16)
    wide = _tf1_run(tmp_path / "wide", hidden=32, steps=0)
    plan = tfexplore.open(old).rewrite(to=f"{wide}.meta")
    problems = plan.problems.set_index("source")
    message = problems.loc["layer1/W", "message"]
    assert "wider" in message and "axis 1: 32 > 16" in message and "Refused" in message
    assert problems.loc["layer1/W", "check"] == "shape"
    with pytest.raises(RewriteError):
        plan.write(tmp_path / "out" / "model.ckpt")
    assert not Path(f"{tmp_path}/out/model.ckpt.index").exists()


# == Momentum -> Adam ==========================================================================
def test_momentum_moved_to_adam_drops_the_slots_and_starts_adam_fresh(tmp_path):
    old = _tf1_run(tmp_path / "momentum", optimizer="momentum")
    adam = _tf1_run(tmp_path / "adam", optimizer="adam", steps=0)
    plan = tfexplore.open(old).rewrite(to=f"{adam}.meta")
    table = plan.table.set_index("source")
    assert table.loc["layer1/W/Momentum", "action"] == "drop"
    assert "optimizer differs" in table.loc["layer1/W/Momentum", "why"]
    report = plan.report
    notes = report[report["check"] == "optimizer"]["message"].tolist()
    assert notes and notes[0].startswith("optimizer changed: momentum -> adam")
    assert plan.ok, plan.problems
    written = plan.write(tmp_path / "out" / "model.ckpt")
    values = _restore_tf1(written.prefix)
    reader = tf.train.load_checkpoint(str(old))
    assert np.array_equal(values["layer1/W"], reader.get_tensor("layer1/W"))
    assert not values["layer1/W/Adam"].any() and not values["layer1/W/Adam_1"].any()
    assert values["beta1_power"] == pytest.approx(0.9)
    assert values["beta2_power"] == pytest.approx(0.999)


# == a partitioned variable merged =============================================================
def test_a_partitioned_variable_is_merged_into_one(tmp_path):
    parted = _tf1_run(tmp_path / "parted", partitions=3, hidden=6)
    whole = _tf1_run(tmp_path / "whole", hidden=6, steps=0)
    source = tfexplore.open(parted)
    assert int(source.variables.set_index("name").loc["layer1/W", "partitions"]) == 3
    plan = source.rewrite(to=f"{whole}.meta")
    assert plan.ok, plan.problems
    written = plan.write(tmp_path / "out" / "model.ckpt")
    values = _restore_tf1(written.prefix)
    assert np.array_equal(values["layer1/W"], source.read("layer1/W"))


def test_a_whole_variable_fills_a_partitioned_one(tmp_path):
    """The other way: a graph that partitions ``layer1/W`` in 3 restores its slices from the
    one tensor written under the full name (as its Saver reads it)."""
    whole = _tf1_run(tmp_path / "whole", hidden=6)
    parted = _tf1_run(tmp_path / "parted", partitions=3, hidden=6, steps=0)
    source = tfexplore.open(whole)
    plan = source.rewrite(to=f"{parted}.meta")
    assert plan.ok, plan.problems
    row = plan.table.set_index("source").loc["layer1/W"]
    assert row["target"] == "layer1/W" and row["expected_shape"] == (3, 6)
    written = plan.write(tmp_path / "out" / "model.ckpt")
    values = _restore_tf1(written.prefix)
    slices = [values[f"layer1/W/part_{k}"] for k in range(3)]
    assert [s.shape for s in slices] == [(1, 6)] * 3
    assert np.array_equal(np.concatenate(slices), source.read("layer1/W"))


def test_separate_part_keys_merge_along_an_axis(tmp_path):
    from tfexplore.edit.bundle_writer import write_bundle

    rng = np.random.default_rng(0)
    parts = [rng.normal(size=(2, 4)).astype("float32") for _ in range(3)]
    prefix = tmp_path / "parts" / "model.ckpt"
    prefix.parent.mkdir()
    write_bundle(prefix, [(f"emb/part_{k}", p) for k, p in enumerate(parts)])
    plan = tfexplore.open(prefix).rewrite()
    for k in range(3):
        plan.set(f"emb/part_{k}", target="emb", action="merge", axis=0)
    assert plan.ok, plan.problems
    assert plan.table["out_shape"].tolist() == [(6, 4)] * 3
    written = plan.write(tmp_path / "out" / "model.ckpt")
    assert np.array_equal(
        tf.train.load_checkpoint(str(written.prefix)).get_tensor("emb"), np.concatenate(parts)
    )
    # split it back, along the other axis too
    plan = written.rewrite()
    plan.set("emb", target="a|b", action="split", axis=1)
    assert plan.ok, plan.problems
    again = plan.write(tmp_path / "split" / "model.ckpt")
    reader = tf.train.load_checkpoint(str(again.prefix))
    assert np.array_equal(reader.get_tensor("a"), np.concatenate(parts)[:, :2])


def test_transpose_reshape_and_cast(tmp_path):
    from tfexplore.edit.bundle_writer import write_bundle

    w = np.arange(12, dtype="float32").reshape(3, 4)
    prefix = tmp_path / "src" / "model.ckpt"
    prefix.parent.mkdir()
    write_bundle(prefix, [("w", w), ("v", w + 1), ("u", w + 2)])
    plan = tfexplore.open(prefix).rewrite()
    plan.set("w", action="transpose").set("v", action="reshape", to_shape=(2, 6))
    plan.set("u", action="cast", to_dtype="float16")
    bad = tfexplore.open(prefix).rewrite().set("v", action="reshape", to_shape=(5, 5))
    assert "12 values" in bad.problems["message"][0]
    assert plan.ok, plan.problems
    reader = tf.train.load_checkpoint(str(plan.write(tmp_path / "o" / "m.ckpt").prefix))
    assert np.array_equal(reader.get_tensor("w"), w.T)
    assert reader.get_tensor("v").shape == (2, 6)
    assert reader.get_tensor("u").dtype == np.float16


# == TF2 object-based, without a target =======================================================
def test_an_object_based_checkpoint_renamed_keeps_its_object_graph(tmp_path):
    module = tf.Module()
    module.dense = tf.Module()
    module.dense.kernel = tf.Variable(np.ones((2, 3), "float32"))
    module.bias = tf.Variable(np.arange(3, dtype="float32"))
    saved = tf.train.Checkpoint(net=module).save(str(tmp_path / "tf2" / "ckpt"))
    plan = tfexplore.open(saved).rewrite(regex={r"^net/": "net/"})
    assert plan.ok
    written = plan.write(tmp_path / "copy" / "ckpt")
    module.dense.kernel.assign(np.zeros((2, 3), "float32"))
    tf.train.Checkpoint(net=module).restore(str(written.prefix)).assert_existing_objects_matched()
    assert module.dense.kernel.numpy().sum() == 6

    # a key that loses its /.ATTRIBUTES/ part could not be restored: an error, not a write
    bad = tfexplore.open(saved).rewrite(regex={r"/\.ATTRIBUTES/VARIABLE_VALUE$": ""})
    assert not bad.ok and set(bad.problems["check"]) == {"object_key"}
    with pytest.raises(RewriteError, match="ends in '/.ATTRIBUTES/VARIABLE_VALUE'"):
        bad.write(tmp_path / "bad" / "ckpt")
    # as_code() says what its plain SaveV2 cannot do for an object-based checkpoint
    assert "restore needs the object graph" in plan.as_code()


# == TF1 graphs whose Saver says what it saves ==============================================
def _graph_with_a_saver(folder: Path, *, only_w: bool = True, **saver_options) -> Path:
    """A graph of two variables whose Saver saves ``layer/W`` only (``only_w``: ``extra`` is
    made but never saved), written as ``folder/model.ckpt`` and ``.meta``."""
    folder.mkdir(parents=True, exist_ok=True)
    graph = tf.Graph()
    with graph.as_default():
        w = v1.get_variable("layer/W", [2, 3])
        v1.get_variable("extra", [4], initializer=v1.zeros_initializer())
        saver = v1.train.Saver(var_list=[w] if only_w else None, **saver_options)
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            return Path(saver.save(session, str(folder / "model.ckpt")))


def test_the_target_of_a_graph_is_what_its_saver_saves(tmp_path):
    """A checkpoint rewritten to the .meta it was saved with has nothing to fill: the graph's
    other variables are not in its Saver (a real PPO .meta had 26 'nothing fills' errors)."""
    prefix = _graph_with_a_saver(tmp_path / "run")
    plan = tfexplore.open(prefix).rewrite(to=f"{prefix}.meta")
    assert plan.ok, plan.problems
    assert [v.name for v in plan.target.variables] == ["layer/W"]
    notes = plan.report[plan.report["check"] == "target"]["message"]
    assert notes.str.contains("saves 1 of its 2 variables").any()
    written = plan.write(tmp_path / "out" / "model.ckpt")
    graph = tf.Graph()
    with graph.as_default():  # the graph's own Saver, as import_meta_graph gives it
        saver = v1.train.import_meta_graph(f"{written.prefix}.meta")
        with v1.Session(graph=graph) as session:
            saver.restore(session, str(written.prefix))
            (w,) = [v for v in v1.global_variables() if v.op.name == "layer/W"]
            value = session.run(w)
    assert np.array_equal(value, tfexplore.open(prefix).read("layer/W"))


def test_a_graph_whose_saver_reads_v1_gets_a_meta_that_reads_the_v2_written(tmp_path):
    """A .meta whose Saver was made for V1 files restores the written V2 checkpoint with
    plain import_meta_graph + restore: its SaverDef is left out of the .meta written."""
    prefix = _graph_with_a_saver(tmp_path / "run", only_w=False, write_version=v1.train.SaverDef.V1)
    assert tfexplore.open(f"{prefix}.meta").proto.saver_def.version == 1
    plan = tfexplore.open(prefix).rewrite(to=f"{prefix}.meta")
    assert plan.ok, plan.problems
    assert plan.report["message"].str.contains("reads V1 checkpoints").any()
    written = plan.write(tmp_path / "out" / "model.ckpt")
    assert not tfexplore.open(f"{written.prefix}.meta").proto.HasField("saver_def")
    values = _restore_tf1(written.prefix)
    assert np.array_equal(values["layer/W"], tfexplore.open(prefix).read("layer/W"))


def test_nothing_to_fill_offers_init_missing_only_where_an_initial_value_is_known(tmp_path):
    prefix = _tf1_run(tmp_path / "run", steps=1)
    plan = tfexplore.open(prefix).rewrite(drop="layer2/b", to=f"{prefix}.meta")
    message = plan.problems.set_index("target").loc["layer2/b", "message"]
    assert "plan.init_missing('layer2/b')" in message  # a zeros initializer: known
    plan.target.by_name["layer2/b"].initial = None  # as in a .meta of TF 1.0 (none stated)
    message = plan.report.set_index("target").loc["layer2/b", "message"]
    assert "init_missing" not in message and "states no initial value" in message


def test_the_keras_recipe_fits_another_instance_of_the_model_and_leaves_slots_out(tmp_path):
    """A Sequential model built again is named sequential_1: the recipe finds its weights
    by the rest of their paths; optimizer slots are not model weights."""
    import keras

    def build():
        return keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="logits")])

    first = build()
    first.compile(optimizer="adam", loss="mse")
    first.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)
    saved = tf.train.Checkpoint(model=first, optimizer=first.optimizer).write(
        str(tmp_path / "k" / "ckpt")
    )
    plan = tfexplore.open(saved).rewrite(to=first)
    second = build()
    assert second.name != first.name
    recipe = plan.keras_recipe(weights_file=str(tmp_path / "second.weights.h5"))
    assigned = [line for line in recipe.splitlines() if line.startswith("weight(")]
    assert len(assigned) == 2 and all("logits" in line for line in assigned)  # kernel, bias
    exec(recipe, {"model": second})  # noqa: S102
    for a, b in zip(first.weights, second.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


# == memory ====================================================================================
def test_write_holds_about_one_tensor_at_a_time(tmp_path):
    from tfexplore.edit.bundle_writer import write_bundle

    size = 4 * 2**20  # 4 MB each, 8 of them
    prefix = tmp_path / "big" / "model.ckpt"
    prefix.parent.mkdir()
    write_bundle(prefix, ((f"t{k}", np.full(size // 4, k, "float32")) for k in range(8)))
    plan = tfexplore.open(prefix).rewrite(prefix={"t": "renamed/t"})
    plan.set("t3", action="transpose")  # one copy for a transform
    tracemalloc.start()
    try:
        plan.write(tmp_path / "out" / "model.ckpt")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * size + 2**20, f"peak {peak / 2**20:.1f} MB for 4 MB tensors"


def test_a_keras_model_with_a_wider_layer_is_refused_by_name(bert):
    wide = tfexplore.open(bert).rewrite(to=demo.make_bert_keras_model(intermediate=24))
    shape = wide.problems[wide.problems["check"] == "shape"].set_index("source")
    message = shape.loc["bert/encoder/layer_0/intermediate/dense/kernel", "message"]
    assert "'layer_0_intermediate/kernel' is [8, 24]" in message and "axis 1: 24 > 16" in message
    assert len(shape) == 6  # 2 layers x (intermediate kernel, its bias, output kernel)
    assert set(wide.problems["check"]) == {"shape"}


# == as an attacker ============================================================================
def test_the_source_reached_through_a_symlink_is_never_overwritten(tmp_path):
    prefix = _tf1_run(tmp_path / "run")
    before = _digest(prefix.parent)
    alias = tmp_path / "alias"
    alias.symlink_to(prefix.parent, target_is_directory=True)
    plan = tfexplore.open(prefix).rewrite(prefix={"layer1/": "x/"})
    with pytest.raises(RewriteError, match="is the source checkpoint"):
        plan.write(alias / prefix.name, overwrite=True)
    assert _digest(prefix.parent) == before


def test_bad_names_in_a_mapping_and_unwritable_places_are_clear_errors(tmp_path):
    prefix = _tf1_run(tmp_path / "run")
    source = tfexplore.open(prefix)
    with pytest.raises(RewriteError, match="must be a non-empty string"):
        source.rewrite({"layer1/W": 3})
    with pytest.raises(RewriteError, match="must be a non-empty string"):
        source.rewrite(lambda name: "")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(RewriteError, match="Cannot make the folder"):
        source.rewrite().write(blocker / "sub" / "model.ckpt")


def test_a_destination_that_is_no_prefix_is_refused_before_anything_is_written(tmp_path):
    """An empty path, a folder, a path ending in a separator, a NUL byte or a non-path: a
    clear error, and not a file or folder appears anywhere."""
    prefix = _tf1_run(tmp_path / "run")
    plan = tfexplore.open(prefix).rewrite(prefix={"layer1/": "x/"})
    (tmp_path / "existing").mkdir()
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    cases = {
        "": "empty prefix",
        str(tmp_path / "existing"): "is a folder",
        f"{tmp_path / 'new'}/": "is a folder",
        str(tmp_path / "a\x00b"): "NUL byte",
        None: "takes a checkpoint prefix",
    }
    for path, message in cases.items():
        with pytest.raises(RewriteError, match=message):
            plan.write(path)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_writing_beside_the_source_leaves_its_folders_latest_as_it_was(tmp_path):
    """A rewrite written into the source's folder does not become that folder's latest
    checkpoint (the state file is left alone); in a new folder it is named there."""
    prefix = _tf1_run(tmp_path / "run")
    state = (prefix.parent / "checkpoint").read_bytes()
    plan = tfexplore.open(prefix).rewrite(prefix={"layer1/": "x/"})
    plan.write(prefix.parent / "renamed.ckpt")
    assert (prefix.parent / "checkpoint").read_bytes() == state
    assert tfexplore.open(prefix.parent).latest.prefix == prefix
    assert tf.train.load_checkpoint(str(prefix.parent / "renamed.ckpt")).has_tensor("x/W")
    elsewhere = plan.write(tmp_path / "new" / "model.ckpt")
    assert tfexplore.open(tmp_path / "new").latest.prefix == elsewhere.prefix
    again = plan.write(tmp_path / "new" / "model.ckpt", overwrite=True)
    assert tf.train.latest_checkpoint(str(tmp_path / "new")) == str(again.prefix)


def test_an_existing_destination_and_a_missing_source_shard_say_what_to_do(tmp_path):
    prefix = _tf1_run(tmp_path / "run")
    plan = tfexplore.open(prefix).rewrite(prefix={"layer1/": "x/"})
    plan.write(tmp_path / "out" / "model.ckpt")
    with pytest.raises(RewriteError, match="already exists") as error:
        plan.write(tmp_path / "out" / "model.ckpt")
    assert "overwrite=True" in str(error.value) and "free space" not in str(error.value)
    # the values are gone from the source: said before a byte (or a folder) is written
    lost = tmp_path / "lost"
    shutil.copytree(prefix.parent, lost)
    for shard in lost.glob("*.data-*"):
        shard.unlink()
    source = tfexplore.open(lost / prefix.name).rewrite(prefix={"layer1/": "x/"})
    with pytest.raises(RewriteError, match="lacks model.ckpt-3.data-00000-of-00001"):
        source.write(tmp_path / "never" / "made" / "model.ckpt")
    assert not (tmp_path / "never").exists()


def test_names_that_carry_html_are_shown_as_text(tmp_path):
    from tfexplore.edit.bundle_writer import write_bundle

    hostile = "<img src=x onerror=alert(1)>"
    prefix = tmp_path / "h" / "model.ckpt"
    prefix.parent.mkdir()
    write_bundle(prefix, [(hostile, np.zeros(2, "float32"))])
    html = tfexplore.open(prefix).rewrite(prefix={"<img": "<script>"})._repr_html_()
    assert "<img" not in html and "<script>" not in html and "&lt;img" in html


def test_a_huge_declared_target_is_not_given_an_initial_value(tmp_path):
    graph = tf.Graph()
    with graph.as_default():
        v1.get_variable("small", [2], initializer=v1.zeros_initializer())
        v1.get_variable("huge", [10**6, 10**6], initializer=v1.zeros_initializer())
        meta = tmp_path / "huge.meta"
        v1.train.export_meta_graph(str(meta), graph=graph)
    from tfexplore.edit.bundle_writer import write_bundle

    prefix = tmp_path / "src" / "model.ckpt"
    prefix.parent.mkdir()
    write_bundle(prefix, [("small", np.ones(2, "float32"))])
    plan = tfexplore.open(prefix).rewrite(to=str(meta)).init_missing()
    assert "huge" not in plan.initialized
    assert plan.problems["target"].tolist() == ["huge"]
    with pytest.raises(RewriteError):
        plan.write(tmp_path / "out" / "model.ckpt")


def test_a_keras3_tf2_checkpoint_moves_to_a_model_with_other_layer_names(tmp_path):
    import keras

    def make(prefix):
        return keras.Sequential(
            [
                keras.Input((4,)),
                keras.layers.Dense(8, name=f"{prefix}_hidden"),
                keras.layers.Dense(8, name=f"{prefix}_hidden2"),
                keras.layers.Dense(2, name=f"{prefix}_out"),
            ]
        )

    old, optimizer = make("old"), keras.optimizers.Adam()
    old.compile(optimizer, "mse")
    old.fit(np.ones((8, 4)), np.ones((8, 2)), verbose=0)
    # Keras 3 keeps the weights only under optimizer/_trainable_variables/N here
    saved = tf.train.Checkpoint(model=old, optimizer=optimizer).save(str(tmp_path / "ckpt"))
    new = make("new")
    plan = tfexplore.open(saved).rewrite(to=new)
    assert plan.ok, plan.problems
    variables = plan.table[plan.table["role"] == "variable"]
    assert (variables["confidence"] > 0.6).all()  # names compared through the object graph
    written = plan.write(tmp_path / "moved" / "ckpt")
    tf.train.Checkpoint(model=new).restore(str(written.prefix)).assert_existing_objects_matched()
    for a, b in zip(old.weights, new.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_a_tf1_checkpoint_into_a_tf_module_and_into_another_checkpoints_names(tmp_path):
    prefix = _tf1_run(tmp_path / "run")
    source = tfexplore.open(prefix)
    reader = tf.train.load_checkpoint(str(prefix))
    net = tf.Module()
    net.hidden_w = tf.Variable(tf.zeros([3, 16]), name="hidden/W")
    net.hidden_b = tf.Variable(tf.zeros([16]), name="hidden/b")
    net.out_w = tf.Variable(tf.zeros([16, 1]), name="out/W")
    net.out_b = tf.Variable(tf.zeros([1]), name="out/b")
    plan = source.rewrite(to=net)
    assert plan.ok, plan.problems
    written = plan.write(tmp_path / "module" / "ckpt")
    tf.train.Checkpoint(model=net).restore(str(written.prefix)).assert_existing_objects_matched()
    np.testing.assert_array_equal(net.hidden_w.numpy(), reader.get_tensor("layer1/W"))
    np.testing.assert_array_equal(net.out_b.numpy(), reader.get_tensor("layer2/b"))
    # another checkpoint as the target: its names (a renamed scope), shapes and roles
    other = _tf1_run(tmp_path / "other", scope="encoder", steps=0)
    plan = source.rewrite(to=other)
    table = plan.table.set_index("source")
    assert table.loc["layer1/W", "target"] == "encoder/W"
    assert table.loc["layer1/W/Adam", "target"] == "encoder/W/Adam"  # the slot follows
    assert plan.ok, plan.problems
    copied = tf.train.load_checkpoint(str(plan.write(tmp_path / "o" / "m.ckpt").prefix))
    assert set(copied.get_variable_to_shape_map()) == set(
        tf.train.load_checkpoint(str(other)).get_variable_to_shape_map()
    )
