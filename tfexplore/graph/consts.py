"""Decoding a ``Const`` op's ``TensorProto`` without trusting its declared shape.

A ``TensorProto`` may store fewer values than its shape holds: TensorFlow then repeats the last
stored value (a 93-byte ``.pb`` can declare a ``[40000, 40000]`` float of one value: 6.4 GB
once decoded, and ``tf.make_ndarray`` decodes it whole). Here the decoded size is computed
first; a tensor whose values are all stored is decoded as usual (its bytes are in the file),
and a *broadcast* one (fewer values than elements) is decoded only when the result fits in
:data:`MAX_BROADCAST_BYTES`, else :class:`~tfexplore.errors.TooLargeError` says what it holds
("one value, 3.0, broadcast to shape (40000, 40000)"). Its statistics need no decoding at all
(:func:`const_stats`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import CorruptArtifactError, TooLargeError

__all__ = ["MAX_BROADCAST_BYTES", "stored_values", "decoded_bytes", "const_value", "const_stats"]

#: The most bytes a broadcast ``Const`` (fewer stored values than elements) is decoded to.
MAX_BROADCAST_BYTES = 256 << 20
_VALUE_FIELDS = (
    "half_val", "float_val", "double_val", "int_val", "string_val", "scomplex_val",
    "dcomplex_val", "int64_val", "bool_val", "uint32_val", "uint64_val", "resource_handle_val",
    "variant_val",
)  # fmt: skip


def _shape(tensor) -> tuple[int, ...] | None:
    if tensor.tensor_shape.unknown_rank:
        return None
    return tuple(int(d.size) for d in tensor.tensor_shape.dim)


def stored_values(tensor) -> int:
    """How many values ``tensor`` stores (``-1`` when it stores ``tensor_content`` bytes)."""
    if tensor.tensor_content:
        return -1
    count = sum(len(getattr(tensor, name)) for name in _VALUE_FIELDS if hasattr(tensor, name))
    if hasattr(tensor, "float8_val"):
        count += len(tensor.float8_val)
    return count


def decoded_bytes(tensor) -> int | None:
    """The bytes the decoded numpy array takes (object arrays: a pointer per element)."""
    from .._tf import tf

    shape = _shape(tensor)
    if shape is None or any(d < 0 for d in shape):
        return None
    try:
        dtype = tf().dtypes.as_dtype(tensor.dtype)
        itemsize = 8 if dtype == tf().string else dtype.size
    except TypeError:
        return None
    return math.prod(shape) * max(itemsize, 1)


def _describe(tensor, shape) -> str:
    from .model import dtype_name

    stored = stored_values(tensor)
    last = _last_value(tensor)
    what = (
        "no value (zeros)"
        if stored == 0
        else (
            f"one value, {last!r},"
            if stored == 1
            else f"{stored} values (the last, {last!r}, repeated)"
        )
    )
    return f"{what} broadcast to shape {shape} ({dtype_name(tensor.dtype)})"


def _last_value(tensor) -> Any:
    for name in _VALUE_FIELDS:
        values = getattr(tensor, name, None)
        if values:
            value = values[-1]
            return value[:40] if isinstance(value, bytes) else value
    return 0


def const_value(tensor, *, name: str, path) -> np.ndarray:
    """The value of ``Const`` ``name`` (of the file ``path``), decoded within the limits above."""
    from .._tf import tf

    shape = _shape(tensor)
    stored = stored_values(tensor)
    size = math.prod(shape) if shape is not None else None
    nbytes = decoded_bytes(tensor)
    if size is not None and stored != -1 and stored < size and (nbytes or 0) > MAX_BROADCAST_BYTES:
        raise TooLargeError(
            f"Const {name!r} stores {_describe(tensor, shape)}: {nbytes} bytes once decoded, "
            f"more than tfexplore decodes for a broadcast constant ({MAX_BROADCAST_BYTES} bytes).",
            path=path,
            expected="a Const whose decoded value fits in memory",
            hint="its stored value is in the message and in .stats() (computed without "
            "decoding); raise tfexplore.graph.consts.MAX_BROADCAST_BYTES if you need the array",
        )
    if size is not None and stored == -1 and nbytes is not None:
        if len(tensor.tensor_content) != nbytes:
            raise CorruptArtifactError(
                f"The value of Const {name!r} has {len(tensor.tensor_content)} bytes but its "
                f"shape {shape} needs {nbytes}.",
                path=path,
                expected="a TensorProto whose content matches its dtype and shape",
                hint="the file may be damaged; re-copy it",
            )
    try:
        return tf().make_ndarray(tensor)
    except (TypeError, ValueError, IndexError) as exc:
        raise CorruptArtifactError(
            f"The value of Const {name!r} cannot be decoded: {type(exc).__name__}: {exc}",
            path=path,
            expected="a TensorProto whose content matches its dtype and shape",
            hint="the file may be damaged; re-copy it",
        ) from exc


def is_broadcast(tensor) -> bool:
    shape = _shape(tensor)
    stored = stored_values(tensor)
    return shape is not None and stored != -1 and stored < math.prod(shape)


def const_stats(tensor) -> dict[str, Any] | None:
    """The statistics (``tensor_stats``'s columns) of a broadcast ``Const`` from its stored
    values and their repeat counts, without decoding it; ``None`` when it is not broadcast or
    not numeric (then decode it and use ``tensor_stats``)."""
    from .._tf import tf
    from ..stats import STATS_COLUMNS

    if not is_broadcast(tensor):
        return None
    try:
        dtype = tf().dtypes.as_dtype(tensor.dtype)
    except TypeError:
        return None
    if dtype == tf().string or not (dtype.is_floating or dtype.is_integer or dtype.is_bool):
        return None
    size = math.prod(_shape(tensor))
    values = next(
        (np.asarray(list(getattr(tensor, f)), dtype=np.float64)
         for f in _VALUE_FIELDS if len(getattr(tensor, f, ())) and f != "string_val"),
        np.zeros(1),
    )  # fmt: skip
    if dtype == tf().float16:  # half_val holds the raw 16 bits
        values = np.asarray(list(tensor.half_val), dtype=np.uint16).view(np.float16)
        values = values.astype(np.float64) if len(values) else np.zeros(1)
    elif dtype == tf().bfloat16:
        values = (np.asarray(list(tensor.half_val), dtype=np.uint32) << 16).view(np.float32)
        values = values.astype(np.float64) if len(values) else np.zeros(1)
    counts = np.ones(len(values), dtype=np.float64)
    counts[-1] += size - len(values)
    result: dict[str, Any] = dict.fromkeys(STATS_COLUMNS)
    nan, inf = np.isnan(values), np.isinf(values)
    finite = ~(nan | inf)
    result.update(
        zeros=int(counts[values == 0].sum()),
        nans=int(counts[nan].sum()),
        infs=int(counts[inf].sum()),
    )
    if finite.any():
        v, c = values[finite], counts[finite]
        count = c.sum()
        mean = float((v * c).sum() / count)
        m2 = float((c * (v - mean) ** 2).sum())
        result.update(
            min=float(v.min()), max=float(v.max()), mean=mean,
            std=math.sqrt(max(m2 / count, 0.0)),
            l2=math.sqrt(float((c * v * v).sum())),
        )  # fmt: skip
    return result
