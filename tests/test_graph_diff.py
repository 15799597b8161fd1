"""``tfexplore.diff_graphs``: known edits made at random to real graphs (a TF1 MLP trained with
Adam, and the tiny BERT-like pre-training graph of ``bench/generate.py``) are found exactly:
precision and recall 1.0, the same sets. A renamed scope is one row of ``renames`` and its ops
are ``renamed``, not added and removed; the ops that consume it are not ``changed``."""

from __future__ import annotations

import random
import sys
from collections import defaultdict
from pathlib import Path

import pytest

import tfexplore
from tfexplore.graph import Graph
from tfexplore.graph.diff import FRAME_COLUMNS, RENAME_COLUMNS, GraphDiff

BENCH = Path(__file__).resolve().parent.parent / "bench"
SEEDS = range(8)


# ---------------------------------------------------------------------------------------------
# Graphs made by TensorFlow
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mlp_graph_def(demo_meta):
    """The demo run's graph (MLP 3-16-1, Adam, global_step), as saved in its ``.meta``."""
    return tfexplore.open(demo_meta).proto.graph_def


@pytest.fixture(scope="module")
def bert_graph_def():
    """The tiny BERT-like training graph of the benchmarks (reference variables, Adam)."""
    sys.path.insert(0, str(BENCH))
    try:
        import generate
    finally:
        sys.path.remove(str(BENCH))
    graph, _ = generate.build_graph(generate.SCALES["tiny"])
    return graph.as_graph_def(add_shapes=True)


@pytest.fixture(params=["mlp", "bert"])
def graph_def(request, mlp_graph_def, bert_graph_def):
    return {"mlp": mlp_graph_def, "bert": bert_graph_def}[request.param]


# ---------------------------------------------------------------------------------------------
# Known edits, and what a diff must find after them
# ---------------------------------------------------------------------------------------------
class Edited:
    """A copy of a GraphDef edited at random (seeded), and the truth about each op."""

    def __init__(self, graph_def, seed: int) -> None:
        self.a = graph_def
        self.b = type(graph_def)()
        self.b.CopyFrom(graph_def)
        self.rng = random.Random(seed)
        self.b_name = {node.name: node.name for node in graph_def.node}  # a name -> b name
        self.removed: set[str] = set()
        self.added: set[str] = set()
        self.changes: dict[str, set[str]] = defaultdict(set)  # a name -> change kinds
        self.renamed_scope: tuple[str, str] | None = None
        self.touched: set[str] = set()  # b names edited (not picked again)
        self.focus: str | None = None  # edits pick ops under this scope when it has some

    # -- helpers -------------------------------------------------------------------------
    def nodes(self) -> dict:
        return {node.name: node for node in self.b.node}

    def a_name(self, b_name: str) -> str:
        return next(a for a, b in self.b_name.items() if b == b_name)

    def pick(self, candidates):
        candidates = sorted(candidates)
        if self.focus is not None:
            inside = [c for c in candidates if _name_of(c).startswith(self.focus + "/")]
            candidates = inside or candidates
        return self.rng.choice(candidates) if candidates else None

    # -- the edits -----------------------------------------------------------------------
    def rename_scope(self, consumed: bool = False) -> None:
        """A scope of 6 ops or more (at most a third of the graph) gets a new last part;
        ``consumed``: a scope that ops outside it consume."""
        counts: dict[str, int] = defaultdict(int)
        for node in self.b.node:
            parts = node.name.split("/")
            for depth in range(1, len(parts)):
                counts["/".join(parts[:depth])] += 1
        limit = len(self.b.node) // 3
        scopes = {s for s, n in counts.items() if 6 <= n <= limit}
        if consumed:
            scopes = {s for s in scopes if self._consumed_from_outside(s)}
        old = self.pick(scopes)
        new = old + "_renamed"
        assert not any(n.name.startswith(new) for n in self.b.node)

        def rename(name: str) -> str:
            return new + name[len(old) :] if name == old or name.startswith(old + "/") else name

        for node in self.b.node:
            node.name = rename(node.name)
            inputs = [("^" + rename(t[1:])) if t[0] == "^" else rename(t) for t in node.input]
            del node.input[:]
            node.input.extend(inputs)
            if "_class" in node.attr:  # colocation names follow, as TensorFlow writes them
                values = [
                    b"loc:@" + rename(v.decode()[5:]).encode() for v in node.attr["_class"].list.s
                ]
                del node.attr["_class"].list.s[:]
                node.attr["_class"].list.s.extend(values)
        self.b_name = {a: rename(b) for a, b in self.b_name.items()}
        self.renamed_scope = (old, new)

    def _consumed_from_outside(self, scope: str) -> bool:
        for node in self.b.node:
            if node.name == scope or node.name.startswith(scope + "/"):
                continue
            for text in node.input:
                if text.lstrip("^").startswith(scope + "/"):
                    return True
        return False

    def delete_branch(self) -> None:
        """An op and everything that consumes it (data or control, transitively): 2-12 ops."""
        consumers: dict[str, set[str]] = defaultdict(set)
        for node in self.b.node:
            for text in node.input:
                consumers[text.lstrip("^").rpartition(":")[0] or text.lstrip("^")].add(node.name)

        def branch(root: str) -> set[str]:
            found, stack = {root}, [root]
            while stack:
                for consumer in consumers[stack.pop()]:
                    if consumer not in found:
                        found.add(consumer)
                        stack.append(consumer)
                        if len(found) > 12:
                            return found
            return found

        options = {}
        for node in self.b.node:
            ops = branch(node.name)
            if 2 <= len(ops) <= 12 and not ops & self.touched:
                options[node.name] = ops
        root = self.pick(options)
        doomed = options[root]
        kept = [node for node in self.b.node if node.name not in doomed]
        del self.b.node[:]
        self.b.node.extend(kept)
        for b_name in doomed:
            a_name = self.a_name(b_name)
            del self.b_name[a_name]
            self.removed.add(a_name)
            self.changes.pop(a_name, None)

    def insert_op(self, k: int) -> None:
        """A ``CheckNumerics`` op put on a data edge: added, and its consumer's inputs change."""
        nodes = self.nodes()
        consumer = self.pick(
            n
            for n, node in nodes.items()
            if any(t[0] != "^" for t in node.input) and n not in self.touched
        )
        node = nodes[consumer]
        positions = [p for p, t in enumerate(node.input) if t[0] != "^"]
        position = self.rng.choice(positions)
        scope = consumer.rpartition("/")[0]
        name = (scope + "/" if scope else "") + f"check_numerics_{k}"
        new = self.b.node.add(name=name, op="CheckNumerics", input=[node.input[position]])
        new.attr["T"].type = node.attr["T"].type if "T" in node.attr else 1
        new.attr["message"].s = f"inserted {k}".encode()
        node.input[position] = name
        self.added.add(name)
        self.changes[self.a_name(consumer)].add("inputs")
        self.touched.update({consumer, name})

    def change_attr(self) -> None:
        """One attribute of one op: a type, flag, number, string, list or a tensor's bytes."""
        nodes = self.nodes()
        options = []
        for name, node in nodes.items():
            if name in self.touched or name in self.added:
                continue
            for key, value in node.attr.items():
                if key in ("_class", "_output_shapes") or (key == "shape" and _shape_op(node)):
                    continue
                if value.WhichOneof("value") in ("type", "b", "i", "f", "s", "tensor", "list"):
                    options.append((name, key))
        name, key = self.pick(options)
        value = nodes[name].attr[key]
        kind = value.WhichOneof("value")
        if kind == "type":
            value.type = 19 if value.type != 19 else 1  # float16 <-> float32
        elif kind == "b":
            value.b = not value.b
        elif kind == "i":
            value.i += 1
        elif kind == "f":
            value.f += 0.5
        elif kind == "s":
            value.s += b"_x"
        elif kind == "tensor":
            tensor = value.tensor
            if tensor.tensor_content:
                content = bytearray(tensor.tensor_content)
                content[0] ^= 0xFF
                tensor.tensor_content = bytes(content)
            else:
                tensor.string_val.append(b"x") if tensor.dtype == 7 else tensor.float_val.append(
                    9.5
                )
        else:
            value.list.i.append(7)
        self.changes[self.a_name(name)].add(f"attr:{key}")
        self.touched.add(name)

    def change_shape(self) -> None:
        """The ``shape`` of a placeholder or variable (and its recorded output shape)."""
        nodes = self.nodes()
        name = self.pick(
            n
            for n, node in nodes.items()
            if _shape_op(node) and "shape" in node.attr and n not in self.touched
        )
        if name is None:
            return
        node = nodes[name]
        dims = node.attr["shape"].shape.dim
        if dims:
            dims[0].size = dims[0].size + 3 if dims[0].size >= 0 else 5
        else:
            dims.add(size=2)
        if "_output_shapes" in node.attr and node.op != "VarHandleOp":
            node.attr["_output_shapes"].list.shape[0].CopyFrom(node.attr["shape"].shape)
        self.changes[self.a_name(name)].add("shape")
        self.touched.add(name)

    def change_device(self) -> None:
        nodes = self.nodes()
        name = self.pick(n for n in nodes if n not in self.touched and n not in self.added)
        nodes[name].device = "/device:CPU:0" if nodes[name].device != "/device:CPU:0" else ""
        self.changes[self.a_name(name)].add("device")
        self.touched.add(name)

    # -- the truth -----------------------------------------------------------------------
    def expected(self) -> set[tuple]:
        """An op renamed and edited is ``changed`` (with both names): a rename alone is no
        change to what the graph computes, an edit is, and the counts, summary and colours
        show statuses, not the ``changes`` column of a ``renamed`` row."""
        found = set()
        for a, b in self.b_name.items():
            changes = frozenset(self.changes.get(a, ()))
            if a != b:
                found.add(("changed" if changes else "renamed", a, b, changes))
            elif changes:
                found.add(("changed", a, b, changes))
        found |= {("removed", a, None, frozenset()) for a in self.removed}
        found |= {("added", None, b, frozenset()) for b in self.added}
        return found


def _name_of(candidate) -> str:
    return candidate[0] if isinstance(candidate, tuple) else candidate


def _shape_op(node) -> bool:
    return node.op in (
        "Placeholder",
        "PlaceholderV2",
        "PlaceholderWithDefault",
        "VariableV2",
        "Variable",
        "VarHandleOp",
    )


def _found(result: GraphDiff) -> set[tuple]:
    return {
        (row.status, row.name_a, row.name_b, frozenset(row.changes))
        for row in result.changes.itertuples(index=False)
    }


def _precision_recall(found: set, expected: set) -> tuple[float, float]:
    hits = len(found & expected)
    precision = hits / len(found) if found else 1.0
    recall = hits / len(expected) if expected else 1.0
    return precision, recall


def _random_edits(graph_def, seed: int, *, inside: bool = False) -> Edited:
    """Rename a scope, delete a branch, insert ops, change attributes, a shape, a device;
    ``inside``: the edits after the rename pick ops of the renamed scope where they can."""
    edited = Edited(graph_def, seed)
    edited.rename_scope()
    if inside:
        edited.focus = edited.renamed_scope[1]
    edited.delete_branch()
    for k in range(edited.rng.randint(1, 3)):
        edited.insert_op(k)
    for _ in range(edited.rng.randint(1, 3)):
        edited.change_attr()
    edited.change_shape()
    edited.change_device()
    return edited


# ---------------------------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("inside", [False, True], ids=["anywhere", "inside-renamed"])
@pytest.mark.parametrize("seed", SEEDS)
def test_random_edits_are_found_exactly(graph_def, seed, inside):
    edited = _random_edits(graph_def, seed, inside=inside)
    result = tfexplore.diff_graphs(edited.a, edited.b)
    found, expected = _found(result), edited.expected()
    assert _precision_recall(found, expected) == (1.0, 1.0), (
        f"missed: {sorted(expected - found, key=str)}\nwrong: {sorted(found - expected, key=str)}"
    )
    assert found == expected
    # the renamed scope is one row, its ops renamed (not added and removed)
    old, new = edited.renamed_scope
    moved = sum(1 for a, b in edited.b_name.items() if a != b)
    edited_too = sum(1 for a, b in edited.b_name.items() if a != b and edited.changes.get(a))
    assert [tuple(r) for r in result.renames.itertuples(index=False)] == [(old, new, moved)]
    assert result.counts["renamed"] == moved - edited_too
    assert result.counts["changed"] == sum(1 for row in expected if row[0] == "changed")
    assert edited_too or not inside, "edits inside the renamed scope: renamed and changed ops"
    assert f"1 scope renamed ({old} -> {new}, {moved} ops)" in repr(result)
    # every op of both graphs is one row of the frame, once
    assert len(result.frame) == len(edited.b.node) + len(edited.removed)
    assert result.frame["name"].is_unique
    assert set(result.status.index) == set(result.frame["name"])


@pytest.mark.parametrize("seed", SEEDS)
def test_a_renamed_scope_leaves_its_consumers_unchanged(graph_def, seed):
    edited = Edited(graph_def, seed)
    edited.rename_scope(consumed=True)
    result = tfexplore.diff_graphs(edited.a, edited.b)
    old, new = edited.renamed_scope
    inside = {a for a, b in edited.b_name.items() if a != b}
    consumers = {
        node.name
        for node in edited.a.node
        if node.name not in inside
        and any(t.lstrip("^").split(":")[0] in inside for t in node.input)
    }
    assert consumers, "the scope is consumed by ops outside it"
    assert set(result.status[sorted(consumers)]) == {"same"}
    assert result.counts == {
        "changed": 0,
        "added": 0,
        "removed": 0,
        "renamed": len(inside),
        "same": len(edited.a.node) - len(inside),
    }
    assert list(result.renames.itertuples(index=False, name=None)) == [(old, new, len(inside))]
    assert set(result.changes["status"]) == {"renamed"}
    assert all(changes == () for changes in result.changes["changes"])


def test_a_graph_against_itself_is_all_same(graph_def):
    for b in (graph_def, Graph(graph_def)):
        result = tfexplore.diff_graphs(Graph(graph_def), b)
        assert set(result.frame["status"]) == {"same"}
        assert result.counts["same"] == len(graph_def.node)
        assert result.changes.empty and result.renames.empty
        assert list(result.frame.columns) == list(FRAME_COLUMNS)
        assert list(result.renames.columns) == list(RENAME_COLUMNS)
        assert (
            repr(result) == f"GraphDiff: 0 changed, 0 added, 0 removed, {len(graph_def.node)} same"
        )


def test_details_and_side_by_side(mlp_graph_def):
    edited = Edited(mlp_graph_def, 0)
    nodes = edited.nodes()
    matmul = next(n for n, node in nodes.items() if node.op == "MatMul")
    nodes[matmul].attr["transpose_a"].b = True
    placeholder = next(n for n, node in nodes.items() if node.op == "Placeholder")
    nodes[placeholder].attr["shape"].shape.dim[1].size = 7
    result = tfexplore.diff_graphs(edited.a, edited.b)
    row = result.frame.set_index("name").loc[matmul]
    assert (row.status, row.changes) == ("changed", ("attr:transpose_a",))
    assert row.detail == "attr transpose_a: False -> True"
    assert result.frame.set_index("name").loc[placeholder].changes == ("shape",)
    assert "shape: (None, 3) -> (None, 7)" in result.frame.set_index("name").loc[placeholder].detail
    both = result.side_by_side(matmul)
    assert both["status"] == "changed" and both["changes"] == ["attr:transpose_a"]
    assert both["a"]["attrs"]["transpose_a"] is False and both["b"]["attrs"]["transpose_a"] is True
    assert both["a"]["op"] == both["b"]["op"] == "MatMul"
    assert both["a"]["inputs"] == both["b"]["inputs"]
    with pytest.raises(tfexplore.TensorNotFoundError) as error:
        result.side_by_side(matmul + "x")
    assert matmul in error.value.suggestions
    assert "2 changed, 0 added" in result._repr_html_()


def test_union_graph_def_draws_both(graph_def):
    edited = _random_edits(graph_def, 3)
    result = tfexplore.diff_graphs(edited.a, edited.b)
    union = result.union_graph_def()
    names = [node.name for node in union.node]
    assert names == list(result.frame["name"])  # b's ops, then the removed ones
    graph = Graph(union)
    assert not graph.duplicate_names
    union_names = set(names)
    for node in union.node:  # every input is an op of the union: renames followed
        for text in node.input:
            assert text.lstrip("^").split(":")[0] in union_names, (node.name, text)
    removed = set(result.frame.loc[result.frame["status"] == "removed", "name"])
    assert removed == edited.removed
    side = result.side_by_side(sorted(removed)[0])
    assert side["b"] is None and side["a"]["name"] == sorted(removed)[0]


def test_paths_and_artifacts(demo_run, demo_meta):
    same = len(tfexplore.open(demo_meta).graph)
    sources = [
        demo_meta,  # a .meta path
        str(demo_run / "model.ckpt-20"),  # a checkpoint prefix: its .meta
        tfexplore.open(demo_run),  # a checkpoint folder: the latest .meta
        tfexplore.open(demo_meta),  # a MetaGraph
        tfexplore.open(demo_meta).proto,  # a MetaGraphDef proto
        tfexplore.open(demo_meta).graph,  # a tfexplore Graph
    ]
    for source in sources:
        result = tfexplore.diff_graphs(demo_meta, source)
        assert result.counts["same"] == same and len(result.changes) == 0, source


def test_tf_graph_and_saved_models(tf1_saved_model, tf2_saved_model):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 2], name="x")
        tf.nn.relu(x, name="y")
    changed = tf.Graph()
    with changed.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 2], name="x")
        tf.nn.relu6(x, name="y")
    result = tfexplore.diff_graphs(graph, changed)
    assert result.status.to_dict() == {"x": "same", "y": "changed"}
    assert result.frame.set_index("name").loc["y", "changes"] == ("op",)
    for folder in (tf1_saved_model, tf2_saved_model):
        result = tfexplore.diff_graphs(folder, tfexplore.open(folder))
        assert result.counts["same"] == len(tfexplore.open(folder).graph) > 0
    # a TF2 export: the meta graph whose library holds the functions
    assert tfexplore.diff_graphs(tf2_saved_model, tf2_saved_model)._b.graph._library


def test_something_without_a_graph_is_a_clear_error(tf2_manager_run, keras_models, demo_meta):
    keras_file = keras_models.keras
    for source in (tf2_manager_run, keras_file, 42):
        with pytest.raises(tfexplore.TFExploreError) as error:
            tfexplore.diff_graphs(source, demo_meta)
        assert "holds no graph" in str(error.value)
        assert "expected" in str(error.value)
    with pytest.raises(tfexplore.TFExploreError):
        tfexplore.diff_graphs(demo_meta, 42)


def test_function_bodies_of_a_saved_model(tf2_saved_model):
    """Library functions (their ``_Arg`` and ``_Retval`` ops have no NodeDef) diff too."""
    functions = tfexplore.open(tf2_saved_model).graph.functions
    call = next(name for name in functions if "signature_wrapper" not in name and "call" in name)
    wrapper = next(name for name in functions if "signature_wrapper" in name)
    body = functions[call]
    same = tfexplore.diff_graphs(body, body)
    assert same.counts["same"] == len(body) and same.changes.empty
    other = functions[wrapper]
    result = tfexplore.diff_graphs(body, other)
    assert sum(result.counts.values()) == len(result.frame)
    assert result.counts["same"] + result.counts["changed"] + result.counts["removed"] == len(body)
    shared = set(body) & set(other)
    assert shared and set(result.frame.loc[result.frame["name"].isin(shared), "status"]) <= {
        "same",
        "changed",
    }
    assert set(result.frame.loc[~result.frame["name"].isin(set(other)), "status"]) == {"removed"}


# == TF2 exports: what a call runs is in the function library ==================================
def test_tf2_exports_are_compared_by_what_their_functions_run(tf2_exports):
    """A TF2 export's graph holds only calls; the diff pairs the functions each paired call
    reaches and compares their bodies: new numbers on the same bodies are no change, the same
    names on other bodies are."""
    root = tf2_exports
    # the same model saved twice: every function has a new name, nothing changed
    again = tfexplore.diff_graphs(root / "relu", root / "relu_again")
    assert again.changes.empty and again.function_changes.empty
    functions = again.functions
    assert len(functions) >= 2 and set(functions["status"]) == {"same"}
    assert (functions["function_a"] != functions["function_b"]).all()  # renumbered
    assert "functions: 0 of" in repr(again)
    # one constant apart, under the same function names: the call changed, and why
    constant = tfexplore.diff_graphs(root / "relu6x2", root / "relu6x3")
    call = constant.changes.set_index("name").loc["StatefulPartitionedCall"]
    assert call["status"] == "changed" and call["changes"] == ("function",)
    inner = constant.function_changes
    value = inner[inner["name"] == "mul/y"].iloc[0]
    assert value["changes"] == ("attr:value",) and "2.0 -> float32 () = 3.0" in value["detail"]
    assert value["function_a"] == value["function_b"]  # the same name, another body
    assert set(inner["status"]) == {"changed"}
    # relu -> relu6 times 2: what was added, removed and rewired inside the body
    release = tfexplore.diff_graphs(root / "relu", root / "relu6x2")
    body = release.functions[release.functions["added"] > 0].iloc[0]
    steps = release.function_diff(body["function_b"])
    assert steps is release.function_diff(body["function_a"])
    status = steps.status
    assert status["Relu"] == "removed" and status["Relu6"] == "added"
    assert status["mul"] == "added" and status["MatMul"] == "same"
    assert steps.changes.set_index("name").loc["MatMul_1", "changes"] == ("inputs",)
    assert "(was " in release.changes.set_index("name").loc["StatefulPartitionedCall", "detail"]
    with pytest.raises(tfexplore.TFExploreError, match="No function named"):
        release.function_diff("__inference_nothing_1")


def test_tf1_graphs_follow_no_functions(demo_meta):
    result = tfexplore.diff_graphs(demo_meta, demo_meta)
    assert result.functions.empty and result.function_changes.empty
    assert "functions" not in repr(result)


def _call_chain(length: int, last_value: float):
    """A GraphDef whose one op calls ``f0``, which calls ``f1``... up to ``f<length-1>``,
    whose constant is ``last_value``: a library crafted to nest calls deeply."""
    from tensorflow.core.framework import graph_pb2

    graph = graph_pb2.GraphDef()
    for k in range(length):
        function = graph.library.function.add()
        function.signature.name = f"f{k}"
        call = function.node_def.add(name="call", op="PartitionedCall")
        if k + 1 < length:
            call.attr["f"].func.name = f"f{k + 1}"
        const = function.node_def.add(name="c", op="Const")
        const.attr["dtype"].type = 1
        const.attr["value"].tensor.dtype = 1
        const.attr["value"].tensor.float_val.append(last_value if k == length - 1 else 1.0)
    graph.node.add(name="top", op="PartitionedCall").attr["f"].func.name = "f0"
    return graph


def test_nested_calls_are_followed_to_the_change_and_a_crafted_depth_is_cut():
    from tfexplore.graph.diff import MAX_FUNCTION_DEPTH

    result = tfexplore.diff_graphs(_call_chain(12, 1.0), _call_chain(12, 2.0))
    inner = result.function_changes
    assert set(inner.loc[inner["name"] == "c", "function_b"]) == {"f11"}  # found at the end
    assert result.changes["name"].tolist() == ["top"] and "not followed" not in repr(result)
    assert tfexplore.diff_graphs(_call_chain(12, 1.0), _call_chain(12, 1.0)).changes.empty
    # thousands of nested calls: no RecursionError, the cut said, the deep call not "same"
    deep = tfexplore.diff_graphs(_call_chain(3000, 1.0), _call_chain(3000, 1.0))
    assert len(deep.functions) == MAX_FUNCTION_DEPTH
    assert f"nested over {MAX_FUNCTION_DEPTH} deep not followed" in repr(deep)
    cut = deep.function_changes
    assert cut["detail"].str.contains("not compared").any()


# == An op renamed and changed; _output_shapes on one side ====================================
def _conv_graph(scope: str, stride: int, *, shapes: bool = False):
    """A small TF1 graph: a placeholder, then ``scope/conv`` (a variable, Conv2D with
    ``stride``), a bias and a ReLU; ``shapes``: with the ``_output_shapes`` annotations."""
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 16, 16, 3], name="x")
        with tf.compat.v1.variable_scope(scope):
            kernel = tf.compat.v1.get_variable("conv/kernel", [3, 3, 3, 4])
            bias = tf.compat.v1.get_variable("conv/bias", [4])
            conv = tf.nn.conv2d(x, kernel, strides=[1, stride, stride, 1], padding="SAME")
            tf.nn.relu(tf.nn.bias_add(conv, bias), name="relu")
    return graph.as_graph_def(add_shapes=shapes)


def test_an_op_renamed_and_changed_is_changed():
    """``policy/`` renamed ``pi/`` and the strides of its conv changed: the conv is ``changed``
    (counted, in the summary, coloured as a change), with both names; ``side_by_side`` takes
    either name."""
    result = tfexplore.diff_graphs(_conv_graph("policy", 4), _conv_graph("pi", 2))
    conv = result.frame.set_index("name").loc["pi/Conv2D"]
    assert conv.status == "changed" and result.status["pi/Conv2D"] == "changed"
    assert (conv.name_a, conv.name_b, conv.changes) == (
        "policy/Conv2D",
        "pi/Conv2D",
        ("attr:strides",),
    )
    assert conv.detail == "renamed from policy/Conv2D; attr strides: [1, 4, 4, 1] -> [1, 2, 2, 1]"
    moved = [tuple(r) for r in result.renames.itertuples(index=False)]
    assert moved == [("policy", "pi", result.counts["renamed"] + 1)]  # the conv moved too
    assert result.counts["changed"] == 1 and result.counts["added"] == result.counts["removed"] == 0
    assert repr(result).startswith("GraphDiff: 1 changed, 0 added, 0 removed, 1 scope renamed")
    # side_by_side: the new name, the old name (graph a's) and a renamed-only op's old name
    by_old, by_new = result.side_by_side("policy/Conv2D"), result.side_by_side("pi/Conv2D")
    assert by_old == by_new
    assert by_old["a"]["name"] == "policy/Conv2D" and by_old["b"]["name"] == "pi/Conv2D"
    assert by_old["a"]["attrs"]["strides"] == [1, 4, 4, 1]
    assert result.side_by_side("policy/relu")["b"]["name"] == "pi/relu"
    for wrong in (5, None, ["pi/Conv2D"]):
        with pytest.raises(tfexplore.TensorNotFoundError, match="takes an op name"):
            result.side_by_side(wrong)
    with pytest.raises(tfexplore.TensorNotFoundError) as error:
        result.side_by_side("policy/Conv2")
    assert "policy/Conv2D" in error.value.suggestions
    # a rename alone: the resource variables' shared_name / debug_name follow their op's name
    renamed = tfexplore.diff_graphs(_conv_graph("policy", 4), _conv_graph("pi", 4))
    assert renamed.counts["changed"] == 0 and set(renamed.changes["status"]) == {"renamed"}
    assert all(changes == () for changes in renamed.changes["changes"])
    other = _conv_graph("pi", 4)
    next(n for n in other.node if n.name == "pi/conv/kernel").attr["shared_name"].s = b"pi/other"
    kernel = tfexplore.diff_graphs(_conv_graph("policy", 4), other).frame.set_index("name")
    assert kernel.loc["pi/conv/kernel", "status"] == "changed"
    assert kernel.loc["pi/conv/kernel", "changes"] == ("attr:shared_name",)


def test_output_shapes_on_one_side_is_no_change():
    """A ``.meta`` has the ``_output_shapes`` annotations, a ``.pbtxt`` of the same graph may
    not: no change. On both sides and different, or a placeholder's ``shape``, still is."""
    annotated, bare = _conv_graph("policy", 4, shapes=True), _conv_graph("policy", 4)
    assert sum("_output_shapes" in node.attr for node in annotated.node) > len(bare.node) // 2
    assert not any("_output_shapes" in node.attr for node in bare.node)
    for a, b in ((annotated, bare), (bare, annotated)):
        result = tfexplore.diff_graphs(a, b)
        assert result.changes.empty and result.counts["same"] == len(bare.node), result.changes
    other = type(annotated)()
    other.CopyFrom(annotated)
    nodes = {node.name: node for node in other.node}
    nodes["policy/Conv2D"].attr["_output_shapes"].list.shape[0].dim[1].size = 99
    nodes["x"].attr["shape"].shape.dim[1].size = 32
    result = tfexplore.diff_graphs(annotated, other)
    assert result.changes.set_index("name")["changes"].to_dict() == {
        "policy/Conv2D": ("shape",),
        "x": ("shape",),
    }
    # a placeholder's shape attribute counts even with _output_shapes on one side only
    result = tfexplore.diff_graphs(bare, other)
    assert result.changes.set_index("name")["changes"].to_dict() == {"x": ("shape",)}
    assert "shape: (None, 16, 16, 3) -> (None, 32, 16, 3)" in result.changes.detail.iloc[0]
