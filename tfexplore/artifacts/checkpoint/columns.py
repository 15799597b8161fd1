"""A checkpoint's tables: ``Checkpoint.variables`` (each column made with the dtype pandas would
infer, since inferring costs more than the rest of the table) and ``Checkpoint.diff``.
"""

from __future__ import annotations

import math
import operator
from typing import TYPE_CHECKING, Any

import numpy as np

from . import naming

if TYPE_CHECKING:
    import pandas as pd

VARIABLE_COLUMNS = [
    "name",
    "role",
    "shape",
    "dtype",
    "size",
    "nbytes",
    "shard",
    "offset",
    "partitions",
    "slot",
    "slot_of",
    "optimizer",
    "object_path",
    "aliases",
    "full_name",
]
_KEY_COLUMNS = ("role", "slot", "slot_of", "optimizer", "object_path", "aliases", "full_name")
#: the storage facts of a V2 index entry: shape, dtype, nbytes, shard, offset
_ENTRY_FIELDS = operator.attrgetter("shape", "dtype", "size", "shard", "offset")
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


def variables_table(storage_columns: dict[str, list], info: dict) -> pd.DataFrame:
    """``Checkpoint.variables`` from its storage columns and what each key means (``info``:
    key -> :class:`~.naming.KeyInfo`)."""
    import pandas as pd

    columns: dict[str, Any] = dict(storage_columns)
    names = columns["name"]
    if not names:
        table = pd.DataFrame([], columns=VARIABLE_COLUMNS)
        for column in ("nbytes", "shard", "offset"):
            table[column] = table[column].astype("Int64")
        return table
    # one list per column, gathered in C (zip over the KeyInfo tuples, in key order)
    keys = info.values() if list(info) == names else map(info.__getitem__, names)
    key_columns = dict(zip(naming.KeyInfo._fields, map(list, zip(*keys))))
    columns.update((column, key_columns[column]) for column in _KEY_COLUMNS)
    # each column made with the dtype pandas would infer from its list (inferring costs
    # more than the rest of the table): see _text_column, _object_column, _int_column
    count = len(names)
    text = _string_dtype()
    for column in _TEXT_COLUMNS:
        columns[column] = _text_column(columns[column], count, text)
    for column in ("shape", "aliases"):
        columns[column] = _object_column(columns[column], count)
    for column in ("size", "partitions"):  # element and piece counts fit in int64
        columns[column] = np.array(columns[column], dtype=np.int64)
    for column in ("nbytes", "shard", "offset"):
        columns[column] = _int_column(columns[column], count)
    return pd.DataFrame(columns, columns=VARIABLE_COLUMNS, copy=False)


def diff_table(
    old_checkpoint, new_checkpoint, progress: bool | None = None, *, engine=None
) -> pd.DataFrame:
    """``Checkpoint.diff``: ``old_checkpoint`` against ``new_checkpoint``, one pair of tensors
    at a time, here or on a Dask cluster (``engine``: see :func:`~.engine.resolve_engine`).
    The progress bar counts both tensors' bytes of each pair compared."""
    import pandas as pd

    from ...stats import compare, progress_bar
    from .engine import cluster_compare, resolve_engine

    client = resolve_engine(engine)
    old, new = old_checkpoint._entries, new_checkpoint._entries
    names = [n for n in old if old_checkpoint._info[n].role != "object_graph"]
    names += [n for n in new if n not in old and new_checkpoint._info[n].role != "object_graph"]
    rows = []
    pairs = []  # (row position, name, bytes the bar counts for it)
    for name in names:
        row = _diff_row(name, old.get(name), new.get(name))
        row["role"] = (old_checkpoint._info.get(name) or new_checkpoint._info[name]).role
        if row["status"] == "compare":
            pairs.append((len(rows), name, 2 * int(old[name]["nbytes"] or 0)))
        rows.append(row)
    if client is not None:
        found = cluster_compare(
            [(old_checkpoint, new_checkpoint, name, nbytes) for _, name, nbytes in pairs],
            client,
            progress=progress,
            description="diff",
        )
        for (position, _, _), result in zip(pairs, found):
            _add_comparison(rows[position], result)
        return pd.DataFrame(rows, columns=DIFF_COLUMNS)
    bar = progress_bar(sum(nbytes for _, _, nbytes in pairs), progress, "diff")
    try:
        keys = [name for _, name, _ in pairs]
        readers = zip(old_checkpoint._readers(keys), new_checkpoint._readers(keys))
        for (position, _, nbytes), (read_old, read_new) in zip(pairs, readers):
            result = compare(read_old(), read_new())
            _add_comparison(rows[position], result)
            if bar is not None:
                bar.update(nbytes)
    finally:
        if bar is not None:
            bar.close()
    return pd.DataFrame(rows, columns=DIFF_COLUMNS)


def _add_comparison(row: dict[str, Any], result: dict[str, Any]) -> None:
    """The row of a pair of tensors completed with what ``compare`` found."""
    row.update({k: result[k] for k in DIFF_COLUMNS if k in result})
    row["status"] = "unchanged" if result["equal"] else "changed"


def index_columns(index) -> dict[str, list]:
    """``name`` and the storage facts of every tensor of a V2 index (a
    :class:`~.bundle.BundleIndex`), one list per column; a partitioned variable counts the
    bytes of all its pieces and has no single offset."""
    entries = index.entries
    names = list(entries)
    values = list(map(list, zip(*map(_ENTRY_FIELDS, entries.values()))))
    shape, dtype, nbytes, shard, offset = values or _empty(5)
    size = list(map(math.prod, shape))  # BundleEntry.num_elements
    partitions = [1] * len(names)
    if index.slice_entries:  # a partitioned variable: its pieces' bytes, no single offset
        for position, name in enumerate(names):
            pieces = index.slice_entries.get(name)
            if pieces:
                nbytes[position] = sum(entry.size for _, entry in pieces)
                shard[position] = pieces[0][1].shard
                offset[position] = None
                partitions[position] = len(pieces)
    return {
        "name": names,
        "shape": shape,
        "dtype": dtype,
        "size": size,
        "nbytes": nbytes,
        "shard": shard,
        "offset": offset,
        "partitions": partitions,
    }
