"""Keras model files, read with ``zipfile``, ``h5py`` and ``json`` only: no Keras code runs.

Four layouts are understood:

- ``keras_v3``: a Keras 3 ``.keras`` zip holding ``metadata.json`` (Keras version, date),
  ``config.json`` (the architecture, and the ``compile_config`` with the optimizer) and
  ``model.weights.h5`` (weights under ``layers/<layer>/vars/<i>``, the optimizer's under
  ``optimizer/vars/<i>``);
- ``weights_h5_v3``: a Keras 3 ``.weights.h5`` from ``model.save_weights``: the same HDF5
  layout, without the architecture;
- ``h5_model``: a Keras 2 (or Keras 3 legacy) full-model ``.h5``: attributes ``model_config``
  and ``training_config`` (JSON), ``keras_version``, ``backend``; weights in
  ``model_weights/<layer>/<weight name>``, the optimizer's in ``optimizer_weights``;
- ``h5_weights``: a weights-only ``.h5`` from Keras 1 or 2 ``save_weights`` (no architecture).

Keras 3 stores weights by position (``vars/0``, ``vars/1``); tfexplore names them the way Keras
does (``dense/kernel``, ``dense/bias``) for the common layer classes, and keeps the position
(``dense/vars/0``) for others.

Example::

    >>> import tfexplore
    >>> model = tfexplore.open("model.keras")                   # doctest: +SKIP
    >>> model.format, model.keras_version                        # doctest: +SKIP
    ('keras_v3', '3.15.1')
    >>> model.layers[["name", "class_name", "params"]]           # doctest: +SKIP
    >>> model.read("hidden/kernel").shape                        # doctest: +SKIP
    (4, 8)
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..._files import check_regular, open_regular
from ..._tf import _first_line
from ...errors import (
    ArtifactNotFoundError,
    CorruptArtifactError,
    TensorNotFoundError,
    TFExploreError,
    UnreadableFileError,
    UnrecognizedArtifactError,
    suggest,
)
from ..base import Artifact, Explanation, human_bytes
from . import probe as _h5probe
from .optimizer_state import guess_optimizer_slots
from .weight import Weight
from .ziplimits import check_inflation, check_members, read_member

__all__ = ["KerasFile", "FORMATS"]

#: What ``KerasFile.format`` can be, with a description.
FORMATS = {
    "keras_v3": "Keras 3 .keras zip (config.json + model.weights.h5)",
    "weights_h5_v3": "Keras 3 weights-only .weights.h5 (model.save_weights)",
    "h5_model": "legacy Keras full-model HDF5 (model.save('x.h5'))",
    "h5_weights": "legacy Keras weights-only HDF5 (model.save_weights('x.h5'))",
}

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ZIP_MAGIC = b"PK\x03\x04"
CONFIG_MEMBER = "config.json"
METADATA_MEMBER = "metadata.json"
WEIGHTS_MEMBER = "model.weights.h5"
WEIGHT_COLUMNS = [
    "name", "layer", "shape", "dtype", "size", "nbytes", "trainable", "role", "slot", "slot_of",
    "h5_path",
]  # fmt: skip
LAYER_COLUMNS = ["name", "class_name", "n_weights", "params", "trainable", "input_shape"]
_HINT_RECOPY = "the file may be truncated or damaged; re-copy it and compare its size"


class KerasFile(Artifact):
    """A Keras model or weights file (``.keras``, ``.h5``, ``.hdf5``, ``.weights.h5``).

    Nothing in the file is run: the architecture is read as JSON, the weights with h5py. A
    ``Lambda`` layer's Python code is listed in ``lambda_layers``, never executed.

    Example::

        >>> keras_file = KerasFile("model.keras")                   # doctest: +SKIP
        >>> keras_file.weights[["name", "shape", "role"]]          # doctest: +SKIP
        >>> keras_file.optimizer["class_name"]                      # doctest: +SKIP
        'Adam'
        >>> keras_file.stats()                                       # doctest: +SKIP

    Raises:
        ArtifactNotFoundError: no file at ``path``.
        UnrecognizedArtifactError: the file is neither HDF5 nor a zip, or an HDF5 file that is
            not a Keras file.
        CorruptArtifactError: (on first access) the zip or HDF5 structure is damaged.
    """

    kind = "keras"

    def __init__(self, path: str | os.PathLike) -> None:
        super().__init__(path)
        if not self.path.is_file():
            raise ArtifactNotFoundError(
                f"No Keras file at {str(self.path)!r}.",
                path=self.path,
                expected="a .keras, .h5, .hdf5 or .weights.h5 file",
                hint="check the path; a SavedModel folder opens with tfexplore.open(folder)",
            )
        check_regular(self.path, what="Keras")
        self._container = _container_of(self.path)
        self._probed = False  # see _open_h5

    # -- the file's parts ------------------------------------------------------------------
    @functools.cached_property
    def format(self) -> str:
        """``keras_v3``, ``weights_h5_v3``, ``h5_model`` or ``h5_weights`` (see ``FORMATS``)."""
        if self._container == "zip":
            self._zip_members  # noqa: B018 - validates the archive
            return "keras_v3"
        with self._open_h5() as h5:
            return _h5_format(h5, self.path)

    @functools.cached_property
    def metadata(self) -> dict[str, Any]:
        """``metadata.json`` of a ``.keras`` zip (``keras_version``, ``date_saved``), the
        root attributes of an HDF5 file otherwise (JSON attributes left out)."""
        if self._container == "zip":
            return self._zip_json(METADATA_MEMBER, required=False) or {}
        return {
            key: value
            for key, value in self._root_attributes.items()
            if key not in ("model_config", "training_config", "layer_names")
        }

    @property
    def keras_version(self) -> str | None:
        """The Keras version that wrote the file (``None`` for Keras 1 files, which lack it)."""
        version = self.metadata.get("keras_version")
        return str(version) if version is not None else None

    @property
    def backend(self) -> str | None:
        """The backend recorded by legacy HDF5 files (``tensorflow``, ``theano``); ``.keras``
        zips do not record one."""
        backend = self.metadata.get("backend")
        return str(backend) if backend is not None else None

    @functools.cached_property
    def config(self) -> dict[str, Any] | None:
        """The model's architecture as a dict (``class_name``, ``config``), or ``None`` for a
        weights-only file."""
        if self.format == "keras_v3":
            return self._zip_json(CONFIG_MEMBER, required=True)
        raw = self._root_attributes.get("model_config")
        return _parse_json(raw, self.path, "model_config attribute") if raw is not None else None

    @functools.cached_property
    def training_config(self) -> dict[str, Any] | None:
        """How the model was compiled (loss, metrics, optimizer), or ``None``: the
        ``training_config`` attribute of an HDF5 file, the ``compile_config`` of a ``.keras``."""
        if self.format == "keras_v3":
            compiled = (self.config or {}).get("compile_config")
            return compiled or None
        raw = self._root_attributes.get("training_config")
        return _parse_json(raw, self.path, "training_config attribute") if raw is not None else None

    @functools.cached_property
    def lambda_layers(self) -> list[str]:
        """Names of the ``Lambda`` layers in the architecture. Their Python code is stored in
        the file (marshalled bytecode); inspecting it here does not run it, but loading the model
        with Keras would (``safe_mode=False``)."""
        return [name for name, _ in _find_classes(self.config, {"Lambda"})]

    @functools.cached_property
    def custom_classes(self) -> list[str]:
        """Classes in the architecture that are not part of Keras: a ``registered_name`` or a
        module outside ``keras`` (Keras 3), or, in Keras 1/2 configs that name neither, a class
        name that is not one of Keras's own (:mod:`tfexplore.artifacts.keras.names`), at any depth
        (inside ``Sequential``, ``Model``, ``TimeDistributed``, ``Bidirectional``...). Loading
        needs them importable (``custom_objects``) and runs their code."""
        from .names import KERAS_CLASS_NAMES

        found: list[str] = []
        for node in _walk_dicts(self.config):
            if "class_name" not in node or "config" not in node:
                continue
            module = node.get("module")
            registered = node.get("registered_name")
            legacy = "module" not in node and "registered_name" not in node
            in_keras = isinstance(module, str) and module.startswith("keras")
            custom = (
                (registered and registered != node["class_name"])
                or (isinstance(module, str) and module and not in_keras)
                or (
                    # Keras 1/2 names, or a keras.* module naming something that is not a Keras
                    # class (keras.utils get_file: deserializing it calls it)
                    (legacy or in_keras) and str(node["class_name"]) not in KERAS_CLASS_NAMES
                )
            )
            if custom and (label := str(registered or node["class_name"])) not in found:
                found.append(label)
        return found

    # -- tables ----------------------------------------------------------------------------
    @functools.cached_property
    def safety(self):
        """A :class:`tfexplore.safety.ScanReport` of the Python a load would run: each
        ``Lambda`` layer and each custom class (read from the config, never executed)."""
        from ...safety.gate import scan_keras_config

        return scan_keras_config(
            self.config,
            path=self.path,
            lambda_layers=self.lambda_layers,
            custom_classes=self.custom_classes,
        )

    @functools.cached_property
    def _weights(self) -> list[Weight]:
        with self._open_h5() as h5:
            if self.format in ("keras_v3", "weights_h5_v3"):
                weights = _V3Reader(h5, self.config).weights()
            else:
                weights = _LegacyReader(h5, self.config).weights()
        guess_optimizer_slots(weights, self.optimizer_class, self.format)
        return weights

    @functools.cached_property
    def weights(self):
        """Every tensor in the file, model weights first, then the optimizer's: ``name``,
        ``layer``, ``shape`` (tuple), ``dtype``, ``size``, ``nbytes``, ``trainable``, ``role``
        (``weight`` or ``optimizer``), ``slot`` and ``slot_of`` (an optimizer slot's meaning and
        its variable, when they can be told), ``h5_path`` (where it is in the HDF5 tree)."""
        import pandas as pd

        return pd.DataFrame([w.row() for w in self._weights], columns=WEIGHT_COLUMNS)

    @property
    def variables(self):
        """Alias of :attr:`weights` (the name every tfexplore artifact shares)."""
        return self.weights

    @functools.cached_property
    def layers(self):
        """One row per top-level layer: ``name``, ``class_name``, ``n_weights``, ``params``
        (elements in its weights), ``trainable``, ``input_shape`` (from the config, when
        recorded). Weights-only files list the layers their weights belong to."""
        import pandas as pd

        model_weights = [w for w in self._weights if w.role == "weight"]
        rows = []
        seen = set()
        for layer in _config_layers(self.config):
            name = _layer_name(layer)
            seen.add(name)
            rows.append(_layer_row(name, layer, model_weights))
        for weight in model_weights:
            if weight.layer not in seen:
                seen.add(weight.layer)
                rows.append(_layer_row(weight.layer, None, model_weights))
        return pd.DataFrame(rows, columns=LAYER_COLUMNS)

    @property
    def optimizer_class(self) -> str | None:
        """The optimizer's class name (``Adam``) from the compile/training config; for
        weights-only files, guessed from the optimizer's name (``adam_1`` -> ``adam``);
        ``None`` when the file holds no optimizer."""
        config = _optimizer_config(self.training_config)
        if config.get("class_name"):
            return str(config["class_name"])
        return self._stored_optimizer_name

    @functools.cached_property
    def optimizer(self) -> dict[str, Any] | None:
        """The optimizer: ``class_name``, ``config`` (hyper-parameters) and ``weights`` (a
        DataFrame of its state with a ``slot`` guess: ``iterations``, ``m``/``momentum``,
        ``v``/``velocity``...). ``None`` when the file holds no optimizer."""
        weights = self.weights[self.weights["role"] == "optimizer"].reset_index(drop=True)
        config = _optimizer_config(self.training_config)
        if weights.empty and not config:
            return None
        return {
            "class_name": self.optimizer_class,
            "config": config.get("config", {}),
            "weights": weights,
        }

    @functools.cached_property
    def members(self):
        """The members of a ``.keras`` zip (``name``, ``size``, ``compressed_size``); empty for
        an HDF5 file."""
        import pandas as pd

        rows = [
            {"name": info.filename, "size": info.file_size, "compressed_size": info.compress_size}
            for info in (self._zip_members.values() if self._container == "zip" else [])
        ]
        return pd.DataFrame(rows, columns=["name", "size", "compressed_size"])

    @functools.cached_property
    def notes(self) -> list[str]:
        """Things worth knowing about this file (old format, code inside, names guessed)."""
        notes = []
        if self.config is None:
            notes.append(
                "weights only: the file has no architecture; loading needs the model built in "
                "code first (model.load_weights)"
            )
        if self.format in ("h5_model", "h5_weights") and self.keras_version is None:
            notes.append("no keras_version attribute: written by Keras 1.x (2016 or earlier)")
        if self.lambda_layers:
            notes.append(
                f"Lambda layers {self.lambda_layers} hold Python bytecode; tfexplore did not run "
                "it. keras.models.load_model refuses them unless safe_mode=False"
            )
        if self.custom_classes:
            notes.append(f"custom classes needed to load: {self.custom_classes}")
        unnamed = [w.name for w in self._weights if w.role == "weight" and "/vars/" in w.name]
        if unnamed:
            notes.append(
                f"{len(unnamed)} weights keep their position as name (e.g. {unnamed[0]!r}): "
                "their layer class is not one tfexplore knows the variable order of"
            )
        return notes

    # -- tensors ---------------------------------------------------------------------------
    def read(self, name: str) -> np.ndarray:
        """The value of one tensor as a numpy array, by ``name``, ``h5_path``, or a unique
        ending of a name (``hidden/kernel`` finds ``sequential/hidden/kernel``).

        Example::

            >>> KerasFile("model.keras").read("hidden/kernel")      # doctest: +SKIP
        """
        weight = self._weight(name)
        with self._open_h5() as h5:
            dataset = h5[weight.h5_path]
            _check_claimed_size(dataset, weight.name, self.path)
            return np.asarray(dataset[()])

    def stats(self, names: list[str] | None = None, progress: bool | None = None):
        """min, max, mean, std, L2, zero/NaN/Inf counts of each tensor (all, or ``names``),
        reading one tensor at a time."""
        from ...stats import stream_stats

        chosen = [self._weight(n) for n in names] if names is not None else self._weights
        rows = [w.row() for w in chosen]
        items = (
            ({k: row[k] for k in ("name", "layer", "shape", "dtype", "role")},
             functools.partial(self.read, weight.name), row["nbytes"])
            for weight, row in zip(chosen, rows)
        )  # fmt: skip
        return stream_stats(
            items,
            total_bytes=sum(r["nbytes"] for r in rows),
            progress=progress,
            description=self.path.name,
        )

    def diff(self, other: KerasFile | str | os.PathLike, progress: bool | None = None):
        """Compare with another Keras file of the same model (``other`` is the *new* one),
        weight by weight: the columns of :meth:`tfexplore.artifacts.checkpoint.Checkpoint.diff`."""

        if not isinstance(other, KerasFile):
            other = KerasFile(other)
        return diff_keras(self, other, progress=progress)

    def _weight(self, name: str) -> Weight:
        for weight in self._weights:
            if name in (weight.name, weight.h5_path, weight.h5_path.lstrip("/")):
                return weight
        # the same model's weight is `hidden/kernel` in a .keras file and
        # `sequential/hidden/kernel` in a legacy .h5: a unique ending finds it in either
        ending = [w for w in self._weights if w.name.endswith("/" + name.strip("/"))]
        if len(ending) == 1:
            return ending[0]
        names = [w.name for w in self._weights]
        raise TensorNotFoundError(
            f"No tensor named {name!r} in {str(self.path)!r}.",
            path=self.path,
            expected="a name from .weights['name'] (or its h5_path)",
            suggestions=suggest(name, names),
        )

    # -- reprs and prose -------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """Key facts: format, Keras version, model class, layers, weights, optimizer, code."""
        model_weights = [w for w in self._weights if w.role == "weight"]
        optimizer_weights = [w for w in self._weights if w.role == "optimizer"]
        facts: dict[str, Any] = {
            "kind": self.kind,
            "path": str(self.path),
            "format": f"{self.format}: {FORMATS[self.format]}",
            "keras_version": self.keras_version or _unrecorded_version(self.format),
        }
        if self.backend:
            facts["backend"] = self.backend
        if self.metadata.get("date_saved"):
            facts["date_saved"] = self.metadata["date_saved"]
        if self.config:
            facts["model"] = f"{self.config.get('class_name')} {_model_name(self.config)!r}"
        facts["layers"] = len(self.layers)
        facts["weights"] = len(model_weights)
        facts["params"] = int(sum(w.row()["size"] for w in model_weights))
        if optimizer_weights or self.optimizer_class:
            facts["optimizer"] = (
                f"{self.optimizer_class or '?'} ({len(optimizer_weights)} state tensors)"
            )
        if self.lambda_layers:
            facts["lambda_layers"] = f"{self.lambda_layers} (code not run)"
        if self.custom_classes:
            facts["custom_classes"] = self.custom_classes
        facts["size"] = human_bytes(self.path.stat().st_size)
        return facts

    def explain(self) -> Explanation:
        """What the file holds and what loading it needs, in Markdown."""
        return Explanation(_explain(self))

    def _file_rows(self) -> list[tuple[Path, str]]:
        return [(self.path, f"Keras {self.format}")]

    # -- low level -------------------------------------------------------------------------
    @functools.cached_property
    def _zip_members(self) -> dict[str, zipfile.ZipInfo]:
        with _translated(self.path, "Keras zip"):
            with zipfile.ZipFile(self.path) as archive:
                infos = archive.infolist()
        check_members(self.path, infos)
        with _translated(self.path, "Keras zip"):
            for info in infos:
                check_inflation(self.path, info)
        members = {info.filename: info for info in infos}
        if WEIGHTS_MEMBER not in members and CONFIG_MEMBER not in members:
            raise CorruptArtifactError(
                f"{str(self.path)!r} is a zip but not a Keras model: it has no {CONFIG_MEMBER} "
                f"or {WEIGHTS_MEMBER} (it has {sorted(members)[:6]}).",
                path=self.path,
                expected=f"a .keras zip with {METADATA_MEMBER}, {CONFIG_MEMBER}, {WEIGHTS_MEMBER}",
                hint="if it is another kind of zip, unpack it and open what is inside",
            )
        if WEIGHTS_MEMBER not in members:
            npz = "model.weights.npz" in members
            raise CorruptArtifactError(
                f"{str(self.path)!r} holds no {WEIGHTS_MEMBER}"
                + (" (its weights are in model.weights.npz, not supported yet)." if npz else "."),
                path=self.path,
                expected=f"a .keras zip with {WEIGHTS_MEMBER}",
                hint="re-save with model.save('x.keras') (weights_format='h5')",
            )
        return members

    def _zip_json(self, member: str, *, required: bool) -> dict[str, Any] | None:
        if member not in self._zip_members:
            if not required:
                return None
            raise CorruptArtifactError(
                f"{str(self.path)!r} has no {member}.",
                path=self.path,
                expected=f"a .keras zip with {METADATA_MEMBER}, {CONFIG_MEMBER}, {WEIGHTS_MEMBER}",
                hint=_HINT_RECOPY,
            )
        with _translated(self.path, f"{member} in the Keras zip"):
            with zipfile.ZipFile(self.path) as archive:
                data = read_member(archive, self._zip_members[member], self.path)
        return _parse_json(data, self.path, member)

    @functools.cached_property
    def _root_attributes(self) -> dict[str, Any]:
        with self._open_h5() as h5:
            return {key: _attribute(h5.attrs, key) for key in h5.attrs}

    @functools.cached_property
    def _stored_optimizer_name(self) -> str | None:
        with self._open_h5() as h5:
            group = h5.get("optimizer/vars") or h5.get("optimizer_weights")
            if group is None:
                return None
            name = _attribute(group.attrs, "name")  # "adam_1": the instance name, no class
            return re.sub(r"_\d+$", "", str(name)) if name else None

    @contextlib.contextmanager
    def _open_h5(self) -> Iterator[Any]:
        """The HDF5 file (or the zip's ``model.weights.h5``), opened read-only, once the child
        process of :mod:`tfexplore.artifacts.keras.probe` has made the same reads without hanging, crashing
        or exhausting memory (once per file version)."""
        import h5py

        if not self._probed:
            _h5probe.check(self.path)
            self._probed = True
        with _translated(self.path, "Keras weights (HDF5)"), contextlib.ExitStack() as stack:
            if self._container == "zip":
                info = self._zip_members[WEIGHTS_MEMBER]
                fileobj = stack.enter_context(_open_member(self.path, info))
                h5 = stack.enter_context(h5py.File(fileobj, "r"))
            else:
                check_regular(self.path, what="Keras HDF5")
                h5 = stack.enter_context(h5py.File(self.path, "r", locking=False))
            yield h5


# -- containers ------------------------------------------------------------------------------
def _container_of(path: Path) -> str:
    """``zip`` or ``hdf5`` from the first bytes; anything else is not a Keras file."""
    try:
        with open_regular(path, what="Keras") as f:
            head = f.read(8)
    except OSError as exc:
        raise UnreadableFileError(
            f"The Keras file {str(path)!r} cannot be read: {exc.strerror or exc}.",
            path=path,
            expected="a readable .keras or .h5 file",
            hint="check the file permissions (ls -l), or copy it somewhere readable",
        ) from exc
    if head.startswith(ZIP_MAGIC):
        return "zip"
    if head == HDF5_MAGIC or _has_hdf5_userblock(path):
        return "hdf5"
    from ..._files import check_lfs_pointer

    check_lfs_pointer(path, what="Keras file")
    raise UnrecognizedArtifactError(
        f"{str(path)!r} is neither a Keras zip (.keras) nor an HDF5 file (.h5).",
        path=path,
        expected="a file starting with the zip signature PK\\x03\\x04 or the HDF5 signature",
        hint="a SavedModel is a folder: open the folder; a TF checkpoint opens by its prefix",
    )


def _has_hdf5_userblock(path: Path) -> bool:
    """HDF5 files may start after a user block of 512, 1024, 2048... bytes."""
    offset = 512
    size = path.stat().st_size
    with open_regular(path, what="Keras") as f:
        while offset + 8 <= size and offset <= 1 << 20:
            f.seek(offset)
            if f.read(8) == HDF5_MAGIC:
                return True
            offset *= 2
    return False


@contextlib.contextmanager
def _open_member(path: Path, info: zipfile.ZipInfo) -> Iterator[io.RawIOBase]:
    """A seekable file object for one zip member: a window on the archive for a stored
    (uncompressed) member, which Keras writes, so nothing is copied; else the bytes in memory."""
    if info.compress_type == zipfile.ZIP_STORED:
        with open_regular(path, what="Keras zip") as raw:
            raw.seek(info.header_offset)
            header = raw.read(30)
            if len(header) < 30 or header[:4] != ZIP_MAGIC:
                raise zipfile.BadZipFile(f"bad local header for {info.filename}")
            name_length, extra_length = struct.unpack("<HH", header[26:30])
            start = info.header_offset + 30 + name_length + extra_length
            yield _Window(raw, start, info.file_size)
    else:
        with zipfile.ZipFile(path) as archive:
            yield io.BytesIO(read_member(archive, info, path))


class _Window(io.RawIOBase):
    """A read-only, seekable view of ``size`` bytes of ``file`` starting at ``start``."""

    def __init__(self, file, start: int, size: int) -> None:
        super().__init__()
        self._file, self._start, self._size, self._position = file, start, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer) -> int:
        count = max(0, min(len(buffer), self._size - self._position))
        if count == 0:
            return 0
        self._file.seek(self._start + self._position)
        data = self._file.read(count)
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)


@contextlib.contextmanager
def _translated(path: Path, what: str) -> Iterator[None]:
    """Turn h5py's and zipfile's errors about damaged bytes into ``CorruptArtifactError``."""
    try:
        yield
    except TFExploreError:
        raise
    except (
        OSError,
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        RuntimeError,
        KeyError,
        ValueError,
        MemoryError,
    ) as exc:  # h5py says "unable to open object" with KeyError, bad dataspaces with ValueError
        raise CorruptArtifactError(
            f"{str(path)!r} is damaged: the {what} cannot be read ({type(exc).__name__}: "
            f"{_first_line(exc)}).",
            path=path,
            expected="an intact .keras zip or Keras HDF5 file",
            hint=_HINT_RECOPY,
        ) from exc


def _check_claimed_size(dataset, name: str, path: Path) -> None:
    """Refuse a dataset whose shape claims more bytes than the file stores for it (an HDF5
    dataset can declare terabytes and store nothing: reading it would allocate them all)."""
    claimed = int(dataset.size) * dataset.dtype.itemsize
    stored = dataset.id.get_storage_size()
    allowed = stored * (1024 if dataset.compression else 1)
    if claimed > allowed and claimed > 64 << 20:
        raise CorruptArtifactError(
            f"Tensor {name!r} of {str(path)!r} claims shape {dataset.shape} "
            f"({human_bytes(claimed)}) but the file stores {human_bytes(stored)} for it; "
            "tfexplore refuses to allocate it.",
            path=path,
            expected="a weight whose stored bytes match its shape and dtype",
            hint="the file is damaged or hostile; re-copy it from a source you trust",
        )


def _unrecorded_version(file_format: str) -> str:
    return "not recorded (Keras 1)" if file_format.startswith("h5_") else "not recorded"


def _parse_json(data: bytes | str, path: Path, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError, TypeError) as exc:  # [[[[..., 5
        raise CorruptArtifactError(
            f"The {what} of {str(path)!r} is not valid JSON.",
            path=path,
            expected=f"{what} as JSON text",
            hint=_HINT_RECOPY,
        ) from exc
    return value if isinstance(value, dict) else {"value": value}


def _attribute(attrs, key: str) -> Any:
    """An HDF5 attribute as plain Python: bytes decoded, arrays of names as lists of str."""
    value = attrs.get(key)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        if value.size == 0:  # Keras 1 writes empty name lists as float64 arrays
            return []
        return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in value]
    return value


def _h5_format(h5, path: Path) -> str:
    attrs = h5.attrs
    if "model_config" in attrs or "model_weights" in h5:
        return "h5_model"
    if "layer_names" in attrs:
        return "h5_weights"
    if "layers" in h5 or "vars" in h5 or "optimizer" in h5:
        return "weights_h5_v3"
    raise UnrecognizedArtifactError(
        f"{str(path)!r} is an HDF5 file but not one Keras wrote (top level: {sorted(h5)[:8]}).",
        path=path,
        expected="an HDF5 file with a model_config or layer_names attribute, or layers/ groups",
        hint="open it with h5py directly to see what it holds",
    )


# -- Keras 3 weights -------------------------------------------------------------------------
_SNAKE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def _snake_case(name: str) -> str:
    return _SNAKE.sub("_", name).lower()


def _variable_layout(class_name: str | None, config: dict[str, Any]) -> list[tuple[str, bool]]:
    """The variables a Keras layer class creates, in creation order: ``(name, trainable)``.
    Empty when the class is not one tfexplore knows."""
    bias = [("bias", True)] if config.get("use_bias", True) else []
    if class_name in {
        "Dense", "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose",
        "Conv3DTranspose", "DepthwiseConv1D", "DepthwiseConv2D", "Convolution2D",
    }:  # fmt: skip
        return [("kernel", True), *bias]
    if class_name in {"SeparableConv1D", "SeparableConv2D"}:
        return [("depthwise_kernel", True), ("pointwise_kernel", True), *bias]
    if class_name in {"LSTMCell", "GRUCell", "SimpleRNNCell"}:
        return [("kernel", True), ("recurrent_kernel", True), *bias]
    if class_name == "Embedding":
        return [("embeddings", True)]
    if class_name == "PReLU":
        return [("alpha", True)]
    if class_name in {"BatchNormalization", "LayerNormalization", "GroupNormalization"}:
        scaled = [("gamma", True)] if config.get("scale", True) else []
        centered = [("beta", True)] if config.get("center", True) else []
        moving = [("moving_mean", False), ("moving_variance", False)]
        return scaled + centered + (moving if class_name == "BatchNormalization" else [])
    if class_name == "Normalization":
        return [("mean", False), ("variance", False), ("count", False)]
    return []


_KNOWN_CLASSES = {
    _snake_case(c): c
    for c in (
        "Dense Conv1D Conv2D Conv3D Conv1DTranspose Conv2DTranspose Conv3DTranspose "
        "DepthwiseConv1D DepthwiseConv2D SeparableConv1D SeparableConv2D LSTMCell GRUCell "
        "SimpleRNNCell Embedding PReLU BatchNormalization LayerNormalization "
        "GroupNormalization Normalization"
    ).split()
}
_KNOWN_CLASSES.update({"conv1d": "Conv1D", "conv2d": "Conv2D", "conv3d": "Conv3D"})


class _V3Reader:
    """Lists the tensors of a Keras 3 weights HDF5 tree (``layers/<x>/vars/<i>``)."""

    def __init__(self, h5, config: dict[str, Any] | None) -> None:
        import h5py

        self._h5py = h5py
        self.h5 = h5
        self.layer_configs = {
            name: node for name, node in _find_classes(config, None) if name is not None
        }
        self.order = [_layer_name(layer) for layer in _config_layers(config)]

    def weights(self) -> list[Weight]:
        found: list[Weight] = []
        for key in _natural_sorted(self.h5):
            item = self.h5[key]
            if key == "vars" and isinstance(item, self._h5py.Group):
                found += self._own_variables(self.h5, [], None, "weight")
            elif isinstance(item, self._h5py.Group):
                role = "optimizer" if key == "optimizer" else "weight"
                found += self._saveables(item, key, [], role, top=None)
        model = [w for w in found if w.role == "weight"]
        model.sort(key=self._layer_rank(model))  # stable: keeps each layer's variable order
        return model + [w for w in found if w.role != "weight"]

    def _layer_rank(self, model: list[Weight]):
        """Layers in model order: the config's, else the order Keras wrote them to the file
        (the byte offset of their first tensor), since group names sort alphabetically."""
        rank = {name: i for i, name in enumerate(self.order)}
        first_offset: dict[str | None, float] = {}
        for weight in model:
            offset = self.h5[weight.h5_path].id.get_offset()
            offset = float("inf") if offset is None else offset
            first_offset[weight.layer] = min(first_offset.get(weight.layer, offset), offset)
        return lambda w: (rank.get(w.layer, len(rank)), first_offset[w.layer])

    def _saveables(self, group, key: str, names: list[str], role: str, top: str | None):
        """A group is a saveable when it has ``vars``; others (``layers``) are containers."""
        found: list[Weight] = []
        if "vars" in group:
            name = _attribute(group["vars"].attrs, "name") or key
            names = [*names, str(name)] if role == "weight" else [str(name)]
            top = top or names[0]
            found += self._own_variables(group, names, top, role, group_key=key)
        for child in _natural_sorted(group):
            item = group[child]
            if child != "vars" and isinstance(item, self._h5py.Group):
                found += self._saveables(item, child, names, role, top)
        return found

    def _own_variables(self, group, names, top, role, group_key: str = "") -> list[Weight]:
        variables = group["vars"]
        keys = sorted(
            (k for k in variables if isinstance(variables[k], self._h5py.Dataset)),
            key=lambda k: (not k.isdigit(), int(k) if k.isdigit() else 0, k),
        )
        if not keys:
            return []
        own_name = names[-1] if names else _attribute(variables.attrs, "name") or "model"
        layer_config = self.layer_configs.get(own_name, {})
        class_name = layer_config.get("class_name") or _guess_class(own_name, group_key)
        inner = layer_config.get("config") if isinstance(layer_config.get("config"), dict) else {}
        layout = _variable_layout(class_name, inner) if role == "weight" else []
        layer_trainable = inner.get("trainable") if inner else None
        if len(layout) != len(keys):
            layout = [(f"vars/{k}", layer_trainable) for k in keys]
        prefix = "/".join(names) if names else own_name
        weights = []
        for key, (var_name, trainable) in zip(keys, layout):
            dataset = variables[key]
            if layer_trainable is False:
                trainable = False
            weights.append(
                Weight(
                    name=f"{prefix}/{var_name}",
                    layer=top if role == "weight" else None,
                    h5_path=dataset.name,
                    shape=tuple(int(d) for d in dataset.shape),
                    dtype=_dtype_name(dataset.dtype),
                    trainable=trainable if role == "weight" else False,
                    role=role,
                )
            )
        return weights


def _guess_class(display_name: str, group_key: str) -> str | None:
    for candidate in (display_name, group_key):
        base = re.sub(r"_\d+$", "", candidate or "")
        if base in _KNOWN_CLASSES:
            return _KNOWN_CLASSES[base]
    return None


# -- legacy HDF5 -----------------------------------------------------------------------------
class _LegacyReader:
    """Lists the tensors of a Keras 1/2 (or Keras 3 legacy) HDF5 file."""

    def __init__(self, h5, config: dict[str, Any] | None) -> None:
        import h5py

        self._h5py = h5py
        self.h5 = h5
        self.layer_configs = {
            name: node for name, node in _find_classes(config, None) if name is not None
        }

    def weights(self) -> list[Weight]:
        root = self.h5["model_weights"] if "model_weights" in self.h5 else self.h5
        layer_names = _attribute(root.attrs, "layer_names")
        if not isinstance(layer_names, list):
            layer_names = [
                k for k in _natural_sorted(root) if isinstance(root[k], self._h5py.Group)
            ]
        extra = [k for k in ("top_level_model_weights",) if k in root and k not in layer_names]
        weights: list[Weight] = []
        for layer in [*layer_names, *extra]:
            if layer in root and isinstance(root[layer], self._h5py.Group):
                weights += self._layer_weights(root[layer], layer)
        if "optimizer_weights" in self.h5:
            weights += self._optimizer_weights(self.h5["optimizer_weights"])
        return weights

    def _layer_weights(self, group, layer: str) -> list[Weight]:
        inner = self.layer_configs.get(layer, {}).get("config")
        layer_trainable = inner.get("trainable") if isinstance(inner, dict) else None
        weights = []
        for name, dataset in self._named_datasets(group):
            trainable = layer_trainable
            if re.search(r"moving_(mean|variance)|running_(mean|std)", name):
                trainable = False
            weights.append(_weight_from(dataset, name, layer, "weight", trainable))
        return weights

    def _optimizer_weights(self, group) -> list[Weight]:
        return [
            _weight_from(dataset, name, None, "optimizer", False)
            for name, dataset in self._named_datasets(group)
        ]

    def _named_datasets(self, group) -> list[tuple[str, Any]]:
        """``(weight name, dataset)`` in the order of the ``weight_names`` attribute, or of the
        tree when the attribute is missing."""
        names = _attribute(group.attrs, "weight_names")
        if isinstance(names, list):
            return [(n, group[n]) for n in names if n in group]
        found: list[tuple[str, Any]] = []
        group.visititems(
            lambda key, item: (
                found.append((key, item)) if isinstance(item, self._h5py.Dataset) else None
            )
        )
        return found


def _weight_from(dataset, name: str, layer, role: str, trainable) -> Weight:
    return Weight(
        name=name,
        layer=layer,
        h5_path=dataset.name,
        shape=tuple(int(d) for d in dataset.shape),
        dtype=_dtype_name(dataset.dtype),
        trainable=trainable,
        role=role,
    )


def _dtype_name(dtype) -> str:
    if dtype.kind in "OSU":
        return "string"
    return dtype.name


def _natural_sorted(group) -> list[str]:
    return sorted(
        group.keys(), key=lambda k: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", k)]
    )


# -- config helpers --------------------------------------------------------------------------
def _walk_dicts(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for child in value.values():
            yield from _walk_dicts(child)
    elif isinstance(value, list):
        for child in value:
            yield from _walk_dicts(child)


def _find_classes(config: Any, classes: set[str] | None) -> list[tuple[str | None, dict]]:
    """``(layer name, node)`` of every serialized object in ``config`` with a ``class_name``
    in ``classes`` (all layer-like objects when ``classes`` is None)."""
    found = []
    for node in _walk_dicts(config):
        class_name = node.get("class_name")
        if not isinstance(class_name, str) or not isinstance(node.get("config"), (dict, list)):
            continue
        if classes is None or class_name in classes:
            found.append((_layer_name(node), node))
    return found


def _config_layers(config: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The top-level layers of a Sequential or functional model config."""
    if not config:
        return []
    inner = config.get("config")
    if isinstance(inner, list):  # Keras 1 / early Keras 2 Sequential
        return [layer for layer in inner if isinstance(layer, dict)]
    if isinstance(inner, dict) and isinstance(inner.get("layers"), list):
        return [layer for layer in inner["layers"] if isinstance(layer, dict)]
    return []


def _layer_name(layer: dict[str, Any]) -> str | None:
    inner = layer.get("config")
    name = layer.get("name") or (inner.get("name") if isinstance(inner, dict) else None)
    return str(name) if name is not None else None


def _model_name(config: dict[str, Any]) -> str | None:
    inner = config.get("config")
    return inner.get("name") if isinstance(inner, dict) else None


def _layer_row(name: str | None, layer: dict[str, Any] | None, weights: list[Weight]) -> dict:
    inner = (layer or {}).get("config")
    inner = inner if isinstance(inner, dict) else {}
    own = [w for w in weights if w.layer == name]
    input_shape = (
        inner.get("batch_input_shape")
        or inner.get("batch_shape")
        or ((layer or {}).get("build_config") or {}).get("input_shape")
    )
    return {
        "name": name,
        "class_name": (layer or {}).get("class_name"),
        "n_weights": len(own),
        "params": int(sum(w.row()["size"] for w in own)),
        "trainable": inner.get("trainable"),
        "input_shape": _shape_tuple(input_shape),
    }


def _shape_tuple(shape: Any) -> tuple | None:
    if not isinstance(shape, list):
        return None
    if shape and all(isinstance(s, list) for s in shape):  # several inputs
        return tuple(_shape_tuple(s) for s in shape)
    return tuple(shape)


def _optimizer_config(training_config: dict[str, Any] | None) -> dict[str, Any]:
    """``{"class_name": ..., "config": {...}}`` of the optimizer, or ``{}``."""
    if not training_config:
        return {}
    optimizer = training_config.get("optimizer_config") or training_config.get("optimizer")
    if isinstance(optimizer, str):
        return {"class_name": optimizer, "config": {}}
    if isinstance(optimizer, dict):
        return {"class_name": optimizer.get("class_name"), "config": optimizer.get("config", {})}
    return {}


# -- prose -----------------------------------------------------------------------------------
def _explain(keras_file: KerasFile) -> str:
    facts = keras_file.summary()
    lines = [f"# `{keras_file.path.name}`: {FORMATS[keras_file.format]}", ""]
    if keras_file.format == "keras_v3":
        lines += [
            "A `.keras` file is a zip archive with three members:",
            "",
            "- `metadata.json`: the Keras version that saved it and the date;",
            "- `config.json`: the **architecture** as JSON: every layer's class and settings "
            "and how layers connect, plus `compile_config` (loss, metrics, optimizer settings);",
            "- `model.weights.h5`: the **weights** in HDF5, one group per layer "
            "(`layers/<layer>/vars/0`, `vars/1`... in the order the layer created them) and the "
            "**optimizer state** under `optimizer/vars`.",
        ]
    elif keras_file.format == "weights_h5_v3":
        lines += [
            "A Keras 3 `.weights.h5` (from `model.save_weights`) holds only **weights**, one HDF5 "
            "group per layer (`layers/<layer>/vars/<i>`), and the optimizer state if the model "
            "was trained (`optimizer/vars`). It has **no architecture**.",
        ]
    elif keras_file.format == "h5_model":
        lines += [
            "A legacy Keras HDF5 model file holds the **architecture** (root attribute "
            "`model_config`, JSON), how it was compiled (`training_config`), the **weights** "
            "(`model_weights/<layer>/...`, listed by the attributes `layer_names` and "
            "`weight_names`) and, if saved after training, the **optimizer state** "
            "(`optimizer_weights`).",
        ]
    else:
        lines += [
            "A legacy Keras weights file (from `save_weights`) holds only the **weights**: one "
            "HDF5 group per layer, named by the root attribute `layer_names`, each listing its "
            "tensors in `weight_names`. It has **no architecture**.",
        ]
    lines += [
        "",
        f"This one has {facts['layers']} layers and {facts['weights']} weight tensors "
        f"({facts['params']:,} parameters)"
        + (f"; optimizer: {facts['optimizer']}" if "optimizer" in facts else "")
        + ".",
        "",
        "## What loading it needs",
        "",
    ]
    if keras_file.config is None:
        lines.append(
            "- The **same architecture built in code** first, then `model.load_weights(path)`: "
            "layer order and shapes must match what `.layers` and `.weights` show."
        )
    else:
        lines.append(
            "- `keras.models.load_model(path)` rebuilds the model from the config; every class "
            "in it must be importable."
        )
    if keras_file.custom_classes:
        lines.append(
            f"- Custom classes {keras_file.custom_classes}: pass them as `custom_objects=` or "
            "register them with `@keras.saving.register_keras_serializable`."
        )
    if keras_file.lambda_layers:
        lines.append(
            f"- `Lambda` layers {keras_file.lambda_layers} store Python bytecode. Keras refuses "
            "to deserialize them unless `safe_mode=False`, which runs that code: only do it for "
            "files you trust. tfexplore read the config as JSON and ran nothing."
        )
    if keras_file.format in ("h5_model", "h5_weights") and keras_file.keras_version is None:
        lines.append(
            "- It was written by Keras 1: its weight names (`dense_1_W`) and layouts predate "
            "Keras 2; Keras 3 cannot load it directly, but the arrays can be read here and "
            "assigned with `layer.set_weights`."
        )
    if keras_file.optimizer is not None:
        lines.append(
            "- To resume training with the saved optimizer state, compile with the same "
            "optimizer; the state is matched to variables by position."
        )
    lines += ["", "Nothing was run to produce this: the file was read with zipfile, json and h5py."]
    return "\n".join(lines)


def diff_keras(old, new, progress: bool | None = None):
    """Compare the weights of two Keras files (``new`` is the later one), one tensor at a time,
    by weight name: the columns of :meth:`tfexplore.artifacts.checkpoint.Checkpoint.diff`."""
    import pandas as pd

    from ...stats import compare, progress_bar
    from ..checkpoint.checkpoint import DIFF_COLUMNS, _diff_row

    old_rows = {row["name"]: row for row in old.weights.to_dict("records")}
    new_rows = {row["name"]: row for row in new.weights.to_dict("records")}
    names = list(old_rows) + [name for name in new_rows if name not in old_rows]
    both = [n for n in names if n in old_rows and n in new_rows]
    bar = progress_bar(sum(int(old_rows[n]["nbytes"] or 0) for n in both) * 2, progress, "diff")
    rows = []
    try:
        for name in names:
            before, after = old_rows.get(name), new_rows.get(name)
            row = _diff_row(name, before, after)
            row["role"] = (before or after)["role"]
            if row["status"] == "compare":
                result = compare(old.read(name), new.read(name))
                row.update({k: result[k] for k in DIFF_COLUMNS if k in result})
                row["status"] = "unchanged" if result["equal"] else "changed"
                if bar is not None:
                    bar.update(2 * int(before["nbytes"] or 0))
            rows.append(row)
    finally:
        if bar is not None:
            bar.close()
    return pd.DataFrame(rows, columns=DIFF_COLUMNS)
