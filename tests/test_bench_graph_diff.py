"""bench/graph_diff.py runs end to end at the tiny scale: every version gets a diff time and
ratios against TensorFlow parsing and importing the same two graphs, measured in the same run;
what each diff found is what the version's edits made; the Markdown table is written. Timings
are not asserted (see bench/README.md)."""

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
        import graph_diff
    finally:
        sys.path.remove(str(BENCH))
    folder = tmp_path_factory.mktemp("bench-graph-diff")
    out, raw = folder / "results-graph-diff.md", folder / "results-graph-diff.json"
    graph_diff.main(
        ["--scale", "tiny", "--data", str(folder / "data"), "--out", str(out), "--json", str(raw)]
    )
    return json.loads(raw.read_text()), out.read_text()


def test_every_version_has_times_and_ratios(run):
    result, _ = run
    rows = {row["case"]: row for row in result["rows"]}
    assert set(rows) == {"copy", "release", "top scope renamed"}
    for row in rows.values():
        for key in ("seconds", "file_seconds", "parse_seconds", "import_seconds"):
            assert row[key] > 0, (key, row)
        assert math.isclose(row["ratio_parse"], row["seconds"] / row["parse_seconds"])
        assert math.isclose(row["ratio_import"], row["seconds"] / row["import_seconds"])


def test_each_diff_found_what_its_version_changed(run):
    result, _ = run
    rows = {row["case"]: row for row in result["rows"]}
    ops = result["ops"]
    assert rows["copy"]["counts"]["same"] == ops and rows["copy"]["renames"] == []
    top = rows["top scope renamed"]
    assert top["counts"]["renamed"] > ops // 4
    assert top["counts"]["changed"] == top["counts"]["added"] == top["counts"]["removed"] == 0
    assert top["renames"] == [["bert", "encoder", top["counts"]["renamed"]]]
    release = rows["release"]
    edits = release["edits"]
    assert release["counts"]["added"] == edits["inserted"]
    assert release["counts"]["removed"] == edits["deleted"]
    old, _, new = edits["renamed"].partition(" -> ")
    assert [old, old.rpartition("/")[0] + "/" + new] in [r[:2] for r in release["renames"]]
    assert release["ops_b"] == ops + edits["inserted"] - edits["deleted"]


def test_markdown_names_the_machine_the_baselines_and_each_version(run):
    _, text = run
    assert "cores" in text and "ParseFromString" in text and "import_graph_def" in text
    for case in ("| copy (", "| release (", "| top scope renamed ("):
        assert text.count(case) == 1
