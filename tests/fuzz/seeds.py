"""The intact artifacts every fuzz case starts from, one per kind, made by real TensorFlow.

``build_seeds(folder)`` writes (once; a ``SEEDS_OK`` marker makes it idempotent):

- ``tf1/``: a TF1 ``Saver`` run (demo graph, Adam, ``global_step``) at steps 20 and 30, each
  with ``.index``, ``.data-00000-of-00001`` and ``.meta``, plus the ``checkpoint`` state file;
- ``tf2/``: a TF2 ``tf.train.Checkpoint`` + ``CheckpointManager`` folder (``ckpt-1``,
  ``ckpt-2``, state file, object graph);
- ``v1/``: a legacy V1 checkpoint (one ``model.ckpt`` table file) with its ``.meta``;
- ``saved_model/``: ``tf.saved_model.save`` of a module with variables, a child module and a
  signature;
- ``keras/model.keras`` and ``h5/model.h5``: a small compiled functional Keras model;
- ``pb/frozen.pb`` and ``pbtxt/frozen.pbtxt``: a frozen graph (weights as ``Const``).

Each kind's folder is what a case copies; ``OPEN[kind]`` is what ``tfexplore.open`` is given
(relative to the copy).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

#: kind -> the path (relative to the case folder) handed to ``tfexplore.open``.
OPEN = {
    "tf1": ".",
    "tf2": ".",
    "v1": "model.ckpt",
    "saved_model": ".",
    "keras": "model.keras",
    "h5": "model.h5",
    "pb": "frozen.pb",
    "pbtxt": "frozen.pbtxt",
}
KINDS = tuple(OPEN)
_MARKER = "SEEDS_OK"


def build_seeds(folder: str | os.PathLike) -> Path:
    """Write every seed artifact below ``folder`` (skipped when already complete)."""
    folder = Path(folder)
    if (folder / _MARKER).exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for kind in KINDS:
        shutil.rmtree(folder / kind, ignore_errors=True)
    _tf1(folder / "tf1")
    _tf2(folder / "tf2")
    _v1(folder / "v1")
    _saved_model(folder / "saved_model")
    _keras(folder)
    _frozen(folder)
    (folder / _MARKER).write_text("ok\n")
    return folder


def _tf1(target: Path) -> None:
    from tfexplore.demo import make_training_run

    make_training_run(target, steps=(20, 30), hidden=8)


def _tf2(target: Path) -> None:
    import tensorflow as tf

    module = tf.Module()
    module.w = tf.Variable(np.arange(12, dtype=np.float32).reshape(3, 4), name="w")
    module.b = tf.Variable(np.zeros(4, np.float32), name="b")
    module.words = tf.Variable([b"alpha", b"beta"], name="words")
    step = tf.Variable(0, dtype=tf.int64, name="step")
    checkpoint = tf.train.Checkpoint(net=module, step=step)
    manager = tf.train.CheckpointManager(checkpoint, str(target), max_to_keep=2)
    for value in (1, 2):
        step.assign(value)
        module.w.assign_add(tf.ones((3, 4)))
        manager.save()


def _v1(target: Path) -> None:
    import tensorflow as tf
    from tensorflow.core.protobuf import saver_pb2

    v1 = tf.compat.v1
    target.mkdir(parents=True)
    graph = tf.Graph()
    with graph.as_default():
        w = v1.get_variable("W", initializer=np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3))
        v1.get_variable("b", initializer=np.array([1, 2, 3], np.int32))
        v1.get_variable("name", initializer=tf.constant([b"x", b"yz"]), dtype=tf.string)
        tf.identity(w, name="out")
        saver = v1.train.Saver(write_version=saver_pb2.SaverDef.V1)
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            saver.save(session, str(target / "model.ckpt"))


def _saved_model(target: Path) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from fixtures.models import make_tf2_saved_model

    make_tf2_saved_model(target)


def _keras(folder: Path) -> None:
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(4,), name="features")
    hidden = keras.layers.Dense(8, activation="relu", name="hidden")(inputs)
    outputs = keras.layers.Dense(2, activation="softmax", name="probs")(hidden)
    model = keras.Model(inputs, outputs, name="small")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    model.fit(rng.normal(size=(16, 4)).astype("float32"), rng.integers(0, 2, 16), verbose=0)
    (folder / "keras").mkdir(parents=True)
    (folder / "h5").mkdir(parents=True)
    model.save(folder / "keras" / "model.keras")
    model.save(folder / "h5" / "model.h5")


def _frozen(folder: Path) -> None:
    import tensorflow as tf

    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 3], name="input")
        w = v1.get_variable("dense/W", initializer=np.ones((3, 2), np.float32), use_resource=False)
        b = v1.get_variable(
            "dense/b", initializer=np.array([1.0, -1.0], np.float32), use_resource=False
        )
        tf.nn.softmax(tf.matmul(x, w) + b, name="probs")
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            frozen = v1.graph_util.convert_variables_to_constants(
                session, graph.as_graph_def(), ["probs"]
            )
    tf.io.write_graph(frozen, str(folder / "pb"), "frozen.pb", as_text=False)
    tf.io.write_graph(frozen, str(folder / "pbtxt"), "frozen.pbtxt", as_text=True)
