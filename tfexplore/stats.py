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

__all__ = [
    "STATS_COLUMNS",
    "tensor_stats",
    "compare",
    "stream_stats",
    "stats_frame",
    "progress_bar",
]

STATS_COLUMNS = ["min", "max", "mean", "std", "l2", "zeros", "nans", "infs"]
#: Above this many bytes, ``progress=None`` shows a progress bar.
PROGRESS_THRESHOLD_BYTES = 256 * 1024 * 1024
_CHUNK = 1 << 16  # elements per reduction chunk: float64 temporaries of 512 KB stay in cache
_FAST_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def tensor_stats(array: np.ndarray) -> dict[str, Any]:
    """min, max, mean, std, L2 norm and zero, NaN and Inf counts of one tensor.

    Non-numeric tensors (strings) give ``None`` for the numeric columns. NaN and Inf values are
    counted, and left out of min, max, mean, std and L2. Sums run in float64 over chunks of
    ``_CHUNK`` elements (one reused buffer), and chunks are merged with Chan's formula, so
    temporaries stay small and the result matches a float64 computation.
    """
    array = np.asarray(array)
    result: dict[str, Any] = dict.fromkeys(STATS_COLUMNS)
    if array.dtype.kind not in "biuf" and array.dtype.name != "bfloat16":
        return result
    is_float = array.dtype.kind == "f" or array.dtype.name == "bfloat16"
    flat = array.reshape(-1)
    n = flat.size
    buffer = np.empty(min(n, _CHUNK), np.float64)
    zeros = nans = infs = 0
    moments = _Moments()
    for start in range(0, n, _CHUNK):
        chunk = flat[start : start + _CHUNK]
        if chunk.dtype not in _FAST_DTYPES:
            chunk = chunk.astype(np.float64)
        zeros += int(np.count_nonzero(chunk == 0))  # (a comparison is faster than counting floats)
        if moments.add(chunk, buffer):
            continue
        # NaN or Inf in this chunk (or a float64 overflow): count them, leave them out
        chunk = chunk.astype(np.float64)
        if is_float:
            nan_mask = np.isnan(chunk)
            inf_mask = np.isinf(chunk)
            nans += int(nan_mask.sum())
            infs += int(inf_mask.sum())
            chunk = chunk[~(nan_mask | inf_mask)]
        if chunk.size:
            moments.add(chunk, buffer, strict=False)
    result.update(zeros=zeros, nans=nans, infs=infs)
    if moments.count:
        count, mean = moments.count, moments.mean
        result.update(
            min=moments.low,
            max=moments.high,
            mean=mean,
            std=math.sqrt(max(moments.m2 / count, 0.0)),
            l2=math.sqrt(max(moments.m2 + count * mean * mean, 0.0)),
        )
    return result


class _Moments:
    """Count, mean, sum of squared deviations (``m2``), min and max, merged chunk by chunk."""

    def __init__(self) -> None:
        self.count = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.low, self.high = math.inf, -math.inf

    def add(self, chunk: np.ndarray, buffer: np.ndarray, *, strict: bool = True) -> bool:
        """Merge one chunk (float32 or float64). With ``strict``, return ``False`` and change
        nothing when a sum is not finite (the chunk holds NaN or Inf)."""
        count = chunk.size
        total = float(np.add.reduce(chunk, dtype=np.float64))
        if strict and not math.isfinite(total):
            return False
        mean = total / count
        work = buffer[:count]
        np.subtract(chunk, mean, out=work, dtype=np.float64)
        np.multiply(work, work, out=work)
        m2 = float(np.add.reduce(work))
        if strict and not math.isfinite(m2):
            return False
        low, high = float(chunk.min()), float(chunk.max())
        merged = self.count + count
        delta = mean - self.mean
        self.m2 += m2 + delta * delta * self.count * count / merged
        self.mean += delta * count / merged
        self.count = merged
        self.low, self.high = min(self.low, low), max(self.high, high)
        return True


def compare(a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    """How much ``b`` moved from ``a`` (same shape): max absolute change, relative L2 change
    (``|b - a| / |a|``), mean absolute change, and whether they are equal."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.dtype.kind not in "biuf" or b.dtype.kind not in "biuf":
        equal = bool(np.array_equal(a, b))
        return {
            "max_abs_change": None,
            "mean_abs_change": None,
            "rel_l2_change": None,
            "equal": equal,
        }
    fa = a.reshape(-1)
    fb = b.reshape(-1)
    buffer = np.empty(min(fa.size, _CHUNK), np.float64)
    max_abs = 0.0
    sum_abs = 0.0
    diff_sq = 0.0
    base_sq = 0.0
    for start in range(0, fa.size, _CHUNK):
        x = fa[start : start + _CHUNK]
        y = fb[start : start + _CHUNK]
        if x.dtype not in _FAST_DTYPES or y.dtype not in _FAST_DTYPES:
            x, y = x.astype(np.float64), y.astype(np.float64)
        fast = _compare_chunk(x, y, buffer)
        if fast is None:  # NaN or Inf in the chunk: the NaN-ignoring way
            fast = _compare_chunk_nan(x.astype(np.float64), y.astype(np.float64))
        chunk_max, chunk_abs, chunk_diff, chunk_base = fast
        max_abs = max(max_abs, chunk_max)
        sum_abs += chunk_abs
        diff_sq += chunk_diff
        base_sq += chunk_base
    rel = (
        math.sqrt(diff_sq) / math.sqrt(base_sq)
        if base_sq > 0
        else (0.0 if diff_sq == 0 else math.inf)
    )
    return {
        "max_abs_change": max_abs,
        "mean_abs_change": sum_abs / fa.size if fa.size else 0.0,
        "rel_l2_change": rel,
        "equal": diff_sq == 0 and max_abs == 0,
    }


def _compare_chunk(x: np.ndarray, y: np.ndarray, buffer: np.ndarray):
    """``(max |y - x|, sum |y - x|, sum (y - x)^2, sum x^2)`` in float64, or ``None`` if one
    is not finite."""
    if not x.size:
        return 0.0, 0.0, 0.0, 0.0
    work = buffer[: x.size]
    np.subtract(y, x, out=work, dtype=np.float64)
    np.abs(work, out=work)
    largest = float(work.max())
    total = float(np.add.reduce(work))
    np.multiply(work, work, out=work)
    diff_sq = float(np.add.reduce(work))
    np.multiply(x, x, out=work, dtype=np.float64)
    base_sq = float(np.add.reduce(work))
    result = (largest, total, diff_sq, base_sq)
    return result if all(math.isfinite(v) for v in result) else None


def _compare_chunk_nan(x: np.ndarray, y: np.ndarray):
    d = y - x
    absd = np.abs(d)
    largest = math.nan if np.all(np.isnan(absd)) else float(np.nanmax(absd))
    return largest, float(np.nansum(absd)), float(np.nansum(d * d)), float(np.nansum(x * x))


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
    return stats_frame(rows)


def stats_frame(rows: list[dict[str, Any]]):
    """The DataFrame of ``stream_stats`` from its rows (each: the identifying columns, then
    ``STATS_COLUMNS``), for passes that compute the rows elsewhere (a Dask cluster)."""
    import pandas as pd

    columns = list(rows[0].keys()) if rows else ["name", *STATS_COLUMNS]
    return pd.DataFrame(rows, columns=columns)
