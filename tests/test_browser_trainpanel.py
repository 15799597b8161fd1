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
    text_contrast,
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
        "print(f\"STEP={s.eval('global_step')} RUNNING={panel.running} ROWS={len(s.history)}\")",
    ]


@pytest.fixture(params=["lab", "notebook"])
def lab(request, tmp_path, demo_run, copy_of):
    """The panel's notebook in JupyterLab, then in Notebook 7."""
    with lab_server(
        tmp_path, {"train.ipynb": _cells(copy_of(demo_run))}, app=request.param
    ) as url_of:
        yield url_of("train.ipynb")


def _global_step(panel) -> int:
    text = panel.locator(".tfx-global-step").inner_text()
    return int(re.search(r"(\d+)", text).group(1))


def _wait_until(condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the page did not change in time"
        time.sleep(0.2)


RECORDER = """
() => {
  const panel = document.querySelector('.tfx-train');
  const svg = panel.querySelector('.tfx-lossplot-svg');
  const label = panel.querySelector('.tfx-global-step').parentElement;
  window.__tfx = { log: [], t0: null };
  new MutationObserver(() => window.__tfx.log.push({ t: performance.now(), kind: 'plot',
      points: +svg.dataset.points, lastX: parseFloat(svg.dataset.lastX) }))
    .observe(svg, { attributes: true, attributeFilter: ['data-redraws'] });
  new MutationObserver(() => {
      const m = label.textContent.match(/(\\d+)/);
      if (m) window.__tfx.log.push({ t: performance.now(), kind: 'step', value: +m[1] });
    }).observe(label, { subtree: true, childList: true, characterData: true });
}
"""


def test_trainpanel_runs_and_stops_in_jupyterlab(lab, request):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        page, browser = browser_page(playwright, height=900)
        try:
            _drive(page, expect, lab)
        finally:
            app = request.node.callspec.params["lab"]
            page.screenshot(path=str(ARTIFACTS / f"trainpanel-{app}.png"))
            browser.close()


def _drive(page, expect, url: str) -> None:
    open_notebook(page, url)
    run_cell(page, 0)  # show the panel
    panel = page.locator(".tfx-train")
    step_label = panel.locator(".tfx-global-step")
    expect(step_label).to_contain_text("global_step 30", timeout=45_000)
    plot = panel.locator(".tfx-lossplot-svg")
    expect(plot).to_be_visible()
    expect(panel.locator(".tfx-lossplot")).to_contain_text("no steps yet")

    panel.locator("button.tfx-run").click()  # 40 steps
    expect(step_label).to_contain_text("global_step 70", timeout=20_000)
    expect(panel).to_contain_text("ran 40 of 40 steps")
    expect(plot).to_have_attribute("data-points", "40")  # the loss curve was drawn
    expect(plot).to_have_attribute("data-last-x", "70")

    steps = panel.locator(".tfx-steps input")
    steps.fill(str(LONG_RUN))
    steps.press("Tab")  # commit the value to the kernel
    # The kernel has it when the panel says what Run will do (ipywidgets may hold a state
    # update back while an earlier one is unanswered; a click is never held back).
    expect(panel).to_contain_text(f"next Run: {LONG_RUN:,} steps, about", timeout=15_000)
    page.evaluate(RECORDER)
    page.evaluate(
        "() => { document.querySelector('.tfx-train button.tfx-run').click();"
        " window.__tfx.t0 = performance.now(); }"
    )
    expect(panel).to_contain_text(f"training {LONG_RUN:,} steps", timeout=10_000)
    expect(panel.locator("button.tfx-stop")).to_be_enabled(timeout=10_000)
    _wait_until(lambda: _global_step(panel) > 70)  # the page follows the run live
    time.sleep(6)  # a person watching the curve for a few seconds
    stop = panel.locator("button.tfx-stop")
    assert stop.is_enabled(), f"the run ended by itself; the panel says: {panel.inner_text()!r}"
    stop.click()
    expect(panel).to_contain_text("stopped early", timeout=15_000)
    expect(panel.locator("button.tfx-run")).to_be_enabled()
    stopped_at = _global_step(panel)
    assert 70 < stopped_at < 70 + LONG_RUN
    timing = _plot_timing(page.evaluate("() => window.__tfx"))
    app = "notebook" if "/notebooks/" in url else "lab"
    (ARTIFACTS / f"trainpanel-timing-{app}.txt").write_text(
        "".join(f"{k}: {v}\n" for k, v in timing.items())
    )
    # What a person feels is measured and kept (test-artifacts/trainpanel-timing-*.txt, and
    # printed; targets: first point <= 1 s, a redraw at least every second, the curve at most
    # 1 s behind the counter). Tests assert no timings (a loaded machine would fail them):
    # asserted is that the curve moved while the run went on, not only at its end.
    print(f"\nTrainPanel live plot ({app}): {timing}")
    assert timing["redraws"] >= 3 and timing["counter_updates"] >= 3, timing

    run_cell(page, 1)  # the kernel agrees with the page, and nothing is running
    expect(cell_output(page, 1)).to_contain_text(
        f"STEP={stopped_at} RUNNING=False ROWS={stopped_at - 30}", timeout=15_000
    )
    expect(plot).to_have_attribute("data-last-x", str(stopped_at))
    panel.scroll_into_view_if_needed()
    panel.screenshot(path=str(ARTIFACTS / f"trainpanel-widget-{app}.png"))


def _plot_timing(record: dict) -> dict:
    """From the page's log of plot redraws and counter changes during the long run: seconds
    from Run to the first new point, the longest gap between redraws while running, and the
    longest time the curve trailed a value the counter already showed."""
    t0, log = record["t0"], sorted(record["log"], key=lambda e: e["t"])
    plots = [e for e in log if e["kind"] == "plot" and e["t"] >= t0]
    counts = [e for e in log if e["kind"] == "step" and e["t"] >= t0]
    first = next(e for e in plots if e["points"] > 40)
    running = [e["t"] for e in plots if e["points"] > 40]
    gaps = [b - a for a, b in zip(running, running[1:])]
    end = running[-1]
    lags = []
    for count in counts:
        if count["t"] > end - 1000:  # the last second: the final redraw covers it
            continue
        caught_up = next(
            (p["t"] for p in plots if p["t"] >= count["t"] and p["lastX"] >= count["value"]), end
        )
        lags.append(caught_up - count["t"])
    return {
        "first_point_s": round((first["t"] - t0) / 1000, 3),
        "redraws": len(running),
        "median_redraw_gap_s": round(sorted(gaps)[len(gaps) // 2] / 1000, 3) if gaps else None,
        "max_redraw_gap_s": round(max(gaps, default=0) / 1000, 3),
        "max_lag_behind_counter_s": round(max(lags, default=0) / 1000, 3),
        "counter_updates": len(counts),
    }


@pytest.mark.parametrize(
    "app, theme",
    [
        ("lab", "JupyterLab Light"),
        ("lab", "JupyterLab Dark"),
        ("lab", "JupyterLab Dark High Contrast"),
        ("notebook", "JupyterLab Light"),
        ("notebook", "JupyterLab Dark"),
    ],
)
def test_the_train_panel_is_readable_in_light_and_dark_themes(
    app, theme, tmp_path, demo_run, copy_of
):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    cells = _cells(copy_of(demo_run))
    with (
        lab_server(tmp_path, {"train.ipynb": cells}, app=app, theme=theme) as url_of,
        sync_playwright() as playwright,
    ):
        page, browser = browser_page(playwright, height=900)
        try:
            open_notebook(page, url_of("train.ipynb"))
            run_cell(page, 0)
            panel = page.locator(".tfx-train")
            expect(panel.locator(".tfx-global-step")).to_contain_text(
                "global_step 30", timeout=45_000
            )
            panel.locator("button.tfx-run").click()
            expect(panel).to_contain_text("ran 40 of 40 steps", timeout=30_000)
            plot = panel.locator(".tfx-lossplot")
            expect(plot.locator("svg")).to_have_attribute("data-points", "40")
            texts = text_contrast(panel)  # the whole panel: buttons, labels, status, plot
            shot = f"trainpanel-{app}-{theme.lower().replace(' ', '-')}.png"
            panel.screenshot(path=str(ARTIFACTS / shot))
        finally:
            browser.close()
    ticks = [t for t in texts if any(ch.isdigit() for ch in t["text"])]
    assert len(ticks) >= 4, texts  # the axes' numbers were measured
    low = [t for t in texts if t["ratio"] < 4.5]
    assert not low, low  # WCAG AA for text
    assert min(t["px"] for t in texts) >= 10, texts  # labels a person can read
