"""Writing a TensorFlow V2 checkpoint (``PREFIX.index`` + ``PREFIX.data-00000-of-00001``) in
pure Python, tensor by tensor, as TensorFlow's ``tensor_bundle.cc`` writes it; no TensorFlow.

The data file is the tensors' raw little-endian bytes one after the other (string tensors as
``[varint64 length] * n``, a masked CRC32C of the lengths, then the bytes). The index is a
LevelDB table (no compression, restart interval 16, TensorFlow's 256 KiB blocks) whose first
key ``""`` holds a ``BundleHeaderProto`` and every other key a tensor's ``BundleEntryProto``
(dtype, shape, offset, size, masked CRC32C). :func:`publish_checkpoint` puts a checkpoint in
place the way ``Session.save`` does, so a process killed at any moment loses nothing.

Given the same tensors in key order, the files are byte for byte those of TensorFlow's
``SaveV2`` (``tests/test_bundle_writer.py`` compares them). Example::

    >>> write_bundle("out/model.ckpt", [("w", np.ones(4)), ("step", np.array(7))])  # doctest: +SKIP
    [PosixPath('out/model.ckpt.data-00000-of-00001'), PosixPath('out/model.ckpt.index')]
"""

from __future__ import annotations

import contextlib
import os
import struct
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from .._files import human_bytes
from .._wire import DTYPE_NAMES, BundleEntryProto, BundleHeaderProto
from ..artifacts.checkpoint.shard import ITEMSIZE, string_length_table
from ..artifacts.checkpoint.sstable import masked_crc32c
from ..errors import CheckpointExistsError, TFExploreError
from ..live import saving
from .table_writer import table, varint

__all__ = ["BundleWriter", "write_bundle", "publish_checkpoint"]

DATA_SUFFIX = ".data-00000-of-00001"
_ENUMS = {name: value for value, name in DTYPE_NAMES.items() if not name.endswith("_ref")}
_EXPECTED = "a prefix with no checkpoint files yet"


class BundleWriter:
    """Writes one V2 checkpoint (PREFIX.index + PREFIX.data-00000-of-00001) tensor by tensor:
    each add() writes the tensor's bytes at once and keeps only its small entry, so memory
    stays at one tensor. Keys may come in any order (the index is sorted at close).

    The ``.index`` appears last (written beside, then linked into place), so a prefix with
    an index is complete; leaving the ``with`` block by an exception removes the files.
    Raises ``CheckpointExistsError`` when the prefix's index or data file exists. Example::

        >>> with BundleWriter("out/model.ckpt") as writer:              # doctest: +SKIP
        ...     writer.add("w", np.arange(6, dtype=np.float32).reshape(2, 3))
        ...     writer.add("names", np.array([b"a", "é".encode()], dtype=object))
        >>> writer                                                      # doctest: +SKIP
        BundleWriter('out/model.ckpt', 2 tensors, 33 B, closed)
    """

    def __init__(self, prefix: str | os.PathLike) -> None:
        self.prefix = Path(prefix)
        self._index = Path(f"{self.prefix}.index")
        self._data = Path(f"{self.prefix}{DATA_SUFFIX}")
        self._index_temporary = Path(f"{self._index}.tempstate{uuid.uuid4().hex}")
        self._entries: dict[bytes, bytes] = {}
        self._offset = self._count = 0
        self._files: list[Path] | None = None
        if self._index.exists():
            raise _exists(self.prefix, self._index)
        self.prefix.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._file = open(self._data, "xb")  # noqa: SIM115 - closed by close()/abort()
        except FileExistsError as exc:
            raise _exists(self.prefix, self._data) from exc

    @property
    def bytes_written(self) -> int:
        """Bytes of tensor data written to the data file so far."""
        return self._offset

    def add(self, key: str, value: np.ndarray) -> None:
        """Write tensor ``key`` (any numeric numpy array, bool, float16, ``ml_dtypes`` bfloat16
        and float8, complex; ``object``/``S``/``U`` arrays of bytes or str as DT_STRING, str
        as UTF-8). A C-contiguous little-endian array is written and checksummed in place."""
        array = np.asarray(value)
        if array.dtype.kind in "OSU":
            data, crc = _encode_strings(array, key)
            self._put(key, "string", array.shape, memoryview(data), crc)
            return
        name = array.dtype.name
        if _ENUMS.get(name) is None or ITEMSIZE.get(name) != array.dtype.itemsize:
            raise _unsupported(key, f"dtype {array.dtype}")
        if array.dtype.byteorder == ">":
            array = array.astype(array.dtype.newbyteorder("<"))
        if not array.flags.c_contiguous:  # (np.ascontiguousarray makes scalars 1-d)
            array = array.copy(order="C")
        self.add_bytes(key, name, array.shape, array.reshape(-1).view(np.uint8))

    def add_bytes(self, key: str, dtype_name: str, shape: tuple, data) -> None:
        """Write tensor ``key`` from its bytes as a bundle stores them (``data``: any buffer),
        e.g. a tensor copied unchanged from another checkpoint. The byte size is checked
        against ``shape``; a string tensor's length table and its checksum are checked."""
        if isinstance(data, np.ndarray):
            view = np.ascontiguousarray(data).reshape(-1).view(np.uint8)
        else:
            view = memoryview(data).cast("B")
        dims = tuple(int(d) for d in shape)
        count = int(np.prod(dims, dtype=np.int64))
        if _ENUMS.get(dtype_name) is None or any(d < 0 for d in dims):
            raise _unsupported(key, f"dtype {dtype_name!r} with shape {dims}")
        if dtype_name == "string":
            crc = _string_checksum(view, count, key)
        elif view.nbytes != count * ITEMSIZE.get(dtype_name, -1):
            raise _unsupported(key, f"{view.nbytes} bytes for {dtype_name} of shape {dims}")
        else:
            crc = masked_crc32c(view)
        self._put(key, dtype_name, dims, view, crc)

    def _put(self, key: str, dtype_name: str, dims: tuple, view, crc: int) -> None:
        """Write ``view`` (the bytes, checksum ``crc``) and keep the entry of ``key``."""
        raw_key = self._new_key(key)
        try:
            self._file.write(view)
        except BaseException:  # a partial write: the offsets are lost, so is the checkpoint
            self.abort()
            raise
        entry = BundleEntryProto(dtype=_ENUMS[dtype_name], offset=self._offset, size=view.nbytes)
        entry.shape.SetInParent()  # a scalar keeps an (empty) shape, as TensorFlow writes it
        entry.shape.dim.extend(entry.shape.Dim(size=d) for d in dims)
        entry.crc32c = crc
        self._entries[raw_key] = entry.SerializeToString()
        self._offset += view.nbytes
        self._count += 1

    def _new_key(self, key: str) -> bytes:
        raw = key.encode("utf-8") if isinstance(key, str) else None
        closed = self._files is not None or self._file.closed
        if closed or not raw or raw in self._entries:
            problem = (
                "the writer is closed" if closed
                else "the checkpoint has a tensor of that name already" if raw
                else "a key must be a non-empty str"
            )  # fmt: skip
            raise TFExploreError(
                f"Tensor {key!r} was not written to {str(self.prefix)!r}: {problem}.",
                path=self.prefix,
                expected="each tensor name once, a non-empty str (the empty key is the header), "
                "added before close()",
                hint="rename or drop the duplicate in the plan",
            )
        return raw

    def close(self) -> list[Path]:
        """Flush and fsync the data, write the index (sorted), fsync it and link it into place.
        Returns the files written; a second call returns them again."""
        if self._files is not None:
            return self._files
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            header = BundleHeaderProto(num_shards=1, endianness=0)
            header.version.producer = 1
            entries = [(b"", header.SerializeToString()), *sorted(self._entries.items())]
            with open(self._index_temporary, "xb") as file:
                file.write(table(entries))
                file.flush()
                os.fsync(file.fileno())
            _link(self._index_temporary, self._index, self.prefix)
            _fsync_folder(self.prefix.parent)
        except BaseException:
            self.abort()
            raise
        self._entries.clear()
        self._files = [self._data, self._index]
        return self._files

    def abort(self) -> None:
        """Close the data file and remove what this writer wrote (nothing once closed)."""
        if self._files is not None:
            return
        self._file.close()
        for path in (self._data, self._index_temporary):
            path.unlink(missing_ok=True)
        self._files = []

    def __enter__(self) -> BundleWriter:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()

    def __repr__(self) -> str:
        state = "closed" if self._files is not None else "open"
        return (
            f"BundleWriter({str(self.prefix)!r}, {self._count} tensors, "
            f"{human_bytes(self._offset)}, {state})"
        )


def write_bundle(
    prefix: str | os.PathLike,
    tensors: Iterable[tuple[str, np.ndarray]],
    *,
    progress: Callable[[str, int], None] | None = None,
) -> list[Path]:
    """Write ``(key, array)`` pairs as a checkpoint at ``prefix``, one array held at a time
    (``tensors`` may be a generator); ``progress(key, bytes_written)`` after each. Returns
    the files written; on an error nothing is left."""
    with BundleWriter(prefix) as writer:
        for key, value in tensors:
            writer.add(key, value)
            if progress is not None:
                progress(key, writer.bytes_written)
    return writer.close()


def publish_checkpoint(
    prefix: Path,
    write: Callable[[Path], None],
    *,
    meta: bytes | None = None,
    overwrite: bool = False,
    name_in_state: bool = True,
) -> Path:
    """Write a complete checkpoint to ``prefix`` as ``Session.save`` does (see
    :mod:`tfexplore.live.saving`): ``write(temporary_prefix)`` writes the bundle in a hidden
    folder beside it, ``meta`` (a serialized MetaGraphDef) goes there as ``NAME.meta``, then the
    files move into place, ``.index`` last, and the folder's ``checkpoint`` file names the
    prefix (``name_in_state=False``: the state file is left alone). Killed at any moment, the
    folder keeps its earlier checkpoints and state file; the next publish there clears the
    leftovers. ``CheckpointExistsError`` when ``prefix`` has files and ``overwrite`` is false.
    Example::

        >>> publish_checkpoint(Path("runs/fixed-1"),                    # doctest: +SKIP
        ...     lambda p: write_bundle(p, plan.tensors()), meta=meta_bytes)
        PosixPath('runs/fixed-1')
    """
    prefix = Path(prefix)
    folder = prefix.parent
    folder.mkdir(parents=True, exist_ok=True)
    saving.recover(folder)
    existing = saving.files_of(prefix)
    if existing and not overwrite:
        raise CheckpointExistsError(
            f"A checkpoint {str(prefix)!r} already exists ({existing[0].name}, ...).",
            path=prefix,
            expected=_EXPECTED,
            hint="pass overwrite=True, or write to another prefix",
        )
    temporary = saving.temporary_folder(folder)
    try:
        staged = temporary / prefix.name
        write(staged)
        if not Path(f"{staged}.index").is_file():
            raise TFExploreError(
                f"write() wrote no {prefix.name}.index; nothing was published to {str(prefix)!r}.",
                path=staged,
                expected="a checkpoint written at the prefix write() is given",
                hint="write with BundleWriter(prefix) or write_bundle(prefix, ...)",
            )
        if meta is not None:
            with open(f"{staged}.meta", "xb") as file:
                file.write(meta)
                os.fsync(file.fileno())
        saving.publish(temporary, prefix, name_in_state=name_in_state)
    finally:
        saving.discard(temporary)
    return prefix


# -- strings ---------------------------------------------------------------------------------
def _encode_strings(array: np.ndarray, key: str) -> tuple[bytes, int]:
    """A string tensor's bytes as TensorFlow stores them (varint lengths, the masked CRC32C of
    the lengths, the string bytes; numpy's ``S`` drops trailing NULs) and their checksum."""
    items = []
    for item in array.reshape(-1).tolist():
        item = item.encode("utf-8") if isinstance(item, str) else item
        if not isinstance(item, bytes | bytearray | memoryview):
            raise _unsupported(key, f"a {type(item).__name__} element in a string tensor")
        items.append(bytes(item))
    raw = _crc_lengths(len(item) for item in items)
    check = struct.pack("<I", masked_crc32c(raw))
    body = b"".join(items)
    data = b"".join(varint(len(item)) for item in items) + check + body
    return data, masked_crc32c(raw + check + body)


def _crc_lengths(lengths) -> bytes:
    """The lengths as ``tensor_bundle.cc`` checksums them: 4 bytes each (8 past 4 GiB)."""
    return b"".join(n.to_bytes(4 if n <= 0xFFFFFFFF else 8, "little") for n in lengths)


def _string_checksum(data, count: int, key: str) -> int:
    """The entry checksum of a string tensor's bytes (``tensor_bundle.cc`` WriteStringTensor:
    the lengths as fixed-width integers, their masked CRC32C, then the string bytes), after
    checking the length table and its checksum as the reader does."""
    data = bytes(data)
    try:
        _, position, raw = string_length_table(data, count)
    except ValueError as exc:
        raise _unsupported(key, f"string bytes that do not read back: the tensor {exc}") from None
    return masked_crc32c(raw + data[position:])


# -- files -----------------------------------------------------------------------------------
def _link(source: Path, target: Path, prefix: Path) -> None:
    """Put ``source`` at ``target`` unless ``target`` appeared meanwhile, then drop ``source``."""
    try:
        os.link(source, target)
    except FileExistsError as exc:
        raise _exists(prefix, target) from exc
    except OSError:  # no hard links here: the check then the rename
        if target.exists():
            raise _exists(prefix, target) from None
        os.replace(source, target)
        return
    source.unlink()


def _fsync_folder(folder: Path) -> None:
    """Make the new names durable (where the platform can open a folder)."""
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _exists(prefix: Path, taken: Path) -> CheckpointExistsError:
    return CheckpointExistsError(
        f"{str(taken)!r} exists already; BundleWriter never writes over a checkpoint.",
        path=prefix,
        expected=_EXPECTED,
        hint="write to a new prefix (publish_checkpoint(..., overwrite=True) replaces one "
        "safely), or remove the old files if they are leftovers",
    )


def _unsupported(key: str, what: str) -> TFExploreError:
    return TFExploreError(
        f"Tensor {key!r} cannot be written to a checkpoint: {what}.",
        expected="numeric, bool, bfloat16/float8 (ml_dtypes), complex or string arrays, "
        "shapes of non-negative sizes, bytes that match dtype and shape",
        hint="convert it with numpy first (np.asarray(value, dtype=...))",
    )
