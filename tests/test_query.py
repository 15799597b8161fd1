"""tfexplore's one search syntax (tfexplore.graph.query): words, globs, op:TYPE and re:,
alone and combined, and the same answers from each place that searches."""

from __future__ import annotations

import doctest
import re

import pandas as pd
import pytest

import tfexplore.graph.query as query_module
from tfexplore.graph.query import parse_query
from tfexplore.ui.explore import filter_frame

NAMES = [
    ("layer1/W", "VariableV2"),
    ("layer1/W/Adam_1", "VariableV2"),
    ("layer2/W", "VariableV2"),
    ("layer1/MatMul", "MatMul"),
    ("layer2/MatMul", "MatMul"),
    ("model/dense_2/kernel", "VarHandleOp"),
]


def matching(text):
    query = parse_query(text)
    return [name for name, op in NAMES if query.matches(name, op)]


def test_the_docstring_examples_hold():
    assert doctest.testmod(query_module).failed == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("layer1 adam", ["layer1/W/Adam_1"]),  # every word, any order, any case
        ("ADAM LAYER1", ["layer1/W/Adam_1"]),
        ("layer*/W", ["layer1/W", "layer2/W"]),  # a glob on the whole name
        ("mat*", ["layer1/MatMul", "layer2/MatMul"]),  # no "/": on the last part too
        ("op:MatMul", ["layer1/MatMul", "layer2/MatMul"]),
        ("op: matmul layer2", ["layer2/MatMul"]),  # a space after op: is allowed
        ("op:MatMul op:VarHandleOp", ["layer1/MatMul", "layer2/MatMul", "model/dense_2/kernel"]),
        ("op:VariableV2 layer*/w", ["layer1/W", "layer2/W"]),  # type + glob
        ("layer1 re:/w(/|$)", ["layer1/W", "layer1/W/Adam_1"]),  # word + regex
        ("op:VariableV2 re:^layer[12]/W$", ["layer1/W", "layer2/W"]),  # type + regex
        ("re:dense_[0-9] kernel$", []),  # the regex runs to the end: spaces included
        ("re:^model/dense_2/kernel$", ["model/dense_2/kernel"]),
        ("dense re:_2/", ["model/dense_2/kernel"]),
        ("", [name for name, _ in NAMES]),
        ("nothing-like-this", []),
    ],
)
def test_combined_syntax(text, expected):
    assert matching(text) == expected


def test_a_word_holding_re_colon_is_a_word():
    assert parse_query("score:0").words == ("score:0",) and parse_query("score:0").regex is None


def test_a_compiled_pattern_keeps_its_own_flags():
    query = parse_query(re.compile(r"^layer2/"))
    assert query.matches("layer2/W") and not query.matches("LAYER2/W")


def test_rank_prefers_exact_then_last_part_then_prefix():
    names = ["a/bw", "a/w_1", "a/w", "w"]
    query = parse_query("w")
    assert sorted(names, key=query.rank) == ["w", "a/w", "a/w_1", "a/bw"]


def test_filter_frame_reads_the_same_syntax():
    frame = pd.DataFrame({"name": [n for n, _ in NAMES], "op": [o for _, o in NAMES]})
    for text in ("layer1 adam", "layer*/W", "op:MatMul layer2", "re:^layer[12]/W$"):
        assert filter_frame(frame, text)["name"].tolist() == matching(text), text
    assert filter_frame(frame.drop(columns="op"), "op:MatMul").equals(frame.drop(columns="op"))


def test_graph_find_and_hierarchy_search_agree(demo_meta):
    from tfexplore.artifacts.metagraph import MetaGraph
    from tfexplore.scene.hierarchy import Hierarchy

    graph = MetaGraph.from_file(demo_meta).graph
    hierarchy = Hierarchy(graph)
    for text in ("layer1 adam", "layer*/W", "op:VarHandleOp layer1", "re:^layer[12]/W$"):
        found = graph.find(text)["name"].tolist()
        assert found, text
        assert set(hierarchy.search(text, limit=10_000)) == set(found), text
