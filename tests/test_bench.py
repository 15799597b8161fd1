"""The benchmark suite runs end to end at a tiny scale: the generator makes real TensorFlow
artifacts, every benchmark row gets numbers, the Markdown table is written. Timings are not
asserted (see bench/README.md for what they mean)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    sys.path.insert(0, str(BENCH))
    try:
        import generate
        import run
    finally:
        sys.path.remove(str(BENCH))
    return generate, run, tmp_path_factory.mktemp("bench")


@pytest.fixture(scope="module")
def table(bench):
    _, run, folder = bench
    out, raw = folder / "results.md", folder / "results.json"
    # every case in this process (a child per case would import TensorFlow a dozen times)
    run.main(
        [
            "--scale",
            "tiny",
            "--data",
            str(folder),
            "--large-ops",
            "0",
            "--in-process",
            "--out",
            str(out),
            "--json",
            str(raw),
        ]
    )
    return json.loads(raw.read_text()), out.read_text()


@pytest.mark.slow
def test_generator_writes_two_checkpoints_and_a_graph(bench):
    generate, _, folder = bench
    artifacts = generate.generate("tiny", folder, log=lambda *a, **k: None)
    assert artifacts.before.with_name("model.ckpt-0.index").is_file()
    assert Path(f"{artifacts.after}.data-00000-of-00001").is_file()
    assert artifacts.meta.is_file() and artifacts.info["ops"] > 1000
    import tfexplore

    checkpoint = tfexplore.open(artifacts.after)
    names = set(checkpoint.variables["name"])
    assert {
        "global_step",
        "bert/embeddings/word_embeddings",
        "bert/encoder/layer_0/attention/self/query/kernel/Adam_1",
    } <= names
    assert checkpoint.step == 1 and tfexplore.open(artifacts.before).step == 0
    changed = checkpoint.diff(artifacts.before, progress=False)
    assert (changed["status"] == "changed").any()
    # a second call reuses what is there
    assert generate.generate("tiny", folder, log=lambda *a, **k: None).info == artifacts.info


@pytest.mark.slow
def test_every_row_has_numbers(bench, table):
    _, run, _ = bench
    data, markdown = table
    assert len(data["rows"]) == len(run.ROWS)
    for row in data["rows"]:
        assert isinstance(row["tfexplore"], float) and math.isfinite(row["tfexplore"]), row
        assert row["tfexplore"] >= 0 and row["peak_mb"] > 0, row
        if row["baseline_label"]:
            assert isinstance(row["baseline"], float) and math.isfinite(row["baseline"]), row
        if row["kind"] != "memory" and row["baseline_label"]:
            assert math.isfinite(row["ratio"]) and row["ratio"] > 0, row
        if row["target"]:
            assert row["met"] in (True, False), row
        assert row["figure"].split(" (")[0].split(":")[0] in markdown
    assert data["machine"]["cores"] >= 1 and data["machine"]["ram_gb"] > 0


@pytest.mark.slow
def test_markdown_table_lists_the_machine_and_every_figure(table):
    data, markdown = table
    assert markdown.startswith("# tfexplore benchmarks (tiny scale")
    assert "Machine:" in markdown and "cores" in markdown
    lines = [line for line in markdown.splitlines() if line.startswith("| ")]
    assert len(lines) == 2 + len(data["rows"])  # the header and its rule, a row per figure
    for row in data["rows"]:
        assert any(line.startswith(f"| {row['figure']} |") for line in lines)


@pytest.mark.slow
def test_a_case_runs_in_a_fresh_process(bench):
    generate, run, folder = bench
    artifacts = generate.generate("tiny", folder, log=lambda *a, **k: None)
    spec = {"before": str(artifacts.before), "after": str(artifacts.after), "repeats": 1}
    result = run.measure("variables_tfx", spec)
    assert len(result["seconds"]) == 1 and result["seconds"][0] > 0
    assert result["peak_rss"] >= result["base_rss"] > 0
