"""The graph model: nodes, edges, tensors, scopes, search and function bodies, checked against
small GraphDefs (inline pbtxt) and graphs made by real TensorFlow."""

from __future__ import annotations

import re

import pytest

from tfexplore.artifacts.metagraph import MetaGraph
from tfexplore.errors import TensorNotFoundError
from tfexplore.graph.model import STRUCTURE_COLUMNS, Graph


def _graph_def_of(path):
    from tensorflow.core.framework import graph_pb2

    graph_def = graph_pb2.GraphDef()
    graph_def.ParseFromString(path.read_bytes())
    return graph_def


@pytest.fixture(scope="module")
def scoped(scoped_graph_def) -> Graph:
    return Graph(scoped_graph_def)


@pytest.fixture(scope="module")
def demo(demo_meta) -> MetaGraph:
    return MetaGraph.from_file(demo_meta)


# -- nodes and edges ------------------------------------------------------------------------
def test_nodes_agree_with_the_graph_def(scoped, scoped_graph_def):
    nodes = scoped.nodes
    assert len(scoped) == len(nodes) == len(scoped_graph_def.node) == 10
    assert list(nodes["name"]) == [n.name for n in scoped_graph_def.node]
    row = nodes.set_index("name").loc["layer1/dense/Relu"]
    assert row["scope"] == "layer1/dense"
    assert row["inputs"] == ["layer1/dense/MatMul:0"]
    assert row["control_inputs"] == ["layer1"]
    assert nodes.set_index("name").loc["layer1/dense/MatMul", "inputs"] == ["x:0", "layer1/W:0"]
    assert "T=float32" in nodes.set_index("name").loc["layer1/dense/MatMul", "attrs"]


def test_edges(scoped, scoped_graph_def):
    edges = scoped.edges
    assert len(edges) == sum(len(n.input) for n in scoped_graph_def.node)
    control = edges[edges["control"]]
    assert control[["src", "dst"]].values.tolist() == [["layer1", "layer1/dense/Relu"]]
    split_uses = edges[(edges["src"] == "layer2/split") & ~edges["control"]]
    assert sorted(split_uses["src_output"]) == [0, 1]
    assert set(edges["tensor"]) >= {"layer2/split:1", "layer2/custom:2"}


def test_structure_frame_is_a_subset_of_nodes(scoped):
    frame = scoped.node_frame(STRUCTURE_COLUMNS)
    assert list(frame.columns) == list(STRUCTURE_COLUMNS)
    assert frame.equals(scoped.nodes[list(STRUCTURE_COLUMNS)])
    with pytest.raises(ValueError, match="Unknown node column"):
        scoped.node_frame(["nope"])


def test_output_signatures(scoped):
    nodes = scoped.nodes.set_index("name")
    assert nodes.loc["layer2/split", "output_dtypes"] == ["float32", "float32"]  # number_attr
    assert nodes.loc["x", "output_shapes"] == [(None, 4)]
    assert nodes.loc["layer1/W", "output_shapes"] == [(4, 4)]
    assert nodes.loc["layer1", "num_outputs"] == 0
    # A custom op nobody describes: count inferred from its consumers, dtypes unknown.
    assert nodes.loc["layer2/custom", "num_outputs"] == 3
    assert nodes.loc["layer2/custom", "output_dtypes"] == [None, None, None]
    assert "unknown to this TensorFlow" in scoped.tensor("layer2/custom:2").note
    with pytest.raises(TensorNotFoundError, match="unknown to this TensorFlow"):
        scoped.tensor("layer2/custom:5")


def test_stripped_op_list_describes_custom_ops(scoped_graph_def):
    from google.protobuf import text_format
    from tensorflow.core.framework import op_def_pb2

    op_list = text_format.Parse(
        'op { name: "MyCustomOp" input_arg { name: "x" type: DT_FLOAT } '
        'output_arg { name: "y" type: DT_INT64 number_attr: "n" } '
        'attr { name: "n" type: "int" default_value { i: 3 } } }',
        op_def_pb2.OpList(),
    )
    graph = Graph(scoped_graph_def, op_list=op_list)
    assert graph.tensor("layer2/custom:2").dtype == "int64"


def test_dtypes_agree_with_tensorflow():
    import tensorflow as tf

    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 6], name="x")
        parts = tf.split(x, 3, axis=1)
        values, indices = tf.math.top_k(parts[0], k=1)
        unique = tf.unique(tf.reshape(tf.cast(indices, tf.int64), [-1]))
        tf.shape(values, out_type=tf.int64)
        mean, variance = tf.nn.moments(x, axes=[0])
        tf.concat([mean, variance], 0)
        tf.unstack(tf.reshape(x, [-1, 2, 3]), axis=1)
        tf.strings.as_string(unique.idx)
        v1.get_variable("v", [2], use_resource=True)
        v1.get_variable("r", [2], use_resource=False)
    ours = Graph(graph.as_graph_def(add_shapes=True))
    nodes = ours.nodes.set_index("name")
    for op in graph.get_operations():
        assert nodes.loc[op.name, "output_dtypes"] == [t.dtype.name for t in op.outputs], op.name
        assert nodes.loc[op.name, "num_outputs"] == len(op.outputs)
        shapes = [
            tuple(t.shape.as_list()) if t.shape.rank is not None else None for t in op.outputs
        ]
        assert nodes.loc[op.name, "output_shapes"] == shapes, op.name


# -- tensors ------------------------------------------------------------------------------------
def test_tensor_lookup(scoped):
    t = scoped.tensor("layer2/split:1")
    assert (t.op, t.op_type, t.output_index, t.dtype) == ("layer2/split", "Split", 1, "float32")
    assert t.consumers == [("layer2/custom", 0)]
    assert scoped.tensor("layer1/W:0").consumers == [("layer1/dense/MatMul", 1)]


def test_op_name_is_not_a_tensor(scoped):
    with pytest.raises(TensorNotFoundError) as info:
        scoped.tensor("layer2/split")
    message = str(info.value)
    assert "'layer2/split' is an op, not a tensor" in message
    assert "'layer2/split:0' (float32), 'layer2/split:1' (float32)" in message
    assert info.value.suggestions == ["layer2/split:0", "layer2/split:1"]


def test_bad_output_index(scoped):
    with pytest.raises(TensorNotFoundError) as info:
        scoped.tensor("layer1/dense/MatMul:3")
    assert "op 'layer1/dense/MatMul' (MatMul) has 1 output: layer1/dense/MatMul:0" in str(
        info.value
    )


def test_misspelled_tensor(scoped):
    with pytest.raises(TensorNotFoundError) as info:
        scoped.tensor("layer1/dense/Relux:0")
    assert "layer1/dense/Relu:0" in info.value.suggestions
    with pytest.raises(TensorNotFoundError) as info:
        scoped.node("matmul")
    assert "layer1/dense/MatMul" in info.value.suggestions
    assert isinstance(info.value, KeyError)


def test_resource_variable_handle(demo):
    handle = demo.tensor("layer1/W:0")
    assert handle.dtype == "resource" and handle.op_type == "VarHandleOp"
    assert handle.is_resource_handle and not handle.is_reference
    assert "layer1/W/Read/ReadVariableOp:0" in handle.value_tensors
    assert "handle" in handle.note and "ReadVariableOp" in handle.note
    value = demo.tensor("layer1/W/Read/ReadVariableOp:0")
    assert value.dtype == "float32" and value.shape == (3, 16)
    assert value.variable == "layer1/W"
    with pytest.raises(TensorNotFoundError, match=r"'layer1/W:0' \(resource\)"):
        demo.tensor("layer1/W")


def test_ref_variable(graph_files):
    meta = MetaGraph.from_file(graph_files["ref_variables"])
    variable = meta.tensor("W:0")
    assert variable.dtype == "float32_ref" and variable.is_reference
    assert not variable.is_resource_handle
    assert variable.value_tensors[:2] == ["W:0", "W/read:0"]
    read = meta.tensor("W/read:0")
    assert read.dtype == "float32" and read.variable == "W"


def test_node_record(demo):
    node = demo.node("layer1/MatMul")
    assert node.op == "MatMul" and node.scope == "layer1"
    assert node.inputs == ["inputs/x:0", "layer1/MatMul/ReadVariableOp:0"]
    assert node.attrs["T"] == "float32" and node.attrs["transpose_a"] is False
    assert [t.dtype for t in node.outputs] == ["float32"]
    assert "layer1/add" in node.consumers
    train = demo.node("train/Adam")
    assert train.collections == ["train_op"] and train.outputs == []
    assert demo.node("layer1/W:0").name == "layer1/W"  # a tensor name finds its op


# -- search -------------------------------------------------------------------------------------
def test_find(demo):
    graph = demo.graph
    found = graph.find("w/adam")
    assert found["name"].iloc[0] == "layer1/W/Adam"  # exact name beats longer names
    assert all("w/adam" in n.lower() for n in found["name"])
    assert list(graph.find("re:^layer[12]/W$")["name"]) == ["layer1/W", "layer2/W"]
    assert list(graph.find(re.compile(r"^layer2/b$"))["name"]) == ["layer2/b"]
    globbed = graph.find("layer*/W")
    assert set(globbed["name"]) == {"layer1/W", "layer2/W"}
    assert set(graph.find("*", op="VarHandleOp")["name"]) >= {"global_step", "layer1/W"}
    assert graph.find("nothing-like-this").empty
    tensors = graph.tensors("re:^layer1/W$")
    assert tensors[["name", "dtype"]].values.tolist() == [["layer1/W:0", "resource"]]


# -- scopes ---------------------------------------------------------------------------------
def test_scope_tree_counts_add_up(scoped, demo):
    for graph in (scoped, demo.graph):
        root = graph.scopes
        assert root.op_count == len(graph)
        assert sum(root.op_types.values()) == len(graph)
        for scope in root.walk():
            below = len(scope.ops) + sum(c.op_count for c in scope.children.values())
            assert scope.op_count == below
        assert sum(len(s.ops) for s in root.walk()) == len(graph)
        for depth in (1, 2, 3):
            assert graph.op_counts(depth)["op_count"].sum() == len(graph)


def test_op_named_like_a_scope(scoped):
    layer1 = scoped.scope("layer1")
    assert layer1.node == "layer1"
    assert "layer1" in scoped.scopes.ops  # the NoOp sits in the root
    assert layer1.op_count == 3 and layer1.op_types["MatMul"] == 1
    assert scoped.scope("layer2/deep/a/b").ops == ["layer2/deep/a/b/out"]
    counts = scoped.op_counts(depth=1).set_index("scope")["op_count"].to_dict()
    assert counts == {"layer1": 3, "layer2": 4, "": 3}
    with pytest.raises(TensorNotFoundError) as info:
        scoped.scope("layer3")
    assert "layer2" in info.value.suggestions


# -- functions and control flow -----------------------------------------------------------
def test_function_library(graph_files):
    graph = Graph(_graph_def_of(graph_files["function_graph"]))
    assert len(graph.functions) == len(graph._library) >= 4
    call = graph.nodes.set_index("name").loc["PartitionedCall"]
    assert call["function"].startswith("__inference_halves")
    assert call["output_dtypes"] == ["float32", "float32"]
    body = graph.functions[call["function"]]
    assert body.is_function and body.signature["inputs"] == [("v", "float32")]
    assert body.node_op("v") == "_Arg"
    # 'split:output:1' resolved to the flat output index 1
    assert body.node("Identity_1").inputs == ["split:1"]
    assert body.tensor("split:1").consumers == [("Identity_1", 0)]
    assert [n for n in body if body.node_op(n) == "_Retval"] == ["identity", "identity_1"]
    assert body.scopes.op_count == len(body)
    while_node = graph.node("while")
    assert set(while_node.functions) == {"body", "cond"}
    assert while_node.functions["body"] in graph.functions
    with pytest.raises(TensorNotFoundError):
        graph.functions["no_such_function"]


def test_control_flow_v2(graph_files):
    meta = MetaGraph.from_file(graph_files["control_flow_v2"])
    types = meta.graph.op_types()
    assert types["While"] + types["StatelessWhile"] == 1
    assert types["If"] + types["StatelessIf"] == 1
    assert len(meta.functions) == 4
    library = {f.signature.name: f for f in meta.proto.graph_def.library.function}
    for name, body in meta.functions.items():
        function = library[name]
        args, results = len(function.signature.input_arg), len(function.signature.output_arg)
        assert len(body) == args + len(function.node_def) + results, name
        assert body.op_types()["_Arg"] == args and body.op_types()["_Retval"] == results
        assert body.scopes.op_count == len(body), name
        assert all(dtype is not None for dtype, _ in body.signature["inputs"])
    while_op = (
        meta.graph.find("*", op="While")["name"].tolist()
        or meta.graph.find("*", op="StatelessWhile")["name"].tolist()
    )
    assert set(meta.graph.node(while_op[0]).functions.values()) <= set(meta.functions)


def test_control_flow_v1(graph_files):
    meta = MetaGraph.from_file(graph_files["control_flow_v1"])
    types = meta.graph.op_types()
    assert {"Enter", "Exit", "Merge", "Switch", "NextIteration", "LoopCond"} <= set(types)
    switch = meta.graph.find("*", op="Switch")["name"].iloc[0]
    assert meta.graph.nodes.set_index("name").loc[switch, "num_outputs"] == 2
    assert meta.collections["while_context"] == ["loop/while/while_context"]
    assert len(meta.collections["cond_context"]) == 2


def test_large_graph_model_and_scope_tree():
    """20,000 ops in 1,000 scopes: every op is in the scope tree and every edge is kept.
    (How fast this is, against ParseFromString, is measured in bench/run.py, not asserted.)"""
    from tensorflow.core.protobuf import meta_graph_pb2

    meta = meta_graph_pb2.MetaGraphDef()
    for i in range(20000):
        node = meta.graph_def.node.add(name=f"tower{i % 20}/block{i % 50}/op{i}", op="AddV2")
        node.attr["T"].type = 1
        node.attr["_output_shapes"].list.shape.add().dim.add(size=i)
        if i > 1:
            node.input.extend([node.name.replace(f"op{i}", f"op{i - 1}"), "tower0/block0/op0:0"])
    graph = Graph(meta.graph_def)
    assert graph.scopes.op_count == 20000
    assert len(graph.scopes.children) == 20
    assert len(graph.edges) == 2 * (20000 - 2)


def test_the_variable_op_sets_are_registered_ops_and_nested():
    from tensorflow.python.framework import op_def_registry

    from tfexplore.graph import ops
    from tfexplore.scene.hierarchy import op_role

    assert ops.VARIABLE_OPS == ops.REF_VARIABLE_OPS | ops.RESOURCE_VARIABLE_OPS
    assert ops.VARIABLE_ROLE_OPS == ops.VARIABLE_OPS | ops.VARIABLE_ACCESS_OPS
    unknown = [op for op in ops.VARIABLE_ROLE_OPS | ops.CALL_OPS if op_def_registry.get(op) is None]
    assert unknown == []
    assert {op_role("a/v", op) for op in ops.VARIABLE_ROLE_OPS} == {"variable"}
