"""The GraphView widget without a browser: its methods and front-end messages change its
synced traits as expected (the comm is the ipywidgets default: no front end attached)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("anywidget")

from tfexplore.errors import TensorNotFoundError, TFExploreError
from tfexplore.ui.graphview import GraphExplorer
from tfexplore.widgets.graphview import GraphView


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
    assert [i["tensor"] for i in detail["inputs"]] == [
        "inputs/x:0",
        "layer1/MatMul/ReadVariableOp:0",
    ]
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
    from tfexplore.scene.layout import LayoutParams

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


# -- the function library --------------------------------------------------------------
def save_control_flow_module(folder):
    """A real ``tf.saved_model.save`` of a ``tf.Module`` whose ``tf.function`` holds a
    ``tf.cond`` and a ``tf.while_loop`` (TF2 control flow: ``If``/``While`` ops calling
    branch and body functions). Returns the folder."""
    import tensorflow as tf

    class Scaler(tf.Module):
        def __init__(self):
            self.w = tf.Variable(tf.ones([4]), name="w")

        @tf.function(input_signature=[tf.TensorSpec([4], tf.float32)])
        def __call__(self, x):
            y = tf.cond(tf.reduce_sum(x) > 0, lambda: x * self.w, lambda: x - self.w)
            _, y = tf.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, a * 2.0), [0, y])
            return y

    tf.saved_model.save(Scaler(), str(folder))
    return folder


@pytest.fixture(scope="module")
def module_saved_model(tmp_path_factory):
    return save_control_flow_module(tmp_path_factory.mktemp("module") / "saved")


def _call_op(view: GraphView, *, attr: str) -> tuple[str, str]:
    """(op, function) of the first op of the graph shown calling a function through ``attr``."""
    for op in view.explorer.hierarchy.op_names:
        for call in view.explorer.calls(op):
            if call["attr"] == attr:
                return op, call["name"]
    raise AssertionError(f"no op calls a function through {attr!r}")


def test_function_library_is_listed_with_op_counts(module_saved_model):
    view = GraphView(module_saved_model)
    names = {f["name"]: f["op_count"] for f in view.functions}
    assert any(n.startswith("__inference___call__") for n in names)
    assert any(n.startswith("cond_true") for n in names) and any(
        n.startswith("while_body") for n in names
    )
    for name, count in names.items():
        assert count == len(view.explorer.root_graph.functions[name])
    assert view.current_function == "" and view.function_stack == []


def test_call_nodes_lead_into_function_bodies_and_back(module_saved_model):
    view = GraphView(module_saved_model)
    op, wrapper = _call_op(view, attr="f")  # the serving signature's StatefulPartitionedCall
    assert view.select(op)["calls"][0]["name"] == wrapper
    view._on_message(view, {"action": "open_function", "name": wrapper}, [])  # the button
    assert view.current_function == wrapper and view.function_stack == [wrapper]
    assert view.selected == "" and view.scene["function"] == wrapper
    _, body = _call_op(view, attr="f")
    view.open_function(body)  # main > wrapper > __call__ (with the cond and the while loop)
    assert view.function_stack == [wrapper, body]
    if_op, then_branch = _call_op(view, attr="then_branch")
    calls = {c["attr"]: c["name"] for c in view.select(if_op)["calls"]}
    assert calls["then_branch"] == then_branch and "else_branch" in calls
    while_op, loop_body = _call_op(view, attr="body")
    assert {c["attr"] for c in view.select(while_op)["calls"]} == {"cond", "body"}
    view.open_function(loop_body)
    assert view.function_stack == [wrapper, body, loop_body]
    assert {b["id"] for b in view.scene["boxes"]}  # its own layout
    view.back()
    assert view.current_function == body
    view._on_message(view, {"action": "back", "depth": 0}, [])  # the breadcrumb's first link
    assert view.function_stack == [] and op in {b["id"] for b in view.scene["boxes"]}
    view.current_function = then_branch  # the list in the toolbar
    assert view.function_stack == [then_branch]
    view.current_function = ""
    assert view.function_stack == [] and view.collections == view.explorer.collections()


def test_each_graph_keeps_its_own_expanded_scopes(module_saved_model):
    view = GraphView(module_saved_model)
    view.expand("w")
    _, wrapper = _call_op(view, attr="f")
    view.open_function(wrapper)
    assert view.expanded == []
    view.back()
    assert view.expanded == ["w"]


def test_unknown_functions_show_an_error(module_saved_model):
    view = GraphView(module_saved_model)
    with pytest.raises(TensorNotFoundError) as info:
        view.open_function("__inference___call__")
    assert info.value.suggestions and view.function_stack == []
    view.current_function = "no_such_function"
    assert view.current_function == "" and "no_such_function" in view.error


def test_a_keras_export_saved_model_is_browsable(tmp_path):
    keras = pytest.importorskip("keras")
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(1)],
        name="net",  # Keras numbers default names (sequential_3) by what the process made before
    )
    model.export(str(tmp_path / "exported"), verbose=False)
    view = GraphView(tmp_path / "exported")
    assert view.functions and "net/" in {b["id"] for b in view.scene["boxes"]}
    op, wrapper = _call_op(view, attr="f")
    view.open_function(wrapper)
    _, call = _call_op(view, attr="f")
    view.open_function(call)
    ops = {view.explorer.hierarchy.op_types[i] for i in range(len(view.explorer.hierarchy))}
    assert "MatMul" in ops and view.function_stack == [wrapper, call]
    json.dumps(view.get_state())


# -- large graphs ----------------------------------------------------------------------
def _flat_graph_def(count: int):
    """``count`` ops without name scopes: series Add, Mul, Const, Identity (Add_1, ...)."""
    from tensorflow.core.framework import graph_pb2

    graph_def, names = graph_pb2.GraphDef(), []
    types = {"Add": "AddV2", "Mul": "Mul", "Const": "Const", "Identity": "Identity"}
    for i in range(count):
        kind = ("Add", "Mul", "Const", "Identity")[i % 4]
        node = graph_def.node.add(name=kind if i < 4 else f"{kind}_{i // 4}", op=types[kind])
        if names and kind != "Const":
            node.input.extend([names[-1], names[max(0, len(names) - 3)]])
        names.append(node.name)
    return graph_def


def test_a_graph_too_large_for_one_view_opens_in_groups():
    view = GraphView(_flat_graph_def(12_000))
    ids = [b["id"] for b in view.scene["boxes"]]
    assert ids == ["Add_[0-2999]/", "Mul_[0-2999]/", "Const_[0-2999]/", "Identity_[0-2999]/"]
    assert sum(b["op_count"] for b in view.scene["boxes"]) == 12_000
    assert view.select("Add_[0-2999]/")["kind"] == "group"
    view._on_message(view, {"action": "toggle", "id": "Add_[0-2999]/"}, [])  # a click
    assert "Add_[0-2999]/Add_[200-399]/" in {b["id"] for b in view.scene["boxes"]}
    assert view.search("Mul_2345")[0] == "Mul_2345"
    assert view.expanded == ["Add_[0-2999]", "Mul_[0-2999]", "Mul_[0-2999]/Mul_[2200-2399]"]
    assert "Mul_2345" in {b["id"] for b in view.scene["boxes"]}
    view.collapse("Mul_[0-2999]")
    assert "Mul_2345" not in {b["id"] for b in view.scene["boxes"]}


def _bert_like_graph_def(layers=12, small_ops=330):
    """About 25,000 ops shaped like a BERT training graph: embeddings, 12 encoder layers of
    six dense blocks (kernel, bias, MatMul, BiasAdd and many small ops), gradients and Adam."""
    from tensorflow.core.framework import graph_pb2

    graph_def = graph_pb2.GraphDef()

    def add(name, op, inputs=()):
        graph_def.node.add(name=name, op=op).input.extend(inputs)
        return name

    previous = add("input_ids", "Placeholder")
    for part in ("word_embeddings", "position_embeddings", "token_type_embeddings"):
        table = add(f"bert/embeddings/{part}", "VariableV2")
        previous = add(f"bert/embeddings/{part}/read", "Identity", [table, previous])
    blocks = ("attention/self/query", "attention/self/key", "attention/self/value",
              "attention/output/dense", "intermediate/dense", "output/dense")  # fmt: skip
    for layer in range(layers):
        for block in blocks:
            base = f"bert/encoder/layer_{layer}/{block}"
            kernel = add(f"{base}/kernel", "VariableV2")
            read = add(f"{base}/kernel/read", "Identity", [kernel])
            previous = add(
                f"{base}/BiasAdd", "BiasAdd", [add(f"{base}/MatMul", "MatMul", [previous, read])]
            )
            for k in range(small_ops // 2):
                previous = add(f"{base}/ops/op_{k}", ("Mul", "AddV2", "Reshape")[k % 3], [previous])
                gradient = add(f"gradients/{base}/op_{k}_grad/Mul", "Mul", [previous])
                if k % 10 == 0:
                    add(f"Adam/update_{base}/op_{k}", "ApplyAdam", [kernel, gradient])
    add("loss", "Mean", [previous])
    return graph_def


def _timed(label: str, action) -> float:
    import time

    start = time.perf_counter()
    action()
    seconds = time.perf_counter() - start
    print(f"  {label}: {seconds:.3f} s")
    return seconds


def test_timing_of_round_trips_on_a_25000_op_graph():
    """Printed, not asserted (the machine's load varies): each round trip should take well
    under 0.3 s."""
    from tfexplore.graph.model import Graph

    graph = Graph(_bert_like_graph_def())
    print(f"\n{len(graph):,} ops, BERT-like:")
    holder = {}
    _timed("first view", lambda: holder.setdefault("view", GraphView(graph)))
    view = holder["view"]
    _timed("expand bert/encoder", lambda: view.expand("bert/encoder"))
    _timed("expand a layer", lambda: view.expand("bert/encoder/layer_5"))
    _timed("expand a block", lambda: view.expand("bert/encoder/layer_5/attention/self/query"))
    _timed(
        "search (first: TF's op registry loads)", lambda: view.search("layer_7/output/dense/MatMul")
    )
    _timed("search again", lambda: view.search("layer_2/attention/self/key/BiasAdd"))
    _timed("search back", lambda: view.search("layer_7/output/dense/MatMul"))
    _timed("select an op", lambda: view.select("bert/encoder/layer_3/intermediate/dense/BiasAdd"))
    _timed("select a scope", lambda: view.select("bert/encoder/layer_3/"))
    _timed("trace inputs of loss", lambda: view.trace("loss"))
    _timed("collapse bert/encoder", lambda: view.collapse("bert/encoder"))
    assert len(graph) > 24_000 and view.matches[0].endswith("layer_7/output/dense/MatMul")


def test_timing_of_the_first_view_of_a_160000_op_graph():
    """Printed, not asserted: the first view of 160,000 ops without scopes (series, then
    chunks) should take under 3 s."""
    from tfexplore.graph.model import Graph

    graph_def = _flat_graph_def(160_000)
    print("\n160,000 ops, no scopes:")
    holder = {}
    _timed("read the GraphDef (Graph)", lambda: holder.setdefault("graph", Graph(graph_def)))
    _timed("first view", lambda: holder.setdefault("view", GraphView(holder["graph"])))
    view = holder["view"]
    _timed("open the Add series", lambda: view.expand("Add_[0-39999]"))
    _timed("search and reveal Mul_31234", lambda: view.search("Mul_31234"))
    _timed("select it", lambda: view.select("Mul_31234"))
    assert "Mul_31234" in {b["id"] for b in view.scene["boxes"]}
