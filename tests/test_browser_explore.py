"""explore() in a real JupyterLab at 1400x950, as a person uses it: open *Restore and train*,
click *Start session*, and the train panel (its Run button and loss plot) is in view at once,
under a one-line summary of what was restored; nothing suggests a restore is still to do.
Then the *Variables*, *Tensors* and *Dynamics* tabs (its heatmap computed on a click), every
text readable in each theme.

Needs Debian's ``/usr/bin/chromium``; skipped without it. Screenshot:
``test-artifacts/explore-*.png`` (``*-dynamics.png``: the Dynamics tab).
"""

from __future__ import annotations

import pytest
from browser import (
    ARTIFACTS,
    browser_page,
    lab_server,
    open_notebook,
    requires_chromium,
    run_cell,
    text_contrast,
)

pytestmark = [pytest.mark.slow, requires_chromium]


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
def test_start_session_shows_the_train_panel_in_view(app, theme, tmp_path, demo_run, copy_of):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    run = copy_of(demo_run)
    cells = [
        "import tfexplore\n"
        "from tfexplore.demo import regression_data\n"
        "x, y = regression_data()\n"
        f"view = tfexplore.explore({str(run)!r}, feed={{'inputs/x': x, 'inputs/y': y}})\n"
        "view"
    ]
    shot = f"explore-{app}-{theme.lower().replace(' ', '-')}"
    with (
        lab_server(tmp_path, {"explore.ipynb": cells}, app=app, theme=theme) as url_of,
        sync_playwright() as playwright,
    ):
        page, browser = browser_page(playwright, width=1400, height=950)
        try:
            open_notebook(page, url_of("explore.ipynb"))
            run_cell(page, 0)
            view = page.locator(".tfx-explore")
            expect(view).to_be_visible(timeout=60_000)
            view.locator(".lm-TabBar-tab", has_text="Restore and train").click()
            view.locator("button.tfx-start-session").click()
            panel = view.locator(".tfx-train")
            expect(panel).to_be_visible(timeout=60_000)
            line = view.locator(".tfx-restored-line")
            expect(line).to_contain_text("restored 15 of 15 variables from model.ckpt-30")
            expect(line).to_contain_text("global_step 30")
            expect(panel.locator("button.tfx-run")).to_be_in_viewport()
            expect(panel.locator(".tfx-lossplot-svg")).to_be_in_viewport()
            # the restore panel is folded away: no prominent Restore button, no 15-row table
            restore_buttons = view.locator("button:visible", has_text="Restore")
            assert restore_buttons.count() == 0
            assert view.locator("table.tfx-report:visible").count() == 0
            panel.locator("button.tfx-run").click()  # and it trains from there
            expect(panel.locator(".tfx-global-step")).to_contain_text(
                "global_step 130", timeout=30_000
            )
            # every text readable, the folded report opened too (its coloured rows)
            view.locator(".lm-AccordionPanel-title, .jupyter-widget-Collapse-header").first.click()
            expect(view.locator("table.tfx-report")).to_be_attached(timeout=15_000)
            view.locator(".tfx-report-details summary").first.click()
            texts = text_contrast(view)
            view.screenshot(path=str(ARTIFACTS / f"{shot}.png"))
            view.locator(".lm-TabBar-tab", has_text="Variables").click()
            expect(view.locator("table.tfx-table").first).to_be_visible(timeout=15_000)
            texts += text_contrast(view)
            view.locator(".lm-TabBar-tab", has_text="Tensors").click()
            search = view.locator("input[placeholder^='search tensors']")
            search.fill("layer1 b")
            matches = view.locator("select[size]:visible").last
            expect(matches.locator("option").first).to_contain_text("layer1/b", timeout=15_000)
            matches.select_option(index=0)
            expect(view.locator("pre.tfx-numbers")).to_be_visible(timeout=15_000)
            texts += text_contrast(view)
            # Dynamics: nothing read until the click, then the heatmap and the verdict
            view.locator(".lm-TabBar-tab", has_text="Dynamics").click()
            expect(view).to_contain_text("3 checkpoints (steps 10 to 30)", timeout=15_000)
            assert view.locator(".tfx-dynamics").count() == 0
            button = view.locator("button.tfx-compute-dynamics")
            assert button.evaluate("b => b.scrollWidth <= b.clientWidth"), "label cut short"
            button.click()
            heatmap = view.locator(".tfx-dynamics img")
            expect(heatmap).to_be_visible(timeout=30_000)
            expect(view.locator(".tfx-dynamics")).to_contain_text("no flags: every layer moved")
            assert view.locator(".tfx-dynamics").inner_text().count("no flags") == 1
            expect(view.locator(".widget-hprogress:visible")).to_have_count(0)  # done: gone
            width = heatmap.evaluate("img => img.naturalWidth")
            box = heatmap.bounding_box()
            assert width > 300 and box is not None and box["height"] > 100, (width, box)
            texts += text_contrast(view)
            view.screenshot(path=str(ARTIFACTS / f"{shot}-dynamics.png"))
        finally:
            page.screenshot(path=str(ARTIFACTS / f"{shot}-page.png"))
            browser.close()
    low = [t for t in texts if t["ratio"] < 4.5]
    assert len(texts) > 50 and not low, low[:5]
