"""Jupyter views of tfexplore objects (the only layer that imports ipywidgets/anywidget).

Example::

    >>> from tfexplore.widgets import GraphView
    >>> GraphView("runs/mnist")                          # doctest: +SKIP
"""

from __future__ import annotations

from .graphview import GraphView

__all__ = ["GraphView"]
