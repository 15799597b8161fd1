"""The JupyterLab / Notebook 7 + Playwright harness the browser tests share.

``lab_server(root, notebooks)`` starts JupyterLab on a free port serving the notebooks it
writes (``{"name.ipynb": [cell source, ...]}``) and yields a function giving each one's URL
(``app="notebook"``: the Notebook 7 server, ``/notebooks/<file>.ipynb`` URLs);
``open_notebook(page, url)`` opens one and waits for an idle kernel; ``run_cell(page, i)``
runs cell ``i``; ``browser_page(playwright)`` launches Debian's Chromium. Never
``playwright install``: tests using this are skipped without ``/usr/bin/chromium``
(``requires_chromium``).

Example::

    from browser import lab_server, browser_page, open_notebook, run_cell, requires_chromium

    pytestmark = [pytest.mark.slow, requires_chromium]

    def test_x(tmp_path):
        with lab_server(tmp_path, {"x.ipynb": ["1 + 1"]}) as url_of, sync_playwright() as pw:
            page, browser = browser_page(pw)
            open_notebook(page, url_of("x.ipynb"))
            run_cell(page, 0)
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
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

requires_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def notebook(cells: Sequence[str]) -> dict:
    """A notebook (nbformat 4 dict) of code cells, for the venv's ``python3`` kernel."""
    return {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "source": c,
                "outputs": [],
                "execution_count": None,
            }
            for c in cells
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


@contextlib.contextmanager
def lab_server(
    folder: Path, notebooks: Mapping[str, Sequence[str]], app: str = "lab", theme: str | None = None
) -> Iterator[Callable[[str], str]]:
    """JupyterLab (``app="lab"``) or Notebook 7 (``app="notebook"``) on a free port with
    ``notebooks`` written under ``folder/lab``; yields ``url_of(name)``. ``theme``: a theme's
    name (``"JupyterLab Dark"``, ``"JupyterLab Light"``) set in the server's own user
    settings. The server (its whole process group) is stopped on exit."""
    if app not in ("lab", "notebook"):
        raise ValueError(f"app must be 'lab' or 'notebook'. Received: app={app!r}")
    if app == "notebook":
        pytest.importorskip("notebook", minversion="7", reason="needs Notebook 7 (notebook>=7)")
    root = folder / "lab"
    root.mkdir()
    for name, cells in notebooks.items():
        (root / name).write_text(json.dumps(notebook(cells)))
    port, token = free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(folder / "runtime"),
        "JUPYTERLAB_WORKSPACES_DIR": str(folder / "workspaces"),
        "PYTHONPATH": str(REPO),
    }
    if theme is not None:
        settings = folder / "settings"
        themes = settings / "@jupyterlab" / "apputils-extension" / "themes.jupyterlab-settings"
        themes.parent.mkdir(parents=True)
        themes.write_text(json.dumps({"theme": theme}))
        env["JUPYTERLAB_SETTINGS_DIR"] = str(settings)
    log_path = folder / "lab.log"
    log = log_path.open("w")
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("jupyter")),
            app,
            "--no-browser",
            f"--port={port}",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.ip=127.0.0.1",
            *(["--LabApp.extension_manager=readonly"] if app == "lab" else []),  # no PyPI look-ups
            "--allow-root",  # containers and CI often run as root
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{url}/api/status?token={token}", server, log_path)
        path = "lab/tree" if app == "lab" else "notebooks"
        yield lambda name: f"{url}/{path}/{name}?token={token}"
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


def browser_page(playwright, width: int = 1400, height: int = 1000):
    """``(page, browser)`` in Debian's Chromium; close the browser when done."""
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    return browser.new_page(viewport={"width": width, "height": height}), browser


def open_notebook(page, url: str) -> None:
    """Open a notebook and wait until its kernel is idle (dialogs and toasts dismissed)."""
    page.goto(url, wait_until="domcontentloaded")
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=30_000)
    _accept_kernel_dialog(page)
    news = page.locator(".jp-toast-button", has_text="No")  # "Jupyter news?" toast
    if news.count():
        news.first.click()
    if "/notebooks/" in url:  # Notebook 7: its kernel status sits in the notebook's toolbar
        page.locator(".jp-Notebook").first.wait_for(timeout=30_000)
        page.wait_for_function(
            "() => !document.querySelector('.jp-Notebook-ExecutionIndicator') || "
            "document.querySelector(\".jp-Notebook-ExecutionIndicator[data-status='idle']\")",
            timeout=30_000,
        )
        return
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=30_000)


def run_cell(page, index: int) -> None:
    """Run cell ``index`` (click it, Shift+Enter)."""
    page.locator(".jp-Cell").nth(index).click()
    page.keyboard.press("Shift+Enter")


def cell_output(page, index: int):
    """The output area of cell ``index`` (a Playwright locator)."""
    return page.locator(".jp-Cell").nth(index).locator(".jp-OutputArea")


def _accept_kernel_dialog(page) -> None:
    """JupyterLab may ask which kernel to start; take the one it proposes (the venv's)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.locator(".jp-Dialog button.jp-mod-accept").click(timeout=8_000)
    except PlaywrightTimeout:
        pass


# Contrast of every visible text inside ``root`` against what is painted behind it (WCAG
# relative luminance). Colours with alpha are composited as the browser paints them: the text
# colour over its background; for SVG text the shapes under its centre (``elementsFromPoint``:
# box fills, frames, with their fill-opacity) over the page's background. SVG text outside its
# drawing's visible area, or covered by another element, is not seen and not measured. ``px``
# is the CSS font size; ``screen_px`` the size on screen (for SVG text: times the zoom).
CONTRAST_JS = """
(root) => {
  const rgba = (c) => {
    const m = (c || "").match(/[\\d.]+/g);
    if (!m || m.length < 3 || /^none|^url/.test(c)) return null;
    const v = m.map(Number);
    return [v[0], v[1], v[2], v.length > 3 ? v[3] : 1];
  };
  const over = (top, below) => top.slice(0, 3).map((v, i) => v * top[3] + below[i] * (1 - top[3]));
  const lum = ([r, g, b]) => {
    const f = (v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const htmlLayers = (node) => {  // backgrounds from ``node`` outwards, until an opaque one
    const layers = [];
    for (let n = node; n; n = n.parentElement) {
      const c = rgba(getComputedStyle(n).backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    return layers;
  };
  const composite = (layers) => {  // topmost first
    let colour = [255, 255, 255];
    for (const c of layers.slice().reverse()) colour = over(c, colour);
    return colour;
  };
  const SHAPES = [
    SVGRectElement, SVGPathElement, SVGCircleElement, SVGEllipseElement, SVGPolygonElement,
  ];
  const svgBackground = (t) => {
    const svg = t.ownerSVGElement;
    const r = t.getBoundingClientRect();
    const area = svg.getBoundingClientRect();
    let clip = svg.parentElement;
    const cx = r.left + r.width / 2, cy = r.top + r.height / 2;
    for (let n = svg.parentElement; n; n = n.parentElement) {
      if (getComputedStyle(n).overflow !== "visible") { clip = n; break; }
    }
    const seen = clip ? clip.getBoundingClientRect() : area;
    // an SVG drawn with overflow visible shows text beyond its box too
    const box = getComputedStyle(svg).overflow === "visible" ? seen : area;
    if (cx < Math.max(box.left, seen.left, 0) || cx > Math.min(box.right, seen.right, innerWidth) ||
        cy < Math.max(box.top, seen.top, 0) ||
        cy > Math.min(box.bottom, seen.bottom, innerHeight)) return null;
    const stack = document.elementsFromPoint(cx, cy);
    if (!stack.length || !svg.contains(stack[0]) && stack[0] !== svg) return null;  // covered
    const layers = [];
    let ground = false;
    for (const n of stack) {
      if (n === svg) { ground = true; layers.push(...htmlLayers(svg)); break; }
      if (!svg.contains(n) || !SHAPES.some((k) => n instanceof k)) continue;
      const style = getComputedStyle(n);
      const c = rgba(style.fill);
      if (!c) continue;
      let alpha = c[3] * parseFloat(style.fillOpacity || "1");
      for (let g = n; g && g !== svg; g = g.parentElement) {
        alpha *= parseFloat(getComputedStyle(g).opacity || "1");
      }
      if (alpha <= 0) continue;
      layers.push([c[0], c[1], c[2], alpha]);
      if (alpha >= 1) { ground = true; break; }
    }
    if (!ground) layers.push(...htmlLayers(svg));  // beyond the SVG's box: the page behind it
    return composite(layers);
  };
  const out = [];
  const TEXTS = "text, span, label, b, div, button, a, p, li, h3, h4, td, th, summary, pre, " +
    "code, option";
  for (const t of root.querySelectorAll(TEXTS)) {
    const own = [...t.childNodes].some((c) => c.nodeType === 3 && c.textContent.trim());
    if (!own || !t.getClientRects().length) continue;
    const style = getComputedStyle(t);
    if (style.visibility === "hidden" || style.display === "none") continue;
    const svgText = t instanceof SVGElement;
    const fg = rgba(svgText ? style.fill : style.color);
    if (!fg) continue;
    const bg = svgText ? svgBackground(t) : composite(htmlLayers(t));
    if (!bg) continue;
    const opacity = svgText ? parseFloat(style.fillOpacity || "1") : 1;
    const shown = over([fg[0], fg[1], fg[2], fg[3] * opacity], bg);
    const [a, b] = [lum(shown), lum(bg)].sort((x, y) => y - x);
    const px = parseFloat(style.fontSize);
    const ctm = svgText ? t.getScreenCTM() : null;
    const zoom = ctm ? Math.hypot(ctm.a, ctm.b) : 1;
    out.push({ text: t.textContent.trim().slice(0, 40), ratio: (a + 0.05) / (b + 0.05),
               px, screen_px: px * zoom, svg: svgText,
               fg: "rgb(" + shown.map(Math.round).join(",") + ")",
               bg: "rgb(" + bg.map(Math.round).join(",") + ")" });
  }
  return out;
}
"""


def text_contrast(locator) -> list[dict]:
    """``[{text, ratio, px, screen_px, svg, fg, bg}]`` for every visible text inside
    ``locator``'s element (see ``CONTRAST_JS``)."""
    return locator.evaluate(CONTRAST_JS)
