"""The scan of a whole artifact (``scan``): every entry point a loader or a restore would run
(init ops, the Saver, signatures, asset reads, embedded graphs, Keras configs) checked
against the allowlist, as a :class:`ScanReport`; :func:`explain_lines` says it in prose."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .._attrs import attr_function_names
from . import saver_io as _saver_io
from .gate import (
    FUNC_ATTR,
    FUNCTION_SEPARATOR,
    _in_memory_cache,
    _node_name,
    _op_stand_in,
    _Program,
    _tensor_name,
    classify_op,
)
from .saver_io import CHECKPOINT_IO_OPS

__all__ = [
    "ScanFinding",
    "ScanReport",
    "asset_file_defs",
    "explain_lines",
    "scan",
    "scan_keras_config",
]


# -- scan: every risky op of a file, whatever would run it -------------------------------------
#: Collections whose ops TensorFlow runs when it loads a TF1 SavedModel.
_INIT_COLLECTIONS = ("saved_model_main_op", "legacy_init_op", "table_initializer")


#: How deep ``DatasetFromGraph`` graphs nested in one another are followed.
MAX_NESTING = 8


SCAN_COLUMNS = [
    "verdict", "op_type", "node", "function", "nested_in", "category", "reason", "restore",
    "train", "signatures", "pulled_in_by", "meta_graph", "file",
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
    file: str | None = None

    @property
    def where(self) -> str:
        place = self.node if self.function is None else f"{self.node} (in function {self.function})"
        return (
            place
            if self.nested_in is None
            else f"{place} (in the dataset graph of {self.nested_in})"
        )


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
    #: the files whose graphs or configs were scanned
    files: list[str] = field(default_factory=list)
    #: ``(file, reason)`` for files of a scanned folder that could not be read as a graph
    skipped: list[tuple[str, str]] = field(default_factory=list)

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
                    "file": f.file if f.file is not None else self.path,
                })  # fmt: skip
        return pd.DataFrame(rows, columns=SCAN_COLUMNS)

    def describe(self) -> str:
        """One line per risky op type: category, where, and what pulls it in."""
        by_type: dict[str, list[ScanFinding]] = {}
        for finding in self.findings:
            by_type.setdefault(finding.op_type, []).append(finding)
        lines = []
        for op_type, group in sorted(by_type.items()):
            wheres = list(dict.fromkeys(f.where for f in group))  # once, however many files
            places = ", ".join(repr(w) for w in wheres[:3])
            more = f" and {len(wheres) - 3} more" if len(wheres) > 3 else ""
            files = {f.file for f in group if f.file}
            in_files = f" (in {len(files)} files)" if len(files) > 1 else ""
            pulled = sorted({p for f in group for p in f.pulled_in_by})
            run_by = f"; run by {', '.join(pulled)}" if pulled else "; nothing listed runs it"
            lines.append(f"  {op_type} ({group[0].category}): {places}{more}{in_files}{run_by}")
        return "\n".join(lines)

    def summary_line(self) -> str:
        if self.ok:
            return "every op is on the allowlist of pure computation" + (
                f" (and {len(self.expected)} checkpoint read/write op(s) of a Saver on its own "
                "files, the normal case)"
                if self.expected
                else ""
            )
        return (
            f"{len(self.findings)} op(s) not on the allowlist, of {len(self.op_types)} "
            "type(s): " + ", ".join(self.op_types)
        )

    def __repr__(self) -> str:
        head = f"<ScanReport {self.path or ''}: {self.summary_line()}>"
        return head + ("\n" + self.describe() if self.findings else "")

    def _repr_html_(self) -> str:
        import html

        head = f"<p><strong>Safety scan</strong> {html.escape(self.summary_line())}</p>"
        return head + (
            self.frame.to_html(index=False) if len(self.findings) or len(self.expected) else ""
        )

    @classmethod
    def merge(cls, reports: list[ScanReport], path=None) -> ScanReport:
        """One report for several files (or meta graphs): each row keeps the file it came
        from (``file``), and a row found twice in the same file and meta graph is kept once."""
        merged = cls(path=None if path is None else os.fspath(path))
        seen: set[ScanFinding] = set()
        for report in reports:
            for source, target in (
                (report.findings, merged.findings),
                (report.expected, merged.expected),
            ):
                for finding in source:
                    if finding.file is None and report.path is not None:
                        finding = dataclasses.replace(finding, file=report.path)
                    if finding not in seen:
                        seen.add(finding)
                        target.append(finding)
            for name, targets in report.entry_points.items():
                kept = merged.entry_points.setdefault(name, [])
                kept.extend(t for t in targets if t not in kept)
            for key, count in report.scanned.items():
                merged.scanned[key] = merged.scanned.get(key, 0) + count
            for file in report.files or ([report.path] if report.path else []):
                if file not in merged.files:
                    merged.files.append(file)
        return merged


def scan(
    proto, *, path: str | os.PathLike | None = None, meta_graph: str | None = None
) -> ScanReport:
    """Every op of a ``MetaGraphDef`` or ``GraphDef`` that is not on the allowlist of pure
    computation (:mod:`tfexplore.safety.allowlist`), wherever it sits: the main graph, every
    function of the library (called or not), and graphs serialized in ``DatasetFromGraph``
    inputs (followed recursively). ``session`` refuses exactly these ops when a call would run
    them. Nothing is imported and nothing runs.

    For a MetaGraphDef, each finding says which entry points would run it: the SaverDef's
    restore and save ops, the collections tfexplore and TensorFlow's loaders run (``train_op``,
    ``init_op``, ``local_init_op``, ``table_initializer``, ``saved_model_main_op``,
    ``legacy_init_op``), and each signature. A Saver's checkpoint reads and writes on its own
    files are listed as ``expected``, not risky: a file name made, in one of the shapes
    TensorFlow's Savers build (:mod:`tfexplore.safety.saver_io`), only from the SaverDef's filename
    tensor (and run only by its restore/save ops), or from another Saver's filename tensor that
    no entry point runs (``save_1/...``). In a TF2 SavedModel that holds for the
    ``traced_save``/``traced_restore`` functions only when nothing but the main graph's Saver
    calls them (no object-graph function, such as a resource initializer that loading runs).

    Example::

        >>> report = scan(meta.proto, path="model.ckpt-30.meta")        # doctest: +SKIP
        >>> report.ok, report.frame[["op_type", "node", "restore"]]     # doctest: +SKIP
    """
    path_text = None if path is None else os.fspath(path)
    extra: dict[str, str] = {}
    if hasattr(proto, "graph_def") and hasattr(proto, "saver_def"):
        graph_def = proto.graph_def
        saver_def = proto.saver_def if proto.HasField("saver_def") else None
        entries = _entry_points(proto, saver_def)
        if proto.HasField("object_graph_def"):
            extra = _object_graph_functions(proto.object_graph_def)
    else:
        graph_def, saver_def, entries = proto, None, {}
    report = ScanReport(path=path_text, entry_points={k: v for k, v in entries.items()})
    if path_text is not None:
        report.files.append(path_text)
    program = _Program(graph_def)
    closures = {
        name: program.closure(targets, feeds)
        for name, (targets, feeds) in _entry_fetches(entries, proto, saver_def).items()
    }
    assets = _asset_tensors(proto) if hasattr(proto, "asset_file_def") else []
    context = _ScanContext(program, saver_def, extra, assets)
    _scan_graph(graph_def, report, closures, context, meta_graph, nested_in=None, depth=0)
    return report


def asset_file_defs(meta_graph_def) -> list:
    """The meta graph's ``AssetFileDef``s: ``asset_file_def`` and, as older builders wrote
    them, the ``saved_model_assets`` collection."""
    from .._tf import protos

    assets = list(meta_graph_def.asset_file_def)
    collections = meta_graph_def.collection_def
    if "saved_model_assets" in collections:
        for packed in collections["saved_model_assets"].any_list.value:
            asset = protos().meta_graph_pb2.AssetFileDef()
            if packed.Unpack(asset):
                assets.append(asset)
    return assets


def _asset_tensors(meta_graph_def) -> list[str]:
    """The asset tensors a SavedModel loader feeds with a path inside ``assets/``: those of
    :func:`asset_file_defs` whose file name stays inside the folder (no ``..``, not
    absolute)."""
    return [
        a.tensor_info.name
        for a in asset_file_defs(meta_graph_def)
        if a.tensor_info.name
        and a.filename
        and not os.path.isabs(a.filename)
        and ".." not in a.filename.replace("\\", "/").split("/")
    ]


def _object_graph_functions(object_graph) -> dict[str, str]:
    """Every function a SavedModel's object graph names (``tf.saved_model.load`` may run any:
    resource creators and initializers run while loading, the rest when called)."""
    names = {name: "object graph" for name in object_graph.concrete_functions}
    for node in object_graph.nodes:
        kind = node.WhichOneof("kind")
        if kind == "function":
            names.update((n, "object graph") for n in node.function.concrete_functions)
        elif kind == "bare_concrete_function":
            names[node.bare_concrete_function.concrete_function_name] = "object graph"
        for saveable in node.saveable_objects.values():
            names[saveable.save_function] = "object graph"
            names[saveable.restore_function] = "object graph"
    names.pop("", None)
    return names


#: collections whose ops tfexplore's session or TensorFlow's loaders run.
_RUN_COLLECTIONS = ("init_op", "local_init_op") + _INIT_COLLECTIONS


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
    for name in _RUN_COLLECTIONS:
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


class _ScanContext:
    """What deciding "a Saver's own I/O" needs, computed once per scanned graph."""

    _INIT_ENTRIES = frozenset(
        f"init:{name}" for name in ("saved_model_main_op", "legacy_init_op", "table_initializer")
    )

    def __init__(
        self, program: _Program, saver_def, extra: Mapping[str, str], assets: Iterable[str] = ()
    ) -> None:
        self.program = program
        self.assets = {_tensor_name(a) for a in assets}
        self.filename = None
        if saver_def is not None and saver_def.filename_tensor_name:
            self.filename = _tensor_name(saver_def.filename_tensor_name)
        self.extra = extra
        self._references = None

    def expected_io(self, node, function_name, pulled: tuple[str, ...]) -> bool:
        if node.op in _saver_io.ASSET_READ_OPS:
            return (
                function_name is None
                and set(pulled) <= self._INIT_ENTRIES
                and _saver_io.reads_asset(node, self.program.nodes, self.assets)
            )
        if node.op not in CHECKPOINT_IO_OPS:
            return False
        program = self.program
        if function_name is None:
            roots = _saver_io.filename_roots(node, _saver_io.Body(program.nodes))
        elif function_name in program.ambiguous:
            return False
        else:
            if self._references is None:
                self._references = _saver_io.function_references(program.graph_def, self.extra)
            bound = _saver_io.function_io_roots(
                node, program.functions[function_name], self._references.get(function_name, [])
            )
            if bound is None:
                return False
            roots = {_saver_io.main_root(r, program.nodes) for r in bound[0]}
        if not roots or None in roots:
            return False
        if not pulled:  # a Saver's I/O that no entry point runs (save_1/... in many graphs)
            return True
        allowed = {"restore"} if node.op in _saver_io.READ_OPS else {"save"}
        return set(pulled) <= allowed and roots == {self.filename}


def _scan_graph(
    graph_def, report, closures, context, meta_graph, *, nested_in, depth, seen=None
) -> None:
    """Classify every node of ``graph_def`` and of its library into ``report``.

    Each distinct nested dataset graph (by the SHA-256 of its bytes, and the entry points that
    pull it in) is parsed and scanned once (``seen``): ten ``DatasetFromGraph`` ops reading
    one constant, nine levels deep, are nine scans, not a billion."""
    seen = set() if seen is None else seen
    functions = {f.signature.name: f for f in graph_def.library.function}
    nodes = {n.name: n for n in graph_def.node}
    # every FunctionDef, even one whose name repeats (the dict above keeps only one of them)
    places = [(None, graph_def.node)] + [
        (f.signature.name, f.node_def) for f in graph_def.library.function
    ]
    key = "nested graphs" if nested_in else "graphs"
    report.scanned[key] = report.scanned.get(key, 0) + 1
    report.scanned["functions"] = report.scanned.get("functions", 0) + len(functions)
    attr_ops: dict[str, list[str]] = {}
    for function_name, body in places:
        body_nodes = nodes if function_name is None else {n.name: n for n in body}
        for node in body:
            report.scanned["nodes"] = report.scanned.get("nodes", 0) + 1
            for called, _path in attr_function_names(node):
                if called not in functions:
                    attr_ops.setdefault(called, []).append(node.name)
            found = classify_op(node, registered=node.op in functions)
            if found is None or _in_memory_cache(node, body_nodes):
                continue
            full = (
                node.name
                if function_name is None
                else f"{function_name}{FUNCTION_SEPARATOR}{node.name}"
            )
            pulled = tuple(name for name, closure in closures.items() if full in closure)
            expected = nested_in is None and context.expected_io(node, function_name, pulled)
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
                    place = dataclasses.replace(finding, nested_in=None).where  # grows linearly
                    label = place if nested_in is None else f"{nested_in} > {place}"
                    _scan_graph(
                        inner,
                        report,
                        inner_closures,
                        _ScanContext(_Program(inner), None, {}),
                        meta_graph,
                        nested_in=label,
                        depth=depth + 1,
                        seen=seen,
                    )
    for op_type, holders in sorted(attr_ops.items()):  # func attrs naming an op, not a function
        found = classify_op(_op_stand_in(op_type))
        if found is None:
            continue
        full = f"{FUNC_ATTR}{FUNCTION_SEPARATOR}{op_type}"
        pulled = tuple(name for name, closure in closures.items() if full in closure)
        report.findings.append(ScanFinding(
            op_type, f"{op_type} (named by a func attr of {holders[0]})", FUNC_ATTR, found[0],
            found[1], nested_in=nested_in, pulled_in_by=pulled, meta_graph=meta_graph,
        ))  # fmt: skip


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
    if "value" not in source.attr:
        return None
    tensor = source.attr["value"].tensor
    if not tensor.string_val:
        return None
    return tensor.string_val[0]


def _parse_graph_def(raw: bytes):
    from .._tf import protos

    graph_def = protos().graph_pb2.GraphDef()
    try:
        graph_def.ParseFromString(raw)
    except Exception:  # damaged bytes: the DatasetFromGraph itself is still reported
        return None
    return graph_def


def scan_keras_config(
    config, *, path: str | os.PathLike | None = None, lambda_layers=(), custom_classes=()
) -> ScanReport:
    """A Keras file's Python: each ``Lambda`` layer (bytecode that loading with
    ``safe_mode=False`` runs) and each custom class (a module outside Keras that loading
    imports). Both are pulled in by ``load``."""
    report = ScanReport(
        path=None if path is None else os.fspath(path),
        entry_points={"load": ["keras.saving.load_model"]},
    )
    for name in lambda_layers:
        report.findings.append(ScanFinding(
            "Lambda", name, None, "runs Python",
            "a Lambda layer stores Python bytecode; "
            "keras.saving.load_model(safe_mode=False) runs it",
            pulled_in_by=("load",),
        ))  # fmt: skip
    for label in custom_classes:
        report.findings.append(ScanFinding(
            "custom object", label, None, "runs Python",
            f"{label} is not a Keras class: loading imports and runs the code that defines it",
            pulled_in_by=("load",),
        ))  # fmt: skip
    report.scanned["objects"] = sum(
        1 for node in _walk_config(config) if "class_name" in node and "config" in node
    )
    return report


def _walk_config(value):
    """Every dict in a Keras config (iteratively: a deep config is not a recursion bomb)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def explain_lines(report: ScanReport) -> list[str]:
    """A short Markdown section for ``explain()``: the risky ops found and what runs them."""
    lines = ["", "## Ops that are not pure computation", ""]
    if report.ok:
        lines.append(
            "None: every op in the graph, its functions and nested dataset graphs is on "
            "tfexplore's allowlist of pure computation (other than the Saver's own checkpoint "
            "reads and writes); `.safety` has the details."
        )
        return lines
    lines.append(
        f"**{len(report.findings)} op(s) are not on the allowlist of pure computation** (they "
        "touch files, the network or Python, can block, or are unknown); tfexplore only read "
        "them. Loading or restoring this file with "
        "TensorFlow runs those pulled in by the restore op, a signature or an init op:"
    )
    lines.append("")
    for line in report.describe().splitlines():
        lines.append(f"- {line.strip()}")
    lines += [
        "",
        "See `.safety.frame` (or `tfexplore scan PATH`) for every op, and only load "
        "the file if you trust where it came from.",
    ]
    return lines
