"""``tfexplore inspect`` and ``tfexplore explain`` from a terminal."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tfexplore.cli import main


def test_inspect_a_checkpoint_folder(demo_run, capsys):
    assert main(["inspect", str(demo_run)]) == 0
    out = capsys.readouterr().out
    assert "checkpoint_dir" in out
    assert "model.ckpt-30" in out and "model.ckpt-10" in out  # the checkpoints table
    assert "layer1/W/Adam_1" in out  # the latest checkpoint's variables
    assert "Ops by top scope" in out and "layer1" in out


def test_inspect_a_meta_graph_prints_op_counts(demo_run, capsys):
    assert main(["inspect", str(demo_run / "model.ckpt-30.meta"), "--rows", "0"]) == 0
    out = capsys.readouterr().out
    assert "meta_graph" in out
    assert "Ops by top scope" in out and "train" in out


def test_explain_prints_prose(demo_run, capsys):
    assert main(["explain", str(demo_run / "model.ckpt-30")]) == 0
    out = capsys.readouterr().out
    assert ".index" in out and ".data" in out


def test_errors_are_one_line_and_exit_1(tmp_path, capsys):
    assert main(["inspect", str(tmp_path / "nothing.ckpt")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tfexplore: ArtifactNotFoundError: ")
    assert "nothing.ckpt" in err and "Traceback" not in err


def test_console_script_is_installed(demo_run):
    script = shutil.which("tfexplore", path=str(Path(sys.executable).parent))
    command = [script] if script else [sys.executable, "-m", "tfexplore"]
    result = subprocess.run(
        [*command, "inspect", str(demo_run / "model.ckpt-20")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "global_step" in result.stdout
