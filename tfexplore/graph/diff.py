"""Two graphs compared op by op: what was added, removed, changed or renamed.

:func:`diff` takes two :class:`~tfexplore.graph.Graph` objects (or two ``GraphDef`` protos) and
returns a :class:`GraphDiff`. It reads the protos only: nothing is imported into TensorFlow.

Ops are paired by name, then the ones left by structure and by scope rewrites
(:mod:`.matching`), so a renamed scope is one rename, not a thousand adds and removes.

Paired ops are compared field by field: ``op``, ``inputs`` (read through the renames, so the
consumers of a renamed scope are not changed), ``attr:<key>``, ``device`` and ``shape`` (the
``_output_shapes`` attribute, and the ``shape`` attribute of placeholders and variables).
``_output_shapes`` is an annotation ``export_meta_graph`` adds: on one side only (a ``.meta``
against a ``.pbtxt`` of the same graph) it is no change; on both and different it is. An op
renamed *and* changed is ``changed`` (its detail starts ``renamed from <old name>``).
``_class`` colocation names are read through the renames too, and a renamed op's
``shared_name`` / ``debug_name`` (a resource variable's own name) through its rename. Large
tensors of ``Const`` ops are compared as bytes, never decoded.

When both graphs have a function library (a TF2 export, ``While``/``If`` in graph mode), the
functions that paired ops call are paired too (by where the two ops reach them: the op type,
the same ``func`` attribute) and their bodies compared, depth first. Function names do not
count (a TF2 export numbers each ``__inference_call_<n>`` anew); bodies and signatures do: a
call whose function's body changed is ``changed`` with ``function`` among its changes, and
:attr:`GraphDiff.functions` / :attr:`GraphDiff.function_changes` say what changed inside.

It stays one module: comparing two ops, the :class:`GraphDiff` built from those comparisons and
the function pairs call each other (a pair's bodies are diffed by :func:`_diff`, whose rows ask
the pairs whether a call's function changed); the pairing of ops is :mod:`.matching`.

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
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from .._attrs import attr_function_names
from .matching import Matcher, Side, rewrite_of
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
#: Calls nested deeper than this are not followed (real graphs nest a few; a crafted library
#: could chain thousands, and each level is a level of recursion here).
MAX_FUNCTION_DEPTH = 64

_SHAPE_OPS = _SHAPE_ATTR_OPS | VARIABLE_OPS
_NAME_ATTRS = frozenset({"_class"})  # attributes that hold op names (read through renames)
#: attributes that hold the op's own name (a resource variable's ``shared_name``): read through
#: the op's rename, so a renamed scope of resource variables is renamed, not changed
_OWN_NAME_ATTRS = frozenset({"shared_name", "debug_name"})


def diff(a: Graph | Any, b: Graph | Any) -> GraphDiff:
    """Compare graph ``a`` (before) with graph ``b`` (after).

    Args:
        a, b: :class:`~tfexplore.graph.Graph` objects or ``GraphDef`` protos.

    Returns:
        a :class:`GraphDiff`: one row per op of the union of both graphs.
    """
    graph_a, graph_b = _as_graph(a), _as_graph(b)
    functions = None
    if graph_a._library and graph_b._library:  # a TF2 graph: what its calls run is elsewhere
        functions = _Functions(graph_a, graph_b)
    result = _diff(graph_a, graph_b, functions)
    result._function_pairs = functions
    return result


def _diff(graph_a: Graph, graph_b: Graph, functions: _Functions | None) -> GraphDiff:
    """Pair and compare two graphs; with ``functions``, the bodies their paired ops call are
    paired and compared first (depth first), so each call knows whether what it runs changed."""
    side_a, side_b = Side(graph_a), Side(graph_b)
    matcher = Matcher(side_a, side_b)
    matcher.run()
    if functions is not None:
        functions.follow(side_a, side_b, matcher.a2b)
    return GraphDiff(
        side_a, side_b, matcher.a2b, matcher.renames(), matcher.by_structure, functions
    )


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
    a: Side,
    i: int,
    b: Side,
    j: int,
    a2b: dict[str, str],
    structural: bool = False,
    functions: _Functions | None = None,
) -> tuple[tuple, str]:
    """``(changes, detail)`` of paired ops ``a[i]`` and ``b[j]``. ``structural``: paired by
    structure, so all but ``_class`` is known to be the same. ``functions``: the functions
    the two ops call are compared by body (``function``), not by name (a TF2 export names
    each ``__inference_call_<uid>``, a new uid each time)."""
    changes, detail = _compare_fields(a, i, b, j, a2b, structural, functions)
    if functions is not None:
        called, called_detail = functions.call_changes(b, j)
        if called:
            changes += called
            detail = "; ".join(part for part in (detail, called_detail) if part)
    return changes, detail


def _compare_fields(a, i, b, j, a2b, structural, functions) -> tuple[tuple, str]:
    proto_a, proto_b = a.protos[i], b.protos[j]
    if proto_a is not None and proto_b is not None:
        if structural:
            return _compare_class(proto_a, proto_b, a2b)
        if proto_a == proto_b:
            return (), ""
    changes: list[str] = []
    details: list[str] = []
    if a.ops[i] != b.ops[j] and not (functions and functions.paired(a.ops[i], b.ops[j])):
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
        elif key in _OWN_NAME_ATTRS and a.names[i] != b.names[j] and value_a != value_b:
            text_b = _text(value_b)  # the name as TensorFlow writes it after the rename
            same = text_b is not None and _renamed_text(value_a, a.names[i], b.names[j]) == text_b
        else:
            same = value_a == value_b or (
                functions is not None and functions.same_but_names(value_a, value_b)
            )
        if same:
            continue
        if key == "_output_shapes" and (value_a is None or value_b is None):
            continue  # an annotation export_meta_graph adds: on one side only, no change
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


def _text(value) -> str | None:
    if value is None or value.WhichOneof("value") != "s":
        return None
    return value.s.decode("utf-8", "replace")


def _renamed_text(value, old: str, new: str) -> str | None:
    """A string attribute of op ``old`` (renamed ``new``) as it reads after the rename: the
    renamed scope rewritten where the text starts with it (``policy/conv/kernel`` ->
    ``pi/conv/kernel``, ``policy/conv/kernel/`` -> ``pi/conv/kernel/``)."""
    text = _text(value)
    if text is None:
        return None
    old_scope, new_scope = rewrite_of(old, new)
    if text == old_scope or text.startswith(old_scope + "/"):
        return new_scope + text[len(old_scope) :]
    return text


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
            ops), ``status`` (``same``, ``added``, ``removed``, ``changed``, ``renamed``: renamed
            and nothing else; an op renamed and changed is ``changed``, ``name_a`` its old name),
            ``name_a``, ``name_b`` (``None`` where absent), ``op_a``, ``op_b``, ``changes``
            (a tuple of ``op``, ``inputs``, ``attr:<key>``, ``device``, ``shape``,
            ``function``: a function it calls has another body) and ``detail`` (short text).
        changes: ``frame`` without the ``same`` rows.
        renames: the scope renames found: ``old_scope``, ``new_scope``, ``ops``.
        status: a Series, union name -> status.
        counts: ``{status: number of ops}``.
        functions: the library functions paired calls reach, paired and compared by body.
        function_changes: the ``changes`` inside every changed function, in one table.

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
        functions: _Functions | None = None,
    ) -> None:
        self._a, self._b = a, b
        self._a2b = a2b
        self._renames = renames
        self._by_structure = by_structure
        self._functions = functions
        #: the function pairs this diff followed (set on the diff of the two whole graphs)
        self._function_pairs: _Functions | None = None
        self._rows = self._build_rows()
        self.counts: dict[str, int] = {s: 0 for s in STATUSES}
        self.counts.update(Counter(row[1] for row in self._rows))
        self._row_index = {row[0]: k for k, row in enumerate(self._rows)}

    def _build_rows(self) -> list[tuple]:
        a, b, a2b, by_structure = self._a, self._b, self._a2b, self._by_structure
        functions = self._functions
        b2a = {new: old for old, new in a2b.items()}
        rows = []
        with gc_paused():
            for j, name in enumerate(b.names):
                old = b2a.get(name)
                if old is None:
                    rows.append((name, "added", None, name, None, b.ops[j], (), ""))
                    continue
                i = a.index[old]
                changes, detail = _compare(a, i, b, j, a2b, name in by_structure, functions)
                # renamed and changed is "changed" (counted, coloured, summarized as a change);
                # its detail still says where it came from and name_a holds the old name
                status = "changed" if changes else "renamed" if old != name else "same"
                if old != name:
                    detail = f"renamed from {old}" + (f"; {detail}" if detail else "")
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

    # -- functions ---------------------------------------------------------------------------
    @functools.cached_property
    def functions(self) -> pd.DataFrame:
        """The library functions the two graphs' paired ops call, paired and compared by body:
        ``function_a``, ``function_b``, ``status`` (``same`` or ``changed``), the body's op
        counts ``changed``, ``added``, ``removed``, ``renamed``, and ``detail``. Empty when
        a graph has no function library (most TF1 graphs). A TF2 export names each function
        with a new number (``__inference_call_31`` -> ``__inference_call_136``): same body,
        same function."""
        import pandas as pd

        columns = ["function_a", "function_b", "status", *STATUSES[:4], "detail"]
        pairs = self._function_pairs
        rows = []
        for name_a, name_b in pairs.pairs.items() if pairs is not None else ():
            counts = pairs.diffs[name_a].counts
            rows.append(
                {
                    "function_a": name_a,
                    "function_b": name_b,
                    "status": "same" if pairs.same(name_a, name_b) else "changed",
                    **{s: counts[s] for s in STATUSES[:4]},
                    "detail": pairs.detail(name_a),
                }
            )
        return pd.DataFrame(rows, columns=columns)

    def function_diff(self, name: str) -> GraphDiff:
        """The diff of one function's bodies, by its name in either graph (see
        :attr:`functions`).

        Raises:
            TensorNotFoundError: no followed function has that name.
        """
        pairs = self._function_pairs
        found = pairs.diff_of(name) if pairs is not None else None
        if found is None:
            from ..errors import TensorNotFoundError, suggest

            known = [*pairs.pairs, *pairs.pairs.values()] if pairs is not None else []
            raise TensorNotFoundError(
                f"No function named {name!r} among the functions this diff followed.",
                suggestions=suggest(name, known),
                expected="a name from diff.functions (function_a or function_b)",
            )
        return found

    @functools.cached_property
    def function_changes(self) -> pd.DataFrame:
        """The :attr:`changes` inside every changed function, one table: the columns of
        :attr:`changes` after ``function_a`` and ``function_b``."""
        import pandas as pd

        columns = ["function_a", "function_b", *FRAME_COLUMNS]
        pairs = self._function_pairs
        parts = []
        for name_a, name_b in pairs.pairs.items() if pairs is not None else ():
            changes = pairs.diffs[name_a].changes
            if len(changes):
                parts.append(changes.assign(function_a=name_a, function_b=name_b)[columns])
        if not parts:
            return pd.DataFrame(columns=columns)
        return pd.concat(parts, ignore_index=True)

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
        "device"}`` or ``None`` where the op is absent. ``name``: a union name (``b``'s, or a
        removed op's), or a renamed op's old name in ``a``.

        Raises:
            TensorNotFoundError: ``name`` is not an op of either graph.
        """
        from ..errors import TensorNotFoundError, suggest

        if not isinstance(name, str):
            raise TensorNotFoundError(
                f"side_by_side takes an op name (a str); got {type(name).__name__} {name!r}.",
                expected="an op name of either graph, e.g. a name from diff.changes",
            )
        k = self._row_index.get(name)
        if k is None and name in self._a2b:  # a renamed op, by its name in a
            k = self._row_index.get(self._a2b[name])
        if k is None:
            raise TensorNotFoundError(
                f"No op named {name!r} in either graph of this diff.",
                suggestions=suggest(name, list(dict.fromkeys([*self._row_index, *self._a2b]))),
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
        pairs = self._function_pairs
        if pairs is not None and pairs.pairs:
            changed = sum(1 for fa, fb in pairs.pairs.items() if not pairs.same(fa, fb))
            text += f"; functions: {changed} of {len(pairs.pairs)} changed"
            if pairs.too_deep:
                text += f" (calls nested over {MAX_FUNCTION_DEPTH} deep not followed)"
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


# ---------------------------------------------------------------------------------------------
# Functions: what paired ops call, paired and compared by body
# ---------------------------------------------------------------------------------------------
class _Functions:
    """The library functions two graphs' paired ops call (an op whose type is a function, a
    ``func`` attribute, a list of them), paired where the two ops reach them (same attribute
    path) and their bodies compared, depth first: a call knows whether what it runs changed
    before its own row is written. Names do not count (a TF2 export numbers each function
    anew); bodies and signatures do."""

    def __init__(self, graph_a: Graph, graph_b: Graph) -> None:
        self.library_a, self.library_b = graph_a._library, graph_b._library
        self.graphs_a, self.graphs_b = graph_a.functions, graph_b.functions
        self.pairs: dict[str, str] = {}  # a name -> b name
        self.diffs: dict[str, GraphDiff] = {}  # a name -> the diff of the two bodies
        self._b2a: dict[str, str] = {}
        self._calls: dict[tuple[int, int], list[tuple[str, str]]] = {}  # (id(b side), j)
        self._busy: set[str] = set()  # the chain of calls being compared now
        self._same: dict[str, bool] = {}
        #: functions not followed: reached through more than MAX_FUNCTION_DEPTH nested calls
        self.too_deep: set[str] = set()

    # -- pairing -----------------------------------------------------------------------------
    def follow(self, a: Side, b: Side, a2b: dict[str, str]) -> None:
        """Pair the functions each paired op reaches on both sides, and compare them."""
        library_a, library_b = self.library_a, self.library_b
        for name_a, name_b in a2b.items():
            i, j = a.index[name_a], b.index[name_b]
            calls = []
            if a.ops[i] in library_a and b.ops[j] in library_b:
                calls.append((a.ops[i], b.ops[j]))
            proto_a, proto_b = a.protos[i], b.protos[j]
            if proto_a is not None and proto_b is not None:
                by_path = {path: name for name, path in attr_function_names(proto_b)}
                for name, path in attr_function_names(proto_a):
                    if path in by_path and name in library_a and by_path[path] in library_b:
                        calls.append((name, by_path[path]))
            if calls:
                self._calls[id(b), j] = calls
                for fa, fb in calls:
                    self._pair(fa, fb)

    def _pair(self, name_a: str, name_b: str) -> None:
        if name_a in self.pairs or name_b in self._b2a:
            return
        if len(self._busy) >= MAX_FUNCTION_DEPTH:  # a crafted chain: compared by name below
            self.too_deep.add(name_a)
            return
        self.pairs[name_a], self._b2a[name_b] = name_b, name_a
        self._busy.add(name_a)  # a recursive function: its own calls count as the same
        try:
            self.diffs[name_a] = _diff(self.graphs_a[name_a], self.graphs_b[name_b], self)
        finally:
            self._busy.discard(name_a)

    # -- questions ---------------------------------------------------------------------------
    def paired(self, name_a: str, name_b: str) -> bool:
        return self.pairs.get(name_a) == name_b

    def same(self, name_a: str, name_b: str) -> bool:
        """The two functions are paired and have the same body and signature."""
        if not self.paired(name_a, name_b):
            return False
        if name_a in self._busy:
            return True
        if name_a not in self._same:
            counts = self.diffs[name_a].counts
            self._same[name_a] = not any(counts[s] for s in STATUSES[:4]) and _same_signature(
                self.library_a[name_a], self.library_b[name_b]
            )
        return self._same[name_a]

    def detail(self, name_a: str) -> str:
        name_b = self.pairs[name_a]
        if self.same(name_a, name_b):
            return ""
        parts = [self.diffs[name_a].summary()]
        if not _same_signature(self.library_a[name_a], self.library_b[name_b]):
            parts.append("signature changed")
        return "; ".join(parts)

    def call_changes(self, b: Side, j: int) -> tuple[tuple, str]:
        """``(("function",), "calls f (was g): 1 changed, ...")`` when a function op ``b[j]``
        calls has another body than its partner's; ``((), "")`` when all are the same."""
        details = []
        for name_a, name_b in self._calls.get((id(b), j), ()):
            if not self.same(name_a, name_b):
                was = f" (was {name_a})" if name_a != name_b else ""
                why = (
                    self.detail(name_a)
                    if self.paired(name_a, name_b)
                    else f"not compared (nested over {MAX_FUNCTION_DEPTH} calls deep)"
                )
                details.append(f"calls {name_b}{was}: {why}")
        return (("function",), "; ".join(details)) if details else ((), "")

    def same_but_names(self, value_a, value_b) -> bool:
        """Two attribute values that differ only in the names of paired functions."""
        names_a = [name for name, _ in _function_values(value_a)]
        names_b = [name for name, _ in _function_values(value_b)]
        if not names_a or len(names_a) != len(names_b):
            return False
        if not all(self.paired(x, y) for x, y in zip(names_a, names_b)):
            return False
        return _without_function_names(value_a) == _without_function_names(value_b)

    def diff_of(self, name: str) -> GraphDiff | None:
        name_a = name if name in self.pairs else self._b2a.get(name)
        return self.diffs.get(name_a) if name_a is not None else None


def _function_values(value) -> list[tuple[str, str]]:
    """The function names one attribute value holds (as :func:`attr_function_names`)."""
    if value is None:
        return []
    return attr_function_names(SimpleNamespace(attr={"": value}))


def _without_function_names(value):
    """A copy of an attribute value with every function name blanked."""
    copy = type(value)()
    copy.CopyFrom(value)
    stack = [copy]
    while stack:
        item = stack.pop()
        if item.HasField("func"):
            item.func.name = ""
            stack.extend(item.func.attr.values())
        elif item.HasField("list"):
            for func in item.list.func:
                func.name = ""
                stack.extend(func.attr.values())
    return copy


def _same_signature(function_a, function_b) -> bool:
    """Same arguments and results (names, types, shapes), whatever the functions' names."""
    sig_a, sig_b = function_a.signature, function_b.signature
    return (
        list(sig_a.input_arg) == list(sig_b.input_arg)
        and list(sig_a.output_arg) == list(sig_b.output_arg)
        and _arg_attrs(function_a) == _arg_attrs(function_b)
    )


def _arg_attrs(function) -> dict[int, dict]:
    """Each argument's attributes but ``_user_specified_name`` (a captured variable's is a
    number TensorFlow counts up: ``"25"`` in one export, ``"130"`` in the next)."""
    return {
        index: {k: v for k, v in attrs.attr.items() if k != "_user_specified_name"}
        for index, attrs in function.arg_attr.items()
    }


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
