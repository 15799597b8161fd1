"""Run every benchmark and print tfexplore's figures beside TensorFlow's own, measured now.

Each measurement runs in a fresh Python process (``run.py --child CASE SPEC``) so that imports,
caches and memory do not leak from one into the next. In the child, imports and the setup are
done first and the data files are read once (so that both sides find them in the page cache);
then the peak-RSS mark is reset (``/proc/self/clear_refs``) and the work is timed. Peak RSS is
the child's ``VmHWM`` over the timed work: the whole process, imports included.

Cheap figures are the median of several runs (31 if the first run takes under 0.1 s, 5 under
1 s, 3 under 10 s), each on fresh objects; expensive ones (``stats()`` and ``diff()`` over
gigabytes) run
once. The table says which.

Usage::

    .venv/bin/python bench/run.py            # full scale: generates bench/data/ on first run
    .venv/bin/python bench/run.py --small    # a quick run on small artifacts
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere: import the repo's tfexplore
    sys.path.insert(0, str(ROOT))
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import generate  # noqa: E402

#: the large graph for the "graph view of a huge graph" row, per scale
LARGE_OPS = {"full": 160_000, "small": 20_000, "tiny": 2_000}
MB = 1024 * 1024


# ---------------------------------------------------------------------------------------------
# Inside a child: timing and memory
# ---------------------------------------------------------------------------------------------
def _status(field: str) -> int:
    """A ``/proc/self/status`` figure (``VmRSS``, ``VmHWM``) in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


_BASE_RSS = [0]


def reset_peak() -> int:
    """Reset the peak-RSS mark to the current RSS (Linux 4.0+); return the current RSS (the
    child reports it as ``base_rss``: what imports and setup hold before the timed work)."""
    _BASE_RSS[0] = _status("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:  # not allowed: the peak then covers the whole process
        pass
    return _status("VmRSS")


def warm(paths) -> None:
    """Read files once so that every measured run finds them in the page cache."""
    for path in paths:
        with open(path, "rb", buffering=0) as f:
            while f.read(16 * MB):
                pass


def checkpoint_files(prefix: str) -> list[Path]:
    prefix = Path(prefix)
    return sorted(p for p in prefix.parent.glob(prefix.name + ".*") if not p.name.endswith(".meta"))


_CPU_TIMES: list[float] = []
#: runs of a figure whose first run is under 0.1 s (the median is reported, as for all)
SHORT_REPEATS = 31


def repeat(work: Callable[[], object], repeats: int | None, *, before=None) -> list[float]:
    """Time ``work()`` (wall clock; the CPU time of each run goes to ``cpu_seconds``);
    ``repeats=None`` chooses from the first run (31 if < 0.1 s, 5 if < 1 s, 3 if < 10 s, else
    1: on a shared machine the median of 5 runs of a few milliseconds is noisy, so both sides
    of a millisecond-scale row get 31). ``before()`` runs untimed before each run."""
    times: list[float] = []
    while True:
        if before is not None:
            before()
        cpu = time.process_time()
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
        _CPU_TIMES.append(time.process_time() - cpu)
        if repeats is None:
            first = times[0]
            repeats = SHORT_REPEATS if first < 0.1 else 5 if first < 1 else 3 if first < 10 else 1
        if len(times) >= repeats:
            return times


# ---------------------------------------------------------------------------------------------
# The cases (each runs in its own child process)
# ---------------------------------------------------------------------------------------------
def case_variables_tfx(spec):
    import tfexplore

    tfexplore.open(spec["before"]).variables  # noqa: B018 - imports TF and pandas once
    warm(checkpoint_files(spec["after"]))
    reset_peak()
    times = repeat(lambda: tfexplore.open(spec["after"]).variables, spec.get("repeats"))
    return {"seconds": times}


def case_variables_tf(spec):
    import tensorflow as tf

    tf.train.list_variables(spec["before"])
    warm(checkpoint_files(spec["after"]))
    reset_peak()

    def work():
        tf.train.list_variables(spec["after"])
        tf.train.load_checkpoint(spec["after"]).get_variable_to_dtype_map()

    return {"seconds": repeat(work, spec.get("repeats"))}


def _meta_case(spec, *, full_table: bool):
    import tfexplore  # noqa: F401
    from tfexplore._tf import protos
    from tfexplore.artifacts.metagraph import MetaGraph

    protos()
    warm([spec["meta"]])
    reset_peak()

    def work():
        graph = MetaGraph.from_file(spec["meta"]).graph
        graph.scopes  # noqa: B018
        if full_table:
            graph.nodes  # noqa: B018

    return {"seconds": repeat(work, spec.get("repeats"))}


def case_meta_tfx(spec):
    """The graph model and its collapsed scope tree: what opening a graph needs."""
    return _meta_case(spec, full_table=False)


def case_meta_nodes_tfx(spec):
    """The same plus the full ``nodes`` table (every attribute summarised, output dtypes)."""
    return _meta_case(spec, full_table=True)


def case_meta_parse_tf(spec):
    from tensorflow.core.protobuf import meta_graph_pb2

    warm([spec["meta"]])
    reset_peak()

    def work():
        meta_graph_pb2.MetaGraphDef().ParseFromString(Path(spec["meta"]).read_bytes())

    return {"seconds": repeat(work, spec.get("repeats"))}


def case_meta_import_tf(spec):
    import tensorflow as tf

    warm([spec["meta"]])
    reset_peak()

    def work():
        with tf.Graph().as_default():
            tf.compat.v1.train.import_meta_graph(spec["meta"])

    return {"seconds": repeat(work, spec.get("repeats"))}


def case_stats_tfx(spec):
    import tfexplore

    variables = tfexplore.open(spec["after"]).variables
    warm(checkpoint_files(spec["after"]))
    reset_peak()
    times = repeat(
        lambda: tfexplore.open(spec["after"]).stats(progress=False), spec.get("repeats", 1)
    )
    return {
        "seconds": times,
        "bytes": int(variables["nbytes"].fillna(0).sum()),
        "largest": int(variables["nbytes"].fillna(0).max()),
    }


def case_stats_tf(spec):
    import numpy as np
    import tensorflow as tf

    tf.train.list_variables(spec["before"])
    warm(checkpoint_files(spec["after"]))
    reset_peak()
    total = [0]

    def work():
        total[0] = 0
        reader = tf.train.load_checkpoint(spec["after"])
        for name, _ in tf.train.list_variables(spec["after"]):
            array = reader.get_tensor(name)
            if isinstance(array, np.ndarray) and array.dtype.kind in "biuf":
                array.min(), array.max(), array.mean(), array.std(), np.linalg.norm(array)
                total[0] += array.nbytes
            del array

    return {"seconds": repeat(work, spec.get("repeats", 1)), "bytes": total[0]}


def case_diff_tfx(spec):
    import tfexplore

    variables = tfexplore.open(spec["before"]).variables
    warm(checkpoint_files(spec["before"]) + checkpoint_files(spec["after"]))
    reset_peak()
    times = repeat(
        lambda: tfexplore.open(spec["before"]).diff(spec["after"], progress=False),
        spec.get("repeats", 1),
    )
    return {"seconds": times, "bytes": 2 * int(variables["nbytes"].fillna(0).sum())}


def case_diff_tf(spec):
    import numpy as np
    import tensorflow as tf

    tf.train.list_variables(spec["before"])
    warm(checkpoint_files(spec["before"]) + checkpoint_files(spec["after"]))
    reset_peak()
    total = [0]

    def work():
        total[0] = 0
        old = tf.train.load_checkpoint(spec["before"])
        new = tf.train.load_checkpoint(spec["after"])
        for name, _ in tf.train.list_variables(spec["before"]):
            a, b = old.get_tensor(name), new.get_tensor(name)
            if isinstance(a, np.ndarray) and a.dtype.kind in "biuf":
                change = np.abs(b - a)
                change.max(), change.mean(), np.linalg.norm(change) / (np.linalg.norm(a) or 1.0)
                total[0] += a.nbytes + b.nbytes
            del a, b

    return {"seconds": repeat(work, spec.get("repeats", 1)), "bytes": total[0]}


def _open_view(source: str):
    """A GraphView (widget) of ``source``; its whole synced state serialised as the kernel
    would send it to the browser."""
    from tfexplore.widgets.graphview import GraphView

    view = GraphView(source)
    json.dumps(view.get_state())
    return view


def _view_setup(spec, source: str):
    import tfexplore  # noqa: F401
    from tfexplore._tf import protos

    protos()
    import tfexplore.widgets  # noqa: F401

    warm([spec["meta"]] + (checkpoint_files(spec["after"]) if source == spec.get("after") else []))


def case_view_open(spec):
    source = spec.get("view_source") or spec["meta"]
    _view_setup(spec, source)
    reset_peak()
    views = []
    times = repeat(
        lambda: views.append(_open_view(source)), spec.get("repeats"), before=views.clear
    )
    return {"seconds": times, "boxes": len(views[-1].scene["boxes"])}


def _round_trip(spec, action: Callable, reset: Callable):
    source = spec.get("view_source") or spec["meta"]
    _view_setup(spec, source)
    view = _open_view(source)
    reset_peak()

    def work():
        action(view)
        json.dumps(view.get_state())  # what goes to the browser (an upper bound: every trait)

    times = repeat(work, spec.get("repeats", 5), before=lambda: reset(view))
    return {"seconds": times, "boxes": len(view.scene["boxes"])}


def _collapse_all(view):
    view.selected = ""
    view.search_query = ""
    view.expanded = []


def case_view_expand(spec):
    return _round_trip(spec, lambda v: v.expand("bert/encoder/layer_0"), _collapse_all)


def case_view_search(spec):
    return _round_trip(spec, lambda v: v.search("query/MatMul"), _collapse_all)


def case_view_select_op(spec):
    name = "bert/encoder/layer_0/attention/self/query/MatMul"
    return _round_trip(spec, lambda v: v.select(name), _collapse_all)


def case_view_select_variable(spec):
    name = "bert/embeddings/word_embeddings"
    return _round_trip(spec, lambda v: v.select(name), _collapse_all)


from train import case_train_plot, spec_for  # noqa: E402,F401 - bench/train.py: the training row


def _rewrite_folder(spec) -> Path:
    return Path(spec["after"]).parent.parent / "rewrite-out"


def case_rewrite_tfx(spec):
    """Checkpoint surgery at scale: every tensor renamed (``bert/`` -> ``encoder/``), the plan
    checked and written tensor by tensor to a new prefix (removed after each repeat)."""
    import shutil

    import tfexplore

    variables = tfexplore.open(spec["after"]).variables
    folder = _rewrite_folder(spec)
    warm(checkpoint_files(spec["after"]))
    reset_peak()

    def work():
        plan = tfexplore.open(spec["after"]).rewrite(prefix={"bert/": "encoder/"})
        plan.write(folder / "model.ckpt", progress=False)

    times = repeat(work, spec.get("repeats", 1), before=lambda: shutil.rmtree(folder, True))
    shutil.rmtree(folder, ignore_errors=True)
    return {
        "seconds": times,
        "bytes": int(variables["nbytes"].fillna(0).sum()),
        "largest": int(variables["nbytes"].fillna(0).max()),
    }


def case_rewrite_tf(spec):
    """What conversion scripts do: every tensor read with ``tf.train.load_checkpoint`` into a
    dict under its new name, then one ``SaveV2`` (memory: the whole checkpoint)."""
    import shutil

    import tensorflow as tf

    tf.train.list_variables(spec["after"])
    folder = _rewrite_folder(spec)
    warm(checkpoint_files(spec["after"]))
    reset_peak()
    total = [0]

    def work():
        reader = tf.train.load_checkpoint(spec["after"])
        values = {}
        for name, _ in tf.train.list_variables(spec["after"]):
            values[name.replace("bert/", "encoder/", 1)] = reader.get_tensor(name)
        total[0] = sum(getattr(v, "nbytes", 0) for v in values.values())
        folder.mkdir(parents=True, exist_ok=True)
        tf.raw_ops.SaveV2(
            prefix=str(folder / "model.ckpt"),
            tensor_names=list(values),
            shape_and_slices=[""] * len(values),
            tensors=list(values.values()),
        )

    times = repeat(work, spec.get("repeats", 1), before=lambda: shutil.rmtree(folder, True))
    shutil.rmtree(folder, ignore_errors=True)
    return {"seconds": times, "bytes": total[0]}


CASES = {name[len("case_") :]: fn for name, fn in globals().items() if name.startswith("case_")}


def child(case: str, spec: dict) -> dict:
    """Run one case in this process; add the peak RSS over its timed part."""
    _CPU_TIMES.clear()
    result = CASES[case](spec)
    result["cpu_seconds"] = result.get("cpu_seconds") or list(_CPU_TIMES)
    result["peak_rss"] = _status("VmHWM")
    result["base_rss"] = _BASE_RSS[0]
    return result


# ---------------------------------------------------------------------------------------------
# The parent: run the children, make the table
# ---------------------------------------------------------------------------------------------
def measure(case: str, spec: dict, *, in_process: bool = False) -> dict:
    """Run ``case`` in a fresh Python process (or here, for quick tests); return its result."""
    if in_process:
        return child(case, spec)
    command = [sys.executable, str(Path(__file__).resolve()), "--child", case, json.dumps(spec)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise RuntimeError(f"benchmark {case} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")


def median_time(work: Callable[[], object], repeats: int) -> tuple[float, object]:
    """``(median wall-clock seconds of work() over repeats runs, the last result)``."""
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def graph_bench_main(
    argv: list[str] | None,
    *,
    description: str,
    ops: int,
    label: str,
    out: Path,
    measure: Callable[[Path, Path, str], dict],
    to_markdown: Callable[[dict, dict], str],
) -> int:
    """The command line of a bench on one generated graph (``bench/graph_diff.py``,
    ``bench/overlay.py``): ``--scale``/``--ops`` pick the graph (generated on the first run),
    ``measure(meta, data folder, scale name)`` times it, the Markdown goes to ``--out`` (and
    the raw numbers to ``--json``) and is printed."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--scale", default=None, help=f"a named scale (default: {label})")
    parser.add_argument("--ops", type=int, default=ops, help="ops of the graph-only scale")
    parser.add_argument("--data", default=str(generate.DATA_DIR), help="artifacts folder")
    parser.add_argument("--out", default=str(out))
    parser.add_argument("--json", default=None, help="also write the raw numbers here")
    args = parser.parse_args(argv)
    scale = generate.SCALES[args.scale] if args.scale else generate.scale_for_ops(args.ops)
    artifacts = generate.generate(scale, args.data, log=lambda *a, **k: None)
    info = machine()
    info["load"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    result = measure(artifacts.meta, Path(args.data), scale.name)
    text = to_markdown(result, info)
    Path(args.out).write_text(text)
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": info, **result}, indent=1))
    print(text)
    return 0


def machine() -> dict:
    """CPU model, cores, RAM, and the versions that matter."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = int(line.split()[1]) * 1024
    except OSError:
        pass
    versions = {}
    for module in ("tensorflow", "numpy", "pandas"):
        try:
            from importlib.metadata import version

            versions[module] = version(module if module != "tensorflow" else "tensorflow-cpu")
        except Exception:  # noqa: BLE001 - a missing distribution name: leave it out
            pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "ram_gb": round(ram / 1024**3, 1),
        "python": platform.python_version(),
        "load_average": round(os.getloadavg()[0], 2),
        **versions,
    }


#: (figure, tfexplore case, TF baseline case, baseline label, kind, target)
#: kind: "time" (ratio = tfexplore time / TF time), "throughput" (GB/s), "memory".
ROWS = [
    (
        "checkpoint: open(prefix).variables",
        "variables_tfx",
        "variables_tf",
        "list_variables + dtype map",
        "time",
        ("ratio_max", 2.0),
    ),
    (
        "meta: MetaGraph.from_file().graph + .scopes (graph model, scope tree)",
        "meta_tfx",
        "meta_parse_tf",
        "MetaGraphDef.ParseFromString",
        "time",
        ("ratio_max", 5.0),
    ),
    (
        "meta: (same) vs import_meta_graph",
        "meta_tfx",
        "meta_import_tf",
        "import_meta_graph (fresh tf.Graph)",
        "time",
        ("ratio_max", 0.1),
    ),
    (
        "meta: graph + scopes + the full .nodes table",
        "meta_nodes_tfx",
        "meta_parse_tf",
        "MetaGraphDef.ParseFromString",
        "time",
        None,
    ),
    (
        "stats() over every tensor",
        "stats_tfx",
        "stats_tf",
        "get_tensor + numpy min/max/mean/std/norm",
        "throughput",
        ("throughput_min", 1.0),
    ),
    (
        "stats(): peak RSS above the RSS after imports",
        "stats_tfx",
        "stats_tf",
        "the same loop",
        "memory",
        ("memory_stats", None),
    ),
    (
        "diff() of the two checkpoints",
        "diff_tfx",
        "diff_tf",
        "get_tensor x2 + numpy abs(b - a) max/mean/norm",
        "throughput",
        None,
    ),
    (
        "diff(): peak RSS above the RSS after imports",
        "diff_tfx",
        "diff_tf",
        "the same loop",
        "memory",
        None,
    ),
    ("GraphView: open collapsed (to first layout)", "view_open", None, None, "time", None),
    (
        "GraphView: expand bert/encoder/layer_0",
        "view_expand",
        None,
        None,
        "time",
        ("seconds_max", 0.3),
    ),
    (
        "GraphView: search 'query/MatMul' (+ reveal)",
        "view_search",
        None,
        None,
        "time",
        ("seconds_max", 0.3),
    ),
    ("GraphView: select an op", "view_select_op", None, None, "time", ("seconds_max", 0.3)),
    (
        "GraphView: select word_embeddings (reads + stats its value)",
        "view_select_variable",
        None,
        None,
        "time",
        ("seconds_max", 0.3),
    ),
    (
        "GraphView: open the LARGE-op graph (to first layout)",
        "view_open_large",
        None,
        None,
        "time",
        ("seconds_max", 3.0),
    ),
    (
        "train: steps/s, TrainPanel with live plot (small MLP)",
        "train_plot",
        "train_plot",
        "plain sess.run(train_op) loop",
        "steps",
        ("plot_cost_max", 0.05),
    ),
    (
        "rewrite(): every tensor renamed, checked, written",
        "rewrite_tfx",
        "rewrite_tf",
        "load_checkpoint + get_tensor all + one SaveV2",
        "throughput",
        None,
    ),
    (
        "rewrite(): peak RSS above the RSS after imports",
        "rewrite_tfx",
        "rewrite_tf",
        "the same script",
        "memory",
        ("memory_stats", None),
    ),
]


def run_all(
    scale_name: str,
    data: Path,
    *,
    in_process: bool = False,
    large_ops: int | None = None,
    only: str | None = None,
    log=print,
) -> dict:
    """Generate (or reuse) the artifacts, run every case, return the table as data."""
    scale = generate.SCALES[scale_name]
    artifacts = generate.generate(scale, data, log=log)
    large_ops = LARGE_OPS.get(scale_name, 2000) if large_ops is None else large_ops
    if large_ops:
        large = generate.generate(generate.scale_for_ops(large_ops, scale), data, log=log)
    else:  # no separate large graph (quick tests): the main graph stands in
        large = artifacts
    spec = {
        "before": str(artifacts.before),
        "after": str(artifacts.after),
        "meta": str(artifacts.meta),
        "view_source": str(artifacts.after),
    }
    specs = {case: dict(spec) for case in CASES}
    specs["view_open_large"] = {**spec, "meta": str(large.meta), "view_source": str(large.meta)}
    specs["train_plot"].update(spec_for(scale_name))
    results: dict[str, dict] = {}
    rows = [r for r in ROWS if not only or only in r[1] or only in (r[2] or "")]
    for case in [c for row in rows for c in row[1:3] if c]:
        if case in results:
            continue
        target = "view_open" if case == "view_open_large" else case
        log(f"  {case} ...", end="", flush=True)
        started = time.perf_counter()
        try:
            results[case] = measure(target, specs[case], in_process=in_process)
        except Exception as exc:  # noqa: BLE001 - one failing case must not lose the table
            if in_process:
                raise
            results[case] = {"error": str(exc).strip().splitlines()[-1]}
            log(f" FAILED: {results[case]['error']}")
            continue
        log(f" {_median(results[case]):.3f} s (child {time.perf_counter() - started:.0f} s)")
    rows = [_row(r, results, large.info["ops"]) for r in rows]
    return {
        "machine": machine(),
        "scale": {"name": scale_name, **artifacts.info},
        "large_graph_ops": large.info["ops"],
        "when": datetime.datetime.now().isoformat(timespec="seconds"),
        "rows": rows,
        "results": results,
    }


def _median(result: dict) -> float:
    return statistics.median(result["seconds"])


def _timing(result: dict) -> str:
    n = len(result["seconds"])
    return "once" if n == 1 else f"median of {n}"


def _row(row, results: dict, large_ops: int) -> dict:
    label, case, base_case, base_label, kind, target = row
    label = label.replace("LARGE", f"{large_ops:,}")
    mine = results[case]
    base = results.get(base_case) if base_case else None
    failed = [r["error"] for r in (mine, base) if r and "error" in r]
    if failed:
        return {
            "figure": label,
            "kind": kind,
            "error": "; ".join(failed),
            "baseline_label": base_label,
            "target": target and target[0],
        }
    out = {
        "figure": label,
        "kind": kind,
        "tfexplore": _median(mine),
        "baseline": _median(base) if base else None,
        "baseline_label": base_label,
        "ratio": None,
        "unit": "s",
        "timing": _timing(mine),
        "tfexplore_cpu": statistics.median(mine["cpu_seconds"]),
        "baseline_cpu": statistics.median(base["cpu_seconds"]) if base else None,
        "peak_mb": mine["peak_rss"] / MB,
        "baseline_peak_mb": base["peak_rss"] / MB if base else None,
        "target": None,
        "met": None,
    }
    if kind == "time" and base:
        out["ratio"] = out["tfexplore"] / out["baseline"]
    elif kind == "throughput":
        out["tfexplore_gbps"] = mine["bytes"] / 1e9 / _median(mine)
        if base:
            out["baseline_gbps"] = base["bytes"] / 1e9 / _median(base)
            out["ratio"] = out["tfexplore_gbps"] / out["baseline_gbps"]
    elif kind == "steps":  # steps per second, measured together in one process (train.py)
        rate = mine["steps_per_second"]
        out.update(
            unit="steps/s",
            tfexplore=rate["panel"],
            baseline=rate["plain"],
            ratio=rate["panel"] / rate["plain"],
            plot_cost=mine["plot_cost"],
            baseline_cpu=statistics.median(mine["cpu_by_loop"]["plain"]),
            timing=f"best of {mine['repeats']} x {mine['steps']} steps; Session.train "
            f"alone {rate['train']:.0f} steps/s; {sum(mine['redraws'])} redraws",
        )
    elif kind == "memory":
        out["unit"] = "MB"
        # the base is read just before the peak is reset to the RSS of that moment: pages given
        # back in between (another thread's) can put the peak a few hundred KB under it
        out["tfexplore"] = max(0.0, (mine["peak_rss"] - mine["base_rss"]) / MB)
        out["baseline"] = max(0.0, (base["peak_rss"] - base["base_rss"]) / MB) if base else None
        out["timing"] = "VmHWM - VmRSS before the work"
    if target is not None:
        rule, value = target
        if rule == "ratio_max":
            out["target"], out["met"] = f"<= {value:g}x time", out["ratio"] <= value
        elif rule == "throughput_min":
            out["target"], out["met"] = f">= {value:g}x GB/s", out["ratio"] >= value
        elif rule == "seconds_max":
            out["target"], out["met"] = f"< {value:g} s", out["tfexplore"] < value
        elif rule == "plot_cost_max":
            out["target"] = (
                f"panel with plot >= {1 - value:.0%} of the plain loop's steps/s "
                f"(it is {mine['panel_vs_plain']:.0%}; vs Session.train alone: "
                f"{mine['throughput_cost']:.1%} slower, redrawing "
                f"{out['plot_cost']:.1%} of the run)"
            )
            out["met"] = mine["panel_vs_plain"] >= 1 - value
        elif rule == "memory_stats":
            limit = 2 * mine["largest"] / MB + 500
            out["target"] = f"<= {limit:.0f} MB (2x largest tensor + 500 MB)"
            out["met"] = out["tfexplore"] <= limit
    return out


# ---------------------------------------------------------------------------------------------
# Presentation
# ---------------------------------------------------------------------------------------------
def _seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def _cell(row: dict, side: str) -> str:
    value = row[side] if side == "tfexplore" else row["baseline"]
    if value is None:
        return "—"
    if row["unit"] == "MB":
        return f"{value:,.0f} MB"
    if row["unit"] == "steps/s":
        return f"{value:,.0f} steps/s"
    text = _seconds(value)
    gbps = row.get(f"{side}_gbps")
    return f"{text} ({gbps:.2f} GB/s)" if gbps is not None else text


def to_markdown(table: dict) -> str:
    m = table["machine"]
    s = table["scale"]
    scale = s["scale"]
    lines = [
        f"# tfexplore benchmarks ({s['name']} scale, {table['when']})",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM; load average "
        f"{m['load_average']} at the start; Python {m['python']}, TensorFlow "
        f"{m.get('tensorflow', '?')}, numpy {m.get('numpy', '?')}, pandas {m.get('pandas', '?')}.",
        "",
        f"Artifacts: a BERT-like TF1 training graph, {scale['layers']} layers, hidden "
        f"{scale['hidden']}, {s['ops']:,} ops, {s['params'] * 3 / 1e6:,.1f}M floats in each "
        f"checkpoint (weights + Adam slots, {s['params'] * 12 / 1e9:.2f} GB); a second graph of "
        f"{table['large_graph_ops']:,} ops for the large-graph row.",
        "",
        "| figure | tfexplore | TensorFlow baseline | baseline | ratio | target | met | "
        "peak RSS tfexplore / TF | CPU time tfexplore / TF | timing |",
        "| --- | ---: | --- | ---: | ---: | --- | --- | ---: | ---: | --- |",
    ]
    for row in table["rows"]:
        if "error" in row:
            lines.append(
                f"| {row['figure']} | failed: {row['error'][:120]} | "
                f"{row['baseline_label'] or '—'} | | | | | | | |"
            )
            continue
        ratio = "—"
        if row["ratio"] is not None:
            unit = {"throughput": "GB/s", "steps": "steps/s"}.get(row["kind"], "time")
            ratio = f"{row['ratio']:.2f}x {unit}"
        met = "—" if row["met"] is None else ("yes" if row["met"] else "**no**")
        peak = f"{row['peak_mb']:,.0f}"
        peak += f" / {row['baseline_peak_mb']:,.0f} MB" if row["baseline_peak_mb"] else " MB"
        cpu = "—"
        if row["kind"] != "memory":
            cpu = _seconds(row["tfexplore_cpu"])
            cpu += f" / {_seconds(row['baseline_cpu'])}" if row["baseline_cpu"] is not None else ""
        lines.append(
            f"| {row['figure']} | {_cell(row, 'tfexplore')} | {row['baseline_label'] or '—'} | "
            f"{_cell(row, 'baseline')} | {ratio} | {row['target'] or '—'} | {met} | {peak} | "
            f"{cpu} | {row['timing']} |"
        )
    lines += [
        "",
        "Ratios: time rows are tfexplore's time / TensorFlow's (lower is better); throughput "
        "rows are tfexplore's GB/s / TensorFlow's (higher is better). Each figure ran in a fresh "
        "process after its imports, with the files already in the page cache; GraphView figures "
        "include serialising the widget's whole state to JSON. Wall-clock time is what the "
        "ratio and targets use; CPU time (the process's, all threads) is shown because other "
        "work on a shared machine inflates wall-clock time.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run tfexplore's benchmarks.")
    parser.add_argument("--small", action="store_true", help="the small scale (quick)")
    parser.add_argument("--scale", choices=sorted(generate.SCALES), help="a named scale")
    parser.add_argument("--data", default=str(generate.DATA_DIR), help="artifact root")
    parser.add_argument(
        "--large-ops",
        type=int,
        help="ops of the large graph (default by scale; 0: use the main graph)",
    )
    parser.add_argument("--out", default=str(HERE / "results.md"), help="Markdown output")
    parser.add_argument("--json", help="also write the raw results here")
    parser.add_argument("--only", help="run only the rows whose case names contain this")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run every case in this process (quick; memory figures then include earlier cases)",
    )
    parser.add_argument("--child", nargs=2, metavar=("CASE", "SPEC"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        result = child(args.child[0], json.loads(args.child[1]))
        print("RESULT " + json.dumps(result), flush=True)
        return 0
    scale = args.scale or ("small" if args.small else "full")
    info = machine()
    print(
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['ram_gb']} GB RAM "
        f"(load average {info['load_average']})"
    )
    table = run_all(
        scale,
        Path(args.data),
        in_process=args.in_process,
        large_ops=args.large_ops,
        only=args.only,
        log=print,
    )
    text = to_markdown(table)
    print()
    print(text)
    Path(args.out).write_text(text)
    if args.json:
        Path(args.json).write_text(json.dumps(table, indent=1, default=_plain))
    return 0


def _plain(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)


if __name__ == "__main__":
    sys.exit(main())
