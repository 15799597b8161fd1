"""TensorFlow checkpoints, read in pure Python where it matters.

- ``checkpoint``: :class:`Checkpoint` (one prefix: TF1 name-based or TF2 object-based, V2 or
  legacy V1) and :class:`CheckpointDir` (a folder, its state file and all its checkpoints)
- ``bundle``: the ``.index`` SSTable of ``BundleEntryProto`` entries, checked before TensorFlow
  reads a shard
- ``naming``: what a key means: optimizer slots, TF2 object paths, partitions
"""

from __future__ import annotations

from .folder import CheckpointDir
from .prefix import Checkpoint

__all__ = ["Checkpoint", "CheckpointDir"]
