"""Sessions on URLs: exactly the files a session needs, staged into a private temporary folder;
checkpoints saved to a URL.

TensorFlow cannot be handed these URLs. TensorFlow 2.21's wheel has no ``s3://`` file system
(``UnimplementedError: File system scheme 's3' not implemented``). Its ``gs://`` file system
is there but talks only to ``https://www.googleapis.com`` (the endpoint is compiled in; it reads
no ``STORAGE_EMULATOR_HOST``) with Google credentials (``GOOGLE_APPLICATION_CREDENTIALS``,
gcloud's, or a GCE metadata server), and it would read a checkpoint past tfexplore's checks. So
for every URL :func:`stage` works out which files the session will open, copies those and no
others with fsspec into ``tempfile.mkdtemp()`` (each copy's size checked against the store's),
and the session opens the copy with the same code, checks and safety gate as a local path:
nothing from the URL runs before the same scan a local file gets. :class:`Staged`
(``session.staged``) says what was copied, from where, to where; the folder is removed when the
session closes, when it is garbage collected, and at interpreter exit.

Staged, per kind of source:

- a checkpoint folder, prefix or ``.meta``: the checkpoint restored (the folder's latest, or the
  prefix named): ``PREFIX.index``, its data shards, and its ``.meta`` (else the folder's newest);
  no other checkpoint of the folder, no state file;
- a SavedModel: ``saved_model.pb`` (or ``.pbtxt``), ``variables/variables.index`` and its
  shards, and the asset files its meta graphs name (``asset_file_def``); nothing else of
  ``assets/``, no ``assets.extra/``, no ``fingerprint.pb``;
- a ``.keras``/``.h5`` file (a ``ModelCheckpoint`` folder: its latest), a frozen GraphDef: the
  file;
- ``checkpoint=`` a URL: that checkpoint's ``.index`` and data shards.

Errors raised while the copy is opened name the URL, not the temporary folder
(:meth:`Staged.naming_urls`). :meth:`Session.restore(url) <tfexplore.live.Session.restore>`
into an open session stages nothing (the checked reader fetches byte ranges).
:func:`save_to_url` writes a checkpoint locally, then uploads it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from .._files import META_SUFFIXES, human_bytes, is_checkpoint_suffix, meta_file, prefix_of
from .._fs import RemotePath, as_path, is_url, remote_error
from ..errors import (
    ArtifactNotFoundError,
    CheckpointExistsError,
    TFExploreError,
    TooLargeError,
    UnreadableFileError,
)
from .restore import _glob_escape, _resolve_remote_prefix

__all__ = ["Staged", "StagedFile", "stage", "save_to_url", "TEMP_PREFIX"]

#: the name of every staging folder begins with this (in ``tempfile.gettempdir()``)
TEMP_PREFIX = "tfexplore-staged-"
#: bytes fetched per request while copying a file
CHUNK = 16 << 20
#: room left free on the temporary folder's disk after staging
_DISK_MARGIN = 64 << 20
#: files copied at once
_WORKERS = 8


@dataclass(frozen=True)
class StagedFile:
    """One file copied for a session: its ``url``, its local ``path`` and its ``size``."""

    url: str
    path: Path
    size: int


class Staged:
    """What a session opened from a URL copied to this machine (``session.staged``).

    ``url`` (the source as given), ``how`` (``"staged"``: TensorFlow opens a local copy; see
    the module's docstring for why never the URL itself), ``files`` (:class:`StagedFile`
    each), ``bytes``, ``folder`` (the private temporary folder, removed when the session
    closes), ``removed``.

    Example::

        >>> s = tfexplore.session("s3://bucket/run", storage_options=opts)   # doctest: +SKIP
        >>> s.staged                                                          # doctest: +SKIP
        staged 3 files (47.1 KB) from s3://bucket/run
          s3://bucket/run/model.ckpt-30.meta  44.5 KB
          ...
    """

    how = "staged"

    def __init__(self, url: str, folder: Path, storage_options: dict | None = None) -> None:
        self.url = url
        self.folder = folder
        self.storage_options = storage_options
        self.files: list[StagedFile] = []
        self._roots: dict[str, str] = {}  # local folder -> the URL it stands for
        self._prefixes: dict[str, RemotePath] = {}  # a staged prefix's local text -> remote
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(folder), True)

    @property
    def bytes(self) -> int:
        """The bytes copied."""
        return sum(f.size for f in self.files)

    @property
    def removed(self) -> bool:
        """Whether the temporary folder is gone (the session closed)."""
        return not self.folder.exists()

    def describe(self) -> str:
        """``"staged 3 files (47.1 KB) from s3://bucket/run"``."""
        count = len(self.files)
        return (
            f"staged {count} file{'' if count == 1 else 's'} ({human_bytes(self.bytes)}) "
            f"from {self.url}"
        )

    def __repr__(self) -> str:
        lines = [self.describe(), f"  into {self.folder}{' (removed)' if self.removed else ''}"]
        lines += [f"  {f.url}  {human_bytes(f.size)}" for f in self.files]
        return "\n".join(lines)

    def remove(self) -> None:
        """Remove the temporary folder (once; also at interpreter exit)."""
        self._finalizer()

    def holds(self, path: Any) -> bool:
        """Whether ``path`` (a local path or its text) is inside the staging folder."""
        if path is None or isinstance(path, RemotePath):
            return False
        return os.fspath(path).startswith(str(self.folder) + os.sep)

    # -- names: the URL where the user would look ---------------------------------------------
    def url_of(self, text: str) -> str:
        """``text`` with every local path of a staged file or folder replaced by its URL."""
        pairs = [(str(f.path), f.url) for f in self.files] + list(self._roots.items())
        pairs += [(local, remote.url) for local, remote in self._prefixes.items()]
        for local, url in sorted(pairs, key=lambda pair: -len(pair[0])):
            text = text.replace(local, url)
        return text

    def remote_prefix(self, local_prefix: str) -> RemotePath | None:
        """The remote prefix a staged checkpoint prefix (its local text) was copied from."""
        return self._prefixes.get(str(local_prefix))

    @contextlib.contextmanager
    def naming_urls(self) -> Iterator[None]:
        """Errors from inside the block name the URLs of the staged files, not their copies."""
        try:
            yield
        except TFExploreError as exc:
            self.rename_in(exc)
            raise

    def rename_in(self, error: TFExploreError) -> None:
        """Point ``error``'s message, path, expectation and hint at the URLs."""
        error.message = self.url_of(error.message)
        if error.path is not None:
            error.path = self.url_of(error.path)
        if error.expected:
            error.expected = self.url_of(error.expected)
        if error.hint:
            error.hint = self.url_of(error.hint)
        error.args = (error._format(),)
        report = getattr(error, "report", None)
        if report is not None and isinstance(getattr(report, "checkpoint", None), str):
            report.checkpoint = self.url_of(report.checkpoint)

    # -- copying ------------------------------------------------------------------------------
    def fetch(self, pairs: list[tuple[RemotePath, Path]]) -> None:
        """Copy each remote file to its local path (concurrently), checking sizes."""
        if not pairs:
            return
        for _, local in pairs:
            if not _inside(local, self.folder):
                raise AssertionError(f"{local} is outside {self.folder}")
        with ThreadPoolExecutor(min(_WORKERS, len(pairs))) as pool:
            sizes = list(pool.map(lambda pair: _size(pair[0]), pairs))
            total = sum(sizes)
            free = shutil.disk_usage(self.folder).free
            if total + _DISK_MARGIN > free:
                raise TooLargeError(
                    f"Staging {self.url!r} needs {human_bytes(total)} in {str(self.folder)!r}, "
                    f"whose disk has {human_bytes(free)} free.",
                    path=self.url,
                    expected=f"{human_bytes(total + _DISK_MARGIN)} free in the temporary folder",
                    hint="point TMPDIR at a disk with room (tempfile.tempdir), or copy the files "
                    "yourself and open the local copy",
                )
            for (remote, local), size in zip(pairs, sizes):
                self.files.append(StagedFile(remote.url, local, size))
            list(pool.map(lambda job: _copy(*job), [(*p, s) for p, s in zip(pairs, sizes)]))


def _inside(path: Path, folder: Path) -> bool:
    return os.path.normpath(path).startswith(str(folder) + os.sep)


def _size(remote: RemotePath) -> int:
    """The size of the remote file, fresh (not from a cached listing)."""
    with contextlib.suppress(Exception):
        remote.fs.invalidate_cache(remote.fs_path)
    try:
        info = remote.fs.info(remote.fs_path)
    except Exception as exc:  # noqa: BLE001 - any backend's error, translated
        raise remote_error(remote, "file", exc) from exc
    if info.get("type") != "file":
        raise UnreadableFileError(
            f"{remote.url!r} is a folder, not a file.",
            path=remote.url,
            expected="a file",
            hint="check what is at that URL",
        )
    return int(info.get("size") or 0)


def _copy(remote: RemotePath, local: Path, size: int) -> None:
    """Copy ``size`` bytes of ``remote`` to ``local`` (a new file) in ranged requests, then
    check that the copy has them all and that the remote file still has that size."""
    local.parent.mkdir(parents=True, exist_ok=True)
    done = 0
    with open(local, "xb") as out:
        while done < size:
            data = remote.read_range(done, min(CHUNK, size - done), what="file")
            if not data:
                break
            out.write(data)
            done += len(data)
    if done != size or local.stat().st_size != size or _size(remote) != size:
        raise UnreadableFileError(
            f"{remote.url!r} changed while it was copied ({done} of {size} bytes came back).",
            path=remote.url,
            expected="a file that no program is writing",
            hint="wait until the upload has finished, then open it again",
        )


# -- what a session needs -----------------------------------------------------------------------
def stage(source, checkpoint, storage_options: dict | None) -> tuple[Any, Any, Staged]:
    """Copy what a session on ``source`` with ``checkpoint`` needs (whichever of them is a
    URL) into a new temporary folder. Returns the local source, the local checkpoint (``None``
    when the source brings its own) and the :class:`Staged` record; on error the folder is
    already removed."""
    first = source if is_url(source) else checkpoint
    folder = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
    staged = Staged(str(as_path(first, storage_options)), folder, storage_options)
    try:
        local_source, local_checkpoint = source, checkpoint
        if is_url(source):
            remote = as_path(source, storage_options)
            local_source, own = _stage_source(staged, remote, own_checkpoint=checkpoint is None)
            local_checkpoint = own if checkpoint is None else checkpoint
        if is_url(checkpoint):
            remote = _resolve_remote_prefix(as_path(checkpoint, storage_options))
            local_checkpoint = _stage_checkpoint(staged, remote, folder / "checkpoint")
    except BaseException:
        staged.remove()
        raise
    return local_source, local_checkpoint, staged


def _stage_source(
    staged: Staged, root: RemotePath, *, own_checkpoint: bool
) -> tuple[Path, str | None]:
    """Copy what a session on ``root`` opens; its checkpoint too when ``own_checkpoint`` (no
    other was given). Returns the local source and its local checkpoint prefix, if any."""
    from ..artifacts.detect import detect_kind

    with contextlib.suppress(Exception):
        root.fs.invalidate_cache(root.fs_path)  # a run that has grown since it was listed
    kind, target = detect_kind(root)
    local = staged.folder / "source"
    if kind == "keras_run":  # keras.callbacks.ModelCheckpoint's folder: its latest file
        from ..artifacts.kerasrun import KerasRun

        staged._roots[str(local)] = target.url
        target, kind = as_path(KerasRun(target).latest.path), "keras"
    if kind in ("keras", "graph_def"):
        staged._roots.setdefault(str(local), target.parent.url)
        staged.fetch([(target, local / _name(target))])
        return local / _name(target), None
    if kind == "saved_model":
        staged._roots[str(local)] = target.url
        _stage_saved_model(staged, target, local)
        return local, None
    meta, prefix = _meta_and_prefix(kind, target)
    if meta is None:  # as open_graph._find_meta says it of a local prefix
        raise ArtifactNotFoundError(
            f"The checkpoint {prefix.url!r} has no .meta file, so there is no graph to import.",
            path=prefix.url,
            expected=f"{prefix.url}.meta (written by tf.compat.v1.train.Saver.save)",
            hint="rebuild the graph in Python and pass your session: "
            "tfexplore.session(sess, checkpoint)",
        )
    staged._roots[str(local)] = meta.parent.url
    staged.fetch([(meta, local / _name(meta))])
    local_prefix = None
    if prefix is not None and own_checkpoint:
        local_prefix = _stage_checkpoint(staged, prefix, local)
    return local / _name(meta), local_prefix


def _meta_and_prefix(kind: str, target: RemotePath) -> tuple[RemotePath | None, RemotePath | None]:
    """The ``.meta`` and the checkpoint prefix of a session on a checkpoint ``target``, chosen
    as for a local path (``open_graph._find_meta``): a ``.meta`` with its own checkpoint,
    else the folder's latest; a prefix (or a folder's latest) with its ``.meta``, else the
    folder's newest ``.meta``."""
    if kind == "meta_graph":
        owner = prefix_of(target) if target.name.endswith(META_SUFFIXES) else None
        if owner is not None and owner.with_name(owner.name + ".index").is_file():
            return target, owner
        return target, _latest_or_none(target.parent)
    prefix = _resolve_remote_prefix(target)  # a folder: its latest; else the prefix named
    meta = meta_file(prefix)
    if not meta.exists():
        metas = sorted(prefix.parent.glob("*.meta"), key=lambda p: p.stat().st_mtime)
        meta = metas[-1] if metas else None  # none: the local code names what is missing
    return meta, prefix


def _latest_or_none(folder: RemotePath) -> RemotePath | None:
    try:
        return _resolve_remote_prefix(folder)
    except TFExploreError:
        return None


def _stage_checkpoint(staged: Staged, prefix: RemotePath, local: Path) -> str:
    """Copy checkpoint ``prefix``'s ``.index`` (then the data shards it names) into ``local``;
    return the local prefix's text. A V1 checkpoint (one file, no ``.index``) is that file."""
    from ..artifacts.checkpoint.bundle import read_bundle_index

    local_prefix = local / _name(prefix)
    staged._prefixes[str(local_prefix)] = prefix
    index = prefix.with_name(prefix.name + ".index")
    if not index.is_file() and prefix.is_file():
        staged.fetch([(prefix, local_prefix)])
        return str(local_prefix)
    local_index = local / _name(index)
    staged.fetch([(index, local_index)])
    shards = read_bundle_index(local_index).num_shards
    staged.fetch(
        [
            (
                prefix.with_name(f"{prefix.name}.data-{n:05d}-of-{shards:05d}"),
                local / f"{local_prefix.name}.data-{n:05d}-of-{shards:05d}",
            )
            for n in range(shards)
        ]
    )
    return str(local_prefix)


def _stage_saved_model(staged: Staged, folder: RemotePath, local: Path) -> None:
    """``saved_model.pb`` (or ``.pbtxt``), ``variables/`` (its index, then its shards) and the
    asset files the meta graphs name."""
    from .._tf import protos
    from ..artifacts.protofile import read_proto_file
    from ..safety import asset_file_defs

    proto = folder / "saved_model.pb"
    if not proto.is_file():
        proto = folder / "saved_model.pbtxt"
    staged.fetch([(proto, local / proto.name)])
    variables = folder / "variables" / "variables"
    if (folder / "variables" / "variables.index").is_file():
        _stage_checkpoint(staged, variables, local / "variables")
    saved_model = read_proto_file(
        local / proto.name, protos().saved_model_pb2.SavedModel, "SavedModel"
    )[0]
    names = sorted(
        {
            asset.filename
            for meta_graph in saved_model.meta_graphs
            for asset in asset_file_defs(meta_graph)
            if _safe_relative(asset.filename)  # others: the local code refuses them by name
        }
    )
    staged.fetch([(folder / "assets" / name, local / "assets" / name) for name in names])


def _safe_relative(name: str) -> bool:
    """A relative file name that stays inside its folder (no ``..``, no absolute path)."""
    if not name or "\\" in name or "\0" in name:
        return False
    pure = PurePosixPath(name)
    return not pure.is_absolute() and ".." not in pure.parts and "." not in pure.parts


def _name(path: RemotePath) -> str:
    name = path.name
    if name in ("", ".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise UnreadableFileError(
            f"{path.url!r} has a name that cannot be a local file name.",
            path=path.url,
            expected="a file name",
            hint="copy the files yourself and open the local copy",
        )
    return name


# -- saving to a URL ----------------------------------------------------------------------------
def save_to_url(
    write: Callable[[str], None],
    folder,
    name: str,
    *,
    storage_options: dict | None = None,
    overwrite: bool = False,
) -> str:
    """Write a checkpoint with ``write(local_prefix)`` into a temporary folder, then upload it
    to ``folder/name.*``: data shards, ``.meta``, the ``.index`` last (each upload's size
    checked), then the ``checkpoint`` state file in one write. Returns the prefix's URL.

    With ``overwrite=True`` an existing prefix's ``.index`` is deleted first (until the new one
    is up the prefix reads as absent, never as an old index over new data) and its files the
    new checkpoint does not have are deleted after."""
    from . import saving as _saving

    remote = as_path(folder, storage_options)
    if not isinstance(remote, RemotePath):
        raise TypeError(f"not a URL: {folder!r}")
    with contextlib.suppress(Exception):
        remote.fs.invalidate_cache(remote.fs_path)
    prefix = remote / name
    existing = [
        p
        for p in (remote.glob(f"{_glob_escape(name)}.*") if remote.is_dir() else ())
        if is_checkpoint_suffix(p.name[len(name) + 1 :])
    ]
    if existing and not overwrite:
        raise CheckpointExistsError(
            f"A checkpoint {prefix.url!r} already exists "
            f"({', '.join(p.name for p in existing[:3])}).",
            path=prefix.url,
            expected="a prefix that is not taken yet",
            hint="pass overwrite=True, or save into another folder",
        )
    local_folder = Path(tempfile.mkdtemp(prefix="tfexplore-save-"))
    try:
        write(str(local_folder / name))
        new_files = _saving._in_order(
            p for p in local_folder.iterdir() if p.name.startswith(name + ".")
        )
        if existing:
            _delete(prefix.with_name(name + ".index"))
        for file in new_files:
            _upload(file, remote / file.name)
        for old in existing:
            if old.name not in {f.name for f in new_files}:
                _delete(old)
        _write_state(remote, name)
    finally:
        shutil.rmtree(local_folder, ignore_errors=True)
    return prefix.url


def _upload(local: Path, remote: RemotePath) -> None:
    size = local.stat().st_size
    try:
        remote.fs.put_file(str(local), remote.fs_path)
        remote.fs.invalidate_cache(remote.fs_path)
        uploaded = int(remote.fs.info(remote.fs_path).get("size") or 0)
    except Exception as exc:  # noqa: BLE001 - any backend's error, translated
        raise remote_error(remote, "file", exc) from exc
    if uploaded != size:
        raise UnreadableFileError(
            f"The upload of {remote.url!r} holds {uploaded} bytes, not {size}.",
            path=remote.url,
            expected=f"{size} bytes",
            hint="save again; the previous checkpoint is still named in the state file",
        )


def _delete(remote: RemotePath) -> None:
    try:
        remote.fs.rm_file(remote.fs_path)
    except FileNotFoundError:
        pass
    except Exception as exc:  # noqa: BLE001
        raise remote_error(remote, "file", exc) from exc


def _write_state(folder: RemotePath, latest: str) -> None:
    """Name ``latest`` in ``folder/checkpoint`` (one write), keeping the checkpoints it listed
    whose ``.index`` is still in the folder."""
    from google.protobuf import text_format

    from .._tf import protos
    from ..artifacts.checkpoint.state import STATE_FILE

    state_proto = protos().checkpoint_state_pb2.CheckpointState
    state_file = folder / STATE_FILE
    listed: list[str] = []
    with contextlib.suppress(Exception):  # absent or damaged: the save writes a new one
        data = state_file.read_range(0, 16 << 20, what="checkpoint state file")
        listed = list(text_format.Parse(data.decode(), state_proto()).all_model_checkpoint_paths)
    present = {p.name for p in folder.iterdir()}
    kept = [
        p for p in listed if p != latest and f"{PurePosixPath(p.rstrip('/')).name}.index" in present
    ]
    state = state_proto(model_checkpoint_path=latest, all_model_checkpoint_paths=[*kept, latest])
    try:
        folder.fs.pipe_file(state_file.fs_path, text_format.MessageToString(state).encode())
    except Exception as exc:  # noqa: BLE001
        raise remote_error(state_file, "checkpoint state file", exc) from exc


def adopt(opened, staged: Staged) -> None:
    """Make a session opened on the staged copy speak of its URLs: ``source``, ``checkpoint``
    and the last restore's name the URL (the copy is read behind them), errors of the backend
    name the URL, and the session owns the folder (removed when it closes)."""
    opened.staged = staged
    opened.storage_options = staged.storage_options
    opened.source = staged.url_of(opened.source)
    if getattr(opened._backend, "path", None) is not None:
        opened._backend.path = staged.url_of(os.fspath(opened._backend.path))
    local = opened.checkpoint
    if local is not None and staged.holds(local):
        url = staged.url_of(local)
        opened._checkpoint_at[url] = local
        remote = staged.remote_prefix(local)
        if remote is not None:
            opened._checkpoint_url[url] = remote
        opened.checkpoint = url
    report = opened.last_restore
    if report is not None and staged.holds(report.checkpoint):
        report.checkpoint = staged.url_of(report.checkpoint)
        report.staged = staged.describe()
