"""The rewrite panel in a real JupyterLab, as a person uses it: a BERT checkpoint planned for
its Keras model with one tensor missing (a drop rule took the pooler's kernel), the problem
row seen, fixed by clicking the row and the target nothing fills, *Apply*, the problem count
at 0, a path typed, *Write*, the written prefix on the page; then the kernel restores the
file into a fresh model. Once as ``RewritePanel`` (light theme), once through explore()'s
*Rewrite* tab with the drop rule typed in the panel (dark theme).

Needs Debian's ``/usr/bin/chromium``; skipped without it. Screenshots:
``test-artifacts/rewrite-<theme>-problem.png`` and ``-written.png``.
"""

from __future__ import annotations

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

POOLER = "bert/pooler/dense/kernel"


def _cells(folder, written, how: str) -> list[str]:
    make = (
        "import tfexplore\n"
        "from tfexplore import demo\n"
        f"prefix = demo.make_bert_checkpoint({str(folder)!r})\n"
        "model = demo.make_bert_keras_model()\n"
    )
    if how == "panel":  # the plan is made with a rule that leaves the pooler's kernel out
        show = f"view = tfexplore.RewritePanel(prefix, to=model, drop={POOLER!r})\nview"
    else:
        show = "view = tfexplore.explore(prefix, model=model)\nview"
    check = (
        "import numpy as np, tensorflow as tf\n"
        "fresh = demo.make_bert_keras_model()\n"
        f"tf.train.Checkpoint(model=fresh).restore({str(written)!r})"
        ".assert_existing_objects_matched()\n"
        "weights = {w.path: w.numpy() for w in fresh.weights}\n"
        "source = tfexplore.open(prefix)\n"
        "same = all(np.array_equal(weights[p], source.read(k)) "
        "for k, p in demo.bert_keras_names().items())\n"
        "print(f'RESTORED={same}')"
    )
    return [make + show, check]


@pytest.mark.parametrize(
    "how, theme", [("panel", "JupyterLab Light"), ("explore", "JupyterLab Dark")]
)
def test_fix_a_missing_tensor_in_the_panel_and_write(how, theme, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    written = tmp_path / "converted" / "model.ckpt"
    cells = _cells(tmp_path / "bert", written, how)
    shot = f"rewrite-{theme.lower().replace(' ', '-')}"
    with (
        lab_server(tmp_path, {"rewrite.ipynb": cells}, theme=theme) as url_of,
        sync_playwright() as playwright,
    ):
        page, browser = browser_page(playwright, width=1400, height=1000)
        try:
            open_notebook(page, url_of("rewrite.ipynb"))
            run_cell(page, 0)
            if how == "explore":
                view = page.locator(".tfx-explore")
                expect(view).to_be_visible(timeout=90_000)
                view.locator(".lm-TabBar-tab", has_text="Rewrite").click()
                panel = view.locator(".tfx-rewrite")
                expect(panel.locator(".tfx-rewrite-header")).to_contain_text(
                    "ready to write", timeout=60_000
                )
                # the rule typed in the panel: drop the pooler's kernel, plan again
                panel.locator(".tfx-rw-drop input").fill(POOLER)
                panel.locator(".tfx-rw-drop input").press("Tab")
                page.wait_for_timeout(500)
                panel.locator("button.tfx-rw-plan-again").click()
            else:
                panel = page.locator(".tfx-rewrite")
            header = panel.locator(".tfx-rewrite-header")
            expect(header).to_contain_text("1 problems", timeout=90_000)
            expect(header).to_contain_text("118 tensors")
            problem = panel.locator("tr.tfx-rw-problem")
            expect(problem).to_have_count(1)
            message = panel.locator("tr.tfx-rw-msgrow.tfx-rw-problem-msg")
            expect(message).to_have_count(1)
            expect(message).to_contain_text("nothing fills this variable [8, 8] float32")
            expect(message).to_be_in_viewport()  # under its row, not off to the right
            expect(problem).to_have_attribute("data-target", "pooler/kernel")
            panel.screenshot(path=str(ARTIFACTS / f"{shot}-problem.png"))
            texts = text_contrast(panel)
            # find the row with the filter, click it, then the target nothing fills, Apply
            panel.locator(".tfx-rw-filter input").fill("pooler")
            rows = panel.locator("tr.tfx-rw-row")
            expect(rows).to_have_count(7, timeout=15_000)  # 2 source rows + 4 slots + 1 target
            expect(panel.locator(".tfx-rw-count")).to_contain_text("7 rows")
            panel.locator(f"tr.tfx-rw-row[data-source='{POOLER}']").click()
            expect(panel.locator(".tfx-rw-source input")).to_have_value(POOLER, timeout=15_000)
            expect(panel.locator(f"tr.tfx-rw-selected[data-source='{POOLER}']")).to_have_count(1)
            problem.click()
            expect(panel.locator(".tfx-rw-target input")).to_have_value(
                "pooler/kernel", timeout=15_000
            )
            expect(panel.locator(".tfx-rw-action select")).to_have_value("rename")
            page.wait_for_timeout(300)
            panel.locator("button.tfx-rw-apply").click()
            expect(header).to_contain_text("0 problems", timeout=30_000)
            expect(header).to_contain_text("ready to write")
            expect(panel.locator("tr.tfx-rw-problem")).to_have_count(0)
            expect(panel.locator(f"tr.tfx-rw-row[data-source='{POOLER}']")).to_contain_text(
                "pooler/kernel"
            )
            # write
            path = panel.locator(".tfx-rw-path input")
            path.fill(str(written))
            path.press("Tab")
            page.wait_for_timeout(500)
            panel.locator("button.tfx-rw-write").click()
            result = panel.locator(".tfx-rw-write-result")
            expect(result).to_contain_text(str(written), timeout=60_000)
            expect(result).to_contain_text("restore with: tf.train.Checkpoint(model=model)")
            panel.locator(".tfx-rw-filter input").fill("")
            expect(panel.locator(".tfx-rw-count")).to_contain_text("118 rows", timeout=15_000)
            texts += text_contrast(panel)
            panel.screenshot(path=str(ARTIFACTS / f"{shot}-written.png"))
            # the kernel restores what was written into a fresh model, values identical
            run_cell(page, 1)
            expect(cell_output(page, 1)).to_contain_text("RESTORED=True", timeout=90_000)
        finally:
            page.screenshot(path=str(ARTIFACTS / f"{shot}-page.png"))
            browser.close()
    assert written.with_name("model.ckpt.index").is_file()
    low = [t for t in texts if t["ratio"] < 4.5]
    assert len(texts) > 100 and not low, low[:5]
