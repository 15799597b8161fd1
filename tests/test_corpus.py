"""Every artifact in ../shared/corpus (real files written by other people) opens through
``tfexplore.open``, agrees with TensorFlow's own counts, and is left byte-for-byte unchanged."""

from __future__ import annotations

import pytest
from fixtures.common import CORPUS, corpus_cases, fingerprint, manifest_rows

import tfexplore

pytestmark = pytest.mark.corpus


def expected_kind(row: dict[str, str]) -> str:
    path = CORPUS / row["open_path"]
    if "savedmodel" in row["name"] or "_sm_" in row["name"]:
        return "saved_model"
    if row["name"].startswith("frozen"):
        return "graph_def"
    if "h5" in row["name"]:
        return "keras"
    return "checkpoint_dir" if path.is_dir() else "checkpoint"


ROWS = manifest_rows()


@pytest.fixture(scope="module")
def corpus_before(corpus):
    return fingerprint(corpus)


@pytest.mark.parametrize("row", corpus_cases(ROWS, ids=lambda r: r["name"]))
def test_opens_with_the_right_kind_and_counts(row, corpus_before):
    artifact = tfexplore.open(CORPUS / row["open_path"])
    assert artifact.kind == expected_kind(row)
    assert row["open_path"].split("/")[0] in repr(artifact)
    explanation = artifact.explain()
    assert isinstance(explanation, str) and len(explanation) > 200

    checkpoint = artifact.latest if artifact.kind == "checkpoint_dir" else artifact
    n_vars = int(row["n_vars"])
    if artifact.kind in ("checkpoint_dir", "checkpoint", "saved_model"):
        variables = checkpoint.variables
        # the object graph of a TF2 checkpoint is listed too (role "object_graph"); not a variable
        assert (variables["role"] != "object_graph").sum() == n_vars

    n_ops = row["n_ops"].split("+")[0].split("/")
    if n_ops != ["-1"]:
        if artifact.kind == "checkpoint_dir":
            counts = {
                len(tfexplore.open(CORPUS / row["open_path"] / f"{p}.meta").graph.nodes)
                for p in artifact.checkpoints["prefix"]
                if artifact.checkpoints.set_index("prefix").loc[p, "has_meta"]
            }
        elif artifact.kind == "checkpoint":
            counts = {len(artifact.meta_graph.graph.nodes)}
        else:
            counts = {len(artifact.graph.nodes)}
        assert counts == {int(n) for n in n_ops}


def test_corpus_is_unchanged_by_inspection(corpus, corpus_before):
    for row in ROWS:  # inspect everything once more, with stats where values are there
        artifact = tfexplore.open(CORPUS / row["open_path"])
        artifact.summary()
        str(artifact.explain())
    assert fingerprint(corpus) == corpus_before
