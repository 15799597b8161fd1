"""The logic behind the live-session panels, testable without a browser or ipywidgets.

The widgets in :mod:`tfexplore.widgets` (``TensorPicker``, ``RestorePanel``, ``TrainPanel``,
``explore``) only show what these classes and functions return and call them on clicks:

- :class:`TensorIndex`: every tensor name of a session or artifact, searchable, with dtype,
  shape and producer op, and the value of one tensor for a feed;
- :func:`checkpoint_choices`, :func:`report_html`: the restore panel's list and report;
- :class:`Throttle`, :func:`batch_size`: how often a live plot redraws and how many training
  steps run between two looks at the Stop button;
- :class:`ExploreModel`: which tabs an artifact gets and what the Overview and Variables tabs
  show.

Example::

    >>> from tfexplore.ui.panels import TensorIndex
    >>> index = TensorIndex(tfexplore.session("runs/mnist"))   # doctest: +SKIP
    >>> [e.name for e in index.search("layer1 W")][:2]         # doctest: +SKIP
    ['layer1/W', 'layer1/W/Adam']
    >>> index.value("layer1/relu:0", feed={"inputs/x": x}).shape  # doctest: +SKIP
    (256, 16)
"""

from __future__ import annotations

import html
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import TensorNotFoundError, TFExploreError
from ..graph.query import parse_query

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "TensorEntry",
    "TensorIndex",
    "checkpoint_choices",
    "report_html",
    "report_summary",
    "STATUS_COLORS",
    "Throttle",
    "batch_size",
    "FeedCursor",
    "LossCurve",
    "ExploreModel",
    "markdown_html",
    "frame_html",
    "filter_frame",
]

Feed = Mapping[Any, Any] | Callable[[int], Mapping[Any, Any]] | None


# == tensors =================================================================================
@dataclass(frozen=True)
class TensorEntry:
    """One searchable name: a variable (``kind="variable"``, its value is readable) or a graph
    tensor (``kind="tensor"``, evaluated in a session)."""

    name: str
    dtype: str | None
    shape: tuple | None
    op: str
    op_type: str
    kind: str

    @property
    def shape_text(self) -> str:
        """``(3, 16)``, ``(?, 3)`` for unknown dimensions, ``?`` for an unknown rank."""
        if self.shape is None:
            return "?"
        dims = ["?" if d is None else str(d) for d in self.shape]
        return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"

    def label(self) -> str:
        """One line for a list of matches: name, dtype, shape and the op that makes it."""
        made_by = "variable" if self.kind == "variable" else f"← {self.op_type}"
        return f"{self.name}   {self.dtype or '?'} {self.shape_text}   {made_by}"


class TensorIndex:
    """The tensor names of a :class:`~tfexplore.Session` (its variables and every
    tensor of its graph) or of an artifact (its variables, and its graph's tensors, which
    can be listed but only evaluated in a session).

    Example::

        >>> index = TensorIndex("runs/mnist")                  # doctest: +SKIP
        >>> index.search("adam")[0].label()                    # doctest: +SKIP
        'layer1/W/Adam   float32 (3, 16)   variable'
        >>> index.value("layer1/W")                            # doctest: +SKIP
    """

    def __init__(self, source: Any) -> None:
        if isinstance(source, (str, os.PathLike)):
            from ..artifacts.open import open as open_artifact

            source = open_artifact(source)
        self.source = source
        self.is_session = hasattr(source, "eval") and hasattr(source, "train")
        variables = self._variable_entries()
        skip = {entry.name for entry in variables}
        self.entries: list[TensorEntry] = variables + self._graph_entries(skip)
        self._by_name = {entry.name: entry for entry in self.entries}

    # -- building ----------------------------------------------------------------------------
    def _artifact(self) -> Any:
        source = self.source
        return source.latest if getattr(source, "kind", "") == "checkpoint_dir" else source

    def _variable_entries(self) -> list[TensorEntry]:
        holder = self.source if self.is_session else self._artifact()
        frame = getattr(holder, "variables", None)
        if frame is None or self._reader() is None:
            return []
        entries = []
        for row in frame.itertuples(index=False):
            shape = getattr(row, "shape", None)
            entries.append(
                TensorEntry(
                    name=row.name,
                    dtype=getattr(row, "dtype", None),
                    shape=tuple(shape) if shape is not None else None,
                    op=row.name,
                    op_type="variable",
                    kind="variable",
                )
            )
        return entries

    def _graph(self) -> Any:
        """A :class:`~tfexplore.graph.Graph` of the source, or ``None``."""
        if self.is_session:
            tf_graph = getattr(self.source, "graph", None)
            if tf_graph is None:
                return None
            from ..graph.model import Graph

            return Graph(tf_graph.as_graph_def())
        artifact = self._artifact()
        if artifact.kind == "checkpoint":
            meta = artifact.meta_graph
            return meta.graph if meta is not None else None
        graph = getattr(artifact, "graph", None)
        return graph if hasattr(graph, "tensors") else None

    def _graph_entries(self, skip: set[str]) -> list[TensorEntry]:
        graph = self._graph()
        if graph is None:
            return []
        entries = []
        for row in graph.tensors().itertuples(index=False):
            if row.dtype == "resource" or row.name in skip:
                continue
            shape = tuple(row.shape) if row.shape is not None else None
            entries.append(
                TensorEntry(
                    name=row.name,
                    dtype=row.dtype,
                    shape=shape if shape is not None else self._static_shape(row.name),
                    op=row.op,
                    op_type=row.op_type,
                    kind="tensor",
                )
            )
        return entries

    def _static_shape(self, name: str) -> tuple | None:
        """A session's tensors carry no recorded shapes; TensorFlow infers them."""
        if not self.is_session:
            return None
        try:
            shape = self.source.graph.get_tensor_by_name(name).shape
        except (KeyError, ValueError, TypeError):
            return None
        return None if shape.rank is None else tuple(shape.as_list())

    def _reader(self) -> Callable[[str], np.ndarray] | None:
        if self.is_session:
            return self.source.eval
        return getattr(self._artifact(), "read", None)

    # -- searching ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, name: str) -> bool:
        return name in self._by_name

    def entry(self, name: str) -> TensorEntry:
        """The entry called ``name``; raises :class:`TensorNotFoundError` with suggestions."""
        try:
            return self._by_name[name]
        except KeyError:
            raise TensorNotFoundError(
                f"No tensor or variable named {name!r}.",
                suggestions=[e.name for e in self.search(name, limit=8)],
                expected="a name from the list of matches",
            ) from None

    def search(self, text: str, limit: int = 50) -> list[TensorEntry]:
        """Entries matching ``text``, a query in tfexplore's one search syntax
        (:mod:`tfexplore.graph.query`: words that must all appear, globs, ``op:MatMul`` for
        tensors made by that op type, ``re:``), case-insensitive, best first: exact name, then
        names starting with the first word, then last component starting with it, then
        shorter names; variables before graph tensors. An empty ``text`` lists the first
        ``limit`` entries.

        Example::

            >>> index.search("layer1 adam", limit=2)           # doctest: +SKIP
            >>> index.search("op:MatMul layer*")                # doctest: +SKIP
        """
        query = parse_query(text)
        found = [entry for entry in self.entries if query.matches(entry.name, entry.op_type)]
        if query.needle is not None:
            found.sort(key=lambda entry: _rank(entry, query.needle))
        return found[:limit]

    # -- values ------------------------------------------------------------------------------
    def can_evaluate(self, name: str) -> bool:
        """Whether :meth:`value` can give ``name``'s value here (graph tensors need a
        session)."""
        return self.entry(name).kind == "variable" or self.is_session

    def value(self, name: str, feed: Feed = None) -> np.ndarray:
        """The value of ``name``: read from the artifact, or evaluated in the session with
        ``feed`` (a dict ``{placeholder: value}`` or ``callable(step) -> dict``, called with
        step 0, as for :meth:`Session.train`)."""
        entry = self.entry(name)
        if not self.can_evaluate(name):
            raise TFExploreError(
                f"{name!r} is a tensor of the graph: its value exists only while the graph runs.",
                expected="a variable (read from the file), or a live session",
                hint="start a session (tfexplore.session(path)) and pick the tensor there",
            )
        if not self.is_session:
            return np.asarray(self._artifact().read(entry.name))
        feed_dict = feed(0) if callable(feed) else feed
        needs_feed = entry.kind == "tensor"
        value = np.asarray(self.source.eval(entry.name, feed=feed_dict if needs_feed else None))
        return _as_listed_dtype(value, entry.dtype)


def _as_listed_dtype(value: np.ndarray, dtype: str | None) -> np.ndarray:
    """A session returns scalars as Python numbers (float64 once in numpy): give the value
    the dtype the list shows for its tensor (``float32``), when that is a numeric one."""
    try:
        wanted = np.dtype(dtype) if dtype else None
    except TypeError:
        return value
    if wanted is None or value.dtype == wanted or wanted.kind not in "biufc":
        return value
    if value.dtype.kind not in "biufc":
        return value
    return value.astype(wanted)


def _rank(entry: TensorEntry, word: str) -> tuple:
    name = entry.name.lower()
    base = name.split(":")[0]
    leaf = base.rsplit("/", 1)[-1]
    return (
        entry.kind != "variable",
        base != word and name != word,
        not name.startswith(word),
        not leaf.startswith(word),
        len(name),
        name,
    )


# == restore =================================================================================
STATUS_COLORS = {
    "restored": "#d8f0d8",
    "only_in_checkpoint": "#eeeeee",
    "missing_in_checkpoint": "#fbd5d5",
    "shape_mismatch": "#fde2b8",
    "dtype_mismatch": "#fde2b8",
}


def checkpoint_choices(folder: Any) -> list[tuple[str, str]]:
    """``(label, prefix)`` for each checkpoint present in a folder, newest first; labels read
    ``step 30 · 2024-05-01 12:00:01 · latest``.

    ``folder``: a :class:`~tfexplore.artifacts.checkpoint.CheckpointDir`, a folder path, or a checkpoint
    prefix (one choice).
    """
    from ..artifacts.checkpoint.checkpoint import Checkpoint, CheckpointDir

    if isinstance(folder, Checkpoint):
        return [(_checkpoint_label(folder.step, None, True, folder.path.name), str(folder.path))]
    if not isinstance(folder, CheckpointDir):
        path = Path(os.fspath(folder))
        if not path.is_dir():
            checkpoint = Checkpoint(path)
            return [(_checkpoint_label(checkpoint.step, None, True, path.name), str(path))]
        folder = CheckpointDir(path)
    table = folder.checkpoints
    table = table[~table["missing"]]
    choices = []
    for row in table.iloc[::-1].itertuples(index=False):
        step = None if row.step is None or row.step != row.step else int(row.step)
        label = _checkpoint_label(step, row.modified, bool(row.is_latest), Path(row.prefix).name)
        choices.append((label, str(row.prefix)))
    return choices


def _checkpoint_label(step: int | None, modified: Any, latest: bool, name: str) -> str:
    parts = [f"step {step}" if step is not None else name]
    if modified is not None and modified == modified:  # not NaT
        parts.append(f"{modified:%Y-%m-%d %H:%M:%S}")
    if latest:
        parts.append("latest")
    return " · ".join(parts)


# Row colours are pastel backgrounds with their own dark text: readable in light and dark
# themes alike (the page's text colour is never drawn on them).
STATUS_TEXT = "#1f2328"


def report_summary(report: Any) -> str:
    """One line a person reads at a glance: ``'restored 15 of 15 variables from
    model.ckpt-30'`` or what does not fit (plain text)."""
    counts = report.counts
    total = sum(n for s, n in counts.items() if s != "only_in_checkpoint")
    name = Path(report.checkpoint).name
    restored = counts.get("restored", 0)
    if report.ok:
        verb = "restored" if report.applied else "would restore"
        return f"{verb} {restored} of {total} variables from {name}"
    problems = ", ".join(
        f"{n} {s.replace('_', ' ')}"
        for s, n in counts.items()
        if s not in ("restored", "only_in_checkpoint")
    )
    return f"{name} does not fit: {problems}" + (f" ({restored} fit)" if restored else "")


def report_html(report: Any, *, max_rows: int = 200, collapse_when_ok: bool = True) -> str:
    """A :class:`~tfexplore.live.RestoreReport` as HTML: a headline with counts, the rows
    coloured by status (problems first), the proposed mapping and ``as_code()``. When
    everything fits, the rows are folded away behind the one-line headline
    (``collapse_when_ok``): nothing there needs reading."""
    counts = ", ".join(
        f"<span style='background:{STATUS_COLORS.get(s, '#fff')};color:{STATUS_TEXT};"
        f"padding:0 4px;border-radius:3px'>{n} {s}</span>"
        for s, n in report.counts.items()
    )
    verdict = (
        f"<b style='background:#d8f0d8;color:{STATUS_TEXT};padding:0 4px;border-radius:3px'>"
        "&#10003; fits</b>"
        if report.ok
        else f"<b style='background:#fbd5d5;color:{STATUS_TEXT};padding:0 4px;border-radius:3px'>"
        "&#10007; does not fit</b>"
    )
    head = (
        f"<div class='tfx-report-head'>{verdict} {html.escape(report_summary(report))} "
        f"— {counts or 'no variables'}</div>"
    )
    rows = _report_rows(report, max_rows)
    if report.ok and collapse_when_ok:
        rows = f"<details class='tfx-report-details'><summary>the {len(report.frame)} rows</summary>{rows}</details>"
    return head + rows + _proposal_html(report)


def _report_rows(report: Any, max_rows: int) -> str:
    frame = report.frame
    order = frame["status"].map(
        {s: i for i, s in enumerate(["missing_in_checkpoint", "shape_mismatch", "dtype_mismatch"])}
    )
    frame = frame.assign(_order=order.fillna(9)).sort_values("_order", kind="stable")
    columns = ["status", "graph_name", "checkpoint_key", "graph_shape", "checkpoint_shape"]
    header = "".join(f"<th style='text-align:left'>{c}</th>" for c in columns)
    rows = []
    for record in frame.head(max_rows).to_dict("records"):
        colour = STATUS_COLORS.get(record["status"], "#fff")
        cells = "".join(f"<td>{html.escape(_cell(record[c]))}</td>" for c in columns)
        rows.append(
            f"<tr class='tfx-status-{record['status']}' style='background:{colour};"
            f"color:{STATUS_TEXT}'>{cells}</tr>"
        )
    more = (
        f"<div>… {len(frame) - max_rows} more rows (report.frame)</div>"
        if len(frame) > max_rows
        else ""
    )
    return (
        "<table class='tfx-report' style='border-collapse:collapse;font-size:12px'>"
        f"<tr>{header}</tr>{''.join(rows)}</table>{more}"
    )


def _proposal_html(report: Any) -> str:
    parts = []
    if report.proposed_prefix_rewrite:
        parts.append(
            "<div>Proposed <code>prefix_rewrite</code>: "
            f"<code>{html.escape(repr(report.proposed_prefix_rewrite))}</code></div>"
        )
    if report.proposed_mapping and not report.ok:
        pairs = "".join(
            f"<tr><td>{html.escape(k)}</td><td>→ {html.escape(v)}</td></tr>"
            for k, v in report.proposed_mapping.items()
        )
        parts.append(
            "<details open><summary>Proposed mapping (checkpoint key → variable)</summary>"
            f"<table class='tfx-proposed' style='font-size:12px'>{pairs}</table></details>"
        )
    parts.append(
        "<details><summary>As TensorFlow code</summary>"
        f"<pre class='tfx-code'>{html.escape(report.as_code())}</pre></details>"
    )
    return "".join(parts)


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)


# == training ================================================================================
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


# == explore =================================================================================
class ExploreModel:
    """What ``tfexplore.explore(path)`` shows for one artifact: its tabs (only those that
    apply), the Overview HTML, the variables table and its filter, and how a live session is
    started for the *Restore and train* tab:

    - a TF1 checkpoint (or folder) with its ``.meta``, or a ``.meta`` file: the graph is
      imported (``tfexplore.session(path)``);
    - a full Keras model file (``.keras``, ``.h5`` with its architecture): loaded with the
      session's safety rules (``safe_mode``; ``Lambda`` layers refused unless ``trust``);
    - with ``model=`` (a Keras model, ``tf.train.Checkpoint``, dict of trackables, or your
      ``tf.compat.v1.Session``/``tf.Graph``): a checkpoint or folder restores into it
      (``tfexplore.session(model, checkpoint)``), a Keras weights file is loaded into it
      (``model.load_weights``).

    Where none applies (a TF2 checkpoint or a ``.weights.h5`` without ``model=``), the tab
    is still there and :attr:`needs` says what to pass.

    Example::

        >>> model = ExploreModel("runs/mnist")                  # doctest: +SKIP
        >>> model.tabs                                          # doctest: +SKIP
        ['Overview', 'Graph', 'Variables', 'Tensors', 'Restore and train']
        >>> ExploreModel("runs/tf2").needs                       # doctest: +SKIP
        'This TF2 checkpoint holds values only ... pass model=...'
    """

    def __init__(self, source: Any, *, model: Any = None, trust: bool = False) -> None:
        if isinstance(source, (str, os.PathLike)):
            from ..artifacts.open import open as open_artifact

            source = open_artifact(source)
        #: a Keras ModelCheckpoint folder is explored through its latest file (``run`` keeps
        #: the folder: ``run.history()``, ``run.diff()``)
        self.run = source if getattr(source, "kind", "") == "keras_run" else None
        self.artifact = source.latest if self.run is not None else source
        if getattr(source, "kind", "") == "checkpoint_dir" and not len(source):
            # graphs without tensors: explore the newest graph (its .meta)
            self.artifact = source.meta_graph or source
        self.model = model
        self.trust = trust

    @property
    def kind(self) -> str:
        return self.artifact.kind

    def _main(self) -> Any:
        """The artifact whose variables and graph are shown (a folder's latest checkpoint)."""
        return self.artifact.latest if self.kind == "checkpoint_dir" else self.artifact

    @property
    def has_graph(self) -> bool:
        """A graph to draw: a meta graph, SavedModel, GraphDef, or a checkpoint's ``.meta``."""
        if self.kind == "saved_model":  # its saved_model.pb may be unreadable (graph_error)
            return self.artifact.graph_error is None
        if self.kind in ("meta_graph", "graph_def"):
            return True
        if self.kind in ("checkpoint", "checkpoint_dir"):
            return self._main().meta_path.exists()
        return False

    @property
    def has_variables(self) -> bool:
        return self.kind != "graph_def" or len(self.variables) > 0

    # -- the live session ------------------------------------------------------------------
    @property
    def _keras_full_model(self) -> bool:
        """A Keras file with its architecture: a ``.keras`` zip, or a legacy full-model
        ``.h5`` (``tfexplore.session`` loads its architecture and weights, compiles it from
        its ``training_config`` and copies the optimizer state from ``optimizer_weights``)."""
        return self.kind == "keras" and self.artifact.format in ("keras_v3", "h5_model")

    @property
    def session_source(self) -> Any:
        """What ``tfexplore.session`` opens for training: a path (a checkpoint with its
        ``.meta``, a ``.meta`` file, a full Keras model file), the ``model=`` passed in, or
        ``None`` when this artifact cannot run as it is (see :attr:`needs`)."""
        if self.model is not None and self.kind in ("checkpoint", "checkpoint_dir", "keras"):
            return self.model
        if self.kind in ("checkpoint", "checkpoint_dir") and self.has_graph:
            return str(self.artifact.path)
        if self.kind == "meta_graph" and str(self.artifact.path).endswith(
            (".meta", ".meta.pbtxt", ".meta.txt")
        ):
            return str(self.artifact.path)
        if self._keras_full_model or self.kind == "saved_model":
            return str(self.artifact.path)
        return None

    @property
    def can_train(self) -> bool:
        """Whether *Start session* can open a session for this artifact."""
        return self.session_source is not None

    @property
    def offers_session(self) -> bool:
        """Whether the *Restore and train* tab is shown: the artifact can run, or could with
        ``model=`` (the tab then says so)."""
        return self.can_train or self.kind in (
            "checkpoint",
            "checkpoint_dir",
            "keras",
            "saved_model",
        )

    @property
    def needs(self) -> str | None:
        """What is missing to train (``None`` when :attr:`can_train`)."""
        if self.can_train:
            return None
        name = Path(self.artifact.path).name
        if self.kind == "keras":
            return (
                f"{name} holds weights only, no architecture, so there is no model to train. "
                f"Pass the model they belong to: tfexplore.explore({name!r}, model=make_model(), "
                "feed=(x, y)); its weights (and optimizer state) are loaded from the file."
            )
        if self.kind in ("checkpoint", "checkpoint_dir"):
            style = getattr(self._main(), "style", "name_based")
            if style == "object_based":
                return (
                    "This TF2 checkpoint holds variable values only: the model is Python code, "
                    f"not in the file. Pass it: tfexplore.explore({name!r}, model=my_model, "
                    "feed=dataset) (a Keras model, a tf.train.Checkpoint or a dict of objects "
                    "as you saved them); the checkpoint is then restored into it."
                )
            return (
                "This TF1 checkpoint has no .meta file, so there is no graph to import. Rebuild "
                f"the graph in Python and pass it: tfexplore.explore({name!r}, model=sess) "
                "(your tf.compat.v1.Session or tf.Graph)."
            )
        return f"A {self.kind} cannot be trained here."

    @property
    def session_checkpoint(self) -> str | None:
        """The checkpoint restored into ``model=`` (the artifact's path; a folder means its
        latest), or ``None``."""
        if self.model is not None and self.kind in ("checkpoint", "checkpoint_dir"):
            return str(self.artifact.path)
        return None

    def session_note(self) -> str:
        """One line saying what *Start session* will do (it runs code and ops)."""
        if not self.can_train:
            return self.needs or ""
        model_name = type(self.model).__name__
        if self.model is not None and self.kind == "keras":
            state = (
                " (model weights only: a legacy .h5's optimizer state is not loaded)"
                if self.artifact.format == "h5_model"
                else " (and the optimizer's state, when the file has it)"
            )
            return f"Loads the weights of {self.artifact.path} into your {model_name}{state}."
        if self.model is not None:
            return (
                f"Restores {self.artifact.path} (the latest checkpoint of a folder) into your "
                f"{model_name}; the match report shows how every variable fits."
            )
        if self.kind == "keras":
            lambdas = self.artifact.lambda_layers
            warning = ""
            if lambdas and not self.trust:
                warning = (
                    f" It has Lambda layer(s) ({', '.join(lambdas)}) whose Python code a load "
                    "would run: refused unless explore(..., trust=True)."
                )
            if self.artifact.format == "h5_model":
                return (
                    f"Loads the architecture and weights of {self.artifact.path} with Keras "
                    "(safe_mode), compiles it from its training_config and copies its "
                    "optimizer state (matched by name, else by order and shape; if it cannot "
                    "be matched the optimizer starts fresh and the session says so)." + warning
                )
            return (
                f"Loads {self.artifact.path} with Keras (safe_mode, with its optimizer state)."
                + warning
            )
        if self.kind == "saved_model":
            if self.artifact.writer == "tf1_builder":
                return (
                    f"Imports the graph of {self.artifact.path} and restores variables/variables "
                    "(then its init op, if any): this runs ops, after a safety check."
                )
            return (
                f"Loads {self.artifact.path} with tf.saved_model.load (it runs the file's "
                "restore functions, after a scan of the whole file): its variables can then be "
                "restored, evaluated, snapshotted and saved. Training needs the Keras model "
                "itself (its .keras file, or explore(checkpoints, model=...))."
            )
        return (
            f"Opens {self.session_source} in TensorFlow (imports the graph, restores the "
            "latest checkpoint): this runs ops."
        )

    def open_session(self) -> Any:
        """Open the live session the tab trains (what *Start session* does).

        Raises what :func:`tfexplore.session` raises (a ``RestoreMismatchError`` carries the
        open session as ``err.session`` and the report as ``err.report``)."""
        from ..live.open import session as open_session

        source = self.session_source
        if source is None:
            raise TFExploreError(
                "This artifact cannot be trained as it is.",
                path=self.artifact.path,
                expected="a TF1 checkpoint with its .meta, a full Keras model file, or model=",
                hint=self.needs,
            )
        if self.model is not None and self.kind == "keras":
            self._load_keras_weights()
            opened = open_session(self.model)
            opened.source = f"{self.artifact.path} (weights) in your {type(self.model).__name__}"
            return opened
        return open_session(source, self.session_checkpoint, trust=self.trust)

    def _load_keras_weights(self) -> None:
        """``model.load_weights(file)`` (no code from the file runs: the model is yours)."""
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and not getattr(optimizer, "built", True):
            optimizer.build(self.model.trainable_variables)  # so that its state is loaded too
        try:
            self.model.load_weights(str(self.artifact.path))
        except (ValueError, KeyError, TypeError, OSError) as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise TFExploreError(
                f"The weights in {self.artifact.path} do not fit your "
                f"{type(self.model).__name__}: {reason}",
                path=self.artifact.path,
                expected="the model that saved these weights (same layers, same shapes)",
                hint="build the model as it was when saved; tfexplore.open(path).layers lists them",
            ) from exc

    @property
    def checkpoint_folder(self) -> str | None:
        """The folder the restore panel lists checkpoints from (``None`` for a Keras file)."""
        if self.kind == "checkpoint_dir":
            return str(self.artifact.path)
        if self.kind in ("checkpoint", "meta_graph"):
            return str(Path(self.artifact.path).parent)
        return None

    @property
    def tabs(self) -> list[str]:
        """The tab titles, in order, for this artifact."""
        tabs = ["Overview"]
        if self.has_graph:
            tabs.append("Graph")
        if self.has_variables:
            tabs.append("Variables")
        tabs.append("Tensors")
        if self.offers_session:
            tabs.append("Restore and train")
        return tabs

    def overview_html(self) -> str:
        """The summary table and ``explain()`` rendered from Markdown."""
        return self.artifact._repr_html_() + markdown_html(str(self.artifact.explain()))

    @property
    def variables(self):
        """The variables DataFrame (a folder's latest checkpoint's)."""
        import pandas as pd

        frame = getattr(self._main(), "variables", None)
        return frame if frame is not None else pd.DataFrame(columns=["name", "shape", "dtype"])

    #: the Variables tab's columns unless all are asked for (``shard``, ``offset``,
    #: ``partitions``, ``object_path``... are for those who know they need them)
    VARIABLE_COLUMNS = ["name", "role", "shape", "dtype", "size", "nbytes", "slot_of", "optimizer"]

    def variables_html(self, text: str = "", max_rows: int = 500, all_columns: bool = False) -> str:
        """The variables whose name holds every word of ``text``, as an HTML table: the
        columns a newcomer needs (``VARIABLE_COLUMNS``), or ``all_columns``."""
        frame = filter_frame(self.variables, text)
        columns = None if all_columns else self.VARIABLE_COLUMNS
        return frame_html(frame, max_rows=max_rows, columns=columns, what="variables", text=text)


def filter_frame(frame: pd.DataFrame, text: str, column: str = "name") -> pd.DataFrame:
    """Rows whose ``column`` matches ``text``, a query in tfexplore's one search syntax
    (:mod:`tfexplore.graph.query`: words that must all appear, globs, ``re:``;
    case-insensitive). ``op:`` terms need an ``op`` column and are ignored without one.

    Example::

        >>> import pandas as pd
        >>> filter_frame(pd.DataFrame({"name": ["a/W", "a/b", "c/W"]}), "w a")["name"].tolist()
        ['a/W']
        >>> filter_frame(pd.DataFrame({"name": ["a/W", "a/b", "c/W"]}), "*/w")["name"].tolist()
        ['a/W', 'c/W']
    """
    query = parse_query(text)
    if column not in frame or (query.empty and not query.op_types):
        return frame
    types = frame["op"] if query.op_types and "op" in frame else [None] * len(frame)
    keep = [
        query.matches_name(str(name)) and (op_type is None or query.matches_type(str(op_type)))
        for name, op_type in zip(frame[column], types)
    ]
    return frame[np.asarray(keep, dtype=bool)]


def frame_html(
    frame: Any,
    max_rows: int = 500,
    columns: list[str] | None = None,
    *,
    what: str = "rows",
    text: str = "",
) -> str:
    """A DataFrame as a compact HTML table (``max_rows`` rows, then a count of the rest);
    missing values are blank, names escaped; no rows says so (and what was searched)."""
    if not len(frame):
        searched = f" match {html.escape(repr(text))}" if text.strip() else ""
        return f"<div class='tfx-empty' style='font-size:12px'>no {what}{searched}</div>"
    shown = frame if columns is None else frame[[c for c in columns if c in frame]]
    shown = shown.head(max_rows).astype(object).where(shown.head(max_rows).notna(), "")
    table = shown.to_html(index=False, classes="tfx-table", border=0, escape=True)
    if len(frame) > max_rows:
        table += f"<div>… {len(frame) - max_rows} more rows</div>"
    return f"<div style='font-size:12px'>{len(frame)} {what}{table}</div>"


def markdown_html(text: str) -> str:
    """Markdown rendered to HTML (with ``markdown-it-py`` when installed; else preformatted
    text)."""
    try:
        from markdown_it import MarkdownIt
    except ImportError:
        return f"<pre style='white-space:pre-wrap'>{html.escape(text)}</pre>"
    # raw HTML off: a name from a file that reaches the Markdown stays text (issue 11)
    return MarkdownIt("commonmark", {"html": False}).enable("table").render(text)
