"""What a path is (``tfexplore.detect_kind``): a checkpoint folder or prefix, a meta graph, a
SavedModel, a Keras file or run, a frozen GraphDef.

Deciding what a path is uses names and a few magic bytes only; nothing is parsed here.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from .._files import DATA_SHARD, META_SUFFIXES
from .._fs import RemotePath, as_path
from ..errors import ArtifactNotFoundError, TFExploreError, UnrecognizedArtifactError

__all__ = ["detect_kind", "KINDS", "EXPECTED"]

KINDS = (
    "checkpoint_dir",
    "checkpoint",
    "meta_graph",
    "saved_model",
    "keras",
    "keras_run",
    "graph_def",
)

SSTABLE_MAGIC = bytes.fromhex("57fb808b247547db")  # 0xdb4775248b80fb57, little endian
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ZIP_MAGIC = b"PK\x03\x04"
EXPECTED = (
    "a checkpoint folder or prefix (model.ckpt-1000), one file of a checkpoint (.index, "
    ".data-NNNNN-of-MMMMM, .meta), a SavedModel folder, a .keras/.h5/.weights.h5 file, "
    "or a GraphDef .pb/.pbtxt"
)


def detect_kind(path: str | os.PathLike) -> tuple[str, Path]:
    """Say what ``path`` is without parsing it: ``(kind, the path to open it by)``.

    For a checkpoint the second item is its prefix; for a SavedModel, its folder.
    """
    raw = os.fspath(path)
    p = as_path(path)
    if not p.exists():
        return _detect_missing(p, raw)
    if p.is_dir():
        return _detect_dir(p)
    from .._files import check_regular

    check_regular(p, what="artifact", expected=EXPECTED)
    return _detect_file(p)


def _detect_missing(p: Path, raw: str) -> tuple[str, Path]:
    if isinstance(p, RemotePath):
        _check_bucket(p, raw)
    if p.name and p.with_name(p.name + ".index").is_file():
        return "checkpoint", p
    siblings = []
    if p.parent.is_dir():
        stem = p.name.split(".")[0]
        siblings = sorted(x.name for x in p.parent.iterdir() if stem and x.name.startswith(stem))
    hint = (
        "list the folder to see what is there"
        if isinstance(p, RemotePath)
        else f"relative paths are resolved from {os.getcwd()!r}"
    )
    if siblings:
        hint = "files that do exist there: " + ", ".join(siblings[:8])
    elif not p.parent.exists():
        hint = f"the folder {str(p.parent)!r} does not exist either; {hint}"
    raise ArtifactNotFoundError(
        f"No file or folder at {raw!r}, and no checkpoint with that prefix ({raw}.index).",
        path=raw,
        expected=EXPECTED,
        hint=hint,
    )


def _check_bucket(p: RemotePath, raw: str) -> None:
    """Nothing at the URL ``p``: say so first when its bucket itself does not exist."""
    bucket = p
    while bucket.parent != bucket:
        bucket = bucket.parent
    if not bucket.exists():
        raise ArtifactNotFoundError(
            f"The bucket {bucket.name!r} of {raw!r} does not exist.",
            path=raw,
            expected=f"an existing bucket {bucket.name!r} holding {EXPECTED}",
            hint="check the bucket's name, and the endpoint (storage_options or AWS_ENDPOINT_URL, "
            "STORAGE_EMULATOR_HOST) and the account or project the credentials belong to",
        )


def _detect_dir(p: Path) -> tuple[str, Path]:
    try:
        names = sorted(x.name for x in p.iterdir())
    except PermissionError as exc:
        raise ArtifactNotFoundError(
            f"The folder {str(p)!r} cannot be listed (permission denied).",
            path=p,
            expected=EXPECTED,
            hint="check the folder's permissions",
        ) from exc
    if "saved_model.pb" in names or "saved_model.pbtxt" in names:
        return "saved_model", p
    if (
        "checkpoint" in names
        or any(n.endswith((".index", *META_SUFFIXES)) or DATA_SHARD.match(n) for n in names)
        or any(_is_v1_checkpoint(p / n) for n in names if n.endswith(".ckpt"))
    ):
        return "checkpoint_dir", p

    if keras_files(p):  # keras.callbacks.ModelCheckpoint's files, one per epoch
        return "keras_run", p
    if not names:
        raise ArtifactNotFoundError(
            f"The folder {str(p)!r} is empty.",
            path=p,
            expected=EXPECTED,
            hint="point at the folder the checkpoints were saved in",
        )
    openable = [n for n in names if (p / n).is_dir() and (p / n / "saved_model.pb").exists()] + [
        n for n in names if n.endswith((".keras", ".h5", ".hdf5", ".pb", ".pbtxt"))
    ]
    hint = (
        "open one of these instead: " + ", ".join(str(p / n) for n in openable[:5])
        if openable
        else "point at the folder the checkpoints were saved in, or at one file"
    )
    raise UnrecognizedArtifactError(
        f"The folder {str(p)!r} holds no checkpoint and no SavedModel "
        f"(it has: {', '.join(names[:8])}{' ...' if len(names) > 8 else ''}).",
        path=p,
        expected="a `checkpoint` state file, PREFIX.index/.data-*/.meta files, or saved_model.pb",
        hint=hint,
    )


def _detect_file(p: Path) -> tuple[str, Path]:
    name = p.name
    if name.endswith(".index") or DATA_SHARD.match(name):
        from .._files import prefix_of

        return "checkpoint", prefix_of(p)
    if name.endswith(META_SUFFIXES):
        return "meta_graph", p
    if name in ("saved_model.pb", "saved_model.pbtxt"):
        return "saved_model", p.parent
    if name == "checkpoint":
        return "checkpoint_dir", p.parent
    if name.endswith((".keras", ".h5", ".hdf5")):
        return "keras", p
    if name.endswith((".pbtxt", ".pbtext", ".txt")) and _is_text_meta_graph(p):
        return "meta_graph", p
    if name.endswith((".pb", ".pbtxt", ".pbtext")):
        return "graph_def", p
    head = _head(p)
    if head.startswith(HDF5_MAGIC) or head.startswith(ZIP_MAGIC):
        return "keras", p
    if _is_v1_checkpoint(p):
        return "checkpoint", p
    raise UnrecognizedArtifactError(
        f"{str(p)!r} is not a TensorFlow artifact tfexplore knows by its name or first bytes.",
        path=p,
        expected=EXPECTED,
        hint="if it is a checkpoint, open its prefix or its .index file",
    )


#: top-level fields of a MetaGraphDef in text format (a GraphDef's are node, library, versions)
_META_TEXT_FIELD = re.compile(
    rb"^\s*(?:meta_info_def|graph_def|saver_def|collection_def|signature_def|object_graph_def)"
    rb"\s*[{:]",
    re.M,
)


def _is_text_meta_graph(p: Path) -> bool:
    """A ``.pbtxt`` holding a MetaGraphDef (``export_meta_graph(as_text=True)``), told from a
    GraphDef by its first top-level field."""
    match = _META_TEXT_FIELD.search(_head(p, 4096))
    return match is not None


def _head(p: Path, size: int = 8) -> bytes:
    from .._files import read_range

    try:  # a URL: one request for these bytes
        return read_range(p, 0, size, what="artifact")
    except (OSError, TFExploreError):
        return b""


def _is_v1_checkpoint(p: Path) -> bool:
    """A legacy V1 checkpoint is one SSTable file (``model.ckpt``), recognised by its footer."""
    from .._files import check_regular, read_range

    try:  # a URL: one request for the 8 bytes of the footer
        size = check_regular(p, what="checkpoint").st_size
        return size >= 48 and read_range(p, size - 8, 8, what="checkpoint") == SSTABLE_MAGIC
    except (OSError, TFExploreError):
        return False


#: the endings of a Keras file (the longest first: ``.weights.h5`` before ``.h5``)
KERAS_SUFFIXES = (".weights.h5", ".keras", ".h5", ".hdf5")


_NUMBER = re.compile(r"\d+\.\d+(?:[eE][-+]?\d+)?|\d+")


def _stem(name: str) -> str | None:
    for suffix in KERAS_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return None


def _fields(stem: str) -> tuple[str, list[str]]:
    """``weights.01-4.3169`` -> (template ``weights.#-#``, numbers ``['01', '4.3169']``)."""
    numbers = _NUMBER.findall(stem)
    return _NUMBER.sub("#", stem), numbers


def keras_files(folder: str | os.PathLike) -> list[dict[str, Any]]:
    """The Keras files of ``folder`` whose names carry an epoch number, with ``epoch`` and
    ``metric`` read from the names (``path``, ``epoch``, ``metric``, ``series``: the name with
    its numbers replaced by ``#``); empty when there are none."""
    folder = as_path(folder)
    found = []
    for entry in sorted(folder.iterdir()):
        stem = _stem(entry.name)
        if stem is None or not entry.is_file():
            continue
        template, numbers = _fields(stem)
        if any("." not in n for n in numbers):
            found.append(
                {"path": entry, "series": template + entry.name[len(stem) :], "_numbers": numbers}
            )
    by_series: dict[str, list[dict]] = {}
    for row in found:
        by_series.setdefault(row["series"], []).append(row)
    for rows in by_series.values():
        integer_positions = [i for i, n in enumerate(rows[0]["_numbers"]) if "." not in n]
        varying = [i for i in integer_positions if len({int(r["_numbers"][i]) for r in rows}) > 1]
        position = varying[0] if varying else integer_positions[-1]
        for row in rows:
            numbers = row.pop("_numbers")
            row["epoch"] = int(numbers[position])
            decimals = [float(n) for n in numbers if "." in n]
            row["metric"] = decimals[0] if decimals else None
    return found
