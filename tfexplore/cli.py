"""The ``tfexplore`` command: look at an artifact from the terminal.

::

    tfexplore inspect runs/mnist            # summary, checkpoints, variables, op counts by scope
    tfexplore inspect model.ckpt-1000.meta --rows 0   # every row
    tfexplore explain saved_model/1         # the prose of explain()
    tfexplore scan model.ckpt-1000.meta     # ops that touch files, the network or Python

Inspection only reads: it runs no op from the file and writes nothing. ``scan`` exits with 0
when nothing risky is found, 3 when risky ops are, and 1 when the file cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .errors import TFExploreError

__all__ = ["main", "inspect_text", "scan_text", "EXIT_RISKY"]

#: ``tfexplore scan`` exit status when risky ops are found.
EXIT_RISKY = 3


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
    scan = commands.add_parser(
        "scan",
        help="list the ops that touch files, the network or Python (exit 3 if any, 0 if none)",
    )
    scan.add_argument("path")
    scan.add_argument("--all", action="store_true", help="also list the Saver's expected I/O")
    args = parser.parse_args(argv)

    import tfexplore

    try:
        artifact = tfexplore.open(args.path)
        status = 0
        if args.command == "explain":
            text = str(artifact.explain()).replace("&lt;", "<")  # a terminal is not HTML
        elif args.command == "scan":
            report = _safety(artifact)
            text = scan_text(report, show_expected=args.all)
            status = 0 if report.ok else EXIT_RISKY
        else:
            text = inspect_text(artifact, rows=args.rows)
    except TFExploreError as exc:
        print(f"tfexplore: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    try:
        print(text)
    except BrokenPipeError:  # `tfexplore inspect x | head`
        sys.stderr.close()
    return status


def _safety(artifact: Any):
    from .safety import ScanReport

    report = getattr(artifact, "safety", None)
    return report if report is not None else ScanReport(path=str(artifact.path))


def scan_text(report: Any, *, show_expected: bool = False) -> str:
    """The text ``tfexplore scan`` prints: a verdict line, then one row per risky op."""
    scanned = ", ".join(f"{count} {what}" for what, count in report.scanned.items())
    lines = [f"{report.path}: {report.summary_line()}" + (f" (scanned {scanned})" if scanned else "")]
    frame = report.frame
    if not show_expected:
        frame = frame[frame["verdict"] == "risky"]
    if len(frame):
        columns = ["verdict", "op_type", "category", "node", "function", "nested_in", "pulled_in_by"]
        frame = frame[columns].copy()
        frame["pulled_in_by"] = [", ".join(p) or "-" for p in frame["pulled_in_by"]]
        lines += ["", _section("Findings", frame.fillna("-"), 0)]
    if report.entry_points:
        lines += ["", "Entry points: " + "; ".join(
            f"{name} = {', '.join(list(dict.fromkeys(targets))[:3])}"  # one graph per checkpoint
            for name, targets in report.entry_points.items())]
    return "\n".join(lines)


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
