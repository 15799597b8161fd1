"""Every tensor name of a session or artifact, searchable, with dtype, shape and producer
op, and the value of one tensor for a feed: the logic behind
:class:`~tfexplore.widgets.TensorPicker`, testable without ipywidgets.

Example::

    >>> from tfexplore.ui.tensors import TensorIndex
    >>> index = TensorIndex(tfexplore.session("runs/mnist"))   # doctest: +SKIP
    >>> [e.name for e in index.search("layer1 W")][:2]         # doctest: +SKIP
    ['layer1/W', 'layer1/W/Adam']
    >>> index.value("layer1/relu:0", feed={"inputs/x": x}).shape  # doctest: +SKIP
    (256, 16)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import TensorNotFoundError, TFExploreError
from ..graph.query import parse_query

__all__ = ["TensorEntry", "TensorIndex", "Feed"]

Feed = Mapping[Any, Any] | Callable[[int], Mapping[Any, Any]] | None


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
