"""Writing a checkpoint so that no moment of the write can lose the previous one.

``Session.save`` writes the new files under a temporary name (a hidden folder beside the
checkpoints), then calls :func:`publish`:

1. When the prefix already exists (``overwrite=True``), its files are first hard-linked (copied
   where the file system has no hard links) into a hidden *backup* folder. The backup holds a
   *marker* file that tfexplore writes itself (:data:`MARKER`: the prefix, the status of the
   save, and the folder's own device, inode and owner), so a backup is recoverable whether or
   not a ``checkpoint`` state file exists or lists the prefix. Once the backup is complete
   (status ``ready``) the state file, if it named the prefix, is pointed at the backup.
2. The old ``.index`` is removed first, so the prefix is never an old index over new data
   (without an index a checkpoint is simply absent; the backup holds it). Then the new files
   are renamed over the prefix: data shards, then ``.meta``, ``.index`` last. Files of the old
   checkpoint that the new one does not have (a shard count that changed) are removed.
3. The marker says ``published``, the state file is rewritten to name the new prefix (through
   a temporary file and ``os.replace``), and the backup is removed.

A save killed between steps leaves hidden leftovers. The next save in that folder
(:func:`recover`) acts only on leftovers of dead processes that are real folders (``lstat``:
never a symlink) holding a marker that matches them: a backup of status ``ready`` goes back
to its prefix (its ``.index`` last; the backup is removed only once every file is back), one
of status ``published`` or ``linking`` is just removed (the new checkpoint is complete, or the
old one was never touched). Anything without a valid marker is left alone.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import uuid
from pathlib import Path

from .._files import checkpoint_files, is_checkpoint_suffix
from .._wire import CheckpointState
from ..artifacts.checkpoint.state import STATE_FILE
from ..artifacts.checkpoint.state import read_state as parse_state_file

TEMP_PREFIX = ".tfexplore-save-"
BACKUP_TAG = "backup-"
_LEFTOVER = re.compile(re.escape(TEMP_PREFIX) + r"(?:state-|" + BACKUP_TAG + r")?(\d+)-")
#: The file tfexplore writes into each folder it makes for a save (JSON: ``kind``, ``prefix``,
#: ``status``, and the folder's ``device``, ``inode`` and ``uid``).
MARKER = ".tfexplore-marker.json"


def temporary_folder(folder: Path) -> Path:
    """A new hidden folder in ``folder`` for a save in progress (named with our pid)."""
    path = folder / f"{TEMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    _mark(path, kind="temporary", prefix="", status="writing")
    return path


def _mark(path: Path, *, kind: str, prefix: str, status: str, files: list[str] = ()) -> None:
    """Write (atomically) the marker of a folder this process made."""
    info = os.lstat(path)
    record = {
        "kind": kind,
        "prefix": prefix,
        "status": status,
        "files": list(files),
        "device": info.st_dev,
        "inode": info.st_ino,
        "uid": info.st_uid,
        # when this process started: a later process given the same pid is not its owner
        "started": _process_start(os.getpid()),
    }
    temporary = path / f"{MARKER}.{uuid.uuid4().hex[:8]}"
    temporary.write_text(json.dumps(record))
    os.replace(temporary, path / MARKER)


def _marker(path: Path) -> dict | None:
    """The marker of ``path`` if ``path`` is a real folder (not a symlink) that this user's
    tfexplore made: the marker is a regular file and names this very folder (device and
    inode, which a folder copied or unpacked from elsewhere does not keep) and owner."""
    try:
        info = os.lstat(path)
        if not stat.S_ISDIR(info.st_mode):
            return None
        marker = path / MARKER
        marker_info = os.lstat(marker)
        if not stat.S_ISREG(marker_info.st_mode) or marker_info.st_size > 4096:
            return None
        record = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict):
        return None
    prefix = record.get("prefix")
    if (
        record.get("device") != info.st_dev
        or record.get("inode") != info.st_ino
        or record.get("uid") != info.st_uid
        or info.st_uid != getattr(os, "getuid", lambda: info.st_uid)()
        or not isinstance(prefix, str)
        or "/" in prefix
        or "\\" in prefix
        or prefix in (".", "..")
    ):
        return None
    return record


def files_of(prefix: Path) -> list[Path]:
    """The files of checkpoint ``prefix`` (``prefix.index``, ``prefix.data-*``, ``prefix.meta``)."""
    return checkpoint_files(prefix.parent, prefix.name)


def publish(temporary: Path, prefix: Path, *, name_in_state: bool = True) -> None:
    """Move the checkpoint written as ``temporary/NAME.*`` to ``prefix.*`` and name it in
    ``prefix.parent/checkpoint``, keeping a complete checkpoint named there at every moment
    (``name_in_state=False``: the state file is left as it is)."""
    folder = prefix.parent
    backup = _back_up(folder, prefix) if files_of(prefix) else None
    new_files = _in_order(p for p in temporary.iterdir() if p.name.startswith(prefix.name + "."))
    if backup is not None:
        # the old index goes first: from here until the new index is in place the prefix has
        # none (it reads as absent, never as old index over new data); the backup holds it
        Path(f"{prefix}.index").unlink(missing_ok=True)
        kept = {p.name for p in new_files}
        for old in files_of(prefix):
            if old.name not in kept:  # the new checkpoint has fewer shards or no .meta
                old.unlink(missing_ok=True)
    for file in new_files:
        os.replace(file, folder / file.name)
    if backup is not None:
        _mark(backup, kind="backup", prefix=prefix.name, status="published")
    if name_in_state:
        write_state(folder, prefix.name)
    if backup is not None:
        discard(backup)


def _in_order(files) -> list[Path]:
    """Data shards first, then ``.meta``, ``.index`` last: a checkpoint counts as present once
    its index is."""
    return sorted(
        files, key=lambda p: (p.name.endswith(".index"), p.name.endswith(".meta"), p.name)
    )


def _back_up(folder: Path, prefix: Path) -> Path:
    """Link (or copy) ``prefix``'s files into a hidden backup folder; if the state file names
    ``prefix``, name the backup there instead. Returns the backup folder."""
    backup = folder / f"{TEMP_PREFIX}{BACKUP_TAG}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    backup.mkdir()
    _mark(backup, kind="backup", prefix=prefix.name, status="linking")
    for file in files_of(prefix):
        try:
            os.link(file, backup / file.name)
        except OSError:  # no hard links here (some network and FUSE file systems)
            shutil.copy2(file, backup / file.name)
    _mark(
        backup,
        kind="backup",
        prefix=prefix.name,
        status="ready",  # complete from here
        files=[p.name for p in backup.iterdir() if p.name != MARKER],
    )
    state = read_state(folder)
    if state is not None and prefix.name in _names(state):
        moved = f"{backup.name}/{prefix.name}"
        _write(folder, _renamed(state, lambda p: Path(p).name == prefix.name, moved))
    return backup


def _names(state) -> list[str]:
    return [Path(p).name for p in [state.model_checkpoint_path, *state.all_model_checkpoint_paths]]


def _renamed(state, matches, new: str):
    """``state`` with every listed path for which ``matches(path)`` replaced by ``new``."""
    swap = lambda p: new if matches(p) else p  # noqa: E731
    return CheckpointState(
        model_checkpoint_path=swap(state.model_checkpoint_path),
        all_model_checkpoint_paths=[swap(p) for p in state.all_model_checkpoint_paths],
    )


def read_state(folder: Path):
    """The parsed ``folder/checkpoint`` state file, or ``None`` if absent or unreadable."""
    state_file = folder / STATE_FILE
    if not state_file.is_file():
        return None
    try:
        return parse_state_file(state_file)
    except Exception:  # noqa: BLE001 - a damaged state file is rewritten by the next save
        return None


def write_state(folder: Path, latest: str) -> None:
    """Name ``latest`` in ``folder/checkpoint``, keeping the other listed checkpoints that still
    exist (backups of interrupted saves are dropped: their prefix is complete again)."""
    state = read_state(folder)
    listed = list(state.all_model_checkpoint_paths) if state is not None else []
    kept = [
        p
        for p in listed
        if p != latest
        and not p.startswith(TEMP_PREFIX)
        and Path(folder, p).with_name(Path(p).name + ".index").exists()
    ]
    new_state = CheckpointState(
        model_checkpoint_path=latest, all_model_checkpoint_paths=[*kept, latest]
    )
    _write(folder, new_state)


def _write(folder: Path, state) -> None:
    """Replace ``folder/checkpoint`` with ``state`` in one ``os.replace``."""
    from google.protobuf import text_format

    temporary = folder / f"{TEMP_PREFIX}state-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    temporary.write_text(text_format.MessageToString(state))
    os.replace(temporary, folder / STATE_FILE)


def recover(folder: Path) -> None:
    """Undo what saves killed in ``folder`` left behind (only leftovers of dead processes, and
    only real folders carrying a valid marker, see :func:`_marker`, or our own temporary
    state files).

    A backup of status ``ready`` goes back to its prefix (its files replace whatever the
    killed save had renamed into place, the ``.index`` last) and the state file names the
    prefix again; the backup is removed only after that. Other leftovers are removed.
    """
    for leftover in sorted(folder.glob(TEMP_PREFIX + "*")):
        match = _LEFTOVER.match(leftover.name)
        if not match or int(match.group(1)) == os.getpid():
            continue
        pid = int(match.group(1))
        if _process_alive(pid) and not _pid_reused(leftover, pid):
            continue
        try:
            info = os.lstat(leftover)
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode) and leftover.name.startswith(TEMP_PREFIX + "state-"):
            leftover.unlink(missing_ok=True)  # a state file that was never put in place
            continue
        record = _marker(leftover)
        if record is None:  # not a folder we can prove we made: never touched, unless it
            _remove_if_empty(leftover)  # is a real folder with nothing in it but a marker
            continue  # being written (a save killed right after its mkdir)
        if record.get("kind") == "backup" and record.get("status") == "ready":
            _restore_backup(folder, leftover, record["prefix"], record.get("files") or [])
        elif record.get("kind") == "backup" and record.get("status") == "published":
            _forget_backup(folder, leftover, record["prefix"])
        _remove_marked(leftover)


def discard(path: Path) -> None:
    """Remove a folder this process made (a backup, a temporary), its marker last, so that a
    removal killed half way is still recognised and finished by the next :func:`recover`
    (``shutil.rmtree`` may take the marker first and leave the files unclaimed forever)."""
    if (path / MARKER).is_file():
        _remove_marked(path)
    else:
        shutil.rmtree(path, ignore_errors=True)


def _remove_marked(path: Path) -> None:
    """Remove a folder this process proved it made, its marker last: a removal killed half
    way leaves the marker, so the next recovery still recognises (and finishes) it."""
    for entry in path.iterdir():
        if entry.name == MARKER:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
    (path / MARKER).unlink(missing_ok=True)
    try:
        path.rmdir()
    except OSError:
        shutil.rmtree(path, ignore_errors=True)


def _remove_if_empty(path: Path) -> None:
    """Remove ``path`` if it is a real folder (never a symlink) holding nothing but marker
    files half written (regular files named ``MARKER.*``)."""
    try:
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            return
        entries = list(path.iterdir())
        if any(
            not e.name.startswith(MARKER + ".") or not stat.S_ISREG(os.lstat(e).st_mode)
            for e in entries
        ):
            return
        for entry in entries:
            entry.unlink()
        os.rmdir(path)
    except OSError:
        pass


def _restore_backup(folder: Path, backup: Path, name: str, files: list[str]) -> None:
    """Put the files of ``backup`` (a complete copy of checkpoint ``name``, whose files the
    marker lists) back in place. Restartable: killed half way, the next recovery finishes it
    (files already back are no longer in the backup and are kept; the marker goes with the
    backup folder, last)."""
    saved = [
        p for p in backup.iterdir()
        if p.name != MARKER and p.name.startswith(name + ".")
        and is_checkpoint_suffix(p.name[len(name) + 1 :]) and stat.S_ISREG(os.lstat(p).st_mode)
    ]  # fmt: skip
    saved = _in_order(saved)
    if any(p.name.endswith(".index") for p in saved):
        # the index still in the backup: the prefix may hold new data: no index until the
        # old files are all back, then the old index last
        Path(folder, f"{name}.index").unlink(missing_ok=True)
        keep = set(files) | {p.name for p in saved}
        for current in files_of(folder / name):
            if current.name not in keep:  # a shard of the killed save that the old lacks
                current.unlink(missing_ok=True)
    for file in saved:
        os.replace(file, folder / file.name)
    state = read_state(folder)
    if state is not None:
        _write(folder, _renamed(state, lambda p: p.startswith(backup.name + "/"), name))


def _forget_backup(folder: Path, backup: Path, name: str) -> None:
    """The save had put its new checkpoint in place: name it in the state file (instead of
    the backup) before the backup goes."""
    state = read_state(folder)
    if state is not None:
        _write(folder, _renamed(state, lambda p: p.startswith(backup.name + "/"), name))


def _process_start(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot, ``/proc/PID/stat`` field 22), or
    ``None`` where ``/proc`` does not say."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            text = file.read().decode("ascii", "replace")
        return int(text[text.rindex(")") + 2 :].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _pid_reused(leftover: Path, pid: int) -> bool:
    """The live process ``pid`` is not the one that made ``leftover`` (its marker says when
    its maker started, and ``pid`` started at another time): pids come round again (32,768
    of them on many Linux machines), so a dead save's leftovers are not kept forever."""
    record = _marker(leftover)
    started = record.get("started") if record is not None else None
    if not isinstance(started, int):
        return False
    now = _process_start(pid)
    return now is not None and now != started


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
