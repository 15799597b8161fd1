"""The columns of a checkpoint's tables, made with the dtype pandas would infer (inferring costs
more than the rest of a table), and the rows of :meth:`Checkpoint.diff`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DIFF_COLUMNS = [
    "name",
    "role",
    "status",
    "old_shape",
    "new_shape",
    "old_dtype",
    "new_dtype",
    "max_abs_change",
    "mean_abs_change",
    "rel_l2_change",
]


#: columns of text or ``None`` (pandas infers ``str``, or ``object`` when all are ``None``)
_TEXT_COLUMNS = (
    "name",
    "role",
    "dtype",
    "slot",
    "slot_of",
    "optimizer",
    "object_path",
    "full_name",
)


def _text_column(values: list, count: int, dtype):
    """What ``pd.DataFrame`` infers from ``values``, a list of ``str`` and ``None`` (these
    columns hold nothing else: names decoded from the index, ``KeyInfo`` fields): ``str``
    (pandas' default string dtype; ``None`` becomes its missing value), or ``object`` when every
    value is ``None``; made without inference (``dtype``: :func:`_string_dtype`)."""
    import pandas as pd

    if values.count(None) == count:
        return np.full(count, None, dtype=object)
    return values if dtype is None else pd.array(values, dtype=dtype)


def _object_column(values: list, count: int):
    """A column of tuples (shapes, aliases), as pandas stores them: an ``object`` array."""
    return np.fromiter(values, dtype=object, count=count)


def _int_column(values: list, count: int):
    """A nullable ``Int64`` column (``None`` missing) from a list of ints and ``None``."""
    import pandas as pd

    if None not in values:
        try:
            data = np.array(values, dtype=np.int64)
        except OverflowError:
            pass
        else:
            return pd.arrays.IntegerArray(data, np.zeros(count, dtype=bool))
    return pd.array(values, dtype="Int64")


def _string_dtype():
    """The dtype pandas infers for a list of text (``str`` in pandas 3), or ``None`` when it
    infers anything else (``object`` in pandas 2 without ``future.infer_string``): then pandas
    infers. Asked for each table: the option can change while the process runs."""
    import pandas as pd

    inferred = pd.Series(["a", None]).dtype
    return inferred if isinstance(inferred, pd.StringDtype) else None


def _empty(count: int) -> list[list]:
    return [[] for _ in range(count)]


def _count(value: Any) -> int:
    """A byte count from a nullable column (``<NA>`` for V1 string tensors) as an int."""
    import pandas as pd

    return 0 if value is None or pd.isna(value) else int(value)


def _diff_row(name: str, old: dict | None, new: dict | None) -> dict[str, Any]:
    row: dict[str, Any] = {"name": name}
    if old is not None:
        row.update(old_shape=old["shape"], old_dtype=old["dtype"])
    if new is not None:
        row.update(new_shape=new["shape"], new_dtype=new["dtype"])
    if old is None:
        row["status"] = "added"
    elif new is None:
        row["status"] = "removed"
    elif old["dtype"] != new["dtype"]:
        row["status"] = "dtype_changed"
    elif old["shape"] != new["shape"]:
        row["status"] = "shape_changed"
    else:
        row["status"] = "compare"
    return row
