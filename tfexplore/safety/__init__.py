"""What may run: every op a call would run is checked against an allowlist before it runs.

- ``allowlist``: every op of TensorFlow's registry classified: pure computation, or needs trust
- ``gate``: the closure of a call (inputs, control inputs, functions reached through attrs) and
  the check before a session runs it; ``scan`` of a whole graph
- ``saver_io``: the file-name grammar that proves a Saver reads and writes its own files only

A whole folder is scanned by :func:`tfexplore.scan` (``artifacts.scan``), which opens each file
it finds as an artifact.
"""

from __future__ import annotations

from .gate import SafetyReport, ScanReport, check

__all__ = ["SafetyReport", "ScanReport", "check"]
