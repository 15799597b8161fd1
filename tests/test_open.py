"""``tfexplore.open`` and ``detect_kind``: what a path is, and clear errors when it is nothing."""

from __future__ import annotations

import pytest

import tfexplore
from tfexplore import detect_kind


def test_each_file_of_a_checkpoint_names_the_checkpoint(demo_run):
    prefix = demo_run / "model.ckpt-30"
    assert detect_kind(demo_run) == ("checkpoint_dir", demo_run)
    assert detect_kind(demo_run / "checkpoint") == ("checkpoint_dir", demo_run)
    assert detect_kind(prefix) == ("checkpoint", prefix)
    assert detect_kind(demo_run / "model.ckpt-30.index") == ("checkpoint", prefix)
    assert detect_kind(demo_run / "model.ckpt-30.data-00000-of-00001") == ("checkpoint", prefix)
    assert detect_kind(demo_run / "model.ckpt-30.meta") == (
        "meta_graph",
        demo_run / "model.ckpt-30.meta",
    )


@pytest.mark.parametrize(
    "relative, kind",
    [
        ("", "checkpoint_dir"),
        ("model.ckpt-20", "checkpoint"),
        ("model.ckpt-20.index", "checkpoint"),
        ("model.ckpt-20.data-00000-of-00001", "checkpoint"),
        ("model.ckpt-20.meta", "meta_graph"),
    ],
)
def test_open_returns_the_kind(demo_run, relative, kind):
    artifact = tfexplore.open(demo_run / relative if relative else demo_run)
    assert artifact.kind == kind
    assert isinstance(artifact, tfexplore.Artifact)
    assert kind in repr(artifact)
    assert "<table>" in artifact._repr_html_()
    assert len(artifact.explain()) > 200


def test_missing_path_names_it_and_lists_what_is_there(demo_run):
    with pytest.raises(tfexplore.ArtifactNotFoundError) as info:
        tfexplore.open(demo_run / "model.ckpt-40")
    message = str(info.value)
    assert "model.ckpt-40" in message
    assert "model.ckpt-30.index" in message  # what exists beside it
    assert info.value.expected and info.value.hint


def test_missing_folder(tmp_path):
    with pytest.raises(tfexplore.ArtifactNotFoundError, match="does not exist either"):
        tfexplore.open(tmp_path / "nowhere" / "model.ckpt")


def test_empty_folder(tmp_path):
    with pytest.raises(tfexplore.ArtifactNotFoundError, match="is empty") as info:
        tfexplore.open(tmp_path)
    assert str(tmp_path) in str(info.value)


def test_folder_without_checkpoint_says_what_it_holds(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "model.keras").write_bytes(b"")
    with pytest.raises(tfexplore.UnrecognizedArtifactError) as info:
        tfexplore.open(tmp_path)
    message = str(info.value)
    assert "notes.txt" in message and "model.keras" in message  # open one of these instead


def test_unknown_file(tmp_path):
    path = tmp_path / "weights.bin"
    path.write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(tfexplore.UnrecognizedArtifactError, match="weights.bin"):
        tfexplore.open(path)


def test_errors_are_one_hierarchy():
    for cls in (
        tfexplore.ArtifactNotFoundError,
        tfexplore.UnrecognizedArtifactError,
        tfexplore.CorruptArtifactError,
        tfexplore.IncompleteCheckpointError,
        tfexplore.TensorNotFoundError,
        tfexplore.UnsafeArtifactError,
    ):
        assert issubclass(cls, tfexplore.TFExploreError)
    error = tfexplore.TensorNotFoundError(
        "No tensor 'lyer1/W:0'.", path="m.meta", suggestions=["layer1/W:0"]
    )
    assert "did you mean 'layer1/W:0'?" in str(error)
    assert "file: m.meta" in str(error)


def test_errors_survive_pickling():
    import pickle

    error = tfexplore.CorruptArtifactError(
        "bad", path="x.index", expected="an index", hint="re-copy"
    )
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.path, copy.expected, copy.hint, str(copy)) == (
        "x.index",
        "an index",
        "re-copy",
        str(error),
    )
