"""Small, real TensorFlow artifacts to learn and test with, made on the spot.

``make_training_run(folder)`` trains a two-layer regression network in a TF1 graph
(``tf.compat.v1``) with Adam and ``global_step`` and saves it with ``tf.compat.v1.train.Saver``
at several steps: the classic folder with a ``checkpoint`` state file and, for each step,
``model.ckpt-STEP.index``, ``.data-00000-of-00001`` and ``.meta``. The tour notebook opens it.

Example::

    >>> from tfexplore.demo import make_training_run
    >>> folder = make_training_run("demo_data/run")          # doctest: +SKIP
    >>> tfexplore.open(folder).checkpoints                   # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["make_training_run", "regression_data"]


def regression_data(n: int = 256, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Inputs ``x`` (n, 3) and targets ``y`` (n, 1) of a noisy non-linear function."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype("float32")
    y = (np.sin(x[:, :1]) + 0.5 * x[:, 1:2] - 0.25 * x[:, 2:3] ** 2).astype("float32")
    y += rng.normal(scale=0.05, size=y.shape).astype("float32")
    return x, y


def make_training_run(
    folder: str | os.PathLike,
    *,
    steps: tuple[int, ...] = (10, 20, 30),
    hidden: int = 16,
    learning_rate: float = 0.05,
    seed: int = 0,
) -> Path:
    """Train a TF1-style graph and save a checkpoint at each of ``steps``; return the folder.

    The graph has name scopes ``inputs``, ``layer1``, ``layer2``, ``loss`` and ``train``;
    variables ``layer1/W``, ``layer1/b``, ``layer2/W``, ``layer2/b`` and ``global_step``;
    Adam's slots (``layer1/W/Adam``, ``layer1/W/Adam_1``, ...); placeholders ``inputs/x`` and
    ``inputs/y``; the scalar ``loss/mse``; and the ``train_op`` collection.
    """
    from ._tf import tf as load_tensorflow

    tf = load_tensorflow()  # quiet: no C++ log lines in the notebook
    v1 = tf.compat.v1
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    x_data, y_data = regression_data(seed=seed)
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(seed)
        with v1.name_scope("inputs"):
            x = v1.placeholder(tf.float32, [None, 3], name="x")
            y = v1.placeholder(tf.float32, [None, 1], name="y")
        with v1.variable_scope("layer1"):
            w1 = v1.get_variable("W", [3, hidden], initializer=v1.glorot_uniform_initializer())
            b1 = v1.get_variable("b", [hidden], initializer=v1.zeros_initializer())
            h = tf.nn.relu(tf.matmul(x, w1) + b1, name="relu")
        with v1.variable_scope("layer2"):
            w2 = v1.get_variable("W", [hidden, 1], initializer=v1.glorot_uniform_initializer())
            b2 = v1.get_variable("b", [1], initializer=v1.zeros_initializer())
            prediction = tf.add(tf.matmul(h, w2), b2, name="prediction")
        with v1.name_scope("loss"):
            loss = tf.reduce_mean(tf.square(prediction - y), name="mse")
        global_step = v1.train.get_or_create_global_step()
        with v1.name_scope("train"):
            train_op = v1.train.AdamOptimizer(learning_rate).minimize(loss, global_step=global_step)
        # minimize() has put train_op in the `train_op` collection; the loss is ours to add
        v1.add_to_collection("loss", loss)
        v1.summary.scalar("loss", loss)
        saver = v1.train.Saver(max_to_keep=len(steps) + 1)
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            done = 0
            for target in steps:
                while done < target:
                    session.run(train_op, {x: x_data, y: y_data})
                    done += 1
                saver.save(session, str(folder / "model.ckpt"), global_step=global_step)
    return folder
