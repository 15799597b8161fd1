"""Bad input across kinds: every failure is a TFExploreError that names the file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

import tfexplore


def _run_without_override(code: str, workdir: Path) -> subprocess.CompletedProcess:
    """Run ``code`` in a process that file modes apply to: root reads every file whatever its
    mode, so as root the capabilities that override modes are dropped (``setpriv``)."""
    command = [sys.executable, "-c", textwrap.dedent(code)]
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv: file modes cannot be enforced")
        drop = "-dac_override,-dac_read_search"
        command = ["setpriv", f"--bounding-set={drop}", f"--inh-caps={drop}", *command]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=workdir,
    )


@pytest.fixture
def checkpoint_copy(demo_run):
    folder = Path(tempfile.mkdtemp(prefix="tfexplore-perm-"))
    for file in demo_run.glob("model.ckpt-30*"):
        shutil.copy(file, folder / file.name)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("unreadable", ["model.ckpt-30.meta", "model.ckpt-30.index"])
def test_unreadable_file_gives_a_clear_error(checkpoint_copy, unreadable):
    os.chmod(checkpoint_copy / unreadable, 0)
    target = checkpoint_copy / unreadable
    result = _run_without_override(
        f"""
        import tfexplore
        try:
            artifact = tfexplore.open({str(target)!r})
            artifact.graph.nodes if artifact.kind == "meta_graph" else artifact.variables
        except tfexplore.UnreadableFileError as error:
            print("CAUGHT", error)
        else:
            print("NO ERROR")
        """,
        checkpoint_copy,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "CAUGHT" in result.stdout, result.stdout
    assert unreadable in result.stdout


def test_a_folder_where_a_file_is_expected(tmp_path):
    (tmp_path / "model.ckpt.meta").mkdir()
    with pytest.raises(tfexplore.TFExploreError) as info:
        tfexplore.open(tmp_path / "model.ckpt.meta").graph  # noqa: B018 - the access is the test
    assert "model.ckpt.meta" in str(info.value)
