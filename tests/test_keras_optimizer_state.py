"""The pure matching of a Keras file's optimizer tensors to a built optimizer's variables
(``artifacts.keras.optimizer_state``): names, shapes and order only, no TensorFlow."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from tfexplore.artifacts.keras.optimizer_state import (
    file_owners,
    match_by_name,
    match_by_position,
    scalar_kind,
)


def slot(shape):
    return SimpleNamespace(shape=shape)


def adam_targets():
    # two trainable variables: kernel (3, 2) and bias (2,)
    return {
        "slots": ["momentum", "velocity"],
        "iterations": slot(()),
        "learning_rate": slot(()),
        ("momentum", 0): slot((3, 2)),
        ("velocity", 0): slot((3, 2)),
        ("momentum", 1): slot((2,)),
        ("velocity", 1): slot((2,)),
    }


def frame(rows):
    columns = ["name", "layer", "shape", "role", "slot", "slot_of"]
    return pd.DataFrame([dict(zip(columns, row)) for row in rows], columns=columns)


WEIGHTS = [
    ("dense/kernel:0", "dense", (3, 2), "weight", None, None),
    ("dense/bias:0", "dense", (2,), "weight", None, None),
]


def test_scalar_kinds():
    assert scalar_kind("Adam/iterations:0") == "iterations"
    assert scalar_kind("adam/iter") == "iterations"
    assert scalar_kind("Adam/lr:0") == "learning_rate"
    assert scalar_kind("Adam/decay:0") is None and scalar_kind("beta_1_power") is None
    assert scalar_kind("dense/kernel") is None


def test_owners_pair_the_files_layers_with_the_models():
    owners = file_owners(frame(WEIGHTS), [[0, 1]])
    assert owners == {"dense/kernel:0": 0, "dense/bias:0": 1}
    assert file_owners(frame(WEIGHTS), [[0], [1]]) == {}  # not the same layers
    assert file_owners(frame(WEIGHTS), [[0, None]]) == {"dense/kernel:0": 0}


def test_match_by_name_maps_old_slot_names():
    state = frame(
        [
            ("Adam/iterations:0", None, (), "optimizer", "iterations", None),
            ("Adam/dense/kernel/m:0", None, (3, 2), "optimizer", "m", "dense/kernel:0"),
            ("Adam/dense/bias/m:0", None, (2,), "optimizer", "m", "dense/bias:0"),
            ("Adam/dense/kernel/v:0", None, (3, 2), "optimizer", "v", "dense/kernel:0"),
            ("Adam/dense/bias/v:0", None, (2,), "optimizer", "v", "dense/bias:0"),
        ]
    )
    targets = adam_targets()
    owners = file_owners(frame(WEIGHTS), [[0, 1]])
    plan = match_by_name(state, targets, owners, "adam")
    assert plan[id(targets[("velocity", 1)])][1] == "Adam/dense/bias/v:0"
    assert len(plan) == 5
    assert match_by_name(state.iloc[:3], targets, owners, "adam") is None  # incomplete


def test_match_by_position_tries_the_layouts_in_order():
    unnamed = [("opt/vars/0", None, (), "optimizer", None, None)]
    shapes = [(3, 2), (3, 2), (2,), (2,)]  # interleaved: kernel m, kernel v, bias m, bias v
    unnamed += [
        (f"opt/vars/{i + 1}", None, s, "optimizer", None, None) for i, s in enumerate(shapes)
    ]
    targets = adam_targets()
    plan, how = match_by_position(frame(unnamed), targets, {}, keras3=True)
    assert how == "one slot after another per variable"
    assert plan[id(targets[("velocity", 0)])][1] == "opt/vars/2"
    blocked = [unnamed[0], unnamed[1], unnamed[3], unnamed[2], unnamed[4]]
    plan, how = match_by_position(frame(blocked), targets, {}, keras3=False)
    assert how == "one block per slot" and plan[id(targets[("momentum", 1)])][1] == "opt/vars/3"
    assert match_by_position(frame(unnamed[1:]), targets, {}, keras3=True) == (None, None)
