"""One GraphDef (or one FunctionDef body) as data: no TensorFlow graph is built.

- ``model``: :class:`Graph`: nodes and edges as DataFrames, scopes, tensors, functions, ``find``
- ``consts``: a ``Const``'s tensor decoded within limits
- ``losses``: the loss a TF1 train op minimizes, found from its gradients
"""

from __future__ import annotations

from .model import Graph

__all__ = ["Graph"]
