"""The logic behind each widget, testable without a browser and without ipywidgets.

- ``graphview``: :class:`GraphExplorer`, everything behind ``GraphView``
- ``panels``: tensor search, restore reports as HTML, the explore model, training feeds and
  redraw throttles
- ``plots``: histograms, heatmaps and loss curves drawn on a caller's matplotlib axes
"""

from __future__ import annotations
