"""Writing a checkpoint so that no moment of the write can lose the previous one.

``Session.save`` writes the new files under a temporary name (a hidden folder beside the
checkpoints), then calls :func:`publish`:

1. When the prefix already exists (``overwrite=True``), its files are first hard-linked (copied
   where the file system has no hard links) into a hidden *backup* folder, and the ``checkpoint``
   state file is pointed at the backup if it named the prefix. From then on the state file names
   a complete checkpoint whatever happens to the prefix's own files.
2. The new files are renamed over the prefix: data shards, then ``.meta``, ``.index`` last.
   Files of the old checkpoint that the new one does not have (a shard count that changed) are
   removed.
3. The state file is rewritten to name the new prefix (through a temporary file and
   ``os.replace``), and the backup is removed.

A save killed between steps leaves hidden leftovers. The next save in that folder
(:func:`recover`) removes leftovers of dead processes, and first moves a backup that the state
file still names back to its prefix, so the folder reads as it did before the killed save.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path

from ._tf import protos

TEMP_PREFIX = ".tfexplore-save-"
BACKUP_TAG = "backup-"
_LEFTOVER = re.compile(re.escape(TEMP_PREFIX) + r"(?:state-|" + BACKUP_TAG + r")?(\d+)-")


def temporary_folder(folder: Path) -> Path:
    """A new hidden folder in ``folder`` for a save in progress (named with our pid)."""
    path = folder / f"{TEMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    return path


def files_of(prefix: Path) -> list[Path]:
    """The files of checkpoint ``prefix`` (``prefix.index``, ``prefix.data-*``, ``prefix.meta``)."""
    parent = prefix.parent
    if not parent.is_dir():
        return []
    start = prefix.name + "."
    return sorted(
        p
        for p in parent.iterdir()
        if p.name.startswith(start) and _is_checkpoint_suffix(p.name[len(start) :])
    )


def _is_checkpoint_suffix(suffix: str) -> bool:
    return suffix in ("index", "meta") or re.fullmatch(r"data-\d+-of-\d+", suffix) is not None


def publish(temporary: Path, prefix: Path) -> None:
    """Move the checkpoint written as ``temporary/NAME.*`` to ``prefix.*`` and name it in
    ``prefix.parent/checkpoint``, keeping a complete checkpoint named there at every moment."""
    folder = prefix.parent
    backup = _back_up(folder, prefix) if files_of(prefix) else None
    new_files = _in_order(p for p in temporary.iterdir() if p.name.startswith(prefix.name + "."))
    if backup is not None:
        kept = {p.name for p in new_files}
        for old in files_of(prefix):
            if old.name not in kept:  # the new checkpoint has fewer shards or no .meta
                old.unlink(missing_ok=True)
    for file in new_files:
        os.replace(file, folder / file.name)
    write_state(folder, prefix.name)
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)


def _in_order(files) -> list[Path]:
    """Data shards first, then ``.meta``, ``.index`` last: a checkpoint counts as present once
    its index is."""
    return sorted(files, key=lambda p: (p.name.endswith(".index"), p.name.endswith(".meta"), p.name))


def _back_up(folder: Path, prefix: Path) -> Path:
    """Link (or copy) ``prefix``'s files into a hidden backup folder; if the state file names
    ``prefix``, name the backup there instead. Returns the backup folder."""
    backup = folder / f"{TEMP_PREFIX}{BACKUP_TAG}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    backup.mkdir()
    for file in files_of(prefix):
        try:
            os.link(file, backup / file.name)
        except OSError:  # no hard links here (some network and FUSE file systems)
            shutil.copy2(file, backup / file.name)
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
    return protos().checkpoint_state_pb2.CheckpointState(
        model_checkpoint_path=swap(state.model_checkpoint_path),
        all_model_checkpoint_paths=[swap(p) for p in state.all_model_checkpoint_paths],
    )


def read_state(folder: Path):
    """The parsed ``folder/checkpoint`` state file, or ``None`` if absent or unreadable."""
    from google.protobuf import text_format

    from ._files import read_bytes

    state_file = folder / "checkpoint"
    if not state_file.is_file():
        return None
    state = protos().checkpoint_state_pb2.CheckpointState()
    try:  # a regular file of at most 16 MB (not a FIFO, not a link to /dev/zero)
        text = read_bytes(state_file, what="checkpoint state", limit=16 << 20).decode("utf-8")
        text_format.Parse(text, state)
    except Exception:  # noqa: BLE001 - a damaged state file is rewritten by the next save
        return None
    return state


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
    new_state = protos().checkpoint_state_pb2.CheckpointState(
        model_checkpoint_path=latest, all_model_checkpoint_paths=[*kept, latest]
    )
    _write(folder, new_state)


def _write(folder: Path, state) -> None:
    """Replace ``folder/checkpoint`` with ``state`` in one ``os.replace``."""
    from google.protobuf import text_format

    temporary = folder / f"{TEMP_PREFIX}state-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    temporary.write_text(text_format.MessageToString(state))
    os.replace(temporary, folder / "checkpoint")


def recover(folder: Path) -> None:
    """Undo what saves killed in ``folder`` left behind (only leftovers of dead processes).

    A backup that the state file still names goes back to its prefix first (its files replace
    whatever the killed save had renamed into place), then the state file names the prefix
    again. Other leftovers are removed.
    """
    state = read_state(folder)
    for leftover in sorted(folder.glob(TEMP_PREFIX + "*")):
        match = _LEFTOVER.match(leftover.name)
        if not match or int(match.group(1)) == os.getpid() or _process_alive(int(match.group(1))):
            continue
        if leftover.is_dir() and leftover.name.startswith(TEMP_PREFIX + BACKUP_TAG):
            named = state is not None and any(
                p.startswith(leftover.name + "/")
                for p in [state.model_checkpoint_path, *state.all_model_checkpoint_paths]
            )
            if named:
                _restore_backup(folder, leftover, state)
                state = read_state(folder)
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)


def _restore_backup(folder: Path, backup: Path, state) -> None:
    saved = _in_order(backup.iterdir())
    if not saved:
        return
    name = _prefix_name(saved)
    keep = {p.name for p in saved}
    for old in files_of(folder / name):
        if old.name not in keep:
            old.unlink(missing_ok=True)
    for file in saved:
        os.replace(file, folder / file.name)
    moved = f"{backup.name}/{name}"
    _write(folder, _renamed(state, lambda p: p == moved, name))


def _prefix_name(files: list[Path]) -> str:
    """The checkpoint prefix shared by ``files`` (``model.ckpt-30`` for ``model.ckpt-30.index``)."""
    index = next((p for p in files if p.name.endswith(".index")), files[0])
    return re.sub(r"\.(index|meta|data-\d+-of-\d+)$", "", index.name)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

