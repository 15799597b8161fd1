"""``Session.save`` killed with SIGKILL at random moments (seeded): the previous checkpoint
stays restorable and the ``checkpoint`` state file stays parseable and names a complete
checkpoint, as plain TensorFlow sees it (``tf.train.latest_checkpoint`` + reading every
tensor)."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

tf = pytest.importorskip("tensorflow")
REPO = Path(__file__).resolve().parents[1]
ROUNDS = 20
SAVER = textwrap.dedent(
    """
    import sys
    from tfexplore.demo import regression_data
    from tfexplore import session
    x, y = regression_data()
    s = session(sys.argv[1])
    print("ready", flush=True)
    while True:
        s.train(1, {"inputs/x": x, "inputs/y": y})
        # overwrite: a save killed after its files were renamed into place but before the
        # state file named it leaves that step's files; the resumed run makes the same step
        s.save(sys.argv[1], overwrite=True)
        print("saved", flush=True)
    """
)


def _step(prefix: str) -> int:
    return int(prefix.rsplit("-", 1)[1])


def _assert_restorable(prefix: str) -> None:
    reader = tf.train.load_checkpoint(prefix)
    for key in reader.get_variable_to_shape_map():
        reader.get_tensor(key)
    meta = tf.compat.v1.MetaGraphDef()
    meta.ParseFromString(Path(prefix + ".meta").read_bytes())
    assert meta.graph_def.node


def _assert_state_file(folder: Path) -> str:
    from google.protobuf import text_format
    from tensorflow.python.training import checkpoint_state_pb2

    state = text_format.Parse(
        (folder / "checkpoint").read_text(), checkpoint_state_pb2.CheckpointState()
    )
    latest = tf.train.latest_checkpoint(str(folder))
    assert latest is not None and Path(latest).name == Path(state.model_checkpoint_path).name
    for listed in state.all_model_checkpoint_paths:
        # where the state file says: the folder, or the backup folder of an overwrite that was
        # killed after the old .index left the prefix (it is named there until recovery)
        assert (folder / f"{listed}.index").is_file(), listed
    return latest


OVERWRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from tfexplore.demo import regression_data
    from tfexplore import session
    x, y = regression_data()
    rng = np.random.default_rng()
    s = session(sys.argv[1])
    s.snapshot("start")
    print("ready", flush=True)
    while True:
        # the same step again and again, with different values: each save overwrites the
        # latest checkpoint itself
        s.rollback("start")
        s.train(1, {"inputs/x": x + rng.normal(size=x.shape).astype(x.dtype), "inputs/y": y})
        s.save(sys.argv[1], overwrite=True)
        print("saved", flush=True)
    """
)


def _kill_round(folder: Path, delay: float, env: dict, script: str = SAVER) -> tuple[str, str]:
    """Start a saver, kill it ``delay`` s after its first save (train + save run in a loop, so
    the kill lands anywhere in a save); return (latest before, latest after)."""
    before = tf.train.latest_checkpoint(str(folder))
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        assert child.stdout.readline().strip() == b"ready"
        line = child.stdout.readline().strip()
        if line != b"saved":
            child.wait()
            raise AssertionError(child.stderr.read().decode()[-3000:])
        time.sleep(delay)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()
        child.stderr.close()
    return before, _assert_state_file(folder)


@pytest.mark.slow
def test_save_killed_at_random_moments_never_breaks_the_latest_checkpoint(demo_run, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    rng = random.Random(20)
    delays = [rng.uniform(0.0, 0.4) for _ in range(ROUNDS)]
    folders = [Path(shutil.copytree(demo_run, tmp_path / f"run{i}")) for i in range(2)]

    def rounds(index: int) -> list[tuple[float, str, str]]:
        folder, done = folders[index], []
        for delay in delays[index::2]:
            before, after = _kill_round(folder, delay, env)
            done.append((delay, before, after))
        return done

    with ThreadPoolExecutor(2) as pool:
        results = [row for rows in pool.map(rounds, range(2)) for row in rows]
    assert len(results) == ROUNDS
    for delay, before, after in results:
        assert _step(after) >= _step(before), (delay, before, after)
        _assert_restorable(before)  # the previous checkpoint is never damaged
        _assert_restorable(after)
    assert all(_step(after) > _step(before) for _, before, after in results)

    import tfexplore

    for folder in folders:
        run = tfexplore.open(folder)
        assert str(run.latest.prefix) == tf.train.latest_checkpoint(str(folder))
        with tfexplore.session(folder) as resumed:  # leftovers do not disturb the next save
            prefix = resumed.save(folder, overwrite=True)
        _assert_restorable(prefix)
        assert not [p for p in folder.iterdir() if p.name.startswith(".tfexplore-")]


@pytest.mark.slow
def test_overwrite_killed_at_random_moments_keeps_the_latest_checkpoint(demo_run, tmp_path):
    """``save(overwrite=True)`` of the checkpoint the state file names, killed anywhere: the
    state file always names a complete checkpoint (the old files are kept aside until the new
    ones are in place), and the next save puts the folder back in order."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    rng = random.Random(21)
    folder = Path(shutil.copytree(demo_run, tmp_path / "run"))
    steps = set()
    for delay in [rng.uniform(0.0, 0.3) for _ in range(8)]:
        _, after = _kill_round(folder, delay, env, OVERWRITER)
        _assert_restorable(after)  # every tensor read, CRCs checked by TensorFlow
        steps.add(_step(after))

    import tfexplore

    assert str(tfexplore.open(folder).latest.prefix) == tf.train.latest_checkpoint(str(folder))
    with tfexplore.session(folder) as resumed:
        prefix = resumed.save(folder, overwrite=True)
    _assert_restorable(prefix)
    assert Path(tf.train.latest_checkpoint(str(folder))) == Path(prefix)
    assert not [p for p in folder.iterdir() if p.name.startswith(".tfexplore-")]
