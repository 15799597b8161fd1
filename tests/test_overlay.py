"""Overlays: values by op or variable name -> colours, texts and a legend (scene/overlay.py),
the ready-made overlays (ui/overlays.py) on a real checkpoint, and the compare view's logic
(ui/graphview.py with ``compare=``) on two small graphs with a known edit."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from google.protobuf import text_format

from tfexplore.errors import TFExploreError
from tfexplore.scene import overlay as ov
from tfexplore.scene.hierarchy import Hierarchy
from tfexplore.scene.overlay import Overlay, bin_values, contrast_ratio, resolve_keys
from tfexplore.ui.graphview import GraphExplorer

GRAPH = """
node { name: "x" op: "Placeholder" }
node { name: "a/W" op: "VarHandleOp" }
node { name: "a/read" op: "ReadVariableOp" input: "a/W" }
node { name: "a/mul" op: "MatMul" input: "x" input: "a/read" }
node { name: "b/W" op: "VariableV2" }
node { name: "b/mul" op: "MatMul" input: "a/mul" input: "b/W" }
node { name: "b/inner/W" op: "VarHandleOp" }
node { name: "b/inner/add" op: "AddV2" input: "b/mul" input: "b/inner/W" }
node { name: "model/dense/kernel" op: "VarHandleOp" }
"""


@pytest.fixture(scope="module")
def graph_def():
    from tensorflow.core.framework import graph_pb2

    return text_format.Parse(GRAPH, graph_pb2.GraphDef())


@pytest.fixture(scope="module")
def hierarchy(graph_def):
    from tfexplore.graph.model import Graph

    return Hierarchy(Graph(graph_def))


# -- palettes ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "light,dark",
    [(ov.SEQUENTIAL, ov.SEQUENTIAL_DARK), (ov.DIVERGING, ov.DIVERGING_DARK)],
    ids=["sequential", "diverging"],
)
def test_every_ramp_colour_reads_under_its_theme_text(light, dark):
    """Labels are black on light fills, white on dark fills: at least 4.5:1 each (5.2 found);
    lightness moves one way along each half of the ramp (readable without hue)."""
    assert len(light) == len(dark) == 7
    assert min(contrast_ratio(c, "#000000") for c in light) >= 4.5
    assert min(contrast_ratio(c, "#ffffff") for c in dark) >= 4.5
    # JupyterLab Dark writes white at 87 %: about #dedede over the fill
    assert min(contrast_ratio(c, "#dedede") for c in dark) >= 4.5
    lum = [ov._luminance(c) for c in light]
    if light == ov.SEQUENTIAL:
        assert lum == sorted(lum, reverse=True)  # low values light, high values deep
        dark_lum = [ov._luminance(c) for c in dark]
        assert dark_lum == sorted(dark_lum)  # low values near the dark page, high ones bright
    else:
        assert lum[:4] == sorted(lum[:4]) and lum[3:] == sorted(lum[3:], reverse=True)


def test_status_and_no_value_colours_read_in_both_themes():
    for light, dark in [*ov.STATUS_COLORS.values(), (ov.NO_VALUE, ov.NO_VALUE_DARK)]:
        assert contrast_ratio(light, "#000000") >= 4.5, light
        assert contrast_ratio(dark, "#ffffff") >= 4.5, dark
    changes = [ov.STATUS_COLORS[s][0] for s in ("added", "removed", "changed", "renamed")]
    assert len(set(changes)) == 4 and ov.STATUS_COLORS["same"][0] not in changes


def test_contrast_ratio_is_wcag():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


# -- bins and scales -------------------------------------------------------------------------
def test_linear_bins_split_the_range_evenly():
    edges = np.linspace(0, 7, 8)
    values = np.array([0, 0.99, 1, 3.5, 6.99, 7, 100, -5, np.nan])
    assert bin_values(values, edges).tolist() == [0, 0, 1, 3, 6, 6, 6, 0, -1]


def test_log_bins_work_in_decades_and_put_non_positive_values_first():
    edges = np.logspace(-3, 3, 7)  # one bin per decade
    values = np.array([1e-3, 0.05, 1.0, 999.0, 0.0, -1.0, np.inf])
    assert bin_values(values, edges, "log").tolist() == [0, 1, 3, 5, 0, 0, 5]


def test_one_distinct_value_takes_the_middle_bin():
    assert bin_values(np.array([2.0, 2.0]), np.full(8, 2.0)).tolist() == [3, 3]


def test_diverging_scale_is_symmetric_around_the_centre(hierarchy):
    series = pd.Series({"a/W": -1.0, "b/W": 0.0, "b/inner/W": 4.0})
    overlay = Overlay.build(hierarchy, series, scale="diverging")
    assert overlay.edges[0] == -4.0 and overlay.edges[-1] == 4.0 and len(overlay.edges) == 8
    assert bin_values(np.array([0.0]), overlay.edges)[0] == 3  # the centre: the middle bin
    even = Overlay.build(hierarchy, series, scale="diverging", bins=6)  # made odd
    assert len(even.edges) == 8
    styles = overlay.item_styles(hierarchy.visible(["a", "b", "b/inner"]))
    assert styles["b/W"]["fill"] == ov.DIVERGING[3]  # 0: the neutral middle
    assert styles["b/inner/W"]["fill"] == ov.DIVERGING[6]
    assert styles["a/W"]["fill"] == ov.DIVERGING[2]  # -1 of [-4, 4] in 7 bins


def test_log_scale_legend_ticks_are_the_bin_edges(hierarchy):
    series = pd.Series({"a/W": 0.001, "b/W": 1.0, "b/inner/W": 1000.0})
    overlay = Overlay.build(hierarchy, series, scale="log", bins=6, title="norm")
    legend = overlay.legend()
    assert legend["title"] == "norm" and legend["kind"] == "numeric"
    assert legend["ticks"] == ["0.001", "0.01", "0.1", "1", "10", "100", "1000"]
    assert legend["min"] == 0.001 and legend["max"] == 1000.0
    assert [b["color"] for b in legend["bins"]] == [
        ov.SEQUENTIAL[i] for i in np.round(np.linspace(0, 6, 6)).astype(int)
    ]
    json.dumps(legend)


def test_bad_options_raise_our_errors(hierarchy):
    series = pd.Series({"a/W": 1.0})
    with pytest.raises(TFExploreError, match="scale"):
        Overlay.build(hierarchy, series, scale="cubic")
    with pytest.raises(TFExploreError, match="aggregate"):
        Overlay.build(hierarchy, series, agg="median")
    with pytest.raises(TFExploreError, match="positive"):
        Overlay.build(hierarchy, series, scale="log", domain=(0, 1))
    with pytest.raises(TFExploreError, match="Series"):
        Overlay.build(hierarchy, [1, 2, 3])
    with pytest.raises(TFExploreError, match="DataFrame"):
        Overlay.build(hierarchy, pd.DataFrame({"name": ["a/W"], "l2": [1.0]}))


# -- names -----------------------------------------------------------------------------------
def test_keys_resolve_to_ops_by_name_tensor_tf2_key_and_suffix(hierarchy):
    keys = [
        "a/mul",  # an op
        "a/W:0",  # a tensor of a variable
        "b/inner/W/.ATTRIBUTES/VARIABLE_VALUE",  # a TF2 checkpoint key
        "dense/kernel",  # the end of a variable op's name
        "extra/model/dense/kernel",  # a key ending with a variable op's name
        "W",  # three variables end with it: left out
        "nowhere",
    ]
    found = resolve_keys(hierarchy, keys)
    names = {k: hierarchy.op_names[i] for k, i in found.items()}
    assert names == {
        "a/mul": "a/mul",
        "a/W:0": "a/W",
        "b/inner/W/.ATTRIBUTES/VARIABLE_VALUE": "b/inner/W",
        "dense/kernel": "model/dense/kernel",
        "extra/model/dense/kernel": "model/dense/kernel",
    }
    overlay = Overlay.build(hierarchy, pd.Series(1.0, index=keys))
    assert overlay.unmatched == ["W", "nowhere"] and overlay.matched == 5


# -- collapsed scopes ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "agg,expected",
    [("mean", (1 + 2 + 6) / 3), ("max", 6.0), ("min", 1.0), ("sum", 9.0)],
)
def test_a_collapsed_scope_shows_the_aggregate_of_the_ops_inside(hierarchy, agg, expected):
    series = pd.Series({"b/W": 1.0, "b/mul": 2.0, "b/inner/W": 6.0, "a/W": 0.5})
    overlay = Overlay.build(hierarchy, series, agg=agg, title="v")
    styles = overlay.item_styles(hierarchy.visible([]))
    scope = styles["b/"]
    assert scope["overlay_value"] == pytest.approx(expected)
    assert scope["overlay_text"] == f"{agg} {ov._number(expected)}"
    assert "of 3 ops with a value" in scope["overlay_title"]
    edges = overlay.edges_for(np.array([expected])) if agg == "sum" else overlay.edges
    code = bin_values(np.array([expected]), edges)[0]
    assert scope["fill"] == ov.SEQUENTIAL[code] and scope["fill_dark"] == ov.SEQUENTIAL_DARK[code]
    # opened, the scope's ops show their own values; the inner scope its own aggregate
    opened = overlay.item_styles(hierarchy.visible(["b"]))
    assert opened["b/W"]["overlay_value"] == 1.0 and opened["b/W"]["overlay_text"] is None
    inner = opened["b/inner/"]["overlay_value"]
    assert inner == 6.0 and "b/" not in opened  # an open scope is a frame: no fill
    assert overlay.describe(hierarchy._op_range("b")).startswith(f"{agg} ")


def test_sum_widens_the_scale_to_the_sums_drawn(hierarchy):
    series = pd.Series({"b/W": 1.0, "b/mul": 2.0, "b/inner/W": 6.0})
    overlay = Overlay.build(hierarchy, series, agg="sum")
    visible = hierarchy.visible([])
    assert overlay.item_styles(visible)["b/"]["fill"] == ov.SEQUENTIAL[-1]
    assert overlay.legend(visible)["bins"][-1]["high"] == 9.0


def test_ops_and_scopes_without_a_value_draw_as_no_value(hierarchy):
    overlay = Overlay.build(hierarchy, pd.Series({"b/W": 1.0, "a/W": np.nan}))
    styles = overlay.item_styles(hierarchy.visible(["a"]))
    assert styles["x"]["fill"] == ov.NO_VALUE and styles["x"]["overlay_value"] is None
    assert styles["a/W"]["fill"] == ov.NO_VALUE  # NaN: no value
    assert styles["model/"]["overlay_text"] == "no value"
    assert styles["model/"]["fill_dark"] == ov.NO_VALUE_DARK


# -- categorical -------------------------------------------------------------------------------
def test_categories_get_fixed_colours_and_scopes_count_what_is_not_quiet(hierarchy):
    series = pd.Series(
        {
            "x": "same",
            "a/W": "same",
            "a/read": "same",
            "a/mul": "same",
            "b/W": "changed",
            "b/mul": "added",
            "b/inner/W": "changed",
            "b/inner/add": "same",
        }
    )
    overlay = Overlay.build(hierarchy, series, quiet=["same"], title="diff")
    assert overlay.kind == "categorical"
    styles = overlay.item_styles(hierarchy.visible([]))
    assert styles["b/"]["fill"] == ov.STATUS_COLORS["changed"][0]  # most common change
    assert styles["b/"]["overlay_text"] == "2 changed, 1 added"
    assert styles["b/"]["overlay_counts"] == {"changed": 2, "added": 1, "same": 1}
    assert sum(m[1] for m in styles["b/"]["mix"]) == pytest.approx(1.0)
    assert styles["a/"]["overlay_text"] == "all same"
    assert styles["a/"]["fill"] == ov.STATUS_COLORS["same"][0]
    assert not styles["a/"]["quiet"]
    only = overlay.item_styles(hierarchy.visible(["a"]), only_changes=True)
    assert only["a/"] == {"quiet": True}  # an open frame with nothing changed
    assert only["a/mul"]["quiet"] and only["x"]["quiet"] and not only["b/"]["quiet"]
    opened = overlay.item_styles(hierarchy.visible(["a", "b"]), only_changes=True)
    assert opened["b/"] == {"overlay_title": "diff: 2 changed, 1 added"}  # it stays
    assert opened["a/"] == {"quiet": True} and opened["b/mul"]["quiet"] is False
    legend = overlay.legend()
    assert [c["label"] for c in legend["categories"]] == ["same", "changed", "added"]
    assert [c["count"] for c in legend["categories"]] == [5, 2, 1]


def test_categorical_colours_can_be_given_and_default_to_the_palette(hierarchy):
    series = pd.Series({"a/W": "alpha", "b/W": "beta", "b/inner/W": "beta"})
    overlay = Overlay.build(hierarchy, series, colors={"alpha": ("#a1c9f4", "#1d4a75")})
    assert overlay.categories == ["alpha", "beta"]
    assert overlay.colors == ["#a1c9f4", "#a1c9f4"] or overlay.colors[0] == "#a1c9f4"
    assert overlay.colors_dark[0] == "#1d4a75"
    booleans = Overlay.build(hierarchy, pd.Series({"a/W": True, "b/W": False}))
    assert booleans.kind == "categorical" and set(booleans.categories) == {"True", "False"}


# -- the explorer: overlays, ready-made overlays, compare ---------------------------------
def test_explorer_overlay_scene_and_detail(demo_run):
    explorer = GraphExplorer(demo_run)
    stats = explorer.checkpoint.stats()
    overlay = explorer.overlay_stats(explorer.checkpoint, "norm", stats=stats)
    assert overlay.scale == "log" and overlay.agg == "max" and overlay.unmatched == []
    norms = stats.set_index("name")["l2"]
    scene = explorer.scene()
    boxes = {b["id"]: b for b in scene["boxes"]}
    layer1 = norms[[n for n in norms.index if n.startswith("layer1/")]].max()
    assert boxes["layer1/"]["overlay_value"] == pytest.approx(layer1)
    assert boxes["layer1/"]["count_text"] == f"max {ov._number(layer1)}"  # in the box
    assert boxes["inputs/"]["count_text"] == "no value"
    assert scene["overlay"] is True
    assert explorer.overlay_legend()["title"] == "L2 norm"
    explorer.expand("layer1")
    detail = explorer.detail("layer1/W")
    assert detail["overlay"] == {"title": "L2 norm", "value": ov._number(norms["layer1/W"])}
    assert explorer.detail("layer2/")["overlay"]["value"].startswith("max ")
    json.dumps(explorer.scene())
    explorer.clear_overlay()
    assert explorer.overlay_legend() == {} and explorer.scene()["overlay"] is False


def test_ready_made_overlays_read_the_real_tables(demo_run):
    import tfexplore

    folder = tfexplore.open(demo_run)
    first, last = next(iter(folder)), folder.latest
    explorer = GraphExplorer(demo_run)
    moved = explorer.overlay_diff(first, last)
    table = first.diff(last).set_index("name")
    assert moved.op_value("layer1/W") == pytest.approx(table.loc["layer1/W", "rel_l2_change"])
    zeros = explorer.overlay_stats(last, "zeros")
    assert 0 <= zeros.op_value("layer1/b") <= 1
    with pytest.raises(TFExploreError, match="statistic"):
        explorer.overlay_stats(last, "nope")

    from tfexplore.ui.overlays import restore_series, scan_series

    report = tfexplore.scan(demo_run)  # the Saver's own checkpoint I/O only
    series, options = scan_series(report)
    assert dict(series) == {"save/SaveV2": "expected", "save/RestoreV2": "expected"}
    scanned = explorer.overlay_scan(report)
    assert scanned.item_styles(explorer.visible)["save/"]["overlay_text"] == "all expected"

    class Report:  # the RestoreReport's frame, as tfexplore.live builds it
        frame = pd.DataFrame(
            {
                "status": [
                    "restored",
                    "missing_in_checkpoint",
                    "shape_mismatch",
                    "only_in_checkpoint",
                ],
                "graph_name": ["layer1/W", "layer1/b", "layer2/W", None],
            }
        )

    series, options = restore_series(Report())
    assert dict(series) == {
        "layer1/W": "restored",
        "layer1/b": "missing",
        "layer2/W": "wrong shape",
    }
    restore = explorer.overlay_restore(Report())
    styles = restore.item_styles(explorer.visible)
    assert styles["layer1/"]["overlay_text"] == "1 missing"


def test_restore_overlay_from_a_real_restore_report(demo_run):
    import tfexplore

    with tfexplore.session(demo_run) as session:
        report = session.restore(tfexplore.open(demo_run).latest.prefix)
    explorer = GraphExplorer(demo_run)
    overlay = explorer.overlay_restore(report)
    assert overlay.op_value("layer1/W") == "restored"


def _two_graphs():
    import tensorflow as tf

    def build(edit: bool):
        graph = tf.Graph()
        with graph.as_default():
            h = tf.compat.v1.placeholder(tf.float32, [None, 4], name="x")
            for i in range(3):
                with tf.compat.v1.variable_scope(f"dense{i}"):
                    w = tf.compat.v1.get_variable("W", [4, 4])
                    h = tf.matmul(h, w)
                    act = tf.nn.relu6 if edit and i == 1 else tf.nn.relu
                    h = act(h, name="act")
            if edit:
                tf.identity(h, name="extra/out")
            tf.identity(h, name="out")
        return graph.as_graph_def()

    return build(False), build(True)


def test_compare_view_colours_counts_filters_and_shows_both_sides():
    a, b = _two_graphs()
    explorer = GraphExplorer(a, compare=b)
    boxes = {x["id"]: x for x in explorer.scene()["boxes"]}
    assert boxes["dense1/"]["fill"] == ov.STATUS_COLORS["changed"][0]
    assert boxes["dense1/"]["count_text"] == "1 changed"
    assert boxes["extra/"]["fill"] == ov.STATUS_COLORS["added"][0]
    assert boxes["dense0/"]["count_text"] == "all same"
    legend = explorer.overlay_legend()
    assert [c["label"] for c in legend["categories"]] == ["same", "added", "changed"]
    explorer.expand("dense1")
    whole = {x["id"]: x for x in explorer.scene()["boxes"]}
    explorer.collapse("dense1")
    full = explorer.scene()
    explorer.only_changes = True  # the boxes with nothing changed inside go, the rest close up
    scene = explorer.scene()
    assert {x["id"] for x in scene["boxes"]} == {"dense1/", "extra/"}
    assert not any(x.get("quiet") for x in scene["boxes"])
    assert {(e["src"], e["dst"]) for e in scene["edges"]} <= {("dense1/", "extra/")}
    assert scene["width"] * scene["height"] < full["width"] * full["height"] / 2
    explorer.expand("dense1")
    boxes = {x["id"]: x for x in explorer.scene()["boxes"]}
    assert "dense1/MatMul/" not in boxes and not boxes["dense1/act"].get("quiet")
    assert boxes["dense1/"]["overlay_title"] == "graph diff: 1 changed"  # its tooltip
    assert boxes["dense1/"]["height"] < whole["dense1/"]["height"]  # closed up around act
    explorer.only_changes = False  # everything back, in its old place
    again = {x["id"]: x for x in explorer.scene()["boxes"]}
    assert set(again) == set(whole) and again["dense1/"]["height"] == whole["dense1/"]["height"]
    explorer.only_changes = True
    detail = explorer.detail("dense1/act")
    compare = detail["compare"]
    assert compare["status"] == "changed" and compare["changes"] == ["op"]
    rows = {r["key"]: r for r in compare["rows"]}
    assert (rows["op"]["a"], rows["op"]["b"], rows["op"]["changed"]) == ("Relu", "Relu6", True)
    assert rows["inputs"]["changed"] is False
    added = explorer.detail("extra/out")["compare"]
    assert added["status"] == "added" and all(r["a"] is None for r in added["rows"])
    explorer.overlay(pd.Series({"dense1/W": 1.0}))  # another overlay, then back to the diff
    explorer.clear_overlay()
    assert explorer.overlay_legend()["title"] == "graph diff"
    assert not math.isnan(len(json.dumps(explorer.scene())))


def test_a_filtered_view_maps_ops_and_edges_to_what_is_left():
    """``VisibleGraph.without``: what "only changes" lays out keeps every op's box and every
    edge's tensors, less the boxes taken away."""
    a, _ = _two_graphs()
    hierarchy = GraphExplorer(a).hierarchy
    visible = hierarchy.visible([])
    gone = {"dense0/", "x"}
    kept = visible.without(gone)
    assert [i.id for i in kept.items] == [i.id for i in visible.items if i.id not in gone]
    assert "x" not in kept.children["/"] and "dense0/" not in kept.children["/"]
    for op in hierarchy.op_names:
        box = visible.item_of(op)
        k = int(kept.op_item[hierarchy.op_index(op)])
        assert (k == -1) == (box in gone)
        assert k == -1 or kept.items[k].id == box
    assert kept.edges and all(e.src not in gone and e.dst not in gone for e in kept.edges)
    for edge in kept.edges:
        assert kept.tensors(edge) == visible.tensors(edge)
    hidden = [e.index for e in visible.edges if {e.src, e.dst} & gone]
    assert hidden and not np.isin(kept.edge_bundle, hidden).any()
    assert visible.without([]) is visible


def test_graphview_widget_overlay_and_compare_traits(demo_run):
    pytest.importorskip("anywidget")
    from tfexplore.widgets.graphview import GraphView

    view = GraphView(demo_run)
    view.overlay(pd.Series({"layer1/W": 1.0, "layer2/W": 3.0}), title="t", agg="max")
    assert view.overlay_legend["title"] == "t"
    boxes = {b["id"]: b for b in view.scene["boxes"]}
    assert boxes["layer2/"]["fill"] == ov.SEQUENTIAL[-1]
    view._on_message(view, {"action": "clear_overlay"}, [])
    assert view.overlay_legend == {}
    a, b = _two_graphs()
    diff_view = GraphView(a, compare=b)
    assert "1 changed" in diff_view.compare_summary
    assert {"dense0/", "x"} <= {x["id"] for x in diff_view.scene["boxes"]}
    diff_view.only_changes = True  # the trait lays out again and sends the new scene
    assert {x["id"] for x in diff_view.scene["boxes"]} == {"dense1/", "extra/"}
    json.dumps(diff_view.get_state())


def test_the_static_picture_draws_the_overlay_colours(demo_run):
    explorer = GraphExplorer(demo_run)
    explorer.overlay(pd.Series({"layer1/W": 1.0, "layer2/W": 3.0}), agg="max")
    svg = explorer.to_svg()
    assert f"fill='{ov.SEQUENTIAL[-1]}'" in svg  # layer2/: the top bin
    assert f"fill='{ov.NO_VALUE}'" in svg  # inputs/: no value


def test_scan_overlay_marks_a_risky_op(tmp_path):
    from tensorflow.core.framework import graph_pb2

    import tfexplore

    graph = text_format.Parse(
        'node { name: "path" op: "Const" attr { key: "dtype" value { type: DT_STRING } } '
        'attr { key: "value" value { tensor { dtype: DT_STRING tensor_shape {} '
        'string_val: "x" } } } } node { name: "evil/read" op: "ReadFile" input: "path" }',
        graph_pb2.GraphDef(),
    )
    path = tmp_path / "evil.pb"
    path.write_bytes(graph.SerializeToString())
    explorer = GraphExplorer(path)
    overlay = explorer.overlay_scan(tfexplore.scan(path))
    assert overlay.op_value("evil/read") == "risky: reads files"
    styles = overlay.item_styles(explorer.visible)
    assert styles["evil/"]["overlay_text"] == "1 risky: reads files"
    assert styles["evil/"]["fill"] == ov.STATUS_COLORS["risky"][0]
    assert styles["path"]["fill"] == ov.NO_VALUE


def test_a_function_opened_in_a_compare_view_shows_its_own_diff(tf2_exports):
    """Two TF2 exports: the main graph is calls; opening the called function shows its body
    coloured by the diff of the two bodies, and its ops' two sides, not the main graph's."""
    explorer = GraphExplorer(tf2_exports / "relu", compare=tf2_exports / "relu6x2")
    assert explorer.graph_diff.counts["changed"] == 1
    changed = explorer.graph_diff.functions
    body = changed[changed["added"] > 0].iloc[0]["function_b"]
    explorer.open_function(body)
    boxes = {x["id"]: x for x in explorer.scene()["boxes"]}
    added, same = ov.STATUS_COLORS["added"][0], ov.STATUS_COLORS["same"][0]
    assert boxes["Relu6"]["fill"] == added
    assert (boxes["mul/"]["fill"], boxes["mul/"]["overlay_text"]) == (added, "2 added")
    assert (boxes["MatMul/"]["fill"], boxes["MatMul/"]["overlay_text"]) == (same, "all same")
    assert boxes["MatMul_1/"]["overlay_text"] == "1 changed"  # rewired
    compare = explorer.detail("MatMul_1")["compare"]
    assert compare["status"] == "changed" and compare["changes"] == ["inputs"]
    assert explorer.detail("Relu6")["compare"]["status"] == "added"
    legend = explorer.overlay_legend()
    assert legend["title"] == "graph diff" and "added" in [c["label"] for c in legend["categories"]]
    explorer.back()
    boxes = {x["id"]: x for x in explorer.scene()["boxes"]}
    assert boxes["StatefulPartitionedCall"]["fill"] == ov.STATUS_COLORS["changed"][0]
