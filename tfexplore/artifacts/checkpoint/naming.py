"""What a checkpoint key means: a model variable, an optimizer slot, optimizer state, the step.

Two naming worlds exist.

**Name-based (TF1 ``tf.compat.v1.train.Saver``)**: a key is the variable's graph name.
Optimizers add *slots* next to each variable, named after the optimizer::

    layer1/W            the variable
    layer1/W/Adam       Adam's first moment (m) of layer1/W
    layer1/W/Adam_1     Adam's second moment (v)
    train/beta1_power   Adam's running beta1**t (optimizer state)
    global_step         the training step

**Object-based (TF2 ``tf.train.Checkpoint``)**: a key is the path of attribute names from the
root object to the variable, then ``.ATTRIBUTES/VARIABLE_VALUE``. Slots of TF2 optimizers hang
off the variable (``.OPTIMIZER_SLOT/optimizer/m``). ``_CHECKPOINTABLE_OBJECT_GRAPH`` stores
the object graph, which says every path an object is reachable by: Keras 3 saves a model's
weights once, under ``optimizer/_trainable_variables/N``, and the graph tells that the same
variable is ``model/_functional/_operations/1/_kernel``.

Example::

    >>> info = describe_keys({"W": (3, 2), "W/Adam": (3, 2), "W/Adam_1": (3, 2)})
    >>> info["W/Adam_1"].role, info["W/Adam_1"].slot, info["W/Adam_1"].slot_of
    ('slot', 'Adam v', 'W')
    >>> parse_object_key("model/dense/kernel/.ATTRIBUTES/VARIABLE_VALUE")
    ('model/dense/kernel', 'VARIABLE_VALUE')
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

__all__ = [
    "OBJECT_GRAPH_KEY",
    "KeyInfo",
    "ObjectGraph",
    "describe_keys",
    "parse_object_key",
    "parse_slot_key",
    "partition_of",
    "tf1_slot",
    "unescape_local_name",
]

OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
ATTRIBUTES = "/.ATTRIBUTES/"
OPTIMIZER_SLOT = "/.OPTIMIZER_SLOT/"

#: TF1 optimizers: the name their slots carry, and what each slot is, in creation order
#: (``W/Adam`` is slot 0, ``W/Adam_1`` slot 1).
TF1_SLOTS: dict[str, tuple[str, ...]] = {
    "Adam": ("Adam m", "Adam v"),
    "AdagradDA": ("AdagradDA gradient_accumulator", "AdagradDA gradient_squared_accumulator"),
    "ProximalAdagrad": ("accumulator",),
    "Adagrad": ("accumulator",),
    "Adadelta": ("Adadelta accum", "Adadelta accum_update"),
    "RMSProp": ("RMSProp rms", "RMSProp momentum"),
    "Momentum": ("momentum",),
    "Ftrl": ("Ftrl accum", "Ftrl linear"),
    "ExponentialMovingAverage": ("moving average",),
}
_GOOGLE_ADAM = {"adam_m": "Adam m", "adam_v": "Adam v"}
_CENTERED_RMSPROP = ("RMSProp rms", "RMSProp mg", "RMSProp momentum")
_SLOT_SUFFIX = re.compile(r"^(?P<optimizer>[A-Za-z][A-Za-z0-9_]*?)(?:_(?P<index>\d+))?$")
_PARTITION = re.compile(r"^(?P<base>.+)/part_(?P<index>\d+)$")
_BETA_POWER = re.compile(r"(^|/)beta[12]_power(_\d+)?$")
_STEP_NAMES = ("global_step", "step")
_OPTIMIZER_STATE_NAMES = {
    "iter",
    "iterations",
    "_iterations",
    "lr",
    "learning_rate",
    "_learning_rate",
    "decay",
    "beta_1",
    "beta_2",
    "rho",
    "epsilon",
    "momentum",
    "initial_accumulator_value",
}
#: Keras 3 optimizers keep one list of slot variables per kind, parallel to
#: ``_trainable_variables``; these are the labels of the known kinds.
_KERAS3_SLOT_LABELS = {
    ("_momentums", True): "Adam m",
    ("_velocities", True): "Adam v",
    ("_velocity_hats", True): "Adam vhat",
    ("_momentums", False): "momentum",
    ("_velocities", False): "velocity",
    ("_accumulators", False): "accumulator",
}
MAX_ALIASES = 8


class KeyInfo(NamedTuple):
    """What one checkpoint key is.

    ``role`` is one of ``variable``, ``slot``, ``optimizer_state``, ``step``, ``save_counter``,
    ``object_graph``. For a slot, ``slot`` says which (``"Adam m"``), ``slot_of`` names the
    key of its variable and ``optimizer`` the optimizer. ``object_path`` is the TF2 object path
    (the preferred one), ``aliases`` every other path to the same variable, ``full_name`` the
    variable's own name as recorded in the object graph. (A named tuple: a checkpoint has
    thousands of keys, and a tuple is made ten times faster than a frozen dataclass.)
    """

    name: str
    role: str = "variable"
    slot: str | None = None
    slot_of: str | None = None
    optimizer: str | None = None
    object_path: str | None = None
    aliases: tuple[str, ...] = ()
    full_name: str | None = None


# -- single keys ----------------------------------------------------------------------------
def unescape_local_name(name: str) -> str:
    """Undo TF2's escaping of one object path component (``..`` -> ``.``, ``.S`` -> ``/``)."""
    return re.sub(r"\.(.)", lambda m: {".": ".", "S": "/"}.get(m.group(1), m.group(0)), name)


def parse_object_key(key: str) -> tuple[str, str] | None:
    """``"a/b/.ATTRIBUTES/VARIABLE_VALUE"`` -> ``("a/b", "VARIABLE_VALUE")``; ``None`` for a
    name-based key."""
    if ATTRIBUTES not in key:
        return None
    path, attribute = key.rsplit(ATTRIBUTES, 1)
    return path, attribute


def parse_slot_key(key: str) -> tuple[str, str, str] | None:
    """A TF2 slot key -> ``(variable key, optimizer path, slot name)``.

    >>> parse_slot_key("m/k/.OPTIMIZER_SLOT/optimizer/m/.ATTRIBUTES/VARIABLE_VALUE")
    ('m/k/.ATTRIBUTES/VARIABLE_VALUE', 'optimizer', 'm')
    """
    parsed = parse_object_key(key)
    if parsed is None or OPTIMIZER_SLOT not in parsed[0]:
        return None
    path, attribute = parsed
    variable_path, rest = path.split(OPTIMIZER_SLOT, 1)
    if "/" not in rest:
        return None
    optimizer, slot = rest.rsplit("/", 1)
    return f"{variable_path}{ATTRIBUTES}{attribute}", optimizer, slot


def partition_of(name: str) -> tuple[str, int] | None:
    """A graph variable that is one piece of a partitioned variable: ``"W/part_2"`` ->
    ``("W", 2)``. In the checkpoint the pieces are stored as slices of ``W``."""
    match = _PARTITION.match(name)
    return (match["base"], int(match["index"])) if match else None


def tf1_slot(
    name: str,
    names: Iterable[str] | Mapping[str, object],
    shapes: Mapping[str, tuple[int, ...]] | None = None,
) -> tuple[str, str, str] | None:
    """If ``name`` is a TF1 optimizer slot of a variable in ``names``, return
    ``(variable, optimizer, slot label)``.

    A slot is ``VARIABLE/OPTIMIZER`` or ``VARIABLE/OPTIMIZER_N`` where ``VARIABLE`` is present
    (and, when ``shapes`` are given, has the same shape). ``OPTIMIZER`` is the optimizer's name:
    ``Adam``, or a custom one such as ``MyAdam`` (recognised by the known name it contains).

    >>> tf1_slot("W/MyAdam_1", ["W", "W/MyAdam", "W/MyAdam_1"])
    ('W', 'MyAdam', 'Adam v')
    >>> tf1_slot("W/Adam", ["V"]) is None
    True
    """
    present = names if isinstance(names, (set, frozenset, Mapping)) else set(names)
    variable, separator, last = name.rpartition("/")
    if not separator or variable not in present:
        return None
    return _slot_of(name, variable, last, present, shapes)


def _slot_of(name: str, variable: str, last: str, present, shapes) -> tuple[str, str, str] | None:
    """``tf1_slot`` once ``name`` is known to be ``variable/last`` with ``variable`` present."""
    suffix = _slot_suffix(last)
    if suffix is None:
        return None
    if shapes is not None and variable in shapes and shapes.get(name) != shapes[variable]:
        return None
    optimizer, index_text, kind = suffix
    index = int(index_text or 0)
    if optimizer.lower() in _GOOGLE_ADAM:  # Google's BERT AdamWeightDecay: W/adam_m, W/adam_v
        return variable, optimizer, _GOOGLE_ADAM[optimizer.lower()]
    if kind is None:
        siblings = [n for n in present if n.startswith(f"{variable}/{optimizer}")]
        users = {n.rsplit("/", 1)[0] for n in present if n.rsplit("/", 1)[-1] == optimizer}
        if len(users) < 2 and len(siblings) < 2:
            return None
        return variable, optimizer, f"{optimizer} slot {index}"
    labels = TF1_SLOTS[kind]
    if kind == "RMSProp" and f"{variable}/{optimizer}_2" in present:
        labels = _CENTERED_RMSPROP
    label = labels[index] if index < len(labels) else f"{kind} slot {index}"
    return variable, optimizer, label


@functools.lru_cache(maxsize=4096)
def _slot_suffix(last: str) -> tuple[str, str | None, str | None] | None:
    """The last component of a possible slot name -> ``(optimizer, slot index (digits or
    None), optimizer kind)``, or ``None`` when it cannot name a slot."""
    match = _SLOT_SUFFIX.match(last)
    if match is None:
        return None
    optimizer = match["optimizer"]
    return optimizer, match["index"], _optimizer_kind(optimizer)


def _optimizer_kind(optimizer: str) -> str | None:
    if optimizer in TF1_SLOTS:
        return optimizer
    lowered = optimizer.lower()
    for kind in TF1_SLOTS:  # longest names first in the table (AdagradDA before Adagrad)
        if kind.lower() in lowered:
            return kind
    return None


# -- TF2 object graph -------------------------------------------------------------------------
@dataclass
class ObjectNode:
    """One node of a TF2 object graph."""

    id: int
    paths: list[str] = field(default_factory=list)
    through_optimizer: list[bool] = field(default_factory=list)
    children: list[tuple[str, int]] = field(default_factory=list)
    attributes: list[tuple[str, str, str]] = field(default_factory=list)  # name, full, key
    slot_variables: list[tuple[int, str, int]] = field(default_factory=list)

    @property
    def preferred_path(self) -> str | None:
        """The shortest path that does not pass through an optimizer, else the shortest."""
        for path, via_optimizer in zip(self.paths, self.through_optimizer):
            if not via_optimizer:
                return path
        return self.paths[0] if self.paths else None


class ObjectGraph:
    """The ``TrackableObjectGraph`` stored under ``_CHECKPOINTABLE_OBJECT_GRAPH``.

    ``nodes[i].paths`` lists the paths (``model/layer_with_weights-0/kernel``) that reach node
    ``i`` from the root, shortest first (at most ``MAX_ALIASES``); ``node_of_key`` maps each
    checkpoint key to its node; ``slots()`` says which node is which optimizer's slot of which.
    """

    def __init__(self, proto) -> None:
        self.nodes = [
            ObjectNode(
                id=i,
                children=[(unescape_local_name(c.local_name), c.node_id) for c in node.children],
                attributes=[(a.name, a.full_name, a.checkpoint_key) for a in node.attributes],
                slot_variables=[
                    (s.original_variable_node_id, s.slot_name, s.slot_variable_node_id)
                    for s in node.slot_variables
                ],
            )
            for i, node in enumerate(proto.nodes)
        ]
        self.optimizer_ids = self._find_optimizers()
        self._walk_paths()
        self.node_of_key = {
            key: node.id for node in self.nodes for _, _, key in node.attributes if key
        }

    @classmethod
    def from_bytes(cls, data: bytes, path) -> ObjectGraph:
        """Parse the serialized graph (the value of the object graph tensor) read from ``path``."""
        from ..._wire import TrackableObjectGraph, parse_proto

        proto = parse_proto(
            TrackableObjectGraph,
            data,
            path,
            "TF2 object graph (_CHECKPOINTABLE_OBJECT_GRAPH)",
        )
        return cls(proto)

    def _valid(self, node_id: int) -> bool:
        return 0 <= node_id < len(self.nodes)

    def _find_optimizers(self) -> set[int]:
        found = {i for i, node in enumerate(self.nodes) if node.slot_variables}
        for node in self.nodes:
            names = {name for name, _ in node.children}
            if "_trainable_variables" in names and ("_iterations" in names or "iter" in names):
                found.add(node.id)
        return found

    def _walk_paths(self) -> None:
        """Breadth-first from the root, keeping at most ``MAX_ALIASES`` paths per node."""
        if not self.nodes:
            return
        queue: list[tuple[int, str, bool, int]] = [(0, "", False, 0)]
        head = 0
        while head < len(queue):
            node_id, path, via_optimizer, depth = queue[head]
            head += 1
            if depth > 64:
                continue
            for local_name, child in self.nodes[node_id].children:
                if not self._valid(child):
                    continue
                target = self.nodes[child]
                if len(target.paths) >= MAX_ALIASES:
                    continue
                child_path = f"{path}/{local_name}" if path else local_name
                child_via = via_optimizer or node_id in self.optimizer_ids
                target.paths.append(child_path)
                target.through_optimizer.append(child_via)
                queue.append((child, child_path, child_via, depth + 1))

    def optimizer_path(self, node_id: int) -> str:
        node = self.nodes[node_id]
        return node.paths[0] if node.paths else f"node {node_id}"

    def slots(self) -> dict[int, tuple[int, int, str]]:
        """``{slot node: (variable node, optimizer node, slot label)}``: TF2 optimizers'
        ``slot_variables`` and Keras 3 optimizers' parallel lists (``_momentums/0`` is the
        momentum of ``_trainable_variables/0``)."""
        found: dict[int, tuple[int, int, str]] = {}
        for optimizer in sorted(self.optimizer_ids):
            node = self.nodes[optimizer]
            names = {s for _, s, _ in node.slot_variables}
            adam_like = {"m", "v"} <= names
            for original, slot_name, slot_node in node.slot_variables:
                if self._valid(original) and self._valid(slot_node):
                    label = {"m": "Adam m", "v": "Adam v"}.get(slot_name) if adam_like else None
                    found[slot_node] = (original, optimizer, label or slot_name)
            found.update(self._keras3_slots(optimizer))
        return found

    def _keras3_slots(self, optimizer: int) -> dict[int, tuple[int, int, str]]:
        children = dict(self.nodes[optimizer].children)
        if "_trainable_variables" not in children:
            return {}
        trainable = self._list_items(children["_trainable_variables"])
        adam_like = "_momentums" in children and "_velocities" in children
        found = {}
        for name, list_node in children.items():
            if name in ("_variables", "_trainable_variables") or not self._valid(list_node):
                continue
            items = self._list_items(list_node)
            if not items or len(items) != len(trainable):
                continue
            label = _KERAS3_SLOT_LABELS.get((name, adam_like)) or _singular(name.lstrip("_"))
            for variable, slot_node in zip(trainable, items):
                found[slot_node] = (variable, optimizer, label)
        return found

    def _list_items(self, node_id: int) -> list[int]:
        if not self._valid(node_id):
            return []
        children = self.nodes[node_id].children
        if not children or not all(name.isdigit() for name, _ in children):
            return []
        ordered = sorted(children, key=lambda item: int(item[0]))
        return [child for _, child in ordered if self._valid(child)]


def _singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    return word[:-1] if word.endswith("s") else word


# -- all keys of a checkpoint -------------------------------------------------------------------
def describe_keys(
    keys: Mapping[str, tuple[int, ...]] | Iterable[str],
    object_graph: ObjectGraph | None = None,
) -> dict[str, KeyInfo]:
    """Say what every key of one checkpoint is.

    ``keys`` are the checkpoint's tensor names (a mapping to shapes makes slot detection
    stricter: a slot has its variable's shape); ``object_graph`` is the parsed TF2 object graph
    when there is one.
    """
    shapes = dict(keys) if isinstance(keys, Mapping) else None
    names = list(keys)
    present = set(names)
    slots = _tf1_slots(names, present, shapes)
    result = {}
    variable_fields, new = _VARIABLE_FIELDS, _new_tuple
    for name in names:
        if "_power" in name or name.endswith("global_step") or name == OBJECT_GRAPH_KEY:
            result[name] = _describe_name_based(name, slots)
            continue
        # what _describe_name_based says of every other name, without its keyword calls
        slot = slots.get(name)
        if slot is not None and slot[0] not in slots:
            variable, optimizer, label = slot
            result[name] = new(KeyInfo, (name, "slot", label, variable, optimizer, None, (), None))
        else:
            result[name] = new(KeyInfo, (name, *variable_fields))
    if OBJECT_GRAPH_KEY in present or any(ATTRIBUTES in name for name in names):
        result = {name: _describe_object_based(name, result[name]) for name in names}
    if object_graph is not None:
        result = _apply_object_graph(result, object_graph)
    return result


def _tf1_slots(names: list[str], present: set[str], shapes) -> dict[str, tuple[str, str, str]]:
    """``tf1_slot`` of every name that can be a slot (its parent is a key too)."""
    found = {}
    # last component -> (optimizer, label) when the label depends on nothing else (a known
    # optimizer but RMSProp, whose labels depend on the variable's other slots)
    plain: dict[str, tuple[str, str]] = {}
    for name in names:
        variable, separator, last = name.rpartition("/")
        if not separator or variable not in present:
            continue
        known = plain.get(last)
        if known is None:
            slot = _slot_of(name, variable, last, present, shapes)
            if slot is not None:
                found[name] = slot
                suffix = _slot_suffix(last)
                if suffix[2] not in (None, "RMSProp"):
                    plain[last] = slot[1], slot[2]
        elif shapes is None or variable not in shapes or shapes.get(name) == shapes[variable]:
            found[name] = (variable, *known)
    return found


def _describe_name_based(name: str, slots: dict[str, tuple[str, str, str]]) -> KeyInfo:
    if name == OBJECT_GRAPH_KEY:
        return KeyInfo(name, role="object_graph")
    if name.rpartition("/")[2] == "global_step":
        return KeyInfo(name, role="step")
    if "_power" in name and _BETA_POWER.search(name):
        return KeyInfo(name, role="optimizer_state", optimizer="Adam")
    slot = slots.get(name)
    # a slot's owner is a variable, not itself a slot (``W/Adam/Adam`` is no slot of a slot)
    if slot is not None and slot[0] not in slots:
        variable, optimizer, label = slot
        return KeyInfo(name, role="slot", slot=label, slot_of=variable, optimizer=optimizer)
    return KeyInfo(name)


#: a plain variable's KeyInfo but its name
_VARIABLE_FIELDS = ("variable", None, None, None, None, (), None)
_new_tuple = tuple.__new__


def _describe_object_based(name: str, info: KeyInfo) -> KeyInfo:
    if info.role == "object_graph":
        return info
    slot = parse_slot_key(name)
    if slot is not None:
        variable_key, optimizer, slot_name = slot
        path = parse_object_key(name)[0]
        return KeyInfo(
            name,
            role="slot",
            slot=slot_name,
            slot_of=variable_key,
            optimizer=optimizer,
            object_path=path,
        )
    parsed = parse_object_key(name)
    if parsed is None:
        return info
    path = parsed[0]
    last = path.rsplit("/", 1)[-1]
    if path == "save_counter":
        return KeyInfo(name, role="save_counter", object_path=path)
    if last in _STEP_NAMES:
        return KeyInfo(name, role="step", object_path=path)
    first = path.split("/", 1)[0]
    if first in ("optimizer", "opt", "optim") and last in _OPTIMIZER_STATE_NAMES:
        return KeyInfo(name, role="optimizer_state", optimizer=first, object_path=path)
    return KeyInfo(name, object_path=path)


def _apply_object_graph(result: dict[str, KeyInfo], graph: ObjectGraph) -> dict[str, KeyInfo]:
    slots = graph.slots()
    key_of_node = {node_id: key for key, node_id in graph.node_of_key.items()}
    updated = dict(result)
    for key, info in result.items():
        node_id = graph.node_of_key.get(key)
        if node_id is None:
            continue
        node = graph.nodes[node_id]
        full_name = next((full for _, full, k in node.attributes if k == key and full), None)
        preferred = node.preferred_path or info.object_path
        aliases = tuple(p for p in node.paths if p != preferred)
        changes: dict = {"object_path": preferred, "aliases": aliases, "full_name": full_name}
        if node_id in slots:
            variable, optimizer, label = slots[node_id]
            changes.update(
                role="slot",
                slot=info.slot if info.role == "slot" and info.slot not in ("m", "v") else label,
                slot_of=key_of_node.get(variable, info.slot_of),
                optimizer=graph.optimizer_path(optimizer),
            )
        elif info.role == "variable" and _under_optimizer(node, graph, preferred):
            optimizer_path = next(
                (
                    graph.optimizer_path(o)
                    for o in graph.optimizer_ids
                    if preferred.startswith(graph.optimizer_path(o) + "/")
                ),
                None,
            )
            changes.update(role="optimizer_state", optimizer=optimizer_path)
        updated[key] = info._replace(**changes)
    return updated


def _under_optimizer(node: ObjectNode, graph: ObjectGraph, preferred: str | None) -> bool:
    """A variable reachable only through an optimizer (and not one of its trainable variables)
    is optimizer state (``optimizer/_iterations``)."""
    if not node.paths or not all(node.through_optimizer):
        return False
    return "/_trainable_variables/" not in f"/{preferred}/"
