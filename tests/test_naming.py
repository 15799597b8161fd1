"""What checkpoint keys mean: TF1 slots, optimizer state, TF2 object paths and object graphs."""

from __future__ import annotations

import pytest

from tfexplore.naming import (
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
        ("W/Adam", ["V"], None),                       # the variable is absent
        ("W/Custom", ["W", "W/Custom"], None),         # unknown name used once
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
        "global_step": (), "beta1_power": (), "train/beta2_power_1": (),
        "W": (2,), "W/Adam": (2,), "W/Adam_1": (2,), "dense/kernel": (2, 2),
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
        "model/dense/kernel/.ATTRIBUTES/VARIABLE_VALUE", "optimizer", "m"
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
        "slot", variable, "optimizer"
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
    assert kernel.full_name.endswith("dense/kernel")
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
