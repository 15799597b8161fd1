"""The GraphView widget without a browser: its methods and front-end messages change its
synced traits as expected (the comm is the ipywidgets default: no front end attached)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("anywidget")

from tfexplore.errors import TensorNotFoundError, TFExploreError  # noqa: E402
from tfexplore.explorer import GraphExplorer  # noqa: E402
from tfexplore.widgets import GraphView  # noqa: E402


@pytest.fixture(scope="module")
def view(demo_run):
    return GraphView(demo_run)


def test_starts_collapsed_to_the_top_scopes(view, demo_run):
    boxes = {b["id"]: b for b in view.scene["boxes"]}
    assert {"inputs/", "layer1/", "layer2/", "loss/", "train/"} <= set(boxes)
    assert all(b["fill"].startswith("#") for b in boxes.values())
    assert view.expanded == [] and view.selected == "" and view.detail == {}
    assert {c["name"] for c in view.collections} >= {"train_op", "trainable_variables"}
    assert view.legend and {"label", "color", "count"} <= set(view.legend[0])
    json.dumps(view.get_state())  # everything synced is JSON-ready


def test_expand_and_collapse_relayout(view):
    view.expand("layer1")
    assert view.expanded == ["layer1"]
    ids = {b["id"] for b in view.scene["boxes"]}
    assert {"layer1/", "layer1/relu", "layer1/W/"} <= ids
    view._on_message(view, {"action": "toggle", "id": "layer1/"}, [])  # a click in the browser
    assert view.expanded == [] and "layer1/relu" not in {b["id"] for b in view.scene["boxes"]}


def test_expanded_trait_set_by_the_browser_relayouts(view):
    view.expanded = ["train"]
    assert "train/gradients/" in {b["id"] for b in view.scene["boxes"]}
    view.expanded = []


def test_select_fills_the_detail(view):
    detail = view.select("layer1/MatMul")
    assert view.selected == "layer1/MatMul" and detail is view.detail
    assert detail["op"] == "MatMul"
    assert [i["tensor"] for i in detail["inputs"]] == ["inputs/x:0", "layer1/MatMul/ReadVariableOp:0"]
    assert detail["inputs"][0]["dtype"] == "float32" and detail["inputs"][0]["shape"] == "(?, 3)"
    assert detail["outputs"][0]["tensor"] == "layer1/MatMul:0"
    assert "layer1/add" in detail["outputs"][0]["consumers"]


def test_a_variable_shows_its_collections_and_checkpoint_value(view):
    detail = view.select("layer1/W")
    assert {"trainable_variables", "variables"} <= set(detail["collections"])
    value = detail["variable"]
    assert value["in_checkpoint"] and value["shape"] == "(3, 16)" and value["dtype"] == "float32"
    assert value["min"] <= value["mean"] <= value["max"]


def test_search_reveals_and_selects_the_best_match(view):
    matches = view.search("ResourceApplyAdam")
    assert matches[0] == "train/Adam/update_layer1/W/ResourceApplyAdam"
    assert view.selected == matches[0]
    assert {"train", "train/Adam", "train/Adam/update_layer1"} <= set(view.expanded)
    assert view.focus["id"] == matches[0] and matches[0] in {b["id"] for b in view.scene["boxes"]}
    view.search_query = "no such op at all"
    assert view.matches == []
    view.expanded = []


def test_trace_highlights_collapsed_scopes_and_edges(view):
    ops = view.trace("loss/mse", "inputs")
    assert {"inputs/x", "layer1/W", "loss/mse"} <= ops
    assert {"inputs/", "layer1/", "layer2/", "loss/"} <= set(view.highlight)
    assert "train/" not in view.highlight and view.highlight_edges
    view.expand("layer1")  # the trace follows the new layout
    assert "layer1/relu" in view.highlight
    view.clear_highlight()
    assert view.highlight == [] and view.highlight_edges == []
    view.collapse("layer1")


def test_collection_highlights_its_members(view):
    view.collection = "trainable_variables"
    assert set(view.highlight) == {"layer1/", "layer2/"}
    view.collection = ""
    assert view.highlight == []


def test_color_by_role_changes_fills_and_legend(view):
    view.color_by = "role"
    assert {row["label"] for row in view.legend} >= {"placeholder", "variable", "gradient"}
    inputs = next(b for b in view.scene["boxes"] if b["id"] == "inputs/")
    assert inputs["category"] == "placeholder"
    view.color_by = "op"


def test_errors_show_in_the_widget_and_keep_the_state(view):
    with pytest.raises(TensorNotFoundError):
        view.expand("layer9")
    assert "layer9" in view.error and view.expanded == []
    view._on_message(view, {"action": "reveal", "name": "nope"}, [])  # from the browser: no raise
    assert "nope" in view.error
    view.expand("layer2")
    assert view.error == ""
    view.collapse("layer2")


def test_too_large_an_expansion_is_refused(demo_run):
    from tfexplore.layout import LayoutParams

    small = GraphView(demo_run, params=LayoutParams(max_visible_nodes=12))
    with pytest.raises(TFExploreError, match="collapse a scope"):
        small.expand("train")
    assert small.expanded == [] and "boxes would be visible" in small.error


def test_static_fallback_is_an_svg_picture(view):
    data, _ = view._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    assert data["text/html"].count("<svg") == 1 and "layer1" in data["text/html"]


def test_explorer_accepts_graphs_and_paths(demo_run):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        tf.constant(1.0, name="scope/c")
    assert GraphExplorer(graph).hierarchy.op_names == ["scope/c"]
    assert GraphExplorer(graph.as_graph_def()).expanded == ("scope",)  # a lone scope opens
    assert GraphExplorer(str(demo_run)).checkpoint is not None
