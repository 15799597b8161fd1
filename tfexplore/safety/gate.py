"""Which ops of a graph would run, and whether each is known to be pure computation.

Inspection in tfexplore never runs an op. A live :func:`tfexplore.session` does, but only the
ops a call needs, and only after this module has looked at them: :func:`ops_to_run` follows a
fetch back through data and control inputs (and into every function the graph calls), and
:func:`check` classifies what it found against an allowlist (:mod:`tfexplore.safety.allowlist`):
an op that is not on it (a file, network or Python op, a blocking queue, a custom or unknown
op) needs ``trust=True``. A graph read from a file is data: a ``.meta`` file can wire a
``WriteFile`` into the control inputs of its own restore op, so that "restoring" it writes
wherever it likes.

Example::

    >>> from tfexplore import safety
    >>> report = safety.check(meta.graph_def, ["train/Adam"])          # doctest: +SKIP
    >>> report.ok, report.frame                                        # doctest: +SKIP
    >>> safety.check(hostile.graph_def, ["save/restore_all"])          # doctest: +SKIP
    UnsafeArtifactError: Running 'save/restore_all' would run 1 op(s) that are not on ...

Checkpoint reads and writes (``RestoreV2``, ``SaveV2``, ...) are accepted only as a Saver's own
save and restore: pass its ``saver_def`` and the filename tensor in ``feeds``; the file name must
be made from that tensor in one of the shapes TensorFlow's Savers build
(:mod:`tfexplore.safety.saver_io`), nothing else.

This module is kept whole (past 600 lines) because ``check`` (what a session refuses) and
``scan`` (what a file holds) must share one closure and one classification: split, they would
drift. The op lists live in :mod:`tfexplore.safety.allowlist`, the Saver proof in
:mod:`tfexplore.safety.saver_io`, folder walking in :mod:`tfexplore.artifacts.scan`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .._attrs import attr_function_names
from ..errors import UnsafeArtifactError
from . import allowlist as _op_allowlist
from . import saver_io as _saver_io
from .saver_io import CHECKPOINT_IO_OPS

__all__ = [
    "RISKY_OPS",
    "CHECKPOINT_IO_OPS",
    "Finding",
    "SafetyReport",
    "classify_op",
    "ops_to_run",
    "check",
]

FUNCTION_SEPARATOR = "::"
#: the "function" part of a name in :func:`ops_to_run` for an op named by a ``func`` attr that is
#: not a library function (``SymbolicGradient(f=WriteFile)``): the op type itself is checked.
FUNC_ATTR = "<func attr>"
#: prefix of the stand-in op type for a function name defined twice with different bodies
AMBIGUOUS_FUNCTION = "function defined twice: "

#: op type -> category, for every registry op that needs ``trust=True`` (the rest of the
#: registry is on the allowlist, :mod:`tfexplore.safety.allowlist`; unknown ops need trust too).
RISKY_OPS: dict[str, str] = dict(_op_allowlist.NEEDS_TRUST_OPS)


@dataclass(frozen=True)
class Finding:
    """One risky op: its type, the node, the function it sits in (``None``: the graph itself),
    the category (``"writes files"``, ...) and why."""

    op_type: str
    node: str
    function: str | None
    category: str
    reason: str

    @property
    def where(self) -> str:
        return self.node if self.function is None else f"{self.node} (in function {self.function})"


@dataclass
class SafetyReport:
    """What :func:`check` found. ``ok`` is true when nothing risky would run (or all of it was
    allowed); ``findings`` lists the risky ops; ``accepted`` the expected checkpoint I/O."""

    fetches: list[str]
    ops: set[str]
    findings: list[Finding] = field(default_factory=list)
    accepted: list[Finding] = field(default_factory=list)
    allowed: list[Finding] = field(default_factory=list)
    trusted: bool = False

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def frame(self):
        """The risky, accepted and allowed ops as a DataFrame (``verdict`` says which)."""
        import pandas as pd

        rows = [
            {
                "verdict": verdict,
                "op_type": f.op_type,
                "node": f.node,
                "function": f.function,
                "category": f.category,
                "reason": f.reason,
            }
            for verdict, group in (
                ("refused", self.findings),
                ("accepted", self.accepted),
                ("allowed", self.allowed),
            )
            for f in group
        ]
        columns = ["verdict", "op_type", "node", "function", "category", "reason"]
        return pd.DataFrame(rows, columns=columns)

    def describe(self) -> str:
        """One line per risky op type, with the nodes it sits in."""
        by_type: dict[str, list[Finding]] = {}
        for finding in self.findings:
            by_type.setdefault(finding.op_type, []).append(finding)
        lines = []
        for op_type, group in sorted(by_type.items()):
            nodes = ", ".join(repr(f.where) for f in group[:5])
            more = f" and {len(group) - 5} more" if len(group) > 5 else ""
            lines.append(f"  {op_type} ({group[0].category}): {nodes}{more}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        state = "ok" if self.ok else f"{len(self.findings)} op(s) not on the allowlist"
        text = f"<SafetyReport {state}: {len(self.ops)} ops would run for {self.fetches}>"
        return text + ("\n" + self.describe() if self.findings else "")


# -- classification --------------------------------------------------------------------------
def classify_op(node, registered: bool | None = None) -> tuple[str, str] | None:
    """``(category, reason)`` when a NodeDef's op is not on the allowlist of pure computation
    (:mod:`tfexplore.safety.allowlist`): it touches files, the network or Python, can block, or is
    unknown (custom, newer, made up); ``None`` when it is allowed.

    ``registered=True`` marks a call of a library function (its body is checked instead).
    """
    if registered:
        return None
    found = _op_allowlist.verdict(node.op, node)
    return None if found.allowed else (found.family, found.reason)


def _is_registered(op: str) -> bool:
    from .._tf import tf

    tf()
    from tensorflow.python.framework import op_def_registry

    return op_def_registry.get(op) is not None


# -- closure ---------------------------------------------------------------------------------
def _node_name(reference: str) -> str:
    """``'^a/b'``, ``'a/b:1'``, ``'a/b'`` -> ``'a/b'``."""
    return reference.lstrip("^").split(":")[0]


def _tensor_name(reference: str) -> str:
    """``'a/b'`` -> ``'a/b:0'``; ``'a/b:1'`` stays; a control input gives ``''``."""
    if reference.startswith("^"):
        return ""
    return reference if ":" in reference else reference + ":0"


def _called_functions(node, library_names) -> list[str]:
    """The names a node calls: its op when that is a library function, and every name in its
    attrs (:func:`attr_function_names`), library function or not."""
    called = [node.op] if node.op in library_names else []
    called.extend(name for name, _path in attr_function_names(node))
    return called


def _op_stand_in(op_type: str):
    """A NodeDef-like stand-in for an op type named by a ``func`` attr (no attrs, no inputs)."""
    import types

    return types.SimpleNamespace(name=op_type, op=op_type, attr={}, input=[], attrs_unknown=True)


def _function_attr_functions(function) -> list[str]:
    """Function names held by a FunctionDef's own attrs (conservatively followed)."""
    holder = type("_Attrs", (), {"attr": function.attr})
    return [name for name, _path in attr_function_names(holder)]


class _Program:
    """A GraphDef's nodes and library, indexed once."""

    def __init__(self, graph_def, library=None) -> None:
        library = graph_def.library if library is None else library
        self.graph_def = graph_def
        self.functions = {f.signature.name: f for f in library.function}
        self.gradients = {g.function_name: g.gradient_func for g in library.gradient}
        # functions grappler's implementation selector may swap for one another
        self.implementations: dict[str, list[str]] = {}
        for function in library.function:
            if "api_implements" in function.attr:
                key = function.attr["api_implements"].s
                self.implementations.setdefault(key, []).append(function.signature.name)
        self.nodes = {n.name: n for n in graph_def.node}
        self._bodies: dict[str, dict[str, Any]] = {}
        # a name given to two different FunctionDefs: which one TensorFlow keeps is not ours to
        # guess, so calling it needs trust
        self.ambiguous: set[str] = set()
        if len(self.functions) != len(library.function):
            seen: dict[str, bytes] = {}
            for function in library.function:
                body = function.SerializeToString(deterministic=True)
                if seen.setdefault(function.signature.name, body) != body:
                    self.ambiguous.add(function.signature.name)

    def body(self, function_name: str) -> dict[str, Any]:
        if function_name not in self._bodies:
            self._bodies[function_name] = {
                n.name: n for n in self.functions[function_name].node_def
            }
        return self._bodies[function_name]

    def closure(self, fetches, feeds) -> set[str]:
        """See :func:`ops_to_run`."""
        functions = self.functions
        fed = {_tensor_name(f) for f in _as_list(feeds)}
        reached: set[str] = set()
        called: set[str] = set()
        symbolic_gradient = False
        stack = [_node_name(f) for f in _as_list(fetches)]
        while stack:
            name = stack.pop()
            if name in reached or name not in self.nodes:
                continue
            reached.add(name)
            node = self.nodes[name]
            symbolic_gradient |= node.op == "SymbolicGradient"
            called.update(_called_functions(node, functions))
            for reference in node.input:
                if reference.startswith("^") or _tensor_name(reference) not in fed:
                    stack.append(_node_name(reference))
        # functions: callees of callees, the gradient functions registered for any of them,
        # and (when a SymbolicGradient runs) every gradient function of the library
        seen: set[str] = set()
        pending = list(called)
        if symbolic_gradient:
            pending.extend(self.gradients.values())
        while pending:
            name = pending.pop()
            if name in seen:
                continue
            seen.add(name)
            if name in self.gradients:
                pending.append(self.gradients[name])
            if name not in functions:
                continue
            function = functions[name]
            if "api_implements" in function.attr:
                pending.extend(self.implementations[function.attr["api_implements"].s])
            pending.extend(_function_attr_functions(function))
            for node in function.node_def:
                if node.op == "SymbolicGradient" and not symbolic_gradient:
                    symbolic_gradient = True
                    pending.extend(self.gradients.values())
                pending.extend(_called_functions(node, functions))
        for name in seen:
            if name in self.ambiguous:
                reached.add(f"{FUNC_ATTR}{FUNCTION_SEPARATOR}{AMBIGUOUS_FUNCTION}{name}")
            if name in functions:
                reached.update(
                    f"{name}{FUNCTION_SEPARATOR}{n.name}" for n in functions[name].node_def
                )
            else:  # an op type named by a func attr: checked as that op
                reached.add(f"{FUNC_ATTR}{FUNCTION_SEPARATOR}{name}")
        return reached

    def locate(self, name: str) -> tuple[str | None, Any]:
        """A name from :meth:`closure` -> ``(function name or None, NodeDef or None)``."""
        if FUNCTION_SEPARATOR not in name:
            return None, self.nodes.get(name)
        function_name, node_name = name.split(FUNCTION_SEPARATOR, 1)
        if function_name == FUNC_ATTR:
            return function_name, _op_stand_in(node_name)
        return function_name, self.body(function_name).get(node_name)


def _as_list(fetches) -> list[str]:
    if isinstance(fetches, (str, bytes)):
        return [fetches.decode() if isinstance(fetches, bytes) else fetches]
    return [getattr(f, "name", f) for f in fetches]


def ops_to_run(graph_def, fetches, library=None, *, feeds: Iterable[str] = ()) -> set[str]:
    """The names of every node that running ``fetches`` may run.

    The closure follows data and control inputs; a data input that is fed (``"x:0"`` in
    ``feeds``) is not followed. Functions are included whole, their nodes named
    ``"function::node"``: those a node calls (its op, any ``func`` attr, lists of them and
    functions named inside a ``NameAttrList``'s own attrs, at any depth), their callees, the
    gradient functions the library registers for any of them, every gradient function when
    a ``SymbolicGradient`` runs, the functions sharing an ``api_implements`` attr with a reached
    one (grappler may swap them) and functions named in a reached function's own attrs. A
    ``func`` attr naming something that is not a library function is an op type TensorFlow may
    run: it appears as ``"<func attr>::OpType"``.

    Example::

        >>> ops_to_run(graph_def, ["loss:0"], feeds=["inputs/x:0", "inputs/y:0"])  # doctest: +SKIP
        {'loss', 'prediction', 'layer1/W', ...}
    """
    return _Program(graph_def, library).closure(fetches, feeds)


# -- check -----------------------------------------------------------------------------------
def check(
    graph_def,
    fetches,
    *,
    feeds: Iterable[str] = (),
    allow: Iterable[str] = (),
    trust: bool = False,
    saver_def=None,
    assets: Iterable[str] = (),
    library=None,
    path: str | os.PathLike | None = None,
) -> SafetyReport:
    """Classify every op that running ``fetches`` would run; raise if any is not allowed.

    ``assets`` names the asset tensors of a SavedModel that the caller feeds with paths it
    checked inside the model's ``assets/``: a table filled from exactly such a tensor
    (``InitializeTableFromTextFileV2``) is accepted too.

    Allowed are the ops of :mod:`tfexplore.safety.allowlist` (pure computation) and, with
    ``saver_def``, the Saver's own checkpoint I/O: a ``SaveV2``/``RestoreV2``/... whose file
    name is proven by structure (:mod:`tfexplore.safety.saver_io`) to be made only from the
    SaverDef's ``filename_tensor_name``, which must be in ``feeds`` (tfexplore feeds it).
    ``allow`` names op types (``"TFRecordDatasetV2"``) or categories (``"reads files"``) to
    accept as well.
    ``trust=True`` returns the report without raising.

    Example::

        >>> report = check(meta.graph_def, ["save/restore_all"], saver_def=meta.saver_def,
        ...                feeds=["save/Const:0"])                     # doctest: +SKIP
        >>> report.ok                                                  # doctest: +SKIP
        True

    Raises:
        UnsafeArtifactError: listing each refused op type with its nodes (and functions).
    """
    fetch_list = _as_list(fetches)
    feed_list = _as_list(feeds)
    program = _Program(graph_def, library)
    ops = program.closure(fetch_list, feed_list)
    report = SafetyReport(fetches=fetch_list, ops=ops, trusted=trust)
    allowed = set(allow)
    fed = {_tensor_name(f) for f in feed_list}
    saver_io = _SaverIO(program, saver_def, fed, fetch_list)
    fed_assets = {_tensor_name(a) for a in _as_list(assets)} & fed
    for name in sorted(ops):
        function_name, node = program.locate(name)
        if node is None:
            continue
        called = function_name != FUNC_ATTR and node.op in program.functions
        found = classify_op(node, registered=called)
        if found is None or (
            function_name != FUNC_ATTR
            and _in_memory_cache(
                node, program.nodes if function_name is None else program.body(function_name)
            )
        ):
            continue
        category, reason = found
        finding = Finding(node.op, node.name, function_name, category, reason)
        if node.op in allowed or category in allowed:
            report.allowed.append(finding)
        elif saver_io.accepts(node, function_name) or (
            function_name is None and _saver_io.reads_asset(node, program.nodes, fed_assets)
        ):
            report.accepted.append(finding)
        else:
            report.findings.append(finding)
    if report.findings and not trust:
        error = _unsafe_error(report, path)
        error.report = report
        raise error
    return report


class _SaverIO:
    """Whether a checkpoint op is the Saver's own I/O with the file name tfexplore feeds."""

    def __init__(self, program: _Program, saver_def, fed: set[str], fetches: list[str]) -> None:
        self.program = program
        self.filename = None
        self.ops: frozenset[str] = frozenset()
        if saver_def is not None and saver_def.filename_tensor_name:
            name = _tensor_name(saver_def.filename_tensor_name)
            self.filename = name if name in fed else None
            fetched = {_node_name(f) for f in fetches}
            if fetched == {_node_name(saver_def.restore_op_name)}:
                self.ops = _saver_io.READ_OPS  # a restore only reads
            elif fetched == {_node_name(saver_def.save_tensor_name)}:
                self.ops = _saver_io.WRITE_OPS  # a save only writes
        self._references = None

    def accepts(self, node, function_name) -> bool:
        if self.filename is None or node.op not in self.ops:
            return False
        program = self.program
        if function_name is None:
            roots = _saver_io.filename_roots(node, _saver_io.Body(program.nodes))
            return roots == {self.filename}
        if function_name == FUNC_ATTR or function_name in program.ambiguous:
            return False
        if self._references is None:
            self._references = _saver_io.function_references(program.graph_def)
        bound = _saver_io.function_io_roots(
            node, program.functions[function_name], self._references.get(function_name, [])
        )
        if bound is None:
            return False
        roots, _callers = bound
        return {_saver_io.main_root(r, program.nodes) for r in roots} == {self.filename}


def _unsafe_error(report: SafetyReport, path) -> UnsafeArtifactError:
    types = sorted({f.op_type for f in report.findings})
    fetches = ", ".join(repr(f) for f in report.fetches[:4])
    return UnsafeArtifactError(
        f"Running {fetches} would run {len(report.findings)} op(s) that are not on tfexplore's "
        f"list of pure computation ({', '.join(types)}):\n" + report.describe(),
        path=path,
        expected="a graph whose ops only compute (checkpoint I/O only through the Saver's own "
        "filename tensor, fed by tfexplore)",
        hint="inspect the graph with tfexplore.scan(path) first; if you trust the file, pass "
        "trust=True to tfexplore.session (safety.check takes allow=[op types] for the ones "
        "you expect)",
    )


def _in_memory_cache(node, body_nodes) -> bool:
    """A ``CacheDataset`` whose file name is the constant ``""``: it caches in memory."""
    if node.op not in ("CacheDataset", "CacheDatasetV2") or len(node.input) < 2:
        return False
    source = body_nodes.get(_node_name(node.input[1]))
    if source is None or source.op != "Const" or "value" not in source.attr:
        return False
    values = list(source.attr["value"].tensor.string_val)
    return values == [b""]
