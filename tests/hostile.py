"""Run an attack on tfexplore in a child process, so that a regression (a hang, a bomb that takes
all memory, a crash) fails one test instead of killing pytest.

The child imports TensorFlow and tfexplore, then caps its address space with ``RLIMIT_AS`` at
what the imports use plus ``budget_mb``, and runs ``code`` (a function body that gets ``path``
and returns a value printable as JSON). It prints one JSON line: the outcome (``ok`` with the
value, or the error's type, whether it is a ``TFExploreError``, and its message), the seconds
taken and how much the resident memory grew.

Example::

    >>> outcome = attack("return tfexplore.open(path).read('c').shape", path)   # doctest: +SKIP
    >>> assert outcome["tfexplore_error"]                                      # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

_RUNNER = r"""
import json, os, resource, sys, time, traceback
sys.path.insert(0, {root!r})
if {import_tf!r}:
    import tensorflow as tf  # noqa: F401 - its address space is counted before the cap
import numpy as np  # noqa: F401
import tfexplore
from tfexplore.errors import TFExploreError
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
with open("/proc/self/statm") as statm:
    used = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
limit = used + {budget_mb} * (1 << 20)
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

def _attack(path):
{body}

rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
try:
    value = _attack(sys.argv[1])
    outcome = {{"outcome": "ok", "value": value}}
except BaseException as exc:
    outcome = {{"outcome": "error", "error": type(exc).__name__,
               "tfexplore_error": isinstance(exc, TFExploreError), "message": str(exc)[:2000],
               "traceback": traceback.format_exc()[-3000:]}}
outcome["seconds"] = time.perf_counter() - started
outcome["rss_growth_mb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss) / 1024
print("\n" + json.dumps(outcome, default=repr), flush=True)
"""


def attack(
    body: str,
    path: str | os.PathLike,
    *,
    budget_mb: int = 1536,
    timeout: float = 240,
    import_tf: bool = True,
    env: dict[str, str] | None = None,
) -> dict:
    """Run ``body`` (the body of ``def _attack(path)``) in a capped child; its outcome dict.

    A child that dies or does not finish in ``timeout`` seconds gives ``outcome`` ``died``
    (with ``returncode`` and the end of stderr) or ``timeout``."""
    root = str(Path(__file__).resolve().parents[1])
    code = _RUNNER.format(
        root=root,
        import_tf=import_tf,
        budget_mb=budget_mb,
        body=textwrap.indent(textwrap.dedent(body).strip(), "    "),
    )
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, os.fspath(path)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=environment,
            cwd=str(Path(path).parent),
        )
    except subprocess.TimeoutExpired:
        return {"outcome": "timeout", "seconds": timeout}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"outcome": "died", "returncode": done.returncode, "stderr": done.stderr[-3000:]}
    return json.loads(lines[-1])


def refused(outcome: dict, *, seconds: float = 60, rss_mb: float = 600) -> str:
    """``""`` when ``outcome`` is a ``TFExploreError`` raised in bounded time and memory, else
    what went wrong (for an assert message)."""
    if outcome["outcome"] != "error" or not outcome.get("tfexplore_error"):
        return f"not refused with a TFExploreError: {outcome}"
    if outcome["seconds"] > seconds:
        return f"took {outcome['seconds']:.1f} s: {outcome}"
    if outcome["rss_growth_mb"] > rss_mb:
        return f"resident memory grew by {outcome['rss_growth_mb']:.0f} MB: {outcome}"
    return ""


def fingerprint(folder: str | os.PathLike) -> dict[str, tuple[int, int, int]]:
    """``{relative path: (size, mtime_ns, mode)}`` of everything under ``folder`` (not following
    links): to show that an attack changed nothing."""
    folder = Path(folder)
    result = {}
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        result[str(path.relative_to(folder))] = (info.st_size, info.st_mtime_ns, info.st_mode)
    return result
