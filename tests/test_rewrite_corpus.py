"""Checkpoint surgery on real checkpoints written by other people (../shared/corpus): a
TF 1.0 checkpoint with VariableV2 and Adam slots, a legacy V1 single-file checkpoint converted
to V2, a TF2 object-based checkpoint renamed. The corpus is never changed."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures.common import CORPUS, fingerprint

import tfexplore

tf = pytest.importorskip("tensorflow")
v1 = tf.compat.v1
pytestmark = pytest.mark.corpus


def test_tf1_0_lenet_renamed_and_stripped_restores_into_its_own_graph(corpus, tmp_path):
    folder = CORPUS / "tf1_0_lenet_trafficsign"
    before = fingerprint(folder)
    source = tfexplore.open(folder).latest
    # its own .meta as the target: the plan keeps every name, and writes the .meta beside it
    plan = source.rewrite(to=source.meta_path)
    assert plan.ok, plan.problems
    written = plan.write(tmp_path / "same" / "model.ckpt")
    graph = tf.Graph()
    with graph.as_default():
        saver = v1.train.import_meta_graph(f"{written.prefix}.meta")
        with v1.Session(graph=graph) as session:
            saver.restore(session, str(written.prefix))
            values = {v.op.name: session.run(v) for v in v1.global_variables()}
    for name, value in values.items():
        np.testing.assert_array_equal(value, source.read(name))
    # the weights alone, under a new scope
    stripped = source.rewrite(drop_optimizer=True, regex={r"^": "lenet/"})
    assert stripped.ok, stripped.problems
    names = set(
        tf.train.load_checkpoint(
            str(stripped.write(tmp_path / "s" / "m.ckpt").prefix)
        ).get_variable_to_shape_map()
    )
    assert names and all(n.startswith("lenet/") for n in names)
    assert not any("Adam" in n or "beta1_power" in n for n in names)
    assert fingerprint(folder) == before


def test_a_v1_single_file_checkpoint_becomes_a_v2_checkpoint(corpus, tmp_path):
    folder = CORPUS / "nxt_v1ckpt"
    before = fingerprint(folder)
    source = tfexplore.open(folder / "model.ckpt")
    assert source.format == "v1"
    plan = source.rewrite()
    assert plan.ok, plan.problems
    written = plan.write(tmp_path / "v2" / "model.ckpt")
    assert written.index_path.is_file()
    reader = tf.train.load_checkpoint(str(written.prefix))
    old = tf.train.load_checkpoint(str(folder / "model.ckpt"))
    assert set(reader.get_variable_to_shape_map()) == set(old.get_variable_to_shape_map())
    for name in old.get_variable_to_shape_map():
        np.testing.assert_array_equal(reader.get_tensor(name), old.get_tensor(name))
    assert fingerprint(folder) == before


def test_a_tf2_object_checkpoint_renamed_keeps_a_consistent_object_graph(corpus, tmp_path):
    folder = CORPUS / "tf2_objckpt_vqvae"
    before = fingerprint(folder)
    source = tfexplore.open(folder).latest
    plan = source.rewrite(regex={r"^model/": "model/"}, drop_optimizer=True)
    assert plan.ok, plan.problems
    written = plan.write(tmp_path / "tf2" / "ckpt-1")
    graph = written.object_graph
    keys = set(written.variables["name"])
    attributes = {key for row in graph["attributes"] for key in row}
    assert attributes and attributes <= keys  # every key the object graph names is there
    kept = set(plan.table.loc[plan.table["action"] != "drop", "target"])
    assert keys - {"_CHECKPOINTABLE_OBJECT_GRAPH"} == kept
    assert fingerprint(folder) == before
