"""Two versions of the 20K-op bench graph compared: what ``tfexplore.diff_graphs`` costs,
beside TensorFlow reading the same two graphs, measured in the same run.

The graph is ``generate.py``'s ``ops20000`` (the full-size BERT-like blocks, as many layers
as make ~20,000 ops, Adam included; graph only, generated on the first run in about a
minute). Version ``a`` is its GraphDef; each version ``b`` is a copy edited in Python, as a
new release of the model would be:

- ``copy``: the same graph, parsed again (every op the same);
- ``release``: the middle layer (``bert/encoder/layer_N``) renamed ``block_N`` wherever the
  path appears (its gradients and Adam updates too), a ``CheckNumerics`` inserted on 10
  edges, 5 attributes changed (``grad_a`` of MatMuls), the ``loss`` summary deleted (with
  the ops only it reads) and the input placeholders' batch size left open (None);
- ``top scope renamed``: ``bert/`` renamed ``encoder/`` (consumers, colocation names and
  all): most ops of the graph are renamed, the worst case for pairing by structure.

Each figure is the median of 5 runs (3 for ``import_graph_def``):

- ``diff (protos)``: ``tfexplore.diff_graphs(graph_def_a, graph_def_b).changes``: both graphs
  modelled, ops paired, compared, the DataFrame of changes built;
- ``diff (files)``: the same from two ``.meta`` paths (reading and parsing included);
- baselines: ``GraphDef.ParseFromString`` of both graphs' bytes, and
  ``tf.graph_util.import_graph_def`` of both into fresh ``tf.Graph``s.

Ratio: tfexplore's time / the baseline's (lower is better). Target: under 1 s.

Usage::

    .venv/bin/python bench/graph_diff.py                   # the 20K-op graph
    .venv/bin/python bench/graph_diff.py --scale tiny --out /tmp/d.md   # seconds (the tests)
"""

from __future__ import annotations

import datetime
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere: import the repo's tfexplore
    sys.path.insert(0, str(ROOT))
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from run import graph_bench_main, median_time  # noqa: E402

REPEATS = 5
IMPORT_REPEATS = 3
TARGET_SECONDS = 1.0
_LAYERS = "bert/encoder/"


# ---------------------------------------------------------------------------------------------
# Version b: the graph edited
# ---------------------------------------------------------------------------------------------
def renamed(graph_def, old: str, new: str, *, anywhere: bool):
    """A copy of ``graph_def`` with the path ``old/`` renamed ``new/``: in op names, inputs and
    ``_class`` colocation names; ``anywhere``: also inside longer names (``gradients/old/...``,
    ``update_old/...``), as TensorFlow names them when the model is built again."""

    def rename(name: str) -> str:
        if anywhere:
            return name.replace(old + "/", new + "/")
        return new + name[len(old) :] if name.startswith(old + "/") else name

    result = type(graph_def)()
    result.CopyFrom(graph_def)
    for node in result.node:
        node.name = rename(node.name)
        inputs = [("^" + rename(t[1:])) if t.startswith("^") else rename(t) for t in node.input]
        del node.input[:]
        node.input.extend(inputs)
        if "_class" in node.attr:
            names = [b"loc:@" + rename(v.decode()[5:]).encode() for v in node.attr["_class"].list.s]
            del node.attr["_class"].list.s[:]
            node.attr["_class"].list.s.extend(names)
    return result


def release(graph_def):
    """The ``release`` edits (see the module docstring); returns ``(graph_def, edits)``."""
    import random

    rng = random.Random(0)
    layers = sorted({n.name.split("/")[2] for n in graph_def.node if n.name.startswith(_LAYERS)})
    layer = layers[len(layers) // 2]  # the middle layer, renamed
    block = layer.replace("layer_", "block_")
    result = renamed(graph_def, _LAYERS + layer, _LAYERS + block, anywhere=True)
    nodes = {node.name: node for node in result.node}
    # the loss summary, and the constants only it consumes
    doomed = {n for n, node in nodes.items() if node.op == "ScalarSummary"}
    consumers: dict[str, set[str]] = {}
    for node in result.node:
        for text in node.input:
            consumers.setdefault(text.lstrip("^").split(":")[0], set()).add(node.name)
    doomed |= {n for n in nodes if consumers.get(n) and consumers[n] <= doomed}
    kept = [node for node in result.node if node.name not in doomed]
    del result.node[:]
    result.node.extend(kept)
    nodes = {node.name: node for node in result.node}
    inserted = 0
    for name in rng.sample(sorted(n for n, node in nodes.items() if node.op == "MatMul"), 10):
        node = nodes[name]
        check = result.node.add(name=f"{name}/check_{inserted}", op="CheckNumerics")
        check.input.append(node.input[0])
        check.attr["T"].type = node.attr["T"].type
        check.attr["message"].s = b"inserted"
        node.input[0] = check.name
        inserted += 1
    flags = sorted(n for n, node in nodes.items() if node.op == "MatMul")
    for name in rng.sample(flags, 5):
        nodes[name].attr["grad_a"].b = not nodes[name].attr["grad_a"].b  # a hint: shapes hold
    placeholders = [node for node in result.node if node.op == "Placeholder"]
    for node in placeholders:
        dims = node.attr["shape"].shape.dim
        if dims:
            dims[0].size = -1  # the batch size left open
        if "_output_shapes" in node.attr and dims:
            node.attr["_output_shapes"].list.shape[0].CopyFrom(node.attr["shape"].shape)
    edits = {
        "renamed": f"{_LAYERS}{layer} -> {block}",
        "deleted": len(doomed),
        "inserted": inserted,
        "attrs": 5,
        "shapes": len(placeholders),
    }
    return result, edits


# ---------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------
def measure(meta: Path, scratch: Path) -> dict:
    import tensorflow as tf

    import tfexplore
    from tfexplore._tf import protos

    meta_graph = tfexplore.open(meta).proto
    graph_def = meta_graph.graph_def
    meta_bytes = meta.read_bytes()

    def parsed_copy():
        copy = protos().graph_pb2.GraphDef()
        copy.ParseFromString(graph_def.SerializeToString())
        return copy, {}

    def top_renamed():
        return renamed(graph_def, "bert", "encoder", anywhere=False), {}

    cases = {
        "copy": parsed_copy,
        "release": lambda: release(graph_def),
        "top scope renamed": top_renamed,
    }
    result = {
        "ops": len(graph_def.node),
        "graph_mb": round(len(graph_def.SerializeToString()) / 2**20, 1),
        "rows": [],
    }
    scratch.mkdir(parents=True, exist_ok=True)
    for case, make in cases.items():
        other, edits = make()
        other_meta = type(meta_graph)()
        other_meta.CopyFrom(meta_graph)
        other_meta.graph_def.CopyFrom(other)
        other_path = scratch / f"{case.replace(' ', '_')}.meta"
        other_path.write_bytes(other_meta.SerializeToString())
        bytes_a, bytes_b = graph_def.SerializeToString(), other.SerializeToString()

        def parse(bytes_a=bytes_a, bytes_b=bytes_b):
            for data in (bytes_a, bytes_b):
                parsed = tf.compat.v1.GraphDef()
                parsed.ParseFromString(data)

        def import_both(other=other):
            for version in (graph_def, other):
                with tf.Graph().as_default():
                    tf.graph_util.import_graph_def(version, name="")

        def from_protos(other=other):
            diff = tfexplore.diff_graphs(graph_def, other)
            diff.changes  # noqa: B018 - the DataFrame a user looks at first
            return diff

        def from_files(other_path=other_path):
            diff = tfexplore.diff_graphs(meta, other_path)
            diff.changes  # noqa: B018
            return diff

        _ = meta.read_bytes(), other_path.read_bytes()  # both files in the page cache
        seconds, diff = median_time(from_protos, REPEATS)
        file_seconds, _ = median_time(from_files, REPEATS)
        parse_seconds, _ = median_time(parse, REPEATS)
        import_seconds, _ = median_time(import_both, IMPORT_REPEATS)
        result["rows"].append(
            {
                "case": case,
                "ops_b": len(other.node),
                "edits": edits,
                "counts": dict(diff.counts),
                "renames": [list(r) for r in diff.renames.itertuples(index=False)][:4],
                "seconds": seconds,
                "file_seconds": file_seconds,
                "parse_seconds": parse_seconds,
                "import_seconds": import_seconds,
                "ratio_parse": seconds / parse_seconds,
                "ratio_import": seconds / import_seconds,
                "file_ratio_parse": file_seconds / parse_seconds,
            }
        )
    result["meta_mb"] = round(len(meta_bytes) / 2**20, 1)
    return result


def to_markdown(result: dict, machine: dict) -> str:
    lines = [
        "# Graph diff of two versions of a graph (bench/graph_diff.py)",
        "",
        f"{datetime.date.today().isoformat()}; {machine.get('cpu', '?')}, "
        f"{machine.get('cores', '?')} cores; load average at start {machine.get('load', '?')}.",
        "",
        f"Graph `a`: {result['ops']:,} ops ({result['graph_mb']} MB GraphDef, "
        f"{result['meta_mb']} MB `.meta`). Target: a diff under {TARGET_SECONDS:.0f} s.",
        "",
        "| version b | what the diff found | diff (protos) | diff (files) "
        "| parse both (TF) | import both (TF) | ratio vs parse | ratio vs import | target |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in result["rows"]:
        counts = row["counts"]
        found = ", ".join(f"{counts[k]:,} {k}" for k in ("changed", "added", "removed", "renamed"))
        if row["renames"]:
            found += "; renames: " + ", ".join(
                f"`{old}` -> `{new}` ({n})" for old, new, n in row["renames"][:3]
            )
        ok = "yes" if row["seconds"] < TARGET_SECONDS else "**no**"
        lines.append(
            f"| {row['case']} ({row['ops_b']:,} ops) | {found} | {row['seconds']:.3f} s "
            f"| {row['file_seconds']:.3f} s | {row['parse_seconds']:.3f} s "
            f"| {row['import_seconds']:.3f} s | {row['ratio_parse']:.1f} "
            f"| {row['ratio_import']:.2f} | {ok} |"
        )
    lines += [
        "",
        f"Times are wall clock, median of {REPEATS} runs in one process "
        f"({IMPORT_REPEATS} for `import_graph_def`). *diff (protos)*: "
        "`tfexplore.diff_graphs(graph_def_a, graph_def_b).changes` (both graphs modelled, "
        "ops paired by name, structure and scope rewrites, compared, the DataFrame built); "
        "*diff (files)*: the same from the two `.meta` paths, reading and parsing included. "
        "Baselines: TensorFlow's `GraphDef.ParseFromString` of both graphs, and "
        "`tf.graph_util.import_graph_def` of both into fresh `tf.Graph`s. Ratio: diff (protos) "
        "/ baseline (lower is better).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return graph_bench_main(
        argv,
        description=__doc__.split("\n\n")[0],
        ops=20_000,
        label="the 20K graph",
        out=HERE / "results-graph-diff.md",
        measure=lambda meta, data, scale: measure(meta, data / f"{scale}-diff"),
        to_markdown=to_markdown,
    )


if __name__ == "__main__":
    raise SystemExit(main())
