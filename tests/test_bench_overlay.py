"""bench/overlay.py runs end to end at the tiny scale: every row gets a time, a message size and
a ratio against TensorFlow's parse of the same graph, measured in the same run, and the Markdown
table is written. Timings are not asserted (see bench/README.md)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    sys.path.insert(0, str(BENCH))
    try:
        import overlay
    finally:
        sys.path.remove(str(BENCH))
    folder = tmp_path_factory.mktemp("bench-overlay")
    out, raw = folder / "results-overlay.md", folder / "results-overlay.json"
    overlay.main(
        ["--scale", "tiny", "--data", str(folder / "data"), "--out", str(out), "--json", str(raw)]
    )
    return json.loads(raw.read_text()), out.read_text()


def test_every_row_has_a_time_a_message_and_a_ratio(run):
    result, _ = run
    assert result["ops"] > 1000 and result["parsed_nodes"] == result["ops"]
    assert result["baseline_seconds"] > 0 and result["first_seconds"] > 0
    rows = result["rows"]
    assert {r["case"] for r in rows} == {"variables", "every op", "categories"}
    assert {r["view"] for r in rows} >= {"first view", "bert/encoder open"}
    for row in rows:
        assert row["matched"] == row["keys"] > 0  # every key named an op of the graph
        assert row["seconds"] > 0 and row["message_kb"] > 0
        assert math.isclose(row["ratio"], row["seconds"] / result["baseline_seconds"])
    opened = [r["boxes"] for r in rows if r["view"] != "first view"]
    assert min(opened) > max(r["boxes"] for r in rows if r["view"] == "first view")


def test_markdown_names_the_machine_the_baseline_and_each_row(run):
    result, text = run
    assert "cores" in text and "ParseFromString" in text
    assert text.count("| first view") == 4 and text.count("| bert/encoder open") == 3
