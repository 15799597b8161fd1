"""Which loss a TF1 train op minimizes, found in the graph itself (pure graph analysis: no
TensorFlow op runs, nothing is imported into a session).

Many TF1 graphs never put their loss in a ``loss``/``losses`` collection. But every
``optimizer.minimize(loss)`` (and ``compute_gradients(loss)``) calls ``tf.gradients``, which
*seeds* the backward pass with ones shaped like the loss, inside its own name scope
(``gradients``, ``gradients_1``, ``train/gradients``)::

    gradients/Shape        = Shape(loss)  or  Const (the loss's shape when it is known)
    gradients/grad_ys_0    = Fill(gradients/Shape, 1)       # TF >= 1.5 names it grad_ys_N
    gradients/Fill         = Fill(gradients/Shape, Const)   # older TF
    gradients/loss_grad/.. = the gradient of the op `loss`, fed by the seed

So the loss is the input of ``gradients/Shape`` when that is a ``Shape`` op, else the op whose
gradient scope (``gradients/<op>_grad``) consumes the seed; an ``Identity`` on top of it
(``tf.identity(x, name="loss")``, whose gradient makes no op) is followed forward. The train
op is followed backward (data and control inputs) to the seeds it depends on: one seed per
``tf.gradients`` call, so a train op that groups two ``minimize`` calls has two candidates.

Example::

    >>> from tfexplore.graph.losses import find_losses
    >>> graph = tfexplore.open("model.ckpt-30.meta").graph     # doctest: +SKIP
    >>> find_losses(graph, train_op="Adam")                     # doctest: +SKIP
    [LossCandidate(tensor='loss:0', op_type='Mean', gradients='gradients', ...)]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import TFExploreError
from .model import Graph

__all__ = ["LossCandidate", "find_losses"]

#: the name scope of one ``tf.gradients`` call (``gradients``, ``gradients_3``, ``a/gradients``)
_GRADIENT_SCOPE = re.compile(r"(?:^|/)gradients(?:_\d+)?$")
#: the seed's own name inside that scope
_SEED_NAME = re.compile(r"^(?:Fill|grad_ys_\d+)$")
_SEED_OPS = ("Fill", "Const", "OnesLike")
#: ops whose gradient passes the seed through without an op of its own
_PASS_THROUGH = ("Identity",)


@dataclass(frozen=True)
class LossCandidate:
    """A tensor a train op minimizes.

    Attributes:
        tensor: its name (``loss:0``), what ``Session.train(loss=...)`` takes.
        op_type: the type of the op that makes it (``Mean``, ``Identity``, ``AddN``...).
        gradients: the name scope of the ``tf.gradients`` call that differentiates it.
        seed: the op that seeds its gradient with ones (``gradients/grad_ys_0``).
        evidence: how it was found: ``"shape"`` (the seed is shaped by ``Shape(loss)``) or
            ``"gradient scope"`` (the seed feeds ``gradients/<loss op>_grad``).
    """

    tensor: str
    op_type: str
    gradients: str
    seed: str
    evidence: str

    def __str__(self) -> str:
        return f"{self.tensor} ({self.op_type}; its gradient is seeded by {self.seed})"


def find_losses(graph: Graph, train_op: str | None = None) -> list[LossCandidate]:
    """The losses ``train_op`` minimizes (every loss with a gradient in the graph when
    ``train_op`` is ``None``), in graph order; empty when none is found.

    ``train_op`` is an op name (``"Adam"``, ``"train/Adam"``, a ``tf.group`` of several);
    a tensor name (``"Adam:0"``) is accepted too.
    """
    names, ops, inputs, controls = graph.structure()
    index = {name: i for i, name in enumerate(names)}
    seeds = _seeds(names, ops, inputs)
    if train_op is not None:
        start = index.get(train_op.split(":")[0] if ":" in train_op else train_op)
        if start is None:
            return []
        upstream = _upstream(start, names, inputs, controls, index)
        seeds = [i for i in seeds if i in upstream]
    found: list[LossCandidate] = []
    seen: set[str] = set()
    for seed in seeds:
        candidate = _loss_of_seed(graph, seed, names, ops, inputs, index)
        if candidate is not None and candidate.tensor not in seen:
            seen.add(candidate.tensor)
            found.append(candidate)
    return found


def _seeds(names, ops, inputs) -> list[int]:
    """Ops that seed a ``tf.gradients`` call: ``<gradients scope>/Fill`` or ``/grad_ys_N``
    (a ``Const`` named so that feeds the scope's ``Fill`` is the fill value, not the seed)."""
    found = []
    for i, name in enumerate(names):
        scope, _, last = name.rpartition("/")
        if ops[i] in _SEED_OPS and _SEED_NAME.match(last) and _GRADIENT_SCOPE.search(scope):
            found.append(i)
    chosen = {names[i] for i in found}
    fill_values = {src for i in found for src, _ in inputs[i] if src in chosen}
    return [i for i in found if names[i] not in fill_values]


def _upstream(start: int, names, inputs, controls, index) -> set[int]:
    """Every op ``start`` depends on through data and control inputs (itself included)."""
    seen = {start}
    stack = [start]
    while stack:
        i = stack.pop()
        for source in [op for op, _ in inputs[i]] + list(controls[i]):
            j = index.get(source)
            if j is not None and j not in seen:
                seen.add(j)
                stack.append(j)
    return seen


def _loss_of_seed(graph: Graph, seed: int, names, ops, inputs, index) -> LossCandidate | None:
    scope = names[seed].rpartition("/")[0]
    # 1. the seed is shaped by Shape(loss): the loss is named outright
    if ops[seed] == "Fill" and inputs[seed]:
        shape_op = index.get(inputs[seed][0][0])
        if shape_op is not None and ops[shape_op] == "Shape" and inputs[shape_op]:
            op, output = inputs[shape_op][0]
            if op in index and not _in_gradients(op):
                return _candidate(graph, op, output, ops[index[op]], scope, names[seed], "shape")
    # 2. the seed feeds the gradient of the loss op: gradients/<loss op>_grad/...
    for consumer in _consumers(names[seed], names, inputs):
        op = _op_of_gradient_scope(consumer, scope, index)
        if op is not None:
            op, output = _through_identities(graph, op, 0, ops, index)
            return _candidate(
                graph, op, output, ops[index[op]], scope, names[seed], "gradient scope"
            )
    return None


def _candidate(graph, op, output, op_type, scope, seed, evidence) -> LossCandidate:
    return LossCandidate(
        tensor=f"{op}:{output}", op_type=op_type, gradients=scope, seed=seed, evidence=evidence
    )


def _consumers(name: str, names, inputs) -> list[str]:
    return [names[i] for i, data in enumerate(inputs) if any(src == name for src, _ in data)]


def _op_of_gradient_scope(consumer: str, scope: str, index) -> str | None:
    """``gradients/loss/xent_grad/Reshape`` in scope ``gradients`` -> ``loss/xent`` (the
    longest prefix ending in ``_grad`` that names an op of the graph)."""
    if not consumer.startswith(scope + "/"):
        return None
    parts = consumer[len(scope) + 1 :].split("/")
    for end in range(len(parts) - 1, -1, -1):
        if parts[end].endswith("_grad"):
            op = "/".join(parts[:end] + [parts[end][: -len("_grad")]])
            if op in index and not _in_gradients(op):
                return op
    return None


def _through_identities(graph: Graph, op: str, output: int, ops, index) -> tuple[str, int]:
    """Follow ``Identity`` ops forward from ``op:output`` (their gradient makes no op, so the
    seed feeds the gradient of what they copy): ``tf.identity(mean, name="loss")`` -> loss."""
    for _ in range(64):
        try:
            consumers = graph.tensor(f"{op}:{output}").consumers
        except TFExploreError:  # an op this TensorFlow does not know: its outputs are unknown
            return op, output
        copies = [
            c.op for c in consumers if ops[index[c.op]] in _PASS_THROUGH and not _in_gradients(c.op)
        ]
        if len(copies) != 1:
            return op, output
        op, output = copies[0], 0
    return op, output


def _in_gradients(name: str) -> bool:
    """Whether an op belongs to a ``tf.gradients`` scope (the backward pass)."""
    scope = name
    while scope:
        scope = scope.rpartition("/")[0]
        if scope and _GRADIENT_SCOPE.search(scope):
            return True
    return False
