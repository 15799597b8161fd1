"""The live-session widgets without a browser: TrainPanel, RestorePanel, TensorPicker and
explore(), over real TensorFlow sessions of the demo run (always a copy: training and saving
write). The comm is ipywidgets' default (no front end); clicks are ``Button.click()``."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal

import numpy as np
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("matplotlib")

import tensorflow as tf  # noqa: E402

from tfexplore import session
from tfexplore.demo import regression_data
from tfexplore.ui.explore import ExploreModel
from tfexplore.ui.restore import checkpoint_choices
from tfexplore.ui.tensors import TensorIndex
from tfexplore.ui.training import FeedCursor, Throttle, batch_size
from tfexplore.widgets import RestorePanel, TensorPicker, TrainPanel, explore

v1 = tf.compat.v1
X, Y = regression_data()
FEED = {"inputs/x": X, "inputs/y": Y}


@pytest.fixture
def run_copy(demo_run, copy_of):
    return copy_of(demo_run)


@pytest.fixture
def live(run_copy):
    with session(run_copy) as opened:
        yield opened


def _frozen_clock():
    return 0.0


# -- TrainPanel ------------------------------------------------------------------------------
def test_run_advances_global_step_and_plot(live):
    panel = TrainPanel(live, FEED)
    assert panel.global_step == 30 and "30" in panel.step_label.value
    assert panel.plot_points == 0 and panel.png.startswith(b"\x89PNG")
    rows = panel.run(5)
    assert len(rows) == 5 and panel.global_step == 35 == live.eval("global_step")
    assert panel.plot_points == 5 == panel.plot.point_count  # the points the browser draws
    pairs = np.frombuffer(panel.plot.points, dtype="<f8").reshape(-1, 2)
    np.testing.assert_array_equal(pairs[:, 0], rows["global_step"])
    np.testing.assert_allclose(pairs[:, 1], rows["loss"])
    assert panel.plot.x_label == "global_step"
    panel.run(3)
    assert panel.plot_points == 8 and panel.global_step == 38
    assert "ran 3 of 3 steps" in panel.status.value
    assert not panel.running and not panel.run_button.disabled and panel.stop_button.disabled


def test_redraw_throttle_is_respected(live):
    still = TrainPanel(live, FEED, clock=_frozen_clock)  # time never passes: no redraw mid-run
    before = still.redraws
    still.run(20)
    assert still.redraws == before + 1  # only the final one
    ticks = itertools.count(step=0.3)  # 0.3 s between looks: every step may redraw
    busy = TrainPanel(live, FEED)
    busy.throttle = Throttle(0.25, clock=lambda: next(ticks), budget=1.0)  # drawing is free
    before = busy.redraws
    busy.run(6)
    assert busy.redraws == before + 7  # one per step + the final one
    slow = Throttle(0.25, clock=iter([0.0, 0.3, 0.6]).__next__, budget=0.2)
    assert slow.ready()
    slow.spent(0.1)  # a redraw took 0.1 s: wait 0.4 s, not 0.25
    assert [slow.ready(), slow.ready()] == [False, True]  # at 0.3 s no, at 0.6 s yes


def test_stop_ends_the_run_between_steps(live):
    panel = TrainPanel(live)
    started = live.eval("global_step")

    def feed(step):
        if step == 2:
            panel.stop()  # a Stop click arriving while step 2 is prepared
        return FEED

    panel.feed = feed
    rows = panel.run(100)
    assert len(rows) == 3 and live.eval("global_step") == started + 3
    assert rows["global_step"].tolist() == [started + 1, started + 2, started + 3]
    assert "stopped early" in panel.status.value and panel.progress.bar_style == "warning"


def test_kernel_interrupt_stops_a_synchronous_run(live):
    panel = TrainPanel(live)

    def feed(step):
        if step == 4:
            os.kill(os.getpid(), signal.SIGINT)
        return FEED

    panel.feed = feed
    rows = panel.run(50)  # no KeyboardInterrupt escapes
    assert 5 <= len(rows) < 50 and "stopped early" in panel.status.value


def test_background_run_yields_to_the_loop_and_stops_on_request(live):
    panel = TrainPanel(live, FEED, batch_seconds=0.02)
    started = live.eval("global_step")
    ticks = []

    async def scenario():
        task = panel.start(10**6)
        assert panel.running and panel.run_button.disabled and not panel.stop_button.disabled
        while len(ticks) < 5:  # other work gets the loop while training runs
            ticks.append(panel._done)
            await asyncio.sleep(0.05)
        panel.stop_button.click()
        return await task

    done = asyncio.run(scenario())
    assert 0 < done < 10**6 and ticks[-1] > ticks[0]
    assert live.eval("global_step") == started + done == panel.global_step
    assert len(live.history) == done and not panel.running


def test_background_run_keeps_a_callable_feed_counting_across_batches(live):
    seen = []

    def feed(step):
        seen.append(step)
        return FEED

    panel = TrainPanel(live, feed, batch_seconds=0.005)
    asyncio.run(panel._run_in_batches(40))
    assert seen == list(range(40))
    assert FeedCursor({"a": 1}).for_batch(10) == {"a": 1}
    assert batch_size(0.001, 500, target_seconds=0.1) == 100 and batch_size(1.0, 0) == 0


def test_errors_are_shown_in_the_panel(live):
    panel = TrainPanel(live)  # no feed: the placeholders are missing
    panel.run_button.click()  # no event loop here: runs at once, the error is shown
    assert "MissingFeedError" in panel.error_box.value and "inputs/x" in panel.error
    assert not panel.running


def test_an_unexpected_error_in_a_background_run_is_shown_not_lost(live):
    def feed(step):
        if step == 3:
            raise ZeroDivisionError("the user's feed function failed")
        return FEED

    panel = TrainPanel(live, feed, batch_seconds=0.005)
    done = asyncio.run(panel._run_in_batches(50))  # the task ends normally: nothing escapes
    assert done == 3 and not panel.running and panel.stop_button.disabled
    assert "ZeroDivisionError" in panel.error_box.value and "feed function failed" in panel.error
    assert isinstance(panel.last_exception, ZeroDivisionError)
    assert "ran 3 of 50 steps" in panel.status.value


def test_changing_the_steps_field_says_what_run_will_do(live):
    panel = TrainPanel(live, FEED, steps=10)
    panel.steps_box.value = 2500  # before any run: no speed known yet
    assert "next Run: 2,500 steps" in panel.status.value and "about" not in panel.status.value
    panel.run(20)
    panel.steps_box.value = 100_000
    status = panel.status.value
    assert "ran 20 of 20 steps" in status and "next Run: 100,000 steps, about " in status
    seconds_per_step = panel._seconds_per_step
    assert seconds_per_step > 0


def test_durations_read_as_a_person_says_them():
    from tfexplore.widgets.trainpanel import _duration

    assert [_duration(s) for s in (0.01, 2.345, 42, 600, 9000)] == [
        "0.1 s",
        "2.3 s",
        "42 s",
        "10 min",
        "2.5 h",
    ]


def test_snapshot_and_rollback_buttons(live):
    panel = TrainPanel(live, FEED)
    before = live.eval("layer1/W")
    panel.snapshot_button.click()
    assert panel.snapshot_list.options == ("snapshot-1",) and not panel.rollback_button.disabled
    panel.run(10)
    assert panel.global_step == 40 and not np.array_equal(live.eval("layer1/W"), before)
    panel.rollback_button.click()
    assert panel.global_step == 30 and "rolled back" in panel.status.value
    np.testing.assert_array_equal(live.eval("layer1/W"), before)


def test_save_refuses_to_overwrite_unless_ticked(live, tmp_path):
    panel = TrainPanel(live, FEED)
    panel.run(2)
    panel.folder_box.value = str(tmp_path / "out")
    panel.save_button.click()
    assert (tmp_path / "out" / "model.ckpt-32.index").exists() and "saved" in panel.status.value
    panel.save_button.click()
    assert "CheckpointExistsError" in panel.error_box.value
    panel.overwrite_box.value = True
    panel.save_button.click()
    assert panel.error == "" and "saved" in panel.status.value
    panel.folder_box.value = ""
    panel.save_button.click()
    assert "No folder" in panel.error


def test_static_fallback_shows_the_last_plot(live):
    panel = TrainPanel(live, FEED)
    panel.run(3)
    bundle = panel._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "application/vnd.jupyter.widget-view+json" in data
    assert "data:image/png;base64," in data["text/html"] and "33" in data["text/html"]


# -- RestorePanel ----------------------------------------------------------------------------
def _dense_graph(scope: str, weight: str, bias: str):
    graph = tf.Graph()
    with graph.as_default(), v1.variable_scope(scope):
        v1.get_variable(weight, (3, 4))
        v1.get_variable(bias, [4])
    return graph


@pytest.fixture
def renamed(tmp_path):
    """A folder with a checkpoint of ``encoder/W``, ``encoder/b`` (step 7) and a live session
    whose variables are ``enc_layer/weights``, ``enc_layer/bias``."""
    folder = tmp_path / "old"
    graph = _dense_graph("encoder", "W", "b")
    with graph.as_default(), v1.Session() as sess:
        sess.run(v1.global_variables_initializer())
        v1.train.Saver().save(sess, str(folder / "model.ckpt"), global_step=7)
    new_graph = _dense_graph("enc_layer", "weights", "bias")
    sess = v1.Session(graph=new_graph)
    with new_graph.as_default():
        sess.run(v1.global_variables_initializer())
    with session(sess) as opened:
        yield opened, folder
    sess.close()


def test_restore_panel_reports_a_mismatch_and_restores_on_click(renamed):
    live, folder = renamed
    panel = RestorePanel(live, folder)
    assert [label for label, _ in panel.choice.options] and "step 7" in panel.choice.options[0][0]
    report = panel.report
    assert not report.ok and not report.applied
    html = panel.report_box.value
    assert "does not fit" in html and "tfx-status-missing_in_checkpoint" in html
    assert "encoder/W" in html and "enc_layer/weights" in html and "init_from_checkpoint" in html
    before = live.eval("enc_layer/weights")

    panel.restore_button.click()  # no options: refused, nothing restored, the reason shown
    assert "RestoreMismatchError" in panel.error_box.value
    np.testing.assert_array_equal(live.eval("enc_layer/weights"), before)

    panel.use_proposed.value = True  # replans with the proposed mapping
    assert panel.report.ok and "fits" in panel.report_box.value
    panel.restore_button.click()
    assert (
        panel.error == "" and panel.report.applied and "restored 2 variables" in panel.status.value
    )
    expected = tf.train.load_checkpoint(str(folder / "model.ckpt-7")).get_tensor("encoder/W")
    np.testing.assert_array_equal(live.eval("enc_layer/weights"), expected)


def test_restore_panel_partial_and_folder_listing(live, run_copy):
    choices = checkpoint_choices(run_copy)
    assert [c[0].split(" · ")[0] for c in choices] == ["step 30", "step 20", "step 10"]
    assert choices[0][0].endswith("latest")
    panel = RestorePanel(live, run_copy)
    panel.choice.value = choices[-1][1]  # step 10
    assert panel.report.ok and "fits" in panel.report_box.value
    panel.restore()
    assert live.eval("global_step") == 10
    bundle = panel._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "tfx-report" in data["text/html"]


# -- TensorPicker ----------------------------------------------------------------------------
def test_tensor_picker_searches_and_shows_values_for_a_feed(live):
    picker = TensorPicker(live, feed=FEED)
    names = picker.search("relu")
    assert names[0] == "layer1/relu:0"
    label = picker.match_list.options[0][0]
    assert "float32" in label and "(?, 16)" in label and "Relu" in label
    assert picker.search("layer1 W")[0] == "layer1/W"  # variables first, every word matches
    assert picker.search("op:MatMul") and all("MatMul" in n for n in picker.search("op:MatMul"))

    seen = []
    picker.observe(lambda change: seen.append(change["new"]), "selected")
    picker.search("relu")
    picker.match_list.value = "layer1/relu:0"  # a click in the list
    assert seen == ["layer1/relu:0"] and picker.value.shape == (256, 16)
    assert picker.image.layout.display != "none" and picker.png.startswith(b"\x89PNG")

    picker.select("layer1/b")  # small: numbers
    assert picker.value.shape == (16,) and "<pre" in picker.numbers.value
    assert picker.image.layout.display == "none"

    half = {"inputs/x": X[:10]}
    picker.feed = lambda step: half  # a feed callable; the value follows
    picker.select("layer2/prediction:0")
    assert picker.value.shape == (10, 1)

    picker.feed = FEED  # a scalar keeps the dtype the list shows (not Python's float64)
    picker.select("loss/mse:0")
    assert picker.value.dtype == np.float32 and "float32" in picker.numbers.value

    picker.feed = None
    picker.select("layer1/relu:0")
    assert picker.value is None and "MissingFeedError" in picker.error_box.value


def test_tensor_picker_over_an_artifact_reads_variables_only(run_copy):
    picker = TensorPicker(run_copy)
    assert picker.select("layer1/W").shape == (3, 16)
    assert picker.select("layer1/relu:0") is None
    assert "start a session" in picker.numbers.value and picker.error == ""
    index = TensorIndex(run_copy)
    assert len(index) == len(picker.index) and "layer1/W" in index
    with pytest.raises(KeyError):
        index.entry("layer1/Wx")


# -- explore ---------------------------------------------------------------------------------
def _frozen_pb(folder):
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 3], name="input")
        w = tf.constant(np.ones((3, 2), "float32"), name="dense/W")
        tf.matmul(x, w, name="out")
    tf.io.write_graph(graph.as_graph_def(), str(folder), "frozen.pb", as_text=False)
    return folder / "frozen.pb"


def test_explore_tabs_per_kind_and_no_session_until_asked(
    run_copy, demo_meta, tf2_manager_run, tmp_path
):
    everything = ["Overview", "Graph", "Variables", "Tensors", "Restore and train"]
    # a folder of 3 checkpoints; a checkpoint can be rewritten, a .meta cannot
    folder_tabs = [*everything[:4], "Dynamics", "Rewrite", everything[4]]
    assert ExploreModel(run_copy).tabs == folder_tabs
    assert ExploreModel(demo_meta).tabs == everything
    assert ExploreModel(run_copy / "model.ckpt-20").tabs == [
        *everything[:4],
        "Rewrite",
        everything[4],
    ]
    tf2_tabs = ["Overview", "Variables", "Tensors", "Dynamics", "Rewrite", "Restore and train"]
    assert (
        ExploreModel(tf2_manager_run).tabs == tf2_tabs
        and not ExploreModel(tf2_manager_run).can_train
    )
    assert ExploreModel(_frozen_pb(tmp_path)).tabs == ["Overview", "Graph", "Variables", "Tensors"]

    view = explore(run_copy, feed=FEED)
    assert view.built_tabs == ["Overview"] and view.session is None
    assert "checkpoint" in view.overview.value.lower()
    for title in ["Graph", "Variables", "Tensors", "Restore and train"]:
        view.open_tab(title)
    assert view.session is None and view.train_panel is None  # opening the tab runs nothing
    assert view.graph_view is not None and view.tensor_picker is not None
    view.filter_box.value = "adam_1 layer2"
    assert (
        "layer2/W/Adam_1" in view.variables_table.value
        and "layer1/" not in view.variables_table.value
    )
    table = view.variables_table.value  # the columns a newcomer needs, no NaN/None
    assert (
        "slot_of" in table and "offset" not in table and "NaN" not in table and "None" not in table
    )
    view.all_columns.value = True
    assert "offset" in view.variables_table.value and "partitions" in view.variables_table.value
    view.filter_box.value = "no such variable"
    assert "no variables match &#x27;no such variable&#x27;" in view.variables_table.value

    view.start_button.click()
    assert view.session is not None and view.session.eval("global_step") == 30
    assert view.tensor_picker.index.is_session  # graph tensors can now be evaluated
    # first one line on what was restored, then the train panel; the restore panel is folded
    page = view._pages[view.tab_titles.index("Restore and train")]
    assert page.children[:2] == (view.session_status, view.train_panel)
    line = view.session_status.value
    assert "restored 15 of 15 variables from model.ckpt-30" in line and "global_step 30" in line
    assert view.restore_fold.selected_index is None  # nothing to do there: folded
    assert view.restore_panel.restore_button.description == "Restore again"
    assert "<details class='tfx-report-details'>" in view.restore_panel.report_box.value
    view.train_panel.run(2)
    assert view.session.eval("global_step") == 32
    view.session.close()


def test_explore_shows_errors_in_the_tab(tmp_path, tf2_manager_run):
    view = explore(tf2_manager_run)
    page = view.open_tab("Tensors")
    assert view.tensor_picker is not None and page.children
    bundle = view._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "tfx-explore-static" in data["text/html"]
