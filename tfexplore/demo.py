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


# == a BERT-style pair for checkpoint surgery =================================================
def bert_shapes(
    *,
    layers: int = 2,
    hidden: int = 8,
    intermediate: int = 16,
    vocab: int = 30,
    positions: int = 16,
) -> dict[str, tuple[int, ...]]:
    """The weights of a BERT encoder under Google's TF1 names (``bert/encoder/layer_0/
    attention/self/query/kernel``, ...), in the order the model makes them."""
    shapes: dict[str, tuple[int, ...]] = {
        "bert/embeddings/word_embeddings": (vocab, hidden),
        "bert/embeddings/token_type_embeddings": (2, hidden),
        "bert/embeddings/position_embeddings": (positions, hidden),
        "bert/embeddings/LayerNorm/gamma": (hidden,),
        "bert/embeddings/LayerNorm/beta": (hidden,),
    }
    for n in range(layers):
        layer = f"bert/encoder/layer_{n}"
        for part in ("query", "key", "value"):
            shapes[f"{layer}/attention/self/{part}/kernel"] = (hidden, hidden)
            shapes[f"{layer}/attention/self/{part}/bias"] = (hidden,)
        shapes[f"{layer}/attention/output/dense/kernel"] = (hidden, hidden)
        shapes[f"{layer}/attention/output/dense/bias"] = (hidden,)
        shapes[f"{layer}/attention/output/LayerNorm/gamma"] = (hidden,)
        shapes[f"{layer}/attention/output/LayerNorm/beta"] = (hidden,)
        shapes[f"{layer}/intermediate/dense/kernel"] = (hidden, intermediate)
        shapes[f"{layer}/intermediate/dense/bias"] = (intermediate,)
        shapes[f"{layer}/output/dense/kernel"] = (intermediate, hidden)
        shapes[f"{layer}/output/dense/bias"] = (hidden,)
        shapes[f"{layer}/output/LayerNorm/gamma"] = (hidden,)
        shapes[f"{layer}/output/LayerNorm/beta"] = (hidden,)
    shapes["bert/pooler/dense/kernel"] = (hidden, hidden)
    shapes["bert/pooler/dense/bias"] = (hidden,)
    return shapes


def make_bert_checkpoint(
    folder: str | os.PathLike, *, step: int = 1000, seed: int = 0, **sizes: int
) -> Path:
    """Save a TF1 checkpoint shaped like Google's BERT releases: the weights under ``bert/``,
    Adam slots ``NAME/adam_m`` and ``NAME/adam_v`` (Google's AdamWeightDecayOptimizer) and
    ``global_step``, written by ``tf.compat.v1.train.Saver`` with its ``.meta``. Values are
    random but distinct per tensor. Returns the prefix. ``sizes``: see :func:`bert_shapes`."""
    from ._tf import tf as import_tf

    tf = import_tf()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    graph = tf.Graph()
    with graph.as_default():
        created = []
        for name, shape in bert_shapes(**sizes).items():
            value = rng.normal(scale=0.1, size=shape).astype("float32")
            if name.endswith("gamma"):
                value += 1.0
            created.append(tf.compat.v1.get_variable(name, initializer=value))
        for variable in created:
            base = variable.op.name
            for slot in ("adam_m", "adam_v"):
                value = rng.normal(scale=0.01, size=variable.shape).astype("float32")
                tf.compat.v1.get_variable(
                    f"{base}/{slot}",
                    initializer=np.abs(value) if slot == "adam_v" else value,
                    trainable=False,
                )
        step_var = tf.compat.v1.train.get_or_create_global_step()
        init = tf.compat.v1.global_variables_initializer()
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(init)
            session.run(step_var.assign(step))
            prefix = saver.save(session, str(folder / "bert_model.ckpt"), global_step=step)
    return Path(prefix)


def make_bert_keras_model(**sizes: int):
    """A Keras 3 model of the same architecture as :func:`make_bert_checkpoint`, with Keras's
    own names (``layer_0_query/kernel``, ``embeddings_norm/gamma``, ...): the model a
    Google checkpoint does not restore into by name."""
    from ._tf import tf as import_tf

    import_tf()
    import keras

    shapes = bert_shapes(**sizes)
    vocab, hidden = shapes["bert/embeddings/word_embeddings"]
    positions = shapes["bert/embeddings/position_embeddings"][0]
    intermediate = shapes["bert/encoder/layer_0/intermediate/dense/bias"][0]
    layers = sum(1 for k in shapes if k.endswith("attention/self/query/kernel"))
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    segments = keras.Input((None,), dtype="int32", name="segments")
    places = keras.Input((None,), dtype="int32", name="positions")
    x = keras.layers.Embedding(vocab, hidden, name="word_embeddings")(tokens)
    x = x + keras.layers.Embedding(2, hidden, name="segment_embeddings")(segments)
    x = x + keras.layers.Embedding(positions, hidden, name="position_embeddings")(places)
    x = keras.layers.LayerNormalization(name="embeddings_norm")(x)
    for n in range(layers):
        q = keras.layers.Dense(hidden, name=f"layer_{n}_query")(x)
        k = keras.layers.Dense(hidden, name=f"layer_{n}_key")(x)
        v = keras.layers.Dense(hidden, name=f"layer_{n}_value")(x)
        scores = keras.ops.softmax(keras.ops.matmul(q, keras.ops.transpose(k, (0, 2, 1))))
        attended = keras.layers.Dense(hidden, name=f"layer_{n}_attention_output")(
            keras.ops.matmul(scores, v)
        )
        x = keras.layers.LayerNormalization(name=f"layer_{n}_attention_norm")(x + attended)
        h = keras.layers.Dense(intermediate, activation="gelu", name=f"layer_{n}_intermediate")(x)
        h = keras.layers.Dense(hidden, name=f"layer_{n}_output")(h)
        x = keras.layers.LayerNormalization(name=f"layer_{n}_output_norm")(x + h)
    pooled = keras.layers.Dense(hidden, activation="tanh", name="pooler")(x[:, 0])
    return keras.Model([tokens, segments, places], pooled, name="bert_encoder")


#: which Keras weight of :func:`make_bert_keras_model` holds which Google checkpoint key
def bert_keras_names(**sizes: int) -> dict[str, str]:
    """``{checkpoint key: Keras weight path}`` for the pair above (the ground truth)."""
    result = {}
    for key in bert_shapes(**sizes):
        parts = key.split("/")[1:]
        last = parts[-1]
        if parts[0] == "embeddings":
            layer = {
                "word_embeddings": "word_embeddings",
                "token_type_embeddings": "segment_embeddings",
                "position_embeddings": "position_embeddings",
                "LayerNorm": "embeddings_norm",
            }[parts[1]]
            weight = "embeddings" if parts[1].endswith("embeddings") else last
        elif parts[0] == "pooler":
            layer, weight = "pooler", last
        else:
            n = parts[1].split("_")[1]
            middle = "/".join(parts[2:-1])
            layer = (
                f"layer_{n}_"
                + {
                    "attention/self/query": "query",
                    "attention/self/key": "key",
                    "attention/self/value": "value",
                    "attention/output/dense": "attention_output",
                    "attention/output/LayerNorm": "attention_norm",
                    "intermediate/dense": "intermediate",
                    "output/dense": "output",
                    "output/LayerNorm": "output_norm",
                }[middle]
            )
            weight = last
        result[key] = f"{layer}/{weight}"
    return result
