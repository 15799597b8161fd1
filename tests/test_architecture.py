"""The house in folders: which layer may import which, read from the source (AST, imports
inside functions included, since they run too), with no cycles between modules.

Layers, lowest first (docs/architecture.md draws them):

- base: ``errors``, ``_tf``, ``_wire``, ``_fs``, ``_files``, ``stats``: no tfexplore imports
  beyond base
- graph: one GraphDef as data
- safety: what may run (the op allowlist, the gate)
- artifacts: looking: files -> objects and DataFrames
- scene: a graph as a picture, plain data
- live: the only package that runs ops
- edit: checkpoint surgery: rewrite plans, their checks, the bundle writer (writes new files,
  runs no op from a file)
- ui: the logic behind each widget, no ipywidgets
- widgets: traits and wiring only
- top: ``tfexplore`` itself, ``cli``, ``demo``, ``_rehearse`` (a child process's program)
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "tfexplore"

BASE = {
    "tfexplore.errors",
    "tfexplore._tf",
    "tfexplore._wire",
    "tfexplore._fs",
    "tfexplore._files",
    "tfexplore._attrs",
    "tfexplore.stats",
}
TOP = {"tfexplore", "tfexplore.__main__", "tfexplore.cli", "tfexplore.demo", "tfexplore._rehearse"}
LAYERS = ["base", "graph", "safety", "artifacts", "scene", "live", "edit", "ui", "widgets", "top"]
MAY_IMPORT = {
    "base": {"base"},
    "graph": {"base", "graph"},
    "safety": {"base", "safety"},
    "artifacts": {"base", "graph", "safety", "artifacts"},
    "scene": {"base", "graph", "scene"},
    "live": {"base", "graph", "safety", "artifacts", "live"},
    "edit": {"base", "graph", "safety", "artifacts", "live", "edit"},
    "ui": {"base", "graph", "safety", "artifacts", "scene", "live", "edit", "ui"},
    "widgets": {"base", "graph", "artifacts", "scene", "live", "edit", "ui", "widgets"},
    "top": set(LAYERS),
}
# Cycles between modules that are known and not yet taken apart, each with its reason. A new
# cycle fails the test; one that is gone fails it too, so this list only shrinks.
KNOWN_CYCLES = {
    # A checkpoint's .meta graph (Checkpoint.meta_graph) and a .meta's checkpoint
    # (MetaGraph.checkpoint): two classes that hand out each other. Since checkpoint.py was
    # split, the folder is in it too: CheckpointDir hands out Checkpoints (and its graphs as
    # MetaGraphs), and Checkpoint.diff takes a folder, compared through its latest checkpoint.
    #
    # Checkpoint.rewrite hands out a RewritePlan (edit/, the one upward import in UPWARD), and
    # the plan opens paths (artifacts.open, hence SavedModels), reads a Checkpoint and its .meta
    # (a TF1 target) and returns the Checkpoint it wrote: the rewrite joins the cycle above.
    frozenset(
        {
            "tfexplore.artifacts.checkpoint",
            "tfexplore.artifacts.checkpoint.prefix",
            "tfexplore.artifacts.checkpoint.folder",
            "tfexplore.artifacts.metagraph",
            "tfexplore.artifacts.open",
            "tfexplore.artifacts.savedmodel",
            "tfexplore.edit.assign",
            "tfexplore.edit.checks",
            "tfexplore.edit.exports",
            "tfexplore.edit.plan",
            "tfexplore.edit.targets",
            "tfexplore.edit.write",
        }
    ),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The tfexplore modules ``name`` imports, anywhere in its body."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:  # `from . import module` imports the module
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in known else target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m in known and m != name}


# Imports that go up a layer, each with its reason; the list only shrinks.
UPWARD = {
    # Checkpoint.rewrite hands out a rewrite plan: looking at a checkpoint is where people start
    # a rewrite, and the plan (which can write) lives in edit/. Nothing in artifacts/ runs it.
    ("tfexplore.artifacts.checkpoint.prefix", "tfexplore.edit.plan"),
}


def layer_of(name: str) -> str:
    if name in BASE:
        return "base"
    if name in TOP:
        return "top"
    layer = name.split(".")[1]
    assert layer in LAYERS, f"{name} is in no layer: add it to the table in {__file__}"
    return layer


def import_graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports_of(name, path, set(found)) for name, path in found.items()}


def test_every_module_imports_only_its_own_and_lower_layers():
    wrong = [
        f"{name} ({layer_of(name)}) imports {target} ({layer_of(target)})"
        for name, targets in import_graph().items()
        for target in sorted(targets)
        if layer_of(target) not in MAY_IMPORT[layer_of(name)] and (name, target) not in UPWARD
    ]
    assert wrong == []


def test_the_layer_table_has_no_cycles():
    for index, layer in enumerate(LAYERS):
        assert MAY_IMPORT[layer] <= set(LAYERS[: index + 1]), layer


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iteratively: the groups of modules that import each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(group)
    return groups


def test_no_import_cycles_between_modules():
    cycles = {frozenset(group) for group in strongly_connected(import_graph())}
    assert cycles - KNOWN_CYCLES == set(), "new import cycles"
    assert KNOWN_CYCLES - cycles == set(), "a known cycle is gone: take it off KNOWN_CYCLES"


def test_the_checker_sees_a_cycle_and_a_wrong_layer():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert strongly_connected(graph) == [{"a", "b", "c"}]
    assert layer_of("tfexplore.live.session") == "live" and layer_of("tfexplore.stats") == "base"
    assert "live" not in MAY_IMPORT["artifacts"]  # looking never reaches the running layer


def test_the_package_holds_only_sources():
    """What ships: Python, the widgets' ES modules and stylesheets, the typing marker; no stray
    files from an editor or a script."""
    shipped = [
        p.relative_to(PACKAGE).as_posix()
        for p in PACKAGE.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    ]
    odd = [p for p in shipped if not p.endswith((".py", ".js", ".css")) and p != "py.typed"]
    assert odd == []


def test_docs_architecture_has_a_line_for_every_module():
    text = (PACKAGE.parent / "docs" / "architecture.md").read_text()
    missing = [
        p.relative_to(PACKAGE).as_posix()
        for p in sorted(PACKAGE.rglob("*.py"))
        if f"- `{p.relative_to(PACKAGE).as_posix()}`: " not in text
    ]
    assert missing == [], "add a line for each to docs/architecture.md"


def test_long_modules_say_why_at_their_top():
    """No module over ~600 lines without a reason written at its top (a docstring paragraph
    that says why it stays one module)."""
    unexplained = []
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = path.read_text().count("\n")
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        reasons = ("one module", "long because", "over 600 lines")
        if lines > 650 and not any(reason in doc for reason in reasons):
            unexplained.append(f"{path.relative_to(PACKAGE)} ({lines} lines)")
    assert unexplained == []
