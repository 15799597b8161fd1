"""Restore matching: which checkpoint key feeds which variable (by name, by suffix, by a
prefix rewrite), the :class:`RestoreReport` of what matched, what is missing and what has the
wrong shape, and the checkpoint reads a restore makes."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._files import CHECKPOINT_SUFFIX, human_bytes
from .._fs import RemotePath, as_path, is_url
from ..errors import ArtifactNotFoundError, TFExploreError

if TYPE_CHECKING:
    import pandas as pd

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
        frame: pd.DataFrame,
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
        #: the checkpoint was read from a local copy: what was staged, in words
        #: (``"staged 3 files (47.1 KB) from s3://bucket/run"``), else ``None``
        self.staged: str | None = None
        #: a checkpoint read from a URL in byte ranges (nothing staged): what was fetched
        #: (:class:`tfexplore.Fetched`), else ``None``
        self.fetched = None

    @property
    def ok(self) -> bool:
        """No variable is missing or mismatched."""
        return self.problems.empty

    @property
    def problems(self) -> pd.DataFrame:
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
        planned = not self.applied
        counts = (
            ", ".join(
                f"{n} {'would be restored' if status == 'restored' and planned else status}"
                for status, n in self.counts.items()
            )
            or "empty"
        )
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
        if self.staged:
            notes.append(f"read from a local copy: {self.staged}")
        if self.fetched is not None:
            notes.append(
                f"read from {self.checkpoint} in byte ranges, nothing staged: fetched "
                f"{human_bytes(self.fetched.bytes)} in {self.fetched.requests} request(s)"
            )
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
        headline = f"<strong>{html.escape(self._headline())}</strong>"
        return f"<div>{headline}{notes}{self.frame.to_html(index=False)}</div>"

    def __len__(self) -> int:
        return len(self.frame)

    def __getitem__(self, key) -> Any:
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


# == helpers: checkpoints ====================================================================
def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def _checked_checkpoint(prefix: str):
    """``prefix`` opened as inspection opens it (:class:`~tfexplore.artifacts.checkpoint.
    Checkpoint`): its ``.index`` read and checked in Python, and every entry's bytes checked
    against its shard, before TensorFlow's reader or a restore op touches the files."""
    from ..artifacts.checkpoint import Checkpoint
    from ..artifacts.checkpoint.files import check_checkpoint_files

    checkpoint = Checkpoint(prefix)
    _ = checkpoint.variables  # the .index parsed and checked, as inspection does
    check_checkpoint_files(prefix, contents=True)  # what a restore op will read, checked first
    return checkpoint


def _checkpoint_variables(prefix: str) -> dict[str, tuple[tuple, str]]:
    """``{key: (shape, dtype)}`` of a checkpoint, without its object-graph entry and, for TF2
    checkpoints, only variable values: read from its ``.index`` by the checked reader."""
    table = _checked_checkpoint(prefix).variables
    names = table["name"].tolist()
    tf2 = OBJECT_GRAPH_KEY in names
    found = {
        key: (tuple(int(d) for d in shape), str(dtype))
        for key, shape, dtype in zip(names, table["shape"], table["dtype"])
        if key != OBJECT_GRAPH_KEY and (not tf2 or key.endswith(TF2_VALUE_SUFFIX))
    }
    return dict(sorted(found.items()))


def _read_values(prefix: str, keys) -> dict[str, Any]:
    """``{key: numpy value}``: each tensor read by the checked reader (bytes within the shard,
    CRC32C checked, string lengths checked) before any reaches a variable."""
    checkpoint = _checked_checkpoint(prefix)
    return {key: checkpoint.read(key) for key in keys}


def _require_data(prefix: str) -> None:
    """Raise :class:`IncompleteCheckpointError` naming the data files of ``prefix`` that are
    missing (the index lists its shards), before a restore op or reader touches them."""
    from ..artifacts.checkpoint import Checkpoint

    try:
        checkpoint = Checkpoint(prefix)
    except TFExploreError:
        return  # not a V2/V1 checkpoint tfexplore reads: TensorFlow's reader speaks for it
    checkpoint.require_data()


def _resolve_prefix(checkpoint, storage_options: dict | None = None) -> str | RemotePath:
    """The checkpoint prefix ``checkpoint`` names: a prefix (or one of its files) as it is, a
    folder's latest. A URL (or :class:`~tfexplore.RemotePath`) gives a ``RemotePath`` prefix
    (``storage_options`` for fsspec), read in byte ranges by the checked reader; a local path
    gives its text."""
    if is_url(checkpoint):
        return _resolve_remote_prefix(as_path(checkpoint, storage_options))
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
                if metas
                else "pass the prefix of a checkpoint, e.g. runs/x/model.ckpt-30",
            )
        return latest
    text = CHECKPOINT_SUFFIX.sub("", str(path))  # .index, .meta(.pbtxt), .data-NNNNN-of-MMMMM
    if not Path(text + ".index").exists():
        raise ArtifactNotFoundError(
            f"No checkpoint with prefix {text!r} ({text}.index is missing).",
            path=text,
            expected="a checkpoint prefix such as runs/x/model.ckpt-30",
            hint="pass the folder to use its latest checkpoint",
        )
    return text


def _resolve_remote_prefix(path: RemotePath) -> RemotePath:
    """:func:`_resolve_prefix` on object storage: a folder's latest checkpoint (from its state
    file when that names one that is there), else the prefix of the URL (``.index``,
    ``.data-*`` or ``.meta`` stripped), which must have its ``.index``."""
    from ..artifacts.checkpoint import CheckpointDir

    path.fs.invalidate_cache(path.fs_path)  # a run that has grown since it was last listed
    if path.is_dir():
        try:
            return CheckpointDir(path).latest.prefix
        except TFExploreError as exc:
            raise ArtifactNotFoundError(
                f"The folder {path.url!r} holds no checkpoint ({exc.message})",
                path=path.url,
                expected="PREFIX.index and PREFIX.data-* files (and a `checkpoint` state file)",
                hint="pass the URL of a checkpoint prefix, e.g. s3://bucket/run/model.ckpt-30",
            ) from exc
    match = CHECKPOINT_SUFFIX.search(path.name)
    prefix = path.with_name(path.name[: match.start()]) if match and match.start() else path
    index = prefix.with_name(prefix.name + ".index")
    if not index.is_file():
        raise ArtifactNotFoundError(
            f"No checkpoint with prefix {prefix.url!r} ({index.name} is missing).",
            path=prefix.url,
            expected="a checkpoint prefix such as s3://bucket/run/model.ckpt-30, or its folder",
            hint="pass the folder to use its latest checkpoint",
        )
    return prefix


def _latest_in(folder: Path) -> str | None:
    """The latest checkpoint of ``folder`` as :class:`~tfexplore.artifacts.checkpoint.CheckpointDir`
    finds it: a state file written on another machine (absolute paths) or naming deleted
    checkpoints is resolved to the files actually beside it; ``None`` when there is none."""
    from .._files import prefix_text
    from ..artifacts.checkpoint import CheckpointDir

    try:
        return prefix_text(CheckpointDir(folder).latest.prefix)
    except TFExploreError:
        return None


def _checkpoint_for_step(current, step: int) -> str | RemotePath:
    """The checkpoint of ``step`` in the folder of ``current`` (a local prefix's text, or a
    :class:`~tfexplore.RemotePath` prefix: then one listing of its folder)."""
    if current is None:
        raise ArtifactNotFoundError(
            f"No folder to find step {step} in.", hint="pass a prefix instead"
        )
    folder = current.parent if isinstance(current, RemotePath) else Path(current).parent
    matches = sorted(folder.glob(f"*-{step}.index"))
    if not matches:
        steps = sorted(p.name[: -len(".index")] for p in folder.glob("*.index"))
        raise ArtifactNotFoundError(
            f"No checkpoint for step {step} in {str(folder)!r}.",
            path=folder,
            expected=f"a file named *-{step}.index",
            hint="checkpoints there: " + (", ".join(steps) or "none"),
        )
    if isinstance(current, RemotePath):
        return matches[0].with_name(matches[0].name[: -len(".index")])
    return str(matches[0])[: -len(".index")]
