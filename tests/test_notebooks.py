"""Every notebook in notebooks/ runs top to bottom in a fresh kernel, and says what it should.

Each notebook runs in a copy inside a temporary folder (its demo data is made there). Cells
tagged ``check`` hold the notebook's own assertions about what the reader should notice; this
test also checks that those cells exist, so a notebook cannot pass by asserting nothing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

FOLDER = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("*.ipynb"))


def _sync():
    import importlib.util

    spec = importlib.util.spec_from_file_location("notebooks_sync", FOLDER / "_sync.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_notebook_is_built_from_its_plain_text_source():
    """The ``.py`` sources (jupytext percent format) are what reviews and linters read; each
    ``.ipynb`` must be exactly what ``notebooks/_sync.py`` builds from its source."""
    sync = _sync()
    sources = sync.sources()
    assert [p.stem for p in sources] == [p.stem for p in NOTEBOOKS]
    for source in sources:
        built = nbformat.writes(sync.build(source)) + "\n"
        stale = "run: .venv/bin/python notebooks/_sync.py"
        assert source.with_suffix(".ipynb").read_text() == built, f"{source.name}: {stale}"
        tags = [c.metadata.get("tags", []) for c in sync.build(source).cells]
        assert ["check"] in tags, f"{source.name} has no cell tagged 'check'"


@pytest.mark.slow
@pytest.mark.parametrize("source", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_checks_its_outputs(source, tmp_path):
    notebook_path = tmp_path / source.name
    shutil.copy(source, notebook_path)
    notebook = nbformat.read(notebook_path, as_version=4)
    checks = [c for c in notebook.cells if "check" in c.get("metadata", {}).get("tags", [])]
    assert checks, f"{source.name} has no cell tagged 'check'"
    # JupyterLab does not save widget state by default; a notebook saved that way shows the
    # static pictures the widgets leave beside their views, which is what is checked below.
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
        store_widget_state=False,
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any error
    errors = [
        o
        for c in notebook.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors
    # TensorFlow's start-up lines (a pink block a new user reads as an error) never reach the page
    from tfexplore._tf import _STARTUP_NOISE

    noise = [
        line
        for c in notebook.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "stream" and o.get("name") == "stderr"
        for line in o.get("text", "").splitlines()
        if _STARTUP_NOISE.search(line)
    ]
    assert not noise, noise[:3]

    widget_views = [
        o
        for c in notebook.cells
        for o in c.get("outputs", [])
        if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    if widget_views:  # exported as HTML, each widget leaves a picture or a table behind
        from nbconvert import HTMLExporter

        html, _ = HTMLExporter().from_notebook_node(notebook)
        assert all("text/html" in o["data"] for o in widget_views)
        assert "<svg" in html or "<img" in html or "<table" in html
