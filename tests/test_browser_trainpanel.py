"""TrainPanel in a real JupyterLab driven by Chromium: Run trains (the loss plot and the
global_step on the page change), and Stop ends a long run early while the kernel keeps
answering (training runs in batches on the kernel's event loop, not in a blocking callback).

Needs Debian's ``/usr/bin/chromium``; skipped without it. Screenshot:
``test-artifacts/trainpanel.png``.
"""

from __future__ import annotations

import re
import time
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

LONG_RUN = 1_000_000


def _cells(run_folder: Path) -> list[str]:
    return [
        "import tfexplore\n"
        "from tfexplore.demo import regression_data\n"
        "from tfexplore.widgets import TrainPanel\n"
        "x, y = regression_data()\n"
        f"s = tfexplore.session({str(run_folder)!r})\n"
        "panel = TrainPanel(s, feed={'inputs/x': x, 'inputs/y': y}, steps=40)\n"
        "panel",
        'print(f"STEP={s.eval(\'global_step\')} RUNNING={panel.running} ROWS={len(s.history)}")',
    ]


@pytest.fixture
def lab(tmp_path, demo_run, copy_of):
    with lab_server(tmp_path, {"train.ipynb": _cells(copy_of(demo_run))}) as url_of:
        yield url_of("train.ipynb")


def _global_step(panel) -> int:
    text = panel.locator(".tfx-global-step").inner_text()
    return int(re.search(r"(\d+)", text).group(1))


def _wait_until(condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the page did not change in time"
        time.sleep(0.2)


def test_trainpanel_runs_and_stops_in_jupyterlab(lab):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        page, browser = browser_page(playwright, height=900)
        try:
            _drive(page, expect, lab)
        finally:
            page.screenshot(path=str(ARTIFACTS / "trainpanel.png"))
            browser.close()


def _drive(page, expect, url: str) -> None:
    open_notebook(page, url)
    run_cell(page, 0)  # show the panel
    panel = page.locator(".tfx-train")
    step_label = panel.locator(".tfx-global-step")
    expect(step_label).to_contain_text("global_step 30", timeout=45_000)
    plot = panel.locator(".tfx-loss-plot")
    expect(plot).to_be_visible()
    empty_plot = plot.get_attribute("src")

    panel.locator("button.tfx-run").click()  # 40 steps
    expect(step_label).to_contain_text("global_step 70", timeout=20_000)
    expect(panel).to_contain_text("ran 40 of 40 steps")
    expect(plot).not_to_have_attribute("src", empty_plot)  # the loss curve was drawn

    steps = panel.locator(".tfx-steps input")
    steps.fill(str(LONG_RUN))
    steps.press("Tab")  # commit the value to the kernel
    panel.locator("button.tfx-run").click()
    expect(panel.locator("button.tfx-stop")).to_be_enabled(timeout=10_000)
    _wait_until(lambda: _global_step(panel) > 70)  # the page follows the run live
    mid_run, plot_mid_run = _global_step(panel), plot.get_attribute("src")
    _wait_until(lambda: _global_step(panel) > mid_run)
    expect(plot).not_to_have_attribute("src", plot_mid_run, timeout=15_000)
    panel.locator("button.tfx-stop").click()
    expect(panel).to_contain_text("stopped early", timeout=15_000)
    expect(panel.locator("button.tfx-run")).to_be_enabled()
    stopped_at = _global_step(panel)
    assert 70 < stopped_at < 70 + LONG_RUN

    run_cell(page, 1)  # the kernel agrees with the page, and nothing is running
    expect(cell_output(page, 1)).to_contain_text(
        f"STEP={stopped_at} RUNNING=False ROWS={stopped_at - 30}", timeout=15_000
    )
    panel.scroll_into_view_if_needed()
    panel.screenshot(path=str(ARTIFACTS / "trainpanel-widget.png"))
