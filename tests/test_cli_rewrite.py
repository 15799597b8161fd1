"""``tfexplore rewrite SRC DST``: rules from the command line, the plan printed, exit 2 and
nothing written when the checks fail."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tfexplore import cli, demo

tf = pytest.importorskip("tensorflow")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return demo.make_training_run(tmp_path_factory.mktemp("cli_rewrite") / "run")


def test_rename_and_drop_write_a_checkpoint_tensorflow_reads(run, tmp_path, capsys):
    destination = tmp_path / "new" / "model.ckpt"
    status = cli.main(
        ["rewrite", str(run), str(destination), "--rename", "layer1/=encoder/", "--drop", "Adam"]
    )
    out = capsys.readouterr().out
    assert status == 0, out
    assert "layer1/W rename encoder/W" in " ".join(out.split())
    assert "every optimizer slot is dropped but 2 optimizer tensors are kept" in out
    assert f"wrote {destination}" in out
    reader = tf.train.load_checkpoint(str(destination))
    names = set(reader.get_variable_to_shape_map())
    assert names == {
        "encoder/W",
        "encoder/b",
        "layer2/W",
        "layer2/b",
        "global_step",
        "train/beta1_power",
        "train/beta2_power",
    }
    source = tf.train.load_checkpoint(str(run / "model.ckpt-30"))
    assert np.array_equal(reader.get_tensor("encoder/W"), source.get_tensor("layer1/W"))


def test_problems_exit_2_and_write_nothing(run, tmp_path, capsys):
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"layer1/W": "layer2/W"}))  # two sources on one target
    destination = tmp_path / "out" / "model.ckpt"
    status = cli.main(["rewrite", str(run), str(destination), "--map", str(mapping)])
    out = capsys.readouterr().out
    assert status == cli.EXIT_PROBLEMS
    assert "collision" in out and "nothing written" in out
    assert not destination.parent.exists() or not any(destination.parent.iterdir())


def test_dry_run_and_code(run, tmp_path, capsys):
    status = cli.main(
        [
            "rewrite",
            str(run),
            str(tmp_path / "x" / "m.ckpt"),
            "--drop-optimizer",
            "--dry-run",
            "--code",
        ]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert "dry run: nothing written" in out and "tf.raw_ops.SaveV2(" in out
    assert not (tmp_path / "x").exists()


def test_a_malformed_rule_is_a_usage_error(run, capsys):
    status = cli.main(["rewrite", str(run), "--rename", "no-equals-sign"])
    assert status == 1
    assert "--rename reads OLD=NEW" in capsys.readouterr().err


def test_python_dash_m_tfexplore_rewrite(run, tmp_path):
    destination = tmp_path / "m" / "model.ckpt"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tfexplore",
            "rewrite",
            str(run),
            str(destination),
            "--scope",
            "layer2=head",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert Path(f"{destination}.index").is_file()


def test_rules_typed_as_text_read_the_same_in_the_shell_and_the_panel():
    """One reader of ``OLD=NEW`` for ``--rename``/``--regex`` and the panel's rules box: a
    regex splits at its last ``=`` (its pattern may hold one), a prefix at its first."""
    from tfexplore.errors import RewriteError
    from tfexplore.ui.rewrite import parse_rules

    pattern, replacement = r"^(?=cls/)(.*)", r"head/\1"
    assert cli._pairs([f"{pattern}={replacement}"], "--regex") == {pattern: replacement}
    assert parse_rules(f"re:{pattern}={replacement}") == {"regex": {pattern: replacement}}
    assert cli._pairs(["bert/=", "a=b=c"], "--rename") == {"bert/": "", "a": "b=c"}
    assert parse_rules("bert/=;a=b=c") == {"prefix": {"bert/": "", "a": "b=c"}}
    for typed, flag in (("no equals", "--rename"), ("=new/", "--scope")):
        with pytest.raises(RewriteError, match=f"{flag} reads OLD=NEW"):
            cli._pairs([typed], flag)
