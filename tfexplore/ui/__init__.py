"""The logic behind each widget, testable without a browser and without ipywidgets (one
module per widget of :mod:`tfexplore.widgets`, same name where it pairs with one).

- ``graphview``: :class:`GraphExplorer`, everything behind ``widgets.graphview.GraphView``
- ``tensors``: :class:`TensorIndex`, the searchable tensor names behind ``TensorPicker``
- ``restore``: checkpoint choices and restore reports (one line, HTML) behind ``RestorePanel``
- ``rewrite``: :class:`RewriteModel`, a checkpoint rewrite plan as rows coloured by confidence,
  edited and written, behind ``RewritePanel``
- ``training``: redraw throttle, step batches, feeds and the loss curve behind ``TrainPanel``
- ``explore``: :class:`ExploreModel` (tabs, Overview, Variables) and its HTML, behind
  ``explore()``
- ``plots``: histograms, heatmaps and loss curves drawn on a caller's matplotlib axes
"""

from __future__ import annotations
