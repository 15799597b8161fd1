"""The one owner of a checkpoint's file names (``_files``) and of its state file (``state``)."""

from __future__ import annotations

import pytest

from tfexplore._files import (
    DATA_SHARD,
    checkpoint_files,
    is_checkpoint_suffix,
    prefix_of,
    shard_file,
)
from tfexplore.artifacts.checkpoint.state import StateFileError, listed_paths, read_state
from tfexplore.errors import GitLfsPointerError


def test_shard_names_are_printf_05d_so_five_digits_or_more(tmp_path):
    assert shard_file(tmp_path / "m.ckpt", 0, 2).name == "m.ckpt.data-00000-of-00002"
    big = shard_file(tmp_path / "m.ckpt", 123456, 200000)
    assert big.name == "m.ckpt.data-123456-of-200000"
    assert DATA_SHARD.match(big.name)["prefix"] == "m.ckpt"
    assert prefix_of(big) == tmp_path / "m.ckpt"
    assert not DATA_SHARD.match("m.ckpt.data-0-of-1")  # TensorFlow never writes this
    assert [is_checkpoint_suffix(s) for s in ("index", "meta", "data-00000-of-00001")] == [True] * 3
    assert not is_checkpoint_suffix("data-00000-of-00001.tmp")


def test_the_files_of_a_prefix(tmp_path):
    names = ["m-1.index", "m-1.data-00000-of-00001", "m-1.meta", "m-10.index", "m-1.txt"]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    found = [p.name for p in checkpoint_files(tmp_path, "m-1")]
    assert found == ["m-1.data-00000-of-00001", "m-1.index", "m-1.meta"]
    assert checkpoint_files(tmp_path / "absent", "m-1") == []


def test_the_state_file_reader(tmp_path):
    state_file = tmp_path / "checkpoint"
    state_file.write_text('model_checkpoint_path: "m-2"\nall_model_checkpoint_paths: "m-1"\n')
    assert listed_paths(read_state(state_file)) == ("m-2", ["m-1", "m-2"])
    state_file.write_text("not a state file {")
    with pytest.raises(StateFileError):
        read_state(state_file)
    state_file.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 3\n")
    with pytest.raises(GitLfsPointerError):
        read_state(state_file)
