"""Symbolic links that lead out of an artifact never hand a session another file (attacker
round after the allowlist): a SavedModel whose ``assets/`` is a link to ``/etc`` would feed
``/etc/passwd`` to its table initializer; one whose ``variables/`` links to another export
would restore that export's weights."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

import tfexplore
from tfexplore.errors import UnsafeArtifactError

v1 = tf.compat.v1


def _export(path, value: float, vocabulary=None) -> None:
    graph = tf.Graph()
    with graph.as_default():
        w = v1.Variable(np.float32(value), name="W")
        main_op = None
        if vocabulary is not None:
            asset = tf.constant(str(vocabulary), name="asset_path")
            v1.add_to_collection(v1.GraphKeys.ASSET_FILEPATHS, asset)
            init = tf.lookup.TextFileInitializer(
                asset, tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER,
                tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
            )  # fmt: skip
            table = tf.lookup.StaticHashTable(init, default_value="")
            tf.identity(table.lookup(tf.range(0, 5, dtype=tf.int64)), name="lines")
            main_op = v1.tables_initializer()
        with v1.Session(graph=graph) as sess:
            sess.run(w.initializer)
            builder = v1.saved_model.Builder(str(path))
            builder.add_meta_graph_and_variables(
                sess, ["serve"], main_op=main_op,
                assets_collection=v1.get_collection(v1.GraphKeys.ASSET_FILEPATHS),
            )  # fmt: skip
            builder.save()


def test_assets_folder_linked_out_of_the_saved_model_is_refused(tmp_path):
    vocabulary = tmp_path / "words.txt"
    vocabulary.write_text("alpha\nbeta\n")
    secret = tmp_path / "elsewhere"
    secret.mkdir()
    (secret / "words.txt").write_text("SECRET\n")
    model = tmp_path / "export"
    _export(model, 1.0, vocabulary)
    assert tfexplore.session(model).eval("lines")[0] == b"alpha"  # the normal case opens
    shutil.rmtree(model / "assets")
    os.symlink(secret, model / "assets")
    with pytest.raises(UnsafeArtifactError, match="leads out of the SavedModel"):
        tfexplore.session(model)


def test_variables_folder_linked_to_another_export_is_refused(tmp_path):
    private, model = tmp_path / "private", tmp_path / "export"
    _export(private, 4242.0)
    _export(model, 0.0)
    shutil.rmtree(model / "variables")
    os.symlink(private / "variables", model / "variables")
    with pytest.raises(UnsafeArtifactError, match="leads out of the SavedModel"):
        tfexplore.session(model)
    assert tfexplore.session(model, trust=True).eval("W") == 4242.0  # links you made yourself
