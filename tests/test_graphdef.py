"""GraphDef files (frozen .pb and .pbtxt): weights from Const nodes, reading without running
anything, damaged files, and the corpus's GraphDefs."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures.common import fingerprint

import tfexplore
from tfexplore.artifacts.frozen import FrozenGraph
from tfexplore.errors import CorruptArtifactError, TensorNotFoundError


@pytest.fixture(scope="module")
def frozen(graph_files) -> FrozenGraph:
    return FrozenGraph.from_file(graph_files["frozen_pb"])


def test_binary_and_text_give_the_same_graph(graph_files, frozen):
    text = tfexplore.open(graph_files["frozen_pbtxt"])
    assert isinstance(text, FrozenGraph) and text.kind == "graph_def"
    assert text.is_text and not frozen.is_text
    assert list(text.graph.nodes["name"]) == list(frozen.graph.nodes["name"])
    assert len(frozen.graph) == len(frozen.proto.node)
    assert text.variables.equals(frozen.variables)


def test_weights_are_the_const_nodes(frozen, graph_files):
    table = frozen.variables.set_index("name")
    assert {"dense/W", "dense/b"} <= set(table.index)
    assert table.loc["dense/W", "shape"] == (3, 2) and table.loc["dense/W", "dtype"] == "float32"
    assert table.loc["dense/W", "size"] == 6 and table.loc["dense/W", "nbytes"] == 24
    expected = np.load(graph_files["frozen_values"])
    np.testing.assert_array_equal(frozen.read("dense/W"), expected["dense/W"])
    np.testing.assert_array_equal(frozen.read("dense/b:0"), expected["dense/b"])


def test_read_errors(frozen):
    with pytest.raises(TensorNotFoundError, match="is a MatMul op, not a Const"):
        frozen.read("MatMul")
    with pytest.raises(TensorNotFoundError) as info:
        frozen.read("dense/w")
    assert "dense/W" in info.value.suggestions


def test_stats(frozen, graph_files):
    stats = frozen.stats(["dense/W"]).set_index("name")
    expected = np.load(graph_files["frozen_values"])["dense/W"]
    assert stats.loc["dense/W", "max"] == pytest.approx(float(expected.max()))
    assert len(frozen.stats()) == len(frozen.variables)


def test_inputs_outputs_summary_explain(frozen):
    assert frozen.inputs == ["input"] and frozen.outputs == ["probs"]
    assert frozen.tensor("probs:0").dtype == "float32"
    summary = frozen.summary()
    assert summary["nodes"] == len(frozen.graph) and summary["weights"] == len(frozen.variables)
    text = frozen.explain()
    assert "no checkpoint" in text and "Const" in text and "Placeholder" in text


def test_damaged_pb(graph_files, tmp_path):
    data = graph_files["frozen_pb"].read_bytes()
    cases = {
        "truncated.pb": data[: len(data) // 2],
        "flipped.pb": b"\xff" + data[1:],
        "notes.pb": b"just some text, not a graph\n",
        "empty.pb": b"",
        "notes.pbtxt": b"node { name: 'x' op: \n",
    }
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(CorruptArtifactError) as info:
            FrozenGraph.from_file(path)
        assert str(path) in str(info.value), name


def test_reading_changes_nothing(graph_files, frozen):
    before = fingerprint(graph_files["frozen_pb"])
    artifact = FrozenGraph.from_file(graph_files["frozen_pb"])
    artifact.summary(), artifact.explain(), artifact.stats(), artifact.graph.edges, artifact.files
    assert fingerprint(graph_files["frozen_pb"]) == before


@pytest.mark.corpus
@pytest.mark.parametrize(
    "relative, n_ops",
    [
        ("frozen_cms_trackclassifier/CKF_Run3_12_5_0_pre5.pb", 211),
        ("frozen_charrnn_lstm/frozen_model.pb", 387),
        ("tf1_objdet_meta_nodata/inference_graph.pbtxt", 4813),
    ],
)
def test_corpus_graph_defs(corpus, relative, n_ops):
    before = fingerprint(corpus / relative)
    artifact = tfexplore.open(corpus / relative)
    assert artifact.kind == "graph_def"
    assert len(artifact.graph) == n_ops == len(artifact.graph.nodes)
    assert artifact.graph.scopes.op_count == n_ops
    table = artifact.variables
    assert len(table) == artifact.graph.op_types()["Const"]
    biggest = table[table["dtype"] != "string"].sort_values("nbytes").iloc[-1]
    assert artifact.read(biggest["name"]).nbytes == biggest["nbytes"]
    assert len(artifact.explain()) > 300
    assert fingerprint(corpus / relative) == before
