"""What checkpoint keys mean: TF1 slots, optimizer state, TF2 object paths and object graphs."""

from __future__ import annotations

import re

import pytest

from tfexplore.artifacts.checkpoint.naming import (
    ObjectGraph,
    describe_keys,
    parse_object_key,
    parse_slot_key,
    partition_of,
    tf1_slot,
    unescape_local_name,
)


@pytest.mark.parametrize(
    ("name", "names", "expected"),
    [
        ("W/Adam", ["W", "W/Adam"], ("W", "Adam", "Adam m")),
        ("W/Adam_1", ["W", "W/Adam_1"], ("W", "Adam", "Adam v")),
        ("W/Momentum", ["W"], ("W", "Momentum", "momentum")),
        ("W/RMSProp", ["W"], ("W", "RMSProp", "RMSProp rms")),
        ("W/RMSProp_1", ["W"], ("W", "RMSProp", "RMSProp momentum")),
        ("W/RMSProp_1", ["W", "W/RMSProp_2"], ("W", "RMSProp", "RMSProp mg")),
        ("W/Adagrad", ["W"], ("W", "Adagrad", "accumulator")),
        ("W/Ftrl", ["W"], ("W", "Ftrl", "Ftrl accum")),
        ("W/Ftrl_1", ["W"], ("W", "Ftrl", "Ftrl linear")),
        ("W/Adadelta", ["W"], ("W", "Adadelta", "Adadelta accum")),
        ("W/Adadelta_1", ["W"], ("W", "Adadelta", "Adadelta accum_update")),
        ("a/b/MyAdam_1", ["a/b"], ("a/b", "MyAdam", "Adam v")),
        ("W/AdagradDA", ["W"], ("W", "AdagradDA", "AdagradDA gradient_accumulator")),
        ("W/Adam", ["V"], None),  # the variable is absent
        ("W/Custom", ["W", "W/Custom"], None),  # unknown name used once
        ("W/Opt", ["W", "V", "W/Opt", "V/Opt"], ("W", "Opt", "Opt slot 0")),
        ("Adam", ["Adam"], None),
    ],
)
def test_tf1_slots(name, names, expected):
    assert tf1_slot(name, names + [name]) == expected


def test_slot_needs_the_variable_shape():
    shapes = {"W": (3, 2), "W/Adam": (3, 2), "W/Adam_1": (5,)}
    assert tf1_slot("W/Adam", shapes, shapes) is not None
    assert tf1_slot("W/Adam_1", shapes, shapes) is None


def test_describe_tf1_keys():
    keys = {
        "global_step": (),
        "beta1_power": (),
        "train/beta2_power_1": (),
        "W": (2,),
        "W/Adam": (2,),
        "W/Adam_1": (2,),
        "dense/kernel": (2, 2),
    }
    info = describe_keys(keys)
    assert info["global_step"].role == "step"
    assert info["beta1_power"].role == "optimizer_state"
    assert info["train/beta2_power_1"].role == "optimizer_state"
    assert (info["W/Adam_1"].role, info["W/Adam_1"].slot_of) == ("slot", "W")
    assert info["dense/kernel"].role == "variable"


def test_object_keys():
    key = "model/layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE"
    assert parse_object_key(key) == ("model/layer_with_weights-0/kernel", "VARIABLE_VALUE")
    assert parse_object_key("layer1/W") is None
    slot = "model/dense/kernel/.OPTIMIZER_SLOT/optimizer/m/.ATTRIBUTES/VARIABLE_VALUE"
    assert parse_slot_key(slot) == (
        "model/dense/kernel/.ATTRIBUTES/VARIABLE_VALUE",
        "optimizer",
        "m",
    )
    assert parse_slot_key(key) is None
    assert unescape_local_name("a..b.Sc") == "a.b/c"
    assert partition_of("W/part_3") == ("W", 3)
    assert partition_of("W") is None


def test_describe_tf2_keys_without_graph():
    variable = "model/dense/kernel/.ATTRIBUTES/VARIABLE_VALUE"
    keys = [
        "_CHECKPOINTABLE_OBJECT_GRAPH",
        variable,
        "model/dense/kernel/.OPTIMIZER_SLOT/optimizer/m/.ATTRIBUTES/VARIABLE_VALUE",
        "optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE",
        "save_counter/.ATTRIBUTES/VARIABLE_VALUE",
        "step/.ATTRIBUTES/VARIABLE_VALUE",
    ]
    info = describe_keys(keys)
    assert info[keys[0]].role == "object_graph"
    assert info[variable].object_path == "model/dense/kernel"
    assert (info[keys[2]].role, info[keys[2]].slot_of, info[keys[2]].optimizer) == (
        "slot",
        variable,
        "optimizer",
    )
    assert info[keys[3]].role == "optimizer_state"
    assert info[keys[4]].role == "save_counter"
    assert info[keys[5]].role == "step"


def _object_graph(prefix):
    import tensorflow as tf

    data = tf.train.load_checkpoint(str(prefix)).get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH")
    return ObjectGraph.from_bytes(data, prefix)


def test_keras3_object_graph(keras3_checkpoint):
    import tensorflow as tf

    graph = _object_graph(keras3_checkpoint)
    keys = {name: tuple(shape) for name, shape in tf.train.list_variables(str(keras3_checkpoint))}
    info = describe_keys(keys, graph)
    kernel = info["optimizer/_trainable_variables/0/.ATTRIBUTES/VARIABLE_VALUE"]
    assert kernel.role == "variable"
    assert kernel.object_path == "model/_functional/_operations/1/_kernel"
    assert "optimizer/_trainable_variables/0" in kernel.aliases
    # Keras numbers layer names per process (dense, dense_1, ...): which number depends on
    # the models other tests in this worker built first
    assert re.search(r"/dense(_\d+)?/kernel$", kernel.full_name), kernel.full_name
    momentum = info["optimizer/_variables/2/.ATTRIBUTES/VARIABLE_VALUE"]
    assert (momentum.role, momentum.slot, momentum.slot_of) == ("slot", "Adam m", kernel.name)
    assert "optimizer/_momentums/0" in momentum.aliases
    assert len(graph.optimizer_ids) == 1
    assert all(len(node.paths) <= 8 for node in graph.nodes)


def test_tf2_object_graph(tf2_manager_run):
    graph = _object_graph(tf2_manager_run / "ckpt-3")
    paths = {node.preferred_path for node in graph.nodes}
    assert {"net", "net/w", "net/b", "step", "save_counter"} <= paths
    assert graph.node_of_key["net/w/.ATTRIBUTES/VARIABLE_VALUE"] in range(len(graph.nodes))
    assert graph.slots() == {}


def test_damaged_object_graph_is_corrupt(tmp_path):
    from tfexplore.errors import CorruptArtifactError

    with pytest.raises(CorruptArtifactError, match="object graph"):
        ObjectGraph.from_bytes(b"\xff\xff\xff\xff garbage", tmp_path / "x.index")


def _reference_name_based(name, present, shapes):
    """describe_keys' rule for one TF1 key, written the slow and obvious way."""
    import re

    from tfexplore.artifacts.checkpoint.naming import OBJECT_GRAPH_KEY, KeyInfo

    if name == OBJECT_GRAPH_KEY:
        return KeyInfo(name, role="object_graph")
    if name.rsplit("/", 1)[-1] == "global_step":
        return KeyInfo(name, role="step")
    if re.search(r"(^|/)beta[12]_power(_\d+)?$", name):
        return KeyInfo(name, role="optimizer_state", optimizer="Adam")
    slot = tf1_slot(name, present, shapes)
    if slot is not None and tf1_slot(slot[0], present, shapes) is None:
        variable, optimizer, label = slot
        return KeyInfo(name, role="slot", slot=label, slot_of=variable, optimizer=optimizer)
    return KeyInfo(name)


def test_describe_keys_agrees_with_the_rule_for_each_key():
    # the fast paths of describe_keys (plain variables, memoised slot labels) against the
    # per-key rule, on names mixing every case: slots of many optimizers, centered RMSProp,
    # shape mismatches, slots of slots, LayerNorm betas, steps, unknown optimizers
    import random

    rng = random.Random(3)
    bases = [f"layer_{i}/{part}" for i in range(6) for part in ("kernel", "bias", "beta")]
    suffixes = [
        "Adam",
        "Adam_1",
        "MyAdam",
        "MyAdam_1",
        "RMSProp",
        "RMSProp_1",
        "RMSProp_2",
        "Momentum",
        "Opt",
        "Opt_1",
        "Ftrl_1",
        "Adam_7",
        "ExponentialMovingAverage",
    ]
    for _ in range(40):
        keys = {
            "global_step": (),
            "beta1_power": (),
            "x/beta2_power_3": (),
            "beta": (2,),
            "step/global_step": (),
        }
        for base in rng.sample(bases, 10):
            keys[base] = (rng.choice([2, 3]),)
            for suffix in rng.sample(suffixes, rng.randrange(len(suffixes))):
                keys[f"{base}/{suffix}"] = rng.choice([keys[base], (4,)])
                if rng.random() < 0.2:
                    keys[f"{base}/{suffix}/Adam"] = keys[base]
        shaped = describe_keys(keys)
        unshaped = describe_keys(list(keys))
        present = set(keys)
        for name in keys:
            assert shaped[name] == _reference_name_based(name, present, keys), name
            assert unshaped[name] == _reference_name_based(name, present, None), name
