"""A notebook showing a GraphView, run by nbclient and exported by nbconvert to HTML, shows a
picture of the current layout in the page, with widget state saved in it or not, offline.

With widget state (nbclient's default, JupyterLab's "save widget state"), nbconvert writes the
widget's output as a ``<script type="application/vnd.jupyter.widget-view+json">`` that only
``@jupyter-widgets/html-manager`` from a CDN can draw; offline that is an empty box. GraphView
therefore shows a second output, a picture kept up to date, which its inline script reveals in
such a page (see ``GraphView._ipython_display_``). The page is opened in Debian's Chromium with
every request that is not a local file refused.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

import nbformat
import pytest
from browser import ARTIFACTS, CHROMIUM_ARGS, notebook, requires_chromium
from nbclient import NotebookClient

pytest.importorskip("anywidget")

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def _cells(run_folder) -> list[str]:
    return [
        "from tfexplore.widgets import GraphView\n"
        f"view = GraphView({str(run_folder)!r}, height=400)\nview",
        # after the display: the picture follows
        'view.expand("layer1")\nview.select("layer1/relu")',
    ]


def _run(tmp_path, run_folder, store_widget_state: bool):
    nb = nbformat.from_dict(notebook(_cells(run_folder)))
    client = NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
        store_widget_state=store_widget_state,
    )
    client.execute()
    return nb


@pytest.fixture(scope="module")
def executed(tmp_path_factory, demo_run):
    """The notebook run twice: ``{True: with widget state, False: without}``."""
    return {
        state: _run(tmp_path_factory.mktemp(f"state{state}"), demo_run, state)
        for state in (True, False)
    }


def _export(nb, template: str = "lab") -> str:
    from nbconvert import HTMLExporter

    html, _ = HTMLExporter(template_name=template).from_notebook_node(nb)
    return html


def _picture_outputs(nb):
    return [
        o
        for o in nb.cells[0].outputs
        if "data-tfx-static" in o.get("data", {}).get("text/html", "")
    ]


def test_the_display_is_the_widget_then_a_current_picture(executed):
    for state, nb in executed.items():
        outputs = nb.cells[0].outputs
        assert len(outputs) == 2 and WIDGET_VIEW in outputs[0]["data"]
        assert "text/html" in outputs[0]["data"]  # the picture at display time
        assert "layer1/relu" not in outputs[0]["data"]["text/html"]  # layer1 was closed then
        (picture,) = _picture_outputs(nb)
        html = picture["data"]["text/html"]
        svg = html[html.index("<svg") : html.index("</svg>") + 6]
        ElementTree.fromstring(svg)
        assert "layer1/relu" in svg  # updated by the later expand()
        model_id = outputs[0]["data"][WIDGET_VIEW]["model_id"]
        saved = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
        assert (model_id in saved) is state
        if state:
            assert saved[model_id]["state"]["_static_key"] == model_id


@pytest.mark.parametrize("template", ["lab", "classic"])
def test_exported_html_holds_the_picture_with_and_without_widget_state(executed, template):
    with_state, without = _export(executed[True], template), _export(executed[False], template)
    assert f'<script type="{WIDGET_VIEW}">' in with_state  # nbconvert chose the live view
    assert f'<script type="{WIDGET_VIEW}">' not in without  # ... and here its text/html
    for html in (with_state, without):
        assert "data-tfx-static=" in html and "layer1/relu" in html


@requires_chromium
@pytest.mark.slow
@pytest.mark.parametrize("state", [True, False], ids=["with-widget-state", "without-widget-state"])
def test_the_exported_page_shows_the_picture_offline(executed, tmp_path, state):
    """Offline Chromium: the page shows one picture, of the layout after ``expand("layer1")``
    (its scopes and ops by name), not an empty box."""
    from playwright.sync_api import expect, sync_playwright

    page_file = tmp_path / "graph.html"
    page_file.write_text(_export(executed[state]))
    refused = []

    def offline(route):
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.route("**/*", offline)
            page.goto(page_file.as_uri(), wait_until="load")
            pictures = page.locator(".tfexplore-graph-static:visible")
            expect(pictures).to_have_count(1)
            picture = pictures.first
            expect(picture).to_have_class("tfexplore-graph-static tfexplore-graph-current")
            svg = picture.locator("svg")
            box = svg.bounding_box()
            assert box and box["width"] > 150 and box["height"] > 150
            expect(svg.locator("g.tfx-frame", has_text="layer1")).to_be_visible()
            for scope in ("inputs", "layer2", "loss", "train"):
                expect(svg.locator("g.tfx-scope", has_text=scope).first).to_be_visible()
            expect(svg.locator("g.tfx-op title", has_text="layer1/relu")).to_have_count(1)
            page.screenshot(
                path=str(ARTIFACTS / f"graphview-export-{'state' if state else 'nostate'}.png"),
                full_page=True,
            )
            if state:
                assert any("html-manager" in url for url in refused)  # it did try the CDN
                assert page.locator(".jupyter-widgets .tfx-graph").count() == 0  # no live view
        finally:
            browser.close()
