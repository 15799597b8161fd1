"""A session's errors: its own subclasses of ``TFExploreError`` (caught as before by ``except
TFExploreError``), and every ``hint=`` in ``tfexplore`` names things that exist: the session
methods, their arguments, the ``tfexplore`` functions and attributes a hint tells a user to call,
the arguments of the objects a hint names (``GraphView``, ``LayoutParams``, ``safety.check``)."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
from pathlib import Path

import pytest

import tfexplore
from tfexplore import errors
from tfexplore.artifacts.checkpoint import Checkpoint, CheckpointDir
from tfexplore.artifacts.keras import KerasFile
from tfexplore.artifacts.metagraph import MetaGraph
from tfexplore.live import RestoreReport, Session
from tfexplore.safety import check
from tfexplore.scene import LayoutParams
from tfexplore.widgets import GraphView

tf = pytest.importorskip("tensorflow")
v1 = tf.compat.v1
PACKAGE = Path(tfexplore.__file__).parent
#: arguments of other programs a hint may tell a user to pass (Keras's ``model.save``)
FOREIGN_ARGUMENTS = {"weights_format", "dtype"}  # Keras's model.save, numpy's asarray


def _texts(node) -> list[str]:
    """The strings an expression can make, ``{}`` for each part only known at run time."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        out = [""]
        for value in node.values:
            parts = _texts(value) if isinstance(value, ast.Constant) else ["{}"]
            out = [o + p for o in out for p in parts]
        return out
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return [a + b for a in _texts(node.left) for b in _texts(node.right)]
    if isinstance(node, ast.IfExp):
        return _texts(node.body) + _texts(node.orelse)
    return ["{}"]


def package_hints() -> list[tuple[str, int, str]]:
    """``(file, line, text)`` of every ``hint=`` argument, ``hint = ...`` and ``..._HINT = ...``
    in the package."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            values = []
            if isinstance(node, ast.Call):
                values = [k.value for k in node.keywords if k.arg == "hint"]
            elif isinstance(node, (ast.Assign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = [t.id for t in targets if isinstance(t, ast.Name)]
                if any(n == "hint" or n.endswith("_HINT") for n in names):
                    values = [node.value]
            where = path.relative_to(PACKAGE).as_posix()
            found += [(where, node.lineno, t) for v in values for t in _texts(v)]
    return found


def _parameters(function) -> set[str]:
    return set(inspect.signature(function).parameters)


def _public(cls) -> dict:
    return {name: getattr(cls, name) for name in dir(cls) if not name.startswith("_")}


def _problems(text: str) -> list[str]:
    report = RestoreReport(__import__("pandas").DataFrame(), checkpoint="x")
    session_api = _public(Session)
    arguments = _parameters(tfexplore.session) | _parameters(tfexplore.open) | FOREIGN_ARGUMENTS
    for member in session_api.values():
        if callable(member):
            arguments |= _parameters(member)
    arguments |= _parameters(check) | {f.name for f in dataclasses.fields(LayoutParams)}
    arguments |= _parameters(GraphView.__init__) | set(GraphView.class_trait_names())
    for method in (Checkpoint.stats, Checkpoint.diff, CheckpointDir.history):  # engine=
        arguments |= _parameters(method)
    from tfexplore.artifacts.checkpoint.dynamics import Thresholds

    # dynamics(thresholds=...), Thresholds(growth=...)
    arguments |= _parameters(CheckpointDir.dynamics) | {
        f.name for f in dataclasses.fields(Thresholds)
    }
    from tfexplore.edit.plan import SET_FIELDS, rewrite

    arguments |= _parameters(rewrite) | set(SET_FIELDS)  # to=, prefix=, plan.set(action=)
    arguments |= _parameters(GraphView.overlay) if hasattr(GraphView, "overlay") else set()
    problems = []
    for owner, name, args in re.findall(r"\b(session|tfexplore)\.(\w+)(\([^()]*\))?", text):
        where = session_api if owner == "session" else vars(tfexplore)
        if name not in where:
            problems.append(f"{owner}.{name} does not exist")
            continue
        if args and callable(where[name]):
            given = set(re.findall(r"(\w+)=", args))
            if not given <= _parameters(where[name]):
                problems.append(f"{owner}.{name} takes no {sorted(given)}")
    for name in re.findall(r"(?<![\w.=-])([a-z_]+)=(?!=)", text):
        if name not in arguments:
            problems.append(f"no session function takes {name}=")
    for name in re.findall(r"err\.report\.(\w+)", text):
        if not hasattr(report, name):
            problems.append(f"RestoreReport has no {name}")
    for chained in re.findall(r"tfexplore\.open\([^()]*\)\.(\w+)", text):
        if not any(hasattr(kind, chained) for kind in (Checkpoint, KerasFile, MetaGraph)):
            problems.append(f"an opened artifact has no {chained}")
    for name in re.findall(r"\btf\.([\w.]+)\(", text):
        if not hasattr(tf, name.split(".")[0]):
            problems.append(f"tf.{name} does not exist")
    return problems


def test_every_hint_names_what_exists():
    hints = package_hints()
    assert len(hints) > 100  # the walk sees them
    wrong = [f"{file}:{line}: {text!r}: {p}" for file, line, text in hints for p in _problems(text)]
    assert wrong == []


def test_the_hint_checker_sees_a_wrong_name():
    assert _problems("call session.restor(checkpoint)") == ["session.restor does not exist"]
    assert _problems("session.restore(x, partal=True)") == [
        "session.restore takes no ['partal']",
        "no session function takes partal=",
    ]
    assert _problems("tfexplore.opn(path)") == ["tfexplore.opn does not exist"]
    assert _problems("session.restore(ckpt, mapping=err.report.proposed_mapping)") == []


def test_session_errors_are_tfexplore_errors():
    for name in (
        "SessionClosedError",
        "NothingToRestoreError",
        "NothingToTrainError",
        "TrainOpNotFoundError",
        "NotInitializedError",
        "GraphRunError",
        "BatchMismatchError",
        "NoSnapshotError",
        "SourceLoadError",
    ):
        cls = getattr(errors, name)
        assert issubclass(cls, errors.SessionError) and issubclass(cls, errors.TFExploreError)
        assert name in errors.__all__


def test_a_session_raises_its_own_errors():
    graph = tf.Graph()
    with graph.as_default():
        v1.get_variable("w", initializer=1.0)
    live = tfexplore.session(graph)
    assert live.model is None and live.graph is graph  # the protocol's attributes, no switch
    with pytest.raises(errors.NoSnapshotError, match="no snapshot"):
        live.rollback()
    with pytest.raises(errors.TrainOpNotFoundError, match="train_op"):
        live.train(1)
    with pytest.raises(errors.BatchMismatchError):
        live._backend.batch_feed((1.0, 2.0))
    live.close()
    with pytest.raises(errors.SessionClosedError) as caught:
        live.snapshot()
    assert isinstance(caught.value, errors.TFExploreError)
