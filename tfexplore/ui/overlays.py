"""Ready-made overlays: a checkpoint's statistics, the change between two checkpoints, a restore
report and a safety scan, each as a Series laid on a graph view.

Each ``*_series`` function returns ``(series, options)``: the Series (keyed by variable or op
name) and the :meth:`~tfexplore.ui.graphview.GraphExplorer.overlay` options that suit it; each
``overlay_*`` function applies it to ``view`` (a :class:`~tfexplore.widgets.GraphView` or a
:class:`~tfexplore.ui.graphview.GraphExplorer`; both also have them as methods) and returns
the :class:`~tfexplore.scene.overlay.Overlay`.

Example::

    >>> view = tfexplore.GraphView("runs/mnist")                    # doctest: +SKIP
    >>> view.overlay_stats(checkpoint, "norm")  # weight norms, log  # doctest: +SKIP
    >>> view.overlay_diff(step_10, step_30)     # how far each moved # doctest: +SKIP
    >>> view.overlay_restore(session.restore(other, partial=True))  # doctest: +SKIP
    >>> view.overlay_scan(tfexplore.scan("untrusted/saved_model"))  # doctest: +SKIP
    >>> view.overlay(series, scale="diverging", title="sign")       # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from ..errors import TFExploreError

__all__ = [
    "STATS_OVERLAYS",
    "stats_series",
    "diff_series",
    "restore_series",
    "scan_series",
    "overlay_stats",
    "overlay_diff",
    "overlay_restore",
    "overlay_scan",
]

#: ``column`` of :func:`stats_series` -> (the ``stats()`` column, scale, aggregate, title);
#: any other ``stats()`` column (``mean``, ``std``, ``min``, ...) is taken as is (linear, mean)
STATS_OVERLAYS: dict[str, tuple[str, str, str, str]] = {
    "norm": ("l2", "log", "max", "L2 norm"),
    "nan": ("nans", "linear", "sum", "NaN count"),
    "inf": ("infs", "linear", "sum", "Inf count"),
    "zeros": ("zeros", "linear", "mean", "fraction of zeros"),
}

#: a restore report's statuses as drawn on the graph
RESTORE_CATEGORIES = {
    "restored": "restored",
    "missing_in_checkpoint": "missing",
    "shape_mismatch": "wrong shape",
    "dtype_mismatch": "wrong dtype",
}


def stats_series(checkpoint: Any, column: str = "norm", stats: Any = None) -> tuple[Any, dict]:
    """A checkpoint's :meth:`~tfexplore.artifacts.checkpoint.Checkpoint.stats` as a Series by
    variable: ``column`` ``"norm"`` (L2 norm, log scale, a scope shows its max), ``"nan"`` /
    ``"inf"`` (counts, a scope shows their sum), ``"zeros"`` (fraction of zero elements, a
    scope shows their mean), or any column of ``stats()``. ``stats``: a ``stats()`` table
    already computed (else it is computed here, one tensor at a time)."""
    table = checkpoint.stats() if stats is None else stats
    source, scale, agg, title = STATS_OVERLAYS.get(column, (column, "linear", "mean", column))
    if source not in table.columns:
        raise TFExploreError(
            f"No statistic named {column!r}.",
            expected="one of " + ", ".join([*STATS_OVERLAYS, *table.columns[4:]]),
            hint="'norm', 'nan', 'inf' and 'zeros' are ready-made; the rest are stats() columns",
        )
    indexed = table.set_index("name")
    series = indexed[source].astype("float64")
    if column == "zeros":
        sizes = indexed["shape"].map(_elements).astype("float64")
        series = series / sizes.where(sizes > 0)
    series.name = title
    return series, {"scale": scale, "agg": agg, "title": title}


def diff_series(old: Any, new: Any, diff: Any = None) -> tuple[Any, dict]:
    """The relative change ``|new - old| / |old|`` of each variable
    (:meth:`Checkpoint.diff`'s ``rel_l2_change``), log scale, a scope shows its max. ``diff``:
    a ``diff()`` table already computed. Variables added or removed have no value."""
    table = old.diff(new) if diff is None else diff
    series = table.set_index("name")["rel_l2_change"].astype("float64")
    series.name = "relative change"
    return series, {"scale": "log", "agg": "max", "title": "relative change |b − a| / |a|"}


def restore_series(report: Any) -> tuple[Any, dict]:
    """A :class:`~tfexplore.live.RestoreReport` by graph variable: ``restored``, ``missing``
    (not in the checkpoint), ``wrong shape``, ``wrong dtype`` (entries only in the checkpoint
    are not on the graph)."""
    frame = report.frame
    rows = frame[frame["graph_name"].notna() & frame["status"].isin(list(RESTORE_CATEGORIES))]
    series = rows.set_index("graph_name")["status"].map(RESTORE_CATEGORIES)
    series.name = "restore"
    return series, {"title": "restore", "quiet": ("restored",)}


def scan_series(report: Any) -> tuple[Any, dict]:
    """A :class:`~tfexplore.safety.ScanReport`'s ops of the main graph: ``risky: <category>``
    for an op off the allowlist, ``expected`` for the Saver's own checkpoint I/O."""
    frame = report.frame
    rows = frame[frame["function"].isna() & frame["nested_in"].isna()]
    labels = [
        "expected" if verdict == "expected" else f"risky: {category}"
        for verdict, category in zip(rows["verdict"], rows["category"])
    ]
    import pandas as pd

    series = pd.Series(labels, index=rows["node"].tolist(), name="scan", dtype=object)
    series = series[~series.index.duplicated(keep="first")]
    colors = {label: ("#f29cca", "#7c2f5d") for label in labels if label != "expected"}
    return series, {"title": "safety scan", "quiet": ("expected",), "colors": colors or None}


def overlay_stats(view: Any, checkpoint: Any, column: str = "norm", **options: Any):
    """Colour ``view``'s variables by ``checkpoint``'s statistics (see :func:`stats_series`)."""
    series, defaults = stats_series(checkpoint, column, stats=options.pop("stats", None))
    return view.overlay(series, **{**defaults, **options})


def overlay_diff(view: Any, old: Any, new: Any, **options: Any):
    """Colour ``view``'s variables by how far they moved from ``old`` to ``new`` (see
    :func:`diff_series`)."""
    series, defaults = diff_series(old, new, diff=options.pop("diff", None))
    return view.overlay(series, **{**defaults, **options})


def overlay_restore(view: Any, report: Any, **options: Any):
    """Colour ``view``'s variables by what a restore did with them (see :func:`restore_series`)."""
    series, defaults = restore_series(report)
    return view.overlay(series, **{**defaults, **options})


def overlay_scan(view: Any, report: Any, **options: Any):
    """Colour the risky ops a safety scan found (see :func:`scan_series`)."""
    series, defaults = scan_series(report)
    return view.overlay(series, **{**defaults, **options})


def _elements(shape: Any) -> int:
    count = 1
    for d in shape or ():
        count *= int(d)
    return count
