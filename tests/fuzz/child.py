"""The fuzz worker: runs a batch of cases in one process and reports each one as it goes.

``python -m tests.fuzz.child SEEDS WORKDIR CASES.jsonl RESULTS.jsonl [--limit-gb N]``

For each case it writes a ``start`` line *before* damaging and inspecting it and an ``end``
line after, flushing both, so that a case that kills the process (a signal, a TensorFlow
abort) is the last one started. Address space is capped with ``RLIMIT_AS`` before TensorFlow
is imported: a hostile file that makes anything allocate past it fails (``MemoryError``, which
must have become a ``TFExploreError``) instead of swapping the machine to death.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import sys
import time
import traceback
from pathlib import Path


def _limit_memory(gigabytes: float) -> None:
    limit = int(gigabytes * (1 << 30))
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def fingerprint(folder: Path) -> dict[str, tuple[str, int]]:
    return {
        str(p.relative_to(folder)): (
            hashlib.sha256(p.read_bytes()).hexdigest(),
            p.stat().st_mtime_ns,
        )
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def inspect(target: Path) -> list[tuple[str, BaseException | None]]:
    """Everything a user does first with an artifact: open, explain, variables, stats, the
    graph model and the safety scan. Returns ``(step, exception or None)`` per step run."""
    import tfexplore
    from tfexplore.errors import TFExploreError

    steps: list[tuple[str, BaseException | None]] = []

    def step(name, function):
        try:
            result = function()
        except TFExploreError as exc:
            steps.append((name, exc))
            return None
        except Exception as exc:  # noqa: BLE001 - an outcome to report, not to hide
            exc._fuzz_traceback = traceback.format_exc()  # type: ignore[attr-defined]
            steps.append((name, exc))
            return None
        steps.append((name, None))
        return result

    artifact = step("open", lambda: tfexplore.open(target))
    if artifact is None:
        return steps
    step("summary", lambda: (artifact.summary(), repr(artifact), artifact._repr_html_()))
    step("explain", lambda: str(artifact.explain()))
    step("files", lambda: artifact.files)
    checkpoints = [artifact]
    if artifact.kind == "checkpoint_dir":
        step("checkpoints", lambda: (artifact.checkpoints, artifact.notes))
        checkpoints = step("iterate", lambda: list(artifact)) or []
        step("latest", lambda: artifact.latest.variables)
    elif artifact.kind == "saved_model":
        step(
            "signatures",
            lambda: (
                artifact.signatures,
                artifact.object_graph,
                artifact.functions,
                artifact.assets,
                artifact.fingerprint,
                artifact.notes,
            ),
        )
    elif artifact.kind == "keras":
        step(
            "layers",
            lambda: (
                artifact.layers,
                artifact.weights,
                artifact.notes,
                artifact.lambda_layers,
                artifact.custom_classes,
            ),
        )
    for item in checkpoints:
        step("variables", lambda item=item: item.variables)
        step("stats", lambda item=item: item.stats(progress=False))
        if item.kind == "checkpoint":
            step(
                "checkpoint_extras",
                lambda item=item: (item.object_graph, item.notes, item.step, item.explain()),
            )
            meta = step("meta_graph", lambda item=item: item.meta_graph)
            if meta is not None:
                step("graph", lambda meta=meta: _graph_model(meta.graph))
                step("meta_variables", lambda meta=meta: meta.variables)
    graph = None
    if artifact.kind in ("meta_graph", "saved_model", "graph_def"):
        graph = step("graph_attr", lambda: artifact.graph)
    if graph is not None:
        step("graph", lambda: _graph_model(graph))
    if getattr(type(artifact), "safety", None) is not None:
        step("safety", lambda: (artifact.safety.frame, repr(artifact.safety)))
    return steps


def _graph_model(graph) -> None:
    _ = graph.nodes, graph.edges, graph.op_counts(depth=1)
    for name in list(graph)[:50]:
        graph.node(name)
    for function in list(graph.functions.values())[:10]:
        _ = function.nodes, function.edges


def run_case(case: dict, seeds: Path, workdir: Path, out=None) -> dict:
    from .mutate import apply
    from .seeds import OPEN

    case_dir = workdir / f"case-{case['id']}"
    shutil.rmtree(case_dir, ignore_errors=True)
    started = time.perf_counter()
    try:
        details = apply(
            seeds / case["kind"], case_dir, case["kind"], case["mutation"], case["seed"]
        )
    except Exception as exc:  # noqa: BLE001 - the mutation did not apply: a case that is skipped
        shutil.rmtree(case_dir, ignore_errors=True)
        return {"outcome": "skipped", "detail": f"mutation failed: {type(exc).__name__}: {exc}"}
    if out is not None:  # what was done, in case the inspection kills the process
        out.write(
            json.dumps({"event": "mutated", "id": case["id"], "detail": details}, default=str)
            + "\n"
        )
        out.flush()
    before = fingerprint(case_dir)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    steps = inspect((case_dir / OPEN[case["kind"]]).resolve())
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    after = fingerprint(case_dir)
    result = _classify(steps, case_dir)
    result["mutation_detail"] = details
    result["seconds"] = round(time.perf_counter() - started, 3)
    result["rss_growth_mb"] = round((rss_after - rss_before) / 1024, 1)
    if before != after:
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        result.update(outcome="modified", detail=f"files changed by inspection: {changed}")
    shutil.rmtree(case_dir, ignore_errors=True)
    return result


def _classify(steps, case_dir: Path) -> dict:
    from tfexplore.errors import TFExploreError

    errors = [(name, exc) for name, exc in steps if exc is not None]
    others = [(name, exc) for name, exc in errors if not isinstance(exc, TFExploreError)]
    if others:
        name, exc = others[0]
        return {
            "outcome": "other",
            "error": type(exc).__name__,
            "step": name,
            "detail": _short(getattr(exc, "_fuzz_traceback", repr(exc)))[-3000:],
        }
    unnamed = [(name, exc) for name, exc in errors if str(case_dir) not in str(exc)]
    if unnamed:
        name, exc = unnamed[0]
        return {
            "outcome": "unnamed",
            "error": type(exc).__name__,
            "step": name,
            "detail": _short(str(exc))[:2000],
        }
    if errors:
        name, exc = errors[0]
        return {
            "outcome": "error",
            "error": type(exc).__name__,
            "step": name,
            "detail": str(exc).splitlines()[0][:300],
        }
    return {"outcome": "ok"}


def _short(text: str) -> str:
    """Long lines (a 100 kB path in a message) cut to 300 characters."""
    return "\n".join(line if len(line) <= 300 else line[:300] + "..." for line in text.splitlines())


def main(argv: list[str]) -> int:
    seeds, workdir, cases_file, results_file = (Path(a) for a in argv[:4])
    limit = float(argv[argv.index("--limit-gb") + 1]) if "--limit-gb" in argv else 6.0
    _limit_memory(limit)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import warnings

    warnings.simplefilter("ignore")
    import tfexplore._tf as _tf

    _tf.tf()
    workdir.mkdir(parents=True, exist_ok=True)
    cases = [json.loads(line) for line in cases_file.read_text().splitlines() if line.strip()]
    with results_file.open("a", buffering=1) as out:
        for case in cases:
            out.write(json.dumps({"event": "start", "id": case["id"]}) + "\n")
            out.flush()
            result = run_case(case, seeds, workdir, out)
            result.update(event="end", id=case["id"])
            out.write(json.dumps(result, default=str) + "\n")
            out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
