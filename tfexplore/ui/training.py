"""The training panel's logic (behind :class:`~tfexplore.widgets.TrainPanel`), testable
without ipywidgets: how often a live plot redraws (:class:`Throttle`), how many steps run
between two looks at the Stop button (:func:`batch_size`), which feed a batch of steps gets
(:class:`FeedCursor`) and the loss curve read incrementally from the steps run
(:class:`LossCurve`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["Throttle", "batch_size", "FeedCursor", "LossCurve"]


class Throttle:
    """Say yes at most once every ``interval`` seconds (a redraw budget), and less often when
    the work itself is slow: after :meth:`spent` reports that one redraw took ``d`` seconds,
    the next waits at least ``d * (1 - budget) / budget``, so redrawing takes at most about
    ``budget`` of the time (``max_wait`` caps the wait).

    Example::

        >>> clock = iter([0.0, 0.1, 0.3, 0.5, 1.0]).__next__
        >>> throttle = Throttle(0.25, clock=clock)
        >>> throttle.ready(), throttle.ready(), throttle.ready()
        (True, False, True)
        >>> throttle.spent(0.1)         # a slow redraw: now wait 0.4 s
        >>> throttle.ready(), throttle.ready()
        (False, True)
    """

    def __init__(
        self,
        interval: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
        budget: float = 0.2,
        max_wait: float | None = None,
    ) -> None:
        self.interval = interval
        self.clock = clock
        self.budget = budget
        self.max_wait = max_wait
        self.wait = interval
        self._last: float | None = None

    def ready(self) -> bool:
        """True (and start a new interval) when the wait has passed since the last yes."""
        now = self.clock()
        if self._last is not None and now - self._last < self.wait:
            return False
        self._last = now
        return True

    def spent(self, seconds: float) -> None:
        """Report how long the work after the last yes took (it lengthens the wait, up to
        ``max_wait`` when set: a live plot should not look frozen)."""
        wait = max(self.interval, seconds * (1 - self.budget) / self.budget)
        self.wait = wait if self.max_wait is None else min(wait, max(self.interval, self.max_wait))

    def reset(self) -> None:
        """Forget the last yes: the next :meth:`ready` says yes."""
        self._last = None


def batch_size(
    seconds_per_step: float | None, remaining: int, target_seconds: float = 0.1, limit: int = 1000
) -> int:
    """How many steps to run before looking at the Stop button again: about
    ``target_seconds`` of work, at least 1, at most ``remaining`` and ``limit``.

    Example::

        >>> batch_size(None, 100), batch_size(0.01, 100), batch_size(0.01, 3), batch_size(2.0, 9)
        (1, 10, 3, 1)
    """
    if remaining <= 0:
        return 0
    if not seconds_per_step or seconds_per_step <= 0:
        return 1
    return max(1, min(remaining, limit, int(target_seconds / seconds_per_step)))


class FeedCursor:
    """One training feed handed out batch by batch, so that a run split into many
    ``Session.train`` calls sees the same sequence as one call: a ``callable(step)`` gets the
    run's step number (not the batch's), a dataset or iterator continues where the previous
    batch stopped, a dict is the same every step.

    Example::

        >>> cursor = FeedCursor(lambda step: {"step": step})
        >>> cursor.for_batch(done=5)(0)
        {'step': 5}
    """

    def __init__(self, feed: Any) -> None:
        self.feed = feed
        self._iterator = None
        if hasattr(feed, "element_spec") or hasattr(feed, "__next__"):
            self._iterator = iter(feed)

    def for_batch(self, done: int) -> Any:
        """The ``feed=`` for a ``Session.train`` call that starts after ``done`` steps."""
        if self._iterator is not None:
            return self._iterator
        if callable(self.feed):
            feed = self.feed
            return lambda index: feed(done + index)
        return self.feed


class LossCurve:
    """The loss curve of a session's history, kept up to date incrementally: each
    :meth:`update` reads only the rows added since the last one (a live plot redraws every
    second or so; rebuilding ``Session.history``'s DataFrame each time would cost time that
    grows with the run).

    ``rows``: the session's list of history rows (dicts with ``step``, ``global_step``,
    ``loss``). The x axis is ``global_step`` when the rows carry one, else ``step``.

    Example::

        >>> curve = LossCurve()
        >>> curve.update([{"step": 1, "global_step": 31, "loss": 0.5}])
        1
        >>> curve.x.tolist(), curve.y.tolist(), curve.x_label
        ([31.0], [0.5], 'global_step')
    """

    def __init__(self) -> None:
        self._steps: list[float] = []
        self._global_steps: list[float] = []
        self._losses: list[float] = []
        self._seen = 0

    def update(self, rows: Any) -> int:
        """Take in the rows not seen yet (all of them again when ``rows`` got shorter: a new
        session or a cleared history); return how many points the curve has."""
        if len(rows) < self._seen:
            self.__init__()
        for row in rows[self._seen :] if isinstance(rows, list) else list(rows)[self._seen :]:
            self._steps.append(float(row.get("step", len(self._steps) + 1)))
            step = row.get("global_step")
            self._global_steps.append(float("nan") if step is None else float(step))
            loss = row.get("loss")
            self._losses.append(float("nan") if loss is None else float(loss))
        self._seen = len(rows)
        return len(self._losses)

    def __len__(self) -> int:
        return len(self._losses)

    @property
    def x_label(self) -> str:
        """``global_step`` when any row carries one, else ``step``."""
        values = self._global_steps
        if values and (values[-1] == values[-1] or not np.all(np.isnan(values))):
            return "global_step"
        return "step"

    @property
    def x(self) -> np.ndarray:
        column = self._global_steps if self.x_label == "global_step" else self._steps
        return np.asarray(column, dtype=float)

    @property
    def y(self) -> np.ndarray:
        return np.asarray(self._losses, dtype=float)

    def points(self, max_points: int = 1000) -> tuple[np.ndarray, np.ndarray]:
        """At most ``max_points`` points of the curve, vectorized (a live plot asks often):
        the curve is cut into ``max_points // 2`` runs of steps and each gives its lowest and
        highest loss (NaN left out), at its first and last step, so spikes survive.

        Example::

            >>> curve = LossCurve()
            >>> curve.update([{"step": i, "loss": float(i % 7)} for i in range(1, 1001)])
            1000
            >>> x, y = curve.points(100)
            >>> len(x) <= 100, float(y.max()), float(y.min())
            (True, 6.0, 0.0)
        """
        x, y = self.x, self.y
        buckets = max(1, int(max_points) // 2)
        if len(x) <= max(2, int(max_points)):
            return x, y
        starts = np.linspace(0, len(x), buckets, endpoint=False).astype(int)
        ends = np.append(starts[1:], len(x)) - 1
        with np.errstate(invalid="ignore"):
            low = np.fmin.reduceat(y, starts)
            high = np.fmax.reduceat(y, starts)
        xs = np.column_stack([x[starts], x[ends]]).ravel()
        ys = np.column_stack([low, high]).ravel()
        return xs, ys
