"""The import path ``tfexplore.artifacts.checkpoint.checkpoint`` of before the split, kept for
the modules outside ``artifacts/`` that still use it (``ui.panels``, ``live.restore``,
``live.open_savedmodel``). New code imports from the package (``Checkpoint``,
``CheckpointDir``) or from ``files`` (``check_checkpoint_files``).
"""

from __future__ import annotations

from .files import check_checkpoint_files
from .folder import CheckpointDir
from .prefix import Checkpoint

__all__ = ["Checkpoint", "CheckpointDir", "check_checkpoint_files"]
