"""An overlay applied to the 166K-op graph: what ``view.overlay(series)`` costs, beside
TensorFlow parsing the same graph (``tf.compat.v1.GraphDef.ParseFromString``), measured in the
same run.

The graph is ``generate.py``'s ``ops160000`` (214 BERT-like layers, 166,676 ops; generated on
the first run, 3 to 5 minutes). Its view (a :class:`~tfexplore.ui.graphview.GraphExplorer`) is
opened once, not timed. Then, each timed on a fresh overlay:

- ``variables``: a value per variable op (what ``checkpoint.stats()["l2"]`` gives: ~5,000
  keys), numeric, log scale, scopes show their max;
- ``every op``: a value per op of the graph (166,676 keys), linear, scopes show their mean;
- ``categories``: a category per op (``same`` / ``changed`` / ``added``: what a graph diff
  gives), scopes count the changes;

each at the first view (the lone top scope open), with ``bert/encoder`` open (its 214 layer
scopes drawn, in groups) and with the scopes around three deep ops open (``REVEAL``: ~290
boxes). A figure is the time of ``explorer.overlay(series, ...)``
(names matched to ops, values binned), ``explorer.scene()`` and ``overlay_legend()`` (colours
and texts of every box) and ``json.dumps`` of both (the message the widget sends), with the
message's size. Each is the median of 7 runs; the view's very first overlay (which also
builds the op-name lookup the next ones reuse) is timed once. The baseline is the median of 7
``ParseFromString`` of the graph's bytes. Ratio: overlay time / parse time (lower is better).

Usage::

    .venv/bin/python bench/overlay.py                   # the 166K-op graph
    .venv/bin/python bench/overlay.py --scale tiny --out /tmp/o.md   # seconds (the tests)
"""

from __future__ import annotations

import datetime
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere: import the repo's tfexplore
    sys.path.insert(0, str(ROOT))
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from run import graph_bench_main, median_time  # noqa: E402

REPEATS = 7
#: ops whose scopes open for the widest view (two layers of the encoder, the LM head)
REVEAL = (
    "bert/encoder/layer_0/attention/self/query/MatMul",
    "bert/encoder/layer_100/output/dense/MatMul",
    "cls/predictions/transform/dense/MatMul",
)
TARGET_SECONDS = 0.3


def series_cases(explorer) -> dict[str, tuple[object, dict]]:
    """The Series overlaid, and their options (see the module docstring)."""
    import numpy as np
    import pandas as pd

    from tfexplore.graph.ops import VARIABLE_OPS

    h = explorer.hierarchy
    rng = np.random.default_rng(0)
    variables = [n for n, t in zip(h.op_names, h.op_types) if t in VARIABLE_OPS]
    norms = pd.Series(rng.lognormal(0, 2, len(variables)), index=variables, name="norm")
    every = pd.Series(rng.normal(size=len(h.op_names)), index=list(h.op_names), name="value")
    statuses = rng.choice(["same", "changed", "added"], size=len(h.op_names), p=[0.9, 0.07, 0.03])
    status = pd.Series(statuses, index=list(h.op_names), name="status", dtype=object)
    return {
        "variables": (norms, {"scale": "log", "agg": "max"}),
        "every op": (every, {"scale": "linear", "agg": "mean"}),
        "categories": (status, {"quiet": ("same",)}),
    }


def measure(meta: Path, expand: str | None) -> dict:
    """Every figure of one graph: the baseline, then each overlay at the first view and with
    ``expand`` open."""
    import tensorflow as tf

    from tfexplore.ui.graphview import GraphExplorer

    explorer = GraphExplorer(str(meta))
    explorer.scene()  # the first view, as the widget shows it before any overlay
    graph_bytes = explorer.meta_graph.proto.graph_def.SerializeToString()

    def parse():
        graph_def = tf.compat.v1.GraphDef()
        graph_def.ParseFromString(graph_bytes)
        return graph_def

    baseline, parsed = median_time(parse, REPEATS)
    # the first overlay of a view also builds its op-name lookup (once per graph shown)
    series, options = series_cases(explorer)["every op"]
    started = time.perf_counter()
    explorer.overlay(series, **options)
    json.dumps({"scene": explorer.scene(), "legend": explorer.overlay_legend()})
    first = time.perf_counter() - started
    result = {
        "first_seconds": first,
        "ops": len(explorer.hierarchy.op_names),
        "graph_mb": round(len(graph_bytes) / 2**20, 1),
        "baseline_seconds": baseline,
        "parsed_nodes": len(parsed.node),
        "rows": [],
    }
    views = [("first view", list(explorer.expanded))]
    if expand and explorer.hierarchy.is_scope(expand):
        views.append((f"{expand} open", [*explorer.hierarchy.ancestors(expand), expand]))
    revealed = [name for name in REVEAL if explorer.hierarchy.is_op(name)]
    if revealed:  # a wide view: the scopes around a few deep ops open
        for name in revealed:
            explorer.reveal(name)
        views.append((f"{len(revealed)} deep ops revealed", list(explorer.expanded)))
    for view_name, expanded in views:
        explorer.clear_overlay()
        explorer.set_expanded(expanded)
        boxes = len(explorer.layout.boxes)
        for case, (series, options) in series_cases(explorer).items():

            def apply(series=series, options=options):
                built = explorer.overlay(series, **options)
                message = json.dumps(
                    {"scene": explorer.scene(), "legend": explorer.overlay_legend()}
                )
                return built, message

            seconds, (built, message) = median_time(apply, REPEATS)
            core, _ = median_time(
                lambda series=series, options=options: explorer.overlay(series, **options),
                REPEATS,
            )
            result["rows"].append(
                {
                    "view": view_name,
                    "boxes": boxes,
                    "case": case,
                    "keys": len(series),
                    "matched": built.matched,
                    "seconds": seconds,
                    "core_seconds": core,
                    "message_kb": round(len(message) / 1024, 1),
                    "ratio": seconds / baseline,
                }
            )
    return result


def to_markdown(result: dict, machine: dict) -> str:
    lines = [
        "# Overlay on a large graph (bench/overlay.py)",
        "",
        f"{datetime.date.today().isoformat()}; {machine.get('cpu', '?')}, "
        f"{machine.get('cores', '?')} cores; load average at start "
        f"{machine.get('load', '?')}.",
        "",
        f"Graph: {result['ops']:,} ops ({result['graph_mb']} MB GraphDef). Baseline: "
        f"TensorFlow's `GraphDef.ParseFromString` of it, median of {REPEATS}: "
        f"**{result['baseline_seconds']:.3f} s**. Target: an overlay applied under "
        f"{TARGET_SECONDS} s.",
        "",
        "| view (boxes) | series | keys (on ops) | overlay + scene + JSON | of which overlay() "
        "| message | ratio vs parse | target |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    first = result["first_seconds"]
    lines.append(
        f"| first view | every op, the view's first overlay (builds its name lookup) "
        f"| {result['ops']:,} | {first:.3f} s | | | {first / result['baseline_seconds']:.2f} "
        f"| {'yes' if first < TARGET_SECONDS else '**no**'} |"
    )
    for row in result["rows"]:
        ok = "yes" if row["seconds"] < TARGET_SECONDS else "**no**"
        lines.append(
            f"| {row['view']} ({row['boxes']}) | {row['case']} | {row['keys']:,} "
            f"({row['matched']:,}) | {row['seconds']:.3f} s | {row['core_seconds']:.3f} s "
            f"| {row['message_kb']} KB | {row['ratio']:.2f} | {ok} |"
        )
    lines += [
        "",
        "Times are wall clock, median of "
        f"{REPEATS} runs in one process (the view opened once before). `overlay()` matches "
        "the Series' names to ops and bins the values; the scene gives every visible box its "
        "colours and texts; the message is the JSON the widget sends (scene and legend). "
        "Ratio: the overlay's whole time / TensorFlow's parse of the same graph (lower is "
        "better).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return graph_bench_main(
        argv,
        description=__doc__.split("\n\n")[0],
        ops=160_000,
        label="the 166K graph",
        out=HERE / "results-overlay.md",
        measure=lambda meta, data, scale: measure(meta, expand="bert/encoder"),
        to_markdown=to_markdown,
    )


if __name__ == "__main__":
    raise SystemExit(main())
