"""Damaged HDF5 cannot hang or bloat the user's kernel: every Keras HDF5 read is rehearsed in a
child process first.

libhdf5 has no defence against some damaged metadata: a zeroed attribute message can make it
loop for minutes (``H5Aread`` never returns) or allocate gigabytes for one attribute or chunk.
Neither raises, so a ``try`` in the user's process cannot help. Before the first in-process h5py
access to a Keras file, :func:`check` runs, in a child Python (``python -I -S``: no ``.pth``
files, no TensorFlow), exactly the reads :class:`tfexplore.artifacts.keras.KerasFile` will make
in the user's process:

- ``format``, the root attributes, the stored optimizer name and the weight listing (the same
  code, ``KerasFile`` itself, runs in the child);
- for every weight: the dataset's storage (contiguous, chunked or compact, inside the file: no
  external raw files, virtual datasets or datasets reached through an external link), the
  claimed-size check, then its data: whole when small (at most 16 MB), else one element of
  every stored chunk (which walks the chunk index and decompresses every chunk) or the first
  and last elements of contiguous data.

The child has a wall-clock timeout (``TFEXPLORE_H5_PROBE_TIMEOUT`` seconds; default 10 s plus
10 s per GB of file) and an address-space budget above what its imports use
(``TFEXPLORE_H5_PROBE_MEMORY_MB``, default 1024) set with ``RLIMIT_AS``, and cannot write a
core file. When it times out, dies by a signal, runs out of memory or finds storage outside the
file, the user gets a :class:`~tfexplore.errors.CorruptArtifactError` naming the file and
nothing is read in the kernel. Otherwise (including when the child meets an ordinary error,
which the in-process read will meet and report again, in the same words) the reads run in the
kernel as usual. libhdf5 is deterministic on the same bytes: what finished in the child
finishes in the kernel.

The verdict is cached per file version ``(path, size, mtime_ns, inode, device)``: each file is
probed once per process (about half a second: Python, numpy, h5py and tfexplore's light
imports). ``TFEXPLORE_H5_PROBE=0`` turns the probe off (reads run in the kernel unguarded).
When no child Python can be started (an embedded interpreter), a warning says so and the reads
run in the kernel.

A Keras file at a URL (``s3://``, ``gs://``...) is not rehearsed: the child would fetch the whole
file again (every weight, even to list their names) and inspection writes no local copy to share
with it. Its reads run in the kernel with the in-process guards only (claimed sizes, zip
limits), and ``KerasFile.notes`` and ``explain()`` say so (:data:`REMOTE_NOTE`).

This module imports nothing heavy at the top: the child imports it to run :func:`_child_main`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Any

from ..._fs import is_url
from ...errors import CorruptArtifactError

__all__ = ["check", "probe", "clear_cache", "timeout_for", "memory_budget_mb"]

TIMEOUT_ENV = "TFEXPLORE_H5_PROBE_TIMEOUT"
MEMORY_ENV = "TFEXPLORE_H5_PROBE_MEMORY_MB"
SWITCH_ENV = "TFEXPLORE_H5_PROBE"
BASE_TIMEOUT = 10.0  # seconds, plus PER_GB_TIMEOUT per GB of file
PER_GB_TIMEOUT = 10.0
MEMORY_BUDGET_MB = 1024
WHOLE_READ_BYTES = 16 << 20  # datasets up to this size are read whole in the child

_MEMORY_MESSAGES = ("memory allocation failed", "cannot allocate memory", "out of memory")
_STEPS = {  # what KerasFile reads from HDF5 in the user's process, and how to say it
    "format": "its layout",
    "_root_attributes": "its root attributes",
    "_stored_optimizer_name": "its optimizer group",
    "_weights": "its list of weights",
}
_IN_CHILD = False  # set in the child: KerasFile must not probe from inside the probe
_cache: dict[tuple, dict[str, Any]] = {}
_lock = threading.Lock()
_warned: set[str] = set()
#: what ``KerasFile.notes`` says of a Keras file read from a URL
REMOTE_NOTE = (
    "read from object storage: its HDF5 reads ran in this process without the child-process "
    "rehearsal that guards local files against damaged HDF5 (libhdf5 can hang or exhaust memory "
    "on some damaged metadata; rehearsing would fetch the whole file again); for a file you do "
    "not trust, copy it to a local disk and open the copy"
)
_EXPECTED = "an intact Keras HDF5 file (.h5, .hdf5, .weights.h5, or model.weights.h5 in a .keras)"


def timeout_for(size: int) -> float:
    """Seconds the child may take for a file of ``size`` bytes (``TFEXPLORE_H5_PROBE_TIMEOUT``
    overrides)."""
    override = os.environ.get(TIMEOUT_ENV)
    if override:
        try:
            return max(float(override), 0.1)
        except ValueError:
            pass
    return BASE_TIMEOUT + PER_GB_TIMEOUT * size / (1 << 30)


def memory_budget_mb() -> int:
    """Megabytes the child may allocate above what its imports use (``TFEXPLORE_H5_PROBE_MEMORY_MB``
    overrides)."""
    try:
        return max(int(os.environ.get(MEMORY_ENV, MEMORY_BUDGET_MB)), 16)
    except ValueError:
        return MEMORY_BUDGET_MB


def clear_cache() -> None:
    """Forget every verdict (the next access to each file probes it again)."""
    with _lock:
        _cache.clear()


def _enabled() -> bool:
    return os.environ.get(SWITCH_ENV, "1").strip().lower() not in ("0", "off", "false", "no")


def check(path: str | os.PathLike) -> None:
    """Probe the Keras file at ``path`` in a child process (once per file version) and raise a
    ``CorruptArtifactError`` when its HDF5 reads hang, crash, exhaust memory or leave the file.

    Example::

        >>> check("model.h5")      # doctest: +SKIP
    """
    if _IN_CHILD or not _enabled() or is_url(path):  # a URL: not rehearsed (the docstring)
        return
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:
        return  # the in-process open names the problem
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_dev)
    with _lock:
        verdict = _cache.get(key)
    if verdict is None:
        verdict = probe(path, size=stat.st_size)
        if verdict["status"] != "unavailable":
            with _lock:
                _cache[key] = verdict
    _act_on(verdict, path)


def probe(path: str | os.PathLike, *, size: int | None = None) -> dict[str, Any]:
    """Run the child on ``path`` and return its verdict, uncached: ``status`` is ``ok`` (with
    the child's ``weights``, ``reads`` and ordinary ``errors``), ``timeout`` (``seconds``: the
    limit), ``signal``, ``memory`` (``where``), ``outside`` (``where``, ``detail``),
    ``unavailable`` (no child Python could run: ``detail``) or ``error`` (the probe itself
    failed; the reads then run in the kernel as without it)."""
    path = Path(path)
    if size is None:
        size = path.stat().st_size
    timeout = timeout_for(size)
    request = {
        "path": str(path.absolute()),
        "sys_path": _child_sys_path(),
        "budget_mb": memory_budget_mb(),
    }
    code = (
        "import sys, json; sys.path[:0] = json.loads(sys.argv[1])['sys_path']; "
        "import tfexplore.artifacts.keras.probe_child as child; child._child_main()"
    )
    command = [sys.executable, "-I", "-S", "-c", code, json.dumps(request)]
    env = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "TFEXPLORE_H5_PROBE"))
    }  # fmt: skip
    env.update(
        OPENBLAS_NUM_THREADS="1",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        HDF5_USE_FILE_LOCKING="FALSE",
    )
    try:
        done = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            cwd=tempfile.gettempdir(),
            env=env,
            timeout=timeout,
            close_fds=True,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "seconds": timeout, "detail": ""}
    except OSError as exc:
        return {"status": "unavailable", "detail": f"cannot start {sys.executable!r}: {exc}"}
    report = _last_json(done.stdout)
    if done.returncode < 0:
        try:
            name = signal.Signals(-done.returncode).name
        except ValueError:
            name = f"signal {-done.returncode}"
        return {"status": "signal", "detail": name, "stderr": _tail(done.stderr)}
    if report is None:  # not libhdf5 (its failures are aborts): the child could not run
        return {
            "status": "unavailable",
            "detail": f"the child exited with status {done.returncode}: {_tail(done.stderr)}",
        }
    return report


def _act_on(verdict: dict[str, Any], path: Path) -> None:
    status = verdict["status"]
    where = f" ({verdict['where']})" if verdict.get("where") else ""
    if status in ("ok", "error"):
        return
    if status == "unavailable":
        reason = verdict.get("detail", "")
        if reason not in _warned:
            _warned.add(reason)
            warnings.warn(
                f"tfexplore could not rehearse HDF5 reads in a child process ({reason}); "
                "damaged .h5 files are read in this process unguarded.",
                RuntimeWarning,
                stacklevel=4,
            )
        return
    if status == "timeout":
        raise CorruptArtifactError(
            f"{str(path)!r} looks damaged: libhdf5 did not finish reading its structure within "
            f"{verdict['seconds']:.0f} s in a child process (damaged HDF5 metadata can make it "
            "loop), so tfexplore stopped and read nothing of it in this kernel.",
            path=path,
            expected=_EXPECTED,
            hint="re-copy the file and compare its size; if it is intact but huge or on a slow "
            f"disk, allow more time with the environment variable {TIMEOUT_ENV}=120",
        )
    if status == "memory":
        raise CorruptArtifactError(
            f"{str(path)!r} looks damaged: reading its structure{where} needed more than "
            f"{memory_budget_mb()} MB in a child process (damaged HDF5 metadata can claim "
            "gigabytes), so tfexplore stopped and read nothing of it in this kernel.",
            path=path,
            expected=_EXPECTED,
            hint="re-copy the file and compare its size; if it is intact, allow more memory "
            f"with the environment variable {MEMORY_ENV}=4096",
        )
    if status == "outside":
        raise CorruptArtifactError(
            f"{str(path)!r} stores data outside the file{where}: {verdict.get('detail')}. Keras "
            "never writes that; tfexplore does not read other files on a file's behalf.",
            path=path,
            expected=_EXPECTED + ", its tensors stored in it",
            hint="the file is hostile or was not written by Keras; open it with h5py yourself "
            "if you trust it",
        )
    cause = verdict.get("detail", "")
    last = verdict.get("stderr", "")
    raise CorruptArtifactError(
        f"{str(path)!r} looks damaged: reading it crashed libhdf5 in a child process ({cause}"
        + (f": {last}" if last else "")
        + "), so tfexplore read nothing of it in this kernel.",
        path=path,
        expected=_EXPECTED,
        hint="re-copy the file and compare its size",
    )


def _child_sys_path() -> list[str]:
    """This package's parent folder first, then the parent's ``sys.path`` (folders that exist;
    not the working directory, which may hold anything)."""
    here = str(Path(__file__).resolve().parents[1])
    paths = [here]
    for entry in sys.path:
        if entry and entry not in paths and os.path.exists(entry):
            paths.append(entry)
    return paths


def _last_json(data: bytes) -> dict[str, Any] | None:
    for line in reversed(data.decode("utf-8", "replace").splitlines()):
        if line.startswith("{"):
            try:
                report = json.loads(line)
            except ValueError:
                return None
            return report if isinstance(report, dict) and "status" in report else None
    return None


def _tail(data: bytes) -> str:
    lines = [line for line in data.decode("utf-8", "replace").splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""
