"""Which ops of a graph would touch files, the network or Python, before any of them runs.

Inspection in tfexplore never runs an op. A live :func:`tfexplore.session` does, but only the
ops a call needs, and only after this module has looked at them: :func:`ops_to_run` follows a
fetch back through data and control inputs (and into every function the graph calls), and
:func:`check` classifies what it found. A graph read from a file is data: a ``.meta`` file can
wire a ``WriteFile`` into the control inputs of its own restore op, so that "restoring" it
writes wherever it likes.

Example::

    >>> from tfexplore import safety
    >>> report = safety.check(meta.graph_def, ["train/Adam"])          # doctest: +SKIP
    >>> report.ok, report.frame                                        # doctest: +SKIP
    >>> safety.check(hostile.graph_def, ["save/restore_all"])          # doctest: +SKIP
    UnsafeArtifactError: Running 'save/restore_all' would run 1 op that touches files, ...

Checkpoint reads and writes (``RestoreV2``, ``SaveV2``, ...) are expected inside a Saver's own
save and restore ops: pass its ``saver_def`` and they are accepted when the file name they use
is the Saver's filename tensor (which the caller feeds with the prefix the user chose).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import UnsafeArtifactError

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

_FILES_READ = {
    "ReadFile",
    "MatchingFiles",
    "WholeFileReader",
    "WholeFileReaderV2",
    "TextLineReader",
    "TextLineReaderV2",
    "TFRecordReader",
    "TFRecordReaderV2",
    "FixedLengthRecordReader",
    "FixedLengthRecordReaderV2",
    "LMDBReader",
    "InitializeTableFromTextFile",
    "InitializeTableFromTextFileV2",
    "LoadAndRemapMatrix",
    "ImmutableConst",
    "RecordInput",
    "DecodeProtoV2",  # descriptor_source may name a file
}
_FILES_WRITE = {
    "WriteFile",
    "DatasetToTFRecord",
    "ExperimentalDatasetToTFRecord",
    "SaveDataset",
    "SaveDatasetV2",
    "ExperimentalSave",
    "DistributedSave",
    "FileSystemSetConfiguration",
}
CHECKPOINT_IO_OPS = frozenset(
    {"Save", "SaveV2", "SaveSlices", "MergeV2Checkpoints", "Restore", "RestoreV2", "RestoreSlice"}
)
_SUMMARY = {
    "CreateSummaryFileWriter",
    "CreateSummaryDbWriter",
    "SummaryWriter",
    "WriteSummary",
    "WriteScalarSummary",
    "WriteHistogramSummary",
    "WriteImageSummary",
    "WriteAudioSummary",
    "WriteGraphSummary",
    "WriteRawProtoSummary",
    "FlushSummaryWriter",
    "CloseSummaryWriter",
    "ImportEvent",
    "StatsAggregatorSetSummaryWriter",
}
_PYTHON = {"PyFunc", "PyFuncStateless", "EagerPyFunc", "GeneratorDataset"}
_DATASET_FILES = {
    "TFRecordDataset",
    "TFRecordDatasetV2",
    "TextLineDataset",
    "FixedLengthRecordDataset",
    "FixedLengthRecordDatasetV2",
    "CSVDataset",
    "CSVDatasetV2",
    "ExperimentalCSVDataset",
    "LMDBDataset",
    "ExperimentalLMDBDataset",
    "SqlDataset",
    "ExperimentalSqlDataset",
    "MatchingFilesDataset",
    "ExperimentalMatchingFilesDataset",
    "LoadDataset",
    "CacheDataset",
    "CacheDatasetV2",
    "SnapshotDataset",
    "SnapshotDatasetV2",
    "SnapshotDatasetReader",
    "SnapshotChunkDataset",
    "SnapshotNestedDatasetReader",
    "ListSnapshotChunksDataset",
    "DatasetFromGraph",  # deserializes a graph nobody has checked
}
_DEBUG = {
    "DebugIdentity",
    "DebugIdentityV2",
    "DebugIdentityV3",
    "DebugNanCount",
    "DebugNumericSummary",
    "DebugNumericSummaryV2",
}
_NETWORK = {
    "Send",
    "Recv",
    "_Send",
    "_Recv",
    "RemoteCall",
    "RpcCall",
    "RpcClient",
    "RpcServer",
    "RpcServerStart",
    "RpcServerRegister",
    "RpcCheckStatus",
    "RpcGetValue",
}
_NETWORK_PREFIXES = ("Collective", "DataServiceDataset", "RegisterDataset", "Rpc", "Socket")

#: op type -> category, for the ops refused unless allowed or trusted.
RISKY_OPS: dict[str, str] = {
    **{op: "reads files" for op in _FILES_READ},
    **{op: "writes files" for op in _FILES_WRITE},
    **{op: "checkpoint I/O" for op in CHECKPOINT_IO_OPS},
    **{op: "writes summaries" for op in _SUMMARY},
    **{op: "runs Python" for op in _PYTHON},
    **{op: "dataset reading files" for op in _DATASET_FILES},
    **{op: "debug output (files or network)" for op in _DEBUG},
    **{op: "network" for op in _NETWORK},
}

#: ops a sharded Saver uses to derive shard names from its filename tensor.
_FILENAME_DERIVATION_OPS = frozenset(
    {
        "Identity",
        "StringJoin",
        "ShardedFilename",
        "ShardedFilespec",
        "Const",
        "Select",
        "SelectV2",
        "StaticRegexFullMatch",
        "RegexFullMatch",
        "Pack",
    }
)
_HARMLESS_PRINT_STREAMS = ("stderr", "stdout", "log(info)", "log(warning)", "log(error)")


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
        state = "ok" if self.ok else f"{len(self.findings)} risky op(s)"
        text = f"<SafetyReport {state}: {len(self.ops)} ops would run for {self.fetches}>"
        return text + ("\n" + self.describe() if self.findings else "")


# -- classification --------------------------------------------------------------------------
def classify_op(node, registered: bool | None = None) -> tuple[str, str] | None:
    """``(category, reason)`` when a NodeDef's op touches files, the network or Python, or is
    unknown to this TensorFlow; ``None`` when it is harmless.

    ``registered`` overrides the op-registry lookup (``True`` for a library function call).
    """
    op = node.op
    if op in RISKY_OPS:
        return RISKY_OPS[op], _reason(op, RISKY_OPS[op])
    if op.startswith(_NETWORK_PREFIXES):
        return "network", f"{op} talks to other processes or machines"
    if op == "PrintV2":
        stream = "stderr"
        if "output_stream" in node.attr:
            stream = node.attr["output_stream"].s.decode("utf-8", "replace")
        if stream not in _HARMLESS_PRINT_STREAMS:
            return "writes files", f"PrintV2 writes to {stream!r}"
        return None
    if registered is None:
        registered = _is_registered(op)
    if not registered:
        return "custom op", f"{op} is not a TensorFlow op known to this installation (a custom op)"
    return None


def _reason(op: str, category: str) -> str:
    return {
        "reads files": f"{op} reads files named by the graph",
        "writes files": f"{op} writes files",
        "checkpoint I/O": f"{op} reads or writes a checkpoint at a path the graph chooses",
        "writes summaries": f"{op} writes event files",
        "runs Python": f"{op} calls Python code, which a file cannot carry safely",
        "dataset reading files": f"{op} reads (or caches to) files",
        "debug output (files or network)": f"{op} sends tensors to debug URLs",
        "network": f"{op} talks to other processes or machines",
    }.get(category, category)


def _is_registered(op: str) -> bool:
    from ._tf import tf

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


def _called_functions(node, library_names: set[str]) -> list[str]:
    """The library functions a node calls: ``f``, ``then_branch``, ``body``... attrs (any
    ``func`` or list of ``func`` attr) and ops named after a function."""
    called = [node.op] if node.op in library_names else []
    for value in node.attr.values():
        if value.HasField("func") and value.func.name:
            called.append(value.func.name)
        if value.HasField("list"):
            called.extend(f.name for f in value.list.func if f.name)
    return called


def _function_closure(roots: Iterable[str], functions: Mapping[str, Any]) -> list[str]:
    """Every library function reachable from ``roots`` (callees of callees included)."""
    names = set(functions)
    seen: list[str] = []
    stack = [r for r in roots if r in functions]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.append(name)
        for node in functions[name].node_def:
            stack.extend(
                f for f in _called_functions(node, names) if f in functions and f not in seen
            )
    return seen


def _as_list(fetches) -> list[str]:
    if isinstance(fetches, (str, bytes)):
        return [fetches.decode() if isinstance(fetches, bytes) else fetches]
    return [getattr(f, "name", f) for f in fetches]


def ops_to_run(graph_def, fetches, library=None, *, feeds: Iterable[str] = ()) -> set[str]:
    """The names of every node that running ``fetches`` may run.

    The closure follows data and control inputs; a data input that is fed (``"x:0"`` in
    ``feeds``) is not followed. Functions called by a node (a ``PartitionedCall``'s ``f``, the
    branches of ``If``/``Case``, the ``cond``/``body`` of ``While``, an op named after a
    library function) are included whole, their nodes named ``"function::node"``.

    Example::

        >>> ops_to_run(graph_def, ["loss:0"], feeds=["inputs/x:0", "inputs/y:0"])  # doctest: +SKIP
        {'loss', 'prediction', 'layer1/W', ...}
    """
    library = graph_def.library if library is None else library
    functions = {f.signature.name: f for f in library.function}
    library_names = set(functions)
    nodes = {n.name: n for n in graph_def.node}
    fed = {_tensor_name(f) for f in _as_list(feeds)}
    reached: set[str] = set()
    stack = [_node_name(f) for f in _as_list(fetches)]
    called: set[str] = set()
    while stack:
        name = stack.pop()
        if name in reached or name not in nodes:
            continue
        reached.add(name)
        node = nodes[name]
        called.update(_called_functions(node, library_names))
        for reference in node.input:
            if reference.startswith("^") or _tensor_name(reference) not in fed:
                stack.append(_node_name(reference))
    for function_name in _function_closure(called, functions):
        reached.update(
            f"{function_name}{FUNCTION_SEPARATOR}{n.name}"
            for n in functions[function_name].node_def
        )
    return reached


# -- check -----------------------------------------------------------------------------------
def check(
    graph_def,
    fetches,
    *,
    feeds: Iterable[str] = (),
    allow: Iterable[str] = (),
    trust: bool = False,
    saver_def=None,
    library=None,
    path: str | os.PathLike | None = None,
) -> SafetyReport:
    """Classify every op that running ``fetches`` would run; raise if any is risky.

    ``allow`` names op types (``"TFRecordDatasetV2"``) or categories (``"dataset reading
    files"``) to accept. With ``saver_def``, checkpoint I/O whose file name is the Saver's
    filename tensor (fed by the caller) is expected and accepted; any other risky op, even one
    wired into the restore op, is refused. ``trust=True`` returns the report without raising.

    Example::

        >>> report = check(meta.graph_def, ["save/restore_all"], saver_def=meta.saver_def,
        ...                feeds=["save/Const:0"])                     # doctest: +SKIP
        >>> report.ok                                                  # doctest: +SKIP
        True

    Raises:
        UnsafeArtifactError: listing each risky op type with its nodes (and functions).
    """
    fetch_list = _as_list(fetches)
    ops = ops_to_run(graph_def, fetch_list, library, feeds=feeds)
    report = SafetyReport(fetches=fetch_list, ops=ops, trusted=trust)
    allowed = set(allow)
    library = graph_def.library if library is None else library
    functions = {f.signature.name: f for f in library.function}
    nodes = {n.name: n for n in graph_def.node}
    located = _lookup(ops, nodes, functions)
    for name in sorted(located):
        function_name, node = located[name]
        found = classify_op(node, registered=True if node.op in functions else None)
        if found is None:
            continue
        category, reason = found
        finding = Finding(node.op, node.name, function_name, category, reason)
        if node.op in allowed or category in allowed:
            report.allowed.append(finding)
        elif function_name is None and _is_saver_io(node, nodes, saver_def):
            report.accepted.append(finding)
        else:
            report.findings.append(finding)
    if report.findings and not trust:
        error = _unsafe_error(report, path)
        error.report = report
        raise error
    return report


def _lookup(ops: Iterable[str], nodes, functions) -> dict[str, tuple[str | None, Any]]:
    """``{name from ops_to_run: (function name or None, NodeDef)}``."""
    function_nodes: dict[str, dict[str, Any]] = {}
    found = {}
    for name in ops:
        if FUNCTION_SEPARATOR in name:
            function_name, node_name = name.split(FUNCTION_SEPARATOR, 1)
            if function_name not in function_nodes:
                body = functions[function_name].node_def
                function_nodes[function_name] = {n.name: n for n in body}
            node = function_nodes[function_name].get(node_name)
        else:
            function_name, node = None, nodes.get(name)
        if node is not None:
            found[name] = (function_name, node)
    return found


def _is_saver_io(node, nodes, saver_def) -> bool:
    """Checkpoint I/O whose file name comes from the Saver's filename tensor only."""
    if saver_def is None or node.op not in CHECKPOINT_IO_OPS or not node.input:
        return False
    filename = _node_name(saver_def.filename_tensor_name)
    if node.op == "MergeV2Checkpoints":  # (checkpoint_prefixes, destination_prefix)
        return all(_derives_from(ref, filename, nodes) for ref in node.input[:2])
    return _derives_from(node.input[0], filename, nodes)


def _derives_from(reference: str, filename: str, nodes) -> bool:
    """Whether the string at ``reference`` is the filename tensor, or is made from it (plus
    constants) by the ops a sharded Saver uses to name its shards."""
    seen, stack, found = set(), [_node_name(reference)], False
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        if name == filename:
            found = True
            continue
        node = nodes.get(name)
        if node is None or node.op not in _FILENAME_DERIVATION_OPS:
            return False
        stack.extend(_node_name(r) for r in node.input)
    return found


def _unsafe_error(report: SafetyReport, path) -> UnsafeArtifactError:
    types = sorted({f.op_type for f in report.findings})
    fetches = ", ".join(repr(f) for f in report.fetches[:4])
    return UnsafeArtifactError(
        f"Running {fetches} would run {len(report.findings)} op(s) that touch files, the "
        f"network or Python, or are unknown to this TensorFlow ({', '.join(types)}):\n"
        + report.describe(),
        path=path,
        expected="a graph whose ops only compute (checkpoint I/O only through the Saver's own "
        "filename tensor)",
        hint="inspect the graph with tfexplore.open(...) first; if you trust the file, pass "
        "trust=True (or allow=[op types] for the ones you expect)",
    )
