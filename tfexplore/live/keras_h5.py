"""A legacy full-model ``.h5`` file in a session: loaded with ``compile=False``, compiled from
its ``training_config``, and the file's ``optimizer_weights`` copied into the built optimizer
(by name, else by order and shape). Which file tensor fills which optimizer variable is decided
in ``artifacts.keras.optimizer_state`` (no TensorFlow there); here the optimizer is built and
the values assigned."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .._tf import _first_line
from ..artifacts.keras.optimizer_state import file_owners, match_by_name, match_by_position
from ..errors import TFExploreError


def _h5_compile_args(path: Path, training_config: Mapping, warnings_: list[str]) -> dict:
    """``model.compile`` arguments from a legacy ``training_config`` (optimizer, loss,
    metrics, loss weights). Unknown metrics are dropped with a warning; an optimizer or loss
    that cannot be rebuilt is an error."""
    config = _optimizer_config_of(training_config)
    if not config:
        raise TFExploreError(
            f"The training_config of {str(path)!r} names no optimizer, so training cannot "
            "resume from it.",
            path=path,
            expected="a training_config with an optimizer_config",
            hint="tfexplore.session(model) with your own compiled model; "
            "tfexplore.open(path) still shows the weights",
        )
    args = {
        "optimizer": _h5_optimizer(path, config, warnings_),
        "loss": _h5_loss(path, training_config.get("loss")),
    }
    for key in ("metrics", "weighted_metrics"):
        value = training_config.get(key)
        if value:
            args[key] = _h5_metrics(value, warnings_)
    if training_config.get("loss_weights") is not None:
        args["loss_weights"] = training_config["loss_weights"]
    return args


def _optimizer_config_of(training_config: Mapping) -> dict:
    config = training_config.get("optimizer_config") or training_config.get("optimizer")
    if isinstance(config, str):
        return {"class_name": config, "config": {}}
    if isinstance(config, Mapping) and config.get("class_name"):
        return {"class_name": str(config["class_name"]), "config": dict(config.get("config") or {})}
    return {}


def _h5_optimizer(path: Path, config: Mapping, warnings_: list[str]):
    """The optimizer of ``config``, its old argument names mapped to Keras 3's (``lr`` ->
    ``learning_rate``; settings Keras 3 no longer has are dropped, said in a warning when
    they mattered)."""
    import inspect

    import keras

    class_name = config["class_name"].split(">")[-1].split(".")[-1]
    hint = (
        "tfexplore.session(model) with your own compiled model; tfexplore.open(path) shows the file"
    )
    try:
        cls = type(keras.optimizers.get(class_name))
    except (ValueError, TypeError, KeyError) as exc:
        raise TFExploreError(
            f"The optimizer of {str(path)!r} ({config['class_name']!r}) is not one this Keras "
            f"knows: {_first_line(exc)}",
            path=path,
            expected="a built-in Keras optimizer in the training_config",
            hint=hint,
        ) from exc
    accepted = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is not None:
            accepted |= {
                name
                for name, p in inspect.signature(init).parameters.items()
                if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and name != "self"
            }
    kwargs, dropped = {}, {}
    for key, value in config["config"].items():
        key = _H5_OPTIMIZER_RENAMES.get(key, key)
        if key in accepted:
            kwargs[key] = value
        elif key not in _H5_OPTIMIZER_IGNORED and not (key == "decay" and not value):
            dropped[key] = value
    schedule = kwargs.get("learning_rate")
    try:
        if isinstance(schedule, Mapping):
            kwargs["learning_rate"] = keras.optimizers.schedules.deserialize(dict(schedule))
        optimizer = cls(**kwargs)
    except (ValueError, TypeError, KeyError) as exc:
        raise TFExploreError(
            f"tfexplore could not rebuild the optimizer of {str(path)!r} ({class_name} with "
            f"{kwargs}): {type(exc).__name__}: {_first_line(exc)}",
            path=path,
            expected="an optimizer_config Keras 3 can express",
            hint=hint,
        ) from exc
    if dropped:
        warnings_.append(f"Optimizer settings Keras 3 does not have were dropped: {dropped}.")
    return optimizer


def _h5_loss(path: Path, value):
    """A loss (or a list/dict of them, one per output) as Keras 3 objects: names through
    ``keras.losses.get``, configs through ``keras.losses.deserialize``."""
    import keras

    if value is None:
        return None
    if isinstance(value, list):
        return [_h5_loss(path, v) for v in value]
    if isinstance(value, Mapping) and "class_name" not in value:
        return {k: _h5_loss(path, v) for k, v in value.items()}
    attempts = [value]
    if isinstance(value, Mapping):
        inner = dict(value.get("config") or {})
        if inner.get("reduction") in ("auto", "sum_over_batch_size", None):
            inner.pop("reduction", None)  # tf.keras 2's "auto" is not a Keras 3 reduction
        inner.pop("fn", None)
        attempts += [{"class_name": value["class_name"], "config": inner}, value["class_name"]]
    errors = []
    for attempt in attempts:
        try:
            loss = (
                keras.losses.deserialize(attempt)
                if isinstance(attempt, Mapping)
                else keras.losses.get(attempt)
            )
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            errors.append(exc)
            continue
        if loss is not None:
            return loss
    reason = f": {type(errors[-1]).__name__}: {_first_line(errors[-1])}" if errors else "."
    raise TFExploreError(
        f"tfexplore could not rebuild the loss of {str(path)!r} ({value!r}){reason}",
        path=path,
        expected="a built-in Keras loss in the training_config",
        hint="custom losses need their code: tfexplore.session(model) with your own compiled "
        "model, or session.train(steps, feed=..., loss=callable)",
    )


def _h5_metrics(value, warnings_: list[str]):
    """Metrics as compile takes them; those Keras 3 cannot rebuild are left out, with a
    warning (they do not change training)."""
    if isinstance(value, Mapping) and "class_name" not in value:
        return {k: _h5_metrics(v, warnings_) for k, v in value.items()}
    if isinstance(value, list):
        kept = []
        for item in value:
            if isinstance(item, (list, Mapping)) and not (
                isinstance(item, Mapping) and "class_name" in item
            ):
                kept.append(_h5_metrics(item, warnings_))
                continue
            metric = _h5_metric(item)
            if metric is None:
                warnings_.append(f"Metric {item!r} could not be rebuilt and was left out.")
            else:
                kept.append(metric)
        return kept
    metric = _h5_metric(value)
    if metric is None:
        warnings_.append(f"Metric {value!r} could not be rebuilt and was left out.")
        return []
    return [metric]


def _h5_metric(item):
    import keras

    if isinstance(item, str):
        if item in ("accuracy", "acc", "crossentropy", "ce"):
            return item  # compile picks the variant that fits the loss
        try:
            keras.metrics.get(item)
        except (ValueError, TypeError, KeyError, AttributeError):
            return None
        return item
    if isinstance(item, Mapping):
        try:
            return keras.metrics.deserialize(dict(item))
        except (ValueError, TypeError, KeyError, AttributeError):
            return None
    return None


def _copy_h5_optimizer_state(
    path: Path, keras_file, model, notes: list[str], warnings_: list[str]
) -> None:
    """Copy the file's ``optimizer_weights`` into ``model.optimizer``'s variables, all of
    them or none."""
    optimizer = model.optimizer
    frame = keras_file.weights
    state = frame[frame["role"] == "optimizer"].reset_index(drop=True)
    if state.empty:
        notes.append(f"{path.name} holds no optimizer state: the optimizer starts at step 0.")
        return
    targets = _h5_optimizer_targets(optimizer, model)
    if targets is None:
        warnings_.append(
            f"The optimizer state in {path.name} was not loaded: tfexplore does not know the "
            f"variables of {type(optimizer).__name__}; the optimizer starts fresh (step 0)."
        )
        return
    owners = _h5_file_owners(frame, model)
    plan = match_by_name(state, targets, owners, type(optimizer).__name__.lower())
    how = "by name"
    if plan is None:
        keras3 = str(keras_file.keras_version or "").startswith("3")
        plan, layout = match_by_position(state, targets, owners, keras3)
        how = f"by order and shape, {layout}"
    if plan is None:
        warnings_.append(
            f"The optimizer state in {path.name} ({len(state)} tensors) could not be matched to "
            f"the {len(optimizer.variables)} variables of this {type(optimizer).__name__} (by "
            "name, order or shape): the optimizer starts fresh (step 0, zero moments). The "
            "model's weights are the file's."
        )
        return
    values = {name: keras_file.read(name) for _, name in plan.values()}
    for variable, name in plan.values():
        value = np.asarray(values[name])
        dtype = getattr(variable.dtype, "name", str(variable.dtype))
        if np.issubdtype(np.dtype(dtype), np.integer) and not np.issubdtype(
            value.dtype, np.integer
        ):
            value = np.rint(value)
        variable.assign(value.astype(dtype))
    notes.append(
        f"Optimizer state loaded from {path.name} ({len(plan)} tensors, matched {how}): "
        f"training resumes at step {int(optimizer.iterations.numpy())}."
    )


def _h5_optimizer_targets(optimizer, model) -> dict | None:
    """The optimizer's variables by meaning: ``{"iterations": v, "learning_rate": v,
    (slot, i): v}`` with ``i`` the index of the variable in ``model.trainable_variables``;
    ``"slots"``: the slot names in the order the optimizer creates them."""
    trainable = model.trainable_variables
    prefixes = [v.path.replace("/", "_") + "_" for v in trainable]
    targets: dict = {"slots": []}
    learning_rate = getattr(optimizer, "_learning_rate", None)
    for variable in optimizer.variables:
        if variable is optimizer.iterations:
            targets["iterations"] = variable
            continue
        if variable is learning_rate:
            targets["learning_rate"] = variable
            continue
        name = variable.name
        candidates = [i for i, p in enumerate(prefixes) if name.startswith(p)]
        if not candidates:
            return None  # state this code does not know (EMA, gradient accumulators...)
        index = max(candidates, key=lambda i: len(prefixes[i]))
        slot = name[len(prefixes[index]) :]
        if tuple(variable.shape) != tuple(trainable[index].shape):
            return None
        targets[(slot, index)] = variable
        if slot not in targets["slots"]:
            targets["slots"].append(slot)
    if "iterations" not in targets:
        return None
    return targets


def _h5_file_owners(frame, model) -> dict[str, int]:
    """The file's model weight names -> index in ``model.trainable_variables`` (see
    :func:`~tfexplore.artifacts.keras.optimizer_state.file_owners`)."""
    trainable = {id(v): i for i, v in enumerate(model.trainable_variables)}
    layers = [
        [trainable.get(id(v)) for v in layer.trainable_weights + layer.non_trainable_weights]
        for layer in model.layers
        if layer.trainable_weights + layer.non_trainable_weights
    ]
    return file_owners(frame, layers)


#: Hyper-parameters of old optimizer configs that Keras 3 names otherwise.
_H5_OPTIMIZER_RENAMES = {"lr": "learning_rate"}


#: Old optimizer settings Keras 3 has no use for; dropped without a note.
_H5_OPTIMIZER_IGNORED = {"jit_compile", "is_legacy_optimizer"}


def _build_optimizer(optimizer, model) -> None:
    """Create a Keras optimizer's slots now, so that a restore fills them."""
    if optimizer is None or model is None or getattr(optimizer, "built", True):
        return
    if hasattr(optimizer, "build"):
        optimizer.build(model.trainable_variables)
