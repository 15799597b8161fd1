"""MetaGraph: collections, variables, saver, meta info, sibling checkpoint, damaged files, and
every .meta of the corpus."""

from __future__ import annotations

import csv

import pytest
from fixtures.common import CORPUS, corpus_cases, fingerprint

import tfexplore
from tfexplore.artifacts.metagraph import MetaGraph
from tfexplore.errors import CorruptArtifactError, TensorNotFoundError


@pytest.fixture(scope="module")
def demo(demo_meta) -> MetaGraph:
    return MetaGraph.from_file(demo_meta)


def test_opens_through_tfexplore_open(demo_meta):
    meta = tfexplore.open(demo_meta)
    assert isinstance(meta, MetaGraph) and meta.kind == "meta_graph"
    assert "model.ckpt-30.meta" in repr(meta)


def test_node_count_agrees_with_the_proto(demo):
    assert len(demo.graph) == len(demo.proto.graph_def.node) == len(demo.graph.nodes)
    assert demo.summary()["nodes"] == len(demo.graph)


def test_collections_tie_to_nodes(demo):
    collections = demo.collections
    assert {
        "train_op",
        "variables",
        "trainable_variables",
        "global_step",
        "loss",
        "summaries",
    } <= set(collections)
    assert collections["train_op"][0] == "train/Adam"
    assert collections["trainable_variables"] == [
        "layer1/W:0",
        "layer1/b:0",
        "layer2/W:0",
        "layer2/b:0",
    ]
    table = demo.collections_table
    assert table["node"].notna().all()
    assert set(table["node"]) <= set(demo.graph.names)
    assert set(table[table["collection"] == "variables"]["kind"]) == {"variable"}
    assert demo.train_op.name == "train/Adam" and demo.train_op.op == "AssignAddVariableOp"
    assert demo.global_step.name == "global_step"


def test_variables(demo):
    table = demo.variables.set_index("name")
    assert len(table) == 15  # 4 weights, global_step, 2 beta powers, 8 Adam slots
    weight = table.loc["layer1/W"]
    assert weight["op"] == "VarHandleOp" and weight["dtype"] == "float32"
    assert weight["shape"] == (3, 16) and weight["size"] == 48 and weight["nbytes"] == 192
    assert weight["resource"] and weight["trainable"]
    assert weight["snapshot"] == "layer1/W/Read/ReadVariableOp:0"
    assert weight["initializer"] == "layer1/W/Assign"
    assert not table.loc["layer1/W/Adam", "trainable"]
    assert table.loc["global_step", "dtype"] == "int64"


def test_variables_are_in_the_sibling_checkpoint(demo):
    pytest.importorskip("tfexplore.artifacts.checkpoint")
    assert demo.checkpoint is not None
    assert str(demo.checkpoint.path).endswith("model.ckpt-30")
    assert demo.variables["in_checkpoint"].all()
    roles = set(demo.files["role"])
    assert {"meta graph", "checkpoint index (sibling)", "checkpoint data (sibling)"} <= roles


def test_saver_and_meta_info(demo):
    saver = demo.saver_def
    assert saver["version"] == "V2" and saver["restore_op"] == "save/restore_all"
    assert saver["restore_op_in_graph"] and saver["filename_tensor"] == "save/Const:0"
    info = demo.meta_info
    import tensorflow as tf

    assert info["tensorflow_version"] == tf.__version__
    assert "VarHandleOp" in info["stripped_ops"]
    assert demo.signatures.empty and list(demo.signatures.columns)[:3] == [
        "signature",
        "method",
        "direction",
    ]


def test_summary_and_explain(demo):
    summary = demo.summary()
    assert summary["variables"] == 15 and summary["has_checkpoint"] is True
    text = demo.explain()
    for phrase in (
        "GraphDef",
        "collections",
        "SaverDef",
        "ReadVariableOp",
        "op_name:output_index",
        ".index",
    ):
        assert phrase in text
    assert "save/restore_all" in text


def test_shortcuts(demo):
    assert demo.tensor("loss/mse:0").dtype == "float32"
    assert demo.node("loss/mse").op == "Mean"
    assert "layer1/W" in set(demo.find("layer1/W")["name"])
    with pytest.raises(TensorNotFoundError):
        demo.tensor("loss/mse")


def test_partitioned_variables(graph_files):
    table = MetaGraph.from_file(graph_files["partitioned"]).variables
    assert list(table["name"]) == ["P/part_0", "P/part_1", "P/part_2"]
    assert set(table["partition_of"]) == {"P"} and set(table["checkpoint_key"]) == {"P"}
    assert list(table["partition"]) == [
        "[0:3, 0:2] of (9, 2)",
        "[3:6, 0:2] of (9, 2)",
        "[6:9, 0:2] of (9, 2)",
    ]


def test_import_scope(graph_files, demo):
    copy = MetaGraph.from_file(graph_files["imported"])
    assert len(copy.graph) == len(demo.graph)
    assert all(name.startswith("copy/") for name in copy.graph)
    assert copy.collections["train_op"][0] == "copy/train/Adam"
    assert copy.collections_table["node"].notna().all()
    assert copy.tensor("copy/layer1/W:0").value_tensors[0] == "copy/layer1/W/Read/ReadVariableOp:0"
    assert copy.checkpoint is None and copy.variables["in_checkpoint"].isna().all()


def test_file_without_collections_falls_back_to_variable_ops(corpus):
    meta = MetaGraph.from_file(corpus / "tf1_objdet_meta_nodata" / "model.ckpt.meta")
    assert meta.collections == {}
    assert len(meta.variables) == 345 and set(meta.variables["op"]) == {"VariableV2"}
    assert meta.variables["snapshot"].str.endswith("/read:0").all()
    assert any("no variable collections" in note for note in meta.notes)
    assert meta.meta_info["tensorflow_git_version"].startswith("v1.13.1")


# -- damaged files ----------------------------------------------------------------------------
def _assert_corrupt(path):
    with pytest.raises(CorruptArtifactError) as info:
        MetaGraph.from_file(path)
    assert str(path) in str(info.value)
    return info.value


def test_truncated(demo_meta, tmp_path):
    data = demo_meta.read_bytes()
    for cut in (len(data) // 3, len(data) - 7):
        path = tmp_path / f"cut{cut}.meta"
        path.write_bytes(data[:cut])
        _assert_corrupt(path)


def test_bit_flips(demo_meta, tmp_path):
    data = bytearray(demo_meta.read_bytes())
    data[0] = 0xFF  # no valid field tag starts with 0xFF 0x..: always fails to parse
    path = tmp_path / "flipped.meta"
    path.write_bytes(bytes(data))
    _assert_corrupt(path)
    # Random flips either fail cleanly or give a graph that can still be looked at.
    import random

    rng = random.Random(0)
    original = demo_meta.read_bytes()
    for trial in range(6):
        data = bytearray(original)
        for _ in range(20):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        path = tmp_path / f"flip{trial}.meta"
        path.write_bytes(bytes(data))
        try:
            meta = MetaGraph.from_file(path)
        except CorruptArtifactError as exc:
            assert str(path) in str(exc)
            continue
        assert meta.summary()["nodes"] == len(meta.graph.nodes) == meta.graph.scopes.op_count


def test_text_file_named_meta(tmp_path):
    path = tmp_path / "notes.meta"
    path.write_text("these are my notes about the model\nnot a graph at all\n")
    error = _assert_corrupt(path)
    assert "holds text" in str(error)
    empty = tmp_path / "empty.meta"
    empty.write_bytes(b"")
    assert "empty" in str(_assert_corrupt(empty))


def test_text_format_meta_graph_is_accepted(demo, tmp_path):
    from google.protobuf import text_format

    path = tmp_path / "text.meta"
    path.write_text(text_format.MessageToString(demo.proto))
    meta = MetaGraph.from_file(path)
    assert meta.is_text and len(meta.graph) == len(demo.graph)
    assert any("text format" in note for note in meta.notes)


def test_reading_changes_nothing(demo_run, demo_meta):
    before = fingerprint(demo_run)
    meta = MetaGraph.from_file(demo_meta)
    meta.summary(), meta.explain(), meta.variables, meta.graph.nodes, meta.graph.edges, meta.files
    assert fingerprint(demo_run) == before


# -- corpus -----------------------------------------------------------------------------------
def _corpus_meta_files() -> list[tuple[str, int]]:
    if not (CORPUS / "MANIFEST.tsv").exists():
        return []
    with (CORPUS / "MANIFEST.tsv").open() as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    cases = []
    for row in rows:
        folder = CORPUS / row["name"]
        metas = sorted(folder.glob("*.meta"))
        counts = [int(c) for c in row["n_ops"].split("+")[0].split("/")]
        for meta, count in zip(metas, counts if len(counts) == len(metas) else counts * len(metas)):
            cases.append((str(meta.relative_to(CORPUS)), count))
    return cases


@pytest.mark.corpus
@pytest.mark.parametrize("relative, n_ops", corpus_cases(_corpus_meta_files(), width=2))
def test_corpus_meta_files(corpus, relative, n_ops):
    before = fingerprint(corpus / relative)
    meta = MetaGraph.from_file(corpus / relative)
    assert len(meta.graph) == n_ops == len(meta.graph.nodes)
    assert meta.graph.scopes.op_count == n_ops
    assert meta.collections_table["node"].notna().all() or meta.collections == {}
    assert len(meta.variables) > 0
    assert meta.saver_def["restore_op_in_graph"]
    assert len(meta.explain()) > 500
    assert fingerprint(corpus / relative) == before


@pytest.mark.corpus
def test_wraps_a_saved_model_meta_graph(corpus):
    from tensorflow.core.protobuf import saved_model_pb2

    path = corpus / "pypi_guesslang_sm_estimator" / "model" / "saved_model.pb"
    saved_model = saved_model_pb2.SavedModel()
    saved_model.ParseFromString(path.read_bytes())
    meta = MetaGraph(saved_model.meta_graphs[0], path=path, source="saved_model")
    assert meta.meta_info["tags"] == ["serve"]
    signatures = meta.signatures
    assert len(set(signatures["signature"])) == 3
    assert {"input", "output"} == set(signatures["direction"])
    for tensor in signatures["tensor"]:
        assert meta.tensor(tensor).name == tensor  # every signature tensor is in the graph
    assert meta.checkpoint_prefix is None and meta.checkpoint is None
    assert len(meta.functions) > 0
    body = meta.functions[next(iter(meta.functions))]
    assert body.scopes.op_count == len(body)
    assert "SavedModel" in meta.explain()
