"""Whether a checkpoint's files are there and sound before TensorFlow opens them: the ``.index``
and every data shard a regular file, every entry's bytes inside its shard
(:func:`check_checkpoint_files`); what a legacy V1 file looks like; the error for a prefix
with no checkpoint.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..._files import (
    check_regular,
    prefix_file,
)
from ..._fs import as_path
from ...errors import (
    ArtifactNotFoundError,
    TFExploreError,
)
from .bundle import DT_VARIANT, read_bundle_index
from .shard import check_entry_bytes, read_string_entry

__all__ = ["check_checkpoint_files"]

_SSTABLE_MAGIC = bytes.fromhex("57fb808b247547db")


# -- helpers: checkpoints -----------------------------------------------------------------------
def check_checkpoint_files(prefix: str | os.PathLike, *, contents: bool = False) -> None:
    """Check what TensorFlow's reader will open for checkpoint ``prefix`` before it opens it:
    regular files only (no FIFO, device or symlink loop), and with ``contents=True`` (before a
    session hands the checkpoint to TensorFlow, which reads every tensor) every V2 entry's
    bytes within its shard and every string tensor's declared lengths within its bytes
    (:func:`read_string_entry`). Raises a tfexplore error naming the file."""
    prefix = as_path(prefix)
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
