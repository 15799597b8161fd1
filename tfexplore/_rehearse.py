"""The child process of ``tfexplore.live.native.rehearse``: open the session again and run
one training step (``python -m tfexplore._rehearse FOLDER``). A program of its own, so the
module that decides whether to rehearse never imports the sessions it guards."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import tfexplore
from tfexplore.live.native import _decode_batch


def _child_main(folder: str) -> int:
    folder_path = Path(folder)
    spec = json.loads((folder_path / "spec.json").read_text())
    opened = tfexplore.session(**spec["open"])
    batch = _decode_batch(spec["batch"], folder_path)
    opened.train(1, feed=batch, **spec["train"])
    print("tfexplore rehearsal: one step ran", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1]))
