"""One GraphDef (or one FunctionDef body) as data: no TensorFlow graph is built.

- ``model``: :class:`Graph`: nodes and edges as DataFrames, scopes, tensors, ``find``
- ``records``: what a graph hands out: ``TensorInfo``, ``Node``, ``Consumer``, ``Scope``
- ``protos``: NodeDef/AttrValue/OpDef protos read into plain values (signatures, dtypes, attrs)
- ``functions``: the function library: function bodies as graphs, built on first access
- ``variables``: what a variable's tensors are (handle, reference, value), in prose
- ``ops``: the op types named once (variables that hold or access a value, call ops)
- ``query``: the one search syntax (words, globs, ``op:TYPE``, ``re:``) and its matcher
- ``consts``: a ``Const``'s tensor decoded within limits
- ``losses``: the loss a TF1 train op minimizes, found from its gradients
"""

from __future__ import annotations

from .model import Graph

__all__ = ["Graph"]
