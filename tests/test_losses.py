"""Finding the loss a TF1 train op minimizes from its gradient subgraph (issue 12, point 11).

The graphs are real TF1 graphs saved by ``tf.compat.v1.train.Saver`` with a ``train_op``
collection and *no* ``loss``/``losses`` collection, as the seeds' own flow writes them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import tfexplore
from tfexplore.demo import regression_data
from tfexplore.graph.losses import find_losses

tf = pytest.importorskip("tensorflow")
v1 = tf.compat.v1
X, Y = regression_data(n=64)
FEED = {"x": X, "y": Y}

OPTIMIZERS = {
    "sgd": lambda: v1.train.GradientDescentOptimizer(0.05),
    "momentum": lambda: v1.train.MomentumOptimizer(0.05, 0.9),
    "adam": lambda: v1.train.AdamOptimizer(0.05),
    "rmsprop": lambda: v1.train.RMSPropOptimizer(0.05),
}


def _loss(kind: str, pred, y):
    if kind == "seed":  # the issue's own line
        return tf.reduce_mean(tf.square(pred - y), name="loss")
    if kind == "identity":  # Identity's gradient makes no op: the seed feeds Mean's gradient
        return tf.identity(tf.reduce_mean(tf.square(pred - y)), name="loss")
    if kind == "scoped_xent":
        with tf.name_scope("loss"):
            return tf.reduce_mean(
                tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.sigmoid(y), logits=pred),
                name="xent",
            )
    if kind == "tf_losses":  # tf.compat.v1.losses adds to the `losses` collection: cleared below
        return v1.losses.huber_loss(y, pred)
    if kind == "vector":  # not a scalar: the seed is shaped by Shape(loss)
        return tf.reduce_sum(tf.square(pred - y), axis=1, name="per_example")
    raise AssertionError(kind)


def save_run(folder: Path, optimizer="adam", loss="seed", api="minimize", scope=None) -> Path:
    """A TF1 run saved at step 0: placeholders x, y; W, b; global_step; the train op in the
    `train_op` collection; no loss collection."""
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(0)
        x = v1.placeholder(tf.float32, [None, 3], name="x")
        y = v1.placeholder(tf.float32, [None, 1], name="y")
        w = v1.get_variable("W", [3, 1])
        b = v1.get_variable("b", [1], initializer=v1.zeros_initializer())
        pred = tf.add(tf.matmul(x, w), b, name="pred")
        loss_tensor = _loss(loss, pred, y)
        gs = v1.train.get_or_create_global_step()
        opt = OPTIMIZERS[optimizer]()
        with tf.name_scope(scope) if scope else _nothing():
            if api == "minimize":
                train_op = opt.minimize(loss_tensor, global_step=gs)
            else:
                grads = opt.compute_gradients(loss_tensor)
                grads = [(tf.clip_by_norm(g, 5.0), v) for g, v in grads]
                train_op = opt.apply_gradients(grads, global_step=gs)
        v1.add_to_collection("train_op", train_op)
        graph.clear_collection("losses")
        saver = v1.train.Saver()
        with v1.Session(graph=graph) as sess:
            sess.run(v1.global_variables_initializer())
            folder.mkdir(parents=True, exist_ok=True)
            saver.save(sess, str(folder / "model.ckpt"), global_step=gs)
    return folder


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


CASES = [
    ("adam", "seed", "minimize", None, "loss:0"),
    ("sgd", "identity", "minimize", None, "loss:0"),
    ("momentum", "scoped_xent", "compute_apply", "train", "loss/xent:0"),
    ("rmsprop", "tf_losses", "compute_apply", None, "huber_loss/value:0"),
    ("adam", "vector", "compute_apply", "opt", "per_example:0"),
]


@pytest.mark.slow
@pytest.mark.parametrize("optimizer,loss,api,scope,expected", CASES)
def test_train_records_the_loss_found_from_the_gradients(
    tmp_path, optimizer, loss, api, scope, expected
):
    folder = save_run(tmp_path / "run", optimizer, loss, api, scope)
    graph = tfexplore.open(folder / "model.ckpt-0.meta").graph
    found = find_losses(graph)
    assert [c.tensor for c in found] == [expected]
    with tfexplore.session(folder) as s:
        assert s.loss == expected
        assert [c.tensor for c in s.loss_candidates] == [expected]
        before = np.asarray(s.eval(expected, feed=FEED))
        rows = s.train(3, feed=FEED)
        assert list(rows.columns[:3]) == ["step", "global_step", "loss"]
        # fetched with the first step, before its update; a non-scalar loss is recorded as
        # its sum, what minimize() minimizes (its gradient is seeded with ones)
        assert rows["loss"].iloc[0] == pytest.approx(float(before.sum()), rel=1e-5)
        assert rows["loss"].notna().all()
        assert list(rows["global_step"]) == [1, 2, 3]


@pytest.mark.slow
def test_seed_flow_loss_and_trainpanel(tmp_path):
    """The issue's flow: reduce_mean(square(pred - y), name="loss"), Adam.minimize, train_op
    collection. train() has a loss column equal to the loss before each step, and the
    TrainPanel plots it."""
    pytest.importorskip("ipywidgets")
    from tfexplore.widgets.trainpanel import TrainPanel

    folder = save_run(tmp_path / "run")
    with tfexplore.session(folder) as s:
        first = float(s.eval("loss", feed=FEED))
        rows = s.train(2, feed=FEED)
        assert rows["loss"].iloc[0] == pytest.approx(first, rel=1e-6)
        assert rows["loss"].iloc[1] < rows["loss"].iloc[0]
        panel = TrainPanel(s, feed=FEED)
        assert panel.loss_choice.value == "loss:0"
        assert panel.loss_choice.disabled  # named, nothing to choose from
        out = panel.run(3)
        assert out["loss"].notna().all()
        assert len(panel.curve) == 5 and len(s.history) == 5
        assert np.isfinite(s.history["loss"]).all()
        assert panel.png  # a plot was drawn


def two_loss_run(folder: Path) -> Path:
    """Two losses, two optimizers, one grouped train op (a GAN-like graph)."""
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 3], name="x")
        y = v1.placeholder(tf.float32, [None, 1], name="y")
        with v1.variable_scope("gen"):
            g = tf.matmul(x, v1.get_variable("W", [3, 1]))
        with v1.variable_scope("disc"):
            d = tf.matmul(x, v1.get_variable("W", [3, 1]))
        gen_loss = tf.reduce_mean(tf.square(g - y), name="gen_loss")
        disc_loss = tf.reduce_mean(tf.abs(d - y), name="disc_loss")
        gen_vars = v1.get_collection(v1.GraphKeys.TRAINABLE_VARIABLES, "gen")
        disc_vars = v1.get_collection(v1.GraphKeys.TRAINABLE_VARIABLES, "disc")
        t1 = v1.train.AdamOptimizer(0.01).minimize(gen_loss, var_list=gen_vars)
        t2 = v1.train.RMSPropOptimizer(0.01).minimize(disc_loss, var_list=disc_vars)
        train = tf.group(t1, t2, name="train_both")
        graph.clear_collection("train_op")  # minimize() put t1 and t2 there: run both
        v1.add_to_collection("train_op", train)
        saver = v1.train.Saver()
        with v1.Session(graph=graph) as sess:
            sess.run(v1.global_variables_initializer())
            folder.mkdir(parents=True, exist_ok=True)
            saver.save(sess, str(folder / "model.ckpt"))
            names = (t1.name, t2.name)
    return folder, names


@pytest.mark.slow
def test_several_losses_are_listed_and_the_choice_can_be_changed(tmp_path):
    pytest.importorskip("ipywidgets")
    from tfexplore.errors import TensorNotFoundError
    from tfexplore.widgets.trainpanel import TrainPanel

    folder, (gen_train, disc_train) = two_loss_run(tmp_path / "gan")
    graph = tfexplore.open(folder / "model.ckpt.meta").graph
    assert [c.tensor for c in find_losses(graph, "train_both")] == ["gen_loss:0", "disc_loss:0"]
    assert [c.tensor for c in find_losses(graph, gen_train)] == ["gen_loss:0"]
    assert [c.tensor for c in find_losses(graph, disc_train)] == ["disc_loss:0"]
    assert [c.gradients for c in find_losses(graph)] == ["gradients", "gradients_1"]
    with tfexplore.session(folder) as s:
        assert s.loss == "gen_loss:0"
        assert len(s.loss_candidates) == 2
        gen_before = float(s.eval("gen_loss", feed=FEED))
        assert s.train(1, feed=FEED)["loss"].iloc[0] == pytest.approx(gen_before, rel=1e-6)
        s.loss = "disc_loss:0"
        disc_before = float(s.eval("disc_loss", feed=FEED))
        assert s.train(1, feed=FEED)["loss"].iloc[0] == pytest.approx(disc_before, rel=1e-6)
        # an explicit loss= still wins, per call
        gen_before = float(s.eval("gen_loss", feed=FEED))
        assert s.train(1, feed=FEED, loss="gen_loss")["loss"].iloc[0] == pytest.approx(
            gen_before, rel=1e-6
        )
        with pytest.raises(TensorNotFoundError):
            s.loss = "no_such_loss"
        s.loss = None
        panel = TrainPanel(s, feed=FEED)
        assert list(panel.loss_choice.options) == ["gen_loss:0", "disc_loss:0"]
        assert panel.loss_choice.layout.display != "none" and not panel.loss_choice.disabled
        panel.loss_choice.value = "disc_loss:0"
        before = float(s.eval("disc_loss", feed=FEED))
        assert panel.run(1)["loss"].iloc[0] == pytest.approx(before, rel=1e-6)


def test_no_gradients_no_candidates(tmp_path):
    """An inference graph has no gradient: no candidate, train() says why (no train op)."""
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 3], name="x")
        w = v1.get_variable("W", [3, 1])
        tf.matmul(x, w, name="out")
        path = tmp_path / "infer.meta"
        v1.train.export_meta_graph(str(path))
    graph = tfexplore.open(path).graph
    assert find_losses(graph) == []
    assert find_losses(graph, "no_such_op") == []


@pytest.mark.corpus
@pytest.mark.parametrize(
    "meta,train_op,expected",
    [
        # TF 1.0 (gradients/Fill fed by gradients/Shape(Mean)), Adam
        ("tf1_0_lenet_trafficsign/model.ckpt.meta", "Adam", "Mean:0"),
        # TF 1.3, GradientDescent
        ("udacity_chap3_two_ckpts/train_model.ckpt.meta", "GradientDescent", "Mean:0"),
        # TF 2.2 compat.v1 with a grad_ys_0 Const fill value under train/gradients
        ("ppo_ckpt10000_nostate/model.ckpt-10000.meta", "train/Adam", "loss/add_1:0"),
        # TF 0.12: no train_op collection; every gradient seed of the graph
        ("nxt_v1ckpt/model.ckpt.meta", None, "Sum:0"),
    ],
)
def test_losses_of_real_old_graphs(corpus, meta, train_op, expected):
    graph = tfexplore.open(corpus / meta).graph
    found = find_losses(graph, train_op)
    assert [c.tensor for c in found] == [expected]
    assert found[0].evidence in ("shape", "gradient scope")


@pytest.mark.corpus
@pytest.mark.slow
def test_legacy_keras_graph_trains_with_its_loss(corpus):
    """A TF 1.8 Keras model exported with the SavedModelBuilder keeps its training graph:
    the seed is training/Adam/gradients/Fill, the loss Keras's total loss/mul, the train op
    K.function's training/group_deps (no train_op collection)."""
    path = corpus / "tf1_savedmodel_keras_iris" / "1"
    graph = tfexplore.open(path).graph
    assert [c.tensor for c in find_losses(graph, "training/group_deps")] == ["loss/mul:0"]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 4)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 8)]
    feed = {
        "dense_1_input": x,
        "dense_2_target": y,
        "dense_2_sample_weights": np.ones(8, "float32"),
    }
    with tfexplore.session(path) as s:
        assert s.loss == "loss/mul:0"
        assert [c.tensor for c in s.loss_candidates] == ["loss/mul:0"]
        before = float(s.eval("loss/mul", feed=feed))
        rows = s.train(3, feed=feed, train_op="training/group_deps")
        assert rows["loss"].iloc[0] == pytest.approx(before, rel=1e-6)
        assert rows["loss"].iloc[-1] < rows["loss"].iloc[0]
