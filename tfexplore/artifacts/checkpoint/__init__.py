"""TensorFlow checkpoints, read in pure Python where it matters.

- ``prefix``: :class:`Checkpoint`: one prefix (TF1 name-based or TF2 object-based, V2 or
  legacy V1): variables, reading, stats, diff
- ``folder``: :class:`CheckpointDir`: a folder, its checkpoints present, listed, missing or
  relocated, their history
- ``state``: the ``checkpoint`` state file, read (the one reader, for ``live.saving`` too)
- ``files``: a checkpoint's files checked before TensorFlow opens them; legacy V1 files
- ``columns``: the tables of a checkpoint (variables, diff) built column by column
- ``engine``: where ``stats``, ``diff`` and ``history`` run: here, or on a Dask cluster
- ``explain``: the prose of ``Checkpoint.explain()`` and ``CheckpointDir.explain()``
- ``bundle``: the ``.index`` of ``BundleEntryProto`` entries, each checked
- ``sstable``: the LevelDB table under the ``.index``, and CRC32C
- ``entry_proto``: a fast decoder of the ``BundleEntryProto`` bytes TensorFlow writes
- ``slice_key``: the ``OrderedCode`` keys of a partitioned variable's slices
- ``shard``: a tensor's bytes in a data shard, checked, and read (numbers, strings)
- ``naming``: what a key means: optimizer slots, TF2 object paths, partitions

A checkpoint's file names (the data-shard pattern, a prefix's files) are
``tfexplore._files``'s.
"""

from __future__ import annotations

from .folder import CheckpointDir
from .prefix import Checkpoint

__all__ = ["Checkpoint", "CheckpointDir"]
