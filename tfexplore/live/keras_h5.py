"""A legacy full-model ``.h5`` file in a session: loaded with ``compile=False``, compiled from
its ``training_config``, and the file's ``optimizer_weights`` copied into the built optimizer
(by name, else by order and shape)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .._tf import _first_line
from ..errors import (
    TFExploreError,
)


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
    plan = _h5_match_by_name(state, targets, owners, type(optimizer).__name__.lower())
    how = "by name"
    if plan is None:
        plan, layout = _h5_match_by_position(state, targets, owners, keras_file)
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
    """The file's model weight names -> index in ``model.trainable_variables``, pairing the
    file's layers with the model's the way Keras loads them (layers with weights, in order;
    each layer's trainable then non-trainable weights)."""
    trainable = {id(v): i for i, v in enumerate(model.trainable_variables)}
    layers = [
        layer for layer in model.layers if layer.trainable_weights + layer.non_trainable_weights
    ]
    weights = frame[frame["role"] == "weight"]
    file_layers = list(dict.fromkeys(weights["layer"]))
    owners: dict[str, int] = {}
    if len(file_layers) != len(layers):
        return owners
    for layer, file_layer in zip(layers, file_layers):
        names = list(weights[weights["layer"] == file_layer]["name"])
        variables = layer.trainable_weights + layer.non_trainable_weights
        if len(names) != len(variables):
            return {}
        for name, variable in zip(names, variables):
            if id(variable) in trainable:
                owners[name] = -1 if name in owners else trainable[id(variable)]
    return {name: index for name, index in owners.items() if index >= 0}


def _h5_scalar_kind(name: str) -> str | None:
    match = _H5_SCALAR.search(name)
    if not match:
        return None
    what = match["what"]
    return "learning_rate" if what in ("learning_rate", "lr") else "iterations"


def _h5_match_by_name(state, targets: dict, owners: dict[str, int], optimizer: str):
    """``{id(variable): (variable, file name)}`` from the names the file gives (``slot``/``slot_of`` as
    KerasFile reads them), or ``None`` unless every slot and the step counter are found."""
    aliases = _H5_SLOT_ALIASES.get(optimizer, {})
    plan: dict = {}
    for row in state.itertuples():
        if not row.shape:
            kind = _h5_scalar_kind(row.name)
            if kind in targets and id(targets[kind]) not in plan:
                plan[id(targets[kind])] = (targets[kind], row.name)
            continue
        if not isinstance(row.slot, str) or not isinstance(row.slot_of, str):
            continue
        if not re.search(rf"[/_]{re.escape(row.slot)}(:\d+)?$", row.name):
            return None  # a slot KerasFile guessed from its position: not a name match
        slot = row.slot if row.slot in targets["slots"] else aliases.get(row.slot, row.slot)
        variable = targets.get((slot, owners.get(row.slot_of, -1)))
        if variable is None or tuple(variable.shape) != tuple(row.shape) or id(variable) in plan:
            return None
        plan[id(variable)] = (variable, row.name)
    return plan if _h5_complete(plan, targets) else None


def _h5_complete(plan: dict, targets: dict) -> bool:
    needed = [v for k, v in targets.items() if isinstance(k, tuple)] + [targets["iterations"]]
    return all(id(v) in plan for v in needed)


def _h5_match_by_position(state, targets: dict, owners: dict[str, int], keras_file):
    """Unnamed or renamed state: scalars first (the step counter, maybe the learning rate),
    then one tensor per (slot, trainable variable), interleaved (Keras 3, tf.keras 2.11+) or
    one block per slot (Keras 1/2, tf.keras 2.x) in the model's order or sorted by the
    weights' names (Keras 2.0 sorted them). The first layout whose every shape fits wins:
    ``(plan, description)``, or ``(None, None)``."""
    slots = targets["slots"]
    count = max((k[1] for k in targets if isinstance(k, tuple)), default=-1) + 1
    rows = list(state.itertuples())
    header = [r for r in rows if not r.shape]
    body = [r for r in rows if r.shape]
    if len(body) != len(slots) * count or not header:
        return None, None
    scalars: dict = {}
    for position, row in enumerate(header):
        kind = _h5_scalar_kind(row.name) or ("iterations" if position == 0 else None)
        if kind in targets and id(targets[kind]) not in scalars:
            scalars[id(targets[kind])] = (targets[kind], row.name)
    if id(targets["iterations"]) not in scalars:
        return None, None
    by_name = sorted(owners, key=lambda name: name)
    sorted_order = [owners[name] for name in by_name] if len(by_name) == count else None
    model_order = list(range(count))
    keras3 = str(keras_file.keras_version or "").startswith("3")
    layouts = [
        ("interleaved", model_order, "one slot after another per variable"),
        ("blocked", model_order, "one block per slot"),
    ]
    if not keras3:
        layouts.reverse()
    if sorted_order is not None:
        layouts.append(("blocked", sorted_order, "one block per slot, sorted by weight name"))
    for layout, order, description in layouts:
        plan = dict(scalars)
        for position, row in enumerate(body):
            if layout == "interleaved":
                index, slot = divmod(position, len(slots))
            else:
                slot, index = divmod(position, count)
            variable = targets[(slots[slot], order[index])]
            if tuple(variable.shape) != tuple(row.shape):
                break
            plan[id(variable)] = (variable, row.name)
        else:
            return plan, description
    return None, None


# -- legacy full-model .h5: architecture, compile from training_config, optimizer state --------
#: Keras 1/2 and tf.keras 2.x slot names -> Keras 3's, per optimizer (lower-case class name).
_H5_SLOT_ALIASES = {
    "adam": {"m": "momentum", "v": "velocity", "vhat": "velocity_hat"},
    "adamw": {"m": "momentum", "v": "velocity", "vhat": "velocity_hat"},
    "nadam": {"m": "momentum", "v": "velocity"},
    "lamb": {"m": "momentum", "v": "velocity"},
    "adamax": {"v": "u"},
    "rmsprop": {"rms": "velocity", "mg": "average_gradient", "mom": "momentum"},
    "adadelta": {"accum_grad": "accumulated_grad", "accum_var": "accumulated_delta_var"},
}


#: Hyper-parameters of old optimizer configs that Keras 3 names otherwise.
_H5_OPTIMIZER_RENAMES = {"lr": "learning_rate"}


#: Old optimizer settings Keras 3 has no use for; dropped without a note.
_H5_OPTIMIZER_IGNORED = {"jit_compile", "is_legacy_optimizer"}


_H5_SCALAR = re.compile(r"(^|/)(?P<what>iterations?|iter|learning_rate|lr)(_\d+)?(:\d+)?$")


def _build_optimizer(optimizer, model) -> None:
    """Create a Keras optimizer's slots now, so that a restore fills them."""
    if optimizer is None or model is None or getattr(optimizer, "built", True):
        return
    if hasattr(optimizer, "build"):
        optimizer.build(model.trainable_variables)
