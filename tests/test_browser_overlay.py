"""Overlays and the compare view in a real JupyterLab driven by Chromium (Playwright), in the
light and the dark theme.

1. ``view.overlay(series)`` of a known Series on the demo run: the fill of every box read back
   from the page equals the bin computed here (7 linear bins between the smallest and the
   largest value, :data:`tfexplore.scene.overlay.SEQUENTIAL` or its dark twin); a collapsed
   scope shows the max of the ops inside it (its colour, and ``max 4`` in its box); the legend
   shows the title, the colour bar and its 8 ticks.
2. ``GraphView(a, compare=b)`` of two small graphs where ``dense1/act`` changed from ``Relu`` to
   ``Relu6`` and ``extra/out`` was added: ``dense1/`` has the "changed" colour and says
   ``1 changed``; a click on the op shows both sides in the side panel; "only changes" hides
   what did not change.

Every text of both widgets is at least 4.5:1 against what it is drawn on. Screenshots go to
``test-artifacts/overlay-<theme>.png`` and ``overlay-compare-<theme>.png``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from browser import (
    ARTIFACTS,
    browser_page,
    lab_server,
    open_notebook,
    run_cell,
    text_contrast,
)
from browser import requires_chromium as _requires_chromium

pytestmark = [pytest.mark.slow, _requires_chromium]

#: the Series overlaid, and what each box must show: value -> bin of linspace(0, 7, 8)
VALUES = {
    "layer1/MatMul": 0.0,  # bin 0
    "layer1/W": 1.0,  # inside the collapsed layer1/W/: its max, bin 1
    "layer1/add": 2.5,  # bin 2
    "layer1/relu": 7.0,  # bin 6
    "layer2/MatMul": 3.0,  # layer2/ collapsed: max 4 -> bin 4
    "layer2/prediction": 4.0,
    "not/in/the/graph": 100.0,  # named in the legend, not drawn, not in the scale
}
EXPANDED = ["layer1", "layer1/MatMul", "layer1/add"]

COMPARE_CELL = """
import tensorflow as tf

def build(edit):
    graph = tf.Graph()
    with graph.as_default():
        h = tf.compat.v1.placeholder(tf.float32, [None, 4], name="x")
        for i in range(3):
            with tf.compat.v1.variable_scope(f"dense{i}"):
                w = tf.compat.v1.get_variable("W", [4, 4])
                h = tf.matmul(h, w)
                h = (tf.nn.relu6 if edit and i == 1 else tf.nn.relu)(h, name="act")
        if edit:
            tf.identity(h, name="extra/out")
        tf.identity(h, name="out")
    return graph.as_graph_def()

diff_view = GraphView(build(False), compare=build(True), height=420)
diff_view
"""

#: every drawn box of a widget: its id, fill, the text in its box and whether it shows
BOXES_JS = """
(root) => [...root.querySelectorAll('.tfx-svg g.tfx-node')].map((g) => ({
  id: g.dataset.id,
  fill: g.querySelector('rect.tfx-box').getAttribute('fill'),
  count: (g.querySelector('text.tfx-count') || {}).textContent || null,
  shown: g.getClientRects().length > 0,
}))
"""


def _cells(run: Path) -> list[str]:
    values = ", ".join(f"{k!r}: {v!r}" for k, v in VALUES.items())
    return [
        "import pandas as pd\n"
        "from tfexplore.widgets import GraphView\n"
        f"values = pd.Series({{{values}}})\n"
        f"view = GraphView({str(run)!r}, expanded={EXPANDED!r}, height=460)\n"
        "view.overlay(values, agg='max', title='known values')\n"
        "view",
        COMPARE_CELL,
    ]


def _expected_fills(dark: bool) -> dict[str, str]:
    """The colour of each box, from the values alone (not from the code under test)."""
    from tfexplore.scene import overlay as ov

    ramp = ov.SEQUENTIAL_DARK if dark else ov.SEQUENTIAL
    none = ov.NO_VALUE_DARK if dark else ov.NO_VALUE
    edges = np.linspace(0.0, 7.0, 8)

    def bin_of(v: float) -> int:
        return int(min(np.searchsorted(edges, v, side="right") - 1, 6))

    return {
        "layer1/MatMul": ramp[bin_of(0.0)],
        "layer1/add": ramp[bin_of(2.5)],
        "layer1/relu": ramp[bin_of(7.0)],
        "layer1/W/": ramp[bin_of(1.0)],
        "layer2/": ramp[bin_of(4.0)],
        "layer1/MatMul/ReadVariableOp": none,
        "layer1/b/": none,
        "init": none,
    }


THEMES = ["JupyterLab Light", "JupyterLab Dark"]


@pytest.mark.parametrize("theme", THEMES, ids=["light", "dark"])
def test_overlay_and_compare_in_jupyterlab(tmp_path, demo_run, theme):
    from playwright.sync_api import expect, sync_playwright

    from tfexplore.scene.overlay import STATUS_COLORS

    tag = theme.split(" ", 1)[1].lower()
    ARTIFACTS.mkdir(exist_ok=True)
    with (
        lab_server(tmp_path, {"overlay.ipynb": _cells(demo_run)}, theme=theme) as url_of,
        sync_playwright() as playwright,
    ):
        page, browser = browser_page(playwright)
        try:
            open_notebook(page, url_of("overlay.ipynb"))
            dark = page.evaluate("() => document.body.dataset.jpThemeLight === 'false'")
            assert dark == (tag == "dark")

            # 1. an overlay of known values
            run_cell(page, 0)
            widget = page.locator(".tfx-graph").nth(0)
            expect(widget.locator("g.tfx-op[data-id='layer1/relu']")).to_be_visible(timeout=60_000)
            legend = widget.locator(".tfx-legend.tfx-overlay-legend")
            expect(legend).to_be_visible()
            expect(legend).to_contain_text("known values")
            expect(legend).to_contain_text("1 name not in this graph")
            expect(legend.locator(".tfx-scale-bin")).to_have_count(7)
            expect(legend.locator(".tfx-tick")).to_have_count(8)
            expect(legend.locator(".tfx-tick").first).to_have_text("0")
            expect(legend.locator(".tfx-tick").last).to_have_text("7")
            widget.locator("button.tfx-fit").click()
            page.wait_for_timeout(500)
            boxes = {b["id"]: b for b in widget.evaluate(BOXES_JS)}
            expected = _expected_fills(dark)
            assert {i: boxes[i]["fill"] for i in expected} == expected
            assert boxes["layer2/"]["count"] == "max 4"  # the aggregate, in the box
            assert boxes["layer1/W/"]["count"] == "max 1"
            assert boxes["layer1/b/"]["count"] in ("no value", "–")  # "–" where it is too long
            # the side panel of a collapsed scope says the aggregate too
            _centre(widget)
            widget.locator("g.tfx-scope[data-id='layer1/W/'] rect.tfx-box").click()
            detail = widget.locator(".tfx-detail")
            expect(detail).to_contain_text("known values: max 1 of 1 ops with a value")
            expect(widget.locator("g.tfx-frame[data-id='layer1/W/']")).to_be_visible(timeout=15_000)
            # opened, the variable op shows its own value (bin 1) and its slots have none
            w = widget.locator("g.tfx-op[data-id='layer1/W']")
            expect(w).to_be_visible()
            assert w.locator("rect.tfx-box").get_attribute("fill") == expected["layer1/W/"]
            _readable(widget, f"overlay, {tag}")
            widget.screenshot(path=str(ARTIFACTS / f"overlay-{tag}.png"))

            # 2. a compare view of two graphs with a known edit
            run_cell(page, 1)
            compare = page.locator(".tfx-graph").nth(1)
            scope = compare.locator("g.tfx-scope[data-id='dense1/']")
            expect(scope).to_be_visible(timeout=90_000)
            expect(compare.locator(".tfx-compare-summary")).to_contain_text("1 changed, 1 added")
            changed = STATUS_COLORS["changed"][1 if dark else 0]
            same = STATUS_COLORS["same"][1 if dark else 0]
            boxes = {b["id"]: b for b in compare.evaluate(BOXES_JS)}
            assert boxes["dense1/"]["fill"] == changed and boxes["dense1/"]["count"] == "1 changed"
            assert boxes["dense0/"]["fill"] == same and boxes["dense0/"]["count"] == "all same"
            assert boxes["extra/"]["fill"] == STATUS_COLORS["added"][1 if dark else 0]
            _centre(compare)
            scope.locator("rect.tfx-box").click()  # open dense1
            act = compare.locator("g.tfx-op[data-id='dense1/act']")
            expect(act).to_be_visible(timeout=15_000)
            assert act.locator("rect.tfx-box").get_attribute("fill") == changed
            _centre(compare)
            act.locator("rect.tfx-box").click()
            table = compare.locator(".tfx-detail table.tfx-compare")
            expect(table).to_be_visible(timeout=15_000)
            row = table.locator("tr.tfx-compare-changed", has_text="op")
            expect(row).to_contain_text("Relu")
            expect(row.locator("td").nth(0)).to_have_text("Relu")
            expect(row.locator("td").nth(1)).to_have_text("Relu6")
            expect(compare.locator(".tfx-detail")).to_contain_text("op: Relu -> Relu6")
            # only changes: the untouched ops and scopes go, the changed ones stay
            untouched = ["dense0/", "dense2/", "dense1/MatMul/", "x", "out"]
            for name in untouched:  # drawn before the filter
                expect(compare.locator(f"g[data-id='{name}']")).to_be_visible()
            frame = compare.locator("g.tfx-frame[data-id='dense1/'] rect").first
            tall = float(frame.get_attribute("height"))
            compare.locator(".tfx-only-changes input").check()
            expect(compare.locator("g[data-id='dense0/']")).to_be_hidden(timeout=15_000)
            expect(compare.locator("g[data-id='dense2/']")).to_be_hidden()
            expect(compare.locator("g[data-id='dense1/MatMul/']")).to_be_hidden()
            expect(act).to_be_visible()
            expect(compare.locator("g.tfx-frame[data-id='dense1/']")).to_be_visible()
            expect(compare.locator("g[data-id='extra/']")).to_be_visible()
            # laid out again: the frame closes up around what is left in it
            assert float(frame.get_attribute("height")) < tall / 2
            shown = {b["id"] for b in compare.evaluate(BOXES_JS) if b["shown"]}
            assert "x" not in shown and "out" not in shown
            _readable(compare, f"compare, {tag}")
            compare.screenshot(path=str(ARTIFACTS / f"overlay-compare-{tag}.png"))
        finally:
            page.screenshot(path=str(ARTIFACTS / f"overlay-page-{tag}.png"))
            browser.close()


def _centre(widget) -> None:
    """Scroll the notebook so that the whole widget shows (nothing under the sticky toolbar)."""
    widget.evaluate("el => el.scrollIntoView({block: 'center'})")
    widget.page.wait_for_timeout(300)


def _readable(widget, when: str) -> None:
    texts = text_contrast(widget)
    assert texts, when
    poor = [t for t in texts if t["ratio"] < 4.5]
    assert poor == [], f"{when}: {poor[:5]}"
