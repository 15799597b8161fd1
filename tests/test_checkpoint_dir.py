"""CheckpointDir: the state file, orphans, missing and relocated checkpoints, history."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures.common import fingerprint

import tfexplore
from tfexplore.artifacts.checkpoint import Checkpoint, CheckpointDir
from tfexplore.errors import ArtifactNotFoundError, TensorNotFoundError


def tf_read(prefix, name):
    import tensorflow as tf

    return tf.train.load_checkpoint(str(prefix)).get_tensor(name)


def test_demo_run(demo_run):
    run = tfexplore.open(demo_run)
    assert isinstance(run, CheckpointDir)
    table = run.checkpoints
    assert list(table["step"]) == [10, 20, 30]
    assert list(table["is_latest"]) == [False, False, True]
    assert table["listed"].all() and not table["missing"].any() and table["has_meta"].all()
    expected_size = sum(p.stat().st_size for p in demo_run.glob("model.ckpt-10.*"))
    assert table["size"].iloc[0] == expected_size
    assert table["modified"].is_monotonic_increasing
    assert run.notes == []
    assert len(run) == 3
    assert [c.step for c in run] == [10, 20, 30]
    assert run.latest.prefix == demo_run / "model.ckpt-30"
    assert run.open(20).prefix.name == "model.ckpt-20"
    assert run.open("model.ckpt-10").step == 10
    with pytest.raises(TensorNotFoundError):
        run.open(99)
    assert run.summary()["steps"] == [10, 20, 30]
    assert "state file" in run.explain()
    assert run.files["exists"].all()


def test_history_equals_numpy(demo_run):
    run = CheckpointDir(demo_run)
    history = run.history()
    assert len(history) == 3 * 4
    assert list(history.columns[:3]) == ["step", "prefix", "name"]
    row = history[(history["step"] == 20) & (history["name"] == "layer2/W")].iloc[0]
    array = tf_read(demo_run / "model.ckpt-20", "layer2/W").astype(np.float64)
    assert row["l2"] == pytest.approx(np.linalg.norm(array))
    assert row["mean"] == pytest.approx(array.mean())
    steps = run.history(["global_step"])
    assert list(steps["max"]) == [10, 20, 30]


def test_deleted_checkpoints_are_missing(demo_run, copy_of):
    folder = copy_of(demo_run)
    state = folder / "checkpoint"
    state.write_text(state.read_text().replace(str(demo_run), str(folder)))
    for path in folder.glob("model.ckpt-10.*"):
        path.unlink()
    for path in folder.glob("model.ckpt-30.*"):
        path.unlink()
    run = CheckpointDir(folder)
    table = run.checkpoints.set_index("step")
    assert bool(table.at[10, "missing"]) and bool(table.at[30, "missing"])
    assert not table.at[20, "missing"]
    assert len(run) == 1
    assert run.latest.step == 20
    assert any("model.ckpt-30" in note and "missing" in note for note in run.notes)


def test_state_file_naming_another_folder(demo_run, copy_of):
    folder = copy_of(demo_run)
    for path in folder.glob("model.ckpt-10.*"):
        path.unlink()
    run = CheckpointDir(folder)
    table = run.checkpoints.set_index("step")
    assert table.at[10, "prefix"] == str(demo_run / "model.ckpt-10")
    assert bool(table.at[30, "relocated"]) and table.at[30, "prefix"] == str(
        folder / "model.ckpt-30"
    )
    assert any("outside this folder" in note and "model.ckpt-10" in note for note in run.notes)


def test_relocated_state_file(demo_run, copy_of):
    folder = copy_of(demo_run)
    (folder / "checkpoint").write_text(
        'model_checkpoint_path: "/home/someone/runs/mnist/model.ckpt-30"\n'
        'all_model_checkpoint_paths: "/home/someone/runs/mnist/model.ckpt-20"\n'
        'all_model_checkpoint_paths: "/home/someone/runs/mnist/model.ckpt-30"\n'
    )
    run = CheckpointDir(folder)
    table = run.checkpoints.set_index("step")
    assert bool(table.at[20, "relocated"]) and bool(table.at[30, "relocated"])
    assert not table.at[10, "listed"]
    assert run.latest.prefix == folder / "model.ckpt-30"
    assert any("/home/someone/runs/mnist/model.ckpt-30" in note for note in run.notes)
    assert any("model.ckpt-10" in note and "not listed" in note for note in run.notes)


@pytest.mark.parametrize("junk", [b"this is not a proto {{{", b"\x00\xff\x13garbage\x80"])
def test_junk_state_file(demo_run, copy_of, junk):
    folder = copy_of(demo_run)
    (folder / "checkpoint").write_bytes(junk)
    run = CheckpointDir(folder)
    assert list(run.checkpoints["step"]) == [10, 20, 30]
    assert not run.checkpoints["listed"].any()
    assert run.latest.step == 30
    assert any("checkpoint" in note and "state file" in note for note in run.notes)


def test_empty_folder_has_no_latest(tmp_path):
    (tmp_path / "checkpoint").write_text('model_checkpoint_path: "gone"\n')
    run = CheckpointDir(tmp_path)
    assert len(run) == 0
    with pytest.raises(ArtifactNotFoundError) as info:
        run.latest  # noqa: B018
    assert str(tmp_path) in str(info.value)


def test_tf2_manager_run(tf2_manager_run):
    run = CheckpointDir(tf2_manager_run)
    table = run.checkpoints
    assert [p.rsplit("/", 1)[-1] for p in table["prefix"]] == ["ckpt-2", "ckpt-3"]
    assert list(table["step"]) == [20, 30]
    assert not table["has_meta"].any()
    history = run.history(["net/w"])
    assert list(history["mean"]) == pytest.approx([31.0, 61.0])


@pytest.mark.corpus
def test_corpus_orphan_prefix(corpus):
    run = CheckpointDir(corpus / "udacity_chap3_two_ckpts")
    table = run.checkpoints.set_index(run.checkpoints["prefix"].str.rsplit("/", n=1).str[-1])
    assert not table.at["model.ckpt", "listed"]
    assert table.at["train_model.ckpt", "listed"] and table.at["train_model.ckpt", "is_latest"]
    assert any("model.ckpt" in note and "not listed" in note for note in run.notes)
    assert len(run) == 2


@pytest.mark.corpus
def test_corpus_folder_without_state_file(corpus):
    run = tfexplore.open(corpus / "ppo_ckpt10000_nostate")
    assert run.kind == "checkpoint_dir"
    assert len(run) == 1
    latest = run.latest
    assert latest.prefix.name == "model.ckpt-10000"
    assert run.open(10000).prefix == latest.prefix  # by the prefix's number
    assert "no `checkpoint` state file" in run.explain()


@pytest.mark.corpus
def test_corpus_v1_folder(corpus):
    run = CheckpointDir(corpus / "trafficsigns_v1ckpt")
    assert len(run) == 1
    assert run.latest.format == "v1"
    assert run.checkpoints["listed"].all()


def test_history_writes_nothing(demo_run):
    before = fingerprint(demo_run)
    run = CheckpointDir(demo_run)
    run.checkpoints  # noqa: B018
    run.history()
    run.explain()
    assert fingerprint(demo_run) == before
    assert isinstance(run.latest, Checkpoint)


def _saver_folder(folder, steps):
    """A folder as a ``tf.compat.v1`` Saver leaves it: ``model.ckpt-STEP`` prefixes and a state
    file naming them by absolute path."""
    from tfexplore.edit.bundle_writer import write_bundle

    folder.mkdir()
    for step in steps:
        write_bundle(folder / f"model.ckpt-{step}", [("w", np.full((2, 3), step + 1.0, "f4"))])
    absolute = folder.resolve()
    (folder / "checkpoint").write_text(
        f'model_checkpoint_path: "{absolute}/model.ckpt-{steps[-1]}"\n'
        + "".join(f'all_model_checkpoint_paths: "{absolute}/model.ckpt-{s}"\n' for s in steps)
    )
    return folder


def test_a_folder_opened_by_a_relative_path_lists_each_checkpoint_once(tmp_path, monkeypatch):
    """The state file names the prefixes by absolute path, the folder is listed by the path
    it was opened by: one file reached by two spellings (relative, absolute, through a link)
    is one checkpoint."""
    _saver_folder(tmp_path / "run", [0, 10, 20])
    _saver_folder(tmp_path / "one", [5])
    (tmp_path / "link").symlink_to(tmp_path / "run")
    monkeypatch.chdir(tmp_path)
    for spelling in ("run", "./run", "link", str(tmp_path / "run"), str(tmp_path / "link")):
        run = tfexplore.open(spelling)
        table = run.checkpoints
        assert list(table["step"]) == [0, 10, 20], spelling
        assert list(table["is_latest"]) == [False, False, True] and table["listed"].all()
        assert len(run) == 3 and [c.step for c in run] == [0, 10, 20]
        assert run.latest.step == 20 and run.notes == []
        assert run.summary()["checkpoints"] == 3
        assert run.dynamics().steps == [0, 10, 20]
    one = tfexplore.open("one")
    assert len(one) == 1 and list(one.checkpoints["step"]) == [5] and one.latest.step == 5
    # one prefix listed twice, relatively and absolutely, is listed once too
    (tmp_path / "run" / "checkpoint").write_text(
        'model_checkpoint_path: "model.ckpt-20"\n'
        'all_model_checkpoint_paths: "model.ckpt-10"\n'
        f'all_model_checkpoint_paths: "{tmp_path}/run/model.ckpt-10"\n'
        f'all_model_checkpoint_paths: "{tmp_path}/run/model.ckpt-20"\n'
    )
    run = CheckpointDir("run")
    assert list(run.checkpoints["step"]) == [0, 10, 20] and run.latest.step == 20
    assert list(run.checkpoints["listed"]) == [False, True, True]
