"""What a training step needs besides its backend: the global step counter, feeds (a dict, a
list, a callable of the step), values as plain Python, Ctrl-C as a stop between steps."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np


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
