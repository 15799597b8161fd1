"""``LossPlot``: a training curve drawn in the browser (an anywidget).

The kernel sends only the points (downsampled, as one binary buffer of float64 pairs); the
browser draws them, so a redraw costs the kernel about a millisecond instead of a matplotlib
render, and the curve can follow a run several times a second. The raw points are drawn
faintly with a smoothed line over them (an exponential moving average, ``smoothing``), on a
``"linear"``, ``"log"`` or ``"auto"`` scale (log when positive losses span more than a
decade), both switchable on the page.

Example::

    >>> from tfexplore.widgets.lossplot import LossPlot
    >>> plot = LossPlot()
    >>> plot.set_points([1, 2, 3], [0.9, 0.5, 0.4], x_label="global_step")
    >>> plot.point_count
    3
"""

from __future__ import annotations

from pathlib import Path

import anywidget
import numpy as np
import traitlets

__all__ = ["LossPlot"]

_HERE = Path(__file__).resolve().parent


class LossPlot(anywidget.AnyWidget):
    """A live loss curve. ``set_points(x, y)`` replaces what is drawn.

    Traits: ``points`` (bytes: float64 pairs), ``x_label``, ``title``, ``scale``
    (``"auto"``, ``"linear"``, ``"log"``), ``smoothing`` (0 to 0.99), ``height`` (pixels).
    """

    _esm = _HERE / "lossplot.js"
    _css = _HERE / "lossplot.css"

    points = traitlets.Bytes(b"").tag(sync=True)
    x_label = traitlets.Unicode("step").tag(sync=True)
    title = traitlets.Unicode("training loss").tag(sync=True)
    scale = traitlets.Enum(["auto", "linear", "log"], default_value="auto").tag(sync=True)
    smoothing = traitlets.Float(0.6, min=0.0, max=0.99).tag(sync=True)
    height = traitlets.Int(260).tag(sync=True)

    def set_points(self, x, y, *, x_label: str | None = None) -> None:
        """Send the curve's points (x and y of equal length) to the browser."""
        pairs = np.empty((len(x), 2), dtype="<f8")
        pairs[:, 0] = np.asarray(x, dtype=float)
        pairs[:, 1] = np.asarray(y, dtype=float)
        if x_label is not None and x_label != self.x_label:
            self.x_label = x_label
        self.points = pairs.tobytes()

    @property
    def point_count(self) -> int:
        return len(self.points) // 16
