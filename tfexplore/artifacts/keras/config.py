"""A Keras model config (JSON, as ``config.json`` or the ``model_config`` attribute) walked: its
layers, classes, names and shapes, the optimizer of a ``training_config``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .weight import Weight


def _walk_dicts(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for child in value.values():
            yield from _walk_dicts(child)
    elif isinstance(value, list):
        for child in value:
            yield from _walk_dicts(child)


def _find_classes(config: Any, classes: set[str] | None) -> list[tuple[str | None, dict]]:
    """``(layer name, node)`` of every serialized object in ``config`` with a ``class_name``
    in ``classes`` (all layer-like objects when ``classes`` is None)."""
    found = []
    for node in _walk_dicts(config):
        class_name = node.get("class_name")
        if not isinstance(class_name, str) or not isinstance(node.get("config"), (dict, list)):
            continue
        if classes is None or class_name in classes:
            found.append((_layer_name(node), node))
    return found


def _config_layers(config: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The top-level layers of a Sequential or functional model config."""
    if not config:
        return []
    inner = config.get("config")
    if isinstance(inner, list):  # Keras 1 / early Keras 2 Sequential
        return [layer for layer in inner if isinstance(layer, dict)]
    if isinstance(inner, dict) and isinstance(inner.get("layers"), list):
        return [layer for layer in inner["layers"] if isinstance(layer, dict)]
    return []


def _layer_name(layer: dict[str, Any]) -> str | None:
    inner = layer.get("config")
    name = layer.get("name") or (inner.get("name") if isinstance(inner, dict) else None)
    return str(name) if name is not None else None


def _model_name(config: dict[str, Any]) -> str | None:
    inner = config.get("config")
    return inner.get("name") if isinstance(inner, dict) else None


def _layer_row(name: str | None, layer: dict[str, Any] | None, weights: list[Weight]) -> dict:
    inner = (layer or {}).get("config")
    inner = inner if isinstance(inner, dict) else {}
    own = [w for w in weights if w.layer == name]
    input_shape = (
        inner.get("batch_input_shape")
        or inner.get("batch_shape")
        or ((layer or {}).get("build_config") or {}).get("input_shape")
    )
    return {
        "name": name,
        "class_name": (layer or {}).get("class_name"),
        "n_weights": len(own),
        "params": int(sum(w.row()["size"] for w in own)),
        "trainable": inner.get("trainable"),
        "input_shape": _shape_tuple(input_shape),
    }


def _shape_tuple(shape: Any) -> tuple | None:
    if not isinstance(shape, list):
        return None
    if shape and all(isinstance(s, list) for s in shape):  # several inputs
        return tuple(_shape_tuple(s) for s in shape)
    return tuple(shape)


def _optimizer_config(training_config: dict[str, Any] | None) -> dict[str, Any]:
    """``{"class_name": ..., "config": {...}}`` of the optimizer, or ``{}``."""
    if not training_config:
        return {}
    optimizer = training_config.get("optimizer_config") or training_config.get("optimizer")
    if isinstance(optimizer, str):
        return {"class_name": optimizer, "config": {}}
    if isinstance(optimizer, dict):
        return {"class_name": optimizer.get("class_name"), "config": optimizer.get("config", {})}
    return {}
