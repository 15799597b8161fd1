"""One tensor of a Keras file (:class:`Weight`): what the readers list and ``KerasFile.weights``
shows, one row each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Weight"]


@dataclass
class Weight:
    """One tensor of the file and where it lives in the HDF5 tree."""

    name: str
    layer: str | None
    h5_path: str
    shape: tuple[int, ...]
    dtype: str
    trainable: bool | None
    role: str  # "weight" or "optimizer"
    slot: str | None = None
    slot_of: str | None = None

    def row(self) -> dict[str, Any]:
        size = int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1
        itemsize = np.dtype(self.dtype).itemsize if self.dtype != "string" else 0
        return {
            "name": self.name,
            "layer": self.layer,
            "shape": self.shape,
            "dtype": self.dtype,
            "size": size,
            "nbytes": size * itemsize,
            "trainable": self.trainable,
            "role": self.role,
            "slot": self.slot,
            "slot_of": self.slot_of,
            "h5_path": self.h5_path,
        }
