"""What training dynamics measure in one folder of checkpoints, read streamed: which model
variables to follow (:func:`model_variables`: names, layers), and for each variable at each
checkpoint its norm, NaN and Inf counts, all-zero rows and columns and, against the checkpoint
before, the summed squares of the change (:func:`measure`, :func:`record`). The judging (ratios,
flags) and the pictures are :mod:`.dynamics`'s.

Example::

    >>> import numpy as np
    >>> record(np.ones((2, 3)), np.array([[1.0, 0.0, 2.0], [1.0, 0.0, 2.0]]))["dead_cols"]
    1
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import TensorNotFoundError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["model_variables", "measure", "record", "change_sums", "dead_units", "groups"]

_CHUNK = 1 << 16  # elements per chunk of a reduction: float64 temporaries of 512 KB


def measure(
    checkpoints: list[Any],
    variables: pd.DataFrame,
    *,
    group_bytes: int = 0,
    progress: bool | Callable[[int, int], Any] | None = None,
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, int]]:
    """One record per (variable, checkpoint), oldest first (see :func:`record`), and how many
    checkpoints lack each variable. The variables are read in groups (:func:`groups`), each
    group from every checkpoint in turn, and only the previous checkpoint's copy is kept: no
    tensor is ever held more than twice. ``progress``: a bar (``True``, or ``None`` for a
    large run), or ``progress(done_bytes, total_bytes)``. (On a Dask cluster:
    ``engine.cluster_measure``, the same records.)"""
    from ...stats import progress_bar

    total = int(variables["nbytes"].sum()) * len(checkpoints)
    callback = progress if callable(progress) else None
    bar = None if callback is not None else progress_bar(total, progress, "dynamics")
    records: dict[str, list[dict[str, Any]]] = {v: [] for v in variables["variable"]}
    done = 0
    missing: dict[str, int] = {}
    try:
        for group in groups(variables, group_bytes):
            previous: dict[str, np.ndarray] = {}
            for checkpoint in checkpoints:
                current = read_group(checkpoint, group)
                for variable, key, _ in group:
                    array = current.get(key)
                    if array is None:
                        missing[variable] = missing.get(variable, 0) + 1
                    records[variable].append(record(previous.get(key), array))
                previous = current
                del current
                size = sum(nbytes for _, _, nbytes in group)
                done += size
                if bar is not None:
                    bar.update(size)
                if callback is not None:
                    callback(done, total)
            del previous
    finally:
        if bar is not None:
            bar.close()
    return records, missing


def model_variables(checkpoint: Any, names: Iterable[str] | None) -> pd.DataFrame:
    """The model variables to follow: ``variable`` (display name), ``layer``, ``key``,
    ``shape``, ``dtype``, ``nbytes``, ordered by layer (natural order) then name."""
    table = checkpoint.variables
    floating = table["dtype"].astype(str).str.startswith(("float", "bfloat"))
    if names is None:
        chosen = table[(table["role"] == "variable") & floating]
    else:
        keys = [checkpoint.resolve(name) for name in ([names] if isinstance(names, str) else names)]
        chosen = table[table["name"].isin(keys) & floating]
    chosen = chosen.copy()
    chosen["variable"] = _display_names(chosen)
    chosen["layer"] = [name.rpartition("/")[0] or name for name in chosen["variable"]]
    chosen["key"] = chosen["name"]
    chosen["nbytes"] = chosen["nbytes"].fillna(0).astype("int64")  # (NA: V1 strings only)
    chosen["_order"] = [
        (_natural(layer), _natural(v)) for layer, v in zip(chosen["layer"], chosen["variable"])
    ]
    chosen = chosen.sort_values("_order", kind="stable")
    return chosen[["variable", "layer", "key", "shape", "dtype", "nbytes"]].reset_index(drop=True)


def _display_names(table: pd.DataFrame) -> list[str]:
    """Scoped names when each variable has a unique one (``dense_1/kernel``), else TF2 object
    paths when unique, else the checkpoint keys."""
    for column in ("full_name", "object_path"):
        if column not in table:
            continue
        values = [re.sub(r":\d+$", "", v) if isinstance(v, str) else None for v in table[column]]
        if (
            all(values)
            and len(set(values)) == len(values)
            and (column == "object_path" or all("/" in v for v in values))
        ):
            return values
    return [str(name) for name in table["name"]]


def _natural(text: str) -> tuple:
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text))


def groups(variables: pd.DataFrame, group_bytes: int) -> list[list[tuple[str, str, int]]]:
    """(variable, key, nbytes) runs read together: one tensor each, or (``group_bytes`` > 0)
    neighbours up to that many bytes."""
    groups: list[list[tuple[str, str, int]]] = []
    size = 0
    for variable, key, nbytes in zip(variables["variable"], variables["key"], variables["nbytes"]):
        item = (variable, key, int(nbytes))
        if groups and group_bytes and size + item[2] <= group_bytes:
            groups[-1].append(item)
            size += item[2]
        else:
            groups.append([item])
            size = item[2]
    return groups


def read_group(checkpoint: Any, group: list[tuple[str, str, int]]) -> dict[str, np.ndarray]:
    """The group's tensors in ``checkpoint`` by key (keys it lacks left out), read through
    :meth:`Checkpoint._readers` (on object storage: one round of concurrent ranged requests)."""
    found = []
    for _, key, _ in group:
        try:
            found.append((key, checkpoint.resolve(key)))
        except TensorNotFoundError:
            continue
    resolved = [own for _, own in found]
    arrays = {}
    for (key, _), read in zip(found, checkpoint._readers(resolved)):
        arrays[key] = read()
    return arrays


def record(old: np.ndarray | None, new: np.ndarray | None) -> dict[str, Any]:
    """What one checkpoint says of one variable: its shape, norm, NaN and Inf counts, dead rows
    and columns, and (against the previous checkpoint) the summed squares of the change and of
    the old values, over the pairs where both are finite."""
    from ...stats import tensor_stats

    found: dict[str, Any] = {
        "norm": None, "nans": 0, "infs": 0, "size": 0, "ndim": 0,
        "dead_rows": 0, "dead_cols": 0, "rows": 0, "cols": 0,
        "diff_sq": None, "base_sq": None, "present": new is not None, "shape": None,
    }  # fmt: skip
    if new is None:
        return found
    stats = tensor_stats(new)
    found.update(
        norm=stats["l2"], nans=stats["nans"] or 0, infs=stats["infs"] or 0,
        size=int(new.size), ndim=new.ndim, shape=tuple(int(n) for n in new.shape),
    )  # fmt: skip
    if new.ndim >= 2 and new.size:
        found.update(dead_units(new))
    if old is not None and old.shape == new.shape:
        diff_sq, base_sq, compared = change_sums(old, new)
        if compared or not new.size:  # no finite pair (all NaN): no ratio, not a zero one
            found["diff_sq"], found["base_sq"] = diff_sq, base_sq
    return found


def change_sums(old: np.ndarray, new: np.ndarray) -> tuple[float, float, int]:
    """``(sum (new - old)², sum old², how many pairs)`` in float64 over the elements finite in
    both, in chunks of ``_CHUNK`` elements through one reused buffer (never a copy of the
    tensor; no BLAS call, whose threads only contend on a busy machine).

    Example::

        >>> change_sums(np.array([3.0, 1.0, np.nan]), np.array([4.0, 1.0, 5.0]))
        (1.0, 10.0, 2)
    """
    a, b = old.reshape(-1), new.reshape(-1)
    work = np.empty(min(a.size, _CHUNK), np.float64)
    diff_sq = base_sq = 0.0
    compared = a.size
    for start in range(0, a.size, _CHUNK):
        x, y = a[start : start + _CHUNK], b[start : start + _CHUNK]
        buffer = work[: x.size]
        np.subtract(y, x, out=buffer, dtype=np.float64)
        np.multiply(buffer, buffer, out=buffer)
        chunk_diff = float(np.add.reduce(buffer))
        np.multiply(x, x, out=buffer, dtype=np.float64)
        chunk_base = float(np.add.reduce(buffer))
        if not (math.isfinite(chunk_diff) and math.isfinite(chunk_base)):
            x, y = x.astype(np.float64), y.astype(np.float64)  # NaN or Inf here: left out
            keep = np.isfinite(x) & np.isfinite(y)
            compared -= int(keep.size - np.count_nonzero(keep))
            x, d = x[keep], y[keep] - x[keep]
            chunk_diff, chunk_base = float(np.sum(d * d)), float(np.sum(x * x))
        diff_sq += chunk_diff
        base_sq += chunk_base
    return diff_sq, base_sq, compared


def dead_units(array: np.ndarray) -> dict[str, int]:
    """How many input units (rows: the second-to-last axis) and output units (columns: the
    last axis) of a kernel are all zero, counted in chunks. NaN is not zero."""
    n_in, n_out = array.shape[-2], array.shape[-1]
    view = array.reshape(-1, n_out)
    rows_alive = np.zeros(n_in, dtype=bool)
    cols_alive = np.zeros(n_out, dtype=bool)
    step = max(1, _CHUNK // max(n_out, 1))
    for start in range(0, view.shape[0], step):
        nonzero = view[start : start + step] != 0
        cols_alive |= nonzero.any(axis=0)
        alive = nonzero.any(axis=1)
        rows_alive[(np.arange(start, start + len(alive)) % n_in)[alive]] = True
    return {
        "dead_rows": int(n_in - rows_alive.sum()),
        "dead_cols": int(n_out - cols_alive.sum()),
        "rows": int(n_in),
        "cols": int(n_out),
    }
