"""TensorFlow's start-up lines stay out of the user's stderr when tfexplore imports it, and a
user who set TensorFlow's log level keeps it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tfexplore._tf import _STARTUP_NOISE

CHILD = (
    "import sys, tfexplore\n"
    "tf = tfexplore.import_tensorflow()\n"
    "import tensorflow\n"
    "assert tf is tensorflow and tf.constant(2.0).numpy() == 2.0\n"
    "print('after the import', file=sys.stderr)\n"
)


def _stderr(**env) -> list[str]:
    environment = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    environment.update(env)
    done = subprocess.run(
        [sys.executable, "-c", CHILD],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
        check=True,
    )
    return done.stderr.splitlines()


@pytest.mark.parametrize("onednn", ["0", "1"])
def test_start_up_lines_are_dropped_and_the_rest_passes(onednn):
    lines = _stderr(TF_ENABLE_ONEDNN_OPTS=onednn)
    assert [line for line in lines if _STARTUP_NOISE.search(line)] == []
    assert lines[-1] == "after the import"  # stderr still works, and later lines pass


def test_a_log_level_the_user_set_is_kept():
    lines = _stderr(TF_ENABLE_ONEDNN_OPTS="1", TF_CPP_MIN_LOG_LEVEL="0")
    assert any(_STARTUP_NOISE.search(line) for line in lines), lines  # TensorFlow's own lines
