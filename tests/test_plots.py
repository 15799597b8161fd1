"""tfexplore.ui.plots: pure data preparation (histograms, heatmaps, downsampled curves) and drawing
on an ``ax`` of a Figure the caller owns (pyplot's registry stays empty)."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from tfexplore.ui import plots


# -- histogram ---------------------------------------------------------------------------------
def test_histogram_counts_every_finite_value_and_reports_the_rest():
    values = np.array([0.0, 1.0, 2.0, 3.0, np.nan, np.inf, -np.inf, np.inf])
    hist = plots.histogram(values, bins=3)
    assert hist.counts.sum() == 4 and len(hist.edges) == 4
    assert (hist.nan, hist.posinf, hist.neginf, hist.non_finite, hist.total) == (1, 2, 1, 4, 8)
    assert hist.edges[0] == 0.0 and hist.edges[-1] == 3.0


@pytest.mark.parametrize(
    "array, counts",
    [
        (np.full((4, 4), 7.0), [16]),  # constant: one bin around the value
        (np.array([True, False, True]), [1, 2]),  # booleans as 0/1
        (np.array([np.nan, np.inf]), []),  # nothing finite
        (np.arange(6, dtype=np.int64).reshape(2, 3), [3, 3]),
    ],
)
def test_histogram_edge_cases(array, counts):
    assert plots.histogram(array, bins=2).counts.tolist() == counts


def test_histogram_refuses_strings():
    with pytest.raises(TypeError, match="dtype"):
        plots.histogram(np.array(["a", "b"]))


# -- heatmap -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "shape, expected",
    [((), (1, 1)), ((5,), (1, 5)), ((4, 3), (4, 3)), ((2, 3, 4), (6, 4)), ((2, 2, 2, 5), (8, 5))],
)
def test_heatmap_folds_leading_axes_into_rows(shape, expected):
    assert plots.heatmap_data(np.zeros(shape)).shape == expected


def test_heatmap_block_averages_large_arrays_and_keeps_nan_blocks():
    array = np.arange(1000 * 10, dtype=float).reshape(1000, 10)
    data = plots.heatmap_data(array, max_shape=(100, 5))
    assert data.shape == (100, 5)
    assert data[0, 0] == pytest.approx(array[:10, :2].mean())
    holes = np.full((4, 4), np.nan)
    holes[0, 0] = 1.0
    reduced = plots.heatmap_data(holes, max_shape=(2, 2))
    assert reduced[0, 0] == 1.0 and np.isnan(reduced[1, 1])


# -- downsample --------------------------------------------------------------------------------
def test_downsample_keeps_short_curves_unchanged():
    steps, values = plots.downsample([1, 2, 3], [0.5, 0.4, 0.3], max_points=10)
    assert steps.tolist() == [1, 2, 3] and values.tolist() == [0.5, 0.4, 0.3]


def test_downsample_bounds_points_and_keeps_ends_and_spikes():
    n = 100_000
    steps = np.arange(n)
    values = np.exp(-steps / 20_000)
    values[54_321] = 50.0  # a spike
    values[77_777] = -3.0  # a dip
    small_steps, small_values = plots.downsample(steps, values, max_points=200)
    assert len(small_steps) <= 200
    assert small_steps[0] == 0 and small_steps[-1] == n - 1
    assert 54_321 in small_steps and 77_777 in small_steps
    assert np.all(np.diff(small_steps) > 0)  # still in step order
    np.testing.assert_array_equal(small_values, values[small_steps.astype(int)])


def test_downsample_handles_nan_and_rejects_mismatched_lengths():
    values = np.full(1000, np.nan)
    steps, kept = plots.downsample(np.arange(1000), values, max_points=50)
    assert len(steps) <= 50
    with pytest.raises(ValueError, match="differ"):
        plots.downsample([1, 2], [1.0])


# -- choosing a view and text ------------------------------------------------------------------
@pytest.mark.parametrize(
    "array, view",
    [
        (np.float32(3.0), "numbers"),
        (np.zeros(64), "numbers"),
        (np.zeros(65), "histogram"),
        (np.zeros((1, 500)), "histogram"),
        (np.zeros((20, 20)), "heatmap"),
        (np.array([b"a", b"b"]), "text"),
        (np.zeros(3, dtype=np.complex64), "text"),
    ],
)
def test_choose_view(array, view):
    assert plots.choose_view(array) == view


def test_format_numbers_and_summary_line():
    assert plots.format_numbers(np.arange(3)) == "[0 1 2]"
    assert "..." in plots.format_numbers(np.arange(10**5))  # summarized, not 100,000 numbers
    assert len(plots.format_numbers(np.arange(150), max_chars=50)) == 50
    line = plots.summary_line(np.array([1.0, np.nan, 3.0]))
    assert "min 1" in line and "max 3" in line and "non-finite 1" in line


# -- drawing on an ax we own -------------------------------------------------------------------
def test_drawing_uses_owned_figures_only():
    figure = plots.new_figure(4, 3)
    ax = figure.add_subplot()
    plots.draw_histogram(ax, plots.histogram(np.random.default_rng(0).normal(size=1000)), "W")
    assert len(ax.patches) == 50 and ax.get_title() == "W"
    plots.draw_histogram(ax, plots.histogram([np.nan]), "empty")
    assert "NaN/inf" in ax.get_title()
    image = plots.draw_heatmap(ax, plots.heatmap_data(np.eye(5)), "eye")
    assert image.get_array().shape == (5, 5)
    png = plots.figure_png(figure)
    assert png.startswith(b"\x89PNG")
    pyplot = sys.modules.get("matplotlib.pyplot")
    assert pyplot is None or not pyplot.get_fignums()


def test_draw_loss_downsamples_and_labels():
    figure = plots.new_figure()
    ax = figure.add_subplot()
    assert plots.draw_loss(ax, pd.DataFrame()) == 0  # no steps yet
    history = pd.DataFrame(
        {
            "step": np.arange(1, 5001),
            "global_step": np.arange(31, 5031),
            "loss": np.linspace(1, 0.1, 5000),
        }
    )
    assert plots.draw_loss(ax, history, max_points=300) <= 300
    assert ax.get_xlabel() == "global_step" and ax.get_ylabel() == "loss"
    line = ax.get_lines()[0]
    assert line.get_xdata()[0] == 31 and line.get_xdata()[-1] == 5030
    no_global = history.drop(columns="global_step")
    assert plots.draw_loss(ax, no_global.head(5)) == 5 and ax.get_xlabel() == "step"
    decades = pd.DataFrame({"step": [1, 2, 3], "loss": [100.0, 1.0, 0.01]})
    plots.draw_loss(ax, decades)
    assert ax.get_yscale() == "log"
