"""Checkpoints: one saved state (:class:`Checkpoint`) and a folder of them (:class:`CheckpointDir`).

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
import math
import operator
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path, PureWindowsPath
from typing import Any

import numpy as np

from ..._files import (
    LFS_POINTER_MAX,
    META_SUFFIXES,
    check_lfs_pointer,
    check_regular,
    checkpoint_files,
    is_lfs_pointer,
    meta_file,
    prefix_file,
    prefix_of,
    prefix_parts,
    prefix_text,
)
from ...errors import (
    ArtifactNotFoundError,
    CorruptArtifactError,
    GitLfsPointerError,
    IncompleteCheckpointError,
    TensorNotFoundError,
    TFExploreError,
    UnrecognizedArtifactError,
    suggest,
)
from ..base import Artifact, Explanation, human_bytes
from . import naming
from .bundle import (
    DT_VARIANT,
    BundleIndex,
    check_entry_bytes,
    masked_crc32c,
    read_bundle_index,
    read_string_entry,
)
from .state import STATE_FILE, StateFileError, listed_paths, read_state

__all__ = ["Checkpoint", "CheckpointDir", "check_checkpoint_files"]

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
CHECKPOINT_COLUMNS = [
    "prefix",
    "step",
    "modified",
    "size",
    "has_meta",
    "has_data",
    "is_latest",
    "listed",
    "missing",
    "relocated",
]
GRAPH_COLUMNS = ["path", "prefix", "step", "has_checkpoint", "has_data", "size"]
_STORAGE_COLUMNS = ("shape", "dtype", "size", "nbytes", "shard", "offset", "partitions")
_KEY_COLUMNS = ("role", "slot", "slot_of", "optimizer", "object_path", "aliases", "full_name")
_STORAGE_FIELDS = operator.itemgetter(*_STORAGE_COLUMNS)
#: the storage facts of a V2 index entry: shape, dtype, nbytes, shard, offset
_ENTRY_FIELDS = operator.attrgetter("shape", "dtype", "size", "shard", "offset")
_STEP_SUFFIX = re.compile(r"-(\d+)$")
_SSTABLE_MAGIC = bytes.fromhex("57fb808b247547db")


#: dtypes whose bundle bytes are numpy's raw little-endian layout (bfloat16 is not in numpy)
_DIRECT_DTYPES = frozenset(
    "float16 float32 float64 int8 int16 int32 int64 uint8 uint16 uint32 uint64 bool "
    "complex64 complex128".split()
)
_LITTLE_ENDIAN = np.little_endian


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
        prefix = Path(os.fspath(prefix)).expanduser()
        if prefix.name.endswith(".index"):
            prefix = prefix_of(prefix)
        super().__init__(prefix)
        self.prefix = prefix
        if not self.index_path.is_file() and not _is_v1_file(prefix):
            raise _no_checkpoint_error(prefix)

    # -- files ------------------------------------------------------------------------------
    @property
    def index_path(self) -> Path:
        return prefix_file(self.prefix, ".index")

    @property
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
        index = self._index
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
    def variables(self):
        """Every tensor in the checkpoint, one row each (reads the index only).

        Columns: ``name`` (the key), ``role`` (variable, slot, optimizer_state, step,
        save_counter, object_graph), ``shape``, ``dtype``, ``size`` (elements), ``nbytes``,
        ``shard``, ``offset``, ``partitions`` (pieces of a partitioned variable), ``slot``
        (``"Adam m"``), ``slot_of``, ``optimizer``, ``object_path`` (TF2), ``aliases`` (other
        TF2 paths to the same variable), ``full_name`` (the variable's own name, TF2).
        """
        import pandas as pd

        columns: dict[str, Any] = dict(self._storage_columns)
        names = columns["name"]
        if not names:
            table = pd.DataFrame([], columns=VARIABLE_COLUMNS)
            for column in ("nbytes", "shard", "offset"):
                table[column] = table[column].astype("Int64")
            return table
        # one list per column, gathered in C (zip over the KeyInfo tuples, in key order)
        info = self._info
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
    def slots(self):
        """Optimizer slots, one row each: ``variable``, ``slot``, ``optimizer``, ``name`` (the
        slot's key), ``shape``."""
        table = self.variables
        slots = table[table["role"] == "slot"]
        result = slots.rename(columns={"slot_of": "variable"})[
            ["variable", "slot", "optimizer", "name", "shape"]
        ]
        return result.sort_values(["variable", "slot"], kind="stable").reset_index(drop=True)

    @functools.cached_property
    def object_graph(self):
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
            from ...safety.gate import ScanReport

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
        from ...errors import CorruptArtifactError

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
        direct = self._read_direct(key, target)
        if direct is not None:
            return direct
        strings = self._read_strings(key)
        if strings is not None:
            return strings
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
        from .bundle import read_string_entry

        index = self._index
        pieces = index.pieces(key)
        if not pieces or pieces[0].dtype != "string":
            return None
        values = [read_string_entry(e, index.shard_file(e.shard), self.index_path) for e in pieces]
        return values[0] if len(pieces) == 1 and not pieces[0].slices else None

    def _read_direct(self, key: str, shard_file: Path) -> np.ndarray | None:
        """A numeric tensor of a V2 bundle, read straight from its bytes at the offset the
        index gives, and checked against the CRC32C the index records, as TensorFlow's reader
        checks it (one copy less, and no trip through TensorFlow). ``None`` for what this does
        not cover: V1 files, strings and other non-numeric dtypes, partitioned variables,
        big-endian bundles; those go through TensorFlow's reader."""
        if self.format != "v2" or self._index.endianness != "little" or not _LITTLE_ENDIAN:
            return None
        pieces = self._index.pieces(key)
        if len(pieces) != 1 or pieces[0].slices or pieces[0].dtype not in _DIRECT_DTYPES:
            return None
        entry = pieces[0]
        array = np.empty(entry.num_elements, dtype=entry.dtype)
        if entry.size != array.nbytes:
            return None
        buffer = memoryview(array).cast("B")
        from ..._files import open_regular

        with open_regular(shard_file, what="checkpoint data") as data:
            data.seek(entry.offset)
            read = data.readinto(buffer)
        if read != entry.size or masked_crc32c(buffer) != entry.crc32c:
            from ...errors import CorruptArtifactError

            problem = "is cut short" if read != entry.size else "fails its checksum"
            raise CorruptArtifactError(
                f"Tensor {key!r} in {str(shard_file)!r} {problem} (bytes {entry.offset} to "
                f"{entry.offset + entry.size}): the data file is damaged.",
                path=shard_file,
                expected=f"{entry.size} bytes whose CRC32C matches the one in {self.index_path.name}",
                hint="re-copy the checkpoint; the other tensors may still read",
            )
        return array.reshape(entry.shape)

    def _check_data(self, key: str) -> Path:
        """Check that every byte of ``key`` can be in the data files before TF reads them;
        return the file to name in errors."""
        if self.format == "v1":
            self._check_v1_size(key)
            return self.prefix
        index = self._index
        shard_file = index.shard_file(0)
        for entry in index.pieces(key):
            shard_file = index.shard_file(entry.shard)
            try:
                shard_size = check_regular(shard_file, what="checkpoint data").st_size
            except ArtifactNotFoundError as exc:
                raise IncompleteCheckpointError(
                    f"The data file {str(shard_file)!r} that holds tensor {key!r} is missing.",
                    path=shard_file,
                    expected=f"{index.num_shards} data shard(s) next to {self.index_path.name}",
                    hint="copy the .data-* files of this checkpoint next to its .index file; "
                    "names, shapes and dtypes (.variables) work without them",
                ) from exc
            if shard_size <= LFS_POINTER_MAX:
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
    def stats(self, names: Iterable[str] | None = None, progress: bool | None = None):
        """Statistics of each tensor (min, max, mean, std, l2, zeros, nans, infs), reading one
        tensor at a time. ``names`` defaults to every tensor but the object graph; a progress
        bar shows for large checkpoints (or ``progress=True``).

        Example::

            >>> checkpoint.stats(["layer1/W"])[["name", "mean", "std"]]   # doctest: +SKIP
        """
        from ...stats import stream_stats

        keys = self._select(names)
        columns = ["name", "role", "shape", "dtype", "nbytes"]
        facts = {row[0]: row for row in self.variables[columns].itertuples(index=False)}
        items = (
            (
                {
                    "name": key,
                    "role": facts[key][1],
                    "shape": facts[key][2],
                    "dtype": facts[key][3],
                },
                functools.partial(self._read_key, key),
                _count(facts[key][4]),
            )
            for key in keys
        )
        total = sum(_count(facts[key][4]) for key in keys)
        return stream_stats(items, total_bytes=total, progress=progress, description="stats")

    def _select(self, names: Iterable[str] | None) -> list[str]:
        if names is None:
            return [n for n, info in self._info.items() if info.role != "object_graph"]
        if isinstance(names, str):
            names = [names]
        return [self.resolve(name) for name in names]

    def diff(self, other: Checkpoint | str | os.PathLike, progress: bool | None = None):
        """Compare with another checkpoint (``other`` is the *new* one), one tensor at a time.

        Columns: ``name``, ``role``, ``status`` (added, removed, shape_changed, dtype_changed,
        changed, unchanged), ``old_shape``, ``new_shape``, ``old_dtype``, ``new_dtype``,
        ``max_abs_change``, ``mean_abs_change``, ``rel_l2_change`` (``|new - old| / |old|``).

        Example::

            >>> run.open(10).diff(run.open(30)).query("status == 'changed'")   # doctest: +SKIP
        """
        import pandas as pd

        from ...stats import compare, progress_bar

        other = _as_checkpoint(other)
        old, new = self._entries, other._entries
        names = [n for n in old if self._info[n].role != "object_graph"]
        names += [n for n in new if n not in old and other._info[n].role != "object_graph"]
        both = [n for n in names if n in old and n in new]
        bar = progress_bar(sum(int(old[n]["nbytes"] or 0) for n in both) * 2, progress, "diff")
        rows = []
        try:
            for name in names:
                row = _diff_row(name, old.get(name), new.get(name))
                row["role"] = (self._info.get(name) or other._info[name]).role
                if row["status"] == "compare":
                    result = compare(self._read_key(name), other._read_key(name))
                    row.update({k: result[k] for k in DIFF_COLUMNS if k in result})
                    row["status"] = "unchanged" if result["equal"] else "changed"
                    if bar is not None:
                        bar.update(2 * int(old[name]["nbytes"] or 0))
                rows.append(row)
        finally:
            if bar is not None:
                bar.close()
        return pd.DataFrame(rows, columns=DIFF_COLUMNS)

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


class CheckpointDir(Artifact):
    """A folder of checkpoints, as written by ``Saver.save`` or ``tf.train.CheckpointManager``.

    The ``checkpoint`` state file names the latest prefix and the ones kept; checkpoints that
    are present but not listed (orphans), listed but gone (missing), or listed with a path from
    another machine (relocated) are all shown, and explained in ``notes``.

    Example::

        >>> run = CheckpointDir("runs/mnist")                        # doctest: +SKIP
        >>> run.checkpoints                                          # doctest: +SKIP
        >>> run.latest.step, len(run)                                # doctest: +SKIP
        (30, 3)
        >>> run.history(["layer1/W"])                                # doctest: +SKIP
    """

    kind = "checkpoint_dir"

    def __init__(self, folder: str | os.PathLike) -> None:
        folder = Path(os.fspath(folder)).expanduser()
        if folder.is_file() and folder.name == STATE_FILE:
            folder = folder.parent
        super().__init__(folder)
        self.folder = folder
        if not folder.is_dir():
            raise ArtifactNotFoundError(
                f"No folder at {str(folder)!r}.",
                path=folder,
                expected="a folder of checkpoints (a `checkpoint` file, PREFIX.index files)",
                hint="to open one checkpoint, pass its prefix to tfexplore.open",
            )

    @property
    def state_path(self) -> Path:
        return self.folder / STATE_FILE

    @functools.cached_property
    def _state(self) -> tuple[str | None, list[str], list[str]]:
        """(latest path, all listed paths, notes) from the state file, as written."""
        if not self.state_path.is_file():
            if os.path.lexists(self.state_path) and not self.state_path.is_dir():
                note = (  # a FIFO, a device or a dangling or looping link: never opened
                    f"the state file {str(self.state_path)!r} is not a regular file and was "
                    "not read; the checkpoints below come from the files present"
                )
                return None, [], [note]
            return None, [], []
        try:
            state = read_state(self.state_path)
        except GitLfsPointerError:
            note = (
                f"the state file {str(self.state_path)!r} is a Git LFS pointer (run `git lfs "
                "pull`); the checkpoints below come from the files present"
            )
            return None, [], [note]
        except (StateFileError, CorruptArtifactError) as exc:
            note = (
                f"the state file {str(self.state_path)!r} is not a CheckpointState text proto "
                f"({exc}); the checkpoints below come from the files present"
            )
            return None, [], [note]
        return (*listed_paths(state), [])

    @functools.cached_property
    def _scan(self) -> tuple[list[dict[str, Any]], list[str]]:
        """Rows of ``checkpoints`` (with a ``_path`` column) and notes."""
        latest_raw, listed_raw, notes = self._state
        notes = list(notes)
        present = _prefixes_in(self.folder)
        rows: dict[Path, dict[str, Any]] = {}
        listed_paths: list[Path] = []
        latest_path = None
        for raw in listed_raw:
            path, relocated, exists = self._locate(raw)
            if relocated:
                notes.append(
                    f"the state file names {raw!r}, outside this folder (the run was moved "
                    f"or copied); the checkpoint beside the state file is used: {str(path)!r}"
                )
            if not exists:
                graph_only = _is_file(meta_file(path))
                notes.append(
                    f"the state file lists {raw!r} but its files are missing"
                    if not graph_only
                    else f"the state file lists {raw!r}: its graph (.meta) is here but its tensors "
                    "(.index, .data-*) are missing"
                )
            elif not relocated and not _same_folder(prefix_parts(path)[0], self.folder):
                notes.append(
                    f"the state file lists {raw!r}, outside this folder; it is used "
                    "from there (as tf.train.latest_checkpoint would)"
                )
            rows[path] = _checkpoint_row(path, exists, listed=True, relocated=relocated)
            listed_paths.append(path)
            if raw == latest_raw:
                latest_path = path
        for path in present:
            if path not in rows:
                rows[path] = _checkpoint_row(path, True, listed=False, relocated=False)
                if listed_raw:
                    notes.append(f"{path.name!r} is present but not listed in the state file")
        if latest_path is None or not rows[latest_path]["_exists"]:
            newest = _newest(row for row in rows.values() if row["_exists"])
            if latest_path is not None:
                notes.append(
                    f"the latest checkpoint named by the state file ({latest_raw!r}) is "
                    "missing; "
                    + (
                        "the newest one present is used as latest"
                        if newest is not None
                        else "no other checkpoint is present"
                    )
                )
            latest_path = newest
        if latest_path is not None:
            rows[latest_path]["is_latest"] = True
        ordered = sorted(rows.values(), key=_row_order)
        return ordered, notes

    def _locate(self, raw: str) -> tuple[Path, bool, bool]:
        """Where a path from the state file is: (path, relocated, exists).

        A relative path is relative to the folder. An absolute path elsewhere (the run was
        copied from another folder or machine) is *relocated* when a checkpoint of that name
        sits beside the state file; those files win over the original location.
        A path written on Windows (``D:\\runs\\model.ckpt``, ``C:/runs/model.ckpt``, a UNC
        ``\\\\server\\share\\...``) is read with Windows rules, and a path ending in a slash is
        the empty prefix of that folder (``saver.save(sess, "run/")`` writes ``run/.index``).
        """
        given = Path(raw)
        empty = raw.endswith(("/", "\\"))
        if _is_windows_path(raw) and not _prefix_exists(self.folder / raw):
            windows = PureWindowsPath(raw)
            if not windows.is_absolute():
                candidate = self.folder.joinpath(*windows.parts) if windows.parts else self.folder
                return candidate, False, _prefix_exists(candidate)
            beside = self.folder if empty else self.folder / windows.name
            if _prefix_exists(beside):
                return beside, True, True
            return given, False, False
        if not given.is_absolute():
            candidate = self.folder / given
            return candidate, False, _prefix_exists(candidate)
        if _same_folder(given if empty else given.parent, self.folder):
            path = self.folder if empty else given
            return path, False, _prefix_exists(path)
        beside = self.folder if empty else self.folder / given.name
        if _prefix_exists(beside):
            return beside, True, True
        return given, False, _prefix_exists(given)

    @functools.cached_property
    def checkpoints(self):
        """The checkpoints of the folder, oldest first: ``prefix``, ``step``, ``modified``,
        ``size`` (bytes of all its files), ``has_meta``, ``is_latest``, ``listed`` (in the
        state file), ``missing`` (listed but absent), ``relocated`` (listed with a path from
        another machine and found beside the state file)."""
        import pandas as pd

        rows = [{k: v for k, v in row.items() if not k.startswith("_")} for row in self._scan[0]]
        table = pd.DataFrame(rows, columns=CHECKPOINT_COLUMNS)
        table["step"] = table["step"].astype("Int64")
        return table

    @property
    def notes(self) -> list[str]:
        """What is odd about the folder: orphans, missing or relocated checkpoints, graphs
        without tensors, missing data files, a bad state file."""
        notes = list(self._scan[1])
        pointers = self._lfs_pointers
        if pointers:
            notes.append(
                f"{len(pointers)} file(s) are Git LFS pointers, not the files themselves ("
                + ", ".join(pointers[:6])
                + (" ..." if len(pointers) > 6 else "")
                + "): the repository was cloned without git-lfs; run `git lfs pull` in it"
            )
        present = self._present()
        for row in present:
            if not row["has_data"] and not pointers:
                notes.append(
                    f"the data file(s) of {Path(row['prefix']).name or row['prefix']!r} are "
                    "missing: names, shapes and dtypes come from its index, values cannot be read"
                )
        if not present:
            graphs = self.graphs
            if len(graphs):
                notes.append(
                    f"no tensors: the folder holds {len(graphs)} graph(s) (.meta) but no "
                    "checkpoint data (PREFIX.index, .data-*); the graphs can be explored "
                    "(.meta_graph, GraphView), values cannot be read"
                )
            elif not self._scan[0]:
                notes.append("no checkpoint (PREFIX.index or V1 file) found in the folder")
            else:
                notes.append("none of the checkpoints the state file lists is present")
        return notes

    @functools.cached_property
    def _lfs_pointers(self) -> list[str]:
        """Names of the folder's files that are Git LFS pointers (small files only are read)."""
        return [p.name for p in sorted(self.folder.iterdir()) if is_lfs_pointer(p)]

    @functools.cached_property
    def graphs(self):
        """The ``.meta`` graphs in the folder, oldest first: ``path``, ``prefix``, ``step``,
        ``has_checkpoint`` (its ``.index`` or V1 file is here), ``has_data`` (its data files
        too), ``size``. A folder may hold graphs whose tensors were never copied."""
        import pandas as pd

        rows = []
        for entry in sorted(self.folder.iterdir()):
            if not entry.name.endswith(META_SUFFIXES) or not _is_file(entry):
                continue
            prefix = prefix_of(entry)
            has_checkpoint = _prefix_exists(prefix)
            rows.append(
                {
                    "path": str(entry),
                    "prefix": prefix_text(prefix),
                    "step": _step_from_name(prefix_parts(prefix)[1]),
                    "has_checkpoint": has_checkpoint,
                    "has_data": has_checkpoint and _has_data(prefix),
                    "size": entry.stat().st_size,
                    "_modified": entry.stat().st_mtime,
                }
            )
        rows.sort(key=lambda row: (row["step"] is None, row["step"] or 0, row["_modified"]))
        table = pd.DataFrame(rows, columns=GRAPH_COLUMNS)
        table["step"] = table["step"].astype("Int64")
        return table

    @property
    def meta_graph(self):
        """The graph of the folder: the latest checkpoint's ``.meta``, else the newest ``.meta``
        present (a folder of graphs without tensors); ``None`` when there is none."""
        from ..metagraph import MetaGraph

        if self._present():
            meta_graph = self.latest.meta_graph
            if meta_graph is not None:
                return meta_graph
        graphs = self.graphs
        if not len(graphs):
            return None
        return MetaGraph.from_file(graphs["path"].iloc[-1])

    @property
    def safety(self):
        """The :class:`tfexplore.safety.ScanReport` of every ``.meta`` graph in the folder."""
        from ...safety.gate import ScanReport

        return ScanReport.merge([c.safety for c in self], path=self.folder)

    def _present(self) -> list[dict[str, Any]]:
        return [row for row in self._scan[0] if row["_exists"]]

    def __len__(self) -> int:
        return len(self._present())

    def __iter__(self) -> Iterator[Checkpoint]:
        for row in self._present():
            yield Checkpoint(row["_path"])

    @property
    def latest(self) -> Checkpoint:
        """The latest checkpoint (named by the state file, else the newest present)."""
        for row in self._scan[0]:
            if row["is_latest"]:
                return Checkpoint(row["_path"])
        graphs = self.graphs
        raise ArtifactNotFoundError(
            f"The folder {str(self.folder)!r} holds no checkpoint"
            + (f", only {len(graphs)} graph(s) without tensors (.meta)." if len(graphs) else "."),
            path=self.folder,
            expected="PREFIX.index files (or V1 checkpoint files) in the folder",
            hint=(
                f"explore the graph: tfexplore.open({graphs['path'].iloc[-1]!r}) or "
                "GraphView(folder); a session of it starts from initialized variables"
                if len(graphs)
                else "; ".join(self.notes) or "check the folder"
            ),
        )

    def open(self, step_or_prefix: int | str | os.PathLike) -> Checkpoint:
        """The checkpoint of a given step (``run.open(20)``) or prefix (``"model.ckpt-20"``)."""
        rows = self._present()
        if isinstance(step_or_prefix, (int, np.integer)):
            wanted_step = int(step_or_prefix)
            found = [row for row in rows if row["step"] == wanted_step]
            found = found or [
                row for row in rows if _step_from_name(row["_path"].name) == wanted_step
            ]
            choices = [str(row["step"]) for row in rows]
        else:
            wanted = Path(os.fspath(step_or_prefix))
            found = [row for row in rows if row["_path"] in (wanted, self.folder / wanted)]
            found = found or [row for row in rows if row["_path"].name == wanted.name]
            choices = [row["_path"].name for row in rows]
        if not found:
            raise TensorNotFoundError(
                f"No checkpoint {step_or_prefix!r} in {str(self.folder)!r}.",
                suggestions=suggest(str(step_or_prefix), choices),
                path=self.folder,
                expected="a step or prefix from .checkpoints",
            )
        return Checkpoint(found[-1]["_path"])

    def history(self, names: Iterable[str] | None = None, progress: bool | None = None):
        """Statistics of tensors across every checkpoint, oldest first: one row per (checkpoint,
        tensor) with ``step``, ``prefix``, ``name`` and the stats columns. ``names`` defaults to
        the model variables of the latest checkpoint; names a checkpoint lacks are skipped.

        Example::

            >>> run.history(["layer1/W"]).plot(x="step", y="l2")   # doctest: +SKIP
        """
        from ...stats import stream_stats

        if names is None:
            table = self.latest.variables
            names = list(table.loc[table["role"] == "variable", "name"])
        elif isinstance(names, str):
            names = [names]
        names = list(names)
        work = []
        for row in self._present():
            checkpoint = Checkpoint(row["_path"])
            table = checkpoint.variables.set_index("name")
            for name in names:
                try:
                    key = checkpoint.resolve(name)
                except TensorNotFoundError:
                    continue
                nbytes = _count(table.at[key, "nbytes"])
                work.append((checkpoint, row["step"], key, nbytes))
        items = (
            (
                {"step": step, "prefix": prefix_text(checkpoint.prefix), "name": key},
                functools.partial(checkpoint._read_key, key),
                nbytes,
            )
            for checkpoint, step, key, nbytes in work
        )
        total = sum(item[3] for item in work)
        result = stream_stats(items, total_bytes=total, progress=progress, description="history")
        if "step" in result:
            result["step"] = result["step"].astype("Int64")
        return result

    def _file_rows(self) -> list[tuple[Path, str]]:
        rows = []
        if self.state_path.exists():
            rows.append((self.state_path, "state file (latest and kept checkpoints)"))
        for checkpoint in self:
            rows += checkpoint._file_rows()
        listed = {file for file, _ in rows}
        for path in self.graphs["path"]:
            if Path(path) not in listed:
                rows.append((Path(path), "meta graph (the TF1 graph; its tensors are missing)"))
        return rows

    def summary(self) -> dict[str, Any]:
        table = self.checkpoints
        present = table[~table["missing"]]
        facts: dict[str, Any] = {
            "kind": self.kind,
            "path": str(self.folder),
            "checkpoints": len(present),
            "steps": [int(s) for s in present["step"].dropna()],
            "latest": next(
                (row["prefix"] for _, row in table.iterrows() if row["is_latest"]), None
            ),
            "state_file": self.state_path.is_file(),
            "size": human_bytes(float(present["size"].sum())),
        }
        graphs = self.graphs
        orphans = graphs[~graphs["has_checkpoint"]]
        if len(orphans):
            facts["graphs_without_tensors"] = [Path(p).name for p in orphans["path"]]
        notes = self.notes
        if notes:
            facts["notes"] = notes
        return facts

    def explain(self) -> Explanation:
        """What the folder holds and how TensorFlow picks a checkpoint from it, in Markdown."""
        return Explanation(_explain_dir(self))


# -- helpers: checkpoints -----------------------------------------------------------------------
def check_checkpoint_files(prefix: str | os.PathLike, *, contents: bool = False) -> None:
    """Check what TensorFlow's reader will open for checkpoint ``prefix`` before it opens it:
    regular files only (no FIFO, device or symlink loop), and with ``contents=True`` (before a
    session hands the checkpoint to TensorFlow, which reads every tensor) every V2 entry's
    bytes within its shard and every string tensor's declared lengths within its bytes
    (:func:`read_string_entry`). Raises a tfexplore error naming the file."""
    prefix = Path(os.fspath(prefix))
    index_path = prefix_file(prefix, ".index")  # the empty prefix "run/" is held as its folder
    if not index_path.exists():
        if prefix.exists() and not prefix.is_dir():
            check_regular(prefix, what="V1 checkpoint")
        return
    check_regular(index_path, what="checkpoint index")
    index = read_bundle_index(index_path)
    sizes = {}
    for shard in range(index.num_shards):
        shard_file = index.shard_file(shard)
        if shard_file.exists() or shard_file.is_symlink():
            sizes[shard] = check_regular(shard_file, what="checkpoint data").st_size
    if not contents:
        return
    pieces = [entry for name in index.entries for entry in index.pieces(name)]
    for entry in pieces:
        if entry.shard not in sizes or entry.dtype_enum == DT_VARIANT:
            continue  # TensorFlow reports a missing shard itself; variants are its own
        shard_file = index.shard_file(entry.shard)
        check_entry_bytes(entry, shard_file, sizes[entry.shard], index_path)
        if entry.dtype == "string":
            read_string_entry(entry, shard_file, index_path)


def _is_v1_file(path: Path) -> bool:
    try:
        if not path.is_file() or path.stat().st_size < 48:
            return False
        from ..._files import open_regular

        with open_regular(path, what="checkpoint") as handle:  # swapped for a FIFO: no hang
            handle.seek(-8, os.SEEK_END)
            return handle.read(8) == _SSTABLE_MAGIC
    except (OSError, TFExploreError):
        return False


def _no_checkpoint_error(prefix: Path) -> ArtifactNotFoundError:
    if prefix.is_dir():
        hint = "this is a folder: open it with tfexplore.open or CheckpointDir"
    else:
        siblings = sorted(p.name for p in prefix.parent.glob(prefix.name.split(".")[0] + "*"))
        hint = (
            ("files that do exist there: " + ", ".join(siblings[:8]))
            if siblings
            else ("check the path")
        )
    return ArtifactNotFoundError(
        f"No checkpoint with prefix {str(prefix)!r}: neither {prefix.name}.index nor a V1 "
        "checkpoint file is there.",
        path=prefix,
        expected="PREFIX.index (V2) or a single legacy V1 checkpoint file",
        hint=hint,
    )


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


def _step_from_name(name: str) -> int | None:
    match = _STEP_SUFFIX.search(name)
    return int(match.group(1)) if match else None


def _as_checkpoint(other: Checkpoint | str | os.PathLike) -> Checkpoint:
    if isinstance(other, Checkpoint):
        return other
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


# -- helpers: folders ---------------------------------------------------------------------------
def _prefixes_in(folder: Path) -> list[Path]:
    found = []
    for entry in sorted(folder.iterdir()):
        name = entry.name
        if name.endswith(".index") and entry.is_file():
            found.append(prefix_of(entry))  # ".index": the empty prefix, the folder itself
        elif (
            name != STATE_FILE
            and "." in name
            and not name.endswith((".meta", ".pb", ".pbtxt", ".config", ".json", ".txt"))
            and ".data-" not in name
            and _is_v1_file(entry)
        ):
            found.append(entry)
    return found


def _is_windows_path(raw: str) -> bool:
    """A path a Windows machine wrote: a drive (``D:``), a UNC share, or backslashes."""
    return "\\" in raw or bool(re.match(r"^[A-Za-z]:[\\/]", raw))


def _same_folder(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except (OSError, ValueError):  # a state file may name anything, NUL bytes included
        return False


def _prefix_exists(prefix: Path) -> bool:
    return _is_file(prefix_file(prefix, ".index")) or _is_v1_file(prefix)


def _is_file(path: Path) -> bool:
    """``path.is_file()``, false for a name the OS refuses (too long, ...) as the state file
    may hold any text."""
    try:
        return path.is_file()
    except OSError:
        return False


def _has_data(prefix: Path) -> bool:
    """Whether every data file a checkpoint's index names is present (a V1 file is its own)."""
    if not _is_file(prefix_file(prefix, ".index")):
        return _is_v1_file(prefix)
    try:
        return all(path.exists() for path in Checkpoint(prefix).data_files)
    except TFExploreError:
        return False


def _prefix_files(prefix: Path) -> list[Path]:
    """The files of ``prefix`` (a V1 checkpoint is its own file)."""
    files = checkpoint_files(*prefix_parts(prefix))
    return [prefix, *files] if _is_file(prefix) else files


def _checkpoint_row(path: Path, exists: bool, *, listed: bool, relocated: bool) -> dict[str, Any]:
    import pandas as pd

    files = _prefix_files(path) if exists else []
    index = prefix_file(path, ".index")
    main = index if _is_file(index) else path
    step = _step_from_name(prefix_parts(path)[1])
    has_data = False
    if exists:
        try:
            checkpoint = Checkpoint(path)
            step = checkpoint.step
            present = {p.name for p in files}
            has_data = checkpoint.format == "v1" or all(
                shard.name in present for shard in checkpoint.data_files
            )
        except TFExploreError:
            pass
    return {
        "prefix": prefix_text(path) if exists else str(path),
        "step": step,
        "modified": pd.Timestamp(main.stat().st_mtime, unit="s") if exists else pd.NaT,
        "size": sum(p.stat().st_size for p in files if p.is_file()),
        "has_meta": _is_file(meta_file(path)),
        "has_data": has_data,
        "is_latest": False,
        "listed": listed,
        "missing": not exists,
        "relocated": relocated,
        "_path": path,
        "_exists": exists,
    }


def _newest(rows: Iterable[dict[str, Any]]) -> Path | None:
    rows = list(rows)
    if not rows:
        return None
    return max(
        rows, key=lambda row: (row["step"] if row["step"] is not None else -1, row["modified"])
    )["_path"]


def _row_order(row: dict[str, Any]):
    step = row["step"]
    return (step is None, step if step is not None else 0, str(row["prefix"]))


# -- prose --------------------------------------------------------------------------------------
def _explain_checkpoint(checkpoint: Checkpoint) -> str:
    table = checkpoint.variables
    roles = table["role"].value_counts().to_dict()
    n_vars = roles.get("variable", 0)
    folder, name = prefix_parts(checkpoint.prefix)
    parts = [f"# Checkpoint `{name or prefix_text(checkpoint.prefix)}`", ""]
    if not name:
        parts += [
            f"Its prefix is **empty**: `Saver.save` was given the folder `{folder.name}/` with a "
            "trailing slash, so its files are named `.index`, `.data-*` and `.meta` inside that "
            "folder (hidden files on Unix). Give TensorFlow the folder with its slash "
            f"(`{prefix_text(checkpoint.prefix)}`) as the prefix.",
            "",
        ]
    if checkpoint.format == "v2":
        shards = checkpoint.data_files
        present = [p for p in shards if p.exists()]
        parts += [
            f"This is a **V2 checkpoint**: the prefix `{name or prefix_text(checkpoint.prefix)}` "
            "names a group of files.",
            "",
            f"- **`{name}.index`** lists the {len(table)} tensors it holds: for each, its name, "
            "dtype, shape, which data shard holds its bytes, the offset and size there, and a "
            "checksum. It is small and is all that `.variables` reads.",
            f"- **{len(shards)} data shard(s)** (`{name}.data-00000-of-{len(shards):05d}`...) hold "
            f"the tensors' raw bytes ({human_bytes(float(table['nbytes'].fillna(0).sum()))} "
            f"in all); {len(present)} of {len(shards)} are present.",
        ]
    else:
        parts += [
            f"This is a **legacy V1 checkpoint** (TensorFlow before 0.12): one file `{name}` "
            "holds both the tensor names and their bytes. TensorFlow 2 still reads it with "
            "`tf.train.load_checkpoint`.",
            "",
        ]
    if checkpoint.meta_path.is_file():
        parts.append(
            f"- **`{name}.meta`** is the MetaGraphDef: the TF1 graph that was trained, with its "
            "variables, collections and the Saver's settings (`.meta_graph`)."
        )
    else:
        parts.append(
            f"- There is no `{name}.meta`: the graph was not saved with it, so restoring needs "
            "the code that builds the model."
        )
    state = folder / STATE_FILE
    parts.append(
        f"- The folder's `checkpoint` file {'is' if state.is_file() else 'would be'} a small "
        "text file naming the latest prefix and the ones kept; `tf.train.latest_checkpoint` "
        "reads it. It is not part of the checkpoint itself."
    )
    parts.append("")
    example = next(iter(table.loc[table["role"] == "variable", "name"]), "layer1/W")
    if checkpoint.style == "name_based":
        parts.append(
            "It is **name-based** (TF1 `tf.compat.v1.train.Saver`): each key is a variable's "
            f"graph name, such as `{example}`. Restoring matches variables by these names."
        )
    else:
        parts.append(
            "It is **object-based** (TF2 `tf.train.Checkpoint`): each key is the path of "
            "attribute names from the root object to the variable, ending in "
            "`/.ATTRIBUTES/VARIABLE_VALUE`, and `_CHECKPOINTABLE_OBJECT_GRAPH` stores the "
            "object graph. Restoring matches objects by these paths, not by variable names."
        )
    parts += ["", "## What it holds", ""]
    parts.append(f"- {n_vars} model variable(s)")
    if roles.get("slot"):
        slots = checkpoint.slots
        kinds = ", ".join(sorted(set(slots["slot"].dropna())))
        optimizers = ", ".join(sorted(set(slots["optimizer"].dropna())))
        parts.append(
            f"- {roles['slot']} optimizer slot(s) ({kinds}) kept by {optimizers}: they are the "
            "optimizer's memory of each variable, e.g. Adam's running mean (m) and variance (v) "
            "of the gradient"
        )
    if roles.get("optimizer_state"):
        parts.append(
            f"- {roles['optimizer_state']} optimizer state value(s) (beta powers, "
            "iteration count, learning rate)"
        )
    if roles.get("step"):
        step_key = table.loc[table["role"] == "step", "name"].iloc[0]
        value = _safe_step_value(checkpoint, step_key)
        parts.append(
            f"- the training step (`{step_key}` = {value})"
            if value is not None
            else f"- the training step (`{step_key}`; its value is in the data, unreadable here)"
        )
    if (table["partitions"] > 1).any():
        partitioned = table.loc[table["partitions"] > 1, "name"].tolist()
        parts.append(
            f"- {len(partitioned)} partitioned variable(s) stored as slices "
            f"(e.g. `{partitioned[0]}`): a graph holds them as `{partitioned[0]}/part_0`..."
        )
    parts += ["", "## What a restore needs", ""]
    if checkpoint.style == "name_based":
        parts.append(
            f"A graph (or model) with variables of these {n_vars} names, shapes and dtypes."
        )
    else:
        parts.append(
            "Objects tracked under the same attribute paths (the same model code and "
            "`tf.train.Checkpoint(...)` keywords), with variables of the same shapes."
        )
    if roles.get("slot"):
        parts.append(
            "To *resume training*, the same optimizer must be rebuilt too, so that its slots "
            "are restored; for inference only, the slots can be ignored."
        )
    for note in checkpoint.notes:
        parts.append(f"\n**Note:** {note}.")
    return "\n".join(parts)


def _safe_step_value(checkpoint: Checkpoint, key: str) -> int | None:
    try:
        return int(np.asarray(checkpoint.read(key)).reshape(-1)[0])
    except (TFExploreError, TypeError, ValueError, IndexError):
        return None


def _explain_dir(folder: CheckpointDir) -> str:
    table = folder.checkpoints
    present = table[~table["missing"]]
    parts = [f"# Checkpoint folder `{folder.folder.name}`", ""]
    steps = [str(s) for s in present["step"].dropna()]
    parts.append(
        f"It holds {len(present)} checkpoint(s)"
        + (f" at steps {', '.join(steps)}" if steps else "")
        + ". Each checkpoint is a prefix naming an `.index` file, one or more `.data-*` shards "
        "and, for TF1 Savers, a `.meta` graph."
    )
    parts.append("")
    if folder.state_path.is_file():
        parts.append(
            "The `checkpoint` file is the *state file*: a text CheckpointState naming the "
            "latest checkpoint (`model_checkpoint_path`) and the ones kept "
            "(`all_model_checkpoint_paths`). `tf.train.latest_checkpoint(folder)` and "
            "`CheckpointManager` read it; `Saver(max_to_keep=N)` deletes the oldest files "
            "and rewrites it."
        )
    else:
        parts.append(
            "There is no `checkpoint` state file, so `tf.train.latest_checkpoint` finds "
            "nothing here: open a prefix directly. tfexplore worked from the files present."
        )
    if len(present):
        latest = folder.latest
        parts += [
            "",
            f"The latest is `{prefix_parts(latest.prefix)[1] or prefix_text(latest.prefix)}`. "
            "To restore it, pass its prefix "
            "(not a file name) to `saver.restore(session, prefix)` or "
            "`tf.train.Checkpoint(...).restore(prefix)`.",
        ]
    graphs = folder.graphs
    orphans = graphs[~graphs["has_checkpoint"]]
    if len(orphans):
        names = ", ".join(f"`{Path(p).name}`" for p in orphans["path"][:6])
        parts += [
            "",
            "## Graphs without tensors",
            "",
            f"{len(orphans)} graph(s) ({names}) have no checkpoint beside them: the "
            "`.meta` file is the graph (ops, variables, the Saver's settings), the tensors' "
            "values were in `.index`/`.data-*` files that are not here (too big to commit, "
            "or lost). The graph can still be explored (`.meta_graph`, `GraphView(folder)`); "
            "a session of it starts from freshly initialized variables.",
        ]
    if folder.notes:
        parts += ["", "## Notes", ""] + [f"- {note}" for note in folder.notes]
    return "\n".join(parts)
