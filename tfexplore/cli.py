"""The ``tfexplore`` command: look at an artifact from the terminal.

::

    tfexplore inspect runs/mnist            # summary, checkpoints, variables, op counts by scope
    tfexplore inspect model.ckpt-1000.meta --rows 0   # every row
    tfexplore explain saved_model/1         # the prose of explain()
    tfexplore scan model.ckpt-1000.meta     # ops that are not pure computation (files, ...)
    tfexplore dynamics runs/mnist           # update ratios across checkpoints, and flags (exit 4)
    tfexplore rewrite old/model.ckpt-30 new/model.ckpt --rename 'layer1/=encoder/' --drop Adam

Inspection only reads: it runs no op from the file and writes nothing (``rewrite`` writes
its destination only, after its checks pass; exit 2 when they do not). ``scan`` exits with 0
when nothing risky is found, 3 when risky ops are, and 1 when the file cannot be read;
``dynamics`` exits with 4 when it flags something (a layer that stopped, NaN/Inf, dead units,
an exploding norm), so a script can stop a pipeline on a bad run.

Every path may be a URL of object storage (``s3://``, ``gs://``, ``az://``...; needs
``pip install 'tfexplore[remote]'``); only what the command shows is fetched::

    tfexplore inspect s3://bucket/runs/mnist
    tfexplore scan gs://bucket/export/1 --storage-option token=anon
    tfexplore explain s3://bucket/model.keras \
        --storage-option client_kwargs.endpoint_url=http://localhost:9000

``--storage-option KEY=VALUE`` (repeatable) goes to fsspec as ``storage_options``: ``VALUE`` is
read as JSON when it parses (``anon=true``, ``default_block_size=1048576``), else kept as text;
a dotted ``KEY`` (``client_kwargs.endpoint_url``) sets a nested option. Credentials and
endpoints also come from the environment, as for any fsspec program (:data:`ENVIRONMENT`).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ._files import prefix_text
from .errors import TFExploreError

__all__ = [
    "main",
    "inspect_text",
    "scan_text",
    "dynamics_text",
    "rewrite_text",
    "parse_storage_options",
    "EXIT_RISKY",
    "EXIT_FLAGGED",
]

#: ``tfexplore scan`` exit status when risky ops are found.
EXIT_RISKY = 3

#: ``tfexplore dynamics`` exit status when the run is flagged (NaN/Inf, stopped layers...).
EXIT_FLAGGED = 4

#: where fsspec's backends find credentials and endpoints when no ``--storage-option`` says
ENVIRONMENT = (
    "URLs (s3://, gs://, az://...) take their credentials and endpoint from --storage-option, "
    "else from the environment, as any fsspec program does: s3:// from AWS_PROFILE, "
    "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL (MinIO, a local S3) and "
    "~/.aws; gs:// from GOOGLE_APPLICATION_CREDENTIALS (or gcloud's login) and "
    "STORAGE_EMULATOR_HOST (a local GCS emulator); az:// from AZURE_STORAGE_CONNECTION_STRING "
    "or AZURE_STORAGE_ACCOUNT_NAME."
)
_PATH_HELP = (
    "checkpoint folder or prefix, .meta, SavedModel, .keras/.h5, .pb; or its URL "
    "(s3://bucket/run, gs://...)"
)


def main(argv: list[str] | None = None) -> int:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--storage-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        dest="storage_options",
        help="an fsspec storage option for a URL (repeatable): VALUE is JSON when it parses, "
        "else text; a dotted KEY sets a nested option (client_kwargs.endpoint_url=http://...)",
    )
    parser = argparse.ArgumentParser(
        prog="tfexplore",
        description="Explore TensorFlow checkpoints, graphs, SavedModels and Keras files, "
        "on a local disk or on object storage.",
        epilog=ENVIRONMENT,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    inspect = commands.add_parser(
        "inspect", help="print what tfexplore.open finds", parents=[common], epilog=ENVIRONMENT
    )
    inspect.add_argument("path", help=_PATH_HELP)
    inspect.add_argument(
        "--rows", type=int, default=40, help="rows of each table to print (0: all; default 40)"
    )
    explain = commands.add_parser(
        "explain",
        help="print explain(): what the artifact is made of",
        parents=[common],
        epilog=ENVIRONMENT,
    )
    explain.add_argument("path", help=_PATH_HELP)
    scan = commands.add_parser(
        "scan",
        help="list the ops that are not pure computation: files, network, Python, custom ops "
        "(exit 3 if any, 0 if none); a folder: every graph-bearing file in it",
        parents=[common],
        epilog=ENVIRONMENT,
    )
    scan.add_argument("path", help=_PATH_HELP + "; a folder: every graph-bearing file below it")
    scan.add_argument("--all", action="store_true", help="also list the Saver's expected I/O")
    _add_dynamics_command(commands, common)
    _add_rewrite_command(commands, common)
    args = parser.parse_args(argv)
    try:
        options = parse_storage_options(args.storage_options) or None
    except ValueError as exc:
        commands.choices[args.command].error(str(exc))

    import tfexplore

    try:
        status = 0
        if args.command == "scan":  # a folder: every graph-bearing file in it
            report = tfexplore.scan(args.path, storage_options=options)
            text = scan_text(report, show_expected=args.all)
            status = 0 if report.ok else EXIT_RISKY
        elif args.command == "rewrite":
            text, status = run_rewrite(args, options)
        elif args.command == "dynamics":
            dynamics = _dynamics_of(args.path, options)
            text = dynamics_text(dynamics, rows=args.rows)
            status = EXIT_FLAGGED if len(dynamics.flags) else 0
        elif args.command == "explain":  # a terminal is not HTML: the names' < come back
            artifact = tfexplore.open(args.path, storage_options=options)
            text = str(artifact.explain()).replace("&lt;", "<")
        else:
            artifact = tfexplore.open(args.path, storage_options=options)
            text = inspect_text(artifact, rows=args.rows)
    except TFExploreError as exc:
        print(f"tfexplore: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    try:
        print(text)
    except BrokenPipeError:  # `tfexplore inspect x | head`
        sys.stderr.close()
    return status


def parse_storage_options(items: list[str]) -> dict[str, Any]:
    """``["anon=true", "client_kwargs.endpoint_url=http://localhost:9000"]`` ->
    ``{"anon": True, "client_kwargs": {"endpoint_url": "http://localhost:9000"}}``: each value
    read as JSON when it parses, else kept as text; a dotted key makes nested dicts.

    Raises:
        ValueError: an item without ``=``, an empty key, or a key both a value and a group.
    """
    options: dict[str, Any] = {}
    for item in items:
        key, equals, text = item.partition("=")
        names = key.strip().split(".")
        if not equals or not all(name.strip() for name in names):
            raise ValueError(
                f"--storage-option {item!r}: expected KEY=VALUE (e.g. anon=true, "
                "client_kwargs.endpoint_url=http://localhost:9000)"
            )
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        target = options
        for depth, name in enumerate(names[:-1]):
            target = target.setdefault(name.strip(), {})
            if not isinstance(target, dict):
                group = ".".join(names[: depth + 1])
                raise ValueError(f"--storage-option {item!r}: {group!r} already has a value")
        last = names[-1].strip()
        if isinstance(target.get(last), dict) and not isinstance(value, dict):
            raise ValueError(f"--storage-option {item!r}: {key.strip()!r} already holds options")
        target[last] = value
    return options


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


def _add_dynamics_command(commands: Any, common: argparse.ArgumentParser) -> None:
    """``tfexplore dynamics FOLDER``: flags and update ratios of a folder of checkpoints."""
    dynamics = commands.add_parser(
        "dynamics",
        help="training dynamics of a folder of checkpoints: per-layer update ratios across "
        "steps, and flags (a layer that stopped, NaN/Inf appearing, dead units, exploding norms); "
        "exit 4 when anything is flagged",
        parents=[common],
        epilog=ENVIRONMENT,
    )
    dynamics.add_argument("path", help="a folder of two or more checkpoints, or its URL")
    dynamics.add_argument(
        "--rows", type=int, default=40, help="rows of each table to print (0: all; default 40)"
    )


def _dynamics_of(path: str, options: dict | None) -> Any:
    import tfexplore

    artifact = tfexplore.open(path, storage_options=options)
    if getattr(artifact, "kind", "") != "checkpoint_dir":
        raise TFExploreError(
            f"{path!r} is a {artifact.kind}, not a folder of checkpoints.",
            path=path,
            expected="a folder of two or more checkpoints of one run",
            hint="pass the folder that holds the checkpoints (and their `checkpoint` file)",
        )
    return artifact.dynamics()


def dynamics_text(dynamics: Any, *, rows: int = 40) -> str:
    """The text ``tfexplore dynamics`` prints: a summary, the flags, then the update ratios
    (layers x steps, two significant digits; ``0`` no change, ``-`` not comparable)."""
    flags = dynamics.flags
    lines = [
        f"{dynamics.folder}: {len(dynamics.steps)} checkpoints (steps {dynamics.steps[0]} to "
        f"{dynamics.steps[-1]}), {len(dynamics.layers)} layers, {len(dynamics.variables)} "
        f"variables: " + (f"{len(flags)} flags" if len(flags) else "no flags")
    ]
    lines += [f"  note: {note}" for note in dynamics.notes]
    if len(flags):
        shown = flags if rows <= 0 else flags.head(rows)
        lines += ["", "Flags", "-----", f"{'step':>8}  {'kind':<10}  detail"]
        lines += [f"{row.step:>8}  {row.kind:<10}  {row.detail}" for row in shown.itertuples()]
        if len(shown) < len(flags):
            lines.append(f"... {len(flags) - len(shown)} more (--rows 0: all)")
    ratios = dynamics.update_ratios.map(_ratio_text)
    ratios.columns = [str(c) for c in ratios.columns]
    ratios = ratios.reset_index()
    lines += ["", _section("Update ratios ||w_t - w_{t-1}|| / ||w_{t-1}|| (layer x step)",
                           ratios, rows)]  # fmt: skip
    return "\n".join(lines)


def _ratio_text(value: float) -> str:
    if value != value:  # NaN
        return "-"
    return "0" if value == 0 else f"{value:.2g}"


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


# == tfexplore rewrite =========================================================================
EXIT_PROBLEMS = 2  #: ``tfexplore rewrite``: the plan has problems; nothing was written


def _add_rewrite_command(commands: Any, common: argparse.ArgumentParser) -> None:
    """``tfexplore rewrite SRC DST``: a checkpoint rewritten by rules, checked, then written."""
    rewrite = commands.add_parser(
        "rewrite",
        help="write a new checkpoint from SRC with tensors renamed, dropped or matched to "
        "--to, after checking the plan (exit 2 and nothing written when it has problems)",
        parents=[common],
        description="Rules apply in this order: --map, --rename, --scope, --regex; --drop "
        "wins over all. Optimizer slots follow their variable (renamed or dropped with it). "
        "The source is never touched; DST appears complete or not at all.",
        epilog="examples: tfexplore rewrite runs/old/model.ckpt-30 new/model.ckpt --rename "
        "'layer1/=encoder/' --drop Adam;  tfexplore rewrite bert/model.ckpt out/model.ckpt "
        "--to target/model.ckpt.meta --dry-run",
    )
    rewrite.add_argument("source", help="checkpoint prefix or folder (its latest) to read")
    rewrite.add_argument(
        "destination", nargs="?", help="prefix to write (e.g. converted/model.ckpt)"
    )
    add = rewrite.add_argument
    add(
        "--rename",
        action="append",
        default=[],
        metavar="OLD=NEW",
        help="rename names that start with OLD (a prefix: 'old/=new/' renames a scope)",
    )
    add(
        "--scope",
        action="append",
        default=[],
        metavar="OLD=NEW",
        help="move scope OLD (whole name parts only) to NEW",
    )
    add(
        "--regex",
        action="append",
        default=[],
        metavar="PATTERN=REPLACEMENT",
        help="a Python regex substitution on each name (\\1 for groups)",
    )
    add("--map", metavar="JSON", help="a JSON file of {old name: new name or null (drop)}")
    add(
        "--drop",
        action="append",
        default=[],
        metavar="QUERY",
        help="drop tensors matching a search (words, globs, re:...): --drop Adam",
    )
    add("--drop-optimizer", action="store_true", help="drop every optimizer slot and state")
    add(
        "--to",
        metavar="TARGET",
        help="a checkpoint or .meta whose tensors the result must fill (matched by name, "
        "shape and order)",
    )
    add(
        "--init-missing",
        metavar="QUERY",
        default=None,
        help="targets nothing fills keep their initial value (a .meta's constant initializers)",
    )
    add("--dry-run", action="store_true", help="print the plan and its checks; write nothing")
    add("--overwrite", action="store_true", help="replace DST when it exists")
    add("--code", action="store_true", help="also print the plan as plain TensorFlow code")
    add("--rows", type=int, default=40, help="rows of the plan to print (0: all; default 40)")


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    from .edit.plan import split_rule

    kind = "regex" if flag == "--regex" else "prefix"
    return dict(split_rule(item, kind, said_as=flag) for item in items)


def run_rewrite(args: argparse.Namespace, options: dict | None) -> tuple[str, int]:
    """What ``tfexplore rewrite`` prints, and its exit status."""
    import tfexplore

    rules = None
    if args.map:
        from pathlib import Path

        try:
            rules = json.loads(Path(args.map).read_text())
        except (OSError, ValueError) as exc:
            raise TFExploreError(
                f"--map {args.map!r} cannot be read as JSON: {exc}",
                path=args.map,
                expected='a JSON object such as {"old/W": "new/W", "old/b": null}',
            ) from exc
        if not isinstance(rules, dict):
            raise TFExploreError(
                f"--map {args.map!r} holds a {type(rules).__name__}, not an object.",
                path=args.map,
                expected='a JSON object such as {"old/W": "new/W", "old/b": null}',
            )
    plan = tfexplore.rewrite(
        args.source,
        rules,
        prefix=_pairs(args.rename, "--rename"),
        scope=_pairs(args.scope, "--scope"),
        regex=_pairs(args.regex, "--regex"),
        drop=args.drop,
        drop_optimizer=args.drop_optimizer,
        to=args.to,
        storage_options=options,
    )
    if args.init_missing is not None:
        plan.init_missing(args.init_missing)
    text = rewrite_text(plan, rows=args.rows)
    if args.code:
        text += "\n\n" + plan.as_code(destination=args.destination or "rewritten/model.ckpt")
    if not plan.ok:
        return text + "\n\nnothing written: fix the problems above", EXIT_PROBLEMS
    if args.dry_run or not args.destination:
        return text + "\n\nready to write (dry run: nothing written)", 0
    written = plan.write(args.destination, overwrite=args.overwrite)
    return text + f"\n\nwrote {prefix_text(written.prefix)} ({len(written.variables)} tensors)", 0


def rewrite_text(plan: Any, *, rows: int = 40) -> str:
    """The text ``tfexplore rewrite`` prints: the plan in one line, its findings, the rows."""
    report = plan.report
    lines = [repr(plan)]
    if not report.empty:
        lines += ["", "checks:"]
        for r in report.itertuples():
            where = " -> ".join(str(x) for x in (r.source, r.target) if isinstance(x, str))
            lines.append(f"  {r.severity:<7} {r.check:<14} {where}: {r.message}")
    table = plan.table[["source", "action", "target", "confidence", "status"]]
    changed = table[table["action"] != "keep"]
    shown = changed if rows == 0 else changed.head(rows)
    lines += ["", f"rows that change ({len(changed)} of {len(table)}):"]
    lines.append(shown.to_string(index=False, na_rep="") if len(shown) else "  none")
    if rows and len(changed) > rows:
        lines.append(f"... {len(changed) - rows} more (--rows 0 shows all)")
    return "\n".join(lines)
