"""Training steps: one step of a TF1 graph (a fast callable per feed signature) or of a Keras
model, the global step counter, feeds (a dict, a list, a callable of the step), values as plain
Python, Ctrl-C as a stop between steps. The backends make their steps with these."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from .._tf import tf
from ..errors import NothingToTrainError, TrainOpNotFoundError
from .backend import StepRunner


# == helpers: values, feeds, interrupts ======================================================
def _plain(value):
    if isinstance(value, np.ndarray) and value.shape == ():
        return value.item()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _numpy(value):
    return value.numpy() if hasattr(value, "numpy") else value


def _map_structure(items, function):
    if isinstance(items, Mapping):
        return {k: function(v) for k, v in items.items()}
    if isinstance(items, (list, tuple)):
        return type(items)(function(v) for v in items)
    return function(items)


def _flatten(items) -> list:
    if isinstance(items, Mapping):
        return list(items.values())
    if isinstance(items, (list, tuple)):
        return list(items)
    return [items]


def _feed_source(feed) -> Iterator[Callable[[int], Any]]:
    """An endless iterator of ``step -> batch`` functions; it ends when a dataset (or any
    iterator) does. Dicts, tuples and lists are one batch used at every step."""
    if hasattr(feed, "element_spec") or hasattr(feed, "__next__"):
        for element in feed:
            yield lambda _step, element=element: element
        return
    if callable(feed):
        while True:
            yield feed
    while True:
        yield lambda _step: feed


@contextlib.contextmanager
def _interrupts_as(stop: threading.Event) -> Iterator[None]:
    """Turn Ctrl-C into ``stop`` (checked between steps) while training in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        try:
            yield
        except KeyboardInterrupt:
            stop.set()
        return
    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        yield
    except KeyboardInterrupt:
        stop.set()
    finally:
        signal.signal(signal.SIGINT, previous)


# == steps ===================================================================================
def graph_step_runner(backend: Any, train_op, loss, record: Iterable[str]) -> StepRunner:
    """One TF1 training step of ``backend`` (a ``backend_graph._GraphBackend``) as a
    ``make_callable`` per feed signature (checked by ``safety`` the first time), and
    ``global_step`` tracked by :class:`_StepCounter`."""
    train_fetch = backend.find_train_op(train_op)
    loss_fetch = backend.find_loss(loss, train_fetch)
    step_name = backend.global_step_name()
    recorded = {name: backend.resolve(name) for name in record}
    fetches = [train_fetch, *([loss_fetch] if loss_fetch is not None else [])]
    fetches += list(recorded.values())
    has_loss = loss_fetch is not None
    counter = _StepCounter(backend, step_name) if step_name is not None else None
    callables: dict[tuple, Callable[..., list]] = {}

    def run_step(batch) -> dict:
        feed_dict = backend.batch_feed(batch)
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

    if counter is None:
        return StepRunner(run_step)
    return StepRunner(run_step, start=counter.reset, finish=counter.finish)


def keras_step_runner(backend: Any, loss, record: Iterable[str], *, source: str) -> StepRunner:
    """One TF2 training step of ``backend`` (a ``backend_objects._ObjectBackend``):
    ``train_on_batch`` of a compiled Keras model, or the gradients of ``loss(batch)`` applied
    by the optimizer."""
    model, optimizer = backend.model, backend.optimizer
    if model is None:
        raise NothingToTrainError(
            f"This session ({source}) holds no Keras model, so there is no training "
            "step to run: a TF2 SavedModel or checkpoint keeps variables and traced "
            "functions, not the model's Python code.",
            path=backend.path,
            expected="a Keras model (a .keras file, or your model object)",
            hint="tfexplore.session(model, checkpoint) with your compiled Keras model; "
            "this session can still restore, eval, snapshot and save",
        )
    if loss is None and not getattr(model, "compiled", False):
        raise TrainOpNotFoundError(
            "This model is not compiled, so its loss is unknown.",
            expected="a compiled Keras model, or loss=callable(batch) -> scalar",
            hint="session.train(steps, feed=dataset, "
            "loss=lambda b: tf.reduce_mean((model(b[0]) - b[1]) ** 2))",
        )
    if loss is not None and optimizer is None:
        raise NothingToTrainError(
            "Training TF2 objects needs a Keras model and an optimizer; this session has "
            f"model={type(model).__name__}, optimizer={type(optimizer).__name__}.",
            expected="tfexplore.session(model) with a compiled model, or a dict "
            "{'model': model, 'optimizer': optimizer}",
            hint="compile the model, or pass the optimizer in the dict of objects",
        )
    step_name = backend.global_step_name()
    record = tuple(record)

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

    return StepRunner(run_step)


class _StepCounter:
    """``global_step`` during a training loop without a second ``session.run`` per step.

    The first step is read before and after. If the train op adds exactly 1 (what
    ``Optimizer.minimize(global_step=...)`` does), later steps count on locally and the value
    is read again every ``verify_every`` steps and when the loop ends (:meth:`finish`); a
    mismatch switches back to reading after every step. A train op that does not add 1 is read
    after every step from the start.
    """

    verify_every = 200

    def __init__(self, backend: Any, name: str) -> None:
        read = backend.read_tensor(name)
        self._read = backend.callable([read], [])
        self._value: int | None = None
        self._counting = False
        self._since_check = 0

    def reset(self) -> None:
        """Forget the count (other ops may have run since the last loop): read it again."""
        self._value = None
        self._counting = False

    def read(self) -> int:
        self._value = int(self._read()[0])
        self._since_check = 0
        return self._value

    def before_step(self) -> None:
        if self._value is None:
            self.read()

    def after_step(self) -> int:
        if self._counting and self._since_check < self.verify_every:
            self._value += 1
            self._since_check += 1
            return self._value
        expected = self._value + 1
        actual = self.read()
        self._counting = actual == expected
        return actual

    def finish(self) -> int:
        """Read the true value (and stop counting if it differs from the count)."""
        counted = self._value
        actual = self.read()
        if actual != counted:
            self._counting = False
        return actual
