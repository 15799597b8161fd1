"""Tensor statistics and comparison against numpy, and the streaming driver."""

from __future__ import annotations

import numpy as np
import pytest

from tfexplore import stats
from tfexplore.stats import compare, progress_bar, stream_stats, tensor_stats


@pytest.mark.parametrize("dtype", ["float32", "float16", "float64", "int32", "int64"])
def test_tensor_stats_equal_numpy(dtype):
    rng = np.random.default_rng(0)
    array = (rng.normal(size=(37, 11)) * 10).astype(dtype)
    array[0, :3] = 0
    result = tensor_stats(array)
    reference = array.astype(np.float64)
    assert result["min"] == reference.min() and result["max"] == reference.max()
    assert result["mean"] == pytest.approx(reference.mean())
    assert result["std"] == pytest.approx(reference.std(), rel=1e-9, abs=1e-9)
    assert result["l2"] == pytest.approx(np.linalg.norm(reference))
    assert result["zeros"] == int((reference == 0).sum())
    assert result["nans"] == result["infs"] == 0


def test_nan_and_inf_are_counted_and_left_out():
    array = np.array([1.0, np.nan, np.inf, -np.inf, 3.0, 0.0], np.float32)
    result = tensor_stats(array)
    assert (result["nans"], result["infs"], result["zeros"]) == (1, 2, 1)
    assert (result["min"], result["max"]) == (0.0, 3.0)
    assert result["mean"] == pytest.approx(4 / 3)


def test_bool_string_and_empty():
    assert tensor_stats(np.array([True, False, True]))["zeros"] == 1
    assert tensor_stats(np.array([True, False, True]))["mean"] == pytest.approx(2 / 3)
    strings = tensor_stats(np.array([b"a", b"b"], dtype=object))
    assert all(strings[key] is None for key in stats.STATS_COLUMNS)
    empty = tensor_stats(np.zeros((0, 3), np.float32))
    assert empty["min"] is None and empty["zeros"] == 0


def test_chunked_reduction_equals_numpy(monkeypatch):
    monkeypatch.setattr(stats, "_CHUNK", 7)
    array = np.random.default_rng(1).normal(size=100).astype(np.float32)
    array[50] = np.nan
    result = tensor_stats(array)
    finite = array[~np.isnan(array)].astype(np.float64)
    assert result["mean"] == pytest.approx(finite.mean())
    assert result["l2"] == pytest.approx(np.linalg.norm(finite))
    assert result["nans"] == 1
    other = array + 1
    moved = compare(array, other)
    assert moved["max_abs_change"] == pytest.approx(1.0)


def test_compare_equals_numpy():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(20, 5)).astype(np.float32)
    b = a + rng.normal(scale=0.1, size=a.shape).astype(np.float32)
    result = compare(a, b)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    assert result["max_abs_change"] == pytest.approx(np.abs(b64 - a64).max())
    assert result["mean_abs_change"] == pytest.approx(np.abs(b64 - a64).mean())
    assert result["rel_l2_change"] == pytest.approx(np.linalg.norm(b64 - a64) / np.linalg.norm(a64))
    assert not result["equal"]
    assert compare(a, a.copy())["equal"]
    assert compare(np.zeros(3), np.ones(3))["rel_l2_change"] == float("inf")
    strings = compare(np.array([b"a"], dtype=object), np.array([b"a"], dtype=object))
    assert strings["equal"] and strings["max_abs_change"] is None


def test_stream_stats_loads_one_at_a_time():
    alive = []
    peak = []

    class Tracked(np.ndarray):
        def __del__(self):
            alive.remove(id(self))

    def loader(value):
        def load():
            array = np.full(4, value, np.float32).view(Tracked)
            alive.append(id(array))
            peak.append(len(alive))
            return array

        return load

    items = [({"name": f"t{i}"}, loader(i), 16) for i in range(5)]
    table = stream_stats(items, total_bytes=80, progress=False)
    assert list(table["name"]) == [f"t{i}" for i in range(5)]
    assert list(table["mean"]) == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert max(peak) == 1
    empty = stream_stats([], progress=False)
    assert list(empty.columns) == ["name", *stats.STATS_COLUMNS]


def test_progress_bar_threshold():
    assert progress_bar(10, None, "x") is None
    assert progress_bar(10**12, False, "x") is None
    bar = progress_bar(10, True, "x")
    assert bar is not None and bar.total == 10
    bar.close()
