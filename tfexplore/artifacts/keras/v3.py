"""The weights of a Keras 3 file (``.keras``'s ``model.weights.h5``, ``.weights.h5``): stored by
position (``layers/<layer>/vars/<i>``) and named the way Keras names them (``dense/kernel``)
for the common layer classes.
"""

from __future__ import annotations

import re
from typing import Any

from .config import _config_layers, _find_classes, _layer_name
from .container import _attribute, _dtype_name, _natural_sorted
from .weight import Weight

_SNAKE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def _snake_case(name: str) -> str:
    return _SNAKE.sub("_", name).lower()


def _variable_layout(class_name: str | None, config: dict[str, Any]) -> list[tuple[str, bool]]:
    """The variables a Keras layer class creates, in creation order: ``(name, trainable)``.
    Empty when the class is not one tfexplore knows."""
    bias = [("bias", True)] if config.get("use_bias", True) else []
    if class_name in {
        "Dense", "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose",
        "Conv3DTranspose", "DepthwiseConv1D", "DepthwiseConv2D", "Convolution2D",
    }:  # fmt: skip
        return [("kernel", True), *bias]
    if class_name in {"SeparableConv1D", "SeparableConv2D"}:
        return [("depthwise_kernel", True), ("pointwise_kernel", True), *bias]
    if class_name in {"LSTMCell", "GRUCell", "SimpleRNNCell"}:
        return [("kernel", True), ("recurrent_kernel", True), *bias]
    if class_name == "Embedding":
        return [("embeddings", True)]
    if class_name == "PReLU":
        return [("alpha", True)]
    if class_name in {"BatchNormalization", "LayerNormalization", "GroupNormalization"}:
        scaled = [("gamma", True)] if config.get("scale", True) else []
        centered = [("beta", True)] if config.get("center", True) else []
        moving = [("moving_mean", False), ("moving_variance", False)]
        return scaled + centered + (moving if class_name == "BatchNormalization" else [])
    if class_name == "Normalization":
        return [("mean", False), ("variance", False), ("count", False)]
    return []


_KNOWN_CLASSES = {
    _snake_case(c): c
    for c in (
        "Dense Conv1D Conv2D Conv3D Conv1DTranspose Conv2DTranspose Conv3DTranspose "
        "DepthwiseConv1D DepthwiseConv2D SeparableConv1D SeparableConv2D LSTMCell GRUCell "
        "SimpleRNNCell Embedding PReLU BatchNormalization LayerNormalization "
        "GroupNormalization Normalization"
    ).split()
}
_KNOWN_CLASSES.update({"conv1d": "Conv1D", "conv2d": "Conv2D", "conv3d": "Conv3D"})


class _V3Reader:
    """Lists the tensors of a Keras 3 weights HDF5 tree (``layers/<x>/vars/<i>``)."""

    def __init__(self, h5, config: dict[str, Any] | None) -> None:
        import h5py

        self._h5py = h5py
        self.h5 = h5
        self.layer_configs = {
            name: node for name, node in _find_classes(config, None) if name is not None
        }
        self.order = [_layer_name(layer) for layer in _config_layers(config)]

    def weights(self) -> list[Weight]:
        found: list[Weight] = []
        for key in _natural_sorted(self.h5):
            item = self.h5[key]
            if key == "vars" and isinstance(item, self._h5py.Group):
                found += self._own_variables(self.h5, [], None, "weight")
            elif isinstance(item, self._h5py.Group):
                role = "optimizer" if key == "optimizer" else "weight"
                found += self._saveables(item, key, [], role, top=None)
        model = [w for w in found if w.role == "weight"]
        model.sort(key=self._layer_rank(model))  # stable: keeps each layer's variable order
        return model + [w for w in found if w.role != "weight"]

    def _layer_rank(self, model: list[Weight]):
        """Layers in model order: the config's, else the order Keras wrote them to the file
        (the byte offset of their first tensor), since group names sort alphabetically."""
        rank = {name: i for i, name in enumerate(self.order)}
        first_offset: dict[str | None, float] = {}
        for weight in model:
            offset = self.h5[weight.h5_path].id.get_offset()
            offset = float("inf") if offset is None else offset
            first_offset[weight.layer] = min(first_offset.get(weight.layer, offset), offset)
        return lambda w: (rank.get(w.layer, len(rank)), first_offset[w.layer])

    def _saveables(self, group, key: str, names: list[str], role: str, top: str | None):
        """A group is a saveable when it has ``vars``; others (``layers``) are containers."""
        found: list[Weight] = []
        if "vars" in group:
            name = _attribute(group["vars"].attrs, "name") or key
            names = [*names, str(name)] if role == "weight" else [str(name)]
            top = top or names[0]
            found += self._own_variables(group, names, top, role, group_key=key)
        for child in _natural_sorted(group):
            item = group[child]
            if child != "vars" and isinstance(item, self._h5py.Group):
                found += self._saveables(item, child, names, role, top)
        return found

    def _own_variables(self, group, names, top, role, group_key: str = "") -> list[Weight]:
        variables = group["vars"]
        keys = sorted(
            (k for k in variables if isinstance(variables[k], self._h5py.Dataset)),
            key=lambda k: (not k.isdigit(), int(k) if k.isdigit() else 0, k),
        )
        if not keys:
            return []
        own_name = names[-1] if names else _attribute(variables.attrs, "name") or "model"
        layer_config = self.layer_configs.get(own_name, {})
        class_name = layer_config.get("class_name") or _guess_class(own_name, group_key)
        inner = layer_config.get("config") if isinstance(layer_config.get("config"), dict) else {}
        layout = _variable_layout(class_name, inner) if role == "weight" else []
        layer_trainable = inner.get("trainable") if inner else None
        if len(layout) != len(keys):
            layout = [(f"vars/{k}", layer_trainable) for k in keys]
        prefix = "/".join(names) if names else own_name
        weights = []
        for key, (var_name, trainable) in zip(keys, layout):
            dataset = variables[key]
            if layer_trainable is False:
                trainable = False
            weights.append(
                Weight(
                    name=f"{prefix}/{var_name}",
                    layer=top if role == "weight" else None,
                    h5_path=dataset.name,
                    shape=tuple(int(d) for d in dataset.shape),
                    dtype=_dtype_name(dataset.dtype),
                    trainable=trainable if role == "weight" else False,
                    role=role,
                )
            )
        return weights


def _guess_class(display_name: str, group_key: str) -> str | None:
    for candidate in (display_name, group_key):
        base = re.sub(r"_\d+$", "", candidate or "")
        if base in _KNOWN_CLASSES:
            return _KNOWN_CLASSES[base]
    return None
