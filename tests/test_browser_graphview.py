"""GraphView in a real JupyterLab driven by Chromium (Playwright): the widget draws, a click
on a scope opens it, a click on an op shows its input tensors in the detail panel and in
``view.selected`` on the kernel side, and search reveals the match.

Needs Debian's ``/usr/bin/chromium`` (never ``playwright install``); skipped without it.
A screenshot is saved as ``test-artifacts/graphview.png``.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _notebook(run_folder: Path) -> dict:
    cells = [
        f"from tfexplore.widgets import GraphView\nview = GraphView({str(run_folder)!r}, height=520)\nview",
        'print("SELECTED=" + view.selected)',
    ]
    return {
        "cells": [
            {"cell_type": "code", "metadata": {}, "source": c, "outputs": [], "execution_count": None}
            for c in cells
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


@pytest.fixture
def lab(tmp_path, demo_run):
    """A JupyterLab server on a free port, serving a notebook that shows a GraphView."""
    root = tmp_path / "lab"
    root.mkdir()
    (root / "graph.ipynb").write_text(json.dumps(_notebook(demo_run)))
    port, token = _free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
        "PYTHONPATH": str(REPO),
    }
    log = (tmp_path / "lab.log").open("w")
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("jupyter")),
            "lab",
            "--no-browser",
            f"--port={port}",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.ip=127.0.0.1",
            "--LabApp.extension_manager=readonly",  # no PyPI look-ups
            "--allow-root",  # containers and CI often run as root
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{url}/api/status?token={token}", server, tmp_path / "lab.log")
        yield f"{url}/lab/tree/graph.ipynb?token={token}"
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()


def _wait_for(url: str, server: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"JupyterLab exited:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"JupyterLab did not start in {timeout} s:\n{log.read_text()[-3000:]}")


def test_graphview_in_jupyterlab(lab):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            _drive(page, expect, lab)
        finally:
            page.screenshot(path=str(ARTIFACTS / "graphview.png"))
            browser.close()


def _drive(page, expect, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=30_000)
    _accept_kernel_dialog(page)
    news = page.locator(".jp-toast-button", has_text="No")  # "Jupyter news?" toast
    if news.count():
        news.first.click()
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=30_000)
    page.locator(".jp-Cell").first.click()
    page.keyboard.press("Shift+Enter")  # cell 1: show the widget

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

    page.locator(".jp-Cell").nth(1).click()
    page.keyboard.press("Shift+Enter")  # cell 2: the kernel sees the selection
    expect(page.locator(".jp-Cell").nth(1).locator(".jp-OutputArea")).to_contain_text(
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


def _accept_kernel_dialog(page) -> None:
    """JupyterLab may ask which kernel to start; take the one it proposes (the venv's)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.locator(".jp-Dialog button.jp-mod-accept").click(timeout=8_000)
    except PlaywrightTimeout:
        pass
