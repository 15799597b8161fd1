"""Run fuzz cases in child processes and tabulate what happened.

Cases run in batches, one child process per batch, ``jobs`` children at a time. A child
reports each case before it runs it; when a child dies (a signal, an abort, a timeout) the
case it had started is re-run alone in a fresh process, which confirms (or not) that this case
kills a process, and the cases it had not reached go to a new batch.

Outcomes: ``ok``; ``error`` (a ``TFExploreError`` subclass whose message names a file of the
case); ``unnamed`` (a ``TFExploreError`` that names no file of the case); ``other`` (any other
exception); ``modified`` (inspection changed a file's bytes or modification time); ``crash``
(the process died); ``timeout``; ``skipped`` (the mutation did not apply to this seed).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .mutate import applicable
from .seeds import KINDS

REPO = Path(__file__).resolve().parents[2]
BAD_OUTCOMES = ("crash", "other", "unnamed", "modified", "timeout")
_MUTATED: dict[int, dict] = {}  # case id -> what its mutation did (reported by the child)

__all__ = ["make_cases", "run_cases", "outcome_table", "BAD_OUTCOMES"]


def make_cases(
    count: int, seed: int = 0, kinds: tuple[str, ...] = KINDS, mutations=None
) -> list[dict]:
    """``count`` cases spread evenly over every (kind, mutation) pair, each with its own RNG
    seed; the same ``(count, seed)`` gives the same cases."""
    rng = random.Random(seed)
    pairs = [
        (kind, mutation)
        for kind in kinds
        for mutation in applicable(kind)
        if mutations is None or mutation in mutations
    ]
    cases = []
    while len(cases) < count:
        rng.shuffle(pairs)
        for kind, mutation in pairs[: count - len(cases)]:
            cases.append(
                {
                    "id": len(cases),
                    "kind": kind,
                    "mutation": mutation,
                    "seed": rng.randrange(1 << 31),
                }
            )
    return cases


def run_cases(
    cases: list[dict],
    seeds: Path,
    *,
    jobs: int = 2,
    batch: int = 40,
    limit_gb: float = 6.0,
    case_timeout: float = 60.0,
    workdir: Path | None = None,
    progress=None,
) -> dict[int, dict]:
    """Run every case; return ``{case id: result}`` (each with ``outcome``, ``kind``,
    ``mutation``, and details)."""
    workdir = Path(workdir or tempfile.mkdtemp(prefix="tfexplore-fuzz-"))
    workdir.mkdir(parents=True, exist_ok=True)
    results: dict[int, dict] = {}
    batches = [cases[i : i + batch] for i in range(0, len(cases), batch)]
    runner = _Runner(seeds, workdir, limit_gb, case_timeout, results, progress)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(runner.run_batch, batches, range(len(batches))))
    by_id = {case["id"]: case for case in cases}
    for case_id, result in results.items():
        result.setdefault("kind", by_id[case_id]["kind"])
        result.setdefault("mutation", by_id[case_id]["mutation"])
        result.setdefault("seed", by_id[case_id]["seed"])
    return results


class _Runner:
    def __init__(self, seeds, workdir, limit_gb, case_timeout, results, progress) -> None:
        self.seeds = Path(seeds).resolve()
        self.workdir = workdir
        self.limit_gb = limit_gb
        self.case_timeout = case_timeout
        self.results = results
        self.progress = progress

    def run_batch(self, cases: list[dict], number: int, *, alone: bool = False) -> None:
        while cases:
            tag = f"{number}-{cases[0]['id']}-{'alone' if alone else 'batch'}"
            cases_file = self.workdir / f"cases-{tag}.jsonl"
            results_file = self.workdir / f"results-{tag}.jsonl"
            results_file.unlink(missing_ok=True)
            cases_file.write_text("".join(json.dumps(c) + "\n" for c in cases))
            returncode, stderr, timed_out = self._child(cases_file, results_file, len(cases))
            started, ended = _read_results(results_file)
            for case_id, result in ended.items():
                self.results[case_id] = result
                self._tick(result)
            cases_file.unlink(missing_ok=True)
            results_file.unlink(missing_ok=True)
            unfinished = [c for c in cases if c["id"] not in ended]
            if not unfinished:
                return
            suspect_id = next((i for i in reversed(started) if i not in ended), None)
            suspect = next((c for c in unfinished if c["id"] == suspect_id), unfinished[0])
            if alone:
                result = {
                    "outcome": "timeout" if timed_out else "crash",
                    "detail": _death(returncode, timed_out) + "\n" + stderr[-3000:],
                    "mutation_detail": _MUTATED.get(suspect["id"]),
                }
                self.results[suspect["id"]] = result
                self._tick(result)
            else:
                self.run_batch([suspect], number, alone=True)
            cases = [c for c in unfinished if c["id"] != suspect["id"]]

    def _child(self, cases_file: Path, results_file: Path, count: int):
        command = [
            sys.executable,
            "-m",
            "tests.fuzz.child",
            str(self.seeds),
            str(self.workdir / "cases"),
            str(cases_file),
            str(results_file),
            "--limit-gb",
            str(self.limit_gb),
        ]
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "CUDA_VISIBLE_DEVICES": "",
        }
        with tempfile.TemporaryFile() as err:
            child = subprocess.Popen(
                command,
                cwd=REPO,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
            )
            timed_out = _wait_for_progress(
                child, results_file, 60 + self.case_timeout, self.case_timeout
            )
            err.seek(0)
            stderr = err.read().decode("utf-8", "replace")
        return child.returncode, stderr, timed_out

    def _tick(self, result: dict) -> None:
        if self.progress is not None:
            self.progress(result)


def _wait_for_progress(child, results_file: Path, first: float, each: float) -> bool:
    """Wait for ``child``; kill it (and say so) when its results file has not grown for
    ``each`` seconds (``first`` for the first case: TensorFlow's import)."""
    last_size, last_change, limit = -1, time.monotonic(), first
    while child.poll() is None:
        size = results_file.stat().st_size if results_file.exists() else 0
        if size != last_size:
            if last_size > 0:
                limit = each
            last_size, last_change = size, time.monotonic()
        elif time.monotonic() - last_change > limit:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            return True
        time.sleep(0.2)
    return False


def _read_results(path: Path) -> tuple[list[int], dict[int, dict]]:
    started, ended, mutated = [], {}, {}
    if not path.exists():
        return started, ended
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:  # a line cut by the death of the process
            continue
        if record.get("event") == "start":
            started.append(record["id"])
        elif record.get("event") == "mutated":
            mutated[record["id"]] = record["detail"]
        elif record.get("event") == "end":
            ended[record["id"]] = record
    _MUTATED.update(mutated)
    return started, ended


def _death(returncode: int | None, timed_out: bool) -> str:
    if timed_out:
        return "the case ran past its time limit and was killed"
    if returncode is not None and returncode < 0:
        return f"the process died by signal {signal.Signals(-returncode).name}"
    return f"the process exited with status {returncode} before finishing the case"


def outcome_table(results: dict[int, dict]) -> str:
    """A text table: one row per (kind, mutation), one column per outcome (``ok``, each
    ``TFExploreError`` subclass seen, ``crash``, ``other``, ...), and totals."""
    counts: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for result in results.values():
        column = result["error"] if result["outcome"] == "error" else result["outcome"]
        counts[(result["kind"], result["mutation"])][column] += 1
    error_columns = sorted({c for row in counts.values() for c in row if c.endswith("Error")})
    columns = ["ok", *error_columns, "skipped", *BAD_OUTCOMES]
    short = {
        c: c.replace("Error", "").replace("Artifact", "").replace("Checkpoint", "Ckpt")
        for c in columns
    }
    header = ["kind", "mutation", "cases", *(short[c] for c in columns)]
    rows = []
    total = Counter()
    for kind, mutation in sorted(counts):
        row = counts[(kind, mutation)]
        total.update(row)
        rows.append(
            [kind, mutation, str(sum(row.values())), *(str(row.get(c, 0)) for c in columns)]
        )
    rows.append(["ALL", "", str(sum(total.values())), *(str(total.get(c, 0)) for c in columns)])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.rjust(w) if i >= 2 else cell.ljust(w) for i, (cell, w) in enumerate(zip(r, widths))
        )
        for r in [header, *rows]
    ]
    lines.insert(1, "-" * len(lines[0]))
    lines.insert(len(lines) - 1, "-" * len(lines[0]))
    return "\n".join(lines)


def bad_results(results: dict[int, dict]) -> list[dict]:
    return [dict(r, id=i) for i, r in sorted(results.items()) if r["outcome"] in BAD_OUTCOMES]


def elapsed(start: float) -> str:
    return f"{time.perf_counter() - start:.0f}s"
