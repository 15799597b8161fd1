"""What may run: every op a call would run is checked against an allowlist before it runs.

- ``allowlist``: every op of TensorFlow's registry classified: pure computation, or needs trust
- ``gate``: the closure of a call (inputs, control inputs, functions reached through attrs) and
  the check before a session runs it
- ``scan``: every entry point of a whole artifact (restore, save, signatures, init ops, assets,
  embedded graphs, Keras configs) checked at once, as a ``ScanReport``
- ``attrs``: the functions a node reaches through its attrs
- ``saver_io``: the file-name grammar that proves a Saver reads and writes its own files only

A whole folder is scanned by :func:`tfexplore.scan` (``artifacts.scan``), which opens each file
it finds as an artifact.
"""

from __future__ import annotations

from .gate import (
    CHECKPOINT_IO_OPS,
    FUNCTION_SEPARATOR,
    RISKY_OPS,
    Finding,
    SafetyReport,
    check,
    classify_op,
    ops_to_run,
)
from .scan import (
    ScanFinding,
    ScanReport,
    asset_file_defs,
    explain_lines,
    scan,
    scan_keras_config,
)

__all__ = [
    "CHECKPOINT_IO_OPS",
    "FUNCTION_SEPARATOR",
    "RISKY_OPS",
    "Finding",
    "SafetyReport",
    "ScanFinding",
    "ScanReport",
    "asset_file_defs",
    "check",
    "classify_op",
    "explain_lines",
    "ops_to_run",
    "scan",
    "scan_keras_config",
]
