"""The core imports downward only: no widgets, IPython or pyplot; TensorFlow only when needed.

TensorFlow itself imports Keras 3, which imports IPython and matplotlib.pyplot when they are
installed; that is not ours to change. So the check is on who imports: an import hook records
each import of a view-layer module together with the module that asked for it, and no
``tfexplore`` core module may be that importer.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

FORBIDDEN = ("ipywidgets", "IPython", "matplotlib.pyplot", "anywidget")

RECORD_IMPORTERS = f"""
import builtins, sys
FORBIDDEN = {FORBIDDEN!r}
importers = []
_import = builtins.__import__
def recording_import(name, globals=None, locals=None, fromlist=(), level=0):
    if level == 0 and name.startswith(FORBIDDEN):
        importers.append((name, (globals or {{}}).get("__name__", "?")))
    return _import(name, globals, locals, fromlist, level)
builtins.__import__ = recording_import
"""


def run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_import_is_light():
    """`import tfexplore` pulls in neither TensorFlow, Keras nor pandas (the time it takes is
    printed for a human; bench/ measures speed, tests do not)."""
    out = run(
        """
        import sys, time
        start = time.perf_counter()
        import tfexplore
        print(time.perf_counter() - start)
        heavy = ('tensorflow', 'keras', 'pandas')
        print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))
        """
    )
    seconds, modules = out.splitlines()
    print(f"import tfexplore: {float(seconds):.3f} s")
    assert modules == "[]"


def test_inspecting_imports_no_view_layer(demo_run):
    out = run(
        RECORD_IMPORTERS
        + textwrap.dedent(
            f"""
            import tfexplore
            run = tfexplore.open({str(demo_run)!r})
            checkpoint = run.latest
            checkpoint.variables; checkpoint.stats(); str(checkpoint.explain())
            meta = checkpoint.meta_graph
            meta.graph.nodes; meta.graph.op_counts(); meta.collections
            ours = [(n, m) for n, m in importers
                    if m.startswith("tfexplore") and not m.startswith("tfexplore.widgets")]
            print(len(importers), ours)
            """
        )
    )
    recorded, ours = out.strip().split(" ", 1)
    assert int(recorded) > 0  # the hook saw TensorFlow/Keras import them: it works
    assert ours == "[]"
