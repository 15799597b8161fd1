"""Make the large artifacts the benchmarks run on, with TensorFlow itself.

A TF1 BERT-like pre-training graph (``tf.compat.v1`` graph mode, reference variables as the
original BERT code made them): embeddings, ``layers`` transformer blocks (self-attention, FFN with
GELU, two LayerNorms each), a pooler, the masked-LM and next-sentence heads, a loss, and
``AdamOptimizer(...).minimize(loss, global_step=...)`` with a ``train_op`` collection. Then:

- ``model.ckpt-0``: every variable (with Adam's slots) as initialised, saved by a ``Saver``
  (``.index``, ``.data-*``, ``.meta``);
- ``model.ckpt-1``: the same after one training step on a tiny random batch;
- or, for graph-only scales (``--ops``), just ``graph.meta`` from ``export_meta_graph`` (no
  variable is initialised or saved).

Scales: ``full`` (24 layers, hidden 768, 12 heads, FFN 3072, vocab 30522: about 194M weights,
2.3 GB with Adam's slots), ``small`` (2 layers, hidden 128) and ``tiny`` (for the tests); and
``--ops N``, a graph of about N ops (the full-size blocks, as many layers as it takes).

Artifacts already in the output folder are reused: each folder holds a ``params.json`` written
last, and a folder whose ``params.json`` matches is left alone.

Usage::

    .venv/bin/python bench/generate.py            # bench/data/full (about 2 minutes, 5 GB disk)
    .venv/bin/python bench/generate.py --small    # bench/data/small
    .venv/bin/python bench/generate.py --ops 160000
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__all__ = ["Scale", "SCALES", "Artifacts", "generate", "scale_for_ops", "DATA_DIR"]

DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclasses.dataclass(frozen=True)
class Scale:
    """The size of one generated model. ``checkpoints=False`` writes only the graph."""

    name: str
    layers: int
    hidden: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int = 512
    batch: int = 2  # the training step's batch and sequence length (kept tiny)
    seq: int = 16
    checkpoints: bool = True

    @property
    def params(self) -> int:
        """Trainable weights (without Adam's two slots per weight)."""
        h, f = self.hidden, self.intermediate
        layer = 4 * (h * h + h) + 2 * h + (h * f + f) + (f * h + h) + 2 * h
        embeddings = (self.vocab + self.max_positions + 2) * h + 2 * h
        heads = (h * h + h) + (h * h + h) + 2 * h + self.vocab + 2 * h + 2
        return self.layers * layer + embeddings + heads


SCALES = {
    "full": Scale("full", layers=24, hidden=768, heads=12, intermediate=3072, vocab=30522),
    "small": Scale("small", layers=2, hidden=128, heads=2, intermediate=512, vocab=1000),
    "tiny": Scale(
        "tiny", layers=1, hidden=16, heads=2, intermediate=32, vocab=50, max_positions=32, seq=8
    ),
}


@dataclasses.dataclass(frozen=True)
class Artifacts:
    """Where one scale's files are. ``before``/``after`` are checkpoint prefixes (``None`` for
    graph-only scales); ``meta`` is the ``.meta`` file."""

    folder: Path
    meta: Path
    before: Path | None
    after: Path | None
    info: dict


def scale_for_ops(ops: int, base: Scale | str = "full") -> Scale:
    """A graph-only scale with ``base``'s blocks and as many layers as make ~``ops`` ops.

    The op count per layer does not depend on the sizes, so it is measured on two tiny graphs
    (1 and 2 layers)."""
    base = SCALES[base] if isinstance(base, str) else base
    probe = SCALES["tiny"]
    one = _count_ops(dataclasses.replace(probe, layers=1))
    two = _count_ops(dataclasses.replace(probe, layers=2))
    layers = max(1, round((ops - (one - (two - one))) / (two - one)))
    name = f"ops{ops}" if base.name == "full" else f"{base.name}-ops{ops}"
    return dataclasses.replace(base, name=name, layers=layers, checkpoints=False)


def _count_ops(scale: Scale) -> int:
    graph, _ = build_graph(scale)
    return len(graph.as_graph_def(add_shapes=False).node)


# ---------------------------------------------------------------------------------------------
# The graph
# ---------------------------------------------------------------------------------------------
def build_graph(scale: Scale):
    """Build the BERT-like training graph in a new ``tf.Graph``; return ``(graph, handles)``."""
    import tensorflow as tf

    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(0)
        # Reference variables (VariableV2), as the TF1 BERT code and its checkpoints have them.
        with v1.variable_scope("", use_resource=False):
            handles = _bert(scale, tf, v1)
    return graph, handles


def _bert(s: Scale, tf, v1):
    init = v1.truncated_normal_initializer(stddev=0.02)
    batch, seq, h = s.batch, s.seq, s.hidden
    head = h // s.heads
    with v1.name_scope("inputs"):
        input_ids = v1.placeholder(tf.int32, [batch, seq], name="input_ids")
        input_mask = v1.placeholder(tf.int32, [batch, seq], name="input_mask")
        token_type_ids = v1.placeholder(tf.int32, [batch, seq], name="token_type_ids")
        lm_labels = v1.placeholder(tf.int32, [batch, seq], name="masked_lm_ids")
        lm_weights = v1.placeholder(tf.float32, [batch, seq], name="masked_lm_weights")
        ns_labels = v1.placeholder(tf.int32, [batch], name="next_sentence_labels")

    def dense(x, units, name, activation=None):
        with v1.variable_scope(name):
            kernel = v1.get_variable("kernel", [x.shape[-1], units], initializer=init)
            bias = v1.get_variable("bias", [units], initializer=v1.zeros_initializer())
            y = tf.nn.bias_add(tf.matmul(x, kernel), bias)
            return activation(y) if activation else y

    def layer_norm(x, name="LayerNorm"):
        with v1.variable_scope(name):
            beta = v1.get_variable("beta", [x.shape[-1]], initializer=v1.zeros_initializer())
            gamma = v1.get_variable("gamma", [x.shape[-1]], initializer=v1.ones_initializer())
            mean, variance = tf.nn.moments(x, [-1], keepdims=True)
            return tf.nn.batch_normalization(x, mean, variance, beta, gamma, 1e-12)

    def dropout(x):
        return tf.nn.dropout(x, rate=0.1)

    def gelu(x):
        cdf = 0.5 * (1.0 + tf.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * tf.pow(x, 3))))
        return x * cdf

    with v1.variable_scope("bert"):
        with v1.variable_scope("embeddings"):
            word_table = v1.get_variable("word_embeddings", [s.vocab, h], initializer=init)
            words = tf.gather(word_table, tf.reshape(input_ids, [-1]))
            type_table = v1.get_variable("token_type_embeddings", [2, h], initializer=init)
            types = tf.matmul(tf.one_hot(tf.reshape(token_type_ids, [-1]), depth=2), type_table)
            position_table = v1.get_variable(
                "position_embeddings", [s.max_positions, h], initializer=init
            )
            positions = tf.slice(position_table, [0, 0], [seq, -1])
            x = tf.reshape(words + types, [batch, seq, h]) + positions
            x = dropout(layer_norm(x))
        with v1.name_scope("attention_mask"):
            mask = tf.cast(tf.reshape(input_mask, [batch, 1, 1, seq]), tf.float32)
            adder = (1.0 - mask) * -10000.0
        x = tf.reshape(x, [batch * seq, h])
        with v1.variable_scope("encoder"):
            for i in range(s.layers):
                with v1.variable_scope(f"layer_{i}"):
                    x = _block(x, s, head, adder, dense, layer_norm, dropout, gelu, tf, v1)
        sequence = tf.reshape(x, [batch, seq, h])
        with v1.variable_scope("pooler"):
            first = tf.squeeze(sequence[:, 0:1, :], axis=1)
            pooled = dense(first, h, "dense", tf.tanh)
    with v1.variable_scope("cls/predictions"):
        with v1.variable_scope("transform"):
            t = layer_norm(dense(x, h, "dense", gelu))
        output_bias = v1.get_variable("output_bias", [s.vocab], initializer=v1.zeros_initializer())
        logits = tf.nn.bias_add(tf.matmul(t, word_table, transpose_b=True), output_bias)
        log_probs = tf.nn.log_softmax(logits, axis=-1)
        one_hot = tf.one_hot(tf.reshape(lm_labels, [-1]), depth=s.vocab, dtype=tf.float32)
        per_example = -tf.reduce_sum(log_probs * one_hot, axis=[-1])
        weights = tf.reshape(lm_weights, [-1])
        lm_loss = tf.reduce_sum(weights * per_example) / (tf.reduce_sum(weights) + 1e-5)
    with v1.variable_scope("cls/seq_relationship"):
        ns_weights = v1.get_variable("output_weights", [2, h], initializer=init)
        ns_bias = v1.get_variable("output_bias", [2], initializer=v1.zeros_initializer())
        ns_logits = tf.nn.bias_add(tf.matmul(pooled, ns_weights, transpose_b=True), ns_bias)
        ns_log_probs = tf.nn.log_softmax(ns_logits, axis=-1)
        ns_loss = -tf.reduce_mean(tf.reduce_sum(tf.one_hot(ns_labels, 2) * ns_log_probs, -1))
    with v1.name_scope("loss"):
        loss = tf.add(lm_loss, ns_loss, name="total_loss")
    global_step = v1.train.get_or_create_global_step()
    with v1.name_scope("train"):
        train_op = v1.train.AdamOptimizer(1e-4).minimize(loss, global_step=global_step)
    v1.add_to_collection("train_op", train_op)
    v1.add_to_collection("losses", loss)
    v1.summary.scalar("loss", loss)
    feeds = {
        "inputs/input_ids:0": ("int", s.vocab),
        "inputs/input_mask:0": ("ones", None),
        "inputs/token_type_ids:0": ("int", 2),
        "inputs/masked_lm_ids:0": ("int", s.vocab),
        "inputs/masked_lm_weights:0": ("ones", None),
        "inputs/next_sentence_labels:0": ("int", 2),
    }
    return {"loss": loss, "train_op": train_op, "global_step": global_step, "feeds": feeds}


def _block(x, s, head, adder, dense, layer_norm, dropout, gelu, tf, v1):
    """One transformer block on ``x`` of shape [batch * seq, hidden]."""
    batch, seq, h, heads = s.batch, s.seq, s.hidden, s.heads

    def split_heads(t):
        return tf.transpose(tf.reshape(t, [batch, seq, heads, head]), [0, 2, 1, 3])

    with v1.variable_scope("attention"):
        with v1.variable_scope("self"):
            q = split_heads(dense(x, h, "query"))
            k = split_heads(dense(x, h, "key"))
            v = split_heads(dense(x, h, "value"))
            scores = tf.matmul(q, k, transpose_b=True) * (1.0 / math.sqrt(head)) + adder
            probs = dropout(tf.nn.softmax(scores))
            context = tf.reshape(tf.transpose(tf.matmul(probs, v), [0, 2, 1, 3]), [batch * seq, h])
        with v1.variable_scope("output"):
            attention = layer_norm(dropout(dense(context, h, "dense")) + x)
    with v1.variable_scope("intermediate"):
        inner = dense(attention, s.intermediate, "dense", gelu)
    with v1.variable_scope("output"):
        return layer_norm(dropout(dense(inner, h, "dense")) + attention)


# ---------------------------------------------------------------------------------------------
# Writing the artifacts
# ---------------------------------------------------------------------------------------------
def generate(scale: Scale | str, root: str | os.PathLike = DATA_DIR, *, log=print) -> Artifacts:
    """Write ``scale``'s artifacts under ``root/<scale.name>`` (or reuse them); return where
    they are."""
    if isinstance(scale, str):
        scale = SCALES[scale]
    folder = Path(root) / scale.name
    params_file = folder / "params.json"
    wanted = dataclasses.asdict(scale)
    if params_file.is_file():
        info = json.loads(params_file.read_text())
        if info.get("scale") == wanted:
            log(f"reusing {folder}")
            return _artifacts(folder, scale, info)
    folder.mkdir(parents=True, exist_ok=True)
    params_file.unlink(missing_ok=True)
    for old in folder.iterdir():  # a stale or interrupted run
        old.unlink()
    started = time.perf_counter()
    log(f"building the {scale.name} graph ({scale.layers} layers, hidden {scale.hidden}) ...")
    graph, handles = build_graph(scale)
    ops = len(graph.as_graph_def(add_shapes=False).node)
    log(f"  {ops} ops ({time.perf_counter() - started:.1f} s)")
    if scale.checkpoints:
        _train_and_save(graph, handles, scale, folder, log)
    else:
        import tensorflow as tf

        with graph.as_default():
            tf.compat.v1.train.export_meta_graph(str(folder / "graph.meta"), graph=graph)
    info = {
        "scale": wanted,
        "ops": ops,
        "params": scale.params,
        "seconds": round(time.perf_counter() - started, 1),
    }
    params_file.write_text(json.dumps(info, indent=1))
    log(f"  wrote {folder} in {info['seconds']} s")
    return _artifacts(folder, scale, info)


def _train_and_save(graph, handles, scale: Scale, folder: Path, log) -> None:
    import numpy as np
    import tensorflow as tf

    v1 = tf.compat.v1
    rng = np.random.default_rng(0)
    feed = {}
    for name, (kind, high) in handles["feeds"].items():
        tensor = graph.get_tensor_by_name(name)
        shape = tensor.shape.as_list()
        if kind == "ones":
            feed[tensor] = np.ones(shape, dtype=tensor.dtype.as_numpy_dtype)
        else:
            feed[tensor] = rng.integers(0, high, size=shape).astype(tensor.dtype.as_numpy_dtype)
    with graph.as_default():
        saver = v1.train.Saver(max_to_keep=5)
        config = v1.ConfigProto(intra_op_parallelism_threads=2, inter_op_parallelism_threads=2)
        with v1.Session(graph=graph, config=config) as session:
            session.run(v1.global_variables_initializer())
            prefix = str(folder / "model.ckpt")
            saver.save(session, prefix, global_step=0)
            log("  saved model.ckpt-0")
            loss, _ = session.run([handles["loss"], handles["train_op"]], feed_dict=feed)
            saver.save(session, prefix, global_step=1)
            log(f"  one step (loss {loss:.3f}); saved model.ckpt-1")


def _artifacts(folder: Path, scale: Scale, info: dict) -> Artifacts:
    if scale.checkpoints:
        before, after = folder / "model.ckpt-0", folder / "model.ckpt-1"
        return Artifacts(folder, Path(f"{after}.meta"), before, after, info)
    return Artifacts(folder, folder / "graph.meta", None, None, info)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--small", action="store_true", help="2 layers, hidden 128")
    group.add_argument("--scale", choices=sorted(SCALES), help="a named scale")
    group.add_argument("--ops", type=int, help="a graph-only scale of about this many ops")
    parser.add_argument("--out", default=str(DATA_DIR), help="output root (default bench/data)")
    args = parser.parse_args(argv)
    if args.ops:
        scale = scale_for_ops(args.ops)
    else:
        scale = SCALES["small" if args.small else args.scale or "full"]
    artifacts = generate(scale, args.out)
    print(json.dumps({"folder": str(artifacts.folder), **artifacts.info}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
