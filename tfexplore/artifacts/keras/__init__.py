"""Keras files, read with h5py and zipfile only (no Keras code runs).

- ``file``: :class:`KerasFile`: ``.keras`` zips (Keras 3), ``.h5`` full models and
  ``.weights.h5`` files (Keras 2 and 3 layouts); ``diff_keras``
- ``container``: what holds the bytes and which of the ``FORMATS`` it is: zip members opened in
  place, HDF5 with a user block, errors translated, claimed sizes checked
- ``v3``: Keras 3 weights, stored by position, named the way Keras names them
- ``legacy``: Keras 1/2 HDF5 weights and ``optimizer_weights``
- ``config``: a model config walked: layers, classes, names, the optimizer
- ``explain``: the prose of ``KerasFile.explain()``
- ``weight``: :class:`Weight`: one tensor of the file, one row of ``KerasFile.weights``
- ``optimizer_state``: which slot of which weight each optimizer tensor is, and which variable
  of a built optimizer it fills (pure; ``live.keras_h5`` assigns)
- ``probe``: the HDF5 reads rehearsed in a child process before the kernel makes them
- ``probe_child``: the program that child runs
- ``ziplimits``: a ``.keras`` zip's members checked and read within bounds
- ``names``: the class names Keras itself registers (anything else is user code)
"""

from __future__ import annotations

from .file import KerasFile

__all__ = ["KerasFile"]
