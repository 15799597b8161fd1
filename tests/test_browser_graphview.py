"""GraphView in a real JupyterLab driven by Chromium (Playwright): the widget draws, a click
on a scope opens it, a click on an op shows its input tensors in the detail panel and in
``view.selected`` on the kernel side, and search reveals the match.

Needs Debian's ``/usr/bin/chromium`` (never ``playwright install``); skipped without it.
A screenshot is saved as ``test-artifacts/graphview.png``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import (
    ARTIFACTS,
    browser_page,
    cell_output,
    lab_server,
    open_notebook,
    requires_chromium,
    run_cell,
)

pytestmark = [pytest.mark.slow, requires_chromium]


def _cells(run_folder: Path) -> list[str]:
    return [
        f"from tfexplore.widgets import GraphView\nview = GraphView({str(run_folder)!r}, height=520)\nview",
        'print("SELECTED=" + view.selected)',
    ]


@pytest.fixture
def lab(tmp_path, demo_run):
    """A JupyterLab server on a free port, serving a notebook that shows a GraphView."""
    with lab_server(tmp_path, {"graph.ipynb": _cells(demo_run)}) as url_of:
        yield url_of("graph.ipynb")


def test_graphview_in_jupyterlab(lab):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        page, browser = browser_page(playwright)
        try:
            _drive(page, expect, lab)
        finally:
            page.screenshot(path=str(ARTIFACTS / "graphview.png"))
            browser.close()


def _drive(page, expect, url: str) -> None:
    open_notebook(page, url)
    run_cell(page, 0)  # cell 1: show the widget

    widget = page.locator(".tfx-graph")
    expect(widget.locator("g.tfx-scope[data-id='layer1/']")).to_be_visible(timeout=45_000)

    widget.locator("g.tfx-scope[data-id='layer1/'] rect").first.click()  # open a scope
    expect(widget.locator("g.tfx-frame[data-id='layer1/']")).to_be_visible(timeout=15_000)

    widget.locator("g.tfx-op[data-id='layer1/relu'] rect").first.click()  # select an op
    detail = widget.locator(".tfx-detail")
    expect(detail).to_contain_text("layer1/add:0", timeout=15_000)
    expect(detail).to_contain_text("Relu")
    widget.locator("button.tfx-fit").click()
    widget.screenshot(path=str(ARTIFACTS / "graphview-expanded.png"))

    run_cell(page, 1)  # cell 2: the kernel sees the selection
    expect(cell_output(page, 1)).to_contain_text(
        "SELECTED=layer1/relu", timeout=15_000
    )

    search = widget.locator("input.tfx-search")
    search.fill("ResourceApplyAdam")
    search.press("Enter")
    match = "train/Adam/update_layer1/W/ResourceApplyAdam"
    expect(widget.locator(f"g.tfx-op[data-id='{match}']")).to_be_visible(timeout=15_000)
    expect(widget.locator(".tfx-matches")).to_contain_text(match)
    expect(detail).to_contain_text(match)
    widget.scroll_into_view_if_needed()
