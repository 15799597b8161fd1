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
import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..._files import check_regular
from ...errors import (
    ArtifactNotFoundError,
    CorruptArtifactError,
    TensorNotFoundError,
    suggest,
)
from ..base import Artifact, Explanation, human_bytes
from . import probe as _h5probe
from .config import (
    _config_layers,
    _find_classes,
    _layer_name,
    _layer_row,
    _model_name,
    _optimizer_config,
    _walk_dicts,
)
from .container import (
    _HINT_RECOPY,
    FORMATS,
    _attribute,
    _check_claimed_size,
    _container_of,
    _h5_format,
    _open_member,
    _parse_json,
    _translated,
    _unrecorded_version,
    byte_source,
)
from .explain import explain_keras_file
from .legacy import _LegacyReader
from .optimizer_state import guess_optimizer_slots
from .v3 import _V3Reader
from .weight import Weight
from .ziplimits import check_inflation, check_members, read_member

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["KerasFile", "FORMATS"]


CONFIG_MEMBER = "config.json"
METADATA_MEMBER = "metadata.json"
WEIGHTS_MEMBER = "model.weights.h5"
WEIGHT_COLUMNS = [
    "name", "layer", "shape", "dtype", "size", "nbytes", "trainable", "role", "slot", "slot_of",
    "h5_path",
]  # fmt: skip
LAYER_COLUMNS = ["name", "class_name", "n_weights", "params", "trainable", "input_shape"]


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
        self._source = byte_source(self.path)  # a URL: fetched in blocks, as readers ask
        self._container = _container_of(self.path, self._source)
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
        from ...safety.scan import scan_keras_config

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
    def weights(self) -> pd.DataFrame:
        """Every tensor in the file, model weights first, then the optimizer's: ``name``,
        ``layer``, ``shape`` (tuple), ``dtype``, ``size``, ``nbytes``, ``trainable``, ``role``
        (``weight`` or ``optimizer``), ``slot`` and ``slot_of`` (an optimizer slot's meaning and
        its variable, when they can be told), ``h5_path`` (where it is in the HDF5 tree)."""
        import pandas as pd

        return pd.DataFrame([w.row() for w in self._weights], columns=WEIGHT_COLUMNS)

    @property
    def variables(self) -> pd.DataFrame:
        """Alias of :attr:`weights` (the name every tfexplore artifact shares)."""
        return self.weights

    @functools.cached_property
    def layers(self) -> pd.DataFrame:
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
    def members(self) -> pd.DataFrame:
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
        if self._source.remote:
            notes.append(_h5probe.REMOTE_NOTE)
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

    def stats(self, names: list[str] | None = None, progress: bool | None = None) -> pd.DataFrame:
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

    def diff(
        self, other: KerasFile | str | os.PathLike, progress: bool | None = None
    ) -> pd.DataFrame:
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
        return Explanation(explain_keras_file(self))

    def _file_rows(self) -> list[tuple[Path, str]]:
        return [(self.path, f"Keras {self.format}")]

    # -- low level -------------------------------------------------------------------------
    @functools.cached_property
    def _zip_members(self) -> dict[str, zipfile.ZipInfo]:
        with _translated(self.path, "Keras zip", self._source):
            with self._source.open() as raw, zipfile.ZipFile(raw) as archive:
                infos = archive.infolist()
        check_members(self.path, infos)
        with _translated(self.path, "Keras zip", self._source):
            for info in infos:
                check_inflation(self.path, info, self._source)
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
        with _translated(self.path, f"{member} in the Keras zip", self._source):
            with self._source.open() as raw, zipfile.ZipFile(raw) as archive:
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
        process of :mod:`tfexplore.artifacts.keras.probe` has made the same reads without
        hanging, crashing or exhausting memory (once per file version)."""
        import h5py

        if not self._probed and not self._source.remote:  # remote: see REMOTE_NOTE
            _h5probe.check(self.path)
            self._probed = True
        with (
            _translated(self.path, "Keras weights (HDF5)", self._source),
            contextlib.ExitStack() as stack,
        ):
            if self._container == "zip":
                info = self._zip_members[WEIGHTS_MEMBER]
                fileobj = stack.enter_context(_open_member(self.path, info, self._source))
                h5 = stack.enter_context(h5py.File(fileobj, "r"))
            elif self._source.remote:  # h5py reads the file object: no copy on disk
                fileobj = stack.enter_context(self._source.open())
                h5 = stack.enter_context(h5py.File(fileobj, "r"))
            else:
                check_regular(self.path, what="Keras HDF5")
                h5 = stack.enter_context(h5py.File(self.path, "r", locking=False))
            yield h5


def diff_keras(old, new, progress: bool | None = None) -> pd.DataFrame:
    """Compare the weights of two Keras files (``new`` is the later one), one tensor at a time,
    by weight name: the columns of :meth:`tfexplore.artifacts.checkpoint.Checkpoint.diff`."""
    import pandas as pd

    from ...stats import compare, progress_bar
    from ..checkpoint.columns import DIFF_COLUMNS, _diff_row

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
