"""Two graphs compared op by op: what was added, removed, changed or renamed.

:func:`diff` takes two :class:`~tfexplore.graph.Graph` objects (or two ``GraphDef`` protos) and
returns a :class:`GraphDiff`. It reads the protos only: nothing is imported into TensorFlow.

Ops are paired by name, then the ones left by structure and by scope rewrites
(:mod:`.matching`), so a renamed scope is one rename, not a thousand adds and removes.

Paired ops are compared field by field: ``op``, ``inputs`` (read through the renames, so the
consumers of a renamed scope are not changed), ``attr:<key>``, ``device`` and ``shape`` (the
``_output_shapes`` attribute, and the ``shape`` attribute of placeholders and variables).
``_class`` colocation names are read through the renames too. Large tensors of ``Const`` ops
are compared as bytes, never decoded.

Example::

    >>> from tfexplore.graph.diff import diff
    >>> result = diff(graph_before, graph_after)              # doctest: +SKIP
    >>> result                                                # doctest: +SKIP
    GraphDiff: 3 changed, 12 added, 0 removed, 1 scope renamed (bert -> encoder, 412 ops)
    >>> result.changes[["name", "status", "detail"]]          # doctest: +SKIP
    >>> result.side_by_side("encoder/pooler/dense/Tanh")      # doctest: +SKIP
"""

from __future__ import annotations

import functools
import html
from collections import Counter
from typing import TYPE_CHECKING, Any

from .matching import Matcher, Side
from .model import Graph
from .ops import VARIABLE_OPS
from .protos import _SHAPE_ATTR_OPS, gc_paused, readable_attr, shape_tuple, tensor_summary

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["diff", "GraphDiff", "STATUSES", "FRAME_COLUMNS", "RENAME_COLUMNS"]

#: The status of an op of the union, in the order summaries list them.
STATUSES = ("changed", "added", "removed", "renamed", "same")
#: The columns of :attr:`GraphDiff.frame`.
FRAME_COLUMNS = ("name", "status", "name_a", "name_b", "op_a", "op_b", "changes", "detail")
#: The columns of :attr:`GraphDiff.renames`.
RENAME_COLUMNS = ("old_scope", "new_scope", "ops")

_SHAPE_OPS = _SHAPE_ATTR_OPS | VARIABLE_OPS
_NAME_ATTRS = frozenset({"_class"})  # attributes that hold op names (read through renames)


def diff(a: Graph | Any, b: Graph | Any) -> GraphDiff:
    """Compare graph ``a`` (before) with graph ``b`` (after).

    Args:
        a, b: :class:`~tfexplore.graph.Graph` objects or ``GraphDef`` protos.

    Returns:
        a :class:`GraphDiff`: one row per op of the union of both graphs.
    """
    side_a, side_b = Side(_as_graph(a)), Side(_as_graph(b))
    matcher = Matcher(side_a, side_b)
    matcher.run()
    return GraphDiff(side_a, side_b, matcher.a2b, matcher.renames(), matcher.by_structure)


def _as_graph(source: Any) -> Graph:
    if isinstance(source, Graph):
        return source
    if hasattr(source, "node") and hasattr(source, "DESCRIPTOR"):
        return Graph(source)
    raise TypeError(f"Expected a tfexplore Graph or a GraphDef proto; got {type(source).__name__}")


# ---------------------------------------------------------------------------------------------
# Comparing paired ops
# ---------------------------------------------------------------------------------------------
def _compare(
    a: Side, i: int, b: Side, j: int, a2b: dict[str, str], structural: bool = False
) -> tuple[tuple, str]:
    """``(changes, detail)`` of paired ops ``a[i]`` and ``b[j]``. ``structural``: paired by
    structure, so all but ``_class`` is known to be the same."""
    proto_a, proto_b = a.protos[i], b.protos[j]
    if proto_a is not None and proto_b is not None:
        if structural:
            return _compare_class(proto_a, proto_b, a2b)
        if proto_a == proto_b:
            return (), ""
    changes: list[str] = []
    details: list[str] = []
    if a.ops[i] != b.ops[j]:
        changes.append("op")
        details.append(f"op: {a.ops[i]} -> {b.ops[j]}")
    inputs_detail = _inputs_detail(a, i, b, j, a2b)
    if inputs_detail:
        changes.append("inputs")
        details.append(inputs_detail)
    if proto_a is None or proto_b is None:  # a function body's arguments and results
        return tuple(changes), "; ".join(details)
    shape_change = False
    attrs_a, attrs_b = proto_a.attr, proto_b.attr
    for key in sorted(set(attrs_a) | set(attrs_b)):
        value_a = attrs_a[key] if key in attrs_a else None
        value_b = attrs_b[key] if key in attrs_b else None
        if key in _NAME_ATTRS:
            same = _class_names(value_a, a2b) == _class_names(value_b, None)
        else:
            same = value_a == value_b
        if same:
            continue
        is_shape = key == "_output_shapes" or (key == "shape" and b.ops[j] in _SHAPE_OPS)
        if is_shape:
            if not shape_change:
                shape_change = True
                changes.append("shape")
            details.append(f"shape: {_shape_text(value_a)} -> {_shape_text(value_b)}")
        else:
            changes.append(f"attr:{key}")
            details.append(_attr_detail(key, value_a, value_b))
    if a.devices[i] != b.devices[j]:
        changes.append("device")
        details.append(f"device: {a.devices[i]!r} -> {b.devices[j]!r}")
    return tuple(changes), "; ".join(details)


def _compare_class(proto_a, proto_b, a2b: dict[str, str]) -> tuple[tuple, str]:
    """Ops paired by structure differ at most in their ``_class`` colocation names."""
    class_a = proto_a.attr["_class"] if "_class" in proto_a.attr else None
    class_b = proto_b.attr["_class"] if "_class" in proto_b.attr else None
    if class_a is None and class_b is None:
        return (), ""
    if _class_names(class_a, a2b) == _class_names(class_b, None):
        return (), ""
    return ("attr:_class",), _attr_detail("_class", class_a, class_b)


def _inputs_detail(a: Side, i: int, b: Side, j: int, a2b: dict[str, str]) -> str:
    data_a = [f"{a2b.get(op, op)}:{k}" for op, k in a.inputs[i]]
    data_b = [f"{op}:{k}" for op, k in b.inputs[j]]
    control_a = {"^" + a2b.get(op, op) for op in a.controls[i]}
    control_b = {"^" + op for op in b.controls[j]}
    if data_a == data_b and control_a == control_b:
        return ""
    added = [t for t in data_b if t not in data_a] + sorted(control_b - control_a)
    removed = [t for t in data_a if t not in data_b] + sorted(control_a - control_b)
    parts = [f"+{t}" for t in added] + [f"-{t}" for t in removed]
    return "inputs: " + (" ".join(parts) if parts else "reordered")


def _class_names(value, mapping: dict[str, str] | None) -> list[str]:
    """The colocation names of a ``_class`` attribute (``loc:@op``), sorted; ``mapping``: the
    ops named as their partners in ``b``."""
    if value is None:
        return []
    names = [item.decode("utf-8", "replace") for item in value.list.s]
    if mapping is not None:
        names = [
            "loc:@" + mapping.get(text[5:], text[5:]) if text.startswith("loc:@") else text
            for text in names
        ]
    return sorted(names) if len(names) > 1 else names


def _shape_text(value) -> str:
    if value is None:
        return "none"
    if value.WhichOneof("value") == "shape":
        return str(shape_tuple(value.shape))
    return ", ".join(str(shape_tuple(s)) for s in value.list.shape) or "[]"


def _attr_detail(key: str, value_a, value_b) -> str:
    text_a = _attr_text(value_a)
    text_b = _attr_text(value_b)
    if text_a == text_b:  # two tensors that summarize alike: their bytes differ
        return f"attr {key}: {text_b} (content differs)"
    return f"attr {key}: {text_a} -> {text_b}"


def _attr_text(value) -> str:
    if value is None:
        return "none"
    if value.WhichOneof("value") == "tensor":
        return tensor_summary(value.tensor)
    text = str(readable_attr(value))
    return text if len(text) <= 60 else text[:57] + "..."


# ---------------------------------------------------------------------------------------------
# The result
# ---------------------------------------------------------------------------------------------
class GraphDiff:
    """What changed from graph ``a`` to graph ``b``, op by op.

    Attributes:
        frame: one row per op of the union: ``name`` (``b``'s name, or ``a``'s for removed
            ops), ``status`` (``same``, ``added``, ``removed``, ``changed``, ``renamed``),
            ``name_a``, ``name_b`` (``None`` where absent), ``op_a``, ``op_b``, ``changes``
            (a tuple of ``op``, ``inputs``, ``attr:<key>``, ``device``, ``shape``) and
            ``detail`` (short text).
        changes: ``frame`` without the ``same`` rows.
        renames: the scope renames found: ``old_scope``, ``new_scope``, ``ops``.
        status: a Series, union name -> status.
        counts: ``{status: number of ops}``.

    Example::

        >>> result = tfexplore.diff_graphs("run1/ckpt-10", "run2/ckpt-10")  # doctest: +SKIP
        >>> result.counts                                         # doctest: +SKIP
        {'same': 20580, 'changed': 3, 'added': 12, 'removed': 0, 'renamed': 412}
        >>> result.renames                                        # doctest: +SKIP
          old_scope  new_scope  ops
        0      bert    encoder  412
    """

    def __init__(
        self,
        a: Side,
        b: Side,
        a2b: dict[str, str],
        renames: list[tuple[str, str, int]],
        by_structure: set[str] = frozenset(),
    ) -> None:
        self._a, self._b = a, b
        self._a2b = a2b
        self._renames = renames
        self._by_structure = by_structure
        self._rows = self._build_rows()
        self.counts: dict[str, int] = {s: 0 for s in STATUSES}
        self.counts.update(Counter(row[1] for row in self._rows))
        self._row_index = {row[0]: k for k, row in enumerate(self._rows)}

    def _build_rows(self) -> list[tuple]:
        a, b, a2b, by_structure = self._a, self._b, self._a2b, self._by_structure
        b2a = {new: old for old, new in a2b.items()}
        rows = []
        with gc_paused():
            for j, name in enumerate(b.names):
                old = b2a.get(name)
                if old is None:
                    rows.append((name, "added", None, name, None, b.ops[j], (), ""))
                    continue
                i = a.index[old]
                changes, detail = _compare(a, i, b, j, a2b, name in by_structure)
                if old != name:
                    status = "renamed"
                    detail = f"renamed from {old}" + (f"; {detail}" if detail else "")
                else:
                    status = "changed" if changes else "same"
                rows.append((name, status, old, name, a.ops[i], b.ops[j], changes, detail))
            for i, name in enumerate(a.names):
                if name not in a2b:
                    rows.append((name, "removed", name, None, a.ops[i], None, (), ""))
        return rows

    @functools.cached_property
    def frame(self) -> pd.DataFrame:
        """One row per op of the union (see the class)."""
        import pandas as pd

        with gc_paused():
            columns = zip(*self._rows) if self._rows else [[] for _ in FRAME_COLUMNS]
            # object columns: names absent on one side stay None (pandas 3 would make them NaN)
            data = {
                name: pd.Series(list(values), dtype=object)
                for name, values in zip(FRAME_COLUMNS, columns)
            }
            return pd.DataFrame(data, columns=list(FRAME_COLUMNS))

    @functools.cached_property
    def changes(self) -> pd.DataFrame:
        """:attr:`frame` without the ``same`` rows."""
        frame = self.frame
        return frame[frame["status"] != "same"].reset_index(drop=True)

    @functools.cached_property
    def renames(self) -> pd.DataFrame:
        """The scope renames found: ``old_scope``, ``new_scope``, ``ops`` (how many ops moved)."""
        import pandas as pd

        return pd.DataFrame(self._renames, columns=list(RENAME_COLUMNS))

    @functools.cached_property
    def status(self) -> pd.Series:
        """Union op name -> status."""
        import pandas as pd

        return pd.Series(
            [row[1] for row in self._rows],
            index=pd.Index([row[0] for row in self._rows], name="name"),
            name="status",
        )

    def union_graph_def(self):
        """A ``GraphDef`` to draw: every op of ``b``, then the removed ops of ``a`` (their
        inputs written with union names, so an input that was renamed points at its new name).
        The function library is ``b``'s."""
        a, b = self._a, self._b
        source_b = b.graph._graph_def
        source_a = a.graph._graph_def
        if source_b is None or source_a is None:
            raise ValueError("union_graph_def needs two graphs read from GraphDefs")
        union = type(source_b)()
        union.versions.CopyFrom(source_b.versions)
        union.library.CopyFrom(source_b.library)
        union.node.extend(source_b.node)
        a2b = self._a2b
        for i, name in enumerate(a.names):
            if name in a2b:
                continue
            node = union.node.add()
            node.CopyFrom(a.protos[i])
            inputs = [_renamed_input(text, a2b) for text in node.input]
            del node.input[:]
            node.input.extend(inputs)
        return union

    def side_by_side(self, name: str) -> dict[str, Any]:
        """Both sides of one op of the union: ``{"a": {...}, "b": {...}, "changes": [...],
        "status": ..., "detail": ...}``; each side is ``{"name", "op", "inputs", "attrs",
        "device"}`` or ``None`` where the op is absent.

        Raises:
            TensorNotFoundError: ``name`` is not an op of either graph.
        """
        k = self._row_index.get(name)
        if k is None:
            from ..errors import TensorNotFoundError, suggest

            raise TensorNotFoundError(
                f"No op named {name!r} in either graph of this diff.",
                suggestions=suggest(name, list(self._row_index)),
            )
        _, status, name_a, name_b, _, _, changes, detail = self._rows[k]
        return {
            "status": status,
            "a": _node_dict(self._a, name_a),
            "b": _node_dict(self._b, name_b),
            "changes": list(changes),
            "detail": detail,
        }

    # -- text ------------------------------------------------------------------------------
    def summary(self) -> str:
        """One line: ``3 changed, 12 added, 0 removed, 1 scope renamed (bert -> encoder, ...)``."""
        counts = self.counts
        text = f"{counts['changed']} changed, {counts['added']} added, {counts['removed']} removed"
        scopes = [r for r in self._renames if r[2] > 1]
        single = sum(1 for r in self._renames if r[2] == 1)
        if scopes:
            shown = ", ".join(f"{old} -> {new}, {n} ops" for old, new, n in scopes[:2])
            more = f", +{len(scopes) - 2} more" if len(scopes) > 2 else ""
            word = "scope" if len(scopes) == 1 else "scopes"
            text += f", {len(scopes)} {word} renamed ({shown}{more})"
        if single:
            text += f", {single} {'op' if single == 1 else 'ops'} renamed"
        if counts["same"] and not (counts["changed"] or counts["added"] or counts["removed"]):
            text += f", {counts['same']} same"
        return text

    def __repr__(self) -> str:
        return f"GraphDiff: {self.summary()}"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(status)}</td><td>{self.counts[status]}</td></tr>"
            for status in STATUSES
        )
        renames = "".join(
            f"<li><code>{html.escape(old)}</code> &rarr; <code>{html.escape(new)}</code> "
            f"({n} ops)</li>"
            for old, new, n in self._renames[:10]
        )
        return (
            f"<div class='tfexplore-graphdiff'><strong>GraphDiff</strong>: "
            f"{html.escape(self.summary())}<table>{rows}</table>"
            + (f"<ul>{renames}</ul>" if renames else "")
            + "</div>"
        )


def _renamed_input(text: str, a2b: dict[str, str]) -> str:
    control = text.startswith("^")
    body = text[1:] if control else text
    op, sep, index = body.rpartition(":")
    if not (sep and index.isdigit()):
        op, sep, index = body, "", ""
    op = a2b.get(op, op)
    return ("^" if control else "") + op + (f":{index}" if sep else "")


def _node_dict(side: Side, name: str | None) -> dict[str, Any] | None:
    if name is None:
        return None
    i = side.index[name]
    return {
        "name": name,
        "op": side.ops[i],
        "inputs": [f"{op}:{k}" for op, k in side.inputs[i]] + ["^" + c for c in side.controls[i]],
        "attrs": side.graph.node_attrs(name),
        "device": side.devices[i],
    }
