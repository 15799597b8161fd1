"""A folder of checkpoints (:class:`CheckpointDir`): its state file, the checkpoints present,
listed, missing or relocated, their graphs, and a variable's history across them. (A little
over 600 lines, one module: one class, whose listing, graphs and history share the scan of the
folder; the history's work runs in ``engine.py``.)
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Any

import numpy as np

from ..._files import (
    META_SUFFIXES,
    checkpoint_files,
    is_lfs_pointer,
    meta_file,
    prefix_file,
    prefix_of,
    prefix_parts,
    prefix_text,
)
from ..._fs import RemotePath, as_path, is_url
from ...errors import (
    ArtifactNotFoundError,
    CorruptArtifactError,
    GitLfsPointerError,
    TensorNotFoundError,
    TFExploreError,
    suggest,
)
from ..base import Artifact, Explanation, human_bytes
from .columns import _count
from .explain import _explain_dir
from .files import _is_v1_file
from .prefix import Checkpoint, _step_from_name
from .state import STATE_FILE, StateFileError, listed_paths, read_state

if TYPE_CHECKING:
    import pandas as pd

    from .dynamics import Dynamics, Thresholds

__all__ = ["CheckpointDir"]

CHECKPOINT_COLUMNS = [
    "prefix",
    "step",
    "modified",
    "size",
    "has_meta",
    "has_data",
    "is_latest",
    "listed",
    "missing",
    "relocated",
]
GRAPH_COLUMNS = ["path", "prefix", "step", "has_checkpoint", "has_data", "size"]


class CheckpointDir(Artifact):
    """A folder of checkpoints, as written by ``Saver.save`` or ``tf.train.CheckpointManager``.

    The ``checkpoint`` state file names the latest prefix and the ones kept; checkpoints that
    are present but not listed (orphans), listed but gone (missing), or listed with a path from
    another machine (relocated) are all shown, and explained in ``notes``.

    Example::

        >>> run = CheckpointDir("runs/mnist")                        # doctest: +SKIP
        >>> run.checkpoints                                          # doctest: +SKIP
        >>> run.latest.step, len(run)                                # doctest: +SKIP
        (30, 3)
        >>> run.history(["layer1/W"])                                # doctest: +SKIP
    """

    kind = "checkpoint_dir"

    def __init__(self, folder: str | os.PathLike) -> None:
        folder = as_path(folder)
        if folder.is_file() and folder.name == STATE_FILE:
            folder = folder.parent
        super().__init__(folder)
        self.folder = folder
        if not folder.is_dir():
            raise ArtifactNotFoundError(
                f"No folder at {str(folder)!r}.",
                path=folder,
                expected="a folder of checkpoints (a `checkpoint` file, PREFIX.index files)",
                hint="to open one checkpoint, pass its prefix to tfexplore.open",
            )

    @property
    def state_path(self) -> Path:
        return self.folder / STATE_FILE

    @functools.cached_property
    def _state(self) -> tuple[str | None, list[str], list[str]]:
        """(latest path, all listed paths, notes) from the state file, as written."""
        if not self.state_path.is_file():
            if os.path.lexists(self.state_path) and not self.state_path.is_dir():
                note = (  # a FIFO, a device or a dangling or looping link: never opened
                    f"the state file {str(self.state_path)!r} is not a regular file and was "
                    "not read; the checkpoints below come from the files present"
                )
                return None, [], [note]
            return None, [], []
        try:
            state = read_state(self.state_path)
        except GitLfsPointerError:
            note = (
                f"the state file {str(self.state_path)!r} is a Git LFS pointer (run `git lfs "
                "pull`); the checkpoints below come from the files present"
            )
            return None, [], [note]
        except (StateFileError, CorruptArtifactError) as exc:
            note = (
                f"the state file {str(self.state_path)!r} is not a CheckpointState text proto "
                f"({exc}); the checkpoints below come from the files present"
            )
            return None, [], [note]
        return (*listed_paths(state), [])

    @functools.cached_property
    def _scan(self) -> tuple[list[dict[str, Any]], list[str]]:
        """Rows of ``checkpoints`` (with a ``_path`` column) and notes."""
        latest_raw, listed_raw, notes = self._state
        notes = list(notes)
        present = _prefixes_in(self.folder)
        # keyed by where the files are (``_same_file``): a prefix the state file names by its
        # absolute path and the one found in a folder opened by a relative path are one
        rows: dict[Any, dict[str, Any]] = {}
        latest_key = None
        for raw in listed_raw:
            path, relocated, exists = self._locate(raw)
            key = _same_file(path)
            if key in rows:  # listed twice, under two spellings
                if raw == latest_raw:
                    latest_key = key
                continue
            if relocated:
                notes.append(
                    f"the state file names {raw!r}, outside this folder (the run was moved "
                    f"or copied); the checkpoint beside the state file is used: {str(path)!r}"
                )
            if not exists:
                graph_only = _is_file(meta_file(path))
                notes.append(
                    f"the state file lists {raw!r} but its files are missing"
                    if not graph_only
                    else f"the state file lists {raw!r}: its graph (.meta) is here but its tensors "
                    "(.index, .data-*) are missing"
                )
            elif not relocated and not _same_folder(prefix_parts(path)[0], self.folder):
                notes.append(
                    f"the state file lists {raw!r}, outside this folder; it is used "
                    "from there (as tf.train.latest_checkpoint would)"
                )
            rows[key] = _checkpoint_row(path, exists, listed=True, relocated=relocated)
            if raw == latest_raw:
                latest_key = key
        for path in present:
            key = _same_file(path)
            if key not in rows:
                rows[key] = _checkpoint_row(path, True, listed=False, relocated=False)
                if listed_raw:
                    notes.append(f"{path.name!r} is present but not listed in the state file")
        latest_path = rows[latest_key]["_path"] if latest_key is not None else None
        if latest_key is None or not rows[latest_key]["_exists"]:
            newest = _newest(row for row in rows.values() if row["_exists"])
            if latest_key is not None:
                notes.append(
                    f"the latest checkpoint named by the state file ({latest_raw!r}) is "
                    "missing; "
                    + (
                        "the newest one present is used as latest"
                        if newest is not None
                        else "no other checkpoint is present"
                    )
                )
            latest_path = newest
        if latest_path is not None:
            rows[_same_file(latest_path)]["is_latest"] = True
        ordered = sorted(rows.values(), key=_row_order)
        return ordered, notes

    def _locate(self, raw: str) -> tuple[Path, bool, bool]:
        """Where a path from the state file is: (path, relocated, exists).

        A relative path is relative to the folder. An absolute path elsewhere (the run was
        copied from another folder or machine) is *relocated* when a checkpoint of that name
        sits beside the state file; those files win over the original location.
        A path written on Windows (``D:\\runs\\model.ckpt``, ``C:/runs/model.ckpt``, a UNC
        ``\\\\server\\share\\...``) is read with Windows rules, and a path ending in a slash is
        the empty prefix of that folder (``saver.save(sess, "run/")`` writes ``run/.index``).
        """
        if isinstance(self.folder, RemotePath) or is_url(raw):
            return self._locate_elsewhere(raw)
        given = Path(raw)
        empty = raw.endswith(("/", "\\"))
        if _is_windows_path(raw) and not _prefix_exists(self.folder / raw):
            windows = PureWindowsPath(raw)
            if not windows.is_absolute():
                candidate = self.folder.joinpath(*windows.parts) if windows.parts else self.folder
                return candidate, False, _prefix_exists(candidate)
            beside = self.folder if empty else self.folder / windows.name
            if _prefix_exists(beside):
                return beside, True, True
            return given, False, False
        if not given.is_absolute():
            candidate = self.folder / given
            return candidate, False, _prefix_exists(candidate)
        if _same_folder(given if empty else given.parent, self.folder):
            path = self.folder if empty else self.folder / given.name  # spelt as the folder
            return path, False, _prefix_exists(path)
        beside = self.folder if empty else self.folder / given.name
        if _prefix_exists(beside):
            return beside, True, True
        return given, False, _prefix_exists(given)

    def _locate_elsewhere(self, raw: str) -> tuple[Path | RemotePath, bool, bool]:
        """:meth:`_locate` for a folder on object storage, or a state file that names a URL
        (TensorFlow writes ``gs://...`` paths when it saves there). A relative path is in the
        folder; a URL to this folder is used as it is; any other absolute path (the training
        machine's own disk) is looked for beside the state file only, never on this machine."""
        empty = raw.endswith(("/", "\\"))
        folder = self.folder
        if is_url(raw):
            name = raw.rstrip("/").rpartition("/")[2]
            if isinstance(folder, RemotePath) and raw.split("://")[0] == folder.url.split("://")[0]:
                given = as_path(raw, folder.storage_options)
                if (given if empty else given.parent) == folder:
                    return given, False, _prefix_exists(given)
        else:
            pure = PureWindowsPath(raw) if _is_windows_path(raw) else PurePosixPath(raw)
            if not pure.is_absolute():
                candidate = folder.joinpath(*pure.parts) if pure.parts else folder
                return candidate, False, _prefix_exists(candidate)
            name = pure.name
        beside = folder if empty else folder / name
        if _prefix_exists(beside):
            return beside, True, True
        return beside, False, False

    @functools.cached_property
    def checkpoints(self) -> pd.DataFrame:
        """The checkpoints of the folder, oldest first: ``prefix``, ``step``, ``modified``,
        ``size`` (bytes of all its files), ``has_meta``, ``is_latest``, ``listed`` (in the
        state file), ``missing`` (listed but absent), ``relocated`` (listed with a path from
        another machine and found beside the state file)."""
        import pandas as pd

        rows = [{k: v for k, v in row.items() if not k.startswith("_")} for row in self._scan[0]]
        table = pd.DataFrame(rows, columns=CHECKPOINT_COLUMNS)
        table["step"] = table["step"].astype("Int64")
        return table

    @property
    def notes(self) -> list[str]:
        """What is odd about the folder: orphans, missing or relocated checkpoints, graphs
        without tensors, missing data files, a bad state file."""
        notes = list(self._scan[1])
        pointers = self._lfs_pointers
        if pointers:
            notes.append(
                f"{len(pointers)} file(s) are Git LFS pointers, not the files themselves ("
                + ", ".join(pointers[:6])
                + (" ..." if len(pointers) > 6 else "")
                + "): the repository was cloned without git-lfs; run `git lfs pull` in it"
            )
        present = self._present()
        for row in present:
            if not row["has_data"] and not pointers:
                notes.append(
                    f"the data file(s) of {Path(row['prefix']).name or row['prefix']!r} are "
                    "missing: names, shapes and dtypes come from its index, values cannot be read"
                )
        if not present:
            graphs = self.graphs
            if len(graphs):
                notes.append(
                    f"no tensors: the folder holds {len(graphs)} graph(s) (.meta) but no "
                    "checkpoint data (PREFIX.index, .data-*); the graphs can be explored "
                    "(.meta_graph, GraphView), values cannot be read"
                )
            elif not self._scan[0]:
                notes.append("no checkpoint (PREFIX.index or V1 file) found in the folder")
            else:
                notes.append("none of the checkpoints the state file lists is present")
        return notes

    @functools.cached_property
    def _lfs_pointers(self) -> list[str]:
        """Names of the folder's files that are Git LFS pointers (small files only are read)."""
        return [p.name for p in sorted(self.folder.iterdir()) if is_lfs_pointer(p)]

    @functools.cached_property
    def graphs(self) -> pd.DataFrame:
        """The ``.meta`` graphs in the folder, oldest first: ``path``, ``prefix``, ``step``,
        ``has_checkpoint`` (its ``.index`` or V1 file is here), ``has_data`` (its data files
        too), ``size``. A folder may hold graphs whose tensors were never copied."""
        import pandas as pd

        rows = []
        for entry in sorted(self.folder.iterdir()):
            if not entry.name.endswith(META_SUFFIXES) or not _is_file(entry):
                continue
            prefix = prefix_of(entry)
            has_checkpoint = _prefix_exists(prefix)
            rows.append(
                {
                    "path": str(entry),
                    "prefix": prefix_text(prefix),
                    "step": _step_from_name(prefix_parts(prefix)[1]),
                    "has_checkpoint": has_checkpoint,
                    "has_data": has_checkpoint and _has_data(prefix),
                    "size": entry.stat().st_size,
                    "_modified": entry.stat().st_mtime,
                }
            )
        rows.sort(key=lambda row: (row["step"] is None, row["step"] or 0, row["_modified"]))
        table = pd.DataFrame(rows, columns=GRAPH_COLUMNS)
        table["step"] = table["step"].astype("Int64")
        return table

    @property
    def meta_graph(self):
        """The graph of the folder: the latest checkpoint's ``.meta``, else the newest ``.meta``
        present (a folder of graphs without tensors); ``None`` when there is none."""
        from ..metagraph import MetaGraph

        if self._present():
            meta_graph = self.latest.meta_graph
            if meta_graph is not None:
                return meta_graph
        graphs = self.graphs
        if not len(graphs):
            return None
        return MetaGraph.from_file(graphs["path"].iloc[-1])

    @property
    def safety(self):
        """The :class:`tfexplore.safety.ScanReport` of every ``.meta`` graph in the folder."""
        from ...safety.scan import ScanReport

        return ScanReport.merge([c.safety for c in self], path=self.folder)

    def _present(self) -> list[dict[str, Any]]:
        return [row for row in self._scan[0] if row["_exists"]]

    def __len__(self) -> int:
        return len(self._present())

    def __iter__(self) -> Iterator[Checkpoint]:
        for row in self._present():
            yield Checkpoint(row["_path"])

    @property
    def latest(self) -> Checkpoint:
        """The latest checkpoint (named by the state file, else the newest present).

        When the state file names one that is there, only the state file is read (a remote
        run of many checkpoints costs one small fetch, not one per checkpoint)."""
        if "_scan" not in self.__dict__:
            latest_raw = self._state[0]
            if latest_raw is not None:
                path, _, exists = self._locate(latest_raw)
                if exists:
                    return Checkpoint(path)
        for row in self._scan[0]:
            if row["is_latest"]:
                return Checkpoint(row["_path"])
        graphs = self.graphs
        raise ArtifactNotFoundError(
            f"The folder {str(self.folder)!r} holds no checkpoint"
            + (f", only {len(graphs)} graph(s) without tensors (.meta)." if len(graphs) else "."),
            path=self.folder,
            expected="PREFIX.index files (or V1 checkpoint files) in the folder",
            hint=(
                f"explore the graph: tfexplore.open({graphs['path'].iloc[-1]!r}) or "
                "GraphView(folder); a session of it starts from initialized variables"
                if len(graphs)
                else "; ".join(self.notes) or "check the folder"
            ),
        )

    def open(self, step_or_prefix: int | str | os.PathLike) -> Checkpoint:
        """The checkpoint of a given step (``run.open(20)``) or prefix (``"model.ckpt-20"``)."""
        rows = self._present()
        if isinstance(step_or_prefix, (int, np.integer)):
            wanted_step = int(step_or_prefix)
            found = [row for row in rows if row["step"] == wanted_step]
            found = found or [
                row for row in rows if _step_from_name(row["_path"].name) == wanted_step
            ]
            choices = [str(row["step"]) for row in rows]
        else:
            wanted = Path(os.fspath(step_or_prefix))
            found = [row for row in rows if row["_path"] in (wanted, self.folder / wanted)]
            found = found or [row for row in rows if row["_path"].name == wanted.name]
            choices = [row["_path"].name for row in rows]
        if not found:
            raise TensorNotFoundError(
                f"No checkpoint {step_or_prefix!r} in {str(self.folder)!r}.",
                suggestions=suggest(str(step_or_prefix), choices),
                path=self.folder,
                expected="a step or prefix from .checkpoints",
            )
        return Checkpoint(found[-1]["_path"])

    def history(
        self,
        names: Iterable[str] | None = None,
        progress: bool | None = None,
        *,
        engine: Any = None,
    ) -> pd.DataFrame:
        """Statistics of tensors across every checkpoint, oldest first: one row per (checkpoint,
        tensor) with ``step``, ``prefix``, ``name`` and the stats columns. ``names`` defaults to
        the model variables of the latest checkpoint; names a checkpoint lacks are skipped.

        ``engine``: ``None`` (or ``"serial"``) computes here, one tensor at a time; ``"dask"``
        (the current ``distributed`` client) or a ``distributed.Client`` computes each
        (checkpoint, tensor) on a worker of the cluster, which reads its bytes itself: the same
        table. Needs ``pip install 'tfexplore[dask]'``.

        Example::

            >>> run.history(["layer1/W"]).plot(x="step", y="l2")   # doctest: +SKIP
            >>> from distributed import Client                      # doctest: +SKIP
            >>> client = Client("tcp://scheduler:8786")             # doctest: +SKIP
            >>> run.history(engine=client)                          # doctest: +SKIP
        """
        from ...stats import stats_frame, stream_stats
        from .engine import cluster_stats, resolve_engine

        client = resolve_engine(engine)
        if names is None:
            table = self.latest.variables
            names = list(table.loc[table["role"] == "variable", "name"])
        elif isinstance(names, str):
            names = [names]
        names = list(names)
        work = []
        for row in self._present():
            checkpoint = Checkpoint(row["_path"])
            table = checkpoint.variables.set_index("name")
            for name in names:
                try:
                    key = checkpoint.resolve(name)
                except TensorNotFoundError:
                    continue
                nbytes = _count(table.at[key, "nbytes"])
                work.append((checkpoint, row["step"], key, nbytes))
        rows = [
            {"step": step, "prefix": prefix_text(checkpoint.prefix), "name": key}
            for checkpoint, step, key, _ in work
        ]
        if client is not None:
            found = cluster_stats(
                [(checkpoint, key, nbytes) for checkpoint, _, key, nbytes in work],
                client,
                progress=progress,
                description="history",
            )
            result = stats_frame([{**row, **stats} for row, stats in zip(rows, found)])
        else:
            items = (
                (row, reader, nbytes)
                for row, (_, _, _, nbytes), reader in zip(rows, work, _readers(work))
            )
            total = sum(item[3] for item in work)
            result = stream_stats(
                items, total_bytes=total, progress=progress, description="history"
            )
        if "step" in result:
            result["step"] = result["step"].astype("Int64")
        return result

    def dynamics(
        self,
        names: Iterable[str] | None = None,
        *,
        progress: bool | Callable[[int, int], Any] | None = None,
        thresholds: Thresholds | dict[str, Any] | None = None,
        engine: Any = None,
    ) -> Dynamics:
        """How the model variables moved from checkpoint to checkpoint, and what looks wrong:
        per-layer update ratios ``||w_t - w_{t-1}|| / ||w_{t-1}||``, norms, and flags (a layer
        that stopped moving, NaN or Inf appearing, dead units, a norm that explodes). See
        :class:`~tfexplore.artifacts.checkpoint.dynamics.Dynamics`.

        ``names`` defaults to the model variables of the latest checkpoint (no optimizer
        slots). Streamed: no tensor is held more than twice (this checkpoint's and the
        previous one's). ``progress``: a bar (``True``; ``None`` shows one for large runs), or
        a callable ``progress(done_bytes, total_bytes)``. ``thresholds``: a
        :class:`~tfexplore.artifacts.checkpoint.dynamics.Thresholds` or a dict of its fields
        (``{"growth": 5.0}``). ``engine``: as for :meth:`history` (``"dask"`` or a
        ``distributed.Client``: each tensor and the one before it compared on a worker of the
        cluster, which reads them itself; the same tables).

        Example::

            >>> dynamics = run.dynamics()                         # doctest: +SKIP
            >>> dynamics.flags                                    # doctest: +SKIP
            >>> dynamics.update_ratios                            # layers x steps  # doctest: +SKIP
            >>> dynamics.heatmap()                                # doctest: +SKIP
        """
        from .dynamics import compute_dynamics
        from .engine import resolve_engine
        from .prefix import PREFETCH_BYTES

        client = resolve_engine(engine)
        present = self._present()
        return compute_dynamics(
            self.folder,
            [Checkpoint(row["_path"]) for row in present],
            [row["step"] for row in present],
            names,
            progress=progress,
            thresholds=thresholds,
            # on object storage, neighbouring tensors are fetched together, in rounds
            group_bytes=PREFETCH_BYTES if isinstance(self.folder, RemotePath) else 0,
            client=client,
        )

    def rewrite(self, rules: Any = None, **options: Any):
        """Plan a rewrite of the latest checkpoint of this folder (:attr:`latest`), as
        ``tfexplore.rewrite(folder)`` does: the same arguments as ``Checkpoint.rewrite``
        (``to``, ``rename``, ``prefix``, ``scope``, ``regex``, ``drop``, ``drop_optimizer``,
        ``storage_options``). Nothing is written until ``plan.write(path)``; for another
        checkpoint of the folder, ``run.open(step).rewrite(...)``.

        Example::

            >>> run = tfexplore.open("runs/old")                            # doctest: +SKIP
            >>> plan = run.rewrite(prefix={"layer1/": "encoder/"}, drop="Adam")  # doctest: +SKIP
            >>> plan.report                                                 # doctest: +SKIP
            >>> plan.write("runs/new/model.ckpt")                           # doctest: +SKIP
        """
        return self.latest.rewrite(rules, **options)

    def _file_rows(self) -> list[tuple[Path, str]]:
        rows = []
        if self.state_path.exists():
            rows.append((self.state_path, "state file (latest and kept checkpoints)"))
        for checkpoint in self:
            rows += checkpoint._file_rows()
        listed = {file for file, _ in rows}
        for path in self.graphs["path"]:
            if as_path(path) not in listed:
                rows.append((as_path(path), "meta graph (the TF1 graph; its tensors are missing)"))
        return rows

    def summary(self) -> dict[str, Any]:
        table = self.checkpoints
        present = table[~table["missing"]]
        facts: dict[str, Any] = {
            "kind": self.kind,
            "path": str(self.folder),
            "checkpoints": len(present),
            "steps": [int(s) for s in present["step"].dropna()],
            "latest": next(
                (row["prefix"] for _, row in table.iterrows() if row["is_latest"]), None
            ),
            "state_file": self.state_path.is_file(),
            "size": human_bytes(float(present["size"].sum())),
        }
        graphs = self.graphs
        orphans = graphs[~graphs["has_checkpoint"]]
        if len(orphans):
            facts["graphs_without_tensors"] = [Path(p).name for p in orphans["path"]]
        notes = self.notes
        if notes:
            facts["notes"] = notes
        return facts

    def explain(self) -> Explanation:
        """What the folder holds and how TensorFlow picks a checkpoint from it, in Markdown."""
        return Explanation(_explain_dir(self))


# -- helpers: folders ---------------------------------------------------------------------------
def _prefixes_in(folder: Path) -> list[Path]:
    found = []
    for entry in sorted(folder.iterdir()):
        name = entry.name
        if name.endswith(".index") and entry.is_file():
            found.append(prefix_of(entry))  # ".index": the empty prefix, the folder itself
        elif (
            name != STATE_FILE
            and "." in name
            and not name.endswith((".meta", ".pb", ".pbtxt", ".config", ".json", ".txt"))
            and ".data-" not in name
            and _is_v1_file(entry)
        ):
            found.append(entry)
    return found


def _readers(work: list[tuple[Checkpoint, Any, str, int]]) -> Iterator:
    """The readers of ``work``'s (checkpoint, step, key, bytes) in order, each checkpoint's run
    of keys read by its :meth:`Checkpoint._readers` (remote tensors fetched ahead in rounds)."""
    start = 0
    while start < len(work):
        checkpoint = work[start][0]
        end = start
        while end < len(work) and work[end][0] is checkpoint:
            end += 1
        yield from checkpoint._readers([key for _, _, key, _ in work[start:end]])
        start = end


def _is_windows_path(raw: str) -> bool:
    """A path a Windows machine wrote: a drive (``D:``), a UNC share, or backslashes."""
    return "\\" in raw or bool(re.match(r"^[A-Za-z]:[\\/]", raw))


def _same_folder(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except (OSError, ValueError):  # a state file may name anything, NUL bytes included
        return False


def _same_file(prefix: Path) -> Any:
    """What identifies a prefix's files, however it is spelt: its resolved path locally (a
    relative, absolute or linked spelling of one folder are one), the path itself on object
    storage (URLs have one spelling)."""
    if isinstance(prefix, RemotePath):
        return prefix
    try:
        return Path(os.path.realpath(prefix))
    except (OSError, ValueError):  # a state file may name anything, NUL bytes included
        return prefix


def _prefix_exists(prefix: Path) -> bool:
    return _is_file(prefix_file(prefix, ".index")) or _is_v1_file(prefix)


def _is_file(path: Path) -> bool:
    """``path.is_file()``, false for a name the OS refuses (too long, ...) as the state file
    may hold any text."""
    try:
        return path.is_file()
    except (OSError, TFExploreError):
        return False


def _has_data(prefix: Path) -> bool:
    """Whether every data file a checkpoint's index names is present (a V1 file is its own)."""
    if not _is_file(prefix_file(prefix, ".index")):
        return _is_v1_file(prefix)
    try:
        return all(path.exists() for path in Checkpoint(prefix).data_files)
    except TFExploreError:
        return False


def _prefix_files(prefix: Path) -> list[Path]:
    """The files of ``prefix`` (a V1 checkpoint is its own file)."""
    files = checkpoint_files(*prefix_parts(prefix))
    return [prefix, *files] if _is_file(prefix) else files


def _checkpoint_row(path: Path, exists: bool, *, listed: bool, relocated: bool) -> dict[str, Any]:
    import pandas as pd

    files = _prefix_files(path) if exists else []
    index = prefix_file(path, ".index")
    main = index if _is_file(index) else path
    step = _step_from_name(prefix_parts(path)[1])
    has_data = False
    if exists:
        try:
            checkpoint = Checkpoint(path)
            step = checkpoint.step
            present = {p.name for p in files}
            has_data = checkpoint.format == "v1" or all(
                shard.name in present for shard in checkpoint.data_files
            )
        except TFExploreError:
            pass
    return {
        "prefix": prefix_text(path) if exists else str(path),
        "step": step,
        "modified": pd.Timestamp(main.stat().st_mtime, unit="s") if exists else pd.NaT,
        "size": sum(p.stat().st_size for p in files if p.is_file()),
        "has_meta": _is_file(meta_file(path)),
        "has_data": has_data,
        "is_latest": False,
        "listed": listed,
        "missing": not exists,
        "relocated": relocated,
        "_path": path,
        "_exists": exists,
    }


def _newest(rows: Iterable[dict[str, Any]]) -> Path | None:
    rows = list(rows)
    if not rows:
        return None
    return max(
        rows, key=lambda row: (row["step"] if row["step"] is not None else -1, row["modified"])
    )["_path"]


def _row_order(row: dict[str, Any]):
    step = row["step"]
    return (step is None, step if step is not None else 0, str(row["prefix"]))
