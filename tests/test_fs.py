"""``tfexplore._fs``: what is a URL, ``RemotePath`` as a path, errors that name the URL, and
byte counting; on fsspec's in-memory file system (no server needed)."""

from __future__ import annotations

import pickle
import uuid

import fsspec
import numpy as np
import pandas as pd
import pytest

import tfexplore
from tfexplore._files import read_bytes, read_range, read_ranges
from tfexplore._fs import RemotePath, as_path, is_url, remote_error


@pytest.mark.parametrize(
    ("value", "url"),
    [
        ("s3://bucket/run", True),
        ("gs://bucket/model.ckpt-10", True),
        ("memory://x", True),
        ("file:///tmp/run", False),
        ("C:\\runs\\model.ckpt", False),
        ("C:/runs/model.ckpt", False),
        ("runs/mnist", False),
        ("/abs/path", False),
    ],
)
def test_what_is_a_url(value, url):
    assert is_url(value) is url
    # gs:// without credentials: gcsfs would probe for a metadata server for ~15 s first
    options = {"token": "anon"} if value.startswith("gs://") else None
    assert isinstance(as_path(value, options), RemotePath) is url


def test_file_urls_are_local_paths(tmp_path):
    assert as_path(f"file://{tmp_path}") == tmp_path


@pytest.fixture
def memory_folder(tmp_path):
    """A small demo run copied into fsspec's in-memory file system."""
    import tfexplore.demo

    local = tfexplore.demo.make_training_run(tmp_path / "run")
    root = f"memory://tfx-{uuid.uuid4().hex[:8]}/run"
    fs = fsspec.filesystem("memory")
    fs.put(str(local), root.replace("memory://", "/"), recursive=True)
    yield local, root
    fs.rm(root.replace("memory://", "/").rsplit("/", 1)[0], recursive=True)


def test_remote_path_parts(memory_folder):
    local, root = memory_folder
    folder = RemotePath(root)
    assert str(folder) == root and folder.name == "run"
    index = folder / "model.ckpt-10.index"
    assert index.name == "model.ckpt-10.index" and index.suffix == ".index"
    assert index.stem == "model.ckpt-10"
    assert index.parent == folder and index.with_suffix(".meta").name == "model.ckpt-10.meta"
    assert index.is_file() and folder.is_dir() and not (folder / "nope").exists()
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in local.iterdir())
    assert index.stat().st_size == (local / "model.ckpt-10.index").stat().st_size
    assert pickle.loads(pickle.dumps(index)) == index
    assert {index, folder / "model.ckpt-10.index"} == {index}


def test_reads_are_counted(memory_folder):
    local, root = memory_folder
    index = RemotePath(root) / "model.ckpt-10.index"
    data = (local / "model.ckpt-10.index").read_bytes()
    with tfexplore.count_fetches() as fetched:
        assert read_bytes(index, what="index") == data
        assert read_range(index, 3, 10, what="index") == data[3:13]
        assert read_ranges([(index, 0, 4), (index, 10, 5)]) == [data[:4], data[10:15]]
    assert fetched.bytes == len(data) + 10 + 4 + 5
    assert fetched.requests == 4
    assert fetched.by_file == {str(index): len(data) + 19}
    assert "bytes in 4 request(s)" in repr(fetched)
    with index.open() as handle:  # a seekable reader fetching blocks on demand
        handle.seek(-8, 2)
        assert handle.read(8) == data[-8:]


def test_checkpoint_from_memory_equals_local(memory_folder):
    local, root = memory_folder
    remote = tfexplore.open(root)
    assert remote.kind == "checkpoint_dir"
    pd.testing.assert_frame_equal(remote.latest.variables, tfexplore.open(local).latest.variables)
    assert np.array_equal(
        remote.latest.read("layer2/W"), tfexplore.open(local).latest.read("layer2/W")
    )


def test_missing_file_names_the_url(memory_folder):
    _, root = memory_folder
    with pytest.raises(tfexplore.ArtifactNotFoundError) as caught:
        tfexplore.open(f"{root}/model.ckpt-99")
    assert f"{root}/model.ckpt-99" in str(caught.value)


def test_unknown_protocol_and_missing_backend_are_clear():
    with pytest.raises(tfexplore.UnreadableFileError, match="foo://") as caught:
        tfexplore.open("foo://bucket/run")
    assert "fsspec" in caught.value.hint or "fsspec" in str(caught.value)


def test_backend_errors_become_tfexplore_errors():
    path = RemotePath("memory://bucket/run/model.ckpt-1.index")
    denied = remote_error(path, "checkpoint index", PermissionError("Access Denied"))
    assert isinstance(denied, tfexplore.UnreadableFileError)
    assert "access denied" in denied.message and str(path) in denied.message
    assert "storage_options" in denied.hint
    bucket = remote_error(
        path, "checkpoint index", FileNotFoundError("The specified bucket does not exist")
    )
    assert isinstance(bucket, tfexplore.ArtifactNotFoundError)
    assert "bucket 'bucket'" in bucket.message
    missing = remote_error(path, "checkpoint index", FileNotFoundError("no such key"))
    assert "does not exist" in missing.message and str(path) in missing.message
    other = remote_error(path, "checkpoint index", ConnectionError("refused"))
    assert isinstance(other, tfexplore.UnreadableFileError)
    assert "endpoint" in other.hint
