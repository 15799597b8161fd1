"""Keras files, read with h5py and zipfile only (no Keras code runs).

- ``file``: :class:`KerasFile`: ``.keras`` zips (Keras 3), ``.h5`` full models and
  ``.weights.h5`` files (Keras 2 and 3 layouts)
- ``probe``: the HDF5 reads rehearsed in a child process before the kernel makes them
- ``ziplimits``: a ``.keras`` zip's members checked and read within bounds
- ``names``: the class names Keras itself registers (anything else is user code)
"""

from __future__ import annotations

from .file import KerasFile

__all__ = ["KerasFile"]
