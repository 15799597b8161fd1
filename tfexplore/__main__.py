"""``python -m tfexplore inspect PATH``: the same as the ``tfexplore`` command."""

import sys

from .cli import main

sys.exit(main())
