"""What an op is for, from its type and name (:func:`op_role`, one of :data:`ROLES`): the
"role" colouring of the graph view.
"""

from __future__ import annotations

import re

from ..graph.ops import VARIABLE_ROLE_OPS

__all__ = ["ROLES", "CONTROL_FLOW_OPS", "PLACEHOLDER_OPS", "op_role"]

#: The roles an op may play, in the order they are tested (the first that fits wins).
ROLES = ("placeholder", "control flow", "gradient", "optimizer", "variable", "compute")
CONTROL_FLOW_OPS = frozenset(
    "Switch RefSwitch Merge RefMerge Enter RefEnter Exit RefExit NextIteration "
    "RefNextIteration LoopCond If StatelessIf While StatelessWhile Case StatelessCase "
    "ControlTrigger".split()
)
PLACEHOLDER_OPS = frozenset(["Placeholder", "PlaceholderWithDefault"])
_OPTIMIZER_WORDS = re.compile(
    r"(^|/)(Adam|Adam_\d+|Adagrad\w*|Adadelta|RMSProp\w*|Momentum\w*|GradientDescent|Ftrl\w*|"
    r"beta[12]_power\w*|SGD|Nadam|Adamax|Lamb)(/|$)"
)
_GRADIENT_WORDS = re.compile(r"(^|/)gradients(_\d+)?(/|$)")


def op_role(name: str, op_type: str) -> str:
    """What an op is for, from its type and name: one of :data:`ROLES`.

    >>> op_role("inputs/x", "Placeholder"), op_role("train/gradients/loss/mse_grad/Mul", "Mul")
    ('placeholder', 'gradient')
    >>> op_role("train/Adam/update_layer1/W/ApplyAdam", "ApplyAdam"), op_role("a/W", "VariableV2")
    ('optimizer', 'variable')
    """
    if op_type in PLACEHOLDER_OPS:
        return "placeholder"
    if op_type in CONTROL_FLOW_OPS:
        return "control flow"
    if _GRADIENT_WORDS.search(name):
        return "gradient"
    if op_type.startswith(("Apply", "ResourceApply", "SparseApply")) or _OPTIMIZER_WORDS.search(
        name
    ):
        return "optimizer"
    if op_type in VARIABLE_ROLE_OPS:
        return "variable"
    return "compute"
