"""A live session: import a meta graph, restore its weights, evaluate tensors, resume training,
snapshot, roll back and save again.

Everything else in tfexplore only reads. A :class:`Session` runs ops, but only when one of its
methods is called, and the ops a file brings are checked by :mod:`tfexplore.safety` first.

Example (the seed workflow)::

    >>> import tfexplore
    >>> s = tfexplore.session("runs/mnist")  # latest .meta + its checkpoint   # doctest: +SKIP
    >>> s.eval("global_step")                                                 # doctest: +SKIP
    30
    >>> s.train(5, feed={"inputs/x": x, "inputs/y": y})  # step, global_step, loss  # doctest: +SKIP
    >>> s.snapshot("before"); s.train(100, feed=...)                         # doctest: +SKIP
    >>> s.rollback("before")                                                  # doctest: +SKIP
    >>> s.save("runs/mnist")                 # runs/mnist/model.ckpt-35       # doctest: +SKIP

Sources: a ``.meta`` file, a checkpoint folder or prefix with its ``.meta`` (TF1 graphs); your
own ``tf.compat.v1.Session`` or ``tf.Graph``; a Keras model, a ``.keras`` file, a
``tf.train.Checkpoint`` or a dict of trackable objects (TF2), each with a checkpoint to restore.
Any of those files may be at a URL (``s3://``, ``gs://``...): the session then runs on a local
copy of exactly the files it needs, which ``session.staged`` describes (see
:mod:`tfexplore.live.remote`); :meth:`Session.restore` and :meth:`Session.save` take URLs too.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._fs import RemotePath, count_fetches, is_url
from ..errors import (
    ArtifactNotFoundError,
    CheckpointExistsError,
    NoSnapshotError,
    NothingToRestoreError,
    NothingToTrainError,
    RestoreMismatchError,
    SessionClosedError,
    TensorNotFoundError,
)
from . import remote as _remote
from . import saving as _saving
from .backend import Backend
from .backend_graph import _suggest
from .native import guard_first_step
from .restore import (
    _COLUMNS,
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
from .steps import _feed_source, _interrupts_as

if TYPE_CHECKING:
    import pandas as pd
    import tensorflow as tf

    from ..graph.losses import LossCandidate
    from .remote import Staged


# == the session =============================================================================
class Session:
    """A live TensorFlow session over a graph (TF1) or trackable objects (TF2).

    Made by :func:`session`. Methods: :meth:`restore`, :meth:`eval`, :meth:`train`,
    :meth:`snapshot`/:meth:`rollback`, :meth:`save`, :meth:`stop`, :meth:`close`. ``history``
    holds every training step so far; ``variables`` lists the variables.
    """

    def __init__(
        self,
        backend: Backend,
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
        #: what opening the source did that a user should know (how optimizer state matched)
        self.notes: list[str] = []
        #: a problem that did not stop the session (optimizer state not loaded), else None
        self.warning: str | None = None
        #: rehearse the first training step in a separate process first
        #: (``tfexplore.live.native``): ``None`` when a known native crash applies to this
        #: machine and model, or always/never
        self.rehearse: bool | None = None
        self._reopen: dict | None = None  # session() arguments that open this source again
        self._rehearsed: set[tuple] = set()
        #: a GraphDef session (a frozen graph): weights are constants, nothing to restore
        self.frozen = False
        #: what a session opened from a URL copied to this machine (:class:`~tfexplore.live.
        #: remote.Staged`: ``url``, ``how`` (``"staged"``), ``files``, ``bytes``, ``folder``),
        #: removed when the session closes; ``None`` when nothing was staged
        self.staged: Staged | None = None
        # checkpoint names as shown (a path, or a URL) -> where they are read: a local copy
        # (staged), a RemotePath (read in byte ranges), or the path itself when absent here
        self._checkpoint_at: dict[str, str | RemotePath] = {}
        # checkpoint URLs -> their RemotePath (a staged one too: restore(step) lists its folder)
        self._checkpoint_url: dict[str, RemotePath] = {}
        #: fsspec options for URLs given without ``storage_options`` (those of the session's
        #: URL, else of the last restore from a URL)
        self.storage_options: dict | None = None

    # -- description -------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        """``"tf1 graph"`` or ``"tf2 objects"``."""
        return self._backend.kind

    @property
    def graph(self) -> tf.Graph | None:
        """The ``tf.Graph`` (TF1 sessions), else ``None``."""
        return self._backend.graph

    @property
    def tf_session(self) -> tf.compat.v1.Session | None:
        """The underlying ``tf.compat.v1.Session`` (TF1 sessions), else ``None``."""
        return self._backend.session

    @property
    def model(self) -> Any:
        """The Keras model (TF2 sessions of a model or a ``.keras``/``.h5`` file), else
        ``None``."""
        return self._backend.model

    @property
    def variables(self) -> pd.DataFrame:
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
    def history(self) -> pd.DataFrame:
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
        if self.staged is not None:
            where = "removed" if self.staged.removed else f"in {self.staged.folder}"
            lines.append(f"  remote       {self.staged.describe()} ({where})")
        if self.warning:
            lines.append(f"  warning      {self.warning}")
        return "\n".join(lines)

    # -- restore -----------------------------------------------------------------------------
    def plan_restore(
        self, checkpoint=None, *, mapping=None, prefix_rewrite=None, storage_options=None
    ) -> RestoreReport:
        """What :meth:`restore` would do, without changing any variable (a checkpoint at a URL:
        only its ``.index`` is fetched)."""
        import pandas as pd

        prefix = self._resolve_checkpoint(checkpoint, storage_options)
        checkpoint_vars = _checkpoint_variables(self._checkpoint_at.get(prefix, prefix))
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
        report = RestoreReport(
            frame,
            checkpoint=prefix,
            proposed_mapping=proposed,
            proposed_prefix_rewrite=rewrite,
            devices_cleared=self.devices_cleared,
        )
        if self.staged is not None and self.staged.holds(self._checkpoint_at.get(prefix)):
            report.staged = self.staged.describe()
        return report

    def restore(
        self,
        checkpoint=None,
        *,
        mapping: Mapping[str, Any] | None = None,
        prefix_rewrite: Mapping[str, str] | None = None,
        partial: bool = False,
        storage_options: dict | None = None,
    ) -> RestoreReport:
        """Restore variables from a checkpoint and return the :class:`RestoreReport`.

        ``checkpoint``: a prefix, a folder (its latest checkpoint), a step number (in the
        session's folder) or ``None`` (the session's checkpoint). It may be a URL
        (``s3://bucket/run``, ``gs://...``; ``storage_options`` go to fsspec, default the
        session's :attr:`storage_options`): nothing is staged then, each tensor is read in
        byte ranges and checked by the same reader as a local checkpoint's
        (``report.fetched`` counts the bytes). A checkpoint the session staged when it opened
        is read from its local copy (``report.staged`` says so). ``mapping``:
        ``{checkpoint_key: variable or name}`` like a Saver's ``var_list``; variables it does
        not name are matched by name. ``prefix_rewrite={"old/": "new/"}`` reads checkpoint key
        ``old/x`` into variable ``new/x``. With ``partial=True`` what fits is restored and the
        rest is reported, and variables that were not restored and have no value yet are
        initialized by their own initializers (``report.initialized`` names them); without
        it any missing or mismatched variable raises :class:`RestoreMismatchError` and nothing
        is restored.

        Example::

            >>> report = s.restore(                                    # doctest: +SKIP
            ...     "old/model.ckpt-30", prefix_rewrite={"old/": "new/"})
        """
        report = self.plan_restore(
            checkpoint,
            mapping=mapping,
            prefix_rewrite=prefix_rewrite,
            storage_options=storage_options,
        )
        if not report.ok and not partial:
            raise self._mismatch_error(report)
        where = self._checkpoint_at.get(report.checkpoint, report.checkpoint)
        _require_data(where)  # a missing .data file is named before anything runs
        pairs = report.mapping
        if isinstance(where, RemotePath):  # TensorFlow's restore op cannot read a URL
            with count_fetches() as fetched:
                self._assign_from_checkpoint(where, pairs)
            report.fetched = fetched
        elif self._can_use_file_saver(report, mapping, prefix_rewrite):
            self._backend.restore_file(where)
        else:
            self._assign_from_checkpoint(where, pairs)
        if not report.ok:
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
            expected="every variable in the checkpoint under its name, with the same shape and "
            "dtype",
            hint=hint,
        )
        error.report = report
        error.session = self
        return error

    def _can_use_file_saver(self, report, mapping, prefix_rewrite) -> bool:
        backend = self._backend
        saver = backend.file_saver
        every_variable = (report.frame["status"] == "restored").sum() == len(backend.variables())
        return (
            saver is not None
            and not mapping
            and not prefix_rewrite
            and report.ok
            and every_variable
        )

    def _assign_from_checkpoint(self, prefix: str | RemotePath, pairs: Mapping[str, str]) -> None:
        values = _read_values(prefix, pairs)
        self._backend.assign({name: values[key] for key, name in pairs.items()})

    def _resolve_checkpoint(self, checkpoint, storage_options: dict | None = None) -> str:
        """The name of the checkpoint to restore, as reports show it (a path or a URL); where
        it is read from is ``self._checkpoint_at`` of that name, when it is not the name."""
        if self.frozen:
            raise NothingToRestoreError(
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
            current = self._checkpoint_url.get(self.checkpoint or "", self.checkpoint)
            return self._named(_checkpoint_for_step(current, checkpoint))
        if is_url(checkpoint):
            if storage_options is None and str(checkpoint).rstrip("/") in self._checkpoint_at:
                return str(checkpoint).rstrip("/")  # a prefix this session knows
            if storage_options is None:
                storage_options = self.storage_options
            else:
                self.storage_options = storage_options
        return self._named(_resolve_prefix(checkpoint, storage_options))

    def _named(self, prefix: str | RemotePath) -> str:
        """A resolved prefix's name; a remote one is remembered (with its credentials) under
        its URL, unless that URL's files were staged (then the local copy is read)."""
        if not isinstance(prefix, RemotePath):
            return prefix
        self._checkpoint_url[prefix.url] = prefix
        self._checkpoint_at.setdefault(prefix.url, prefix)
        return prefix.url

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
        return self._backend.global_step_name()

    # -- eval --------------------------------------------------------------------------------
    def eval(self, names, feed: Mapping[Any, Any] | None = None) -> Any:
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
        return self._backend.evaluate(names, feed)

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
    ) -> pd.DataFrame:
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
            raise NothingToTrainError(
                f"Nothing to train: {_FROZEN_NOTE}.",
                path=self._backend.path,
                expected="a session of a .meta graph with a train op, or of a Keras model",
                hint="session.eval(name, feed=...) evaluates this graph as it is",
            )
        self._stop.clear()
        run_step = self._backend.step_runner(train_op, loss, tuple(record), source=self.source)
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
                    guard_first_step(self, batch, train_op, loss)
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
            if rows and run_step.finish is not None:
                actual = run_step.finish()
                if actual != rows[-1].get("global_step"):
                    rows[-1]["global_step"] = actual
                self._global_step_seen = actual
        import pandas as pd

        return pd.DataFrame(rows)

    @property
    def loss_candidates(self) -> list[LossCandidate]:
        """TF1 graphs: the losses the train op (the ``train_op`` collection's; without one,
        every train op of the graph) minimizes, found from its gradients: a list of
        :class:`tfexplore.graph.losses.LossCandidate` (``tensor``, ``op_type``,
        ``evidence``...), the one ``train`` records first. Empty for TF2 objects or when no
        train op is known."""
        return self._backend.loss_candidates()

    @property
    def loss(self) -> str | None:
        """The loss ``train`` records (TF1 graphs): set it to a tensor name to choose another
        (``session.loss = loss_candidates[1].tensor``); ``None`` means the ``loss``/``losses``
        collection's, else the first of :attr:`loss_candidates`."""
        return self._backend.loss_name()

    @loss.setter
    def loss(self, name: str | None) -> None:
        self._backend.choose_loss(name)

    # -- snapshot / rollback -----------------------------------------------------------------
    def snapshot(self, name: str | None = None) -> str:
        """Copy every variable's value into memory (no disk I/O); return the snapshot's name.

        Example::

            >>> s.snapshot("before"); s.train(50, feed=batch)  # doctest: +SKIP
            >>> s.rollback("before")                           # doctest: +SKIP
        """
        self._require_open()
        name = name or f"snapshot-{len(self._snapshots) + 1}"
        self._snapshots[name] = self._backend.values(self._backend.variables())
        return name

    def rollback(self, name: str | None = None) -> None:
        """Put back the values of snapshot ``name`` (the latest one by default)."""
        self._require_open()
        if not self._snapshots:
            raise NoSnapshotError(
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
        self,
        folder: str | os.PathLike,
        *,
        overwrite: bool = False,
        name: str = "model.ckpt",
        storage_options: dict | None = None,
    ) -> str:
        """Write a normal TensorFlow checkpoint ``folder/model.ckpt-STEP`` (+ ``.meta`` for TF1
        graphs) and update ``folder/checkpoint``; return the prefix.

        The files are written under a temporary name in ``folder``, renamed into place (the
        ``.index`` last), and the state file is replaced last, so an interrupted save leaves
        the previous checkpoint and state file valid. With ``overwrite=True`` the old files
        are kept (hard-linked) until the new ones are complete, and the state file names them
        meanwhile (see :mod:`tfexplore.live.saving`).

        ``folder`` may be a URL (``s3://bucket/run``; ``storage_options`` go to fsspec, default
        the session's :attr:`storage_options`): the checkpoint is written to a local temporary
        folder, then uploaded: data shards, ``.meta``, the ``.index`` last, each upload's size
        checked, then the folder's ``checkpoint`` state file (one write; it keeps the
        checkpoints it listed that are still there). A save interrupted before the state file
        leaves the previous checkpoint named there; with ``overwrite=True`` the old ``.index``
        is deleted first, so until the new one is up that prefix reads as absent, never as an
        old index over new data (object storage has no rename, so no backup is kept). Returns
        the new prefix's URL.

        Example::

            >>> prefix = s.save("runs/resumed")                         # doctest: +SKIP
            >>> tf.compat.v1.train.Saver().restore(sess, prefix)          # doctest: +SKIP

        Raises:
            CheckpointExistsError: the prefix exists and ``overwrite`` is false.
        """
        self._require_open()
        step = self._read_global_step()
        step = step if step is not None else len(self._history_rows)
        if is_url(folder):
            options = self.storage_options if storage_options is None else storage_options
            return _remote.save_to_url(
                self._backend.write, folder, f"{name}-{step}",
                storage_options=options, overwrite=overwrite,
            )  # fmt: skip
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
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
            _saving.discard(temporary)
        return str(prefix)

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        """Close the TensorFlow session (yours is left open if you passed it in); remove the
        files staged for a session opened from a URL."""
        if not self._closed:
            try:
                self._backend.close()
            finally:
                self._closed = True
                if self.staged is not None:
                    self.staged.remove()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _require_open(self) -> None:
        if self._closed:
            raise SessionClosedError(
                "This session is closed.", hint="open a new one with tfexplore.session(...)"
            )


#: what a session of a frozen graph offers, said once
_FROZEN_NOTE = (
    "a frozen graph keeps its weights as constants (Const ops): there are no variables to "
    "restore or train; evaluate tensors with feeds: session.eval(name, feed={placeholder: value})"
)
