"""bench/remote.py runs end to end at the tiny scale: it generates the BERT-like and the sharded
checkpoints, serves them with its local S3 server (moto, ranges patched), measures every figure
and writes the Markdown table. Timings are not asserted (see bench/README.md)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"

pytest.importorskip("moto", reason="needs moto[server]: pip install -e .[test]")
pytest.importorskip("s3fs", reason="needs s3fs: pip install -e .[test]")
pytest.importorskip("distributed", reason="needs dask[distributed]: pip install -e .[test]")


@pytest.fixture(scope="module")
def remote(tmp_path_factory):
    sys.path.insert(0, str(BENCH))
    try:
        import remote
    finally:
        sys.path.remove(str(BENCH))
    return remote


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("bench-remote")


@pytest.fixture(scope="module")
def table(remote, folder):
    out, raw = folder / "results-remote.md", folder / "results-remote.json"
    scratch = folder / "scratch"
    scratch.mkdir()
    # every case in this process, one cluster for all (a child per case would take minutes)
    remote.main(
        [
            "--scale",
            "tiny",
            "--data",
            str(folder / "data"),
            "--scratch",
            str(scratch),
            "--in-process",
            "--out",
            str(out),
            "--json",
            str(raw),
        ]
    )
    return json.loads(raw.read_text()), out.read_text(), scratch


def _number(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value >= 0


@pytest.mark.slow
def test_every_row_has_numbers(remote, table):
    data, markdown, _ = table
    assert len(data["rows"]) == len(remote._MAIN_ROWS)
    assert len(data["scaling"]) == len(remote._SCALING_ROWS)
    for row in data["rows"]:
        assert "error" not in row, row
        for key in ("tfexplore", "baseline", "ratio", "fetched", "baseline_fetched"):
            assert _number(row[key]), (key, row)
        assert row["ratio"] > 0, row
    for row in data["scaling"]:
        assert "error" not in row, row
        for key in ("bert", "sharded", "ratio", "bert_fetched", "sharded_fetched"):
            assert _number(row[key]), (key, row)
    assert data["memory"] and all(_number(r["peak"]) and r["peak"] > 0 for r in data["memory"])
    workers = [r for r in data["memory"] if r["process"].startswith("worker")]
    assert len(workers) >= 2
    assert data["checkpoints"]["sharded"]["files"][-1] == "model.ckpt.index"
    assert len(data["checkpoints"]["sharded"]["files"]) == 1 + 8  # the index, 8 data shards


@pytest.mark.slow
def test_markdown_table_is_written(table):
    data, markdown, _ = table
    assert markdown.startswith("# tfexplore over S3")
    assert "Machine:" in markdown and "cores" in markdown
    lines = [line for line in markdown.splitlines() if line.startswith("| ")]
    headers = 3  # the main table, memory, scaling: a header and a rule each
    assert len(lines) == 2 * headers + len(data["rows"]) + len(data["memory"]) + len(
        data["scaling"]
    )
    assert not any("failed" in line for line in lines)


@pytest.mark.slow
def test_the_server_copies_and_downloads_are_deleted(table):
    _, _, scratch = table
    assert list(scratch.iterdir()) == []


@pytest.mark.slow
def test_a_case_runs_in_a_fresh_process(remote, folder, table):
    """The full run measures each figure in a child process: one such child, here."""
    prefix = folder / "data" / "tiny" / "model.ckpt-1"
    with remote.s3_server(folder / "scratch", log=lambda *a, **k: None) as server:
        server.fs().call_s3("create_bucket", Bucket="child")
        remote.upload(server, remote.checkpoint_files(prefix), "s3://child/run", log=print)
        spec = {
            "storage_options": server.storage_options,
            "url": "s3://child/run/model.ckpt-1",
        }
        result = remote.run_child("variables_url", spec)
    assert result["seconds"] > 0 and result["tensors"] > 10
    assert 0 < result["fetched"] == prefix.with_name("model.ckpt-1.index").stat().st_size
    assert result["requests"] == 1
