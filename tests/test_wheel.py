"""The wheel carries everything: built from this tree and imported from a clean environment
(not from the source folder), it opens an artifact and has the widget's front-end files."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_installs_and_imports_outside_the_source_tree(tmp_path, demo_run):
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("tfexplore-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "tfexplore/__init__.py",
        "tfexplore/py.typed",
        "tfexplore/widgets/graphview.js",
        "tfexplore/widgets/graphview.css",
        "tfexplore/widgets/lossplot.js",
        "tfexplore/widgets/lossplot.css",
    ):
        assert required in names
    assert not any(n.startswith(("tests/", "bench/", "notebooks/")) for n in names)

    # A fresh environment: its own site-packages holds only the wheel; dependencies come from
    # this environment's site-packages through a .pth file (no network, no source folder).
    env = tmp_path / "env"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(env)], check=True, timeout=120
    )
    site = next(env.glob("lib/python*/site-packages"))
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    code = textwrap.dedent(
        f"""
        import sys
        sys.path = [p for p in sys.path if p.rstrip("/") != {str(REPO)!r}]
        import tfexplore
        assert tfexplore.__file__.startswith({str(site)!r}), tfexplore.__file__
        run = tfexplore.open({str(demo_run)!r})
        print(run.kind, len(run.latest.variables))
        """
    )
    result = subprocess.run(
        [str(env / "bin" / "python"), "-c", code],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["checkpoint_dir", "15"]
