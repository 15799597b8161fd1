"""The core imports downward only: no widgets, IPython or pyplot; TensorFlow only when needed."""

from __future__ import annotations

import subprocess
import sys
import textwrap

FORBIDDEN = ("ipywidgets", "IPython", "matplotlib.pyplot", "anywidget")


def run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_import_is_quick_and_light():
    out = run(
        """
        import sys, time
        start = time.perf_counter()
        import tfexplore
        print(time.perf_counter() - start)
        print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'pandas')))
        """
    )
    seconds, modules = out.splitlines()
    assert modules == "[]"
    assert float(seconds) < 1.0


def test_inspecting_imports_no_view_layer(demo_run):
    out = run(
        f"""
        import sys, tfexplore
        run = tfexplore.open({str(demo_run)!r})
        checkpoint = run.latest
        checkpoint.variables; checkpoint.stats(); str(checkpoint.explain())
        meta = checkpoint.meta_graph
        meta.graph.nodes; meta.graph.op_counts(); meta.collections
        print([m for m in {FORBIDDEN!r} if m in sys.modules])
        """
    )
    assert out.strip() == "[]"
