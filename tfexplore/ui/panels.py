"""Kept for imports written before ``panels`` was split along its jobs: import from
:mod:`tfexplore.ui.tensors`, :mod:`~tfexplore.ui.restore`, :mod:`~tfexplore.ui.training` and
:mod:`~tfexplore.ui.explore` instead.
"""

from __future__ import annotations

from .explore import ExploreModel, filter_frame, frame_html, markdown_html
from .restore import STATUS_COLORS, STATUS_TEXT, checkpoint_choices, report_html, report_summary
from .tensors import TensorEntry, TensorIndex
from .training import FeedCursor, LossCurve, Throttle, batch_size

__all__ = [
    "TensorEntry",
    "TensorIndex",
    "checkpoint_choices",
    "report_html",
    "report_summary",
    "STATUS_COLORS",
    "STATUS_TEXT",
    "Throttle",
    "batch_size",
    "FeedCursor",
    "LossCurve",
    "ExploreModel",
    "markdown_html",
    "frame_html",
    "filter_frame",
]
