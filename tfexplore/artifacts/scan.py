"""``tfexplore.scan(path)``: the safety scan of one artifact or of every graph-bearing file of a
folder, with the list of files scanned (``report.files``) and those skipped (``report.skipped``).

A folder is walked (symbolic links are not followed; a SavedModel's ``variables/`` holds no
graph): every ``.meta`` / ``.meta.pbtxt``, every SavedModel (``saved_model.pb`` or
``.pbtxt``), every other ``.pb``/``.pbtxt`` that is a GraphDef, every ``.keras``/``.h5``/
``.hdf5`` file is opened the way :func:`tfexplore.open` opens it (reading only) and scanned;
the reports are merged, each row keeping its file. A file that cannot be read as a graph is
listed in ``skipped`` with the reason (a label map ``.pbtxt`` is not a graph).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import TFExploreError

__all__ = ["scan_path"]

#: how deep below the folder graph-bearing files are looked for.
MAX_DEPTH = 6
_GRAPH_SUFFIXES = (".meta", ".meta.pbtxt", ".pb", ".pbtxt", ".keras", ".h5", ".hdf5")
_SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")


def scan_path(path: str | os.PathLike):
    """The :class:`tfexplore.safety.ScanReport` of ``path``: the artifact ``tfexplore.open``
    finds there, or, for a folder, of every graph-bearing file below it.

    Example::

        >>> report = tfexplore.scan("runs/mnist")           # doctest: +SKIP
        >>> report.files, report.ok                          # doctest: +SKIP
    """
    from ..safety.scan import ScanReport
    from .open import open as open_artifact

    path = Path(path)
    if not path.is_dir() or path.is_symlink():
        report = _safety_of(open_artifact(path), path)
        return report
    targets = _graph_files(path)
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
