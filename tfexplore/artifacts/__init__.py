"""Looking: files -> plain Python objects and pandas DataFrames. Nothing here runs an op from a
file or writes to disk.

- ``open``: :func:`open`: the artifact class for a path's kind
- ``detect``: :func:`detect_kind`: what a path is, from names and magic bytes only
- ``base``: the :class:`Artifact` base, :class:`Explanation`, byte and element sizes
- ``checkpoint/``: TF1 and TF2 checkpoints: a prefix, a folder, the state file, the ``.index``
  bundle, what key names mean
- ``metagraph``: :class:`MetaGraph`: a MetaGraphDef (``.meta``): graph, collections, saver,
  signatures
- ``savedmodel``: :class:`SavedModel`: a SavedModel folder: tags, meta graphs, signatures,
  variables, assets
- ``objectgraph``: a SavedModel's object graph, signature functions and TF1 variable facts as rows
- ``frozen``: a frozen GraphDef (``.pb``/``.pbtxt``), its ``Const`` tensors as weights
- ``protofile``: a protobuf file read whole, binary or text format
- ``explain``: the prose of ``explain()`` for meta graphs and SavedModels
- ``keras/``: ``.keras``, ``.h5`` and ``.weights.h5`` files read without running Keras code
- ``kerasrun``: a folder of Keras ``ModelCheckpoint`` files, one per epoch
- ``scan``: :func:`scan_path` (``tfexplore.scan``): every graph-bearing file of a folder checked
  against the op allowlist
"""

from __future__ import annotations

from .base import Artifact, Explanation
from .open import KINDS, detect_kind, open

__all__ = ["KINDS", "Artifact", "Explanation", "detect_kind", "open"]
