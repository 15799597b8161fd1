"""Training dynamics from a folder of checkpoints (``CheckpointDir.dynamics``): synthetic runs
trained by real TensorFlow here (a 3-layer MLP, nine checkpoints at steps 0, 10, ..., 80), with
faults injected at known steps, must be flagged at exactly those layers, variables and steps.

Faults (:data:`FAULTS`): ``dense_1`` frozen from step 40 (its gradient no longer applied after
the checkpoint at 30); an Inf written into ``dense/bias`` in the checkpoint of step 20; a NaN
into ``dense_2/kernel`` in the checkpoint of step 50; a column of ``dense/kernel`` zeroed at
step 60 and kept zero (a dead unit); ``dense_2/kernel`` scaled 100x in the checkpoint of step
80. The NaN, Inf and scaling are written into the saved state only (training goes on from the
clean values), so nothing else is disturbed: a NaN kept in the weights would spread to every
tensor at the next step, which is a different, also-correct, set of flags.
"""

from __future__ import annotations

import sys
import weakref
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tfexplore
from tfexplore._fs import count_fetches
from tfexplore.artifacts.checkpoint import Checkpoint, CheckpointDir
from tfexplore.artifacts.checkpoint.dynamics import Dynamics, Thresholds
from tfexplore.cli import EXIT_FLAGGED, main
from tfexplore.errors import TFExploreError

STEPS = list(range(0, 90, 10))
FREEZE = ("dense_1", 40)
INF = ("dense/bias", 20)
NAN = ("dense_2/kernel", 50)
DEAD = ("dense/kernel", 60, 3)  # column 3
EXPLODE = ("dense_2/kernel", 80)
FAULTS = {"freeze": FREEZE, "inf": INF, "nan": NAN, "dead": DEAD, "explode": EXPLODE}


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype("float32")
    return x, x.sum(axis=1, keepdims=True)


def _schedule(trainer, faults: dict) -> None:
    """Train ``trainer`` 10 steps between checkpoints, injecting ``faults``."""
    for step in STEPS:
        if step:
            frozen = FREEZE[0] if "freeze" in faults and step >= FREEZE[1] else None
            for _ in range(10):
                trainer.train(frozen)
                if "dead" in faults and step >= DEAD[1]:
                    kernel = trainer.get(DEAD[0])
                    kernel[:, DEAD[2]] = 0
                    trainer.set(DEAD[0], kernel)
        restore = []
        for fault, name, at, change in (
            ("inf", INF[0], INF[1], lambda v: _put(v, np.inf)),
            ("nan", NAN[0], NAN[1], lambda v: _put(v, np.nan)),
            ("explode", EXPLODE[0], EXPLODE[1], lambda v: v * 100),
        ):
            if fault in faults and step == at:
                value = trainer.get(name)
                restore.append((name, value.copy()))
                trainer.set(name, change(value))
        trainer.save(step)
        for name, value in restore:
            trainer.set(name, value)


def _put(value: np.ndarray, what: float) -> np.ndarray:
    value = value.copy()
    value.reshape(-1)[1] = what
    return value


class _KerasRun:
    """TF2, object-based: a Keras 3 MLP and its SGD-with-momentum optimizer in one
    ``tf.train.Checkpoint``, saved by a ``CheckpointManager`` (``ckpt-STEP``)."""

    scope = "sequential/"

    def __init__(self, folder: Path) -> None:
        import keras
        import tensorflow as tf

        keras.utils.set_random_seed(0)
        self.tf = tf
        self.model = keras.Sequential(
            [
                keras.Input((4,)),
                keras.layers.Dense(8, activation="relu", name="dense"),
                keras.layers.Dense(8, activation="relu", name="dense_1"),
                keras.layers.Dense(1, name="dense_2"),
            ],
            name="sequential",  # not sequential_N when several are made in one process
        )
        self.optimizer = keras.optimizers.SGD(0.02, momentum=0.9)
        self.optimizer.build(self.model.trainable_variables)
        checkpoint = tf.train.Checkpoint(model=self.model, optimizer=self.optimizer)
        self.manager = tf.train.CheckpointManager(checkpoint, str(folder), max_to_keep=None)
        self.x, self.y = _data()
        self.variables = {v.path.split("/", 1)[1]: v for v in self.model.trainable_variables}

    def train(self, frozen: str | None) -> None:
        with self.tf.GradientTape() as tape:
            loss = self.tf.reduce_mean((self.model(self.x) - self.y) ** 2)
        names = list(self.variables)
        grads = tape.gradient(loss, list(self.variables.values()))
        self.optimizer.apply_gradients(
            [
                (grad, self.variables[name])
                for name, grad in zip(names, grads)
                if frozen is None or name.split("/")[0] != frozen
            ]
        )

    def get(self, name: str) -> np.ndarray:
        return self.variables[name].numpy()

    def set(self, name: str, value: np.ndarray) -> None:
        self.variables[name].assign(value)

    def save(self, step: int) -> None:
        self.manager.save(checkpoint_number=step)


class _GraphRun:
    """TF1, name-based: a ``tf.compat.v1`` graph of resource variables in scopes ``dense``,
    ``dense_1``, ``dense_2``, a Momentum optimizer (slots ``.../Momentum``), ``global_step``,
    saved by ``Saver.save(global_step=...)`` (``model.ckpt-STEP``)."""

    scope = ""

    def __init__(self, folder: Path) -> None:
        import tensorflow as tf

        v1 = tf.compat.v1
        self.folder = folder
        self.graph = tf.Graph()
        x_data, y_data = _data()
        rng = np.random.default_rng(1)
        with self.graph.as_default():
            x, y = tf.constant(x_data), tf.constant(y_data)
            self.variables = {}
            hidden = x
            for n, (fan_in, fan_out) in enumerate([(4, 8), (8, 8), (8, 1)]):
                scope = "dense" if n == 0 else f"dense_{n}"
                with v1.variable_scope(scope):
                    kernel = v1.get_variable(
                        "kernel",
                        initializer=rng.normal(0, 0.5, (fan_in, fan_out)).astype("float32"),
                        use_resource=True,
                    )
                    bias = v1.get_variable(
                        "bias", initializer=np.zeros(fan_out, "float32"), use_resource=True
                    )
                self.variables[f"{scope}/kernel"] = kernel
                self.variables[f"{scope}/bias"] = bias
                hidden = tf.matmul(hidden, kernel) + bias
                if n < 2:
                    hidden = tf.nn.relu(hidden)
            loss = tf.reduce_mean((hidden - y) ** 2)
            self.global_step = v1.train.get_or_create_global_step()
            optimizer = v1.train.MomentumOptimizer(0.02, 0.9)
            grads = optimizer.compute_gradients(loss, list(self.variables.values()))
            self.train_ops = {
                frozen: optimizer.apply_gradients(
                    [
                        (g, v)
                        for (g, v), name in zip(grads, self.variables)
                        if frozen is None or name.split("/")[0] != frozen
                    ],
                    global_step=self.global_step,
                )
                for frozen in (None, FREEZE[0])
            }
            self.saver = v1.train.Saver(max_to_keep=None)
            self.session = v1.Session(graph=self.graph)
            self.session.run(v1.global_variables_initializer())

    def train(self, frozen: str | None) -> None:
        self.session.run(self.train_ops[frozen])

    def get(self, name: str) -> np.ndarray:
        return self.session.run(self.variables[name])

    def set(self, name: str, value: np.ndarray) -> None:
        with self.graph.as_default():
            self.variables[name].load(value, self.session)

    def save(self, step: int) -> None:
        assert self.session.run(self.global_step) == step
        with self.graph.as_default():
            self.saver.save(self.session, str(self.folder / "model.ckpt"), global_step=step)


RUNS = {"tf2_keras": _KerasRun, "tf1_graph": _GraphRun}


def _make_run(kind: str, folder: Path, faults: dict) -> Path:
    folder.mkdir(parents=True)
    trainer = RUNS[kind](folder)
    _schedule(trainer, faults)
    if kind == "tf1_graph":
        trainer.session.close()
    return folder


@pytest.fixture(scope="module", params=list(RUNS))
def faulty_run(request, tmp_path_factory) -> tuple[str, Path]:
    folder = tmp_path_factory.mktemp("dynamics") / "faulty"
    return request.param, _make_run(request.param, folder, FAULTS)


@pytest.fixture(scope="module", params=list(RUNS))
def healthy_run(request, tmp_path_factory) -> tuple[str, Path]:
    folder = tmp_path_factory.mktemp("dynamics") / "healthy"
    return request.param, _make_run(request.param, folder, {})


def _expected_flags(scope: str) -> set[tuple[str, str, str | None, int]]:
    def layer(name: str) -> str:
        return scope + name.split("/")[0]

    return {
        ("stopped", layer(FREEZE[0]), None, FREEZE[1]),
        ("inf", layer(INF[0]), scope + INF[0], INF[1]),
        ("nan", layer(NAN[0]), scope + NAN[0], NAN[1]),
        ("dead_units", layer(DEAD[0]), scope + DEAD[0], DEAD[1]),
        ("exploding", layer(EXPLODE[0]), scope + EXPLODE[0], EXPLODE[1]),
    }


def _flag_set(flags: pd.DataFrame) -> set[tuple[str, str, str | None, int]]:
    return {
        (row.kind, row.layer, None if pd.isna(row.variable) else row.variable, int(row.step))
        for row in flags.itertuples(index=False)
    }


# -- the faults are found, exactly ------------------------------------------------------------
def test_injected_faults_are_flagged_exactly(faulty_run):
    kind, folder = faulty_run
    scope = RUNS[kind].scope
    dynamics = tfexplore.open(folder).dynamics()
    assert isinstance(dynamics, Dynamics)
    flags = dynamics.flags
    assert list(flags.columns) == ["kind", "layer", "variable", "step", "detail"]
    assert _flag_set(flags) == _expected_flags(scope)
    assert len(flags) == 5  # once each, nowhere else
    details = dict(zip(flags["kind"], flags["detail"]))
    assert "1 of 8 output units (columns)" in details["dead_units"]
    assert "1 of 8 values are NaN" in details["nan"] and "1 of 9 checkpoints" in details["nan"]
    assert "grew" in details["exploding"] and "step 70" in details["exploding"]
    assert "from step 30 on" in details["stopped"]


def test_update_ratios_shape_and_values(faulty_run):
    kind, folder = faulty_run
    scope = RUNS[kind].scope
    dynamics = CheckpointDir(folder).dynamics()
    layers = [scope + name for name in ("dense", "dense_1", "dense_2")]
    ratios = dynamics.update_ratios
    assert list(ratios.index) == layers and list(ratios.columns) == STEPS[1:]
    frozen = ratios.loc[scope + FREEZE[0]]
    assert (frozen[frozen.index >= FREEZE[1]] == 0).all()
    assert (frozen[frozen.index < FREEZE[1]] > 1e-3).all()
    others = ratios.drop(index=scope + FREEZE[0])
    assert (others > 1e-3).all().all() and np.isfinite(others.to_numpy()).all()
    # the 100x scaling shows as a ratio near 99 at step 80 (and near 0.99 back, at no step here)
    assert 50 < ratios.at[scope + "dense_2", EXPLODE[1]] < 200
    variables = [scope + f"{layer}/{part}" for layer in ("dense", "dense_1", "dense_2")
                 for part in ("bias", "kernel")]  # fmt: skip
    per_variable = dynamics.per_variable
    assert list(per_variable.index) == variables and list(per_variable.columns) == STEPS[1:]
    norms = dynamics.norms
    assert list(norms.index) == variables and list(norms.columns) == STEPS
    assert (norms.loc[:, STEPS[1:]] > 0).all().all()
    # the layer's ratio is the square root of the summed squares over its variables
    checkpoints = list(CheckpointDir(folder))
    key = dynamics.variables.set_index("variable")["key"]
    old, new = checkpoints[1], checkpoints[2]
    diffs = bases = 0.0
    for part in ("kernel", "bias"):
        name = key[scope + f"dense/{part}"]
        a, b = old.read(name).astype(np.float64), new.read(name).astype(np.float64)
        keep = np.isfinite(a) & np.isfinite(b)  # the Inf of step 20 is left out
        diffs += float(np.sum((b - a)[keep] ** 2))
        bases += float(np.sum(a[keep] ** 2))
    assert ratios.at[scope + "dense", STEPS[2]] == pytest.approx(np.sqrt(diffs / bases))
    norm = np.linalg.norm(checkpoints[-1].read(key[scope + "dense_1/kernel"]).astype(float))
    assert norms.at[scope + "dense_1/kernel", STEPS[-1]] == pytest.approx(norm)


def test_only_model_variables_are_followed(faulty_run):
    kind, folder = faulty_run
    run = CheckpointDir(folder)
    table = run.latest.variables
    dynamics = run.dynamics()
    assert (table["role"] == "slot").sum() == 6  # the momentum of each variable
    assert set(dynamics.variables["key"]) == set(table.loc[table["role"] == "variable", "name"])
    assert not dynamics.variables["variable"].str.contains("omentum|iteration|global_step").any()


def test_a_healthy_run_has_no_flags(healthy_run, capsys):
    kind, folder = healthy_run
    dynamics = tfexplore.open(folder).dynamics()
    assert dynamics.flags.empty and list(dynamics.flags.columns)[0] == "kind"
    assert (dynamics.update_ratios > 1e-3).all().all()
    assert "no flags" in dynamics._repr_html_() and "flags        none" in repr(dynamics)
    assert main(["dynamics", str(folder)]) == 0
    assert "no flags" in capsys.readouterr().out


def test_a_run_that_ended_is_not_a_stopped_layer(tmp_path):
    """When every layer stops together (the same state saved again after training ended),
    no layer is flagged: nothing else moved."""
    folder = tmp_path / "ended"
    folder.mkdir()
    trainer = _KerasRun(folder)
    trainer.save(0)
    for _ in range(5):
        trainer.train(None)
    trainer.save(5)
    trainer.save(6)  # no training in between
    dynamics = CheckpointDir(folder).dynamics()
    assert list(dynamics.update_ratios.columns) == [5, 6]
    assert (dynamics.update_ratios[6] == 0).all() and (dynamics.update_ratios[5] > 0).all()
    assert dynamics.flags.empty


def test_a_nan_that_spreads_is_flagged_once_per_tensor_and_stops_nothing(tmp_path):
    """A NaN left in the weights (as a diverging run leaves it) makes the loss, every gradient
    and then every variable NaN at the next save: each tensor is flagged once, at its first
    NaN; the all-NaN layers get no ratio (not a zero one), so no layer is called stopped."""
    folder = tmp_path / "diverged"
    folder.mkdir()
    trainer = _KerasRun(folder)
    for step in (0, 10, 20, 30):
        if step:
            for _ in range(10):
                trainer.train(None)
        if step == 20:
            trainer.set(NAN[0], _put(trainer.get(NAN[0]), np.nan))  # kept: it spreads
        trainer.save(step)
    dynamics = CheckpointDir(folder).dynamics()
    scope = _KerasRun.scope
    expected = {("nan", scope + NAN[0].split("/")[0], scope + NAN[0], 20)} | {
        ("nan", layer, variable, 30)
        for variable, layer in zip(dynamics.variables["variable"], dynamics.variables["layer"])
        if variable != scope + NAN[0]
    }
    assert _flag_set(dynamics.flags) == expected and len(expected) == 6
    assert dynamics.update_ratios[30].isna().all()
    assert (dynamics.update_ratios[[10, 20]] > 0).all().all()


def test_tf_module_variables_are_named_by_object_path(tf2_manager_run):
    """A ``tf.Module`` saved by a ``CheckpointManager``: the variables' own names (``w``,
    ``b``) say nothing, so they are named by object path (``net/w``), in layer ``net``; the
    ``step`` counter is not a model variable."""
    dynamics = CheckpointDir(tf2_manager_run).dynamics()
    assert list(dynamics.variables["variable"]) == ["net/b", "net/w"]
    assert dynamics.layers == ["net"] and dynamics.steps == [20, 30]
    w = CheckpointDir(tf2_manager_run).open(20).read("net/w")
    assert dynamics.update_ratios.at["net", 30] == pytest.approx(
        np.linalg.norm(np.full((3, 2), 30.0)) / np.linalg.norm(w)
    )
    assert dynamics.flags.empty


def test_thresholds_change_what_is_flagged(faulty_run):
    _, folder = faulty_run
    run = CheckpointDir(folder)
    strict = run.dynamics(thresholds={"growth": 1000.0})
    assert "exploding" not in set(strict.flags["kind"])
    limited = run.dynamics(thresholds=Thresholds(max_norm=1e-3))
    exploding = limited.flags[limited.flags["kind"] == "exploding"]
    first = dict(zip(exploding["variable"], exploding["step"]))  # biases start at zero
    assert first == {v: 0 if v.endswith("kernel") else 10 for v in limited.variables["variable"]}
    with pytest.raises(TFExploreError, match="Unknown threshold"):
        run.dynamics(thresholds={"grow": 2})


# -- streamed --------------------------------------------------------------------------------
def test_no_tensor_is_held_more_than_twice(faulty_run, monkeypatch):
    """Every array read is watched (a weak reference): at no read are more than two copies of
    one variable alive."""
    _, folder = faulty_run
    alive: dict[str, int] = {}
    most: dict[str, int] = {}
    readers = Checkpoint._readers

    def watched(self, keys):
        for key, read in zip(keys, readers(self, keys)):

            def load(key=key, read=read):
                array = read()
                alive[key] = alive.get(key, 0) + 1
                most[key] = max(most.get(key, 0), alive[key])
                weakref.finalize(array, lambda: alive.__setitem__(key, alive[key] - 1))
                return array

            yield load

    monkeypatch.setattr(Checkpoint, "_readers", watched)
    dynamics = CheckpointDir(folder).dynamics()
    assert set(most) == set(dynamics.variables["key"])
    assert max(most.values()) == 2


def test_progress_callback_counts_every_byte(faulty_run):
    _, folder = faulty_run
    calls = []
    dynamics = CheckpointDir(folder).dynamics(
        progress=lambda done, total: calls.append((done, total))
    )
    total = calls[-1][1]
    assert calls[-1][0] == total > 0 and [done for done, _ in calls] == sorted(d for d, _ in calls)
    tensors = CheckpointDir(folder).latest.variables.set_index("name")["nbytes"]
    assert total == sum(int(tensors[key]) for key in dynamics.variables["key"]) * len(STEPS)


def test_remote_folder_gives_the_same_tables(faulty_run):
    """A folder on object storage (fsspec's in-memory file system) is read the same way, its
    tensors fetched in rounds; every table equals the local one."""
    import uuid

    fsspec = pytest.importorskip("fsspec")
    _, local = faulty_run
    root = f"memory://tfx-dyn-{uuid.uuid4().hex[:8]}/run"
    memory = fsspec.filesystem("memory")
    memory.put(str(local), root.replace("memory://", "/"), recursive=True)
    try:
        with count_fetches() as fetched:
            remote = tfexplore.open(root).dynamics()
        here = tfexplore.open(local).dynamics()
        data = {url.rpartition("/")[2]: n for url, n in fetched.by_file.items() if ".data-" in url}
        assert len(data) == len(STEPS)
        latest = Path(CheckpointDir(local).latest.prefix).name  # (its listing reads the TF2
        for name, size in data.items():  # object graph too) no data file fetched twice
            if not name.startswith(latest + "."):
                assert size <= (local / name).stat().st_size, name
        tensors = CheckpointDir(local).latest.variables.set_index("name")["nbytes"]
        each = sum(int(tensors[key]) for key in here.variables["key"])
        assert sum(data.values()) >= each * len(STEPS)
        pd.testing.assert_frame_equal(remote.update_ratios, here.update_ratios)
        pd.testing.assert_frame_equal(remote.norms, here.norms)
        pd.testing.assert_frame_equal(remote.flags, here.flags)
    finally:
        memory.rm(root.replace("memory://", "/").rsplit("/", 1)[0], recursive=True)


@pytest.mark.slow
def test_on_a_dask_cluster_the_same_tables(faulty_run):
    """``engine=client``: each (tensor, the one before it) is a task a worker reads itself
    (never importing TensorFlow); every table equals the serial one."""
    distributed = pytest.importorskip("distributed", reason="needs pip install 'tfexplore[dask]'")
    _, folder = faulty_run
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = distributed.Client(cluster, set_as_default=False)
    try:
        with distributed.get_task_stream(client=client) as stream:
            there = CheckpointDir(folder).dynamics(engine=client)
        tasks = [t["key"] for t in stream.data if str(t["key"]).startswith("tfexplore-dynamics")]
        assert tasks  # it ran on the cluster
        assert not any(client.run(lambda: "tensorflow" in sys.modules).values())
    finally:
        client.close()
        cluster.close()
    here = CheckpointDir(folder).dynamics()
    for table in ("update_ratios", "per_variable", "norms", "flags"):
        pd.testing.assert_frame_equal(getattr(there, table), getattr(here, table))


def test_a_single_checkpoint_is_a_clear_error(tmp_path, faulty_run):
    import shutil

    _, folder = faulty_run
    single = tmp_path / "single"
    single.mkdir()
    first = CheckpointDir(folder).checkpoints["prefix"].iloc[0]
    for file in Path(first).parent.glob(Path(first).name + ".*"):
        shutil.copy(file, single / file.name)
    with pytest.raises(tfexplore.TFExploreError, match="two or more checkpoints"):
        CheckpointDir(single).dynamics()


# -- the picture ------------------------------------------------------------------------------
def test_heatmap_is_a_figure_of_its_own_with_flagged_cells_marked(faulty_run):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    kind, folder = faulty_run
    dynamics = CheckpointDir(folder).dynamics()
    had_pyplot = "matplotlib.pyplot" in sys.modules
    figures_before = sys.modules["matplotlib.pyplot"].get_fignums() if had_pyplot else None
    figure = dynamics.heatmap()
    assert isinstance(figure, Figure)
    if had_pyplot:  # Keras may have imported pyplot: its figure list did not grow
        assert sys.modules["matplotlib.pyplot"].get_fignums() == figures_before
    else:
        assert "matplotlib.pyplot" not in sys.modules
    ax = figure.axes[0]
    image = ax.images[0]
    assert image.get_array().shape == (3, len(STEPS) - 1)
    assert type(image.norm).__name__ == "LogNorm"
    assert [t.get_text() for t in ax.get_yticklabels()] == list(dynamics.update_ratios.index)
    marks = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(marks) == 5  # one cell per injected fault, none elsewhere
    letters = sorted(t.get_text() for t in ax.texts)
    assert letters == sorted("SINDE")
    png = figure.canvas.print_png
    import io

    buffer = io.BytesIO()
    png(buffer)
    assert buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"


def test_heatmap_text_stays_inside_the_figure(faulty_run, tmp_path):
    """Title, labels and ticks drawn whole, for a run of three checkpoints (the narrowest
    heatmap) as for a longer one: nothing cut at the figure's edge."""
    pytest.importorskip("matplotlib")
    from tfexplore.demo import make_training_run

    short = CheckpointDir(make_training_run(tmp_path / "run")).dynamics()
    for dynamics in (short, CheckpointDir(faulty_run[1]).dynamics()):
        figure = dynamics.heatmap()
        renderer = figure.canvas.get_renderer()
        figure.draw(renderer)
        drawn = figure.get_tightbbox(renderer)  # inches: everything drawn, text included
        page = figure.bbox_inches
        assert "update ratio" in figure.axes[0].get_title()
        assert drawn.x0 >= page.x0 - 0.01 and drawn.x1 <= page.x1 + 0.01, (drawn, page)
        assert drawn.y0 >= page.y0 - 0.01 and drawn.y1 <= page.y1 + 0.01, (drawn, page)


# -- explore() and the command line ------------------------------------------------------------
def test_explore_offers_dynamics_on_demand(faulty_run):
    from tfexplore.ui.explore import ExploreModel

    kind, folder = faulty_run
    model = ExploreModel(folder)
    assert "Dynamics" in model.tabs and model.tabs.index("Dynamics") < len(model.tabs) - 1
    assert model.dynamics is None  # nothing computed at open
    assert "9 checkpoints" in model.dynamics_note()
    seen = []
    model.compute_dynamics(progress=lambda done, total: seen.append(done))
    assert seen and isinstance(model.dynamics, Dynamics)
    page = model.dynamics_html()
    assert "data:image/png;base64," in page and "tfx-table" in page
    assert page.count("<tr>") == 5 and "exploding" in page and "dead_units" in page  # 5 flags
    single = ExploreModel(CheckpointDir(folder).latest.prefix)
    assert "Dynamics" not in single.tabs


def test_explore_widget_builds_the_dynamics_tab(faulty_run):
    pytest.importorskip("ipywidgets")
    from tfexplore.widgets import explore

    _, folder = faulty_run
    view = explore(folder)
    page = view.open_tab("Dynamics")
    assert view.model.dynamics is None and view.dynamics_button is not None
    assert "Compute training dynamics" in view.dynamics_button.description
    view.dynamics_button.click()
    assert view.model.dynamics is not None
    assert view.dynamics_progress.value == view.dynamics_progress.max
    assert "data:image/png" in view.dynamics_output.value
    assert page.children


def test_cli_prints_flags_and_ratios(faulty_run, capsys):
    kind, folder = faulty_run
    assert main(["dynamics", str(folder)]) == EXIT_FLAGGED  # a script can stop on a bad run
    out = capsys.readouterr().out
    scope = RUNS[kind].scope
    assert "5 flags" in out
    for flag_kind in ("stopped", "nan", "inf", "dead_units", "exploding"):
        assert flag_kind in out
    assert f"{scope}dense_1" in out and "Update ratios" in out


def test_an_embeddings_zero_rows_are_tokens_not_dead_units(tmp_path):
    """A padding row kept at zero in an embedding table is not a dead unit; a dimension
    (column) that goes to zero is, and so are a kernel's zero rows."""
    from tfexplore.edit.bundle_writer import write_bundle

    rng = np.random.default_rng(0)
    table = rng.normal(size=(10, 4)).astype("float32")
    kernel = rng.normal(size=(4, 3)).astype("float32")
    folder = tmp_path / "run"
    folder.mkdir()
    for step in (0, 10, 20):
        table = table + rng.normal(scale=0.1, size=table.shape).astype("float32")
        kernel = kernel + rng.normal(scale=0.1, size=kernel.shape).astype("float32")
        table[0] = 0.0  # the padding token, at every step
        if step == 20:
            table[:, 2] = 0.0  # a dimension dies
            kernel[1] = 0.0  # an input unit dies
        write_bundle(
            folder / f"model.ckpt-{step}",
            [("embeddings/word_embeddings", table), ("dense/kernel", kernel)],
        )
    (folder / "checkpoint").write_text(
        'model_checkpoint_path: "model.ckpt-20"\n'
        + "".join(f'all_model_checkpoint_paths: "model.ckpt-{s}"\n' for s in (0, 10, 20))
    )
    flags = CheckpointDir(folder).dynamics().flags
    dead = flags[flags["kind"] == "dead_units"].set_index("variable")
    assert set(dead.index) == {"embeddings/word_embeddings", "dense/kernel"}
    assert (dead["step"] == 20).all()
    assert "1 of 4 output units (columns)" in dead.loc["embeddings/word_embeddings", "detail"]
    assert "rows" not in dead.loc["embeddings/word_embeddings", "detail"]
    assert "1 of 4 input units (rows)" in dead.loc["dense/kernel", "detail"]


def _bundle_run(folder: Path, steps: list[int], tensors) -> Path:
    """A run of ``write_bundle`` checkpoints ``model.ckpt-STEP``, ``tensors(step)`` each."""
    from tfexplore.edit.bundle_writer import write_bundle

    folder.mkdir()
    for step in steps:
        write_bundle(folder / f"model.ckpt-{step}", tensors(step))
    (folder / "checkpoint").write_text(
        f'model_checkpoint_path: "model.ckpt-{steps[-1]}"\n'
        + "".join(f'all_model_checkpoint_paths: "model.ckpt-{s}"\n' for s in steps)
    )
    return folder


def test_a_frozen_kernel_beside_a_moving_bias_is_flagged(tmp_path):
    """A kernel bitwise unchanged while its layer's bias moves keeps its layer's ratio up: the
    kernel itself is flagged stopped, from the step it stopped; a layer stopped as a whole is
    flagged once, as a layer, not again per variable."""
    rng = np.random.default_rng(0)
    kernel, bias = rng.normal(size=(4, 3)).astype("f4"), rng.normal(size=3).astype("f4")
    frozen = rng.normal(size=(3, 2)).astype("f4")  # a layer frozen as a whole from step 10

    def tensors(step):
        moved = 1.0 + step / 100
        return [
            ("dense/kernel", kernel * (1.0 + min(step, 10) / 100)),  # stops after step 10
            ("dense/bias", bias * moved),
            ("mid/kernel", frozen * (1.0 + min(step, 10) / 100)),
            ("mid/bias", bias * (1.0 + min(step, 10) / 100)),
            ("out/kernel", frozen * moved),
        ]

    dynamics = CheckpointDir(_bundle_run(tmp_path / "run", [0, 10, 20, 30], tensors)).dynamics()
    assert (dynamics.per_variable.loc["dense/kernel", [20, 30]] == 0).all()
    assert (dynamics.update_ratios.loc["dense", [20, 30]] > 0).all()
    assert _flag_set(dynamics.flags) == {
        ("stopped", "dense", "dense/kernel", 20),
        ("stopped", "mid", None, 20),
    }
    detail = dynamics.flags.set_index("layer").at["dense", "detail"]
    assert "dense/kernel did not change from step 10 on" in detail
    # never moved at all: flagged from the first pair; a bias all zero and kept at zero has
    # no ratio (0/0, an unused bias): not flagged
    never = CheckpointDir(
        _bundle_run(
            tmp_path / "never",
            [0, 10, 20],
            lambda step: [
                ("dense/kernel", kernel),
                ("dense/bias", bias * (1 + step / 100)),
                ("other/bias", np.zeros(3, "f4")),
                ("other/kernel", kernel * (1 + step / 100)),
            ],
        )
    ).dynamics()
    assert _flag_set(never.flags) == {("stopped", "dense", "dense/kernel", 10)}
    assert "between any two checkpoints" in never.flags["detail"].iloc[0]


def test_a_variable_that_changes_shape_is_not_compared_across_that_pair(tmp_path):
    """Two checkpoints whose variable has different shapes (two unrelated models, a model
    resized): no growth is measured across that pair, a note names the variable and the
    steps; growth in a later pair of the same shape is still flagged."""
    rng = np.random.default_rng(0)
    small, large = rng.normal(size=(2, 3)).astype("f4"), rng.normal(size=(784, 10)).astype("f4")

    def tensors(step):
        weights = {0: small, 10: large, 20: large * 1.01, 30: large * 100}[step]
        return [("Variable", weights), ("other/kernel", small * (1 + step / 100))]

    dynamics = CheckpointDir(_bundle_run(tmp_path / "run", [0, 10, 20, 30], tensors)).dynamics()
    assert np.isnan(dynamics.update_ratios.at["Variable", 10])
    assert _flag_set(dynamics.flags) == {("exploding", "Variable", "Variable", 30)}
    notes = [note for note in dynamics.notes if "changed shape" in note]
    assert notes == [
        "Variable changed shape between step 0 and step 10 ((2, 3) -> (784, 10)): those "
        "checkpoints are not comparable for it (no update ratio, no growth flag); are they "
        "of one run?"
    ]
    assert "changed shape" in repr(dynamics)


def test_the_udacity_folder_of_two_unrelated_checkpoints_is_not_exploding(corpus):
    dynamics = CheckpointDir(corpus / "udacity_chap3_two_ckpts").dynamics()
    assert dynamics.flags.empty
    assert any("Variable changed shape" in note for note in dynamics.notes)


@pytest.mark.parametrize(
    ("thresholds", "words"),
    [
        ({"nope": 1}, "Unknown threshold(s) ['nope']"),
        ({"growht": 2}, "did you mean growth"),
        ({"growth": "x"}, "growth='x' is not a number"),
        ({"growth": -1.0}, "growth=-1.0 is out of range"),
        ({"growth": 0.5}, "growth=0.5 is out of range"),
        ({"stopped": -1e-3}, "stopped=-0.001 is out of range"),
        ({"min_rms": float("nan")}, "min_rms=nan is out of range"),
        ({"max_norm": -5}, "max_norm=-5 is out of range"),
        ({"stopped": True}, "stopped=True is not a number"),
        (5, "thresholds=5 (int) is neither a Thresholds nor a dict"),
        ("growth", "is neither a Thresholds nor a dict"),
    ],
)
def test_bad_thresholds_are_clear_errors_before_anything_is_read(tmp_path, thresholds, words):
    run = CheckpointDir(
        _bundle_run(tmp_path / "run", [0, 1], lambda s: [("w", np.full(3, s + 1.0, "f4"))])
    )
    with pytest.raises(TFExploreError) as info:
        run.dynamics(thresholds=thresholds, progress=lambda *_: pytest.fail("read"))
    error = info.value
    assert words in str(error) and error.expected and "thresholds=" in error.hint


def test_thresholds_of_the_right_kind_are_accepted(tmp_path):
    assert Thresholds(growth=np.float32(2), max_norm=None).growth == 2.0
    with pytest.raises(TFExploreError, match="max_norm"):
        Thresholds(max_norm=0)
    run = CheckpointDir(
        _bundle_run(tmp_path / "run", [0, 1], lambda s: [("w", np.full(3, s + 1.0, "f4"))])
    )
    assert run.dynamics(thresholds={"growth": 1.5, "max_norm": None}).thresholds.growth == 1.5
