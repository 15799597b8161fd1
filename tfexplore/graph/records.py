"""The records a :class:`~tfexplore.graph.Graph` hands out: :class:`TensorInfo` (one
tensor), :class:`Node` (one op, readable), :class:`Consumer` (one use of a tensor) and
:class:`Scope` (the name-scope tree, built in one pass by :func:`build_scope_tree`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .protos import ShapeT, gc_paused

__all__ = ["Consumer", "TensorInfo", "Node", "Scope", "build_scope_tree"]


# ---------------------------------------------------------------------------------------------
# Public records
# ---------------------------------------------------------------------------------------------
class Consumer(NamedTuple):
    """One use of a tensor: the consuming op and which of its data inputs it is."""

    op: str
    input_index: int


@dataclass
class TensorInfo:
    """One tensor of a graph, the output ``output_index`` of the op ``op``.

    ``dtype`` is a numpy-style name (``float32``, ``resource``, ``float32_ref``) or ``None``
    when the op is unknown to this TensorFlow and to the file; ``shape`` is a tuple with
    ``None`` for unknown dimensions, or ``None`` when not recorded.

    Variables get extra explanation: a ``resource`` tensor made by ``VarHandleOp`` is a
    *handle* (``is_resource_handle``), its value is read by ``ReadVariableOp`` ops listed in
    ``value_tensors``; a ``*_ref`` tensor of ``VariableV2`` *is* the variable
    (``is_reference``). ``note`` says it in prose.
    """

    name: str
    op: str
    op_type: str
    output_index: int
    dtype: str | None
    shape: ShapeT
    consumers: list[Consumer] = field(default_factory=list)
    is_resource_handle: bool = False
    is_reference: bool = False
    variable: str | None = None
    value_tensors: list[str] = field(default_factory=list)
    note: str = ""

    def __str__(self) -> str:
        rows = [
            ("dtype", self.dtype or "unknown"),
            ("shape", "unknown" if self.shape is None else _shape_text(self.shape)),
            ("consumers", _list_text([c.op for c in self.consumers])),
        ]
        if self.value_tensors:
            rows.append(("value from", _list_text(self.value_tensors)))
        if self.note:
            rows.append(("note", self.note))
        head = f"Tensor {self.name!r}: output {self.output_index} of {self.op_type} {self.op!r}"
        return "\n".join([head] + [f"  {k:<10} {v}" for k, v in rows])

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython shows the readable text
        printer.text(str(self))


@dataclass
class Node:
    """One op (``NodeDef``) of a graph, with readable attributes.

    ``inputs`` are tensor names (``x:0``), ``control_inputs`` op names; ``consumers`` are the
    ops that use any output of this one (data or control); ``collections`` the MetaGraph
    collections it belongs to; ``function`` the library function it calls (``f`` attribute of
    ``PartitionedCall``, or the op itself when its type is a library function) and
    ``functions`` every function-valued attribute (``then_branch``, ``body`` ...).
    """

    name: str
    op: str
    device: str
    scope: str
    attrs: dict[str, Any]
    inputs: list[str]
    control_inputs: list[str]
    outputs: list[TensorInfo]
    consumers: list[str]
    collections: list[str] = field(default_factory=list)
    function: str | None = None
    functions: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        rows = [
            ("device", self.device or "(none)"),
            ("inputs", _list_text(self.inputs)),
            ("control", _list_text(self.control_inputs)),
            (
                "outputs",
                _list_text(
                    [f"{t.name} {t.dtype or '?'} {_shape_text(t.shape)}" for t in self.outputs]
                ),
            ),
            ("consumers", _list_text(self.consumers)),
        ]
        if self.collections:
            rows.append(("collections", ", ".join(self.collections)))
        if self.function:
            rows.append(("calls", self.function))
        attrs = ", ".join(f"{k}={v}" for k, v in self.attrs.items() if not k.startswith("_"))
        if attrs:
            rows.append(("attrs", attrs if len(attrs) < 200 else attrs[:197] + "..."))
        head = f"Op {self.name!r} ({self.op})"
        return "\n".join([head] + [f"  {k:<11} {v}" for k, v in rows])

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython shows the readable text
        printer.text(str(self))


def _shape_text(shape) -> str:
    if shape is None:
        return "?"
    return (
        "("
        + ", ".join("?" if d is None else str(d) for d in shape)
        + ("," if len(shape) == 1 else "")
        + ")"
    )


def _list_text(items: Sequence[str], limit: int = 6) -> str:
    items = list(items)
    if not items:
        return "(none)"
    text = ", ".join(items[:limit])
    return text + (f" ... ({len(items)} in all)" if len(items) > limit else "")


class Scope:
    """A name scope: ``layer1`` holds every op named ``layer1/...``.

    ``ops`` are the ops directly inside (full names), ``children`` the sub-scopes by their
    short name, ``op_count`` and ``op_types`` count every op below, descendants included.
    ``node`` is set when an op has the scope's own name (``layer1`` next to ``layer1/W``);
    ``parent`` is the enclosing scope (``None`` for the root).

    Example::

        >>> graph.scope("layer1").op_count                    # doctest: +SKIP
        12
        >>> graph.scopes.children["layer1"].op_types          # doctest: +SKIP
        Counter({'Const': 4, 'Identity': 2, ...})
    """

    __slots__ = (
        "name",
        "parent",
        "children",
        "ops",
        "op_count",
        "node",
        "_direct_types",
        "_op_types",
    )

    def __init__(self, name: str, parent: Scope | None = None) -> None:
        self.name = name
        self.parent = parent
        self.children: dict[str, Scope] = {}
        self.ops: list[str] = []
        self.op_count = 0
        self.node: str | None = None
        self._direct_types: tuple[Sequence[str], list[int]] = ((), [])  # (all op types, members)
        self._op_types: Counter | None = None

    @property
    def op_types(self) -> Counter:
        """How many ops of each type this scope holds, descendants included."""
        if self._op_types is None:
            counts = self.direct_op_types
            for child in self.children.values():
                counts.update(child.op_types)
            self._op_types = counts
        return self._op_types

    @property
    def direct_op_types(self) -> Counter:
        """Op types of the ops directly in this scope (not in sub-scopes)."""
        types, members = self._direct_types
        return Counter([types[i] for i in members])

    @property
    def short_name(self) -> str:
        """The last component of the name (``'dense'`` for ``'layer1/dense'``)."""
        return self.name.rpartition("/")[2]

    @property
    def depth(self) -> int:
        """0 for the root, 1 for ``layer1``, 2 for ``layer1/dense``."""
        return self.name.count("/") + 1 if self.name else 0

    def walk(self) -> Iterator[Scope]:
        """This scope and every scope below it, parents before children."""
        stack = [self]
        while stack:
            scope = stack.pop()
            yield scope
            stack.extend(reversed(list(scope.children.values())))

    def __repr__(self) -> str:
        name = self.name or "(root)"
        return (
            f"Scope({name!r}, op_count={self.op_count}, direct_ops={len(self.ops)}, "
            f"children={len(self.children)})"
        )


def build_scope_tree(names: Sequence[str], ops: Sequence[str], index: Mapping[str, int]) -> Scope:
    """Group ops by scope in one pass, then make the scopes and add up their counts."""
    groups: dict[str, list[int]] = {}
    with gc_paused():
        for i, name in enumerate(names):
            path = name.rpartition("/")[0]
            members = groups.get(path)
            if members is None:
                groups[path] = [i]
            else:
                members.append(i)
    root = Scope("")
    by_path: dict[str, Scope] = {"": root}  # parents are inserted before their children
    with gc_paused():
        for path, members in groups.items():
            scope = by_path.get(path) or _make_scope(path, by_path)
            scope.ops = [names[i] for i in members]
            scope._direct_types = (ops, members)
            scope.op_count = len(members)
    for scope in reversed(list(by_path.values())):  # children before parents
        if scope.parent is not None:
            scope.parent.op_count += scope.op_count
    for path in by_path.keys() & index.keys():
        by_path[path].node = path
    return root


def _make_scope(path: str, by_path: dict[str, Scope]) -> Scope:
    """Create the scope ``path`` and any missing ancestor."""
    missing = []
    while path not in by_path:
        missing.append(path)
        path = path.rpartition("/")[0]
    parent = by_path[path]
    for path in reversed(missing):
        scope = Scope(path, parent)
        parent.children[path.rpartition("/")[2]] = scope
        by_path[path] = parent = scope
    return parent
