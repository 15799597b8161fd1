"""The ``tfexplore`` command: look at an artifact from the terminal.

::

    tfexplore inspect runs/mnist            # summary, checkpoints, variables, op counts by scope
    tfexplore inspect model.ckpt-1000.meta --rows 0   # every row
    tfexplore explain saved_model/1         # the prose of explain()

Inspection only reads: it runs no op from the file and writes nothing.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .errors import TFExploreError

__all__ = ["main", "inspect_text"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tfexplore",
        description="Explore TensorFlow checkpoints, graphs, SavedModels and Keras files.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    inspect = commands.add_parser("inspect", help="print what tfexplore.open finds")
    inspect.add_argument("path", help="checkpoint folder or prefix, .meta, SavedModel, .keras/.h5, .pb")
    inspect.add_argument(
        "--rows", type=int, default=40, help="rows of each table to print (0: all; default 40)"
    )
    explain = commands.add_parser("explain", help="print explain(): what the artifact is made of")
    explain.add_argument("path")
    args = parser.parse_args(argv)

    import tfexplore

    try:
        artifact = tfexplore.open(args.path)
        if args.command == "explain":
            text = str(artifact.explain())
        else:
            text = inspect_text(artifact, rows=args.rows)
    except TFExploreError as exc:
        print(f"tfexplore: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    try:
        print(text)
    except BrokenPipeError:  # `tfexplore inspect x | head`
        sys.stderr.close()
    return 0


def inspect_text(artifact: Any, *, rows: int = 40) -> str:
    """The text ``tfexplore inspect`` prints for an opened artifact."""
    parts = [repr(artifact)]
    checkpoints = getattr(artifact, "checkpoints", None)
    if checkpoints is not None:
        parts.append(_section("Checkpoints", checkpoints, rows))
        notes = getattr(artifact, "notes", None)
        if notes:
            parts.append("Notes:\n" + "\n".join(f"  - {n}" for n in notes))
        latest = getattr(artifact, "latest", None)
        if latest is not None:
            parts.append(f"Latest checkpoint: {latest.prefix}")
            artifact_for_tables = latest
        else:
            artifact_for_tables = None
    else:
        artifact_for_tables = artifact
    if artifact_for_tables is not None:
        variables = _table(artifact_for_tables, "variables")
        if variables is not None:
            columns = [
                c
                for c in ("name", "shape", "dtype", "size", "nbytes", "role", "slot_of")
                if c in variables.columns
            ]
            parts.append(_section(f"Variables ({len(variables)})", variables[columns], rows))
        signatures = _table(artifact_for_tables, "signatures")
        if signatures is not None and len(signatures):
            parts.append(_section("Signatures", signatures, rows))
        graph = _table(artifact_for_tables, "graph")
        if graph is None and artifact_for_tables.kind == "checkpoint":
            meta_graph = artifact_for_tables.meta_graph
            graph = meta_graph.graph if meta_graph is not None else None
        if graph is not None:
            parts.append(_section("Ops by top scope", graph.op_counts(depth=1), rows))
    return "\n\n".join(parts)


def _section(title: str, frame, rows: int) -> str:
    import pandas as pd

    limit = None if rows <= 0 else rows
    with pd.option_context(
        "display.max_rows", limit, "display.min_rows", limit, "display.width", 200,
        "display.max_columns", None, "display.max_colwidth", 60,
    ):
        body = frame.to_string(index=False, max_rows=limit) if len(frame) else "(none)"
    return f"{title}\n{'-' * len(title)}\n{body}"


def _table(artifact: Any, name: str):
    """``artifact.<name>`` when the artifact's class offers it, else ``None``."""
    if getattr(type(artifact), name, None) is None:
        return None
    return getattr(artifact, name)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
