"""SavedModel: TF1 builder, TF2 tf.saved_model.save and Keras 3 export folders, inspected from
their protos and checked against what TensorFlow itself reports (loading is fine in a test, as
the reference; the library never loads)."""

from __future__ import annotations

import csv
import shutil

import numpy as np
import pytest
from fixtures.common import CORPUS, corpus_cases, fingerprint

import tfexplore
from tfexplore.artifacts.savedmodel import SavedModel
from tfexplore.errors import (
    ArtifactNotFoundError,
    CorruptArtifactError,
    IncompleteCheckpointError,
    TensorNotFoundError,
)


def list_variables(folder) -> dict[str, tuple[int, ...]]:
    import tensorflow as tf

    return {
        name: tuple(shape)
        for name, shape in tf.train.list_variables(str(folder / "variables" / "variables"))
    }


def signature_specs(model: SavedModel, signature: str) -> dict[tuple[str, str], tuple]:
    frame = model.signatures[model.signatures["signature"] == signature]
    return {(r.direction, r.key): (r.dtype, r.shape) for r in frame.itertuples()}


def reference_specs(folder, signature: str) -> dict[tuple[str, str], tuple]:
    import tensorflow as tf

    function = tf.saved_model.load(str(folder)).signatures[signature]
    specs = {("input", k): v for k, v in function.structured_input_signature[1].items()}
    specs.update({("output", k): v for k, v in function.structured_outputs.items()})
    return {key: (spec.dtype.name, tuple(spec.shape.as_list())) for key, spec in specs.items()}


# -- TF1 builder -----------------------------------------------------------------------------
def test_tf1_builder(tf1_saved_model):
    model = tfexplore.open(tf1_saved_model)
    assert isinstance(model, SavedModel) and model.kind == "saved_model"
    assert model.tags == [["serve"]] and model.writer == "tf1_builder"
    assert model.object_graph.empty
    assert any("no object graph" in note for note in model.notes)
    assert model.meta_graph is model.meta_graphs[0]
    assert len(model.graph.nodes) == len(model.proto.meta_graphs[0].graph_def.node)
    assert model.functions.empty and model.fingerprint is None


def test_tf1_variables_agree_with_tensorflow(tf1_saved_model):
    model = SavedModel(tf1_saved_model)
    variables = model.variables.set_index("name")
    assert dict(zip(variables.index, variables["shape"])) == list_variables(tf1_saved_model)
    assert variables.loc["dense/W", "variable_name"] == "dense/W:0"
    assert variables.loc["dense/W", "trainable"] is True
    assert model.read("dense/W").shape == (3, 2)


def test_tf1_signature_agrees_with_tensorflow(tf1_saved_model):
    model = SavedModel(tf1_saved_model)
    assert signature_specs(model, "predict") == reference_specs(tf1_saved_model, "predict")
    tensors = model.signatures.set_index("key")["tensor"]
    assert tensors["x"] == "x:0" and tensors["y"] == "y:0"
    assert set(model.signatures["tags"]) == {"serve"}


# -- TF2 tf.saved_model.save -------------------------------------------------------------------
def test_tf2_object_graph(tf2_saved_model):
    model = SavedModel(tf2_saved_model)
    assert model.writer == "tf2"
    graph = model.object_graph.set_index("path")
    assert graph.loc["(root)", "kind"] == "user_object"
    assert graph.loc["scale/factor", "kind"] == "variable"
    assert graph.loc["w", "trainable"] and not graph.loc["calls", "trainable"]
    assert graph.loc["__call__", "kind"] == "function"
    assert graph.loc["signatures/serving_default", "kind"] == "bare_concrete_function"
    assert set(model.object_graph["kind"]) >= {"user_object", "variable", "function"}


def test_tf2_variables_tie_to_the_object_graph(tf2_saved_model):
    import tensorflow as tf

    model = SavedModel(tf2_saved_model)
    variables = model.variables
    assert set(variables["name"]) == set(list_variables(tf2_saved_model))
    values = variables[variables["name"].str.endswith("/.ATTRIBUTES/VARIABLE_VALUE")]
    assert len(values) == 4 and values["object_id"].notna().all()
    by_path = values.set_index("object_path")
    assert by_path.loc["scale/factor", "variable_name"] == "factor"
    assert by_path.loc["w", "trainable"] and not by_path.loc["calls", "trainable"]
    loaded = tf.saved_model.load(str(tf2_saved_model))
    np.testing.assert_array_equal(model.read("w"), loaded.w.numpy())
    np.testing.assert_array_equal(model.read("scale/factor/.ATTRIBUTES/VARIABLE_VALUE"), 2.0)


def test_tf2_signature_and_function(tf2_saved_model):
    model = SavedModel(tf2_saved_model)
    assert signature_specs(model, "serving_default") == reference_specs(
        tf2_saved_model, "serving_default"
    )
    function = model.signatures.set_index("signature").loc["serving_default", "function"].iloc[0]
    assert function.startswith("__inference_signature_wrapper")
    functions = model.functions.set_index("name")
    assert functions.loc[function, "signature"] == "serving_default"
    assert functions.loc[function, "object_path"] == "signatures/serving_default"
    assert model.fingerprint["saved_model_checksum"]


def test_tf2_stats_and_files(tf2_saved_model):
    model = SavedModel(tf2_saved_model)
    stats = model.stats(names=["w"])
    assert len(stats) == 1
    roles = set(model.files["role"])
    assert {"SavedModel proto (meta graphs)", "checkpoint index", "fingerprint"} <= roles
    assert model.summary()["written_by"].startswith("TF2")


# -- Keras 3 export ----------------------------------------------------------------------------
def test_keras_export(keras_models):
    folder = keras_models.export
    model = tfexplore.open(folder)
    assert model.writer == "keras3_export"
    assert set(model.variables["name"]) == set(list_variables(folder))
    named = model.variables.dropna(subset=["variable_name"])
    assert set(named["variable_name"]) == {v.path for v in keras_models.model.weights}
    assert signature_specs(model, "serve") == reference_specs(folder, "serve")
    kernel = keras_models.model.get_layer("hidden").kernel.numpy()
    np.testing.assert_array_equal(model.read("variables/0"), kernel)
    assert "TFSMLayer" in " ".join(model.notes)


# -- prose, errors, read-only ------------------------------------------------------------------
def test_explain_teaches_the_layout(tf1_saved_model, tf2_saved_model):
    tf1_text = SavedModel(tf1_saved_model).explain()
    for phrase in (
        "MetaGraphDef per tag set",
        "signatures",
        "variables/variables.index",
        "assets/",
    ):
        assert phrase in tf1_text
    assert "no object graph" in tf1_text
    assert "object graph" in SavedModel(tf2_saved_model).explain()


def test_open_by_saved_model_pb(tf1_saved_model):
    assert tfexplore.open(tf1_saved_model / "saved_model.pb").path == tf1_saved_model


def test_truncated_saved_model_pb_is_corrupt(tf2_saved_model, copy_of):
    folder = copy_of(tf2_saved_model)
    pb = folder / "saved_model.pb"
    pb.write_bytes(pb.read_bytes()[: pb.stat().st_size // 2])
    with pytest.raises(CorruptArtifactError) as caught:
        SavedModel(folder).tags  # noqa: B018
    assert "saved_model.pb" in str(caught.value) and caught.value.path == str(pb)


def test_empty_saved_model_pb_is_corrupt(tf1_saved_model, copy_of):
    folder = copy_of(tf1_saved_model)
    (folder / "saved_model.pb").write_bytes(b"")
    model = SavedModel(folder)
    with pytest.raises(CorruptArtifactError, match="no meta graph"):
        _ = model.signatures
    # the graph is unreadable, the variables are not (issue 12 point 7): summary says so
    assert model.summary()["graph"].startswith("not readable")
    assert "no meta graph" in model.graph_error.message


def test_missing_variables_shard(tf1_saved_model, copy_of):
    folder = copy_of(tf1_saved_model)
    for shard in (folder / "variables").glob("variables.data-*"):
        shard.unlink()
    model = SavedModel(folder)
    assert len(model.variables) == 2  # the index still lists them
    with pytest.raises(IncompleteCheckpointError):
        model.read("dense/W")


def test_no_variables_folder(tf1_saved_model, copy_of):
    folder = copy_of(tf1_saved_model)
    shutil.rmtree(folder / "variables")
    model = SavedModel(folder)
    assert model.checkpoint is None and model.variables.empty
    assert any("variables/variables.index is missing" in note for note in model.notes)
    with pytest.raises(TensorNotFoundError):
        model.read("dense/W")


def test_folder_without_saved_model_pb(tmp_path):
    with pytest.raises(ArtifactNotFoundError):
        SavedModel(tmp_path)


def test_inspection_is_read_only(tf2_saved_model, keras_models):
    folders = [tf2_saved_model, keras_models.export]
    before = [fingerprint(f) for f in folders]
    for folder in folders:
        model = SavedModel(folder)
        model.summary(), model.explain(), model.stats(), model.object_graph, model.assets
    assert [fingerprint(f) for f in folders] == before


# -- corpus ----------------------------------------------------------------------------------
def _saved_model_rows() -> list[dict[str, str]]:
    manifest = CORPUS / "MANIFEST.tsv"
    if not manifest.exists():
        return []
    with manifest.open() as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return [r for r in rows if "savedmodel" in r["name"] or "_sm_" in r["name"]]


@pytest.mark.corpus
@pytest.mark.parametrize("row", corpus_cases(_saved_model_rows(), ids=lambda r: r["name"]))
def test_corpus_saved_models(row, corpus):
    folder = corpus / row["open_path"]
    before = fingerprint(folder)
    model = tfexplore.open(folder)
    assert model.writer == "tf1_builder"
    assert len(model.variables) == int(row["n_vars"])
    assert len(model.graph.nodes) == int(row["n_ops"].split("+")[0])
    assert dict(zip(model.variables["name"], model.variables["shape"])) == list_variables(folder)
    assert model.stats()["nans"].sum() == 0
    assert len(model.explain()) > 200
    assert fingerprint(folder) == before


@pytest.mark.corpus
def test_corpus_sharded_and_partitioned(corpus):
    model = SavedModel(corpus / "tf1_savedmodel_estimator_sharded/1")
    assert len(model.checkpoint.data_files) == 2
    variables = model.variables.set_index("name")
    assert variables.loc["dnn/logits/kernel", "trainable"] is True
    assert variables.loc["global_step", "trainable"] is False
