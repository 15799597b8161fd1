"""The only package that runs ops: sessions on TF1 graphs and TF2 objects.

- ``open``: :func:`session` (what a source is) with ``open_graph``, ``open_savedmodel``,
  ``open_keras`` for each kind of source
- ``session``: :class:`Session`: restore, eval, train, snapshot, rollback, save
- ``restore``: matching variables to checkpoint keys, the :class:`RestoreReport`
- ``backend``: the protocol a session asks of its backend; ``backend_graph``,
  ``backend_objects``: a ``tf.compat.v1.Session`` graph, or Keras/TF2 objects
- ``steps``: a training step of each backend, feeds, the global step counter, Ctrl-C as a stop
  between steps
- ``keras_h5``: a legacy ``.h5`` model compiled from its file, optimizer state put back
- ``saving``: writes that leave nothing half-written; ``native``: crashes kept out of the kernel
- ``remote``: sessions on URLs: the files a session needs staged into a temporary folder
  (``Session.staged``); checkpoints saved to a URL
"""

from __future__ import annotations

from .open import session
from .restore import RestoreReport
from .session import Session

__all__ = ["RestoreReport", "Session", "session"]
