"""The functions a node reaches through its attrs (``func`` attrs, func lists, nested
``NameAttrList`` values): what the safety gate follows, what the Saver I/O grammar looks
through, and what the graph diff pairs between two graphs' libraries. In the base: both
``safety/`` and ``graph/`` read it, and neither may import the other."""

from __future__ import annotations


def attr_function_names(node) -> list[tuple[str, str]]:
    """Every function name a node's attrs hold, with the attr path: ``func`` attrs, lists of
    ``func``, and the attrs nested inside each ``NameAttrList`` (any depth)."""
    found: list[tuple[str, str]] = []
    stack = [(value, key) for key, value in node.attr.items()]
    while stack:
        value, path = stack.pop()
        if value.HasField("func"):
            if value.func.name:
                found.append((value.func.name, path))
            stack.extend((v, f"{path}.{k}") for k, v in value.func.attr.items())
        elif value.HasField("list"):
            for index, func in enumerate(value.list.func):
                if func.name:
                    found.append((func.name, f"{path}[{index}]"))
                stack.extend((v, f"{path}[{index}].{k}") for k, v in func.attr.items())
    return found
