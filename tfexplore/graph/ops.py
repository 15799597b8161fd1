"""Op types that mean something to tfexplore, named once (checked against TensorFlow 2.21's
op registry; ``tfexplore.safety.allowlist`` lists the whole "variables" family).

- :data:`VARIABLE_OPS`: the ops that *hold* a variable, one variable per node, named as the
  node: ``Variable`` and ``VariableV2`` (TF1 reference variables, :data:`REF_VARIABLE_OPS`)
  and ``VarHandleOp`` (TF2 resource variables, :data:`RESOURCE_VARIABLE_OPS`). Left out on
  purpose: ``TemporaryVariable`` (scratch memory, never saved), ``_VarHandlesOp`` and
  ``_XlaAotOnlyVarHandleOp`` (made by graph rewrites at run time, never in a saved graph).
- :data:`VARIABLE_ACCESS_OPS`: the ops that *read or write* one (``ReadVariableOp``,
  ``Assign``, ``AssignAddVariableOp``, ``VarIsInitializedOp``, ...).
- :data:`VARIABLE_ROLE_OPS`: both: what the graph view colours as the "variable" role.

>>> sorted(VARIABLE_OPS)
['VarHandleOp', 'Variable', 'VariableV2']
>>> "ReadVariableOp" in VARIABLE_ROLE_OPS and "ReadVariableOp" not in VARIABLE_OPS
True
"""

from __future__ import annotations

__all__ = [
    "REF_VARIABLE_OPS",
    "RESOURCE_VARIABLE_OPS",
    "VARIABLE_OPS",
    "VARIABLE_ACCESS_OPS",
    "VARIABLE_ROLE_OPS",
    "CALL_OPS",
]

#: Ops whose (ref-typed) output is a TF1 variable's value.
REF_VARIABLE_OPS = frozenset({"Variable", "VariableV2"})
#: Ops whose output is a handle to a TF2 resource variable.
RESOURCE_VARIABLE_OPS = frozenset({"VarHandleOp"})
#: Ops that hold a variable (one per node, named as the node): what a checkpoint saves.
VARIABLE_OPS = REF_VARIABLE_OPS | RESOURCE_VARIABLE_OPS
#: Ops that read, write or test a variable held by one of :data:`VARIABLE_OPS`.
VARIABLE_ACCESS_OPS = frozenset(
    "ReadVariableOp _ReadVariablesOp AssignVariableOp AssignAddVariableOp AssignSubVariableOp "
    "Assign AssignAdd AssignSub VarIsInitializedOp IsVariableInitialized".split()
)
#: Ops that play the "variable" role in a picture of the graph: holders and accessors.
VARIABLE_ROLE_OPS = VARIABLE_OPS | VARIABLE_ACCESS_OPS
#: Ops that call a function of the library named by their ``f`` attribute.
CALL_OPS = frozenset({"PartitionedCall", "StatefulPartitionedCall", "TPUPartitionedCall"})
