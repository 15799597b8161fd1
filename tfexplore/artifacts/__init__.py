"""Looking: files -> plain Python objects and pandas DataFrames. Nothing here runs an op from a
file or writes to disk.

- ``open``: :func:`open` and :func:`detect_kind` (names and magic bytes, then a class below)
- ``base``: the :class:`Artifact` base, :class:`Explanation`, ``human_bytes``
- ``checkpoint/``: TF1 and TF2 checkpoints: prefixes, folders, the state file, the ``.index``
  bundle, what key names mean
- ``metagraph``, ``savedmodel``, ``frozen``: MetaGraphDefs, SavedModel folders, frozen GraphDefs
- ``keras/``: ``.keras``, ``.h5`` and ``.weights.h5`` files read without running Keras code
- ``kerasrun``: a folder of Keras ``ModelCheckpoint`` files, one per epoch
- ``scan``: :func:`scan_path` (``tfexplore.scan``): every graph-bearing file of a folder checked
  against the op allowlist
"""

from __future__ import annotations

from .base import Artifact, Explanation
from .open import KINDS, detect_kind, open

__all__ = ["KINDS", "Artifact", "Explanation", "detect_kind", "open"]
