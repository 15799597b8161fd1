"""What GraphView's picture is made of, without a browser: the layout takes the widget's shape
(a tall top level wraps into bands side by side), label texts and edge count places come from
Python for both the live widget and the static SVG (one owner), the fill palettes keep text
readable in light and dark themes, a search without match says so. The browser side (contrast
and on-screen size per theme) is measured in tests/test_browser_graphview.py."""

from __future__ import annotations

import itertools
import math
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np
import pytest

from tfexplore.scene.layout import (
    Box,
    LayoutParams,
    box_text,
    edge_count_positions,
    fit_label,
    layout,
)
from tfexplore.scene.palette import (
    COLORS,
    COLORS_DARK,
    OTHER_COLOR,
    OTHER_COLOR_DARK,
    ROLE_COLORS,
    dark_twin,
)
from tfexplore.ui.graphview import GraphExplorer

JS = Path(__file__).resolve().parents[1] / "tfexplore" / "widgets" / "graphview.js"


def _everything_open(demo_run) -> GraphExplorer:
    explorer = GraphExplorer(demo_run)
    explorer.set_expanded(explorer.hierarchy.scope_names[1:])
    return explorer


@pytest.fixture(scope="module")
def everything_open(demo_run):
    """The tour's graph with every scope open: much taller than wide (not to be changed)."""
    return _everything_open(demo_run)


def _check_layout(result, visible) -> None:
    """Every item placed inside the picture, siblings apart, children inside their frame,
    each edge from its source box to its destination box."""
    boxes = {b.id: b for b in result.boxes}
    assert list(boxes) == [i.id for i in visible.items]
    for box in boxes.values():
        assert box.x >= 0 and box.y >= 0
        assert box.x + box.width <= result.width and box.y + box.height <= result.height
    for container, children in visible.children.items():
        for a, b in itertools.combinations(children, 2):
            assert not boxes[a].overlaps(boxes[b]), (container, a, b)
        if container != "/":
            frame = boxes[container]
            for child in map(boxes.get, children):
                assert frame.x <= child.x and child.x + child.width <= frame.x + frame.width
                assert frame.y <= child.y and child.y + child.height <= frame.y + frame.height
    for edge in result.edges:
        src, dst = boxes[edge.src], boxes[edge.dst]
        (x0, y0), (x1, y1) = edge.points[0], edge.points[-1]
        assert math.isclose(x0, src.x + src.width / 2) and y0 in (src.y, src.y + src.height)
        assert math.isclose(x1, dst.x + dst.width / 2) and y1 in (dst.y, dst.y + dst.height)
        assert all(np.isfinite(edge.points).ravel())


def test_a_wide_widget_gets_a_wide_layout(demo_run):
    explorer = _everything_open(demo_run)
    tall = explorer.layout
    assert tall.height > 2 * tall.width  # one band: a tall column
    assert explorer.set_viewport(1200, 500)
    wide = explorer.layout
    assert explorer.params.aspect == 2.4 and explorer.params.max_height == 500 - 32
    _check_layout(wide, explorer.visible)
    assert wide.width / wide.height > 2 * tall.width / tall.height
    assert wide.height < tall.height * 0.6
    assert not explorer.set_viewport(1210, 505)  # within 15 %: the layout stays
    again = GraphExplorer(explorer.graph, expanded=explorer.expanded)
    again.set_viewport(1200, 500)
    assert again.layout.to_dict() == wide.to_dict()  # deterministic

    assert explorer.set_viewport(500, 2400)  # a tall widget: fewer bands, taller
    narrow = explorer.layout
    _check_layout(narrow, explorer.visible)
    assert narrow.width / narrow.height < wide.width / wide.height


def test_a_graph_that_fits_stays_one_band(demo_run):
    explorer = GraphExplorer(demo_run)
    plain = explorer.layout.to_dict()
    explorer.set_viewport(900, 600)  # the top scopes fit at full size: nothing to wrap
    assert explorer.layout.to_dict()["boxes"] == plain["boxes"]


def test_aspect_alone_picks_the_nearest_shape(everything_open):
    visible = everything_open.visible
    for aspect in (0.5, 1.0, 2.0, 4.0):
        result = layout(visible, LayoutParams(aspect=aspect, max_bands=8))
        _check_layout(result, visible)
        plain = layout(visible)
        assert (
            abs(math.log(result.width / result.height / aspect))
            <= abs(math.log(plain.width / plain.height / aspect)) + 1e-9
        )


def test_the_widget_reports_its_size_and_gets_a_layout_for_it(demo_run):
    pytest.importorskip("anywidget")
    from tfexplore.widgets.graphview import GraphView

    view = GraphView(demo_run, expanded=["layer1", "layer2", "train", "train/gradients"])
    before = view.scene
    view.viewport = {"width": 1100, "height": 420}
    after = view.scene
    assert after["width"] / after["height"] > before["width"] / before["height"]
    assert after["params"] == {
        "font_size": 11.0, "small_font_size": 10.0, "min_text_px": 10.0, "char_width": 7.0,
        "min_scale": 1.0, "margin": 16,
    }  # fmt: skip
    assert view.to_svg().count("<g class='tfx-") == len(after["boxes"]) + len(after["edges"])


def _svg_texts(svg: str) -> list[str]:
    root = ElementTree.fromstring(svg)
    return sorted(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))


def _scene_texts(scene) -> list[str]:
    """The texts graphview.js draws for a scene: each box's ``text`` and op count, each
    edge's count where ``count_at`` places it."""
    texts = [b["text"] for b in scene["boxes"]]
    texts += [b["count_text"] for b in scene["boxes"] if b["count_text"] is not None]
    texts += [str(e["count"]) for e in scene["edges"] if e["count_at"]]
    return sorted(texts)


def test_the_widget_and_the_picture_draw_the_same_texts(everything_open, demo_run):
    for explorer in (everything_open, GraphExplorer(demo_run)):
        scene = explorer.scene()
        assert _scene_texts(scene) == _svg_texts(explorer.to_svg())
    js = JS.read_text()
    assert "CHAR_WIDTH" not in js and "fitLabel" not in js  # no second label cutter
    assert "box.text" in js and "edge.count_at" in js
    assert "box.text_at" in js and "box.count_text" in js  # places and counts from Python


def test_the_scene_sent_to_the_browser_carries_the_texts_their_places_and_char_width(
    everything_open,
):
    """What graphview.js draws is decided in Python: the scene holds each text as drawn, where
    it goes, and the sizes (char width, fonts) the layout planned with; the static SVG writes
    the same texts at the same places."""
    scene = everything_open.scene()
    params = everything_open.params
    assert scene["params"]["char_width"] == params.char_width
    assert scene["params"]["font_size"] == params.font_size
    by_id = {box.id: box for box in everything_open.layout.boxes}
    svg_places = {
        (t.text, float(t.get("x")), float(t.get("y")))
        for t in ElementTree.fromstring(everything_open.to_svg()).iter(
            "{http://www.w3.org/2000/svg}text"
        )
    }
    for sent in scene["boxes"]:
        assert sent["text"] == box_text(by_id[sent["id"]], params)
        assert (sent["text"], *map(float, sent["text_at"])) in svg_places
        if sent["kind"] == "op" and not sent["expanded"]:
            assert sent["count_text"] is None
        else:
            assert sent["count_text"] == f"{sent['op_count']} ops"
            assert (sent["count_text"], *map(float, sent["count_text_at"])) in svg_places


def test_labels_are_cut_to_their_box_keeping_the_end(everything_open):
    params = everything_open.params
    for box in everything_open.layout.boxes:
        text = box_text(box, params)
        room = box.width - (70 if box.expanded else 10)
        assert len(text) * params.char_width <= max(room, 0) + 3 * params.char_width, text
        name = text.removeprefix("▾ ").removeprefix("▸ ").removesuffix(" (op)")
        if name.startswith("…"):
            assert (box.label + ("/" if box.kind == "scope" else "")).endswith(name[1:])
    assert fit_label("gradients/layer1/MatMul_grad", 80, 7) == "…atMul_grad"  # 11 characters
    assert fit_label("abc", 7, 7) == "…"


def test_scopes_and_the_op_of_the_same_name_read_differently(demo_run):
    explorer = GraphExplorer(demo_run)
    explorer.reveal("layer1/MatMul")
    texts = {b.id: box_text(b, explorer.params) for b in explorer.layout.boxes}
    assert texts["layer1/MatMul/"] == "▾ MatMul/"
    assert texts["layer1/MatMul"] == "MatMul (op)"
    assert texts["layer2/"] == "▸ layer2/"
    op = Box("a/b", "op", "a/b", "b", "a/", 1, False, 1, "Add", 0, 0, 60, 24)
    assert box_text(op, LayoutParams()) == "b"  # an op elsewhere: its plain name


def test_edge_counts_overlap_neither_boxes_nor_each_other(everything_open, demo_run):
    top = GraphExplorer(demo_run)
    assert len(edge_count_positions(top.layout)) >= 5  # the first view has counts to write
    for explorer in (everything_open, top):
        result = explorer.layout
        placed = edge_count_positions(result)
        assert all(result.edges[k].count > 1 for k in placed)
        height = result.params.small_font_size
        rects = []
        for k, (x, y) in placed.items():
            width = len(str(result.edges[k].count)) * result.params.char_width * 10 / 11
            rects.append((x, y - height + 1, x + width, y + 1))
        for a, b in itertools.combinations(rects, 2):
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3])
        for box in result.boxes:
            top = box.y + box.height if not box.expanded else box.y + result.params.header_height
            for x0, y0, x1, y1 in rects:
                assert not (x0 < box.x + box.width and box.x < x1 and y0 < top and box.y < y1)


def _contrast(a: str, b: str) -> float:
    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_fill_palettes_keep_labels_readable_in_light_and_dark_themes():
    light = [*COLORS, OTHER_COLOR, *ROLE_COLORS.values()]
    assert min(_contrast(c, "#000000") for c in light) >= 7  # black text (light themes)
    assert min(_contrast(c, "#1f2328") for c in light) >= 4.5  # the static picture's text
    dark = [*COLORS_DARK, OTHER_COLOR_DARK, *map(dark_twin, ROLE_COLORS.values())]
    assert min(_contrast(c, "#ffffff") for c in dark) >= 7  # white text (dark themes)
    assert len(set(COLORS_DARK)) == len(COLORS)  # a twin per colour, all different


def test_a_search_without_match_says_so(demo_run):
    pytest.importorskip("anywidget")
    from tfexplore.widgets.graphview import GraphView

    view = GraphView(demo_run)
    assert view.search("xyz_no_such_op") == []
    assert view.search_note == "no match for 'xyz_no_such_op'"
    view.search("ResourceApplyAdam")
    assert view.search_note == f"{len(view.matches)} matches" and len(view.matches) > 1
    view.search("")
    assert view.search_note == ""
    assert GraphExplorer.search_note("a", ["x"] * 50) == "50+ matches"
    assert GraphExplorer.search_note("a", ["x"]) == "1 match"


def test_no_count_sits_where_several_edges_run_together(demo_run):
    from tfexplore.scene.boxes import _is_shared, _shared_lines

    explorer = _everything_open(demo_run)
    explorer.set_viewport(1200, 500)  # wrapped: edges into later bands share the gaps
    result = explorer.layout
    lines = _shared_lines(result.edges)
    assert any(len({j for *_, j in stretches}) > 1 for stretches in lines.values())
    for k, (x, y) in edge_count_positions(result).items():
        anchor = (x - 4, y - result.params.small_font_size / 2 + 1)  # the point it labels
        points = result.edges[k].points
        segment = min(
            zip(points, points[1:]),
            key=lambda s: math.dist(anchor, s[0]) + math.dist(anchor, s[1]) - math.dist(*s),
        )
        assert not _is_shared(segment, k, lines), (result.edges[k].src, result.edges[k].dst)


def test_a_view_opened_on_a_scope_starts_there(demo_run):
    pytest.importorskip("anywidget")
    from tfexplore.widgets.graphview import GraphView

    view = GraphView(demo_run, expanded=["layer1"], height=420)  # the tour's view
    assert view.focus["id"] == "layer1/"
    assert any(b["id"] == "layer1/" and b["expanded"] for b in view.scene["boxes"])
    assert GraphView(demo_run).focus == {}
    view.select("layer2/prediction")  # hidden in layer2/: the view goes to that box
    assert view.focus["id"] == "layer2/"
    view.select("layer1/relu")
    assert view.focus["id"] == "layer1/relu"
