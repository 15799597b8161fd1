"""The rewrite panel without a browser: its model (``tfexplore.ui.rewrite``) and the widget
(``RewritePanel``, clicks are ``Button.click()`` and the table's ``clicked`` trait) on the
Google-style BERT checkpoint and its Keras model: rows side by side, colours by confidence,
an edit that changes the plan and its checks, a write that plain TensorFlow restores, and
names from a file that stay text."""

from __future__ import annotations

import re

import numpy as np
import pytest

import tfexplore
from tfexplore import demo
from tfexplore.errors import RewriteError
from tfexplore.ui.rewrite import RewriteModel, confidence_tier, parse_ints, parse_rules

pytest.importorskip("ipywidgets")
tf = pytest.importorskip("tensorflow")

POOLER = "bert/pooler/dense/kernel"
HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    return demo.make_bert_checkpoint(tmp_path_factory.mktemp("bert"))


@pytest.fixture(scope="module")
def keras_model():
    return demo.make_bert_keras_model()


def _row_classes(table_html: str) -> dict[str, str]:
    """``{data-source: class attribute}`` of the table's rows."""
    return {
        source: classes
        for classes, source in re.findall(
            r"<tr class='(tfx-rw-row[^']*)' data-source='([^']*)'", table_html
        )
    }


# == rows and colours ==========================================================================
def test_rows_side_by_side_coloured_by_confidence(bert, keras_model):
    model = RewriteModel(bert, to=keras_model)
    header = model.header()
    assert header["tensors"] == 118 and header["ready"] and header["problems"] == 0
    assert model.header_text().endswith("0 problems, 0 warnings · ready to write")
    rows = model.rows().set_index("source")
    truth = demo.bert_keras_names()
    assert len(rows) == 118
    for key, path in truth.items():  # the source on the left, its target on the right
        assert rows.loc[key, "target"] == path
        assert rows.loc[key, "source_shape"] == rows.loc[key, "target_shape"]
        assert rows.loc[key, "target_dtype"] == "float32"
    table = model.plan.table.set_index("source")
    classes = _row_classes(model.table_html())
    assert len(classes) == 118
    seen = set()
    for key in truth:
        confidence = table.loc[key, "confidence"]
        tier = "high" if confidence >= 0.9 else "mid" if confidence >= 0.6 else "low"
        assert rows.loc[key, "tier"] == tier and f"tfx-rw-{tier}" in classes[key], key
        seen.add(tier)
    assert {"high", "mid"} <= seen  # the BERT pair has both, so both colours are drawn
    assert all("tfx-rw-drop" in classes[k] for k in table.index[table["action"] == "drop"])
    # the tiers' thresholds, and rules and your own edits stay neutral
    assert confidence_tier("rename", "t", 0.95, "proposed: name") == "high"
    assert confidence_tier("rename", "t", 0.9, "proposed: name") == "high"
    assert confidence_tier("rename", "t", 0.6, "proposed: name") == "mid"
    assert confidence_tier("rename", "t", 0.59, "proposed: name") == "low"
    assert confidence_tier("rename", None, None, None) == "low"
    assert confidence_tier("rename", "t", 1.0, "set by you") == "rule"
    assert confidence_tier("rename", "t", 1.0, "prefix 'bert/' -> ''") == "rule"
    assert confidence_tier("drop", None, 1.0, "drop rule") == "drop"
    # every tier has a light colour and a dark twin, the dark one for JupyterLab's dark themes
    style = model.header_html()
    for tier in ("high", "mid", "low"):
        assert f".tfx-rw-{tier}{{background:" in style
        assert f"body[data-jp-theme-light='false'] .tfx-rw-{tier}{{background:" in style


def test_a_large_plan_draws_the_first_rows_and_counts_the_rest(bert):
    model = RewriteModel(bert, max_rows=50)  # no target: rules only, every row kept
    html = model.table_html()
    assert "showing 50 of 118 rows" in html
    assert html.count("<tr class='tfx-rw-row") == 50
    # the filter is tfexplore's one search syntax, on the source or the target name
    assert len(model.rows("pooler kernel")) == 3  # the kernel and its two Adam slots
    assert len(model.rows("re:layer_1/.*query/kernel$")) == 1
    assert len(model.rows("*/adam_m")) == 39
    assert "no rows match &#x27;nothing-like-this&#x27;" in model.table_html("nothing-like-this")


# == editing ===================================================================================
def test_editing_a_row_in_the_panel_changes_the_plan_and_the_checks(bert, keras_model):
    from tfexplore.widgets import RewritePanel

    assert tfexplore.RewritePanel is RewritePanel  # exported lazily, as the other widgets
    panel = RewritePanel(bert, to=keras_model)
    assert "ready to write" in panel.header.value
    # one wrong mapping: the pooler onto the first query kernel
    panel.edit(POOLER, target="layer_0_query/kernel")
    table = panel.plan.table.set_index("source")
    assert table.loc[POOLER, "target"] == "layer_0_query/kernel"
    assert table.loc[POOLER, "action"] == "rename" and table.loc[POOLER, "why"] == "set by you"
    assert "2 problems" in panel.header.value and "ready to write" not in panel.header.value
    rows = panel.model.rows()
    first = rows.iloc[0]  # what nothing fills comes first, then the rows with problems
    assert first["target"] == "pooler/kernel" and first["severity"] == "error"
    assert "nothing fills this variable" in first["message"]
    problem_rows = rows[rows["severity"] == "error"]["source"].dropna().tolist()
    assert set(problem_rows) == {POOLER, "bert/encoder/layer_0/attention/self/query/kernel"}
    assert "2 sources write &#x27;layer_0_query/kernel&#x27;" in panel.table.html
    classes = _row_classes(panel.table.html)
    assert "tfx-rw-problem" in classes[POOLER] and "tfx-rw-rule" in classes[POOLER]
    assert "data-target='pooler/kernel'" in panel.table.html
    # fixed as a person does it: click the pooler row, then the target nothing fills, Apply
    panel.table.clicked = {"source": POOLER, "n": 1}
    assert panel.source == POOLER and panel.source_box.value == POOLER
    assert panel.target_box.value == "layer_0_query/kernel"  # the row as it is now
    assert panel.target_box.options[0] == "pooler/kernel"  # best fit: same shape, free
    assert "tfx-rw-selected" in _row_classes(panel.table.html)[POOLER]
    panel.table.clicked = {"target": "pooler/kernel", "n": 2}
    assert panel.target_box.value == "pooler/kernel" and panel.source == POOLER
    panel.apply_button.click()
    assert panel.error == ""
    assert panel.plan.ok and "ready to write" in panel.header.value
    assert panel.plan.table.set_index("source").loc[POOLER, "target"] == "pooler/kernel"
    assert "applied: bert/pooler/dense/kernel: rename → pooler/kernel" in panel.edit_status.value


def test_actions_and_their_parameters_through_the_panel(bert, keras_model):
    from tfexplore.widgets import RewritePanel

    panel = RewritePanel(bert, to=keras_model)
    panel.select(POOLER)
    panel.action_box.value = "transpose"
    assert panel.perm_box.layout.display is None and panel.axis_box.layout.display == "none"
    panel.perm_box.value = "1, 0"
    panel.apply_button.click()
    table = panel.plan.table.set_index("source")
    assert table.loc[POOLER, "action"] == "transpose" and table.loc[POOLER, "perm"] == (1, 0)
    assert panel.plan.ok  # an [8, 8] kernel transposed still fits
    panel.edit("bert/pooler/dense/bias", action="drop")
    assert panel.target_box.disabled
    problems = panel.plan.problems
    assert problems["check"].tolist() == ["not_filled"]
    assert problems["target"].tolist() == ["pooler/bias"]
    assert "1 problems" in panel.header.value
    # a typo in a parameter is shown in the panel, the plan is left as it was
    panel.select(POOLER)
    panel.action_box.value = "reshape"
    panel.shape_box.value = "8, x"
    panel.apply_button.click()
    assert (
        "to_shape must be whole numbers" in panel.error and "RewriteError" in panel.error_box.value
    )
    assert panel.plan.table.set_index("source").loc[POOLER, "action"] == "transpose"
    assert parse_ints("[2, 6]", "to_shape") == (2, 6) and parse_ints(" ", "perm") is None


# == writing ===================================================================================
def test_write_from_the_panel_restores_into_the_keras_model(bert, keras_model, tmp_path):
    from tfexplore.widgets import RewritePanel

    panel = RewritePanel(bert, to=keras_model)
    panel.edit(POOLER, target="layer_0_query/kernel")
    panel.path_box.value = str(tmp_path / "bad" / "model.ckpt")
    panel.write_button.click()  # problems: nothing is written, the reason is in the panel
    assert "The plan has 2 problems; nothing was written" in panel.write_box.value
    assert panel.written == "" and not (tmp_path / "bad").exists()
    panel.edit(POOLER, target="pooler/kernel")
    panel.path_box.value = str(tmp_path / "converted" / "model.ckpt")
    panel.write_button.click()
    prefix = str(tmp_path / "converted" / "model.ckpt")
    assert panel.error == "" and panel.written == prefix
    assert prefix in panel.write_box.value
    assert (
        f"tf.train.Checkpoint(model=model).restore({prefix!r}).assert_existing_objects_matched()"
        in panel.write_box.value.replace("&#x27;", "'")
    )
    fresh = demo.make_bert_keras_model()
    tf.train.Checkpoint(model=fresh).restore(prefix).assert_existing_objects_matched()
    weights = {w.path: w.numpy() for w in fresh.weights}
    source = tfexplore.open(bert)
    for key, path in demo.bert_keras_names().items():
        np.testing.assert_array_equal(weights[path], source.read(key), err_msg=key)
    # writing again over it needs "overwrite"
    panel.write_button.click()
    assert "Error" in panel.write_box.value and panel.error
    panel.overwrite.value = True
    panel.write_button.click()
    assert panel.error == "" and "&#10003; written" in panel.write_box.value
    # the code fold shows plan.as_code() once opened
    assert panel.code_html.value == ""
    panel.code_fold.selected_index = 0
    assert "tf.train.Checkpoint" in panel.code_html.value or "tf." in panel.code_html.value


def test_rules_typed_in_the_panel_plan_again(bert, tmp_path):
    from tfexplore.widgets import RewritePanel

    panel = RewritePanel(bert)  # no target: rules only
    assert "118 keep" in panel.header.value
    panel.rules_box.value = "bert/=\nre:^encoder/layer_(\\d+)/=blocks/\\1/"
    panel.drop_box.value = "re:adam_[mv]$"
    panel.rules_button.click()
    assert panel.error == ""
    table = panel.plan.table.set_index("source")
    assert table.loc[POOLER, "target"] == "pooler/dense/kernel"
    assert (
        table.loc["bert/encoder/layer_1/output/dense/bias", "target"]
        == "blocks/1/output/dense/bias"
    )
    assert table.loc[POOLER + "/adam_m", "action"] == "drop"
    assert "78 drop" in panel.header.value and "ready to write" in panel.header.value
    written = panel.write(tmp_path / "renamed" / "model.ckpt")
    assert "tf.compat.v1.train.Saver().restore(sess" in panel.write_box.value
    keys = set(tf.train.load_checkpoint(str(written.prefix)).get_variable_to_shape_map())
    assert "pooler/dense/kernel" in keys and not any("adam" in k for k in keys)
    # a rule that does not parse is said in the panel
    panel.rules_box.value = "no equals sign here"
    panel.rules_button.click()
    assert "A rename rule reads OLD=NEW" in panel.error
    assert parse_rules("a/=b/; scope:x=y") == {"prefix": {"a/": "b/"}, "scope": {"x": "y"}}


def test_planning_again_keeps_the_rows_edited_by_hand(bert):
    """Rules typed after an edit apply to the other rows: the edit is yours and stays."""
    from tfexplore.widgets import RewritePanel

    panel = RewritePanel(bert)
    panel.edit(POOLER, target="head/pooler/kernel")
    panel.edit("bert/pooler/dense/bias", action="drop")
    panel.set_rules("bert/=", "re:adam_[mv]$")
    table = panel.plan.table.set_index("source")
    assert table.loc[POOLER, "target"] == "head/pooler/kernel"  # the edit, not the rule
    assert table.loc[POOLER + "/adam_m", "action"] == "drop"  # the rule drops every slot
    assert table.loc["bert/pooler/dense/bias", "action"] == "drop"
    assert table.loc["bert/embeddings/word_embeddings", "target"] == "embeddings/word_embeddings"
    assert panel.model.replayed == {
        "kept": [POOLER, "bert/pooler/dense/bias"],
        "gone": [],
    }
    assert "your 2 row edits kept" in panel.edit_status.value
    assert panel.plan.ok, panel.plan.problems


# == hostile names =============================================================================
def test_names_from_a_file_are_shown_as_text(tmp_path):
    from tfexplore.edit.bundle_writer import write_bundle
    from tfexplore.widgets import RewritePanel

    prefix = tmp_path / "evil" / "model.ckpt"
    prefix.parent.mkdir()
    script = "x/<script>alert(2)</script>"
    quote = "q' onmouseover='alert(3)"
    write_bundle(
        prefix,
        [(HOSTILE, np.ones(3, "float32")), (script, np.zeros(2, "float32")), (quote, np.ones(1))],
    )
    panel = RewritePanel(prefix)
    panel.edit(script, target="<b>bold</b>")
    shown = panel.header.value + panel.table.html + panel.edit_status.value
    for raw in (HOSTILE, "<script>", "<b>bold</b>", "onmouseover='alert"):
        assert raw not in shown
    assert "&lt;img src=x onerror=alert(1)&gt;" in panel.table.html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in panel.table.html
    assert "data-source='q&#x27; onmouseover=&#x27;alert(3)'" in panel.table.html
    # the row is still found by its real name (the browser unescapes the attribute)
    panel.table.clicked = {"source": HOSTILE, "n": 1}
    assert panel.source == HOSTILE and panel.target_box.value == HOSTILE
    written = panel.write(tmp_path / "out" / "model.ckpt")
    assert HOSTILE in set(tfexplore.open(written.prefix).variables["name"])
    assert HOSTILE not in panel.write_box.value
    with pytest.raises(RewriteError):
        RewriteModel(prefix).apply("not there", target="x")


# == in explore() ==============================================================================
def test_explore_has_a_rewrite_tab_fitting_the_model_or_the_session(
    bert, keras_model, demo_run, copy_of
):
    from tfexplore.widgets import explore

    view = explore(bert, model=keras_model)
    assert "Rewrite" in view.tab_titles and "Rewrite" not in view.built_tabs
    view.open_tab("Rewrite")
    panel = view.rewrite_panel
    assert panel.model.target is not None and panel.model.target.label == "bert_encoder"
    assert "ready to write" in panel.header.value
    # a TF1 run without model=: rules only until a session runs, then its graph is the target
    run = copy_of(demo_run)
    view = explore(run)
    view.open_tab("Rewrite")
    assert view.rewrite_panel.model.target is None
    assert (
        "No target: type rename rules"
        in view._pages[view.tab_titles.index("Rewrite")].children[0].value
    )
    view.start_session()
    try:
        view.open_tab("Rewrite")
        target = view.rewrite_panel.model.target
        assert target is not None and target.style == "name_based"
        assert "layer1/W" in target.by_name
        assert view.rewrite_panel.plan.ok, view.rewrite_panel.plan.problems
    finally:
        view.session.close()
