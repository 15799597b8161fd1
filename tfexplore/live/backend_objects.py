"""The TF2 backend of a session: trackable objects (a Keras model, its optimizer, a
``tf.train.Checkpoint``) restored and trained eagerly."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .._tf import tf
from ..errors import TensorNotFoundError
from .backend import StepRunner
from .backend_graph import _suggest
from .restore import TF2_VALUE_SUFFIX
from .steps import _map_structure, keras_step_runner


class _ObjectBackend:
    """TF2 trackable objects (a Keras model and its optimizer, a ``tf.train.Checkpoint``)."""

    kind = "tf2 objects"
    graph = None  # no tf.Graph, no tf.compat.v1.Session, no Saver of a file: eager objects
    session = None
    file_saver = None

    def __init__(self, root, *, model=None, optimizer=None, path=None) -> None:
        self.root = root
        self.model = model
        self.optimizer = optimizer
        self.path = path
        self._variables: dict[str, Any] | None = None
        self._keys: dict[str, str] = {}
        self.loss_choice: str | None = None  # kept for Session.loss; train takes loss=

    def variables(self) -> dict[str, Any]:
        if self._variables is None:
            self._variables, self._keys = _walk_trackables(self.root)
        return self._variables

    def default_key(self, name: str) -> str:
        self.variables()
        return self._keys[name]

    @staticmethod
    def describe(variable) -> tuple[tuple, str]:
        dtype = variable.dtype
        return tuple(variable.shape), getattr(dtype, "name", str(dtype))

    def name_of(self, variable) -> str:
        if isinstance(variable, str):
            return variable
        for name, candidate in self.variables().items():
            if candidate is variable:
                return name
        raise TensorNotFoundError(f"{variable!r} is not one of the session's variables.")

    def values(self, names: Iterable[str]) -> dict[str, np.ndarray]:
        variables = self.variables()
        return {n: np.array(variables[n].numpy()) for n in names}

    def assign(self, values: Mapping[str, np.ndarray]) -> None:
        variables = self.variables()
        for name, value in values.items():
            variables[name].assign(value)

    def resolve(self, name):
        variables = self.variables()
        if not isinstance(name, str):
            return name
        by_key = {k: n for n, k in self._keys.items()}
        for candidate in (
            name,
            name.split(":")[0],
            by_key.get(name),
            by_key.get(name + TF2_VALUE_SUFFIX),
        ):
            if candidate in variables:
                return variables[candidate]
        raise TensorNotFoundError(
            f"No variable named {name!r}.",
            suggestions=_suggest(name, list(variables) + list(self._keys.values())),
            expected="a variable path ('sequential/dense/kernel') or its checkpoint key",
        )

    def write(self, prefix: str) -> None:
        root = self.root
        if not hasattr(root, "write"):  # a loaded SavedModel object: same keys as its own
            root = tf().train.Checkpoint(root=root)
        root.write(prefix)

    def hints(self, checkpoint_vars: Mapping[str, Any]) -> dict[str, str]:
        """Keras 3 checkpoints written with the optimizer keep the model's weights under the
        optimizer, as ``.../_trainable_variables/N``: the model's N-th trainable variable."""
        if self.model is None:
            return {}
        pattern = re.compile(
            r"^(.*?)_trainable_variables/(\d+)" + re.escape(TF2_VALUE_SUFFIX) + "$"
        )
        by_index: dict[int, list[str]] = {}
        for key in checkpoint_vars:
            match = pattern.match(key)
            if match:
                by_index.setdefault(int(match.group(2)), []).append(key)
        hints = {}
        for index, variable in enumerate(self.model.trainable_variables):
            keys = by_index.get(index, [])
            if len(keys) == 1:
                hints[self.name_of(variable)] = keys[0]
        return hints

    def initialize(self) -> None:
        """Nothing to do: TF2 variables get their values when they are made."""

    def initialize_uninitialized(self, names: Iterable[str]) -> list[str]:
        return []  # every TF2 variable has a value

    def restore_file(self, prefix: str) -> None:
        raise NotImplementedError("TF2 objects have no Saver of their own (file_saver is None)")

    # -- eval and training -------------------------------------------------------------------
    def evaluate(self, names, feed: Mapping[Any, Any] | None):
        return _map_structure(names, lambda n: np.array(self.resolve(n).numpy()))

    def global_step_name(self) -> str | None:
        iterations = getattr(self.optimizer, "iterations", None)
        return self.name_of(iterations) if iterations is not None else None

    def training_op_types(self) -> set[str]:
        from .native import keras_training_op_types

        return keras_training_op_types(self.model) if self.model is not None else set()

    def step_runner(self, train_op, loss, record: tuple, *, source: str) -> StepRunner:
        return keras_step_runner(self, loss, record, source=source)

    def loss_candidates(self) -> list:
        return []

    def loss_name(self) -> str | None:
        return self.loss_choice

    def choose_loss(self, name: str | None) -> None:
        self.loss_choice = name

    def close(self) -> None:
        pass


def _walk_trackables(root) -> tuple[dict[str, Any], dict[str, str]]:
    """Every variable reachable from ``root``: ``{name: variable}`` and ``{name: checkpoint key}``
    (the keys ``tf.train.Checkpoint`` writes)."""
    tf()
    from tensorflow.python.checkpoint import graph_view
    from tensorflow.python.checkpoint import util as checkpoint_util
    from tensorflow.python.trackable import trackable_utils

    objects, paths = checkpoint_util.objects_ids_and_slot_variables_and_paths(
        graph_view.ObjectGraphView(root)
    )[:2]
    variables, keys = {}, {}
    for obj in objects:
        if not (hasattr(obj, "assign") and hasattr(obj, "shape") and hasattr(obj, "numpy")):
            continue
        key = trackable_utils.object_path_to_string(paths[obj]) + TF2_VALUE_SUFFIX
        if key == "save_counter" + TF2_VALUE_SUFFIX:  # tf.train.Checkpoint's own bookkeeping
            continue
        name = getattr(obj, "path", None) or getattr(obj, "name", key).split(":")[0]
        if name in variables:
            name = key
        variables[name] = obj
        keys[name] = key
    return variables, keys
