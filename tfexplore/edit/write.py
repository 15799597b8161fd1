"""Writing a checked :class:`~tfexplore.edit.plan.RewritePlan`: the new checkpoint made tensor
by tensor (each read by the checked reader, transformed, written, let go), atomically.

Memory stays at the largest tensor twice plus a constant: a source is read whole (once), a
transform makes at most one copy, the writer writes from the array's own memory. A merged
target holds its parts and the joined whole; a split holds the source and one part at a
time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._fs import is_url
from ..errors import CheckpointExistsError, RewriteError, TFExploreError
from .checks import _filled_by, _isnan, _output, _param
from .targets import OBJECT_GRAPH_KEY

if TYPE_CHECKING:
    from .plan import RewritePlan


def write_plan(plan: RewritePlan, path, *, overwrite: bool, meta: Any, progress: bool | None):
    """See :meth:`RewritePlan.write`."""
    from ..artifacts.checkpoint import Checkpoint
    from .bundle_writer import BundleWriter, publish_checkpoint

    if is_url(path):
        raise RewriteError(
            f"tfexplore writes rewritten checkpoints to local folders; received {path!r}.",
            path=str(path),
            expected="a local checkpoint prefix such as converted/model.ckpt",
            hint="write locally, then upload the files (fsspec's put)",
        )
    prefix = _destination(path)
    problems = plan.problems
    if not problems.empty:
        lines = [
            f"- {r.check}: {r.source or ''} -> {r.target or ''}: {r.message}"
            for r in problems.head(12).itertuples()
        ]
        more = f"\n- ... and {len(problems) - 12} more" if len(problems) > 12 else ""
        raise RewriteError(
            f"The plan has {len(problems)} problems; nothing was written:\n"
            + "\n".join(lines)
            + more,
            path=str(path),
            expected="a plan whose report has no errors (plan.problems is empty)",
            hint="fix the rows in plan.table (or plan.set(...)) and look at plan.report again",
            report=plan.report,
        )
    source_prefix = Path(str(plan.checkpoint.prefix)).absolute()
    if _same_prefix(prefix, source_prefix):
        raise RewriteError(
            f"{str(prefix)!r} is the source checkpoint; a rewrite never touches its source.",
            path=str(prefix),
            expected="a new prefix",
            hint="write to another prefix (another folder, or model-rewritten.ckpt)",
        )
    _check_sources(plan)
    made = _missing_folders(prefix.parent)
    try:
        prefix.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RewriteError(
            f"Cannot make the folder {str(prefix.parent)!r}: {exc.strerror or exc}.",
            path=str(prefix.parent),
            expected="a folder (or a place for one) to write the new checkpoint in",
            hint="choose another destination prefix",
        ) from exc
    jobs = _jobs(plan)
    meta_bytes = _meta_bytes(plan, meta)
    object_graph = _object_graph(plan)
    bar = _progress(progress, sum(j[2] for j in jobs))

    def write(temporary_prefix: Path) -> None:
        with BundleWriter(temporary_prefix) as writer:
            for key, make, nbytes in jobs:
                writer.add(key, make())
                if bar is not None:
                    bar.update(nbytes)
            if object_graph is not None:
                writer.add(OBJECT_GRAPH_KEY, np.array(object_graph, dtype=object))

    try:
        publish_checkpoint(
            prefix,
            write,
            meta=meta_bytes,
            overwrite=overwrite,
            name_in_state=_may_name_in_state(prefix),
        )
    except CheckpointExistsError as exc:
        _remove_empty(made)
        raise RewriteError(
            f"A checkpoint {str(prefix)!r} already exists; nothing was written.",
            path=str(prefix),
            expected="a new prefix, or permission to replace this one",
            hint="plan.write(path, overwrite=True) (the command line: --overwrite), or "
            "another prefix",
        ) from exc
    except TFExploreError:  # a source tensor that cannot be read: said as it is
        _remove_empty(made)
        raise
    except OSError as exc:  # a full disk, a folder we may not write: nothing was published
        _remove_empty(made)
        raise RewriteError(
            f"Writing {str(prefix)!r} failed: {exc.strerror or exc}"
            + (f" ({exc.filename})" if getattr(exc, "filename", None) else "")
            + ". Nothing was published.",
            path=str(prefix),
            expected="a folder with room and write permission for the new checkpoint",
            hint="free space or choose another folder, then plan.write(...) again",
        ) from exc
    finally:
        if bar is not None:
            bar.close()
    return Checkpoint(prefix)


def _destination(path) -> Path:
    """The prefix to write, refused when it cannot be one: empty, not text, a folder (or
    ending in a separator), a NUL byte."""
    if isinstance(path, Path):
        text = str(path)
    elif isinstance(path, str):
        text = path
    else:
        raise RewriteError(
            f"plan.write() takes a checkpoint prefix (a str or Path); received "
            f"{type(path).__name__}.",
            expected="a prefix such as converted/model.ckpt",
            hint="plan.write('converted/model.ckpt')",
        )
    if not text.strip():
        raise RewriteError(
            "plan.write() was given an empty prefix; nothing was written.",
            expected="a prefix such as converted/model.ckpt",
            hint="plan.write('converted/model.ckpt')",
        )
    if "\x00" in text:
        raise RewriteError(
            f"The prefix {text!r} holds a NUL byte; no file can be named so.",
            path=text,
            expected="a prefix such as converted/model.ckpt",
        )
    prefix = Path(text).expanduser().absolute()
    if text.endswith(("/", os.sep)) or prefix.is_dir():
        raise RewriteError(
            f"{text!r} is a folder; a checkpoint is written as PREFIX.index and "
            "PREFIX.data-* files, so the destination is a prefix, not a folder.",
            path=text,
            expected=f"a prefix inside it, such as {str(prefix / 'model.ckpt')!r}",
            hint=f"plan.write({str(prefix / 'model.ckpt')!r})",
        )
    return prefix


def _check_sources(plan: RewritePlan) -> None:
    """Every data file the source's index names is there, before a byte is written."""
    checkpoint = plan.checkpoint
    files = [f for f in getattr(checkpoint, "data_files", []) if not is_url(str(f))]
    missing = [Path(str(f)).name for f in files if not Path(str(f)).is_file()]
    if missing:
        raise RewriteError(
            f"The source checkpoint {str(checkpoint.prefix)!r} lacks {missing[0]}"
            + (f" and {len(missing) - 1} more data file(s)" if len(missing) > 1 else "")
            + "; nothing was written.",
            path=str(checkpoint.prefix),
            expected="every data file its .index names, next to it",
            hint="copy the missing .data-* files next to the .index (they hold the values)",
        )


def _may_name_in_state(prefix: Path) -> bool:
    """A rewrite names its checkpoint in the folder's ``checkpoint`` state file only where
    the file is absent or names this prefix already: writing beside a source never changes
    which checkpoint its folder's latest is."""
    from ..live.saving import _names, read_state

    if not (prefix.parent / "checkpoint").exists():
        return True
    state = read_state(prefix.parent)
    return state is not None and prefix.name in _names(state)


def _missing_folders(folder: Path) -> list[Path]:
    """The folders ``mkdir(parents=True)`` would make, deepest first."""
    made = []
    while not folder.exists() and folder != folder.parent:
        made.append(folder)
        folder = folder.parent
    return made


def _remove_empty(folders: list[Path]) -> None:
    """Take back the folders a failed write made, if they are still empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            break


def _same_prefix(a: Path, b: Path) -> bool:
    """The same checkpoint, whatever the spelling: symlinked folders, ``..``, the same
    ``.index`` file reached another way."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(f"{a}.index", f"{b}.index")
    except OSError:
        return False


def _key_of(plan: RewritePlan, name: str) -> str:
    if plan.target is not None:
        return plan.target.by_name[name].key
    return name


def _jobs(plan: RewritePlan) -> list[tuple[str, Any, int]]:
    """``(key, make value, bytes)`` for each tensor to write, in the order of the source
    (so reads go through the shards front to back)."""
    table, checkpoint = plan.table, plan.checkpoint
    jobs: list[tuple[str, Any, int]] = []
    merged_done: set[str] = set()
    nbytes_of = dict(zip(checkpoint.variables["name"], checkpoint.variables["nbytes"]))
    filled = _filled_by(table)
    for i in table.index:
        action = table.at[i, "action"]
        source, name = table.at[i, "source"], table.at[i, "target"]
        if action == "drop":
            continue
        nbytes = int(nbytes_of.get(source) or 0)
        if action == "merge":
            if name in merged_done:
                continue
            merged_done.add(name)
            parts = filled[name]
            axis = _axis(table.at[i, "axis"])
            jobs.append((_key_of(plan, name), _merge(checkpoint, parts, axis), nbytes * len(parts)))
        elif action == "split":
            out = _output(plan, i)
            names = list(out)
            sizes = [out[n][0][_axis(table.at[i, "axis"]) % len(out[n][0])] for n in names]
            axis = _axis(table.at[i, "axis"])
            for k, part in enumerate(names):
                jobs.append(
                    (
                        _key_of(plan, part),
                        _split(checkpoint, source, axis, sizes, k),
                        nbytes // len(names),
                    )
                )
        else:
            out = _output(plan, i)
            shape, dtype = out[name]
            jobs.append(
                (_key_of(plan, name), _transform(checkpoint, plan, i, shape, dtype), nbytes)
            )
    if plan.target is not None:
        for v in plan.target.variables:
            if v.name in plan.initialized and v.name not in filled:
                jobs.append((v.key, _initial(v), 0))
    return jobs


def _axis(value) -> int:
    return 0 if value is None or _isnan(value) else int(value)


def _read(checkpoint, key: str) -> np.ndarray:
    return np.asarray(checkpoint.read(key))


def _transform(checkpoint, plan, i, shape, dtype):
    table = plan.table
    source, action = table.at[i, "source"], table.at[i, "action"]

    def make():
        value = _read(checkpoint, source)
        if action == "cast":
            value = value.astype(_numpy_dtype(dtype))
        elif action == "reshape":
            value = value.reshape(shape)
        elif action == "transpose":
            perm = _param(table, i, "perm")
            perm = tuple(int(p) for p in perm) if perm else None
            value = np.ascontiguousarray(np.transpose(value, perm))
        return value

    return make


def _merge(checkpoint, parts: list[str], axis: int):
    def make():
        values = [_read(checkpoint, p) for p in parts]
        joined = np.concatenate(values, axis=axis)
        del values
        return joined

    return make


def _split(checkpoint, source: str, axis: int, sizes: list[int], k: int):
    def make():
        value = _read(checkpoint, source)
        start = sum(sizes[:k])
        index = [slice(None)] * value.ndim
        index[axis] = slice(start, start + sizes[k])
        return np.ascontiguousarray(value[tuple(index)])

    return make


def _initial(v):
    def make():
        try:
            value = np.asarray(v.initial())
        except TFExploreError:
            raise
        except Exception as exc:  # noqa: BLE001 - a model's variable that cannot be read
            raise RewriteError(
                f"The initial value of {v.name!r} cannot be read: {type(exc).__name__}: {exc}",
                expected="a target variable with a value",
                hint="map a source tensor to it instead",
            ) from exc
        return value.astype(_numpy_dtype(v.dtype)) if str(value.dtype) != v.dtype else value

    return make


def _numpy_dtype(name: str):
    if name == "bfloat16":
        import ml_dtypes

        return ml_dtypes.bfloat16
    return np.dtype(name)


def _meta_bytes(plan: RewritePlan, meta) -> bytes | None:
    if meta is None:
        return plan.target.meta if plan.target is not None else None
    if isinstance(meta, (bytes, bytearray)):
        return bytes(meta)
    proto = getattr(meta, "proto", None)
    if proto is not None:
        return proto.SerializeToString()
    from ..artifacts.metagraph import MetaGraph

    return MetaGraph.from_file(meta).proto.SerializeToString()


def _object_graph(plan: RewritePlan) -> bytes | None:
    """The TF2 object graph to write: the target model's; or, for an object-based source
    rewritten without a target, the source's with each attribute's key renamed (or removed,
    for a dropped tensor)."""
    if plan.target is not None:
        return plan.target.object_graph if plan.target.style == "object_based" else None
    checkpoint = plan.checkpoint
    if checkpoint.style != "object_based" or OBJECT_GRAPH_KEY not in set(
        checkpoint.variables["name"]
    ):
        return None
    from .._wire import TrackableObjectGraph, parse_proto

    raw = bytes(np.asarray(checkpoint.read(OBJECT_GRAPH_KEY)).reshape(-1)[0])
    proto = parse_proto(TrackableObjectGraph, raw, str(checkpoint.prefix), "TF2 object graph")
    table = plan.table
    new_key = {
        s: (t if a != "drop" else None)
        for s, a, t in zip(table["source"], table["action"], table["target"])
    }
    for node in proto.nodes:
        kept = []
        for attribute in node.attributes:
            key = attribute.checkpoint_key
            if key in new_key and new_key[key] is None:
                continue
            if new_key.get(key):
                attribute.checkpoint_key = new_key[key]
            kept.append(attribute)
        del node.attributes[:]
        node.attributes.extend(kept)
    return proto.SerializeToString()


def _progress(progress: bool | None, total: int):
    if progress is False or (progress is None and total < 256 * 2**20):
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="B", unit_scale=True, desc="writing")
