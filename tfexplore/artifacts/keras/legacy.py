"""The weights of a Keras 1/2 (or Keras 3 legacy) HDF5 file: ``model_weights/<layer>/<weight>``
(or the root for weights-only files) and ``optimizer_weights``, in the order of their
``weight_names`` attributes.
"""

from __future__ import annotations

import re
from typing import Any

from .config import _find_classes
from .container import _attribute, _dtype_name, _natural_sorted
from .weight import Weight


class _LegacyReader:
    """Lists the tensors of a Keras 1/2 (or Keras 3 legacy) HDF5 file."""

    def __init__(self, h5, config: dict[str, Any] | None) -> None:
        import h5py

        self._h5py = h5py
        self.h5 = h5
        self.layer_configs = {
            name: node for name, node in _find_classes(config, None) if name is not None
        }

    def weights(self) -> list[Weight]:
        root = self.h5["model_weights"] if "model_weights" in self.h5 else self.h5
        layer_names = _attribute(root.attrs, "layer_names")
        if not isinstance(layer_names, list):
            layer_names = [
                k for k in _natural_sorted(root) if isinstance(root[k], self._h5py.Group)
            ]
        extra = [k for k in ("top_level_model_weights",) if k in root and k not in layer_names]
        weights: list[Weight] = []
        for layer in [*layer_names, *extra]:
            if layer in root and isinstance(root[layer], self._h5py.Group):
                weights += self._layer_weights(root[layer], layer)
        if "optimizer_weights" in self.h5:
            weights += self._optimizer_weights(self.h5["optimizer_weights"])
        return weights

    def _layer_weights(self, group, layer: str) -> list[Weight]:
        inner = self.layer_configs.get(layer, {}).get("config")
        layer_trainable = inner.get("trainable") if isinstance(inner, dict) else None
        weights = []
        for name, dataset in self._named_datasets(group):
            trainable = layer_trainable
            if re.search(r"moving_(mean|variance)|running_(mean|std)", name):
                trainable = False
            weights.append(_weight_from(dataset, name, layer, "weight", trainable))
        return weights

    def _optimizer_weights(self, group) -> list[Weight]:
        return [
            _weight_from(dataset, name, None, "optimizer", False)
            for name, dataset in self._named_datasets(group)
        ]

    def _named_datasets(self, group) -> list[tuple[str, Any]]:
        """``(weight name, dataset)`` in the order of the ``weight_names`` attribute, or of the
        tree when the attribute is missing."""
        names = _attribute(group.attrs, "weight_names")
        if isinstance(names, list):
            return [(n, group[n]) for n in names if n in group]
        found: list[tuple[str, Any]] = []
        group.visititems(
            lambda key, item: (
                found.append((key, item)) if isinstance(item, self._h5py.Dataset) else None
            )
        )
        return found


def _weight_from(dataset, name: str, layer, role: str, trainable) -> Weight:
    return Weight(
        name=name,
        layer=layer,
        h5_path=dataset.name,
        shape=tuple(int(d) for d in dataset.shape),
        dtype=_dtype_name(dataset.dtype),
        trainable=trainable,
        role=role,
    )
