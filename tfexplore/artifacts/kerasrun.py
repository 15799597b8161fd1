"""A folder of Keras files saved epoch after epoch (``keras.callbacks.ModelCheckpoint``).

``ModelCheckpoint(filepath="weights.{epoch:02d}-{val_loss:.4f}.weights.h5")`` leaves one file
per epoch: ``weights.01-4.3169.weights.h5``, ``weights.02-3.9021.weights.h5``... (or
``ckpt_{epoch}.keras``, ``model.{epoch:02d}.h5``, Keras 2's ``weights.{epoch:02d}.hdf5``).
:class:`KerasRun` is such a folder: its checkpoints are those files in epoch order, each a
:class:`~tfexplore.artifacts.keras.KerasFile`, with ``history`` (statistics of weights across
epochs) and ``diff`` (how the weights moved between two epochs), like a
:class:`~tfexplore.artifacts.checkpoint.CheckpointDir` of TensorFlow checkpoints.

The epoch of a file is read from its name: the numbers in the names of the folder's Keras
files are compared, and the epoch is the whole number that changes from file to file (for a
single file, its last whole number); a decimal number (``4.3169``) is the monitored metric.

Example::

    >>> run = tfexplore.open("checkpoints/")                    # doctest: +SKIP
    >>> run.checkpoints[["path", "epoch", "metric"]]            # doctest: +SKIP
    >>> run.history(["hidden/kernel"])                          # doctest: +SKIP
    >>> run.diff(1, 5).query("status == 'changed'")             # doctest: +SKIP
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._fs import as_path
from ..errors import ArtifactNotFoundError, TensorNotFoundError, suggest
from .base import Artifact, Explanation, human_bytes
from .detect import _stem, keras_files
from .keras.file import diff_keras

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["KerasRun", "keras_files", "diff_keras"]

RUN_COLUMNS = ["path", "epoch", "metric", "format", "modified", "size", "is_latest"]


class KerasRun(Artifact):
    """A folder of Keras files saved by ``ModelCheckpoint``, one per epoch, oldest first.

    Attributes mirror :class:`~tfexplore.artifacts.checkpoint.CheckpointDir`: ``checkpoints`` (a
    DataFrame), ``latest``, ``open(epoch)``, ``len(run)``, iteration, ``history(names)``, plus
    ``diff(old, new)`` between two epochs.
    """

    kind = "keras_run"

    def __init__(self, folder: str | os.PathLike) -> None:
        folder = as_path(folder)  # a URL stays a URL
        super().__init__(folder)
        self.folder = folder
        if not folder.is_dir():
            raise ArtifactNotFoundError(
                f"No folder at {str(folder)!r}.",
                path=folder,
                expected="a folder of Keras files saved by ModelCheckpoint",
                hint="to open one Keras file, pass its path to tfexplore.open",
            )
        if not self._rows:
            raise ArtifactNotFoundError(
                f"The folder {str(folder)!r} holds no Keras file with an epoch number in its name.",
                path=folder,
                expected="files such as weights.01-0.35.weights.h5, ckpt_3.keras, model.05.h5",
                hint="open one Keras file by its path",
            )

    @functools.cached_property
    def _rows(self) -> list[dict[str, Any]]:
        rows = keras_files(self.folder)
        for row in rows:
            stat = row["path"].stat()
            row["_mtime"] = stat.st_mtime
            row["size"] = stat.st_size
        rows.sort(key=lambda row: (row["epoch"], row["_mtime"], row["path"].name))
        return rows

    # -- the checkpoints -------------------------------------------------------------------
    @functools.cached_property
    def checkpoints(self) -> pd.DataFrame:
        """One row per file, in epoch order: ``path``, ``epoch``, ``metric`` (the decimal
        number in the name, the monitored value when the template has one), ``format`` (the
        file's ending), ``modified``, ``size``, ``is_latest``."""
        import pandas as pd

        latest = self._latest_row
        table = pd.DataFrame(
            [
                {
                    "path": str(row["path"]),
                    "epoch": row["epoch"],
                    "metric": row["metric"],
                    "format": row["path"].name[len(_stem(row["path"].name)) :],
                    "modified": pd.Timestamp(row["_mtime"], unit="s"),
                    "size": row["size"],
                    "is_latest": row is latest,
                }
                for row in self._rows
            ],
            columns=RUN_COLUMNS,
        )
        table["epoch"] = table["epoch"].astype("Int64")
        return table

    @property
    def _latest_row(self) -> dict[str, Any]:
        return max(self._rows, key=lambda row: (row["epoch"], row["_mtime"]))

    @property
    def series(self) -> list[str]:
        """The file name templates in the folder (``weights.#-#.weights.h5``); more than one
        when several ModelCheckpoint callbacks wrote into it."""
        return list(dict.fromkeys(row["series"] for row in self._rows))

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[Any]:
        for row in self._rows:
            yield self._file(row["path"])

    @property
    def latest(self):
        """The file of the highest epoch (the newest of them when two share it)."""
        return self._file(self._latest_row["path"])

    def open(self, epoch_or_name: int | str | os.PathLike):
        """The :class:`~tfexplore.artifacts.keras.KerasFile` of an epoch (``run.open(3)``) or
        file name."""
        if isinstance(epoch_or_name, int):
            found = [row for row in self._rows if row["epoch"] == epoch_or_name]
            choices = [str(row["epoch"]) for row in self._rows]
        else:
            name = as_path(epoch_or_name).name
            found = [row for row in self._rows if row["path"].name == name]
            choices = [row["path"].name for row in self._rows]
        if not found:
            raise TensorNotFoundError(
                f"No file for {epoch_or_name!r} in {str(self.folder)!r}.",
                suggestions=suggest(str(epoch_or_name), choices),
                path=self.folder,
                expected="an epoch or file name from .checkpoints",
            )
        return self._file(found[-1]["path"])

    def _file(self, path: Path):
        """One :class:`~tfexplore.artifacts.keras.KerasFile` per path, kept (its parsed weights
        too)."""
        from .keras.file import KerasFile

        files = self.__dict__.setdefault("_files", {})
        if path not in files:
            files[path] = KerasFile(path)
        return files[path]

    # -- across epochs -----------------------------------------------------------------------
    def history(
        self, names: Iterable[str] | None = None, progress: bool | None = None
    ) -> pd.DataFrame:
        """Statistics of weights across every epoch, oldest first: one row per (epoch, weight)
        with ``epoch``, ``path``, ``name`` and the stats columns. ``names`` defaults to the
        model weights of the latest file; a name a file lacks is skipped there."""
        from ..stats import stream_stats

        if names is None:
            table = self.latest.weights
            names = list(table.loc[table["role"] == "weight", "name"])
        elif isinstance(names, str):
            names = [names]
        names = list(names)
        work = []
        for row in self._rows:
            keras_file = self._file(row["path"])
            for name in names:
                try:
                    weight = keras_file._weight(name)
                except TensorNotFoundError:
                    continue
                work.append((keras_file, row["epoch"], weight))
        items = (
            (
                {"epoch": epoch, "path": str(keras_file.path), "name": weight.name},
                functools.partial(keras_file.read, weight.name),
                weight.row()["nbytes"],
            )
            for keras_file, epoch, weight in work
        )
        total = sum(weight.row()["nbytes"] for _, _, weight in work)
        result = stream_stats(items, total_bytes=total, progress=progress, description="history")
        if "epoch" in result:
            result["epoch"] = result["epoch"].astype("Int64")
        return result

    def diff(
        self,
        old: int | str | None = None,
        new: int | str | None = None,
        progress: bool | None = None,
    ) -> pd.DataFrame:
        """How the weights moved from epoch ``old`` (default: the first) to ``new`` (default:
        the latest): the columns of :meth:`tfexplore.artifacts.checkpoint.Checkpoint.diff`."""
        first = self._file(self._rows[0]["path"]) if old is None else self.open(old)
        last = self.latest if new is None else self.open(new)
        return diff_keras(first, last, progress=progress)

    # -- presentation ----------------------------------------------------------------------------
    @property
    def notes(self) -> list[str]:
        notes = []
        if len(self.series) > 1:
            notes.append(
                "the folder holds files of several name templates ("
                + ", ".join(self.series)
                + "): several ModelCheckpoint callbacks wrote into it; they are listed together "
                "by epoch"
            )
        epochs = [row["epoch"] for row in self._rows]
        if len(set(epochs)) < len(epochs):
            notes.append("some epochs have more than one file; the newest is used for them")
        return notes

    @property
    def safety(self):
        """The :class:`tfexplore.safety.ScanReport` of every file of the run."""
        from ..safety.scan import ScanReport

        return ScanReport.merge([keras_file.safety for keras_file in self], path=self.folder)

    def _file_rows(self) -> list[tuple[Path, str]]:
        return [(row["path"], f"Keras file of epoch {row['epoch']}") for row in self._rows]

    def summary(self) -> dict[str, Any]:
        facts: dict[str, Any] = {
            "kind": self.kind,
            "path": str(self.folder),
            "files": len(self._rows),
            "epochs": [row["epoch"] for row in self._rows],
            "latest": str(self._latest_row["path"]),
            "series": self.series,
            "size": human_bytes(float(sum(row["size"] for row in self._rows))),
        }
        metrics = [row["metric"] for row in self._rows if row["metric"] is not None]
        if metrics:
            facts["metric_in_names"] = [min(metrics), max(metrics)]
        if self.notes:
            facts["notes"] = self.notes
        return facts

    def explain(self) -> Explanation:
        rows = self._rows
        first, last = rows[0], self._latest_row
        parts = [
            f"# Keras training run `{self.folder.name}`",
            "",
            f"It holds {len(rows)} Keras file(s) saved epoch after epoch, as "
            "`keras.callbacks.ModelCheckpoint(filepath=...)` writes them: the file name is a "
            "template filled in at the end of each epoch (`{epoch:02d}`, and often the "
            "monitored metric such as `{val_loss:.4f}`).",
            "",
            f"- epochs {first['epoch']} to {last['epoch']}; the latest is `{last['path'].name}`",
            f"- name template(s): {', '.join(f'`{s}`' for s in self.series)} (`#` for a number)",
        ]
        formats = {row["path"].name[len(_stem(row["path"].name)) :] for row in rows}
        if ".weights.h5" in formats:
            parts.append(
                "- `.weights.h5` files hold the weights only (`save_weights_only=True`): "
                "restoring needs the code that builds the model, then `model.load_weights(path)`"
            )
        if formats & {".keras", ".h5", ".hdf5"}:
            parts.append(
                "- `.keras`/`.h5`/`.hdf5` files hold the whole model (architecture, weights, "
                "and the optimizer's state): `keras.models.load_model(path)` resumes from one"
            )
        parts += [
            "",
            "`run.history()` shows how the weights evolved epoch by epoch, `run.diff(a, b)` "
            "how far they moved between two epochs, `run.open(epoch)` one file.",
        ]
        for note in self.notes:
            parts.append(f"\n**Note:** {note}.")
        return Explanation("\n".join(parts))
