"""``tfexplore.scan(path)``: the safety scan of one artifact or of every graph-bearing file of a
folder, with the list of files scanned (``report.files``) and those skipped (``report.skipped``).

A folder is walked (symbolic links are not followed; a SavedModel's ``variables/`` holds no
graph): every ``.meta`` / ``.meta.pbtxt``, every SavedModel (``saved_model.pb`` or
``.pbtxt``), every other ``.pb``/``.pbtxt`` that is a GraphDef, every ``.keras``/``.h5``/
``.hdf5`` file is opened the way :func:`tfexplore.open` opens it (reading only) and scanned;
the reports are merged, each row keeping its file. A file that cannot be read as a graph is
listed in ``skipped`` with the reason (a label map ``.pbtxt`` is not a graph).

A URL (``s3://bucket/runs``, with ``storage_options=`` for fsspec) is scanned the same way:
the folder is listed once (every object under it), and each graph-bearing file is fetched as
:func:`tfexplore.open` fetches it (the graph, never a checkpoint's data).
"""

from __future__ import annotations

import os
from pathlib import Path

from .._fs import RemotePath, as_path, remote_error
from ..errors import TFExploreError

__all__ = ["scan_path"]

#: how deep below the folder graph-bearing files are looked for.
MAX_DEPTH = 6
_GRAPH_SUFFIXES = (".meta", ".meta.pbtxt", ".pb", ".pbtxt", ".keras", ".h5", ".hdf5")
_SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")


def scan_path(path: str | os.PathLike, *, storage_options: dict | None = None):
    """The :class:`tfexplore.safety.ScanReport` of ``path``: the artifact ``tfexplore.open``
    finds there, or, for a folder, of every graph-bearing file below it. ``path`` may be a URL
    (``s3://bucket/runs``); ``storage_options`` go to fsspec.

    Example::

        >>> report = tfexplore.scan("runs/mnist")           # doctest: +SKIP
        >>> report.files, report.ok                          # doctest: +SKIP
        >>> tfexplore.scan("gs://bucket/export",                 # doctest: +SKIP
        ...                storage_options={"token": "anon"})
    """
    from ..safety.scan import ScanReport
    from .open import open as open_artifact

    path = as_path(path, storage_options)
    if isinstance(path, RemotePath):
        path.fs.invalidate_cache(path.fs_path)  # a listing made before the run grew
    if not path.is_dir() or (not isinstance(path, RemotePath) and path.is_symlink()):
        report = _safety_of(open_artifact(path), path)
        return report
    targets = _remote_graph_files(path) if isinstance(path, RemotePath) else _graph_files(path)
    reports, skipped = [], []
    for target in targets:
        try:
            reports.append(_safety_of(open_artifact(target), target))
        except TFExploreError as exc:
            skipped.append((str(target), f"{type(exc).__name__}: {str(exc).splitlines()[0]}"))
    merged = ScanReport.merge(reports, path=path)
    merged.skipped = skipped
    if not targets:
        # nothing graph-bearing: what tfexplore.open sees (a checkpoint alone holds no ops)
        fallback = _safety_of(open_artifact(path), path)
        fallback.skipped = []
        return fallback
    return merged


def _safety_of(artifact, path: Path):
    from ..safety.scan import ScanReport

    report = getattr(artifact, "safety", None)
    if report is None:
        report = ScanReport(path=str(path))
    if not report.files and report.path:
        report.files.append(report.path)
    return report


def _graph_files(folder: Path) -> list[Path]:
    """Graph-bearing files below ``folder``, SavedModels as their folder, sorted."""
    found: list[Path] = []
    root_depth = len(folder.parts)
    for current, directories, files in os.walk(folder, followlinks=False):
        here = Path(current)
        depth = len(here.parts) - root_depth
        directories[:] = sorted(d for d in directories if depth < MAX_DEPTH)
        if any(name in files for name in _SAVED_MODEL_FILES):
            found.append(here)
            directories[:] = [d for d in directories if d not in ("variables", "assets")]
            files = []  # fingerprint.pb, keras_metadata.pb: parts of the SavedModel, no graph
        for name in sorted(files):
            file = here / name
            if name.startswith(".") and name != ".meta":
                continue
            if file.is_symlink() or not file.is_file():
                continue
            if name.endswith(_GRAPH_SUFFIXES):
                found.append(file)
    return found


def _remote_graph_files(folder: RemotePath) -> list[RemotePath]:
    """:func:`_graph_files` for a URL: the same files in the same order, from one listing of
    every object under ``folder`` (object stores have no links to follow)."""
    try:
        entries = folder.fs.find(folder.fs_path, detail=True)
    except Exception as exc:  # noqa: BLE001 - any backend's error, translated
        raise remote_error(folder, "folder", exc) from exc
    base = folder.fs_path.rstrip("/") + "/"
    files: dict[tuple[str, ...], list[str]] = {}  # folder parts below ``folder`` -> file names
    folders: dict[tuple[str, ...], set[str]] = {}
    for name, info in entries.items():
        name = name.rstrip("/")
        if info.get("type") != "file" or not name.startswith(base):
            continue
        *parts, file_name = name[len(base) :].split("/")
        for depth in range(len(parts)):
            folders.setdefault(tuple(parts[:depth]), set()).add(parts[depth])
        files.setdefault(tuple(parts), []).append(file_name)
    found: list[RemotePath] = []

    def walk(parts: tuple[str, ...]) -> None:  # os.walk's order: files, then sorted folders
        here = folder.joinpath(*parts)
        names = files.get(parts, [])
        below = sorted(folders.get(parts, ())) if len(parts) < MAX_DEPTH else []
        if any(name in names for name in _SAVED_MODEL_FILES):
            found.append(here)
            below = [d for d in below if d not in ("variables", "assets")]
            names = []
        for name in sorted(names):
            if (name.startswith(".") and name != ".meta") or not name.endswith(_GRAPH_SUFFIXES):
                continue
            found.append(here / name)
        for name in below:
            walk((*parts, name))

    walk(())
    return found
