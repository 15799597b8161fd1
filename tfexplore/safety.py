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

import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import UnsafeArtifactError

__all__ = [
    "RISKY_OPS",
    "CHECKPOINT_IO_OPS",
    "Finding",
    "SafetyReport",
    "ScanFinding",
    "ScanReport",
    "classify_op",
    "ops_to_run",
    "check",
    "scan",
    "scan_keras_config",
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
        "Merge",  # a TF1 cond picking the temporary-file suffix (sharded Estimator savers)
        "Switch",
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
        stack.extend(_node_name(r) for r in node.input if not r.startswith("^"))
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


# -- scan: every risky op of a file, whatever would run it -------------------------------------
#: Collections whose ops TensorFlow runs when it loads a TF1 SavedModel.
_INIT_COLLECTIONS = ("saved_model_main_op", "legacy_init_op", "table_initializer")
#: How deep ``DatasetFromGraph`` graphs nested in one another are followed.
MAX_NESTING = 8
SCAN_COLUMNS = [
    "verdict", "op_type", "node", "function", "nested_in", "category", "reason", "restore",
    "train", "signatures", "pulled_in_by", "meta_graph",
]  # fmt: skip


@dataclass(frozen=True)
class ScanFinding:
    """One op of a file that touches files, the network or Python (or is unknown to this
    TensorFlow), wherever it sits: the main graph (``function`` is ``None``), a function of the
    library, or a graph serialized inside a ``DatasetFromGraph`` (``nested_in`` names the node
    holding it). ``pulled_in_by`` lists the entry points whose run would run it: ``restore``
    (the SaverDef's restore op), ``train`` (the ``train_op`` collection), ``signature:NAME``,
    ``init:COLLECTION`` (what loading a TF1 SavedModel runs) or ``load`` (Keras loading).
    ``expected`` marks the Saver's own checkpoint reads and writes."""

    op_type: str
    node: str
    function: str | None
    category: str
    reason: str
    nested_in: str | None = None
    pulled_in_by: tuple[str, ...] = ()
    expected: bool = False
    meta_graph: str | None = None

    @property
    def where(self) -> str:
        place = self.node if self.function is None else f"{self.node} (in function {self.function})"
        return place if self.nested_in is None else f"{place} (in the dataset graph of {self.nested_in})"


@dataclass
class ScanReport:
    """What :func:`scan` found in a file: ``findings`` (risky), ``expected`` (the Saver's own
    checkpoint I/O), the ``entry_points`` looked at, and ``frame``, one row per op.

    ``ok`` is true when nothing is risky. ``repr`` lists the risky op types and where they are.
    """

    path: str | None
    findings: list[ScanFinding] = field(default_factory=list)
    expected: list[ScanFinding] = field(default_factory=list)
    entry_points: dict[str, list[str]] = field(default_factory=dict)
    scanned: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def op_types(self) -> list[str]:
        """The risky op types found, sorted."""
        return sorted({f.op_type for f in self.findings})

    @property
    def frame(self):
        """One row per risky (``verdict`` ``risky``) or expected op: ``op_type``, ``node``,
        ``function``, ``nested_in``, ``category``, ``reason``, ``restore``/``train`` (whether
        the restore op or the train op pulls it in), ``signatures`` (the signatures that do),
        ``pulled_in_by`` (every entry point that does) and ``meta_graph`` (its tags)."""
        import pandas as pd

        rows = []
        for verdict, group in (("risky", self.findings), ("expected", self.expected)):
            for f in group:
                rows.append({
                    "verdict": verdict, "op_type": f.op_type, "node": f.node,
                    "function": f.function, "nested_in": f.nested_in, "category": f.category,
                    "reason": f.reason, "restore": "restore" in f.pulled_in_by,
                    "train": "train" in f.pulled_in_by,
                    "signatures": [p.split(":", 1)[1] for p in f.pulled_in_by
                                   if p.startswith("signature:")],
                    "pulled_in_by": list(f.pulled_in_by), "meta_graph": f.meta_graph,
                })  # fmt: skip
        return pd.DataFrame(rows, columns=SCAN_COLUMNS)

    def describe(self) -> str:
        """One line per risky op type: category, where, and what pulls it in."""
        by_type: dict[str, list[ScanFinding]] = {}
        for finding in self.findings:
            by_type.setdefault(finding.op_type, []).append(finding)
        lines = []
        for op_type, group in sorted(by_type.items()):
            places = ", ".join(repr(f.where) for f in group[:3])
            more = f" and {len(group) - 3} more" if len(group) > 3 else ""
            pulled = sorted({p for f in group for p in f.pulled_in_by})
            run_by = f"; run by {', '.join(pulled)}" if pulled else "; nothing listed runs it"
            lines.append(f"  {op_type} ({group[0].category}): {places}{more}{run_by}")
        return "\n".join(lines)

    def summary_line(self) -> str:
        if self.ok:
            return "no op that touches files, the network or Python" + (
                f" ({len(self.expected)} expected checkpoint read/write op(s) of the Saver)"
                if self.expected else "")
        return (f"{len(self.findings)} risky op(s) of {len(self.op_types)} type(s): "
                + ", ".join(self.op_types))

    def __repr__(self) -> str:
        head = f"<ScanReport {self.path or ''}: {self.summary_line()}>"
        return head + ("\n" + self.describe() if self.findings else "")

    def _repr_html_(self) -> str:
        import html

        head = f"<p><strong>Safety scan</strong> {html.escape(self.summary_line())}</p>"
        return head + (self.frame.to_html(index=False) if len(self.findings) or
                       len(self.expected) else "")

    @classmethod
    def merge(cls, reports: list[ScanReport], path=None) -> ScanReport:
        merged = cls(path=None if path is None else os.fspath(path))
        for report in reports:
            merged.findings += report.findings
            merged.expected += report.expected
            for name, targets in report.entry_points.items():
                merged.entry_points.setdefault(name, []).extend(targets)
            for key, count in report.scanned.items():
                merged.scanned[key] = merged.scanned.get(key, 0) + count
        return merged


def scan(proto, *, path: str | os.PathLike | None = None, meta_graph: str | None = None) -> ScanReport:
    """Every op of a ``MetaGraphDef`` or ``GraphDef`` that touches files, the network or
    Python, or is unknown to this TensorFlow: in the main graph, in every function of the
    library (called or not), and inside graphs serialized in ``DatasetFromGraph`` inputs
    (followed recursively). Nothing is imported and nothing runs.

    For a MetaGraphDef, each finding says which entry points would run it: the SaverDef's
    restore op, the ``train_op`` collection, each signature, and the init ops of a TF1
    SavedModel. The Saver's own ``RestoreV2``/``SaveV2``/``MergeV2Checkpoints`` (file name
    made from the Saver's filename tensor, in the graph or in the ``traced_save``/
    ``traced_restore`` functions of a TF2 SavedModel) are listed as ``expected``.

    Example::

        >>> report = scan(meta.proto, path="model.ckpt-30.meta")        # doctest: +SKIP
        >>> report.ok, report.frame[["op_type", "node", "restore"]]     # doctest: +SKIP
    """
    path_text = None if path is None else os.fspath(path)
    if hasattr(proto, "graph_def") and hasattr(proto, "saver_def"):
        graph_def = proto.graph_def
        saver_def = proto.saver_def if proto.HasField("saver_def") else None
        entries = _entry_points(proto, saver_def)
    else:
        graph_def, saver_def, entries = proto, None, {}
    report = ScanReport(path=path_text, entry_points={k: v for k, v in entries.items()})
    closures = {
        name: ops_to_run(graph_def, targets, feeds=feeds)
        for name, (targets, feeds) in _entry_fetches(entries, proto, saver_def).items()
    }
    _scan_graph(graph_def, report, closures, saver_def, meta_graph, nested_in=None, depth=0)
    return report


def _entry_points(meta_graph_def, saver_def) -> dict[str, list[str]]:
    entries: dict[str, list[str]] = {}
    if saver_def is not None and saver_def.restore_op_name:
        entries["restore"] = [saver_def.restore_op_name]
    if saver_def is not None and saver_def.save_tensor_name:
        entries["save"] = [saver_def.save_tensor_name]
    collections = meta_graph_def.collection_def
    if "train_op" in collections:
        members = list(collections["train_op"].node_list.value)
        if members:
            entries["train"] = members
    for key in sorted(meta_graph_def.signature_def):
        signature = meta_graph_def.signature_def[key]
        outputs = [info.name for info in signature.outputs.values() if info.name]
        if outputs:
            entries[f"signature:{key}"] = outputs
    for name in _INIT_COLLECTIONS:
        if name in collections and collections[name].node_list.value:
            entries[f"init:{name}"] = list(collections[name].node_list.value)
    return entries


def _entry_fetches(entries, meta_graph_def, saver_def) -> dict[str, tuple[list[str], list[str]]]:
    fetches = {}
    for name, targets in entries.items():
        feeds: list[str] = []
        if name in ("restore", "save") and saver_def is not None:
            feeds = [saver_def.filename_tensor_name]
        elif name.startswith("signature:"):
            signature = meta_graph_def.signature_def[name.split(":", 1)[1]]
            feeds = [info.name for info in signature.inputs.values() if info.name]
        fetches[name] = (targets, feeds)
    return fetches


def _scan_graph(graph_def, report, closures, saver_def, meta_graph, *, nested_in, depth,
                seen=None) -> None:
    """Classify every node of ``graph_def`` and of its library into ``report``.

    Each distinct nested dataset graph (by the SHA-256 of its bytes, and the entry points that
    pull it in) is parsed and scanned once (``seen``): ten ``DatasetFromGraph`` ops reading
    one constant, nine levels deep, are nine scans, not a billion."""
    seen = set() if seen is None else seen
    functions = {f.signature.name: f for f in graph_def.library.function}
    nodes = {n.name: n for n in graph_def.node}
    places = [(None, graph_def.node)] + [(name, f.node_def) for name, f in functions.items()]
    key = "nested graphs" if nested_in else "graphs"
    report.scanned[key] = report.scanned.get(key, 0) + 1
    report.scanned["functions"] = report.scanned.get("functions", 0) + len(functions)
    for function_name, body in places:
        body_nodes = nodes if function_name is None else {n.name: n for n in body}
        for node in body:
            report.scanned["nodes"] = report.scanned.get("nodes", 0) + 1
            found = classify_op(node, registered=True if node.op in functions else None)
            if found is None or _in_memory_cache(node, body_nodes):
                continue
            full = node.name if function_name is None else f"{function_name}{FUNCTION_SEPARATOR}{node.name}"
            pulled = tuple(name for name, closure in closures.items() if full in closure)
            expected = nested_in is None and _is_expected_io(
                node, function_name, nodes, functions, saver_def
            )
            finding = ScanFinding(
                node.op, node.name, function_name, found[0], found[1], nested_in=nested_in,
                pulled_in_by=pulled, expected=expected, meta_graph=meta_graph,
            )  # fmt: skip
            (report.expected if expected else report.findings).append(finding)
            if node.op == "DatasetFromGraph" and depth < MAX_NESTING:
                raw = _serialized_bytes(node, body_nodes)
                memo = None if raw is None else (hashlib.sha256(raw).digest(), pulled)
                inner = None if memo is None or memo in seen else _parse_graph_def(raw)
                if memo in seen:  # its findings are listed where it was first met
                    report.scanned["repeated nested graphs"] = (
                        report.scanned.get("repeated nested graphs", 0) + 1
                    )
                if memo is not None:
                    seen.add(memo)
                if inner is not None:
                    inner_closures = {name: {n.name for n in inner.node} |
                                      {f"{f.signature.name}{FUNCTION_SEPARATOR}{n.name}"
                                       for f in inner.library.function for n in f.node_def}
                                      for name in pulled}  # fmt: skip
                    place = replace(finding, nested_in=None).where  # the label grows linearly
                    label = place if nested_in is None else f"{nested_in} > {place}"
                    _scan_graph(inner, report, inner_closures, None, meta_graph,
                                nested_in=label, depth=depth + 1, seen=seen)


def _in_memory_cache(node, body_nodes) -> bool:
    """A ``CacheDataset`` whose file name is the constant ``""``: it caches in memory."""
    if node.op not in ("CacheDataset", "CacheDatasetV2") or len(node.input) < 2:
        return False
    source = body_nodes.get(_node_name(node.input[1]))
    if source is None or source.op != "Const":
        return False
    values = list(source.attr["value"].tensor.string_val)
    return values == [b""]


def _serialized_graph(node, body_nodes):
    """The GraphDef a ``DatasetFromGraph`` node deserializes, when its ``graph_def`` input is
    a constant (through ``Identity`` ops); ``None`` when it is computed or unreadable."""
    raw = _serialized_bytes(node, body_nodes)
    return None if raw is None else _parse_graph_def(raw)


def _serialized_bytes(node, body_nodes) -> bytes | None:
    """The serialized GraphDef a ``DatasetFromGraph`` node reads, when its ``graph_def`` input
    is a constant (through ``Identity`` ops); ``None`` when it is computed."""
    if not node.input:
        return None
    name = _node_name(node.input[0])
    for _ in range(16):
        source = body_nodes.get(name)
        if source is None:
            return None
        if source.op == "Const":
            break
        if source.op not in ("Identity", "IdentityN") or not source.input:
            return None
        name = _node_name(source.input[0])
    else:
        return None
    tensor = source.attr["value"].tensor
    if not tensor.string_val:
        return None
    return tensor.string_val[0]


def _parse_graph_def(raw: bytes):
    from ._tf import protos

    graph_def = protos().graph_pb2.GraphDef()
    try:
        graph_def.ParseFromString(raw)
    except Exception:  # damaged bytes: the DatasetFromGraph itself is still reported
        return None
    return graph_def


def _is_expected_io(node, function_name, nodes, functions, saver_def) -> bool:
    """The Saver's own checkpoint I/O: in the main graph, a file name made from the filename
    tensor; in a function (TF2 ``traced_save``/``traced_restore``), a file name made from an
    argument that every caller in the main graph binds to the filename tensor."""
    if saver_def is None or node.op not in CHECKPOINT_IO_OPS or not node.input:
        return False
    if function_name is None:
        return _is_saver_io(node, nodes, saver_def)
    function = functions[function_name]
    arguments = [arg.name for arg in function.signature.input_arg]
    body = {n.name: n for n in function.node_def}
    references = node.input[:2] if node.op == "MergeV2Checkpoints" else node.input[:1]
    used: set[int] = set()
    for reference in references:
        reached = _arguments_reached(reference, body, arguments)
        if reached is None:
            return False
        used |= reached
    callers = [n for n in nodes.values() if function_name in _called_functions(n, {function_name})]
    if not used or not callers:
        return False
    filename = _node_name(saver_def.filename_tensor_name)
    return all(
        index < len(caller.input) and _derives_from(caller.input[index], filename, nodes)
        for caller in callers
        for index in used
    )


def _arguments_reached(reference: str, body, arguments: list[str]) -> set[int] | None:
    """Indexes of the function arguments a string in a function body is made from (through
    the filename-derivation ops only); ``None`` when anything else feeds it."""
    reached: set[int] = set()
    seen, stack = set(), [_node_name(reference)]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in arguments:
            reached.add(arguments.index(name))
            continue
        node = body.get(name)
        if node is None or node.op not in _FILENAME_DERIVATION_OPS:
            return None
        stack.extend(_node_name(r) for r in node.input if not r.startswith("^"))
    return reached


def scan_keras_config(config, *, path: str | os.PathLike | None = None,
                      lambda_layers=(), custom_classes=()) -> ScanReport:
    """A Keras file's Python: each ``Lambda`` layer (bytecode that loading with
    ``safe_mode=False`` runs) and each custom class (a module outside Keras that loading
    imports). Both are pulled in by ``load``."""
    report = ScanReport(path=None if path is None else os.fspath(path),
                        entry_points={"load": ["keras.saving.load_model"]})
    for name in lambda_layers:
        report.findings.append(ScanFinding(
            "Lambda", name, None, "runs Python",
            "a Lambda layer stores Python bytecode; keras.saving.load_model(safe_mode=False) runs it",
            pulled_in_by=("load",),
        ))  # fmt: skip
    for label in custom_classes:
        report.findings.append(ScanFinding(
            "custom object", label, None, "runs Python",
            f"{label} is not a Keras class: loading imports and runs the code that defines it",
            pulled_in_by=("load",),
        ))  # fmt: skip
    report.scanned["layers"] = len(lambda_layers) + len(custom_classes)
    return report


def explain_lines(report: ScanReport) -> list[str]:
    """A short Markdown section for ``explain()``: the risky ops found and what runs them."""
    lines = ["", "## Ops that touch files, the network or Python", ""]
    if report.ok:
        lines.append(
            "None: no op in the graph, its functions or nested dataset graphs reads or writes "
            "files (other than the Saver's own checkpoint reads and writes), talks to the "
            "network, runs Python, or is unknown to this TensorFlow (`.safety` has the details)."
        )
        return lines
    lines.append(
        f"**{len(report.findings)} op(s) would touch files, the network or Python** if "
        "TensorFlow ran them; tfexplore only read them. Loading or restoring this file with "
        "TensorFlow runs those pulled in by the restore op, a signature or an init op:"
    )
    lines.append("")
    for line in report.describe().splitlines():
        lines.append(f"- {line.strip()}")
    lines += ["", "See `.safety.frame` (or `tfexplore scan PATH`) for every op, and only load "
              "the file if you trust where it came from."]
    return lines
