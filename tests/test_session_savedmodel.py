"""``tfexplore.session`` on SavedModel folders: the TF1 builder's (imported like a ``.meta``,
restored from ``variables/variables``, its init op run with the asset files fed) and TF2's
(``tf.saved_model.load`` after a scan of the whole file). Fixtures are made by real TensorFlow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

import tfexplore  # noqa: E402
from tfexplore import TFExploreError, UnsafeArtifactError  # noqa: E402

v1 = tf.compat.v1
X = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]], "float32")


def _reference_tf1(folder: Path, fetch: str, feed: dict):
    """What TensorFlow's own loader gives (in a graph of its own)."""
    graph = tf.Graph()
    with v1.Session(graph=graph) as sess:
        v1.saved_model.loader.load(sess, ["serve"], str(folder))
        return sess.run(fetch, feed)


# -- TF1 builder ------------------------------------------------------------------------------
def test_tf1_saved_model_restores_and_evaluates(tf1_saved_model, tmp_path):
    with tfexplore.session(tf1_saved_model) as s:
        assert s.kind == "tf1 graph"
        report = s.last_restore
        assert report.applied and report.ok
        assert set(report.frame["graph_name"]) == {"dense/W", "dense/b"}
        assert s.checkpoint.endswith("variables/variables")
        y = s.eval("y:0", feed={"x": X})
        np.testing.assert_allclose(y, _reference_tf1(tf1_saved_model, "y:0", {"x:0": X}), rtol=1e-6)
        assert "serve" in s.source
        prefix = s.save(tmp_path / "out")
    reader = tf.train.load_checkpoint(prefix)
    np.testing.assert_array_equal(
        reader.get_tensor("dense/W"),
        tf.train.load_checkpoint(str(tf1_saved_model / "variables" / "variables")).get_tensor(
            "dense/W"
        ),
    )


def test_tf1_saved_model_unknown_tags_are_named(tf1_saved_model):
    with pytest.raises(TFExploreError, match="train") as caught:
        tfexplore.session(tf1_saved_model, tags="train")
    assert "serve" in str(caught.value)


def _tf1_saved_model_with_vocabulary(folder: Path) -> Path:
    """A TF1 export whose main op fills a lookup table from an asset file (what text models do)."""
    vocabulary = folder.parent / "vocab.txt"
    vocabulary.write_text("cat\ndog\nbird\n")
    graph = tf.Graph()
    with graph.as_default():
        words = v1.placeholder(tf.string, [None], name="words")
        asset = tf.constant(str(vocabulary), name="vocab_path")
        v1.add_to_collection(v1.GraphKeys.ASSET_FILEPATHS, asset)
        table = tf.lookup.StaticHashTable(
            tf.lookup.TextFileInitializer(
                asset, tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
                tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER,
            ),
            default_value=-1,
        )  # fmt: skip
        scale = v1.get_variable("scale", initializer=np.float32(10.0))
        ids = tf.identity(table.lookup(words), name="ids")
        tf.multiply(tf.cast(ids, tf.float32), scale, name="scaled")
        with v1.Session(graph=graph) as sess:
            sess.run([v1.global_variables_initializer(), v1.tables_initializer()])
            builder = v1.saved_model.Builder(str(folder))
            builder.add_meta_graph_and_variables(
                sess, ["serve"], main_op=v1.tables_initializer(),
                assets_collection=v1.get_collection(v1.GraphKeys.ASSET_FILEPATHS),
            )  # fmt: skip
            builder.save()
    vocabulary.unlink()  # the SavedModel has its own copy in assets/
    return folder


def test_tf1_main_op_reading_its_own_asset_runs_without_trust(tmp_path):
    """The table reads exactly the asset tensor tfexplore feeds with assets/vocab.txt (the
    allowlist accepts that read, docs/security.md); anything else reading files needs trust."""
    folder = _tf1_saved_model_with_vocabulary(tmp_path / "text_model")
    for trust in (False, True):
        with tfexplore.session(folder, trust=trust) as s:
            ids = s.eval("ids:0", feed={"words:0": np.array([b"dog", b"fish", b"cat"])})
            assert ids.tolist() == [1, -1, 0]  # the table was filled from assets/vocab.txt
            assert s.eval("scale") == pytest.approx(10.0)


# -- TF2 ----------------------------------------------------------------------------------------
def test_tf2_saved_model_loads_its_objects(tf2_saved_model, tmp_path):
    loaded = tf.saved_model.load(str(tf2_saved_model))
    with tfexplore.session(tf2_saved_model) as s:
        assert s.kind == "tf2 objects"
        assert {"w", "b", "calls", "factor"} <= set(s.variables["name"])
        report = s.last_restore
        assert report.applied and report.ok and report.loaded_by == "tf.saved_model.load"
        assert "tf.saved_model.load" in repr(report)
        np.testing.assert_array_equal(s.eval("w"), loaded.w.numpy())
        s.snapshot("loaded")
        s.restore(str(tf2_saved_model / "variables" / "variables"))  # a real read this time
        np.testing.assert_array_equal(s.eval("w"), loaded.w.numpy())
        prefix = s.save(tmp_path / "out")
        with pytest.raises(TFExploreError, match="holds no Keras model"):
            s.train(1, feed={"x": X})
    saved = tf.train.load_checkpoint(prefix)
    np.testing.assert_array_equal(
        saved.get_tensor("w/.ATTRIBUTES/VARIABLE_VALUE"), loaded.w.numpy()
    )


def test_keras_export_opens_as_a_session(keras_models):
    with tfexplore.session(keras_models.export) as s:
        report = s.last_restore
        assert report.ok and len(report.frame) >= 2
        kernel = next(n for n in s.variables["name"] if n.endswith("hidden/kernel"))
        expected = keras_models.model.get_layer("hidden").kernel.numpy()
        np.testing.assert_allclose(s.eval(kernel), expected)


def _hostile_tf2(folder: Path, target: Path) -> Path:
    class Leaky(tf.Module):
        def __init__(self):
            super().__init__()
            self.v = tf.Variable(1.0)

        @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
        def leak(self, text):
            tf.io.write_file(str(target), text)
            return self.v

    module = Leaky()
    tf.saved_model.save(module, str(folder), signatures={"leak": module.leak})
    return folder


def test_tf2_saved_model_with_file_ops_is_refused_without_trust(tmp_path):
    target = tmp_path / "written.txt"
    folder = _hostile_tf2(tmp_path / "leaky", target)
    with pytest.raises(UnsafeArtifactError, match="WriteFile") as caught:
        tfexplore.session(folder)
    assert "trust=True" in str(caught.value)
    assert not target.exists()
    with tfexplore.session(folder, trust=True) as s:  # loading runs no signature
        assert s.eval("v") == pytest.approx(1.0)
    assert not target.exists()


def test_explore_offers_a_session_for_saved_models(tf1_saved_model, tf2_saved_model):
    from tfexplore.ui.explore import ExploreModel

    for folder, kind in ((tf1_saved_model, "tf1 graph"), (tf2_saved_model, "tf2 objects")):
        model = ExploreModel(folder)
        assert "Restore and train" in model.tabs and model.can_train
        assert ("restores variables/variables" in model.session_note()) == (kind == "tf1 graph")
        with model.open_session() as s:
            assert s.kind == kind and s.last_restore.ok
