"""One checkpoint, one saved state (:class:`Checkpoint`); a folder of them is ``folder.py``'s
:class:`~.folder.CheckpointDir`. (A little over 600 lines, one class: listing, reading and
checking share its cached index and reader; tables, checks and prose live in their modules.)

A checkpoint is a *prefix* (``runs/mnist/model.ckpt-1000``) naming a few files:

- ``PREFIX.index``: which tensors there are (name, dtype, shape, shard, offset, size);
- ``PREFIX.data-00000-of-00001`` (one or more shards): the tensors' bytes;
- ``PREFIX.meta`` (TF1 ``Saver`` only): the graph that was trained;
- and, in the folder, a ``checkpoint`` text file naming the latest prefix and the ones kept.

Legacy V1 checkpoints (TF < 0.12) are one file (``model.ckpt``) holding names and bytes.
Listing variables reads the index only (in pure Python for V2), so a checkpoint whose data is
missing can still be explored; tensor values are read with TensorFlow's checkpoint reader, which
runs no graph op and writes nothing.

Example::

    >>> import tfexplore
    >>> run = tfexplore.open("runs/mnist")                    # doctest: +SKIP
    >>> run.checkpoints[["prefix", "step", "is_latest"]]      # doctest: +SKIP
    >>> checkpoint = run.latest                               # doctest: +SKIP
    >>> checkpoint.variables.query("role == 'variable'")      # doctest: +SKIP
    >>> checkpoint.read("layer1/W").shape                     # doctest: +SKIP
    >>> checkpoint.diff(run.open(10))                         # doctest: +SKIP
"""

from __future__ import annotations

import functools
import operator
import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..._files import (
    LFS_POINTER_MAX,
    check_lfs_pointer,
    check_regular,
    is_lfs_pointer,
    meta_file,
    prefix_file,
    prefix_of,
    prefix_parts,
    prefix_text,
    read_ranges,
)
from ..._fs import RemotePath, as_path
from ...errors import (
    ArtifactNotFoundError,
    CorruptArtifactError,
    IncompleteCheckpointError,
    TensorNotFoundError,
    TFExploreError,
    UnreadableFileError,
    UnrecognizedArtifactError,
    suggest,
)
from ..base import Artifact, Explanation, human_bytes
from . import naming
from .bundle import BundleIndex, read_bundle_index
from .columns import (
    _count,
    _empty,
    diff_table,
    index_columns,
    variables_table,
)
from .explain import _explain_checkpoint
from .files import _is_v1_file, _no_checkpoint_error, check_checkpoint_files
from .shard import (
    check_entry_bytes,
    decode_numeric_entry,
    is_direct,
    numpy_dtype,
    read_numeric_entry,
    read_string_entry,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Checkpoint"]

_STORAGE_COLUMNS = ("shape", "dtype", "size", "nbytes", "shard", "offset", "partitions")
_STORAGE_FIELDS = operator.itemgetter(*_STORAGE_COLUMNS)
_STEP_SUFFIX = re.compile(r"-(\d+)$")
_LITTLE_ENDIAN = np.little_endian


#: bytes of remote tensors fetched per round of concurrent requests in a pass over many tensors
PREFETCH_BYTES = 64 << 20


class Checkpoint(Artifact):
    """One checkpoint, opened by its prefix (``model.ckpt-1000``) or V1 file (``model.ckpt``).

    Example::

        >>> checkpoint = Checkpoint("runs/mnist/model.ckpt-30")      # doctest: +SKIP
        >>> checkpoint.style, checkpoint.step                        # doctest: +SKIP
        ('name_based', 30)
        >>> checkpoint.slots                                         # doctest: +SKIP
        >>> checkpoint.read("layer1/W/Adam_1")                       # doctest: +SKIP
        >>> checkpoint.stats()                                       # doctest: +SKIP
    """

    kind = "checkpoint"

    def __init__(self, prefix: str | os.PathLike) -> None:
        prefix = as_path(prefix)
        if prefix.name.endswith(".index"):
            prefix = prefix_of(prefix)
        super().__init__(prefix)
        self.prefix = prefix
        if not self.index_path.is_file() and not _is_v1_file(prefix):
            raise _no_checkpoint_error(prefix)

    # -- files ------------------------------------------------------------------------------
    @functools.cached_property  # found once: on object storage each look is a request
    def index_path(self) -> Path:
        return prefix_file(self.prefix, ".index")

    @functools.cached_property
    def meta_path(self) -> Path:
        return meta_file(self.prefix)

    @functools.cached_property
    def format(self) -> str:
        """``"v2"`` (``.index`` + ``.data-*`` shards) or ``"v1"`` (one legacy file)."""
        return "v2" if self.index_path.exists() else "v1"

    @property
    def data_files(self) -> list[Path]:
        """The data shards the index names (V2), or the single V1 file."""
        if self.format == "v1":
            return [self.prefix]
        return [self._index.shard_file(i) for i in range(self._index.num_shards)]

    def _file_rows(self) -> list[tuple[Path, str]]:
        if self.format == "v1":
            rows = [(self.prefix, "v1 checkpoint (names and tensor bytes)")]
        else:
            rows = [(self.index_path, "index (names, dtypes, shapes, offsets)")]
            rows += [(path, "data shard (tensor bytes)") for path in self.data_files]
        if self.meta_path.exists():
            rows.append((self.meta_path, "meta graph (the TF1 graph)"))
        return rows

    # -- parsing ---------------------------------------------------------------------------
    @functools.cached_property
    def _index(self) -> BundleIndex:
        return read_bundle_index(self.index_path)

    @functools.cached_property
    def _reader(self):
        from ..._tf import tf, translate_errors

        target = self.index_path if self.format == "v2" else self.prefix
        check_checkpoint_files(self.prefix)
        with translate_errors(target, "checkpoint"):
            return tf().train.load_checkpoint(prefix_text(self.prefix))

    @functools.cached_property
    def _entries(self) -> dict[str, dict[str, Any]]:
        """name -> the storage facts of one tensor (shape, dtype, bytes, shard...)."""
        if self.format == "v2":
            columns = self._storage_columns
            rows = zip(*(columns[column] for column in _STORAGE_COLUMNS))
            return {
                name: dict(zip(_STORAGE_COLUMNS, row)) for name, row in zip(columns["name"], rows)
            }
        return self._v1_entries()

    @functools.cached_property
    def _storage_columns(self) -> dict[str, list]:
        """``name`` and the storage facts (``_STORAGE_COLUMNS``) of every tensor, one list per
        column: what ``.variables`` is made of (for V2, straight from the index)."""
        if self.format != "v2":
            entries = self._entries
            values = list(map(list, zip(*map(_STORAGE_FIELDS, entries.values()))))
            return {"name": list(entries), **dict(zip(_STORAGE_COLUMNS, values or _empty(7)))}
        return index_columns(self._index)

    @functools.cached_property
    def _shapes(self) -> dict[str, tuple[int, ...]]:
        """name -> shape of every tensor."""
        columns = self._storage_columns
        return dict(zip(columns["name"], columns["shape"]))

    def _v1_entries(self) -> dict[str, dict[str, Any]]:
        from ..._tf import translate_errors

        with translate_errors(self.prefix, "V1 checkpoint"):
            shapes = self._reader.get_variable_to_shape_map()
            dtypes = self._reader.get_variable_to_dtype_map()
        rows = {}
        for name in sorted(shapes):
            shape = tuple(int(d) for d in shapes[name])
            dtype = dtypes[name]
            size = int(np.prod(shape, dtype=np.int64)) if shape else 1
            itemsize = dtype.size if dtype.name != "string" else 0
            rows[name] = {
                "shape": shape,
                "dtype": dtype.name,
                "size": size,
                "nbytes": size * itemsize if itemsize else None,
                "shard": 0,
                "offset": None,
                "partitions": 1,
            }
        return rows

    @functools.cached_property
    def _object_graph(self) -> naming.ObjectGraph | None:
        if naming.OBJECT_GRAPH_KEY not in self._shapes:
            return None
        try:
            data = self._read_key(naming.OBJECT_GRAPH_KEY)
            return naming.ObjectGraph.from_bytes(bytes(np.asarray(data).item()), self.index_path)
        except TFExploreError as exc:  # noted in ``notes``; the keys still tell most of it
            self._object_graph_error = exc
            return None

    @functools.cached_property
    def _info(self) -> dict[str, naming.KeyInfo]:
        return naming.describe_keys(self._shapes, self._object_graph)

    # -- public properties -----------------------------------------------------------------
    @functools.cached_property
    def variables(self) -> pd.DataFrame:
        """Every tensor in the checkpoint, one row each (reads the index only).

        Columns: ``name`` (the key), ``role`` (variable, slot, optimizer_state, step,
        save_counter, object_graph), ``shape``, ``dtype``, ``size`` (elements), ``nbytes``,
        ``shard``, ``offset``, ``partitions`` (pieces of a partitioned variable), ``slot``
        (``"Adam m"``), ``slot_of``, ``optimizer``, ``object_path`` (TF2), ``aliases`` (other
        TF2 paths to the same variable), ``full_name`` (the variable's own name, TF2).
        """
        return variables_table(self._storage_columns, self._info)

    @functools.cached_property
    def style(self) -> str:
        """``"object_based"`` (TF2 ``tf.train.Checkpoint``) or ``"name_based"`` (TF1 Saver)."""
        names = self._entries
        if naming.OBJECT_GRAPH_KEY in names or any(naming.parse_object_key(n) for n in names):
            return "object_based"
        return "name_based"

    @functools.cached_property
    def step(self) -> int | None:
        """The training step: the value of ``global_step`` (or a TF2 ``step``), else the
        number after the last ``-`` of the prefix (``model.ckpt-1000`` -> 1000)."""
        for name, info in self._info.items():
            if info.role == "step" and self._entries[name]["size"] == 1:
                try:
                    return int(np.asarray(self.read(name)).reshape(-1)[0])
                except (TFExploreError, TypeError, ValueError):
                    break
        return _step_from_name(prefix_parts(self.prefix)[1])

    @property
    def slots(self) -> pd.DataFrame:
        """Optimizer slots, one row each: ``variable``, ``slot``, ``optimizer``, ``name`` (the
        slot's key), ``shape``."""
        table = self.variables
        slots = table[table["role"] == "slot"]
        result = slots.rename(columns={"slot_of": "variable"})[
            ["variable", "slot", "optimizer", "name", "shape"]
        ]
        return result.sort_values(["variable", "slot"], kind="stable").reset_index(drop=True)

    @functools.cached_property
    def object_graph(self) -> pd.DataFrame | None:
        """TF2 only: the object graph, one row per node: ``id``, ``path`` (shortest), ``kind``
        (root, variable, optimizer, list, object), ``aliases``, ``attributes`` (checkpoint
        keys), ``children`` (local names), ``slot_variables``. ``None`` for TF1 checkpoints."""
        import pandas as pd

        graph = self._object_graph
        if graph is None:
            return None
        rows = []
        for node in graph.nodes:
            rows.append(
                {
                    "id": node.id,
                    "path": node.preferred_path or ("" if node.id == 0 else None),
                    "kind": _node_kind(node, graph),
                    "aliases": tuple(p for p in node.paths if p != node.preferred_path),
                    "attributes": [key for _, _, key in node.attributes],
                    "children": [name for name, _ in node.children],
                    "slot_variables": [
                        {"variable": o, "slot": s, "node": n} for o, s, n in node.slot_variables
                    ],
                }
            )
        return pd.DataFrame(rows)

    @functools.cached_property
    def meta_graph(self):
        """The TF1 graph saved next to the checkpoint (``PREFIX.meta``), or ``None``."""
        if not self.meta_path.is_file():
            return None
        from ..metagraph import MetaGraph

        return MetaGraph.from_file(self.meta_path)

    @property
    def safety(self):
        """The :class:`tfexplore.safety.ScanReport` of the ``.meta`` graph saved with it (an
        empty report when there is none: a checkpoint alone holds values, no ops)."""
        if self.meta_graph is None:
            from ...safety.scan import ScanReport

            return ScanReport(path=str(self.prefix))
        return self.meta_graph.safety

    @property
    def notes(self) -> list[str]:
        """Things worth knowing that are not errors (missing data shards, ...)."""
        notes = []
        from_name = _step_from_name(prefix_parts(self.prefix)[1])
        if self.step is not None and from_name is not None and self.step != from_name:
            notes.append(
                f"the step variable holds {self.step} but the prefix says {from_name} "
                "(the Saver was given another counter as global_step)"
            )
        missing = [str(p) for p in self.data_files if not p.exists()]
        if missing:
            notes.append(
                "data file(s) missing: " + ", ".join(missing) + "; names, shapes and dtypes "
                "come from the index, values cannot be read"
            )
        pointers = [str(p) for p in self.data_files if p.exists() and is_lfs_pointer(p)]
        if is_lfs_pointer(self.meta_path):
            notes.append(
                f"the graph {str(self.meta_path)!r} is a Git LFS pointer, not the graph; run "
                "`git lfs pull` in the repository to fetch it"
            )
        if pointers:
            notes.append(
                "data file(s) are Git LFS pointers, not the data: "
                + ", ".join(pointers)
                + "; run `git lfs pull` in the repository to fetch them"
            )
        if naming.OBJECT_GRAPH_KEY in self._entries and self._object_graph is None:
            reason = getattr(self, "_object_graph_error", None)
            notes.append(
                "the TF2 object graph could not be read ("
                + (reason.message if reason is not None else "unknown reason")
                + "); slots and aliases come from the key names only"
            )
        return notes

    def require_data(self) -> None:
        """Raise :class:`IncompleteCheckpointError` naming every data file the index names that
        is missing, or :class:`CorruptArtifactError` naming a tensor whose bytes run past the end
        of its (truncated) data file: what a restore needs, checked from the index and the
        files' sizes only. ``.variables`` works without the data files."""
        missing = [path for path in self.data_files if not path.exists()]
        if missing:
            raise IncompleteCheckpointError(
                f"The checkpoint {prefix_text(self.prefix)!r} cannot be restored: its data "
                f"file(s) {', '.join(repr(str(p)) for p in missing)} are missing.",
                path=missing[0],
                expected=f"{len(self.data_files)} data shard(s) next to {self.index_path.name}",
                hint="copy the .data-* files of this checkpoint next to its .index file, or "
                "restore another checkpoint; names, shapes and dtypes (.variables) work without "
                "them",
            )
        for path in self.data_files:
            check_lfs_pointer(path, what="checkpoint data file")
        if self.format != "v2":
            return

        index = self._index
        sizes = [path.stat().st_size for path in self.data_files]
        pieces = list(index.entries.values()) + [
            entry for slices in index.slice_entries.values() for _, entry in slices
        ]
        for entry in pieces:  # the index's own checks made shard a valid number
            if 0 <= entry.shard < len(sizes) and entry.offset + entry.size > sizes[entry.shard]:
                shard_file = self.data_files[entry.shard]
                raise CorruptArtifactError(
                    f"The checkpoint {prefix_text(self.prefix)!r} cannot be restored: tensor "
                    f"{entry.key!r} needs bytes {entry.offset}..{entry.offset + entry.size} of "
                    f"{str(shard_file)!r}, which has only {sizes[entry.shard]} bytes.",
                    path=shard_file,
                    expected=f"a data shard of at least {entry.offset + entry.size} bytes",
                    hint="the data file is truncated (an interrupted copy or download) or "
                    "belongs to another checkpoint; re-copy it",
                )

    # -- reading -----------------------------------------------------------------------------
    def read(self, name: str) -> np.ndarray:
        """The value of one tensor, as a numpy array.

        ``name`` may be the checkpoint key, a TF2 object path (``model/dense/kernel``) or any
        alias of it. Strings come back as an object array of ``bytes``.

        Raises:
            TensorNotFoundError: no such tensor (with the closest names as suggestions).
            IncompleteCheckpointError: the data shard holding it is missing.
            CorruptArtifactError: its bytes are damaged or the shard is too short.
        """
        return self._read_key(self.resolve(name))

    def resolve(self, name: str) -> str:
        """The checkpoint key that ``name`` (a key, object path, alias or full name) means."""
        if name in self._entries:
            return name
        for key, info in self._info.items():
            if name == info.object_path or name in info.aliases:
                return key
        for key, info in self._info.items():
            if name == info.full_name:
                return key
        attribute_key = f"{name.rstrip('/')}{naming.ATTRIBUTES}VARIABLE_VALUE"
        if attribute_key in self._entries:
            return attribute_key
        raise TensorNotFoundError(
            f"No tensor {name!r} in the checkpoint {str(self.prefix)!r}.",
            suggestions=suggest(name, self._known_names()),
            path=self.prefix,
            expected="a name from .variables['name'], a TF2 object path, or an alias",
        )

    def _known_names(self) -> list[str]:
        names = list(self._entries)
        for info in self._info.values():
            names += [p for p in (info.object_path, *info.aliases) if p]
        return names

    def _read_key(self, key: str) -> np.ndarray:
        from ..._tf import translate_errors

        target = self._check_data(key)
        try:
            direct = self._read_direct(key, target)
            if direct is not None:
                return direct
            strings = self._read_strings(key)
            if strings is not None:
                return strings
            pieces = self._read_partitioned(key)
            if pieces is not None:
                return pieces
        except CorruptArtifactError:  # a data file that is a Git LFS pointer says so
            if check_regular(target, what="checkpoint data").st_size <= LFS_POINTER_MAX:
                check_lfs_pointer(target, what="checkpoint data file")
            raise
        if isinstance(target, RemotePath):
            raise UnreadableFileError(
                f"Tensor {key!r} of {str(self.prefix)!r} is read through TensorFlow's checkpoint "
                f"reader (a {self._entries[key]['dtype']} tensor of a "
                f"{'V1' if self.format == 'v1' else 'big-endian'} checkpoint), which cannot "
                "read from object storage.",
                path=target,
                expected="a V2, little-endian checkpoint of numeric or string tensors",
                hint="copy the checkpoint's files to a local folder and open that",
            )
        with translate_errors(target, f"tensor {key!r}"):
            value = self._reader.get_tensor(key)
        if isinstance(value, np.ndarray):
            return value
        return np.array(value, dtype=object if isinstance(value, bytes) else None)

    def _read_strings(self, key: str) -> np.ndarray | None:
        """A V2 string tensor, read and checked by :func:`read_string_entry` (its declared
        lengths against the bytes present) so that TensorFlow's reader, which allocates every
        string from its declared length, never reads one. A partitioned string tensor is
        checked piece by piece, then read by TensorFlow. ``None`` for other tensors."""
        if self.format != "v2":
            return None

        index = self._index
        pieces = index.pieces(key)
        if not pieces or pieces[0].dtype != "string":
            return None
        values = [read_string_entry(e, index.shard_file(e.shard), self.index_path) for e in pieces]
        return values[0] if len(pieces) == 1 and not pieces[0].slices else None

    def _read_partitioned(self, key: str) -> np.ndarray | None:
        """A partitioned numeric variable of a V2 little-endian bundle, put together from its
        pieces (each read and checked like one tensor). ``None`` for anything else."""
        if self.format != "v2" or self._index.endianness != "little" or not _LITTLE_ENDIAN:
            return None
        index = self._index
        if key not in index.slice_entries:
            return None
        whole = index.entries.get(key)
        pieces = index.slice_entries[key]
        dtype = numpy_dtype(pieces[0][1].dtype) if pieces else None
        if whole is None or dtype is None or not all(is_direct(e) for _, e in pieces):
            return None
        array = np.zeros(whole.shape, dtype=dtype)
        for spec, entry in pieces:
            where = tuple(
                slice(None) if length == -1 else slice(start, start + length)
                for start, length in spec
            )
            part = read_numeric_entry(entry, index.shard_file(entry.shard), self.index_path)
            if part is None or array[where].shape != part.shape:
                return None
            array[where] = part
        return array

    def _read_direct(self, key: str, shard_file: Path) -> np.ndarray | None:
        """A numeric tensor of a V2 bundle, read straight from its bytes and checked against
        its CRC32C (:func:`~.shard.read_numeric_entry`). ``None`` for what this does not cover:
        V1 files, strings and other non-numeric dtypes, partitioned variables, big-endian
        bundles; those go through TensorFlow's reader."""
        if self.format != "v2" or self._index.endianness != "little" or not _LITTLE_ENDIAN:
            return None
        pieces = self._index.pieces(key)
        if len(pieces) != 1:
            return None
        return read_numeric_entry(pieces[0], shard_file, self.index_path)

    def _check_data(self, key: str, sizes: dict[int, int] | None = None) -> Path:
        """Check that every byte of ``key`` can be in the data files before TF reads them;
        return the file to name in errors. ``sizes`` (shard -> bytes), when given, keeps the
        shards' sizes from one call to the next (a pass over many tensors of a remote
        checkpoint asks for each shard's size once)."""
        if self.format == "v1":
            self._check_v1_size(key)
            return self.prefix
        index = self._index
        shard_file = index.shard_file(0)
        for entry in index.pieces(key):
            shard_file = index.shard_file(entry.shard)
            shard_size = None if sizes is None else sizes.get(entry.shard)
            if shard_size is None:
                try:
                    shard_size = check_regular(shard_file, what="checkpoint data").st_size
                except ArtifactNotFoundError as exc:
                    raise IncompleteCheckpointError(
                        f"The data file {str(shard_file)!r} that holds tensor {key!r} is missing.",
                        path=shard_file,
                        expected=f"{index.num_shards} data shard(s) next to {self.index_path.name}",
                        hint="copy the .data-* files of this checkpoint next to its .index "
                        "file; names, shapes and dtypes (.variables) work without them",
                    ) from exc
                if sizes is not None:
                    sizes[entry.shard] = shard_size
            if shard_size <= LFS_POINTER_MAX and entry.offset + entry.size > shard_size:
                check_lfs_pointer(shard_file, what="checkpoint data file")
            check_entry_bytes(entry, shard_file, shard_size, self.index_path)
        return shard_file

    def _check_v1_size(self, key: str) -> None:
        """Refuse a V1 tensor whose shape claims more elements than its file has bytes (each
        element takes at least one byte), before TensorFlow allocates it."""
        size = self._entries[key]["size"]
        file_size = check_regular(self.prefix, what="V1 checkpoint").st_size
        if size > file_size:
            from ...errors import CorruptArtifactError

            raise CorruptArtifactError(
                f"Tensor {key!r} claims shape {self._entries[key]['shape']} ({size} elements) "
                f"but the V1 checkpoint {str(self.prefix)!r} has only {file_size} bytes.",
                path=self.prefix,
                expected="a tensor whose values fit in the file",
                hint="the file is damaged or hostile; names and shapes are in .variables",
            )

    # -- statistics and comparison ---------------------------------------------------------------
    def stats(
        self,
        names: Iterable[str] | None = None,
        progress: bool | None = None,
        *,
        engine: Any = None,
    ) -> pd.DataFrame:
        """Statistics of each tensor (min, max, mean, std, l2, zeros, nans, infs), reading one
        tensor at a time. ``names`` defaults to every tensor but the object graph; a progress
        bar shows for large checkpoints (or ``progress=True``).

        ``engine``: ``None`` (or ``"serial"``) reads and computes here, one tensor at a time;
        ``"dask"`` (the current ``distributed`` client) or a ``distributed.Client`` computes
        each tensor on a worker of the cluster, which reads its bytes itself (see
        :mod:`~.engine`): the same table, row for row. Needs ``pip install 'tfexplore[dask]'``.

        Example::

            >>> checkpoint.stats(["layer1/W"])[["name", "mean", "std"]]   # doctest: +SKIP
            >>> from distributed import Client                            # doctest: +SKIP
            >>> checkpoint.stats(engine=Client("tcp://scheduler:8786"))  # doctest: +SKIP
        """
        from ...stats import stats_frame, stream_stats
        from .engine import cluster_stats, resolve_engine

        client = resolve_engine(engine)
        keys = self._select(names)
        columns = ["name", "role", "shape", "dtype", "nbytes"]
        facts = {row[0]: row for row in self.variables[columns].itertuples(index=False)}
        if client is not None:
            found = cluster_stats(
                [(self, key, _count(facts[key][4])) for key in keys],
                client,
                progress=progress,
                description="stats",
            )
            return stats_frame(
                [
                    {
                        "name": key,
                        "role": facts[key][1],
                        "shape": facts[key][2],
                        "dtype": facts[key][3],
                        **result,
                    }
                    for key, result in zip(keys, found)
                ]
            )
        items = (
            (
                {
                    "name": key,
                    "role": facts[key][1],
                    "shape": facts[key][2],
                    "dtype": facts[key][3],
                },
                reader,
                _count(facts[key][4]),
            )
            for key, reader in zip(keys, self._readers(keys))
        )
        total = sum(_count(facts[key][4]) for key in keys)
        return stream_stats(items, total_bytes=total, progress=progress, description="stats")

    def _readers(self, keys: list[str]) -> Iterator[Callable[[], np.ndarray]]:
        """One callable per key, in order, that gives its array: what a pass over many tensors
        (``stats``, ``diff``, ``history``) reads with. For a checkpoint on object storage the
        numeric tensors are fetched ahead, in rounds of concurrent ranged requests of up to
        :data:`PREFETCH_BYTES` (so a pass waits for one round trip per round, not per tensor);
        at most one round is held at a time. Locally, each reads when called."""
        remote = isinstance(self.prefix, RemotePath) and self.format == "v2"
        if not remote or self._index.endianness != "little" or not _LITTLE_ENDIAN:
            for key in keys:
                yield functools.partial(self._read_key, key)
            return
        index, sizes, position = self._index, {}, 0
        while position < len(keys):
            batch, total = [], 0
            for key in keys[position:]:
                pieces = index.pieces(key)
                if len(pieces) != 1 or not is_direct(pieces[0]):
                    break
                if batch and total + pieces[0].size > PREFETCH_BYTES:
                    break
                batch.append((key, pieces[0]))
                total += pieces[0].size
            if not batch:  # strings, partitioned, odd dtypes: read one by one
                yield functools.partial(self._read_key, keys[position])
                position += 1
                continue
            position += len(batch)
            files = [self._check_data(key, sizes) for key, _ in batch]
            datas = read_ranges(
                [(file, entry.offset, entry.size) for file, (_, entry) in zip(files, batch)],
                what="checkpoint data",
            )
            for (key, entry), file, data in zip(batch, files, datas):
                yield functools.partial(self._decode_fetched, key, entry, data, file)
            del datas

    def _decode_fetched(self, key: str, entry, data: bytes, file) -> np.ndarray:
        try:
            return decode_numeric_entry(entry, data, file, self.index_path)
        except CorruptArtifactError:  # read again the one way, for the one message
            return self._read_key(key)

    def _select(self, names: Iterable[str] | None) -> list[str]:
        if names is None:
            return [n for n, info in self._info.items() if info.role != "object_graph"]
        if isinstance(names, str):
            names = [names]
        return [self.resolve(name) for name in names]

    def diff(
        self,
        other: Checkpoint | str | os.PathLike,
        progress: bool | None = None,
        *,
        engine: Any = None,
    ) -> pd.DataFrame:
        """Compare with another checkpoint (``other`` is the *new* one), one tensor at a time.

        Columns: ``name``, ``role``, ``status`` (added, removed, shape_changed, dtype_changed,
        changed, unchanged), ``old_shape``, ``new_shape``, ``old_dtype``, ``new_dtype``,
        ``max_abs_change``, ``mean_abs_change``, ``rel_l2_change`` (``|new - old| / |old|``).

        ``engine``: ``None`` (or ``"serial"``) compares here; ``"dask"`` or a
        ``distributed.Client`` compares each pair of tensors on a worker of the cluster (see
        :meth:`stats`): the same table.

        Example::

            >>> run.open(10).diff(run.open(30)).query("status == 'changed'")   # doctest: +SKIP
            >>> run.open(10).diff(run.open(30), engine="dask")               # doctest: +SKIP
        """
        return diff_table(self, _as_checkpoint(other), progress, engine=engine)

    def rewrite(self, rules: Any = None, **options: Any):
        """Plan a rewrite of this checkpoint to fit other code: renames, drops, reshapes,
        casts, splits and merges, or a match to ``to=`` a Keras model, ``tf.Module``, TF1
        graph or other checkpoint. Nothing is written until ``plan.write(path)``; the plan's
        ``table`` (one row per tensor) can be edited and its ``report`` lists every problem.
        See :class:`tfexplore.edit.RewritePlan` for the rules and the exports.

        Options: ``to``, ``rename`` (a dict or a function of a name), ``prefix``
        (``{"bert/": ""}``), ``scope`` (``{"dense": "head/dense"}``), ``regex``, ``drop`` (a
        search or a list of them), ``drop_optimizer``, ``storage_options``.

        Example::

            >>> plan = ckpt.rewrite(prefix={"old/": "new/"}, drop="Adam")   # doctest: +SKIP
            >>> plan = ckpt.rewrite(to=keras_model)                         # doctest: +SKIP
            >>> plan.report                                                 # doctest: +SKIP
            >>> plan.write("converted/model.ckpt")                          # doctest: +SKIP
        """
        from ...edit.plan import rewrite

        return rewrite(self, rules, **options)

    # -- presentation ----------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        table = self.variables
        roles = table["role"].value_counts().to_dict()
        facts: dict[str, Any] = {
            "kind": self.kind,
            "prefix": prefix_text(self.prefix) if self.format == "v2" else str(self.prefix),
            "format": self.format,
            "style": self.style,
            "step": self.step,
            "variables": roles.get("variable", 0),
            "slots": roles.get("slot", 0),
            "optimizer_state": roles.get("optimizer_state", 0),
            "tensors": len(table),
            "bytes": human_bytes(float(table["nbytes"].fillna(0).sum())),
            "data_files": len(self.data_files),
            "meta_graph": self.meta_path.is_file(),
        }
        optimizers = sorted({o for o in table["optimizer"].dropna()})
        if optimizers:
            facts["optimizers"] = optimizers
        for note in self.notes:
            facts.setdefault("notes", []).append(note)
        return facts

    def explain(self) -> Explanation:
        """What this checkpoint is made of and what a restore needs, in Markdown."""
        return Explanation(_explain_checkpoint(self))


def _step_from_name(name: str) -> int | None:
    match = _STEP_SUFFIX.search(name)
    return int(match.group(1)) if match else None


def _as_checkpoint(other: Checkpoint | str | os.PathLike) -> Checkpoint:
    if isinstance(other, Checkpoint):
        return other
    from .folder import CheckpointDir  # a folder's latest: the classes hand out each other

    if isinstance(other, CheckpointDir):
        return other.latest
    from ..detect import detect_kind

    kind, target = detect_kind(other)
    if kind == "checkpoint":
        return Checkpoint(target)
    if kind == "checkpoint_dir":
        return CheckpointDir(target).latest
    raise UnrecognizedArtifactError(
        f"{os.fspath(other)!r} is a {kind}, not a checkpoint to compare with.",
        path=other,
        expected="a checkpoint prefix, .index file or checkpoint folder",
        hint="for a SavedModel, compare with its variables/variables prefix",
    )


def _node_kind(node: naming.ObjectNode, graph: naming.ObjectGraph) -> str:
    if node.id == 0:
        return "root"
    if node.id in graph.optimizer_ids:
        return "optimizer"
    if any(name == "VARIABLE_VALUE" for name, _, _ in node.attributes):
        return "variable"
    if node.attributes:
        return "value"
    if node.children and all(name.isdigit() for name, _ in node.children):
        return "list"
    return "object"
