"""A live session: import a meta graph, restore its weights, evaluate tensors, resume training,
snapshot, roll back and save again.

Everything else in tfexplore only reads. A :class:`Session` runs ops, but only when one of its
methods is called, and the ops a file brings are checked by :mod:`tfexplore.safety` first.

Example (the seed workflow)::

    >>> import tfexplore
    >>> s = tfexplore.session("runs/mnist")            # latest .meta + its checkpoint  # doctest: +SKIP
    >>> s.eval("global_step")                                                       # doctest: +SKIP
    30
    >>> s.train(5, feed={"inputs/x": x, "inputs/y": y})  # DataFrame: step, global_step, loss  # doctest: +SKIP
    >>> s.snapshot("before"); s.train(100, feed=...); s.rollback("before")         # doctest: +SKIP
    >>> s.save("runs/mnist")                             # runs/mnist/model.ckpt-35   # doctest: +SKIP

Sources: a ``.meta`` file, a checkpoint folder or prefix with its ``.meta`` (TF1 graphs); your
own ``tf.compat.v1.Session`` or ``tf.Graph``; a Keras model, a ``.keras`` file, a
``tf.train.Checkpoint`` or a dict of trackable objects (TF2), each with a checkpoint to restore.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .._tf import tf
from ..errors import (
    ArtifactNotFoundError,
    CheckpointExistsError,
    NativeCrashError,
    RestoreMismatchError,
    TensorNotFoundError,
    TFExploreError,
)
from . import saving as _saving
from .backend_graph import _GraphBackend, _StepCounter, _suggest
from .backend_objects import _ObjectBackend
from .restore import (
    _COLUMNS,
    _FEED_HINT,
    PROBLEMS,
    RestoreReport,
    _checkpoint_for_step,
    _checkpoint_variables,
    _glob_escape,
    _plan,
    _propose,
    _read_values,
    _require_data,
    _resolve_prefix,
)
from .steps import _feed_source, _flatten, _interrupts_as, _map_structure, _numpy, _plain


# == the session =============================================================================
class Session:
    """A live TensorFlow session over a graph (TF1) or trackable objects (TF2).

    Made by :func:`session`. Methods: :meth:`restore`, :meth:`eval`, :meth:`train`,
    :meth:`snapshot`/:meth:`rollback`, :meth:`save`, :meth:`stop`, :meth:`close`. ``history``
    holds every training step so far; ``variables`` lists the variables.
    """

    def __init__(
        self,
        backend,
        *,
        source: str,
        checkpoint: str | None = None,
        devices_cleared: Iterable[str] = (),
    ) -> None:
        self._backend = backend
        self.source = source
        self.checkpoint = checkpoint
        self.devices_cleared = sorted(set(devices_cleared))
        self.last_restore: RestoreReport | None = None
        self._snapshots: dict[str, dict[str, np.ndarray]] = {}
        self._history_rows: list[dict] = []
        self._stop = threading.Event()
        self._closed = False
        self._global_step_seen: int | None = None
        self._feed_targets: dict[str, Any] = {}  # feed name -> tensor, resolved once
        #: what opening the source did that a user should know (how optimizer state matched)
        self.notes: list[str] = []
        #: a problem that did not stop the session (optimizer state not loaded), else None
        self.warning: str | None = None
        self._step_runners: dict[tuple, Callable] = {}  # (train_op, loss, record) -> runner
        #: rehearse the first training step in a separate process first (``tfexplore.live.native``):
        #: ``None`` when a known native crash applies to this machine and model, or always/never
        self.rehearse: bool | None = None
        self._reopen: dict | None = None  # session() arguments that open this source again
        self._rehearsed: set[tuple] = set()
        #: a GraphDef session (a frozen graph): weights are constants, nothing to restore
        self.frozen = False
        self._loss_choice: str | None = None  # Session.loss, when set
        self._loss_cache: dict[str, list] = {}  # train op name -> losses.find_losses

    # -- description -------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        """``"tf1 graph"`` or ``"tf2 objects"``."""
        return self._backend.kind

    @property
    def graph(self):
        """The ``tf.Graph`` (TF1 sessions), else ``None``."""
        return getattr(self._backend, "graph", None)

    @property
    def tf_session(self):
        """The underlying ``tf.compat.v1.Session`` (TF1 sessions), else ``None``."""
        return getattr(self._backend, "session", None)

    @property
    def variables(self):
        """A DataFrame: ``name``, ``checkpoint_key``, ``shape``, ``dtype``."""
        import pandas as pd

        rows = []
        for name, variable in self._backend.variables().items():
            shape, dtype = self._backend.describe(variable)
            rows.append(
                {
                    "name": name,
                    "checkpoint_key": self._backend.default_key(name),
                    "shape": shape,
                    "dtype": dtype,
                }
            )
        return pd.DataFrame(rows, columns=["name", "checkpoint_key", "shape", "dtype"])

    @property
    def history(self):
        """Every training step run in this session: ``step``, ``global_step``, ``loss``,
        recorded values, ``seconds``."""
        import pandas as pd

        return pd.DataFrame(self._history_rows)

    def __repr__(self) -> str:
        lines = [
            f"<tfexplore Session ({self.kind}){' closed' if self._closed else ''}>",
            f"  source       {self.source}",
            f"  checkpoint   {self.checkpoint or '(none restored)'}",
            f"  variables    {len(self._backend.variables())}",
        ]
        if self._global_step_seen is not None:
            lines.append(f"  global_step  {self._global_step_seen}")
        if self._history_rows:
            lines.append(f"  history      {len(self._history_rows)} steps")
        if self.devices_cleared:
            lines.append(f"  devices      cleared: {', '.join(self.devices_cleared)}")
        if self.warning:
            lines.append(f"  warning      {self.warning}")
        return "\n".join(lines)

    # -- restore -----------------------------------------------------------------------------
    def plan_restore(self, checkpoint=None, *, mapping=None, prefix_rewrite=None) -> RestoreReport:
        """What :meth:`restore` would do, without changing any variable."""
        import pandas as pd

        prefix = self._resolve_checkpoint(checkpoint)
        checkpoint_vars = _checkpoint_variables(prefix)
        graph_vars = {}
        for name, variable in self._backend.variables().items():
            shape, dtype = self._backend.describe(variable)
            graph_vars[name] = (shape, dtype, self._backend.default_key(name))
        explicit = {key: self._backend.name_of(v) for key, v in (mapping or {}).items()}
        unknown = [n for n in explicit.values() if n not in graph_vars]
        if unknown:
            raise TensorNotFoundError(
                f"The mapping names variables that do not exist: {', '.join(map(repr, unknown))}.",
                suggestions=_suggest(unknown[0], graph_vars),
                expected="{checkpoint_key: variable or variable name}",
            )
        rows = _plan(graph_vars, checkpoint_vars, explicit, prefix_rewrite or {})
        proposed, rewrite = ({}, {})
        if any(r["status"] in PROBLEMS for r in rows):
            proposed, rewrite = _propose(rows, self._backend.hints(checkpoint_vars))
        frame = pd.DataFrame(rows, columns=_COLUMNS)
        return RestoreReport(
            frame,
            checkpoint=prefix,
            proposed_mapping=proposed,
            proposed_prefix_rewrite=rewrite,
            devices_cleared=self.devices_cleared,
        )

    def restore(
        self,
        checkpoint=None,
        *,
        mapping: Mapping[str, Any] | None = None,
        prefix_rewrite: Mapping[str, str] | None = None,
        partial: bool = False,
    ) -> RestoreReport:
        """Restore variables from a checkpoint and return the :class:`RestoreReport`.

        ``checkpoint``: a prefix, a folder (its latest checkpoint), a step number (in the
        session's folder) or ``None`` (the session's checkpoint). ``mapping``:
        ``{checkpoint_key: variable or name}`` like a Saver's ``var_list``; variables it does
        not name are matched by name. ``prefix_rewrite={"old/": "new/"}`` reads checkpoint key
        ``old/x`` into variable ``new/x``. With ``partial=True`` what fits is restored and the
        rest is reported, and variables that were not restored and have no value yet are
        initialized by their own initializers (``report.initialized`` names them); without
        it any missing or mismatched variable raises :class:`RestoreMismatchError` and nothing
        is restored.

        Example::

            >>> report = s.restore("old/model.ckpt-30", prefix_rewrite={"old/": "new/"})  # doctest: +SKIP
        """
        report = self.plan_restore(checkpoint, mapping=mapping, prefix_rewrite=prefix_rewrite)
        if not report.ok and not partial:
            raise self._mismatch_error(report)
        _require_data(report.checkpoint)  # a missing .data file is named before anything runs
        pairs = report.mapping
        if self._can_use_file_saver(report, mapping, prefix_rewrite):
            self._run_file_restore(report.checkpoint)
        else:
            self._assign_from_checkpoint(report.checkpoint, pairs)
        if not report.ok and isinstance(self._backend, _GraphBackend):
            restored = set(pairs.values())
            others = [n for n in self._backend.variables() if n not in restored]
            report.initialized = self._backend.initialize_uninitialized(others)
        report.applied = True
        self.checkpoint = report.checkpoint
        self.last_restore = report
        self._global_step_seen = self._read_global_step()
        return report

    def _mismatch_error(self, report: RestoreReport) -> RestoreMismatchError:
        problems = report.problems
        shown = ", ".join(f"{r.graph_name} ({r.status})" for r in problems.head(4).itertuples())
        hint = "restore(..., partial=True) restores what fits"
        if report.proposed_prefix_rewrite:
            hint = f"restore(..., prefix_rewrite={report.proposed_prefix_rewrite!r}); or " + hint
        elif report.proposed_mapping:
            hint = "restore(..., mapping=err.report.proposed_mapping); or " + hint
        error = RestoreMismatchError(
            f"{len(problems)} variable(s) do not fit the checkpoint: {shown}"
            f"{' ...' if len(problems) > 4 else ''}. Nothing was restored.",
            path=report.checkpoint,
            expected="every variable in the checkpoint under its name, with the same shape and dtype",
            hint=hint,
        )
        error.report = report
        error.session = self
        return error

    def _can_use_file_saver(self, report, mapping, prefix_rewrite) -> bool:
        backend = self._backend
        saver = getattr(backend, "file_saver", None)
        every_variable = (report.frame["status"] == "restored").sum() == len(backend.variables())
        return (
            saver is not None
            and not mapping
            and not prefix_rewrite
            and report.ok
            and every_variable
        )

    def _run_file_restore(self, prefix: str) -> None:
        """Run the file's own SaverDef restore op (it passed the safety check, or is trusted)."""
        saver_def = self._backend.file_saver.saver_def
        try:
            self._backend.run(
                saver_def.restore_op_name, {saver_def.filename_tensor_name: prefix},
                saver_def=saver_def,
            )  # fmt: skip
        except TFExploreError as exc:
            if exc.hint != _FEED_HINT:
                raise
            raise type(exc)(  # the cause line is TensorFlow's; the hint is about the files
                exc.message.replace("running the graph", f"restoring {prefix!r}"),
                path=prefix,
                expected="an intact checkpoint, as its Saver wrote it",
                hint="tfexplore.open(prefix).stats() reads every tensor and names a damaged one",
            ) from exc.__cause__

    def _assign_from_checkpoint(self, prefix: str, pairs: Mapping[str, str]) -> None:
        values = _read_values(prefix, pairs)
        self._backend.assign({name: values[key] for key, name in pairs.items()})

    def _resolve_checkpoint(self, checkpoint) -> str:
        if self.frozen:
            raise TFExploreError(
                f"Nothing to restore: {_FROZEN_NOTE}.",
                path=self._backend.path,
                expected="a session of a .meta graph, a checkpoint folder or a SavedModel",
                hint="session.eval(name, feed=...) evaluates this graph as it is",
            )
        if checkpoint is None:
            if self.checkpoint is None:
                raise ArtifactNotFoundError(
                    "This session has no checkpoint to restore from.",
                    expected="a checkpoint prefix or folder",
                    hint="pass one: session.restore('runs/x/model.ckpt-30')",
                )
            return self.checkpoint
        if isinstance(checkpoint, int) and not isinstance(checkpoint, bool):
            return _checkpoint_for_step(self.checkpoint, checkpoint)
        return _resolve_prefix(checkpoint)

    @property
    def global_step(self) -> int | None:
        """The current value of ``global_step`` (TF1) or the optimizer's ``iterations``
        (Keras), or ``None`` when the model has no step counter."""
        return self._read_global_step()

    def _read_global_step(self) -> int | None:
        name = self._global_step_name()
        if name is None:
            return None
        return int(self._backend.values([name])[name])

    def _global_step_name(self) -> str | None:
        backend = self._backend
        if isinstance(backend, _ObjectBackend):
            optimizer = backend.optimizer
            iterations = getattr(optimizer, "iterations", None)
            return backend.name_of(iterations) if iterations is not None else None
        with backend.graph.as_default():
            collected = tf().compat.v1.get_collection("global_step")
        if collected:
            return collected[0].op.name
        names = [n for n in backend.variables() if n.split("/")[-1] == "global_step"]
        return names[0] if names else None

    # -- eval --------------------------------------------------------------------------------
    def eval(self, names, feed: Mapping[Any, Any] | None = None):
        """Evaluate tensors, ops or variables by name.

        ``names``: one name (``"loss/mse:0"``, ``"loss/mse"`` for its first output, a variable
        name such as ``"global_step"``: its value, not its resource handle), a list or a dict of
        names. ``feed``: ``{placeholder name or tensor: value}``.

        Example::

            >>> s.eval("global_step")                                    # doctest: +SKIP
            30
            >>> s.eval({"loss": "loss/mse"}, feed={"inputs/x": x, "inputs/y": y})  # doctest: +SKIP
        """
        self._require_open()
        if isinstance(self._backend, _ObjectBackend):
            return _map_structure(names, lambda n: np.array(self._backend.resolve(n).numpy()))
        fetches = _map_structure(names, self._backend.resolve)
        feed_dict = self._feed_dict(feed)
        self._backend.check(_flatten(fetches), feed_dict)
        values = self._backend.run(fetches, feed_dict)
        return _map_structure(values, _plain)

    def _feed_dict(self, feed) -> dict:
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
                target = targets[key] = self._backend.resolve(key if ":" in key else key + ":0")
            feed_dict[target] = value
        return feed_dict

    # -- train -------------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask a running :meth:`train` to stop after the current step (thread-safe)."""
        self._stop.set()

    def train(
        self,
        steps: int,
        feed=None,
        *,
        train_op=None,
        loss=None,
        record: Iterable[str] = (),
        callback: Callable[[dict], Any] | None = None,
    ):
        """Run ``steps`` training steps and return one DataFrame row per step.

        TF1 graphs: the train op is the ``train_op`` collection's (or ``train_op=`` names it),
        the loss ``loss=``, else :attr:`loss` (the ``loss``/``losses`` collection's, else the
        loss the train op minimizes, found from its gradients), ``global_step`` the
        collection's or the variable named so; all continue from the restored checkpoint, with
        the optimizer's slots. TF2 objects: a compiled Keras model trains with
        ``train_on_batch(x, y)``; otherwise pass ``loss=callable(batch) -> scalar`` and the
        optimizer applies its gradients.

        ``feed``: ``None``, a dict (the same every step), ``callable(step) -> dict`` or a
        ``tf.data.Dataset`` (elements: dicts by placeholder name, or tuples in placeholder
        order). ``record``: more scalars to log each step. ``callback(row)`` after each step.
        Stops cleanly between steps on Ctrl-C (KeyboardInterrupt) or :meth:`stop`.

        Example::

            >>> s.train(5, feed={"inputs/x": x, "inputs/y": y})       # doctest: +SKIP
               step  global_step      loss   seconds
            0     1           31  0.0213    0.004
        """
        self._require_open()
        if self.frozen:
            raise TFExploreError(
                f"Nothing to train: {_FROZEN_NOTE}.",
                path=self._backend.path,
                expected="a session of a .meta graph with a train op, or of a Keras model",
                hint="session.eval(name, feed=...) evaluates this graph as it is",
            )
        self._stop.clear()
        if isinstance(self._backend, _ObjectBackend):
            run_step = self._keras_step_runner(loss, record)
        else:
            record = tuple(record)
            try:
                run_step = self._step_runners.get((train_op, loss, record))
            except TypeError:  # an unhashable train_op= or loss=: no reuse
                run_step = self._graph_step_runner(train_op, loss, record)
            if run_step is None:
                run_step = self._graph_step_runner(train_op, loss, record)
                self._step_runners[(train_op, loss, record)] = run_step
            run_step.start()
        feeds = _feed_source(feed)
        rows: list[dict] = []
        with _interrupts_as(self._stop):
            for index in range(steps):
                if self._stop.is_set():
                    break
                try:
                    batch = next(feeds)(index)
                except StopIteration:
                    break
                if index == 0:
                    self._guard_native_crash(batch, train_op, loss)
                started = time.perf_counter()
                row = run_step(batch)
                row = {
                    "step": len(self._history_rows) + 1,
                    **row,
                    "seconds": time.perf_counter() - started,
                }
                self._history_rows.append(row)
                rows.append(row)
                self._global_step_seen = row.get("global_step", self._global_step_seen)
                if callback is not None:
                    callback(row)
            finish = getattr(run_step, "finish", None)
            if rows and finish is not None:
                actual = finish()
                if actual != rows[-1].get("global_step"):
                    rows[-1]["global_step"] = actual
                self._global_step_seen = actual
        import pandas as pd

        return pd.DataFrame(rows)

    def _guard_native_crash(self, batch, train_op, loss) -> None:
        """Before the first step: if it would run a kernel known to crash this machine's
        process (``tfexplore.live.native``), run it once in a child process first; raise
        :class:`NativeCrashError` if that child dies, so this kernel never does."""
        from . import native as _native

        key = (
            (train_op, loss)
            if all(x is None or isinstance(x, str) for x in (train_op, loss))
            else None
        )
        if self.rehearse is False or key in self._rehearsed or os.environ.get(_native.IN_REHEARSAL):
            return
        risks = _native.active_risks(self._training_op_types())
        if not risks and not self.rehearse:
            return
        if key is not None:
            self._rehearsed.add(key)
        what = "; ".join(r.cause for r in risks) or "you asked for it (session.rehearse = True)"
        result = None
        if self._reopen is not None and key is not None:
            result = _native.rehearse(
                self._reopen, batch, train={"train_op": train_op, "loss": loss}
            )
        if result is None:
            self.notes.append(
                f"The first training step was not rehearsed in a separate process ({what}): "
                "this session was not opened from a file, or its feed or train_op is not "
                "plain data. A crash in TensorFlow's native code would end this process."
            )
            return
        if result.crashed:
            risk = risks[0] if risks else None
            error = NativeCrashError(
                f"The first training step of {self.source} crashed TensorFlow's native code "
                f"({result.signal_name}) when tfexplore rehearsed it in a separate process; it "
                "was not run here, and this kernel is unharmed.",
                path=self.source if self._reopen else None,
                expected=f"a step that runs on this machine; known cause: {what}"
                if risk
                else "a step that runs on this machine",
                hint=risk.avoid
                if risk
                else (
                    "run the same step in a plain Python process to see TensorFlow's message; "
                    "on x86 CPUs try TF_ENABLE_ONEDNN_OPTS=0 set before TensorFlow is imported"
                ),
            )
            error.risk = risk.name if risk else None
            error.signal = result.signal_name
            raise error
        self.notes.append(
            f"The first training step was rehearsed in a separate process first ({what}); "
            "it ran without crashing, so training goes on here."
        )

    def _training_op_types(self) -> set[str]:
        """The op types a training step may run (all of the graph's, or the Keras layers')."""
        from . import native as _native

        backend = self._backend
        if isinstance(backend, _ObjectBackend):
            model = getattr(backend, "model", None)
            return _native.keras_training_op_types(model) if model is not None else set()
        return {op.type for op in backend.graph.get_operations()}

    def _graph_step_runner(self, train_op, loss, record):
        """One training step as a ``make_callable`` per feed signature (checked by
        ``safety`` the first time), and ``global_step`` tracked by :class:`_StepCounter`."""
        backend: _GraphBackend = self._backend
        train_fetch = self._find_train_op(train_op)
        loss_fetch = self._find_loss(loss, train_fetch)
        step_name = self._global_step_name()
        recorded = {name: backend.resolve(name) for name in record}
        fetches = [train_fetch, *([loss_fetch] if loss_fetch is not None else [])]
        fetches += list(recorded.values())
        has_loss = loss_fetch is not None
        counter = _StepCounter(backend, step_name) if step_name is not None else None
        callables: dict[tuple, Callable[..., list]] = {}

        def run_step(batch) -> dict:
            feed_dict = self._batch_feed(batch)
            signature = tuple(feed_dict)
            call = callables.get(signature)
            if call is None:
                backend.check(fetches, feed_dict)
                call = callables[signature] = backend.callable(fetches, list(signature))
            if counter is not None:
                counter.before_step()
            out = call(*feed_dict.values())
            row = {}
            if counter is not None:
                row["global_step"] = counter.after_step()
            if has_loss:  # a non-scalar loss: its sum, what minimize() minimizes
                row["loss"] = float(np.sum(out[1]))
            for offset, name in enumerate(recorded, start=1 + has_loss):
                row[name] = _plain(out[offset])
            return row

        run_step.start = counter.reset if counter is not None else (lambda: None)
        run_step.finish = counter.finish if counter is not None else None
        return run_step

    def _batch_feed(self, batch) -> dict:
        if batch is None:
            return {}
        if isinstance(batch, Mapping):
            return self._feed_dict({k: _numpy(v) for k, v in batch.items()})
        if isinstance(batch, (tuple, list)):
            placeholders = self._placeholders_in_order()
            if len(placeholders) != len(batch):
                raise TFExploreError(
                    f"A batch of {len(batch)} values cannot be matched to the graph's "
                    f"{len(placeholders)} placeholders ({', '.join(placeholders)}).",
                    expected="dataset elements as dicts {placeholder name: value}",
                    hint="map the dataset: ds.map(lambda x, y: {'inputs/x': x, 'inputs/y': y})",
                )
            return self._feed_dict({p: _numpy(v) for p, v in zip(placeholders, batch)})
        raise TypeError(f"cannot feed {type(batch).__name__}: expected a dict, a tuple or a list")

    def _placeholders_in_order(self) -> list[str]:
        return [
            op.name
            for op in self._backend.graph.get_operations()
            if op.type == "Placeholder" and not op.name.startswith("tfexplore_")
        ]

    def _find_train_op(self, train_op):
        backend: _GraphBackend = self._backend
        if train_op is not None:
            found = backend.resolve(train_op)
            return found.op if hasattr(found, "op") and not isinstance(train_op, str) else found
        with backend.graph.as_default():
            collected = tf().compat.v1.get_collection("train_op")
        if not collected:
            raise TFExploreError(
                "The graph has no 'train_op' collection, so the training op is unknown.",
                path=backend.path,
                expected="a train_op collection (tf.compat.v1.add_to_collection('train_op', op))",
                hint="name it: session.train(steps, train_op='train/Adam')",
            )
        item = collected[0]
        return item if isinstance(item, tf().Operation) else item.op

    def _find_loss(self, loss, train_op=None):
        backend: _GraphBackend = self._backend
        if loss is None:
            loss = self._loss_choice
        if loss is not None:
            return backend.resolve(loss)
        with backend.graph.as_default():
            v1 = tf().compat.v1
            collected = v1.get_collection("loss") or v1.get_collection("losses")
        if collected:
            return collected[0]
        found = self._losses_of(train_op)
        return backend.resolve(found[0].tensor) if found else None

    def _losses_of(self, train_op) -> list:
        """The losses ``train_op`` minimizes, found from its gradients (:mod:`tfexplore.graph.losses`)."""
        from ..graph.losses import find_losses
        from ..graph.model import Graph

        name = getattr(train_op, "name", train_op)  # None: every loss of the graph
        if name not in self._loss_cache:
            self._loss_cache[name] = find_losses(Graph(self._backend.graph_def()), name)
        return self._loss_cache[name]

    @property
    def loss_candidates(self) -> list:
        """TF1 graphs: the losses the train op (the ``train_op`` collection's; without one,
        every train op of the graph) minimizes, found from its gradients: a list of
        :class:`tfexplore.graph.losses.LossCandidate` (``tensor``, ``op_type``, ``evidence``...), the
        one ``train`` records first. Empty for TF2 objects or when no train op is known."""
        if not isinstance(self._backend, _GraphBackend):
            return []
        try:
            return list(self._losses_of(self._find_train_op(None)))
        except TFExploreError:  # no train_op collection: every loss with a gradient
            return list(self._losses_of(None))

    @property
    def loss(self) -> str | None:
        """The loss ``train`` records (TF1 graphs): set it to a tensor name to choose another
        (``session.loss = loss_candidates[1].tensor``); ``None`` means the ``loss``/``losses``
        collection's, else the first of :attr:`loss_candidates`."""
        if self._loss_choice is not None or not isinstance(self._backend, _GraphBackend):
            return self._loss_choice
        try:
            train_op = self._find_train_op(None)
        except TFExploreError:  # no train_op collection: the losses of every train op
            train_op = None
        try:
            found = self._find_loss(None, train_op)
        except TFExploreError:
            return None
        return getattr(found, "name", None)

    @loss.setter
    def loss(self, name: str | None) -> None:
        if name is not None and isinstance(self._backend, _GraphBackend):
            self._backend.resolve(name)  # an unknown name fails now, with suggestions
        self._loss_choice = name
        self._step_runners.clear()

    def _keras_step_runner(self, loss, record):
        backend: _ObjectBackend = self._backend
        model, optimizer = backend.model, backend.optimizer
        if model is None:
            raise TFExploreError(
                f"This session ({self.source}) holds no Keras model, so there is no training "
                "step to run: a TF2 SavedModel or checkpoint keeps variables and traced "
                "functions, not the model's Python code.",
                path=getattr(backend, "path", None),
                expected="a Keras model (a .keras file, or your model object)",
                hint="tfexplore.session(model, checkpoint) with your compiled Keras model; "
                "this session can still restore, eval, snapshot and save",
            )
        if loss is None and not getattr(model, "compiled", False):
            raise TFExploreError(
                "This model is not compiled, so its loss is unknown.",
                expected="a compiled Keras model, or loss=callable(batch) -> scalar",
                hint="session.train(steps, feed=dataset, "
                "loss=lambda b: tf.reduce_mean((model(b[0]) - b[1]) ** 2))",
            )
        if model is None or (loss is not None and optimizer is None):
            raise TFExploreError(
                "Training TF2 objects needs a Keras model and an optimizer; this session has "
                f"model={type(model).__name__}, optimizer={type(optimizer).__name__}.",
                expected="tfexplore.session(model) with a compiled model, or a dict "
                "{'model': model, 'optimizer': optimizer}",
                hint="compile the model, or pass the optimizer in the dict of objects",
            )
        step_name = self._global_step_name()

        def run_step(batch) -> dict:
            if loss is None:
                x, y = batch if isinstance(batch, (tuple, list)) else (batch["x"], batch["y"])
                value = model.train_on_batch(x, y)
                value = value[0] if isinstance(value, (list, tuple)) else value
            else:
                with tf().GradientTape() as tape:
                    value = loss(batch)
                variables = model.trainable_variables
                optimizer.apply_gradients(zip(tape.gradient(value, variables), variables))
            row = {}
            if step_name is not None:
                row["global_step"] = int(backend.values([step_name])[step_name])
            row["loss"] = float(np.asarray(value))
            row.update({name: _plain(np.array(backend.resolve(name).numpy())) for name in record})
            return row

        return run_step

    # -- snapshot / rollback -----------------------------------------------------------------
    def snapshot(self, name: str | None = None) -> str:
        """Copy every variable's value into memory (no disk I/O); return the snapshot's name.

        Example::

            >>> s.snapshot("before"); s.train(50, feed=batch); s.rollback("before")  # doctest: +SKIP
        """
        self._require_open()
        name = name or f"snapshot-{len(self._snapshots) + 1}"
        self._snapshots[name] = self._backend.values(self._backend.variables())
        return name

    def rollback(self, name: str | None = None) -> None:
        """Put back the values of snapshot ``name`` (the latest one by default)."""
        self._require_open()
        if not self._snapshots:
            raise TFExploreError(
                "There is no snapshot to roll back to.", hint="call session.snapshot() first"
            )
        if name is None:
            name = list(self._snapshots)[-1]
        if name not in self._snapshots:
            raise TensorNotFoundError(
                f"No snapshot named {name!r}.", suggestions=_suggest(name, self._snapshots)
            )
        self._backend.assign(self._snapshots[name])
        self._global_step_seen = self._read_global_step()

    @property
    def snapshots(self) -> list[str]:
        """The names of the snapshots held in memory."""
        return list(self._snapshots)

    # -- save --------------------------------------------------------------------------------
    def save(
        self, folder: str | os.PathLike, *, overwrite: bool = False, name: str = "model.ckpt"
    ) -> str:
        """Write a normal TensorFlow checkpoint ``folder/model.ckpt-STEP`` (+ ``.meta`` for TF1
        graphs) and update ``folder/checkpoint``; return the prefix.

        The files are written under a temporary name in ``folder``, renamed into place (the
        ``.index`` last), and the state file is replaced last, so an interrupted save leaves
        the previous checkpoint and state file valid. With ``overwrite=True`` the old files
        are kept (hard-linked) until the new ones are complete, and the state file names them
        meanwhile (see :mod:`tfexplore.live.saving`).

        Example::

            >>> prefix = s.save("runs/resumed")                         # doctest: +SKIP
            >>> tf.compat.v1.train.Saver().restore(sess, prefix)          # doctest: +SKIP

        Raises:
            CheckpointExistsError: the prefix exists and ``overwrite`` is false.
        """
        self._require_open()
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        step = self._read_global_step()
        step = step if step is not None else len(self._history_rows)
        prefix = folder / f"{name}-{step}"
        existing = sorted(p.name for p in folder.glob(f"{_glob_escape(prefix.name)}.*"))
        if existing and not overwrite:
            raise CheckpointExistsError(
                f"A checkpoint {str(prefix)!r} already exists ({', '.join(existing[:3])}).",
                path=prefix,
                expected="a prefix that is not taken yet",
                hint="pass overwrite=True, or save into another folder",
            )
        _saving.recover(folder)
        temporary = _saving.temporary_folder(folder)
        try:
            self._backend.write(str(temporary / prefix.name))
            _saving.publish(temporary, prefix)
        finally:
            shutil.rmtree(temporary, ignore_errors=True)
        return str(prefix)

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        """Close the TensorFlow session (yours is left open if you passed it in)."""
        if not self._closed:
            self._backend.close()
            self._closed = True

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _require_open(self) -> None:
        if self._closed:
            raise TFExploreError(
                "This session is closed.", hint="open a new one with tfexplore.session(...)"
            )


#: what a session of a frozen graph offers, said once
_FROZEN_NOTE = (
    "a frozen graph keeps its weights as constants (Const ops): there are no variables to "
    "restore or train; evaluate tensors with feeds: session.eval(name, feed={placeholder: value})"
)
