"""Where the heavy passes over checkpoints run: ``stats``, ``diff``, ``history`` and
``dynamics`` in this process, one tensor at a time (``engine=None``, the default), or on a Dask
cluster (``engine="dask"`` or a ``distributed.Client``).

On a cluster the work is split by tensor: each tensor (each pair of tensors for ``diff``, each
(checkpoint, tensor) for ``history``, each tensor and the one before it for ``dynamics``)
becomes a small, picklable :class:`TensorSpec`: its index entries (the pieces of a partitioned
variable), the data shard each piece is in (a local ``Path`` or a
:class:`~tfexplore._fs.RemotePath`) and the ``.index`` to name in errors. A worker reads those
byte ranges itself, checks and decodes them with numpy alone (``shard.py``'s
``read_numeric_entry``, ``decode_numeric_entry`` and ``decode_string_entry``), computes
``tensor_stats``, ``compare`` or ``measure.record``, and sends back a dict of a few numbers: no
array crosses the network and no worker imports TensorFlow. Tasks go out ordered by (shard,
offset), so that a worker's reads run along a shard: a tensor of ``TASK_BYTES`` or more is a
task of its own, smaller neighbours in a shard share one (a task costs the scheduler a few
milliseconds, more than a small tensor takes to read). At most ``TASKS_PER_THREAD`` tasks per
thread of the cluster are in flight, sent in waves, so that the scheduler and this process hold
a bounded number of them; the progress bar counts the bytes of each finished task.

A worker holds one tensor at a time per thread (a ``diff`` or ``dynamics`` task: the two it
compares; a partitioned variable: the whole plus at most ``_PIECE_BATCH_BYTES`` of pieces), plus
its imports. Tensors that need TensorFlow's reader (V1 checkpoints, big-endian bundles, dtypes
numpy does not hold, partitioned strings: see :func:`tensor_spec`) are computed here, in this
process, while the cluster works. The results equal the serial ones exactly: the same code
computes them from the same bytes.

Local paths must be visible to the workers at the same path (a ``LocalCluster``, or a shared
file system); on a real cluster, open the checkpoint from object storage
(``tfexplore.open("s3://...", storage_options=...)``): each worker fetches its own ranges.

Example::

    >>> from distributed import Client                                   # doctest: +SKIP
    >>> client = Client("tcp://scheduler:8786")                          # doctest: +SKIP
    >>> run = tfexplore.open("s3://bucket/runs/bert")                    # doctest: +SKIP
    >>> run.history(engine=client)                                       # doctest: +SKIP
"""

from __future__ import annotations

import itertools
import sys
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from ..._files import read_range, read_ranges
from ..._fs import RemotePath
from ...errors import TensorNotFoundError, TFExploreError, UnreadableFileError
from .bundle import BundleEntry
from .shard import (
    decode_numeric_entry,
    decode_string_entry,
    is_direct,
    numpy_dtype,
    read_numeric_entry,
)

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "TensorSpec",
    "Piece",
    "resolve_engine",
    "tensor_spec",
    "read_tensor",
    "stats_task",
    "compare_task",
    "run_tasks",
    "cluster_stats",
    "cluster_compare",
]

#: Tasks in flight per thread of the cluster: enough to keep every worker busy, few enough
#: that the scheduler and this process hold a bounded number of tasks and results.
TASKS_PER_THREAD = 4
#: Small tensors that follow each other in a shard share one task up to this many bytes (and
#: ``TENSORS_PER_TASK`` tensors): a task costs the scheduler milliseconds, which a tensor of a
#: few KB does not repay. A tensor this large or larger is a task of its own.
TASK_BYTES = 16 * 1024 * 1024
TENSORS_PER_TASK = 256
#: The pieces of a partitioned variable are fetched in rounds of at most this many bytes (or
#: one piece): a worker holds the whole tensor plus one round.
_PIECE_BATCH_BYTES = 64 * 1024 * 1024
_INSTALL_HINT = "pip install 'tfexplore[dask]'"
_WHAT = "checkpoint data"
_ENGINES = (
    "None or 'serial' (this process), 'dask' (the current Dask client) or a distributed.Client"
)


class Piece(NamedTuple):
    """One stored entry of a tensor: its index entry, the data shard holding its bytes, and
    where it goes in the whole (``(start, length)`` per dimension; ``None``: it is the whole)."""

    entry: BundleEntry
    shard_file: Path | RemotePath
    where: tuple[tuple[int, int], ...] | None


class TensorSpec(NamedTuple):
    """What a worker needs to read one tensor by itself (small and picklable: no array).

    ``kind``: ``"numeric"`` (one entry, numpy's raw layout), ``"string"`` (one string entry) or
    ``"partitioned"`` (numeric pieces put together into ``shape``)."""

    key: str
    kind: str
    dtype: str
    shape: tuple[int, ...]
    pieces: tuple[Piece, ...]
    index_path: Path | RemotePath

    @property
    def order(self) -> tuple[int, int]:
        """(shard, offset) of its first piece: tasks are submitted in this order."""
        first = self.pieces[0].entry
        return first.shard, first.offset


# -- which engine -------------------------------------------------------------------------------
def resolve_engine(engine: Any) -> Client | None:
    """The Dask client ``engine`` names, or ``None`` to run in this process.

    ``None`` or ``"serial"``: this process. ``"dask"``: the current client
    (``distributed.get_client()``). A ``distributed.Client``: that client. Raises
    :class:`TFExploreError` when Dask is not installed or no client was started, and
    ``ValueError`` for anything else."""
    if engine is None or (isinstance(engine, str) and engine == "serial"):
        return None
    if isinstance(engine, str) and engine == "dask":
        distributed = _import_distributed()
        try:
            return distributed.get_client()
        except ValueError as exc:  # "No global client found and no address provided"
            raise TFExploreError(
                "engine='dask' runs on the current Dask client, and none was started in "
                "this process.",
                expected="a distributed.Client created before the call",
                hint="start one first: `from distributed import Client; client = Client()` "
                "(a local cluster) or `Client('tcp://scheduler:8786')` (a running scheduler); "
                "or pass engine=client",
            ) from exc
    distributed = sys.modules.get("distributed")  # a client was made: it is imported
    if distributed is not None and isinstance(engine, distributed.Client):
        return engine
    raise ValueError(f"engine must be {_ENGINES}. Received: engine={engine!r}")


def _import_distributed():
    import importlib.util

    try:
        import distributed
    except ImportError as exc:
        has_dask = importlib.util.find_spec("dask") is not None
        raise TFExploreError(
            (
                "Running on a Dask cluster needs dask's `distributed` scheduler; dask is "
                "installed without it."
                if has_dask
                else "Running on a Dask cluster needs dask and its `distributed` scheduler, "
                "which are not installed."
            ),
            expected="dask[distributed] installed",
            hint=f"{_INSTALL_HINT} (or pip install 'dask[distributed]'); engine=None runs "
            "in this process without Dask",
        ) from exc
    return distributed


# -- specs: what a worker reads ------------------------------------------------------------------
def tensor_spec(checkpoint, key: str, sizes: dict[int, int] | None = None) -> TensorSpec | None:
    """The :class:`TensorSpec` of tensor ``key`` of ``checkpoint`` (a ``Checkpoint``), after
    the checks a read makes first (``Checkpoint._check_data``: the shard is there and holds the
    bytes the index claims; ``sizes`` keeps the shards' sizes between calls); ``None`` when
    only ``Checkpoint._read_key`` can read it (V1 files, big-endian bundles, dtypes numpy does
    not hold as raw bytes, partitioned strings, pieces that do not fit their slice): the same
    cases, in the same order, as ``_read_key``."""
    if checkpoint.format != "v2" or not np.little_endian:
        return None
    index = checkpoint._index
    if index.endianness != "little":
        return None
    pieces = index.pieces(key)
    if not pieces:
        return None
    first = pieces[0]
    if len(pieces) == 1 and is_direct(first):  # Checkpoint._read_direct
        kind, where = "numeric", [None]
    elif len(pieces) == 1 and first.dtype == "string" and not first.slices:  # _read_strings
        kind, where = "string", [None]
    else:  # Checkpoint._read_partitioned
        where = _partition(index, key)
        if where is None:
            return None
        kind = "partitioned"
    checkpoint._check_data(key, sizes)
    whole = index.entries.get(key, first)
    return TensorSpec(
        key=key,
        kind=kind,
        dtype=whole.dtype,
        shape=tuple(whole.shape),
        pieces=tuple(
            Piece(entry, _absolute(index.shard_file(entry.shard)), spec)
            for entry, spec in zip(pieces, where)
        ),
        index_path=_absolute(checkpoint.index_path),
    )


def _partition(index, key: str) -> list[tuple[tuple[int, int], ...]] | None:
    """Where each piece of partitioned ``key`` goes, when every piece is numeric and exactly
    fills its slice of the whole (what ``Checkpoint._read_partitioned`` puts together);
    ``None`` otherwise."""
    whole = index.entries.get(key)
    slices = index.slice_entries.get(key)
    if whole is None or not slices or numpy_dtype(slices[0][1].dtype) is None:
        return None
    if not all(is_direct(entry) for _, entry in slices):
        return None
    for spec, entry in slices:
        if _slice_shape(spec, whole.shape) != tuple(entry.shape):
            return None
    return [tuple(map(tuple, spec)) for spec, _ in slices]


def _slice_shape(spec, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """The shape of ``array[where]`` for an array of ``shape`` (``None`` if they disagree on
    the number of dimensions), as numpy's slicing gives it."""
    if len(spec) != len(shape):
        return None
    return tuple(
        len(range(size)[_slice(start, length)]) for (start, length), size in zip(spec, shape)
    )


def _slice(start: int, length: int) -> slice:
    return slice(None) if length == -1 else slice(start, start + length)


def _absolute(path):
    """A local path as the workers must see it (they may have another working folder)."""
    return path if isinstance(path, RemotePath) else Path(path).absolute()


# -- what a worker runs (module-level, small arguments, small results) ----------------------------
def read_tensor(spec: TensorSpec) -> np.ndarray:
    """The value of the tensor ``spec`` describes, read from its byte ranges and checked
    (length and CRC32C of every piece) with numpy alone. Arrays read from object storage are
    read-only views of the fetched bytes (no copy)."""
    if spec.kind == "string":
        entry, shard_file, _ = spec.pieces[0]
        data = read_range(shard_file, entry.offset, entry.size, what=_WHAT)
        return decode_string_entry(entry, data, shard_file)
    if spec.kind == "numeric":
        return _read_numeric(spec.pieces[0], spec.index_path)
    array = np.zeros(spec.shape, dtype=numpy_dtype(spec.pieces[0].entry.dtype))
    for piece, part in _parts(spec.pieces, spec.index_path):
        array[tuple(_slice(start, length) for start, length in piece.where)] = part
    return array


def _read_numeric(piece: Piece, index_path) -> np.ndarray:
    """One numeric piece: a local file read straight into the array
    (:func:`~.shard.read_numeric_entry`), a remote one fetched in one ranged request."""
    entry, shard_file, _ = piece
    if isinstance(shard_file, RemotePath):
        data = read_range(shard_file, entry.offset, entry.size, what=_WHAT)
        return decode_numeric_entry(entry, data, shard_file, index_path)
    return read_numeric_entry(entry, shard_file, index_path)


def _parts(pieces: Sequence[Piece], index_path):
    """``(piece, array)`` for each piece of a partitioned variable: local pieces read one at a
    time, remote ones fetched in concurrent rounds of at most ``_PIECE_BATCH_BYTES``."""
    for batch in _batches(pieces):
        if not isinstance(batch[0].shard_file, RemotePath):
            for piece in batch:
                yield piece, _read_numeric(piece, index_path)
            continue
        datas = read_ranges(
            [(p.shard_file, p.entry.offset, p.entry.size) for p in batch], what=_WHAT
        )
        for position, piece in enumerate(batch):
            data, datas[position] = datas[position], b""
            yield piece, decode_numeric_entry(piece.entry, data, piece.shard_file, index_path)


def _batches(pieces: Sequence[Piece]):
    """``pieces`` in rounds of at most ``_PIECE_BATCH_BYTES`` (or one piece each)."""
    batch: list[Piece] = []
    size = 0
    for piece in pieces:
        if batch and size + piece.entry.size > _PIECE_BATCH_BYTES:
            yield batch
            batch, size = [], 0
        batch.append(piece)
        size += piece.entry.size
    if batch:
        yield batch


def stats_task(spec: TensorSpec) -> dict[str, Any]:
    """``tensor_stats`` of one tensor, read by the worker itself."""
    from ...stats import tensor_stats

    return tensor_stats(read_tensor(spec))


def compare_task(old: TensorSpec, new: TensorSpec) -> dict[str, Any]:
    """``compare`` of two tensors (``old``, then ``new``), read by the worker itself."""
    from ...stats import compare

    return compare(read_tensor(old), read_tensor(new))


def record_task(old: TensorSpec | None, new: TensorSpec) -> dict[str, Any]:
    """``measure.record`` (training dynamics) of a tensor against the same tensor in the
    checkpoint before (``old``; ``None`` for the first), both read by the worker itself."""
    from .measure import record

    return record(None if old is None else read_tensor(old), read_tensor(new))


def run_tasks(calls: list[tuple[TensorSpec, ...]], function: Callable[..., dict]) -> list[dict]:
    """``function(*specs)`` for each ``specs`` of ``calls``, one tensor after the other: a
    task of small tensors that follow each other in a shard."""
    return [function(*specs) for specs in calls]


# -- the passes ---------------------------------------------------------------------------------
class _Task(NamedTuple):
    function: Callable[..., dict]  # stats_task, compare_task or record_task
    specs: tuple[TensorSpec, ...] | None  # None: computed in this process
    local: Callable[[], dict]  # the serial computation, in this process
    nbytes: int
    order: tuple


def cluster_stats(
    items: Sequence[tuple[Any, str, int]],
    client: Client,
    *,
    progress: bool | None = None,
    description: str = "stats",
) -> list[dict[str, Any]]:
    """``tensor_stats`` of each ``(checkpoint, key, nbytes)`` on ``client``'s cluster, in the
    order of ``items``. Tasks go out by (checkpoint, shard, offset); tensors only TensorFlow's
    reader can read are computed here."""
    from ...stats import tensor_stats

    known: dict[int, tuple[int, dict[int, int]]] = {}  # id -> (group, its shards' sizes)
    tasks = []
    for checkpoint, key, nbytes in items:
        group, sizes = known.setdefault(id(checkpoint), (len(known), {}))
        spec = tensor_spec(checkpoint, key, sizes)
        tasks.append(
            _Task(
                stats_task,
                None if spec is None else (spec,),
                _local(tensor_stats, (checkpoint, key)),
                nbytes,
                (group, *spec.order) if spec is not None else (),
            )
        )
    return _run(tasks, client, progress=progress, description=description)


def cluster_compare(
    items: Sequence[tuple[Any, Any, str, int]],
    client: Client,
    *,
    progress: bool | None = None,
    description: str = "diff",
) -> list[dict[str, Any]]:
    """``compare`` of each ``(old_checkpoint, new_checkpoint, key, nbytes)`` on ``client``'s
    cluster, in the order of ``items`` (``nbytes``: what the progress bar counts for it).
    Tasks go out by the old tensor's (shard, offset)."""
    from ...stats import compare

    sizes: dict[int, dict[int, int]] = {}  # id(checkpoint) -> its shards' sizes
    tasks = []
    for old, new, key, nbytes in items:
        old_spec = tensor_spec(old, key, sizes.setdefault(id(old), {}))
        new_spec = None
        if old_spec is not None:
            new_spec = tensor_spec(new, key, sizes.setdefault(id(new), {}))
        remote = old_spec is not None and new_spec is not None
        tasks.append(
            _Task(
                compare_task,
                (old_spec, new_spec) if remote else None,
                _local(compare, (old, key), (new, key)),
                nbytes,
                old_spec.order if remote else (),
            )
        )
    return _run(tasks, client, progress=progress, description=description)


def cluster_records(
    items: Sequence[tuple[Any, str | None, Any, str, int]],
    client: Client,
    *,
    progress: bool | None = None,
    description: str = "dynamics",
) -> list[dict[str, Any]]:
    """``measure.record`` of each ``(old_checkpoint, old_key, new_checkpoint, new_key,
    nbytes)`` on ``client``'s cluster, in the order of ``items`` (``old_key`` ``None``: no
    tensor before). Tasks go out by the new tensor's (shard, offset)."""
    from .measure import record

    sizes: dict[int, dict[int, int]] = {}  # id(checkpoint) -> its shards' sizes
    tasks = []
    for old, old_key, new, new_key, nbytes in items:
        new_spec = tensor_spec(new, new_key, sizes.setdefault(id(new), {}))
        old_spec = None
        if old_key is not None and new_spec is not None:
            old_spec = tensor_spec(old, old_key, sizes.setdefault(id(old), {}))
        remote = new_spec is not None and (old_key is None or old_spec is not None)

        def local(old=old, old_key=old_key, new=new, new_key=new_key) -> dict:
            before = None if old_key is None else old._read_key(old_key)
            return record(before, new._read_key(new_key))

        tasks.append(
            _Task(
                record_task,
                (old_spec, new_spec) if remote else None,
                local,
                nbytes,
                new_spec.order if remote else (),
            )
        )
    return _run(tasks, client, progress=progress, description=description)


def cluster_measure(
    client: Client, checkpoints: Sequence[Any], variables: Any, *, progress: Any = None
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, int]]:
    """``measure.measure`` (training dynamics) on ``client``'s cluster: one task per
    (variable, checkpoint) reading that tensor and the one before it on a worker; the same
    records and missing counts."""
    from .measure import record

    records: dict[str, list[dict[str, Any]]] = {}
    missing: dict[str, int] = {}
    items, slots = [], []
    for variable, key, nbytes in zip(variables["variable"], variables["key"], variables["nbytes"]):
        records[variable] = []
        before: tuple[Any, str | None] = (None, None)
        for checkpoint in checkpoints:
            try:
                own = checkpoint.resolve(key)
            except TensorNotFoundError:
                missing[variable] = missing.get(variable, 0) + 1
                records[variable].append(record(None, None))
                before = (None, None)
                continue
            slots.append((variable, len(records[variable])))
            records[variable].append({})
            items.append((before[0], before[1], checkpoint, own, int(nbytes)))
            before = (checkpoint, own)
    shown = progress if not callable(progress) else None  # the cluster's own bar
    found = cluster_records(items, client, progress=shown)
    for (variable, position), result in zip(slots, found):
        records[variable][position] = result
    return records, missing


def _local(function: Callable[..., dict], *tensors: tuple[Any, str]) -> Callable[[], dict]:
    """``function`` of tensors read in this process, as the serial pass reads them."""

    def compute() -> dict:
        return function(*(checkpoint._read_key(key) for checkpoint, key in tensors))

    return compute


def _run(
    tasks: Sequence[_Task], client: Client, *, progress: bool | None, description: str
) -> list[dict[str, Any]]:
    """Each task's result, in the order of ``tasks``: those with specs on the cluster, the
    others here while the cluster works. Cluster tasks go out by ``order``, small neighbours
    together (:func:`_groups`), at most ``TASKS_PER_THREAD`` per thread in flight, in waves (one
    message to the scheduler each time half of them are done); the bar advances by a task's
    bytes when it is done."""
    from distributed import as_completed

    from ...stats import progress_bar

    if not tasks:
        return []
    results: list[dict[str, Any] | None] = [None] * len(tasks)
    remote = sorted(
        (i for i, task in enumerate(tasks) if task.specs is not None),
        key=lambda i: tasks[i].order,
    )
    local = [i for i, task in enumerate(tasks) if task.specs is None]
    threads = sum(client.nthreads().values())
    limit = TASKS_PER_THREAD * threads if threads else 32
    token = uuid.uuid4().hex
    queue = iter(_groups(remote, tasks))
    pending: dict[str, tuple[Any, list[int]]] = {}  # key -> (future, positions)
    # results gathered by the client's event loop as tasks finish (no round trip each)
    done = as_completed(loop=client.loop, with_results=True, raise_errors=False)

    def submit(count: int) -> None:
        """The next ``count`` groups, in one message to the scheduler per function."""
        groups = list(itertools.islice(queue, count))
        for function, same in itertools.groupby(groups, key=lambda g: tasks[g[0]].function):
            same = list(same)
            keys = [f"tfexplore-{description}-{token}-{group[0]}" for group in same]
            calls = [[tasks[position].specs for position in group] for group in same]
            futures = client.map(run_tasks, calls, function=function, key=keys)
            pending.update(zip(keys, zip(futures, same)))
            done.update(futures)

    bar = progress_bar(sum(task.nbytes for task in tasks), progress, description)
    try:
        submit(limit)
        for position in local:  # here, while the cluster works
            results[position] = tasks[position].local()
            if bar is not None:
                bar.update(tasks[position].nbytes)
        for future, value in done:
            _, group = pending.pop(future.key)
            found = _results(future, value, [tasks[position] for position in group])
            for position, result in zip(group, found):
                results[position] = result
            del future, value, found  # the results leave the cluster's memory
            if len(pending) <= limit // 2:  # the next wave
                submit(limit - len(pending))
            if bar is not None:
                bar.update(sum(tasks[position].nbytes for position in group))
    except BaseException:
        if pending:
            client.cancel([future for future, _ in pending.values()], force=True)
        raise
    finally:
        if bar is not None:
            bar.close()
    return results  # type: ignore[return-value]


def _groups(positions: Sequence[int], tasks: Sequence[_Task]):
    """``positions`` (sorted by ``order``) cut into the lists one cluster task runs: neighbours
    in the same shard of the same checkpoint, up to ``TASK_BYTES`` and ``TENSORS_PER_TASK``."""
    group: list[int] = []
    size = 0
    for position in positions:
        task = tasks[position]
        if group and (
            size + task.nbytes > TASK_BYTES
            or len(group) >= TENSORS_PER_TASK
            or task.order[:-1] != tasks[group[0]].order[:-1]  # another shard
        ):
            yield group
            group, size = [], 0
        group.append(position)
        size += task.nbytes
    if group:
        yield group


def _results(future, value, tasks: list[_Task]) -> list[dict[str, Any]]:
    """A finished task's results. A tfexplore error on the worker (a damaged tensor, a file
    it cannot reach) is looked at again here, the serial way: a damaged tensor raises the
    very error the serial pass raises; a file this process reads but the worker could not is
    an error saying the workers must see the files."""
    if future.status != "error":
        return value
    _, error, traceback = value
    if not isinstance(error, TFExploreError):
        raise error.with_traceback(traceback)
    for task in tasks:
        task.local()  # raises the serial error for a damaged tensor
    raise UnreadableFileError(
        f"A Dask worker could not read a tensor this process reads: {error.message}",
        path=error.path or tasks[0].specs[0].pieces[0].shard_file,
        expected="every worker sees the checkpoint's files at the same path or URL",
        hint="open the checkpoint from object storage (s3://, gs://, ...) or a file system "
        "every worker mounts at the same path; or run without engine= (in this process)",
    ) from error
