"""``TrainPanel``: resume training in a live session, with a live loss plot and a Stop button.

*Run* trains in small batches of steps from an asyncio task on the kernel's event loop: between
two batches the kernel handles other messages, so a *Stop* click (or a kernel interrupt) ends
the run between steps, never in the middle of an update. The loss curve is drawn in the browser
(:class:`~tfexplore.widgets.lossplot.LossPlot`): every ``redraw_interval`` seconds the kernel
sends the curve's points (about a millisecond of work), so the plot follows the step counter.
A matplotlib picture of the curve is kept for exported notebooks, made when a run ends.
``panel.run(steps)`` is the same run, synchronous, for scripts and tests.

Example::

    >>> from tfexplore.widgets import TrainPanel
    >>> panel = TrainPanel(session, feed={"inputs/x": x, "inputs/y": y})   # doctest: +SKIP
    >>> panel                         # steps field, Run / Stop, plot   # doctest: +SKIP
    >>> panel.run(50)                 # a DataFrame: step, global_step, loss  # doctest: +SKIP
    >>> panel.snapshot(); panel.run(500); panel.rollback()                   # doctest: +SKIP
    >>> panel.save("runs/resumed")                                          # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import numpy as np
import traitlets

from ..errors import TFExploreError
from ..ui import plots
from ..ui.training import FeedCursor, LossCurve, Throttle, batch_size
from ._common import STYLE, error_html, png_img, status_html, with_html_fallback
from .lossplot import LossPlot

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TrainPanel"]


class TrainPanel(w.VBox):
    """Train a :class:`~tfexplore.Session` from Jupyter.

    Args:
        session: the live session (restored or initialized).
        feed: what :meth:`Session.train` takes: a dict, ``callable(step) -> dict`` (``step``
            counts from 0 within each run), a ``tf.data.Dataset`` or ``None``.
        steps: the initial value of the steps field.
        redraw_interval: seconds between two updates of the plot during a run (the first
            comes one interval after Run; more when an update is slow: see ``plot_budget``).
        plot_budget: the share of a run's time the live plot may take: after an update that
            took ``d`` seconds the next waits ``d * (1 - plot_budget) / plot_budget`` (never
            more than 1 s; sending points costs ~1 ms, so the interval rules;
            ``bench/train.py`` measures the cost).
        max_points: the loss curve is downsampled to at most this many points.
        train_options: more keyword arguments for :meth:`Session.train` (``train_op``,
            ``loss``, ``record``). When the session found its loss from the train op's
            gradients and there are several, ``loss_choice`` (a dropdown) picks the one to
            plot.
        batch_seconds: about how long one batch of steps runs before the kernel looks at
            its messages (a Stop click) again (each batch is one ``Session.train`` call, whose
            setup costs a few steps: 0.1 s batches cost ~2x more than 0.25 s ones).
        clock: the time source of the redraw throttle (tests pass a fake one).

    Observable traits: ``running``, ``global_step``, ``error``.
    """

    running = traitlets.Bool(False)
    global_step = traitlets.Int(None, allow_none=True)
    error = traitlets.Unicode("")

    def __init__(
        self,
        session: Any,
        feed: Any = None,
        *,
        steps: int = 100,
        redraw_interval: float = 0.25,
        plot_budget: float = 0.03,
        max_points: int = 1000,
        train_options: dict[str, Any] | None = None,
        batch_seconds: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
        **kwargs: Any,
    ) -> None:
        self.session = session
        self.feed = feed
        self.max_points = max_points
        self.train_options = dict(train_options or {})
        self.batch_seconds = batch_seconds
        self.throttle = Throttle(redraw_interval, clock=clock, budget=plot_budget, max_wait=1.0)
        self.counter_throttle = Throttle(redraw_interval, clock=clock, budget=1.0)
        self.redraws = 0
        self.plot_points = 0
        self.png = b""
        self.task: asyncio.Task | None = None
        self.last_exception: BaseException | None = None  # an unexpected error of a background run
        self._stop_requested = False
        self._run_started = 0.0
        self._done = 0
        self._last_global_step: int | None = None
        self._seconds_per_step: float | None = None  # of the last run, for "about N s"
        self._last_result = ""
        self._build_controls(steps)
        super().__init__(children=self._layout(), **kwargs)
        self._tag()
        self.figure = plots.new_figure(6.4, 3.0, layout=None)  # fixed margins: quick redraws
        self.curve = LossCurve()
        self._ax = self._line = self._empty_note = None
        self._connect()
        self.global_step = self._read_global_step()
        self._global_step_changed({"new": self.global_step})
        self.redraw()
        self._render_png()

    # -- building --------------------------------------------------------------------------
    def _build_controls(self, steps: int) -> None:
        self.steps_box = w.BoundedIntText(
            value=steps, min=1, max=10**9, description="Steps", layout=w.Layout(width="180px")
        )
        self.run_button = w.Button(description="Run", button_style="primary", icon="play")
        self.stop_button = w.Button(
            description="Stop", button_style="danger", icon="stop", disabled=True
        )
        self.step_label = w.HTML()
        self.progress = w.IntProgress(
            value=0, min=0, max=1, layout=w.Layout(width="260px", visibility="hidden")
        )
        self.plot = LossPlot()
        self.snapshot_button = w.Button(description="Snapshot", icon="camera")
        self.snapshot_list = w.Dropdown(options=[], layout=w.Layout(width="160px"))
        self.rollback_button = w.Button(description="Roll back", icon="undo", disabled=True)
        self.folder_box = w.Text(
            placeholder="folder to save into", description="Save to", layout=w.Layout(width="360px")
        )
        self.overwrite_box = w.Checkbox(
            description="overwrite", indent=False, layout=w.Layout(width="auto")
        )
        self.save_button = w.Button(description="Save", icon="save")
        self.status = w.HTML()
        self.error_box = w.HTML()
        self.loss_choice = self._loss_dropdown()

    def _loss_dropdown(self) -> w.Dropdown:
        """The loss to plot, when the session found it from the train op's gradients (TF1
        graphs without a loss collection): the candidates, the one in use first chosen;
        disabled when there is only one, hidden when none is known. A choice goes to
        ``train_options``."""
        chosen = self.train_options.get("loss")
        candidates = [c.tensor for c in getattr(self.session, "loss_candidates", [])]
        current = chosen if isinstance(chosen, str) else getattr(self.session, "loss", None)
        options = list(dict.fromkeys(([current] if current else []) + candidates))
        box = w.Dropdown(
            options=options,
            value=current if current in options else None,
            description="Loss",
            disabled=len(options) < 2,  # shown, so the plotted loss is named; a choice when several
            layout=w.Layout(width="360px", display="" if options else "none"),
        )
        box.observe(self._loss_changed, names="value")
        return box

    def _loss_changed(self, change) -> None:
        if change["new"]:
            self.train_options["loss"] = change["new"]

    def _tag(self) -> None:
        """CSS classes: ``tfx-train`` on the panel, ``tfx-run``, ``tfx-stop``, ``tfx-steps``,
        ``tfx-loss-plot``, ``tfx-progress`` on its parts (for styling and browser tests)."""
        self.add_class("tfx-train")
        for widget, name in [
            (self.run_button, "tfx-run"),
            (self.stop_button, "tfx-stop"),
            (self.steps_box, "tfx-steps"),
            (self.plot, "tfx-loss-plot"),
            (self.progress, "tfx-progress"),
        ]:
            widget.add_class(name)

    def _layout(self) -> list[w.Widget]:
        return [
            w.HTML(STYLE),
            w.HBox(
                [self.steps_box, self.run_button, self.stop_button, self.progress, self.step_label]
            ),
            self.loss_choice,
            self.plot,
            w.HBox([self.snapshot_button, self.snapshot_list, self.rollback_button]),
            w.HBox([self.folder_box, self.overwrite_box, self.save_button]),
            self.status,
            self.error_box,
        ]

    def _connect(self) -> None:
        self.steps_box.observe(lambda _: self._show_next_run(), names="value")
        self.run_button.on_click(lambda _: self.start())
        self.stop_button.on_click(lambda _: self.stop())
        self.snapshot_button.on_click(lambda _: self._guarded(self.snapshot))
        self.rollback_button.on_click(lambda _: self._guarded(self.rollback))
        self.save_button.on_click(lambda _: self._guarded(self.save))

    # -- training --------------------------------------------------------------------------
    def run(self, steps: int | None = None) -> pd.DataFrame:
        """Train ``steps`` steps (the steps field by default) now, blocking; return the
        session's rows for them. Stops between steps on :meth:`stop` or a kernel interrupt.
        Errors are shown in the panel and raised."""
        steps = self._steps(steps)
        self._begin(steps)
        try:
            return self.session.train(
                steps, self.feed, callback=self._after_step, **self.train_options
            )
        except TFExploreError as exc:
            self._show_error(exc)
            raise
        finally:
            self._end()

    def start(self, steps: int | None = None) -> asyncio.Future | None:
        """Start a run of ``steps`` steps in the background (what *Run* does) and return its
        task; the kernel stays free to handle a Stop click. Without a running event loop
        (plain Python) the run happens now."""
        if self.running:
            return self.task
        steps = self._steps(steps)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None:
            with contextlib.suppress(TFExploreError):  # shown in the panel
                self.run(steps)
            return None
        self._begin(steps)  # at once: Run disables itself before the next message
        self.task = loop.create_task(self._run_in_batches(steps, begun=True))
        return self.task

    async def _run_in_batches(self, steps: int, begun: bool = False) -> int:
        """Train in batches of about ``batch_seconds``, yielding to the event loop between
        them; return how many steps ran."""
        if not begun:
            self._begin(steps)
        cursor = FeedCursor(self.feed)
        seconds_per_step = None
        try:
            with _interrupt_stops(self.stop):
                while self._done < steps and not self._stop_requested:
                    count = batch_size(seconds_per_step, steps - self._done, self.batch_seconds)
                    started = time.perf_counter()
                    rows = self.session.train(
                        count,
                        cursor.for_batch(self._done),
                        callback=self._after_step,
                        **self.train_options,
                    )
                    if len(rows) < count:  # stopped, interrupted or the data ran out
                        break
                    seconds_per_step = (time.perf_counter() - started) / count
                    await asyncio.sleep(0.001)  # let the kernel handle a Stop click
        except TFExploreError as exc:
            self._show_error(exc)
        except Exception as exc:  # a background task's error would otherwise go unseen
            self.last_exception = exc
            self._show_error(exc)
        finally:
            self._end()
        return self._done

    def stop(self) -> None:
        """Stop the current run after the step in progress."""
        self._stop_requested = True
        self.session.stop()

    def _steps(self, steps: int | None) -> int:
        steps = int(self.steps_box.value if steps is None else steps)
        if steps < 1:
            raise ValueError(f"steps must be at least 1. Received: steps={steps}")
        return steps

    def _begin(self, steps: int) -> None:
        self._stop_requested = False
        self._done = 0
        self._last_global_step = None
        self._run_started = time.perf_counter()
        self.error = ""
        self.error_box.value = ""
        self.running = True
        self.progress.max = steps
        self.progress.value = 0
        self.progress.bar_style = "info"
        self.progress.layout.visibility = "visible"
        self.status.value = status_html(f"training {steps:,} steps…")
        for throttle in (self.throttle, self.counter_throttle):
            throttle.reset()
            throttle.ready()  # the first update waits one interval

    def _after_step(self, row: dict) -> None:
        """After each step: count it; now and then (the throttle decides) show the progress,
        the global step and the plot. Each shown change is a message to the browser, so
        nothing is sent per step."""
        self._done += 1
        self._last_global_step = row.get("global_step", self._last_global_step)
        if self.counter_throttle.ready():  # cheap: the progress bar and global_step
            self.progress.value = self._done
            if self._last_global_step is not None:
                self.global_step = int(self._last_global_step)
        if self.throttle.ready():  # the plot: also slowed down when drawing is slow
            self.redraw()

    def _end(self) -> None:
        seconds = time.perf_counter() - self._run_started
        stopped = self._done < self.progress.max
        self.running = False
        self.progress.value = self._done
        self.progress.bar_style = "warning" if stopped else "success"
        note = " (stopped early)" if stopped else ""
        if self._done:
            self._seconds_per_step = seconds / self._done
        self._last_result = (
            f"ran {self._done:,} of {self.progress.max:,} steps in {seconds:.1f} s{note}"
        )
        self.status.value = status_html(self._last_result)
        self.global_step = self._read_global_step()
        self.redraw()
        self._render_png()

    def _show_next_run(self) -> None:
        """After the steps field changes (the kernel has the new value): what *Run* will do,
        with the time it should take at the last run's speed."""
        if self.running:
            return
        steps = int(self.steps_box.value)
        plan = f"next Run: {steps:,} steps"
        if self._seconds_per_step is not None:
            plan += f", about {_duration(steps * self._seconds_per_step)}"
        self.status.value = status_html(" · ".join(filter(None, [self._last_result, plan])))

    @traitlets.observe("running")
    def _running_changed(self, change) -> None:
        busy = change["new"]
        self.run_button.disabled = busy
        self.stop_button.disabled = not busy
        for button in (self.snapshot_button, self.save_button):
            button.disabled = busy
        self.rollback_button.disabled = busy or not self.snapshot_list.options

    @traitlets.observe("global_step")
    def _global_step_changed(self, change) -> None:
        value = change["new"]
        text = "–" if value is None else str(value)
        self.step_label.value = f"<span class='tfx-global-step'>global_step <b>{text}</b></span>"

    # -- plot ------------------------------------------------------------------------------
    def redraw(self) -> None:
        """Send the loss curve of the session's history to the browser now (the history is
        read incrementally, :class:`~tfexplore.ui.training.LossCurve`; at most ``max_points``
        points are sent, each run of steps keeping its lowest and highest loss)."""
        started = time.perf_counter()
        rows = getattr(self.session, "_history_rows", None)
        if rows is None:  # any object with a `history` DataFrame
            rows = self.session.history.to_dict("records")
        self.curve.update(rows)
        steps, values = self.curve.points(self.max_points)
        self.plot.set_points(steps, values, x_label=self.curve.x_label)
        self.plot_points = int(len(steps))
        self.redraws += 1
        self.throttle.spent(time.perf_counter() - started)

    def _render_png(self) -> None:
        """The curve as a PNG (matplotlib, the panel's own figure), for what a notebook keeps
        without a live kernel; made when a run ends, never during one."""
        self._draw_curve()
        self.png = plots.figure_png(self.figure)

    def _draw_curve(self) -> int:
        """Put the curve's (downsampled) points on the panel's axes; return how many."""
        if self._ax is None:
            self.figure.subplots_adjust(left=0.12, right=0.97, bottom=0.16, top=0.9)
            self._ax = ax = self.figure.add_subplot()
            (self._line,) = ax.plot([], [], color="#e45756", linewidth=1.2)
            self._empty_note = ax.text(
                0.5, 0.5, "no steps yet", ha="center", va="center", transform=ax.transAxes
            )
            ax.set_title("training loss", fontsize=10)
            ax.set_ylabel("loss")
            ax.grid(True, alpha=0.3)
        ax = self._ax
        steps, values = self.curve.points(self.max_points)
        self._line.set_data(steps, values)
        self._line.set_marker("." if 0 < len(steps) < 60 else "None")
        self._empty_note.set_visible(len(steps) == 0)
        if ax.get_xlabel() != self.curve.x_label:
            ax.set_xlabel(self.curve.x_label)
        finite = values[np.isfinite(values)]
        scale = (
            "log"
            if finite.size and np.all(finite > 0) and plots._spans_decades(finite)
            else "linear"
        )
        if ax.get_yscale() != scale:
            ax.set_yscale(scale)
            if scale == "log":  # minor log ticks and labels cost a third of a redraw
                from matplotlib.ticker import NullLocator

                ax.yaxis.set_minor_locator(NullLocator())
        if len(steps):
            ax.relim()
            ax.autoscale_view()
        return int(len(steps))

    # -- snapshot, rollback, save ----------------------------------------------------------
    def snapshot(self, name: str | None = None) -> str:
        """Keep every variable's value in memory; return the snapshot's name."""
        name = self.session.snapshot(name)
        self.snapshot_list.options = self.session.snapshots
        self.snapshot_list.value = name
        self.rollback_button.disabled = self.running
        self.status.value = status_html(f"snapshot {name!r} at global_step {self.global_step}")
        return name

    def rollback(self, name: str | None = None) -> None:
        """Put back the values of snapshot ``name`` (the one chosen in the list)."""
        name = name or self.snapshot_list.value
        self.session.rollback(name)
        self.global_step = self._read_global_step()
        self.status.value = status_html(f"rolled back to {name!r}: global_step {self.global_step}")

    def save(self, folder: str | None = None, *, overwrite: bool | None = None) -> str:
        """Save a checkpoint into ``folder`` (the folder field); an existing checkpoint of
        the same step is only replaced when ``overwrite`` (the checkbox) is ticked."""
        folder = (folder if folder is not None else self.folder_box.value).strip()
        if not folder:
            raise TFExploreError(
                "No folder to save into.",
                expected="a folder path in the 'Save to' field",
                hint="type a folder, e.g. runs/resumed",
            )
        overwrite = self.overwrite_box.value if overwrite is None else overwrite
        prefix = self.session.save(folder, overwrite=overwrite)
        self.status.value = status_html(f"saved {prefix}")
        return prefix

    # -- helpers ---------------------------------------------------------------------------
    def _read_global_step(self) -> int | None:
        try:
            return self.session.global_step
        except TFExploreError:
            return None

    def _guarded(self, action: Callable[[], Any]) -> Any:
        self.error = ""
        self.error_box.value = ""
        try:
            return action()
        except TFExploreError as exc:
            self._show_error(exc)
            return None

    def _show_error(self, exc: BaseException) -> None:
        self.error = str(exc)
        self.error_box.value = error_html(exc)

    def _repr_mimebundle_(self, **kwargs: Any):
        bundle = super()._repr_mimebundle_(**kwargs)
        static = (
            f"<div class='tfx-train-static'>{self.step_label.value}<br>"
            f"{png_img(self.png, 'training loss')}<br>{self.status.value}</div>"
        )
        return with_html_fallback(bundle, static)


def _duration(seconds: float) -> str:
    """``"3 s"``, ``"4 min"``, ``"2.5 h"``: a time as a person would say it."""
    if seconds < 60:
        return f"{max(seconds, 0.1):.2g} s" if seconds < 10 else f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@contextlib.contextmanager
def _interrupt_stops(stop: Callable[[], None]) -> Iterator[None]:
    """While a background run lasts, a kernel interrupt (SIGINT) asks it to stop: the kernel
    ignores SIGINT when idle, and the run's steps happen while it is idle."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, lambda *_: stop())
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
