"""The child process of :mod:`tfexplore.artifacts.keras.probe`: the reads ``KerasFile`` will make,
made first here under a memory limit and a timeout (run as code by ``probe.probe``, never
imported by the package)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from . import probe
from .container import _check_claimed_size
from .file import KerasFile
from .probe import _MEMORY_MESSAGES, _STEPS, WHOLE_READ_BYTES


# -- the child -------------------------------------------------------------------------------
def _child_main() -> None:
    """Entry point of the child: ``argv[1]`` is the JSON request. Prints one JSON line."""
    probe._IN_CHILD = True  # KerasFile must not probe from inside the probe
    out = sys.stdout
    try:
        request = json.loads(sys.argv[1])
        report = _child_run(Path(request["path"]), int(request["budget_mb"]))
    except MemoryError:
        report = {"status": "memory", "where": "the probe itself"}
    except BaseException as exc:  # noqa: BLE001 - a bug of the probe must not refuse a file
        report = {"status": "error", "detail": f"probe failed: {type(exc).__name__}: {exc}"}
    out.write(json.dumps(report, default=str) + "\n")
    out.flush()


def _limit(resource_name: str, limit: int) -> None:
    try:
        import resource
    except ImportError:  # Windows: no rlimits; the timeout still holds
        return
    which = getattr(resource, resource_name)
    soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    if soft != resource.RLIM_INFINITY and soft < limit and resource_name == "RLIMIT_AS":
        limit = soft
    try:
        resource.setrlimit(which, (limit, hard))
    except (ValueError, OSError):
        pass


def _address_space() -> int | None:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def _child_run(path: Path, budget_mb: int) -> dict[str, Any]:
    _limit("RLIMIT_CORE", 0)  # a crash must not leave a core file anywhere
    try:
        import h5py
        import numpy as np

    except ImportError as exc:
        return {"status": "unavailable", "detail": f"the child cannot import h5py: {exc}"}
    used = _address_space()
    _limit("RLIMIT_AS", (used + (budget_mb << 20)) if used else 4 << 30)

    report: dict[str, Any] = {
        "status": "ok",
        "errors": [],
        "weights": 0,
        "reads": 0,
        "budget": budget_mb << 20,
    }

    def failed(where: str, exc: BaseException) -> dict[str, Any] | None:
        """Record an ordinary error; return a verdict when it was memory."""
        chain = [exc, exc.__cause__, exc.__context__]
        if any(isinstance(e, MemoryError) for e in chain) or any(
            e is not None and any(m in str(e).lower() for m in _MEMORY_MESSAGES) for e in chain
        ):
            return {"status": "memory", "where": where}
        report["errors"].append(f"{where}: {type(exc).__name__}")
        return None

    keras_file = KerasFile(path)
    for step, what in _STEPS.items():
        try:
            getattr(keras_file, step)
        except Exception as exc:  # noqa: BLE001 - TFExploreError too
            if (verdict := failed(what, exc)) is not None:
                return verdict
    weights = keras_file.__dict__.get("_weights") or []
    report["weights"] = len(weights)
    verdict = _walk_everything(h5py, np, keras_file, {w.h5_path for w in weights}, report, failed)
    if verdict is not None:
        return verdict
    if not weights:
        return report
    try:
        with keras_file._open_h5() as h5:
            home = h5py.h5o.get_info(h5.id).fileno
            for weight in weights:
                where = f"tensor {weight.name!r}"
                try:
                    dataset = h5[weight.h5_path]
                    outside = _outside(h5py, dataset, home)
                    if outside:
                        return {"status": "outside", "where": where, "detail": outside}
                    _check_claimed_size(dataset, weight.name, path)
                    chunk = _chunk_bytes(dataset)
                    if chunk > budget_mb << 20:  # a filter that cannot allocate says only
                        return {  # "filter returned failure": judge the chunk by its size
                            "status": "memory",
                            "where": f"{where}, stored in chunks of {chunk >> 20} MB",
                        }
                    report["reads"] += _touch(np, dataset)
                except Exception as exc:  # noqa: BLE001 - TFExploreError too
                    if (verdict := failed(where, exc)) is not None:
                        return verdict
    except Exception as exc:  # noqa: BLE001 - TFExploreError too
        if (verdict := failed("opening it", exc)) is not None:
            return verdict
    return report


def _walk_everything(h5py, np, keras_file, weight_paths, report, failed) -> dict | None:
    """Read every attribute of every group and dataset, and touch every dataset that is not a
    weight (weights are read below), following hard links only (each object once): what
    Keras's own loaders read (``load_weights_from_hdf5_group`` reads ``keras_version``,
    ``backend``, ``layer_names``, every layer's ``weight_names``...) is a subset of this, so a
    session's load cannot meet an attribute the probe did not. Returns a verdict or ``None``."""
    report.setdefault("attributes", 0)
    report.setdefault("other_datasets", 0)
    try:
        with keras_file._open_h5() as h5:
            home = h5py.h5o.get_info(h5.id).fileno
            seen: set[int] = set()
            stack = [h5]
            while stack:
                node = stack.pop()
                where = f"the attributes of {node.name}"
                try:
                    for key in list(node.attrs):
                        node.attrs[key]  # noqa: B018 - the read is the rehearsal
                        report["attributes"] += 1
                except Exception as exc:  # noqa: BLE001
                    if (verdict := failed(where, exc)) is not None:
                        return verdict
                if not isinstance(node, h5py.Group):
                    continue
                try:
                    names = list(node)
                except Exception as exc:  # noqa: BLE001
                    if (verdict := failed(f"the members of {node.name}", exc)) is not None:
                        return verdict
                    continue
                for name in names:
                    where = f"{node.name.rstrip('/')}/{name}"
                    try:
                        link = node.get(name, getlink=True)
                        if not isinstance(link, h5py.HardLink):
                            # soft links reach objects walked anyway; external: other files
                            continue
                        child = node[name]
                        info = h5py.h5o.get_info(child.id)
                        if info.fileno != home or info.addr in seen:
                            continue
                        seen.add(info.addr)
                        stack.append(child)
                        if isinstance(child, h5py.Dataset) and child.name not in weight_paths:
                            outside = _outside(h5py, child, home)
                            if outside:
                                return {"status": "outside", "where": where, "detail": outside}
                            chunk = _chunk_bytes(child)
                            if chunk > report.get("budget", 1 << 62):
                                return {"status": "memory", "where": where}
                            report["other_datasets"] += 1
                            _touch(np, child)
                    except Exception as exc:  # noqa: BLE001
                        if (verdict := failed(where, exc)) is not None:
                            return verdict
    except Exception as exc:  # noqa: BLE001
        if (verdict := failed("opening it", exc)) is not None:
            return verdict
    return None


def _outside(h5py, dataset, home: int) -> str | None:
    """Why reading ``dataset`` would read another file (or ``None``)."""
    if h5py.h5o.get_info(dataset.id).fileno != home:
        return f"{dataset.name} is reached through an external link to another HDF5 file"
    plist = dataset.id.get_create_plist()
    if plist.get_layout() == getattr(h5py.h5d, "VIRTUAL", -1):
        return f"{dataset.name} is a virtual dataset (its data is in other files)"
    if plist.get_external_count():
        name = plist.get_external(0)[0]
        name = name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)
        return f"{dataset.name} keeps its data in the external file {name!r}"
    return None


def _chunk_bytes(dataset) -> int:
    """What libhdf5 allocates to read one chunk of ``dataset`` (0 when not chunked)."""
    if not dataset.chunks:
        return 0
    size = dataset.dtype.itemsize
    for dim in dataset.chunks:
        size *= int(dim)
    return size


def _touch(np, dataset) -> int:
    """Read what an in-process ``read`` would: all of a small dataset, else one element of every
    stored chunk (the chunk index and every chunk's filters) or the ends of contiguous data.
    Returns the number of reads."""
    shape = tuple(dataset.shape or ())
    if dataset.shape is None or 0 in shape:
        return 0
    nbytes = int(np.prod(shape, dtype=np.int64)) * dataset.dtype.itemsize
    if nbytes <= WHOLE_READ_BYTES:
        np.asarray(dataset[()])
        return 1
    if dataset.chunks is None:
        dataset[(0,) * len(shape)]
        dataset[tuple(d - 1 for d in shape)]
        return 2
    offsets: list[tuple[int, ...]] = []
    dataset.id.chunk_iter(lambda info: offsets.append(tuple(info.chunk_offset)))
    for offset in offsets:
        dataset[tuple(slice(o, o + 1) for o in offset)]
    return len(offsets)
