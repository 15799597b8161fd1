"""The TF1 backend of a session: a ``tf.Graph`` and its ``tf.compat.v1.Session``; every op a
file brings is checked by :mod:`tfexplore.safety` before it runs.

About 600 lines, kept as one module on purpose: it is one class, :class:`_GraphBackend`, whose
sections are the operations of the :class:`~tfexplore.live.backend.Backend` protocol (variables,
running behind the safety gate, names, eval and training, saving); they share the guard cache,
the fetch resolution and the error translation, so splitting them would scatter one object's
state over several files. The training loop itself is in :mod:`.steps`."""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from .._tf import _first_line, tf, translate_errors
from ..errors import (
    ArtifactNotFoundError,
    BatchMismatchError,
    GraphRunError,
    MissingFeedError,
    NotInitializedError,
    TensorNotFoundError,
    TFExploreError,
    TrainOpNotFoundError,
)
from ..safety import gate as safety
from .backend import StepRunner
from .restore import _FEED_HINT
from .steps import _flatten, _map_structure, _numpy, _plain, graph_step_runner

#: what to try when the restore op finds the checkpoint's bytes damaged
_DAMAGED_HINT = "tfexplore.open(prefix).stats() reads every tensor and names a damaged one"


# == backends: a TF1 graph, or TF2 objects ===================================================
def _suggest(name: str, names: Iterable[str]) -> list[str]:
    names = list(names)
    close = difflib.get_close_matches(name, names, n=5, cutoff=0.5)
    leaf = name.split(":")[0].split("/")[-1].lower()
    substring = [n for n in names if leaf and leaf in n.lower() and n not in close]
    return (close + sorted(substring, key=len))[:8]


class _GraphBackend:
    """A ``tf.Graph`` and the ``tf.compat.v1.Session`` that runs it."""

    kind = "tf1 graph"
    model = None  # no Keras model: the graph is the model

    def __init__(
        self,
        graph,
        session,
        *,
        owns_session: bool,
        trusted: bool,
        import_scope=None,
        file_saver=None,
        path=None,
    ) -> None:
        self.graph = graph
        self.session = session
        self.owns_session = owns_session
        self.trusted = trusted
        self.import_scope = import_scope
        self.file_saver = file_saver
        self.path = path
        self._assign_ops: dict[str, tuple[Any, Any]] = {}
        self._read_tensors: dict[str, Any] = {}
        self._saver = None
        self._graph_def_cache: tuple[int, Any] | None = None
        self._checked: dict[tuple, list[str]] = {}  # (fetches, feeds) -> unfed placeholders
        self._guarded: dict[tuple, safety.SafetyReport] = {}  # (fetches, feeds) -> report
        self._saver_keys: dict[str, str] | None = None
        self._feed_targets: dict[str, Any] = {}  # feed name -> tensor, resolved once
        self._step_runners: dict[tuple, StepRunner] = {}  # (train_op, loss, record) -> runner
        self._loss_cache: dict[str, list] = {}  # train op name -> losses.find_losses
        self.loss_choice: str | None = None  # Session.loss, when set

    # -- variables ---------------------------------------------------------------------------
    def variables(self) -> dict[str, Any]:
        with self.graph.as_default():
            variables = tf().compat.v1.global_variables()
        return {v.op.name: v for v in variables}

    def hints(self, checkpoint_vars: Mapping[str, Any]) -> dict[str, str]:
        return {}

    def initialize(self) -> None:
        """No checkpoint: run the graph's variable initializers (after the safety check) when
        this backend made its session; yours is left as it is."""
        if not self.owns_session:
            return
        with self.graph.as_default():
            init = tf().compat.v1.global_variables_initializer()
        self.check([init], {})
        self.run(init)

    def restore_file(self, prefix: str) -> None:
        """Run the file's own SaverDef restore op (it passed the safety check, or is trusted);
        its errors are those of reading the checkpoint (``_tf.translate_errors``)."""
        saver_def = self.file_saver.saver_def
        self.run(
            saver_def.restore_op_name, {saver_def.filename_tensor_name: prefix},
            saver_def=saver_def, reading=(prefix, f"checkpoint {prefix!r} while restoring it"),
        )  # fmt: skip

    def default_key(self, name: str) -> str:
        """The checkpoint key of a variable: the one the file's Saver uses for it, else its
        name without ``import_scope``."""
        if self._saver_keys is None:
            self._saver_keys = _keys_of_saver(self.graph, self.file_saver)
        if name in self._saver_keys:
            return self._saver_keys[name]
        scope = (self.import_scope or "").rstrip("/")
        return name[len(scope) + 1 :] if scope and name.startswith(scope + "/") else name

    @staticmethod
    def describe(variable) -> tuple[tuple, str]:
        shape = variable.shape
        dims = tuple(shape.as_list()) if shape.rank is not None else ()
        return dims, variable.dtype.base_dtype.name

    def name_of(self, variable) -> str:
        return variable if isinstance(variable, str) else variable.op.name

    def read_tensor(self, name: str):
        if name not in self._read_tensors:
            variable = self.variables()[name]
            element = getattr(variable, "_graph_element", None)
            if element is None or element.dtype == tf().resource:
                with self.graph.as_default():
                    element = variable.read_value()
            self._read_tensors[name] = element
        return self._read_tensors[name]

    def values(self, names: Iterable[str]) -> dict[str, np.ndarray]:
        names = list(names)
        fetched = self.run([self.read_tensor(n) for n in names])
        return {n: np.array(v) for n, v in zip(names, fetched)}

    def initialize_uninitialized(self, names: Iterable[str]) -> list[str]:
        """Run the initializers of those variables in ``names`` that have no value yet (after
        a partial restore); the initializers are checked like any other fetch. Returns the
        names initialized."""
        variables = self.variables()
        candidates = [variables[n] for n in names if n in variables]
        if not candidates:
            return []
        v1 = tf().compat.v1
        with self.graph.as_default():
            is_set = [v1.is_variable_initialized(v) for v in candidates]
        flags = self.run(is_set)
        missing = [v for v, initialized in zip(candidates, flags) if not initialized]
        if missing:
            initializers = [v.initializer for v in missing]
            self.check(initializers, [])
            self.run(initializers)
        return [v.op.name for v in missing]

    def assign(self, values: Mapping[str, np.ndarray]) -> None:
        ops, feed = [], {}
        for name, value in values.items():
            placeholder, op = self._assign_op(name)
            ops.append(op)
            feed[placeholder] = value
        if ops:
            self.run(ops, feed)

    def _assign_op(self, name: str):
        if name not in self._assign_ops:
            variable = self.variables()[name]
            v1 = tf().compat.v1
            with self.graph.as_default(), self.graph.name_scope("tfexplore_assign/"):
                placeholder = v1.placeholder(variable.dtype.base_dtype, variable.shape)
                op = variable.assign(placeholder, read_value=False)
            self._assign_ops[name] = (placeholder, op)
        return self._assign_ops[name]

    # -- running -----------------------------------------------------------------------------
    def run(self, fetches, feed=None, *, saver_def=None, assets=(), reading=None):
        """``session.run`` after :meth:`guard`; ``saver_def`` only for a Saver's own restore or
        save with its filename tensor fed with the prefix the user chose; ``assets`` only for
        a SavedModel's init op, with asset tensors fed with paths checked inside assets/.
        ``reading=(path, what)``: the run reads that file (a restore op), so its errors are
        those of a read (``_tf.translate_errors``), not of a computation."""
        self.guard(_flatten(fetches), feed or {}, saver_def, assets)
        if reading is None:
            translating = self.translate_run_errors()
        else:
            translating = translate_errors(*reading, hint=_DAMAGED_HINT)
        with translating:
            return self.session.run(fetches, feed)

    def guard(
        self, fetches: list, feeds: Iterable, saver_def=None, assets=()
    ) -> safety.SafetyReport:
        """The safety check of everything this session runs (every ``run``, callable and
        save goes through here, whatever asked for it: a restore, a variable read that
        TensorFlow follows to ``VariableDef.snapshot_name``, an initializer, ``global_step``):
        the closure of ``fetches`` given ``feeds``, refused unless on the allowlist (checked
        once per fetch/feed names). Checkpoint I/O is accepted only with ``saver_def``, which
        only the Saver's restore and save pass (a file-chosen feed, such as an asset tensor,
        never makes a Saver's file name)."""
        fetch_names = tuple(_graph_name(f) for f in fetches)
        feed_names = tuple(sorted(_graph_name(f) for f in feeds))
        asset_names = tuple(sorted(assets))
        key = (
            fetch_names,
            feed_names,
            saver_def.filename_tensor_name if saver_def else None,
            asset_names,
        )
        report = self._guarded.get(key)
        if report is None:
            report = safety.check(
                self.graph_def(), list(fetch_names), feeds=list(feed_names), saver_def=saver_def,
                assets=list(asset_names),
                trust=self.trusted, path=self.path,
            )  # fmt: skip
            self._guarded[key] = report
        return report

    def callable(self, fetches: list, feed_list: list) -> Callable[..., list]:
        """A function of the feed values (in ``feed_list`` order) that runs ``fetches`` and
        returns their values as a list, with far less overhead per call than :meth:`run`
        (for training loops); errors are translated the same way.

        It is a callable made from ``CallableOptions`` (what Keras' TF1 backend used), fed
        with arrays converted to each placeholder's dtype; where that cannot be made (an
        unusual fetch), ``session.run`` with a feed dict."""
        if not isinstance(fetches, list):  # a bare tensor would make a scalar, not a list
            raise TypeError(f"fetches must be a list, not {type(fetches).__name__}")
        self.guard(fetches, list(feed_list))
        function = self._fast_callable(fetches, feed_list)
        if function is None:

            def function(*values):
                return self.session.run(fetches, dict(zip(feed_list, values)))

        def call(*values):
            with self.translate_run_errors():
                return function(*values)

        return call

    def _fast_callable(self, fetches: list, feed_list: list):
        tensorflow = tf()
        make = getattr(self.session, "_make_callable_from_options", None)
        if make is None:
            return None
        from tensorflow.core.protobuf import config_pb2

        options = config_pb2.CallableOptions()
        outputs: list[bool] = []  # per fetch: has a value (a tensor) or not (an op)
        for fetch in fetches:
            if isinstance(fetch, tensorflow.Operation):
                options.target.append(fetch.name)
                outputs.append(False)
            else:
                options.fetch.append(fetch.name)
                outputs.append(True)
        options.feed.extend(t.name for t in feed_list)
        dtypes = [t.dtype.as_numpy_dtype for t in feed_list]
        try:
            function = make(options)
        except tensorflow.errors.OpError:  # options TF cannot make: session.run says why
            return None

        def run(*values):
            arrays = [np.asarray(v, dtype=d) for v, d in zip(values, dtypes)]
            results = iter(function(*arrays))
            return [next(results) if has_value else None for has_value in outputs]

        return run

    @contextlib.contextmanager
    def translate_run_errors(self) -> Iterator[None]:
        """TensorFlow's errors while computing (not reading a file: ``_tf.translate_errors``)."""
        # its own translator: a run's errors mean an uninitialized variable or a bad feed
        tensorflow = tf()
        try:
            yield
        except tensorflow.errors.FailedPreconditionError as exc:
            raise NotInitializedError(
                f"A variable has no value yet: {_first_line(exc)}",
                path=self.path,
                expected="variables restored from a checkpoint or initialized",
                hint="call session.restore(checkpoint) first",
            ) from exc
        except tensorflow.errors.NotFoundError as exc:  # a file an op reads is not there
            raise ArtifactNotFoundError(
                f"TensorFlow failed while running the graph, a file is missing: {_first_line(exc)}",
                path=self.path,
                expected="every file the graph reads (a checkpoint's .index and .data-* files)",
                hint="copy the missing file next to the others, or restore another checkpoint",
            ) from exc
        except tensorflow.errors.OpError as exc:
            raise GraphRunError(
                f"TensorFlow failed while running the graph: {_first_line(exc)}",
                path=self.path,
                hint=_FEED_HINT,
            ) from exc

    def graph_def(self):
        if self._graph_def_cache is None or self._graph_def_cache[0] != self.graph.version:
            self._graph_def_cache = (self.graph.version, self.graph.as_graph_def())
        return self._graph_def_cache[1]

    def check(self, fetches: list, feeds: Iterable) -> None:
        """Refuse fetches whose ops touch files, the network or Python (unless trusted), and
        name the placeholders they need that are not fed."""
        fetch_names = [_graph_name(f) for f in fetches]
        feed_names = sorted(_graph_name(f) for f in feeds)
        key = (tuple(fetch_names), tuple(feed_names))
        if key not in self._checked:
            report = self.guard(fetch_names, feed_names)
            self._checked[key] = self._unfed_placeholders(report.ops, feed_names)
        needed = self._checked[key]
        if needed:
            error = MissingFeedError(
                f"Evaluating {', '.join(repr(f) for f in fetch_names[:3])} needs a value for "
                f"{len(needed)} placeholder(s): {', '.join(needed)}.",
                path=self.path,
                expected="feed={" + ", ".join(f"{n!r}: array" for n in needed) + "}",
                hint="pass feed= with a value for each (shapes: "
                + ", ".join(f"{n} {self._shape(n)}" for n in needed)
                + ")",
            )
            error.placeholders = needed
            raise error

    def _unfed_placeholders(self, ops: Iterable[str], feed_names: Iterable[str]) -> list[str]:
        fed_nodes = {n.split(":")[0] for n in feed_names}
        needed = []
        for name in ops:
            if name in fed_nodes or safety.FUNCTION_SEPARATOR in name:
                continue
            try:
                op = self.graph.get_operation_by_name(name)
            except KeyError:
                continue
            if op.type == "Placeholder":
                needed.append(name)
        return sorted(needed)

    def _shape(self, name: str) -> str:
        try:
            return str(self.graph.get_tensor_by_name(name + ":0").shape)
        except (KeyError, ValueError):
            return "?"

    # -- names -------------------------------------------------------------------------------
    def resolve(self, name):
        """A name (``'x:0'``, ``'x'``, a variable name) or TF object -> what to fetch."""
        tensorflow = tf()
        if isinstance(name, (tensorflow.Tensor, tensorflow.Operation)):
            return self._value_of(name)
        if isinstance(name, tensorflow.Variable):
            return self.read_tensor(name.op.name)
        if not isinstance(name, str):
            raise TypeError(f"cannot fetch {name!r}: expected a name, a tensor or a variable")
        for candidate in self._candidates(name):
            found = self._lookup(candidate)
            if found is not None:
                return self._value_of(found)
        names = [
            op.name for op in self.graph.get_operations() if not op.name.startswith("tfexplore_")
        ]
        raise TensorNotFoundError(
            f"No tensor or op named {name!r} in the graph.",
            suggestions=_suggest(name.split(":")[0], names),
            path=self.path,
            expected="an op name ('loss/mse'), a tensor name ('loss/mse:0') or a variable name",
        )

    def _candidates(self, name: str) -> list[str]:
        scope = (self.import_scope or "").rstrip("/")
        return [name, f"{scope}/{name}"] if scope and not name.startswith(scope + "/") else [name]

    def _lookup(self, name: str):
        try:
            if ":" in name:
                return self.graph.get_tensor_by_name(name)
            op = self.graph.get_operation_by_name(name)
        except (KeyError, ValueError):
            return None
        return op.outputs[0] if op.outputs else op

    def _value_of(self, item):
        """A resource handle of a variable -> the variable's value."""
        tensorflow = tf()
        if isinstance(item, tensorflow.Tensor) and item.dtype == tensorflow.resource:
            variables = self.variables()
            if item.op.name in variables:
                return self.read_tensor(item.op.name)
        return item

    # -- eval and training -------------------------------------------------------------------
    def evaluate(self, names, feed: Mapping[Any, Any] | None):
        fetches = _map_structure(names, self.resolve)
        feed_dict = self.feed_dict(feed)
        self.check(_flatten(fetches), feed_dict)
        return _map_structure(self.run(fetches, feed_dict), _plain)

    def feed_dict(self, feed) -> dict:
        if not feed:
            return {}
        feed_dict = {}
        targets = self._feed_targets
        for key, value in feed.items():
            if not isinstance(key, str):
                feed_dict[key] = value
                continue
            target = targets.get(key)
            if target is None:
                target = targets[key] = self.resolve(key if ":" in key else key + ":0")
            feed_dict[target] = value
        return feed_dict

    def batch_feed(self, batch) -> dict:
        if batch is None:
            return {}
        if isinstance(batch, Mapping):
            return self.feed_dict({k: _numpy(v) for k, v in batch.items()})
        if isinstance(batch, (tuple, list)):
            placeholders = self._placeholders_in_order()
            if len(placeholders) != len(batch):
                raise BatchMismatchError(
                    f"A batch of {len(batch)} values cannot be matched to the graph's "
                    f"{len(placeholders)} placeholders ({', '.join(placeholders)}).",
                    expected="dataset elements as dicts {placeholder name: value}",
                    hint="map the dataset: ds.map(lambda x, y: {'inputs/x': x, 'inputs/y': y})",
                )
            return self.feed_dict({p: _numpy(v) for p, v in zip(placeholders, batch)})
        raise TypeError(f"cannot feed {type(batch).__name__}: expected a dict, a tuple or a list")

    def _placeholders_in_order(self) -> list[str]:
        return [
            op.name
            for op in self.graph.get_operations()
            if op.type == "Placeholder" and not op.name.startswith("tfexplore_")
        ]

    def global_step_name(self) -> str | None:
        with self.graph.as_default():
            collected = tf().compat.v1.get_collection("global_step")
        if collected:
            return collected[0].op.name
        names = [n for n in self.variables() if n.split("/")[-1] == "global_step"]
        return names[0] if names else None

    def training_op_types(self) -> set[str]:
        return {op.type for op in self.graph.get_operations()}

    def step_runner(self, train_op, loss, record: tuple, *, source: str) -> StepRunner:
        """The training step of ``(train_op, loss, record)``, made once and reused."""
        try:
            run_step = self._step_runners.get((train_op, loss, record))
        except TypeError:  # an unhashable train_op= or loss=: no reuse
            return graph_step_runner(self, train_op, loss, record)
        if run_step is None:
            run_step = graph_step_runner(self, train_op, loss, record)
            self._step_runners[(train_op, loss, record)] = run_step
        return run_step

    def find_train_op(self, train_op):
        if train_op is not None:
            found = self.resolve(train_op)
            return found.op if hasattr(found, "op") and not isinstance(train_op, str) else found
        with self.graph.as_default():
            collected = tf().compat.v1.get_collection("train_op")
        if not collected:
            raise TrainOpNotFoundError(
                "The graph has no 'train_op' collection, so the training op is unknown.",
                path=self.path,
                expected="a train_op collection (tf.compat.v1.add_to_collection('train_op', op))",
                hint="name it: session.train(steps, train_op='train/Adam')",
            )
        item = collected[0]
        return item if isinstance(item, tf().Operation) else item.op

    def find_loss(self, loss, train_op=None):
        if loss is None:
            loss = self.loss_choice
        if loss is not None:
            return self.resolve(loss)
        with self.graph.as_default():
            v1 = tf().compat.v1
            collected = v1.get_collection("loss") or v1.get_collection("losses")
        if collected:
            return collected[0]
        found = self._losses_of(train_op)
        return self.resolve(found[0].tensor) if found else None

    def _losses_of(self, train_op) -> list:
        """The losses ``train_op`` minimizes, found from its gradients
        (:mod:`tfexplore.graph.losses`)."""
        from ..graph.losses import find_losses
        from ..graph.model import Graph

        name = getattr(train_op, "name", train_op)  # None: every loss of the graph
        if name not in self._loss_cache:
            self._loss_cache[name] = find_losses(Graph(self.graph_def()), name)
        return self._loss_cache[name]

    def loss_candidates(self) -> list:
        try:
            return list(self._losses_of(self.find_train_op(None)))
        except TrainOpNotFoundError:  # no train_op collection: every loss with a gradient
            return list(self._losses_of(None))

    def loss_name(self) -> str | None:
        if self.loss_choice is not None:
            return self.loss_choice
        try:
            train_op = self.find_train_op(None)
        except TrainOpNotFoundError:  # no train_op collection: the losses of every train op
            train_op = None
        try:
            found = self.find_loss(None, train_op)
        except TFExploreError:
            return None
        return getattr(found, "name", None)

    def choose_loss(self, name: str | None) -> None:
        if name is not None:
            self.resolve(name)  # an unknown name fails now, with suggestions
        self.loss_choice = name
        self._step_runners.clear()

    # -- saving ------------------------------------------------------------------------------
    def write(self, prefix: str) -> None:
        """Write every variable (under its original name) to ``prefix`` (+ ``.meta``)."""
        saver = self._own_saver()
        saver_def = saver.saver_def  # tfexplore's own Saver, but its inputs come from the file
        self.guard([saver_def.save_tensor_name], [saver_def.filename_tensor_name], saver_def)
        with self._translate("save"), self.graph.as_default():
            saver.save(self.session, prefix, write_meta_graph=False, write_state=False)
            saver.export_meta_graph(
                prefix + ".meta", clear_devices=False, clear_extraneous_savers=False
            )

    def _own_saver(self):
        if self._saver is None:
            v1 = tf().compat.v1
            var_list = {self.default_key(n): v for n, v in self.variables().items()}
            with self.graph.as_default():
                self._saver = v1.train.Saver(
                    var_list=var_list,
                    name="tfexplore_save",
                    max_to_keep=None,
                    save_relative_paths=True,
                )
        return self._saver

    @contextlib.contextmanager
    def _translate(self, what: str) -> Iterator[None]:
        # its own translator: a failed write is not a damaged file (_tf.translate_errors)
        try:
            yield
        except tf().errors.OpError as exc:
            raise GraphRunError(
                f"TensorFlow failed to {what}: {_first_line(exc)}", path=self.path
            ) from exc

    def close(self) -> None:
        if self.owns_session:
            self.session.close()


def _keys_of_saver(graph, saver) -> dict[str, str]:
    """``{variable name: checkpoint key}`` as a Saver's restore op has them: each
    ``RestoreV2`` output flows (through ``Identity``) into an assign to one variable."""
    if saver is None or saver.saver_def is None or not saver.saver_def.restore_op_name:
        return {}
    from tensorflow.python.framework import tensor_util

    scope = saver.saver_def.restore_op_name.rsplit("/", 1)[0] + "/"
    keys = {}
    for op in graph.get_operations():
        if op.type != "RestoreV2" or not op.name.startswith(scope):
            continue
        names = tensor_util.constant_value(op.inputs[1])
        if names is None:
            continue
        for output, key in zip(op.outputs, names):
            variable = _assigned_variable(output)
            if variable is not None:
                keys[variable] = key.decode() if isinstance(key, bytes) else str(key)
    return keys


def _assigned_variable(tensor, depth: int = 4) -> str | None:
    for consumer in tensor.consumers():
        if consumer.type in ("Assign", "AssignVariableOp"):
            return consumer.inputs[0].op.name
        if consumer.type == "Identity" and depth:
            found = _assigned_variable(consumer.outputs[0], depth - 1)
            if found:
                return found
    return None


def _graph_name(item) -> str:
    return getattr(item, "name", item)
