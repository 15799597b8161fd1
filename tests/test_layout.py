"""The graph explorer's pure-Python layers: scope hierarchy, bundling, layered layout, SVG.

Graphs are made by real TensorFlow at test time: nested variable scopes, a partitioned
variable, TF1 control flow (``Switch``/``Merge``/``NextIteration``: a graph with cycles) and
TF2 control flow (``While``/``If`` ops calling functions).
"""

from __future__ import annotations

import itertools
import random
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from collections import defaultdict

import numpy as np
import pytest

from tfexplore.errors import TensorNotFoundError
from tfexplore.scene.hierarchy import Hierarchy, op_role
from tfexplore.scene.layout import LayoutParams, LayoutTooLargeError, layout
from tfexplore.scene.svg import to_svg


def _model_graph(control_flow_v2: bool):
    """x -> encoder/{block1, block2 (partitioned W)} -> loop (while) -> branch (cond) -> loss."""
    import tensorflow as tf
    from tensorflow.python.ops import control_flow_util

    v1 = tf.compat.v1
    saved = control_flow_util.ENABLE_CONTROL_FLOW_V2
    control_flow_util.ENABLE_CONTROL_FLOW_V2 = control_flow_v2
    try:
        graph = tf.Graph()
        with graph.as_default():
            x = v1.placeholder(tf.float32, [None, 4], name="x")
            with v1.variable_scope("encoder"):
                with v1.variable_scope("block1"):
                    w1 = v1.get_variable("W", [4, 8])
                    h = tf.nn.relu(tf.matmul(x, w1), name="relu")
                with v1.variable_scope("block2"):
                    w2 = v1.get_variable("W", [8, 6], partitioner=v1.fixed_size_partitioner(3))
                    h = tf.matmul(h, w2, name="matmul")
            with v1.name_scope("loop"):
                _, h = tf.while_loop(
                    lambda i, a: i < 3, lambda i, a: (i + 1, a * 2.0), [tf.constant(0), h]
                )
            with v1.name_scope("branch"):
                h = tf.cond(tf.reduce_sum(h) > 0, lambda: h * 2.0, lambda: h - 1.0)
            tf.reduce_mean(h, name="loss")
    finally:
        control_flow_util.ENABLE_CONTROL_FLOW_V2 = saved
    from tfexplore.graph.model import Graph

    return Graph(graph.as_graph_def())


@pytest.fixture(scope="module")
def graph_v1():
    return _model_graph(control_flow_v2=False)


@pytest.fixture(scope="module")
def graph_v2():
    return _model_graph(control_flow_v2=True)


@pytest.fixture(scope="module")
def hierarchy(graph_v1):
    return Hierarchy(graph_v1)


def _all_scope_sets(h: Hierarchy):
    """A few expansion states: nothing, each top scope, everything."""
    top = h.child_scopes("")
    yield ()
    yield from ((s,) for s in top)
    yield tuple(h.scope_names[1:])


# -- hierarchy -------------------------------------------------------------------------
def test_scope_tree_of_nested_and_partitioned_variables(hierarchy):
    assert hierarchy.child_scopes("") == ["branch", "encoder", "loop"]
    assert hierarchy.child_scopes("encoder") == ["encoder/block1", "encoder/block2"]
    parts = [
        op
        for op in hierarchy.ops_below("encoder/block2/W")
        if op.rsplit("/", 1)[-1].startswith("part_")
    ]
    assert parts == [f"encoder/block2/W/part_{i}" for i in range(3)]
    # an op named like a scope lives inside that scope (TensorBoard's rule)
    assert hierarchy.ancestors("encoder/block1/W") == [
        "encoder",
        "encoder/block1",
        "encoder/block1/W",
    ]
    assert hierarchy.ancestors("encoder/block1/W/Assign") == hierarchy.ancestors("encoder/block1/W")


@pytest.mark.parametrize("which", ["graph_v1", "graph_v2"])
def test_collapse_counts_add_up_to_the_number_of_ops(which, request):
    graph = request.getfixturevalue(which)
    h = Hierarchy(graph)
    assert h.op_count("") == len(graph.nodes)
    for expanded in _all_scope_sets(h):
        visible = h.visible(expanded)
        leaves = [i for i in visible.items if not i.expanded]
        assert sum(i.op_count for i in leaves) == len(graph.nodes)
        for frame in (i for i in visible.items if i.expanded):
            inside = [visible.item(c) for c in visible.children[frame.id]]
            assert sum(c.op_count for c in inside) == frame.op_count


def test_expanding_a_scope_shows_its_children(hierarchy):
    closed = hierarchy.visible()
    assert "encoder/" in closed.children["/"] and "encoder/block1/" not in closed.children["/"]
    opened = hierarchy.visible({"encoder"})
    assert opened.item("encoder/").expanded
    assert opened.children["encoder/"] == [
        "encoder/block1/",
        "encoder/block2/",
        *hierarchy.child_ops("encoder"),
    ]
    # a scope named without its parent open is remembered but not shown
    hidden = hierarchy.visible({"encoder/block1"})
    assert [i.id for i in hidden.items] == [i.id for i in closed.items]


def _brute_force_bundles(graph, visible):
    """Map every graph edge to its two visible boxes, group, collect tensors."""
    bundles = defaultdict(set)
    for name, inputs, controls in graph.nodes[["name", "inputs", "control_inputs"]].itertuples(
        index=False
    ):
        dst = visible.item_of(name)
        for tensor in inputs:
            src = visible.item_of(tensor.rsplit(":", 1)[0])
            if src != dst:
                bundles[(src, dst, False)].add(tensor)
        for op in controls:
            src = visible.item_of(op)
            if src != dst:
                bundles[(src, dst, True)].add("^" + op)
    return bundles


@pytest.mark.parametrize("which", ["graph_v1", "graph_v2"])
def test_bundled_edge_counts_equal_the_underlying_tensors(which, request):
    graph = request.getfixturevalue(which)
    h = Hierarchy(graph)
    for expanded in _all_scope_sets(h):
        visible = h.visible(expanded)
        expected = _brute_force_bundles(graph, visible)
        got = {(e.src, e.dst, e.control): e for e in visible.edges}
        assert set(got) == set(expected)
        for key, edge in got.items():
            assert edge.count == len(expected[key])
            assert set(visible.tensors(edge)) == expected[key]


def test_unknown_names_raise_with_suggestions(hierarchy):
    with pytest.raises(TensorNotFoundError) as info:
        hierarchy.visible({"encodr"})
    assert "encoder" in info.value.suggestions
    with pytest.raises(TensorNotFoundError):
        hierarchy.trace("no/such/op")


def test_search_ranks_exact_and_last_part_first(hierarchy):
    assert hierarchy.search("loss")[0] == "loss"
    assert hierarchy.search("RELU")[0] == "encoder/block1/relu"
    assert all("part_" in m for m in hierarchy.search("part_"))
    assert hierarchy.search("op:Placeholder") == ["x"]
    assert hierarchy.search("   ") == []


def test_trace_follows_data_and_control_edges_across_scopes(hierarchy):
    upstream = hierarchy.trace("loss", "inputs")
    assert {"x", "encoder/block1/W", "encoder/block2/W/part_2", "loss"} <= upstream
    downstream = hierarchy.trace("x", "outputs")
    assert "loss" in downstream and "encoder/block1/W" not in downstream
    visible = hierarchy.visible()
    boxes = visible.items_of(upstream)
    assert {"encoder/", "loop/", "branch/", "loss", "x"} <= set(boxes)
    lit = visible.edges_within(upstream)
    assert {(visible.edges[i].src, visible.edges[i].dst) for i in lit} >= {("x", "encoder/")}


def test_roles():
    assert op_role("x", "Placeholder") == "placeholder"
    assert op_role("loop/while/Merge", "Merge") == "control flow"
    assert op_role("gradients/MatMul_grad/MatMul", "MatMul") == "gradient"
    assert op_role("Adam/update_W/ResourceApplyAdam", "ResourceApplyAdam") == "optimizer"
    assert op_role("W/Adam_1", "VarHandleOp") == "optimizer"
    assert op_role("W", "VariableV2") == "variable"
    assert op_role("MatMul", "MatMul") == "compute"


# -- layout ----------------------------------------------------------------------------
@pytest.mark.parametrize("which", ["graph_v1", "graph_v2"])
def test_layout_places_every_item_without_sibling_overlaps(which, request):
    h = Hierarchy(request.getfixturevalue(which))
    for expanded in _all_scope_sets(h):
        visible = h.visible(expanded)
        result = layout(visible)
        boxes = {b.id: b for b in result.boxes}
        assert list(boxes) == [i.id for i in visible.items]
        for box in boxes.values():
            assert box.width > 0 and box.height > 0 and box.x >= 0 and box.y >= 0
            assert box.x + box.width <= result.width and box.y + box.height <= result.height
        for container, children in visible.children.items():
            for a, b in itertools.combinations(children, 2):
                assert not boxes[a].overlaps(boxes[b]), (container, a, b)
            if container != "/":
                frame = boxes[container]
                for child in map(boxes.get, children):
                    assert frame.x <= child.x and child.x + child.width <= frame.x + frame.width
                    assert frame.y <= child.y and child.y + child.height <= frame.y + frame.height
        assert len(result.edges) == len(visible.edges)
        for edge in result.edges:
            assert len(edge.points) >= 2 and all(np.isfinite(edge.points).ravel())


def test_layout_is_deterministic(graph_v1):
    everything = Hierarchy(graph_v1).scope_names[1:]
    first = layout(Hierarchy(graph_v1).visible(everything)).to_dict()
    second = layout(Hierarchy(graph_v1).visible(everything)).to_dict()
    assert first == second


def test_layout_flows_downwards_and_loops_go_back_up(graph_v1):
    h = Hierarchy(graph_v1)
    result = layout(h.visible(h.scope_names[1:]))
    y = {b.id: b.y for b in result.boxes}
    assert y["x"] < y["loss"]
    # TF1 while loops are cycles: NextIteration feeds Merge back
    merge = next(op for op in h.ops_below("loop") if op.endswith("/Merge_1"))
    back = [e for e in result.edges if e.dst == merge and e.src.endswith("NextIteration_1")]
    assert back and back[0].points[0][1] > back[0].points[-1][1]


def test_too_many_visible_boxes_raise(hierarchy):
    with pytest.raises(LayoutTooLargeError, match="collapse a scope"):
        layout(hierarchy.visible(hierarchy.scope_names[1:]), LayoutParams(max_visible_nodes=10))


def test_svg_draws_every_box_and_edge(hierarchy):
    visible = hierarchy.visible({"encoder"})
    result = layout(visible)
    svg = to_svg(result, highlight=["x"], selected="loss")
    root = ElementTree.fromstring(svg)
    groups = [g.get("class") for g in root.iter("{http://www.w3.org/2000/svg}g")]
    assert groups.count("tfx-frame") == 1
    assert groups.count("tfx-edge") == len(result.edges)
    assert groups.count("tfx-op") + groups.count("tfx-scope") == len(result.boxes) - 1


def _synthetic_graph_def(towers=25, blocks=10, ops=100, seed=0):
    """A 25,000-op GraphDef: towers of blocks of chained adds with random cross links."""
    from tensorflow.core.framework import graph_pb2

    rng = random.Random(seed)
    graph_def, names = graph_pb2.GraphDef(), []
    for t, b in itertools.product(range(towers), range(blocks)):
        previous = None
        for k in range(ops):
            node = graph_def.node.add(name=f"tower_{t}/block_{b}/op_{k}")
            if previous is None:
                node.op = "Placeholder"
                node.attr["dtype"].type = 1
            else:
                node.op = "AddV2"
                node.attr["T"].type = 1
                link = rng.choice(names) if rng.random() < 0.05 else previous
                node.input.extend([previous, link])
            previous = node.name
            names.append(node.name)
    return graph_def


def test_timing_of_a_25000_op_graph():
    from tfexplore.graph.model import Graph

    graph = Graph(_synthetic_graph_def())
    nodes = graph.nodes
    start = time.perf_counter()
    h = Hierarchy(nodes)
    built = time.perf_counter()
    visible = h.visible()
    result = layout(visible)
    top = time.perf_counter()
    opened = layout(h.visible({"tower_3", "tower_3/block_2"}))
    deeper = time.perf_counter()
    print(
        f"\n25,000 ops: hierarchy {built - start:.3f}s; top scopes ({len(result.boxes)} boxes, "
        f"{len(result.edges)} edges) {top - built:.3f}s; one block open "
        f"({len(opened.boxes)} boxes) {deeper - top:.3f}s"
    )
    assert sum(b.op_count for b in result.boxes) == 25_000


def test_layout_layers_import_no_widgets():
    code = (
        "import sys, tfexplore.scene.layout, tfexplore.scene.svg, tfexplore.ui.graphview; "
        "print([m for m in ('ipywidgets', 'anywidget', 'IPython') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr[-2000:]


# -- large flat scopes: series and chunk groups ------------------------------------------
FLAT_STEPS = 2600


@pytest.fixture(scope="module")
def flat_graph():
    """A real TF graph of 5,491 ops and no name scopes (as old and frozen graphs are): a loop
    of ``tf.add`` and ``tf.multiply`` (series ``Add``, ``Add_1``, ...) and 300 one-off ops."""
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [3], name="x")
        y = tf.compat.v1.placeholder(tf.float32, [3], name="y")
        for step in range(FLAT_STEPS):  # raw ops: the same ops as tf.add, made twice as fast
            x = tf.raw_ops.AddV2(x=x, y=y, name="Add")
            y = tf.raw_ops.Mul(x=x, y=y, name="Mul")
            if step % 9 == 0:
                tf.raw_ops.Identity(input=x, name=f"probe{step}")
    from tfexplore.graph.model import Graph

    return Graph(graph.as_graph_def())


def _check_grouping_invariants(h: Hierarchy, expanded, total: int) -> None:
    """Every op is in exactly one visible box, counts add up, no container is too full."""
    visible = h.visible(expanded)
    leaves = [i for i in visible.items if not i.expanded]
    assert sum(i.op_count for i in leaves) == total
    shown = np.bincount(visible.op_item, minlength=len(visible.items))
    for index, item in enumerate(visible.items):
        assert shown[index] == (0 if item.expanded else item.op_count), item.id
    for container, children in visible.children.items():
        assert len(children) <= h.max_children, container
        if container != "/":
            frame = visible.item(container)
            assert sum(visible.item(c).op_count for c in children) == frame.op_count
    assert len({i.id for i in visible.items}) == len(visible.items)


def test_a_flat_graph_shows_series_and_chunks(flat_graph):
    h = Hierarchy(flat_graph)
    total = len(flat_graph)
    assert total > 5000 and h.child_scopes("") == []
    top = h.visible()
    ids = [i.id for i in top.items]
    assert f"Add_[0-{FLAT_STEPS - 1}]/" in ids and f"Mul_[0-{FLAT_STEPS - 1}]/" in ids
    assert len(ids) == 4 and top.item_of("x").startswith("ops 1–")  # one-offs: in chunks
    series = top.item(f"Add_[0-{FLAT_STEPS - 1}]/")
    assert (series.kind, series.op_count, series.op_type) == ("group", FLAT_STEPS, "AddV2")
    # the series is too long to show at once: chunks of it, named by number
    assert h.children(series.name)[:2] == [
        "Add_[0-2599]/Add_[0-199]/",
        "Add_[0-2599]/Add_[200-399]/",
    ]
    # one-off ops (x, y, probe0, probe9, ...) are too many too: chunks, by graph position
    chunks = [i for i in top.items if i.label.startswith("ops ")]
    assert [c.op_count for c in chunks] == [200, len(h.child_ops("")) - 2 * FLAT_STEPS - 200]
    states = [(), (series.name,), (series.name, f"{series.name}/Add_[200-399]")]
    states += [tuple(h.ancestors(op)) for op in ("Add_1234", "probe2583", "y", "Mul")]
    for expanded in states:
        _check_grouping_invariants(h, expanded, total)
    for op in ("Add_1234", "probe2583", "Mul_2599"):
        assert h.visible(h.ancestors(op)).item_of(op) == op  # reveal opens the right groups
    assert h.ancestors("Add_1234") == [series.name, f"{series.name}/Add_[1200-1399]"]


def test_grouped_layouts_are_deterministic_and_fit(flat_graph):
    h1, h2 = Hierarchy(flat_graph), Hierarchy(flat_graph)
    expanded = h1.ancestors("Add_1234")
    first, second = layout(h1.visible(expanded)).to_dict(), layout(h2.visible(expanded)).to_dict()
    assert first == second
    boxes = {b["id"]: b for b in first["boxes"]}
    assert boxes["Add_[0-2599]/"]["kind"] == "group" and boxes["Add_[0-2599]/"]["expanded"]
    svg = to_svg(layout(h1.visible(expanded)))
    assert "<g class='tfx-group'>" in svg and ">▸ Mul_[0-2599]</text>" in svg


def test_small_scopes_are_never_grouped(hierarchy):
    assert all(i.kind != "group" for i in hierarchy.visible(hierarchy.scope_names[1:]).items)


@pytest.mark.corpus
@pytest.mark.parametrize(
    "path, max_children, group",
    [
        ("frozen_charrnn_lstm/frozen_model.pb", 12, "Squeeze_[0-9]"),
        ("tf1_objdet_meta_nodata/model.ckpt.meta", 200, "save/Assign_[0-"),
    ],
)
def test_real_graphs_group_their_crowded_scopes(path, max_children, group, corpus):
    import tfexplore

    file = corpus / path
    graph = tfexplore.open(file).graph
    h = Hierarchy(graph, max_children=max_children)
    crowded = [
        s for s in h.scope_names if len(h.child_scopes(s)) + len(h.child_ops(s)) > max_children
    ]
    assert crowded
    for scope in crowded:
        groups = [c for c in h.children(scope) if h.is_group(c)]
        assert groups and len(h.children(scope)) <= max_children
        _check_grouping_invariants(h, [*h.ancestors(scope), scope] if scope else [], len(graph))
        for g in groups[:3]:
            _check_grouping_invariants(h, [*h.ancestors(g), g.rstrip("/")], len(graph))
    names = [g for s in crowded for g in h.children(s) if h.is_group(g)]
    assert any(n.startswith(group) for n in names), names[:10]
    assert layout(h.visible()).boxes


# -- long chains fold into columns -------------------------------------------------------
CHAIN_OPS = 200


def _tf_chain_graph(length: int = CHAIN_OPS):
    """A real TF graph: ``x`` -> ``chain/`` (``length`` unary ops, each feeding the next, like
    a layer's elementwise tail) -> ``loss``."""
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        h = tf.compat.v1.placeholder(tf.float32, [None, 8], name="x")
        with tf.compat.v1.name_scope("chain"):
            for k in range(length):
                op = (tf.raw_ops.Relu, tf.raw_ops.Neg, tf.raw_ops.Square, tf.raw_ops.Tanh)[k % 4]
                h = op(features=h) if op is tf.raw_ops.Relu else op(x=h)
        tf.reduce_mean(h, name="loss")
    from tfexplore.graph.model import Graph

    return Graph(graph.as_graph_def())


def _check_layout(visible, result) -> dict:
    """The invariants of every layout: each item placed inside its frame, siblings apart,
    an edge path per visible edge with finite points."""
    boxes = {b.id: b for b in result.boxes}
    assert list(boxes) == [i.id for i in visible.items]
    for box in boxes.values():
        assert box.width > 0 and box.height > 0 and box.x >= 0 and box.y >= 0
        assert box.x + box.width <= result.width and box.y + box.height <= result.height
    for container, children in visible.children.items():
        for a, b in itertools.combinations(children, 2):
            assert not boxes[a].overlaps(boxes[b]), (container, a, b)
        if container != "/":
            frame = boxes[container]
            for child in map(boxes.get, children):
                assert frame.x <= child.x and child.x + child.width <= frame.x + frame.width
                assert frame.y <= child.y and child.y + child.height <= frame.y + frame.height
    assert len(result.edges) == len(visible.edges)
    for edge in result.edges:
        assert len(edge.points) >= 2 and all(np.isfinite(edge.points).ravel())
    return boxes


def _aspect(box) -> float:
    return box.height / box.width


def test_an_opened_chain_is_folded_into_side_by_side_columns():
    graph = _tf_chain_graph()
    h = Hierarchy(graph)
    visible = h.visible({"chain"})
    assert len(visible.children["chain/"]) == CHAIN_OPS
    result = layout(visible)
    boxes = _check_layout(visible, result)
    frame = boxes["chain/"]
    assert 0.4 <= _aspect(frame) <= 1.6, (frame.width, frame.height)
    assert 0.4 <= result.height / result.width <= 2.5
    # several columns, each flowing down; the chain reads in graph order
    ops = visible.children["chain/"]
    centres = sorted({boxes[op].center[0] for op in ops})  # one per column
    assert len(centres) >= 4
    turns = 0
    for edge in result.edges:
        if edge.src in ops and edge.dst in ops:
            src, dst = boxes[edge.src], boxes[edge.dst]
            if src.center[0] == dst.center[0]:  # same column: straight down
                assert src.y + src.height < dst.y and len(edge.points) == 2
            else:  # next column: down, across the gap, up it, into the next top
                turns += 1
                assert dst.x > src.x + src.width and dst.y < src.y
                (x0, y0), *bends, (x1, y1) = edge.points
                assert len(bends) == 4 and y0 == src.y + src.height and y1 == dst.y
                gap = bends[1][0]
                assert src.x + src.width < gap < dst.x
                assert all(frame.y <= y <= frame.y + frame.height for _, y in edge.points)
    assert turns == len(centres) - 1
    # unfolded (chain_fold_min=0), the same scope is a column dozens of times taller than wide
    tall = layout(visible, LayoutParams(chain_fold_min=0)).box("chain/")
    assert _aspect(tall) > 30
    # data still flows from x, through the chain, to loss
    assert boxes["x"].y + boxes["x"].height <= frame.y and boxes["loss"].y >= frame.y + frame.height
    svg = to_svg(result)
    ElementTree.fromstring(svg)
    assert svg.count("<g class='tfx-op'>") == len(result.boxes) - 1  # all but the frame


def test_chain_folding_is_deterministic_and_follows_its_params():
    visible = Hierarchy(_tf_chain_graph(60)).visible({"chain"})
    first, second = layout(visible).to_dict(), layout(visible).to_dict()
    assert first == second
    wide = layout(visible, LayoutParams(chain_aspect=0.3)).box("chain/")
    square = layout(visible, LayoutParams(chain_aspect=1.0)).box("chain/")
    assert _aspect(wide) < _aspect(square)
    # a chain no longer than chain_fold_min stays one column
    short = layout(visible, LayoutParams(chain_fold_min=60))
    assert len({b.center[0] for b in short.boxes if b.container == "chain/"}) == 1


def _synthetic_chains_graph_def():
    """One scope ``net`` holding: a fan-out from ``net/in`` to two chains (70 and 30 ops),
    a 5-op chain (too short to fold), their join, and a 40-op chain whose last op feeds its
    first back (a loop), plus ops with two inputs that break chains."""
    from tensorflow.core.framework import graph_pb2

    graph_def = graph_pb2.GraphDef()

    def add(name, op, inputs=()):
        graph_def.node.add(name=f"net/{name}", op=op).input.extend(f"net/{i}" for i in inputs)
        return name

    source = add("in", "Placeholder")
    ends = []
    for branch, length in (("a", 70), ("b", 30), ("c", 5)):
        previous = source
        for k in range(length):
            previous = add(f"{branch}_{k}", "Relu", [previous])
        ends.append(previous)
    join = add("join", "AddN", ends)
    loop = [add("merge", "Merge", [join, "loop_39"])]
    for k in range(40):
        loop.append(add(f"loop_{k}", "Identity", [loop[-1]]))
    add("out", "Identity", [loop[-1]])
    return graph_def


def test_several_chains_in_one_scope_fold_without_overlaps():
    from tfexplore.graph.model import Graph

    h = Hierarchy(Graph(_synthetic_chains_graph_def()))
    visible = h.visible({"net"})
    result = layout(visible)
    boxes = _check_layout(visible, result)
    frame = boxes["net/"]
    assert 0.2 <= _aspect(frame) <= 2.5, (frame.width, frame.height)

    def columns(prefix):
        return {boxes[i].center[0] for i in visible.children["net/"] if i.startswith(prefix)}

    assert len(columns("net/a_")) > 2 and len(columns("net/b_")) > 1
    short = [boxes[f"net/c_{k}"].y for k in range(5)]  # 5 ops: not folded, one rank each
    assert short == sorted(short) and len(set(short)) == 5
    assert len(columns("net/loop_")) > 1
    # the loop's back edge (loop_39 -> merge) still goes up
    back = next(e for e in result.edges if e.src == "net/loop_39" and e.dst == "net/merge")
    assert back.points[0][1] > back.points[-1][1]
    assert layout(visible).to_dict() == result.to_dict()


def test_a_series_chunk_of_chained_adds_is_folded(flat_graph):
    h = Hierarchy(flat_graph)
    expanded = h.ancestors("Add_1234")
    visible = h.visible(expanded)
    result = layout(visible)
    boxes = _check_layout(visible, result)
    chunk = boxes["Add_[0-2599]/Add_[1200-1399]/"]
    assert len(visible.children[chunk.id]) == 200
    assert 0.4 <= _aspect(chunk) <= 1.6, (chunk.width, chunk.height)


# -- chains whose ops have side inputs (constants, variable reads) still fold -------------
SIDE_STEPS = 30


def _tf1_side_input_graph(steps: int = SIDE_STEPS, shared_const: bool = False):
    """A real TF1 graph: ``x`` -> ``chain/`` -> ``loss``, where ``chain/`` repeats
    ``h = tf.reshape(h * tf.constant(1.01), [-1, 8]) + v``: the multiplier is a ``Const`` of
    the scope, ``Reshape`` is a box holding its shape ``Const``, and ``v`` is, every other
    step, the read of a variable made inside ``chain/`` (a box ``chain/s_k/``) or of ``b``,
    made outside it (an edge entering the scope). With ``shared_const``, one more ``Const``
    (``chain/twice``) feeds two ops of the chain."""
    import tensorflow as tf

    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        h = v1.placeholder(tf.float32, [None, 8], name="x")
        b = v1.get_variable("b", [8])
        with v1.variable_scope("chain"):
            twice = tf.constant(2.0, name="twice") if shared_const else None
            for k in range(steps):
                v = v1.get_variable(f"s_{k}", [8]) if k % 2 == 0 else b
                h = tf.reshape(h * tf.constant(1.01), [-1, 8]) + v
                if twice is not None and k in (10, 11):
                    h = h * twice
        tf.reduce_mean(h, name="loss")
    from tfexplore.graph.model import Graph

    return Graph(graph.as_graph_def())


def _tf2_side_input_graph(steps: int = 40):
    """A real graph of TF2-style resource variables, built in graph mode: in ``tf2/``, each
    step reads a variable made in the scope (``tf2/w_k/``, a ``VarHandleOp`` box, ->
    ``tf2/read_k``, a ``ReadVariableOp``) or, every fourth step, ``outer`` (made outside the
    scope), multiplies and applies a ``Relu``."""
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        h = tf.compat.v1.placeholder(tf.float32, [None, 8], name="x")
        outer = tf.Variable(np.ones(8, np.float32), name="outer")
        with tf.compat.v1.name_scope("tf2"):
            for k in range(steps):
                own = k % 4 != 3
                var = tf.Variable(np.full(8, 1.01, np.float32), name=f"w_{k}") if own else outer
                read = tf.raw_ops.ReadVariableOp(
                    resource=var.handle, dtype=tf.float32, name=f"read_{k}"
                )
                h = tf.nn.relu(tf.raw_ops.Mul(x=h, y=read, name=f"mul_{k}"), name=f"relu_{k}")
        tf.reduce_mean(h, name="loss")
    from tfexplore.graph.model import Graph

    return Graph(graph.as_graph_def())


def _gap(a, b) -> float:
    """Distance between two boxes (0 when they touch or overlap)."""
    dx = max(0.0, a.x - (b.x + b.width), b.x - (a.x + a.width))
    dy = max(0.0, a.y - (b.y + b.height), b.y - (a.y + a.height))
    return float(np.hypot(dx, dy))


def _check_attached(result, leaf: str, consumer: str, params: LayoutParams) -> None:
    """``leaf`` is drawn small, just above and left of ``consumer``; its edge goes down into it."""
    boxes = {b.id: b for b in result.boxes}
    small, big = boxes[leaf], boxes[consumer]
    if small.kind == "op":
        assert small.height == params.chain_leaf_height, leaf
    assert small.width <= params.chain_leaf_width and small.container == big.container
    assert small.y + small.height <= big.y and small.x < big.center[0], (leaf, consumer)
    assert _gap(small, big) <= 2 * params.chain_leaf_sep, (leaf, consumer, _gap(small, big))
    (edge,) = [e for e in result.edges if (e.src, e.dst) == (leaf, consumer)]
    assert edge.points[0] == (small.center[0], small.y + small.height)
    assert edge.points[-1] == (big.center[0], big.y) and len(edge.points) == 2


def _chain_columns(visible, boxes, container: str, ops) -> int:
    """Columns the chain ``ops`` stand in; checks that each column flows down."""
    by_column = defaultdict(list)
    for op in ops:
        by_column[boxes[op].center[0]].append(boxes[op])
    for column in by_column.values():
        tops = [b.y for b in column]
        assert len(set(tops)) == len(tops)
    return len(by_column)


def test_a_chain_with_constant_and_variable_side_inputs_is_folded():
    graph = _tf1_side_input_graph()
    h = Hierarchy(graph)
    visible = h.visible({"chain"})
    params = LayoutParams()
    result = layout(visible, params)
    boxes = _check_layout(visible, result)
    assert sum(i.op_count for i in visible.items if not i.expanded) == len(graph)
    frame = boxes["chain/"]
    assert 0.3 <= _aspect(frame) <= 2, (frame.width, frame.height)
    # unattached (chain_leaf_depth=0), the side inputs break the chain: a column >4x taller
    tall = layout(visible, LayoutParams(chain_leaf_depth=0)).box("chain/")
    assert tall.height > 4 * frame.height
    # the chain's ops stand in several columns, each flowing down
    name = lambda op, k: f"chain/{op}" + (f"_{k}" if k else "")  # noqa: E731
    step = lambda k: (name("mul", k), name("Reshape", k) + "/", name("add", k) + "/")  # noqa: E731
    chain = [op for k in range(SIDE_STEPS) for op in step(k)]
    assert _chain_columns(visible, boxes, "chain/", chain) >= 4
    for edge in result.edges:
        if edge.src in chain and edge.dst in chain:
            src, dst = boxes[edge.src], boxes[edge.dst]
            if src.center[0] == dst.center[0]:
                assert src.y + src.height < dst.y and len(edge.points) == 2
    # constants and the variables made in the scope hang beside the op reading them
    for k in range(1, SIDE_STEPS):  # the first mul heads the chain: its constant is in it
        _check_attached(result, f"chain/Const_{k}", name("mul", k), params)
    for k in range(0, SIDE_STEPS, 2):
        _check_attached(result, f"chain/s_{k}/", name("add", k) + "/", params)
        assert boxes[f"chain/s_{k}/"].height == params.scope_height  # room for its op count
    # the variable made outside is not a leaf of the scope: its edges enter the scope
    entering = [e for e in result.edges if e.src == "b/"]
    expected = sorted(name("add", k) + "/" for k in range(1, SIDE_STEPS, 2))
    assert sorted(e.dst for e in entering) == expected
    for edge in entering:
        dst = boxes[edge.dst]
        assert edge.points[0][1] <= frame.y and edge.points[-1] == (dst.center[0], dst.y)
    assert layout(visible, params).to_dict() == result.to_dict()
    ElementTree.fromstring(to_svg(result))


def test_tf2_variable_reads_hang_beside_their_ops():
    graph = _tf2_side_input_graph()
    visible = Hierarchy(graph).visible({"tf2"})
    params = LayoutParams()
    result = layout(visible, params)
    boxes = _check_layout(visible, result)
    frame = boxes["tf2/"]
    assert 0.3 <= _aspect(frame) <= 2, (frame.width, frame.height)
    chain = [f"tf2/{op}_{k}" for k in range(40) for op in ("mul", "relu")]
    assert _chain_columns(visible, boxes, "tf2/", chain) >= 4
    for k in range(1, 40):
        _check_attached(result, f"tf2/read_{k}", f"tf2/mul_{k}", params)
        if k % 4 != 3:  # its own variable: a VarHandleOp box feeding only the read, above it
            _check_attached(result, f"tf2/w_{k}/", f"tf2/read_{k}", params)
    reads = [e for e in result.edges if e.src == "outer/"]  # made outside: edges enter the scope
    assert sorted(e.dst for e in reads) == sorted(f"tf2/read_{k}" for k in range(3, 40, 4))
    # one level only, or one item per op: a read of a variable made in the scope is no side
    # input any more; it breaks the chain at every step, and nothing folds
    for fewer in (LayoutParams(chain_leaf_depth=1), LayoutParams(chain_leaf_max=1)):
        unfolded = layout(visible, fewer)
        _check_layout(visible, unfolded)
        assert all(b.height >= params.op_height for b in unfolded.boxes)
        assert unfolded.box("tf2/").height > 3 * frame.height


def test_a_side_input_shared_by_two_chain_ops_stays_an_ordinary_node():
    graph = _tf1_side_input_graph(shared_const=True)
    visible = Hierarchy(graph).visible({"chain"})
    params = LayoutParams()
    result = layout(visible, params)
    boxes = _check_layout(visible, result)
    twice = boxes["chain/twice"]
    assert (twice.width, twice.height) == params.item_size("twice", "op")
    readers = sorted(e.dst for e in result.edges if e.src == "chain/twice")
    assert readers == ["chain/mul_11", "chain/mul_13"]  # h * twice, after steps 10 and 11
    assert all(twice.y + twice.height < boxes[r].y for r in readers)
    # the rest still folds, with its constants attached
    _check_attached(result, "chain/Const_20", "chain/mul_22", params)
    assert 0.3 <= _aspect(boxes["chain/"]) <= 2.5
    assert len({boxes[f"chain/add_{k}/"].center[0] for k in range(12, SIDE_STEPS)}) >= 3
