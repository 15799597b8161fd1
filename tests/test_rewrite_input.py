"""Checkpoint surgery refuses wrong input with a ``RewriteError`` that says what it received,
what it expects and what to try, before anything is written, and leaves the plan usable: rules
of the wrong type, a regex replacement that cannot apply, a search whose regex does not
compile, ``plan.set`` values the checks cannot read, a Keras file given as the source, and the
same from the command line."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import tfexplore
from tfexplore import cli, demo
from tfexplore.edit.bundle_writer import write_bundle
from tfexplore.errors import RewriteError


@pytest.fixture()
def prefix(tmp_path) -> Path:
    """A small real V2 checkpoint: a kernel, a bias and an Adam slot of the kernel."""
    prefix = tmp_path / "src" / "model.ckpt"
    prefix.parent.mkdir()
    write_bundle(
        prefix,
        [
            ("dense/kernel", np.arange(6, dtype=np.float32).reshape(2, 3)),
            ("dense/bias", np.zeros(3, dtype=np.float32)),
            ("dense/kernel/Adam", np.ones((2, 3), dtype=np.float32)),
        ],
    )
    return prefix


def _refused(call, *received: str) -> RewriteError:
    """The RewriteError ``call`` raises; its message names each of ``received`` and it has
    an expectation or a hint."""
    with pytest.raises(RewriteError) as caught:
        call()
    error = caught.value
    for text in received:
        assert text in str(error), (text, str(error))
    assert error.hint
    return error


def _nothing_written(folder: Path) -> None:
    assert not folder.exists() or not any(folder.iterdir())


# == rules of rewrite() =========================================================================
@pytest.mark.parametrize(
    "replacement, said",
    [(r"\9", "invalid group reference"), ("\\", "bad escape"), (r"\g<x>", "unknown group")],
)
def test_a_regex_replacement_that_cannot_apply_is_refused_when_planned(prefix, replacement, said):
    error = _refused(
        lambda: tfexplore.rewrite(prefix, regex={"dense": replacement}), repr(replacement), said
    )
    assert "'dense'" in str(error)  # the rule is named
    assert "regex=" in error.hint
    # a pattern with a group: \1 is fine, \2 is not
    tfexplore.rewrite(prefix, regex={r"^(dense)/": r"\1_0/"})
    _refused(lambda: tfexplore.rewrite(prefix, regex={r"^(dense)/": r"\2/"}), r"\\2")


def test_rule_arguments_of_the_wrong_type_are_refused(prefix):
    _refused(lambda: tfexplore.rewrite(prefix, regex="^dense"), "'^dense'", "regex=")
    _refused(lambda: tfexplore.rewrite(prefix, regex=[("a", "b", "c")]), "regex=")
    _refused(lambda: tfexplore.rewrite(prefix, regex={"dense": None}), "None")
    error = _refused(lambda: tfexplore.rewrite(prefix, prefix=["a", "b"]), "['a', 'b']", "list")
    assert "prefix={'bert/': ''}" in error.hint
    _refused(lambda: tfexplore.rewrite(prefix, prefix={"dense": None}), "'dense'", "None")
    _refused(lambda: tfexplore.rewrite(prefix, scope={"dense": None}), "'dense'", "None")
    _refused(lambda: tfexplore.rewrite(prefix, scope="dense"), "scope=")
    _refused(lambda: tfexplore.rewrite(prefix, rename=5), "rename=", "5")
    _refused(lambda: tfexplore.rewrite(prefix, rename={"not/there": 5}), "5")
    # what is right still works: an empty string strips, pairs for regex=
    plan = tfexplore.rewrite(prefix, prefix={"dense/": ""}, regex=[("^kernel$", "w")])
    assert set(plan.table["target"]) == {"w", "bias", "w/Adam"}


def test_drop_searches_are_checked(prefix, tmp_path):
    _refused(lambda: tfexplore.rewrite(prefix, drop="re:("), "'re:('", "drop=")
    _refused(lambda: tfexplore.rewrite(prefix, drop=["Adam", "re:["]), "'re:['")
    _refused(lambda: tfexplore.rewrite(prefix, drop=5), "5", "drop=")
    plan = tfexplore.rewrite(prefix)
    _refused(lambda: plan.drop("re:["), "'re:['", "plan.drop()")
    _refused(lambda: plan.drop(None), "None")
    assert plan.counts == {"keep": 3}  # the plan is as it was, and usable
    plan.drop("re:^dense/bias$")
    assert plan.counts == {"keep": 2, "drop": 1}
    _nothing_written(tmp_path / "out")


def test_init_missing_checks_its_search(prefix, tmp_path):
    target = tmp_path / "target" / "model.ckpt"
    target.parent.mkdir()
    write_bundle(target, [("dense/kernel", np.zeros((2, 3), np.float32))])
    plan = tfexplore.rewrite(prefix, to=target)
    _refused(lambda: plan.init_missing("re:["), "'re:['", "init_missing()")
    repr(plan)


# == plan.set ===================================================================================
@pytest.mark.parametrize(
    "changes, said",
    [
        ({"action": "reshape", "to_shape": "abc"}, "to_shape"),
        ({"action": "reshape", "to_shape": (2, "3")}, "to_shape"),
        ({"action": "reshape", "to_shape": (-1, 3)}, "to_shape"),
        ({"action": "transpose", "perm": "xyz"}, "perm"),
        ({"action": "transpose", "perm": 1}, "perm"),
        ({"action": "split", "target": "a|b", "axis": "q"}, "axis"),
        ({"action": "split", "target": "a|b", "axis": 1.5}, "axis"),
        ({"target": 5}, "target"),
        ({"target": ""}, "target"),
        ({"action": "cast", "to_dtype": "floaty"}, "floaty"),
        ({"action": "cast", "to_dtype": "object"}, "object"),
    ],
)
def test_set_refuses_values_the_checks_cannot_read_and_keeps_the_row(prefix, changes, said):
    plan = tfexplore.rewrite(prefix)
    before = plan.table.copy()
    error = _refused(lambda: plan.set("dense/kernel", **changes), said)
    assert "plan.set(" in error.hint or "to_dtype=" in error.hint
    assert plan.table.equals(before)  # the row (and its slot's) stay as they were
    assert plan.ok and "ready to write" in repr(plan)  # still usable
    assert plan.report.empty


def test_set_takes_the_values_it_documents(prefix, tmp_path):
    plan = tfexplore.rewrite(prefix)
    rows = {source: i for i, source in zip(plan.table.index, plan.table["source"])}
    plan.set("dense/kernel", action="reshape", to_shape=[3, np.int64(2)])
    assert plan.table.at[rows["dense/kernel"], "to_shape"] == (3, 2)
    plan.set("dense/kernel/Adam", action="transpose", perm=np.array([1, 0]))
    assert plan.table.at[rows["dense/kernel/Adam"], "perm"] == (1, 0)
    plan.set("dense/bias", action="cast", to_dtype=np.float16)
    assert plan.table.at[rows["dense/bias"], "to_dtype"] == "float16"
    written = plan.write(tmp_path / "out" / "model.ckpt")
    assert written.read("dense/bias").dtype == np.float16
    assert written.read("dense/kernel").shape == (3, 2)
    assert written.read("dense/kernel/Adam").shape == (3, 2)


def test_set_names_a_source_that_is_not_a_string(prefix):
    plan = tfexplore.rewrite(prefix)
    _refused(lambda: plan.set(5, action="drop"), "5")


def test_a_cast_to_an_unknown_dtype_never_reaches_write(prefix, tmp_path):
    plan = tfexplore.rewrite(prefix)
    _refused(lambda: plan.set("dense/kernel", action="cast", to_dtype="floaty"), "floaty")
    plan.write(tmp_path / "out" / "model.ckpt")  # the refused row did not change: it writes
    assert tfexplore.open(tmp_path / "out" / "model.ckpt").read("dense/kernel").dtype == "float32"


# == what can be rewritten ======================================================================
def test_a_checkpoint_folder_rewrites_its_latest(tmp_path):
    run = demo.make_training_run(tmp_path / "run", steps=(1, 2))
    folder = tfexplore.open(run)
    plan = folder.rewrite(prefix={"layer1/": "encoder/"}, drop="Adam")
    assert plan.checkpoint.prefix == folder.latest.prefix
    assert "encoder/W" in set(plan.table["target"])
    assert repr(plan) == repr(tfexplore.rewrite(run, prefix={"layer1/": "encoder/"}, drop="Adam"))
    assert "Example" in type(folder).rewrite.__doc__
    _refused(lambda: folder.rewrite(regex={"layer1": r"\3"}), r"\\3")


def test_a_keras_file_is_named_by_its_path_not_its_repr(keras_lambda_file):
    error = _refused(lambda: tfexplore.rewrite(keras_lambda_file), str(keras_lambda_file))
    message = str(error).splitlines()[0]
    assert message == (
        f"Only checkpoints can be rewritten; {keras_lambda_file} is a Keras file (kind 'keras')."
    )
    assert "<tfexplore" not in str(error)
    assert "to=" in error.hint


# == the command line ===========================================================================
@pytest.mark.parametrize(
    "flags, said",
    [
        (["--regex", r"dense=\9"], "invalid group reference"),
        (["--drop", "re:("], "'re:('"),
        (["--init-missing", "re:["], "'re:['"),
    ],
)
def test_the_command_line_prints_one_error_not_a_traceback(prefix, tmp_path, capsys, flags, said):
    destination = tmp_path / "out" / "model.ckpt"
    status = cli.main(["rewrite", str(prefix), str(destination), *flags, "--to", str(prefix)])
    err = capsys.readouterr().err
    assert status == 1
    assert "Traceback" not in err
    first = err.splitlines()[0]
    assert re.match(r"tfexplore: RewriteError: ", first) and said in first
    _nothing_written(destination.parent)
