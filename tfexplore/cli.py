"""The ``tfexplore`` command: look at an artifact from the terminal.

::

    tfexplore inspect runs/mnist            # summary, checkpoints, variables, op counts by scope
    tfexplore inspect model.ckpt-1000.meta --rows 0   # every row
    tfexplore explain saved_model/1         # the prose of explain()
    tfexplore scan model.ckpt-1000.meta     # ops that are not pure computation (files, ...)

Inspection only reads: it runs no op from the file and writes nothing. ``scan`` exits with 0
when nothing risky is found, 3 when risky ops are, and 1 when the file cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._files import prefix_text
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
    inspect.add_argument(
        "path", help="checkpoint folder or prefix, .meta, SavedModel, .keras/.h5, .pb"
    )
    inspect.add_argument(
        "--rows", type=int, default=40, help="rows of each table to print (0: all; default 40)"
    )
    explain = commands.add_parser("explain", help="print explain(): what the artifact is made of")
    explain.add_argument("path")
    scan = commands.add_parser(
        "scan",
        help="list the ops that are not pure computation: files, network, Python, custom ops "
        "(exit 3 if any, 0 if none); a folder: every graph-bearing file in it",
    )
    scan.add_argument("path")
    scan.add_argument("--all", action="store_true", help="also list the Saver's expected I/O")
    args = parser.parse_args(argv)

    import tfexplore

    try:
        status = 0
        if args.command == "scan":  # a folder: every graph-bearing file in it
            report = tfexplore.scan(args.path)
            text = scan_text(report, show_expected=args.all)
            status = 0 if report.ok else EXIT_RISKY
        elif args.command == "explain":  # a terminal is not HTML: the names' < come back
            text = str(tfexplore.open(args.path).explain()).replace("&lt;", "<")
        else:
            text = inspect_text(tfexplore.open(args.path), rows=args.rows)
    except TFExploreError as exc:
        print(f"tfexplore: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    try:
        print(text)
    except BrokenPipeError:  # `tfexplore inspect x | head`
        sys.stderr.close()
    return status


def scan_text(report: Any, *, show_expected: bool = False) -> str:
    """The text ``tfexplore scan`` prints: a verdict line, then one row per risky op."""
    scanned = ", ".join(f"{count} {what}" for what, count in report.scanned.items())
    lines = [
        f"{report.path}: {report.summary_line()}" + (f" (scanned {scanned})" if scanned else "")
    ]
    files = getattr(report, "files", [])
    if len(files) > 1 or (files and files[0] != str(report.path)):
        lines.append(f"Scanned {len(files)} file(s): " + ", ".join(files))
    for file, reason in getattr(report, "skipped", []):
        lines.append(f"Skipped {file}: {reason}")
    if report.expected:
        lines.append(
            f"{len(report.expected)} checkpoint read/write op(s) are a Saver's own, on the "
            "file name it is fed: the normal case (--all lists them)"
        )
    frame = report.frame
    if not show_expected:
        frame = frame[frame["verdict"] == "risky"]
    if len(frame):
        columns = [
            "verdict",
            "op_type",
            "category",
            "node",
            "function",
            "nested_in",
            "pulled_in_by",
        ]
        if len(files) > 1:
            columns.append("file")
        frame = frame[columns].copy()
        frame["pulled_in_by"] = [", ".join(p) or "-" for p in frame["pulled_in_by"]]
        lines += ["", _section("Findings", frame.fillna("-"), 0)]
    if report.entry_points:
        lines += [
            "",
            "Entry points: "
            + "; ".join(
                # one graph per checkpoint
                f"{name} = {', '.join(list(dict.fromkeys(targets))[:3])}"
                for name, targets in report.entry_points.items()
            ),
        ]
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
        latest = artifact.latest if len(artifact) else None
        graphs = getattr(artifact, "graphs", None)
        if latest is None and graphs is not None and len(graphs):  # graphs without tensors
            parts.append(_section("Graphs (no tensors)", graphs, rows))
            graph = artifact.meta_graph.graph
            parts.append(_section("Ops by top scope", graph.op_counts(depth=1), rows))
        if latest is not None:
            shown = prefix_text(latest.prefix) if hasattr(latest, "prefix") else latest.path
            parts.append(f"Latest checkpoint: {shown}")
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
        graph_error = getattr(artifact_for_tables, "graph_error", None)
        if graph_error is not None:  # a SavedModel whose saved_model.pb cannot be read
            parts.append(f"Graph: not readable: {graph_error.message}")
            return "\n\n".join(parts)
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
        "display.max_rows",
        limit,
        "display.min_rows",
        limit,
        "display.width",
        200,
        "display.max_columns",
        None,
        "display.max_colwidth",
        60,
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
