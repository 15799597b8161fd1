"""explore() with TF2/Keras sources: a full .keras file, a CheckpointManager folder restored into
the user's model, a .weights.h5 loaded into it; the RestorePanel and TrainPanel over those
sessions (global_step is the optimizer's iterations; Adam's slots carry on). Real Keras models
trained and saved at test time; widgets driven by ``Button.click()``."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("matplotlib")

import tensorflow as tf  # noqa: E402

from tfexplore.demo import regression_data
from tfexplore.ui.explore import ExploreModel
from tfexplore.ui.training import LossCurve
from tfexplore.widgets import explore

X, Y = regression_data()
MOMENTUM_KEY = "optimizer/_variables/2/.ATTRIBUTES/VARIABLE_VALUE"  # Adam m of the first kernel


def make_model(hidden: int = 8):
    import keras

    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(hidden, activation="relu"), keras.layers.Dense(1)]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    return model


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> dict:
    """One model trained 7 steps, saved as .keras, .weights.h5, legacy .h5, and a TF2
    CheckpointManager folder (ckpt-1 at 7 iterations, ckpt-2 at 10)."""
    folder = tmp_path_factory.mktemp("keras_sources")
    model = make_model()
    for _ in range(7):
        model.train_on_batch(X, Y)
    model.save(folder / "model.keras")
    model.save(folder / "legacy.h5")
    model.save_weights(folder / "model.weights.h5")
    checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer)
    manager = tf.train.CheckpointManager(checkpoint, str(folder / "tf2"), max_to_keep=3)
    manager.save()
    for _ in range(3):
        model.train_on_batch(X, Y)
    manager.save()
    return {"folder": folder}


@pytest.fixture
def sources(saved, tmp_path) -> Path:
    """A writable copy of the saved sources."""
    return Path(shutil.copytree(saved["folder"], tmp_path / "sources"))


def _first_momentum(model) -> np.ndarray:
    return next(v.numpy() for v in model.optimizer.variables if "momentum" in v.path)


def _restores_with_plain_tf(prefix: str) -> tuple[int, object]:
    fresh = make_model()
    fresh.optimizer.build(fresh.trainable_variables)
    tf.train.Checkpoint(model=fresh, optimizer=fresh.optimizer).restore(
        prefix
    ).assert_nontrivial_match()
    return int(fresh.optimizer.iterations.numpy()), fresh


def _page_text(view) -> str:
    def text(widget) -> str:
        own = widget.value if isinstance(getattr(widget, "value", None), str) else ""
        return " ".join([own, *(text(c) for c in getattr(widget, "children", ()))])

    return text(view.open_tab("Restore and train"))


# -- a full .keras file ------------------------------------------------------------------------
def test_keras_file_trains_in_the_tab_and_saves_a_checkpoint(sources, tmp_path):
    path = sources / "model.keras"
    assert ExploreModel(path).can_train and "safe_mode" in ExploreModel(path).session_note()
    view = explore(path, feed=(X, Y))
    assert view.tab_titles[-1] == "Restore and train"
    view.open_tab("Restore and train")
    assert view.session is None  # nothing runs until the button
    view.start_button.click()
    live = view.session
    assert live is not None and live.kind == "tf2 objects"
    model = live._backend.model
    assert view.train_panel.global_step == 7 == int(model.optimizer.iterations.numpy())
    momentum = _first_momentum(model)
    assert np.abs(momentum).sum() > 0  # Adam's state came back from the file

    panel = view.train_panel
    panel.steps_box.value = 5
    panel.run_button.click()  # no event loop: runs now
    assert panel.error == "" and panel.global_step == 12
    assert live.history["global_step"].tolist() == [8, 9, 10, 11, 12]
    assert np.isfinite(live.history["loss"]).all() and panel.plot_points == 5

    panel.folder_box.value = str(tmp_path / "resumed")
    panel.save_button.click()
    prefix = str(tmp_path / "resumed" / "model.ckpt-12")
    assert panel.error == "" and Path(prefix + ".index").exists()
    iterations, fresh = _restores_with_plain_tf(prefix)
    assert iterations == 12
    np.testing.assert_allclose(fresh.layers[0].kernel.numpy(), model.layers[0].kernel.numpy())
    # the save folder is now listed by a restore panel in the same tab
    assert view.restore_panel is not None
    assert view.restore_panel.choice.options[0][1] == prefix and view.restore_panel.report.ok


def test_keras_file_with_a_lambda_is_refused_unless_trusted(tmp_path):
    import keras

    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Lambda(lambda t: t * 2.0), keras.layers.Dense(1)]
    )
    model.compile(optimizer="adam", loss="mse")
    model.train_on_batch(X, Y)
    model.save(tmp_path / "lambda.keras")
    view = explore(tmp_path / "lambda.keras", feed=(X, Y))
    assert "Lambda" in _page_text(view) and "trust=True" in _page_text(view)
    view.start_button.click()
    assert view.session is None and "UnsafeArtifactError" in _page_text(view)
    trusted = explore(tmp_path / "lambda.keras", feed=(X, Y), trust=True)
    assert trusted.start_session() is not None
    trusted.train_panel.run(2)
    assert trusted.train_panel.global_step == 3


# -- a TF2 CheckpointManager folder with the user's model -------------------------------------
def test_tf2_folder_restores_into_the_model_and_trains(sources, tmp_path):
    folder = sources / "tf2"
    dataset = tf.data.Dataset.from_tensor_slices((X, Y)).batch(64).repeat()
    model = make_model()
    view = explore(folder, model=model, feed=dataset)
    assert "Restores" in view.model.session_note()
    view.open_tab("Restore and train")
    live = view.start_session()
    assert live.global_step == 10 and live.last_restore.ok  # the latest: ckpt-2

    restore = view.restore_panel
    labels = [label for label, _ in restore.choice.options]
    assert len(labels) == 2 and labels[0].endswith("latest")
    older = restore.choice.options[1][1]
    assert older.endswith("ckpt-1")
    restore.choice.value = older
    assert restore.report.ok and "fits" in restore.report_box.value
    restore.restore_button.click()
    assert restore.error == "" and restore.report.applied
    assert "global_step 7" in restore.status.value and live.global_step == 7
    expected = tf.train.load_checkpoint(older).get_tensor(MOMENTUM_KEY)
    np.testing.assert_array_equal(_first_momentum(model), expected)  # the slots of ckpt-1

    panel = view.train_panel
    panel.steps_box.value = 5
    panel.run_button.click()
    assert panel.error == "" and panel.global_step == 12 == int(model.optimizer.iterations.numpy())
    assert live.history["global_step"].tolist() == [8, 9, 10, 11, 12]
    assert np.isfinite(live.history["loss"]).all()
    assert not np.array_equal(_first_momentum(model), expected)  # Adam carried on from there

    panel.folder_box.value = str(folder)  # save beside the others: the list grows
    panel.save_button.click()
    assert panel.error == ""
    assert any(prefix.endswith("model.ckpt-12") for _, prefix in restore.choice.options)
    iterations, fresh = _restores_with_plain_tf(str(folder / "model.ckpt-12"))
    assert iterations == 12
    np.testing.assert_allclose(fresh.layers[1].kernel.numpy(), model.layers[1].kernel.numpy())


def test_a_model_that_does_not_fit_opens_with_the_report(sources):
    view = explore(sources / "tf2", model=make_model(hidden=4), feed=(X, Y))
    view.open_tab("Restore and train")
    live = view.start_session()  # nothing restored, but the session is there to fix it
    assert live is not None and "RestoreMismatchError" in view.session_status.value
    assert view.restore_panel.report is not None and not view.restore_panel.report.ok
    assert "shape_mismatch" in view.restore_panel.report_box.value
    assert view.train_panel is not None


# -- weights files ----------------------------------------------------------------------------
def test_weights_file_needs_a_model_and_trains_with_one(sources):
    path = sources / "model.weights.h5"
    alone = explore(path)
    assert alone.model.needs and "model=" in alone.model.needs
    text = _page_text(alone)
    assert "model=" in text and alone.start_button is None

    model = make_model()
    view = explore(path, model=model, feed=(X, Y))
    live = view.start_session()
    assert view.train_panel.global_step == 7  # the optimizer's state was in the file
    assert np.abs(_first_momentum(model)).sum() > 0
    assert view.restore_panel is None
    view.train_panel.run(5)
    assert live.global_step == 12 and len(live.history) == 5


def test_sources_that_cannot_train_say_what_is_needed(sources, tf2_manager_run):
    tf2 = ExploreModel(sources / "tf2")
    assert not tf2.can_train and tf2.tabs[-1] == "Restore and train"
    assert "model=" in tf2.needs and "TF2" in tf2.needs
    assert "model=" in _page_text(explore(tf2_manager_run))
    legacy = ExploreModel(sources / "legacy.h5")  # a full-model .h5 trains on its own now
    assert legacy.can_train and legacy.needs is None
    assert "training_config" in legacy.session_note()
    live = legacy.open_session()
    assert live.global_step == 7 and live.warning is None
    live.close()
    view = explore(sources / "legacy.h5", model=make_model(), feed=(X, Y))
    assert "optimizer state is not loaded" in view.model.session_note()
    view.start_session()
    view.train_panel.run(2)
    assert view.train_panel.global_step == 2 and view.train_panel.error == ""


def test_loss_curve_reads_only_new_rows():
    curve = LossCurve()
    rows = [{"step": 1, "loss": 2.0}]
    assert curve.update(rows) == 1 and curve.x_label == "step"
    rows += [{"step": 2, "global_step": 11, "loss": 1.0}]
    assert curve.update(rows) == 2 and curve.x_label == "global_step"
    assert curve.y.tolist() == [2.0, 1.0]
    assert curve.update(rows[:1]) == 1  # a shorter history: read again from the start


def test_a_slow_redraw_waits_longer_but_not_forever():
    from tfexplore.ui.training import Throttle

    capped = Throttle(0.25, clock=lambda: 0.0, budget=0.03, max_wait=5.0)
    capped.spent(0.04)  # a 40 ms redraw: ~1.3 s until the next one (3% of the time)
    assert capped.wait == pytest.approx(0.04 * 0.97 / 0.03)
    capped.spent(1.0)  # a very slow one: the plot still moves every 5 s
    assert capped.wait == 5.0
