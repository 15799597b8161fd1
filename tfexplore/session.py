"""A live session: import a meta graph, restore its weights, evaluate tensors, resume training,
snapshot, roll back and save again.

Everything else in tfexplore only reads. A :class:`Session` runs ops, but only when one of its
methods is called, and the ops a file brings are checked by :mod:`tfexplore.safety` first.

Example (the seed workflow)::

    >>> import tfexplore
    >>> s = tfexplore.session("runs/mnist")            # latest .meta + its checkpoint  # doctest: +SKIP
    >>> s.eval("global_step")                                                       # doctest: +SKIP
    30
    >>> s.train(5, feed={"inputs/x": x, "inputs/y": y})  # DataFrame: step, global_step, loss  # doctest: +SKIP
    >>> s.snapshot("before"); s.train(100, feed=...); s.rollback("before")         # doctest: +SKIP
    >>> s.save("runs/mnist")                             # runs/mnist/model.ckpt-35   # doctest: +SKIP

Sources: a ``.meta`` file, a checkpoint folder or prefix with its ``.meta`` (TF1 graphs); your
own ``tf.compat.v1.Session`` or ``tf.Graph``; a Keras model, a ``.keras`` file, a
``tf.train.Checkpoint`` or a dict of trackable objects (TF2), each with a checkpoint to restore.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from . import _saving, safety
from ._tf import _first_line, protos, tf
from .errors import (
    ArtifactNotFoundError,
    CheckpointExistsError,
    CorruptArtifactError,
    MissingFeedError,
    NativeCrashError,
    RestoreMismatchError,
    TensorNotFoundError,
    TFExploreError,
    UnsafeArtifactError,
)

__all__ = [
    "session",
    "Session",
    "RestoreReport",
    "RestoreMismatchError",
    "MissingFeedError",
    "CheckpointExistsError",
]

STATUSES = (
    "restored",
    "missing_in_checkpoint",
    "only_in_checkpoint",
    "shape_mismatch",
    "dtype_mismatch",
)
PROBLEMS = ("missing_in_checkpoint", "shape_mismatch", "dtype_mismatch")
OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
_FEED_HINT = "check the feed values' shapes and dtypes"
TF2_VALUE_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"
_COLUMNS = [
    "status",
    "graph_name",
    "checkpoint_key",
    "graph_shape",
    "checkpoint_shape",
    "graph_dtype",
    "checkpoint_dtype",
]


# == restore report ==========================================================================
class RestoreReport:
    """What a restore did (or would do), one row per variable and per unused checkpoint entry.

    ``frame`` columns: ``status`` (``restored``, ``missing_in_checkpoint``,
    ``only_in_checkpoint``, ``shape_mismatch``, ``dtype_mismatch``), ``graph_name``,
    ``checkpoint_key``, ``graph_shape``, ``checkpoint_shape``, ``graph_dtype``,
    ``checkpoint_dtype``. ``only_in_checkpoint`` rows are informative and never block a restore.

    Example::

        >>> report = s.restore("old_run/model.ckpt-30", partial=True)   # doctest: +SKIP
        >>> report.problems                                              # doctest: +SKIP
        >>> s.restore("old_run/model.ckpt-30", mapping=report.proposed_mapping)  # doctest: +SKIP
        >>> print(report.as_code())                                      # doctest: +SKIP
    """

    def __init__(
        self,
        frame,
        *,
        checkpoint: str,
        proposed_mapping: dict[str, str] | None = None,
        proposed_prefix_rewrite: dict[str, str] | None = None,
        devices_cleared: list[str] | None = None,
        applied: bool = False,
    ) -> None:
        self.frame = frame
        self.checkpoint = checkpoint
        self.proposed_mapping = proposed_mapping or {}
        self.proposed_prefix_rewrite = proposed_prefix_rewrite or {}
        self.devices_cleared = list(devices_cleared or [])
        self.applied = applied
        self.initialized: list[str] = []  # left out of a partial restore, given initial values
        self.loaded_by: str | None = None  # who set the values, when not this restore

    @property
    def ok(self) -> bool:
        """No variable is missing or mismatched."""
        return self.problems.empty

    @property
    def problems(self):
        """The rows that block a full restore."""
        return self.frame[self.frame["status"].isin(PROBLEMS)]

    @property
    def counts(self) -> dict[str, int]:
        """Rows per status."""
        counts = self.frame["status"].value_counts()
        return {status: int(counts.get(status, 0)) for status in STATUSES if counts.get(status, 0)}

    @property
    def mapping(self) -> dict[str, str]:
        """``{checkpoint_key: graph_name}`` of the rows that are (or would be) restored."""
        rows = self.frame[self.frame["status"] == "restored"]
        return dict(zip(rows["checkpoint_key"], rows["graph_name"]))

    def as_code(self) -> str:
        """Paste-able TensorFlow code restoring the same pairs (or the proposed ones): a
        ``tf.compat.v1.train.Saver(var_list={...})`` and an ``assignment_map`` for
        ``tf.compat.v1.train.init_from_checkpoint``."""
        pairs = self.proposed_mapping or self.mapping
        width = max((len(repr(k)) for k in pairs), default=0)
        saver_items = "\n".join(
            f"    {key!r:<{width}}: variables[{name!r}]," for key, name in pairs.items()
        )
        assignment_items = "\n".join(
            f"    {key!r:<{width}}: {name!r}," for key, name in pairs.items()
        )
        return (
            "import tensorflow as tf\n\n"
            "variables = {v.op.name: v for v in tf.compat.v1.global_variables()}\n"
            f"saver = tf.compat.v1.train.Saver(var_list={{\n{saver_items}\n}})\n"
            f"saver.restore(sess, {self.checkpoint!r})\n\n"
            "# or, before the variables are initialized:\n"
            f"assignment_map = {{\n{assignment_items}\n}}\n"
            f"tf.compat.v1.train.init_from_checkpoint({self.checkpoint!r}, assignment_map)\n"
        )

    def _headline(self) -> str:
        counts = ", ".join(
            f"{n} {'would be restored' if status == 'restored' and not self.applied else status}"
            for status, n in self.counts.items()
        ) or "empty"
        if not self.applied:
            verb = "plan for"
        elif self.counts.get("restored", 0):
            verb = "restored from"
        elif self.loaded_by:
            verb = "loaded from"
        else:
            verb = "nothing restored from"
        return f"<RestoreReport {verb} {self.checkpoint}: {counts}>"

    def _notes(self) -> list[str]:
        notes = []
        if self.loaded_by:
            notes.append(f"values set by {self.loaded_by} (checked here, not read again)")
        if self.devices_cleared:
            notes.append("devices cleared: " + ", ".join(self.devices_cleared))
        if self.initialized:
            notes.append("not in the checkpoint, initialized: " + ", ".join(self.initialized))
        if self.proposed_prefix_rewrite:
            notes.append(f"proposed prefix_rewrite: {self.proposed_prefix_rewrite}")
        elif self.proposed_mapping and not self.ok:
            notes.append(
                f"proposed mapping: {len(self.proposed_mapping)} pairs (.proposed_mapping)"
            )
        return notes

    def __repr__(self) -> str:
        problems = self.problems
        lines = [self._headline(), *("  " + n for n in self._notes())]
        if not problems.empty:
            lines.append(problems.to_string(index=False))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        import html

        notes = "".join(f"<div>{html.escape(n)}</div>" for n in self._notes())
        return f"<div><strong>{html.escape(self._headline())}</strong>{notes}{self.frame.to_html(index=False)}</div>"

    def __len__(self) -> int:
        return len(self.frame)

    def __getitem__(self, key):
        return self.frame[key]


# == matching variables and checkpoint keys ==================================================
def _components(name: str) -> list[str]:
    return [c for c in name.split("/") if c]


def _common_suffix(a: str, b: str) -> int:
    ca, cb = _components(a), _components(b)
    n = 0
    while n < min(len(ca), len(cb)) and ca[-1 - n] == cb[-1 - n]:
        n += 1
    return n


def _rewrite(key: str, prefix_rewrite: Mapping[str, str]) -> str:
    for old, new in prefix_rewrite.items():
        if key.startswith(old):
            return new + key[len(old) :]
    return key


def _plan(
    graph_vars: Mapping[str, tuple[tuple, str, str]],
    checkpoint_vars: Mapping[str, tuple[tuple, str]],
    mapping: Mapping[str, str],
    prefix_rewrite: Mapping[str, str],
) -> list[dict]:
    """Rows of the report. ``graph_vars``: name -> (shape, dtype, default key);
    ``checkpoint_vars``: key -> (shape, dtype); ``mapping``: key -> graph name."""
    pairs: dict[str, str] = {}  # graph name -> checkpoint key
    for key, name in mapping.items():
        pairs[name] = key
    rewritten = {_rewrite(k, prefix_rewrite): k for k in checkpoint_vars} if prefix_rewrite else {}
    used = set(pairs.values())
    for name, (_, _, default_key) in graph_vars.items():
        if name in pairs:
            continue
        for key in (default_key, rewritten.get(default_key)):
            if key is not None and key in checkpoint_vars and key not in used:
                pairs[name] = key
                used.add(key)
                break
    rows = []
    for name, (shape, dtype, default_key) in graph_vars.items():
        key = pairs.get(name)
        row = {
            "graph_name": name,
            "checkpoint_key": key,
            "graph_shape": shape,
            "graph_dtype": dtype,
            "checkpoint_shape": None,
            "checkpoint_dtype": None,
        }
        if key is None or key not in checkpoint_vars:
            row.update(status="missing_in_checkpoint", checkpoint_key=key or default_key)
        else:
            ckpt_shape, ckpt_dtype = checkpoint_vars[key]
            row.update(checkpoint_shape=ckpt_shape, checkpoint_dtype=ckpt_dtype)
            if not _shapes_fit(shape, ckpt_shape):
                row["status"] = "shape_mismatch"
            elif dtype != ckpt_dtype:
                row["status"] = "dtype_mismatch"
            else:
                row["status"] = "restored"
        rows.append(row)
    for key, (shape, dtype) in checkpoint_vars.items():
        if key not in used:
            rows.append(
                {
                    "status": "only_in_checkpoint",
                    "graph_name": None,
                    "checkpoint_key": key,
                    "graph_shape": None,
                    "graph_dtype": None,
                    "checkpoint_shape": shape,
                    "checkpoint_dtype": dtype,
                }
            )
    return rows


def _shapes_fit(graph_shape: tuple, checkpoint_shape: tuple) -> bool:
    if len(graph_shape) != len(checkpoint_shape):
        return False
    return all(g is None or g == c for g, c in zip(graph_shape, checkpoint_shape))


def _propose(
    rows: list[dict], hints: Mapping[str, str] | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """Pair missing variables with unused checkpoint entries of the same shape and dtype,
    preferring a key the backend knows (``hints``: graph name -> key), then a long common name
    suffix, the same depth and similar names. Returns the full proposed mapping (``{key: graph
    name}``, existing pairs included) and, when one scope rename explains every new pair, the
    matching ``prefix_rewrite``."""
    hints = hints or {}
    restored = {r["checkpoint_key"]: r["graph_name"] for r in rows if r["status"] == "restored"}
    missing = [r for r in rows if r["status"] == "missing_in_checkpoint"]
    unused = [r for r in rows if r["status"] == "only_in_checkpoint"]
    candidates = []
    for g in missing:
        for c in unused:
            if (
                not _shapes_fit(g["graph_shape"], c["checkpoint_shape"])
                or g["graph_dtype"] != c["checkpoint_dtype"]
            ):
                continue
            graph_key, key = g["checkpoint_key"], c["checkpoint_key"]
            score = (
                hints.get(g["graph_name"]) == key,
                _common_suffix(graph_key, key),
                len(_components(graph_key)) == len(_components(key)),
                difflib.SequenceMatcher(None, graph_key, key).ratio(),
            )
            candidates.append((score, g["graph_name"], graph_key, key))
    candidates.sort(key=lambda c: c[0], reverse=True)
    taken_graph, taken_key, proposed = set(), set(), {}
    rewrites = set()
    for score, name, graph_key, key in candidates:
        if name in taken_graph or key in taken_key:
            continue
        taken_graph.add(name)
        taken_key.add(key)
        proposed[key] = name
        rewrites.add(_prefix_pair(key, graph_key, score[1]))
    if not proposed:
        return {}, {}
    rewrite = {}
    if len(rewrites) == 1 and None not in rewrites and len(proposed) == len(missing):
        old, new = next(iter(rewrites))
        rewrite = {old: new}
    return {**restored, **proposed}, rewrite


def _prefix_pair(key: str, graph_key: str, suffix: int) -> tuple[str, str] | None:
    if suffix == 0:
        return None
    old = "/".join(_components(key)[:-suffix])
    new = "/".join(_components(graph_key)[:-suffix])
    if not old or not new:
        return None
    return old + "/", new + "/"


# == backends: a TF1 graph, or TF2 objects ===================================================
def _suggest(name: str, names: Iterable[str]) -> list[str]:
    names = list(names)
    close = difflib.get_close_matches(name, names, n=5, cutoff=0.5)
    leaf = name.split(":")[0].split("/")[-1].lower()
    substring = [n for n in names if leaf and leaf in n.lower() and n not in close]
    return (close + sorted(substring, key=len))[:8]


class _GraphBackend:
    """A ``tf.Graph`` and the ``tf.compat.v1.Session`` that runs it."""

    kind = "tf1 graph"

    def __init__(
        self,
        graph,
        session,
        *,
        owns_session: bool,
        trusted: bool,
        import_scope=None,
        file_saver=None,
        path=None,
    ) -> None:
        self.graph = graph
        self.session = session
        self.owns_session = owns_session
        self.trusted = trusted
        self.import_scope = import_scope
        self.file_saver = file_saver
        self.path = path
        self._assign_ops: dict[str, tuple[Any, Any]] = {}
        self._read_tensors: dict[str, Any] = {}
        self._saver = None
        self._graph_def_cache: tuple[int, Any] | None = None
        self._checked: dict[tuple, list[str]] = {}  # (fetches, feeds) -> unfed placeholders
        self._guarded: dict[tuple, safety.SafetyReport] = {}  # (fetches, feeds) -> report
        self._saver_keys: dict[str, str] | None = None

    # -- variables ---------------------------------------------------------------------------
    def variables(self) -> dict[str, Any]:
        with self.graph.as_default():
            variables = tf().compat.v1.global_variables()
        return {v.op.name: v for v in variables}

    def hints(self, checkpoint_vars: Mapping[str, Any]) -> dict[str, str]:
        return {}

    def default_key(self, name: str) -> str:
        """The checkpoint key of a variable: the one the file's Saver uses for it, else its
        name without ``import_scope``."""
        if self._saver_keys is None:
            self._saver_keys = _keys_of_saver(self.graph, self.file_saver)
        if name in self._saver_keys:
            return self._saver_keys[name]
        scope = (self.import_scope or "").rstrip("/")
        return name[len(scope) + 1 :] if scope and name.startswith(scope + "/") else name

    @staticmethod
    def describe(variable) -> tuple[tuple, str]:
        shape = variable.shape
        dims = tuple(shape.as_list()) if shape.rank is not None else ()
        return dims, variable.dtype.base_dtype.name

    def name_of(self, variable) -> str:
        return variable if isinstance(variable, str) else variable.op.name

    def read_tensor(self, name: str):
        if name not in self._read_tensors:
            variable = self.variables()[name]
            element = getattr(variable, "_graph_element", None)
            if element is None or element.dtype == tf().resource:
                with self.graph.as_default():
                    element = variable.read_value()
            self._read_tensors[name] = element
        return self._read_tensors[name]

    def values(self, names: Iterable[str]) -> dict[str, np.ndarray]:
        names = list(names)
        fetched = self.run([self.read_tensor(n) for n in names])
        return {n: np.array(v) for n, v in zip(names, fetched)}

    def initialize_uninitialized(self, names: Iterable[str]) -> list[str]:
        """Run the initializers of those variables in ``names`` that have no value yet (after
        a partial restore); the initializers are checked like any other fetch. Returns the
        names initialized."""
        variables = self.variables()
        candidates = [variables[n] for n in names if n in variables]
        if not candidates:
            return []
        v1 = tf().compat.v1
        with self.graph.as_default():
            is_set = [v1.is_variable_initialized(v) for v in candidates]
        flags = self.run(is_set)
        missing = [v for v, initialized in zip(candidates, flags) if not initialized]
        if missing:
            initializers = [v.initializer for v in missing]
            self.check(initializers, [])
            self.run(initializers)
        return [v.op.name for v in missing]

    def assign(self, values: Mapping[str, np.ndarray]) -> None:
        ops, feed = [], {}
        for name, value in values.items():
            placeholder, op = self._assign_op(name)
            ops.append(op)
            feed[placeholder] = value
        if ops:
            self.run(ops, feed)

    def _assign_op(self, name: str):
        if name not in self._assign_ops:
            variable = self.variables()[name]
            v1 = tf().compat.v1
            with self.graph.as_default(), self.graph.name_scope("tfexplore_assign/"):
                placeholder = v1.placeholder(variable.dtype.base_dtype, variable.shape)
                op = variable.assign(placeholder, read_value=False)
            self._assign_ops[name] = (placeholder, op)
        return self._assign_ops[name]

    # -- running -----------------------------------------------------------------------------
    def run(self, fetches, feed=None, *, saver_def=None, assets=()):
        """``session.run`` after :meth:`guard`; ``saver_def`` only for a Saver's own restore or
        save with its filename tensor fed with the prefix the user chose; ``assets`` only for
        a SavedModel's init op, with asset tensors fed with paths checked inside assets/."""
        self.guard(_flatten(fetches), feed or {}, saver_def, assets)
        with self.translate_run_errors():
            return self.session.run(fetches, feed)

    def guard(self, fetches: list, feeds: Iterable, saver_def=None, assets=()) -> safety.SafetyReport:
        """The safety check of everything this session runs (every ``run``, callable and
        save goes through here, whatever asked for it: a restore, a variable read that
        TensorFlow follows to ``VariableDef.snapshot_name``, an initializer, ``global_step``):
        the closure of ``fetches`` given ``feeds``, refused unless on the allowlist (checked
        once per fetch/feed names). Checkpoint I/O is accepted only with ``saver_def``, which
        only the Saver's restore and save pass (a file-chosen feed, such as an asset tensor,
        never makes a Saver's file name)."""
        fetch_names = tuple(_graph_name(f) for f in fetches)
        feed_names = tuple(sorted(_graph_name(f) for f in feeds))
        asset_names = tuple(sorted(assets))
        key = (fetch_names, feed_names, saver_def.filename_tensor_name if saver_def else None,
               asset_names)
        report = self._guarded.get(key)
        if report is None:
            report = safety.check(
                self.graph_def(), list(fetch_names), feeds=list(feed_names), saver_def=saver_def,
                assets=list(asset_names),
                trust=self.trusted, path=self.path,
            )  # fmt: skip
            self._guarded[key] = report
        return report

    def callable(self, fetches: list, feed_list: list) -> Callable[..., list]:
        """A function of the feed values (in ``feed_list`` order) that runs ``fetches`` and
        returns their values as a list, with far less overhead per call than :meth:`run`
        (for training loops); errors are translated the same way.

        It is a callable made from ``CallableOptions`` (what Keras' TF1 backend used), fed
        with arrays converted to each placeholder's dtype; where that cannot be made (an
        unusual fetch), ``session.run`` with a feed dict."""
        self.guard(_flatten(fetches), list(feed_list))
        function = self._fast_callable(fetches, feed_list)
        if function is None:

            def function(*values):
                return self.session.run(fetches, dict(zip(feed_list, values)))

        def call(*values):
            with self.translate_run_errors():
                return function(*values)

        return call

    def _fast_callable(self, fetches: list, feed_list: list):
        tensorflow = tf()
        make = getattr(self.session, "_make_callable_from_options", None)
        if make is None:
            return None
        from tensorflow.core.protobuf import config_pb2

        options = config_pb2.CallableOptions()
        outputs: list[bool] = []  # per fetch: has a value (a tensor) or not (an op)
        try:
            for fetch in fetches:
                if isinstance(fetch, tensorflow.Operation):
                    options.target.append(fetch.name)
                    outputs.append(False)
                else:
                    options.fetch.append(fetch.name)
                    outputs.append(True)
            options.feed.extend(t.name for t in feed_list)
            dtypes = [t.dtype.as_numpy_dtype for t in feed_list]
            with self.translate_run_errors():
                function = make(options)
        except (AttributeError, TypeError, ValueError, TFExploreError):
            return None

        def run(*values):
            arrays = [np.asarray(v, dtype=d) for v, d in zip(values, dtypes)]
            results = iter(function(*arrays))
            return [next(results) if has_value else None for has_value in outputs]

        return run

    @contextlib.contextmanager
    def translate_run_errors(self) -> Iterator[None]:
        tensorflow = tf()
        try:
            yield
        except tensorflow.errors.FailedPreconditionError as exc:
            raise TFExploreError(
                f"A variable has no value yet: {_first_line(exc)}",
                path=self.path,
                expected="variables restored from a checkpoint or initialized",
                hint="call session.restore(checkpoint) first",
            ) from exc
        except tensorflow.errors.NotFoundError as exc:  # a file an op reads is not there
            raise ArtifactNotFoundError(
                f"TensorFlow failed while running the graph, a file is missing: {_first_line(exc)}",
                path=self.path,
                expected="every file the graph reads (a checkpoint's .index and .data-* files)",
                hint="copy the missing file next to the others, or restore another checkpoint",
            ) from exc
        except tensorflow.errors.OpError as exc:
            raise TFExploreError(
                f"TensorFlow failed while running the graph: {_first_line(exc)}",
                path=self.path,
                hint=_FEED_HINT,
            ) from exc

    def graph_def(self):
        if self._graph_def_cache is None or self._graph_def_cache[0] != self.graph.version:
            self._graph_def_cache = (self.graph.version, self.graph.as_graph_def())
        return self._graph_def_cache[1]

    def check(self, fetches: list, feeds: Iterable) -> None:
        """Refuse fetches whose ops touch files, the network or Python (unless trusted), and
        name the placeholders they need that are not fed."""
        fetch_names = [_graph_name(f) for f in fetches]
        feed_names = sorted(_graph_name(f) for f in feeds)
        key = (tuple(fetch_names), tuple(feed_names))
        if key not in self._checked:
            report = self.guard(fetch_names, feed_names)
            self._checked[key] = self._unfed_placeholders(report.ops, feed_names)
        needed = self._checked[key]
        if needed:
            error = MissingFeedError(
                f"Evaluating {', '.join(repr(f) for f in fetch_names[:3])} needs a value for "
                f"{len(needed)} placeholder(s): {', '.join(needed)}.",
                path=self.path,
                expected="feed={" + ", ".join(f"{n!r}: array" for n in needed) + "}",
                hint="pass feed= with a value for each (shapes: "
                + ", ".join(f"{n} {self._shape(n)}" for n in needed)
                + ")",
            )
            error.placeholders = needed
            raise error

    def _unfed_placeholders(self, ops: Iterable[str], feed_names: Iterable[str]) -> list[str]:
        fed_nodes = {n.split(":")[0] for n in feed_names}
        needed = []
        for name in ops:
            if name in fed_nodes or safety.FUNCTION_SEPARATOR in name:
                continue
            try:
                op = self.graph.get_operation_by_name(name)
            except KeyError:
                continue
            if op.type == "Placeholder":
                needed.append(name)
        return sorted(needed)

    def _shape(self, name: str) -> str:
        try:
            return str(self.graph.get_tensor_by_name(name + ":0").shape)
        except (KeyError, ValueError):
            return "?"

    # -- names -------------------------------------------------------------------------------
    def resolve(self, name):
        """A name (``'x:0'``, ``'x'``, a variable name) or TF object -> what to fetch."""
        tensorflow = tf()
        if isinstance(name, (tensorflow.Tensor, tensorflow.Operation)):
            return self._value_of(name)
        if isinstance(name, tensorflow.Variable):
            return self.read_tensor(name.op.name)
        if not isinstance(name, str):
            raise TypeError(f"cannot fetch {name!r}: expected a name, a tensor or a variable")
        for candidate in self._candidates(name):
            found = self._lookup(candidate)
            if found is not None:
                return self._value_of(found)
        names = [
            op.name for op in self.graph.get_operations() if not op.name.startswith("tfexplore_")
        ]
        raise TensorNotFoundError(
            f"No tensor or op named {name!r} in the graph.",
            suggestions=_suggest(name.split(":")[0], names),
            path=self.path,
            expected="an op name ('loss/mse'), a tensor name ('loss/mse:0') or a variable name",
        )

    def _candidates(self, name: str) -> list[str]:
        scope = (self.import_scope or "").rstrip("/")
        return [name, f"{scope}/{name}"] if scope and not name.startswith(scope + "/") else [name]

    def _lookup(self, name: str):
        try:
            if ":" in name:
                return self.graph.get_tensor_by_name(name)
            op = self.graph.get_operation_by_name(name)
        except (KeyError, ValueError):
            return None
        return op.outputs[0] if op.outputs else op

    def _value_of(self, item):
        """A resource handle of a variable -> the variable's value."""
        tensorflow = tf()
        if isinstance(item, tensorflow.Tensor) and item.dtype == tensorflow.resource:
            variables = self.variables()
            if item.op.name in variables:
                return self.read_tensor(item.op.name)
        return item

    # -- saving ------------------------------------------------------------------------------
    def write(self, prefix: str) -> None:
        """Write every variable (under its original name) to ``prefix`` (+ ``.meta``)."""
        saver = self._own_saver()
        saver_def = saver.saver_def  # tfexplore's own Saver, but its inputs come from the file
        self.guard([saver_def.save_tensor_name], [saver_def.filename_tensor_name], saver_def)
        with self._translate("save"), self.graph.as_default():
            saver.save(self.session, prefix, write_meta_graph=False, write_state=False)
            saver.export_meta_graph(
                prefix + ".meta", clear_devices=False, clear_extraneous_savers=False
            )

    def _own_saver(self):
        if self._saver is None:
            v1 = tf().compat.v1
            var_list = {self.default_key(n): v for n, v in self.variables().items()}
            with self.graph.as_default():
                self._saver = v1.train.Saver(
                    var_list=var_list,
                    name="tfexplore_save",
                    max_to_keep=None,
                    save_relative_paths=True,
                )
        return self._saver

    @contextlib.contextmanager
    def _translate(self, what: str) -> Iterator[None]:
        try:
            yield
        except tf().errors.OpError as exc:
            raise TFExploreError(
                f"TensorFlow failed to {what}: {_first_line(exc)}", path=self.path
            ) from exc

    def close(self) -> None:
        if self.owns_session:
            self.session.close()


def _keys_of_saver(graph, saver) -> dict[str, str]:
    """``{variable name: checkpoint key}`` as a Saver's restore op has them: each
    ``RestoreV2`` output flows (through ``Identity``) into an assign to one variable."""
    if saver is None or saver.saver_def is None or not saver.saver_def.restore_op_name:
        return {}
    from tensorflow.python.framework import tensor_util

    scope = saver.saver_def.restore_op_name.rsplit("/", 1)[0] + "/"
    keys = {}
    for op in graph.get_operations():
        if op.type != "RestoreV2" or not op.name.startswith(scope):
            continue
        names = tensor_util.constant_value(op.inputs[1])
        if names is None:
            continue
        for output, key in zip(op.outputs, names):
            variable = _assigned_variable(output)
            if variable is not None:
                keys[variable] = key.decode() if isinstance(key, bytes) else str(key)
    return keys


def _assigned_variable(tensor, depth: int = 4) -> str | None:
    for consumer in tensor.consumers():
        if consumer.type in ("Assign", "AssignVariableOp"):
            return consumer.inputs[0].op.name
        if consumer.type == "Identity" and depth:
            found = _assigned_variable(consumer.outputs[0], depth - 1)
            if found:
                return found
    return None


def _graph_name(item) -> str:
    return getattr(item, "name", item)


class _ObjectBackend:
    """TF2 trackable objects (a Keras model and its optimizer, a ``tf.train.Checkpoint``)."""

    kind = "tf2 objects"

    def __init__(self, root, *, model=None, optimizer=None, path=None) -> None:
        self.root = root
        self.model = model
        self.optimizer = optimizer
        self.path = path
        self._variables: dict[str, Any] | None = None
        self._keys: dict[str, str] = {}

    def variables(self) -> dict[str, Any]:
        if self._variables is None:
            self._variables, self._keys = _walk_trackables(self.root)
        return self._variables

    def default_key(self, name: str) -> str:
        self.variables()
        return self._keys[name]

    @staticmethod
    def describe(variable) -> tuple[tuple, str]:
        dtype = variable.dtype
        return tuple(variable.shape), getattr(dtype, "name", str(dtype))

    def name_of(self, variable) -> str:
        if isinstance(variable, str):
            return variable
        for name, candidate in self.variables().items():
            if candidate is variable:
                return name
        raise TensorNotFoundError(f"{variable!r} is not one of the session's variables.")

    def values(self, names: Iterable[str]) -> dict[str, np.ndarray]:
        variables = self.variables()
        return {n: np.array(variables[n].numpy()) for n in names}

    def assign(self, values: Mapping[str, np.ndarray]) -> None:
        variables = self.variables()
        for name, value in values.items():
            variables[name].assign(value)

    def resolve(self, name):
        variables = self.variables()
        if not isinstance(name, str):
            return name
        by_key = {k: n for n, k in self._keys.items()}
        for candidate in (
            name,
            name.split(":")[0],
            by_key.get(name),
            by_key.get(name + TF2_VALUE_SUFFIX),
        ):
            if candidate in variables:
                return variables[candidate]
        raise TensorNotFoundError(
            f"No variable named {name!r}.",
            suggestions=_suggest(name, list(variables) + list(self._keys.values())),
            expected="a variable path ('sequential/dense/kernel') or its checkpoint key",
        )

    def write(self, prefix: str) -> None:
        root = self.root
        if not hasattr(root, "write"):  # a loaded SavedModel object: same keys as its own
            root = tf().train.Checkpoint(root=root)
        root.write(prefix)

    def hints(self, checkpoint_vars: Mapping[str, Any]) -> dict[str, str]:
        """Keras 3 checkpoints written with the optimizer keep the model's weights under the
        optimizer, as ``.../_trainable_variables/N``: the model's N-th trainable variable."""
        if self.model is None:
            return {}
        pattern = re.compile(r"^(.*?)_trainable_variables/(\d+)" + re.escape(TF2_VALUE_SUFFIX) + "$")
        by_index: dict[int, list[str]] = {}
        for key in checkpoint_vars:
            match = pattern.match(key)
            if match:
                by_index.setdefault(int(match.group(2)), []).append(key)
        hints = {}
        for index, variable in enumerate(self.model.trainable_variables):
            keys = by_index.get(index, [])
            if len(keys) == 1:
                hints[self.name_of(variable)] = keys[0]
        return hints

    def close(self) -> None:
        pass


def _walk_trackables(root) -> tuple[dict[str, Any], dict[str, str]]:
    """Every variable reachable from ``root``: ``{name: variable}`` and ``{name: checkpoint key}``
    (the keys ``tf.train.Checkpoint`` writes)."""
    tf()
    from tensorflow.python.checkpoint import graph_view
    from tensorflow.python.checkpoint import util as checkpoint_util
    from tensorflow.python.trackable import trackable_utils

    objects, paths = checkpoint_util.objects_ids_and_slot_variables_and_paths(
        graph_view.ObjectGraphView(root)
    )[:2]
    variables, keys = {}, {}
    for obj in objects:
        if not (hasattr(obj, "assign") and hasattr(obj, "shape") and hasattr(obj, "numpy")):
            continue
        key = trackable_utils.object_path_to_string(paths[obj]) + TF2_VALUE_SUFFIX
        if key == "save_counter" + TF2_VALUE_SUFFIX:  # tf.train.Checkpoint's own bookkeeping
            continue
        name = getattr(obj, "path", None) or getattr(obj, "name", key).split(":")[0]
        if name in variables:
            name = key
        variables[name] = obj
        keys[name] = key
    return variables, keys


class _StepCounter:
    """``global_step`` during a training loop without a second ``session.run`` per step.

    The first step is read before and after. If the train op adds exactly 1 (what
    ``Optimizer.minimize(global_step=...)`` does), later steps count on locally and the value
    is read again every ``verify_every`` steps and when the loop ends (:meth:`finish`); a
    mismatch switches back to reading after every step. A train op that does not add 1 is read
    after every step from the start.
    """

    verify_every = 200

    def __init__(self, backend: _GraphBackend, name: str) -> None:
        read = backend.read_tensor(name)
        self._read = backend.callable(read, [])
        self._value: int | None = None
        self._counting = False
        self._since_check = 0

    def reset(self) -> None:
        """Forget the count (other ops may have run since the last loop): read it again."""
        self._value = None
        self._counting = False

    def read(self) -> int:
        self._value = int(self._read())
        self._since_check = 0
        return self._value

    def before_step(self) -> None:
        if self._value is None:
            self.read()

    def after_step(self) -> int:
        if self._counting and self._since_check < self.verify_every:
            self._value += 1
            self._since_check += 1
            return self._value
        expected = self._value + 1
        actual = self.read()
        self._counting = actual == expected
        return actual

    def finish(self) -> int:
        """Read the true value (and stop counting if it differs from the count)."""
        counted = self._value
        actual = self.read()
        if actual != counted:
            self._counting = False
        return actual


# == the session =============================================================================
class Session:
    """A live TensorFlow session over a graph (TF1) or trackable objects (TF2).

    Made by :func:`session`. Methods: :meth:`restore`, :meth:`eval`, :meth:`train`,
    :meth:`snapshot`/:meth:`rollback`, :meth:`save`, :meth:`stop`, :meth:`close`. ``history``
    holds every training step so far; ``variables`` lists the variables.
    """

    def __init__(
        self,
        backend,
        *,
        source: str,
        checkpoint: str | None = None,
        devices_cleared: Iterable[str] = (),
    ) -> None:
        self._backend = backend
        self.source = source
        self.checkpoint = checkpoint
        self.devices_cleared = sorted(set(devices_cleared))
        self.last_restore: RestoreReport | None = None
        self._snapshots: dict[str, dict[str, np.ndarray]] = {}
        self._history_rows: list[dict] = []
        self._stop = threading.Event()
        self._closed = False
        self._global_step_seen: int | None = None
        self._feed_targets: dict[str, Any] = {}  # feed name -> tensor, resolved once
        #: what opening the source did that a user should know (how optimizer state matched)
        self.notes: list[str] = []
        #: a problem that did not stop the session (optimizer state not loaded), else None
        self.warning: str | None = None
        self._step_runners: dict[tuple, Callable] = {}  # (train_op, loss, record) -> runner
        #: rehearse the first training step in a separate process first (``tfexplore._native``):
        #: ``None`` when a known native crash applies to this machine and model, or always/never
        self.rehearse: bool | None = None
        self._reopen: dict | None = None  # session() arguments that open this source again
        self._rehearsed: set[tuple] = set()
        #: a GraphDef session (a frozen graph): weights are constants, nothing to restore
        self.frozen = False
        self._loss_choice: str | None = None  # Session.loss, when set
        self._loss_cache: dict[str, list] = {}  # train op name -> losses.find_losses

    # -- description -------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        """``"tf1 graph"`` or ``"tf2 objects"``."""
        return self._backend.kind

    @property
    def graph(self):
        """The ``tf.Graph`` (TF1 sessions), else ``None``."""
        return getattr(self._backend, "graph", None)

    @property
    def tf_session(self):
        """The underlying ``tf.compat.v1.Session`` (TF1 sessions), else ``None``."""
        return getattr(self._backend, "session", None)

    @property
    def variables(self):
        """A DataFrame: ``name``, ``checkpoint_key``, ``shape``, ``dtype``."""
        import pandas as pd

        rows = []
        for name, variable in self._backend.variables().items():
            shape, dtype = self._backend.describe(variable)
            rows.append(
                {
                    "name": name,
                    "checkpoint_key": self._backend.default_key(name),
                    "shape": shape,
                    "dtype": dtype,
                }
            )
        return pd.DataFrame(rows, columns=["name", "checkpoint_key", "shape", "dtype"])

    @property
    def history(self):
        """Every training step run in this session: ``step``, ``global_step``, ``loss``,
        recorded values, ``seconds``."""
        import pandas as pd

        return pd.DataFrame(self._history_rows)

    def __repr__(self) -> str:
        lines = [
            f"<tfexplore Session ({self.kind}){' closed' if self._closed else ''}>",
            f"  source       {self.source}",
            f"  checkpoint   {self.checkpoint or '(none restored)'}",
            f"  variables    {len(self._backend.variables())}",
        ]
        if self._global_step_seen is not None:
            lines.append(f"  global_step  {self._global_step_seen}")
        if self._history_rows:
            lines.append(f"  history      {len(self._history_rows)} steps")
        if self.devices_cleared:
            lines.append(f"  devices      cleared: {', '.join(self.devices_cleared)}")
        if self.warning:
            lines.append(f"  warning      {self.warning}")
        return "\n".join(lines)

    # -- restore -----------------------------------------------------------------------------
    def plan_restore(self, checkpoint=None, *, mapping=None, prefix_rewrite=None) -> RestoreReport:
        """What :meth:`restore` would do, without changing any variable."""
        import pandas as pd

        prefix = self._resolve_checkpoint(checkpoint)
        checkpoint_vars = _checkpoint_variables(prefix)
        graph_vars = {}
        for name, variable in self._backend.variables().items():
            shape, dtype = self._backend.describe(variable)
            graph_vars[name] = (shape, dtype, self._backend.default_key(name))
        explicit = {key: self._backend.name_of(v) for key, v in (mapping or {}).items()}
        unknown = [n for n in explicit.values() if n not in graph_vars]
        if unknown:
            raise TensorNotFoundError(
                f"The mapping names variables that do not exist: {', '.join(map(repr, unknown))}.",
                suggestions=_suggest(unknown[0], graph_vars),
                expected="{checkpoint_key: variable or variable name}",
            )
        rows = _plan(graph_vars, checkpoint_vars, explicit, prefix_rewrite or {})
        proposed, rewrite = ({}, {})
        if any(r["status"] in PROBLEMS for r in rows):
            proposed, rewrite = _propose(rows, self._backend.hints(checkpoint_vars))
        frame = pd.DataFrame(rows, columns=_COLUMNS)
        return RestoreReport(
            frame,
            checkpoint=prefix,
            proposed_mapping=proposed,
            proposed_prefix_rewrite=rewrite,
            devices_cleared=self.devices_cleared,
        )

    def restore(
        self,
        checkpoint=None,
        *,
        mapping: Mapping[str, Any] | None = None,
        prefix_rewrite: Mapping[str, str] | None = None,
        partial: bool = False,
    ) -> RestoreReport:
        """Restore variables from a checkpoint and return the :class:`RestoreReport`.

        ``checkpoint``: a prefix, a folder (its latest checkpoint), a step number (in the
        session's folder) or ``None`` (the session's checkpoint). ``mapping``:
        ``{checkpoint_key: variable or name}`` like a Saver's ``var_list``; variables it does
        not name are matched by name. ``prefix_rewrite={"old/": "new/"}`` reads checkpoint key
        ``old/x`` into variable ``new/x``. With ``partial=True`` what fits is restored and the
        rest is reported, and variables that were not restored and have no value yet are
        initialized by their own initializers (``report.initialized`` names them); without
        it any missing or mismatched variable raises :class:`RestoreMismatchError` and nothing
        is restored.

        Example::

            >>> report = s.restore("old/model.ckpt-30", prefix_rewrite={"old/": "new/"})  # doctest: +SKIP
        """
        report = self.plan_restore(checkpoint, mapping=mapping, prefix_rewrite=prefix_rewrite)
        if not report.ok and not partial:
            raise self._mismatch_error(report)
        _require_data(report.checkpoint)  # a missing .data file is named before anything runs
        pairs = report.mapping
        if self._can_use_file_saver(report, mapping, prefix_rewrite):
            self._run_file_restore(report.checkpoint)
        else:
            self._assign_from_checkpoint(report.checkpoint, pairs)
        if not report.ok and isinstance(self._backend, _GraphBackend):
            restored = set(pairs.values())
            others = [n for n in self._backend.variables() if n not in restored]
            report.initialized = self._backend.initialize_uninitialized(others)
        report.applied = True
        self.checkpoint = report.checkpoint
        self.last_restore = report
        self._global_step_seen = self._read_global_step()
        return report

    def _mismatch_error(self, report: RestoreReport) -> RestoreMismatchError:
        problems = report.problems
        shown = ", ".join(f"{r.graph_name} ({r.status})" for r in problems.head(4).itertuples())
        hint = "restore(..., partial=True) restores what fits"
        if report.proposed_prefix_rewrite:
            hint = f"restore(..., prefix_rewrite={report.proposed_prefix_rewrite!r}); or " + hint
        elif report.proposed_mapping:
            hint = "restore(..., mapping=err.report.proposed_mapping); or " + hint
        error = RestoreMismatchError(
            f"{len(problems)} variable(s) do not fit the checkpoint: {shown}"
            f"{' ...' if len(problems) > 4 else ''}. Nothing was restored.",
            path=report.checkpoint,
            expected="every variable in the checkpoint under its name, with the same shape and dtype",
            hint=hint,
        )
        error.report = report
        error.session = self
        return error

    def _can_use_file_saver(self, report, mapping, prefix_rewrite) -> bool:
        backend = self._backend
        saver = getattr(backend, "file_saver", None)
        every_variable = (report.frame["status"] == "restored").sum() == len(backend.variables())
        return (
            saver is not None
            and not mapping
            and not prefix_rewrite
            and report.ok
            and every_variable
        )

    def _run_file_restore(self, prefix: str) -> None:
        """Run the file's own SaverDef restore op (it passed the safety check, or is trusted)."""
        saver_def = self._backend.file_saver.saver_def
        try:
            self._backend.run(
                saver_def.restore_op_name, {saver_def.filename_tensor_name: prefix},
                saver_def=saver_def,
            )  # fmt: skip
        except TFExploreError as exc:
            if exc.hint != _FEED_HINT:
                raise
            raise type(exc)(  # the cause line is TensorFlow's; the hint is about the files
                exc.message.replace("running the graph", f"restoring {prefix!r}"),
                path=prefix,
                expected="an intact checkpoint, as its Saver wrote it",
                hint="tfexplore.open(prefix).stats() reads every tensor and names a damaged one",
            ) from exc.__cause__

    def _assign_from_checkpoint(self, prefix: str, pairs: Mapping[str, str]) -> None:
        reader = _reader(prefix)
        with _translate_read(prefix):
            values = {name: reader.get_tensor(key) for key, name in pairs.items()}
        self._backend.assign(values)

    def _resolve_checkpoint(self, checkpoint) -> str:
        if self.frozen:
            raise TFExploreError(
                f"Nothing to restore: {_FROZEN_NOTE}.",
                path=self._backend.path,
                expected="a session of a .meta graph, a checkpoint folder or a SavedModel",
                hint="session.eval(name, feed=...) evaluates this graph as it is",
            )
        if checkpoint is None:
            if self.checkpoint is None:
                raise ArtifactNotFoundError(
                    "This session has no checkpoint to restore from.",
                    expected="a checkpoint prefix or folder",
                    hint="pass one: session.restore('runs/x/model.ckpt-30')",
                )
            return self.checkpoint
        if isinstance(checkpoint, int) and not isinstance(checkpoint, bool):
            return _checkpoint_for_step(self.checkpoint, checkpoint)
        return _resolve_prefix(checkpoint)

    @property
    def global_step(self) -> int | None:
        """The current value of ``global_step`` (TF1) or the optimizer's ``iterations``
        (Keras), or ``None`` when the model has no step counter."""
        return self._read_global_step()

    def _read_global_step(self) -> int | None:
        name = self._global_step_name()
        if name is None:
            return None
        return int(self._backend.values([name])[name])

    def _global_step_name(self) -> str | None:
        backend = self._backend
        if isinstance(backend, _ObjectBackend):
            optimizer = backend.optimizer
            iterations = getattr(optimizer, "iterations", None)
            return backend.name_of(iterations) if iterations is not None else None
        with backend.graph.as_default():
            collected = tf().compat.v1.get_collection("global_step")
        if collected:
            return collected[0].op.name
        names = [n for n in backend.variables() if n.split("/")[-1] == "global_step"]
        return names[0] if names else None

    # -- eval --------------------------------------------------------------------------------
    def eval(self, names, feed: Mapping[Any, Any] | None = None):
        """Evaluate tensors, ops or variables by name.

        ``names``: one name (``"loss/mse:0"``, ``"loss/mse"`` for its first output, a variable
        name such as ``"global_step"``: its value, not its resource handle), a list or a dict of
        names. ``feed``: ``{placeholder name or tensor: value}``.

        Example::

            >>> s.eval("global_step")                                    # doctest: +SKIP
            30
            >>> s.eval({"loss": "loss/mse"}, feed={"inputs/x": x, "inputs/y": y})  # doctest: +SKIP
        """
        self._require_open()
        if isinstance(self._backend, _ObjectBackend):
            return _map_structure(names, lambda n: np.array(self._backend.resolve(n).numpy()))
        fetches = _map_structure(names, self._backend.resolve)
        feed_dict = self._feed_dict(feed)
        self._backend.check(_flatten(fetches), feed_dict)
        values = self._backend.run(fetches, feed_dict)
        return _map_structure(values, _plain)

    def _feed_dict(self, feed) -> dict:
        if not feed:
            return {}
        feed_dict = {}
        targets = self._feed_targets
        for key, value in feed.items():
            if not isinstance(key, str):
                feed_dict[key] = value
                continue
            target = targets.get(key)
            if target is None:
                target = targets[key] = self._backend.resolve(key if ":" in key else key + ":0")
            feed_dict[target] = value
        return feed_dict

    # -- train -------------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask a running :meth:`train` to stop after the current step (thread-safe)."""
        self._stop.set()

    def train(
        self,
        steps: int,
        feed=None,
        *,
        train_op=None,
        loss=None,
        record: Iterable[str] = (),
        callback: Callable[[dict], Any] | None = None,
    ):
        """Run ``steps`` training steps and return one DataFrame row per step.

        TF1 graphs: the train op is the ``train_op`` collection's (or ``train_op=`` names it),
        the loss ``loss=``, else :attr:`loss` (the ``loss``/``losses`` collection's, else the
        loss the train op minimizes, found from its gradients), ``global_step`` the
        collection's or the variable named so; all continue from the restored checkpoint, with
        the optimizer's slots. TF2 objects: a compiled Keras model trains with
        ``train_on_batch(x, y)``; otherwise pass ``loss=callable(batch) -> scalar`` and the
        optimizer applies its gradients.

        ``feed``: ``None``, a dict (the same every step), ``callable(step) -> dict`` or a
        ``tf.data.Dataset`` (elements: dicts by placeholder name, or tuples in placeholder
        order). ``record``: more scalars to log each step. ``callback(row)`` after each step.
        Stops cleanly between steps on Ctrl-C (KeyboardInterrupt) or :meth:`stop`.

        Example::

            >>> s.train(5, feed={"inputs/x": x, "inputs/y": y})       # doctest: +SKIP
               step  global_step      loss   seconds
            0     1           31  0.0213    0.004
        """
        self._require_open()
        if self.frozen:
            raise TFExploreError(
                f"Nothing to train: {_FROZEN_NOTE}.",
                path=self._backend.path,
                expected="a session of a .meta graph with a train op, or of a Keras model",
                hint="session.eval(name, feed=...) evaluates this graph as it is",
            )
        self._stop.clear()
        if isinstance(self._backend, _ObjectBackend):
            run_step = self._keras_step_runner(loss, record)
        else:
            record = tuple(record)
            try:
                run_step = self._step_runners.get((train_op, loss, record))
            except TypeError:  # an unhashable train_op= or loss=: no reuse
                run_step = self._graph_step_runner(train_op, loss, record)
            if run_step is None:
                run_step = self._graph_step_runner(train_op, loss, record)
                self._step_runners[(train_op, loss, record)] = run_step
            run_step.start()
        feeds = _feed_source(feed)
        rows: list[dict] = []
        with _interrupts_as(self._stop):
            for index in range(steps):
                if self._stop.is_set():
                    break
                try:
                    batch = next(feeds)(index)
                except StopIteration:
                    break
                if index == 0:
                    self._guard_native_crash(batch, train_op, loss)
                started = time.perf_counter()
                row = run_step(batch)
                row = {
                    "step": len(self._history_rows) + 1,
                    **row,
                    "seconds": time.perf_counter() - started,
                }
                self._history_rows.append(row)
                rows.append(row)
                self._global_step_seen = row.get("global_step", self._global_step_seen)
                if callback is not None:
                    callback(row)
            finish = getattr(run_step, "finish", None)
            if rows and finish is not None:
                actual = finish()
                if actual != rows[-1].get("global_step"):
                    rows[-1]["global_step"] = actual
                self._global_step_seen = actual
        import pandas as pd

        return pd.DataFrame(rows)

    def _guard_native_crash(self, batch, train_op, loss) -> None:
        """Before the first step: if it would run a kernel known to crash this machine's
        process (``tfexplore._native``), run it once in a child process first; raise
        :class:`NativeCrashError` if that child dies, so this kernel never does."""
        from . import _native

        key = (train_op, loss) if all(x is None or isinstance(x, str) for x in (train_op, loss)) else None
        if self.rehearse is False or key in self._rehearsed or os.environ.get(_native.IN_REHEARSAL):
            return
        risks = _native.active_risks(self._training_op_types())
        if not risks and not self.rehearse:
            return
        if key is not None:
            self._rehearsed.add(key)
        what = "; ".join(r.cause for r in risks) or "you asked for it (session.rehearse = True)"
        result = None
        if self._reopen is not None and key is not None:
            result = _native.rehearse(self._reopen, batch, train={"train_op": train_op, "loss": loss})
        if result is None:
            self.notes.append(
                f"The first training step was not rehearsed in a separate process ({what}): "
                "this session was not opened from a file, or its feed or train_op is not "
                "plain data. A crash in TensorFlow's native code would end this process."
            )
            return
        if result.crashed:
            risk = risks[0] if risks else None
            error = NativeCrashError(
                f"The first training step of {self.source} crashed TensorFlow's native code "
                f"({result.signal_name}) when tfexplore rehearsed it in a separate process; it "
                "was not run here, and this kernel is unharmed.",
                path=self.source if self._reopen else None,
                expected=f"a step that runs on this machine; known cause: {what}"
                if risk else "a step that runs on this machine",
                hint=risk.avoid if risk else (
                    "run the same step in a plain Python process to see TensorFlow's message; "
                    "on x86 CPUs try TF_ENABLE_ONEDNN_OPTS=0 set before TensorFlow is imported"
                ),
            )
            error.risk = risk.name if risk else None
            error.signal = result.signal_name
            raise error
        self.notes.append(
            f"The first training step was rehearsed in a separate process first ({what}); "
            "it ran without crashing, so training goes on here."
        )

    def _training_op_types(self) -> set[str]:
        """The op types a training step may run (all of the graph's, or the Keras layers')."""
        from . import _native

        backend = self._backend
        if isinstance(backend, _ObjectBackend):
            model = getattr(backend, "model", None)
            return _native.keras_training_op_types(model) if model is not None else set()
        return {op.type for op in backend.graph.get_operations()}

    def _graph_step_runner(self, train_op, loss, record):
        """One training step as a ``make_callable`` per feed signature (checked by
        ``safety`` the first time), and ``global_step`` tracked by :class:`_StepCounter`."""
        backend: _GraphBackend = self._backend
        train_fetch = self._find_train_op(train_op)
        loss_fetch = self._find_loss(loss, train_fetch)
        step_name = self._global_step_name()
        recorded = {name: backend.resolve(name) for name in record}
        fetches = [train_fetch, *([loss_fetch] if loss_fetch is not None else [])]
        fetches += list(recorded.values())
        has_loss = loss_fetch is not None
        counter = _StepCounter(backend, step_name) if step_name is not None else None
        callables: dict[tuple, Callable[..., list]] = {}

        def run_step(batch) -> dict:
            feed_dict = self._batch_feed(batch)
            signature = tuple(feed_dict)
            call = callables.get(signature)
            if call is None:
                backend.check(fetches, feed_dict)
                call = callables[signature] = backend.callable(fetches, list(signature))
            if counter is not None:
                counter.before_step()
            out = call(*feed_dict.values())
            row = {}
            if counter is not None:
                row["global_step"] = counter.after_step()
            if has_loss:  # a non-scalar loss: its sum, what minimize() minimizes
                row["loss"] = float(np.sum(out[1]))
            for offset, name in enumerate(recorded, start=1 + has_loss):
                row[name] = _plain(out[offset])
            return row

        run_step.start = counter.reset if counter is not None else (lambda: None)
        run_step.finish = counter.finish if counter is not None else None
        return run_step

    def _batch_feed(self, batch) -> dict:
        if batch is None:
            return {}
        if isinstance(batch, Mapping):
            return self._feed_dict({k: _numpy(v) for k, v in batch.items()})
        if isinstance(batch, (tuple, list)):
            placeholders = self._placeholders_in_order()
            if len(placeholders) != len(batch):
                raise TFExploreError(
                    f"A batch of {len(batch)} values cannot be matched to the graph's "
                    f"{len(placeholders)} placeholders ({', '.join(placeholders)}).",
                    expected="dataset elements as dicts {placeholder name: value}",
                    hint="map the dataset: ds.map(lambda x, y: {'inputs/x': x, 'inputs/y': y})",
                )
            return self._feed_dict({p: _numpy(v) for p, v in zip(placeholders, batch)})
        raise TypeError(f"cannot feed {type(batch).__name__}: expected a dict, a tuple or a list")

    def _placeholders_in_order(self) -> list[str]:
        return [
            op.name
            for op in self._backend.graph.get_operations()
            if op.type == "Placeholder" and not op.name.startswith("tfexplore_")
        ]

    def _find_train_op(self, train_op):
        backend: _GraphBackend = self._backend
        if train_op is not None:
            found = backend.resolve(train_op)
            return found.op if hasattr(found, "op") and not isinstance(train_op, str) else found
        with backend.graph.as_default():
            collected = tf().compat.v1.get_collection("train_op")
        if not collected:
            raise TFExploreError(
                "The graph has no 'train_op' collection, so the training op is unknown.",
                path=backend.path,
                expected="a train_op collection (tf.compat.v1.add_to_collection('train_op', op))",
                hint="name it: session.train(steps, train_op='train/Adam')",
            )
        item = collected[0]
        return item if isinstance(item, tf().Operation) else item.op

    def _find_loss(self, loss, train_op=None):
        backend: _GraphBackend = self._backend
        if loss is None:
            loss = self._loss_choice
        if loss is not None:
            return backend.resolve(loss)
        with backend.graph.as_default():
            v1 = tf().compat.v1
            collected = v1.get_collection("loss") or v1.get_collection("losses")
        if collected:
            return collected[0]
        found = self._losses_of(train_op)
        return backend.resolve(found[0].tensor) if found else None

    def _losses_of(self, train_op) -> list:
        """The losses ``train_op`` minimizes, found from its gradients (:mod:`tfexplore.losses`)."""
        from .graph import Graph
        from .losses import find_losses

        name = getattr(train_op, "name", train_op)  # None: every loss of the graph
        if name not in self._loss_cache:
            self._loss_cache[name] = find_losses(Graph(self._backend.graph_def()), name)
        return self._loss_cache[name]

    @property
    def loss_candidates(self) -> list:
        """TF1 graphs: the losses the train op (the ``train_op`` collection's; without one,
        every train op of the graph) minimizes, found from its gradients: a list of
        :class:`tfexplore.losses.LossCandidate` (``tensor``, ``op_type``, ``evidence``...), the
        one ``train`` records first. Empty for TF2 objects or when no train op is known."""
        if not isinstance(self._backend, _GraphBackend):
            return []
        try:
            return list(self._losses_of(self._find_train_op(None)))
        except TFExploreError:  # no train_op collection: every loss with a gradient
            return list(self._losses_of(None))

    @property
    def loss(self) -> str | None:
        """The loss ``train`` records (TF1 graphs): set it to a tensor name to choose another
        (``session.loss = loss_candidates[1].tensor``); ``None`` means the ``loss``/``losses``
        collection's, else the first of :attr:`loss_candidates`."""
        if self._loss_choice is not None or not isinstance(self._backend, _GraphBackend):
            return self._loss_choice
        try:
            train_op = self._find_train_op(None)
        except TFExploreError:  # no train_op collection: the losses of every train op
            train_op = None
        try:
            found = self._find_loss(None, train_op)
        except TFExploreError:
            return None
        return getattr(found, "name", None)

    @loss.setter
    def loss(self, name: str | None) -> None:
        if name is not None and isinstance(self._backend, _GraphBackend):
            self._backend.resolve(name)  # an unknown name fails now, with suggestions
        self._loss_choice = name
        self._step_runners.clear()

    def _keras_step_runner(self, loss, record):
        backend: _ObjectBackend = self._backend
        model, optimizer = backend.model, backend.optimizer
        if model is None:
            raise TFExploreError(
                f"This session ({self.source}) holds no Keras model, so there is no training "
                "step to run: a TF2 SavedModel or checkpoint keeps variables and traced "
                "functions, not the model's Python code.",
                path=getattr(backend, "path", None),
                expected="a Keras model (a .keras file, or your model object)",
                hint="tfexplore.session(model, checkpoint) with your compiled Keras model; "
                "this session can still restore, eval, snapshot and save",
            )
        if loss is None and not getattr(model, "compiled", False):
            raise TFExploreError(
                "This model is not compiled, so its loss is unknown.",
                expected="a compiled Keras model, or loss=callable(batch) -> scalar",
                hint="session.train(steps, feed=dataset, "
                "loss=lambda b: tf.reduce_mean((model(b[0]) - b[1]) ** 2))",
            )
        if model is None or (loss is not None and optimizer is None):
            raise TFExploreError(
                "Training TF2 objects needs a Keras model and an optimizer; this session has "
                f"model={type(model).__name__}, optimizer={type(optimizer).__name__}.",
                expected="tfexplore.session(model) with a compiled model, or a dict "
                "{'model': model, 'optimizer': optimizer}",
                hint="compile the model, or pass the optimizer in the dict of objects",
            )
        step_name = self._global_step_name()

        def run_step(batch) -> dict:
            if loss is None:
                x, y = batch if isinstance(batch, (tuple, list)) else (batch["x"], batch["y"])
                value = model.train_on_batch(x, y)
                value = value[0] if isinstance(value, (list, tuple)) else value
            else:
                with tf().GradientTape() as tape:
                    value = loss(batch)
                variables = model.trainable_variables
                optimizer.apply_gradients(zip(tape.gradient(value, variables), variables))
            row = {}
            if step_name is not None:
                row["global_step"] = int(backend.values([step_name])[step_name])
            row["loss"] = float(np.asarray(value))
            row.update({name: _plain(np.array(backend.resolve(name).numpy())) for name in record})
            return row

        return run_step

    # -- snapshot / rollback -----------------------------------------------------------------
    def snapshot(self, name: str | None = None) -> str:
        """Copy every variable's value into memory (no disk I/O); return the snapshot's name.

        Example::

            >>> s.snapshot("before"); s.train(50, feed=batch); s.rollback("before")  # doctest: +SKIP
        """
        self._require_open()
        name = name or f"snapshot-{len(self._snapshots) + 1}"
        self._snapshots[name] = self._backend.values(self._backend.variables())
        return name

    def rollback(self, name: str | None = None) -> None:
        """Put back the values of snapshot ``name`` (the latest one by default)."""
        self._require_open()
        if not self._snapshots:
            raise TFExploreError(
                "There is no snapshot to roll back to.", hint="call session.snapshot() first"
            )
        if name is None:
            name = list(self._snapshots)[-1]
        if name not in self._snapshots:
            raise TensorNotFoundError(
                f"No snapshot named {name!r}.", suggestions=_suggest(name, self._snapshots)
            )
        self._backend.assign(self._snapshots[name])
        self._global_step_seen = self._read_global_step()

    @property
    def snapshots(self) -> list[str]:
        """The names of the snapshots held in memory."""
        return list(self._snapshots)

    # -- save --------------------------------------------------------------------------------
    def save(
        self, folder: str | os.PathLike, *, overwrite: bool = False, name: str = "model.ckpt"
    ) -> str:
        """Write a normal TensorFlow checkpoint ``folder/model.ckpt-STEP`` (+ ``.meta`` for TF1
        graphs) and update ``folder/checkpoint``; return the prefix.

        The files are written under a temporary name in ``folder``, renamed into place (the
        ``.index`` last), and the state file is replaced last, so an interrupted save leaves
        the previous checkpoint and state file valid. With ``overwrite=True`` the old files
        are kept (hard-linked) until the new ones are complete, and the state file names them
        meanwhile (see :mod:`tfexplore._saving`).

        Example::

            >>> prefix = s.save("runs/resumed")                         # doctest: +SKIP
            >>> tf.compat.v1.train.Saver().restore(sess, prefix)          # doctest: +SKIP

        Raises:
            CheckpointExistsError: the prefix exists and ``overwrite`` is false.
        """
        self._require_open()
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        step = self._read_global_step()
        step = step if step is not None else len(self._history_rows)
        prefix = folder / f"{name}-{step}"
        existing = sorted(p.name for p in folder.glob(f"{_glob_escape(prefix.name)}.*"))
        if existing and not overwrite:
            raise CheckpointExistsError(
                f"A checkpoint {str(prefix)!r} already exists ({', '.join(existing[:3])}).",
                path=prefix,
                expected="a prefix that is not taken yet",
                hint="pass overwrite=True, or save into another folder",
            )
        _saving.recover(folder)
        temporary = _saving.temporary_folder(folder)
        try:
            self._backend.write(str(temporary / prefix.name))
            _saving.publish(temporary, prefix)
        finally:
            shutil.rmtree(temporary, ignore_errors=True)
        return str(prefix)

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        """Close the TensorFlow session (yours is left open if you passed it in)."""
        if not self._closed:
            self._backend.close()
            self._closed = True

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _require_open(self) -> None:
        if self._closed:
            raise TFExploreError(
                "This session is closed.", hint="open a new one with tfexplore.session(...)"
            )


# == helpers: values, feeds, interrupts ======================================================
def _plain(value):
    if isinstance(value, np.ndarray) and value.shape == ():
        return value.item()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _numpy(value):
    return value.numpy() if hasattr(value, "numpy") else value


def _map_structure(items, function):
    if isinstance(items, Mapping):
        return {k: function(v) for k, v in items.items()}
    if isinstance(items, (list, tuple)):
        return type(items)(function(v) for v in items)
    return function(items)


def _flatten(items) -> list:
    if isinstance(items, Mapping):
        return list(items.values())
    if isinstance(items, (list, tuple)):
        return list(items)
    return [items]


def _feed_source(feed) -> Iterator[Callable[[int], Any]]:
    """An endless iterator of ``step -> batch`` functions; it ends when a dataset (or any
    iterator) does. Dicts, tuples and lists are one batch used at every step."""
    if hasattr(feed, "element_spec") or hasattr(feed, "__next__"):
        for element in feed:
            yield lambda _step, element=element: element
        return
    if callable(feed):
        while True:
            yield feed
    while True:
        yield lambda _step: feed


@contextlib.contextmanager
def _interrupts_as(stop: threading.Event) -> Iterator[None]:
    """Turn Ctrl-C into ``stop`` (checked between steps) while training in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        try:
            yield
        except KeyboardInterrupt:
            stop.set()
        return
    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        yield
    except KeyboardInterrupt:
        stop.set()
    finally:
        signal.signal(signal.SIGINT, previous)


# == helpers: checkpoints ====================================================================
def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


@contextlib.contextmanager
def _translate_read(prefix) -> Iterator[None]:
    from ._tf import translate_errors

    with translate_errors(prefix, "checkpoint"):
        yield


def _reader(prefix: str):
    from .checkpoint import check_checkpoint_files

    check_checkpoint_files(prefix, contents=True)  # before TensorFlow sizes anything from it
    with _translate_read(prefix):
        return tf().train.load_checkpoint(prefix)


def _checkpoint_variables(prefix: str) -> dict[str, tuple[tuple, str]]:
    """``{key: (shape, dtype)}`` of a checkpoint, without its object-graph entry and, for TF2
    checkpoints, only variable values."""
    reader = _reader(prefix)
    with _translate_read(prefix):
        shapes = reader.get_variable_to_shape_map()
        dtypes = reader.get_variable_to_dtype_map()
    tf2 = OBJECT_GRAPH_KEY in shapes
    return {
        key: (tuple(shapes[key]), dtypes[key].name)
        for key in sorted(shapes)
        if key != OBJECT_GRAPH_KEY and (not tf2 or key.endswith(TF2_VALUE_SUFFIX))
    }


def _require_data(prefix: str) -> None:
    """Raise :class:`IncompleteCheckpointError` naming the data files of ``prefix`` that are
    missing (the index lists its shards), before a restore op or reader touches them."""
    from .checkpoint import Checkpoint

    try:
        checkpoint = Checkpoint(prefix)
    except TFExploreError:
        return  # not a V2/V1 checkpoint tfexplore reads: TensorFlow's reader speaks for it
    checkpoint.require_data()


def _resolve_prefix(checkpoint) -> str:
    path = Path(os.fspath(checkpoint)).expanduser()
    if path.is_dir():
        latest = _latest_in(path)
        if latest is None:
            metas = sorted(path.glob("*.meta"), key=lambda p: p.stat().st_mtime)
            raise ArtifactNotFoundError(
                f"The folder {str(path)!r} holds no checkpoint"
                + (" (its .meta graphs have no tensors beside them)." if metas else "."),
                path=path,
                expected="PREFIX.index and PREFIX.data-* files (and a `checkpoint` state file)",
                hint=f"start from initialized variables: tfexplore.session({str(metas[-1])!r})"
                if metas else "pass the prefix of a checkpoint, e.g. runs/x/model.ckpt-30",
            )
        return latest
    text = str(path)
    for suffix in (".index", ".meta.pbtxt", ".meta.txt", ".meta"):
        if text.endswith(suffix):
            text = text[: -len(suffix)]
            break
    text = re.sub(r"\.data-\d{5}-of-\d{5}$", "", text)
    if not Path(text + ".index").exists():
        raise ArtifactNotFoundError(
            f"No checkpoint with prefix {text!r} ({text}.index is missing).",
            path=text,
            expected="a checkpoint prefix such as runs/x/model.ckpt-30",
            hint="pass the folder to use its latest checkpoint",
        )
    return text


def _latest_in(folder: Path) -> str | None:
    """The latest checkpoint of ``folder`` as :class:`~tfexplore.checkpoint.CheckpointDir`
    finds it: a state file written on another machine (absolute paths) or naming deleted
    checkpoints is resolved to the files actually beside it; ``None`` when there is none."""
    from ._files import prefix_text
    from .checkpoint import CheckpointDir

    try:
        return prefix_text(CheckpointDir(folder).latest.prefix)
    except TFExploreError:
        return None


def _checkpoint_for_step(current: str | None, step: int) -> str:
    if current is None:
        raise ArtifactNotFoundError(
            f"No folder to find step {step} in.", hint="pass a prefix instead"
        )
    folder = Path(current).parent
    matches = sorted(folder.glob(f"*-{step}.index"))
    if not matches:
        steps = sorted(p.name[: -len(".index")] for p in folder.glob("*.index"))
        raise ArtifactNotFoundError(
            f"No checkpoint for step {step} in {str(folder)!r}.",
            path=folder,
            expected=f"a file named *-{step}.index",
            hint="checkpoints there: " + (", ".join(steps) or "none"),
        )
    return str(matches[0])[: -len(".index")]


# == opening =================================================================================
def session(
    source,
    checkpoint=None,
    *,
    clear_devices: bool = True,
    import_scope: str | None = None,
    trust: bool = False,
    tags: str | Iterable[str] | None = None,
) -> Session:
    """Open a live session and restore its variables.

    ``source``:

    - a ``.meta`` file, a checkpoint prefix or a folder of checkpoints (TF1): the meta graph
      is checked by :mod:`tfexplore.safety`, imported into a fresh ``tf.Graph`` (devices
      cleared unless ``clear_devices=False``; names under ``import_scope``) and restored from
      ``checkpoint`` or the checkpoint next to it (the latest in the folder);
    - your ``tf.compat.v1.Session`` or ``tf.Graph``, with ``checkpoint`` to restore into it;
    - a SavedModel folder: one written by the TF1 ``SavedModelBuilder`` is imported like a
      ``.meta`` (its meta graph tagged ``tags``, default ``serve`` or the only one), restored
      from ``variables/variables`` (or ``checkpoint``) and its init op run (table
      initializers, with the asset files fed); a TF2 one (``tf.saved_model.save``, Keras
      ``export``) is loaded with ``tf.saved_model.load`` and its variables are those of the
      restored objects (``checkpoint`` may name a TF2 checkpoint of the same objects). Either
      way the whole file is scanned first and refused if it holds risky ops, unless ``trust``;
    - a Keras model, a ``.keras`` file (loaded with ``safe_mode=True`` unless ``trust``), a
      legacy full-model ``.h5`` (compiled from its ``training_config``, its optimizer state
      copied in so training resumes; ``notes``/``warning`` say how it matched), a
      ``tf.train.Checkpoint`` or a dict of trackable objects, with a TF2 ``checkpoint``.

    Example::

        >>> s = tfexplore.session("runs/mnist/model.ckpt-30.meta")    # doctest: +SKIP
        >>> s = tfexplore.session(model, "runs/keras/ckpt-3")         # doctest: +SKIP
        >>> s = tfexplore.session("export/1", tags="serve")            # doctest: +SKIP

    Raises:
        UnsafeArtifactError: the file's restore op would touch files, the network or Python.
        RestoreMismatchError: the checkpoint does not fit (``err.report``, ``err.session``).
    """
    opened = _open_source(
        source,
        checkpoint,
        clear_devices=clear_devices,
        import_scope=import_scope,
        trust=trust,
        tags=tags,
    )
    if isinstance(source, (str, os.PathLike)) and (
        checkpoint is None or isinstance(checkpoint, (str, os.PathLike))
    ):  # how to open it again, in a child process (tfexplore._native)
        opened._reopen = {  # absolute: the child runs in a folder of its own
            "source": os.path.abspath(os.fspath(source)),
            "checkpoint": None if checkpoint is None else os.path.abspath(os.fspath(checkpoint)),
            "clear_devices": clear_devices, "import_scope": import_scope, "trust": trust,
            "tags": tags if tags is None or isinstance(tags, str) else list(tags),
        }  # fmt: skip
    if opened.last_restore is not None:  # the source restored itself (a SavedModel)
        return opened
    if opened.checkpoint is not None:
        opened.restore()
    elif isinstance(opened._backend, _GraphBackend) and opened._backend.owns_session:
        _initialize(opened)
    return opened


def _open_source(source, checkpoint, *, clear_devices, import_scope, trust, tags=None) -> Session:
    tensorflow = tf()
    v1 = tensorflow.compat.v1
    if isinstance(source, v1.Session):
        backend = _GraphBackend(source.graph, source, owns_session=False, trusted=True)
        return Session(
            backend, source=f"your session ({source!r})", checkpoint=_maybe_prefix(checkpoint)
        )
    if isinstance(source, tensorflow.Graph):
        backend = _GraphBackend(
            source, v1.Session(graph=source, config=_config()), owns_session=True, trusted=True
        )
        return Session(backend, source="your graph", checkpoint=_maybe_prefix(checkpoint))
    if isinstance(source, (str, os.PathLike)):
        path = Path(os.fspath(source)).expanduser()
        if path.is_dir() and not (path / "checkpoint").exists() and not _is_saved_model(path):
            from .kerasrun import KerasRun, keras_files

            if keras_files(path):  # a ModelCheckpoint folder: its latest epoch's file
                path = KerasRun(path).latest.path
        if os.path.lexists(path) and not path.is_dir():  # no FIFO, device or link loop
            from ._files import check_regular

            check_regular(path, what="artifact")
        if path.suffix == ".keras" or path.suffix in (".h5", ".hdf5"):
            return _open_keras_file(path, checkpoint, trust=trust)
        if _is_saved_model(path):
            return _open_saved_model(
                path,
                checkpoint,
                tags=tags,
                clear_devices=clear_devices,
                import_scope=import_scope,
                trust=trust,
            )
        if path.is_file() and _is_graph_def(path):
            return _open_graph_def(
                path, checkpoint, clear_devices=clear_devices, import_scope=import_scope,
                trust=trust,
            )
        meta, default_checkpoint = _find_meta(path)
        return _open_meta(
            meta,
            _maybe_prefix(checkpoint) or default_checkpoint,
            clear_devices=clear_devices,
            import_scope=import_scope,
            trust=trust,
        )
    return _open_objects(source, checkpoint)


def _maybe_prefix(checkpoint) -> str | None:
    return None if checkpoint is None else _resolve_prefix(checkpoint)


def _config():
    return tf().compat.v1.ConfigProto(allow_soft_placement=True)


def _find_meta(path: Path) -> tuple[Path, str | None]:
    """A path -> (the .meta file, the checkpoint prefix that goes with it, if any)."""
    from ._files import META_SUFFIXES, meta_file, prefix_file, prefix_of, prefix_text

    if path.name.endswith(META_SUFFIXES) and path.is_file():
        owner = prefix_of(path)  # model.ckpt-1 of model.ckpt-1.meta(.pbtxt)
        if owner is not None and prefix_file(owner, ".index").exists():
            return path, prefix_text(owner)
        return path, _latest_in(path.parent)
    if path.is_file() and path.suffix in (".pbtxt", ".txt"):
        from ._open import detect_kind

        if detect_kind(path)[0] == "meta_graph":  # a MetaGraphDef in text, any name
            return path, _latest_in(path.parent)
    prefix = _resolve_prefix(path)
    meta = meta_file(prefix)
    if not meta.exists():
        metas = sorted(Path(prefix).parent.glob("*.meta"), key=lambda p: p.stat().st_mtime)
        if not metas:
            raise ArtifactNotFoundError(
                f"The checkpoint {prefix!r} has no .meta file, so there is no graph to import.",
                path=prefix,
                expected=f"{prefix}.meta (written by tf.compat.v1.train.Saver.save)",
                hint="rebuild the graph in Python and pass your session: tfexplore.session(sess, checkpoint)",
            )
        meta = metas[-1]
    return meta, prefix


def _read_meta_graph(meta: Path):
    """The MetaGraphDef of ``meta``, binary or text (``export_meta_graph(as_text=True)``),
    read as inspection reads it."""
    from .metagraph import read_proto_file

    return read_proto_file(meta, protos().meta_graph_pb2.MetaGraphDef, "meta graph")[0]


def _devices_in(meta_graph) -> list[str]:
    devices = {n.device for n in meta_graph.graph_def.node if n.device}
    for function in meta_graph.graph_def.library.function:
        devices.update(n.device for n in function.node_def if n.device)
    return sorted(devices)


def _check_meta(meta_graph, meta: Path, trust: bool, *, restore_scanned: bool = False) -> None:
    """Refuse a meta graph whose restore op (or initializer) would do more than read the
    checkpoint the user chose, or whose ops this TensorFlow does not know. ``restore_scanned``:
    the whole file's scan has already judged the restore op (a TF2 SavedModel's, whose
    ``RestoreV2`` sits in its ``_traced_restore`` function and is fed through it)."""
    graph_def = meta_graph.graph_def
    _refuse_custom_ops(graph_def, meta, trust)
    if restore_scanned:
        return
    if meta_graph.HasField("saver_def") and meta_graph.saver_def.restore_op_name:
        saver_def = meta_graph.saver_def
        safety.check(
            graph_def,
            [saver_def.restore_op_name],
            feeds=[saver_def.filename_tensor_name],
            saver_def=saver_def,
            trust=trust,
            path=meta,
        )


def _refuse_custom_ops(graph_def, meta: Path, trust: bool) -> None:
    """Refuse a graph whose ops this TensorFlow does not know (unless ``trust``)."""
    library_names = {f.signature.name for f in graph_def.library.function}
    custom = sorted(
        {
            n.op
            for n in graph_def.node
            if n.op not in library_names and not safety._is_registered(n.op)
        }
    )
    if custom and not trust:
        from .errors import UnsafeArtifactError

        raise UnsafeArtifactError(
            f"The graph uses ops this TensorFlow does not know (custom ops): {', '.join(custom)}.",
            path=meta,
            expected="a graph of standard TensorFlow ops",
            hint="load the op library (tf.load_op_library) and pass trust=True if you trust it",
        )


def _is_graph_def(path: Path) -> bool:
    from ._open import detect_kind

    try:
        return detect_kind(path)[0] == "graph_def"
    except TFExploreError:
        return False


#: what a session of a frozen graph offers, said once
_FROZEN_NOTE = (
    "a frozen graph keeps its weights as constants (Const ops): there are no variables to "
    "restore or train; evaluate tensors with feeds: session.eval(name, feed={placeholder: value})"
)


def _open_graph_def(path: Path, checkpoint, *, clear_devices, import_scope, trust) -> Session:
    """A session over a GraphDef (``.pb``/``.pbtxt``, usually frozen): read as inspection reads
    it, checked for custom ops, imported (importing runs nothing); every evaluation is checked
    by :mod:`tfexplore.safety` before it runs, as for any graph. Nothing is restored."""
    from .graphdef import GraphDefArtifact

    if checkpoint is not None:
        raise TFExploreError(
            f"{str(path)!r} is a GraphDef: " + _FROZEN_NOTE.split(":")[0]
            + ", so no checkpoint can be restored into it.",
            path=path,
            expected="tfexplore.session(path) without a checkpoint",
            hint="to restore a checkpoint, open its .meta graph (or its folder) instead; "
            "tfexplore.open(path) shows the constants as the graph's weights",
        )
    graph_def = GraphDefArtifact.from_file(path).proto
    _refuse_custom_ops(graph_def, path, trust)
    devices = sorted({node.device for node in graph_def.node if node.device})
    if clear_devices and devices:
        graph_def = type(graph_def).FromString(graph_def.SerializeToString())
        for node in graph_def.node:
            node.device = ""
    tensorflow = tf()
    graph = tensorflow.Graph()
    with graph.as_default():
        try:
            tensorflow.graph_util.import_graph_def(graph_def, name=import_scope or "")
        except (ValueError, KeyError, TypeError, tensorflow.errors.OpError) as exc:
            raise TFExploreError(
                f"TensorFlow could not import the GraphDef: {_first_line(exc)}",
                path=path,
                expected="a GraphDef written by this or an older TensorFlow",
                hint="open it with tfexplore.open(path) to inspect it without importing",
            ) from exc
    backend = _GraphBackend(
        graph,
        tensorflow.compat.v1.Session(graph=graph, config=_config()),
        owns_session=True,
        trusted=trust,
        import_scope=import_scope,
        path=path,
    )
    opened = Session(backend, source=str(path), devices_cleared=devices if clear_devices else ())
    opened.frozen = True
    variable_ops = [n.name for n in graph_def.node if n.op in ("VariableV2", "Variable", "VarHandleOp")]
    opened.notes.append(_FROZEN_NOTE if not variable_ops else (
        f"the GraphDef has {len(variable_ops)} variable op(s) ({', '.join(variable_ops[:3])}"
        + ("..." if len(variable_ops) > 3 else "") + ") but no collections or Saver: they "
        "cannot be restored here; open the checkpoint's .meta (or its folder) to restore them"
    ))
    return opened


def _open_meta(meta: Path, prefix: str | None, *, clear_devices, import_scope, trust) -> Session:
    return _open_meta_graph(
        _read_meta_graph(meta),
        meta,
        prefix,
        clear_devices=clear_devices,
        import_scope=import_scope,
        trust=trust,
    )


def _open_meta_graph(
    meta_graph, meta: Path, prefix: str | None, *, clear_devices, import_scope, trust,
    restore_scanned: bool = False,
) -> Session:
    """Import ``meta_graph`` (read from ``meta``) into a fresh graph after the safety check."""
    _check_meta(meta_graph, meta, trust, restore_scanned=restore_scanned)
    devices = _devices_in(meta_graph)
    tensorflow = tf()
    graph = tensorflow.Graph()
    with graph.as_default():
        try:
            saver = tensorflow.compat.v1.train.import_meta_graph(
                meta_graph, clear_devices=clear_devices, import_scope=import_scope
            )
        except (ValueError, KeyError, IndexError, TypeError, AttributeError,
                tensorflow.errors.OpError) as exc:  # damaged VariableDefs end in any of these
            raise CorruptArtifactError(
                f"TensorFlow could not import the meta graph: {_first_line(exc) or type(exc).__name__}",
                path=meta,
                expected="a MetaGraphDef written by this or an older TensorFlow",
                hint="open it with tfexplore.open(path) to inspect it without importing",
            ) from exc
    session_ = tensorflow.compat.v1.Session(graph=graph, config=_config())
    backend = _GraphBackend(
        graph,
        session_,
        owns_session=True,
        trusted=trust,
        import_scope=import_scope,
        file_saver=saver,
        path=meta,
    )
    return Session(
        backend,
        source=str(meta),
        checkpoint=prefix,
        devices_cleared=devices if clear_devices else (),
    )


def _is_saved_model(path: Path) -> bool:
    folder = path.parent if path.name in ("saved_model.pb", "saved_model.pbtxt") else path
    return folder.is_dir() and (
        (folder / "saved_model.pb").is_file() or (folder / "saved_model.pbtxt").is_file()
    )


def _open_saved_model(
    path: Path, checkpoint, *, tags, clear_devices, import_scope, trust
) -> Session:
    from .savedmodel import SavedModel

    model = SavedModel(path)
    if not trust:
        _refuse_links_out_of(model)
    if model.writer == "tf1_builder":
        return _open_tf1_saved_model(
            model, checkpoint, tags=tags, clear_devices=clear_devices,
            import_scope=import_scope, trust=trust,
        )  # fmt: skip
    return _open_tf2_saved_model(model, checkpoint, tags=tags, trust=trust)


def _pick_meta_graph(model, tags) -> int:
    """The index of the meta graph tagged ``tags`` (all of them), else ``serve``, else the only
    one; a clear error when the choice is ambiguous or absent."""
    available = model.tags
    if tags is not None:
        wanted = {tags} if isinstance(tags, str) else set(tags)
        for index, have in enumerate(available):
            if wanted <= set(have):
                return index
        raise TensorNotFoundError(
            f"No meta graph tagged {sorted(wanted)} in {str(model.proto_path)!r}.",
            path=model.proto_path,
            expected="one of the tag sets " + ", ".join(str(t) for t in available),
            hint="pass tags= one of those",
        )
    return model._serve_index


def _open_tf1_saved_model(
    model, checkpoint, *, tags, clear_devices, import_scope, trust, restore_scanned=False
):
    index = _pick_meta_graph(model, tags)
    meta_graph = model.proto.meta_graphs[index]
    prefix = _maybe_prefix(checkpoint)
    if prefix is None and model.checkpoint is not None:
        prefix = str(model.variables_prefix)
    collections = meta_graph.collection_def  # read with .get: [] would add an entry
    init_ops = [
        name
        for collection in ("saved_model_main_op", "legacy_init_op")
        if collection in collections
        for name in collections[collection].node_list.value
    ]
    asset_feeds = {
        asset.tensor_info.name: _asset_path(model, asset.filename)
        for asset in _asset_file_defs(meta_graph)
        if asset.tensor_info.name
    }
    if init_ops:
        safety.check(
            meta_graph.graph_def, init_ops, feeds=list(asset_feeds), assets=list(asset_feeds),
            trust=trust, path=model.proto_path,
        )  # fmt: skip
    opened = _open_meta_graph(
        meta_graph, model.proto_path, prefix, clear_devices=clear_devices,
        import_scope=import_scope, trust=trust, restore_scanned=restore_scanned,
    )  # fmt: skip
    opened.source = f"{model.path} (tags {','.join(model.tags[index])})"
    if prefix is not None:
        opened.restore()
    else:
        _initialize(opened)
    if init_ops:
        scope = f"{import_scope}/" if import_scope else ""
        feeds = {scope + name: value for name, value in asset_feeds.items()}
        opened._backend.run([scope + name for name in init_ops], feeds, assets=list(feeds))
    return opened


def _refuse_links_out_of(model) -> None:
    """A SavedModel's ``variables/`` and ``assets/`` are read by the load (restore, table
    initializers): a symbolic link among them that leads out of the SavedModel's folder would
    hand the session another file (another model's weights, ``/etc/passwd`` as a vocabulary).
    Refused unless ``trust``."""
    root = model.path.resolve()
    for part in ("variables", "assets", "assets.extra"):
        folder = model.path / part
        if not os.path.lexists(folder):
            continue
        entries = [folder, *folder.rglob("*")] if folder.is_dir() and not folder.is_symlink() else [folder]
        for entry in entries:
            target = entry.resolve()
            if target != root and root not in target.parents:
                raise UnsafeArtifactError(
                    f"{str(entry)!r} leads out of the SavedModel's folder, to {str(target)!r}.",
                    path=model.path,
                    expected=f"{part}/ and its files inside {str(root)!r}",
                    hint="a SavedModel's weights and assets are its own files; pass trust=True "
                    "only if you made these links yourself",
                )


def _asset_path(model, filename: str) -> str:
    """``assets/FILENAME`` of the SavedModel; a name that leads out of ``assets/`` (``..``, an
    absolute path, a symbolic link, ``assets/`` itself a link) is refused: it would hand the
    init op another file."""
    assets = model.path.resolve() / "assets"
    target = (model.path / "assets" / filename).resolve()
    if not filename or assets not in target.parents:
        raise UnsafeArtifactError(
            f"The SavedModel names an asset file outside its assets folder: {filename!r}.",
            path=model.proto_path,
            expected="asset file names inside assets/",
            hint="inspect it with tfexplore.open (runs nothing); this file is not a normal export",
        )
    return str(target)


def _asset_file_defs(meta_graph) -> list:
    return safety.asset_file_defs(meta_graph)  # one reader of a meta graph's assets


def _open_tf2_saved_model(model, checkpoint, *, tags, trust):
    """``tf.saved_model.load`` runs the file's restore functions and resource initializers, so
    the whole file is scanned first."""
    report = model.safety
    if report.findings and not trust:
        error = UnsafeArtifactError(
            f"{str(model.path)!r} holds ops that are not on the allowlist of pure computation: "
            + ", ".join(sorted({f"{f.op_type} ({f.where})" for f in report.findings})[:6])
            + ". tf.saved_model.load runs the file's restore and initializer functions.",
            path=model.proto_path,
            expected="a SavedModel of standard compute ops",
            hint="tfexplore.scan(path) lists them; pass trust=True if you trust the file",
        )
        error.report = report
        raise error
    tensorflow = tf()
    load_tags = None
    if tags is not None:
        load_tags = [tags] if isinstance(tags, str) else list(tags)
    if model.checkpoint is not None:  # tf.saved_model.load reads variables/ right away
        from .checkpoint import check_checkpoint_files

        check_checkpoint_files(model.variables_prefix, contents=True)
    try:
        loaded = tensorflow.saved_model.load(str(model.path), tags=load_tags)
    except Exception as exc:  # noqa: BLE001 - never raw: the TF1 way is tried, then ours
        return _open_tf2_as_tf1(model, checkpoint, tags=tags, trust=trust, load_error=exc)
    keras_model = loaded if hasattr(loaded, "layers") and hasattr(loaded, "compile") else None
    backend = _ObjectBackend(loaded, model=keras_model, optimizer=None, path=model.path)
    opened = Session(backend, source=str(model.path), checkpoint=_maybe_prefix(checkpoint))
    if opened.checkpoint is None and model.checkpoint is not None:
        # tf.saved_model.load has restored variables/variables: report it without reading twice
        report = opened.plan_restore(str(model.variables_prefix))
        report.applied = True
        report.loaded_by = "tf.saved_model.load"
        opened.checkpoint = report.checkpoint
        opened.last_restore = report
        opened._global_step_seen = opened._read_global_step()
    return opened


def _open_tf2_as_tf1(model, checkpoint, *, tags, trust, load_error: Exception) -> Session:
    """When ``tf.saved_model.load`` cannot revive a TF2 SavedModel's objects (a TF 2.4-era
    Keras file: ``'_UserObject' object has no attribute 'add_slot'`` for an optimizer today's
    loader does not know), open it as the TF1 loader
    (``tf.compat.v1.saved_model.loader.load``) would: import its meta graph, restore
    ``variables/`` with the file's own Saver and run its init op, every one of which is checked
    by :mod:`tfexplore.safety` first, as for a TF1 SavedModel. Signatures are evaluated by their
    tensor names (``model.signatures``). The whole file was scanned before the first attempt."""
    reason = f"{type(load_error).__name__}: {_first_line(load_error)}"
    saver_def = model._main.saver_def
    restore_entry = model.safety.entry_points.get("restore", [])
    if not (model._main.HasField("saver_def") and saver_def.restore_op_name):
        raise TFExploreError(
            f"TensorFlow could not load the SavedModel ({reason}), and its meta graph has no "
            "Saver to restore its variables the TF1 way.",
            path=model.path,
            expected="a SavedModel written by this or an older TensorFlow",
            hint="tfexplore.open(path) shows it without loading it",
        ) from load_error
    try:
        opened = _open_tf1_saved_model(
            model, checkpoint, tags=tags, clear_devices=True, import_scope=None, trust=trust,
            # the whole-file scan (no finding, or trust) judged this very restore op
            restore_scanned=saver_def.restore_op_name in restore_entry,
        )
    except UnsafeArtifactError:
        raise
    except TFExploreError as exc:
        raise TFExploreError(
            f"TensorFlow could not load the SavedModel ({reason}), nor import its meta graph "
            f"the TF1 way ({exc.message})",
            path=model.path,
            expected="a SavedModel written by this or an older TensorFlow",
            hint="tfexplore.open(path) shows it without loading it",
        ) from load_error
    if opened.last_restore is not None:  # the file's restore op set the graph's own variables
        opened.last_restore.loaded_by = (
            "the SavedModel's own restore op (its object graph's variables, which this graph "
            "keeps in no collection)"
        )
    opened.notes.append(
        f"tf.saved_model.load failed ({reason}); opened the TF1 way instead (its meta graph "
        "imported, variables restored by its Saver): evaluate signature tensors by name, e.g. "
        "session.eval(signature output tensor, feed={signature input tensor: value}) with the "
        "names from tfexplore.open(path).signatures"
    )
    return opened


def _initialize(opened: Session) -> None:
    """No checkpoint: run the graph's variable initializers (after the safety check)."""
    backend: _GraphBackend = opened._backend
    with backend.graph.as_default():
        init = tf().compat.v1.global_variables_initializer()
    backend.check([init], {})
    backend.run(init)


def _open_keras_file(path: Path, checkpoint, *, trust: bool) -> Session:
    if not path.exists():
        raise ArtifactNotFoundError(
            f"No Keras file at {str(path)!r}.", path=path, expected="a .keras file"
        )
    from . import _h5probe
    from .keras import KerasFile

    # even with trust: zip members' declared sizes are checked and every HDF5 read rehearsed
    # in a child (_h5probe: every attribute and dataset) before Keras reads the file
    KerasFile(path).format  # noqa: B018
    _h5probe.check(path)
    if not trust:
        _refuse_keras_code(path)
    if path.suffix in (".h5", ".hdf5"):
        from .keras import KerasFile

        keras_file = KerasFile(path)
        if keras_file.format == "h5_model":
            return _open_legacy_h5(path, keras_file, checkpoint, trust=trust)
    model = _load_keras_model(path, trust=trust)
    opened = _open_objects(model, checkpoint)
    opened.source = str(path)
    return opened


def _load_keras_model(path: Path, *, trust: bool, **options):
    import keras

    try:
        return keras.saving.load_model(path, safe_mode=not trust, **options)
    except ValueError as exc:
        if "safe_mode" in str(exc) or "unsafe" in str(exc).lower():
            raise UnsafeArtifactError(
                f"Loading {str(path)!r} would run Python code it carries (a Lambda layer).",
                path=path,
                expected="a .keras file without Python lambdas",
                hint="pass trust=True if you trust the file",
            ) from exc
        raise _keras_load_error(path, exc) from exc
    except (TypeError, KeyError, AttributeError, OSError) as exc:
        raise _keras_load_error(path, exc) from exc


def _refuse_keras_code(path: Path) -> None:
    """Inspect the file first (no code runs) and refuse Lambda layers before Keras sees them."""
    from .keras import KerasFile

    keras_file = KerasFile(path)
    lambdas = keras_file.lambda_layers
    custom = keras_file.custom_classes
    if custom and not lambdas:  # what tfexplore scan lists as "runs Python", refused alike
        raise UnsafeArtifactError(
            f"Loading {str(path)!r} would import and run code for class(es) that are not "
            "Keras's own: " + ", ".join(repr(name) for name in custom) + ".",
            path=path,
            expected="a Keras file of Keras's own classes",
            hint="inspect it with tfexplore.open (runs nothing); if you trust the file and the "
            "code that defines those classes, import it and pass trust=True",
        )
    if lambdas:
        raise UnsafeArtifactError(
            f"Loading {str(path)!r} would run Python code it carries: Lambda layer(s) "
            + ", ".join(repr(name) for name in lambdas) + ".",
            path=path,
            expected="a Keras file without Lambda layers",
            hint="inspect it with tfexplore.open (runs nothing); pass trust=True if you trust it",
        )


def _keras_load_error(path: Path, exc: BaseException) -> TFExploreError:
    return TFExploreError(
        f"Keras could not load {str(path)!r}: {type(exc).__name__}: {_first_line(exc)}",
        path=path,
        expected="a Keras 3 model file whose layers this Keras knows",
        hint="custom layers need their classes (keras.saving.register_keras_serializable); "
        "tfexplore.open(path) still shows its weights without loading it",
    )


# -- legacy full-model .h5: architecture, compile from training_config, optimizer state --------
#: Keras 1/2 and tf.keras 2.x slot names -> Keras 3's, per optimizer (lower-case class name).
_H5_SLOT_ALIASES = {
    "adam": {"m": "momentum", "v": "velocity", "vhat": "velocity_hat"},
    "adamw": {"m": "momentum", "v": "velocity", "vhat": "velocity_hat"},
    "nadam": {"m": "momentum", "v": "velocity"},
    "lamb": {"m": "momentum", "v": "velocity"},
    "adamax": {"v": "u"},
    "rmsprop": {"rms": "velocity", "mg": "average_gradient", "mom": "momentum"},
    "adadelta": {"accum_grad": "accumulated_grad", "accum_var": "accumulated_delta_var"},
}
#: Hyper-parameters of old optimizer configs that Keras 3 names otherwise.
_H5_OPTIMIZER_RENAMES = {"lr": "learning_rate"}
#: Old optimizer settings Keras 3 has no use for; dropped without a note.
_H5_OPTIMIZER_IGNORED = {"jit_compile", "is_legacy_optimizer"}
_H5_SCALAR = re.compile(r"(^|/)(?P<what>iterations?|iter|learning_rate|lr)(_\d+)?(:\d+)?$")


def _open_legacy_h5(path: Path, keras_file, checkpoint, *, trust: bool) -> Session:
    """A full-model HDF5 file (``model.save("m.h5")``, Keras 1/2, tf.keras 2.x or Keras 3).

    Keras 3's own ``load_model`` compiles such a file with an optimizer that rejects the loaded
    variables on the first step and cannot rebuild string losses ("mse"). So: the architecture
    and weights are loaded with ``compile=False``; the model is compiled from the file's
    ``training_config``; the optimizer is built on the trainable variables and its state is
    copied from ``optimizer_weights`` (read with :class:`tfexplore.keras.KerasFile`, matched
    by name, else by order and shape). State that cannot be matched is not guessed: the
    optimizer then starts fresh and ``session.warning`` says so.
    """
    model = _load_keras_model(path, trust=trust, compile=False)
    notes: list[str] = []
    warnings_: list[str] = []
    training_config = keras_file.training_config
    if not training_config:
        notes.append(
            f"{path.name} was saved without a training_config (not compiled): compile the "
            "model (session._backend.model) or train with loss=..."
        )
    else:
        model.compile(**_h5_compile_args(path, training_config, warnings_))
        _build_optimizer(model.optimizer, model)
        _copy_h5_optimizer_state(path, keras_file, model, notes, warnings_)
    opened = _open_objects(model, checkpoint)
    opened.source = str(path)
    opened.notes = notes + warnings_
    opened.warning = " ".join(warnings_) or None
    if opened.warning:
        import warnings

        warnings.warn(f"tfexplore.session({str(path)!r}): {opened.warning}", stacklevel=3)
    opened._global_step_seen = opened._read_global_step()
    return opened


def _h5_compile_args(path: Path, training_config: Mapping, warnings_: list[str]) -> dict:
    """``model.compile`` arguments from a legacy ``training_config`` (optimizer, loss,
    metrics, loss weights). Unknown metrics are dropped with a warning; an optimizer or loss
    that cannot be rebuilt is an error."""
    config = _optimizer_config_of(training_config)
    if not config:
        raise TFExploreError(
            f"The training_config of {str(path)!r} names no optimizer, so training cannot "
            "resume from it.",
            path=path,
            expected="a training_config with an optimizer_config",
            hint="tfexplore.session(model) with your own compiled model; "
            "tfexplore.open(path) still shows the weights",
        )
    args = {
        "optimizer": _h5_optimizer(path, config, warnings_),
        "loss": _h5_loss(path, training_config.get("loss")),
    }
    for key in ("metrics", "weighted_metrics"):
        value = training_config.get(key)
        if value:
            args[key] = _h5_metrics(value, warnings_)
    if training_config.get("loss_weights") is not None:
        args["loss_weights"] = training_config["loss_weights"]
    return args


def _optimizer_config_of(training_config: Mapping) -> dict:
    config = training_config.get("optimizer_config") or training_config.get("optimizer")
    if isinstance(config, str):
        return {"class_name": config, "config": {}}
    if isinstance(config, Mapping) and config.get("class_name"):
        return {"class_name": str(config["class_name"]), "config": dict(config.get("config") or {})}
    return {}


def _h5_optimizer(path: Path, config: Mapping, warnings_: list[str]):
    """The optimizer of ``config``, its old argument names mapped to Keras 3's (``lr`` ->
    ``learning_rate``; settings Keras 3 no longer has are dropped, said in a warning when
    they mattered)."""
    import inspect

    import keras

    class_name = config["class_name"].split(">")[-1].split(".")[-1]
    hint = "tfexplore.session(model) with your own compiled model; tfexplore.open(path) shows the file"
    try:
        cls = type(keras.optimizers.get(class_name))
    except (ValueError, TypeError, KeyError) as exc:
        raise TFExploreError(
            f"The optimizer of {str(path)!r} ({config['class_name']!r}) is not one this Keras "
            f"knows: {_first_line(exc)}",
            path=path,
            expected="a built-in Keras optimizer in the training_config",
            hint=hint,
        ) from exc
    accepted = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is not None:
            accepted |= {
                name
                for name, p in inspect.signature(init).parameters.items()
                if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and name != "self"
            }
    kwargs, dropped = {}, {}
    for key, value in config["config"].items():
        key = _H5_OPTIMIZER_RENAMES.get(key, key)
        if key in accepted:
            kwargs[key] = value
        elif key not in _H5_OPTIMIZER_IGNORED and not (key == "decay" and not value):
            dropped[key] = value
    schedule = kwargs.get("learning_rate")
    try:
        if isinstance(schedule, Mapping):
            kwargs["learning_rate"] = keras.optimizers.schedules.deserialize(dict(schedule))
        optimizer = cls(**kwargs)
    except (ValueError, TypeError, KeyError) as exc:
        raise TFExploreError(
            f"tfexplore could not rebuild the optimizer of {str(path)!r} ({class_name} with "
            f"{kwargs}): {type(exc).__name__}: {_first_line(exc)}",
            path=path,
            expected="an optimizer_config Keras 3 can express",
            hint=hint,
        ) from exc
    if dropped:
        warnings_.append(
            f"Optimizer settings Keras 3 does not have were dropped: {dropped}."
        )
    return optimizer


def _h5_loss(path: Path, value):
    """A loss (or a list/dict of them, one per output) as Keras 3 objects: names through
    ``keras.losses.get``, configs through ``keras.losses.deserialize``."""
    import keras

    if value is None:
        return None
    if isinstance(value, list):
        return [_h5_loss(path, v) for v in value]
    if isinstance(value, Mapping) and "class_name" not in value:
        return {k: _h5_loss(path, v) for k, v in value.items()}
    attempts = [value]
    if isinstance(value, Mapping):
        inner = dict(value.get("config") or {})
        if inner.get("reduction") in ("auto", "sum_over_batch_size", None):
            inner.pop("reduction", None)  # tf.keras 2's "auto" is not a Keras 3 reduction
        inner.pop("fn", None)
        attempts += [{"class_name": value["class_name"], "config": inner}, value["class_name"]]
    errors = []
    for attempt in attempts:
        try:
            loss = (
                keras.losses.deserialize(attempt)
                if isinstance(attempt, Mapping)
                else keras.losses.get(attempt)
            )
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            errors.append(exc)
            continue
        if loss is not None:
            return loss
    reason = f": {type(errors[-1]).__name__}: {_first_line(errors[-1])}" if errors else "."
    raise TFExploreError(
        f"tfexplore could not rebuild the loss of {str(path)!r} ({value!r}){reason}",
        path=path,
        expected="a built-in Keras loss in the training_config",
        hint="custom losses need their code: tfexplore.session(model) with your own compiled "
        "model, or session.train(steps, feed=..., loss=callable)",
    )


def _h5_metrics(value, warnings_: list[str]):
    """Metrics as compile takes them; those Keras 3 cannot rebuild are left out, with a
    warning (they do not change training)."""
    if isinstance(value, Mapping) and "class_name" not in value:
        return {k: _h5_metrics(v, warnings_) for k, v in value.items()}
    if isinstance(value, list):
        kept = []
        for item in value:
            if isinstance(item, (list, Mapping)) and not (
                isinstance(item, Mapping) and "class_name" in item
            ):
                kept.append(_h5_metrics(item, warnings_))
                continue
            metric = _h5_metric(item)
            if metric is None:
                warnings_.append(f"Metric {item!r} could not be rebuilt and was left out.")
            else:
                kept.append(metric)
        return kept
    metric = _h5_metric(value)
    if metric is None:
        warnings_.append(f"Metric {value!r} could not be rebuilt and was left out.")
        return []
    return [metric]


def _h5_metric(item):
    import keras

    if isinstance(item, str):
        if item in ("accuracy", "acc", "crossentropy", "ce"):
            return item  # compile picks the variant that fits the loss
        try:
            keras.metrics.get(item)
        except (ValueError, TypeError, KeyError, AttributeError):
            return None
        return item
    if isinstance(item, Mapping):
        try:
            return keras.metrics.deserialize(dict(item))
        except (ValueError, TypeError, KeyError, AttributeError):
            return None
    return None


def _copy_h5_optimizer_state(
    path: Path, keras_file, model, notes: list[str], warnings_: list[str]
) -> None:
    """Copy the file's ``optimizer_weights`` into ``model.optimizer``'s variables, all of
    them or none."""
    optimizer = model.optimizer
    frame = keras_file.weights
    state = frame[frame["role"] == "optimizer"].reset_index(drop=True)
    if state.empty:
        notes.append(f"{path.name} holds no optimizer state: the optimizer starts at step 0.")
        return
    targets = _h5_optimizer_targets(optimizer, model)
    if targets is None:
        warnings_.append(
            f"The optimizer state in {path.name} was not loaded: tfexplore does not know the "
            f"variables of {type(optimizer).__name__}; the optimizer starts fresh (step 0)."
        )
        return
    owners = _h5_file_owners(frame, model)
    plan = _h5_match_by_name(state, targets, owners, type(optimizer).__name__.lower())
    how = "by name"
    if plan is None:
        plan, layout = _h5_match_by_position(state, targets, owners, keras_file)
        how = f"by order and shape, {layout}"
    if plan is None:
        warnings_.append(
            f"The optimizer state in {path.name} ({len(state)} tensors) could not be matched to "
            f"the {len(optimizer.variables)} variables of this {type(optimizer).__name__} (by "
            "name, order or shape): the optimizer starts fresh (step 0, zero moments). The "
            "model's weights are the file's."
        )
        return
    values = {name: keras_file.read(name) for _, name in plan.values()}
    for variable, name in plan.values():
        value = np.asarray(values[name])
        dtype = getattr(variable.dtype, "name", str(variable.dtype))
        if np.issubdtype(np.dtype(dtype), np.integer) and not np.issubdtype(value.dtype, np.integer):
            value = np.rint(value)
        variable.assign(value.astype(dtype))
    notes.append(
        f"Optimizer state loaded from {path.name} ({len(plan)} tensors, matched {how}): "
        f"training resumes at step {int(optimizer.iterations.numpy())}."
    )


def _h5_optimizer_targets(optimizer, model) -> dict | None:
    """The optimizer's variables by meaning: ``{"iterations": v, "learning_rate": v,
    (slot, i): v}`` with ``i`` the index of the variable in ``model.trainable_variables``;
    ``"slots"``: the slot names in the order the optimizer creates them."""
    trainable = model.trainable_variables
    prefixes = [v.path.replace("/", "_") + "_" for v in trainable]
    targets: dict = {"slots": []}
    learning_rate = getattr(optimizer, "_learning_rate", None)
    for variable in optimizer.variables:
        if variable is optimizer.iterations:
            targets["iterations"] = variable
            continue
        if variable is learning_rate:
            targets["learning_rate"] = variable
            continue
        name = variable.name
        candidates = [i for i, p in enumerate(prefixes) if name.startswith(p)]
        if not candidates:
            return None  # state this code does not know (EMA, gradient accumulators...)
        index = max(candidates, key=lambda i: len(prefixes[i]))
        slot = name[len(prefixes[index]) :]
        if tuple(variable.shape) != tuple(trainable[index].shape):
            return None
        targets[(slot, index)] = variable
        if slot not in targets["slots"]:
            targets["slots"].append(slot)
    if "iterations" not in targets:
        return None
    return targets


def _h5_file_owners(frame, model) -> dict[str, int]:
    """The file's model weight names -> index in ``model.trainable_variables``, pairing the
    file's layers with the model's the way Keras loads them (layers with weights, in order;
    each layer's trainable then non-trainable weights)."""
    trainable = {id(v): i for i, v in enumerate(model.trainable_variables)}
    layers = [
        layer for layer in model.layers if layer.trainable_weights + layer.non_trainable_weights
    ]
    weights = frame[frame["role"] == "weight"]
    file_layers = list(dict.fromkeys(weights["layer"]))
    owners: dict[str, int] = {}
    if len(file_layers) != len(layers):
        return owners
    for layer, file_layer in zip(layers, file_layers):
        names = list(weights[weights["layer"] == file_layer]["name"])
        variables = layer.trainable_weights + layer.non_trainable_weights
        if len(names) != len(variables):
            return {}
        for name, variable in zip(names, variables):
            if id(variable) in trainable:
                owners[name] = -1 if name in owners else trainable[id(variable)]
    return {name: index for name, index in owners.items() if index >= 0}


def _h5_scalar_kind(name: str) -> str | None:
    match = _H5_SCALAR.search(name)
    if not match:
        return None
    what = match["what"]
    return "learning_rate" if what in ("learning_rate", "lr") else "iterations"


def _h5_match_by_name(state, targets: dict, owners: dict[str, int], optimizer: str):
    """``{id(variable): (variable, file name)}`` from the names the file gives (``slot``/``slot_of`` as
    KerasFile reads them), or ``None`` unless every slot and the step counter are found."""
    aliases = _H5_SLOT_ALIASES.get(optimizer, {})
    plan: dict = {}
    for row in state.itertuples():
        if not row.shape:
            kind = _h5_scalar_kind(row.name)
            if kind in targets and id(targets[kind]) not in plan:
                plan[id(targets[kind])] = (targets[kind], row.name)
            continue
        if not isinstance(row.slot, str) or not isinstance(row.slot_of, str):
            continue
        if not re.search(rf"[/_]{re.escape(row.slot)}(:\d+)?$", row.name):
            return None  # a slot KerasFile guessed from its position: not a name match
        slot = row.slot if row.slot in targets["slots"] else aliases.get(row.slot, row.slot)
        variable = targets.get((slot, owners.get(row.slot_of, -1)))
        if variable is None or tuple(variable.shape) != tuple(row.shape) or id(variable) in plan:
            return None
        plan[id(variable)] = (variable, row.name)
    return plan if _h5_complete(plan, targets) else None


def _h5_complete(plan: dict, targets: dict) -> bool:
    needed = [v for k, v in targets.items() if isinstance(k, tuple)] + [targets["iterations"]]
    return all(id(v) in plan for v in needed)


def _h5_match_by_position(state, targets: dict, owners: dict[str, int], keras_file):
    """Unnamed or renamed state: scalars first (the step counter, maybe the learning rate),
    then one tensor per (slot, trainable variable), interleaved (Keras 3, tf.keras 2.11+) or
    one block per slot (Keras 1/2, tf.keras 2.x) in the model's order or sorted by the
    weights' names (Keras 2.0 sorted them). The first layout whose every shape fits wins:
    ``(plan, description)``, or ``(None, None)``."""
    slots = targets["slots"]
    count = max((k[1] for k in targets if isinstance(k, tuple)), default=-1) + 1
    rows = list(state.itertuples())
    header = [r for r in rows if not r.shape]
    body = [r for r in rows if r.shape]
    if len(body) != len(slots) * count or not header:
        return None, None
    scalars: dict = {}
    for position, row in enumerate(header):
        kind = _h5_scalar_kind(row.name) or ("iterations" if position == 0 else None)
        if kind in targets and id(targets[kind]) not in scalars:
            scalars[id(targets[kind])] = (targets[kind], row.name)
    if id(targets["iterations"]) not in scalars:
        return None, None
    by_name = sorted(owners, key=lambda name: name)
    sorted_order = [owners[name] for name in by_name] if len(by_name) == count else None
    model_order = list(range(count))
    keras3 = str(keras_file.keras_version or "").startswith("3")
    layouts = [
        ("interleaved", model_order, "one slot after another per variable"),
        ("blocked", model_order, "one block per slot"),
    ]
    if not keras3:
        layouts.reverse()
    if sorted_order is not None:
        layouts.append(("blocked", sorted_order, "one block per slot, sorted by weight name"))
    for layout, order, description in layouts:
        plan = dict(scalars)
        for position, row in enumerate(body):
            if layout == "interleaved":
                index, slot = divmod(position, len(slots))
            else:
                slot, index = divmod(position, count)
            variable = targets[(slots[slot], order[index])]
            if tuple(variable.shape) != tuple(row.shape):
                break
            plan[id(variable)] = (variable, row.name)
        else:
            return plan, description
    return None, None


def _open_objects(source, checkpoint) -> Session:
    tensorflow = tf()
    model = optimizer = None
    if isinstance(source, Mapping):
        objects = dict(source)
        root = tensorflow.train.Checkpoint(**objects)
        model = next(
            (
                o
                for o in objects.values()
                if hasattr(o, "trainable_variables") and hasattr(o, "layers")
            ),
            None,
        )
        optimizer = next((o for o in objects.values() if hasattr(o, "apply_gradients")), None)
    elif isinstance(source, tensorflow.train.Checkpoint):
        root = source
        children = {
            name: getattr(source, name, None) for name in dir(source) if not name.startswith("_")
        }
        model = next(
            (
                o
                for o in children.values()
                if hasattr(o, "layers") and hasattr(o, "trainable_variables")
            ),
            None,
        )
        optimizer = next((o for o in children.values() if hasattr(o, "apply_gradients")), None)
    elif hasattr(source, "trainable_variables"):
        model = source
        optimizer = getattr(model, "optimizer", None)
        objects = {"model": model, **({"optimizer": optimizer} if optimizer is not None else {})}
        root = tensorflow.train.Checkpoint(**objects)
    else:
        raise TypeError(
            f"tfexplore.session cannot use a {type(source).__name__}: expected a path, a "
            "tf.compat.v1.Session, a tf.Graph, a Keras model, a tf.train.Checkpoint or a dict of "
            "trackable objects"
        )
    if optimizer is None and model is not None:
        optimizer = getattr(model, "optimizer", None)
    _build_optimizer(optimizer, model)
    backend = _ObjectBackend(root, model=model, optimizer=optimizer)
    return Session(backend, source=type(source).__name__, checkpoint=_maybe_prefix(checkpoint))


def _build_optimizer(optimizer, model) -> None:
    """Create a Keras optimizer's slots now, so that a restore fills them."""
    if optimizer is None or model is None or getattr(optimizer, "built", True):
        return
    if hasattr(optimizer, "build"):
        optimizer.build(model.trainable_variables)
