"""Build the teaching notebooks (``notebooks/*.ipynb``) from their plain-text sources.

Each notebook's source of truth is the ``.py`` file beside it, in jupytext's percent format
(``# %%`` starts a code cell, ``# %% [markdown]`` a Markdown cell, ``# %% tags=["check"]`` a cell
that asserts what the reader should notice). Linters and reviews read those; the ``.ipynb`` files
are built from them, without outputs, and ``tests/test_notebooks.py`` checks that they agree.
After editing a source::

    .venv/bin/python notebooks/_sync.py
    .venv/bin/python -m pytest -q tests/test_notebooks.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import jupytext
import nbformat

HERE = Path(__file__).resolve().parent
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def sources() -> list[Path]:
    """The notebooks' percent-format sources (every ``*.py`` here but this script)."""
    return sorted(p for p in HERE.glob("*.py") if not p.name.startswith("_"))


def build(source: Path) -> nbformat.NotebookNode:
    """The notebook made from ``source``: its cells, no outputs, the venv's Python kernel."""
    notebook = jupytext.read(source)
    notebook.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    for number, cell in enumerate(notebook.cells):
        cell.id = f"{source.stem[:20]}-{number:02d}"  # stable ids: builds are reproducible
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return notebook


def main() -> int:
    for source in sources():
        target = source.with_suffix(".ipynb")
        nbformat.write(build(source), target)
        print(f"wrote {target.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
