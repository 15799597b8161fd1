"""Statistics of tensors, streamed one tensor at a time.

The functions on arrays are pure (``tensor_stats``, ``compare``); the drivers take *loaders*
(zero-argument callables that read one tensor) so that only one tensor is in memory at a time.

Example::

    >>> import numpy as np
    >>> tensor_stats(np.array([0.0, 3.0, -4.0]))["l2"]
    5.0
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

__all__ = ["STATS_COLUMNS", "tensor_stats", "compare", "stream_stats", "progress_bar"]

STATS_COLUMNS = ["min", "max", "mean", "std", "l2", "zeros", "nans", "infs"]
#: Above this many bytes, ``progress=None`` shows a progress bar.
PROGRESS_THRESHOLD_BYTES = 256 * 1024 * 1024
_CHUNK = 1 << 22  # elements per reduction chunk: bounds the temporaries of float64 upcasts


def tensor_stats(array: np.ndarray) -> dict[str, Any]:
    """min, max, mean, std, L2 norm and zero, NaN and Inf counts of one tensor.

    Non-numeric tensors (strings) give ``None`` for the numeric columns. NaN and Inf values are
    counted, and left out of min, max, mean, std and L2. Reductions run in float64 chunks of a
    few million elements, so a temporary never exceeds ~32 MB.
    """
    array = np.asarray(array)
    result: dict[str, Any] = dict.fromkeys(STATS_COLUMNS)
    if array.dtype.kind not in "biuf" and array.dtype.name != "bfloat16":
        return result
    flat = array.reshape(-1)
    n = flat.size
    zeros = nans = infs = 0
    count = 0
    total = 0.0
    squares = 0.0
    low, high = math.inf, -math.inf
    for start in range(0, n, _CHUNK):
        chunk = flat[start : start + _CHUNK].astype(np.float64)
        zeros += int(np.count_nonzero(chunk == 0))
        if array.dtype.kind == "f" or array.dtype.name == "bfloat16":
            nan_mask = np.isnan(chunk)
            inf_mask = np.isinf(chunk)
            nans += int(nan_mask.sum())
            infs += int(inf_mask.sum())
            if nans or infs:
                chunk = chunk[~(nan_mask | inf_mask)]
        if chunk.size:
            count += chunk.size
            total += float(chunk.sum())
            squares += float(np.dot(chunk, chunk))
            low = min(low, float(chunk.min()))
            high = max(high, float(chunk.max()))
    result.update(zeros=zeros, nans=nans, infs=infs)
    if count:
        mean = total / count
        result.update(
            min=low,
            max=high,
            mean=mean,
            std=math.sqrt(max(squares / count - mean * mean, 0.0)),
            l2=math.sqrt(squares),
        )
    return result


def compare(a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    """How much ``b`` moved from ``a`` (same shape): max absolute change, relative L2 change
    (``|b - a| / |a|``), mean absolute change, and whether they are equal."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.dtype.kind not in "biuf" or b.dtype.kind not in "biuf":
        equal = bool(np.array_equal(a, b))
        return {"max_abs_change": None, "mean_abs_change": None, "rel_l2_change": None, "equal": equal}
    fa = a.reshape(-1)
    fb = b.reshape(-1)
    max_abs = 0.0
    sum_abs = 0.0
    diff_sq = 0.0
    base_sq = 0.0
    for start in range(0, fa.size, _CHUNK):
        x = fa[start : start + _CHUNK].astype(np.float64)
        d = fb[start : start + _CHUNK].astype(np.float64) - x
        if d.size:
            absd = np.abs(d)
            max_abs = max(max_abs, float(np.nanmax(absd)) if not np.all(np.isnan(absd)) else math.nan)
            sum_abs += float(np.nansum(absd))
        diff_sq += float(np.nansum(d * d))
        base_sq += float(np.nansum(x * x))
    rel = math.sqrt(diff_sq) / math.sqrt(base_sq) if base_sq > 0 else (0.0 if diff_sq == 0 else math.inf)
    return {
        "max_abs_change": max_abs,
        "mean_abs_change": sum_abs / fa.size if fa.size else 0.0,
        "rel_l2_change": rel,
        "equal": diff_sq == 0 and max_abs == 0,
    }


def progress_bar(total_bytes: int, progress: bool | None, description: str):
    """A tqdm bar counting bytes, or ``None``. ``progress=None`` shows one when the work is
    larger than ``PROGRESS_THRESHOLD_BYTES``."""
    show = progress if progress is not None else total_bytes > PROGRESS_THRESHOLD_BYTES
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total_bytes, unit="B", unit_scale=True, desc=description, leave=False)


def stream_stats(
    items: Iterable[tuple[dict[str, Any], Callable[[], np.ndarray], int]],
    *,
    total_bytes: int = 0,
    progress: bool | None = None,
    description: str = "stats",
):
    """Compute ``tensor_stats`` for each ``(row, load, nbytes)`` and return a DataFrame.

    ``row`` holds the identifying columns (``name``, ``shape``, ``dtype`` ...), ``load()`` reads
    the tensor. Each tensor is dropped before the next is read.
    """
    import pandas as pd

    bar = progress_bar(total_bytes, progress, description)
    rows = []
    try:
        for row, load, nbytes in items:
            array = load()
            rows.append({**row, **tensor_stats(array)})
            del array
            if bar is not None:
                bar.update(nbytes)
    finally:
        if bar is not None:
            bar.close()
    columns = list(rows[0].keys()) if rows else ["name", *STATS_COLUMNS]
    return pd.DataFrame(rows, columns=columns)
