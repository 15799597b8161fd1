"""Plot data and drawing for the live panels: pure preparation, drawing on a given ``ax``.

Preparation (``histogram``, ``heatmap_data``, ``downsample``, ``choose_view``) takes numpy
arrays and returns plain data; it never touches matplotlib. Drawing (``draw_histogram``,
``draw_heatmap``, ``draw_loss``) takes a matplotlib ``Axes`` owned by the caller: a widget
keeps its own :class:`matplotlib.figure.Figure` (made by :func:`new_figure`) and renders it
with :func:`figure_png`; pyplot's global state is never used.

Example::

    >>> import numpy as np
    >>> from tfexplore.ui import plots
    >>> hist = plots.histogram(np.arange(10.0), bins=5)
    >>> hist.counts.tolist(), hist.total
    ([2, 2, 2, 2, 2], 10)
    >>> steps, values = plots.downsample(range(10_000), np.zeros(10_000), max_points=100)
    >>> len(steps) <= 100
    True
    >>> figure = plots.new_figure(4, 3)                       # doctest: +SKIP
    >>> plots.draw_histogram(figure.add_subplot(), hist)      # doctest: +SKIP
    >>> png = plots.figure_png(figure)                        # doctest: +SKIP
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

__all__ = [
    "Histogram",
    "histogram",
    "heatmap_data",
    "downsample",
    "choose_view",
    "format_numbers",
    "summary_line",
    "draw_histogram",
    "draw_heatmap",
    "draw_loss",
    "new_figure",
    "figure_png",
    "MAX_NUMBERS",
]

#: Arrays with at most this many elements are shown as numbers, larger ones as a picture.
MAX_NUMBERS = 64
ViewKind = Literal["numbers", "histogram", "heatmap", "text"]


# == preparation (pure) ======================================================================
@dataclass(frozen=True)
class Histogram:
    """Counts of the finite values of an array in ``len(counts)`` bins between ``edges``.

    ``nan``, ``posinf`` and ``neginf`` count what was left out; ``total`` is the array's size.
    """

    counts: np.ndarray
    edges: np.ndarray
    total: int
    nan: int = 0
    posinf: int = 0
    neginf: int = 0

    @property
    def non_finite(self) -> int:
        """How many values were NaN or infinite."""
        return self.nan + self.posinf + self.neginf


def histogram(array: Any, bins: int = 50) -> Histogram:
    """Bin the finite values of ``array`` (any shape; booleans count as 0/1).

    A constant array gets one bin around its value; an array without finite values gets none.

    Example::

        >>> histogram([1.0, 2.0, float("nan")], bins=2).counts.tolist()
        [1, 1]
    """
    values = np.asarray(array)
    if values.dtype == bool:
        values = values.astype(np.int8)
    if not np.issubdtype(values.dtype, np.number):
        raise TypeError(f"cannot make a histogram of dtype {values.dtype}")
    flat = values.ravel().astype(np.float64)
    finite = flat[np.isfinite(flat)]
    counts_nonfinite = {
        "nan": int(np.isnan(flat).sum()),
        "posinf": int(np.isposinf(flat).sum()),
        "neginf": int(np.isneginf(flat).sum()),
    }
    if finite.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Histogram(empty, np.zeros(0), int(flat.size), **counts_nonfinite)
    low, high = float(finite.min()), float(finite.max())
    if low == high:
        low, high, bins = low - 0.5, high + 0.5, 1
    counts, edges = np.histogram(finite, bins=max(1, int(bins)), range=(low, high))
    return Histogram(counts, edges, int(flat.size), **counts_nonfinite)


def heatmap_data(array: Any, max_shape: tuple[int, int] = (256, 256)) -> np.ndarray:
    """A 2-D float array to show as an image: the last axis as columns, every other axis
    folded into rows (a vector is one row, a scalar 1x1); block-averaged (NaN-aware) down to at
    most ``max_shape``.

    Example::

        >>> heatmap_data(np.ones((2, 3, 4))).shape
        (6, 4)
        >>> heatmap_data(np.ones((1000, 10)), max_shape=(100, 100)).shape
        (100, 10)
    """
    values = np.asarray(array)
    if values.dtype == bool:
        values = values.astype(np.int8)
    values = values.astype(np.float64)
    if values.ndim == 0:
        values = values.reshape(1, 1)
    elif values.ndim == 1:
        values = values.reshape(1, -1)
    else:
        values = values.reshape(-1, values.shape[-1])
    return _block_mean(values, max_shape)


def _block_mean(values: np.ndarray, max_shape: tuple[int, int]) -> np.ndarray:
    row_step = -(-values.shape[0] // max_shape[0])
    col_step = -(-values.shape[1] // max_shape[1])
    if row_step == 1 and col_step == 1:
        return values
    rows = -(-values.shape[0] // row_step)
    cols = -(-values.shape[1] // col_step)
    padded = np.full((rows * row_step, cols * col_step), np.nan)
    padded[: values.shape[0], : values.shape[1]] = values
    blocks = padded.reshape(rows, row_step, cols, col_step)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN blocks stay NaN
        return np.nanmean(blocks, axis=(1, 3))


def downsample(
    steps: Iterable[float], values: Iterable[float], max_points: int = 1000
) -> tuple[np.ndarray, np.ndarray]:
    """At most ``max_points`` points of a curve that keep its shape: the curve is cut into
    ``max_points // 2`` buckets and each keeps its lowest and highest point (in step order),
    so spikes survive; the first and last points are always kept.

    Example::

        >>> s, v = downsample([0, 1, 2, 3], [1.0, 5.0, 2.0, 0.0], max_points=10)
        >>> v.tolist()
        [1.0, 5.0, 2.0, 0.0]
    """
    steps = np.asarray(list(steps) if not isinstance(steps, np.ndarray) else steps, dtype=float)
    values = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=float)
    if steps.shape != values.shape:
        raise ValueError(f"steps and values differ in length: {steps.shape} vs {values.shape}")
    max_points = max(2, int(max_points))
    if steps.size <= max_points:
        return steps, values
    buckets = np.array_split(np.arange(1, steps.size - 1), (max_points - 2) // 2)
    keep = [0]
    for bucket in buckets:
        if bucket.size == 0:
            continue
        chunk = values[bucket]
        if np.all(np.isnan(chunk)):
            keep.append(int(bucket[0]))
            continue
        low, high = int(bucket[np.nanargmin(chunk)]), int(bucket[np.nanargmax(chunk)])
        keep.extend(sorted({low, high}))
    keep.append(steps.size - 1)
    index = np.asarray(keep)
    return steps[index], values[index]


def choose_view(array: Any, max_numbers: int = MAX_NUMBERS) -> ViewKind:
    """How to show a value: ``"numbers"`` when small (or not numeric: ``"text"``), a
    ``"heatmap"`` for large arrays with at least two axes of length > 1, else a
    ``"histogram"``.

    Example::

        >>> choose_view(np.zeros(3)), choose_view(np.zeros((50, 40))), choose_view(np.zeros(500))
        ('numbers', 'heatmap', 'histogram')
    """
    values = np.asarray(array)
    numeric = values.dtype == bool or np.issubdtype(values.dtype, np.number)
    if not numeric or np.issubdtype(values.dtype, np.complexfloating):
        return "text"
    if values.size <= max_numbers:
        return "numbers"
    if sum(1 for n in values.shape if n > 1) >= 2:
        return "heatmap"
    return "histogram"


def format_numbers(array: Any, precision: int = 4, max_chars: int = 4000) -> str:
    """``array`` as text (numpy's printing with ``precision`` digits), cut at ``max_chars``.

    Example::

        >>> format_numbers(np.array([1.0, 2.5]))
        '[1.  2.5]'
    """
    text = np.array2string(np.asarray(array), precision=precision, threshold=200)
    return text if len(text) <= max_chars else text[: max_chars - 3] + "..."


def summary_line(array: Any) -> str:
    """One line about an array: shape, dtype and, when numeric, min / mean / max.

    Example::

        >>> summary_line(np.array([1.0, 3.0]))
        'shape (2,) float64  min 1  mean 2  max 3'
    """
    values = np.asarray(array)
    line = f"shape {values.shape} {values.dtype}"
    if values.size and (values.dtype == bool or np.issubdtype(values.dtype, np.number)):
        flat = values.astype(np.float64).ravel()
        finite = flat[np.isfinite(flat)]
        if finite.size:
            line += f"  min {finite.min():.4g}  mean {finite.mean():.4g}  max {finite.max():.4g}"
        if finite.size < flat.size:
            line += f"  non-finite {flat.size - finite.size}"
    return line


# == drawing (on an ax the caller owns) ======================================================
def draw_histogram(ax: Any, hist: Histogram, title: str = "") -> None:
    """Draw ``hist`` as bars on ``ax`` (a note says how many values were not finite)."""
    ax.clear()
    if hist.counts.size:
        widths = np.diff(hist.edges)
        ax.bar(hist.edges[:-1], hist.counts, width=widths, align="edge", color="#4c78a8")
    else:
        ax.text(0.5, 0.5, "no finite values", ha="center", va="center", transform=ax.transAxes)
    ax.set_ylabel("count")
    label = title
    if hist.non_finite:
        label += f"  ({hist.non_finite} NaN/inf left out)"
    ax.set_title(label, fontsize=9)


def draw_heatmap(ax: Any, data: np.ndarray, title: str = "") -> Any:
    """Draw a 2-D array (from :func:`heatmap_data`) as an image on ``ax``; return the image
    (for a colour bar)."""
    ax.clear()
    image = ax.imshow(data, aspect="auto", interpolation="nearest", cmap="viridis")
    ax.set_title(title, fontsize=9)
    return image


def draw_loss(
    ax: Any,
    frame: Any,
    *,
    x: str = "global_step",
    y: str = "loss",
    max_points: int = 1000,
) -> int:
    """Draw the loss curve of a training history (``Session.history``: columns ``step``,
    ``global_step``, ``loss``) on ``ax``, downsampled to ``max_points``; return how many points
    were drawn.

    Falls back to the ``step`` column when ``global_step`` is missing.
    """
    ax.clear()
    ax.set_ylabel(y)
    columns = list(getattr(frame, "columns", []))
    if y not in columns or len(frame) == 0:
        ax.set_xlabel(x)
        ax.text(0.5, 0.5, "no steps yet", ha="center", va="center", transform=ax.transAxes)
        return 0
    if x not in columns or frame[x].isna().all():
        x = "step"
    steps, values = downsample(frame[x].to_numpy(), frame[y].to_numpy(), max_points)
    ax.plot(steps, values, color="#e45756", linewidth=1.2, marker="." if len(steps) < 60 else None)
    ax.set_xlabel(x)
    if np.all(values[np.isfinite(values)] > 0) and _spans_decades(values):
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    return int(len(steps))


def _spans_decades(values: Sequence[float], decades: float = 2.0) -> bool:
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    return finite.size > 1 and finite.max() / max(finite.min(), 1e-300) > 10**decades


# == figures the caller owns =================================================================
def new_figure(
    width: float = 5.0, height: float = 3.0, dpi: int = 100, layout: str | None = "constrained"
) -> Any:
    """A :class:`matplotlib.figure.Figure` with an Agg canvas, outside pyplot's registry.

    ``layout=None`` skips the constrained layout (faster redraws; set margins yourself)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "tfexplore's plots need matplotlib: pip install 'tfexplore[notebook]'"
        ) from exc
    figure = Figure(figsize=(width, height), dpi=dpi, layout=layout)
    FigureCanvasAgg(figure)
    return figure


def figure_png(figure: Any) -> bytes:
    """The figure rendered to PNG bytes (with its own Agg canvas)."""
    buffer = io.BytesIO()
    figure.canvas.print_png(buffer)
    return buffer.getvalue()
