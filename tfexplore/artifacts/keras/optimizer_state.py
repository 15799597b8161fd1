"""A Keras file's optimizer state: which slot of which weight each stored tensor is, and which
variable of a built optimizer each one fills. Pure logic on names, shapes and order: no
TensorFlow, no Keras (``live.keras_h5`` builds the optimizer and assigns the values).

Reading (:func:`guess_optimizer_slots`, for ``KerasFile.weights``): from the tensors' names
when they say it, else from their position checked against the trainable weights' shapes,
else by shape alone.

Matching (:func:`match_by_name`, :func:`match_by_position`): the file's optimizer tensors
paired with a built optimizer's variables, given as ``targets``: ``{"iterations": v,
"learning_rate": v, (slot, i): v, "slots": [slot names in creation order]}`` with ``i`` the
index of the owning variable in ``model.trainable_variables``. A variable is anything with a
``shape``; a plan is ``{id(variable): (variable, file tensor name)}``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from .weight import Weight

__all__ = [
    "guess_optimizer_slots",
    "file_owners",
    "match_by_name",
    "match_by_position",
    "SLOT_ALIASES",
]


# -- reading: which slot of which weight each tensor is --------------------------------------------
#: Per-variable slots of each optimizer, in the order Keras 3 creates them (interleaved:
#: ``kernel_momentum, kernel_velocity, bias_momentum, ...``).
_KERAS3_SLOTS = {
    "adam": ["momentum", "velocity"], "adamw": ["momentum", "velocity"],
    "adamax": ["m", "u"], "nadam": ["momentum", "velocity"], "lamb": ["momentum", "velocity"],
    "sgd": ["momentum"], "lion": ["momentum"], "adagrad": ["accumulator"],
    "rmsprop": ["velocity", "momentum", "average_gradient"],
    "adadelta": ["accumulated_grad", "accumulated_delta_var"], "ftrl": ["accumulator", "linear"],
}  # fmt: skip
#: Keras 1/2.0-2.2 optimizers kept one list per slot (blocked: ``[iterations] + ms + vs``).
_KERAS2_SLOTS = {
    "adam": ["m", "v"], "adamax": ["m", "u"], "nadam": ["m", "v"], "sgd": ["momentum"],
    "rmsprop": ["accumulator"], "adagrad": ["accumulator"],
    "adadelta": ["accumulator", "delta_accumulator"],
}  # fmt: skip
_NAMED_SLOT = re.compile(
    r"^(?P<var>.*?)[/_](?P<slot>momentum|velocity_hat|velocity|vhat|accumulator|m|v|u|"
    r"average_gradient|accumulated_grad|accumulated_delta_var|linear|rms|mom|mg)(:\d+)?$"
)
_SCALAR_STATE = re.compile(
    r"(^|/)(?P<what>iterations?|iter|learning_rate|lr|decay|beta_\d_power)(_\d+)?(:\d+)?$"
)
_SCALAR_NAMES = {"iteration": "iterations", "iter": "iterations", "lr": "learning_rate"}
_HEADER_NAMES = ["iteration", "learning_rate", "state"]


def guess_optimizer_slots(weights: list[Weight], optimizer: str | None, file_format: str) -> None:
    """Fill ``slot``/``slot_of`` of the optimizer's tensors in place.

    From their names when they say it (``adam/dense_kernel_momentum``, ``Adam/dense/kernel/m``);
    else from their position (Keras 3 ``.keras`` files and Keras 2.0 files store them
    unnamed), checked against the shapes of the trainable weights; else by shape alone.
    Positional Keras 3 names (``adam/vars/2``) are then renamed the way Keras names them
    (``adam/dense_kernel_momentum``).
    """
    state = [w for w in weights if w.role == "optimizer"]
    if not state:
        return
    trainable = [w for w in weights if w.role == "weight" and w.trainable is not False]
    if _slots_from_names(state, trainable):
        return
    keras3 = file_format in ("keras_v3", "weights_h5_v3")
    if len(state) <= len(_HEADER_NAMES) and not any(w.shape for w in state):
        for weight, name in zip(state, _HEADER_NAMES):  # plain SGD: no per-variable slots
            weight.slot = _SCALAR_NAMES.get(name, name)
        if keras3:
            _rename_keras3_state(state)
        return
    key = (optimizer or "").lower()
    candidates = [(_KERAS3_SLOTS.get(key) or [], True), (_KERAS2_SLOTS.get(key) or [], False)]
    candidates += [
        ([f"slot_{i}" for i in range(n)], layout) for n in (2, 1, 3) for layout in (True, False)
    ]
    if not keras3:
        candidates[:2] = candidates[1::-1]
    for slots, interleaved in candidates:
        for count in range(len(slots), 0, -1):
            if _slots_by_position(state, trainable, slots[:count], interleaved):
                if keras3:
                    _rename_keras3_state(state)
                return
    for slots, _ in candidates[:2]:
        if slots and _slots_by_shape(state, trainable, slots):
            return


def _slots_from_names(state: list[Weight], trainable: list[Weight]) -> bool:
    owners = {}
    for weight in trainable:
        bare = weight.name.split(":")[0]
        owners[bare] = owners[bare.replace("/", "_")] = weight.name
    named = 0
    for weight in state:
        scalar = _SCALAR_STATE.search(weight.name)
        if scalar and not weight.shape:
            weight.slot = _SCALAR_NAMES.get(scalar["what"], scalar["what"])
            named += 1
            continue
        match = _NAMED_SLOT.match(weight.name.split(":")[0])
        if match:
            weight.slot, weight.slot_of = match["slot"], _owner_of(match["var"], owners)
            named += 1
    return named == len(state) and any(w.slot_of for w in state)


def _owner_of(variable: str, owners: dict[str, str]) -> str | None:
    """The trainable weight ``variable`` ends with (``adam/hidden_kernel`` -> ``hidden/kernel``)."""
    matches = [
        key for key in owners if variable == key or variable.endswith(("/" + key, "_" + key))
    ]
    return owners[max(matches, key=len)] if matches else None


def _slots_by_position(
    state: list[Weight], trainable: list[Weight], slots: list[str], interleaved: bool
) -> bool:
    header = len(state) - len(slots) * len(trainable)
    if not trainable or not 0 <= header <= 3 or any(w.shape for w in state[:header]):
        return False
    assignment = []
    for index, weight in enumerate(state[header:]):
        if interleaved:
            variable, slot = divmod(index, len(slots))
        else:
            slot, variable = divmod(index, len(trainable))
        if weight.shape != trainable[variable].shape:
            return False
        assignment.append((weight, slots[slot], trainable[variable].name))
    for weight, name in zip(state[:header], _HEADER_NAMES):
        weight.slot = weight.slot or _SCALAR_NAMES.get(name, name)
    for weight, slot, owner in assignment:
        weight.slot, weight.slot_of = slot, owner
    return True


def _slots_by_shape(state: list[Weight], trainable: list[Weight], slots: list[str]) -> bool:
    """Blocked layout in an order other than the weights' (Keras 2.0 functional models): each
    block holds one slot for every trainable weight. The owner is named only when its shape is
    unique."""
    from collections import Counter

    header = len(state) - len(slots) * len(trainable)
    if not trainable or not 0 <= header <= 3 or any(w.shape for w in state[:header]):
        return False
    wanted = Counter(w.shape for w in trainable)
    blocks = [
        state[header + i * len(trainable) : header + (i + 1) * len(trainable)]
        for i in range(len(slots))
    ]
    if any(Counter(w.shape for w in block) != wanted for block in blocks):
        return False
    unique = {w.shape: w.name for w in trainable if wanted[w.shape] == 1}
    for weight, name in zip(state[:header], _HEADER_NAMES):
        weight.slot = weight.slot or _SCALAR_NAMES.get(name, name)
    for slot, block in zip(slots, blocks):
        for weight in block:
            weight.slot, weight.slot_of = slot, unique.get(weight.shape)
    return True


def _rename_keras3_state(state: list[Weight]) -> None:
    """``adam/vars/2`` -> ``adam/hidden_kernel_momentum``, as Keras 3 names the variable."""
    for weight in state:
        optimizer = weight.name.split("/")[0]
        if weight.slot_of:
            weight.name = f"{optimizer}/{weight.slot_of.replace('/', '_')}_{weight.slot}"
        elif weight.slot:
            weight.name = (
                f"{optimizer}/{'iteration' if weight.slot == 'iterations' else weight.slot}"
            )


# -- matching: which variable of a built optimizer each tensor fills -------------------------------
#: Keras 1/2 and tf.keras 2.x slot names -> Keras 3's, per optimizer (lower-case class name).
SLOT_ALIASES = {
    "adam": {"m": "momentum", "v": "velocity", "vhat": "velocity_hat"},
    "adamw": {"m": "momentum", "v": "velocity", "vhat": "velocity_hat"},
    "nadam": {"m": "momentum", "v": "velocity"},
    "lamb": {"m": "momentum", "v": "velocity"},
    "adamax": {"v": "u"},
    "rmsprop": {"rms": "velocity", "mg": "average_gradient", "mom": "momentum"},
    "adadelta": {"accum_grad": "accumulated_grad", "accum_var": "accumulated_delta_var"},
}


def scalar_kind(name: str) -> str | None:
    """``"iterations"`` or ``"learning_rate"`` for a tensor named as one (``adam/iter``,
    ``Adam/lr:0``), else ``None`` (``decay`` and ``beta_1_power`` fill no Keras 3 variable)."""
    match = _SCALAR_STATE.search(name)
    if not match or match["what"] in ("decay",) or match["what"].startswith("beta_"):
        return None
    return "learning_rate" if match["what"] in ("learning_rate", "lr") else "iterations"


def file_owners(frame: pd.DataFrame, layers: list[list[int | None]]) -> dict[str, int]:
    """The file's model weight names -> index in ``model.trainable_variables``, pairing the
    file's layers with the model's the way Keras loads them: ``layers`` are the model's layers
    that have weights, in order, each as the trainable index of its weights (trainable then
    non-trainable; ``None`` for a weight that is not trainable)."""
    weights = frame[frame["role"] == "weight"]
    file_layers = list(dict.fromkeys(weights["layer"]))
    owners: dict[str, int] = {}
    if len(file_layers) != len(layers):
        return owners
    for indexes, file_layer in zip(layers, file_layers):
        names = list(weights[weights["layer"] == file_layer]["name"])
        if len(names) != len(indexes):
            return {}
        for name, index in zip(names, indexes):
            if index is not None:
                owners[name] = -1 if name in owners else index
    return {name: index for name, index in owners.items() if index >= 0}


def match_by_name(state: pd.DataFrame, targets: dict, owners: dict[str, int], optimizer: str):
    """A plan from the names the file gives (``slot``/``slot_of`` as KerasFile reads them),
    or ``None`` unless every slot and the step counter are found. ``optimizer``: the
    optimizer's class name, lower case."""
    aliases = SLOT_ALIASES.get(optimizer, {})
    plan: dict = {}
    for row in state.itertuples():
        if not row.shape:
            kind = scalar_kind(row.name)
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
    return plan if _complete(plan, targets) else None


def _complete(plan: dict, targets: dict) -> bool:
    needed = [v for k, v in targets.items() if isinstance(k, tuple)] + [targets["iterations"]]
    return all(id(v) in plan for v in needed)


def match_by_position(state: pd.DataFrame, targets: dict, owners: dict[str, int], keras3: bool):
    """Unnamed or renamed state: scalars first (the step counter, maybe the learning rate),
    then one tensor per (slot, trainable variable), interleaved (Keras 3, tf.keras 2.11+) or
    one block per slot (Keras 1/2, tf.keras 2.x) in the model's order or sorted by the
    weights' names (Keras 2.0 sorted them); ``keras3``: the file was written by Keras 3 (the
    interleaved layout is tried first). The first layout whose every shape fits wins:
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
        kind = scalar_kind(row.name) or ("iterations" if position == 0 else None)
        if kind in targets and id(targets[kind]) not in scalars:
            scalars[id(targets[kind])] = (targets[kind], row.name)
    if id(targets["iterations"]) not in scalars:
        return None, None
    by_name = sorted(owners, key=lambda name: name)
    sorted_order = [owners[name] for name in by_name] if len(by_name) == count else None
    model_order = list(range(count))
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
