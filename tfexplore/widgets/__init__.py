"""Jupyter views of tfexplore objects (the only layer that imports ipywidgets/anywidget).

Example::

    >>> from tfexplore.widgets import GraphView, TensorPicker, RestorePanel, TrainPanel, explore
    >>> from tfexplore.widgets import RewritePanel
    >>> GraphView("runs/mnist")                          # doctest: +SKIP
    >>> explore("runs/mnist")                            # doctest: +SKIP
    >>> session = tfexplore.session("runs/mnist")        # doctest: +SKIP
    >>> TrainPanel(session, feed={"inputs/x": x, "inputs/y": y})  # doctest: +SKIP
"""

from __future__ import annotations

from .explore import Explorer, explore
from .graphview import GraphView
from .restorepanel import RestorePanel
from .rewritepanel import RewritePanel
from .tensorpicker import TensorPicker
from .trainpanel import TrainPanel

__all__ = [
    "GraphView",
    "TensorPicker",
    "RestorePanel",
    "RewritePanel",
    "TrainPanel",
    "Explorer",
    "explore",
]
