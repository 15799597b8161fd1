"""``tfexplore.diff_graphs(a, b)``: the graphs of two artifacts compared op by op.

What holds a graph is resolved here (:func:`graph_of`: paths, artifacts, protos, ``tf.Graph``);
the comparison itself is :func:`tfexplore.graph.diff.diff`, on two graphs.
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import UnrecognizedArtifactError
from ..graph.model import Graph

__all__ = ["diff_graphs", "graph_of"]

_EXPECTED = (
    "a path, a checkpoint (with its .meta), a MetaGraph, a SavedModel, a frozen GraphDef, "
    "a tfexplore Graph, a GraphDef or MetaGraphDef proto, or a tf.Graph"
)


def diff_graphs(a: Any, b: Any, *, storage_options: dict | None = None):
    """Compare the graph of ``a`` (before) with the graph of ``b`` (after), op by op.

    ``a`` and ``b`` may be anything with a graph: a path or URL (opened with
    :func:`tfexplore.open`; ``storage_options`` go to fsspec), a checkpoint folder or prefix
    (its ``.meta`` graph), a ``MetaGraph``, ``SavedModel`` (its serving meta graph) or
    ``FrozenGraph``, a :class:`tfexplore.graph.Graph`, a ``GraphDef`` or ``MetaGraphDef``
    proto, or a ``tf.Graph``. Nothing runs: the protos are read.

    Ops are paired by name, then the ones left by structure (same op, attributes and paired
    inputs), so a renamed scope is one rename, not a thousand adds and removes. The library
    functions paired calls reach are compared by body (a TF2 SavedModel's graph is mostly
    calls): ``result.functions``, ``result.function_changes``. See
    :class:`tfexplore.graph.diff.GraphDiff` for what comes back.

    Example::

        >>> import tfexplore
        >>> result = tfexplore.diff_graphs("run1/ckpt-10", "run2/ckpt-10")  # doctest: +SKIP
        >>> result                                                 # doctest: +SKIP
        GraphDiff: 3 changed, 12 added, 0 removed, 1 scope renamed (bert -> encoder, 412 ops)
        >>> result.changes[["name", "status", "changes", "detail"]]   # doctest: +SKIP
        >>> result.renames                                         # doctest: +SKIP
        >>> result.side_by_side("encoder/pooler/dense/MatMul")     # doctest: +SKIP

    Raises:
        UnrecognizedArtifactError: ``a`` or ``b`` holds no graph (a TF2 checkpoint, a Keras
            file, a number...).
    """
    from ..graph.diff import diff

    return diff(
        graph_of(a, storage_options=storage_options),
        graph_of(b, storage_options=storage_options),
    )


def graph_of(source: Any, *, storage_options: dict | None = None) -> Graph:
    """The :class:`~tfexplore.graph.Graph` of anything that holds one (see :func:`diff_graphs`).

    Raises:
        UnrecognizedArtifactError: ``source`` holds no graph.
    """
    if isinstance(source, Graph):
        return source
    if isinstance(source, (str, os.PathLike)):
        from .open import open as open_artifact

        source = open_artifact(source, storage_options=storage_options)
    kind = getattr(source, "kind", None)
    if kind == "checkpoint_dir":
        meta_graph = source.meta_graph
        if meta_graph is None:
            raise _no_graph(source, "a checkpoint folder whose checkpoints have .meta files")
        return meta_graph.graph
    if kind == "checkpoint":
        if source.meta_graph is None:
            raise _no_graph(source, f"a {source.path.name}.meta file next to the checkpoint")
        return source.meta_graph.graph
    if kind == "saved_model":
        return _saved_model_graph(source)
    if kind in ("meta_graph", "graph_def"):
        return source.graph
    if hasattr(source, "graph_def") and hasattr(source, "DESCRIPTOR"):  # a MetaGraphDef
        return Graph(
            source.graph_def,
            library=source.graph_def.library,
            op_list=source.meta_info_def.stripped_op_list,
        )
    if hasattr(source, "node") and hasattr(source, "DESCRIPTOR"):  # a GraphDef
        return Graph(source)
    if callable(getattr(source, "as_graph_def", None)) and not kind:  # a tf.Graph
        return Graph(source.as_graph_def())
    raise _no_graph(source, _EXPECTED)


def _saved_model_graph(saved_model) -> Graph:
    """The serving meta graph's graph; if it has no function library and another meta graph
    has one (a TF2 export's functions), that one."""
    meta_graph = saved_model.meta_graph
    if not meta_graph.proto.graph_def.library.function:
        for other in saved_model.meta_graphs:
            if other.proto.graph_def.library.function:
                return other.graph
    return meta_graph.graph


def _no_graph(source: Any, expected: str) -> UnrecognizedArtifactError:
    path = getattr(source, "path", None)
    kind = getattr(source, "kind", None)
    if path is not None and kind:
        what = f"the {kind} {str(path)!r}"
    else:
        what = f"a {type(source).__name__}"
    return UnrecognizedArtifactError(
        f"Cannot compare graphs: {what} holds no graph.",
        path=path,
        expected=expected,
        hint="TF2 checkpoints and Keras files hold no graph: pass the .meta, the SavedModel "
        "folder or the frozen .pb instead",
    )
